"""Adapter for any Python callable that maps a numpy batch of windows to next-symbol outputs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seqcheck.errors import ModelError, first_line
from seqcheck.models.base import ModelUnderTest


class CallableModel(ModelUnderTest):
    """Wraps ``fn(batch) -> outputs``; the batch is encoded as ``encoding`` says (integer tokens by default).

    A callable is a black box: it is causal only on the user's word (``causal="yes"``), which says that it returns
    per-step outputs ``(B, L, width)`` whose step ``t`` predicts the input's first ``t + 1`` symbols.
    """

    description = "Python callable"

    def __init__(
        self, fn: Callable[[np.ndarray], object], *, alphabet_size: int, encoding: str = "tokens", output: str = "auto",
        classes: int | None = None, class_meaning: str = "", causal: str = "auto",
    ):
        super().__init__(alphabet_size=alphabet_size, encoding=encoding, output=output, classes=classes, class_meaning=class_meaning)
        self.fn = fn
        self.name = getattr(fn, "__qualname__", None) or type(fn).__name__
        self.take_causal_word(causal, "a Python callable")

    def _call_prefix(self, x: np.ndarray) -> object:
        return self._call(x)

    def _call(self, x: np.ndarray) -> object:
        try:
            return self.fn(x)
        except Exception as exc:  # the model is the user's code: report, do not crash
            raise ModelError(
                f"model {self.name} raised {type(exc).__name__}: {first_line(exc)} on a batch of shape {x.shape};"
                f" fix the callable or pass encoding= to feed it the layout it expects"
            ) from exc
