"""Length generalization."""

from __future__ import annotations

import numpy as np

from seqcheck.search.evaluation import INVALID
from seqcheck.invariants.base import Case, Context, Counterexample, Invariant, InvariantResult, WindowForm

NAME, TITLE = "length_generalization", "length generalization"


class _EveryWindow(WindowForm):
    """Cases ``(length, phase)``: ``window(phase, length)`` predicts its target."""

    name = "oracle"

    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        out = np.empty(len(cases), dtype=bool)
        for i, (length, phase) in enumerate(cases):
            predicted = ctx.evaluator.predicted(length)[phase]
            out[i] = predicted == INVALID or predicted != ctx.pattern.target(phase, length)
        return out

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        length, phase = case
        return Counterexample(NAME, self.name, ctx.prediction(phase, length))


class LengthGeneralization(Invariant):
    """Correct at lengths never trained on.

    Oracle form: for every phase and every length from min context to the maximum (default well
    beyond the training length), ``window(phase, length)`` predicts its target
    ``s[phase + length]``.  Reported with the accuracy by length (share of phases right) and the
    minimal failing window: the length nearest the training length (longer first on a tie), then
    the smallest phase.
    """

    name, title = NAME, TITLE
    forms = (_EveryWindow(),)

    def finish(self, ctx: Context, result: InvariantResult) -> InvariantResult:
        space = ctx.space
        if space.sweep_symbols() <= ctx.exhaustive_budget:
            correct = {length: ctx.evaluator.predicted(length) == ctx.pattern.targets(length) for length in space.lengths}
            result.correct_by_length = {length: tuple(bool(c) for c in right) for length, right in correct.items()}
            result.accuracy_by_length = {length: float(np.mean(right)) for length, right in correct.items()}
        return result


length_generalization = LengthGeneralization()
