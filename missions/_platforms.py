"""The simulator's platforms: a drone sortie or a van route as a motion profile on a timeline, and
its state (position, heights, speed, heading) at any time. Private plumbing of
:mod:`ecopatrol.missions.simulate`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecopatrol.core import settings
from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat

from . import _instruments as ins
from . import _world as wd

VAN_INLET_AGL_M = settings.GROUND_INLET_AGL_M
VAN_ANTENNA_AGL_M = 2.5


def _file_id(value) -> str:
    """A mission id that names raw files (``S01.tlog``): refused if it could leave the output folder."""
    from .drone._safe import safe_stem

    return safe_stem(value, what="mission id")


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


@dataclass
class _Platform:
    kind: str  # "drone" | "van"
    mission_id: str
    profile: ins.Profile
    home_amsl_m: float
    inlet_agl_m: float | None  # fixed inlet height (van); None = the drone's own height
    battery_fraction: float = 0.6


def _ground_m(area, lon, lat, fallback: float) -> np.ndarray:
    lon = np.asarray(lon, float)
    try:
        g = np.asarray(area.elevation_m(lon, lat), float)
    except Exception:  # noqa: BLE001 - a missing or unreadable DEM means flat ground
        g = np.full(lon.shape, np.nan)
    return np.where(np.isfinite(g), g, fallback)


def _drone_platform(area, sortie: dict, t_start_s: float) -> _Platform:
    crs = area.metric_crs
    wps = sortie["waypoints"]
    launch = sortie.get("launch") or {}
    lon = np.array([float(w["lon"]) for w in wps])
    lat = np.array([float(w["lat"]) for w in wps])
    agl = np.array([float(w["alt_agl_m"]) for w in wps])
    amsl = np.array([float(w["alt_amsl_m"]) if _finite(w.get("alt_amsl_m")) else np.nan for w in wps])
    l_lon = float(launch["lon"]) if _finite(launch.get("lon")) else lon[0]
    l_lat = float(launch["lat"]) if _finite(launch.get("lat")) else lat[0]
    if _finite(launch.get("ground_amsl_m")):
        home = float(launch["ground_amsl_m"])
    else:
        home = float(_ground_m(area, [l_lon], [l_lat], 0.0)[0])
    ground = np.where(np.isfinite(amsl), amsl - agl, _ground_m(area, lon, lat, home))
    amsl = np.where(np.isfinite(amsl), amsl, ground + agl)
    x, y = lonlat_to_xy(np.concatenate([[l_lon], lon]), np.concatenate([[l_lat], lat]), crs)
    z = np.concatenate([[home], amsl])
    speed = np.array([float(w.get("speed_m_s") or 0) for w in wps])
    hold = np.concatenate([[0.0], [float(w.get("hold_s") or 0) for w in wps]])
    if agl[-1] > 0.5:  # land where the last waypoint is
        x, y = np.append(x, x[-1]), np.append(y, y[-1])
        z = np.append(z, ground[-1])
        speed = np.append(speed, DRONE_DESCENT_DEFAULT)
        hold = np.append(hold, 0.0)
    P = np.column_stack([x, y, z])
    seg = np.diff(P, axis=0)
    horiz = np.hypot(seg[:, 0], seg[:, 1])
    dz = seg[:, 2]
    d3 = np.sqrt(horiz**2 + dz**2)
    v = np.where(speed > 0, speed, 5.0)
    rate = np.where(dz > 0, ins.DRONE_CLIMB_M_S, ins.DRONE_DESCENT_M_S)
    with np.errstate(divide="ignore", invalid="ignore"):
        vmax_vert = np.where(np.abs(dz) > 1e-3, rate * d3 / np.abs(dz), np.inf)
    prof = ins.build_profile(P, np.minimum(v, vmax_vert), hold, t_start_s=t_start_s,
                             accel_m_s2=ins.DRONE_ACCEL_M_S2, corner="drone")
    bf = sortie.get("battery_fraction")
    return _Platform("drone", _file_id(sortie.get("sortie_id", "S01")), prof, home, None,
                     float(bf) if _finite(bf) and float(bf) > 0 else 0.6)


DRONE_DESCENT_DEFAULT = 2.0


def _van_platform(area, route: dict, t_start_s: float, seed: int) -> _Platform:
    crs = area.metric_crs
    path = np.asarray(route["path"], float)[:, :2]
    x, y = lonlat_to_xy(path[:, 0], path[:, 1], crs)
    fallback = float(np.nanmedian(_ground_m(area, path[:, 0], path[:, 1], np.nan))) \
        if np.isfinite(_ground_m(area, path[:, 0], path[:, 1], np.nan)).any() else 0.0
    ground = _ground_m(area, path[:, 0], path[:, 1], fallback)
    P = np.column_stack([x, y, ground + VAN_ANTENNA_AGL_M])
    n = len(P)
    seg_speed = np.full(n - 1, ins.VAN_TRANSIT_SPEED_M_S)
    for leg in route.get("legs") or []:
        a, b = int(leg["start_idx"]), int(leg["end_idx"])
        if b > a and _finite(leg.get("speed_m_s")) and float(leg["speed_m_s"]) > 0:
            seg_speed[a:b] = float(leg["speed_m_s"])
    rng = wd.rng_for(seed, f"van-lights-{route.get('route_id')}")
    holds = ins.traffic_light_holds(P, rng)
    prof = ins.build_profile(P, seg_speed, holds, t_start_s=t_start_s, accel_m_s2=ins.VAN_ACCEL_M_S2,
                             corner="van")
    return _Platform("van", _file_id(route.get("route_id", "R01")), prof, float(ground[0]), VAN_INLET_AGL_M)


def _platform_state(area, plat: _Platform, t_s: np.ndarray) -> pd.DataFrame:
    """True state of a platform at times ``t_s``: metric and WGS-84 positions, heights, velocity."""
    pos, vel = plat.profile.state(t_s)
    lon, lat = xy_to_lonlat(pos[:, 0], pos[:, 1], area.metric_crs)
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if plat.kind == "van":
        ground = pos[:, 2] - VAN_ANTENNA_AGL_M
        inlet_agl = np.full(len(t_s), VAN_INLET_AGL_M)
        alt_amsl = ground + VAN_INLET_AGL_M
    else:
        ground = _ground_m(area, lon, lat, plat.home_amsl_m)
        alt_amsl = pos[:, 2]
        inlet_agl = np.maximum(alt_amsl - ground, 0.0)
    return pd.DataFrame({
        "x_m": pos[:, 0], "y_m": pos[:, 1], "lon": lon, "lat": lat, "alt_amsl_m": alt_amsl,
        "alt_agl_m": inlet_agl, "ground_amsl_m": ground, "vel_e_m_s": vel[:, 0], "vel_n_m_s": vel[:, 1],
        "vel_u_m_s": vel[:, 2], "speed_m_s": np.hypot(vel[:, 0], vel[:, 1]),
    })


def _heading_deg(df: pd.DataFrame) -> np.ndarray:
    h = pd.Series(np.where(df["speed_m_s"].to_numpy() > 0.3,
                           np.degrees(np.arctan2(df["vel_e_m_s"], df["vel_n_m_s"])) % 360.0, np.nan))
    return h.ffill().bfill().fillna(0.0).to_numpy()
