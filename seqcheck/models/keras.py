"""Adapter for Keras 3 models (files are loaded by :mod:`seqcheck.models.keras_files`).

Importing this module never imports TensorFlow or Keras: Keras is imported inside
:class:`KerasModel`'s methods, so that ``import seqcheck`` stays fast and framework-free.

Calling a Keras model through ``model.predict`` costs 70-120 ms a call.  :class:`KerasModel` evaluates
windows one of two ways (its ``engine``):

- ``"numpy"``: a model made of the usual sequence layers is translated to NumPy from its weights
  (:mod:`seqcheck.models.keras_numpy`): no graph to trace, microseconds per time step.  The
  translation is used only if it agrees with the model on a probe batch, and every window whose
  prediction is too close to call is evaluated by the model itself.
- ``"keras"``: one compiled function (on the TensorFlow backend a ``tf.function`` whose batch and time
  dimensions are ``None``), so that every window length, every batch size runs the same graph, with
  no retracing.  Batch invariance, a property of the framework's batched execution, always runs here.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

import numpy as np

from seqcheck.errors import ModelError, first_line, invalid
from seqcheck.spelling import spell
from seqcheck.models.base import (
    DECLARED_CAUSAL, ENGINES, ModelUnderTest, check_alphabet_size, check_causal, check_encoding, check_output_kind, encode, near_ties,
    output_width_error, resolve_encoding,
)
from seqcheck.models.keras_files import import_keras, load_keras_model

__all__ = ["KerasModel", "is_keras_model", "load_keras_file", "load_keras_model"]

#: TensorFlow's "{{function_node __inference_...}}" prefix on errors raised inside a traced function: noise to a user.
_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")

#: Layers too generic to describe a model ("Keras, LSTM" rather than "Keras, LSTM, Dense").
_PLAIN_LAYERS = frozenset({"InputLayer", "Dense", "Dropout", "Activation", "Softmax", "Flatten", "Reshape"})

#: Layers whose output size depends on the number of time steps: a model holding one is length-rigid.
_LENGTH_PINNING = frozenset({"Flatten", "Reshape"})

#: Largest difference allowed between the NumPy translation and the model on the probe batch.
PROBE_ATOL = 1e-5


#: ``engine="auto"`` translates a model to NumPy only if its largest recurrent kernel has at most this many weights
#: (an LSTM of 90 units, a GRU of 104, a SimpleRNN of 181), and then sends to Keras every call whose rows times
#: recurrent weights exceed :data:`NUMPY_MAX_WORK` a step (:data:`NUMPY_MAX_WORK_SHORT` for windows of at most
#: :data:`SHORT_STEPS` steps, where Keras's fixed cost of about 0.5 ms a call weighs most): beyond either, the compiled
#: Keras call is the faster.  Measured side by side on LSTM(4), LSTM(64), LSTM(256), 2xLSTM(128), LSTM(192) and
#: LSTM(1024), idle and with a core busy (``benchmarks/engines.py``).
NUMPY_MAX_KERNEL = 32_768
NUMPY_MAX_WORK, NUMPY_MAX_WORK_SHORT, SHORT_STEPS = 1 << 19, 1 << 20, 32

#: Time steps that confirmations may run through eager Keras calls before the compiled function is traced:
#: a few short windows are cheaper eagerly (about 2 ms a step) than a trace (0.1-0.2 s), many are not.
EAGER_STEPS = 64

_PROBABILITY_ACTIVATIONS = frozenset({"sigmoid", "softmax", "hard_sigmoid"})
_LOGIT_ACTIVATIONS = frozenset({"linear"})
_LOG_PROBABILITY_ACTIVATIONS = frozenset({"log_softmax", "log_sigmoid"})


def _shape(tensor: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in tensor.shape)


def _layer_names(model: Any, keras: Any) -> list[str]:
    names: list[str] = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):
            names.extend(_layer_names(layer, keras))
            continue
        name = type(layer).__name__
        inner = getattr(layer, "layer", None) or getattr(layer, "forward_layer", None)
        if inner is not None and isinstance(inner, keras.layers.Layer):  # TimeDistributed, Bidirectional
            inner_name = type(inner).__name__
            if inner_name in _PLAIN_LAYERS:
                continue
            name = f"{name}({inner_name})"
        if name not in _PLAIN_LAYERS:
            names.append(name)
    return list(dict.fromkeys(names))


def _has_layer(model: Any, keras: Any, cls: type) -> bool:
    """Whether ``model`` holds a layer of that class, looking inside nested models and wrappers."""
    return any(isinstance(layer, cls) for layer in walk_layers(model, keras))

def _output_layer(model: Any) -> Any:
    outputs = getattr(model, "outputs", None) or []
    history = getattr(outputs[0], "_keras_history", None) if outputs else None
    layer = getattr(history, "operation", None)
    if layer is None:
        layers = getattr(model, "layers", None) or []
        layer = layers[-1] if layers else None
    return layer


def _output_kind_from_activation(layer: Any) -> str:
    """"probabilities", "logits" or "auto" from the activation that ends the model."""
    if layer is None:
        return "auto"
    if hasattr(layer, "layers") and getattr(layer, "layers", None):  # a nested model: look at its end
        return _output_kind_from_activation(_output_layer(layer))
    if type(layer).__name__ == "Softmax":
        return "probabilities"
    activation = getattr(layer, "activation", None)
    if activation is None:
        inner = getattr(layer, "layer", None)  # TimeDistributed(Dense(...))
        activation = getattr(inner, "activation", None)
    if activation is None:
        return "auto"
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", "")
    if name in _PROBABILITY_ACTIVATIONS:
        return "probabilities"
    if name in _LOGIT_ACTIVATIONS:
        return "logits"
    if name in _LOG_PROBABILITY_ACTIVATIONS:
        return "log-probabilities"
    return "auto"


def walk_layers(model: Any, keras: Any):
    """Every layer of ``model``, looking inside nested models and wrappers (each once)."""
    stack, seen = list(getattr(model, "layers", [])), set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(getattr(layer, "layers", None) or [])
        for attr in ("layer", "forward_layer", "backward_layer"):
            inner = getattr(layer, attr, None)
            if isinstance(inner, keras.layers.Layer):
                stack.append(inner)


def _has_stateful_layer(model: Any, keras: Any) -> bool:
    return any(getattr(layer, "stateful", False) is True for layer in walk_layers(model, keras))


def _free_config(config: Any) -> None:
    """Edit a model config in place: free batch and time dimensions of its inputs, no stateful layer."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            inner = node.get("config")
            if node.get("class_name") == "InputLayer" and isinstance(inner, dict):
                for key in ("batch_shape", "batch_input_shape"):
                    shape = inner.get(key)
                    if isinstance(shape, (list, tuple)) and len(shape) >= 2:
                        inner[key] = [None, None, *shape[2:]]
            if isinstance(inner, dict) and inner.get("stateful") is True:
                inner["stateful"] = False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _rebuild(keras: Any, model: Any) -> Any:
    """A new model from ``model``'s config with free batch/time dimensions and no stateful layer, same weights.

    The config comes from objects already live in this process (a file was vetted when it was loaded), so
    rebuilding them loads no code that was not already loaded.
    """
    config = copy.deepcopy(model.get_config())
    _free_config(config)
    try:
        from keras.src.saving.serialization_lib import SafeModeScope
    except ImportError:  # pragma: no cover - other Keras layouts
        import contextlib

        scope = contextlib.nullcontext()
    else:
        scope = SafeModeScope(False)
    with scope:
        rebuilt = type(model).from_config(config)
    rebuilt.set_weights(model.get_weights())
    shape = _shape(rebuilt.inputs[0])
    if len(rebuilt.inputs) != 1 or shape[0] is not None or shape[1] is not None or _has_stateful_layer(rebuilt, keras):
        raise ModelError(f"the rebuilt model still has input shape {shape} or stateful layers")
    return rebuilt


def _snapshot(keras: Any, model: Any) -> list[tuple[Any, np.ndarray]]:
    """Every variable of ``model`` with a copy of its value: its weights, and the states of its stateful RNN
    layers, which Keras keeps out of ``model.variables``."""
    variables = {id(v): v for v in model.variables}
    for layer in walk_layers(model, keras):
        if getattr(layer, "stateful", False) is True and getattr(layer, "states", None) is not None:
            for state in keras.tree.flatten(layer.states):
                variables.setdefault(id(state), state)
    return [(v, np.array(v.numpy(), copy=True)) for v in variables.values()]


def _restore(snapshot: list[tuple[Any, np.ndarray]]) -> None:
    for variable, value in snapshot:
        variable.assign(value)


def _same_outputs(keras: Any, model: Any, copy: Any, shape: tuple, encoding: str, k: int) -> bool:
    """Whether ``copy`` gives ``model``'s outputs on random windows of two lengths (eager calls)."""
    rng = np.random.default_rng(0)
    for length in (3, 8):
        x = encode(rng.integers(0, k, size=(4, length)), encoding, k)
        ours = np.asarray(keras.ops.convert_to_numpy(copy(x, training=False)), dtype=np.float64)
        theirs = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)
        if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=1e-5, atol=1e-6, equal_nan=True):
            return False
    return True


def _verify_rebuilt(keras: Any, model: Any, rebuilt: Any, shape: tuple, encoding: str, k: int, *, stateful: bool) -> None:
    """Raise unless ``rebuilt`` gives ``model``'s outputs at its own length (a stateful model from reset states)
    and accepts windows one step shorter and longer. The user's model's variables and RNN states are restored afterwards."""
    length = shape[1] if shape[1] is not None else 7
    batch = shape[0] if shape[0] is not None else 3
    rng = np.random.default_rng(0)
    x = encode(rng.integers(0, k, size=(batch, length)), encoding, k)
    snapshot = _snapshot(keras, model)
    try:
        if stateful:
            for layer in walk_layers(model, keras):
                if getattr(layer, "stateful", False) is True and hasattr(layer, "reset_state"):
                    layer.reset_state()
        expected = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)
    finally:
        _restore(snapshot)
    got = np.asarray(keras.ops.convert_to_numpy(rebuilt(x, training=False)), dtype=np.float64)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True):
        raise ModelError(f"the rebuilt model's outputs differ from the model's at length {length}")
    for other in {max(1, length - 1), length + 1}:
        y = encode(rng.integers(0, k, size=(2, other)), encoding, k)
        out = np.asarray(keras.ops.convert_to_numpy(rebuilt(y, training=False)))
        if out.shape[0] != 2:
            raise ModelError(f"the rebuilt model returns shape {out.shape} at length {other}")


def is_keras_model(obj: object) -> bool:
    """Whether ``obj`` is a ``keras.Model`` (asked by the registry once the user has imported Keras)."""
    return isinstance(obj, import_keras().Model)


def load_keras_file(path: str | os.PathLike, *, allow_unsafe: bool = False, **options: Any) -> KerasModel:
    """A ``.keras`` file loaded safely (:func:`~seqcheck.models.keras_files.load_keras_model`) and wrapped."""
    return KerasModel(load_keras_model(path, allow_unsafe=allow_unsafe), name=os.fspath(path), **options)


class KerasModel(ModelUnderTest):
    """A ``keras.Model`` taking one sequence and returning one prediction, called through one compiled function.

    The input encoding is read from the model's input shape (``(B, L)`` -> ``"tokens"``,
    ``(B, L, 1)`` -> ``"scalar"``, ``(B, L, k)`` -> ``"onehot"``) unless ``encoding`` is given; the
    output kind (probabilities, logits or log-probabilities) from the last layer's activation unless
    ``output`` is given.  The user's model is never modified: not compiled, its weights and
    trainability untouched.

    With the ``numpy`` engine the model is *translated*: the translation finds verdicts, and every
    verdict a report shows is confirmed through Keras (``predict_proba(native=True)``); a
    disagreement makes the check call :meth:`use_framework` and run again in Keras.
    """

    free_length_fix = "rebuild it with keras.Input(shape=(None, ...))"

    def __init__(
        self,
        model: Any,
        *,
        alphabet_size: int,
        encoding: str | None = None,
        output: str = "auto",
        name: str | None = None,
        engine: str = "auto",
        classes: int | None = None,
        class_meaning: str = "",
        causal: str = "auto",
    ):
        keras = import_keras()
        check_causal(causal)
        if engine not in ENGINES:
            raise invalid("engine", engine, f"one of {', '.join(ENGINES)}", "leave engine='auto' unless you need one path")
        alphabet_size = check_alphabet_size(alphabet_size)
        if encoding is not None:
            check_encoding(encoding)
        check_output_kind(output)
        self.model = model
        self.name = name if name is not None else str(getattr(model, "name", None) or type(model).__name__)
        label = f"model {self.name}"

        inputs = self._tensors(model, "inputs")
        outputs = self._tensors(model, "outputs")
        if inputs is None:
            if encoding is None:
                raise ModelError(
                    f"{label}: has no known input shape (a subclassed or unbuilt model), expected a model built on keras.Input;"
                    f" build it with keras.Input(shape=(None, ...)) or pass {spell('encoding')}"
                )
            input_shape = (None, None) if encoding == "tokens" else (None, None, 1 if encoding == "scalar" else alphabet_size)
        else:
            if len(inputs) != 1:
                raise ModelError(
                    f"{label}: has {len(inputs)} inputs, expected exactly 1;"
                    f" wrap the model so that it takes one sequence and returns one prediction"
                )
            input_shape = _shape(inputs[0])
            encoding = resolve_encoding(label, input_shape, encoding, alphabet_size)
        if outputs is not None:
            if len(outputs) != 1:
                raise ModelError(
                    f"{label}: has {len(outputs)} outputs, expected exactly 1;"
                    f" wrap the model so that it takes one sequence and returns one prediction"
                )
            self._check_output_shape(label, _shape(outputs[0]), alphabet_size if classes is None else classes, class_meaning)
        if output == "auto":
            output = _output_kind_from_activation(_output_layer(model))

        super().__init__(alphabet_size=alphabet_size, encoding=encoding, output=output, classes=classes, class_meaning=class_meaning)
        backend = keras.backend.backend()
        on = "" if backend == "tensorflow" else f" (on {backend})"
        self.description = f"Keras{on}, " + (", ".join(_layer_names(model, keras)) or type(model).__name__)
        self.environment = {} if backend == "tensorflow" else {"KERAS_BACKEND": backend}
        #: Notes for the report (a rebuilt model, a length-rigid one), one sentence each.
        self.notes: list[str] = []
        #: The only window length the model accepts, for a length-rigid model; else ``None``.
        self.fixed_length: int | None = None
        runner = model
        if inputs is not None:
            runner, input_shape = self._free_dimensions(keras, model, label, input_shape, encoding, alphabet_size)
        #: The model actually called: the user's, or a rebuilt copy with the same weights (never the user's states).
        self.runner = runner
        self.input_shape = input_shape
        self._per_length = False
        self._fns = {}
        self._fn = self._build_function(keras, runner, encoding, input_shape)
        #: A causal model's per-step readout (a copy, or on the user's word the model itself), made on first use.
        self._per_step_source: Any = None
        self._per_step_fn = None
        self._find_per_step(keras, causal, outputs)
        #: How windows are evaluated: ``"numpy"`` (the model's weights in NumPy, verified) or ``"keras"``; and why.
        self.engine = "keras"
        self._program = None
        self._eager_steps = EAGER_STEPS
        # engine="numpy" runs every batch in NumPy; "auto" sends big ones to Keras.
        self._size_rule = engine == "auto"
        self.engine_reason: str = f"as asked ({spell('engine', 'keras')})"
        if engine != "keras":
            self._program, why_not = self._translate(runner)
            if self._program is None and engine == "numpy":
                raise ModelError(
                    f"{label}: engine='numpy' cannot run this model ({why_not});"
                    f" pass {spell('engine', 'auto')} or {spell('engine', 'keras')} to call it through Keras"
                )
            if self._program is None:
                self.engine_reason = f"no NumPy translation: {why_not}"
            elif engine == "auto" and max(self._program.recurrent_kernels, default=0) > NUMPY_MAX_KERNEL:
                self.engine_reason = (
                    f"a recurrent kernel of {max(self._program.recurrent_kernels):,} weights, over the {NUMPY_MAX_KERNEL:,}"
                    f" beyond which its compiled call outruns the NumPy translation"
                )
                self._program = None
            else:
                self.engine, self.translated = "numpy", True
                self.engine_reason = (
                    "its weights in NumPy, verified on a probe; large batches run in Keras" if engine == "auto"
                    else f"as asked ({spell('engine', 'numpy')})"
                )

    # -- construction ---------------------------------------------------------------------------

    @staticmethod
    def _tensors(model: Any, attr: str) -> list | None:
        try:
            tensors = getattr(model, attr)
        except (AttributeError, ValueError):  # unbuilt Sequential / subclassed model
            return None
        if tensors is None:
            return None
        return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]

    def _free_dimensions(self, keras: Any, model: Any, label: str, shape: tuple, encoding: str, k: int) -> tuple[Any, tuple]:
        """The model to call and its input shape: ``model`` itself when its batch and time dimensions are free
        and it holds no stateful RNN; else a copy rebuilt from its config with ``None`` batch and time
        dimensions, ``stateful=False`` and the same weights, verified to give the same outputs; else, for a
        fixed time dimension that layers like ``Flatten`` pin, ``model`` as a length-rigid model."""
        length, batch = shape[1], shape[0]
        stateful = _has_stateful_layer(model, keras)
        if length is None and batch is None and not stateful:
            return model, shape
        try:
            rebuilt = _rebuild(keras, model)
            _verify_rebuilt(keras, model, rebuilt, shape, encoding, k, stateful=stateful)
            failure = None
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot be rebuilt"
            rebuilt, failure = None, f"{type(exc).__name__}: {first_line(exc, 120)}"
        if rebuilt is not None:
            if length is not None:
                self.notes.append(
                    f"{label} takes windows of length {length} only (input shape {shape}); seqcheck checks a copy rebuilt"
                    f" with a free time dimension (None) and the same weights, verified to give the same outputs at length {length}"
                )
                self.description += f"; rebuilt for any length, was {length}"
            if batch is not None and not stateful:
                self.notes.append(f"{label} takes batches of {batch} windows only; seqcheck checks a copy rebuilt with a free batch dimension")
            if stateful:
                self.notes.append(
                    f"{label} holds stateful RNN layers; seqcheck checks a stateless copy with the same weights, so every"
                    f" window starts from a reset state, and the model's own states are never touched"
                )
                self.description += "; stateful, checked from reset states"
            return rebuilt, _shape(rebuilt.inputs[0])
        if stateful or batch is not None:
            what = "stateful RNN layers" if stateful else f"a fixed batch size of {batch}"
            raise ModelError(
                f"{label}: input shape={shape}: holds {what} and could not be rebuilt without it ({failure});"
                f" rebuild it with keras.Input(shape=...) without batch_size, stateful=False, and copy the weights"
                f" (model.get_weights()/set_weights())"
            )
        pinning = [type(layer).__name__ for layer in walk_layers(model, keras) if type(layer).__name__ in _LENGTH_PINNING]
        if pinning:
            failure = f"its {pinning[0]} layer ties the weights after it to {length} steps"
        self.fixed_length = int(length)
        self.notes.append(
            f"{label} is length-rigid: it accepts only windows of length {length} and cannot be rebuilt for other"
            f" lengths ({failure}); only length {length} can be checked: accuracy and phase-shift (oracle) at that"
            f" length, closed-loop periodic consistency with a sliding window of that length, and batch invariance"
        )
        self.description += f"; length-rigid, length {length} only"
        return model, shape

    @staticmethod
    def _check_output_shape(label: str, shape: tuple, classes: int, meaning: str) -> None:
        if len(shape) not in (1, 2, 3):
            raise ModelError(
                f"{label}: output shape={shape}: expected (batch,), (batch, k) or per-step (batch, time, k);"
                f" end the model with a Dense layer giving one prediction per window"
            )
        width = 1 if len(shape) == 1 else shape[-1]
        if width is None or width == classes or (width == 1 and classes == 2):
            return
        raise ModelError(f"{label}: {output_width_error(width, classes, meaning)}")

    @staticmethod
    def _compiled(keras: Any, model: Any, encoding: str, input_shape: tuple, length: int | None = None):
        """``model``'s compiled call on the Keras backend in use, with ``None`` batch and ``length`` time dimensions:

        - TensorFlow: one ``tf.function`` with that input signature (traced once);
        - JAX: ``jax.jit`` of the model's stateless call, its weights passed as arguments (compiled once per shape);
        - torch: the model called under ``torch.inference_mode()`` (PyTorch runs eagerly).
        """
        backend = keras.backend.backend()
        if backend == "jax":
            import jax

            trainable = [v.value for v in model.trainable_variables]
            non_trainable = [v.value for v in model.non_trainable_variables]
            stateless = jax.jit(lambda t, n, x: model.stateless_call(t, n, x, training=False)[0])
            return lambda x: stateless(trainable, non_trainable, x)
        if backend == "torch":
            return KerasModel._eager(keras, model)
        import tensorflow as tf

        dtype = tf.int32 if encoding == "tokens" else tf.float32
        spec = tf.TensorSpec(shape=(None, length) + tuple(input_shape[2:]), dtype=dtype)
        # Calling a Keras model needs no AutoGraph conversion; skipping it halves the first trace.
        return tf.function(lambda x: model(x, training=False), input_signature=[spec], reduce_retracing=True, autograph=False)

    @staticmethod
    def _eager(keras: Any, model: Any):
        """``model`` called op by op, with no trace (on the torch backend, under ``torch.inference_mode()``)."""
        if keras.backend.backend() != "torch":
            return lambda x: model(x, training=False)
        import torch

        def call(x):
            with torch.inference_mode():
                return model(x, training=False)

        return call

    def _build_function(self, keras: Any, model: Any, encoding: str, input_shape: tuple):
        """The model's compiled call (:meth:`_compiled`) with ``None`` batch and time dimensions.

        In Keras 3.15, ``TimeDistributed`` under a symbolic time dimension maps over ``range(batch size)`` rather than
        ``range(time steps)`` (it reads ``shape[0]`` before swapping the axes), which silently truncates or breaks
        per-step outputs.  A model whose ``TimeDistributed`` layers wrap ``Dense`` layers is called through a copy with
        each ``Dense`` in their place (a ``Dense`` acts on the last axis: the same function, one trace for every
        length); any other ``TimeDistributed`` model gets one function per window length, with a static time dimension.
        """
        from seqcheck.models.keras_causal import without_time_distributed

        self._per_length = input_shape[1] is None and _has_layer(model, keras, keras.layers.TimeDistributed)
        if self._per_length:
            plain = without_time_distributed(keras, model)
            if plain is not None and _same_outputs(keras, model, plain, input_shape, encoding, self.alphabet_size):
                self.runner, model, self._per_length = plain, plain, False
        if self._per_length:
            self._fns: dict[int, Any] = {}

            def by_length(x):
                length = x.shape[1]
                if length not in self._fns:
                    self._fns[length] = self._compiled(keras, model, encoding, input_shape, length)
                return self._fns[length](x)

            return by_length
        fn = self._compiled(keras, model, encoding, input_shape, input_shape[1])
        self._fns = {input_shape[1]: fn}
        return fn

    def _find_per_step(self, keras: Any, causal: str, outputs: list | None) -> None:
        """Whether the model is causal (:mod:`seqcheck.models.keras_causal`), and why or why not; its per-step readout
        is a copy that reads out at every step, made by the first prefix pass (:meth:`_per_step_function`), or on the
        user's word (``causal="yes"``) the model's own per-step outputs."""
        from seqcheck.models.keras_causal import NotCausal, prove_causal

        if causal == "no":
            self.causal_reason = "causal='no' given"
            return
        if self.fixed_length is not None:
            self.causal_reason = f"the model is length-rigid (length {self.fixed_length} only)"
            return
        try:
            self.causal_reason = prove_causal(keras, self.runner)
        except NotCausal as exc:
            per_step_outputs = outputs is not None and len(_shape(outputs[0])) == 3
            if causal == "auto":
                self.causal_reason = f"not proven causal: {exc}; pass {spell('causal', 'yes')} if it is"
                return
            if not per_step_outputs:
                raise ModelError(
                    f"model {self.name}: declared causal, but it returns one output per window ({exc});"
                    f" give it per-step outputs (return_sequences=True) or pass {spell('causal', 'no')}"
                ) from None
            self._per_step_source = self.runner
            self.causal_reason = DECLARED_CAUSAL
        self.causal = True

    def _per_step_function(self) -> Any:
        """The compiled function of the per-step readout, made (and the readout copied) on the first prefix pass."""
        if self._per_step_fn is None:
            from seqcheck.models.keras_causal import per_step_model

            keras = import_keras()
            if self._per_step_source is None:
                self._per_step_source = per_step_model(keras, self.runner)[0]
            per_step = self._per_step_source
            self._per_step_fn = self._compiled(keras, per_step, self.encoding, self.input_shape)
        return self._per_step_fn

    def _translate(self, runner: Any) -> tuple[Any, str | None]:
        """The model's :class:`~seqcheck.models.keras_numpy.NumpyProgram`, if it can be built and agrees with the
        model on a probe batch (16 random windows of length 4, every probability within ``PROBE_ATOL``);
        else ``None`` and why."""
        from seqcheck.models.keras_numpy import Untranslatable, translate

        if self.fixed_length is not None:
            return None, "the model is length-rigid"
        try:
            program = translate(runner)
        except Untranslatable as exc:
            return None, str(exc)
        k = self.alphabet_size
        # Length 4: every weight is used from the second step on; the eager call costs a few ms per step.
        x = encode(np.random.default_rng(0).integers(0, k, size=(16, 4)), self.encoding, k)
        try:
            expected = self.decode(self._call_keras(x, eager=True), len(x))
            got = self.decode(program(x), len(x))
        except Exception as exc:  # noqa: BLE001 - a translation that cannot run is not used
            return None, f"the probe failed: {type(exc).__name__}: {first_line(exc, 120)}"
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=0, atol=PROBE_ATOL, equal_nan=True):
            gaps = np.abs(got - expected)[np.isfinite(got - expected)] if got.shape == expected.shape else np.empty(0)
            deviation = float(gaps.max()) if gaps.size else float("inf")  # NaN on one side only: no finite gap
            return None, f"the translation differs from the model by {deviation:.3g} on the probe batch"
        return program, None

    # -- calling --------------------------------------------------------------------------------

    @property
    def tracing_count(self) -> int | None:
        """How many times the compiled function was traced: 1 after its first call, whatever the lengths and batch
        sizes (one per distinct length for models holding ``TimeDistributed``); 0 while the ``numpy`` engine has
        needed no Keras call (no window too close to call, no batch invariance); ``None`` off TensorFlow."""
        if import_keras().backend.backend() != "tensorflow":
            return None
        return sum(int(fn.experimental_get_tracing_count()) for fn in self._fns.values())

    def _numpy_takes(self, x: np.ndarray) -> bool:
        """Whether the NumPy program runs this batch: it is translated, and (with ``engine="auto"``) the batch's rows
        times recurrent weights are within :data:`NUMPY_MAX_WORK` (:data:`NUMPY_MAX_WORK_SHORT` for short windows)."""
        if self._program is None:
            return False
        if not self._size_rule:
            return True
        limit = NUMPY_MAX_WORK_SHORT if x.shape[1] <= SHORT_STEPS else NUMPY_MAX_WORK
        return len(x) * sum(self._program.recurrent_kernels) <= limit

    def _call_prefix(self, x: np.ndarray) -> np.ndarray:
        """Per-step outputs ``(B, L, width)``: the NumPy program's, else the framework's."""
        if not self._numpy_takes(x):
            return self._call_prefix_native(x)
        return self._program.per_step(x)

    def _call_prefix_native(self, x: np.ndarray) -> np.ndarray:
        """Per-step outputs through Keras: the per-step copy's compiled function."""
        return self._run_keras(self._per_step_function(), x)

    def _call(self, x: np.ndarray) -> np.ndarray:
        """The NumPy program's output, with every too-close-to-call window's row from Keras itself."""
        if not self._numpy_takes(x):
            return self._call_keras(x)
        raw = self._program(x)
        undecided = near_ties(self.decode(raw, len(x)))
        if undecided.any():
            raw = np.array(raw, copy=True)
            raw[undecided] = self._call_keras(x[undecided])
        return raw

    def expect_native_steps(self, steps: int) -> None:
        """More steps than :data:`EAGER_STEPS` ahead: compile at once rather than after spending the eager budget."""
        if steps > self._eager_steps:
            self._eager_steps = 0

    def _call_native(self, x: np.ndarray) -> np.ndarray:
        """Through Keras: eagerly while :data:`EAGER_STEPS` last and nothing is traced yet, then compiled."""
        eager = self._eager_steps >= x.shape[1] and not self.tracing_count
        if eager:
            self._eager_steps -= x.shape[1]
        return self._call_keras(x, eager=eager)

    def use_framework(self, reason: str) -> None:
        """Stop using the translation: every window from now on is evaluated by Keras (the ``keras`` engine)."""
        self._program = None
        self.translated = False
        self.engine, self.engine_reason = "keras", reason

    def _call_keras(self, x: np.ndarray, *, eager: bool = False) -> np.ndarray:
        """The model's output through Keras: its compiled function, or the model itself called eagerly (no trace,
        slower per call: for a one-off call such as the probe)."""
        if self.fixed_length is not None and x.shape[1] != self.fixed_length:
            raise ModelError(
                f"model {self.name} is length-rigid: it accepts only windows of length {self.fixed_length}, not"
                f" {x.shape[1]}; check it with --min-length {self.fixed_length} --max-length {self.fixed_length},"
                f" or rebuild it with a free time dimension (keras.Input(shape=(None, ...)))"
            )
        return self._run_keras(self._fn if not eager else self._eager(import_keras(), self.runner), x)

    def _run_keras(self, fn: Any, x: np.ndarray) -> np.ndarray:
        """``fn(x)`` (the model, or its per-step copy, through Keras) as a NumPy array; a failure is the model's one-line error."""
        try:
            raw = fn(x)
            if isinstance(raw, dict) and len(raw) == 1:
                raw = next(iter(raw.values()))
            if isinstance(raw, (list, tuple)) and len(raw) == 1:
                raw = raw[0]
            out = np.asarray(import_keras().ops.convert_to_numpy(raw))
            self.ran(x.shape[1])
            return out
        except ModelError:
            raise
        except Exception as exc:  # the model is the user's: report, do not crash
            said = _FUNCTION_NODE.sub("", first_line(exc))
            fix = self.failure_fix(x.shape[1], f"check the model's input layout or pass {spell('encoding')}")
            raise ModelError(f"model {self.name} raised {type(exc).__name__}: {said} on a batch of shape {x.shape}; {fix}") from exc
