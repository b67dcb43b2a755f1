"""Errors seqcheck raises for input it cannot use.

Every message is one line that names the offending ``name=value``, says what was expected and how
to fix it.  The CLI prints the message alone (no traceback) and exits with code 2.
"""

from __future__ import annotations

import re

from seqcheck.spelling import spell


class SeqcheckError(Exception):
    """Base class of seqcheck's own errors."""


class InvalidArgument(SeqcheckError, ValueError):
    """An argument (pattern, length, option) is not usable as given."""


class ModelError(SeqcheckError):
    """A model cannot be loaded, or its inputs/outputs do not fit the pattern."""


def invalid(name: str, value: object, expected: str, fix: str) -> InvalidArgument:
    """Build the one-line message ``name=value: expected ...; fix``, the option spelled as the user's interface
    spells it (:func:`seqcheck.spelling.spell`)."""
    return InvalidArgument(f"{spell(name, value)}: expected {expected}; {fix}")


class CacheWarning(UserWarning):
    """The model cache could not be used (read-only, full): the model was trained into a temporary folder."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, cut to ``limit`` characters: fit for a one-line error."""
    text = str(exc).strip().splitlines()
    line = text[0].strip() if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


#: Control characters other than newline (C0, DEL, C1) and lone surrogates (undecodable bytes of file names).
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode, shown as that byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def printable(text: str, encoding: str | None = "utf-8") -> str:
    """``text`` safe to show on a terminal or to write into a text report.

    Control characters other than newline (an escape sequence from a layer name or a file name, a
    carriage return) are shown escaped, like ``\\x1b``, and so are the undecodable bytes of a file name
    and any character ``encoding`` (the stream's; ``None``: any) cannot encode.
    """
    text = _UNPRINTABLE.sub(_escape, text)
    return text if encoding is None else text.encode(encoding, "backslashreplace").decode(encoding)
