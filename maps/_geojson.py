"""GeoJSON features in the map's datum: coordinate shifting, bounds, lines, arrows, popups.

Every artefact is WGS-84 ``(lon, lat)``; with the AMap basemap the display datum is GCJ-02
and every overlay is shifted exactly once, here (:func:`ecopatrol.core.crs.wgs84_to_gcj02`).
"""

from __future__ import annotations

import math

import numpy as np

from ecopatrol.core.crs import wgs84_to_gcj02

from ._style import esc

_M_PER_DEG = 111_320.0

class Display:
    """Convert WGS-84 ``(lon, lat)`` to the basemap's datum and collect the drawn bounds."""

    def __init__(self, basemap: str):
        self.gcj = basemap == "amap"
        self.xmin = self.ymin = math.inf
        self.xmax = self.ymax = -math.inf
        self.context: list[tuple[float, float, float, float]] = []  # drawn but not fitted (registry, zones)

    def xy(self, lon, lat, *, extend: bool = True) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(lon, dtype=float)
        y = np.asarray(lat, dtype=float)
        if self.gcj:
            x, y = (np.asarray(v) for v in wgs84_to_gcj02(x, y))
        ok = np.isfinite(x) & np.isfinite(y)
        if not extend and ok.any():
            self.context.append((float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max())))
        if extend:
            if ok.any():
                self.xmin = min(self.xmin, float(x[ok].min()))
                self.xmax = max(self.xmax, float(x[ok].max()))
                self.ymin = min(self.ymin, float(y[ok].min()))
                self.ymax = max(self.ymax, float(y[ok].max()))
        return x, y

    def geoms(self, geoms, *, extend: bool = True):
        """Shapely geometries shifted to the display datum (vectorised over coordinates)."""
        import shapely

        g = np.asarray(geoms, dtype=object)

        def f(c):
            x, y = self.xy(c[:, 0], c[:, 1], extend=extend)
            return np.column_stack([np.round(x, 6), np.round(y, 6)])

        return shapely.transform(g, f)

    def bounds(self) -> list[list[float]] | None:
        """Bounds of the operational data (plans, samples, evidence); the registry, the top
        targets and the zones only when nothing else was drawn."""
        if not math.isfinite(self.xmin):
            if not self.context:
                return None
            c = np.array(self.context)
            return [[float(c[:, 1].min()), float(c[:, 0].min())], [float(c[:, 3].max()), float(c[:, 2].max())]]
        return [[self.ymin, self.xmin], [self.ymax, self.xmax]]


def feature(geom: dict, **props) -> dict:
    return {"type": "Feature", "geometry": geom, "properties": props}


def pt(x, y) -> dict:
    return {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]}


def line(xs, ys) -> dict:
    return {"type": "LineString",
            "coordinates": [[round(float(a), 6), round(float(b), 6)] for a, b in zip(xs, ys)]}


def arrowheads(x, y, *, size_m: float = 28.0, min_seg_m: float = 40.0) -> list[dict]:
    """Arrowhead triangles at the midpoints of a polyline's segments (display ``(lon, lat)``)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 2:
        return []
    coslat = np.cos(np.radians(np.nanmean(y)))
    dx = np.diff(x) * _M_PER_DEG * coslat
    dy = np.diff(y) * _M_PER_DEG
    seg = np.hypot(dx, dy)
    keep = seg >= min_seg_m
    if not keep.any():
        return []
    ux, uy = dx[keep] / seg[keep], dy[keep] / seg[keep]
    mx = (x[:-1][keep] + x[1:][keep]) / 2
    my = (y[:-1][keep] + y[1:][keep]) / 2
    # tip ahead of the midpoint, two barbs behind it (metres → degrees)
    tip = np.column_stack([mx + ux * size_m / 2 / (_M_PER_DEG * coslat), my + uy * size_m / 2 / _M_PER_DEG])
    bx = mx - ux * size_m / 2 / (_M_PER_DEG * coslat)
    by = my - uy * size_m / 2 / _M_PER_DEG
    px, py = -uy * size_m * 0.45, ux * size_m * 0.45
    left = np.column_stack([bx + px / (_M_PER_DEG * coslat), by + py / _M_PER_DEG])
    right = np.column_stack([bx - px / (_M_PER_DEG * coslat), by - py / _M_PER_DEG])
    tris = np.stack([tip, left, right, tip], axis=1).round(6)
    return [{"type": "Polygon", "coordinates": [t.tolist()]} for t in tris]


def popup_table(title: str, rows: list[tuple[str, object]], extra: str = "") -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v if isinstance(v, Html) else esc(v)}</td></tr>"
                   for k, v in rows if v is not None)
    return f'<div class="ep-popup"><h4>{esc(title)}</h4><table>{body}</table>{extra}</div>'


class Html(str):
    """A string already escaped as HTML."""

