"""Areas outside China: built around real OSM extracts (West Oakland, US; a German town grid), checked
under their country's rules and planned by the same van and drone planners; Chinese areas keep
China's rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from abroad import REGISTRY_HEADER, build_area
from ecopatrol.cli import main
from ecopatrol.core.area import Area, export_area, load_area
from ecopatrol.core.errors import InputError
from ecopatrol.core.rules import rules_for
from ecopatrol.core.weather import Wind

OAKLAND = "West-Oakland.osm.bz2"
GERMANY = "planet_10.068,48.135_10.071,48.137.osm"
EXTRACTS = [pytest.param(OAKLAND, "US", 121.92, 32610, id="west-oakland-US"),
            pytest.param(GERMANY, "DE", 120.0, 32632, id="germany-DE")]


def cli(capsys, *args) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


@pytest.mark.parametrize("extract,country,cap,utm", EXTRACTS)
def test_area_check_is_clean_under_the_countrys_rules(shared_data, tmp_path, capsys, extract, country, cap, utm):
    b = build_area(tmp_path / "area", shared_data / "osm" / extract, country=country, prefix=country)
    rc, out = cli(capsys, "area", "check", b.path)
    assert rc == 0, out
    assert "0 error(s)" in out and f"{country} rules: WGS-84 only, unique ids, {cap:g} m height cap" in out
    a = load_area(b.path)
    assert a.rules.country == country and a.rules.id_check == "unique" and not a.rules.country_check
    assert a.rules.height_cap_m == cap and a.rules.coordinate_systems_allowed == ("wgs84", "cgcs2000")
    assert a.metric_crs.to_epsg() == utm  # the data's UTM zone, not Qingdao's


@pytest.mark.parametrize("extract,country,cap,utm", EXTRACTS)
def test_plan_van_stays_on_the_extracts_drivable_ways(shared_data, tmp_path, capsys, extract, country, cap, utm):
    b = build_area(tmp_path / "area", shared_data / "osm" / extract, country=country, prefix=country)
    rc, out = cli(capsys, "plan", "van", "--area", b.path, "--targets", ",".join(b.ids), "--out", tmp_path / "van")
    assert rc == 0, out
    route = json.loads((tmp_path / "van" / "plan.json").read_text())["routes"][0]
    ids = route["path_node_ids"]
    assert len(ids) >= 2 and ids[0] == ids[-1]
    for u, v in zip(ids[:-1], ids[1:]):
        assert b.graph.has_edge(u, v), f"path step {u}->{v} is not a drivable way of the extract in that direction"
    xy = np.array([[b.graph.nodes[n]["x"], b.graph.nodes[n]["y"]] for n in ids])
    np.testing.assert_allclose(np.array(route["path"]), xy, atol=1e-7)
    assert sorted(route["targets_covered"]) == sorted(b.ids)
    monitored = {leg["target_id"] for leg in route["legs"] if leg["kind"] == "monitoring"}
    assert monitored == set(b.ids)


@pytest.mark.parametrize("extract,country,cap,utm", EXTRACTS)
def test_plan_drone_flies_under_the_areas_cap(shared_data, tmp_path, capsys, extract, country, cap, utm):
    b = build_area(tmp_path / "area", shared_data / "osm" / extract, country=country, prefix=country)
    # these areas have no DEM: refused, unless flat ground is accepted (and then said loudly)
    rc, out = cli(capsys, "plan", "drone", "--area", b.path, "--targets", ",".join(b.ids), "--out", tmp_path / "d")
    assert rc == 1 and "has no DEM" in out and "--flat-ground" in out and not (tmp_path / "d").exists()
    rc, out = cli(capsys, "plan", "drone", "--area", b.path, "--targets", ",".join(b.ids), "--flat-ground",
                  "--out", tmp_path / "d")
    assert rc == 0, out
    assert "heights are above the launch point, not above ground: no DEM" in out
    plan = json.loads((tmp_path / "d" / "plan.json").read_text())
    assert plan["limits"]["alt_max_agl_m"] == cap and plan["limits"]["flat_ground"] is True
    wps = [w for s in plan["sorties"] for w in s["waypoints"]]
    assert wps and max(w["alt_agl_m"] for w in wps) <= cap
    assert sorted(t for s in plan["sorties"] for t in s["targets"]) == sorted(b.ids)
    assert not plan.get("targets_dropped")


def test_the_areas_own_cap_binds_the_planner_and_the_validator(shared_data, tmp_path, capsys):
    from ecopatrol.missions.drone import plan_drone
    from ecopatrol.missions.drone.validate import validate_plan

    b = build_area(tmp_path / "area", shared_data / "osm" / OAKLAND, country="US", height_cap_m=80)
    a = load_area(b.path)
    assert a.rules.height_cap_m == 80 and a.rules.height_cap_source == "area.toml [limits] height_cap_m"
    plan = plan_drone(a, b.ids, Wind(270, 3, "D"), pattern="profile", flat_ground=True)  # no DEM
    d = plan.to_dict()
    assert d["limits"]["alt_max_agl_m"] == 80
    assert max(w["alt_agl_m"] for s in d["sorties"] for w in s["waypoints"]) <= 80
    assert validate_plan(d, a).ok()
    # without the plan's own limit the validator takes the area's: a waypoint at 90 m breaks it
    del d["limits"]["alt_max_agl_m"]
    w = next(w for w in d["sorties"][0]["waypoints"] if w["action"] not in ("takeoff", "land"))
    w["alt_amsl_m"] += 90 - w["alt_agl_m"]
    w["alt_agl_m"] = 90.0
    rep = validate_plan(d, a)
    assert any("exceeds the 80 m cap" in p.message for p in rep.errors), rep.problems
    # a plan capped above the area's limit is planned, with a warning, and the validator says so too
    high = plan_drone(a, b.ids, Wind(270, 3, "D"), alt_max_agl_m=100, flat_ground=True)
    assert any("above the area's 80 m limit" in m for m in high.warnings)
    assert any("above the area's 80 m limit" in p.message for p in validate_plan(high, a).warnings)
    rc, out = cli(capsys, "plan", "drone", "--area", b.path, "--targets", b.ids[0], "--pattern", "profile",
                  "--flat-ground", "--out", tmp_path / "d")
    assert rc == 0, out
    assert json.loads((tmp_path / "d" / "plan.json").read_text())["limits"]["alt_max_agl_m"] == 80


def test_without_a_country_an_area_abroad_gets_generic_rules(shared_data, tmp_path, capsys):
    b = build_area(tmp_path / "area", shared_data / "osm" / OAKLAND, country=None)
    rc, out = cli(capsys, "area", "check", b.path)
    assert rc == 0, out
    assert "unknown rules (inferred from the registry)" in out and "set `[limits] height_cap_m`" in out
    a = load_area(b.path)
    assert a.rules.country is None and a.rules.id_check == "unique" and a.rules.height_cap_m == 120.0
    assert a.summary()["country"] == "unknown"
    b2 = build_area(tmp_path / "area2", shared_data / "osm" / OAKLAND, country=None, height_cap_m=100)
    a2 = load_area(b2.path)
    assert a2.rules.height_cap_m == 100 and a2.report.ok(strict=False)
    assert not any(p.field == "height_cap_m" for p in a2.report.problems)


def test_a_us_area_accepts_plain_ids_and_rejects_duplicates_and_gcj02(shared_data, tmp_path):
    usccish = "91370282MA3C1234"  # 16 characters of the USCC alphabet: only an id here
    rows = [f"{usccish},Plain id works,printing,-122.300,37.810,wgs84,no,,0",
            "US-001,Same id again,printing,-122.301,37.811,wgs84,no,,0",
            "US-009,Web-map row,printing,-122.302,37.812,gcj02,no,,0"]
    b = build_area(tmp_path / "area", shared_data / "osm" / OAKLAND, country="US", prefix="US", extra_rows=rows)
    a = load_area(b.path, raise_on_error=False)
    errs = a.report.errors
    assert len(errs) == 2, errs
    dup = [e for e in errs if "duplicate" in e.message]
    n = len(b.ids)
    assert len(dup) == 1 and f"rows 2 and {n + 3}" in dup[0].message
    gcj = [e for e in errs if e.field == "crs"]
    assert len(gcj) == 1 and gcj[0].row == n + 4 and "exist only in China" in gcj[0].message
    assert usccish in set(a.enterprises["enterprise_id"])


def test_a_default_gcj02_registry_crs_is_an_error_abroad(shared_data, tmp_path):
    b = build_area(tmp_path / "area", shared_data / "osm" / GERMANY, country="DE")
    toml = (b.path / "area.toml").read_text().replace("[defaults]", '[defaults]\nregistry_crs = "gcj02"')
    (b.path / "area.toml").write_text(toml)
    a = load_area(b.path, raise_on_error=False)
    assert [e.field for e in a.report.errors] == ["crs"], a.report.errors
    assert "exists only in China" in a.report.errors[0].message


def test_a_chinese_area_keeps_chinas_rules(tmp_path):
    out = export_area("jimo", tmp_path / "jimo")
    lines = (out / "registry.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    i_id, i_lon, i_lat, i_crs = (header.index(c) for c in ("enterprise_id", "lon", "lat", "crs"))
    r2 = lines[1].split(",")
    r2[i_id] = r2[i_id][:17]  # a USCC with its check character lost
    r3 = lines[2].split(",")
    r3[i_lon], r3[i_lat], r3[i_crs] = "2.35", "48.85", "gcj02"  # an AMap row in Paris
    lines[1], lines[2] = ",".join(r2), ",".join(r3)
    (out / "registry.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    a = load_area(out, raise_on_error=False)
    assert a.rules.country == "CN" and a.rules.country_inferred and a.rules.id_check == "uscc"
    assert a.rules.height_cap_m == 120.0
    reg = sorted((e for e in a.report.errors if e.file == "registry.csv"), key=lambda e: e.row)
    assert len(reg) == 2, reg
    assert reg[0].row == 2 and "17 characters, one missing" in reg[0].message
    assert reg[1].row == 3 and "outside China, where gcj02 coordinates do not exist" in reg[1].message
    assert "CN rules (inferred from the registry): GCJ-02/BD-09 converted, USCC ids" in a.summary()["rules"]


def test_metric_crs_comes_from_the_data_never_from_qingdao(shared_data, tmp_path):
    b = build_area(tmp_path / "area", shared_data / "osm" / OAKLAND, country="US")
    (b.path / "registry.csv").write_text(REGISTRY_HEADER + "\n")
    (b.path / "sources.csv").unlink()
    a = load_area(b.path, raise_on_error=False)
    assert len(a.enterprises) == 0 and a.metric_crs.to_epsg() == 32610
    # with no country and no registry points, the roads, launch sites and depot say where the area is
    (b.path / "area.toml").write_text('name = "empty"\n')
    a = load_area(b.path, raise_on_error=False)
    assert a.rules.country is None and a.report.ok() and a.metric_crs.to_epsg() == 32610
    import geopandas as gpd

    empty = gpd.GeoDataFrame({"x": []}, geometry=[], crs="EPSG:4326")
    bare = Area("bare", tmp_path, empty, empty, empty, empty, empty, None, None, rules=rules_for("US"))
    with pytest.raises(InputError, match="set `center"):
        _ = bare.metric_crs
