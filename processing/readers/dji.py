"""DJI flight records exported as AirData-style CSV (imperial units converted to SI).

Columns such as ``time(millisecond)``, ``datetime(utc)``, ``latitude``, ``longitude``,
``altitude_above_seaLevel(feet)``, ``height_above_takeoff(feet)``, ``speed(mph)``,
``satellites``, ``gpslevel``, ``battery_temperature(f)``. ``datetime(utc)`` is usually
whole seconds: the millisecond clock is anchored to it (the tightest anchor consistent
with every truncated second) so times keep their sub-second resolution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError
from ._common import ReadResult, finalize, first_reason, read_csv_accounted, split_bad

FT_M = 0.3048
MPH_M_S = 0.44704

_RENAME = {
    "altitude_above_sealevel(feet)": ("alt_amsl_m", FT_M),
    "altitude_above_sealevel(meters)": ("alt_amsl_m", 1.0),
    "height_above_takeoff(feet)": ("height_above_takeoff_m", FT_M),
    "height_above_takeoff(meters)": ("height_above_takeoff_m", 1.0),
    "height_above_ground_at_drone_location(feet)": ("dji_height_above_ground_m", FT_M),
    "ground_elevation_at_drone_location(feet)": ("dji_ground_elevation_m", FT_M),
    "speed(mph)": ("speed_m_s", MPH_M_S),
    "speed(m/s)": ("speed_m_s", 1.0),
    "satellites": ("n_sats", 1.0),
    "compass_heading(degrees)": ("heading_deg", 1.0),
}


def looks_like_dji(header: list[str]) -> bool:
    h = {c.strip().lower() for c in header}
    return {"latitude", "longitude"} <= h and ("datetime(utc)" in h or "time(millisecond)" in h)


def read_dji_csv(path: Path) -> ReadResult:
    """Read a DJI AirData CSV flight record into a track (SI units, UTC)."""
    raw, extra_fields = read_csv_accounted(path, sep=",", encoding="utf-8")
    cols = {c.lower(): c for c in raw.columns}
    if not looks_like_dji(list(raw.columns)):
        raise FormatError(f"`{path.name}`: not a DJI AirData CSV (needs latitude, longitude, datetime(utc))")
    n = len(raw)
    if n == 0:
        raise FormatError(f"`{path.name}`: DJI CSV has a header but no data rows")

    def num(name):
        return pd.to_numeric(raw[cols[name]], errors="coerce").to_numpy(float) if name in cols else np.full(n, np.nan)

    lat, lon = num("latitude"), num("longitude")
    dt = pd.to_datetime(raw[cols["datetime(utc)"]], utc=True, errors="coerce", format="mixed") \
        if "datetime(utc)" in cols else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    ms = num("time(millisecond)")
    if np.isfinite(ms).any() and dt.notna().any():
        d = (dt.dt.as_unit("ns").astype("int64").where(dt.notna()) / 1e6).to_numpy(float) - ms
        anchor_ms = np.nanmax(d[np.isfinite(d)]) if np.isfinite(d).any() else np.nan
        # Drop outliers: an anchor more than 1.5 s above the median means a bad datetime row.
        med = np.nanmedian(d)
        good = np.isfinite(d) & (d <= med + 1500)
        anchor_ms = np.nanmax(d[good]) if good.any() else anchor_ms
        t = pd.Series(pd.to_datetime((anchor_ms + ms) * 1e6, utc=True, errors="coerce"))
    else:
        t = dt
    frame = pd.DataFrame({"time_utc": t, "lon": lon, "lat": lat})
    for src, (dst, k) in _RENAME.items():
        if src in cols:
            frame[dst] = num(src) * k
    if "gpslevel" in cols:
        lvl = num("gpslevel")
        frame["gps_fix"] = np.where(lvl >= 3, 3.0, np.where(lvl >= 1, 2.0, 0.0))
    else:
        frame["gps_fix"] = 3.0
    for c in cols:
        if c.endswith(("(f)", "(fahrenheit)")):
            frame[c.split("(")[0] + "_c"] = (num(c) - 32.0) * 5.0 / 9.0
    reason = first_reason(
        (extra_fields > 0, "wrong number of fields (more than the header): a corrupt or merged line"),
        (t.isna().to_numpy(), "unparseable `datetime(utc)`/`time(millisecond)`"),
        (~np.isfinite(lat) | ~np.isfinite(lon), "`latitude`/`longitude` not a number"),
        ((lat == 0) & (lon == 0), "position 0,0 (no GPS fix)"),
        n=n,
    )
    kept, q = split_bad(frame, reason, path, raw, np.arange(1, n + 1))
    return ReadResult(path, "dji-airdata-csv", "track", finalize(kept), q, n,
                      {"time_source": "datetime(utc) anchored time(millisecond)"})
