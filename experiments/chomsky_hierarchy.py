"""Reproduce the regular-task rows of Table 2 of Delétang et al., "Neural Networks and the Chomsky Hierarchy"
(ICLR 2023), on a CPU budget.

For each regular task (parity, even pairs, modular arithmetic, cycle navigation), each architecture (LSTM,
Transformer) and each seed, train with seqcheck's task recipes (:mod:`seqcheck.training.task_recipes`: each
step one length drawn uniformly from 1..N, N = 40), check the model with seqcheck on lengths 1..500
(``seqcheck.check``, the ``length_generalization`` invariant) and score it as the paper does: the mean, over
the test lengths 41..500 (the task's valid ones), of the accuracy at each length -- here seqcheck's
accuracy by length, on 128 random inputs per length.  Every seed's score is printed, then the best,
beside the paper's best of 30 runs; a model that fails gets seqcheck's counterexample beside its score.

The paper trains 1,000,000 steps of batch 128 per run; this script trains ``--steps`` steps (the budget is
printed), so a low score here may be under-training, not the architecture: compare the training accuracy
printed beside it.

Run from the repository root::

    python experiments/chomsky_hierarchy.py               # 4 tasks x 2 architectures x 3 seeds
    python experiments/chomsky_hierarchy.py --dry-run     # a few seconds: tiny settings, short test lengths

Trained models are kept in seqcheck's model cache (``$SEQCHECK_CACHE_DIR``, default ``~/.cache/seqcheck``):
a second run with the same settings only scores them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from seqcheck.reports.report import counterexample_heading  # noqa: E402
from seqcheck.tasks import BUILTIN_TASKS, SequenceTask  # noqa: E402
from seqcheck.training import task_recipes  # noqa: E402

REGULAR_TASKS = ("parity", "even-pairs", "modular-arithmetic", "cycle-navigation")
ARCHITECTURES = ("lstm", "transformer")

#: Table 2 of Delétang et al. (ICLR 2023), regular tasks: the best score of 30 runs (mean accuracy, in %,
#: over test lengths 41..500), read from the paper.  Verify the Transformer's Even Pairs and Cycle Navigation
#: cells against the paper before quoting them.
PAPER_TABLE_2 = {
    "lstm": {"parity": 100.0, "even-pairs": 100.0, "modular-arithmetic": 100.0, "cycle-navigation": 100.0},
    "transformer": {"parity": 52.0, "even-pairs": 96.4, "modular-arithmetic": 24.2, "cycle-navigation": 61.9},
}


def check(path: Path, task: SequenceTask, *, train_length: int, max_length: int):
    """seqcheck's length-generalization check of the model at ``path`` on lengths 1..``max_length``."""
    import seqcheck

    return seqcheck.check(str(path), task=task, train_length=train_length, max_length=max_length, seed=0,
                          invariants=["length_generalization"])["length_generalization"]


def score(accuracy: dict[int, float], lengths: range) -> float:
    """The paper's score: the mean over the valid ``lengths`` of the accuracy at each length, in %."""
    return 100 * float(np.mean([accuracy[n] for n in lengths if n in accuracy]))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(REGULAR_TASKS), choices=REGULAR_TASKS)
    parser.add_argument("--architectures", nargs="+", default=list(ARCHITECTURES), choices=ARCHITECTURES)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..SEEDS-1 per task and architecture (default 3)")
    parser.add_argument("--steps", type=int, default=3000, help="training steps per model (default 3000; the paper: 1,000,000)")
    parser.add_argument("--batch-size", type=int, default=64, help="inputs per training step (default 64; the paper: 128)")
    parser.add_argument("--train-length", type=int, default=40, help="train on lengths 1..N (default 40, as the paper)")
    parser.add_argument("--max-length", type=int, default=500, help="test on lengths N+1..MAX (default 500, as the paper)")
    parser.add_argument("--cache-dir", default=None, help="model cache folder (default $SEQCHECK_CACHE_DIR or ~/.cache/seqcheck)")
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny settings (1 seed, 30 steps of 16, N=8, test lengths 9..24): checks the script runs")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.seeds, args.steps, args.batch_size, args.train_length, args.max_length = 1, 30, 16, 8, 24
    for name in ("seeds", "steps", "batch_size", "train_length"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}={getattr(args, name)}: expected a positive integer")
    if args.max_length <= args.train_length:
        parser.error(f"--max-length={args.max_length}: expected more than --train-length={args.train_length}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n, test_lengths = args.train_length, range(args.train_length + 1, args.max_length + 1)
    runs = len(args.tasks) * len(args.architectures) * args.seeds
    print(f"Budget: {runs} models x {args.steps} steps x {args.batch_size} inputs (lengths 1..{n}), each checked by seqcheck"
          f" on lengths 1..{args.max_length} and scored on {test_lengths.start}..{test_lengths.stop - 1}"
          f"{'  [dry run]' if args.dry_run else ''}", flush=True)
    started = time.perf_counter()
    results: dict[tuple[str, str], list[float]] = {}
    for task_name in args.tasks:
        task = BUILTIN_TASKS[task_name]
        for architecture in args.architectures:
            settings = {"steps": args.steps, "batch_size": args.batch_size}
            scores = results.setdefault((task_name, architecture), [])
            for seed in range(args.seeds):
                clock = time.perf_counter()
                path = task_recipes.cached_task_model_path(task, architecture, max_train_length=n, seed=seed,
                                                           settings=settings, cache_dir=args.cache_dir)
                trained = time.perf_counter() - clock
                clock = time.perf_counter()
                result = check(path, task, train_length=n, max_length=args.max_length)
                checked = time.perf_counter() - clock
                test, train = score(result.accuracy_by_length, test_lengths), score(result.accuracy_by_length, range(1, n + 1))
                scores.append(test)
                print(f"{task_name:18} {architecture:11} seed {seed}: score {test:5.1f}  (train lengths 1..{n}: {train:5.1f})"
                      f"  trained {trained:6.1f}s  checked {checked:5.1f}s", flush=True)
                if result.counterexample is not None:
                    print(f"    {counterexample_heading(result)}", flush=True)
                    for line in result.counterexample.lines():
                        print(f"    {line}", flush=True)
    print(f"\nTime used: {time.perf_counter() - started:.0f}s (trainings from the cache take ~0s)\n")
    print("Score: mean accuracy (%) over test lengths; 'paper' is the best of 30 runs in Table 2 of Delétang et al. (ICLR 2023)")
    print(f"{'task':18} {'architecture':12} {'seeds':28} {'best':>6} {'paper':>6}")
    for (task_name, architecture), scores in results.items():
        seeds = " ".join(f"{s:5.1f}" for s in scores)
        print(f"{task_name:18} {architecture:12} {seeds:28} {max(scores):6.1f} {PAPER_TABLE_2[architecture][task_name]:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
