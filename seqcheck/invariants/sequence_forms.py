"""What the forms over a sequence task's inputs share: batched cases, shortlex sweeps length by length.

A sequence task's input space grows exponentially with the length, so no sweep covers a long range.
Each Hypothesis example is a *batch* of inputs of one length, fed to the model in one call; the case
violates the form if any member does, and Hypothesis shrinks it to one member and that member toward the
shortlex minimum.  Where a task's inputs are packed into bytes (:class:`~seqcheck.tasks.base.Packing`),
a batch is drawn as one block of bytes, so that generating it costs little beside the model's call
(:func:`packed_batches`); its first failing input is then handed to Hypothesis to shrink on its own
(:func:`shrink_input`).  :meth:`SequenceForm.sweep` then walks the lengths from the shortest, every input of a
length in shortlex order, for as many lengths as the check's ``exhaustive_budget`` allows: the first
violation met is the minimum, and a length swept whole without one is proven to hold
(:attr:`~seqcheck.invariants.base.FormResult.exhaustive_through`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from random import Random

import numpy as np
from hypothesis import Phase, find, settings
from hypothesis import strategies as st
from hypothesis.database import InMemoryExampleDatabase, choices_to_bytes
from hypothesis.errors import NoSuchExample

from seqcheck.invariants.base import Context, Form, Prediction, Sweep
from seqcheck.search.evaluation import INVALID
from seqcheck.tasks.base import SEQUENCE

#: A batch holds at most this many inputs, and at most :data:`BATCH_SYMBOLS` symbols in all.
MAX_BATCH = 64
BATCH_SYMBOLS = 1 << 15
#: Inputs per length in the accuracy table; a length with at most this many inputs is evaluated whole.
SAMPLES_PER_LENGTH = 128


def batch_cap(length: int) -> int:
    return max(1, min(MAX_BATCH, BATCH_SYMBOLS // max(1, length)))


def shortlex_first(rows: np.ndarray) -> int:
    """Index of the lexicographically smallest row of ``rows`` (one length)."""
    return int(np.lexsort(rows.T[::-1])[0])


def input_batches(ctx: Context, lengths: st.SearchStrategy[int]) -> st.SearchStrategy[tuple[int, np.ndarray]]:
    """Cases ``(length, inputs (B, L))``: a length, then a batch of the task's inputs of that length.

    The batch's size is drawn first and shrinks to 1; each input shrinks toward the shortlex minimum.
    """
    task = ctx.task

    def of_length(length: int) -> st.SearchStrategy[tuple[int, np.ndarray]]:
        inputs = task.inputs(length)
        return st.integers(1, batch_cap(length)).flatmap(
            lambda size: st.lists(inputs, min_size=size, max_size=size).map(lambda rows: (length, np.stack(rows)))
        )

    return lengths.flatmap(of_length)


def packed_batches(ctx: Context, lengths: st.SearchStrategy[int]) -> st.SearchStrategy[tuple[int, np.ndarray]]:
    """Cases ``(length, inputs (B, L))`` whose batch of :func:`batch_cap` inputs is drawn as one block of bytes: one
    Hypothesis draw per batch, decoded at once.  For tasks whose inputs pack into bytes only."""
    task = ctx.task

    def of_length(length: int) -> st.SearchStrategy[tuple[int, np.ndarray]]:
        packing, size = task.packing(length), batch_cap(length)
        width = size * packing.width
        return st.binary(min_size=width, max_size=width).map(lambda data: (length, packing.decode(data, size)))

    return lengths.flatmap(of_length)


def first_violation(ctx: Context, strategy: st.SearchStrategy, violated: Callable[[object], bool]) -> object | None:
    """The first case of ``strategy`` that violates, by Hypothesis's generation alone (no shrinking: a batch's smallest
    failing member is shrunk on its own afterwards, by :func:`replay_and_shrink`), or ``None``."""
    generating = settings(ctx.search_settings, phases=[p for p in ctx.search_settings.phases if p is not Phase.shrink])
    try:
        return find(strategy, violated, settings=generating, random=Random(ctx.seed))
    except NoSuchExample:
        return None


def one_symbol_a_byte(task, length: int) -> st.SearchStrategy[np.ndarray]:
    """Inputs of ``length`` drawn one byte per symbol (:class:`~seqcheck.tasks.base.Packing` with ``per_byte=1``): what
    shrinking uses, since a shorter length then keeps the symbols before its end, and Hypothesis shrinks lengths well."""
    packing = task.packing(length, per_byte=1)
    return st.binary(min_size=length, max_size=length).map(lambda data: packing.decode(data)[0])


def replay_and_shrink(ctx: Context, strategy: st.SearchStrategy, choices: tuple, violated: Callable[[object], bool]) -> object | None:
    """Hypothesis's shrinking of the value ``strategy`` draws with ``choices``: the choices go into a private example
    database as an unshrunk failure, and Hypothesis replays them and shrinks the value as it shrinks any failure of
    its own.  ``None`` if the replayed value does not violate."""
    database, key = InMemoryExampleDatabase(), b"seqcheck.shrink"
    database.save(key + b".secondary", choices_to_bytes(choices))
    shrinking = settings(ctx.search_settings, database=database, derandomize=False, phases=(Phase.reuse, Phase.shrink))
    try:
        return find(strategy, violated, settings=shrinking, database_key=key)  # a seed would skip the database
    except NoSuchExample:
        return None


def shrink_input(ctx: Context, x: np.ndarray, violated: Callable[[tuple[int, np.ndarray]], bool]) -> tuple[int, np.ndarray]:
    """Hypothesis's shrinking of one violating input ``x``, over the inputs of every length of the range
    (:func:`replay_and_shrink` of a length, then :func:`one_symbol_a_byte`).  Returns the case ``(length, input[None])``;
    ``x`` itself if it no longer violates."""
    task, lengths = ctx.task, ctx.space.lengths
    strategy = st.sampled_from(lengths).flatmap(lambda length: one_symbol_a_byte(task, length))
    choices = (lengths.index(len(x)), task.packing(len(x), per_byte=1).encode(x))
    y = replay_and_shrink(ctx, strategy, choices, lambda y: violated((len(y), y[None])))
    y = x if y is None else y
    return (len(y), np.asarray(y)[None])


def sequence_prediction(ctx: Context, x: np.ndarray, predicted: int, confidence: float) -> Prediction:
    """One input the model was asked about, in the task's names."""
    task = ctx.task
    symbols = tuple(int(s) for s in x)
    return Prediction(
        symbols=symbols, length=len(symbols), phase=None, expected=task.target(symbols), predicted=int(predicted),
        confidence=float(confidence), text=task.text(symbols), class_names=task.classes,
    )


def predict_one(ctx: Context, x: np.ndarray) -> Prediction:
    """The model's prediction for one input (memoized)."""
    _, predicted, confidence = ctx.evaluator.classes(np.asarray(x, dtype=np.int64)[None])
    return sequence_prediction(ctx, x, predicted[0], confidence[0])


def every_input_classes(ctx: Context, length: int) -> np.ndarray:
    """The class the model gives every input of ``length``, in shortlex order (:data:`INVALID` for a non-finite
    output): computed once per check, so that every form's sweep of a length shares one pass over it."""
    table = ctx.extra.setdefault("every_input_classes", {})
    if length not in table:
        table[length] = np.concatenate([ctx.evaluator.classes(block, remember=False)[1] for block in ctx.task.enumerate(length)])
    return table[length]


def new_sweep_cost(ctx: Context, *lengths: int) -> int:
    """The symbols :func:`every_input_classes` has yet to feed the model for ``lengths``."""
    known = ctx.extra.get("every_input_classes", {})
    return sum(ctx.task.count(length) * length for length in set(lengths) if length not in known)


def wrong(ctx: Context, inputs: np.ndarray, *, remember: bool = True) -> np.ndarray:
    """Which ``inputs`` (one length) the model does not give their target class (a non-finite output included)."""
    _, predicted, _ = ctx.evaluator.classes(inputs, remember=remember)
    return (predicted == INVALID) | (predicted != ctx.task.targets(inputs))


class SequenceForm(Form):
    """A form over a sequence task's inputs, swept length by length in shortlex order."""

    kind = SEQUENCE
    finite = True

    def length_cost(self, ctx: Context, length: int) -> int:
        """The symbols a sweep of every case of ``length`` feeds the model (beyond what earlier sweeps of the check did)."""
        raise NotImplementedError

    def sweep_length(self, ctx: Context, length: int, outcome: Sweep) -> None:
        """Judge every case of ``length`` in key order, counting them in ``outcome``; set ``outcome.found`` to the first
        violating case and stop there."""
        raise NotImplementedError

    def sweep_cost(self, ctx: Context) -> int:
        """A sweep is tried when its shortest length fits the budget; it goes on while the next length fits."""
        return self.length_cost(ctx, ctx.space.lengths[0])

    def sweep(self, ctx: Context, bound: tuple | None) -> Sweep:
        """Every case of each length from the shortest, in shortlex order, while the symbols fed stay within the
        check's ``exhaustive_budget``; stops at the first violation, or after ``bound``'s length."""
        outcome = Sweep()
        spent = 0
        for length in ctx.space.lengths:
            if bound is not None and length > bound[0]:
                return outcome
            cost = self.length_cost(ctx, length)
            if spent + cost > ctx.exhaustive_budget:
                outcome.over_budget = True
                return outcome
            spent += cost
            self.sweep_length(ctx, length, outcome)
            if outcome.found is not None:
                return outcome
            outcome.through = length
        outcome.complete = True
        return outcome


def rows_key(length: int, rows: Sequence[np.ndarray] | np.ndarray) -> tuple:
    """The key of a batch: its length, then its shortlex-smallest input."""
    rows = np.asarray(rows)
    return (length, *(int(s) for s in rows[shortlex_first(rows)]))
