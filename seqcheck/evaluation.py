"""Memoized, batched predictions: the model never sees the same window twice within a check.

Every window the checks ask about goes through one :class:`Evaluator`.  Windows of the pattern's
stream are evaluated a whole length at a time (all ``p`` phases in one batched call); any other
window (a closed-loop rollout's) is looked up by its content and, when new, evaluated together
with the other new windows of its batch.
"""

from __future__ import annotations

import numpy as np

from seqcheck.models.base import ModelUnderTest
from seqcheck.patterns import Pattern

#: ``predicted`` value of a window whose output held NaN or infinity: equal to no symbol.
INVALID = -1


def decide(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted symbol (argmax, or :data:`INVALID` for non-finite rows) and its probability."""
    finite = np.isfinite(probs).all(axis=1)
    predicted = np.where(finite, np.argmax(np.where(np.isfinite(probs), probs, -np.inf), axis=1), INVALID)
    confidence = np.where(finite, probs[np.arange(len(probs)), np.maximum(predicted, 0)], np.nan)
    return predicted.astype(np.int64), confidence


class Evaluator:
    """Predictions of ``model`` for windows over the pattern's alphabet, each window computed once."""

    def __init__(self, model: ModelUnderTest, pattern: Pattern):
        self.model = model
        self.pattern = pattern
        self._by_content: dict[tuple[int, bytes], np.ndarray] = {}
        self._stream: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.windows_evaluated = 0

    @staticmethod
    def _key(row: np.ndarray) -> tuple[int, bytes]:
        return len(row), row.astype(np.int32, copy=False).tobytes()

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities ``(B, k)`` for integer windows ``(B, L)``, computing only unseen windows."""
        windows = np.asarray(windows, dtype=np.int64)
        keys = [self._key(row) for row in windows]
        missing = {key: i for i, key in enumerate(keys) if key not in self._by_content}
        if missing:
            rows = list(missing.values())
            probs = self.model.predict_proba(windows[rows])
            self.windows_evaluated += len(rows)
            for key, row_probs in zip(missing, probs):
                self._by_content[key] = row_probs
        return np.stack([self._by_content[key] for key in keys])

    def stream(self, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(probs (p, k), predicted (p,), confidence (p,))`` for all phases at one length."""
        cached = self._stream.get(length)
        if cached is None:
            probs = self.probabilities(self.pattern.windows(length))
            cached = (probs, *decide(probs))
            self._stream[length] = cached
        return cached

    def predicted(self, length: int) -> np.ndarray:
        """Predicted symbol at every phase for one length ``(p,)``."""
        return self.stream(length)[1]

    def accuracy_by_length(self, lengths: range) -> dict[int, float]:
        """Share of phases predicted right, for each length already evaluated (or all of ``lengths``)."""
        return {
            length: float(np.mean(self.predicted(length) == self.pattern.targets(length)))
            for length in lengths
        }
