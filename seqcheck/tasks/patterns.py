"""Patterns, streams, windows and targets, exactly as docs/concepts.md defines them.

- pattern: the repeating unit, symbols from an alphabet ``{0..k-1}``; always reduced to its
  primitive period (``0101`` is the pattern ``01``, period 2).
- stream: ``s[t] = pattern[t mod p]``.
- window(phase, length): ``s[phase : phase+length]``; its target is ``s[phase+length]``.
- min context: the smallest length at which every window of the stream determines its target.
  Shorter windows are ambiguous, and no oracle ever judges them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from seqcheck.errors import invalid
from seqcheck.spelling import spell

__all__ = ["MAX_ALPHABET_SIZE", "MAX_PATTERN_LENGTH", "Pattern", "primitive_period"]

#: The most symbols a pattern may be given with (before its reduction to the primitive period).  The
#: checks keep the ``p`` rotations of the pattern (``p * p`` int32: 4 MiB at this bound) and ``p``
#: windows' probabilities per length checked.
MAX_PATTERN_LENGTH = 1024
#: The most symbols an alphabet may have: a one-hot input is a ``k * k`` identity (4 MiB at this
#: bound) and a length's probabilities are ``p * k`` float64 (8 MiB with the period bound).
MAX_ALPHABET_SIZE = 1024

_SEPARATED = re.compile(r"^[0-9]+(?:(?P<sep>[,\s])\s*[0-9]+)*$", re.ASCII)
_SYMBOL = re.compile(r"[0-9]+", re.ASCII)


def _shown(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, for a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _too_long(given: str) -> Exception:
    return invalid(
        "pattern", _shown(given), f"at most {MAX_PATTERN_LENGTH} symbols",
        "give one period of the pattern (seqcheck repeats it)",
    )


def _parse_symbols(text: str) -> list[int]:
    text = text.strip()
    if not text:
        raise invalid("pattern", text, "at least two symbols, like '11000' or '0,1,2,2'", "give the repeating unit")
    match = _SEPARATED.match(text)
    if not match:
        raise invalid(
            "pattern",
            _shown(text),
            "digits like '11000' (ASCII 0-9), or numbers separated by one kind of separator like '0,1,2,2' or '0 1 2 2'",
            "write the symbols as non-negative integers with a single separator",
        )
    if match.group("sep") is None:  # digits only: one symbol each
        if len(text) > MAX_PATTERN_LENGTH:
            raise _too_long(text)
        return [int(ch) for ch in text]
    tokens = [m.group() for m in itertools.islice(_SYMBOL.finditer(text), MAX_PATTERN_LENGTH + 1)]
    if len(tokens) > MAX_PATTERN_LENGTH:
        raise _too_long(text)
    separators = set(re.findall(r"[,\s]", re.sub(r",\s+", ",", text)))
    if len(separators) > 1:
        raise invalid("pattern", _shown(text), "one kind of separator (commas or spaces)", "do not mix separators")
    return [_symbol(tok) for tok in tokens]


def _symbol(token: str) -> int:
    """A symbol's value, or :data:`MAX_ALPHABET_SIZE` (to be refused) for any longer number, never parsed."""
    digits = token.lstrip("0") or "0"
    return int(digits) if len(digits) <= len(str(MAX_ALPHABET_SIZE)) else MAX_ALPHABET_SIZE


def primitive_period(symbols: Sequence[int]) -> int:
    """The smallest ``q`` dividing ``len(symbols)`` such that the sequence is its first ``q`` symbols repeated.

    From the prefix function (Knuth-Morris-Pratt), in ``O(n)``: the longest proper border of the whole
    sequence is ``n - q0``, and the sequence repeats with period ``q0`` exactly when ``q0`` divides ``n``.
    """
    n = len(symbols)
    border = [0] * n
    for i in range(1, n):
        k = border[i - 1]
        while k and symbols[i] != symbols[k]:
            k = border[k - 1]
        border[i] = k + 1 if symbols[i] == symbols[k] else 0
    q = n - border[-1] if n else 0
    return q if n and n % q == 0 else n


def _min_context(symbols: Sequence[int]) -> int:
    """The min context of a primitive pattern, in ``O(p**2)`` elementwise work and ``O(p)`` memory.

    Two windows of one length with different targets are alike exactly when the stream before their two
    targets' positions ends alike for that length.  So the min context is one more than the longest
    common suffix of the stream before two different positions ``e`` and ``e + d`` (mod ``p``); the pair
    that maximises it has different next symbols (else the suffix would go on one symbol further).  For
    a shift ``d``, the common suffix before ``e + 1`` is the run of ``True`` ending at ``e`` in
    ``eq[e] = s[e] == s[e + d]``, cyclically; primitive means some ``eq[e]`` is ``False`` for every
    ``d``, and shifts ``d`` and ``p - d`` pair the same positions.
    """
    s = np.asarray(symbols)
    p = len(s)
    at = np.arange(p)
    longest = 0
    for d in range(1, p // 2 + 1):
        eq = s == np.concatenate((s[d:], s[:d]))  # eq[e] = s[e] == s[(e + d) % p]
        start = int(eq.argmin()) + 1  # just after a mismatch, so that no run wraps past the end
        run = np.concatenate((eq[start:], eq[:start]))
        last_mismatch = np.maximum.accumulate(np.where(run, -1, at))
        longest = max(longest, int((at - last_mismatch).max()))
    return longest + 1


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
                symbols = [int(s) for s in itertools.islice(pattern, MAX_PATTERN_LENGTH + 1)]
            except (TypeError, ValueError):
                raise invalid("pattern", pattern, "a string like '11000' or a sequence of integers", "pass the symbols") from None
            given = ",".join(map(str, symbols)) if any(s > 9 for s in symbols) else "".join(map(str, symbols))
            if len(symbols) > MAX_PATTERN_LENGTH:
                raise _too_long(given)
        shown = _shown(given)
        if not symbols:
            raise invalid("pattern", given, "at least two symbols", "give the repeating unit, like '11000'")
        if min(symbols) < 0:
            raise invalid("pattern", shown, "symbols in {0..k-1}", "use non-negative integers")
        if alphabet_size is not None and not 2 <= alphabet_size <= MAX_ALPHABET_SIZE:
            raise invalid(
                "alphabet_size", alphabet_size, f"2 to {MAX_ALPHABET_SIZE}",
                "count the symbols the model can predict (seqcheck checks alphabets of at most"
                f" {MAX_ALPHABET_SIZE} symbols)",
            )
        if max(symbols) >= MAX_ALPHABET_SIZE:
            raise invalid(
                "pattern", shown, f"symbols in {{0..{MAX_ALPHABET_SIZE - 1}}}",
                f"number the symbols 0..k-1 (seqcheck checks alphabets of at most {MAX_ALPHABET_SIZE} symbols)",
            )
        if alphabet_size is None:
            alphabet_size = max(2, max(symbols) + 1)
        if max(symbols) >= alphabet_size:
            raise invalid(
                "pattern", shown, f"symbols in {{0..{alphabet_size - 1}}} for {spell('alphabet_size', alphabet_size)}",
                f"pass {spell('alphabet_size', max(symbols) + 1)} or fix the pattern",
            )
        period = primitive_period(symbols)
        if period == 1:
            raise invalid(
                "pattern", shown, "a period of at least 2 (a constant stream tests nothing)",
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
        return _min_context(self.symbols)
