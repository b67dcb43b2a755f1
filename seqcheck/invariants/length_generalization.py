"""Length generalization."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from seqcheck.invariants.base import Case, Context, Counterexample, Invariant, InvariantResult, Sweep, WindowForm
from seqcheck.invariants.sequence_forms import (
    SAMPLES_PER_LENGTH, SequenceForm, every_input_classes, first_violation, input_batches, new_sweep_cost, packed_batches,
    predict_one, rows_key, shortlex_first, shrink_input, wrong,
)
from seqcheck.search.evaluation import INVALID
from seqcheck.tasks.base import SEQUENCE

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


@dataclass(frozen=True)
class LengthSample:
    """The inputs of one length in the accuracy table, and which the model got wrong; ``exact`` when they are all
    the inputs of the length (else :data:`SAMPLES_PER_LENGTH` drawn at random, seeded by the check's seed)."""

    inputs: np.ndarray
    wrong: np.ndarray
    exact: bool


def accuracy_sample(ctx: Context) -> dict[int, LengthSample]:
    """The accuracy table of a sequence task, computed once per check: at every length of the range, every input
    where there are at most :data:`SAMPLES_PER_LENGTH`, else that many drawn at random."""
    table = ctx.extra.get("accuracy_sample")
    if table is None:
        task, table = ctx.task, {}
        for length in ctx.space.lengths:
            exact = task.count(length) <= SAMPLES_PER_LENGTH
            if exact:
                inputs = np.concatenate(list(task.enumerate(length)))
            else:
                inputs = task.sample(np.random.default_rng([ctx.seed, length]), SAMPLES_PER_LENGTH, length)
            table[length] = LengthSample(inputs, wrong(ctx, inputs, remember=False), exact)
        ctx.extra["accuracy_sample"] = table
    return table


class _EveryInput(SequenceForm):
    """Cases ``(length, inputs)``: a batch of a sequence task's inputs of one length, each given its target class."""

    name = "oracle"

    @staticmethod
    def _lengths(ctx: Context) -> st.SearchStrategy[int]:
        """Every length, and as often the lengths where the accuracy table met a wrong input (listed second, so that
        shrinking still tries every shorter length)."""
        lengths = st.sampled_from(ctx.space.lengths)
        failing = [length for length, sample in accuracy_sample(ctx).items() if sample.wrong.any()]
        return st.one_of(lengths, st.sampled_from(failing)) if failing else lengths

    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        return input_batches(ctx, self._lengths(ctx))

    def search(self, ctx: Context, violated) -> Case | None:
        """Where the task's inputs pack into bytes: Hypothesis draws whole batches as blocks of bytes (generation only),
        then shrinks the first failing batch's smallest failing input on its own (:func:`shrink_input`).  Otherwise
        it draws batches input by input and shrinks them (:meth:`Form.search`)."""
        if ctx.task.packing(ctx.space.lengths[0]) is None:
            return super().search(ctx, violated)
        batch = first_violation(ctx, packed_batches(ctx, self._lengths(ctx)), violated)
        if batch is None:
            return None
        _, smallest = self.narrow(ctx, batch)
        return shrink_input(ctx, smallest[0], violated)

    def key(self, ctx: Context, case: Case) -> tuple:
        return rows_key(*case)

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return len(case[1])

    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        return np.array([bool(wrong(ctx, inputs).any()) for _, inputs in cases])

    def narrow(self, ctx: Context, case: Case) -> Case:
        length, inputs = case
        failing = inputs[wrong(ctx, inputs)]
        return (length, failing[shortlex_first(failing)][None])

    def known_violation(self, ctx: Context) -> Case | None:
        for length, sample in accuracy_sample(ctx).items():
            if sample.wrong.any():
                failing = sample.inputs[sample.wrong]
                return (length, failing[shortlex_first(failing)][None])
        return None

    def length_cost(self, ctx: Context, length: int) -> int:
        return new_sweep_cost(ctx, length)

    def sweep_length(self, ctx: Context, length: int, outcome: Sweep) -> None:
        predicted = every_input_classes(ctx, length)
        inputs = np.concatenate(list(ctx.task.enumerate(length)))
        mask = (predicted == INVALID) | (predicted != ctx.task.targets(inputs))
        judged = int(np.argmax(mask)) + 1 if mask.any() else len(mask)
        outcome.cases += judged
        outcome.windows += judged
        if mask.any():
            outcome.found = (length, inputs[judged - 1][None])

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        return Counterexample(NAME, self.name, predict_one(ctx, case[1][0]))


class LengthGeneralization(Invariant):
    """Correct at lengths never trained on.

    Oracle form: for every phase and every length from min context to the maximum (default well
    beyond the training length), ``window(phase, length)`` predicts its target
    ``s[phase + length]``.  Reported with the accuracy by length (share of phases right) and the
    minimal failing window: the length nearest the training length (longer first on a tie), then
    the smallest phase.

    Oracle form on a sequence task: every input of every valid length of the range gets its target
    class.  Reported with the accuracy by length (on every input of a length where it has at most
    128, else on 128 drawn at random) and the minimal failing input: the shortest length, then the
    shortlex-smallest input.
    """

    name, title = NAME, TITLE
    forms = (_EveryWindow(), _EveryInput())

    def finish(self, ctx: Context, result: InvariantResult) -> InvariantResult:
        space = ctx.space
        if ctx.task.kind == SEQUENCE:
            result.accuracy_by_length = {
                length: 1.0 - float(np.mean(sample.wrong)) for length, sample in accuracy_sample(ctx).items()
            }
            return result
        if ctx.evaluator.sweep_symbols(space) <= ctx.exhaustive_budget:
            lengths, pattern = space.lengths, ctx.pattern
            targets = np.asarray(pattern.symbols)[(np.arange(pattern.period)[:, None] + np.asarray(lengths)[None, :]) % pattern.period]
            correct = ctx.evaluator.predicted_at(lengths) == targets  # (phases, lengths)
            result.correct_by_length = dict(zip(lengths, map(tuple, correct.T.tolist())))
            result.accuracy_by_length = dict(zip(lengths, correct.mean(axis=0).tolist()))
        return result


length_generalization = LengthGeneralization()
