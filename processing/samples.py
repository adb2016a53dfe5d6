"""The samples artefact: schema, GeoParquet io, quarantine table and provenance (CONTRACTS.md).

``samples.parquet`` is GeoParquet in EPSG:4326 with the columns of :data:`SAMPLE_COLUMNS`
plus species columns (``tvoc_ugm3``, ``benzene_ppb``, ``ch4_ppm``…) before ``qa_flags``;
``quarantine.csv`` holds ``file``, ``row``, ``reason`` then the raw fields; and
``provenance.json`` one entry per input file. Every file is written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import FormatError, InputError, InputFileNotFoundError
from ecopatrol.core.io import atomic_path

SCHEMA = "ecopatrol.samples/1"
SAMPLE_COLUMNS = ("time_utc", "platform_id", "mission_id", "pass_id", "lon", "lat", "alt_amsl_m",
                  "alt_agl_m", "speed_m_s")
TAIL_COLUMNS = ("wind_from_deg", "wind_speed_m_s", "qa_flags", "geometry")
SPECIES_SUFFIXES = ("_ugm3", "_mgm3", "_ppb", "_ppm", "_ppt", "_pct")


def species_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).endswith(SPECIES_SUFFIXES)]


#: The species analysed when none is named: VOCs first (the brigade's target), then the others.
DEFAULT_SPECIES_ORDER = ("tvoc_ugm3", "ch4_ppm", "c2h6_ppm", "co2_ppm")


def choose_species(frame: pd.DataFrame, requested: str | None = None) -> str:
    """The species column to analyse: ``requested`` when given, else ``tvoc_ugm3`` when measured,
    else the first of :data:`DEFAULT_SPECIES_ORDER` (then any species column) that holds data.

    Raises :class:`~ecopatrol.core.errors.InputError` naming the columns there are when the
    requested one is absent or none holds data.
    """
    from ..core.errors import InputError

    cols = species_of(frame)
    if requested is not None:
        if requested not in frame.columns:
            raise InputError(f"samples have no `{requested}` column: pass --species with one of "
                             f"{', '.join(cols) or '(none: the samples hold no species column)'}")
        return requested
    with_data = [c for c in cols if frame[c].notna().any()]
    for c in (*DEFAULT_SPECIES_ORDER, *with_data):
        if c in with_data:
            return c
    raise InputError("samples hold no species column with data (columns ending in "
                     f"{', '.join(SPECIES_SUFFIXES)}): nothing to analyse")


def empty_samples(species: list[str] | None = None):
    """An empty samples GeoDataFrame with the contract's columns and dtypes."""
    return to_samples_frame(pd.DataFrame({c: [] for c in SAMPLE_COLUMNS}), species=species or [])


def to_samples_frame(frame: pd.DataFrame, *, species: list[str] | None = None):
    """Order, type and complete ``frame`` into the samples schema; returns a GeoDataFrame (EPSG:4326)."""
    import geopandas as gpd

    f = frame.copy()
    species = species if species is not None else species_of(f)
    for c in (*SAMPLE_COLUMNS, "wind_from_deg", "wind_speed_m_s", *species):
        if c not in f:
            f[c] = np.nan
    f["time_utc"] = pd.to_datetime(f["time_utc"], utc=True).dt.as_unit("ns")
    f["platform_id"] = f["platform_id"].astype(object).where(f["platform_id"].notna(), "").astype(str)
    f["mission_id"] = f["mission_id"].astype(object).where(f["mission_id"].notna(), "").astype(str)
    f["pass_id"] = pd.to_numeric(f["pass_id"], errors="coerce").fillna(0).astype("int64")
    for c in ("lon", "lat", "alt_amsl_m", "alt_agl_m", "speed_m_s", "wind_from_deg", "wind_speed_m_s", *species):
        f[c] = pd.to_numeric(f[c], errors="coerce").astype("float64")
    f["qa_flags"] = f["qa_flags"].astype(object).where(f["qa_flags"].notna(), "").astype(str) \
        if "qa_flags" in f else ""
    cols = [*SAMPLE_COLUMNS, *species, "wind_from_deg", "wind_speed_m_s", "qa_flags"]
    f = f[cols].reset_index(drop=True)
    geom = gpd.points_from_xy(f["lon"].to_numpy(), f["lat"].to_numpy(), crs="EPSG:4326")
    return gpd.GeoDataFrame(f, geometry=geom, crs="EPSG:4326")


def validate_samples(gdf) -> None:
    """Raise :class:`InputError` naming the missing columns or bad values of a samples frame."""
    missing = [c for c in (*SAMPLE_COLUMNS, "qa_flags", "geometry") if c not in gdf.columns]
    if missing:
        raise InputError(f"samples frame lacks columns {missing}: build it with to_samples_frame()")
    if len(gdf) and str(gdf["time_utc"].dt.tz) != "UTC":
        raise InputError("samples `time_utc` must be tz-aware UTC")


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def write_samples(result, out_dir) -> dict[str, Path]:
    """Write ``samples.parquet`` (GeoParquet), ``quarantine.csv`` and ``provenance.json`` atomically.

    ``result`` is a :class:`~ecopatrol.processing.georef.GeorefResult` (or anything with
    ``samples``, ``quarantine`` and ``provenance``). Returns the paths written.
    """
    out = Path(out_dir)
    samples = result.samples
    validate_samples(samples)
    paths = {"samples": out / "samples.parquet", "quarantine": out / "quarantine.csv",
             "provenance": out / "provenance.json"}
    _atomic_write(paths["samples"], lambda p: samples.to_parquet(p, index=False, schema_version="1.0.0"))
    q = result.quarantine if result.quarantine is not None else pd.DataFrame(columns=["file", "row", "reason"])
    _atomic_write(paths["quarantine"], lambda p: q.to_csv(p, index=False, encoding="utf-8"))
    doc = {"schema": SCHEMA, "inputs": result.provenance,
           "counts": {"samples": int(len(samples)), "quarantined": int(len(q))}}
    _atomic_write(paths["provenance"], lambda p: Path(p).write_text(
        json.dumps(doc, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8"))
    return paths


def _json_default(o):
    if isinstance(o, np.integer | np.bool_):
        return o.item()
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o))


def read_samples(path_or_dir):
    """Read ``samples.parquet`` (or the ``samples.parquet`` inside a folder) as a GeoDataFrame."""
    import geopandas as gpd

    p = Path(path_or_dir)
    if p.is_dir():
        p = p / "samples.parquet"
    if not p.exists():
        raise InputFileNotFoundError(f"`{p}` does not exist: run `ecopatrol georef` first")
    try:
        gdf = gpd.read_parquet(p)
    except Exception as exc:
        raise FormatError(f"`{p.name}`: not a GeoParquet samples file ({exc})") from exc
    validate_samples(gdf)
    return gdf


def read_provenance(path_or_dir) -> dict:
    p = Path(path_or_dir)
    p = p / "provenance.json" if p.is_dir() else p
    return json.loads(p.read_text(encoding="utf-8"))
