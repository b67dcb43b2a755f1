"""``check(model, task=...)`` / ``check(model, pattern=...)``: run the whole battery of invariants in one call."""

from __future__ import annotations

import os
import shlex
import sys

import numpy as np
from collections.abc import Iterable, Sequence

from seqcheck.search.confirmation import PREFIX, disagreement
from seqcheck.reports.diagnosis import diagnose, hints
from seqcheck.errors import ModelError, invalid
from seqcheck.search.evaluation import Evaluator
from seqcheck.invariants import Invariant, default_battery, resolve_invariant
from seqcheck.invariants.base import Context, InvariantResult
from seqcheck.models import ModelUnderTest, as_model
from seqcheck.tasks.patterns import Pattern
from seqcheck.search.profiles import DEFAULT_PROFILE, search_settings
from seqcheck.reports.report import Report
from seqcheck.search.runner import run_invariant
from seqcheck.search.space import CheckSpace, SequenceSpace
from seqcheck.spelling import INTERFACE, spell
from seqcheck.tasks import BUILTIN_TASKS, Task, resolve_task
from seqcheck.tasks.base import STREAM

#: Symbols a sweep may feed the model by default: a pattern's sweep feeds ``p`` windows per length; a sequence
#: task's, every input of each length (2 million symbols: every binary input through length 16).
DEFAULT_EXHAUSTIVE_BUDGET = 20_000_000
DEFAULT_SEQUENCE_BUDGET = 2_000_000


class PythonName(str):
    """A name that only Python code can use (a variable of the user's script): written bare in a reproduce line."""

    def __repr__(self) -> str:
        return str(self)


def task_reference(task: Task, given: object) -> str:
    """How to name ``task`` again: as the user named it, a built-in's name, or ``module:attr`` where an importable
    module holds it; else, as a :class:`PythonName`, the script's variable holding it (or ``task``)."""
    if isinstance(given, str):
        return given
    if BUILTIN_TASKS.get(task.name) is task:
        return task.name
    script = sys.modules.get("__main__")
    for module_name, module in list(sys.modules.items()):
        if module is script or module_name in ("__main__", "__mp_main__"):
            continue  # a script's own names: no other process can import them by that module name
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            if value is task:
                return f"{module_name}:{attr}"
    return PythonName(next((attr for attr, value in vars(script).items() if value is task), "task") if script else "task")


def reproduce_line(
    model: object, what: dict[str, str], seed: int, given: dict[str, int | str | bool | None],
    environment: dict[str, str] | None = None,
) -> str:
    """The one line that reproduces a check: a shell command for a model file (every word quoted, after the
    ``environment`` variables that chose how the model ran), else a Python call.

    ``what`` names the task (``{"pattern": "11000"}`` or ``{"task": "parity"}``); ``given`` holds the options that
    shape the check by :func:`check`'s names, ``None`` where the user left the default; ``True`` is a flag, a list
    is comma-separated on the command line.
    """
    options = {**what, **{k: v for k, v in given.items() if v is not None}, "seed": seed}
    if not isinstance(model, (str, os.PathLike)) or isinstance(what.get("task"), PythonName):  # no command line names it
        subject = "model" if not isinstance(model, (str, os.PathLike)) else repr(os.fspath(model))
        return f"seqcheck.check({subject}, {', '.join(f'{name}={value!r}' for name, value in options.items())})"
    path = os.fsdecode(model)
    words = [f"{name}={value}" for name, value in (environment or {}).items()]
    words += ["seqcheck", "check", os.path.join(".", path) if path.startswith("-") else path]  # not read as an option
    token = INTERFACE.set("cli")  # spell() names the command line's flags
    try:
        for name, value in options.items():
            text = ",".join(value) if isinstance(value, list) else str(value)
            words += [spell(name)] if value is True else [spell(name), text]
    finally:
        INTERFACE.reset(token)
    return shlex.join(words)


def _rigid_space(subject: ModelUnderTest, space: CheckSpace, *, min_length: int | None, max_length: int | None) -> CheckSpace:
    """The one length a length-rigid model can be checked at, or a one-line error if the user excluded it."""
    fixed = subject.fixed_length
    pattern = space.pattern
    if fixed < pattern.min_context or (min_length is not None and min_length > fixed) or (max_length is not None and max_length < fixed):
        raise ModelError(
            f"model {subject.name} is length-rigid: it accepts only windows of length {fixed}, outside the lengths that can"
            f" be checked (min context {pattern.min_context}, --min-length/--max-length as given); {subject.free_length_fix}"
            f" or check --min-length {fixed} --max-length {fixed}"
        )
    return CheckSpace.build(pattern, train_length=space.train_length, min_length=fixed, max_length=fixed)


def _rigid_sequence_space(subject: ModelUnderTest, space: SequenceSpace) -> SequenceSpace:
    """The one length a length-rigid model can be checked at on a sequence task, or a one-line error."""
    fixed = subject.fixed_length
    if fixed not in space.lengths:
        raise ModelError(
            f"model {subject.name} is length-rigid: it accepts only inputs of length {fixed}, which is not a length"
            f" {space.min_length}..{space.max_length} of task {space.task.name}; {subject.free_length_fix}"
        )
    return SequenceSpace(space.task, fixed, fixed, space.train_length)


def chosen_task(pattern: object, task: object, alphabet_size: int | None) -> Task:
    """The task a check is on: ``task`` (resolved), or the stream of ``pattern``; exactly one must be given."""
    if pattern is None and task is None:
        raise invalid("task", None, "a task to check the model on", f"pass {spell('task', 'parity')} or {spell('pattern', '11000')}")
    if pattern is not None and task is not None:
        raise invalid("task", task, f"either {spell('task')} or {spell('pattern')}, not both", "drop one of them")
    if pattern is not None:
        from seqcheck.tasks.stream import StreamTask

        return StreamTask(Pattern.parse(pattern, alphabet_size=alphabet_size))
    chosen = resolve_task(task)
    if alphabet_size is not None:
        raise invalid(
            "alphabet_size", alphabet_size, f"no {spell('alphabet_size')} with task {chosen.name}, which has its own symbols",
            f"drop {spell('alphabet_size')}",
        )
    return chosen


def evaluation(subject: ModelUnderTest, evaluator: Evaluator) -> dict[str, object]:
    """How the check evaluated the model, for the report: the engine that ran and why, and whether a stream's windows
    were judged by prefix passes and why (:func:`~seqcheck.search.evaluation.prefix_plan`)."""
    return {
        "engine": subject.engine,
        "engine_reason": subject.engine_reason,
        "prefix_sharing": evaluator.prefix_sharing,
        "prefix_reason": evaluator.prefix_reason,
    }


def _run_battery(
    battery: list[Invariant], subject: ModelUnderTest, space: CheckSpace, search, *, seed: int, exhaustive_budget: int,
    notes: list[str],
) -> tuple[list[InvariantResult], Evaluator]:
    """Run every invariant on one memoizing evaluator (returned with the results, for the report's ``evaluation``);
    confirm a translation's or prefix passes' verdicts in the model's framework on whole windows, and run the whole
    battery again without what disagreed (:mod:`seqcheck.search.confirmation`)."""
    ctx = Context(space, Evaluator.for_space(subject, space), search, seed=seed, exhaustive_budget=exhaustive_budget)
    results = [run_invariant(invariant, ctx) for invariant in battery]
    if subject.translated or ctx.evaluator.prefix_sharing:
        found = disagreement(battery, results, ctx)
        if found is not None:
            notes.append(found.note(subject.engine))
            if found.cause == PREFIX:
                subject.stop_prefix_sharing("its passes disagreed with whole-window calls (see the note)")
            else:
                subject.use_framework(found.what)
            return _run_battery(battery, subject, space, search, seed=seed, exhaustive_budget=exhaustive_budget, notes=notes)
    # A sequence task's sweep that covered some lengths says how far in its scope, not here.
    over_budget = [
        f"{result.title} ({form.form})" for result in results for form in result.forms
        if form.over_budget and form.exhaustive_through is None
    ]
    if over_budget:
        notes.append(
            f"over exhaustive_budget={exhaustive_budget} symbols, so not swept (cases sampled by Hypothesis, a counterexample"
            f" not confirmed minimal): {', '.join(over_budget)}"
        )
    return results, ctx.evaluator


def check(
    model: object,
    *,
    task: str | Task | None = None,
    pattern: str | Sequence[int] | Pattern | None = None,
    train_length: int | None = None,
    max_length: int | None = None,
    min_length: int | None = None,
    seed: int = 0,
    invariants: Iterable[Invariant | str] | Invariant | str | None = None,
    alphabet_size: int | None = None,
    encoding: str | None = None,
    output: str = "auto",
    max_examples: int | None = None,
    profile: str = DEFAULT_PROFILE,
    exhaustive_budget: int | None = None,
    allow_unsafe: bool = False,
    engine: str = "auto",
    causal: str = "auto",
    baseline: object = None,
    tolerance: float = 0.0,
) -> Report:
    """Check ``model`` against every invariant (or those given) on a task: ``task`` or ``pattern``'s stream.

    ``task`` is a sequence task (:mod:`seqcheck.tasks`): a built-in's name (``"parity"``), ``"module:attr"``, or a
    :class:`~seqcheck.tasks.Task`; inputs range over its valid lengths from ``min_length`` (default 1) to
    ``max_length`` (default ``max(4 * train_length, 40)``), ``train_length`` being the longest length trained
    on.  ``pattern`` names a stream task instead: windows range from ``min_length`` (default and least: the
    pattern's min context) to ``max_length`` (same default), ``train_length`` being the window length trained on.

    ``model`` is a model of a framework seqcheck adapts (a ``keras.Model``, a ``torch.nn.Module``, an ONNX Runtime
    session, a jitted JAX function or a bound Flax module), a path to a model file (``.keras``, ``.pt2``, ``.onnx``;
    loaded safely unless ``allow_unsafe=True``), or a callable on numpy batches (fed integer tokens ``(B, L)`` unless
    ``encoding`` says otherwise).  Hypothesis searches each invariant's forms, seeded by ``seed``; spaces
    whose sweep feeds the model at most ``exhaustive_budget`` symbols (default 20 million on a pattern, 2 million
    on a sequence task) are then swept (a sequence task's length by length, from the shortest), so that a pass covers every case and a counterexample is the
    minimum under the documented order (see :mod:`seqcheck.search.space`).  ``profile`` names the
    Hypothesis settings (:mod:`seqcheck.search.profiles`: ``dev``, ``ci``, ``thorough``); ``max_examples``
    overrides its number of examples per form.  ``engine`` says how a Keras model is evaluated
    (:class:`~seqcheck.models.keras.KerasModel`): ``"auto"`` translates it to NumPy when it can, verified
    against the model, ``"keras"`` always calls its compiled function.  ``causal`` says whether a stream's windows are
    judged by prefix passes (:mod:`seqcheck.search.evaluation`): ``"auto"`` where the adapter proves the model causal
    (unidirectional recurrent stacks, causal convolutions, per-step heads), ``"yes"`` on the user's word (a callable
    returning per-step outputs, a Transformer with a causal mask), ``"no"`` window by window.  Either way every
    counterexample is confirmed on its own window, and the report says how windows were evaluated.

    ``baseline`` (a path to a report seqcheck wrote with ``--json``, a :class:`Report` or its ``to_dict()``,
    on the same pattern and range) gates the model against its predecessor (:mod:`seqcheck.reports.baseline`):
    the report's ``comparison`` lists regressions and improvements, and ``passed`` then means no
    regression; ``tolerance`` is how much lower accuracy at a length is forgiven.  The baseline is
    validated before the model is loaded.  Baselines compare stream-task reports only.
    """
    for name, value in (("seed", seed), ("max_examples", max_examples), ("exhaustive_budget", exhaustive_budget)):
        if value is None and name != "seed":  # the profile's number, the task's budget
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise invalid(name, value, "a non-negative whole number", f"pass {name} as an integer")
    chosen = chosen_task(pattern, task, alphabet_size)
    stream = chosen.kind == STREAM
    budget = (DEFAULT_EXHAUSTIVE_BUDGET if stream else DEFAULT_SEQUENCE_BUDGET) if exhaustive_budget is None else exhaustive_budget
    if stream:
        space = CheckSpace.build(chosen.pattern, train_length=train_length, max_length=max_length, min_length=min_length)
    else:
        space = SequenceSpace.build(chosen, train_length=train_length, max_length=max_length, min_length=min_length)
    if isinstance(invariants, (str, Invariant)):
        invariants = [invariants]
    try:
        battery = [resolve_invariant(spec) for spec in (default_battery(chosen) if invariants is None else invariants)]
    except TypeError:
        raise invalid("invariants", invariants, "a list of seqcheck invariants or their names", "pass e.g. ['length_generalization']") from None
    if not battery:
        raise invalid("invariants", [], "a non-empty list of seqcheck invariants", "pass e.g. [seqcheck.phase_shift_invariance]")
    known = None
    if baseline is not None or tolerance != 0:
        if not stream:
            raise invalid(
                "baseline", baseline, f"no baseline with task {chosen.name}: baselines compare pattern (stream-task) reports",
                f"drop {spell('baseline')} and compare the reports' accuracy yourself",
            )
        from seqcheck.reports.baseline import Baseline, check_tolerance

        tolerance = check_tolerance(tolerance, baseline=baseline)
        known = Baseline.load(baseline)
        known.require_space(space)  # a different pattern or range fails before any model is loaded

    subject = as_model(
        model, alphabet_size=chosen.input_size, encoding=encoding, output=output, allow_unsafe=allow_unsafe, engine=engine,
        causal=causal, classes=None if stream else chosen.class_count, class_meaning="" if stream else f"class of task {chosen.name}",
    )
    notes = list(subject.notes)
    if subject.fixed_length is not None:
        space = _rigid_space(subject, space, min_length=min_length, max_length=max_length) if stream else _rigid_sequence_space(subject, space)
        notes.append(f"length-rigid model: it accepts {'windows' if stream else 'inputs'} of length {subject.fixed_length} only, so only that length was checked")
    if stream:
        subject.warm_up(space.min_length)
    else:  # inputs of the task: a model may refuse anything else
        first = space.lengths[0]
        subject.warm_up(first, chosen.sample(np.random.default_rng(0), subject.PROBE_WINDOWS, first))
    if subject.output_evidence:
        notes.append(subject.output_evidence)
    search = search_settings(profile, max_examples=max_examples)
    results, evaluator = _run_battery(battery, subject, space, search, seed=seed, exhaustive_budget=budget, notes=notes)
    if stream and chosen.pattern.was_reduced:
        notes.append(f"pattern {chosen.pattern.given} reduced to its primitive period: {chosen.pattern.text}")
    given = {
        "train_length": train_length, "min_length": min_length, "max_length": max_length, "alphabet_size": alphabet_size,
        "encoding": encoding, "output": None if output == "auto" else output, "max_examples": max_examples,
        "profile": None if profile == DEFAULT_PROFILE else profile,
        "exhaustive_budget": exhaustive_budget,
        "engine": None if subject.engine == "native" else subject.engine, "causal": None if causal == "auto" else causal,
        "allow_unsafe": allow_unsafe or None,
        "invariants": None if invariants is None else [invariant.name for invariant in battery],
    }
    what = {"pattern": chosen.pattern.text} if stream else {"task": task_reference(chosen, task)}
    reproduce = reproduce_line(model, what, seed, given, subject.environment)
    for result in results:
        result.reproduce = reproduce
    report = Report(
        model=subject.name,
        model_description=subject.description,
        evaluation=evaluation(subject, evaluator),
        space=space,
        seed=seed,
        results=results,
        diagnosis=diagnose(results, space) if stream else [],
        hints=hints(results, space) if stream else [],
        reproduce=reproduce,
        notes=notes,
    )
    if known is not None:
        report.comparison = known.compare(report, tolerance=tolerance)
    return report
