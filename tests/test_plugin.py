"""The pytest plugin, through pytester: options, fixtures, marker, header, summary, xfails.

Runs that load a Keras model go through ``runpytest_subprocess``: an in-process run forgets the
modules it imported, and TensorFlow cannot be imported twice into one process.
"""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

USER_TEST = """
import numpy as np
import pytest
from seqcheck.assertions import assert_holds

@pytest.mark.seqcheck
def test_invariant_holds(seqcheck_result):
    assert_holds(seqcheck_result)
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
            "*reproduce: seqcheck check * --pattern 11000 --train-length 10 --seed 0*",
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


def test_loading_the_plugin_does_not_import_tensorflow(pytester):
    pytester.makepyfile(
        test_no_tf="""
        import sys
        def test_no_framework():
            assert "tensorflow" not in sys.modules and "keras" not in sys.modules
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_reference_models_with_xdist_summary_and_report(pytester, seed_model_path, fixed_model_path):
    """No options: the built-in models, the seed's known violations strict xfails; under -n 2 the
    workers' results reach the summary and the JSON report, and TensorFlow gets its share of cores."""
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
    result.assert_outcomes(passed=6, xfailed=3)
    result.stdout.fnmatch_lines(["*= seqcheck =*", "seed   length generalization    FAIL (known)*minimal: length 11, phase 1*"])
    data = json.loads((pytester.path / "seqcheck.json").read_text())
    in_collection_order = [
        (model, name) for model in ("seed", "fixed")
        for name in ("phase_shift_invariance", "length_generalization", "periodic_consistency", "batch_invariance")
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
        from seqcheck.assertions import assert_holds

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

    from seqcheck.pytest_plugin import _ROWS, _Recorder

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
