"""The model under test as seqcheck sees it: windows of symbols in, next-symbol probabilities out.

Every adapter (a Keras model, a plain Python callable) turns its framework's calling convention into
one method, :meth:`ModelUnderTest.predict_proba`, which takes a batch of windows as an integer array
of shape ``(B, L)`` and returns an array of shape ``(B, k)``: the probability of each symbol of the
alphabet ``{0..k-1}`` being the window's target.

Input encodings (what the model is fed):

- ``"scalar"``  -- one float feature per step, ``(B, L, 1)``: the seed's set-up.
- ``"onehot"``  -- one-hot vectors, ``(B, L, k)``.
- ``"tokens"``  -- integer symbols, ``(B, L)``.

Outputs understood: ``(B,)`` or ``(B, 1)`` (binary: probability or logit of symbol 1), ``(B, k)``
(probabilities or logits), and per-step outputs ``(B, L, 1)`` / ``(B, L, k)`` whose last step
predicts the target.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np

from seqcheck.errors import ModelError, invalid

Encoding = Literal["scalar", "onehot", "tokens"]
OutputKind = Literal["auto", "probabilities", "logits"]
ENCODINGS: tuple[str, ...] = ("scalar", "onehot", "tokens")
#: ``engine=`` values for Keras models: ``"auto"`` uses a NumPy translation when it exists and agrees with the model.
ENGINES: tuple[str, ...] = ("auto", "numpy", "keras")
OUTPUT_KINDS: tuple[str, ...] = ("auto", "probabilities", "logits")


def check_encoding(encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise invalid("encoding", encoding, f"one of {', '.join(ENCODINGS)}", "pick the input layout your model takes")
    return encoding


def check_output_kind(output: str) -> str:
    if output not in OUTPUT_KINDS:
        raise invalid("output", output, f"one of {', '.join(OUTPUT_KINDS)}", "say how to read the model's last layer")
    return output


def encode(windows: np.ndarray, encoding: str, alphabet_size: int) -> np.ndarray:
    """Turn integer windows ``(B, L)`` into the array the model is fed."""
    if encoding == "tokens":
        return windows.astype(np.int32, copy=False)
    if encoding == "scalar":
        return windows.astype(np.float32)[..., None]
    return np.eye(alphabet_size, dtype=np.float32)[windows]


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in the dtype of ``z``."""
    z = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def decode(raw: object, batch_size: int, alphabet_size: int, output: str = "auto") -> np.ndarray:
    """Turn a model's raw output into next-symbol probabilities of shape ``(B, k)`` (float64).

    Rows holding NaN or infinity stay non-finite: the checks report them as violations.
    """
    out = np.asarray(raw, dtype=np.float64)
    if out.ndim == 3:  # per-step outputs: the last step predicts the target
        out = out[:, -1, :]
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != batch_size:
        raise ModelError(
            f"model output shape={tuple(np.shape(raw))}: expected ({batch_size}, 1) or ({batch_size}, {alphabet_size})"
            f" for a batch of {batch_size} windows; return one row per window"
        )
    width = out.shape[1]
    if width == 1:
        if alphabet_size != 2:
            raise ModelError(
                f"model output width=1 fits a binary alphabet, but the pattern has alphabet_size={alphabet_size};"
                f" give the model a softmax over {alphabet_size} symbols or check a binary pattern"
            )
        p1 = out[:, 0]
        finite = p1[np.isfinite(p1)]
        if output == "logits" or (output == "auto" and finite.size and (finite.min() < 0 or finite.max() > 1)):
            with np.errstate(over="ignore"):
                p1 = 1.0 / (1.0 + np.exp(-p1))
        return np.stack([1.0 - p1, p1], axis=1)
    if width != alphabet_size:
        raise ModelError(
            f"model output width={width}: expected {alphabet_size} (one per symbol of the pattern's alphabet)"
            f" or 1 (binary); pass alphabet_size={width} if the model's alphabet is larger than the pattern's"
        )
    if output == "logits":
        return softmax(out)
    if output == "auto":
        rows = np.isfinite(out).all(axis=1)
        ok = out[rows]
        if ok.size and (ok.min() < 0 or ok.max() > 1 or not np.allclose(ok.sum(axis=1), 1.0, atol=1e-3)):
            return softmax(out)
    return out


class ModelUnderTest(ABC):
    """A trained model wrapped so that every check calls it the same way.

    Subclasses implement :meth:`_call` on the encoded batch; :meth:`predict_proba` encodes the
    windows, calls the model once (in chunks when the batch is very large) and decodes the output.
    """

    #: Short human description, e.g. ``"Keras, LSTM"``.
    description: str = "model"

    #: How to name the model in a report and a reproduce line (a path, or a Python repr).
    name: str = "model"

    #: The only window length the model accepts (a length-rigid model), or None for any length.
    fixed_length: int | None = None

    #: How windows are evaluated: ``"native"``, by the model itself; a Keras model says ``"numpy"`` (translated
    #: to NumPy, verified against the model) or ``"keras"`` (its compiled function).
    engine: str = "native"

    #: What the adapter did to make the model checkable (e.g. rebuilt with a free time dimension).
    notes: tuple[str, ...] | list[str] = ()

    def __init__(self, *, alphabet_size: int, encoding: str, output: str = "auto", max_batch_symbols: int = 1 << 21):
        self.alphabet_size = alphabet_size
        self.encoding = check_encoding(encoding)
        self.output = check_output_kind(output)
        self.max_batch_symbols = max_batch_symbols
        self.calls = 0

    @abstractmethod
    def _call(self, x: np.ndarray) -> object:
        """Run the model on one encoded batch and return its raw output."""

    def _call_native(self, x: np.ndarray) -> object:
        """Run the model on one encoded batch in its own framework, batched exactly as given."""
        return self._call(x)

    def predict_proba(self, windows: np.ndarray, *, native: bool = False) -> np.ndarray:
        """Next-symbol probabilities ``(B, k)`` for integer windows ``(B, L)`` of one length.

        ``native=True`` runs the batch in the model's own framework even where an adapter has a faster
        equivalent path (a Keras model translated to NumPy): for properties of the framework's batched
        execution itself, such as batch invariance.
        """
        windows = np.asarray(windows)
        batch, length = windows.shape
        if batch == 0:
            return np.empty((0, self.alphabet_size))
        rows = max(1, self.max_batch_symbols // max(1, length))
        parts = []
        for start in range(0, batch, rows):
            chunk = windows[start : start + rows]
            self.calls += 1
            encoded = encode(chunk, self.encoding, self.alphabet_size)
            raw = self._call_native(encoded) if native else self._call(encoded)
            parts.append(decode(raw, len(chunk), self.alphabet_size, self.output))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def warm_up(self, length: int) -> None:
        """Call the model once on a tiny batch so that compilation happens before any timing or search."""
        self.predict_proba(np.zeros((1, length), dtype=np.int64))
