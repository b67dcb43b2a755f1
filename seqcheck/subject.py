"""A model under test declared once -- model, pattern, options -- whose report is computed once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seqcheck.assertions import assert_holds
from seqcheck.checking import check
from seqcheck.invariants.base import Invariant, InvariantResult
from seqcheck.report import Report


@dataclass
class Subject:
    """``name`` checked on ``pattern``; ``model`` is anything :func:`seqcheck.check` takes, or a
    zero-argument function returning it (called on first use, so that a model is loaded or trained
    only by the tests that need it).  ``known_violations`` names invariants expected to fail."""

    name: str
    model: Any
    pattern: str
    train_length: int | None = None
    max_length: int | None = None
    seed: int = 0
    allow_unsafe: bool = False
    known_violations: frozenset[str] = frozenset()
    lazy: bool = False
    _report: Report | None = field(default=None, repr=False)

    @classmethod
    def deferred(cls, name: str, load: Callable[[], Any], **options: Any) -> Subject:
        return cls(name, load, lazy=True, **options)

    def report(self) -> Report:
        """The full battery's report, computed on first call."""
        if self._report is None:
            model = self.model() if self.lazy else self.model
            self._report = check(
                model,
                pattern=self.pattern,
                train_length=self.train_length,
                max_length=self.max_length,
                seed=self.seed,
                allow_unsafe=self.allow_unsafe,
            )
        return self._report

    def result(self, invariant: Invariant | str) -> InvariantResult:
        return self.report()[invariant if isinstance(invariant, str) else invariant.name]

    def assert_holds(self, invariant: Invariant | str | None = None) -> None:
        """Raise :class:`~seqcheck.assertions.InvariantViolation` with the counterexample if it fails."""
        name = None if invariant is None else invariant if isinstance(invariant, str) else invariant.name
        assert_holds(self.report(), name)
