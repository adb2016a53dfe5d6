"""Hand-edited plans (issue 20 item 3): the validator and the uploader refuse them, with the reason.

Every case starts from a plan the planner wrote and edits ``plan.json`` or ``S01.plan`` the way
a person (or an attacker) could: a waypoint dragged into the no-fly zone, a height over the cap,
NaN / out-of-range / missing coordinates, a sortie id with path characters, a huge file, wrong
types. The validator reports each (file, field, fix) without crashing; the uploader refuses each
before it opens any connection (``_connect`` is replaced by a trap).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, UTC

import pytest

from ecopatrol.core.errors import FormatError, InputError
from ecopatrol.core.weather import Wind
from ecopatrol.missions.drone import plan_drone, validate_plan, write_drone_plan
from ecopatrol.missions.drone import upload as up
from drone_support import toy_area
from ecopatrol.missions.drone.validate import MAX_PLAN_BYTES, check_plan_structure

AREA = toy_area(n_enterprises=3, seed=3, nofly=[
    {"xy": [(-150, -150), (150, -150), (150, 150), (-150, 150)]},
    {"xy": [(600, 600), (800, 600), (700, 800)], "kind": "restricted", "ceiling_m": 40.0}])
NOFLY = AREA.nofly.geometry.iloc[0].centroid  # lon/lat of the no-fly zone's centre


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    plan = plan_drone(AREA, ["E001", "E002", "E003"], Wind(270, 4), created_utc=datetime(2026, 5, 1, 2, 0, tzinfo=UTC))
    out = tmp_path_factory.mktemp("plan")
    write_drone_plan(plan, AREA, out)
    return out


@pytest.fixture
def folder(written, tmp_path):
    dst = tmp_path / "plan"
    shutil.copytree(written, dst)
    return dst


@pytest.fixture
def no_link(monkeypatch):
    """Fail the test if the uploader tries to open a connection."""
    calls = []

    def trap(*a, **kw):
        calls.append(a)
        raise AssertionError("the uploader opened a connection for a plan it should have refused")

    monkeypatch.setattr(up, "_connect", trap)
    return calls


def _edit_json(path, fn):
    d = json.loads(path.read_text())
    fn(d)
    path.write_text(json.dumps(d))


def _inner(d):
    """The first waypoint of S01 that is not the take-off or the landing."""
    wps = d["sorties"][0]["waypoints"]
    return next(w for w in wps if w["action"] not in ("takeoff", "land"))


def _plan_item(d):
    """The first NAV_WAYPOINT item of a .plan."""
    return next(it for it in d["mission"]["items"] if it["command"] == 16)


def refused(no_link, path, match, **kw):
    with pytest.raises(InputError, match=match) as ei:
        up.upload_mission(path, "udpout:127.0.0.1:9", timeout_s=0.1, retries=0, **kw)
    assert not no_link
    return str(ei.value)


def test_untouched_plan_passes_every_check(folder):
    assert validate_plan(folder / "plan.json", AREA).ok()
    _, items = up.load_mission(folder / "S01.plan")
    assert up.preflight_mission(folder / "S01.plan", items, area=AREA).ok()


# ------------------------------------------------------------------ waypoint into the no-fly zone

def _into_zone_json(d):
    w = _inner(d)
    w["lon"], w["lat"] = NOFLY.x, NOFLY.y


def _into_zone_plan(d):
    it = _plan_item(d)
    it["params"][4], it["params"][5] = NOFLY.y, NOFLY.x


def test_waypoint_moved_into_no_fly_zone_validator(folder):
    _edit_json(folder / "plan.json", _into_zone_json)
    rep = validate_plan(folder / "plan.json", AREA)
    assert any("enters no-fly zone" in p.message for p in rep.errors), rep.problems


def test_waypoint_moved_into_no_fly_zone_uploader(folder, no_link):
    _edit_json(folder / "S01.plan", _into_zone_plan)
    msg = refused(no_link, folder / "S01.plan", "refused before upload")
    assert "exclusion fence" in msg and "S01.plan" in msg  # the file's own geofence, no area needed
    assert "differs from what sortie S01 of plan.json exports" in msg


def test_plan_json_edited_alone_is_refused_by_the_uploader(folder, no_link):
    _edit_json(folder / "plan.json", _into_zone_json)
    msg = refused(no_link, folder / "S01.plan", "edited by hand")
    assert "export the plan again" in msg
    msg = refused(no_link, folder / "S01.plan", "enters no-fly zone", area=AREA)  # and with the area


def test_both_files_edited_consistently_are_caught(folder, no_link):
    _edit_json(folder / "plan.json", _into_zone_json)
    _edit_json(folder / "S01.plan", _into_zone_plan)
    refused(no_link, folder / "S01.plan", "exclusion fence")
    refused(no_link, folder / "S01.plan", "enters no-fly zone", area=AREA)


def test_lone_plan_into_zone_refused_with_area(folder, tmp_path, no_link):
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(folder / "S01.plan", lone / "S01.plan")
    _edit_json(lone / "S01.plan", _into_zone_plan)
    refused(no_link, lone / "S01.plan", "exclusion fence")
    refused(no_link, lone / "S01.plan", "lies in no-fly zone", area=AREA)


# ------------------------------------------------------------------ heights over the cap

def test_height_over_the_cap(folder, tmp_path, no_link):
    def higher(d):
        w = _inner(d)
        w["alt_agl_m"] += 100.0
        w["alt_amsl_m"] += 100.0

    _edit_json(folder / "plan.json", higher)
    rep = validate_plan(folder / "plan.json", AREA)
    assert any("exceeds the 120 m cap" in p.message and p.field == "alt_agl_m" for p in rep.errors)
    refused(no_link, folder / "S01.plan", "differs from what sortie S01")
    refused(no_link, folder / "S01.plan", "exceeds the 120 m cap", area=AREA)
    # the .plan alone, raised over the cap: caught against the area
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(folder / "S01.plan", lone / "S01.plan")
    _edit_json(lone / "S01.plan", lambda d: _plan_item(d)["params"].__setitem__(6, 200.0))
    refused(no_link, lone / "S01.plan", "over the 120 m cap", area=AREA)


# ------------------------------------------------------------------ NaN, out of range, missing

@pytest.mark.parametrize("value,field_msg", [(None, "expected a finite number"), ("36.4", "expected a finite number"),
                                             (95.0, "out of range"), (True, "expected a finite number")])
def test_bad_latitude_in_plan_json(folder, no_link, value, field_msg):
    _edit_json(folder / "plan.json", lambda d: _inner(d).__setitem__("lat", value))
    rep = validate_plan(folder / "plan.json", AREA)
    bad = [p for p in rep.errors if p.field and p.field.endswith(".lat")]
    assert bad and field_msg in bad[0].message and bad[0].field.startswith("sorties[0].waypoints[")
    assert any("plan it again" in p.message for p in rep.errors)
    refused(no_link, folder / "S01.plan", r"sorties\[0\]\.waypoints\[\d+\]\.lat")


def test_nan_literal_is_refused_by_both(folder, no_link):
    text = (folder / "plan.json").read_text()
    (folder / "plan.json").write_text(text.replace('"alt_agl_m": ', '"alt_agl_m": NaN, "x": ', 1))
    with pytest.raises(FormatError, match="NaN is not a number JSON allows"):
        validate_plan(folder / "plan.json", AREA)
    refused(no_link, folder / "S01.plan", "NaN")
    plan_text = (folder / "S01.plan").read_text()
    (folder / "S01.plan").write_text(plan_text.replace("null", "Infinity", 1))
    refused(no_link, folder / "S01.plan", "Infinity is not a number JSON allows")


@pytest.mark.parametrize("lat,lon,match", [(95.0, 120.4, "is not a latitude/longitude"),
                                           (36.4, 200.0, "is not a latitude/longitude"),
                                           (None, None, r"position 0, 0")])
def test_bad_coordinates_in_the_plan_file(folder, tmp_path, no_link, lat, lon, match):
    def edit(d):
        it = _plan_item(d)
        it["params"][4], it["params"][5] = lat, lon

    _edit_json(folder / "S01.plan", edit)
    refused(no_link, folder / "S01.plan", match)


# ------------------------------------------------------------------ ids with path characters

@pytest.mark.parametrize("sid", ["../../etc/cron.d/x", "/tmp/x", "C:\\x", ".hidden", "S01/../S02", 7])
def test_sortie_id_with_path_characters(folder, no_link, sid):
    _edit_json(folder / "plan.json", lambda d: d["sorties"][0].__setitem__("sortie_id", sid))
    rep = validate_plan(folder / "plan.json", AREA)
    assert any(p.field == "sorties[0].sortie_id" and "cannot name a file" in p.message for p in rep.errors)
    refused(no_link, folder / "plan.json", "cannot name a file", sortie=1)


def test_write_refuses_traversal_sortie_id(written, tmp_path):
    d = json.loads((written / "plan.json").read_text())
    d["sorties"][0]["sortie_id"] = "../escape"
    with pytest.raises(Exception, match="cannot name a file"):
        write_drone_plan(d, AREA, tmp_path / "out")
    assert not (tmp_path / "escape.plan").exists() and not (tmp_path / "out").exists()


# ------------------------------------------------------------------ huge files, nesting, wrong types

def test_huge_files_refused_before_parsing(folder, no_link, monkeypatch):
    for name in ("plan.json", "S01.plan"):
        p = folder / name
        with open(p, "r+b") as fh:
            fh.truncate(MAX_PLAN_BYTES + 1)  # sparse: cheap to make, too big to read
    read = []
    monkeypatch.setattr(json, "loads", lambda *a, **k: read.append(1))  # would be parsing
    with pytest.raises(FormatError, match="refused before reading"):
        validate_plan(folder / "plan.json", AREA)
    refused(no_link, folder / "S01.plan", "refused before reading")
    assert not read


def test_deep_nesting_and_garbage(folder, no_link):
    (folder / "plan.json").write_text("[" * 200000)
    with pytest.raises(FormatError, match="not a readable plan.json"):
        validate_plan(folder / "plan.json", AREA)
    (folder / "S01.plan").write_bytes(b"\xff\xfe not json")
    refused(no_link, folder / "S01.plan", "not a readable QGroundControl .plan")


@pytest.mark.parametrize("edit,field", [
    (lambda d: d.__setitem__("sorties", "S01"), "sorties"),
    (lambda d: d.__setitem__("limits", [120]), "limits"),
    (lambda d: d["limits"].__setitem__("alt_max_agl_m", "120"), "limits.alt_max_agl_m"),
    (lambda d: d["limits"].__setitem__("reserve", -1), "limits.reserve"),
    (lambda d: d["wind"].__setitem__("speed_m_s", None), "wind.speed_m_s"),
    (lambda d: d["sorties"][0].__setitem__("waypoints", {"0": {}}), "sorties[0].waypoints"),
    (lambda d: d["sorties"][0]["waypoints"].__setitem__(1, "waypoint"), "sorties[0].waypoints[1]"),
    (lambda d: d["sorties"][0]["waypoints"][1].__setitem__("seq", "1"), "sorties[0].waypoints[1].seq"),
    (lambda d: d["sorties"][0]["waypoints"][1].__setitem__("speed_m_s", "fast"), "sorties[0].waypoints[1].speed_m_s"),
    (lambda d: d["sorties"][0].__setitem__("launch", None), "sorties[0].launch"),
    (lambda d: d["sorties"].append(d["sorties"][0]), "appears twice"),
])
def test_wrong_types_in_plan_json(folder, no_link, edit, field):
    _edit_json(folder / "plan.json", edit)
    rep = validate_plan(folder / "plan.json", AREA)  # never a TypeError / KeyError
    assert any(p.field == field or field in p.message for p in rep.errors), [str(p) for p in rep.errors]
    refused(no_link, folder / "S01.plan", "refused before upload")


def test_top_level_not_an_object():
    assert check_plan_structure([1, 2, 3]).errors
    rep = check_plan_structure("plan")
    assert "not a JSON object" in rep.errors[0].message


@pytest.mark.parametrize("edit,match", [
    (lambda d: _plan_item(d).__setitem__("frame", "3"), "must be integers"),
    (lambda d: _plan_item(d).__setitem__("params", "0,0,0"), "params must be a list"),
    (lambda d: d["mission"].__setitem__("items", {}), "mission.items"),
    (lambda d: d["mission"].__setitem__("plannedHomePosition", "here"), "plannedHomePosition"),
    (lambda d: _plan_item(d).__setitem__("type", "ComplexItem"), "only SimpleItem"),
])
def test_wrong_types_in_the_plan_file(folder, no_link, edit, match):
    _edit_json(folder / "S01.plan", edit)
    with pytest.raises(FormatError, match=match):
        up.upload_mission(folder / "S01.plan", "udpout:127.0.0.1:9", timeout_s=0.1, retries=0)
    assert not no_link


def test_waypoints_file_edited(folder, no_link):
    p = folder / "S01.waypoints"
    lines = p.read_text().splitlines()
    f = lines[3].split("\t")
    f[8], f[9] = f"{NOFLY.y:.8f}", f"{NOFLY.x:.8f}"
    lines[3] = "\t".join(f)
    p.write_text("\r\n".join(lines) + "\r\n")
    refused(no_link, p, "differs from what sortie S01")
    lines[3] = lines[3].replace(f[10], "nan")
    p.write_text("\r\n".join(lines) + "\r\n")
    refused(no_link, p, "non-finite")


def test_cli_refuses_a_hand_edited_plan_without_traceback(folder, capsys):
    from ecopatrol.cli import main

    _edit_json(folder / "S01.plan", _into_zone_plan)
    rc = main(["upload", str(folder / "S01.plan"), "--connect", "udpout:127.0.0.1:9", "--timeout", "0.1"])
    out = capsys.readouterr()
    text = out.out + out.err
    assert rc == 1 and "Traceback" not in text
    assert "refused before upload (nothing was sent" in text and "exclusion fence" in text
