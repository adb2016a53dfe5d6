"""The area's own roads as a light, offline vector base layer (map) and a backdrop (sheets).

The roads come from the area's ``roads.osm`` / ``.osm.bz2`` / ``.osm.pbf`` through the van
planner's reader (:func:`ecopatrol.missions.van.load_road_network`, cached), so the map shows
exactly the streets the routes were planned on, with no tile server. Ways are grouped into
three classes (major, minor, service), merged into continuous lines and simplified to a few
metres; coordinates are WGS-84 ``(lon, lat)`` rounded to about a metre.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ecopatrol.core.area import AreaLike

log = logging.getLogger(__name__)

#: Road classes drawn, widest first, and the OSM ``highway`` values in each.
ROAD_CLASSES: dict[str, tuple[str, ...]] = {
    "major": ("motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link", "secondary",
              "secondary_link"),
    "minor": ("tertiary", "tertiary_link", "unclassified", "residential", "road", "living_street"),
    "service": ("service",),
}
#: Light grey, thin: a base that lets every overlay stand out.
ROAD_STYLES: dict[str, dict] = {
    "major": {"color": "#a3a3a3", "weight": 3.0, "opacity": 1.0},
    "minor": {"color": "#bdbdbd", "weight": 1.6, "opacity": 1.0},
    "service": {"color": "#d0d0d0", "weight": 1.0, "opacity": 1.0},
}
SIMPLIFY_M = 4.0
_M_PER_DEG = 111_320.0


def find_roads(area: AreaLike) -> Path | None:
    """The area's road file: ``area.roads_path``, else ``roads.osm*`` in its folder; None if none
    (both are optional parts of :class:`~ecopatrol.core.area.AreaLike`, read with a default)."""
    p = getattr(area, "roads_path", None)
    if p:
        p = Path(p)
        return p if p.is_file() else None
    folder = getattr(area, "path", None)
    if folder is None or not Path(folder).is_dir():
        return None
    for name in ("roads.osm.pbf", "roads.osm", "roads.osm.bz2", "roads.osm.gz"):
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def _class_of(highway: str) -> str | None:
    for k, vals in ROAD_CLASSES.items():
        if highway in vals:
            return k
    return None


@lru_cache(maxsize=4)
def _road_lines_cached(path: str, mtime_ns: int, simplify_m: float) -> dict[str, tuple]:
    import shapely

    from ecopatrol.missions.van import load_road_network

    g = load_road_network(path)
    xy = {n: (d["x"], d["y"]) for n, d in g.nodes(data=True)}
    seen: set[tuple[int, int]] = set()
    segs: dict[str, list] = {k: [] for k in ROAD_CLASSES}
    for u, v, d in g.edges(data=True):
        key = (u, v) if u < v else (v, u)
        if key in seen:
            continue
        seen.add(key)
        hw = d.get("highway")
        cls = _class_of(hw[0] if isinstance(hw, list) else str(hw))
        if cls is not None:
            segs[cls].append((xy[u], xy[v]))
    tol_deg = simplify_m / _M_PER_DEG
    out = {}
    for cls, s in segs.items():
        if not s:
            continue
        lines = shapely.linestrings(np.asarray(s, dtype=float))
        merged = shapely.line_merge(shapely.multilinestrings(lines))
        parts = shapely.get_parts(merged)
        out[cls] = tuple(shapely.simplify(parts, tol_deg, preserve_topology=False))
    log.info("roads %s: %s lines for display", Path(path).name,
             ", ".join(f"{len(v)} {k}" for k, v in out.items()))
    return out


def road_lines(path, *, simplify_m: float = SIMPLIFY_M) -> dict[str, tuple]:
    """``{class: (LineString, …)}`` of the road file ``path`` in WGS-84, merged and simplified."""
    p = Path(path)
    return _road_lines_cached(str(p.resolve()), p.stat().st_mtime_ns, float(simplify_m))


def road_features(path, to_display=None, *, simplify_m: float = SIMPLIFY_M, digits: int = 5) -> list[dict]:
    """GeoJSON features (one ``MultiLineString`` per class) of the roads in ``path``.

    ``to_display`` maps shapely geometries to the map's datum (GCJ-02 for AMap); coordinates
    are rounded to ``digits`` decimals. Each feature carries ``kind="road"``, ``road_class`` and
    its ``_style`` (not interactive: the roads are a base, never in the way of a click).
    """
    import shapely

    feats = []
    for cls, lines in road_lines(path, simplify_m=simplify_m).items():
        geoms = np.asarray(lines, dtype=object)
        if to_display is not None:
            geoms = to_display(geoms)
        geoms = shapely.set_precision(geoms, 10.0 ** -digits)
        geoms = geoms[~shapely.is_empty(geoms)]
        if geoms.size == 0:
            continue
        mls = shapely.multilinestrings(geoms)
        gj = json.loads(shapely.to_geojson(mls))
        feats.append({"type": "Feature", "geometry": gj, "properties": {
            "kind": "road", "road_class": cls, "n_lines": int(geoms.size),
            "_style": dict(ROAD_STYLES[cls], interactive=False, lineCap="round", lineJoin="round")}})
    return feats
