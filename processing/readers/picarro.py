"""Picarro analyser data logs (``.dat``): whitespace-delimited, one header line.

The mobile (CFADS/G2xxx "DataLog_User") variant carries the car's GPS and an anemometer
in the same record: ``EPOCH_TIME`` (Unix UTC), ``GPS_ABS_LAT``/``GPS_ABS_LONG``
(WGS-84), ``GPS_FIT`` (0 none, 1 fix, 2 differential), ``WIND_N``/``WIND_E`` (m/s, the
direction the air moves to), ``CAR_SPEED`` (m/s), ``CH4``/``CO2`` (ppm), ``H2O`` (%).
Such a file is both a track and a sensor series sharing one clock; the analyser's inlet
delay (~4 s) still separates what was measured from where the car was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError
from .._time import unix_to_utc
from ._common import ReadResult, finalize, first_reason, quarantine_rows, time_range_reason

#: The inlet delay of a Picarro CFADS/G2xxx mobile set-up (sample line and cavity fill at
#: the analyser's flow): about 4 s, as the published surveys of this instrument apply
#: (JVF-CSU MobileMethaneSurveys). Used only when the data cannot tell, and said so.
PICARRO_DEFAULT_LAG_S = 4.0

_SPECIES = {"CH4": "ch4_ppm", "CO2": "co2_ppm", "H2O": "h2o_pct", "C2H6": "c2h6_ppm",
            "CH4_dry": "ch4_dry_ppm", "CO2_dry": "co2_dry_ppm"}


def looks_like_picarro(first_line: str) -> bool:
    f = first_line.split()
    return len(f) >= 4 and f[0] == "DATE" and f[1] == "TIME" and ("EPOCH_TIME" in f or "FRAC_DAYS_SINCE_JAN1" in f)


def read_picarro(path: Path) -> ReadResult:
    """Read a Picarro ``.dat``; rows with the wrong number of fields or non-numbers are quarantined."""
    text = path.read_bytes().decode("ascii", errors="replace")
    lines = text.splitlines()
    if not lines or not looks_like_picarro(lines[0]):
        raise FormatError(f"`{path.name}`: not a Picarro .dat (first line must be the DATE TIME … header)")
    header = lines[0].split()
    body = pd.Series(lines[1:], dtype=str)
    body = body[body.str.strip().str.len() > 0]
    row_no = body.index.to_numpy() + 1
    parts = body.str.split()
    nf = parts.str.len().to_numpy()
    good = nf == len(header)
    raw = pd.DataFrame(parts[good].tolist(), columns=header) if good.any() else pd.DataFrame(columns=header)
    q_short = quarantine_rows(path, row_no[~good],
                              [f"wrong number of fields: {k} of {len(header)} (truncated or corrupt row)" for k in nf[~good]],
                              pd.DataFrame({"line": body[~good].to_numpy()}))
    numeric = raw.drop(columns=["DATE", "TIME"]).apply(pd.to_numeric, errors="coerce")
    n = len(raw)
    if "EPOCH_TIME" in numeric:
        t = unix_to_utc(numeric["EPOCH_TIME"].fillna(0).to_numpy(float))
        tbad = numeric["EPOCH_TIME"].isna().to_numpy()
    else:
        tt = pd.to_datetime(raw["DATE"] + " " + raw["TIME"], utc=True, errors="coerce", format="ISO8601")
        t, tbad = tt, tt.isna().to_numpy()
    frame = pd.DataFrame({"time_utc": t})
    has_gps = {"GPS_ABS_LAT", "GPS_ABS_LONG"} <= set(numeric.columns)
    if has_gps:
        lat = numeric["GPS_ABS_LAT"].to_numpy(float)
        lon = numeric["GPS_ABS_LONG"].to_numpy(float)
        fit = numeric["GPS_FIT"].to_numpy(float) if "GPS_FIT" in numeric else np.full(n, 1.0)
        nofix = ~(fit >= 1) | ((lat == 0) & (lon == 0))
        # A row without a fix keeps its concentration (its position comes from the track).
        frame["lon"] = np.where(nofix, np.nan, lon)
        frame["lat"] = np.where(nofix, np.nan, lat)
        frame["gps_fix"] = np.where(fit >= 2, 4.0, np.where(fit >= 1, 3.0, 0.0))
        if "CAR_SPEED" in numeric:
            frame["speed_m_s"] = numeric["CAR_SPEED"].to_numpy(float)
    if {"WIND_N", "WIND_E"} <= set(numeric.columns):
        wn, we = numeric["WIND_N"].to_numpy(float), numeric["WIND_E"].to_numpy(float)
        frame["wind_speed_m_s"] = np.hypot(wn, we)
        frame["wind_from_deg"] = np.degrees(np.arctan2(-we, -wn)) % 360.0
    species = [c for c in _SPECIES if c in numeric.columns and (numeric[c].abs() > 0).any()]
    if not species:
        raise FormatError(f"`{path.name}`: Picarro file without a CH4/CO2/H2O column with data")
    for c in species:
        frame[_SPECIES[c]] = numeric[c].to_numpy(float)
    # Missing values (NAN, 1.#QNAN…) in auxiliary fields stay NaN; a row is rejected only when
    # its time or every species is unusable.
    spec = numeric[species].to_numpy(float)
    no_species = ~np.isfinite(spec).any(axis=1)
    reason = time_range_reason(frame, first_reason(
        (tbad, "unparseable EPOCH_TIME"),
        (no_species, f"no number in any of {', '.join(species)}"),
        n=n,
    ))
    bad = reason.to_numpy() != ""
    gr = row_no[good]
    q_bad = quarantine_rows(path, gr[bad], reason.to_numpy()[bad], raw.loc[bad])
    frame["source_row"] = gr
    kept = frame.loc[~bad].reset_index(drop=True)
    quarantine = pd.concat([q for q in (q_short, q_bad) if len(q)], ignore_index=True) if (len(q_short) or len(q_bad)) \
        else q_short
    kind = "track+sensor" if has_gps else "sensor"
    return ReadResult(path, "picarro-dat", kind, finalize(kept), quarantine, len(body),
                      {"time_source": "EPOCH_TIME (analyser clock, UTC)",
                       "default_lag_s": PICARRO_DEFAULT_LAG_S,
                       "default_lag_source": "Picarro mobile inlet delay (documented default)"})
