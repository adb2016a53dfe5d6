"""A tiny known Gaussian-plume world for the evidence tests (built on core.dispersion).

Enterprises on a small grid west of two crosswind van roads, a few hidden emitters, a steady
wind, 1 Hz van passes and optional drone curtains; concentrations are background + plumes +
seeded noise. Coordinates: metres in UTM 51N around (120.45, 36.39), returned as WGS-84.
"""

from __future__ import annotations


import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat
from ecopatrol.core.dispersion import effective_height_m, unit_concentration_matrix
from area_support import MemoryArea

CRS_M = CRS.from_epsg(32651)
X0, Y0 = (float(v) for v in lonlat_to_xy(120.45, 36.39, CRS_M))
T0 = pd.Timestamp("2026-05-12T02:00:00Z")


#: The evidence tests' area (a :class:`MemoryArea`: the fields the evidence code reads).
FakeArea = MemoryArea


def make_area(n_side: int = 3, spacing_m: float = 300.0, *, positive=(), violations=None) -> FakeArea:
    """``n_side``² enterprises E00..E{n}, one 20 m stack each (no exit data: no plume rise)."""
    n = n_side * n_side
    ix, iy = np.divmod(np.arange(n), n_side)
    x = X0 + ix * spacing_m
    y = Y0 + (iy - (n_side - 1) / 2) * spacing_m
    lon, lat = xy_to_lonlat(x, y, CRS_M)
    ids = [f"E{i:02d}" for i in range(n)]
    ent = gpd.GeoDataFrame({
        "enterprise_id": ids, "name": [f"Firm {i}" for i in range(n)],
        "industry": ["packaging printing" if i % 2 else "machinery" for i in range(n)],
        "positive_list": [i in positive for i in ids],
        "last_inspected": pd.to_datetime(["2025-01-01"] * n),
        "violations_3y": violations if violations is not None else [0] * n,
        "site_radius_m": 60.0,
    }, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    src = gpd.GeoDataFrame({
        "source_id": [f"{e}-S1" for e in ids], "enterprise_id": ids, "height_m": 20.0,
        "diameter_m": np.nan, "exit_velocity_m_s": np.nan, "exit_temp_k": np.nan,
    }, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    return FakeArea(enterprises=ent, sources=src, name="test",
                    config={"defaults": {"wind_from_deg": 270.0, "wind_speed_m_s": 4.0, "stability": "D"}},
                    metric_crs=CRS_M)


def plume_conc(area: FakeArea, emitters: dict[str, float], x, y, z, *, wind_from_deg: float,
               wind_speed_m_s: float, stability: str = "D") -> np.ndarray:
    """Sum of the emitters' plumes (µg/m³) at metric receptors."""
    s = area.sources.set_index("source_id").loc[list(emitters)]
    sx, sy = lonlat_to_xy(s.geometry.x.to_numpy(), s.geometry.y.to_numpy(), CRS_M)
    h, u = effective_height_m(s["height_m"].to_numpy(float), wind_speed_m_s, stability,
                              exit_velocity_m_s=s["exit_velocity_m_s"].to_numpy(float),
                              diameter_m=s["diameter_m"].to_numpy(float),
                              exit_temp_k=s["exit_temp_k"].to_numpy(float), x_m=2000.0)
    a = unit_concentration_matrix(x, y, z, sx, sy, h, u, wind_from_deg, stability)
    return a @ np.array(list(emitters.values()), float)


def van_samples(area: FakeArea, emitters: dict[str, float], *, road_x_m=(1400.0, 2200.0), passes: int = 2,
                wind_from_deg: float = 270.0, wind_speed_m_s: float = 4.0, stability: str = "D",
                bg: float = 20.0, noise_sd: float = 1.0, half_len_m: float = 1500.0, speed_m_s: float = 8.0,
                seed: int = 0, measured_wind: bool = True) -> gpd.GeoDataFrame:
    """Van passes along north–south roads east of the enterprises (1 Hz, inlet 2.5 m AGL)."""
    rng = np.random.default_rng(seed)
    frames = []
    t = T0
    for p in range(passes):
        for r, rx in enumerate(road_x_m):
            yy = np.arange(-half_len_m, half_len_m, speed_m_s)
            if (p + r) % 2:
                yy = yy[::-1]
            x = np.full(len(yy), X0 + rx)
            y = Y0 + yy
            c = bg + plume_conc(area, emitters, x, y, np.full(len(x), 2.5), wind_from_deg=wind_from_deg,
                                wind_speed_m_s=wind_speed_m_s, stability=stability)
            c = c + rng.normal(0, noise_sd, len(c))
            lon, lat = xy_to_lonlat(x, y, CRS_M)
            frames.append(pd.DataFrame({
                "time_utc": t + pd.to_timedelta(np.arange(len(x)), unit="s"),
                "platform_id": "van1", "platform_kind": "van", "mission_id": "R01", "pass_id": p * len(road_x_m) + r + 1,
                "lon": lon, "lat": lat, "alt_amsl_m": 12.5, "alt_agl_m": 2.5, "speed_m_s": speed_m_s,
                "tvoc_ugm3": c, "wind_from_deg": wind_from_deg if measured_wind else np.nan,
                "wind_speed_m_s": wind_speed_m_s if measured_wind else np.nan, "qa_flags": "",
            }))
            t = t + pd.Timedelta(seconds=len(x) + 120)
    df = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


def curtain_samples(area: FakeArea, emitters: dict[str, float], *, centre_xy_m, half_width_m: float = 250.0,
                    levels_m=(10, 20, 30, 40, 50, 60, 70, 80), wind_from_deg: float = 270.0,
                    wind_speed_m_s: float = 4.0, stability: str = "D", bg: float = 20.0,
                    noise_sd: float = 0.5, spacing_m: float = 4.0, sortie: str = "S01",
                    seed: int = 0) -> gpd.GeoDataFrame:
    """A drone curtain: horizontal passes at ``levels_m`` AGL on a crosswind plane through
    ``centre_xy_m`` (metres relative to the world origin), 1 sample every ``spacing_m``."""
    rng = np.random.default_rng(seed)
    t_rad = np.radians(wind_from_deg)
    down = np.array([-np.sin(t_rad), -np.cos(t_rad)])
    cross = np.array([-down[1], down[0]])
    s = np.arange(-half_width_m, half_width_m + 1e-9, spacing_m)
    frames = []
    t = T0
    for k, z in enumerate(levels_m):
        ss = s if k % 2 == 0 else s[::-1]
        x = X0 + centre_xy_m[0] + ss * cross[0]
        y = Y0 + centre_xy_m[1] + ss * cross[1]
        c = bg + plume_conc(area, emitters, x, y, np.full(len(x), float(z)), wind_from_deg=wind_from_deg,
                            wind_speed_m_s=wind_speed_m_s, stability=stability)
        c = c + rng.normal(0, noise_sd, len(c))
        lon, lat = xy_to_lonlat(x, y, CRS_M)
        frames.append(pd.DataFrame({
            "time_utc": t + pd.to_timedelta(np.arange(len(x)) * spacing_m / 4.0, unit="s"),
            "platform_id": "drone1", "platform_kind": "drone", "mission_id": sortie, "pass_id": k + 1, "lon": lon, "lat": lat,
            "alt_amsl_m": 10.0 + z, "alt_agl_m": float(z), "speed_m_s": 4.0, "tvoc_ugm3": c,
            "wind_from_deg": np.nan, "wind_speed_m_s": np.nan, "qa_flags": "",
        }))
        t = t + pd.Timedelta(seconds=len(x) * spacing_m / 4.0 + 10)
    df = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


STREETS_M = tuple([((x, 0.0), (x, 1000.0)) for x in (0.0, 200.0, 400.0, 600.0, 800.0)]
                  + [((0.0, y), (800.0, y)) for y in (0.0, 250.0, 500.0, 750.0, 1000.0)])


def street_survey(seed: int = 0, *, noise: str = "white", noise_sd: float = 6.0, bg: float = 80.0,
                  tau_s: float = 20.0, rounds: int = 2, speed_m_s: float = 5.0, plume=None,
                  stop_s: float = 30.0) -> gpd.GeoDataFrame:
    """A van driving a 800 m × 1000 m grid of ten streets ``rounds`` times (one pass per street,
    1 Hz, ``stop_s`` between passes): ``tvoc_ugm3`` = ``bg`` + noise (+ a plume).

    ``noise`` is ``"white"`` (independent N(0, ``noise_sd``)) or ``"correlated"`` (a
    stationary AR(1) process of standard deviation ``noise_sd`` and correlation time ``tau_s``,
    running on through the stops, as a real analyser's noise does). ``plume`` is
    ``((x_m, y_m), peak, width_m)``: a Gaussian enhancement around a point of the grid, seen by
    every pass that drives by it.
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    xs, ys, ts, ps = [], [], [], []
    t = 0.0
    for r in range(rounds):
        for k, (a, b) in enumerate(STREETS_M):
            if (r + k) % 2:
                a, b = b, a
            length = float(np.hypot(b[0] - a[0], b[1] - a[1]))
            s = np.arange(0.0, length, speed_m_s)
            xs.append(a[0] + (b[0] - a[0]) * s / length)
            ys.append(a[1] + (b[1] - a[1]) * s / length)
            ts.append(t + np.arange(len(s)))
            ps.append(np.full(len(s), len(ps) + 1))
            t += len(s) + stop_s
    x, y, tt, pp = (np.concatenate(v) for v in (xs, ys, ts, ps))
    if noise == "white":
        e = rng.normal(0.0, 1.0, len(x))
    elif noise == "correlated":
        phi = float(np.exp(-1.0 / tau_s))
        clock = rng.normal(0.0, 1.0, int(tt.max()) + 1)  # one value a second, stops included
        clock[1:] *= np.sqrt(1.0 - phi * phi)
        e = lfilter([1.0], [1.0, -phi], clock)[tt.astype(int)]
    else:
        raise ValueError(f"noise must be 'white' or 'correlated', not {noise!r}")
    c = bg + noise_sd * e
    if plume is not None:
        (px, py), peak, width = plume
        c = c + peak * np.exp(-0.5 * ((x - px) ** 2 + (y - py) ** 2) / width**2)
    lon, lat = xy_to_lonlat(X0 + x, Y0 + y, CRS_M)
    df = pd.DataFrame({
        "time_utc": T0 + pd.to_timedelta(tt, unit="s"), "platform_id": "van1", "platform_kind": "van", "mission_id": "R01",
        "pass_id": pp, "lon": lon, "lat": lat, "alt_amsl_m": 12.5, "alt_agl_m": 2.5, "speed_m_s": speed_m_s,
        "tvoc_ugm3": c, "qa_flags": "",
    })
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
