"""The evidence artefact (``evidence/``): its files, its one writer and its one reader.

``events.gpkg``, ``segments.gpkg``, ``cells.gpkg``, ``hotspots.tif``, ``hotspots.gpkg``,
``attribution.csv``, ``flux.csv``, ``rates.csv`` and ``evidence.json`` (CONTRACTS.md,
"Evidence"). ``ecopatrol.processing.evidence`` builds them and writes them with
:func:`write_evidence` (the raster ``hotspots.tif`` by ``processing.hotspots.write_cog``, as it
is computed); :func:`read_evidence` is how targeting, the maps and the report read them back,
with the ids as text and the events' ``confirmed`` as a bool, once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import FormatError, InputFileNotFoundError
from ..io import atomic_write, write_csv, write_gpkg

SCHEMA = "ecopatrol.evidence/1"
FILES = ("events.gpkg", "segments.gpkg", "cells.gpkg", "hotspots.tif", "hotspots.gpkg",
         "attribution.csv", "flux.csv", "rates.csv", "evidence.json")
#: Columns read as text wherever they appear.
ID_COLUMNS = ("enterprise_id", "target_id")
TABLES = {"events": "events.gpkg", "hotspots": "hotspots.gpkg", "attribution": "attribution.csv",
          "flux": "flux.csv", "rates": "rates.csv"}


def write_evidence(folder: str | Path, *, events, segments, cells, hotspots, attribution: pd.DataFrame,
                   rates: pd.DataFrame, flux: pd.DataFrame, summary: dict) -> Path:
    """Write an evidence folder's tables and ``evidence.json``, each atomically; returns the folder.

    ``events``, ``segments``, ``cells`` and ``hotspots`` are GeoDataFrames (written as GeoPackages
    in EPSG:4326, one layer named as the file), ``attribution``, ``rates`` and ``flux`` tables
    (CSV, UTF-8, no index), ``summary`` the ``evidence.json`` object (``schema`` :data:`SCHEMA`).
    """
    d = Path(folder)
    for name, gdf in (("events", events), ("segments", segments), ("cells", cells), ("hotspots", hotspots)):
        write_gpkg(gdf, d / f"{name}.gpkg", layer=name)
    for name, df in (("attribution", attribution), ("rates", rates), ("flux", flux)):
        write_csv(df, d / f"{name}.csv")
    atomic_write(d / "evidence.json", json.dumps(summary, indent=2))
    return d


def _truthy(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "1.0", "yes")


def _read_gpkg(path: Path, geometry: bool):
    import pyogrio

    try:
        if not geometry:
            return pd.DataFrame(pyogrio.read_dataframe(path, read_geometry=False))
        gdf = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several types
        raise FormatError(f"`{path.name}`: cannot read: {exc}; rebuild it with `ecopatrol hotspots`") from exc
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=dict.fromkeys(ID_COLUMNS, str))
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except Exception as exc:
        raise FormatError(f"`{path.name}`: cannot read as CSV: {exc}") from exc


def read_summary(folder: str | Path) -> dict | None:
    """``evidence.json`` of ``folder`` as a dict (``None`` when absent)."""
    p = Path(folder) / "evidence.json"
    if not p.exists():
        return None
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"`{p}`: not readable JSON ({exc}); rebuild it with `ecopatrol hotspots`") from exc
    return doc if isinstance(doc, dict) else None


def read_evidence(folder: str | Path, *, geometry: bool = False, require: str | None = "attribution.csv") -> dict:
    """The tables of an evidence folder: ``events``, ``hotspots``, ``attribution``, ``flux``,
    ``rates`` (``None`` when the file is absent) and ``summary`` (``evidence.json``, ``{}`` when absent).

    ``geometry``: the GeoPackages as GeoDataFrames in EPSG:4326 (else plain tables). ``require``
    names a file that must be there for the folder to count as an evidence folder.
    """
    d = Path(folder)
    if not d.is_dir():
        raise InputFileNotFoundError.keyed("evidence.missing", folder=d)
    if require and not (d / require).exists():
        raise InputFileNotFoundError.keyed("evidence.not_folder", file=d / require, folder=d)
    out: dict = {}
    for key, name in TABLES.items():
        p = d / name
        if not p.exists():
            out[key] = None
        elif name.endswith(".gpkg"):
            out[key] = _read_gpkg(p, geometry)
        else:
            out[key] = _read_csv(p) if p.stat().st_size else pd.DataFrame()
    ev = out["events"]
    if ev is not None and "confirmed" in ev.columns:
        ev["confirmed"] = ev["confirmed"].map(_truthy).astype(bool)
    out["summary"] = read_summary(d) or {}
    return out
