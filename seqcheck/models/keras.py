"""Adapter for Keras 3 models, and the loader of ``.keras`` files.

Importing this module never imports TensorFlow or Keras: Keras is imported inside
:func:`load_keras_model` and inside :class:`KerasModel`'s methods, so that ``import seqcheck`` stays
fast and framework-free.

Calling a Keras model through ``model.predict`` costs 70-120 ms a call; :class:`KerasModel` builds one
compiled function (on the TensorFlow backend a ``tf.function`` whose batch and time dimensions are
``None``) so that every window length, every batch size runs the same graph, with no retracing.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from seqcheck.errors import ModelError, invalid
from seqcheck.models.base import ModelUnderTest, check_encoding, check_output_kind

__all__ = ["KerasModel", "load_keras_model"]

_UNSAFE_MARKERS = ("safe_mode=False", "enable_unsafe_deserialization", "arbitrary code execution")

#: Layers too generic to describe a model ("Keras, LSTM" rather than "Keras, LSTM, Dense").
_PLAIN_LAYERS = frozenset({"InputLayer", "Dense", "Dropout", "Activation", "Softmax", "Flatten", "Reshape"})

_PROBABILITY_ACTIVATIONS = frozenset({"sigmoid", "softmax", "hard_sigmoid"})
_LOGIT_ACTIVATIONS = frozenset({"linear", "log_softmax", "log_sigmoid"})


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    line = text[0].strip() if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _exception_chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _import_keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def _check_model_file(path: str) -> None:
    """Raise :class:`ModelError` unless ``path`` looks like a loadable ``.keras`` zip file."""
    resave = "load it in Keras and re-save it with model.save('m.keras')"
    if not os.path.exists(path):
        raise ModelError(f"model path={path!r}: no such file; check the path (a .keras file saved with model.save('m.keras'))")
    if os.path.isdir(path):
        raise ModelError(
            f"model path={path!r}: is a folder, expected a .keras file (SavedModel folders are not supported); {resave}"
        )
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".h5", ".hdf5"):
        raise ModelError(f"model path={path!r}: HDF5 ({suffix}) files are not supported, expected a .keras file; {resave}")
    if suffix != ".keras":
        raise ModelError(
            f"model path={path!r}: expected a .keras file (HDF5 .h5 and SavedModel are not supported); {resave}"
        )
    if os.path.getsize(path) == 0:
        raise ModelError(f"model path={path!r}: the file is empty, expected a .keras zip archive; save the model again with model.save('m.keras')")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(
            f"model path={path!r}: is not a valid zip archive ({_first_line(exc)}), expected a .keras file;"
            f" the file is truncated or corrupt: save the model again with model.save('m.keras')"
        ) from exc
    if "config.json" not in names:
        raise ModelError(
            f"model path={path!r}: is a zip archive without config.json, not a Keras model;"
            f" save the model with model.save('m.keras')"
        )


def load_keras_model(path: str | os.PathLike, *, allow_unsafe: bool = False) -> Any:
    """Load a ``.keras`` file as a ``keras.Model`` (uncompiled), in Keras's safe mode unless ``allow_unsafe``.

    Every failure -- a missing, empty, truncated or non-``.keras`` file, a model holding Python code
    (a ``Lambda`` layer) refused by safe mode, any error of Keras's loader -- raises a one-line
    :class:`~seqcheck.errors.ModelError` that says how to fix it.
    """
    path = os.fspath(path)
    _check_model_file(path)
    keras = _import_keras()
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=not allow_unsafe)
    except Exception as exc:
        if not allow_unsafe and any(m in str(e) for e in _exception_chain(exc) for m in _UNSAFE_MARKERS):
            raise ModelError(
                f"model path={path!r}: carries Python code (a Lambda layer or lambda) that Keras safe mode refuses to load;"
                f" if you trust the file, opt in with --unsafe-load (CLI) or allow_unsafe=True (Python)"
            ) from exc
        raise ModelError(
            f"model path={path!r}: could not be loaded as a Keras model ({type(exc).__name__}: {_first_line(exc)});"
            f" save it with Keras 3 as model.save('m.keras') and make custom layers importable"
            f" (keras.saving.register_keras_serializable)"
        ) from exc
    if not isinstance(model, keras.Model):
        raise ModelError(
            f"model path={path!r}: holds a {type(model).__name__}, expected a keras.Model; save the model itself with model.save('m.keras')"
        )
    return model


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
    stack, seen = list(getattr(model, "layers", [])), set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, cls):
            return True
        stack.extend(getattr(layer, "layers", None) or [])
        for attr in ("layer", "forward_layer", "backward_layer"):
            inner = getattr(layer, attr, None)
            if isinstance(inner, keras.layers.Layer):
                stack.append(inner)
    return False


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
    return "auto"


class KerasModel(ModelUnderTest):
    """A ``keras.Model`` taking one sequence and returning one prediction, called through one compiled function.

    The input encoding is read from the model's input shape (``(B, L)`` -> ``"tokens"``,
    ``(B, L, 1)`` -> ``"scalar"``, ``(B, L, k)`` -> ``"onehot"``) unless ``encoding`` is given; the
    output kind (probabilities or logits) from the last layer's activation unless ``output`` is given.
    The user's model is never modified: not compiled, its weights and trainability untouched.
    """

    def __init__(self, model: Any, *, alphabet_size: int, encoding: str | None = None, output: str = "auto", name: str | None = None):
        keras = _import_keras()
        if isinstance(alphabet_size, bool) or not isinstance(alphabet_size, (int, np.integer)) or alphabet_size < 2:
            raise invalid("alphabet_size", alphabet_size, "an integer >= 2", "pass the number of symbols of the pattern's alphabet")
        alphabet_size = int(alphabet_size)
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
                    f" build it with keras.Input(shape=(None, ...)) or pass encoding="
                )
            input_shape = (None, None) if encoding == "tokens" else (None, None, 1 if encoding == "scalar" else alphabet_size)
        else:
            if len(inputs) != 1:
                raise ModelError(
                    f"{label}: has {len(inputs)} inputs, expected exactly 1;"
                    f" wrap the model so that it takes one sequence and returns one prediction"
                )
            input_shape = _shape(inputs[0])
            encoding = self._resolve_encoding(label, input_shape, encoding, alphabet_size)
        if outputs is not None:
            if len(outputs) != 1:
                raise ModelError(
                    f"{label}: has {len(outputs)} outputs, expected exactly 1;"
                    f" wrap the model so that it takes one sequence and returns one prediction"
                )
            self._check_output_shape(label, _shape(outputs[0]), alphabet_size)
        if output == "auto":
            output = _output_kind_from_activation(_output_layer(model))

        super().__init__(alphabet_size=alphabet_size, encoding=encoding, output=output)
        self.input_shape = input_shape
        self.description = "Keras, " + (", ".join(_layer_names(model, keras)) or type(model).__name__)
        self._per_length = False
        self._fns = {}
        self._fn = self._build_function(keras, model, encoding, input_shape)

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

    @staticmethod
    def _resolve_encoding(label: str, shape: tuple, encoding: str | None, alphabet_size: int) -> str:
        rank = len(shape)
        if encoding is None:
            if rank == 2:
                encoding = "tokens"
            elif rank == 3 and shape[-1] == 1:
                encoding = "scalar"
            elif rank == 3 and shape[-1] == alphabet_size:
                encoding = "onehot"
            else:
                raise ModelError(
                    f"{label}: input shape={shape}: expected (batch, time) integer tokens, (batch, time, 1) scalars"
                    f" or (batch, time, {alphabet_size}) one-hot vectors; pass encoding='tokens'|'scalar'|'onehot'"
                    f" or check alphabet_size"
                )
        else:
            expected = {"tokens": (2, None), "scalar": (3, 1), "onehot": (3, alphabet_size)}[encoding]
            fits = rank == expected[0] and (expected[1] is None or shape[-1] in (None, expected[1]))
            if not fits:
                want = {"tokens": "(batch, time)", "scalar": "(batch, time, 1)", "onehot": f"(batch, time, {alphabet_size})"}[encoding]
                raise ModelError(
                    f"{label}: input shape={shape} does not fit encoding={encoding!r}, expected {want};"
                    f" pass the encoding that matches the model's input or leave encoding=None to detect it"
                )
        if shape[1] is not None:
            rest = "" if rank == 2 else f", {shape[-1]}"
            raise ModelError(
                f"{label}: input shape={shape}: the model only accepts windows of length {shape[1]}, expected a free time"
                f" dimension (None); rebuild it with keras.Input(shape=(None{rest})) and copy the weights"
                f" (model.get_weights()/set_weights())"
            )
        if shape[0] is not None:
            raise ModelError(
                f"{label}: input shape={shape}: the model only accepts batches of exactly {shape[0]} windows, expected a"
                f" free batch dimension (None); rebuild it with keras.Input(shape=...) without batch_size and copy the weights"
            )
        return encoding

    @staticmethod
    def _check_output_shape(label: str, shape: tuple, alphabet_size: int) -> None:
        if len(shape) not in (1, 2, 3):
            raise ModelError(
                f"{label}: output shape={shape}: expected (batch,), (batch, k) or per-step (batch, time, k);"
                f" end the model with a Dense layer giving one prediction per window"
            )
        width = 1 if len(shape) == 1 else shape[-1]
        if width is None or width == alphabet_size:
            return
        if width == 1:
            if alphabet_size != 2:
                raise ModelError(
                    f"{label}: output width=1 fits a binary alphabet, but the pattern has alphabet_size={alphabet_size};"
                    f" give the model a softmax over {alphabet_size} symbols or check a binary pattern"
                )
            return
        raise ModelError(
            f"{label}: output width={width}: expected {alphabet_size} (one per symbol of the pattern's alphabet)"
            f" or 1 (binary); pass alphabet_size={width} if the model's alphabet is larger than the pattern's"
        )

    def _build_function(self, keras: Any, model: Any, encoding: str, input_shape: tuple):
        """One ``tf.function`` with ``None`` batch and time dimensions (``None`` off the TensorFlow backend).

        Models holding a ``TimeDistributed`` layer get one function per window length instead: in Keras
        3.15, ``TimeDistributed`` under a symbolic time dimension maps over ``range(batch size)`` rather than
        ``range(time steps)`` (it reads ``shape[0]`` before swapping the axes), which silently truncates or
        breaks per-step outputs; with a static time dimension it unrolls a correct Python loop.
        """
        if keras.backend.backend() != "tensorflow":
            return None
        import tensorflow as tf

        dtype = tf.int32 if encoding == "tokens" else tf.float32
        rest = tuple(input_shape[2:])

        def make(length: int | None):
            spec = tf.TensorSpec(shape=(None, length) + rest, dtype=dtype)
            return tf.function(lambda x: model(x, training=False), input_signature=[spec], reduce_retracing=True)

        self._per_length = _has_layer(model, keras, keras.layers.TimeDistributed)
        if self._per_length:
            self._fns: dict[int, Any] = {}

            def by_length(x):
                length = x.shape[1]
                if length not in self._fns:
                    self._fns[length] = make(length)
                return self._fns[length](x)

            return by_length
        fn = make(None)
        self._fns = {None: fn}
        return fn

    # -- calling --------------------------------------------------------------------------------

    @property
    def tracing_count(self) -> int | None:
        """How many times the compiled function was traced: 1 after the first call, whatever the lengths and batch
        sizes (one per distinct length for models holding ``TimeDistributed``); ``None`` off TensorFlow."""
        if self._fn is None:
            return None
        return sum(int(fn.experimental_get_tracing_count()) for fn in self._fns.values())

    def _call(self, x: np.ndarray) -> np.ndarray:
        try:
            if self._fn is not None:
                raw = self._fn(x)
            else:
                raw = self.model(x, training=False)
            if isinstance(raw, dict) and len(raw) == 1:
                raw = next(iter(raw.values()))
            if isinstance(raw, (list, tuple)) and len(raw) == 1:
                raw = raw[0]
            if hasattr(raw, "numpy"):
                return np.asarray(raw.numpy())
            import keras

            return np.asarray(keras.ops.convert_to_numpy(raw))
        except ModelError:
            raise
        except Exception as exc:  # the model is the user's: report, do not crash
            raise ModelError(
                f"model {self.name} raised {type(exc).__name__}: {_first_line(exc)} on a batch of shape {x.shape};"
                f" check the model's input layout or pass encoding="
            ) from exc
