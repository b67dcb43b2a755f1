"""The ``seqcheck`` command: a CI gate for sequence models.

Exit codes: 0 every invariant holds; 1 an invariant is violated (against a baseline, ``--baseline`` or
``seqcheck diff``: a regression), and nothing else; 2 bad input, a
model that cannot be loaded or a file that cannot be read or written (one line on stderr, no
traceback); 3 an internal error, a bug (one line; set SEQCHECK_TRACEBACK=1 to see the traceback);
4 the gate of ``check-recipe --seeds N --max-failure-rate X`` is undecided (more seeds needed); 130 interrupted.

Every output path is checked before the check runs.  ``-`` writes a report to standard output; the
text report then goes to stderr, so standard output holds the machine-readable report alone.
"""

from __future__ import annotations

import signal
import sys

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: ``check-recipe --seeds N --max-failure-rate X`` whose interval straddles X: more seeds are needed to decide.
EXIT_UNDECIDED = 4
TRACEBACK_ENV = "SEQCHECK_TRACEBACK"


def _interrupted_while_loading(signum: int, frame: object) -> None:
    sys.stderr.write("seqcheck: interrupted\n")
    raise SystemExit(EXIT_INTERRUPTED)


# Ctrl-C raises KeyboardInterrupt, which main() turns into one line and exit 130; while this module and
# its imports load, nothing would catch it, so until then Ctrl-C exits at once (unless it is ignored).
_SIGINT_HANDLER = signal.getsignal(signal.SIGINT)
if _SIGINT_HANDLER is signal.default_int_handler:
    try:
        signal.signal(signal.SIGINT, _interrupted_while_loading)
    except ValueError:  # imported outside the main thread: not the command
        pass

import argparse  # this import and those below come after the handler above
import contextlib
import json
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

from seqcheck.errors import SeqcheckError, first_line, invalid, printable
from seqcheck.spelling import INTERFACE
from seqcheck.files import check_writable, identity, is_stdout, replace_atomically, write_atomically
from seqcheck.reports.heatmap import require_matplotlib
from seqcheck.training.engines import SCHEDULER_ENV


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, printable(f"{self.prog}: error: {message} (see '{self.prog} --help')\n", sys.stderr.encoding))


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


def _number_in(name: str, inside: Callable[[float], bool], expected: str):
    """An argparse type: a number for which ``inside`` holds, else a message naming ``name=value`` and ``expected``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not inside(value):
            raise argparse.ArgumentTypeError(f"{name}={text!r}: expected {expected}")
        return value

    return parse


def _fraction(name: str):
    """A number from 0 to 1 (an accuracy)."""
    return _number_in(name, lambda value: 0.0 <= value <= 1.0, "a number from 0 to 1 (an accuracy)")


def _open_fraction(name: str):
    """A rate strictly between 0 and 1 (a failure rate)."""
    return _number_in(name, lambda value: 0.0 < value < 1.0, "a rate strictly between 0 and 1, like 0.1")


def _outputs(model: str | None, paths: dict[str, str | None], inputs: dict[str, str] | None = None) -> dict[str, str]:
    """The outputs asked for, each writable, none of them the model's file (``None``: no model file), another
    input's (``inputs``: a baseline by its option) or another output's (``-`` at most once)."""
    outputs = {option: path for option, path in paths.items() if path}
    seen = {identity(path): name for name, path in ({"MODEL": model} if model else {}).items()}
    seen.update({identity(path): name for name, path in (inputs or {}).items()})
    for option, path in outputs.items():
        check_writable(path, option)
        key = identity(path)
        if key in seen:
            raise invalid(option, path, f"a path other than {seen[key]}'s", "write the report to another file")
        seen[key] = option
    return outputs


@contextlib.contextmanager
def _writing(option: str, path: str) -> Iterator[None]:
    """An I/O failure while writing what ``option`` asked for: one line naming it."""
    try:
        yield
    except OSError as exc:
        raise invalid(option, path, "a file written in full", f"writing it failed ({exc.strerror or exc}); free space or choose another path") from None


def _show(text: str, stream: TextIO | None = None) -> None:
    """Print ``text`` with what a terminal would act on (escape sequences from a model file) escaped."""
    stream = stream or sys.stdout
    print(printable(text, getattr(stream, "encoding", None)), file=stream, flush=True)


#: ``--quiet`` of the commands that train: training progress goes to standard error unless silenced.
QUIET, QUIET_OPTIONS = ("--quiet", "-q"), {"action": "store_true", "help": "no training progress on standard error"}


def _names(text: str) -> list[str]:
    """An argparse type: comma-separated names (invariants), checked by the library against what exists."""
    return [name.strip() for name in text.split(",") if name.strip()]


def build_parser() -> argparse.ArgumentParser:
    from seqcheck.models.base import CAUSAL_CHOICES, ENCODINGS, ENGINES, OUTPUT_KINDS

    parser = _Parser(prog="seqcheck", description="Property-based behaviour tests for trained sequence models.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser("check", help="check a model's invariants on a task or a pattern")
    check.add_argument(
        "model", metavar="MODEL",
        help="path to a model file: .keras (Keras), .pt2 (a torch.export program), .onnx (ONNX Runtime)",
    )
    what = check.add_mutually_exclusive_group(required=True)
    what.add_argument("--task", help="the sequence task: a built-in's name (seqcheck tasks lists them) or module:attr")
    what.add_argument("--pattern", help="the repeating pattern of a stream task, e.g. 11000 or 0,1,2,2")
    check.add_argument(
        "--train-length", type=_positive("--train-length"),
        help="the window length the model was trained on (a pattern), or the longest input length (a task: 1..N)",
    )
    check.add_argument("--min-length", type=_positive("--min-length"), help="shortest input checked (default: the min context, or 1)")
    check.add_argument("--max-length", type=_positive("--max-length"), help="longest input checked (default max(4N, 40))")
    check.add_argument("--seed", type=_non_negative("--seed"), default=0, help="Hypothesis seed (default 0)")
    check.add_argument("--json", metavar="PATH", help="write the machine-readable report here ('-': standard output)")
    check.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report: one test case per invariant ('-': standard output)")
    check.add_argument("--markdown", metavar="PATH", help="write a Markdown summary, for a CI job summary ('-': standard output)")
    check.add_argument(
        "--plot", metavar="PATH",
        help="write a PNG ('-': standard output), needs matplotlib: for a task, accuracy against length with the training"
        " range shaded; for a pattern, the accuracy heatmap (length x phase), for lengths within the exhaustive budget",
    )
    check.add_argument("--alphabet-size", type=_positive("--alphabet-size"), help="symbols the model predicts (default: from the pattern)")
    check.add_argument("--encoding", choices=ENCODINGS, help="override the detected input layout")
    check.add_argument(
        "--output-kind", choices=OUTPUT_KINDS, default="auto",
        help="what the model's last layer returns (default auto: from its activation, else from its values)",
    )
    check.add_argument("--max-examples", type=_positive("--max-examples"), help="Hypothesis examples per form (default: the profile's)")
    check.add_argument("--profile", choices=("dev", "ci", "thorough"), default="ci", help="Hypothesis settings profile (default ci)")
    check.add_argument(
        "--exhaustive-budget", type=_non_negative("--exhaustive-budget"), metavar="N",
        help="symbols a sweep of every case may feed the model (default 20000000 on a pattern, 2000000 on a task);"
        " beyond it, cases are only sampled",
    )
    check.add_argument(
        "--engine", choices=ENGINES, default="auto",
        help="how a Keras model is evaluated: auto (NumPy translation when possible, verified against the model), numpy, keras",
    )
    check.add_argument(
        "--causal", choices=CAUSAL_CHOICES, default="auto",
        help="whether a pattern's windows are judged by prefix passes, one per phase: auto (where the model is proven"
        " causal), yes (your word: its per-step outputs predict every prefix), no (window by window)",
    )
    check.add_argument(
        "--unsafe-load", action="store_true",
        help="allow a model file that carries code (Keras Lambda layers, pickled PyTorch modules) to run it: only for files you trust",
    )
    check.add_argument(
        "--invariants", metavar="NAMES", type=_names,
        help="the invariants to check, comma-separated identifiers or titles (default: all), e.g. length_generalization",
    )
    check.add_argument(
        "--baseline", metavar="REPORT",
        help="the predecessor's report (--json) on the same pattern and range: exit 1 only for a regression, improvements listed",
    )
    check.add_argument(
        "--tolerance", type=_fraction("--tolerance"), default=0.0, metavar="X",
        help="with --baseline: how much lower accuracy at a length is not a regression (default 0)",
    )
    check.set_defaults(run=_run_check)

    tasks = commands.add_parser("tasks", help="list the built-in sequence tasks")
    tasks.set_defaults(run=_run_tasks)

    diff = commands.add_parser("diff", help="compare two reports seqcheck wrote (--json), without running a model")
    diff.add_argument("old", metavar="OLD", help="the predecessor's report: the baseline")
    diff.add_argument("new", metavar="NEW", help="the report gated against it, on the same pattern and range")
    diff.add_argument(
        "--tolerance", type=_fraction("--tolerance"), default=0.0, metavar="X",
        help="how much lower accuracy at a length is not a regression (default 0)",
    )
    diff.add_argument("--json", metavar="PATH", help="write NEW's report with the comparison here ('-': standard output)")
    diff.add_argument("--junit-xml", metavar="PATH", help="write JUnit XML: a test case per invariant, failing on a regression ('-': standard output)")
    diff.add_argument("--markdown", metavar="PATH", help="write a Markdown summary, for a CI job summary ('-': standard output)")
    diff.add_argument("--plot", metavar="PATH", help="write the two accuracy curves as a PNG ('-': standard output); needs matplotlib")
    diff.set_defaults(run=_run_diff)

    demo = commands.add_parser("demo", help="the seed's model against its fix, on the built-in reference models")
    demo.add_argument("--seed", type=_non_negative("--seed"), default=0, help="Hypothesis seed (default 0)")
    demo.add_argument("--max-length", type=_positive("--max-length"), help="longest window checked (default 4N)")
    demo.add_argument("--cache-dir", metavar="DIR", help="model cache (default $SEQCHECK_CACHE_DIR or ~/.cache/seqcheck)")
    demo.add_argument(*QUIET, **QUIET_OPTIONS)
    demo.set_defaults(run=_run_demo)

    train = commands.add_parser("train", help="train a recipe on a pattern and save the .keras file")
    train.add_argument("recipe", metavar="RECIPE", help="fixed-window or varied-window")
    train.add_argument("--pattern", required=True, help="the repeating pattern, e.g. 11000")
    train.add_argument("--train-length", type=_positive("--train-length"), default=10, help="window length N (default 10)")
    train.add_argument("--seed", type=_non_negative("--seed"), default=0, help="training seed (default 0)")
    train.add_argument("--output", "-o", required=True, metavar="PATH", help="where to save the model (.keras)")
    train.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    train.add_argument(*QUIET, **QUIET_OPTIONS)
    train.set_defaults(run=_run_train)

    recipe = commands.add_parser(
        "check-recipe",
        help="how reliable is a training recipe: across seeds on one pattern (--pattern, --seeds), or the smallest"
        " pattern on which its model breaks (Hypothesis draws the patterns)",
    )
    recipe.add_argument(
        "recipe", metavar="RECIPE",
        help="fixed-window or varied-window, with settings as fixed-window:dropout=0.15,units=8; or your own"
        " module:function[:key=value,...]",
    )
    recipe.add_argument("--pattern", help="with --seeds: the pattern every seed's model is trained on and checked against")
    recipe.add_argument("--task", help="with --seeds: the task every seed's model is trained on and checked against"
                        " (recipes task-lstm, task-transformer, or yours)")
    recipe.add_argument("--seeds", type=_positive("--seeds"), metavar="N", help="train and check one model per seed, N seeds")
    recipe.add_argument("--first-seed", type=_non_negative("--first-seed"), default=0, help="with --seeds: the first seed (default 0)")
    _add_seed_engine_options(recipe, prefix="with --seeds: ")
    recipe.add_argument(
        "--max-failure-rate", type=_open_fraction("--max-failure-rate"), metavar="X",
        help="with --seeds, a CI gate: exit 0 when the 95%% interval of the rate of failing models lies below X, 1 when"
        " above it, 4 when it straddles X (undecided: more seeds needed)",
    )
    recipe.add_argument(
        "--stop-early", action="store_true",
        help="with --max-failure-rate, a sequential gate: decide on an anytime-valid interval, looked at as each seed"
        " finishes, and start no more seeds once it decides",
    )
    recipe.add_argument("--train-length", type=_positive("--train-length"), default=10, help="window length N (default 10)")
    recipe.add_argument("--alphabet-size", type=_positive("--alphabet-size"), default=2, help="symbols (default 2)")
    recipe.add_argument("--min-period", type=_positive("--min-period"), default=2, help="shortest period drawn (default 2)")
    recipe.add_argument("--max-period", type=_positive("--max-period"), default=6, help="longest period drawn (default 6)")
    recipe.add_argument("--max-length", type=_positive("--max-length"), help="longest window checked (default max(4N, 40))")
    recipe.add_argument("--max-examples", type=_positive("--max-examples"), default=8, help="patterns Hypothesis may draw (default 8)")
    recipe.add_argument("--seed", type=_non_negative("--seed"), default=0, help="seed of training and search (default 0)")
    recipe.add_argument("--json", metavar="PATH", help="write the machine-readable report here ('-': standard output)")
    recipe.add_argument("--cache-dir", metavar="DIR", help="model cache (default $SEQCHECK_CACHE_DIR or ~/.cache/seqcheck)")
    recipe.add_argument(*QUIET, **QUIET_OPTIONS)
    recipe.set_defaults(run=_run_check_recipe)

    compare = commands.add_parser(
        "compare-recipes", help="recipes side by side across the same seeds, each variant tested against the first",
    )
    compare.add_argument("recipes", metavar="RECIPE", nargs="+", help="the recipe to compare with, then its variants")
    compare.add_argument("--pattern", help="the pattern every model is trained on and checked against")
    compare.add_argument("--task", help="the task every model is trained on and checked against (instead of --pattern)")
    compare.add_argument("--seeds", type=_positive("--seeds"), required=True, metavar="N", help="seeds per recipe (the same for each)")
    compare.add_argument("--first-seed", type=_non_negative("--first-seed"), default=0, help="the first seed (default 0)")
    compare.add_argument("--train-length", type=_positive("--train-length"), default=10, help="window length N (default 10)")
    compare.add_argument("--max-length", type=_positive("--max-length"), help="longest window checked (default max(4N, 40))")
    _add_seed_engine_options(compare)
    compare.add_argument("--json", metavar="PATH", help="write the machine-readable report here ('-': standard output)")
    compare.add_argument("--cache-dir", metavar="DIR", help="model cache (default $SEQCHECK_CACHE_DIR or ~/.cache/seqcheck)")
    compare.add_argument(*QUIET, **QUIET_OPTIONS)
    compare.set_defaults(run=_run_compare_recipes)
    return parser


def _add_seed_engine_options(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """Where the seeds run, whether finished seeds are reused, and the plot across seeds: the options of both recipe
    commands that check seeds."""
    parser.add_argument(
        "--workers", type=_non_negative("--workers"),
        help=f"{prefix}worker processes, each training one model at a time (default: one per core; 0: in this process)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help=f"{prefix}run the seeds on a Dask cluster, e.g. tcp://host:8786 (default ${SCHEDULER_ENV} when --workers is"
        " not given); needs seqcheck[dask]",
    )
    parser.add_argument(
        "--fresh", action="store_true",
        help=f"{prefix}check every seed again, even those an earlier run finished (trained models still come from the cache)",
    )
    parser.add_argument(
        "--plot", metavar="PATH",
        help=f"{prefix}write a PNG of pass or fail by seed x length ('-': standard output); needs matplotlib",
    )


def _version() -> str:
    from seqcheck import __version__

    return __version__


def _run_check(args: argparse.Namespace) -> int:
    from seqcheck.checking import DEFAULT_EXHAUSTIVE_BUDGET, check

    budget = args.exhaustive_budget  # None: the task's default
    paths = {"--json": args.json, "--junit-xml": args.junit_xml, "--markdown": args.markdown, "--plot": args.plot}
    outputs = _outputs(args.model, paths, {"--baseline": args.baseline} if args.baseline else None)
    baseline = None
    if args.baseline is not None:
        from seqcheck.reports.baseline import Baseline

        baseline = Baseline.load(args.baseline)  # a bad baseline is one line before any model is loaded
    if args.plot:
        require_matplotlib(args.plot)
        if args.pattern is not None:
            _refuse_plot_over_budget(args, DEFAULT_EXHAUSTIVE_BUDGET if budget is None else budget)
        else:
            _refuse_plot_without_length_generalization(args)
        if baseline is not None:
            _refuse_plot_without_accuracy(args.plot, baseline.data, "--baseline")
    human = sys.stderr if any(is_stdout(path) for path in outputs.values()) else sys.stdout
    with contextlib.redirect_stdout(human):  # standard output holds the report written there, nothing else
        report = check(
            args.model,
            pattern=args.pattern,
            task=args.task,
            train_length=args.train_length,
            max_length=args.max_length,
            min_length=args.min_length,
            seed=args.seed,
            alphabet_size=args.alphabet_size,
            encoding=args.encoding,
            output=args.output_kind,
            max_examples=args.max_examples,
            profile=args.profile,
            exhaustive_budget=budget,
            allow_unsafe=args.unsafe_load,
            engine=args.engine,
            causal=args.causal,
            invariants=args.invariants,
            baseline=baseline,
            tolerance=args.tolerance,
        )
    _show(report.render(), human)
    _write_outputs(report, outputs)
    return EXIT_OK if report.passed else EXIT_VIOLATION


def _refuse_plot_without_length_generalization(args: argparse.Namespace) -> None:
    """The plot shows length generalization's accuracy: refuse, before the check, a choice of invariants without it."""
    from seqcheck.invariants import length_generalization, resolve_invariant

    if args.invariants is not None and length_generalization not in [resolve_invariant(name, option="--invariants")
                                                                     for name in args.invariants]:
        raise invalid("--plot", args.plot, "length_generalization among --invariants, since the plot shows its accuracy",
                      "add length_generalization to --invariants, or drop --plot")


def _refuse_plot_over_budget(args: argparse.Namespace, budget: int) -> None:
    """The heatmap needs every length and phase swept by length generalization: refuse, before the check, a
    choice of invariants without it and lengths beyond the budget."""
    from seqcheck.search.space import CheckSpace
    from seqcheck.tasks.patterns import Pattern

    _refuse_plot_without_length_generalization(args)

    pattern = Pattern.parse(args.pattern, alphabet_size=args.alphabet_size)
    space = CheckSpace.build(pattern, train_length=args.train_length, max_length=args.max_length, min_length=args.min_length)
    needed = space.sweep_symbols()
    if needed <= budget:
        return
    longest, swept = space.min_length - 1, 0  # the longest max length whose sweep fits
    while swept + pattern.period * (longest + 1) <= budget:
        longest += 1
        swept += pattern.period * longest
    fix = f"raise --exhaustive-budget to {needed}"
    if longest >= space.min_length:
        fix = f"lower --max-length to {longest} or {fix}"
    raise invalid(
        "--plot", args.plot,
        f"lengths whose sweep fits the exhaustive budget (lengths {space.min_length}..{space.max_length} need {needed}"
        f" symbols, the budget is {budget}), since the heatmap shows every length and phase",
        fix,
    )


def _refuse_plot_without_accuracy(path: str, data: dict, name: str) -> None:
    """Against a baseline, the plot is the two accuracy curves: refuse, before the work, a report without accuracy."""
    if not any(inv["accuracy_by_length"] for inv in data["invariants"]):
        raise invalid(
            "--plot", path, f"{name}'s report to hold accuracy by length, since the plot shows the two accuracy curves",
            "write it again with lengths within the exhaustive budget, or drop --plot",
        )


def _run_tasks(args: argparse.Namespace) -> int:
    """``seqcheck tasks``: the built-in sequence tasks, a line each: name, symbols, classes, definition."""
    from seqcheck.tasks import BUILTIN_TASKS

    width = max(len(name) for name in BUILTIN_TASKS)
    for name, task in BUILTIN_TASKS.items():
        _show(f"{name:<{width}}  symbols {' '.join(task.symbols)}; classes {', '.join(task.classes)}")
        _show(f"{'':<{width}}  {task.description}")
    _show("a task of your own: --task module:attr, naming a seqcheck.tasks.SequenceTask")
    return EXIT_OK


def _run_diff(args: argparse.Namespace) -> int:
    """``seqcheck diff OLD NEW``: NEW's report against OLD's, no model run; exit 1 only for a regression."""
    from seqcheck.reports.baseline import diff, render_diff

    paths = {"--json": args.json, "--junit-xml": args.junit_xml, "--markdown": args.markdown, "--plot": args.plot}
    outputs = _outputs(args.new, paths, {"OLD": args.old, "NEW": args.new})
    if args.plot:
        require_matplotlib(args.plot)
    report = diff(args.old, args.new, tolerance=args.tolerance)
    if args.plot:
        from seqcheck.reports.baseline import accuracy_change

        if accuracy_change(report.comparison) is None:
            raise invalid(
                "--plot", args.plot, "OLD and NEW to hold accuracy by length, since the plot shows the two accuracy curves",
                "write them again with lengths within the exhaustive budget, or drop --plot",
            )
    human = sys.stderr if any(is_stdout(path) for path in outputs.values()) else sys.stdout
    _show(render_diff(report, args.new), human)
    _write_outputs(report, outputs)
    return EXIT_OK if report.passed else EXIT_VIOLATION


def _write_outputs(report, outputs: dict[str, str]) -> None:
    from seqcheck.reports.formats import to_junit_xml, to_markdown

    texts = {"--json": lambda: report.to_json() + "\n", "--junit-xml": lambda: to_junit_xml(report), "--markdown": lambda: to_markdown(report)}
    for option, path in outputs.items():
        with _writing(option, path):
            if option in texts:
                write_atomically(path, texts[option]())
            elif report.comparison is not None:  # against a baseline: the two accuracy curves
                from seqcheck.reports.baseline import plot_comparison

                title = printable(f"{os.path.basename(report.model)} against {report.comparison.baseline}: accuracy by length")
                replace_atomically(path, lambda tmp: plot_comparison(report.comparison, tmp, title=title))
            elif report.sequence:
                from seqcheck.reports.accuracy_plot import plot_accuracy

                accuracy = report["length_generalization"].accuracy_by_length
                title = printable(f"{os.path.basename(report.model)}, task {report.space.task.name}: accuracy by length")
                replace_atomically(path, lambda tmp: plot_accuracy(accuracy, tmp, title=title, train_length=report.space.train_length))
            else:
                from seqcheck.reports.heatmap import plot_heatmap

                correct = report["length_generalization"].correct_by_length
                title = printable(f"{os.path.basename(report.model)}, pattern {report.space.pattern}: right and wrong windows")
                replace_atomically(path, lambda tmp: plot_heatmap(correct, tmp, title=title, train_length=report.space.train_length))


def _progress(args: argparse.Namespace) -> int:
    """The training progress's verbosity (it goes to standard error): none with ``--quiet``, a live bar on a
    terminal, one line per epoch in a log."""
    if args.quiet:
        return 0
    return 1 if sys.stderr.isatty() else 2


def _run_demo(args: argparse.Namespace) -> int:
    from seqcheck.training.demo import render_demo, run_demo

    outcome = run_demo(seed=args.seed, max_length=args.max_length, cache_dir=args.cache_dir, verbose=_progress(args))
    _show(render_demo(outcome))
    return EXIT_OK if outcome.succeeded else EXIT_VIOLATION


def _run_train(args: argparse.Namespace) -> int:
    from seqcheck.tasks.patterns import Pattern
    from seqcheck.training.recipes import get_recipe, train

    output = args.output
    check_writable(output, "--output")
    if os.path.splitext(output)[1] != ".keras":
        raise invalid("--output", output, "a path ending in .keras", "Keras saves models in the .keras format")
    if os.path.exists(output) and not args.force:
        raise invalid("--output", output, "a path that does not exist yet", "choose another path or pass --force to overwrite it")
    recipe, pattern = get_recipe(args.recipe), Pattern.parse(args.pattern)
    model = train(recipe.name, pattern, train_length=args.train_length, seed=args.seed, verbose=_progress(args))
    with _writing("--output", output):
        replace_atomically(output, model.save)
    _show(f"saved {recipe.name} model for pattern {pattern} (N={args.train_length}, seed {args.seed}) to {output}")
    return EXIT_OK


def _run_check_recipe(args: argparse.Namespace) -> int:
    from seqcheck.training.recipe_check import check_recipe

    if args.seeds is not None or args.pattern is not None or args.task is not None:
        return _run_check_seeds(args)
    for option in ("first_seed", "workers", "max_failure_rate", "stop_early", "scheduler", "fresh", "plot"):
        if getattr(args, option) not in (None, 0, False):
            raise invalid(f"--{option.replace('_', '-')}", getattr(args, option), "--seeds N beside it",
                          "add --pattern P --seeds N to check the recipe across seeds")
    result = _reported(args, lambda progress: check_recipe(
        args.recipe,
        alphabet_size=args.alphabet_size,
        min_period=args.min_period,
        max_period=args.max_period,
        train_length=args.train_length,
        max_length=args.max_length,
        seed=args.seed,
        max_examples=args.max_examples,
        cache_dir=args.cache_dir,
        verbose=_progress(args),
    ), seeds=False)
    return EXIT_OK if result.passed else EXIT_VIOLATION


def _run_check_seeds(args: argparse.Namespace) -> int:
    """``check-recipe RECIPE --pattern P --seeds N``: one model per seed, the rate that holds, and the gate."""
    from seqcheck.training.seeds import check_seeds

    if args.seeds is None:
        given = "--pattern" if args.pattern is not None else "--task"
        raise invalid(given, args.pattern if args.pattern is not None else args.task, "--seeds N beside it",
                      f"check a recipe across seeds with {given} {given[2].upper()} --seeds N")
    if args.pattern is None and args.task is None:
        raise invalid("--seeds", args.seeds, "--pattern P or --task T beside it",
                      "check a recipe across seeds with --pattern P --seeds N, or --task T --seeds N")
    result = _reported(args, lambda progress: check_seeds(
        args.recipe, pattern=args.pattern, task=args.task, seeds=args.seeds, first_seed=args.first_seed,
        train_length=args.train_length, max_length=args.max_length, workers=args.workers, scheduler=args.scheduler,
        cache_dir=args.cache_dir, fresh=args.fresh, progress=progress, max_failure_rate=args.max_failure_rate,
        stop_early=args.stop_early,
    ))
    if result.max_failure_rate is not None:
        decision = result.gate
        outcome = "undecided" if decision is None else decision.outcome
        return {"pass": EXIT_OK, "fail": EXIT_VIOLATION, "undecided": EXIT_UNDECIDED}[outcome]
    return EXIT_OK if result.failures == 0 and result.errors == 0 else EXIT_VIOLATION


def _run_compare_recipes(args: argparse.Namespace) -> int:
    """``compare-recipes R1 R2 ... --pattern P --seeds N``: the same table side by side, exact tests against R1."""
    from seqcheck.training.comparison import compare_recipes

    if len(args.recipes) < 2:
        raise invalid("recipe", " ".join(args.recipes), "at least two recipes", "name the recipe to compare with, then its variants")
    if args.pattern is None and args.task is None:
        raise invalid("--seeds", args.seeds, "--pattern P or --task T beside it",
                      "name what every recipe trains on: --pattern P (e.g. 11000) or --task T (e.g. parity)")
    _reported(args, lambda progress: compare_recipes(
        args.recipes, pattern=args.pattern, task=args.task, seeds=args.seeds, first_seed=args.first_seed,
        train_length=args.train_length, max_length=args.max_length, workers=args.workers, scheduler=args.scheduler,
        cache_dir=args.cache_dir, fresh=args.fresh, progress=progress,
    ))
    return EXIT_OK


def _reported(args: argparse.Namespace, work: Callable[[Callable | None], Any], *, seeds: bool = True) -> Any:
    """The recipe commands' plumbing: ``--json`` (and, across seeds, ``--plot``) checked up front, ``work(progress)``
    run with standard output kept for the report alone (Keras's training log goes with the text report), the
    seeds' progress on standard error (``seeds``, not with ``--quiet``), then the text report shown, the JSON and
    the plot written."""
    plot = getattr(args, "plot", None) if seeds else None
    outputs = _outputs(None, {"--json": args.json, "--plot": plot})
    if plot:
        require_matplotlib(plot)
    human = sys.stderr if any(is_stdout(path) for path in outputs.values()) else sys.stdout
    progress = SeedProgress(sys.stderr) if seeds and not args.quiet else None
    with contextlib.redirect_stdout(human):
        result = work(progress)
    if progress is not None:
        progress.end()
    _show(result.render(), human)
    if args.json:
        with _writing("--json", args.json):
            write_atomically(args.json, json.dumps(result.to_dict(), indent=2) + "\n")
    if plot:
        from seqcheck.reports.seeds_plot import plot_seeds

        with _writing("--plot", plot):
            plot_seeds(result, plot)
    return result


class SeedProgress:
    """The seeds' progress on ``stream``: one line redrawn in place on a terminal; in a log (CI), a line each time a
    seed finishes, so that the log shows the run advancing without a wall of redraws."""

    def __init__(self, stream: TextIO):
        self.stream, self.live, self.done = stream, stream.isatty(), -1

    def __call__(self, done: int, running: int, failed: int, total: int) -> None:
        line = f"seeds: {done}/{total} done, {running} running, {failed} failed"
        if self.live:
            self.stream.write(f"\r{line} ")
        elif done != self.done:
            self.stream.write(f"{line}\n")
        self.done = done
        self.stream.flush()

    def end(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def _failed_io(exc: OSError) -> str:
    """One line for an I/O failure no option names (a closed standard output, a file read by a library)."""
    if exc.filename is None:  # spelled as values, not as options: no option names them
        return f"output='stdout': expected an output open until seqcheck ends; {exc.strerror or exc}; keep its reader open"
    return f"path={exc.filename!r}: expected a file seqcheck can use; {exc.strerror or exc}; check it and its folder"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; the return value is the exit code (see the module's docstring)."""
    interface = INTERFACE.set("cli")  # messages spell options as this command line does: --alphabet-size=3
    try:
        return _run(argv)
    finally:
        INTERFACE.reset(interface)


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except SeqcheckError as exc:
        _show(f"seqcheck: error: {exc}", sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        _show(f"seqcheck: error: {_failed_io(exc)}", sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _show("seqcheck: interrupted", sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback on request
        if os.environ.get(TRACEBACK_ENV, "") not in ("", "0"):
            traceback.print_exc()
        _show(f"seqcheck: internal error: {type(exc).__name__}: {first_line(exc)}; set {TRACEBACK_ENV}=1 to see the traceback",
              sys.stderr)
        return EXIT_INTERNAL


if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:  # loaded: main() takes Ctrl-C from here
    signal.signal(signal.SIGINT, _SIGINT_HANDLER)

if __name__ == "__main__":
    sys.exit(main())
