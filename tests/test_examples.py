"""The downstream example project passes its own tests, with one caught violation as an xfail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "downstream"


def test_downstream_example_project():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=EXAMPLE, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 passed, 1 xfailed" in result.stdout
    assert "next_bit.keras  length generalization    pass" in result.stdout
