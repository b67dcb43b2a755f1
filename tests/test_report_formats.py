"""CI gate outputs: JSON against its schema, JUnit XML, Markdown, the heatmap in text and PNG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import seqcheck
from seqcheck.integrations.cli import main
from seqcheck.reports.heatmap import text_heatmap
from seqcheck.reports.formats import to_junit_xml, to_markdown
from tests.handmade import ExactRule, StartAnchored

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "report-schema.json").read_text())


@pytest.fixture(scope="module")
def failing():
    return seqcheck.check(StartAnchored("11000", 10), pattern="11000", train_length=10)


@pytest.mark.parametrize("model", [StartAnchored("11000", 10), ExactRule("11000")], ids=["failing", "passing"])
def test_json_report_follows_its_schema(model):
    data = json.loads(seqcheck.check(model, pattern="11000", train_length=10).to_json())
    jsonschema.validate(data, SCHEMA)
    assert data["version"] == 3
    assert data["task"] == {"name": "periodic-stream", "kind": "stream", "symbols": ["0", "1"], "classes": ["0", "1"], "pattern": "11000"}


@pytest.mark.parametrize("exact_through", [None, 6], ids=["passing", "failing"])
def test_a_sequence_task_report_follows_the_schema_and_describes_its_task(exact_through):
    from sequence_models import Exact, LateBreaking

    from seqcheck.tasks import parity

    model = Exact(parity) if exact_through is None else LateBreaking(parity, exact_through)
    data = json.loads(seqcheck.check(model, task="parity", max_length=12).to_json())
    jsonschema.validate(data, SCHEMA)
    assert data["task"]["name"] == "parity" and data["task"]["kind"] == "sequence"
    assert data["task"]["classes"] == ["even", "odd"] and data["task"]["relations"] == ["permutation", "neutral insertion"]
    assert (data["pattern"], data["period"], data["min_context"]) == (None, None, None)
    statuses = {inv["name"]: inv["status"] for inv in data["invariants"]}
    assert statuses["phase_shift_invariance"] == statuses["periodic_consistency"] == "not applicable"
    if exact_through is not None:
        cx = next(inv for inv in data["invariants"] if inv["name"] == "length_generalization")["counterexample"]
        assert (cx["length"], cx["window"]["text"], cx["expected"], cx["predicted"]) == (7, "0 0 0 0 0 0 0", 0, 1)


def test_schema_rejects_a_report_missing_a_field(failing):
    data = failing.to_dict()
    del data["invariants"][0]["counterexample"]["phase"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_junit_has_one_case_per_invariant_with_the_counterexample(failing):
    root = ET.fromstring(to_junit_xml(failing))
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "3"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["phase-shift invariance", "length generalization", "periodic consistency", "batch invariance"]
    failure = cases["length generalization"].find("failure")
    assert failure.get("message") == "length generalization violated (oracle)"
    assert "window 1 0 0 0 1 1 0 0 0 1 1   (length 11, phase 1)  -> predicted 1 (p=0.98); expected 0" in failure.text
    assert "reproduce: seqcheck.check(model, pattern='11000', train_length=10, seed=0)" in failure.text
    assert cases["batch invariance"].find("failure") is None


def test_markdown_summary(failing):
    text = to_markdown(failing)
    assert text.startswith("## seqcheck: `StartAnchored` -- FAIL")
    assert "| length generalization | **FAIL** | " in text
    assert "| minimal (oracle) length 11, phase 1: predicted 1, expected 0 |" in text
    assert "**Diagnosis:** predictions follow the window length modulo 5" in text


def test_text_heatmap_marks_exactly_the_wrong_windows(failing):
    correct = failing["length generalization"].correct_by_length
    lines = text_heatmap(correct)
    rows = {int(line.split()[1]): line.split()[2] for line in lines if line.strip().startswith("phase")}
    lengths = sorted(correct)
    for phase, row in rows.items():
        assert row == "".join("." if correct[n][phase] else "x" for n in lengths)
    pattern = seqcheck.Pattern.parse("11000")
    assert rows[1][11 - 3] == "x" and pattern.target(1, 11) == 0  # the minimal counterexample


def test_check_command_writes_every_output(seed_model_path, tmp_path, capsys):
    paths = {name: tmp_path / name for name in ("r.json", "r.xml", "r.md", "r.png")}
    code = main([
        "check", str(seed_model_path), "--pattern", "11000", "--train-length", "10",
        "--json", str(paths["r.json"]), "--junit-xml", str(paths["r.xml"]), "--markdown", str(paths["r.md"]),
        "--plot", str(paths["r.png"]),
    ])
    out = capsys.readouterr().out
    assert code == 1
    assert "heatmap: x = wrong, . = right" in out
    jsonschema.validate(json.loads(paths["r.json"].read_text()), SCHEMA)
    assert ET.parse(paths["r.xml"]).getroot().find("testsuite").get("failures") == "3"
    assert "## seqcheck:" in paths["r.md"].read_text()

    import matplotlib.image

    image = matplotlib.image.imread(paths["r.png"])
    assert image.shape[0] >= 200 and image.shape[1] >= 600
    # The heatmap is drawn: it holds both the "right" blue and the "wrong" orange.
    from matplotlib.colors import to_rgb

    from seqcheck.reports.heatmap import RIGHT_COLOUR, WRONG_COLOUR

    rgb = image[..., :3].reshape(-1, 3)
    assert np.any(np.all(np.abs(rgb - to_rgb(RIGHT_COLOUR)) < 0.02, axis=1))
    assert np.any(np.all(np.abs(rgb - to_rgb(WRONG_COLOUR)) < 0.02, axis=1))
    assert not list(tmp_path.glob(".*")), "no temporary file left behind"


def test_the_heatmap_png_marks_the_training_length_in_colours_told_apart_by_colour_blind_readers(failing):
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_hex

    from seqcheck.reports.heatmap import RIGHT_COLOUR, WRONG_COLOUR, heatmap_figure

    fig = heatmap_figure(failing["length generalization"].correct_by_length, train_length=10)
    ax = fig.axes[0]
    (image,) = ax.images
    assert [to_hex(image.cmap(v)) for v in (0.0, 1.0)] == [WRONG_COLOUR.lower(), RIGHT_COLOUR.lower()]
    # Okabe-Ito blue and orange, not red and green (which deuteranopes cannot tell apart)
    assert (RIGHT_COLOUR, WRONG_COLOUR) == ("#0072B2", "#E69F00")
    (line,) = ax.lines
    assert list(line.get_xdata()) == [10, 10] and line.get_label() == "training length 10"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["right", "wrong", "training length 10"]
