"""Pairs of stream windows that share their end: the building block of the label-free forms.

A case ``(length, step, phase)`` names two windows of the stream that end at the same position:

- the longer one, ``window(phase, length + extra)``, and
- the shorter one, ``window(phase + extra, length)``, where ``extra = step * unit``.

With ``unit = 1`` the start moves by any amount (phase-shift invariance); with ``unit = p`` by
whole periods (periodic consistency).  Cases are ordered by the shorter window's length (nearest
the training length), then the smallest step, then the smallest phase; a counterexample is shown
as its longer window, with ``key_length`` the shorter one's length.

A range of ``M`` lengths holds about ``p M^2 / 2u`` pairs, but the sweep is linear in ``M``: it
reads the predictions at every length once and, for each shorter window, finds the nearest longer
window with the same end that breaks the pair with it (see :func:`_nearest_breaking`).
"""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import strategies as st

from seqcheck import strategies
from seqcheck.search.evaluation import INVALID
from seqcheck.invariants.base import Case, Context, Counterexample, Form, Sweep

_NONE = np.iinfo(np.int64).max  # "no breaking partner within the range"


class WindowPairForm(Form):
    """Same-end window pairs; label-free (same prediction) or oracle (both predictions right)."""

    invariant = ""
    finite = True

    def __init__(self, *, oracle: bool = False, name: str | None = None):
        self.oracle = oracle
        self.name = name or ("oracle" if oracle else "label-free")

    def unit(self, ctx: Context) -> int:
        raise NotImplementedError

    def relation(self, ctx: Context, extra: int) -> str:
        raise NotImplementedError

    def _shorter_lengths(self, ctx: Context) -> range:
        return range(ctx.space.min_length, ctx.space.max_length - self.unit(ctx) + 1)

    def _max_step(self, ctx: Context, length: int) -> int:
        return (ctx.space.max_length - length) // self.unit(ctx)

    def inapplicable(self, ctx: Context) -> str | None:
        if len(self._shorter_lengths(ctx)) > 0:
            return None
        space, unit = ctx.space, self.unit(ctx)
        return f"no two lengths {unit} apart in {space.min_length}..{space.max_length}"

    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        space = ctx.space
        shorter = self._shorter_lengths(ctx)
        lengths = strategies.lengths(min_length=shorter.start, max_length=shorter.stop - 1, train_length=space.train_length)
        phases = strategies.phases(ctx.pattern)

        # One strategy per length drawn, built on its first draw only: Hypothesis validates a new strategy
        # object the first time it draws from it (and lengths may run to thousands, so none is built ahead).
        @functools.lru_cache(maxsize=None)
        def cases_at(length: int) -> st.SearchStrategy[Case]:
            return st.tuples(st.just(length), st.integers(1, self._max_step(ctx, length)), phases)

        return lengths.flatmap(cases_at)

    def key(self, ctx: Context, case: Case) -> tuple:
        length, step, phase = case
        return (*ctx.space.length_key(length), step, phase)

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return 2

    def _windows(self, ctx: Context, cases: list[Case]):
        """Arrays (long_len, long_phase, short_len, short_phase) for ``cases``."""
        arr = np.asarray(cases, dtype=np.int64).reshape(-1, 3)
        extra = arr[:, 1] * self.unit(ctx)
        period = ctx.pattern.period
        return arr[:, 0] + extra, arr[:, 2], arr[:, 0], (arr[:, 2] + extra) % period

    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        long_len, long_phase, short_len, short_phase = self._windows(ctx, cases)
        lengths = np.unique(np.concatenate([long_len, short_len]))
        row = {int(length): i for i, length in enumerate(lengths)}
        predicted = np.stack([ctx.evaluator.predicted(int(length)) for length in lengths])
        long_pred = predicted[[row[int(x)] for x in long_len], long_phase]
        short_pred = predicted[[row[int(x)] for x in short_len], short_phase]
        invalid = (long_pred == INVALID) | (short_pred == INVALID)
        if not self.oracle:
            return invalid | (long_pred != short_pred)
        symbols = np.asarray(ctx.pattern.symbols)
        target = symbols[(long_phase + long_len) % ctx.pattern.period]  # both windows end together
        return invalid | (long_pred != target) | (short_pred != target)

    def sweep(self, ctx: Context, bound: tuple | None) -> Sweep:
        """Every pair in key order up to ``bound``, in time linear in the number of lengths.

        For each shorter window (a length and the end class ``e`` of its target), the smallest step to a
        breaking partner is read from :func:`_nearest_breaking`; at each length, the smallest (step, phase)
        over the ``p`` end classes is that length's first violating case in key order.
        """
        space, pattern, unit = ctx.space, ctx.pattern, self.unit(ctx)
        period = pattern.period
        lengths = np.arange(space.min_length, space.max_length + 1)
        ends = np.arange(period)
        # by_end[i, e]: the prediction of the window of length lengths[i] whose target is s[e] (its phase is e - length).
        by_end = np.stack([ctx.evaluator.predicted(int(n))[(ends - n) % period] for n in lengths])
        if self.oracle:  # a pair breaks where either window is wrong
            wrong = (by_end == INVALID) | (by_end != np.asarray(pattern.symbols)[None, :])
            nearest = _nearest_breaking(wrong, unit, lambda mine, longer: mine | longer)
        else:  # a pair breaks where the predictions differ, or either is no prediction at all
            nearest = _nearest_breaking(
                by_end, unit, lambda mine, longer: (mine != longer) | (mine == INVALID) | (longer == INVALID)
            )
        outcome = Sweep()
        for length in space.lengths_in_order(self._shorter_lengths(ctx)):
            if bound is not None and self.key(ctx, (length, 1, 0)) > bound:
                return outcome
            max_step = self._max_step(ctx, length)
            outcome.cases += max_step * period
            outcome.windows += 2 * max_step * period
            partner = nearest[length - space.min_length]
            hit = partner != _NONE
            if hit.any():
                steps = (partner[hit] + space.min_length - length) // unit
                phases = (ends[hit] - length - steps * unit) % period
                best = int(np.lexsort((phases, steps))[0])
                outcome.found = (length, int(steps[best]), int(phases[best]))
                return outcome
        outcome.complete = True
        return outcome

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        length, step, phase = case
        extra = step * self.unit(ctx)
        longer = ctx.prediction(phase, length + extra)
        shorter = ctx.prediction(phase + extra, length)
        return Counterexample(self.invariant, self.name, longer, shorter, relation=self.relation(ctx, extra), key_length=length)


def _nearest_breaking(table: np.ndarray, unit: int, breaks_with) -> np.ndarray:
    """For each row ``i`` of ``table`` (one length each, consecutive) and column ``e`` (an end class), the row
    ``j = i + k unit`` (``k >= 1``) nearest ``i`` whose cell breaks the pair with cell ``(i, e)``; ``_NONE`` where
    no row does.

    ``breaks_with(mine, longer)`` says, for two rows, which columns break.  Computed from the last row up,
    one row at a time: if the row ``unit`` further breaks with this one, it is the nearest; otherwise a later
    row breaks with this one exactly when it breaks with that next row (label-free: the two predictions are
    equal and valid; oracle: neither is wrong, so only the later row's own wrongness counts), so the next
    row's answer is this row's too.
    """
    nearest = np.full(table.shape, _NONE, dtype=np.int64)
    for i in range(table.shape[0] - 1 - unit, -1, -1):
        nxt = i + unit
        nearest[i] = np.where(breaks_with(table[i], table[nxt]), nxt, nearest[nxt])
    return nearest
