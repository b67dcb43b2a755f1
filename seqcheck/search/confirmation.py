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

Prefix sharing (:mod:`seqcheck.search.evaluation`) is confirmed the same way: its passes are first
verified against whole-window calls in the model's framework on sampled windows (every phase at the
longest length and at :data:`SPREAD_LENGTHS` short lengths), and every counterexample is confirmed
on its own window.  A translation's passes are verified so too, and its failing windows re-judged
through the framework's own pass where that is cheaper than length by length.

The first window on which two evaluations disagree is returned; :func:`seqcheck.check` then runs the
whole check again without what disagreed (in the framework, or window by window) and says so in the report.
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


#: Largest difference of a probability between a prefix pass and the whole window's call that is put down to
#: floating point (a pass computes the same operations in another grouping); beyond it the pass is not trusted.
PREFIX_ATOL = 1e-4

#: What disagreed with the model's framework on its whole windows: a translation, or prefix sharing.
TRANSLATION, PREFIX = "translation", "prefix sharing"


@dataclass(frozen=True)
class Disagreement:
    """A case on which a faster evaluation (a translation, prefix passes) and the model's framework on whole windows
    do not give the same verdict."""

    what: str
    cause: str = TRANSLATION

    def note(self, engine: str) -> str:
        if self.cause == PREFIX:
            return f"prefix sharing disagreed with whole-window calls ({self.what}): the whole check ran window by window"
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


#: The short lengths of a prefix pass's verification are spread over this first part of the range.
PREFIX_SPREAD_PART = 16


def prefix_sample_lengths(lengths: range) -> list[int]:
    """Where prefix passes are verified against whole windows: the longest length (where a pass has run longest) and
    :data:`SPREAD_LENGTHS` lengths spread over the first :data:`PREFIX_SPREAD_PART`-th of the range (whole windows cost
    their length, so the sample costs about ``1 + 3/32`` windows of the longest length)."""
    part = lengths[: max(1, len(lengths) // PREFIX_SPREAD_PART)]
    spread = [part[int(i)] for i in np.linspace(0, len(part) - 1, SPREAD_LENGTHS).round()]
    return sorted(set(spread + [lengths[-1]]))


def _prefix_disagreement(passes: Evaluator, windows: Evaluator, lengths: range) -> Disagreement | None:
    """Verify prefix ``passes`` against whole ``windows`` of every phase at :func:`prefix_sample_lengths`: the same
    predictions, and, for passes in the framework itself, probabilities within :data:`PREFIX_ATOL` (a translation's
    float32 rounding may drift further along a long window without changing a decision)."""
    pattern = passes.pattern
    atol = np.inf if passes.model.translated else PREFIX_ATOL
    for length in prefix_sample_lengths(lengths):
        shared, whole = passes.stream(length), windows.stream(length)
        gaps = np.nan_to_num(np.abs(shared[0] - whole[0]), nan=0.0, posinf=np.inf).max(axis=1)  # NaN in both: no gap
        differs = np.flatnonzero((shared[1] != whole[1]) | (gaps > atol))
        if len(differs):
            phase, deviation = int(differs[0]), float(gaps.max())
            window = symbols_text(pattern.window(phase, length))
            return Disagreement(
                f"window {window} (length {length}, phase {phase}): the pass predicted {shared[1][phase]}, the whole"
                f" window {whole[1][phase]}; probabilities differ by up to {deviation:.3g}",
                PREFIX,
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
        if ctx.task.kind == SEQUENCE and result.accuracy_by_length is not None:
            lengths |= {length for length, accuracy in result.accuracy_by_length.items() if accuracy < 1.0}
    lengths |= set(_failing_lengths(results))
    if any(form.passed for result in results for form in result.forms):
        lengths |= set(sample_lengths(ctx.space.lengths))
    return sum(lengths)


def _failing_lengths(results: list[InvariantResult]) -> list[int]:
    """The lengths of a stream's accuracy tables that hold a wrong window."""
    return sorted({length for result in results for length, correct in (result.correct_by_length or {}).items() if not all(correct)})


def disagreement(battery: Sequence[Invariant], results: list[InvariantResult], ctx: Context) -> Disagreement | None:
    """Confirm ``results`` in the model's framework, on whole windows; return the first disagreement, or ``None``.

    Confirmed counterexamples are replaced by the framework's own descriptions of them.  Prefix passes are first
    verified against whole windows (:func:`prefix_sample_lengths`): a disagreement there is put down to a translation
    when there is one (the check then runs again in the framework, where a second disagreement is prefix sharing's).
    A translation's failing windows are then re-judged in the framework: length by length, or by the framework's own
    prefix pass where that feeds it fewer steps.
    """
    model, evaluator = ctx.evaluator.model, ctx.evaluator
    native = replace(ctx, evaluator=Evaluator(model, ctx.pattern, native=True), extra={})
    if not evaluator.prefix_sharing:
        model.expect_native_steps(_planned_steps(results, ctx))
        return _translation_disagreement(battery, results, ctx, native, native)
    model.expect_native_steps(2 * evaluator.horizon)
    if found := _prefix_disagreement(evaluator, native.evaluator, ctx.space.lengths):
        return replace(found, cause=TRANSLATION) if model.translated else found
    if not model.translated:  # prefix passes in the framework, verified: only the counterexamples' own windows remain
        return _counterexample_disagreement(battery, results, native, cause=PREFIX)
    tables = native
    if sum(_failing_lengths(results)) > evaluator.horizon:  # one pass costs less than the failing lengths' windows
        tables = replace(native, evaluator=Evaluator(model, ctx.pattern, native=True, horizon=evaluator.horizon))
    return _translation_disagreement(battery, results, ctx, native, tables, sampled=True)


def _counterexample_disagreement(
    battery: Sequence[Invariant], results: list[InvariantResult], native: Context, *, cause: str,
) -> Disagreement | None:
    """Re-judge every counterexample on its own windows in the framework, replacing it by the framework's description."""
    for invariant, result in zip(battery, results):
        forms = {form.name: form for form in invariant.forms_for(native.task)}
        for form_result in result.forms:
            if not form_result.passed and (found := _confirm(forms[form_result.form], form_result, result, native, cause)):
                return found
    return None


def _confirm(form, form_result, result: InvariantResult, native: Context, cause: str) -> Disagreement | None:
    """Confirm one counterexample in the framework (replacing it by the framework's description), or say why not."""
    case = form_result.case
    if not form.violations(native, [case])[0]:
        return Disagreement(f"the {result.title} ({form.name}) case {case} holds in the framework", cause)
    confirmed = form.counterexample(native, case)
    found = form_result.counterexample
    shown = (confirmed.window.predicted, None if confirmed.other is None else confirmed.other.predicted)
    if shown != (found.window.predicted, None if found.other is None else found.other.predicted):
        return Disagreement(f"the {result.title} ({form.name}) counterexample's predictions differ", cause)
    form_result.counterexample = confirmed
    return None


def _translation_disagreement(
    battery: Sequence[Invariant], results: list[InvariantResult], ctx: Context, native: Context, tables: Context,
    *, sampled: bool = False,
) -> Disagreement | None:
    """A translation's verdicts re-judged in the framework: counterexamples on their own windows (``native``), every
    failing window of an accuracy table (through ``tables``), and, when anything passed, a sample (``sampled``: taken
    already, by the prefix passes' verification)."""
    sequence = ctx.task.kind == SEQUENCE
    if found := _counterexample_disagreement(battery, results, native, cause=TRANSLATION):
        return found
    for invariant, result in zip(battery, results):
        for length, correct in (result.correct_by_length or {}).items():
            wrong = [phase for phase, right in enumerate(correct) if not right]
            if wrong and (found := _window_disagreement(ctx, tables, length, wrong)):
                return found
        if sequence and result.accuracy_by_length is not None:
            for length, accuracy in result.accuracy_by_length.items():
                if accuracy < 1.0 and (found := _input_disagreement(ctx, native, length, only_wrong=True)):
                    return found
    if not sampled and any(form.passed for result in results for form in result.forms):
        for length in sample_lengths(ctx.space.lengths):
            found = (
                _input_disagreement(ctx, native, length, only_wrong=False) if sequence
                else _window_disagreement(ctx, native, length, range(ctx.pattern.period))
            )
            if found:
                return found
    return None
