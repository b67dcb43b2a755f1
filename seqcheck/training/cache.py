"""Trained models stored on disk, so that a recipe trains each model once.

An entry is a folder ``<cache_dir>/<recipe>-<pattern>-N<train_length>-s<seed>-<hash12>/`` holding

- ``model.keras``         -- the trained model (Keras v3 format);
- ``model.keras.sha256``  -- its checksum, in ``sha256sum`` format;
- ``key.json``            -- what the key was made of, for humans;
- ``.lock``               -- the per-entry lock file (``fcntl.flock``).

Beside the entries, ``<cache_dir>/results/`` keeps results that are costly to compute again (a seed's check, see
:mod:`seqcheck.training.seeds`): JSON files named by the hash of their key, each holding its key and its result,
written atomically and read back only under the same key.

The key is the sha256 of a canonical JSON of the recipe name and its resolved settings, the
pattern's symbols and alphabet size, the training length, the seed, the Keras and TensorFlow
versions and :data:`seqcheck.training.recipes.RECIPE_VERSION`: change any of them and a new model is trained.
Other trained models (the task recipes of :mod:`seqcheck.training.task_recipes`) use the same machinery
through :func:`cached_entry_path`, with a key of their own.

Writes are atomic: a model is trained into a temporary file of the entry folder, its checksum is
written next to it, and ``os.replace`` puts it in place. Processes asking for the same entry
(pytest-xdist workers) take the entry's lock: one trains, the others wait and then use its file.
An entry whose checksum does not match (truncated, damaged, half-written) is retrained, never
returned; a leftover temporary file of a killed training is never returned and is removed by the
next training of that entry.  A cache folder where no folder can be made (a regular file, a path
under ``/proc``) and an entry file that is not a regular file (a folder, a FIFO: never opened, never
removed) are one-line errors naming the path and the fix.

Importing this module does not import TensorFlow or Keras.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import json
import numbers
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from seqcheck.errors import CacheWarning, ModelError, invalid
from seqcheck.files import write_atomically
from seqcheck.tasks.patterns import Pattern

try:  # POSIX; elsewhere entries are still written atomically, but concurrent trainings are not merged.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CACHE_DIR_ENV",
    "MODEL_FILE",
    "Trainer",
    "default_cache_dir",
    "cache_key",
    "cache_key_data",
    "entry_name",
    "entry_dir",
    "cached_model_path",
    "cached_entry_path",
    "cached_result",
    "Entry",
    "keyed_entry",
    "recipe_entry",
    "store_result",
    "library_versions",
    "load_cached_model",
    "verify_entry",
]

CACHE_DIR_ENV = "SEQCHECK_CACHE_DIR"
MODEL_FILE = "model.keras"
CHECKSUM_SUFFIX = ".sha256"
_LOCK_FILE = ".lock"
_TMP_PREFIX = "model.tmp-"

#: ``trainer(path, *, recipe, pattern, train_length, seed, verbose, settings)`` writes a model file
#: at ``path`` (which ends in ``.keras``). The default trains with :func:`seqcheck.training.recipes.train`
#: and saves; tests pass a fast fake.
Trainer = Callable[..., None]


def default_cache_dir() -> Path:
    """``$SEQCHECK_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/seqcheck``, else ``~/.cache/seqcheck``."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "seqcheck"


def _version(*distributions: str) -> str:
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "absent"


def library_versions() -> dict[str, str]:
    """The installed Keras and TensorFlow versions (``"absent"`` if not installed), and Keras's backend when it is not
    TensorFlow (a model trained on JAX or PyTorch is another model): part of every key.  Asking the backend imports
    Keras, which training or loading the entry does next anyway."""
    versions = {
        "keras": _version("keras", "keras-nightly"),
        "tensorflow": _version("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly", "tensorflow-intel"),
    }
    if versions["keras"] != "absent":
        from seqcheck.models.keras_files import import_keras

        backend = import_keras().backend.backend()
        if backend != "tensorflow":
            versions["keras_backend"] = backend
    return versions


def cache_key_data(
    recipe: str, pattern: Pattern | str, *, train_length: int = 10, seed: int = 0,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the key of an entry is made of (a JSON-serialisable dict)."""
    from seqcheck.training import recipes

    rec = recipes.get_recipe(recipe)
    pat = Pattern.parse(pattern)
    return {
        "recipe": rec.name,
        "settings": rec.resolve_settings(settings),
        "pattern": list(pat.symbols),
        "alphabet_size": pat.alphabet_size,
        "train_length": int(train_length),
        "seed": int(seed),
        **library_versions(),
        "recipe_version": recipes.RECIPE_VERSION,
    }


def _canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def cache_key(recipe: str, pattern: Pattern | str, *, train_length: int = 10, seed: int = 0,
              settings: Mapping[str, Any] | None = None) -> str:
    """The sha256 (hex) of the canonical JSON of :func:`cache_key_data`."""
    data = cache_key_data(recipe, pattern, train_length=train_length, seed=seed, settings=settings)
    return hashlib.sha256(_canonical(data).encode("utf-8")).hexdigest()


def entry_name(recipe: str, pattern: Pattern | str, *, train_length: int = 10, seed: int = 0,
               settings: Mapping[str, Any] | None = None) -> str:
    """The readable folder name of an entry, like ``fixed-window-11000-N10-s0-1a2b3c4d5e6f``."""
    data = cache_key_data(recipe, pattern, train_length=train_length, seed=seed, settings=settings)
    digest = hashlib.sha256(_canonical(data).encode("utf-8")).hexdigest()
    pat = Pattern.parse(pattern)
    slug = re.sub(r"[^0-9A-Za-z]+", "_", pat.text)
    if len(slug) > 32:
        slug = slug[:32] + "_"
    recipe_slug = re.sub(r"[^0-9A-Za-z.-]+", "_", data["recipe"])
    return f"{recipe_slug}-{slug}-N{data['train_length']}-s{data['seed']}-{digest[:12]}"


def entry_dir(recipe: str, pattern: Pattern | str, *, train_length: int = 10, seed: int = 0,
              cache_dir: str | os.PathLike[str] | None = None, settings: Mapping[str, Any] | None = None) -> Path:
    """The folder of an entry (it may not exist yet)."""
    return _cache_root(cache_dir) / entry_name(recipe, pattern, train_length=train_length, seed=seed, settings=settings)


# -- checksums -----------------------------------------------------------------------------------


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading; :class:`OSError` unless it is a regular file.

    Opened without blocking: opening a FIFO for reading would otherwise wait for a writer forever.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with _open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + CHECKSUM_SUFFIX)


def verify_entry(model_path: str | os.PathLike[str]) -> bool:
    """True when ``model_path`` exists and matches its checksum sidecar (a missing sidecar is a mismatch)."""
    model_path = Path(model_path)
    try:
        with _open_regular(_checksum_path(model_path)) as handle:
            recorded = handle.read(1024).decode("ascii").split()  # one line: the digest and the file name
        return bool(recorded) and _sha256_file(model_path) == recorded[0].lower()
    except (OSError, UnicodeDecodeError):
        return False


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _no_folder(folder: Path, exc: OSError) -> str:
    """Why ``folder`` could not be made: the nearest existing path on the way that is no folder, else the error."""
    for path in (folder, *folder.parents):
        with contextlib.suppress(OSError):
            mode = path.stat().st_mode
            if not stat.S_ISDIR(mode):
                return f"{path} is {_file_kind(mode)}"
            break
    return f"{exc.filename}: {os.strerror(exc.errno or errno.EIO)}"


def _refuse_odd_files(folder: Path) -> None:
    """A one-line error for any file of the entry at ``folder`` that is not a regular file (a folder, a FIFO...).

    seqcheck never opens such a file (reading a FIFO would block) nor removes it (a folder may hold
    something); the user removes it, and the entry is trained again.
    """
    model_path = folder / MODEL_FILE
    for path in (model_path, _checksum_path(model_path), folder / _LOCK_FILE, *folder.glob(_TMP_PREFIX + "*")):
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            raise ModelError(
                f"cache file={str(path)!r}: is {_file_kind(mode)}, expected a regular file written by seqcheck;"
                f" remove it and seqcheck trains the entry again"
            )


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def locked(lock_path: Path, *, verbose: int = 0) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (released on exit, or when the process dies)."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if verbose:
                print(f"seqcheck: waiting for another process training {lock_path.parent.name}", file=sys.stderr, flush=True)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# -- the default trainer -------------------------------------------------------------------------


def train_and_save(path: Path, *, recipe: str, pattern: Pattern, train_length: int, seed: int, verbose: int,
                   settings: Mapping[str, Any] | None) -> None:
    """The default :data:`Trainer`: train with :func:`seqcheck.training.recipes.train` and save to ``path``."""
    from seqcheck.training import recipes

    model = recipes.train(recipe, pattern, train_length=train_length, seed=seed, verbose=verbose, settings=settings)
    model.save(path)


# -- the cache -----------------------------------------------------------------------------------


def cached_model_path(
    recipe: str,
    pattern: Pattern | str,
    *,
    train_length: int = 10,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    verbose: int = 0,
    settings: Mapping[str, Any] | None = None,
    trainer: Trainer | None = None,
) -> Path:
    """The path of the cached ``.keras`` file of ``recipe`` trained on ``pattern``; train it if absent.

    The returned file has just been checked against its checksum. ``cache_dir`` defaults to
    :func:`default_cache_dir`; ``settings`` overrides some recipe settings (and is part of the
    key); ``trainer`` replaces the real training (see :data:`Trainer`).
    """
    entry = recipe_entry(recipe, pattern, train_length=train_length, seed=seed, cache_dir=cache_dir, settings=settings)
    data = entry.key_data

    def produce(path: Path) -> None:
        (trainer or train_and_save)(
            path, recipe=data["recipe"], pattern=Pattern.parse(pattern), train_length=data["train_length"],
            seed=data["seed"], verbose=verbose, settings=dict(data["settings"]),
        )
        if not path.is_file():
            raise ModelError(f"trainer={trainer!r}: expected it to write a model file at {path}; it wrote nothing")

    return entry.get(produce, verbose=verbose)


def recipe_entry(recipe: str, pattern: Pattern | str, *, train_length: int = 10, seed: int = 0,
                 cache_dir: str | os.PathLike[str] | None = None, settings: Mapping[str, Any] | None = None) -> Entry:
    """The :class:`Entry` of ``recipe`` trained on ``pattern`` (it may not exist yet); bad arguments are one-line errors."""
    from seqcheck.training import recipes

    rec = recipes.get_recipe(recipe)
    pat = Pattern.parse(pattern)
    if isinstance(train_length, bool) or not isinstance(train_length, numbers.Integral) or train_length < 1:
        raise invalid("train_length", train_length, "a positive integer", "give the window length N to train on")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise invalid("seed", seed, "a non-negative integer", "give a seed like 0")
    train_length, seed = int(train_length), int(seed)
    resolved = rec.resolve_settings(settings)
    return Entry(
        entry_dir(rec.name, pat, train_length=train_length, seed=seed, cache_dir=cache_dir, settings=resolved),
        cache_key_data(rec.name, pat, train_length=train_length, seed=seed, settings=resolved),
        f"{rec.name} on {pat.text} (N={train_length}, seed={seed})",
    )


def cached_entry_path(
    key_data: Mapping[str, Any],
    produce: Callable[[Path], None],
    *,
    slug: str,
    label: str,
    cache_dir: str | os.PathLike[str] | None = None,
    verbose: int = 0,
) -> Path:
    """The path of the cached model file of the entry keyed by ``key_data``; ``produce(path)`` writes it if absent.

    The generic form of :func:`cached_model_path`, for models that are not a recipe trained on a pattern.
    ``key_data`` is a JSON-serialisable dict of everything the model depends on (include
    :func:`library_versions` and a version of the code that trains it); the entry is the folder
    ``<slug>-<hash12>`` of ``cache_dir`` (default :func:`default_cache_dir`), ``<hash12>`` the start of the
    sha256 of the canonical JSON of ``key_data``.  ``produce`` must write a ``.keras`` file at the path it is
    given; it runs under the entry's lock, and its file is checksummed and put in place atomically.
    ``label`` names the model in progress lines and warnings.
    """
    entry = keyed_entry(key_data, slug=slug, label=label, cache_dir=cache_dir)

    def checked(path: Path) -> None:
        produce(path)
        if not path.is_file():
            raise ModelError(f"{label}: expected the training to write a model file at {path}; it wrote nothing")

    return entry.get(checked, verbose=verbose)


def _keyed_name(key_data: Mapping[str, Any], slug: str) -> str:
    digest = hashlib.sha256(_canonical(key_data).encode("utf-8")).hexdigest()
    return f"{re.sub(r'[^0-9A-Za-z.-]+', '_', slug)}-{digest[:12]}"


def keyed_entry(key_data: Mapping[str, Any], *, slug: str, label: str,
                cache_dir: str | os.PathLike[str] | None = None) -> Entry:
    """The :class:`Entry` keyed by ``key_data``: the folder ``<slug>-<hash12>`` of ``cache_dir`` (see
    :func:`cached_entry_path`); it may not exist yet."""
    return Entry(_cache_root(cache_dir) / _keyed_name(key_data, slug), dict(key_data), label)


def _cache_root(cache_dir: str | os.PathLike[str] | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


@dataclass(frozen=True)
class Entry:
    """One model of the cache: its folder, what its key is made of, and how progress lines and warnings name it."""

    folder: Path
    key_data: Mapping[str, Any]
    label: str

    def existing(self) -> Path | None:
        """The entry's verified model file (or this process's fallback copy of it), ``None`` if the cache lacks it."""
        model_path = self.folder / MODEL_FILE
        if verify_entry(model_path):
            return model_path
        fallback = _FALLBACK_ENTRIES.get(self.folder)
        return fallback if fallback is not None and verify_entry(fallback) else None

    def get(self, produce: Callable[[Path], None], *, verbose: int = 0) -> Path:
        """The verified model file; ``produce(path)`` writes it first if the cache lacks it (under the entry's lock,
        checksummed and put in place atomically).  A cache folder that cannot take the entry (read-only, full) is
        warned about, and the entry is written into a temporary folder for this process only."""
        return self.existing() or _cached_entry(self.folder, self.key_data, produce, label=self.label, verbose=verbose)

    def store(self, content: bytes, *, verbose: int = 0) -> Path:
        """Keep a model file trained elsewhere (a worker process, a Dask worker): its bytes go in place as
        :meth:`get` puts a training's, unless the entry holds a model already."""
        return self.get(lambda path: path.write_bytes(content), verbose=verbose)


def _cached_entry(folder: Path, key_data: Mapping[str, Any], produce: Callable[[Path], None], *, label: str,
                  verbose: int) -> Path:
    """The verified model file of the entry at ``folder``, which ``produce`` writes (see :meth:`Entry.get`).

    A cache folder that cannot take the entry (read-only, full) is warned about, and the entry is written
    into a temporary folder for this process only.
    """
    try:
        return _train_entry(folder, key_data, produce, label=label, verbose=verbose)
    except OSError as exc:
        if exc.errno not in _UNUSABLE_ERRNOS:
            raise
        reason = f"{type(exc).__name__}: {os.strerror(exc.errno) if exc.errno else exc}"
    warnings.warn(
        CacheWarning(
            f"model cache {folder.parent} is not writable ({reason}); training {label}"
            f" into a temporary folder for this process only (set {CACHE_DIR_ENV} to a writable folder to keep it)"
        ),
        stacklevel=4,  # the caller of cached_model_path, cached_entry_path or Entry.store
    )
    if verbose:
        print(f"seqcheck: warning: model cache {folder.parent} is not writable ({reason}); training into a temporary folder",
              file=sys.stderr, flush=True)
    path = _train_entry(_temporary_root() / folder.name, key_data, produce, label=label, verbose=verbose)
    _FALLBACK_ENTRIES[folder] = path
    return path


#: errno values meaning "this cache folder cannot take the entry": fall back to a temporary folder.
_UNUSABLE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "EFBIG") if hasattr(errno, name)
)
#: Entries trained into the temporary folder because the cache was unusable, by their cache folder.
_FALLBACK_ENTRIES: dict[Path, Path] = {}
_TEMPORARY_ROOT: list[Path] = []


def _temporary_root() -> Path:
    """A private temporary folder, removed when the process exits."""
    if not _TEMPORARY_ROOT:
        root = Path(tempfile.mkdtemp(prefix="seqcheck-cache-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _TEMPORARY_ROOT.append(root)
    return _TEMPORARY_ROOT[0]


def _train_entry(folder: Path, key_data: Mapping[str, Any], produce: Callable[[Path], None], *, label: str,
                 verbose: int) -> Path:
    """Write the entry at ``folder`` with ``produce`` (under its lock) unless another process did; return its
    verified model file."""
    model_path = folder / MODEL_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno in _UNUSABLE_ERRNOS:
            raise
        raise invalid(
            "cache_dir", str(folder.parent), f"a folder where seqcheck can create its entries ({_no_folder(folder, exc)})",
            f"point --cache-dir or ${CACHE_DIR_ENV} at a folder you can write",
        ) from exc
    _refuse_odd_files(folder)
    with locked(folder / _LOCK_FILE, verbose=verbose):
        # Someone may have trained it while we waited.
        if verify_entry(model_path):
            return model_path
        # Damaged or half-written: nobody else writes here while we hold the lock.
        for stale in [model_path, _checksum_path(model_path), *folder.glob(_TMP_PREFIX + "*")]:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        if verbose:
            print(f"seqcheck: training {label} into {folder}", file=sys.stderr, flush=True)
        tmp = folder / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.keras"
        try:
            produce(tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            digest = _sha256_file(tmp)
            write_atomically(_checksum_path(model_path), f"{digest}  {MODEL_FILE}\n")
            os.replace(tmp, model_path)
            _fsync_dir(folder)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        with contextlib.suppress(OSError):  # for humans only: a full disk here must not cost the entry
            write_atomically(folder / "key.json", json.dumps(key_data, sort_keys=True, indent=2) + "\n")
        if not verify_entry(model_path):
            raise ModelError(f"cache entry {folder}: the model file does not match its checksum right after writing; "
                             "check the disk and remove the folder")
    return model_path


def load_cached_model(
    recipe: str,
    pattern: Pattern | str,
    *,
    train_length: int = 10,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    verbose: int = 0,
    settings: Mapping[str, Any] | None = None,
    trainer: Trainer | None = None,
):
    """The cached model as a ``keras.Model``, loaded as any model file is
    (:func:`seqcheck.models.keras_files.load_keras_model`: screened, uncompiled, in Keras's safe mode); train it if absent."""
    from seqcheck.models.keras_files import load_keras_model

    path = cached_model_path(recipe, pattern, train_length=train_length, seed=seed, cache_dir=cache_dir,
                             verbose=verbose, settings=settings, trainer=trainer)
    return load_keras_model(path)


# -- results ---------------------------------------------------------------------------------------

#: The folder of the cache holding results (JSON): ``<cache_dir>/results/<slug>-<hash12>.json``.
RESULTS_FOLDER = "results"


def _result_path(key_data: Mapping[str, Any], slug: str, cache_dir: str | os.PathLike[str] | None) -> Path:
    return _cache_root(cache_dir) / RESULTS_FOLDER / f"{_keyed_name(key_data, slug)}.json"


def cached_result(key_data: Mapping[str, Any], *, slug: str, cache_dir: str | os.PathLike[str] | None = None) -> Any:
    """The result :func:`store_result` kept under ``key_data``, or ``None`` if the cache lacks it, cannot read it
    (damaged, not a regular file) or holds it under another key."""
    path = _result_path(key_data, slug, cache_dir)
    try:
        with _open_regular(path) as handle:
            stored = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != json.loads(_canonical(key_data)):
        return None
    return stored.get("result")


def store_result(key_data: Mapping[str, Any], result: Any, *, slug: str,
                 cache_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Keep a JSON-serialisable ``result`` under ``key_data`` (written atomically, beside the key it was made under);
    a cache folder that cannot take it is warned about and skipped (``None``): the result is only not kept."""
    path = _result_path(key_data, slug, cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps({"key": key_data, "result": result}, sort_keys=True) + "\n")
    except OSError as exc:
        warnings.warn(CacheWarning(f"model cache {path.parent.parent} could not keep a result ({type(exc).__name__}: "
                                   f"{exc.strerror or exc}); set {CACHE_DIR_ENV} to a writable folder to keep them"),
                      stacklevel=2)
        return None
    return path
