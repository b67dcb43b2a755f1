"""The hand-made models of ``tests/handmade.py`` behave as their docstrings say.

The exact tests of seqcheck (``test_invariants.py``, ``test_diagnosis.py``, ...) take these
behaviours as known; here each one is checked window by window against the pattern's own
definitions (``Pattern.window`` and ``Pattern.target``), without seqcheck's search.
"""

from __future__ import annotations

import numpy as np
import pytest

from seqcheck import Pattern
from tests.handmade import BatchDependent, BreaksBeyond, ExactRule, NeedsLongContext, StartAnchored, WrongOnce

PATTERNS = ["11000", "0,1,2,2", "1101000"]


def decided(model, windows: np.ndarray) -> np.ndarray:
    """The symbols the model predicts: sigmoid column thresholded at 0.5, else argmax of the rows."""
    out = np.asarray(model(windows), dtype=float)
    return (out[:, 0] >= 0.5).astype(int) if out.shape[1] == 1 else np.argmax(out, axis=1)


def lengths_of(pattern: Pattern, model) -> range:
    """Every length at which the model can read the phases, over several periods."""
    return range(max(pattern.min_context, model.context), 5 * pattern.period)


@pytest.mark.parametrize("text", PATTERNS)
def test_exact_rule_predicts_the_target_of_every_window(text):
    pattern, model = Pattern.parse(text), ExactRule(text)
    for length in range(pattern.min_context, 5 * pattern.period):
        np.testing.assert_array_equal(decided(model, pattern.windows(length)), pattern.targets(length), err_msg=f"length {length}")


def test_outputs_are_a_sigmoid_column_for_two_symbols_and_probability_rows_for_more():
    binary = ExactRule("11000")(Pattern.parse("11000").windows(7))
    assert binary.shape == (5, 1) and np.all((binary > 0) & (binary < 1))
    kary = ExactRule("0122")(Pattern.parse("0122").windows(7))
    assert kary.shape == (4, 3)
    np.testing.assert_allclose(kary.sum(axis=1), 1.0)


@pytest.mark.parametrize("text", PATTERNS)
@pytest.mark.parametrize("n", [6, 10])
def test_start_anchored_predicts_the_symbol_n_after_the_window_start_whatever_the_length(text, n):
    pattern, model = Pattern.parse(text), StartAnchored(text, train_length=n)
    expected = [pattern.target(phase, n) for phase in range(pattern.period)]
    for length in lengths_of(pattern, model):
        np.testing.assert_array_equal(decided(model, pattern.windows(length)), expected, err_msg=f"length {length}")
    # Right at N and at N plus whole periods: the seed model's table.
    for length in (n, n + pattern.period):
        np.testing.assert_array_equal(decided(model, pattern.windows(length)), pattern.targets(length))


def test_breaks_beyond_is_right_up_to_its_limit_and_wrong_after():
    pattern, model = Pattern.parse("11000"), BreaksBeyond("11000", limit=12)
    for length in range(3, 20):
        right = decided(model, pattern.windows(length)) == pattern.targets(length)
        assert right.all() if length <= 12 else not right.any(), length


def test_wrong_once_is_wrong_at_exactly_one_window():
    pattern, model = Pattern.parse("11000"), WrongOnce("11000", phase=3, length=8)
    wrong = [
        (length, phase)
        for length in range(3, 20)
        for phase, ok in enumerate(decided(model, pattern.windows(length)) == pattern.targets(length))
        if not ok
    ]
    assert wrong == [(8, 3)]


def test_needs_long_context_is_wrong_below_its_length_and_right_from_it():
    pattern, model = Pattern.parse("11000"), NeedsLongContext("11000", needs=6)
    for length in range(3, 15):
        right = decided(model, pattern.windows(length)) == pattern.targets(length)
        assert right.all() if length >= 6 else not right.any(), length


def test_batch_dependent_decides_like_the_exact_rule_but_its_probabilities_move_with_the_batch():
    pattern = Pattern.parse("11000")
    model, exact = BatchDependent("11000"), ExactRule("11000")
    windows = pattern.windows(10)
    np.testing.assert_array_equal(decided(model, windows), decided(exact, windows))
    alone = np.concatenate([model(windows[i : i + 1]) for i in range(len(windows))])
    together = model(windows)
    np.testing.assert_allclose(together - alone, 1e-3 * (len(windows) - 1))


def test_each_call_is_counted_once_whatever_the_batch():
    model = ExactRule("11000")
    pattern = Pattern.parse("11000")
    for length in (3, 4, 40):
        model(pattern.windows(length))
    assert model.calls == 3
