"""The ``seqcheck`` command: a CI gate for sequence models.

Exit codes: 0 every invariant holds; 1 an invariant is violated; 2 bad input or a model that
cannot be loaded (one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from seqcheck.errors import SeqcheckError, invalid

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _whole_number(name: str, minimum: int):
    """An argparse type: a whole number of at least ``minimum``, else a message naming ``name=value``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}={text!r}: expected a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name}={value}: expected at least {minimum}")
        return value

    return parse


def _positive(name: str):
    return _whole_number(name, 1)


def _non_negative(name: str):
    return _whole_number(name, 0)


def _writable(path: str, option: str) -> Path:
    """Fail before any work if the report could not be written where the user asked."""
    target = Path(path)
    if target.is_dir():
        raise invalid(option, path, "a file path", "name a file, not a folder")
    if not target.parent.exists():
        raise invalid(option, path, "a path in an existing folder", f"create {target.parent} first")
    return target


def _refuse_overwriting(model: str, outputs: dict[str, Path]) -> None:
    """Reports never overwrite the model under test, nor each other."""
    seen: dict[str, str] = {os.path.realpath(model): "MODEL"}
    for option, path in outputs.items():
        real = os.path.realpath(path)
        if real in seen:
            raise invalid(option, str(path), f"a path other than {seen[real]}'s", "write the report to another file")
        seen[real] = option


def replace_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Have ``write(tmp)`` fill a temporary file beside ``path``, then move it into place.

    A reader never sees half a file, and an interrupted write leaves nothing behind. The temporary
    file keeps ``path``'s suffix, for writers that choose the format by it (Keras, matplotlib).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees half a file."""
    replace_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seqcheck", description="Property-based behaviour tests for trained sequence models.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser("check", help="check a model's invariants on a pattern")
    check.add_argument("model", metavar="MODEL", help="path to a .keras file")
    check.add_argument("--pattern", required=True, help="the repeating pattern, e.g. 11000 or 0,1,2,2")
    check.add_argument("--train-length", type=_positive("--train-length"), help="window length the model was trained on")
    check.add_argument("--min-length", type=_positive("--min-length"), help="shortest window checked (default: the min context)")
    check.add_argument("--max-length", type=_positive("--max-length"), help="longest window checked (default max(4N, 40))")
    check.add_argument("--seed", type=_non_negative("--seed"), default=0, help="Hypothesis seed (default 0)")
    check.add_argument("--json", metavar="PATH", help="write the machine-readable report here")
    check.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report: one test case per invariant")
    check.add_argument("--markdown", metavar="PATH", help="write a Markdown summary (for a CI job summary)")
    check.add_argument("--plot", metavar="PATH", help="write the accuracy heatmap (length x phase) as a PNG; needs matplotlib")
    check.add_argument("--alphabet-size", type=_positive("--alphabet-size"), help="symbols the model predicts (default: from the pattern)")
    check.add_argument("--encoding", choices=("scalar", "onehot", "tokens"), help="override the detected input layout")
    check.add_argument("--max-examples", type=_positive("--max-examples"), help="Hypothesis examples per form (default: the profile's)")
    check.add_argument("--profile", choices=("dev", "ci", "thorough"), default="ci", help="Hypothesis settings profile (default ci)")
    check.add_argument(
        "--engine", choices=("auto", "numpy", "keras"), default="auto",
        help="how the model is evaluated: auto (NumPy translation when possible, verified against the model), numpy, keras",
    )
    check.add_argument(
        "--unsafe-load", action="store_true",
        help="allow a model file that carries code (Lambda layers) to run it: only for files you trust",
    )
    check.set_defaults(run=_run_check)

    demo = commands.add_parser("demo", help="the seed's model against its fix, on the built-in reference models")
    demo.add_argument("--seed", type=_non_negative("--seed"), default=0, help="Hypothesis seed (default 0)")
    demo.add_argument("--max-length", type=_positive("--max-length"), help="longest window checked (default 4N)")
    demo.add_argument("--cache-dir", metavar="DIR", help="model cache (default $SEQCHECK_CACHE_DIR or ~/.cache/seqcheck)")
    demo.set_defaults(run=_run_demo)

    train = commands.add_parser("train", help="train a recipe on a pattern and save the .keras file")
    train.add_argument("recipe", metavar="RECIPE", help="fixed-window or varied-window")
    train.add_argument("--pattern", required=True, help="the repeating pattern, e.g. 11000")
    train.add_argument("--train-length", type=_positive("--train-length"), default=10, help="window length N (default 10)")
    train.add_argument("--seed", type=_non_negative("--seed"), default=0, help="training seed (default 0)")
    train.add_argument("--output", "-o", required=True, metavar="PATH", help="where to save the model (.keras)")
    train.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    train.set_defaults(run=_run_train)

    recipe = commands.add_parser("check-recipe", help="find the smallest pattern on which a recipe's models break")
    recipe.add_argument("recipe", metavar="RECIPE", help="fixed-window or varied-window")
    recipe.add_argument("--train-length", type=_positive("--train-length"), default=10, help="window length N (default 10)")
    recipe.add_argument("--alphabet-size", type=_positive("--alphabet-size"), default=2, help="symbols (default 2)")
    recipe.add_argument("--min-period", type=_positive("--min-period"), default=2, help="shortest period drawn (default 2)")
    recipe.add_argument("--max-period", type=_positive("--max-period"), default=6, help="longest period drawn (default 6)")
    recipe.add_argument("--max-length", type=_positive("--max-length"), help="longest window checked (default max(4N, 40))")
    recipe.add_argument("--max-examples", type=_positive("--max-examples"), default=8, help="patterns Hypothesis may draw (default 8)")
    recipe.add_argument("--seed", type=_non_negative("--seed"), default=0, help="seed of training and search (default 0)")
    recipe.add_argument("--json", metavar="PATH", help="write the machine-readable report here")
    recipe.add_argument("--cache-dir", metavar="DIR", help="model cache (default $SEQCHECK_CACHE_DIR or ~/.cache/seqcheck)")
    recipe.set_defaults(run=_run_check_recipe)
    return parser


def _version() -> str:
    from seqcheck import __version__

    return __version__


def _run_check(args: argparse.Namespace) -> int:
    from seqcheck.checking import check

    outputs = {
        option: _writable(path, option)
        for option, path in (("--json", args.json), ("--junit-xml", args.junit_xml), ("--markdown", args.markdown), ("--plot", args.plot))
        if path
    }
    _refuse_overwriting(args.model, outputs)
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise invalid("--plot", args.plot, "matplotlib installed", "pip install 'seqcheck[plot]'")
    report = check(
        args.model,
        pattern=args.pattern,
        train_length=args.train_length,
        max_length=args.max_length,
        min_length=args.min_length,
        seed=args.seed,
        alphabet_size=args.alphabet_size,
        encoding=args.encoding,
        max_examples=args.max_examples,
        profile=args.profile,
        allow_unsafe=args.unsafe_load,
        engine=args.engine,
    )
    print(report.render())
    _write_outputs(report, outputs)
    return EXIT_OK if report.passed else EXIT_VIOLATION


def _write_outputs(report, outputs: dict[str, Path]) -> None:
    from seqcheck.report_formats import to_junit_xml, to_markdown

    writers = {"--json": lambda: report.to_json() + "\n", "--junit-xml": lambda: to_junit_xml(report), "--markdown": lambda: to_markdown(report)}
    for option, path in outputs.items():
        if option in writers:
            write_atomically(path, writers[option]())
    if "--plot" in outputs:
        from seqcheck.heatmap import plot_heatmap

        correct = report["length generalization"].correct_by_length
        if not correct:
            raise invalid("--plot", str(outputs["--plot"]), "lengths within the sweep budget (accuracy by length and phase)",
                          "lower --max-length to draw the heatmap")
        title = f"{Path(report.model).name}, pattern {report.space.pattern}: right (green) / wrong (red)"
        replace_atomically(outputs["--plot"], lambda tmp: plot_heatmap(correct, tmp, title=title))


def _progress() -> int:
    """Keras's verbosity for training: a live bar on a terminal, one line per epoch in a log."""
    return 1 if sys.stdout.isatty() else 2


def _run_demo(args: argparse.Namespace) -> int:
    from seqcheck.demo import render_demo, run_demo

    outcome = run_demo(seed=args.seed, max_length=args.max_length, cache_dir=args.cache_dir, verbose=_progress())
    print(render_demo(outcome))
    return EXIT_OK if outcome.succeeded else EXIT_VIOLATION


def _run_train(args: argparse.Namespace) -> int:
    from seqcheck.patterns import Pattern
    from seqcheck.recipes import get_recipe, train

    output = _writable(args.output, "--output")
    if output.suffix != ".keras":
        raise invalid("--output", args.output, "a path ending in .keras", "Keras saves models in the .keras format")
    if output.exists() and not args.force:
        raise invalid("--output", args.output, "a path that does not exist yet", "choose another path or pass --force to overwrite it")
    recipe, pattern = get_recipe(args.recipe), Pattern.parse(args.pattern)
    model = train(recipe.name, pattern, train_length=args.train_length, seed=args.seed, verbose=_progress())
    replace_atomically(output, model.save)
    print(f"saved {recipe.name} model for pattern {pattern} (N={args.train_length}, seed {args.seed}) to {output}")
    return EXIT_OK


def _run_check_recipe(args: argparse.Namespace) -> int:
    from seqcheck.recipe_check import check_recipe

    json_path = _writable(args.json, "--json") if args.json else None
    result = check_recipe(
        args.recipe,
        alphabet_size=args.alphabet_size,
        min_period=args.min_period,
        max_period=args.max_period,
        train_length=args.train_length,
        max_length=args.max_length,
        seed=args.seed,
        max_examples=args.max_examples,
        cache_dir=args.cache_dir,
        verbose=_progress(),
    )
    print(result.render())
    if json_path is not None:
        write_atomically(json_path, json.dumps(result.to_dict(), indent=2) + "\n")
    return EXIT_OK if result.passed else EXIT_VIOLATION


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except SeqcheckError as exc:
        print(f"seqcheck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("seqcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
