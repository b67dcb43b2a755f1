"""The performance benchmark must keep running: a smoke run at tiny sizes, with no timing assertion.

``benchmarks/performance.py --smoke`` uses untrained stand-in models (nothing is trained) and tiny
ranges; this test only checks that it exits 0 and ends with the summary line of three numbers.
The figures themselves are recorded in ``benchmarks/README.md``, never asserted here.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(
    r"^speedup_vs_hand_written=(\d+(?:\.\d+)?) throughput_vs_raw=(\d+(?:\.\d+)?) properties_vs_import=(\d+(?:\.\d+)?)$"
)


def test_benchmark_smoke_run_prints_the_summary_line():
    pytest.importorskip("keras")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "performance.py"), "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, proc.stderr[-3000:]
    match = SUMMARY.match(lines[-1])
    assert match, f"last line is not the summary: {lines[-1]!r}"
    assert all(float(x) >= 0 for x in match.groups())
