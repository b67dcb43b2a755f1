"""Where the seeds of :func:`seqcheck.training.seeds.check_seeds` run: worker processes on this machine, or a Dask
cluster.  Both are ``concurrent.futures`` executors; seqcheck schedules nothing itself.

- :class:`LocalProcesses` (the default): a ``ProcessPoolExecutor`` with the ``spawn`` start method and
  ``max_tasks_per_child=1`` (Python >= 3.11; on 3.10 workers are reused), so that each process trains and checks
  one model and is replaced: memory stays flat and Keras sessions never accumulate.  A worker that dies breaks the
  whole pool (every running seed's future fails alike), so the scheduler cannot tell which seed killed it:
  :attr:`~LocalProcesses.deaths_are_shared`.
- :class:`DaskCluster` (``--scheduler tcp://host:8786``, or ``$SEQCHECK_SCHEDULER``): the executor of a
  ``distributed.Client`` (``Client.get_executor(pure=False)``: every attempt is a task of its own).  Dask workers
  are long-lived, and Keras keeps each training's graphs after ``fit`` even through ``clear_session``
  (keras-team/keras#17458 and #21090; about 15 MiB a seed measured here), so each task runs its seed in a fresh
  Python process (:func:`in_a_fresh_process`), as the local pool does: memory stays flat, and the process-wide
  random generators a training seeds are its own.  A death is charged to that seed alone (the fresh process's,
  or the worker's: ``KilledWorker``, after Dask's own ``distributed.scheduler.allowed-failures`` retries).
  Nothing is read or written on the workers' disks but the task's temporary folder: the job carries no cache
  folder, trained models and reports come back to the client, which caches them.  The workers need seqcheck (and
  a user's recipe module) importable, at the client's versions.

Importing this module imports neither Dask nor TensorFlow.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from seqcheck.errors import first_line, invalid

__all__ = ["SCHEDULER_ENV", "DaskCluster", "LocalProcesses", "ProcessDied", "in_a_fresh_process", "resolve_engine"]

#: The environment variable naming a Dask scheduler when ``--scheduler`` / ``scheduler=`` is not given.
SCHEDULER_ENV = "SEQCHECK_SCHEDULER"
#: Seconds the client waits to reach a scheduler before giving up (a one-line error).
CONNECT_TIMEOUT = 10


class LocalProcesses:
    """Seeds in ``workers`` spawned processes of this machine, one seed per process."""

    #: A dead worker breaks every running seed's future: which seed killed it is unknown.
    deaths_are_shared = True

    def __init__(self, workers: int):
        self.workers = workers
        self.pool: cf.ProcessPoolExecutor | None = None

    def __str__(self) -> str:
        return f"{self.workers} local worker process{'es' if self.workers != 1 else ''}"

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        if sys.version_info >= (3, 11):
            self.pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=context, max_tasks_per_child=1)
        else:  # pragma: no cover - Python 3.10
            self.pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def capacity(self) -> int:
        """How many seeds may run at once."""
        return self.workers

    def submit(self, function: Callable[..., Any], *args: Any) -> cf.Future:
        """``function(*args)`` in a worker; ``BrokenProcessPool`` if the pool broke under us."""
        return self.pool.submit(function, *args)

    def died(self, exc: BaseException) -> bool:
        """Whether a future's exception means its worker died."""
        return isinstance(exc, BrokenProcessPool)

    def renew(self) -> None:
        """Replace a broken pool."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.start()

    def stop(self, in_flight: Iterable[cf.Future]) -> None:
        """Cancel pending work, stop the workers (a training killed midway leaves nothing: its model file is written
        on the client, after the seed) and shut the pool down."""
        for future in in_flight:
            future.cancel()
        if self.pool is None:
            return
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None


class DaskCluster:
    """Seeds as tasks of a Dask distributed cluster, reached at ``scheduler`` (an address, or a ``distributed.Client``
    the caller owns and closes)."""

    deaths_are_shared = False

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.client = None
        self.executor = None
        self.owned = False

    def __str__(self) -> str:
        address = getattr(self.client, "scheduler", None)
        return f"the Dask scheduler at {getattr(address, 'address', None) or self.scheduler}"

    def start(self) -> None:
        distributed = _import_distributed(self.scheduler)
        if isinstance(self.scheduler, distributed.Client):
            self.client = self.scheduler
        else:
            try:
                self.client = distributed.Client(self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise invalid(
                    "scheduler", self.scheduler,
                    f"the address of a Dask scheduler seqcheck can reach within {CONNECT_TIMEOUT} s "
                    f"({type(exc).__name__}: {first_line(exc)})",
                    "start one with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`, or drop --scheduler",
                ) from None
            self.owned = True
        self.executor = self.client.get_executor(pure=False)

    def capacity(self) -> int:
        """The cluster's worker threads now (at least 1: seeds wait in the scheduler for a worker to join)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # the scheduler is gone: its futures will say so
            return 1

    def submit(self, function: Callable[..., Any], *args: Any) -> cf.Future:
        """``function(*args)`` in a fresh process started by a Dask worker."""
        return self.executor.submit(in_a_fresh_process, function, *args)

    def died(self, exc: BaseException) -> bool:
        return isinstance(exc, ProcessDied) or type(exc).__name__ == "KilledWorker"

    def renew(self) -> None:  # pragma: no cover - a Dask executor does not break; its futures fail one by one
        pass

    def stop(self, in_flight: Iterable[cf.Future]) -> None:
        for future in in_flight:
            future.cancel()
        self.close()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False)
            self.executor = None
        if self.owned and self.client is not None:
            self.client.close()
        self.client = None


class ProcessDied(RuntimeError):
    """The fresh process of :func:`in_a_fresh_process` ended without a result (killed, out of memory, a crash)."""


#: What the fresh process runs: ``function(*args)`` from the job file, its result pickled to a temporary file and
#: renamed into place, so that a process killed while writing leaves no result.
_CHILD = (
    "import os, pickle, sys\n"
    "with open(sys.argv[1], 'rb') as job:\n"
    "    function, args = pickle.load(job)\n"
    "result = function(*args)\n"
    "with open(sys.argv[2] + '.tmp', 'wb') as out:\n"
    "    pickle.dump(result, out)\n"
    "os.replace(sys.argv[2] + '.tmp', sys.argv[2])\n"
)


def in_a_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` run in a new Python process (this interpreter), its result sent back by pickle through a
    temporary file; :class:`ProcessDied`, with the process's last line of standard error, if it gave none."""
    with tempfile.TemporaryDirectory(prefix="seqcheck-task-") as folder:
        job, result = Path(folder) / "job.pickle", Path(folder) / "result.pickle"
        job.write_bytes(pickle.dumps((function, args)))
        done = subprocess.run([sys.executable, "-c", _CHILD, str(job), str(result)], stdin=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, errors="replace")
        if not result.exists():
            last = (done.stderr or "").strip().splitlines()[-1:] or ["nothing on standard error"]
            raise ProcessDied(f"its process exited with status {done.returncode} ({last[0]})")
        return pickle.loads(result.read_bytes())


def _import_distributed(scheduler: Any):
    try:
        import distributed
    except ImportError:
        raise invalid("scheduler", scheduler, "Dask's distributed package installed, to reach a Dask cluster",
                      "pip install 'seqcheck[dask]', or drop --scheduler to run the seeds on this machine") from None
    return distributed


def resolve_engine(*, workers: int | None, scheduler: Any, seeds: int) -> LocalProcesses | DaskCluster | None:
    """The engine for ``seeds`` seeds: a Dask cluster when ``scheduler`` (or ``$SEQCHECK_SCHEDULER``) names one, else
    ``workers`` local processes (default one per core, never more than the seeds), or ``None`` for ``workers=0``
    (every seed in this process).  ``$SEQCHECK_SCHEDULER`` is read only when neither is given."""
    if scheduler is None and workers is None:  # an explicit worker count runs here, whatever the environment says
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is not None:
        if workers is not None:
            raise invalid("workers", workers, "no worker count beside a Dask scheduler (the cluster has its own workers)",
                          "drop --workers, or drop --scheduler to run on this machine")
        if isinstance(scheduler, str) and not scheduler.strip():
            raise invalid("scheduler", scheduler, "a Dask scheduler's address", "give e.g. tcp://host:8786")
        return DaskCluster(scheduler.strip() if isinstance(scheduler, str) else scheduler)
    if workers is None:
        workers = os.cpu_count() or 1
    workers = min(workers, seeds)
    return LocalProcesses(workers) if workers else None
