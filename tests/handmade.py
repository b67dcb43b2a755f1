"""Numpy models built by hand, each with a known behaviour, for exact assertions.

They are functions of the window's content alone, as a trained model is: each reads the phase of
the stream from a few symbols of the window and answers from the pattern.
"""

from __future__ import annotations

import numpy as np

from seqcheck import Pattern


class _Rule:
    """Base: reads phases from the window's symbols; fed integer tokens ``(B, L)``."""

    def __init__(self, pattern: str):
        self.pattern = Pattern.parse(pattern)
        p = self.pattern
        # the fewest symbols whose content tells the phase of the stream where they start
        self.context = next(q for q in range(1, p.period + 1) if len({tuple(p.window(ph, q)) for ph in range(p.period)}) == p.period)
        self._phase_at = {tuple(p.window(ph, self.context)): ph for ph in range(p.period)}
        self.calls = 0

    def symbols(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(self.pattern.symbols)[positions % self.pattern.period]

    def end_phase(self, batch: np.ndarray) -> np.ndarray:
        """Stream position of the symbol after each window, modulo p (by its last min-context symbols)."""
        p = self.pattern
        table = {tuple(p.window(ph, p.min_context)): (ph + p.min_context) % p.period for ph in range(p.period)}
        return np.array([table.get(tuple(row[-p.min_context :]), 0) for row in batch])

    def start_phase(self, batch: np.ndarray) -> np.ndarray:
        """Phase of each window's first symbol (by its first `context` symbols)."""
        return np.array([self._phase_at.get(tuple(row[: self.context]), 0) for row in batch])

    def probabilities(self, predicted: np.ndarray) -> np.ndarray:
        """Sigmoid-style output for binary patterns, one-hot probabilities otherwise."""
        k = self.pattern.alphabet_size
        if k == 2:
            return np.where(predicted == 1, 0.98, 0.02)[:, None]
        return np.eye(k)[predicted] * 0.9 + 0.1 / k

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.probabilities(self.predict(np.asarray(batch)))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ExactRule(_Rule):
    """Predicts the target of every window of at least min context: passes every invariant."""

    def predict(self, batch):
        return self.symbols(self.end_phase(batch))


class StartAnchored(_Rule):
    """Predicts ``s[phase + N]`` whatever the window's length: the seed LSTM's behaviour."""

    def __init__(self, pattern: str, train_length: int):
        super().__init__(pattern)
        self.train_length = train_length

    def predict(self, batch):
        return self.symbols(self.start_phase(batch) + self.train_length)


class BreaksBeyond(_Rule):
    """Exact up to ``limit`` symbols, wrong (the other binary symbol) on every longer window."""

    def __init__(self, pattern: str, limit: int):
        super().__init__(pattern)
        self.limit = limit

    def predict(self, batch):
        right = self.symbols(self.end_phase(batch))
        return right if batch.shape[1] <= self.limit else 1 - right


class WrongOnce(_Rule):
    """Exact except on the single window ``window(phase, length)`` of the stream."""

    def __init__(self, pattern: str, *, phase: int, length: int):
        super().__init__(pattern)
        self.phase, self.length = phase, length

    def predict(self, batch):
        right = self.symbols(self.end_phase(batch))
        if batch.shape[1] != self.length:
            return right
        wrong = self.start_phase(batch) == self.phase
        return np.where(wrong, 1 - right, right)


class BatchDependent(ExactRule):
    """Exact, but its probabilities drift with the batch size (a batch-norm-in-inference bug)."""

    def __call__(self, batch):
        probs = super().__call__(batch)
        return np.clip(probs + 1e-3 * (len(batch) - 1), 0.0, 1.0)


class NeedsLongContext(_Rule):
    """Exact on windows of at least ``needs`` symbols, wrong on shorter ones."""

    def __init__(self, pattern: str, needs: int):
        super().__init__(pattern)
        self.needs = needs

    def predict(self, batch):
        right = self.symbols(self.end_phase(batch))
        return right if batch.shape[1] >= self.needs else 1 - right
