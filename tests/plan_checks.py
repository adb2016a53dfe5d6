"""Independent checks of a written drone sortie: airspeed in the wind, battery, range (a test helper).

Used by the property tests (tests/test_drone_properties.py) and the 10 000-scenario benchmark
(benchmarks/bench_safety.py). Everything is recomputed from the sortie *as written*
(``DronePlan.to_dict()["sorties"][k]``: lon/lat, heights AMSL, speeds, holds), the area's ground,
the scenario's wind and the aircraft's published profile — none of the planner's code is called
(not ``_legs_in_wind``, ``cap_ground_speeds`` nor ``path_cost``): the wind profile and the energy
model are transcribed here from their documentation (ISC3 power law; the model in the docstring of
``missions/drone/aircraft.py``), so a slip in the planner's shared geometry shows as a disagreement.

* **airspeed**: on every leg with horizontal motion, the air velocity is the ground velocity
  (the written speed along the leg: autopilots hold ground speed) minus the wind vector at the
  leg's *highest* true height above the ground (the strongest wind the leg meets; the planner
  works with the mean height and a 0.5 m/s margin). It must not exceed the aircraft's maximum.
* **battery**: the energy of the written path (from the ground at the launch point), within
  ``1 − reserve`` of the battery.
* **range**: every waypoint within the pilot's range of the written launch site.
"""

from __future__ import annotations

import math

import numpy as np

from ecopatrol.core.crs import lonlat_to_xy

# ISC3 rural wind-profile exponents by Pasquill stability class (the 10 m wind to height h:
# u(h) = u10 · (max(h, 10) / 10) ** p)
ISC3_RURAL_P = {"A": 0.07, "B": 0.07, "C": 0.10, "D": 0.15, "E": 0.35, "F": 0.55}
# constants of the documented energy model (missions/drone/aircraft.py docstring)
G = 9.80665
TURN_ACCEL = 2.0
CLIMB_EFF = 0.5
DESCENT_RATIO = 0.85
K_AIR = 0.5
AIRSPEED_TOL_M_S = 1e-3  # the written speeds are rounded to 0.01 m/s
BATTERY_TOL = 5e-4  # of a battery (~1 s of flight): written heights are rounded to 0.01 m, and the
# climb energy of a hover pattern's many small steps adds that rounding up (≤ 1e-4 of the energy seen)


def wind_speed_at(u10: float, height_m, stability: str):
    return u10 * (np.maximum(np.asarray(height_m, float), 10.0) / 10.0) ** ISC3_RURAL_P[stability or "D"]


def wind_vector_at(from_deg: float, u10: float, height_m, stability: str):
    """(wx, wy) the wind blows *toward*, at ``height_m`` (east, north components)."""
    s = wind_speed_at(u10, height_m, stability)
    toward = math.radians(from_deg + 180.0)
    return s * math.sin(toward), s * math.cos(toward)


def written_sortie(sd: dict, area) -> dict:
    """Arrays of a written sortie in the area's metric CRS: x, y, true height above the DEM, speed, hold."""
    w = sd["waypoints"]
    lon = np.array([p["lon"] for p in w], float)
    lat = np.array([p["lat"] for p in w], float)
    crs = area.metric_crs
    x, y = lonlat_to_xy(lon, lat, crs)
    hx, hy = lonlat_to_xy(np.array([sd["launch"]["lon"]]), np.array([sd["launch"]["lat"]]), crs)
    amsl = np.array([p["alt_amsl_m"] for p in w], float)
    return {"x": np.asarray(x, float), "y": np.asarray(y, float), "agl": amsl - area.elevation_m(lon, lat),
            "v": np.array([p["speed_m_s"] for p in w], float), "hold": np.array([p["hold_s"] for p in w], float),
            "home": (float(hx[0]), float(hy[0]))}


def leg_airspeeds(ws: dict, *, from_deg: float, wind_m_s: float, stability: str) -> np.ndarray:
    """Air speed (m/s) needed on each leg k→k+1 at the written ground speed ``v[k+1]``; NaN for vertical legs."""
    x, y, z, v = ws["x"], ws["y"], ws["agl"], ws["v"]
    dx, dy = np.diff(x), np.diff(y)
    length = np.hypot(dx, dy)
    top = np.maximum(z[:-1], z[1:])
    wx, wy = wind_vector_at(from_deg, wind_m_s, top, stability)
    out = np.full(len(length), np.nan)
    moving = length > 0.01
    gx = v[1:][moving] * dx[moving] / length[moving]
    gy = v[1:][moving] * dy[moving] / length[moving]
    out[moving] = np.hypot(gx - wx[moving], gy - wy[moving])
    return out


def airspeed_problems(sd: dict, area, aircraft, *, from_deg: float, wind_m_s: float, stability: str) -> list[str]:
    ws = written_sortie(sd, area)
    bad = []
    fast = np.nonzero(ws["v"] > aircraft.max_speed_m_s + AIRSPEED_TOL_M_S)[0]
    if len(fast):
        bad.append(f"{sd['sortie_id']} waypoint {fast[0]}: ground speed {ws['v'][fast[0]]:g} m/s over the "
                   f"{aircraft.max_speed_m_s:g} m/s maximum")
    air = leg_airspeeds(ws, from_deg=from_deg, wind_m_s=wind_m_s, stability=stability)
    over = np.nonzero(np.nan_to_num(air) > aircraft.max_speed_m_s + AIRSPEED_TOL_M_S)[0]
    if len(over):
        k = int(over[np.argmax(air[over])])
        bad.append(f"{sd['sortie_id']} leg {k}→{k + 1}: needs {air[k]:.2f} m/s airspeed in a {wind_m_s:.1f} m/s "
                   f"wind, over the {aircraft.max_speed_m_s:g} m/s maximum ({len(over)} leg(s))")
    return bad


def _power_w(ac, air):
    """Electrical power at air speed ``air`` (the documented model, transcribed)."""
    p_be = ac.battery_wh * 3600.0 / ac.rated_endurance_s
    payload = ((ac.mass_kg + ac.payload_kg) / ac.mass_kg) ** 1.5
    return p_be * payload * (1.0 + K_AIR * ((np.asarray(air, float) - ac.best_endurance_speed_m_s)
                                            / ac.max_speed_m_s) ** 2)


def sortie_energy_j(ws: dict, ac, *, from_deg: float, wind_m_s: float, stability: str) -> float:
    """Energy (J) of flying the written sortie from the ground at its first waypoint (take-off climb)."""
    x = np.r_[ws["x"][:1], ws["x"]]
    y = np.r_[ws["y"][:1], ws["y"]]
    z = np.r_[0.0, ws["agl"]]
    v = np.maximum(np.r_[ws["v"][:1], ws["v"]][1:], 0.5)
    hold = np.r_[0.0, ws["hold"]][1:]
    dx, dy, dz = np.diff(x), np.diff(y), np.diff(z)
    length = np.hypot(dx, dy)
    mid = np.maximum(0.5 * (z[1:] + z[:-1]), 2.0)  # the model takes each leg's wind at its mean height
    wx, wy = wind_vector_at(from_deg, wind_m_s, mid, stability)
    w = np.hypot(wx, wy)
    heading = np.zeros(len(length))
    air = w.copy()
    for k in np.nonzero(length > 0)[0]:
        ux, uy = dx[k] / length[k], dy[k] / length[k]
        heading[k] = math.atan2(uy, ux)
        air[k] = math.hypot(v[k] * ux - wx[k], v[k] * uy - wy[k])
    climb, desc = np.maximum(dz, 0.0), np.maximum(-dz, 0.0)
    p_wind = _power_w(ac, w)
    e = (_power_w(ac, air) * length / v + p_wind * climb / ac.climb_speed_m_s
         + (ac.mass_kg + ac.payload_kg) * G * climb / CLIMB_EFF + DESCENT_RATIO * p_wind * desc / ac.descent_speed_m_s)
    # a stop-and-go at each turn between two moving legs, hovered in the wind; holds likewise
    turn = np.zeros(len(length))
    for k in range(len(length) - 1):
        if length[k] > 0 and length[k + 1] > 0:
            dh = abs((heading[k + 1] - heading[k] + math.pi) % (2 * math.pi) - math.pi)
            turn[k] = 2 * v[k] / TURN_ACCEL * dh / math.pi
    return float(np.sum(e + p_wind * (turn + hold)))


def battery_problems(sd: dict, area, ac, *, reserve: float, from_deg: float, wind_m_s: float,
                     stability: str) -> list[str]:
    frac = sortie_energy_j(written_sortie(sd, area), ac, from_deg=from_deg, wind_m_s=wind_m_s,
                           stability=stability) / (ac.battery_wh * 3600.0)
    if frac > 1.0 - reserve + BATTERY_TOL:
        return [f"{sd['sortie_id']}: needs {frac:.2%} of a battery, more than {1 - reserve:.0%} with a "
                f"{reserve:.0%} reserve"]
    return []


def range_problems(sd: dict, area, max_range_m: float) -> list[str]:
    ws = written_sortie(sd, area)
    dist = np.hypot(ws["x"] - ws["home"][0], ws["y"] - ws["home"][1])
    if dist.max() > max_range_m + 1.0:
        return [f"{sd['sortie_id']}: waypoint {int(np.argmax(dist))} is {dist.max():.0f} m from the pilot, "
                f"beyond {max_range_m:.0f} m"]
    return []


def sortie_problems(sd: dict, area, ac, *, reserve: float, max_range_m: float, from_deg: float, wind_m_s: float,
                    stability: str) -> list[str]:
    """Every airspeed, battery and range problem of one written sortie (empty when it is safe)."""
    kw = dict(from_deg=from_deg, wind_m_s=wind_m_s, stability=stability)
    return (airspeed_problems(sd, area, ac, **kw) + battery_problems(sd, area, ac, reserve=reserve, **kw)
            + range_problems(sd, area, max_range_m))
