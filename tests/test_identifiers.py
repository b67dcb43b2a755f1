"""Invariants have one stable identifier (the Python name) and a title for people; every API takes both."""

from __future__ import annotations

import json

import pytest

import seqcheck
from tests.handmade import StartAnchored

MODEL = StartAnchored("11000", train_length=10)


@pytest.fixture(scope="module")
def report():
    return seqcheck.check(MODEL, pattern="11000", train_length=10, invariants=["length_generalization", "phase-shift invariance"])


def test_invariants_are_chosen_by_identifier_title_or_object(report):
    assert [r.name for r in report.results] == ["length_generalization", "phase_shift_invariance"]
    assert [r.title for r in report.results] == ["length generalization", "phase-shift invariance"]
    by_object = seqcheck.check(MODEL, pattern="11000", train_length=10, invariants=seqcheck.length_generalization)
    assert [r.name for r in by_object.results] == ["length_generalization"]


def test_a_report_is_indexed_by_identifier_title_or_object(report):
    result = report["length_generalization"]
    assert report["length generalization"] is result and report[seqcheck.length_generalization] is result
    with pytest.raises(KeyError, match="no invariant named 'length' in this report; it has length_generalization, phase_shift_invariance"):
        report["length"]


def test_the_json_report_carries_the_identifier_and_the_title(report):
    entry = json.loads(report.to_json())["invariants"][0]
    assert (entry["name"], entry["title"], entry["counterexample"]["invariant"]) == (
        "length_generalization", "length generalization", "length_generalization"
    )
    assert "FAIL length generalization" in report.render()  # people read titles


def test_an_unknown_invariant_is_one_line_listing_the_valid_ones():
    expected = (
        "invariants='length': expected one of phase_shift_invariance, length_generalization, periodic_consistency,"
        " batch_invariance, metamorphic_relations (or their titles, such as 'phase-shift invariance'); name an invariant by its identifier"
    )
    with pytest.raises(seqcheck.InvalidArgument) as raised:
        seqcheck.check(MODEL, pattern="11000", invariants=["length"])
    assert str(raised.value) == expected


def test_known_violations_take_identifiers_or_titles_and_refuse_typos():
    subject = seqcheck.Subject("m", MODEL, pattern="11000", known_violations={"length_generalization", "phase-shift invariance"})
    assert subject.known_violations == {"length_generalization", "phase_shift_invariance"}
    with pytest.raises(seqcheck.InvalidArgument, match=r"^known_violations='length-generalisation': expected one of"):
        seqcheck.Subject("m", MODEL, pattern="11000", known_violations={"length-generalisation"})


def test_a_subjects_result_by_either_name():
    subject = seqcheck.Subject("m", MODEL, pattern="11000", train_length=10)
    assert subject.result("periodic_consistency") is subject.result("periodic consistency")
