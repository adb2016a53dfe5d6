"""Day-sized plans: the whole ranked list (860 rows, as `ecopatrol targets` writes for the Jimo example)
goes into both planners, which plan the highest-ranked within the day's budget (--top, --flight-hours,
--shift-h, --time-limit) and list the rest; --launch, --when; U-turns on the van route."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from ecopatrol.cli import main
from ecopatrol.core.weather import Wind
from ecopatrol.missions.drone import plan_drone
from ecopatrol.missions.van import load_road_network, plan_van
from ecopatrol.missions.van.turns import UTURN_ARTERIAL_S, UTURN_OTHER_S, count_node_uturns, uturn_penalty_s

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cli(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.fixture(scope="module")
def targets_csv(jimo, tmp_path_factory):
    """A ranked list of every enterprise of the example (860 rows), in the layout of targets.csv."""
    e = jimo.enterprises
    order = np.random.default_rng(14).permutation(len(e))
    df = pd.DataFrame({"rank": np.arange(1, len(e) + 1), "enterprise_id": e["enterprise_id"].to_numpy()[order],
                       "name": e["name"].to_numpy()[order], "score": np.linspace(1.0, 0.0, len(e)).round(4),
                       "reasons": "registry: test ranking"})
    path = tmp_path_factory.mktemp("targets") / "targets.csv"
    df.to_csv(path, index=False)
    return path, df


def _rank_of(df: pd.DataFrame) -> dict[str, int]:
    return dict(zip(df["enterprise_id"].astype(str), df["rank"].astype(int)))


# ---------------------------------------------------------------- drone


def test_drone_plans_the_top_ten_of_860_in_rank_order(jimo, targets_csv, tmp_path, capsys):
    path, df = targets_csv
    rank = _rank_of(df)
    rc, out, err = cli(capsys, "plan", "drone", "--area", "jimo", "--targets-file", path, "--wind", "315/4/D",
                       "--out", tmp_path / "d")
    assert rc == 0, err
    plan = json.loads((tmp_path / "d" / "plan.json").read_text())
    planned = [t for s in plan["sorties"] for t in s["targets"]]
    assert 1 <= len(planned) <= 10 and len(set(planned)) == len(planned)
    deferred, dropped = plan["targets_deferred"], plan["targets_dropped"]
    assert len(deferred) + len(dropped) == 860 - len(planned)
    assert {d["target_id"] for d in deferred + dropped} | set(planned) == set(rank)
    # the highest-ranked first: every planned or dropped target outranks every deferred one
    examined = [rank[t] for t in planned] + [d["rank"] for d in dropped]
    assert max(examined) < min(d["rank"] for d in deferred)
    assert all(d["reason"] == f"beyond today's budget of 10 target(s): rank {d['rank']}" for d in deferred)
    # sorties numbered in priority order: S01 holds the highest-ranked planned target
    best = [min(rank[t] for t in s["targets"]) for s in plan["sorties"]]
    assert best == sorted(best) and best[0] == min(rank[t] for t in planned)
    assert [s["sortie_id"] for s in plan["sorties"]] == [f"S{k:02d}" for k in range(1, len(best) + 1)]
    assert f"planned {len(planned)} of 860 target(s); {len(deferred)} left for another day" in out


def test_drone_flight_hours_bound_the_day(jimo, targets_csv, tmp_path, capsys):
    path, df = targets_csv
    rc, out, err = cli(capsys, "plan", "drone", "--area", "jimo", "--targets-file", path, "--top", "860",
                       "--flight-hours", "1.5", "--wind", "315/4/D", "--out", tmp_path / "d")
    assert rc == 0, err
    plan = json.loads((tmp_path / "d" / "plan.json").read_text())
    swaps = plan["limits"]["battery_swap_s"] * (len(plan["sorties"]) - 1)
    assert sum(s["duration_s"] for s in plan["sorties"]) + swaps <= 1.5 * 3600 + 1e-6
    assert plan["day_s"] <= 1.5 * 3600
    planned = {t for s in plan["sorties"] for t in s["targets"]}
    assert len(plan["targets_deferred"]) + len(plan["targets_dropped"]) == 860 - len(planned)
    assert any("flight-time budget of 1.5 h" in d["reason"] for d in plan["targets_deferred"])


def test_drone_ad_hoc_launch_point(jimo, targets_csv, tmp_path, capsys):
    path, df = targets_csv
    e = jimo.enterprises.set_index("enterprise_id")
    first = e.loc[str(df["enterprise_id"].iloc[0])].geometry
    lon, lat = round(first.x - 0.004, 6), round(first.y - 0.004, 6)  # ≈ 550 m south-west of the rank-1 firm
    rc, out, err = cli(capsys, "plan", "drone", "--area", "jimo", "--targets-file", path, "--top", "2",
                       "--launch", f"{lon:.6f},{lat:.6f}", "--wind", "315/4/D", "--out", tmp_path / "d")
    assert rc == 0, err
    plan = json.loads((tmp_path / "d" / "plan.json").read_text())
    for s in plan["sorties"]:
        assert s["launch"]["site_id"] == "ADHOC"
        assert (s["launch"]["lon"], s["launch"]["lat"]) == pytest.approx((lon, lat), abs=1e-7)
        assert (s["waypoints"][0]["lon"], s["waypoints"][0]["lat"]) == pytest.approx((lon, lat), abs=1e-6)
    assert str(df["enterprise_id"].iloc[0]) in plan["sorties"][0]["targets"]
    # checked like the area's launch sites: not inside a zone that allows no flight, a real LON,LAT
    zone = jimo.nofly[jimo.nofly["kind"] == "no-fly"].geometry.iloc[0].representative_point()
    rc, _, err = cli(capsys, "plan", "drone", "--area", "jimo", "--targets-file", path, "--top", "2",
                     "--launch", f"{zone.x:.6f},{zone.y:.6f}", "--out", tmp_path / "z")
    assert rc == 1 and "lies inside no-fly zone" in err and "Traceback" not in err
    rc, _, err = cli(capsys, "plan", "drone", "--area", "jimo", "--targets-file", path, "--launch", f"{lat},{lon}",
                     "--out", tmp_path / "z")
    assert rc == 1 and "LON,LAT" in err
    assert not (tmp_path / "z").exists()


def test_when_sets_the_stability_class_from_the_sun(jimo, targets_csv, tmp_path, capsys):
    path, _ = targets_csv
    classes = {}
    for label, when in (("noon", "2026-06-21 12:00"), ("night", "2026-06-21 23:30")):
        rc, _, err = cli(capsys, "plan", "drone", "--area", "jimo", "--targets-file", path, "--top", "1",
                         "--wind", "315/2.5", "--when", when, "--out", tmp_path / label)
        assert rc == 0, err
        plan = json.loads((tmp_path / label / "plan.json").read_text())
        classes[label] = plan["wind"]["stability"]
        assert plan["planned_for"]["local"] == when.replace(" ", "T") + "+08:00"
    assert classes == {"noon": "B", "night": "E"}  # strong insolation vs a cloudy night at 2.5 m/s
    # the library takes the time as a tz-aware datetime; the van planner too
    ids = [str(t) for t in pd.read_csv(path)["enterprise_id"].head(3)]
    noon = datetime(2026, 6, 21, 12, 0, tzinfo=SHANGHAI)
    assert plan_drone(jimo, ids, Wind(315, 1.5), when=noon, max_targets=1).stability == "A"
    van = plan_van(jimo, ids, Wind(315, 2.5), when=noon, max_targets=1)
    assert van.stability == "B" and van.to_dict()["planned_for"]["utc"] == "2026-06-21T04:00:00Z"
    rc, _, err = cli(capsys, "plan", "van", "--area", "jimo", "--targets-file", path, "--when", "21/06/2026",
                     "--out", tmp_path / "bad")
    assert rc == 1 and "YYYY-MM-DD HH:MM" in err


# ---------------------------------------------------------------- van


def test_van_plans_the_top_twenty_of_860_within_the_shift(jimo, targets_csv, tmp_path, capsys):
    path, df = targets_csv
    rank = _rank_of(df)
    rc, out, err = cli(capsys, "plan", "van", "--area", "jimo", "--targets-file", path, "--wind", "315/4/D",
                       "--out", tmp_path / "v")
    assert rc == 0, err
    route = json.loads((tmp_path / "v" / "plan.json").read_text())["routes"][0]
    covered = route["targets_covered"]
    assert 1 <= len(covered) <= 20 and route["duration_s"] <= route["shift_h"] * 3600
    deferred = route["targets_deferred"]
    assert len(deferred) + len(route["targets_dropped"]) == 860 - len(covered)
    assert max(rank[t] for t in covered + route["targets_dropped"]) < min(d["rank"] for d in deferred)
    assert all(f"rank {d['rank']}" in d["reason"] for d in deferred)
    assert f"planned {len(covered)} of 860 target(s); {len(deferred)} left for another day" in out
    sm = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert len(sm["targets_deferred"]) == len(deferred) and sm["u_turns"] == route["u_turns"]


def test_van_time_limit_keeps_the_best_route_so_far(jimo, targets_csv):
    ids = [str(t) for t in pd.read_csv(targets_csv[0])["enterprise_id"]]
    g = load_road_network(jimo.roads_path)
    # a limit shorter than the set-up alone: the search stops at once and says so
    plan = plan_van(jimo, ids, Wind(315, 4, "D"), network=g, max_targets=30, shift_h=2.0, time_limit_s=0.01)
    assert plan.targets_covered and plan.duration_s <= 2.0 * 3600
    assert any("time limit" in w for w in plan.warnings)
    assert len(plan.targets_covered) + len(plan.deferred) + len(plan.dropped) == len(ids)
    assert plan.to_dict()["warnings"] == plan.warnings


def test_van_without_a_budget_is_still_bounded_by_the_shift(jimo, targets_csv):
    ids = [str(t) for t in pd.read_csv(targets_csv[0])["enterprise_id"]]
    g = load_road_network(jimo.roads_path)
    plan = plan_van(jimo, ids, Wind(315, 4, "D"), network=g, shift_h=1.0, iterations=20)
    assert plan.duration_s <= 3600 and len(plan.targets_covered) < 40
    assert len(plan.targets_covered) + len(plan.deferred) + len(plan.dropped) == 860
    assert all("shift" in d.reason for d in plan.deferred)


# ---------------------------------------------------------------- U-turns


def _park_targets(jimo, n):
    ents = jimo.enterprises
    in_park = ents[ents["park"].astype(str).str.len() > 0]
    step = max(1, len(in_park) // n)
    return in_park["enterprise_id"].astype(str).iloc[::step].head(n).tolist()


def test_uturn_penalty_prefers_loops_without_losing_coverage(jimo):
    g = load_road_network(jimo.roads_path)
    ids = _park_targets(jimo, 20)
    free = plan_van(jimo, ids, Wind(315, 4, "D"), network=g, uturn_penalty=0.0)  # node routing, as before
    legal = plan_van(jimo, ids, Wind(315, 4, "D"), network=g)
    assert set(legal.targets_covered) == set(free.targets_covered)
    assert legal.passes_per_target == free.passes_per_target
    assert free.u_turns >= 5 and legal.u_turns <= free.u_turns // 2
    assert legal.u_turns == count_node_uturns(legal.path_node_ids)
    assert legal.duration_s <= legal.shift_h * 3600
    ids_path = legal.path_node_ids
    for u, v in zip(ids_path[:-1], ids_path[1:]):
        assert g.has_edge(u, v)


def test_uturns_cost_more_on_arterials():
    from ecopatrol.missions.van.legs import RoadIndex

    hw = np.array(["primary", "residential", "secondary_link", "trunk", "service", ""], dtype=object)
    z0, z6, i6 = np.zeros(0), np.zeros(6), np.zeros(6, int)
    idx = RoadIndex(node_ids=z0, lon=z0, lat=z0, x_m=z0, y_m=z0, eu=i6, ev=i6, length_m=z6, travel_s=z6,
                    speed_kph=z6, name=np.full(6, "", dtype=object), heading_rad=z6, out_edges=[], in_edges=[],
                    scc=z0, crs=None, highway=hw)
    pen = uturn_penalty_s(idx)
    assert list(pen) == [UTURN_ARTERIAL_S, UTURN_OTHER_S, UTURN_ARTERIAL_S, UTURN_ARTERIAL_S, UTURN_OTHER_S,
                         UTURN_OTHER_S]
    assert count_node_uturns([1, 2, 1, 3, 4, 3, 1]) == 2 and count_node_uturns([1, 2]) == 0
