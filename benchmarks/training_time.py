"""Time each training recipe, without the cache, and print its accuracy by length.

    PYTHONPATH=. .venv/bin/python benchmarks/training_time.py [--pattern 11000] [--train-length 10]
        [--seed 0] [--min-length 3] [--max-length 40] [--budget 30] [--recipe NAME ...]

For each recipe: the seconds its training took (model building, tracing and fitting; not the
Keras import, which is done and timed once first), then accuracy over all phases at each length,
one batched call per length. The last line is a summary: every recipe's time against the budget.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from seqcheck.training import recipes  # noqa: E402
from seqcheck.tasks.patterns import Pattern  # noqa: E402


def accuracy_by_length(model, pattern: Pattern, lengths) -> dict[int, float]:
    out = {}
    for length in lengths:
        x = recipes.encode(pattern.windows(length), pattern.alphabet_size)
        probs = np.asarray(model(x, training=False))
        predicted = (probs.reshape(-1) > 0.5).astype(int) if probs.shape[-1] == 1 else probs.argmax(axis=-1)
        out[length] = float(np.mean(predicted == pattern.targets(length)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pattern", default="11000")
    parser.add_argument("--train-length", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-length", type=int, default=None, help="default: the pattern's min context")
    parser.add_argument("--max-length", type=int, default=40)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds each recipe should train within")
    parser.add_argument("--recipe", action="append", choices=sorted(recipes.RECIPES), help="default: all")
    parser.add_argument("--verbose", type=int, default=0, choices=(0, 1, 2))
    args = parser.parse_args(argv)

    pattern = Pattern.parse(args.pattern)
    lo = args.min_length if args.min_length is not None else pattern.min_context
    lengths = range(lo, args.max_length + 1)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    started = time.perf_counter()
    import keras  # noqa: F401 - timed apart from the trainings
    import_seconds = time.perf_counter() - started
    print(f"pattern {pattern.text} (period {pattern.period}, min context {pattern.min_context})  "
          f"N={args.train_length}  seed {args.seed}  keras {keras.__version__}  cpus {os.cpu_count()}  "
          f"(import keras: {import_seconds:.1f}s)", flush=True)

    summary = []
    for name in args.recipe or sorted(recipes.RECIPES):
        started = time.perf_counter()
        model = recipes.train(name, pattern, train_length=args.train_length, seed=args.seed, verbose=args.verbose)
        seconds = time.perf_counter() - started
        acc = accuracy_by_length(model, pattern, lengths)
        correct = [length for length, a in acc.items() if a == 1.0]
        wrong = [length for length, a in acc.items() if a < 1.0]
        print(f"{name}: trained in {seconds:.1f}s  settings {dict(recipes.RECIPES[name].settings)}", flush=True)
        print("  acc by length: " + " ".join(f"{length}:{a:.1f}" for length, a in acc.items()), flush=True)
        print(f"  correct at {len(correct)}/{len(acc)} lengths; wrong at {wrong if wrong else 'none'}", flush=True)
        summary.append(f"{name} {seconds:.1f}s {'ok' if seconds <= args.budget else 'OVER'}"
                       f" ({len(correct)}/{len(acc)} lengths correct)")
    over = [s for s in summary if " OVER " in s]
    print(f"summary: budget {args.budget:.0f}s each: " + "; ".join(summary)
          + ("  -> all within budget" if not over else f"  -> {len(over)} over budget"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
