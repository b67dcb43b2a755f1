"""The performance benchmark must keep running: a smoke run at tiny sizes, with no timing assertion.

``benchmarks/performance.py --smoke`` uses untrained stand-in models (nothing is trained) and tiny
ranges; this test checks that it exits 0 and ends with the line the benchmark promises
(``benchmarks/README.md``): every ratio, by name and in order, each a well-formed positive number.
Which values the ratios take is recorded in ``benchmarks/README.md``, never asserted here: a shared
machine's times are not a test.
"""

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The ratios of the benchmark's last line, in the order it prints them.
RATIOS = ("speedup_vs_hand_written", "throughput_vs_raw", "properties_vs_import", "phase_shift_vs_length_2000",
          "sequence_search_vs_raw")
#: A figure as the script formats it: digits, a point and digits (no sign, exponent, nan or inf).
NUMBER = re.compile(r"\d+\.\d+")


def summary_problems(line: str) -> list[str]:
    """What is wrong with ``line`` as the benchmark's ratios line (nothing: an empty list)."""
    fields = line.split(" ")
    names = [field.partition("=")[0] for field in fields]
    if names != list(RATIOS) or not all("=" in field for field in fields):
        return [f"expected the ratios {' '.join(name + '=<x>' for name in RATIOS)}, got {line!r}"]
    problems = []
    for field in fields:
        name, _, value = field.partition("=")
        if not NUMBER.fullmatch(value):
            problems.append(f"{name}={value!r} is not a number like 12.3")
        elif not (math.isfinite(float(value)) and float(value) > 0):
            problems.append(f"{name}={value} is not a positive number")
    return problems


@pytest.mark.parametrize(
    "line",
    [
        "speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=2.02",  # a ratio missing
        "speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=2.02 phase_shift_vs_length_2000=0.00 sequence_search_vs_raw=0.38",
        "speedup_vs_hand_written=59.4 throughput_vs_raw=-1.26 properties_vs_import=2.02 phase_shift_vs_length_2000=1.40 sequence_search_vs_raw=0.38",
        "speedup_vs_hand_written=nan throughput_vs_raw=1.26 properties_vs_import=2.02 phase_shift_vs_length_2000=1.40 sequence_search_vs_raw=0.38",
        "speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=inf phase_shift_vs_length_2000=1.40 sequence_search_vs_raw=0.38",
        "speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=2.02 phase_shift_vs_length_2000=1.4.0 sequence_search_vs_raw=0.38",
        "speedup_vs_hand_written=59.4 properties_vs_import=2.02 throughput_vs_raw=1.26 phase_shift_vs_length_2000=1.40 sequence_search_vs_raw=0.38",
        "speedup_vs_hand_written=59.4  throughput_vs_raw=1.26 properties_vs_import=2.02 phase_shift_vs_length_2000=1.40 sequence_search_vs_raw=0.38",
        "speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=2.02 phase_shift_vs_length_2000= sequence_search_vs_raw=0.38",
    ],
)
def test_a_malformed_ratios_line_is_refused(line):
    assert summary_problems(line)


def test_a_well_formed_ratios_line_is_accepted():
    assert summary_problems(
        "speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=2.02 phase_shift_vs_length_2000=1.40 sequence_search_vs_raw=0.38"
    ) == []


@pytest.mark.slow  # a minute: it starts TensorFlow in a dozen subprocesses
def test_benchmark_smoke_run_ends_with_every_ratio():
    pytest.importorskip("keras")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "performance.py"), "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, proc.stderr[-3000:]
    problems = summary_problems(lines[-1])
    assert not problems, "\n".join(problems) + "\n\nthe run's output, last lines:\n" + proc.stdout[-3000:]
