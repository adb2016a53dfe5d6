"""GPS tracks in text formats: GPX (1.0/1.1) and NMEA 0183 (GGA + RMC)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError
from ._common import ReadResult, finalize, first_reason, quarantine_rows, split_bad
from ._safe import check_xml_safe

# ---------------------------------------------------------------------------- GPX


def read_gpx(path: Path) -> ReadResult:
    """Read every track point (and route point when there are no tracks) of a GPX file.

    Points without a time cannot be placed in time and are quarantined.
    """
    import gpxpy

    data = path.read_bytes()
    check_xml_safe(data, path, what="GPX")  # no DTD/entities anywhere in the file (XXE, billion laughs)
    try:
        gpx = gpxpy.parse(data.decode("utf-8", errors="replace"))
    except Exception as exc:
        raise FormatError(f"`{path.name}`: not a valid GPX file ({exc}); check it is complete XML") from exc
    pts = [p for trk in gpx.tracks for seg in trk.segments for p in seg.points]
    if not pts:
        pts = [p for r in gpx.routes for p in r.points]
    if not pts:
        raise FormatError(f"`{path.name}`: GPX has no track or route points")
    raw = pd.DataFrame({
        "lat": [p.latitude for p in pts], "lon": [p.longitude for p in pts],
        "ele": [p.elevation for p in pts], "time": [p.time for p in pts],
        "speed": [p.speed for p in pts],
        "hdop": [p.horizontal_dilution for p in pts], "sat": [p.satellites for p in pts],
        "fix": [p.type_of_gpx_fix for p in pts],
    })
    n = len(raw)
    t = pd.to_datetime(raw["time"], utc=True, errors="coerce")
    fixmap = {"none": 0, "2d": 2, "3d": 3, "dgps": 4, "pps": 3}
    fix = raw["fix"].map(lambda v: fixmap.get(str(v).lower(), np.nan) if v else np.nan).to_numpy(float)
    frame = pd.DataFrame({
        "time_utc": t, "lon": raw["lon"].astype(float), "lat": raw["lat"].astype(float),
        "alt_amsl_m": pd.to_numeric(raw["ele"], errors="coerce"),
        "speed_m_s": pd.to_numeric(raw["speed"], errors="coerce"),
        "gps_fix": np.where(np.isnan(fix), 3.0, fix),
        "n_sats": pd.to_numeric(raw["sat"], errors="coerce"),
        "hdop": pd.to_numeric(raw["hdop"], errors="coerce"),
    })
    reason = first_reason((t.isna().to_numpy(), "track point without a time"),
                          (fix == 0, "GPX fix 'none'"), n=n)
    kept, q = split_bad(frame, reason, path, raw, np.arange(1, n + 1))
    return ReadResult(path, "gpx", "track", finalize(kept), q, n, {"time_source": "GPX <time>"})


# ---------------------------------------------------------------------------- NMEA

_KNOT_M_S = 1852.0 / 3600.0
_GGA_FIX = {0: 0, 1: 3, 2: 4, 3: 3, 4: 6, 5: 5, 6: 1, 7: 1, 8: 1}


def _nmea_checksum_ok(lines: pd.Series) -> np.ndarray:
    """Vectorised NMEA checksum check (XOR of the bytes between ``$`` and ``*``)."""
    body = lines.str.extract(r"^[$!]([^*]*)\*([0-9A-Fa-f]{2})\s*$")
    # A line with a non-ASCII character (a corrupt byte) cannot carry a valid checksum.
    has = (body[0].notna() & lines.str.match(r"^[\x00-\x7f]*$", na=False)).to_numpy()
    ok = np.zeros(len(lines), dtype=bool)
    if not has.any():
        return ok
    b = body.loc[has, 0].astype(str)
    width = int(b.str.len().max())
    arr = np.array(b.str.ljust(width, "\0").tolist(), dtype=f"S{width}").view(np.uint8).reshape(-1, width)
    xor = np.bitwise_xor.reduce(arr, axis=1)
    want = body.loc[has, 1].map(lambda h: int(h, 16)).to_numpy(np.uint8)
    ok[has] = xor == want
    return ok


def _dm_to_deg(dm: pd.Series, hemi: pd.Series) -> np.ndarray:
    v = pd.to_numeric(dm, errors="coerce").to_numpy(float)
    deg = np.floor(v / 100.0)
    out = deg + (v - deg * 100.0) / 60.0
    return np.where(hemi.isin(["S", "W"]).to_numpy(), -out, out)


def _hms_s(col: pd.Series) -> np.ndarray:
    v = pd.to_numeric(col, errors="coerce").to_numpy(float)
    hh = np.floor(v / 10000.0)
    mm = np.floor((v - hh * 10000.0) / 100.0)
    return hh * 3600.0 + mm * 60.0 + (v - hh * 10000.0 - mm * 100.0)


def read_nmea(path: Path) -> ReadResult:
    """Read NMEA 0183: one position per GGA sentence, dated by the RMC sentences.

    GGA carries no date: each GGA takes the date of the nearest RMC in the stream (with the
    midnight roll-over handled). Sentences with a bad checksum are quarantined; other
    sentence types (GSA, GSV, VTG…) are ignored. Without GGA, RMC positions are used.
    """
    text = path.read_bytes().decode("ascii", errors="replace")
    lines = pd.Series(text.splitlines(), dtype=str).str.strip()
    lines = lines[lines.str.len() > 0].reset_index(drop=True)
    line_no = lines.index.to_numpy() + 1
    kind = lines.str.slice(3, 6).where(lines.str.match(r"^\$(GP|GN|GL|GA|BD|GB)"), "")
    ok = _nmea_checksum_ok(lines)
    fields = lines.str.split("*").str[0].str.split(",", expand=True)
    is_rmc = (kind == "RMC").to_numpy()
    is_gga = (kind == "GGA").to_numpy()
    if not (is_rmc.any() or is_gga.any()):
        raise FormatError(f"`{path.name}`: no NMEA GGA or RMC sentences: not an NMEA GPS log")
    if not (is_rmc & ok).any():
        raise FormatError(f"`{path.name}`: NMEA log without valid RMC sentences: GGA has no date, so UTC "
                          "cannot be known; enable RMC output on the receiver")
    m = is_rmc & ok
    day, rmc_sod = _nmea_rmc_dates(fields, m)
    primary = is_gga if is_gga.any() else is_rmc
    sel = np.flatnonzero(primary)
    f = fields.iloc[sel]
    sod = _hms_s(f[1])
    dd = _nmea_day_of(sod, day[sel], rmc_sod.ffill().bfill().to_numpy()[sel])
    t = pd.to_datetime((dd + sod) * 1e9, utc=True, errors="coerce")
    if is_gga.any():
        frame, bad_fix = _nmea_gga_frame(f, t, dd + sod)
        if (m).any():  # speed from RMC at the same epoch
            r = pd.DataFrame({"t": (day[m] + rmc_sod[m].to_numpy()),
                              "spd": pd.to_numeric(fields.loc[m, 7], errors="coerce").to_numpy(float) * _KNOT_M_S})
            key = (dd + sod)
            r = r.drop_duplicates("t").set_index("t")["spd"]
            frame["speed_m_s"] = r.reindex(key).to_numpy()
    else:
        frame, bad_fix = _nmea_rmc_frame(f, t)
    lat, lon = frame["lat"].to_numpy(float), frame["lon"].to_numpy(float)
    reason = first_reason(
        (~ok[sel], "bad NMEA checksum"),
        (t.isna(), "unparseable NMEA time"),
        (bad_fix, "no GPS fix (GGA quality 0 / RMC status V)"),
        (~np.isfinite(lat) | ~np.isfinite(lon), "no position"),
        n=len(sel),
    )
    raw = pd.DataFrame({"sentence": lines.iloc[sel].to_numpy()})
    kept, qq = split_bad(frame, reason, path, raw, line_no[sel])
    qq, n_junk = _quarantine_non_nmea(path, lines, line_no, qq)
    rows_read = len(sel) + n_junk
    return ReadResult(path, "nmea", "track", finalize(kept), qq, rows_read,
                      {"time_source": "NMEA GGA time + RMC date"})


def _nmea_rmc_dates(fields: pd.DataFrame, m: np.ndarray) -> tuple[np.ndarray, pd.Series]:
    """The date of the valid RMC sentences ``m`` carried to every line by stream order (nearest RMC,
    forward then back), as Unix seconds of midnight, and each RMC's own second of day (NaN elsewhere)."""
    rmc_day = pd.Series(np.nan, index=fields.index)
    d = pd.to_datetime(fields.loc[m, 9], format="%d%m%y", errors="coerce", utc=True)
    rmc_day[m] = (d - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy()
    rmc_sod = pd.Series(np.nan, index=fields.index)
    rmc_sod[m] = _hms_s(fields.loc[m, 1])
    return rmc_day.ffill().bfill().to_numpy(), rmc_sod


def _nmea_day_of(sod: np.ndarray, day: np.ndarray, ref_sod: np.ndarray) -> np.ndarray:
    """The midnight of each fix: the nearest RMC's date, a day on or back across a midnight roll-over."""
    dd = day.copy()
    dd = np.where(sod - ref_sod < -43200, dd + 86400, dd)
    return np.where(sod - ref_sod > 43200, dd - 86400, dd)


def _nmea_gga_frame(f: pd.DataFrame, t: pd.DatetimeIndex, epoch_s: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Track columns of GGA sentences ``f`` (split into fields) and which have no fix (quality 0)."""
    q = pd.to_numeric(f[6], errors="coerce").to_numpy(float)
    frame = pd.DataFrame({
        "time_utc": t, "lon": _dm_to_deg(f[4], f[5]), "lat": _dm_to_deg(f[2], f[3]),
        "alt_amsl_m": pd.to_numeric(f[9], errors="coerce").to_numpy(float),
        "gps_fix": pd.Series(q).map(_GGA_FIX).to_numpy(float),
        "n_sats": pd.to_numeric(f[7], errors="coerce").to_numpy(float),
        "hdop": pd.to_numeric(f[8], errors="coerce").to_numpy(float),
    })
    return frame, q == 0


def _nmea_rmc_frame(f: pd.DataFrame, t: pd.DatetimeIndex) -> tuple[pd.DataFrame, np.ndarray]:
    """Track columns of RMC sentences ``f`` (split into fields) and which have no fix (status not A)."""
    frame = pd.DataFrame({"time_utc": t, "lon": _dm_to_deg(f[5], f[6]), "lat": _dm_to_deg(f[3], f[4]),
                          "speed_m_s": pd.to_numeric(f[7], errors="coerce").to_numpy(float) * _KNOT_M_S,
                          "gps_fix": np.where(f[2].to_numpy() == "A", 3.0, 0.0)})
    return frame, (f[2] != "A").to_numpy()


def _quarantine_non_nmea(path: Path, lines: pd.Series, line_no: np.ndarray,
                         qq: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Add the lines that are not NMEA at all to the quarantine ``qq`` (nothing is dropped silently).

    Sentences of the primary kind that did not even parse into fields are already in ``qq``.
    Returns the quarantine and the number of such lines.
    """
    junk = ~lines.str.match(r"^[$!][A-Z]{2}").to_numpy()
    if junk.any():
        qj = quarantine_rows(path, line_no[junk], "not an NMEA sentence",
                             pd.DataFrame({"sentence": lines[junk].to_numpy()}))
        qq = pd.concat([qq, qj], ignore_index=True)
    return qq, int(junk.sum())
