"""Drone planner: patterns, airspace, energy model, sortie splitting, the validator."""

from __future__ import annotations

import copy
import math
from datetime import datetime, UTC
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Polygon

from ecopatrol.core.dispersion import sigmas
from ecopatrol.core.errors import InputError, PlanningError, SafetyError
from ecopatrol.core.weather import Wind
from ecopatrol.missions.drone import get_aircraft, plan_drone, validate_plan, write_drone_plan
from drone_support import toy_area
from ecopatrol.missions.drone.aircraft import path_cost
from ecopatrol.missions.drone.airspace import Airspace, Zone
from ecopatrol.missions.drone.patterns import (
    TargetSite, plan_curtain, plan_hover, plan_orbit, plan_profile, plan_survey, survey_lines, wind_axes)

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def site(**kw) -> TargetSite:
    base = dict(target_id="E1", name="works", x_m=1000.0, y_m=2000.0, site_radius_m=50.0,
                src_x_m=np.array([990.0, 1010.0]), src_y_m=np.array([2000.0, 2010.0]),
                src_height_m=np.array([25.0, 15.0]), src_exit_velocity_m_s=np.array([8.0, 8.0]),
                src_diameter_m=np.array([0.8, 0.8]), src_exit_temp_k=np.array([320.0, 320.0]))
    base.update(kw)
    return TargetSite(**base)


# ---------------------------------------------------------------------------------------
# patterns
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("from_deg", [270.0, 0.0, 45.0, 200.0])
def test_curtain_is_a_plane_across_the_wind_downwind_of_the_stacks(from_deg):
    s = site()
    wind = Wind(from_deg, 4.0, "D")
    b = plan_curtain(s, wind, stability="D")
    d, c = wind_axes(wind)
    samp = b.action == "sample"
    along = b.x_m * d[0] + b.y_m * d[1]
    src_along = s.src_x_m * d[0] + s.src_y_m * d[1]
    # one vertical plane perpendicular to the wind, downwind of every stack by the distance
    assert np.ptp(along[samp]) == pytest.approx(0.0, abs=1e-6)
    assert along[samp][0] - src_along.max() == pytest.approx(b.info["distance_m"], abs=1e-6)
    # wide enough for ±2.5 σy plus margin around the stacks' crosswind spread
    sy, _ = sigmas(b.info["distance_m"], "D")
    across = b.x_m * c[0] + b.y_m * c[1]
    src_across = s.src_x_m * c[0] + s.src_y_m * c[1]
    assert across[samp].min() <= src_across.min() - 2.5 * sy
    assert across[samp].max() >= src_across.max() + 2.5 * sy
    # from ≥10 m to above the predicted plume top, never above the cap, stacked bottom up
    z = b.alt_agl_m[samp]
    assert z.min() >= 10.0
    assert z.max() >= min(b.info["h_eff_m"] + 2.5 * b.info["sigma_z_m"], 118.0) - 1e-6
    assert z.max() <= 120.0
    assert np.all(np.diff(z) >= 0)
    assert np.all(b.speed_m_s[samp] == 3.0)
    # background leg upwind of the stacks
    bg = b.action == "background"
    assert bg.any() and (along[bg] < src_along.min()).all()


def test_curtain_distance_grows_with_stability_and_options_override():
    s = site()
    unstable = plan_curtain(s, Wind(270, 3, "B"), stability="B").info["distance_m"]
    stable = plan_curtain(s, Wind(270, 3, "F"), stability="F").info["distance_m"]
    assert stable > unstable
    b = plan_curtain(s, Wind(270, 3), stability="D", distance_m=333.0, repeats=2, background=False,
                     speed_m_s=2.5)
    assert b.info["distance_m"] == 333.0
    assert "background" not in set(b.action)
    assert b.pass_id.max() == 2 * b.info["levels"]
    assert np.all(b.speed_m_s == 2.5)
    with pytest.raises(InputError, match="at least 10"):
        plan_curtain(s, Wind(270, 3), stability="D", alt_min_agl_m=5.0)


def test_orbit_is_closed_at_standoff_around_site():
    s = site()
    b = plan_orbit(s, Wind(90, 3), stability="D", standoff_m=40.0, heights_agl_m=(20.0, 50.0))
    r = np.hypot(b.x_m - s.x_m, b.y_m - s.y_m)
    assert r == pytest.approx(np.full(len(r), 90.0), abs=1e-6)
    for p in (1, 2):
        m = b.pass_id == p
        assert (b.x_m[m][0], b.y_m[m][0]) == pytest.approx((b.x_m[m][-1], b.y_m[m][-1]))
    assert set(b.alt_agl_m) == {20.0, 50.0}
    # starts downwind (wind from the east blows to the west)
    assert b.x_m[0] < s.x_m - 80


def test_profile_climbs_in_plume_or_upwind():
    s = site()
    wind = Wind(270, 4, "D")
    p = plan_profile(s, wind, stability="D", alt_max_agl_m=80.0)
    assert np.all(np.diff(p.alt_agl_m) > 0) and p.alt_agl_m[0] >= 10 and p.alt_agl_m[-1] <= 80
    assert p.info["centre_xy_m"][0] > s.src_x_m.max()
    bg = plan_profile(s, wind, stability="D", where="background")
    assert set(bg.action) == {"background"} and bg.info["centre_xy_m"][0] < s.src_x_m.min()


def test_survey_picks_fewest_lines_and_entry_corner():
    rect = Polygon([(0, 0), (1000, 0), (1000, 200), (0, 200)])
    pts, ang = survey_lines(rect, spacing_m=50.0, turnaround_m=10.0, entry="sw")
    assert ang % 180 == pytest.approx(0.0, abs=1.0)  # lines along the long side
    assert len(pts) // 2 == 4
    assert pts[0, 0] < 0 and pts[0, 1] < 100  # south-west corner, turnaround outside
    pts_ne, _ = survey_lines(rect, spacing_m=50.0, entry="ne")
    assert pts_ne[0, 0] > 1000 and pts_ne[0, 1] > 100
    b = plan_survey(site(), Wind(0, 3), stability="D", spacing_m=30.0, alt_agl_m=40.0)
    assert b.info["lines"] >= 3 and np.all(b.alt_agl_m == 40.0)


def test_hover_holds_downwind_of_each_stack():
    s = site()
    b = plan_hover(s, Wind(270, 4, "D"), stability="D", hold_s=45.0)
    assert len(b) == 2 and np.all(b.hold_s == 45.0) and set(b.action) == {"hover"}
    assert np.all(b.x_m > s.src_x_m.max())


# ---------------------------------------------------------------------------------------
# airspace
# ---------------------------------------------------------------------------------------

def square(cx, cy, h):
    return Polygon([(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)])


def test_route_goes_around_a_no_fly_zone_with_margin():
    zone = Zone("NF1", "airport", "no-fly", square(500, 0, 100), math.nan)
    air = Airspace([zone], margin_m=30.0)
    assert air.leg_blocked((0, 0), (1000, 0), 60.0)
    path = air.route((0, 0), (1000, 0), 60.0)
    assert path
    line = LineString([(0, 0), *path, (1000, 0)])
    assert not line.intersects(zone.geometry)
    assert line.distance(zone.geometry) >= 30.0 - 1e-6
    assert line.length < 1000 + 2 * 150  # a short way round, not a wander
    assert air.route((0, 300), (1000, 300), 60.0) == []


def test_restricted_zone_blocks_only_above_its_ceiling():
    zone = Zone("R1", "hospital", "restricted", square(500, 0, 100), 40.0)
    air = Airspace([zone], margin_m=20.0)
    assert not air.leg_blocked((0, 0), (1000, 0), 30.0)
    assert air.leg_blocked((0, 0), (1000, 0), 60.0)


def test_enclosed_point_cannot_be_routed():
    ring = shapely.difference(square(0, 0, 500), square(0, 0, 300))
    air = Airspace([Zone("NF", "ring", "no-fly", ring, math.nan)], margin_m=20.0)
    with pytest.raises(PlanningError, match="no clear path"):
        air.route((0, 0), (2000, 0), 50.0)


# ---------------------------------------------------------------------------------------
# aircraft model
# ---------------------------------------------------------------------------------------

def test_energy_model_matches_rated_endurance_and_derates():
    bare = get_aircraft("m350").with_payload(0.0)
    # flying straight at the best-endurance speed in calm air drains the battery in the rated time
    t_end = bare.rated_endurance_s
    x = np.array([0.0, bare.best_endurance_speed_m_s * t_end])
    c = path_cost(bare, x, np.zeros(2), np.full(2, 50.0), np.full(2, bare.best_endurance_speed_m_s), np.zeros(2),
                  wind_from_deg=0.0, wind_speed_m_s=0.0)
    assert c.total_energy_j / bare.battery_j == pytest.approx(1.0, rel=1e-6)
    loaded = bare.with_payload(2.0)
    assert loaded.endurance_s() < bare.endurance_s() * 0.8
    assert bare.endurance_s(wind_speed_m_s=10.0) > bare.endurance_s(wind_speed_m_s=0.0)  # translational lift
    # a fast headwind leg costs more than the same tailwind leg
    kw = dict(speed_m_s=np.full(2, 12.0), hold_s=np.zeros(2), wind_speed_m_s=8.0)
    head = path_cost(bare, np.array([0, 1000.0]), np.zeros(2), np.full(2, 50.0), kw["speed_m_s"], kw["hold_s"],
                     wind_from_deg=90.0, wind_speed_m_s=8.0)
    tail = path_cost(bare, np.array([0, 1000.0]), np.zeros(2), np.full(2, 50.0), kw["speed_m_s"], kw["hold_s"],
                     wind_from_deg=270.0, wind_speed_m_s=8.0)
    assert head.total_energy_j > tail.total_energy_j
    # turns and holds cost time
    sq = path_cost(bare, np.array([0, 100, 100, 0.0]), np.array([0, 0, 100, 100.0]), np.full(4, 30.0), np.full(4, 5.0),
                   np.array([0, 0, 30.0, 0]), wind_from_deg=0.0, wind_speed_m_s=0.0)
    assert sq.total_time_s == pytest.approx(300 / 5 + 30 + 2 * (2 * 5 / 2.0 * 0.5), rel=1e-6)
    with pytest.raises(InputError):
        get_aircraft("concorde")


# ---------------------------------------------------------------------------------------
# planning many targets
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def area():
    return toy_area(n_enterprises=10, spread_m=1000.0, seed=1,
                    nofly=[{"xy": [(-200, -200), (200, -200), (200, 200), (-200, 200)], "name": "school"}],
                    airspace=["free"] * 9 + ["controlled"])


def ids(area):
    return list(area.enterprises["enterprise_id"])


def test_plan_splits_into_sorties_within_battery_and_range(area):
    plan = plan_drone(area, ids(area), Wind(270, 4), created_utc=T0)
    assert len(plan.sorties) >= 2
    covered = sorted(t for s in plan.sorties for t in s.targets)
    dropped = [d["target_id"] for d in plan.targets_dropped]
    assert sorted(covered + dropped) == sorted(ids(area))
    for s in plan.sorties:
        assert s.battery_fraction <= 0.7 + 1e-9
        assert s.farthest_from_pilot_m <= 2000.0
        w = s.waypoints
        assert w["action"].iloc[0] == "takeoff" and w["action"].iloc[-1] == "land"
        assert w["alt_agl_m"].max() <= 120.0
    rep = validate_plan(plan, area)
    assert rep.ok(), [str(p) for p in rep.errors]
    assert any("controlled airspace" in w for w in plan.warnings)
    # a bigger reserve needs at least as many batteries
    plan50 = plan_drone(area, ids(area), Wind(270, 4), reserve=0.5, created_utc=T0)
    assert len(plan50.sorties) >= len(plan.sorties)
    assert all(s.battery_fraction <= 0.5 + 1e-9 for s in plan50.sorties)


def test_ordering_beats_one_sortie_per_target(area):
    plan = plan_drone(area, ids(area)[:6], Wind(270, 4), created_utc=T0)
    singles = sum(plan_drone(area, [t], Wind(270, 4), created_utc=T0).duration_s for t in ids(area)[:6])
    assert plan.duration_s < singles


def test_plan_is_deterministic_and_leaves_inputs_alone(area):
    before = area.enterprises.copy()
    a = plan_drone(area, ids(area)[:5], Wind(250, 3), created_utc=T0).to_dict()
    b = plan_drone(area, ids(area)[:5], Wind(250, 3), created_utc=T0).to_dict()
    assert a == b
    assert area.enterprises.equals(before)
    assert a["schema"] == "ecopatrol.plan/1" and a["kind"] == "drone" and a["created_utc"] == "2026-05-01T02:00:00Z"
    wp = a["sorties"][0]["waypoints"][0]
    assert set(wp) == {"seq", "lon", "lat", "alt_agl_m", "alt_amsl_m", "speed_m_s", "action", "hold_s", "target_id",
                       "pass_id"}
    assert set(a["sorties"][0]) >= {"sortie_id", "aircraft", "launch", "waypoints", "distance_m", "duration_s",
                                    "battery_fraction", "targets"}


def test_legs_avoid_the_zone_between_launch_and_targets():
    area = toy_area(n_enterprises=3, spread_m=300.0, seed=2, launch_xy_m=[(-1500.0, 0.0)],
                    nofly=[{"xy": [(-1000, -400), (-800, -400), (-800, 400), (-1000, 400)]}])
    plan = plan_drone(area, ids(area), Wind(270, 4), created_utc=T0)
    zone = area.nofly.to_crs(area.metric_crs).geometry.iloc[0]
    for s in plan.sorties:
        line = LineString(s.waypoints[["x_m", "y_m"]].to_numpy())
        assert not line.intersects(zone)
        assert line.distance(zone) > 20.0
    assert validate_plan(plan, area).ok()


@pytest.mark.parametrize("pattern", ["orbit", "profile", "survey", "hover"])
def test_every_pattern_plans_and_validates(area, pattern):
    plan = plan_drone(area, ids(area)[:3], Wind(300, 3), pattern=pattern, aircraft="m30", created_utc=T0)
    assert plan.sorties and validate_plan(plan, area).ok()
    assert {p for s in plan.sorties for p in s.patterns} == {pattern}


def test_out_of_range_targets_are_dropped_with_reason(area):
    plan = plan_drone(area, ids(area), Wind(270, 4), max_range_m=900.0, created_utc=T0)
    assert plan.targets_dropped
    assert all("beyond the 900 m range" in d["reason"] for d in plan.targets_dropped)
    with pytest.raises(PlanningError, match="no sortie could be planned"):
        plan_drone(area, ids(area), Wind(270, 4), max_range_m=100.0, created_utc=T0)


def test_refusals_name_the_problem(area):
    with pytest.raises(SafetyError, match="above the 12 m/s limit"):
        plan_drone(area, ids(area)[:1], Wind(270, 11))
    with pytest.raises(InputError, match="not in area"):
        plan_drone(area, ["NOPE"], Wind(270, 3))
    with pytest.raises(InputError, match="pattern"):
        plan_drone(area, ids(area)[:1], Wind(270, 3), pattern="zigzag")
    with pytest.raises(InputError, match="reserve"):
        plan_drone(area, ids(area)[:1], Wind(270, 3), reserve=1.2)


# ---------------------------------------------------------------------------------------
# validator and writer
# ---------------------------------------------------------------------------------------

def test_validator_lists_every_violation_and_writer_refuses(area, tmp_path):
    plan = plan_drone(area, ids(area)[:3], Wind(270, 4), created_utc=T0)
    d = copy.deepcopy(plan.to_dict())
    s = d["sorties"][0]
    # 1. a waypoint pushed into the no-fly zone (the toy zone is centred on the area centre)
    zone_c = area.nofly.geometry.iloc[0].centroid
    mid = len(s["waypoints"]) // 2
    s["waypoints"][mid]["lon"], s["waypoints"][mid]["lat"] = zone_c.x, zone_c.y
    # 2. a waypoint above the cap
    s["waypoints"][2]["alt_agl_m"] += 100
    s["waypoints"][2]["alt_amsl_m"] += 100
    # 3. an impossible reserve
    d["limits"]["reserve"] = 0.95
    rep = validate_plan(d, area)
    msgs = "\n".join(str(p) for p in rep.errors)
    assert "no-fly zone" in msgs
    assert "exceeds the 120 m cap" in msgs
    assert "usable with a 95% reserve" in msgs
    out = tmp_path / "plan"
    with pytest.raises(SafetyError) as ei:
        write_drone_plan(d, area, out)
    text = str(ei.value)
    assert "no-fly zone" in text and "120 m cap" in text and "reserve" in text
    assert not out.exists() or not any(out.iterdir())


def test_validator_checks_height_along_legs_over_terrain():
    area = toy_area(n_enterprises=2, spread_m=300.0, seed=4)
    plan = plan_drone(area, ids(area), Wind(270, 4), created_utc=T0)
    assert validate_plan(plan, area).ok()
    steep = toy_area(n_enterprises=2, spread_m=300.0, seed=4)
    steep.ground_slope = 0.5  # the same plan over a 1:2 slope breaks the limits between waypoints
    rep = validate_plan(plan, steep)
    assert not rep.ok()
    assert any("above ground" in p.message or "ground" in p.message for p in rep.errors)


def _jimo():
    from ecopatrol.core.area import load_area

    return load_area("jimo")


def test_plan_on_bundled_jimo_area(tmp_path):
    area = _jimo()
    tids = list(area.enterprises["enterprise_id"].iloc[:8])
    plan = plan_drone(area, tids, Wind(270, 4), created_utc=T0)
    assert plan.sorties
    rep = validate_plan(plan, area)
    assert rep.ok(), [str(p) for p in rep.errors]
    paths = write_drone_plan(plan, area, tmp_path)
    assert (tmp_path / "plan.json").exists() and any(Path(p).suffix == ".kmz" for p in paths)


def test_stability_derived_from_time_of_day(area):
    noon = datetime(2026, 6, 21, 4, 0, tzinfo=UTC)  # 12:00 in Qingdao, strong sun
    night = datetime(2026, 6, 21, 16, 0, tzinfo=UTC)  # midnight
    day = plan_drone(area, ids(area)[:1], Wind(270, 2.5), when=noon, created_utc=T0)
    dark = plan_drone(area, ids(area)[:1], Wind(270, 2.5), when=night, created_utc=T0)
    assert day.stability in ("A", "B") and dark.stability in ("E", "F")
    given = plan_drone(area, ids(area)[:1], Wind(270, 2.5, "D"), when=night, created_utc=T0)
    assert given.stability == "D"
