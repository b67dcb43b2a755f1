"""Checks on sequence tasks: exact answers on hand-built models, compared with exhaustive ground truth."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from sequence_models import CountsFromTheStart, Exact, LateBreaking, one_hot

import seqcheck
import seqcheck.tasks
from seqcheck.tasks import BUILTIN_TASKS, cycle_navigation, modular_arithmetic, parity


def first_failing(model, task, lengths):
    """Ground truth: the shortlex-smallest input the model gets wrong, by evaluating every input of each length."""
    for length in lengths:
        for block in task.enumerate(length):
            wrong = np.argmax(model(block), axis=1) != task.targets(block)
            if wrong.any():
                return block[int(np.argmax(wrong))].tolist()
    return None


@pytest.mark.slow
def test_an_exact_parity_automaton_passes_every_invariant_to_length_500():
    report = seqcheck.check(Exact(parity), task="parity", train_length=40, max_length=500)
    assert report.passed
    statuses = {r.name: r.status for r in report.results}
    assert statuses == {
        "phase_shift_invariance": "not applicable", "length_generalization": "pass", "periodic_consistency": "not applicable",
        "batch_invariance": "pass", "metamorphic_relations": "pass",
    }
    assert set(report["length_generalization"].accuracy_by_length) == set(range(1, 501))
    assert set(report["length_generalization"].accuracy_by_length.values()) == {1.0}
    # Every input of lengths 1..16 was swept (the default budget of 2 million symbols), the rest sampled: said so.
    assert report["length_generalization"].forms[0].exhaustive_through == 16
    assert "every case through length 16, sampled by Hypothesis beyond" in report.render()


@pytest.mark.parametrize("task", [t for t in BUILTIN_TASKS.values() if t is not parity], ids=lambda t: t.name)
def test_every_exact_built_in_automaton_passes(task):
    report = seqcheck.check(Exact(task), task=task, max_length=60)
    assert report.passed, report.render()
    assert report["length_generalization"].accuracy_by_length[59 if task is modular_arithmetic else 60] == 1.0


@pytest.mark.parametrize(
    ("task", "exact_through", "minimal"),
    [
        (parity, 6, "0 0 0 0 0 0 0"),
        (parity, 15, "0 " * 15 + "0"),
        (cycle_navigation, 3, "-1 -1 -1 -1"),
        (modular_arithmetic, 4, "0 + 0 + 0"),
    ],
    ids=["parity-7", "parity-16", "cycle-navigation-4", "modular-arithmetic-5"],
)
def test_a_late_breaking_automaton_is_reported_at_the_next_length_with_the_minimal_input_confirmed(task, exact_through, minimal):
    model = LateBreaking(task, exact_through)
    report = seqcheck.check(model, task=task, max_length=40, invariants=["length_generalization"])
    result = report["length_generalization"]
    cx = result.counterexample
    assert cx.length == first_length_after(task, exact_through)
    assert list(cx.window.symbols) == first_failing(model, task, range(1, cx.length + 1))  # exhaustive ground truth
    assert cx.window.shown() == minimal
    assert result.failing_form.minimal_confirmed
    assert (cx.expected, cx.predicted) == (task.target(cx.window.symbols), (task.target(cx.window.symbols) + 1) % task.class_count)
    assert f"minimal (oracle):\n       input {minimal}   (length {cx.length})" in report.render()


def first_length_after(task, length):
    return next(n for n in range(length + 1, length + 10) if task.valid_length(n))


@pytest.mark.parametrize("exact_through", [25, 120])
def test_beyond_the_budget_hypothesis_shrinks_to_the_minimal_input_and_the_report_claims_no_more(exact_through):
    report = seqcheck.check(LateBreaking(parity, exact_through), task="parity", train_length=40, max_length=200)
    result = report["length_generalization"]
    cx = result.counterexample
    assert (cx.length, cx.window.symbols) == (exact_through + 1, (0,) * (exact_through + 1))  # the shortlex minimum
    form = result.failing_form
    assert not form.minimal_confirmed and not form.length_confirmed and form.exhaustive_through == 16
    line = next(line for line in report.render().splitlines() if "length generalization" in line)
    assert line.startswith("FAIL length generalization")
    assert "inputs, shrunk by Hypothesis, not confirmed minimal; no failure exhaustively through length 16)" in line
    acc = result.accuracy_by_length
    assert {acc[n] for n in range(1, exact_through + 1)} == {1.0} and {acc[n] for n in range(exact_through + 1, 201)} == {0.0}


def test_the_shortest_failing_length_is_confirmed_when_every_shorter_length_was_swept():
    # Wrong at length 17 only, on the inputs starting with a 1: lengths 1..16 are swept whole, 17 is over the budget.
    def model(batch):
        targets = batch.sum(axis=1) % 2
        if batch.shape[1] == 17:
            targets = np.where(batch[:, 0] == 1, 1 - targets, targets)
        return one_hot(targets, 2)

    report = seqcheck.check(model, task="parity", max_length=24, invariants=["length_generalization"])
    form = report["length_generalization"].failing_form
    assert form.counterexample.window.shown() == "1 0×16"  # shrunk by Hypothesis to the minimum, as it happens
    assert form.exhaustive_through == 16 and form.length_confirmed and not form.minimal_confirmed
    assert "inputs, shortest failing length confirmed exhaustively through length 16; input shrunk by Hypothesis)" in report.render()


class HashedMistakes:
    """Parity, wrong on the inputs of length >= 3 whose hash falls in one bucket of 61: scattered, irregular mistakes."""

    __qualname__ = "hashed_mistakes"

    def __call__(self, batch):
        targets = parity.targets(batch)
        if batch.shape[1] >= 3:
            flip = np.array([hashlib.sha256(row.astype(np.int8).tobytes()).digest()[0] % 61 == 0 for row in batch])
            targets = np.where(flip, 1 - targets, targets)
        return one_hot(targets, 2)


def test_scattered_mistakes_give_the_exhaustive_ground_truths_minimum():
    model = HashedMistakes()
    report = seqcheck.check(model, task="parity", max_length=14, invariants=["length_generalization"])
    cx = report["length_generalization"].counterexample
    assert list(cx.window.symbols) == first_failing(model, parity, range(1, 15))
    assert report["length_generalization"].failing_form.minimal_confirmed
    truth = {n: 1 - float(np.mean(np.argmax(model(x := np.concatenate(list(parity.enumerate(n)))), 1) != parity.targets(x)))
             for n in range(1, 8)}  # every input of lengths up to 7 is in the accuracy table (at most 128 of them)
    assert {n: report["length_generalization"].accuracy_by_length[n] for n in range(1, 8)} == truth


def test_a_model_that_reads_only_the_start_breaks_the_metamorphic_relations_minimally():
    report = seqcheck.check(CountsFromTheStart(8), task="parity", max_length=16)
    lengths = report["length_generalization"].counterexample
    assert lengths.window.shown() == "0 0 0 0 0 0 0 0 1"  # at length 9, the smallest input whose tail holds a 1
    relations = report["metamorphic_relations"]
    cx = relations.counterexample
    # Smaller than any length-9 swap: inserting a 0 in front of 0000 0001 pushes its 1 out of the window.
    assert (cx.form, cx.window.shown(), cx.relation) == ("neutral insertion", "0 0 0 0 0 0 0 1", "insert 0 at position 0")
    assert (cx.window.predicted, cx.other.predicted) == (1, 0)
    assert relations.failing_form.minimal_confirmed
    assert relations.form("permutation").counterexample.relation == "swap positions 0 and 8"


def test_batch_invariance_catches_a_model_whose_answer_depends_on_its_batch():
    def model(batch):
        p = 0.5 + (batch.sum(axis=1) % 2 - 0.5) * 0.9 + 1e-3 * (len(batch) - 1)
        return np.stack([1 - p, p], axis=1)

    report = seqcheck.check(model, task="parity", max_length=12, invariants=["batch_invariance"])
    cx = report["batch_invariance"].counterexample
    assert cx is not None and cx.relation == "the same input alone"
    assert "in a batch of 2 inputs" in cx.detail


def test_stream_only_invariants_are_not_applicable_to_a_sequence_task_and_say_why():
    report = seqcheck.check(Exact(parity), task="parity", max_length=10)
    shift = report["phase_shift_invariance"]
    assert shift.status == "not applicable" and shift.passed
    assert shift.not_applicable == {"task": "defined on stream tasks; task parity is a sequence task"}
    data = report.to_dict()
    assert next(i for i in data["invariants"] if i["name"] == "periodic_consistency")["passed"] is None


def test_a_sequence_check_refuses_options_of_a_pattern():
    with pytest.raises(seqcheck.InvalidArgument, match=r"^baseline='old.json': expected no baseline with task parity"):
        seqcheck.check(Exact(parity), task="parity", baseline="old.json")
    with pytest.raises(seqcheck.InvalidArgument, match=r"^task=None: expected a task to check the model on"):
        seqcheck.check(Exact(parity))
    with pytest.raises(seqcheck.InvalidArgument, match=r"^task='parity': expected either task= or pattern=, not both"):
        seqcheck.check(Exact(parity), task="parity", pattern="11000")


def test_the_json_report_names_the_input_in_the_tasks_symbols():
    data = json.loads(seqcheck.check(LateBreaking(modular_arithmetic, 2), task="modular-arithmetic", max_length=9).to_json())
    lengths = next(i for i in data["invariants"] if i["name"] == "length_generalization")
    cx = lengths["counterexample"]
    assert cx["window"]["text"] == "0 + 0" and cx["window"]["symbols"] == [0, 5, 0] and cx["length"] == 3
    assert lengths["forms"][0]["exhaustive_through"] == 1 and lengths["forms"][0]["minimal_confirmed"] is True
    assert data["reproduce"] == "seqcheck.check(model, task='modular-arithmetic', max_length=9, seed=0)"


def test_the_model_is_only_ever_fed_inputs_of_the_task():
    def strict(batch):  # a perfect model that refuses anything but an expression
        assert batch.shape[1] % 2 == 1, "an even length"
        assert (batch[:, 0::2] <= 4).all() and (batch[:, 1::2] >= 5).all(), "not an expression"
        return one_hot(modular_arithmetic.targets(batch), 5)

    assert seqcheck.check(strict, task="modular-arithmetic", max_length=9).passed


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (lambda s: 5 if sum(s) > 2 else 0, "task='bad': expected an oracle giving a class index 0..1, but target(1 1 1) = 5;"),
        (lambda s: 1 / 0 if len(s) > 3 else 0, "task='bad': expected an oracle that answers every input, but it raised"
                                               " ZeroDivisionError: division by zero on input 0 0 0 0; fix the task's target"),
        (lambda s: None, "task='bad': expected an oracle giving a class index 0..1, but target(0) = None;"),
    ],
    ids=["out-of-range", "raises", "none"],
)
def test_a_broken_oracle_is_the_tasks_one_line_error_not_the_models(target, message):
    bad = seqcheck.tasks.SequenceTask("bad", symbols=["0", "1"], classes=["no", "yes"], target=target)
    with pytest.raises(seqcheck.InvalidArgument) as raised:
        seqcheck.check(lambda batch: one_hot(np.zeros(len(batch), int), 2), task=bad, max_length=6)
    assert str(raised.value).startswith(message)


def test_a_reproduce_line_never_names_a_scripts_own_module(monkeypatch):
    """A task object no module can import is written as a Python name, never as a string that would not resolve."""
    import types

    script = types.ModuleType("__mp_main__")  # what importing TensorFlow makes of a script's __main__
    mine = seqcheck.tasks.SequenceTask("mine", symbols=["0", "1"], classes=["a", "b"], target=lambda s: s[0])
    script.mine = mine
    monkeypatch.setitem(__import__("sys").modules, "__mp_main__", script)
    report = seqcheck.check(lambda batch: one_hot(batch[:, 0], 2), task=mine, max_length=4)
    assert report.reproduce == "seqcheck.check(model, task=task, max_length=4, seed=0)"  # the user's task, by no module


def test_the_same_non_finite_output_in_a_batch_and_alone_is_not_a_batch_effect():
    def model(batch):
        out = one_hot(parity.targets(batch), 2)
        out[batch[:, 0] == 1] = np.nan
        return out

    report = seqcheck.check(model, task="parity", max_length=8, invariants=["batch_invariance", "length_generalization"])
    assert report["batch_invariance"].passed
    assert report["length_generalization"].counterexample.window.describe() == "predicted nothing (non-finite output)"


def test_a_relation_broken_beyond_the_budget_is_shrunk_by_hypothesis_to_its_minimum():
    # Parity of the first 30 symbols: inserting a 0 in front of 0...01 (length 30) pushes the 1 out; no shorter
    # input breaks a relation, and lengths past 15 are beyond the sweep's budget.
    report = seqcheck.check(CountsFromTheStart(30), task="parity", max_length=40, invariants=["metamorphic_relations"])
    result = report["metamorphic_relations"]
    cx = result.counterexample
    assert (cx.form, cx.window.shown(), cx.relation) == ("neutral insertion", "0×29 1", "insert 0 at position 0")
    assert not result.failing_form.minimal_confirmed and result.failing_form.exhaustive_through == 15
