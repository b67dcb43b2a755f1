"""The pytest plugin, through pytester: options, fixtures, marker, header, summary, xfails, and the
plugin as a guest in projects that do not use it.

Runs that load a Keras model go through ``runpytest_subprocess``: an in-process run forgets the
modules it imported, and TensorFlow cannot be imported twice into one process.  Neither can NumPy,
which in-process runs import (seqcheck's library, the tests' cheap models): this module imports it
first, so that those runs find it loaded and keep it, whatever tests ran before.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy  # noqa: F401  (see the module's docstring)
import pytest

pytest_plugins = ["pytester"]

#: The identifiers of the battery run on a pattern, in report order.
STREAM_BATTERY = ("phase_shift_invariance", "length_generalization", "periodic_consistency", "batch_invariance")


REPO = Path(__file__).parents[1]

USER_TEST = """
from seqcheck.integrations.assertions import assert_holds

def test_invariant_holds(seqcheck_result):
    assert_holds(seqcheck_result)
"""

#: A battery of two cheap models (NumPy callables, loaded by a function that logs each load to
#: loads.txt), a test of the checker fixture, and a test that checks no model.
BATTERY_TEST = """
import os
import numpy as np
import seqcheck

def loader(name):
    def load():
        with open(os.path.join(os.path.dirname(__file__), "loads.txt"), "a") as log:
            log.write(f"{name} {os.environ.get('PYTEST_XDIST_WORKER', 'main')}\\n")
        return lambda batch: np.zeros((len(batch), 1))
    return load

@seqcheck.battery(*[seqcheck.Subject.deferred(name, loader(name), pattern="11000") for name in ("m0", "m1")])
def test_battery(seqcheck_result):
    pass

def test_checker(seqcheck_check):
    pass

def test_plain():
    pass
"""


@pytest.fixture
def project(pytester):
    pytester.makepyfile(test_props=USER_TEST)
    return pytester


def test_header_names_the_seed_and_the_model(project, seed_model_path):
    result = project.runpytest("--seqcheck-model", str(seed_model_path), "--seqcheck-pattern", "11000", "--seqcheck-seed", "7", "--co")
    result.stdout.fnmatch_lines([f"seqcheck: seed 7, profile ci, checking model {seed_model_path}, pattern 11000"])


def test_engine_option_shows_in_the_header_and_bad_values_are_a_usage_error(project, seed_model_path):
    result = project.runpytest("--seqcheck-model", str(seed_model_path), "--seqcheck-pattern", "11000", "--seqcheck-engine", "keras", "--co")
    result.stdout.fnmatch_lines([f"seqcheck: seed 0, profile ci, engine keras, checking model {seed_model_path}, pattern 11000"])
    result = project.runpytest("--seqcheck-engine", "fast", "--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--seqcheck-engine='fast': expected one of auto, numpy, keras; leave it unset for auto*"])


def test_causal_option_reaches_the_checks_and_shows_in_the_header(project, seed_model_path, tmp_path):
    """--seqcheck-causal no: the seed model, which a check on the Keras engine would judge by prefix passes, is
    checked window by window, and its report says so; a bad value is a usage error."""
    report = tmp_path / "report.json"
    result = project.runpytest(
        "--seqcheck-model", str(seed_model_path), "--seqcheck-pattern", "11000", "--seqcheck-engine", "keras",
        "--seqcheck-causal", "no", "--seqcheck-max-length", "14", "--seqcheck-report", str(report), "-k", "invariant_holds",
    )
    result.stdout.fnmatch_lines([f"seqcheck: seed 0, profile ci, engine keras, causal no, checking model {seed_model_path}, pattern 11000"])
    assert "--causal no" in report.read_text()
    result = project.runpytest("--seqcheck-causal", "maybe", "--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--seqcheck-causal='maybe': expected one of auto, yes, no; leave it unset for auto*"])


def test_violation_fails_with_the_counterexample_and_summary(project, seed_model_path):
    result = project.runpytest_subprocess(
        "--seqcheck-model", str(seed_model_path), "--seqcheck-pattern", "11000", "--seqcheck-train-length", "10"
    )
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*InvariantViolation: phase-shift invariance violated (label-free, oracle)*",
            "*window 1 0 0 0 1 1 0 0 0 1 1   (length 11, phase 1)  -> predicted 1*",
            "*same end, start +1: length 10  -> predicted 0*; expected 0*",
            "*reproduce: seqcheck check * --pattern 11000 --train-length 10 --engine numpy --seed 0*",
            "*= seqcheck =*",
            "*phase-shift invariance   FAIL*minimal: length 11, phase 1, expected 0, predicted 1 (label-free)*",
        ]
    )


def test_options_can_be_set_in_ini(pytester, seed_model_path):
    pytester.makepyfile(test_props=USER_TEST)
    pytester.makeini(f"[pytest]\nseqcheck_model = {seed_model_path}\nseqcheck_pattern = 11000\nseqcheck_train_length = 10\n")
    result = pytester.runpytest_subprocess("-m", "seqcheck")
    result.assert_outcomes(passed=1, failed=3)


def test_model_without_pattern_is_a_usage_error(project, seed_model_path):
    result = project.runpytest("--seqcheck-model", str(seed_model_path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--seqcheck-model=* needs --seqcheck-pattern*"])


def test_bad_pattern_is_a_usage_error(project, seed_model_path):
    result = project.runpytest("--seqcheck-model", str(seed_model_path), "--seqcheck-pattern", "0000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pattern='0000': expected a period of at least 2*"])


def test_plugin_can_be_disabled(project):
    result = project.runpytest("-p", "no:seqcheck")
    result.stdout.fnmatch_lines(["*fixture 'seqcheck_result' not found*"])


def test_loading_the_plugin_imports_no_framework(pytester):
    pytester.makepyfile(
        test_no_tf="""
        import sys
        def test_no_framework():
            frameworks = ("tensorflow", "keras", "torch", "jax", "flax", "onnx", "onnxruntime")
            assert [m for m in frameworks if m in sys.modules] == []
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_reference_models_with_xdist_summary_and_report(pytester, seed_model_path, fixed_model_path):
    """properties/conftest.py, no options: the built-in models, the seed's known violations strict xfails;
    under -n 2 the workers' results reach the summary and the JSON report, and TensorFlow gets its share of cores."""
    pytester.makeconftest((REPO / "properties" / "conftest.py").read_text())
    pytester.makepyfile(
        test_props=USER_TEST,
        test_threads="""
        import os
        def test_tensorflow_keeps_to_its_share_of_cores():
            assert os.environ["TF_NUM_INTRAOP_THREADS"] == str(max(1, (os.cpu_count() or 1) // 2))
            assert os.environ["TF_NUM_INTEROP_THREADS"] == "1"
        """,
    )
    result = pytester.runpytest_subprocess("-n", "2", "--seqcheck-report", "seqcheck.json")
    # seed: 1 pass, 3 known; fixed: 4 passes; parity-lstm: 3 passes, 2 not applicable; parity-transformer: 1 pass,
    # 2 not applicable, 2 known; and the thread test.
    result.assert_outcomes(passed=10, skipped=4, xfailed=5)
    result.stdout.fnmatch_lines([
        "*= seqcheck =*", "seed                length generalization    FAIL (known)*minimal: length 11, phase 1*",
    ])
    data = json.loads((pytester.path / "seqcheck.json").read_text())
    stream, sequence = STREAM_BATTERY, (*STREAM_BATTERY, "metamorphic_relations")
    in_collection_order = [(model, name) for model in ("seed", "fixed") for name in stream] + [
        (model, name) for model in ("parity-lstm", "parity-transformer") for name in sequence
    ]
    assert [(row["model"], row["result"]["name"]) for row in data["results"]] == in_collection_order
    summary = [line for line in result.stdout.lines if line.startswith(("seed ", "fixed "))]
    serial = pytester.runpytest_subprocess("-p", "no:xdist", "--seqcheck-report", "serial.json")
    serial_data = json.loads((pytester.path / "serial.json").read_text())
    assert [(row["model"], row["result"]["name"]) for row in serial_data["results"]] == in_collection_order
    assert [line for line in serial.stdout.lines if line.startswith(("seed ", "fixed "))] == summary
    seed_lengths = next(r for r in data["results"] if r["model"] == "seed" and r["result"]["name"] == "length_generalization")
    assert seed_lengths["known_violation"] and seed_lengths["result"]["counterexample"]["window"]["length"] == 11


def test_battery_declares_a_model_once_and_junitxml_carries_the_counterexample(pytester, seed_model_path):
    pytester.makepyfile(
        test_mine=f"""
        import seqcheck
        from seqcheck.integrations.assertions import assert_holds

        SEED = seqcheck.Subject("seed", {str(seed_model_path)!r}, pattern="11000", train_length=10)

        @seqcheck.battery(SEED)
        def test_seed(seqcheck_result):
            assert_holds(seqcheck_result)

        @seqcheck.battery(SEED, invariants=[seqcheck.length_generalization])
        def test_fixtures(seqcheck_model, seqcheck_pattern, seqcheck_invariant, seqcheck_check):
            assert seqcheck_pattern == seqcheck.Pattern.parse("11000")
            report = seqcheck_check(seqcheck_model, pattern=seqcheck_pattern, train_length=10, invariants=[seqcheck_invariant])
            assert report["length generalization"].counterexample.length == 11
        """
    )
    result = pytester.runpytest_subprocess("--junitxml", "junit.xml")
    result.assert_outcomes(passed=2, failed=3)
    xml = (pytester.path / "junit.xml").read_text()
    assert "length generalization violated (oracle)" in xml
    assert "window 1 0 0 0 1 1 0 0 0 1 1   (length 11, phase 1)  -&gt; predicted 1" in xml


def test_rows_follow_the_collection_order_whatever_order_workers_report_them():
    """Under xdist, reports arrive as workers finish; the summary and report keep the tests' collection order."""
    from types import SimpleNamespace

    from seqcheck.integrations.pytest_plugin import _ROWS, _Recorder

    config = SimpleNamespace(stash={_ROWS: []})
    recorder = _Recorder(config)
    ids = [f"test_props.py::test_invariant_holds[{m}-{n}]" for m in ("seed", "fixed") for n in ("a", "b")]
    recorder.pytest_xdist_node_collection_finished(node=None, ids=ids)
    for nodeid in (ids[3], ids[0], ids[2], ids[1], ids[0]):  # finishing order, one result reported twice
        model, name = nodeid.split("[")[1].rstrip("]").split("-")
        report = SimpleNamespace(when="call", nodeid=nodeid, user_properties=[("seqcheck", {"model": model, "result": {"name": name}})])
        recorder.pytest_runtest_logreport(report)
    assert [(row["model"], row["result"]["name"]) for row in recorder.rows()] == [
        ("seed", "a"), ("seed", "b"), ("fixed", "a"), ("fixed", "b")
    ]


# -- A guest in other people's projects ------------------------------------------------------------


def test_importing_the_plugin_imports_nothing_of_seqcheck_but_itself():
    """pytest imports the plugin in every project of the environment: no framework, no NumPy, no Hypothesis, no library
    (its packages' ``__init__`` modules hold docstrings only)."""
    code = "import sys, seqcheck.integrations.pytest_plugin; print(sorted(m for m in sys.modules if m.split('.')[0] in ('seqcheck', 'numpy', 'hypothesis', 'tensorflow', 'keras')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "['seqcheck', 'seqcheck.integrations', 'seqcheck.integrations.pytest_plugin']"


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_project_that_does_not_use_seqcheck_sees_nothing_of_it(pytester, monkeypatch, xdist):
    """No seqcheck option, ini key, fixture or marker: no header line, no thread variables, no model, no library loaded."""
    pytester.makepyfile(
        test_plain="""
        import os, sys
        def test_untouched():
            assert not {"TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"} & set(os.environ)
            assert sorted(m for m in sys.modules if m.startswith("seqcheck")) == ["seqcheck", "seqcheck.integrations", "seqcheck.integrations.pytest_plugin"]
        """
    )
    for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    result = pytester.runpytest_subprocess(*xdist)
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if line.startswith("seqcheck")]


def test_a_test_that_asks_for_a_result_with_no_model_is_a_usage_error(project):
    """No silent fallback to seqcheck's own reference models: the message names what to set."""
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: seqcheck: no model to check for test_props.py::test_invariant_holds, which uses seqcheck_result:"
            " pass --seqcheck-model PATH with --seqcheck-pattern P or --seqcheck-task T (or set seqcheck_model and"
            " seqcheck_pattern or seqcheck_task in the ini file), or declare the test's models with @seqcheck.battery(...)"
        ]
    )
    assert "seed" not in result.stdout.str() and "Traceback" not in result.stdout.str() + result.stderr.str()


def test_no_model_is_a_usage_error_under_xdist_too(project):
    """A worker cannot end the run cleanly: the controller turns the worker's report into the usage error."""
    result = project.runpytest_subprocess("-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: seqcheck: no model to check for test_props.py::test_invariant_holds*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_the_property_suite_checks_the_reference_models_only_when_no_model_is_given(pytester):
    """properties/conftest.py asks for the built-in models by name; --seqcheck-model replaces them."""
    pytester.makeconftest((REPO / "properties" / "conftest.py").read_text())
    # under another name: a run of tests/ and properties/ together has imported test_model_invariants already
    pytester.makepyfile(test_property_suite=(REPO / "properties" / "test_model_invariants.py").read_text())
    result = pytester.runpytest("--co")
    result.stdout.fnmatch_lines([
        "seqcheck: seed 0, profile ci, checking the built-in reference models seed, fixed, parity-lstm and parity-transformer*"
    ])
    ids = [line for line in result.outlines if line.strip().startswith("<Function")]
    assert [line.strip() for line in ids] == [
        f"<Function test_invariant_holds[{model}-{name}]>" for model in ("seed", "fixed") for name in STREAM_BATTERY
    ] + [
        f"<Function test_invariant_holds[{model}-{name}]>" for model in ("parity-lstm", "parity-transformer")
        for name in (*STREAM_BATTERY, "metamorphic_relations")
    ]
    (pytester.path / "mine.keras").write_bytes(b"")  # collection reads no model
    result = pytester.runpytest("--co", "-q", "--seqcheck-model", "mine.keras", "--seqcheck-pattern", "11000")
    assert [line for line in result.outlines if "::" in line] == [
        f"test_property_suite.py::test_invariant_holds[mine.keras-{name}]"
        for name in ("phase_shift_invariance", "length_generalization", "periodic_consistency", "batch_invariance")
    ]


@pytest.mark.parametrize("where", ["command line", "ini file"])
def test_a_missing_model_is_one_usage_error_at_start_up(pytester, where):
    pytester.makepyfile(test_props=USER_TEST)
    (pytester.path / "models").mkdir()
    if where == "ini file":
        pytester.makeini("[pytest]\nseqcheck_model = models/nope.keras\nseqcheck_pattern = 11000\n")
        args = []
        expected = (
            f"ERROR: seqcheck_model = models/nope.keras in {pytester.path / 'tox.ini'}: no such file:"
            f" {pytester.path / 'models' / 'nope.keras'} (a path in an ini file is read from its folder)"
        )
    else:
        args = ["--seqcheck-model", "models/nope.keras", "--seqcheck-pattern", "11000"]
        expected = (
            f"ERROR: --seqcheck-model='models/nope.keras': no such file: {pytester.path / 'models' / 'nope.keras'}"
            " (a command-line path is read from the current folder)"
        )
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line] == [expected]
    assert "test_props.py" not in result.stdout.str()  # nothing collected, nothing run
    result = pytester.runpytest_subprocess("--seqcheck-model", "models", "--seqcheck-pattern", "11000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --seqcheck-model='models': is a folder, not a model file: */models (*"])


def _project_with_ini_paths(pytester) -> Path:
    project = pytester.path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "m.keras").write_bytes(b"")  # --co reads no model
    (project / "reports").mkdir()
    (project / "pytest.ini").write_text(
        "[pytest]\nseqcheck_model = models/m.keras\nseqcheck_pattern = 11000\nseqcheck_report = reports/seqcheck.json\n"
    )
    (project / "test_props.py").write_text(USER_TEST)
    return project


@pytest.mark.parametrize("run_from", ["the project's parent", "another folder"])
def test_paths_in_an_ini_file_are_read_from_its_folder(pytester, monkeypatch, run_from):
    """`cd examples && pytest downstream`, `cd /tmp && pytest /path/to/project`: the ini's paths still name its files."""
    project = _project_with_ini_paths(pytester)
    if run_from == "another folder":
        (pytester.path / "elsewhere").mkdir()
        monkeypatch.chdir(pytester.path / "elsewhere")
        target = str(project)
    else:
        monkeypatch.chdir(pytester.path)
        target = "project"
    result = pytester.runpytest("--co", "-p", "no:cacheprovider", target)
    assert result.ret == pytest.ExitCode.OK, result.errlines
    result.stdout.fnmatch_lines([f"seqcheck: seed 0, profile ci, checking model {project / 'models' / 'm.keras'}, pattern 11000"])
    assert json.loads((project / "reports" / "seqcheck.json").read_text())["results"] == []


def test_paths_on_the_command_line_are_read_from_the_current_folder(pytester, monkeypatch):
    project = _project_with_ini_paths(pytester)
    work = pytester.path / "work"
    work.mkdir()
    (work / "other.keras").write_bytes(b"")
    monkeypatch.chdir(work)
    result = pytester.runpytest(
        "--co", "-p", "no:cacheprovider", str(project), "--seqcheck-model", "other.keras", "--seqcheck-report", "out.json"
    )
    assert result.ret == pytest.ExitCode.OK, result.errlines
    result.stdout.fnmatch_lines([f"seqcheck: seed 0, profile ci, checking model {work / 'other.keras'}, pattern 11000"])
    assert (work / "out.json").is_file() and not (project / "reports" / "seqcheck.json").exists()


def test_the_downstream_example_runs_from_another_folder(pytester, monkeypatch):
    example = REPO / "examples" / "downstream"
    monkeypatch.chdir(pytester.path)
    # In a subprocess: in this process the project's own tests/test_models.py holds the module name test_models.
    result = pytester.runpytest_subprocess("--co", "-q", "-p", "no:cacheprovider", str(example))
    assert result.ret == pytest.ExitCode.OK, result.outlines + result.errlines
    assert any("test_configured_model.py::test_next_bit_model[next_bit.keras-" in line for line in result.outlines)


def test_dash_m_seqcheck_selects_every_test_that_checks_a_model(pytester):
    """Battery tests, tests of the configured model and tests of any seqcheck fixture carry the marker; no one writes it."""
    pytester.makepyfile(test_battery=BATTERY_TEST, test_props=USER_TEST)
    (pytester.path / "m.keras").write_bytes(b"")
    options = ["--co", "-q", "--seqcheck-model", "m.keras", "--seqcheck-pattern", "11000"]
    selected = [line for line in pytester.runpytest(*options, "-m", "seqcheck").outlines if "::" in line]
    assert len(selected) == 8 + 1 + 4  # two models' batteries, the checker, the configured model's battery
    assert "test_battery.py::test_checker" in selected and not [t for t in selected if "test_plain" in t]
    others = [line for line in pytester.runpytest(*options, "-m", "not seqcheck").outlines if "::" in line]
    assert others == ["test_battery.py::test_plain"]


def test_under_xdist_the_tests_of_one_model_share_an_xdist_group(pytester):
    pytester.makepyfile(test_battery=BATTERY_TEST, test_props=USER_TEST)
    (pytester.path / "m.keras").write_bytes(b"")
    items, _ = pytester.inline_genitems("--seqcheck-model", "m.keras", "--seqcheck-pattern", "11000")
    groups = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        groups.setdefault(marker.args[0] if marker else None, []).append(item.name)
    assert groups == {
        "seqcheck-m0": [f"test_battery[m0-{n}]" for n in ("phase_shift_invariance", "length_generalization", "periodic_consistency", "batch_invariance")],
        "seqcheck-m1": [f"test_battery[m1-{n}]" for n in ("phase_shift_invariance", "length_generalization", "periodic_consistency", "batch_invariance")],
        "seqcheck-m.keras": [f"test_invariant_holds[m.keras-{n}]" for n in ("phase_shift_invariance", "length_generalization", "periodic_consistency", "batch_invariance")],
        None: ["test_checker", "test_plain"],
    }


def _loadgroup_groups(pytester) -> bool:
    """Whether this pytest-xdist, on this pytest, sends an xdist_group's tests to one worker (pytest 9.2 with
    pytest-xdist 3.8 does not: pytest-dev/pytest-xdist#1386)."""
    pytester.makepyfile(
        test_control="""
        import os, pytest
        @pytest.mark.xdist_group("control")
        @pytest.mark.parametrize("i", range(6))
        def test_control(i):
            with open("control.txt", "a") as log:
                log.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
        """
    )
    pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-p", "no:seqcheck", "test_control.py")
    workers = set((pytester.path / "control.txt").read_text().split())
    (pytester.path / "test_control.py").unlink()
    return len(workers) == 1


@pytest.mark.parametrize("dist", ["each", "loadgroup"])
def test_under_xdist_a_models_battery_is_computed_once_per_run(pytester, dist):
    """However its tests are spread over workers (--dist each runs every test in every worker), one worker computes
    a model's battery and the others read its report; under --dist loadgroup, where pytest-xdist honours
    xdist_group, a model's tests also run in one worker."""
    pytester.makepyfile(test_battery=BATTERY_TEST)
    if dist == "loadgroup" and not _loadgroup_groups(pytester):
        pytest.skip("pytest-xdist's --dist loadgroup groups nothing on this pytest (pytest-dev/pytest-xdist#1386)")
    pytester.runpytest_subprocess("-n", "2", "--dist", dist).assert_outcomes(passed=20 if dist == "each" else 10)
    loads = (pytester.path / "loads.txt").read_text().split("\n")
    assert sorted(line.split()[0] for line in loads if line) == ["m0", "m1"]


def test_under_xdist_the_workers_share_the_cores_once_a_test_checks_a_model(pytester, monkeypatch):
    """The thread variables are the plugin's only effect on the environment: set only where a model is checked."""
    pytester.makepyfile(
        test_battery=BATTERY_TEST,
        test_threads="""
        import os
        def test_threads():
            assert os.environ["TF_NUM_INTRAOP_THREADS"] == str(max(1, (os.cpu_count() or 1) // 2))
        """,
    )
    for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=11)


def test_the_overhead_benchmark_runs_and_ends_with_its_ratio():
    """Only that it runs: its figure is a ratio for the README, never asserted."""
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "plugin_overhead.py"), "--repeat", "1", "--tests", "2"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    assert re.fullmatch(r"plugin_load_vs_none=\d+\.\d{3}", out.strip().splitlines()[-1])
