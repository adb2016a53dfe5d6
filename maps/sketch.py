"""A small inline SVG location sketch of one target for its inspection sheet (no matplotlib).

Drawn in a local equirectangular frame around the site (metres east and north of it), about
``half_m`` each way: the area's roads (light grey), the van's monitoring legs for this target
(teal), the drone's planned curtain (purple), the attributed plume events (red triangles sized
by their enhancement), the site (a star), the wind arrow, a north arrow and a scale bar.
Inputs are WGS-84 ``(lon, lat)``. Vector, so it prints sharply; a few kilobytes per sheet.
"""

from __future__ import annotations

import html
import math

import numpy as np

_M_PER_DEG = 111_320.0


class _Frame:
    def __init__(self, lon0: float, lat0: float, half_m: float, size_px: int):
        self.lon0, self.lat0, self.half, self.size = lon0, lat0, half_m, size_px
        self.kx = _M_PER_DEG * math.cos(math.radians(lat0))

    def px(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        x = (np.asarray(lon, float) - self.lon0) * self.kx
        y = (np.asarray(lat, float) - self.lat0) * _M_PER_DEG
        s = self.size / (2 * self.half)
        return self.size / 2 + x * s, self.size / 2 - y * s

    def bbox_deg(self) -> tuple[float, float, float, float]:
        dx, dy = self.half / self.kx, self.half / _M_PER_DEG
        return self.lon0 - dx, self.lat0 - dy, self.lon0 + dx, self.lat0 + dy


def _path(xs, ys) -> str:
    return "M" + " L".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys))


def _roads_svg(frame: _Frame, roads: dict | None) -> str:
    if not roads:
        return ""
    import shapely

    from .roads import ROAD_STYLES

    box = shapely.box(*frame.bbox_deg())
    out = []
    for cls in ("service", "minor", "major"):
        lines = roads.get(cls)
        if not lines:
            continue
        geoms = np.asarray(lines, dtype=object)
        near = geoms[shapely.intersects(geoms, box)]
        if near.size == 0:
            continue
        parts = shapely.get_parts(shapely.intersection(near, box))
        d = []
        for g in parts:
            if g.geom_type != "LineString" or g.is_empty:
                continue
            c = shapely.get_coordinates(g)
            x, y = frame.px(c[:, 0], c[:, 1])
            d.append(_path(x, y))
        if d:
            st = ROAD_STYLES[cls]
            out.append(f'<path d="{" ".join(d)}" fill="none" stroke="{st["color"]}" '
                       f'stroke-width="{max(1.0, st["weight"] * 0.9):.1f}" stroke-linecap="round"/>')
    return "".join(out)


def _lines_svg(frame: _Frame, lines: list[np.ndarray], colour: str, width: float, dash: str = "") -> str:
    out = []
    for c in lines:
        if len(c) < 2:
            continue
        x, y = frame.px(c[:, 0], c[:, 1])
        out.append(f'<path d="{_path(x, y)}" fill="none" stroke="{colour}" stroke-width="{width}"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + ' stroke-linecap="round"/>')
    return "".join(out)


def _triangle(x: float, y: float, r: float) -> str:
    pts = [(x, y - r), (x - 0.87 * r, y + 0.5 * r), (x + 0.87 * r, y + 0.5 * r)]
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)


def _head(x: float, y: float, to_rad: float, r: float = 8.0) -> str:
    """An arrowhead with its tip at ``(x, y)`` pointing to the compass bearing ``to_rad``."""
    ux, uy = math.sin(to_rad), -math.cos(to_rad)     # screen y grows downwards
    bx, by = x - ux * r, y - uy * r
    pts = [(x, y), (bx - uy * r * 0.6, by + ux * r * 0.6), (bx + uy * r * 0.6, by - ux * r * 0.6)]
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)


def _star(x: float, y: float, r: float) -> str:
    pts = []
    for k in range(10):
        rr = r if k % 2 == 0 else r * 0.45
        a = math.pi / 2 + k * math.pi / 5
        pts.append((x + rr * math.cos(a), y - rr * math.sin(a)))
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)


def site_sketch(lon: float, lat: float, *, roads: dict | None = None, events=None, wind: dict | None = None,
                van_legs: list[np.ndarray] | None = None, curtain: list[np.ndarray] | None = None,
                half_m: float = 600.0, size_px: int = 260, label: str = "") -> str:
    """The SVG text of the sketch around the site at ``(lon, lat)``.

    ``roads`` is :func:`ecopatrol.maps.roads.road_lines` output; ``events`` a frame with
    ``lon``, ``lat`` and ``peak_enhancement`` (any may be missing); ``van_legs`` and
    ``curtain`` lists of ``(n, 2)`` lon/lat arrays; ``wind`` ``{"from_deg", "speed_m_s"}``.
    """
    f = _Frame(float(lon), float(lat), half_m, size_px)
    s = size_px
    parts = [f'<svg class="sketch" width="{s}" height="{s}" '
             f'viewBox="0 0 {s} {s}" role="img" aria-label="{html.escape(label)}">',
             f'<rect width="{s}" height="{s}" fill="#f7f7f4" stroke="#bbb"/>',
             f'<clipPath id="c{id(f)}"><rect width="{s}" height="{s}"/></clipPath><g clip-path="url(#c{id(f)})">',
             _roads_svg(f, roads),
             _lines_svg(f, van_legs or [], "#00796b", 3.0),
             _lines_svg(f, curtain or [], "#6a1b9a", 2.5, "5 3")]
    if events is not None and len(events):
        ex, ey = f.px(events["lon"].to_numpy(float), events["lat"].to_numpy(float))
        enh = np.asarray(events.get("peak_enhancement", np.ones(len(events))), dtype=float)
        ref = np.nanmax(enh) if np.isfinite(enh).any() and np.nanmax(enh) > 0 else 1.0
        for x, y, e in zip(ex, ey, enh):
            r = 4 + 5 * math.sqrt(max(e, 0.0) / ref) if np.isfinite(e) else 4
            parts.append(f'<polygon points="{_triangle(x, y, r)}" fill="#c62828" fill-opacity="0.8" stroke="#fff" '
                         'stroke-width="0.8"/>')
    parts.append(f'<polygon points="{_star(s / 2, s / 2, 9)}" fill="#08306b" stroke="#fff" stroke-width="1.2"/>')
    parts.append("</g>")
    if wind and wind.get("from_deg") is not None:
        to = math.radians((float(wind["from_deg"]) + 180.0) % 360.0)
        cx, cy, L = s - 30, 30, 18
        x0, y0 = cx - math.sin(to) * L, cy + math.cos(to) * L
        x1, y1 = cx + math.sin(to) * L, cy - math.cos(to) * L
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="24" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>'
                     f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#045a8d" '
                     f'stroke-width="3"/><polygon points="{_head(x1, y1, to)}" fill="#045a8d"/>')
    bar_m = 200 if half_m >= 400 else 100
    bar_px = bar_m * s / (2 * half_m)
    parts.append(f'<line x1="10" y1="{s - 12}" x2="{10 + bar_px:.1f}" y2="{s - 12}" stroke="#222" stroke-width="3"/>'
                 f'<text x="10" y="{s - 18}" font-size="10" fill="#222">{bar_m} m</text>'
                 f'<text x="10" y="16" font-size="12" font-weight="bold" fill="#222">N ↑</text></svg>')
    return "".join(parts)
