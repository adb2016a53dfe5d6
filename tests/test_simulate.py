"""Field simulator: real formats, truth, determinism and physics (ecopatrol.missions.simulate)."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecopatrol.core.crs import haversine_m
from ecopatrol.core.errors import InputFileNotFoundError, ValidationError
from ecopatrol.core.weather import Wind
from ecopatrol.missions.simulate import plan_from_track, simulate, simulate_plans, simulate_track

from sim_support import GROUND_M, M_PER_DEG_LON, drone_plan, make_area, van_plan, write_plans

def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    plans = write_plans(root / "plans", drone=drone_plan(), van=van_plan())
    res = simulate(make_area(), plans, root / "field", seed=1)
    truth_pos = pd.read_parquet(root / "field" / "truth_positions.parquet")
    return res, root / "field", truth_pos


def _truth_track(truth_pos: pd.DataFrame, file: str):
    t = truth_pos[truth_pos["file"] == file].sort_values("time_utc")
    return _unix_s(t["time_utc"]), t["lon"].to_numpy(), t["lat"].to_numpy()


def _unix_s(times: pd.Series) -> np.ndarray:
    return (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def _instrument(truth: dict, file: str) -> dict:
    return next(i for i in truth["instruments"] if i["file"] == file)


# ---------------------------------------------------------------------------
# drone files
# ---------------------------------------------------------------------------

def test_tlog_parses_with_pymavlink_and_positions_times_match_truth(sim):
    from pymavlink import mavutil

    res, field_dir, truth_pos = sim
    conn = mavutil.mavlink_connection(str(field_dir / "drone" / "S01.tlog"))
    pos, systime, types = [], [], set()
    while (m := conn.recv_match()) is not None:
        types.add(m.get_type())
        if m.get_srcSystem() != 1:
            continue
        if m.get_type() == "GLOBAL_POSITION_INT":
            pos.append((m._timestamp, m.time_boot_ms, m.lat / 1e7, m.lon / 1e7, m.relative_alt / 1000))
        elif m.get_type() == "SYSTEM_TIME":
            systime.append((m._timestamp, m.time_unix_usec / 1e6, m.time_boot_ms))
    assert {"HEARTBEAT", "SYSTEM_TIME", "GLOBAL_POSITION_INT", "GPS_RAW_INT", "VFR_HUD"} <= types
    st = np.array(systime)
    # the log's receive stamps trail the autopilot's UTC by the link latency only
    assert np.all((st[:, 0] - st[:, 1] > 0) & (st[:, 0] - st[:, 1] < 0.2))
    boot_to_unix = np.median(st[:, 1] - st[:, 2] / 1e3)
    p = np.array(pos)
    t_utc = boot_to_unix + p[:, 1] / 1e3
    # compare with the true sampling track while airborne (truth at 1 Hz)
    plat = next(x for x in res.truth["platforms"] if x["mission_id"] == "S01")
    t0 = pd.Timestamp(plat["start_utc"]).timestamp()
    t1 = pd.Timestamp(plat["end_utc"]).timestamp()
    tt, tlon, tlat = _truth_track(truth_pos, "drone/S01_voc.csv")
    m = (t_utc > t0) & (t_utc < t1)
    err = haversine_m(p[m, 3], p[m, 2], np.interp(t_utc[m], tt, tlon), np.interp(t_utc[m], tt, tlat))
    assert np.percentile(err, 95) < 3.0
    assert p[:, 4].max() == pytest.approx(60.0, abs=1.5)  # the curtain's top
    assert p[0, 0] < t0 < t1 < p[-1, 0]  # logging starts before take-off and ends after landing


def test_airdata_csv_in_feet_and_utc(sim):
    res, field_dir, _ = sim
    df = pd.read_csv(field_dir / "drone" / "S01_airdata.csv")
    for col in ("time(millisecond)", "datetime(utc)", "latitude", "longitude", "height_above_takeoff(feet)",
                "altitude_above_seaLevel(feet)", "speed(mph)", "satellites", "battery_temperature(f)"):
        assert col in df.columns
    assert df["height_above_takeoff(feet)"].max() * 0.3048 == pytest.approx(60.0, abs=1.5)
    assert df["altitude_above_seaLevel(feet)"].min() * 0.3048 == pytest.approx(GROUND_M, abs=1.0)
    assert df["speed(mph)"].max() * 0.44704 == pytest.approx(8.0, abs=0.3)  # the fastest leg, 8 m/s
    plat = next(x for x in res.truth["platforms"] if x["mission_id"] == "S01")
    first = pd.Timestamp(df["datetime(utc)"].iloc[0], tz="UTC")
    assert first.timestamp() == pytest.approx(pd.Timestamp(plat["start_utc"]).timestamp() - 20, abs=1.0)
    assert np.all(np.diff(df["time(millisecond)"]) == 200)


# ---------------------------------------------------------------------------
# van files
# ---------------------------------------------------------------------------

def _nmea_checksum_ok(line: str) -> bool:
    body, cs = line[1:].split("*")
    return reduce(lambda a, c: a ^ ord(c), body, 0) == int(cs, 16)


def _nmea_deg(v: str, hemi: str) -> float:
    dot = v.index(".")
    deg = float(v[:dot - 2]) + float(v[dot - 2:]) / 60.0
    return -deg if hemi in "SW" else deg


def test_nmea_checksums_dates_and_gaps(sim):
    res, field_dir, truth_pos = sim
    lines = (field_dir / "van" / "R01.nmea").read_bytes().decode("ascii").split("\r\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert all(ln.startswith(("$GPGGA,", "$GPRMC,")) and _nmea_checksum_ok(ln) for ln in lines)
    rmc = [ln.split("*")[0].split(",") for ln in lines if ln.startswith("$GPRMC")]
    assert {r[9] for r in rmc} == {res.truth["start_utc"][8:10] + res.truth["start_utc"][5:7] + "26"}
    day = res.truth["start_utc"][:10]
    t = np.array([pd.Timestamp(f"{day}T{r[1][:2]}:{r[1][2:4]}:{r[1][4:]}Z").timestamp() for r in rmc])
    assert np.all(np.diff(t) > 0)
    assert np.diff(t).max() >= 20  # a gap with nothing logged
    valid = np.array([r[2] == "A" for r in rmc])
    assert (~valid).sum() >= 15  # a gap with void fixes
    lat = np.array([_nmea_deg(r[3], r[4]) for r, v in zip(rmc, valid) if v])
    lon = np.array([_nmea_deg(r[5], r[6]) for r, v in zip(rmc, valid) if v])
    tt, tlon, tlat = _truth_track(truth_pos, "van/R01_voc.csv")
    tv = t[valid]
    inside = (tv > tt[0]) & (tv < tt[-1])
    err = haversine_m(lon[inside], lat[inside], np.interp(tv[inside], tt, tlon), np.interp(tv[inside], tt, tlat))
    assert np.sqrt(np.mean(err**2)) < 5.0  # GPS jitter ~1.5 m per axis plus 1 Hz truth interpolation


def test_gpx_is_valid_gpx_11_with_times_and_segments(sim):
    import gpxpy

    res, field_dir, _ = sim
    gpx = gpxpy.parse((field_dir / "van" / "R01.gpx").read_text(encoding="utf-8"))
    assert gpx.version == "1.1"
    segs = gpx.tracks[0].segments
    assert len(segs) >= 2  # the GPS gaps split the track
    pts = [p for s in segs for p in s.points]
    times = np.array([p.time.timestamp() for p in pts])
    assert all(p.time.tzinfo is not None for p in pts[:5])
    assert np.all(np.diff(times) > 0)
    plat = next(x for x in res.truth["platforms"] if x["mission_id"] == "R01")
    assert times[0] < pd.Timestamp(plat["start_utc"]).timestamp() < pd.Timestamp(plat["end_utc"]).timestamp() < times[-1]
    assert 120.43 < min(p.longitude for p in pts) and max(p.latitude for p in pts) < 36.40


# ---------------------------------------------------------------------------
# analysers and truth
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("file", ["drone/S01_voc.csv", "van/R01_voc.csv"])
def test_analyser_csv_local_time_on_its_own_clock(sim, file):
    res, field_dir, truth_pos = sim
    raw = (field_dir / file).read_bytes().decode("ascii")
    head = "Time,TVOC(ug/m3),Benzene(ppb),Toluene(ppb),Xylene(ppb),Status"
    # the van's anemometer is logged by the analyser PC beside the concentrations
    assert raw.split("\r\n")[0] == head + (",Wind_From(deg),Wind_Speed(m/s)" if file.startswith("van") else "")
    df = pd.read_csv(field_dir / file)
    stamps_utc = pd.to_datetime(df["Time"], format="%Y-%m-%d %H:%M:%S").dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    inst = _instrument(res.truth, file)
    tp = truth_pos[(truth_pos["file"] == file) & truth_pos["written"]].sort_values("row")
    assert len(tp) == len(df) == inst["rows"]
    # stamp = true time + clock offset; the air was drawn lag_s before the true stamp time
    d_off = _unix_s(stamps_utc) - _unix_s(tp["stamp_true_utc"])
    d_lag = _unix_s(tp["stamp_true_utc"]) - _unix_s(tp["time_utc"])
    np.testing.assert_allclose(d_off, inst["clock_offset_s"], atol=0.002)
    np.testing.assert_allclose(d_lag, inst["lag_s"], atol=0.002)
    assert 10 <= abs(inst["clock_offset_s"]) <= 75 and 4 <= inst["lag_s"] <= 20
    assert inst["rows_lost"] > 0 and np.diff(_unix_s(stamps_utc)).max() > 1  # dropouts
    assert set(df["Status"]) >= {"OK", "SAT", "FLT"}
    assert (df["TVOC(ug/m3)"] < 0).sum() >= 1  # a negative glitch
    assert df.loc[df["Status"] == "FLT", "TVOC(ug/m3)"].isna().all()


def test_truth_json_is_consistent_with_the_area_and_files(sim):
    res, field_dir, _ = sim
    truth = json.loads((field_dir / "truth.json").read_text(encoding="utf-8"))
    assert truth == res.truth
    area = make_area()
    src = area.sources.set_index("source_id")
    assert len(truth["emitters"]) == 3
    for e in truth["emitters"]:
        assert src.loc[e["source_id"], "enterprise_id"] == e["enterprise_id"]
        assert 0.1 < e["rate_g_s"] < 25
    pos = area.enterprises.set_index("enterprise_id")["positive_list"]
    assert any(pos[e["enterprise_id"]] for e in truth["emitters"])
    assert truth["emitters"][0]["enterprise_id"] == "E1"  # the target both plans pass downwind of
    assert truth["wind"]["from_deg"] == 270 and truth["wind"]["speed_m_s"] == 4 and truth["wind"]["stability"] == "D"
    assert {i["file"] for i in truth["instruments"]} == {"drone/S01_voc.csv", "van/R01_voc.csv"}
    for i in truth["instruments"]:
        assert (field_dir / i["file"]).is_file()
        assert i["total_delay_s"] == pytest.approx(i["clock_offset_s"] + i["lag_s"])
    for name in ("S01.tlog", "S01_airdata.csv", "S01_voc.csv"):
        assert (field_dir / "drone" / name).is_file()
    for name in ("R01.gpx", "R01.nmea", "R01_voc.csv"):
        assert (field_dir / "van" / name).is_file()


def test_concentration_downwind_of_true_emitter_exceeds_background(sim):
    res, field_dir, truth_pos = sim
    for file in ("drone/S01_voc.csv", "van/R01_voc.csv"):
        df = pd.read_csv(field_dir / file)
        tp = truth_pos[(truth_pos["file"] == file) & truth_pos["written"]].sort_values("row")
        tvoc = df["TVOC(ug/m3)"].to_numpy()
        ok = (df["Status"] == "OK").to_numpy() & np.isfinite(tvoc)
        bg = res.truth["background"]["tvoc_ugm3"]
        # east of E1 (downwind under the westerly) vs before the platform left (upwind/idle)
        lon_e1 = 120.450
        down = ok & (tp["lon"].to_numpy() > lon_e1 + 0.002) & (np.abs(tp["lat"].to_numpy() - 36.390) < 0.0015)
        assert down.sum() > 10
        assert np.nanmax(tvoc[down]) > bg + 100.0
        assert np.nanmedian(tvoc[ok & ~down]) == pytest.approx(bg, rel=0.25)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    plans = write_plans(tmp_path / "plans", drone=drone_plan(), van=van_plan())
    simulate(make_area(), plans, tmp_path / "a", seed=7)
    simulate(make_area(), plans, tmp_path / "b", seed=7)
    simulate(make_area(), plans, tmp_path / "c", seed=8)
    a, b, c = digests(tmp_path / "a"), digests(tmp_path / "b"), digests(tmp_path / "c")
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a)


def test_plans_are_read_not_modified_and_either_may_be_absent(tmp_path):
    plan = van_plan()
    before = json.dumps(plan, sort_keys=True)
    res = simulate_plans(make_area(), tmp_path / "out", van_plan=plan, seed=3,
                         start_utc=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    assert json.dumps(plan, sort_keys=True) == before
    assert not (tmp_path / "out" / "drone").exists()
    assert res.truth["start_utc"] == "2026-06-01T02:00:00Z"


def test_wind_override_moves_the_plume(tmp_path):
    plans = write_plans(tmp_path / "plans", van=van_plan())
    res = simulate(make_area(), plans, tmp_path / "out", seed=1, wind=Wind(90, 4, "D"))
    assert res.truth["wind"]["from_deg"] == 90
    tp = pd.read_parquet(tmp_path / "out" / "truth_positions.parquet")
    east = tp["lon"] > 120.452
    # an easterly blows the plumes west, away from the road east of the sources
    assert tp.loc[east, "true_plume_tvoc_ugm3"].max() < 5.0


def test_missing_and_invalid_plans_give_clear_errors(tmp_path):
    with pytest.raises(InputFileNotFoundError, match="drone/plan.json"):
        simulate(make_area(), tmp_path, tmp_path / "out")
    bad = drone_plan()
    bad["schema"] = "ecopatrol.plan/0"
    bad["sorties"][0]["waypoints"][2]["lat"] = None
    write_plans(tmp_path / "p", drone=bad)
    with pytest.raises(ValidationError) as exc:
        simulate(make_area(), tmp_path / "p", tmp_path / "out")
    msg = str(exc.value)
    assert "schema" in msg and "`lat`" in msg and "plan.json" in msg


# ---------------------------------------------------------------------------
# simple tracks, the bundled area, the CLI
# ---------------------------------------------------------------------------

def test_simulate_track_drone_without_plans(tmp_path):
    lon_c = 120.450 + 250 / M_PER_DEG_LON
    res = simulate_track(make_area(), [(lon_c, 36.387), (lon_c, 36.393)], tmp_path, kind="drone",
                         alt_agl_m=20, speed_m_s=3, seed=2, n_emitters=1)
    assert [e["enterprise_id"] for e in res.truth["emitters"]] in (["E1"], ["E3"], ["E2"])
    assert (tmp_path / "drone" / "T01.tlog").is_file()
    tp = pd.read_parquet(tmp_path / "truth_positions.parquet")
    assert tp["alt_agl_m"].max() == pytest.approx(20.0, abs=0.5)


def test_plan_from_track_follows_the_plan_schema():
    p = plan_from_track([(120.4, 36.4), (120.41, 36.4)], kind="van", speed_m_s=7.0)
    r = p["routes"][0]
    assert p["schema"] == "ecopatrol.plan/1" and r["legs"][0]["end_idx"] == len(r["path"]) - 1


@pytest.fixture(scope="module")
def jimo():
    from ecopatrol.core.area import load_area

    return load_area("jimo")


def test_on_the_bundled_jimo_area_a_plan_sees_an_emitter(jimo, tmp_path):
    wind = Wind(315, 4, "D")
    ent = jimo.enterprises.iloc[0].geometry
    # a NE–SW road 400 m downwind (south-east) of the first enterprise
    cx = ent.x + 400 * math.sin(math.radians(135)) / (111_320 * math.cos(math.radians(ent.y)))
    cy = ent.y + 400 * math.cos(math.radians(135)) / 111_320
    step = 200 / 111_320
    pts = [(cx + k * step, cy + k * step) for k in range(-4, 5)]
    res = simulate_track(jimo, pts, tmp_path, kind="van", seed=5, wind=wind)
    assert len(res.truth["emitters"]) == 3
    from ecopatrol.missions._world import SEEN_UGM3_PER_G_S

    assert res.truth["emitters"][0]["max_unit_conc_on_tracks_ugm3_per_g_s"] >= SEEN_UGM3_PER_G_S
    pos = jimo.enterprises.set_index("enterprise_id")["positive_list"]
    assert any(pos[e["enterprise_id"]] for e in res.truth["emitters"])
    tp = pd.read_parquet(tmp_path / "truth_positions.parquet")
    assert tp["true_plume_tvoc_ugm3"].max() > 50.0


def test_cli_simulate_cmd(tmp_path):
    import typer
    from typer.testing import CliRunner

    from ecopatrol.cli_simulate import simulate_cmd

    app = typer.Typer()
    app.command()(simulate_cmd)
    pts = [(120.45, 36.39), (120.46, 36.39)]
    write_plans(tmp_path / "plans", van=plan_from_track(pts, kind="van"))
    r = CliRunner().invoke(app, ["--area", "jimo", "--plans", str(tmp_path / "plans"), "--out",
                                 str(tmp_path / "field"), "--seed", "4", "--wind", "270/3/C"])
    assert r.exit_code == 0, r.output
    assert "truth.json" in r.output
    truth = json.loads((tmp_path / "field" / "truth.json").read_text(encoding="utf-8"))
    assert truth["wind"]["stability"] == "C" and truth["seed"] == 4


def test_sorties_fly_one_after_another_with_the_same_analyser(tmp_path):
    plan = drone_plan()
    second = json.loads(json.dumps(plan["sorties"][0]))
    second["sortie_id"] = "S02"
    plan["sorties"].append(second)
    res = simulate_plans(make_area(), tmp_path, drone_plan=plan, seed=5)
    s1, s2 = res.truth["platforms"]
    assert pd.Timestamp(s2["start_utc"]) - pd.Timestamp(s1["end_utc"]) == pd.Timedelta(minutes=15)
    i1, i2 = (_instrument(res.truth, f"drone/{s}_voc.csv") for s in ("S01", "S02"))
    assert i1["lag_s"] == i2["lag_s"]
    assert abs(i1["clock_offset_s"] - i2["clock_offset_s"]) <= 0.2  # a slow drift only
    for s in ("S01", "S02"):
        assert (tmp_path / "drone" / f"{s}.tlog").is_file()
