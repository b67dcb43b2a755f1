"""Writing the files seqcheck produces: reports, the heatmap, trained models and the model cache's entries.

One writer, :func:`replace_atomically` (and :func:`write_atomically` for text), decides by what the
path names:

- a regular file, or nothing yet: the content goes to a temporary file beside it, is flushed to disk
  and moved into place, so a reader never sees half a file and an interrupted write leaves nothing
  behind.  A symbolic link stays a link: the file it points to is replaced.  A new file gets the mode
  the umask gives (``0666`` less the umask); a replaced file keeps its mode;
- a character device or a FIFO (``/dev/null``, a named pipe, ``>(jq .)``): written through, never
  replaced;
- ``-``, or the very file standard output goes to (``/dev/stdout``, ``> out.json``): standard output.

:func:`check_writable` refuses, before any work, a path the writer could not write.  Errors of the
writer are ``OSError``; the CLI turns them into one line naming the option.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable

from seqcheck.errors import invalid

#: The path that means standard output.
STDOUT = "-"


def is_stdout(path: str | os.PathLike[str]) -> bool:
    """Whether writing to ``path`` means writing to standard output: ``-``, or the file it goes to."""
    if os.fspath(path) == STDOUT:
        return True
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # no such file, or no stdout with a file descriptor
        return False


def identity(path: str | os.PathLike[str]) -> object:
    """What ``path`` writes to, for telling whether two paths name the same file: device and inode when it exists."""
    if is_stdout(path):
        return STDOUT
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino)


def _written_through(path: str | os.PathLike[str]) -> bool:
    """True for a character device or a FIFO, False for a regular file or nothing; an ``OSError`` for anything else."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISREG(mode):
        return False
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return True
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
    raise OSError(errno.EINVAL, "not a regular file, a character device or a FIFO", os.fspath(path))


def _create_beside(target: str) -> str:
    """Create an empty temporary file in ``target``'s folder (mode 0666 less the umask), keeping its suffix."""
    folder, name = os.path.split(target)
    stem, suffix = os.path.splitext(name)
    tmp = os.path.join(folder, f".{stem}.{os.urandom(6).hex()}{suffix or '.tmp'}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


def check_writable(path: str, name: str) -> None:
    """Raise a one-line error naming ``name=path`` unless a report can be written at ``path``.

    For a regular file, or none yet, the check is real: a temporary file is created and removed in
    the folder (as root, ``os.access`` says yes even on a read-only file system).  A device or a FIFO
    is not opened, which would end a FIFO's reader or start a device: only its permissions are checked.
    """
    if is_stdout(path):
        return
    try:
        if _written_through(path):
            if not os.access(path, os.W_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
            return
    except IsADirectoryError:
        raise invalid(name, path, "a file path", "name a file, not a folder") from None
    except OSError as exc:
        raise invalid(name, path, "a path a report can be written to", f"{exc.strerror}; choose another path") from None
    folder = os.path.dirname(os.path.realpath(path))
    if not os.path.lexists(folder):
        raise invalid(name, path, "a path in an existing folder", f"create {os.path.dirname(path) or '.'} first")
    try:
        os.unlink(_create_beside(os.path.join(folder, os.path.basename(path))))
    except OSError as exc:
        raise invalid(name, path, "a path in a folder where files can be created",
                      f"cannot create a file in {folder} ({exc.strerror}); choose another path") from None


def replace_atomically(path: str | os.PathLike[str], write: Callable[[str], None]) -> None:
    """Have ``write(tmp)`` fill a temporary file, then put its content at ``path`` (see the module's docstring).

    The temporary file keeps ``path``'s suffix, for writers that choose the format by it (Keras, matplotlib).
    """
    to_stdout = is_stdout(path)
    if to_stdout or _written_through(path):
        with tempfile.TemporaryDirectory(prefix="seqcheck-") as folder:
            tmp = os.path.join(folder, "content" + os.path.splitext(path)[1])
            write(tmp)
            with open(tmp, "rb") as source:
                if to_stdout:
                    sys.stdout.flush()
                    shutil.copyfileobj(source, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
                else:
                    with open(path, "wb") as sink:
                        shutil.copyfileobj(source, sink)
        return
    target = os.path.realpath(path)
    tmp = _create_beside(target)
    try:
        write(tmp)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def write_atomically(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` with :func:`replace_atomically`."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)

    replace_atomically(path, write)
