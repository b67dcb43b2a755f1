"""A verdict is the model's own: what a faster engine found is confirmed in the model's framework.

A model evaluated through a translation (a Keras model run in NumPy from its weights, see
:mod:`seqcheck.models.keras_numpy`) is fast, but the translation only *finds* verdicts.  After the
search, :func:`disagreement` re-judges in the model's own framework:

- every counterexample: its case must violate the form there too, with the same predictions, and
  the report then shows the framework's own probabilities;
- every failing window of an accuracy table (each length with a wrong window, all its phases);
- when anything passed, a sample of every phase at the longest lengths checked (where a
  translation drifts most) and at a few lengths spread over the range.

On a sequence task, the accuracy table's inputs stand for the windows: every input judged wrong is
re-judged, and when anything passed, every sampled input at those lengths.

The first window on which the two disagree is returned; :func:`seqcheck.check` then runs the whole
check again in the framework and says so in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from seqcheck.invariants.base import Context, Invariant, InvariantResult, symbols_text
from seqcheck.search.evaluation import Evaluator
from seqcheck.tasks.base import SEQUENCE

#: The longest lengths of the range whose every phase is cross-checked when a form passed.
LONGEST_LENGTHS = 2
#: Further lengths, spread evenly over the range, cross-checked when a form passed.
SPREAD_LENGTHS = 3


@dataclass(frozen=True)
class Disagreement:
    """A case on which the translation and the model's framework do not give the same verdict."""

    what: str

    def note(self, engine: str) -> str:
        return f"the {engine} translation disagreed with the model's framework ({self.what}): the whole check ran in the framework"


def _window_disagreement(ctx: Context, native: Context, length: int, phases: Sequence[int]) -> Disagreement | None:
    translated, framework = ctx.evaluator.predicted(length), native.evaluator.predicted(length)
    for phase in phases:
        if translated[phase] != framework[phase]:
            window = symbols_text(ctx.pattern.window(phase, length))
            return Disagreement(
                f"window {window} (length {length}, phase {phase}): translation predicted {translated[phase]},"
                f" framework {framework[phase]}"
            )
    return None


def _input_disagreement(ctx: Context, native: Context, length: int, only_wrong: bool) -> Disagreement | None:
    """Re-judge a sequence task's accuracy-table inputs of ``length`` in the framework (only the wrong ones, if asked)."""
    from seqcheck.invariants.length_generalization import accuracy_sample
    from seqcheck.invariants.sequence_forms import wrong

    sample = accuracy_sample(ctx)[length]
    chosen = np.flatnonzero(sample.wrong) if only_wrong else np.arange(len(sample.inputs))
    if not len(chosen):
        return None
    framework = wrong(native, sample.inputs[chosen], remember=False)
    differs = np.flatnonzero(framework != sample.wrong[chosen])
    if len(differs):
        x = sample.inputs[chosen[differs[0]]]
        return Disagreement(
            f"input {ctx.task.text(x)} (length {length}): the translation judged it {'wrong' if sample.wrong[chosen[differs[0]]] else 'right'},"
            " the framework not"
        )
    return None


def sample_lengths(lengths: range | list[int]) -> list[int]:
    """The longest :data:`LONGEST_LENGTHS` lengths and :data:`SPREAD_LENGTHS` more spread over ``lengths``."""
    longest = list(lengths[-LONGEST_LENGTHS:])
    spread = [lengths[int(i)] for i in np.linspace(0, len(lengths) - 1, SPREAD_LENGTHS + 2)[1:-1].round()]
    return sorted(set(longest + spread))


def _planned_steps(results: list[InvariantResult], ctx: Context) -> int:
    """About how many time steps the confirmation will feed the framework (one call per length it reads)."""
    lengths = set()
    for result in results:
        for form in result.forms:
            if not form.passed:
                cx = form.counterexample
                lengths |= {cx.window.length} | ({cx.other.length} if cx.other is not None else set())
        lengths |= {length for length, correct in (result.correct_by_length or {}).items() if not all(correct)}
        if ctx.task.kind == SEQUENCE and result.accuracy_by_length is not None:
            lengths |= {length for length, accuracy in result.accuracy_by_length.items() if accuracy < 1.0}
    if any(form.passed for result in results for form in result.forms):
        lengths |= set(sample_lengths(ctx.space.lengths))
    return sum(lengths)


def disagreement(battery: Sequence[Invariant], results: list[InvariantResult], ctx: Context) -> Disagreement | None:
    """Confirm ``results`` in the model's framework; return the first disagreement, or ``None``.

    Confirmed counterexamples are replaced by the framework's own descriptions of them.
    """
    native = replace(ctx, evaluator=Evaluator(ctx.evaluator.model, ctx.pattern, native=True), extra={})
    ctx.evaluator.model.expect_native_steps(_planned_steps(results, ctx))
    sequence = ctx.task.kind == SEQUENCE
    for invariant, result in zip(battery, results):
        forms = {form.name: form for form in invariant.forms_for(ctx.task)}
        for form_result in result.forms:
            if form_result.passed:
                continue
            form, case = forms[form_result.form], form_result.case
            if not form.violations(native, [case])[0]:
                return Disagreement(f"the {result.title} ({form.name}) case {case} holds in the framework")
            confirmed = form.counterexample(native, case)
            found = form_result.counterexample
            shown = (confirmed.window.predicted, None if confirmed.other is None else confirmed.other.predicted)
            if shown != (found.window.predicted, None if found.other is None else found.other.predicted):
                return Disagreement(f"the {result.title} ({form.name}) counterexample's predictions differ")
            form_result.counterexample = confirmed
        for length, correct in (result.correct_by_length or {}).items():
            wrong = [phase for phase, right in enumerate(correct) if not right]
            if wrong and (found := _window_disagreement(ctx, native, length, wrong)):
                return found
        if sequence and result.accuracy_by_length is not None:
            for length, accuracy in result.accuracy_by_length.items():
                if accuracy < 1.0 and (found := _input_disagreement(ctx, native, length, only_wrong=True)):
                    return found
    if any(form.passed for result in results for form in result.forms):
        for length in sample_lengths(ctx.space.lengths):
            found = (
                _input_disagreement(ctx, native, length, only_wrong=False) if sequence
                else _window_disagreement(ctx, native, length, range(ctx.pattern.period))
            )
            if found:
                return found
    return None
