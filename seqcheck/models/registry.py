"""Which adapter wraps a model: found lazily, in the manner of einops's backends.

An :class:`Adapter` names, as ``"module:function"`` strings, how to recognise a framework's in-memory models and how
to wrap them, and which file formats it loads.  Nothing is imported to ask:

- an object is offered to an adapter only once one of the adapter's :attr:`Adapter.frameworks` is in ``sys.modules``
  (the user imported it; a model of that framework cannot exist otherwise), and the adapter's module is imported then;
- a file is matched by its suffix, and only the matching adapter's module is imported, which imports its framework.

Third-party adapters register an :class:`Adapter` under the entry-point group ``seqcheck.adapters``; they are read
only when no built-in adapter matched.  Built-ins come first, in order: Keras before PyTorch, because a Keras 3 model
on the torch backend is a ``torch.nn.Module`` too.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seqcheck.errors import ModelError

__all__ = ["ADAPTER_GROUP", "Adapter", "BUILTIN_ADAPTERS", "adapter_for_file", "adapter_for_object", "adapters"]

#: The entry-point group under which other packages register their adapters (each entry point loads an Adapter).
ADAPTER_GROUP = "seqcheck.adapters"


@dataclass(frozen=True)
class Adapter:
    """How seqcheck recognises one framework's models and wraps them as a :class:`~seqcheck.models.base.ModelUnderTest`.

    - ``accepts(obj) -> bool`` is asked only once one of ``frameworks`` has been imported by the user;
    - ``wrap(obj, **options)`` and ``load(path, *, allow_unsafe, **options)`` return a model under test, where the
      options are ``alphabet_size``, ``encoding``, ``output``, ``causal``, ``classes``, ``class_meaning`` and any of
      ``extra_options`` (Keras: ``engine``);
    - ``suffixes`` are the file formats ``load`` reads (``".onnx"``); ``install`` is what to install for them.
    """

    name: str
    frameworks: tuple[str, ...]
    accepts: str | None = None
    wrap: str | None = None
    suffixes: tuple[str, ...] = ()
    load: str | None = None
    install: str = ""
    extra_options: tuple[str, ...] = ()

    def function(self, attribute: str) -> Callable[..., Any]:
        """The function that ``attribute`` (``"accepts"``, ``"wrap"`` or ``"load"``) names, imported now."""
        module, _, name = getattr(self, attribute).partition(":")
        return getattr(importlib.import_module(module), name)

    def in_use(self) -> bool:
        """Whether the user has imported one of this adapter's frameworks (so that its models can exist)."""
        return any(sys.modules.get(framework) is not None for framework in self.frameworks)


BUILTIN_ADAPTERS: tuple[Adapter, ...] = (
    Adapter(
        "keras", ("keras",), accepts="seqcheck.models.keras:is_keras_model", wrap="seqcheck.models.keras:KerasModel",
        suffixes=(".keras", ".h5", ".hdf5"), load="seqcheck.models.keras:load_keras_file",
        install="pip install 'seqcheck[tensorflow]'", extra_options=("engine",),
    ),
    Adapter(
        "torch", ("torch",), accepts="seqcheck.models.pytorch:is_torch_module", wrap="seqcheck.models.pytorch:TorchModel",
        suffixes=(".pt2", ".pt", ".pth"), load="seqcheck.models.pytorch:load_torch_file",
        install="pip install 'seqcheck[torch]'",
    ),
    Adapter(
        "onnx", ("onnxruntime", "onnx"), accepts="seqcheck.models.onnx_model:is_onnx_model",
        wrap="seqcheck.models.onnx_model:OnnxModel", suffixes=(".onnx",), load="seqcheck.models.onnx_model:load_onnx_file",
        install="pip install 'seqcheck[onnx]'",
    ),
    Adapter(
        "jax", ("jax", "flax"), accepts="seqcheck.models.jax_model:is_jax_model", wrap="seqcheck.models.jax_model:JaxModel",
        install="pip install 'seqcheck[jax]'",
    ),
)

_registered: tuple[Adapter, ...] | None = None


def _entry_point_adapters() -> tuple[Adapter, ...]:
    """The adapters other packages register under :data:`ADAPTER_GROUP`, loaded once."""
    global _registered
    if _registered is None:
        from importlib.metadata import entry_points

        found = []
        for point in entry_points(group=ADAPTER_GROUP):
            try:
                adapter = point.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break seqcheck
                raise ModelError(
                    f"adapter entry point {point.name}={point.value!r}: could not be loaded ({type(exc).__name__}: {exc});"
                    f" fix or uninstall the package that registers it"
                ) from exc
            if not isinstance(adapter, Adapter):
                raise ModelError(
                    f"adapter entry point {point.name}={point.value!r}: is a {type(adapter).__name__}, expected a"
                    f" seqcheck.models.registry.Adapter; fix the package that registers it"
                )
            found.append(adapter)
        _registered = tuple(found)
    return _registered


def adapters() -> tuple[Adapter, ...]:
    """Every adapter: the built-ins, then those registered through entry points."""
    return BUILTIN_ADAPTERS + _entry_point_adapters()


def _accepted_by(candidates: tuple[Adapter, ...], model: object) -> Adapter | None:
    return next((a for a in candidates if a.accepts and a.in_use() and a.function("accepts")(model)), None)


def adapter_for_object(model: object) -> Adapter | None:
    """The adapter for an in-memory model, or ``None`` (it is then a plain callable, or not a model): the built-ins are
    asked first, the entry points' adapters (loaded only then) after them."""
    return _accepted_by(BUILTIN_ADAPTERS, model) or _accepted_by(_entry_point_adapters(), model)


def _formats() -> str:
    """The main file format of each adapter that loads files, e.g. ``.keras (keras), .pt2 (torch)``."""
    return ", ".join(f"{adapter.suffixes[0]} ({adapter.name})" for adapter in adapters() if adapter.load and adapter.suffixes)


def adapter_for_file(path: str | os.PathLike) -> Adapter:
    """The adapter whose format ``path`` has (by its suffix); a path of no known format is a one-line error."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    for adapter in adapters():
        if adapter.load and suffix in adapter.suffixes:
            return adapter
    if os.path.isdir(path):  # a SavedModel folder and the like: the Keras loader explains the refusal
        return BUILTIN_ADAPTERS[0]
    raise ModelError(
        f"model path={os.fspath(path)!r}: is not a model file of a known format, expected one of {_formats()};"
        f" save the model in one of them"
    )
