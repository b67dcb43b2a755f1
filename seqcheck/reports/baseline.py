"""Gate a model against its predecessor: a report compared with a baseline report seqcheck wrote earlier.

A *baseline* is the JSON report of a check of the predecessor (``seqcheck check OLD --json base.json``),
on the same pattern and range: pattern, alphabet size, min and max length, training length.  It is
validated against the report schema (``seqcheck/report-schema.json``, the one copy; ``docs/`` links to
it) and against what the schema cannot say (a pattern written as its primitive period, statuses that
agree with their forms, accuracy that agrees with the right and wrong windows), so that a malformed or
hand-edited baseline is a one-line error, never a silent pass.

A **regression**, the only thing that fails the comparison:

- an invariant that held in the baseline (status ``pass``) fails now;
- an invariant that failed in both first fails at a length earlier in the documented order (the
  counterexample's ``length``; without a training length, a shorter one): the new model breaks on a
  length the baseline's minimal counterexample says it held;
- accuracy at some length lower than the baseline's by more than ``tolerance`` (default 0).

Improvements (an invariant that now holds, a counterexample later in the order, higher accuracy) are
reported too; a violation the baseline had as well, no worse, is a *known limit* and does not fail.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shlex
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from seqcheck.errors import InvalidArgument, SeqcheckError
from seqcheck.spelling import spell

#: The report schema, package data of seqcheck.
SCHEMA_FILE = "report-schema.json"
#: The largest report file read as a baseline: a report of the default budget is a few hundred KiB.
MAX_REPORT_BYTES = 64 * 1024 * 1024
#: The command that writes a valid baseline, for the fix of an error.
REWRITE = "write it again with this seqcheck: seqcheck check PREDECESSOR ... --json PATH"

REGRESSION, IMPROVEMENT, UNCHANGED = "regression", "improvement", "unchanged"
#: Cells of the text heatmap of the change.
BOTH_RIGHT, BOTH_WRONG, NEWLY_WRONG, NEWLY_RIGHT = ".", "x", "!", "+"
COLUMNS = 60
INDENT = "     "


@cache
def report_schema() -> dict[str, Any]:
    """The JSON schema of a report (version :data:`seqcheck.reports.report.REPORT_VERSION`), read from the installed package."""
    from importlib.resources import files

    return json.loads(files("seqcheck").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


# -- naming what was given, in errors ---------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a report came from, as errors name it: ``--baseline='old.json'``, ``baseline=<dict>``, ``OLD='a.json'``."""

    name: str  # an option (``baseline``) or a command's positional argument (``OLD``, ``NEW``)
    shown: str  # a path, or what the object was
    path: bool = True

    @property
    def label(self) -> str:
        if self.name.isupper():  # a positional argument of a command
            return f"{self.name}={shlex.quote(self.shown)}"
        return spell(self.name, self.shown) if self.path else f"{spell(self.name)}<{self.shown}>"

    def error(self, expected: str, fix: str) -> InvalidArgument:
        return InvalidArgument(f"{self.label}: expected {expected}; {fix}")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- reading and validating -------------------------------------------------------------------------


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def read_report(source: object, *, name: str = "baseline") -> tuple[dict[str, Any], Source]:
    """The report ``source`` holds (a path to a JSON report, a :class:`~seqcheck.reports.report.Report` or its ``to_dict()``),
    validated (:func:`validate_report`), with how errors name it."""
    from seqcheck.reports.report import Report

    if isinstance(source, Report):
        src = Source(name, "Report", path=False)
        data: object = source.to_dict()
    elif isinstance(source, Mapping):
        src = Source(name, "dict", path=False)
        data = copy.deepcopy(dict(source))
    elif isinstance(source, (str, os.PathLike)):
        path = os.fsdecode(source)
        src = Source(name, path)
        data = _read_json(path, src)
    else:
        raise Source(name, type(source).__name__, path=False).error(
            "a path to a report seqcheck wrote (--json), a seqcheck Report or its to_dict()", "pass the predecessor's report"
        )
    return validate_report(data, src), src


def _read_json(path: str, src: Source) -> object:
    if path == "":
        raise src.error("a path to a JSON report", "give the predecessor's report, written by seqcheck check --json")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_REPORT_BYTES + 1)
    except FileNotFoundError:
        raise src.error("an existing file", "check the path of the report (seqcheck check ... --json PATH writes one)") from None
    except IsADirectoryError:
        raise src.error("a file, not a folder", "give the path of the predecessor's JSON report") from None
    except OSError as exc:
        raise src.error("a readable file", f"it cannot be read ({exc.strerror or exc}); check its permissions") from None
    if len(raw) > MAX_REPORT_BYTES:
        raise src.error(
            f"a report of at most {MAX_REPORT_BYTES // 2**20} MiB", "it is no report seqcheck wrote at any sensible range; check the path"
        )
    if not raw.strip():
        raise src.error("a JSON report, not an empty file", REWRITE)
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise src.error("a JSON report", "it is nested too deeply to be one; " + REWRITE) from None
    except ValueError as exc:  # JSONDecodeError, a bad encoding, NaN, a number too long
        raise src.error("a JSON report", f"it is not valid JSON ({_short(exc, 100)}); {REWRITE}") from None


def validate_report(data: object, src: Source) -> dict[str, Any]:
    """``data`` if it is a report this seqcheck can compare: its version, its schema, and consistent in itself."""
    import jsonschema

    from seqcheck.reports.report import REPORT_VERSION

    if not isinstance(data, dict):
        raise src.error(f"a JSON object (a seqcheck report), not a JSON {type(data).__name__}", REWRITE)
    if "version" not in data:
        raise src.error("a seqcheck check report, which has a 'version' field", REWRITE)
    version = data["version"]
    if version == 2 and not isinstance(version, bool):
        data = _upgraded_from_version_2(data)
        version = data["version"]
    if version != REPORT_VERSION or isinstance(version, bool):
        if "results" in data and "invariants" not in data:
            raise src.error(
                "a report of seqcheck check (--json), not of the pytest plugin (--seqcheck-report)",
                "write the predecessor's report with seqcheck check PREDECESSOR ... --json PATH",
            )
        raise src.error(f"a report of version {REPORT_VERSION} or 2, which this seqcheck reads; it is version {_short(repr(version), 40)}",
                        REWRITE)
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(report_schema()).iter_errors(data))
    if error is not None:
        raise src.error(
            f"a report that follows seqcheck's report schema (version {REPORT_VERSION}); at {error.json_path}: {_short(error.message)}",
            REWRITE + " (a report edited by hand is not a baseline)",
        )
    if data["task"]["kind"] != "stream":
        raise src.error(
            f"a report on a pattern (a stream task): baselines compare those only, and this one is on task {_short(repr(data['task']['name']), 40)}",
            "compare sequence-task reports by their accuracy by length yourself",
        )
    _check_consistent(data, src)
    return data


def _upgraded_from_version_2(data: dict[str, Any]) -> dict[str, Any]:
    """A version-2 report (always on a pattern) as version 3 says it: the same fields and its stream task."""
    size = data.get("alphabet_size")
    symbols = [str(s) for s in range(size)] if isinstance(size, int) and not isinstance(size, bool) and 0 < size <= 1024 else []
    task = {"name": "periodic-stream", "kind": "stream", "symbols": symbols, "classes": symbols}
    if isinstance(data.get("pattern"), str):
        task["pattern"] = data["pattern"]
    return {**data, "version": 3, "task": task}


def _check_consistent(data: dict[str, Any], src: Source) -> None:
    """What the schema cannot say: the pattern and its numbers agree, statuses agree with their forms, accuracy with cells."""
    from seqcheck.tasks.patterns import Pattern

    def refuse(what: str) -> InvalidArgument:
        return src.error(f"a report consistent in itself; {what}", REWRITE + " (a report edited by hand is not a baseline)")

    try:
        pattern = Pattern.parse(data["pattern"], alphabet_size=data["alphabet_size"])
    except SeqcheckError as exc:
        raise refuse(f"its pattern cannot be read ({_short(exc, 120)})") from None
    for key, value in (("pattern", pattern.text), ("period", pattern.period), ("min_context", pattern.min_context)):
        if data[key] != value:
            raise refuse(f"its {key} is {_short(repr(data[key]), 40)}, but pattern {_short(data['pattern'], 40)} has {value!r}")
    low, high, train = data["lengths"]["min"], data["lengths"]["max"], data["train_length"]
    if not pattern.min_context <= low <= high:
        raise refuse(f"its lengths {low}..{high} do not start at or beyond the min context {pattern.min_context}")
    if train is not None and train < 1:
        raise refuse(f"its train_length is {train}")
    names = [inv["name"] for inv in data["invariants"]]
    if len(set(names)) != len(names):
        raise refuse(f"an invariant appears twice ({', '.join(sorted({n for n in names if names.count(n) > 1}))})")
    for inv in data["invariants"]:
        _check_invariant(inv, pattern.period, low, high, refuse)
    failing = any(inv["status"] == "fail" for inv in data["invariants"])
    comparison = data.get("comparison")
    if comparison is not None:
        regressed = any(change["regressions"] for change in comparison["invariants"])
        if comparison["passed"] == regressed or data["passed"] != comparison["passed"]:
            raise refuse("its passed fields disagree with the regressions its comparison lists")
    elif data["passed"] == failing:
        raise refuse(f"it says passed={str(data['passed']).lower()}, but {'an' if failing else 'no'} invariant fails")


def _check_invariant(inv: dict[str, Any], period: int, low: int, high: int, refuse) -> None:
    name, status, forms = inv["name"], inv["status"], inv["forms"]
    expected = "not applicable" if not forms else "pass" if all(f["passed"] for f in forms) else "fail"
    passed = {"pass": True, "fail": False, "not applicable": None}[status]
    if status != expected or inv["passed"] is not passed:
        raise refuse(f"invariant {name} has status {status!r} and passed={inv['passed']}, but its forms say {expected!r}")
    for form in forms:
        if form["passed"] != (form["counterexample"] is None):
            raise refuse(f"form {form['form']} of {name} has passed={form['passed']} and {'no ' if form['passed'] else ''}counterexample")
    cx = inv["counterexample"]
    if (cx is None) != (status != "fail"):
        raise refuse(f"invariant {name} has status {status!r} and {'no' if cx is None else 'a'} counterexample")
    if cx is not None and not low <= cx["length"] <= high:
        raise refuse(f"the counterexample of {name} is at length {cx['length']}, outside its lengths {low}..{high}")
    accuracy, correct = inv["accuracy_by_length"], inv["correct_by_length"]
    for table, what in ((accuracy, "accuracy_by_length"), (correct, "correct_by_length")):
        for key in table or {}:
            if not (key.isascii() and key.isdigit() and str(int(key)) == key and low <= int(key) <= high):
                raise refuse(f"{what} of {name} has the key {_short(repr(key), 40)}, not a length in {low}..{high}")
    for key, value in (accuracy or {}).items():
        if not 0.0 <= value <= 1.0:
            raise refuse(f"the accuracy of {name} at length {key} is {value}, outside 0..1")
    for key, row in (correct or {}).items():
        if len(row) != period:
            raise refuse(f"correct_by_length of {name} at length {key} has {len(row)} phases, the pattern {period}")
    if accuracy is not None and correct is not None:
        if set(accuracy) != set(correct):
            raise refuse(f"accuracy_by_length and correct_by_length of {name} cover different lengths")
        for key, row in correct.items():
            if not math.isclose(accuracy[key], sum(row) / period, abs_tol=1e-9):
                raise refuse(
                    f"the accuracy of {name} at length {key} is {accuracy[key]}, but {sum(row)} of its {period} windows are right"
                )


# -- the same range ------------------------------------------------------------------------------------


def settings_of(data: Mapping[str, Any]) -> tuple[tuple[str, str, object], ...]:
    """(what, option, value) of the settings two compared reports must share, in the order an error names them."""
    return (
        ("pattern", "pattern", data["pattern"]),
        ("alphabet size", "alphabet_size", data["alphabet_size"]),
        ("min length", "min_length", data["lengths"]["min"]),
        ("max length", "max_length", data["lengths"]["max"]),
        ("training length", "train_length", data["train_length"]),
    )


def space_settings(space) -> dict[str, Any]:
    """The settings of a :class:`~seqcheck.search.space.CheckSpace`, shaped like a report's."""
    return {
        "pattern": space.pattern.text, "alphabet_size": space.pattern.alphabet_size, "train_length": space.train_length,
        "lengths": {"min": space.min_length, "max": space.max_length},
    }


def _shown_setting(value: object) -> str:
    return "none" if value is None else str(value)


def require_same_range(baseline: Mapping[str, Any], current: Mapping[str, Any], src: Source, *, diff: bool = False) -> None:
    """A one-line error naming the first setting in which ``baseline`` (what ``src`` gave) differs from ``current``.

    ``diff``: the two are the OLD and NEW reports of ``seqcheck diff`` (``src`` names NEW), not a baseline and a check.
    """
    for (what, option, old), (_, _, new) in zip(settings_of(baseline), settings_of(current)):
        if old == new:
            continue
        if diff:
            raise src.error(
                f"a report on OLD's pattern and range; its {what} is {_shown_setting(new)}, OLD's is {_shown_setting(old)}",
                "compare two reports of one pattern, alphabet size, min and max length and training length",
            )
        fix = (f"check with {spell(option, old)}" if old is not None else f"check without {spell(option)}") + (
            ", or write the baseline again with this check's settings"
        )
        raise src.error(
            f"a baseline on this check's pattern and range; its {what} is {_shown_setting(old)}, this check's is"
            f" {_shown_setting(new)}",
            fix,
        )


def check_tolerance(tolerance: object, *, baseline: object) -> float:
    """``tolerance`` as a float in [0, 1], given only together with a baseline."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0.0 <= float(tolerance) <= 1.0:
        raise InvalidArgument(f"{spell('tolerance', tolerance)}: expected a number from 0 to 1 (an accuracy); pass e.g. "
                              f"{spell('tolerance', 0.05)}")
    if baseline is None and tolerance != 0:
        raise InvalidArgument(
            f"{spell('tolerance', tolerance)}: expected together with {spell('baseline')}, since it is how much lower"
            f" accuracy a comparison with a baseline forgives; pass {spell('baseline')} too, or drop {spell('tolerance')}"
        )
    return float(tolerance)


# -- the comparison -------------------------------------------------------------------------------------


def length_ranges(lengths: list[int] | tuple[int, ...]) -> str:
    """``3..9, 11..14, 16``: sorted lengths as runs."""
    runs: list[list[int]] = []
    for length in sorted(lengths):
        if runs and length == runs[-1][1] + 1:
            runs[-1][1] = length
        else:
            runs.append([length, length])
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in runs)


@dataclass(frozen=True)
class Finding:
    """One regression or improvement of an invariant: what changed, at which lengths."""

    kind: str  # "fails" / "holds", "counterexample", "accuracy"
    lengths: tuple[int, ...]
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lengths": list(self.lengths), "detail": self.detail}


@dataclass
class InvariantChange:
    """How one invariant changed from the baseline to now."""

    name: str
    title: str
    before: str  # status in the baseline
    after: str  # status now
    regressions: list[Finding] = field(default_factory=list)
    improvements: list[Finding] = field(default_factory=list)
    #: By length, the accuracy (baseline, now), where both reports have accuracy.
    accuracy: dict[int, tuple[float, float]] | None = None
    #: By length, whether each phase was right (baseline, now), where both reports have the cells.
    cells: dict[int, tuple[tuple[bool, ...], tuple[bool, ...]]] | None = None
    #: The length of the counterexample (baseline, now), None where none.
    counterexample_lengths: tuple[int | None, int | None] = (None, None)
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return REGRESSION if self.regressions else IMPROVEMENT if self.improvements else UNCHANGED

    @property
    def changed(self) -> bool:
        """Anything differs: status, first failure, accuracy or a window (within the tolerance or not)."""
        return bool(
            self.regressions or self.improvements or self.before != self.after
            or self.counterexample_lengths[0] != self.counterexample_lengths[1]
            or self.accuracy_change() or self.changed_cells(True) or self.changed_cells(False)
        )

    def accuracy_change(self) -> dict[int, float]:
        """Accuracy now minus the baseline's, at the lengths where it changed."""
        return {n: round(new - old, 6) for n, (old, new) in (self.accuracy or {}).items() if new != old}

    def changed_cells(self, newly: bool) -> dict[int, list[int]]:
        """The phases, by length, that are right now and were wrong (``newly`` right) or the reverse."""
        out = {}
        for length, (old, new) in (self.cells or {}).items():
            phases = [ph for ph, (o, n) in enumerate(zip(old, new)) if (n and not o) == newly and o != n]
            if phases:
                out[length] = phases
        return out

    def summary(self, *, label: bool = True) -> str:
        """One line: the verdict, the invariant, and what changed."""
        status = {"pass": "pass", "fail": "FAIL", "not applicable": "n/a"}
        text = f"{self.title} ({status[self.before]} -> {status[self.after]})"
        if label:
            text = {REGRESSION: "REGRESSION", IMPROVEMENT: "improved  ", UNCHANGED: "same      "}[self.verdict] + " " + text
        findings = [f.detail for f in self.regressions + self.improvements]
        if not findings and self.after == "fail":
            findings = [f"first fails at length {self.counterexample_lengths[1]}, as in the baseline: a known limit"]
        return text + (": " + "; ".join(findings) if findings else "") + "".join(f"; {note}" for note in self.notes)

    def lines(self) -> list[str]:
        lines = [self.summary()]
        change = self.accuracy_change()
        if change:
            text = " ".join(f"{n}:{d:+.2f}" for n, d in change.items())
            wrapped = textwrap.wrap(text, width=92)
            head = "accuracy change (now - baseline): "
            lines.append(INDENT + head + wrapped[0])
            lines += [INDENT + " " * len(head) + rest for rest in wrapped[1:]]
        if self.changed_cells(True) or self.changed_cells(False):
            lines += change_heatmap(self.cells, indent=INDENT)
        return lines

    def to_dict(self) -> dict[str, Any]:
        old, new = self.counterexample_lengths
        return {
            "name": self.name,
            "title": self.title,
            "before": self.before,
            "after": self.after,
            "verdict": self.verdict,
            "regressions": [f.to_dict() for f in self.regressions],
            "improvements": [f.to_dict() for f in self.improvements],
            "counterexample_length": {"before": old, "after": new},
            "accuracy_change": None if self.accuracy is None else {str(n): d for n, d in self.accuracy_change().items()},
            "newly_wrong": None if self.cells is None else {str(n): p for n, p in self.changed_cells(False).items()},
            "newly_right": None if self.cells is None else {str(n): p for n, p in self.changed_cells(True).items()},
            "notes": list(self.notes),
        }


def change_heatmap(cells: dict[int, tuple[tuple[bool, ...], tuple[bool, ...]]], *, indent: str = "") -> list[str]:
    """The text heatmap of the change: rows phases, columns lengths; ``!`` right in the baseline and wrong now,
    ``+`` the reverse, ``.`` right in both, ``x`` wrong in both."""
    lengths = sorted(cells)
    if not lengths:
        return []
    period = len(cells[lengths[0]][0])
    lines = [
        f"{indent}change: {NEWLY_WRONG} = right in the baseline, wrong now; {NEWLY_RIGHT} = wrong in the baseline, right now;"
        f" {BOTH_RIGHT} = right in both; {BOTH_WRONG} = wrong in both"
    ]
    symbol = {(True, True): BOTH_RIGHT, (False, False): BOTH_WRONG, (True, False): NEWLY_WRONG, (False, True): NEWLY_RIGHT}
    for start in range(0, len(lengths), COLUMNS):
        block = lengths[start : start + COLUMNS]
        ruler = "".join("|" if length % 10 == 0 else " " for length in block)
        lines.append(f"{indent}{f'{block[0]}..{block[-1]}':>10} {ruler}")
        for phase in range(period):
            row = "".join(symbol[(bool(cells[n][0][phase]), bool(cells[n][1][phase]))] for n in block)
            lines.append(f"{indent}{f'phase {phase}':>10} {row}")
    return lines


@dataclass
class Comparison:
    """A report compared with its baseline: ``passed`` means no regression."""

    baseline: str  # the baseline, as given (a path, or what the object was)
    baseline_model: str
    baseline_seed: int
    tolerance: float
    space: dict[str, Any]  # the shared settings, shaped like a report's
    invariants: list[InvariantChange]
    #: Invariants in one report only, and why they were not compared.
    not_compared: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No regression."""
        return not self.regressions

    @property
    def regressions(self) -> list[InvariantChange]:
        return [c for c in self.invariants if c.regressions]

    @property
    def improvements(self) -> list[InvariantChange]:
        return [c for c in self.invariants if c.improvements]

    @property
    def known_limits(self) -> list[InvariantChange]:
        """Invariants that fail now as in the baseline, no worse."""
        return [c for c in self.invariants if c.after == "fail" and not c.regressions]

    def __getitem__(self, name: str) -> InvariantChange:
        for change in self.invariants:
            if name in (change.name, change.title):
                return change
        raise KeyError(f"no invariant named {name!r} was compared; compared: {', '.join(c.name for c in self.invariants)}")

    def verdict(self) -> str:
        """``regression: ...`` or ``no regression ...``, with the lengths."""
        if self.regressions:
            parts = [f"{c.title} ({'; '.join(f.detail for f in c.regressions)})" for c in self.regressions]
            return "regression against the baseline: " + "; ".join(parts)
        if self.improvements:
            parts = ["improved: " + ", ".join(c.title for c in self.improvements)]
        elif any(c.changed for c in self.invariants):
            parts = ["changes, none a regression" + (f" (within the tolerance {self.tolerance:g})" if self.tolerance else "")]
        else:
            parts = ["no change"]
        if self.known_limits:
            parts.append("known limits, failing as in the baseline: " + ", ".join(c.title for c in self.known_limits))
        return "no regression against the baseline: " + "; ".join(parts)

    def header(self) -> str:
        space = self.space
        train = space["train_length"]
        return (
            f"baseline {self.baseline} (model {self.baseline_model}, seed {self.baseline_seed}): same pattern {space['pattern']},"
            f" lengths {space['lengths']['min']}..{space['lengths']['max']}"
            + (f", training length {train}" if train is not None else "")
            + f"; accuracy tolerance {self.tolerance:g}"
        )

    def lines(self) -> list[str]:
        """The comparison as the text report shows it, after the report's own lines."""
        lines = [self.header()]
        for change in self.invariants:
            lines += change.lines()
        for name, why in self.not_compared.items():
            lines.append(f"not compared: {name} ({why})")
        lines += [f"note: {note}" for note in self.notes]
        lines.append(f"verdict: {self.verdict()}")
        return lines

    def render(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": {"source": self.baseline, "model": self.baseline_model, "seed": self.baseline_seed},
            "tolerance": self.tolerance,
            "passed": self.passed,
            "verdict": self.verdict(),
            "invariants": [c.to_dict() for c in self.invariants],
            "not_compared": dict(self.not_compared),
            "notes": list(self.notes),
        }

    # -- CI formats (seqcheck.reports.formats) --

    def junit_failure(self, name: str) -> str | None:
        """The failure text of an invariant's test case: its regressions, or None when it has none."""
        change = next((c for c in self.invariants if c.name == name), None)
        if change is None or not change.regressions:
            return None
        lengths = sorted({n for f in change.regressions for n in f.lengths})
        return f"{change.title}: regression at lengths {length_ranges(lengths)}\n" + "\n".join(change.lines())

    def junit_note(self, name: str) -> str:
        """What an invariant's passing test case says against the baseline."""
        change = next((c for c in self.invariants if c.name == name), None)
        if change is None:
            return f"no regression: not compared ({self.not_compared.get(name, 'not in both reports')})"
        return "no regression: " + change.summary(label=False)

    def markdown_lines(self) -> list[str]:
        status = {"pass": "pass", "fail": "FAIL", "not applicable": "n/a"}
        lines = [
            "",
            f"### Against the baseline `{self.baseline}`: {'no regression' if self.passed else '**regression**'}",
            "",
            f"{self.header()}",
            "",
            "| invariant | baseline | now | change |",
            "|---|---|---|---|",
        ]
        for c in self.invariants:
            word = {REGRESSION: "**regression**", IMPROVEMENT: "improvement", UNCHANGED: "no regression"}[c.verdict]
            details = "; ".join(f.detail for f in c.regressions + c.improvements)
            cell = f"{word}: {details}" if details else word
            lines.append(f"| {c.title} | {status[c.before]} | {status[c.after]} | {cell.replace('|', chr(92) + '|')} |")
        lines += ["", f"**Verdict:** {self.verdict()}"]
        return lines


def _order_key(length: int, space: Mapping[str, Any]) -> tuple[int, ...]:
    """The place of a length in the documented order (:meth:`seqcheck.search.space.CheckSpace.length_key`)."""
    train = space["train_length"]
    if train is None:
        return (length,)
    return (abs(length - train), 0 if length >= train else 1)


def _first_failure(inv: Mapping[str, Any]) -> tuple[int | None, bool]:
    """The counterexample's length, and whether a sweep confirmed it minimal."""
    cx = inv["counterexample"]
    if cx is None:
        return None, False
    confirmed = any(f["form"] == cx["form"] and f["minimal_confirmed"] for f in inv["forms"])
    return cx["length"], confirmed


def _order_words(new: int, old: int, space: Mapping[str, Any]) -> str:
    train = space["train_length"]
    if train is None:
        return f"{'shorter' if new < old else 'longer'} than the baseline's {old}"
    if abs(new - train) != abs(old - train):
        return f"{'nearer' if abs(new - train) < abs(old - train) else 'farther from'} the training length {train} than the baseline's {old}"
    return f"as near the training length {train} as the baseline's {old}, and {'before' if new > old else 'after'} it in the order (N+d before N-d)"


def _compare_invariant(old: Mapping[str, Any], new: Mapping[str, Any], space: Mapping[str, Any], tolerance: float) -> InvariantChange:
    change = InvariantChange(new["name"], new["title"], old["status"], new["status"])
    old_len, old_confirmed = _first_failure(old)
    new_len, new_confirmed = _first_failure(new)
    change.counterexample_lengths = (old_len, new_len)
    if "not applicable" in (old["status"], new["status"]) and old["status"] != new["status"]:
        change.notes.append(
            "not compared: not applicable " + ("in the baseline" if old["status"] == "not applicable" else "now")
        )
    elif old["status"] == "pass" and new["status"] == "fail":
        change.regressions.append(Finding("fails", (new_len,), f"held in the baseline, fails now at length {new_len}"))
    elif old["status"] == "fail" and new["status"] == "pass":
        change.improvements.append(Finding("holds", (old_len,), f"failed in the baseline at length {old_len}, holds now"))
    elif old["status"] == new["status"] == "fail" and old_len != new_len:
        unconfirmed = "" if old_confirmed and new_confirmed else " (a counterexample not confirmed minimal: sampled by Hypothesis)"
        detail = f"first fails at length {new_len}, {_order_words(new_len, old_len, space)}{unconfirmed}"
        if _order_key(new_len, space) < _order_key(old_len, space):
            change.regressions.append(Finding("counterexample", (new_len,), detail))
        else:
            change.improvements.append(Finding("counterexample", (new_len,), detail))
    old_acc, new_acc = old["accuracy_by_length"], new["accuracy_by_length"]
    if old_acc is not None and new_acc is not None:
        change.accuracy = {int(n): (old_acc[n], new_acc[n]) for n in new_acc if n in old_acc}
        worse = [n for n, (a, b) in change.accuracy.items() if b < a - tolerance - 1e-9]
        better = [n for n, (a, b) in change.accuracy.items() if b > a + tolerance + 1e-9]
        beyond = f" by more than {tolerance:g}" if tolerance else ""
        if worse:
            change.regressions.append(Finding("accuracy", tuple(worse), f"accuracy lower{beyond} at lengths {length_ranges(worse)}"))
        if better:
            change.improvements.append(Finding("accuracy", tuple(better), f"accuracy higher{beyond} at lengths {length_ranges(better)}"))
    elif (old_acc is None) != (new_acc is None):
        change.notes.append(
            f"accuracy not compared: {'the baseline' if old_acc is None else 'this report'} has none (lengths over its exhaustive budget)"
        )
    old_cells, new_cells = old["correct_by_length"], new["correct_by_length"]
    if old_cells is not None and new_cells is not None:
        change.cells = {
            int(n): (tuple(bool(c) for c in old_cells[n]), tuple(bool(c) for c in new_cells[n])) for n in new_cells if n in old_cells
        }
    return change


def compare(baseline: Mapping[str, Any], current: Mapping[str, Any], *, tolerance: float = 0.0, source: Source | None = None,
            diff: bool = False, baseline_shown: str | None = None) -> Comparison:
    """Compare two valid reports (dicts, as :func:`read_report` returns) of one pattern and range.

    ``source`` names ``baseline`` in errors (for ``diff``, it names the NEW report, ``current``); the comparison
    shows the baseline as ``baseline_shown`` (default: what ``source`` shows).
    """
    source = source or Source("baseline", "dict", path=False)
    require_same_range(baseline, current, source, diff=diff)
    old_by_name = {inv["name"]: inv for inv in baseline["invariants"]}
    new_names = {inv["name"] for inv in current["invariants"]}
    changes = [_compare_invariant(old_by_name[inv["name"]], inv, current, tolerance)
               for inv in current["invariants"] if inv["name"] in old_by_name]
    not_compared = {inv["name"]: "not in the baseline" for inv in current["invariants"] if inv["name"] not in old_by_name}
    not_compared.update({name: "in the baseline only, not checked now" for name in old_by_name if name not in new_names})
    notes = []
    if baseline["seed"] != current["seed"]:
        notes.append(f"the baseline was checked with seed {baseline['seed']}, this report with seed {current['seed']}")
    return Comparison(
        baseline=baseline_shown or (source.shown if source.path else f"<{source.shown}>"),
        baseline_model=baseline["model"]["name"],
        baseline_seed=baseline["seed"],
        tolerance=tolerance,
        space={key: current[key] for key in ("pattern", "alphabet_size", "train_length", "lengths")},
        invariants=changes,
        not_compared=not_compared,
        notes=notes,
    )


@dataclass(frozen=True)
class Baseline:
    """A validated baseline report, and how errors name it."""

    data: dict[str, Any]
    source: Source

    @classmethod
    def load(cls, source: object, *, name: str = "baseline") -> Baseline:
        """From a path to a JSON report, a :class:`~seqcheck.reports.report.Report` or its ``to_dict()``; a one-line error unless valid."""
        if isinstance(source, Baseline):
            return source
        data, src = read_report(source, name=name)
        return cls(data, src)

    def require_space(self, space) -> None:
        """A one-line error unless ``space`` (a :class:`~seqcheck.search.space.CheckSpace`) is the baseline's pattern and range."""
        require_same_range(self.data, space_settings(space), self.source)

    def compare(self, report, *, tolerance: float = 0.0) -> Comparison:
        """``report`` (a :class:`~seqcheck.reports.report.Report`) against this baseline."""
        current = report.to_dict()
        current.pop("comparison", None)
        return compare(self.data, current, tolerance=tolerance, source=self.source)


# -- reports read back, for `seqcheck diff` ---------------------------------------------------------------


def report_from_dict(data: Mapping[str, Any], task: Any = None):
    """A :class:`~seqcheck.reports.report.Report` rebuilt from a valid report's dict (:func:`read_report`), so that
    ``seqcheck diff`` writes the same text, JUnit and Markdown as a check (and another pytest-xdist worker the
    same as the one that checked).  A sequence task's report needs its ``task`` (a
    :class:`~seqcheck.tasks.SequenceTask` of the report's name), which a report names but cannot hold."""
    from seqcheck.invariants.base import Counterexample, FormResult, InvariantResult, Prediction
    from seqcheck.reports.report import Report
    from seqcheck.search.evaluation import INVALID
    from seqcheck.search.space import CheckSpace, SequenceSpace
    from seqcheck.tasks.patterns import Pattern

    sequence = data.get("task", {}).get("kind") == "sequence"
    if sequence and (task is None or task.name != data["task"]["name"]):
        raise ValueError(f"a report of task {data['task']['name']} is rebuilt with that task, not {task!r}")
    class_names = tuple(data["task"]["classes"]) if sequence else ()

    def prediction(p: Mapping[str, Any] | None) -> Prediction | None:
        if p is None:
            return None
        return Prediction(
            symbols=tuple(p["symbols"]), length=p["length"], phase=p["phase"], expected=p["expected"],
            predicted=INVALID if p["predicted"] is None else p["predicted"],
            confidence=float("nan") if p["confidence"] is None else p["confidence"],
            text=p.get("text") or "", class_names=class_names if p.get("text") else (),
        )

    def counterexample(cx: Mapping[str, Any] | None) -> Counterexample | None:
        if cx is None:
            return None
        window = prediction(cx["window"])
        return Counterexample(
            cx["invariant"], cx["form"], window, prediction(cx["other"]), cx["relation"] or "", cx["detail"] or "",
            key_length=None if cx["length"] == window.length else cx["length"],
        )

    results = []
    for inv in data["invariants"]:
        forms = [
            FormResult(
                form=f["form"], passed=f["passed"], cases=f["cases"], windows=f["windows"], exhaustive=f["exhaustive"],
                counterexample=counterexample(f["counterexample"]), minimal_confirmed=f["minimal_confirmed"],
                # the invariant's own counterexample first, as the check ranked it
                rank=(0,) if f["counterexample"] is not None and f["counterexample"] == inv["counterexample"] else (1,),
                exhaustive_through=f.get("exhaustive_through"), length_confirmed=bool(f.get("length_confirmed")),
                sampled=bool(f.get("sampled")),
            )
            for f in inv["forms"]
        ]
        accuracy, correct = inv["accuracy_by_length"], inv["correct_by_length"]
        results.append(InvariantResult(
            name=inv["name"], forms=forms, title=inv["title"], reproduce=data["reproduce"],
            accuracy_by_length=None if accuracy is None else {int(n): v for n, v in accuracy.items()},
            correct_by_length=None if correct is None else {int(n): tuple(bool(c) for c in row) for n, row in correct.items()},
            not_applicable=dict(inv["not_applicable"]),
        ))
    low, high = data["lengths"]["min"], data["lengths"]["max"]
    if sequence:
        space = SequenceSpace(task, low, high, data["train_length"])
    else:
        space = CheckSpace(Pattern.parse(data["pattern"], alphabet_size=data["alphabet_size"]), low, high, data["train_length"])
    return Report(
        model=data["model"]["name"], model_description=data["model"]["description"], space=space, seed=data["seed"],
        results=results, diagnosis=list(data["diagnosis"]), hints=list(data.get("hints", [])), reproduce=data["reproduce"],
        notes=list(data["notes"]),
        evaluation={key: value for key, value in data["model"].items() if key not in ("name", "description")} or {"engine": "native"},
    )


# -- the two accuracy curves ----------------------------------------------------------------------------

#: Okabe-Ito colours, told apart with any common colour blindness: the baseline black, now blue, regressions vermillion.
BASELINE_COLOUR, NOW_COLOUR, REGRESSION_COLOUR = "#000000", "#0072B2", "#D55E00"


def accuracy_change(comparison: Comparison) -> InvariantChange | None:
    """The compared invariant with accuracy by length in both reports (length generalization), if any."""
    with_accuracy = [c for c in comparison.invariants if c.accuracy]
    return next((c for c in with_accuracy if c.name == "length_generalization"), with_accuracy[0] if with_accuracy else None)


def comparison_figure(comparison: Comparison, *, title: str = ""):
    """The matplotlib figure of accuracy by length, the baseline's and now, regressed lengths marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    change = accuracy_change(comparison)
    lengths = sorted(change.accuracy)
    old = [change.accuracy[n][0] for n in lengths]
    new = [change.accuracy[n][1] for n in lengths]
    fig, ax = plt.subplots(figsize=(max(8.0, len(lengths) * 0.12), 3.6), dpi=100)
    ax.plot(lengths, old, color=BASELINE_COLOUR, linestyle="--", marker="o", markersize=3, label=f"baseline ({comparison.baseline})")
    ax.plot(lengths, new, color=NOW_COLOUR, linestyle="-", marker="o", markersize=3, label="now")
    worse = sorted({n for f in change.regressions if f.kind == "accuracy" for n in f.lengths})
    if worse:
        ax.scatter(worse, [change.accuracy[n][1] for n in worse], color=REGRESSION_COLOUR, marker="x", s=40, zorder=3,
                   label="regression")
    train = comparison.space["train_length"]
    if train is not None and lengths[0] <= train <= lengths[-1]:
        ax.axvline(train, color="grey", linestyle=":", linewidth=1.2, label=f"training length {train}")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("window length")
    ax.set_ylabel(f"accuracy ({change.title})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title(title or "accuracy by length: the baseline and now", fontsize=10)
    fig.tight_layout()
    return fig


def plot_comparison(comparison: Comparison, path: str | Path, *, title: str = "") -> Path:
    """Write the PNG of :func:`comparison_figure`; needs matplotlib."""
    import matplotlib.pyplot as plt

    fig = comparison_figure(comparison, title=title)
    target = Path(path)
    fig.savefig(target, format="png")
    plt.close(fig)
    return target


def diff(old: object, new: object, *, tolerance: float = 0.0):
    """``seqcheck diff OLD NEW``: the NEW report (rebuilt from its JSON) with its comparison against OLD; no model runs.

    Each is a path to a JSON report, a :class:`~seqcheck.reports.report.Report` or its ``to_dict()``, validated like a
    baseline; the two must share pattern and range.
    """
    tolerance = check_tolerance(tolerance, baseline=old)
    old_data, old_src = read_report(old, name="OLD")
    new_data, new_src = read_report(new, name="NEW")
    current = {key: value for key, value in new_data.items() if key != "comparison"}
    report = report_from_dict(current)
    report.comparison = compare(old_data, current, tolerance=tolerance, source=new_src, diff=True, baseline_shown=old_src.shown)
    return report


# -- tests: a regression fails, a known limit does not ------------------------------------------------------


def regression_error(report, invariant: object | None = None) -> AssertionError | None:
    """The :class:`~seqcheck.integrations.assertions.InvariantViolation` to raise for ``report``'s first regression (of ``invariant``
    only, when given: its identifier, title or the invariant), with the regression's lengths; None when none."""
    from seqcheck.integrations.assertions import InvariantViolation, violation_message

    comparison = report.comparison
    results = report.results if invariant is None else [report[invariant]]
    for result in results:
        text = comparison.junit_failure(result.name) if comparison is not None else None
        if text is not None:
            error = InvariantViolation(result)
            error.args = (text + ("" if result.passed else "\n" + violation_message(result)),)
            return error
    return None


def render_diff(report, new_shown: str) -> str:
    """What ``seqcheck diff`` prints: the NEW report named, then its comparison with OLD."""
    return "\n".join([f"report {new_shown} (model {report.model}, seed {report.seed})", *report.comparison.lines()])
