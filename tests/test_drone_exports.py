"""Drone exports: QGC .plan, QGC WPL 110, DJI WPML .kmz (against the real DJI sample), KML, GeoJSON."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile
from datetime import datetime, UTC
from pathlib import Path

import pytest

from ecopatrol.core.weather import Wind
from ecopatrol.missions.drone import plan_drone, write_drone_plan
from drone_support import toy_area

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
WPML = "{http://www.dji.com/wpmz/1.0.6}"
KML = "{http://www.opengis.net/kml/2.2}"


def shared_data() -> Path | None:
    for p in Path(__file__).resolve().parents:
        cand = p / "shared" / "data"
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="module")
def area():
    return toy_area(n_enterprises=4, spread_m=700.0, seed=5, nofly=[
        {"xy": [(-150, -150), (150, -150), (150, 150), (-150, 150)], "zone_id": "NF1", "name": "school"},
        {"xy": [(500, 500), (700, 500), (600, 700)], "zone_id": "R1", "kind": "restricted", "ceiling_m": 40.0}])


@pytest.fixture(scope="module")
def written(area, tmp_path_factory):
    plan = plan_drone(area, list(area.enterprises["enterprise_id"]), Wind(270, 4), created_utc=T0)
    out = tmp_path_factory.mktemp("drone")
    paths = write_drone_plan(plan, area, out)
    return plan, out, paths


def test_writes_every_file_atomically(written):
    plan, out, paths = written
    names = {p.name for p in paths}
    assert {"plan.json", "summary.json", "summary.txt"} <= names
    for s in plan.sorties:
        for ext in ("plan", "waypoints", "kmz", "kml", "geojson"):
            assert f"{s.sortie_id}.{ext}" in names
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    d = json.loads((out / "plan.json").read_text())
    assert d == json.loads(json.dumps(plan.to_dict()))
    sm = json.loads((out / "summary.json").read_text())
    assert sm["checks"]["passed"] and sm["batteries"] == len(plan.sorties)
    assert sm["farthest_from_pilot_m"] == pytest.approx(max(s.farthest_from_pilot_m for s in plan.sorties), abs=0.1)
    txt = (out / "summary.txt").read_text()
    assert "pre-flight checks: PASSED" in txt and "highest point" in txt


def test_qgc_plan_structure(written):
    plan, out, _ = written
    s = plan.sorties[0]
    doc = json.loads((out / f"{s.sortie_id}.plan").read_text())
    assert doc["fileType"] == "Plan" and doc["version"] == 1
    m = doc["mission"]
    home = m["plannedHomePosition"]
    assert home == pytest.approx([s.launch["lat"], s.launch["lon"], s.launch["ground_amsl_m"]])  # lat first
    items = m["items"]
    assert all(i["type"] == "SimpleItem" for i in items)
    assert [i["doJumpId"] for i in items] == list(range(1, len(items) + 1))
    assert items[0]["command"] == 22 and items[-1]["command"] == 21
    nav = [i for i in items if i["command"] == 16]
    assert all(i["frame"] == 3 for i in nav)
    assert {i["frame"] for i in items if i["command"] == 178} == {2}
    # heights are relative to home: AMSL of the waypoint minus the launch ground
    w = s.waypoints
    inner = w[~w["action"].isin(["takeoff", "land"])]
    assert [i["params"][6] for i in nav] == pytest.approx(list(inner["alt_amsl_m"] - s.launch["ground_amsl_m"]), abs=0.01)
    assert [i["params"][4] for i in nav] == pytest.approx(list(inner["lat"]), abs=1e-8)
    # sampling speed announced before the transects
    speeds = [i["params"][1] for i in items if i["command"] == 178]
    assert 3.0 in speeds and 10.0 in speeds
    fence = doc["geoFence"]
    assert fence["version"] == 2 and len(fence["polygons"]) == 1  # the no-fly zone; the restricted one has a ceiling
    poly = fence["polygons"][0]
    assert poly["inclusion"] is False and len(poly["polygon"]) == 4
    assert 36 < poly["polygon"][0][0] < 37 and 120 < poly["polygon"][0][1] < 121  # [lat, lon]
    assert doc["rallyPoints"]["version"] == 2 and doc["rallyPoints"]["points"]


def test_waypoints_file_loads_with_mavwp(written):
    from pymavlink import mavwp

    plan, out, _ = written
    s = plan.sorties[0]
    path = out / f"{s.sortie_id}.waypoints"
    lines = path.read_text().splitlines()
    assert lines[0] == "QGC WPL 110"
    f = lines[1].split("\t")
    assert f[0] == "0" and f[1] == "1" and len(f[8].split(".")[1]) >= 7 and len(f[9].split(".")[1]) >= 7
    loader = mavwp.MAVWPLoader()
    n = loader.load(str(path))
    doc = json.loads((out / f"{s.sortie_id}.plan").read_text())
    assert n == len(doc["mission"]["items"]) + 1
    home = loader.wp(0)
    assert (home.x, home.y) == pytest.approx((s.launch["lat"], s.launch["lon"]), abs=1e-7)
    assert loader.wp(1).command == 22 and loader.wp(n - 1).command == 21
    third = next(loader.wp(i) for i in range(n) if loader.wp(i).command == 16 and i > 0)
    first_nav = next(i for i in doc["mission"]["items"] if i["command"] == 16)
    assert (third.x, third.y) == pytest.approx((first_nav["params"][4], first_nav["params"][5]), abs=1e-7)


def _paths(root) -> list[str]:
    seen: list[str] = []

    def walk(e, path):
        tag = e.tag.replace(WPML, "wpml:").replace(KML, "")
        p = f"{path}/{tag}"
        if p not in seen:
            seen.append(p)
        for c in e:
            walk(c, p)

    walk(root, "")
    return seen


def _structure(paths: list[str]) -> list[str]:
    """Element paths outside action groups and payload-specific settings."""
    return [p for p in paths if "/wpml:actionGroup" not in p]


@pytest.mark.parametrize("member", ["wpmz/template.kml", "wpmz/waylines.wpml"])
def test_wpml_matches_the_real_dji_export(written, member):
    data = shared_data()
    sample = data / "wpml" / "dji_mavic3t_waypoint_sample.kmz" if data else None
    if sample is None or not sample.exists():
        pytest.skip("shared/data/wpml/dji_mavic3t_waypoint_sample.kmz is not available")
    plan, out, _ = written
    with zipfile.ZipFile(out / f"{plan.sorties[0].sortie_id}.kmz") as z:
        assert sorted(z.namelist()) == ["wpmz/template.kml", "wpmz/waylines.wpml"]
        ours = ET.fromstring(z.read(member))
    with zipfile.ZipFile(sample) as z:
        theirs = ET.fromstring(z.read(member))
    assert _structure(_paths(ours)) == _structure(_paths(theirs))
    # placemark children in the same order as DJI's
    def order(root):
        pm = root.find(f".//{KML}Placemark")
        return [c.tag for c in pm if not c.tag.endswith("actionGroup")]
    assert order(ours) == order(theirs)
    assert ours.find(f".//{WPML}droneEnumValue").text == "89"  # M350 RTK
    coords = ours.find(f".//{KML}Placemark/{KML}Point/{KML}coordinates").text.strip().split(",")
    assert 120 < float(coords[0]) < 121 and 36 < float(coords[1]) < 37  # lon,lat


@pytest.mark.parametrize("aircraft,enum,sub", [("m300", "60", "0"), ("m30", "67", "0"), ("m3e", "77", "0")])
def test_wpml_drone_enums_and_hover_actions(area, tmp_path, aircraft, enum, sub):
    plan = plan_drone(area, list(area.enterprises["enterprise_id"])[:2], Wind(270, 3), pattern="hover",
                      aircraft=aircraft, created_utc=T0)
    write_drone_plan(plan, area, tmp_path)
    with zipfile.ZipFile(tmp_path / "S01.kmz") as z:
        wl = ET.fromstring(z.read("wpmz/waylines.wpml"))
    assert wl.find(f".//{WPML}droneEnumValue").text == enum
    assert wl.find(f".//{WPML}droneSubEnumValue").text == sub
    funcs = [e.text for e in wl.iter(f"{WPML}actionActuatorFunc")]
    assert funcs and set(funcs) == {"hover"}
    groups = wl.findall(f".//{WPML}actionGroup")
    g = groups[0]
    assert [c.tag.replace(WPML, "") for c in g] == ["actionGroupId", "actionGroupStartIndex", "actionGroupEndIndex",
                                                   "actionGroupMode", "actionTrigger", "action"]
    assert float(g.find(f".//{WPML}hoverTime").text) == 60.0


def test_generic_mavlink_aircraft_gets_no_kmz(area, tmp_path):
    plan = plan_drone(area, list(area.enterprises["enterprise_id"])[:1], Wind(270, 3), aircraft="mavlink",
                      created_utc=T0)
    names = {p.name for p in write_drone_plan(plan, area, tmp_path)}
    assert "S01.plan" in names and "S01.kmz" not in names


def test_kml_and_geojson(written):
    plan, out, _ = written
    s = plan.sorties[0]
    root = ET.parse(out / f"{s.sortie_id}.kml").getroot()
    line = root.find(f".//{KML}LineString/{KML}coordinates").text.split()
    assert len(line) == len(s.waypoints)
    lon, lat, alt = map(float, line[1].split(","))
    assert (lon, lat) == pytest.approx((s.waypoints["lon"].iloc[1], s.waypoints["lat"].iloc[1]), abs=1e-7)
    assert alt == pytest.approx(s.waypoints["alt_amsl_m"].iloc[1], abs=0.01)
    assert len(root.findall(f".//{KML}Polygon")) == 2
    gj = json.loads((out / f"{s.sortie_id}.geojson").read_text())
    assert gj["features"][0]["geometry"]["type"] == "LineString"
    assert len(gj["features"]) == len(s.waypoints) + 1
    assert gj["features"][1]["properties"]["action"] == "takeoff"
