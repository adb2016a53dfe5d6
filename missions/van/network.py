"""Drivable road networks from OpenStreetMap files, offline and cached.

OSM XML (``.osm``, ``.osm.bz2``, ``.osm.gz``) and PBF (``.osm.pbf``) are read with the
``osmium`` library (libosmium), so one code path serves every format. The result is an
osmnx-style ``networkx.MultiDiGraph``: node attributes ``x`` (lon), ``y`` (lat) in EPSG:4326;
one directed edge per consecutive node pair of a way and travel direction, with ``osmid``,
``name``, ``highway``, ``oneway``, ``length`` (m, geodesic), ``speed_kph`` and
``travel_time`` (s). The graph is not simplified, so a route is a list of nodes whose
consecutive pairs are real edges and whose coordinates are the path's geometry.

Graphs are cached as pickles keyed on the file's SHA-256 and this module's parser version.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from pathlib import Path

import networkx as nx
import numpy as np

from ecopatrol.core.crs import haversine_m
from ecopatrol.core.io import atomic_write, sha256_file
from ecopatrol.core.errors import InputError, InputFileNotFoundError

log = logging.getLogger(__name__)

PARSER_VERSION = 1

# Drivable highway classes (osmnx's "drive" network, plus service roads that are not parking aisles
# or driveways) and their default speeds (km/h) when `maxspeed` is missing.
DEFAULT_SPEED_KPH: dict[str, float] = {
    "motorway": 100, "motorway_link": 60, "trunk": 80, "trunk_link": 50,
    "primary": 60, "primary_link": 40, "secondary": 50, "secondary_link": 40,
    "tertiary": 40, "tertiary_link": 30, "unclassified": 30, "residential": 30,
    "living_street": 10, "road": 30, "service": 20,
}
_EXCLUDED_SERVICE = {"parking", "parking_aisle", "driveway", "private", "emergency_access", "drive-through"}
_NO_ACCESS = {"no", "private"}
_ONEWAY_FWD = {"yes", "true", "1"}
_ONEWAY_REV = {"-1", "reverse"}
_ONEWAY_DEFAULT_CLASSES = {"motorway"}
_NAMED_SPEEDS_KPH = {"walk": 6, "living_street": 10, "urban": 50, "rural": 80, "motorway": 110}


def parse_maxspeed_kph(value: str | None) -> float | None:
    """km/h from an OSM ``maxspeed`` tag (``50``, ``30 mph``, ``CN:urban``, ``50;60``…), or None."""
    if not value:
        return None
    v = str(value).strip().lower()
    speeds = []
    for part in re.split(r"[;|]", v):
        part = part.strip()
        m = re.match(r"^(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?$", part)
        if m:
            s = float(m.group(1))
            unit = m.group(2)
            if unit == "mph":
                s *= 1.609344
            elif unit == "knots":
                s *= 1.852
            speeds.append(s)
            continue
        for key, s in _NAMED_SPEEDS_KPH.items():
            if part.endswith(key):
                speeds.append(float(s))
                break
    speeds = [s for s in speeds if 0 < s < 200]
    return float(np.mean(speeds)) if speeds else None


def is_drivable(tags: dict) -> bool:
    """Whether an OSM way with ``tags`` is a road a van may drive."""
    hw = tags.get("highway")
    if hw not in DEFAULT_SPEED_KPH:
        return False
    if tags.get("area") == "yes":
        return False
    if hw == "service" and tags.get("service") in _EXCLUDED_SERVICE:
        return False
    if tags.get("access") in _NO_ACCESS or tags.get("motor_vehicle") in _NO_ACCESS \
            or tags.get("motorcar") in _NO_ACCESS or tags.get("vehicle") in _NO_ACCESS:
        return False
    return True


def oneway_direction(tags: dict) -> int:
    """+1 one-way in way order, −1 one-way against it, 0 two-way."""
    ow = str(tags.get("oneway", "")).lower()
    if ow in _ONEWAY_FWD:
        return 1
    if ow in _ONEWAY_REV:
        return -1
    if ow == "no":
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") in _ONEWAY_DEFAULT_CLASSES:
        return 1
    return 0


def _file_sha256(path: Path) -> str:
    return sha256_file(path)


def default_cache_dir() -> Path:
    """``$ECOPATROL_CACHE/roads`` or ``~/.cache/ecopatrol/roads`` (the project's cache folder)."""
    base = os.environ.get("ECOPATROL_CACHE")
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ecopatrol"
    return root / "roads"


def _read_ways(path: Path):
    """Drivable ways as (way_id, tags, [(node_id, lon, lat), …]) (:func:`ecopatrol.core.osm.read_osm_ways`:
    XML, bz2, gz or PBF); nodes outside the extract are left out."""
    from ecopatrol.core.osm import read_osm_ways

    ways = []
    n_missing = 0
    for way_id, tags, nodes in read_osm_ways(path, is_drivable, fix="give an .osm, .osm.bz2 or .osm.pbf file"):
        kept = [n for n in nodes if n is not None]
        n_missing += len(nodes) - len(kept)
        ways.append((way_id, tags, kept))
    if n_missing:
        log.debug("%s: %d way node references outside the extract ignored", path.name, n_missing)
    return ways


def _build_graph(path: Path, ways) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="EPSG:4326", source=str(path), name=path.name)
    us, vs, attrs = [], [], []
    coords: dict[int, tuple[float, float]] = {}
    for way_id, tags, nodes in ways:
        if len(nodes) < 2:
            continue
        hw = tags["highway"]
        speed = parse_maxspeed_kph(tags.get("maxspeed")) or DEFAULT_SPEED_KPH[hw]
        direction = oneway_direction(tags)
        name = tags.get("name") or tags.get("name:en") or tags.get("ref") or ""
        for nid, lon, lat in nodes:
            coords[nid] = (lon, lat)
        ids = [n[0] for n in nodes]
        pairs = list(zip(ids[:-1], ids[1:]))
        base = {"osmid": way_id, "name": name, "highway": hw, "oneway": direction != 0,
                "speed_kph": float(speed)}
        if direction >= 0:
            for a, b in pairs:
                us.append(a)
                vs.append(b)
                attrs.append(dict(base, reversed=False))
        if direction <= 0:
            for a, b in pairs:
                us.append(b)
                vs.append(a)
                attrs.append(dict(base, reversed=direction == 0))
    if not us:
        return g
    lon1 = np.array([coords[u][0] for u in us])
    lat1 = np.array([coords[u][1] for u in us])
    lon2 = np.array([coords[v][0] for v in vs])
    lat2 = np.array([coords[v][1] for v in vs])
    length_m = haversine_m(lon1, lat1, lon2, lat2)
    for nid, (lon, lat) in coords.items():
        g.add_node(nid, x=lon, y=lat)
    for u, v, a, L in zip(us, vs, attrs, length_m):
        if u == v:
            continue
        a["length"] = float(L)
        a["travel_time"] = float(L) / (a["speed_kph"] / 3.6)
        g.add_edge(u, v, **a)
    g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
    return g


def load_road_network(path, *, cache_dir=None) -> nx.MultiDiGraph:
    """Read the drivable, directed road network of an OSM XML / PBF file.

    Parameters
    ----------
    path : ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file (WGS-84).
    cache_dir : folder for the parsed-graph cache (default :func:`default_cache_dir`);
        ``False`` disables caching.

    Returns
    -------
    networkx.MultiDiGraph with nodes ``x`` = lon, ``y`` = lat (EPSG:4326) and edges carrying
    ``name``, ``highway``, ``oneway``, ``length`` (m), ``speed_kph``, ``travel_time`` (s).

    Raises
    ------
    InputFileNotFoundError, FormatError (unreadable file), InputError (no drivable roads).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError.keyed("roads.missing", path=path)
    cache_file = None
    if cache_dir is not False:
        cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        key = _file_sha256(path)
        cache_file = cdir / f"roads-v{PARSER_VERSION}-{key[:32]}.pickle"
        if cache_file.is_file():
            try:
                with open(cache_file, "rb") as f:
                    g = pickle.load(f)
                log.info("road network %s: %d nodes, %d edges (cached)", path.name,
                         g.number_of_nodes(), g.number_of_edges())
                return g
            except Exception:  # a corrupt cache is rebuilt, never fatal
                log.warning("ignoring unreadable road-network cache %s", cache_file)
    ways = _read_ways(path)
    g = _build_graph(path, ways)
    if g.number_of_edges() == 0:
        raise InputError(
            f"`{path.name}`: no drivable roads found (no ways tagged highway=primary/secondary/"
            "tertiary/residential/service/… with at least two nodes inside the extract); "
            "export a larger extract that includes the streets around the targets"
        )
    n_oneway = sum(1 for *_, d in g.edges(data=True) if d["oneway"])
    log.info("road network %s: %d nodes, %d directed edges (%d one-way), %.1f km of road",
             path.name, g.number_of_nodes(), g.number_of_edges(), n_oneway,
             sum(d["length"] for *_, d in g.edges(data=True)) / 1000)
    if cache_file is not None:
        try:
            atomic_write(cache_file, pickle.dumps(g, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            log.warning("could not cache the road network in %s: %s", cache_file.parent, exc)
    return g
