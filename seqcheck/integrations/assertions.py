"""Assertion helpers for test authors: a violation fails the test with the readable counterexample."""

from __future__ import annotations

import sys

from seqcheck.invariants.base import InvariantResult
from seqcheck.reports.report import Report, counterexample_heading


class InvariantViolation(AssertionError):
    """An invariant does not hold; the message is the minimal counterexample and how to reproduce it."""

    def __init__(self, result: InvariantResult):
        self.result = result
        self.counterexample = result.counterexample
        super().__init__(violation_message(result))


def violation_message(result: InvariantResult) -> str:
    cx = result.counterexample
    failing = ", ".join(f.form for f in result.forms if not f.passed)
    lines = [f"{result.title} violated ({failing})"]
    if cx is not None:
        lines.append(counterexample_heading(result))
        lines += ["  " + line for line in cx.lines()]
    if result.reproduce:
        lines.append(f"reproduce: {result.reproduce}")
    return "\n".join(lines)


def assert_holds(outcome: Report | InvariantResult, invariant: str | None = None) -> None:
    """Raise :class:`InvariantViolation` unless ``outcome`` (a report, or one invariant's result) holds.

    With a report, ``invariant`` names the one invariant to assert; without it, every invariant.  A
    report checked against a baseline (its ``comparison``) fails only on a regression: a violation the
    baseline had too, no worse, is a known limit.
    """
    __tracebackhide__ = True
    if isinstance(outcome, InvariantResult):
        if not outcome.passed:
            raise InvariantViolation(outcome)
        if not outcome.applicable and "pytest" in sys.modules:  # nothing was tried: say so rather than pass
            import pytest

            pytest.skip(f"{outcome.title} is not applicable: {outcome.why_not_applicable()}")
        return
    if outcome.comparison is not None:
        from seqcheck.reports.baseline import regression_error

        error = regression_error(outcome, invariant)
        if error is not None:
            raise error
        return
    results = [outcome[invariant]] if invariant is not None else outcome.results
    for result in results:
        if not result.passed:
            raise InvariantViolation(result)
