"""Task recipes: the Chomsky-hierarchy training protocol, its cache entries, and what the headline models do.

The headline, measured when the settings were chosen (Keras 3.15, TensorFlow 2.21, 2 CPUs): an LSTM(16)
trained on parity with lengths 1..10 (seed 0, the default settings: 1000 steps of 64, Adam 1e-2, ~6 s) is
right on every input of lengths 1..16 and on 2000 random inputs of each length 17..30; a Transformer
trained the same way (~9 s) is wrong on about half the inputs of every length, beyond N as within it.
The trained models are cached (``$SEQCHECK_CACHE_DIR``), so a second run of this file trains nothing.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from seqcheck.errors import InvalidArgument
from seqcheck.tasks import BUILTIN_TASKS, modular_arithmetic, parity
from seqcheck.training import cache, task_recipes

N = 10
TINY = {"steps": 3, "batch_size": 8}


@pytest.fixture(scope="session")
def lstm_path():
    return task_recipes.cached_task_model_path(parity, "lstm", max_train_length=N, seed=0)


@pytest.fixture(scope="session")
def transformer_path():
    return task_recipes.cached_task_model_path(parity, "transformer", max_train_length=N, seed=0)


def load_safely(path):
    import keras

    return keras.saving.load_model(path, safe_mode=True, compile=False)


# -- settings, lengths, encoding (no training) ---------------------------------------------------


def test_settings_are_the_defaults_updated_and_checked():
    assert task_recipes.resolve_task_settings("lstm") == task_recipes.ARCHITECTURES["lstm"]
    assert task_recipes.resolve_task_settings("lstm", {"steps": 5})["steps"] == 5
    for architecture, settings, message in [
        ("gru", None, "architecture='gru': expected one of lstm, transformer"),
        ("lstm", {"epochs": 3}, "expected settings of architecture 'lstm'"),
        ("lstm", {"units": 0}, "units=0: expected a positive integer"),
        ("lstm", {"learning_rate": "fast"}, "learning_rate='fast': expected a positive number"),
        ("transformer", {"d_model": 30, "heads": 4}, "d_model=30: expected a multiple of heads=4"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            task_recipes.resolve_task_settings(architecture, settings)


def test_training_lengths_are_the_valid_lengths_up_to_n():
    assert task_recipes.train_lengths(parity, 4).tolist() == [1, 2, 3, 4]
    assert task_recipes.train_lengths(modular_arithmetic, 8).tolist() == [1, 3, 5, 7]


def test_inputs_are_one_hot():
    encoded = task_recipes.one_hot(np.array([[0, 2, 1]]), 3)
    assert encoded.dtype == np.float32 and encoded.shape == (1, 3, 3)
    assert encoded[0].tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(InvalidArgument, match="max_train_length=0: expected a positive integer"):
        task_recipes.train_task_model(parity, "lstm", max_train_length=0)
    with pytest.raises(InvalidArgument, match="seed=-1: expected a non-negative integer"):
        task_recipes.cached_task_model_path(parity, "lstm", max_train_length=N, seed=-1)
    with pytest.raises(InvalidArgument, match="task='nope'"):
        task_recipes.cached_task_model_path("nope", "lstm", max_train_length=N)


def test_cache_key_names_everything_the_model_depends_on():
    key = task_recipes.task_cache_key_data("parity", "lstm", max_train_length=N, seed=0)
    assert key["task"] == "parity" and key["symbols"] == ["0", "1"] and key["classes"] == ["even", "odd"]
    assert key["recipe"] == "task-lstm" and key["max_train_length"] == N and key["seed"] == 0
    assert key["settings"] == task_recipes.ARCHITECTURES["lstm"]
    assert key["recipe_version"] == task_recipes.TASK_RECIPE_VERSION and {"keras", "tensorflow"} <= set(key)
    others = [
        task_recipes.task_cache_key_data("even-pairs", "lstm", max_train_length=N),
        task_recipes.task_cache_key_data("parity", "transformer", max_train_length=N),
        task_recipes.task_cache_key_data("parity", "lstm", max_train_length=N + 1),
        task_recipes.task_cache_key_data("parity", "lstm", max_train_length=N, seed=1),
        task_recipes.task_cache_key_data("parity", "lstm", max_train_length=N, settings={"steps": 7}),
    ]
    assert all(other != key for other in others)


def test_generic_cache_entries_are_written_once_and_verified(tmp_path):
    calls = []

    def produce(path):
        calls.append(path)
        path.write_bytes(b"a model")

    key = {"what": "a fake model", "version": 1}
    first = cache.cached_entry_path(key, produce, slug="fake model/1", label="a fake", cache_dir=tmp_path)
    assert first.parent.parent == tmp_path and first.parent.name.startswith("fake_model_1-")
    assert cache.verify_entry(first) and json.loads((first.parent / "key.json").read_text()) == key
    assert cache.cached_entry_path(key, produce, slug="fake model/1", label="a fake", cache_dir=tmp_path) == first
    assert len(calls) == 1
    other = cache.cached_entry_path({**key, "version": 2}, produce, slug="fake model/1", label="a fake", cache_dir=tmp_path)
    assert other.parent != first.parent and len(calls) == 2


# -- training (slow) -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["lstm", "transformer"])
def test_a_seed_gives_the_same_model(architecture):
    task = BUILTIN_TASKS["cycle-navigation"]
    first, model = (task_recipes.train_task_model(task, architecture, max_train_length=5, seed=3, settings=TINY)
                    for _ in range(2))
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(first.get_weights(), model.get_weights()))
    assert model.output_shape == (None, task.class_count)
    for length in (1, 7, 23):  # any length, one softmax per input
        out = np.asarray(model(task_recipes.one_hot(task.sample(np.random.default_rng(0), 4, length), task.input_size)))
        assert out.shape == (4, task.class_count) and np.allclose(out.sum(axis=1), 1, atol=1e-5)


@pytest.mark.slow
def test_training_prints_nothing_to_standard_output_unless_verbose(capfd):
    task_recipes.train_task_model(parity, "lstm", max_train_length=4, seed=0, settings=TINY)
    assert capfd.readouterr().out == ""
    task_recipes.train_task_model(parity, "lstm", max_train_length=4, seed=0, settings=TINY, verbose=1)
    captured = capfd.readouterr()
    assert captured.out == "" and "parity lstm step 3/3" in captured.err


@pytest.mark.slow
def test_the_second_call_loads_from_the_cache_without_training(tmp_path, monkeypatch):
    first = task_recipes.cached_task_model_path(parity, "transformer", max_train_length=4, seed=0, settings=TINY,
                                                cache_dir=tmp_path)
    assert first.parent.name.startswith("task-transformer-parity-N4-s0-") and cache.verify_entry(first)

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(task_recipes, "train_task_model", no_training)
    again = task_recipes.cached_task_model_path(parity, "transformer", max_train_length=4, seed=0, settings=TINY,
                                                cache_dir=tmp_path)
    assert again == first


@pytest.mark.slow
@pytest.mark.parametrize("which", ["lstm", "transformer"])
def test_saved_models_are_stock_keras_and_load_in_safe_mode(which, lstm_path, transformer_path):
    path = {"lstm": lstm_path, "transformer": transformer_path}[which]
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    modules = {layer["module"] for layer in config["config"]["layers"]}
    assert modules <= {"keras.layers"}, modules
    model = load_safely(path)
    assert model.input_shape == (None, None, parity.input_size) and model.output_shape == (None, parity.class_count)
    assert task_recipes.load_cached_task_model(parity, which, max_train_length=N, seed=0).count_params() == model.count_params()
