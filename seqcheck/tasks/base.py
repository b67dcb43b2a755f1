"""The task abstraction: input symbols, output classes, an oracle, and how inputs of a length are drawn and listed.

A task is what a model is asked to do.  Two kinds exist:

- a *stream* task (:class:`~seqcheck.tasks.stream.StreamTask`): windows of one periodic stream, each
  predicting the next symbol -- the phase-shift, periodic-consistency world of a pattern;
- a *sequence* task (:class:`SequenceTask`): whole-sequence classification, as in Delétang et al.,
  "Neural Networks and the Chomsky Hierarchy" (ICLR 2023): any input of a length, one class out.

A sequence task's inputs of length ``L`` are the sequences whose symbol at each position ``i`` is one
of :meth:`SequenceTask.alphabet_at` ``(i, L)`` (every symbol, unless the task says otherwise), at the
lengths :meth:`SequenceTask.valid_length` accepts.  They are ordered *shortlex*: shorter first, then
lexicographically by symbol index.  That order is what "minimal counterexample" means for a sequence
task, what :meth:`SequenceTask.enumerate` walks and what :meth:`SequenceTask.inputs` shrinks toward.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st

from seqcheck.errors import first_line, invalid

__all__ = ["SequenceTask", "Task", "positional_inputs"]

STREAM, SEQUENCE = "stream", "sequence"

#: Inputs per block of :meth:`SequenceTask.enumerate`: one model call each.
ENUMERATION_BLOCK = 4096


class Task:
    """What a model is asked: sequences of :attr:`symbols` in, one of :attr:`classes` out, judged by :meth:`target`."""

    #: ``"stream"`` or ``"sequence"``: which invariants apply (each invariant's forms say which kind they check).
    kind: ClassVar[str]
    #: The stable identifier (``parity``), what ``--task`` and the report carry.
    name: str
    #: Names of the input symbols, by index: what a counterexample shows (``1 + 2 * 3``).
    symbols: tuple[str, ...]
    #: Names of the output classes, by index.
    classes: tuple[str, ...]

    def target(self, sequence: Sequence[int]) -> int:
        """The oracle: the class index the sequence must be given."""
        raise NotImplementedError

    @property
    def input_size(self) -> int:
        return len(self.symbols)

    @property
    def class_count(self) -> int:
        return len(self.classes)

    def text(self, sequence: Sequence[int]) -> str:
        """The sequence in the task's symbol names, separated by spaces."""
        return " ".join(self.symbols[int(s)] for s in sequence)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "symbols": list(self.symbols), "classes": list(self.classes)}


def _names(name: str, value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) < 1:
        raise invalid(name, value, f"a list of {what} names, like ['0', '1']", f"pass {name} as a list of strings")
    names = tuple(str(v) for v in value)
    if len(set(names)) != len(names):
        raise invalid(name, list(names), f"distinct {what} names", f"rename the repeated {what}")
    return names


class Packing:
    """How inputs with the symbol at position ``i`` drawn from ``radices[i]`` (ascending) are packed into bytes.

    As many consecutive positions as fit share one byte (eight binary symbols, five ternary ones), and a byte maps
    to those positions' symbols monotonically: the number ``byte * product // 256`` written in mixed radix, most
    significant first.  A smaller byte is a shortlex-smaller run of symbols, so shrinking a byte shrinks the input
    toward the first symbols, and an input costs one Hypothesis draw per byte rather than one per symbol.
    """

    def __init__(self, radices: Sequence[Sequence[int]], *, per_byte: int = 256):
        self.sizes = [len(allowed) for allowed in radices]
        self.tables = [np.asarray(allowed, dtype=np.int64) for allowed in radices]
        self.groups: list[tuple[int, int]] = []  # (start, stop) of the positions packed into one byte
        start = 0
        while start < len(self.sizes):
            stop, product = start, 1
            while stop < len(self.sizes) and (stop == start or (product * self.sizes[stop] <= 256 and stop - start < per_byte)):
                product *= self.sizes[stop]
                stop += 1
            self.groups.append((start, stop))
            start = stop
        self.products = np.array([math.prod(self.sizes[a:b]) for a, b in self.groups], dtype=np.int64)

    @property
    def width(self) -> int:
        """Bytes per input."""
        return len(self.groups)

    def decode(self, data: bytes, count: int = 1) -> np.ndarray:
        """``count`` inputs ``(count, L)`` from ``count * width`` bytes."""
        values = np.frombuffer(data, dtype=np.uint8).astype(np.int64).reshape(count, self.width) * self.products >> 8
        out = np.empty((count, len(self.sizes)), dtype=np.int64)
        for group, (a, b) in enumerate(self.groups):
            value = values[:, group]
            for position in range(b - 1, a - 1, -1):
                value, digit = np.divmod(value, self.sizes[position])
                out[:, position] = self.tables[position][digit]
        return out

    def encode(self, x: Sequence[int]) -> bytes:
        """The smallest bytes that :meth:`decode` to the input ``x`` (each of whose symbols must be allowed)."""
        out = bytearray()
        for (a, b), product in zip(self.groups, self.products.tolist()):
            value = 0
            for position in range(a, b):
                value = value * self.sizes[position] + int(np.searchsorted(self.tables[position], x[position]))
            out.append(-(-value * 256 // product))
        return bytes(out)


def positional_inputs(radices: Sequence[Sequence[int]]) -> st.SearchStrategy[np.ndarray]:
    """Inputs with the symbol at position ``i`` drawn from ``radices[i]`` (ascending), as an int64 array, packed as
    :class:`Packing` says: shrinking goes toward the shortlex minimum."""
    packing = Packing(radices)
    return st.binary(min_size=packing.width, max_size=packing.width).map(lambda data: packing.decode(data)[0])


def _first_paragraph(doc: str | None) -> str:
    """A docstring's first paragraph as one line of plain text (for ``seqcheck tasks`` and reports)."""
    paragraph = (doc or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines()).replace("``", "")


class SequenceTask(Task):
    """A whole-sequence classification task: an input of any valid length, one class out.

    Built from a few lines of Python::

        majority = SequenceTask(
            "majority", symbols=["0", "1"], classes=["more 0s", "more 1s"],
            target=lambda seq: int(2 * sum(seq) > len(seq)),
        )

    ``target(sequence)`` is the oracle, given a tuple of symbol indices.  Optional: ``targets(batch)``, the
    same oracle vectorized over an int array ``(B, L)`` (faster; by default ``target`` is called per row);
    ``inputs(length)``, a Hypothesis strategy of the inputs of a length (by default every symbol at every
    position, drawn as :func:`positional_inputs` does, which shrinks toward the shortlex minimum);
    ``alphabet_at(position, length)``, the symbols allowed at a position; ``valid_length(length)``;
    ``sample(rng, n, length)``, ``n`` random inputs for accuracy tables and training; ``relations``, the
    metamorphic relations the task's answer obeys (:mod:`seqcheck.tasks.relations`).
    """

    kind = SEQUENCE

    def __init__(
        self,
        name: str,
        *,
        symbols: Sequence[str],
        classes: Sequence[str],
        target: Callable[[tuple[int, ...]], int] | None = None,
        targets: Callable[[np.ndarray], np.ndarray] | None = None,
        inputs: Callable[[int], st.SearchStrategy] | None = None,
        alphabet_at: Callable[[int, int], Sequence[int]] | None = None,
        valid_length: Callable[[int], bool] | None = None,
        sample: Callable[[np.random.Generator, int, int], np.ndarray] | None = None,
        relations: Sequence[object] = (),
        description: str = "",
    ):
        if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
            raise invalid("name", name, "a task identifier without spaces, like 'majority'", "name the task")
        if target is None and targets is None:
            raise invalid("target", None, "the task's oracle: target(sequence) -> class index", "pass target=")
        self.name = name
        self.symbols = _names("symbols", symbols, "symbol")
        self.classes = _names("classes", classes, "class")
        self._target, self._targets = target, targets
        self._inputs, self._alphabet_at, self._valid_length, self._sample = inputs, alphabet_at, valid_length, sample
        self.relations = tuple(relations)
        self.description = description or _first_paragraph(type(self).__doc__ if type(self) is not SequenceTask else "")

    # -- the oracle ------------------------------------------------------------------------------

    def target(self, sequence: Sequence[int]) -> int:
        return int(self.targets(np.asarray(sequence, dtype=np.int64)[None])[0])

    def targets(self, batch: np.ndarray) -> np.ndarray:
        """The oracle on every row of ``batch`` ``(B, L)``: class indices ``(B,)``.

        The task's own code is the user's: an oracle that raises, or gives anything but a class index
        ``0..len(classes)-1`` for each row, is a one-line error naming the task and the input."""
        batch = np.asarray(batch, dtype=np.int64)
        row = None
        try:
            if self._targets is not None:
                raw = np.asarray(self._targets(batch))
            else:
                raw = np.empty(len(batch), dtype=object)
                for row in range(len(batch)):
                    raw[row] = self._target(tuple(int(s) for s in batch[row]))
                row = None
                raw = np.asarray(raw.tolist())
        except Exception as exc:  # the user's oracle: one line, not their traceback
            where = f"input {self.text(batch[row])}" if row is not None else f"a batch of {len(batch)} inputs of length {batch.shape[1]}"
            raise invalid(
                "task", self.name, f"an oracle that answers every input, but it raised {type(exc).__name__}: {first_line(exc)}"
                f" on {where}", "fix the task's target",
            ) from None
        if raw.shape != (len(batch),):
            raise invalid(
                "task", self.name, f"an oracle giving one class per input, but it gave shape {raw.shape} for {len(batch)} inputs",
                "return one class index per row",
            )
        numeric = raw.dtype.kind in "iub" or (raw.dtype.kind == "f" and bool(np.isfinite(raw).all()))
        wrong = np.ones(len(raw), dtype=bool) if not numeric else (raw != np.round(raw)) | (raw < 0) | (raw >= self.class_count)
        if wrong.any():
            first = int(np.argmax(wrong))
            raise invalid(
                "task", self.name, f"an oracle giving a class index 0..{self.class_count - 1}, but target({self.text(batch[first])})"
                f" = {getattr(raw[first], 'item', lambda: raw[first])()!r}", "return the index of one of the task's classes",
            )
        return raw.astype(np.int64)

    # -- the inputs ------------------------------------------------------------------------------

    def valid_length(self, length: int) -> bool:
        """Whether the task has inputs of ``length`` (modular arithmetic: odd lengths only)."""
        return length >= 1 and (self._valid_length is None or bool(self._valid_length(length)))

    def alphabet_at(self, position: int, length: int) -> tuple[int, ...]:
        """The symbols allowed at ``position`` of an input of ``length``, ascending."""
        if self._alphabet_at is None:
            return tuple(range(self.input_size))
        return tuple(sorted(int(s) for s in self._alphabet_at(position, length)))

    def radices(self, length: int) -> list[tuple[int, ...]]:
        return [self.alphabet_at(position, length) for position in range(length)]

    def count(self, length: int) -> int:
        """How many inputs of ``length`` there are (0 at an invalid length)."""
        if not self.valid_length(length):
            return 0
        return math.prod(len(allowed) for allowed in self.radices(length))

    def inputs(self, length: int) -> st.SearchStrategy[np.ndarray]:
        """Inputs of ``length`` as a Hypothesis strategy of int64 arrays, shrinking toward the shortlex minimum."""
        if self._inputs is not None:
            return self._inputs(length).map(lambda seq: np.asarray(seq, dtype=np.int64).reshape(length))
        return positional_inputs(self.radices(length))

    def packing(self, length: int, *, per_byte: int = 256) -> Packing | None:
        """How :meth:`inputs` packs an input of ``length`` into bytes (``per_byte=1``: one symbol a byte), or ``None``
        for a task drawing its own inputs."""
        return None if self._inputs is not None else Packing(self.radices(length), per_byte=per_byte)

    def enumerate(self, length: int, *, block: int = ENUMERATION_BLOCK) -> Iterator[np.ndarray]:
        """Every input of ``length`` in shortlex order, in blocks ``(<= block, L)`` (mixed-radix counting)."""
        radices = self.radices(length)
        sizes = np.array([len(allowed) for allowed in radices], dtype=object)
        total = self.count(length)
        tables = [np.asarray(allowed, dtype=np.int64) for allowed in radices]
        for start in range(0, total, block):
            index = np.arange(start, min(total, start + block), dtype=np.int64)
            out = np.empty((len(index), length), dtype=np.int64)
            for position in range(length - 1, -1, -1):
                index, digit = np.divmod(index, int(sizes[position]))
                out[:, position] = tables[position][digit]
            yield out

    def rank(self, batch: np.ndarray) -> np.ndarray | None:
        """Each row's place among the inputs of its length in shortlex order (what :meth:`enumerate` counts), or ``None``
        if some row is no input of the task (a symbol not allowed at its position)."""
        batch = np.asarray(batch, dtype=np.int64)
        length = batch.shape[1]
        rank = np.zeros(len(batch), dtype=np.int64)
        for position, allowed in enumerate(self.radices(length)):
            table = np.asarray(allowed, dtype=np.int64)
            digit = np.searchsorted(table, batch[:, position])
            if (digit >= len(table)).any() or (table[np.minimum(digit, len(table) - 1)] != batch[:, position]).any():
                return None
            rank = rank * len(table) + digit
        return rank

    def sample(self, rng: np.random.Generator, n: int, length: int) -> np.ndarray:
        """``n`` random inputs of ``length`` ``(n, L)``: uniform over each position's symbols unless the task says otherwise."""
        if self._sample is not None:
            return np.asarray(self._sample(rng, n, length), dtype=np.int64).reshape(n, length)
        if self._alphabet_at is None:
            return rng.integers(0, self.input_size, size=(n, length), dtype=np.int64)
        out = np.empty((n, length), dtype=np.int64)
        for position, allowed in enumerate(self.radices(length)):
            out[:, position] = np.asarray(allowed, dtype=np.int64)[rng.integers(0, len(allowed), size=n)]
        return out

    def __repr__(self) -> str:
        return f"<sequence task {self.name}: {len(self.symbols)} symbols -> {len(self.classes)} classes>"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "description": self.description, "relations": [r.name for r in self.relations]}
