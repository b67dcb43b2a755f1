"""Pairs of stream windows that share their end: the building block of the label-free forms.

A case ``(length, step, phase)`` names two windows of the stream that end at the same position:

- the longer one, ``window(phase, length + extra)``, and
- the shorter one, ``window(phase + extra, length)``, where ``extra = step * unit``.

With ``unit = 1`` the start moves by any amount (phase-shift invariance); with ``unit = p`` by
whole periods (periodic consistency).  Cases are ordered by the shorter window's length (nearest
the training length), then the smallest step, then the smallest phase.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
from hypothesis import strategies as st

from seqcheck import strategies
from seqcheck.evaluation import INVALID
from seqcheck.invariants.base import Case, Context, Counterexample, Form


class WindowPairForm(Form):
    """Same-end window pairs; label-free (same prediction) or oracle (both predictions right)."""

    invariant = ""

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

    def applies(self, ctx: Context) -> bool:
        return len(self._shorter_lengths(ctx)) > 0

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

    def blocks(self, ctx: Context) -> Iterator[list[Case]]:
        period = ctx.pattern.period
        for length in ctx.space.lengths_in_order(self._shorter_lengths(ctx)):
            yield [(length, step, phase) for step in range(1, self._max_step(ctx, length) + 1) for phase in range(period)]

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

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        length, step, phase = case
        extra = step * self.unit(ctx)
        longer = ctx.prediction(phase, length + extra)
        shorter = ctx.prediction(phase + extra, length)
        return Counterexample(self.invariant, self.name, longer, shorter, relation=self.relation(ctx, extra))
