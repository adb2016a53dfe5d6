"""Dask plumbing shared by the archive steps: the client (a LocalCluster or a scheduler address),
batches of partitions by rows, and waiting for tasks with progress."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ecopatrol.core.errors import InputError

Progress = Callable[[str, int, int], None]


def client_for(scheduler, workers: int | None, processes: bool):
    """(client, owned_cluster_or_None): an existing Client, a scheduler address, or a new LocalCluster."""
    from distributed import Client, LocalCluster

    if scheduler is not None and hasattr(scheduler, "submit"):
        return scheduler, None, False
    if isinstance(scheduler, str) and scheduler:
        try:
            return Client(scheduler, timeout="10s"), None, True
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at `{scheduler}` ({exc}): start it "
                             "(`dask scheduler`) or leave --scheduler out for a local cluster") from None
    cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=processes,
                           dashboard_address=None, scheduler_kwargs={"dashboard": False},
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster, True


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
