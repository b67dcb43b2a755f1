"""Errors seqcheck raises for input it cannot use.

Every message is one line that names the offending ``name=value``, says what was expected and how
to fix it.  The CLI prints the message alone (no traceback) and exits with code 2.
"""

from __future__ import annotations


class SeqcheckError(Exception):
    """Base class of seqcheck's own errors."""


class InvalidArgument(SeqcheckError, ValueError):
    """An argument (pattern, length, option) is not usable as given."""


class ModelError(SeqcheckError):
    """A model cannot be loaded, or its inputs/outputs do not fit the pattern."""


def invalid(name: str, value: object, expected: str, fix: str) -> InvalidArgument:
    """Build the one-line message ``name=value: expected ...; fix``."""
    return InvalidArgument(f"{name}={value!r}: expected {expected}; {fix}")


class CacheWarning(UserWarning):
    """The model cache could not be used (read-only, full): the model was trained into a temporary folder."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, cut to ``limit`` characters: fit for a one-line error."""
    text = str(exc).strip().splitlines()
    line = text[0].strip() if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
