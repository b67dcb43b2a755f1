"""Exact outcomes on hand-built models, each minimum cross-checked against a brute-force sweep.

The brute force below shares no code with seqcheck's search: it calls the model one window at a
time and orders cases as docs/concepts.md documents (length nearest the training length, the longer on a
tie, or the shortest without one; then the smallest shift; then the smallest phase).
"""

from __future__ import annotations

import numpy as np
import pytest

import seqcheck
from seqcheck import Pattern
from tests.handmade import BatchDependent, BreaksBeyond, ExactRule, StartAnchored, WrongOnce


def predict_one(model, window) -> int:
    out = np.asarray(model(np.asarray([window])), dtype=float)
    return int(out[0, 0] >= 0.5) if out.shape[1] == 1 else int(np.argmax(out[0]))


def length_key(length, train_length, min_length):
    if train_length is None:
        return (length - min_length,)
    return (abs(length - train_length), 0 if length >= train_length else 1)


def brute_length_generalization(model, pattern, *, max_length, train_length):
    p = Pattern.parse(pattern)
    c = p.min_context
    failing = [
        (length, phase)
        for length in range(c, max_length + 1)
        for phase in range(p.period)
        if predict_one(model, p.window(phase, length)) != p.target(phase, length)
    ]
    return min(failing, key=lambda lp: (*length_key(lp[0], train_length, c), lp[1]), default=None)


def brute_same_end_pairs(model, pattern, *, max_length, train_length, unit, min_length=None, oracle=False):
    """Minimal (shorter length, step, phase) of the same-end window pairs that break: label-free, the two windows get
    different predictions; ``oracle``, either misses their shared target.  One direct call per window."""
    p = Pattern.parse(pattern)
    c = p.min_context if min_length is None else min_length
    failing = []
    for length in range(c, max_length + 1):
        for step in range(1, (max_length - length) // unit + 1):
            extra = step * unit
            for phase in range(p.period):
                longer = predict_one(model, p.window(phase, length + extra))
                shorter = predict_one(model, p.window(phase + extra, length))
                target = p.target(phase, length + extra)
                if (longer != target or shorter != target) if oracle else longer != shorter:
                    failing.append((length, step, phase))
    return min(failing, key=lambda case: (*length_key(case[0], train_length, c), case[1], case[2]), default=None)


@pytest.mark.slow
def test_exact_rule_passes_every_invariant_at_every_length_to_300():
    model = ExactRule("11000")
    report = seqcheck.check(model, pattern="11000", train_length=10, max_length=300)
    assert report.passed, report.render()
    for name in ("phase-shift invariance", "length generalization", "periodic consistency"):
        assert report[name].exhaustive, f"{name} should have swept every case"
    acc = report["length generalization"].accuracy_by_length
    assert list(acc) == list(range(3, 301)) and set(acc.values()) == {1.0}
    assert brute_length_generalization(model, "11000", max_length=300, train_length=10) is None


def test_start_anchored_model_fails_phase_shift_and_length_but_keeps_whole_periods():
    model = StartAnchored("11000", train_length=10)
    report = seqcheck.check(model, pattern="11000", train_length=10)

    lengths = report["length generalization"]
    assert not lengths.passed
    cx = lengths.counterexample
    assert (cx.length, cx.phase, cx.expected, cx.predicted) == (11, 1, 0, 1)
    assert (cx.length, cx.phase) == brute_length_generalization(model, "11000", max_length=40, train_length=10)
    assert cx.window.symbols == (1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1)

    shift = report["phase-shift invariance"]
    assert not shift.form("label-free").passed
    cx = shift.counterexample
    assert cx.form == "label-free"
    # A pair is ordered by its shorter window (length 10) and shown by its longer one (length 11).
    assert (cx.length, cx.window.length, cx.phase, cx.predicted) == (10, 11, 1, 1)
    assert (cx.other.length, cx.other.phase, cx.other.predicted, cx.other.expected) == (10, 2, 0, 0)
    assert cx.relation == "same end, start +1"
    assert brute_same_end_pairs(model, "11000", max_length=40, train_length=10, unit=1) == (10, 1, 1)

    periodic = report["periodic consistency"]
    assert periodic.form("prepend-a-period").passed
    assert periodic.form("prepend-a-period").exhaustive
    assert brute_same_end_pairs(model, "11000", max_length=40, train_length=10, unit=5) is None

    accuracy = report["length generalization"].accuracy_by_length
    assert [accuracy[10 + i] for i in range(7)] == [1.0, 0.6, 0.2, 0.2, 0.6, 1.0, 0.6]  # the seed's table
    assert any("counts from the window start" in line for line in report.diagnosis)


def test_model_breaking_beyond_150_is_reported_at_151():
    model = BreaksBeyond("11000", limit=150)
    report = seqcheck.check(model, pattern="11000", train_length=10, max_length=200)
    cx = report["length generalization"].counterexample
    assert (cx.length, cx.phase) == (151, 0)
    assert (cx.length, cx.phase) == brute_length_generalization(model, "11000", max_length=200, train_length=10)
    assert report["length generalization"].form("oracle").minimal_confirmed
    # Label-free: the shorter window nearest N=10 whose same-end partner reaches length 151.
    shift = report["phase-shift invariance"].form("label-free").counterexample
    assert (shift.length, shift.other.length, shift.window.length, shift.phase) == (10, 10, 151, 0)
    assert [d.split(":")[0] for d in report.diagnosis] == ["right at every length up to 150, wrong at every length beyond it"]


def test_model_breaking_beyond_150_without_training_length_reports_the_shortest():
    model = BreaksBeyond("11000", limit=150)
    report = seqcheck.check(model, pattern="11000", max_length=200)
    cx = report["length generalization"].counterexample
    assert (cx.length, cx.phase) == (151, 0)
    assert (cx.length, cx.phase) == brute_length_generalization(model, "11000", max_length=200, train_length=None)


@pytest.mark.parametrize(("phase", "length"), [(3, 37), (0, 10), (4, 52)])
def test_model_wrong_at_exactly_one_window_is_found_exactly(phase, length):
    model = WrongOnce("11000", phase=phase, length=length)
    report = seqcheck.check(model, pattern="11000", train_length=10, max_length=60)
    cx = report["length generalization"].counterexample
    assert (cx.length, cx.phase) == (length, phase)
    assert cx.expected == Pattern.parse("11000").target(phase, length)
    assert cx.predicted == 1 - cx.expected
    assert (length, phase) == brute_length_generalization(model, "11000", max_length=60, train_length=10)
    assert report["length generalization"].accuracy_by_length[length] == pytest.approx(0.8)


def test_batch_dependent_model_fails_batch_invariance_with_the_smallest_batch():
    report = seqcheck.check(BatchDependent("11000"), pattern="11000", train_length=10)
    result = report["batch invariance"]
    assert not result.passed
    cx = result.counterexample
    assert cx.length == 10  # nearest the training length
    assert "in a batch of 2 windows" in cx.detail
    assert report["length generalization"].passed


def test_exact_model_is_batch_invariant():
    report = seqcheck.check(ExactRule("11000"), pattern="11000", invariants=[seqcheck.batch_invariance])
    assert report.passed and report["batch invariance"].windows > 0


def test_model_is_called_once_per_length_in_a_sweep():
    model = ExactRule("11000")
    seqcheck.check(model, pattern="11000", train_length=10, max_length=40, invariants=[seqcheck.length_generalization])
    lengths = 40 - 3 + 1
    assert model.calls == lengths + 1  # one batched call per length, plus the warm-up


def test_kary_pattern_with_onehot_softmax_model():
    """Three symbols fed one-hot, decided by argmax: the same exact minimum as the brute force."""
    model = StartAnchored("0,1,2,2", train_length=8)
    pattern = Pattern.parse("0122")

    def onehot_model(x):
        assert x.ndim == 3 and x.shape[-1] == 3 and np.all(x.sum(axis=-1) == 1)  # what encoding="onehot" promises
        return model(np.argmax(x, axis=-1))

    report = seqcheck.check(onehot_model, pattern="0,1,2,2", train_length=8, encoding="onehot")
    cx = report["length generalization"].counterexample
    assert (cx.length, cx.phase) == brute_length_generalization(model, "0122", max_length=40, train_length=8)
    assert cx.expected == pattern.target(cx.phase, cx.length)
    assert cx.predicted == pattern.target(cx.phase, 8) != cx.expected  # s[phase + N]: it counts from the start
    assert not report["phase-shift invariance"].passed

    exact = seqcheck.check(ExactRule("0122"), pattern="0122", train_length=8)
    assert exact.passed, exact.render()
    for name in ("phase-shift invariance", "length generalization", "periodic consistency"):
        assert exact[name].exhaustive and exact[name].windows > 0, name
    assert set(exact["length generalization"].accuracy_by_length.values()) == {1.0}


def test_nan_outputs_are_violations_not_crashes():
    exact = ExactRule("11000")

    def nan_beyond_20(batch):
        out = exact(batch)
        return out if batch.shape[1] <= 20 else np.full_like(out, np.nan)

    report = seqcheck.check(nan_beyond_20, pattern="11000", train_length=10)
    cx = report["length generalization"].counterexample
    assert (cx.length, cx.phase) == (21, 0)
    assert "non-finite" in "\n".join(cx.lines())
    assert report.to_dict()["invariants"][1]["counterexample"]["predicted"] is None


def test_same_seed_gives_the_same_report():
    first = seqcheck.check(StartAnchored("11000", 10), pattern="11000", train_length=10, seed=3)
    second = seqcheck.check(StartAnchored("11000", 10), pattern="11000", train_length=10, seed=3)
    assert first.to_dict() == second.to_dict()
