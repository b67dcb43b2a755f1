"""Gating a model against its predecessor's report: regressions fail, known limits do not, improvements are reported.

Hand-made models (tests/handmade.py) give exact assertions; the reference models (the seed's LSTM and
its fix, from the model cache) show the gate end to end through the command.
"""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import seqcheck
from seqcheck.reports.baseline import Baseline, change_heatmap, length_ranges, read_report, report_from_dict, report_schema
from seqcheck.errors import InvalidArgument
from seqcheck.reports.formats import to_junit_xml, to_markdown
from tests.handmade import BreaksBeyond, ExactRule, StartAnchored, _Rule

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
PATTERN, N = "11000", 10


class WrongAt(_Rule):
    """Exact, except at the given lengths for windows starting at the given phases: a small, exact accuracy loss."""

    def __init__(self, pattern: str, lengths: set[int], phases: set[int]):
        super().__init__(pattern)
        self.lengths, self.phases = lengths, phases

    def predict(self, batch):
        right = self.symbols(self.end_phase(batch))
        if batch.shape[1] not in self.lengths:
            return right
        flip = np.isin(self.start_phase(batch), list(self.phases))
        return np.where(flip, 1 - right, right)


def run(model, **options):
    options.setdefault("pattern", PATTERN)
    options.setdefault("train_length", N)
    return seqcheck.check(model, **options)


@pytest.fixture(scope="module")
def anchored():
    return run(StartAnchored(PATTERN, N))


@pytest.fixture(scope="module")
def exact():
    return run(ExactRule(PATTERN))


# -- the verdicts ----------------------------------------------------------------------------------------


def test_an_improvement_is_listed_and_passes(anchored):
    report = run(ExactRule(PATTERN), baseline=anchored)
    comparison = report.comparison
    assert report.passed and comparison.passed
    assert [c.name for c in comparison.improvements] == ["phase_shift_invariance", "length_generalization", "periodic_consistency"]
    assert comparison.regressions == []
    lengths = comparison["length_generalization"].improvements[1].lengths
    assert lengths == tuple(n for n in range(3, 41) if anchored["length_generalization"].accuracy_by_length[n] < 1)
    text = report.render()
    assert "improved   length generalization (FAIL -> pass): failed in the baseline at length 11, holds now" in text
    assert text.splitlines()[-1] == (
        "verdict: no regression against the baseline: improved: phase-shift invariance, length generalization, periodic consistency"
    )


def test_a_regression_fails_and_names_its_lengths(exact, anchored):
    report = run(StartAnchored(PATTERN, N), baseline=exact)
    comparison = report.comparison
    assert not report.passed and not comparison.passed
    assert [c.name for c in comparison.regressions] == ["phase_shift_invariance", "length_generalization", "periodic_consistency"]
    lengths = comparison["length_generalization"]
    assert [f.kind for f in lengths.regressions] == ["fails", "accuracy"]
    dropped = [n for n in range(3, 41) if anchored["length_generalization"].accuracy_by_length[n] < 1]
    assert lengths.regressions[1].lengths == tuple(dropped)
    assert "accuracy lower at lengths 3..4, 6..9, 11..14, 16..19, 21..24, 26..29, 31..34, 36..39" in report.render()
    assert report.render().splitlines()[-1].startswith(
        "verdict: regression against the baseline: phase-shift invariance (held in the baseline, fails now at length 10)"
    )
    # The report's own verdicts are still there: the comparison is added, nothing is hidden.
    assert "FAIL length generalization" in report.render() and not report["length_generalization"].passed


def test_a_model_against_its_own_report_has_no_change_and_passes(anchored):
    report = run(StartAnchored(PATTERN, N), baseline=anchored)
    comparison = report.comparison
    assert report.passed
    assert comparison.regressions == [] and comparison.improvements == []
    assert not any(change.changed for change in comparison.invariants)
    assert comparison.verdict() == (
        "no regression against the baseline: no change; known limits, failing as in the baseline: phase-shift invariance,"
        " length generalization, periodic consistency"
    )
    assert "change:" not in report.render()  # no heatmap of a change that is not there


def test_a_first_failure_earlier_in_the_order_is_a_regression_even_when_accuracy_is_forgiven():
    # Wrong beyond 30 before, beyond 20 now: the minimal counterexample moves from 31 to 21, nearer N = 10.
    baseline = run(BreaksBeyond(PATTERN, 30), invariants=["length_generalization"])
    report = run(BreaksBeyond(PATTERN, 20), invariants=["length_generalization"], baseline=baseline, tolerance=1.0)
    change = report.comparison["length_generalization"]
    assert [(f.kind, f.lengths) for f in change.regressions] == [("counterexample", (21,))]
    assert change.regressions[0].detail == "first fails at length 21, nearer the training length 10 than the baseline's 31"
    assert not report.passed
    # ... and the reverse is an improvement.
    better = run(BreaksBeyond(PATTERN, 30), invariants=["length_generalization"], baseline=report, tolerance=1.0)
    assert better.passed and [f.kind for f in better.comparison["length_generalization"].improvements] == ["counterexample"]


def test_without_a_training_length_an_earlier_first_failure_is_a_shorter_one():
    baseline = run(BreaksBeyond(PATTERN, 30), train_length=None, invariants=["length_generalization"])
    report = run(BreaksBeyond(PATTERN, 20), train_length=None, invariants=["length_generalization"], baseline=baseline,
                 tolerance=1.0)
    (finding,) = report.comparison["length_generalization"].regressions
    assert finding.detail == "first fails at length 21, shorter than the baseline's 31"


def test_lower_accuracy_fails_beyond_the_tolerance_only():
    # One window of length 30 wrong before, two now: accuracy 0.8 -> 0.6 at length 30, first failure unchanged.
    baseline = run(WrongAt(PATTERN, {30}, {0}), invariants=["length_generalization"])
    worse = WrongAt(PATTERN, {30}, {0, 1})
    strict = run(worse, invariants=["length_generalization"], baseline=baseline)
    (finding,) = strict.comparison["length_generalization"].regressions
    assert (finding.kind, finding.lengths) == ("accuracy", (30,)) and not strict.passed
    assert run(worse, invariants=["length_generalization"], baseline=baseline, tolerance=0.19).passed is False
    forgiven = run(worse, invariants=["length_generalization"], baseline=baseline, tolerance=0.2)
    assert forgiven.passed
    assert forgiven.comparison.verdict() == (
        "no regression against the baseline: changes, none a regression (within the tolerance 0.2); known limits, failing as"
        " in the baseline: length generalization"
    )
    assert forgiven.comparison["length_generalization"].accuracy_change() == {30: -0.2}


def test_the_change_heatmap_marks_each_window_that_changed(exact, anchored):
    report = run(ExactRule(PATTERN), baseline=anchored)
    change = report.comparison["length_generalization"]
    lines = change_heatmap(change.cells)
    rows = {int(line.split()[1]): line.split()[2] for line in lines if line.strip().startswith("phase")}
    before = anchored["length_generalization"].correct_by_length
    for phase, row in rows.items():
        assert row == "".join("." if before[n][phase] else "+" for n in range(3, 41))
    back = run(StartAnchored(PATTERN, N), baseline=exact).comparison["length_generalization"]
    assert "!" in "".join(change_heatmap(back.cells)) and "+" not in "".join(change_heatmap(back.cells)[1:])
    assert back.changed_cells(False)[11] == [1, 4] and back.changed_cells(True) == {}


def test_length_ranges():
    assert length_ranges([3, 4, 5, 7, 9, 10]) == "3..5, 7, 9..10"
    assert length_ranges([]) == ""


# -- the report carries the comparison, in every format ------------------------------------------------------


def test_the_json_report_carries_the_comparison_and_follows_the_schema(exact):
    report = run(StartAnchored(PATTERN, N), baseline=exact)
    data = json.loads(report.to_json())
    jsonschema.validate(data, report_schema())
    assert data["passed"] is False and data["comparison"]["passed"] is False
    change = data["comparison"]["invariants"][1]
    assert change["name"] == "length_generalization" and change["verdict"] == "regression"
    assert change["accuracy_change"]["11"] == -0.4 and change["newly_wrong"]["11"] == [1, 4]
    assert data["comparison"]["baseline"] == {"source": "<Report>", "model": "ExactRule", "seed": 0}
    # A report written against a baseline is itself a valid baseline (its own comparison is not compared).
    again = run(StartAnchored(PATTERN, N), baseline=data)
    assert again.passed and not any(c.changed for c in again.comparison.invariants)


def test_junit_fails_a_regression_only_and_says_which_lengths(exact, anchored):
    regressed = ET.fromstring(to_junit_xml(run(StartAnchored(PATTERN, N), baseline=exact))).find("testsuite")
    assert regressed.get("failures") == "3"
    properties = {p.get("name"): p.get("value") for p in regressed.find("properties")}
    assert properties["comparison"] == "regression" and properties["baseline"] == "<Report>"
    cases = {case.get("name"): case for case in regressed.findall("testcase")}
    failure = cases["length generalization"].find("failure")
    assert failure.get("type") == "Regression"
    assert failure.get("message") == (
        "length generalization: regression at lengths 3..4, 6..9, 11..14, 16..19, 21..24, 26..29, 31..34, 36..39"
    )
    assert "window 1 0 0 0 1 1 0 0 0 1 1   (length 11, phase 1)" in failure.text
    assert cases["batch invariance"].find("failure") is None

    known = ET.fromstring(to_junit_xml(run(StartAnchored(PATTERN, N), baseline=anchored))).find("testsuite")
    assert known.get("failures") == "0"
    assert {p.get("name"): p.get("value") for p in known.find("properties")}["comparison"] == "no regression"
    case = next(c for c in known.findall("testcase") if c.get("name") == "length generalization")
    assert case.find("failure") is None
    assert case.find("system-out").text.startswith(
        "no regression: length generalization (FAIL -> FAIL): first fails at length 11, as in the baseline: a known limit"
    )


def test_markdown_says_regression_or_no_regression(exact, anchored):
    text = to_markdown(run(StartAnchored(PATTERN, N), baseline=exact))
    assert text.startswith("## seqcheck: `StartAnchored` -- REGRESSION")
    assert "### Against the baseline `<Report>`: **regression**" in text
    assert ("| length generalization | pass | FAIL | **regression**: held in the baseline, fails now at length 11; accuracy lower"
            " at lengths 3..4, 6..9") in text
    text = to_markdown(run(ExactRule(PATTERN), baseline=anchored))
    assert text.startswith("## seqcheck: `ExactRule` -- no regression")
    assert "| phase-shift invariance | FAIL | pass | improvement: failed in the baseline at length 10, holds now |" in text


def test_the_plot_shows_both_accuracy_curves(exact):
    pytest.importorskip("matplotlib")
    from seqcheck.reports.baseline import BASELINE_COLOUR, NOW_COLOUR, comparison_figure

    report = run(StartAnchored(PATTERN, N), baseline=exact)
    fig = comparison_figure(report.comparison)
    ax = fig.axes[0]
    old, new, train = ax.lines
    assert list(old.get_xdata()) == list(range(3, 41)) and set(old.get_ydata()) == {1.0}
    assert list(new.get_ydata()) == [report["length_generalization"].accuracy_by_length[n] for n in range(3, 41)]
    assert (old.get_color(), new.get_color()) == (BASELINE_COLOUR, NOW_COLOUR)
    assert list(train.get_xdata()) == [10, 10]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["baseline (<Report>)", "now", "regression", "training length 10"]


def test_a_report_read_back_from_its_json_is_the_same_report(anchored, exact):
    for report in (anchored, exact):
        data = json.loads(report.to_json())
        again = report_from_dict(data)
        assert again.to_dict() == data
        assert again.render() == report.render()
        assert to_junit_xml(again) == to_junit_xml(report) and to_markdown(again) == to_markdown(report)


# -- a baseline from a file, and what is refused -----------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory, anchored):
    path = tmp_path_factory.mktemp("baseline") / "base.json"
    path.write_text(anchored.to_json())
    return path


def test_a_baseline_file_is_read_and_named(baseline_file):
    report = run(StartAnchored(PATTERN, N), baseline=baseline_file)
    assert report.passed and report.comparison.baseline == str(baseline_file)
    assert f"\nbaseline {baseline_file} (model StartAnchored, seed 0): same pattern 11000, lengths 3..40" in report.render()


def _drop_status(data):
    del data["invariants"][0]["status"]


def _status_to_pass(data):
    data["invariants"][1]["status"], data["invariants"][1]["passed"] = "pass", True


def _accuracy_up(data):
    data["invariants"][1]["accuracy_by_length"]["11"] = 1.0


def _bad_length_key(data):
    data["invariants"][1]["accuracy_by_length"]["eleven"] = 0.6


def _twice(data):
    data["invariants"].append(copy.deepcopy(data["invariants"][0]))


def _passed_true(data):
    data["passed"] = True


def _unreduced_pattern(data):
    data["pattern"] = "1100011000"


def _max_length_string(data):
    data["lengths"]["max"] = "40"


def _phase_count(data):
    data["invariants"][1]["correct_by_length"]["11"].append(1)


def _cx_outside(data):
    data["invariants"][1]["counterexample"]["length"] = 99


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop_status, "at $.invariants[0]: 'status' is a required property"),
        (_max_length_string, "at $.lengths.max: '40' is not of type 'integer'"),
        (_status_to_pass, "invariant length_generalization has status 'pass' and passed=True, but its forms say 'fail'"),
        (_accuracy_up, "the accuracy of length_generalization at length 11 is 1.0, but 3 of its 5 windows are right"),
        (_bad_length_key, "accuracy_by_length of length_generalization has the key 'eleven', not a length in 3..40"),
        (_twice, "an invariant appears twice (phase_shift_invariance)"),
        (_passed_true, "it says passed=true, but an invariant fails"),
        (_unreduced_pattern, "its pattern is '1100011000', but pattern 1100011000 has '11000'"),
        (_phase_count, "correct_by_length of length_generalization at length 11 has 6 phases, the pattern 5"),
        (_cx_outside, "the counterexample of length_generalization is at length 99, outside its lengths 3..40"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_a_hand_edited_baseline_is_a_one_line_error(anchored, tmp_path, edit, message):
    data = json.loads(anchored.to_json())
    edit(data)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    model = ExactRule(PATTERN)
    with pytest.raises(InvalidArgument) as caught:
        run(model, baseline=path)
    text = str(caught.value)
    assert text.startswith(f"baseline={str(path)!r}: expected a report ") and message in text
    assert "\n" not in text and text.endswith("(a report edited by hand is not a baseline)")
    assert model.calls == 0, "the baseline is refused before the model runs"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "expected a JSON report, not an empty file"),
        ("{", "expected a JSON report; it is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2"),
        ("[1, 2]", "expected a JSON object (a seqcheck report), not a JSON list"),
        ('{"passed": true}', "expected a seqcheck check report, which has a 'version' field"),
        ('{"version": 1, "passed": true}', "expected a report of version 3 or 2, which this seqcheck reads; it is version 1"),
        ('{"version": "2"}', "expected a report of version 3 or 2, which this seqcheck reads; it is version '2'"),
        ('{"version": 1, "seed": 0, "results": []}', "expected a report of seqcheck check (--json), not of the pytest plugin"),
        ('{"version": 2, "x": NaN}', "it is not valid JSON (NaN is not a JSON number)"),
        ("[" * 100_000 + "]" * 100_000, "it is nested too deeply to be one"),
    ],
    ids=["empty", "not-json", "list", "no-version", "version-1", "version-string", "plugin-report", "nan", "deep"],
)
def test_a_malformed_baseline_is_a_one_line_error(tmp_path, content, message):
    path = tmp_path / "base.json"
    path.write_text(content)
    with pytest.raises(InvalidArgument) as caught:
        run(ExactRule(PATTERN), baseline=path)
    assert str(caught.value).startswith(f"baseline={str(path)!r}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_baseline_or_a_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(InvalidArgument, match=r"baseline='.*nope\.json': expected an existing file; check the path"):
        run(ExactRule(PATTERN), baseline=tmp_path / "nope.json")
    with pytest.raises(InvalidArgument, match=r"expected a file, not a folder"):
        run(ExactRule(PATTERN), baseline=tmp_path)
    with pytest.raises(InvalidArgument, match=r"^baseline=<int>: expected a path to a report seqcheck wrote"):
        run(ExactRule(PATTERN), baseline=3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pattern": "1100"}, "its pattern is 11000, this check's is 1100; check with pattern='11000'"),
        ({"pattern": "01200"}, "its pattern is 11000, this check's is 01200"),
        ({"alphabet_size": 3}, "its alphabet size is 2, this check's is 3; check with alphabet_size=2"),
        ({"min_length": 5}, "its min length is 3, this check's is 5; check with min_length=3"),
        ({"max_length": 60}, "its max length is 40, this check's is 60; check with max_length=40"),
        ({"train_length": 12, "max_length": 40}, "its training length is 10, this check's is 12; check with train_length=10"),
        ({"train_length": None, "max_length": 40}, "its training length is 10, this check's is none; check with train_length=10"),
    ],
    ids=["pattern", "alphabet", "alphabet-size", "min-length", "max-length", "train-length", "no-train-length"],
)
def test_a_baseline_on_another_pattern_or_range_is_an_error_naming_the_setting(anchored, options, message):
    model = ExactRule(PATTERN)
    with pytest.raises(InvalidArgument) as caught:
        run(model, baseline=anchored, **options)
    assert str(caught.value).startswith("baseline=<Report>: expected a baseline on this check's pattern and range; ")
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert model.calls == 0


def test_a_baseline_without_a_training_length_names_the_fix(exact):
    baseline = run(ExactRule(PATTERN), train_length=None)
    with pytest.raises(InvalidArgument, match="its training length is none, this check's is 10; check without train_length="):
        run(ExactRule(PATTERN), baseline=baseline)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tolerance": 0.1}, "tolerance=0.1: expected together with baseline=, since it is how much lower accuracy"),
        ({"tolerance": -0.1, "baseline": "x.json"}, "tolerance=-0.1: expected a number from 0 to 1 (an accuracy)"),
        ({"tolerance": 1.5, "baseline": "x.json"}, "tolerance=1.5: expected a number from 0 to 1"),
        ({"tolerance": "0.1", "baseline": "x.json"}, "tolerance='0.1': expected a number from 0 to 1"),
        ({"tolerance": float("nan"), "baseline": "x.json"}, "tolerance=nan: expected a number from 0 to 1"),
    ],
    ids=["without-baseline", "negative", "above-one", "string", "nan"],
)
def test_a_bad_tolerance_is_an_error(options, message):
    with pytest.raises(InvalidArgument) as caught:
        run(ExactRule(PATTERN), **options)
    assert str(caught.value).startswith(message)


def test_invariants_in_one_report_only_are_listed_not_compared(anchored):
    report = run(StartAnchored(PATTERN, N), invariants=["length_generalization"], baseline=anchored)
    assert report.comparison.not_compared == {
        "phase_shift_invariance": "in the baseline only, not checked now",
        "periodic_consistency": "in the baseline only, not checked now",
        "batch_invariance": "in the baseline only, not checked now",
    }
    assert "not compared: batch_invariance (in the baseline only, not checked now)" in report.render()


def test_a_different_seed_is_noted_not_refused(anchored):
    report = run(StartAnchored(PATTERN, N), seed=3, baseline=anchored)
    assert report.passed and report.comparison.notes == ["the baseline was checked with seed 0, this report with seed 3"]


# -- one schema, found at run time ----------------------------------------------------------------------------


def test_the_schema_is_package_data_and_docs_links_to_the_one_copy():
    from importlib.resources import files

    packaged = files("seqcheck").joinpath("report-schema.json")
    assert os.path.samefile(str(packaged), REPO / "docs" / "report-schema.json"), "docs/ holds a second copy"
    assert (REPO / "docs" / "report-schema.json").is_symlink()
    assert report_schema() == json.loads((REPO / "seqcheck" / "report-schema.json").read_text())
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "report-schema.json" in project["tool"]["setuptools"]["package-data"]["seqcheck"]
    assert any(req.startswith("jsonschema") for req in project["project"]["dependencies"]), "validation runs at run time"


def test_the_schema_version_is_the_reports():
    from seqcheck.reports.report import REPORT_VERSION

    assert report_schema()["properties"]["version"] == {"const": REPORT_VERSION}


def test_a_baseline_object_is_read_once_and_reused(anchored):
    known = Baseline.load(anchored)
    assert Baseline.load(known) is known
    data, source = read_report(anchored.to_dict())
    assert source.label == "baseline=<dict>" and data == anchored.to_dict()


# -- Subject: one model, gated ----------------------------------------------------------------------------------


def test_a_subject_with_a_baseline_fails_on_a_regression_only(exact, anchored):
    gated = seqcheck.Subject("anchored", StartAnchored(PATTERN, N), pattern=PATTERN, train_length=N, baseline=anchored)
    gated.assert_holds()  # its violations are known limits
    assert gated.report().passed
    regressed = seqcheck.Subject("anchored", StartAnchored(PATTERN, N), pattern=PATTERN, train_length=N, baseline=exact)
    regressed.assert_holds("batch_invariance")
    with pytest.raises(seqcheck.InvariantViolation) as caught:
        regressed.assert_holds("length generalization")
    assert str(caught.value).startswith("length generalization: regression at lengths 3..4, 6..9,")
    assert "window 1 0 0 0 1 1 0 0 0 1 1   (length 11, phase 1)" in str(caught.value)


def test_assert_holds_on_a_report_with_a_baseline_fails_on_a_regression_only(exact, anchored):
    """The same rule as the Subject's, for a report from seqcheck.check(..., baseline=...)."""
    gated = seqcheck.check(StartAnchored(PATTERN, N), pattern=PATTERN, train_length=N, baseline=anchored)
    assert not gated["length_generalization"].passed
    seqcheck.assert_holds(gated)  # known limits, no regression
    regressed = seqcheck.check(StartAnchored(PATTERN, N), pattern=PATTERN, train_length=N, baseline=exact)
    seqcheck.assert_holds(regressed, "batch_invariance")
    with pytest.raises(seqcheck.InvariantViolation, match=r"^phase-shift invariance: regression at lengths"):
        seqcheck.assert_holds(regressed)


def test_a_subject_refuses_a_bad_baseline_when_declared(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{}")
    with pytest.raises(InvalidArgument, match="baseline=.*bad.json.*expected a seqcheck check report"):
        seqcheck.Subject("m", ExactRule(PATTERN), pattern=PATTERN, baseline=path)
    with pytest.raises(InvalidArgument, match="known_violations=.*expected no known violations together with a baseline"):
        seqcheck.Subject("m", ExactRule(PATTERN), pattern=PATTERN, known_violations={"length_generalization"},
                         baseline=run(ExactRule(PATTERN)))


# -- the reference models: the seed's LSTM and its fix -------------------------------------------------------------

USER_TEST = """
import pytest
from seqcheck.integrations.assertions import assert_holds

def test_invariant_holds(seqcheck_result):
    assert_holds(seqcheck_result)
"""


@pytest.fixture(scope="module")
def reference_reports(seed_model_path, fixed_model_path, tmp_path_factory):
    """seed.json and fixed.json: the reports of the two reference models, as `seqcheck check --json` writes them."""
    folder = tmp_path_factory.mktemp("reference")
    for name, model in (("seed", seed_model_path), ("fixed", fixed_model_path)):
        report = seqcheck.check(str(model), pattern=PATTERN, train_length=N)
        (folder / f"{name}.json").write_text(report.to_json() + "\n")
    return folder


def _dropped_lengths(folder: Path) -> str:
    """The lengths at which the seed model is less accurate than the fix, from the two reports."""
    seed = json.loads((folder / "seed.json").read_text())["invariants"][1]["accuracy_by_length"]
    return length_ranges([int(n) for n, accuracy in seed.items() if accuracy < 1.0])


def test_plugin_gates_the_configured_model_against_a_baseline(pytester, seed_model_path, reference_reports):
    pytester.makepyfile(test_props=USER_TEST)
    args = ("--seqcheck-model", str(seed_model_path), "--seqcheck-pattern", PATTERN, "--seqcheck-train-length", str(N))
    regressed = pytester.runpytest_subprocess(*args, "--seqcheck-baseline", str(reference_reports / "fixed.json"))
    regressed.assert_outcomes(passed=1, failed=3)
    regressed.stdout.fnmatch_lines([
        f"seqcheck: seed 0, profile ci, checking model {seed_model_path}, pattern 11000, against baseline {reference_reports / 'fixed.json'}",
        "*- Captured seqcheck regression call -*",
        f"length generalization: regression at lengths {_dropped_lengths(reference_reports)}",
        "*= seqcheck =*",
        "*length generalization    REGRESSION*",
    ])
    # The seed model against its own report (from the ini file, read from its folder): known limits, no failure.
    (pytester.path / "seed.json").write_text((reference_reports / "seed.json").read_text())
    pytester.makeini(
        f"[pytest]\nseqcheck_model = {seed_model_path}\nseqcheck_pattern = 11000\nseqcheck_train_length = 10\n"
        "seqcheck_baseline = seed.json\n"
    )
    known = pytester.runpytest_subprocess()
    known.assert_outcomes(passed=1, xfailed=3)
    known.stdout.fnmatch_lines(["*length generalization    FAIL (known)*"])


def test_plugin_refuses_a_bad_baseline_at_start_up(pytester, seed_model_path, reference_reports):
    pytester.makepyfile(test_props=USER_TEST)
    args = ("--seqcheck-model", str(seed_model_path), "--seqcheck-pattern", PATTERN, "--seqcheck-train-length", str(N))
    (pytester.path / "edited.json").write_text('{"version": 1}')
    result = pytester.runpytest_subprocess(*args, "--seqcheck-baseline", "edited.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--seqcheck-baseline='edited.json': expected a report of version 3 or 2, which this seqcheck reads*"])
    result = pytester.runpytest_subprocess(*args, "--seqcheck-max-length", "30", "--seqcheck-baseline", str(reference_reports / "seed.json"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*expected a baseline on this check's pattern and range; its max length is 40, this check's is 30*"])
    result = pytester.runpytest_subprocess("--seqcheck-baseline", str(reference_reports / "seed.json"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--seqcheck-baseline=* needs --seqcheck-model (ini seqcheck_model): the model gated against it*"])


# -- the command: check --baseline and diff -------------------------------------------------------------------------


def _check(model, baseline, *extra):
    from seqcheck.integrations.cli import main

    return main(["check", str(model), "--pattern", PATTERN, "--train-length", str(N), "--baseline", str(baseline), *extra])


def _comparison_lines(out: str) -> list[str]:
    lines = out.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("baseline ")):]


def test_the_fix_against_the_seed_report_lists_improvements_and_exits_0(fixed_model_path, reference_reports, tmp_path, capsys):
    paths = {name: tmp_path / name for name in ("r.json", "r.xml", "r.md", "r.png")}
    code = _check(fixed_model_path, reference_reports / "seed.json", "--json", str(paths["r.json"]), "--junit-xml", str(paths["r.xml"]),
                  "--markdown", str(paths["r.md"]), "--plot", str(paths["r.png"]))
    out = capsys.readouterr().out
    assert code == 0
    assert "improved   phase-shift invariance (FAIL -> pass): failed in the baseline at length 10, holds now" in out
    assert f"holds now; accuracy higher at lengths {_dropped_lengths(reference_reports)}" in out
    assert out.splitlines()[-1] == (
        "verdict: no regression against the baseline: improved: phase-shift invariance, length generalization, periodic consistency"
    )
    data = json.loads(paths["r.json"].read_text())
    jsonschema.validate(data, report_schema())
    assert data["passed"] is True and data["comparison"]["baseline"]["source"] == str(reference_reports / "seed.json")
    suite = ET.parse(paths["r.xml"]).getroot().find("testsuite")
    assert suite.get("failures") == "0"
    assert {p.get("name"): p.get("value") for p in suite.find("properties")}["comparison"] == "no regression"
    assert paths["r.md"].read_text().startswith(f"## seqcheck: `{fixed_model_path}` -- no regression")

    import matplotlib.image
    from matplotlib.colors import to_rgb

    from seqcheck.reports.baseline import BASELINE_COLOUR, NOW_COLOUR

    rgb = matplotlib.image.imread(paths["r.png"])[..., :3].reshape(-1, 3)
    for colour in (BASELINE_COLOUR, NOW_COLOUR):  # both curves are drawn
        assert np.any(np.all(np.abs(rgb - to_rgb(colour)) < 0.02, axis=1)), colour


def test_the_seed_against_the_fix_report_names_the_regressions_and_exits_1(seed_model_path, reference_reports, tmp_path, capsys):
    from seqcheck.integrations.cli import main

    paths = {name: tmp_path / name for name in ("r.json", "r.xml", "r.md", "r.png")}
    fixed = reference_reports / "fixed.json"
    code = _check(seed_model_path, fixed, "--json", str(paths["r.json"]), "--junit-xml", str(paths["r.xml"]),
                  "--markdown", str(paths["r.md"]), "--plot", str(paths["r.png"]))
    out = capsys.readouterr().out
    assert code == 1
    dropped = _dropped_lengths(reference_reports)
    assert dropped == "3..9, 11..14, 16..19, 21..40"  # the seed model is right at N = 10, 15 and 20 only
    assert "REGRESSION phase-shift invariance (pass -> FAIL): held in the baseline, fails now at length 10" in out
    assert (f"REGRESSION length generalization (pass -> FAIL): held in the baseline, fails now at length 11; accuracy lower at"
            f" lengths {dropped}") in out
    assert "        phase 1 .!!!!!..!!!..!!!..!!!.!...!!...!!...!!" in out  # the change heatmap
    assert out.splitlines()[-1].startswith("verdict: regression against the baseline: phase-shift invariance (held in the baseline")
    suite = ET.parse(paths["r.xml"]).getroot().find("testsuite")
    assert suite.get("failures") == "3"
    failure = next(c for c in suite.findall("testcase") if c.get("name") == "length generalization").find("failure")
    assert failure.get("message") == f"length generalization: regression at lengths {dropped}"
    markdown = paths["r.md"].read_text()
    assert markdown.startswith(f"## seqcheck: `{seed_model_path}` -- REGRESSION") and "**regression**" in markdown

    import matplotlib.image
    from matplotlib.colors import to_rgb

    from seqcheck.reports.baseline import REGRESSION_COLOUR
    from seqcheck.reports.heatmap import WRONG_COLOUR

    rgb = matplotlib.image.imread(paths["r.png"])[..., :3].reshape(-1, 3)
    def drawn(colour):
        return np.any(np.all(np.abs(rgb - to_rgb(colour)) < 0.02, axis=1))
    assert drawn(REGRESSION_COLOUR) and not drawn(WRONG_COLOUR), "the accuracy curves with the regressions marked, not the heatmap"

    # `seqcheck diff` of the two reports says the same, with the same exit code, without running a model.
    assert main(["diff", str(fixed), str(paths["r.json"])]) == 1
    diffed = capsys.readouterr().out
    assert diffed.splitlines()[0] == f"report {paths['r.json']} (model {seed_model_path}, seed 0)"
    assert _comparison_lines(diffed) == _comparison_lines(out)


def test_a_model_against_its_own_report_exits_0_and_reports_no_change(seed_model_path, reference_reports, capsys):
    assert _check(seed_model_path, reference_reports / "seed.json", "--tolerance", "0.05") == 0
    out = capsys.readouterr().out
    assert "training length 10; accuracy tolerance 0.05\n" in out
    assert "FAIL length generalization" in out  # still reported: a known limit, not hidden
    assert "same       length generalization (FAIL -> FAIL): first fails at length 11, as in the baseline: a known limit" in out
    assert out.splitlines()[-1] == (
        "verdict: no regression against the baseline: no change; known limits, failing as in the baseline: phase-shift"
        " invariance, length generalization, periodic consistency"
    )


def test_diff_exit_codes_and_outputs(reference_reports, tmp_path, capsys):
    from seqcheck.integrations.cli import main

    seed, fixed = str(reference_reports / "seed.json"), str(reference_reports / "fixed.json")
    assert main(["diff", fixed, seed]) == 1
    assert main(["diff", seed, seed]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("verdict: no regression against the baseline: no change;")
    paths = {name: tmp_path / name for name in ("d.json", "d.xml", "d.md", "d.png")}
    code = main(["diff", seed, fixed, "--json", str(paths["d.json"]), "--junit-xml", str(paths["d.xml"]),
                 "--markdown", str(paths["d.md"]), "--plot", str(paths["d.png"])])
    assert code == 0
    data = json.loads(paths["d.json"].read_text())
    jsonschema.validate(data, report_schema())
    fixed_data = json.loads(Path(fixed).read_text())
    assert {k: v for k, v in data.items() if k not in ("comparison", "passed")} == {
        k: v for k, v in fixed_data.items() if k != "passed"
    }, "diff writes NEW's own report, with the comparison added"
    assert data["comparison"]["passed"] and data["comparison"]["baseline"]["source"] == seed
    assert ET.parse(paths["d.xml"]).getroot().find("testsuite").get("failures") == "0"
    assert "no regression" in paths["d.md"].read_text().splitlines()[0]
    assert paths["d.png"].read_bytes().startswith(b"\x89PNG")


def test_diff_forgives_lower_accuracy_within_the_tolerance(tmp_path, capsys):
    from seqcheck.integrations.cli import main

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(run(WrongAt(PATTERN, {30}, {0})).to_json())
    new.write_text(run(WrongAt(PATTERN, {30}, {0, 1})).to_json())
    assert main(["diff", str(old), str(new)]) == 1
    assert "REGRESSION length generalization (FAIL -> FAIL): accuracy lower at lengths 30" in capsys.readouterr().out
    assert main(["diff", str(old), str(new), "--tolerance", "0.2"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:  # argparse's own error, one line
        main(["diff", str(old), str(new), "--tolerance", "1.5"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "seqcheck diff: error: argument --tolerance: --tolerance='1.5': expected a number from 0 to 1 (an accuracy)"
        " (see 'seqcheck diff --help')\n"
    )


def _one_line_error(capsys, code):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("seqcheck: error: ") and "Traceback" not in err
    return err.rstrip("\n")


def test_command_errors_are_one_line_with_exit_2(seed_model_path, reference_reports, tmp_path, capsys):
    from seqcheck.integrations.cli import main

    seed = reference_reports / "seed.json"
    edited = tmp_path / "edited.json"
    data = json.loads(seed.read_text())
    data["invariants"][1]["accuracy_by_length"]["10"] = 0.5
    edited.write_text(json.dumps(data))
    short = tmp_path / "short.json"
    short.write_text(run(ExactRule(PATTERN), max_length=30).to_json())

    err = _one_line_error(capsys, _check(seed_model_path, tmp_path / "missing.json"))
    assert err.startswith(f"seqcheck: error: --baseline={tmp_path / 'missing.json'}: expected an existing file")
    err = _one_line_error(capsys, _check(seed_model_path, edited))
    assert "expected a report consistent in itself; the accuracy of length_generalization at length 10 is 0.5" in err
    err = _one_line_error(capsys, _check(seed_model_path, seed, "--max-length", "30"))
    assert err == (
        f"seqcheck: error: --baseline={seed}: expected a baseline on this check's pattern and range; its max length is 40,"
        " this check's is 30; check with --max-length=40, or write the baseline again with this check's settings"
    )
    err = _one_line_error(capsys, _check(seed_model_path, seed, "--json", str(seed)))
    assert err == f"seqcheck: error: --json={seed}: expected a path other than --baseline's; write the report to another file"
    with pytest.raises(SystemExit) as exited:
        _check(seed_model_path, seed, "--tolerance", "ten percent")
    assert exited.value.code == 2 and capsys.readouterr().err == (
        "seqcheck check: error: argument --tolerance: --tolerance='ten percent': expected a number from 0 to 1 (an accuracy)"
        " (see 'seqcheck check --help')\n"
    )
    code = main(["check", str(seed_model_path), "--pattern", PATTERN, "--tolerance", "0.1"])
    assert "--tolerance=0.1: expected together with --baseline" in _one_line_error(capsys, code)
    err = _one_line_error(capsys, main(["diff", str(seed), str(short)]))
    assert err == (
        f"seqcheck: error: NEW={short}: expected a report on OLD's pattern and range; its max length is 30, OLD's is 40;"
        " compare two reports of one pattern, alphabet size, min and max length and training length"
    )
    err = _one_line_error(capsys, main(["diff", str(edited), str(seed)]))
    assert err.startswith(f"seqcheck: error: OLD={edited}: expected a report consistent in itself")
    fixed = reference_reports / "fixed.json"
    for path, name in ((seed, "OLD"), (fixed, "NEW")):
        err = _one_line_error(capsys, main(["diff", str(seed), str(fixed), "--markdown", str(path)]))
        assert err == f"seqcheck: error: --markdown={path}: expected a path other than {name}'s; write the report to another file"
