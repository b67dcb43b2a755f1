"""Where the seeds of ``check_seeds`` run and what a run keeps (seqcheck.training.engines, the client-side cache):

- a Dask ``LocalCluster`` of 2 worker processes gives the report the local run gives, trains a real (tiny) built-in
  recipe whose models and results come back to the client's cache (the workers' own cache folder stays empty), runs
  each seed in a fresh process a worker starts, and reports a seed whose process dies for that seed only;
- a run killed halfway resumes: finished seeds are neither trained nor checked again;
- a user's recipe is known by its module's source: edit it and its seeds run again;
- recipes across seeds on a task (``--task parity``).

Stub recipes come from ``test_seeds`` (no training); the tests marked slow start processes or train.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from seqcheck.errors import InvalidArgument
from seqcheck.training import engines
from seqcheck.training.seeds import DIED, ERROR, FAIL, PASS, check_seeds
from test_seeds import ANCHORED_CX, log_records, one_line, own_cache, stubs, verdicts  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory):
    """The cache folder the Dask workers would use if they wrote one (they must not)."""
    return tmp_path_factory.mktemp("worker-home") / "cache"


@pytest.fixture(scope="module")
def cluster(worker_cache):
    """A Dask LocalCluster of 2 worker processes, one thread each; a task whose worker dies fails at once (no Dask
    retries), so that seqcheck's own retry is what the tests see (a seed's own fresh process dying is not a worker's
    death: Dask sees a task that raised)."""
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=logging.CRITICAL, env={"SEQCHECK_CACHE_DIR": str(worker_cache)}) as local:
            yield local


def worker_pids(cluster) -> set[int]:
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as client:
        return set(client.run(os.getpid).values())


# -- Dask ----------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dask_gives_the_report_of_a_run_in_this_process(stubs, cluster, tmp_path):
    log = tmp_path / "calls.jsonl"
    here = check_seeds(f"{stubs}:by_seed", pattern="11000", seeds=6, workers=0, cache_dir=tmp_path / "here")
    calls = []
    there = check_seeds(f"{stubs}:by_seed:log={log}", pattern="11000", seeds=6, scheduler=cluster.scheduler_address,
                        cache_dir=tmp_path / "there", progress=lambda *args: calls.append(args))
    assert verdicts(there)["rows"] == verdicts(here)["rows"]
    assert [row.outcome for row in there.rows] == [PASS, FAIL, FAIL, PASS, FAIL, FAIL]
    assert there.rows[1].failing[0].counterexample == ANCHORED_CX
    assert {record["parent"] for record in log_records(log)} <= worker_pids(cluster)  # in processes the workers started
    assert calls[-1] == (6, 0, 4, 6) and max(running for _, running, _, _ in calls) <= 2  # 2 worker threads


@pytest.mark.slow
def test_a_real_recipe_on_dask_comes_back_to_the_clients_cache(cluster, tmp_path, worker_cache, monkeypatch):
    """fixed-window, one short epoch (what it learns does not matter), seeds 0..1 on the cluster: the client keeps both
    models and both results; the workers' cache folder is never made.  Run again, nothing is trained or checked; run
    fresh, the models come from the cache and are checked again, with the same verdicts."""
    cache_dir = tmp_path / "cache"
    recipe = "fixed-window:epochs=1,stream_length=500"
    first = check_seeds(recipe, pattern="11000", seeds=2, scheduler=cluster.scheduler_address, cache_dir=cache_dir)
    assert first.errors == 0, first.render()
    assert len(list(cache_dir.glob("fixed-window-11000-N10-s*/model.keras"))) == 2
    assert len(list((cache_dir / "results").glob("*.json"))) == 2
    assert not worker_cache.exists()

    from seqcheck.training import recipes

    def no_training(*args, **kwargs):
        raise AssertionError("a cached seed was trained again")

    monkeypatch.setattr(recipes, "train", no_training)
    again = check_seeds(recipe, pattern="11000", seeds=2, workers=0, cache_dir=cache_dir)
    assert [row.cached for row in again.rows] == [True, True]
    assert [row.to_dict()["report"] for row in again.rows] == [row.to_dict()["report"] for row in first.rows]
    fresh = check_seeds(recipe, pattern="11000", seeds=2, workers=0, cache_dir=cache_dir, fresh=True)
    assert [row.cached for row in fresh.rows] == [False, False] and fresh.errors == 0, fresh.render()
    assert [row.first_failing_lengths for row in fresh.rows] == [row.first_failing_lengths for row in first.rows]


@pytest.mark.slow
def test_a_seed_whose_process_dies_on_dask_is_reported_for_its_seed_and_the_others_finish(stubs, cluster):
    report = check_seeds(f"{stubs}:dies_always:die=1", pattern="11000", seeds=3, scheduler=cluster.scheduler_address)
    assert [row.outcome for row in report.rows] == [PASS, ERROR, FAIL]
    assert report.rows[1].error == f"{DIED}; the last: its process exited with status 1 (nothing on standard error)"
    assert report.rows[1].attempts == 2
    assert (report.n, report.errors) == (2, 1)


@pytest.mark.slow
def test_the_scheduler_comes_from_the_environment_unless_workers_are_given(stubs, cluster, tmp_path, monkeypatch):
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(engines.SCHEDULER_ENV, cluster.scheduler_address)
    check_seeds(f"{stubs}:by_seed:log={log}", pattern="11000", seeds=2, max_length=12)
    assert {record["parent"] for record in log_records(log)} <= worker_pids(cluster)
    log.unlink()
    check_seeds(f"{stubs}:by_seed:log={log}", pattern="11000", seeds=2, max_length=12, workers=0, fresh=True)
    assert {record["pid"] for record in log_records(log)} == {os.getpid()}


def test_a_fresh_process_returns_the_result_or_says_how_it_died():
    assert engines.in_a_fresh_process(os.getpid) != os.getpid()
    assert engines.in_a_fresh_process(divmod, 7, 2) == (3, 1)
    with pytest.raises(engines.ProcessDied, match=r"^its process exited with status 3 \(nothing on standard error\)$"):
        engines.in_a_fresh_process(os._exit, 3)
    with pytest.raises(engines.ProcessDied, match=r"status 1 \(ZeroDivisionError: integer division or modulo by zero\)$"):
        engines.in_a_fresh_process(divmod, 1, 0)


def test_scheduler_errors_are_one_line(stubs, monkeypatch):
    with pytest.raises(InvalidArgument) as caught:
        check_seeds(f"{stubs}:exact", pattern="11000", seeds=2, workers=2, scheduler="tcp://127.0.0.1:8786")
    assert one_line(caught).startswith("workers=2: expected no worker count beside a Dask scheduler")
    with pytest.raises(InvalidArgument) as caught:
        check_seeds(f"{stubs}:exact", pattern="11000", seeds=2, scheduler=" ")
    assert one_line(caught).startswith("scheduler=' ': expected a Dask scheduler's address")


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line(stubs, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(engines, "CONNECT_TIMEOUT", 1)
    with pytest.raises(InvalidArgument) as caught:
        check_seeds(f"{stubs}:exact", pattern="11000", seeds=2, scheduler="tcp://127.0.0.1:9")
    message = one_line(caught)
    assert message.startswith("scheduler='tcp://127.0.0.1:9': expected the address of a Dask scheduler seqcheck can reach")
    assert message.endswith("start one with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`, or drop --scheduler")


# -- resuming --------------------------------------------------------------------------------------------------------

KILLED_HALFWAY = textwrap.dedent("""
    import os, signal, sys
    from seqcheck.training.seeds import check_seeds
    report = check_seeds(sys.argv[1], pattern="11000", seeds=6, workers=0, max_length=12)
    print(report.render())
""")


@pytest.mark.slow
def test_a_run_killed_halfway_resumes_from_the_cache(stubs, tmp_path, own_cache):
    """The recipe SIGKILLs its own process on seed 3 (once: a marker file remembers): seeds 0..2 were finished and
    cached; the second run trains seeds 3..5 only, and reports all six."""
    log, marker = tmp_path / "calls.jsonl", tmp_path / "killed"
    (tmp_path / f"{stubs}_kill.py").write_text(textwrap.dedent(f"""
        import os, signal
        from {stubs} import by_seed

        def killed_on_3(pattern, *, train_length, seed, log, marker):
            if seed == 3 and not os.path.exists(marker):
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            return by_seed(pattern, train_length=train_length, seed=seed, log=log)
    """))
    recipe = f"{stubs}_kill:killed_on_3:log={log},marker={marker}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    first = subprocess.run([sys.executable, "-c", KILLED_HALFWAY, recipe], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == -9, first.stderr
    assert [r["seed"] for r in log_records(log)] == [0, 1, 2]
    second = subprocess.run([sys.executable, "-c", KILLED_HALFWAY, recipe], env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert [r["seed"] for r in log_records(log)] == [0, 1, 2, 3, 4, 5], "seeds 0..2 were not trained again"
    lines = second.stdout.splitlines()
    assert [line.split()[2] for line in lines[1:7]] == ["pass", "FAIL", "FAIL", "pass", "FAIL", "FAIL"]
    assert [line.endswith("(from the cache: finished by an earlier run)") for line in lines[1:7]] == [True] * 3 + [False] * 3


def test_editing_a_users_recipe_runs_its_seeds_again(stubs, tmp_path):
    log = tmp_path / "calls.jsonl"
    recipe = f"{stubs}:by_seed:log={log}"
    check_seeds(recipe, pattern="11000", seeds=2, workers=0, max_length=12)
    check_seeds(recipe, pattern="11000", seeds=2, workers=0, max_length=12)
    assert [r["seed"] for r in log_records(log)] == [0, 1], "the second run read both seeds from the cache"
    check_seeds(recipe, pattern="11000", seeds=2, workers=0, max_length=13)
    assert [r["seed"] for r in log_records(log)] == [0, 1, 0, 1], "another check is another result"
    module = tmp_path / f"{stubs}.py"
    module.write_text(module.read_text() + "\n# edited\n")
    sys.modules.pop(stubs, None)
    check_seeds(recipe, pattern="11000", seeds=2, workers=0, max_length=12)
    assert [r["seed"] for r in log_records(log)] == [0, 1, 0, 1, 0, 1], "an edited recipe is another recipe"


def test_a_damaged_result_is_checked_again(stubs, tmp_path, own_cache):
    log = tmp_path / "calls.jsonl"
    recipe = f"{stubs}:by_seed:log={log}"
    check_seeds(recipe, pattern="11000", seeds=2, workers=0, max_length=12)
    for path in (own_cache / "results").glob("*.json"):
        path.write_text(path.read_text()[:40])
    report = check_seeds(recipe, pattern="11000", seeds=2, workers=0, max_length=12)
    assert [r["seed"] for r in log_records(log)] == [0, 1, 0, 1] and [row.cached for row in report.rows] == [False, False]
    stored = json.loads(next((own_cache / "results").glob("*.json")).read_text())
    assert stored["result"]["outcome"] in (PASS, FAIL)


# -- tasks -----------------------------------------------------------------------------------------------------------

TASK_STUBS = '''
import numpy as np


class Parity:
    """Parity of the whole input when it holds (seed even); else parity of its first `train_length` symbols only."""

    def __init__(self, horizon):
        self.horizon = horizon

    def __call__(self, batch):
        batch = np.asarray(batch)
        odd = batch[:, : self.horizon].sum(axis=1) % 2 if self.horizon else batch.sum(axis=1) % 2
        return np.eye(2)[odd]


def parity_by_seed(task, *, train_length, seed):
    assert task.name == "parity"
    return Parity(None if seed % 2 == 0 else train_length)
'''


@pytest.fixture
def task_stubs(tmp_path, monkeypatch):
    (tmp_path / "seedtaskstubs.py").write_text(TASK_STUBS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "seedtaskstubs"
    sys.modules.pop("seedtaskstubs", None)


def test_a_users_recipe_across_seeds_on_a_task(task_stubs):
    report = check_seeds(f"{task_stubs}:parity_by_seed", task="parity", seeds=4, workers=0, train_length=4, max_length=8)
    assert [row.outcome for row in report.rows] == [PASS, FAIL, PASS, FAIL]
    assert report.rows[1].first_failing_lengths["length_generalization"] == 5
    assert report.task == "parity" and report.pattern is None
    assert report.render().splitlines()[0] == (
        f"recipe {task_stubs}:parity_by_seed  task parity  training length 4  max length 8  seeds 0..3 (4 seeds)")
    assert report.reproduce == (
        f"seqcheck check-recipe {task_stubs}:parity_by_seed --task parity --seeds 4 --train-length 4 --max-length 8")
    assert report.to_dict()["task"] == "parity"


@pytest.mark.parametrize(("recipe", "options", "says"), [
    ("fixed-window", {"task": "parity"}, "recipe='fixed-window': expected a recipe that trains on a task, since --task is given;"),
    ("task-lstm", {"pattern": "11000"}, "recipe='task-lstm': expected a recipe that trains on a pattern, since --pattern is given;"),
    ("task-lstm", {}, "task=None: expected a pattern or a task to train on;"),
    ("task-lstm", {"pattern": "11000", "task": "parity"}, "pattern='11000': expected a pattern or a task, not both;"),
    ("task-lstm", {"task": "no-such-task"}, "task='no-such-task': expected one of parity"),
    ("task-lstm:fixed_length=1", {"task": "parity"}, "fixed_length=1: expected true or false;"),
    ("task-lstm:dropout=0.1", {"task": "parity"}, "settings of recipe 'task-lstm': batch_size, fixed_length, learning_rate"),
])
def test_a_recipe_and_its_subject_must_agree(recipe, options, says):
    with pytest.raises(InvalidArgument) as caught:
        check_seeds(recipe, seeds=2, workers=0, **options)
    assert says in one_line(caught)


@pytest.mark.slow
def test_the_builtin_task_recipe_trains_a_model_per_seed_on_the_client(tmp_path, own_cache):
    """task-lstm, 20 steps (what it learns does not matter): the model and the result of each seed are cached under the
    task recipe's key, and a second run reads both."""
    recipe = "task-lstm:steps=20,fixed_length=true"
    first = check_seeds(recipe, task="parity", seeds=1, workers=0, train_length=4, max_length=6)
    assert first.errors == 0, first.render()
    assert first.recipe == "task-lstm:fixed_length=true,steps=20"
    [entry] = own_cache.glob("task-lstm-parity-N4-s0-*/key.json")
    key = json.loads(entry.read_text())
    assert key["settings"]["fixed_length"] is True and key["settings"]["steps"] == 20
    again = check_seeds(recipe, task="parity", seeds=1, workers=0, train_length=4, max_length=6)
    assert again.rows[0].cached and again.rows[0].outcome == first.rows[0].outcome


def test_fixed_length_trains_on_the_longest_valid_length_only():
    from seqcheck.tasks import BUILTIN_TASKS
    from seqcheck.training.task_recipes import train_lengths

    assert train_lengths(BUILTIN_TASKS["parity"], 6, fixed_length=True).tolist() == [6]
    assert train_lengths(BUILTIN_TASKS["modular-arithmetic"], 8, fixed_length=True).tolist() == [7]
    assert np.array_equal(train_lengths(BUILTIN_TASKS["parity"], 3), [1, 2, 3])
