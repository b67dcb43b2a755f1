"""No translated engine decides a verdict alone: on a model where the NumPy translation drifts from
Keras, ``engine="auto"`` gives exactly the report ``engine="keras"`` gives, and says why."""

from __future__ import annotations

import numpy as np
import pytest

import seqcheck

keras = pytest.importorskip("keras")


def chaotic_rnn():
    """SimpleRNN(32) whose recurrent kernel has gain 3: it passes the translation's probe (length 4), then
    float32 rounding grows step by step, and long windows get different decisions in NumPy and in Keras."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((None, 1))
    rnn = keras.layers.SimpleRNN(32)
    outputs = keras.layers.Dense(1, activation="sigmoid")(rnn(inputs))
    model = keras.Model(inputs, outputs)
    kernel, recurrent, bias = rnn.get_weights()
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(32, 32)))
    rnn.set_weights([kernel * 2.0, (3.0 * q).astype("float32"), bias])
    return model


def comparable(report: seqcheck.Report) -> list:
    return [
        (r.name, r.status, None if r.counterexample is None else r.counterexample.to_dict(), r.accuracy_by_length,
         r.correct_by_length)
        for r in report.results
    ]


@pytest.mark.slow
def test_a_drifting_translation_is_caught_and_the_check_runs_in_keras():
    model = chaotic_rnn()
    options = dict(pattern="11000", train_length=10, max_length=120)
    auto = seqcheck.check(model, engine="auto", **options)
    framework = seqcheck.check(model, engine="keras", **options)
    assert auto.model_engine == "keras" and framework.model_engine == "keras"
    assert any("translation disagreed with the model's framework" in note for note in auto.notes)
    assert comparable(auto) == comparable(framework)


@pytest.mark.slow
def test_the_translation_really_drifts_on_that_model():
    """What makes the test above able to fail: the NumPy program alone decides long windows differently."""
    from seqcheck.models.keras import KerasModel

    adapter = KerasModel(chaotic_rnn(), alphabet_size=2)
    assert adapter.engine == "numpy"  # it passed the probe
    windows = seqcheck.Pattern.parse("11000").windows(100)
    windows = np.concatenate([windows, np.random.default_rng(0).integers(0, 2, size=(59, 100))])
    x = windows.astype("float32")[..., None]
    translated = adapter._program(x).ravel() >= 0.5
    native = np.asarray(adapter._call_keras(x)).ravel() >= 0.5
    assert (translated != native).sum() > 0
