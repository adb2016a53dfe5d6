"""Dask plumbing shared by the archive steps: the client (a LocalCluster or a scheduler address),
batches of partitions by rows, and waiting for tasks with progress."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from ecopatrol.core.errors import InputError

Progress = Callable[[str, int, int], None]

# glibc malloc settings for the season's worker processes (issue 19 item 4). `distributed`'s nanny
# starts its workers with MALLOC_TRIM_THRESHOLD_=65536 (`distributed.nanny.pre-spawn-environ`); setting
# any trim threshold also freezes glibc's mmap threshold at 128 kB (mallopt(3)), so every numpy array
# above 128 kB — the plume matrices and frames of a partition — is mapped, faulted in and unmapped again:
# `evidence_partition` ran 1.8–1.9x slower in CPU (BENCHMARKS "Season partitions, third pass"). A larger
# trim threshold alone does not help (measured); these are glibc's own dynamic ceilings on 64-bit
# (mmap threshold 32 MB, trim threshold twice that), fixed, so arrays up to 32 MB are reused from the
# heap and at most 64 MB of free heap top is kept per worker. Only the season's LocalCluster uses
# them: `process-archive`'s flat-memory figures were measured with distributed's default.
SEASON_WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "67108864"}


def client_for(scheduler, workers: int | None, processes: bool, worker_env: dict[str, str] | None = None):
    """(client, owned_cluster_or_None): an existing Client, a scheduler address, or a new LocalCluster.
    ``worker_env``: variables set in the environment of a new LocalCluster's worker processes before
    they start (e.g. :data:`SEASON_WORKER_MALLOC`); ignored for a scheduler address or a thread cluster."""
    from distributed import Client, LocalCluster

    if scheduler is not None and hasattr(scheduler, "submit"):
        return scheduler, None, False
    if isinstance(scheduler, str) and scheduler:
        try:
            return Client(scheduler, timeout="10s"), None, True
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at `{scheduler}` ({exc}): start it "
                             "(`dask scheduler`) or leave --scheduler out for a local cluster") from None
    kw = dict(n_workers=workers or 2, threads_per_worker=1, processes=processes, dashboard_address=None,
              scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR)
    if processes and worker_env:
        cluster = _cluster_with_env(LocalCluster, kw, worker_env)
    else:
        cluster = LocalCluster(**kw)
    return Client(cluster), cluster, True


def _cluster_with_env(LocalCluster, kw: dict, env: dict[str, str]):
    """A LocalCluster whose nannies spawn their workers with ``env``. glibc reads MALLOC_* when a
    process starts, so they must be in the nanny's pre-spawn environment; the nanny takes a variable
    of this process's environment over its config (and writes its own into it when a worker starts),
    so both are set while the workers start, and this process's environment is put back after."""
    import dask

    saved = {k: os.environ.get(k) for k in env}
    try:
        os.environ.update(env)
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in env.items()}):
            return LocalCluster(**kw)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def batches(parts: list, rows: dict[str, int], rows_per_task: int) -> list[list]:
    out, cur, n = [], [], 0
    for p in parts:
        r = rows.get(p.key, 0)
        if cur and n + r > rows_per_task:
            out.append(cur)
            cur, n = [], 0
        cur.append(p)
        n += r
    if cur:
        out.append(cur)
    return out


def run(client, futures, stage: str, progress: Progress | None, timings: dict | None = None) -> list:
    """Wait for ``futures`` in order, reporting completions; re-raises the first task error."""
    from distributed import as_completed

    t0 = time.perf_counter()
    total = len(futures)
    if progress is not None:
        progress(stage, 0, total)
    done = 0
    for fut in as_completed(futures):
        if fut.status == "error":
            fut.result()  # raises the task's own exception (FormatError…)
        done += 1
        if progress is not None:
            progress(stage, done, total)
    if timings is not None:
        timings[stage] = round(time.perf_counter() - t0, 2)
    return futures


def tree(client, func, items: list, fan_in: int, *args) -> object:
    """Reduce futures ``items`` in a tree of ``func(*args, *group)`` tasks of fan-in ``fan_in``; one future."""
    level = items
    while True:
        level = [client.submit(func, *args, *level[i:i + fan_in], pure=False) for i in range(0, len(level), fan_in)]
        if len(level) == 1:
            return level[0]
