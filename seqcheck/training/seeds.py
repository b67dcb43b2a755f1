"""A recipe checked across seeds: is the training *procedure* reliable?  (issue #14)

One trained model says little about the procedure that made it: another seed may give a model that
counts from the window start where this one did not.  :func:`check_seeds` trains one model per seed
(``first_seed .. first_seed + seeds - 1``), checks each with :func:`seqcheck.check` (seeded by the
same seed), and reports, per seed, whether its model holds every invariant, where it first fails
and its minimal counterexample; then the rate of models that hold with its 95% Wilson interval,
and the distribution of first failing lengths.  :meth:`SeedsReport.decide` gates the recipe on a
maximum failure rate (:func:`seqcheck.training.statistics.gate`).

**Recipe specs** (:func:`resolve_recipe`).  A recipe is named by

- a built-in recipe's name, with optional settings: ``fixed-window``, ``fixed-window:units=8,epochs=20``
  (see ``RECIPES[name].settings``; an unknown setting is refused by ``Recipe.resolve_settings``);
- a user's recipe ``module:function``, with optional settings ``module:function:key=value,...``; the
  module is imported as :func:`seqcheck.tasks.resolve_task` imports a task (from the current folder too);
- in Python, the function itself (a :class:`RecipeSpec` stores its ``module:qualname``, so that a
  worker process imports it by name; a lambda or a nested function runs with ``workers=0`` only).

A spec whose text before the first ``:`` is a built-in recipe's name is that recipe (a built-in name
contains ``-`` and no ``.``: it is never a module's name); any other spec must be ``module:function``.
Setting values are read as JSON scalars (``8``, ``0.15``, ``1e-3``, ``true``, ``null``, ``"8"``), anything
else as a string (``activation=relu``); values cannot contain ``,`` unless JSON-quoted.

A user's recipe is any function ``recipe(pattern, *, train_length, seed, **settings) -> model``
(``pattern`` a :class:`~seqcheck.tasks.patterns.Pattern`; the model anything :func:`seqcheck.check`
accepts: a ``keras.Model``, a model file's path, a callable on numpy batches...).

**Labels.**  :attr:`RecipeSpec.label` is the canonical spec: settings sorted by name, settings equal to
their default (a built-in's ``settings``, a user function's keyword default) omitted, so that
``fixed-window:units=4`` and ``fixed-window`` are one recipe (they share cache entries too).

**First failing length.**  For ``length_generalization`` it is the smallest length at or beyond the
training length N whose accuracy is below 1 (a model that fails only below N: the smallest failing
length).  Lengths below N are not looked at first because a model that counts from the window start
is wrong at short lengths too (the seed's LSTM is wrong at the min context), which would place every
such seed at the min context and hide where generalization breaks.  For every other invariant it is
its minimal counterexample's length (for a pair of windows, the shorter one's: the length that orders
it).  :attr:`SeedsReport.first_failing_lengths` gives the distribution for each invariant that failed
on some seed (length -> number of seeds), ``length_generalization`` first.

**Processes.**  Seeds run in worker processes on this machine: a ``ProcessPoolExecutor`` with the
``spawn`` start method and ``max_tasks_per_child=1`` (Python >= 3.11; on 3.10 workers are reused), so
each process trains and checks one model and is replaced: memory stays flat and Keras sessions never
accumulate.  ``workers`` defaults to ``os.cpu_count()`` (never more than the seeds); ``workers=0`` runs
every seed in this process, one after the other (for a debugger, for prints, for tests that need no
processes), with the same retries and the same report.  A worker returns a :class:`SeedResult` (plain
data, the report's dict), never the model.  A spec carries the ``sys.path`` folder its module was
imported from, and a worker adds it to its own ``sys.path`` before importing the recipe.

**Failures of the run itself.**  A training or check that raises is retried ``retries`` times; a
worker that dies (killed, out of memory, ``os._exit``) breaks the pool: the pool is recreated and the
seeds that had not finished are submitted again.  When several seeds were running, the one that
killed the pool is unknown: each of them then runs again alone, and a seed is charged an attempt only
for a death while it ran alone.  A seed still failing after ``retries`` retries is reported as
``error`` with a one-line reason, is not counted in the rate, and the run goes on; a finished seed's
result is never lost.  Built-in recipes train through the model cache, so a run interrupted (Ctrl-C:
pending seeds are cancelled, the workers stopped, the pool shut down and ``KeyboardInterrupt``
re-raised) and run again retrains no seed that had finished training.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import importlib
import inspect
import json
import math
import multiprocessing
import os
import re
import shlex
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqcheck.errors import first_line, invalid
from seqcheck.spelling import spell
from seqcheck.tasks.patterns import Pattern

__all__ = [
    "CONFIDENCE", "PASS", "FAIL", "ERROR", "RecipeSpec", "resolve_recipe", "InvariantOutcome", "SeedResult",
    "SeedsReport", "check_seeds",
]

#: The outcomes of a seed: its model holds every invariant, fails one, or the seed ended in error.
PASS, FAIL, ERROR = "pass", "fail", "error"
#: The confidence of the interval a :class:`SeedsReport` reports (Wilson's score interval).
CONFIDENCE = 0.95
#: ``SeedsReport.to_dict()["version"]``: changes whenever a field changes meaning.
SEEDS_REPORT_VERSION = 1
#: The order of the per-seed and summary lines: length generalization is the question of issue #14.
HEADLINE = "length_generalization"
#: ``check-recipe``'s default training length (the reproduce line omits it).
DEFAULT_TRAIN_LENGTH = 10

_RECIPE_FIX = "name a built-in recipe (fixed-window, varied-window) with optional :key=value settings, or your own as module:function"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SETTING = re.compile(r"\s*([^=,]*?)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^,]*?)\s*(,|\Z)")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_SCALARS = (str, bool, int, float, type(None))


# -- recipe specs --------------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _format_value(value: Any) -> str:
    """A setting's value as a spec writes it: strings bare unless they would read back as something else."""
    if isinstance(value, str):
        plain = bool(value) and value == value.strip() and not any(c in value for c in ',"')
        return value if plain and _parse_value(value) == value else json.dumps(value)
    return json.dumps(value)


def _parse_value(text: str) -> Any:
    """A JSON scalar (``8``, ``0.15``, ``true``, ``null``, ``"8"``), else the text itself."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if not isinstance(value, _SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
        return text
    return value


def _parse_settings(text: str, spec: str) -> dict[str, Any]:
    """``key=value,key=value`` as a dict; a one-line error for anything else."""
    settings: dict[str, Any] = {}
    position = 0
    while position < len(text):
        match = _SETTING.match(text, position)
        if match is None or match.end() == position:
            raise invalid("recipe", spec, f"settings as key=value pairs separated by commas after ':' (could not read {text[position:]!r})",
                          "write e.g. fixed-window:units=8,epochs=20")
        key, raw = match.group(1), match.group(2)
        if not _KEY.match(key):
            raise invalid("recipe", spec, f"setting names that are Python identifiers (not {key!r})", "write e.g. units=8")
        if key in settings:
            raise invalid("recipe", spec, f"each setting once ({key!r} is given twice)", f"keep one {key}=...")
        settings[key] = _parse_value(raw)
        position = match.end()
        if match.group(3) == "," and position == len(text):
            raise invalid("recipe", spec, "a setting after the last ','", "drop the trailing comma")
    if not settings:
        raise invalid("recipe", spec, "key=value settings after ':'", "drop the ':' or add settings, like :units=8")
    return settings


def _check_values(settings: Mapping[str, Any], spec: object) -> dict[str, Any]:
    out = {}
    for key, value in settings.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise invalid("settings", {key: value}, "setting names that are Python identifiers", "rename the setting")
        if not isinstance(value, _SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
            raise invalid("settings", {key: value}, "JSON scalars (a string, number, true/false or null)",
                          f"give {key} as a plain value: a recipe's label and its cache key are written with it")
        out[key] = value
    return out


@dataclass(frozen=True)
class RecipeSpec:
    """A recipe as :func:`resolve_recipe` understood it: what to call, and with which settings.

    ``target`` is a built-in recipe's name (``builtin``) or ``module:function``; ``settings`` the
    overrides, sorted, without those equal to their default.  Picklable by name: a worker process
    imports ``target`` (after adding ``path``, the ``sys.path`` folder its module came from, to its
    ``sys.path``); ``function``, the callable given in Python, is not sent.
    """

    target: str
    settings: tuple[tuple[str, Any], ...] = ()
    builtin: bool = False
    path: str | None = field(default=None, compare=False)
    function: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The canonical spec: ``fixed-window``, ``fixed-window:units=8``, ``mymodule:train:dropout=0.15``."""
        if not self.settings:
            return self.target
        return f"{self.target}:" + ",".join(f"{key}={_format_value(value)}" for key, value in self.settings)

    def __str__(self) -> str:
        return self.label

    @property
    def settings_dict(self) -> dict[str, Any]:
        return dict(self.settings)

    def __reduce__(self):
        return (RecipeSpec, (self.target, self.settings, self.builtin, self.path))

    @property
    def importable(self) -> bool:
        """Whether a worker process can import the recipe by name (always true of a built-in)."""
        if self.builtin:
            return True
        try:
            found = _import_target(self.target, self.target, self.path)
        except Exception:
            return False
        return self.function is None or found is self.function

    def load(self) -> Callable[..., Any]:
        """The user's recipe function (imported by name unless given), or the built-in :class:`Recipe`."""
        if self.builtin:
            from seqcheck.training.recipes import get_recipe

            return get_recipe(self.target)
        if self.function is not None:
            return self.function
        return _import_target(self.target, self.label, self.path)

    def train(self, pattern: Pattern, *, train_length: int, seed: int, cache_dir: str | None = None) -> Any:
        """The model of ``seed``: a built-in recipe's cached ``.keras`` file (trained if absent), else what the
        user's function returns."""
        if self.builtin:
            from seqcheck.training.cache import cached_model_path

            return cached_model_path(self.target, pattern, train_length=train_length, seed=seed,
                                     cache_dir=cache_dir, settings=self.settings_dict)
        return self.load()(pattern, train_length=train_length, seed=seed, **self.settings_dict)


def _import_target(target: str, spec: str, path: str | None = None) -> Callable[..., Any]:
    """``module:function`` imported as :func:`seqcheck.tasks.resolve_task` imports ``module:attr`` (from the current
    folder too), after adding ``path`` (the folder the module was found in) to ``sys.path``."""
    module_name, _, attr = target.partition(":")
    if path and path not in sys.path:
        sys.path.append(path)
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # a user's module in the folder they run from, as `python -m` finds it
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any error is theirs to fix, in one line
        raise invalid("recipe", spec, f"an importable module (importing {module_name} raised {type(exc).__name__}: {first_line(exc)})",
                      _RECIPE_FIX) from None
    found: Any = module
    for part in attr.split("."):
        found = getattr(found, part, None)
    if not callable(found):
        raise invalid("recipe", spec, f"a function at {attr} in {module_name} (found {type(found).__name__})",
                      "point at a function (pattern, *, train_length, seed, **settings) -> model")
    return found


def _module_root(module_name: str) -> str | None:
    """The ``sys.path`` folder ``module_name`` was imported from (``None`` for ``__main__`` or a module without a file)."""
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if module is None or not file or module_name == "__main__":
        return None
    depth = module_name.count(".") + (1 if Path(file).stem == "__init__" else 0)
    try:
        return str(Path(file).resolve().parents[depth])
    except IndexError:
        return None


def _user_settings(function: Callable[..., Any], settings: dict[str, Any], spec: str) -> dict[str, Any]:
    """``settings`` checked against the function's signature, without those equal to its keyword defaults."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin or an odd callable: nothing to check
        return settings
    try:
        signature.bind(None, train_length=1, seed=0, **settings)
    except TypeError as exc:
        raise invalid("recipe", spec, f"a function (pattern, *, train_length, seed, **settings) that takes these settings ({exc})",
                      "fix the recipe's signature or the settings") from None
    kept = {}
    for key, value in settings.items():
        parameter = signature.parameters.get(key)
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            try:
                if _canonical(parameter.default) == _canonical(value):
                    continue
            except (TypeError, ValueError):
                pass
        kept[key] = value
    return kept


def _builtin(name: str, overrides: Mapping[str, Any]) -> RecipeSpec:
    from seqcheck.training.recipes import get_recipe

    recipe = get_recipe(name)
    unknown = sorted(set(overrides) - set(recipe.settings))
    if unknown:
        spec = f"{name}:{','.join(f'{k}={_format_value(v)}' for k, v in overrides.items())}"
        raise invalid(
            "recipe", spec, f"settings of recipe {name!r}: {', '.join(sorted(recipe.settings))}",
            f"drop or rename the unknown setting {unknown[0]!r}",
        )
    kept = {k: v for k, v in overrides.items() if _canonical(v) != _canonical(recipe.settings[k])}
    return RecipeSpec(recipe.name, tuple(sorted(kept.items())), builtin=True)


def _user(target: str, spec: str, overrides: Mapping[str, Any], function: Callable[..., Any] | None = None) -> RecipeSpec:
    module_name = target.partition(":")[0]
    if function is None:
        function = _import_target(target, spec)
        given = None
    else:
        given = function
    kept = _user_settings(function, dict(overrides), spec)
    return RecipeSpec(target, tuple(sorted(kept.items())), builtin=False, path=_module_root(module_name), function=given)


def resolve_recipe(spec: object, *, settings: Mapping[str, Any] | None = None) -> RecipeSpec:
    """The :class:`RecipeSpec` that ``spec`` names (see the module's docstring): a built-in's name with optional
    ``:key=value,...`` settings, ``module:function[:key=value,...]``, a function, a built-in ``Recipe`` or a
    :class:`RecipeSpec`.  ``settings`` adds (or replaces) settings.  Bad specs are one-line errors."""
    from seqcheck.training.recipes import RECIPES, Recipe

    extra = _check_values(settings or {}, spec)
    if isinstance(spec, RecipeSpec):
        merged = {**spec.settings_dict, **extra}
        if spec.builtin:
            return _builtin(spec.target, merged)
        return _user(spec.target, spec.label, merged, spec.function) if extra else spec
    if isinstance(spec, Recipe):
        return _builtin(spec.name, extra)
    if isinstance(spec, str):
        text = spec.strip()
        name, colon, rest = text.partition(":")
        if name in RECIPES:
            overrides = _parse_settings(rest, text) if colon else {}
            return _builtin(name, {**overrides, **extra})
        if not colon:
            raise invalid("recipe", spec, f"one of {', '.join(sorted(RECIPES))}, or module:function", _RECIPE_FIX)
        module_name = name
        function_name, colon2, setting_text = rest.partition(":")
        if not _DOTTED.match(module_name) or not _DOTTED.match(function_name):
            raise invalid("recipe", spec, "module:function, with dotted Python names (or a built-in recipe's name)", _RECIPE_FIX)
        overrides = _parse_settings(setting_text, text) if colon2 else {}
        return _user(f"{module_name}:{function_name}", text, {**overrides, **extra})
    if callable(spec):
        module_name = getattr(spec, "__module__", None) or "__main__"
        qualname = getattr(spec, "__qualname__", None) or type(spec).__name__
        return _user(f"{module_name}:{qualname}", f"{module_name}:{qualname}", extra, spec)
    raise invalid("recipe", spec, "a recipe name, module:function, or a function", _RECIPE_FIX)


# -- one seed ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvariantOutcome:
    """One invariant's verdict on one seed's model, in a few fields (the full result is in the report's dict)."""

    name: str
    title: str
    status: str
    #: Where the model first fails (see the module's docstring); ``None`` unless it fails.
    first_failing_length: int | None = None
    #: The counterexample as the report renders it, on one line (its lines joined by ``"; "``).
    counterexample: str | None = None
    #: Whether a sweep confirmed the counterexample minimal (else Hypothesis shrank it).
    minimal: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _first_failing_length(result, train_length: int | None) -> int | None:
    if result.passed:
        return None
    if result.name == HEADLINE and result.accuracy_by_length:
        failing = sorted(length for length, accuracy in result.accuracy_by_length.items() if accuracy < 1)
        beyond = [length for length in failing if train_length is None or length >= train_length]
        if failing:
            return (beyond or failing)[0]
    cx = result.counterexample
    return None if cx is None else int(cx.length)


@dataclass
class SeedResult:
    """What a worker sends back for one seed: plain, picklable data, never the model.

    ``outcome`` is ``"pass"`` (every invariant holds), ``"fail"`` or ``"error"`` (``error`` says why, in
    one line); ``invariants`` has one :class:`InvariantOutcome` per invariant checked, in report order;
    ``report`` is the check's :meth:`Report.to_dict`; ``attempts`` counts the times the seed was started.
    """

    seed: int
    outcome: str
    invariants: tuple[InvariantOutcome, ...] = ()
    report: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 1

    @classmethod
    def from_report(cls, seed: int, report) -> SeedResult:
        train_length = report.space.train_length
        outcomes = []
        for result in report.results:
            cx = result.counterexample
            failing = None if result.passed else result.failing_form
            outcomes.append(InvariantOutcome(
                name=result.name, title=result.title or result.name, status=result.status,
                first_failing_length=_first_failing_length(result, train_length),
                counterexample=None if cx is None else "; ".join(cx.lines()),
                minimal=bool(failing is not None and failing.minimal_confirmed),
            ))
        return cls(seed, PASS if report.passed else FAIL, tuple(outcomes), report.to_dict())

    @property
    def passed(self) -> bool | None:
        """Whether the seed's model holds every invariant (``None`` for a seed that ended in error)."""
        return None if self.outcome == ERROR else self.outcome == PASS

    @property
    def statuses(self) -> dict[str, str]:
        """Each invariant's status by its identifier: ``"pass"``, ``"fail"`` or ``"not applicable"``."""
        return {o.name: o.status for o in self.invariants}

    @property
    def failing(self) -> list[InvariantOutcome]:
        """The invariants that fail, length generalization first, then in report order."""
        failing = [o for o in self.invariants if o.status == FAIL]
        return sorted(failing, key=lambda o: o.name != HEADLINE)

    @property
    def first_failing_lengths(self) -> dict[str, int]:
        return {o.name: o.first_failing_length for o in self.failing if o.first_failing_length is not None}

    def line(self, width: int = 1) -> str:
        """``seed 3  FAIL  length generalization from length 11; minimal: window ...``."""
        head = f"seed {self.seed:>{width}}"
        tries = f" ({self.attempts} attempts)" if self.attempts > 1 else ""
        if self.outcome == ERROR:
            return f"{head}  ERROR  {self.error}{tries}"
        if self.outcome == PASS:
            return f"{head}  pass{tries}"
        first, *others = self.failing or [None]
        if first is None:  # fails without a failing invariant: cannot happen, but say so rather than crash
            return f"{head}  FAIL{tries}"
        text = f"{head}  FAIL  {_where(first)}"
        if others:
            text += f" (also {', '.join(_where(o) for o in others)})"
        if first.counterexample:
            kind = "minimal" if first.minimal else "counterexample (not confirmed minimal)"
            text += f"; {kind}: {first.counterexample}"
        return text + tries

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "outcome": self.outcome,
            "passed": self.passed,
            "attempts": self.attempts,
            "error": self.error,
            "invariants": [o.to_dict() for o in self.invariants],
            "report": self.report,
        }


def _where(outcome: InvariantOutcome) -> str:
    if outcome.first_failing_length is None:
        return outcome.title
    return f"{outcome.title} from length {outcome.first_failing_length}"


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs for a seed but the seed (picklable)."""

    spec: RecipeSpec
    pattern: Pattern
    train_length: int
    max_length: int | None
    invariants: tuple[Any, ...] | None
    cache_dir: str | None


def _run_seed(job: _Job, seed: int) -> SeedResult:
    """Train and check one seed (in a worker process, or in this one with ``workers=0``)."""
    stage = "training"
    try:
        model = job.spec.train(job.pattern, train_length=job.train_length, seed=seed, cache_dir=job.cache_dir)
        stage = "the check"
        from seqcheck.checking import check

        report = check(model, pattern=job.pattern, train_length=job.train_length, max_length=job.max_length, seed=seed,
                       invariants=None if job.invariants is None else list(job.invariants))
        del model
        return SeedResult.from_report(seed, report)
    except KeyboardInterrupt:
        raise
    except (Exception, SystemExit) as exc:  # the user's recipe: reported for this seed, in one line
        return SeedResult(seed, ERROR, error=f"{stage} raised {type(exc).__name__}: {first_line(exc)}")


# -- the report ----------------------------------------------------------------------------------


def _plural(count: int, word: str = "seed") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass
class SeedsReport:
    """The outcome of :func:`check_seeds`: one :class:`SeedResult` per seed (in seed order) and their statistics."""

    recipe: str
    pattern: str
    train_length: int
    first_seed: int
    seeds: int
    rows: list[SeedResult]
    max_length: int | None = None
    #: The invariants checked (identifiers), ``None`` for the default battery.
    invariants: list[str] | None = None
    alphabet_size: int | None = None
    #: The CI gate's threshold on the rate of failing models (``--max-failure-rate``), or ``None`` for no gate.
    max_failure_rate: float | None = None

    @property
    def holds(self) -> int:
        """Seeds whose model holds every invariant."""
        return sum(row.outcome == PASS for row in self.rows)

    @property
    def failures(self) -> int:
        """Seeds whose model fails some invariant."""
        return sum(row.outcome == FAIL for row in self.rows)

    @property
    def errors(self) -> int:
        """Seeds that ended in error (training or check raised, or the worker died, on every attempt)."""
        return sum(row.outcome == ERROR for row in self.rows)

    @property
    def n(self) -> int:
        """Seeds that finished (errors excluded): the denominator of the rate."""
        return self.holds + self.failures

    @property
    def rate(self) -> float | None:
        """The fraction of finished seeds whose model holds (``None`` when none finished)."""
        return self.holds / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% Wilson score interval of :attr:`rate` (``None`` when no seed finished)."""
        if not self.n:
            return None
        from seqcheck.training.statistics import binomial_interval

        low, high = binomial_interval(self.holds, self.n, confidence=CONFIDENCE, method="wilson")
        return float(low), float(high)

    @property
    def first_failing_lengths(self) -> dict[str, dict[int, int]]:
        """For each invariant that fails on some seed (length generalization first, then report order): first
        failing length -> number of seeds."""
        order: dict[str, Counter] = {}
        for row in self.rows:
            for outcome in row.failing:
                if outcome.first_failing_length is not None:
                    order.setdefault(outcome.name, Counter())[outcome.first_failing_length] += 1
        names = sorted(order, key=lambda name: name != HEADLINE)
        return {name: dict(sorted(order[name].items())) for name in names}

    def decide(self, max_failure_rate: float, *, confidence: float = CONFIDENCE):
        """Gate the recipe: is the rate of failing models below ``max_failure_rate``?  A
        :class:`~seqcheck.training.statistics.GateDecision` (``pass``, ``fail`` or ``undecided`` with how many more
        seeds might decide, and a one-sentence ``message``), from the failures among the :attr:`n` finished seeds
        (errors are not counted; with none finished, ``gate`` refuses to decide: a one-line error)."""
        from seqcheck.training.statistics import gate

        return gate(self.failures, self.n, max_failure_rate, confidence=confidence, method="wilson")

    @property
    def gate(self):
        """The gate's decision on :attr:`max_failure_rate` (:meth:`decide`), or ``None`` without a gate or a finished seed."""
        if self.max_failure_rate is None or not self.n:
            return None
        return self.decide(self.max_failure_rate)

    @property
    def titles(self) -> dict[str, str]:
        return {o.name: o.title for row in self.rows for o in row.invariants}

    @property
    def reproduce(self) -> str:
        """The command line that runs this check again."""
        argv = ["seqcheck", "check-recipe", self.recipe, "--pattern", self.pattern, "--seeds", str(self.seeds)]
        if self.first_seed:
            argv += ["--first-seed", str(self.first_seed)]
        if self.train_length != DEFAULT_TRAIN_LENGTH:
            argv += ["--train-length", str(self.train_length)]
        if self.max_length is not None:
            argv += ["--max-length", str(self.max_length)]
        if self.alphabet_size is not None:
            argv += ["--alphabet-size", str(self.alphabet_size)]
        if self.invariants is not None:
            argv += ["--invariants", ",".join(self.invariants)]
        if self.max_failure_rate is not None:
            argv += ["--max-failure-rate", str(self.max_failure_rate)]
        return shlex.join(argv)

    def summary_lines(self) -> list[str]:
        lines = []
        if self.n:
            low, high = self.interval
            lines.append(
                f"holds on {self.holds} of {_plural(self.n)} ({self.rate:.1%}); "
                f"95% Wilson interval for the rate of models that hold: {low:.1%}..{high:.1%}"
            )
        else:
            lines.append("no seed finished: no rate")
        tally = f"fails on {_plural(self.failures)}"
        if self.errors:
            tally += f"; {_plural(self.errors)} ended in error (not counted in the rate)"
        lines.append(tally)
        titles = self.titles
        for name, counts in self.first_failing_lengths.items():
            text = ", ".join(f"{length} ({_plural(count)})" for length, count in counts.items())
            lines.append(f"first failing length, {titles.get(name, name)}: {text}")
        return lines

    def render(self) -> str:
        """The text report: a header, a line per seed, the summary, and the command that reproduces it."""
        last = self.first_seed + self.seeds - 1
        header = (f"recipe {self.recipe}  pattern {self.pattern}  training length {self.train_length}"
                  f"{f'  max length {self.max_length}' if self.max_length is not None else ''}"
                  f"  seeds {self.first_seed}..{last} ({_plural(self.seeds)})")
        if self.invariants is not None:
            header += f"  invariants {', '.join(self.invariants)}"
        width = len(str(last))
        decision = self.gate
        gate = [] if decision is None else [f"gate: {decision.message}"]
        if self.max_failure_rate is not None and decision is None:
            gate = ["gate: undecided: no seed finished"]
        lines = [header, *(row.line(width) for row in self.rows), *self.summary_lines(), *gate, f"reproduce: {self.reproduce}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "version": SEEDS_REPORT_VERSION,
            "recipe": self.recipe,
            "pattern": self.pattern,
            "train_length": self.train_length,
            "max_length": self.max_length,
            "invariants": self.invariants,
            "first_seed": self.first_seed,
            "seeds": self.seeds,
            "holds": self.holds,
            "failures": self.failures,
            "errors": self.errors,
            "n": self.n,
            "rate": self.rate,
            "interval": None if interval is None else {
                "method": "wilson", "confidence": CONFIDENCE, "low": interval[0], "high": interval[1],
            },
            "first_failing_lengths": {
                name: {str(length): count for length, count in counts.items()}
                for name, counts in self.first_failing_lengths.items()
            },
            "rows": [row.to_dict() for row in self.rows],
            "gate": None if self.max_failure_rate is None else {
                "max_failure_rate": self.max_failure_rate,
                "outcome": "undecided" if self.gate is None else self.gate.outcome,
                "more_seeds": None if self.gate is None else self.gate.more_seeds,
                "message": "undecided: no seed finished" if self.gate is None else self.gate.message,
            },
            "reproduce": self.reproduce,
        }


# -- running seeds -------------------------------------------------------------------------------


def _whole(name: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive" if least > 0 else "a non-negative"
        raise invalid(name, value, f"{kind} whole number", f"pass {name} as an integer")
    return value


def _rate(name: str, value: object) -> float:
    """``value`` as a rate strictly between 0 and 1, or a one-line error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise invalid(name, value, "a rate strictly between 0 and 1", f"pass e.g. {spell(name, 0.1)}")
    return float(value)


def _battery(invariants: object) -> tuple[Any, ...] | None:
    """The invariants, checked here (a bad name is an error before any training), sent by name where they are the
    library's own (a user's invariant object is sent as is, and must pickle to run in worker processes)."""
    if invariants is None:
        return None
    from seqcheck.invariants import ALL_INVARIANTS, Invariant, resolve_invariant

    items = [invariants] if isinstance(invariants, (str, Invariant)) else list(invariants)
    if not items:
        raise invalid("invariants", [], "a non-empty list of seqcheck invariants", "pass e.g. ['length_generalization']")
    resolved = [resolve_invariant(item) for item in items]
    return tuple(inv.name if any(inv is known for known in ALL_INVARIANTS) else inv for inv in resolved)


#: The reason reported for a seed whose worker process died on every attempt.
DIED = "its worker process died (killed, out of memory, a crash or os._exit) on every attempt"


def _new_pool(workers: int) -> cf.ProcessPoolExecutor:
    context = multiprocessing.get_context("spawn")
    if sys.version_info >= (3, 11):
        return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1)
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context)  # pragma: no cover - Python 3.10


def _stop(pool: cf.ProcessPoolExecutor | None, in_flight: Iterable[cf.Future]) -> None:
    """Cancel pending work, stop the workers (a cached entry is written atomically: a killed training leaves none)
    and shut the pool down."""
    for future in in_flight:
        future.cancel()
    if pool is None:
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


class _Run:
    """The scheduler of :func:`check_seeds`: retries, dead workers, progress."""

    def __init__(self, job: _Job, seeds: list[int], workers: int, retries: int,
                 progress: Callable[[int, int, int, int], Any] | None):
        self.job, self.workers, self.retries, self.progress = job, workers, retries, progress
        self.total = len(seeds)
        self.pending: deque[int] = deque(seeds)
        self.rows: dict[int, SeedResult] = {}
        self.charged: Counter = Counter()  # failed attempts that count against a seed's retries
        self.started: Counter = Counter()
        self.quarantine: set[int] = set()  # seeds that may have killed a worker: each runs alone
        self.in_flight: dict[cf.Future, int] = {}
        self.pool: cf.ProcessPoolExecutor | None = None
        self.restarts = 0

    def tell(self) -> None:
        if self.progress is not None:
            failed = sum(row.outcome != PASS for row in self.rows.values())
            self.progress(len(self.rows), len(self.in_flight), failed, self.total)

    def settle(self, seed: int, row: SeedResult) -> None:
        """An attempt of ``seed`` ended with ``row``: keep it, or retry the seed if it failed and may be retried."""
        if row.outcome == ERROR:
            self.charged[seed] += 1
            if self.charged[seed] <= self.retries:
                self.pending.appendleft(seed)
                return
        row.attempts = self.started[seed]
        self.rows[seed] = row
        self.tell()

    def run(self) -> list[SeedResult]:
        self.tell()
        if self.workers == 0:
            while self.pending:
                seed = self.pending.popleft()
                self.started[seed] += 1
                self.settle(seed, _run_seed(self.job, seed))
        else:
            try:
                self.pool = _new_pool(self.workers)
                while self.pending or self.in_flight:
                    self.dispatch()
                    if self.in_flight:
                        done, _ = cf.wait(list(self.in_flight), return_when=cf.FIRST_COMPLETED)
                        self.collect(done)
            except BaseException:
                _stop(self.pool, self.in_flight)
                self.pool = None
                raise
            finally:
                if self.pool is not None:
                    self.pool.shutdown(wait=True)
        return [self.rows[seed] for seed in sorted(self.rows)]

    def dispatch(self) -> None:
        """Start seeds while a worker is free; a quarantined seed runs alone."""
        while self.pending and len(self.in_flight) < self.workers:
            if any(seed in self.quarantine for seed in self.in_flight.values()):
                return
            seed = self.pending[0]
            if seed in self.quarantine and self.in_flight:
                return
            try:
                future = self.pool.submit(_run_seed, self.job, seed)
            except BrokenProcessPool:  # broke under us: the in-flight futures will say so; else start afresh
                if not self.in_flight:
                    self.renew()
                return
            self.pending.popleft()
            self.started[seed] += 1
            self.in_flight[future] = seed
            self.tell()
            if seed in self.quarantine:
                return

    def collect(self, done: Iterable[cf.Future]) -> None:
        died = self.harvest(done)
        if not died:
            return
        # The pool is broken: every other future ends now, with its result or BrokenProcessPool.
        rest, _ = cf.wait(list(self.in_flight))
        died += self.harvest(rest)
        if len(died) == 1:  # it ran alone: it killed its worker
            seed = died[0]
            self.quarantine.add(seed)
            self.settle(seed, SeedResult(seed, ERROR, error=DIED))
        else:  # one of them did: each runs again, alone, and is charged only then
            self.quarantine.update(died)
            self.pending.extendleft(sorted(died, reverse=True))
        self.renew()
        self.tell()

    def harvest(self, futures: Iterable[cf.Future]) -> list[int]:
        """Settle finished futures; return the seeds whose worker died."""
        died = []
        for future in sorted(futures, key=lambda f: self.in_flight[f]):
            seed = self.in_flight.pop(future)
            try:
                row = future.result()
            except BrokenProcessPool:
                died.append(seed)
                continue
            except cf.CancelledError:
                self.pending.appendleft(seed)
                continue
            except Exception as exc:  # sending the job or the result failed (an invariant that does not pickle)
                row = SeedResult(seed, ERROR, error=f"the worker raised {type(exc).__name__}: {first_line(exc)}")
            self.settle(seed, row)
        return died

    def renew(self) -> None:
        """Replace a broken pool; give up (every unfinished seed in error) if pools keep breaking."""
        self.restarts += 1
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.restarts > 2 * self.total * (self.retries + 1) + 2:
            while self.pending:
                seed = self.pending.popleft()
                self.rows[seed] = SeedResult(seed, ERROR, error="the worker pool kept breaking", attempts=self.started[seed])
            self.pool = None
            raise _GaveUp
        self.pool = _new_pool(self.workers)


class _GaveUp(Exception):
    pass


def check_seeds(
    recipe: object,
    *,
    pattern: str | Pattern | Iterable[int],
    seeds: int = 30,
    first_seed: int = 0,
    train_length: int = DEFAULT_TRAIN_LENGTH,
    max_length: int | None = None,
    invariants: Iterable[Any] | Any | None = None,
    workers: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    retries: int = 1,
    progress: Callable[[int, int, int, int], Any] | None = None,
    max_failure_rate: float | None = None,
) -> SeedsReport:
    """Train one model per seed with ``recipe`` and check each: how reliable is the training procedure?

    ``recipe`` is a spec (:func:`resolve_recipe`).  Seed ``s`` in ``first_seed .. first_seed + seeds - 1``
    trains one model (a built-in recipe through the model cache, ``cache_dir`` or the default, with its
    settings; a user's recipe called directly) and checks it with ``seqcheck.check(model, pattern=pattern,
    train_length=train_length, max_length=max_length, seed=s, invariants=invariants)``.  Seeds run in
    ``workers`` spawned processes (default ``os.cpu_count()``; ``0``: in this process); a seed whose training
    or check raises, or whose worker dies, is retried ``retries`` times, then reported as an error.
    ``progress(done, running, failed, total)`` is called at the start and whenever a seed starts or finishes
    (``failed``: finished seeds whose model fails or that ended in error).  ``max_failure_rate`` makes the report a
    CI gate (:attr:`SeedsReport.gate`): it passes when the 95% interval of the rate of failing models lies below it,
    fails when the interval lies above it, and is undecided otherwise.
    """
    spec = resolve_recipe(recipe)
    pat = Pattern.parse(pattern)
    seeds = _whole("seeds", seeds, 1)
    first_seed = _whole("first_seed", first_seed, 0)
    train_length = _whole("train_length", train_length, 1)
    if max_length is not None:
        max_length = _whole("max_length", max_length, 1)
    retries = _whole("retries", retries, 0)
    if max_failure_rate is not None:
        max_failure_rate = _rate("max_failure_rate", max_failure_rate)
    if workers is None:
        workers = os.cpu_count() or 1
    workers = min(_whole("workers", workers, 0), seeds)
    if progress is not None and not callable(progress):
        raise invalid("progress", progress, "a function (done, running, failed, total)", "pass a callable or None")
    battery = _battery(invariants)
    if workers and not spec.importable:
        raise invalid("recipe", spec.label, "a function a worker process can import by name (module-level, not a lambda or a nested function)",
                      "define it at a module's top level, or pass workers=0 to run every seed in this process")
    job = _Job(spec, pat, train_length, max_length, battery, None if cache_dir is None else os.fspath(cache_dir))
    run = _Run(job, list(range(first_seed, first_seed + seeds)), workers, retries, progress)
    try:
        rows = run.run()
    except _GaveUp:
        rows = [run.rows[seed] for seed in sorted(run.rows)]
    shown = None if pat.alphabet_size == max(2, max(pat.symbols) + 1) else pat.alphabet_size
    return SeedsReport(
        recipe=spec.label, pattern=pat.text, train_length=train_length, first_seed=first_seed, seeds=seeds, rows=rows,
        max_length=max_length, invariants=None if battery is None else [getattr(i, "name", i) for i in battery],
        alphabet_size=shown, max_failure_rate=max_failure_rate,
    )
