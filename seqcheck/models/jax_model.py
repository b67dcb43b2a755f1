"""Adapter for JAX models: jitted functions, Flax linen modules bound to their variables, and Flax NNX modules.

This module imports JAX at its top and is imported only once the user has imported ``jax`` or ``flax`` (see
:mod:`seqcheck.models.registry`); it never imports Flax itself, reading ``flax.linen`` and ``flax.nnx`` from
``sys.modules``, where they are when the user holds one of their modules.  seqcheck loads no JAX model file: a JAX
model is the user's own code, in memory.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from seqcheck.errors import ModelError, first_line, invalid
from seqcheck.models.base import ENCODINGS, ModelUnderTest, check_alphabet_size, check_causal, encode, pad_rows
from seqcheck.spelling import spell

__all__ = ["JaxModel", "MIN_BUCKET", "batch_bucket", "is_jax_model"]

#: The smallest batch a compiled call is padded to (:func:`batch_bucket`): a stream's p windows of one length (5 on
#: the seed's pattern) go in 8 rows, not 16 (benchmarks/frameworks.py: 5 rows 153 us, 8 rows 164 us, 16 rows 220 us).
MIN_BUCKET = 8


def batch_bucket(rows: int) -> int:
    """The batch size a batch of ``rows`` is padded to: the next power of two, at least :data:`MIN_BUCKET`, so that a
    window length compiles for a handful of batch sizes rather than for every one."""
    return max(MIN_BUCKET, 1 << (rows - 1).bit_length())


def _flax(submodule: str) -> Any:
    """``flax.linen`` or ``flax.nnx`` if the user imported it, else ``None`` (never imported here)."""
    return sys.modules.get(f"flax.{submodule}")


def _is_linen_module(obj: object) -> bool:
    linen = _flax("linen")
    return linen is not None and isinstance(obj, linen.Module)


def _is_nnx_module(obj: object) -> bool:
    nnx = _flax("nnx")
    return nnx is not None and isinstance(obj, nnx.Module)


def is_jax_model(obj: object) -> bool:
    """Whether ``obj`` is a JAX model: a jitted function (anything with ``jax.jit``'s ``trace`` and ``lower``, as
    ``jax.stages.Wrapped`` says), a Flax linen module (bound or not: :class:`JaxModel` explains an unbound one) or a
    Flax NNX module."""
    return isinstance(obj, jax.stages.Wrapped) or _is_linen_module(obj) or _is_nnx_module(obj)


_LAYOUTS = {"tokens": "(batch, time) int32", "scalar": "(batch, time, 1) float32", "onehot": "(batch, time, k) float32"}


class JaxModel(ModelUnderTest):
    """A JAX model called through one jitted function, on the user's parameters, which are never modified.

    - A jitted function (``jax.jit(f)``) is called as it is; any other callable is jitted here.
    - A Flax linen module bound to its variables (``module.bind(variables)``) is called as
      ``jax.jit(lambda variables, x: module.apply(variables, x))``, the variables passed at every call rather than
      compiled in as constants.  An unbound module has no variables to run on: a one-line error says how to bind it.
    - A Flax NNX module is split into its graph and state (``nnx.split``); the jitted call merges a copy of it and puts
      the copy in evaluation mode (``Module.eval()``: Dropout deterministic, BatchNorm on its running averages), the
      state passed at every call: the module itself, its mode and its random-number streams are left untouched.

    JAX compiles once per input shape.  Batches are padded up to :func:`batch_bucket` rows (copies of their last
    window) and the outputs sliced back, so a window length compiles for a few batch sizes only; :meth:`_call_native`
    calls with the batch exactly as given (batch invariance checks the framework's own batching).  The time dimension
    is never padded, since padding would change a non-causal model's outputs: every window length checked is one
    compilation at least.  :attr:`compile_count` says how many input shapes were compiled for.

    The input layout (``encoding``) is what the user says; else a function is fed integer tokens ``(B, L)`` (a JAX
    function carries no input signature), and a Flax module the one layout it can be traced with, abstractly
    (``jax.eval_shape``, nothing computed), at two window lengths: tokens ``(B, L)`` int32, scalars ``(B, L, 1)``
    or one-hot vectors ``(B, L, k)`` float32 (tokens when several trace).  Like any callable, the model is causal
    only on the user's word (``causal="yes"``: its per-step outputs ``(B, L, width)`` predict every prefix).
    """

    def __init__(
        self,
        fn: Any,
        *,
        alphabet_size: int,
        encoding: str | None = None,
        output: str = "auto",
        causal: str = "auto",
        classes: int | None = None,
        class_meaning: str = "",
        name: str | None = None,
    ):
        check_causal(causal)
        alphabet_size = check_alphabet_size(alphabet_size)
        notes: list[str] = []
        module = _is_linen_module(fn) or _is_nnx_module(fn)
        if module:
            self.name = name if name is not None else type(fn).__name__
            self.description = f"Flax, {type(fn).__name__}"
            self._fn, self._args = self._linen_function(fn) if _is_linen_module(fn) else self._nnx_function(fn, notes)
            if encoding is None:
                encoding = self._traced_layout(alphabet_size, notes)
        elif callable(fn):
            self.name = name if name is not None else getattr(fn, "__qualname__", None) or type(fn).__name__
            self.description = f"JAX, jitted function {self.name}"
            self._fn = fn if isinstance(fn, jax.stages.Wrapped) else jax.jit(fn)
            self._args = ()
        else:
            raise invalid(
                "model", type(fn).__name__,
                "a jitted JAX function, a Flax linen module bound to its variables or an NNX module",
                "pass jax.jit(f), module.bind(variables) or the nnx.Module",
            )
        super().__init__(
            alphabet_size=alphabet_size, encoding=encoding or "tokens", output=output, classes=classes,
            class_meaning=class_meaning,
        )
        self.notes = notes
        #: The distinct input shapes (and dtypes) fed to the compiled function: one compilation each.
        self._shapes: set[tuple[tuple[int, ...], str]] = set()
        self.engine_reason = (
            f"compiled by JAX; batches padded to a power of two of at least {MIN_BUCKET} windows and the outputs sliced"
            f" back; batch invariance on exact batches"
        )
        self.take_causal_word(causal, "a Flax module" if module else "a JAX function")

    # -- construction ---------------------------------------------------------------------------

    def _linen_function(self, module: Any) -> tuple[Callable[..., Any], tuple]:
        """The jitted ``apply`` of a bound linen module and its variables (an argument, not a compiled constant)."""
        if module.scope is None:
            raise ModelError(
                f"model {self.name}: is an unbound Flax linen module (no variables to run on), expected a module bound to"
                f" its variables; pass module.bind(variables), or jax.jit(functools.partial(module.apply, variables))"
            )
        unbound, variables = module.unbind()

        def apply(variables: Any, x: Any) -> Any:
            return unbound.apply(variables, x)

        return jax.jit(apply), (variables,)

    def _nnx_function(self, module: Any, notes: list[str]) -> tuple[Callable[..., Any], tuple]:
        """The jitted call of an NNX module's copy in evaluation mode, and its state (an argument at every call)."""
        nnx = _flax("nnx")
        graphdef, state = nnx.split(module)
        training = sorted({
            type(node).__name__ for _, node in nnx.iter_graph(module)
            if isinstance(node, nnx.Module)
            and (getattr(node, "deterministic", None) is False or getattr(node, "use_running_average", None) is False)
        })
        if training:
            notes.append(
                f"model {self.name} holds {', '.join(training)} in training mode; seqcheck calls a copy in evaluation mode"
                f" (Module.eval()), the module itself is untouched"
            )

        def call(state: Any, x: Any) -> Any:
            copy = nnx.merge(graphdef, state)
            copy.eval()
            return copy(x)

        return jax.jit(call), (state,)

    def _traced_layout(self, k: int, notes: list[str]) -> str:
        """The input layout a Flax module can be traced with (abstractly) at two window lengths, neither 1 nor ``k``:
        tokens if it traces with them, else the one that traces; a one-line error if none does."""
        traced, failures = [], {}
        for encoding in ENCODINGS:
            try:
                for length in (k + 2, k + 3):
                    x = encode(np.zeros((2, length), dtype=np.int64), encoding, k)
                    jax.eval_shape(self._fn, *self._args, jax.ShapeDtypeStruct(x.shape, x.dtype))
            except Exception as exc:  # noqa: BLE001 - a layout the module cannot take
                failures[encoding] = f"{type(exc).__name__}: {first_line(exc, 120)}"
            else:
                traced.append(encoding)
        if not traced:
            raise ModelError(
                f"model {self.name}: takes none of the input layouts seqcheck feeds (with tokens {_LAYOUTS['tokens']} it"
                f" raised {failures['tokens']}); fix the module, or pass {spell('encoding')} to see the error of the"
                f" layout it should take"
            )
        chosen = "tokens" if "tokens" in traced else traced[0]
        if len(traced) == 1:
            why = f"the only layout that model {self.name} can be traced with"
        elif chosen == "tokens":
            why = f"the default; model {self.name} can be traced with {', '.join(traced)} alike"
        else:
            why = f"the first of {', '.join(traced)}, which model {self.name} can all be traced with"
        if chosen != "tokens" or len(traced) > 1:
            notes.append(f"input layout {chosen} {_LAYOUTS[chosen]}: {why}; pass {spell('encoding')} to say otherwise")
        return chosen

    # -- calling --------------------------------------------------------------------------------

    @property
    def compile_count(self) -> int:
        """How many input shapes the compiled function has been called with: one trace and compilation each (fewer if
        a jitted function given had compiled some of them before)."""
        return len(self._shapes)

    def _run(self, x: np.ndarray) -> np.ndarray:
        """The compiled function's output on ``x`` (its shape counted), on the host, one row per window of ``x``."""
        self._shapes.add((x.shape, x.dtype.str))
        try:
            raw = self._fn(*self._args, x)
            out = np.asarray(raw) if isinstance(raw, (jax.Array, np.ndarray)) else None
        except Exception as exc:  # the model is the user's code: report, do not crash
            raise ModelError(
                f"model {self.name} raised {type(exc).__name__}: {first_line(exc)} on a batch of shape {x.shape};"
                f" fix the model or pass {spell('encoding')} to feed it the layout it expects"
            ) from exc
        if out is None:
            raise ModelError(
                f"model {self.name} returned a {type(raw).__name__} for a batch of shape {x.shape}, expected one array of"
                f" predictions; return only the predictions (jit a function that picks them out)"
            )
        if out.ndim == 0 or out.shape[0] != len(x):
            raise ModelError(
                f"model output shape={out.shape}: expected ({len(x)}, ...) for a batch of {len(x)} windows;"
                f" return one row per window"
            )
        return out

    def _call(self, x: np.ndarray) -> np.ndarray:
        """The outputs on ``x``, its batch padded to :func:`batch_bucket` rows for the call and sliced back."""
        return self._run(pad_rows(x, batch_bucket(len(x))))[: len(x)]

    def _call_native(self, x: np.ndarray) -> np.ndarray:
        return self._run(x)

    def _call_prefix(self, x: np.ndarray) -> np.ndarray:
        return self._call(x)

    def _call_prefix_native(self, x: np.ndarray) -> np.ndarray:
        return self._call_native(x)
