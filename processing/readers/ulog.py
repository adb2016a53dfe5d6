"""PX4 ULog (``.ulg``): ``vehicle_gps_position`` (``sensor_gps``) with ``time_utc_usec``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError
from .._time import unix_to_utc
from ._common import ReadResult, finalize, first_reason, split_bad

_GPS_TOPICS = ("vehicle_gps_position", "sensor_gps")


def read_ulog(path: Path) -> ReadResult:
    """Read GPS fixes of a PX4 ULog; wind from ``wind_estimate`` when present (nearest in time)."""
    from pyulog import ULog

    try:
        ulog = ULog(str(path), message_name_filter_list=[*_GPS_TOPICS, "wind_estimate", "wind"])
    except Exception as exc:
        raise FormatError(f"`{path.name}`: not a readable PX4 ULog ({exc}); the file may be truncated") from exc
    topics = [d for d in ulog.data_list if d.name in _GPS_TOPICS]
    if not topics:
        raise FormatError(f"`{path.name}`: ULog without a vehicle_gps_position/sensor_gps topic: no positions")
    d = min(topics, key=lambda d: d.multi_id).data
    raw = pd.DataFrame({k: v for k, v in d.items() if np.ndim(v) == 1})
    n = len(raw)
    tu = raw["time_utc_usec"].to_numpy(float)
    lat = raw["lat"].to_numpy(float)
    lon = raw["lon"].to_numpy(float)
    if np.nanmax(np.abs(lat)) > 1000:  # older firmware: int32 1e-7 degrees
        lat, lon = lat / 1e7, lon / 1e7
    alt = raw["alt"].to_numpy(float)
    alt = alt / 1e3 if np.nanmax(np.abs(alt)) > 20000 else alt  # mm in older firmware
    fix = raw["fix_type"].to_numpy(float)
    frame = pd.DataFrame({
        "time_utc": unix_to_utc(np.where(tu > 0, tu, 0.0) / 1e6),
        "lon": lon, "lat": lat, "alt_amsl_m": alt,
        "speed_m_s": raw["vel_m_s"].to_numpy(float) if "vel_m_s" in raw else np.nan,
        "gps_fix": fix,
        "n_sats": raw["satellites_used"].to_numpy(float) if "satellites_used" in raw else np.nan,
        "hdop": raw["hdop"].to_numpy(float) if "hdop" in raw else np.nan,
    })
    wind = [w for w in ulog.data_list if w.name in ("wind_estimate", "wind")]
    if wind:
        w = min(wind, key=lambda w: w.multi_id).data
        wt = w["timestamp"].astype(float)
        vn, ve = w["windspeed_north"].astype(float), w["windspeed_east"].astype(float)
        j = np.clip(np.searchsorted(wt, raw["timestamp"].to_numpy(float)), 0, len(wt) - 1)
        frame["wind_speed_m_s"] = np.hypot(vn[j], ve[j])
        frame["wind_from_deg"] = (np.degrees(np.arctan2(-ve[j], -vn[j]))) % 360.0
    reason = first_reason(
        (tu <= 0, "no UTC time (time_utc_usec = 0: receiver had no fix yet)"),
        (fix < 2, "no GPS fix (fix_type < 2)"),
        n=n,
    )
    kept, q = split_bad(frame, reason, path, raw, np.arange(1, n + 1))
    return ReadResult(path, "ulog", "track", finalize(kept), q, n, {"time_source": "time_utc_usec"})
