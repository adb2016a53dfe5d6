"""Shared plumbing of the readers: the result object, standard columns, quarantine rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError, InputFileNotFoundError
from ecopatrol.core.i18n import Msg

# Standard columns a reader may produce (units in the names).
TRACK_COLUMNS = (
    "time_utc", "lon", "lat", "alt_amsl_m", "height_above_takeoff_m", "speed_m_s",
    "gps_fix", "n_sats", "hdop",
)
WIND_COLUMNS = ("wind_from_deg", "wind_speed_m_s")
QUARANTINE_COLUMNS = ("file", "row", "reason")

# gps_fix follows the MAVLink GPS_FIX_TYPE numbering: 0/1 no fix, 2 2-D, 3 3-D, 4 DGPS,
# 5 RTK float, 6 RTK fixed.
GPS_FIX_3D = 3


@dataclass
class ReadResult:
    """What a reader found in one file.

    ``frame`` has ``time_utc`` (tz-aware UTC) and standard columns; for tracks ``lon``/``lat``
    in EPSG:4326 (WGS-84). ``quarantine`` has ``file``, ``row`` (1-based data row, or record
    index for binary logs), ``reason`` and the raw fields. ``rows_read`` counts every record
    considered, so ``len(frame) + len(quarantine) == rows_read``.
    """

    path: Path
    format: str
    kind: str  # 'track' | 'sensor' | 'track+sensor'
    frame: pd.DataFrame
    quarantine: pd.DataFrame
    rows_read: int
    meta: dict = field(default_factory=dict)

    @property
    def species(self) -> list[str]:
        """Concentration columns (``*_ugm3``, ``*_ppb``, ``*_ppm``, ``*_pct``…)."""
        return species_columns(self.frame)


SPECIES_SUFFIXES = ("_ugm3", "_mgm3", "_ppb", "_ppm", "_ppt")


def species_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).endswith(SPECIES_SUFFIXES)]


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({"file": pd.Series(dtype=object), "row": pd.Series(dtype="int64"),
                         "reason": pd.Series(dtype=object)})


def quarantine_rows(path: Path, rows, reasons, raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """Build quarantine rows: ``file``, ``row``, ``reason`` then the raw fields (as text)."""
    rows = np.asarray(rows, dtype="int64")
    if len(rows) == 0:
        return empty_quarantine()
    q = pd.DataFrame({"file": Path(path).name, "row": rows,
                      "reason": np.broadcast_to(np.asarray(reasons, dtype=object), rows.shape)})
    if raw is not None and len(raw):
        r = raw.reset_index(drop=True).astype(str)
        r.columns = [f"raw_{c}" if c in QUARANTINE_COLUMNS else str(c) for c in r.columns]
        q = pd.concat([q.reset_index(drop=True), r], axis=1)
    return q


def split_bad(frame: pd.DataFrame, bad_reason: pd.Series, path: Path, raw: pd.DataFrame,
              row_numbers) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into kept rows and quarantine rows where ``bad_reason`` is non-empty.

    Kept rows get ``source_row`` (the record number in the file) so later stages can
    quarantine them by their original row.
    """
    bad_reason = order_reason(frame, coordinate_reason(frame, time_range_reason(frame, bad_reason)))
    bad = bad_reason.fillna("").astype(str).to_numpy() != ""
    row_numbers = np.asarray(row_numbers)
    q = quarantine_rows(path, row_numbers[bad], bad_reason.to_numpy()[bad], raw.loc[bad] if raw is not None else None)
    kept = frame.loc[~bad].copy()
    kept["source_row"] = row_numbers[~bad].astype("int64")
    return kept.reset_index(drop=True), q


TIME_MIN_UTC = pd.Timestamp("1990-01-01", tz="UTC")
TIME_MAX_UTC = pd.Timestamp("2100-01-01", tz="UTC")
TIME_RANGE_REASON = "time missing or outside 1990-2100 (corrupt record or instrument clock not set)"


def time_range_reason(frame: pd.DataFrame, reason: pd.Series) -> pd.Series:
    """``reason`` with rows whose ``time_utc`` is missing or implausible given a reason (when they had none).

    A corrupt record can carry any bit pattern as its time; no field instrument logs before
    1990 or after 2100, so such rows are quarantined rather than sorted to the ends of the day.
    """
    if "time_utc" not in frame:
        return reason
    t = pd.Series(pd.to_datetime(pd.Series(frame["time_utc"]).reset_index(drop=True), utc=True, errors="coerce"))
    off = (t.isna() | (t < TIME_MIN_UTC) | (t >= TIME_MAX_UTC)).to_numpy()
    r = reason.reset_index(drop=True).fillna("").astype(str)
    return r.where(~(off & (r.to_numpy() == "")), TIME_RANGE_REASON)


COORDINATE_REASON = ("`lat` outside ±90° or `lon` outside ±180°: columns swapped, or not decimal degrees "
                     "(projected metres?)")


def coordinate_reason(frame: pd.DataFrame, reason: pd.Series) -> pd.Series:
    """``reason`` with rows whose lon/lat cannot be WGS-84 degrees given a reason (missing stays allowed)."""
    r = reason.reset_index(drop=True).fillna("").astype(str)
    if not {"lon", "lat"} <= set(frame.columns):
        return r
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        off = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    return r.where(~(off & (r.to_numpy() == "")), COORDINATE_REASON)


DUPLICATE_REASON = "duplicate record: same time and values as an earlier record (repeated or merged data)"
DUPLICATE_POSITION_REASON = "duplicate time with a different position: a track cannot be in two places at once"
BACKWARDS_REASON = ("time goes backwards: earlier than a previous record in the file (clock reset, or data "
                    "concatenated out of order)")


def order_reason(frame: pd.DataFrame, reason: pd.Series) -> pd.Series:
    """``reason`` with records that break time order given a reason, in file order (vectorised).

    Among rows without a reason yet: a row earlier than the latest time already seen goes
    backwards; a track row (``lon``/``lat``) at the time of an earlier row but at another
    position is refused (the same fix logged twice is kept: harmless); a sensor row equal in time *and* every value to an earlier row is a duplicate
    (sensor rows sharing a truncated time-stamp with different values are kept).
    """
    r = reason.reset_index(drop=True).fillna("").astype(str)
    if "time_utc" not in frame or len(frame) < 2:
        return r
    good = np.flatnonzero(r.to_numpy() == "")
    if len(good) < 2:
        return r
    f = frame.reset_index(drop=True).iloc[good]
    t = pd.to_datetime(f["time_utc"], utc=True, errors="coerce").dt.as_unit("ns").astype("int64").to_numpy()
    back = np.zeros(len(good), dtype=bool)
    back[1:] = t[1:] < np.maximum.accumulate(t)[:-1]
    out = r.to_numpy(dtype=object).copy()
    out[good[back]] = BACKWARDS_REASON
    fg = f.loc[~back]
    is_track = {"lon", "lat"} <= set(fg.columns) and fg[["lon", "lat"]].notna().any(axis=None)
    if is_track:
        # Same time and same place (a fix logged twice) is harmless and kept; same time elsewhere is not.
        # Positions compared to 1e-5 degree (about 1 m): GPS jitter is not a second place.
        key = pd.DataFrame({"t": t[~back], "x": np.round(fg["lon"].to_numpy(float), 5),
                            "y": np.round(fg["lat"].to_numpy(float), 5)})
        dup = key.duplicated(subset=["t"], keep="first").to_numpy()
        same = key.duplicated(keep="first").to_numpy()
        out[good[~back][dup & ~same]] = DUPLICATE_POSITION_REASON
    else:
        out[good[~back][fg.duplicated(keep="first").to_numpy()]] = DUPLICATE_REASON
    return pd.Series(out)


def first_reason(*conditions: tuple[np.ndarray, str], n: int) -> pd.Series:
    """Per row, the first reason whose condition is true (empty string when none), vectorised."""
    out = np.full(n, "", dtype=object)
    for cond, reason in reversed(conditions):
        out = np.where(np.asarray(cond, dtype=bool), reason, out)
    return pd.Series(out)


def check_file(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputFileNotFoundError.keyed("file.missing", file=p, fix=Msg("fix.check_path"))
    if p.is_dir():
        raise FormatError.keyed("file.folder_log", file=p.name)
    if p.stat().st_size == 0:
        raise FormatError(f"`{p.name}` is empty (0 bytes): the export or copy failed; export the file again")
    return p


def finalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by time (stable) and make ``time_utc`` tz-aware UTC ns."""
    frame = frame.copy()
    frame["time_utc"] = pd.to_datetime(frame["time_utc"], utc=True).dt.as_unit("ns")
    return frame.sort_values("time_utc", kind="stable").reset_index(drop=True)


def speed_from_components(*comps) -> np.ndarray:
    return np.sqrt(sum(np.asarray(c, dtype=float) ** 2 for c in comps))


BAD_LINE_MARK = "\x00ecopatrol-bad-line:"


def read_csv_accounted(path: Path, *, sep: str | None = None, engine: str = "python",
                       encoding: str = "utf-8-sig") -> tuple[pd.DataFrame, np.ndarray]:
    """Read a CSV as text cells, keeping rows with too many fields instead of skipping them.

    Returns the table (every cell a string) and, per row, the number of fields of a row
    that had more fields than the header (0 for good rows), so the caller quarantines them
    with that reason at their own row number. Raises :class:`FormatError` naming the file
    when the CSV cannot be parsed at all.
    """
    opts = dict(dtype=str, keep_default_na=False, sep=sep, engine=engine, encoding=encoding,
                encoding_errors="replace", skipinitialspace=True)
    try:
        ncol = len(pd.read_csv(path, nrows=0, **opts).columns)
        raw = pd.read_csv(path, on_bad_lines=lambda f: [*f[:max(ncol - 1, 0)], f"{BAD_LINE_MARK}{len(f)}"], **opts)
    except Exception as exc:  # pandas/csv raise many types on broken text
        raise FormatError(f"`{Path(path).name}`: unreadable CSV ({type(exc).__name__}: {exc})") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    if raw.columns.has_duplicates:
        raw.columns = [c if i == list(raw.columns).index(c) else f"{c}.{i}" for i, c in enumerate(raw.columns)]
    extra = np.zeros(len(raw), dtype="int64")
    if len(raw.columns):
        last = raw.iloc[:, -1].astype(str)
        m = last.str.startswith(BAD_LINE_MARK).to_numpy()
        if m.any():
            extra[m] = last[m].str.slice(len(BAD_LINE_MARK)).astype("int64").to_numpy()
            raw.iloc[np.flatnonzero(m), -1] = ""
    return raw, extra
