"""Recipes checked across seeds (seqcheck.training.seeds, issue #14): specs, per-seed rows, statistics, workers.

Stub recipes (numpy callables, no training) live in a module written into ``tmp_path`` and named as
``module:function``, as a user's recipe is; worker processes must import it too.  For pattern 11000
and N=10, ``Exact`` holds every invariant and ``StartAnchored`` fails length generalization at
length 11, phase 1; ``by_seed`` holds when ``seed % 3 == 0``: of seeds 0..5, 0 and 3 hold.
Only the test marked slow trains (the built-in fixed-window recipe, 2 seeds, through the model cache).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import uuid

import pytest

from seqcheck.errors import InvalidArgument
from seqcheck.tasks.patterns import Pattern
from seqcheck.training.recipes import RECIPES
from seqcheck.training.seeds import (
    DIED, ERROR, FAIL, PASS, SeedResult, SeedsReport, _Job, check_seeds, resolve_recipe,
)

STUBS = r'''"""Stub recipes for tests/test_seeds.py: numpy callables with a known behaviour, no training."""

import json
import os

import numpy as np

from seqcheck import Pattern


class _Rule:
    def __init__(self, pattern):
        self.pattern = p = Pattern.parse(pattern)
        self.symbols = np.asarray(p.symbols)
        # the end phase from the last min-context symbols, the start phase from the first `context` symbols
        self.end = {tuple(p.window(ph, p.min_context)): (ph + p.min_context) % p.period for ph in range(p.period)}
        self.context = next(q for q in range(1, p.period + 1)
                            if len({tuple(p.window(ph, q)) for ph in range(p.period)}) == p.period)
        self.start = {tuple(p.window(ph, self.context)): ph for ph in range(p.period)}

    def __call__(self, batch):
        predicted = self.predict(np.asarray(batch))
        return np.where(predicted == 1, 0.98, 0.02)[:, None]


class Exact(_Rule):
    """The exact rule: holds every invariant."""

    def predict(self, batch):
        m = self.pattern.min_context
        return self.symbols[[self.end.get(tuple(row[-m:]), 0) for row in batch]]


class StartAnchored(_Rule):
    """Predicts s[start phase + N] whatever the window's length: fails from length N+1."""

    def __init__(self, pattern, train_length):
        super().__init__(pattern)
        self.train_length = train_length

    def predict(self, batch):
        starts = np.array([self.start.get(tuple(row[: self.context]), 0) for row in batch])
        return self.symbols[(starts + self.train_length) % self.pattern.period]


def _log(log, **record):
    if log:
        with open(log, "a") as handle:
            handle.write(json.dumps(record) + "\n")


def exact(pattern, *, train_length, seed):
    return Exact(pattern)


def anchored(pattern, *, train_length, seed):
    return StartAnchored(pattern, train_length)


def by_seed(pattern, *, train_length, seed, every=3, log=""):
    """Holds when seed % every == 0, else start-anchored."""
    _log(log, seed=seed, every=every, pid=os.getpid(), parent=os.getppid())
    return Exact(pattern) if seed % every == 0 else StartAnchored(pattern, train_length)


def with_settings(pattern, *, train_length, seed, dropout=0.0, units=4, log=""):
    _log(log, seed=seed, dropout=dropout, units=units)
    return Exact(pattern)


def raises_on(pattern, *, train_length, seed, bad=1, log=""):
    _log(log, seed=seed)
    if seed == bad:
        raise RuntimeError(f"loss diverged on seed {seed}\nsecond line")
    return by_seed(pattern, train_length=train_length, seed=seed)


def dies_once(pattern, *, train_length, seed, marker, die=1):
    """Kills its worker process on seed `die`, the first time only (the marker file remembers)."""
    if seed == die and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return by_seed(pattern, train_length=train_length, seed=seed)


def dies_always(pattern, *, train_length, seed, die=1):
    if seed == die:
        os._exit(1)
    return by_seed(pattern, train_length=train_length, seed=seed)


def interrupted(pattern, *, train_length, seed, on=1):
    if seed == on:
        raise KeyboardInterrupt
    return Exact(pattern)
'''

#: The counterexample of StartAnchored on 11000 (N=10), as the report renders it, on one line.
ANCHORED_CX = "window 1 0 0 0 1 1 0 0 0 1 1   (length 11, phase 1)  -> predicted 1 (p=0.98); expected 0"
ANCHORED_LINE = (
    "FAIL  length generalization from length 11 (also phase-shift invariance from length 10, periodic consistency"
    f" from length 11); minimal: {ANCHORED_CX}"
)


def write_stubs(folder) -> str:
    """Write the stub module into ``folder`` under a fresh name (no stale ``sys.modules`` entry); return the name."""
    name = f"seedstubs_{uuid.uuid4().hex[:10]}"
    (folder / f"{name}.py").write_text(STUBS)
    return name


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test's own model cache (seeds' results are cached there): no test reads another's results; and no Dask
    scheduler from the environment."""
    monkeypatch.setenv("SEQCHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQCHECK_SCHEDULER", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def stubs(tmp_path, monkeypatch):
    name = write_stubs(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def by_seed_runs(tmp_path_factory):
    """Seeds 0..5 of ``by_seed`` on 11000, in this process and in two worker processes (with progress calls)."""
    folder = tmp_path_factory.mktemp("stubs")
    name = write_stubs(folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(folder))
        runs = {}
        for workers in (0, 2):
            calls = []
            report = check_seeds(f"{name}:by_seed", pattern="11000", seeds=6, workers=workers,
                                 cache_dir=tmp_path_factory.mktemp("cache"),
                                 progress=lambda *args, calls=calls: calls.append(args))
            runs[workers] = (report, calls)
    yield name, runs
    sys.modules.pop(name, None)


def log_records(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def one_line(caught) -> str:
    message = str(caught.value)
    assert "\n" not in message, message
    return message


# -- recipe specs --------------------------------------------------------------------------------------


def test_builtin_spec_label_sorts_settings_and_omits_defaults():
    spec = resolve_recipe("fixed-window:units=8,epochs=20,learning_rate=0.001")
    assert spec.builtin and spec.target == "fixed-window"
    assert spec.label == "fixed-window:epochs=20,units=8"  # learning_rate=0.001 is the default
    assert spec.settings_dict == {"epochs": 20, "units": 8}
    assert resolve_recipe("fixed-window:units=4") == resolve_recipe("fixed-window") == resolve_recipe(RECIPES["fixed-window"])
    assert resolve_recipe("fixed-window").label == "fixed-window"
    assert resolve_recipe(spec.label) == spec, "a label is a spec naming the same recipe"
    assert resolve_recipe("varied-window:min_length=5,max_length=null").label == "varied-window:min_length=5"
    assert resolve_recipe("fixed-window", settings={"units": 8}).label == "fixed-window:units=8"
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_an_unknown_builtin_setting_names_the_spec_and_the_recipes_settings():
    with pytest.raises(InvalidArgument) as caught:
        resolve_recipe("fixed-window:dropuot=0.15")
    assert one_line(caught) == (
        "recipe='fixed-window:dropuot=0.15': expected settings of recipe 'fixed-window': batch_size, dropout, epochs,"
        " learning_rate, stream_length, units; drop or rename the unknown setting 'dropuot'"
    )
    assert resolve_recipe("fixed-window:dropout=0.15,units=8").label == "fixed-window:dropout=0.15,units=8"


@pytest.mark.parametrize("spec, says", [
    ("no-such-recipe", "fixed-window, varied-window, task-lstm, task-transformer, or module:function"),
    ("fixed-window:units", "key=value"),
    ("fixed-window:", "key=value"),
    ("fixed-window:units=8,", "trailing comma"),
    ("fixed-window:units=8,units=9", "given twice"),
    ("fixed-window:2x=1", "Python identifiers"),
    ("no_such_module_for_seeds:train", "importing no_such_module_for_seeds raised ModuleNotFoundError"),
    ("seqcheck:no_such_function", "a function at no_such_function in seqcheck"),
    ("my module:train", "dotted Python names"),
    (42, "a recipe name, module:function, or a function"),
])
def test_bad_specs_are_one_line_errors(spec, says):
    with pytest.raises(InvalidArgument) as caught:
        resolve_recipe(spec)
    assert says in one_line(caught)


def test_user_spec_parses_settings_as_json_scalars(stubs):
    spec = resolve_recipe(f"{stubs}:with_settings:units=8,dropout=0.15")
    assert not spec.builtin and spec.target == f"{stubs}:with_settings"
    assert spec.settings_dict == {"dropout": 0.15, "units": 8}
    assert spec.label == f"{stubs}:with_settings:dropout=0.15,units=8"
    assert resolve_recipe(f"{stubs}:with_settings:units=4").label == f"{stubs}:with_settings", "4 is its default"
    strings = resolve_recipe(f'{stubs}:with_settings:units=true,dropout=high,log="8"')
    assert strings.settings_dict == {"units": True, "dropout": "high", "log": "8"}
    assert strings.label == f'{stubs}:with_settings:dropout=high,log="8",units=true'
    assert resolve_recipe(strings.label) == strings


def test_user_spec_refuses_settings_its_function_does_not_take(stubs):
    with pytest.raises(InvalidArgument) as caught:
        resolve_recipe(f"{stubs}:with_settings:momentum=0.9")
    assert "momentum" in one_line(caught)


def test_user_settings_are_parsed_and_passed_to_the_recipe(stubs, tmp_path):
    log = tmp_path / "calls.jsonl"
    report = check_seeds(f"{stubs}:with_settings:dropout=0.15,units=8,log={log}", pattern="11000", seeds=2, workers=0)
    assert [r["seed"] for r in log_records(log)] == [0, 1]
    assert {(r["dropout"], r["units"]) for r in log_records(log)} == {(0.15, 8)}
    assert report.recipe == f"{stubs}:with_settings:dropout=0.15,log={log},units=8"
    assert report.holds == 2


def test_spec_pickles_by_name_and_a_function_is_named_by_module_and_qualname(stubs):
    module = __import__(stubs)
    spec = resolve_recipe(module.by_seed, settings={"every": 2})
    assert spec.label == f"{stubs}:by_seed:every=2" and spec.function is module.by_seed
    clone = pickle.loads(pickle.dumps(spec))
    assert clone == spec and clone.function is None, "the function itself is not sent"
    assert clone.load() is module.by_seed and clone.importable


def test_a_function_a_worker_cannot_import_runs_only_in_process(stubs):
    module = __import__(stubs)
    local = lambda pattern, *, train_length, seed: module.Exact(pattern)  # noqa: E731
    assert not resolve_recipe(local).importable
    with pytest.raises(InvalidArgument) as caught:
        check_seeds(local, pattern="11000", seeds=2, workers=2)
    assert "workers=0" in one_line(caught)
    assert check_seeds(local, pattern="11000", seeds=2, workers=0).holds == 2


def test_a_worker_imports_the_recipe_from_the_folder_the_spec_records(stubs, tmp_path):
    """A process started without the parent's sys.path (another folder, no PYTHONPATH) still finds the module."""
    spec = resolve_recipe(f"{stubs}:by_seed")
    assert spec.path == str(tmp_path.resolve())
    job = _Job(spec, pattern=Pattern.parse("11000"), task=None, train_length=10, max_length=None, invariants=None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = textwrap.dedent("""
        import pickle, sys
        from seqcheck.training.seeds import _run_seed
        job = pickle.loads(sys.stdin.buffer.read())
        print(_run_seed(job, 0).outcome, _run_seed(job, 1).outcome)
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(job), cwd=elsewhere, env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == [PASS, FAIL]


# -- per-seed rows and statistics ----------------------------------------------------------------------


def test_per_seed_verdicts_and_counterexample_lines(by_seed_runs):
    name, runs = by_seed_runs
    report, _ = runs[0]
    assert [row.seed for row in report.rows] == [0, 1, 2, 3, 4, 5]
    assert [row.outcome for row in report.rows] == [PASS, FAIL, FAIL, PASS, FAIL, FAIL]
    assert [row.passed for row in report.rows] == [True, False, False, True, False, False]
    held, failed = report.rows[0], report.rows[1]
    assert held.statuses == {"phase_shift_invariance": "pass", "length_generalization": "pass",
                             "periodic_consistency": "pass", "batch_invariance": "pass"}
    assert failed.statuses == {"phase_shift_invariance": "fail", "length_generalization": "fail",
                               "periodic_consistency": "fail", "batch_invariance": "pass"}
    assert failed.first_failing_lengths == {"length_generalization": 11, "phase_shift_invariance": 10,
                                            "periodic_consistency": 11}
    generalization = next(o for o in failed.invariants if o.name == "length_generalization")
    assert generalization.counterexample == ANCHORED_CX and generalization.minimal
    assert failed.report["seed"] == 1 and held.report["passed"] is True, "each seed's report dict comes along"
    assert failed.report["invariants"][1]["counterexample"]["length"] == 11
    lines = report.render().splitlines()
    assert lines[0] == f"recipe {name}:by_seed  pattern 11000  training length 10  seeds 0..5 (6 seeds)"
    assert lines[1] == "seed 0  pass"
    assert lines[2] == f"seed 1  {ANCHORED_LINE}"


def test_rate_interval_and_distribution(by_seed_runs):
    name, runs = by_seed_runs
    report, _ = runs[0]
    assert (report.holds, report.failures, report.errors, report.n) == (2, 4, 0, 6)
    assert report.rate == pytest.approx(2 / 6)
    assert report.interval == pytest.approx((0.0968, 0.7000), abs=1e-4)  # Wilson, 95%, 2 of 6
    assert report.first_failing_lengths == {
        "length_generalization": {11: 4}, "phase_shift_invariance": {10: 4}, "periodic_consistency": {11: 4},
    }
    assert report.render().splitlines()[7:] == [
        "holds on 2 of 6 seeds (33.3%); 95% Wilson interval for the rate of models that hold: 9.7%..70.0%",
        "fails on 4 seeds",
        "first failing length, length generalization: 11 (4 seeds)",
        "first failing length, phase-shift invariance: 10 (4 seeds)",
        "first failing length, periodic consistency: 11 (4 seeds)",
        f"reproduce: seqcheck check-recipe {name}:by_seed --pattern 11000 --seeds 6",
    ]


def test_to_dict_is_json_with_every_seeds_report(by_seed_runs):
    report, _ = by_seed_runs[1][2]
    data = json.loads(json.dumps(report.to_dict()))
    assert (data["holds"], data["failures"], data["errors"], data["n"]) == (2, 4, 0, 6)
    assert data["interval"]["method"] == "wilson" and data["interval"]["confidence"] == 0.95
    assert data["interval"]["low"] == pytest.approx(0.0968, abs=1e-4)
    assert data["first_failing_lengths"]["length_generalization"] == {"11": 4}
    assert [row["outcome"] for row in data["rows"]] == [PASS, FAIL, FAIL, PASS, FAIL, FAIL]
    assert [row["report"]["seed"] for row in data["rows"]] == [0, 1, 2, 3, 4, 5]
    assert data["reproduce"] == report.reproduce


def verdicts(report) -> dict:
    """The report's dict without what the machine measured (each seed's seconds and peak memory)."""
    data = report.to_dict()
    for row in data["rows"]:
        assert row.pop("seconds") > 0 and row.pop("peak_rss_mib") > 0
    return data


def test_workers_0_and_2_give_identical_reports(by_seed_runs):
    _, runs = by_seed_runs
    (in_process, _), (pooled, _) = runs[0], runs[2]
    assert verdicts(pooled) == verdicts(in_process)
    assert pooled.render() == in_process.render()


def test_progress_is_called_as_seeds_finish(by_seed_runs):
    _, runs = by_seed_runs
    for workers in (0, 2):
        calls = runs[workers][1]
        assert calls[0] == (0, 0, 0, 6) and calls[-1] == (6, 0, 4, 6), calls
        done = [call[0] for call in calls]
        assert done == sorted(done) and set(range(7)) <= set(done)
        assert all(running <= max(workers, 1) and total == 6 for _, running, _, total in calls)


def test_reproduce_line_quotes_and_names_only_what_differs():
    report = SeedsReport(recipe="m:f:name=a b", pattern="0120", train_length=12, first_seed=5, seeds=3, rows=[],
                         max_length=30)
    assert report.reproduce == ("seqcheck check-recipe 'm:f:name=a b' --pattern 0120 --seeds 3 --first-seed 5"
                                " --train-length 12 --max-length 30")
    lines = report.render().splitlines()
    assert lines[0] == "recipe m:f:name=a b  pattern 0120  training length 12  max length 30  seeds 5..7 (3 seeds)"
    assert lines[1] == "no seed finished: no rate" and report.interval is None


def rows(passes: int, fails: int) -> list[SeedResult]:
    return [SeedResult(s, PASS) for s in range(passes)] + [SeedResult(passes + s, FAIL) for s in range(fails)]


@pytest.mark.parametrize("passes, fails, max_rate, outcome", [
    (30, 0, 0.2, "pass"),      # failure rate at most 0.114 (95% Wilson upper bound) < 0.2
    (0, 30, 0.2, "fail"),      # failure rate at least 0.886 > 0.2
    (2, 4, 0.5, "undecided"),  # 0.30..0.90 straddles 0.5
])
def test_decide_reaches_the_three_outcomes(passes, fails, max_rate, outcome):
    report = SeedsReport(recipe="r", pattern="11000", train_length=10, first_seed=0, seeds=passes + fails,
                         rows=rows(passes, fails))
    decision = report.decide(max_rate)
    assert decision.outcome == outcome
    assert decision.message.startswith(f"{outcome}: failure rate {fails}/{passes + fails}") and "(Wilson)" in decision.message
    if outcome == "undecided":
        assert decision.more_seeds


def test_decide_needs_a_finished_seed():
    report = SeedsReport(recipe="r", pattern="11000", train_length=10, first_seed=0, seeds=1,
                         rows=[SeedResult(0, ERROR, error="training raised RuntimeError: boom")])
    with pytest.raises(InvalidArgument) as caught:
        report.decide(0.2)
    assert "at least one seed" in one_line(caught)


def test_decide_counts_failures_among_finished_seeds_only():
    errors = [SeedResult(30 + s, ERROR, error="training raised RuntimeError: boom") for s in range(3)]
    report = SeedsReport(recipe="r", pattern="11000", train_length=10, first_seed=0, seeds=33, rows=rows(30, 0) + errors)
    assert (report.n, report.errors, report.failures) == (30, 3, 0)
    assert report.decide(0.2).outcome == "pass"


# -- failures of the run itself ------------------------------------------------------------------------


def test_a_recipe_that_raises_is_retried_then_reported_for_its_seed(stubs, tmp_path):
    log = tmp_path / "calls.jsonl"
    report = check_seeds(f"{stubs}:raises_on:bad=1,log={log}", pattern="11000", seeds=3, workers=0)
    assert [r["seed"] for r in log_records(log)] == [0, 1, 1, 2], "seed 1 tried twice (retries=1), the others once"
    assert [row.outcome for row in report.rows] == [PASS, ERROR, FAIL]
    error = report.rows[1]
    assert error.error == "training raised RuntimeError: loss diverged on seed 1" and error.attempts == 2
    assert error.passed is None and error.report is None
    assert report.render().splitlines()[2] == "seed 1  ERROR  training raised RuntimeError: loss diverged on seed 1 (2 attempts)"
    assert (report.n, report.errors, report.holds) == (2, 1, 1)
    assert "fails on 1 seed; 1 seed ended in error (not counted in the rate)" in report.render()

    log.unlink()
    report = check_seeds(f"{stubs}:raises_on:bad=1,log={log}", pattern="11000", seeds=3, workers=0, retries=0)
    assert [r["seed"] for r in log_records(log)] == [1], "seeds 0 and 2 finished: their results come from the cache"
    assert [row.cached for row in report.rows] == [True, False, True] and report.rows[1].attempts == 1
    assert [row.outcome for row in report.rows] == [PASS, ERROR, FAIL]

    log.unlink()
    report = check_seeds(f"{stubs}:raises_on:bad=1,log={log}", pattern="11000", seeds=3, workers=0, retries=0, fresh=True)
    assert [r["seed"] for r in log_records(log)] == [0, 1, 2] and report.rows[1].attempts == 1


def test_a_worker_that_dies_once_is_retried_and_succeeds(stubs, tmp_path):
    marker = tmp_path / "died"
    report = check_seeds(f"{stubs}:dies_once:die=1,marker={marker}", pattern="11000", seeds=3, workers=2)
    assert marker.exists(), "the worker of seed 1 did die"
    assert [row.outcome for row in report.rows] == [PASS, FAIL, FAIL] and report.errors == 0
    assert report.rows[1].attempts == 2
    assert report.rows[1].line() == f"seed 1  {ANCHORED_LINE} (2 attempts)"


def test_a_worker_that_always_dies_is_an_error_for_its_seed_only(stubs):
    report = check_seeds(f"{stubs}:dies_always:die=1", pattern="11000", seeds=3, workers=2)
    assert [row.outcome for row in report.rows] == [PASS, ERROR, FAIL]
    assert report.rows[1].error == DIED
    assert (report.n, report.errors) == (2, 1)


@pytest.mark.parametrize("workers", [0, 2])
def test_keyboard_interrupt_stops_the_run_and_is_raised(stubs, workers):
    with pytest.raises(KeyboardInterrupt):
        check_seeds(f"{stubs}:interrupted:on=0", pattern="11000", seeds=2, workers=workers)


@pytest.mark.parametrize("option, value", [("seeds", 0), ("workers", -1), ("retries", -1), ("first_seed", -2),
                                           ("train_length", 0), ("invariants", ["no_such_invariant"])])
def test_bad_arguments_are_refused_before_any_training(stubs, tmp_path, option, value):
    log = tmp_path / "calls.jsonl"
    with pytest.raises(InvalidArgument) as caught:
        check_seeds(f"{stubs}:by_seed:log={log}", pattern="11000", **{"seeds": 2, "workers": 0, option: value})
    one_line(caught)
    assert not log.exists()


def test_invariants_are_passed_to_the_check(stubs):
    report = check_seeds(f"{stubs}:anchored", pattern="11000", seeds=1, workers=0, invariants=["length_generalization"])
    assert report.rows[0].statuses == {"length_generalization": "fail"}
    assert report.invariants == ["length_generalization"]
    assert report.reproduce.endswith("--seeds 1 --invariants length_generalization")
    assert report.rows[0].line() == f"seed 0  FAIL  length generalization from length 11; minimal: {ANCHORED_CX}"


# -- the built-in recipe through the model cache -------------------------------------------------------


@pytest.mark.slow
def test_a_second_run_of_a_builtin_recipe_trains_nothing(tmp_path, monkeypatch):
    """fixed-window (one short epoch: what it learns does not matter here), seeds 0..1, trained in two worker
    processes into a fresh cache; the second run (in this process, with training replaced by an error) reuses both
    entries: same files, same verdicts."""
    from seqcheck.training import cache

    cache_dir = tmp_path / "cache"
    recipe = "fixed-window:epochs=1,stream_length=500"
    first = check_seeds(recipe, pattern="11000", seeds=2, workers=2, cache_dir=cache_dir)
    assert first.errors == 0, first.render()
    entries = sorted(cache_dir.glob("fixed-window-11000-N10-s*/model.keras"))
    assert len(entries) == 2
    stamps = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in entries}

    def no_training(*args, **kwargs):
        raise AssertionError("the second run trained a model")

    monkeypatch.setattr(cache, "train_and_save", no_training)
    second = check_seeds(recipe, pattern="11000", seeds=2, workers=0, cache_dir=cache_dir)
    assert second.errors == 0, second.render()
    assert sorted(cache_dir.glob("fixed-window-11000-N10-s*/model.keras")) == entries
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in entries} == stamps
    assert [row.outcome for row in second.rows] == [row.outcome for row in first.rows]
    assert [row.first_failing_lengths for row in second.rows] == [row.first_failing_lengths for row in first.rows]


# -- the sequential gate (--stop-early) --------------------------------------------------------------------------------


def test_the_anytime_interval_is_where_the_mixture_martingale_reaches_one_over_alpha():
    """At its bounds, B(x+1, n-x+1) / (r^x (1-r)^(n-x)) = 1/alpha (B computed from exact factorials); with no failures
    its upper bound has the closed form 1 - ((n+1)/alpha)^(-1/n)."""
    import math
    from fractions import Fraction

    from seqcheck.training.statistics import binomial_interval

    for x, n in [(0, 8), (3, 30), (12, 40), (40, 40)]:
        low, high = binomial_interval(x, n, method="anytime")
        beta = Fraction(math.factorial(x) * math.factorial(n - x), math.factorial(n + 1))
        for bound in (low, high):
            if bound in (0.0, 1.0):
                continue
            martingale = float(beta) / (bound ** x * (1 - bound) ** (n - x))
            assert martingale == pytest.approx(20.0, rel=1e-9)
        assert low <= x / n <= high
    assert binomial_interval(0, 8, method="anytime")[1] == pytest.approx(1 - (9 / 0.05) ** (-1 / 8), abs=1e-12)
    wilson = binomial_interval(3, 30, method="wilson")
    anytime = binomial_interval(3, 30, method="anytime")
    assert anytime[0] < wilson[0] and anytime[1] > wilson[1]  # the price of looking at every seed


def test_the_anytime_interval_holds_the_true_rate_at_every_n_at_least_95_percent_of_the_time():
    """300 runs of 100 seeds at a true failure rate of 0.2, the interval looked at after every seed: the true rate
    leaves it at some n in at most 5% of the runs (Ville's inequality; a fixed-n interval looked at so would not)."""
    import math
    import random

    rng = random.Random(0)
    left = 0
    for _ in range(300):
        x = 0
        for n in range(1, 101):
            x += rng.random() < 0.2
            log_m = math.lgamma(x + 1) + math.lgamma(n - x + 1) - math.lgamma(n + 2) - x * math.log(0.2) - (n - x) * math.log(0.8)
            if log_m >= math.log(20):
                left += 1
                break
    assert left / 300 <= 0.05


@pytest.mark.parametrize(("recipe", "outcome"), [("exact", "pass"), ("anchored", "fail")])
def test_a_sequential_gate_stops_once_decided(stubs, recipe, outcome):
    """8 seeds that all hold (or all fail) decide a 50% gate on the anytime interval (0/8: its upper bound is 47.7%),
    7 do not (51.6%): the run stops after seed 7 of 30."""
    report = check_seeds(f"{stubs}:{recipe}", pattern="11000", seeds=30, workers=0, max_length=12,
                         max_failure_rate=0.5, stop_early=True)
    assert [row.seed for row in report.rows] == list(range(8)) and report.stopped_early
    assert report.gate.outcome == outcome and report.gate.method == "anytime"
    text = report.render()
    assert "(anytime-valid)" in text
    assert "stopped early: the sequential gate was decided after 8 seeds of 30" in text
    assert report.reproduce.endswith("--max-failure-rate 0.5 --stop-early")
    again = check_seeds(f"{stubs}:{recipe}", pattern="11000", seeds=30, workers=0, max_length=12,
                        max_failure_rate=0.5, stop_early=True)
    assert [row.cached for row in again.rows] == [True] * 8 and again.stopped_early  # the cache decides it at once


def test_a_sequential_gate_needs_a_threshold(stubs):
    with pytest.raises(InvalidArgument) as caught:
        check_seeds(f"{stubs}:exact", pattern="11000", seeds=3, workers=0, stop_early=True)
    assert one_line(caught) == ("stop_early=True: expected a gate's threshold to decide on; pass max_failure_rate=0.1 too,"
                                " or drop stop_early=True")
