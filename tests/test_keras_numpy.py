"""The NumPy translation of Keras models: exact agreement with Keras, refusal of what it cannot run, and the
adapter's guards (the probe, windows too close to call, batch invariance in the framework)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

import seqcheck  # noqa: E402
from seqcheck.errors import InvalidArgument, ModelError  # noqa: E402
from seqcheck.models import keras_numpy  # noqa: E402
from seqcheck.models.base import DECISION_MARGIN  # noqa: E402
from seqcheck.models.keras import KerasModel  # noqa: E402
from seqcheck.models.keras_numpy import Untranslatable, translate  # noqa: E402

L = keras.layers


def randomized(model: keras.Model, seed: int) -> keras.Model:
    """The model with every weight drawn at random, biases included, so that every term shows."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.6, w.shape).astype("float32") for w in model.get_weights()])
    return model


def sequential(*layers) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(list(layers))


def functional(inp, *layers) -> keras.Model:
    keras.utils.set_random_seed(0)
    x = inp
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x)


# Every supported layer, option and activation appears in at least one of these.
MODELS = {
    "lstm, scalar, sequential": lambda: sequential(keras.Input((None, 1)), L.LSTM(4), L.Dense(1, activation="sigmoid")),
    "gru reset_after, one-hot, logits": lambda: functional(keras.Input((None, 3)), L.GRU(5), L.Dense(3)),
    "gru reset_before": lambda: functional(keras.Input((None, 3)), L.GRU(5, reset_after=False), L.Dense(3, activation="softmax")),
    "tokens, stacked, identity layers": lambda: functional(
        keras.Input((None,), dtype="int32"),
        L.Embedding(3, 4),
        L.LSTM(6, return_sequences=True),
        L.Dropout(0.5),
        L.SimpleRNN(5, activation="relu"),
        L.GaussianNoise(0.3),
        L.Dense(8, activation="selu"),
        L.Dense(3),
        L.Activation("softmax"),
    ),
    "per-step outputs": lambda: functional(keras.Input((None, 1)), L.GRU(3, return_sequences=True), L.Dense(1, activation="sigmoid")),
    "per-step, time-distributed": lambda: functional(
        keras.Input((None, 1)), L.LSTM(3, return_sequences=True), L.TimeDistributed(L.Dense(2, activation="softmax"))
    ),
    "other activations, no bias": lambda: sequential(
        keras.Input((None, 2)),
        L.LSTM(4, activation="softsign", recurrent_activation="hard_sigmoid", use_bias=False),
        L.Dense(5, activation="elu"),
        L.Dense(5, activation="softplus"),
        L.Dense(5, activation="silu"),
        L.Dense(5, activation="relu6"),
        L.Dense(2, use_bias=False),
        L.Softmax(),
    ),
    "simple rnn, exponential, log_softmax": lambda: sequential(
        keras.Input((None, 2)), L.SimpleRNN(3, activation="exponential"), L.Dense(2, activation="log_softmax")
    ),
}


def inputs(model: keras.Model, length: int, seed: int = 0) -> np.ndarray:
    shape = model.inputs[0].shape
    rng = np.random.default_rng(seed + length)
    if len(shape) == 2:
        return rng.integers(0, 3, size=(6, length)).astype("int32")
    return rng.integers(0, 2, size=(6, length, shape[-1])).astype("float32")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_translation_computes_what_keras_computes(name, monkeypatch):
    monkeypatch.setattr(keras_numpy, "TIME_BLOCK", 4)  # long windows are computed in blocks of time steps
    model = randomized(MODELS[name](), seed=len(name))
    program = translate(model)
    for length in (1, 5, 11):
        x = inputs(model, length)
        expected = np.asarray(model(x, training=False))
        got = program(x)
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


class Doubled(L.LSTM):
    """A user's subclass: its call may differ from the LSTM's, so it is never translated."""


UNSUPPORTED = {
    "Bidirectional": lambda: functional(keras.Input((None, 1)), L.Bidirectional(L.LSTM(2)), L.Dense(1)),
    "Conv1D": lambda: functional(keras.Input((None, 1)), L.Conv1D(2, 3, padding="causal"), L.LSTM(2), L.Dense(1)),
    "mask_zero=True": lambda: functional(keras.Input((None,), dtype="int32"), L.Embedding(3, 2, mask_zero=True), L.LSTM(2), L.Dense(1)),
    "go_backwards=True": lambda: functional(keras.Input((None, 1)), L.LSTM(2, go_backwards=True), L.Dense(1)),
    "Doubled": lambda: functional(keras.Input((None, 1)), Doubled(2), L.Dense(1)),
    "activation 'gelu'": lambda: functional(keras.Input((None, 1)), L.LSTM(2), L.Dense(1, activation="gelu")),
    "TimeDistributed over LSTM": lambda: functional(keras.Input((None, 3, 1)), L.TimeDistributed(L.LSTM(2)), L.LSTM(2), L.Dense(1)),
}


def shared_layer_model() -> keras.Model:
    inp = keras.Input((None, 1))
    dense = L.Dense(2)
    return keras.Model(inp, dense(dense(L.LSTM(2)(inp))))


def test_what_cannot_be_translated_is_refused_with_the_reason():
    for fragment, build in UNSUPPORTED.items():
        with pytest.raises(Untranslatable, match=fragment.replace("(", r"\(")):
            translate(build())
    with pytest.raises(Untranslatable, match="not one chain"):
        translate(shared_layer_model())


# -- the adapter: engine choice, probe, undecided windows, batch invariance ---------------------


def seed_model() -> keras.Model:
    return MODELS["lstm, scalar, sequential"]()


def test_auto_engine_translates_and_never_traces():
    adapter = KerasModel(randomized(seed_model(), 4), alphabet_size=2)
    assert adapter.engine == "numpy" and adapter.engine_reason.startswith("its weights in NumPy, verified on a probe")
    for length in range(1, 20):
        adapter.predict_proba(np.random.default_rng(length).integers(0, 2, size=(3, length)))
    assert adapter.tracing_count == 0  # no graph was built: no window was close enough to a tie to need Keras


def test_a_model_at_a_tie_everywhere_is_decided_by_keras():
    # Untrained, all-zero windows: the LSTM's state stays 0 and the output is exactly sigmoid(0) = 0.5.
    adapter = KerasModel(seed_model(), alphabet_size=2)
    assert adapter.engine == "numpy"
    np.testing.assert_array_equal(adapter.predict_proba(np.zeros((3, 8), dtype=np.int64)), 0.5)
    assert adapter.tracing_count == 1


def test_auto_engine_falls_back_to_keras_and_says_why():
    adapter = KerasModel(UNSUPPORTED["Bidirectional"](), alphabet_size=2, output="logits")
    assert adapter.engine == "keras"
    assert "Bidirectional" in adapter.engine_reason


def test_engine_numpy_on_a_model_it_cannot_run_is_a_one_line_error():
    with pytest.raises(ModelError) as info:
        KerasModel(UNSUPPORTED["Conv1D"](), alphabet_size=2, engine="numpy", output="logits")
    message = str(info.value)
    assert "\n" not in message
    assert "engine='numpy' cannot run this model (layer" in message and "Conv1D" in message
    assert "pass engine='auto' or engine='keras'" in message


def test_auto_engine_leaves_a_large_recurrent_kernel_to_keras_and_big_batches_too():
    """Past NUMPY_MAX_KERNEL recurrent weights the compiled Keras call is the faster engine; below, batches whose rows
    times recurrent weights pass NUMPY_MAX_WORK go to Keras one by one (benchmarks/engines.py measured both)."""
    from seqcheck.models.keras import NUMPY_MAX_KERNEL, NUMPY_MAX_WORK

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 1))
    large = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(96)(inp)))  # 36,864 weights
    adapter = KerasModel(large, alphabet_size=2)
    assert 4 * 96 * 96 > NUMPY_MAX_KERNEL
    assert adapter.engine == "keras" and adapter.engine_reason == (
        "a recurrent kernel of 36,864 weights, over the 32,768 beyond which its compiled call outruns the NumPy translation"
    )
    assert KerasModel(large, alphabet_size=2, engine="numpy").engine == "numpy"  # the user's word stands
    small = KerasModel(randomized(seed_model(), 4), alphabet_size=2)  # LSTM(4): 64 recurrent weights
    rows = NUMPY_MAX_WORK // 64
    small.predict_proba(np.random.default_rng(0).integers(0, 2, size=(rows, 40)))
    assert small.tracing_count == 0
    small.predict_proba(np.random.default_rng(1).integers(0, 2, size=(rows + 1, 40)))
    assert small.tracing_count == 1


def test_unknown_engine_names_the_value_and_the_choices():
    with pytest.raises(InvalidArgument, match=r"engine='fast'.*auto, numpy, keras"):
        KerasModel(seed_model(), alphabet_size=2, engine="fast")


def test_probe_rejects_a_translation_that_disagrees_with_the_model(monkeypatch):
    monkeypatch.setitem(keras_numpy.ACTIVATIONS, "tanh", lambda x: x)  # a wrong LSTM
    adapter = KerasModel(randomized(seed_model(), 1), alphabet_size=2)
    assert adapter.engine == "keras"
    assert adapter.engine_reason.startswith("no NumPy translation: the translation differs from the model by ")


def test_windows_too_close_to_call_are_decided_by_keras():
    model = randomized(seed_model(), 2)
    adapter = KerasModel(model, alphabet_size=2)
    w = np.array([[1, 0, 0, 1, 1], [0, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    keras_p1 = np.asarray(model(w[..., None].astype("float32"), training=False))[:, 0]
    half = DECISION_MARGIN / 4  # a translation off by this much could flip these rows' decisions
    class Drifting:
        """A translation off by ``half`` on row 0, and NaN on row 2."""

        recurrent_kernels = adapter._program.recurrent_kernels

        def __call__(self, x):
            return np.array([[0.5 + half], [0.9], [np.nan]], dtype=np.float32)

    adapter._program = Drifting()
    got = adapter.predict_proba(w)[:, 1]
    np.testing.assert_allclose(got[[0, 2]], keras_p1[[0, 2]], atol=1e-6)  # from Keras
    assert got[1] == pytest.approx(0.9)  # decided: kept from the translation
    assert adapter.tracing_count == 1


def test_batch_invariance_runs_in_keras_the_other_invariants_do_not():
    adapter = KerasModel(randomized(seed_model(), 3), alphabet_size=2)
    seqcheck.check(adapter, pattern="11000", train_length=6, max_length=12, invariants=[seqcheck.phase_shift_invariance])
    assert adapter.tracing_count == 0
    seqcheck.check(adapter, pattern="11000", train_length=6, max_length=12, invariants=[seqcheck.batch_invariance])
    assert adapter.tracing_count == 1


def test_a_subject_checks_with_its_engine(seed_model_path):
    from seqcheck import Subject

    for engine in ("keras", "auto"):
        subject = Subject("seed", seed_model_path, pattern="11000", train_length=10, max_length=14, engine=engine)
        assert subject.report().model_engine == ("keras" if engine == "keras" else "numpy")


# -- models loaded from a .keras file (the CLI's path), at long lengths --------------------------

SAVED = {  # name: (alphabet size, builder); untrained, every weight drawn from a seeded generator
    "gru, one-hot, softmax": (3, lambda: functional(keras.Input((None, 3)), L.GRU(8), L.Dense(3, activation="softmax"))),
    "simple rnn, scalar, sigmoid": (2, lambda: functional(keras.Input((None, 1)), L.SimpleRNN(8), L.Dense(1, activation="sigmoid"))),
    "embedding, lstm, logits": (
        3, lambda: functional(keras.Input((None,), dtype="int32"), L.Embedding(3, 4), L.LSTM(8), L.Dense(3))
    ),
}
#: Across the NumPy engine's blocks of time steps (TIME_BLOCK = 256) and up to ~500.
LONG_LENGTHS = (1, 7, 64, 255, 256, 257, 500)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved")
    paths = {}
    for i, (name, (k, build)) in enumerate(sorted(SAVED.items())):
        path = folder / f"model{i}.keras"
        randomized(build(), seed=10 + i).save(path)
        paths[name] = (path, k)
    return paths


@pytest.mark.parametrize("name", sorted(SAVED))
def test_a_model_loaded_from_a_file_is_translated_and_agrees_with_keras_at_long_lengths(name, saved_models):
    from seqcheck.models import as_model
    from seqcheck.models.base import encode

    path, k = saved_models[name]
    numpy_engine = as_model(path, alphabet_size=k)  # as the CLI loads a model: safe mode, engine "auto"
    keras_engine = as_model(path, alphabet_size=k, engine="keras")
    assert numpy_engine.engine == "numpy" and numpy_engine.translated
    assert keras_engine.engine == "keras"
    program = translate(numpy_engine.runner)
    for length in LONG_LENGTHS:
        windows = np.random.default_rng(length).integers(0, k, size=(8, length))
        expected = keras_engine.predict_proba(windows)
        np.testing.assert_allclose(numpy_engine.predict_proba(windows), expected, rtol=1e-5, atol=1e-5, err_msg=f"length {length}")
        # The translation alone (the adapter hands windows too close to call to Keras; here nothing is handed over).
        alone = keras_engine.decode(program(encode(windows, numpy_engine.encoding, k)), len(windows))
        np.testing.assert_allclose(alone, expected, rtol=1e-5, atol=1e-5, err_msg=f"length {length}")
