"""Public Hypothesis strategies for patterns, phases, lengths and windows.

Each strategy is built so that Hypothesis's shrinking follows seqcheck's documented order (see
:mod:`seqcheck.search.space`): patterns shrink to the shortest period and then the smallest symbols,
lengths toward the training length (longer first on a tie) or, without one, toward the shortest,
phases toward 0.  Use them in your own ``@given`` tests::

    @given(seqcheck.strategies.windows(Pattern.parse("11000"), max_length=40, train_length=10))
    def test_my_model(window): ...
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from seqcheck.errors import invalid
from seqcheck.tasks.patterns import Pattern, primitive_period

__all__ = ["Window", "lengths", "patterns", "phases", "windows"]


@dataclass(frozen=True)
class Window:
    """``window(phase, length)`` of a pattern's stream, with its target."""

    pattern: Pattern
    phase: int
    length: int

    @property
    def symbols(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.pattern.window(self.phase, self.length))

    @property
    def target(self) -> int:
        return self.pattern.target(self.phase, self.length)


def patterns(*, alphabet_size: int = 2, min_period: int = 2, max_period: int = 6) -> st.SearchStrategy[Pattern]:
    """Primitive patterns over ``{0..alphabet_size-1}``; shrinks to the shortest period, then smallest symbols."""
    if alphabet_size < 2:
        raise invalid("alphabet_size", alphabet_size, "at least 2", "a pattern needs two symbols")
    if min_period < 2:
        raise invalid("min_period", min_period, "at least 2", "a period-1 pattern is a constant stream")
    if max_period < min_period:
        raise invalid("max_period", max_period, f"at least min_period={min_period}", "raise max_period")

    def of_period(period: int) -> st.SearchStrategy[Pattern]:
        symbols = st.lists(st.integers(0, alphabet_size - 1), min_size=period, max_size=period)
        return symbols.filter(lambda s: primitive_period(s) == len(s)).map(
            lambda s: Pattern.parse(s, alphabet_size=alphabet_size)
        )

    return st.integers(min_period, max_period).flatmap(of_period)


def phases(pattern: Pattern) -> st.SearchStrategy[int]:
    """Phases ``0..p-1`` of the pattern's stream; shrinks to 0."""
    return st.integers(0, pattern.period - 1)


def lengths(*, min_length: int, max_length: int, train_length: int | None = None) -> st.SearchStrategy[int]:
    """Window lengths in ``[min_length, max_length]``.

    Without ``train_length`` they shrink to ``min_length``.  With it, Hypothesis draws the distance
    ``d`` from the training length first and then the side, so that it shrinks to the length nearest
    the training length, ``N+d`` before ``N-d``.
    """
    if max_length < min_length:
        raise invalid("max_length", max_length, f"at least min_length={min_length}", "raise max_length")
    if train_length is None:
        return st.integers(min_length, max_length)
    n = train_length
    nearest = max(0, min_length - n, n - max_length)
    farthest = max(abs(max_length - n), abs(n - min_length))

    def side(draw: tuple[int, bool]) -> int:
        # The side is drawn even where only one side is in range, so that every example has the
        # same shape of choices and Hypothesis can shrink the distance freely.
        d, is_shorter = draw
        longer, shorter = n + d, n - d
        if shorter < min_length or (not is_shorter and longer <= max_length):
            return longer
        return shorter

    return st.tuples(st.integers(nearest, farthest), st.booleans()).map(side)


def windows(
    pattern: Pattern,
    *,
    max_length: int,
    min_length: int | None = None,
    train_length: int | None = None,
) -> st.SearchStrategy[Window]:
    """Windows of the pattern's stream no shorter than its min context; shrinks by length, then phase."""
    low = pattern.min_context if min_length is None else min_length
    return st.tuples(lengths(min_length=low, max_length=max_length, train_length=train_length), phases(pattern)).map(
        lambda lp: Window(pattern, phase=lp[1], length=lp[0])
    )
