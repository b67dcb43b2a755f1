"""Model files as untrusted data, whatever their framework: reading their bytes, bounding what an archive unpacks
to, and keeping what a framework prints off the terminal while it is imported or loads a file.

Every format's loader (``.keras``, ``.pt2``, ``.onnx``) screens a file with these before the framework opens it
(see docs/threat-model.md).  Importing this module imports no framework.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterator

from seqcheck.errors import ModelError, first_line, invalid

__all__ = [
    "MAX_UNPACKED_ENV", "UNSAFE_OPT_IN", "VERBOSE_ENV", "quiet_framework", "read_head", "size_text", "unpack_zip_bounded", "unpacked_bound",
]

#: Bounds on what a model file may unpack to, counted in bytes really decompressed (``$SEQCHECK_MAX_UNPACKED_MIB``
#: overrides the default of 1 GiB).
DEFAULT_MAX_UNPACKED = 1 << 30
MAX_UNPACKED_ENV = "SEQCHECK_MAX_UNPACKED_MIB"
#: How a refusal of a file that could run code says to opt in (Keras, PyTorch).
UNSAFE_OPT_IN = "if you trust the file, opt in with --unsafe-load (CLI) or allow_unsafe=True (Python)"
#: Set to 1 to have what :func:`quiet_framework` kept off the terminal written to stderr afterwards.
VERBOSE_ENV = "SEQCHECK_VERBOSE"
#: Members are decompressed this many bytes at a time: the screen's own memory.
_CHUNK_BYTES = 1 << 20
#: How frameworks write members (stored) and how zip tools recompress them. Zip's bzip2 and LZMA readers inflate a
#: whole compressed block at once, so no reader, seqcheck's or a framework's, could bound them.
_COMPRESSIONS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _flush_stderr() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        with contextlib.suppress(AttributeError, ValueError, OSError):  # absent or closed
            stream.flush()


@contextlib.contextmanager
def _stderr_fd_to(fd: int) -> Iterator[None]:
    """Point file descriptor 2 at ``fd``; put it back afterwards, whatever happens (an error, Ctrl-C)."""
    _flush_stderr()
    saved = os.dup(2)
    try:
        os.dup2(fd, 2)
        yield
    finally:
        _flush_stderr()  # Python's own buffered writes to fd 2 belong to the framework too
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def quiet_framework(doing: str) -> Iterator[None]:
    """Keep what a framework prints while ``doing`` (importing Keras, loading a model) off the terminal.

    seqcheck's promise is one line on stderr for bad input, whatever TensorFlow or Keras print: the C++
    logs they write to file descriptor 2 (absl, oneDNN; ``TF_CPP_MIN_LOG_LEVEL`` no longer hides them),
    their writes to ``sys.stderr`` and their Python warnings are held back while the block runs.  With
    ``SEQCHECK_VERBOSE=1`` they are written to stderr once the block ends, error or not, for debugging.
    Not thread-safe (file descriptor 2 and the warning filters belong to the whole process).
    """
    held_text = io.StringIO()
    caught: list[warnings.WarningMessage] = []
    try:
        held_fd = tempfile.TemporaryFile()
    except OSError:  # no usable temporary folder: what the framework writes to fd 2 is dropped, not shown
        held_fd = open(os.devnull, "w+b")  # noqa: SIM115 - closed by the with below
    with held_fd:
        try:
            with _stderr_fd_to(held_fd.fileno()), contextlib.redirect_stderr(held_text), \
                    warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield
        finally:
            if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
                held_fd.seek(0)
                held = held_fd.read().decode("utf-8", "replace") + held_text.getvalue()
                held += "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught)
                if held:
                    sys.stderr.write(f"seqcheck: {VERBOSE_ENV}: what the framework printed while {doing}:\n{held}")
                    sys.stderr.flush()


def unpacked_bound() -> int:
    """The most a model file may unpack to, in bytes: ``$SEQCHECK_MAX_UNPACKED_MIB`` MiB, else 1 GiB."""
    text = os.environ.get(MAX_UNPACKED_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_UNPACKED
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise invalid(
            MAX_UNPACKED_ENV, text, "a whole number of MiB, at least 1",
            f"set it like {MAX_UNPACKED_ENV}=4096, or unset it for the default of {DEFAULT_MAX_UNPACKED >> 20}",
        )
    return int(text) << 20


def size_text(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n} bytes"


def too_large(path: str, bound: int) -> ModelError:
    """The error for a file that unpacks (or reads) to more than ``bound`` bytes."""
    return ModelError(
        f"model path={path!r}: unpacks to more than {size_text(bound)} (counted while decompressing),"
        f" expected a model of reasonable size; check the file (it may be a zip bomb), or if you trust"
        f" it set {MAX_UNPACKED_ENV} above {bound >> 20}"
    )


def unpack_zip_bounded(
    path: str, archive: zipfile.ZipFile, bound: int, *, resave: str, keep: str | None = None, keep_limit: int = 64 << 20,
) -> bytes:
    """The bytes of member ``keep`` (``b""`` if none), once every member has been decompressed in chunks and the bytes
    it really unpacks to counted against ``bound`` (the sizes the zip headers declare are not trusted); on the way,
    the zip reader checks every member's CRC.  Of two members with one name, the last is kept, as frameworks read it.
    ``resave`` says how to write the file again, for errors."""
    infos = archive.infolist()
    for info in infos:
        if info.compress_type not in _COMPRESSIONS:
            raise ModelError(
                f"model path={path!r}: member {info.filename!r} is compressed with method {info.compress_type}, expected"
                f" stored or deflated members; {resave}"
            )
    total, kept = 0, b""
    for info in infos:
        parts: list[bytes] = []
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK_BYTES):
                total += len(chunk)
                if total > bound:
                    raise too_large(path, bound)
                if info.filename == keep:
                    parts.append(chunk)
                    if sum(map(len, parts)) > keep_limit:
                        raise ModelError(
                            f"model path={path!r}: {keep} is larger than {size_text(keep_limit)}, expected a"
                            f" model config; check the file"
                        )
        if info.filename == keep:
            kept = b"".join(parts)
    return kept


def read_head(path: str, size: int = 8, *, expected: str) -> bytes:
    """The first ``size`` bytes of ``path``; a file that cannot be read is a one-line error (``expected`` names the
    kind of file wanted, e.g. ``"a .keras file"``)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except PermissionError as exc:
        raise ModelError(
            f"model path={path!r}: cannot be read (permission denied), expected a readable {expected.removeprefix('a ')};"
            f" check the file's permissions"
        ) from exc
    except OSError as exc:
        raise ModelError(
            f"model path={path!r}: cannot be read ({type(exc).__name__}: {first_line(exc)}), expected a readable"
            f" {expected.removeprefix('a ')}; check the path and the disk"
        ) from exc
