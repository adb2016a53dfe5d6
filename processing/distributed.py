"""Archives on Dask: the evidence aggregates of a year of a fleet, with the in-memory functions.

An **archive** is a folder partitioned hive-style by UTC date and platform::

    ARCHIVE/date=2025-03-01/platform=van01/part-0.parquet     (samples, GeoParquet; CONTRACTS.md)
    ARCHIVE/date=2025-03-01/platform=van01/R01.gpx + R01_voc.csv   (or raw track + sensor pairs)

:func:`process_archive` runs, on a dask.distributed cluster (a ``LocalCluster`` by default,
any running scheduler by address):

0. **georeferencing** of raw partitions (:func:`~ecopatrol.processing.georef.georeference`,
   one task per partition), written as a samples archive under ``OUT/samples/``;
1. a **scan** of every partition (row counts, bounds, median concentration);
2. per batch of partitions (``rows_per_task``): background and enhancement
   (:func:`~ecopatrol.processing.plume.annotate`, per partition), then mergeable partial
   results: the per-pass mean of every grid cell (and road segment when ``roads`` are
   given), hashed into buckets by cell, the kernel sums
   (:func:`~ecopatrol.processing.hotspots.kde_grid`) on the batch's window of the global grid,
   and histograms of the per-sample noise and background (:func:`level_histogram`);
3. per bucket: the median over passes of the per-pass means (the definition of
   :func:`~ecopatrol.processing.aggregate.grid_cells`), tree sums of the kernel grids and of
   the histograms;
4. on the client, on the aggregates only: Gi* (:func:`~ecopatrol.processing.hotspots.getis_ord`),
   hotspot polygons under the same rule as ``build_evidence`` (Gi* and an enhancement above
   the noise, :data:`~ecopatrol.processing.hotspots.HOTSPOT_RULE`; ``archive.json``
   ``hotspot_rule`` says why polygons were or were not drawn) and the COG raster, written
   atomically to ``OUT``.

Raw samples never reach the client; a worker holds one batch at a time. One code path: each
task calls the in-memory functions on its partitions — :func:`~.aggregate.pass_means` (the
per-pass half of ``grid_cells``/``road_segments``), :func:`~.aggregate.snap_to_pieces`,
:func:`~.hotspots.kernel_sums` — and the reduce calls their other halves
(:func:`~.aggregate.reduce_pass_means`, :func:`~.aggregate.cells_frame`,
:func:`~.aggregate.segments_frame`, :func:`~.hotspots.concentration_from_sums`). The results
equal those of :func:`process_in_memory` (``grid_cells``, ``road_segments``,
``kernel_concentration``, ``getis_ord`` on everything loaded): the cell aggregates, Gi*, the
noise and background of the hotspot rule and the polygons exactly, the kernel grids to
floating-point sums. The layout lives in :mod:`.archive_layout`, the mergeable medians in
:mod:`._levels`, the shared final assembly in :mod:`._archive_finish`, attribution per
partition in :mod:`.archive_evidence`.

The rule's noise and background are, as in ``build_evidence``, the medians of the per-sample
``{species}_noise`` and ``{species}_bg`` of ``annotate`` (over the samples with a finite
concentration), read from mergeable histograms (:mod:`._levels`) on both paths.

What makes it exact, and its two conventions (both paths follow them):

- a pass lies inside one partition (a van-day): passes that cross midnight UTC are split;
- ``annotate``'s noise floor, the one quantity it takes from the whole frame it is given
  (everything else is per pass), is fixed for the archive: ``noise_floor_frac`` × the median
  over partitions of each partition's median concentration (``min_noise``); with it fixed,
  annotating partition by partition equals annotating everything at once (up to the float
  rounding of rolling-window edges when sample times are not binary fractions of a second).

Workers must see ``archive_dir`` and ``out_dir`` at the same paths (one machine, or a
shared file system).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.samples import derived

from ecopatrol.core.errors import InputError
from . import aggregate
from ._archive_finish import ARCHIVE_RESULT_SCHEMA, ArchiveResult, archive_crs, finish, kernel_grid
from ._dask import Progress, batches, client_for, run, tree
from ._levels import LEVEL_BIN_REL, histogram_median, level_histogram, level_medians, levels_of, merge_histograms, \
    merge_levels
from .aggregate import CELL_KEY_SCALE as _KEY_SCALE  # cell key = ix * scale + iy
from .archive_layout import READ_COLUMNS, ArchiveLayout, Partition, read_partition, scan_layout

log = logging.getLogger(__name__)

__all__ = ["ARCHIVE_RESULT_SCHEMA", "LEVEL_BIN_REL", "READ_COLUMNS", "ArchiveLayout", "ArchiveResult", "Partition",
           "histogram_median", "level_histogram", "merge_histograms", "process_archive", "process_in_memory",
           "scan_layout"]


@dataclass(frozen=True)
class _Params:
    species: str
    cell_m: float
    segment_m: float
    snap_m: float
    min_noise: float
    crs_wkt: str
    grid: object  # hotspots.Grid of the kernel maps
    bandwidth_m: float
    n_buckets: int


# ---------------------------------------------------------------------------- per-partition work


def _scan_batch(batch: list[Partition], species: str, crs_wkt: str | None) -> list[dict]:
    """Per partition: rows, finite values, median concentration, lon/lat and metric bounds."""
    from ecopatrol.core.crs import lonlat_to_xy

    out = []
    for part in batch:
        f = read_partition(part, species)
        lon, lat = f["lon"].to_numpy(float), f["lat"].to_numpy(float)
        v = f[species].to_numpy(float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        row = {"key": part.key, "n": len(f), "n_finite": int(np.isfinite(v).sum()),
               "median": float(np.nanmedian(v)) if np.isfinite(v).any() else math.nan,
               "lon_min": float(lon[ok].min()) if ok.any() else math.nan,
               "lon_max": float(lon[ok].max()) if ok.any() else math.nan,
               "lat_min": float(lat[ok].min()) if ok.any() else math.nan,
               "lat_max": float(lat[ok].max()) if ok.any() else math.nan}
        if crs_wkt is not None and ok.any():
            x, y = lonlat_to_xy(lon[ok], lat[ok], crs_wkt)
            row.update(x_min=float(np.min(x)), x_max=float(np.max(x)), y_min=float(np.min(y)),
                       y_max=float(np.max(y)))
        out.append(row)
    return out



def _annotate(frame: pd.DataFrame, species: str, min_noise: float) -> pd.DataFrame:
    from . import plume

    return plume.annotate(frame, species=species, min_noise=min_noise)


def _map_batch(batch: list[Partition], prm: _Params, pieces) -> dict:
    """Annotate each partition of ``batch`` and reduce it to mergeable partial results."""
    from ecopatrol.core.crs import lonlat_to_xy
    from . import hotspots
    from ._evidence_util import pass_codes

    species, enh = prm.species, derived(prm.species, "enh")
    anns = [_annotate(read_partition(p, species), species, prm.min_noise) for p in batch]
    ann = pd.concat(anns, ignore_index=True) if len(anns) > 1 else anns[0]
    del anns
    n = len(ann)
    x, y = lonlat_to_xy(ann["lon"].to_numpy(float), ann["lat"].to_numpy(float), prm.crs_wkt)
    x, y = np.asarray(x, float), np.asarray(y, float)
    codes = pass_codes(ann)
    ok = np.isfinite(ann[species].to_numpy(float))
    vals = {k: v[ok] for k, v in aggregate.value_arrays(ann, species).items()}
    ix = np.floor(x[ok] / prm.cell_m).astype(np.int64)
    iy = np.floor(y[ok] / prm.cell_m).astype(np.int64)
    cell_pm = aggregate.pass_means(ix * _KEY_SCALE + iy, codes[ok], vals)
    buckets = {"cells": _bucketise(cell_pm, prm.n_buckets)}
    if pieces is not None:
        si, pi = aggregate.snap_to_pieces(pieces, x[ok], y[ok], prm.snap_m)
        seg_pm = aggregate.pass_means(pi, codes[ok][si], {k: v[si] for k, v in vals.items()})
        buckets["segments"] = _bucketise(seg_pm, prm.n_buckets)
        buckets["off_road"] = int(ok.sum() - len(si))
    # kernel sums on the window of the global grid this batch touches (exact: the window is
    # padded by the filter's truncation radius, and the sums are linear in the samples)
    sub, (r0, c0) = _window(prm.grid, x, y, prm.bandwidth_m)
    e = ann[enh].to_numpy(float) if enh in ann.columns else np.full(n, np.nan)
    kde = None
    if sub is not None:
        num, den = hotspots.kernel_sums(x, y, e, grid=sub, bandwidth_m=prm.bandwidth_m)
        kde = {"offset": (r0, c0), "num": num, "den": den,
               "dens": hotspots.kde_grid(x, y, grid=sub, bandwidth_m=prm.bandwidth_m,
                                         weights=np.clip(np.nan_to_num(e), 0, None))}
    return {"n": n, "n_finite": int(ok.sum()), "n_passes": int(len(np.unique(codes))), "buckets": buckets,
            "kde": kde, "levels": levels_of(ann, species, ok)}


def _window(g, x, y, bandwidth_m: float):
    """The sub-grid of ``g`` covering points ``(x, y)`` padded by the Gaussian filter's reach;
    returns ``(sub_grid, (row0, col0))`` with the offset of its north-west cell in ``g``."""
    from .hotspots import Grid

    okp = np.isfinite(x) & np.isfinite(y)
    if not okp.any():
        return None, (0, 0)
    pad = int(4.0 * bandwidth_m / g.cell_m + 0.5) + 3
    i0 = max(0, int(math.floor((np.min(x[okp]) - g.x0_m) / g.cell_m)) - pad)
    i1 = min(g.nx, int(math.ceil((np.max(x[okp]) - g.x0_m) / g.cell_m)) + pad + 1)
    j0 = max(0, int(math.floor((np.min(y[okp]) - g.y0_m) / g.cell_m)) - pad)
    j1 = min(g.ny, int(math.ceil((np.max(y[okp]) - g.y0_m) / g.cell_m)) + pad + 1)
    sub = Grid(g.x0_m + i0 * g.cell_m, g.y0_m + j0 * g.cell_m, g.cell_m, i1 - i0, j1 - j0, g.crs)
    return sub, (g.ny - j1, i0)


def _bucketise(pm: pd.DataFrame, n_buckets: int) -> list[pd.DataFrame]:
    b = (pm["key"].to_numpy() % n_buckets).astype(np.int64)
    order = np.argsort(b, kind="stable")
    bounds = np.searchsorted(b[order], np.arange(n_buckets + 1))
    return [pm.iloc[order[bounds[i]:bounds[i + 1]]] for i in range(n_buckets)]



def _bucket_of(result: dict, layer: str, b: int) -> pd.DataFrame:
    return result["buckets"][layer][b]


def _reduce_bucket(parts: list[pd.DataFrame], value_names: list[str]) -> pd.DataFrame:
    return aggregate.reduce_pass_means(parts, value_names)


def _sum_kde(grid_shape: tuple[int, int], *items) -> dict:
    """Sum kernel windows (or already-summed full grids) into full grids."""
    acc = {k: np.zeros(grid_shape) for k in ("num", "den", "dens")}
    for it in items:
        if it is not None and "buckets" in it:  # a map result: its kernel window
            it = it["kde"]
        if it is None:
            continue
        if "offset" not in it:
            it = {**it, "offset": (0, 0)}
        r0, c0 = it["offset"]
        h, w = it["num"].shape
        for k in acc:
            acc[k][r0:r0 + h, c0:c0 + w] += it[k]
    return acc


def _counts(result: dict) -> tuple[int, int, int, int]:
    return result["n"], result["n_finite"], result["n_passes"], result["buckets"].get("off_road", 0)


def georef_partition(part: Partition, out_root: str, georef_kwargs: dict) -> dict:
    """Georeference every pair of a raw partition into ``out_root/date=…/platform=…/part-0.parquet``."""
    from .archive_synth import _write_parquet_atomic, partition_path
    from .georef import georeference
    from .samples import species_of, to_samples_frame

    frames, quarantines = [], []
    for tracks, sensor in part.pairs:
        r = georeference(list(tracks), [sensor], platform_id=part.platform, **georef_kwargs)
        frames.append(pd.DataFrame(r.samples.drop(columns="geometry")))
        if len(r.quarantine):
            q = r.quarantine.copy()
            q.insert(0, "partition", part.key)
            quarantines.append(q)
    f = pd.concat(frames, ignore_index=True)
    out = partition_path(out_root, part.date, part.platform)
    _write_parquet_atomic(to_samples_frame(f, species=species_of(f)), out)
    q = pd.concat(quarantines, ignore_index=True) if quarantines else None
    return {"n": len(f), "quarantine": q}



def _roads_gdf(roads):
    """``roads`` as a GeoDataFrame (an OSM XML path is read), or None when absent or empty."""
    import geopandas as gpd

    if roads is None:
        return None
    if not isinstance(roads, gpd.GeoDataFrame):
        from .archive_synth import road_lines_gdf

        roads = road_lines_gdf(roads)
    return roads if len(roads) else None


def _order_like_grid_cells(agg: pd.DataFrame, value_names: list[str]) -> pd.DataFrame:
    cols = [*value_names, "n_passes", "n_samples", *[f"{v}_max" for v in value_names]]
    return agg[cols]


# ---------------------------------------------------------------------------- the stages


def georef_stage(client, layout: ArchiveLayout, out_dir, georef_kwargs, progress, timings):
    """Georeference a raw archive into ``OUT/samples`` (one task per partition): (samples layout, quarantine)."""
    if layout.kind != "raw":
        return layout, None
    if out_dir is None:
        raise InputError("a raw archive is georeferenced into OUT/samples: give an output folder")
    samples_root = Path(out_dir) / "samples"
    futs = [client.submit(georef_partition, p, str(samples_root), georef_kwargs or {}, pure=False)
            for p in layout.partitions]
    run(client, futs, "georeference", progress, timings)
    qs = [r["quarantine"] for r in client.gather(futs) if r["quarantine"] is not None]
    return scan_layout(samples_root), (pd.concat(qs, ignore_index=True) if qs else None)


def scan_stage(client, parts: list[Partition], species: str, crs, progress, timings):
    """Rows, medians and bounds of every partition: (scan frame, metric CRS, metric bounds)."""
    from pyproj import CRS

    coarse = [parts[i:i + 64] for i in range(0, len(parts), 64)]
    futs = [client.submit(_scan_batch, b, species, None, pure=False) for b in coarse]
    run(client, futs, "scan", progress, timings)
    scan = pd.DataFrame([row for rows in client.gather(futs) for row in rows])
    if int(scan["n_finite"].sum()) == 0:
        raise InputError(f"archive `{parts[0].path.parent.parent}`: no finite `{species}` values")
    crs = CRS.from_user_input(crs if crs is not None else archive_crs(
        (scan["lon_min"].min(), scan["lat_min"].min(), scan["lon_max"].max(), scan["lat_max"].max())))
    futs = [client.submit(_scan_batch, b, species, crs.to_wkt(), pure=False) for b in coarse]
    run(client, futs, "bounds", progress, timings)
    mb = pd.DataFrame([row for rows in client.gather(futs) for row in rows])
    bounds = {"x_min": mb["x_min"].min(), "x_max": mb["x_max"].max(),
              "y_min": mb["y_min"].min(), "y_max": mb["y_max"].max()}
    return scan, crs, bounds


def _map_reduce(client, tasks: list[list[Partition]], prm: _Params, pieces, progress, timings):
    """Map every batch, then reduce: (per-layer aggregates, per-batch counts, kernel sums, rule levels).

    The reduce is submitted at once so that each map result is freed as soon as its small
    dependents have run (the client keeps no reference to it): buckets of cells/segments meet
    in one task per bucket; kernel windows are summed in a tree of fan-in 4, histograms of 8.
    """
    pieces_f = client.scatter(pieces, broadcast=True) if pieces is not None else None
    maps = [client.submit(_map_batch, b, prm, pieces_f, pure=False) for b in tasks]
    value_names = [prm.species, derived(prm.species, "enh")]
    layers = ["cells"] + (["segments"] if pieces is not None else [])
    reds = {layer: [client.submit(_reduce_bucket, [client.submit(_bucket_of, m, layer, b, pure=False) for m in maps],
                                  value_names, pure=False) for b in range(prm.n_buckets)]
            for layer in layers}
    count_f = [client.submit(_counts, m, pure=False) for m in maps]
    kde_f = tree(client, _sum_kde, maps, 4, (prm.grid.ny, prm.grid.nx))
    hist_f = tree(client, merge_levels, maps, 8)
    del maps
    run(client, count_f, "aggregate", progress, timings)
    counts = client.gather(count_f)
    run(client, [f for fs in reds.values() for f in fs] + [kde_f, hist_f], "merge", progress, timings)
    aggs = {layer: _order_like_grid_cells(pd.concat(client.gather(fs)).sort_index(), value_names)
            for layer, fs in reds.items()}
    return aggs, counts, kde_f.result(), level_medians(hist_f.result())


def process_archive(
    archive_dir,
    out_dir,
    *,
    scheduler=None,
    workers: int | None = None,
    processes: bool = True,
    species: str = "tvoc_ugm3",
    cell_m: float = 50.0,
    segment_m: float = 30.0,
    snap_m: float = 25.0,
    roads=None,
    raster_cell_m: float = 10.0,
    bandwidth_m: float | None = None,
    gi_distance_m: float | None = None,
    noise_floor_frac: float = 0.005,
    crs=None,
    rows_per_task: int = 1_000_000,
    n_buckets: int = 16,
    georef_kwargs: dict | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> ArchiveResult:
    """Aggregate an archive on dask.distributed and write ``cells.gpkg`` (and ``segments.gpkg``),
    ``hotspots.tif``, ``hotspots.gpkg`` and ``archive.json`` to ``out_dir``.

    ``scheduler``: ``None`` (a ``LocalCluster`` of ``workers`` single-threaded workers,
    separate processes unless ``processes=False``), a scheduler address
    (``tcp://host:8786``), or a ``distributed.Client``. ``roads`` (GeoDataFrame of
    LineStrings or an OSM XML path) adds road segments. ``rows_per_task`` bounds the samples
    a worker holds at once. ``progress(stage, done, total)`` is called as tasks finish.
    Output vector files are EPSG:4326; the returned frames and the raster are in the
    archive's metric CRS (``crs``, default the UTM zone of the archive's centre).
    """
    t0 = time.perf_counter()
    layout = scan_layout(archive_dir)
    timings: dict[str, float] = {}
    client, cluster, owned = client_for(scheduler, workers, processes)
    timings["start"] = round(time.perf_counter() - t0, 2)
    try:
        layout, quarantine = georef_stage(client, layout, out_dir, georef_kwargs, progress, timings)
        parts = layout.partitions
        scan, crs, bounds = scan_stage(client, parts, species, crs, progress, timings)
        grid, bw = kernel_grid(bounds, crs, raster_cell_m, bandwidth_m)
        min_noise = noise_floor_frac * float(np.nanmedian(scan["median"].to_numpy(float)))
        road_gdf = _roads_gdf(roads)
        pieces, piece_name = aggregate.road_pieces(road_gdf, crs, segment_m) if road_gdf is not None else (None, None)
        prm = _Params(species, float(cell_m), float(segment_m), float(snap_m), min_noise, crs.to_wkt(), grid, bw,
                      int(n_buckets))
        tasks = batches(parts, dict(zip(scan["key"], scan["n"], strict=True)), rows_per_task)
        aggs, counts, kde, noise_bg = _map_reduce(client, tasks, prm, pieces, progress, timings)
    finally:
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()
    cells = aggregate.cells_frame(aggs["cells"], species=species, cell_m=cell_m, crs=crs)
    segments = None
    if "segments" in aggs:
        segments = aggregate.segments_frame(aggs["segments"], species=species, pieces=pieces, piece_name=piece_name,
                                            crs=crs)
    n_samples = sum(c[0] for c in counts)
    extra = {"stage_s": timings, "path": "distributed", "n_tasks": len(tasks), "rows_per_task": rows_per_task,
             "n_passes": int(sum(c[2] for c in counts)), "seconds": round(time.perf_counter() - t0, 2),
             "n_off_road": int(sum(c[3] for c in counts))}
    if quarantine is not None and out_dir is not None:
        from ._evidence_util import write_csv

        write_csv(quarantine, Path(out_dir) / "quarantine.csv")
        extra["n_quarantined"] = len(quarantine)
    t_fin = time.perf_counter()
    res = finish(out_dir=out_dir, species=species, cells=cells, segments=segments, grid=grid, num=kde["num"],
                 den=kde["den"], dens=kde["dens"], bw=bw, n_samples=n_samples, n_partitions=len(parts),
                 params={"cell_m": cell_m, "segment_m": segment_m, "min_noise": min_noise}, level=noise_bg,
                 gi_distance_m=gi_distance_m, seed=seed, extra_summary=extra, write=out_dir is not None)
    timings["finish"] = round(time.perf_counter() - t_fin, 2)
    log.info("archive %s: %d samples in %d partitions (%d tasks) → %d cells, %d segments, %d hotspots in %.1f s",
             layout.root, n_samples, len(parts), len(tasks), len(res.cells),
             0 if segments is None else len(segments), len(res.hotspots), time.perf_counter() - t0)
    return res


def load_partitions(layout: ArchiveLayout, species: str, georef_kwargs: dict | None = None) -> list[pd.DataFrame]:
    """Every partition's samples (raw ones georeferenced), the columns the aggregates read."""
    frames = []
    for p in layout.partitions:
        if layout.kind == "raw":
            from .georef import georeference

            sub = [pd.DataFrame(georeference(list(tr), [se], platform_id=p.platform, **(georef_kwargs or {}))
                                .samples.drop(columns="geometry")) for tr, se in p.pairs]
            f = pd.concat(sub, ignore_index=True)
            f = f if species in f else f.assign(**{species: np.nan})
            f = f[[*READ_COLUMNS, species]]
        else:
            f = read_partition(p, species)
        frames.append(f)
    return frames


def process_in_memory(
    archive_dir,
    out_dir=None,
    *,
    species: str = "tvoc_ugm3",
    cell_m: float = 50.0,
    segment_m: float = 30.0,
    snap_m: float = 25.0,
    roads=None,
    raster_cell_m: float = 10.0,
    bandwidth_m: float | None = None,
    gi_distance_m: float | None = None,
    noise_floor_frac: float = 0.005,
    crs=None,
    georef_kwargs: dict | None = None,
    seed: int = 0,
) -> ArchiveResult:
    """The same computation as :func:`process_archive` with plain pandas on everything loaded.

    Calls ``aggregate.grid_cells``, ``aggregate.road_segments``, ``hotspots.kernel_concentration``,
    ``hotspots.kde_grid`` and ``hotspots.getis_ord`` on one frame: the reference the distributed
    path is tested against, and the baseline of the archive benchmark. Memory grows with the archive.
    """
    from pyproj import CRS

    from ecopatrol.core.crs import lonlat_to_xy
    from . import hotspots

    t0 = time.perf_counter()
    layout = scan_layout(archive_dir)
    frames = load_partitions(layout, species, georef_kwargs)
    medians = [float(np.nanmedian(f[species].to_numpy(float))) if np.isfinite(f[species].to_numpy(float)).any()
               else math.nan for f in frames]
    if not np.isfinite(medians).any():
        raise InputError(f"archive `{layout.root}`: no finite `{species}` values")
    min_noise = noise_floor_frac * float(np.nanmedian(medians))
    # annotate per partition with the fixed floor (passes never span partitions; module docstring)
    ann = pd.concat([_annotate(f, species, min_noise) for f in frames], ignore_index=True)
    del frames
    lon, lat = ann["lon"].to_numpy(float), ann["lat"].to_numpy(float)
    crs = CRS.from_user_input(crs if crs is not None else archive_crs(
        (np.nanmin(lon), np.nanmin(lat), np.nanmax(lon), np.nanmax(lat))))
    cells = aggregate.grid_cells(ann, species=species, cell_m=cell_m, crs=crs)
    road_gdf = _roads_gdf(roads)
    segments = None if road_gdf is None else aggregate.road_segments(
        ann, species=species, segment_m=segment_m, roads=road_gdf, snap_m=snap_m, crs=crs)
    x, y = lonlat_to_xy(lon, lat, crs)
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    grid, bw = kernel_grid({"x_min": x[ok].min(), "x_max": x[ok].max(), "y_min": y[ok].min(),
                            "y_max": y[ok].max()}, crs, raster_cell_m, bandwidth_m)
    e = ann[derived(species, "enh")].to_numpy(float)
    surface = hotspots.kernel_concentration(x, y, e, grid=grid, bandwidth_m=bw)
    dens = hotspots.kde_grid(x, y, grid=grid, bandwidth_m=bw, weights=np.clip(np.nan_to_num(e), 0, None))
    noise_bg = level_medians(levels_of(ann, species, np.isfinite(ann[species].to_numpy(float))))
    n = len(ann)
    del ann
    res = finish(out_dir=out_dir, species=species, cells=cells, segments=segments, grid=grid, surface=surface,
                 dens=dens, bw=bw, n_samples=n, n_partitions=len(layout.partitions),
                 params={"cell_m": cell_m, "segment_m": segment_m, "min_noise": min_noise}, level=noise_bg,
                 gi_distance_m=gi_distance_m, seed=seed,
                 extra_summary={"path": "in-memory", "seconds": round(time.perf_counter() - t0, 2)},
                 write=out_dir is not None)
    log.info("archive (in memory) %s: %d samples → %d cells in %.1f s", layout.root, n, len(cells),
             time.perf_counter() - t0)
    return res
