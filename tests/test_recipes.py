"""The training recipes: what each one trains on, and the network and encoding it builds.

Tiny settings throughout: these tests need *a* trained model, not a good one. Whether the default
settings reproduce the seed's phenomenon and its fix is asserted on the cached reference models in
tests/test_reference_models.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from seqcheck.training import recipes
from seqcheck.errors import InvalidArgument
from seqcheck.tasks.patterns import Pattern

SEED_PATTERN = Pattern.parse("11000")
N = 10

# Tiny settings for tests that only need *a* trained model, not a good one.
TINY = {
    "fixed-window": {"epochs": 1, "stream_length": 200},
    "varied-window": {"steps": 30},
}


@pytest.fixture
def training_data(monkeypatch):
    """Every batch a recipe trains on, as ``(method, x, y)``: the models recipes build record their fit calls."""
    seen = []
    build = recipes.build_model

    def recording_build_model(*args, **kwargs):
        model = build(*args, **kwargs)
        fit, train_on_batch = model.fit, model.train_on_batch

        def recording_fit(x, y, **kw):
            seen.append(("fit", np.array(x), np.array(y)))
            return fit(x, y, **kw)

        def recording_train_on_batch(x, y, **kw):
            seen.append(("train_on_batch", np.array(x), np.array(y)))
            return train_on_batch(x, y, **kw)

        model.fit, model.train_on_batch = recording_fit, recording_train_on_batch
        return model

    monkeypatch.setattr(recipes, "build_model", recording_build_model)
    return seen


def phases_of(pattern: Pattern, windows: np.ndarray) -> np.ndarray:
    """The phase at which each row starts in the stream; fails if a row is not a window of the stream."""
    table = {tuple(row): phase for phase, row in enumerate(pattern.windows(windows.shape[1]))}
    return np.array([table[tuple(row)] for row in windows])


@pytest.mark.slow
def test_fixed_window_trains_the_seed_network_on_every_sliding_window_of_one_length(training_data):
    model = recipes.train("fixed-window", SEED_PATTERN, train_length=N, seed=0, settings=TINY["fixed-window"])
    [(method, x, y)] = training_data
    assert method == "fit"
    assert x.shape == (200 - N, N, 1)  # one length only, N; one window per start in the 200-symbol stream
    windows = x[..., 0].astype(int)
    np.testing.assert_array_equal(phases_of(SEED_PATTERN, windows), np.arange(200 - N) % 5)
    np.testing.assert_array_equal(y[:, 0], [SEED_PATTERN.target(start % 5, N) for start in range(200 - N)])
    # Two symbols: one scalar feature per step, LSTM(4), a sigmoid head and binary cross-entropy.
    assert tuple(model.inputs[0].shape) == (None, None, 1)
    assert tuple(model.outputs[0].shape) == (None, 1)
    assert model.layers[-1].get_config()["activation"] == "sigmoid"
    assert model.loss == "binary_crossentropy"
    lstm = [layer for layer in model.layers if type(layer).__name__ == "LSTM"]
    assert len(lstm) == 1 and lstm[0].units == 4


@pytest.mark.slow
def test_varied_window_trains_on_many_lengths_starting_at_every_phase(training_data):
    recipes.train("varied-window", SEED_PATTERN, train_length=N, seed=0, settings={"steps": 40, "batch_size": 8})
    assert [method for method, _, _ in training_data] == ["train_on_batch"] * 40
    lengths, phases = set(), set()
    for _, x, y in training_data:
        windows = x[..., 0].astype(int)
        starts = phases_of(SEED_PATTERN, windows)
        np.testing.assert_array_equal(y[:, 0], [SEED_PATTERN.target(phase, windows.shape[1]) for phase in starts])
        lengths.add(windows.shape[1])
        phases.update(starts.tolist())
    # From min context to 2N by default, one length per batch, many lengths in all.
    assert lengths <= set(range(SEED_PATTERN.min_context, 2 * N + 1)) and len(lengths) >= 10, sorted(lengths)
    assert phases == set(range(5))


@pytest.mark.slow
def test_varied_window_keeps_to_the_lengths_it_is_given(training_data):
    recipes.train("varied-window", SEED_PATTERN, seed=0, settings={"steps": 12, "min_length": 7, "max_length": 8})
    assert {x.shape[1] for _, x, _ in training_data} == {7, 8}


def _predictions(model, pattern: Pattern, lengths) -> np.ndarray:
    return np.concatenate([
        np.asarray(model(recipes.encode(pattern.windows(length), pattern.alphabet_size), training=False)).reshape(-1)
        for length in lengths
    ])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_same_seed_same_model(name):
    lengths = range(3, 16)
    first = recipes.train(name, SEED_PATTERN, train_length=N, seed=7, settings=TINY[name])
    second = recipes.train(name, SEED_PATTERN, train_length=N, seed=7, settings=TINY[name])
    np.testing.assert_array_equal(_predictions(first, SEED_PATTERN, lengths), _predictions(second, SEED_PATTERN, lengths))
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_different_seeds_differ_and_verbose_zero_is_quiet(capsys):
    a = recipes.train("varied-window", SEED_PATTERN, seed=1, verbose=0, settings=TINY["varied-window"])
    b = recipes.train("varied-window", SEED_PATTERN, seed=2, verbose=0, settings=TINY["varied-window"])
    assert any(not np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert capsys.readouterr().out == ""


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_kary_pattern_gets_onehot_inputs_and_softmax(name, training_data):
    pattern = Pattern.parse("0,1,2,2")
    assert pattern.alphabet_size == 3
    model = recipes.train(name, pattern, train_length=6, seed=0, settings=TINY[name])
    assert training_data
    for _, x, y in training_data:  # trained on one-hot windows of the stream, labelled with their target symbols
        assert x.shape[-1] == 3 and np.all(x.sum(axis=-1) == 1)
        windows = np.argmax(x, axis=-1)
        np.testing.assert_array_equal(y, [pattern.target(phase, windows.shape[1]) for phase in phases_of(pattern, windows)])
    assert tuple(model.inputs[0].shape) == (None, None, 3)
    assert tuple(model.outputs[0].shape) == (None, 3)
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.loss == "sparse_categorical_crossentropy"
    x = recipes.encode(pattern.windows(9), 3)
    assert x.shape == (4, 9, 3) and np.all(x.sum(axis=-1) == 1)
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["varied-window", "fixed-window"])
def test_progress_goes_to_standard_error_never_to_the_report(name, capsys):
    recipes.train(name, SEED_PATTERN, seed=0, verbose=2, settings=TINY[name])
    out, err = capsys.readouterr()
    assert out == ""
    assert ("varied-window step 30/30" if name == "varied-window" else " - accuracy: ") in err


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(InvalidArgument) as info:
        recipes.train("sliding", "11000")
    message = str(info.value)
    assert "sliding" in message and "fixed-window" in message and "varied-window" in message
    with pytest.raises(InvalidArgument, match="stream_lenght"):
        recipes.train("fixed-window", "11000", settings={"stream_lenght": 10})


def test_dropout_is_a_setting_of_both_recipes_and_reaches_the_lstm():
    from seqcheck.training.recipes import RECIPES, build_model

    assert RECIPES["fixed-window"].settings["dropout"] == RECIPES["varied-window"].settings["dropout"] == 0.0
    lstm = next(layer for layer in build_model(2, dropout=0.15).layers if type(layer).__name__ == "LSTM")
    assert lstm.get_config()["dropout"] == 0.15
