"""A model under test declared once -- model, task or pattern, options -- whose report is computed once."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqcheck.integrations.assertions import assert_holds
from seqcheck.checking import check, chosen_task
from seqcheck.files import write_atomically
from seqcheck.invariants import default_battery, resolve_invariant
from seqcheck.invariants.base import Invariant, InvariantResult
from seqcheck.search.profiles import DEFAULT_PROFILE
from seqcheck.reports.report import Report
from seqcheck.tasks import Task, resolve_task


@dataclass
class Subject:
    """``name`` checked on ``task`` or on ``pattern`` (exactly one); ``model`` is anything :func:`seqcheck.check`
    takes, or a zero-argument function returning it (called on first use, so that a model is loaded or trained
    only by the tests that need it).  ``known_violations`` names invariants expected to fail.

    ``task`` is a sequence task as :func:`seqcheck.check` takes it: a built-in's name (``"parity"``),
    ``"module:attr"`` or a :class:`~seqcheck.tasks.Task`, resolved when the subject is declared; ``train_length``
    is then the longest length trained on.  A subject's battery (:meth:`invariants`) is its task's default one.

    ``baseline`` (a path to the predecessor's JSON report, a :class:`~seqcheck.reports.report.Report` or its
    ``to_dict()``; see :mod:`seqcheck.reports.baseline`) gates the model against its predecessor instead: a violation
    the baseline had too is a known limit, and only a regression fails (``tolerance``: the accuracy
    forgiven).  It is read and validated when the subject is declared.  Baselines compare pattern subjects only."""

    name: str
    model: Any
    pattern: str | None = None
    train_length: int | None = None
    max_length: int | None = None
    seed: int = 0
    profile: str = DEFAULT_PROFILE
    allow_unsafe: bool = False
    engine: str = "auto"
    known_violations: frozenset[str] = frozenset()
    lazy: bool = False
    baseline: Any = None
    tolerance: float = 0.0
    task: str | Task | None = None
    causal: str = "auto"
    _report: Report | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from seqcheck.errors import invalid

        if (self.pattern is None) == (self.task is None):
            both = self.pattern is not None
            raise invalid(
                "task", self.task, f"{'either' if both else 'one of'} task= or pattern= for subject {self.name!r}"
                f"{', not both' if both else ''}", "drop one of them" if both else "pass task='parity' (or your own) or pattern='11000'",
            )
        if self.task is not None:
            task = resolve_task(self.task)  # a typo or a broken module:attr is an error here, not in every test
            if self.baseline is not None or self.tolerance != 0:
                raise invalid(
                    "baseline", self.baseline, f"no baseline with task {task.name}: baselines compare pattern (stream-task) reports",
                    "drop baseline= and compare the reports' accuracy yourself",
                )
        # Identifiers or titles of the built-in invariants, held as identifiers; a typo is an error, not a silent no-op.
        self.known_violations = frozenset(
            resolve_invariant(spec, option="known_violations").name for spec in self.known_violations
        )
        if self.baseline is not None or self.tolerance != 0:
            from seqcheck.reports.baseline import Baseline, check_tolerance
            from seqcheck.errors import invalid

            self.tolerance = check_tolerance(self.tolerance, baseline=self.baseline)
            if self.known_violations:
                raise invalid(
                    "known_violations", sorted(self.known_violations), "no known violations together with a baseline",
                    "drop known_violations: the baseline says which violations are known",
                )
            self.baseline = Baseline.load(self.baseline)  # a malformed baseline is an error here, not in a test

    def resolved_task(self) -> Task:
        """The task the model is checked on: its sequence task, or the stream of its pattern (as :func:`check` has it)."""
        return chosen_task(self.pattern, self.task, None)

    def task_reference(self) -> str | None:
        """How the subject names its sequence task (``parity``, ``module:attr``), ``None`` for a pattern."""
        if self.task is None:
            return None
        from seqcheck.checking import task_reference

        return task_reference(resolve_task(self.task), self.task)

    def invariants(self) -> tuple[Invariant, ...]:
        """The battery run on the subject: its task's default one (a sequence task's adds metamorphic relations)."""
        return default_battery(self.resolved_task())

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
                task=self.task,
                train_length=self.train_length,
                max_length=self.max_length,
                seed=self.seed,
                profile=self.profile,
                allow_unsafe=self.allow_unsafe,
                engine=self.engine,
                causal=self.causal,
                baseline=self.baseline,
                tolerance=self.tolerance,
            )
        return self._report

    def identity(self) -> str:
        """What the report depends on, as text: two subjects with the same identity get the same report."""
        model = os.fspath(self.model) if isinstance(self.model, (str, os.PathLike)) else getattr(
            self.model, "__qualname__", type(self.model).__qualname__
        )
        task = None if self.task is None else self.task if isinstance(self.task, str) else f"{self.task.kind} task {self.task.name}"
        settings = (self.name, model, self.pattern, task, self.train_length, self.max_length, self.seed, self.profile,
                    self.allow_unsafe, self.engine, self.causal, None if self.baseline is None else repr(self.baseline),
                    self.tolerance)
        return json.dumps(settings, default=repr)

    def shared_report(self, folder: Path) -> Report:
        """The report, computed once for every process that shares ``folder`` (pytest-xdist's workers): the first
        to ask computes it under a lock and leaves its JSON there; the others read it back."""
        if self._report is not None:
            return self._report
        from seqcheck.reports.baseline import Baseline, report_from_dict
        from seqcheck.training.cache import locked

        folder.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha256(self.identity().encode()).hexdigest()[:16]
        stored = folder / f"{key}.json"
        with locked(folder / f"{key}.lock"):
            if stored.exists():
                data = json.loads(stored.read_text(encoding="utf-8"))
                report = report_from_dict(data, None if self.task is None else resolve_task(self.task))
                if self.baseline is not None:
                    report.comparison = Baseline.load(self.baseline).compare(report, tolerance=self.tolerance)
                self._report = report
            else:
                write_atomically(stored, self.report().to_json())
        return self._report

    def result(self, invariant: Invariant | str) -> InvariantResult:
        """The result of one invariant, named by itself, its identifier or its title."""
        return self.report()[invariant]

    def assert_holds(self, invariant: Invariant | str | None = None) -> None:
        """Raise :class:`~seqcheck.integrations.assertions.InvariantViolation` with the counterexample if it fails; with a
        baseline, only if it regressed, with the regression's lengths."""
        assert_holds(self.report(), invariant)


def battery_params(subjects: Iterable[Subject], invariants: Sequence[Invariant] | None = None) -> list:
    """``pytest.param(subject, invariant)`` for every pair, over ``invariants`` or each subject's own battery
    (:meth:`Subject.invariants`: its task's default one); a known violation is a strict xfail."""
    import pytest

    params = []
    for subject in subjects:
        for invariant in subject.invariants() if invariants is None else invariants:
            marks = []
            if invariant.name in subject.known_violations:
                reason = f"{subject.name} is known to violate {invariant.title}"
                marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))
            params.append(pytest.param(subject, invariant, marks=marks, id=f"{subject.name}-{invariant.name}"))
    return params


def battery(*subjects: Subject, invariants: Sequence[Invariant] | None = None):
    """Declare models under test once and run the whole battery on each, one test per invariant (by default
    each subject's task's battery, :meth:`Subject.invariants`)::

        MY_MODEL = seqcheck.Subject("next-bit", "models/next_bit.keras", pattern="11000", train_length=10)
        PARITY = seqcheck.Subject("parity", "models/parity.keras", task="parity", train_length=10)

        @seqcheck.battery(MY_MODEL, PARITY)
        def test_next_bit_model(seqcheck_result):
            seqcheck.assert_holds(seqcheck_result)

    A ``pytest.mark.parametrize`` over the fixtures ``seqcheck_subject`` and ``seqcheck_invariant``
    (which the plugin's ``seqcheck_result`` fixture turns into the invariant's result).
    """
    import pytest

    return pytest.mark.parametrize(("seqcheck_subject", "seqcheck_invariant"), battery_params(subjects, invariants))
