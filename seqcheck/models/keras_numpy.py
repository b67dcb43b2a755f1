"""Keras sequence models translated to NumPy from their weights: nothing to trace, almost nothing per call.

A check makes a few dozen small model calls (one per window length it visits).  Through TensorFlow
each costs 1-3 ms, and the first one traces the model's graph, 0.15-0.2 s for an LSTM, which alone
is most of a check of a model that fails at once.  A model built from the layers below, in one
chain, is a few matrix products per time step: :func:`translate` turns it into a :class:`NumpyProgram`
that runs those products in NumPy with the model's own weights, in float32 as Keras does.

Supported: ``InputLayer``; ``Embedding`` (without ``mask_zero``); ``LSTM``, ``GRU`` (both
``reset_after`` settings) and ``SimpleRNN`` (stateless, forwards, with or without
``return_sequences``); ``Dense`` (on the last axis, alone or in ``TimeDistributed``);
``Activation`` and ``Softmax`` (last axis); and the layers that are the identity at inference
(``Dropout`` and its kin).  Activations: :data:`ACTIVATIONS`.  Every layer must have exactly that class (a subclass may change ``call``),
float32 compute, no quantization or LoRA.  Anything else is not translated, and the model is called
through Keras.

Every such chain is causal (its output for the first ``t+1`` steps does not depend on later steps), so a
program also gives the output after every time step of one pass, :meth:`NumpyProgram.per_step`: the
prediction for every prefix of a window at the cost of the longest.  Programs run BLAS on one thread
(through threadpoolctl, when it is installed).

A translation is never trusted on its own: :class:`~seqcheck.models.keras.KerasModel` compares it
with the model itself on a probe batch before using it, and hands back to Keras every window whose
prediction is too close to call (see there).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable

import numpy as np

from seqcheck.models.base import softmax

__all__ = ["ACTIVATIONS", "IDENTITY_LAYERS", "NumpyProgram", "Untranslatable", "check_chain", "model_layers", "translate"]

Step = Callable[[np.ndarray], np.ndarray]
State = list[np.ndarray]

#: Time steps a program runs through every layer at once: bounds the memory of long windows.
TIME_BLOCK = 256


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.float32(1) / (np.float32(1) + np.exp(-x))  # exp overflows to inf for x << 0: gives 0, as it should


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


_SELU_ALPHA, _SELU_SCALE = np.float32(1.6732632423543772), np.float32(1.0507009873554805)

#: Keras activations by their serialized name, in NumPy.
ACTIVATIONS: dict[str, Step] = {
    "linear": lambda x: x,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, np.float32(0)),
    "relu6": lambda x: np.clip(x, np.float32(0), np.float32(6)),
    "hard_sigmoid": lambda x: np.clip(x + np.float32(3), np.float32(0), np.float32(6)) / np.float32(6),
    "softmax": softmax,
    "log_softmax": _log_softmax,
    "softplus": lambda x: np.logaddexp(np.float32(0), x),
    "softsign": lambda x: x / (np.float32(1) + np.abs(x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(x)),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "exponential": np.exp,
}

#: Layers that are the identity at inference.
IDENTITY_LAYERS = frozenset(
    {"Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"}
)


class Untranslatable(Exception):
    """Why a model cannot be translated (one phrase, for the adapter's record)."""


class NumpyProgram:
    """A chain of NumPy steps, one per layer, computing what the Keras model computes at inference.

    A window is run through the chain one block of :data:`TIME_BLOCK` time steps at a time, each block through
    every layer, each recurrent layer's state carried from one block to the next: no layer holds more than a
    block of time steps.  ``body`` is the chain up to its last recurrent layer, ``head`` the per-step layers
    after it.
    """

    def __init__(self, stages: list[Step | _Recurrent], layers: list[str]):
        last = max((i for i, stage in enumerate(stages) if isinstance(stage, _Recurrent)), default=-1)
        self.body, self.head = stages[: last + 1], stages[last + 1 :]
        self.layers = layers
        #: Whether the model returns its last recurrent layer's final state through the head, ``(B, k)``, rather
        #: than an output per time step, ``(B, L, k)``.
        self.last_state = last >= 0 and not stages[last].return_sequences
        #: Weights of each recurrent layer's recurrent kernel, in order: what a time step costs per row.
        self.recurrent_kernels = [stage.recurrent_weights for stage in self.body if isinstance(stage, _Recurrent)]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The model's output for the windows ``x``."""
        return self._run(x, per_step=False)

    def per_step(self, x: np.ndarray) -> np.ndarray:
        """The output at every time step, ``(B, L, k)``: row ``[:, t]`` is the output for the prefix ``x[:, :t+1]``.

        For a model returning its last state's readout, ``[:, t]`` is that readout after step ``t`` (equal to
        ``self(x[:, :t+1])`` up to float rounding, and the last row to ``self(x)`` bit for bit); for a model with
        an output per step, it is that output: ``per_step(x)`` is ``self(x)``.  One pass over time.
        """
        return self._run(x, per_step=True)

    def _run(self, x: np.ndarray, per_step: bool) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind == "f":
            x = x.astype(np.float32, copy=False)
        batch, length = x.shape[0], x.shape[1]
        sequences = per_step or not self.last_state  # whether the last recurrent layer gives its state at every step
        states: list[State | None] = [stage.start(batch) if isinstance(stage, _Recurrent) else None for stage in self.body]
        readouts = []
        with _one_blas_thread(), np.errstate(over="ignore", under="ignore", invalid="ignore"):  # NaN and inf propagate as in Keras
            for start in range(0, max(length, 1), TIME_BLOCK):  # an empty window is one empty block
                block = x[:, start : start + TIME_BLOCK]
                for i, stage in enumerate(self.body):
                    if isinstance(stage, _Recurrent):
                        block, states[i] = stage(block, states[i], sequences=sequences or i < len(self.body) - 1)
                    else:
                        block = stage(block)
                if sequences:
                    readouts.append(self._readout(block))
            if not sequences:
                return _apply(self.head, states[-1][0])
            return np.concatenate(readouts, axis=1)

    def _readout(self, block: np.ndarray) -> np.ndarray:
        """The head over one block of the body's per-step outputs ``(B, T, units)``."""
        if not self.last_state:
            return _apply(self.head, block)
        # Time-major, the head multiplies each step's (B, units) states as a call multiplies the final ones: BLAS
        # products of other shapes round differently, and the last step's readout must equal the call's exactly.
        return _apply(self.head, np.ascontiguousarray(block.swapaxes(0, 1))).swapaxes(0, 1)

    def __repr__(self) -> str:
        return f"NumpyProgram({' -> '.join(self.layers)})"


def _apply(steps: list[Step], x: np.ndarray) -> np.ndarray:
    for step in steps:
        x = step(x)
    return x


@functools.cache
def _blas_controller() -> Any:
    """This process's ``threadpoolctl.ThreadpoolController`` (made on first use), or ``None`` without threadpoolctl."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.ThreadpoolController()


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """A context in which BLAS runs on one thread: a program's products are small, and BLAS's own threads
    made them up to 37 times slower on a loaded machine.  Without threadpoolctl, BLAS's settings as they are."""
    controller = _blas_controller()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def translate(model: Any) -> NumpyProgram:
    """The :class:`NumpyProgram` of ``model``; raises :class:`Untranslatable` for anything not supported."""
    layers = model_layers(model)
    stages = [_step(layer) for layer in layers]
    check_chain(model, layers)
    return NumpyProgram([s for s in stages if s is not None], [type(layer).__name__ for layer in layers])


# -- the chain of layers ---------------------------------------------------------------------------


def model_layers(model: Any, error: type[Exception] = Untranslatable) -> list[Any]:
    """The layers of a Sequential or functional model, in order, without its input layer; raises ``error`` for
    any other model."""
    kind = type(model).__name__
    if not type(model).__module__.startswith("keras.") or kind not in ("Sequential", "Functional"):
        raise error(f"a {kind} model (only Sequential and functional chains are supported)")
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


def check_chain(model: Any, layers: list[Any], error: type[Exception] = Untranslatable) -> None:
    """Raise ``error`` unless each layer of a functional model is called once, on the previous layer's output."""
    if type(model).__name__ == "Sequential":
        return
    try:
        current = model.inputs[0]
        for layer in layers:
            (node,) = layer._inbound_nodes
            (argument,) = node.arguments.keras_tensors
            (output,) = node.outputs
            if argument is not current:
                break
            current = output
        else:
            (last,) = model.outputs
            if last is current:
                return
    except ValueError:  # a layer called twice, or on several inputs, or with several outputs
        pass
    raise error("a functional model whose layers are not one chain")


def _activation(name: Any, where: str) -> Step:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise Untranslatable(f"{where}: activation {name!r}")
    return ACTIVATIONS[name]


def _weights(layer: Any) -> list[np.ndarray]:
    return [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]


def _step(layer: Any) -> Step | _Recurrent | None:
    """One layer as a NumPy function of a block of time steps (``None`` for the identity)."""
    kind = type(layer).__name__
    if not type(layer).__module__.startswith("keras."):
        raise Untranslatable(f"layer {layer.name} of class {kind}")
    policy = getattr(getattr(layer, "dtype_policy", None), "compute_dtype", "float32")
    if policy != "float32":
        raise Untranslatable(f"layer {layer.name} computes in {policy}")
    if getattr(layer, "quantization_mode", None) is not None or getattr(layer, "lora_enabled", False):
        raise Untranslatable(f"layer {layer.name} is quantized or has LoRA weights")
    config = layer.get_config()
    if kind in IDENTITY_LAYERS:
        return None
    if kind == "Dense":
        return _dense(layer, config)
    if kind == "Activation":
        return _activation(config.get("activation"), layer.name)
    if kind == "Softmax":
        if config.get("axis", -1) not in (-1, [-1]):
            raise Untranslatable(f"layer {layer.name}: softmax over axis {config.get('axis')}")
        return softmax
    if kind == "TimeDistributed":  # over a Dense layer: the Dense itself, which acts on the last axis
        inner = layer.layer
        if type(inner).__name__ != "Dense" or not type(inner).__module__.startswith("keras."):
            raise Untranslatable(f"layer {layer.name}: TimeDistributed over {type(inner).__name__}")
        return _step(inner)
    if kind == "Embedding":
        if config.get("mask_zero"):
            raise Untranslatable(f"layer {layer.name}: mask_zero=True")
        (table,) = _weights(layer)
        return lambda x: table[np.asarray(x).astype(np.int64, copy=False)]
    if kind in ("LSTM", "GRU", "SimpleRNN"):
        return _recurrent(layer, kind, config)
    raise Untranslatable(f"layer {layer.name} of class {kind}")


def _dense(layer: Any, config: dict) -> Step:
    weights = _weights(layer)
    kernel, bias = weights[0], (weights[1] if config.get("use_bias", True) else None)
    activation = _activation(config.get("activation", "linear"), layer.name)

    def dense(x: np.ndarray) -> np.ndarray:
        z = x @ kernel
        if bias is not None:
            z += bias
        return activation(z)

    return dense


def _recurrent(layer: Any, kind: str, config: dict) -> _Recurrent:
    for flag in ("stateful", "go_backwards", "return_state"):
        if config.get(flag):
            raise Untranslatable(f"layer {layer.name}: {flag}=True")
    activation = _activation(config.get("activation", "tanh"), layer.name)
    recurrent_activation = _activation(config.get("recurrent_activation", "sigmoid"), layer.name) if kind != "SimpleRNN" else None
    use_bias = config.get("use_bias", True)
    weights = _weights(layer)
    kernel, recurrent = weights[0], weights[1]
    units = recurrent.shape[0]
    if kind == "GRU" and config.get("reset_after", True):
        input_bias, recurrent_bias = (weights[2][0], weights[2][1]) if use_bias else (None, None)
    else:
        input_bias, recurrent_bias = (weights[2] if use_bias else None), None
    cell = {
        "LSTM": _lstm_cell(recurrent, activation, recurrent_activation, units),
        "SimpleRNN": _simple_cell(recurrent, activation),
        "GRU": _gru_cell(recurrent, recurrent_bias, activation, recurrent_activation, units, config.get("reset_after", True)),
    }[kind]
    return _Recurrent(cell, kernel, input_bias, units, 2 if kind == "LSTM" else 1, bool(config.get("return_sequences", False)))


class _Recurrent:
    """A recurrent layer, run over one block of time steps from the state the previous block left."""

    def __init__(
        self,
        cell: Callable[[np.ndarray, State], State],
        kernel: np.ndarray,
        input_bias: np.ndarray | None,
        units: int,
        carries: int,
        return_sequences: bool,
    ):
        self.cell, self.kernel, self.input_bias = cell, kernel, input_bias
        self.units, self.carries = units, carries
        self.return_sequences = return_sequences
        #: Weights of the recurrent kernel: multiply-adds per row and time step of the state's product.
        self.recurrent_weights = units * kernel.shape[-1]

    def start(self, batch: int) -> State:
        """The state before the first time step: zeros."""
        return [np.zeros((batch, self.units), dtype=np.float32) for _ in range(self.carries)]

    def __call__(self, block: np.ndarray, state: State, sequences: bool) -> tuple[np.ndarray | None, State]:
        """The outputs at every step of ``block`` ``(B, T, units)`` (``None`` unless ``sequences``) and the state after it."""
        xw = block @ self.kernel  # (B, T, gates x units): the input products
        if self.input_bias is not None:
            xw += self.input_bias
        outputs = np.empty((xw.shape[0], xw.shape[1], self.units), dtype=np.float32) if sequences else None
        for t in range(xw.shape[1]):
            state = self.cell(xw[:, t], state)
            if outputs is not None:
                outputs[:, t] = state[0]
        return outputs, state


def _lstm_cell(recurrent: np.ndarray, activation: Step, recurrent_activation: Step, units: int):
    def cell(xw: np.ndarray, state: list[np.ndarray]) -> list[np.ndarray]:
        h, c = state
        z = xw + h @ recurrent
        gates = recurrent_activation(z)  # i, f and o; the third quarter is unused (the candidate takes `activation`)
        c = gates[:, units : 2 * units] * c + gates[:, :units] * activation(z[:, 2 * units : 3 * units])
        return [gates[:, 3 * units :] * activation(c), c]

    return cell


def _gru_cell(recurrent: np.ndarray, recurrent_bias: np.ndarray | None, activation: Step, recurrent_activation: Step, units: int, reset_after: bool):
    def cell(xw: np.ndarray, state: list[np.ndarray]) -> list[np.ndarray]:
        (h,) = state
        if reset_after:
            inner = h @ recurrent
            if recurrent_bias is not None:
                inner += recurrent_bias
            z = recurrent_activation(xw[:, :units] + inner[:, :units])
            r = recurrent_activation(xw[:, units : 2 * units] + inner[:, units : 2 * units])
            hh = activation(xw[:, 2 * units :] + r * inner[:, 2 * units :])
        else:
            inner = h @ recurrent[:, : 2 * units]
            z = recurrent_activation(xw[:, :units] + inner[:, :units])
            r = recurrent_activation(xw[:, units : 2 * units] + inner[:, units:])
            hh = activation(xw[:, 2 * units :] + (r * h) @ recurrent[:, 2 * units :])
        return [z * h + (1 - z) * hh]

    return cell


def _simple_cell(recurrent: np.ndarray, activation: Step):
    def cell(xw: np.ndarray, state: list[np.ndarray]) -> list[np.ndarray]:
        return [activation(xw + state[0] @ recurrent)]

    return cell
