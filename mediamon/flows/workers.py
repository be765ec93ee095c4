"""The processes a run starts beside itself: one fetches pages (so its threads never hold up the model on the GIL),
and it hands their extraction to processes of its own (`extract_processes`), so the one polite fetcher is not
held up by trafilatura either. Each dies with the process that started it and ends at once on Ctrl-C.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.util
import os
import signal
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import cache

from mediamon.core.settings import Settings
from mediamon.flows.chunks import fetch_chunk

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: this process is killed when the one that started it dies (even by SIGKILL), never orphaned."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the request took hold
        os._exit(1)


def _stop_now(signum: int, _frame: object) -> None:
    os._exit(128 + signum)


def start_worker() -> None:
    """A worker process's start: it dies with its parent, and Ctrl-C (sent to the whole process group) ends it at
    once, without a traceback, idle or at work. Ending is safe: a chunk's files are written whole or not at all, so
    the chunk it was on is fetched again by the next run. Otherwise the fetching process would finish that chunk,
    and the next one already handed to it, before the run could stop (minutes when their hosts are down and every
    page retries)."""
    _die_with_parent()
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a run in the background ignores Ctrl-C, and so do we
        signal.signal(signal.SIGINT, _stop_now)


def start_fetch_worker(extract_processes: int) -> None:
    """The fetching process's start: as any worker's, and its extraction processes started at once."""
    start_worker()
    _extracting(extract_processes)


def fetching_pool(settings: Settings) -> ProcessPoolExecutor:
    """The one page-fetching process of a run (its politeness towards each host lives in it)."""
    spawn = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(1, spawn, start_fetch_worker, (settings.extract_processes,))


@cache
def _extracting(processes: int) -> Executor | None:
    """The fetching process's extraction processes, kept for its life; None when it extracts pages itself."""
    if processes < 1:
        return None
    # Forked as the fetching process starts, while it has a single thread: they start at once with what it has
    # imported, and their queues' semaphores are not named (nothing to clean up when a Ctrl-C ends them abruptly).
    pool = ProcessPoolExecutor(processes, multiprocessing.get_context("fork"), start_worker)
    pool.submit(int).result()  # forks them now
    # Shut down as the fetching process ends: before multiprocessing waits there for its children to end, and
    # before the pool's queues close (their own finalizers, at priority 10).
    multiprocessing.util.Finalize(pool, pool.shutdown, exitpriority=100)
    return pool


def fetch_in_worker(settings: Settings, run_id: str, chunk_path: str) -> str:
    """`fetch_chunk` in the fetching process, its pages extracted by that process's extraction processes."""
    return fetch_chunk(settings, run_id, chunk_path, _extracting(settings.extract_processes))
