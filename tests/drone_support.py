"""A tiny synthetic operating area for the drone planner's tests and benchmark (a test helper).

A helper module of ``tests/`` (moved out of the package, where only tests used it): test
files import it as ``from drone_support import toy_area``.

It has the attributes of :class:`ecopatrol.core.area.Area` that the planner reads
(``enterprises``, ``sources``, ``nofly``, ``launch_sites``, ``metric_crs``, ``elevation_m``…)
and is built in memory: no files, no DEM raster (the ground is an analytic gentle slope).
Everything is placed relative to ``centre`` (lon, lat) in EPSG:4326 offsets in metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecopatrol.core.crs import local_metric_crs, xy_to_lonlat, lonlat_to_xy
from area_support import MemoryArea


@dataclass(kw_only=True)
class ToyArea(MemoryArea):
    """The drone tests' area: a :class:`MemoryArea` with zones, launch sites and analytic ground;
    ``metric_crs`` is the UTM zone of ``centre``."""

    nofly: object
    launch_sites: object
    depot: object = None
    path: Path | None = None
    roads_path: Path | None = None
    dem_path: Path | None = None
    ground_slope: float = 0.01  # m per m eastwards
    ground_base_m: float = 8.0
    centre: tuple[float, float] = (120.45, 36.39)

    def __post_init__(self):
        if self.metric_crs is None:
            self.metric_crs = local_metric_crs(*self.centre)
        super().__post_init__()

    def elevation_m(self, lon, lat):
        """Analytic ground height (m AMSL) at WGS-84 ``(lon, lat)``: a gentle eastward slope."""
        x, _ = lonlat_to_xy(np.atleast_1d(np.asarray(lon, float)), np.atleast_1d(np.asarray(lat, float)), self.metric_crs)
        x0, _ = lonlat_to_xy(np.array([self.centre[0]]), np.array([self.centre[1]]), self.metric_crs)
        return self.ground_base_m + self.ground_slope * (np.asarray(x) - x0[0]) + 20.0

    def sources_of(self, enterprise_id):
        return self.sources[self.sources["enterprise_id"] == str(enterprise_id)]


def toy_area(
    *,
    n_enterprises: int = 6,
    spread_m: float = 1200.0,
    nofly: list[dict] | None = None,
    launch_xy_m: list[tuple[float, float]] | None = None,
    seed: int = 0,
    centre: tuple[float, float] = (120.45, 36.39),
    airspace: list[str] | None = None,
) -> ToyArea:
    """Build a :class:`ToyArea`.

    ``nofly`` items: ``{"xy": [(x, y), …] metres from the centre, "kind": "no-fly", "ceiling_m": nan}``.
    Enterprises are spread at random (``seed``) within ``spread_m`` of the centre, each with
    one or two stacks 10–40 m tall.
    """
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point, Polygon

    rng = np.random.default_rng(seed)
    crs = local_metric_crs(*centre)
    cx, cy = lonlat_to_xy(np.array([centre[0]]), np.array([centre[1]]), crs)
    cx, cy = float(cx[0]), float(cy[0])

    def ll(x, y):
        lon, lat = xy_to_lonlat(np.asarray(x, float) + cx, np.asarray(y, float) + cy, crs)
        return lon, lat

    ex = rng.uniform(-spread_m, spread_m, n_enterprises)
    ey = rng.uniform(-spread_m, spread_m, n_enterprises)
    lon, lat = ll(ex, ey)
    ids = [f"E{i + 1:03d}" for i in range(n_enterprises)]
    ent = gpd.GeoDataFrame({
        "enterprise_id": ids, "name": [f"Toy works {i + 1}" for i in range(n_enterprises)],
        "industry": "packaging printing", "positive_list": False,
        "airspace": airspace if airspace is not None else ["free"] * n_enterprises,
        "last_inspected": pd.NaT, "violations_3y": 0, "park": "toy", "site_radius_m": 50.0,
    }, geometry=[Point(a, b) for a, b in zip(lon, lat)], crs="EPSG:4326")
    rows = []
    for i, eid in enumerate(ids):
        for k in range(1 + int(rng.integers(0, 2))):
            sx, sy = ex[i] + rng.uniform(-20, 20), ey[i] + rng.uniform(-20, 20)
            slon, slat = ll([sx], [sy])
            rows.append({"source_id": f"{eid}-S{k + 1}", "enterprise_id": eid, "height_m": float(rng.uniform(10, 40)),
                         "diameter_m": 0.8, "exit_velocity_m_s": 8.0, "exit_temp_k": 320.0, "pollutants": "VOCs",
                         "geometry": Point(slon[0], slat[0])})
    src = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    zones = []
    for j, z in enumerate(nofly or []):
        xy = np.asarray(z["xy"], float)
        zl, za = ll(xy[:, 0], xy[:, 1])
        zones.append({"zone_id": z.get("zone_id", f"NF{j + 1}"), "name": z.get("name", f"zone {j + 1}"),
                      "kind": z.get("kind", "no-fly"), "ceiling_m": z.get("ceiling_m", np.nan),
                      "geometry": Polygon(np.column_stack([zl, za]))})
    nf = gpd.GeoDataFrame(zones, geometry="geometry", crs="EPSG:4326") if zones else gpd.GeoDataFrame(
        {"zone_id": [], "name": [], "kind": [], "ceiling_m": []}, geometry=[], crs="EPSG:4326")
    launch_xy_m = launch_xy_m or [(-spread_m - 200.0, 0.0), (spread_m + 200.0, 0.0)]
    la, lb = ll([p[0] for p in launch_xy_m], [p[1] for p in launch_xy_m])
    ls = gpd.GeoDataFrame({"site_id": [f"L{i + 1}" for i in range(len(la))],
                           "name": [f"Launch {i + 1}" for i in range(len(la))]},
                          geometry=[Point(a, b) for a, b in zip(la, lb)], crs="EPSG:4326")
    return ToyArea(name="toy", enterprises=ent, sources=src, nofly=nf, launch_sites=ls, config={"defaults": {"site_radius_m": 50.0}, "synthetic": True},
                   centre=centre)
