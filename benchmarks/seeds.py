"""check_seeds on 1 and 2 local worker processes and on a 2-worker Dask cluster, and its workers' memory (issue #14).

    python benchmarks/seeds.py                  # full run: 12 seeds x 3 engines, then 30 seeds for memory
    python benchmarks/seeds.py --smoke          # a tiny recipe, 2 seeds in every run: checks the script runs (~50 s)
    python benchmarks/seeds.py --repeats 2 --recipe fixed-window:epochs=5 --memory-seeds 40

Every run is ``seqcheck.training.seeds.check_seeds(recipe, pattern=pattern, seeds=N, cache_dir=<a fresh, empty
temporary folder>, ...)``: models and results are cached in ``cache_dir``, so a run with a used folder would measure
the cache (the script exits non-zero if any row says it came from the cache, or if any seed ended in error).
Defaults: ``--recipe fixed-window`` (the seed's recipe: LSTM(4) trained on windows of length 10 of the stream, 10
epochs), ``--pattern 11000``, ``--seeds 12``.  Before anything is timed the client imports Keras
(``seqcheck.training.cache.library_versions()``, which ``check_seeds`` calls on the client for the cache key):
otherwise the first run in the process would pay it (a few seconds) and the others not.

1. **Two local workers against one** (``two_workers_speedup``): the wall time of ``check_seeds(..., workers=1)``
   over that of ``workers=2`` (spawned processes, each runs one seed and is replaced, so every seed pays its own
   TensorFlow import).  Target: at least 1.7.
2. **Dask against the local pool** (``dask_vs_local``): the same seeds with ``scheduler=cluster.scheduler_address``
   on a ``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)``,
   over the two-worker local pool's wall time.  The cluster is started (and its two workers waited for) before the
   timing; its start-up time is printed apart, not in the ratio.  A fresh cluster for every Dask run (closed right
   after it), so that every run starts from workers that have not imported TensorFlow yet, as the local pool's do;
   the Dask run's time includes ``check_seeds`` connecting its client.  Target: at most 1.15.

   The three runs (local-1, local-2, Dask) are made one after the other in each of ``--repeats`` rounds (default 1),
   the order rotated by one every round; each run's time is printed, with the seeds' own seconds (mean, and their
   sum over the wall time and the workers: how busy the workers were).  The ratios are those of the best times.
   Without ``distributed`` installed the Dask runs are skipped (a printed note) and the Dask ratios print ``absent``.
3. **Memory of a long run** (``memory_last_vs_first``): ``check_seeds(--memory-recipe, seeds=--memory-seeds,
   workers=2)`` (default ``fixed-window:epochs=2``, 30 seeds: fewer epochs than the timed runs, to keep the run
   short; memory is about the process, not the length of its training); each row's ``peak_rss_mib`` (the peak
   resident memory of the process that ran the seed, when it ended) is printed for every seed, then the ratio of
   the mean of the last 3 seeds' peaks to the mean of the first 3 (fewer when there are fewer than 6 seeds).  The
   same ratio over the rows of each Dask run of part 2 (``dask_memory_last_vs_first``; each Dask task runs its seed
   in a fresh process its long-lived worker starts, so a peak is that process's own; with several rounds
   the largest ratio).  Flat memory: a ratio close to 1.

   On Linux ``peak_rss_mib`` is the process's own high-water mark (``VmHWM``; ``ru_maxrss`` of a spawned process
   would start at its parent's peak); the client's peak is printed beside the workers' for reference.

On a shared machine only the ratios mean something, and only those measured side by side.  The last line is
``two_workers_speedup=<x.xx> dask_vs_local=<x.xx> memory_last_vs_first=<x.xx> dask_memory_last_vs_first=<x.xx>``
(two decimals; the Dask ratios ``absent`` without ``distributed``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import seqcheck  # noqa: E402
from seqcheck.errors import InvalidArgument  # noqa: E402
from seqcheck.tasks.patterns import Pattern  # noqa: E402
from seqcheck.training.seeds import ERROR, check_seeds, peak_rss_mib, resolve_recipe  # noqa: E402

#: The summary line's ratios, in its order.
RATIOS = ("two_workers_speedup", "dask_vs_local", "memory_last_vs_first", "dask_memory_last_vs_first")
#: Issue #14's targets.
SPEEDUP_TARGET, DASK_TARGET = 1.7, 1.15
#: Seeds at each end of a run whose peaks are compared (fewer when a run has fewer than twice as many).
ENDS = 3
#: The Dask cluster's and the second local run's workers.
WORKERS = 2

FULL = {"recipe": "fixed-window", "seeds": 12, "memory_recipe": "fixed-window:epochs=2", "memory_seeds": 30}
SMOKE = {"recipe": "fixed-window:epochs=1,stream_length=500", "seeds": 2,
         "memory_recipe": "fixed-window:epochs=1,stream_length=500", "memory_seeds": 2}


def log(text: str = "") -> None:
    print(text, flush=True)


def timed_run(recipe: str, pattern: str, seeds: int, **engine) -> tuple[float, object]:
    """(wall seconds, report) of one ``check_seeds`` run with a fresh, empty cache folder (its removal not timed)."""
    with tempfile.TemporaryDirectory(prefix="seqcheck-seeds-bench-") as cache:
        started = time.perf_counter()
        report = check_seeds(recipe, pattern=pattern, seeds=seeds, cache_dir=cache, **engine)
        wall = time.perf_counter() - started
    bad = [row for row in report.rows if row.outcome == ERROR or row.cached or row.peak_rss_mib is None
           or row.seconds is None]
    if len(report.rows) != seeds or bad:
        for row in bad:
            log(f"    {row.line()}  (seconds {row.seconds}, peak {row.peak_rss_mib} MiB)")
        raise SystemExit(f"{len(report.rows)} rows for {seeds} seeds, {len(bad)} of them in error, from the cache or"
                         f" without their seconds and peak: the run did not measure {seeds} fresh seeds")
    return wall, report


def describe(name: str, wall: float, report, workers: int) -> str:
    seconds = [row.seconds for row in report.rows]
    busy = sum(seconds) / (wall * workers)
    outcomes = f"{report.holds} pass, {report.failures} fail"
    return (f"    {name:8} {wall:7.1f} s   seeds' own seconds: mean {sum(seconds) / len(seconds):5.1f},"
            f" min {min(seconds):5.1f}, max {max(seconds):5.1f}; workers busy {busy:4.0%}   ({outcomes})")


def memory_ratio(name: str, report) -> float:
    """Mean peak of the last seeds over the first seeds' (rows in seed order), with every seed's peak printed."""
    peaks = [row.peak_rss_mib for row in report.rows]
    ends = max(1, min(ENDS, len(peaks) // 2))
    first, last = peaks[:ends], peaks[-ends:]
    ratio = (sum(last) / ends) / (sum(first) / ends)
    last_seed = report.first_seed + len(peaks) - 1
    log(f"  {name}: peak RSS of each seed's process (MiB), seeds {report.first_seed}..{last_seed}:")
    for start in range(0, len(peaks), 10):
        log("    " + " ".join(f"{peak:6.0f}" for peak in peaks[start:start + 10]))
    log(f"    first {ends}: {', '.join(f'{p:.0f}' for p in first)}; last {ends}: {', '.join(f'{p:.0f}' for p in last)};"
        f" min {min(peaks):.0f}, max {max(peaks):.0f}; last/first {ratio:.2f}")
    return ratio


def start_cluster(distributed):
    """A two-worker LocalCluster, its workers up: (cluster, seconds it took)."""
    started = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(WORKERS)
    return cluster, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help=f"tiny settings: {SMOKE['recipe']}, {SMOKE['seeds']} seeds,"
                             f" {SMOKE['memory_seeds']} for memory")
    parser.add_argument("--recipe", help=f"the timed runs' recipe (default {FULL['recipe']})")
    parser.add_argument("--pattern", default="11000", help="the pattern every model is trained on (default 11000)")
    parser.add_argument("--seeds", type=int, help=f"seeds of each timed run (default {FULL['seeds']})")
    parser.add_argument("--memory-recipe", help=f"the memory run's recipe (default {FULL['memory_recipe']})")
    parser.add_argument("--memory-seeds", type=int, help=f"seeds of the memory run (default {FULL['memory_seeds']})")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of the three timed runs, best kept (default 1)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure here")
    args = parser.parse_args(argv)
    cfg = SMOKE if args.smoke else FULL
    try:  # a bad spec is one line now, before any run
        recipe = resolve_recipe(args.recipe or cfg["recipe"]).label
        memory_recipe = resolve_recipe(args.memory_recipe or cfg["memory_recipe"]).label
        Pattern.parse(args.pattern)
    except InvalidArgument as exc:
        parser.error(str(exc))
    seeds, memory_seeds = args.seeds or cfg["seeds"], args.memory_seeds or cfg["memory_seeds"]
    if min(seeds, memory_seeds, args.repeats) < 1:
        parser.error("--seeds, --memory-seeds and --repeats must be at least 1")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    try:
        import distributed
    except ImportError:
        distributed = None

    log(f"seqcheck {getattr(seqcheck, '__version__', '')}  python {sys.version.split()[0]}  cpus {os.cpu_count()}"
        f"  distributed {distributed.__version__ if distributed else 'absent'}  {time.strftime('%Y-%m-%d')}"
        + ("  (--smoke: tiny settings)" if args.smoke else ""))
    from seqcheck.training.cache import library_versions

    started = time.perf_counter()
    versions = library_versions()  # imports Keras on the client, as the first check_seeds would
    log(f"client: {', '.join(f'{k} {v}' for k, v in versions.items())}; Keras imported on the client in"
        f" {time.perf_counter() - started:.1f} s (untimed); client's peak RSS {peak_rss_mib():.0f} MiB")
    figures: dict = {"smoke": args.smoke, "pattern": args.pattern, "recipe": recipe, "seeds": seeds,
                     "memory_recipe": memory_recipe, "memory_seeds": memory_seeds, "repeats": args.repeats,
                     "versions": versions, "rounds": []}

    # -- 1 and 2: local-1, local-2, Dask, interleaved -----------------------------------------------
    log(f"\n1-2. {seeds} seeds of {recipe} on {args.pattern}, a fresh cache each run; {args.repeats} round"
        f"{'' if args.repeats == 1 else 's'}, the order rotated every round:")
    if distributed is None:
        log("  distributed is not installed: the Dask runs are skipped (pip install 'seqcheck[dask]')")
    names = ["local-1", "local-2"] + (["dask"] if distributed is not None else [])
    best: dict[str, float] = {}
    dask_memory: list[float] = []
    for round_ in range(args.repeats):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        log(f"  round {round_ + 1}: {', '.join(order)}")
        times: dict[str, float] = {}
        for name in order:
            if name == "dask":
                cluster, startup = start_cluster(distributed)
                log(f"    (LocalCluster of {WORKERS} workers started in {startup:.1f} s, untimed)")
                try:
                    wall, report = timed_run(recipe, args.pattern, seeds, scheduler=cluster.scheduler_address)
                finally:
                    cluster.close()
                log(describe(name, wall, report, WORKERS))
                dask_memory.append(memory_ratio(f"Dask run, round {round_ + 1}", report))
                times["dask_startup"] = startup
            else:
                workers = int(name.split("-")[1])
                wall, report = timed_run(recipe, args.pattern, seeds, workers=workers)
                log(describe(name, wall, report, workers))
            times[name] = wall
            best[name] = min(best.get(name, float("inf")), wall)
        line = f"    this round: local-1/local-2 {times['local-1'] / times['local-2']:.2f}"
        if "dask" in times:
            line += f", dask/local-2 {times['dask'] / times['local-2']:.2f}"
        log(line)
        figures["rounds"].append(times)
    speedup = best["local-1"] / best["local-2"]
    dask_vs_local = best["dask"] / best["local-2"] if "dask" in best else None
    log(f"  best of {args.repeats}: " + ", ".join(f"{name} {best[name]:.1f} s" for name in names))
    log(f"  two_workers_speedup = local-1 / local-2 = {speedup:.3f} (target at least {SPEEDUP_TARGET}:"
        f" {'met' if speedup >= SPEEDUP_TARGET else 'missed'})")
    if dask_vs_local is not None:
        log(f"  dask_vs_local = dask / local-2 = {dask_vs_local:.3f} (target at most {DASK_TARGET}:"
            f" {'met' if dask_vs_local <= DASK_TARGET else 'missed'})")

    # -- 3: memory of a long local run --------------------------------------------------------------
    log(f"\n3. memory: {memory_seeds} seeds of {memory_recipe} on {args.pattern}, {WORKERS} local workers (one process"
        f" a seed); the client's peak RSS before the run {peak_rss_mib():.0f} MiB")
    wall, report = timed_run(memory_recipe, args.pattern, memory_seeds, workers=WORKERS)
    log(describe(f"local-{WORKERS}", wall, report, WORKERS))
    memory = memory_ratio("long local run", report)
    dask_memory_ratio = max(dask_memory) if dask_memory else None
    if dask_memory_ratio is not None:
        log(f"  Dask runs (part 2, {seeds} seeds of {recipe}): last/first {', '.join(f'{r:.2f}' for r in dask_memory)}"
            + (f"; the largest kept, {dask_memory_ratio:.2f}" if len(dask_memory) > 1 else ""))
    log(f"  client's peak RSS at the end: {peak_rss_mib():.0f} MiB")

    figures.update({"best_seconds": best, "two_workers_speedup": speedup, "dask_vs_local": dask_vs_local,
                    "memory_last_vs_first": memory, "memory_peaks_mib": [row.peak_rss_mib for row in report.rows],
                    "dask_memory_last_vs_first": dask_memory_ratio})
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    values = (speedup, dask_vs_local, memory, dask_memory_ratio)
    log()
    log(" ".join(f"{name}={'absent' if value is None else f'{value:.2f}'}" for name, value in zip(RATIOS, values)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
