"""Memoized, batched predictions: the model never sees the same window twice within a check.

Every window the checks ask about goes through one :class:`Evaluator`.  Windows of the pattern's
stream are evaluated a whole length at a time (all ``p`` phases in one batched call); any other
window (a closed-loop rollout's) is looked up by its content and, when new, evaluated together
with the other new windows of its batch.

Stream windows are remembered by length only (``p`` rows of probabilities per length), never by
content: a sweep to length ``L`` would otherwise keep ``p * L**2 / 2`` symbols of keys alive (a
gigabyte at ``L = 10,000``).  A window looked up by content that turns out to be a stream window
is answered from the per-length table (its length evaluated first if need be), so every window is
still computed once and gets the very probabilities of its first evaluation.  Other windows are
remembered by content up to :data:`REMEMBERED_SYMBOLS` symbols in all; past that, new ones are
evaluated but not kept, so memory stays bounded whatever the search asks.

A sequence task's evaluator has no stream (``pattern=None``): every input is looked up by content,
and a sweep's inputs, each fed once, are evaluated without being remembered (``remember=False``).

An evaluator built with ``native=True`` calls the model in its own framework only
(``predict_proba(native=True)``): it is how a check confirms what a faster engine found.
"""

from __future__ import annotations

import numpy as np

from seqcheck.models.base import ModelUnderTest
from seqcheck.tasks.patterns import Pattern

#: ``predicted`` value of a window whose output held NaN or infinity: equal to no symbol.
INVALID = -1

#: Symbols of non-stream windows kept by content (about 256 MiB of keys at most).
REMEMBERED_SYMBOLS = 64 << 20


def decide(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted symbol (argmax, or :data:`INVALID` for non-finite rows) and its probability."""
    finite = np.isfinite(probs).all(axis=1)
    predicted = np.where(finite, np.argmax(np.where(np.isfinite(probs), probs, -np.inf), axis=1), INVALID)
    confidence = np.where(finite, probs[np.arange(len(probs)), np.maximum(predicted, 0)], np.nan)
    return predicted.astype(np.int64), confidence


class Evaluator:
    """Predictions of ``model`` for windows over the pattern's alphabet (or a sequence task's inputs), each computed once."""

    def __init__(self, model: ModelUnderTest, pattern: Pattern | None, *, native: bool = False):
        self.model = model
        self.pattern = pattern
        self.native = native
        self._by_content: dict[tuple[int, bytes], np.ndarray] = {}
        self._remembered = 0
        self._stream: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.windows_evaluated = 0
        #: Symbols fed to the model so far: what a sweep's budget meters.
        self.symbols_evaluated = 0
        # The pattern rotated to start at each phase, as window bytes: a stream window is one of them repeated.
        self._rotations = [] if pattern is None else [self._key(row)[1] for row in pattern.windows(pattern.period)]
        self._heads: dict[int, dict[bytes, int]] = {}

    @staticmethod
    def _key(row: np.ndarray) -> tuple[int, bytes]:
        return len(row), row.astype(np.int32, copy=False).tobytes()

    def _stream_phase(self, key: tuple[int, bytes]) -> int:
        """The phase of the window with content ``key`` if it is a window of the stream, else -1.

        Checked on the bytes alone: the first ``min(L, p)`` symbols name the phase, and the whole window must be
        that rotation of the pattern repeated.  No window of length ``L`` is kept.
        """
        if self.pattern is None:
            return -1
        length, data = key
        head = min(length, self.pattern.period) * 4
        heads = self._heads.get(head)
        if heads is None:
            heads = {}
            for phase, rotation in enumerate(self._rotations):
                heads.setdefault(rotation[:head], phase)
            self._heads[head] = heads
        phase = heads.get(data[:head], -1)
        if phase >= 0 and length > self.pattern.period:
            rotation = self._rotations[phase]
            if data != (rotation * (length // self.pattern.period + 1))[: 4 * length]:
                return -1
        return phase

    def _evaluate(self, windows: np.ndarray, *, remember: bool) -> np.ndarray:
        """Probabilities of ``windows`` (one length): unseen windows in one batched call, stored by content if ``remember``."""
        keys = [self._key(row) for row in windows]
        known = self._by_content
        from_stream: dict[int, int] = {}
        missing: dict[tuple[int, bytes], int] = {}
        for i, key in enumerate(keys):
            if key in known:
                continue
            phase = self._stream_phase(key) if remember else -1
            if phase >= 0:
                from_stream[i] = phase
            else:
                missing[key] = i
        fresh: dict[tuple[int, bytes], np.ndarray] = {}
        if missing:
            rows = list(missing.values())
            probs = self.model.predict_proba(windows[rows], native=self.native)
            self.windows_evaluated += len(rows)
            self.symbols_evaluated += len(rows) * windows.shape[1]
            fresh = dict(zip(missing, probs))
            if remember and self._remembered < REMEMBERED_SYMBOLS:
                known.update(fresh)
                self._remembered += len(rows) * windows.shape[1]
        if not keys:
            return np.empty((0, self.model.classes))
        table = self.stream(windows.shape[1])[0] if from_stream else None
        return np.stack([
            table[from_stream[i]] if i in from_stream else known[key] if key in known else fresh[key]
            for i, key in enumerate(keys)
        ])

    def probabilities(self, windows: np.ndarray, *, remember: bool = True) -> np.ndarray:
        """Probabilities ``(B, k)`` for integer windows ``(B, L)``, computing only unseen windows and keeping new ones for
        later look-ups; ``remember=False`` (a sweep's windows, each asked once) evaluates them all, unlooked-up."""
        windows = np.asarray(windows, dtype=np.int64)
        if remember:
            return self._evaluate(windows, remember=True)
        probs = self.model.predict_proba(windows, native=self.native)
        self.windows_evaluated += len(windows)
        self.symbols_evaluated += windows.size
        return probs

    def classes(self, windows: np.ndarray, *, remember: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(probs, predicted, confidence)`` for integer windows ``(B, L)`` (:func:`decide`)."""
        probs = self.probabilities(windows, remember=remember)
        return (probs, *decide(probs))

    def stream(self, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(probs (p, k), predicted (p,), confidence (p,))`` for all phases at one length."""
        cached = self._stream.get(length)
        if cached is None:
            probs = self._evaluate(self.pattern.windows(length), remember=False)
            cached = (probs, *decide(probs))
            self._stream[length] = cached
        return cached

    def predicted(self, length: int) -> np.ndarray:
        """Predicted symbol at every phase for one length ``(p,)``."""
        return self.stream(length)[1]
