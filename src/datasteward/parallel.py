"""The process pool that import and scan share: spawned, one native thread per worker."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def one_thread_each() -> None:
    """Limit this process's native thread pools (BLAS, FFT) to one thread."""
    # Several workers each running multi-threaded BLAS, FFT and resampling fight
    # over the same cores; measured 3x slower than one thread per worker.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each limited to one native thread.

    Spawned, not forked: the parent holds a MongoDB client that must not be forked.
    """
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=one_thread_each)
