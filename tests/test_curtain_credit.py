"""Curtain fluxes credited only where the plume fits (processing.curtain_credit), the drone plan
found beside the samples, and targeting ranking nobody on an uncredited curtain."""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from plume_world import CRS_M, X0, Y0, curtain_samples, make_area, van_samples

from ecopatrol.core.weather import Wind
from ecopatrol.processing import curtain_credit, flux
from ecopatrol.processing.attribution import candidate_sources
from ecopatrol.processing.curtain_credit import CREDIT_RULE, find_drone_plan, plan_mismatch

WIND = Wind(270, 4, "D")
# the curtain: 700 m east of the grid's west column, ±130 m about y = 0. A is E04 (300, 0), 400 m
# upwind; E05 (300, 300) and E03 (300, −300) send their plumes past its ends.
CURTAIN = {"centre_xy_m": (700.0, 0.0), "half_width_m": 130.0}


def _drop(area, ids):
    keep_e = ~area.enterprises["enterprise_id"].isin(ids)
    keep_s = ~area.sources["enterprise_id"].isin(ids)
    return dataclasses.replace(area, enterprises=area.enterprises[keep_e].reset_index(drop=True),
                               sources=area.sources[keep_s].reset_index(drop=True))


def _tall(area, eid, height_m):
    src = area.sources.copy()
    src.loc[src["enterprise_id"] == eid, "height_m"] = height_m
    return dataclasses.replace(area, sources=src)


def test_a_curtain_downwind_of_a_is_credited_to_a_and_never_to_b_whose_plume_misses_it():
    area = make_area()
    s = curtain_samples(area, {"E04-S1": 2.0}, **CURTAIN, seed=1)
    t = flux.flux_table(s, area, wind=WIND, crs=CRS_M)
    assert t["target_id"].tolist() == ["E04"] and t["target_capture"].iloc[0] > 0.9
    assert "crosses the flown span" in t["credit_reason"].iloc[0]
    # B's predicted plume passes beside the span: a few per cent at most of it crosses the window
    plane, _ = flux.fit_plane(*_xy(s), wind_from_deg=270.0)
    s_m, _ = plane.coords(*_xy(s))
    cand = candidate_sources(area, crs=CRS_M)
    cap = curtain_credit.capture_fractions(cand, plane, (s_m.min(), s_m.max()), 80.0, wind_from_deg=270.0,
                                           wind_speed_m_s=4.0, stability="D")
    cap_of = dict(zip(cand["enterprise_id"], cap, strict=True))
    assert cap_of["E05"] < 0.05 and cap_of["E03"] < 0.05 and cap_of["E04"] > 0.9
    assert cap_of["E06"] < 1e-6  # (600, −300): its plume passes beside the span too
    # B alone in the registry (A unregistered): nobody is credited, least of all B
    only_b = _drop(area, ["E04", "E01", "E07"])  # nothing registered upwind on the curtain's axis
    t = flux.flux_table(s, only_b, wind=WIND, crs=CRS_M)
    assert t["target_id"].tolist() == [""] and t["credit_reason"].iloc[0].startswith("uncredited")


def test_a_tall_stack_whose_plume_passes_over_the_curtain_is_not_credited():
    """The unregistered A emits; the registered B stands on the curtain's axis (the best fit to the
    plume's centre) but its 130 m stack sends its plume over the top of the 80 m curtain."""
    area = make_area()
    s = curtain_samples(area, {"E04-S1": 2.0}, **CURTAIN, seed=2)
    reg = _tall(_drop(area, ["E04", "E07"]), "E01", 130.0)
    t = flux.flux_table(s, reg, wind=WIND, crs=CRS_M)
    assert t["best_candidate_id"].iloc[0] == "E01"  # the old rule credited it
    assert t["target_id"].tolist() == [""]
    assert "crosses the flown span" in t["credit_reason"].iloc[0]


def test_the_plan_target_is_credited_when_its_plume_crosses_and_not_when_it_misses():
    area = make_area()
    s = curtain_samples(area, {"E04-S1": 2.0}, **CURTAIN, sortie="S07", seed=3)
    plan = {"sorties": [{"sortie_id": "S07", "targets": ["E04"], "waypoints": []}]}
    t = flux.flux_table(s, area, wind=WIND, crs=CRS_M, plan=plan)
    assert t["target_id"].tolist() == ["E04"] and t["credit_reason"].iloc[0].startswith("the plan's target")
    plan["sorties"][0]["targets"] = ["E05"]  # flown for E05, whose plume passes beside the curtain
    t = flux.flux_table(s, area, wind=WIND, crs=CRS_M, plan=plan)
    assert t["target_id"].tolist() == [""] and "E05" in t["credit_reason"].iloc[0]


def test_a_sortie_with_two_curtains_credits_each_to_its_own_plan_target():
    area = make_area()
    emit = {"E04-S1": 2.0, "E05-S1": 1.0}
    a = curtain_samples(area, emit, centre_xy_m=(700.0, 0.0), half_width_m=130.0, seed=5)
    b = curtain_samples(area, emit, centre_xy_m=(700.0, 300.0), half_width_m=130.0, seed=6)
    b["time_utc"] = b["time_utc"] + (a["time_utc"].max() - b["time_utc"].min() + pd.Timedelta(seconds=60))
    both = gpd.GeoDataFrame(pd.concat([a, b], ignore_index=True), geometry="geometry", crs=a.crs)

    def wp(target, y):
        from ecopatrol.core.crs import xy_to_lonlat

        lon, lat = xy_to_lonlat(np.array([X0 + 700.0, X0 + 700.0]), np.array([Y0 + y - 100, Y0 + y + 100]), CRS_M)
        return [{"lon": float(o), "lat": float(a_), "action": "sample", "target_id": target}
                for o, a_ in zip(lon, lat, strict=True)]

    plan = {"sorties": [{"sortie_id": "S01", "targets": ["E05", "E04"], "waypoints": wp("E04", 0.0) + wp("E05", 300.0)}]}
    t = flux.flux_table(both, area, wind=WIND, crs=CRS_M, plan=plan).sort_values("lat")
    assert t["target_id"].tolist() == ["E04", "E05"]


def test_targeting_ranks_nobody_on_an_uncredited_curtain(tmp_path):
    from ecopatrol.processing.evidence import build_evidence
    from ecopatrol.processing.targeting import rank_targets

    area = make_area()
    s = curtain_samples(area, {"E04-S1": 2.0}, **CURTAIN, seed=4)
    reg = _tall(_drop(area, ["E04", "E07"]), "E01", 130.0)
    res = build_evidence(s, reg, out_dir=tmp_path / "ev", wind=WIND)
    fl = pd.read_csv(tmp_path / "ev" / "flux.csv", dtype={"target_id": str})
    assert fl["target_id"].isna().all() and fl["credit_reason"].str.startswith("uncredited").all()
    tg = rank_targets(tmp_path / "ev", reg)
    assert not tg["reasons"].str.contains("curtain S01").any()
    assert res.summary["n_curtains"] == 1 and res.summary["n_curtains_credited"] == 0


def _xy(s):
    from ecopatrol.core.crs import lonlat_to_xy

    x, y = lonlat_to_xy(s["lon"].to_numpy(), s["lat"].to_numpy(), CRS_M)
    return np.asarray(x), np.asarray(y)


# --- the plan beside the samples ----------------------------------------------------------------

def _field_layout(tmp_path, *, sortie="S01"):
    """``OUT/samples/samples.parquet`` and ``OUT/plans/drone/plan.json`` as ``ecopatrol demo`` writes them."""
    area = make_area()
    van = van_samples(area, {"E04-S1": 2.0}, passes=1)
    drone = curtain_samples(area, {"E04-S1": 2.0}, **CURTAIN, sortie="S01", seed=7)
    s = gpd.GeoDataFrame(pd.concat([van, drone], ignore_index=True), geometry="geometry", crs="EPSG:4326")
    (tmp_path / "samples").mkdir()
    s.to_parquet(tmp_path / "samples" / "samples.parquet")
    plan_dir = tmp_path / "plans" / "drone"
    plan_dir.mkdir(parents=True)
    plan = {"schema": "ecopatrol.plan/1", "kind": "drone",
            "sorties": [{"sortie_id": sortie, "targets": ["E04"], "waypoints": []}]}
    (plan_dir / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    return area, s, plan_dir / "plan.json"


def test_find_drone_plan_beside_or_above_the_samples(tmp_path):
    _, s, plan_path = _field_layout(tmp_path)
    assert find_drone_plan(tmp_path / "samples") == plan_path.resolve()
    assert find_drone_plan(tmp_path / "samples" / "samples.parquet") == plan_path.resolve()
    assert find_drone_plan(tmp_path) == plan_path.resolve()
    other = tmp_path / "elsewhere" / "a" / "b" / "c" / "d"
    other.mkdir(parents=True)
    assert find_drone_plan(other) is None  # more than three folders up: not beside these samples
    plan = json.loads(plan_path.read_text())
    assert plan_mismatch(plan, s) is None
    plan["sorties"][0]["sortie_id"] = "X9"
    assert "X9" in plan_mismatch(plan, s) and "S01" in plan_mismatch(plan, s)
    assert "no drone mission" in plan_mismatch(plan, s[s["platform_id"] == "van1"])
    assert "not a drone plan" in plan_mismatch({"routes": []}, s)


@pytest.mark.parametrize(("sortie", "used"), [("S01", True), ("X9", False)])
def test_hotspots_uses_the_plan_beside_the_samples_and_says_so(tmp_path, monkeypatch, sortie, used):
    typer = pytest.importorskip("typer")
    from typer.testing import CliRunner

    from ecopatrol import cli_evidence

    area, _, plan_path = _field_layout(tmp_path, sortie=sortie)
    monkeypatch.setattr("ecopatrol.core.area.load_area", lambda _: area)
    app = typer.Typer()
    app.command("hotspots")(cli_evidence.hotspots_cmd)
    app.command("noop")(lambda: None)
    r = CliRunner().invoke(app, ["hotspots", str(tmp_path / "samples"), "--area", "x", "--out", str(tmp_path / "ev"),
                                 "--wind", "270/4/D"])
    assert r.exit_code == 0, r.output
    assert f"drone plan: {plan_path.resolve()} (found beside the samples" in r.output
    summary = json.loads((tmp_path / "ev" / "evidence.json").read_text())
    assert summary["drone_plan"]["used"] is used and summary["drone_plan"]["file"] == str(plan_path.resolve())
    fl = pd.read_csv(tmp_path / "ev" / "flux.csv", dtype={"target_id": str})
    if used:
        assert fl["credit_reason"].str.startswith("the plan's target").all()
    else:
        assert "ignored" in r.output and "X9" in r.output
        assert not fl["credit_reason"].str.startswith("the plan's target").any()


def test_the_rule_says_its_constants():
    assert f"{100 * CREDIT_RULE.min_capture:.0f} %" in CREDIT_RULE.describe()
