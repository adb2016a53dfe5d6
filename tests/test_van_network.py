"""Road networks from OSM XML / bz2 / PBF: drivable filter, one-ways, names, speeds, cache, bad files."""

from __future__ import annotations

import bz2

import networkx as nx
import pytest

from ecopatrol.core.errors import FormatError, InputError, InputFileNotFoundError
from van_support import write_grid_osm
from ecopatrol.missions.van.network import load_road_network, oneway_direction, parse_maxspeed_kph

EXTRA = """
<node id="9001" version="1" lat="36.3850" lon="120.4500"/>
<node id="9002" version="1" lat="36.3850" lon="120.4560"/>
<node id="9003" version="1" lat="36.3840" lon="120.4500"/>
<way id="7001" version="1"><nd ref="1"/><nd ref="9001"/><nd ref="9002"/>
  <tag k="highway" v="secondary"/><tag k="name" v="Fast Road"/><tag k="maxspeed" v="30 mph"/>
  <tag k="oneway" v="-1"/></way>
<way id="7002" version="1"><nd ref="9001"/><nd ref="9003"/>
  <tag k="highway" v="service"/><tag k="service" v="parking_aisle"/></way>
<way id="7003" version="1"><nd ref="9002"/><nd ref="9003"/>
  <tag k="highway" v="residential"/><tag k="access" v="private"/></way>
"""


def _to_pbf(src, dst):
    import osmium

    with osmium.SimpleWriter(str(dst)) as w:
        for obj in osmium.FileProcessor(str(src)):
            w.add(obj)
    return dst


@pytest.fixture()
def grid_osm(tmp_path):
    return write_grid_osm(tmp_path / "grid.osm", nx=4, ny=3, oneway_rows=(1,), extra_ways=EXTRA)


def test_grid_is_directed_with_oneways_names_and_speeds(grid_osm, tmp_path):
    g = load_road_network(grid_osm, cache_dir=False)
    assert isinstance(g, nx.MultiDiGraph)
    assert g.graph["crs"] == "EPSG:4326"
    # row 1 (nodes 5..8) is one-way eastbound: forward edges only
    assert g.has_edge(5, 6) and not g.has_edge(6, 5)
    # two-way rows and columns have both directions
    assert g.has_edge(1, 2) and g.has_edge(2, 1)
    assert g.has_edge(1, 5) and g.has_edge(5, 1)
    assert g.edges[1, 2, 0]["name"] == "Road 0"
    assert g.edges[1, 5, 0]["name"] == "Street 0"
    # footway diagonal, parking aisle and private road are not drivable
    assert not g.has_edge(1, 6) and not g.has_edge(6, 11)
    assert not g.has_edge(9001, 9003) and not g.has_edge(9002, 9003)
    assert 9003 not in g
    # oneway=-1 runs against the way's node order; maxspeed in mph becomes km/h
    assert g.has_edge(9002, 9001) and not g.has_edge(9001, 9002)
    e = g.edges[9002, 9001, 0]
    assert e["speed_kph"] == pytest.approx(48.28, abs=0.01)
    assert e["oneway"] is True
    # 250 m grid spacing, geodesic lengths, travel time from speed
    e = g.edges[1, 2, 0]
    assert e["length"] == pytest.approx(250.0, rel=0.01)
    assert e["travel_time"] == pytest.approx(e["length"] / (30 / 3.6))
    assert g.nodes[1]["x"] == pytest.approx(120.45) and g.nodes[1]["y"] == pytest.approx(36.39)


def test_bz2_and_pbf_give_the_same_graph(grid_osm, tmp_path):
    g = load_road_network(grid_osm, cache_dir=False)
    bz = tmp_path / "grid.osm.bz2"
    bz.write_bytes(bz2.compress(grid_osm.read_bytes()))
    pbf = _to_pbf(grid_osm, tmp_path / "grid.osm.pbf")
    for other in (load_road_network(bz, cache_dir=False), load_road_network(pbf, cache_dir=False)):
        assert set(other.edges()) == set(g.edges())
        assert {(u, v, d["name"]) for u, v, d in other.edges(data=True)} == \
               {(u, v, d["name"]) for u, v, d in g.edges(data=True)}


def test_cache_is_used_and_keyed_on_content(grid_osm, tmp_path):
    cache = tmp_path / "cache"
    g1 = load_road_network(grid_osm, cache_dir=cache)
    files = list(cache.glob("*.pickle"))
    assert len(files) == 1
    g2 = load_road_network(grid_osm, cache_dir=cache)
    assert set(g2.edges()) == set(g1.edges())
    # a changed file gets a new cache entry, not the stale graph
    write_grid_osm(grid_osm, nx=5, ny=3)
    g3 = load_road_network(grid_osm, cache_dir=cache)
    assert len(list(cache.glob("*.pickle"))) == 2
    assert g3.number_of_nodes() == 15


def test_no_drivable_roads_is_a_clear_error(tmp_path):
    xml = tmp_path / "paths.osm"
    xml.write_text("""<?xml version="1.0"?><osm version="0.6">
<node id="1" version="1" lat="36.39" lon="120.45"/><node id="2" version="1" lat="36.391" lon="120.45"/>
<way id="1" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way></osm>""")
    pbf = _to_pbf(xml, tmp_path / "paths.osm.pbf")
    for f in (xml, pbf):
        with pytest.raises(InputError, match="no drivable roads") as exc:
            load_road_network(f, cache_dir=False)
        assert f.name in str(exc.value)


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "junk.osm.pbf"
    bad.write_bytes(b"this is not a pbf file at all" * 10)
    with pytest.raises(FormatError, match="junk.osm.pbf"):
        load_road_network(bad, cache_dir=False)
    with pytest.raises(InputFileNotFoundError):
        load_road_network(tmp_path / "absent.osm", cache_dir=False)


@pytest.mark.parametrize("text,kph", [("50", 50.0), ("30 mph", 48.28), ("CN:urban", 50.0), ("40;60", 50.0),
                                      ("none", None), (None, None), ("walk", 6.0)])
def test_parse_maxspeed(text, kph):
    got = parse_maxspeed_kph(text)
    assert got == (None if kph is None else pytest.approx(kph, abs=0.01))


def test_oneway_rules():
    assert oneway_direction({"oneway": "yes"}) == 1
    assert oneway_direction({"oneway": "-1"}) == -1
    assert oneway_direction({"junction": "roundabout"}) == 1
    assert oneway_direction({"highway": "motorway"}) == 1
    assert oneway_direction({"highway": "motorway", "oneway": "no"}) == 0
    assert oneway_direction({"highway": "residential"}) == 0


def test_real_west_oakland_extract(shared_data):
    g = load_road_network(shared_data / "osm" / "West-Oakland.osm.bz2", cache_dir=False)
    assert g.number_of_nodes() > 50
    names = {d["name"] for *_, d in g.edges(data=True)}
    assert "9th Street" in names
    oneway = [(u, v) for u, v, d in g.edges(data=True) if d["oneway"]]
    assert oneway, "West Oakland has one-way streets"
    # a one-way edge has no reverse twin from the same way
    for u, v in oneway:
        assert not any(d["osmid"] == g.edges[u, v, 0]["osmid"] for d in g.get_edge_data(v, u, default={}).values())
    lengths = [d["length"] for *_, d in g.edges(data=True)]
    assert 0 < min(lengths) and max(lengths) < 2000


def test_real_german_town_grid(shared_data):
    g = load_road_network(shared_data / "osm" / "planet_10.068,48.135_10.071,48.137.osm", cache_dir=False)
    assert g.number_of_edges() > 10
    xs = [d["x"] for _, d in g.nodes(data=True)]
    ys = [d["y"] for _, d in g.nodes(data=True)]
    assert 10.06 < min(xs) and max(xs) < 10.08 and 48.13 < min(ys) and max(ys) < 48.14
