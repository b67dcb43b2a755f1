"""The seed's phenomenon, reproduced by the project's own recipe and caught; the fix passes; the demo."""

from __future__ import annotations

import json

import numpy as np
import pytest

import seqcheck
from seqcheck import Pattern
from seqcheck.integrations.cli import main

PATTERN = Pattern.parse("11000")


def accuracy_by_direct_calls(path, lengths):
    """Accuracy per length computed without seqcheck's engine: Keras called on each length's windows."""
    from seqcheck.models.keras_files import load_keras_model

    model = load_keras_model(path)
    out = {}
    for length in lengths:
        x = PATTERN.windows(length).astype("float32")[..., None]
        predicted = (np.asarray(model(x, training=False))[:, 0] >= 0.5).astype(int)
        out[length] = predicted
    return out


@pytest.mark.slow
def test_seed_model_is_start_anchored_and_seqcheck_catches_it(seed_model_path):
    report = seqcheck.check(seed_model_path, pattern="11000", train_length=10)
    acc = report["length generalization"].accuracy_by_length
    assert acc[10] == 1.0
    assert any(acc[10 + i] < 1.0 for i in range(1, 15) if i % 5)

    cx = report["length generalization"].counterexample
    assert (cx.length, cx.phase, cx.expected, cx.predicted) == (11, 1, 0, 1)
    # Cross-check: the minimum under the documented order, from a brute-force sweep of direct calls.
    direct = accuracy_by_direct_calls(seed_model_path, range(3, 41))
    wrong = [(n, ph) for n, pred in direct.items() for ph in range(5) if pred[ph] != PATTERN.target(ph, n)]
    assert min(wrong, key=lambda w: (abs(w[0] - 10), w[0] < 10, w[1])) == (11, 1)
    assert {n: float(np.mean(direct[n] == PATTERN.targets(n))) for n in direct} == acc

    shift = report["phase-shift invariance"].counterexample
    assert shift.form == "label-free" and (shift.length, shift.window.length, shift.phase, shift.other.length) == (10, 11, 1, 10)
    assert any("counts from the window start" in d for d in report.diagnosis)


def test_seed_model_keeps_whole_periods_from_its_training_length_to_24(seed_model_path):
    """A start-anchored model passes the prepend-a-period form (docs/concepts.md). The seed model does on
    lengths 10..24; shorter windows and longer ones break its count (see reference.SEED)."""
    near = seqcheck.check(seed_model_path, pattern="11000", train_length=10, min_length=10, max_length=24)
    assert near["periodic consistency"].form("prepend-a-period").passed
    assert near["periodic consistency"].form("prepend-a-period").exhaustive
    assert not near["phase-shift invariance"].passed
    far = seqcheck.check(seed_model_path, pattern="11000", train_length=10, max_length=40)
    assert not far["periodic consistency"].form("prepend-a-period").passed


def test_fixed_model_passes_every_invariant_to_four_training_lengths(fixed_model_path):
    report = seqcheck.check(fixed_model_path, pattern="11000", train_length=10, max_length=40)
    assert report.passed, report.render()
    assert all(r.exhaustive for r in report.results if r.name != "batch_invariance")


@pytest.mark.slow
def test_demo_catches_the_seed_and_passes_the_fix_from_the_cache(seed_model_path, fixed_model_path, monkeypatch, capsys):
    import seqcheck.training.cache

    def no_training(*args, **kwargs):
        raise AssertionError("the demo trained a model although both are cached")

    monkeypatch.setattr(seqcheck.training.cache, "train_and_save", no_training)
    assert main(["demo", "--cache-dir", str(seed_model_path.parents[1])]) == 0
    out = capsys.readouterr().out
    assert "  seed                      1.0  0.6  0.2  0.2  0.6  1.0  0.6" in out
    assert "  phase-shift invariance      FAIL    pass" in out
    assert "window 1 0 0 0 1 1 0 0 0 1 1   (length 11, phase 1)  -> predicted 1" in out
    assert "verdict: seqcheck caught the seed model's violations and found none in the fixed model (lengths 3..40)." in out


def test_train_command_saves_a_loadable_model_and_never_overwrites(fixed_model_path, tmp_path, monkeypatch, capsys):
    """The command's own work -- arguments, saving, the overwrite rules -- on the cached varied-window model:
    the recipe's training is replaced by loading that model (the recipes' tests train for real)."""
    import seqcheck.training.recipes
    from seqcheck.models.keras_files import load_keras_model

    calls = []

    def cached_training(recipe, pattern, *, train_length, seed, verbose=0, settings=None):
        calls.append((recipe, str(pattern), train_length, seed))
        return load_keras_model(fixed_model_path)

    monkeypatch.setattr(seqcheck.training.recipes, "train", cached_training)
    output = tmp_path / "fix.keras"
    assert main(["train", "varied-window", "--pattern", "11000", "--output", str(output)]) == 0
    assert calls == [("varied-window", "11000", 10, 0)]
    assert "saved varied-window model for pattern 11000" in capsys.readouterr().out
    saved, cached = load_keras_model(output), load_keras_model(fixed_model_path)
    for a, b in zip(saved.get_weights(), cached.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    before = output.read_bytes()
    assert main(["train", "varied-window", "--pattern", "11000", "--output", str(output)]) == 2
    assert "pass --force to overwrite it" in capsys.readouterr().err
    assert output.read_bytes() == before and len(calls) == 1  # refused before any training

    output.write_bytes(b"not a model")
    assert main(["train", "varied-window", "--pattern", "11000", "--seed", "3", "--output", str(output), "--force"]) == 0
    assert calls[-1] == ("varied-window", "11000", 10, 3)
    assert isinstance(load_keras_model(output), type(cached))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "sliding", "--pattern", "11000", "-o", "{tmp}/m.keras"], "sliding"),
        (["train", "fixed-window", "--pattern", "11000", "-o", "{tmp}/m.h5"], "a path ending in .keras"),
        (["train", "fixed-window", "--pattern", "11000", "-o", "{tmp}/nope/m.keras"], "create"),
    ],
)
def test_train_bad_input(args, fragment, tmp_path, capsys):
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def _same(a, b, where="report"):
    """Recursive equality, floats to 1e-5: the two engines' probabilities differ in the last float32 bits."""
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6, nan_ok=True), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow
@pytest.mark.parametrize("which", ["seed", "fixed"])
def test_numpy_engine_gives_the_report_keras_gives(which, seed_model_path, fixed_model_path):
    """The NumPy translation is an optimisation only: every verdict, counterexample, count and table of the
    whole battery is the one the compiled Keras function gives."""
    from seqcheck.models.keras import KerasModel
    from seqcheck.models.keras_files import load_keras_model

    model = load_keras_model(seed_model_path if which == "seed" else fixed_model_path)
    reports = {}
    for engine in ("numpy", "keras"):
        adapter = KerasModel(model, alphabet_size=2, engine=engine, name=which)
        report = seqcheck.check(adapter, pattern="11000", train_length=10).to_dict()
        how = report.pop("model")  # how the model was evaluated, and why: the engine, prefix passes or not
        assert how["engine"] == engine and how["engine_reason"] == f"as asked (engine={engine!r})"
        reports[engine] = json.loads(json.dumps(report).replace(f"engine={engine!r}", "engine=..."))  # reproduce lines
    assert reports["numpy"]["passed"] is (which == "fixed")
    _same(reports["numpy"], reports["keras"])


def test_numpy_engine_does_not_drift_from_keras_on_long_windows(fixed_model_path):
    """The probe compares the engines on windows of length 4; errors must not grow with the length."""
    from seqcheck.models.keras import KerasModel
    from seqcheck.models.keras_files import load_keras_model

    model = load_keras_model(fixed_model_path)
    windows = np.random.default_rng(0).integers(0, 2, size=(16, 2000))
    numpy_engine = KerasModel(model, alphabet_size=2)
    assert numpy_engine.engine == "numpy"
    np.testing.assert_allclose(
        numpy_engine.predict_proba(windows), KerasModel(model, alphabet_size=2, engine="keras").predict_proba(windows), atol=1e-5
    )
