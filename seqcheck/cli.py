"""The ``seqcheck`` command: a CI gate for sequence models.

Exit codes: 0 every invariant holds; 1 an invariant is violated; 2 bad input or a model that
cannot be loaded (one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from seqcheck.errors import SeqcheckError, invalid

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}={text!r}: expected a whole number") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name}={value}: expected at least 1")
        return value

    return parse


def _non_negative(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}={text!r}: expected a whole number") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{name}={value}: expected 0 or more")
        return value

    return parse


def _writable(path: str, option: str) -> Path:
    """Fail before any work if the report could not be written where the user asked."""
    target = Path(path)
    if target.is_dir():
        raise invalid(option, path, "a file path", "name a file, not a folder")
    if not target.parent.exists():
        raise invalid(option, path, "a path in an existing folder", f"create {target.parent} first")
    return target


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seqcheck", description="Property-based behaviour tests for trained sequence models.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser("check", help="check a model's invariants on a pattern")
    check.add_argument("model", metavar="MODEL", help="path to a .keras file")
    check.add_argument("--pattern", required=True, help="the repeating pattern, e.g. 11000 or 0,1,2,2")
    check.add_argument("--train-length", type=_positive("--train-length"), help="window length the model was trained on")
    check.add_argument("--max-length", type=_positive("--max-length"), help="longest window checked (default max(4N, 40))")
    check.add_argument("--seed", type=_non_negative("--seed"), default=0, help="Hypothesis seed (default 0)")
    check.add_argument("--json", metavar="PATH", help="write the machine-readable report here")
    check.add_argument("--alphabet-size", type=_positive("--alphabet-size"), help="symbols the model predicts (default: from the pattern)")
    check.add_argument("--encoding", choices=("scalar", "onehot", "tokens"), help="override the detected input layout")
    check.add_argument("--max-examples", type=_positive("--max-examples"), default=100, help="Hypothesis examples per form")
    check.add_argument(
        "--unsafe-load", action="store_true",
        help="allow a model file that carries code (Lambda layers) to run it: only for files you trust",
    )
    check.set_defaults(run=_run_check)
    return parser


def _version() -> str:
    from seqcheck import __version__

    return __version__


def _run_check(args: argparse.Namespace) -> int:
    from seqcheck.checking import check

    json_path = _writable(args.json, "--json") if args.json else None
    report = check(
        args.model,
        pattern=args.pattern,
        train_length=args.train_length,
        max_length=args.max_length,
        seed=args.seed,
        alphabet_size=args.alphabet_size,
        encoding=args.encoding,
        max_examples=args.max_examples,
        allow_unsafe=args.unsafe_load,
    )
    print(report.render())
    if json_path is not None:
        write_atomically(json_path, report.to_json() + "\n")
    return EXIT_OK if report.passed else EXIT_VIOLATION


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
