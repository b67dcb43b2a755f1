"""The seed question's claims about its training procedure, measured across seeds.

The question that started seqcheck trains an ``LSTM(4) -> Dense(1)`` on windows of length 10 of the stream
``1 1 0 0 0 1 1 0 0 0 ...`` and says of it:

    "adding dropout=0.15 to the LSTM sometimes fixes the problem, depending on the run ... Sometimes it
    generalizes even without dropout, but most of the time it doesn't."

Those are claims about a *procedure* across seeds.  This script makes them numbers: it trains 30 seeds (0..29)
of each of

- ``fixed-window``: the question's recipe (windows of length N = 10 only);
- ``fixed-window:dropout=0.15``: the same with dropout 0.15 on the LSTM's inputs;
- ``varied-window``: the fix seqcheck's reference model uses (varied lengths and offsets);

checks every model with ``seqcheck.check`` (pattern 11000, N = 10, lengths up to 40: every invariant), and
prints :func:`seqcheck.training.comparison.compare_recipes`'s table: per recipe the seeds whose model holds
every invariant, the rate with its 95% Wilson interval, Fisher's exact test of each variant against
``fixed-window``, and one sentence per variant that claims a difference only where the test finds one.

Then the same question for a sequence task: parity, an LSTM(16) (``task-lstm``) trained on lengths 1..40 (one
length drawn uniformly per step, the protocol of Delétang et al., ICLR 2023) against the same LSTM trained on
the fixed length 40 only (``task-lstm:fixed_length=true``), both checked on lengths 1..80.

Every model and every seed's result go through seqcheck's model cache, so a second run prints the same tables
in seconds (``--fresh`` checks every seed again).  Run from the repository root::

    python experiments/seed_question.py                 # both parts, 30 seeds, one worker process per core
    python experiments/seed_question.py --part stream --seeds 10 --json seed-question.json
    python experiments/seed_question.py --scheduler tcp://host:8786   # the same work on a Dask cluster
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from seqcheck.training.comparison import compare_recipes

#: The stream part: the question's recipe first (the one the others are compared with), then its variants.
STREAM = {"recipes": ["fixed-window", "fixed-window:dropout=0.15", "varied-window"], "pattern": "11000",
          "train_length": 10, "max_length": None}
#: The task part: the fixed training length first, then lengths 1..N.
TASK = {"recipes": ["task-lstm:fixed_length=true", "task-lstm"], "task": "parity", "train_length": 40, "max_length": 80}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("stream", "task", "both"), default="both", help="which comparison (default both)")
    parser.add_argument("--seeds", type=int, default=30, help="seeds 0..SEEDS-1 for every recipe (default 30)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default one per core)")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler's address, to run the seeds on a cluster")
    parser.add_argument("--cache-dir", default=None, help="model cache folder (default $SEQCHECK_CACHE_DIR or ~/.cache/seqcheck)")
    parser.add_argument("--fresh", action="store_true", help="check every seed again (trained models still from the cache)")
    parser.add_argument("--json", default=None, help="also write both comparisons' reports here")
    parser.add_argument("--plot-prefix", default=None, help="write PREFIX-stream.png and PREFIX-task.png (pass or fail by seed x length)")
    return parser.parse_args(argv)


def progress(done: int, running: int, failed: int, total: int) -> None:
    print(f"  seeds: {done}/{total} done, {running} running, {failed} failed", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = {"stream": STREAM, "task": TASK}
    chosen = list(parts) if args.part == "both" else [args.part]
    results = {}
    for name in chosen:
        part = dict(parts[name])
        recipes = part.pop("recipes")
        started = time.perf_counter()
        comparison = compare_recipes(
            recipes, seeds=args.seeds, workers=args.workers, scheduler=args.scheduler, cache_dir=args.cache_dir,
            fresh=args.fresh, progress=progress, **{key: value for key, value in part.items() if value is not None},
        )
        seconds = time.perf_counter() - started
        print(f"\n== {name}: {', '.join(recipes)} ({args.seeds} seeds each; {seconds:.0f} s) ==")
        print(comparison.render())
        for report in comparison.reports:
            spent = [row.seconds for row in report.rows if row.seconds is not None and not row.cached]
            if spent:
                print(f"{report.recipe}: {sum(spent) / len(spent):.1f} s per seed in its worker (training and check)")
        results[name] = comparison.to_dict()
        if args.plot_prefix:
            from seqcheck.reports.seeds_plot import plot_seeds

            print(f"plot: {plot_seeds(comparison, f'{args.plot_prefix}-{name}.png')}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
