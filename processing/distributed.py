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

Raw samples never reach the client; a worker holds one batch at a time. The results equal
those of :func:`process_in_memory` (plain pandas on everything loaded, calling
``grid_cells``, ``road_segments``, ``kernel_concentration``, ``kde_grid`` and ``getis_ord``
directly): the cell aggregates, Gi*, the noise and background of the hotspot rule and the
polygons exactly, the kernel grids to floating-point sums.

The rule's noise and background are, as in ``build_evidence``, the medians of the per-sample
``{species}_noise`` and ``{species}_bg`` of ``annotate`` (here over the samples with a finite
concentration, those behind the aggregates). A median does not merge, a histogram does: each
batch counts its values in bins 0.1 % wide (:func:`level_histogram`, integer counts, added in
any order to the same total) and the median is read from the archive's histogram
(:func:`histogram_median`), within 0.05 % of the exact median. Both paths use these
histograms, so their thresholds are identical.

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

import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.samples import derived
from ..core.errors import FormatError, InputError, InputFileNotFoundError, Report
from .aggregate import CELL_KEY_SCALE as _KEY_SCALE  # cell key = ix * scale + iy

log = logging.getLogger(__name__)

ARCHIVE_RESULT_SCHEMA = "ecopatrol.archive-evidence/1"
READ_COLUMNS = ("time_utc", "platform_id", "mission_id", "pass_id", "lon", "lat")
_PART_RE = re.compile(r"^(?P<key>date|platform)=(?P<value>.+)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Progress = Callable[[str, int, int], None]


# ---------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Partition:
    """One ``date=…/platform=…`` folder: its samples files or its raw track + sensor pairs."""

    date: str
    platform: str
    path: Path
    files: tuple[Path, ...] = ()
    pairs: tuple[tuple[tuple[Path, ...], Path], ...] = ()  # raw: ((tracks…), sensor)

    @property
    def key(self) -> str:
        return f"date={self.date}/platform={self.platform}"


@dataclass
class ArchiveLayout:
    """The partitions of an archive and its kind: ``"samples"`` (GeoParquet) or ``"raw"``."""

    root: Path
    kind: str
    partitions: list[Partition]


def scan_layout(archive_dir) -> ArchiveLayout:
    """Find the ``date=YYYY-MM-DD/platform=NAME`` partitions of an archive.

    Every problem (bad folder names, empty partitions, a mix of raw and samples partitions,
    unreadable or schema-less Parquet files) is collected and raised together as one
    :class:`~ecopatrol.core.errors.ValidationError`.
    """
    import pyarrow.parquet as pq

    root = Path(archive_dir)
    if not root.exists():
        raise InputFileNotFoundError(f"archive `{root}` does not exist: give a folder partitioned as "
                                     "date=YYYY-MM-DD/platform=NAME (try `ecopatrol archive synth`)")
    if not root.is_dir():
        raise InputError(f"archive `{root}` is a file: give the archive folder")
    report = Report()
    parts: list[Partition] = []

    def bad(path: Path, message: str) -> None:
        rel = path.relative_to(root) if path != root else path
        report.error(f"`{rel}`: {message}")

    for ddir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        m = _PART_RE.match(ddir.name)
        if not m or m["key"] != "date" or not _DATE_RE.match(m["value"]):
            bad(ddir, "not a `date=YYYY-MM-DD` partition folder: rename it or move it out")
            continue
        for pdir in sorted(p for p in ddir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            mp = _PART_RE.match(pdir.name)
            if not mp or mp["key"] != "platform":
                bad(pdir, "not a `platform=NAME` partition folder: rename it or move it out")
                continue
            files = tuple(sorted(pdir.glob("*.parquet")))
            pairs = _raw_pairs(pdir)
            if not files and not pairs:
                bad(pdir, "empty partition: no .parquet samples and no track + sensor pair "
                    "(e.g. R01.gpx + R01_voc.csv)")
                continue
            parts.append(Partition(m["value"], mp["value"], pdir, files, () if files else pairs))
    if not parts and not report.errors:
        bad(root, "no `date=YYYY-MM-DD/platform=NAME` partitions found (see `ecopatrol archive synth`)")
    kinds = {"samples" if p.files else "raw" for p in parts}
    if len(kinds) > 1:
        bad(root, "mixes samples (.parquet) and raw (track + sensor) partitions: georeference the raw "
                  "ones into a separate archive first")
    for p in parts:
        for f in p.files:
            try:
                names = set(pq.read_schema(f).names)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
                bad(f, f"not a readable Parquet file ({type(exc).__name__}: {exc})")
                continue
            missing = [c for c in READ_COLUMNS if c not in names]
            if missing:
                bad(f, f"missing samples column(s) {missing}: write it with "
                    "ecopatrol.processing.samples (CONTRACTS.md)")
    report.raise_if_errors(f"archive `{root}`")
    return ArchiveLayout(root, kinds.pop(), parts)


def _raw_pairs(pdir: Path) -> tuple[tuple[tuple[Path, ...], Path], ...]:
    """(tracks, sensor) pairs of a raw partition (:func:`~ecopatrol.processing.georef.pair_field_files`)."""
    from .georef import pair_field_files

    return tuple(pair_field_files(pdir))


# ---------------------------------------------------------------------------- results


@dataclass
class ArchiveResult:
    """Aggregates of an archive: ``cells``/``segments`` (metric CRS, with Gi* columns),
    ``hotspots`` polygons, the kernel ``surface`` and ``density`` (``grid``, row 0 north)."""

    out_dir: Path | None
    species: str
    n_samples: int
    n_partitions: int
    cells: object
    segments: object
    hotspots: object
    grid: object
    surface: np.ndarray
    density: np.ndarray
    summary: dict = field(default_factory=dict)

    @property
    def files(self) -> dict[str, Path]:
        if self.out_dir is None:
            return {}
        names = ("cells.gpkg", "segments.gpkg", "hotspots.tif", "hotspots.gpkg", "archive.json",
                 "quarantine.csv")
        return {n: self.out_dir / n for n in names if (self.out_dir / n).exists()}


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


def _read_partition(part: Partition, species: str) -> pd.DataFrame:
    """The samples of one partition (only the columns the aggregates need), time-ordered as stored."""
    cols = [*READ_COLUMNS, species]
    frames = []
    for f in part.files:
        try:
            frames.append(pd.read_parquet(f, columns=cols))
        except Exception as exc:
            if isinstance(exc, KeyError) or "not in schema" in str(exc) or "No match for" in str(exc):
                raise FormatError(f"`{f}`: no `{species}` column: choose a species the archive holds "
                                  "(--species)") from None
            raise FormatError(f"`{f}`: cannot read the samples ({type(exc).__name__}: {exc})") from exc
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _scan_batch(batch: list[Partition], species: str, crs_wkt: str | None) -> list[dict]:
    """Per partition: rows, finite values, median concentration, lon/lat and metric bounds."""
    from ..core.crs import lonlat_to_xy

    out = []
    for part in batch:
        f = _read_partition(part, species)
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


def _pass_means(key: np.ndarray, codes: np.ndarray, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per (key, pass): the mean and max of each value and the count — the mergeable part of
    ``aggregate._median_of_pass_means`` (a pass lies in one partition)."""
    df = pd.DataFrame({"key": key, "code": codes, **values})
    gb = df.groupby(["key", "code"], sort=False)
    means = gb[list(values)].mean()
    maxes = gb[list(values)].max().add_suffix("_max")
    out = pd.concat([means, maxes], axis=1)
    out["n_samples"] = gb.size()
    return out.reset_index(level="code", drop=True).reset_index()


def _value_arrays(ann: pd.DataFrame, species: str) -> dict[str, np.ndarray]:
    vals = {species: ann[species].to_numpy(float)}
    enh = derived(species, "enh")
    if enh in ann.columns:
        vals[enh] = ann[enh].to_numpy(float)
    return vals


def _map_batch(batch: list[Partition], prm: _Params, pieces) -> dict:
    """Annotate each partition of ``batch`` and reduce it to mergeable partial results."""
    import shapely

    from ..core.crs import lonlat_to_xy
    from . import hotspots
    from ._evidence_util import pass_codes

    species, enh = prm.species, derived(prm.species, "enh")
    anns = [_annotate(_read_partition(p, species), species, prm.min_noise) for p in batch]
    ann = pd.concat(anns, ignore_index=True) if len(anns) > 1 else anns[0]
    del anns
    n = len(ann)
    lon, lat = ann["lon"].to_numpy(float), ann["lat"].to_numpy(float)
    x, y = lonlat_to_xy(lon, lat, prm.crs_wkt)
    x, y = np.asarray(x, float), np.asarray(y, float)
    codes = pass_codes(ann)
    ok = np.isfinite(ann[species].to_numpy(float))
    vals = {k: v[ok] for k, v in _value_arrays(ann, species).items()}

    ix = np.floor(x[ok] / prm.cell_m).astype(np.int64)
    iy = np.floor(y[ok] / prm.cell_m).astype(np.int64)
    cell_pm = _pass_means(ix * _KEY_SCALE + iy, codes[ok], vals)
    buckets = {"cells": _bucketise(cell_pm, prm.n_buckets)}
    if pieces is not None:
        tree = shapely.STRtree(pieces)
        si, pi = tree.query_nearest(shapely.points(x[ok], y[ok]), max_distance=prm.snap_m, all_matches=False)
        seg_pm = _pass_means(pi.astype(np.int64), codes[ok][si], {k: v[si] for k, v in vals.items()})
        buckets["segments"] = _bucketise(seg_pm, prm.n_buckets)
        buckets["off_road"] = int(ok.sum() - len(si))

    # kernel sums on the window of the global grid this batch touches (exact: the window is
    # padded by the filter's truncation radius, and kde_grid is linear in the samples)
    g = prm.grid
    sub, (r0, c0) = _window(g, x, y, prm.bandwidth_m)
    e = ann[enh].to_numpy(float) if enh in ann.columns else np.full(n, np.nan)
    fe = np.isfinite(e)
    kde = None
    if sub is not None:
        kde = {"offset": (r0, c0),
               "num": hotspots.kde_grid(x[fe], y[fe], grid=sub, bandwidth_m=prm.bandwidth_m, weights=e[fe]),
               "den": hotspots.kde_grid(x[fe], y[fe], grid=sub, bandwidth_m=prm.bandwidth_m),
               "dens": hotspots.kde_grid(x, y, grid=sub, bandwidth_m=prm.bandwidth_m,
                                         weights=np.clip(np.nan_to_num(e), 0, None))}
    return {"n": n, "n_finite": int(ok.sum()), "n_passes": int(len(np.unique(codes))), "buckets": buckets,
            "kde": kde, "levels": _levels_of(ann, species, ok)}


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


def _reduce_bucket(parts: list[pd.DataFrame], value_names: list[str]) -> pd.DataFrame:
    """Per key: median over passes of the per-pass means, n_passes, n_samples, max."""
    df = pd.concat(parts, ignore_index=True)
    gb = df.groupby("key")
    out = gb[value_names].median()
    out["n_passes"] = gb.size()
    out["n_samples"] = gb["n_samples"].sum()
    for name in value_names:
        out[f"{name}_max"] = gb[f"{name}_max"].max()
    return out


def _bucket_of(result: dict, layer: str, b: int) -> pd.DataFrame:
    return result["buckets"][layer][b]


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


# ---------------------------------------------------------------------------- noise and background

#: Relative width of the bins of the noise and background histograms (:func:`level_histogram`).
LEVEL_BIN_REL = 1e-3
_LOG_STEP = math.log1p(LEVEL_BIN_REL)
_KEY_OFFSET = 1 << 20  # > |ln v| / step for every nonzero finite float64 (745 / 0.0009995 ≈ 745 000)
LEVEL_ESTIMATE = ("medians of the per-sample noise and background of the samples with a finite value, read "
                  f"from histograms with bins {100 * LEVEL_BIN_REL:g} % wide merged over all partitions")


def level_histogram(values) -> tuple[np.ndarray, np.ndarray]:
    """The finite ``values`` counted in bins of relative width :data:`LEVEL_BIN_REL`: ``(keys, counts)``.

    Key 0 holds zeros; key ``±(k + offset)`` holds ``±v`` with ``v`` in ``[(1 + r)^k, (1 + r)^(k + 1))``.
    Keys increase with the value, so histograms of disjoint samples merge exactly
    (:func:`merge_histograms`: integer counts, any order) and the median is read from the merged
    one (:func:`histogram_median`). Sparse: only the bins that hold values.
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = np.zeros(len(v), np.int64)
    nz = v != 0
    a = np.abs(v[nz])
    k[nz] = (np.floor(np.log(a) / _LOG_STEP).astype(np.int64) + _KEY_OFFSET) * np.where(v[nz] > 0, 1, -1)
    lo, hi = int(k.min()), int(k.max())
    if hi - lo <= 4 * len(k) + 65_536:  # the usual case: a narrow range of bins, counted in O(n)
        c = np.bincount(k - lo)
        keys = np.flatnonzero(c)
        return keys.astype(np.int64) + lo, c[keys].astype(np.int64)
    keys, counts = np.unique(k, return_counts=True)
    return keys.astype(np.int64), counts.astype(np.int64)


def merge_histograms(hists) -> tuple[np.ndarray, np.ndarray]:
    """The sum of :func:`level_histogram` histograms (exact: integer counts)."""
    hists = [h for h in hists if h is not None and len(h[0])]
    if not hists:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = np.concatenate([h[0] for h in hists])
    counts = np.concatenate([h[1] for h in hists])
    u, inv = np.unique(keys, return_inverse=True)
    out = np.zeros(len(u), np.int64)
    np.add.at(out, inv, counts)
    return u, out


def _bin_value(key: int) -> float:
    """The (logarithmic) centre of a :func:`level_histogram` bin."""
    if key == 0:
        return 0.0
    return math.copysign(math.exp((abs(key) - _KEY_OFFSET + 0.5) * _LOG_STEP), key)


def histogram_median(hist) -> float | None:
    """The median of the values counted in ``hist`` (``None`` when empty), as ``np.median``
    takes it (the mean of the two middle values of an even count), each value read as the
    centre of its bin: within ``LEVEL_BIN_REL / 2`` of the exact median, relatively, when the two
    middle values have one sign (noise and background do)."""
    keys, counts = hist
    n = int(np.sum(counts))
    if n == 0:
        return None
    cum = np.cumsum(counts)
    lo = int(keys[np.searchsorted(cum, (n - 1) // 2, side="right")])
    hi = int(keys[np.searchsorted(cum, n // 2, side="right")])
    return 0.5 * (_bin_value(lo) + _bin_value(hi))


def _levels_of(ann: pd.DataFrame, species: str, ok: np.ndarray) -> dict:
    """Histograms of the per-sample noise and background of the rows ``ok`` of an annotated frame."""
    return {name: level_histogram(ann[f"{species}_{col}"].to_numpy(float)[ok]) if f"{species}_{col}" in ann
            else None for name, col in (("noise", "noise"), ("background", "bg"))}


def _merge_levels(*items) -> dict:
    """Sum the noise and background histograms of map results (or of already merged ones)."""
    items = [it["levels"] if "buckets" in it else it for it in items if it is not None]
    return {name: merge_histograms([it[name] for it in items]) for name in ("noise", "background")}


def _level(levels: dict) -> dict:
    """``{"noise", "background"}``: the medians of the merged histograms (``None`` when empty)."""
    return {name: histogram_median(levels[name]) for name in ("noise", "background")}


# ---------------------------------------------------------------------------- final assembly


def _cells_frame(agg: pd.DataFrame, species: str, cell_m: float, crs):
    """The cells GeoDataFrame from the merged aggregate (:func:`aggregate.cells_frame`)."""
    from .aggregate import cells_frame

    return cells_frame(agg, species=species, cell_m=cell_m, crs=crs)


def _segments_frame(agg: pd.DataFrame, species: str, pieces, piece_name, crs):
    """The segments GeoDataFrame, laid out as ``aggregate.road_segments``."""
    import geopandas as gpd
    import shapely

    k = agg.index.to_numpy()
    geom = pieces[k]
    mid = shapely.get_coordinates(shapely.line_interpolate_point(geom, 0.5, normalized=True))
    agg = agg.copy()
    agg.insert(0, "road", piece_name[k])
    agg.insert(0, "segment_id", [f"G{i:06d}" for i in k])
    agg["x_m"], agg["y_m"] = mid[:, 0], mid[:, 1]
    agg["species"] = species
    out = gpd.GeoDataFrame(agg.reset_index(drop=True), geometry=geom, crs=crs)
    return out.sort_values("segment_id").reset_index(drop=True)


def _order_like_grid_cells(agg: pd.DataFrame, value_names: list[str]) -> pd.DataFrame:
    cols = [*value_names, "n_passes", "n_samples", *[f"{v}_max" for v in value_names]]
    return agg[cols]


def _road_pieces(roads, crs, segment_m: float):
    """Road pieces of ``segment_m`` (metric CRS) and their road names, as ``road_segments`` cuts them."""
    import geopandas as gpd

    from .aggregate import _pieces  # the same cutting as road_segments (private helper, same package)

    if roads is None:
        return None, None
    if not isinstance(roads, gpd.GeoDataFrame):
        from .archive_synth import road_lines_gdf

        roads = road_lines_gdf(roads)
    if len(roads) == 0:
        return None, None
    r = roads.to_crs(crs) if roads.crs is not None else roads.set_crs(crs)
    r = r[r.geometry.geom_type.isin(["LineString", "MultiLineString"])].explode(index_parts=False)
    lines = np.asarray(r.geometry.values)
    names = r["name"].astype(str).to_numpy() if "name" in r.columns else np.full(len(r), "")
    pieces, li = _pieces(lines, segment_m)
    return pieces, names[li]


def _with_gi(features, value: str, distance_m: float, seed: int):
    from . import hotspots

    if features is None or len(features) == 0:
        return features
    return features.join(hotspots.getis_ord(features, value=value, distance_m=distance_m, seed=seed))


def _kernel_grid(bounds: dict, crs, raster_cell_m: float, bandwidth_m: float | None):
    """The kernel-map grid from the metric bounds, chosen as ``build_evidence`` chooses it."""
    from .hotspots import Grid

    cell = raster_cell_m
    span = max(bounds["x_max"] - bounds["x_min"], bounds["y_max"] - bounds["y_min"]) + 200
    if (span / cell) ** 2 > 16_000_000:
        cell = math.ceil(span / 4000)
    bw = bandwidth_m or 3 * cell
    grid = Grid.around([bounds["x_min"], bounds["x_max"]], [bounds["y_min"], bounds["y_max"]], cell_m=cell,
                       pad_m=3 * bw, crs=crs)
    return grid, bw


def _archive_crs(lon_bounds: tuple[float, float, float, float]):
    from ..core.crs import local_metric_crs

    lon_min, lat_min, lon_max, lat_max = lon_bounds
    return local_metric_crs((lon_min + lon_max) / 2.0, (lat_min + lat_max) / 2.0)


def _finish(*, out_dir, species, cells, segments, grid, dens, bw, n_samples, n_partitions, params, level,
            gi_distance_m, seed, extra_summary, write, surface=None, num=None, den=None) -> ArchiveResult:
    """Gi*, hotspot polygons, the surfaces, and the files: common to both paths.

    ``level`` is the ``{"noise", "background"}`` of the hotspot rule (:func:`histogram_median`).
    """
    import geopandas as gpd

    from . import hotspots
    from .evidence import _rule_summary  # evidence.json's hotspot_rule, built the same way

    enh = derived(species, "enh")
    value = enh if len(cells) and enh in cells.columns else species
    cells = _with_gi(cells, value, gi_distance_m or 2.5 * params["cell_m"], seed)
    if segments is not None:
        segments = _with_gi(segments, value, gi_distance_m or 5 * params["segment_m"], seed)
    if surface is None:  # hotspots.kernel_concentration from the merged kernel sums
        support = den * 2 * math.pi * bw**2
        with np.errstate(invalid="ignore", divide="ignore"):
            surface = np.where(support >= 1.0, num / den, np.nan)
    density = np.where(np.isfinite(surface), dens, np.nan)
    # Gi* is relative: a feature also needs an enhancement above the noise (hotspots.HOTSPOT_RULE),
    # with the archive's noise and background for every segment and cell
    rule = hotspots.HOTSPOT_RULE
    has_level = value == enh and level.get("noise") is not None and level.get("background") is not None
    if not has_level:
        level = {"noise": None, "background": None}

    def with_signal(feats):
        if feats is None or not len(feats) or not has_level:
            return feats
        return feats.join(hotspots.signal_mask(feats, value=enh, noise=level["noise"],
                                               background=level["background"], rule=rule))

    cells, segments = with_signal(cells), with_signal(segments)
    polys, layers = [], {}
    for layer, feats, buf in (("segments", segments, params["segment_m"] / 2), ("cells", cells, 0.0)):
        if feats is None:
            continue
        n_polys = 0
        if len(feats) and "hot_confidence" in feats.columns and "hot_signal" in feats.columns:
            p = hotspots.hotspot_polygons(feats, feats, value=value, buffer_m=buf, signal=feats["hot_signal"],
                                          min_samples=rule.min_samples)
            n_polys = len(p)
            if len(p):
                p["source_layer"] = layer
                polys.append(p)
        layers[layer] = (feats, level, n_polys, True)
    crs = grid.crs
    hot = gpd.GeoDataFrame(pd.concat(polys, ignore_index=True), crs=crs) if polys else \
        gpd.GeoDataFrame({"hotspot_id": pd.Series(dtype=str), "confidence": pd.Series(dtype=int),
                          "source_layer": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if len(hot):
        hot = hot.sort_values(["confidence", "max_value"], ascending=[True, False]).reset_index(drop=True)
        hot["hotspot_id"] = [f"H{i + 1:03d}" for i in range(len(hot))]
    hotspot_rule = {**_rule_summary(layers, len(hot)), "level_estimate": LEVEL_ESTIMATE}
    summary = {"schema": ARCHIVE_RESULT_SCHEMA, "species": species, "n_samples": int(n_samples),
               "n_partitions": int(n_partitions), "n_cells": len(cells),
               "n_segments": 0 if segments is None else len(segments), "n_hotspots": len(hot),
               "hotspot_rule": hotspot_rule,
               "cell_m": params["cell_m"], "segment_m": params["segment_m"], "raster_cell_m": grid.cell_m,
               "bandwidth_m": bw, "min_noise": params["min_noise"],
               "metric_crs": str(getattr(crs, "to_string", lambda: crs)()), **extra_summary}
    out = Path(out_dir) if out_dir is not None else None
    if write and out is not None:
        from ._evidence_util import write_atomic, write_gpkg

        out.mkdir(parents=True, exist_ok=True)
        write_gpkg(cells, out / "cells.gpkg", layer="cells")
        if segments is not None and len(segments):
            write_gpkg(segments, out / "segments.gpkg", layer="segments")
        write_gpkg(hot, out / "hotspots.gpkg", layer="hotspots")
        hotspots.write_cog(out / "hotspots.tif", {f"{value}_kernel_mean": surface,
                                                  f"{value}_weighted_density_per_m2": density}, grid=grid)
        write_atomic(out / "archive.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=2)))
    return ArchiveResult(out, species, int(n_samples), int(n_partitions), cells, segments, hot, grid, surface,
                         density, summary)


# ---------------------------------------------------------------------------- client


def _client(scheduler, workers: int | None, processes: bool):
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


def _batches(parts: list[Partition], rows: dict[str, int], rows_per_task: int) -> list[list[Partition]]:
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


def _run(client, futures, stage: str, progress: Progress | None, timings: dict | None = None) -> list:
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


def _georef_partition(part: Partition, out_root: str, georef_kwargs: dict) -> dict:
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
    client, cluster, owned = _client(scheduler, workers, processes)
    timings["start"] = round(time.perf_counter() - t0, 2)
    try:
        quarantine = None
        if layout.kind == "raw":
            if out_dir is None:
                raise InputError("a raw archive is georeferenced into OUT/samples: give an output folder")
            samples_root = Path(out_dir) / "samples"
            futs = [client.submit(_georef_partition, p, str(samples_root), georef_kwargs or {}, pure=False)
                    for p in layout.partitions]
            _run(client, futs, "georeference", progress, timings)
            qs = [r["quarantine"] for r in client.gather(futs) if r["quarantine"] is not None]
            quarantine = pd.concat(qs, ignore_index=True) if qs else None
            layout = scan_layout(samples_root)
        parts = layout.partitions
        # 1. scan: counts, medians, lon/lat bounds (one task per batch of ~64 partitions)
        coarse = [parts[i:i + 64] for i in range(0, len(parts), 64)]
        futs = [client.submit(_scan_batch, b, species, None, pure=False) for b in coarse]
        _run(client, futs, "scan", progress, timings)
        scan = pd.DataFrame([row for rows in client.gather(futs) for row in rows])
        if int(scan["n_finite"].sum()) == 0:
            raise InputError(f"archive `{layout.root}`: no finite `{species}` values")
        crs = crs if crs is not None else _archive_crs((scan["lon_min"].min(), scan["lat_min"].min(),
                                                         scan["lon_max"].max(), scan["lat_max"].max()))
        from pyproj import CRS

        crs = CRS.from_user_input(crs)
        futs = [client.submit(_scan_batch, b, species, crs.to_wkt(), pure=False) for b in coarse]
        _run(client, futs, "bounds", progress, timings)
        mb = pd.DataFrame([row for rows in client.gather(futs) for row in rows])
        bounds = {"x_min": mb["x_min"].min(), "x_max": mb["x_max"].max(),
                  "y_min": mb["y_min"].min(), "y_max": mb["y_max"].max()}
        grid, bw = _kernel_grid(bounds, crs, raster_cell_m, bandwidth_m)
        min_noise = noise_floor_frac * float(np.nanmedian(scan["median"].to_numpy(float)))
        pieces, piece_name = _road_pieces(roads, crs, segment_m)
        prm = _Params(species, float(cell_m), float(segment_m), float(snap_m), min_noise, crs.to_wkt(), grid, bw,
                      int(n_buckets))
        # 2. map: batches of partitions → partial results (kept on the workers)
        batches = _batches(parts, dict(zip(scan["key"], scan["n"], strict=True)), rows_per_task)
        pieces_f = client.scatter(pieces, broadcast=True) if pieces is not None else None
        maps = [client.submit(_map_batch, b, prm, pieces_f, pure=False) for b in batches]
        # 3. reduce, submitted at once so that each map result is freed as soon as its small
        # dependents have run (the client keeps no reference to it): buckets of cells/segments
        # meet in one task per bucket; kernel windows are summed in a tree of fan-in 4
        value_names = [species, derived(species, "enh")]
        layers = ["cells"] + (["segments"] if pieces is not None else [])
        reds = {layer: [client.submit(_reduce_bucket,
                                      [client.submit(_bucket_of, m, layer, b, pure=False) for m in maps],
                                      value_names, pure=False) for b in range(prm.n_buckets)]
                for layer in layers}
        count_f = [client.submit(_counts, m, pure=False) for m in maps]
        shape = (grid.ny, grid.nx)
        level = maps
        while True:
            level = [client.submit(_sum_kde, shape, *level[i:i + 4], pure=False) for i in range(0, len(level), 4)]
            if len(level) == 1:
                break
        hist = maps  # noise and background histograms of the hotspot rule: a tree of fan-in 8
        while True:
            hist = [client.submit(_merge_levels, *hist[i:i + 8], pure=False) for i in range(0, len(hist), 8)]
            if len(hist) == 1:
                break
        del maps
        _run(client, count_f, "aggregate", progress, timings)
        counts = client.gather(count_f)
        _run(client, [f for fs in reds.values() for f in fs] + level + hist, "merge", progress, timings)
        kde = level[0].result()
        noise_bg = _level(hist[0].result())
        aggs = {layer: pd.concat(client.gather(fs)).sort_index() for layer, fs in reds.items()}
    finally:
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()
    cells = _cells_frame(_order_like_grid_cells(aggs["cells"], value_names), species, cell_m, crs)
    segments = None
    if "segments" in aggs:
        segments = _segments_frame(_order_like_grid_cells(aggs["segments"], value_names), species, pieces,
                                   piece_name, crs)
    n_samples = sum(c[0] for c in counts)
    t_fin = time.perf_counter()
    extra = {"stage_s": timings, "path": "distributed", "n_tasks": len(batches), "rows_per_task": rows_per_task,
             "n_passes": int(sum(c[2] for c in counts)), "seconds": round(time.perf_counter() - t0, 2),
             "n_off_road": int(sum(c[3] for c in counts))}
    if quarantine is not None and out_dir is not None:
        from ._evidence_util import write_csv

        write_csv(quarantine, Path(out_dir) / "quarantine.csv")
        extra["n_quarantined"] = len(quarantine)
    res = _finish(out_dir=out_dir, species=species, cells=cells, segments=segments, grid=grid, num=kde["num"],
                  den=kde["den"], dens=kde["dens"], bw=bw, n_samples=n_samples, n_partitions=len(parts),
                  params={"cell_m": cell_m, "segment_m": segment_m, "min_noise": min_noise}, level=noise_bg,
                  gi_distance_m=gi_distance_m, seed=seed, extra_summary=extra, write=out_dir is not None)
    timings["finish"] = round(time.perf_counter() - t_fin, 2)
    log.info("archive %s: %d samples in %d partitions (%d tasks) → %d cells, %d segments, %d hotspots in %.1f s",
             layout.root, n_samples, len(parts), len(batches), len(res.cells),
             0 if segments is None else len(segments), len(res.hotspots), time.perf_counter() - t0)
    return res


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

    Loads every partition into one frame and calls ``aggregate.grid_cells``,
    ``aggregate.road_segments``, ``hotspots.kernel_concentration``, ``hotspots.kde_grid`` and
    ``hotspots.getis_ord`` on it: the reference the distributed path is tested against, and
    the baseline of the archive benchmark. Memory grows with the archive.
    """
    import geopandas as gpd
    from pyproj import CRS

    from ..core.crs import lonlat_to_xy
    from . import aggregate, hotspots

    t0 = time.perf_counter()
    layout = scan_layout(archive_dir)
    frames, keys = [], []
    for p in layout.partitions:
        if layout.kind == "raw":
            from .georef import georeference

            sub = [pd.DataFrame(georeference(list(tr), [se], platform_id=p.platform, **(georef_kwargs or {}))
                                .samples.drop(columns="geometry")) for tr, se in p.pairs]
            f = pd.concat(sub, ignore_index=True)
            f = f[[*READ_COLUMNS, species]] if species in f else f.assign(**{species: np.nan})[[*READ_COLUMNS, species]]
        else:
            f = _read_partition(p, species)
        frames.append(f)
        keys.append(p.key)
    medians = [float(np.nanmedian(f[species].to_numpy(float))) if np.isfinite(f[species].to_numpy(float)).any()
               else math.nan for f in frames]
    if not np.isfinite(medians).any():
        raise InputError(f"archive `{layout.root}`: no finite `{species}` values")
    allf = pd.concat(frames, ignore_index=True)
    lon, lat = allf["lon"].to_numpy(float), allf["lat"].to_numpy(float)
    crs = CRS.from_user_input(crs if crs is not None else _archive_crs(
        (np.nanmin(lon), np.nanmin(lat), np.nanmax(lon), np.nanmax(lat))))
    min_noise = noise_floor_frac * float(np.nanmedian(medians))
    # annotate per partition with the fixed floor (passes never span partitions; module docstring)
    sizes = [len(f) for f in frames]
    del frames
    part_id = np.repeat(np.arange(len(sizes)), sizes)
    ann = pd.concat([_annotate(g, species, min_noise) for _, g in allf.groupby(part_id, sort=True)],
                    ignore_index=True)
    del allf
    cells = aggregate.grid_cells(ann, species=species, cell_m=cell_m, crs=crs)
    segments = None
    if roads is not None:
        r = roads
        if not isinstance(r, gpd.GeoDataFrame):
            from .archive_synth import road_lines_gdf

            r = road_lines_gdf(r)
        segments = aggregate.road_segments(ann, species=species, segment_m=segment_m, roads=r, snap_m=snap_m,
                                           crs=crs)
    x, y = lonlat_to_xy(ann["lon"].to_numpy(float), ann["lat"].to_numpy(float), crs)
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    bounds = {"x_min": x[ok].min(), "x_max": x[ok].max(), "y_min": y[ok].min(), "y_max": y[ok].max()}
    grid, bw = _kernel_grid(bounds, crs, raster_cell_m, bandwidth_m)
    e = ann[derived(species, "enh")].to_numpy(float)
    surface = hotspots.kernel_concentration(x, y, e, grid=grid, bandwidth_m=bw)
    dens = hotspots.kde_grid(x, y, grid=grid, bandwidth_m=bw, weights=np.clip(np.nan_to_num(e), 0, None))
    # the hotspot rule's noise and background: the same histograms as the distributed path's
    noise_bg = _level(_levels_of(ann, species, np.isfinite(ann[species].to_numpy(float))))
    n = len(ann)
    del ann
    res = _finish(out_dir=out_dir, species=species, cells=cells, segments=segments, grid=grid, surface=surface,
                  dens=dens, bw=bw, n_samples=n, n_partitions=len(keys),
                  params={"cell_m": cell_m, "segment_m": segment_m, "min_noise": min_noise}, level=noise_bg,
                  gi_distance_m=gi_distance_m, seed=seed,
                  extra_summary={"path": "in-memory", "seconds": round(time.perf_counter() - t0, 2)},
                  write=out_dir is not None)
    log.info("archive (in memory) %s: %d samples → %d cells in %.1f s", layout.root, n, len(cells),
             time.perf_counter() - t0)
    return res
