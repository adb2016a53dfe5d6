"""The track samples are placed against: GPS sources merged by priority, metric arrays, DEM heights, wind.

Part of :func:`ecopatrol.processing.georef.georeference`: the first track source given wins
wherever it covers (without a gap longer than ``max_gap_s``), the others fill in and their
superseded points go to the quarantine; positions are projected to a local metric CRS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.crs import local_metric_crs, lonlat_to_xy
from ecopatrol.core.errors import InputError
from ._time import to_seconds
from .align import TrackArrays


def dem_sampler(dem) -> Callable | None:
    """``dem`` as a callable ``elevation_m(lon, lat)``: a callable itself, an Area, or a GeoTIFF path."""
    if dem is None:
        return None
    if callable(dem):
        return dem
    if hasattr(dem, "elevation_m"):
        return dem.elevation_m
    path = Path(dem)
    if not path.exists():
        raise InputError(f"DEM `{path}` does not exist: pass a GeoTIFF in metres AMSL")
    import rasterio
    from scipy.ndimage import map_coordinates

    with rasterio.open(path) as ds:
        band = ds.read(1, masked=True).astype("float64").filled(np.nan)
        inv = ~ds.transform
        crs = ds.crs

    def elevation_m(lon, lat):
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        x, y = (lon, lat) if crs is None or crs.to_epsg() == 4326 else lonlat_to_xy(lon, lat, crs)
        col, row = inv * (x, y)
        return map_coordinates(band, [np.asarray(row) - 0.5, np.asarray(col) - 0.5], order=1, cval=np.nan,
                               mode="constant")

    return elevation_m


def _coverage(t_ref: np.ndarray, t: np.ndarray, max_gap_s: float) -> np.ndarray:
    """True where ``t`` falls inside the gap-free span of the sorted times ``t_ref``."""
    if len(t_ref) == 0:
        return np.zeros(len(t), dtype=bool)
    j = np.searchsorted(t_ref, t, side="right")
    inside = (j > 0) & (j < len(t_ref))
    jj = np.clip(j, 1, len(t_ref) - 1)
    return (inside & (t_ref[jj] - t_ref[jj - 1] <= max_gap_s)) | np.isin(t, t_ref)


def _build_track(sources: list[tuple[Path, pd.DataFrame]], max_gap_s: float):
    """Merge track sources by priority (first given wins where it covers); returns frame, crs, drops."""
    kept, drops, covered_by = [], [], []
    for path, f in sources:
        f = f.loc[f["lon"].notna() & f["lat"].notna()].copy()
        t = to_seconds(f["time_utc"])
        sup = np.zeros(len(f), dtype=bool)
        for other_path, t_other in covered_by:
            c = _coverage(t_other, t, max_gap_s) & ~sup
            if c.any():
                rows = f["source_row"].to_numpy()[c] if "source_row" in f else f.index.to_numpy()[c] + 1
                drops.append((path, rows, f"track point superseded by `{other_path.name}`"))
            sup |= c
        f = f.loc[~sup]
        f["_src"] = path.name
        kept.append(f)
        covered_by.append((path, np.sort(t[~sup])))
    track = pd.concat(kept, ignore_index=True).sort_values("time_utc", kind="stable").reset_index(drop=True)
    if track.empty:
        raise InputError("no usable GPS positions in the track files: nothing to georeference against")
    crs = local_metric_crs(track["lon"].to_numpy(), track["lat"].to_numpy())
    return track, crs, drops


def _track_arrays(track: pd.DataFrame, crs) -> TrackArrays:
    x, y = lonlat_to_xy(track["lon"].to_numpy(), track["lat"].to_numpy(), crs)
    extra = {c: track[c].to_numpy(float) for c in ("gps_fix", "hdop", "height_above_takeoff_m",
                                                   "wind_from_deg", "wind_speed_m_s") if c in track}
    alt = track["alt_amsl_m"].to_numpy(float) if "alt_amsl_m" in track else np.full(len(track), np.nan)
    return TrackArrays(to_seconds(track["time_utc"]), np.asarray(x), np.asarray(y), track["lon"].to_numpy(float),
                       track["lat"].to_numpy(float), alt, extra)


def _interp_wind(t_src: np.ndarray, from_deg: np.ndarray, speed: np.ndarray, t: np.ndarray):
    ok = np.isfinite(from_deg) & np.isfinite(speed)
    if ok.sum() < 2:
        return np.full(len(t), np.nan), np.full(len(t), np.nan)
    rad = np.radians(from_deg[ok])
    u = np.interp(t, t_src[ok], speed[ok] * np.sin(rad), left=np.nan, right=np.nan)
    v = np.interp(t, t_src[ok], speed[ok] * np.cos(rad), left=np.nan, right=np.nan)
    return np.degrees(np.arctan2(u, v)) % 360.0, np.hypot(u, v)
