"""Batch invariance."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from seqcheck import strategies
from seqcheck.search.evaluation import decide
from seqcheck.invariants.base import Case, Context, Counterexample, Form, Invariant, Prediction
from seqcheck.invariants.sequence_forms import batch_cap, sequence_prediction
from seqcheck.tasks.base import SEQUENCE

NAME, TITLE = "batch_invariance", "batch invariance"
DEFAULT_ATOL = 1e-5
MAX_BATCH = 64


def probability_gap(batched: np.ndarray, alone: np.ndarray) -> np.ndarray:
    """Per row, the largest difference between its probabilities in a batch and alone: 0 where they are equal (NaN and
    infinity included, when both sides give the same), infinity where one side is non-finite and the other is not."""
    same = (batched == alone) | (np.isnan(batched) & np.isnan(alone))
    with np.errstate(invalid="ignore"):
        gap = np.where(same, 0.0, np.abs(batched - alone))
    return np.where(np.isfinite(gap), gap, np.inf).max(axis=1)


class _AnyBatch(Form):
    """Cases ``(length, phases)``: the stream windows of one length at ``phases``, as one batch.

    Each window's probabilities in the batch must match its probabilities alone (a batch of one)
    within ``atol``.  Hypothesis draws the batch's size, order and neighbours (repeats included)
    and shrinks to the length nearest the training length, then the smallest batch.  The space of
    batches is not finite, so this form is searched by Hypothesis alone (never ``exhaustive``).
    Both sides run in the model's own framework (``predict_proba(..., native=True)``), never through
    an adapter's faster equivalent: how the framework batches is what this form tests.
    """

    name = "label-free"

    def __init__(self, atol: float):
        self.atol = atol

    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        space = ctx.space
        lengths = strategies.lengths(min_length=space.min_length, max_length=space.max_length, train_length=space.train_length)
        batch = st.lists(strategies.phases(ctx.pattern), min_size=2, max_size=MAX_BATCH).map(tuple)
        return st.tuples(lengths, batch)

    def key(self, ctx: Context, case: Case) -> tuple:
        length, phases = case
        return (*ctx.space.length_key(length), len(phases), phases)

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return len(case[1])

    def _alone(self, ctx: Context, length: int) -> np.ndarray:
        """Probabilities of every phase at ``length``, each computed in a batch of one (memoized)."""
        alone = ctx.extra.setdefault("batch_of_one", {})
        if length not in alone:
            windows = ctx.pattern.windows(length)
            alone[length] = np.concatenate([ctx.evaluator.model.predict_proba(w[None], native=True) for w in windows])
        return alone[length]

    def deviation(self, ctx: Context, case: Case) -> tuple[np.ndarray, np.ndarray]:
        """(batched probabilities, absolute deviation from alone) per member of the batch."""
        length, phases = case
        idx = np.asarray(phases)
        batched = ctx.evaluator.model.predict_proba(ctx.pattern.windows(length)[idx], native=True)
        return batched, probability_gap(batched, self._alone(ctx, length)[idx])

    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        return np.array([bool((self.deviation(ctx, case)[1] > self.atol).any()) for case in cases])

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        length, phases = case
        batched, deviation = self.deviation(ctx, case)
        member = int(np.argmax(deviation > self.atol))
        phase = phases[member]
        symbols = tuple(int(s) for s in ctx.pattern.window(phase, length))
        expected = ctx.pattern.target(phase, length)

        def prediction(probs: np.ndarray) -> Prediction:
            predicted, confidence = decide(probs[None])
            return Prediction(symbols, length, phase, expected, int(predicted[0]), float(confidence[0]))

        in_batch = prediction(batched[member])
        alone = prediction(self._alone(ctx, length)[phase])
        detail = (
            f"in a batch of {len(phases)} windows (phases {', '.join(map(str, phases))}), member {member}"
            f" differs from the same window alone by {deviation[member]:.3g} > atol={self.atol:g}"
        )
        return Counterexample(NAME, self.name, in_batch, alone, relation="the same window alone", detail=detail)


class _AnyInputBatch(Form):
    """Cases ``(length, inputs)``: a batch of a sequence task's inputs of one length (two or more).

    As for stream windows: each input's probabilities in the batch must match its probabilities alone
    within ``atol``, both computed in the model's own framework; searched by Hypothesis alone.
    """

    name = "label-free"
    kind = SEQUENCE

    def __init__(self, atol: float):
        self.atol = atol

    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        task = ctx.task

        def of_length(length: int) -> st.SearchStrategy[Case]:
            batch = st.lists(task.inputs(length), min_size=2, max_size=max(2, batch_cap(length)))
            return batch.map(lambda rows: (length, np.stack(rows)))

        return st.sampled_from(ctx.space.lengths).flatmap(of_length)

    def key(self, ctx: Context, case: Case) -> tuple:
        length, inputs = case
        return (length, len(inputs), *(int(s) for s in inputs.ravel()))

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return len(case[1])

    def _alone(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        alone = ctx.extra.setdefault("input_alone", {})
        key = x.tobytes()
        if key not in alone:
            alone[key] = ctx.evaluator.model.predict_proba(x[None], native=True)[0]
        return alone[key]

    def deviation(self, ctx: Context, case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(batched probabilities, alone probabilities, absolute deviation) per member of the batch."""
        _, inputs = case
        batched = ctx.evaluator.model.predict_proba(inputs, native=True)
        alone = np.stack([self._alone(ctx, x) for x in inputs])
        return batched, alone, probability_gap(batched, alone)

    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        return np.array([bool((self.deviation(ctx, case)[2] > self.atol).any()) for case in cases])

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        _, inputs = case
        batched, alone, deviation = self.deviation(ctx, case)
        member = int(np.argmax(deviation > self.atol))

        def prediction(probs: np.ndarray) -> Prediction:
            predicted, confidence = decide(probs[None])
            return sequence_prediction(ctx, inputs[member], int(predicted[0]), float(confidence[0]))

        detail = (
            f"in a batch of {len(inputs)} inputs, member {member} differs from the same input alone by"
            f" {deviation[member]:.3g} > atol={self.atol:g}"
        )
        return Counterexample(NAME, self.name, prediction(batched[member]), prediction(alone[member]), relation="the same input alone", detail=detail)


class BatchInvariance(Invariant):
    """A window's (or an input's) prediction does not depend on its batch.

    Label-free form: the probabilities the model gives a window in a batch (any size, order and
    neighbours) equal those it gives the window alone, within ``atol`` (default 1e-5).  On a
    sequence task, the same of its inputs.
    """

    name, title = NAME, TITLE

    def __init__(self, atol: float = DEFAULT_ATOL):
        self.atol = atol
        self.forms = (_AnyBatch(atol), _AnyInputBatch(atol))


batch_invariance = BatchInvariance()
