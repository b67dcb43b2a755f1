"""The pytest plugin: options, fixtures, marker, header and summary for behaviour tests.

Loaded through the ``pytest11`` entry point (disable it with ``-p no:seqcheck``).  It imports no
framework: models are loaded by the first test that needs one.  The hooks only read options and
delegate to the library (:class:`seqcheck.subject.Subject`, :mod:`seqcheck.reference`).
"""

from __future__ import annotations

import os

import pytest

from seqcheck.errors import SeqcheckError
from seqcheck.invariants import DEFAULT_INVARIANTS
from seqcheck.patterns import Pattern
from seqcheck.subject import Subject

#: (option suffix, type, help); each is ``--seqcheck-<suffix>`` and ini ``seqcheck_<suffix>``.
OPTIONS = (
    ("model", str, "path of the .keras model to check (default: the built-in reference models)"),
    ("pattern", str, "the pattern the model was trained on, e.g. 11000"),
    ("train-length", int, "window length the model was trained on"),
    ("max-length", int, "longest window checked (default max(4N, 40))"),
    ("seed", int, "seed of Hypothesis's search (default 0)"),
)

_SUBJECTS = pytest.StashKey[list]()
_RESULTS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("seqcheck", "seqcheck: behaviour tests of trained sequence models")
    for suffix, _, help_text in OPTIONS:
        group.addoption(f"--seqcheck-{suffix}", dest=f"seqcheck_{suffix.replace('-', '_')}", default=None, help=help_text)
        parser.addini(f"seqcheck_{suffix.replace('-', '_')}", help_text, default=None)
    group.addoption(
        "--seqcheck-unsafe-load", action="store_true", default=False,
        help="let a model file run the code it carries (Lambda layers): only for files you trust",
    )


def _option(config: pytest.Config, suffix: str):
    key = f"seqcheck_{suffix.replace('-', '_')}"
    value = config.getoption(key) or config.getini(key)
    if value in (None, ""):
        return None
    kind = next(k for s, k, _ in OPTIONS if s == suffix)
    try:
        return kind(value)
    except ValueError:
        raise pytest.UsageError(f"--seqcheck-{suffix}={value!r}: expected a whole number; pass e.g. --seqcheck-{suffix} 10") from None


def configured_subjects(config: pytest.Config) -> list[Subject]:
    """The user's model when ``--seqcheck-model`` is given, else the built-in reference models."""
    if _SUBJECTS in config.stash:
        return config.stash[_SUBJECTS]
    seed = _option(config, "seed") or 0
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
                max_length=_option(config, "max-length"), seed=seed, allow_unsafe=config.getoption("seqcheck_unsafe_load"),
            )
        ]
    else:
        from seqcheck.reference import REFERENCE_MODELS

        subjects = [
            Subject.deferred(
                ref.name, ref.path, pattern=ref.pattern, train_length=ref.train_length,
                max_length=_option(config, "max-length"), seed=seed, known_violations=ref.known_violations,
            )
            for ref in REFERENCE_MODELS
        ]
    config.stash[_SUBJECTS] = subjects
    return subjects


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "seqcheck: a behaviour test of a trained sequence model (select with -m seqcheck)")
    config.stash[_RESULTS] = []
    configured_subjects(config)  # bad options are a usage error before collection, not a collection error


def pytest_report_header(config: pytest.Config) -> str:
    seed = _option(config, "seed") or 0
    model = _option(config, "model")
    target = f"model {model}, pattern {_option(config, 'pattern')}" if model else "the built-in reference models"
    return f"seqcheck: seed {seed}, checking {target}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``seqcheck_subject`` (and ``seqcheck_invariant``) over the configured models.

    A reference model's known violation becomes a strict xfail: the suite fails if seqcheck ever
    stops catching it.
    """
    if "seqcheck_subject" not in metafunc.fixturenames:
        return
    subjects = configured_subjects(metafunc.config)
    if "seqcheck_invariant" not in metafunc.fixturenames:
        metafunc.parametrize("seqcheck_subject", subjects, ids=[s.name for s in subjects], scope="session")
        return
    params = []
    for subject in subjects:
        for invariant in DEFAULT_INVARIANTS:
            marks = []
            if invariant.name in subject.known_violations:
                marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"{subject.name} is known to violate {invariant.name}"))
            params.append(pytest.param(subject, invariant, marks=marks, id=f"{subject.name}-{invariant.name.replace(' ', '-')}"))
    metafunc.parametrize(("seqcheck_subject", "seqcheck_invariant"), params)


@pytest.fixture
def seqcheck_check(request: pytest.FixtureRequest):
    """``seqcheck.check`` with the session's seed: ``seqcheck_check(model, pattern=...)``."""
    from seqcheck.checking import check

    seed = _option(request.config, "seed") or 0

    def run(model, **options):
        options.setdefault("seed", seed)
        return check(model, **options)

    return run


@pytest.fixture
def seqcheck_result(request: pytest.FixtureRequest, seqcheck_subject: Subject, seqcheck_invariant):
    """The subject's result for the invariant, recorded for the terminal summary."""
    result = seqcheck_subject.result(seqcheck_invariant)
    request.config.stash[_RESULTS].append((seqcheck_subject, result))
    return result


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    rows = config.stash.get(_RESULTS, [])
    if not rows:
        return
    terminalreporter.section("seqcheck")
    seen = set()
    for subject, result in rows:
        if (subject.name, result.name) in seen:
            continue
        seen.add((subject.name, result.name))
        status = "pass" if result.passed else ("FAIL (known)" if result.name in subject.known_violations else "FAIL")
        line = f"{subject.name:<8} {result.name:<24} {status:<13} {result.windows:>6} windows"
        cx = result.counterexample
        if cx is not None:
            line += f"   minimal: length {cx.length}, phase {cx.phase}, expected {cx.expected}, predicted {cx.predicted} ({cx.form})"
        terminalreporter.write_line(line)
