"""Navigation exports of a van plan: GPX 1.1 (WGS-84 and GCJ-02), KML, GeoJSON, turn-by-turn, summary.

Every file is WGS-84 ``(lon, lat)`` except ``route_gcj02.gpx``, converted exactly once for
Chinese navigation apps (Amap, Tencent), which expect GCJ-02. Files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from pathlib import Path

import numpy as np

from ecopatrol.core.artefacts.plan import write_plan
from ecopatrol.core.crs import wgs84_to_gcj02
from ecopatrol.core.io import atomic_write

from .tour import VanPlan

log = logging.getLogger(__name__)

_KIND_COLOUR_KML = {"monitoring": "ff1c1ce3", "background": "ffe39a1c", "transit": "ff8c8c8c"}  # aabbggrr


def _atomic_write(path: Path, text: str) -> Path:
    return atomic_write(path, text)


def _bearing_deg(lon1, lat1, lon2, lat2) -> float:
    dx = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    dy = lat2 - lat1
    return math.degrees(math.atan2(dx, dy)) % 360.0


def _turn_word(delta_deg: float) -> str:
    a = abs(delta_deg)
    side = "right" if delta_deg > 0 else "left"
    if a < 20:
        return "Continue"
    if a < 60:
        return f"Bear {side}"
    if a < 150:
        return f"Turn {side}"
    return "Make a U-turn"


def turn_by_turn(plan: VanPlan) -> list[dict]:
    """Instructions in driving order: one row per street stretch, plus leg start/end markers."""
    p = plan.path_lonlat
    rows: list[dict] = []
    cum_m = 0.0
    prev_bearing = None
    seg_len = _segment_lengths_m(p)
    for leg in plan.legs:
        if leg.kind != "transit":
            rows.append({"instruction": f"START {leg.kind} leg {leg.leg_id}: {leg.purpose}", "street": leg.street,
                         "distance_m": 0.0, "cum_km": cum_m / 1000, "leg_id": leg.leg_id, "leg_kind": leg.kind,
                         "lon": p[leg.start_idx, 0], "lat": p[leg.start_idx, 1]})
        i = leg.start_idx
        while i < leg.end_idx:
            street = plan.path_streets[i]
            j = i
            while j < leg.end_idx and plan.path_streets[j] == street:
                j += 1
            b_in = _bearing_deg(*p[i], *p[i + 1])
            if prev_bearing is None:
                word = "Depart"
            else:
                word = _turn_word((b_in - prev_bearing + 180.0) % 360.0 - 180.0)
            dist = float(seg_len[i:j].sum())
            onto = "onto" if word not in ("Continue", "Depart") else "on"
            rows.append({"instruction": f"{word} {onto} {street} for {dist:.0f} m", "street": street,
                         "distance_m": dist, "cum_km": cum_m / 1000, "leg_id": leg.leg_id, "leg_kind": leg.kind,
                         "lon": p[i, 0], "lat": p[i, 1]})
            cum_m += dist
            prev_bearing = _bearing_deg(*p[j - 1], *p[j])
            i = j
        if leg.kind != "transit":
            rows.append({"instruction": f"END {leg.kind} leg {leg.leg_id}", "street": leg.street, "distance_m": 0.0,
                         "cum_km": cum_m / 1000, "leg_id": leg.leg_id, "leg_kind": leg.kind,
                         "lon": p[leg.end_idx, 0], "lat": p[leg.end_idx, 1]})
    rows.append({"instruction": "Arrive at the depot", "street": "", "distance_m": 0.0, "cum_km": cum_m / 1000,
                 "leg_id": "", "leg_kind": "", "lon": p[-1, 0], "lat": p[-1, 1]})
    for k, r in enumerate(rows, start=1):
        r["step"] = k
    return rows


def _segment_lengths_m(p: np.ndarray) -> np.ndarray:
    from ecopatrol.core.crs import haversine_m

    if len(p) < 2:
        return np.zeros(0)
    return haversine_m(p[:-1, 0], p[:-1, 1], p[1:, 0], p[1:, 1])


def _gpx(plan: VanPlan, *, gcj02: bool) -> str:
    import gpxpy.gpx

    lon, lat = plan.path_lonlat[:, 0], plan.path_lonlat[:, 1]
    if gcj02:
        lon, lat = wgs84_to_gcj02(lon, lat)
    lon, lat = np.asarray(lon), np.asarray(lat)
    datum = "GCJ-02 (for Chinese navigation apps; NOT WGS-84)" if gcj02 else "WGS-84"
    g = gpxpy.gpx.GPX()
    g.creator = "ecopatrol"
    g.name = f"ecopatrol van route {plan.route_id} ({plan.area})"
    g.description = (f"{plan.distance_m / 1000:.1f} km, {plan.duration_s / 3600:.2f} h; wind from "
                     f"{plan.wind.from_deg:g}° at {plan.wind.speed_m_s:g} m/s; coordinates {datum}")
    trk = gpxpy.gpx.GPXTrack(name=f"{plan.route_id} route", description=datum)
    seg = gpxpy.gpx.GPXTrackSegment()
    seg.points = [gpxpy.gpx.GPXTrackPoint(latitude=float(b), longitude=float(a)) for a, b in zip(lon, lat)]
    trk.segments.append(seg)
    g.tracks.append(trk)
    g.waypoints.append(gpxpy.gpx.GPXWaypoint(latitude=float(lat[0]), longitude=float(lon[0]), name="DEPOT",
                                             description="start and end of the route", symbol="Flag"))
    for leg in plan.legs:
        if leg.kind == "transit":
            continue
        for which, k in (("start", leg.start_idx), ("end", leg.end_idx)):
            g.waypoints.append(gpxpy.gpx.GPXWaypoint(
                latitude=float(lat[k]), longitude=float(lon[k]), name=f"{leg.leg_id} {which}",
                description=f"{leg.purpose} ({leg.street})", type=leg.kind))
    return g.to_xml(version="1.1")


def _kml(plan: VanPlan) -> str:
    import simplekml

    # simplekml numbers its elements from a process-wide counter: restart it so the same plan
    # always gives the same file (its ids only tie styles to placemarks within this document)
    simplekml.Kml.resetidcounter()
    kml = simplekml.Kml(name=f"ecopatrol van route {plan.route_id} ({plan.area})")
    p = plan.path_lonlat
    for leg in plan.legs:
        ls = kml.newlinestring(name=f"{leg.leg_id} ({leg.kind})", description=f"{leg.purpose}; {leg.street}; "
                               f"{leg.distance_m:.0f} m, {leg.duration_s / 60:.1f} min",
                               coords=[(float(a), float(b)) for a, b in p[leg.start_idx:leg.end_idx + 1]])
        ls.style.linestyle.color = _KIND_COLOUR_KML[leg.kind]
        ls.style.linestyle.width = 5 if leg.kind != "transit" else 3
        if leg.kind != "transit":
            pt = kml.newpoint(name=f"{leg.leg_id} start", coords=[(float(p[leg.start_idx, 0]),
                                                                   float(p[leg.start_idx, 1]))])
            pt.description = leg.purpose
    kml.newpoint(name="DEPOT", coords=[(float(p[0, 0]), float(p[0, 1]))])
    return kml.kml()


def _geojson(plan: VanPlan) -> str:
    p = plan.path_lonlat
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(plan.depot_lonlat)},
              "properties": {"kind": "depot", "route_id": plan.route_id}}]
    for leg in plan.legs:
        coords = [[round(float(a), 7), round(float(b), 7)] for a, b in p[leg.start_idx:leg.end_idx + 1]]
        props = dict(leg.to_dict(), route_id=plan.route_id)
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                      "properties": props})
    fc = {"type": "FeatureCollection", "name": f"van_route_{plan.route_id}", "features": feats}
    return json.dumps(fc, ensure_ascii=False, indent=1)


def summary(plan: VanPlan) -> dict:
    """Key figures: km, hours, targets covered, dropped and left for another day (with reasons),
    passes per target, U-turns, warnings."""
    by_kind = {k: [leg for leg in plan.legs if leg.kind == k] for k in ("monitoring", "background", "transit")}
    return {
        "schema": "ecopatrol.van_summary/1", "area": plan.area, "route_id": plan.route_id,
        "created_utc": plan.created_utc,
        "wind": {"from_deg": plan.wind.from_deg, "speed_m_s": plan.wind.speed_m_s, "stability": plan.stability},
        "distance_km": round(plan.distance_m / 1000, 3), "duration_h": round(plan.duration_s / 3600, 3),
        "shift_h": plan.shift_h, "monitor_speed_kmh": plan.monitor_speed_kmh, "passes_required": plan.passes,
        "monitoring_km": round(sum(leg.distance_m for leg in by_kind["monitoring"]) / 1000, 3),
        "background_legs": [leg.park for leg in by_kind["background"]],
        "n_legs": {k: len(v) for k, v in by_kind.items()},
        "targets_covered": plan.targets_covered,
        "targets_dropped": [d.to_dict() for d in plan.dropped],
        "targets_deferred": [d.to_dict() for d in plan.deferred],
        "passes_per_target": plan.passes_per_target,
        "u_turns": plan.u_turns,
        "planned_for": plan.to_dict().get("planned_for"),
        "warnings": list(plan.warnings),
    }


def write_van_plan(plan: VanPlan, out_dir) -> list[Path]:
    """Write ``plan.json``, ``route.gpx``, ``route_gcj02.gpx``, ``route.kml``, ``route.geojson``,
    ``turns.txt``, ``turns.csv`` and ``summary.json`` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = turn_by_turn(plan)
    buf = io.StringIO()
    cols = ["step", "cum_km", "distance_m", "instruction", "street", "leg_id", "leg_kind", "lon", "lat"]
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "cum_km": f"{r['cum_km']:.3f}", "distance_m": f"{r['distance_m']:.0f}",
                    "lon": f"{r['lon']:.7f}", "lat": f"{r['lat']:.7f}"})
    txt = [f"ecopatrol van route {plan.route_id} — {plan.area}: {plan.distance_m / 1000:.1f} km, "
           f"{plan.duration_s / 3600:.2f} h (shift {plan.shift_h:g} h); wind from {plan.wind.from_deg:g}° "
           f"at {plan.wind.speed_m_s:g} m/s", ""]
    txt += [f"{r['step']:4d}. [{r['cum_km']:6.2f} km] {r['instruction']}" for r in rows]
    if plan.warnings:
        txt += ["", "Warnings:"] + [f"  - {m}" for m in plan.warnings]
    if plan.dropped:
        txt += ["", "Dropped targets:"] + [f"  - {d.target_id}: {d.reason}" for d in plan.dropped]
    if plan.deferred:
        txt += ["", f"Left for another day ({len(plan.deferred)}):"] + [f"  - {d.target_id}: {d.reason}"
                                                                      for d in plan.deferred]
    files = [
        write_plan(plan.to_dict(), out / "plan.json"),
        _atomic_write(out / "route.gpx", _gpx(plan, gcj02=False)),
        _atomic_write(out / "route_gcj02.gpx", _gpx(plan, gcj02=True)),
        _atomic_write(out / "route.kml", _kml(plan)),
        _atomic_write(out / "route.geojson", _geojson(plan)),
        _atomic_write(out / "turns.txt", "\n".join(txt) + "\n"),
        _atomic_write(out / "turns.csv", buf.getvalue()),
        _atomic_write(out / "summary.json", json.dumps(summary(plan), ensure_ascii=False, indent=1)),
    ]
    log.info("wrote van plan %s (%d files) to %s", plan.route_id, len(files), out)
    return files
