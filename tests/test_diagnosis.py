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
