"""Patterns, streams, windows and targets, exactly as docs/concepts.md defines them.

- pattern: the repeating unit, symbols from an alphabet ``{0..k-1}``; always reduced to its
  primitive period (``0101`` is the pattern ``01``, period 2).
- stream: ``s[t] = pattern[t mod p]``.
- window(phase, length): ``s[phase : phase+length]``; its target is ``s[phase+length]``.
- min context: the smallest length at which every window of the stream determines its target.
  Shorter windows are ambiguous, and no oracle ever judges them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from seqcheck.errors import invalid

_SEPARATED = re.compile(r"^\d+(?:(?P<sep>[,\s])\s*\d+)*$")


def _parse_symbols(text: str) -> list[int]:
    text = text.strip()
    if not text:
        raise invalid("pattern", text, "at least two symbols, like '11000' or '0,1,2,2'", "give the repeating unit")
    if text.isdigit():
        return [int(ch) for ch in text]
    match = _SEPARATED.match(text)
    if not match:
        raise invalid(
            "pattern",
            text,
            "digits like '11000', or numbers separated by one kind of separator like '0,1,2,2' or '0 1 2 2'",
            "write the symbols as non-negative integers with a single separator",
        )
    separators = set(re.findall(r"[,\s]", re.sub(r",\s+", ",", text)))
    if len(separators) > 1:
        raise invalid("pattern", text, "one kind of separator (commas or spaces)", "do not mix separators")
    return [int(tok) for tok in re.split(r"[,\s]+", text)]


def primitive_period(symbols: Sequence[int]) -> int:
    """The smallest ``q`` dividing ``len(symbols)`` such that the sequence is its first ``q`` symbols repeated."""
    n = len(symbols)
    for q in range(1, n + 1):
        if n % q == 0 and all(symbols[i] == symbols[i % q] for i in range(n)):
            return q
    return n


@dataclass(frozen=True)
class Pattern:
    """A primitive repeating pattern over the alphabet ``{0..alphabet_size-1}``.

    Build one with :meth:`Pattern.parse` (from text or a sequence): it validates the symbols and
    reduces the pattern to its primitive period, remembering what the user wrote in ``given``.
    """

    symbols: tuple[int, ...]
    alphabet_size: int
    given: str = field(default="", compare=False)
    given_length: int = field(default=0, compare=False)

    @classmethod
    def parse(cls, pattern: str | Iterable[int] | Pattern, *, alphabet_size: int | None = None) -> Pattern:
        if isinstance(pattern, Pattern):
            if alphabet_size is None or alphabet_size == pattern.alphabet_size:
                return pattern
            return cls.parse(pattern.symbols, alphabet_size=alphabet_size)
        if isinstance(pattern, str):
            given = pattern.strip()
            symbols = _parse_symbols(pattern)
        else:
            try:
                symbols = [int(s) for s in pattern]
            except (TypeError, ValueError):
                raise invalid("pattern", pattern, "a string like '11000' or a sequence of integers", "pass the symbols") from None
            given = ",".join(map(str, symbols)) if any(s > 9 for s in symbols) else "".join(map(str, symbols))
        if not symbols:
            raise invalid("pattern", given, "at least two symbols", "give the repeating unit, like '11000'")
        if min(symbols) < 0:
            raise invalid("pattern", given, "symbols in {0..k-1}", "use non-negative integers")
        if alphabet_size is None:
            alphabet_size = max(2, max(symbols) + 1)
        elif alphabet_size < 2:
            raise invalid("alphabet_size", alphabet_size, "at least 2", "count the symbols the model can predict")
        if max(symbols) >= alphabet_size:
            raise invalid(
                "pattern", given, f"symbols in {{0..{alphabet_size - 1}}} for alphabet_size={alphabet_size}",
                f"raise alphabet_size to {max(symbols) + 1} or fix the pattern",
            )
        period = primitive_period(symbols)
        if period == 1:
            raise invalid(
                "pattern", given, "a period of at least 2 (a constant stream tests nothing)",
                "give a pattern with at least two different symbols, like '01'",
            )
        return cls(tuple(symbols[:period]), alphabet_size, given, len(symbols))

    # -- the words of docs/concepts.md -----------------------------------------------------------

    @property
    def period(self) -> int:
        return len(self.symbols)

    @property
    def was_reduced(self) -> bool:
        """True when what the user gave was a repetition of a shorter primitive pattern."""
        return self.given_length > self.period

    @property
    def text(self) -> str:
        """The pattern as the CLI accepts it: ``11000``, or ``0,1,10`` when a symbol has two digits."""
        if self.alphabet_size <= 10:
            return "".join(map(str, self.symbols))
        return ",".join(map(str, self.symbols))

    def __str__(self) -> str:
        return self.text

    def stream(self, start: int, stop: int) -> np.ndarray:
        """``s[start:stop]`` as an int64 array."""
        return np.asarray(self.symbols, dtype=np.int64)[np.arange(start, stop) % self.period]

    def window(self, phase: int, length: int) -> np.ndarray:
        """``s[phase : phase+length]``."""
        return self.stream(phase, phase + length)

    def target(self, phase: int, length: int) -> int:
        """``s[phase+length]``: the symbol that follows ``window(phase, length)``."""
        return self.symbols[(phase + length) % self.period]

    def windows(self, length: int) -> np.ndarray:
        """All ``period`` windows of one length, row ``phase`` being ``window(phase, length)``: ``(p, L)``."""
        idx = (np.arange(self.period)[:, None] + np.arange(length)[None, :]) % self.period
        return np.asarray(self.symbols, dtype=np.int64)[idx]

    def targets(self, length: int) -> np.ndarray:
        """Targets of :meth:`windows` ``(p,)``."""
        return np.asarray(self.symbols, dtype=np.int64)[(np.arange(self.period) + length) % self.period]

    @cached_property
    def min_context(self) -> int:
        """The smallest length at which every window of the stream determines its target.

        For a primitive pattern the ``p`` windows of length ``p`` are its distinct rotations, so the
        answer is at most ``p``.
        """
        for length in range(1, self.period + 1):
            seen: dict[tuple[int, ...], int] = {}
            if all(
                seen.setdefault(tuple(self.window(phase, length)), self.target(phase, length)) == self.target(phase, length)
                for phase in range(self.period)
            ):
                return length
        return self.period  # unreachable for a primitive pattern
