"""Training recipes: functions from a pattern and settings to a trained Keras model.

A recipe is the second kind of "model under test": not one trained model but the procedure
that makes them. Each recipe is a :class:`Recipe` in :data:`RECIPES`, with a docstring saying
what it does and a plain ``settings`` dict (epochs, batch size, lengths...) that
:mod:`seqcheck.training.cache` puts in its key, so that changing a setting never reuses a stale model.

- ``fixed-window``: the seed's set-up -- ``LSTM(4) -> Dense(1, sigmoid)`` trained on sliding
  windows of ONE length N over the stream. Its models count from the window start
  (start-anchored): right at length N, wrong at lengths N+i for i not a multiple of the period.
- ``varied-window``: the same network trained on batches of random lengths (min context..2N)
  starting at random phases -- the accepted fix.

Patterns over two symbols are fed as one scalar feature per step ``(B, L, 1)`` with a
``Dense(1, sigmoid)`` head and binary cross-entropy; patterns over ``k > 2`` symbols are fed
one-hot ``(B, L, k)`` with a ``Dense(k, softmax)`` head and sparse categorical cross-entropy.

Importing this module does not import TensorFlow or Keras: :func:`train` does, when called.
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqcheck.errors import invalid
from seqcheck.tasks.patterns import Pattern

__all__ = ["RECIPE_VERSION", "Recipe", "RECIPES", "train", "get_recipe", "encode", "build_model"]

#: Bump when a recipe's code changes in a way its settings do not show: cached models are retrained.
RECIPE_VERSION = 1


def _keras():
    """Keras, imported quietly by :func:`seqcheck.models.keras_files.import_keras`."""
    from seqcheck.models.keras_files import import_keras

    return import_keras()


# -- encoding and network ------------------------------------------------------------------------


def encode(windows: np.ndarray, alphabet_size: int) -> np.ndarray:
    """The recipes' input encoding of an int ``(B, L)`` batch of windows.

    Two symbols: the symbol as one float feature, ``(B, L, 1)`` (the seed's set-up).
    ``k > 2`` symbols: one-hot, ``(B, L, k)``.
    """
    windows = np.asarray(windows)
    if alphabet_size <= 2:
        return windows.astype("float32")[..., None]
    return np.eye(alphabet_size, dtype="float32")[windows]


def build_model(alphabet_size: int, *, units: int = 4, learning_rate: float = 1e-3, dropout: float = 0.0):
    """The seed's network, compiled: ``Input((None, f)) -> LSTM(units, dropout=dropout) -> Dense``.

    ``dropout`` is the LSTM's dropout on its inputs during training, as in ``keras.layers.LSTM(units, dropout=0.15)``,
    the change the seed's author tried.

    Binary: one scalar feature in, ``Dense(1, sigmoid)`` out, binary cross-entropy.
    ``k > 2``: one-hot in, ``Dense(k, softmax)`` out, sparse categorical cross-entropy.
    """
    keras = _keras()
    binary = alphabet_size <= 2
    features = 1 if binary else alphabet_size
    inputs = keras.Input(shape=(None, features))
    hidden = keras.layers.LSTM(units, dropout=dropout)(inputs)
    if binary:
        outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
        loss = "binary_crossentropy"
    else:
        outputs = keras.layers.Dense(alphabet_size, activation="softmax")(hidden)
        loss = "sparse_categorical_crossentropy"
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss=loss, metrics=["accuracy"])
    return model


def _targets(y: np.ndarray, alphabet_size: int) -> np.ndarray:
    y = np.asarray(y)
    return y.astype("float32")[:, None] if alphabet_size <= 2 else y.astype("int32")


# -- the recipes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """A named training procedure: ``recipe(pattern, train_length=, seed=, verbose=) -> keras.Model``.

    ``settings`` are the defaults of its hyper-parameters (a plain, JSON-serialisable dict);
    ``fit(pattern, train_length, seed, verbose, settings)`` does the work. The docstring of the
    recipe (``recipe.__doc__``) is the docstring of its ``fit`` function.
    """

    name: str
    fit: Callable[..., Any] = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Each recipe's docstring is its fit function's (the class keeps its own).
        object.__setattr__(self, "__doc__", self.fit.__doc__ or "")

    def resolve_settings(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults updated with ``overrides``; unknown setting names are an error."""
        settings = dict(self.settings)
        for key, value in (overrides or {}).items():
            if key not in settings:
                raise invalid(
                    "settings", {key: value}, f"settings of recipe {self.name!r}: {', '.join(sorted(settings))}",
                    f"drop or rename the unknown setting {key!r}",
                )
            settings[key] = value
        return settings

    def __call__(self, pattern, *, train_length: int = 10, seed: int = 0, verbose: int = 0,
                 settings: Mapping[str, Any] | None = None):
        return train(self.name, pattern, train_length=train_length, seed=seed, verbose=verbose, settings=settings)


def _fit_fixed_window(pattern: Pattern, train_length: int, seed: int, verbose: int, settings: dict[str, Any]):
    """The seed's set-up: ``LSTM(4) -> Dense(1, sigmoid)``, Adam(1e-3), binary cross-entropy,
    trained with ``model.fit`` on every sliding window of ONE length N (``train_length``) over the
    first ``stream_length`` symbols of the stream, ``epochs`` epochs of shuffled batches of
    ``batch_size``. Its models count from the window start: right at length N, wrong at lengths
    N+i for i not a multiple of the period. With ``11000``, N=10, seed 0 and the default
    ``stream_length=5000`` it reproduces the seed's table (lengths 10..20:
    1.0 0.6 0.2 0.2 0.6 1.0 0.6 0.2 0.2 0.6 1.0); a 1000-symbol stream does not.
    """
    n = train_length
    stream = pattern.stream(0, settings["stream_length"])
    starts = np.arange(len(stream) - n)
    x = stream[starts[:, None] + np.arange(n)[None, :]]
    y = stream[starts + n]
    model = build_model(
        pattern.alphabet_size, units=settings["units"], learning_rate=settings["learning_rate"], dropout=settings["dropout"],
    )
    model.fit(
        encode(x, pattern.alphabet_size), _targets(y, pattern.alphabet_size),
        epochs=settings["epochs"], batch_size=settings["batch_size"], shuffle=True, verbose=verbose,
    )
    return model


def _varied_lengths(pattern: Pattern, train_length: int, settings: dict[str, Any]) -> tuple[int, int]:
    lo = settings["min_length"] if settings["min_length"] is not None else pattern.min_context
    hi = settings["max_length"] if settings["max_length"] is not None else settings["max_length_factor"] * train_length
    lo = max(int(lo), 1)
    hi = max(int(hi), lo)
    return lo, hi


def _fit_varied_window(pattern: Pattern, train_length: int, seed: int, verbose: int, settings: dict[str, Any]):
    """The accepted fix: the seed's network trained on windows of varied lengths and random offsets.

    Each of ``steps`` training steps is one batch of ``batch_size`` windows of a single length drawn
    uniformly from ``min_length..max_length`` (defaults: the pattern's min context to
    ``max_length_factor * N``, i.e. 3..20 for ``11000`` with N=10), each window starting at a
    random phase of the stream. Batches are drawn with ``numpy.random.default_rng(seed)``; the
    model is trained with ``model.train_on_batch`` (a length-generic traced step). Same network and
    loss as ``fixed-window``; Adam's learning rate is 1e-2 (not 1e-3) so that 1000 steps suffice.

    Measured (Keras 3.15, 2 CPUs): for ``11000``, N=10, seeds 0-4, correct at every phase and
    every length 3..200, in 7-10 s. Not a guarantee for every pattern: for ``1101000`` (seed 0)
    it is wrong at length 3, its min context, which it sees in 1 batch out of 18.
    """
    lo, hi = _varied_lengths(pattern, train_length, settings)
    k = pattern.alphabet_size
    rng = np.random.default_rng(seed)
    symbols = np.asarray(pattern.symbols, dtype=np.int64)
    model = build_model(k, units=settings["units"], learning_rate=settings["learning_rate"], dropout=settings["dropout"])
    steps, batch = int(settings["steps"]), int(settings["batch_size"])
    report_every = max(steps // 10, 1)
    started = time.perf_counter()
    loss_sum, acc_sum, seen = 0.0, 0.0, 0
    for step in range(1, steps + 1):
        length = int(rng.integers(lo, hi + 1))
        phases = rng.integers(0, pattern.period, size=batch)
        x = symbols[(phases[:, None] + np.arange(length)[None, :]) % pattern.period]
        y = symbols[(phases + length) % pattern.period]
        with warnings.catch_warnings():  # Keras converting its logs with TF's old-style __array__
            warnings.filterwarnings("ignore", message=r"__array__ implementation doesn't accept a copy keyword",
                                    category=DeprecationWarning)
            loss, acc = model.train_on_batch(encode(x, k), _targets(y, k), return_dict=False)
        loss_sum, acc_sum, seen = loss_sum + float(loss), acc_sum + float(acc), seen + 1
        if verbose and (step % report_every == 0 or step == steps):
            print(
                f"varied-window step {step}/{steps}  lengths {lo}..{hi}  loss {loss_sum / seen:.4f}  "
                f"accuracy {acc_sum / seen:.4f}  {time.perf_counter() - started:.1f}s",
                file=sys.stderr, flush=True,
            )
            loss_sum, acc_sum, seen = 0.0, 0.0, 0
    return model


RECIPES: dict[str, Recipe] = {
    "fixed-window": Recipe(
        "fixed-window",
        _fit_fixed_window,
        {"units": 4, "dropout": 0.0, "learning_rate": 1e-3, "epochs": 10, "batch_size": 32, "stream_length": 5000},
    ),
    "varied-window": Recipe(
        "varied-window",
        _fit_varied_window,
        {
            "units": 4, "dropout": 0.0, "learning_rate": 1e-2, "steps": 1000, "batch_size": 32,
            "min_length": None, "max_length": None, "max_length_factor": 2,
        },
    ),
}


def get_recipe(recipe: str | Recipe) -> Recipe:
    """The :class:`Recipe` named ``recipe`` (a :class:`Recipe` is returned as is)."""
    if isinstance(recipe, Recipe):
        return recipe
    try:
        return RECIPES[recipe]
    except (KeyError, TypeError):
        raise invalid("recipe", recipe, f"one of {', '.join(sorted(RECIPES))}", "pick a known recipe") from None


def train(recipe: str | Recipe, pattern: Pattern | str, *, train_length: int = 10, seed: int = 0, verbose: int = 0,
          settings: Mapping[str, Any] | None = None):
    """Train a model with ``recipe`` on ``pattern`` and return it (a compiled ``keras.Model``).

    ``train_length`` is N, ``seed`` seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``)
    and the recipe's own data sampling, so a seed gives the same model on the same machine and
    library versions. ``verbose`` is 0 (quiet), 1 or 2 (progress, on standard error: standard
    output is for reports). ``settings`` overrides some of the recipe's defaults (see
    ``RECIPES[name].settings``).
    """
    rec = get_recipe(recipe)
    pat = Pattern.parse(pattern)
    if isinstance(train_length, bool) or not isinstance(train_length, (int, np.integer)) or train_length < 1:
        raise invalid("train_length", train_length, "a positive integer", "give the window length N to train on")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise invalid("seed", seed, "a non-negative integer", "give a seed like 0")
    if verbose not in (0, 1, 2):
        raise invalid("verbose", verbose, "0, 1 or 2", "use 0 for quiet")
    resolved = rec.resolve_settings(settings)
    keras = _keras()
    keras.utils.set_random_seed(int(seed))
    with contextlib.redirect_stdout(sys.stderr):  # Keras prints its progress bar to standard output
        return rec.fit(pat, int(train_length), int(seed), verbose, resolved)
