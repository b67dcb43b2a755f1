"""Keras 3 on its other backends: a ``.keras`` file checked with ``KERAS_BACKEND=jax`` or ``torch`` gives the report
it gives on TensorFlow, verdict for verdict, and its reproduce line says which backend ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("keras")

pytestmark = pytest.mark.slow

# The Keras engine: every window runs through the backend's own compiled call (the NumPy translation is not used).
OPTIONS = ["--pattern", "11000", "--train-length", "10", "--max-length", "12", "--engine", "keras", "--json", "-"]


def check_on(backend: str, model_path) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, "-m", "seqcheck", "check", str(model_path), *OPTIONS],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 1, result.stderr  # the seed model fails its invariants
    return json.loads(result.stdout)


def without_backend(report: dict, backend: str) -> dict:
    """The report with what names the backend taken out: the model's description and the reproduce lines' prefix."""
    text = json.dumps({key: value for key, value in report.items() if key != "model"})
    return json.loads(text.replace(f"KERAS_BACKEND={backend} ", ""))


def differences(a: object, b: object, where: str = "report") -> list[str]:
    """Where two JSON values differ: anything but floats exactly, floats (probabilities) within 1e-4, which is how far
    float32 rounding moves them between backends."""
    if isinstance(a, float) or isinstance(b, float):
        return [] if isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-4 else [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        return [found for key in a for found in differences(a[key], b[key], f"{where}.{key}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [found for i, (x, y) in enumerate(zip(a, b)) for found in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


@pytest.fixture(scope="module")
def tensorflow_report(seed_model_path):
    return check_on("tensorflow", seed_model_path)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_another_backend_gives_the_tensorflow_report(backend, seed_model_path, tensorflow_report):
    report = check_on(backend, seed_model_path)
    assert report["model"]["description"].startswith(f"Keras (on {backend}), LSTM")
    assert report["reproduce"].startswith(f"KERAS_BACKEND={backend} seqcheck check ")
    assert tensorflow_report["reproduce"].startswith("seqcheck check ")
    assert not tensorflow_report["passed"] and tensorflow_report["invariants"]
    assert differences(without_backend(report, backend), without_backend(tensorflow_report, "tensorflow")) == []
