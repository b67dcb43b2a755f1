"""Causal Keras models, and copies of them that read a prediction out at every time step.

A model is *causal* here when its output for the first ``t+1`` steps of a window does not depend on later
steps: for every ``t``, its output after step ``t`` on ``x`` is what it outputs on the prefix ``x[:, :t+1]``.
Then one pass over a window read out at every step, ``(B, L, k)``, predicts every prefix of it: row
``[:, t]`` is the prediction for the prefix of length ``t+1``.

:func:`prove_causal` proves it layer by layer for a Sequential or functional chain, and :func:`per_step_model` builds that
per-step readout: a new model with the same weights whose last recurrent layer, when it returns only its
last state, returns its state at every step, and whose ``TimeDistributed(Dense)`` layers are the ``Dense``
layers themselves.  :func:`without_time_distributed` makes only that last replacement, for any model.
The user's model is never modified: its layers are read (configs and weights), never called.

Importing this module imports neither Keras nor TensorFlow: each function takes the ``keras`` module.
"""

from __future__ import annotations

from typing import Any, Callable

from seqcheck.models.keras_numpy import IDENTITY_LAYERS, check_chain, model_layers

__all__ = ["NotCausal", "per_step_model", "prove_causal", "without_time_distributed"]

_RECURRENT = frozenset({"LSTM", "GRU", "SimpleRNN"})
#: Layers acting on the last axis alone: each time step from that step alone, when the last axis is not time.
_LAST_AXIS = frozenset({"Dense", "Activation", "Softmax", "LayerNormalization", "TimeDistributed"})
#: The only layers allowed after a recurrent layer that returns its last state.
_PER_STEP = _LAST_AXIS | IDENTITY_LAYERS
_ATTENTION = frozenset({"Attention", "AdditiveAttention", "MultiHeadAttention", "GroupedQueryAttention"})
#: Why a Keras layer of these classes is not causal, after "layer <name> of class <class>".
_NOT_CAUSAL = {
    "Bidirectional": "reads the window backwards",
    "Flatten": "mixes time steps into one vector",
    "Reshape": "reshapes across time steps",
    "Masking": "masks time steps",
    "Lambda": "runs arbitrary code",
    **{name: "is attention, with no causal mask seqcheck can prove; declare the model causal if it is" for name in _ATTENTION},
}


class NotCausal(Exception):
    """Why a model is not known to be causal (one phrase, for the adapter's record)."""


def per_step_model(keras: Any, model: Any) -> tuple[Any, str]:
    """A new model reading ``model``'s prediction out at every time step, and why ``model`` is causal, in words
    (:func:`prove_causal`).

    The copy takes ``model``'s input with free batch and time dimensions and returns ``(B, L, k)`` in the
    encoding ``model`` outputs (probabilities, logits...): step ``t`` is ``model(x[:, :t+1])`` for a model whose
    last recurrent layer returns its last state, else ``model``'s own output at step ``t``.
    """
    readout, reason = _proof(keras, model)
    inputs = model.inputs

    def configure(layer: Any) -> tuple[Any, dict]:
        source, config = _replacement(layer)
        if layer is readout:
            config["return_sequences"] = True
        if type(layer).__name__ in _RECURRENT:
            config["unroll"] = False  # unrolling needs a fixed time dimension; the same function either way
        if type(layer).__name__ in ("Softmax", "LayerNormalization"):
            config["axis"] = -1  # the last axis (checked): of the state's readout, it is now of every step's
        return source, config

    free = keras.Input(batch_shape=(None, None, *inputs[0].shape[2:]), dtype=inputs[0].dtype)
    input_tensors = free if isinstance(model, keras.Sequential) else keras.tree.map_structure(lambda _: free, model.input)
    return _clone(keras, model, configure, input_tensors=input_tensors, recursive=False), reason


def prove_causal(keras: Any, model: Any) -> str:
    """Why ``model`` is causal, in words ("proven causal (LSTM, Dense)"), read from its layers alone (nothing is built).

    Raises :class:`NotCausal` unless ``model`` is a Sequential or functional chain of Keras's own layers, with
    Keras's own activations: ``InputLayer``; ``Embedding`` without ``mask_zero``; ``Dense``, ``Activation``,
    ``Softmax`` and ``LayerNormalization`` over the last axis, and ``TimeDistributed(Dense)``, each on a feature
    axis (not on time); the layers that are the identity at inference; ``LSTM``, ``GRU`` and ``SimpleRNN`` that
    read forwards, keep no state between calls and return no states, all but the last returning sequences;
    ``Conv1D`` with ``padding="causal"``, stride 1 and channels last; and, after a recurrent layer that returns
    its last state, only ``Dense``, ``Activation``, ``Softmax``, ``LayerNormalization``, ``TimeDistributed(Dense)``
    and identity layers.
    """
    return _proof(keras, model)[1]


def _proof(keras: Any, model: Any) -> tuple[Any, str]:
    """:func:`prove_causal`'s proof: the recurrent layer that returns only its last state (``None`` if none does), and
    the reason."""
    layers = model_layers(model, NotCausal)
    try:
        model.inputs
    except AttributeError:  # an unbuilt Sequential model
        raise NotCausal("a model that was never built (no input shape to read)") from None
    for layer in layers:
        _check_layer(keras, layer)
    check_chain(model, layers, NotCausal)
    readout = None  # the recurrent layer returning its last state, read out at every step in the copy
    for layer in layers:
        where = f"layer {layer.name} of class {type(layer).__name__}"
        if readout is not None and type(layer).__name__ not in _PER_STEP:
            raise NotCausal(f"{where} follows {readout.name}, which returns only its last state")
        if readout is None and type(layer).__name__ in _LAST_AXIS and len(layer.input.shape) < 3:
            raise NotCausal(f"{where} acts across time steps (its input of shape {tuple(layer.input.shape)} has no feature axis)")
        if type(layer).__name__ in _RECURRENT and not layer.get_config()["return_sequences"]:
            readout = layer
    names = ", ".join(dict.fromkeys(type(layer).__name__ for layer in layers if type(layer).__name__ not in IDENTITY_LAYERS))
    return readout, f"proven causal ({names})"


def without_time_distributed(keras: Any, model: Any) -> Any | None:
    """A copy of ``model`` (any Sequential or functional model, nested ones included) with each
    ``TimeDistributed(Dense)`` replaced by its ``Dense`` acting on the last axis, the same function, and the same
    weights; ``None`` if ``model`` holds no ``TimeDistributed``, holds one over anything else, or cannot be rebuilt
    from its layers' configs.

    In Keras 3.15 ``TimeDistributed`` under a symbolic time dimension maps over the batch size instead of the
    time steps; the copy needs no static time dimension, so one trace serves every window length.
    """
    from seqcheck.models.keras import walk_layers

    wrappers = [layer for layer in walk_layers(model, keras) if type(layer).__name__ == "TimeDistributed"]
    if not wrappers or not all(_unwrapped(layer) is not layer for layer in wrappers):
        return None

    try:
        return _clone(keras, model, _replacement, recursive=True)
    except Exception:  # noqa: BLE001 - a layer Keras cannot rebuild from its config (a custom one, say): no copy
        return None


# -- checks ----------------------------------------------------------------------------------------


def _check_layer(keras: Any, layer: Any) -> None:
    """Raise :class:`NotCausal` unless ``layer`` is one of :func:`per_step_model`'s layers, with causal options."""
    kind = type(layer).__name__
    where = f"layer {layer.name} of class {kind}"
    if isinstance(layer, keras.Model):
        raise NotCausal(f"{where} is a nested model (only flat chains are read)")
    if not type(layer).__module__.startswith("keras."):
        raise NotCausal(f"{where} is not one of Keras's own layers (its call may differ)")
    if kind in _NOT_CAUSAL:
        raise NotCausal(f"{where} {_NOT_CAUSAL[kind]}")
    if "Pooling" in kind:
        raise NotCausal(f"{where} pools over time steps")
    config = layer.get_config()
    if kind in _RECURRENT:
        for flag, why in (
            ("go_backwards", "reads the window backwards"),
            ("stateful", "carries its state across calls"),
            ("return_state", "returns its states"),
        ):
            if config.get(flag):
                raise NotCausal(f"{where} {why} ({flag}=True)")
    elif kind == "Conv1D":
        if config["padding"] != "causal":
            why = "reads later steps" if config["padding"] == "same" else "does not give one output per step"
            raise NotCausal(f"{where} {why} (padding={config['padding']!r})")
        if tuple(config["strides"]) != (1,):
            raise NotCausal(f"{where} does not give one output per step (strides={config['strides']})")
        if config["data_format"] != "channels_last":
            raise NotCausal(f"{where} convolves over its last axis, the features (data_format={config['data_format']!r})")
        _check_activation(where, config)
    elif kind == "Embedding":
        if config.get("mask_zero"):
            raise NotCausal(f"{where} masks time steps (mask_zero=True)")
    elif kind in ("Dense", "Activation"):
        _check_activation(where, config)
    elif kind in ("Softmax", "LayerNormalization"):
        axes = config["axis"] if isinstance(config["axis"], (list, tuple)) else [config["axis"]]
        rank = len(layer.input.shape)
        if sorted(axis % rank for axis in axes) != [rank - 1]:
            raise NotCausal(f"{where} normalizes over axis {config['axis']}, not the last axis alone")
    elif kind == "TimeDistributed":
        inner = _unwrapped(layer)
        if inner is layer:
            raise NotCausal(f"{where} wraps a {type(layer.layer).__name__}, not a Keras Dense layer")
        _check_activation(where, inner.get_config())
    elif kind not in IDENTITY_LAYERS:
        raise NotCausal(f"{where} is not known to be causal")


def _check_activation(where: str, config: dict) -> None:
    """Raise unless the activation is one of Keras's (by name): those act on each step's last axis alone."""
    if not isinstance(config.get("activation", "linear"), str):
        raise NotCausal(f"{where} has an activation that is not one of Keras's")


def _unwrapped(layer: Any) -> Any:
    """The Keras ``Dense`` layer a ``TimeDistributed`` layer wraps; else ``layer`` itself."""
    inner = getattr(layer, "layer", None) if type(layer).__name__ == "TimeDistributed" else None
    if inner is not None and type(inner).__name__ == "Dense" and type(inner).__module__.startswith("keras."):
        return inner
    return layer


def _replacement(layer: Any) -> tuple[Any, dict]:
    """The layer a copy rebuilds in ``layer``'s place, the ``Dense`` of a ``TimeDistributed(Dense)`` else ``layer``
    itself, and its config under ``layer``'s name."""
    source = _unwrapped(layer)
    return source, {**source.get_config(), "name": layer.name}


# -- copies ----------------------------------------------------------------------------------------


def _clone(keras: Any, model: Any, configure: Callable[[Any], tuple[Any, dict]], **options: Any) -> Any:
    """``keras.models.clone_model(model, **options)`` rebuilding each layer as ``configure(layer)`` says: from
    ``(source, config)`` (see :func:`_replacement`), a layer of ``source``'s class made from ``config``, given
    ``source``'s weights."""
    from keras.src.saving.serialization_lib import SafeModeScope

    sources: list[tuple[Any, Any]] = []
    replacements: set[int] = set()

    def clone_function(layer: Any) -> Any:
        source, config = configure(layer)
        copy = type(source).from_config(config)
        if isinstance(source, keras.layers.Layer):  # not an operation in the graph (a mask's comparison, say)
            sources.append((copy, source))
        if source is not layer:
            replacements.add(id(copy))
        return copy

    def call_function(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if id(layer) in replacements:  # a TimeDistributed call's mask argument, which Dense propagates without taking it
            kwargs.pop("mask", None)
        return layer(*args, **kwargs)

    if not isinstance(model, keras.Sequential):  # a Sequential model's layers are listed, not called again
        options["call_function"] = call_function
    # The configs come from layers already live in this process: rebuilding them loads no new code.
    with SafeModeScope(False):
        copy = keras.models.clone_model(model, clone_function=clone_function, **options)
    for layer, source in sources:
        layer.set_weights(source.get_weights())
    return copy
