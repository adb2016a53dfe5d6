"""What the report shows: clean samples, the pass that matters, curtain samples, merged hotspots.

* **Clean data.** Samples whose ``qa_flags`` make them unusable (``saturated``,
  ``instrument_status``, ``negative``, ``gps_quality``, ``speed_spike``:
  :data:`ecopatrol.processing._evidence_util.UNUSABLE_FLAGS`) are never plotted or chosen; a
  20 000 µg/m³ status spike is a broken instrument, not a plume.
* **The pass that matters.** The time series shows the pass of the top target's strongest
  attributed plume event, else the strongest (confirmed) event, else the highest clean peak.
* **Curtain samples only.** The cross-section is built from the samples inside the curtain
  plane: the plane of the drone plan's ``sample`` waypoints of that sortie (and target), or,
  without a plan, the vertical plane in which the sortie's samples lie at three or more heights.
  Transit, background and climb-out samples outside the plane are left out.
* **Hotspots merged by confidence level.** Gi* polygons at 90, 95 and 99 % are nested; one
  hotspot is one 90 % (outermost) polygon carrying the best level found inside it.

Coordinates are WGS-84 ``(lon, lat)``; distances are measured in a local metric CRS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecopatrol.processing._evidence_util import UNUSABLE_FLAGS, usable_mask

log = logging.getLogger(__name__)

__all__ = ["UNUSABLE_FLAGS", "CurtainPlane", "PassChoice", "curtain_plane_from_plan", "curtain_samples",
           "merge_hotspots", "pick_curtain", "pick_pass", "usable_mask"]

#: Horizontal distance (m) from the curtain plane within which a sample belongs to the curtain.
CURTAIN_TOL_M = 25.0
#: Height levels are told apart at this resolution (m).
LEVEL_STEP_M = 5.0


def clean(samples: pd.DataFrame) -> pd.DataFrame:
    """The usable rows of ``samples`` (no unusable QA flag)."""
    return samples.loc[usable_mask(samples)]


@dataclass(frozen=True)
class PassChoice:
    """The pass a time series shows and why it was chosen."""

    mission_id: str
    pass_id: int
    event_id: str | None = None
    why: str = "peak"  # "target_event" | "event" | "peak"


def _event_ids_of(attribution: pd.DataFrame | None, target_id) -> tuple[list[str], list[str]]:
    """Event ids attributed to ``target_id``: (those where it is the best candidate, all)."""
    if attribution is None or attribution.empty or target_id is None or "evidence_id" not in attribution:
        return [], []
    a = attribution
    if "evidence_kind" in a:
        a = a[a["evidence_kind"].astype(str) == "event"]
    if a.empty:
        return [], []
    mine = a[a["enterprise_id"].astype(str) == str(target_id)]
    if mine.empty:
        return [], []
    if "likelihood" in a:
        lk = pd.to_numeric(a["likelihood"], errors="coerce")
        best = a.assign(_l=lk).sort_values("_l", ascending=False).drop_duplicates("evidence_id")
        top = best.loc[best["enterprise_id"].astype(str) == str(target_id), "evidence_id"].astype(str).tolist()
    else:
        top = []
    return top, mine["evidence_id"].astype(str).tolist()


def pick_pass(samples: pd.DataFrame, species: str, *, events=None, attribution=None,
              target_id=None) -> PassChoice | None:
    """The pass the report's time series shows (see the module docstring), or None.

    Only passes with clean samples of ``species`` qualify; flagged samples never decide.
    """
    if samples is None or samples.empty or species not in samples or "mission_id" not in samples:
        return None
    s = clean(samples)
    v = s[species].to_numpy(float)
    if not np.isfinite(v).any():
        return None
    has_pass = "pass_id" in s
    passes = set(zip(s["mission_id"].astype(str), s["pass_id"].astype(int) if has_pass else np.zeros(len(s), int)))
    ev = events
    if ev is not None and len(ev) and {"event_id", "mission_id"} <= set(ev.columns):
        ev = pd.DataFrame(ev.drop(columns="geometry", errors="ignore"))
        if "species" in ev and (ev["species"].astype(str) == species).any():
            ev = ev[ev["species"].astype(str) == species]
        ev = ev.assign(_pe=pd.to_numeric(ev.get("peak_enhancement", ev.get("peak", np.nan)), errors="coerce"),
                       _pid=pd.to_numeric(ev["pass_id"], errors="coerce") if "pass_id" in ev else 0)
        ev = ev[[(str(m), int(p)) in passes for m, p in zip(ev["mission_id"], ev["_pid"].fillna(-1))]]
        top, attributed = _event_ids_of(attribution, target_id)
        for ids, why in ((top, "target_event"), (attributed, "target_event")):
            sub = ev[ev["event_id"].astype(str).isin(ids)]
            if len(sub):
                r = sub.sort_values("_pe", ascending=False).iloc[0]
                return PassChoice(str(r["mission_id"]), int(r["_pid"]), str(r["event_id"]), why)
        if len(ev):
            conf = ev["confirmed"].astype(str).str.lower().isin(("true", "1")) if "confirmed" in ev else None
            sub = ev[conf] if conf is not None and conf.any() else ev
            r = sub.sort_values("_pe", ascending=False).iloc[0]
            return PassChoice(str(r["mission_id"]), int(r["_pid"]), str(r["event_id"]), "event")
    row = s.iloc[int(np.nanargmax(v))]
    return PassChoice(str(row["mission_id"]), int(row["pass_id"]) if has_pass else 0, None, "peak")


# ---------------------------------------------------------------------------- curtains

@dataclass(frozen=True)
class CurtainPlane:
    """A vertical curtain: a horizontal line (metric CRS) and the heights sampled on it."""

    crs: object
    x0: float
    y0: float
    ux: float
    uy: float
    along_min_m: float
    along_max_m: float
    alt_min_m: float
    alt_max_m: float
    source: str  # "plan" or "samples"
    levels_m: tuple[float, ...] = ()  # the sampling heights (AGL) of the curtain

    def project(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """``(along_m, across_m)`` of WGS-84 points relative to the plane's line."""
        from ecopatrol.core.crs import lonlat_to_xy

        x, y = (np.asarray(v, float) for v in lonlat_to_xy(np.asarray(lon, float), np.asarray(lat, float),
                                                           self.crs))
        dx, dy = x - self.x0, y - self.y0
        return dx * self.ux + dy * self.uy, -dx * self.uy + dy * self.ux


def _axis(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = float(np.mean(x)), float(np.mean(y))
    _, _, vt = np.linalg.svd(np.column_stack([x - x0, y - y0]), full_matrices=False)
    return x0, y0, float(vt[0][0]), float(vt[0][1])


def _levels(alt: np.ndarray, min_count: int = 1) -> int:
    if alt.size == 0:
        return 0
    _, counts = np.unique(np.round(alt / LEVEL_STEP_M), return_counts=True)
    return int((counts >= min_count).sum())


def curtain_plane_from_plan(sortie: dict, *, target_id=None) -> CurtainPlane | None:
    """The plane of a planned sortie's ``sample`` waypoints (those of ``target_id`` when given)."""
    from ecopatrol.core.crs import local_metric_crs, lonlat_to_xy

    w = pd.DataFrame(sortie.get("waypoints") or [])
    if w.empty or not {"lon", "lat", "alt_agl_m", "action"} <= set(w.columns):
        return None
    w = w[w["action"].astype(str) == "sample"]
    if target_id is not None and "target_id" in w and (w["target_id"].astype(str) == str(target_id)).any():
        w = w[w["target_id"].astype(str) == str(target_id)]
    if len(w) < 2:
        return None
    lon, lat, alt = (w[c].to_numpy(float) for c in ("lon", "lat", "alt_agl_m"))
    crs = local_metric_crs(lon, lat)
    x, y = (np.asarray(v, float) for v in lonlat_to_xy(lon, lat, crs))
    if np.hypot(np.ptp(x), np.ptp(y)) < 10.0 or _levels(alt) < 2:
        return None
    x0, y0, ux, uy = _axis(x, y)
    a = (x - x0) * ux + (y - y0) * uy
    levels = tuple(float(v) for v in np.unique(np.round(alt, 1)))
    return CurtainPlane(crs, x0, y0, ux, uy, float(a.min()), float(a.max()), float(alt.min()), float(alt.max()),
                        "plan", levels)


def _plane_from_samples(s: pd.DataFrame) -> CurtainPlane | None:
    """The vertical plane in which the elevated samples lie at three or more heights, or None.

    A curtain is where the horizontal positions stack: samples are binned on a 20 m grid and
    only cells holding three or more height levels count ("stacked"); the plane is the main
    axis of the stacked samples and its extent theirs. A transit, a background pass or a
    climb-out flown at one height never stacks, so it never shapes the plane.
    """
    from ecopatrol.core.crs import local_metric_crs, lonlat_to_xy

    alt = s["alt_agl_m"].to_numpy(float)
    up = s[np.isfinite(alt) & (alt > LEVEL_STEP_M)]
    if len(up) < 20:
        return None
    lon, lat, z = (up[c].to_numpy(float) for c in ("lon", "lat", "alt_agl_m"))
    crs = local_metric_crs(lon, lat)
    x, y = (np.asarray(v, float) for v in lonlat_to_xy(lon, lat, crs))
    i = np.floor((x - x.min()) / 20.0).astype(int)
    j = np.floor((y - y.min()) / 20.0).astype(int)
    cell = pd.DataFrame({"i": i, "j": j, "l": np.round(z / LEVEL_STEP_M)})
    n_levels = cell.groupby(["i", "j"])["l"].transform("nunique").to_numpy()
    stacked = n_levels >= 3
    if stacked.sum() < 20:
        return None
    # the curtain is one connected row of stacked cells; a take-off climb elsewhere is another
    from scipy import ndimage

    grid = np.zeros((i.max() + 1, j.max() + 1), bool)
    grid[i[stacked], j[stacked]] = True
    labels, n = ndimage.label(grid, structure=np.ones((3, 3), bool))
    if n > 1:
        lab = labels[i, j]
        counts = np.bincount(lab[stacked], minlength=n + 1)
        counts[0] = 0
        stacked &= lab == int(np.argmax(counts))
    if stacked.sum() < 20:
        return None
    x0, y0, ux, uy = _axis(x[stacked], y[stacked])
    across = -(x - x0) * uy + (y - y0) * ux
    along = (x - x0) * ux + (y - y0) * uy
    core = stacked & (np.abs(across) <= CURTAIN_TOL_M)
    if core.sum() < 20 or _levels(z[core], 3) < 3:
        return None
    lo, hi = float(along[core].min()), float(along[core].max())
    inside = (np.abs(across) <= CURTAIN_TOL_M) & (along >= lo) & (along <= hi)
    lv, n = np.unique(np.round(z[inside] / LEVEL_STEP_M), return_counts=True)
    levels = tuple(float(v * LEVEL_STEP_M) for v in lv[n >= max(3, inside.sum() // 50)])
    return CurtainPlane(crs, x0, y0, ux, uy, lo, hi, float(z[inside].min()), float(z[inside].max()),
                        "samples", levels)


def curtain_samples(samples: pd.DataFrame, mission_id, *, sortie: dict | None = None, target_id=None,
                    species: str | None = None) -> tuple[pd.DataFrame, CurtainPlane] | None:
    """The clean samples of ``mission_id`` inside its curtain plane, and the plane; None if no curtain.

    The plane comes from the planned ``sortie`` (its ``sample`` waypoints) when given, else from
    the samples themselves (three or more heights in one vertical plane). A sample belongs to the
    curtain when it is within :data:`CURTAIN_TOL_M` of the plane, within its along-axis extent
    (± 15 m for a planned plane, ± 5 m for one found in the samples) and between its lowest and
    highest sampling height (± 8 m).
    """
    if samples is None or samples.empty or "alt_agl_m" not in samples:
        return None
    s = clean(samples.loc[samples["mission_id"].astype(str) == str(mission_id)])
    s = s[np.isfinite(s["alt_agl_m"].to_numpy(float))]
    if species is not None and species in s:
        s = s[np.isfinite(s[species].to_numpy(float))]
    if s.empty:
        return None
    plane = curtain_plane_from_plan(sortie, target_id=target_id) if sortie else None
    if plane is None:
        plane = _plane_from_samples(s)
    if plane is None:
        return None
    along, across = plane.project(s["lon"].to_numpy(), s["lat"].to_numpy())
    z = s["alt_agl_m"].to_numpy(float)
    margin = 15.0 if plane.source == "plan" else 5.0   # planned ends: GPS and turn slack; found ends: exact
    inside = ((np.abs(across) <= CURTAIN_TOL_M) & (along >= plane.along_min_m - margin)
              & (along <= plane.along_max_m + margin) & (z >= plane.alt_min_m - 8.0) & (z <= plane.alt_max_m + 8.0))
    cur = s.loc[inside].assign(along_m=along[inside] - plane.along_min_m)
    if len(cur) < 4 or _levels(cur["alt_agl_m"].to_numpy(float)) < 2:
        return None
    return cur, plane


def _sortie(plan: dict | None, mission_id) -> dict | None:
    for s in (plan or {}).get("sorties", []):
        if str(s.get("sortie_id")) == str(mission_id):
            return s
    return None


def pick_curtain(samples: pd.DataFrame, species: str, *, plan: dict | None = None, flux=None,
                 target_id=None) -> str | None:
    """The drone mission whose curtain the report draws: the top target's flux sortie, else a
    planned sortie over it, else the sortie with the most curtain samples; None without a curtain."""
    if samples is None or samples.empty or "alt_agl_m" not in samples or species not in samples:
        return None
    missions = list(dict.fromkeys(samples["mission_id"].astype(str)))
    prefer: list[str] = []
    if target_id is not None and flux is not None and len(flux) and {"target_id", "sortie_id"} <= set(flux.columns):
        f = flux[flux["target_id"].astype(str) == str(target_id)]
        prefer += f["sortie_id"].astype(str).tolist()
    if target_id is not None:
        prefer += [str(s.get("sortie_id")) for s in (plan or {}).get("sorties", [])
                   if str(target_id) in map(str, s.get("targets", []))]
    for m in dict.fromkeys(prefer):
        if m in missions and curtain_samples(samples, m, sortie=_sortie(plan, m), target_id=target_id,
                                             species=species) is not None:
            return m
    best, n_best = None, 0
    for m in missions:
        got = curtain_samples(samples, m, sortie=_sortie(plan, m), species=species)
        if got is not None and len(got[0]) > n_best:
            best, n_best = m, len(got[0])
    return best


# ---------------------------------------------------------------------------- hotspots

def merge_hotspots(hotspots):
    """One row per outermost (90 %) Gi* polygon, carrying the best confidence level inside it.

    A polygon of a higher level belongs to the lowest-level polygon that contains its
    representative point; one that no polygon contains is a hotspot of its own. Returns a
    GeoDataFrame (EPSG:4326) with ``hotspot_id``, ``confidence`` (the best level),
    ``levels`` (e.g. ``"90/95/99"``), ``members`` (the merged ids), ``area_ha``, ``n_samples``,
    ``max_value``, ``lon``, ``lat`` and the outer polygon, sorted by level then peak.
    """
    import geopandas as gpd
    import shapely

    from ecopatrol.core.crs import local_metric_crs

    if hotspots is None or len(hotspots) == 0:
        return None
    h = hotspots[hotspots.geometry.notna() & ~hotspots.geometry.is_empty].copy()
    if h.empty:
        return None
    h["_conf"] = pd.to_numeric(h.get("confidence", 90), errors="coerce").fillna(90).round().astype(int)
    h["_id"] = h["hotspot_id"].astype(str) if "hotspot_id" in h else [f"H{i + 1:03d}" for i in range(len(h))]
    h = h.sort_values(["_conf", "_id"], kind="stable").reset_index(drop=True)
    geoms = h.geometry.to_numpy()
    reps = shapely.point_on_surface(geoms)
    owner = np.arange(len(h))
    conf = h["_conf"].to_numpy()
    for i in range(len(h)):
        lower = np.flatnonzero((conf < conf[i]) & (owner == np.arange(len(h))))   # outers of lower levels
        if lower.size:
            hit = lower[shapely.contains(geoms[lower], reps[i])]
            if hit.size:
                owner[i] = hit[0]
    rows = []
    for o in np.unique(owner):
        members = np.flatnonzero(owner == o)
        sub = h.iloc[members]
        rep = reps[o]
        lon, lat = float(shapely.get_x(rep)), float(shapely.get_y(rep))
        if {"lon", "lat"} <= set(h.columns) and np.isfinite([h.at[o, "lon"], h.at[o, "lat"]]).all():
            lon, lat = float(h.at[o, "lon"]), float(h.at[o, "lat"])
        rows.append({
            "hotspot_id": h.at[o, "_id"], "confidence": int(conf[members].max()),
            "levels": "/".join(str(c) for c in sorted(set(conf[members]))),
            "members": ", ".join(sub["_id"]),
            "n_samples": pd.to_numeric(h.at[o, "n_samples"], errors="coerce") if "n_samples" in h else np.nan,
            "max_value": pd.to_numeric(sub["max_value"], errors="coerce").max() if "max_value" in h else np.nan,
            "lon": lon, "lat": lat, "geometry": geoms[o]})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=hotspots.crs or "EPSG:4326")
    metric = out.to_crs(local_metric_crs(out["lon"].to_numpy(), out["lat"].to_numpy()))
    out.insert(4, "area_ha", metric.geometry.area.to_numpy() / 1e4)
    out = out.sort_values(["confidence", "max_value"], ascending=[False, False], kind="stable")
    return out.reset_index(drop=True)
