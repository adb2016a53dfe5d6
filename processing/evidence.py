"""From samples to the ``evidence/`` folder in one call: events, aggregates, hotspots, attribution, flux.

:func:`build_evidence` runs, for one species:

1. background, enhancement and plume events (:mod:`.plume`);
2. 30 m road segments of the van samples and grid cells of all samples (:mod:`.aggregate`);
3. a kernel-smoothed enhancement raster (Cloud-Optimised GeoTIFF) and Gi* hot spots on segments
   (vans) and cells (drones), dissolved into 90/95/99 % polygons where the enhancement also stands
   above the noise (:data:`~.hotspots.HOTSPOT_RULE`: segments and cells carry ``hot_threshold``
   and ``hot_signal``, ``evidence.json`` ``hotspot_rule`` the counts and why polygons were or were
   not drawn) (:mod:`.hotspots`);
4. attribution of every event and hotspot to upwind registered sources, NNLS rates of all of
   them (:mod:`.attribution`);
5. curtain mass-balance fluxes of drone sorties (:mod:`.flux`);

and writes ``events.gpkg``, ``segments.gpkg``, ``cells.gpkg``, ``hotspots.tif``,
``hotspots.gpkg``, ``attribution.csv``, ``flux.csv``, ``rates.csv`` and ``evidence.json`` (each
atomically). Vector files are EPSG:4326; the raster is in the area's metric CRS.

The area is optional. Without one the evidence is built from the samples alone: the metric CRS
is the UTM zone of the samples, and the steps that need a registry (attribution to
enterprises, NNLS and signal rates, naming curtain targets from the registry) are skipped —
each logged and listed in ``evidence.json`` ``skipped`` — while ``attribution.csv`` and
``rates.csv`` are still written, with their headers and no rows. With an area, samples whose
median position lies more than :data:`MAX_AREA_DISTANCE_KM` from its registry are refused
(:func:`check_samples_near_area`): a survey in another country is not evidence against this
area's enterprises, and its projection in the area's UTM zone would be distorted.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.evidence import FILES as EVIDENCE_FILES
from ecopatrol.core.artefacts.evidence import SCHEMA as EVIDENCE_SCHEMA
from ecopatrol.core.artefacts.evidence import write_evidence
from ecopatrol.core.artefacts.samples import derived
from ecopatrol.core.crs import haversine_m
from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import Wind

from . import aggregate, attribution, curtain_credit, flux, hotspots, plume
from ._evidence_util import (
    UNUSABLE_FLAGS,
    default_wind,
    lonlat_of,
    metric_xy,
    require_columns,
    usable_mask,
)

if TYPE_CHECKING:
    from ecopatrol.core.area import AreaLike

log = logging.getLogger(__name__)

#: Samples whose median position lies farther than this from the area's registry are refused.
MAX_AREA_DISTANCE_KM = 50.0
#: ``rates.csv`` columns (written with no rows when there is no area to attribute to).
RATES_COLUMNS = ("source_id", "enterprise_id", "rate_g_s", "rate_sd_g_s", "n_samples_touched", "pip",
                 "enterprise_pip", "signal_rate_g_s")
NO_AREA = "no area (registry) given"


@dataclass
class EvidenceResult:
    """Everything :func:`build_evidence` computed (frames in EPSG:4326 except ``grid``)."""

    out_dir: Path
    species: str
    events: gpd.GeoDataFrame
    segments: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    hotspots: gpd.GeoDataFrame
    attribution: pd.DataFrame
    rates: pd.DataFrame
    flux: pd.DataFrame
    grid: hotspots.Grid | None
    summary: dict = field(default_factory=dict)

    @property
    def files(self) -> dict[str, Path]:
        return {name: self.out_dir / name for name in EVIDENCE_FILES if (self.out_dir / name).exists()}


def _with_gi(features: gpd.GeoDataFrame, value: str, distance_m: float, seed: int) -> gpd.GeoDataFrame:
    if len(features) == 0:
        return features
    gi = hotspots.getis_ord(features, value=value, distance_m=distance_m, seed=seed)
    return features.join(gi)


def _with_signal(features: gpd.GeoDataFrame, samples: pd.DataFrame, species: str) -> tuple[gpd.GeoDataFrame, dict]:
    """``features`` with :func:`.hotspots.signal_mask` columns, from the per-sample noise and
    background of ``samples`` (their medians), and those two values."""
    enh = derived(species, "enh")
    if len(features) == 0 or enh not in features.columns or len(samples) == 0:
        return features, {"noise": None, "background": None}
    noise = float(np.nanmedian(samples[derived(species, "noise")].to_numpy(float)))
    bg = float(np.nanmedian(samples[derived(species, "bg")].to_numpy(float)))
    return features.join(hotspots.signal_mask(features, value=enh, noise=noise, background=bg)), \
        {"noise": noise, "background": bg}


def _rule_summary(layers: dict[str, tuple[gpd.GeoDataFrame, dict, int, bool]], n_hotspots: int) -> dict:
    """``evidence.json`` ``hotspot_rule``: the rule, per layer the counts behind it, and why."""
    rule = hotspots.HOTSPOT_RULE
    out = {"rule": rule.describe(), "k_noise": rule.k_noise, "rel_background": rule.rel_background,
           "min_samples": rule.min_samples}
    n_gi = n_both = 0
    for name, (f, level, n_polys, used) in layers.items():
        gi = f["hot_confidence"].to_numpy() > 0 if "hot_confidence" in f.columns else np.zeros(len(f), bool)
        sig = f["hot_signal"].to_numpy(bool) if "hot_signal" in f.columns else np.zeros(len(f), bool)
        thr1 = None if level["noise"] is None else \
            float(rule.threshold(1, noise=level["noise"], background=level["background"]))
        out[name] = {"used": bool(used), **level, "threshold_one_pass": thr1, "n_features": len(f),
                     "n_gi_significant": int(gi.sum()), "n_above_threshold": int(sig.sum()),
                     "n_gi_significant_and_above": int((gi & sig).sum()), "n_polygons": int(n_polys)}
        if used:
            n_gi += int(gi.sum())
            n_both += int((gi & sig).sum())
    if n_hotspots:
        out["why"] = f"{n_both} segments/cells are Gi*-significant and above the threshold: {n_hotspots} polygons"
    elif n_gi == 0:
        out["why"] = "no hotspot: no segment or cell is Gi*-significant"
    elif n_both == 0:
        out["why"] = (f"no hotspot: {n_gi} segments/cells are Gi*-significant (Gi* is relative) but none has an "
                      "enhancement above the noise threshold")
    else:
        out["why"] = (f"no hotspot: the {n_both} segments/cells above both tests hold fewer than "
                      f"{rule.min_samples} samples")
    return out


def _empty_polys(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"hotspot_id": pd.Series(dtype=str), "confidence": pd.Series(dtype=int),
                             "source_layer": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _area_lonlat(area) -> tuple[np.ndarray, np.ndarray]:
    """Positions (WGS-84) that say where ``area`` is: its enterprises, else its other layers."""
    for layer in ("enterprises", "sources", "launch_sites", "depot", "nofly"):
        g = getattr(area, layer, None)
        if g is None or not len(g) or not hasattr(g, "geometry"):
            continue
        g = g.geometry[g.geometry.notna() & ~g.geometry.is_empty]
        if not len(g):
            continue
        if g.crs is not None and not g.crs.is_geographic:
            g = g.to_crs("EPSG:4326")
        pts = g.representative_point() if layer == "nofly" else g
        lon, lat = pts.x.to_numpy(float), pts.y.to_numpy(float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if ok.any():
            return lon[ok], lat[ok]
    return np.array([]), np.array([])


def area_distance_km(lon: float, lat: float, area) -> float | None:
    """Great-circle distance (km) from ``(lon, lat)`` to the bounding box of ``area``'s registry.

    0 inside the box; the box is that of the enterprises (else of the sources, launch sites,
    depot or zones). ``None`` when the area has no located feature at all.
    """
    alon, alat = _area_lonlat(area)
    if not len(alon):
        return None
    clon = float(np.clip(lon, alon.min(), alon.max()))
    clat = float(np.clip(lat, alat.min(), alat.max()))
    return float(haversine_m(lon, lat, clon, clat)) / 1000.0


def check_samples_near_area(samples: pd.DataFrame, area, *, samples_name: str = "samples",
                            max_km: float = MAX_AREA_DISTANCE_KM) -> float | None:
    """Refuse samples taken far from ``area``; return their distance from it (km, None if unknown).

    The samples' median position must lie within ``max_km`` of the bounding box of the area's
    registry, else :class:`InputError` names the samples, the area and the distance.
    """
    lon, lat = lonlat_of(samples)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    return check_position_near_area(
        float(np.median(lon[ok])), float(np.median(lat[ok])), area, what=f"`{samples_name}`",
        position="the samples' median position", max_km=max_km,
        fix="pass the area the samples were taken in (--area FOLDER), or omit --area to build the evidence "
            "from the samples alone")


def check_position_near_area(lon: float, lat: float, area, *, what: str, position: str, fix: str,
                             max_km: float = MAX_AREA_DISTANCE_KM) -> float | None:
    """Refuse ``(lon, lat)`` farther than ``max_km`` from ``area`` (:func:`area_distance_km`).

    The :class:`InputError` reads "WHAT: POSITION (lon, lat) is D km from area NAME (PATH) …:
    FIX". Returns the distance (km), ``None`` when the area has no located feature.
    """
    d = area_distance_km(lon, lat, area)
    if d is None:
        log.warning("evidence: area `%s` has no located enterprise, stack, launch site or depot: "
                    "cannot check that %s lies in it", getattr(area, "name", area), position)
        return None
    if d > max_km:
        where = getattr(area, "path", None)
        raise InputError(
            f"{what}: {position} ({lon:.4f}, {lat:.4f}) is {d:,.0f} km from area "
            f"`{getattr(area, 'name', area)}`{f' ({where})' if where else ''} (at most {max_km:g} km "
            f"allowed): {fix}")
    return d


def build_evidence(
    samples: pd.DataFrame,
    area: AreaLike | None = None,
    *,
    out_dir: str | Path,
    wind: Wind | None = None,
    species: str = "tvoc_ugm3",
    cell_m: float = 50.0,
    segment_m: float = 30.0,
    raster_cell_m: float = 10.0,
    bandwidth_m: float | None = None,
    gi_distance_m: float | None = None,
    roads: gpd.GeoDataFrame | None = None,
    plan: dict | None = None,
    plan_name: str | None = None,
    seed: int = 0,
    samples_name: str = "samples",
    raster: bool = True,
) -> EvidenceResult:
    """Run the evidence chain on ``samples`` (CONTRACTS.md samples schema) and write ``out_dir``.

    ``wind`` is used for passes without a measured wind (default: the area's default wind);
    its stability class, when given, overrides the time-of-day class. ``roads`` (LineStrings)
    defines the road segments (default: the van tracks). ``plan`` (a drone plan.json dict, read
    from ``plan_name``) names curtain targets; a plan none of whose sorties is a drone mission of
    the samples is ignored (:func:`~.curtain_credit.plan_mismatch`), and ``evidence.json``
    ``drone_plan`` says which plan was used or why not. ``bandwidth_m`` of the kernel map defaults to 3 × ``raster_cell_m``;
    ``gi_distance_m`` to 5 segments for road segments and 2.5 cells for grid cells.

    ``area`` (an :class:`~ecopatrol.core.area.Area`) may be ``None``: the evidence is then built
    from the samples alone (module docstring) and ``evidence.json`` lists what was skipped.
    With an area, samples farther than :data:`MAX_AREA_DISTANCE_KM` from it are refused;
    ``samples_name`` (the samples file) names them in that message.

    ``raster=False`` leaves out the kernel-smoothed map ``hotspots.tif`` (a map layer; nothing
    else in the folder depends on it: events, segments, Gi*, polygons and attribution are the
    same): the season path over an archive (:mod:`.archive_evidence`) draws no maps and saves
    that step per partition. ``evidence.json`` then has ``raster`` false (and no raster cell
    or bandwidth), and a ``hotspots.tif`` left in ``out_dir`` by an earlier run is removed.
    """
    require_columns(samples, [species, "platform_id"])
    if len(samples) == 0:
        raise InputError("evidence: no samples (the samples file is empty)")
    skipped: list[str] = []
    area_km = None
    if area is not None:
        area_km = check_samples_near_area(samples, area, samples_name=samples_name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    crs = getattr(area, "metric_crs", None)
    if crs is None:
        _, _, crs = metric_xy(samples)
    w0 = default_wind(area, wind)
    samples, n_flagged = _usable_samples(samples)
    ann = plume.annotate(samples, species=species)
    if species == "tvoc_ugm3":  # BTX species, where measured, help attribution tell sources apart
        ann = plume.annotate_btx(ann)
    events, event_of = plume.detect_events(ann, species=species, crs=crs)
    drone = aggregate.is_drone(ann)
    enh = derived(species, "enh")
    segments, cells, seg_level, cell_level = _segments_and_cells(ann, drone, species, crs, segment_m=segment_m,
                                                                 cell_m=cell_m, roads=roads,
                                                                 gi_distance_m=gi_distance_m, seed=seed)
    hot, outer, n_polys = _hotspot_polygons(segments, cells, bool(drone.any()), enh, segment_m, crs)
    if raster:
        grid, cell, bw = _kernel_raster(ann, enh, crs, raster_cell_m, bandwidth_m, out_dir / "hotspots.tif")
    else:  # no map: the season path (a stale raster of an earlier run would not match this evidence)
        grid, cell, bw = None, None, None
        (out_dir / "hotspots.tif").unlink(missing_ok=True)

    att, rates = _attribution_or_skip(ann, events, event_of, area, species=species, wind=w0, hotspots=outer,
                                      crs=crs, seed=seed, skipped=skipped)
    plan, drone_plan = _drone_plan(plan, plan_name, samples)
    fl = _flux_or_skip(samples, area, species, w0, crs, plan, skipped)
    if area is None:
        log.warning("evidence: %s: built from the samples alone, in their own UTM zone (%s)", NO_AREA,
                    crs.to_string())
    for note in skipped:
        log.warning("evidence: skipped %s", note)

    seg_out, cells_out, hot_out = _layers_lonlat(segments, cells, hot)
    hotspot_rule = _rule_summary({"segments": (segments, seg_level, n_polys["segments"], True),
                                  "cells": (cells, cell_level, n_polys["cells"], bool(drone.any()))}, len(hot))
    summary = _summary(samples, species, n_flagged, drone, w0, crs, events, segments, cells, hot, hotspot_rule,
                       att, rates, fl, drone_plan, area, area_km, skipped, raster_cell_m=cell, bandwidth_m=bw,
                       seed=seed)
    write_evidence(out_dir, events=events, segments=seg_out, cells=cells_out, hotspots=hot_out, attribution=att,
                   rates=rates, flux=fl, summary=summary)
    log.info("evidence %s: %d samples → %d events (%d confirmed), %d segments, %d cells, %d hotspots, "
             "%d attribution rows, %d curtains → %s", species, len(samples), summary["n_events"],
             summary["n_confirmed_events"], len(segments), len(cells), len(hot), len(att), len(fl), out_dir)
    return EvidenceResult(out_dir, species, events, seg_out, cells_out, hot_out, att, rates, fl, grid, summary)


def _attribution_or_skip(ann, events, event_of, area, *, species, wind, hotspots, crs, seed, skipped: list[str]):
    """``(attribution, rates)`` of the area's sources; without an area, empty tables and the reasons in ``skipped``."""
    if area is not None:
        return attribution.attribute(ann, events, area, species=species, wind=wind, hotspots=hotspots, crs=crs,
                                     event_of=event_of, seed=seed)
    skipped += [f"attribution: {NO_AREA}; pass --area FOLDER to attribute events and hotspots to its "
                "enterprises",
                f"rates: {NO_AREA}; no NNLS or signal rates of registered sources"]
    return pd.DataFrame(columns=attribution.ATTRIBUTION_COLUMNS), pd.DataFrame(columns=list(RATES_COLUMNS))


def _usable_samples(samples: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The samples without an unusable QA flag, and how many were left out.

    Saturated, glitched, negative or badly positioned rows stay in samples.parquet but are no
    evidence: one full-scale spike would otherwise dominate events, hotspots and every rate.
    """
    ok = usable_mask(samples)
    n_flagged = int((~ok).sum())
    if n_flagged:
        log.info("evidence: %d of %d samples left out for QA flags (%s)", n_flagged, len(samples),
                 ", ".join(UNUSABLE_FLAGS))
        samples = samples[ok].reset_index(drop=True)
    if len(samples) == 0:
        raise InputError("evidence: every sample carries a QA flag that makes it unusable")
    return samples, n_flagged


def _segments_and_cells(ann: pd.DataFrame, drone: np.ndarray, species: str, crs, *, segment_m: float,
                        cell_m: float, roads, gi_distance_m: float | None, seed: int):
    """Road segments (van samples) and grid cells (all samples), each with Gi* and the signal test.

    Gi* is relative (some features always stand out, even on a flat survey): a polygon also
    needs an enhancement above the noise of the background (``hotspots.HOTSPOT_RULE``).
    Returns ``(segments, cells, segments' level, cells' level)``.
    """
    van = ann[~drone]
    segments = aggregate.road_segments(van, species=species, segment_m=segment_m, roads=roads, crs=crs) \
        if len(van) else gpd.GeoDataFrame({"segment_id": []}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    cells = aggregate.grid_cells(ann, species=species, cell_m=cell_m, crs=crs)
    enh = derived(species, "enh")
    segments = _with_gi(segments, enh, gi_distance_m or 5 * segment_m, seed)
    cells = _with_gi(cells, enh, gi_distance_m or 2.5 * cell_m, seed)
    segments, seg_level = _with_signal(segments, van, species)
    cells, cell_level = _with_signal(cells, ann, species)
    return segments, cells, seg_level, cell_level


def _hotspot_polygons(segments, cells, any_drone: bool, enh: str, segment_m: float, crs):
    """Hotspot polygons of the segments (and, with drone samples, of the cells), numbered ``H001`` ….

    Returns ``(hot, outer, counts)``: every polygon; the outermost (lowest-confidence) ones that
    contain the others, each carrying the best level inside it (what attribution uses); and the
    number of polygons per layer.
    """
    min_samples = hotspots.HOTSPOT_RULE.min_samples
    polys = []
    n_polys = {"segments": 0, "cells": 0}
    if len(segments) and "hot_confidence" in segments.columns:
        p = hotspots.hotspot_polygons(segments, segments, value=enh, buffer_m=segment_m / 2,
                                      signal=segments["hot_signal"], min_samples=min_samples)
        p["source_layer"] = "segments"
        polys.append(p)
        n_polys["segments"] = len(p)
    if len(cells) and "hot_confidence" in cells.columns and any_drone:
        p = hotspots.hotspot_polygons(cells, cells, value=enh, signal=cells["hot_signal"], min_samples=min_samples)
        p["source_layer"] = "cells"
        polys.append(p)
        n_polys["cells"] = len(p)
    polys = [p for p in polys if len(p)]
    if not polys:
        hot = _empty_polys(crs)
        return hot, hot, n_polys
    hot = gpd.GeoDataFrame(pd.concat(polys, ignore_index=True), crs=crs)
    hot = hot.sort_values(["confidence", "max_value"], ascending=[True, False]).reset_index(drop=True)
    hot["hotspot_id"] = [f"H{i + 1:03d}" for i in range(len(hot))]
    # the 90 % polygons contain the others: attribute those, carrying the best level inside
    outer = hot[hot["confidence"] == hot["confidence"].min()].copy()
    inner_pts = gpd.GeoDataFrame(hot[["confidence"]], geometry=hot.geometry.representative_point(), crs=crs)
    best = gpd.sjoin(inner_pts, outer[["hotspot_id", "geometry"]], predicate="within")
    best = best.groupby("hotspot_id")["confidence"].max()
    outer["confidence"] = outer["hotspot_id"].map(best).fillna(outer["confidence"]).astype(int)
    return hot, outer, n_polys


def _kernel_raster(ann: pd.DataFrame, enh: str, crs, raster_cell_m: float, bandwidth_m: float | None,
                   path: Path):
    """Write the kernel-smoothed enhancement raster (and its weighted density) to ``path``.

    The cell grows where the survey is too large for ``raster_cell_m`` (at most 4000 × 4000
    cells); the bandwidth defaults to 3 cells. Returns ``(grid, cell_m, bandwidth_m)``.
    """
    x, y, _ = metric_xy(ann, crs)
    cell = raster_cell_m
    span = max(np.nanmax(x) - np.nanmin(x), np.nanmax(y) - np.nanmin(y)) + 200
    if (span / cell) ** 2 > 16_000_000:
        cell = math.ceil(span / 4000)
    bw = bandwidth_m or 3 * cell
    grid = hotspots.Grid.around(x, y, cell_m=cell, pad_m=3 * bw, crs=crs)
    e = ann[enh].to_numpy(float)
    surface = hotspots.kernel_concentration(x, y, e, grid=grid, bandwidth_m=bw)
    density = hotspots.kde_grid(x, y, grid=grid, bandwidth_m=bw, weights=np.clip(np.nan_to_num(e), 0, None))
    hotspots.write_cog(path, {f"{enh}_kernel_mean": surface,
                              f"{enh}_weighted_density_per_m2": np.where(np.isfinite(surface), density, np.nan)},
                       grid=grid)
    return grid, cell, bw


def _drone_plan(plan: dict | None, plan_name: str | None, samples: pd.DataFrame) -> tuple[dict | None, dict]:
    """The drone plan to credit curtains with (``None`` where it is not the samples' plan) and what was decided."""
    drone_plan = {"file": plan_name, "used": False, "why": "no drone plan given"}
    if plan is not None:
        why = curtain_credit.plan_mismatch(plan, samples)
        drone_plan = {"file": plan_name, "used": why is None, "why": why}
        if why is not None:
            log.warning("evidence: drone plan %s ignored: %s", plan_name or "(given)", why)
            plan = None
    drone_plan["credit_rule"] = curtain_credit.CREDIT_RULE.describe()
    return plan, drone_plan


def _flux_or_skip(samples: pd.DataFrame, area, species: str, w0, crs, plan, skipped: list[str]) -> pd.DataFrame:
    """The curtains' flux table; without an area or a wind, what could not be done goes to ``skipped``."""
    try:
        fl = flux.flux_table(samples, area, species=species, wind=w0, crs=crs, plan=plan)
    except InputError as exc:
        if area is not None or w0 is not None:
            raise
        # without an area there is no default wind: curtains without a measured wind get no flux
        fl = pd.DataFrame(columns=flux.FLUX_COLUMNS)
        skipped.append(f"flux: {exc} (and {NO_AREA}, whose default wind would be used)")
    else:
        if area is None and len(fl) and not (fl["target_id"].astype(str).str.len() > 0).all():
            skipped.append(f"flux targets: {NO_AREA}; curtains are not matched to registered enterprises "
                           "(only a --plan names their targets)")
    return fl


def _layers_lonlat(segments, cells, hot):
    """Segments, cells and hotspots reprojected to EPSG:4326 (hotspots with a representative lon/lat)."""
    seg_out = segments.to_crs("EPSG:4326") if len(segments) else segments
    cells_out = cells.to_crs("EPSG:4326")
    hot_out = hot.to_crs("EPSG:4326")
    if len(hot_out):
        rp = hot_out.geometry.representative_point()
        hot_out["lon"], hot_out["lat"] = rp.x, rp.y
    return seg_out, cells_out, hot_out


def _summary(samples, species, n_flagged, drone, w0, crs, events, segments, cells, hot, hotspot_rule, att, rates,
             fl, drone_plan, area: AreaLike | None, area_km, skipped, *, raster_cell_m, bandwidth_m, seed) -> dict:
    """The ``evidence.json`` document: counts, span, wind, rules, what was skipped and how the fits ran."""
    times = pd.to_datetime(samples["time_utc"], utc=True) if "time_utc" in samples.columns else None
    lon, lat = lonlat_of(samples)
    return {
        "schema": EVIDENCE_SCHEMA, "species": species, "n_samples": len(samples),
        "n_samples_flagged_out": n_flagged,
        "n_drone_samples": int(drone.sum()), "n_van_samples": int((~drone).sum()),
        "start_utc": times.min().strftime("%Y-%m-%dT%H:%M:%SZ") if times is not None else None,
        "end_utc": times.max().strftime("%Y-%m-%dT%H:%M:%SZ") if times is not None else None,
        "bounds_lonlat": [float(np.nanmin(lon)), float(np.nanmin(lat)), float(np.nanmax(lon)), float(np.nanmax(lat))],
        "wind_default": None if w0 is None else {"from_deg": w0.from_deg, "speed_m_s": w0.speed_m_s,
                                                 "stability": w0.stability},
        "metric_crs": str(getattr(crs, "to_string", lambda: crs)()),
        "n_events": len(events), "n_confirmed_events": int(events["confirmed"].sum()) if len(events) else 0,
        "n_segments": len(segments), "n_cells": len(cells), "n_hotspots": len(hot),
        "hotspot_rule": hotspot_rule,
        "n_attributions": len(att), "n_sources_with_rate": int((rates["rate_g_s"] > 0).sum()),
        "n_signals": int(att.loc[att["evidence_kind"] == "signal", "evidence_id"].nunique()) if len(att) else 0,
        "n_curtains": len(fl), "n_curtains_credited": int((fl["target_id"].fillna("").astype(str) != "").sum())
        if len(fl) else 0, "drone_plan": drone_plan, "confirm_rule": plume.CONFIRM_RULE.describe(),
        "raster": raster_cell_m is not None, "raster_cell_m": raster_cell_m, "bandwidth_m": bandwidth_m, "seed": seed,
        "area": area.name if area is not None else None,
        "area_path": str(Path(area.path).resolve()) if getattr(area, "path", None) is not None else None,
        "area_distance_km": None if area_km is None else round(area_km, 3),
        "skipped": skipped,
        # how the all-samples fits used the samples (every one, or a bounded subsample: said here)
        "attribution_fit": rates.attrs.get("fit"),
    }
