"""Independent pre-flight validator for drone plans.

It re-checks a plan from its written form (the ``ecopatrol.plan/1`` dict or ``plan.json``)
against the area, recomputing everything from ``lon``/``lat`` and the DEM rather than trusting
the planner's numbers, and collects every violation:

* structure: schema, kind, sequence numbers, take-off first and landing last at the launch;
* heights: every waypoint and every point along every leg (sampled every 20 m) between the
  minimum height and the cap, true height above the DEM; ``alt_amsl_m`` consistent with it.
  The cap is the plan's ``limits.alt_max_agl_m``, else the area's (``area.rules``); a plan
  capped above the area's limit is warned about (it needs an approval);
* airspace: no leg or waypoint inside a no-fly zone, or inside a restricted zone above its
  ceiling; controlled-airspace targets warned;
* range: every point within ``max_range_m`` of the pilot at the launch site;
* battery: the sortie's energy, recomputed with the aircraft model, within the battery minus
  the reserve; speeds within the aircraft's limits.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import shapely

from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.errors import FormatError, Report
from ecopatrol.core.rules import rules_of

from .aircraft import get_aircraft, path_cost
from .airspace import Airspace

log = logging.getLogger(__name__)

LEG_SAMPLE_M = 20.0
MIN_FLIGHT_AGL_M = 5.0  # along legs, away from take-off and landing
HEIGHT_TOL_M = 0.5


def _as_dict(plan_or_dict) -> dict:
    if isinstance(plan_or_dict, dict):
        return plan_or_dict
    if isinstance(plan_or_dict, (str, Path)):
        p = Path(plan_or_dict)
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise FormatError(f"`{p.name}` is not a readable plan.json: {exc}") from exc
    return plan_or_dict.to_dict()


def validate_plan(plan_or_dict, area, *, strict: bool = False) -> Report:
    """Every violation of a drone plan (a :class:`DronePlan`, its dict, or a ``plan.json`` path).

    Returns a :class:`~ecopatrol.core.errors.Report`; ``strict`` is accepted for symmetry and
    applied by the caller (``report.ok(strict=True)``).
    """
    plan = _as_dict(plan_or_dict)
    rep = Report()
    f = "plan.json"
    if plan.get("schema") != "ecopatrol.plan/1":
        rep.error(f"schema is {plan.get('schema')!r}, expected 'ecopatrol.plan/1'", file=f, field="schema")
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
    wind = plan.get("wind", {})
    crs = area.metric_crs
    airspace = Airspace.from_frame(area.nofly, crs, margin_m=0.0, alt_max_agl_m=cap)
    sorties = plan.get("sorties") or []
    if not sorties:
        rep.error("the plan has no sorties", file=f, field="sorties")
    for s in sorties:
        _check_sortie(rep, s, area, crs, airspace, cap=cap, max_range=max_range, reserve=reserve, wind=wind,
                      payload_kg=plan.get("aircraft", {}).get("payload_kg"))
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


def _check_sortie(rep: Report, s: dict, area, crs, airspace: Airspace, *, cap, max_range, reserve, wind, payload_kg):
    sid = s.get("sortie_id", "?")
    where = f"sortie {sid}"
    f = "plan.json"
    wps = s.get("waypoints") or []
    if len(wps) < 3:
        rep.error(f"{where}: has {len(wps)} waypoints; a sortie needs take-off, at least one point and landing",
                  file=f, field="waypoints")
        return
    try:
        ac = get_aircraft(s.get("aircraft", "m350"))
        if payload_kg is not None:
            ac = ac.with_payload(float(payload_kg))
    except ValueError as exc:
        rep.error(f"{where}: {exc}", file=f, field="aircraft")
        return
    seq = np.array([w.get("seq", -1) for w in wps])
    if not np.array_equal(seq, np.arange(len(wps))):
        rep.error(f"{where}: waypoint `seq` must run 0..{len(wps) - 1} without gaps", file=f, field="seq")
    lon = np.array([w["lon"] for w in wps], float)
    lat = np.array([w["lat"] for w in wps], float)
    agl = np.array([w["alt_agl_m"] for w in wps], float)
    amsl = np.array([w["alt_amsl_m"] for w in wps], float)
    spd = np.array([w.get("speed_m_s", 0.0) for w in wps], float)
    hold = np.array([w.get("hold_s", 0.0) or 0.0 for w in wps], float)
    act = np.array([w.get("action", "") for w in wps], object)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all() and np.isfinite(agl).all()):
        rep.error(f"{where}: non-finite coordinates or heights", file=f, field="waypoints")
        return
    if act[0] != "takeoff":
        rep.error(f"{where}: the first waypoint must be the take-off (is {act[0]!r})", file=f, field="action")
    if act[-1] != "land":
        rep.error(f"{where}: the last waypoint must be the landing (is {act[-1]!r})", file=f, field="action")
    launch = s.get("launch", {})
    lx, ly = lonlat_to_xy(np.array([launch.get("lon", lon[0])]), np.array([launch.get("lat", lat[0])]), crs)
    x, y = lonlat_to_xy(lon, lat, crs)
    for k, name in ((0, "take-off"), (len(x) - 1, "landing")):
        if np.hypot(x[k] - lx[0], y[k] - ly[0]) > 5.0:
            rep.error(f"{where}: the {name} is {np.hypot(x[k] - lx[0], y[k] - ly[0]):.0f} m from the launch site",
                      file=f, field="launch")
    # heights at waypoints
    ground = area.elevation_m(lon, lat)
    g0 = float(launch.get("ground_amsl_m", np.nan))
    ground = np.where(np.isfinite(ground), ground, g0 if np.isfinite(g0) else amsl - agl)
    true_agl = amsl - ground
    bad = np.abs(true_agl - agl) > HEIGHT_TOL_M + 0.5
    for i in np.nonzero(bad)[0][:5]:
        rep.error(f"{where} waypoint {i}: alt_amsl_m {amsl[i]:.1f} minus ground {ground[i]:.1f} = "
                  f"{true_agl[i]:.1f} m disagrees with alt_agl_m {agl[i]:.1f}", file=f, row=int(i), field="alt_amsl_m")
    over = true_agl > cap + HEIGHT_TOL_M
    for i in np.nonzero(over)[0][:5]:
        rep.error(f"{where} waypoint {i}: {true_agl[i]:.1f} m above ground exceeds the {cap:g} m cap",
                  file=f, row=int(i), field="alt_agl_m")
    inner = ~np.isin(act, ["takeoff", "land"])
    low = inner & (true_agl < 10.0 - HEIGHT_TOL_M)
    for i in np.nonzero(low)[0][:5]:
        rep.error(f"{where} waypoint {i}: {true_agl[i]:.1f} m above ground is below the 10 m minimum",
                  file=f, row=int(i), field="alt_agl_m")
    # along legs (take-off climbs vertically from the launch; landing descends vertically)
    px, py, pz_amsl, leg = _sample_legs(x, y, amsl, LEG_SAMPLE_M)
    plon, plat = _to_lonlat(px, py, crs)
    pg = area.elevation_m(plon, plat)
    pg = np.where(np.isfinite(pg), pg, np.interp(leg, np.arange(len(ground)), ground))
    p_agl = pz_amsl - pg
    mid = (leg > 0) & (leg < len(x) - 2)  # skip legs touching take-off/landing
    over = np.unique(leg[(p_agl > cap + HEIGHT_TOL_M) & mid])
    for i in over[:5]:
        rep.error(f"{where} leg {i}→{i + 1}: rises to {p_agl[leg == i].max():.1f} m above ground, over the {cap:g} m cap",
                  file=f, row=int(i), field="alt_amsl_m")
    low = np.unique(leg[(p_agl < MIN_FLIGHT_AGL_M) & mid])
    for i in low[:5]:
        rep.error(f"{where} leg {i}→{i + 1}: comes within {p_agl[leg == i].min():.1f} m of the ground",
                  file=f, row=int(i), field="alt_amsl_m")
    # airspace: waypoints and legs
    for z in airspace.zones:
        zmax = np.maximum(agl[:-1], agl[1:])
        blocks_leg = np.ones(len(zmax), bool) if not np.isfinite(z.ceiling_m) else zmax > z.ceiling_m
        if not blocks_leg.any():
            continue
        lines = shapely.linestrings(np.stack([np.column_stack([x[:-1], y[:-1]]), np.column_stack([x[1:], y[1:]])], axis=1))
        hit = blocks_leg & shapely.intersects(lines, z.geometry)
        for i in np.nonzero(hit)[0][:5]:
            what = "no-fly zone" if not np.isfinite(z.ceiling_m) else f"restricted zone (ceiling {z.ceiling_m:g} m)"
            rep.error(f"{where} leg {i}→{i + 1} enters {what} {z.zone_id} {z.name}".rstrip(), file=f, row=int(i),
                      field="lon/lat")
    # range
    dist = np.hypot(x - lx[0], y - ly[0])
    far = dist > max_range + 1.0
    if far.any():
        i = int(np.argmax(dist))
        rep.error(f"{where}: waypoint {i} is {dist[i]:.0f} m from the pilot, beyond the {max_range:g} m range",
                  file=f, row=i, field="lon/lat")
    # speeds
    fast = spd > ac.max_speed_m_s
    for i in np.nonzero(fast)[0][:3]:
        rep.error(f"{where} waypoint {i}: speed {spd[i]:g} m/s exceeds the {ac.name} maximum {ac.max_speed_m_s:g} m/s",
                  file=f, row=int(i), field="speed_m_s")
    # battery, recomputed from the written waypoints
    wx = np.concatenate([x[:1], x])
    wy = np.concatenate([y[:1], y])
    wz = np.concatenate([[0.0], agl])
    wv = np.concatenate([spd[:1], spd])
    wh = np.concatenate([[0.0], hold])
    stab = wind.get("stability") or "D"
    c = path_cost(ac, wx, wy, wz, wv, wh, wind_from_deg=float(wind.get("from_deg", 0.0)),
                  wind_speed_m_s=float(wind.get("speed_m_s", 0.0)), stability=stab)
    frac = c.total_energy_j / ac.battery_j
    if frac > 1.0 - reserve + 1e-6:
        rep.error(f"{where}: needs {frac:.1%} of a battery, more than the {1 - reserve:.0%} usable with a "
                  f"{reserve:.0%} reserve: split it", file=f, field="battery_fraction")
    stated = s.get("battery_fraction")
    if stated is not None and abs(float(stated) - frac) > 0.02:
        rep.warning(f"{where}: stated battery_fraction {float(stated):.3f} differs from the recomputed {frac:.3f}",
                    file=f, field="battery_fraction")
    if c.max_airspeed_m_s > ac.max_speed_m_s:
        rep.error(f"{where}: a leg needs {c.max_airspeed_m_s:.1f} m/s airspeed in this wind, over the "
                  f"{ac.max_speed_m_s:g} m/s maximum", file=f, field="speed_m_s")


def _to_lonlat(x, y, crs):
    from ecopatrol.core.crs import xy_to_lonlat

    return xy_to_lonlat(x, y, crs)


def _sample_legs(x, y, z, step_m):
    """Points every ``step_m`` along each leg (both ends included) and the leg index of each."""
    dx, dy = np.diff(x), np.diff(y)
    n = np.maximum(1, np.ceil(np.hypot(dx, dy) / step_m).astype(int))
    leg = np.repeat(np.arange(len(dx)), n + 1)
    start = np.repeat(np.cumsum(np.r_[0, n[:-1] + 1]), n + 1)
    t = (np.arange(len(leg)) - start) / np.repeat(n, n + 1)
    return (x[leg] + t * dx[leg], y[leg] + t * dy[leg], z[leg] + t * (z[leg + 1] - z[leg]), leg)
