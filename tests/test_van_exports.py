"""Van plan exports: GPX 1.1 (WGS-84 and GCJ-02), KML, GeoJSON, turn-by-turn, summary; and the CLI."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import gpxpy
import numpy as np
import pytest
import typer
from shapely.geometry import Point
from typer.testing import CliRunner

from ecopatrol.core.crs import gcj02_to_wgs84, haversine_m, local_metric_crs
from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import Wind
from ecopatrol.missions.van import load_road_network, plan_van, write_van_plan
from van_support import grid_lonlat, write_grid_osm
from area_support import MemoryArea
from ecopatrol.missions.van.exports import _turn_word

LON0, LAT0 = 120.45, 36.39
FILES = ["plan.json", "route.gpx", "route_gcj02.gpx", "route.kml", "route.geojson", "turns.txt", "turns.csv",
         "summary.json"]


@dataclass(kw_only=True)
class _Area(MemoryArea):
    """The exports' area: a :class:`MemoryArea` with a depot and a road file."""

    depot: object
    roads_path: Path


def _grid_area(roads_path) -> _Area:
    at = [grid_lonlat(2.4, 4.3, lon0=LON0, lat0=LAT0, spacing_m=250.0),
          grid_lonlat(3.3, 6.6, lon0=LON0, lat0=LAT0, spacing_m=250.0)]
    return _Area(
        name="grid", roads_path=Path(roads_path),
        enterprises=gpd.GeoDataFrame({"enterprise_id": ["A", "B"], "name": ["Alpha Printing", "Beta Dyeing"],
                                      "park": ["P1", "P1"]}, geometry=[Point(*p) for p in at], crs="EPSG:4326"),
        sources=gpd.GeoDataFrame({"source_id": ["A1", "B1"], "enterprise_id": ["A", "B"], "height_m": [15.0, 18.0],
                                  "diameter_m": 0.5, "exit_velocity_m_s": 6.0, "exit_temp_k": 310.0},
                                 geometry=[Point(*p) for p in at], crs="EPSG:4326"),
        depot=gpd.GeoDataFrame({"depot_id": ["D1"]}, geometry=[Point(LON0, LAT0)], crs="EPSG:4326"),
        metric_crs=local_metric_crs(LON0, LAT0))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("van")
    path = write_grid_osm(tmp / "roads.osm", nx=11, ny=11, lon0=LON0, lat0=LAT0)
    g = load_road_network(path, cache_dir=False)
    area = _grid_area(path)
    plan = plan_van(area, ["A", "B"], Wind(270, 4, "D"), network=g, seconds=0.5)
    files = write_van_plan(plan, tmp / "out")
    return plan, tmp / "out", files


def test_all_files_written_atomically(written):
    plan, out, files = written
    assert [f.name for f in files] == FILES
    assert all(f.stat().st_size > 0 for f in files)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_gpx_track_and_named_leg_waypoints(written):
    plan, out, _ = written
    gpx = gpxpy.parse((out / "route.gpx").read_text())
    assert 'version="1.1"' in (out / "route.gpx").read_text()[:400]
    pts = gpx.tracks[0].segments[0].points
    assert len(pts) == len(plan.path_lonlat)
    np.testing.assert_allclose([[p.longitude, p.latitude] for p in pts], plan.path_lonlat, atol=1e-7)
    names = [w.name for w in gpx.waypoints]
    assert "DEPOT" in names
    for leg in plan.legs:
        if leg.kind != "transit":
            assert f"{leg.leg_id} start" in names and f"{leg.leg_id} end" in names
    assert {"A-P1 start", "A-P2 start", "B-P1 start", "B-P2 start"} <= set(names)


def test_gcj02_gpx_is_shifted_and_round_trips(written):
    plan, out, _ = written
    gcj = gpxpy.parse((out / "route_gcj02.gpx").read_text())
    pts = np.array([[p.longitude, p.latitude] for p in gcj.tracks[0].segments[0].points])
    shift_m = haversine_m(pts[:, 0], pts[:, 1], plan.path_lonlat[:, 0], plan.path_lonlat[:, 1])
    assert ((shift_m > 200) & (shift_m < 800)).all()  # GCJ-02 offset in Qingdao is a few hundred metres
    lon, lat = gcj02_to_wgs84(pts[:, 0], pts[:, 1])
    np.testing.assert_allclose(np.c_[lon, lat], plan.path_lonlat, atol=1e-6)
    assert "GCJ-02" in gcj.description


def test_kml_and_geojson_structure(written):
    plan, out, _ = written
    root = ET.parse(out / "route.kml").getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = root.findall(".//k:Placemark", ns)
    n_special = sum(leg.kind != "transit" for leg in plan.legs)
    assert len(marks) == len(plan.legs) + n_special + 1
    fc = json.loads((out / "route.geojson").read_text())
    lines = [f for f in fc["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == len(plan.legs)
    assert {f["properties"]["kind"] for f in lines} == {"monitoring", "transit", "background"}
    first = lines[0]["geometry"]["coordinates"][0]
    assert first == pytest.approx(list(plan.path_lonlat[0]), abs=1e-6)


def test_turn_by_turn_names_streets_and_leg_purposes(written):
    plan, out, _ = written
    rows = list(csv.DictReader((out / "turns.csv").open()))
    assert rows[0]["instruction"].startswith("Depart")
    assert rows[-1]["instruction"] == "Arrive at the depot"
    streets = {r["street"] for r in rows}
    assert any(s.startswith("Street ") for s in streets) and any(s.startswith("Road ") for s in streets)
    starts = [r for r in rows if r["instruction"].startswith("START monitoring")]
    assert len(starts) == 4 and all("plume" in r["instruction"] for r in starts)
    assert float(rows[-1]["cum_km"]) == pytest.approx(plan.distance_m / 1000, abs=0.01)
    txt = (out / "turns.txt").read_text()
    assert "Alpha Printing" in txt and "background" in txt


def test_summary_figures(written):
    plan, out, _ = written
    s = json.loads((out / "summary.json").read_text())
    assert s["distance_km"] == pytest.approx(plan.distance_m / 1000, abs=1e-3)
    assert s["duration_h"] == pytest.approx(plan.duration_s / 3600, abs=1e-3)
    assert s["targets_covered"] == ["A", "B"] and s["targets_dropped"] == []
    assert s["passes_per_target"] == {"A": 2, "B": 2}
    p = json.loads((out / "plan.json").read_text())
    assert p["schema"] == "ecopatrol.plan/1" and p["routes"][0]["distance_m"] == pytest.approx(plan.distance_m, abs=0.1)


@pytest.mark.parametrize("delta,word", [(0, "Continue"), (30, "Bear right"), (-90, "Turn left"), (175, "Make a U-turn")])
def test_turn_words(delta, word):
    assert _turn_word(delta) == word


# ---------------------------------------------------------------- CLI

def _app():
    from ecopatrol.cli_van import plan_van_cmd

    app = typer.Typer()
    app.command()(plan_van_cmd)
    return app


def test_cli_plans_the_jimo_example(jimo, tmp_path):
    ids = jimo.enterprises["enterprise_id"].astype(str)
    ids = ids[jimo.enterprises["park"].astype(str).str.contains("Packaging")].head(3).tolist()
    targets = tmp_path / "targets.csv"
    targets.write_text("rank,enterprise_id\n" + "\n".join(f"{k + 1},{t}" for k, t in enumerate(ids)) + "\n")
    res = CliRunner().invoke(_app(), ["--area", "jimo", "--targets-file", str(targets), "--wind", "315/4",
                                      "--passes", "1", "--iterations", "50", "--out", str(tmp_path / "van")])
    assert res.exit_code == 0, res.output
    assert "van route:" in res.output
    assert sorted(p.name for p in (tmp_path / "van").iterdir()) == sorted(FILES)


def test_cli_needs_exactly_one_target_source(tmp_path):
    res = CliRunner().invoke(_app(), ["--area", "jimo", "--out", str(tmp_path)])
    assert isinstance(res.exception, InputError)
    assert "--targets" in str(res.exception)


def test_cli_bad_depot_is_an_input_error(tmp_path):
    res = CliRunner().invoke(_app(), ["--area", "jimo", "--targets", "X", "--depot", "120.4", "--out", str(tmp_path)])
    assert isinstance(res.exception, InputError)
    assert "--depot" in str(res.exception)


def test_cli_help_renders():
    res = CliRunner().invoke(_app(), ["--help"])
    assert res.exit_code == 0, res.output
    assert "--targets-file" in res.output and "270/4" in res.output
