"""The training recipes, trained for real through the cache.

Models are cached in ``$SEQCHECK_CACHE_DIR`` if set, else in ``<repo>/.seqcheck/cache``
(gitignored), which persists across runs: CI trains each model once per cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from seqcheck import recipes
from seqcheck.cache import load_cached_model
from seqcheck.errors import InvalidArgument
from seqcheck.patterns import Pattern

REPO = Path(__file__).resolve().parents[1]
CACHE_DIR = Path(os.environ.get("SEQCHECK_CACHE_DIR") or REPO / ".seqcheck" / "cache")
SEED_PATTERN = Pattern.parse("11000")
N = 10

# Tiny settings for tests that only need *a* trained model, not a good one.
TINY = {
    "fixed-window": {"epochs": 1, "stream_length": 200},
    "varied-window": {"steps": 30},
}


def binary_accuracy(model, pattern: Pattern, length: int) -> float:
    """Accuracy over the ``period`` phases at one length, in one batched call."""
    x = np.asarray(pattern.windows(length), dtype="float32")[..., None]
    p = np.asarray(model(x, training=False)).reshape(-1)
    return float(np.mean((p > 0.5).astype(int) == pattern.targets(length)))


@pytest.fixture(scope="module")
def fixed_model():
    return load_cached_model("fixed-window", SEED_PATTERN, train_length=N, seed=0, cache_dir=CACHE_DIR)


@pytest.fixture(scope="module")
def varied_model():
    return load_cached_model("varied-window", SEED_PATTERN, train_length=N, seed=0, cache_dir=CACHE_DIR)


def test_fixed_window_reproduces_the_seed_phenomenon(fixed_model):
    assert binary_accuracy(fixed_model, SEED_PATTERN, N) == 1.0
    off_period = {N + i: binary_accuracy(fixed_model, SEED_PATTERN, N + i) for i in range(1, 15) if i % 5}
    assert min(off_period.values()) < 1.0, off_period


def test_varied_window_is_correct_at_every_length_and_phase(varied_model):
    wrong = {}
    for length in range(SEED_PATTERN.min_context, 4 * N + 1):
        acc = binary_accuracy(varied_model, SEED_PATTERN, length)
        if acc < 1.0:
            wrong[length] = acc
    assert not wrong, f"accuracy below 1.0 at lengths {wrong}"


def _predictions(model, pattern: Pattern, lengths) -> np.ndarray:
    return np.concatenate([
        np.asarray(model(recipes.encode(pattern.windows(length), pattern.alphabet_size), training=False)).reshape(-1)
        for length in lengths
    ])


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_same_seed_same_model(name):
    lengths = range(3, 16)
    first = recipes.train(name, SEED_PATTERN, train_length=N, seed=7, settings=TINY[name])
    second = recipes.train(name, SEED_PATTERN, train_length=N, seed=7, settings=TINY[name])
    np.testing.assert_array_equal(_predictions(first, SEED_PATTERN, lengths), _predictions(second, SEED_PATTERN, lengths))
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_differ():
    a = recipes.train("varied-window", SEED_PATTERN, seed=1, settings=TINY["varied-window"])
    b = recipes.train("varied-window", SEED_PATTERN, seed=2, settings=TINY["varied-window"])
    assert any(not np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_kary_pattern_gets_onehot_inputs_and_softmax(name):
    pattern = Pattern.parse("0,1,2,2")
    assert pattern.alphabet_size == 3
    model = recipes.train(name, pattern, train_length=6, seed=0, settings=TINY[name])
    assert tuple(model.inputs[0].shape) == (None, None, 3)
    assert tuple(model.outputs[0].shape) == (None, 3)
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.loss == "sparse_categorical_crossentropy"
    x = recipes.encode(pattern.windows(9), 3)
    assert x.shape == (4, 9, 3) and np.all(x.sum(axis=-1) == 1)
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)


def test_binary_pattern_gets_scalar_inputs_and_sigmoid():
    model = recipes.train("fixed-window", SEED_PATTERN, seed=0, settings=TINY["fixed-window"])
    assert tuple(model.inputs[0].shape) == (None, None, 1)
    assert tuple(model.outputs[0].shape) == (None, 1)
    assert model.layers[-1].get_config()["activation"] == "sigmoid"
    assert model.loss == "binary_crossentropy"
    lstm = [layer for layer in model.layers if type(layer).__name__ == "LSTM"]
    assert len(lstm) == 1 and lstm[0].units == 4


def test_verbose_zero_is_quiet_and_verbose_one_reports(capsys):
    recipes.train("varied-window", SEED_PATTERN, seed=0, verbose=0, settings=TINY["varied-window"])
    assert capsys.readouterr().out == ""
    recipes.train("varied-window", SEED_PATTERN, seed=0, verbose=1, settings=TINY["varied-window"])
    assert "varied-window step 30/30" in capsys.readouterr().out


def test_registry_is_documented_and_settings_are_plain():
    assert set(recipes.RECIPES) == {"fixed-window", "varied-window"}
    for name, recipe in recipes.RECIPES.items():
        assert recipe.name == name
        assert recipe.__doc__.strip()
        assert json.loads(json.dumps(dict(recipe.settings))) == dict(recipe.settings)


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(InvalidArgument) as info:
        recipes.train("sliding", "11000")
    message = str(info.value)
    assert "sliding" in message and "fixed-window" in message and "varied-window" in message
    with pytest.raises(InvalidArgument, match="stream_lenght"):
        recipes.train("fixed-window", "11000", settings={"stream_lenght": 10})
