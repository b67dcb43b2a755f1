"""The space a check explores: a task, a range of lengths, and the order of its cases.

A stream task's space is a :class:`CheckSpace` (one pattern's windows); a sequence task's a
:class:`SequenceSpace` (every input of the task at each valid length of the range).  For a sequence
task, the documented order is *shortlex*: the shortest length first, then lexicographically by symbol
index (then, for a metamorphic relation, by the relation's parameters).

The documented order of a stream task in which counterexamples are minimal (docs/concepts.md):

1. the smallest pattern (shortest period, then lexicographically smallest symbols) -- recipe checks;
2. then the length nearest the training length ``N`` (on a tie, the longer one: ``N+d`` before
   ``N-d``, since lengths beyond training are the usual question); without a training length, the
   shortest length;
3. then, for pairs of windows, the smallest shift between them (start shift, periods prepended);
4. then the smallest phase.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqcheck.errors import invalid
from seqcheck.spelling import spell
from seqcheck.tasks.base import SequenceTask
from seqcheck.tasks.patterns import Pattern
from seqcheck.tasks.stream import StreamTask

#: Default maximum length when the user gives none: well beyond the training length.
DEFAULT_MAX_LENGTH_FACTOR = 4
DEFAULT_MAX_LENGTH_FLOOR = 40
#: Lengths beyond this are refused as a typo: a check would never finish on them.
ABSURD_LENGTH = 1_000_000


def default_max_length(pattern: Pattern, train_length: int | None) -> int:
    """``max(4 N, 40)``, and never so short that the range holds fewer than two periods."""
    base = DEFAULT_MAX_LENGTH_FACTOR * train_length if train_length else 0
    return max(base, DEFAULT_MAX_LENGTH_FLOOR, pattern.min_context + 2 * pattern.period)


def _check_lengths(**given: int | None) -> None:
    for name, value in given.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(name, value, "a whole number", f"pass {name} as an integer")
        if value < 1:
            raise invalid(name, value, "a positive length", f"give {name} of at least 1")
        if value > ABSURD_LENGTH:
            raise invalid(name, value, f"at most {ABSURD_LENGTH}", f"check {name}: no check could finish at that length")


@dataclass(frozen=True)
class CheckSpace:
    """Windows of ``pattern`` with lengths from ``min_length`` (min context) to ``max_length``."""

    pattern: Pattern
    min_length: int
    max_length: int
    train_length: int | None = None

    @classmethod
    def build(
        cls,
        pattern: Pattern,
        *,
        train_length: int | None = None,
        max_length: int | None = None,
        min_length: int | None = None,
    ) -> CheckSpace:
        _check_lengths(train_length=train_length, max_length=max_length, min_length=min_length)
        context = pattern.min_context
        if min_length is None:
            min_length = context
        elif min_length < context:
            raise invalid(
                "min_length", min_length, f"at least the min context {context} of pattern {pattern}",
                "shorter windows are ambiguous and never judged; raise min_length or omit it",
            )
        if max_length is None:
            max_length = default_max_length(pattern, train_length)
        if max_length < min_length:
            floor = spell("min_length", min_length) if min_length != context else f"{min_length} (the min context of pattern {pattern})"
            raise invalid("max_length", max_length, f"at least {floor}", f"pass {spell('max_length', min_length)} or more")
        return cls(pattern, min_length, max_length, train_length)

    @property
    def task(self) -> StreamTask:
        return StreamTask(self.pattern)

    @property
    def lengths(self) -> range:
        return range(self.min_length, self.max_length + 1)

    def length_key(self, length: int) -> tuple[int, ...]:
        """Order key of a length: nearest the training length, longer first on a tie; else shortest."""
        if self.train_length is None:
            return (length - self.min_length,)
        distance = abs(length - self.train_length)
        return (distance, 0 if length >= self.train_length else 1)

    def lengths_in_order(self, lengths: range | None = None) -> list[int]:
        return sorted(self.lengths if lengths is None else lengths, key=self.length_key)

    def sweep_symbols(self) -> int:
        """Symbols fed to the model to evaluate every phase at every length once."""
        return self.pattern.period * sum(self.lengths)

    def describe(self) -> str:
        p = self.pattern
        text = f"pattern {p} (period {p.period}, min context {p.min_context})  lengths {self.min_length}..{self.max_length}"
        if self.train_length is not None:
            text += f"  training length {self.train_length}"
        return text


@dataclass(frozen=True)
class SequenceSpace:
    """Every input of a sequence ``task`` at each valid length from ``min_length`` to ``max_length``.

    ``train_length`` is the longest length trained on (training drew lengths 1..N): what a report shades
    as the training range.
    """

    task: SequenceTask
    min_length: int
    max_length: int
    train_length: int | None = None

    @classmethod
    def build(
        cls, task: SequenceTask, *, train_length: int | None = None, max_length: int | None = None, min_length: int | None = None,
    ) -> SequenceSpace:
        _check_lengths(train_length=train_length, max_length=max_length, min_length=min_length)
        low = 1 if min_length is None else min_length
        high = max(DEFAULT_MAX_LENGTH_FACTOR * train_length if train_length else 0, DEFAULT_MAX_LENGTH_FLOOR) if max_length is None else max_length
        if high < low:
            raise invalid("max_length", high, f"at least {spell('min_length', low)}", f"pass {spell('max_length', low)} or more")
        space = cls(task, low, high, train_length)
        if not space.lengths:
            raise invalid(
                "max_length", high, f"a range {low}..{high} holding a length task {task.name} has inputs of",
                "widen the range of lengths",
            )
        return space

    @property
    def pattern(self) -> None:
        """A sequence task has no pattern."""
        return None

    @property
    def lengths(self) -> list[int]:
        """The valid lengths of the range, ascending."""
        return [length for length in range(self.min_length, self.max_length + 1) if self.task.valid_length(length)]

    def length_key(self, length: int) -> tuple[int, ...]:
        """Order key of a length: the shortest first."""
        return (length,)

    def lengths_in_order(self, lengths: list[int] | None = None) -> list[int]:
        return sorted(self.lengths if lengths is None else lengths)

    def describe(self) -> str:
        task = self.task
        text = (
            f"task {task.name} (symbols {' '.join(task.symbols)}; classes {', '.join(task.classes)})"
            f"  lengths {self.min_length}..{self.max_length}"
        )
        if self.train_length is not None:
            text += f"  trained on lengths 1..{self.train_length}"
        return text
