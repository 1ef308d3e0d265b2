"""Forked worker processes of one intra-op thread each, for independent CPU trainings: the seeds of ``ganaug
evaluate`` and the two trainings of the teacher classifier. A task is inherited at the fork (never pickled); its
results come back through the pool. Tasks call :func:`work_done` to advance the parent's progress bar.

Example:
    >>> map_seeds(lambda seed: seed * seed, range(3), jobs=1)
    {0: 0, 1: 1, 2: 4}
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import GanaugError

_TASK: Any = None  # the per-seed task that forked workers run (inherited at fork, never pickled)
_TICKS: Any = None  # the forked workers' count of finished units (a shared integer the parent polls)
_ADVANCE: Any = None  # the progress callback of a map_seeds run in this process
POLL_S = 0.5  # how often the parent reads the workers' count


def _run_task(seed: int) -> tuple[int, Any]:
    return seed, _TASK(seed)


def _worker_start() -> None:
    """A forked worker: one intra-op thread, and its own stdout/stderr objects (a thread of the parent, such as a
    progress bar's, may have held their locks at the fork)."""
    import os
    import sys

    torch.set_num_threads(1)
    sys.stdout = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stderr = os.fdopen(os.dup(2), "w", buffering=1)


def resolve_jobs(jobs: int, seeds: int, device: torch.device) -> int:
    """Worker processes for the seeds: ``jobs``, or for 0 one per usable CPU core (at most one per seed) on a CPU and
    one on a GPU, where parallel processes would only share the device. Forked workers need a platform with fork."""
    import multiprocessing
    import os

    if jobs < 0:
        raise GanaugError(f"jobs must be >= 0 (0: one per CPU core), got {jobs}")
    if "fork" not in multiprocessing.get_all_start_methods() or device.type != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(seeds, jobs or cores))


def map_seeds(task, seeds: range, jobs: int, done=None, advance=None) -> dict[int, Any]:
    """``{seed: task(seed)}``, in ``jobs`` forked processes of one thread each when ``jobs > 1`` (a seed's trainings
    are independent of the others', so the results are those of one process); ``done(seed)`` after each seed, and
    ``advance(n)`` in this process as the task calls :func:`work_done` (from a forked worker too, within a second)."""
    global _TASK, _TICKS, _ADVANCE
    if jobs <= 1:
        out = {}
        _ADVANCE = advance
        try:
            for s in seeds:
                out[s] = task(s)
                if done is not None:
                    done(s)
        finally:
            _ADVANCE = None
        return out
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("fork")
    _TASK, _TICKS = task, ctx.Value("q", 0)
    out: dict[int, Any] = {}
    # an executor, not a multiprocessing.Pool: a worker that dies (killed for memory, say) breaks it instead of hanging
    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_start)
    try:
        seen, pending = 0, {pool.submit(_run_task, s) for s in seeds}
        while pending:
            finished, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            ticks = _TICKS.value
            if advance is not None and ticks > seen:
                advance(ticks - seen)
            seen = ticks
            for future in finished:
                s, value = future.result()
                out[s] = value
                if done is not None:
                    done(s)
    except BrokenProcessPool:
        _stop(pool)
        raise GanaugError(
            f"a worker process ended abruptly (killed, or out of memory?) with {len(seeds) - len(out)} of {len(seeds)} "
            "task(s) unfinished; run again with fewer jobs (jobs=1 runs in this process)"
        ) from None
    except BaseException:  # a task's error or Ctrl-C: the other workers stop now, not after their tasks
        _stop(pool)
        raise
    finally:
        _TASK = _TICKS = None
    pool.shutdown()
    return out


def _stop(pool) -> None:
    """End a pool's workers now: its pending tasks are cancelled and its running ones killed."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14 and later
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def work_done(n: int = 1) -> None:
    """A unit of a :func:`map_seeds` task (one training) is done: its progress bar advances, also from a worker."""
    if _TICKS is not None:  # a forked worker: the parent reads the shared count
        with _TICKS.get_lock():
            _TICKS.value += n
    elif _ADVANCE is not None:
        _ADVANCE(n)
