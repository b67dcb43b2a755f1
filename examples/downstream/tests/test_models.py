"""Models declared in Python: the battery, a hand-written property, and a caught violation."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

import seqcheck
from seqcheck.strategies import windows

MODELS = Path(__file__).parents[1] / "models"
PATTERN = seqcheck.Pattern.parse("11000")

NEXT_BIT = seqcheck.Subject("next-bit", MODELS / "next_bit.keras", pattern="11000", train_length=10, max_length=60)


@seqcheck.battery(NEXT_BIT)
def test_next_bit_holds_every_invariant(seqcheck_result):
    seqcheck.assert_holds(seqcheck_result)


@pytest.fixture(scope="module")
def next_bit():
    return seqcheck.as_model(MODELS / "next_bit.keras", alphabet_size=2)


@settings(max_examples=50, deadline=None, database=None, derandomize=True)
@given(window=windows(PATTERN, max_length=100, train_length=10))
def test_next_bit_predicts_every_window_target(next_bit, window):
    probabilities = next_bit.predict_proba(np.asarray([window.symbols]))
    assert int(np.argmax(probabilities[0])) == window.target


@pytest.mark.xfail(raises=seqcheck.InvariantViolation, strict=True, reason="counts from the window start")
def test_start_anchored_model_is_caught():
    report = seqcheck.check(MODELS / "start_anchored.keras", pattern="11000", train_length=10)
    seqcheck.assert_holds(report, "phase-shift invariance")
