"""Loading ``.keras`` files safely: the Keras version gate, a screen of the file, then safe mode.

A model file is untrusted data (see docs/threat-model.md).  Before Keras opens a ``.keras`` file,
seqcheck reads it as bytes, a zip listing and JSON, decompressing every member in chunks and
counting the bytes it really unpacks to, and refuses anything that carries code or unpacks to more
than a bound; then Keras loads it in safe mode, its temporary files in a folder of seqcheck's own.
HDF5 files and SavedModel folders are refused.  Whatever the framework prints while it is imported
or loads a model is kept off the terminal (:func:`quiet_framework`).  Importing this module never
imports TensorFlow or Keras.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

from seqcheck.errors import InvalidArgument, ModelError, first_line
from seqcheck.models.model_files import (
    MAX_UNPACKED_ENV, UNSAFE_OPT_IN, VERBOSE_ENV, ZIP_MAGIC, quiet_framework, read_head, unpack_zip_bounded, unpacked_bound,
)

__all__ = [
    "KERAS_ADVISORIES", "MAX_UNPACKED_ENV", "MIN_KERAS_VERSION", "VERBOSE_ENV",
    "check_keras_version", "import_keras", "load_keras_model", "quiet_framework",
]

#: The oldest Keras that fixes every published advisory in which a model file ran code despite safe
#: mode, compared as PEP 440 versions: its pre-releases (``3.14.1rc1``, ``3.14.1.dev0``) come before it
#: and are refused too. Loading a model file with an older Keras is refused unless the user opts in
#: (``allow_unsafe``).
MIN_KERAS_VERSION = (3, 14, 1)
KERAS_ADVISORIES = (
    "CVE-2025-1550", "CVE-2025-8747", "CVE-2025-9906", "CVE-2025-9905",
    "CVE-2026-1462", "CVE-2026-1669", "CVE-2026-12480",
)

#: Objects of a ``.keras`` config that carry or run code: refused before Keras parses the file.
_CODE_CLASSES = {
    "Lambda": "a Lambda layer (Python code)",
    "TFSMLayer": "a TFSMLayer (a TensorFlow SavedModel graph, CVE-2026-1462)",
    "__lambda__": "a serialized Python lambda",
    "__python_function__": "a serialized Python function",
}
#: Python modules a config may name (anything else would be imported by Keras to build the model).
_TRUSTED_MODULES = ("keras",)
#: The most ``config.json`` may unpack to (the whole archive is bounded by :func:`~seqcheck.models.model_files.unpacked_bound`).
_MAX_CONFIG_BYTES = 64 << 20
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

_UNSAFE_MARKERS = ("safe_mode=False", "enable_unsafe_deserialization", "arbitrary code execution")


def _exception_chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def import_keras():
    """Keras, imported quietly (see :func:`quiet_framework`) the first time."""
    if "keras" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with quiet_framework("importing Keras"):
            import keras  # noqa: F401
    return sys.modules["keras"]


def check_keras_version(keras: Any = None, *, allow_unsafe: bool = False) -> str:
    """Refuse (:class:`ModelError`) to load model files with a Keras older than :data:`MIN_KERAS_VERSION`.

    Such versions have published advisories in which a crafted model file runs code despite safe mode.
    Versions compare as PEP 440 says, so the pre-releases of :data:`MIN_KERAS_VERSION` are older than it;
    a version that is not PEP 440 cannot be vouched for and is refused.  ``allow_unsafe=True``
    (``--unsafe-load``) lets the user load files they trust anyway. Returns the version.
    """
    from packaging.version import InvalidVersion, Version  # a dependency of Keras and of pytest

    keras = keras if keras is not None else import_keras()
    version = str(getattr(keras, "__version__", "0"))
    wanted = ".".join(map(str, MIN_KERAS_VERSION))
    try:
        recent = Version(version) >= Version(wanted)
    except InvalidVersion:
        recent = False
    if not recent and not allow_unsafe:
        raise ModelError(
            f"keras version={version!r}: expected {wanted} or later, because older Keras releases let a crafted"
            f" model file run code despite safe mode ({', '.join(KERAS_ADVISORIES)}); upgrade with"
            f" pip install 'keras>={wanted}', or {UNSAFE_OPT_IN}"
        )
    return version


def _importable(module: str) -> bool:
    """Whether the top-level package of ``module`` is installed (found without importing anything).

    A module that cannot be found cannot run code: Keras's loader then fails with its own error.
    """
    import importlib.util

    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        return True


def _code_in_config(config: Any) -> str | None:
    """The first object of a ``.keras`` config that carries code or names a module outside Keras, if any."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = node.get("class_name")
            if isinstance(name, str) and name in _CODE_CLASSES:
                return _CODE_CLASSES[name]
            module = node.get("module")
            if isinstance(module, str) and module and module.split(".")[0] not in _TRUSTED_MODULES and _importable(module):
                return f"a reference to the Python module {module!r} (code outside Keras, imported on loading)"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def _check_model_file(path: str, *, allow_unsafe: bool = False) -> None:
    """Raise :class:`ModelError` unless ``path`` looks like a loadable, code-free ``.keras`` zip file.

    Nothing here runs the file's content: it is read as bytes, as a zip listing and as JSON.
    """
    resave = "load it in Keras in a trusted environment and re-save it with model.save('m.keras')"
    if not os.path.lexists(path):
        raise ModelError(f"model path={path!r}: no such file; check the path (a .keras file saved with model.save('m.keras'))")
    if os.path.isdir(path):
        savedmodel = os.path.exists(os.path.join(path, "saved_model.pb"))
        kind = "a TensorFlow SavedModel folder" if savedmodel else "a folder"
        raise ModelError(
            f"model path={path!r}: is {kind}, expected a .keras file; SavedModel folders are refused because loading"
            f" one runs its serialized TensorFlow graph, which safe mode cannot vet (CVE-2026-1462); {resave}"
        )
    if not os.path.isfile(path):
        raise ModelError(f"model path={path!r}: is not a regular file, expected a .keras file; {resave}")
    suffix = os.path.splitext(path)[1].lower()
    head = read_head(path, expected="a .keras file")
    if suffix in (".h5", ".hdf5") or head.startswith(_HDF5_MAGIC):
        raise ModelError(
            f"model path={path!r}: is a legacy HDF5 model, not supported because Keras's HDF5 loader"
            f" bypassed safe mode (CVE-2025-9905) and can hold marshalled Python code; expected a .keras file; {resave}"
        )
    if suffix != ".keras":
        raise ModelError(
            f"model path={path!r}: expected a .keras file (HDF5 .h5 and SavedModel folders are not supported); {resave}"
        )
    if not head:
        raise ModelError(f"model path={path!r}: the file is empty, expected a .keras zip archive; save the model again with model.save('m.keras')")
    if not head.startswith(ZIP_MAGIC):
        raise ModelError(
            f"model path={path!r}: is not a zip archive (a .keras file is one), expected a .keras file;"
            f" the file is corrupt or of another kind: save the model again with model.save('m.keras')"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.NameToInfo:
                raise ModelError(
                    f"model path={path!r}: is a zip archive without config.json, not a Keras model;"
                    f" save the model with model.save('m.keras')"
                )
            raw = unpack_zip_bounded(
                path, archive, unpacked_bound(), keep="config.json", keep_limit=_MAX_CONFIG_BYTES,
                resave="save the model again with model.save('m.keras')",
            )
    except (ModelError, InvalidArgument):
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the zip reader trips on, the archive is not valid
        raise ModelError(
            f"model path={path!r}: is not a valid zip archive ({first_line(exc)}), expected a .keras file;"
            f" the file is truncated or corrupt: save the model again with model.save('m.keras')"
        ) from exc
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(
            f"model path={path!r}: config.json is not valid JSON ({first_line(exc)}), expected a Keras model config;"
            f" the file is corrupt: save the model again with model.save('m.keras')"
        ) from exc
    if not allow_unsafe:
        found = _code_in_config(config)
        if found is not None:
            raise ModelError(
                f"model path={path!r}: carries {found}, which could run arbitrary code when loaded, so seqcheck"
                f" refuses it as Keras safe mode does; {UNSAFE_OPT_IN}"
            )


def load_keras_model(path: str | os.PathLike, *, allow_unsafe: bool = False) -> Any:
    """Load a ``.keras`` file as a ``keras.Model`` (uncompiled), in Keras's safe mode unless ``allow_unsafe``.

    Every failure -- a missing, empty, truncated or non-``.keras`` file, a model holding Python code
    (a ``Lambda`` layer, a ``TFSMLayer``, a module outside Keras) refused before loading and by safe
    mode, a Keras older than :data:`MIN_KERAS_VERSION`, any error of Keras's loader -- raises a
    one-line :class:`~seqcheck.errors.ModelError` that says how to fix it.
    """
    path = os.fspath(path)
    _check_model_file(path, allow_unsafe=allow_unsafe)
    keras = import_keras()
    check_keras_version(keras, allow_unsafe=allow_unsafe)
    with _loading_folder(path) as link, quiet_framework(f"loading {path}"):
        try:
            model = keras.saving.load_model(link, compile=False, safe_mode=not allow_unsafe)
        except Exception as exc:
            if not allow_unsafe and any(m in str(e) for e in _exception_chain(exc) for m in _UNSAFE_MARKERS):
                raise ModelError(
                    f"model path={path!r}: carries Python code (a Lambda layer or lambda) that Keras safe mode refuses"
                    f" to load; {UNSAFE_OPT_IN}"
                ) from exc
            raise ModelError(
                f"model path={path!r}: could not be loaded as a Keras model ({type(exc).__name__}:"
                f" {first_line(exc).replace(link, path)}); save it with Keras 3 as model.save('m.keras') and make"
                f" custom layers importable (keras.saving.register_keras_serializable)"
            ) from exc
    if not isinstance(model, keras.Model):
        raise ModelError(
            f"model path={path!r}: holds a {type(model).__name__}, expected a keras.Model; save the model itself with model.save('m.keras')"
        )
    return model


@contextlib.contextmanager
def _loading_folder(path: str) -> Iterator[str]:
    """A folder of seqcheck's own, removed afterwards whatever happens, for the temporary files of Keras's loader.

    Keras unpacks some archives into ``tempfile.mkdtemp()`` folders and others next to the file it opens, and
    leaves the former behind when unpacking fails.  Inside the block, ``tempfile``'s folder is this one (for
    the whole process: loading is not thread-safe), and Keras opens the model through a symlink in it.
    Yields the symlink's path.
    """
    try:
        folder = tempfile.mkdtemp(prefix="seqcheck-load-")
    except OSError as exc:
        raise ModelError(
            f"model path={path!r}: cannot be loaded without a temporary folder ({type(exc).__name__}: {first_line(exc)});"
            f" set TMPDIR to a writable folder"
        ) from exc
    previous = tempfile.tempdir
    try:
        link = os.path.join(folder, "model.keras")
        os.symlink(os.path.abspath(path), link)
        tempfile.tempdir = folder
        yield link
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(folder, ignore_errors=True)
