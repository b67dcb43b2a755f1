"""Encodings and output decoding shared by every adapter, and the choice of adapter."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import seqcheck
from seqcheck import InvalidArgument, ModelError
from seqcheck.models import CallableModel, as_model
from seqcheck.models.base import decode, encode, infer_output_kind

WINDOWS = np.array([[0, 1, 2], [2, 2, 0]])


def test_encodings():
    assert encode(WINDOWS, "tokens", 3).shape == (2, 3)
    assert encode(WINDOWS, "scalar", 3).tolist() == [[[0.0], [1.0], [2.0]], [[2.0], [2.0], [0.0]]]
    onehot = encode(WINDOWS, "onehot", 3)
    assert onehot.shape == (2, 3, 3) and onehot[0, 2].tolist() == [0, 0, 1]


def test_decode_each_output_kind():
    assert decode(np.array([[0.9], [0.2]]), 2, 2, "probabilities").ravel().tolist() == pytest.approx([0.1, 0.9, 0.8, 0.2])
    assert decode(np.array([3.0, -3.0]), 2, 2, "logits")[:, 1].tolist() == pytest.approx([0.9526, 0.0474], abs=1e-4)
    assert decode(np.array([[0.2], [0.4]]), 2, 2, "logits")[:, 1].tolist() == pytest.approx([0.5498, 0.5987], abs=1e-4)
    # log_sigmoid: log p(1); a logit reading of these would predict 0 for both
    assert decode(np.log([[0.9], [0.2]]), 2, 2, "log-probabilities")[:, 1].tolist() == pytest.approx([0.9, 0.2])


def test_decode_softmax_logits_log_probabilities_and_per_step_outputs():
    probs = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]])
    assert decode(probs, 2, 3, "probabilities").tolist() == probs.tolist()
    logits = np.array([[2.0, -1.0, 0.0], [0.0, 0.0, 5.0]])
    assert np.argmax(decode(logits, 2, 3, "logits"), axis=1).tolist() == [0, 2]
    assert decode(logits, 2, 3, "logits").sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert decode(np.log(probs), 2, 3, "log-probabilities") == pytest.approx(probs)
    per_step = np.stack([np.zeros((2, 3)), probs], axis=1)  # (B, L=2, k): the last step counts
    assert decode(per_step, 2, 3, "probabilities").tolist() == probs.tolist()


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (np.array([[0.9], [0.2]]), "probabilities"),
        (np.array([[0.3], [-4.0]]), "logits"),
        (np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]]), "probabilities"),
        (np.log([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]]), "log-probabilities"),
        (np.array([[2.0, -1.0, 0.0], [0.0, 0.0, 5.0]]), "logits"),
        (np.array([[0.2, 0.3, 0.1], [0.0, 0.9, 0.0]]), "logits"),  # in [0, 1] but not summing to 1
    ],
)
def test_output_kind_is_inferred_from_values(raw, kind):
    assert infer_output_kind(raw, 2, raw.shape[1] if raw.shape[1] > 1 else 2)[0] == kind


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [(np.zeros((3, 1)), "expected (2, 1) or (2, 3)"), (np.zeros((2, 5)), "output width=5"), (np.zeros((2, 1)), "alphabet_size=3")],
)
def test_decode_rejects_outputs_that_do_not_fit(raw, fragment):
    with pytest.raises(ModelError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        decode(raw, 2, 3, "probabilities")


class LogitsByHash:
    """A deterministic callable answering the logit +0.3 or -4 for a window: a batch may hold only +0.3 rows."""

    def __call__(self, batch):
        return np.where(batch.sum(axis=1) % 2 == 0, 0.3, -4.0)[:, None]


def test_the_output_kind_is_decided_once_per_model_not_per_batch():
    model = as_model(LogitsByHash(), alphabet_size=2)
    model.warm_up(5)  # the probe shows values outside [0, 1]
    assert model.output == "logits"
    only_positive = np.array([[1, 1, 0, 0, 0, 1, 1]])  # one +0.3 row alone: sigmoid(0.3) > 0.5 predicts 1
    assert model.predict_proba(only_positive)[0, 1] == pytest.approx(1 / (1 + np.exp(-0.3)))
    report = seqcheck.check(LogitsByHash(), pattern="11000", invariants=[seqcheck.batch_invariance])
    assert report.passed, report.render()
    assert any("outputs read as logits" in note for note in report.notes)


def test_an_output_kind_given_is_used_as_given():
    model = as_model(LogitsByHash(), alphabet_size=2, output="logits")
    model.warm_up(5)
    assert model.output == "logits" and model.output_evidence is None


def test_callable_errors_become_model_errors():
    def broken(batch):
        raise RuntimeError("boom")

    with pytest.raises(ModelError, match=r"model .*broken raised RuntimeError: boom"):
        seqcheck.check(broken, pattern="11000")


def test_not_a_model():
    with pytest.raises(InvalidArgument, match=r"model='int': expected a model of a supported framework \(Keras, PyTorch, ONNX Runtime, JAX\)"):
        as_model(3, alphabet_size=2)


def test_callables_get_tokens_by_default():
    model = as_model(lambda x: np.zeros((len(x), 1)), alphabet_size=2)
    assert isinstance(model, CallableModel) and model.encoding == "tokens"


def test_bad_check_arguments():
    ok = lambda x: np.zeros((len(x), 1))  # noqa: E731
    with pytest.raises(InvalidArgument, match="max_length=2"):
        seqcheck.check(ok, pattern="11000", max_length=2)
    with pytest.raises(InvalidArgument, match="train_length=-1"):
        seqcheck.check(ok, pattern="11000", train_length=-1)
    with pytest.raises(InvalidArgument, match="encoding='bytes'"):
        seqcheck.check(ok, pattern="11000", encoding="bytes")
    with pytest.raises(InvalidArgument, match="invariants="):
        seqcheck.check(ok, pattern="11000", invariants=[])


def test_importing_seqcheck_imports_no_framework():
    frameworks = ("tensorflow", "keras", "torch", "jax", "flax", "onnx", "onnxruntime")
    code = f"import seqcheck, seqcheck.models, sys; print([m for m in {frameworks!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
