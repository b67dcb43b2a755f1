"""Diagnoses: a known cause named only when the evidence for it holds."""

from __future__ import annotations

from seqcheck.invariants.base import InvariantResult
from seqcheck.invariants.length_generalization import NAME as LENGTH_GENERALIZATION
from seqcheck.invariants.phase_shift import NAME as PHASE_SHIFT
from seqcheck.space import CheckSpace


def _by_name(results: list[InvariantResult]) -> dict[str, InvariantResult]:
    return {r.name: r for r in results}


def start_anchored(results: list[InvariantResult], space: CheckSpace) -> str | None:
    """The model counts from the window start: it predicts ``s[phase + N]`` whatever the length.

    Evidence, all required: a training length ``N`` at which every phase is right; label-free
    phase-shift invariance fails; and from ``N`` on, for two more periods, accuracy by length
    repeats with the period (``acc[L] == acc[L + p]``) while falling below 1.0 within the first
    period after ``N``.  Whole periods prepended near ``N`` change nothing, moving the start does.
    """
    found = _by_name(results)
    shift, lengths = found.get(PHASE_SHIFT), found.get(LENGTH_GENERALIZATION)
    n, p = space.train_length, space.pattern.period
    if n is None or shift is None or lengths is None or lengths.accuracy_by_length is None:
        return None
    if next((f.passed for f in shift.forms if f.form == "label-free"), True):
        return None
    acc = lengths.accuracy_by_length
    span = [length for length in range(n, n + 2 * p) if length in acc and length + p in acc]
    if acc.get(n) != 1.0 or len(span) < 2 * p:
        return None
    if any(acc[length] != acc[length + p] for length in span) or min(acc[length] for length in range(n, n + p)) == 1.0:
        return None
    return (
        f"predictions follow the window length modulo {p}, not the input: the model counts from the window start."
        " Train on varied lengths and offsets."
    )


DIAGNOSES = (start_anchored,)


def diagnose(results: list[InvariantResult], space: CheckSpace) -> list[str]:
    """Every diagnosis whose evidence holds, in the order of :data:`DIAGNOSES`."""
    return [text for rule in DIAGNOSES if (text := rule(results, space))]
