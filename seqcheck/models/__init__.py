"""Adapters from what a user holds (a framework's model, a model file, a callable) to a model under test.

Frameworks are found lazily, in the manner of einops (:mod:`seqcheck.models.registry`): a model object is offered to
a framework's adapter only if the user has imported that framework, and seqcheck imports a framework itself only to
load a file of its format.
"""

from __future__ import annotations

import os

from seqcheck.errors import invalid
from seqcheck.spelling import spell
from seqcheck.models.base import ModelUnderTest, check_causal
from seqcheck.models.function import CallableModel
from seqcheck.models.registry import adapter_for_file, adapter_for_object

__all__ = ["ModelUnderTest", "CallableModel", "as_model"]


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

    ``model`` is a :class:`ModelUnderTest`; a model of a framework with an adapter (:mod:`seqcheck.models.registry`):
    a ``keras.Model``, a ``torch.nn.Module``, an ONNX Runtime session, a jitted JAX function or a bound Flax module;
    a path to a model file (``.keras``, ``.pt2``, ``.onnx``; loaded safely unless ``allow_unsafe=True``); or a callable
    taking a numpy batch.  ``encoding`` overrides the detected input layout (see :mod:`seqcheck.models.base`);
    ``engine`` says how a Keras model is evaluated (see :class:`~seqcheck.models.keras.KerasModel`); ``causal`` whether
    its per-step readout predicts every prefix (:data:`~seqcheck.models.base.CAUSAL_CHOICES`).  ``alphabet_size`` is
    the number of input symbols, ``classes`` the number of outputs (by default the same; ``class_meaning`` names a
    task's classes in errors).
    """
    check_causal(causal)
    if isinstance(model, ModelUnderTest):
        adapter = None
    elif isinstance(model, (str, os.PathLike)):
        adapter = adapter_for_file(model)
    else:
        adapter = adapter_for_object(model)
    if engine != "auto" and (adapter is None or "engine" not in adapter.extra_options):
        raise invalid(
            "engine", engine, "'auto' for anything but a Keras model or .keras path",
            f"drop {spell('engine')}: it chooses how a Keras model is evaluated",
        )
    if isinstance(model, ModelUnderTest):
        return model
    options = dict(
        alphabet_size=alphabet_size, encoding=encoding, output=output, causal=causal, classes=classes,
        class_meaning=class_meaning, **({"engine": engine} if adapter is not None and "engine" in adapter.extra_options else {}),
    )
    if isinstance(model, (str, os.PathLike)):
        return adapter.function("load")(model, allow_unsafe=allow_unsafe, **options)
    if adapter is not None:
        return adapter.function("wrap")(model, **options)
    if callable(model):
        return CallableModel(
            model, alphabet_size=alphabet_size, encoding=encoding or "tokens", output=output, classes=classes,
            class_meaning=class_meaning, causal=causal,
        )
    raise invalid(
        "model", type(model).__name__,
        "a model of a supported framework (Keras, PyTorch, ONNX Runtime, JAX), a path to a model file, or a callable"
        " on numpy batches",
        "pass one of those",
    )
