"""Where chunks of runs are computed: in this process, in local worker processes, or on a Dask
distributed cluster. All three give the same results (each run depends only on its parameters
and seed); they differ in speed and in what survives a crash.

Every executor yields ``(task, result)`` pairs as tasks finish, in any order, and re-submits
the tasks of a worker that died (killed, out of memory) up to ``max_retries`` times. A task that
raises stops the iteration with its exception; leaving the iteration early (an exception, Ctrl-C,
``close()`` of the generator) cancels the tasks still queued, and ``close()`` of the executor
stops its own workers without waiting for running tasks. ``run_batch`` and ``compare`` both map
their tasks this way.

No orphans: the processes an executor starts die with the driver, even when it is killed by
``kill -9`` (which runs no clean-up). On Linux each of them asks the kernel for SIGKILL when its
parent dies (``prctl(PR_SET_PDEATHSIG)``): the forkserver of local processes (its parent is the
driver; :mod:`adoption_abm.batch._forkserver`, preloaded), each pool worker (its parent is the
forkserver) and each worker of a Dask LocalCluster started here (its parent is the driver;
:func:`dask_setup`, preloaded). Everywhere, each worker also watches the driver's pid once a
second (:func:`die_with_driver`), the fallback where the signal is unavailable. With the
workers gone, the forkserver and multiprocessing's resource tracker see their pipes close and
exit. A cluster reached with ``--scheduler`` is not ours: its workers are left alone.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

MAX_RETRIES = 3


class WorkerLost(RuntimeError):
    """A task's worker died more often than ``max_retries``."""


# ---------------------------------------------------------------------------------------------
# Processes that die with the driver
# ---------------------------------------------------------------------------------------------
DRIVER_ENV = "ADOPTION_ABM_DRIVER_PID"
"""The driver's pid, in the environment of every process it starts (they inherit it)."""
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_SECONDS = 1.0


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies; False elsewhere or if
    the call fails."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process: it exists
        return True
    return True


def _watch(pid: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        if not _alive(pid):
            os._exit(1)  # the driver is gone: nothing will read our results


def die_with_driver(driver: int | None = None, *, watch: bool = True) -> None:
    """Make this process (a worker) die with the driver: the parent-death signal on Linux, and
    a daemon thread that exits the process once the driver's pid is gone. ``driver`` defaults
    to :data:`DRIVER_ENV`; if the driver is already gone, exit now."""
    pid = driver or int(os.environ.get(DRIVER_ENV) or 0)
    set_parent_death_signal()
    if not pid or pid == os.getpid():
        return
    if not _alive(pid):
        os._exit(1)
    if watch:
        threading.Thread(
            target=_watch, args=(pid, WATCH_SECONDS), name="watch-driver", daemon=True
        ).start()


def mark_driver() -> int:
    """Record this process as the driver in the environment its children inherit (a worker
    that drives workers of its own replaces its driver's pid)."""
    os.environ[DRIVER_ENV] = str(os.getpid())
    return os.getpid()


def dask_setup(worker: Any = None) -> None:
    """Dask preload hook (``preload=["adoption_abm.batch.executors"]``): a worker of a
    LocalCluster started by :class:`DaskCluster` dies with the driver."""
    die_with_driver()


class Executor(Protocol):
    workers: int
    label: str

    def map_unordered(
        self, fn: Callable[[Any], Any], tasks: Sequence[Any]
    ) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None: ...


def available_cpus() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class InProcess:
    """Runs tasks one after the other in this process (``--workers 1``)."""

    workers = 1
    label = "in-process"

    def map_unordered(self, fn, tasks):
        for task in tasks:
            yield task, fn(task)

    def close(self) -> None:
        pass


def _context() -> mp.context.BaseContext:
    """forkserver on Linux (cheap workers, no fork of a threaded parent), else spawn."""
    if sys.platform.startswith("linux"):
        ctx = mp.get_context("forkserver")
        # _forkserver first: the forkserver dies with the driver (see the module docstring)
        ctx.set_forkserver_preload(["adoption_abm.batch._forkserver", "adoption_abm.batch.runner"])
        return ctx
    return mp.get_context("spawn")


class LocalProcesses:
    """A pool of local worker processes (``concurrent.futures.ProcessPoolExecutor``).

    If a worker dies, the pool breaks; the tasks that had not returned are re-submitted to a
    fresh pool (results already received are kept).
    """

    def __init__(self, workers: int, max_retries: int = MAX_RETRIES):
        self.workers = int(workers)
        self.max_retries = max_retries
        self.label = f"local:{self.workers}"
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        self._shutdown()
        driver = mark_driver()
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_context(),
            initializer=die_with_driver,
            initargs=(driver,),
        )
        return self._pool

    def map_unordered(self, fn, tasks):
        attempts = dict.fromkeys(range(len(tasks)), 0)
        todo = list(range(len(tasks)))
        while todo:
            pool = self._pool or self._new_pool()
            futures = {pool.submit(fn, tasks[i]): i for i in todo}
            todo = []
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = futures[fut]
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            attempts[i] += 1
                            if attempts[i] > self.max_retries:
                                raise WorkerLost(
                                    f"task {i}: its worker died {attempts[i]} times"
                                ) from None
                            todo.append(i)
                            continue
                        yield tasks[i], result
            finally:  # left early (an error, Ctrl-C, the caller stopped): drop the queued tasks
                for fut in pending:
                    fut.cancel()
            if todo:
                self._new_pool()

    def _shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:  # our own workers: do not wait for a running task
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)

    def close(self) -> None:
        self._shutdown()


class DaskCluster:
    """Tasks on a Dask distributed cluster: an existing scheduler (``tcp://HOST:PORT``) or a
    ``LocalCluster`` of worker processes on the loopback interface.

    Dask re-schedules the tasks of a worker that dies; a task whose workers die too often
    (``KilledWorker``) is re-submitted here, up to ``max_retries`` times.
    """

    def __init__(
        self, address: str | None = None, workers: int | None = None, max_retries: int = MAX_RETRIES
    ):
        from distributed import Client, LocalCluster

        self.max_retries = max_retries
        self._cluster = None
        if address:
            self.client = Client(address, timeout="30s")
            self.label = f"dask:{address}"
        else:
            mark_driver()  # its workers die with this process (dask_setup, preloaded)
            self._cluster = LocalCluster(
                n_workers=workers or available_cpus(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
                preload=["adoption_abm.batch.executors"],
            )
            self.client = Client(self._cluster)
            self.label = f"dask:local:{len(self._cluster.workers)}"
        self.workers = max(1, len(self.client.scheduler_info(n_workers=-1)["workers"]))

    def map_unordered(self, fn, tasks):
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        attempts = dict.fromkeys(range(len(tasks)), 0)

        def submit(i: int):
            return self.client.submit(fn, tasks[i], pure=False)

        futures = {}
        for i in range(len(tasks)):
            futures[submit(i)] = i
        queue = as_completed(list(futures))
        try:
            for fut in queue:
                i = futures.pop(fut)
                try:
                    result = fut.result()
                except KilledWorker:
                    attempts[i] += 1
                    if attempts[i] > self.max_retries:
                        raise WorkerLost(
                            f"task {i}: Dask lost its worker {attempts[i]} times"
                        ) from None
                    new = submit(i)
                    futures[new] = i
                    queue.add(new)
                    continue
                finally:
                    fut.release()
                yield tasks[i], result
        finally:  # left early (an error, Ctrl-C, the caller stopped): drop the queued tasks
            if futures:
                self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    workers: int | None = None, scheduler: str | None = None, dask_local: bool = False
) -> Executor:
    """``scheduler`` → Dask client; ``dask_local`` → Dask LocalCluster of ``workers``;
    else local processes (``workers`` default: all CPUs; 1 runs in this process)."""
    if scheduler:
        return DaskCluster(address=scheduler)
    if dask_local:
        return DaskCluster(workers=workers)
    n = workers or available_cpus()
    return InProcess() if n == 1 else LocalProcesses(n)
