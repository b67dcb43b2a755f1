"""seqcheck against what users write by hand and against the hardware's ceiling, in one run.

    python benchmarks/performance.py            # full run, a few minutes (trains the reference models once)
    python benchmarks/performance.py --smoke    # tiny sizes and untrained models: checks the script runs

Measured on the same trained models, the ``fixed-window`` seed model (start-anchored) and the
``varied-window`` fix, both from the model cache that the test suite and ``seqcheck demo`` share
(``$SEQCHECK_CACHE_DIR``, default ``~/.cache/seqcheck``):

1. time to the minimal counterexample: ``seqcheck.check`` of the seed model (model loaded ->
   minimal counterexample reported) against a hand-written Hypothesis test of the same property
   calling ``model.predict`` once per example, ``deadline=None``, letting Hypothesis shrink;
2. sweep throughput: windows checked per second by ``seqcheck.check(..., invariants=[length_generalization])``
   over every phase at lengths 3..200 against the same windows through one compiled call per length holding only
   that length's p = 5 windows (``throughput_vs_raw``, kept for comparison with earlier records: such calls are
   mostly per-call overhead, not a ceiling); then windows judged per second against the same model's compiled
   ``tf.function`` on big batches, 1,000 windows of one length a call over the same lengths (the honest ceiling),
   measured two ways: **the sweep alone** (:func:`every_window_sweep`: every window's verdict through the check's own
   evaluator, with prefix passes exactly where a check uses them: ``sweep_vs_ceiling``, the target's figure) and
   **the whole check** (the sweep plus Hypothesis's search, the verification of prefix passes against whole windows
   in Keras, the confirmation of counterexamples, the report: ``check_vs_ceiling``), each with the default
   ``engine``/``causal="auto"``, ``engine="keras"``, ``causal="no"`` (window by window) and the bare ``keras.Model``
   (wrapped anew at every call), the log saying how each evaluated the windows; and a sequence task's search
   (Hypothesis's batches of parity inputs at lengths 1..200, on the task recipes' LSTM) in symbols fed to the model
   per second, against the same engine's ``predict_proba`` on batches of 64;
3. scaling: maximum length 50..800, alphabet and period; the every-window sweep of length generalization on the
   seed model at maximum lengths 200, 1,000, 10,000 and 100,000, each in a fresh process: the sweep alone and the
   first ``seqcheck.check`` in the process, with the process's peak RSS; the fitted exponent of the sweep alone's
   time against maximum length (``sweep_length_exponent``; the check's is logged beside it), and both against one
   forward pass of the compiled model on the p phases x 10,000 steps in the same process
   (``sweep_10000_vs_forward``, ``check_10000_vs_forward``); phase-shift invariance (a sweep over pairs of windows)
   against length generalization, both to length 2,000 on an exact NumPy rule that costs almost nothing;
   ``pytest properties/`` (warm cache) against importing TensorFlow and loading the models; a recipe-level
   property under ``pytest -n 2`` against ``-n 0``;
4. memory: peak resident memory of ``seqcheck check`` against TensorFlow with the model loaded and
   idle, and of a sweep up to length 10,000 (chunked batches) against the same sweep unchunked (the
   every-window sweeps' peaks are in 3).

The sweep alone is the algorithmic cost the sweep targets are about; the whole check adds fixed costs per check
(Hypothesis, verification in Keras, confirmation, traces), so both are printed, each under its own name.
Times are the best of ``--repeat`` runs, measured side by side in one process (or one subprocess
each, for whole commands): on a shared machine only ratios mean something.  The last line is
``speedup_vs_hand_written=<x> throughput_vs_raw=<y> properties_vs_import=<z> phase_shift_vs_length_2000=<w>
sequence_search_vs_raw=<v> sweep_vs_ceiling=<c> check_vs_ceiling=<cc> sweep_10000_vs_forward=<f>
check_10000_vs_forward=<cf> sweep_length_exponent=<e>`` (one line).  Targets: c at least 1, f at most 3, e at most
1.2, all three on the sweep alone; cc and cf are the whole check's, for reference (the others:
``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import seqcheck  # noqa: E402
from seqcheck.tasks.patterns import Pattern  # noqa: E402

PATTERN = "11000"
TRAIN_LENGTH = 10
#: The pair sweep against the oracle is measured at this length in full and --smoke runs alike (the summary
#: line names it): on an exact NumPy rule both checks take about a second.
PAIR_MAX_LENGTH = 2_000
#: The sequence task whose search is timed against the raw batched calls of the same model, and its model: the task
#: recipes' LSTM trained on lengths 1..TRAIN_LENGTH (an untrained one with --smoke).
SEQUENCE_TASK, SEQUENCE_ARCHITECTURE = "parity", "lstm"
#: The raw side's batch: a sequence case's most inputs (seqcheck.invariants.sequence_forms.MAX_BATCH).
RAW_BATCH = 64

FULL = {
    "counterexample_properties": ["phase-shift invariance", "length generalization"],
    "hand_max_examples": 100,
    "throughput_max_length": 200,
    "scaling_lengths": [50, 100, 200, 400, 800],
    "scaling_alphabets": [2, 3, 4, 6, 8],
    "scaling_periods": [2, 5, 10, 20, 40],
    "scaling_space_max_length": 80,
    "properties_max_length": None,
    "recipe_cases": [(2, 40), (2, 120), (3, 40), (3, 120)],
    "sweep_max_length": 10_000,
    "sweep_lengths": 40,
    "sweep_batch": 1_000,
    "sequence_max_length": 200,
    "ceiling_max_length": 200,
    "ceiling_batch": 1_000,
    "sweep_scaling_lengths": [200, 1_000, 10_000, 100_000],
    "forward_length": 10_000,
}
SMOKE = {
    "counterexample_properties": ["phase-shift invariance"],
    "hand_max_examples": 4,
    "throughput_max_length": 12,
    "scaling_lengths": [10, 20],
    "scaling_alphabets": [2, 3],
    "scaling_periods": [2, 5],
    "scaling_space_max_length": 12,
    "properties_max_length": 12,
    "recipe_cases": [(2, 12), (3, 12)],
    "sweep_max_length": 200,
    "sweep_lengths": 4,
    "sweep_batch": 50,
    "sequence_max_length": 12,
    "ceiling_max_length": 12,
    "ceiling_batch": 50,
    # Not 50..200: there a check is its fixed costs, the fitted exponent ~0 (it could print negative); and the
    # summary line names the forward-pass ratio's length (as phase_shift_vs_length_2000's).  ~2 s more than 50..200.
    "sweep_scaling_lengths": [200, 2_000, 10_000],
    "forward_length": 10_000,
}


def log(text: str = "") -> None:
    print(text, flush=True)


def best_of(repeat: int, fn):
    """(best seconds, last result) of ``repeat`` calls of ``fn``."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def small_ratio(x: float) -> str:
    """``x`` with two decimals, or with more where two would print 0.00 (a --smoke run's untrained model fails at once)."""
    return f"{x:.{max(2, 1 - int(np.floor(np.log10(x))))}f}" if 0 < x < 0.01 else f"{x:.2f}"


def growth_exponent(xs: list[float], ys: list[float]) -> float | None:
    """The exponent ``a`` of ``y ~ x**a``, least squares in log-log on the last three points (where fixed costs
    matter least); ``None`` with fewer than two usable points."""
    pts = [(x, y) for x, y in zip(xs, ys) if x > 0 and y > 0][-3:]
    if len(pts) < 2:
        return None
    return float(np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0])


def growth(xs: list[float], ys: list[float]) -> str:
    """:func:`growth_exponent` as ``~x^a``, for the log."""
    a = growth_exponent(xs, ys)
    return "n/a" if a is None else f"~x^{a:.1f}"


# -- subprocesses: wall time and peak RSS of one child ---------------------------------------------


#: Runs its arguments as a child and writes that child's peak RSS (KiB) to $SEQCHECK_BENCH_RSS.  The peak RSS
#: of a process forked from this benchmark would start at the benchmark's own (TensorFlow is loaded here, and
#: Linux carries the high-water mark across fork and exec), so children are started from this small launcher.
LAUNCHER = """
import os, resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
with open(os.environ["SEQCHECK_BENCH_RSS"], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def run_child(argv: list[str], *, cwd: Path = ROOT, env: dict | None = None) -> tuple[float, int, int, str]:
    """Run ``argv``; return (wall seconds, peak RSS in MiB of that child and its descendants, exit code, output)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.NamedTemporaryFile("r") as rss:
        launcher = [sys.executable, "-c", LAUNCHER, *argv]
        started = time.perf_counter()
        code = subprocess.call(launcher, cwd=cwd, env={**os.environ, **(env or {}), "SEQCHECK_BENCH_RSS": rss.name},
                               stdout=out, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read()
        peak = int(rss.read() or 0)
    return seconds, peak // 1024, code, text


def python_child(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code), *args]


IMPORT_AND_LOAD = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
for path in sys.argv[1:]:
    keras.saving.load_model(path, compile=False, safe_mode=True)
"""


# -- models ----------------------------------------------------------------------------------------


def model_paths(smoke: bool, workdir: Path) -> tuple[Path, Path]:
    """The seed model and the fix: trained reference models, or untrained stand-ins with --smoke."""
    if smoke:
        from seqcheck.training.recipes import build_model

        paths = []
        for name in ("seed", "fixed"):
            path = workdir / f"{name}.keras"
            build_model(2).save(path)
            paths.append(path)
        return paths[0], paths[1]
    from seqcheck.training.reference import FIXED, SEED

    return SEED.path(verbose=1), FIXED.path(verbose=1)


def untrained(alphabet_size: int):
    """An untrained LSTM(4) with the recipes' encoding, seeded (the windows a check evaluates depend on the
    weights): the scaling runs time the search, not accuracy."""
    import keras

    from seqcheck.training.recipes import build_model

    keras.utils.set_random_seed(0)
    return build_model(alphabet_size)


def raw_function(keras_model, features: int):
    """The ceiling: one compiled function, ``None`` batch and time dimensions, nothing else."""
    import tensorflow as tf

    spec = tf.TensorSpec(shape=(None, None, features), dtype=tf.float32)
    return tf.function(lambda x: keras_model(x, training=False), input_signature=[spec], reduce_retracing=True)


def encoded(pattern: Pattern, length: int) -> np.ndarray:
    from seqcheck.training.recipes import encode

    return encode(pattern.windows(length), pattern.alphabet_size)


# -- 1. time to the minimal counterexample ----------------------------------------------------------


def hand_written(keras_model, pattern: Pattern, prop: str, max_length: int, max_examples: int):
    """The property as a user writes it: one ``model.predict`` per window, Hypothesis draws and shrinks.

    Returns (the shrunk failing example or None, number of ``model.predict`` calls).
    """
    from hypothesis import assume, given, settings, strategies as st
    from hypothesis import seed as hypothesis_seed

    symbols, period, lo = list(pattern.symbols), pattern.period, pattern.min_context
    calls, last = [0], [None]

    def predict(phase, length):
        window = [symbols[(phase + i) % period] for i in range(length)]
        calls[0] += 1
        p = keras_model.predict(np.array(window, dtype="float32")[None, :, None], verbose=0)
        return int(p[0, 0] > 0.5)

    @hypothesis_seed(0)
    @settings(deadline=None, max_examples=max_examples, database=None)
    @given(length=st.integers(lo, max_length), phase=st.integers(0, period - 1))
    def test_length_generalization(length, phase):
        last[0] = (length, phase)
        assert predict(phase, length) == symbols[(phase + length) % period]

    @hypothesis_seed(0)
    @settings(deadline=None, max_examples=max_examples, database=None)
    @given(length=st.integers(lo, max_length - 1), shift=st.integers(1, max_length - lo), phase=st.integers(0, period - 1))
    def test_phase_shift_invariance(length, shift, phase):
        assume(length + shift <= max_length)
        last[0] = (length, shift, phase)
        assert predict(phase, length + shift) == predict(phase + shift, length)  # same end, different starts

    test = test_length_generalization if prop == "length generalization" else test_phase_shift_invariance
    try:
        test()
        return None, calls[0]
    except AssertionError:
        return last[0], calls[0]


PROPERTIES = {
    # name in the report: (seqcheck invariant, how a case is printed)
    "phase-shift invariance": (seqcheck.phase_shift_invariance, "length, shift, phase"),
    "length generalization": (seqcheck.length_generalization, "length, phase"),
}


def counterexample_child(side: str, prop: str, model_path: str, max_length: str, max_examples: str) -> dict:
    """In a fresh process: load the seed model, then time one side (``seqcheck`` or ``hand``) on ``prop``."""
    from hypothesis import find, strategies as st

    from seqcheck.models.keras_files import load_keras_model

    pattern, max_length = Pattern.parse(PATTERN), int(max_length)
    keras_model = load_keras_model(model_path)
    # Hypothesis's first run in a process pays a one-off gc.collect() (register_random), 0.1-0.2 s with
    # TensorFlow loaded: paid here, outside the timing, since either side would pay it once per process.
    find(st.integers(), lambda x: True)
    if side == "hand":
        started = time.perf_counter()
        found, calls = hand_written(keras_model, pattern, prop, max_length, int(max_examples))
        return {"seconds": time.perf_counter() - started, "calls": calls, "found": found}
    invariant = PROPERTIES[prop][0]
    out: dict = {}
    for run in ("cold", "warm"):  # the first check in the process, then a second one of the same loaded model
        started = time.perf_counter()
        report = seqcheck.check(keras_model, pattern=PATTERN, train_length=TRAIN_LENGTH, max_length=max_length,
                                invariants=[invariant])
        out[run] = time.perf_counter() - started
    cx = report[invariant.name].counterexample  # by identifier: reports name results by it, and by title
    # A pair is shown by its shorter window (the length that orders it), then how much earlier the longer starts.
    out["found"] = "none" if cx is None else (
        f"length {cx.window.length}, phase {cx.phase}" if cx.other is None
        else f"length {cx.other.length}, start +{cx.window.length - cx.other.length}, phase {cx.phase}")
    out["engine"] = report.model_engine
    return out


COUNTEREXAMPLE_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import performance
print("RESULT " + json.dumps(performance.counterexample_child(*sys.argv[2:])))
"""


def time_to_counterexample(seed_path: Path, cfg: dict, repeat: int) -> dict:
    """For each property, each side in fresh processes (interleaved): seqcheck.check from the loaded model to the
    minimal counterexample, and the hand-written test; the best of ``repeat`` of each."""
    pattern = Pattern.parse(PATTERN)
    max_length = max(4 * TRAIN_LENGTH, 40) if cfg is FULL else cfg["throughput_max_length"]

    def child(side: str, prop: str) -> dict:
        argv = python_child(COUNTEREXAMPLE_CHILD, str(Path(__file__).parent), side, prop, str(seed_path),
                            str(max_length), str(cfg["hand_max_examples"]))
        _, _, code, text = run_child(argv)
        lines = [line for line in text.splitlines() if line.startswith("RESULT ")]
        if code != 0 or not lines:
            raise RuntimeError(f"the {side} child for {prop} failed (exit {code}):\n{text[-2000:]}")
        return json.loads(lines[-1][len("RESULT "):])

    out: dict = {}
    for prop in cfg["counterexample_properties"]:
        fields = PROPERTIES[prop][1]
        ours, hand = [], []
        for _ in range(repeat):
            ours.append(child("seqcheck", prop))
            hand.append(child("hand", prop))
        t_cold, t_warm = min(r["cold"] for r in ours), min(r["warm"] for r in ours)
        t_hand, calls = min(r["seconds"] for r in hand), hand[-1]["calls"]
        log(f"  {prop}, lengths {pattern.min_context}..{max_length} (each side in a fresh process, best of {repeat}):")
        log(f"    seqcheck.check, first in the process: {t_cold:6.3f}s  minimal: {ours[-1]['found']}"
            f"  (engine: {ours[-1]['engine']})")
        log(f"    seqcheck.check, second:               {t_warm:6.3f}s")
        log(f"    hand-written @given + model.predict:  {t_hand:6.3f}s  {calls} predict calls"
            f" ({t_hand / max(calls, 1) * 1000:.0f} ms each), shrunk to ({fields}) = {tuple(hand[-1]['found'] or ())}")
        log(f"    speed-up: {t_hand / t_cold:.1f}x (first check), {t_hand / t_warm:.1f}x (second)")
        out[prop] = {"seqcheck_s": t_cold, "seqcheck_second_s": t_warm, "hand_written_s": t_hand,
                     "hand_written_calls": calls, "speedup": t_hand / t_cold, "engine": ours[-1]["engine"]}
    # The headline: the design card's first invariant, the counterexample `seqcheck check` prints first.
    out["speedup"] = out["phase-shift invariance"]["speedup"]
    return out


def battery_time(seed_path: Path, repeat: int) -> dict:
    """The whole battery on the seed model, NumPy engine against the compiled Keras function (one process,
    interleaved, best of ``repeat``)."""
    from seqcheck.models.keras import KerasModel
    from seqcheck.models.keras_files import load_keras_model

    keras_model = load_keras_model(seed_path)
    max_length = max(4 * TRAIN_LENGTH, 40)
    best: dict = {}
    for _ in range(repeat):
        for engine in ("auto", "keras"):
            seconds, report = best_of(1, lambda: seqcheck.check(
                KerasModel(keras_model, alphabet_size=2, engine=engine), pattern=PATTERN, train_length=TRAIN_LENGTH,
                max_length=max_length))
            best[report.model_engine] = min(best.get(report.model_engine, float("inf")), seconds)
    for engine, seconds in best.items():
        log(f"  the whole battery (four invariants, {sum(not r.passed for r in report.results)} fail),"
            f" engine {engine}: {seconds:.3f}s")
    return best


# -- 2. sweep throughput --------------------------------------------------------------------------


def throughput(fixed_path: Path, cfg: dict, repeat: int) -> dict:
    """``throughput_vs_raw``: windows per second of the sweep against ONE compiled call per length holding only that
    length's ``p`` windows (5 here).  Kept as it was measured before, for comparison with earlier records; but such
    calls are mostly fixed per-call cost, a floor no user would call a ceiling.  :func:`sweep_vs_ceiling` is the
    honest comparison: the same model's compiled function on big batches (1,000 windows a call)."""
    from seqcheck.models.keras import KerasModel
    from seqcheck.models.keras_files import load_keras_model

    pattern = Pattern.parse(PATTERN)
    max_length = cfg["throughput_max_length"]
    lengths = range(pattern.min_context, max_length + 1)
    keras_model = load_keras_model(fixed_path)
    subjects = {engine: KerasModel(keras_model, alphabet_size=2, engine=engine) for engine in ("auto", "keras")}
    for subject in subjects.values():
        subject.warm_up(pattern.min_context)
    fn = raw_function(keras_model, 1)
    inputs = [encoded(pattern, length) for length in lengths]
    fn(inputs[0])
    windows = pattern.period * len(lengths)

    def raw():
        for x in inputs:
            fn(x).numpy()

    def ours(subject):
        return seqcheck.check(subject, pattern=PATTERN, train_length=TRAIN_LENGTH, max_length=max_length,
                              invariants=[seqcheck.length_generalization])

    t_raw = float("inf")
    t_ours = {engine: float("inf") for engine in subjects}
    for _ in range(repeat):  # interleaved, so that all see the same machine load
        t_raw = min(t_raw, best_of(1, raw)[0])
        for engine, subject in subjects.items():
            t, report = best_of(1, lambda: ours(subject))
            t_ours[engine] = min(t_ours[engine], t)
    result = report[seqcheck.length_generalization.name]
    ratio = t_raw / t_ours["auto"]
    log(f"  {windows} windows (every phase, lengths {lengths.start}..{max_length}), fixed model"
        f" ({'passes' if result.passed else 'fails'}, exhaustive={result.exhaustive})")
    log(f"  raw compiled calls, one per length ({pattern.period} windows a call, not a ceiling: see sweep_vs_ceiling):"
        f" {t_raw:.3f}s = {windows / t_raw:,.0f} windows/s")
    log(f"  seqcheck (Hypothesis + sweep), {subjects['auto'].engine:5} engine: {t_ours['auto']:.3f}s"
        f" = {windows / t_ours['auto']:,.0f} windows/s")
    log(f"  seqcheck (Hypothesis + sweep), keras engine: {t_ours['keras']:.3f}s = {windows / t_ours['keras']:,.0f} windows/s")
    log(f"  throughput vs raw: {ratio:.2f} ({t_raw / t_ours['keras']:.2f} with the keras engine)"
        f"  (against {pattern.period} windows a call; sweep_vs_ceiling below is against big batches)")
    return {"windows": windows, "raw_s": t_raw, "seqcheck_s": t_ours["auto"], "seqcheck_keras_engine_s": t_ours["keras"],
            "engine": subjects["auto"].engine, "ratio": ratio}


#: The subjects set against the big-batch ceiling: (label, KerasModel arguments).  The first is the headline.
SWEEP_VARIANTS = [
    ("auto", {"engine": "auto", "causal": "auto"}),
    ("keras engine", {"engine": "keras", "causal": "auto"}),
    ("causal='no'", {"engine": "auto", "causal": "no"}),
]
#: The bare ``keras.Model``, as a user passes it: wrapped anew at every call (by the check, or by
#: :func:`every_window_sweep`), so its translation, probe and traces are paid every time.
BARE = "bare keras.Model"


def how_evaluated(evaluation: dict) -> str:
    """``numpy, prefix passes``: the engine, and whether a stream's windows went by prefix passes or window by window."""
    return f"{evaluation['engine']}, {'prefix passes' if evaluation['prefix_sharing'] else 'window by window'}"


def every_window_sweep(subject, max_length: int) -> dict:
    """The sweep alone: every window of the stream at every length 3..``max_length`` evaluated through a check's own
    evaluator and judged against its target, timed; nothing else of a check (no Hypothesis search, no verification
    of prefix passes or confirmation of verdicts in Keras, no report).

    It is what ``seqcheck.check(..., invariants=[length_generalization])`` does to build the accuracy table of every
    window: ``Evaluator.for_space(subject, space)`` (which decides, as in a check, whether the stream's windows go by
    prefix passes or window by window: :func:`seqcheck.search.evaluation.prefix_plan`), then
    ``length_generalization.finish`` on a fresh ``Context``, which evaluates every phase at every length and compares
    each window's prediction with its target (``result.correct_by_length``, checked to cover every length).

    ``subject`` is a wrapped model (a ``ModelUnderTest``, warmed by an earlier untimed call: translation built, Keras
    traced), or a bare ``keras.Model``, which is then wrapped as a check wraps it (``as_model`` and ``warm_up``: the
    translation, its probe and the output's resolution are on the clock, as in a check of a bare model).

    Returns ``s`` (seconds), ``windows`` (judged: p x the lengths), ``correct``, how the windows were evaluated
    (``engine``, ``prefix_sharing``, ``prefix_reason``), and ``symbols_fed`` and ``model_calls`` (what reached the model).
    """
    from seqcheck.invariants.base import Context, InvariantResult
    from seqcheck.models import as_model
    from seqcheck.models.base import ModelUnderTest
    from seqcheck.search.evaluation import Evaluator
    from seqcheck.search.profiles import search_settings
    from seqcheck.search.space import CheckSpace

    pattern = Pattern.parse(PATTERN)
    space = CheckSpace.build(pattern, train_length=TRAIN_LENGTH, max_length=max_length)
    search = search_settings()  # not used by the table; a Context wants it
    invariant = seqcheck.length_generalization
    started = time.perf_counter()
    if not isinstance(subject, ModelUnderTest):
        subject = as_model(subject, alphabet_size=pattern.alphabet_size)
        subject.warm_up(space.min_length)
    calls = subject.calls
    evaluator = Evaluator.for_space(subject, space)
    result = invariant.finish(Context(space, evaluator, search), InvariantResult(invariant.name, []))
    seconds = time.perf_counter() - started
    table = result.correct_by_length or {}
    if list(table) != list(space.lengths) or any(len(row) != pattern.period for row in table.values()):
        raise SystemExit(f"the sweep to length {max_length} judged lengths {min(table, default=None)}..{max(table, default=None)}"
                         f" ({len(table)} of {len(space.lengths)}): it must judge every phase at every length"
                         f" ({evaluator.sweep_symbols(space):,} symbols against the budget of a Context)")
    return {"max_length": max_length, "s": seconds, "windows": pattern.period * len(space.lengths),
            "correct": int(sum(map(sum, table.values()))), "engine": subject.engine,
            "prefix_sharing": evaluator.prefix_sharing, "prefix_reason": evaluator.prefix_reason,
            "symbols_fed": evaluator.symbols_evaluated, "model_calls": subject.calls - calls}


def sweep_vs_ceiling(seed_path: Path, fixed_path: Path, cfg: dict, repeat: int) -> dict:
    """``sweep_vs_ceiling`` and ``check_vs_ceiling``: windows judged per second, by the sweep alone
    (:func:`every_window_sweep`) and by the whole check, against the same model's ceiling: its compiled
    ``tf.function`` (:func:`raw_function`) on big batches.

    The windows judged are every phase at every length 3..M (``p x (M - 2)``, 990 at M = 200).  The sweep alone is
    the check's own evaluator building the accuracy table of every window (with prefix passes exactly where a check
    would use them: one pass of ``p`` rows x ``M`` steps read out at every step); the whole check is
    ``seqcheck.check(model, pattern="11000", train_length=10, max_length=M, invariants=[length_generalization])``,
    that sweep plus Hypothesis's search, the verification of prefix passes against whole windows in Keras, the
    confirmation of counterexamples and of the table's failing windows, and the report.  The ceiling calls the
    compiled function once per length 3..M on ``ceiling_batch`` windows of that length (every phase, tiled), nothing
    else: windows per second at the same lengths, on batches big enough that per-call costs vanish.  For each model
    (the seed model: the headline; the fix) both run on the ``KerasModel`` subjects of :data:`SWEEP_VARIANTS`, built
    and swept and checked once first (untimed: the translation, the traces), and on the bare ``keras.Model`` as a
    user passes it (wrapped anew on every call: its translation, probe and traces included).  Every side
    interleaved, best of ``repeat``.
    """
    from seqcheck.models.keras import KerasModel
    from seqcheck.models.keras_files import load_keras_model

    pattern = Pattern.parse(PATTERN)
    max_length, batch = cfg["ceiling_max_length"], cfg["ceiling_batch"]
    lengths = range(pattern.min_context, max_length + 1)
    windows = pattern.period * len(lengths)
    tiles = max(1, batch // pattern.period)
    invariant = seqcheck.length_generalization
    out: dict = {"max_length": max_length, "windows": windows, "ceiling_batch": tiles * pattern.period}
    for name, path in (("seed", seed_path), ("fixed", fixed_path)):
        keras_model = load_keras_model(path)
        subjects = {label: KerasModel(keras_model, alphabet_size=2, **kwargs) for label, kwargs in SWEEP_VARIANTS}
        subjects[BARE] = keras_model

        def check(subject):
            return seqcheck.check(subject, pattern=PATTERN, train_length=TRAIN_LENGTH, max_length=max_length,
                                  invariants=[invariant])

        for subject in subjects.values():  # warm: translations, traces (a check's, then the sweep's own calls)
            check(subject)
        sweeps = {label: every_window_sweep(subject, max_length) for label, subject in subjects.items()}
        reports = {}
        fn = raw_function(keras_model, 1)
        inputs = [np.tile(encoded(pattern, length), (tiles, 1, 1)) for length in lengths]
        fn(inputs[0]).numpy()

        def ceiling():
            for x in inputs:
                fn(x).numpy()

        t_ceiling = float("inf")
        t_sweep, t_check = {label: float("inf") for label in subjects}, {label: float("inf") for label in subjects}
        for _ in range(repeat):  # interleaved, so that all see the same machine load
            t_ceiling = min(t_ceiling, best_of(1, ceiling)[0])
            for label, subject in subjects.items():
                sweeps[label] = every_window_sweep(subject, max_length)
                t_sweep[label] = min(t_sweep[label], sweeps[label]["s"])
                seconds, reports[label] = best_of(1, lambda: check(subject))
                t_check[label] = min(t_check[label], seconds)
        ceiling_rate = tiles * pattern.period * len(lengths) / t_ceiling
        per_step = t_ceiling / (tiles * pattern.period * sum(lengths))
        headline = reports["auto"][invariant.name]
        correct = sweeps["auto"]["correct"]
        log(f"  {name} model (check: {'passes' if headline.passed else 'fails'}; {correct} of {windows} windows right),"
            f" {windows} windows judged (every phase, lengths {lengths.start}..{max_length}), best of {repeat}, interleaved:")
        log(f"    ceiling, compiled tf.function, {tiles * pattern.period} windows a call, one call per length:"
            f" {t_ceiling:.3f}s = {ceiling_rate:,.0f} windows/s ({per_step * 1e9:.0f} ns per window step)")
        rows: dict = {"sweep": {}, "check": {}}
        for kind, times, how in (("sweep", t_sweep, lambda label: sweeps[label]),
                                 ("check", t_check, lambda label: reports[label].evaluation)):
            what = ("sweep alone (every window's verdict, the check's evaluator)" if kind == "sweep"
                    else "whole check (search + sweep + verification, confirmation + report)")
            log(f"    {what}:")
            for label, seconds in times.items():
                evaluation = how(label)
                rate = windows / seconds
                rows[kind][label] = {"s": seconds, "windows_per_s": rate, "ratio": rate / ceiling_rate,
                                     "engine": evaluation["engine"], "prefix_sharing": evaluation["prefix_sharing"],
                                     "prefix_reason": evaluation["prefix_reason"]}
                if kind == "sweep":
                    rows[kind][label].update(symbols_fed=evaluation["symbols_fed"], model_calls=evaluation["model_calls"])
                calls = evaluation.get("model_calls", 0)
                extra = f", {evaluation['symbols_fed']:,} symbols in {calls} model call{'' if calls == 1 else 's'}" if kind == "sweep" else ""
                wrapped = "; wrapped anew at every call, probe included" if label == BARE else ""
                log(f"      {label + ':':18} {seconds:7.3f}s = {rate:>9,.0f} windows/s  vs ceiling {small_ratio(rate / ceiling_rate)}"
                    f"  ({how_evaluated(evaluation)}{extra}{wrapped})")
        out[name] = {"ceiling_s": t_ceiling, "ceiling_windows_per_s": ceiling_rate, "ceiling_s_per_window_step": per_step,
                     "correct": correct, **rows}
    out["ratio"] = out["seed"]["sweep"]["auto"]["ratio"]
    out["check_ratio"] = out["seed"]["check"]["auto"]["ratio"]
    log(f"  sweep vs ceiling (seed model, auto, sweep alone): {small_ratio(out['ratio'])}  (target: at least 1);"
        f" whole check vs ceiling: {small_ratio(out['check_ratio'])}")
    return out


# -- 2b. a sequence task's search against raw batched calls -----------------------------------------


def sequence_model_path(smoke: bool, workdir: Path) -> Path:
    """The task recipes' LSTM on the sequence task, trained on lengths 1..TRAIN_LENGTH (cached), or untrained with --smoke."""
    if smoke:
        from seqcheck.training.task_recipes import build_task_model

        import keras

        keras.utils.set_random_seed(0)
        path = workdir / f"{SEQUENCE_TASK}-{SEQUENCE_ARCHITECTURE}.keras"
        build_task_model(SEQUENCE_TASK, SEQUENCE_ARCHITECTURE).save(path)
        return path
    from seqcheck.training.task_recipes import cached_task_model_path

    return cached_task_model_path(SEQUENCE_TASK, SEQUENCE_ARCHITECTURE, max_train_length=TRAIN_LENGTH, seed=0, verbose=1)


def sequence_search(cfg: dict, repeat: int, smoke: bool, workdir: Path) -> dict:
    """Symbols per second a sequence task's search feeds the model, against the same model's raw batched calls.

    The search is Hypothesis's search of length generalization's oracle form (each example a batch of inputs of
    one length, one model call through the check's memoizing evaluator), run as ``seqcheck.check`` runs it with
    ``exhaustive_budget=0`` (no shortlex sweep), its accuracy table computed first and untimed (the strategy reads
    it; it is not the search).  Its throughput is the symbols the evaluator fed the model during the search over
    the search's wall time.  The raw side calls the same engine's ``predict_proba`` on batches of RAW_BATCH random
    inputs, one batch at each length the search fed the model (as many times as it did), nothing else.  Interleaved,
    best of ``repeat``; the search is seeded, so every run draws the same cases.
    """
    from seqcheck.invariants.base import Context
    from seqcheck.invariants.length_generalization import _EveryInput, accuracy_sample
    from seqcheck.models import as_model
    from seqcheck.search.evaluation import Evaluator
    from seqcheck.search.profiles import search_settings
    from seqcheck.search.runner import run_form
    from seqcheck.search.space import SequenceSpace
    from seqcheck.tasks import resolve_task

    task = resolve_task(SEQUENCE_TASK)
    subject = as_model(str(sequence_model_path(smoke, workdir)), alphabet_size=task.input_size, classes=task.class_count,
                       class_meaning=f"class of task {task.name}")
    space = SequenceSpace.build(task, train_length=TRAIN_LENGTH, max_length=cfg["sequence_max_length"])
    subject.warm_up(space.min_length)
    form = _EveryInput()
    predict_proba = subject.predict_proba
    fed: list[tuple[int, int]] = []  # (inputs, length) of every model call, while the search runs
    in_model = [0.0]

    def recording(x, **kwargs):
        started = time.perf_counter()
        probs = predict_proba(x, **kwargs)
        in_model[0] += time.perf_counter() - started
        fed.append(np.shape(x)[:2])
        return probs

    def search() -> tuple[float, int, object]:
        ctx = Context(space, Evaluator(subject, None), search_settings(), seed=0, exhaustive_budget=0)
        accuracy_sample(ctx)  # untimed: the table the strategy reads (and the report's accuracy by length)
        fed.clear()
        in_model[0] = 0.0
        before = ctx.evaluator.symbols_evaluated
        subject.predict_proba = recording
        try:
            seconds, result = best_of(1, lambda: run_form(form, ctx))
        finally:
            del subject.predict_proba  # the instance attribute: back to the class's method
        return seconds, ctx.evaluator.symbols_evaluated - before, result

    t_search, symbols, result = search()
    calls, t_model = list(fed), in_model[0]
    rng = np.random.default_rng(0)
    batches = [task.sample(rng, RAW_BATCH, length) for _, length in calls]
    raw_symbols = sum(batch.size for batch in batches)

    def raw():
        for batch in batches:
            subject.predict_proba(batch)

    raw()  # warm: every length once
    t_raw = float("inf")
    for run in range(repeat):  # interleaved, so that both see the same machine load
        t_raw = min(t_raw, best_of(1, raw)[0])
        if run:
            seconds, again, result = search()
            if again != symbols:
                raise SystemExit(f"the seeded search fed {again} symbols, then {symbols}: it must draw the same cases every run")
            if seconds < t_search:
                t_search, t_model = seconds, in_model[0]
    drawn = result.cases
    ours, ceiling = symbols / t_search, raw_symbols / t_raw
    ratio = ours / ceiling
    lengths = sorted({length for _, length in calls})
    log(f"  {task.name}, {SEQUENCE_ARCHITECTURE} trained on lengths 1..{TRAIN_LENGTH}{' (untrained, --smoke)' if smoke else ''},"
        f" engine {subject.engine}: length generalization's oracle form, lengths {space.min_length}..{space.max_length},"
        f" Hypothesis only (exhaustive_budget=0), best of {repeat}:")
    log(f"    search: {t_search:.3f}s, {drawn} cases, {len(calls)} model calls"
        f" (inputs per call {min(n for n, _ in calls) if calls else 0}..{max(n for n, _ in calls) if calls else 0},"
        f" {len(lengths)} lengths), {symbols:,} symbols fed = {ours:,.0f} symbols/s"
        f" ({t_model:.3f}s of it in the model, {t_model / t_search:.0%})")
    log(f"    raw predict_proba, {len(batches)} batches of {RAW_BATCH} at the same lengths: {t_raw:.3f}s,"
        f" {raw_symbols:,} symbols = {ceiling:,.0f} symbols/s")
    log(f"    sequence search vs raw: {small_ratio(ratio)}  (target: at least 0.3)")
    return {"task": task.name, "engine": subject.engine, "search_s": t_search, "search_model_s": t_model,
            "cases": drawn, "calls": len(calls), "symbols_fed": symbols, "search_symbols_per_s": ours,
            "raw_s": t_raw, "raw_symbols": raw_symbols, "raw_symbols_per_s": ceiling, "ratio": ratio}


# -- 3. scaling ------------------------------------------------------------------------------------


def full_sweep(subject, pattern: Pattern, max_length: int) -> tuple[int, int]:
    """Every case of every finite form, as a passing model costs: (cases, windows evaluated)."""
    from seqcheck.search.evaluation import Evaluator
    from seqcheck.invariants import DEFAULT_INVARIANTS
    from seqcheck.invariants.base import Context
    from seqcheck.invariants.pairs import WindowPairForm
    from seqcheck.search.space import CheckSpace

    space = CheckSpace.build(pattern, max_length=max_length)
    try:  # the search settings are not used by a sweep; Context wants them since settings profiles exist
        from seqcheck.search.profiles import search_settings

        ctx = Context(space, Evaluator(subject, pattern), search_settings())
    except ImportError:
        ctx = Context(space, Evaluator(subject, pattern))
    cases = 0
    for invariant in DEFAULT_INVARIANTS:
        for form in invariant.forms_for(ctx.task):  # the stream's forms (an invariant also has sequence-task ones)
            if not form.finite or form.inapplicable(ctx) is not None:
                continue
            if isinstance(form, WindowPairForm):
                # Its own sweep: every length's stream windows, then one linear pass over (length, end class).
                # A violation ends only that pass, so the windows are what a passing model costs; the cases are
                # counted as the pass would count them on a passing model.
                form.sweep(ctx, None)
                cases += ctx.pattern.period * sum(form._max_step(ctx, n) for n in form._shorter_lengths(ctx))
                continue
            for block in form.blocks(ctx):  # every block judged, violating or not
                form.violations(ctx, block)
                cases += len(block)
    return cases, ctx.evaluator.windows_evaluated


def scaling(fixed_path: Path, cfg: dict, repeat: int) -> dict:
    from seqcheck.models.keras import KerasModel
    from seqcheck.models.keras_files import load_keras_model

    out: dict = {"max_length": [], "alphabet": [], "period": []}
    pattern = Pattern.parse(PATTERN)
    keras_model = load_keras_model(fixed_path)
    subject = KerasModel(keras_model, alphabet_size=2)
    subject.warm_up(3)
    fn = raw_function(keras_model, 1)
    fn(encoded(pattern, 3))
    log("  maximum length (fixed model, all four invariants; raw = one compiled call per length, no checks):")
    for max_length in cfg["scaling_lengths"]:
        t, report = best_of(1, lambda: seqcheck.check(subject, pattern=PATTERN, train_length=TRAIN_LENGTH, max_length=max_length))
        t_raw, _ = best_of(1, lambda: [fn(encoded(pattern, n)).numpy() for n in range(3, max_length + 1)])
        windows = sum(r.windows for r in report.results)
        log(f"    max length {max_length:>4}: check {t:7.2f}s  raw sweep {t_raw:6.2f}s  ratio {t / t_raw:5.1f}"
            f"  {windows} windows  {'pass' if report.passed else 'FAIL'}")
        out["max_length"].append({"max_length": max_length, "check_s": t, "raw_s": t_raw, "windows": windows})
    xs = [r["max_length"] for r in out["max_length"]]
    log(f"    growth: check {growth(xs, [r['check_s'] for r in out['max_length']])},"
        f" raw {growth(xs, [r['raw_s'] for r in out['max_length']])} (a window costs its length: windows x length)")

    max_length = cfg["scaling_space_max_length"]
    log(f"  alphabet and period (untrained LSTM(4), every case of every finite form, lengths min context..{max_length}):")
    for kind, values in (("alphabet", cfg["scaling_alphabets"]), ("period", cfg["scaling_periods"])):
        for value in values:
            k, p = (value, 6) if kind == "alphabet" else (2, value)
            p = max(p, k)
            symbols = [0] * (p - k + 1) + list(range(1, k))
            pat = Pattern.parse(symbols, alphabet_size=k)
            model = KerasModel(untrained(k), alphabet_size=k)
            model.warm_up(pat.min_context)
            t, (cases, windows) = best_of(1, lambda: full_sweep(model, pat, max_length))
            log(f"    {kind} {value:>2} (pattern {pat}, period {pat.period}, min context {pat.min_context}):"
                f" {t:6.2f}s  {cases:>8} cases  {windows:>5} windows")
            out[kind].append({kind: value, "pattern": pat.text, "s": t, "cases": cases, "windows": windows})
        xs = [r[kind] for r in out[kind]]
        log(f"    growth with {kind}: {growth(xs, [r['s'] for r in out[kind]])}")
    return out


def scaling_child(model_path: str, forward_length: str, smoke: str, *max_lengths: str) -> dict:
    """In a fresh process: load the model, then at each maximum length time ``seqcheck.check`` (length generalization
    only, default ``causal="auto"``) and the sweep alone (:func:`every_window_sweep`), with this process's peak RSS
    after each; at ``forward_length``, also one forward pass of the compiled raw function on the ``p`` phases x that
    many steps (best of 3 after a warm-up call), and a second check.

    The check of the bare ``keras.Model`` is the process's first (it wraps the model, translation and probe
    included, and traces what confirmation calls).  Hypothesis's one-off ``gc.collect()`` of its first run in a
    process is paid before the timings, as in :func:`counterexample_child`.  The sweep alone runs after it, on the
    subject a check builds (``as_model(keras_model, alphabet_size=2)``, then ``warm_up``), wrapped once per child
    after the first check and warmed by an untimed sweep to the first maximum length; its time is the best of
    SWEEP_TIMES (1 with ``smoke``).  With ``smoke`` (``"1"``: every length shares one child) a whole check at the
    first length is run first, untimed, and the forward pass is timed once, with no second check.  Peak RSS is
    ``ru_maxrss`` of this process (import, model and everything so far), read right after each check
    (``peak_mib``, as before the sweep alone was measured) and after the sweep alone (``peak_after_sweep_mib``),
    before the forward pass.
    """
    import resource

    from hypothesis import find, strategies as st

    from seqcheck.models import as_model
    from seqcheck.models.keras_files import load_keras_model

    def peak_mib() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    pattern, forward_length = Pattern.parse(PATTERN), int(forward_length)
    keras_model = load_keras_model(model_path)
    find(st.integers(), lambda x: True)
    invariant = seqcheck.length_generalization

    def check(max_length: int):
        return seqcheck.check(keras_model, pattern=PATTERN, train_length=TRAIN_LENGTH, max_length=max_length,
                              invariants=[invariant])

    smoke = smoke == "1"
    if smoke:
        check(int(max_lengths[0]))
    out: dict = {"loaded_mib": peak_mib(), "runs": []}
    subject = None
    for max_length in map(int, max_lengths):
        started = time.perf_counter()
        report = check(max_length)
        seconds = time.perf_counter() - started
        result = report[invariant.name]
        run = {"max_length": max_length, "check_s": seconds, "peak_mib": peak_mib(), "passed": result.passed,
               "exhaustive": result.exhaustive, **report.evaluation}
        if subject is None:  # after the first check, so that the check stays the process's first
            subject = as_model(keras_model, alphabet_size=pattern.alphabet_size)
            subject.warm_up(pattern.min_context)
            every_window_sweep(subject, int(max_lengths[0]))
        sweeps = [every_window_sweep(subject, max_length) for _ in range(1 if smoke else SWEEP_TIMES)]
        sweep = min(sweeps, key=lambda s: s["s"])
        run.update({"sweep_s": sweep["s"], "peak_after_sweep_mib": peak_mib(), "sweep_correct": sweep["correct"],
                    "sweep_engine": sweep["engine"], "sweep_prefix_sharing": sweep["prefix_sharing"],
                    "sweep_symbols_fed": sweep["symbols_fed"], "sweep_model_calls": sweep["model_calls"]})
        if max_length == forward_length:
            fn = raw_function(keras_model, 1)
            x = encoded(pattern, max_length)
            fn(x).numpy()  # warm-up: the trace, and a first run at this length
            run["forward_s"] = best_of(1 if smoke else 3, lambda: fn(x).numpy())[0]
            if not smoke:
                started = time.perf_counter()
                check(max_length)
                run["second_check_s"] = time.perf_counter() - started
        out["runs"].append(run)
    return out


#: Timings of the sweep alone in a scaling child, the best kept (one child per maximum length and repeat).
SWEEP_TIMES = 3

SCALING_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import performance
print("RESULT " + json.dumps(performance.scaling_child(*sys.argv[2:])))
"""


def sweep_scaling(seed_path: Path, cfg: dict, repeat: int, smoke: bool, ceiling: dict) -> dict:
    """Time and peak memory of the every-window sweep as the maximum length grows, the sweep alone and the whole
    check (``sweep_length_exponent``: the sweep alone's), and both at ``forward_length`` against one forward pass of
    the p phases at that length (``sweep_10000_vs_forward``, ``check_10000_vs_forward``).

    Each maximum length runs in its own fresh process (:func:`scaling_child`, started by :func:`run_child`), so that
    its memory is its own; ``--smoke`` runs them all in one child after a warm-up check (one TensorFlow import, not
    one per length).  Repeats are interleaved over the lengths; best time, largest peak.
    """
    max_lengths, forward_length = cfg["sweep_scaling_lengths"], cfg["forward_length"]
    groups = [max_lengths] if smoke else [[m] for m in max_lengths]
    runs: dict[int, list[dict]] = {m: [] for m in max_lengths}
    child_mib: dict[int, int] = {m: 0 for m in max_lengths}
    loaded = []
    for _ in range(repeat):
        for group in groups:
            argv = python_child(SCALING_CHILD, str(Path(__file__).parent), str(seed_path), str(forward_length),
                                "1" if smoke else "0", *map(str, group))
            _, rss, code, text = run_child(argv)
            lines = [line for line in text.splitlines() if line.startswith("RESULT ")]
            if code != 0 or not lines:
                raise SystemExit(f"the sweep child for max lengths {group} failed (exit {code}):\n{text[-3000:]}")
            result = json.loads(lines[-1][len("RESULT "):])
            loaded.append(result["loaded_mib"])
            for run in result["runs"]:
                runs[run["max_length"]].append(run)
                child_mib[run["max_length"]] = max(child_mib[run["max_length"]], rss)
    pattern = Pattern.parse(PATTERN)
    per_step = ceiling["seed"]["ceiling_s_per_window_step"]
    table = []
    log("  length generalization only, seed model, default engine and causal=\"auto\"; "
        + ("one child for every length (--smoke), after a warm-up check" if smoke else "each max length in a fresh process")
        + f", best of {repeat}; import and model load excluded:")
    log("    sweep = the sweep alone (every_window_sweep: every window's verdict through the check's evaluator, on the"
        f" subject a check builds, warmed; best of {1 if smoke else SWEEP_TIMES} in the child);"
        " check = seqcheck.check of the bare keras.Model, the first in the process")
    log(f"    model loaded, before any check: {min(loaded)}-{max(loaded)} MiB")
    for max_length in max_lengths:
        best = min(runs[max_length], key=lambda r: r["check_s"])
        sweep = min(runs[max_length], key=lambda r: r["sweep_s"])
        peak = max(r["peak_mib"] for r in runs[max_length])
        peak_sweep = max(r["peak_after_sweep_mib"] for r in runs[max_length])
        lengths = range(pattern.min_context, max_length + 1)
        # The ceiling of section 2 (ns per window step on 1,000-window batches) over this sweep's windows.
        ceiling_s = per_step * pattern.period * sum(lengths)
        row = {"max_length": max_length, "sweep_s": sweep["sweep_s"], "check_s": best["check_s"], "peak_mib": peak,
               "peak_after_sweep_mib": peak_sweep, "child_peak_mib": child_mib[max_length],
               "windows": pattern.period * len(lengths), "ceiling_estimate_s": ceiling_s,
               "passed": best["passed"], "exhaustive": best["exhaustive"], "engine": best["engine"],
               "prefix_sharing": best["prefix_sharing"], "sweep_engine": sweep["sweep_engine"],
               "sweep_prefix_sharing": sweep["sweep_prefix_sharing"], "sweep_correct": sweep["sweep_correct"],
               "sweep_symbols_fed": sweep["sweep_symbols_fed"], "sweep_model_calls": sweep["sweep_model_calls"]}
        forward = [r["forward_s"] for r in runs[max_length] if "forward_s" in r]
        if forward:
            row["forward_s"] = min(forward)
            row["second_check_s"] = min((r["second_check_s"] for r in runs[max_length] if "second_check_s" in r), default=None)
        table.append(row)
        how = how_evaluated({"engine": row["sweep_engine"], "prefix_sharing": row["sweep_prefix_sharing"]})
        check_how = how_evaluated(best)
        log(f"    max length {max_length:>7,}: sweep {row['sweep_s']:7.3f}s  check {row['check_s']:7.3f}s"
            f"  peak RSS {peak} MiB after the check (+{peak - min(loaded)} over loaded), {peak_sweep} MiB after the sweep"
            f" (child incl. forward pass {child_mib[max_length]} MiB)  {row['windows']:>7,} windows, {row['sweep_correct']:,} right"
            f"  (sweep: {how}; check: {check_how}, {'pass' if best['passed'] else 'fail'})"
            # --smoke's ceiling (50-window calls of at most 12 steps) is per-call overhead: no estimate from it
            + ("" if smoke else f"  est. vs ceiling: sweep {small_ratio(ceiling_s / row['sweep_s'])},"
               f" check {small_ratio(ceiling_s / row['check_s'])}"))
    xs = [r["max_length"] for r in table]
    fitted = ", ".join(f"{x:,}" for x in xs[-3:])
    exponents = {}
    for kind in ("sweep", "check"):
        ys = [r[kind + "_s"] for r in table]
        exponents[kind] = (growth_exponent(xs, ys), growth_exponent(xs[-2:], ys[-2:]))
    (exponent, last), (check_exponent, check_last) = exponents["sweep"], exponents["check"]
    log(f"    growth with the max length, fitted over {fitted}: sweep alone ~x^{exponent:.2f} (sweep_length_exponent,"
        f" target: at most 1.2; {xs[-2]:,} -> {xs[-1]:,} alone: ~x^{last:.2f}); check_length_exponent ~x^{check_exponent:.2f}"
        f" ({xs[-2]:,} -> {xs[-1]:,} alone: ~x^{check_last:.2f})")
    if not smoke:
        log("    (est. vs ceiling: section 2's ceiling, seconds per window step on big batches, times this sweep's"
            " p x (3 + ... + M) window steps, over the time; an extrapolation, not a measurement)")
    at = next(r for r in table if r["max_length"] == forward_length)
    ratio, check_ratio = at["sweep_s"] / at["forward_s"], at["check_s"] / at["forward_s"]
    second = at["second_check_s"]
    log(f"  sweep to length {forward_length:,} against one forward pass of the compiled raw function on"
        f" {pattern.period} rows x {forward_length:,} steps (after a warm-up call, best of {1 if smoke else 3}, same child):"
        f" forward pass {at['forward_s']:.3f}s")
    log(f"    sweep alone {at['sweep_s']:.3f}s: ratio {ratio:.2f}  (sweep_10000_vs_forward; target: at most 3)")
    log(f"    whole check {at['check_s']:.3f}s ({'the check above' if smoke else 'first check in the child'}): ratio"
        f" {check_ratio:.2f}  (check_10000_vs_forward)"
        + ("" if second is None else f"; a second check {second:.3f}s: {second / at['forward_s']:.2f}"))
    return {"runs": table, "exponent": exponent, "last_exponent": last, "check_exponent": check_exponent,
            "check_last_exponent": check_last, "forward_length": forward_length, "forward_ratio": ratio,
            "check_forward_ratio": check_ratio, "loaded_mib": min(loaded)}


def exact_rule(pattern: Pattern):
    """A model that costs almost nothing: the stream's own rule, vectorized NumPy on integer tokens ``(B, L)``.

    It reads the last ``min_context`` symbols of each window (every context of that length names the phase)
    and returns the probability ``(B, 1)`` that the next symbol is 1, looked up in a table built from the
    pattern.  It is exact at every length, so every invariant passes and a check sweeps every case.
    """
    assert pattern.alphabet_size == 2, "the rule returns P(symbol 1): binary patterns only"
    symbols, period, k = list(pattern.symbols), pattern.period, pattern.min_context
    table = np.zeros(2 ** k)
    for phase in range(period):
        context = [symbols[(phase + i) % period] for i in range(k)]
        table[int("".join(map(str, context)), 2)] = symbols[(phase + k) % period]
    weights = 2 ** np.arange(k - 1, -1, -1)

    def next_symbol(x: np.ndarray) -> np.ndarray:
        return table[np.asarray(x)[:, -k:] @ weights][:, None]

    next_symbol.__qualname__ = f"exact rule of {pattern.text}"  # the model's name in the report
    return next_symbol


def pair_sweep_vs_oracle(repeat: int) -> dict:
    """Phase-shift invariance (pairs of windows: a sweep over (length, shift, phase)) against length
    generalization (one window per length and phase), both to the same maximum length on a model that costs
    almost nothing, so that what is timed is seqcheck's own work; interleaved, best of ``repeat``.  The pair
    sweep must stay linear in the length: it was 48x the oracle at length 2,000 when it was quadratic."""
    pattern = Pattern.parse(PATTERN)
    rule = exact_rule(pattern)
    max_length = PAIR_MAX_LENGTH
    sides = {"phase-shift invariance": seqcheck.phase_shift_invariance,
             "length generalization": seqcheck.length_generalization}
    best = {name: float("inf") for name in sides}
    results: dict = {}
    for _ in range(repeat):
        for name, invariant in sides.items():
            seconds, report = best_of(1, lambda: seqcheck.check(rule, pattern=PATTERN, train_length=TRAIN_LENGTH,
                                                                max_length=max_length, invariants=[invariant]))
            best[name] = min(best[name], seconds)
            result = report[invariant.name]
            if not (result.passed and result.exhaustive):
                raise SystemExit(f"{name} on the exact rule must pass and sweep every case, to length {max_length}:"
                                 f" passed={result.passed} exhaustive={result.exhaustive}")
            results[name] = result
    log(f"  phase-shift invariance against length generalization, lengths {pattern.min_context}..{max_length},"
        f" exact NumPy rule (next symbol from the last {pattern.min_context}), interleaved, best of {repeat}:")
    for name, result in results.items():
        cases = sum(f.cases for f in result.forms)
        log(f"    {name + ':':24} {best[name]:6.3f}s  {cases:>10,} cases  pass, exhaustive (every case in range)")
    ratio = best["phase-shift invariance"] / best["length generalization"]
    log(f"    phase shift vs length generalization: {ratio:.2f}  (target: at most 3)")
    return {"max_length": max_length, "phase_shift_s": best["phase-shift invariance"],
            "length_generalization_s": best["length generalization"], "ratio": ratio,
            "phase_shift_cases": sum(f.cases for f in results["phase-shift invariance"].forms),
            "length_generalization_cases": sum(f.cases for f in results["length generalization"].forms)}


def properties_vs_import(seed_path: Path, fixed_path: Path, cfg: dict, repeat: int, smoke: bool) -> dict:
    argv = [sys.executable, "-m", "pytest", "properties/", "-q", "-p", "no:cacheprovider"]
    if smoke:  # the untrained stand-in, on a short range
        argv += ["--seqcheck-model", str(seed_path), "--seqcheck-pattern", PATTERN,
                 "--seqcheck-train-length", str(TRAIN_LENGTH), "--seqcheck-max-length", str(cfg["properties_max_length"])]
    t_props = t_import = float("inf")
    code = None
    for _ in range(repeat):
        seconds, _, code, text = run_child(argv)
        t_props = min(t_props, seconds)
        seconds, _, status, out = run_child(python_child(IMPORT_AND_LOAD, str(seed_path), str(fixed_path)))
        if status != 0:
            raise SystemExit(f"importing TensorFlow and loading the models failed:\n{out}")
        t_import = min(t_import, seconds)
    summary = [line for line in text.strip().splitlines() if line.strip()][-1:]
    log(f"  pytest properties/ (warm cache): {t_props:.2f}s  exit {code}  {summary[0] if summary else ''}")
    log(f"  python -c 'import keras; load both models': {t_import:.2f}s")
    log(f"  properties vs import: {t_props / t_import:.2f}")
    return {"properties_s": t_props, "import_s": t_import, "ratio": t_props / t_import, "exit": code}


RECIPE_TESTS = """
import os
import numpy as np
import pytest
from seqcheck.training.recipe_check import check_recipe

SMOKE = {smoke!r}
CACHE = {cache!r}


def stand_in(pattern):
    # --smoke: a recipe whose "model" is a numpy callable, so that nothing is trained
    return lambda x: np.full((len(x), 1), 0.25)


@pytest.mark.parametrize("period, max_length", {cases!r})
def test_recipe_property(period, max_length):
    recipe = stand_in if SMOKE else "fixed-window"
    report = check_recipe(recipe, min_period=period, max_period=period, max_length=max_length,
                          max_examples=3, cache_dir=CACHE)
    assert report.tried
"""


def recipe_parallel(cfg: dict, repeat: int, smoke: bool, workdir: Path) -> dict:
    """A recipe-level property, one test per (period, max length), under ``-n 2`` and ``-n 0``."""
    folder = workdir / "recipe_tests"
    folder.mkdir()
    from seqcheck.training.cache import default_cache_dir

    cache = str(default_cache_dir())
    (folder / "test_recipe_property.py").write_text(RECIPE_TESTS.format(smoke=smoke, cache=cache, cases=cfg["recipe_cases"]))
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder), str(folder)]
    if not smoke:  # warm the cache: train what is missing, untimed
        seconds, _, code, text = run_child(base + ["-n", "0"], cwd=folder)
        if code != 0:
            raise SystemExit(f"the recipe-level tests failed:\n{text}")
    t0 = t2 = float("inf")
    for _ in range(repeat):
        t0 = min(t0, run_child(base + ["-n", "0"], cwd=folder)[0])
        seconds, _, code, text = run_child(base + ["-n", "2"], cwd=folder)
        if code != 0:
            raise SystemExit(f"the recipe-level tests failed under -n 2:\n{text}")
        t2 = min(t2, seconds)
    log(f"  {len(cfg['recipe_cases'])} recipe-level tests (check_recipe, period, max length = {cfg['recipe_cases']}), warm cache:")
    log(f"  -n 0: {t0:.2f}s   -n 2: {t2:.2f}s   speed-up {t0 / t2:.2f}x  (cpus: {os.cpu_count()})")
    return {"n0_s": t0, "n2_s": t2, "speedup": t0 / t2}


# -- 4. memory -------------------------------------------------------------------------------------

SWEEP = """
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import keras
from seqcheck.search.evaluation import Evaluator
from seqcheck.models.keras import KerasModel
from seqcheck.tasks.patterns import Pattern

path, max_length, count, batch, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
pattern = Pattern.parse("11000")
model = KerasModel(keras.saving.load_model(path, compile=False), alphabet_size=2)
model.max_batch_symbols = chunk
evaluator = Evaluator(model, pattern)
started = time.perf_counter()
for length in np.unique(np.linspace(3, max_length, count).astype(int)):
    evaluator.stream(int(length))
# a wide batch at the longest length: every phase, repeated, through predict_proba's chunking
windows = np.tile(pattern.windows(max_length), (batch // pattern.period, 1))
probs = model.predict_proba(windows)
print(f"lengths={count} batch={len(windows)}x{max_length} calls={model.calls} seconds={time.perf_counter() - started:.2f}")
"""


def memory(seed_path: Path, fixed_path: Path, cfg: dict) -> dict:
    idle_s, idle, code, _ = run_child(python_child(IMPORT_AND_LOAD, str(seed_path)))
    check_argv = [sys.executable, "-m", "seqcheck", "check", str(seed_path), "--pattern", PATTERN,
                  "--train-length", str(TRAIN_LENGTH)]
    check_s, check_rss, code, text = run_child(check_argv)
    log(f"  TensorFlow + seed model loaded, idle: {idle} MiB")
    log(f"  seqcheck check seed model (exit {code}, {check_s:.1f}s): {check_rss} MiB  (+{check_rss - idle} MiB, x{check_rss / idle:.2f})")
    out = {"idle_mib": idle, "check_mib": check_rss, "check_exit": code}
    max_length, count, batch = cfg["sweep_max_length"], cfg["sweep_lengths"], cfg["sweep_batch"]
    variants = [("chunked (max_batch_symbols=2^21)", 1 << 21)] + ([] if cfg is SMOKE else [("unchunked", 1 << 40)])
    for label, chunk in variants:
        seconds, rss, code, text = run_child(python_child(SWEEP, str(fixed_path), str(max_length), str(count), str(batch), str(chunk)))
        if code != 0:
            raise SystemExit(f"the sweep failed:\n{text}")
        log(f"  sweep to length {max_length:,} ({text.strip().splitlines()[-1]}), {label}: {rss} MiB (+{rss - idle} MiB over idle)")
        out["sweep_" + label.split()[0] + "_mib"] = rss
    return out


# -- main --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, untrained stand-in models: seconds, not minutes")
    parser.add_argument("--repeat", type=int, default=None, help="runs per timing, best kept (default 3, 1 with --smoke)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure here")
    args = parser.parse_args(argv)
    cfg = SMOKE if args.smoke else FULL
    repeat = args.repeat or (1 if args.smoke else 3)

    import keras
    import tensorflow as tf

    log(f"seqcheck {getattr(seqcheck, '__version__', '')}  keras {keras.__version__}  tensorflow {tf.__version__}"
        f"  python {sys.version.split()[0]}  cpus {os.cpu_count()}  {time.strftime('%Y-%m-%d')}"
        + ("  (--smoke: untrained stand-in models, tiny sizes)" if args.smoke else ""))
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="seqcheck-bench-") as tmp:
        workdir = Path(tmp)
        seed_path, fixed_path = model_paths(args.smoke, workdir)
        log("\n1. time to the minimal counterexample (seed model)")
        figures["counterexample"] = time_to_counterexample(seed_path, cfg, repeat)
        figures["battery"] = battery_time(seed_path, repeat)
        log("\n2. sweep throughput")
        figures["throughput"] = throughput(fixed_path, cfg, repeat)
        figures["sweep_vs_ceiling"] = sweep_vs_ceiling(seed_path, fixed_path, cfg, repeat)
        figures["sequence_search"] = sequence_search(cfg, repeat, args.smoke, workdir)
        log("\n3. scaling")
        figures["scaling"] = scaling(fixed_path, cfg, repeat)
        figures["sweep_scaling"] = sweep_scaling(seed_path, cfg, repeat, args.smoke, figures["sweep_vs_ceiling"])
        figures["pair_sweep"] = pair_sweep_vs_oracle(repeat)
        figures["properties"] = properties_vs_import(seed_path, fixed_path, cfg, repeat, args.smoke)
        figures["recipe_parallel"] = recipe_parallel(cfg, repeat, args.smoke, workdir)
        log("\n4. memory (peak resident set size)")
        figures["memory"] = memory(seed_path, fixed_path, cfg)
        peaks = ", ".join(f"{r['max_length']:,}: {r['peak_mib']} MiB" for r in figures["sweep_scaling"]["runs"])
        log(f"  every-case sweep, length generalization, seed model (section 3), peak RSS after the check by max length: {peaks}"
            f" (model loaded: {figures['sweep_scaling']['loaded_mib']} MiB)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    log()
    log(f"speedup_vs_hand_written={figures['counterexample']['speedup']:.1f}"
        f" throughput_vs_raw={figures['throughput']['ratio']:.2f}"
        f" properties_vs_import={figures['properties']['ratio']:.2f}"
        f" phase_shift_vs_length_2000={figures['pair_sweep']['ratio']:.2f}"
        f" sequence_search_vs_raw={small_ratio(figures['sequence_search']['ratio'])}"
        f" sweep_vs_ceiling={small_ratio(figures['sweep_vs_ceiling']['ratio'])}"
        f" check_vs_ceiling={small_ratio(figures['sweep_vs_ceiling']['check_ratio'])}"
        f" sweep_10000_vs_forward={figures['sweep_scaling']['forward_ratio']:.2f}"
        f" check_10000_vs_forward={figures['sweep_scaling']['check_forward_ratio']:.2f}"
        f" sweep_length_exponent={figures['sweep_scaling']['exponent']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
