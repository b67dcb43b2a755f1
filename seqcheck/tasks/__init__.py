"""Tasks: what a model is asked to do, with the oracle that says the right answer.

- :class:`~seqcheck.tasks.stream.StreamTask`: windows of one periodic stream (a ``pattern``);
- :class:`~seqcheck.tasks.base.SequenceTask`: whole-sequence classification -- the built-in tasks of
  :mod:`seqcheck.tasks.builtin` (``seqcheck tasks`` lists them) or a user's own.

:func:`resolve_task` turns what a user names (a built-in's name, ``module:attr``, a task) into a task.
"""

from __future__ import annotations

import importlib
import sys

from seqcheck.errors import first_line, invalid
from seqcheck.tasks.base import SequenceTask, Task, positional_inputs
from seqcheck.tasks.builtin import BUILTIN_TASKS, cycle_navigation, dyck_1, even_pairs, modular_arithmetic, parity
from seqcheck.tasks.relations import Relation, interior_substitution, neutral_insertion, transposition
from seqcheck.tasks.stream import StreamTask

__all__ = [
    "BUILTIN_TASKS", "Relation", "SequenceTask", "StreamTask", "Task", "cycle_navigation", "dyck_1", "even_pairs",
    "interior_substitution", "modular_arithmetic", "neutral_insertion", "parity", "positional_inputs", "resolve_task",
    "transposition",
]

_FIX = "name a built-in task (seqcheck tasks lists them) or your own as module:attr"


def resolve_task(spec: object) -> Task:
    """The task ``spec`` names: a :class:`Task`, a built-in task's name (``parity``), or ``module:attr`` naming a
    task object in an importable module (imported from the current directory too, as pytest does)."""
    if isinstance(spec, Task):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise invalid("task", spec, "a task name or module:attr", _FIX)
    if spec in BUILTIN_TASKS:
        return BUILTIN_TASKS[spec]
    if ":" not in spec:
        raise invalid("task", spec, f"one of {', '.join(BUILTIN_TASKS)}, or module:attr", _FIX)
    module_name, _, attr = spec.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # a user's task module in the folder they run from, as `python -m` finds it
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any error is theirs to fix, in one line
        raise invalid("task", spec, f"an importable module (importing {module_name} raised {type(exc).__name__}: {first_line(exc)})", _FIX) from None
    task = module
    for part in attr.split("."):
        task = getattr(task, part, None)
    if not isinstance(task, Task):
        raise invalid("task", spec, f"a seqcheck task object at {attr} in {module_name} (found {type(task).__name__})", "point at a SequenceTask(...)")
    return task
