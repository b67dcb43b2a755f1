"""Adapters from what a user holds (a ``keras.Model``, a ``.keras`` path, a callable) to a model under test.

Frameworks are found lazily, in the manner of einops: a Keras model is recognised only if ``keras``
is already imported by the user, and seqcheck imports Keras itself only to load a model file.
"""

from __future__ import annotations

import os
import sys

from seqcheck.errors import invalid
from seqcheck.models.base import ModelUnderTest, check_causal
from seqcheck.models.function import CallableModel

__all__ = ["ModelUnderTest", "CallableModel", "as_model"]


def _is_keras_model(obj: object) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Model)


def as_model(
    model: object,
    *,
    alphabet_size: int,
    encoding: str | None = None,
    output: str = "auto",
    allow_unsafe: bool = False,
    engine: str = "auto",
    causal: str = "auto",
    classes: int | None = None,
    class_meaning: str = "",
) -> ModelUnderTest:
    """Wrap ``model`` so that the checks can call it.

    ``model`` is a :class:`ModelUnderTest`, a ``keras.Model``, a path to a ``.keras`` file (loaded
    with Keras's safe mode unless ``allow_unsafe=True``) or a callable taking a numpy batch.
    ``encoding`` overrides the detected input layout (see :mod:`seqcheck.models.base`); ``engine``
    says how a Keras model is evaluated (see :class:`~seqcheck.models.keras.KerasModel`); ``causal`` whether its
    per-step readout predicts every prefix (:data:`~seqcheck.models.base.CAUSAL_CHOICES`).  ``alphabet_size`` is
    the number of input symbols, ``classes`` the number of outputs (by default the same; ``class_meaning``
    names a task's classes in errors).
    """
    keras_given = isinstance(model, (str, os.PathLike)) or _is_keras_model(model)
    if engine != "auto" and not keras_given:
        raise invalid(
            "engine", engine, "'auto' for anything but a Keras model or .keras path",
            "drop engine=, or pass KerasModel(model, engine=...) yourself",
        )
    check_causal(causal)
    if isinstance(model, ModelUnderTest):
        return model
    if isinstance(model, (str, os.PathLike)):
        from seqcheck.models.keras import KerasModel
        from seqcheck.models.keras_files import load_keras_model

        keras_model = load_keras_model(model, allow_unsafe=allow_unsafe)
        return KerasModel(
            keras_model, alphabet_size=alphabet_size, encoding=encoding, output=output, name=os.fspath(model), engine=engine,
            causal=causal, classes=classes, class_meaning=class_meaning,
        )
    if _is_keras_model(model):
        from seqcheck.models.keras import KerasModel

        return KerasModel(
            model, alphabet_size=alphabet_size, encoding=encoding, output=output, engine=engine, causal=causal,
            classes=classes, class_meaning=class_meaning,
        )
    if callable(model):
        return CallableModel(
            model, alphabet_size=alphabet_size, encoding=encoding or "tokens", output=output, classes=classes,
            class_meaning=class_meaning, causal=causal,
        )
    raise invalid(
        "model", type(model).__name__, "a keras.Model, a path to a .keras file, or a callable on numpy batches",
        "pass one of those",
    )
