"""Inline factories for the simulator tests: a four-enterprise area, a curtain sortie and a van route.

A helper module, not a test module: the test files import it (no test imports another test).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS
from shapely.geometry import Point

from area_support import MemoryArea

M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(36.39))
GROUND_M = 12.0


# ---------------------------------------------------------------------------
# inline factories
# ---------------------------------------------------------------------------

@dataclass(kw_only=True)
class FakeArea(MemoryArea):
    """The simulator's area: a :class:`MemoryArea` on flat ground ``GROUND_M`` high."""

    def elevation_m(self, lon, lat):
        return np.full(np.shape(lon), GROUND_M)


def make_area() -> FakeArea:
    pts = [Point(120.450, 36.390), Point(120.4505, 36.3925), Point(120.4495, 36.3875), Point(120.50, 36.42)]
    ids = ["E1", "E2", "E3", "E4"]
    ent = gpd.GeoDataFrame({"enterprise_id": ids, "name": list("abcd"),
                            "industry": ["packaging printing", "textile dyeing", "chemical", "furniture"],
                            "positive_list": [False, True, False, True]}, geometry=pts, crs=4326)
    src = gpd.GeoDataFrame({"source_id": [f"{i}-S1" for i in ids], "enterprise_id": ids,
                            "height_m": [15.0, 20.0, 25.0, 15.0], "diameter_m": [0.5, 0.6, 0.8, 0.4],
                            "exit_velocity_m_s": [8.0, 10.0, 12.0, 6.0], "exit_temp_k": [303.0, 313.0, 333.0, 290.0],
                            "pollutants": ["VOCs"] * 4}, geometry=pts, crs=4326)
    return FakeArea(enterprises=ent, sources=src, name="test",
                    config={"defaults": {"wind_from_deg": 270, "wind_speed_m_s": 4, "stability": "D"}},
                    metric_crs=CRS.from_epsg(32651))


def _wp(seq, lon, lat, agl, speed, action, hold=0, target=None, pass_id=None):
    return {"seq": seq, "lon": lon, "lat": lat, "alt_agl_m": agl, "alt_amsl_m": agl + GROUND_M,
            "speed_m_s": speed, "action": action, "hold_s": hold, "target_id": target, "pass_id": pass_id}


def drone_plan() -> dict:
    """A curtain 300 m downwind (east) of E1 under a westerly: zigzag N–S at 15…60 m."""
    lon_c = 120.450 + 300 / M_PER_DEG_LON
    wps = [_wp(0, 120.448, 36.389, 30, 3, "takeoff")]
    for k, alt in enumerate([15, 30, 45, 60]):
        for la in ([36.388, 36.392] if k % 2 == 0 else [36.392, 36.388]):
            wps.append(_wp(len(wps), lon_c, la, alt, 4, "sample", target="E1", pass_id=k + 1))
    wps.append(_wp(len(wps), 120.448, 36.389, 30, 8, "transit", hold=5))
    wps.append(_wp(len(wps), 120.448, 36.389, 0, 2, "land"))
    return {"schema": "ecopatrol.plan/1", "kind": "drone", "created_utc": "2026-05-01T00:00:00Z", "area": "test",
            "wind": {"from_deg": 270, "speed_m_s": 4, "stability": "D"},
            "sorties": [{"sortie_id": "S01", "aircraft": "m350",
                         "launch": {"site_id": "L1", "lon": 120.448, "lat": 36.389, "ground_amsl_m": GROUND_M},
                         "waypoints": wps, "distance_m": 0, "duration_s": 0, "battery_fraction": 0.5,
                         "targets": ["E1"]}]}


def van_plan() -> dict:
    """A road 500 m east of E1 driven north at monitoring speed, transit legs either side."""
    lon_r = 120.450 + 500 / M_PER_DEG_LON
    path = [[120.440, 36.380], [lon_r, 36.380]] + [[lon_r, 36.380 + i * 0.001] for i in range(1, 16)]
    path.append([120.440, 36.395])
    legs = [{"leg_id": "R01-1", "kind": "transit", "target_id": None, "pass_no": 1, "start_idx": 0, "end_idx": 1,
             "speed_m_s": 11, "street": "A"},
            {"leg_id": "R01-2", "kind": "monitoring", "target_id": "E1", "pass_no": 1, "start_idx": 1,
             "end_idx": 16, "speed_m_s": 8.33, "street": "B"},
            {"leg_id": "R01-3", "kind": "transit", "target_id": None, "pass_no": 1, "start_idx": 16,
             "end_idx": 17, "speed_m_s": 11, "street": "C"}]
    return {"schema": "ecopatrol.plan/1", "kind": "van", "area": "test",
            "wind": {"from_deg": 270, "speed_m_s": 4, "stability": "D"},
            "routes": [{"route_id": "R01", "depot": {"lon": 120.44, "lat": 36.38}, "path": path,
                        "path_node_ids": list(range(len(path))), "legs": legs, "distance_m": 0, "duration_s": 0,
                        "targets_covered": ["E1"], "targets_dropped": []}]}


def write_plans(root: Path, *, drone: dict | None = None, van: dict | None = None) -> Path:
    for kind, plan in (("drone", drone), ("van", van)):
        if plan is not None:
            (root / kind).mkdir(parents=True, exist_ok=True)
            (root / kind / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    return root


def simulate_field(root: Path, *, seed: int):
    """Plans (one curtain sortie, one van route) simulated into ``root/field``: ``(result, field folder)``."""
    from ecopatrol.missions.simulate import simulate

    plans = write_plans(root / "plans", drone=drone_plan(), van=van_plan())
    return simulate(make_area(), plans, root / "field", seed=seed), root / "field"
