"""Convert the coordinate columns of a CSV between WGS-84, CGCS2000, GCJ-02 and BD-09."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .crs import convert, normalise_crs_name
from .io import atomic_path
from .errors import FormatError, InputError, InputFileNotFoundError

log = logging.getLogger(__name__)


def convert_csv(infile: str | Path, outfile: str | Path, *, src: str, dst: str,
                lon_col: str = "lon", lat_col: str = "lat", decimals: int = 7) -> int:
    """Rewrite ``lon_col``/``lat_col`` of ``infile`` from ``src`` to ``dst``; other columns kept.

    Rows whose coordinates are not numbers are kept unchanged and named in the error.
    """
    infile, outfile = Path(infile), Path(outfile)
    src, dst = normalise_crs_name(src), normalise_crs_name(dst)
    if not infile.exists():
        raise InputFileNotFoundError(f"`{infile}` does not exist")
    try:
        df = pd.read_csv(infile, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise FormatError(f"`{infile.name}` is not a readable CSV: {exc}") from exc
    for c in (lon_col, lat_col):
        if c not in df.columns:
            raise InputError(f"`{infile.name}`: column `{c}` not found (columns: {', '.join(df.columns)}); "
                             "choose it with --lon-col/--lat-col")
    x = pd.to_numeric(df[lon_col], errors="coerce").to_numpy(float)
    y = pd.to_numeric(df[lat_col], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad)[:10])
        raise InputError(f"`{infile.name}` rows {rows}: `{lon_col}`/`{lat_col}` are not numbers; fix or remove them")
    cx, cy = convert(x, y, src, dst)
    df[lon_col] = np.round(cx, decimals).astype(str)
    df[lat_col] = np.round(cy, decimals).astype(str)
    with atomic_path(outfile) as tmp:
        df.to_csv(tmp, index=False)
    log.info("converted %d rows of %s from %s to %s", len(df), infile.name, src, dst)
    return len(df)
