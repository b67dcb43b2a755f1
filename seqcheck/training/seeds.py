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
  (see ``RECIPES[name].settings``) for a pattern; ``task-lstm``, ``task-transformer:layers=2`` (the
  architectures of :mod:`seqcheck.training.task_recipes`; ``fixed_length=true`` trains on length N only)
  for a task; an unknown setting is refused;
- a user's recipe ``module:function``, with optional settings ``module:function:key=value,...``; the
  module is imported as :func:`seqcheck.tasks.resolve_task` imports a task (from the current folder too);
- in Python, the function itself (a :class:`RecipeSpec` stores its ``module:qualname``, so that a
  worker process imports it by name; a lambda or a nested function runs with ``workers=0`` only).

A spec whose text before the first ``:`` is a built-in recipe's name is that recipe (a built-in name
contains ``-`` and no ``.``: it is never a module's name); any other spec must be ``module:function``.
Setting values are read as JSON scalars (``8``, ``0.15``, ``1e-3``, ``true``, ``null``, ``"8"``), anything
else as a string (``activation=relu``); values cannot contain ``,`` unless JSON-quoted.

A user's recipe is any function ``recipe(pattern_or_task, *, train_length, seed, **settings) -> model``
(a :class:`~seqcheck.tasks.patterns.Pattern`, or the :class:`~seqcheck.tasks.base.Task` given as ``task``;
the model anything :func:`seqcheck.check` accepts: a ``keras.Model``, a model file's path, a callable on
numpy batches...).

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

**Processes.**  Seeds run on an engine of :mod:`seqcheck.training.engines`: worker processes on this
machine (``workers``, default ``os.cpu_count()``, never more than the seeds; each process trains and
checks one model and is replaced, so memory stays flat), or a Dask cluster (``scheduler``).
``workers=0`` runs every seed in this process, one after the other (for a debugger, for prints, for
tests that need no processes), with the same retries and the same report.  A spec carries the
``sys.path`` folder its module was imported from, and a worker adds it to its own ``sys.path`` before
importing the recipe.

**The cache, on the client.**  Workers share no disk with the client.  A worker returns a
:class:`SeedResult` (plain data: the report's dict) and, for a built-in recipe, the trained model's
``.keras`` bytes; the client keeps the model in the model cache and the seed's result in the cache's
results.  Before a seed starts, the client looks both up: a finished seed (same recipe identity,
subject, lengths, invariants, seed and seqcheck version) is not run again (its row says "from the
cache"), and a cached model is sent to the worker, which checks it without training.

**Failures of the run itself.**  A training or check that raises is retried ``retries`` times.  A local
worker that dies (killed, out of memory, ``os._exit``) breaks the pool: the pool is recreated and the
seeds that had not finished are submitted again.  When several seeds were running, the one that
killed the pool is unknown: each of them then runs again alone, and a seed is charged an attempt only
for a death while it ran alone (a Dask worker's death is charged to the seed it ran).  A seed still
failing after ``retries`` retries is reported as ``error`` with a one-line reason, is not counted in
the rate, and the run goes on; a finished seed's result is never lost.  A run interrupted (Ctrl-C:
pending seeds are cancelled, the workers stopped and ``KeyboardInterrupt`` re-raised) and run again
starts from the seeds that had not finished.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import importlib
import inspect
import json
import math
import os
import re
import shlex
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqcheck.errors import first_line, invalid
from seqcheck.spelling import spell
from seqcheck.tasks.base import SequenceTask, Task
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

_RECIPE_FIX = ("name a built-in recipe (fixed-window, varied-window; for a task task-lstm, task-transformer) with optional"
               " :key=value settings, or your own as module:function")
#: The built-in task recipes, by name: the architecture of :mod:`seqcheck.training.task_recipes` each trains.
TASK_RECIPES = {"task-lstm": "lstm", "task-transformer": "transformer"}
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

    @property
    def for_tasks(self) -> bool:
        """Whether the recipe is a built-in task recipe (``task-lstm``, ``task-transformer``: trained on a task)."""
        return self.builtin and self.target in TASK_RECIPES

    def load(self) -> Callable[..., Any]:
        """The user's recipe function (imported by name unless given)."""
        if self.function is not None:
            return self.function
        return _import_target(self.target, self.label, self.path)

    def train(self, subject: Pattern | Task, *, train_length: int, seed: int) -> Any:
        """The model of ``seed``: what a built-in recipe trains (a ``keras.Model``), or what the user's function returns."""
        if self.for_tasks:
            from seqcheck.training.task_recipes import train_task_model

            return train_task_model(subject, TASK_RECIPES[self.target], max_train_length=train_length, seed=seed,
                                    settings=self.settings_dict)
        if self.builtin:
            from seqcheck.training.recipes import train

            return train(self.target, subject, train_length=train_length, seed=seed, settings=self.settings_dict)
        return self.load()(subject, train_length=train_length, seed=seed, **self.settings_dict)

    def entry(self, subject: Pattern | Task, *, train_length: int, seed: int, cache_dir: str | None):
        """The model cache's :class:`~seqcheck.training.cache.Entry` of a built-in recipe's model (``None`` for a user's
        recipe: its models are not cached, its seeds' results are)."""
        if self.for_tasks:
            from seqcheck.training.task_recipes import task_entry

            return task_entry(subject, TASK_RECIPES[self.target], max_train_length=train_length, seed=seed,
                              settings=self.settings_dict, cache_dir=cache_dir)
        if self.builtin:
            from seqcheck.training.cache import recipe_entry

            return recipe_entry(self.target, subject, train_length=train_length, seed=seed, cache_dir=cache_dir,
                                settings=self.settings_dict)
        return None

    def identity(self) -> dict[str, Any] | None:
        """What a user's recipe is, for the key of its seeds' cached results: its name, settings and the sha256 of its
        module's source file (edit the module and its seeds run again); ``None`` when the source cannot be read (the
        results are then not cached).  A built-in recipe is known by its model's cache key instead."""
        try:
            function = self.load()
            source = inspect.getsourcefile(inspect.unwrap(function))
            digest = hashlib.sha256(Path(source).read_bytes()).hexdigest() if source else None
        except Exception:  # a builtin function, a class from C, a file gone: no identity, no cached results
            return None
        if digest is None:
            return None
        return {"recipe": self.target, "settings": self.settings_dict, "source_sha256": digest}


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


def _builtin_settings(name: str) -> Mapping[str, Any]:
    """The default settings of a built-in recipe (a pattern recipe, or a task recipe)."""
    if name in TASK_RECIPES:
        from seqcheck.training.task_recipes import ARCHITECTURES

        return ARCHITECTURES[TASK_RECIPES[name]]
    from seqcheck.training.recipes import get_recipe

    return get_recipe(name).settings


def _builtin(name: str, overrides: Mapping[str, Any]) -> RecipeSpec:
    defaults = _builtin_settings(name)
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        spec = f"{name}:{','.join(f'{k}={_format_value(v)}' for k, v in overrides.items())}"
        raise invalid(
            "recipe", spec, f"settings of recipe {name!r}: {', '.join(sorted(defaults))}",
            f"drop or rename the unknown setting {unknown[0]!r}",
        )
    if name in TASK_RECIPES:  # bad values are refused now, not in every worker
        from seqcheck.training.task_recipes import resolve_task_settings

        resolve_task_settings(TASK_RECIPES[name], overrides)
    kept = {k: v for k, v in overrides.items() if _canonical(v) != _canonical(defaults[k])}
    return RecipeSpec(name, tuple(sorted(kept.items())), builtin=True)


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
    builtins = {**RECIPES, **TASK_RECIPES}
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
        if name in builtins:
            overrides = _parse_settings(rest, text) if colon else {}
            return _builtin(name, {**overrides, **extra})
        if not colon:
            raise invalid("recipe", spec, f"one of {', '.join(builtins)}, or module:function", _RECIPE_FIX)
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
    ``report`` is the check's :meth:`Report.to_dict`; ``attempts`` counts the times the seed was started;
    ``cached`` says the row was read from the cache of results (a seed finished by an earlier run).
    """

    seed: int
    outcome: str
    invariants: tuple[InvariantOutcome, ...] = ()
    report: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 1
    cached: bool = False
    #: Seconds the seed's last attempt took (training and check), in the process that ran it.
    seconds: float | None = field(default=None, compare=False)
    #: The peak resident memory of the process that ran the seed, in MiB, when the seed ended (a worker process
    #: runs one seed: its own peak; a Dask worker's or this process's peak so far).
    peak_rss_mib: float | None = field(default=None, compare=False)
    #: A built-in recipe's trained model (``.keras`` bytes), on its way from the worker to the client's cache.
    model_file: bytes | None = field(default=None, repr=False, compare=False)

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeedResult:
        """The row :meth:`to_dict` wrote (a ``KeyError`` or ``TypeError`` for anything else)."""
        return cls(
            seed=int(data["seed"]), outcome=data["outcome"], report=data["report"], error=data["error"],
            attempts=int(data["attempts"]), cached=bool(data.get("cached", False)),
            seconds=data.get("seconds"), peak_rss_mib=data.get("peak_rss_mib"),
            invariants=tuple(InvariantOutcome(**outcome) for outcome in data["invariants"]),
        )

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
        if self.cached:
            tries += " (from the cache: finished by an earlier run)"
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
            "cached": self.cached,
            "seconds": self.seconds,
            "peak_rss_mib": self.peak_rss_mib,
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
    """Everything a worker needs for a seed but the seed (picklable; no cache folder: workers share no disk with the
    client)."""

    spec: RecipeSpec
    #: The pattern, or the task (by name where it has one, so that a worker resolves it itself).
    pattern: Pattern | None
    task: Any
    train_length: int
    max_length: int | None
    invariants: tuple[Any, ...] | None

    def subject(self) -> Pattern | Task:
        if self.pattern is not None:
            return self.pattern
        from seqcheck.tasks import resolve_task

        return resolve_task(self.task)


def _run_seed(job: _Job, seed: int, model_file: bytes | None = None) -> SeedResult:
    """Train and check one seed (in a worker process, on a Dask worker, or in this process with ``workers=0``).

    A built-in recipe's model is saved to a temporary ``.keras`` file, checked from that file as the cache's model
    would be, and its bytes come back in :attr:`SeedResult.model_file` for the client to cache; ``model_file`` (the
    client's cached model) skips the training.  A user's recipe's model is checked as the recipe returned it.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seqcheck-seed-") as folder:
        row = _train_and_check(job, seed, model_file, Path(folder))
    row.seconds = round(time.perf_counter() - started, 3)
    row.peak_rss_mib = peak_rss_mib()
    return row


def _train_and_check(job: _Job, seed: int, model_file: bytes | None, folder: Path) -> SeedResult:
    """One attempt at a seed (see :func:`_run_seed`), its model file written in ``folder``."""
    stage = "training"
    try:
        subject = job.subject()
        shipped = None
        if model_file is not None or job.spec.builtin:
            model = folder / "model.keras"
            if model_file is not None:
                model.write_bytes(model_file)
            else:
                job.spec.train(subject, train_length=job.train_length, seed=seed).save(model)
                shipped = model.read_bytes()
        else:
            model = job.spec.train(subject, train_length=job.train_length, seed=seed)
        stage = "the check"
        from seqcheck.checking import check

        report = check(model, **_subject_option(job.pattern, job.task), train_length=job.train_length,
                       max_length=job.max_length, seed=seed,
                       invariants=None if job.invariants is None else list(job.invariants))
        del model
        row = SeedResult.from_report(seed, report)
        row.model_file = shipped
        return row
    except KeyboardInterrupt:
        raise
    except (Exception, SystemExit) as exc:  # the user's recipe: reported for this seed, in one line
        return SeedResult(seed, ERROR, error=f"{stage} raised {type(exc).__name__}: {first_line(exc)}")


def _subject_option(pattern: Pattern | None, task: Any) -> dict[str, Any]:
    """``{"pattern": ...}`` or ``{"task": ...}``, as :func:`seqcheck.check` takes it."""
    return {"pattern": pattern} if pattern is not None else {"task": task}


def peak_rss_mib() -> float | None:
    """This process's peak resident memory so far, in MiB: Linux's ``VmHWM`` (the process's own; ``ru_maxrss`` of a
    spawned worker starts at its parent's peak), else ``ru_maxrss``, else ``None``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except (OSError, ValueError):
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)  # bytes on macOS, KiB elsewhere


# -- the report ----------------------------------------------------------------------------------


def _plural(count: int, word: str = "seed") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass
class SeedsReport:
    """The outcome of :func:`check_seeds`: one :class:`SeedResult` per seed (in seed order) and their statistics."""

    recipe: str
    #: The pattern every model was trained on and checked against (``None`` for a task).
    pattern: str | None
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
    #: The task every model was trained on and checked against, as it was named (``None`` for a pattern).
    task: str | None = None
    #: Whether the gate is sequential (``--stop-early``): decided on the anytime-valid interval, seeds stopped once it is.
    stop_early: bool = False
    #: Whether the sequential gate stopped the run before every seed was started.
    stopped_early: bool = False

    @property
    def gate_method(self) -> str:
        """The interval the gate decides on: ``"anytime"`` for a sequential gate, else ``"wilson"``."""
        return "anytime" if self.stop_early else "wilson"

    @property
    def subject_options(self) -> list[str]:
        """``["--pattern", "11000"]`` or ``["--task", "parity"]``: what the models were trained on, as options."""
        return ["--pattern", self.pattern] if self.pattern is not None else ["--task", str(self.task)]

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

        return gate(self.failures, self.n, max_failure_rate, confidence=confidence, method=self.gate_method)

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
        argv = ["seqcheck", "check-recipe", self.recipe, *self.subject_options, "--seeds", str(self.seeds)]
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
        if self.stop_early:
            argv += ["--stop-early"]
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
        header = (f"recipe {self.recipe}  {' '.join(self.subject_options).lstrip('-')}  training length {self.train_length}"
                  f"{f'  max length {self.max_length}' if self.max_length is not None else ''}"
                  f"  seeds {self.first_seed}..{last} ({_plural(self.seeds)})")
        if self.invariants is not None:
            header += f"  invariants {', '.join(self.invariants)}"
        width = len(str(last))
        decision = self.gate
        gate = [] if decision is None else [f"gate: {decision.message}"]
        if self.stopped_early:
            gate.append(f"stopped early: the sequential gate was decided after {_plural(len(self.rows))} of {self.seeds}"
                        " (its interval is valid at every number of seeds, so stopping on it is sound)")
        if self.max_failure_rate is not None and decision is None:
            gate = [f"gate: {NO_SEED_FINISHED}"]
        lines = [header, *(row.line(width) for row in self.rows), *self.summary_lines(), *gate, f"reproduce: {self.reproduce}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        interval, decision = self.interval, self.gate
        return {
            "version": SEEDS_REPORT_VERSION,
            "recipe": self.recipe,
            "pattern": self.pattern,
            "task": self.task,
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
                "method": self.gate_method,
                "sequential": self.stop_early,
                "stopped_early": self.stopped_early,
                "outcome": "undecided" if decision is None else decision.outcome,
                "more_seeds": None if decision is None else decision.more_seeds,
                "message": NO_SEED_FINISHED if decision is None else decision.message,
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


#: The gate's message when it has nothing to decide on.
NO_SEED_FINISHED = "undecided: no seed finished"
#: The reason reported for a seed whose worker process died.
DIED = "its worker process died (killed, out of memory, a crash or os._exit) on every attempt"


class _Store:
    """The client's side of the cache for one run: finished seeds' results (any recipe whose identity is known) and
    built-in recipes' trained models.  Workers never touch it: models and reports come back to the client."""

    def __init__(self, job: _Job, cache_dir: str | None, fresh: bool):
        self.job, self.cache_dir, self.fresh = job, cache_dir, fresh
        self.subject = job.subject()
        self.recipe_identity = None if job.spec.builtin else job.spec.identity()
        self.entries: dict[int, Any] = {}

    def _entry(self, seed: int):
        """The seed's model cache entry (``None`` for a user's recipe), made once: its key reads library versions."""
        if seed not in self.entries:
            self.entries[seed] = self.job.spec.entry(self.subject, train_length=self.job.train_length, seed=seed,
                                                     cache_dir=self.cache_dir)
        return self.entries[seed]

    def _result_key(self, seed: int) -> dict[str, Any] | None:
        job = self.job
        if job.spec.builtin:
            model = dict(self._entry(seed).key_data)
        elif self.recipe_identity is not None:
            model = {**self.recipe_identity, "seed": seed}
        else:
            return None
        if job.invariants is not None and not all(isinstance(item, str) for item in job.invariants):
            return None  # a user's invariant object: what it checks is not known by name
        from seqcheck import __version__

        if isinstance(self.subject, Pattern):
            subject = {"pattern": list(self.subject.symbols), "alphabet_size": self.subject.alphabet_size}
        else:
            subject = {"task": self.subject.name, "task_spec": job.task if isinstance(job.task, str) else None,
                       "symbols": list(self.subject.symbols), "classes": list(self.subject.classes)}
        return {
            "result": "seed", "version": SEEDS_REPORT_VERSION, "seqcheck": __version__, "model": model,
            "subject": subject, "train_length": job.train_length, "max_length": job.max_length,
            "invariants": None if job.invariants is None else list(job.invariants), "seed": seed,
        }

    def _slug(self, seed: int) -> str:
        return f"seed-{self.job.spec.target.replace(':', '.')}-s{seed}"

    def finished(self, seed: int) -> SeedResult | None:
        """The seed's result from an earlier run, if the cache holds it (never with ``fresh``)."""
        key = None if self.fresh else self._result_key(seed)
        if key is None:
            return None
        from seqcheck.training.cache import cached_result

        stored = cached_result(key, slug=self._slug(seed), cache_dir=self.cache_dir)
        try:
            row = SeedResult.from_dict(stored)
        except (KeyError, TypeError, ValueError):
            return None
        if row.seed != seed or row.outcome not in (PASS, FAIL):
            return None
        row.cached = True
        return row

    def model_file(self, seed: int) -> bytes | None:
        """A built-in recipe's cached model for the seed (its bytes, sent to the worker instead of a training)."""
        entry = self._entry(seed)
        path = None if entry is None else entry.existing()
        return None if path is None else path.read_bytes()

    def keep(self, seed: int, row: SeedResult) -> None:
        """Cache what a finished seed brought back: its trained model, then its result (not a seed in error)."""
        if row.model_file is not None:
            self._entry(seed).store(row.model_file)
            row.model_file = None
        key = self._result_key(seed) if row.outcome in (PASS, FAIL) else None
        if key is not None:
            from seqcheck.training.cache import store_result

            store_result(key, row.to_dict(), slug=self._slug(seed), cache_dir=self.cache_dir)


class _Run:
    """The scheduler of :func:`check_seeds`: cached seeds, retries, dead workers, progress."""

    def __init__(self, job: _Job, seeds: list[int], engine, store: _Store, retries: int,
                 progress: Callable[[int, int, int, int], Any] | None, stop_at: float | None = None):
        self.job, self.engine, self.store, self.retries, self.progress = job, engine, store, retries, progress
        self.seeds, self.stop_at, self.stopped = seeds, stop_at, False
        self.total = len(seeds)
        self.rows: dict[int, SeedResult] = {}
        for seed in seeds:
            row = store.finished(seed)
            if row is not None:
                self.rows[seed] = row
        self.pending: deque[int] = deque(seed for seed in seeds if seed not in self.rows)
        self.charged: Counter = Counter()  # failed attempts that count against a seed's retries
        self.started: Counter = Counter()
        self.quarantine: set[int] = set()  # seeds that may have killed a worker: each runs alone
        self.in_flight: dict[cf.Future, int] = {}
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
        self.store.keep(seed, row)
        self.rows[seed] = row
        self.stop_if_decided()
        self.tell()

    def stop_if_decided(self) -> None:
        """With a sequential gate (``stop_at``, the maximum failure rate): start no more seeds once the anytime-valid
        interval of the failure rate, over the seeds finished in seed order (a prefix: the outcomes in the order of
        a fixed sequence, whatever order the workers finished them in), lies on one side of it.  Seeds already
        running finish and are reported."""
        if self.stop_at is None or self.stopped or not self.pending:
            return
        failures = n = 0
        for seed in self.seeds:
            row = self.rows.get(seed)
            if row is None:
                break
            failures, n = failures + (row.outcome == FAIL), n + (row.outcome != ERROR)
        from seqcheck.training.statistics import gate

        if n and gate(failures, n, self.stop_at, confidence=CONFIDENCE, method="anytime").outcome != "undecided":
            self.pending.clear()
            self.stopped = True

    def run(self) -> list[SeedResult]:
        self.stop_if_decided()
        self.tell()
        if self.engine is None:
            while self.pending:
                seed = self.pending.popleft()
                self.started[seed] += 1
                self.settle(seed, _run_seed(self.job, seed, self.store.model_file(seed)))
        elif self.pending:
            try:
                self.engine.start()
                while self.pending or self.in_flight:
                    self.dispatch()
                    if self.in_flight:
                        done, _ = cf.wait(list(self.in_flight), return_when=cf.FIRST_COMPLETED)
                        self.collect(done)
            except BaseException:
                self.engine.stop(self.in_flight)
                raise
            self.engine.close()
        return [self.rows[seed] for seed in sorted(self.rows)]

    def dispatch(self) -> None:
        """Start seeds while the engine has room; a quarantined seed runs alone."""
        capacity = self.engine.capacity()
        while self.pending and len(self.in_flight) < capacity:
            if any(seed in self.quarantine for seed in self.in_flight.values()):
                return
            seed = self.pending[0]
            if seed in self.quarantine and self.in_flight:
                return
            try:
                future = self.engine.submit(_run_seed, self.job, seed, self.store.model_file(seed))
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
        # A local pool is broken: every other future ends now, with its result or BrokenProcessPool.
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
        """Settle finished futures; return the seeds whose local worker died (a Dask worker's death is charged to its
        seed at once: Dask knows which task it ran)."""
        died = []
        for future in sorted(futures, key=lambda f: self.in_flight[f]):
            seed = self.in_flight.pop(future)
            try:
                row = future.result()
            except cf.CancelledError:
                self.pending.appendleft(seed)
                continue
            except Exception as exc:  # a death, or sending the job or the result failed (an invariant that does not pickle)
                if self.engine.died(exc) and self.engine.deaths_are_shared:
                    died.append(seed)
                    continue
                reason = (f"{DIED}; the last: {first_line(exc)}" if self.engine.died(exc)
                          else f"the worker raised {type(exc).__name__}: {first_line(exc)}")
                row = SeedResult(seed, ERROR, error=reason)
            self.settle(seed, row)
        return died

    def renew(self) -> None:
        """Replace a broken pool; give up (every unfinished seed in error) if pools keep breaking."""
        self.restarts += 1
        if self.restarts > 2 * self.total * (self.retries + 1) + 2:
            self.engine.stop(())
            while self.pending:
                seed = self.pending.popleft()
                self.rows[seed] = SeedResult(seed, ERROR, error="the worker pool kept breaking", attempts=self.started[seed])
            raise _GaveUp
        self.engine.renew()


class _GaveUp(Exception):
    pass


def check_seeds(
    recipe: object,
    *,
    pattern: str | Pattern | Iterable[int] | None = None,
    task: str | Task | None = None,
    seeds: int = 30,
    first_seed: int = 0,
    train_length: int = DEFAULT_TRAIN_LENGTH,
    max_length: int | None = None,
    invariants: Iterable[Any] | Any | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
    fresh: bool = False,
    retries: int = 1,
    progress: Callable[[int, int, int, int], Any] | None = None,
    max_failure_rate: float | None = None,
    stop_early: bool = False,
) -> SeedsReport:
    """Train one model per seed with ``recipe`` and check each: how reliable is the training procedure?

    ``recipe`` is a spec (:func:`resolve_recipe`); the models are trained on ``pattern`` or on ``task`` (one of the
    two: a pattern recipe takes a pattern, ``task-lstm`` and ``task-transformer`` a task, a user's recipe either).
    Seed ``s`` in ``first_seed .. first_seed + seeds - 1`` trains one model and checks it with
    ``seqcheck.check(model, pattern=pattern or task=task, train_length=train_length, max_length=max_length, seed=s,
    invariants=invariants)``.

    Seeds run in ``workers`` spawned processes (default ``os.cpu_count()``; ``0``: in this process), or on the Dask
    cluster whose scheduler ``scheduler`` names (an address like ``tcp://host:8786``, or a ``distributed.Client``;
    default ``$SEQCHECK_SCHEDULER`` when ``workers`` is not given either); see :mod:`seqcheck.training.engines`.
    A seed whose training or check raises, or whose worker dies, is retried ``retries`` times, then reported as an
    error.  Trained models (built-in recipes) and finished seeds' results come back to this process and are kept in
    the model cache (``cache_dir``, default ``$SEQCHECK_CACHE_DIR`` or ``~/.cache/seqcheck``): a run interrupted and
    started again retrains and rechecks no finished seed (``fresh=True`` checks every seed again, still with the
    cached models).  A user's recipe is known there by its name, settings and the sha256 of its module's source.

    ``progress(done, running, failed, total)`` is called at the start and whenever a seed starts or finishes
    (``failed``: finished seeds whose model fails or that ended in error).  ``max_failure_rate`` makes the report a
    CI gate (:attr:`SeedsReport.gate`): it passes when the 95% interval of the rate of failing models lies below it,
    fails when the interval lies above it, and is undecided otherwise.  ``stop_early=True`` makes the gate
    sequential: it decides on the anytime-valid interval (:func:`~seqcheck.training.statistics.binomial_interval`'s
    ``"anytime"``, wider than Wilson's at any one count, but valid however often it is looked at), which is looked
    at whenever a seed finishes, and no seed is started once it decides.
    """
    spec = resolve_recipe(recipe)
    pat, task_spec = _subject(spec, pattern, task)
    seeds = _whole("seeds", seeds, 1)
    first_seed = _whole("first_seed", first_seed, 0)
    train_length = _whole("train_length", train_length, 1)
    if max_length is not None:
        max_length = _whole("max_length", max_length, 1)
    retries = _whole("retries", retries, 0)
    if max_failure_rate is not None:
        max_failure_rate = _rate("max_failure_rate", max_failure_rate)
    if stop_early and max_failure_rate is None:
        raise invalid("stop_early", stop_early, "a gate's threshold to decide on",
                      f"pass {spell('max_failure_rate', 0.1)} too, or drop {spell('stop_early', True)}")
    if workers is not None:
        workers = _whole("workers", workers, 0)
    if progress is not None and not callable(progress):
        raise invalid("progress", progress, "a function (done, running, failed, total)", "pass a callable or None")
    battery = _battery(invariants)
    from seqcheck.training.engines import resolve_engine

    engine = resolve_engine(workers=workers, scheduler=scheduler, seeds=seeds)
    if engine is not None and not spec.importable:
        raise invalid("recipe", spec.label, "a function a worker process can import by name (module-level, not a lambda or a nested function)",
                      "define it at a module's top level, or pass workers=0 to run every seed in this process")
    job = _Job(spec, pat, task_spec, train_length, max_length, battery)
    store = _Store(job, None if cache_dir is None else os.fspath(cache_dir), bool(fresh))
    run = _Run(job, list(range(first_seed, first_seed + seeds)), engine, store, retries, progress,
               stop_at=max_failure_rate if stop_early else None)
    try:
        rows = run.run()
    except _GaveUp:
        rows = [run.rows[seed] for seed in sorted(run.rows)]
    shown = None if pat is None or pat.alphabet_size == max(2, max(pat.symbols) + 1) else pat.alphabet_size
    return SeedsReport(
        recipe=spec.label, pattern=None if pat is None else pat.text, train_length=train_length, first_seed=first_seed,
        seeds=seeds, rows=rows, max_length=max_length,
        invariants=None if battery is None else [getattr(i, "name", i) for i in battery],
        alphabet_size=shown, max_failure_rate=max_failure_rate,
        task=None if task_spec is None else task_spec if isinstance(task_spec, str) else store.subject.name,
        stop_early=bool(stop_early), stopped_early=run.stopped,
    )


def _subject(spec: RecipeSpec, pattern: object, task: object) -> tuple[Pattern | None, Any]:
    """The pattern, or the task (by name where it has one), that the recipe trains on; one-line errors for neither,
    both, or a built-in recipe given the other kind."""
    if (pattern is None) == (task is None):
        given = "pattern" if pattern is not None else "task"
        raise invalid(given, pattern if pattern is not None else task,
                      "a pattern or a task, not both" if pattern is not None else "a pattern or a task to train on",
                      "pass --pattern P (e.g. 11000) or --task T (e.g. parity)")
    if pattern is not None:
        if spec.for_tasks:
            raise invalid("recipe", spec.label, "a recipe that trains on a pattern, since --pattern is given",
                          "use fixed-window or varied-window, or --task T with this recipe")
        return Pattern.parse(pattern), None
    if spec.builtin and not spec.for_tasks:
        raise invalid("recipe", spec.label, "a recipe that trains on a task, since --task is given",
                      f"use {' or '.join(TASK_RECIPES)}, or --pattern P with this recipe")
    from seqcheck.tasks import BUILTIN_TASKS, resolve_task

    resolved = resolve_task(task)  # a bad name is one line now, before any training
    if spec.for_tasks and not isinstance(resolved, SequenceTask):
        raise invalid("task", resolved.name, f"a sequence task (whole-sequence classification), which {spec.target} trains on",
                      "pick a built-in task like parity, or a SequenceTask of your own")
    named = task if isinstance(task, str) else next((name for name, known in BUILTIN_TASKS.items() if known is resolved), None)
    return None, named if named is not None else resolved
