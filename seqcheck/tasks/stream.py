"""The stream task: windows of one periodic stream, each asked for the next symbol.

It is the task a ``pattern`` names (``--pattern 11000``): its inputs are the windows
``window(phase, length)`` of the pattern's stream (:mod:`seqcheck.tasks.patterns`), its classes the
pattern's alphabet, and its oracle the next symbol of the stream.  Phase-shift invariance and periodic
consistency are defined on it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from seqcheck.errors import invalid
from seqcheck.tasks.base import STREAM, Task
from seqcheck.tasks.patterns import Pattern

__all__ = ["StreamTask"]


class StreamTask(Task):
    """Next-symbol prediction on the stream of ``pattern``."""

    kind = STREAM
    name = "periodic-stream"

    def __init__(self, pattern: Pattern):
        self.pattern = pattern
        self.symbols = self.classes = tuple(str(s) for s in range(pattern.alphabet_size))

    def target(self, sequence: Sequence[int]) -> int:
        """The symbol that follows ``sequence`` in the stream; an error if it is no window of the stream at least
        the min context long (shorter windows are ambiguous)."""
        window = np.asarray(sequence, dtype=np.int64)
        length = len(window)
        if length >= self.pattern.min_context:
            for phase in range(self.pattern.period):
                if np.array_equal(self.pattern.window(phase, length), window):
                    return self.pattern.target(phase, length)
        raise invalid(
            "sequence", list(window[:20]), f"a window of pattern {self.pattern}'s stream of at least {self.pattern.min_context}"
            " symbols", "ask for windows of the stream",
        )

    def text(self, sequence: Sequence[int]) -> str:
        return " ".join(str(int(s)) for s in sequence)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "pattern": self.pattern.text}

    def __repr__(self) -> str:
        return f"<stream task: pattern {self.pattern}>"
