"""Background, enhancement and plume events along sample tracks.

Per species and per continuous analyser record (``platform_id``, ``mission_id``):

1. the **background** is a rolling low percentile of the concentration over a centred time
   window (default 10th percentile over 300 s), robust to plumes that fill less than
   90 % of the window, shifted up by the median residual of the clean samples of the record (so
   clean air has zero mean enhancement). It is computed on the whole record, never per pass: a
   pass (a curtain level, a stretch of road between two stops) can be a few samples long or lie
   entirely inside a plume, and a percentile of those samples would be the plume itself;
2. the **noise** is the robust spread (1.4826 × MAD) of the residual concentration − background
   in the record;
3. a sample **exceeds** when its enhancement is above ``k_sigma`` × noise, above an absolute
   threshold, and above a fraction of the background (all three: noise-aware);
4. exceeding samples are grouped into **events**, a new event starting after a time gap
   (``gap_s``) or a spatial jump (``gap_m``); each event has its peak, integrated
   enhancement (``area``, µg/m³·m along the track), duration and peak position;
5. events within ``confirm_m`` of each other form one plume; a plume is **confirmed** when it
   was seen at least twice *independently* (:data:`CONFIRM_RULE`): on different passes that are
   ≥ 120 s apart (longer than a plume takes to meander across a road and back) or that
   travelled in directions ≥ 60° apart (the other way along the street, or a crossing street) —
   two stretches of one traversal, or a crawl through a plume cut in two, confirm nothing.

Coordinates in and out are WGS-84 ``(lon, lat)``; distances are computed in the local UTM zone.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ecopatrol.core.directions import circular_mean_by_group_deg
from ecopatrol.core.artefacts.samples import derived
from ecopatrol.core.profiles import SPECIES
from ._evidence_util import lonlat_of, metric_xy, pass_codes, record_codes, require_columns

log = logging.getLogger(__name__)

MAD_TO_SD = 1.4826


def _time_s(df: pd.DataFrame) -> np.ndarray:
    """Seconds since the epoch of `time_utc` (sample order at 1 Hz when absent)."""
    if "time_utc" in df.columns:
        t = pd.to_datetime(df["time_utc"], utc=True)
        return (t - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(float)
    return np.arange(len(df), dtype=float)


def annotate(
    samples: pd.DataFrame,
    *,
    species: str = "tvoc_ugm3",
    window_s: float = 300.0,
    percentile: float = 10.0,
    k_sigma: float = 3.0,
    abs_threshold: float = 0.0,
    rel_threshold: float = 0.1,
    min_noise: float | None = None,
) -> pd.DataFrame:
    """A copy of ``samples`` with background, enhancement, noise and exceedance columns.

    Adds ``{species}_bg``, ``{species}_enh`` (= value − background), ``{species}_noise`` (1 σ of
    the pass) and ``{species}_exceed`` (bool). ``min_noise`` floors the noise (default: 0.5 %
    of the median background, so a noiseless synthetic record still has a finite threshold).
    The input frame is not modified.
    """
    require_columns(samples, [species])
    out = samples.copy()
    n = len(out)
    c = out[species].to_numpy(float)
    codes = record_codes(out)
    t = _time_s(out)
    # One monotonic time axis for all records: each record shifted far from the others, so a
    # single vectorised rolling window never mixes records.
    t0 = np.zeros(n)
    if n:
        starts = pd.Series(t).groupby(codes).transform("min").to_numpy()
        t0 = t - starts + codes * (10.0 * window_s + 1e7)
    order = np.lexsort((t0,))
    idx = pd.to_datetime(t0[order], unit="s")
    series = pd.Series(c[order], index=idx)
    bg_sorted = series.rolling(f"{round(window_s * 1000)}ms", center=True, min_periods=1).quantile(
        percentile / 100.0
    ).to_numpy()
    raw = np.empty(n)
    raw[order] = bg_sorted
    # a low percentile sits below the mean of clean air by ~1.3 σ: shift it up by the median
    # residual of the clean (non-plume) samples so that the enhancement of clean air is ~0
    resid = pd.Series(c - raw)
    med = resid.groupby(codes).transform("median")
    mad = (resid - med).abs().groupby(codes).transform("median").to_numpy()
    floor = min_noise if min_noise is not None else 0.005 * float(np.nanmedian(raw)) if n else 0.0
    noise = np.maximum(np.nan_to_num(MAD_TO_SD * mad, nan=floor), max(floor, 1e-9))
    clean = (resid - med).to_numpy() <= k_sigma * noise
    offset = resid.where(clean).groupby(codes).transform("median").fillna(0.0).to_numpy()
    bg = raw + offset
    enh = c - bg
    exceed = (enh > k_sigma * noise) & (enh > abs_threshold) & (enh > rel_threshold * np.abs(bg))
    out[derived(species, "bg")] = bg
    out[derived(species, "enh")] = enh
    out[derived(species, "noise")] = noise
    out[derived(species, "exceed")] = exceed & np.isfinite(c)
    log.info("background %s: %d samples, %d records, %d exceed (%.1f %%)", species, n,
             len(np.unique(codes)), int(exceed.sum()), 100.0 * exceed.mean() if n else 0.0)
    return out


def annotate_btx(samples: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """``samples`` with the enhancement and noise columns of each measured BTX species added.

    For ``benzene_ppb``, ``toluene_ppb`` and ``xylene_ppb`` where present with ≥ 3 values:
    ``<species>_enh`` and ``<species>_noise`` as :func:`annotate` computes them (same
    background method; keyword arguments are passed on). Attribution uses them with the
    industries' source profiles (:mod:`ecopatrol.core.profiles`).
    """
    out = samples.copy()
    for sp in SPECIES:
        col = f"{sp}_ppb"
        if col not in out.columns:
            continue
        v = pd.to_numeric(out[col], errors="coerce")
        if v.notna().sum() < 3:
            continue
        a = annotate(out.assign(**{col: v}), species=col, **kwargs)
        out[derived(col, "enh")] = a[derived(col, "enh")].to_numpy()
        out[derived(col, "noise")] = a[derived(col, "noise")].to_numpy()
    return out


EVENT_COLUMNS = [
    "event_id", "species", "platform_id", "mission_id", "pass_id", "start_utc", "end_utc",
    "duration_s", "peak", "peak_enhancement", "area", "n_samples", "confirmed", "n_passes", "n_independent",
    "wind_from_deg", "wind_speed_m_s", "plume_id", "lon", "lat",
]


@dataclass(frozen=True)
class ConfirmRule:
    """When two sightings of one plume are independent (:func:`detect_events`), with why.

    Sightings are the events of one plume (peaks within ``confirm_m``). Two are independent when
    they lie on different passes and either ``min_separation_s`` apart or travelling in
    directions ``min_turn_deg`` apart. A plume is confirmed with ≥ ``min_sightings`` of them.
    """

    #: a plume meanders across a road and back within a minute or two (the crosswind
    #: decorrelation of a few-minute puff): sightings this far apart are two looks at it
    min_separation_s: float = 120.0
    #: the other way along the street or a crossing street sees another cross-section of the
    #: plume; a bend of the same road (< 45° within the 200 m of one plume) does not
    min_turn_deg: float = 60.0
    #: a sighting's direction: the track from this long before its first sample to this long
    #: after its last, within its pass ...
    heading_window_s: float = 5.0
    #: ... when it covers at least this much ground (a parked van has no direction: time only)
    min_heading_m: float = 10.0
    min_sightings: int = 2

    def describe(self) -> str:
        return (f"confirmed: seen ≥ {self.min_sightings} times independently — on different passes "
                f"≥ {self.min_separation_s:g} s apart or travelling ≥ {self.min_turn_deg:g}° apart")


CONFIRM_RULE = ConfirmRule()


def _empty_events() -> gpd.GeoDataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in EVENT_COLUMNS})
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def detect_events(
    annotated: pd.DataFrame,
    *,
    species: str = "tvoc_ugm3",
    gap_s: float = 20.0,
    gap_m: float = 150.0,
    min_samples: int = 2,
    confirm_m: float = 200.0,
    crs=None,
    rule: ConfirmRule = CONFIRM_RULE,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Group exceedances of an :func:`annotate`-d frame into plume events.

    Returns ``(events, event_of_sample)``: a GeoDataFrame (EPSG:4326, point at the peak,
    columns of CONTRACTS.md ``events.gpkg`` plus ``plume_id``, ``lon``, ``lat``) and, for each
    input row in order, its event id (empty string when the sample is in no event).
    ``area`` is the enhancement integrated along the track, µg/m³·m (species unit · m).
    Events within ``confirm_m`` form a plume (``plume_id``); ``n_passes`` counts its passes,
    ``n_independent`` its independent sightings (``rule``), ``confirmed`` is
    ``n_independent ≥ rule.min_sightings``.
    """
    exc_col = derived(species, "exceed")
    if exc_col not in annotated.columns:
        annotated = annotate(annotated, species=species)
    n = len(annotated)
    event_of = np.full(n, "", dtype=object)
    if n == 0 or not annotated[exc_col].any():
        log.info("events %s: 0 events", species)
        return _empty_events(), event_of
    x, y, crs = metric_xy(annotated, crs)
    t = _time_s(annotated)
    codes = pass_codes(annotated)
    order, ds = _track_lengths(x, y, t, codes)
    rows, grp = _exceedance_groups(annotated[exc_col].to_numpy(bool), order, x, y, t, codes, gap_s=gap_s,
                                   gap_m=gap_m, min_samples=min_samples)
    if len(rows) == 0:
        log.info("events %s: 0 events (all exceedance groups < %d samples)", species, min_samples)
        return _empty_events(), event_of
    ev, frame, stats, ids = _event_table(annotated, species, rows, grp, t, ds, codes)
    event_of[rows] = ids[grp]
    plume = _confirm(ev, frame, stats, x, y, t, codes, confirm_m=confirm_m, rule=rule)
    ev = ev.sort_values("event_id").reset_index(drop=True)[EVENT_COLUMNS]
    gdf = gpd.GeoDataFrame(ev, geometry=gpd.points_from_xy(ev["lon"], ev["lat"]), crs="EPSG:4326")
    log.info("events %s: %d events, %d plumes, %d confirmed (%s)", species, len(gdf),
             len(np.unique(plume)), int(gdf["confirmed"].sum()), rule.describe())
    return gdf, event_of


def _track_lengths(x: np.ndarray, y: np.ndarray, t: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The samples in (pass, time) order, and the along-track length (m) each represents.

    A sample represents half the distance to each neighbour on its pass.
    """
    n = len(x)
    order = np.lexsort((t, codes))
    xs, ys, cs = x[order], y[order], codes[order]
    step = np.hypot(np.diff(xs), np.diff(ys))
    step[cs[1:] != cs[:-1]] = 0.0
    ds_sorted = 0.5 * (np.r_[0.0, step] + np.r_[step, 0.0])
    ds = np.empty(n)
    ds[order] = ds_sorted
    return order, ds


def _exceedance_groups(exceed: np.ndarray, order: np.ndarray, x: np.ndarray, y: np.ndarray, t: np.ndarray,
                       codes: np.ndarray, *, gap_s: float, gap_m: float, min_samples: int):
    """Runs of exceeding samples on one pass, split at gaps over ``gap_s`` or ``gap_m``.

    Returns ``(rows, group)``: the sample rows of the runs of ≥ ``min_samples`` (in pass and time
    order) and each one's run, numbered 0, 1, … .
    """
    rows = order[np.flatnonzero(exceed[order])]
    new = np.ones(len(rows), bool)
    if len(rows) > 1:
        same_pass = codes[rows[1:]] == codes[rows[:-1]]
        dt = t[rows[1:]] - t[rows[:-1]]
        dd = np.hypot(x[rows[1:]] - x[rows[:-1]], y[rows[1:]] - y[rows[:-1]])
        new[1:] = ~same_pass | (dt > gap_s) | (dd > gap_m)
    grp = np.cumsum(new) - 1
    sizes = np.bincount(grp)
    keep = sizes[grp] >= min_samples
    rows, grp = rows[keep], grp[keep]
    if len(rows):
        _, grp = np.unique(grp, return_inverse=True)
    return rows, grp


def _event_table(annotated: pd.DataFrame, species: str, rows: np.ndarray, grp: np.ndarray, t: np.ndarray,
                 ds: np.ndarray, codes: np.ndarray):
    """One row per event: times, peak, integrated area, where it peaked, its platform and mean wind.

    Returns ``(events, frame, stats, ids)``: ``frame`` is the events' samples, ``stats`` their
    per-event aggregates (group order) and ``ids`` the event ids ``E0001`` … in time order.
    """
    enh = annotated[derived(species, "enh")].to_numpy(float)
    conc = annotated[species].to_numpy(float)
    lon, lat = lonlat_of(annotated)
    frame = pd.DataFrame({
        "g": grp, "row": rows, "t": t[rows], "enh": enh[rows], "conc": conc[rows],
        "w": enh[rows] * ds[rows], "code": codes[rows],
    })
    gb = frame.groupby("g", sort=True)
    peak_row = frame.loc[gb["enh"].idxmax(), "row"].to_numpy()
    stats = gb.agg(start=("t", "min"), end=("t", "max"), peak=("conc", "max"),
                   peak_enhancement=("enh", "max"), area=("w", "sum"), n_samples=("row", "size"),
                   code=("code", "first"))
    stats["peak_row"] = peak_row
    stats["first_row"] = frame.loc[gb["t"].idxmin(), "row"].to_numpy()
    stats["last_row"] = frame.loc[gb["t"].idxmax(), "row"].to_numpy()
    # stable ids in time order
    rank = np.argsort(np.lexsort((stats["code"].to_numpy(), stats["start"].to_numpy())))
    ids = np.array([f"E{i + 1:04d}" for i in rank], dtype=object)
    ev = pd.DataFrame({
        "event_id": ids,
        "species": species,
        "start_utc": pd.to_datetime(stats["start"].to_numpy(), unit="s", utc=True),
        "end_utc": pd.to_datetime(stats["end"].to_numpy(), unit="s", utc=True),
        "duration_s": (stats["end"] - stats["start"]).to_numpy(float),
        "peak": stats["peak"].to_numpy(float),
        "peak_enhancement": stats["peak_enhancement"].to_numpy(float),
        "area": stats["area"].to_numpy(float),
        "n_samples": stats["n_samples"].to_numpy(int),
        "lon": lon[peak_row], "lat": lat[peak_row],
    })
    for col in ("platform_id", "mission_id", "pass_id"):
        ev[col] = annotated[col].to_numpy()[peak_row] if col in annotated.columns else None
    for col in ("wind_from_deg", "wind_speed_m_s"):
        if col in annotated.columns:
            ev[col] = _group_mean(annotated[col].to_numpy(float)[rows], grp,
                                  circular=col == "wind_from_deg")
        else:
            ev[col] = np.nan
    return ev, frame, stats, ids


def _confirm(ev: pd.DataFrame, frame: pd.DataFrame, stats: pd.DataFrame, x: np.ndarray, y: np.ndarray,
             t: np.ndarray, codes: np.ndarray, *, confirm_m: float, rule: ConfirmRule) -> np.ndarray:
    """Group events within ``confirm_m`` of each other into plumes and count their independent sightings.

    Sets ``plume_id``, ``n_passes``, ``n_independent`` and ``confirmed`` on ``ev``; returns each
    event's plume number.
    """
    peak_row = stats["peak_row"].to_numpy()
    px, py = x[peak_row], y[peak_row]
    pairs = cKDTree(np.c_[px, py]).query_pairs(confirm_m, output_type="ndarray")
    m = len(ev)
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m)) if len(pairs) else \
        coo_matrix((m, m))
    _, plume = connected_components(adj, directed=False)
    pcode = stats["code"].to_numpy()
    n_passes = pd.Series(pcode).groupby(plume).transform("nunique").to_numpy()
    ev["plume_id"] = [f"P{p + 1:03d}" for p in plume]
    ev["n_passes"] = n_passes.astype(int)
    hx, hy = _sighting_heading(x, y, t, codes, stats["first_row"].to_numpy(), stats["last_row"].to_numpy(), rule)
    n_ind = _independent_sightings(plume, pcode, stats["start"].to_numpy(), stats["end"].to_numpy(), hx, hy,
                                   n_passes, rule)
    ev["n_independent"] = n_ind
    ev["confirmed"] = n_ind >= rule.min_sightings
    return plume


def _sighting_heading(x, y, t, codes, first_row, last_row, rule: ConfirmRule) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction of travel of each event (NaN where the track covers < ``min_heading_m``):
    the track from ``heading_window_s`` before its first sample to as long after its last, in its pass."""
    order = np.lexsort((t, codes))
    ts, cs = t[order], codes[order]
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(len(t))
    # one increasing key over (pass, time): each pass far from the others
    key = cs * (10.0 * (np.ptp(ts) + 1e3)) + (ts - ts.min())
    p_first = np.searchsorted(cs, cs, side="left")
    p_last = np.searchsorted(cs, cs, side="right") - 1
    a, b = rank[first_row], rank[last_row]
    lo = np.maximum(np.searchsorted(key, key[a] - rule.heading_window_s, side="left"), p_first[a])
    hi = np.minimum(np.searchsorted(key, key[b] + rule.heading_window_s, side="right") - 1, p_last[b])
    dx, dy = x[order][hi] - x[order][lo], y[order][hi] - y[order][lo]
    d = np.hypot(dx, dy)
    ok = d >= rule.min_heading_m
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, dx / d, np.nan), np.where(ok, dy / d, np.nan)


def _independent_sightings(plume, pcode, start, end, hx, hy, n_passes, rule: ConfirmRule) -> np.ndarray:
    """Per event: the independent sightings of its plume, counted in time order — a sighting
    counts when it is independent (:class:`ConfirmRule`) of every sighting counted before it."""
    out = np.ones(len(plume), dtype=int)
    cos_min = math.cos(math.radians(rule.min_turn_deg))
    for p in np.unique(plume[n_passes >= 2]):  # plumes, not samples: a handful per survey
        idx = np.flatnonzero(plume == p)
        idx = idx[np.argsort(start[idx], kind="stable")]
        kept = [idx[0]]
        for i in idx[1:]:
            k = np.asarray(kept)
            apart = start[i] - end[k] >= rule.min_separation_s
            with np.errstate(invalid="ignore"):
                turned = hx[i] * hx[k] + hy[i] * hy[k] <= cos_min  # False where a direction is unknown
            if ((pcode[k] != pcode[i]) & (apart | turned)).all():
                kept.append(i)
        out[idx] = len(kept)
    return out


def _group_mean(values: np.ndarray, grp: np.ndarray, *, circular: bool) -> np.ndarray:
    """Per-group mean of finite values (circular for directions), NaN for empty groups."""
    k = int(grp.max()) + 1
    if circular:
        return circular_mean_by_group_deg(values, grp, k)
    ok = np.isfinite(values)
    cnt = np.bincount(grp[ok], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.bincount(grp[ok], values[ok], minlength=k) / cnt
    return np.where(cnt > 0, out, np.nan)
