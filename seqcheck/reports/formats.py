"""A report in the formats CI systems read: JUnit XML (one test case per invariant) and Markdown.

JUnit: ``<testsuite name="seqcheck">`` holds one ``<testcase>`` per invariant; a violated one has
a ``<failure>`` whose message is the first line of the violation and whose text is the readable
counterexample with its reproduce line.  Markdown: a summary fit for a CI job summary (GitHub's
``$GITHUB_STEP_SUMMARY``, GitLab's report artifacts).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from seqcheck.integrations.assertions import violation_message
from seqcheck.errors import printable
from seqcheck.invariants.base import FAIL, NOT_APPLICABLE, PASS
from seqcheck.reports.report import Report, accuracy_text, compressed_accuracy_text, counterexample_heading


def to_junit_xml(report: Report) -> str:
    """Against a baseline (``report.comparison``), a test case fails for a regression only, and says so with its
    lengths; a violation the baseline had too is in the case's output."""
    comparison = report.comparison
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="seqcheck",
        tests=str(len(report.results)),
        failures=str(len(report.failures if comparison is None else comparison.regressions)),
        errors="0",
        skipped="0",
    )
    properties = ET.SubElement(suite, "properties")
    space = report.space
    for name, value in (
        ("model", report.model),
        *((("task", space.task.name),) if report.sequence else (("pattern", space.pattern.text),)),
        ("train_length", space.train_length),
        ("lengths", f"{space.min_length}..{space.max_length}"),
        ("seed", report.seed),
        ("reproduce", report.reproduce),
        *(() if comparison is None else (
            ("baseline", comparison.baseline), ("comparison", "no regression" if comparison.passed else "regression"),
        )),
    ):
        ET.SubElement(properties, "property", name=name, value="" if value is None else str(value))
    for result in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"seqcheck.{Path(report.model).name}", name=result.title)
        if comparison is not None:
            regression = comparison.junit_failure(result.name)
            known = "" if result.passed else "\n" + violation_message(result)
            if regression is not None:
                failure = ET.SubElement(case, "failure", message=regression.splitlines()[0], type="Regression")
                failure.text = regression + known
            else:
                ET.SubElement(case, "system-out").text = comparison.junit_note(result.name) + known
        elif not result.passed:
            message = violation_message(result)
            failure = ET.SubElement(case, "failure", message=message.splitlines()[0], type="InvariantViolation")
            failure.text = message
    ET.indent(suites)
    # printable: an escape sequence from a model file reaches no CI log raw, and the XML stays valid
    return '<?xml version="1.0" encoding="utf-8"?>\n' + printable(ET.tostring(suites, encoding="unicode")) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(report: Report) -> str:
    space = report.space
    status = "pass" if report.passed else "FAIL"
    if report.comparison is not None:
        status = "no regression" if report.passed else "REGRESSION"
    lines = [
        f"## seqcheck: `{report.model}` -- {status}",
        "",
        f"{report.model_description}; {space.describe()}; seed {report.seed}",
        "",
        f"| invariant | result | {'inputs' if report.sequence else 'windows'} | counterexample |",
        "|---|---|---:|---|",
    ]
    for result in report.results:
        cx = result.counterexample
        where = "" if cx is None else (
            f"{counterexample_heading(result).rstrip(':')} input `{cx.window.shown()}` (length {cx.window.length}):"
            f" {cx.window.describe()}{cx.window.expected_text()}" if report.sequence else
            f"{counterexample_heading(result).rstrip(':')} length {cx.window.length}, phase {cx.phase}:"
            f" predicted {cx.predicted}, expected {cx.expected}"
        )
        mark = {PASS: "pass", FAIL: "**FAIL**", NOT_APPLICABLE: "n/a"}[result.status]
        lines.append(f"| {result.title} | {mark} | {result.windows} | {_cell(where)} |")
    for result in report.results:
        if result.accuracy_by_length:
            text = compressed_accuracy_text(result.accuracy_by_length) if report.sequence else accuracy_text(result.accuracy_by_length)
            lines += ["", f"Accuracy by length: `{text}`"]
    if report.comparison is not None:
        lines += report.comparison.markdown_lines()
    if report.failures:
        lines += ["", "<details><summary>Counterexamples</summary>", "", "```"]
        for result in report.failures:
            lines += [violation_message(result), ""]
        lines += ["```", "", "</details>"]
    lines += [f"\n**Diagnosis:** {text}" for text in report.diagnosis]
    lines += [f"\n**Hint:** {text}" for text in report.hints]
    lines += ["", f"Reproduce: `{report.reproduce}`", ""]
    return printable("\n".join(lines))
