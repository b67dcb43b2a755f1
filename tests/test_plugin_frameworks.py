"""The pytest plugin and ``Subject`` on models of other frameworks: an in-memory PyTorch module declared in a test
file, and an ONNX file given as ``--seqcheck-model``.  Both are the seed model's network with its Keras weights, so
they must fail the same invariants, with the same minimal counterexample, as the Keras model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("jax")

pytestmark = pytest.mark.slow
pytest_plugins = ["pytester"]

HERE = Path(__file__).parent

TORCH_SUBJECT_TEST = """
import keras
import seqcheck
from torch_models import seed_network_from_keras

NETWORK = seed_network_from_keras(keras.saving.load_model({path!r}, compile=False))
SEED = seqcheck.Subject("seed-in-torch", NETWORK, pattern="11000", train_length=10)

@seqcheck.battery(SEED)
def test_seed(seqcheck_result):
    seqcheck.assert_holds(seqcheck_result)

def test_the_module_is_left_in_eval_mode_untouched():
    assert not NETWORK.training
"""

JAX_SUBJECT_TEST = """
import jax
import jax.numpy as jnp
import seqcheck

PATTERN = jnp.array([1, 1, 0, 0, 0])

@jax.jit
def counts_from_the_start(windows):
    \"\"\"The seed model's mistake, written in JAX: predicts pattern[L % 5] whatever the window holds.\"\"\"
    symbol = PATTERN[windows.shape[1] % 5]
    return jax.nn.one_hot(jnp.full((windows.shape[0],), symbol), 2)

@seqcheck.battery(seqcheck.Subject("start-anchored", counts_from_the_start, pattern="11000", train_length=10))
def test_rule(seqcheck_result):
    seqcheck.assert_holds(seqcheck_result)
"""

USER_TEST = """
import seqcheck

def test_invariant_holds(seqcheck_result):
    seqcheck.assert_holds(seqcheck_result)
"""

#: The seed model's minimal length-generalization counterexample (the same in every framework).
MINIMAL = "window 1 0 0 0 1 1 0 0 0 1 1   (length 11, phase 1)"


def test_a_torch_module_declared_as_a_subject_is_checked_by_the_plugin(pytester, seed_model_path):
    shutil.copy(HERE / "torch_models.py", pytester.path / "torch_models.py")
    pytester.makepyfile(test_torch=TORCH_SUBJECT_TEST.format(path=str(seed_model_path)))
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=3)  # batch invariance holds; the three stream invariants fail
    result.stdout.fnmatch_lines([f"*{MINIMAL}*"])


def test_an_onnx_file_is_checked_with_seqcheck_model(pytester, seed_model_path):
    import keras

    from torch_models import export_onnx, seed_network_from_keras

    network = seed_network_from_keras(keras.saving.load_model(seed_model_path, compile=False))
    export_onnx(network, pytester.path / "seed.onnx", {"x": {0: "batch", 1: "time"}})
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess(
        "--seqcheck-model", "seed.onnx", "--seqcheck-pattern", "11000", "--seqcheck-train-length", "10",
    )
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["seqcheck: seed 0, profile ci, checking model */seed.onnx, pattern 11000", f"*{MINIMAL}*"])


def test_a_jitted_jax_function_declared_as_a_subject_is_checked_by_the_plugin(pytester):
    pytester.makepyfile(test_jax=JAX_SUBJECT_TEST)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=3)
    # pattern[L % 5] is right at lengths 10, 15, ... for phase 0 only: the first wrong window is length 10, phase 2
    result.stdout.fnmatch_lines(
        ["start-anchored  length generalization    FAIL * minimal: length 10, phase 2, expected 0, predicted 1 (oracle)"]
    )
