"""Worker processes for backtests: spawned, and gone as soon as the backtest that started
them is.

A backtest runs for minutes to hours, and people stop it: Ctrl-C, ``kill``, a scheduler's
SIGTERM, a closed terminal. A worker of :class:`concurrent.futures.ProcessPoolExecutor` does
not notice that its parent died and computes its run to the end (BayBE's can take half an
hour), holding the cores the next backtest or test needs. Each worker here watches its
parent and exits the moment the parent is gone, however it ended (SIGKILL included); when
the parent stops on an error or Ctrl-C, it ends its workers' runs and cancels the rest. Runs
already stored stay: a backtest resumes from them.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.queues import SimpleQueue

EXIT_ORPHANED = 3
"""A worker's exit status when it stopped because its parent was gone."""

_steps: SimpleQueue | None = None
"""In a worker: the queue it reports its steps on (None: no one listens)."""


@contextmanager
def worker_pool(workers: int, steps: SimpleQueue | None = None) -> Iterator[ProcessPoolExecutor]:
    """``workers`` spawned processes (fresh interpreters: torch's threads are not forked),
    each exiting when this process does and reporting steps on ``steps`` (a queue from
    :func:`step_queue`, through :func:`step_hook`). On leaving with an exception
    (an error in a run, Ctrl-C) the runs under way are stopped and the others cancelled."""
    pool = ProcessPoolExecutor(
        workers, mp_context=_SpawnDeafToCtrlC(), initializer=_start, initargs=(steps,)
    )
    try:
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown()


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Cancel the runs not started and end the running ones now (what Python 3.14's
    ``terminate_workers`` does): left to finish, they would hold the exit for minutes."""
    if hasattr(pool, "terminate_workers"):
        pool.terminate_workers()
        return
    running = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in running:
        process.terminate()


class _DeafToCtrlC(mp.context.SpawnProcess):
    """A spawned process started with SIGINT blocked, for good. A terminal's Ctrl-C reaches
    the whole process group: a worker interrupted while it imports prints a traceback, and
    one interrupted in a run hands the interrupt back as the run's result and takes the next
    run. Its parent ends it instead (:func:`worker_pool`), and a parent gone ends it too
    (:func:`_exit_with`)."""

    def start(self) -> None:
        if not hasattr(signal, "pthread_sigmask"):  # Windows: no signal masks
            super().start()
            return
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:  # a blocked signal stays blocked across fork and exec
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


class _SpawnDeafToCtrlC(mp.context.SpawnContext):
    Process = _DeafToCtrlC


def step_queue() -> SimpleQueue:
    """A queue the workers of :func:`worker_pool` put their steps on: no server process, and
    a put is written before the call returns (a ``Queue`` writes from a thread later), so a
    run's steps are all there by the time its result is."""
    return mp.get_context("spawn").SimpleQueue()


def step_hook() -> Callable[[str, int, int], None] | None:
    """In a worker: ``hook(strategy, seed, step)`` that reports a step to the parent's queue
    (None where no one listens: no queue, or not a worker of :func:`worker_pool`)."""
    steps = _steps
    return None if steps is None else lambda s, k, step: steps.put((s, k, step))


def _start(steps: SimpleQueue | None) -> None:
    """Each worker's initializer: keep the step queue, and exit when the parent is gone."""
    global _steps
    _steps = steps
    parent = mp.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: mp.process.BaseProcess) -> None:
    parent.join()  # returns once the parent's sentinel closes: it exited or was killed
    os._exit(EXIT_ORPHANED)
