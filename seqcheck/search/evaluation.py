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

**Prefix sharing.**  An evaluator given a ``horizon`` evaluates the stream of a causal model
(:attr:`~seqcheck.models.base.ModelUnderTest.causal`) by prefix passes: the window of phase ``φ`` and
length ``L`` is the first ``L`` symbols of the stream from ``φ``, so one pass over the ``horizon``
symbols from each phase, read out at every step, predicts every window of every length up to the
horizon at once: ``p`` rows of ``horizon`` steps instead of ``p`` windows per length, linear in the
longest length instead of quadratic.  :func:`seqcheck.search.confirmation.disagreement` verifies the
passes against whole-window calls and confirms every counterexample on its own window.
"""

from __future__ import annotations

import numpy as np

from seqcheck.models.base import ModelUnderTest, near_ties
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


#: A translated model's stream is judged window by window while that sweep feeds it at most this many symbols: its
#: NumPy calls cost microseconds a step, less than verifying prefix passes in its framework (two traced functions, about
#: 0.2 s).  About lengths 3..200 of a pattern of period 5.
TRANSLATED_PREFIX_FROM = 100_000


def prefix_plan(model: ModelUnderTest, space) -> tuple[int | None, str]:
    """The horizon of a check's prefix passes (``None``: every window is evaluated whole), and why, in words."""
    if space.pattern is None:
        return None, "a sequence task's inputs are evaluated whole"
    if not model.causal:
        return None, model.causal_reason
    symbols = space.sweep_symbols()
    if model.translated and symbols <= TRANSLATED_PREFIX_FROM:
        return None, (
            f"{model.causal_reason}, but its sweep feeds the {model.engine} translation only {symbols:,} symbols, less than"
            f" verifying passes costs (they run beyond {TRANSLATED_PREFIX_FROM:,})"
        )
    return space.max_length, model.causal_reason


class Evaluator:
    """Predictions of ``model`` for windows over the pattern's alphabet (or a sequence task's inputs), each computed once."""

    def __init__(
        self, model: ModelUnderTest, pattern: Pattern | None, *, native: bool = False, horizon: int | None = None,
        prefix_reason: str = "",
    ):
        self.model = model
        self.pattern = pattern
        self.native = native
        #: The longest stream window the prefix passes cover, or ``None`` when every window is evaluated whole.
        self.horizon = horizon if pattern is not None and model.causal else None
        #: Why stream windows are or are not judged by prefix passes, in words.
        self.prefix_reason = prefix_reason
        #: ``(probs, predicted, confidence)`` of every phase (rows) at every length 1..horizon (columns), once computed.
        self._prefix: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
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

    def _evaluate(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities of ``windows`` (one length): known ones looked up (by content, or in the stream's table), unseen
        ones in one batched call, stored by content while the memo has room."""
        keys = [self._key(row) for row in windows]
        known = self._by_content
        from_stream: dict[int, int] = {}
        missing: dict[tuple[int, bytes], int] = {}
        for i, key in enumerate(keys):
            if key in known:
                continue
            phase = self._stream_phase(key)
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
            if self._remembered < REMEMBERED_SYMBOLS:
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
            return self._evaluate(windows)
        probs = self.model.predict_proba(windows, native=self.native)
        self.windows_evaluated += len(windows)
        self.symbols_evaluated += windows.size
        return probs

    def classes(self, windows: np.ndarray, *, remember: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(probs, predicted, confidence)`` for integer windows ``(B, L)`` (:func:`decide`)."""
        probs = self.probabilities(windows, remember=remember)
        return (probs, *decide(probs))

    @classmethod
    def for_space(cls, model: ModelUnderTest, space) -> Evaluator:
        """The evaluator of a check of ``model`` over ``space``: by prefix passes where :func:`prefix_plan` says so."""
        horizon, reason = prefix_plan(model, space)
        return cls(model, space.pattern, horizon=horizon, prefix_reason=reason)

    @property
    def prefix_sharing(self) -> bool:
        """Whether stream windows are evaluated by prefix passes."""
        return self.horizon is not None

    def sweep_symbols(self, space) -> int:
        """Symbols fed to the model to evaluate every phase at every length of ``space`` once: ``p`` rows of the
        longest length by prefix passes, else ``p`` windows of each length."""
        if self.prefix_sharing and space.max_length <= self.horizon:
            return self.pattern.period * space.max_length
        return space.sweep_symbols()

    def prefix_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(probs (p, horizon, k), predicted (p, horizon), confidence (p, horizon))``: column ``L - 1`` holds every
        phase's window of length ``L``.  One pass over ``horizon`` symbols of the stream from every phase, read out
        at every step; its near ties (:func:`~seqcheck.models.base.near_ties`) decided on their whole windows."""
        if self._prefix is None:
            rows = self.pattern.windows(self.horizon)
            probs = self.model.predict_prefix_proba(rows, native=self.native)  # (p, horizon, k)
            self.windows_evaluated += rows.size
            self.symbols_evaluated += rows.size
            # A model whose every output is a tie (a constant 0.5) costs what window-by-window evaluation would.
            ties = near_ties(probs.reshape(-1, probs.shape[2])).reshape(rows.shape)
            for length in np.flatnonzero(ties.any(axis=0)) + 1:
                phases = np.flatnonzero(ties[:, length - 1])
                probs[phases, length - 1] = self.model.predict_proba(self.pattern.windows(length)[phases], native=self.native)
                self.windows_evaluated += len(phases)
                self.symbols_evaluated += len(phases) * int(length)
            predicted, confidence = decide(probs.reshape(-1, probs.shape[2]))
            self._prefix = (probs, predicted.reshape(rows.shape), confidence.reshape(rows.shape))
        return self._prefix

    def stream(self, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(probs (p, k), predicted (p,), confidence (p,))`` for all phases at one length."""
        if self.horizon is not None and length <= self.horizon:
            probs, predicted, confidence = self.prefix_table()
            return probs[:, length - 1], predicted[:, length - 1], confidence[:, length - 1]
        cached = self._stream.get(length)
        if cached is None:
            # A stream's windows are each asked once, so no look-up by content: one call for the p windows.
            probs = self.probabilities(self.pattern.windows(length), remember=False)
            cached = (probs, *decide(probs))
            self._stream[length] = cached
        return cached

    def predicted(self, length: int) -> np.ndarray:
        """Predicted symbol at every phase for one length ``(p,)``."""
        return self.stream(length)[1]

    def predicted_at(self, lengths: range) -> np.ndarray:
        """Predicted symbol at every phase (rows) for each of ``lengths`` (columns): ``(p, len(lengths))``."""
        if self.horizon is not None and lengths[-1] <= self.horizon:
            return self.prefix_table()[1][:, lengths.start - 1 : lengths.stop - 1]
        return np.stack([self.predicted(length) for length in lengths], axis=1)
