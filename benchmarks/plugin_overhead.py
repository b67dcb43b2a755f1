"""What seqcheck's pytest plugin costs a project that does not use it.

    python benchmarks/plugin_overhead.py [--repeat 15] [--tests 20]

pytest loads the plugin in every project of an environment where seqcheck is installed, so loading
it must cost almost nothing.  This times ``pytest --co -q`` on a tiny project of its own (``--tests``
trivial tests, no seqcheck option, ini key, fixture or marker) in fresh processes, with
``-p no:seqcheck`` and with the plugin, the two interleaved, best of ``--repeat`` each (after one
untimed run of each).  Both sides run in the same run on the same machine: only their ratio means
something, never the absolute seconds.  It also shows what ``python -X importtime`` says of
``import seqcheck.integrations.pytest_plugin`` (best of ``--repeat``), next to ``import pytest`` alone.

The last line is ``plugin_load_vs_none=<ratio>``: the time with the plugin over the time without.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")]))
    return env


def _collect(project: Path, extra: list[str]) -> float:
    argv = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *extra]
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=project, env=_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"pytest {' '.join(extra)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return elapsed


def _import_time(module: str, folder: Path) -> float:
    """Seconds ``python -X importtime`` reports for ``import module``: the sum of the cumulative times of
    the top-level entries after the interpreter's start-up (a package's ``__init__`` can be an entry of
    its own, before the module's)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=folder, env=_env(), capture_output=True, text=True,
        check=True,
    )
    entries = [re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line) for line in result.stderr.splitlines()]
    top_level = [(match.group(2), int(match.group(1))) for match in entries if match]
    names = [name for name, _ in top_level]
    if module not in names:
        raise SystemExit(f"no import time of {module} in:\n{result.stderr[-2000:]}")
    after_startup = names.index("site") + 1 if "site" in names else 0  # the interpreter's own imports come first
    return sum(us for _, us in top_level[after_startup:]) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="fresh processes per side; the best is kept (default 15)")
    parser.add_argument("--tests", type=int, default=20, help="trivial tests in the tiny project (default 20)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="seqcheck-plugin-overhead-") as folder:
        project = Path(folder)
        (project / "pytest.ini").write_text("[pytest]\n")
        (project / "test_tiny.py").write_text(
            "".join(f"def test_{i}():\n    assert {i} == {i}\n\n" for i in range(args.tests))
        )
        sides = {"without the plugin (-p no:seqcheck)": ["-p", "no:seqcheck"], "with the plugin": []}
        for extra in sides.values():  # warm-up: bytecode caches, the file system's
            _collect(project, extra)
        best = {name: float("inf") for name in sides}
        for _ in range(args.repeat):
            for name, extra in sides.items():
                best[name] = min(best[name], _collect(project, extra))
        # from the tiny project too: python -c puts the current folder first on sys.path
        imports = {module: min(_import_time(module, project) for _ in range(args.repeat)) for module in ("pytest", "seqcheck.integrations.pytest_plugin")}

    print(f"pytest --co -q on a project of {args.tests} trivial tests that does not use seqcheck, best of {args.repeat} fresh processes:")
    width = max(len(name) for name in best)
    for name, seconds in best.items():
        print(f"  {name:<{width}}  {seconds:.3f} s")
    print(f"python -X importtime, cumulative, best of {args.repeat}:")
    for module, seconds in imports.items():
        print(f"  import {module:<22}  {seconds * 1000:.1f} ms")
    ratio = best["with the plugin"] / best["without the plugin (-p no:seqcheck)"]
    print(f"plugin_load_vs_none={ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
