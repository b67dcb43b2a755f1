"""How an option is spelled in the interface the user is in: ``alphabet_size=3`` in Python,
``--alphabet-size=3`` on the command line.

Messages (errors, hints) name options through :func:`spell`, so that each user reads the spelling
they can type.  The command line sets :data:`INTERFACE` for the duration of a command; everything
else (the API, the pytest plugin's fixtures) reads Python names.
"""

from __future__ import annotations

import shlex
from contextvars import ContextVar

#: ``"python"`` (the default) or ``"cli"``.
INTERFACE: ContextVar[str] = ContextVar("seqcheck_interface", default="python")

#: Options whose command-line flag is not their Python name with dashes.
_CLI_FLAGS = {"output": "--output-kind", "allow_unsafe": "--unsafe-load", "recipe": "RECIPE"}

_UNSET = object()


def spell(name: str, value: object = _UNSET) -> str:
    """``name`` (with ``value``) as the user types it: ``train_length=10`` or ``--train-length=10``; without a
    value, the option alone (``train_length=``, ``--train-length``)."""
    if name.startswith("-"):  # already a command-line flag (an error about --json names it so)
        return name if value is _UNSET or value is True else f"{name}={shlex.quote(str(value))}"
    if INTERFACE.get() == "cli":
        flag = _CLI_FLAGS.get(name, "--" + name.replace("_", "-"))
        return flag if value is _UNSET or value is True else f"{flag}={shlex.quote(str(value))}"
    return f"{name}=" if value is _UNSET else f"{name}={value!r}"
