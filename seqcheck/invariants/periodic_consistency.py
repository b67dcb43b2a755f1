"""Periodic consistency."""

from __future__ import annotations

import numpy as np

from seqcheck.search.evaluation import INVALID, decide
from seqcheck.invariants.base import Case, Context, Counterexample, Invariant, WindowForm, symbols_text
from seqcheck.invariants.pairs import WindowPairForm
from seqcheck.tasks.patterns import primitive_period

NAME, TITLE = "periodic_consistency", "periodic consistency"


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

    The window slides (its length stays ``length``) for ``length + 2p`` steps, so that its last ``2p``
    predictions are made from windows holding only the model's own outputs.  The generated symbols
    must repeat with period ``p`` (``y[t] == y[t-p]``) and with no shorter period.  A rollout stops at
    its first step that breaks this.
    """

    name = "closed loop"

    def steps(self, ctx: Context, length: int) -> int:
        return length + 2 * ctx.pattern.period

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return self.steps(ctx, case[0])

    def rollout(self, ctx: Context, length: int, phases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(generated, broken)``: the symbols generated from each phase's window ``(len(phases), steps)``, and
        whether each rollout broke the period.  A broken rollout stops there; the rest of its row is
        :data:`INVALID`, as is a step whose output was not finite.

        While a rollout predicts the stream's own next symbols, its windows are windows of the stream, whose
        predictions at this length are known (one batched call for all phases): it leaves the stream at its
        first wrong prediction, if any, and only from there is the model fed windows one step at a time.
        """
        pattern, period, total = ctx.pattern, ctx.pattern.period, self.steps(ctx, length)
        count = len(phases)
        on_stream = ctx.evaluator.predicted(length)
        right = on_stream == pattern.targets(length)
        ahead = (phases[:, None] + np.arange(period)[None, :]) % period  # the phase of the window at step t < p
        leaves = np.where((~right[ahead]).any(axis=1), np.argmax(~right[ahead], axis=1), total)
        steps = np.arange(total)[None, :]
        generated = np.where(steps < leaves[:, None], np.asarray(pattern.symbols)[(phases[:, None] + length + steps) % period], INVALID)
        broken = np.zeros(count, dtype=bool)
        sequence = np.zeros((count, length), dtype=np.int64)
        for t in range(int(leaves.min()), total):
            entering = np.flatnonzero(leaves == t)
            walking = np.flatnonzero((leaves < t) & ~broken)
            rows = np.concatenate([entering, walking])
            if rows.size == 0:
                if not ((leaves > t) & (leaves < total)).any():
                    break  # every rollout is broken, or stays on the stream
                continue
            fed = np.concatenate([pattern.windows(length)[(phases[entering] + t) % period], sequence[walking]])
            predicted = np.concatenate([
                on_stream[(phases[entering] + t) % period],
                decide(ctx.evaluator.probabilities(sequence[walking]))[0] if walking.size else np.empty(0, dtype=np.int64),
            ])
            generated[rows, t] = predicted
            now_broken = predicted == INVALID
            if t >= period:
                now_broken |= predicted != generated[rows, t - period]
            if t == period - 1:
                now_broken |= np.array([primitive_period(list(row)) != period for row in generated[rows, :period]])
            broken[rows] = now_broken
            sequence[rows] = np.concatenate([fed[:, 1:], np.maximum(predicted, 0)[:, None]], axis=1)
        return generated, broken

    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        arr = np.asarray(cases, dtype=np.int64).reshape(-1, 2)
        out = np.zeros(len(arr), dtype=bool)
        for length in np.unique(arr[:, 0]):
            rows = np.flatnonzero(arr[:, 0] == length)
            out[rows] = self.rollout(ctx, int(length), arr[rows, 1])[1]
        return out

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        length, phase = case
        generated = self.rollout(ctx, length, np.asarray([phase]))[0][0]
        period = ctx.pattern.period
        first_invalid = np.flatnonzero(generated == INVALID)
        made = generated[: first_invalid[0]] if first_invalid.size else generated  # up to the step that broke
        if len(made) >= period and primitive_period(list(made[:period])) != period:
            why = f"the first {period} generated symbols repeat every {primitive_period(list(made[:period]))} steps, not {period}"
        elif len(made) > period and (made[period:] != made[:-period]).any():
            t = period + int(np.argmax(made[period:] != made[:-period]))
            why = f"step {t + 1} generated {made[t]} but step {t + 1 - period} generated {made[t - period]}"
        else:
            why = f"step {len(made) + 1} gave a non-finite output"
        detail = (
            f"closed loop, sliding window of length {length}: generated "
            f"{symbols_text(made)}; expected period {period}: {why}"
        )
        return Counterexample(NAME, self.name, ctx.prediction(phase, length), detail=detail)


class PeriodicConsistency(Invariant):
    """The model respects the period.

    Label-free forms: prepending or dropping whole periods never changes a prediction --
    ``window(phase, length + k p)`` and ``window(phase, length)`` (same end) predict the same
    symbol; and feeding the model's own predictions back (closed loop, a window of fixed length
    sliding over them for ``length + 2p`` steps, until it holds only the model's own outputs)
    continues with period ``p``.  A start-anchored model passes the first form
    and fails phase-shift invariance: the contrast is the diagnosis seqcheck prints.
    """

    name, title = NAME, TITLE
    forms = (_WholePeriods(name="prepend-a-period"), _ClosedLoop())


periodic_consistency = PeriodicConsistency()
