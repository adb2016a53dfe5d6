"""The one OpenStreetMap road reader: the ways of an OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``)
or PBF (``.osm.pbf``) file with their tags and node positions, read with ``osmium`` (libosmium).

libosmium refuses XML entities (no billion laughs, no external entities) and stores positions in
units of 1e-7° (about 1 cm), as OSM itself does. The van's road network
(``missions.van.network``) and the archive simulator's road lines (``processing.archive_synth``)
are built from :func:`read_osm_ways`; an area's extent comes from :func:`roads_bounds`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ecopatrol.core.errors import FormatError

#: One way: ``(way_id, tags, nodes)``; a node is ``(node_id, lon, lat)`` (EPSG:4326), or ``None``
#: where the way references a node outside the extract.
Way = tuple[int, dict[str, str], list[tuple[int, float, float] | None]]


def read_osm_ways(path: str | Path, keep: Callable[[dict[str, str]], bool], *, fix: str) -> list[Way]:
    """The ways of ``path`` whose tags ``keep`` accepts, in file order (see :data:`Way`).

    An unreadable file is a :class:`FormatError` naming it; ``fix`` ends the message with what to do.
    """
    import osmium

    path = Path(path)
    ways: list[Way] = []
    try:
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        for obj in fp:
            if not obj.is_way():
                continue
            tags = {t.k: t.v for t in obj.tags}
            if not keep(tags):
                continue
            nodes: list[tuple[int, float, float] | None] = []
            for nr in obj.nodes:
                loc = nr.location
                nodes.append((int(nr.ref), float(loc.lon), float(loc.lat)) if loc.valid() else None)
            ways.append((int(obj.id), tags, nodes))
    except RuntimeError as exc:
        raise FormatError(f"`{path.name}`: cannot read it as OpenStreetMap XML or PBF ({exc}); {fix}") from None
    return ways


def roads_bounds(path: Path | None, *, scan: bool = False) -> tuple[float, float, float, float] | None:
    """``(min_lon, min_lat, max_lon, max_lat)`` of an OSM file from its header's bounds, or — with
    ``scan`` — from its nodes when the header has none; None when unknown or unreadable."""
    if path is None:
        return None
    try:
        import osmium

        r = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            box = r.header().box()
        finally:
            r.close()
        if box.valid():
            return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
        if not scan:
            return None
        xs, ys = [], []
        for n in osmium.FileProcessor(str(path), osmium.osm.NODE):
            if n.location.valid():
                xs.append(n.location.lon)
                ys.append(n.location.lat)
        return (min(xs), min(ys), max(xs), max(ys)) if xs else None
    except Exception:  # a broken roads file is reported by whoever reads it
        return None
