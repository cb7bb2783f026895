"""Where a scan measures its items: in this process, on the local process pool, or as tasks on a Ray cluster.

Every engine yields one result per job in the order of the jobs, so the scan's
chunked writes, resuming and progress bar are the same whichever engine runs the
work. Ray is optional (``pip install '.[ray]'``) and imported only when asked for.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from collections import deque
from contextlib import contextmanager
from typing import Iterator

from datasteward.errors import DataStewardError, SetupError
from datasteward.parallel import one_thread_each, process_pool

ENGINES = ("local", "ray")
Job = tuple  # (media path or URL, modality, known content hash): the arguments of scan.measure_item

_INLINE_LIMIT = 24  # below this many items the local pool costs more than it saves
_RAY_BATCH = 64  # most items in one Ray task: a 20,000-item scan is a few hundred tasks, not 20,000
_IN_FLIGHT = 4  # Ray tasks queued per CPU: workers stay busy, and the driver holds few results at once


def check_engine(engine: str, address: str | None = None) -> None:
    """Refuse an unknown engine, or an address given to the local one."""
    if engine not in ENGINES:
        raise DataStewardError(f"unknown engine {engine!r}; known engines: {', '.join(ENGINES)}")
    if address and engine != "ray":
        raise DataStewardError(f"--address {address} needs --engine ray")


@contextmanager
def measured(jobs: list[Job], *, engine: str = "local", workers: int | None = None,
             address: str | None = None) -> Iterator[Iterator[dict]]:
    """An iterator of ``scan.measure_item(*job)`` for each job, in order, computed by ``engine``.

    Parameters
    ----------
    engine : ``"local"`` or ``"ray"``
        ``local``: in this process for a few items, else a pool of spawned
        processes. ``ray``: tasks of up to 64 items on the Ray cluster.
    workers : int, optional
        Local processes, or the CPUs of the local Ray instance started for the
        scan (default: all cores). An already running Ray is used as it is.
    address : str, optional
        Ray cluster to connect to (``ray://host:10001``, ``auto``); default: a
        local Ray instance, shut down afterwards.
    """
    check_engine(engine, address)
    if engine == "local":
        with _local(jobs, workers) as results:
            yield results
        return
    with ray_cluster(workers, address) as ray:
        results = _ray_results(ray, jobs, workers)
        try:
            yield results
        finally:
            results.close()  # cancels the tasks still queued when the scan stops early


@contextmanager
def _local(jobs: list[Job], workers: int | None) -> Iterator[Iterator[dict]]:
    from datasteward.scan import measure_item

    workers = workers or os.cpu_count() or 1
    if len(jobs) <= _INLINE_LIMIT or workers <= 1:
        yield (measure_item(*job) for job in jobs)
        return
    pool = process_pool(workers)
    try:
        yield pool.map(_measure_job, jobs, chunksize=4)
    finally:
        pool.shutdown(cancel_futures=True)


def _measure_job(job: Job) -> dict:
    from datasteward.scan import measure_item

    return measure_item(*job)


# --- Ray ---------------------------------------------------------------------

def import_ray():
    """The ``ray`` module.

    Raises
    ------
    SetupError
        If Ray is not installed.
    """
    try:
        import ray
    except ImportError as exc:
        raise SetupError("Ray is not installed; install the extra: pip install '.[ray]'") from exc
    return ray


@contextmanager
def ray_cluster(workers: int | None = None, address: str | None = None):
    """Ray, initialised for the duration: connected to ``address``, or a local instance of ``workers`` CPUs.

    A Ray already initialised in this process is used as it is and left
    running, so a caller (a test, a benchmark) can start one cluster for many
    scans. A local instance has no dashboard, sends no usage statistics, and
    keeps its logs in a temporary folder removed at shutdown.

    The workers get this process's ``DATASTEWARD_*`` variables (media limits,
    the folder pictures are written to). On a cluster of several machines that
    folder (``DATASTEWARD_HOME``) must be shared storage, and every node needs
    Data Steward installed.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env = {k: v for k, v in os.environ.items() if k.startswith("DATASTEWARD_")}
    options = {"runtime_env": {"env_vars": env}, "log_to_driver": False, "logging_level": logging.ERROR}
    temp = None
    try:
        if address:
            ray.init(address=address, **options)
        else:
            temp = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must fit in 107 bytes
            ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, _temp_dir=temp, **options)
    except Exception as exc:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise SetupError(f"cannot start or reach {where} ({type(exc).__name__}: {str(exc)[:300]})") from exc
    try:
        yield ray
    finally:
        ray.shutdown()
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


def _ray_results(ray, jobs: list[Job], workers: int | None) -> Iterator[dict]:
    """Results of ``jobs`` in order, from tasks of a few dozen items with a bounded number in flight."""
    cpus = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    window = cpus * _IN_FLIGHT
    # Small scans still spread over every CPU; big ones use tasks of _RAY_BATCH items.
    size = max(1, min(_RAY_BATCH, math.ceil(len(jobs) / window)))
    task = ray.remote(num_cpus=1, max_retries=3)(_measure_batch)  # a crashed worker's batch is run again
    pending: deque = deque()
    try:
        for start in range(0, len(jobs), size):
            pending.append(task.remote(jobs[start:start + size]))
            if len(pending) >= window:
                yield from ray.get(pending.popleft())
        while pending:
            yield from ray.get(pending.popleft())
    except ray.exceptions.RayError as exc:  # measure_item catches item errors: this is a lost worker or node
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DataStewardError(f"a Ray task failed after its retries ({type(exc).__name__}: {first}); "
                               "the items measured so far are saved, so a rerun resumes") from exc
    finally:
        for ref in pending:
            ray.cancel(ref)


_limited = False


def _measure_batch(jobs: list[Job]) -> list[dict]:
    """Runs in a Ray worker: measure a batch of items with the same code as the local pool."""
    global _limited
    from datasteward.scan import measure_item

    if not _limited:
        one_thread_each()
        _limited = True
    return [measure_item(*job) for job in jobs]
