"""Hostile or odd input: a noisy framework, zip bombs, failing unpacks, pre-release Keras, huge patterns,
odd cache folders and files, and a stateful model that a check must leave as it found it.

Resources are asserted as bounded work (Python lines executed) or bounded memory (tracemalloc), never
as time.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import warnings
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
keras = pytest.importorskip("keras")

import seqcheck  # noqa: E402
from seqcheck.training import cache  # noqa: E402
from seqcheck.errors import InvalidArgument, ModelError  # noqa: E402
from seqcheck.models import keras_files  # noqa: E402
from seqcheck.models import model_files  # noqa: E402
from seqcheck.models.keras_files import check_keras_version, load_keras_model, quiet_framework  # noqa: E402
from seqcheck.tasks.patterns import MAX_ALPHABET_SIZE, MAX_PATTERN_LENGTH, Pattern, primitive_period  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MiB = 1 << 20
WEIGHTS = "model.weights.h5"


def tiny_model_file(folder: Path) -> Path:
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 1))
    path = folder / "tiny.keras"
    keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(2)(inp))).save(path)
    return path


def write_bomb(path: Path, source: Path, *, unpacked: int, compression: int = zipfile.ZIP_DEFLATED) -> None:
    """``source`` (a real ``.keras`` file) with its weights replaced by ``unpacked`` zero bytes, compressed
    (deflated zeros shrink about a thousandfold), written 1 MiB at a time."""
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist() if info.filename != WEIGHTS}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        info = zipfile.ZipInfo(WEIGHTS)
        info.compress_type, info.file_size = compression, unpacked
        block = bytes(MiB)
        with archive.open(info, "w") as member:
            for start in range(0, unpacked, MiB):
                member.write(block[: min(MiB, unpacked - start)])


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """A zip archive's bytes with the uncompressed size of member ``name`` changed to ``size`` in both of its
    headers (the local one and the central directory's): the headers lie, the data stays."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
        central = archive.start_dir
    struct.pack_into("<I", out, info.header_offset + 22, size)
    while out[central : central + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack_from("<HHH", out, central + 28)
        if out[central + 46 : central + 46 + n].decode() == name:
            struct.pack_into("<I", out, central + 24, size)
        central += 46 + n + m + k
    return bytes(out)


def peak_memory(fn) -> int:
    """The peak of memory Python allocated while ``fn`` ran (tracemalloc), in bytes."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


class OverBudget(Exception):
    pass


def python_lines(fn, budget: int) -> int:
    """How many Python lines ``fn`` executes (its own and its callees'); :class:`OverBudget` past ``budget``."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
            if count > budget:
                raise OverBudget(f"more than {budget} Python lines")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


def refused(fn, error=InvalidArgument) -> str:
    with pytest.raises(error) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message and len(message) < 600, message
    return message


@contextlib.contextmanager
def no_hang(seconds: int = 60):
    """Turn a hang (a FIFO opened for reading) into a failure rather than a stuck test run."""
    def expired(signum, frame):
        raise AssertionError("hung")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- 1. one line on stderr, whatever the framework prints ------------------------------------------


def test_importing_keras_prints_nothing_in_a_real_process():
    code = "from seqcheck.models.keras_files import import_keras; import_keras()"
    env = {k: v for k, v in os.environ.items() if k != keras_files.VERBOSE_ENV}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""


def _noisy():
    os.write(2, b"I0000 a C++ log line on fd 2\n")
    print("a Python write to sys.stderr", file=sys.stderr)
    warnings.warn("a framework's UserWarning", UserWarning)


def test_quiet_framework_holds_back_fd_2_stderr_and_warnings_and_restores_fd_2(capfd, monkeypatch):
    monkeypatch.delenv(keras_files.VERBOSE_ENV, raising=False)
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        with quiet_framework("testing"):
            _noisy()
    assert outside == []
    assert capfd.readouterr() == ("", "")
    os.write(2, b"after\n")  # fd 2 is pytest's again
    assert capfd.readouterr().err == "after\n"
    assert warnings.filters == filters


def test_quiet_framework_restores_fd_2_after_an_error_or_ctrl_c(capfd):
    for exc in (KeyboardInterrupt, ValueError):
        with pytest.raises(exc):
            with quiet_framework("testing"):
                os.write(2, b"held\n")
                raise exc()
        os.write(2, b"after\n")
        assert capfd.readouterr().err == "after\n"


def test_verbose_replays_what_was_held_back_even_after_an_error(capfd, monkeypatch):
    monkeypatch.setenv(keras_files.VERBOSE_ENV, "1")
    with pytest.raises(ValueError):
        with quiet_framework("loading m.keras"):
            _noisy()
            raise ValueError
    err = capfd.readouterr().err
    assert err.startswith("seqcheck: SEQCHECK_VERBOSE: what the framework printed while loading m.keras:\n")
    for line in ("I0000 a C++ log line on fd 2", "a Python write to sys.stderr", "UserWarning: a framework's UserWarning"):
        assert line in err


def test_quiet_framework_without_a_temporary_folder_still_holds_back(capfd, monkeypatch, tmp_path):
    with monkeypatch.context() as patched:
        patched.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
        with quiet_framework("testing"):
            os.write(2, b"dropped\n")
    assert capfd.readouterr().err == ""


# -- 2. a .keras file is screened by the bytes it really unpacks to ---------------------------------


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A .keras file whose weights are 256 MiB of deflated zeros (the file is under 1 MiB)."""
    folder = tmp_path_factory.mktemp("bomb")
    path = folder / "bomb.keras"
    write_bomb(path, tiny_model_file(folder), unpacked=256 * MiB)
    assert path.stat().st_size < MiB
    return path


@pytest.mark.parametrize("headers", ["honest", "declare-less", "declare-more"])
def test_a_zip_bomb_is_refused_in_bounded_memory(bomb, headers, tmp_path, monkeypatch):
    monkeypatch.setenv(keras_files.MAX_UNPACKED_ENV, "64")
    path = tmp_path / "bomb.keras"
    declared = {"honest": None, "declare-less": 1024, "declare-more": (4 << 30) - MiB}[headers]
    path.write_bytes(bomb.read_bytes() if declared is None else declare_size(bomb.read_bytes(), WEIGHTS, declared))
    messages = []
    peak = peak_memory(lambda: messages.append(refused(lambda: load_keras_model(path), ModelError)))
    expected = "is not a valid zip archive (Bad CRC-32" if headers == "declare-less" else "unpacks to more than 64 MiB"
    assert expected in messages[0]
    assert peak < 16 * MiB, f"peak {peak / MiB:.0f} MiB"


def test_the_bound_is_the_documented_default_and_is_overridable(bomb, tmp_path, monkeypatch):
    monkeypatch.delenv(keras_files.MAX_UNPACKED_ENV, raising=False)
    assert model_files.unpacked_bound() == 1 << 30
    assert "1 GiB" in (REPO / "docs" / "threat-model.md").read_text() and keras_files.MAX_UNPACKED_ENV in (
        REPO / "docs" / "threat-model.md").read_text()
    monkeypatch.setenv(keras_files.MAX_UNPACKED_ENV, "255")
    assert "unpacks to more than 255 MiB" in refused(lambda: load_keras_model(bomb), ModelError)
    monkeypatch.setenv(keras_files.MAX_UNPACKED_ENV, "257")  # over the real size: the screen passes it to Keras
    assert "could not be loaded as a Keras model" in refused(lambda: load_keras_model(bomb), ModelError)


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "lots", "٣"])
def test_a_bad_bound_is_a_one_line_error(value, monkeypatch, tmp_path):
    monkeypatch.setenv(keras_files.MAX_UNPACKED_ENV, value)
    message = refused(lambda: load_keras_model(tiny_model_file(tmp_path)))
    assert message.startswith(f"{keras_files.MAX_UNPACKED_ENV}=") and "a whole number of MiB" in message


def test_members_zip_readers_cannot_bound_are_refused_unread(tmp_path):
    path = tmp_path / "bzip2.keras"
    write_bomb(path, tiny_model_file(tmp_path), unpacked=MiB, compression=zipfile.ZIP_BZIP2)
    with mock.patch.object(zipfile.ZipFile, "open", side_effect=AssertionError("a member was read")):
        message = refused(lambda: load_keras_model(path), ModelError)
    assert "'model.weights.h5' is compressed with method 12, expected stored or deflated members" in message


def test_the_screen_reads_the_config_keras_reads(tmp_path):
    # Two members named config.json: Keras reads the last one, so the screen vets the last one.
    path = tmp_path / "two-configs.keras"
    with zipfile.ZipFile(tiny_model_file(tmp_path)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    lam = b'{"class_name": "Lambda", "module": "keras.layers", "config": {}}'
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        for name, data in members:
            archive.writestr(name, data)
        archive.writestr("config.json", lam)
    assert "Lambda layer" in refused(lambda: load_keras_model(path), ModelError)


# -- 3. Keras's temporary folders -----------------------------------------------------------------


def failing_unpack_file(folder: Path) -> Path:
    """A model file Keras starts to unpack into a temporary folder and fails on: ``assets/a`` is both a file
    and the folder of ``assets/a/b``."""
    path = folder / "failing.keras"
    with zipfile.ZipFile(tiny_model_file(folder)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in [*members, ("assets/a", b"file"), ("assets/a/b", b"file in a file")]:
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("fails", [True, False])
def test_loading_leaves_no_temporary_folder_behind(fails, tmp_path, monkeypatch):
    models, private = tmp_path / "models", tmp_path / "tmp"
    models.mkdir()
    private.mkdir()
    path = failing_unpack_file(models) if fails else tiny_model_file(models)
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # TMPDIR, for this process
    before = sorted(models.iterdir())
    if fails:
        assert "could not be loaded as a Keras model" in refused(lambda: load_keras_model(path), ModelError)
    else:
        assert isinstance(load_keras_model(path), keras.Model)
    assert list(private.iterdir()) == []
    assert sorted(models.iterdir()) == before
    assert tempfile.gettempdir() == str(private)


def test_keras_unpacks_large_weights_in_seqchecks_folder_not_next_to_the_model(tmp_path):
    from keras.src.saving import saving_lib

    models = tmp_path / "models"
    models.mkdir()
    path = tiny_model_file(models)
    made = []
    real = tempfile.TemporaryDirectory

    def spy(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    # Weights too large for memory (as Keras judges it) are unpacked into a folder beside the file Keras opens.
    with mock.patch.object(saving_lib, "is_memory_sufficient", return_value=False), \
            mock.patch.object(tempfile, "TemporaryDirectory", spy):
        assert isinstance(load_keras_model(path), keras.Model)
    assert made and all(Path(folder.name).parent.name.startswith("seqcheck-load-") for folder in made)
    assert sorted(p.name for p in models.iterdir()) == ["tiny.keras"]


def test_no_usable_temporary_folder_is_a_one_line_error(tmp_path, monkeypatch):
    path = tiny_model_file(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    assert "set TMPDIR to a writable folder" in refused(lambda: load_keras_model(path), ModelError)


# -- 4. the Keras version gate --------------------------------------------------------------------


@pytest.mark.parametrize("version, passes", [
    ("3.14.1rc1", False), ("3.14.1.dev0", False), ("3.14.1a2", False), ("3.14.1b1", False),
    ("3.14.0.post1", False), ("not a version", False),
    ("3.14.1", True), ("3.14.1.post1", True), ("3.14.1+local", True), ("3.15.0rc1", True),
])
def test_pre_releases_of_the_fixed_keras_are_refused(version, passes):
    with mock.patch.object(keras, "__version__", version):
        if passes:
            assert check_keras_version(keras) == version
        else:
            assert "expected 3.14.1 or later" in refused(lambda: check_keras_version(keras), ModelError)
            assert check_keras_version(keras, allow_unsafe=True) == version


# -- 5. patterns: bounded, and analysed in near-linear work ----------------------------------------


def straight_primitive_period(symbols):
    """The definition: the smallest q dividing n such that the sequence is its first q symbols repeated."""
    n = len(symbols)
    return next(q for q in range(1, n + 1) if n % q == 0 and all(symbols[i] == symbols[i % q] for i in range(n)))


def straight_min_context(symbols):
    """The definition: the smallest length at which every window of the stream determines its target."""
    p = len(symbols)
    for length in range(1, p + 1):
        seen = {}
        for phase in range(p):
            window = tuple(symbols[(phase + i) % p] for i in range(length))
            if seen.setdefault(window, symbols[(phase + length) % p]) != symbols[(phase + length) % p]:
                break
        else:
            return length
    raise AssertionError("not primitive")


units = st.integers(2, 5).flatmap(lambda k: st.lists(st.integers(0, k - 1), min_size=1, max_size=40))


@given(units, st.integers(1, 4))
def test_fast_primitive_period_matches_its_definition(unit, repeats):
    symbols = unit * repeats
    assert primitive_period(symbols) == straight_primitive_period(symbols)


@given(units)
def test_fast_min_context_matches_its_definition(unit):
    unit = unit[: straight_primitive_period(unit)]
    if len(unit) >= 2:
        assert Pattern.parse(unit).min_context == straight_min_context(unit)


@pytest.mark.parametrize("kind", ["worst", "random"])
def test_the_longest_pattern_is_analysed_in_bounded_work_and_memory(kind):
    symbols = [0] * (MAX_PATTERN_LENGTH - 1) + [1] if kind == "worst" else list(
        np.random.default_rng(0).integers(0, 5, MAX_PATTERN_LENGTH))
    results = []
    lines = python_lines(lambda: results.append(Pattern.parse(symbols).min_context), budget=60_000)
    peak = peak_memory(lambda: Pattern.parse(symbols).min_context)
    assert results == [MAX_PATTERN_LENGTH - 1 if kind == "worst" else straight_min_context(Pattern.parse(symbols).symbols)]
    assert lines < 60_000 and peak < 2 * MiB, (lines, peak)


@pytest.mark.parametrize("given_as", ["digits", "commas", "list"])
def test_a_pattern_longer_than_the_bound_is_refused_in_bounded_work(given_as):
    symbols = [int(s) for s in np.random.default_rng(1).integers(0, 5, 10_000)]
    pattern = {"digits": "".join(map(str, symbols)), "commas": ",".join(map(str, symbols)), "list": symbols}[given_as]
    messages = []
    python_lines(lambda: messages.append(refused(lambda: Pattern.parse(pattern))), budget=20_000)
    assert f"expected at most {MAX_PATTERN_LENGTH} symbols" in messages[0]
    assert Pattern.parse(symbols[:MAX_PATTERN_LENGTH]).period <= MAX_PATTERN_LENGTH


@pytest.mark.parametrize("text", ["1²0", "١١٠٠٠", "1,٣", "0\u20031"])
def test_non_ascii_digits_and_spaces_are_refused(text):
    assert "digits like '11000' (ASCII 0-9)" in refused(lambda: Pattern.parse(text))


@pytest.mark.parametrize("pattern", ["0,99999999999999999999", "0," + "9" * 5000, "0,1024", [0, 10**30], "0,00000001"])
def test_symbols_beyond_the_largest_alphabet_are_refused_without_parsing_them(pattern):
    if pattern == "0,00000001":  # leading zeros are not a large number
        assert Pattern.parse(pattern).symbols == (0, 1)
        return
    assert f"expected symbols in {{0..{MAX_ALPHABET_SIZE - 1}}}" in refused(lambda: Pattern.parse(pattern))
    assert f"symbols in {{0..{MAX_ALPHABET_SIZE - 1}}}" in refused(lambda: Pattern.parse(pattern, alphabet_size=4))


@pytest.mark.parametrize("size, ok", [(MAX_ALPHABET_SIZE, True), (MAX_ALPHABET_SIZE + 1, False), (10**20, False), (1, False)])
def test_alphabet_size_is_bounded(size, ok):
    if ok:
        assert Pattern.parse("0,1023", alphabet_size=size).alphabet_size == size
    else:
        assert f"expected 2 to {MAX_ALPHABET_SIZE}" in refused(lambda: Pattern.parse("01", alphabet_size=size))


def test_a_long_message_stays_one_short_line():
    message = refused(lambda: Pattern.parse("0" * 1000 + "x"))
    assert message.startswith("pattern='000") and "...'" in message


# -- 6. odd cache folders and cache files --------------------------------------------------------


def fake_trainer(path, **kwargs):
    Path(path).write_bytes(b"a model")


def test_a_cache_folder_that_is_a_file_or_under_proc_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("mine")
    for root in (tmp_path / "file", Path("/proc/seqcheck-cache")):
        message = refused(lambda: cache.cached_model_path("fixed-window", "11000", cache_dir=root, trainer=fake_trainer))
        assert message.startswith(f"cache_dir='{root}': expected a folder where seqcheck can create its entries")
        assert "--cache-dir or $SEQCHECK_CACHE_DIR" in message
    assert (tmp_path / "file").read_text() == "mine"


def _make(kind: str, path: Path) -> None:
    if kind == "folder":
        path.mkdir()
        (path / "something").write_text("kept")
    else:
        os.mkfifo(path)


@pytest.mark.parametrize("name", [cache.MODEL_FILE, cache.MODEL_FILE + cache.CHECKSUM_SUFFIX, ".lock"])
@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_an_entry_file_of_the_wrong_type_is_named_never_opened_nor_removed(kind, name, tmp_path):
    path = cache.cached_model_path("fixed-window", "11000", cache_dir=tmp_path, trainer=fake_trainer)
    odd = path.parent / name
    odd.unlink()
    _make(kind, odd)
    if name == ".lock":  # a good entry is used without its lock: make it need training
        path.unlink()
    with no_hang():
        assert not cache.verify_entry(path)
        message = refused(lambda: cache.cached_model_path("fixed-window", "11000", cache_dir=tmp_path, trainer=fake_trainer),
                          ModelError)
    what = "a folder" if kind == "folder" else "a FIFO"
    assert message == (f"cache file='{odd}': is {what}, expected a regular file written by seqcheck; remove it and"
                       f" seqcheck trains the entry again")
    assert odd.is_dir() if kind == "folder" else odd.is_fifo()
    if kind == "folder":
        assert (odd / "something").read_text() == "kept"
        (odd / "something").unlink()
        odd.rmdir()
    else:
        odd.unlink()
    assert cache.verify_entry(cache.cached_model_path("fixed-window", "11000", cache_dir=tmp_path, trainer=fake_trainer))


# -- 7. a check leaves a stateful model as it found it ---------------------------------------------


def test_a_check_leaves_rnn_states_weights_and_flags_byte_identical():
    keras.utils.set_random_seed(0)
    inp = keras.Input(batch_shape=(2, None, 1))
    x = keras.layers.LSTM(4, return_sequences=True, stateful=True)(inp)
    x = keras.layers.GRU(3, stateful=True)(x)
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(x))
    model.layers[1].trainable = False
    model(np.random.default_rng(0).random((2, 9, 1)).astype("float32"))  # non-zero states, as a streaming model has
    rnns = [layer for layer in model.layers if getattr(layer, "stateful", False)]

    def fingerprint():
        states = [np.array(v.numpy()).tobytes() for layer in rnns for v in layer.states]
        weights = [w.tobytes() for w in model.get_weights()]
        flags = [layer.trainable for layer in model.layers] + [v.trainable for v in model.variables]
        return states, weights, flags

    before = fingerprint()
    assert len(before[0]) == 3 and all(np.abs(np.frombuffer(s, dtype=np.float32)).sum() > 0 for s in before[0])
    report = seqcheck.check(model, pattern="11000", train_length=10, max_examples=10)
    assert report.results and "stateful" in report.model_description
    assert fingerprint() == before
