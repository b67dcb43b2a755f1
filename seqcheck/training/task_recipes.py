"""Training recipes for sequence tasks: the protocol of Delétang et al., "Neural Networks and the Chomsky
Hierarchy" (ICLR 2023), on a CPU budget.

A task recipe trains a whole-sequence classifier for a :class:`~seqcheck.tasks.base.SequenceTask`:

- each of ``steps`` training steps draws ONE length uniformly from the task's valid lengths in
  ``1..N`` (``max_train_length``), ``batch_size`` inputs of that length with ``task.sample`` and their
  classes with ``task.targets``; with the setting ``fixed_length=true``, every step uses the longest of
  them (N itself for most tasks): the "fixed length" protocol a varied-length one is compared with;
- inputs are one-hot, ``(B, L, task.input_size)`` float32; the model outputs a softmax over the task's
  classes, ``(B, task.class_count)``; Adam, sparse categorical cross-entropy, ``model.train_on_batch``.

Two architectures, built from Keras's own layers only, so that a saved ``.keras`` file loads in Keras's
safe mode with no custom objects, at any input length:

- ``lstm``: ``Input((None, input_size)) -> LSTM(units) -> Dense(class_count, softmax)``;
- ``transformer``: ``Input((None, input_size)) -> Dense(d_model)``, then ``layers`` encoder blocks
  (causal ``MultiHeadAttention`` + residual + ``LayerNormalization``, feed-forward ``Dense(ff, relu) ->
  Dense(d_model)`` + residual + ``LayerNormalization``), ``GlobalAveragePooling1D``,
  ``Dense(class_count, softmax)``.  It has no positional encoding: the causal mask is its only source of
  order (as in "NoPE" decoders), which works at any length and needs no code in the file.

:func:`train_task_model` trains one; :func:`cached_task_model_path` trains it once and keeps the ``.keras``
file in seqcheck's model cache (:mod:`seqcheck.training.cache`), keyed by the task (name, symbols,
classes), the architecture, N, the seed, the resolved settings, :data:`TASK_RECIPE_VERSION` and the
Keras and TensorFlow versions.

Importing this module does not import TensorFlow or Keras.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from seqcheck.errors import invalid
from seqcheck.tasks import SequenceTask, resolve_task

__all__ = [
    "ARCHITECTURES", "TASK_RECIPE_VERSION", "build_task_model", "cached_task_model_path",
    "load_cached_task_model", "one_hot", "resolve_task_settings", "task_cache_key_data", "task_entry",
    "train_task_model", "train_lengths",
]

#: Bump when a task recipe's code changes in a way its settings do not show: cached models are retrained.
TASK_RECIPE_VERSION = 1

#: The default settings of each architecture (every one is part of the cache key).
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "lstm": {"units": 16, "learning_rate": 1e-2, "steps": 1000, "batch_size": 64, "fixed_length": False},
    "transformer": {
        "d_model": 32, "heads": 2, "layers": 1, "ff": 64, "learning_rate": 1e-3, "steps": 1000, "batch_size": 64,
        "fixed_length": False,
    },
}

_INTEGER_SETTINGS = {"units", "steps", "batch_size", "d_model", "heads", "layers", "ff"}
_BOOLEAN_SETTINGS = {"fixed_length"}


def _keras():
    """Keras, imported quietly by :func:`seqcheck.models.keras_files.import_keras`."""
    from seqcheck.models.keras_files import import_keras

    return import_keras()


def _sequence_task(task: object) -> SequenceTask:
    resolved = resolve_task(task)
    if not isinstance(resolved, SequenceTask):
        raise invalid("task", getattr(resolved, "name", task), "a sequence task (whole-sequence classification)",
                      "pick a built-in task like parity, or a SequenceTask of your own")
    return resolved


def _positive_int(name: str, value: object, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise invalid(name, value, "a positive integer", fix)
    return int(value)


def resolve_task_settings(architecture: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings of ``architecture``: its defaults (:data:`ARCHITECTURES`) updated with ``overrides``.

    An unknown architecture or setting name, or a setting that is not a positive number, is an error.
    """
    if architecture not in ARCHITECTURES:
        raise invalid("architecture", architecture, f"one of {', '.join(ARCHITECTURES)}", "pick a known architecture")
    settings = dict(ARCHITECTURES[architecture])
    for key, value in (overrides or {}).items():
        if key not in settings:
            raise invalid("settings", {key: value}, f"settings of architecture {architecture!r}: {', '.join(sorted(settings))}",
                          "drop or rename the unknown setting")
        if key in _INTEGER_SETTINGS:
            value = _positive_int(key, value, f"give {key} as a positive integer")
        elif key in _BOOLEAN_SETTINGS:
            if not isinstance(value, bool):
                raise invalid(key, value, "true or false", f"give {key}=true or {key}=false")
        elif isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < float("inf"):
            raise invalid(key, value, "a positive number", f"give {key} like {settings[key]}")
        else:
            value = float(value)
        settings[key] = value
    if architecture == "transformer" and settings["d_model"] % settings["heads"]:
        raise invalid("d_model", settings["d_model"], f"a multiple of heads={settings['heads']}",
                      "make d_model divisible by the number of heads")
    return settings


def train_lengths(task: SequenceTask, max_train_length: int, *, fixed_length: bool = False) -> np.ndarray:
    """The lengths a recipe trains on: the task's valid lengths in ``1..max_train_length``, ascending (with
    ``fixed_length``, only the longest of them)."""
    lengths = np.array([n for n in range(1, max_train_length + 1) if task.valid_length(n)], dtype=np.int64)
    if not len(lengths):
        raise invalid("max_train_length", max_train_length, f"a length that includes a valid length of task {task.name}",
                      "train on longer inputs")
    return lengths[-1:] if fixed_length else lengths


def one_hot(batch: np.ndarray, input_size: int) -> np.ndarray:
    """The recipes' input encoding of an int ``(B, L)`` batch: one-hot, float32 ``(B, L, input_size)``."""
    return np.eye(input_size, dtype="float32")[np.asarray(batch, dtype=np.int64)]


def build_task_model(task: object, architecture: str, *, settings: Mapping[str, Any] | None = None):
    """The network of ``architecture`` for ``task``, compiled (Adam, sparse categorical cross-entropy).

    ``lstm`` and ``transformer`` are as the module docstring defines them; ``settings`` overrides some of
    :data:`ARCHITECTURES` ``[architecture]``.
    """
    task = _sequence_task(task)
    settings = resolve_task_settings(architecture, settings)
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(shape=(None, task.input_size), name="symbols")
    if architecture == "lstm":
        hidden = layers.LSTM(settings["units"], name="lstm")(inputs)
    else:
        d_model, heads = settings["d_model"], settings["heads"]
        hidden = layers.Dense(d_model, name="embed")(inputs)
        for block in range(settings["layers"]):
            attended = layers.MultiHeadAttention(heads, d_model // heads, name=f"attention_{block}")(
                hidden, hidden, use_causal_mask=True)
            hidden = layers.LayerNormalization(name=f"norm_attention_{block}")(layers.Add()([hidden, attended]))
            fed = layers.Dense(settings["ff"], activation="relu", name=f"ff_in_{block}")(hidden)
            fed = layers.Dense(d_model, name=f"ff_out_{block}")(fed)
            hidden = layers.LayerNormalization(name=f"norm_ff_{block}")(layers.Add()([hidden, fed]))
        hidden = layers.GlobalAveragePooling1D(name="pool")(hidden)
    outputs = layers.Dense(task.class_count, activation="softmax", name="classes")(hidden)
    model = keras.Model(inputs, outputs, name=f"{task.name}-{architecture}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=settings["learning_rate"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_task_model(task: object, architecture: str, *, max_train_length: int, seed: int = 0,
                     settings: Mapping[str, Any] | None = None, verbose: int = 0):
    """Train ``architecture`` on ``task`` with lengths ``1..max_train_length`` and return it (a compiled ``keras.Model``).

    ``seed`` seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``: the initial weights)
    and ``numpy.random.default_rng(seed)``, which draws every batch's length and inputs: a seed gives the
    same model on the same machine and library versions.  ``verbose`` is 0 (quiet), 1 or 2 (progress ten
    times, on standard error: standard output is for reports).
    """
    task = _sequence_task(task)
    n = _positive_int("max_train_length", max_train_length, "give the longest training length N, like 10")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise invalid("seed", seed, "a non-negative integer", "give a seed like 0")
    if verbose not in (0, 1, 2):
        raise invalid("verbose", verbose, "0, 1 or 2", "use 0 for quiet")
    settings = resolve_task_settings(architecture, settings)
    lengths = train_lengths(task, n, fixed_length=settings["fixed_length"])
    keras = _keras()
    keras.utils.set_random_seed(int(seed))
    rng = np.random.default_rng(int(seed))
    with contextlib.redirect_stdout(sys.stderr):  # nothing Keras prints goes to standard output
        model = build_task_model(task, architecture, settings=settings)
        steps, batch = settings["steps"], settings["batch_size"]
        report_every = max(steps // 10, 1)
        started = time.perf_counter()
        loss_sum, acc_sum, seen = 0.0, 0.0, 0
        for step in range(1, steps + 1):
            length = int(rng.choice(lengths))
            x = task.sample(rng, batch, length)
            with warnings.catch_warnings():  # Keras converting its logs with TF's old-style __array__
                warnings.filterwarnings("ignore", message=r"__array__ implementation doesn't accept a copy keyword",
                                        category=DeprecationWarning)
                loss, acc = model.train_on_batch(one_hot(x, task.input_size), task.targets(x).astype("int32"),
                                                 return_dict=False)
            loss_sum, acc_sum, seen = loss_sum + float(loss), acc_sum + float(acc), seen + 1
            if verbose and (step % report_every == 0 or step == steps):
                print(f"{task.name} {architecture} step {step}/{steps}  lengths {lengths[0]}..{lengths[-1]}  loss {loss_sum / seen:.4f}  "
                      f"accuracy {acc_sum / seen:.4f}  {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
                loss_sum, acc_sum, seen = 0.0, 0.0, 0
    return model


# -- the cache -----------------------------------------------------------------------------------


def task_cache_key_data(task: object, architecture: str, *, max_train_length: int, seed: int = 0,
                        settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the cache key of a task recipe's model is made of (a JSON-serialisable dict).

    The task is known by its name, symbols and classes: two tasks that share these but not their oracle
    share an entry, so give a task of your own a name of its own.
    """
    from seqcheck.training.cache import library_versions

    task = _sequence_task(task)
    return {
        "recipe": f"task-{architecture}",
        "settings": resolve_task_settings(architecture, settings),
        "task": task.name,
        "symbols": list(task.symbols),
        "classes": list(task.classes),
        "max_train_length": _positive_int("max_train_length", max_train_length, "give the longest training length N, like 10"),
        "seed": int(seed),
        **library_versions(),
        "recipe_version": TASK_RECIPE_VERSION,
    }


def cached_task_model_path(task: object, architecture: str, *, max_train_length: int, seed: int = 0,
                           settings: Mapping[str, Any] | None = None, cache_dir: str | os.PathLike[str] | None = None,
                           verbose: int = 0) -> Path:
    """The path of the cached ``.keras`` file of ``architecture`` trained on ``task`` (lengths ``1..max_train_length``,
    ``seed``); train it with :func:`train_task_model` if absent.

    The entry lives in :func:`seqcheck.training.cache.default_cache_dir` (or ``cache_dir``), in a folder
    named like ``task-lstm-parity-N10-s0-1a2b3c4d5e6f``, written atomically under a lock and checked against
    its checksum as every cache entry is (:func:`seqcheck.training.cache.cached_entry_path`).
    """
    entry = task_entry(task, architecture, max_train_length=max_train_length, seed=seed, settings=settings,
                       cache_dir=cache_dir)
    data = entry.key_data

    def produce(path: Path) -> None:
        model = train_task_model(task, architecture, max_train_length=data["max_train_length"], seed=data["seed"],
                                 settings=data["settings"], verbose=verbose)
        model.save(path)

    return entry.get(produce, verbose=verbose)


def task_entry(task: object, architecture: str, *, max_train_length: int, seed: int = 0,
               settings: Mapping[str, Any] | None = None, cache_dir: str | os.PathLike[str] | None = None):
    """The cache :class:`~seqcheck.training.cache.Entry` of ``architecture`` trained on ``task`` (it may not exist yet)."""
    from seqcheck.training.cache import keyed_entry

    task = _sequence_task(task)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise invalid("seed", seed, "a non-negative integer", "give a seed like 0")
    data = task_cache_key_data(task, architecture, max_train_length=max_train_length, seed=seed, settings=settings)
    return keyed_entry(
        data, cache_dir=cache_dir,
        label=f"{architecture} on task {task.name} (N={data['max_train_length']}, seed={data['seed']})",
        slug=f"{data['recipe']}-{task.name}-N{data['max_train_length']}-s{data['seed']}",
    )


def load_cached_task_model(task: object, architecture: str, *, max_train_length: int, seed: int = 0,
                           settings: Mapping[str, Any] | None = None, cache_dir: str | os.PathLike[str] | None = None,
                           verbose: int = 0):
    """The cached model of :func:`cached_task_model_path` as a ``keras.Model``, loaded as any model file is
    (:func:`seqcheck.models.keras_files.load_keras_model`: screened, uncompiled, in Keras's safe mode)."""
    from seqcheck.models.keras_files import load_keras_model

    return load_keras_model(cached_task_model_path(task, architecture, max_train_length=max_train_length, seed=seed,
                                                   settings=settings, cache_dir=cache_dir, verbose=verbose))
