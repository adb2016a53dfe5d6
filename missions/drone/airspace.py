"""Airspace: no-fly and restricted zones, the height cap, and routing legs around zones.

Zones are held in the plan's local metric CRS. A zone blocks a leg flown at ``alt_agl_m``
when it allows no flight at all (``ceiling_m`` NaN or 0, every ``no-fly`` zone) or when its
ceiling is below the leg's highest point. Legs that cross a blocking zone are re-routed
along the shortest path of a visibility graph whose nodes sit on the zones grown by a
stand-off margin (``margin_m``): the routed path keeps that margin from every zone.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from ecopatrol.core.errors import InputError, PlanningError
from ecopatrol.core.rules import NATIONAL_HEIGHT_CAPS_M

log = logging.getLogger(__name__)

# True height for light drones in suitable airspace in China; the rules of every country are in
# ecopatrol.core.rules (the planner and the validator take the cap from the area's rules).
CHINA_HEIGHT_CAP_M = NATIONAL_HEIGHT_CAPS_M["CN"][0]


@dataclass(frozen=True)
class Zone:
    """One zone in metric coordinates. ``ceiling_m`` is AGL; NaN means no flight at all."""

    zone_id: str
    name: str
    kind: str
    geometry: BaseGeometry
    ceiling_m: float

    def blocks(self, alt_agl_m: float) -> bool:
        return not math.isfinite(self.ceiling_m) or alt_agl_m > self.ceiling_m


@dataclass
class Airspace:
    """Zones plus the height cap; answers "is this leg clear?" and "route me around"."""

    zones: list[Zone]
    margin_m: float = 30.0
    alt_max_agl_m: float = CHINA_HEIGHT_CAP_M
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_frame(cls, nofly, crs, *, margin_m: float = 30.0, alt_max_agl_m: float = CHINA_HEIGHT_CAP_M):
        """Build from a GeoDataFrame of zones (``zone_id``, ``name``, ``kind``, ``ceiling_m``)."""
        zones: list[Zone] = []
        if nofly is not None and len(nofly):
            g = nofly.to_crs(crs) if nofly.crs is not None else nofly.set_crs("EPSG:4326").to_crs(crs)
            for i, row in enumerate(g.itertuples(index=False)):
                geom = row.geometry
                if geom is None or geom.is_empty:
                    continue
                if not geom.is_valid:
                    geom = shapely.make_valid(geom)
                kind = str(getattr(row, "kind", "no-fly") or "no-fly").strip().lower()
                if kind not in ("no-fly", "restricted"):
                    raise InputError(f"`nofly.geojson` row {i + 1}, field `kind`: {kind!r} — use no-fly or restricted")
                ceiling = getattr(row, "ceiling_m", float("nan"))
                ceiling = float("nan") if ceiling is None or kind == "no-fly" else float(ceiling)
                if ceiling <= 0.0:  # a ceiling of 0 m allows no flight at all: the zone is no-fly
                    ceiling = float("nan")
                zones.append(Zone(str(getattr(row, "zone_id", f"Z{i + 1}")), str(getattr(row, "name", "")),
                                  kind, geom, ceiling))
        return cls(zones, margin_m=margin_m, alt_max_agl_m=alt_max_agl_m)

    # -- which zones block at a height ------------------------------------------------
    def blocking(self, alt_agl_m: float) -> tuple[int, ...]:
        return tuple(i for i, z in enumerate(self.zones) if z.blocks(alt_agl_m))

    def _geoms(self, key: tuple[int, ...]):
        """(raw union, margin union, visibility nodes) for a set of blocking zones (cached)."""
        if key in self._cache:
            return self._cache[key]
        if not key:
            out = (None, None, np.zeros((0, 2)), np.zeros((0, 0)))
        else:
            raw = shapely.union_all([self.zones[i].geometry for i in key])
            grown = raw.buffer(self.margin_m, quad_segs=4)
            nodes_poly = raw.buffer(self.margin_m * 1.15, join_style="mitre", mitre_limit=2.0)
            nodes_poly = nodes_poly.simplify(self.margin_m * 0.05)
            coords = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(nodes_poly)))
            coords = np.unique(np.round(coords, 3), axis=0)
            inside = shapely.contains_xy(grown, coords[:, 0], coords[:, 1])
            coords = coords[~inside]
            shapely.prepare(raw)
            shapely.prepare(grown)
            vis = self._visibility(coords, grown)
            out = (raw, grown, coords, vis)
        self._cache[key] = out
        return out

    @staticmethod
    def _segments_hit(a: np.ndarray, b: np.ndarray, geom) -> np.ndarray:
        if geom is None or len(a) == 0:
            return np.zeros(len(a), bool)
        lines = shapely.linestrings(np.stack([a, b], axis=1))
        return shapely.intersects(lines, geom)

    def _visibility(self, nodes: np.ndarray, grown) -> np.ndarray:
        n = len(nodes)
        w = np.full((n, n), np.inf)
        if n < 2:
            return w
        i, j = np.triu_indices(n, 1)
        hit = self._segments_hit(nodes[i], nodes[j], grown)
        d = np.hypot(*(nodes[i] - nodes[j]).T)
        ok = ~hit
        w[i[ok], j[ok]] = d[ok]
        w[j[ok], i[ok]] = d[ok]
        return w

    # -- queries ------------------------------------------------------------------------
    def leg_blocked(self, p, q, alt_agl_m: float, *, margin: bool = True) -> bool:
        """True if the straight leg p→q at ``alt_agl_m`` enters a blocking zone (grown by the margin)."""
        key = self.blocking(alt_agl_m)
        if not key:
            return False
        raw, grown, *_ = self._geoms(key)
        geom = grown if margin else raw
        return bool(self._segments_hit(np.asarray([p], float), np.asarray([q], float), geom)[0])

    def points_blocked(self, x, y, alt_agl_m, *, margin: bool = True) -> np.ndarray:
        """Boolean mask of points inside a zone (grown by the margin) that blocks at their height."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        alt = np.broadcast_to(np.asarray(alt_agl_m, float), x.shape)
        out = np.zeros(x.shape, bool)
        for z in self.zones:
            at = ~np.isfinite(z.ceiling_m) | (alt > z.ceiling_m) if math.isfinite(z.ceiling_m) else np.ones(x.shape, bool)
            if not at.any():
                continue
            g = z.geometry.buffer(self.margin_m, quad_segs=4) if margin else z.geometry
            out |= at & shapely.contains_xy(g, x, y)
        return out

    def route(self, p, q, alt_agl_m: float) -> list[tuple[float, float]]:
        """Intermediate points (metric) of the shortest clear path p→q at ``alt_agl_m``.

        Returns ``[]`` when the straight leg is clear. Raises :class:`PlanningError` when no
        path exists (e.g. an endpoint is enclosed by zones).
        """
        key = self.blocking(alt_agl_m)
        if not key:
            return []
        raw, grown, nodes, vis = self._geoms(key)
        p = np.asarray(p, float)
        q = np.asarray(q, float)
        if not self._segments_hit(p[None], q[None], grown)[0]:
            return []
        # endpoints inside the margin (but outside the zone) may only leave through raw-clear legs
        ends = np.stack([p, q])
        in_margin = shapely.contains_xy(grown, ends[:, 0], ends[:, 1])
        if in_margin.any() and not self._segments_hit(p[None], q[None], raw)[0]:
            # both near a zone and the straight leg is clear of the zone itself: accept it
            return []
        n = len(nodes)
        w = np.full((n + 2, n + 2), np.inf)
        w[:n, :n] = vis
        for k, e in enumerate(ends):
            geom = raw if in_margin[k] else grown
            hit = self._segments_hit(np.repeat(e[None], n, axis=0), nodes, geom) if n else np.zeros(0, bool)
            d = np.hypot(*(nodes - e).T) if n else np.zeros(0)
            d = np.where(hit, np.inf, d)
            w[n + k, :n] = d
            w[:n, n + k] = d
        graph = np.where(np.isfinite(w), w, 0.0)
        dist, pred = dijkstra(graph, directed=False, indices=n, return_predecessors=True)
        if not np.isfinite(dist[n + 1]):
            names = ", ".join(self.zones[i].zone_id for i in key)
            raise PlanningError(
                f"no clear path from ({p[0]:.0f}, {p[1]:.0f}) to ({q[0]:.0f}, {q[1]:.0f}) at "
                f"{alt_agl_m:.0f} m AGL around zones {names}: move the launch site or the target"
            )
        path = []
        k = pred[n + 1]
        while k != n and k >= 0:
            path.append(tuple(nodes[k]))
            k = pred[k]
        return path[::-1]


def polygon_from_lonlat(coords, crs) -> Polygon:
    """A metric polygon from ``[(lon, lat), …]`` (EPSG:4326) — a test and fixture helper."""
    from ecopatrol.core.crs import lonlat_to_xy

    arr = np.asarray(coords, float)
    x, y = lonlat_to_xy(arr[:, 0], arr[:, 1], crs)
    return Polygon(np.column_stack([x, y]))
