"""What every invariant shares: forms, cases in a documented order, results and counterexamples.

An :class:`Invariant` is a list of :class:`Form` objects (say, a label-free form and an oracle
form).  A form defines a space of *cases* (a window, a pair of windows, a rollout, a batch), a
Hypothesis strategy over them that shrinks in the documented order, an order key, and a vectorized
test of which cases violate it.  :mod:`seqcheck.search.runner` runs a form; the invariant gathers its
forms' results.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from collections.abc import Callable
from random import Random

import numpy as np
from hypothesis import find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from seqcheck import strategies
from seqcheck.search.evaluation import INVALID, Evaluator
from seqcheck.search.space import CheckSpace, SequenceSpace
from seqcheck.tasks.base import STREAM, Task

Case = tuple

#: In an input longer than :data:`LONG_INPUT` symbols, runs of more than :data:`RUN` equal symbols are shown as
#: ``symbol×count`` in a sequence task's counterexample.
LONG_INPUT, RUN = 16, 4


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
    #: A sequence task's input in its symbol names (``1 + 2 * 3``), and the names of its classes; empty for a stream.
    text: str = ""
    class_names: tuple[str, ...] = ()

    def _class(self, index: int) -> str:
        return self.class_names[index] if self.class_names else str(index)

    def describe(self) -> str:
        if self.predicted == INVALID:
            return "predicted nothing (non-finite output)"
        return f"predicted {self._class(self.predicted)} (p={self.confidence:.2f})"

    def expected_text(self) -> str:
        return "" if self.expected is None else f"; expected {self._class(self.expected)}"

    def shown(self) -> str:
        """The input as a person reads it: the task's symbol names (in a long input, a run of more than :data:`RUN`
        equal symbols written ``0×301``), else the symbols' numbers."""
        if not self.text:
            return symbols_text(self.symbols)
        names = self.text.split(" ")
        if len(names) != len(self.symbols) or len(names) <= LONG_INPUT:
            return self.text
        out, start = [], 0
        while start < len(names):
            stop = start
            while stop < len(names) and names[stop] == names[start]:
                stop += 1
            out += [f"{names[start]}×{stop - start}"] if stop - start > RUN else names[start:stop]
            start = stop
        return " ".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "phase": self.phase,
            "symbols": list(self.symbols),
            "expected": self.expected,
            "predicted": None if self.predicted == INVALID else self.predicted,
            "confidence": None if np.isnan(self.confidence) else round(float(self.confidence), 6),
            "text": self.text or None,
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
    #: The length by which the case is ordered, where it is not ``window``'s own: a pair of windows is ordered
    #: by its shorter window's length, while ``window`` shows the longer one.
    key_length: int | None = None

    @property
    def length(self) -> int:
        """The length that places this counterexample in the documented order."""
        return self.window.length if self.key_length is None else self.key_length

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
        first = f"{'input' if w.text else 'window'} {w.shown()}   {where}  -> {w.describe()}"
        if self.other is None:
            first += w.expected_text()
        out = [first]
        if self.other is not None:
            o = self.other
            second = f"{self.relation}: length {o.length}" if self.relation else f"length {o.length}"
            if o.text and o.text != w.text:
                second += f"  {o.shown()}"
            second += f"  -> {o.describe()}{o.expected_text()}"
            out.append(second)
        if self.detail:
            out.append(self.detail)
        return out

    def to_dict(self) -> dict[str, Any]:
        shown = self.window.to_dict()
        return {
            "invariant": self.invariant,
            "form": self.form,
            "length": self.length,
            "phase": self.phase,
            "expected": shown["expected"],
            "predicted": shown["predicted"],
            "confidence": shown["confidence"],
            "window": shown,
            "other": None if self.other is None else self.other.to_dict(),
            "relation": self.relation or None,
            "detail": self.detail or None,
        }


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
    #: The violating case behind ``counterexample`` (for confirming it in the model's own framework).
    case: Case | None = field(default=None, repr=False)
    #: Where the counterexample stands in the documented order, comparable across forms.
    rank: tuple = field(default=(), repr=False)
    #: The sweep was not run, or stopped, because it would feed the model more than ``exhaustive_budget`` symbols.
    over_budget: bool = False
    #: Sequence tasks: the longest length through which every case was swept (each length from the shortest),
    #: ``None`` where no length was.
    exhaustive_through: int | None = None
    #: Sequence tasks: the counterexample's length is the shortest failing one, proven by the sweep of every
    #: shorter length (its input may still be Hypothesis's shrunk one: see ``minimal_confirmed``).
    length_confirmed: bool = False
    #: The counterexample was met in the accuracy sample and neither Hypothesis nor a sweep reached it: not shrunk.
    sampled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "passed": self.passed,
            "cases": self.cases,
            "windows": self.windows,
            "exhaustive": self.exhaustive,
            "minimal_confirmed": self.minimal_confirmed,
            "exhaustive_through": self.exhaustive_through,
            "length_confirmed": self.length_confirmed,
            "sampled": self.sampled,
            "counterexample": None if self.counterexample is None else self.counterexample.to_dict(),
        }


PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "not applicable"


@dataclass
class InvariantResult:
    """Whether an invariant held, how much was tried, and its minimal counterexample across its forms.

    ``forms`` holds the forms that had cases in the space; ``not_applicable`` maps each form that had
    none to the reason.  An invariant none of whose forms applied is *not applicable*: nothing was
    tried, so it neither passed nor failed.
    """

    name: str
    forms: list[FormResult]
    accuracy_by_length: dict[int, float] | None = None
    title: str = ""
    #: For each length, whether each phase's window predicts its target (oracle invariants only).
    correct_by_length: dict[int, tuple[bool, ...]] | None = None
    reproduce: str = ""
    not_applicable: dict[str, str] = field(default_factory=dict)

    @property
    def applicable(self) -> bool:
        return bool(self.forms)

    def why_not_applicable(self) -> str:
        """Why no case applied, in words: the reason the task's kind gives, else each form's."""
        if list(self.not_applicable) == ["task"]:
            return self.not_applicable["task"]
        return "no case applies: " + "; ".join(f"{form}: {why}" for form, why in self.not_applicable.items())

    @property
    def passed(self) -> bool:
        """No violation was found (also true of an invariant that is not applicable: see :attr:`status`)."""
        return all(f.passed for f in self.forms)

    @property
    def status(self) -> str:
        """``"pass"``, ``"fail"`` or ``"not applicable"``."""
        return NOT_APPLICABLE if not self.applicable else PASS if self.passed else FAIL

    @property
    def failing_form(self) -> FormResult | None:
        """The failing form whose counterexample comes first in the documented order (then in form order)."""
        failing = [f for f in self.forms if not f.passed]
        return min(failing, key=lambda f: f.rank) if failing else None

    @property
    def counterexample(self) -> Counterexample | None:
        form = self.failing_form
        return None if form is None else form.counterexample

    @property
    def windows(self) -> int:
        return sum(f.windows for f in self.forms)

    @property
    def exhaustive(self) -> bool:
        """Every case of every form ran (never true of an invariant that is not applicable)."""
        return self.applicable and all(f.exhaustive for f in self.forms)

    def form(self, name: str) -> FormResult:
        return next(f for f in self.forms if f.form == name)

    def to_dict(self) -> dict[str, Any]:
        cx = self.counterexample
        return {
            "name": self.name,
            "title": self.title or self.name,
            "status": self.status,
            "passed": None if not self.applicable else self.passed,
            "windows": self.windows,
            "exhaustive": self.exhaustive,
            "counterexample": None if cx is None else cx.to_dict(),
            "forms": [f.to_dict() for f in self.forms],
            "not_applicable": dict(self.not_applicable),
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

    space: CheckSpace | SequenceSpace
    evaluator: Evaluator
    search_settings: settings
    seed: int = 0
    exhaustive_budget: int = 20_000_000
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pattern(self):
        return self.space.pattern

    @property
    def task(self) -> Task:
        return self.space.task

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
    #: The kind of task whose cases the form checks (``"stream"`` or ``"sequence"``).
    kind: str = STREAM

    @abstractmethod
    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        """Cases drawn by Hypothesis; shrinking follows :meth:`key`."""

    @abstractmethod
    def key(self, ctx: Context, case: Case) -> tuple:
        """Order key: the minimal counterexample is the violating case with the smallest key.

        Keys of the forms of one invariant compare with each other: the length's key
        (:meth:`CheckSpace.length_key`), then the shift between a pair's windows (0 for one window),
        then the phase; the invariant reports the failing form whose counterexample has the smallest.
        """

    @abstractmethod
    def violations(self, ctx: Context, cases: list[Case]) -> np.ndarray:
        """Boolean mask: which of ``cases`` violate the form."""

    @abstractmethod
    def counterexample(self, ctx: Context, case: Case) -> Counterexample:
        """Describe a violating case."""

    #: Whether the form's space is finite, so that :meth:`sweep` can go through every case.
    finite: bool = False

    def blocks(self, ctx: Context) -> Iterator[list[Case]]:
        """Every case of a finite space, in key order, in blocks evaluated together (what :meth:`sweep` walks)."""
        raise NotImplementedError

    def sweep_cost(self, ctx: Context) -> int:
        """The fewest symbols a sweep of every case feeds the model (every stream window once): a sweep is tried
        only when this fits the check's ``exhaustive_budget``, and :meth:`sweep` meters what it really feeds."""
        return ctx.evaluator.sweep_symbols(ctx.space)

    def sweep(self, ctx: Context, bound: tuple | None) -> Sweep:
        """Every case of a finite space in key order up to ``bound`` (a key; ``None``: the whole space), stopping
        at the first violation.  Evaluates :meth:`blocks` one block per call, and stops (``over_budget``) once the
        symbols it has fed the model exceed the check's ``exhaustive_budget``."""
        outcome = Sweep()
        start = ctx.evaluator.symbols_evaluated
        for block in self.blocks(ctx):
            if bound is not None and self.key(ctx, block[0]) > bound:
                return outcome
            if ctx.evaluator.symbols_evaluated - start > ctx.exhaustive_budget:
                outcome.over_budget = True
                return outcome
            mask = self.violations(ctx, block)
            outcome.cases += len(block)
            outcome.windows += sum(self.windows_per_case(ctx, case) for case in block)
            if mask.any():
                outcome.found = block[int(np.argmax(mask))]
                return outcome
        outcome.complete = True
        return outcome

    def windows_per_case(self, ctx: Context, case: Case) -> int:
        return 1

    def search(self, ctx: Context, violated: Callable[[Case], bool]) -> Case | None:
        """Hypothesis's search of the form: a violating case shrunk in the documented order (then :meth:`narrow`ed),
        or ``None``; ``violated`` is the property, which counts what it judges."""
        try:
            found = find(self.strategy(ctx), violated, settings=ctx.search_settings, random=Random(ctx.seed))
        except NoSuchExample:
            return None
        return self.narrow(ctx, found)

    def narrow(self, ctx: Context, case: Case) -> Case:
        """The smallest violating part of a violating case (a batch's first failing input); by default the case."""
        return case

    def known_violation(self, ctx: Context) -> Case | None:
        """A violating case met outside the search (an accuracy sample), for when neither Hypothesis nor a sweep found one."""
        return None

    def inapplicable(self, ctx: Context) -> str | None:
        """Why the space holds no case of this form (a pair needs two lengths, say), or ``None`` if it holds some."""
        return None


@dataclass
class Sweep:
    """What a sweep did: the first violating case met (in key order), how many cases and windows it judged,
    and whether it covered the whole space."""

    found: Case | None = None
    cases: int = 0
    windows: int = 0
    complete: bool = False
    over_budget: bool = False
    #: The longest length through which every case was swept, for sweeps that go length by length.
    through: int | None = None


class Invariant:
    """A named behaviour a sequence model must have, checked through one or more forms.

    Subclasses set ``name`` (the stable identifier, a Python name such as ``length_generalization``:
    what the JSON report, ``known_violations`` and ``invariants=`` carry), ``title`` (for people:
    "length generalization") and ``forms``, and state the definition in their docstring.
    """

    name: str = "invariant"
    title: str = "invariant"
    forms: tuple[Form, ...] = ()

    def forms_for(self, task: Task) -> tuple[Form, ...]:
        """The forms that check ``task``: those of its kind."""
        return tuple(form for form in self.forms if form.kind == task.kind)

    def inapplicable_to(self, task: Task) -> str | None:
        """Why the invariant says nothing of ``task`` (none of its forms checks that kind of task), or ``None``."""
        if self.forms_for(task):
            return None
        kinds = sorted({form.kind for form in self.forms})
        return f"defined on {' and '.join(kinds)} tasks; task {task.name} is a {task.kind} task"

    def finish(self, ctx: Context, result: InvariantResult) -> InvariantResult:
        """Add what the invariant reports beyond its forms' outcomes (accuracy by length, say)."""
        return result

    def __repr__(self) -> str:
        return f"<invariant {self.name}: {', '.join(f.name for f in self.forms)}>"


class WindowForm(Form):
    """A form whose cases are the stream's windows ``(length, phase)``, ordered by length then phase."""

    finite = True

    def strategy(self, ctx: Context) -> st.SearchStrategy[Case]:
        space = ctx.space
        lengths = strategies.lengths(min_length=space.min_length, max_length=space.max_length, train_length=space.train_length)
        return st.tuples(lengths, strategies.phases(ctx.pattern))

    def key(self, ctx: Context, case: Case) -> tuple:
        length, phase = case
        return (*ctx.space.length_key(length), 0, phase)  # one window: no shift

    def blocks(self, ctx: Context) -> Iterator[list[Case]]:
        for length in ctx.space.lengths_in_order():
            yield [(length, phase) for phase in range(ctx.pattern.period)]
