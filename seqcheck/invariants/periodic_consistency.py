"""Periodic consistency."""

from __future__ import annotations

import numpy as np

from seqcheck.evaluation import INVALID, decide
from seqcheck.invariants.base import Case, Context, Counterexample, Invariant, WindowForm, symbols_text
from seqcheck.invariants.pairs import WindowPairForm
from seqcheck.patterns import primitive_period

NAME = "periodic consistency"


class _WholePeriods(WindowPairForm):
    """Prepending (or dropping) whole periods: ``window(phase, length + k p)`` vs ``window(phase, length)``."""

    invariant = NAME

    def unit(self, ctx: Context) -> int:
        return ctx.pattern.period

    def relation(self, ctx: Context, extra: int) -> str:
        periods = extra // ctx.pattern.period
        return f"same end, {periods} period{'s' if periods > 1 else ''} dropped from the start"


class _ClosedLoop(WindowForm):
    """Cases ``(length, phase)``: from ``window(phase, length)``, feed the model its own predictions.

    The window slides (its length stays ``length``) for ``2 p`` steps; the generated symbols must
    repeat with period ``p`` (``y[t] == y[t-p]``) and with no shorter period.
    """

    name = "closed loop"

    def steps(self, ctx: Context) -> int:
        return 2 * ctx.pattern.period

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return self.steps(ctx)

    def rollout(self, ctx: Context, length: int, phases: np.ndarray) -> np.ndarray:
        """Generated symbols ``(len(phases), 2p)``; :data:`INVALID` where the output was not finite."""
        sequence = ctx.pattern.windows(length)[phases]
        generated = []
        for _ in range(self.steps(ctx)):
            predicted, _ = decide(ctx.evaluator.probabilities(sequence[:, -length:]))
            generated.append(predicted)
            sequence = np.concatenate([sequence, np.maximum(predicted, 0)[:, None]], axis=1)
        return np.stack(generated, axis=1)

    def _broken(self, ctx: Context, generated: np.ndarray) -> np.ndarray:
        period = ctx.pattern.period
        repeats = (generated[:, period:] == generated[:, :-period]).all(axis=1)
        primitive = np.array([primitive_period(list(row[:period])) == period for row in generated])
        return (generated == INVALID).any(axis=1) | ~repeats | ~primitive

    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        arr = np.asarray(cases, dtype=np.int64).reshape(-1, 2)
        out = np.zeros(len(arr), dtype=bool)
        for length in np.unique(arr[:, 0]):
            rows = np.flatnonzero(arr[:, 0] == length)
            out[rows] = self._broken(ctx, self.rollout(ctx, int(length), arr[rows, 1]))
        return out

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        length, phase = case
        generated = self.rollout(ctx, length, np.asarray([phase]))[0]
        period = ctx.pattern.period
        if (generated == INVALID).any():
            why = f"step {int(np.argmax(generated == INVALID)) + 1} gave a non-finite output"
        elif not (generated[period:] == generated[:-period]).all():
            t = period + int(np.argmax(generated[period:] != generated[:-period]))
            why = f"step {t + 1} generated {generated[t]} but step {t + 1 - period} generated {generated[t - period]}"
        else:
            why = f"the generated run repeats every {primitive_period(list(generated[:period]))} steps, not {period}"
        detail = (
            f"closed loop, sliding window of length {length}: generated "
            f"{symbols_text(np.maximum(generated, 0))}; expected period {period}: {why}"
        )
        return Counterexample(NAME, self.name, ctx.prediction(phase, length), detail=detail)


class PeriodicConsistency(Invariant):
    """The model respects the period.

    Label-free forms: prepending or dropping whole periods never changes a prediction --
    ``window(phase, length + k p)`` and ``window(phase, length)`` (same end) predict the same
    symbol; and feeding the model's own predictions back (closed loop, a window of fixed length
    sliding over them) continues with period ``p``.  A start-anchored model passes the first form
    and fails phase-shift invariance: the contrast is the diagnosis seqcheck prints.
    """

    name = NAME
    forms = (_WholePeriods(name="prepend-a-period"), _ClosedLoop())


periodic_consistency = PeriodicConsistency()
