"""The performance benchmark must keep running: a smoke run at tiny sizes, with no timing assertion.

``benchmarks/performance.py --smoke`` uses untrained stand-in models (nothing is trained) and tiny
ranges; this test checks that it exits 0 and ends with the line the benchmark promises
(``benchmarks/README.md``): every ratio, by name and in order, each a well-formed positive number.
Which values the ratios take is recorded in ``benchmarks/README.md``, never asserted here: a shared
machine's times are not a test.  ``benchmarks/engines.py --smoke`` (the measurements behind the Keras engine's
size rule) must keep running too: it exits 0 and prints its rules section.
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
          "sequence_search_vs_raw", "sweep_vs_ceiling", "check_vs_ceiling", "sweep_10000_vs_forward",
          "check_10000_vs_forward", "sweep_length_exponent")
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


#: A well-formed line, and what it is made of, for the malformed variants below.
GOOD = ("speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=2.02 phase_shift_vs_length_2000=1.40"
        " sequence_search_vs_raw=0.38 sweep_vs_ceiling=4.12 check_vs_ceiling=0.24 sweep_10000_vs_forward=0.82"
        " check_10000_vs_forward=6.82 sweep_length_exponent=0.97")
#: The line before the sweep alone was measured apart from the whole check (its three sweep ratios were the check's).
OLD = ("speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=2.02 phase_shift_vs_length_2000=1.40"
       " sequence_search_vs_raw=0.38 sweep_vs_ceiling=0.37 sweep_10000_vs_forward=6.82 sweep_length_exponent=0.57")


@pytest.mark.parametrize(
    "line",
    [
        GOOD.rsplit(" ", 1)[0],  # the last ratio missing
        GOOD.rsplit(" ", 5)[0],  # the sweep ratios missing: an older line
        OLD,  # the whole check's figures under the sweep's names, without check_vs_ceiling and check_10000_vs_forward
        GOOD.replace(" check_vs_ceiling=0.24", ""),  # one of the check's figures missing
        "speedup_vs_hand_written=59.4 throughput_vs_raw=1.26 properties_vs_import=2.02",  # several ratios missing
        GOOD.replace("phase_shift_vs_length_2000=1.40", "phase_shift_vs_length_2000=0.00"),
        GOOD.replace("throughput_vs_raw=1.26", "throughput_vs_raw=-1.26"),
        GOOD.replace("sweep_length_exponent=0.97", "sweep_length_exponent=-0.97"),  # a negative exponent
        GOOD.replace("speedup_vs_hand_written=59.4", "speedup_vs_hand_written=nan"),
        GOOD.replace("properties_vs_import=2.02", "properties_vs_import=inf"),
        GOOD.replace("sweep_10000_vs_forward=0.82", "sweep_10000_vs_forward=inf"),
        GOOD.replace("check_10000_vs_forward=6.82", "check_10000_vs_forward=nan"),
        GOOD.replace("phase_shift_vs_length_2000=1.40", "phase_shift_vs_length_2000=1.4.0"),
        GOOD.replace("sweep_vs_ceiling=4.12", "sweep_vs_ceiling=n/a"),
        # two ratios swapped
        GOOD.replace("throughput_vs_raw=1.26 properties_vs_import=2.02", "properties_vs_import=2.02 throughput_vs_raw=1.26"),
        GOOD.replace("sweep_vs_ceiling=4.12 check_vs_ceiling=0.24", "check_vs_ceiling=0.24 sweep_vs_ceiling=4.12"),
        GOOD.replace("sweep_10000_vs_forward=0.82 check_10000_vs_forward=6.82",
                     "check_10000_vs_forward=6.82 sweep_10000_vs_forward=0.82"),
        GOOD.replace(" throughput_vs_raw", "  throughput_vs_raw"),  # two spaces
        GOOD.replace("phase_shift_vs_length_2000=1.40", "phase_shift_vs_length_2000="),
        GOOD + " sweep_length_exponent=0.97",  # a ratio twice
    ],
)
def test_a_malformed_ratios_line_is_refused(line):
    assert summary_problems(line)


def test_a_well_formed_ratios_line_is_accepted():
    assert summary_problems(GOOD) == []
    assert summary_problems(GOOD.replace("sequence_search_vs_raw=0.38", "sequence_search_vs_raw=0.0095")) == []  # --smoke


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


@pytest.mark.slow  # ~10 s: TensorFlow, three tiny models, and a background process loading one core
def test_engines_smoke_run_prints_its_rules():
    """``benchmarks/engines.py``, which the size rule of ``seqcheck/models/keras.py`` came from, keeps running: its
    smoke run exits 0 and prints its rules section (the lines asserted are its headings, never its numbers)."""
    pytest.importorskip("keras")
    pytest.importorskip("threadpoolctl")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "engines.py"), "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line.strip() for line in proc.stdout.splitlines()]
    for heading in ("## Rules for auto (target:", "Thresholds T such that", "Case by case, (a) proposed:"):
        assert any(line.startswith(heading) for line in lines), f"no line starting {heading!r}:\n" + proc.stdout[-3000:]
    assert "(n: numpy with BLAS pinned to one thread, k: keras)" in lines, proc.stdout[-3000:]


def smoke_run(script: str, last_line: re.Pattern, expected: str) -> re.Match:
    """Run ``benchmarks/<script> --smoke``; it must exit 0 and its last non-empty line match ``last_line``."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    match = last_line.fullmatch(lines[-1]) if lines else None
    assert match, f"last line {lines[-1:]!r}, expected {expected!r}\n{proc.stdout[-3000:]}"
    return match


#: The last line of ``benchmarks/frameworks.py``: each framework's ratio (two decimals) or ``absent``, in this order.
FRAMEWORKS_LINE = re.compile(r"frameworks: keras=(\S+) torch=(\S+) onnx=(\S+) jax=(\S+)")


@pytest.mark.slow  # ~17 s: TensorFlow, PyTorch, ONNX Runtime and JAX in one process, JAX compiling every length
def test_frameworks_smoke_run_ends_with_every_frameworks_ratio():
    """``benchmarks/frameworks.py --smoke`` exits 0 and ends with ``frameworks: keras=<r> torch=<r> onnx=<r> jax=<r>``,
    each a positive number, or ``absent`` for a framework that is not installed (ONNX's model is exported by PyTorch);
    where all four are installed (this venv, CI) every one must be a number."""
    import importlib.util

    match = smoke_run("frameworks.py", FRAMEWORKS_LINE, "frameworks: keras=<r> torch=<r> onnx=<r> jax=<r>")
    needs = {"keras": ("keras", "tensorflow"), "torch": ("torch",), "onnx": ("onnxruntime", "onnx", "torch"),
             "jax": ("jax",)}  # the modules each framework's side needs (ONNX's model is exported by PyTorch)
    for (name, modules), value in zip(needs.items(), match.groups()):
        installed = all(importlib.util.find_spec(module) is not None for module in modules)
        if installed:
            assert re.fullmatch(r"\d+\.\d\d", value) and float(value) > 0, f"{name}={value!r}: expected a positive ratio"
        else:
            assert value == "absent", f"{name}={value!r}: {', '.join(modules)} not all installed, expected absent"


#: The last line of ``benchmarks/seeds.py``: its ratios (two decimals) in this order, the Dask ones ``absent`` without
#: Dask's ``distributed``.
SEEDS_LINE = re.compile(r"two_workers_speedup=(\S+) dask_vs_local=(\S+) memory_last_vs_first=(\S+)"
                        r" dask_memory_last_vs_first=(\S+)")


@pytest.mark.slow  # ~50 s: every seed's process imports TensorFlow, and a Dask LocalCluster is started
def test_seeds_smoke_run_ends_with_every_ratio():
    """``benchmarks/seeds.py --smoke`` exits 0 and ends with ``two_workers_speedup=<r> dask_vs_local=<r>
    memory_last_vs_first=<r> dask_memory_last_vs_first=<r>``, each a positive number, or ``absent`` for the Dask ratios
    where ``distributed`` is not installed (in this venv and CI it is, and every one must be a number)."""
    import importlib.util

    pytest.importorskip("keras")
    match = smoke_run("seeds.py", SEEDS_LINE,
                      "two_workers_speedup=<r> dask_vs_local=<r> memory_last_vs_first=<r> dask_memory_last_vs_first=<r>")
    dask = importlib.util.find_spec("distributed") is not None
    needs_dask = {"two_workers_speedup": False, "dask_vs_local": True, "memory_last_vs_first": False,
                  "dask_memory_last_vs_first": True}
    for (name, needs), value in zip(needs_dask.items(), match.groups()):
        if dask or not needs:
            assert re.fullmatch(r"\d+\.\d\d", value) and float(value) > 0, f"{name}={value!r}: expected a positive ratio"
        else:
            assert value == "absent", f"{name}={value!r}: distributed not installed, expected absent"
