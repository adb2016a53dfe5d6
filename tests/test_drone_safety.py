"""Plans that are safe as written: no DEM (refused, or --flat-ground said loudly), every written point
(rally points, home, geofence, DJI heights) under the cap and outside zones, ceiling-0 zones as exclusion
fences, DJI enums per aircraft (the Mavic 3T against a real DJI Pilot 2 export), serial links, and
one-line errors for missing area files and optional extras."""

from __future__ import annotations

import builtins
import copy
import json
import shutil
import sys
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import datetime, UTC

import numpy as np
import pytest

from ecopatrol.cli import main
from ecopatrol.core.errors import SafetyError, UploadError
from ecopatrol.core.weather import Wind
from ecopatrol.missions.drone import AIRCRAFT, plan_drone, validate_plan, write_drone_plan
from drone_support import ToyArea, toy_area
from ecopatrol.missions.drone.exports import qgc_plan, rally_points
from ecopatrol.missions.drone.validate import validate_exports

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
WPML = "{http://www.dji.com/wpmz/1.0.6}"

# DJI WPML droneInfo / payloadInfo per profile: DJI Cloud API "product support" enumeration tables
# (aircraft type / sub_type; main camera type), see missions/drone/aircraft.py. A PSDK payload (the VOC
# sampler) on the Matrices is 65534.
DJI_ENUMS = {"m350": (89, 0, 65534), "m300": (60, 0, 65534), "m30": (67, 0, 52), "m30t": (67, 1, 53),
             "m3e": (77, 0, 66), "m3t": (77, 1, 67), "m3m": (77, 2, 68)}


def cli(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def one_line_error(rc: int, err: str) -> str:
    assert rc == 1, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@dataclass
class NoDemArea(ToyArea):
    """The toy area without terrain: the ground is unknown everywhere (an area folder without dem.tif)."""

    def elevation_m(self, lon, lat):
        return np.full(np.atleast_1d(np.asarray(lon, float)).shape, np.nan)


def no_dem(area: ToyArea) -> NoDemArea:
    return NoDemArea(**{k: getattr(area, k) for k in area.__dataclass_fields__})


@pytest.fixture(scope="module")
def toy():
    return toy_area(n_enterprises=3, spread_m=600.0, seed=4, nofly=[
        {"xy": [(-120, -120), (120, -120), (120, 120), (-120, 120)], "zone_id": "NF1", "name": "school"},
        {"xy": [(400, 400), (560, 400), (480, 560)], "zone_id": "R0", "kind": "restricted", "ceiling_m": 0.0,
         "name": "prison (ceiling 0)"},
        {"xy": [(-500, 300), (-380, 300), (-440, 420)], "zone_id": "R40", "kind": "restricted", "ceiling_m": 40.0}])


# ---------------------------------------------------------------- no DEM


def test_no_dem_is_refused_unless_flat_ground(toy, tmp_path):
    area = no_dem(toy)
    ids = list(area.enterprises["enterprise_id"])[:2]
    with pytest.raises(SafetyError, match="has no DEM.*--flat-ground"):
        plan_drone(area, ids, Wind(270, 4, "D"), created_utc=T0)
    plan = plan_drone(area, ids, Wind(270, 4, "D"), created_utc=T0, flat_ground=True)
    d = plan.to_dict()
    assert d["limits"]["flat_ground"] is True and "not above ground" in d["heights"]
    assert plan.warnings[0].startswith("heights are above the launch point, not above ground: no DEM")
    write_drone_plan(plan, area, tmp_path)
    txt = (tmp_path / "summary.txt").read_text()
    assert txt.startswith("!!!") and "heights are above the launch point, not above ground: no DEM" in txt
    assert "HEIGHTS ABOVE THE LAUNCH POINT, NOT ABOVE GROUND" in txt
    sm = json.loads((tmp_path / "summary.json").read_text())
    assert sm["flat_ground"] and any("not above ground" in w for w in sm["checks"]["warnings"])
    # the validator alone: a plan made over a DEM, checked where there is none, fails; flat ground is a warning
    good = plan_drone(toy, ids, Wind(270, 4, "D"), created_utc=T0).to_dict()
    rep = validate_plan(good, area)
    assert not rep.ok() and all("ground height is unknown" in p.message and "--flat-ground" in p.message
                                for p in rep.errors)
    rep = validate_plan(d, area)  # the flat plan: accepted, with the warning
    assert rep.ok() and any("not above ground: no DEM" in p.message for p in rep.warnings)
    unflat = copy.deepcopy(d)
    unflat["limits"]["flat_ground"] = False
    assert [p for p in validate_plan(unflat, area).errors if "ground height is unknown" in p.message]
    with pytest.raises(SafetyError, match="(?s)fails the pre-flight checks.*ground height is unknown") as refused:
        write_drone_plan(good, area, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    from ecopatrol.core.errors import render

    zh, keyed = render(refused.value, "zh")  # the header in Chinese, the problems as the validator wrote them
    assert keyed and zh.startswith("无人机计划未通过飞行前检查，未写入任何文件（") and "ground height is unknown" in zh


def test_no_dem_through_the_cli(exported, tmp_path, capsys, jimo):
    area = _variant(exported, tmp_path, drop=["dem.tif"])
    target = str(jimo.enterprises["enterprise_id"].iloc[0])
    rc, out, err = cli(capsys, "plan", "drone", "--area", area, "--targets", target, "--out", tmp_path / "d")
    line = one_line_error(rc, err)
    assert "has no DEM" in line and "--flat-ground" in line and not (tmp_path / "d").exists()
    rc, out, err = cli(capsys, "plan", "drone", "--area", area, "--targets", target, "--flat-ground",
                       "--out", tmp_path / "d")
    assert rc == 0, err
    assert "heights are above the launch point, not above ground: no DEM" in out
    assert "FLAT GROUND" in out


# ---------------------------------------------------------------- written points


def test_every_written_rally_point_is_under_the_cap_above_its_own_ground(toy, tmp_path):
    plan = plan_drone(toy, list(toy.enterprises["enterprise_id"]), Wind(270, 4, "D"), created_utc=T0)
    write_drone_plan(plan, toy, tmp_path)
    d = plan.to_dict()
    cap = d["limits"]["alt_max_agl_m"]
    for s in d["sorties"]:
        doc = json.loads((tmp_path / f"{s['sortie_id']}.plan").read_text())
        home = s["launch"]["ground_amsl_m"]
        pts = doc["rallyPoints"]["points"]
        assert pts, "the sortie's own launch site is a rally point"
        for lat, lon, rel in pts:
            true = rel + home - float(toy.elevation_m(lon, lat)[0])
            assert 10.0 - 0.5 <= true <= cap + 0.5


def test_rally_heights_follow_the_ground_and_far_sites_are_left_out():
    sortie = {"sortie_id": "S01", "launch": {"site_id": "L1", "lon": 120.45, "lat": 36.39, "ground_amsl_m": 100.0},
              "waypoints": [{"alt_amsl_m": 100.0 + 118.0}]}
    near_low = (36.395, 120.45, 56.0)  # 556 m north, 44 m lower: 118 m above home would be 162 m above it
    far = (36.45, 120.45, 100.0)  # 6.7 km: beyond the pilot's range
    deep = (36.392, 120.45, -40.0)  # 140 m below home: no height is under the cap over both
    pts, notes = rally_points(sortie, [near_low, far, deep], cap_m=120.0, max_range_m=2000.0)
    assert pts == [(36.395, 120.45, 76.0)]  # 76 m above home = 120 m above the low site
    assert len(notes) == 1 and "no rally height" in notes[0]


def test_validator_refuses_a_rally_point_over_the_cap(toy):
    plan = plan_drone(toy, list(toy.enterprises["enterprise_id"])[:1], Wind(270, 4, "D"), created_utc=T0).to_dict()
    s = plan["sorties"][0]
    launch = s["launch"]
    from ecopatrol.missions.drone.exports import _zones

    fence = [z for z in _zones(toy) if z["ceiling_m"] is None]
    ok = qgc_plan(s, plan, fence, [(launch["lat"], launch["lon"], 60.0)])
    ids = sorted(z["zone_id"] for z in fence)
    assert validate_exports(plan, toy, {s["sortie_id"]: {"qgc": ok, "fence_zones": ids}}).ok()
    # a rally point 1 km east (10 m lower ground on the toy slope) at 118 m above home: 128 m above its ground
    from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat

    x, y = lonlat_to_xy(np.array([launch["lon"]]), np.array([launch["lat"]]), toy.metric_crs)
    lon, lat = xy_to_lonlat(x - 1000.0, y, toy.metric_crs)
    bad = qgc_plan(s, plan, fence, [(float(lat[0]), float(lon[0]), 118.0)])
    rep = validate_exports(plan, toy, {s["sortie_id"]: {"qgc": bad, "fence_zones": ids}})
    assert [p.message for p in rep.errors if "rally point 1" in p.message and "over the 120 m cap" in p.message]
    # home moved off the launch site, a rally point in the school zone, a missing fence: all named
    zone = toy.nofly.geometry.iloc[0].representative_point()
    worse = copy.deepcopy(ok)
    worse["mission"]["plannedHomePosition"][0] += 0.01
    worse["rallyPoints"]["points"].append([zone.y, zone.x, 50.0])
    worse["geoFence"]["polygons"] = worse["geoFence"]["polygons"][:-1]
    msgs = [p.message for p in validate_exports(plan, toy, {s["sortie_id"]: {"qgc": worse, "fence_zones": ids[:-1]}}).errors]
    assert any("home" in m and "is not the launch site" in m for m in msgs)
    assert any("rally point 2" in m and "no-fly zone NF1" in m for m in msgs)
    assert any("geofence has" in m and "missing" in m for m in msgs)


def test_a_ceiling_zero_zone_is_an_exclusion_fence_and_never_entered(toy, tmp_path):
    plan = plan_drone(toy, list(toy.enterprises["enterprise_id"]), Wind(270, 4, "D"), created_utc=T0)
    write_drone_plan(plan, toy, tmp_path)
    import shapely

    r0 = toy.nofly.set_index("zone_id").geometry["R0"]
    for s in plan.sorties:
        doc = json.loads((tmp_path / f"{s.sortie_id}.plan").read_text())
        fences = [np.asarray(p["polygon"])[:, ::-1] for p in doc["geoFence"]["polygons"]]  # [lat, lon] → lon, lat
        assert all(not p["inclusion"] for p in doc["geoFence"]["polygons"])
        assert len(fences) == 2  # the no-fly school and the ceiling-0 prison; not the 40 m restricted zone
        assert any(shapely.Polygon(f).equals_exact(r0, 1e-7) or shapely.Polygon(f).buffer(1e-9).contains(
            r0.buffer(-1e-9)) for f in fences)
        inside = shapely.contains_xy(r0, s.waypoints["lon"].to_numpy(), s.waypoints["lat"].to_numpy())
        assert not inside.any()


def test_dji_return_to_home_height_stays_under_the_cap(toy, tmp_path):
    plan = plan_drone(toy, list(toy.enterprises["enterprise_id"]), Wind(270, 4, "D"), created_utc=T0)
    write_drone_plan(plan, toy, tmp_path)
    for s in plan.sorties:
        with zipfile.ZipFile(tmp_path / f"{s.sortie_id}.kmz") as z:
            wl = ET.fromstring(z.read("wpmz/waylines.wpml"))
        rth = float(wl.find(f".//{WPML}globalRTHHeight").text)
        home = s.launch["ground_amsl_m"]
        lowest = float(np.min(toy.elevation_m(s.waypoints["lon"], s.waypoints["lat"])))
        assert 20.0 <= rth and rth + home - min(lowest, home) <= plan.alt_max_agl_m + 0.5


# ---------------------------------------------------------------- DJI enums


def _sample_enums(shared_data):
    sample = shared_data / "wpml" / "dji_mavic3t_waypoint_sample.kmz"
    if not sample.exists():
        pytest.skip("shared/data/wpml/dji_mavic3t_waypoint_sample.kmz is not available")
    with zipfile.ZipFile(sample) as z:
        root = ET.fromstring(z.read("wpmz/waylines.wpml"))
    return tuple(int(root.find(f".//{WPML}{t}").text) for t in ("droneEnumValue", "droneSubEnumValue",
                                                                 "payloadEnumValue"))


def test_dji_enum_table_covers_every_dji_profile():
    dji = {k for k, a in AIRCRAFT.items() if a.dji_drone_enum is not None}
    assert dji == set(DJI_ENUMS)
    for key, want in DJI_ENUMS.items():
        a = AIRCRAFT[key]
        assert (a.dji_drone_enum, a.dji_drone_sub_enum, a.dji_payload_enum) == want, key


def test_mavic_3t_profile_matches_the_real_dji_pilot_export(shared_data):
    assert _sample_enums(shared_data) == DJI_ENUMS["m3t"] == (77, 1, 67)


@pytest.mark.parametrize("aircraft", sorted(DJI_ENUMS))
def test_every_dji_aircraft_writes_its_own_enums(toy, tmp_path, aircraft):
    plan = plan_drone(toy, list(toy.enterprises["enterprise_id"])[:1], Wind(270, 3, "D"), pattern="hover",
                      aircraft=aircraft, created_utc=T0)
    write_drone_plan(plan, toy, tmp_path)
    with zipfile.ZipFile(tmp_path / "S01.kmz") as z:
        for member in ("wpmz/template.kml", "wpmz/waylines.wpml"):
            root = ET.fromstring(z.read(member))
            got = tuple(int(root.find(f".//{WPML}{t}").text) for t in ("droneEnumValue", "droneSubEnumValue",
                                                                        "payloadEnumValue"))
            assert got == DJI_ENUMS[aircraft], (aircraft, member)


def test_cli_aircraft_m3t_and_m30t_are_not_their_siblings(tmp_path, capsys, jimo):
    target = str(jimo.enterprises["enterprise_id"].iloc[0])
    for key in ("m3t", "m30t"):
        rc, _, err = cli(capsys, "plan", "drone", "--area", "jimo", "--targets", target, "--aircraft", key,
                         "--pattern", "hover", "--out", tmp_path / key)
        assert rc == 0, err
        with zipfile.ZipFile(next((tmp_path / key).glob("S01.kmz"))) as z:
            wl = ET.fromstring(z.read("wpmz/waylines.wpml"))
        assert (int(wl.find(f".//{WPML}droneEnumValue").text), int(wl.find(f".//{WPML}droneSubEnumValue").text),
                int(wl.find(f".//{WPML}payloadEnumValue").text)) == DJI_ENUMS[key]


# ---------------------------------------------------------------- serial links and missing pieces


@pytest.fixture(scope="module")
def plan_file(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("plan")
    write_drone_plan(plan_drone(toy, list(toy.enterprises["enterprise_id"])[:1], Wind(270, 4, "D"),
                                created_utc=T0), toy, out)
    return out / "S01.plan"


def test_serial_device_that_cannot_be_opened_is_named(plan_file, capsys):
    dev = "/dev/ttyECOPATROL9"
    from ecopatrol.missions.drone.upload import upload_mission

    with pytest.raises(UploadError, match=f"cannot open serial device {dev} at 57600 baud.*plugged in.*dialout"):
        upload_mission(plan_file, dev, heartbeat_timeout_s=0.5)
    rc, _, err = cli(capsys, "upload", plan_file, "--connect", dev, "--baud", "115200")
    line = one_line_error(rc, err)
    assert dev in line and "115200 baud" in line and "check the address" not in line


def test_serial_link_without_pyserial_says_what_to_install(plan_file, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "serial", None)  # import serial → ImportError
    rc, _, err = cli(capsys, "upload", plan_file, "--connect", "/dev/ttyUSB0")
    line = one_line_error(rc, err)
    assert "pyserial is not installed" in line and "pip install 'pyserial>=3.5'" in line


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from ecopatrol.core.area import export_area

    return export_area("jimo", tmp_path_factory.mktemp("jimo") / "area")


def _variant(exported, tmp_path, drop=(), toml_extra: str = ""):
    area = tmp_path / "area"
    shutil.copytree(exported, area)
    for name in drop:
        for p in area.glob(name):
            p.unlink()
    if toml_extra:
        text = (area / "area.toml").read_text(encoding="utf-8")
        (area / "area.toml").write_text(toml_extra + "\n" + text, encoding="utf-8")
    return area


def test_missing_area_files_are_one_line_errors(exported, tmp_path, capsys, jimo):
    target = str(jimo.enterprises["enterprise_id"].iloc[0])
    area = _variant(exported, tmp_path / "roads", drop=["roads.osm*"])
    rc, _, err = cli(capsys, "plan", "van", "--area", area, "--targets", target, "--out", tmp_path / "v")
    line = one_line_error(rc, err)
    assert "has no road network" in line and "roads.osm" in line
    area = _variant(exported, tmp_path / "launch", drop=["launch_sites.geojson"])
    rc, _, err = cli(capsys, "plan", "drone", "--area", area, "--targets", target, "--out", tmp_path / "d")
    line = one_line_error(rc, err)
    assert "has no launch sites" in line and "launch_sites.geojson" in line and "--launch" in line
    area = _variant(exported, tmp_path / "dem", toml_extra='dem = "srtm/qingdao.tif"')
    rc, _, err = cli(capsys, "plan", "drone", "--area", area, "--targets", target, "--out", tmp_path / "d")
    assert rc == 1 and "Traceback" not in err
    assert "`dem = 'srtm/qingdao.tif'` names no file" in err and "area.toml" in err
    assert not (tmp_path / "d").exists() and not (tmp_path / "v").exists()


def test_missing_optional_extras_are_one_line_errors(plan_file, tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def without(*names):
        def imp(name, *a, **kw):
            if name.split(".")[0] in names:
                raise ImportError(f"No module named {name!r}", name=name)
            return real_import(name, *a, **kw)
        return imp

    monkeypatch.setattr(builtins, "__import__", without("dask", "distributed"))
    (tmp_path / "archive").mkdir()
    rc, _, err = cli(capsys, "process-archive", tmp_path / "archive", "--out", tmp_path / "ev")
    line = one_line_error(rc, err)
    assert "pip install 'ecopatrol[dask]'" in line
    monkeypatch.setattr(builtins, "__import__", without("dronekit"))
    rc, _, err = cli(capsys, "upload", plan_file, "--connect", "udp:127.0.0.1:14599", "--dronekit")
    line = one_line_error(rc, err)
    assert "pip install 'ecopatrol[dronekit]'" in line
