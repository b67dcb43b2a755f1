"""Tests of the Keras adapter: loading ``.keras`` files, detecting encodings, fast calling."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

from seqcheck.errors import InvalidArgument, ModelError  # noqa: E402
from seqcheck.models.keras import KerasModel  # noqa: E402
from seqcheck.models.keras_files import load_keras_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LENGTHS = (1, 3, 10, 17)


def _seed(seed: int = 0) -> None:
    keras.utils.set_random_seed(seed)


def seed_model() -> keras.Model:
    """The seed's set-up: scalar input, LSTM(4), Dense(1, sigmoid)."""
    _seed()
    inp = keras.Input((None, 1))
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(4)(inp))
    return keras.Model(inp, out, name="seed")


def onehot_model(k: int = 3) -> keras.Model:
    _seed(1)
    return keras.Sequential(
        [keras.Input((None, k)), keras.layers.GRU(5), keras.layers.Dense(k, activation="softmax")], name="onehot"
    )


def token_model(k: int = 3) -> keras.Model:
    _seed(2)
    inp = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(k, 4)(inp)
    out = keras.layers.Dense(k, activation="softmax")(keras.layers.SimpleRNN(6)(x))
    return keras.Model(inp, out, name="tokens")


def per_step_model() -> keras.Model:
    _seed(3)
    inp = keras.Input((None, 1))
    x = keras.layers.LSTM(4, return_sequences=True)(inp)
    out = keras.layers.TimeDistributed(keras.layers.Dense(1, activation="sigmoid"))(x)
    return keras.Model(inp, out, name="per_step")


def logits_model(k: int = 3) -> keras.Model:
    _seed(4)
    inp = keras.Input((None, k))
    out = keras.layers.Dense(k)(keras.layers.LSTM(4)(inp))  # linear activation: logits
    return keras.Model(inp, out, name="logits")


def raw_is_per_step(model: keras.Model) -> bool:
    return len(model.outputs[0].shape) == 3


def windows(k: int, length: int, batch: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + length).integers(0, k, size=(batch, length))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# -- import hygiene -----------------------------------------------------------------------------


def test_importing_adapter_does_not_import_tensorflow_or_keras():
    code = (
        "import sys; import seqcheck.models.keras, seqcheck.models.keras_files, seqcheck.models.keras_numpy, seqcheck.models;"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules];"
        "assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# -- detection and numerical agreement with model.predict ---------------------------------------


@pytest.mark.parametrize("engine", ["auto", "keras"])
@pytest.mark.parametrize(
    "build, k, encoding, output, auto_engine",
    [
        (seed_model, 2, "scalar", "probabilities", "numpy"),
        (onehot_model, 3, "onehot", "probabilities", "numpy"),
        (token_model, 3, "tokens", "probabilities", "numpy"),
        (per_step_model, 2, "scalar", "probabilities", "numpy"),
        (logits_model, 3, "onehot", "logits", "numpy"),
    ],
)
def test_detection_and_predictions_match_keras_predict(build, k, encoding, output, auto_engine, engine):
    model = build()
    adapter = KerasModel(model, alphabet_size=k, engine=engine)
    assert adapter.engine == (auto_engine if engine == "auto" else "keras")
    assert adapter.encoding == encoding
    assert adapter.output == output
    assert adapter.name == model.name
    from seqcheck.models.base import encode

    for length in LENGTHS:
        w = windows(k, length)
        proba = adapter.predict_proba(w)
        assert proba.shape == (len(w), k)
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        x = encode(w, encoding, k)
        if raw_is_per_step(model):
            # model.predict itself breaks here: its tf.function relaxes the time dimension to None on
            # the second length, which triggers Keras's TimeDistributed bug (see below). Call eagerly.
            raw = np.asarray(model(x, training=False), dtype=np.float64)[:, -1, :]
        else:
            raw = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
        if output == "logits":
            raw = _softmax(raw)
        expected = np.concatenate([1 - raw, raw], axis=1) if raw.shape[1] == 1 else raw
        np.testing.assert_allclose(proba, expected, atol=1e-5)


def test_description_and_name():
    assert KerasModel(seed_model(), alphabet_size=2).description == "Keras, LSTM"
    assert KerasModel(onehot_model(), alphabet_size=3).description == "Keras, GRU"
    assert KerasModel(token_model(), alphabet_size=3).description == "Keras, Embedding, SimpleRNN"
    assert KerasModel(per_step_model(), alphabet_size=2).description == "Keras, LSTM"
    assert KerasModel(seed_model(), alphabet_size=2, name="seed.keras").name == "seed.keras"


def test_tokens_on_a_float_input_layer_are_cast():
    _seed(5)
    inp = keras.Input((None,))  # float32 by default; Embedding casts
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.GRU(3)(keras.layers.Embedding(2, 3)(inp)))
    model = keras.Model(inp, out)
    adapter = KerasModel(model, alphabet_size=2)
    assert adapter.encoding == "tokens"
    w = windows(2, 7)
    np.testing.assert_allclose(adapter.predict_proba(w), model.predict(w.astype("float32"), verbose=0), atol=1e-5)


def test_output_kind_without_a_known_activation_is_read_from_values_and_said():
    _seed(6)
    inp = keras.Input((None, 1))
    model = keras.Model(inp, keras.layers.LSTM(1)(inp))  # ends with tanh
    inferred = KerasModel(model, alphabet_size=2, engine="keras")
    assert inferred.output == "auto"  # nothing decided before the model has answered
    inferred.warm_up(4)
    assert inferred.output != "auto" and f"outputs read as {inferred.output}" in inferred.output_evidence
    given = KerasModel(model, alphabet_size=2, output="logits")
    assert given.output == "logits" and given.output_evidence is None


@pytest.mark.parametrize("engine", ["auto", "keras"])
@pytest.mark.parametrize(("units", "head"), [(1, "log_sigmoid"), (2, "log_softmax")])
def test_log_probability_heads_predict_what_the_probability_heads_predict(engine, units, head):
    """Dense(1, log_sigmoid) gives log p(1): read as a logit it would always predict 0."""
    _seed(8)
    inp = keras.Input((None, 1))
    hidden = keras.layers.LSTM(3)(inp)
    log_model = keras.Model(inp, keras.layers.Dense(units, activation=head, name="head")(hidden))
    plain = {"log_sigmoid": "sigmoid", "log_softmax": "softmax"}[head]
    prob_model = keras.Model(inp, keras.layers.Dense(units, activation=plain, name="head")(hidden))
    prob_model.set_weights(log_model.get_weights())
    windows = np.random.default_rng(0).integers(0, 2, size=(32, 9))
    logged = KerasModel(log_model, alphabet_size=2, engine=engine)
    assert logged.output == "log-probabilities"
    expected = KerasModel(prob_model, alphabet_size=2, engine=engine).predict_proba(windows)
    assert logged.predict_proba(windows) == pytest.approx(expected, abs=1e-5)
    assert len(set(np.argmax(expected, axis=1))) == 2  # both symbols are predicted: the test can tell


def test_user_encoding_overrides_detection_and_is_validated():
    _seed(7)
    inp = keras.Input((None, 2))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.LSTM(2)(inp)))
    assert KerasModel(model, alphabet_size=2).encoding == "onehot"
    with pytest.raises(ModelError, match=r"encoding='scalar'.*\(batch, time, 1\)"):
        KerasModel(model, alphabet_size=2, encoding="scalar")
    with pytest.raises(ModelError, match=r"encoding='tokens'"):
        KerasModel(model, alphabet_size=2, encoding="tokens")
    with pytest.raises(InvalidArgument, match="encoding='bits'"):
        KerasModel(model, alphabet_size=2, encoding="bits")


def test_unknown_input_width_names_shape_and_suggests_encoding():
    _seed(8)
    inp = keras.Input((None, 4))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.LSTM(2)(inp)))
    with pytest.raises(ModelError, match=r"shape=\(None, None, 4\).*encoding="):
        KerasModel(model, alphabet_size=3)


def test_model_is_not_modified():
    model = seed_model()
    before = [w.copy() for w in model.get_weights()]
    trainable = [layer.trainable for layer in model.layers]
    adapter = KerasModel(model, alphabet_size=2)
    adapter.predict_proba(windows(2, 6))
    assert not model.compiled
    assert [layer.trainable for layer in model.layers] == trainable
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- speed: one trace for every length and batch size (the compiled path) ----------------------


def test_thirty_lengths_cause_no_retracing():
    adapter = KerasModel(seed_model(), alphabet_size=2, engine="keras")
    for i, length in enumerate(range(1, 31)):
        out = adapter.predict_proba(windows(2, length, batch=1 + i % 4))
        assert out.shape == (1 + i % 4, 2)
    assert adapter.tracing_count == 1
    assert adapter._fn.experimental_get_tracing_count() == 1


def test_tokens_no_retracing_and_chunked_batches():
    adapter = KerasModel(token_model(), alphabet_size=3, engine="keras")
    adapter.max_batch_symbols = 40  # forces several chunks, of different batch sizes
    w = windows(3, 12, batch=9)
    proba = adapter.predict_proba(w)
    assert proba.shape == (9, 3)
    assert adapter.calls == 3
    np.testing.assert_allclose(proba, KerasModel(token_model(), alphabet_size=3, engine="keras").predict_proba(w), atol=1e-6)
    for length in range(2, 12):
        adapter.predict_proba(windows(3, length))
    assert adapter.tracing_count == 1


# -- model shape errors ------------------------------------------------------------------------


def test_two_inputs_refused():
    a, b = keras.Input((None, 1)), keras.Input((None, 1))
    x = keras.layers.Concatenate()([a, b])
    model = keras.Model([a, b], keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(2)(x)), name="two")
    with pytest.raises(ModelError, match=r"model two: has 2 inputs, expected exactly 1; wrap the model") as info:
        KerasModel(model, alphabet_size=2)
    assert "\n" not in str(info.value)


def test_two_outputs_refused():
    inp = keras.Input((None, 1))
    h = keras.layers.LSTM(2)(inp)
    model = keras.Model(inp, [keras.layers.Dense(1)(h), keras.layers.Dense(1)(h)], name="twoout")
    with pytest.raises(ModelError, match=r"has 2 outputs, expected exactly 1; wrap the model"):
        KerasModel(model, alphabet_size=2)


def test_output_width_mismatch_refused():
    inp = keras.Input((None, 1))
    model = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(keras.layers.LSTM(2)(inp)))
    with pytest.raises(ModelError, match=r"output width=4: expected 3 .*alphabet_size=4"):
        KerasModel(model, alphabet_size=3, encoding="scalar")


def test_binary_output_needs_binary_alphabet():
    inp = keras.Input((None, 1))
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(2)(inp)))
    with pytest.raises(ModelError, match=r"output width=1 fits a binary alphabet.*alphabet_size=3"):
        KerasModel(model, alphabet_size=3, encoding="scalar")


# -- loading -----------------------------------------------------------------------------------


def test_round_trip_through_a_keras_file(tmp_path):
    model = seed_model()
    path = tmp_path / "seed.keras"
    model.save(path)
    loaded = load_keras_model(path)
    assert not loaded.compiled
    adapter = KerasModel(loaded, alphabet_size=2, name=str(path))
    assert adapter.name == str(path)
    w = windows(2, 11)
    np.testing.assert_allclose(adapter.predict_proba(w), KerasModel(model, alphabet_size=2).predict_proba(w), atol=1e-6)


def _load_error(path, **kw) -> str:
    with pytest.raises(ModelError) as info:
        load_keras_model(path, **kw)
    message = str(info.value)
    assert "\n" not in message
    assert repr(str(path)) in message
    return message


def test_missing_file(tmp_path):
    assert "no such file" in _load_error(tmp_path / "nope.keras")


def test_folder(tmp_path):
    message = _load_error(tmp_path)
    assert "folder" in message and "SavedModel" in message and "model.save('m.keras')" in message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.keras"
    path.write_bytes(b"")
    assert "empty" in _load_error(path)


@pytest.mark.parametrize("name", ["m.h5", "m.hdf5", "m.pb", "model"])
def test_wrong_extension(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not a model")
    message = _load_error(path)
    assert ".keras" in message and "model.save('m.keras')" in message
    assert "not supported" in message


def test_zip_that_is_not_a_model(tmp_path):
    path = tmp_path / "z.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "config.json" in _load_error(path)


def test_truncated_keras_file(tmp_path):
    path = tmp_path / "seed.keras"
    seed_model().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = _load_error(path)
    assert "truncated" in message and "zip" in message


def test_broken_config_becomes_one_line_error(tmp_path):
    path = tmp_path / "bad.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", '{"class_name": "NoSuchLayer", "config": {}, "module": "nowhere"}')
        archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
    message = _load_error(path)
    assert "could not be loaded as a Keras model (" in message


def test_lambda_refused_by_safe_mode_then_loaded_when_unsafe(tmp_path):
    _seed(9)
    inp = keras.Input((None, 1))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inp)
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(2)(x)))
    path = tmp_path / "lam.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that a lambda is being serialized
        model.save(path)
    message = _load_error(path)
    assert "Lambda" in message and "safe mode" in message
    assert "--unsafe-load" in message and "allow_unsafe=True" in message
    loaded = load_keras_model(path, allow_unsafe=True)
    w = windows(2, 8)
    np.testing.assert_allclose(
        KerasModel(loaded, alphabet_size=2).predict_proba(w), KerasModel(model, alphabet_size=2).predict_proba(w), atol=1e-6
    )
    assert KerasModel(loaded, alphabet_size=2).description == "Keras, Lambda, LSTM"


def test_time_distributed_dense_gets_one_function_for_every_length_and_is_correct():
    # Keras 3.15's TimeDistributed, traced with a None time dimension, maps over range(batch size)
    # instead of range(time steps): per-step outputs come back truncated (or the call fails).
    # The adapter calls a copy with the Dense itself in the wrapper's place (the same function on the last
    # axis): one trace for every length, outputs matching the model's eager calls.
    model = per_step_model()
    adapter = KerasModel(model, alphabet_size=2, engine="keras")
    lengths = (1, 2, 3, 9, 10, 25)
    for length in lengths:
        for batch in (1, 4, 12):
            w = windows(2, length, batch=batch)
            eager = np.asarray(model(w[..., None].astype("float32"), training=False))[:, -1, 0]
            np.testing.assert_allclose(adapter.predict_proba(w)[:, 1], eager, atol=1e-5)
    assert adapter.tracing_count == 1


def test_time_distributed_over_another_layer_gets_one_function_per_length_and_is_correct():
    _seed(12)
    inp = keras.Input((None, 1))
    steps = keras.layers.LSTM(3, return_sequences=True)(inp)
    out = keras.layers.TimeDistributed(keras.layers.Activation("sigmoid"))(keras.layers.Dense(1)(steps))
    model = keras.Model(inp, out)
    adapter = KerasModel(model, alphabet_size=2, engine="keras")
    lengths = (1, 4, 9)
    for length in lengths:
        w = windows(2, length, batch=5)
        eager = np.asarray(model(w[..., None].astype("float32"), training=False))[:, -1, 0]
        np.testing.assert_allclose(adapter.predict_proba(w)[:, 1], eager, atol=1e-5)
    assert adapter.tracing_count == len(lengths)


def test_nested_time_distributed_is_detected():
    inner = per_step_model()
    inp = keras.Input((None, 1))
    model = keras.Model(inp, inner(inp), name="outer")
    adapter = KerasModel(model, alphabet_size=2)
    assert adapter.description == "Keras, LSTM"
    w = windows(2, 8, batch=3)
    eager = np.asarray(model(w[..., None].astype("float32"), training=False))[:, -1, 0]
    np.testing.assert_allclose(adapter.predict_proba(w)[:, 1], eager, atol=1e-5)


def test_per_step_plain_dense_uses_one_function():
    _seed(10)
    inp = keras.Input((None, 1))
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(keras.layers.GRU(3, return_sequences=True)(inp)))
    adapter = KerasModel(model, alphabet_size=2, engine="keras")
    for length in (2, 5, 13):
        w = windows(2, length, batch=6)
        eager = np.asarray(model(w[..., None].astype("float32"), training=False))[:, -1, 0]
        np.testing.assert_allclose(adapter.predict_proba(w)[:, 1], eager, atol=1e-5)
    assert adapter.tracing_count == 1


def test_as_model_on_a_path_and_on_a_model(tmp_path):
    from seqcheck.models import as_model

    model = seed_model()
    path = tmp_path / "seed.keras"
    model.save(path)
    from_path = as_model(path, alphabet_size=2)
    assert isinstance(from_path, KerasModel)
    assert from_path.name == str(path) and from_path.description == "Keras, LSTM"
    from_model = as_model(model, alphabet_size=2)
    assert isinstance(from_model, KerasModel) and from_model.encoding == "scalar"
    w = windows(2, 12)
    np.testing.assert_allclose(from_path.predict_proba(w), from_model.predict_proba(w), atol=1e-6)
