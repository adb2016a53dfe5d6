"""Readers: real logs (UTC with the right leap seconds), small inline factories for every
format, unit conversions, quarantine of bad rows and clear errors for bad files."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecopatrol.core.errors import FormatError, InputError
from ecopatrol.processing._time import gps_week_to_utc
from ecopatrol.processing.readers import detect_format, read_any
from ecopatrol.processing.readers.tabular import convert_units


def _accounted(r):
    return len(r.frame) + len(r.quarantine) == r.rows_read


# ---------------------------------------------------------------------------- real files


def test_arducopter_2015_log_uses_17_leap_seconds(shared_data):
    from pymavlink import DFReader

    r = read_any(shared_data / "logs" / "arducopter_log171.bin")
    assert r.format == "dataflash" and r.kind == "track"
    assert len(r.frame) == 1038 and _accounted(r)
    # Independent reference: the first 3-D fix's GPS week/ms minus exactly 17 s.
    gps = []
    df = DFReader.DFReader_binary(str(shared_data / "logs" / "arducopter_log171.bin"))
    while (m := df.recv_match(type="GPS")) is not None:
        if m.Week > 0 and m.Status >= 2:
            gps.append((m.Week, m.TimeMS))
            break
    week, ms = gps[0]
    expected = pd.Timestamp("1980-01-06T00:00:00Z") + pd.Timedelta(weeks=week, milliseconds=ms) - pd.Timedelta(seconds=17)
    assert r.frame["time_utc"].iloc[0] == expected
    assert r.frame["time_utc"].iloc[0].strftime("%Y-%m-%d %H:%M") == "2015-11-21 23:44"
    assert r.frame["lat"].between(-35.37, -35.36).all() and r.frame["lon"].between(149.16, 149.17).all()


def test_sitl_log_new_style_gps_fields(shared_data):
    r = read_any(shared_data / "logs" / "ardupilot_sitl_test.BIN")
    assert r.rows_read == 5 and len(r.frame) == 5
    assert r.frame["time_utc"].iloc[0] == pd.Timestamp("2017-10-29T01:47:10Z")


def test_px4_ulog(shared_data):
    r = read_any(shared_data / "logs" / "px4_sample_log_small.ulg")
    assert r.format == "ulog" and r.rows_read == 32 and _accounted(r)
    t = r.frame["time_utc"]
    assert t.iloc[0].strftime("%Y-%m-%d") == "2021-04-21"
    assert (t.diff().dropna().dt.total_seconds().between(0.1, 0.3)).all()
    assert r.frame["lat"].between(63.4, 63.43).all() and {"wind_from_deg", "wind_speed_m_s"} <= set(r.frame)


def test_picarro_malformed_row_quarantined(shared_data):
    r = read_any(shared_data / "mobile" / "cfads_20170315-155022Z.dat")
    assert r.format == "picarro-dat" and r.kind == "track+sensor"
    assert r.rows_read == 4570 and len(r.frame) == 4569 and len(r.quarantine) == 1
    assert "wrong number of fields" in r.quarantine["reason"].iloc[0]
    assert r.frame["ch4_ppm"].between(1.9, 4.9).all()
    assert r.frame["time_utc"].iloc[0] == pd.Timestamp("2017-03-15T15:50:18.136Z")


# ---------------------------------------------------------------------------- tlog


def _write_tlog(path, n=20, t0_unix=1_747_011_600.0, boot_ms0=120_000):
    from pymavlink.dialects.v20 import common as mavlink

    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    out = bytearray()
    for i in range(n):
        boot = boot_ms0 + i * 250
        host_us = int((t0_unix + i * 0.25 + 0.4) * 1e6)  # ground station receives 0.4 s late
        msgs = [mav.global_position_int_encode(boot, int((36.38 + i * 1e-5) * 1e7), int(120.45 * 1e7),
                                               50_000, 30_000, 500, 0, 0, 0)]
        if i % 4 == 0:
            msgs.append(mav.system_time_encode(int((t0_unix + i * 0.25) * 1e6), boot))
            msgs.append(mav.gps_raw_int_encode(int((t0_unix + i * 0.25) * 1e6), 3, int(36.38 * 1e7),
                                               int(120.45 * 1e7), 50_000, 90, 120, 500, 0, 12))
        for m in msgs:
            out += struct.pack(">Q", host_us) + m.pack(mav)
    path.write_bytes(bytes(out))
    return path


def test_tlog_times_from_system_time(tmp_path):
    p = _write_tlog(tmp_path / "s.tlog")
    r = read_any(p)
    assert r.format == "tlog" and r.rows_read == 20 and _accounted(r)
    assert r.frame["time_utc"].iloc[0] == pd.Timestamp(1_747_011_600.0 * 1e9, tz="UTC")
    assert r.frame["alt_amsl_m"].iloc[0] == pytest.approx(50.0)
    assert r.frame["height_above_takeoff_m"].iloc[0] == pytest.approx(30.0)
    assert r.frame["speed_m_s"].iloc[0] == pytest.approx(5.0)
    assert r.frame["gps_fix"].iloc[0] == 3 and r.frame["hdop"].iloc[0] == pytest.approx(0.9)
    assert r.meta["time_source"] == "SYSTEM_TIME.time_unix_usec"


# ---------------------------------------------------------------------------- DJI


def test_dji_airdata_units_and_subsecond_time(tmp_path):
    p = tmp_path / "flight.csv"
    ms = np.arange(0, 3000, 100)
    dt = pd.to_datetime(1_747_011_600.3 * 1e9 + ms * 1e6, utc=True).floor("s").strftime("%Y-%m-%d %H:%M:%S")
    df = pd.DataFrame({
        "time(millisecond)": ms, "datetime(utc)": dt, "latitude": 36.38, "longitude": 120.45,
        "height_above_takeoff(feet)": 100.0, "altitude_above_seaLevel(feet)": 150.0,
        "speed(mph)": 22.369, "satellites": 14, "gpslevel": 5, "battery_temperature(f)": 212.0,
    })
    df["latitude"] = df["latitude"].astype(object)
    df.loc[3, "latitude"] = "garbage"
    df.to_csv(p, index=False)
    r = read_any(p)
    assert r.format == "dji-airdata-csv" and _accounted(r) and len(r.quarantine) == 1
    assert r.quarantine["row"].iloc[0] == 4
    f = r.frame
    assert f["alt_amsl_m"].iloc[0] == pytest.approx(45.72)
    assert f["height_above_takeoff_m"].iloc[0] == pytest.approx(30.48)
    assert f["speed_m_s"].iloc[0] == pytest.approx(10.0, abs=1e-3)
    assert f["battery_temperature_c"].iloc[0] == pytest.approx(100.0)
    # Sub-second times recovered within the 0.1 s log step from whole-second datetimes.
    err = (f["time_utc"].astype("int64") / 1e9 - (1_747_011_600.3 + f["source_row"].sub(1) * 0.1)).abs()
    assert err.max() < 0.1


# ---------------------------------------------------------------------------- GPX / NMEA


def test_gpx_points_without_time_quarantined(tmp_path):
    p = tmp_path / "t.gpx"
    p.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        '<trkpt lat="36.38" lon="120.45"><ele>10</ele><time>2026-05-12T01:00:00Z</time></trkpt>'
        '<trkpt lat="36.3801" lon="120.45"><ele>10</ele></trkpt>'
        '<trkpt lat="36.3802" lon="120.45"><ele>11</ele><time>2026-05-12T01:00:02Z</time></trkpt>'
        "</trkseg></trk></gpx>")
    r = read_any(p)
    assert r.format == "gpx" and r.rows_read == 3 and len(r.frame) == 2
    assert r.quarantine["reason"].iloc[0] == "track point without a time"


def _nmea(body: str) -> str:
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"${body}*{cs:02X}"


def test_nmea_gga_rmc_dates_checksums_and_midnight(tmp_path):
    lines = [
        _nmea("GPRMC,235959.00,A,3622.8000,N,12027.0000,E,16.2,90.0,110526,,,A"),
        _nmea("GPGGA,235959.00,3622.8000,N,12027.0000,E,1,10,0.9,12.0,M,5.0,M,,"),
        _nmea("GPGSV,3,1,10,01,40,083,46"),
        _nmea("GPGGA,000000.00,3622.8000,N,12027.0100,E,1,10,0.9,12.0,M,5.0,M,,"),
        _nmea("GPGGA,000001.00,3622.8000,N,12027.0200,E,1,10,0.9,12.0,M,5.0,M,,")[:-2] + "00",  # bad checksum
        _nmea("GPGGA,000002.00,3622.8000,N,12027.0300,E,0,00,99,12.0,M,5.0,M,,"),  # no fix
        "garbage line",
    ]
    p = tmp_path / "van.nmea"
    p.write_text("\r\n".join(lines) + "\r\n")
    r = read_any(p)
    assert r.format == "nmea" and _accounted(r)
    assert len(r.frame) == 2 and r.rows_read == 5
    t = r.frame["time_utc"]
    assert t.iloc[0] == pd.Timestamp("2026-05-11T23:59:59Z") and t.iloc[1] == pd.Timestamp("2026-05-12T00:00:00Z")
    assert r.frame["lat"].iloc[0] == pytest.approx(36.38)
    assert r.frame["lon"].iloc[0] == pytest.approx(120.45)
    assert r.frame["speed_m_s"].iloc[0] == pytest.approx(16.2 * 1852 / 3600)
    assert set(r.quarantine["reason"]) == {"bad NMEA checksum", "no GPS fix (GGA quality 0 / RMC status V)",
                                           "not an NMEA sentence"}


# ---------------------------------------------------------------------------- analyser / mapped CSV


def test_analyser_csv_local_time_and_bad_rows(tmp_path):
    p = tmp_path / "S01_voc.csv"
    p.write_text("Time,TVOC(ug/m3),Benzene(ppb),Toluene(ppb),Xylene(ppb),Status\n"
                 "2026-05-12 09:00:00.5,120.5,1.2,3.4,0.5,OK\n"
                 "2026-05-12 09:00:01.5,abc,1.2,3.4,0.5,OK\n"
                 "not a time,100,1,1,1,OK\n"
                 "2026-05-12 09:00:03.5,,,,,OK\n"
                 "2026-05-12 09:00:04.5,-2.0,,3.0,0.4,FAULT\n")
    r = read_any(p)
    assert r.format == "analyser-csv" and r.kind == "sensor" and _accounted(r)
    assert r.species == ["tvoc_ugm3", "benzene_ppb", "toluene_ppb", "xylene_ppb"]
    assert r.frame["time_utc"].iloc[0] == pd.Timestamp("2026-05-12T01:00:00.5Z")
    assert len(r.frame) == 2
    reasons = dict(zip(r.quarantine["row"], r.quarantine["reason"], strict=True))
    assert "TVOC(ug/m3)" in reasons[2] and "time" in reasons[3] and "no concentration" in reasons[4]
    assert r.quarantine.loc[r.quarantine["row"] == 2, "TVOC(ug/m3)"].iloc[0] == "abc"
    utc = read_any(p, tz="UTC")
    assert utc.frame["time_utc"].iloc[0] == pd.Timestamp("2026-05-12T09:00:00.5Z")


def test_mapped_csv_with_unit_conversion_and_gcj02(tmp_path):
    p = tmp_path / "station.txt"
    p.write_text("stamp;NO2;Benz;lng;lat\n12/05/2026 09:00:00;94.0;1.0;120.455;36.382\n"
                 "12/05/2026 09:00:10;bad;1.0;120.455;36.382\n")
    m = tmp_path / "map.toml"
    m.write_text('[time]\ncolumn = "stamp"\nformat = "%d/%m/%Y %H:%M:%S"\ntimezone = "Asia/Shanghai"\n'
                 '[instrument]\ndelimiter = ";"\nlag_s = 6.0\n'
                 '[position]\nlon = "lng"\nlat = "lat"\ncrs = "gcj02"\n'
                 '[[columns]]\nsource = "NO2"\nname = "no2"\nunit = "ug/m3"\nto = "ppb"\n'
                 '[[columns]]\nsource = "Benz"\nname = "benzene"\nunit = "ppb"\nto = "ug/m3"\n')
    r = read_any(p, mapping=m)
    assert r.format == "mapped-csv" and r.kind == "track+sensor" and _accounted(r) and len(r.quarantine) == 1
    f = r.frame
    assert f["time_utc"].iloc[0] == pd.Timestamp("2026-05-12T01:00:00Z")
    assert f["no2_ppb"].iloc[0] == pytest.approx(94.0 * 24.465 / 46.0055, rel=1e-6)
    assert f["benzene_ugm3"].iloc[0] == pytest.approx(78.11 / 24.465, rel=1e-6)
    # GCJ-02 converted to WGS-84 once: a few hundred metres west/south.
    assert 120.449 < f["lon"].iloc[0] < 120.455 and r.meta["lag_s"] == 6.0


def test_unit_conversions_roundtrip_and_refuse_tvoc():
    v = np.array([10.0, 250.0])
    assert convert_units(convert_units(v, "toluene", "ug/m3", "ppb"), "toluene", "ppb", "ug/m3") == pytest.approx(v)
    assert convert_units(v, "x", "ppm", "ppb") == pytest.approx(v * 1000)
    with pytest.raises(InputError, match="molar mass"):
        convert_units(v, "tvoc", "ug/m3", "ppb")


def test_mapping_with_wrong_column_names_names_them(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("t,x\n2026-05-12 09:00:00,1\n")
    with pytest.raises(FormatError, match=r"\['NO2'\]"):
        read_any(p, mapping={"time": {"column": "t"}, "columns": [{"source": "NO2", "unit": "ppb"}]})


# ---------------------------------------------------------------------------- bad files


def test_empty_file(tmp_path):
    p = tmp_path / "empty.bin"
    p.write_bytes(b"")
    with pytest.raises(FormatError, match="empty.bin.*empty"):
        read_any(p)


def test_binary_garbage(tmp_path):
    p = tmp_path / "noise.tlog"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(FormatError, match="noise.tlog"):
        read_any(p)


def test_truncated_dataflash_and_gpx(tmp_path, shared_data):
    data = (shared_data / "logs" / "arducopter_log171.bin").read_bytes()
    p = tmp_path / "cut.bin"
    p.write_bytes(data[:2000])
    with pytest.raises(FormatError, match="cut.bin"):
        read_any(p)
    half = tmp_path / "half.bin"
    half.write_bytes(data[: len(data) // 2])
    r = read_any(half)  # a log cut mid-flight keeps what was written
    assert 0 < len(r.frame) < 1038 and _accounted(r)
    g = tmp_path / "cut.gpx"
    g.write_text('<?xml version="1.0"?><gpx version="1.1"><trk><trkseg><trkpt lat="36.3" lon="120.4"><ti')
    with pytest.raises(FormatError, match="cut.gpx"):
        read_any(g)


def test_mislabelled_files_are_read_by_content(tmp_path, shared_data):
    p = tmp_path / "really_a_ulog.bin"
    p.write_bytes((shared_data / "logs" / "px4_sample_log_small.ulg").read_bytes())
    assert detect_format(p) == "ulog" and read_any(p).format == "ulog"
    q = tmp_path / "track.dat"
    q.write_text(_nmea("GPRMC,010000.00,A,3622.8000,N,12027.0000,E,0.0,0.0,120526,,,A") + "\n")
    assert read_any(q).format == "nmea"
    c = tmp_path / "log.bin"
    c.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FormatError, match="log.bin.*mapping"):
        read_any(c)


def test_gps_week_to_utc_leap_table():
    # 2015-06-28, 2015-07-04; GPS 2017-01-01T00:00:00 is still 2016 in UTC (17 s); a day later 18 s.
    ms = [0, 604_799_000, 0, 86_400_000]
    weeks = [1851, 1851, 1930, 1930]
    t = gps_week_to_utc(weeks, ms)
    gps = pd.Timestamp("1980-01-06T00:00:00Z")
    raw = [gps + pd.Timedelta(weeks=w, milliseconds=m) for w, m in zip(weeks, ms, strict=True)]
    assert [(r - u).total_seconds() for r, u in zip(raw, t, strict=True)] == [16.0, 17.0, 17.0, 18.0]
    assert t[2] == pd.Timestamp("2016-12-31T23:59:43Z")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["good", "badnum", "badtime", "empty", "fault"]), min_size=1, max_size=30))
def test_analyser_rows_are_all_accounted(tmp_path_factory, kinds):
    lines = ["Time,TVOC(ug/m3),Benzene(ppb),Status"]
    for i, k in enumerate(kinds):
        ts = f"2026-05-12 09:{i // 60:02d}:{i % 60:02d}"
        lines.append({"good": f"{ts},100.5,1.0,OK", "badnum": f"{ts},1O0,1.0,OK", "badtime": "yesterday,100,1,OK",
                      "empty": f"{ts},,,OK", "fault": f"{ts},100,1,FLT"}[k])
    p = tmp_path_factory.mktemp("a") / "voc.csv"
    p.write_text("\n".join(lines) + "\n")
    bad = sum(k in ("badnum", "badtime", "empty") for k in kinds)
    r = read_any(p)  # a file of only bad rows is read too: everything goes to quarantine
    assert r.rows_read == len(kinds) and len(r.quarantine) == bad and _accounted(r)
    assert sorted(r.quarantine["row"]) == [i + 1 for i, k in enumerate(kinds) if k in ("badnum", "badtime", "empty")]
