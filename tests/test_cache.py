"""The on-disk model cache, exercised with a fast fake trainer (no TensorFlow needed)."""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqcheck.training import cache
from seqcheck.errors import InvalidArgument, ModelError
from seqcheck.tasks.patterns import Pattern

REPO = Path(__file__).resolve().parents[1]


def fake_trainer(path, *, recipe, pattern, train_length, seed, verbose, settings, log, delay=0.0):
    """Write a small 'model' file and record the call (one line per call, appended atomically)."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{os.getpid()} {recipe} {pattern.text} {train_length} {seed}\n".encode())
    finally:
        os.close(fd)
    if delay:
        time.sleep(delay)
    Path(path).write_bytes(f"fake model {recipe} {pattern.text} N{train_length} s{seed} {sorted(settings)}".encode() * 50)


def calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture
def log(tmp_path):
    return tmp_path / "calls.log"


@pytest.fixture
def trainer(log):
    return functools.partial(fake_trainer, log=str(log))


@pytest.fixture
def root(tmp_path):
    return tmp_path / "cache"


def get(root, trainer, recipe="fixed-window", pattern="11000", **kw):
    return cache.cached_model_path(recipe, pattern, cache_dir=root, trainer=trainer, **kw)


def test_trains_once_then_reuses(root, trainer, log):
    first = get(root, trainer)
    assert first.is_file() and first.suffix == ".keras"
    assert calls(log) == 1
    second = get(root, trainer)
    assert second == first
    assert calls(log) == 1
    assert cache.verify_entry(first)


def test_entry_layout_is_readable(root, trainer):
    path = get(root, trainer, seed=3, train_length=7)
    assert path.parent.parent == root
    assert path.parent.name.startswith("fixed-window-11000-N7-s3-")
    assert len(path.parent.name.rsplit("-", 1)[1]) == 12
    sidecar = path.with_name(path.name + ".sha256").read_text().split()
    assert sidecar[1] == "model.keras" and len(sidecar[0]) == 64
    assert '"train_length": 7' in (path.parent / "key.json").read_text()
    assert not list(path.parent.glob("model.tmp-*"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "no-sidecar", "bad-sidecar", "deleted"])
def test_damaged_entry_is_retrained(root, trainer, log, damage):
    path = get(root, trainer)
    good = path.read_bytes()
    sidecar = path.with_name(path.name + ".sha256")
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "flip":
        path.write_bytes(good[:10] + bytes([good[10] ^ 0xFF]) + good[11:])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "no-sidecar":
        sidecar.unlink()
    elif damage == "bad-sidecar":
        sidecar.write_text("not a checksum\n")
    elif damage == "deleted":
        path.unlink()
    assert not cache.verify_entry(path)
    again = get(root, trainer)
    assert again == path
    assert calls(log) == 2
    assert cache.verify_entry(again)
    assert again.read_bytes() == good


def test_leftover_temp_file_is_never_returned(root, trainer, log):
    folder = cache.entry_dir("fixed-window", "11000", cache_dir=root)
    folder.mkdir(parents=True)
    leftover = folder / "model.tmp-99999-deadbeef.keras"
    leftover.write_bytes(b"half a model from a killed training")
    path = get(root, trainer)
    assert path.name == "model.keras"
    assert calls(log) == 1
    assert not leftover.exists()
    assert cache.verify_entry(path)


def test_leftover_temp_file_beside_a_good_entry_is_ignored(root, trainer, log):
    path = get(root, trainer)
    leftover = path.parent / "model.tmp-99999-deadbeef.keras"
    leftover.write_bytes(b"junk")
    assert get(root, trainer) == path
    assert calls(log) == 1


def failing_trainer(path, **kwargs):
    Path(path).write_bytes(b"partial")
    raise RuntimeError("killed mid-training")


def test_failed_training_leaves_no_entry(root, trainer, log):
    with pytest.raises(RuntimeError, match="killed"):
        get(root, failing_trainer)
    folder = cache.entry_dir("fixed-window", "11000", cache_dir=root)
    assert not (folder / "model.keras").exists()
    assert not list(folder.glob("model.tmp-*"))
    path = get(root, trainer)
    assert calls(log) == 1 and cache.verify_entry(path)


def test_trainer_that_writes_nothing_is_an_error(root):
    with pytest.raises(ModelError, match="wrote nothing"):
        get(root, lambda path, **kw: None)


def _worker(root, log, barrier, results):
    barrier.wait()
    trainer = functools.partial(fake_trainer, log=log, delay=0.5)
    path = cache.cached_model_path("varied-window", "11000", cache_dir=root, trainer=trainer)
    results.put((str(path), cache.verify_entry(path), path.read_bytes()))


def test_concurrent_processes_train_once(root, log):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(root), str(log), barrier, results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    got = [results.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert calls(log) == 1
    assert len({path for path, _, _ in got}) == 1
    assert all(ok for _, ok, _ in got)
    assert len({content for _, _, content in got}) == 1


def test_cache_dir_from_env(monkeypatch, tmp_path, trainer):
    monkeypatch.setenv("SEQCHECK_CACHE_DIR", str(tmp_path / "from-env"))
    assert cache.default_cache_dir() == tmp_path / "from-env"
    path = cache.cached_model_path("fixed-window", "11000", trainer=trainer)
    assert path.parent.parent == tmp_path / "from-env"


def test_default_cache_dir_fallbacks(monkeypatch, tmp_path):
    monkeypatch.delenv("SEQCHECK_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_cache_dir() == tmp_path / "xdg" / "seqcheck"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.default_cache_dir() == tmp_path / "home" / ".cache" / "seqcheck"


def test_key_changes_with_what_matters():
    base = cache.cache_key("fixed-window", "11000")
    assert base == cache.cache_key("fixed-window", Pattern.parse("11000"))
    assert base == cache.cache_key("fixed-window", "1100011000")  # the same primitive pattern
    assert len(base) == 64
    others = {
        cache.cache_key("fixed-window", "11000", seed=1),
        cache.cache_key("fixed-window", "1100", seed=0),
        cache.cache_key("varied-window", "11000"),
        cache.cache_key("fixed-window", "11000", train_length=11),
        cache.cache_key("fixed-window", "11000", settings={"epochs": 1}),
        cache.cache_key("fixed-window", Pattern.parse("11000", alphabet_size=3)),
    }
    assert base not in others and len(others) == 6
    assert cache.cache_key("fixed-window", "11000", settings={"epochs": 10}) == base  # the default, spelt out


def test_key_holds_versions():
    data = cache.cache_key_data("fixed-window", "11000")
    assert set(data) >= {"recipe", "settings", "pattern", "alphabet_size", "train_length", "seed",
                         "keras", "tensorflow", "recipe_version"}
    assert data["pattern"] == [1, 1, 0, 0, 0] and data["alphabet_size"] == 2
    assert data["settings"]["epochs"] == 10


def test_different_keys_get_different_entries(root, trainer, log):
    paths = {get(root, trainer, seed=s) for s in (0, 1)} | {get(root, trainer, recipe="varied-window")}
    assert len(paths) == 3 and calls(log) == 3


def test_unknown_recipe_and_setting_are_one_line_errors(root, trainer):
    with pytest.raises(InvalidArgument, match="fixed-window, varied-window") as info:
        get(root, trainer, recipe="no-such-recipe")
    assert "no-such-recipe" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(InvalidArgument, match="epoch"):
        get(root, trainer, settings={"epoch": 3})
    with pytest.raises(InvalidArgument, match="seed"):
        get(root, trainer, seed=-1)


def test_importing_does_not_import_tensorflow():
    code = (
        "import sys, seqcheck.training.cache, seqcheck.training.recipes; "
        "bad = [m for m in ('keras', 'tensorflow') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO)


def test_a_model_trained_on_another_keras_backend_has_another_key():
    code = "import json; from seqcheck.training.cache import cache_key_data; print(json.dumps(cache_key_data('fixed-window', '11000')))"
    keys = {}
    for backend in ("tensorflow", "jax"):
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        out = subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO, capture_output=True, text=True)
        keys[backend] = json.loads(out.stdout)
    assert "keras_backend" not in keys["tensorflow"]  # the keys of models trained on TensorFlow are as they were
    assert {k: v for k, v in keys["jax"].items() if k != "keras_backend"} == keys["tensorflow"]
    assert keys["jax"]["keras_backend"] == "jax"
