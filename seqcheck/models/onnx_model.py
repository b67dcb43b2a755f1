"""Adapter for ONNX models, run by onnxruntime: an ``InferenceSession``, an ``onnx.ModelProto``, or an ``.onnx`` file.

Importing this module imports neither ``onnx`` nor ``onnxruntime``: :func:`is_onnx_model` looks in ``sys.modules`` for
whichever the user imported, and the rest imports them when it needs them.

An ``.onnx`` file is untrusted data (see docs/threat-model.md).  onnxruntime runs no Python from a model file, and a
model file cannot make it load a library of custom operators (only the caller's ``SessionOptions`` can); what a file
can do is name *external data*: files, beside the model, that hold its tensors' bytes.  A crafted location reads any
file the process can read (``/etc/passwd``, ``../../.ssh/id_rsa``, a symlink to either), or, spelled as onnxruntime's
in-memory marker, process memory.  :func:`load_onnx_file` therefore screens the file before onnxruntime opens it: a
regular file, its size with its external data within :func:`~seqcheck.models.model_files.unpacked_bound`, parsed by
``onnx`` without its external data, and every tensor's external data a regular file inside the model's folder (symlinks
followed), with one link, and long enough for the bytes the tensor reads.  onnxruntime then opens the checked path
with the CPU provider only, as ONNX whatever the file's name (``.ort`` is another format), and ignoring the session
options a model file may carry (``ORT_LOAD_CONFIG_FROM_MODEL``).
"""

from __future__ import annotations

import importlib
import os
import re
import stat
import sys
from typing import Any

import numpy as np

from seqcheck.errors import ModelError, first_line, invalid
from seqcheck.models.base import (
    ModelUnderTest, check_alphabet_size, check_causal, check_encoding, check_output_kind, in_batches_of, output_width_error,
    resolve_encoding,
)
from seqcheck.models.model_files import MAX_UNPACKED_ENV, quiet_framework, read_head, size_text, unpacked_bound
from seqcheck.spelling import spell

__all__ = ["OnnxModel", "is_onnx_model", "load_onnx_file"]

#: How to make an ONNX file, for the fixes of errors about one.
EXPORT = "export it again with torch.onnx.export(model, (x,), 'm.onnx')"
#: How to make an ONNX model whose time (and batch) axes are free.
EXPORT_DYNAMIC = "torch.onnx.export(..., dynamic_axes={'x': {0: 'batch', 1: 'time'}})"

#: onnxruntime's marker for a tensor whose "offset" is an address in the process's memory (``*/_ORT_MEM_ADDR_/*``).
ORT_MEMORY_MARKER = "_ORT_MEM_ADDR_"

#: onnxruntime's "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : " prefix on errors, and the "Load model from {path}
#: failed:" of errors on opening one: noise next to the message, which names the path already.
_ORT_PREFIX = re.compile(r"\[ONNXRuntimeError\] : \d+ : |Load model from .*? failed:")

#: Operators that move, reshape or make constants: too generic to describe a model ("ONNX, LSTM, Gemm, Sigmoid").
#: A ``Gather`` from a weight (an embedding) is shown.
_PLUMBING_OPS = frozenset({
    "Cast", "CastLike", "Concat", "Constant", "ConstantOfShape", "Dropout", "Expand", "Flatten", "Gather", "Identity",
    "Range", "Reshape", "Shape", "Size", "Slice", "Split", "Squeeze", "Transpose", "Unsqueeze",
})
#: The most operators a description names before "...".
_DESCRIBED_OPS = 6

#: Operator domains onnxruntime's CPU build implements; any other is a custom operator's (unless a model function).
_BUILTIN_DOMAINS = frozenset({
    "", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "ai.onnx.training", "com.microsoft",
    "com.microsoft.experimental", "com.microsoft.nchwc", "com.ms.internal.nhwc",
})

#: Element types of an input, as onnxruntime names them, and the NumPy type it is fed as.
_FEED_TYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16, "tensor(int8)": np.int8,
    "tensor(uint64)": np.uint64, "tensor(uint32)": np.uint32, "tensor(uint16)": np.uint16, "tensor(uint8)": np.uint8,
}

#: The last operator of a model and how its output reads.
_OUTPUT_OPS = {
    "Sigmoid": "probabilities", "HardSigmoid": "probabilities", "Softmax": "probabilities",
    "LogSoftmax": "log-probabilities",
}


def _is_instance(obj: object, module: str, name: str) -> bool:
    """Whether ``obj`` is a ``module.name``, if ``module`` is imported (it is not imported here)."""
    cls = getattr(sys.modules.get(module), name, None)
    return cls is not None and isinstance(obj, cls)


def is_onnx_model(obj: object) -> bool:
    """Whether ``obj`` is an ``onnxruntime.InferenceSession`` or an ``onnx.ModelProto`` (of whichever of the two the
    user imported: neither is imported here)."""
    return _is_instance(obj, "onnxruntime", "InferenceSession") or _is_instance(obj, "onnx", "ModelProto")


def _import(module: str) -> Any:
    """``onnx`` or ``onnxruntime``, imported the first time with what it prints kept off the terminal
    (:func:`quiet_framework`); not installed, a one-line error."""
    if sys.modules.get(module) is not None:
        return sys.modules[module]
    try:
        with quiet_framework(f"importing {module}"):
            return importlib.import_module(module)
    except ImportError as exc:
        raise ModelError(
            f"{module} is not installed: ONNX models need onnx (to screen a file) and onnxruntime (to run it);"
            f" install them with pip install 'seqcheck[onnx]'"
        ) from exc


#: Threads an operator of a session seqcheck opens may use.  seqcheck's batches are small (64 to a few thousand windows
#: of sequence models, whose recurrences run step by step): one thread ran whole checks 1.5 to 2.3 times faster than
#: onnxruntime's default of one per core (on 2 cores: the seed model 0.23 s against 0.35-0.46 s, an LSTM(256) 0.6 s
#: against 1.4-1.6 s), the thread pool costing more than it shares.
INTRA_OP_THREADS = 1


def _session_options(runtime: Any) -> Any:
    """Options for sessions seqcheck opens: the ONNX format whatever the file's name (``.ort`` files are another
    format), errors only in onnxruntime's log, :data:`INTRA_OP_THREADS` threads."""
    options = runtime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = INTRA_OP_THREADS
    options.add_session_config_entry("session.load_model_format", "ONNX")
    return options


def _custom_domains(graph_model: Any) -> list[str]:
    """The operator domains of ``graph_model`` (a ModelProto) that onnxruntime does not implement: custom operators."""
    local = {function.domain for function in graph_model.functions}
    found = {node.domain for node in _all_nodes(graph_model)} - _BUILTIN_DOMAINS - local
    return sorted(found)


def _open_session(source: str | bytes, label: str, graph_model: Any) -> Any:
    """An ``InferenceSession`` on ``source`` (a screened path, or serialized bytes) with the CPU provider only; any
    failure is one line that names ``label`` and the fix."""
    runtime = _import("onnxruntime")
    try:
        with quiet_framework(f"opening {label}"):
            # read_config_from_model=0: the file does not set session options (ORT_LOAD_CONFIG_FROM_MODEL);
            # enable_fallback=0: no retry on other providers, which onnxruntime announces on stdout.
            return runtime.InferenceSession(
                source, _session_options(runtime), providers=["CPUExecutionProvider"], read_config_from_model=0,
                enable_fallback=0,
            )
    except Exception as exc:  # noqa: BLE001 - whatever onnxruntime rejects, the user gets one line
        said = _ORT_PREFIX.sub("", first_line(exc))
        custom = _custom_domains(graph_model) if graph_model is not None else []
        if custom:
            fix = (
                f"it uses custom operators (domain {', '.join(map(repr, custom))}) that onnxruntime does not have:"
                f" register their library (onnxruntime.SessionOptions().register_custom_ops_library(...)), open an"
                f" InferenceSession yourself and pass it to seqcheck, or export the model with standard operators"
            )
        else:
            fix = f"the model is malformed or needs a newer onnxruntime (pip install -U onnxruntime); {EXPORT}"
        raise ModelError(f"{label}: onnxruntime could not open it ({type(exc).__name__}: {said}); {fix}") from exc


# -- the graph -----------------------------------------------------------------------------------


def _all_messages(message: Any):
    """``message`` and every protobuf message inside it, each once, by the protobuf descriptors (so that no field is
    missed: sparse tensors, subgraphs in attributes, functions, training graphs); iteratively, as graphs nest.  A
    tensor is not entered (none nests inside it), so that its bytes are never copied."""
    from google.protobuf.message import Message

    stack = [message]
    while stack:
        current = stack.pop()
        yield current
        if current.DESCRIPTOR.full_name == "onnx.TensorProto":
            continue
        for field in current.DESCRIPTOR.fields:
            if field.message_type is None:
                continue
            value = getattr(current, field.name)
            if not isinstance(value, Message):
                stack.extend(value)
            elif current.HasField(field.name):
                stack.append(value)


def _all_nodes(graph_model: Any):
    """Every node of a ModelProto: its graph's, its subgraphs' (``If``, ``Loop``, ``Scan``) and its functions'."""
    return (m for m in _all_messages(graph_model) if m.DESCRIPTOR.full_name == "onnx.NodeProto")


def _graph_of(session: Any) -> Any:
    """The ModelProto (without external data) an ``InferenceSession`` was opened on, to describe the model; ``None`` if
    ``onnx`` is not installed or the session keeps neither its path nor its bytes."""
    try:
        import onnx
    except ImportError:
        return None
    path, data = getattr(session, "_model_path", None), getattr(session, "_model_bytes", None)
    try:
        if path is not None:
            return onnx.load(path, format="protobuf", load_external_data=False)
        if data is not None:
            return onnx.load_from_string(data, format="protobuf")
    except Exception:  # noqa: BLE001 - the session opened it; a description is not worth an error
        return None
    return None


def _description(graph: Any) -> str:
    """``"ONNX, LSTM, Gemm, Sigmoid"``: the main graph's operators in order, plumbing left out, repeats merged."""
    if graph is None:
        return "ONNX"
    weights = {tensor.name for tensor in graph.initializer}
    ops: list[str] = []
    for node in graph.node:
        op = node.op_type
        if op in _PLUMBING_OPS and not (op == "Gather" and node.input and node.input[0] in weights):
            continue
        if not ops or ops[-1] != op:
            ops.append(op)
    if len(ops) > _DESCRIBED_OPS:
        ops = ops[:_DESCRIBED_OPS] + ["..."]
    return ", ".join(["ONNX", *ops])


def _output_kind_from_graph(graph_model: Any, output_name: str, output_rank: int | None) -> str:
    """"probabilities" or "log-probabilities" when the node giving the output is a Sigmoid, a Softmax or a LogSoftmax
    (the latter two over the last axis); else "auto" (the probe's values decide)."""
    if graph_model is None:
        return "auto"
    producer = next((node for node in reversed(graph_model.graph.node) if output_name in node.output), None)
    if producer is None or producer.domain not in ("", "ai.onnx") or producer.op_type not in _OUTPUT_OPS:
        return "auto"
    if producer.op_type in ("Softmax", "LogSoftmax"):
        opset = next((o.version for o in graph_model.opset_import if o.domain in ("", "ai.onnx")), 0)
        axis = next((a.i for a in producer.attribute if a.name == "axis"), -1 if opset >= 13 else 1)
        if not output_rank or axis % output_rank != output_rank - 1:
            return "auto"
    return _OUTPUT_OPS[producer.op_type]


# -- the model -----------------------------------------------------------------------------------


def _dims(shape: Any) -> tuple:
    """onnxruntime's shape (ints, names of symbolic axes, None) with every free axis as None."""
    return tuple(d if isinstance(d, int) and d >= 0 else None for d in (shape or ()))


class OnnxModel(ModelUnderTest):
    """An ONNX model taking one sequence and returning one prediction, run by one onnxruntime ``InferenceSession``.

    ``model`` is an ``InferenceSession`` (used as it is: its providers and options are the user's) or an
    ``onnx.ModelProto`` (serialized and opened on the CPU provider; its tensors must be in memory).  The input layout
    comes from the input's shape as for Keras (``(B, L)`` -> ``"tokens"``, ``(B, L, 1)`` -> ``"scalar"``,
    ``(B, L, k)`` -> ``"onehot"``) unless ``encoding`` is given, and is fed in the input's declared element type.  The
    output is read as probabilities after a final ``Sigmoid``/``Softmax``, as log-probabilities after a ``LogSoftmax``,
    else as the probe's values say, unless ``output`` is given.

    A fixed time axis makes the model length-rigid (:attr:`fixed_length`); a fixed batch axis is fed batches of exactly
    that size, the last padded with copies of its last window whose outputs are dropped (windows do not interact in a
    model without batch-mixing operators, and batch invariance checks that they do not).  An ONNX model is a black box
    to seqcheck: it is causal only on the user's word (``causal="yes"``) that its per-step outputs ``(B, L, k)``
    predict every prefix.
    """

    free_length_fix = f"export it with a dynamic time axis ({EXPORT_DYNAMIC})"

    def __init__(
        self,
        model: Any,
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
        if encoding is not None:
            check_encoding(encoding)
        check_output_kind(output)
        self.name = name if name is not None else "onnx model"
        label = f"model {self.name}"
        self.session, graph_model = self._session(model, label)

        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        for what, found in (("inputs", inputs), ("outputs", outputs)):
            if len(found) != 1:
                raise ModelError(
                    f"{label}: has {len(found)} {what} ({', '.join(repr(t.name) for t in found)}), expected exactly 1;"
                    f" export a model that takes one sequence and returns one prediction"
                )
        self.input_shape = _dims(inputs[0].shape)
        if not self.input_shape and encoding is not None:  # a shape onnxruntime does not know: the user's layout
            features = {"tokens": (), "scalar": (1,), "onehot": (alphabet_size,)}[encoding]
            self.input_shape = (None, None, *features)
        encoding = resolve_encoding(label, self.input_shape, encoding, alphabet_size)
        if inputs[0].type not in _FEED_TYPES:
            raise ModelError(
                f"{label}: input {inputs[0].name!r} has type {inputs[0].type}, expected a numeric tensor (float or"
                f" integer); export the model with a float32 or int64 input"
            )
        self._input_name, self._output_names = inputs[0].name, [outputs[0].name]
        self._feed_type = _FEED_TYPES[inputs[0].type]
        output_shape = _dims(outputs[0].shape)
        output_rank = len(output_shape) or None  # onnxruntime shows an unknown shape as []
        self._check_output_shape(label, output_shape, output_rank, alphabet_size if classes is None else classes, class_meaning)
        if output == "auto":
            output = _output_kind_from_graph(graph_model, outputs[0].name, output_rank)

        super().__init__(
            alphabet_size=alphabet_size, encoding=encoding, output=output, classes=classes, class_meaning=class_meaning,
        )
        self.description = _description(graph_model.graph if graph_model is not None else None)
        #: What the adapter did to make the model checkable (a length-rigid model, a fixed batch size), one sentence each.
        self.notes: list[str] = []
        #: The only batch size the model accepts, or None.
        self.fixed_batch: int | None = self.input_shape[0]
        length = self.input_shape[1] if len(self.input_shape) > 1 else None
        if length is not None:
            self.fixed_length = length
            self.notes.append(
                f"{label} is length-rigid: it accepts only windows of length {length} (input shape {self.input_shape}:"
                f" its time axis is fixed in the graph); only length {length} can be checked: accuracy and phase-shift"
                f" (oracle) at that length, closed-loop periodic consistency with a sliding window of that length, and"
                f" batch invariance; export it with a dynamic time axis ({EXPORT_DYNAMIC}) to check other lengths"
            )
            self.description += f"; length-rigid, length {length} only"
        if self.fixed_batch is not None:
            self.notes.append(
                f"{label} takes batches of {self.fixed_batch} windows only (input shape {self.input_shape}); seqcheck"
                f" feeds it batches of exactly {self.fixed_batch}, padding the last with copies of its last window and"
                f" dropping their outputs"
            )
        self._find_causal(label, causal, output_rank)

    @staticmethod
    def _session(model: Any, label: str) -> tuple[Any, Any]:
        """The session to run and the ModelProto it runs (``None`` if it cannot be read back)."""
        if _is_instance(model, "onnx", "ModelProto"):
            external = next(_external_tensors(model), None)
            if external is not None:
                raise ModelError(
                    f"{label}: tensor {external.name!r} keeps its data in an external file, which a model in memory"
                    f" cannot locate; pass the .onnx file's path (load_onnx_file(path, ...)), or load it with"
                    f" onnx.load(path) to read its external data into memory"
                )
            try:
                data = model.SerializeToString()
            except Exception as exc:  # noqa: BLE001 - over protobuf's 2 GiB, say
                raise ModelError(
                    f"{label}: cannot be serialized ({type(exc).__name__}: {first_line(exc)}); save it with"
                    f" onnx.save_model(model, 'm.onnx', save_as_external_data=True) and pass the path"
                ) from exc
            return _open_session(data, label, model), model
        if _is_instance(model, "onnxruntime", "InferenceSession"):
            return model, _graph_of(model)
        raise invalid(
            "model", type(model).__name__, "an onnxruntime.InferenceSession or an onnx.ModelProto",
            "pass one of those, or load an .onnx file with load_onnx_file(path, ...)",
        )

    @staticmethod
    def _check_output_shape(label: str, shape: tuple, rank: int | None, classes: int, meaning: str) -> None:
        """Raise unless the output is one prediction per window (or per step) of a width that fits ``classes``."""
        if rank is None:  # unknown rank: the first batch's shape is checked
            return
        if rank not in (1, 2, 3):
            raise ModelError(
                f"{label}: output shape={shape}: expected (batch,), (batch, k) or per-step (batch, time, k);"
                f" export a model giving one prediction per window"
            )
        width = 1 if rank == 1 else shape[-1]
        if width is None or width == classes or (width == 1 and classes == 2):
            return
        raise ModelError(f"{label}: {output_width_error(width, classes, meaning)}")

    def _find_causal(self, label: str, causal: str, output_rank: int | None) -> None:
        """Causal only on the user's word, for a model with per-step outputs that takes every length."""
        if self.fixed_length is not None:
            self.causal_reason = f"the model is length-rigid (length {self.fixed_length} only)"
        elif causal == "yes" and output_rank is not None and output_rank != 3:
            raise ModelError(
                f"{label}: declared causal, but it returns one output per window (output rank {output_rank});"
                f" export it with per-step outputs (batch, time, k) or pass {spell('causal', 'no')}"
            )
        else:
            self.take_causal_word(causal, "an ONNX model")

    # -- calling --------------------------------------------------------------------------------

    def _call_prefix(self, x: np.ndarray) -> np.ndarray:
        return self._call(x)

    def _call(self, x: np.ndarray) -> np.ndarray:
        """The model's output on one encoded batch, in batches of :attr:`fixed_batch` windows where it is fixed."""
        self.check_length(x.shape[1])
        return in_batches_of(self.fixed_batch, x.astype(self._feed_type, copy=False), self._run)

    def _run(self, x: np.ndarray) -> np.ndarray:
        """``session.run`` on ``x``; a failure is the model's one-line error."""
        try:
            out = self.session.run(self._output_names, {self._input_name: x})[0]
        except Exception as exc:  # the model is the user's: report, do not crash
            said = _ORT_PREFIX.sub("", first_line(exc))
            fix = self.failure_fix(
                x.shape[1], f"check the model's input layout or pass {spell('encoding')}", longer=self.free_length_fix,
            )
            raise ModelError(
                f"model {self.name} raised {type(exc).__name__}: {said} on a batch of shape {x.shape}; {fix}"
            ) from exc
        self.ran(x.shape[1])
        return out


# -- files -----------------------------------------------------------------------------------------


def _external_tensors(graph_model: Any):
    """Every tensor of a ModelProto whose bytes are in an external file: initializers, sparse tensors, attributes,
    subgraphs, functions and training graphs alike."""
    for message in _all_messages(graph_model):
        if message.DESCRIPTOR.full_name != "onnx.TensorProto":
            continue
        if message.data_location == message.EXTERNAL or len(message.external_data):
            yield message


def _inside(child: str, folder: str) -> bool:
    """Whether the absolute path ``child`` is ``folder`` or inside it (by path components, not string prefixes)."""
    try:
        return os.path.commonpath([child, folder]) == folder
    except ValueError:  # different drives
        return False


def _external_files(path: str, graph_model: Any) -> dict[str, int]:
    """The external data files of a model at ``path`` (real path -> size in bytes), each checked: a regular file with
    one link, inside the model's folder once symlinks are followed, long enough for what every tensor reads from it."""
    folder = os.path.dirname(os.path.abspath(path))
    # As onnxruntime does: inside the folder the path names, or the one the model file really is in (a symlinked
    # model in a cache of content-addressed files, whose external data are symlinks beside it).
    roots = (os.path.realpath(folder), os.path.dirname(os.path.realpath(path)))
    keep = (
        "save the data next to the model:"
        " onnx.save_model(model, 'm.onnx', save_as_external_data=True, location='m.onnx.data')"
    )
    files: dict[str, int] = {}
    for tensor in _external_tensors(graph_model):
        info = {entry.key: entry.value for entry in tensor.external_data}
        where = f"model path={path!r}: tensor {tensor.name!r}"
        location = info.get("location", "")
        if not location:
            raise ModelError(f"{where} is marked as external data but names no file; the file is corrupt: {EXPORT}")
        if ORT_MEMORY_MARKER in location:
            raise ModelError(
                f"{where} gives its data location as {location!r}, onnxruntime's marker for an address in memory, which"
                f" would make it read process memory at an offset the file chooses; a model file never holds it: {EXPORT}"
            )
        try:
            real = os.path.realpath(os.path.join(folder, location))
        except (ValueError, OSError) as exc:
            raise ModelError(
                f"{where} keeps its data in {location!r}, not a usable file name ({first_line(exc)}); {keep}"
            ) from exc
        if os.path.isabs(location) or not any(_inside(real, root) for root in roots):
            if os.path.isabs(location):
                how, known = "an absolute path", "CVE-2022-25882"
            elif not _inside(os.path.normpath(os.path.join(folder, location)), folder):
                how, known = "a path that leaves the model's folder through '..'", "CVE-2024-27318"
            else:
                how, known = f"a symlink to {real!r}, outside the model's folder", "CVE-2026-27489"
            raise ModelError(
                f"{where} keeps its data in {location!r}, {how}; refused because a model file may read external data"
                f" only from inside its own folder (a crafted path reads any file, as in {known}); {keep}"
            )
        try:
            status = os.stat(real)
        except OSError as exc:
            raise ModelError(
                f"{where} keeps its data in {location!r}, which cannot be read next to the model ({type(exc).__name__}:"
                f" {first_line(exc)}); copy the model's external data file(s) next to the .onnx file, or {EXPORT}"
            ) from exc
        if not stat.S_ISREG(status.st_mode):
            raise ModelError(f"{where} keeps its data in {location!r}, which is not a regular file (a folder, a FIFO); {keep}")
        if status.st_nlink > 1:
            raise ModelError(
                f"{where} keeps its data in {location!r}, a file with {status.st_nlink} hard links, expected a file of"
                f" its own; refused because a hard link can expose a file from elsewhere (as in CVE-2026-34446);"
                f" replace it with a copy (cp {location} copy && mv copy {location})"
            )
        offset_text, length_text = info.get("offset", "0"), info.get("length")
        for key, text in (("offset", offset_text), ("length", length_text)):
            if text is not None and not (text.isascii() and text.isdigit()):
                raise ModelError(
                    f"{where} has external data {key}={text!r}, expected a whole number of bytes; the file is corrupt:"
                    f" {EXPORT}"
                )
        offset = int(offset_text)
        end = offset + int(length_text or 0)
        if end > status.st_size:
            raise ModelError(
                f"{where} reads bytes {offset}..{end} of {location!r}, which holds {status.st_size} bytes; the external"
                f" data file is truncated or belongs to another model: {EXPORT}"
            )
        files[real] = status.st_size
    return files


def _screen_file(path: str) -> Any:
    """The ModelProto at ``path`` (without its external data), if onnxruntime may open the file (see the module
    docstring); else a one-line :class:`ModelError`.  Nothing here runs the file: it is read as bytes and parsed as
    protobuf by ``onnx``."""
    if not os.path.lexists(path):
        raise ModelError(
            f"model path={path!r}: no such file; check the path (an .onnx file, made with"
            f" torch.onnx.export(model, (x,), 'm.onnx'))"
        )
    if os.path.isdir(path):
        raise ModelError(f"model path={path!r}: is a folder, expected an .onnx file; pass the .onnx file inside it")
    if not os.path.isfile(path):
        raise ModelError(
            f"model path={path!r}: is not a regular file (a FIFO, a device, a broken symlink), expected an .onnx file;"
            f" copy the model to a file and pass that"
        )
    read_head(path, expected="a .onnx file")
    size = os.path.getsize(path)
    if size == 0:
        raise ModelError(f"model path={path!r}: the file is empty, expected an ONNX model; {EXPORT}")
    bound = unpacked_bound()
    if size > bound:
        raise _too_large(path, size, bound, with_data=False)
    onnx = _import("onnx")
    try:
        graph_model = onnx.load(path, format="protobuf", load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - whatever protobuf trips on, the file is not an ONNX model
        raise ModelError(
            f"model path={path!r}: is not an ONNX model ({type(exc).__name__}: {first_line(exc)}); the file is"
            f" truncated, corrupt or of another kind: {EXPORT}"
        ) from exc
    if not graph_model.HasField("graph") or not graph_model.graph.output:
        raise ModelError(
            f"model path={path!r}: holds no ONNX graph (it parses as protobuf, but not as a model); the file is"
            f" corrupt or of another kind: {EXPORT}"
        )
    total = size + sum(_external_files(path, graph_model).values())
    if total > bound:
        raise _too_large(path, total, bound, with_data=True)
    return graph_model


def _too_large(path: str, size: int, bound: int, *, with_data: bool) -> ModelError:
    """The error for a model of ``size`` bytes (``with_data``: its external data counted) over ``bound``."""
    return ModelError(
        f"model path={path!r}: holds {size:,} bytes{' with its external data' if with_data else ''}, more than"
        f" {size_text(bound)}, expected a model of reasonable size; check the file, or if you trust it set"
        f" {MAX_UNPACKED_ENV} above {bound >> 20}"
    )


def load_onnx_file(path: str | os.PathLike, *, allow_unsafe: bool = False, **options: Any) -> OnnxModel:
    """An :class:`OnnxModel` of the ``.onnx`` file at ``path``, screened before onnxruntime opens it (see the module
    docstring); every failure is a one-line :class:`~seqcheck.errors.ModelError`.  ``options`` are
    :class:`OnnxModel`'s.

    ``allow_unsafe`` changes nothing, and says so in the model's notes: onnxruntime runs no code from a model file, so
    there is nothing to opt into, and what the screen refuses (external data outside the model's folder, process
    memory) is never needed by a model, however trusted.
    """
    path = os.fspath(path)
    graph_model = _screen_file(path)
    session = _open_session(path, f"model path={path!r}", graph_model)
    del graph_model  # OnnxModel reads the session's graph back, once this copy is freed
    model = OnnxModel(session, name=path, **options)
    if allow_unsafe:
        model.notes.append(
            f"{spell('allow_unsafe', True)} changes nothing for an ONNX file: onnxruntime runs no code from a model"
            f" file, so there is nothing to opt into, and external data outside the model's folder stays refused"
        )
    return model
