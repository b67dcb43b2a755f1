"""Diagnoses: a known cause named only when the evidence for it holds."""

from __future__ import annotations

from seqcheck.invariants.base import InvariantResult
from seqcheck.invariants.length_generalization import NAME as LENGTH_GENERALIZATION
from seqcheck.invariants.phase_shift import NAME as PHASE_SHIFT
from seqcheck.search.space import CheckSpace
from seqcheck.spelling import spell


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


def _split(acc: dict[int, float]) -> tuple[list[int], list[int]]:
    lengths = sorted(acc)
    return lengths, [length for length in lengths if acc[length] < 1.0]


def short_context(results: list[InvariantResult], space: CheckSpace) -> str | None:
    """The model needs more context than the pattern does.

    Evidence: some window is wrong at every length from the shortest checked up to ``S``, and
    every window longer than ``S`` is right.
    """
    lengths = _by_name(results).get(LENGTH_GENERALIZATION)
    if lengths is None or lengths.accuracy_by_length is None:
        return None
    ordered, failing = _split(lengths.accuracy_by_length)
    if not failing or failing != ordered[: len(failing)] or len(failing) == len(ordered):
        return None
    longest = failing[-1]
    return (
        f"wrong only at the shortest lengths ({ordered[0]}..{longest}), right at every longer one: the model needs"
        f" {longest + 1} symbols of context where the pattern needs {space.pattern.min_context}."
        f" Train on shorter windows too, or check from --min-length {longest + 1} if that is by design."
    )


def long_length_breakdown(results: list[InvariantResult], space: CheckSpace) -> str | None:
    """The model breaks down beyond some length.

    Evidence: every window up to length ``B`` is right, some window is wrong at every length beyond
    ``B``, and ``B`` reaches past the training length by more than a period (so that it is not the
    start-anchored pattern).
    """
    lengths = _by_name(results).get(LENGTH_GENERALIZATION)
    if lengths is None or lengths.accuracy_by_length is None:
        return None
    ordered, failing = _split(lengths.accuracy_by_length)
    if not failing or failing != ordered[len(ordered) - len(failing) :] or len(failing) == len(ordered):
        return None
    last_right = failing[0] - 1
    if space.train_length is not None and last_right < space.train_length + space.pattern.period:
        return None
    return (
        f"right at every length up to {last_right}, wrong at every length beyond it: a long-length breakdown."
        f" Train on longer windows, or state {last_right} as the model's limit (--max-length {last_right})."
    )


DIAGNOSES = (start_anchored, short_context, long_length_breakdown)


def diagnose(results: list[InvariantResult], space: CheckSpace) -> list[str]:
    """Every diagnosis whose evidence holds, in the order of :data:`DIAGNOSES`."""
    return [text for rule in DIAGNOSES if (text := rule(results, space))]


def wrong_at_training_length(results: list[InvariantResult], space: CheckSpace) -> str | None:
    """Evidence: some window of the training length itself is wrong, where a trained model is usually right."""
    lengths = _by_name(results).get(LENGTH_GENERALIZATION)
    n = space.train_length
    if n is None or lengths is None or not lengths.accuracy_by_length or lengths.accuracy_by_length.get(n, 1.0) == 1.0:
        return None
    return (
        f"the model is wrong at its own training length {n} (accuracy {lengths.accuracy_by_length[n]:.2f}):"
        f" is {space.pattern} the pattern it was trained on, and {n} its training length?"
    )


def no_training_length(results: list[InvariantResult], space: CheckSpace) -> str | None:
    """Evidence: an invariant failed, and without a training length no diagnosis can name a cause."""
    if space.train_length is not None or all(result.passed for result in results):
        return None
    return f"give {spell('train_length')} for a diagnosis of the failure's cause"


HINTS = (wrong_at_training_length, no_training_length)


def hints(results: list[InvariantResult], space: CheckSpace) -> list[str]:
    """What to look at next, where the evidence points at the check's own settings."""
    return [text for rule in HINTS if (text := rule(results, space))]
