"""Causal Keras models read out at every step: the per-step copy and the NumPy program's per-step pass predict
every prefix, what is not provably causal is refused with the layer named, and the user's model is never touched."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

from seqcheck.models import keras_numpy  # noqa: E402
from seqcheck.models.keras_causal import NotCausal, per_step_model, without_time_distributed  # noqa: E402
from seqcheck.models.keras_numpy import translate  # noqa: E402

L = keras.layers
REPO = Path(__file__).resolve().parents[1]
LENGTH = 12


def randomized(model: keras.Model, seed: int = 0) -> keras.Model:
    """The model with every weight drawn at random, biases included, so that every term shows."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.6, w.shape).astype("float32") for w in model.get_weights()])
    return model


def sequential(*layers) -> keras.Model:
    keras.utils.set_random_seed(0)
    return randomized(keras.Sequential(list(layers)))


def functional(inp, *layers) -> keras.Model:
    keras.utils.set_random_seed(0)
    x = inp
    for layer in layers:
        x = layer(x)
    return randomized(keras.Model(inp, x))


ACCEPTED = {  # name: (builder, whether keras_numpy translates it)
    "lstm, dense sigmoid, scalar": (
        lambda: sequential(keras.Input((None, 1)), L.LSTM(4), L.Dense(1, activation="sigmoid")), True
    ),
    "embedding, gru, dense softmax": (
        lambda: functional(keras.Input((None,), dtype="int32"), L.Embedding(3, 4), L.GRU(5), L.Dense(3, activation="softmax")), True
    ),
    "simple rnn stack": (
        lambda: functional(keras.Input((None, 2)), L.SimpleRNN(5, return_sequences=True), L.SimpleRNN(4), L.Dense(2)), True
    ),
    "lstm sequences, time-distributed dense": (
        lambda: functional(keras.Input((None, 1)), L.LSTM(3, return_sequences=True), L.TimeDistributed(L.Dense(2, activation="softmax"))), True
    ),
    "causal conv1d, dense per step": (
        lambda: functional(
            keras.Input((None, 2)), L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"), L.Dense(2, activation="softmax")
        ),
        False,
    ),
    "lstm, dropout, dense, activation": (
        lambda: sequential(keras.Input((None, 3)), L.LSTM(4), L.Dropout(0.5), L.Dense(3), L.Activation("softmax")), True
    ),
    "layer normalization, softmax over the readout's axis 1": (
        lambda: functional(
            keras.Input((None, 2)), L.LayerNormalization(), L.SimpleRNN(4), L.LayerNormalization(axis=1), L.Dense(3), L.Softmax(axis=1)
        ),
        False,
    ),
}


def inputs(model: keras.Model, length: int = LENGTH, batch: int = 4, seed: int = 0) -> np.ndarray:
    shape = model.inputs[0].shape
    rng = np.random.default_rng(seed)
    if len(shape) == 2:
        return rng.integers(0, 3, size=(batch, length)).astype("int32")
    return rng.integers(0, 2, size=(batch, length, shape[-1])).astype("float32")


def prefix_predictions(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """``(B, L, k)``: row ``[:, t]`` is the model's prediction for the prefix ``x[:, :t+1]``, one call per prefix."""
    rows = []
    for t in range(x.shape[1]):
        out = np.asarray(model(x[:, : t + 1], training=False))
        rows.append(out[:, -1] if out.ndim == 3 else out)
    return np.stack(rows, axis=1)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_every_step_of_the_per_step_copy_and_program_is_the_prediction_for_that_prefix(name):
    build, translatable = ACCEPTED[name]
    model = build()
    x = inputs(model)
    expected = prefix_predictions(model, x)
    copy, reason = per_step_model(keras, model)
    assert reason.startswith("proven causal (")
    assert tuple(copy.inputs[0].shape[:2]) == (None, None)
    np.testing.assert_allclose(np.asarray(copy(x, training=False)), expected, rtol=1e-5, atol=1e-6)
    if not translatable:
        return
    program = translate(model)
    steps = program.per_step(x)
    assert steps.shape == expected.shape and steps.dtype == np.float32
    np.testing.assert_allclose(steps, expected, rtol=1e-5, atol=1e-6)
    whole = program(x)
    np.testing.assert_array_equal(steps[:, -1] if program.last_state else steps, whole)  # bit for bit


def test_a_copy_of_a_model_with_fixed_dimensions_takes_any_batch_and_length():
    model = sequential(keras.Input((LENGTH, 1), batch_size=4), L.GRU(3, name="gru"), L.Dense(1, activation="sigmoid"))
    copy, reason = per_step_model(keras, model)
    assert reason == "proven causal (GRU, Dense)"
    x = inputs(model)
    np.testing.assert_allclose(np.asarray(copy(x))[:, -1], np.asarray(model(x)), rtol=1e-5, atol=1e-6)
    assert np.asarray(copy(inputs(model, length=30, batch=2))).shape == (2, 30, 1)


class Doubled(L.LSTM):
    """A user's subclass: its call may differ from the LSTM's."""


def attention_model() -> keras.Model:
    inp = keras.Input((None, 2))
    return keras.Model(inp, L.Dense(1)(L.MultiHeadAttention(2, 4, name="attend")(inp, inp)))


def two_branches() -> keras.Model:
    inp = keras.Input((None, 1))
    return keras.Model(inp, L.Add(name="add")([L.LSTM(2)(inp), L.LSTM(2)(inp)]))


REFUSED = {  # name: (builder, what the reason says)
    "Bidirectional": (
        lambda: functional(keras.Input((None, 1)), L.Bidirectional(L.LSTM(2), name="both_ways"), L.Dense(1)),
        "layer both_ways of class Bidirectional reads the window backwards",
    ),
    "Conv1D same": (
        lambda: functional(keras.Input((None, 1)), L.Conv1D(2, 3, padding="same", name="conv"), L.LSTM(2), L.Dense(1)),
        "layer conv of class Conv1D reads later steps (padding='same')",
    ),
    "pooling": (
        lambda: functional(keras.Input((None, 1)), L.LSTM(2, return_sequences=True), L.GlobalAveragePooling1D(name="pool"), L.Dense(1)),
        "layer pool of class GlobalAveragePooling1D pools over time steps",
    ),
    "attention": (attention_model, "layer attend of class MultiHeadAttention is attention, with no causal mask seqcheck can prove"),
    "subclassed layer": (
        lambda: functional(keras.Input((None, 1)), Doubled(2, name="doubled"), L.Dense(1)),
        "layer doubled of class Doubled is not one of Keras's own layers",
    ),
    "go_backwards": (
        lambda: functional(keras.Input((None, 1)), L.GRU(2, go_backwards=True, name="back"), L.Dense(1)),
        "layer back of class GRU reads the window backwards (go_backwards=True)",
    ),
    "mask_zero": (
        lambda: functional(keras.Input((None,), dtype="int32"), L.Embedding(3, 2, mask_zero=True, name="emb"), L.LSTM(2), L.Dense(1)),
        "layer emb of class Embedding masks time steps (mask_zero=True)",
    ),
    "Dense across time": (
        lambda: functional(keras.Input((LENGTH,)), L.Dense(2, name="mix"), L.Dense(1)),
        "layer mix of class Dense acts across time steps",
    ),
    "softmax over time": (
        lambda: functional(keras.Input((None, 1)), L.LSTM(2, return_sequences=True), L.Softmax(axis=1, name="over_time")),
        "layer over_time of class Softmax normalizes over axis 1, not the last axis alone",
    ),
    "Embedding after the last state": (
        lambda: functional(keras.Input((None, 1)), L.LSTM(2, name="last"), L.Embedding(3, 2, name="emb"), L.LSTM(2)),
        "layer emb of class Embedding follows last, which returns only its last state",
    ),
    "Lambda": (
        lambda: functional(keras.Input((None, 1)), L.LSTM(2, return_sequences=True), L.Lambda(lambda t: t[:, ::-1], name="flip")),
        "layer flip of class Lambda runs arbitrary code",
    ),
    "Add": (two_branches, "layer add of class Add is not known to be causal"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_is_not_provably_causal_is_refused_naming_the_layer(name):
    build, reason = REFUSED[name]
    with pytest.raises(NotCausal) as info:
        per_step_model(keras, build())
    assert str(info.value).startswith(reason)


def test_a_model_of_causal_layers_that_is_not_one_chain_is_refused():
    inp = keras.Input((None, 1))
    dense = L.Dense(2)
    with pytest.raises(NotCausal, match="not one chain"):
        per_step_model(keras, keras.Model(inp, dense(dense(L.LSTM(2)(inp)))))


# -- the user's model is never touched ------------------------------------------------------------


def state_of(model: keras.Model) -> tuple:
    return (
        [w.copy() for w in model.get_weights()],
        [len(layer._inbound_nodes) for layer in model.layers],
        model.get_config(),
    )


def td_model() -> keras.Model:
    return ACCEPTED["lstm sequences, time-distributed dense"][0]()


@pytest.mark.parametrize("build", [td_model, ACCEPTED["lstm, dense sigmoid, scalar"][0]])
def test_the_users_model_is_untouched(build):
    model = build()
    before = state_of(model)
    copy, _ = per_step_model(keras, model)
    plain = without_time_distributed(keras, model)
    x = inputs(model)
    copy(x)
    after = state_of(model)
    for a, b in zip(before[0], after[0]):
        np.testing.assert_array_equal(a, b)
    assert before[1:] == after[1:]
    assert not {id(layer) for layer in copy.layers} & {id(layer) for layer in model.layers}
    for clone in (copy, plain):  # new variables: changing the copy's weights leaves the model's alone
        if clone is not None:
            clone.set_weights([w + 1 for w in clone.get_weights()])
    for a, b in zip(before[0], model.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- TimeDistributed(Dense) replaced by Dense ------------------------------------------------------


def holds_time_distributed(model: keras.Model) -> bool:
    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, L.TimeDistributed):
            return True
        stack.extend(getattr(layer, "layers", []))
    return False


def nested_td_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((None, 4)), L.TimeDistributed(L.Dense(3)), L.Activation("softmax")])
    inp = keras.Input((None, 1))
    return randomized(keras.Model(inp, inner(L.Bidirectional(L.LSTM(2, return_sequences=True))(inp))))


TIME_DISTRIBUTED = {
    "lstm, time-distributed dense": td_model,
    "bidirectional, time-distributed dense": lambda: functional(
        keras.Input((None, 1)), L.Bidirectional(L.GRU(3, return_sequences=True)), L.TimeDistributed(L.Dense(2, activation="sigmoid"))
    ),
    "sequential": lambda: sequential(keras.Input((None, 1)), L.SimpleRNN(3, return_sequences=True), L.TimeDistributed(L.Dense(2))),
    "nested sequential": nested_td_model,
    "masked steps": lambda: functional(  # the mask makes operations of the graph that are not layers
        keras.Input((None, 1)), L.Masking(0.0), L.LSTM(3, return_sequences=True), L.TimeDistributed(L.Dense(2))
    ),
}


@pytest.mark.parametrize("name", sorted(TIME_DISTRIBUTED))
def test_without_time_distributed_computes_the_same_at_every_length(name):
    import tensorflow as tf

    model = TIME_DISTRIBUTED[name]()
    plain = without_time_distributed(keras, model)
    assert plain is not None and not holds_time_distributed(plain)
    # One function for every length: a TimeDistributed layer would map over the batch of 3, not the time steps.
    spec = tf.TensorSpec((None, None, 1), tf.float32)
    compiled = tf.function(lambda x: plain(x, training=False), input_signature=[spec], autograph=False)
    for length in (5, 9):
        x = inputs(model, length=length, batch=3)
        expected = np.asarray(model(x, training=False))
        np.testing.assert_allclose(np.asarray(plain(x, training=False)), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(compiled(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert compiled.experimental_get_tracing_count() == 1


def test_without_time_distributed_is_none_when_there_is_nothing_it_can_replace():
    assert without_time_distributed(keras, ACCEPTED["lstm, dense sigmoid, scalar"][0]()) is None
    over_lstm = functional(keras.Input((None, 3, 1)), L.TimeDistributed(L.LSTM(2)), L.LSTM(2), L.Dense(1))
    assert without_time_distributed(keras, over_lstm) is None


# -- the NumPy program's pass: blocks of time steps, one BLAS thread ------------------------------


def peak_memory(f, *args) -> tuple[object, int]:
    """``f(*args)`` and the most memory allocated at once during the call, in bytes."""
    tracemalloc.start()
    try:
        return f(*args), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_long_per_step_pass_runs_in_blocks_of_bounded_memory(monkeypatch):
    model = sequential(keras.Input((None, 1)), L.LSTM(64), L.Dense(1, activation="sigmoid"))
    program = translate(model)
    x = inputs(model, length=3000, batch=3)
    full_length_products = 3 * 3000 * 4 * 64 * 4  # bytes of the (B, L, 4 x units) float32 input products
    monkeypatch.setattr(keras_numpy, "TIME_BLOCK", 10**6)  # one block: the whole window at once
    whole, unblocked_peak = peak_memory(program.per_step, x)
    monkeypatch.setattr(keras_numpy, "TIME_BLOCK", 100)
    steps, peak = peak_memory(program.per_step, x)
    assert unblocked_peak > full_length_products > 4 * peak
    assert steps.shape == (3, 3000, 1)
    np.testing.assert_allclose(steps, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(steps[:, -1], program(x))


def test_programs_run_blas_on_one_thread_and_restore_it():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads() -> list[int]:
        return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]

    model = ACCEPTED["lstm, dense sigmoid, scalar"][0]()
    program = translate(model)
    seen = []
    program.head.insert(0, lambda h: seen.append(blas_threads()) or h)
    before = blas_threads()
    x = inputs(model, length=3)
    program(x)
    program.per_step(x)
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert blas_threads() == before


def test_importing_keras_causal_imports_neither_keras_nor_tensorflow():
    code = (
        "import sys; import seqcheck.models.keras_causal;"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
