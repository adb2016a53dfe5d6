"""Writers of raw field files in real formats, all atomic (temporary file, then rename).

Private plumbing of :mod:`ecopatrol.missions.simulate`. Every writer takes a frame of
WGS-84 ``lon``/``lat`` and metric quantities and does the unit and format conversion
itself (feet, mph, °F for AirData; 1e7 degrees, mm and cm/s for MAVLink; knots and
ddmm.mmmmm for NMEA).
"""

from __future__ import annotations

import io
import json
import re
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core import settings
from ecopatrol.core.io import atomic_write

FT_PER_M = 1.0 / 0.3048
MPH_PER_M_S = 3600.0 / 1609.344
KNOTS_PER_M_S = 3600.0 / 1852.0
ANALYSER_HEADER = "Time,TVOC(ug/m3),Benzene(ppb),Toluene(ppb),Xylene(ppb),Status"
LOCAL_TZ = settings.DEFAULT_TIMEZONE
GEOID_SEPARATION_M = 7.0  # EGM96 geoid height near Qingdao, written in GGA field 11


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :mod:`ecopatrol.core.io`)."""
    atomic_write(path, data)


def write_json(path: Path, obj) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    write_atomic(path, buf.getvalue())


def _fmt(values, spec: str) -> np.ndarray:
    """printf-format a float array; NaN becomes an empty field."""
    v = np.asarray(values, float)
    m = re.fullmatch(r"%\.(\d+)f", spec)
    r = np.round(np.nan_to_num(v), int(m.group(1))) if m else np.nan_to_num(v)
    out = np.char.mod(spec, r + 0.0).astype(object)  # rounded, + 0.0: never "-0.0"
    out[~np.isfinite(v)] = ""
    return out


def _utc_strings(unix_s, fmt: str) -> np.ndarray:
    return pd.to_datetime(np.asarray(unix_s, float), unit="s", utc=True).strftime(fmt).to_numpy(dtype=object)


def _join_rows(columns: list[np.ndarray], sep: str = ",") -> np.ndarray:
    out = columns[0].astype(object)
    for c in columns[1:]:
        out = out + sep + c.astype(object)
    return out


# ---------------------------------------------------------------------------
# Analyser CSV (CONTRACTS.md: Raw field data)
# ---------------------------------------------------------------------------

def write_analyser_csv(path: Path, stamp_unix_s: np.ndarray, readings: pd.DataFrame, *,
                       extra: dict[str, np.ndarray] | None = None) -> None:
    """Analyser export: instrument-clock stamps shown in local time (Asia/Shanghai), CRLF lines.

    ``extra`` adds columns after ``Status`` (header → values), e.g. the van anemometer's
    ``Wind_From(deg)`` and ``Wind_Speed(m/s)`` logged by the analyser PC.
    """
    t = pd.to_datetime(np.asarray(stamp_unix_s, float), unit="s", utc=True).tz_convert(LOCAL_TZ)
    extra = extra or {}
    rows = _join_rows([
        t.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object),
        _fmt(readings["tvoc_ugm3"], "%.1f"),
        _fmt(readings["benzene_ppb"], "%.2f"),
        _fmt(readings["toluene_ppb"], "%.2f"),
        _fmt(readings["xylene_ppb"], "%.2f"),
        readings["status"].to_numpy(dtype=object),
        *(_fmt(v, "%g") for v in extra.values()),
    ])
    header = ",".join([ANALYSER_HEADER, *extra])
    text = header + "\r\n" + "".join(r + "\r\n" for r in rows)
    write_atomic(path, text.encode("ascii"))


def write_puff_csv(path: Path, stamp_unix_s: np.ndarray, tvoc_ugm3: np.ndarray, status: np.ndarray) -> None:
    """The analyser's fast (10 Hz) record of a puff test, in its local time and clock (.1 s stamps)."""
    ds = np.round(np.asarray(stamp_unix_s, float) * 10).astype(np.int64)  # whole tenths: no float truncation
    t = pd.to_datetime(ds * 100, unit="ms", utc=True).tz_convert(LOCAL_TZ)
    stamps = t.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-5].to_numpy(dtype=object)
    rows = _join_rows([stamps, _fmt(tvoc_ugm3, "%.1f"), np.asarray(status, dtype=object)])
    text = "Time,TVOC(ug/m3),Status\r\n" + "".join(r + "\r\n" for r in rows)
    write_atomic(path, text.encode("ascii"))


def write_instrument_toml(path: Path, *, serial: str, timezone: str, response_s: float, puff_file: str,
                          release_utc: str, marker: str, note: str) -> None:
    """The crew's instrument record beside an analyser file (read by ``processing.readers.instrument``)."""
    text = (
        f"# {note}\n"
        "[instrument]\n"
        f'serial = "{serial}"\n'
        f'timezone = "{timezone}"\n'
        f"response_s = {response_s:.1f}  # datasheet T90 / 2.3\n\n"
        "[puff_test]  # a short release of test gas at the inlet, marked on the analyser\n"
        f'file = "{puff_file}"\n'
        f'release_utc = "{release_utc}"  # GPS time of the release\n'
        f'marker_status = "{marker}"\n'
    )
    write_atomic(path, text.encode("utf-8"))


# ---------------------------------------------------------------------------
# DJI AirData-style CSV
# ---------------------------------------------------------------------------

AIRDATA_COLUMNS = (
    "time(millisecond)", "datetime(utc)", "latitude", "longitude", "height_above_takeoff(feet)",
    "height_above_ground_at_drone_location(feet)", "ground_elevation_at_drone_location(feet)",
    "altitude_above_seaLevel(feet)", "height_sonar(feet)", "speed(mph)", "distance(feet)", "mileage(feet)",
    "satellites", "gpslevel", "voltage(v)", "max_altitude(feet)", "max_ascent(feet)", "max_speed(mph)",
    "max_distance(feet)", " xSpeed(mph)", " ySpeed(mph)", " zSpeed(mph)", " compass_heading(degrees)",
    " pitch(degrees)", " roll(degrees)", "isPhoto", "isVideo", "rc_elevator", "rc_aileron", "rc_throttle",
    "rc_rudder", "gimbal_heading(degrees)", "gimbal_pitch(degrees)", "battery_percent", "voltageCell1",
    "voltageCell2", "voltageCell3", "voltageCell4", "voltageCell5", "voltageCell6", "current(A)",
    "battery_temperature(f)", "altitude(feet)", "ascent(feet)", "flycStateRaw", "flycState", "message",
)


def write_airdata_csv(path: Path, tr: pd.DataFrame) -> None:
    """DJI AirData-style CSV (feet, mph, °F; ``datetime(utc)`` to the second, as AirData writes it).

    ``tr`` columns: ``time_unix_s``, ``lon``, ``lat``, ``alt_amsl_m``, ``alt_agl_m``,
    ``height_above_takeoff_m``, ``ground_amsl_m``, ``vel_e_m_s``, ``vel_n_m_s``, ``vel_u_m_s``,
    ``heading_deg``, ``satellites``, ``voltage_v``, ``battery_pct``, ``current_a``,
    ``battery_temp_c``, ``home_x_m``/``home_y_m`` distances via ``dist_home_m``, ``airborne``.
    The leading spaces in some column names are reproduced from real AirData exports.
    """
    t = tr["time_unix_s"].to_numpy(float)
    n = t.size
    ms = np.round((t - t[0]) * 1000.0).astype(np.int64) if n else np.zeros(0, np.int64)
    hat_ft = tr["height_above_takeoff_m"].to_numpy() * FT_PER_M
    speed_mph = np.hypot(tr["vel_e_m_s"], tr["vel_n_m_s"]).to_numpy() * MPH_PER_M_S
    dist_ft = tr["dist_home_m"].to_numpy() * FT_PER_M
    step = np.hypot(np.diff(tr["x_m"].to_numpy(), prepend=tr["x_m"].to_numpy()[:1]),
                    np.diff(tr["y_m"].to_numpy(), prepend=tr["y_m"].to_numpy()[:1]))
    heading = ((tr["heading_deg"].to_numpy() + 180.0) % 360.0) - 180.0  # DJI: -180..180
    v = tr["voltage_v"].to_numpy()
    cell = v / 6.0
    airborne = tr["airborne"].to_numpy(bool)
    fly_raw = np.where(airborne, 14, 0)  # 14 = AutoPilot (waypoint mission), 0 = Manual (on ground)
    fly_state = np.where(airborne, "Waypoint", "Motors Started")
    zero = np.zeros(n)
    cols = [
        ms.astype(str).astype(object), _utc_strings(t, "%Y-%m-%d %H:%M:%S"),
        _fmt(tr["lat"], "%.8f"), _fmt(tr["lon"], "%.8f"), _fmt(hat_ft, "%.1f"),
        _fmt(tr["alt_agl_m"] * FT_PER_M, "%.1f"), _fmt(tr["ground_amsl_m"] * FT_PER_M, "%.1f"),
        _fmt(tr["alt_amsl_m"] * FT_PER_M, "%.1f"), _fmt(zero, "%.1f"), _fmt(speed_mph, "%.1f"),
        _fmt(dist_ft, "%.1f"), _fmt(np.cumsum(step) * FT_PER_M, "%.1f"),
        tr["satellites"].astype(int).astype(str).to_numpy(dtype=object), np.full(n, "5", dtype=object),
        _fmt(v, "%.3f"), _fmt(np.maximum.accumulate(hat_ft) if n else hat_ft, "%.1f"),
        _fmt(np.maximum.accumulate(hat_ft) if n else hat_ft, "%.1f"),
        _fmt(np.maximum.accumulate(speed_mph) if n else speed_mph, "%.1f"),
        _fmt(np.maximum.accumulate(dist_ft) if n else dist_ft, "%.1f"),
        # DJI body-frame-free convention: xSpeed north, ySpeed east, zSpeed down
        _fmt(tr["vel_n_m_s"] * MPH_PER_M_S, "%.1f"), _fmt(tr["vel_e_m_s"] * MPH_PER_M_S, "%.1f"),
        _fmt(-tr["vel_u_m_s"] * MPH_PER_M_S, "%.1f"), _fmt(heading, "%.1f"),
        _fmt(-np.clip(np.hypot(tr["vel_e_m_s"], tr["vel_n_m_s"]).to_numpy() * 1.5, 0, 25), "%.1f"),
        _fmt(zero, "%.1f"), np.full(n, "0", dtype=object), np.full(n, "0", dtype=object),
        np.full(n, "1024", dtype=object), np.full(n, "1024", dtype=object),
        np.full(n, "1024", dtype=object), np.full(n, "1024", dtype=object),
        _fmt(heading, "%.1f"), _fmt(np.full(n, -90.0), "%.1f"),
        tr["battery_pct"].round().astype(int).astype(str).to_numpy(dtype=object),
        *[_fmt(cell, "%.3f") for _ in range(6)],
        _fmt(tr["current_a"], "%.2f"), _fmt(tr["battery_temp_c"] * 9.0 / 5.0 + 32.0, "%.1f"),
        _fmt(tr["alt_amsl_m"] * FT_PER_M, "%.1f"), _fmt(hat_ft, "%.1f"),
        fly_raw.astype(str).astype(object), fly_state.astype(object), np.full(n, "", dtype=object),
    ]
    rows = _join_rows(cols)
    text = ",".join(AIRDATA_COLUMNS) + "\n" + "".join(r + "\n" for r in rows)
    write_atomic(path, text.encode("utf-8"))


# ---------------------------------------------------------------------------
# MAVLink telemetry log (.tlog): 8-byte big-endian µs UTC + packed MAVLink 1 message
# ---------------------------------------------------------------------------

def write_tlog(path: Path, tr: pd.DataFrame) -> int:
    """Write a ground-station telemetry log as Mission Planner / QGroundControl do.

    ``tr`` is a 4 Hz frame with ``rx_unix_us`` (ground-station receive time),
    ``boot_ms``, ``lon``, ``lat``, ``alt_amsl_m``, ``rel_alt_m``, ``vel_e_m_s``,
    ``vel_n_m_s``, ``vel_u_m_s``, ``heading_deg``, ``gps_lon``, ``gps_lat``,
    ``gps_alt_amsl_m``, ``satellites``, ``hdop``, ``voltage_v``, ``current_a``,
    ``battery_pct``, ``armed``, ``true_unix_us`` (the autopilot's GPS-disciplined UTC).
    Streams: GLOBAL_POSITION_INT, VFR_HUD and ATTITUDE at 4 Hz, GPS_RAW_INT at 2 Hz,
    HEARTBEAT (vehicle and GCS), SYSTEM_TIME and SYS_STATUS at 1 Hz. Returns the
    message count.
    """
    from pymavlink.dialects.v10 import ardupilotmega as mavlink

    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    gcs = mavlink.MAVLink(None, srcSystem=255, srcComponent=190)
    n = len(tr)
    rx = tr["rx_unix_us"].to_numpy(np.int64)
    boot = tr["boot_ms"].to_numpy(np.int64)
    lat7 = np.round(tr["lat"].to_numpy() * 1e7).astype(np.int64)
    lon7 = np.round(tr["lon"].to_numpy() * 1e7).astype(np.int64)
    alt_mm = np.round(tr["alt_amsl_m"].to_numpy() * 1000).astype(np.int64)
    rel_mm = np.round(tr["rel_alt_m"].to_numpy() * 1000).astype(np.int64)
    vx = np.round(tr["vel_n_m_s"].to_numpy() * 100).astype(np.int64)
    vy = np.round(tr["vel_e_m_s"].to_numpy() * 100).astype(np.int64)
    vz = np.round(-tr["vel_u_m_s"].to_numpy() * 100).astype(np.int64)
    hdg = tr["heading_deg"].to_numpy() % 360.0
    hdg_c = np.round(hdg * 100).astype(np.int64) % 36000
    gs = np.hypot(tr["vel_e_m_s"], tr["vel_n_m_s"]).to_numpy()
    glat7 = np.round(tr["gps_lat"].to_numpy() * 1e7).astype(np.int64)
    glon7 = np.round(tr["gps_lon"].to_numpy() * 1e7).astype(np.int64)
    galt = np.round(tr["gps_alt_amsl_m"].to_numpy() * 1000).astype(np.int64)
    sats = tr["satellites"].to_numpy(np.int64)
    eph = np.round(tr["hdop"].to_numpy() * 100).astype(np.int64)
    volt = np.round(tr["voltage_v"].to_numpy() * 1000).astype(np.int64)
    curr = np.round(tr["current_a"].to_numpy() * 100).astype(np.int64)
    batt = np.round(tr["battery_pct"].to_numpy()).astype(np.int64)
    armed = tr["armed"].to_numpy(bool)
    true_us = tr["true_unix_us"].to_numpy(np.int64)
    throttle = np.where(armed, np.clip(np.round(45 + 3 * tr["vel_u_m_s"].to_numpy()), 0, 100), 0).astype(int)
    yaw = np.radians(((hdg + 180) % 360) - 180)
    climb = tr["vel_u_m_s"].to_numpy()
    alt_m = tr["alt_amsl_m"].to_numpy()
    has_wind = "wind_from_deg" in tr.columns
    wdir = tr["wind_from_deg"].to_numpy(float) % 360.0 if has_wind else None
    wspd = tr["wind_speed_m_s"].to_numpy(float) if has_wind else None
    out: list[bytes] = []
    pack = struct.Struct(">Q").pack
    sensors = 0x0160FC2F
    for i in range(n):  # one MAVLink message at a time: pymavlink packs per message
        ts = int(rx[i])
        if i % 4 == 0:
            base = (mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | mavlink.MAV_MODE_FLAG_STABILIZE_ENABLED
                    | mavlink.MAV_MODE_FLAG_GUIDED_ENABLED | (mavlink.MAV_MODE_FLAG_SAFETY_ARMED if armed[i] else 0))
            out.append(pack(ts) + mavlink.MAVLink_heartbeat_message(
                mavlink.MAV_TYPE_QUADROTOR, mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA, base,
                3 if armed[i] else 0, mavlink.MAV_STATE_ACTIVE if armed[i] else mavlink.MAV_STATE_STANDBY,
                3).pack(mav))
            out.append(pack(ts + 3000) + mavlink.MAVLink_heartbeat_message(
                mavlink.MAV_TYPE_GCS, mavlink.MAV_AUTOPILOT_INVALID, 0, 0, 0, 3).pack(gcs))
            out.append(pack(ts + 5000) + mavlink.MAVLink_system_time_message(
                int(true_us[i]), int(boot[i]) & 0xFFFFFFFF).pack(mav))
            out.append(pack(ts + 6000) + mavlink.MAVLink_sys_status_message(
                sensors, sensors, sensors, 250, int(volt[i]), int(curr[i]), int(batt[i]),
                0, 0, 0, 0, 0, 0).pack(mav))
        if i % 2 == 0:
            out.append(pack(ts + 1000) + mavlink.MAVLink_gps_raw_int_message(
                int(boot[i]) * 1000, 3, int(glat7[i]), int(glon7[i]), int(galt[i]), int(eph[i]),
                int(eph[i] * 1.6), int(round(gs[i] * 100)), int(hdg_c[i]), int(sats[i])).pack(mav))
        out.append(pack(ts + 2000) + mavlink.MAVLink_global_position_int_message(
            int(boot[i]), int(lat7[i]), int(lon7[i]), int(alt_mm[i]), int(rel_mm[i]),
            int(vx[i]), int(vy[i]), int(vz[i]), int(hdg_c[i])).pack(mav))
        out.append(pack(ts + 2500) + mavlink.MAVLink_attitude_message(
            int(boot[i]), 0.0, float(-0.02 * gs[i]), float(yaw[i]), 0.0, 0.0, 0.0).pack(mav))
        if has_wind and i % 4 == 2 and np.isfinite(wdir[i]):  # ArduPilot WIND (#168): direction the wind comes FROM, deg
            out.append(pack(ts + 4500) + mavlink.MAVLink_wind_message(
                float(wdir[i]), float(wspd[i]), 0.0).pack(mav))
        out.append(pack(ts + 4000) + mavlink.MAVLink_vfr_hud_message(
            float(gs[i]), float(gs[i]), int(round(hdg[i])) % 360, int(throttle[i]), float(alt_m[i]),
            float(climb[i])).pack(mav))
    write_atomic(path, b"".join(out))
    return len(out)


# ---------------------------------------------------------------------------
# Van GPS: GPX 1.1 and NMEA 0183
# ---------------------------------------------------------------------------

def write_gpx(path: Path, fixes: pd.DataFrame, *, name: str) -> None:
    """GPX 1.1 track, a new ``trkseg`` after each gap in the fixes.

    ``fixes``: ``time_unix_s``, ``lon``, ``lat``, ``alt_amsl_m``, ``satellites``, ``hdop``,
    ``valid`` (invalid fixes are not written), ``segment`` (int).
    """
    f = fixes[fixes["valid"].to_numpy(bool)]
    pts = _join_rows([
        np.full(len(f), '<trkpt lat="', dtype=object), _fmt(f["lat"], "%.7f"),
        np.full(len(f), '" lon="', dtype=object), _fmt(f["lon"], "%.7f"),
        np.full(len(f), '"><ele>', dtype=object), _fmt(f["alt_amsl_m"], "%.1f"),
        np.full(len(f), "</ele><time>", dtype=object), _utc_strings(f["time_unix_s"], "%Y-%m-%dT%H:%M:%SZ"),
        np.full(len(f), "</time><sat>", dtype=object), f["satellites"].astype(int).astype(str).to_numpy(dtype=object),
        np.full(len(f), "</sat><hdop>", dtype=object), _fmt(f["hdop"], "%.1f"),
        np.full(len(f), "</hdop></trkpt>", dtype=object),
    ], sep="")
    seg = f["segment"].to_numpy()
    new_seg = np.concatenate([[False], seg[1:] != seg[:-1]]) if len(seg) else np.zeros(0, bool)
    pts = np.where(new_seg, "</trkseg>\n<trkseg>\n" + pts.astype(str), pts.astype(str))
    t0 = _utc_strings(f["time_unix_s"].iloc[:1], "%Y-%m-%dT%H:%M:%SZ")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="ecopatrol simulate" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">\n'
        f"<metadata><name>{name}</name>" + (f"<time>{t0[0]}</time>" if len(t0) else "") + "</metadata>\n"
        f"<trk><name>{name}</name><trkseg>\n"
    )
    text = head + "".join(p + "\n" for p in pts) + "</trkseg></trk>\n</gpx>\n"
    write_atomic(path, text.encode("utf-8"))


def nmea_checksums(bodies: np.ndarray) -> np.ndarray:
    """XOR of the bytes between ``$`` and ``*`` of each sentence body (vectorised)."""
    b = np.asarray(bodies, dtype="S")
    if b.size == 0:
        return np.zeros(0, np.uint8)
    arr = np.frombuffer(b.tobytes(), np.uint8).reshape(b.size, b.dtype.itemsize)
    return np.bitwise_xor.reduce(arr, axis=1)


def _nmea_coord(value, deg_digits: int, hemis: tuple[str, str]):
    v = np.asarray(value, float)
    tot = np.round(np.abs(v) * 60.0 * 1e5).astype(np.int64)  # 1e-5 minute units
    deg = tot // 6_000_000
    rem = tot % 6_000_000
    txt = np.char.mod(f"%0{deg_digits}d", deg).astype(object) + np.char.mod("%02d", rem // 100_000).astype(object) \
        + "." + np.char.mod("%05d", rem % 100_000).astype(object)
    return txt, np.where(v >= 0, hemis[0], hemis[1]).astype(object)


def write_nmea(path: Path, fixes: pd.DataFrame) -> None:
    """GGA + RMC per fix (NMEA 0183 v2.3, talker GP), CRLF; invalid fixes as empty/void sentences.

    ``fixes`` as for :func:`write_gpx` plus ``speed_m_s`` and ``course_deg``; rows with
    ``logged`` False are not written (a gap in the log).
    """
    f = fixes[fixes["logged"].to_numpy(bool)]
    n = len(f)
    t = f["time_unix_s"].to_numpy(float)
    hms = _utc_strings(t, "%H%M%S") + "." + np.char.mod("%02d", np.round((t % 1) * 100).astype(int)).astype(object)
    date = _utc_strings(t, "%d%m%y")
    lat, ns = _nmea_coord(f["lat"], 2, ("N", "S"))
    lon, ew = _nmea_coord(f["lon"], 3, ("E", "W"))
    valid = f["valid"].to_numpy(bool)
    e = np.full(n, "", dtype=object)
    msl = _fmt(f["alt_amsl_m"], "%.1f")
    gga = _join_rows([
        np.full(n, "GPGGA", dtype=object), hms, np.where(valid, lat, e), np.where(valid, ns, e),
        np.where(valid, lon, e), np.where(valid, ew, e), np.where(valid, "1", "0").astype(object),
        np.where(valid, np.char.mod("%02d", f["satellites"].to_numpy(int)), "00").astype(object),
        np.where(valid, _fmt(f["hdop"], "%.1f"), "99.9").astype(object),
        np.where(valid, msl, e), np.full(n, "M", dtype=object),
        np.where(valid, f"{GEOID_SEPARATION_M:.1f}", "").astype(object), np.full(n, "M", dtype=object), e, e,
    ])
    rmc = _join_rows([
        np.full(n, "GPRMC", dtype=object), hms, np.where(valid, "A", "V").astype(object),
        np.where(valid, lat, e), np.where(valid, ns, e), np.where(valid, lon, e), np.where(valid, ew, e),
        np.where(valid, _fmt(f["speed_m_s"] * KNOTS_PER_M_S, "%.2f"), e),
        np.where(valid, _fmt(f["course_deg"] % 360.0, "%.1f"), e), date, e, e,
        np.where(valid, "A", "N").astype(object),
    ])
    bodies = np.empty(2 * n, dtype=object)
    bodies[0::2] = gga
    bodies[1::2] = rmc
    cs = nmea_checksums(bodies.astype(str))
    lines = "$" + bodies + "*" + np.char.mod("%02X", cs).astype(object) + "\r\n"
    write_atomic(path, "".join(lines).encode("ascii"))
