"""Independent pre-flight validator for drone plans.

It re-checks a plan from its written form (the ``ecopatrol.plan/1`` dict or ``plan.json``)
against the area, recomputing everything from ``lon``/``lat`` and the DEM rather than trusting
the planner's numbers, and collects every violation:

* structure: schema, kind, sequence numbers, take-off first and landing last at the launch;
* heights: every waypoint and every point along every leg (sampled every 20 m) between the
  minimum height and the cap, true height above the DEM; ``alt_amsl_m`` consistent with it.
  The cap is the plan's ``limits.alt_max_agl_m``, else the area's (``area.rules``); a plan
  capped above the area's limit is warned about (it needs an approval). Where the DEM gives
  no ground (no DEM, or one that does not reach) the heights cannot be checked: an error,
  unless the plan was made with ``limits.flat_ground`` (then a warning that heights are above
  the launch point, not above ground);
* airspace: no leg or waypoint inside a no-fly zone, or inside a restricted zone above its
  ceiling; controlled-airspace targets warned;
* range: every point within ``max_range_m`` of the pilot at the launch site;
* battery: the sortie's energy, recomputed with the aircraft model, within the battery minus
  the reserve; speeds within the aircraft's limits.

:func:`validate_exports` then checks every point the exports write besides the waypoints, read
back from the written form: the QGroundControl home, mission items, rally points (their
heights are relative to home: true height = height + home ground − ground under the rally
point) and exclusion geofences (one for every zone that allows no flight), and the DJI WPML
waypoint heights, return-to-home height and aircraft / payload enums.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np
import shapely

from ecopatrol.core.artefacts.plan import MAX_PLAN_BYTES, PLAN_SCHEMA, read_plan  # noqa: F401 (MAX_PLAN_BYTES re-exported)
from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.errors import Report
from ecopatrol.core.rules import rules_of

from ._sortie_checks import (  # noqa: F401 (constants re-exported)
    HEIGHT_TOL_M,
    LEG_SAMPLE_M,
    MIN_FLIGHT_AGL_M,
    MIN_WAYPOINT_AGL_M,
    NO_DEM_HELP,
    _check_sortie,
    _sample_legs,
    _to_lonlat,
)
from .aircraft import get_aircraft
from .airspace import Airspace

log = logging.getLogger(__name__)

MIN_RALLY_AGL_M = 10.0
WRITTEN_ROUNDING_M = 0.011  # two roundings to 0.01 m (height above home, home ground) in the exports
FLAT_GROUND_WARNING = "heights are above the launch point, not above ground: no DEM (planned with --flat-ground)"


_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def _as_dict(plan_or_dict) -> dict:
    if isinstance(plan_or_dict, dict):
        return plan_or_dict
    if isinstance(plan_or_dict, (str, Path)):
        return read_plan(plan_or_dict, kind="drone", check_schema=False)
    return plan_or_dict.to_dict()


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_plan_structure(plan, *, file: str = "plan.json") -> Report:
    """Types and ranges of every field the checks read, before any geometry: a hand-edited
    ``plan.json`` with a string for a number, NaN or out-of-range coordinates, a sortie id with
    path characters or a missing list is reported field by field (``sorties[0].waypoints[3].lat``)
    instead of crashing the validator. The geometric checks run only when this finds no error."""
    rep = Report()
    f = file

    def bad(field, msg):
        rep.error(msg, file=f, field=field)

    if not isinstance(plan, dict):
        bad(None, f"the top level is a {type(plan).__name__}, not a JSON object: not an ecopatrol plan")
        return rep
    for key, typ in (("limits", dict), ("wind", dict), ("aircraft", dict)):
        if key in plan and not isinstance(plan[key], typ):
            bad(key, f"is a {type(plan[key]).__name__}, expected an object")
    lim = plan.get("limits") if isinstance(plan.get("limits"), dict) else {}
    for key, lo, hi in (("alt_max_agl_m", 1.0, 1000.0), ("max_range_m", 1.0, 100000.0), ("reserve", 0.0, 0.95)):
        if key in lim and not (_num(lim[key]) and lo <= lim[key] <= hi):
            bad(f"limits.{key}", f"is {lim[key]!r}: expected a number from {lo:g} to {hi:g}")
    wind = plan.get("wind") if isinstance(plan.get("wind"), dict) else {}
    for key, lo, hi in (("from_deg", 0.0, 360.0), ("speed_m_s", 0.0, 60.0)):
        if key in wind and not (_num(wind[key]) and lo <= wind[key] <= hi):
            bad(f"wind.{key}", f"is {wind[key]!r}: expected a number from {lo:g} to {hi:g}")
    if wind.get("stability") is not None and wind.get("stability") not in tuple("ABCDEF"):
        bad("wind.stability", f"is {wind.get('stability')!r}: expected one of A–F")
    ac = plan.get("aircraft") if isinstance(plan.get("aircraft"), dict) else {}
    if ac.get("payload_kg") is not None and not (_num(ac["payload_kg"]) and 0 <= ac["payload_kg"] <= 50):
        bad("aircraft.payload_kg", f"is {ac['payload_kg']!r}: expected a mass in kg from 0 to 50")
    sorties = plan.get("sorties")
    if sorties is None:
        return rep  # "the plan has no sorties" is reported by validate_plan
    if not isinstance(sorties, list):
        bad("sorties", f"is a {type(sorties).__name__}, expected a list of sorties")
        return rep
    seen = set()
    for i, s in enumerate(sorties):
        at = f"sorties[{i}]"
        if not isinstance(s, dict):
            bad(at, f"is a {type(s).__name__}, expected an object")
            continue
        sid = s.get("sortie_id")
        if not isinstance(sid, str) or not _SAFE_ID.match(sid) or ".." in sid:
            bad(f"{at}.sortie_id", f"{sid!r} cannot name a file (path separators, `..`, a leading dot or unusual "
                "characters could write outside the plan folder): use letters, digits, `_`, `-`, e.g. S01")
        elif sid in seen:
            bad(f"{at}.sortie_id", f"{sid!r} appears twice: sortie ids must be unique")
        seen.add(sid)
        if "aircraft" in s and not isinstance(s["aircraft"], str):
            bad(f"{at}.aircraft", f"is {s['aircraft']!r}: expected an aircraft key such as m350")
        if not isinstance(s.get("targets", []), list) or not all(isinstance(t, str) for t in s.get("targets", [])):
            bad(f"{at}.targets", "expected a list of enterprise ids (strings)")
        launch = s.get("launch")
        if not isinstance(launch, dict):
            bad(f"{at}.launch", "missing or not an object: the launch site (lon, lat, ground_amsl_m)")
        else:
            _check_position(bad, f"{at}.launch", launch, ("lon", "lat", "ground_amsl_m"))
        wps = s.get("waypoints")
        if not isinstance(wps, list):
            bad(f"{at}.waypoints", "missing or not a list of waypoints")
            continue
        for k, w in enumerate(wps):
            wat = f"{at}.waypoints[{k}]"
            if not isinstance(w, dict):
                bad(wat, f"is a {type(w).__name__}, expected an object")
                continue
            _check_position(bad, wat, w, ("lon", "lat", "alt_agl_m", "alt_amsl_m"))
            for key in ("speed_m_s", "hold_s"):
                v = w.get(key, 0.0)
                if v is not None and not (_num(v) and 0 <= v <= (100.0 if key == "speed_m_s" else 3600.0)):
                    bad(f"{wat}.{key}", f"is {v!r}: expected a number ≥ 0")
            if not isinstance(w.get("seq"), int) or isinstance(w.get("seq"), bool):
                bad(f"{wat}.seq", f"is {w.get('seq')!r}: expected the integer {k}")
            if not isinstance(w.get("action", ""), str):
                bad(f"{wat}.action", f"is {w.get('action')!r}: expected takeoff, waypoint, … or land")
    if rep.errors:
        rep.error("the plan was refused before any geometric check: it looks hand-edited — plan it again with "
                  "`ecopatrol plan drone` instead of editing plan.json", file=f)
    return rep


def _check_position(bad, at: str, d: dict, keys) -> None:
    ranges = {"lon": (-180.0, 180.0), "lat": (-90.0, 90.0), "alt_agl_m": (-1000.0, 10000.0),
              "alt_amsl_m": (-1000.0, 10000.0), "ground_amsl_m": (-1000.0, 10000.0)}
    for key in keys:
        v = d.get(key)
        lo, hi = ranges[key]
        if not _num(v):
            bad(f"{at}.{key}", f"is {v!r}: expected a finite number")
        elif not lo <= v <= hi:
            bad(f"{at}.{key}", f"is {v!r}: out of range ({lo:g} to {hi:g})")


def check_preflight(plan_or_dict, area, *, strict: bool = False) -> Report:
    """Every violation of a drone plan (a :class:`DronePlan`, its dict, or a ``plan.json`` path).

    Returns a :class:`~ecopatrol.core.errors.Report`; ``strict`` is accepted for symmetry and
    applied by the caller (``report.ok(strict=True)``).
    """
    plan = _as_dict(plan_or_dict)
    f = "plan.json"
    rep = check_plan_structure(plan, file=f)
    if rep.errors:
        return rep
    if plan.get("schema") != PLAN_SCHEMA:
        rep.error(f"schema is {plan.get('schema')!r}, expected {PLAN_SCHEMA!r}", file=f, field="schema")
    if plan.get("kind") != "drone":
        rep.error(f"kind is {plan.get('kind')!r}, expected 'drone'", file=f, field="kind")
    limits = plan.get("limits", {})
    rules = rules_of(area)
    cap = float(limits.get("alt_max_agl_m", rules.height_cap_m))
    if cap > rules.height_cap_m + HEIGHT_TOL_M:
        rep.warning(f"the plan's height cap {cap:g} m is above the area's {rules.height_cap_m:g} m limit "
                    f"({rules.height_cap_source}): fly only with an approval covering it", file=f,
                    field="limits.alt_max_agl_m")
    max_range = float(limits.get("max_range_m", 2000.0))
    reserve = float(limits.get("reserve", 0.3))
    flat = bool(limits.get("flat_ground", False))
    wind = plan.get("wind", {})
    crs = area.metric_crs
    airspace = Airspace.from_frame(area.nofly, crs, margin_m=0.0, alt_max_agl_m=cap)
    sorties = plan.get("sorties") or []
    if not sorties:
        rep.error("the plan has no sorties", file=f, field="sorties")
    flat_used = []
    for s in sorties:
        flat_used.append(_check_sortie(rep, s, area, crs, airspace, cap=cap, max_range=max_range, reserve=reserve,
                                       wind=wind, payload_kg=plan.get("aircraft", {}).get("payload_kg"), flat=flat))
    if any(flat_used):
        rep.warning(FLAT_GROUND_WARNING, file=f, field="limits.flat_ground")
    # controlled airspace
    tids = sorted({t for s in sorties for t in s.get("targets", [])})
    if tids and "airspace" in area.enterprises.columns:
        e = area.enterprises
        sel = e[e["enterprise_id"].astype(str).isin(tids) & e["airspace"].isin(["controlled", "needs-approval"])]
        for eid, a in zip(sel["enterprise_id"], sel["airspace"]):
            rep.warning(f"target {eid} is in {a} airspace: an approval is needed before flying", file=f)
    log.info("validated drone plan: %d sorties, %d errors, %d warnings", len(sorties), len(rep.errors),
             len(rep.warnings))
    return rep


#: The name callers know; the plan artefact's own structure check is ``core.artefacts.plan.validate_plan``.
validate_plan = check_preflight


# ---------------------------------------------------------------------------------------
# what the exports write besides the waypoints
# ---------------------------------------------------------------------------------------

def _ground(area, lon, lat, fallback: float, flat: bool):
    g = np.asarray(area.elevation_m(np.atleast_1d(lon), np.atleast_1d(lat)), float)
    unknown = ~np.isfinite(g)
    return np.where(unknown, fallback if flat else np.nan, g), unknown


def validate_exports(plan: dict, area, exports: dict) -> Report:
    """Every point the exports of each sortie write, read back from their written form.

    ``exports`` maps a sortie id to ``{"qgc": <the .plan dict>, "wpml": <waylines.wpml text or None>,
    "fence_zones": <zone ids that must be exclusion fences>}``. Checked against the plan's cap and
    range and the area's zones and DEM: the QGC home (at the launch site, outside every zone),
    every mission item and rally point (true height = height above home + home ground − ground
    below it, between the minimum and the cap; outside zones that block at that height; within
    range of the pilot), the geofence (an exclusion polygon for every zone that allows no
    flight, with valid vertices), and in the DJI WPML every waypoint height, the return-to-home
    height along the straight way home from every waypoint, and the aircraft enums.
    """

    rep = Report()
    limits = plan.get("limits", {})
    rules = rules_of(area)
    cap = float(limits.get("alt_max_agl_m", rules.height_cap_m))
    max_range = float(limits.get("max_range_m", 2000.0))
    flat = bool(limits.get("flat_ground", False))
    crs = area.metric_crs
    airspace = Airspace.from_frame(area.nofly, crs, margin_m=0.0, alt_max_agl_m=cap)
    by_id = {s.get("sortie_id"): s for s in plan.get("sorties") or []}
    for sid, ex in exports.items():
        s = by_id.get(sid)
        if s is None:
            rep.error(f"exports of sortie {sid}: no such sortie in the plan", file=f"{sid}.plan")
            continue
        launch = s["launch"]
        home_g = float(launch["ground_amsl_m"])
        lx, ly = lonlat_to_xy(np.array([launch["lon"]]), np.array([launch["lat"]]), crs)
        qgc = ex.get("qgc")
        if qgc is not None:
            _check_qgc(rep, f"{sid}.plan", qgc, launch, home_g, (lx[0], ly[0]), area, crs, airspace, cap=cap,
                       max_range=max_range, flat=flat, fence_zones=ex.get("fence_zones", []))
        wpml = ex.get("wpml")
        if wpml is not None:
            _check_wpml(rep, f"{sid}.kmz", wpml, s, home_g, area, cap=cap, flat=flat,
                        ac=get_aircraft(s.get("aircraft", "m350")))
    log.info("validated the exports of %d sorties: %d errors, %d warnings", len(exports), len(rep.errors),
             len(rep.warnings))
    return rep


def _point_checks(rep, f, what, lon, lat, true_agl, area_xy, airspace, pilot_xy, *, cap, max_range, min_agl, row):
    x, y = area_xy
    if not np.isfinite(true_agl):
        rep.error(f"{what}: the ground height below it is unknown, so its true height cannot be checked — "
                  f"{NO_DEM_HELP}", file=f, row=row)
        return
    if true_agl > cap + HEIGHT_TOL_M:
        rep.error(f"{what} ({lon:.6f}, {lat:.6f}) is {true_agl:.1f} m above its ground, over the {cap:g} m cap",
                  file=f, row=row)
    if true_agl < min_agl - HEIGHT_TOL_M:
        rep.error(f"{what} ({lon:.6f}, {lat:.6f}) is {true_agl:.1f} m above its ground, below the {min_agl:g} m "
                  "minimum", file=f, row=row)
    for z in airspace.zones:
        # heights are written to the centimetre (height above home, and the home's ground): a point
        # planned exactly at a restricted zone's ceiling can read back up to 1 cm above it
        if z.blocks(float(true_agl) - WRITTEN_ROUNDING_M) and shapely.contains_xy(z.geometry, float(x), float(y)):
            kind = "no-fly zone" if not np.isfinite(z.ceiling_m) else f"restricted zone (ceiling {z.ceiling_m:g} m)"
            rep.error(f"{what} ({lon:.6f}, {lat:.6f}) lies in {kind} {z.zone_id} {z.name}".rstrip(), file=f, row=row)
    d = float(np.hypot(x - pilot_xy[0], y - pilot_xy[1]))
    if d > max_range + 1.0:
        rep.error(f"{what} ({lon:.6f}, {lat:.6f}) is {d:.0f} m from the pilot, beyond the {max_range:g} m range",
                  file=f, row=row)


def _check_qgc(rep, f, doc, launch, home_g, pilot_xy, area, crs, airspace, *, cap, max_range, flat, fence_zones):
    mission = doc.get("mission", {})
    home = mission.get("plannedHomePosition") or [None, None, None]
    try:
        hlat, hlon, halt = (float(v) for v in home)
    except (TypeError, ValueError):
        rep.error("plannedHomePosition is missing or not [lat, lon, alt]", file=f, field="plannedHomePosition")
        return
    hx, hy = lonlat_to_xy(np.array([hlon]), np.array([hlat]), crs)
    if np.hypot(hx[0] - pilot_xy[0], hy[0] - pilot_xy[1]) > 5.0 or abs(halt - home_g) > HEIGHT_TOL_M:
        rep.error(f"home ({hlon:.6f}, {hlat:.6f}, {halt:.1f} m) is not the launch site "
                  f"({launch['lon']:.6f}, {launch['lat']:.6f}, {home_g:.1f} m)", file=f, field="plannedHomePosition")
    for z in airspace.zones:
        if z.blocks(0.0) and shapely.contains_xy(z.geometry, float(hx[0]), float(hy[0])):
            rep.error(f"home lies in zone {z.zone_id} {z.name}".rstrip(), file=f, field="plannedHomePosition")
    # mission items: heights relative to home (frame 3)
    for k, it in enumerate(mission.get("items", []), start=1):
        p = it.get("params") or []
        if it.get("frame") != 3 or len(p) < 7 or it.get("command") not in (16, 22):
            continue
        lat, lon, rel = float(p[4]), float(p[5]), float(p[6])
        g, _ = _ground(area, lon, lat, home_g, flat)
        x, y = lonlat_to_xy(np.array([lon]), np.array([lat]), crs)
        minimum = 0.0 if it.get("command") == 22 else MIN_WAYPOINT_AGL_M
        _point_checks(rep, f, f"mission item {k}", lon, lat, rel + home_g - float(g[0]), (x[0], y[0]), airspace,
                      pilot_xy, cap=cap, max_range=max_range, min_agl=minimum, row=k)
    # rally points [lat, lon, height above home]
    for k, pt in enumerate((doc.get("rallyPoints") or {}).get("points", []), start=1):
        try:
            lat, lon, rel = (float(v) for v in pt)
        except (TypeError, ValueError):
            rep.error(f"rally point {k} is not [lat, lon, alt]", file=f, row=k, field="rallyPoints")
            continue
        g, _ = _ground(area, lon, lat, home_g, flat)
        x, y = lonlat_to_xy(np.array([lon]), np.array([lat]), crs)
        _point_checks(rep, f, f"rally point {k}", lon, lat, rel + home_g - float(g[0]), (x[0], y[0]), airspace,
                      pilot_xy, cap=cap, max_range=max_range, min_agl=MIN_RALLY_AGL_M, row=k)
    # geofence: an exclusion polygon for every zone that allows no flight, with valid vertices
    polys = (doc.get("geoFence") or {}).get("polygons", [])
    for k, poly in enumerate(polys, start=1):
        v = np.asarray(poly.get("polygon") or [], float)
        if v.ndim != 2 or v.shape[0] < 3 or v.shape[1] != 2 or not np.isfinite(v).all() \
                or (np.abs(v[:, 0]) > 90).any() or (np.abs(v[:, 1]) > 180).any():
            rep.error(f"geofence polygon {k} has invalid vertices (need ≥ 3 [lat, lon] pairs)", file=f, row=k,
                      field="geoFence")
    if not all(not p.get("inclusion", False) for p in polys):
        rep.error("a geofence polygon is an inclusion fence; zones must be exclusion fences", file=f, field="geoFence")
    needed = [z for z in airspace.zones if not np.isfinite(z.ceiling_m)]
    n_parts = sum(len(shapely.get_parts(z.geometry)) for z in needed)
    if len(polys) < n_parts or set(fence_zones) != {z.zone_id for z in needed}:
        missing = sorted({z.zone_id for z in needed} - set(fence_zones))
        rep.error(f"the geofence has {len(polys)} exclusion polygon(s) for {n_parts} no-fly zone part(s)"
                  + (f"; missing: {', '.join(missing)}" if missing else ""), file=f, field="geoFence")


def _check_wpml(rep, f, text: str, s: dict, home_g: float, area, *, cap, flat, ac):
    import xml.etree.ElementTree as ET

    ns = {"kml": "http://www.opengis.net/kml/2.2", "wpml": "http://www.dji.com/wpmz/1.0.6"}
    try:
        root = ET.fromstring(text)  # our own output, never untrusted input
    except ET.ParseError as exc:
        rep.error(f"waylines.wpml is not well-formed XML: {exc}", file=f)
        return

    def val(tag):
        el = root.find(f".//wpml:{tag}", ns)
        return None if el is None else el.text

    for tag, want in (("droneEnumValue", ac.dji_drone_enum), ("droneSubEnumValue", ac.dji_drone_sub_enum),
                      ("payloadEnumValue", ac.dji_payload_enum)):
        if val(tag) is None or int(val(tag)) != int(want):
            rep.error(f"{tag} is {val(tag)}, the {ac.name} needs {want}", file=f, field=tag)
    lon, lat, rel = [], [], []
    for pm in root.iter(f"{{{ns['kml']}}}Placemark"):
        c = pm.find(".//kml:coordinates", ns)
        h = pm.find("wpml:executeHeight", ns)
        if c is None or h is None:
            continue
        a, b = (float(v) for v in c.text.strip().split(",")[:2])
        lon.append(a)
        lat.append(b)
        rel.append(float(h.text))
    if not lon:
        rep.error("waylines.wpml has no waypoints", file=f)
        return
    lon, lat, rel = np.array(lon), np.array(lat), np.array(rel)
    g, _ = _ground(area, lon, lat, home_g, flat)
    true = rel + home_g - g
    for i in np.flatnonzero(~np.isfinite(true))[:3]:
        rep.error(f"waypoint {i}: the ground below it is unknown — {NO_DEM_HELP}", file=f, row=int(i))
    for i in np.flatnonzero(true > cap + HEIGHT_TOL_M)[:5]:
        rep.error(f"waypoint {i} is {true[i]:.1f} m above its ground, over the {cap:g} m cap", file=f, row=int(i),
                  field="executeHeight")
    rth = val("globalRTHHeight")
    if rth is None:
        rep.error("globalRTHHeight is missing", file=f, field="globalRTHHeight")
        return
    rth = float(rth)
    # return to home: climb to the RTH height (relative to the take-off point) and fly straight home
    launch = s["launch"]
    crs = area.metric_crs
    x, y = lonlat_to_xy(lon, lat, crs)
    hx, hy = lonlat_to_xy(np.array([launch["lon"]]), np.array([launch["lat"]]), crs)
    t = np.linspace(0.0, 1.0, 21)
    px = (x[:, None] + t[None, :] * (hx[0] - x[:, None])).ravel()
    py = (y[:, None] + t[None, :] * (hy[0] - y[:, None])).ravel()
    plon, plat = _to_lonlat(px, py, crs)
    pg, _ = _ground(area, plon, plat, home_g, flat)
    top = rth + home_g - pg
    if np.isfinite(top).any() and np.nanmax(top) > cap + HEIGHT_TOL_M:
        rep.error(f"return-to-home height {rth:g} m (above the take-off point) is {np.nanmax(top):.1f} m above the "
                  f"ground on the way home, over the {cap:g} m cap", file=f, field="globalRTHHeight")
