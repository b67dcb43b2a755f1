"""Prefix sharing: one pass per phase, read out at every step, gives the very verdicts of window-by-window calls.

A causal model's prediction for the window of phase ``φ`` and length ``L`` is its readout after ``L`` steps of
the stream from ``φ``, so a check evaluates every length of a phase in one pass (``seqcheck.search.evaluation``).
These tests hold it to what a user relies on: the report (verdicts, minimal counterexamples, accuracy tables)
is the same as window by window, a model falsely declared causal is caught and checked window by window, the
sweep it makes affordable is exhaustive, and the report says which way ran.  The hand-made rules of
``tests/handmade.py`` are made causal by :class:`PerStep`, which answers every prefix with the rule's own
answer for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import seqcheck
from seqcheck.errors import ModelError, SeqcheckError
from tests.handmade import BatchDependent, BreaksBeyond, ExactRule, NeedsLongContext, StartAnchored, WrongOnce

SCHEMA = Path(__file__).resolve().parents[1] / "seqcheck" / "report-schema.json"


class PerStep:
    """A window rule made causal: per-step outputs ``(B, L, width)`` whose step ``t`` is the rule on the first
    ``t + 1`` symbols; counts the steps it is fed."""

    def __init__(self, rule):
        self.rule = rule
        self.steps = 0
        self.__qualname__ = f"PerStep({type(rule).__name__})"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch)
        self.steps += batch.size
        return np.stack([np.asarray(self.rule(batch[:, : t + 1]), dtype=float) for t in range(batch.shape[1])], axis=1)


def verdicts(report: seqcheck.Report) -> list[dict]:
    """Everything a report says about the model's behaviour: each invariant's status, forms, counterexamples,
    accuracy table and heatmap (its reproduce line and how the model was evaluated aside)."""
    return [{key: value for key, value in result.items() if key != "reproduce"} for result in report.to_dict()["invariants"]]


MODELS = {
    "exact": (lambda: ExactRule("11000"), "11000", 10),
    "start-anchored": (lambda: StartAnchored("11000", 10), "11000", 10),
    "breaks beyond 17": (lambda: BreaksBeyond("11000", 17), "11000", 10),
    "wrong once": (lambda: WrongOnce("1101000", phase=3, length=12), "1101000", 8),
    "needs long context": (lambda: NeedsLongContext("0,1,2,2", 9), "0,1,2,2", 6),
    "batch dependent": (lambda: BatchDependent("11000"), "11000", 10),
}


@pytest.mark.parametrize("name", MODELS)
def test_prefix_passes_give_the_reports_of_whole_windows(name):
    make, pattern, train_length = MODELS[name]
    options = dict(pattern=pattern, train_length=train_length, max_length=45)
    shared = seqcheck.check(PerStep(make()), causal="yes", **options)
    whole = seqcheck.check(PerStep(make()), causal="no", **options)
    assert shared.evaluation["prefix_sharing"] and not whole.evaluation["prefix_sharing"]
    assert verdicts(shared) == verdicts(whole)
    assert not any("disagreed" in note for note in shared.notes)


def test_one_pass_per_phase_feeds_linearly_many_steps():
    """Window by window, a sweep to length M feeds about p M^2 / 2 steps; by prefix passes, p M plus the
    verification's whole windows (the longest length and three short ones) and the counterexamples' windows."""
    options = dict(pattern="11000", train_length=10, max_length=400, invariants=["length_generalization"])
    shared, whole = PerStep(ExactRule("11000")), PerStep(ExactRule("11000"))
    assert seqcheck.check(shared, causal="yes", **options).passed
    assert seqcheck.check(whole, causal="no", **options).passed
    assert whole.steps > 5 * 400 * 400 / 2
    assert shared.steps < 5 * 400 * 4


def test_a_sweep_beyond_the_quadratic_budget_is_exhaustive_with_prefix_passes():
    """p M^2 / 2 symbols exceed the budget, p M fit: the table is complete and the minimum confirmed."""
    options = dict(pattern="11000", train_length=10, max_length=600, exhaustive_budget=200_000)
    shared = seqcheck.check(PerStep(BreaksBeyond("11000", 517)), causal="yes", **options)
    result = shared["length generalization"]
    assert result.status == "fail" and result.form("oracle").minimal_confirmed
    assert result.counterexample.length == 518 and result.counterexample.phase == 0
    assert set(result.accuracy_by_length) == set(range(3, 601))
    whole = seqcheck.check(PerStep(BreaksBeyond("11000", 517)), causal="no", invariants=["length_generalization"], **options)
    assert whole["length generalization"].accuracy_by_length is None  # over budget window by window


def test_a_model_falsely_declared_causal_is_caught_and_checked_window_by_window():
    """Every step of this model answers from the whole window's last symbols: its per-step outputs are not its
    predictions for the prefixes, and the verification against whole windows says so."""
    rule = ExactRule("11000")

    def peeks_ahead(batch):
        whole = np.asarray(rule(batch), dtype=float)  # (B, 1): the whole window's answer at every step
        return np.repeat(whole[:, None, :], batch.shape[1], axis=1)

    options = dict(pattern="11000", train_length=10, max_length=40)
    report = seqcheck.check(peeks_ahead, causal="yes", **options)
    assert not report.evaluation["prefix_sharing"]
    assert any(note.startswith("prefix sharing disagreed with whole-window calls (window") for note in report.notes)
    assert report.passed  # the model's own verdict: an exact rule on whole windows
    assert verdicts(report) == verdicts(seqcheck.check(rule, **options))


def test_near_ties_of_a_pass_are_decided_on_their_whole_windows():
    """The pass says 0.50001 where the whole window says 0.49999: the whole window decides, so nothing disagrees."""
    rule = ExactRule("11000")

    def tie_on_pass(batch):
        out = np.stack([np.asarray(rule(batch[:, : t + 1]), dtype=float) for t in range(batch.shape[1])], axis=1)
        out[:, :, 0] = np.where(out[:, :, 0] > 0.5, 0.50001, out[:, :, 0])
        return out

    def tie_on_window(batch):
        out = np.asarray(rule(batch), dtype=float)
        return np.where(out > 0.5, 0.49999, out)

    class Both:
        """Per-step outputs from tie_on_pass, but its last step is what a whole window gets."""

        __qualname__ = "Both"

        def __call__(self, batch):
            out = tie_on_pass(batch)
            out[:, -1] = tie_on_window(batch)
            return out

    options = dict(pattern="11000", train_length=10, max_length=30, invariants=["length_generalization"])
    shared = seqcheck.check(Both(), causal="yes", **options)
    whole = seqcheck.check(Both(), causal="no", **options)
    assert shared.evaluation["prefix_sharing"]
    assert verdicts(shared) == verdicts(whole)
    assert whole["length generalization"].status == "fail"  # 0.49999: the target 1 is never predicted


def test_the_report_says_how_windows_were_evaluated():
    jsonschema = pytest.importorskip("jsonschema")
    shared = seqcheck.check(PerStep(ExactRule("11000")), pattern="11000", causal="yes", max_length=20)
    whole = seqcheck.check(ExactRule("11000"), pattern="11000", max_length=20)
    assert shared.render().splitlines()[1] == (
        "evaluation: engine native; prefix sharing: declared causal: its per-step outputs are read as the predictions of"
        " every prefix"
    )
    assert whole.render().splitlines()[1] == (
        "evaluation: engine native; window by window: a Python callable shares prefixes only when declared causal"
        " (causal='yes')"
    )
    data = shared.to_dict()
    assert data["model"]["prefix_sharing"] is True and data["model"]["engine"] == "native"
    jsonschema.validate(json.loads(shared.to_json()), json.loads(SCHEMA.read_text()))
    assert "causal='yes'" in shared.reproduce


def test_a_callable_declared_causal_must_return_per_step_outputs():
    with pytest.raises(ModelError, match=r"declared causal but returned shape=\(5, 2\) .* expected \(5, 40, width\)"):
        seqcheck.check(lambda x: np.full((len(x), 2), 0.5), pattern="11000", causal="yes", max_length=40)


def test_an_unknown_causal_value_is_one_line_naming_it():
    with pytest.raises(SeqcheckError, match=r"causal='maybe'.*one of auto, yes, no"):
        seqcheck.check(ExactRule("11000"), pattern="11000", causal="maybe")


# -- Keras models: the reference models and a zoo of causal architectures, both engines ---------------------------


def _keras_zoo():
    """Causal Keras models (seeded random weights) with the pattern each is checked on."""
    import keras

    L = keras.layers

    def build(seed, pattern, inp, *layers):
        keras.utils.set_random_seed(seed)
        x = inp
        for layer in layers:
            x = layer(x)
        return keras.Model(inp, x), pattern

    return {
        "lstm-sigmoid": lambda: build(0, "11000", keras.Input((None, 1)), L.LSTM(4), L.Dense(1, activation="sigmoid")),
        "gru-onehot-softmax": lambda: build(1, "0,1,2,2", keras.Input((None, 3)), L.GRU(5), L.Dense(3, activation="softmax")),
        "embedding-simplernn": lambda: build(
            2, "1101000", keras.Input((None,), dtype="int32"), L.Embedding(2, 3), L.SimpleRNN(4), L.Dense(1, activation="sigmoid")
        ),
        "stacked-lstm-logits": lambda: build(
            3, "11000", keras.Input((None, 1)), L.LSTM(3, return_sequences=True), L.Dropout(0.2), L.LSTM(3), L.Dense(1)
        ),
        "per-step-time-distributed": lambda: build(
            4, "11000", keras.Input((None, 1)), L.LSTM(4, return_sequences=True), L.TimeDistributed(L.Dense(1, activation="sigmoid"))
        ),
        "causal-conv-gru": lambda: build(
            5, "11000", keras.Input((None, 1)), L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"), L.GRU(3),
            L.Dense(1, activation="sigmoid"),
        ),
        "layer-norm-per-step": lambda: build(
            6, "11000", keras.Input((None, 1)), L.LSTM(4, return_sequences=True), L.LayerNormalization(),
            L.Dense(1, activation="sigmoid"),
        ),
    }


ZOO = list(_keras_zoo())


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["auto", "keras"])
@pytest.mark.parametrize("name", ZOO)
def test_keras_models_give_the_same_report_with_and_without_prefix_sharing(name, engine):
    model, pattern = _keras_zoo()[name]()
    # Long enough that even the NumPy translation is judged by passes (TRANSLATED_PREFIX_FROM).
    options = dict(pattern=pattern, train_length=8, max_length=240, engine=engine)
    shared = seqcheck.check(model, **options)
    whole = seqcheck.check(model, causal="no", **options)
    assert shared.evaluation["prefix_sharing"], shared.evaluation["prefix_reason"]
    assert shared.evaluation["prefix_reason"].startswith("proven causal (")
    assert not any("disagreed" in note for note in shared.notes), shared.notes
    assert verdicts(shared) == verdicts(whole)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["auto", "keras"])
@pytest.mark.parametrize("which", ["seed_model_path", "fixed_model_path"])
def test_the_reference_models_give_the_same_report_with_and_without_prefix_sharing(which, engine, request):
    path = request.getfixturevalue(which)
    options = dict(pattern="11000", train_length=10, max_length=240, engine=engine)
    shared = seqcheck.check(path, **options)
    whole = seqcheck.check(path, causal="no", **options)
    assert shared.evaluation["prefix_sharing"] and not whole.evaluation["prefix_sharing"]
    assert verdicts(shared) == verdicts(whole)
    assert shared.reproduce == whole.reproduce.replace(" --causal no", "")


def test_a_model_that_is_not_causal_is_evaluated_window_by_window_and_says_why():
    import keras

    keras.utils.set_random_seed(7)
    inp = keras.Input((None, 1))
    both_ways = keras.layers.Bidirectional(keras.layers.LSTM(3), name="both_ways")(inp)
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(both_ways))
    report = seqcheck.check(model, pattern="11000", max_length=20, invariants=["length_generalization"])
    assert not report.evaluation["prefix_sharing"]
    assert report.evaluation["prefix_reason"] == (
        "not proven causal: layer both_ways of class Bidirectional reads the window backwards; pass causal='yes' if it is"
    )


def test_a_short_sweep_of_a_translated_model_stays_window_by_window_and_says_why(seed_model_path):
    """At lengths 3..40 the NumPy translation sweeps every window for less than verifying passes in Keras costs."""
    report = seqcheck.check(seed_model_path, pattern="11000", train_length=10, invariants=["length_generalization"])
    assert report.model_engine == "numpy" and not report.evaluation["prefix_sharing"]
    assert report.evaluation["prefix_reason"] == (
        "proven causal (LSTM, Dense), but its sweep feeds the numpy translation only 4,085 symbols, less than verifying"
        " passes costs (they run beyond 100,000)"
    )
    framework = seqcheck.check(seed_model_path, pattern="11000", train_length=10, engine="keras", invariants=["length_generalization"])
    assert framework.evaluation["prefix_sharing"]
