"""The command line as its users read it: options spelled as they type them, invariants chosen by name,
standard output holding the report alone, training progress on standard error unless --quiet."""

from __future__ import annotations

import json
import shlex

import pytest

from seqcheck.integrations.cli import main
from tests.test_recipes import TINY


def test_errors_spell_options_as_the_command_line_does(seed_model_path, capsys):
    code = main(["check", str(seed_model_path), "--pattern", "0120", "--alphabet-size", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "seqcheck: error: --pattern=0120: expected symbols in {0..1} for --alphabet-size=2;"
        " pass --alphabet-size=3 or fix the pattern\n"
    )


def test_invariants_are_chosen_by_identifier_or_title_and_carried_by_the_reproduce_line(seed_model_path, tmp_path, capsys):
    report = tmp_path / "r.json"
    code = main(["check", str(seed_model_path), "--pattern", "11000", "--train-length", "10",
                 "--invariants", "length_generalization,phase-shift invariance", "--json", str(report)])
    capsys.readouterr()
    data = json.loads(report.read_text())
    assert code == 1
    assert [inv["name"] for inv in data["invariants"]] == ["length_generalization", "phase_shift_invariance"]
    words = shlex.split(data["reproduce"])
    assert words[words.index("--invariants") + 1] == "length_generalization,phase_shift_invariance"


def test_an_unknown_invariant_is_one_line_naming_the_valid_ones(seed_model_path, capsys):
    code = main(["check", str(seed_model_path), "--pattern", "11000", "--invariants", "length"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("seqcheck: error: --invariants=length: expected one of phase_shift_invariance, length_generalization,")


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [False, True])
def test_training_progress_goes_to_standard_error_and_quiet_silences_it(quiet, tmp_path, monkeypatch, capsys):
    from seqcheck.training import recipes

    monkeypatch.setitem(recipes.RECIPES["fixed-window"].settings, "epochs", TINY["fixed-window"]["epochs"])
    monkeypatch.setitem(recipes.RECIPES["fixed-window"].settings, "stream_length", TINY["fixed-window"]["stream_length"])
    output = tmp_path / "m.keras"
    code = main(["train", "fixed-window", "--pattern", "11000", "-o", str(output), *(["--quiet"] if quiet else [])])
    out, err = capsys.readouterr()
    assert code == 0 and output.is_file()
    assert out == f"saved fixed-window model for pattern 11000 (N=10, seed 0) to {output}\n"
    assert (" - accuracy: " in err) is not quiet


def test_a_plot_needs_length_generalization_among_the_invariants(seed_model_path, tmp_path, capsys):
    code = main(["check", str(seed_model_path), "--pattern", "11000", "--invariants", "phase_shift_invariance",
                 "--plot", str(tmp_path / "h.png")])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "h.png").exists()
    assert err.startswith("seqcheck: error: --plot=") and "length_generalization among --invariants" in err
