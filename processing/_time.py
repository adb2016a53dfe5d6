"""Time plumbing: GPS → UTC with the leap seconds in force, naive local times → UTC.

Everything returns tz-aware UTC pandas objects (``datetime64[ns, UTC]``). GPS time runs
ahead of UTC by the number of leap seconds inserted since the GPS epoch (1980-01-06):
16 s from 2012-07-01, 17 s from 2015-07-01, 18 s from 2017-01-01. pymavlink hard-codes
18 s, which puts every pre-2017 log one or two seconds late; we use the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecopatrol.core import settings
from ecopatrol.core.errors import InputError

GPS_EPOCH = pd.Timestamp("1980-01-06T00:00:00Z")
SECONDS_PER_WEEK = 604_800
DEFAULT_LOCAL_TZ = settings.DEFAULT_TIMEZONE

# (UTC instant from which the offset applies, GPS − UTC in seconds).
LEAP_SECONDS: tuple[tuple[str, int], ...] = (
    ("1980-01-06", 0), ("1981-07-01", 1), ("1982-07-01", 2), ("1983-07-01", 3),
    ("1985-07-01", 4), ("1988-01-01", 5), ("1990-01-01", 6), ("1991-01-01", 7),
    ("1992-07-01", 8), ("1993-07-01", 9), ("1994-07-01", 10), ("1996-01-01", 11),
    ("1997-07-01", 12), ("1999-01-01", 13), ("2006-01-01", 14), ("2009-01-01", 15),
    ("2012-07-01", 16), ("2015-07-01", 17), ("2017-01-01", 18),
)

_UTC_EFFECTIVE_S = np.array(
    [(pd.Timestamp(d, tz="UTC") - GPS_EPOCH).total_seconds() for d, _ in LEAP_SECONDS]
)
_LEAPS = np.array([n for _, n in LEAP_SECONDS], dtype=float)
# The same thresholds expressed on the GPS time scale (GPS s since the GPS epoch).
_GPS_EFFECTIVE_S = _UTC_EFFECTIVE_S + _LEAPS


def leap_seconds_at(utc) -> np.ndarray:
    """GPS − UTC leap seconds in force at the UTC instant(s) ``utc`` (array-like of datetimes)."""
    t = pd.to_datetime(pd.Series(np.atleast_1d(utc)), utc=True, format="mixed")
    s = (t - GPS_EPOCH).dt.total_seconds().to_numpy()
    idx = np.searchsorted(_UTC_EFFECTIVE_S, s, side="right") - 1
    return _LEAPS[np.clip(idx, 0, None)]


def gps_seconds_to_utc(gps_s) -> pd.DatetimeIndex:
    """GPS seconds since 1980-01-06 (float array) → UTC ``DatetimeIndex``, leap-second correct."""
    gps_s = np.asarray(gps_s, dtype=float)
    idx = np.searchsorted(_GPS_EFFECTIVE_S, gps_s, side="right") - 1
    leap = _LEAPS[np.clip(idx, 0, None)]
    utc_ns = np.round((gps_s - leap) * 1e9).astype("int64") + GPS_EPOCH.value
    return pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).tz_localize("UTC")


def gps_week_to_utc(week, ms_of_week) -> pd.DatetimeIndex:
    """GPS ``week`` and milliseconds of week (ArduPilot ``GWk``/``GMS`` or ``Week``/``TimeMS``) → UTC."""
    week = np.asarray(week, dtype=float)
    ms = np.asarray(ms_of_week, dtype=float)
    # Integer nanoseconds: float seconds since 1980 lose ~100 ns.
    gps_ns = (week.astype("int64") * SECONDS_PER_WEEK * 1_000_000_000
              + np.round(ms * 1e6).astype("int64"))
    idx = np.searchsorted(_GPS_EFFECTIVE_S, gps_ns / 1e9, side="right") - 1
    leap_ns = _LEAPS[np.clip(idx, 0, None)].astype("int64") * 1_000_000_000
    utc_ns = gps_ns - leap_ns + GPS_EPOCH.value
    return pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).tz_localize("UTC")


def unix_to_utc(seconds) -> pd.DatetimeIndex:
    """Unix seconds (float) → UTC ``DatetimeIndex`` (Unix time already excludes leap seconds).

    Non-finite values and values outside what ``datetime64[ns]`` holds (about 1678-2262) become
    NaT instead of wrapping around (a corrupt record must not get a plausible-looking time).
    """
    s = np.asarray(seconds, dtype=float)
    ok = np.isfinite(s) & (np.abs(s) < 9.2e9)
    ns = np.round(np.where(ok, s, 0.0) * 1e9).astype("int64")
    out = ns.astype("datetime64[ns]")
    out[~ok] = np.datetime64("NaT")
    return pd.DatetimeIndex(out).tz_localize("UTC")


def to_seconds(times) -> np.ndarray:
    """tz-aware UTC datetimes → float Unix seconds (vectorised)."""
    idx = pd.DatetimeIndex(times)
    if idx.tz is None:
        raise InputError("internal: naive datetimes reached to_seconds(); localise them first")
    return idx.tz_convert("UTC").as_unit("ns").asi8 / 1e9


def localize(naive, tz: str | None) -> pd.Series:
    """Naive local datetimes in zone ``tz`` → tz-aware UTC series (``None`` means UTC).

    Ambiguous or non-existent local times (DST changes) become NaT and are quarantined by
    the caller; China has no DST so Asia/Shanghai never produces them.
    """
    s = pd.Series(naive)
    if s.dt.tz is not None:
        return s.dt.tz_convert("UTC")
    tz = tz or "UTC"
    try:
        local = s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:  # unknown zone names
        raise InputError(f"unknown time zone {tz!r}: use an IANA name such as 'Asia/Shanghai' or 'UTC'") from exc
    return local.dt.tz_convert("UTC")


def parse_times(text, *, fmt: str | None = None, tz: str | None = None) -> pd.Series:
    """Parse a column of time strings (or epoch numbers when ``fmt`` is ``unix``/``unix_ms``) to UTC.

    Without ``fmt`` the strings must be ISO 8601 (``YYYY-MM-DD HH:MM:SS(.f)``, ``T`` or space).
    Unparseable values become NaT so the caller can quarantine those rows.
    """
    s = pd.Series(text)
    if fmt in ("unix", "unix_s", "epoch"):
        v = pd.to_numeric(s, errors="coerce")
        return pd.Series(pd.to_datetime(v * 1e9, utc=True, errors="coerce"), index=s.index)
    if fmt in ("unix_ms", "epoch_ms"):
        v = pd.to_numeric(s, errors="coerce")
        return pd.Series(pd.to_datetime(v * 1e6, utc=True, errors="coerce"), index=s.index)
    parsed = pd.to_datetime(s.astype("string").str.strip(), format=fmt or "ISO8601", errors="coerce", utc=False)
    if getattr(parsed.dt, "tz", None) is not None:
        return parsed.dt.tz_convert("UTC")
    return localize(parsed, tz)


def iso_utc(t) -> str | None:
    """ISO 8601 UTC with ``Z`` (``None`` for NaT)."""
    if t is None or pd.isna(t):
        return None
    return pd.Timestamp(t).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
