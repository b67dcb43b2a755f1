"""Diagnoses: a known cause named only when the evidence for it holds."""

from __future__ import annotations

from seqcheck.invariants.base import InvariantResult
from seqcheck.invariants.length_generalization import NAME as LENGTH_GENERALIZATION
from seqcheck.invariants.periodic_consistency import NAME as PERIODIC_CONSISTENCY
from seqcheck.invariants.phase_shift import NAME as PHASE_SHIFT
from seqcheck.space import CheckSpace


def _by_name(results: list[InvariantResult]) -> dict[str, InvariantResult]:
    return {r.name: r for r in results}


def start_anchored(results: list[InvariantResult], space: CheckSpace) -> str | None:
    """The model counts from the window start.

    Evidence: phase-shift invariance fails (label-free), prepending whole periods never changes a
    prediction, and accuracy by length repeats with the period while falling below 1.0 somewhere.
    """
    found = _by_name(results)
    shift, periodic, lengths = found.get(PHASE_SHIFT), found.get(PERIODIC_CONSISTENCY), found.get(LENGTH_GENERALIZATION)
    if shift is None or periodic is None or lengths is None or lengths.accuracy_by_length is None:
        return None
    label_free = [f for f in shift.forms if f.form == "label-free"]
    prepend = [f for f in periodic.forms if f.form == "prepend-a-period"]
    if not label_free or label_free[0].passed or not prepend or not prepend[0].passed:
        return None
    acc = lengths.accuracy_by_length
    p = space.pattern.period
    periodic_in_length = all(acc[length] == acc[length + p] for length in acc if length + p in acc)
    if not periodic_in_length or min(acc.values()) == 1.0:
        return None
    return (
        f"predictions follow the window length modulo {p}, not the input: the model counts from the window start."
        " Train on varied lengths and offsets."
    )


DIAGNOSES = (start_anchored,)


def diagnose(results: list[InvariantResult], space: CheckSpace) -> list[str]:
    """Every diagnosis whose evidence holds, in the order of :data:`DIAGNOSES`."""
    return [text for rule in DIAGNOSES if (text := rule(results, space))]
