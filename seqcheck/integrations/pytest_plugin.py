"""The pytest plugin: options, fixtures, marker, header, summary and report for behaviour tests.

Loaded through the ``pytest11`` entry point (disable it with ``-p no:seqcheck``).  It is a guest in
other people's projects: loading it imports pytest and the standard library only, and, like
Hypothesis's plugin, it does nothing until the project uses it -- a ``--seqcheck-*`` option or
``seqcheck_*`` ini key (header, option checks at start-up), or a test that asks for a seqcheck
fixture (marker, ``xdist_group`` and thread share under pytest-xdist).  It never picks a model for the
project: a test that asks for ``seqcheck_result`` with no model configured or declared is a usage
error.  The hooks only read options and delegate to the library (:class:`seqcheck.integrations.subject.Subject`,
:mod:`seqcheck.training.reference`), which they import when first needed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from seqcheck.tasks import Task
    from seqcheck.tasks.patterns import Pattern
    from seqcheck.integrations.subject import Subject

#: (option suffix, type, help); each is ``--seqcheck-<suffix>`` and ini ``seqcheck_<suffix>``.
OPTIONS = (
    ("model", Path, "path of the model file to check: .keras, .pt2 or .onnx (in an ini file, from that file's folder)"),
    ("pattern", str, "the pattern the model was trained on, e.g. 11000 (or give --seqcheck-task)"),
    ("task", str, "the sequence task the model was trained on: a built-in's name (parity, even-pairs, modular-arithmetic,"
     " cycle-navigation, dyck-1) or module:attr naming your own (or give --seqcheck-pattern)"),
    ("train-length", int, "window length the model was trained on (a task: the longest input length)"),
    ("max-length", int, "longest window or input checked (default max(4N, 40))"),
    ("seed", int, "seed of Hypothesis's search (default 0)"),
    ("report", Path, "write every checked model's results to this JSON file (in an ini file, from that file's folder)"),
    ("profile", str, "Hypothesis settings profile of the searches: dev, ci (default) or thorough"),
    ("engine", str, "how Keras models are evaluated: auto (default: NumPy when possible, verified), numpy or keras"),
    ("causal", str, "whether a pattern's windows are judged by prefix passes: auto (default: where the model is proven"
     " causal), yes (your word: its per-step outputs predict every prefix) or no (window by window)"),
    ("baseline", Path, "the predecessor's report (seqcheck check --json) on the same pattern and range (patterns only): only a regression"
     " fails, a violation it had too is an expected failure (in an ini file, from that file's folder)"),
)

#: The fixtures a test checks a model through; a test that uses one gets the ``seqcheck`` marker.
FIXTURES = frozenset(
    {"seqcheck_subject", "seqcheck_invariant", "seqcheck_result", "seqcheck_model", "seqcheck_pattern", "seqcheck_task",
     "seqcheck_check"}
)

_SUBJECTS = pytest.StashKey[list]()
_ROWS = pytest.StashKey[list]()
_PARAMETRIZED = pytest.StashKey[bool]()
PROPERTY = "seqcheck"
#: How the message of a test with no model to check begins (it travels from xdist workers as text).
_NO_MODEL = "seqcheck: no model to check"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("seqcheck", "seqcheck: behaviour tests of trained sequence models")
    for suffix, _, help_text in OPTIONS:
        group.addoption(f"--seqcheck-{suffix}", dest=_key(suffix), default=None, help=help_text)
        parser.addini(_key(suffix), help_text, default=None)
    group.addoption(
        "--seqcheck-unsafe-load", action="store_true", default=False,
        help="let a model file run the code it carries (Lambda layers): only for files you trust",
    )


def _key(suffix: str) -> str:
    return f"seqcheck_{suffix.replace('-', '_')}"


def _given(config: pytest.Config, suffix: str) -> tuple[str | None, str | None]:
    """The option's text as the user gave it, and where: ``"cli"``, ``"ini"`` or ``None`` (not given)."""
    value = config.getoption(_key(suffix))
    if value not in (None, ""):
        return value, "cli"
    value = config.getini(_key(suffix))
    if value not in (None, ""):
        return value, "ini"
    return None, None


def in_use(config: pytest.Config) -> bool:
    """Whether the run gives any seqcheck option or ini key: until it does, the plugin stays silent."""
    return bool(config.getoption("seqcheck_unsafe_load")) or any(_given(config, s)[1] for s, _, _ in OPTIONS)


def model_configured(config: pytest.Config) -> bool:
    """Whether ``--seqcheck-model`` (or ini ``seqcheck_model``) names the model to check."""
    return _given(config, "model")[1] is not None


def _spelled(config: pytest.Config, suffix: str, value: Any, source: str | None) -> str:
    if source == "ini":
        where = f" in {config.inipath}" if config.inipath else ""
        return f"{_key(suffix)} = {value}{where}"
    return f"--seqcheck-{suffix}={value!r}"


def _base(config: pytest.Config, source: str) -> Path:
    """The folder a relative path is read from: the current folder on the command line, the ini file's
    folder in an ini file (the root folder when the value comes from ``-o`` with no ini file)."""
    if source == "cli":
        return Path(config.invocation_params.dir)
    return config.inipath.parent if config.inipath else config.rootpath


def _option(config: pytest.Config, suffix: str) -> Any:
    """The option's value, typed; a path is read from the current folder on the command line and from
    the ini file's folder in an ini file, as pytest users expect."""
    value, source = _given(config, suffix)
    if source is None:
        return None
    kind = next(k for s, k, _ in OPTIONS if s == suffix)
    if kind is Path:
        # ~ expanded, and in an ini file $VARS too, as pytest reads its own ini paths (cache_dir)
        value = os.path.expanduser(value) if source == "cli" else os.path.expandvars(os.path.expanduser(value))
        return Path(os.path.normpath(_base(config, source) / value))
    try:
        value = kind(value)
    except ValueError:
        raise pytest.UsageError(
            f"{_spelled(config, suffix, value, source)}: expected a whole number; pass e.g. --seqcheck-{suffix} 10"
        ) from None
    if kind is int and value < 0:
        raise pytest.UsageError(f"{_spelled(config, suffix, value, source)}: expected 0 or more; pass e.g. --seqcheck-{suffix} 10")
    return value


def check_options(config: pytest.Config) -> dict[str, Any]:
    """The session's options of every check (seed, profile, max length, engine), validated: for the
    subjects a conftest declares, e.g. ``seqcheck.training.reference.subjects(**check_options(config))``."""
    from seqcheck.errors import SeqcheckError
    from seqcheck.models.base import CAUSAL_CHOICES, ENGINES
    from seqcheck.search.profiles import DEFAULT_PROFILE, search_settings

    profile = _option(config, "profile") or DEFAULT_PROFILE
    try:
        search_settings(profile)
    except SeqcheckError as exc:
        raise pytest.UsageError(f"--seqcheck-{exc}") from None
    engine = _option(config, "engine") or "auto"
    if engine not in ENGINES:
        raise pytest.UsageError(f"--seqcheck-engine={engine!r}: expected one of {', '.join(ENGINES)}; leave it unset for auto")
    causal = _option(config, "causal") or "auto"
    if causal not in CAUSAL_CHOICES:
        raise pytest.UsageError(f"--seqcheck-causal={causal!r}: expected one of {', '.join(CAUSAL_CHOICES)}; leave it unset for auto")
    return {
        "seed": _option(config, "seed") or 0, "profile": profile, "max_length": _option(config, "max-length"), "engine": engine,
        "causal": causal,
    }


def configured_subjects(config: pytest.Config) -> list[Subject]:
    """The model given with ``--seqcheck-model`` (or ini ``seqcheck_model``), checked for an existing file and
    exactly one usable pattern or task; no model, no subjects: the plugin never picks one itself.  A task is
    resolved whenever given (its module imported), so that a bad one is a usage error at start-up."""
    if _SUBJECTS in config.stash:
        return config.stash[_SUBJECTS]
    options = check_options(config)
    subjects = []
    task = _task(config)
    if not model_configured(config) and _given(config, "baseline")[1] is not None:
        given, source = _given(config, "baseline")
        raise pytest.UsageError(
            f"{_spelled(config, 'baseline', given, source)} needs --seqcheck-model (ini seqcheck_model): the model gated against it"
        )
    if model_configured(config):
        from seqcheck.errors import SeqcheckError
        from seqcheck.tasks.patterns import Pattern
        from seqcheck.integrations.subject import Subject

        given, source = _given(config, "model")
        model, pattern = _option(config, "model"), _option(config, "pattern")
        model_spelled = _spelled(config, "model", given, source)
        if not model.is_file():
            problem = "is a folder, not a model file" if model.is_dir() else "no such file"
            if not os.path.isabs(os.path.expanduser(given)):
                read_from = "a path in an ini file is read from its folder" if source == "ini" else "a command-line path is read from the current folder"
                problem += f": {model} ({read_from})"
            raise pytest.UsageError(f"{model_spelled}: {problem}")
        if pattern is None and task is None:
            raise pytest.UsageError(
                f"{model_spelled} needs --seqcheck-pattern or --seqcheck-task (ini seqcheck_pattern, seqcheck_task): what the"
                " model was trained on; pass e.g. --seqcheck-pattern 11000 or --seqcheck-task parity"
            )
        if pattern is not None and task is not None:
            raise pytest.UsageError(
                f"{_spelled(config, 'pattern', *_given(config, 'pattern'))} and {_spelled(config, 'task', *_given(config, 'task'))}"
                f" both given: {model_spelled} is checked on one task; drop one of them"
            )
        if task is not None:
            if _given(config, "baseline")[1] is not None:
                raise pytest.UsageError(
                    f"{_spelled(config, 'baseline', *_given(config, 'baseline'))}: expected no baseline with"
                    f" {_spelled(config, 'task', *_given(config, 'task'))}: baselines compare pattern (stream-task) reports;"
                    " drop --seqcheck-baseline"
                )
            baseline = None
        else:
            try:
                Pattern.parse(pattern)
            except SeqcheckError as exc:
                message = str(exc)
                raise pytest.UsageError(f"--seqcheck-{message}" if message.startswith("pattern=") else message) from None
            baseline = _baseline(config, pattern, _option(config, "train-length"), options["max_length"])
        subjects.append(
            Subject(
                name=model.name, model=str(model), pattern=pattern, task=task, train_length=_option(config, "train-length"),
                allow_unsafe=config.getoption("seqcheck_unsafe_load"), baseline=baseline, **options,
            )
        )
    config.stash[_SUBJECTS] = subjects
    return subjects


def _task(config: pytest.Config) -> str | None:
    """The ``--seqcheck-task`` as given, resolved once to check it (a bad name or module is a usage error at
    start-up, before any model is loaded), or None."""
    given, source = _given(config, "task")
    if source is None:
        return None
    from seqcheck.errors import SeqcheckError
    from seqcheck.tasks import resolve_task

    try:
        resolve_task(given)
    except SeqcheckError as exc:
        problem = str(exc).split(": expected ", 1)[-1]
        raise pytest.UsageError(f"{_spelled(config, 'task', given, source)}: expected {problem}") from None
    return given


def _baseline(config: pytest.Config, pattern: str, train_length: int | None, max_length: int | None):
    """The ``--seqcheck-baseline`` report, validated and on the check's pattern and range, or None: a bad one is
    a usage error at start-up, not an error in every test."""
    given, source = _given(config, "baseline")
    if source is None:
        return None
    from seqcheck.reports.baseline import Baseline
    from seqcheck.errors import SeqcheckError
    from seqcheck.tasks.patterns import Pattern
    from seqcheck.search.space import CheckSpace

    try:
        baseline = Baseline.load(_option(config, "baseline"))
        baseline.require_space(CheckSpace.build(Pattern.parse(pattern), train_length=train_length, max_length=max_length))
    except SeqcheckError as exc:
        problem = str(exc).split(": expected ", 1)[-1]
        raise pytest.UsageError(f"{_spelled(config, 'baseline', given, source)}: expected {problem}") from None
    return baseline


def header(config: pytest.Config, target: str) -> str:
    """The header line: the session's seed, profile and engine, and what is checked."""
    options = check_options(config)
    engine = f", engine {options['engine']}" if options["engine"] != "auto" else ""
    engine += f", causal {options['causal']}" if options["causal"] != "auto" else ""
    return f"seqcheck: seed {options['seed']}, profile {options['profile']}{engine}, checking {target}"


def _share_cores_with_other_workers() -> None:
    """Under pytest-xdist, keep each worker's frameworks to its share of the cores (unless set): TensorFlow's thread
    pools, and OpenMP's, which PyTorch and BLAS use. Only the variables are set: no framework is imported."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        return
    share = str(max(1, (os.cpu_count() or 1) // workers))
    for variable, value in (("TF_NUM_INTRAOP_THREADS", share), ("TF_NUM_INTEROP_THREADS", "1"), ("OMP_NUM_THREADS", share)):
        os.environ.setdefault(variable, value)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "seqcheck: a test that checks a model (added to every test that uses a seqcheck fixture)")
    config.stash[_ROWS] = []
    config.pluginmanager.register(_Recorder(config), "seqcheck-recorder")
    config.pluginmanager.register(_NoModel(config), "seqcheck-no-model")
    if in_use(config):
        configured_subjects(config)  # bad options are one usage error at start-up, not errors in every test


def pytest_report_header(config: pytest.Config) -> str | None:
    if not in_use(config):
        return None
    model, baseline, task = _option(config, "model"), _option(config, "baseline"), _option(config, "task")
    against = f", against baseline {baseline}" if baseline is not None else ""
    on = f"task {task}" if task is not None else f"pattern {_option(config, 'pattern')}"
    return header(config, f"model {model}, {on}{against}" if model else "the models the tests declare")


def declared(metafunc: pytest.Metafunc) -> bool:
    """Whether the test's models are already given: ``@seqcheck.battery(...)`` or :func:`parametrize`."""
    if metafunc.definition.stash.get(_PARAMETRIZED, False):
        return True
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if "seqcheck_subject" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return True
    return False


def parametrize(metafunc: pytest.Metafunc, subjects: Sequence[Subject]) -> None:
    """Parametrize a test's ``seqcheck_subject`` (and ``seqcheck_invariant``: the battery, a known
    violation a strict xfail) over ``subjects``, unless its models are declared already.  What the
    plugin does with the configured model; a conftest's ``pytest_generate_tests`` calls it to check
    models of its own choosing when none is configured (seqcheck's ``properties/conftest.py``)."""
    if "seqcheck_subject" not in metafunc.fixturenames or declared(metafunc):
        return
    from seqcheck.integrations.subject import battery_params

    metafunc.definition.stash[_PARAMETRIZED] = True
    if "seqcheck_invariant" not in metafunc.fixturenames:
        metafunc.parametrize("seqcheck_subject", subjects, ids=[s.name for s in subjects], scope="session")
    else:
        metafunc.parametrize(("seqcheck_subject", "seqcheck_invariant"), battery_params(subjects))


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``seqcheck_subject`` (and ``seqcheck_invariant``) over the configured model, unless
    the test declares its own (``@seqcheck.battery(...)``) or a conftest did (:func:`parametrize`).

    With neither, the test has no model to check: a usage error (see :class:`_NoModel`)."""
    if "seqcheck_subject" not in metafunc.fixturenames or declared(metafunc):
        return
    subjects = configured_subjects(metafunc.config)
    if not subjects:
        used = sorted(FIXTURES.intersection(metafunc.definition.fixturenames) - {"seqcheck_subject", "seqcheck_invariant"})
        pytest.fail(
            f"{_NO_MODEL} for {metafunc.definition.nodeid}, which uses {', '.join(used) or 'seqcheck_subject'}: "
            "pass --seqcheck-model PATH with --seqcheck-pattern P or --seqcheck-task T (or set seqcheck_model and"
            " seqcheck_pattern or seqcheck_task in the ini file), "
            "or declare the test's models with @seqcheck.battery(...)",
            pytrace=False,
        )
    parametrize(metafunc, subjects)


class _NoModel:
    """Makes a test with no model to check a usage error: pytest exits with code 4 and the message.

    The test's collection fails with the message (:func:`pytest_generate_tests`); this turns that
    report into a usage error where the run is controlled -- the pytest process, or pytest-xdist's
    controller, to which a worker sends the report (a worker itself cannot end the run cleanly)."""

    def __init__(self, config: pytest.Config):
        self.config = config

    @pytest.hookimpl(tryfirst=True)  # before the terminal lists it as a collection error as well
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and not hasattr(self.config, "workerinput") and str(report.longrepr).startswith(_NO_MODEL):
            raise pytest.UsageError(str(report.longrepr))


def pytest_itemcollected(item: pytest.Item) -> None:
    """A test that checks a model gets the ``seqcheck`` marker (``pytest -m seqcheck``), before any
    plugin selects by markers.  Under pytest-xdist, the tests of one model share one ``xdist_group``
    named after it, so that ``--dist loadgroup`` sends them to one worker, which computes the battery once."""
    if FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
        return
    if item.get_closest_marker("seqcheck") is None:
        item.add_marker(pytest.mark.seqcheck)
    callspec = getattr(item, "callspec", None)
    name = getattr(callspec.params.get("seqcheck_subject") if callspec is not None else None, "name", None)
    if name is not None and item.config.pluginmanager.hasplugin("xdist"):  # xdist registers the marker
        item.add_marker(pytest.mark.xdist_group(f"seqcheck-{name}"))


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.get_closest_marker("seqcheck") is not None for item in session.items):
        _share_cores_with_other_workers()


@pytest.fixture
def seqcheck_model(seqcheck_subject: Subject) -> Any:
    """The model under test, as :func:`seqcheck.check` takes it (a path, a model or a callable)."""
    return seqcheck_subject.model() if seqcheck_subject.lazy else seqcheck_subject.model


@pytest.fixture
def seqcheck_pattern(seqcheck_subject: Subject) -> Pattern:
    """The pattern the model under test was trained on (a subject checked on a pattern)."""
    from seqcheck.tasks.patterns import Pattern

    if seqcheck_subject.pattern is None:
        pytest.fail(
            f"seqcheck_pattern: {seqcheck_subject.name} is checked on task {seqcheck_subject.task_reference()}, which has no"
            " pattern; ask for seqcheck_task instead",
            pytrace=False,
        )
    return Pattern.parse(seqcheck_subject.pattern)


@pytest.fixture
def seqcheck_task(seqcheck_subject: Subject) -> Task:
    """The task the model under test is checked on: its sequence task, or the stream of its pattern
    (:class:`~seqcheck.tasks.StreamTask`)."""
    return seqcheck_subject.resolved_task()


@pytest.fixture
def seqcheck_check(request: pytest.FixtureRequest):
    """``seqcheck.check`` with the session's seed and profile: ``seqcheck_check(model, task=...)`` or ``(model, pattern=...)``."""
    from seqcheck.checking import check

    options = check_options(request.config)

    def run(model, **kwargs):
        kwargs.setdefault("seed", options["seed"])
        kwargs.setdefault("profile", options["profile"])
        return check(model, **kwargs)

    return run


@pytest.fixture
def seqcheck_result(request: pytest.FixtureRequest, seqcheck_subject: Subject, seqcheck_invariant):
    """The subject's result for the invariant; recorded for the terminal summary and ``--seqcheck-report``.

    Against a baseline (``Subject(baseline=...)``, ``--seqcheck-baseline``), a violation the baseline had too,
    no worse, is an expected failure (xfail), and a regression's lengths are shown beside the test's failure.

    Under pytest-xdist the subject's battery runs once per run, in whichever worker asks first: the workers'
    temporary folders share a parent (the run's), where the report is left for the others."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_folder = request.getfixturevalue("tmp_path_factory").getbasetemp().parent
        seqcheck_subject.shared_report(run_folder / "seqcheck-reports")
    result = seqcheck_subject.result(seqcheck_invariant)
    comparison = seqcheck_subject.report().comparison if getattr(seqcheck_subject, "baseline", None) is not None else None
    regression = None if comparison is None else comparison.junit_failure(result.name)
    row = {
        "model": seqcheck_subject.name,
        "pattern": seqcheck_subject.pattern,
        "task": seqcheck_subject.task_reference(),
        "classes": None if seqcheck_subject.task is None else list(seqcheck_subject.resolved_task().classes),
        "train_length": seqcheck_subject.train_length,
        "known_violation": result.name in seqcheck_subject.known_violations or (
            comparison is not None and regression is None and not result.passed
        ),
        "result": result.to_dict(),
        "reproduce": result.reproduce,
    }
    if comparison is not None:
        row["regression"] = regression is not None
        row["baseline"] = comparison.baseline
    request.node.user_properties.append((PROPERTY, row))  # travels from pytest-xdist workers too
    if regression is not None:
        request.node.add_report_section("call", "seqcheck regression", regression)
    elif comparison is not None and not result.passed:
        pytest.xfail(f"known limit: {result.title} fails as in the baseline {comparison.baseline}, no worse")
    return result


class _Recorder:
    """Collects the rows the ``seqcheck_result`` fixture attached to test reports (from any worker), and puts
    them in the tests' collection order, so that the summary and the report read the same with and without
    pytest-xdist (whose workers finish in any order)."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.ids: Sequence[str] | None = None
        self.session: pytest.Session | None = None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.session = session  # the order is read only if there are rows to order

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        """On the xdist controller, which collects nothing itself: every worker collects the same ids in order."""
        self.ids = ids

    def rows(self) -> list[dict]:
        """One row per model and invariant, in collection order."""
        rows = self.config.stash[_ROWS]
        if not rows:
            return []
        ids = self.ids if self.ids is not None else [item.nodeid for item in (self.session.items if self.session else ())]
        collected = {nodeid: i for i, nodeid in enumerate(ids)}
        ordered = sorted(rows, key=lambda entry: collected.get(entry[0], len(collected)))
        return _unique([row for _, row in ordered])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and hasattr(report, "wasxfail")):  # a known limit: xfail in setup
            self.config.stash[_ROWS] += [(report.nodeid, value) for name, value in report.user_properties if name == PROPERTY]

    def pytest_terminal_summary(self, terminalreporter) -> None:
        rows = self.rows()
        if not rows:
            return
        terminalreporter.section("seqcheck")
        width = max(len(row["model"]) for row in rows)
        for row in rows:
            result = row["result"]
            status = {"pass": "pass", "not applicable": "n/a"}.get(result["status"]) or (
                "REGRESSION" if row.get("regression") else "FAIL (known)" if row["known_violation"] else "FAIL"
            )
            unit = "inputs" if row.get("task") else "windows"
            line = f"{row['model']:<{width}}  {result['title']:<24} {status:<13} {result['windows']:>6} {unit}"
            cx = result["counterexample"]
            if cx is not None:
                line += "   " + _summary_counterexample(result, cx, row.get("classes"))
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self) -> None:
        path = _option(self.config, "report")
        if path is None or hasattr(self.config, "workerinput"):
            return
        from seqcheck.files import write_atomically

        data = {"version": 1, "seed": _option(self.config, "seed") or 0, "results": self.rows()}
        write_atomically(Path(path), json.dumps(data, indent=2) + "\n")


def _summary_counterexample(result: dict, cx: dict, classes: list[str] | None) -> str:
    """A counterexample in the summary's one line: where it is (a window's length and phase, an input's length and
    symbols), what was expected and predicted (a task's class names), and its form."""
    form = next(f for f in result["forms"] if f["form"] == cx["form"])
    kind = "minimal" if form["minimal_confirmed"] else "sampled" if form.get("sampled") else "shrunk"
    window = cx["window"]

    def named(index: int | None) -> str:
        return str(index) if index is None or not classes or not 0 <= index < len(classes) else classes[index]

    if window.get("text") is None:  # a pattern's window
        return (
            f"{kind}: length {window['length']}, phase {window['phase']}, expected {window['expected']},"
            f" predicted {window['predicted']} ({cx['form']})"
        )
    other = cx.get("other")
    if other is not None and other.get("text") is not None:  # a pair of inputs (a metamorphic relation): both answers
        related = f"{cx['relation'] or 'related'}: input {_shown(other)}"
        return (
            f"{kind}: length {window['length']}, input {_shown(window)} predicted {named(window['predicted'])},"
            f" {related} predicted {named(other['predicted'])} ({cx['form']})"
        )
    expected = f", expected {named(window['expected'])}" if window["expected"] is not None else ""
    return f"{kind}: length {window['length']}, input {_shown(window)}{expected}, predicted {named(window['predicted'])} ({cx['form']})"


def _shown(window: dict) -> str:
    """An input of the JSON report as the failure shows it (:meth:`~seqcheck.invariants.base.Prediction.shown`)."""
    from seqcheck.invariants.base import Prediction

    return Prediction(tuple(window["symbols"]), window["length"], None, None, 0, 0.0, text=window["text"]).shown()


def _unique(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = (row["model"], row["result"]["name"])
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out
