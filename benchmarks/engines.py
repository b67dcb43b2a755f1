"""Which engine evaluates a Keras LSTM faster: the NumPy translation or the compiled Keras call?

    python benchmarks/engines.py               # full run: ~4 min on an idle 2-core machine, ~6 on a busy one
    python benchmarks/engines.py --repeat 3    # best of 3 instead of 5: quicker, noisier
    python benchmarks/engines.py --smoke       # tiny models and shapes: checks that the script runs (~10 s)

``KerasModel(engine="auto")`` must pick, before a check sweeps, the engine that is faster on the calls the
check will make.  This script measures both engines on untrained seeded models with scalar input
``(B, L, 1) -> LSTM(units) [-> LSTM] -> Dense(1, sigmoid)``: LSTM(4), LSTM(64), LSTM(256), 2xLSTM(128) (the
first with ``return_sequences=True``), LSTM(1024), and an extra LSTM(192), in the zone where neither engine
wins clearly (its recurrent kernel still fits a core's L2 cache, LSTM(256)'s does not); on the shapes ``(B, L)``
a check calls:

- ``5x2000``: a prefix pass (p rows of the longest length in one call): small batch, many steps;
- ``5x200``, ``40x200``, ``1000x50``, ``64x16``: per-window calls (Hypothesis's batches, sweeps of non-causal
  models, short windows);
- ``5x64``: the probe call that rule (b) below would time at check start.

Three ways of calling, measured per call:

- ``np1``: ``translate(model)(x)`` inside ``controller.limit(limits=1, user_api="blas")``, the
  ``threadpoolctl.ThreadpoolController`` built once and the limit entered and left around every call;
- ``np``: ``translate(model)(x)`` with OpenBLAS's default threads (one per core).  A translation that pins BLAS
  itself inside every call (``keras_numpy._one_blas_thread``) has that switched off for the run, so that the
  script alone decides;
- ``keras``: ``KerasModel(model, alphabet_size=2, engine="keras")._call_keras(x)``: the compiled ``tf.function``
  with ``None`` batch and time dimensions, after a warm-up call.  Its trace is timed once per model and
  reported apart (first call minus a steady call, on the probe shape).

Each time is the best of ``--repeat`` rounds of ``n`` calls (``n`` makes a measurement last >= 50 ms).
Each round runs the three variants one after the other (keras, np1, then np, whose OpenBLAS threads spin on
for a while after a call: a pause follows it, see SETTLE; a short call is preceded by one untimed call), first
idle, then while a background ``python -c "while True: pass"`` loads one core: one loader process for the whole
run, stopped (SIGSTOP) for the idle rounds, resumed (SIGCONT) for the loaded ones, killed at the end.  So the
engines, idle and loaded, are measured side by side, interleaved: on a shared machine only ratios mean something.
The machine's other users are watched too (``/proc/stat``'s busy time minus this process's and the loader's):
a round during which they kept more than MAX_OTHERS cores busy is measured again, a few times at most, and a
cell left with fewer clean rounds than ``--repeat`` is flagged "!" in the tables.

Calls whose slowest variant would take more than ``CALL_BUDGET`` seconds (LSTM(1024), LSTM(256) on 1000 rows) are
measured on fewer steps of the same batch, and their times scaled to the nominal length: per step, an RNN's cost
does not depend on the length, and a call's fixed cost (~0.5-4 ms for Keras) is small against CALL_BUDGET (the
column ``meas.`` gives the steps measured).

How to read the output:

1. the engine table, idle and loaded: ms per call and us per time step of each variant, the faster of ``np1``
   and ``keras``, ``keras/np1`` (> 1: NumPy is faster by that factor) and ``np/np1`` (> 1: pinning OpenBLAS
   to one thread helps);
2. the trace time of the compiled call, and the cost of entering and leaving the threadpoolctl limit;
3. rules for ``auto``: for each cost measure (the largest recurrent kernel's weights, rows x recurrent weights),
   the interval of thresholds that keeps ``auto`` within ``TOLERANCE`` of the faster engine on every case;
   then candidate rules, each judged by its worst ``auto / best`` (the time of the engine the rule picks over
   the faster of ``np1`` and ``keras``) over every model and shape, idle and loaded; and case by case for the
   proposed rule (a) and its probing variant (b'').
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from threadpoolctl import ThreadpoolController, threadpool_limits  # noqa: E402

#: (name, units of each LSTM layer).
MODELS = [
    ("LSTM(4)", [4]),
    ("LSTM(64)", [64]),
    ("LSTM(256)", [256]),
    ("2xLSTM(128)", [128, 128]),
    ("LSTM(1024)", [1024]),
    ("LSTM(192)", [192]),
]
SMOKE_MODELS = [("LSTM(4)", [4]), ("LSTM(32)", [32]), ("2xLSTM(16)", [16, 16])]
#: (rows, steps) of the calls a check makes; the first is the prefix pass.
SHAPES = [(5, 2000), (5, 200), (40, 200), (1000, 50), (64, 16)]
SMOKE_SHAPES = [(5, 200), (5, 20), (40, 20), (200, 10), (64, 16)]
#: The call rule (b) times at check start: p = 5 rows of 64 steps.
PROBE = (5, 64)
#: Allowed slowdown of ``auto`` against the faster engine.
TOLERANCE = 1.10
#: Seconds the slowest variant may take per call; longer calls are measured on fewer steps (see the docstring).
CALL_BUDGET = 0.3

#: The proposed rule for ``auto`` (a): NumPy iff the largest recurrent kernel has at most NUMPY_MAX_KERNEL weights
#: (an LSTM of up to 90 units, a GRU of up to 104, a SimpleRNN of up to 181) and one time step multiplies at most
#: NUMPY_MAX_WORK weights (rows x every recurrent kernel's weights), NUMPY_MAX_WORK_SHORT for windows of at most
#: SHORT_STEPS steps, on which Keras's fixed cost per call (~0.5 ms) weighs; else Keras.
NUMPY_MAX_KERNEL = 32_768
NUMPY_MAX_WORK = 2**19
NUMPY_MAX_WORK_SHORT = 2**20
SHORT_STEPS = 32
#: The tie zone: largest kernels where neither engine wins by a clear margin on calls of few rows (LSTM of 65..256
#: units, at most TIE_MAX_WORK weights a step): the winner there depends on the machine's load.  Rules (b') and
#: (b'') probe there, and only there.
TIE_ZONE = (16_384, 262_144)
TIE_MAX_WORK = 2**21
#: The longer call that rule (b'') compares with the probe: one of SHAPES and SMOKE_SHAPES.
LONG_PROBE = (5, 200)
#: Calls of at most this many rows count as small-batch (prefix passes: p <= 40 rows).
SMALL_ROWS = 64


def build_model(units: list[int], seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=(None, 1))]
    for i, u in enumerate(units):
        layers.append(keras.layers.LSTM(u, return_sequences=i < len(units) - 1))
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    return keras.Sequential(layers)


def largest_kernel(units: list[int]) -> int:
    """Weights of the largest recurrent kernel (units x 4 units for an LSTM)."""
    return max(4 * u * u for u in units)


def step_work(units: list[int], shape: tuple[int, int]) -> int:
    """Multiply-adds of the recurrent products of one time step: rows x every recurrent kernel's weights."""
    return shape[0] * sum(4 * u * u for u in units)


def batch_of(shape: tuple[int, int], seed: int = 1) -> np.ndarray:
    """An encoded scalar batch (B, L, 1) of random binary symbols, float32 as ``encode`` makes it."""
    rows, length = shape
    return np.random.default_rng(seed).integers(0, 2, size=(rows, length, 1)).astype(np.float32)


def label(shape: tuple[int, int]) -> str:
    return f"{shape[0]}x{shape[1]}"


class Loader:
    """One background process spinning on one core, paused (SIGSTOP) or running (SIGCONT) on demand."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        self.running = True
        time.sleep(0.1)
        self.pause()

    def pause(self) -> None:
        if self.running:
            os.kill(self.proc.pid, signal.SIGSTOP)
            self.running = False

    def resume(self) -> None:
        if not self.running:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.running = True
            time.sleep(0.02)  # let the scheduler put it on a core

    def close(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()


def time_calls(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


class CpuMeter:
    """How many cores *other* processes kept busy over an interval: all busy CPU time (``/proc/stat``) minus
    this process's and the loader's.  The machine is shared: a round disturbed by someone else's work is
    measured again.  Without ``/proc`` (not Linux) every round counts as undisturbed."""

    HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, loader_pid: int):
        self.loader_pid = loader_pid
        self.available = os.path.exists("/proc/stat") and os.path.exists(f"/proc/{loader_pid}/stat")

    def snapshot(self) -> tuple[float, float, float, float] | None:
        if not self.available:
            return None
        with open("/proc/stat") as f:
            v = [int(a) for a in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
        with open(f"/proc/{self.loader_pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # from field 3 (state) on: utime, stime are 14 and 15
        busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / self.HZ
        loader = (int(fields[11]) + int(fields[12])) / self.HZ
        return time.perf_counter(), busy, time.process_time(), loader

    @staticmethod
    def others(before, after) -> float:
        """Cores busy with other processes between two snapshots (0 without ``/proc``)."""
        if before is None or after is None:
            return 0.0
        wall = after[0] - before[0]
        return max(0.0, ((after[1] - before[1]) - (after[2] - before[2]) - (after[3] - before[3])) / wall)


#: A round during which other processes kept more than this many cores busy is disturbed: measured again.
MAX_OTHERS = 0.3
#: Seconds to wait after a disturbed round, for someone else's burst of work to pass.
DISTURBED_PAUSE = 0.3
#: Rounds measured again at most per cell and load (bounds the run time when the machine stays busy).
EXTRA_ROUNDS = 2
#: Seconds between rounds.  After a parallel product, OpenBLAS's threads spin for a while: measured right after
#: the unpinned "np" variant, a Keras call of 2xLSTM(128) on 5x200 took a median 22.6 ms against 15.1 ms after
#: a 0.1 s pause (and 17.4 ms with no NumPy call before it).
SETTLE = 0.1


@dataclass
class Cell:
    """Best seconds per call of each variant, by load; the rounds kept (undisturbed), and others' load seen."""

    best: dict[str, dict[str, float]]
    clean: dict[str, int]
    others: list[float]


def measure(
    calls: dict, repeat: int, loader: Loader, meter: CpuMeter, target: float, max_others: float
) -> Cell:
    """Best-of-``repeat`` seconds per call of each of ``calls``, idle and loaded, interleaved.

    A round runs the variants one after the other in the order of ``calls`` (keras, np1, np: the unpinned
    variant last, then a pause of SETTLE s), each a short call's measurement preceded by one untimed call (the
    first call after another engine ran is slower), then the same under the other load.  A round during which other
    processes kept more than ``max_others`` cores busy is not kept: after a pause of DISTURBED_PAUSE s it is
    measured again, up to ``repeat`` + EXTRA_ROUNDS rounds per load.  A load with no clean round keeps the best
    of every round (the table flags a cell with fewer than ``repeat`` clean rounds with "!")."""
    counts = {}
    for name, fn in calls.items():  # the first call of this shape (a warm-up) calibrates n
        counts[name] = max(1, min(200, math.ceil(target / max(time_calls(fn, 1), 1e-6))))
    clean_best: dict[str, dict[str, float]] = {"idle": {}, "loaded": {}}
    any_best: dict[str, dict[str, float]] = {"idle": {}, "loaded": {}}
    clean = {"idle": 0, "loaded": 0}
    rounds = {"idle": 0, "loaded": 0}
    others: list[float] = []
    most = repeat + EXTRA_ROUNDS
    while any(clean[load] < repeat and rounds[load] < most for load in clean):
        for load in ("idle", "loaded"):
            if clean[load] >= repeat or rounds[load] >= most:
                continue
            (loader.pause if load == "idle" else loader.resume)()
            before = meter.snapshot()
            times = {}
            for name, fn in calls.items():
                if counts[name] > 1:  # a short call: one untimed call first, so that n calls are back to back
                    fn()
                times[name] = time_calls(fn, counts[name])
            busy = meter.others(before, meter.snapshot())
            time.sleep(SETTLE)  # OpenBLAS's threads spin on after "np": let them sleep before the next "keras"
            others.append(busy)
            rounds[load] += 1
            targets = [any_best[load]] + ([clean_best[load]] if busy <= max_others else [])
            clean[load] += busy <= max_others
            if busy > max_others:
                loader.pause()
                time.sleep(DISTURBED_PAUSE)
            for best in targets:
                for name, t in times.items():
                    best[name] = min(best.get(name, math.inf), t)
    loader.pause()
    best = {load: clean_best[load] if clean[load] else any_best[load] for load in clean}
    return Cell(best, clean, others)


def limit_overhead(controller: ThreadpoolController, n: int) -> dict[str, float]:
    """Seconds per enter+leave of the BLAS limit, and what the alternatives cost."""
    out = {}
    start = time.perf_counter()
    for _ in range(n):
        with controller.limit(limits=1, user_api="blas"):
            pass
    out["with controller.limit(limits=1, user_api='blas'): (controller built once)"] = (time.perf_counter() - start) / n
    m = max(1, n // 20)
    start = time.perf_counter()
    for _ in range(m):
        with threadpool_limits(limits=1, user_api="blas"):
            pass
    new_each_time = "with threadpool_limits(limits=1, user_api='blas'): (a new controller each time)"
    out[new_each_time] = (time.perf_counter() - start) / m
    start = time.perf_counter()
    for _ in range(m):
        ThreadpoolController()
    out["ThreadpoolController() (built once per process)"] = (time.perf_counter() - start) / m
    return out


# -- rules for auto -------------------------------------------------------------------------------


def small_work(units, shape) -> bool:
    return step_work(units, shape) <= (NUMPY_MAX_WORK_SHORT if shape[1] <= SHORT_STEPS else NUMPY_MAX_WORK)


def proposed(units, shape, cells) -> str:
    """(a): numpy iff the largest recurrent kernel and one step's work are both small."""
    return "np1" if largest_kernel(units) <= NUMPY_MAX_KERNEL and small_work(units, shape) else "keras"


def kernel_65536(units, shape, cells) -> str:
    """(a) with the tie zone's 2xLSTM(128) on the numpy side."""
    return "np1" if largest_kernel(units) <= 65_536 and small_work(units, shape) else "keras"


def work_only(units, shape, cells) -> str:
    return "np1" if small_work(units, shape) else "keras"


def one_work_limit(units, shape, cells) -> str:
    """(a) with one work limit, NUMPY_MAX_WORK_SHORT, whatever the length."""
    small = largest_kernel(units) <= NUMPY_MAX_KERNEL and step_work(units, shape) <= NUMPY_MAX_WORK_SHORT
    return "np1" if small else "keras"


def probe_every_call(units, shape, cells) -> str:
    """(b): whichever engine was faster on the 5x64 probe, for every call."""
    return "np1" if cells[PROBE]["np1"] <= cells[PROBE]["keras"] else "keras"


def in_tie_zone(units, shape) -> bool:
    """Between the models where numpy clearly wins and those where keras does (TIE_ZONE), calls of small work."""
    return TIE_ZONE[0] < largest_kernel(units) <= TIE_ZONE[1] and step_work(units, shape) <= TIE_MAX_WORK


def probe_in_tie_zone(units, shape, cells) -> str:
    """(b'): rule (a), except in the tie zone, where the engine faster on the 5x64 probe is used."""
    if in_tie_zone(units, shape):
        return "np1" if cells[PROBE]["np1"] <= cells[PROBE]["keras"] else "keras"
    return proposed(units, shape, cells)


def slope_in_tie_zone(units, shape, cells) -> str:
    """(b''): rule (b') with the engines' cost per step (5x200 minus 5x64 calls, per step): Keras's per-call
    overhead (~1 ms) weighs on a 64-step probe, not on a prefix pass of thousands of steps."""
    if in_tie_zone(units, shape):
        slope = {v: cells[LONG_PROBE][v] - cells[PROBE][v] for v in ("np1", "keras")}
        return "np1" if slope["np1"] <= slope["keras"] else "keras"
    return proposed(units, shape, cells)


RULES = [
    ("today: numpy whenever the model translates", lambda units, shape, cells: "np1"),
    ("keras always", lambda units, shape, cells: "keras"),
    (
        f"(a) proposed: numpy iff kernel <= {NUMPY_MAX_KERNEL:,}, rows x weights <= {NUMPY_MAX_WORK:,}"
        f" ({NUMPY_MAX_WORK_SHORT:,} if L <= {SHORT_STEPS})",
        proposed,
    ),
    ("(a) the same with kernel <= 65,536 (2xLSTM(128) on numpy)", kernel_65536),
    ("(a) the same without the kernel limit (work only)", work_only),
    (f"(a) the same with one work limit, {NUMPY_MAX_WORK_SHORT:,}, at every length", one_work_limit),
    ("(b) probe 5x64 at check start, its faster engine for every call", probe_every_call),
    (f"(b') (a), but a 5x64 probe decides in the tie zone ({TIE_ZONE[0]:,} < kernel <= {TIE_ZONE[1]:,})", probe_in_tie_zone),
    ("(b'') (b') deciding on the cost per step: 5x200 minus 5x64 calls", slope_in_tie_zone),
]


def ratio(times: dict[str, float], engine: str) -> float:
    return times[engine] / min(times["np1"], times["keras"])


def judge(rule, results, models, shapes, load: str) -> tuple[float, str]:
    """The worst ``auto / best`` of ``rule`` over every model and shape, and where."""
    worst, where = 0.0, ""
    for name, units in models:
        cells = {shape: times[load] for shape, times in results[name].items()}
        for shape in shapes:
            r = ratio(cells[shape], rule(units, shape, cells))
            if r > worst:
                worst, where = r, f"{name} {label(shape)}"
    return worst, where


def interval(results, cases, key, loads) -> tuple[float, float, str, str]:
    """Thresholds T for "numpy iff key <= T" within TOLERANCE on every case: lo <= T < hi.

    lo is the largest key of a case where keras is too slow, hi the smallest key of a case where numpy is;
    lo >= hi means that no threshold on that key works."""
    lo, hi, lo_at, hi_at = 0, math.inf, "-", "-"
    for name, units, shape in cases:
        k = key(units, shape)
        for load in loads:
            t = results[name][shape][load]
            if ratio(t, "keras") > TOLERANCE and k > lo:
                lo, lo_at = k, f"{name} {label(shape)} {load}"
            if ratio(t, "np1") > TOLERANCE and k < hi:
                hi, hi_at = k, f"{name} {label(shape)} {load}"
    return lo, hi, lo_at, hi_at


# -- output -----------------------------------------------------------------------------------


def print_table(results, measured, models, shapes, load: str, repeat: int) -> None:
    print(f"\n## Per call, {load}" + (": one core busy with a background loop" if load == "loaded" else ""))
    head = (
        f"{'model':<12} {'B x L':>8} {'meas.':>6} | {'np1 ms':>9} {'np ms':>9} {'keras ms':>9} | {'np1 us/st':>9}"
        f" {'np us/st':>9} {'ker us/st':>9} | {'faster':>6} {'keras/np1':>9} {'np/np1':>7}"
    )
    print(head)
    print("-" * len(head))
    for name, _ in models:
        for shape in [*shapes, PROBE]:
            t = results[name][shape][load]
            steps = shape[1]
            faster = "numpy" if t["np1"] <= t["keras"] else "keras"
            measured_steps, clean = measured[name][shape]
            flag = "!" if clean[load] < repeat else " "
            print(
                f"{name:<12} {label(shape):>8}{flag}{measured_steps:>6} | {t['np1'] * 1e3:9.2f} {t['np'] * 1e3:9.2f}"
                f" {t['keras'] * 1e3:9.2f} | {t['np1'] / steps * 1e6:9.1f} {t['np'] / steps * 1e6:9.1f}"
                f" {t['keras'] / steps * 1e6:9.1f} | {faster:>6} {t['keras'] / t['np1']:9.2f} {t['np'] / t['np1']:7.2f}"
            )


def print_rules(results, models, shapes) -> None:
    print(f"\n## Rules for auto (target: auto/best <= {TOLERANCE:.2f} on every model and shape, idle and loaded)")
    print("Largest recurrent kernel (weights) and step work (rows x all recurrent weights) of each model:")
    for name, units in models:
        works = ", ".join(f"{label(s)}: {step_work(units, s):,}" for s in shapes)
        print(f"  {name:<12} kernel {largest_kernel(units):>9,}   work {works}")

    print("\nThresholds T such that 'numpy iff key <= T' works (lo <= T < hi; lo >= hi: no T works):")
    small = [(n, u, s) for n, u in models for s in shapes if s[0] <= SMALL_ROWS]
    every = [(n, u, s) for n, u in models for s in shapes]
    under = [(n, u, s) for n, u, s in every if largest_kernel(u) <= NUMPY_MAX_KERNEL]
    for what, cases, key in (
        (f"largest kernel, calls of <= {SMALL_ROWS} rows", small, lambda units, shape: largest_kernel(units)),
        ("rows x weights, every call", every, step_work),
        (f"rows x weights, models whose kernel <= {NUMPY_MAX_KERNEL:,}", under, step_work),
    ):
        for loads in (("idle",), ("loaded",), ("idle", "loaded")):
            lo, hi, lo_at, hi_at = interval(results, cases, key, loads)
            verdict = "works" if lo < hi else "none"
            print(f"  {what:<48} {'+'.join(loads):<11} lo={lo:>11,} ({lo_at:<24}) hi={hi:>12,} ({hi_at:<24}) {verdict}")

    print(f"\n   {'rule':<92} {'idle':>5} {'worst at':<20} {'loaded':>6} {'worst at':<20}")
    for text, rule in RULES:
        idle, idle_at = judge(rule, results, models, shapes, "idle")
        loaded, loaded_at = judge(rule, results, models, shapes, "loaded")
        mark = "ok" if max(idle, loaded) <= TOLERANCE else "--"
        print(f"{mark} {text:<92} {idle:5.2f} {idle_at:<20} {loaded:6.2f} {loaded_at:<20}")

    for index in (2, 8):
        text, rule = RULES[index]
        print(f"\nCase by case, {text} (engine picked; auto/best idle, loaded):")
        print(f"  {'model':<12} " + " ".join(f"{label(s):>20}" for s in shapes))
        for name, units in models:
            row = []
            for shape in shapes:
                r = []
                for load in ("idle", "loaded"):
                    cells = {s: times[load] for s, times in results[name].items()}
                    engine = rule(units, shape, cells)
                    r.append(f"{'n' if engine == 'np1' else 'k'} {ratio(cells[shape], engine):.2f}")
                row.append(", ".join(r))
            print(f"  {name:<12} " + " ".join(f"{c:>20}" for c in row))
    print("  (n: numpy with BLAS pinned to one thread, k: keras)")


def steps_to_measure(program, km, numpy_pinned, rows: int, length: int) -> int:
    """``length``, or fewer steps if the slowest variant would take more than CALL_BUDGET seconds a call.

    The time per step is the difference between calls of 2 and 8 steps (each the faster of two), so that the
    fixed cost of a call (~0.5-4 ms for Keras) is not counted per step: scaled by ``length / steps``, it would
    inflate the scaled time of a truncated call."""
    few = min(length, 8)
    if few < 3:
        return length
    short, longer = batch_of((rows, 2)), batch_of((rows, few))
    per_step = 0.0
    for f in (lambda x: numpy_pinned(program, x)(), program, km._call_keras):
        t_short = min(time_calls(lambda: f(short), 1) for _ in range(2))
        t_long = min(time_calls(lambda: f(longer), 1) for _ in range(2))
        per_step = max(per_step, (t_long - t_short) / (few - 2))
    return length if per_step * length <= CALL_BUDGET else max(few, int(CALL_BUDGET / per_step))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="measurements per variant; the best is kept (default 5)")
    parser.add_argument("--smoke", action="store_true", help="tiny models and shapes: checks that the script runs")
    args = parser.parse_args()
    models = SMOKE_MODELS if args.smoke else MODELS
    shapes = SMOKE_SHAPES if args.smoke else SHAPES
    repeat = 1 if args.smoke else max(1, args.repeat)
    target = 0.005 if args.smoke else 0.05
    max_others = math.inf if args.smoke else MAX_OTHERS  # smoke rounds are too short for /proc/stat's 10 ms ticks

    wall = time.perf_counter()
    from seqcheck.models import keras_numpy
    from seqcheck.models.keras import KerasModel
    from seqcheck.models.keras_numpy import translate

    # A translation may pin BLAS itself inside every call: this script pins it (np1) or not (np) on its own.
    own_pinning = hasattr(keras_numpy, "_one_blas_thread")
    if own_pinning:
        keras_numpy._one_blas_thread = contextlib.nullcontext

    controller = ThreadpoolController()  # once: building one costs milliseconds (see the overhead section)
    blas = controller.select(user_api="blas").info()
    libraries = ", ".join("{internal_api} {version} ({num_threads} threads)".format(**i) for i in blas)
    print(f"BLAS: {libraries}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start")
    if own_pinning:
        print("The translation's own BLAS pinning (keras_numpy._one_blas_thread, every call) is off for this run.")

    def numpy_pinned(program, x):
        def call():
            with controller.limit(limits=1, user_api="blas"):
                program(x)

        return call

    # The first trace in a process pays TensorFlow's one-off costs: a throwaway model takes them.
    warm = KerasModel(build_model([2]), alphabet_size=2, engine="keras")
    t0 = time.perf_counter()
    warm._call_keras(batch_of(PROBE))
    first_trace = time.perf_counter() - t0

    loader = Loader()
    meter = CpuMeter(loader.proc.pid)
    results: dict = {}
    measured: dict = {}  # name -> shape -> (steps measured, {load: clean rounds})
    others: list[float] = []
    traces: dict[str, float] = {}
    try:
        for name, units in models:
            model = build_model(units)
            program = translate(model)
            km = KerasModel(model, alphabet_size=2, engine="keras")
            probe_x = batch_of(PROBE)
            t0 = time.perf_counter()
            km._call_keras(probe_x)
            first = time.perf_counter() - t0
            steady = min(time_calls(lambda: km._call_keras(probe_x), 1) for _ in range(3))
            traces[name] = first - steady
            results[name], measured[name] = {}, {}
            for shape in [*shapes, PROBE]:
                rows, length = shape
                steps = steps_to_measure(program, km, numpy_pinned, rows, length)
                x = batch_of((rows, steps))
                got, want = program(x), km._call_keras(x)
                assert np.allclose(got, want, atol=1e-4), f"{name} {shape}: the engines differ by {np.abs(got - want).max()}"
                calls = {  # in this order: see measure()
                    "keras": lambda k=km, x=x: k._call_keras(x),
                    "np1": numpy_pinned(program, x),
                    "np": lambda p=program, x=x: p(x),
                }
                cell = measure(calls, repeat, loader, meter, target, max_others)
                scale = length / steps  # per-call times at the nominal length
                results[name][shape] = {load: {v: t * scale for v, t in times.items()} for load, times in cell.best.items()}
                measured[name][shape] = (steps, cell.clean)
                others.extend(cell.others)
                print(
                    f"  measured {name} {label(shape)} on {steps} steps, clean rounds {cell.clean}, others' load up to"
                    f" {max(cell.others):.2f} cores ({time.perf_counter() - wall:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        n = 200 if args.smoke else 20_000
        overhead = {"idle": limit_overhead(controller, n)}
        loader.resume()
        overhead["loaded"] = limit_overhead(controller, n)
    finally:
        loader.close()

    for load in ("idle", "loaded"):
        print_table(results, measured, models, shapes, load, repeat)
    disturbed = sum(o > max_others for o in others)
    print(
        f"\nOther processes' load over the {len(others)} rounds: median {np.median(others):.2f} cores,"
        f" max {max(others):.2f}; {disturbed} rounds above {max_others} cores were measured again; '!' marks a cell"
        f" with fewer than {repeat} undisturbed rounds (its figures are the best of every round)."
    )

    print("\n## Trace of the compiled call (first call minus a steady call, on the probe shape 5x64)")
    print(f"  first trace in the process (a throwaway LSTM(2), TensorFlow's one-off costs included): {first_trace:.3f} s")
    for name, _ in models:
        print(f"  {name:<12} {traces[name]:.3f} s")

    print("\n## threadpoolctl: entering and leaving the BLAS limit, per call")
    for what, secs in overhead["idle"].items():
        print(f"  {what}: {secs * 1e6:.1f} us idle, {overhead['loaded'][what] * 1e6:.1f} us loaded")

    print_rules(results, models, shapes)
    print(f"\nwhole run: {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
