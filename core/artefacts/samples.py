"""The samples artefact (``samples/``): columns, dtypes, units, derived columns; its one reader, writer, validator.

``samples.parquet`` is GeoParquet in EPSG:4326 with the columns of :data:`SAMPLE_COLUMNS`,
then the species columns (unit in the name, :data:`SPECIES_SUFFIXES`), then
:data:`TAIL_COLUMNS`; ``quarantine.csv`` holds ``file``, ``row``, ``reason`` then the raw
fields; ``provenance.json`` one entry per input file. Every file is written atomically.

``platform_kind`` (:data:`PLATFORM_KINDS`) says what carried the inlet: it decides the
receptor height of the plume model (a drone's flight height, a van's or a station's fixed
inlet) and which samples make road segments, grid cells and curtains. It is set by georef from
what it knows (the track's format, a mapping, ``--platform-kind``) and never read from
``platform_id``. Files written before it existed: see :func:`platform_kind_of`.

The evidence stage adds per species the derived columns of :data:`DERIVED` to the samples
it analyses (in memory); :func:`derived` names them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError, InputFileNotFoundError
from ..i18n import Msg
from ..io import atomic_path

log = logging.getLogger(__name__)

SCHEMA = "ecopatrol.samples/1"
#: The platforms that carry an inlet: a flying one (its height is the receptor's), a ground
#: vehicle and a fixed station (both with an inlet at a fixed height above the ground).
PLATFORM_KINDS = ("drone", "van", "fixed")
#: Columns before the species, in order, with their dtype and unit (``None``: no unit).
COLUMN_SPEC = {
    "time_utc": ("datetime64[ns, UTC]", None, "time the air entered the inlet"),
    "platform_id": ("str", None, "the platform's name (free text; says nothing of its kind)"),
    "platform_kind": ("str", None, "what carried the inlet: drone, van or fixed"),
    "mission_id": ("str", None, "sortie or route"),
    "pass_id": ("int64", None, "pass number within the mission"),
    "lon": ("float64", "degree", "WGS-84 longitude"),
    "lat": ("float64", "degree", "WGS-84 latitude"),
    "alt_amsl_m": ("float64", "m", "height above mean sea level"),
    "alt_agl_m": ("float64", "m", "height above ground (DEM), NaN without one"),
    "speed_m_s": ("float64", "m/s", "ground speed"),
}
SAMPLE_COLUMNS = tuple(COLUMN_SPEC)
#: Columns after the species, in order.
TAIL_COLUMNS = ("wind_from_deg", "wind_speed_m_s", "qa_flags", "geometry")
TAIL_SPEC = {
    "wind_from_deg": ("float64", "degree", "measured wind direction (from), NaN when not measured"),
    "wind_speed_m_s": ("float64", "m/s", "measured wind speed, NaN when not measured"),
    "qa_flags": ("str", None, "`|`-joined QA flag names, empty when clean"),
    "geometry": ("Point", None, "the sample's position (EPSG:4326)"),
}
#: A species column ends in its unit.
SPECIES_SUFFIXES = ("_ugm3", "_mgm3", "_ppb", "_ppm", "_ppt", "_pct")
#: Columns the evidence stage derives per species (``{species}_{suffix}``), with their dtype.
DERIVED = {
    "bg": ("float64", "background of the record (the species' unit)"),
    "enh": ("float64", "enhancement = value − background (the species' unit)"),
    "noise": ("float64", "1 σ noise of the pass (the species' unit)"),
    "exceed": ("bool", "enhancement stands above the noise"),
}
#: Files written before ``platform_kind``: a record (platform, mission) whose median height
#: above ground is at least this is taken to be a drone (a van's GNSS height minus the DEM
#: scatters by metres around its roof); without heights it is a ground vehicle.
LEGACY_DRONE_MIN_AGL_M = 10.0
_warned: set[str] = set()


def derived(species: str, what: str) -> str:
    """Name of a derived column: ``derived("tvoc_ugm3", "enh")`` → ``"tvoc_ugm3_enh"``."""
    if what not in DERIVED:
        raise ValueError(f"unknown derived column {what!r}: one of {', '.join(DERIVED)}")
    return f"{species}_{what}"


def species_of(frame: pd.DataFrame) -> list[str]:
    """The species columns of ``frame`` (names ending in a unit of :data:`SPECIES_SUFFIXES`)."""
    return [c for c in frame.columns if str(c).endswith(SPECIES_SUFFIXES)]


def check_platform_kind(kind, *, what: str = "platform kind") -> str:
    """``kind`` lower-cased if it is one of :data:`PLATFORM_KINDS`, else :class:`InputError`."""
    k = str(kind).strip().lower() if kind is not None else ""
    if k not in PLATFORM_KINDS:
        raise InputError(f"{what} {kind!r} is not one of {', '.join(PLATFORM_KINDS)}: "
                         "say what carried the inlet (--platform-kind drone|van|fixed)")
    return k


def _warn_once(msg: str) -> None:
    if msg not in _warned:
        _warned.add(msg)
        log.warning(msg)


def infer_platform_kind(frame: pd.DataFrame) -> np.ndarray:
    """The rule for samples without ``platform_kind`` (written before it existed).

    Per record (``platform_id``, ``mission_id``): ``drone`` when its median ``alt_agl_m`` is at
    least :data:`LEGACY_DRONE_MIN_AGL_M`, else ``van``; ``van`` without heights. Never from
    the platform's name. Logs a warning (once) saying how to avoid it.
    """
    n = len(frame)
    if n == 0:
        return np.array([], dtype=object)
    if "alt_agl_m" not in frame.columns:
        _warn_once("samples without `platform_kind` nor `alt_agl_m`: taken as ground platforms (van); "
                   "re-run `ecopatrol georef` (with --platform-kind when the format cannot tell)")
        return np.full(n, "van", dtype=object)
    z = pd.to_numeric(frame["alt_agl_m"], errors="coerce").to_numpy(float)
    keys = [c for c in ("platform_id", "mission_id") if c in frame.columns]
    codes = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy() if keys else np.zeros(n, int)
    med = pd.Series(z).groupby(codes).median()
    drone_rec = (med >= LEGACY_DRONE_MIN_AGL_M).to_numpy()
    out = np.where(drone_rec[codes], "drone", "van").astype(object)
    _warn_once(f"samples without `platform_kind` (written before it existed): a record is taken as a drone "
               f"when its median height above ground is ≥ {LEGACY_DRONE_MIN_AGL_M:g} m, else as a van; "
               "re-run `ecopatrol georef` to record it")
    return out


def platform_kind_of(frame: pd.DataFrame) -> np.ndarray:
    """Each row's platform kind (:data:`PLATFORM_KINDS`): the ``platform_kind`` column, where a
    row has none (or the column is absent) :func:`infer_platform_kind`."""
    n = len(frame)
    if "platform_kind" not in frame.columns:
        return infer_platform_kind(frame)
    k = frame["platform_kind"].astype(object).where(frame["platform_kind"].notna(), "").astype(str).str.lower()
    k = k.to_numpy(dtype=object)
    bad = ~np.isin(k, PLATFORM_KINDS)
    if bad.any() and n:
        k = k.copy()
        k[bad] = infer_platform_kind(frame)[bad]
    return k


def is_drone(frame: pd.DataFrame) -> np.ndarray:
    """True for rows carried by a drone (:func:`platform_kind_of`)."""
    return platform_kind_of(frame) == "drone"


def empty_samples(species: list[str] | None = None):
    """An empty samples GeoDataFrame with the contract's columns and dtypes."""
    return to_samples_frame(pd.DataFrame({c: [] for c in SAMPLE_COLUMNS}), species=species or [])


def to_samples_frame(frame: pd.DataFrame, *, species: list[str] | None = None):
    """Order, type and complete ``frame`` into the samples schema; returns a GeoDataFrame (EPSG:4326).

    A frame without ``platform_kind`` gets it by :func:`platform_kind_of`'s rule.
    """
    import geopandas as gpd

    f = frame.copy()
    species = species if species is not None else species_of(f)
    f["platform_kind"] = platform_kind_of(f)
    for c in (*SAMPLE_COLUMNS, "wind_from_deg", "wind_speed_m_s", *species):
        if c not in f:
            f[c] = np.nan
    f["time_utc"] = pd.to_datetime(f["time_utc"], utc=True).dt.as_unit("ns")
    for c in ("platform_id", "platform_kind", "mission_id"):
        f[c] = f[c].astype(object).where(f[c].notna(), "").astype(str)
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
    bad = sorted(set(gdf["platform_kind"].astype(str)) - set(PLATFORM_KINDS))
    if bad:
        raise InputError(f"samples `platform_kind` holds {bad}: expected {', '.join(PLATFORM_KINDS)}")


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


def read_samples(path_or_dir, *, columns: tuple[str, ...] | None = None, table: bool = False):
    """Read ``samples.parquet`` (or the one inside a folder).

    By default a validated GeoDataFrame. With ``table=True`` (maps, reports) a plain DataFrame
    with ``lon``/``lat`` and no geometry objects, of ``columns`` (default: all but the geometry)
    and the species columns only, so millions of rows stay cheap. Either way ``platform_kind``
    is filled by :func:`platform_kind_of`'s rule when the file predates it.
    """
    import geopandas as gpd

    p = Path(path_or_dir)
    if p.is_dir():
        p = p / "samples.parquet"
    if not p.exists():
        raise InputFileNotFoundError.keyed("file.missing", file=p, fix=Msg("fix.run_georef"))
    if table:
        return _read_table(p, columns)
    try:
        gdf = gpd.read_parquet(p)
    except Exception as exc:
        raise FormatError(f"`{p.name}`: not a GeoParquet samples file ({exc})") from exc
    if "platform_kind" not in gdf.columns and len(gdf.columns):
        gdf.insert(min(2, len(gdf.columns)), "platform_kind", platform_kind_of(gdf))
    validate_samples(gdf)
    return gdf


def _read_table(path: Path, columns) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:
        raise FormatError(f"`{path.name}`: not a readable Parquet file ({exc})") from exc
    names = schema.names
    cols = columns or (*SAMPLE_COLUMNS, *TAIL_COLUMNS[:-1])
    want = [c for c in cols if c in names]
    want += [c for c in names if c.endswith(SPECIES_SUFFIXES) and c not in want]
    need_geom = not {"lon", "lat"} <= set(names)
    if need_geom and "geometry" in names:
        want.append("geometry")
    df = pq.read_table(path, columns=want).to_pandas()
    if need_geom:
        if "geometry" not in df:
            raise FormatError(f"`{path.name}`: needs `lon`/`lat` columns or a `geometry` column")
        import shapely

        g = shapely.from_wkb(df.pop("geometry").to_numpy())
        df["lon"], df["lat"] = shapely.get_x(g), shapely.get_y(g)
    if "time_utc" in df:
        df["time_utc"] = pd.to_datetime(df["time_utc"], utc=True)
    if "platform_kind" in cols and "platform_kind" not in df:
        df["platform_kind"] = platform_kind_of(df)
    return df


def read_provenance(path_or_dir) -> dict:
    """``provenance.json`` (or the one inside a folder) as a dict."""
    p = Path(path_or_dir)
    p = p / "provenance.json" if p.is_dir() else p
    return json.loads(p.read_text(encoding="utf-8"))
