"""Metamorphic relations."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from seqcheck.invariants.base import Case, Context, Counterexample, Form, Invariant, Sweep
from seqcheck.invariants.sequence_forms import (
    SequenceForm, batch_cap, every_input_classes, first_violation, new_sweep_cost, one_symbol_a_byte, predict_one,
    replay_and_shrink,
)
from seqcheck.search.evaluation import INVALID
from seqcheck.tasks.base import SEQUENCE, Task
from seqcheck.tasks.relations import Relation

NAME, TITLE = "metamorphic_relations", "metamorphic relations"


class _Related(SequenceForm):
    """Cases ``(length, inputs, parameters)``: a batch of pairs ``(x, q)``; the model gives ``related(x, q)`` the class
    it gives ``x``.  Ordered by ``x`` (shortlex), then ``q``."""

    def __init__(self, relation: Relation):
        self.relation = relation
        self.name = relation.name

    def _applies(self, ctx: Context, length: int) -> bool:
        """Whether inputs of ``length`` have related inputs within the range."""
        return (
            self.relation.related_length(length) <= ctx.space.max_length
            and self.relation.parameters(length, ctx.task.input_size) is not None
        )

    def _lengths(self, ctx: Context) -> list[int]:
        return [length for length in ctx.space.lengths if self._applies(ctx, length)]

    def inapplicable(self, ctx: Context) -> str | None:
        if self._lengths(ctx):
            return None
        return f"no length of {ctx.space.min_length}..{ctx.space.max_length} has a related input within the range"

    def search(self, ctx: Context, violated) -> Case | None:
        """Where the task's inputs pack into bytes: Hypothesis draws batches of pairs, each batch's inputs as one block
        of bytes (generation only), then shrinks the first failing batch's smallest broken pair on its own (its
        input one symbol a byte, then the relation's parameters, as :meth:`Relation.parameters` draws them).
        Otherwise it draws pairs one by one and shrinks the batch (:meth:`Form.search`)."""
        task, lengths = ctx.task, self._lengths(ctx)
        if task.packing(lengths[0]) is None:
            return super().search(ctx, violated)
        k = task.input_size

        def of_length(length: int) -> st.SearchStrategy[Case]:
            packing, size = task.packing(length), batch_cap(length)
            inputs = st.binary(min_size=size * packing.width, max_size=size * packing.width)
            parameters = st.lists(self.relation.parameters(length, k), min_size=size, max_size=size)
            return st.tuples(inputs, parameters).map(
                lambda drawn: (length, packing.decode(drawn[0], size), tuple(tuple(q) for q in drawn[1]))
            )

        batch = first_violation(ctx, st.sampled_from(lengths).flatmap(of_length), violated)
        if batch is None:
            return None
        length, xs, qs = self.narrow(ctx, batch)
        x, q = xs[0], qs[0]
        pair = st.sampled_from(lengths).flatmap(
            lambda n: st.tuples(one_symbol_a_byte(task, n), self.relation.parameters(n, k))
        )
        choices = (lengths.index(length), task.packing(length, per_byte=1).encode(x), *q)
        shrunk = replay_and_shrink(ctx, pair, choices, lambda drawn: violated((len(drawn[0]), drawn[0][None], (tuple(drawn[1]),))))
        if shrunk is None:
            return (length, xs, qs)
        y, r = shrunk
        return (len(y), np.asarray(y)[None], (tuple(r),))

    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        task = ctx.task

        def of_length(length: int) -> st.SearchStrategy[Case]:
            pair = st.tuples(task.inputs(length), self.relation.parameters(length, task.input_size))
            return st.integers(1, batch_cap(length)).flatmap(
                lambda size: st.lists(pair, min_size=size, max_size=size).map(
                    lambda pairs: (length, np.stack([x for x, _ in pairs]), tuple(tuple(q) for _, q in pairs))
                )
            )

        return st.sampled_from(self._lengths(ctx)).flatmap(of_length)

    @staticmethod
    def _pair_key(length: int, x: np.ndarray, q: tuple[int, ...]) -> tuple:
        return (length, *(int(s) for s in x), *q)

    def key(self, ctx: Context, case: Case) -> tuple:
        length, xs, qs = case
        return min(self._pair_key(length, x, q) for x, q in zip(xs, qs))

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return 2 * len(case[1])

    def _broken(self, ctx: Context, xs: np.ndarray, qs: list[tuple[int, ...]], *, remember: bool = True) -> np.ndarray:
        """Which pairs ``(xs[i], qs[i])`` get different classes (or a non-finite output)."""
        related = self.relation.related_batch(xs, qs)
        _, before, _ = ctx.evaluator.classes(xs, remember=remember)
        _, after, _ = ctx.evaluator.classes(related, remember=remember)
        return (before != after) | (before == INVALID) | (after == INVALID)

    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        return np.array([bool(self._broken(ctx, xs, list(qs)).any()) for _, xs, qs in cases])

    def narrow(self, ctx: Context, case: Case) -> Case:
        length, xs, qs = case
        broken = self._broken(ctx, xs, list(qs))
        i = min(np.flatnonzero(broken), key=lambda i: self._pair_key(length, xs[i], qs[i]))
        return (length, xs[i][None], (qs[i],))

    def length_cost(self, ctx: Context, length: int) -> int:
        if not self._applies(ctx, length):
            return 0
        return new_sweep_cost(ctx, length, self.relation.related_length(length))

    def sweep_length(self, ctx: Context, length: int, outcome: Sweep) -> None:
        """Every input of ``length`` and of the related length is evaluated once (shared with the other sweeps);
        each pair ``(x, q)`` is then judged by looking up the related input's class by its shortlex rank."""
        if not self._applies(ctx, length):
            return
        task = ctx.task
        before = every_input_classes(ctx, length)
        after = every_input_classes(ctx, self.relation.related_length(length))
        parameters = self.relation.all_parameters(length, task.input_size)
        start = 0
        for block in task.enumerate(length, block=max(1, 4096 // len(parameters))):
            xs = np.repeat(block, len(parameters), axis=0)
            qs = parameters * len(block)
            related = self.relation.related_batch(xs, qs)
            rank = task.rank(related)
            if rank is None:  # a relation that leaves the task's inputs: ask the model about those
                _, related_classes, _ = ctx.evaluator.classes(related, remember=False)
            else:
                related_classes = after[rank]
            own = np.repeat(before[start : start + len(block)], len(parameters))
            start += len(block)
            broken = (own != related_classes) | (own == INVALID) | (related_classes == INVALID)
            if broken.any():
                first = int(np.argmax(broken))
                outcome.cases += first + 1
                outcome.windows += 2 * (first + 1)
                outcome.found = (length, xs[first][None], (qs[first],))
                return
            outcome.cases += len(xs)
            outcome.windows += 2 * len(xs)

    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        _, xs, qs = case
        x, q = xs[0], qs[0]
        related = predict_one(ctx, self.relation.related(x, q))
        return Counterexample(
            NAME, self.name, predict_one(ctx, x), related, relation=self.relation.describe(q, ctx.task.symbols),
            detail=f"the task's answer is the same for both ({ctx.task.classes[ctx.task.target(tuple(int(s) for s in x))]});"
            " the model's must be too",
        )


class MetamorphicRelations(Invariant):
    """The model respects the metamorphic relations its task declares.

    One label-free form per relation of the task (:mod:`seqcheck.tasks.relations`): for every input
    ``x`` and parameters ``q``, the model gives ``related(x, q)`` the class it gives ``x`` -- no oracle
    is consulted, the model is compared with itself.  Parity and cycle navigation declare permutation
    invariance (as swaps of two positions) and the insertion of a neutral symbol; even pairs, the
    change of an interior symbol.  Not applicable to stream tasks, or to a task declaring no relation.
    """

    name, title = NAME, TITLE

    def forms_for(self, task: Task) -> tuple[Form, ...]:
        if task.kind != SEQUENCE:
            return ()
        return tuple(_Related(relation) for relation in getattr(task, "relations", ()))

    def inapplicable_to(self, task: Task) -> str | None:
        if task.kind != SEQUENCE:
            return f"defined on sequence tasks; task {task.name} is a {task.kind} task"
        return None if self.forms_for(task) else f"task {task.name} declares no metamorphic relations"


metamorphic_relations = MetamorphicRelations()
