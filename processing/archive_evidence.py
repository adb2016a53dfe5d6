"""Season evidence over an archive: attribution per date/platform partition (on Dask), then season targets.

An archive (:mod:`.archive_layout`: ``date=YYYY-MM-DD/platform=NAME`` partitions, as
``process-archive`` reads them) holds one survey per partition. :func:`season_over_archive`:

1. per partition, one task on a dask.distributed cluster (a ``LocalCluster`` by default, any
   scheduler by address; raw partitions are georeferenced first, as ``process-archive`` does):
   the evidence chain of one survey (:func:`~ecopatrol.processing.evidence.build_evidence`:
   annotation, events, the all-samples attribution with the reduced fit over every sample,
   ``attribution.REDUCED_FIT``; without the kernel-density map ``hotspots.tif``, which the season
   does not use: ``ecopatrol hotspots`` on a run's samples draws it) written as a run folder
   ``OUT/runs/date=…/platform=…/{samples,evidence}/``, and the ledger's coverage test of that
   run (:func:`~ecopatrol.processing.ledger.coverage.assess_run`: which firms its samples covered);
2. on the client, on the small per-partition results only: the season targets and per-firm
   histories (:func:`~ecopatrol.processing.season.season_targets`; partitions of the same date —
   several platforms — are one survey day), written to ```OUT/targets.csv``, ``OUT/history.csv``
   and ``OUT/season.json``; with a ledger (``db``), each run's off-site checks are recorded
   (:func:`~ecopatrol.processing.ledger.store.record_run`, idempotent) and the ledger's outcomes
   folded into the ranking.

:func:`season_in_memory` runs the same per-partition function in this process, one partition after
the other: the reference the Dask path is tested against (same files, same targets). A task holds
one partition's samples; the client holds tables of firms.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pandas as pd

from ecopatrol.core.errors import InputError
from ._dask import SEASON_WORKER_MALLOC, Progress, client_for, run
from .archive_layout import Partition, scan_layout

log = logging.getLogger(__name__)

SEASON_SCHEMA = "ecopatrol.season-targets/1"
_AREAS: dict[str, object] = {}  # per worker process: the area, loaded once


def _area(area_ref):
    from ecopatrol.core.area import load_area

    if hasattr(area_ref, "enterprises"):
        return area_ref
    key = str(area_ref)
    if key not in _AREAS:
        _AREAS[key] = load_area(area_ref)
    return _AREAS[key]


def run_dir_of(out_root, part: Partition) -> Path:
    """``OUT/runs/date=…/platform=…``: the run folder of one partition."""
    return Path(out_root) / "runs" / f"date={part.date}" / f"platform={part.platform}"


def _link_samples(part: Partition, run: Path) -> Path:
    """``RUN/samples/samples.parquet``: a link to the partition's one samples file (or the files joined)."""
    import geopandas as gpd

    from ._evidence_util import write_atomic

    dst = run / "samples" / "samples.parquet"
    dst.parent.mkdir(parents=True, exist_ok=True)
    if len(part.files) == 1:
        src = part.files[0].resolve()
        if dst.is_symlink() or dst.exists():
            if dst.resolve() == src:
                return dst
            dst.unlink()
        os.symlink(src, dst)
        return dst
    frame = pd.concat([gpd.read_parquet(f) for f in part.files], ignore_index=True)
    write_atomic(dst, lambda tmp: frame.to_parquet(tmp, index=False))
    return dst


def evidence_partition(part: Partition, area_ref, out_root: str, *, species: str = "tvoc_ugm3",
                       seed: int = 0) -> dict:
    """The evidence chain and the coverage test of one partition (one survey of one platform on one day).

    Writes ``OUT/runs/date=…/platform=…/evidence/`` and returns a small dict: the partition key,
    date, platform, folders, sample count, seconds, and the run's
    :class:`~ecopatrol.processing.ledger.coverage.RunAssessment` (coverage per firm).
    """
    import geopandas as gpd

    from .evidence import build_evidence
    from .ledger.coverage import assess_run

    t0 = time.perf_counter()
    area = _area(area_ref)
    run_dir = run_dir_of(out_root, part)
    sp = _link_samples(part, run_dir)
    samples = gpd.read_parquet(sp)
    as_read = samples.copy()  # for the coverage test (build_evidence may add columns to its input)
    # no kernel-density map (hotspots.tif): the season draws none, and it was ~1/6 of a partition's time
    res = build_evidence(samples, area, out_dir=run_dir / "evidence", species=species, seed=seed,
                         samples_name=str(sp), raster=False)
    assessment = assess_run(run_dir, area, samples=as_read)
    return {"key": part.key, "date": part.date, "platform": part.platform, "run_dir": str(run_dir),
            "evidence_dir": str(run_dir / "evidence"), "n_samples": len(samples),
            "n_events": int(res.summary.get("n_events", 0)), "seconds": round(time.perf_counter() - t0, 2),
            "assessment": assessment}


def _coverage(assessment) -> dict[str, bool]:
    return {c["enterprise_id"]: c["result"] != "not assessable" for c in assessment.checks}


def _partitions(archive_dir) -> list[Partition]:
    layout = scan_layout(archive_dir)
    if layout.kind != "samples":
        raise InputError(f"archive `{layout.root}` holds raw track + sensor files: georeference it first "
                         "(`ecopatrol process-archive ARCHIVE OUT` writes OUT/samples), then give OUT/samples")
    return layout.partitions


def season_over_archive(archive_dir, out_dir, area, *, scheduler=None, workers: int | None = None,
                        processes: bool = True, species: str = "tvoc_ugm3", db: str | None = None,
                        top: int | None = None, seed: int = 0, progress: Progress | None = None,
                        targets_path=None, alarms=None):
    """Season targets of an archive on dask.distributed (module docstring); returns the
    :class:`~ecopatrol.processing.season.SeasonResult`. ``area`` is an area folder or name
    (``"jimo"``; each worker process loads it once) or an Area (sent with every task: only for
    in-process clusters); ``scheduler`` as in :func:`~.distributed.process_archive`; ``alarms`` (an
    alarms.csv, its frame or a list of them) as in :func:`~.season.season_targets`, on the client."""
    t0 = time.perf_counter()
    parts = _partitions(archive_dir)
    area_ref = area
    client, cluster, owned = client_for(scheduler, workers, processes, worker_env=SEASON_WORKER_MALLOC)
    timings: dict[str, float] = {}
    try:
        futs = [client.submit(evidence_partition, p, area_ref, str(out_dir), species=species, seed=seed, pure=False)
                for p in parts]
        run(client, futs, "evidence", progress, timings)
        results = client.gather(futs)
    finally:
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()
    n_workers = workers or 2
    return _season(results, _area(area_ref), out_dir, db=db, top=top, path="distributed", targets_path=targets_path,
                   alarms=alarms, extra={"stage_s": timings, "seconds": round(time.perf_counter() - t0, 2), "n_workers": n_workers
                          if scheduler is None else None})


def season_in_memory(archive_dir, out_dir, area, *, species: str = "tvoc_ugm3", db: str | None = None,
                     top: int | None = None, seed: int = 0, targets_path=None, alarms=None):
    """:func:`season_over_archive` in this process, partition after partition (the reference path)."""
    t0 = time.perf_counter()
    parts = _partitions(archive_dir)
    results = [evidence_partition(p, area, str(out_dir), species=species, seed=seed) for p in parts]
    return _season(results, _area(area), out_dir, db=db, top=top, path="in-memory", targets_path=targets_path,
                   alarms=alarms, extra={"seconds": round(time.perf_counter() - t0, 2)})


def _season(results: list[dict], area, out_dir, *, db, top, path: str, extra: dict, targets_path=None, alarms=None):
    """Record the runs in the ledger (``db``), rank the season and write targets, history and season.json."""
    from ._evidence_util import write_atomic, write_csv
    from .season import season_targets
    from .targeting import write_targets

    results = sorted(results, key=lambda r: r["key"])
    ledger, recorded = None, []
    if db is not None:
        from ecopatrol.core.db import open_database
        from .ledger.learning import adjustment_from_db
        from .ledger.store import record_run

        engine = open_database(db)
        try:
            recorded = [record_run(engine, r["assessment"]).as_dict() for r in results]
            ledger = adjustment_from_db(engine)
        finally:
            engine.dispose()
    res = season_targets([r["evidence_dir"] for r in results], area, top=top, ledger=ledger,
                         coverage=[_coverage(r["assessment"]) for r in results], alarms=alarms)
    out = Path(out_dir)
    write_targets(res.targets, Path(targets_path) if targets_path is not None else out / "targets.csv")
    write_csv(res.history, out / "history.csv")
    summary = {"schema": SEASON_SCHEMA, "path": path, "n_partitions": len(results),
               "n_days": int(res.history["date"].nunique()), "n_samples": int(sum(r["n_samples"] for r in results)),
               "partitions": [{k: r[k] for k in ("key", "n_samples", "n_events", "seconds")} for r in results],
               "ledger": None if db is None else {"runs_new": sum(bool(r.get("new")) for r in recorded),
                                                  "runs": len(recorded)}, **extra}
    write_atomic(out / "season.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=2, default=str)))
    log.info("season over archive: %d partitions, %d days, %d samples → %d targets (%s) in %.1f s",
             len(results), summary["n_days"], summary["n_samples"], len(res.targets), path,
             float(extra.get("seconds", 0)))
    return res
