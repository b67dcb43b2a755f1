"""Loading ``.keras`` files safely: the Keras version gate, a screen of the file, then safe mode.

A model file is untrusted data (see docs/threat-model.md).  Before Keras opens a ``.keras`` file,
seqcheck reads it as bytes, a zip listing and JSON, and refuses anything that carries code; then
Keras loads it in safe mode.  HDF5 files and SavedModel folders are refused.  Importing this
module never imports TensorFlow or Keras.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from typing import Any

from seqcheck.errors import ModelError, first_line

__all__ = ["KERAS_ADVISORIES", "MIN_KERAS_VERSION", "check_keras_version", "import_keras", "load_keras_model"]

#: The oldest Keras that fixes every published advisory in which a model file ran code despite safe
#: mode. Loading a model file with an older Keras is refused unless the user opts in (``allow_unsafe``).
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
#: Bounds on what is read from an archive before Keras sees it.
_MAX_CONFIG_BYTES = 64 << 20
_MAX_ARCHIVE_BYTES = 4 << 30
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_UNSAFE_OPT_IN = "if you trust the file, opt in with --unsafe-load (CLI) or allow_unsafe=True (Python)"

_UNSAFE_MARKERS = ("safe_mode=False", "enable_unsafe_deserialization", "arbitrary code execution")

def _exception_chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def import_keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts) or (0,)


def check_keras_version(keras: Any = None, *, allow_unsafe: bool = False) -> str:
    """Refuse (:class:`ModelError`) to load model files with a Keras older than :data:`MIN_KERAS_VERSION`.

    Such versions have published advisories in which a crafted model file runs code despite safe mode.
    ``allow_unsafe=True`` (``--unsafe-load``) lets the user load files they trust anyway. Returns the version.
    """
    keras = keras if keras is not None else import_keras()
    version = str(getattr(keras, "__version__", "0"))
    if _version_tuple(version) < MIN_KERAS_VERSION and not allow_unsafe:
        wanted = ".".join(map(str, MIN_KERAS_VERSION))
        raise ModelError(
            f"keras version={version!r}: expected {wanted} or later, because older Keras releases let a crafted"
            f" model file run code despite safe mode ({', '.join(KERAS_ADVISORIES)}); upgrade with"
            f" pip install 'keras>={wanted}', or {_UNSAFE_OPT_IN}"
        )
    return version


def _read_head(path: str, size: int = 8) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except PermissionError as exc:
        raise ModelError(
            f"model path={path!r}: cannot be read (permission denied), expected a readable .keras file;"
            f" check the file's permissions"
        ) from exc
    except OSError as exc:
        raise ModelError(
            f"model path={path!r}: cannot be read ({type(exc).__name__}: {first_line(exc)}), expected a readable"
            f" .keras file; check the path and the disk"
        ) from exc


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
    head = _read_head(path)
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
    if not head.startswith(_ZIP_MAGIC):
        raise ModelError(
            f"model path={path!r}: is not a zip archive (a .keras file is one), expected a .keras file;"
            f" the file is corrupt or of another kind: save the model again with model.save('m.keras')"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if "config.json" not in names:
                raise ModelError(
                    f"model path={path!r}: is a zip archive without config.json, not a Keras model;"
                    f" save the model with model.save('m.keras')"
                )
            if sum(info.file_size for info in infos) > _MAX_ARCHIVE_BYTES:
                raise ModelError(
                    f"model path={path!r}: unpacks to more than {_MAX_ARCHIVE_BYTES >> 30} GiB, expected a model of"
                    f" reasonable size; check the file (it may be a zip bomb)"
                )
            if archive.getinfo("config.json").file_size > _MAX_CONFIG_BYTES:
                raise ModelError(
                    f"model path={path!r}: config.json is larger than {_MAX_CONFIG_BYTES >> 20} MiB, expected a"
                    f" model config; check the file"
                )
            raw = archive.read("config.json")
    except ModelError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError, ValueError) as exc:
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
                f" refuses it as Keras safe mode does; {_UNSAFE_OPT_IN}"
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
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=not allow_unsafe)
    except Exception as exc:
        if not allow_unsafe and any(m in str(e) for e in _exception_chain(exc) for m in _UNSAFE_MARKERS):
            raise ModelError(
                f"model path={path!r}: carries Python code (a Lambda layer or lambda) that Keras safe mode refuses to load;"
                f" {_UNSAFE_OPT_IN}"
            ) from exc
        raise ModelError(
            f"model path={path!r}: could not be loaded as a Keras model ({type(exc).__name__}: {first_line(exc)});"
            f" save it with Keras 3 as model.save('m.keras') and make custom layers importable"
            f" (keras.saving.register_keras_serializable)"
        ) from exc
    if not isinstance(model, keras.Model):
        raise ModelError(
            f"model path={path!r}: holds a {type(model).__name__}, expected a keras.Model; save the model itself with model.save('m.keras')"
        )
    return model
