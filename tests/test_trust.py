"""Claims a CI gate can trust: every minimum against a brute force, no claim beyond what ran.

- the minimal counterexample of every pair form (label-free and oracle, start shifts and whole
  periods) equals a brute-force sweep of direct calls, on random models;
- an invariant's counterexample is the smallest across its forms;
- an invariant with no case is "not applicable", never a pass;
- over the sweep budget, nothing is called minimal or exhaustive;
- the closed loop runs until its window holds only the model's own outputs.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

import seqcheck
from seqcheck import Pattern
from tests.handmade import ExactRule, StartAnchored, _Rule
from tests.test_invariants import brute_same_end_pairs


def content_hash(row, salt: int) -> int:
    """A deterministic pseudo-random number for a window's content."""
    return zlib.crc32(bytes(np.asarray(row, dtype=np.int8)) + salt.to_bytes(4, "little"))


class RandomByContent:
    """A deterministic model answering a pseudo-random symbol for each window content: violations everywhere."""

    def __init__(self, alphabet_size: int, salt: int):
        self.k, self.salt = alphabet_size, salt

    def __call__(self, batch):
        out = np.zeros((len(batch), self.k))
        for i, row in enumerate(np.asarray(batch)):
            out[i, content_hash(row, self.salt) % self.k] = 1.0
        return out


class FlipsSomeWindows(_Rule):
    """Exact, except on a pseudo-random tenth of window contents, where it answers another symbol."""

    def __init__(self, pattern: str, salt: int):
        super().__init__(pattern)
        self.salt = salt

    def predict(self, batch):
        right = self.symbols(self.end_phase(batch))
        flip = np.array([content_hash(row, self.salt) % 10 == 0 for row in batch])
        return np.where(flip, (right + 1) % self.pattern.alphabet_size, right)


def _random_cases(count: int) -> list[tuple[str, int, int | None, int]]:
    """(pattern, salt, train_length, max_length) drawn from a fixed seed (seqcheck.check runs Hypothesis itself,
    so it cannot run inside a @given test)."""
    rng = np.random.default_rng(2026)
    patterns = ["11000", "01", "0012", "1101000"]
    return [
        (patterns[i % len(patterns)], int(rng.integers(0, 2**16)),
         None if i % 3 == 0 else int(rng.integers(3, 15)), int(rng.integers(8, 17)))
        for i in range(count)
    ]


@pytest.mark.parametrize("sparse", [False, True], ids=["random", "mostly-exact"])
@pytest.mark.parametrize(("pattern", "salt", "train_length", "max_length"), _random_cases(12))
def test_pair_forms_report_the_brute_force_minimum(pattern, salt, train_length, max_length, sparse):
    parsed = Pattern.parse(pattern)
    model = FlipsSomeWindows(pattern, salt) if sparse else RandomByContent(parsed.alphabet_size, salt)
    min_length = parsed.min_context
    report = seqcheck.check(model, pattern=pattern, train_length=train_length, max_length=max_length,
                            invariants=[seqcheck.phase_shift_invariance, seqcheck.periodic_consistency], max_examples=10)
    for invariant, form, unit, oracle in (
        ("phase-shift invariance", "label-free", 1, False),
        ("phase-shift invariance", "oracle", 1, True),
        ("periodic consistency", "prepend-a-period", parsed.period, False),
    ):
        result = report[invariant]
        if form in result.not_applicable:
            assert max_length - unit < min_length
            continue
        expected = brute_same_end_pairs(model, pattern, min_length=min_length, max_length=max_length,
                                        train_length=train_length, unit=unit, oracle=oracle)
        found = result.form(form)
        got = None if found.passed else (found.case[0], found.case[1], found.case[2])
        assert got == expected, (invariant, form)
        if expected is not None:
            cx = found.counterexample
            assert found.minimal_confirmed
            assert (cx.length, cx.window.length, cx.other.length, cx.phase) == (
                expected[0], expected[0] + expected[1] * unit, expected[0], expected[2]
            )


class ComplementUpTo(_Rule):
    """Predicts the other binary symbol on every window up to ``limit`` symbols, the target on longer ones."""

    def __init__(self, pattern: str, limit: int):
        super().__init__(pattern)
        self.limit = limit

    def predict(self, batch):
        right = self.symbols(self.end_phase(batch))
        return 1 - right if batch.shape[1] <= self.limit else right


def test_an_invariants_counterexample_is_the_smallest_across_its_forms():
    """Wrong on both windows of (10, start +1): no label-free violation there, but an oracle one, which comes first."""
    model = ComplementUpTo("11000", limit=11)
    result = seqcheck.check(model, pattern="11000", train_length=10, invariants=[seqcheck.phase_shift_invariance])[
        "phase-shift invariance"
    ]
    label_free, oracle = result.form("label-free"), result.form("oracle")
    assert label_free.case[:2] == (10, 2) and oracle.case[:2] == (10, 1)
    assert result.counterexample.form == "oracle"
    assert (result.counterexample.length, result.counterexample.window.length) == (10, 11)


def test_an_invariant_with_no_case_is_not_applicable_in_text_and_json():
    report = seqcheck.check(ExactRule("11000"), pattern="11000", train_length=10, min_length=10, max_length=10)
    shift = report["phase-shift invariance"]
    assert shift.status == "not applicable" and not shift.exhaustive and shift.forms == []
    assert set(shift.not_applicable) == {"label-free", "oracle"}
    assert report["periodic consistency"].status == "pass"  # the closed loop still has cases at length 10
    assert "prepend-a-period" in report["periodic consistency"].not_applicable
    text = report.render()
    assert "n/a  phase-shift invariance   (not applicable, no case applies: label-free: no two lengths 1 apart in 10..10" in text
    assert "every case in range" not in next(line for line in text.splitlines() if line.startswith("n/a  phase-shift"))
    data = json.loads(report.to_json())
    entry = next(i for i in data["invariants"] if i["name"] == "phase_shift_invariance")
    assert (entry["status"], entry["passed"], entry["exhaustive"], entry["windows"]) == ("not applicable", None, False, 0)
    assert report.passed  # nothing is violated: a gate exits 0


def test_over_the_budget_nothing_is_called_minimal_or_exhaustive():
    model = StartAnchored("11000", train_length=10)
    report = seqcheck.check(model, pattern="11000", train_length=10, exhaustive_budget=10,
                            invariants=[seqcheck.length_generalization, seqcheck.phase_shift_invariance])
    for result in report.results:
        assert not result.passed and not result.exhaustive
        assert not any(form.minimal_confirmed or form.exhaustive for form in result.forms)
        assert result.accuracy_by_length is None  # a table would claim every window ran
    text = report.render()
    assert "minimal (" not in text and "minimum confirmed" not in text
    assert text.count("shrunk by Hypothesis, not confirmed minimal") == 2
    assert "counterexample (shrunk by Hypothesis) (oracle):" in text
    assert any("over exhaustive_budget=10 symbols" in note and "length generalization (oracle)" in note for note in report.notes)
    data = json.loads(report.to_json())
    assert not any(form["minimal_confirmed"] for inv in data["invariants"] for form in inv["forms"])


def test_within_the_budget_the_same_check_is_minimal_and_says_so():
    report = seqcheck.check(StartAnchored("11000", 10), pattern="11000", train_length=10,
                            invariants=[seqcheck.length_generalization])
    assert report["length generalization"].form("oracle").minimal_confirmed
    assert "minimal (oracle):" in report.render() and not any("exhaustive_budget" in note for note in report.notes)


class LastTwoSymbols(_Rule):
    """Answers from the last two symbols only: `0 0` is followed by 0 or 1 in 11000, and it always says 0."""

    def predict(self, batch):
        table = {(1, 1): 0, (1, 0): 0, (0, 0): 0, (0, 1): 1}
        return np.array([table[tuple(row[-2:])] for row in batch])


def test_the_closed_loop_catches_a_model_that_collapses_on_its_own_outputs():
    report = seqcheck.check(LastTwoSymbols("11000"), pattern="11000", train_length=10,
                            invariants=[seqcheck.periodic_consistency])
    loop = report["periodic consistency"].form("closed loop")
    assert not loop.passed and loop.minimal_confirmed
    cx = loop.counterexample
    assert (cx.length, cx.phase) == (10, 0)  # nearest the training length, smallest phase
    assert cx.detail == (
        "closed loop, sliding window of length 10: generated 0 0 0 0 0; expected period 5:"
        " the first 5 generated symbols repeat every 1 steps, not 5"
    )


class NaNBeyond(ExactRule):
    """Exact up to ``limit`` symbols; NaN, no prediction at all, on longer windows."""

    def __init__(self, pattern: str, limit: int):
        super().__init__(pattern)
        self.limit = limit

    def __call__(self, batch):
        out = super().__call__(batch)
        return out if np.shape(batch)[1] <= self.limit else np.full_like(out, np.nan)


def test_a_pair_with_no_prediction_breaks_even_when_both_windows_have_none():
    report = seqcheck.check(NaNBeyond("11000", limit=12), pattern="11000", train_length=10, max_length=20,
                            invariants=[seqcheck.phase_shift_invariance])
    label_free = report["phase-shift invariance"].form("label-free")
    assert label_free.case == (10, 3, 0)  # the nearest partner of length 10 with no prediction: length 13
    report = seqcheck.check(NaNBeyond("11000", limit=2), pattern="11000", train_length=10, max_length=20,
                            invariants=[seqcheck.phase_shift_invariance])
    assert report["phase-shift invariance"].form("label-free").case == (10, 1, 0)  # NaN against NaN


class BreaksOnItsOwnOutputs(_Rule):
    """Copies the symbol a period back while its window still holds `1 1`, which only the real stream's part of
    a closed loop's window does, and the opposite symbol after.  One stream window, phase 0 at length 20, it
    answers wrong, so that a closed loop from there generates `0 1 0 0 0` repeated while its window still holds
    stream symbols, and breaks the period at step 17, once the window holds only the model's own outputs: a
    closed loop of 2p = 10 steps would pass it."""

    def predict(self, batch):
        first = tuple(self.pattern.window(0, 20))
        out = []
        for row in map(tuple, batch):
            holds_stream = any(a == b == 1 for a, b in zip(row, row[1:]))
            out.append(0 if row == first else row[-5] if holds_stream else 1 - row[-5])
        return np.array(out)


def test_the_closed_loop_runs_until_its_window_holds_only_the_models_own_outputs():
    report = seqcheck.check(BreaksOnItsOwnOutputs("11000"), pattern="11000", min_length=20, max_length=20,
                            invariants=[seqcheck.periodic_consistency])
    loop = report["periodic consistency"].form("closed loop")
    assert not loop.passed
    assert (loop.counterexample.length, loop.counterexample.phase) == (20, 0)
    assert loop.counterexample.detail.endswith("generated 0 1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 0; expected period 5: step 17 generated 0 but step 12 generated 1")
