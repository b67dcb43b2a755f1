"""seqcheck's sweep through each framework's adapter against that framework's own compiled call, same model and lengths.

    python benchmarks/frameworks.py             # full run: the trained seed model, lengths 3..200, best of 3 (2-5 min)
    python benchmarks/frameworks.py --smoke     # untrained weights, lengths 3..12, best of 1: checks the script runs
    python benchmarks/frameworks.py --json out.json --repeat 5

The target (issue #13): for each framework, seqcheck's sweep reaches at least 0.5 of the raw batched throughput of that
framework's own compiled call on the same model and lengths.

One model, the same function in every framework: the seed model, LSTM(4) over scalar inputs ``(B, L, 1)`` ->
Dense(1, sigmoid) on the last step, trained by seqcheck (``cached_model_path("fixed-window", "11000",
train_length=10, seed=0)``, from the model cache the test suite shares, trained on first use; an untrained, seeded
Keras model of the same shape with ``--smoke``).  Its weights, in Keras's layout, are copied into each framework:

- **keras**: the Keras model itself, on TensorFlow (``KERAS_BACKEND`` is set to ``tensorflow``);
- **torch**: ``SeedNetwork`` of ``tests/torch_models.py`` (loaded from that file), the weights copied as its
  ``seed_network_from_keras`` copies them, but from the arrays, so that the script runs without Keras;
- **onnx**: that PyTorch network exported by ``torch.onnx.export(..., dynamo=False, dynamic_axes={"x": {0: "batch",
  1: "time"}})`` to a temporary ``.onnx`` file, which seqcheck loads (so ONNX needs PyTorch installed too);
- **jax**: a jitted LSTM written here (``jax.lax.scan`` over time), the weights as compiled-in constants; wrapped with
  ``encoding="scalar"``, since a JAX function carries no input signature to read it from.

Before timing, every framework's raw output on every phase at lengths 3, 10 and 30 must agree with the first
framework's, and each adapter's probabilities with its framework's raw output, to 1e-4 (the script exits non-zero
otherwise).  Without Keras the weights are seeded random arrays of the seed model's shapes: outside Keras, whose prefix
passes re-evaluate near ties, the cost of a sweep does not depend on them.

For each framework, on the same windows (every phase p = 5 of the stream ``11000`` at every length 3..200, 990
windows; 3..12 with ``--smoke``), every side warmed first (untimed: traces, compilations of every shape, the output
kind), then all interleaved round by round, best of ``--repeat`` (default 3; 1 with ``--smoke``):

- **seqcheck's sweep**: :func:`performance.every_window_sweep` (``Evaluator.for_space`` and
  ``length_generalization.finish``: every window evaluated and judged, as a check builds its accuracy table) on the
  model wrapped by seqcheck's adapter as a check wraps it (``seqcheck.models.as_model``: the registry's adapter for
  the object, or for the ``.onnx`` path);
- **raw**: the same windows fed to the framework directly, one call per length holding that length's p windows (a
  model that is not causal cannot take two lengths in one call), by its fastest own call: Keras, a ``tf.function`` of
  the model (:func:`performance.raw_function`); PyTorch, the module under ``torch.inference_mode()``, with torch's
  intra-op threads and with one (the faster counts: on small calls one thread wins, by far when the machine is busy,
  and the adapter uses one); ONNX, ``session.run`` on the very session seqcheck opened (so that nothing but
  seqcheck's own work differs); JAX, the jitted function;
- **big batch** (for information, no target): the same raw calls on 1,000 windows of each length (the p phases
  tiled), where per-call costs vanish.

ratio = windows per second of the sweep / windows per second raw (the same windows: the raw time over the sweep's).
A second table takes each sweep apart, in microseconds per length: the raw call; the adapter's own call on the
encoded batch (``_call``: its conversions and padding); ``predict_proba`` (plus seqcheck's encoding and decoding);
the sweep (plus the evaluator and the judging); and the untimed first sweep (compilations included).  The last line
is ``frameworks: keras=<r> torch=<r> onnx=<r> jax=<r>`` (two decimals), a framework that is not installed printed
as ``absent`` and skipped.  On a shared machine only ratios mean something.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ["KERAS_BACKEND"] = "tensorflow"  # the Keras side is Keras on TensorFlow, whatever the environment says

import numpy as np  # noqa: E402

from performance import (  # noqa: E402
    PATTERN, ROOT, TRAIN_LENGTH, best_of, encoded, every_window_sweep, how_evaluated, log, raw_function, untrained,
)

import seqcheck  # noqa: E402
from seqcheck.models import as_model  # noqa: E402
from seqcheck.tasks.patterns import Pattern  # noqa: E402

#: The frameworks in the summary line's order, and the modules each needs (ONNX's model is exported from PyTorch).
FRAMEWORKS = {
    "keras": ("keras", "tensorflow"),
    "torch": ("torch",),
    "onnx": ("onnxruntime", "onnx", "torch"),
    "jax": ("jax",),
}
TARGET = 0.5
#: Lengths at which every framework's outputs are compared before timing (within the run's lengths).
AGREEMENT_LENGTHS = (3, 10, 30)
AGREEMENT_TOLERANCE = 1e-4

FULL = {"max_length": 200, "big_batch": 1_000}
SMOKE = {"max_length": 12, "big_batch": 50}

#: The seed model's weights in Keras's layout: LSTM kernel (1, 4u), recurrent kernel (u, 4u), bias (4u,) with the
#: gates in the order input, forget, cell, output; Dense kernel (u, 1) and bias (1,).
Weights = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class Framework:
    """One framework's two sides: seqcheck's adapter around the model, and the framework's own calls of it."""

    name: str
    #: The model wrapped by seqcheck's adapter, as a check wraps it.
    subject: seqcheck.models.ModelUnderTest
    #: The framework's own calls on encoded windows ``(B, L, 1)`` float32, each returning ``(B, 1)`` on the host, by
    #: how they call it; the fastest is the raw side.
    raw: dict[str, Callable[[np.ndarray], np.ndarray]]
    versions: str


def missing(name: str) -> list[str]:
    """The modules ``name`` needs that are not installed (nothing is imported to find out)."""
    return [module for module in FRAMEWORKS[name] if importlib.util.find_spec(module) is None]


# -- the model, in every framework -----------------------------------------------------------------


def seed_keras_model(smoke: bool):
    """The trained seed model from the model cache (trained on first use), or an untrained seeded one with --smoke."""
    if smoke:
        return untrained(2)
    from seqcheck.models.keras_files import load_keras_model
    from seqcheck.training.cache import cached_model_path

    return load_keras_model(cached_model_path("fixed-window", PATTERN, train_length=TRAIN_LENGTH, seed=0, verbose=1))


def keras_weights(keras_model) -> Weights:
    """The weights of a Keras LSTM -> Dense model, as float32 arrays."""
    import keras

    lstm = next(layer for layer in keras_model.layers if isinstance(layer, keras.layers.LSTM))
    dense = next(layer for layer in keras_model.layers if isinstance(layer, keras.layers.Dense))
    return tuple(np.asarray(w, dtype=np.float32) for w in (*lstm.get_weights(), *dense.get_weights()))


def random_weights(units: int = 4) -> Weights:
    """Seeded weights of the seed model's shapes, for a run without Keras."""
    rng = np.random.default_rng(0)
    shapes = [(1, 4 * units), (units, 4 * units), (4 * units,), (units, 1), (1,)]
    return tuple(rng.normal(0.0, 0.5, shape).astype(np.float32) for shape in shapes)


def torch_network(weights: Weights):
    """``tests/torch_models.py``'s ``SeedNetwork`` holding ``weights`` (its ``seed_network_from_weights``)."""
    spec = importlib.util.spec_from_file_location("torch_models", ROOT / "tests" / "torch_models.py")
    torch_models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(torch_models)
    return torch_models.seed_network_from_weights(*weights)


def jax_lstm(weights: Weights):
    """The seed model as a jitted JAX function of ``(B, L, 1)`` float32: Keras's LSTM (sigmoid gates, tanh cell, gates
    in Keras's order) scanned over time, then Dense(1, sigmoid) on the last state."""
    import jax
    import jax.numpy as jnp

    kernel, recurrent, bias, dense_kernel, dense_bias = (jnp.asarray(w) for w in weights)
    units = recurrent.shape[0]

    def step(carry, projected):
        h, c = carry
        i, f, g, o = jnp.split(projected + h @ recurrent, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), None

    def seed_lstm(x):
        projected = jnp.einsum("blf,fg->lbg", x, kernel) + bias  # every step's input projection, time first
        zeros = jnp.zeros((x.shape[0], units), x.dtype)
        (h, _), _ = jax.lax.scan(step, (zeros, zeros), projected)
        return jax.nn.sigmoid(h @ dense_kernel + dense_bias)

    return jax.jit(seed_lstm)


def build_keras(keras_model, weights: Weights, workdir: Path) -> Framework:
    import keras
    import tensorflow as tf

    fn = raw_function(keras_model, 1)
    raw = {"tf.function of the model": lambda x: fn(x).numpy()}
    versions = f"keras {keras.__version__}, tensorflow {tf.__version__}"
    return Framework("keras", as_model(keras_model, alphabet_size=2), raw, versions)


def build_torch(keras_model, weights: Weights, workdir: Path) -> Framework:
    """The module under ``torch.inference_mode()`` with torch's own number of intra-op threads and with one (the
    adapter uses one on small calls: which is faster depends on the machine's load, so both are raw calls)."""
    import torch

    network = torch_network(weights)
    threads = torch.get_num_threads()

    def module_call(x):
        with torch.inference_mode():
            return network(torch.from_numpy(x)).numpy()

    def one_thread(x):
        torch.set_num_threads(1)
        try:
            return module_call(x)
        finally:
            torch.set_num_threads(threads)

    raw = {f"module under inference_mode, {threads} threads": module_call}
    if threads > 1:
        raw["module under inference_mode, 1 thread"] = one_thread
    return Framework("torch", as_model(network, alphabet_size=2), raw, f"torch {torch.__version__}")


def build_onnx(keras_model, weights: Weights, workdir: Path) -> Framework:
    """The network exported to an ``.onnx`` file, loaded by seqcheck (``load_onnx_file``); the raw side runs the very
    session seqcheck opened (onnxruntime's default threads), so that only seqcheck's own work differs."""
    import onnxruntime
    import torch

    path = workdir / "seed.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation, its note on LSTMs' batch sizes
        warnings.simplefilter("ignore")
        torch.onnx.export(torch_network(weights), (torch.zeros(2, 4, 1),), str(path), input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch", 1: "time"}}, dynamo=False)
    subject = as_model(str(path), alphabet_size=2)
    session = subject.session
    return Framework("onnx", subject, {"session.run": lambda x: session.run(None, {"x": x})[0]},
                     f"onnxruntime {onnxruntime.__version__}")


def build_jax(keras_model, weights: Weights, workdir: Path) -> Framework:
    import jax

    fn = jax_lstm(weights)
    return Framework("jax", as_model(fn, alphabet_size=2, encoding="scalar"),
                     {"the jitted function": lambda x: np.asarray(fn(x))}, f"jax {jax.__version__}")


BUILDERS = {"keras": build_keras, "torch": build_torch, "onnx": build_onnx, "jax": build_jax}


def check_agreement(frameworks: list[Framework], pattern: Pattern, max_length: int) -> float:
    """The largest difference between any framework's raw output and the first's, or an adapter's probability and its
    framework's raw output, on every phase at :data:`AGREEMENT_LENGTHS`; exits if one exceeds the tolerance."""
    worst = 0.0
    for length in (n for n in AGREEMENT_LENGTHS if n <= max_length):
        x = encoded(pattern, length)
        reference = next(iter(frameworks[0].raw.values()))(x)
        for fw in frameworks:
            adapter = fw.subject.predict_proba(pattern.windows(length))[:, 1:]
            for label, call in fw.raw.items():
                raw = call(x)
                for what, difference in ((f"{label} against {frameworks[0].name}'s", np.abs(raw - reference).max()),
                                         (f"the adapter against {label}", np.abs(adapter - raw).max())):
                    if not difference <= AGREEMENT_TOLERANCE:
                        raise SystemExit(f"{fw.name}: {what} output differs by {difference:.3g} at length {length}:"
                                         f" every framework must compute the same function")
                    worst = max(worst, float(difference))
    return worst


# -- measuring ---------------------------------------------------------------------------------------

#: What each framework's sweep is taken apart into, every one timed over the same lengths (one call per length):
#: the raw call, the adapter's own call on the encoded batch (``_call``: conversion, padding, the framework's call),
#: ``predict_proba`` on integer windows (plus seqcheck's encoding and decoding), and the sweep (plus the evaluator and
#: the judging).
STAGES = ("raw", "adapter call", "predict_proba", "sweep")


def measure(frameworks: list[Framework], cfg: dict, repeat: int) -> dict:
    """Per framework: the stages of :data:`STAGES` and the big-batch calls over lengths 3..M, warmed first (untimed),
    then interleaved round by round, best of ``repeat``."""
    pattern = Pattern.parse(PATTERN)
    max_length = cfg["max_length"]
    lengths = range(pattern.min_context, max_length + 1)
    windows = pattern.period * len(lengths)
    tiles = max(1, cfg["big_batch"] // pattern.period)
    big_windows = tiles * pattern.period * len(lengths)
    rows = [pattern.windows(length) for length in lengths]
    inputs = [encoded(pattern, length) for length in lengths]
    big_inputs = [np.tile(x, (tiles, 1, 1)) for x in inputs]

    def over(call: Callable[[np.ndarray], object], batches: list[np.ndarray]) -> Callable[[], None]:
        def run():
            for x in batches:
                call(x)
        return run

    def timed(fw: Framework) -> dict[tuple[str, str], Callable[[], object]]:
        """Every timing of one framework by (stage, raw call): raw and big-batch calls for each raw call, then the
        adapter's stages."""
        return {**{("raw", label): over(call, inputs) for label, call in fw.raw.items()},
                **{("big", label): over(call, big_inputs) for label, call in fw.raw.items()},
                ("adapter call", ""): over(fw.subject._call, inputs),
                ("predict_proba", ""): over(fw.subject.predict_proba, rows),
                ("sweep", ""): lambda: every_window_sweep(fw.subject, max_length)}

    first: dict = {}
    for fw in frameworks:  # untimed: traces and compilations (JAX: every shape), the output kind, the translation
        fw.subject.warm_up(pattern.min_context)
        first[fw.name] = every_window_sweep(fw.subject, max_length)
        for run in timed(fw).values():
            run()
    best = {fw.name: {} for fw in frameworks}
    sweeps: dict = {}
    for _ in range(repeat):
        for fw in frameworks:
            for key, run in timed(fw).items():
                seconds, result = best_of(1, run)
                if seconds < best[fw.name].get(key, float("inf")):
                    best[fw.name][key] = seconds
                    if key[0] == "sweep":
                        sweeps[fw.name] = result
    out: dict = {"max_length": max_length, "windows": windows, "big_batch": tiles * pattern.period, "repeat": repeat,
                 "frameworks": {}}
    log(f"\n{windows} windows (every phase, lengths {lengths.start}..{max_length}), interleaved, best of {repeat}:")
    log(f"  {'':6} {'raw, p a call':>16} {'seqcheck sweep':>16} {'ratio':>6}   {'big batch (info)':>18} {'sweep/big':>9}"
        f"   how seqcheck evaluated the windows")
    for fw in frameworks:
        times, sweep = best[fw.name], sweeps[fw.name]
        raw_label = min(fw.raw, key=lambda label: times["raw", label])
        t_raw, t_big = times["raw", raw_label], min(times["big", label] for label in fw.raw)
        raw_rate, sweep_rate, big_rate = windows / t_raw, windows / times["sweep", ""], big_windows / t_big
        ratio = sweep_rate / raw_rate
        model_calls = sweep["model_calls"]
        log(f"  {fw.name:6} {raw_rate:>10,.0f} win/s {sweep_rate:>10,.0f} win/s {ratio:>6.2f}"
            f"   {big_rate:>12,.0f} win/s {sweep_rate / big_rate:>9.3f}"
            f"   {how_evaluated(sweep)}, {model_calls} model call{'' if model_calls == 1 else 's'},"
            f" {sweep['symbols_fed']:,} symbols")
        out["frameworks"][fw.name] = {
            "ratio": ratio, "raw_windows_per_s": raw_rate, "sweep_windows_per_s": sweep_rate,
            "big_batch_windows_per_s": big_rate, "sweep_vs_big_batch": sweep_rate / big_rate, "raw_call": raw_label,
            "seconds": {f"{stage} ({label})" if label else stage: t for (stage, label), t in times.items()},
            "first_sweep_s": first[fw.name]["s"], "engine": sweep["engine"], "prefix_sharing": sweep["prefix_sharing"],
            "model_calls": model_calls, "symbols_fed": sweep["symbols_fed"], "adapter": fw.subject.description,
            "versions": fw.versions,
        }
    log(f"  raw: the framework's own call, one per length on that length's {pattern.period} windows (the fastest of"
        f" its raw calls); big batch: the same on {tiles * pattern.period} windows of each length, for information only")
    log(f"\n  where the sweep's time goes, microseconds per length (one call each), best of {repeat}:")
    log(f"  {'':6} " + " ".join(f"{stage:>14}" for stage in STAGES) + f" {'first sweep':>12}   raw calls")
    for fw in frameworks:
        times = best[fw.name]
        stages = {"raw": min(times["raw", label] for label in fw.raw)} | {stage: times[stage, ""] for stage in STAGES[1:]}
        per_length = " ".join(f"{stages[stage] / len(lengths) * 1e6:>14,.0f}" for stage in STAGES)
        calls = "; ".join(f"{label}: {times['raw', label] / len(lengths) * 1e6:,.0f}" for label in fw.raw)
        log(f"  {fw.name:6} {per_length} {first[fw.name]['s']:>11.2f}s   {calls}")
    log("  (adapter call: the adapter's _call on the encoded batch; predict_proba: with seqcheck's encoding and"
        " decoding; sweep: with the evaluator and the judging; first sweep: the untimed warm-up, compilations included)")
    return out


# -- main --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="untrained weights, lengths 3..12: seconds, not minutes")
    parser.add_argument("--repeat", type=int, default=None, help="runs per timing, best kept (default 3, 1 with --smoke)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure here")
    args = parser.parse_args(argv)
    cfg = SMOKE if args.smoke else FULL
    repeat = args.repeat or (1 if args.smoke else 3)
    pattern = Pattern.parse(PATTERN)

    log(f"seqcheck {getattr(seqcheck, '__version__', '')}  python {sys.version.split()[0]}  cpus {os.cpu_count()}"
        f"  {time.strftime('%Y-%m-%d')}" + ("  (--smoke: untrained weights, tiny sizes)" if args.smoke else ""))
    absent = {name: missing(name) for name in FRAMEWORKS}
    keras_model = seed_keras_model(args.smoke) if not absent["keras"] else None
    weights = keras_weights(keras_model) if keras_model is not None else random_weights()
    log("model: LSTM(4) over scalar inputs -> Dense(1, sigmoid), "
        + ("seeded random weights (no Keras)" if keras_model is None else "untrained, seeded (--smoke)" if args.smoke
           else "the trained seed model (fixed-window, 11000, N=10, seed 0)"))
    frameworks: list[Framework] = []
    with tempfile.TemporaryDirectory(prefix="seqcheck-frameworks-") as tmp:
        for name, build in BUILDERS.items():
            if absent[name]:
                log(f"  {name}: absent ({', '.join(absent[name])} not installed), skipped")
                continue
            fw = build(keras_model, weights, Path(tmp))
            frameworks.append(fw)
            log(f"  {name}: {fw.versions}; raw: {', '.join(fw.raw)}; seqcheck: {fw.subject.description}"
                f" (engine {fw.subject.engine}, {fw.subject.causal_reason})")
        figures: dict = {"smoke": args.smoke, "absent": {name: modules for name, modules in absent.items() if modules}}
        if frameworks:
            figures["agreement"] = check_agreement(frameworks, pattern, cfg["max_length"])
            log(f"  every framework computes the same function: outputs within {figures['agreement']:.1e} of"
                f" {frameworks[0].name}'s, each adapter's within it of its framework's")
            figures.update(measure(frameworks, cfg, repeat))
    measured = figures.get("frameworks", {})
    missed = [name for name, row in measured.items() if row["ratio"] < TARGET]
    log(f"  target: every ratio at least {TARGET}" + (f"; missed by {', '.join(missed)}" if missed else "; met"))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    log()
    log("frameworks: " + " ".join(f"{name}={measured[name]['ratio']:.2f}" if name in measured else f"{name}=absent"
                                  for name in FRAMEWORKS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
