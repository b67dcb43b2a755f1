"""The report of a check: what was checked, what held, the minimal counterexamples, and how to reproduce.

``Report.to_dict()`` is the machine-readable form written by ``seqcheck check --json``; its
``version`` field changes whenever a field changes meaning.  ``Report.render()`` is what a person
reads in the terminal.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seqcheck.reports.heatmap import text_heatmap
from seqcheck.invariants.base import FAIL, NOT_APPLICABLE, PASS, InvariantResult
from seqcheck.search.space import CheckSpace, SequenceSpace
from seqcheck.tasks.base import SEQUENCE

from seqcheck.invariants.sequence_forms import SAMPLES_PER_LENGTH

if TYPE_CHECKING:
    from seqcheck.reports.baseline import Comparison

#: 3: the report describes its task (``task``); a sequence task's report has no pattern (``pattern`` and its
#: numbers are null) and its forms say how far they were swept (``exhaustive_through``, ``length_confirmed``).
REPORT_VERSION = 3
INDENT = "     "


def accuracy_text(accuracy: dict[int, float]) -> str:
    return " ".join(f"{length}:{acc:.1f}" if acc in (0.0, 1.0) else f"{length}:{acc:.2f}" for length, acc in accuracy.items())


def compressed_accuracy_text(accuracy: dict[int, float]) -> str:
    """Accuracy by length with runs of equal accuracy over consecutive lengths joined: ``1..40:1.0 41:0.98``."""
    runs: list[list] = []
    previous = None
    for length, acc in accuracy.items():
        if runs and runs[-1][2] == acc and previous is not None and length == previous + (2 if runs[-1][3] else 1):
            runs[-1][1] = length
        else:
            runs.append([length, length, acc, False])
        previous = length
    del previous
    return " ".join(
        f"{a}:{accuracy_text({a: acc}).split(':')[1]}" if a == b else f"{a}..{b}:{accuracy_text({a: acc}).split(':')[1]}"
        for a, b, acc, _ in runs
    )


def _sequence_scope(result: InvariantResult) -> str:
    """What a sequence task's verdict rests on: which lengths were swept whole, what Hypothesis shrank."""
    if result.passed:
        if result.exhaustive:
            return "every input in range"
        through = [f.exhaustive_through for f in result.forms if f.exhaustive_through is not None]
        if len(through) == len(result.forms):
            return f"every case through length {min(through)}, sampled by Hypothesis beyond"
        return "sampled by Hypothesis"
    form = result.failing_form
    swept = f" exhaustively through length {form.exhaustive_through}" if form.exhaustive_through is not None else ""
    if form.minimal_confirmed:
        return "minimum confirmed by a sweep of every shorter input"
    if form.sampled:
        return "found in the accuracy sample, not shrunk" + (f"; no failure{swept}" if swept else "")
    if form.length_confirmed:
        proof = f"confirmed{swept}" if swept else "the shortest of the range"
        return f"shortest failing length {proof}; input shrunk by Hypothesis"
    return "shrunk by Hypothesis, not confirmed minimal" + (f"; no failure{swept}" if swept else "")


def scope_text(result: InvariantResult) -> str:
    """What a verdict rests on, in words: never more than what ran."""
    if not result.applicable:
        return result.why_not_applicable()
    if result.forms[0].exhaustive_through is not None or any(f.length_confirmed or f.sampled for f in result.forms):
        return _sequence_scope(result)
    if result.passed:
        return "every case in range" if result.exhaustive else "sampled by Hypothesis"
    return "minimum confirmed by sweep" if result.failing_form.minimal_confirmed else "shrunk by Hypothesis, not confirmed minimal"


def counterexample_heading(result: InvariantResult) -> str:
    """``minimal (form):`` only where a sweep confirmed the minimum; a pair says by which length it is ordered."""
    form = result.failing_form
    cx = form.counterexample
    kind = "minimal" if form.minimal_confirmed else "counterexample (from the accuracy sample)" if form.sampled else (
        "counterexample (shrunk by Hypothesis)"
    )
    order = f", ordered by its shorter window: length {cx.length}" if cx.length != cx.window.length else ""
    return f"{kind} ({cx.form}{order}):"


def _result_lines(result: InvariantResult, sequence: bool = False) -> list[str]:
    status = {PASS: "pass", FAIL: "FAIL", NOT_APPLICABLE: "n/a "}[result.status]
    unit = "inputs" if sequence else "windows"
    line = f"{status} {result.title}   ({result.windows} {unit}, {scope_text(result)})" if result.applicable else (
        f"{status} {result.title}   (not applicable{':' if 'task' in result.not_applicable else ','} {scope_text(result)})"
    )
    failing_forms = [f.form for f in result.forms if not f.passed]
    if failing_forms and len(result.forms) > 1:
        holding = [f.form for f in result.forms if f.passed]
        line += f"  fails: {', '.join(failing_forms)}"
        if holding:
            line += f"; holds: {', '.join(holding)}"
    if result.applicable and result.not_applicable:
        line += f"  not applicable: {', '.join(result.not_applicable)}"
    lines = [line]
    cx = result.counterexample
    if cx is not None:
        lines.append(f"{INDENT}{counterexample_heading(result)}")
        lines += [INDENT + "  " + text for text in cx.lines()]
    if result.accuracy_by_length is not None:
        text = compressed_accuracy_text(result.accuracy_by_length) if sequence else accuracy_text(result.accuracy_by_length)
        wrapped = textwrap.wrap(text, width=92)
        lines.append(f"{INDENT}accuracy by length: {wrapped[0]}" if wrapped else f"{INDENT}accuracy by length: -")
        lines += [INDENT + " " * len("accuracy by length: ") + rest for rest in wrapped[1:]]
    if result.correct_by_length is not None and not result.passed:
        lines += text_heatmap(result.correct_by_length, indent=INDENT)
    return lines


@dataclass
class Report:
    """Outcome of :func:`seqcheck.check`: one :class:`InvariantResult` per invariant, plus context."""

    model: str
    model_description: str
    space: CheckSpace | SequenceSpace
    seed: int
    results: list[InvariantResult]
    diagnosis: list[str] = field(default_factory=list)
    #: What to look at next where the evidence points at the check's own settings (a pattern, a training length).
    hints: list[str] = field(default_factory=list)
    reproduce: str = ""
    notes: list[str] = field(default_factory=list)
    #: How the model was evaluated (:func:`seqcheck.checking.evaluation`): ``engine`` (``"numpy"``, ``"keras"``, or
    #: ``"native"`` for a callable) and ``engine_reason`` (why it was chosen, or why it fell back), ``prefix_sharing``
    #: (whether a stream's windows were judged by prefix passes) and ``prefix_reason``.
    evaluation: dict[str, Any] = field(default_factory=lambda: {"engine": "native"})
    #: The comparison with a baseline report (:mod:`seqcheck.reports.baseline`), when the check had one.
    comparison: Comparison | None = None

    @property
    def model_engine(self) -> str:
        """The engine that evaluated the model: ``"numpy"``, ``"keras"``, or ``"native"`` (a callable)."""
        return self.evaluation["engine"]

    def evaluation_text(self) -> str:
        """The report's ``evaluation:`` line: the engine that ran and why; on a stream, prefix passes or whole windows, and why."""
        ev = self.evaluation
        text = f"engine {ev['engine']}" + (f" ({ev['engine_reason']})" if ev.get("engine_reason") else "")
        if not self.sequence and ev.get("prefix_reason"):
            text += f"; {'prefix sharing' if ev.get('prefix_sharing') else 'window by window'}: {ev['prefix_reason']}"
        return text

    @property
    def passed(self) -> bool:
        """No invariant is violated; against a baseline (:attr:`comparison`), no regression."""
        if self.comparison is not None:
            return self.comparison.passed
        return all(r.passed for r in self.results)

    def __getitem__(self, name: object) -> InvariantResult:
        """The result of an invariant, by its identifier (``"length_generalization"``), its title
        ("length generalization") or the invariant itself."""
        key = getattr(name, "name", name)
        for result in self.results:
            if key in (result.name, result.title):
                return result
        raise KeyError(
            f"no invariant named {key!r} in this report; it has {', '.join(r.name for r in self.results)} (or their titles)"
        )

    @property
    def failures(self) -> list[InvariantResult]:
        return [r for r in self.results if not r.passed]

    @property
    def sequence(self) -> bool:
        """Whether the check was on a sequence task (else a pattern's stream)."""
        return self.space.task.kind == SEQUENCE

    def to_dict(self) -> dict[str, Any]:
        pattern = self.space.pattern
        return {
            "version": REPORT_VERSION,
            "passed": self.passed,
            "model": {"name": self.model, "description": self.model_description, **self.evaluation},
            "task": self.space.task.to_dict(),
            "pattern": None if pattern is None else pattern.text,
            "period": None if pattern is None else pattern.period,
            "alphabet_size": self.space.task.input_size if pattern is None else pattern.alphabet_size,
            "min_context": None if pattern is None else pattern.min_context,
            "train_length": self.space.train_length,
            "lengths": {"min": self.space.min_length, "max": self.space.max_length},
            "seed": self.seed,
            "invariants": [r.to_dict() for r in self.results],
            "diagnosis": self.diagnosis,
            "hints": self.hints,
            "notes": self.notes,
            "reproduce": self.reproduce,
            **({} if self.comparison is None else {"comparison": self.comparison.to_dict()}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def render(self) -> str:
        """The terminal report: a header, one line per invariant, counterexamples, diagnosis, reproduce."""
        lines = [f"model {self.model} ({self.model_description})  {self.space.describe()}  seed {self.seed}"]
        lines.append(f"evaluation: {self.evaluation_text()}")
        lines += [f"note: {note}" for note in self.notes]
        for result in self.results:
            lines += _result_lines(result, self.sequence)
        if self.sequence and any(r.accuracy_by_length is not None for r in self.results):
            lines.append(
                f"{INDENT}(accuracy on every input of a length with at most {SAMPLES_PER_LENGTH} inputs, else on"
                f" {SAMPLES_PER_LENGTH} drawn at random)"
            )
        for text in self.diagnosis:
            lines.append(f"diagnosis: {text}")
        for text in self.hints:
            lines.append(f"hint: {text}")
        if self.reproduce:
            lines.append(f"reproduce: {self.reproduce}")
        if self.comparison is not None:
            lines += self.comparison.lines()
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()
