"""The independent safety checks (tests/plan_checks.py) can fail: plans edited to break airspeed,
battery or range are caught, the wind is taken at the top of a climbing leg, and the checks'
own energy model agrees with the planner's on an unedited plan (two implementations, one model)."""

from __future__ import annotations

import copy
import math
from datetime import datetime, UTC

import numpy as np
import pytest

from ecopatrol.core.crs import xy_to_lonlat
from ecopatrol.core.weather import Wind
from ecopatrol.missions.drone import get_aircraft, plan_drone, validate_plan
from ecopatrol.missions.drone.aircraft import path_cost
from drone_support import toy_area
from plan_checks import (airspeed_problems, battery_problems, leg_airspeeds, range_problems, sortie_energy_j,
                         sortie_problems, wind_speed_at, written_sortie)

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
AREA = toy_area(n_enterprises=3, spread_m=500.0, seed=5)
WIND = dict(from_deg=0.0, wind_m_s=7.0)  # strong wind from the north: the generic MAVLink aircraft must slow down


@pytest.fixture(scope="module")
def plan():
    p = plan_drone(AREA, ["E001", "E002"], Wind(WIND["from_deg"], WIND["wind_m_s"]), pattern="curtain",
                   aircraft="mavlink", reserve=0.3, alt_max_agl_m=80.0, created_utc=T0, time_limit_s=0.5)
    assert p.sorties
    return p


def _checks(plan, d=None, **over):
    d = d or plan.to_dict()
    kw = dict(reserve=0.3, max_range_m=plan.max_range_m, from_deg=WIND["from_deg"], wind_m_s=WIND["wind_m_s"],
              stability=d["wind"]["stability"]) | over
    return [p for sd in d["sorties"] for p in sortie_problems(sd, AREA, plan.aircraft, **kw)]


def test_the_plan_as_written_passes(plan):
    assert _checks(plan) == []


def test_the_checks_energy_agrees_with_the_planners_model(plan):
    d = plan.to_dict()
    for s, sd in zip(plan.sorties, d["sorties"]):
        w = s.waypoints
        x, y, z, v, h = (w[c].to_numpy() for c in ("x_m", "y_m", "alt_agl_m", "speed_m_s", "hold_s"))
        c = path_cost(plan.aircraft, np.r_[x[:1], x], np.r_[y[:1], y], np.r_[0.0, z], np.r_[v[:1], v],
                      np.r_[0.0, h], wind_from_deg=WIND["from_deg"], wind_speed_m_s=WIND["wind_m_s"],
                      stability=plan.stability)
        ws = dict(written_sortie(sd, AREA), x=x, y=y, agl=z, v=v, hold=h)
        e = sortie_energy_j(ws, plan.aircraft, from_deg=WIND["from_deg"], wind_m_s=WIND["wind_m_s"],
                            stability=plan.stability)
        assert e == pytest.approx(c.total_energy_j, rel=1e-9)


def test_the_wind_really_limits_this_plan(plan):
    """The cap is active: some leg flies slower than cruise, and its airspeed is near the maximum."""
    d = plan.to_dict()
    top = max(np.nanmax(leg_airspeeds(written_sortie(sd, AREA), from_deg=WIND["from_deg"], wind_m_s=WIND["wind_m_s"],
                                      stability=d["wind"]["stability"])) for sd in d["sorties"])
    ac = plan.aircraft
    assert ac.max_speed_m_s - 1.0 < top <= ac.max_speed_m_s
    assert min(p["speed_m_s"] for sd in d["sorties"] for p in sd["waypoints"]) < ac.cruise_speed_m_s


def test_flying_at_full_ground_speed_into_the_wind_is_caught(plan):
    """Every speed set to 0.1 m/s under the aircraft's maximum: no speed exceeds the limit as written,
    but into the headwind the air speed does — the checks and the validator both see it."""
    d = copy.deepcopy(plan.to_dict())
    for sd in d["sorties"]:
        for p in sd["waypoints"]:
            p["speed_m_s"] = plan.aircraft.max_speed_m_s - 0.1
    problems = _checks(plan, d)
    assert any("airspeed" in p for p in problems), problems
    assert not any("ground speed" in p for p in problems)
    assert any("airspeed" in e.message for e in validate_plan(d, AREA).errors)


def test_a_stronger_wind_than_planned_is_caught(plan):
    assert any("airspeed" in p for p in _checks(plan, wind_m_s=WIND["wind_m_s"] * 1.6))


def test_a_speed_over_the_maximum_is_caught(plan):
    d = copy.deepcopy(plan.to_dict())
    d["sorties"][0]["waypoints"][2]["speed_m_s"] = plan.aircraft.max_speed_m_s + 1.0
    assert any("ground speed" in p for p in _checks(plan, d))


def test_long_holds_are_caught_by_the_battery_check(plan):
    d = copy.deepcopy(plan.to_dict())
    for p in d["sorties"][0]["waypoints"]:
        p["hold_s"] = 120.0
    sd = d["sorties"][0]
    assert battery_problems(sd, AREA, plan.aircraft, reserve=0.3, from_deg=WIND["from_deg"],
                            wind_m_s=WIND["wind_m_s"], stability=d["wind"]["stability"])
    # and a bigger reserve than the plan was made for fails an unedited sortie that uses most of its battery
    assert any("battery" in p for p in _checks(plan, reserve=0.99))


def test_a_waypoint_beyond_the_pilots_range_is_caught(plan):
    d = copy.deepcopy(plan.to_dict())
    sd = d["sorties"][0]
    p = sd["waypoints"][len(sd["waypoints"]) // 2]
    p["lat"] += (plan.max_range_m + 500.0) / 111_000.0
    assert range_problems(sd, AREA, plan.max_range_m)


def _climbing_leg(ground_speed: float) -> dict:
    """A hand-made sortie: one leg flown south-to-north into a northerly wind, climbing 20 → 120 m."""
    crs = AREA.metric_crs
    from ecopatrol.core.crs import lonlat_to_xy

    cx, cy = lonlat_to_xy(np.array([AREA.centre[0]]), np.array([AREA.centre[1]]), crs)
    lon, lat = xy_to_lonlat(cx[0] + np.zeros(3), cy[0] + np.array([0.0, 0.0, 300.0]), crs)
    ground = AREA.elevation_m(lon, lat)
    wps = [{"lon": float(a), "lat": float(b), "alt_amsl_m": float(g + h), "speed_m_s": ground_speed, "hold_s": 0.0}
           for a, b, g, h in zip(lon, lat, ground, (10.0, 20.0, 120.0))]
    return {"sortie_id": "S99", "launch": {"lon": float(lon[0]), "lat": float(lat[0])}, "waypoints": wps}


def test_the_wind_is_taken_at_the_top_of_a_climbing_leg():
    """A ground speed the wind at the leg's mean height (70 m) allows, but the wind at its top (120 m)
    does not: the check flags it (the strongest wind the aircraft meets on the leg)."""
    ac = get_aircraft("mavlink")
    u10 = 6.0
    w_mid, w_top = wind_speed_at(u10, 70.0, "D"), wind_speed_at(u10, 120.0, "D")
    assert w_top > w_mid
    v = ac.max_speed_m_s - 0.5 * (w_mid + w_top)  # airspeed w_mid + v < max < w_top + v
    assert w_mid + v < ac.max_speed_m_s < w_top + v
    problems = airspeed_problems(_climbing_leg(v), AREA, ac, from_deg=0.0, wind_m_s=u10, stability="D")
    assert problems and "leg 1→2" in problems[0]
    ok = ac.max_speed_m_s - w_top - 0.01
    assert airspeed_problems(_climbing_leg(ok), AREA, ac, from_deg=0.0, wind_m_s=u10, stability="D") == []
    # a tailwind on the same leg needs little airspeed
    assert airspeed_problems(_climbing_leg(v), AREA, ac, from_deg=180.0, wind_m_s=u10, stability="D") == []
    assert math.isfinite(w_top)
