"""Field files: which sensor file pairs with which track in a field folder, and what one file is.

:func:`pair_field_files` pairs ``<stem>_voc.csv`` with the preferred track of the same stem (a
Picarro ``.dat`` stands alone); :func:`inspect_file` reads one file and says its format, kind,
rows, UTC span, bounds and fields (``ecopatrol field inspect``). Both feed
:func:`.georef.georeference`.
"""

from __future__ import annotations

from pathlib import Path

from ._time import iso_utc
from .readers import read_any

#: Track files by preference, when several record the same mission (flight logs before
#: GNSS-only tracks): ``<stem><suffix>``.
TRACK_SUFFIXES_BY_PREFERENCE = (".tlog", ".bin", ".ulg", ".log", "_airdata.csv", ".gpx", ".nmea")
#: Analyser files: ``<stem>_voc.csv`` pairs with a track of the same stem; a Picarro ``.dat``
#: carries its own GPS and stands alone.
SENSOR_SUFFIXES = ("_voc.csv", ".dat")


def pair_field_files(folder: str | Path, *, recursive: bool = False) -> list[tuple[tuple[Path, ...], Path]]:
    """``(tracks, sensor)`` pairs of a field folder, by file stem.

    ``S01_voc.csv`` pairs with the preferred track of stem ``S01`` (``S01.tlog`` before
    ``S01_airdata.csv`` before ``S01.gpx`` …, see :data:`TRACK_SUFFIXES_BY_PREFERENCE`): one
    track, since overlapping tracks of one mission would only supersede each other. A ``.dat``
    file needs no track (``tracks`` is empty). Sensors without a track are left out.
    """
    folder = Path(folder)
    files = sorted(folder.rglob("*") if recursive else folder.iterdir())
    by_name = {(p.parent, p.name.lower()): p for p in files if p.is_file()}
    out: list[tuple[tuple[Path, ...], Path]] = []
    for p in files:
        name = p.name.lower()
        suffix = next((s for s in SENSOR_SUFFIXES if name.endswith(s)), None)
        if suffix is None or not p.is_file():
            continue
        if suffix == ".dat":
            out.append(((), p))
            continue
        stem = name[: -len(suffix)]
        track = next((by_name[(p.parent, stem + t)] for t in TRACK_SUFFIXES_BY_PREFERENCE
                      if (p.parent, stem + t) in by_name), None)
        if track is not None:
            out.append(((track,), p))
    return out



def inspect_file(path, *, mapping=None, tz: str | None = None) -> dict:
    """What a file is: format, kind, rows read/quarantined, UTC span (ISO 8601), bounds, fields.

    ``bounds`` is ``[lon_min, lat_min, lon_max, lat_max]`` (EPSG:4326) or ``None``.
    """
    r = read_any(path, mapping=mapping, tz=tz)
    f = r.frame
    bounds = None
    if {"lon", "lat"} <= set(f.columns) and f["lon"].notna().any():
        bounds = [float(f["lon"].min()), float(f["lat"].min()), float(f["lon"].max()), float(f["lat"].max())]
    reasons = r.quarantine["reason"].value_counts().to_dict() if len(r.quarantine) else {}
    return {
        "file": str(Path(path).name), "format": r.format, "kind": r.kind,
        "rows_read": int(r.rows_read), "rows_kept": int(len(f)), "rows_quarantined": int(len(r.quarantine)),
        "quarantine_reasons": {str(k): int(v) for k, v in reasons.items()},
        "start_utc": iso_utc(f["time_utc"].min()) if len(f) else None,
        "end_utc": iso_utc(f["time_utc"].max()) if len(f) else None,
        "bounds": bounds, "fields": [c for c in f.columns if c != "source_row"], "species": r.species,
        "time_source": r.meta.get("time_source"),
    }
