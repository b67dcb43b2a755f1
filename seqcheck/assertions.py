"""Assertion helpers for test authors: a violation fails the test with the readable counterexample."""

from __future__ import annotations

from seqcheck.invariants.base import InvariantResult
from seqcheck.report import Report


class InvariantViolation(AssertionError):
    """An invariant does not hold; the message is the minimal counterexample and how to reproduce it."""

    def __init__(self, result: InvariantResult, reproduce: str = ""):
        self.result = result
        self.counterexample = result.counterexample
        super().__init__(violation_message(result, reproduce))


def violation_message(result: InvariantResult, reproduce: str = "") -> str:
    cx = result.counterexample
    failing = ", ".join(f.form for f in result.forms if not f.passed)
    lines = [f"{result.name} violated ({failing})"]
    if cx is not None:
        lines += ["  " + line for line in cx.lines()]
    if reproduce:
        lines.append(f"reproduce: {reproduce}")
    return "\n".join(lines)


def assert_holds(outcome: Report | InvariantResult, invariant: str | None = None) -> None:
    """Raise :class:`InvariantViolation` unless ``outcome`` (a report, or one invariant's result) holds.

    With a report, ``invariant`` names the one invariant to assert; without it, every invariant.
    """
    if isinstance(outcome, InvariantResult):
        if not outcome.passed:
            raise InvariantViolation(outcome)
        return
    results = [outcome[invariant]] if invariant is not None else outcome.results
    for result in results:
        if not result.passed:
            raise InvariantViolation(result, outcome.reproduce)
