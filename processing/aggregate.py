"""Aggregation of samples onto 30 m road segments (vans) and square grid cells (drones, areas).

Both aggregates are the **median over passes of the per-pass mean**, so a slow or repeated
pass does not outweigh the others, with the number of passes and samples behind each value.
Results are GeoDataFrames in the local metric CRS (``crs`` argument or the samples' UTM zone);
write them with ``to_crs("EPSG:4326")`` (the evidence writer does).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecopatrol.core.artefacts.samples import derived, platform_kind_of

from ._evidence_util import metric_xy, pass_codes, require_columns

log = logging.getLogger(__name__)


def is_drone(samples: pd.DataFrame) -> np.ndarray:
    """True for rows whose ``platform_kind`` is ``drone`` (never guessed from the id)."""
    return platform_kind_of(samples) == "drone"


def pass_means(key: np.ndarray, codes: np.ndarray, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per (key, pass): the mean and max of each value and the sample count, one row each.

    The mergeable half of the aggregates: partial results of disjoint sets of passes (one
    partition, one batch) are concatenated and reduced by :func:`reduce_pass_means`.
    """
    df = pd.DataFrame({"key": key, "code": codes, **values})
    gb = df.groupby(["key", "code"], sort=False)
    means = gb[list(values)].mean()
    maxes = gb[list(values)].max().add_suffix("_max")
    out = pd.concat([means, maxes], axis=1)
    out["n_samples"] = gb.size()
    return out.reset_index(level="code", drop=True).reset_index()


def reduce_pass_means(parts: list[pd.DataFrame], value_names: list[str]) -> pd.DataFrame:
    """Per key, from :func:`pass_means` rows (a pass's rows in one part): the median over passes
    of the per-pass means, ``n_passes``, ``n_samples`` and the max of each value."""
    df = pd.concat(parts, ignore_index=True) if len(parts) != 1 else parts[0]
    gb = df.groupby("key")
    out = gb[value_names].median()
    out["n_passes"] = gb.size()
    out["n_samples"] = gb["n_samples"].sum()
    for name in value_names:
        out[f"{name}_max"] = gb[f"{name}_max"].max()
    return out


def _median_of_pass_means(key: np.ndarray, codes: np.ndarray, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per key: median over passes of the per-pass mean of each value, n_passes, n_samples, max."""
    return reduce_pass_means([pass_means(key, codes, values)], list(values))


def value_arrays(samples: pd.DataFrame, species: str) -> dict[str, np.ndarray]:
    vals = {species: samples[species].to_numpy(float)}
    if derived(species, "enh") in samples.columns:
        vals[derived(species, "enh")] = samples[derived(species, "enh")].to_numpy(float)
    return vals


CELL_KEY_SCALE = 10_000_000  # a cell's integer key is ix * CELL_KEY_SCALE + iy


def cells_frame(agg: pd.DataFrame, *, species: str, cell_m: float, crs) -> gpd.GeoDataFrame:
    """Cells as a GeoDataFrame from per-cell aggregates indexed by cell key (see :func:`grid_cells`).

    Shared by the in-memory and the distributed path so both lay cells out identically.
    """
    k = agg.index.to_numpy()
    gx = np.floor_divide(k + CELL_KEY_SCALE // 2, CELL_KEY_SCALE)
    gy = k - gx * CELL_KEY_SCALE
    agg = agg.copy()
    agg.insert(0, "iy", gy)
    agg.insert(0, "ix", gx)
    agg.insert(0, "cell_id", [f"C{a}_{b}" for a, b in zip(gx, gy, strict=True)])
    agg["x_m"] = (gx + 0.5) * cell_m
    agg["y_m"] = (gy + 0.5) * cell_m
    agg["species"] = species
    geom = shapely.box(gx * cell_m, gy * cell_m, (gx + 1) * cell_m, (gy + 1) * cell_m)
    out = gpd.GeoDataFrame(agg.reset_index(drop=True), geometry=geom, crs=crs)
    return out.sort_values(["ix", "iy"]).reset_index(drop=True)


def grid_cells(samples: pd.DataFrame, *, species: str = "tvoc_ugm3", cell_m: float = 50.0,
               crs=None) -> gpd.GeoDataFrame:
    """Square ``cell_m`` cells (metric CRS) with the median of per-pass means of ``species``.

    Columns: ``cell_id``, ``ix``, ``iy``, ``x_m``, ``y_m`` (centre), ``species``, ``{species}``,
    ``{species}_max`` (and ``_enh`` columns when the samples are annotated), ``n_passes``,
    ``n_samples``, polygon geometry.
    """
    require_columns(samples, [species])
    ok = np.isfinite(samples[species].to_numpy(float))
    s = samples[ok]
    x, y, crs = metric_xy(s, crs) if len(s) else (np.array([]), np.array([]), crs)
    ix = np.floor(x / cell_m).astype(np.int64)
    iy = np.floor(y / cell_m).astype(np.int64)
    agg = _median_of_pass_means(ix * CELL_KEY_SCALE + iy, pass_codes(s), value_arrays(s, species))
    out = cells_frame(agg, species=species, cell_m=cell_m, crs=crs)
    log.info("grid: %d samples → %d cells of %g m", len(s), len(out), cell_m)
    return out


def interpolate_along(line, frac: np.ndarray) -> np.ndarray:
    """(len(frac), 2): the points at the normalised distances ``frac`` along one 2-D LineString, bit for
    bit those of ``shapely.line_interpolate_point(line, frac, normalized=True)``.

    GEOS walks the line from its start for every point (``LengthLocationMap``), which on a van pass
    of thousands of vertices cut into 30 m pieces is quadratic (~1 s of a van-day's evidence);
    this does the same arithmetic once: segment lengths ``sqrt(dx² + dy²)`` summed in order, the
    distance ``frac × length``, the first segment whose running total exceeds it, and
    ``(p1 − p0) × f + p0`` with ``f`` = the remaining distance over the segment's length (clamped
    to the segment's ends; past the end, the last vertex).
    """
    xy = shapely.get_coordinates(line)
    frac = np.asarray(frac, float)
    if len(xy) < 2:
        return shapely.get_coordinates(shapely.line_interpolate_point(np.repeat(line, len(frac)), frac,
                                                                      normalized=True))
    x, y = xy[:, 0], xy[:, 1]
    dx, dy = x[1:] - x[:-1], y[1:] - y[:-1]
    seg = np.sqrt(dx * dx + dy * dy)
    cum = np.cumsum(seg)  # running totals, added in order as GEOS does
    dist = frac * float(cum[-1])
    start = np.r_[0.0, cum[:-1]]
    idx = np.searchsorted(cum, dist, side="right")  # the first segment with start + length > dist
    past = idx >= len(seg)
    i = np.minimum(idx, len(seg) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (dist - start[i]) / seg[i]
    px = np.where(f <= 0.0, x[i], np.where(f >= 1.0, x[i + 1], (x[i + 1] - x[i]) * f + x[i]))
    py = np.where(f <= 0.0, y[i], np.where(f >= 1.0, y[i + 1], (y[i + 1] - y[i]) * f + y[i]))
    px[past], py[past] = x[-1], y[-1]
    return np.c_[px, py]


def _pieces(lines: np.ndarray, segment_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut LineStrings into straight pieces of about ``segment_m``; returns (pieces, line index)."""
    lengths = shapely.length(lines)
    n = np.maximum(np.ceil(lengths / segment_m).astype(int), 1)
    line_idx = np.repeat(np.arange(len(lines)), n + 1)
    j = np.concatenate([np.arange(k + 1) for k in n]) if len(n) else np.array([], int)
    frac = j / np.repeat(n, n + 1)
    simple = len(lines) > 0 and bool((shapely.get_type_id(lines) == 1).all()) and \
        not bool(shapely.has_z(lines).any())
    if simple:  # 2-D LineStrings: the same points without GEOS's walk from the start for each
        first = np.r_[0, np.cumsum(n + 1)[:-1]]
        xy = np.concatenate([interpolate_along(ln, frac[f:f + k + 1]) for ln, f, k in zip(lines, first, n, strict=True)])
    else:
        pts = shapely.line_interpolate_point(lines[line_idx], frac, normalized=True)
        xy = shapely.get_coordinates(pts)
    first = np.r_[0, np.cumsum(n + 1)[:-1]]
    a = np.concatenate([np.arange(f, f + k) for f, k in zip(first, n, strict=True)]) if len(n) else \
        np.array([], int)
    pieces = shapely.linestrings(np.stack([xy[a], xy[a + 1]], axis=1))
    return pieces, line_idx[a]


def _track_lines(x, y, codes, order) -> tuple[np.ndarray, np.ndarray]:
    """One LineString per pass with ≥ 2 distinct positions (time order); (lines, pass code of each)."""
    cs = codes[order]
    xs, ys = x[order], y[order]
    ok = np.isfinite(xs) & np.isfinite(ys)
    cs, xs, ys = cs[ok], xs[ok], ys[ok]
    uniq, counts = np.unique(cs, return_counts=True)
    keep_code = uniq[counts >= 2]
    m = np.isin(cs, keep_code)
    cs, xs, ys = cs[m], xs[m], ys[m]
    if len(cs) == 0:
        return np.array([], dtype=object), keep_code
    _, idx = np.unique(cs, return_inverse=True)
    lines = np.asarray(shapely.linestrings(np.c_[xs, ys], indices=idx))
    good = shapely.length(lines) > 0
    return lines[good], keep_code[good]


def road_segments(samples: pd.DataFrame, *, species: str = "tvoc_ugm3", segment_m: float = 30.0,
                  roads: gpd.GeoDataFrame | None = None, snap_m: float = 25.0,
                  crs=None) -> gpd.GeoDataFrame:
    """``segment_m`` road pieces with the median of per-pass means of ``species``.

    ``roads`` (LineStrings, any CRS, optional ``name`` column) gives the network; without it
    the van tracks themselves are the network: passes are taken longest first and a pass
    adds its own pieces only where it does not already run within ``snap_m`` of an earlier one.
    Samples farther than ``snap_m`` from every piece are left out (counted in the log line).
    Columns: ``segment_id``, ``road``, ``{species}`` (+ ``_max``, ``_enh``), ``n_passes``,
    ``n_samples``, ``x_m``, ``y_m`` (midpoint), LineString geometry in the metric CRS.
    """
    require_columns(samples, [species])
    s = samples[np.isfinite(samples[species].to_numpy(float))]
    if len(s) == 0:
        return gpd.GeoDataFrame({"segment_id": []}, geometry=gpd.GeoSeries([]), crs=crs)
    x, y, crs = metric_xy(s, crs)
    codes = pass_codes(s)
    if roads is not None and len(roads):
        pieces, piece_name = road_pieces(roads, crs, segment_m)
    else:
        t = pd.to_datetime(s["time_utc"], utc=True).astype("int64").to_numpy() if "time_utc" in s.columns \
            else np.arange(len(s))
        order = np.lexsort((t, codes))
        lines, _ = _track_lines(x, y, codes, order)
        lines = lines[np.argsort(-shapely.length(lines), kind="stable")]
        kept: list[np.ndarray] = []
        tree = None
        for line in lines:  # loop over passes (tens), not samples
            cand, _ = _pieces(np.array([line]), segment_m)
            if tree is not None:
                mids = shapely.line_interpolate_point(cand, 0.5, normalized=True)
                near = tree.query(mids, predicate="dwithin", distance=snap_m)
                covered = np.zeros(len(cand), bool)
                covered[near[0]] = True
                cand = cand[~covered]
            if len(cand):
                kept.append(cand)
                tree = shapely.STRtree(np.concatenate(kept))
        pieces = np.concatenate(kept) if kept else np.array([], dtype=object)
        piece_name = np.full(len(pieces), "")
    si, pi = snap_to_pieces(pieces, x, y, snap_m)
    agg = _median_of_pass_means(pi, codes[si], {k: v[si] for k, v in value_arrays(s, species).items()})
    out = segments_frame(agg, species=species, pieces=pieces, piece_name=piece_name, crs=crs)
    log.info("segments: %d samples → %d segments of %g m (%d samples off-road)", len(s), len(out),
             segment_m, len(s) - len(si))
    return out


def road_pieces(roads: gpd.GeoDataFrame, crs, segment_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The road network cut into ``segment_m`` pieces in the metric ``crs``: (pieces, road name of each)."""
    r = roads.to_crs(crs) if roads.crs is not None else roads.set_crs(crs)
    r = r[r.geometry.geom_type.isin(["LineString", "MultiLineString"])].explode(index_parts=False)
    lines = np.asarray(r.geometry.values)
    names = r["name"].astype(str).to_numpy() if "name" in r.columns else np.full(len(r), "")
    pieces, li = _pieces(lines, segment_m)
    return pieces, names[li]


def snap_to_pieces(pieces: np.ndarray, x: np.ndarray, y: np.ndarray, snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(sample index, piece index) of the samples within ``snap_m`` of a piece (nearest piece)."""
    tree = shapely.STRtree(pieces)
    si, pi = tree.query_nearest(shapely.points(x, y), max_distance=snap_m, all_matches=False)
    return si, pi.astype(np.int64)


def segments_frame(agg: pd.DataFrame, *, species: str, pieces: np.ndarray, piece_name: np.ndarray,
                   crs) -> gpd.GeoDataFrame:
    """Segments as a GeoDataFrame from per-piece aggregates indexed by piece number (see
    :func:`road_segments`). Shared by the in-memory and the distributed path."""
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
