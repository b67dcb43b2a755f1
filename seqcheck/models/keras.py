"""Adapter for Keras 3 models, and the loader of ``.keras`` files.

Importing this module never imports TensorFlow or Keras: Keras is imported inside
:func:`load_keras_model` and inside :class:`KerasModel`'s methods, so that ``import seqcheck`` stays
fast and framework-free.

Calling a Keras model through ``model.predict`` costs 70-120 ms a call; :class:`KerasModel` builds one
compiled function (on the TensorFlow backend a ``tf.function`` whose batch and time dimensions are
``None``) so that every window length, every batch size runs the same graph, with no retracing.
"""

from __future__ import annotations

import copy
import json
import os
import re
import zipfile
from typing import Any

import numpy as np

from seqcheck.errors import ModelError, first_line, invalid
from seqcheck.models.base import ModelUnderTest, check_encoding, check_output_kind

__all__ = ["KerasModel", "load_keras_model", "check_keras_version", "MIN_KERAS_VERSION", "KERAS_ADVISORIES"]

#: The oldest Keras that fixes every published advisory in which a model file ran code despite safe
#: mode. Loading a model file with an older Keras is refused unless the user opts in (``allow_unsafe``).
MIN_KERAS_VERSION = (3, 14, 1)
KERAS_ADVISORIES = (
    "CVE-2025-1550", "CVE-2025-8747", "CVE-2025-9906", "CVE-2025-9905",
    "CVE-2026-1462", "CVE-2026-1669", "CVE-2026-12480",
)

#: Objects of a ``.keras`` config that carry or run code: refused before Keras parses the file.
_CODE_CLASSES = {
    "Lambda": "a Lambda layer (Python code)",
    "TFSMLayer": "a TFSMLayer (a TensorFlow SavedModel graph, CVE-2026-1462)",
    "__lambda__": "a serialized Python lambda",
    "__python_function__": "a serialized Python function",
}
#: Python modules a config may name (anything else would be imported by Keras to build the model).
_TRUSTED_MODULES = ("keras",)
#: Bounds on what is read from an archive before Keras sees it.
_MAX_CONFIG_BYTES = 64 << 20
_MAX_ARCHIVE_BYTES = 4 << 30
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_UNSAFE_OPT_IN = "if you trust the file, opt in with --unsafe-load (CLI) or allow_unsafe=True (Python)"

_UNSAFE_MARKERS = ("safe_mode=False", "enable_unsafe_deserialization", "arbitrary code execution")

#: Layers too generic to describe a model ("Keras, LSTM" rather than "Keras, LSTM, Dense").
_PLAIN_LAYERS = frozenset({"InputLayer", "Dense", "Dropout", "Activation", "Softmax", "Flatten", "Reshape"})

#: Layers whose output size depends on the number of time steps: a model holding one is length-rigid.
_LENGTH_PINNING = frozenset({"Flatten", "Reshape"})

_PROBABILITY_ACTIVATIONS = frozenset({"sigmoid", "softmax", "hard_sigmoid"})
_LOGIT_ACTIVATIONS = frozenset({"linear", "log_softmax", "log_sigmoid"})


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


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts) or (0,)


def check_keras_version(keras: Any = None, *, allow_unsafe: bool = False) -> str:
    """Refuse (:class:`ModelError`) to load model files with a Keras older than :data:`MIN_KERAS_VERSION`.

    Such versions have published advisories in which a crafted model file runs code despite safe mode.
    ``allow_unsafe=True`` (``--unsafe-load``) lets the user load files they trust anyway. Returns the version.
    """
    keras = keras if keras is not None else _import_keras()
    version = str(getattr(keras, "__version__", "0"))
    if _version_tuple(version) < MIN_KERAS_VERSION and not allow_unsafe:
        wanted = ".".join(map(str, MIN_KERAS_VERSION))
        raise ModelError(
            f"keras version={version!r}: expected {wanted} or later, because older Keras releases let a crafted"
            f" model file run code despite safe mode ({', '.join(KERAS_ADVISORIES)}); upgrade with"
            f" pip install 'keras>={wanted}', or {_UNSAFE_OPT_IN}"
        )
    return version


def _read_head(path: str, size: int = 8) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except PermissionError as exc:
        raise ModelError(
            f"model path={path!r}: cannot be read (permission denied), expected a readable .keras file;"
            f" check the file's permissions"
        ) from exc
    except OSError as exc:
        raise ModelError(
            f"model path={path!r}: cannot be read ({type(exc).__name__}: {first_line(exc)}), expected a readable"
            f" .keras file; check the path and the disk"
        ) from exc


def _importable(module: str) -> bool:
    """Whether the top-level package of ``module`` is installed (found without importing anything).

    A module that cannot be found cannot run code: Keras's loader then fails with its own error.
    """
    import importlib.util

    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return True


def _code_in_config(config: Any) -> str | None:
    """The first object of a ``.keras`` config that carries code or names a module outside Keras, if any."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = node.get("class_name")
            if isinstance(name, str) and name in _CODE_CLASSES:
                return _CODE_CLASSES[name]
            module = node.get("module")
            if isinstance(module, str) and module and module.split(".")[0] not in _TRUSTED_MODULES and _importable(module):
                return f"a reference to the Python module {module!r} (code outside Keras, imported on loading)"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def _check_model_file(path: str, *, allow_unsafe: bool = False) -> None:
    """Raise :class:`ModelError` unless ``path`` looks like a loadable, code-free ``.keras`` zip file.

    Nothing here runs the file's content: it is read as bytes, as a zip listing and as JSON.
    """
    resave = "load it in Keras in a trusted environment and re-save it with model.save('m.keras')"
    if not os.path.lexists(path):
        raise ModelError(f"model path={path!r}: no such file; check the path (a .keras file saved with model.save('m.keras'))")
    if os.path.isdir(path):
        savedmodel = os.path.exists(os.path.join(path, "saved_model.pb"))
        kind = "a TensorFlow SavedModel folder" if savedmodel else "a folder"
        raise ModelError(
            f"model path={path!r}: is {kind}, expected a .keras file; SavedModel folders are refused because loading"
            f" one runs its serialized TensorFlow graph, which safe mode cannot vet (CVE-2026-1462); {resave}"
        )
    if not os.path.isfile(path):
        raise ModelError(f"model path={path!r}: is not a regular file, expected a .keras file; {resave}")
    suffix = os.path.splitext(path)[1].lower()
    head = _read_head(path)
    if suffix in (".h5", ".hdf5") or head.startswith(_HDF5_MAGIC):
        raise ModelError(
            f"model path={path!r}: is a legacy HDF5 model, not supported because Keras's HDF5 loader"
            f" bypassed safe mode (CVE-2025-9905) and can hold marshalled Python code; expected a .keras file; {resave}"
        )
    if suffix != ".keras":
        raise ModelError(
            f"model path={path!r}: expected a .keras file (HDF5 .h5 and SavedModel folders are not supported); {resave}"
        )
    if not head:
        raise ModelError(f"model path={path!r}: the file is empty, expected a .keras zip archive; save the model again with model.save('m.keras')")
    if not head.startswith(_ZIP_MAGIC):
        raise ModelError(
            f"model path={path!r}: is not a zip archive (a .keras file is one), expected a .keras file;"
            f" the file is corrupt or of another kind: save the model again with model.save('m.keras')"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if "config.json" not in names:
                raise ModelError(
                    f"model path={path!r}: is a zip archive without config.json, not a Keras model;"
                    f" save the model with model.save('m.keras')"
                )
            if sum(info.file_size for info in infos) > _MAX_ARCHIVE_BYTES:
                raise ModelError(
                    f"model path={path!r}: unpacks to more than {_MAX_ARCHIVE_BYTES >> 30} GiB, expected a model of"
                    f" reasonable size; check the file (it may be a zip bomb)"
                )
            if archive.getinfo("config.json").file_size > _MAX_CONFIG_BYTES:
                raise ModelError(
                    f"model path={path!r}: config.json is larger than {_MAX_CONFIG_BYTES >> 20} MiB, expected a"
                    f" model config; check the file"
                )
            raw = archive.read("config.json")
    except ModelError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError, ValueError) as exc:
        raise ModelError(
            f"model path={path!r}: is not a valid zip archive ({first_line(exc)}), expected a .keras file;"
            f" the file is truncated or corrupt: save the model again with model.save('m.keras')"
        ) from exc
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(
            f"model path={path!r}: config.json is not valid JSON ({first_line(exc)}), expected a Keras model config;"
            f" the file is corrupt: save the model again with model.save('m.keras')"
        ) from exc
    if not allow_unsafe:
        found = _code_in_config(config)
        if found is not None:
            raise ModelError(
                f"model path={path!r}: carries {found}, which could run arbitrary code when loaded, so seqcheck"
                f" refuses it as Keras safe mode does; {_UNSAFE_OPT_IN}"
            )


def load_keras_model(path: str | os.PathLike, *, allow_unsafe: bool = False) -> Any:
    """Load a ``.keras`` file as a ``keras.Model`` (uncompiled), in Keras's safe mode unless ``allow_unsafe``.

    Every failure -- a missing, empty, truncated or non-``.keras`` file, a model holding Python code
    (a ``Lambda`` layer, a ``TFSMLayer``, a module outside Keras) refused before loading and by safe
    mode, a Keras older than :data:`MIN_KERAS_VERSION`, any error of Keras's loader -- raises a
    one-line :class:`~seqcheck.errors.ModelError` that says how to fix it.
    """
    path = os.fspath(path)
    _check_model_file(path, allow_unsafe=allow_unsafe)
    keras = _import_keras()
    check_keras_version(keras, allow_unsafe=allow_unsafe)
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=not allow_unsafe)
    except Exception as exc:
        if not allow_unsafe and any(m in str(e) for e in _exception_chain(exc) for m in _UNSAFE_MARKERS):
            raise ModelError(
                f"model path={path!r}: carries Python code (a Lambda layer or lambda) that Keras safe mode refuses to load;"
                f" {_UNSAFE_OPT_IN}"
            ) from exc
        raise ModelError(
            f"model path={path!r}: could not be loaded as a Keras model ({type(exc).__name__}: {first_line(exc)});"
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
    return any(isinstance(layer, cls) for layer in _walk_layers(model, keras))

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


def _walk_layers(model: Any, keras: Any):
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
    return any(getattr(layer, "stateful", False) is True for layer in _walk_layers(model, keras))


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


def _snapshot(model: Any) -> list[tuple[Any, np.ndarray]]:
    return [(v, np.array(v.numpy(), copy=True)) for v in model.variables]


def _restore(snapshot: list[tuple[Any, np.ndarray]]) -> None:
    for variable, value in snapshot:
        variable.assign(value)


def _verify_rebuilt(keras: Any, model: Any, rebuilt: Any, shape: tuple, encoding: str, k: int, *, stateful: bool) -> None:
    """Raise unless ``rebuilt`` gives ``model``'s outputs at its own length (a stateful model from reset states)
    and accepts windows one step shorter and longer. The user's model's variables are restored afterwards."""
    from seqcheck.models.base import encode

    length = shape[1] if shape[1] is not None else 7
    batch = shape[0] if shape[0] is not None else 3
    rng = np.random.default_rng(0)
    x = encode(rng.integers(0, k, size=(batch, length)), encoding, k)
    snapshot = _snapshot(model)
    try:
        if stateful:
            for layer in _walk_layers(model, keras):
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
        self.description = "Keras, " + (", ".join(_layer_names(model, keras)) or type(model).__name__)
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
        return encoding

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
        pinning = [type(layer).__name__ for layer in _walk_layers(model, keras) if type(layer).__name__ in _LENGTH_PINNING]
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
            # Calling a Keras model needs no AutoGraph conversion; skipping it halves the first trace.
            return tf.function(
                lambda x: model(x, training=False), input_signature=[spec], reduce_retracing=True, autograph=False
            )

        self._per_length = input_shape[1] is None and _has_layer(model, keras, keras.layers.TimeDistributed)
        if self._per_length:
            self._fns: dict[int, Any] = {}

            def by_length(x):
                length = x.shape[1]
                if length not in self._fns:
                    self._fns[length] = make(length)
                return self._fns[length](x)

            return by_length
        fn = make(input_shape[1])
        self._fns = {input_shape[1]: fn}
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
        if self.fixed_length is not None and x.shape[1] != self.fixed_length:
            raise ModelError(
                f"model {self.name} is length-rigid: it accepts only windows of length {self.fixed_length}, not"
                f" {x.shape[1]}; check it with --min-length {self.fixed_length} --max-length {self.fixed_length},"
                f" or rebuild it with a free time dimension (keras.Input(shape=(None, ...)))"
            )
        try:
            if self._fn is not None:
                raw = self._fn(x)
            else:
                raw = self.runner(x, training=False)
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
                f"model {self.name} raised {type(exc).__name__}: {first_line(exc)} on a batch of shape {x.shape};"
                f" check the model's input layout or pass encoding="
            ) from exc
