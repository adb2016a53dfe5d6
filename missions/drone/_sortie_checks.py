"""Per-sortie pre-flight checks of a written drone plan (private plumbing of :mod:`.validate`).

:func:`_check_sortie` re-checks one sortie of the ``ecopatrol.plan/1`` dict from its
``lon``/``lat`` (EPSG:4326) and the area's DEM: structure, take-off and landing at the launch,
true heights at the waypoints and every :data:`LEG_SAMPLE_M` m along the legs, airspace, range,
speeds and battery. Errors and warnings are collected into the caller's ``Report``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely

from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.errors import Report

from .aircraft import get_aircraft, path_cost
from .airspace import Airspace

LEG_SAMPLE_M = 20.0
MIN_FLIGHT_AGL_M = 5.0  # along legs, away from take-off and landing
MIN_WAYPOINT_AGL_M = 10.0
HEIGHT_TOL_M = 0.5
NO_DEM_HELP = ("add a DEM GeoTIFF (dem.tif, heights in metres AMSL) covering the flight, or plan with "
               "--flat-ground to accept heights above the launch point")


def _check_sortie(rep: Report, s: dict, area, crs, airspace: Airspace, *, cap, max_range, reserve, wind, payload_kg,
                  flat: bool = False) -> bool:
    """Check one sortie into ``rep``; True when flat ground had to be assumed somewhere."""
    where = f"sortie {s.get('sortie_id', '?')}"
    f = "plan.json"
    wps = s.get("waypoints") or []
    if len(wps) < 3:
        rep.error(f"{where}: has {len(wps)} waypoints; a sortie needs take-off, at least one point and landing",
                  file=f, field="waypoints")
        return False
    ac = _sortie_aircraft(rep, where, f, s, payload_kg)
    if ac is None:
        return False
    w = _waypoint_arrays(rep, where, f, wps)
    if w is None:
        return False
    launch = s.get("launch", {})
    lx, ly = lonlat_to_xy(np.array([launch.get("lon", w.lon[0])]), np.array([launch.get("lat", w.lat[0])]), crs)
    x, y = lonlat_to_xy(w.lon, w.lat, crs)
    _check_ends(rep, where, f, w.act, x, y, lx[0], ly[0])
    unknown = _check_sortie_heights(rep, where, f, w, x, y, launch, area, crs, cap=cap, flat=flat)
    _check_sortie_airspace(rep, where, f, airspace, x, y, w.agl)
    _check_range_and_speed(rep, where, f, x, y, lx[0], ly[0], w.spd, ac, max_range=max_range)
    _check_battery(rep, where, f, s, ac, x, y, w, wind, reserve=reserve)
    return flat and bool(unknown.any() or _legs_off_dem(x, y, area, crs))


class _Waypoints(NamedTuple):
    """A sortie's written waypoints as arrays: ``lon``/``lat`` in EPSG:4326, heights in m, speeds m/s, holds s."""

    lon: np.ndarray
    lat: np.ndarray
    agl: np.ndarray
    amsl: np.ndarray
    spd: np.ndarray
    hold: np.ndarray
    act: np.ndarray


def _sortie_aircraft(rep: Report, where: str, f: str, s: dict, payload_kg):
    """The sortie's aircraft (with the plan's payload), or None after recording why it is unknown."""
    try:
        ac = get_aircraft(s.get("aircraft", "m350"))
        if payload_kg is not None:
            ac = ac.with_payload(float(payload_kg))
    except ValueError as exc:
        rep.error(f"{where}: {exc}", file=f, field="aircraft")
        return None
    return ac


def _waypoint_arrays(rep: Report, where: str, f: str, wps: list) -> _Waypoints | None:
    """Sequence check, then the waypoints as arrays; None (with an error) when a coordinate is not finite."""
    seq = np.array([w.get("seq", -1) for w in wps])
    if not np.array_equal(seq, np.arange(len(wps))):
        rep.error(f"{where}: waypoint `seq` must run 0..{len(wps) - 1} without gaps", file=f, field="seq")
    out = _Waypoints(
        lon=np.array([w["lon"] for w in wps], float),
        lat=np.array([w["lat"] for w in wps], float),
        agl=np.array([w["alt_agl_m"] for w in wps], float),
        amsl=np.array([w["alt_amsl_m"] for w in wps], float),
        spd=np.array([w.get("speed_m_s", 0.0) for w in wps], float),
        hold=np.array([w.get("hold_s", 0.0) or 0.0 for w in wps], float),
        act=np.array([w.get("action", "") for w in wps], object),
    )
    if not (np.isfinite(out.lon).all() and np.isfinite(out.lat).all() and np.isfinite(out.agl).all()):
        rep.error(f"{where}: non-finite coordinates or heights", file=f, field="waypoints")
        return None
    return out


def _check_ends(rep: Report, where: str, f: str, act, x, y, lx: float, ly: float) -> None:
    """Take-off first, landing last, both within 5 m of the launch site (metric ``x``/``y``)."""
    if act[0] != "takeoff":
        rep.error(f"{where}: the first waypoint must be the take-off (is {act[0]!r})", file=f, field="action")
    if act[-1] != "land":
        rep.error(f"{where}: the last waypoint must be the landing (is {act[-1]!r})", file=f, field="action")
    for k, name in ((0, "take-off"), (len(x) - 1, "landing")):
        if np.hypot(x[k] - lx, y[k] - ly) > 5.0:
            rep.error(f"{where}: the {name} is {np.hypot(x[k] - lx, y[k] - ly):.0f} m from the launch site",
                      file=f, field="launch")


def _check_sortie_heights(rep: Report, where: str, f: str, w: _Waypoints, x, y, launch: dict, area, crs, *,
                          cap, flat: bool) -> np.ndarray:
    """Heights against the DEM (or the accepted flat ground); returns the mask of waypoints off the DEM."""
    ground = np.asarray(area.elevation_m(w.lon, w.lat), float)
    g0 = float(launch.get("ground_amsl_m", np.nan))
    unknown = ~np.isfinite(ground)
    if unknown.any() and not flat:
        what = ("the area has no DEM" if getattr(area, "dem_path", "") is None and unknown.all()
                else f"the DEM does not cover {int(unknown.sum())} of {len(ground)} waypoints")
        rep.error(f"{where}: the ground height is unknown ({what}), so the true height above ground and the "
                  f"{cap:g} m cap cannot be checked — {NO_DEM_HELP}", file=f, field="alt_agl_m")
    ground = np.where(unknown, g0 if np.isfinite(g0) else w.amsl - w.agl, ground)
    true_agl = w.amsl - ground
    if not (unknown.any() and not flat):  # heights are checkable (against the DEM, or the accepted flat ground)
        _check_heights(rep, where, f, x, y, w.amsl, w.agl, true_agl, ground, w.act, area, crs, cap=cap,
                       unknown_wp=unknown, flat=flat)
    return unknown


def _check_sortie_airspace(rep: Report, where: str, f: str, airspace: Airspace, x, y, agl) -> None:
    """No leg into a no-fly zone, nor into a restricted zone above its ceiling (at most 5 reported per zone)."""
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


def _check_range_and_speed(rep: Report, where: str, f: str, x, y, lx: float, ly: float, spd, ac, *,
                           max_range) -> None:
    """Every waypoint within ``max_range`` m of the pilot at the launch; written speeds within the aircraft's."""
    dist = np.hypot(x - lx, y - ly)
    far = dist > max_range + 1.0
    if far.any():
        i = int(np.argmax(dist))
        rep.error(f"{where}: waypoint {i} is {dist[i]:.0f} m from the pilot, beyond the {max_range:g} m range",
                  file=f, row=i, field="lon/lat")
    fast = spd > ac.max_speed_m_s
    for i in np.nonzero(fast)[0][:3]:
        rep.error(f"{where} waypoint {i}: speed {spd[i]:g} m/s exceeds the {ac.name} maximum {ac.max_speed_m_s:g} m/s",
                  file=f, row=int(i), field="speed_m_s")


def _check_battery(rep: Report, where: str, f: str, s: dict, ac, x, y, w: _Waypoints, wind: dict, *,
                   reserve) -> None:
    """The sortie's energy and airspeeds, recomputed from the written waypoints, against the battery and limits."""
    wx = np.concatenate([x[:1], x])
    wy = np.concatenate([y[:1], y])
    wz = np.concatenate([[0.0], w.agl])
    wv = np.concatenate([w.spd[:1], w.spd])
    wh = np.concatenate([[0.0], w.hold])
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


def _legs_off_dem(x, y, area, crs) -> bool:
    px, py, _, _ = _sample_legs(x, y, np.zeros(len(x)), LEG_SAMPLE_M)
    plon, plat = _to_lonlat(px, py, crs)
    return bool((~np.isfinite(np.asarray(area.elevation_m(plon, plat), float))).any())


def _check_heights(rep, where, f, x, y, amsl, agl, true_agl, ground, act, area, crs, *, cap, unknown_wp, flat):
    """True heights at the waypoints and every 20 m along the legs: consistent, under the cap, above the minima."""
    bad = np.abs(true_agl - agl) > HEIGHT_TOL_M + 0.5
    for i in np.nonzero(bad)[0][:5]:
        rep.error(f"{where} waypoint {i}: alt_amsl_m {amsl[i]:.1f} minus ground {ground[i]:.1f} = "
                  f"{true_agl[i]:.1f} m disagrees with alt_agl_m {agl[i]:.1f}", file=f, row=int(i), field="alt_amsl_m")
    over = true_agl > cap + HEIGHT_TOL_M
    for i in np.nonzero(over)[0][:5]:
        rep.error(f"{where} waypoint {i}: {true_agl[i]:.1f} m above ground exceeds the {cap:g} m cap",
                  file=f, row=int(i), field="alt_agl_m")
    inner = ~np.isin(act, ["takeoff", "land"])
    low = inner & (true_agl < MIN_WAYPOINT_AGL_M - HEIGHT_TOL_M)
    for i in np.nonzero(low)[0][:5]:
        rep.error(f"{where} waypoint {i}: {true_agl[i]:.1f} m above ground is below the {MIN_WAYPOINT_AGL_M:g} m minimum",
                  file=f, row=int(i), field="alt_agl_m")
    # along legs (take-off climbs vertically from the launch; landing descends vertically)
    px, py, pz_amsl, leg = _sample_legs(x, y, amsl, LEG_SAMPLE_M)
    plon, plat = _to_lonlat(px, py, crs)
    pg = np.asarray(area.elevation_m(plon, plat), float)
    unknown_leg = ~np.isfinite(pg)
    if unknown_leg.any() and not flat:
        rep.error(f"{where}: the DEM does not cover parts of legs {', '.join(map(str, np.unique(leg[unknown_leg])[:5]))}, "
                  f"so their height above ground cannot be checked — {NO_DEM_HELP}", file=f, field="alt_amsl_m")
    pg = np.where(unknown_leg, np.interp(leg, np.arange(len(ground)), ground), pg)
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
