"""Each diagnosis is stated exactly when its evidence holds, on models built to show it."""

from __future__ import annotations

import pytest

import seqcheck
from tests.handmade import BreaksBeyond, ExactRule, NeedsLongContext, StartAnchored, WrongOnce


def diagnoses(model, **options):
    options.setdefault("train_length", 10)
    return seqcheck.check(model, pattern="11000", **options).diagnosis


def test_start_anchored():
    (text,) = diagnoses(StartAnchored("11000", 10))
    assert text.startswith("predictions follow the window length modulo 5")


def test_short_context():
    (text,) = diagnoses(NeedsLongContext("11000", needs=6))
    assert text.startswith("wrong only at the shortest lengths (3..5), right at every longer one: the model needs 6 symbols")
    assert "--min-length 6" in text


def test_long_length_breakdown():
    (text,) = diagnoses(BreaksBeyond("11000", limit=60), max_length=80)
    assert text.startswith("right at every length up to 60, wrong at every length beyond it")


@pytest.mark.parametrize(
    "model",
    [ExactRule("11000"), WrongOnce("11000", phase=3, length=37), BreaksBeyond("11000", limit=12)],
    ids=["exact", "one-window", "breaks-just-past-N"],
)
def test_no_diagnosis_without_its_evidence(model):
    assert diagnoses(model, max_length=60) == []


def test_a_model_wrong_at_its_own_training_length_gets_a_hint():
    """Checked against the wrong pattern or training length, a trained model is wrong where it should be right."""
    report = seqcheck.check(StartAnchored("11000", train_length=10), pattern="11000", train_length=11)
    assert report.hints == [
        "the model is wrong at its own training length 11 (accuracy 0.60): is 11000 the pattern it was trained on,"
        " and 11 its training length?"
    ]
    assert "hint: the model is wrong at its own training length 11" in report.render()


def test_a_failing_check_without_a_training_length_hints_at_giving_one():
    report = seqcheck.check(StartAnchored("11000", train_length=10), pattern="11000")
    assert report.diagnosis == [] and report.hints == ["give train_length= for a diagnosis of the failure's cause"]
    right = seqcheck.check(StartAnchored("11000", train_length=10), pattern="11000", train_length=10)
    assert right.hints == []  # right at its training length, and a diagnosis is possible
    assert seqcheck.check(ExactRule("11000"), pattern="11000").hints == []  # nothing failed
