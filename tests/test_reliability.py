"""Reliability: the user's model untouched, cache faults, determinism, NaN outputs, bounded memory, Ctrl-C."""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from seqcheck.training import cache
from seqcheck.errors import CacheWarning

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _keras():
    return pytest.importorskip("keras")


# -- 4. the user's model is untouched --------------------------------------------------------------


def model_fingerprint(model) -> str:
    """sha256 of every variable (weights, RNN states, BatchNorm statistics, seed states) and every trainable flag."""
    digest = hashlib.sha256()
    for variable in model.variables:
        digest.update(variable.path.encode())
        digest.update(np.ascontiguousarray(variable.numpy()).tobytes())
    for layer in model._flatten_layers(include_self=True):
        digest.update(f"{layer.name}:{layer.trainable}".encode())
    digest.update(str(getattr(model, "compiled", None)).encode())
    return digest.hexdigest()


def _busy_model(keras, *, stateful=False, time=None):
    keras.utils.set_random_seed(0)
    batch = 2 if stateful else None
    inp = keras.Input(batch_shape=(batch, time, 1))
    x = keras.layers.LSTM(4, return_sequences=True, stateful=stateful)(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.GRU(3, stateful=stateful)(x)
    out = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inp, out, name="busy")
    model.layers[1].trainable = False  # a frozen layer: must stay frozen
    model(np.ones((2, 10 if time is None else time, 1), dtype="float32"))  # non-zero states for a stateful model
    return model


@pytest.mark.parametrize("kind", ["plain", "stateful", "fixed-time"])
def test_check_leaves_weights_flags_and_states_unchanged(kind):
    import seqcheck

    keras = _keras()
    model = _busy_model(keras, stateful=kind == "stateful", time=10 if kind == "fixed-time" else None)
    before = model_fingerprint(model)
    report = seqcheck.check(model, pattern="11000", train_length=10, max_examples=10)
    assert report.results
    assert model_fingerprint(model) == before
    assert not model.compiled


# -- 5. faults in the model cache ------------------------------------------------------------------


def fake_trainer(path, *, recipe, pattern, train_length, seed, verbose, settings, log, marker=None, hang=0.0):
    with open(log, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    Path(path).write_bytes(b"half a model")
    if marker:
        Path(marker).write_text("writing")
    if hang:
        time.sleep(hang)
    Path(path).write_bytes(f"model {pattern.text} {seed}".encode() * 100)


def _calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _killed_worker(root, log, marker):
    trainer = functools.partial(fake_trainer, log=log, marker=marker, hang=120)
    cache.cached_model_path("fixed-window", "11000", cache_dir=root, trainer=trainer)


def test_training_killed_midway_leaves_no_entry_that_loads(tmp_path):
    root, log, marker = tmp_path / "cache", tmp_path / "calls.log", tmp_path / "marker"
    proc = multiprocessing.get_context("spawn").Process(target=_killed_worker, args=(str(root), str(log), str(marker)))
    proc.start()
    try:
        for _ in range(1200):
            if marker.exists() or not proc.is_alive():
                break
            time.sleep(0.05)
        assert marker.exists(), "the training process never started"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.join(timeout=60)
    assert proc.exitcode == -signal.SIGKILL
    folder = cache.entry_dir("fixed-window", "11000", cache_dir=root)
    assert not (folder / cache.MODEL_FILE).exists() and not cache.verify_entry(folder / cache.MODEL_FILE)
    assert list(folder.glob("model.tmp-*"))  # the half-written file is there, under a name never loaded
    path = cache.cached_model_path("fixed-window", "11000", cache_dir=root,
                                   trainer=functools.partial(fake_trainer, log=str(log)))
    assert _calls(log) == 2 and cache.verify_entry(path)  # the dead process's lock was released
    assert not list(folder.glob("model.tmp-*"))


def test_interrupted_training_leaves_no_entry(tmp_path):
    def interrupted(path, **kwargs):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    root = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        cache.cached_model_path("fixed-window", "11000", cache_dir=root, trainer=interrupted)
    folder = cache.entry_dir("fixed-window", "11000", cache_dir=root)
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]


@pytest.mark.parametrize("fault", ["read-only-mkdir", "read-only-lock", "full-disk", "read-only-filesystem"])
def test_unusable_cache_degrades_to_a_temporary_folder_with_a_warning(tmp_path, monkeypatch, fault):
    # Tests run as root, where chmod does not stop writes: inject the errors the kernel would give.
    root, log = tmp_path / "cache", tmp_path / "calls.log"
    trainer = functools.partial(fake_trainer, log=str(log))
    code = {"read-only-mkdir": errno.EACCES, "read-only-lock": errno.EACCES, "full-disk": errno.ENOSPC,
            "read-only-filesystem": errno.EROFS}[fault]
    real_mkdir, real_replace, real_open = Path.mkdir, os.replace, open

    def inside(path) -> bool:
        return str(path).startswith(str(root))

    def mkdir(self, *args, **kwargs):
        if inside(self) and fault == "read-only-mkdir":
            raise PermissionError(code, os.strerror(code), str(self))
        return real_mkdir(self, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):
        if inside(dst) and fault in ("full-disk", "read-only-filesystem"):
            raise OSError(code, os.strerror(code), str(dst))
        return real_replace(src, dst, *args, **kwargs)

    def opener(file, *args, **kwargs):
        if inside(file) and str(file).endswith(".lock") and fault == "read-only-lock":
            raise PermissionError(code, os.strerror(code), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(cache.os, "replace", replace)
    monkeypatch.setattr("builtins.open", opener)
    monkeypatch.setattr(cache, "_FALLBACK_ENTRIES", {})
    with pytest.warns(CacheWarning, match=r"model cache .* is not writable .*temporary folder.*SEQCHECK_CACHE_DIR"):
        path = cache.cached_model_path("fixed-window", "11000", cache_dir=root, trainer=trainer)
    assert not inside(path) and cache.verify_entry(path)
    assert path.read_bytes().startswith(b"model 11000")
    assert not (cache.entry_dir("fixed-window", "11000", cache_dir=root) / cache.MODEL_FILE).exists()
    trained = _calls(log)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.cached_model_path("fixed-window", "11000", cache_dir=root, trainer=trainer) == path
    assert _calls(log) == trained  # trained once per process, not once per call


def test_other_errors_are_not_hidden_by_the_fallback(tmp_path, monkeypatch):
    def broken(path, **kwargs):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(cache, "_FALLBACK_ENTRIES", {})
    with pytest.raises(OSError, match="I/O error"):
        cache.cached_model_path("fixed-window", "11000", cache_dir=tmp_path / "c", trainer=broken)


# (The checksum tests -- truncated, flipped, emptied, sidecar missing or wrong -- and the four
# processes that train once are in tests/test_cache.py: test_damaged_entry_is_retrained,
# test_concurrent_processes_train_once.)


# -- 6. determinism, NaN -------------------------------------------------------------------------


def _strip_timings(data):
    if isinstance(data, dict):
        return {k: _strip_timings(v) for k, v in data.items()
                if not any(t in k.lower() for t in ("time", "second", "elapsed", "duration"))}
    if isinstance(data, list):
        return [_strip_timings(v) for v in data]
    return data


def test_same_seed_same_json_five_times(seed_model_path, tmp_path):
    from seqcheck.integrations.cli import main

    reports = []
    for i in range(5):
        out = tmp_path / f"r{i}.json"
        assert main(["check", str(seed_model_path), "--pattern", "11000", "--train-length", "10", "--seed", "7",
                     "--max-examples", "40", "--json", str(out)]) == 1
        reports.append(_strip_timings(json.loads(out.read_text())))
    assert all(r == reports[0] for r in reports)
    assert reports[0]["invariants"][1]["counterexample"]["length"] == 11


DETERMINISM_TESTS = textwrap.dedent(
    """
    import json, os
    import pytest
    import seqcheck

    @pytest.mark.parametrize("i", range(4))
    def test_report(i):
        report = seqcheck.check(os.environ["SEQCHECK_T_MODEL"], pattern="11000", train_length=10, seed=7, max_examples=40)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        out = os.path.join(os.environ["SEQCHECK_T_OUT"], f"{os.environ['SEQCHECK_T_RUN']}-{worker}-{i}.json")
        with open(out, "w") as handle:
            handle.write(report.to_json())
    """
)


def test_same_json_with_and_without_xdist(seed_model_path, tmp_path):
    """The same reports under ``-n 0`` and ``-n 2`` (pytest-xdist workers are separate processes)."""
    pytest.importorskip("xdist")
    (tmp_path / "test_determinism_probe.py").write_text(DETERMINISM_TESTS)
    out = tmp_path / "out"
    out.mkdir()
    for run, workers in (("serial", "0"), ("xdist", "2")):
        env = dict(os.environ, SEQCHECK_T_MODEL=str(seed_model_path), SEQCHECK_T_OUT=str(out), SEQCHECK_T_RUN=run)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers, "test_determinism_probe.py"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    files = sorted(out.glob("*.json"))
    assert len(files) == 8
    assert any("-gw" in f.name for f in files)
    reports = [_strip_timings(json.loads(f.read_text())) for f in files]
    assert all(r == reports[0] for r in reports), [f.name for f, r in zip(files, reports) if r != reports[0]]


def test_nan_and_infinite_outputs_of_a_keras_model_are_violations(tmp_path):
    keras = _keras()
    from seqcheck.integrations.cli import main

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 1))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.LSTM(2)(inp)))
    weights = model.get_weights()
    weights[-1] = np.array([np.inf, 0.0], dtype="float32")  # softmax(inf, x) = NaN
    model.set_weights(weights)
    path, out = tmp_path / "nan.keras", tmp_path / "r.json"
    model.save(path)
    assert main(["check", str(path), "--pattern", "11000", "--max-examples", "10", "--json", str(out)]) == 1
    data = json.loads(out.read_text())
    lengths = next(inv for inv in data["invariants"] if inv["name"] == "length_generalization")
    assert not lengths["passed"] and lengths["counterexample"]["length"] == 3


# -- 7. bounded resources, Ctrl-C ---------------------------------------------------------------


class Recorder:
    """A callable model that records the largest batch it is fed, in symbols."""

    def __init__(self):
        self.largest = 0

    def __call__(self, batch):
        self.largest = max(self.largest, batch.size)
        out = np.zeros((len(batch), 2))
        last = np.asarray(batch)[:, -1].reshape(len(batch)).astype(np.int64)
        out[np.arange(len(batch)), last % 2] = 1.0
        return out


def test_a_batch_of_100000_windows_is_chunked_within_the_memory_bound():
    from seqcheck.models import CallableModel

    model = CallableModel(Recorder(), alphabet_size=2, encoding="scalar")
    windows = np.random.default_rng(0).integers(0, 2, size=(100_000, 100))
    tracemalloc.start()
    try:
        probs = model.predict_proba(windows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert probs.shape == (100_000, 2)
    assert model.fn.largest <= model.max_batch_symbols  # 2**21 symbols a call
    # Stated bound (docs/threat-model.md): a call's encoded input is at most max_batch_symbols * k * 4 bytes
    # (8 MiB for k = 2 here); with the decoded outputs the peak stays far below the 80 MB of the windows.
    assert peak < 64 * 2**20, peak


def test_a_check_to_length_10000_calls_the_model_in_bounded_chunks():
    import seqcheck

    recorder = Recorder()
    report = seqcheck.check(recorder, pattern="11000", max_length=10_000, max_examples=20)
    assert report.space.max_length == 10_000
    assert 0 < recorder.largest <= 1 << 21


def test_ctrl_c_during_a_check_exits_130_and_leaves_no_partial_file(seed_model_path, tmp_path):
    out = tmp_path / "report.json"
    marker = tmp_path / "started"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from seqcheck.models import keras as adapter
        real = adapter.KerasModel._call
        def slow(self, x):
            Path({str(marker)!r}).touch()
            time.sleep(0.05)
            return real(self, x)
        adapter.KerasModel._call = slow
        from seqcheck.integrations.cli import main
        sys.exit(main(["check", {str(seed_model_path)!r}, "--pattern", "11000", "--max-examples", "1000",
                       "--json", {str(out)!r}]))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(2400):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), proc.communicate()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert stderr.strip() == "seqcheck: interrupted" and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["started"]


def test_ctrl_c_while_writing_the_report_leaves_no_partial_file(seed_model_path, tmp_path, monkeypatch, capsys):
    from seqcheck.integrations import cli

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.os, "replace", interrupted)
    out = tmp_path / "report.json"
    assert cli.main(["check", str(seed_model_path), "--pattern", "11000", "--max-examples", "5", "--json", str(out)]) == 130
    assert "seqcheck: interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
