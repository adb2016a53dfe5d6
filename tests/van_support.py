"""Small synthetic OSM XML street grids for the van planner's tests (a test helper, moved out of the
package where only tests used it; not for real planning)."""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

EARTH_M_PER_DEG_LAT = 111_320.0


def grid_lonlat(i: int, j: int, *, lon0: float, lat0: float, spacing_m: float) -> tuple[float, float]:
    """WGS-84 ``(lon, lat)`` of grid node (column ``i``, row ``j``)."""
    dlat = spacing_m / EARTH_M_PER_DEG_LAT
    dlon = spacing_m / (EARTH_M_PER_DEG_LAT * math.cos(math.radians(lat0)))
    return lon0 + i * dlon, lat0 + j * dlat


def write_grid_osm(path, *, nx: int = 9, ny: int = 9, spacing_m: float = 250.0, lon0: float = 120.45,
                   lat0: float = 36.39, oneway_rows: tuple[int, ...] = (), highway: str = "residential",
                   extra_ways: str = "") -> Path:
    """Write an ``nx`` × ``ny`` street grid as OSM XML.

    Rows (constant latitude) are ways named ``Road <j>``; columns are ``Street <i>``; rows in
    ``oneway_rows`` are one-way eastbound. A footway diagonal is added (not drivable). Node id of
    (i, j) is ``1 + j * nx + i``.
    """
    path = Path(path)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="ecopatrol-test">']
    for j in range(ny):
        for i in range(nx):
            lon, lat = grid_lonlat(i, j, lon0=lon0, lat0=lat0, spacing_m=spacing_m)
            lines.append(f'<node id="{1 + j * nx + i}" version="1" lat="{lat:.8f}" lon="{lon:.8f}"/>')
    wid = 1000
    for j in range(ny):
        wid += 1
        nds = "".join(f'<nd ref="{1 + j * nx + i}"/>' for i in range(nx))
        tags = f'<tag k="highway" v="{highway}"/><tag k="name" v="Road {j}"/>'
        if j in oneway_rows:
            tags += '<tag k="oneway" v="yes"/>'
        lines.append(f'<way id="{wid}" version="1">{nds}{tags}</way>')
    for i in range(nx):
        wid += 1
        nds = "".join(f'<nd ref="{1 + j * nx + i}"/>' for j in range(ny))
        lines.append(f'<way id="{wid}" version="1">{nds}<tag k="highway" v="{highway}"/>'
                     f'<tag k="name" v={quoteattr(f"Street {i}")}/></way>')
    diag = "".join(f'<nd ref="{1 + k * nx + k}"/>' for k in range(min(nx, ny)))
    lines.append(f'<way id="{wid + 1}" version="1">{diag}<tag k="highway" v="footway"/></way>')
    lines.append(extra_ways)
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
