"""Safe model loading, and models whose time or batch dimension is fixed, or whose RNNs are stateful."""

from __future__ import annotations

import json
import os
import pickle
import warnings
import zipfile
from unittest import mock

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

import seqcheck  # noqa: E402
from seqcheck.errors import ModelError  # noqa: E402
from seqcheck.models import keras_files, model_files  # noqa: E402
from seqcheck.models.base import encode  # noqa: E402
from seqcheck.models.keras import KerasModel  # noqa: E402
from seqcheck.models.keras_files import check_keras_version, load_keras_model  # noqa: E402


def lstm_model(time=None, name="m", stateful=False, batch=None, units=3):
    keras.utils.set_random_seed(0)
    inp = keras.Input(batch_shape=(batch, time, 1)) if batch is not None else keras.Input((time, 1))
    h = keras.layers.LSTM(units, stateful=stateful)(inp)
    return keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h), name=name)


def flatten_model(time=10):
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [keras.Input((time, 1)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")], name="rigid"
    )


def lambda_file(tmp_path):
    keras.utils.set_random_seed(2)
    inp = keras.Input((None, 1))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inp)
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(2)(x)))
    path = tmp_path / "lambda.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    return path


def probs(model, windows, k=2):
    return np.asarray(model(encode(windows, "scalar", k), training=False), dtype=np.float64)[:, 0]


# -- safe loading --------------------------------------------------------------------------------


def test_lambda_is_refused_before_keras_parses_it_and_loads_when_opted_in(tmp_path):
    path = lambda_file(tmp_path)
    with mock.patch.object(keras.saving, "load_model", side_effect=AssertionError("Keras must not see the file")):
        with pytest.raises(ModelError, match=r"Lambda layer.*--unsafe-load.*allow_unsafe=True"):
            load_keras_model(path)
    assert isinstance(load_keras_model(path, allow_unsafe=True), keras.Model)


def test_keras_safe_mode_is_the_second_line_of_defence(tmp_path):
    # Were seqcheck's own scan to miss a Lambda, Keras's safe mode still refuses it, with the same advice.
    path = lambda_file(tmp_path)
    with mock.patch.object(keras_files, "_code_in_config", return_value=None):
        with pytest.raises(ModelError, match=r"safe mode.*--unsafe-load"):
            load_keras_model(path)


def test_tfsmlayer_and_foreign_modules_are_refused(tmp_path):
    for name, config in {
        "tfsm.keras": {"class_name": "TFSMLayer", "module": "keras.layers", "config": {"filepath": "x"}},
        "os.keras": {"class_name": "Dense", "module": "os", "config": {}},
        "fn.keras": {"class_name": "Dense", "module": "keras.layers", "config": {
            "activation": {"class_name": "__lambda__", "config": {"code": "..."}}}},
    }.items():
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", json.dumps(config))
        with pytest.raises(ModelError, match="could run arbitrary code.*--unsafe-load"):
            load_keras_model(path)


def test_plain_models_pass_the_scan(seed_model_path, tmp_path):
    assert isinstance(load_keras_model(seed_model_path), keras.Model)
    keras.utils.set_random_seed(3)
    inp = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(3, 4)(inp)
    x = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True))(x)
    x = keras.layers.TimeDistributed(keras.layers.Dense(3, activation="softmax"))(x)
    keras.Model(inp, x).save(tmp_path / "rich.keras")
    assert isinstance(load_keras_model(tmp_path / "rich.keras"), keras.Model)


@pytest.mark.parametrize("version, refused", [("3.13.2", True), ("3.14.0", True), ("2.15.0", True),
                                              ("3.14.1", False), ("3.15.1", False), ("4.0.0.dev2026", False)])
def test_keras_version_gate(version, refused, seed_model_path):
    with mock.patch.object(keras, "__version__", version):
        if refused:
            with pytest.raises(ModelError, match=r"3\.14\.1 or later.*CVE-2026-12480.*--unsafe-load"):
                load_keras_model(seed_model_path)
            assert check_keras_version(keras, allow_unsafe=True) == version
            assert isinstance(load_keras_model(seed_model_path, allow_unsafe=True), keras.Model)
        else:
            assert check_keras_version(keras) == version
            assert isinstance(load_keras_model(seed_model_path), keras.Model)


def test_installed_keras_passes_the_gate():
    assert check_keras_version(keras) == keras.__version__  # raises ModelError below the minimum


def test_h5_and_savedmodel_are_never_opened(tmp_path):
    h5 = tmp_path / "m.h5"
    lstm_model().save_weights(tmp_path / "m.weights.h5")  # a real HDF5 file
    h5.write_bytes((tmp_path / "m.weights.h5").read_bytes())
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes(b"\x08\x01")
    with mock.patch.object(keras.saving, "load_model", side_effect=AssertionError("must not load")), \
            mock.patch("h5py.File", side_effect=AssertionError("must not open HDF5")):
        with pytest.raises(ModelError, match=r"HDF5.*CVE-2025-9905.*model\.save\('m\.keras'\)"):
            load_keras_model(h5)
        with pytest.raises(ModelError, match=r"SavedModel.*CVE-2026-1462.*model\.save\('m\.keras'\)"):
            load_keras_model(saved)


def test_loading_never_unpickles(seed_model_path):
    with mock.patch.object(pickle, "loads", side_effect=AssertionError("unpickled")), \
            mock.patch.object(pickle, "load", side_effect=AssertionError("unpickled")), \
            mock.patch.object(pickle, "Unpickler", side_effect=AssertionError("unpickled")):
        report = seqcheck.check(seed_model_path, pattern="11000", train_length=10, max_examples=5)
    assert not report.passed


def test_oversized_config_and_archive_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.keras"
    lstm_model().save(path)
    monkeypatch.setattr(keras_files, "_MAX_CONFIG_BYTES", 10)
    with pytest.raises(ModelError, match="config.json is larger"):
        load_keras_model(path)
    monkeypatch.setattr(model_files, "DEFAULT_MAX_UNPACKED", 10)
    with pytest.raises(ModelError, match="zip bomb"):
        load_keras_model(path)


# -- fixed time dimension ------------------------------------------------------------------------


def test_fixed_time_dimension_is_rebuilt_with_the_same_weights_and_said_so():
    model = lstm_model(time=10, name="fixed")
    adapter = KerasModel(model, alphabet_size=2, engine="keras")  # the compiled path: one trace for every length
    assert adapter.fixed_length is None and adapter.input_shape == (None, None, 1)
    assert adapter.runner is not model and adapter.model is model
    assert "rebuilt" in adapter.description and "was 10" in adapter.description
    assert any("length 10 only" in note and "same weights" in note for note in adapter.notes)
    w = np.random.default_rng(0).integers(0, 2, size=(6, 10))
    np.testing.assert_allclose(adapter.predict_proba(w)[:, 1], probs(model, w), atol=1e-6)
    # The free model equals a model built with a None time dimension and the same weights.
    free = lstm_model(time=None)
    free.set_weights(model.get_weights())
    for length in (3, 11, 40):
        w = np.random.default_rng(length).integers(0, 2, size=(4, length))
        np.testing.assert_allclose(adapter.predict_proba(w)[:, 1], probs(free, w), atol=1e-6)
    assert adapter.tracing_count == 1


def test_fixed_time_model_checks_end_to_end_from_a_file(tmp_path):
    path = tmp_path / "fixed.keras"
    lstm_model(time=10).save(path)
    report = seqcheck.check(path, pattern="11000", train_length=10, max_examples=10)
    assert report.space.max_length == 40
    assert "rebuilt" in report.model_description
    assert all(r.applicable and r.windows > 0 for r in report.results)  # checked at lengths other than 10
    assert list(report["length generalization"].accuracy_by_length) == list(range(3, 41))


def test_length_rigid_model_is_kept_at_its_length():
    model = flatten_model()
    adapter = KerasModel(model, alphabet_size=2)
    assert adapter.fixed_length == 10 and adapter.runner is model
    assert "length-rigid" in adapter.description
    assert any("Flatten" in note and "only length 10 can be checked" in note for note in adapter.notes)
    w = np.random.default_rng(0).integers(0, 2, size=(5, 10))
    np.testing.assert_allclose(adapter.predict_proba(w)[:, 1], probs(model, w), atol=1e-6)
    with pytest.raises(ModelError, match=r"length-rigid: it accepts only windows of length 10, not 11; check it with --min-length 10"):
        adapter.predict_proba(np.zeros((2, 11), dtype=int))


def test_length_rigid_model_is_checked_at_its_length():
    report = seqcheck.check(flatten_model(), pattern="11000", min_length=10, max_length=10, max_examples=10)
    results = {r.title: r for r in report.results}
    assert list(results) == ["phase-shift invariance", "length generalization", "periodic consistency", "batch invariance"]
    # Every window of its one length ran: the untrained model is right at phase 2 only.
    lengths = results["length generalization"]
    assert lengths.status == "fail" and lengths.windows >= 5
    assert lengths.correct_by_length == {10: (False, False, True, False, False)}
    assert lengths.accuracy_by_length == {10: pytest.approx(0.2)}
    assert (lengths.counterexample.length, lengths.counterexample.phase) == (10, 0)
    # Pairs of windows need two lengths: nothing ran, and that is "not applicable", never a pass.
    shift = results["phase-shift invariance"]
    assert shift.status == "not applicable" and shift.windows == 0 and set(shift.not_applicable) == {"label-free", "oracle"}
    periodic = results["periodic consistency"]
    assert set(periodic.not_applicable) == {"prepend-a-period"} and periodic.status == "fail"
    loop = periodic.form("closed loop")
    assert loop.cases > 0 and loop.windows >= 2 * 5  # a case slides the window for 2 periods
    batch = results["batch invariance"]
    assert batch.status == "pass" and batch.windows > 0
    assert not report.passed


def test_length_rigid_model_is_a_finding_with_default_lengths():
    report = seqcheck.check(flatten_model(), pattern="11000", train_length=10, max_examples=10)
    assert (report.space.min_length, report.space.max_length) == (10, 10)
    assert any("length-rigid" in note for note in report.notes)


# -- stateful RNNs and fixed batch sizes -------------------------------------------------------


def test_stateful_model_is_checked_from_reset_states_and_its_states_are_untouched():
    model = lstm_model(stateful=True, batch=2, name="stateful")
    model(np.ones((2, 7, 1), dtype="float32"))  # give it non-zero states, as a user's streaming model has
    states = [v.numpy().copy() for v in model.variables]
    assert any(np.abs(s).sum() > 0 for s in states)
    adapter = KerasModel(model, alphabet_size=2)
    assert adapter.input_shape == (None, None, 1)
    assert "stateful" in adapter.description and any("reset state" in n for n in adapter.notes)
    stateless = lstm_model(stateful=False)
    stateless.set_weights(model.get_weights())
    for length in (3, 9):
        w = np.random.default_rng(length).integers(0, 2, size=(5, length))
        first = adapter.predict_proba(w)
        np.testing.assert_allclose(first[:, 1], probs(stateless, w), atol=1e-6)
        np.testing.assert_array_equal(adapter.predict_proba(w), first)  # no state carried between calls
        np.testing.assert_allclose(adapter.predict_proba(w[::-1])[::-1], first, atol=1e-6)  # nor between windows
    for before, variable in zip(states, model.variables):
        np.testing.assert_array_equal(before, variable.numpy())


def test_fixed_batch_size_is_rebuilt():
    model = lstm_model(batch=1, name="batch1")
    adapter = KerasModel(model, alphabet_size=2)
    assert adapter.input_shape == (None, None, 1)
    w = np.random.default_rng(0).integers(0, 2, size=(7, 6))
    expected = np.concatenate([probs(model, w[i : i + 1]) for i in range(len(w))])
    np.testing.assert_allclose(adapter.predict_proba(w)[:, 1], expected, atol=1e-6)
