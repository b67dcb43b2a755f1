"""What every invariant shares: forms, cases in a documented order, results and counterexamples.

An :class:`Invariant` is a list of :class:`Form` objects (say, a label-free form and an oracle
form).  A form defines a space of *cases* (a window, a pair of windows, a rollout, a batch), a
Hypothesis strategy over them that shrinks in the documented order, an order key, and a vectorized
test of which cases violate it.  :mod:`seqcheck.search` runs a form; the invariant gathers its
forms' results.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from seqcheck import strategies
from seqcheck.evaluation import INVALID, Evaluator
from seqcheck.space import CheckSpace

Case = tuple


def symbols_text(symbols: Sequence[int]) -> str:
    return " ".join(str(int(s)) for s in symbols)


@dataclass(frozen=True)
class Prediction:
    """One window the model was asked about, with what it predicted."""

    symbols: tuple[int, ...]
    length: int
    phase: int | None  # None for a window that is not part of the pattern's stream
    expected: int | None
    predicted: int
    confidence: float

    def describe(self) -> str:
        if self.predicted == INVALID:
            return "predicted nothing (non-finite output)"
        return f"predicted {self.predicted} (p={self.confidence:.2f})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "phase": self.phase,
            "window": list(self.symbols),
            "expected": self.expected,
            "predicted": None if self.predicted == INVALID else self.predicted,
            "confidence": None if np.isnan(self.confidence) else round(float(self.confidence), 6),
        }


@dataclass(frozen=True)
class Counterexample:
    """The minimal case that breaks an invariant, in words and numbers.

    ``window`` is the window judged wrong; ``other`` the window it was compared with (label-free
    forms), and ``relation`` says how the two relate ("same end, start +1").
    """

    invariant: str
    form: str
    window: Prediction
    other: Prediction | None = None
    relation: str = ""
    detail: str = ""

    @property
    def length(self) -> int:
        return self.window.length

    @property
    def phase(self) -> int | None:
        return self.window.phase

    @property
    def expected(self) -> int | None:
        return self.window.expected

    @property
    def predicted(self) -> int:
        return self.window.predicted

    def lines(self) -> list[str]:
        w = self.window
        where = f"(length {w.length}, phase {w.phase})" if w.phase is not None else f"(length {w.length})"
        first = f"window {symbols_text(w.symbols)}   {where}  -> {w.describe()}"
        if self.other is None and w.expected is not None:
            first += f"; expected {w.expected}"
        out = [first]
        if self.other is not None:
            o = self.other
            second = f"{self.relation}: length {o.length}" if self.relation else f"length {o.length}"
            second += f"  -> {o.describe()}"
            if o.expected is not None:
                second += f"; expected {o.expected}"
            out.append(second)
        if self.detail:
            out.append(self.detail)
        return out

    def to_dict(self) -> dict[str, Any]:
        data = {"invariant": self.invariant, "form": self.form, **self.window.to_dict()}
        data["other"] = None if self.other is None else self.other.to_dict()
        data["relation"] = self.relation or None
        data["detail"] = self.detail or None
        return data


@dataclass
class FormResult:
    """The outcome of searching one form of an invariant."""

    form: str
    passed: bool
    cases: int
    windows: int
    exhaustive: bool
    counterexample: Counterexample | None = None
    minimal_confirmed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "passed": self.passed,
            "cases": self.cases,
            "windows": self.windows,
            "exhaustive": self.exhaustive,
            "minimal_confirmed": self.minimal_confirmed,
            "counterexample": None if self.counterexample is None else self.counterexample.to_dict(),
        }


@dataclass
class InvariantResult:
    """Passed or not, how much was tried, and the minimal counterexample of the first failing form."""

    name: str
    forms: list[FormResult]
    accuracy_by_length: dict[int, float] | None = None
    #: For each length, whether each phase's window predicts its target (oracle invariants only).
    correct_by_length: dict[int, tuple[bool, ...]] | None = None
    reproduce: str = ""

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.forms)

    @property
    def counterexample(self) -> Counterexample | None:
        return next((f.counterexample for f in self.forms if not f.passed), None)

    @property
    def windows(self) -> int:
        return sum(f.windows for f in self.forms)

    @property
    def exhaustive(self) -> bool:
        return all(f.exhaustive for f in self.forms)

    def form(self, name: str) -> FormResult:
        return next(f for f in self.forms if f.form == name)

    def to_dict(self) -> dict[str, Any]:
        cx = self.counterexample
        return {
            "name": self.name,
            "passed": self.passed,
            "windows": self.windows,
            "exhaustive": self.exhaustive,
            "counterexample": None if cx is None else cx.to_dict(),
            "forms": [f.to_dict() for f in self.forms],
            "accuracy_by_length": None
            if self.accuracy_by_length is None
            else {str(k): v for k, v in self.accuracy_by_length.items()},
            "correct_by_length": None
            if self.correct_by_length is None
            else {str(k): [int(c) for c in v] for k, v in self.correct_by_length.items()},
        }


@dataclass
class Context:
    """Everything a form needs to run: the space, the memoized model, and the search settings."""

    space: CheckSpace
    evaluator: Evaluator
    search_settings: settings
    seed: int = 0
    exhaustive_budget: int = 20_000_000
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pattern(self):
        return self.space.pattern

    def prediction(self, phase: int, length: int) -> Prediction:
        """The model's prediction for ``window(phase, length)`` of the stream."""
        phase %= self.pattern.period
        _, predicted, confidence = self.evaluator.stream(length)
        return Prediction(
            symbols=tuple(int(s) for s in self.pattern.window(phase, length)),
            length=length,
            phase=phase,
            expected=self.pattern.target(phase, length),
            predicted=int(predicted[phase]),
            confidence=float(confidence[phase]),
        )


class Form(ABC):
    """One way of checking an invariant: a space of cases, an order, a strategy and a test."""

    name: str = "form"

    @abstractmethod
    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        """Cases drawn by Hypothesis; shrinking follows :meth:`key`."""

    @abstractmethod
    def key(self, ctx: Context, case: Case) -> tuple:
        """Order key: the minimal counterexample is the violating case with the smallest key."""

    @abstractmethod
    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        """Boolean mask: which of ``cases`` violate the form."""

    @abstractmethod
    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        """Describe a violating case."""

    def blocks(self, ctx: Context) -> Iterator[list[Case]] | None:
        """Every case, in key order, in blocks evaluated together; ``None`` if the space is not finite."""
        return None

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return 1

    def applies(self, ctx: Context) -> bool:
        """Whether the space holds any case at all (a pair needs two lengths, for instance)."""
        return True


class Invariant:
    """A named behaviour a sequence model must have, checked through one or more forms.

    Subclasses set ``name`` and ``forms`` and state the definition in their docstring.
    """

    name: str = "invariant"
    forms: tuple[Form, ...] = ()

    def finish(self, ctx: Context, result: InvariantResult) -> InvariantResult:
        """Add what the invariant reports beyond its forms' outcomes (accuracy by length, say)."""
        return result

    def __repr__(self) -> str:
        return f"<invariant {self.name}: {', '.join(f.name for f in self.forms)}>"


class WindowForm(Form):
    """A form whose cases are the stream's windows ``(length, phase)``, ordered by length then phase."""

    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        space = ctx.space
        lengths = strategies.lengths(min_length=space.min_length, max_length=space.max_length, train_length=space.train_length)
        return st.tuples(lengths, strategies.phases(ctx.pattern))

    def key(self, ctx: Context, case: Case) -> tuple:
        length, phase = case
        return (*ctx.space.length_key(length), phase)

    def blocks(self, ctx: Context) -> Iterator[list[Case]]:
        for length in ctx.space.lengths_in_order():
            yield [(length, phase) for phase in range(ctx.pattern.period)]
