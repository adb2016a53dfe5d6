"""Private plumbing shared by the evidence modules (plume, aggregate, hotspots, attribution, flux)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from ecopatrol.core.crs import local_metric_crs, lonlat_to_xy
from ecopatrol.core.errors import InputError
from ecopatrol.core.io import atomic_path
from ecopatrol.core.weather import Wind, wind_at_height

PASS_KEYS = ("platform_id", "mission_id", "pass_id")
RECORD_KEYS = ("platform_id", "mission_id")  # one continuous analyser record
DEFAULT_INLET_AGL_M = 3.0  # roof inlet of a monitoring van (ground vehicles: GPS heights are too noisy)
# QA flags (processing.qc) that make a concentration unusable as evidence; "stationary" is not one
UNUSABLE_FLAGS = ("saturated", "instrument_status", "negative", "gps_quality", "speed_spike")


def require_columns(df: pd.DataFrame, columns, *, what: str = "samples") -> None:
    """Raise InputError naming every missing column."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(f'`{c}`' for c in missing)}; "
            "see CONTRACTS.md (samples schema)"
        )


def lonlat_of(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(lon, lat)`` arrays (EPSG:4326) from `lon`/`lat` columns or the point geometry."""
    if "lon" in df.columns and "lat" in df.columns:
        return df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    geom = df.geometry
    if geom.crs is not None and not geom.crs.is_geographic:
        geom = geom.to_crs("EPSG:4326")
    return geom.x.to_numpy(float), geom.y.to_numpy(float)


def metric_xy(df: pd.DataFrame, crs=None):
    """Metric ``(x, y, crs)`` of a frame's points; ``crs`` defaults to the local UTM zone."""
    lon, lat = lonlat_of(df)
    if crs is None:
        crs = local_metric_crs(lon, lat)
    x, y = lonlat_to_xy(lon, lat, crs)
    return np.asarray(x, float), np.asarray(y, float), crs


def pass_codes(df: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's pass (platform, mission, pass), in first-seen order."""
    keys = [c for c in PASS_KEYS if c in df.columns]
    if not keys:
        return np.zeros(len(df), dtype=np.int64)
    return df.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()


def record_codes(df: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's continuous record (platform, mission), in first-seen order."""
    keys = [c for c in RECORD_KEYS if c in df.columns]
    if not keys:
        return np.zeros(len(df), dtype=np.int64)
    return df.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()


def is_ground_platform(df: pd.DataFrame) -> np.ndarray:
    """True for rows of ground platforms (``platform_id`` not starting with ``drone``)."""
    if "platform_id" not in df.columns:
        return np.ones(len(df), bool)
    return ~df["platform_id"].astype(str).str.lower().str.startswith("drone").to_numpy()


def receptor_agl_m(df: pd.DataFrame, *, ground_inlet_agl_m: float = DEFAULT_INLET_AGL_M) -> np.ndarray:
    """Inlet height above ground (m).

    Drones: ``alt_agl_m`` (DEM-referenced flight height). Ground platforms (vans): the fixed
    roof-inlet height ``ground_inlet_agl_m`` — a GNSS height minus the DEM scatters by metres
    around it and would put the inlet underground half the time.
    """
    z = df["alt_agl_m"].to_numpy(float) if "alt_agl_m" in df.columns else np.full(len(df), np.nan)
    ground = is_ground_platform(df)
    return np.where(ground | ~(np.isfinite(z) & (z >= 0)), ground_inlet_agl_m, z)


def usable_mask(df: pd.DataFrame) -> np.ndarray:
    """Rows whose ``qa_flags`` carry none of :data:`UNUSABLE_FLAGS` (all rows when no flags)."""
    if "qa_flags" not in df.columns:
        return np.ones(len(df), bool)
    flags = df["qa_flags"].fillna("").astype(str)
    bad = flags.str.contains("|".join(UNUSABLE_FLAGS), regex=True).to_numpy()
    return ~bad


def circular_mean_deg(deg: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean direction (degrees) of finite values, NaN if none."""
    d = np.asarray(deg, float)
    w = np.ones_like(d) if weights is None else np.asarray(weights, float)
    ok = np.isfinite(d) & np.isfinite(w)
    if not ok.any():
        return math.nan
    r = np.radians(d[ok])
    return float(np.degrees(np.arctan2((w[ok] * np.sin(r)).sum(), (w[ok] * np.cos(r)).sum())) % 360.0)


def wind_blocks(samples: pd.DataFrame, codes: np.ndarray, block_s: float) -> np.ndarray:
    """``codes`` (passes) cut into consecutive pieces of at most ``block_s`` of time: integer codes
    (first-seen order) of the stretches over which one wind is taken."""
    if len(codes) == 0 or "time_utc" not in samples.columns or not np.isfinite(block_s) or block_s <= 0:
        return np.asarray(codes)
    t = (pd.to_datetime(samples["time_utc"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    t0 = pd.Series(t).groupby(np.asarray(codes)).transform("min").to_numpy()
    block = np.floor((t - t0) / block_s).astype(np.int64)
    key = np.asarray(codes, dtype=np.int64) * (int(block.max()) + 1) + block
    return pd.factorize(key)[0].astype(np.int64)


def wind_per_pass(samples: pd.DataFrame, codes: np.ndarray, default: Wind | None) -> pd.DataFrame:
    """Wind of each pass: the measured wind (circular mean) when present, else ``default``.

    Returns a frame indexed by pass code with `from_deg`, `speed_m_s` (at 10 m), `measured`
    (bool). A speed measured aloft (a drone's wind estimate at its flight height) is brought
    down to 10 m with the power-law profile of the default wind's class (D when unknown):
    the plume model takes the 10 m speed and lifts it to the stack height itself.
    """
    n = int(codes.max()) + 1 if len(codes) else 0
    out = pd.DataFrame({"from_deg": np.full(n, np.nan), "speed_m_s": np.full(n, np.nan),
                        "measured": np.zeros(n, bool)})
    if {"wind_from_deg", "wind_speed_m_s"} <= set(samples.columns) and n:
        d = samples["wind_from_deg"].to_numpy(float)
        s = samples["wind_speed_m_s"].to_numpy(float)
        stab = (default.stability if default is not None and default.stability else "D")
        s = s / wind_at_height(1.0, receptor_agl_m(samples), str(stab).upper())
        ok = np.isfinite(d) & np.isfinite(s)
        if ok.any():
            r = np.radians(d[ok])
            sx = np.bincount(codes[ok], np.sin(r), minlength=n)
            cx = np.bincount(codes[ok], np.cos(r), minlength=n)
            cnt = np.bincount(codes[ok], minlength=n)
            sp = np.bincount(codes[ok], s[ok], minlength=n)
            has = cnt > 0
            out.loc[has, "from_deg"] = (np.degrees(np.arctan2(sx[has], cx[has])) % 360.0)
            out.loc[has, "speed_m_s"] = sp[has] / cnt[has]
            out.loc[has, "measured"] = True
    if default is not None:
        miss = ~out["measured"].to_numpy()
        out.loc[miss, "from_deg"] = default.from_deg
        out.loc[miss, "speed_m_s"] = default.speed_m_s
    return out


def default_wind(area, wind: Wind | None) -> Wind | None:
    """The explicit wind, else the area's configured default wind, else None."""
    if wind is not None:
        return wind
    cfg = getattr(area, "config", None) or {}
    dflt = cfg.get("defaults", cfg) if isinstance(cfg, dict) else {}
    try:
        return Wind(float(dflt["wind_from_deg"]), float(dflt["wind_speed_m_s"]), dflt.get("stability"))
    except (KeyError, TypeError, ValueError):
        return None


def write_atomic(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` on a temporary file beside ``path``, then rename it into place
    (:func:`ecopatrol.core.io.atomic_path`)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        writer(tmp)
    return path


def write_gpkg(gdf, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a GeoDataFrame to a GeoPackage atomically (EPSG:4326)."""
    layer = layer or Path(path).stem

    def _w(tmp: Path) -> None:
        g = gdf.to_crs("EPSG:4326") if gdf.crs is not None else gdf.set_crs("EPSG:4326")
        g.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")

    return write_atomic(path, _w)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV atomically (UTF-8, no index)."""
    return write_atomic(path, lambda tmp: df.to_csv(tmp, index=False))
