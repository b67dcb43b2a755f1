"""The pytest plugin: options, fixtures, marker, header, summary and report for behaviour tests.

Loaded through the ``pytest11`` entry point (disable it with ``-p no:seqcheck``).  It imports no
framework: models are loaded by the first test that needs one.  The hooks only read options and
delegate to the library (:class:`seqcheck.subject.Subject`, :mod:`seqcheck.reference`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from seqcheck.errors import SeqcheckError
from seqcheck.models.base import ENGINES
from seqcheck.patterns import Pattern
from seqcheck.profiles import DEFAULT_PROFILE, search_settings
from seqcheck.subject import Subject, battery_params

#: (option suffix, type, help); each is ``--seqcheck-<suffix>`` and ini ``seqcheck_<suffix>``.
OPTIONS = (
    ("model", str, "path of the .keras model to check (default: the built-in reference models)"),
    ("pattern", str, "the pattern the model was trained on, e.g. 11000"),
    ("train-length", int, "window length the model was trained on"),
    ("max-length", int, "longest window checked (default max(4N, 40))"),
    ("seed", int, "seed of Hypothesis's search (default 0)"),
    ("report", str, "write every checked model's results to this JSON file"),
    ("profile", str, "Hypothesis settings profile of the searches: dev, ci (default) or thorough"),
    ("engine", str, "how Keras models are evaluated: auto (default: NumPy when possible, verified), numpy or keras"),
)

_SUBJECTS = pytest.StashKey[list]()
_ROWS = pytest.StashKey[list]()
PROPERTY = "seqcheck"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("seqcheck", "seqcheck: behaviour tests of trained sequence models")
    for suffix, _, help_text in OPTIONS:
        group.addoption(f"--seqcheck-{suffix}", dest=f"seqcheck_{suffix.replace('-', '_')}", default=None, help=help_text)
        parser.addini(f"seqcheck_{suffix.replace('-', '_')}", help_text, default=None)
    group.addoption(
        "--seqcheck-unsafe-load", action="store_true", default=False,
        help="let a model file run the code it carries (Lambda layers): only for files you trust",
    )


def _option(config: pytest.Config, suffix: str) -> Any:
    key = f"seqcheck_{suffix.replace('-', '_')}"
    value = config.getoption(key) or config.getini(key)
    if value in (None, ""):
        return None
    kind = next(k for s, k, _ in OPTIONS if s == suffix)
    try:
        value = kind(value)
    except ValueError:
        raise pytest.UsageError(f"--seqcheck-{suffix}={value!r}: expected a whole number; pass e.g. --seqcheck-{suffix} 10") from None
    if kind is int and value < 0:
        raise pytest.UsageError(f"--seqcheck-{suffix}={value}: expected 0 or more; pass e.g. --seqcheck-{suffix} 10")
    return value


def configured_subjects(config: pytest.Config) -> list[Subject]:
    """The user's model when ``--seqcheck-model`` is given, else the built-in reference models."""
    if _SUBJECTS in config.stash:
        return config.stash[_SUBJECTS]
    seed = _option(config, "seed") or 0
    profile = _option(config, "profile") or DEFAULT_PROFILE
    try:
        search_settings(profile)
    except SeqcheckError as exc:
        raise pytest.UsageError(f"--seqcheck-{exc}") from None
    engine = _option(config, "engine") or "auto"
    if engine not in ENGINES:
        raise pytest.UsageError(f"--seqcheck-engine={engine!r}: expected one of {', '.join(ENGINES)}; leave it unset for auto")
    model, pattern = _option(config, "model"), _option(config, "pattern")
    if model is not None:
        if pattern is None:
            raise pytest.UsageError(f"--seqcheck-model={model!r} needs --seqcheck-pattern: the pattern the model was trained on")
        try:
            Pattern.parse(pattern)
        except SeqcheckError as exc:
            raise pytest.UsageError(str(exc)) from None
        subjects = [
            Subject(
                name=os.path.basename(model), model=model, pattern=pattern, train_length=_option(config, "train-length"),
                max_length=_option(config, "max-length"), seed=seed, profile=profile,
                allow_unsafe=config.getoption("seqcheck_unsafe_load"), engine=engine,
            )
        ]
    else:
        from seqcheck.reference import REFERENCE_MODELS

        subjects = [
            Subject.deferred(
                ref.name, ref.path, pattern=ref.pattern, train_length=ref.train_length,
                max_length=_option(config, "max-length"), seed=seed, profile=profile, known_violations=ref.known_violations,
                engine=engine,
            )
            for ref in REFERENCE_MODELS
        ]
    config.stash[_SUBJECTS] = subjects
    return subjects


def _share_cores_with_other_workers() -> None:
    """Under pytest-xdist, keep each worker's TensorFlow to its share of the cores (unless set)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        return
    share = str(max(1, (os.cpu_count() or 1) // workers))
    for variable, value in (("TF_NUM_INTRAOP_THREADS", share), ("TF_NUM_INTEROP_THREADS", "1"), ("OMP_NUM_THREADS", share)):
        os.environ.setdefault(variable, value)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "seqcheck: a behaviour test of a trained sequence model (select with -m seqcheck)")
    config.stash[_ROWS] = []
    config.pluginmanager.register(_Recorder(config), "seqcheck-recorder")
    _share_cores_with_other_workers()
    configured_subjects(config)  # bad options are a usage error before collection, not a collection error


def pytest_report_header(config: pytest.Config) -> str:
    seed = _option(config, "seed") or 0
    model = _option(config, "model")
    target = f"model {model}, pattern {_option(config, 'pattern')}" if model else "the built-in reference models"
    engine = _option(config, "engine")
    shown = f", engine {engine}" if engine not in (None, "auto") else ""
    return f"seqcheck: seed {seed}, profile {_option(config, 'profile') or DEFAULT_PROFILE}{shown}, checking {target}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``seqcheck_subject`` (and ``seqcheck_invariant``) over the configured models,
    unless the test declares its own (``@seqcheck.battery(...)``).

    A reference model's known violation becomes a strict xfail: the suite fails if seqcheck ever
    stops catching it.
    """
    if "seqcheck_subject" not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if "seqcheck_subject" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return
    subjects = configured_subjects(metafunc.config)
    if "seqcheck_invariant" not in metafunc.fixturenames:
        metafunc.parametrize("seqcheck_subject", subjects, ids=[s.name for s in subjects], scope="session")
        return
    metafunc.parametrize(("seqcheck_subject", "seqcheck_invariant"), battery_params(subjects))


@pytest.fixture
def seqcheck_model(seqcheck_subject: Subject) -> Any:
    """The model under test, as :func:`seqcheck.check` takes it (a path, a model or a callable)."""
    return seqcheck_subject.model() if seqcheck_subject.lazy else seqcheck_subject.model


@pytest.fixture
def seqcheck_pattern(seqcheck_subject: Subject) -> Pattern:
    """The pattern the model under test was trained on."""
    return Pattern.parse(seqcheck_subject.pattern)


@pytest.fixture
def seqcheck_check(request: pytest.FixtureRequest):
    """``seqcheck.check`` with the session's seed and profile: ``seqcheck_check(model, pattern=...)``."""
    from seqcheck.checking import check

    seed = _option(request.config, "seed") or 0
    profile = _option(request.config, "profile") or DEFAULT_PROFILE

    def run(model, **options):
        options.setdefault("seed", seed)
        options.setdefault("profile", profile)
        return check(model, **options)

    return run


@pytest.fixture
def seqcheck_result(request: pytest.FixtureRequest, seqcheck_subject: Subject, seqcheck_invariant):
    """The subject's result for the invariant; recorded for the terminal summary and ``--seqcheck-report``."""
    result = seqcheck_subject.result(seqcheck_invariant)
    row = {
        "model": seqcheck_subject.name,
        "pattern": seqcheck_subject.pattern,
        "train_length": seqcheck_subject.train_length,
        "known_violation": result.name in seqcheck_subject.known_violations,
        "result": result.to_dict(),
        "reproduce": result.reproduce,
    }
    request.node.user_properties.append((PROPERTY, row))  # travels from pytest-xdist workers too
    return result


class _Recorder:
    """Collects the rows the ``seqcheck_result`` fixture attached to test reports (from any worker), and puts
    them in the tests' collection order, so that the summary and the report read the same with and without
    pytest-xdist (whose workers finish in any order)."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.collected: dict[str, int] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = {item.nodeid: i for i, item in enumerate(session.items)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        """On the xdist controller, which collects nothing itself: every worker collects the same ids in order."""
        self.collected = {nodeid: i for i, nodeid in enumerate(ids)}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.config.stash[_ROWS] += [(report.nodeid, value) for name, value in report.user_properties if name == PROPERTY]

    def rows(self) -> list[dict]:
        """One row per model and invariant, in collection order."""
        ordered = sorted(self.config.stash[_ROWS], key=lambda entry: self.collected.get(entry[0], len(self.collected)))
        return _unique([row for _, row in ordered])

    def pytest_terminal_summary(self, terminalreporter) -> None:
        rows = self.rows()
        if not rows:
            return
        terminalreporter.section("seqcheck")
        width = max(len(row["model"]) for row in rows)
        for row in rows:
            result = row["result"]
            status = {"pass": "pass", "not applicable": "n/a"}.get(result["status"]) or ("FAIL (known)" if row["known_violation"] else "FAIL")
            line = f"{row['model']:<{width}}  {result['title']:<24} {status:<13} {result['windows']:>6} windows"
            cx = result["counterexample"]
            if cx is not None:
                confirmed = next(f["minimal_confirmed"] for f in result["forms"] if f["form"] == cx["form"])
                window = cx["window"]
                line += (
                    f"   {'minimal' if confirmed else 'shrunk'}: length {window['length']}, phase {window['phase']},"
                    f" expected {window['expected']}, predicted {window['predicted']} ({cx['form']})"
                )
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self) -> None:
        path = _option(self.config, "report")
        if path is None or hasattr(self.config, "workerinput"):
            return
        from seqcheck.cli import write_atomically

        data = {"version": 1, "seed": _option(self.config, "seed") or 0, "results": _unique(self.config.stash[_ROWS])}
        write_atomically(Path(path), json.dumps(data, indent=2) + "\n")


def _unique(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = (row["model"], row["result"]["name"])
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out
