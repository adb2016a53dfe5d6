"""Build an operating area around a real OpenStreetMap extract anywhere (tests only).

:func:`build_area` writes an area folder in a temporary directory: a handful of invented
enterprises (plain local ids, one 15 m stack each) placed upwind of north–south streets of the
extract so that a west wind carries their plumes across them, a launch site and a depot on the
drivable network, no no-fly zone, the extract itself as the roads, and an ``area.toml`` with
the ``country`` (or none, to test the default) and optionally ``[limits] height_cap_m`` and a DEM.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from ecopatrol.core.crs import local_metric_crs, lonlat_to_xy, xy_to_lonlat
from ecopatrol.missions.van import load_road_network

REGISTRY_HEADER = "enterprise_id,name,industry,lon,lat,crs,positive_list,last_inspected,violations_3y"
SOURCES_HEADER = "source_id,enterprise_id,lon,lat,crs,height_m,diameter_m,exit_velocity_m_s,exit_temp_k,pollutants"
UPWIND_M = 250.0  # firms this far west of a north–south street: the plume crosses it 250 m downwind


@dataclass
class BuiltArea:
    path: Path
    ids: list[str]
    graph: nx.MultiDiGraph  # the extract's drivable network, as the van planner reads it


def _fc(features) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features})


def _point(lon, lat, props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def build_area(out: Path, osm: Path, *, country: str | None, prefix: str = "F", n_firms: int = 3,
               height_cap_m: float | None = None, dem: Path | None = None, extra_rows: list[str] = ()) -> BuiltArea:
    """Write an area folder ``out`` around the OSM extract ``osm`` (see the module docstring).

    ``extra_rows`` are appended to ``registry.csv`` verbatim (columns of :data:`REGISTRY_HEADER`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    g = load_road_network(osm, cache_dir=False)
    main = max(nx.strongly_connected_components(g), key=len)
    nodes = sorted(main)
    lon = np.array([g.nodes[n]["x"] for n in nodes])
    lat = np.array([g.nodes[n]["y"] for n in nodes])
    crs = local_metric_crs(lon, lat)
    x, y = lonlat_to_xy(lon, lat, crs)
    pos = {n: (x[i], y[i]) for i, n in enumerate(nodes)}
    # north–south edges of the main network, westmost first, one per 40 m of northing
    ns = []
    for u, v in sorted({(min(a, b), max(a, b)) for a, b in g.subgraph(main).edges()}):
        (x1, y1), (x2, y2) = pos[u], pos[v]
        if abs(y2 - y1) > 20.0 and abs(y2 - y1) > 2.0 * abs(x2 - x1):
            ns.append(((x1 + x2) / 2.0, (y1 + y2) / 2.0))
    ns.sort()
    picked: list[tuple[float, float]] = []
    for mx, my in ns:
        if all(abs(my - py) > 40.0 for _, py in picked):
            picked.append((mx, my))
        if len(picked) == n_firms:
            break
    assert picked, f"{osm.name}: no north–south street in its main network"
    fx = np.array([p[0] - UPWIND_M for p in picked])
    fy = np.array([p[1] for p in picked])
    flon, flat = xy_to_lonlat(fx, fy, crs)
    ids = [f"{prefix}-{i + 1:03d}" for i in range(len(picked))]
    rows = [f"{eid},Invented works {i + 1},surface coating,{flon[i]:.7f},{flat[i]:.7f},wgs84,no,,{i}"
            for i, eid in enumerate(ids)]
    (out / "registry.csv").write_text("\n".join([REGISTRY_HEADER, *rows, *extra_rows]) + "\n", encoding="utf-8")
    src = [f"{eid}-S1,{eid},{flon[i]:.7f},{flat[i]:.7f},wgs84,15,0.6,8,320,VOCs" for i, eid in enumerate(ids)]
    (out / "sources.csv").write_text("\n".join([SOURCES_HEADER, *src]) + "\n", encoding="utf-8")
    # depot: the network node nearest its centre; launch site: 150 m south of the firms' centroid
    cx, cy = float(np.median(x)), float(np.median(y))
    k = int(np.argmin(np.hypot(x - cx, y - cy)))
    llon, llat = xy_to_lonlat(np.array([fx.mean()]), np.array([fy.mean() - 150.0]), crs)
    (out / "depot.geojson").write_text(_fc([_point(float(lon[k]), float(lat[k]), {"depot_id": "D1", "name": "Yard"})]))
    (out / "launch_sites.geojson").write_text(
        _fc([_point(float(llon[0]), float(llat[0]), {"site_id": "L1", "name": "Field"})]))
    (out / "nofly.geojson").write_text(_fc([]))
    name = "roads.osm.bz2" if osm.name.endswith(".bz2") else "roads.osm.pbf" if osm.name.endswith(".pbf") else "roads.osm"
    shutil.copyfile(osm, out / name)
    if dem is not None:
        shutil.copyfile(dem, out / "dem.tif")
    toml = [f'name = "{out.name}"']
    if country is not None:
        toml.append(f'country = "{country}"')
    toml += ["", "[defaults]", "wind_from_deg = 270", "wind_speed_m_s = 3", 'stability = "D"']
    if height_cap_m is not None:
        toml += ["", "[limits]", f"height_cap_m = {height_cap_m}"]
    (out / "area.toml").write_text("\n".join(toml) + "\n", encoding="utf-8")
    return BuiltArea(out, ids, g)
