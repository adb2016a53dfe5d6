"""ArduPilot DataFlash logs (``.bin`` binary, ``.log`` text) and MAVLink telemetry logs (``.tlog``).

DataFlash ``GPS`` records carry GPS time as ``GWk``/``GMS`` (new) or ``Week``/``TimeMS``
(old); they are converted with the leap seconds in force on that date (pymavlink's own
clock hard-codes 18 s). A ``.tlog`` gets UTC from ``SYSTEM_TIME.time_unix_usec`` (the
autopilot's GPS-disciplined clock) mapped onto ``time_boot_ms``; when a log has no
``SYSTEM_TIME``, ``GPS_RAW_INT.time_usec`` (when it is a Unix time) and last the ground
station's own receive clock are used, and ``meta['time_source']`` says which.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError
from .._time import gps_week_to_utc, unix_to_utc
from ._common import ReadResult, finalize, first_reason, split_bad
from ._safe import num_col, quiet_stdout

log = logging.getLogger(__name__)


def _collect(reader, types: list[str], path: Path, limit: int | None = None) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in types}
    try:
        with quiet_stdout(path):
            _collect_into(reader, types, out, limit)
    except Exception as exc:  # pymavlink raises bare errors on corrupt data
        if not any(out.values()):
            raise FormatError(f"`{path.name}`: not a readable MAVLink/DataFlash log ({exc}); "
                              "check the file is complete and of the format its extension says") from exc
        log.warning("%s: log ends in a corrupt record after %d messages (%s); kept what was read",
                    path.name, sum(len(v) for v in out.values()), exc)
    return out


def _collect_into(reader, types: list[str], out: dict[str, list[dict]], limit: int | None) -> None:
    while True:
        m = reader.recv_match(type=types)
        if m is None:
            break
        d = m.to_dict()
        d["_timestamp"] = getattr(m, "_timestamp", np.nan)
        out[m.get_type()].append(d)
        if limit and sum(len(v) for v in out.values()) >= limit:
            break


def read_dataflash(path: Path, *, text: bool = False) -> ReadResult:
    """Read the ``GPS`` records of an ArduPilot DataFlash log into a track."""
    from pymavlink import DFReader

    try:
        with quiet_stdout(path):
            reader = DFReader.DFReader_text(str(path)) if text else DFReader.DFReader_binary(str(path))
    except Exception as exc:
        raise FormatError(f"`{path.name}`: not a readable DataFlash log ({exc}); "
                          "it may be truncated or not an ArduPilot .bin/.log") from exc
    msgs = _collect(reader, ["GPS"], path)["GPS"]
    if not msgs:
        raise FormatError(f"`{path.name}`: DataFlash log with no GPS records: nothing to georeference "
                          "(was GPS logging enabled? LOG_BITMASK)")
    raw = pd.DataFrame(msgs).drop(columns=["mavpackettype"], errors="ignore")
    missing = [c for c in ("Lat", "Lng") if c not in raw.columns]
    if missing:
        raise FormatError(f"`{path.name}`: DataFlash GPS records without {missing}: the FMT record of GPS is "
                          "corrupt or of an unknown layout; export the log again")
    if "I" in raw.columns:  # multi-receiver logs: keep the first receiver (as before)
        inst = num_col(raw, "I", len(raw))
        if np.isfinite(inst).any():
            raw = raw.loc[~(inst > np.nanmin(inst))].reset_index(drop=True)
    if "GWk" in raw.columns:
        week, ms = raw["GWk"], raw["GMS"]
    elif "Week" in raw.columns:
        week, ms = raw["Week"], raw["TimeMS"]
    else:
        raise FormatError(f"`{path.name}`: GPS records have neither GWk/GMS nor Week/TimeMS: "
                          "unknown DataFlash GPS layout")
    n = len(raw)
    week = pd.to_numeric(week, errors="coerce").to_numpy(float)
    ms = pd.to_numeric(ms, errors="coerce").to_numpy(float)
    status = num_col(raw, "Status", n)
    lat = num_col(raw, "Lat", n)
    lon = num_col(raw, "Lng", n)
    # GPS weeks 1000-4000 cover 1999-2056; ms of week within a week.
    week_ok = np.isfinite(week) & (week >= 1000) & (week <= 4000)
    ms_ok = np.isfinite(ms) & (ms >= 0) & (ms < 604_800_000)
    reason = first_reason(
        (np.isfinite(week) & (week <= 0), "no GPS time (GPS week 0: receiver had no fix yet)"),
        (~week_ok | ~ms_ok, "GPS week/ms out of range (corrupt record)"),
        (status < 2, "no GPS fix (Status < 2)"),
        (~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 180),
         "position not a valid lon/lat (corrupt record)"),
        ((lat == 0) & (lon == 0), "position 0,0 (no fix)"),
        n=n,
    )
    ok_t = week_ok & ms_ok
    frame = pd.DataFrame({
        "time_utc": gps_week_to_utc(np.where(ok_t, week, 1000.0), np.where(ok_t, ms, 0.0)),
        "lon": lon, "lat": lat,
        "alt_amsl_m": num_col(raw, "Alt", n),
        "speed_m_s": num_col(raw, "Spd", n),
        "gps_fix": status,
        "n_sats": num_col(raw, "NSats", n),
        "hdop": num_col(raw, "HDop", n),
    })
    if "RelAlt" in raw:
        frame["height_above_takeoff_m"] = num_col(raw, "RelAlt", n)
    kept, q = split_bad(frame, reason, path, raw, np.arange(1, n + 1))
    fmt = "dataflash-text" if text else "dataflash"
    return ReadResult(path, fmt, "track", finalize(kept), q, n, {"time_source": "GPS week/ms, table leap seconds"})


def read_tlog(path: Path) -> ReadResult:
    """Read a MAVLink telemetry log: positions from GLOBAL_POSITION_INT (else GPS_RAW_INT)."""
    from pymavlink import mavutil

    # pymavlink's dialect is process-global: an uploader that opened a link with the `common`
    # dialect would leave a reader unable to decode ArduPilot's WIND. Say which one we read.
    mavutil.set_dialect("ardupilotmega")
    try:
        with quiet_stdout(path):
            reader = mavutil.mavlogfile(str(path), notimestamps=False)
    except Exception as exc:
        raise FormatError(f"`{path.name}`: not a readable MAVLink telemetry log ({exc})") from exc
    got = _collect(reader, ["GLOBAL_POSITION_INT", "GPS_RAW_INT", "SYSTEM_TIME", "WIND"], path)
    gpi, gps, st = (pd.DataFrame(got[k]) for k in ("GLOBAL_POSITION_INT", "GPS_RAW_INT", "SYSTEM_TIME"))
    if gpi.empty and gps.empty:
        raise FormatError(f"`{path.name}`: telemetry log with no GLOBAL_POSITION_INT or GPS_RAW_INT "
                          "messages: no positions (is it a MAVLink .tlog from a vehicle with GPS?)")
    offset_s, time_source = _tlog_boot_offset(st)
    if not gpi.empty:
        raw, frame = _tlog_positions_gpi(gpi, gps, pd.DataFrame(got["WIND"]), offset_s)
    else:
        raw, frame, time_source = _tlog_positions_gps(gps, offset_s, time_source)
    n = len(frame)
    fix = frame["gps_fix"].to_numpy(float) if "gps_fix" in frame else np.full(n, 3.0)
    reason = first_reason(
        ((frame["lat"] == 0) & (frame["lon"] == 0), "position 0,0 (no GPS fix)"),
        (fix < 2, "no GPS fix (fix_type < 2)"),
        (frame["time_utc"].isna(), "no time"),
        n=n,
    )
    kept, q = split_bad(frame, reason, path, raw.drop(columns=["_timestamp"], errors="ignore"), np.arange(1, n + 1))
    return ReadResult(path, "tlog", "track", finalize(kept), q, n, {"time_source": time_source})


def _tlog_boot_offset(st: pd.DataFrame) -> tuple[float, str]:
    """Unix time − time since boot (s) from ``SYSTEM_TIME``, and the time source it gives (NaN: none)."""
    offset_s = np.nan
    time_source = "ground-station receive clock"
    if not st.empty:
        ok = (st["time_unix_usec"] > 1e15) & (st["time_boot_ms"] > 0)
        if ok.any():
            offset_s = float(np.median(st.loc[ok, "time_unix_usec"] / 1e6 - st.loc[ok, "time_boot_ms"] / 1e3))
            time_source = "SYSTEM_TIME.time_unix_usec"
    return offset_s, time_source


def _nearest_on_receive_clock(raw: pd.DataFrame, other: pd.DataFrame, **kw) -> pd.DataFrame:
    """``other``'s rows matched to each row of ``raw`` by the nearest ``_timestamp``, in ``raw``'s order."""
    return pd.merge_asof(raw[["_timestamp"]].reset_index().sort_values("_timestamp"), other,
                         on="_timestamp", direction="nearest", **kw).sort_values("index")


def _tlog_positions_gpi(gpi: pd.DataFrame, gps: pd.DataFrame, wind: pd.DataFrame,
                        offset_s: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Track rows from GLOBAL_POSITION_INT, with fix quality from GPS_RAW_INT and ArduPilot's WIND.

    Returns ``(raw, frame)``: the raw messages and the track columns, row for row.
    """
    raw = gpi.drop(columns=["mavpackettype"], errors="ignore")
    if np.isfinite(offset_s):
        t = unix_to_utc(raw["time_boot_ms"].to_numpy(float) / 1e3 + offset_s)
    else:
        t = unix_to_utc(raw["_timestamp"].to_numpy(float))
    frame = pd.DataFrame({
        "time_utc": t,
        "lon": raw["lon"].to_numpy(float) / 1e7, "lat": raw["lat"].to_numpy(float) / 1e7,
        "alt_amsl_m": raw["alt"].to_numpy(float) / 1e3,
        "height_above_takeoff_m": raw["relative_alt"].to_numpy(float) / 1e3,
        "speed_m_s": np.hypot(raw["vx"].to_numpy(float), raw["vy"].to_numpy(float)) / 100.0,
    })
    if not gps.empty:  # fix quality from GPS_RAW_INT, matched on the receive clock
        g = gps[["_timestamp", "fix_type", "satellites_visible", "eph"]].sort_values("_timestamp")
        m = _nearest_on_receive_clock(raw, g)
        frame["gps_fix"] = m["fix_type"].to_numpy(float)
        frame["n_sats"] = m["satellites_visible"].to_numpy(float)
        frame["hdop"] = np.where(m["eph"].to_numpy(float) < 65535, m["eph"].to_numpy(float) / 100.0, np.nan)
    if not wind.empty:  # ArduPilot's wind estimate: `direction` is where the wind comes from (deg)
        w = wind[["_timestamp", "direction", "speed"]].sort_values("_timestamp")
        m = _nearest_on_receive_clock(raw, w, tolerance=5.0)
        frame["wind_from_deg"] = m["direction"].to_numpy(float) % 360.0
        frame["wind_speed_m_s"] = m["speed"].to_numpy(float)
    return raw, frame


def _tlog_positions_gps(gps: pd.DataFrame, offset_s: float,
                        time_source: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Track rows from GPS_RAW_INT alone: ``(raw, frame, time_source)``.

    ``time_usec`` is time since boot (placed with ``offset_s``) or, when it is a Unix time,
    used as is; otherwise the ground station's receive clock.
    """
    raw = gps.drop(columns=["mavpackettype"], errors="ignore")
    tu = raw["time_usec"].to_numpy(float)
    if np.isfinite(offset_s) and np.nanmax(tu) < 1e15:
        t = unix_to_utc(tu / 1e6 + offset_s)  # time since boot
    elif np.nanmin(tu) > 1e15:
        t = unix_to_utc(tu / 1e6)
        time_source = "GPS_RAW_INT.time_usec"
    else:
        t = unix_to_utc(raw["_timestamp"].to_numpy(float))
    eph = raw["eph"].to_numpy(float)
    frame = pd.DataFrame({
        "time_utc": t,
        "lon": raw["lon"].to_numpy(float) / 1e7, "lat": raw["lat"].to_numpy(float) / 1e7,
        "alt_amsl_m": raw["alt"].to_numpy(float) / 1e3,
        "speed_m_s": np.where(raw["vel"] < 65535, raw["vel"] / 100.0, np.nan),
        "gps_fix": raw["fix_type"].to_numpy(float),
        "n_sats": raw["satellites_visible"].to_numpy(float),
        "hdop": np.where(eph < 65535, eph / 100.0, np.nan),
    })
    return raw, frame, time_source


def is_tlog(head: bytes) -> bool:
    """A tlog record is an 8-byte big-endian Unix µs timestamp followed by a MAVLink v1/v2 frame."""
    if len(head) < 10 or head[8] not in (0xFE, 0xFD):
        return False
    us = int.from_bytes(head[:8], "big")
    return 9.0e14 < us < 4.2e15  # 1998 … 2103

