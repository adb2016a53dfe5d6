"""Property tests over random scenarios: zones, winds, patterns, aircraft, reserves, height caps.

For every plan the planner produces (it may also refuse with a PlanningError naming the reason):
no leg enters a no-fly zone (nor a restricted zone above its ceiling), every height is within
limits, no leg needs more airspeed in the wind at its height than the aircraft has, every sortie
fits its battery minus the reserve and stays within the pilot's range — each checked here directly
with shapely and tests/plan_checks.py (its own wind profile and energy model) on the written plan,
independently of the planner's code.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, UTC

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from ecopatrol.core.crs import xy_to_lonlat
from ecopatrol.core.errors import PlanningError
from ecopatrol.core.weather import Wind
from ecopatrol.missions.drone import get_aircraft, plan_drone
from drone_support import toy_area
from plan_checks import sortie_problems

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
BASE = toy_area(n_enterprises=6, spread_m=700.0, seed=11, launch_xy_m=[(-1100.0, 0.0), (1100.0, 300.0)])
CRS = BASE.metric_crs
CX, CY = 0.0, 0.0
_c = BASE.centre


def _centre_xy():
    from ecopatrol.core.crs import lonlat_to_xy

    x, y = lonlat_to_xy(np.array([_c[0]]), np.array([_c[1]]), CRS)
    return float(x[0]), float(y[0])


CX, CY = _centre_xy()


def zone_frame(zones) -> gpd.GeoDataFrame:
    rows = []
    for k, (x, y, hx, hy, rot, ceiling) in enumerate(zones):
        poly = shapely.affinity.rotate(Polygon([(x - hx, y - hy), (x + hx, y - hy), (x + hx, y + hy), (x - hx, y + hy)]),
                                       rot, origin=(x, y))
        xy = np.asarray(poly.exterior.coords)
        lon, lat = xy_to_lonlat(xy[:, 0] + CX, xy[:, 1] + CY, CRS)
        rows.append({"zone_id": f"Z{k}", "name": f"zone {k}", "kind": "no-fly" if math.isnan(ceiling) else "restricted",
                     "ceiling_m": ceiling, "geometry": Polygon(np.column_stack([lon, lat]))})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


zone_st = st.tuples(st.floats(-900, 900), st.floats(-600, 600), st.floats(40, 250), st.floats(40, 250),
                    st.floats(0, 90), st.sampled_from([math.nan, math.nan, 30.0, 60.0]))
scenario_st = st.fixed_dictionaries({
    "zones": st.lists(zone_st, min_size=0, max_size=2),
    "targets": st.lists(st.sampled_from(list(BASE.enterprises["enterprise_id"])), min_size=1, max_size=2, unique=True),
    "from_deg": st.floats(0, 359.9),
    "speed_m_s": st.floats(0.5, 7.0),
    "pattern": st.sampled_from(["curtain", "orbit", "profile", "survey", "hover"]),
    "aircraft": st.sampled_from(["m350", "m300", "m30", "m3e", "mavlink"]),
    "reserve": st.floats(0.2, 0.5),
    "alt_max": st.floats(60.0, 120.0),
})


def check_plan(plan, area, sc) -> None:
    zones = area.nofly.to_crs(CRS) if len(area.nofly) else area.nofly
    ac = get_aircraft(sc["aircraft"])
    d = plan.to_dict()
    for s, sd in zip(plan.sorties, d["sorties"]):
        w = s.waypoints
        x, y, z = w["x_m"].to_numpy(), w["y_m"].to_numpy(), w["alt_agl_m"].to_numpy()
        act = w["action"].to_numpy()
        # heights: ≤ cap everywhere, ≥ 10 m away from take-off and landing; AMSL = DEM + AGL
        assert z.max() <= sc["alt_max"] + 1e-6
        inner = ~np.isin(act, ["takeoff", "land"])
        assert z[inner].min() >= 10.0 - 1e-6
        ground = area.elevation_m(w["lon"].to_numpy(), w["lat"].to_numpy())
        np.testing.assert_allclose(w["alt_amsl_m"].to_numpy(), ground + z, atol=0.05)
        # no leg enters a no-fly zone, nor a restricted zone above its ceiling
        lines = shapely.linestrings(np.stack([np.column_stack([x[:-1], y[:-1]]), np.column_stack([x[1:], y[1:]])], 1))
        leg_top = np.maximum(z[:-1], z[1:])
        for geom, ceiling in zip(zones.geometry, zones["ceiling_m"]) if len(zones) else []:
            hit = shapely.intersects(lines, geom)
            if math.isnan(ceiling):
                assert not hit.any(), f"{s.sortie_id} enters a no-fly zone"
            else:
                assert not (hit & (leg_top > ceiling + 1e-6)).any(), f"{s.sortie_id} above a ceiling"
        # airspeed in the wind at each leg's height, battery minus reserve, range: recomputed from the
        # written sortie (tests/plan_checks.py: its own wind profile and energy model, no planner code)
        problems = sortie_problems(sd, area, ac.with_payload(plan.aircraft.payload_kg), reserve=sc["reserve"],
                                   max_range_m=plan.max_range_m, from_deg=sc["from_deg"], wind_m_s=sc["speed_m_s"],
                                   stability=d["wind"]["stability"])
        assert not problems, problems


@settings(max_examples=520, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenario_st)
def test_random_scenarios_respect_hard_limits(sc):
    area = dataclasses.replace(BASE, nofly=zone_frame(sc["zones"]) if sc["zones"] else BASE.nofly)
    try:
        plan = plan_drone(area, sc["targets"], Wind(sc["from_deg"], sc["speed_m_s"]), pattern=sc["pattern"],
                          aircraft=sc["aircraft"], reserve=sc["reserve"], alt_max_agl_m=sc["alt_max"],
                          created_utc=T0, time_limit_s=1.0)
    except PlanningError as exc:
        # a refusal must say why (zone enclosing a point, range, battery)
        assert "no sortie could be planned" in str(exc) or "no clear path" in str(exc) or "launch site" in str(exc)
        event("refused")
        return
    event("planned with zones" if sc["zones"] else "planned without zones")
    covered = {t for s in plan.sorties for t in s.targets} | {d["target_id"] for d in plan.targets_dropped}
    assert covered == set(sc["targets"])
    check_plan(plan, area, sc)


# ---------------------------------------------------------------------------------------
# feasible by construction: a planner that refuses every scenario must not pass
# ---------------------------------------------------------------------------------------

def _targets_near_launch(max_m: float = 1200.0) -> list[str]:
    from ecopatrol.core.crs import lonlat_to_xy

    e = BASE.enterprises
    ex, ey = lonlat_to_xy(e.geometry.x.to_numpy(), e.geometry.y.to_numpy(), CRS)
    lx, ly = lonlat_to_xy(BASE.launch_sites.geometry.x.to_numpy(), BASE.launch_sites.geometry.y.to_numpy(), CRS)
    d = np.hypot(ex[:, None] - lx[None, :], ey[:, None] - ly[None, :]).min(axis=1)
    return [eid for eid, dist in zip(e["enterprise_id"], d) if dist <= max_m]


NEAR = _targets_near_launch()

feasible_st = st.fixed_dictionaries({
    "zones": st.lists(zone_st, min_size=0, max_size=3),
    "targets": st.lists(st.sampled_from(NEAR), min_size=1, max_size=1),
    "from_deg": st.floats(0, 359.9),
    "speed_m_s": st.floats(0.5, 6.0),
    "pattern": st.sampled_from(["curtain", "hover"]),
    "aircraft": st.sampled_from(["m350", "m300"]),
    "reserve": st.floats(0.2, 0.35),
    "alt_max": st.floats(80.0, 120.0),
})


def _clear_zones(zones, target_id):
    """Only the zones clear (by 300 m) of the launch sites and of the way from the nearest one to the target."""
    from shapely.geometry import LineString, Point

    from ecopatrol.core.crs import lonlat_to_xy

    e = BASE.enterprises.set_index("enterprise_id").loc[target_id]
    tx, ty = lonlat_to_xy(np.array([e.geometry.x]), np.array([e.geometry.y]), CRS)
    lx, ly = lonlat_to_xy(BASE.launch_sites.geometry.x.to_numpy(), BASE.launch_sites.geometry.y.to_numpy(), CRS)
    j = int(np.argmin(np.hypot(lx - tx[0], ly - ty[0])))
    keep_out = LineString([(lx[j], ly[j]), (tx[0], ty[0])]).buffer(300.0)
    for a, b in zip(lx, ly):
        keep_out = keep_out.union(Point(a, b).buffer(300.0))
    out = []
    for z in zones:
        x, y, hx, hy, rot, _ = z
        poly = shapely.affinity.rotate(Polygon([(x - hx, y - hy), (x + hx, y - hy), (x + hx, y + hy), (x - hx, y + hy)]),
                                       rot, origin=(x, y))
        poly = shapely.affinity.translate(poly, CX, CY)
        if not poly.intersects(keep_out):
            out.append(z)
    return out


def test_near_targets_exist():
    assert len(NEAR) >= 2, "the base area must have targets a crew could reach"


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(feasible_st)
def test_feasible_scenarios_are_planned(sc):
    """Built feasible (one target ≤ 1.2 km from a launch site, zones clear of the way, a big aircraft,
    moderate wind, cap ≥ 80 m): the planner must plan it — refusing is a failure here — and the plan
    must keep every hard limit."""
    zones = _clear_zones(sc["zones"], sc["targets"][0])
    area = dataclasses.replace(BASE, nofly=zone_frame(zones) if zones else BASE.nofly)
    sc = {**sc, "zones": zones}
    plan = plan_drone(area, sc["targets"], Wind(sc["from_deg"], sc["speed_m_s"]), pattern=sc["pattern"],
                      aircraft=sc["aircraft"], reserve=sc["reserve"], alt_max_agl_m=sc["alt_max"],
                      created_utc=T0, time_limit_s=1.0)
    assert plan.sorties and {t for s in plan.sorties for t in s.targets} == set(sc["targets"])
    event("planned with zones" if zones else "planned without zones")
    check_plan(plan, area, sc)
