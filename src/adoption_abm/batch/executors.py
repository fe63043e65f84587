"""Where chunks of runs are computed: in this process, in local worker processes, or on a Dask
distributed cluster. All three give the same results (each run depends only on its parameters
and seed); they differ in speed and in what survives a crash.

Every executor yields ``(task, result)`` pairs as tasks finish, in any order, and re-submits
the tasks of a worker that died (killed, out of memory) up to ``max_retries`` times. A task that
raises stops the iteration with its exception; leaving the iteration early (an exception, Ctrl-C,
``close()`` of the generator) cancels the tasks still queued, and ``close()`` of the executor
stops its own workers without waiting for running tasks. ``run_batch`` and ``compare`` both map
their tasks this way.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

MAX_RETRIES = 3


class WorkerLost(RuntimeError):
    """A task's worker died more often than ``max_retries``."""


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
        ctx.set_forkserver_preload(["adoption_abm.batch.runner"])
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
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=_context())
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
            self._cluster = LocalCluster(
                n_workers=workers or available_cpus(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
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
