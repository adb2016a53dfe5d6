"""Coordinate systems: WGS-84, CGCS2000, GCJ-02, BD-09 and local metric CRSs.

All functions take and return ``(lon, lat)`` in that order, in degrees, as floats or
numpy arrays (vectorised). WGS-84 (EPSG:4326) is the datum at every boundary of
ecopatrol; CGCS2000 (EPSG:4490) differs from it by a few centimetres and is treated as
WGS-84. GCJ-02 is the obfuscated datum of Chinese web maps (AMap/Gaode, Tencent,
Google China); BD-09 is Baidu's further offset of GCJ-02. Convert exactly once: at load
or when writing for a Chinese map or navigation app.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from .errors import InputError

CrsName = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
KNOWN_CRS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")
_ALIASES = {
    "wgs84": "wgs84", "wgs-84": "wgs84", "epsg:4326": "wgs84", "4326": "wgs84", "gps": "wgs84",
    "cgcs2000": "cgcs2000", "epsg:4490": "cgcs2000", "4490": "cgcs2000", "2000": "cgcs2000",
    "gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "gaode": "gcj02",
    "火星坐标": "gcj02", "高德": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "baidu": "bd09", "百度": "bd09",
}

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_GCJ_A_M = 6378245.0
_GCJ_EE = 0.00669342162296594323
# Baidu's BD-09 constant.
BD09_X_PI = math.pi * 3000.0 / 180.0
EARTH_RADIUS_M = 6_371_008.8

# Rough bounding box of mainland China used by the GCJ-02 algorithm: outside it the
# offsets are zero.
CHINA_LON_MIN, CHINA_LON_MAX = 72.004, 137.8347
CHINA_LAT_MIN, CHINA_LAT_MAX = 0.8293, 55.8271


def normalise_crs_name(name: str) -> str:
    """Return the canonical name (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``) or raise."""
    key = str(name).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    raise InputError.keyed("value.unknown_crs", name=repr(name), names=", ".join(KNOWN_CRS))


def in_china(lon, lat):
    """True where ``(lon, lat)`` lies in the box where GCJ-02 offsets apply."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon > CHINA_LON_MIN) & (lon < CHINA_LON_MAX) & (lat > CHINA_LAT_MIN) & (lat < CHINA_LAT_MAX)


def _transform_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon, lat):
    """GCJ-02 minus WGS-84, in degrees, at a WGS-84 point (zero outside China)."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A_M * (1 - _GCJ_EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A_M / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _ret(lon, lat, like_lon):
    if np.ndim(like_lon) == 0:
        return float(lon), float(lat)
    return lon, lat


def wgs84_to_gcj02(lon, lat):
    """WGS-84 ``(lon, lat)`` → GCJ-02 ``(lon, lat)``; identity outside China."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_offset(x, y)
    return _ret(x + dlon, y + dlat, lon)


def gcj02_to_wgs84(lon, lat, *, tol_deg: float = 1e-10, max_iter: int = 30):
    """GCJ-02 ``(lon, lat)`` → WGS-84, exact to ``tol_deg`` by fixed-point iteration.

    The forward transform is a smooth offset of a few hundred metres, so the iteration
    ``w ← w − (gcj(w) − g)`` converges in a handful of steps; the round trip is far below
    1 cm anywhere in China.
    """
    gx = np.asarray(lon, dtype=float)
    gy = np.asarray(lat, dtype=float)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(max_iter):
        dlon, dlat = _gcj_offset(wx, wy)
        ex = wx + dlon - gx
        ey = wy + dlat - gy
        wx = wx - ex
        wy = wy - ey
        if np.all(np.abs(ex) < tol_deg) and np.all(np.abs(ey) < tol_deg):
            break
    return _ret(wx, wy, lon)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 ``(lon, lat)`` → BD-09 ``(lon, lat)``."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * BD09_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * BD09_X_PI)
    return _ret(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, lon)


def bd09_to_gcj02(lon, lat, *, tol_deg: float = 1e-11, max_iter: int = 20):
    """BD-09 ``(lon, lat)`` → GCJ-02, by the closed form refined with fixed-point iteration."""
    bx = np.asarray(lon, dtype=float)
    by = np.asarray(lat, dtype=float)
    x = bx - 0.0065
    y = by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * BD09_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD09_X_PI)
    gx, gy = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        fx, fy = gcj02_to_bd09(gx, gy)
        ex, ey = np.asarray(fx) - bx, np.asarray(fy) - by
        gx, gy = gx - ex, gy - ey
        if np.all(np.abs(ex) < tol_deg) and np.all(np.abs(ey) < tol_deg):
            break
    return _ret(gx, gy, lon)


def wgs84_to_bd09(lon, lat):
    """WGS-84 ``(lon, lat)`` → BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 ``(lon, lat)`` → WGS-84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def convert(lon, lat, src: str, dst: str):
    """Convert ``(lon, lat)`` between any two of wgs84, cgcs2000, gcj02, bd09."""
    src = normalise_crs_name(src)
    dst = normalise_crs_name(dst)
    src = "wgs84" if src == "cgcs2000" else src
    dst = "wgs84" if dst == "cgcs2000" else dst
    if src == dst:
        x = np.asarray(lon, dtype=float)
        y = np.asarray(lat, dtype=float)
        return _ret(x.copy(), y.copy(), lon)
    to_wgs = {"wgs84": lambda a, b: (a, b), "gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
    from_wgs = {"wgs84": lambda a, b: (a, b), "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
    wx, wy = to_wgs[src](lon, lat)
    return from_wgs[dst](wx, wy)


def to_wgs84_per_row(lon, lat, crs_names) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays whose rows each name their own CRS (canonical names) to WGS-84."""
    x = np.asarray(lon, dtype=float).copy()
    y = np.asarray(lat, dtype=float).copy()
    names = np.asarray(crs_names, dtype=object)
    for name in ("gcj02", "bd09"):
        m = names == name
        if m.any():
            x[m], y[m] = convert(x[m], y[m], name, "wgs84")
    return x, y


# ---------------------------------------------------------------------------
# Local metric CRSs
# ---------------------------------------------------------------------------

def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS-84 UTM zone containing ``(lon, lat)``."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def cgcs2000_gk3_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger CM zone (no false-easting prefix).

    EPSG:4534 is CM 75°E … EPSG:4554 is CM 135°E; Qingdao (120.4°E) → EPSG:4549.
    """
    cm = int(round(lon / 3.0)) * 3
    if not 75 <= cm <= 135:
        raise InputError(f"longitude {lon} is outside the CGCS2000 3° Gauss-Krüger zones (75°E–135°E)")
    return 4534 + (cm - 75) // 3


def local_metric_crs(lon, lat, *, kind: Literal["utm", "gk3"] = "utm"):
    """Choose a metric CRS for data at ``(lon, lat)`` (arrays allowed: their median is used).

    ``utm`` picks the UTM zone of the data's median longitude (Qingdao straddles zones 50
    and 51 at 120°E: one zone is kept for the whole data set so distances stay
    consistent); ``gk3`` picks the CGCS2000 3° Gauss-Krüger zone.
    """
    from pyproj import CRS

    x = float(np.nanmedian(np.asarray(lon, dtype=float)))
    y = float(np.nanmedian(np.asarray(lat, dtype=float)))
    if not (np.isfinite(x) and np.isfinite(y)):
        raise InputError("cannot choose a metric CRS: no finite coordinates")
    code = utm_epsg(x, y) if kind == "utm" else cgcs2000_gk3_epsg(x)
    return CRS.from_epsg(code)


def transformer(src, dst):
    """A cached, always_xy pyproj Transformer from ``src`` to ``dst``."""
    return _transformer(str(_crs_key(src)), str(_crs_key(dst)))


def _crs_key(crs):
    from pyproj import CRS

    return CRS.from_user_input(crs).to_wkt()


from functools import lru_cache  # noqa: E402


@lru_cache(maxsize=64)
def _transformer(src_wkt: str, dst_wkt: str):
    from pyproj import Transformer

    return Transformer.from_crs(src_wkt, dst_wkt, always_xy=True)


def lonlat_to_xy(lon, lat, crs):
    """WGS-84 ``(lon, lat)`` → ``(x, y)`` metres in ``crs``."""
    return transformer("EPSG:4326", crs).transform(np.asarray(lon, float), np.asarray(lat, float))


def xy_to_lonlat(x, y, crs):
    """``(x, y)`` metres in ``crs`` → WGS-84 ``(lon, lat)``."""
    return transformer(crs, "EPSG:4326").transform(np.asarray(x, float), np.asarray(y, float))


def project_gdf(gdf, to_crs=None):
    """Project a GeoDataFrame to ``to_crs`` or to its local UTM zone (osmnx style)."""
    if to_crs is None:
        if gdf.crs is not None and gdf.crs.is_projected:
            return gdf
        c = gdf.to_crs("EPSG:4326").geometry.representative_point()
        to_crs = local_metric_crs(c.x.to_numpy(), c.y.to_numpy())
    return gdf.to_crs(to_crs)


def unproject_gdf(gdf):
    """Return ``gdf`` in EPSG:4326."""
    return gdf.to_crs("EPSG:4326")


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres between WGS-84 points (vectorised)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
