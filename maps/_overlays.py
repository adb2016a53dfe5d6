"""Heavy overlays made light: sample tracks thinned for display, the hotspot raster as a PNG.

Both are vectorised (one sort and one groupby for the tracks; a decimated read for the
raster) so millions of samples and large rasters stay a few megabytes in the page.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

#: Display points kept of all sample tracks together (aggregated by consecutive chunks).
MAX_TRACK_POINTS = 40_000
#: Largest side, in pixels, of the hotspot raster overlay.
MAX_RASTER_PX = 1200


def thin_tracks(samples: pd.DataFrame, species: str, *, max_points: int = MAX_TRACK_POINTS) -> pd.DataFrame:
    """Aggregate sample tracks into at most about ``max_points`` display points.

    Tracks are ``(platform_id, mission_id, pass_id)`` (those present) ordered by ``time_utc``;
    each run of ``k`` consecutive samples (``k`` = ceil(n / max_points)) becomes one point at
    the mean ``(lon, lat)`` carrying the run's *maximum* ``species`` value, so peaks survive
    thinning. Returns columns ``track`` (int code), ``label``, ``lon``, ``lat``, ``value``.
    Vectorised: one sort and one groupby, no per-row Python.
    """
    keys = [c for c in ("platform_id", "mission_id", "pass_id") if c in samples.columns]
    cols = keys + ["lon", "lat", species] + (["time_utc"] if "time_utc" in samples else [])
    df = samples[cols]
    df = df[np.isfinite(df["lon"].to_numpy(float)) & np.isfinite(df["lat"].to_numpy(float))]
    if df.empty:
        return pd.DataFrame(columns=["track", "label", "lon", "lat", "value"])
    if keys:
        track = df.groupby(keys, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    else:
        track = np.zeros(len(df), dtype=int)
    t = df["time_utc"].to_numpy() if "time_utc" in df else np.arange(len(df))
    order = np.lexsort((t, track))
    track = track[order]
    k = max(1, math.ceil(len(df) / max(1, max_points)))
    start = np.r_[0, np.flatnonzero(track[1:] != track[:-1]) + 1]
    pos = np.arange(len(track)) - np.repeat(start, np.diff(np.r_[start, len(track)]))
    chunk = pos // k
    g = pd.DataFrame({"track": track, "chunk": chunk,
                      "lon": df["lon"].to_numpy(float)[order], "lat": df["lat"].to_numpy(float)[order],
                      "value": df[species].to_numpy(float)[order]})
    out = g.groupby(["track", "chunk"], sort=True).agg(lon=("lon", "mean"), lat=("lat", "mean"),
                                                      value=("value", "max")).reset_index()
    if keys:
        first = df.iloc[order[start]][keys].astype(str).agg(" / ".join, axis=1).to_numpy()
        labels = first[np.searchsorted(track[start], out["track"].to_numpy())]
    else:
        labels = np.full(len(out), "track")
    out["label"] = labels
    return out[["track", "label", "lon", "lat", "value"]]


def raster_png(path: Path):
    """Band 1 of the hotspot raster as an RGBA PNG in EPSG:4326 plus its bounds and label.

    Values ≤ 0, NaN and nodata are transparent; positive values ramp from pale yellow to dark
    red up to their 99th percentile. Large rasters are decimated to ``MAX_RASTER_PX``.
    Returns ``(data_url, ((south, west), (north, east)), label, vmax)`` or ``(None, …)``.
    """
    import rasterio
    from affine import Affine
    from matplotlib import colormaps
    from matplotlib.image import imsave
    from rasterio.enums import Resampling
    from rasterio.warp import calculate_default_transform, reproject

    from ecopatrol.core.errors import FormatError

    try:
        src_ctx = rasterio.open(path)
    except Exception as exc:
        raise FormatError(f"`{path.name}`: not a readable GeoTIFF ({exc})") from exc
    with src_ctx as src:
        scale = max(1.0, max(src.width, src.height) / MAX_RASTER_PX)
        h, w = max(1, int(src.height / scale)), max(1, int(src.width / scale))
        arr = src.read(1, out_shape=(h, w), masked=True, resampling=Resampling.average).astype(float)
        arr = arr.filled(np.nan)
        transform = src.transform @ Affine.scale(src.width / w, src.height / h)
        label = (src.descriptions[0] if src.descriptions and src.descriptions[0] else None) \
            or src.tags(1).get("long_name") or src.tags().get("quantity") or "hotspot intensity"
        units = src.units[0] if src.units and src.units[0] else src.tags(1).get("units")
        if units:
            label = f"{label} ({units})"
        crs = src.crs
        if crs is not None and crs.to_epsg() != 4326:
            dst_t, dw, dh = calculate_default_transform(crs, "EPSG:4326", w, h,
                                                        *rasterio.transform.array_bounds(h, w, transform))
            dst = np.full((dh, dw), np.nan)
            reproject(arr, dst, src_transform=transform, src_crs=crs, dst_transform=dst_t,
                      dst_crs="EPSG:4326", src_nodata=np.nan, dst_nodata=np.nan, resampling=Resampling.bilinear)
            arr, transform, h, w = dst, dst_t, dh, dw
    west, south, east, north = rasterio.transform.array_bounds(h, w, transform)
    pos = np.where(np.isfinite(arr) & (arr > 0), arr, np.nan)
    if not np.isfinite(pos).any():
        return None, None, label, 0.0
    vmax = float(np.nanpercentile(pos, 99)) or float(np.nanmax(pos))
    norm = np.clip(pos / vmax, 0, 1)
    rgba = colormaps["YlOrRd"](np.nan_to_num(norm))
    rgba[..., 3] = np.where(np.isfinite(norm), 0.1 + 0.75 * np.nan_to_num(norm), 0.0)
    buf = io.BytesIO()
    imsave(buf, rgba, format="png")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return url, ((south, west), (north, east)), label, vmax

