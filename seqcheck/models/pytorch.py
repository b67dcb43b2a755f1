"""Adapter for PyTorch models: a ``torch.nn.Module`` or a ``torch.export`` program in memory, ``.pt2`` and ``.pt`` files.

This module imports torch: the registry imports it only once the user has imported torch, or to load a file of a
PyTorch format.

A module is called as it is, in eval mode under ``torch.inference_mode()``: every submodule's ``training`` flag is
set to False for the call and put back afterwards, whatever happens, and nothing else of the module is touched (its
parameters and buffers are never moved or cast; the input is given their dtype and device instead).  Its input layout
is read from its first layer (an ``nn.Embedding``: tokens; else the input size of its first recurrent, linear or
convolutional layer: 1, scalars; the alphabet's size, one-hot vectors) and its batch layout from the ``batch_first`` of
its submodules; a ``torch.export`` program says both in its input spec, and whether its batch and time dimensions are
fixed.

Files are untrusted data (docs/threat-model.md).  Read in torch 2.13's source, ``torch.export.load`` unpickles the
program's sample inputs (falling back to full unpickling when the weights-only unpickler refuses them), unpickles the
weights and constants the archive marks as pickled, evaluates every symbolic shape expression with ``sympy.sympify``
(which runs Python's ``eval``), imports the module a tree spec's enum or defaultdict names, loads compiled
AOTInductor libraries, and resolves any ``torch.*`` name as an operator (its verifier admits
``torch.export.custom_ops._call_custom_autograd_function_in_pre_dispatch``, which imports a module by name when the
program runs); ``ExportedProgram.module()`` runs the archive's guard code.  So a ``.pt2`` file is screened as a zip
listing and JSON before torch opens it (:func:`screen_exported_archive`), and a ``.pt`` file is read with the
weights-only unpickler; either way only with a torch that fixes the weights-only unpickler's published advisories.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
import torch

from seqcheck.errors import InvalidArgument, ModelError, first_line, invalid
from seqcheck.models.base import (
    ModelUnderTest, check_alphabet_size, check_causal, check_encoding, check_output_kind, encode, in_batches_of,
    resolve_encoding,
)
from seqcheck.models.model_files import (
    UNSAFE_OPT_IN, ZIP_MAGIC, quiet_framework, read_head, too_large, unpack_zip_bounded, unpacked_bound,
)
from seqcheck.spelling import spell

__all__ = [
    "MIN_TORCH_VERSION", "TORCH_ADVISORIES", "TorchModel", "check_torch_version", "is_torch_module", "load_torch_file",
    "screen_exported_archive",
]

#: The oldest torch whose weights-only unpickler fixes every published advisory in which a file loaded with
#: ``torch.load(..., weights_only=True)`` ran code; seqcheck relies on that unpickler for ``.pt`` files and for the
#: sample inputs of ``.pt2`` files. Pre-releases of it (``2.10.0a0``) come before it and are refused too.
MIN_TORCH_VERSION = "2.10.0"
TORCH_ADVISORIES = ("CVE-2025-32434", "CVE-2026-24747")

#: How to write a ``.pt2`` file again, for errors.
_RESAVE_PT2 = "export the module again with torch.export.export and save it with torch.export.save(program, 'm.pt2')"
#: The most one JSON member of a ``.pt2`` archive may unpack to (the whole archive is bounded by ``unpacked_bound()``).
_MAX_JSON_BYTES = 64 << 20

#: Layers whose input size says how the windows are encoded, and the attribute holding it.
_INPUT_SIZE_ATTRIBUTES = ((torch.nn.RNNBase, "input_size"), (torch.nn.Linear, "in_features"), (torch.nn.Conv1d, "in_channels"))
#: A final layer of an ``nn.Sequential`` that says how its output reads.
_OUTPUT_LAYERS = (
    (torch.nn.Sigmoid, "probabilities"), (torch.nn.Softmax, "probabilities"), (torch.nn.LogSoftmax, "log-probabilities"),
)
#: torch.nn classes that hold layers rather than being one (a description looks inside them).
_CONTAINERS = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
#: ATen operators of an exported program named in its description, as the layers they come from.
_EXPORTED_LAYERS = {
    "lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN", "embedding": "Embedding", "conv1d": "Conv1d",
    "linear": "Linear", "scaled_dot_product_attention": "Attention", "_native_multi_head_attention": "Attention",
}
#: ATen operators that, computing an exported program's output, say how it reads.
_EXPORTED_OUTPUTS = {
    "sigmoid": "probabilities", "softmax": "probabilities", "_softmax": "probabilities",
    "log_softmax": "log-probabilities", "_log_softmax": "log-probabilities",
}


def is_torch_module(obj: object) -> bool:
    """Whether ``obj`` is a PyTorch model seqcheck wraps: a ``torch.nn.Module`` or a ``torch.export.ExportedProgram``."""
    return isinstance(obj, (torch.nn.Module, torch.export.ExportedProgram))


#: A call whose rows times parameters are at most this runs on one intra-op thread: torch's threads cost more to
#: wake and join than they save on small work (measured on 2 cores with other jobs running: an LSTM(4) on 5 windows
#: of 10 steps took 14 ms on 2 threads, 0.1 ms on one).
SERIAL_WORK = 1 << 22


@contextlib.contextmanager
def _intra_op_threads(serial: bool) -> Iterator[None]:
    """One intra-op thread for the block when ``serial``, the process's own number put back afterwards, whatever
    happens (``torch.set_num_threads`` is process-wide: torch code running in another thread meanwhile gets one too)."""
    threads = torch.get_num_threads()
    if not serial or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _evaluating(module: torch.nn.Module) -> Iterator[None]:
    """Every submodule of ``module`` in eval mode, and inference mode, for the block; each submodule's ``training``
    flag put back afterwards, whatever happens (an error, Ctrl-C).  The flags are set directly: no ``train()``
    override of the user's runs."""
    flags = [(sub, sub.training) for sub in module.modules()]
    try:
        for sub, _ in flags:
            sub.training = False
        with torch.inference_mode():
            yield
    finally:
        for sub, flag in flags:
            sub.training = flag


def _layer_names(module: torch.nn.Module) -> list[str]:
    """The class names of ``module``'s layers in order, consecutive repeats dropped: torch.nn layers are named whole,
    containers and the user's own modules are looked inside (a user module without submodules is named)."""
    names: list[str] = []
    stack = [module]
    while stack:
        sub = stack.pop()
        children = list(sub.children())
        is_layer = type(sub).__module__.startswith("torch.nn.") and not isinstance(sub, _CONTAINERS)
        if is_layer or not children:
            name = getattr(sub, "original_name", None) or type(sub).__name__  # a TorchScript module names its class so
            if not names or names[-1] != name:
                names.append(name)
        else:
            stack.extend(reversed(children))
    return names


def _exported_layer_names(program: torch.export.ExportedProgram) -> list[str]:
    """The layers an exported program's ATen operators come from, in graph order, consecutive repeats dropped."""
    names: list[str] = []
    for node in program.graph.nodes:
        schema = getattr(node.target, "_schema", None) if node.op == "call_function" else None
        layer = _EXPORTED_LAYERS.get(schema.name.split("::")[-1]) if schema is not None else None
        if layer and (not names or names[-1] != layer):
            names.append(layer)
    return names


def _output_kind(module: torch.nn.Module) -> str:
    """How an ``nn.Sequential``'s output reads, from its last layer (``"auto"`` when it does not say)."""
    while isinstance(module, torch.nn.Sequential) and len(module):
        module = module[-1]
        for cls, kind in _OUTPUT_LAYERS:
            if isinstance(module, cls):
                return kind
    return "auto"


def _exported_output_kind(program: torch.export.ExportedProgram) -> str:
    """How an exported program's output reads, from the ATen operator that computes it (``"auto"`` when it does not say)."""
    output = next(node for node in program.graph.nodes if node.op == "output")
    results = output.args[0] if isinstance(output.args[0], (tuple, list)) else (output.args[0],)
    schema = getattr(getattr(results[0], "target", None), "_schema", None) if len(results) == 1 else None
    return _EXPORTED_OUTPUTS.get(schema.name.split("::")[-1], "auto") if schema is not None else "auto"


def _value_range(program: torch.export.ExportedProgram, dim: Any) -> tuple[int, int | None]:
    """The sizes a dynamic dimension of an exported program may take: ``(lowest, highest or None)``."""
    found = program.range_constraints.get(getattr(getattr(dim, "node", None), "expr", None))
    if found is None:
        return 0, None
    low, high = (int(bound) if getattr(bound, "is_Integer", False) else None for bound in (found.lower, found.upper))
    return max(low or 0, 0), high


class TorchModel(ModelUnderTest):
    """A ``torch.nn.Module`` (or ``torch.export.ExportedProgram``) taking a batch of windows and returning one
    prediction per window, or per-step outputs whose last step is the prediction.

    - ``encoding``: read from the module's first layer (see the module docstring) unless given; an exported program's
      input shape says it. A module whose layout cannot be read is a one-line error asking for ``encoding=``.
    - ``batch_first``: read from the submodules that have one (LSTM, GRU, RNN, Transformer layers, attention) unless
      given; none: batch first. With ``batch_first=False`` the windows are fed ``(time, batch, ...)`` and per-step
      outputs ``(time, batch, k)`` are read back as ``(batch, time, k)``.
    - ``output``: from a final ``nn.Sigmoid``/``nn.Softmax``/``nn.LogSoftmax`` of an ``nn.Sequential`` (or the operator
      computing an exported program's output), else inferred from the first batch's values (and said in the report).
    - ``causal``: only on the user's word (``causal="yes"``), which requires per-step outputs.

    The module is never modified: see :func:`_evaluating`. An exported program whose time dimension is fixed is
    length-rigid (:attr:`fixed_length`); one whose batch dimension is fixed is fed batches of exactly that size, the
    last padded with copies of its last window whose outputs are dropped.
    """

    free_length_fix = "export it with a dynamic time dimension (torch.export.Dim)"

    def __init__(
        self,
        module: Any,
        *,
        alphabet_size: int,
        encoding: str | None = None,
        output: str = "auto",
        causal: str = "auto",
        classes: int | None = None,
        class_meaning: str = "",
        name: str | None = None,
        batch_first: bool | None = None,
    ):
        check_causal(causal)
        check_output_kind(output)
        if encoding is not None:
            check_encoding(encoding)
        alphabet_size = check_alphabet_size(alphabet_size)
        if batch_first is not None and not isinstance(batch_first, bool):
            raise invalid("batch_first", batch_first, "True, False or None (read from the module)", "pass a bool")
        #: The exported program, when one was given; :attr:`module` is then its callable module.
        self.program: torch.export.ExportedProgram | None = None
        if isinstance(module, torch.export.ExportedProgram):
            self.program, module = module, module.module()
        elif not isinstance(module, torch.nn.Module):
            raise invalid(
                "model", type(module).__name__, "a torch.nn.Module or a torch.export.ExportedProgram", "pass the module itself",
            )
        self.module = module
        self.name = name if name is not None else type(self.program if self.program is not None else module).__name__
        self.notes: list[str] = []
        self.fixed_length: int | None = None
        #: The batch size an exported program takes, when it fixes one; else ``None``.
        self.fixed_batch: int | None = None
        #: The window lengths an exported program accepts, ``(lowest, highest or None)``.
        self.lengths: tuple[int, int | None] = (0, None)
        #: Whether the batch layout was assumed (no submodule says it), so that errors can say how to change it.
        self._batch_first_assumed = False
        if self.program is not None:
            encoding, self.batch_first = self._read_program(alphabet_size, encoding, batch_first)
            self.description = ", ".join(["PyTorch export", *_exported_layer_names(self.program)])
            if self.fixed_length is not None:
                self.description += f"; length-rigid, length {self.fixed_length} only"
            if output == "auto":
                output = _exported_output_kind(self.program)
        else:
            self.batch_first = self._read_batch_first(batch_first)
            if encoding is None:
                encoding = self._read_encoding(alphabet_size)
            if output == "auto":
                output = _output_kind(module)
            self._float_dtype, self._device = self._parameter_dtype()
            self._token_dtype = torch.long
            self.description = ", ".join(["PyTorch", *_layer_names(module)])
        super().__init__(alphabet_size=alphabet_size, encoding=encoding, output=output, classes=classes, class_meaning=class_meaning)
        self._has_rnn = any(isinstance(sub, torch.nn.RNNBase) for sub in module.modules())
        self._parameter_count = sum(p.numel() for p in module.parameters())
        self._find_causal(causal)

    # -- construction ---------------------------------------------------------------------------

    def _read_batch_first(self, given: bool | None) -> bool:
        if given is not None:
            return given
        said = {
            f"{type(sub).__name__}: batch_first={sub.batch_first}": sub.batch_first
            for sub in self.module.modules() if isinstance(getattr(sub, "batch_first", None), bool)
        }
        if len(set(said.values())) > 1:
            raise ModelError(
                f"model {self.name}: its submodules disagree on the batch layout ({', '.join(said)}), so seqcheck cannot"
                f" tell how to feed it; pass TorchModel(module, batch_first=...) with the layout its forward takes"
            )
        if not said:
            self._batch_first_assumed = True
            return True
        return next(iter(said.values()))

    def _read_encoding(self, alphabet_size: int) -> str:
        """The input layout from the module's first layer that says it (see the module docstring)."""
        options = f"{spell('encoding', 'tokens')}, {spell('encoding', 'scalar')} or {spell('encoding', 'onehot')}"
        for sub in self.module.modules():
            if isinstance(sub, (torch.nn.Embedding, torch.nn.EmbeddingBag)):
                return "tokens"
            for cls, attribute in _INPUT_SIZE_ATTRIBUTES:
                if isinstance(sub, cls):
                    size = getattr(sub, attribute)
                    if size == 1:
                        return "scalar"
                    if size == alphabet_size:
                        return "onehot"
                    raise ModelError(
                        f"model {self.name}: its first {type(sub).__name__} takes {attribute}={size}, neither 1 (one scalar"
                        f" per step) nor {spell('alphabet_size', alphabet_size)} (one-hot vectors); pass {options}, or check"
                        f" {spell('alphabet_size')}"
                    )
        raise ModelError(
            f"model {self.name}: seqcheck cannot tell the input layout it takes (it has no Embedding, recurrent, Linear"
            f" or Conv1d layer to read it from); pass {options}"
        )

    def _parameter_dtype(self) -> tuple[torch.dtype, torch.device]:
        """The dtype and device of the module's first floating-point parameter or buffer: what its inputs are given."""
        for tensor in (*self.module.parameters(), *self.module.buffers()):
            if tensor.is_floating_point():
                return tensor.dtype, tensor.device
        return torch.float32, torch.device("cpu")

    def _read_program(self, alphabet_size: int, encoding: str | None, batch_first: bool | None) -> tuple[str, bool]:
        """The encoding and batch layout of an exported program, from its one input's spec; notes for a fixed batch or
        time dimension, and the range of lengths a dynamic one accepts."""
        program = self.program
        label = f"model {self.name}"
        users = list(program.graph_signature.user_inputs)
        placeholders = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
        if len(users) != 1:
            raise ModelError(
                f"{label}: takes {len(users)} inputs, expected exactly 1; export a module whose forward takes one batch of windows"
            )
        value = placeholders[users[0]].meta.get("val")
        if not isinstance(value, torch.Tensor):
            raise ModelError(
                f"{label}: takes a {type(value).__name__}, expected a tensor of windows; export a module that takes one"
            )
        batch_first = True if batch_first is None else batch_first
        dims = list(value.shape)
        if len(dims) >= 2 and not batch_first:
            dims[0], dims[1] = dims[1], dims[0]
        shape = tuple(d if isinstance(d, int) else None for d in dims)  # (batch, time, ...)
        encoding = resolve_encoding(label, shape, encoding, alphabet_size)
        self._float_dtype = self._token_dtype = value.dtype
        self._device = value.device
        batch, time = dims[0], dims[1]
        if isinstance(time, int):
            self.fixed_length = time
            self.notes.append(
                f"{label} is length-rigid: it accepts only windows of length {time} (input shape {shape}: torch.export"
                f" fixed its time dimension); only length {time} can be checked: accuracy and phase-shift (oracle) at that"
                f" length, closed-loop periodic consistency with a sliding window of that length, and batch invariance;"
                f" {self.free_length_fix} to check other lengths, or check the nn.Module itself from Python"
            )
        else:
            self.lengths = _value_range(program, time)
            low, high = self.lengths
            if low > 1 or high is not None:
                self.notes.append(
                    f"{label} accepts windows of lengths {low}..{'' if high is None else high} only (the range of the time"
                    f" dimension it was exported with)"
                )
        if isinstance(batch, int):
            self.fixed_batch = batch
            self.notes.append(
                f"{label} takes batches of {batch} windows only (torch.export fixed its batch dimension); seqcheck feeds it"
                f" {batch} windows at a time, filling a short batch with copies of its last window"
            )
        return encoding, batch_first

    def _find_causal(self, causal: str) -> None:
        """Causal only on the user's word, which a probe of per-step outputs must bear out (as for a callable)."""
        if causal == "no":
            self.take_causal_word(causal, "a PyTorch model")
            return
        if self.fixed_length is not None:
            self.causal_reason = f"the model is length-rigid (length {self.fixed_length} only)"
            return
        if causal == "auto":
            self.take_causal_word(causal, "a PyTorch model")
            return
        length = max(3, self.lengths[0]) if self.lengths[1] is None else min(max(3, self.lengths[0]), self.lengths[1])
        probe = encode(np.zeros((2, length), dtype=np.int64), self.encoding, self.alphabet_size)
        shape = np.shape(self._run(probe))
        if len(shape) != 3 or shape[:2] != (2, length):
            raise ModelError(
                f"model {self.name}: declared causal, but it returns one output per window (shape {shape} for 2 windows of"
                f" length {length}); return the output of every step, (batch, time, width), or pass {spell('causal', 'no')}"
            )
        self.take_causal_word(causal, "a PyTorch model")

    # -- calling --------------------------------------------------------------------------------

    def _call(self, x: np.ndarray) -> np.ndarray:
        length = x.shape[1]
        self.check_length(length)
        low, high = self.lengths
        if length < low or (high is not None and length > high):
            raise ModelError(
                f"model {self.name} accepts windows of lengths {low}..{'' if high is None else high} only (the time"
                f" dimension it was exported with), not {length}; check lengths in that range ({spell('min_length')},"
                f" {spell('max_length')}) or export it with a wider torch.export.Dim"
            )
        return self._run(x)

    def _call_prefix(self, x: np.ndarray) -> np.ndarray:
        """Per-step outputs ``(B, L, width)``: a causal module's own output."""
        return self._call(x)

    def _run(self, x: np.ndarray) -> np.ndarray:
        """The module's output on one encoded batch, as a NumPy array with the batch first; an exported program with a
        fixed batch size is fed whole batches of it."""
        return in_batches_of(self.fixed_batch, x, self._forward)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """One call of the module (see :func:`_evaluating`); what it raises is the model's one-line error."""
        tensor = torch.from_numpy(x if x.flags.writeable else x.copy())
        tensor = tensor.to(device=self._device, dtype=self._token_dtype if self.encoding == "tokens" else self._float_dtype)
        if not self.batch_first:
            tensor = tensor.transpose(0, 1)
        try:
            with _evaluating(self.module), _intra_op_threads(len(x) * self._parameter_count <= SERIAL_WORK):
                raw = self.module(tensor)
                out = self._as_array(raw, len(x), x.shape[1])
        except ModelError:
            raise
        except Exception as exc:  # the model is the user's: report, do not crash
            layout = f"check the module's input layout or pass {spell('encoding')}"
            if self._batch_first_assumed:
                layout += " (or TorchModel(module, batch_first=False) if it takes (time, batch, ...))"
            fix = self.failure_fix(x.shape[1], layout)
            raise ModelError(
                f"model {self.name} raised {type(exc).__name__}: {first_line(exc)} on an input of shape"
                f" {tuple(tensor.shape)}; {fix}"
            ) from exc
        self.ran(x.shape[1])
        return out

    def _as_array(self, raw: Any, batch: int, length: int) -> np.ndarray:
        """The module's output as a NumPy array with the batch first: one tensor, or the output of an RNN's
        ``(output, state)``."""
        if isinstance(raw, (tuple, list)):
            if len(raw) == 1 or (len(raw) == 2 and self._has_rnn and self._is_rnn_state(raw[1], batch)):
                raw = raw[0]
            else:
                raise ModelError(
                    f"model {self.name} returned a {type(raw).__name__} of {len(raw)} outputs, expected one tensor of"
                    f" predictions (or an RNN's (output, state)); make its forward return the prediction alone"
                )
        if not isinstance(raw, torch.Tensor):
            raise ModelError(
                f"model {self.name} returned a {type(raw).__name__}, expected a torch.Tensor of predictions; make its"
                f" forward return one"
            )
        out = raw.detach().cpu()
        if out.dtype not in (torch.float32, torch.float64):
            out = out.to(torch.float64)
        out = out.numpy()
        if out.ndim == 3 and not self.batch_first:
            return out.swapaxes(0, 1)
        if out.ndim == 3 and self._batch_first_assumed and out.shape[:2] == (length, batch) and length != batch:
            raise ModelError(
                f"model {self.name} returned shape={out.shape} for {batch} windows of length {length}: time first;"
                f" pass TorchModel(module, batch_first=False) if it takes and returns (time, batch, ...)"
            )
        return out

    @staticmethod
    def _is_rnn_state(state: Any, batch: int) -> bool:
        """Whether ``state`` is shaped as torch's RNNs return their states: tensors ``(layers * directions, batch,
        hidden)``, alone or in a tuple (an LSTM's ``(h, c)``)."""
        tensors = state if isinstance(state, (tuple, list)) else (state,)
        return bool(tensors) and all(isinstance(t, torch.Tensor) and t.ndim == 3 and t.shape[1] == batch for t in tensors)


# -- files ---------------------------------------------------------------------------------------


def check_torch_version(*, allow_unsafe: bool = False) -> str:
    """Refuse (:class:`ModelError`) to load model files with a torch older than :data:`MIN_TORCH_VERSION`, whose
    weights-only unpickler has published advisories in which a crafted file runs code (:data:`TORCH_ADVISORIES`);
    ``allow_unsafe=True`` lets the user load files they trust anyway.  Returns the version."""
    from torch.torch_version import TorchVersion

    version = str(torch.__version__)
    try:
        recent = TorchVersion(version) >= MIN_TORCH_VERSION
    except Exception:  # noqa: BLE001 - a version that is not PEP 440 cannot be vouched for
        recent = False
    if not recent and not allow_unsafe:
        raise ModelError(
            f"torch version={version!r}: expected {MIN_TORCH_VERSION} or later, because older torch releases let a crafted"
            f" model file run code through the weights-only unpickler ({', '.join(TORCH_ADVISORIES)}); upgrade with"
            f" pip install 'torch>={MIN_TORCH_VERSION}', or {UNSAFE_OPT_IN}"
        )
    return version


def load_torch_file(path: str | os.PathLike, *, allow_unsafe: bool = False, **options: Any) -> TorchModel:
    """A :class:`TorchModel` of the model in ``path``, named by the path as given; ``options`` are TorchModel's.

    - ``.pt2``: a ``torch.export`` program, screened (:func:`screen_exported_archive`) unless ``allow_unsafe``, then
      loaded with ``torch.export.load``;
    - ``.pt`` / ``.pth``: a whole pickled module, which only full unpickling can load: refused unless
      ``allow_unsafe``.  A file of weights only (a state_dict, a checkpoint) is refused with how to check it.

    Every failure (a missing, empty, truncated or corrupt file, a folder, a file too large) is a one-line
    :class:`~seqcheck.errors.ModelError`.
    """
    name = os.fspath(path)
    if not os.path.lexists(name):
        raise ModelError(
            f"model path={name!r}: no such file; check the path (a .pt2 file saved with torch.export.save, or a .pt file)"
        )
    if os.path.isdir(name):
        raise ModelError(f"model path={name!r}: is a folder, expected a .pt2 or .pt file; pass the model file itself")
    if not os.path.isfile(name):
        raise ModelError(f"model path={name!r}: is not a regular file, expected a .pt2 or .pt file; pass the model file itself")
    exported = os.path.splitext(name)[1].lower() == ".pt2"
    kind = "a .pt2 file" if exported else "a PyTorch .pt file"
    head = read_head(name, expected=kind)
    if not head:
        raise ModelError(f"model path={name!r}: the file is empty, expected {kind}; save the model again")
    if not allow_unsafe:
        check_torch_version()
    with open(name, "rb") as handle:  # screened and loaded through one handle: the file checked is the file loaded
        model = _load_exported(name, handle, head, allow_unsafe) if exported else _load_pickled(name, handle, head, allow_unsafe)
    return TorchModel(model, **{"name": name, **options})


def _zip_members(path: str, handle: BinaryIO, resave: str) -> zipfile.ZipFile:
    """The zip archive in ``handle``, every member decompressed once and counted against ``unpacked_bound()``."""
    try:
        archive = zipfile.ZipFile(handle)
        unpack_zip_bounded(path, archive, unpacked_bound(), resave=resave)
    except (ModelError, InvalidArgument):
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the zip reader trips on, the archive is not valid
        raise ModelError(
            f"model path={path!r}: is not a valid zip archive ({first_line(exc)}); the file is truncated or corrupt: {resave}"
        ) from exc
    return archive


def _load_exported(path: str, handle: BinaryIO, head: bytes, allow_unsafe: bool) -> torch.export.ExportedProgram:
    if not head.startswith(ZIP_MAGIC):
        raise ModelError(
            f"model path={path!r}: is not a zip archive (a .pt2 file is one), expected a torch.export program; {_RESAVE_PT2}"
        )
    archive = _zip_members(path, handle, _RESAVE_PT2)
    if not allow_unsafe:
        screen_exported_archive(path, archive)
    handle.seek(0)
    with quiet_framework(f"loading {path}"):
        try:
            program = torch.export.load(handle)
        except Exception as exc:
            raise ModelError(
                f"model path={path!r}: could not be loaded as a torch.export program ({type(exc).__name__}:"
                f" {first_line(exc)}); {_RESAVE_PT2} with torch {torch.__version__}"
            ) from exc
    return program


def _load_pickled(path: str, handle: BinaryIO, head: bytes, allow_unsafe: bool) -> Any:
    """The module a ``.pt`` file pickles; refused unless ``allow_unsafe`` (after the weights-only unpickler has said
    whether the file holds weights only)."""
    resave = "save the module again with torch.save(module, 'm.pt'), or export it with torch.export.save(program, 'm.pt2')"
    torchscript = False
    if head.startswith(ZIP_MAGIC):
        archive = _zip_members(path, handle, resave)
        torchscript = any("/code/" in name or name.endswith("/constants.pkl") for name in archive.namelist())
    elif os.path.getsize(path) > unpacked_bound():
        raise too_large(path, unpacked_bound())
    if torchscript and not allow_unsafe:
        raise ModelError(
            f"model path={path!r}: is a TorchScript archive, whose code runs when it is loaded, so seqcheck refuses it;"
            f" {UNSAFE_OPT_IN}"
        )
    handle.seek(0)
    with quiet_framework(f"loading {path}"):
        try:
            loaded = torch.load(handle, map_location="cpu", weights_only=not allow_unsafe)
        except Exception as exc:
            if not allow_unsafe and "GLOBAL" in str(exc):
                raise ModelError(
                    f"model path={path!r}: holds pickled Python objects (such as a whole module) that only full"
                    f" unpickling can load, which runs code from the file, so seqcheck refuses it; {UNSAFE_OPT_IN}"
                ) from exc
            raise ModelError(
                f"model path={path!r}: could not be read as a PyTorch file ({type(exc).__name__}: {first_line(exc)});"
                f" the file is truncated, corrupt or of another kind: {resave}"
            ) from exc
    if is_torch_module(loaded):
        return loaded
    if _holds_tensors(loaded):
        what = f"a state_dict of {len(loaded)} tensors" if isinstance(loaded, dict) and all(
            isinstance(v, torch.Tensor) for v in loaded.values()) else f"a {type(loaded).__name__} of tensors (a checkpoint)"
        raise ModelError(
            f"model path={path!r}: holds weights only ({what}), not a module that can compute with them; build the module"
            f" in Python, load the weights with module.load_state_dict(...), and pass the module: seqcheck.check(module, ...)"
        )
    raise ModelError(f"model path={path!r}: holds a {type(loaded).__name__}, expected a torch.nn.Module; {resave}")


def _holds_tensors(obj: Any) -> bool:
    """Whether ``obj`` (a dict, list or tuple, nested) holds a tensor."""
    stack = [obj]
    while stack:
        node = stack.pop()
        if isinstance(node, torch.Tensor):
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return False


# -- screening a .pt2 archive --------------------------------------------------------------------

#: Names a symbolic shape expression may call or name (sympy's ``srepr`` and torch's sympy functions).
_SYMPY_NAMES = frozenset({
    "Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "Mod", "Max", "Min", "Abs", "floor", "ceiling",
    "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "Equality", "Unequality", "StrictLessThan", "LessThan", "StrictGreaterThan",
    "GreaterThan", "And", "Or", "Not", "true", "false", "BooleanTrue", "BooleanFalse", "oo", "Infinity",
    "NegativeInfinity", "IntInfinity", "NegativeIntInfinity", "Piecewise",
    "FloorDiv", "ModularIndexing", "Where", "PythonMod", "CleanDiv", "CeilToInt", "FloorToInt", "CeilDiv", "LShift",
    "RShift", "PowByNatural", "FloatPow", "FloatTrueDiv", "IntTrueDiv", "IsNonOverlappingAndDenseIndicator",
    "TruncToFloat", "TruncToInt", "RoundToInt", "RoundDecimal", "ToFloat", "Identity",
})
#: Calls whose second argument is an exponent or a shift: a literal one must be small (``2**10**9`` would hang).
_POWERS = frozenset({"Pow", "PowByNatural", "FloatPow", "LShift"})
#: A symbol's name: torch counts unbacked symbols up to the largest number a range constraint names, one by one.
_SYMBOL = re.compile(r"[a-z]{1,4}\d{1,6}")
_NUMBER = re.compile(r"[-+]?\d{1,40}(\.\d{0,40})?([eE][-+]?\d{1,6})?")
_SYMPY_NODES = (
    ast.Expression, ast.Call, ast.Name, ast.Load, ast.Constant, ast.keyword, ast.Tuple, ast.BinOp, ast.UnaryOp,
    ast.Compare, ast.BoolOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd,
    ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.And, ast.Or,
)
#: Operators an exported graph may call besides ``torch.ops.<namespace>.<op>``: the builtins and torch functions that
#: torch.export's verifier allows (``torch.export.custom_ops``'s, which imports a module by name, excepted).
_PLAIN_OPERATORS = frozenset(
    [f"_operator.{name}" for name in (
        "getitem", "add", "mul", "sub", "truediv", "ge", "le", "gt", "lt", "eq", "ne", "floordiv", "mod", "and_",
        "or_", "not_", "pow", "neg", "abs", "lshift", "rshift")]
    + ["math.ceil", "math.floor", "math.trunc", "torch._C._set_grad_enabled",
       "torch.amp.autocast_mode._enter_autocast", "torch.amp.autocast_mode._exit_autocast"]
    + [f"torch.sym_{name}" for name in ("int", "float", "ite", "max", "min", "not", "sqrt", "sum")]
)
_TORCH_OP = re.compile(r"torch\.ops\.([A-Za-z_]\w*)\.[A-Za-z_]\w*(\.[A-Za-z_]\w*)?")
#: Tree-spec node types that name no Python module (a defaultdict's context names one, which torch imports).
_PLAIN_TREESPEC_TYPES = frozenset({None, "builtins.tuple", "builtins.list", "builtins.dict", "collections.OrderedDict"})


class _Refused(Exception):
    """What in a ``.pt2`` archive could run code or cannot be vetted, in words."""


def _small_literal(node: ast.AST) -> bool:
    """Whether ``node`` is an integer literal (or ``Integer(literal)``) of at most 64 in size, or a symbol."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("Integer", "Symbol") and len(node.args) == 1:
        return node.func.id == "Symbol" or _small_literal(node.args[0])
    if isinstance(node, ast.Name):
        return True
    return isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) <= 64


def _check_sym_expr(text: Any) -> None:
    """Refuse a symbolic shape expression that is more than sympy constructors of symbols and numbers (torch parses
    it with ``sympy.sympify``, which runs Python's ``eval``), or whose literal exponents are large."""
    if not isinstance(text, str) or len(text) > 4096:
        raise _Refused("a symbolic shape expression that is not a short string")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise _Refused(f"a symbolic shape expression that is not a sympy expression ({text[:60]!r})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _SYMPY_NODES):
            raise _Refused(f"Python code in a symbolic shape expression ({text[:60]!r}; sympy would eval it)")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _SYMPY_NAMES):
            raise _Refused(f"a call outside sympy in a symbolic shape expression ({text[:60]!r}; sympy would eval it)")
        if isinstance(node, ast.Name) and node.id not in _SYMPY_NAMES and not _SYMBOL.fullmatch(node.id):
            raise _Refused(f"an unknown name {node.id!r} in a symbolic shape expression (sympy would eval it)")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and not (
            _SYMBOL.fullmatch(node.value) or _NUMBER.fullmatch(node.value)
        ):
            raise _Refused(f"a string {node.value[:40]!r} in a symbolic shape expression (sympy would eval it)")
        if isinstance(node, ast.keyword) and not (node.arg and node.arg[0] != "_" and isinstance(node.value, ast.Constant)):
            raise _Refused(f"an unexpected keyword in a symbolic shape expression ({text[:60]!r})")
        power = (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and node.right) or (
            isinstance(node, ast.Call) and node.func.id in _POWERS and len(node.args) == 2 and node.args[1]
        )
        if power and not _small_literal(power):
            raise _Refused(f"a symbolic shape expression with a large or computed exponent ({text[:60]!r})")


def _check_operator(target: Any) -> None:
    """Refuse an operator other than ``torch.ops.<namespace>.<op>`` and the builtins torch.export's verifier allows:
    torch resolves any ``torch.*`` name as an operator and runs it when the program runs."""
    if not isinstance(target, str):
        raise _Refused("an operator that is not a name")
    if target in _PLAIN_OPERATORS:
        return
    match = _TORCH_OP.fullmatch(target)
    if match is None or "__" in target or hasattr(type(torch.ops), match.group(1)):
        raise _Refused(f"the operator {target[:80]!r}, which is not a torch operator (torch would resolve and run it)")


def _refuse_objects(obj: dict) -> None:
    raise _Refused("a tree spec whose context holds objects (torch would import the module an enum names)")


def _check_treespec(text: Any) -> None:
    """Refuse a tree spec (how a program's inputs and outputs nest) holding a type or context that makes torch import
    a module (a defaultdict's factory, an enum)."""
    try:
        _, spec = json.loads(text) if isinstance(text, str) else (None, None)
    except (ValueError, TypeError, RecursionError) as exc:
        raise _Refused("a tree spec that is not valid JSON") from exc
    stack = [spec]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if not isinstance(node, dict) or node.get("type") not in _PLAIN_TREESPEC_TYPES:
            what = node.get("type") if isinstance(node, dict) else type(node).__name__
            raise _Refused(f"a tree spec of type {str(what)[:60]!r} (only tuples, lists and dicts are vetted)")
        context = node.get("context")
        if context is not None:
            try:
                json.loads(context, object_hook=_refuse_objects)
            except (ValueError, TypeError, RecursionError) as exc:
                raise _Refused("a tree spec whose context is not plain JSON") from exc
        stack.extend(node.get("children_spec") or [])


def _check_program_json(document: Any) -> None:
    """Refuse a program (``models/<name>.json``) holding what torch would run: see the module docstring."""
    if not isinstance(document, dict):
        raise _Refused("a program that is not a JSON object")
    if document.get("guards_code"):
        raise _Refused("guard code (Python that ExportedProgram.module() runs)")
    ranges = document.get("range_constraints") or {}
    if not isinstance(ranges, dict) or not all(_SYMBOL.fullmatch(name) for name in ranges):
        raise _Refused("a range constraint on something other than a symbol")
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr_str":
                    _check_sym_expr(value)
                elif key in ("target", "as_operator"):
                    _check_operator(value)
                elif key in ("in_spec", "out_spec"):
                    _check_treespec(value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _check_payload_config(document: Any, *, constants: bool) -> int:
    """Refuse weights or constants that torch would unpickle (marked ``use_pickle``, or custom and opaque objects);
    return the bytes the largest tensor declares (at most 8 a number): torch allocates an empty record's tensor at its
    declared size."""
    from torch.export.pt2_archive.constants import TENSOR_CONSTANT_FILENAME_PREFIX

    entries = document.get("config") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise _Refused("a weights or constants config that is not a JSON object of entries")
    largest = 0
    for fqn, entry in entries.items():
        if not isinstance(entry, dict) or entry.get("use_pickle") is not False:
            raise _Refused(f"pickled {'constant' if constants else 'weight'} {str(fqn)[:60]!r} (torch would unpickle it)")
        if constants and not str(entry.get("path_name", "")).startswith(TENSOR_CONSTANT_FILENAME_PREFIX):
            raise _Refused(f"the constant {str(fqn)[:60]!r}, a pickled Python or TorchScript object (torch would unpickle it)")
        sizes = (entry.get("tensor_meta") or {}).get("sizes")
        if not (isinstance(sizes, list) and all(isinstance(size, dict) and type(size.get("as_int")) is int for size in sizes)):
            raise _Refused(f"the tensor {str(fqn)[:60]!r} without a fixed size")
        largest = max(largest, 8 * int(np.prod([max(size["as_int"], 0) for size in sizes], dtype=object)))
    return largest


def _check_weights_only(data: bytes, what: str) -> None:
    """Refuse a pickle that torch would load with ``weights_only=True`` and, if that failed, with full unpickling:
    the same call succeeds here, or the file is refused."""
    try:
        torch.load(io.BytesIO(data), weights_only=True)
    except Exception as exc:  # noqa: BLE001 - whatever the weights-only unpickler refuses, torch would unpickle in full
        raise _Refused(
            f"{what} that the weights-only unpickler refuses ({type(exc).__name__}), so torch would unpickle them in full"
        ) from exc


def screen_exported_archive(path: str, archive: zipfile.ZipFile) -> None:
    """Refuse (:class:`ModelError`) a ``.pt2`` archive holding anything ``torch.export.load`` or ``.module()`` would
    run; ``archive`` has been decompressed once within ``unpacked_bound()`` (:func:`_zip_members`).

    Read as a zip listing, JSON and (for sample inputs and legacy weights) the weights-only unpickler, never run:

    - one top-level folder, no two members whose names differ only in case (torch's zip reader and Python's must read
      the same members), no AOTInductor folder (compiled libraries torch would load);
    - every program's JSON: symbolic shape expressions made of sympy constructors only (small literal exponents),
      range constraints on symbols, operators of ``torch.ops`` and the verifier's builtins, tree specs of tuples,
      lists and dicts, no guard code;
    - weights and constants configs: nothing pickled, no tensor declared larger than ``unpacked_bound()``; sample
      inputs (and legacy weights and constants) that the weights-only unpickler loads, so that torch never falls back
      to full unpickling.
    """
    from torch.export.pt2_archive import constants as layout

    bound = unpacked_bound()

    def refuse(what: str) -> ModelError:
        return ModelError(
            f"model path={path!r}: carries {what}, which could run code when loaded, so seqcheck refuses it; {UNSAFE_OPT_IN}"
        )

    names = archive.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) != 1 or any("/" not in name for name in names):
        raise ModelError(
            f"model path={path!r}: is a zip archive whose members are not in one top-level folder, not a torch.export"
            f" archive; {_RESAVE_PT2}"
        )
    if len({name.casefold() for name in names}) != len(names):
        raise refuse("two members whose names differ only in case (zip readers may pick different ones)")
    top = f"{tops.pop()}/"
    inner = {name[len(top):]: name for name in names}

    def member(name: str, *, json_document: bool) -> Any:
        info = archive.getinfo(inner[name])
        if json_document and info.file_size > _MAX_JSON_BYTES:
            raise ModelError(f"model path={path!r}: {name} unpacks to more than {_MAX_JSON_BYTES >> 20} MiB; check the file")
        data = archive.read(info)
        if not json_document:
            return data
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ModelError(f"model path={path!r}: {name} is not valid JSON ({first_line(exc)}); {_RESAVE_PT2}") from exc

    try:
        if any(name.startswith(layout.AOTINDUCTOR_DIR) for name in inner):
            raise _Refused("an AOTInductor package (compiled native libraries that torch loads)")
        programs = [name for name in inner if name.startswith(layout.MODELS_DIR)]
        if not programs:
            raise ModelError(
                f"model path={path!r}: is a zip archive without a program (models/*.json), not a torch.export archive;"
                f" {_RESAVE_PT2}"
            )
        for program in programs:
            model = program[len(layout.MODELS_DIR):].removesuffix(".json")
            if not program.endswith(".json") or not re.fullmatch(r"\w+", model):
                raise _Refused(f"an unexpected member {program[:80]!r} where torch reads programs")
            _check_program_json(member(program, json_document=True))
            for config, constants in (
                (layout.WEIGHTS_CONFIG_FILENAME_FORMAT.format(model), False),
                (layout.CONSTANTS_CONFIG_FILENAME_FORMAT.format(model), True),
            ):
                declared = _check_payload_config(member(config, json_document=True), constants=constants) if config in inner else 0
                if declared > bound:
                    raise too_large(path, bound)
            for pickled, what in (
                (layout.SAMPLE_INPUTS_FILENAME_FORMAT.format(model), "sample inputs"),
                (f"{layout.WEIGHTS_DIR}{model}.pt", "legacy weights"),
                (f"{layout.CONSTANTS_DIR}{model}.pt", "legacy constants"),
            ):
                data = member(pickled, json_document=False) if pickled in inner else b""
                if data:
                    with quiet_framework(f"screening {path}"):
                        _check_weights_only(data, what)
    except _Refused as exc:
        raise refuse(str(exc)) from None
