"""The public strategies shrink in the documented order."""

from __future__ import annotations

from hypothesis import find, settings

from seqcheck import Pattern, strategies

QUIET = settings(database=None, max_examples=500)


def test_lengths_shrink_to_the_training_length_longer_first():
    lengths = strategies.lengths(min_length=3, max_length=40, train_length=10)
    assert find(lengths, lambda n: n != 10, settings=QUIET) == 11
    assert find(lengths, lambda n: n < 10, settings=QUIET) == 9
    assert find(lengths, lambda n: n > 30, settings=QUIET) == 31


def test_lengths_without_training_length_shrink_to_the_shortest():
    assert find(strategies.lengths(min_length=3, max_length=40), lambda n: n > 7, settings=QUIET) == 8


def test_lengths_stay_in_range_when_training_length_is_outside_it():
    lengths = strategies.lengths(min_length=3, max_length=8, train_length=20)
    assert find(lengths, lambda n: True, settings=QUIET) == 8
    assert find(lengths, lambda n: n < 5, settings=QUIET) == 4


def test_patterns_shrink_to_the_smallest_pattern():
    assert find(strategies.patterns(), lambda p: True, settings=QUIET) == Pattern.parse("01")
    assert find(strategies.patterns(), lambda p: p.period >= 3, settings=QUIET) == Pattern.parse("001")
    assert find(strategies.patterns(alphabet_size=3), lambda p: 2 in p.symbols, settings=QUIET) == Pattern.parse("02", alphabet_size=3)


def test_windows_shrink_by_length_then_phase_and_carry_their_target():
    pattern = Pattern.parse("11000")
    window = find(strategies.windows(pattern, max_length=40, train_length=10), lambda w: w.length != 10 and w.target == 0, settings=QUIET)
    assert (window.length, window.phase) == (11, 1)
    assert window.symbols == tuple(pattern.window(1, 11))
