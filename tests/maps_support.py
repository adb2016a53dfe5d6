"""Small synthetic artefact folders for the map, report and browser tests (no tests here).

Everything follows CONTRACTS.md: plan.json dicts, a samples GeoParquet, evidence/events.gpkg,
hotspots.tif (EPSG:4326), hotspots.gpkg, attribution.csv, targets.csv. The area is a
``tests/area_support.MemoryArea`` (an ``AreaLike``) with zones, launch sites and a depot, passed as ``area=``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from area_support import MemoryArea

LON0, LAT0 = 120.45, 36.40     # Jimo district
M_PER_DEG = 111_320.0


def off(dx_m, dy_m):
    """``(lon, lat)`` of a point ``dx_m`` east and ``dy_m`` north of (LON0, LAT0)."""
    return (LON0 + np.asarray(dx_m) / (M_PER_DEG * np.cos(np.radians(LAT0))),
            LAT0 + np.asarray(dy_m) / M_PER_DEG)


@dataclass(kw_only=True)
class FakeArea(MemoryArea):
    """The map tests' area: a :class:`MemoryArea` with a folder, zones, launch sites and a depot."""

    path: Path
    nofly: object
    launch_sites: object
    depot: object
    roads_path: Path | None = None


def make_area(path: Path) -> FakeArea:
    import geopandas as gpd
    from shapely.geometry import Point, Polygon

    xs, ys = off([-600, 0, 600, 1200, -300], [0, 300, -200, 400, 800])
    ent = gpd.GeoDataFrame({
        "enterprise_id": ["E1", "E2", "E3", "E4", "E5"],
        "name": ["青岛印刷 Packaging A", "Dye <Works> B", "Chem C", "Print D", "Textile E"],
        "industry": ["packaging printing", "textile dyeing", "chemicals", "packaging printing", "textile dyeing"],
        "positive_list": [False, True, False, True, False],
        "airspace": ["free", "free", "controlled", "free", "needs-approval"],
        "last_inspected": pd.to_datetime(["2024-03-01", None, "2023-11-20", "2024-06-01", None]),
        "violations_3y": [2, 0, 1, 0, 3],
        "park": ["P1", "P1", "P2", "P2", "P1"],
        "site_radius_m": [150.0] * 5,
    }, geometry=gpd.points_from_xy(xs, ys), crs="EPSG:4326")
    src = gpd.GeoDataFrame({"source_id": ["E1-S1"], "enterprise_id": ["E1"], "height_m": [20.0],
                            "diameter_m": [0.8], "exit_velocity_m_s": [8.0], "exit_temp_k": [320.0],
                            "pollutants": ["tvoc"]}, geometry=[Point(xs[0], ys[0])], crs="EPSG:4326")
    zx, zy = off([1500, 2100, 2100, 1500], [-900, -900, -300, -300])
    rx, ry = off([-1800, -1200, -1200, -1800], [600, 600, 1200, 1200])
    nofly = gpd.GeoDataFrame({"zone_id": ["Z1", "Z2"], "name": ["School", "Airfield approach"],
                              "kind": ["no-fly", "restricted"], "ceiling_m": [np.nan, 60.0]},
                             geometry=[Polygon(zip(zx, zy)), Polygon(zip(rx, ry))], crs="EPSG:4326")
    lx, ly = off([-900], [-600])
    launch = gpd.GeoDataFrame({"site_id": ["L1"], "name": ["Park gate"]},
                              geometry=gpd.points_from_xy(lx, ly), crs="EPSG:4326")
    dx, dy = off([-2500], [-1500])
    depot = gpd.GeoDataFrame({"depot_id": ["D1"], "name": ["Brigade yard"]},
                             geometry=gpd.points_from_xy(dx, dy), crs="EPSG:4326")
    return FakeArea(name="test-area", path=path, enterprises=ent, sources=src, nofly=nofly, launch_sites=launch,
                    depot=depot, config={"name": "test-area", "synthetic": True,
                     "defaults": {"wind_from_deg": 270.0, "wind_speed_m_s": 4.0, "stability": "D"}})


#: A few streets of the test area: ``(highway, [(x_m, y_m), …])`` relative to (LON0, LAT0).
ROADS = [
    ("primary", [(-3000, -400), (-1000, -400), (0, -400), (2500, -400)]),   # the monitoring street
    ("secondary", [(-2500, -2000), (-2500, -400), (-2500, 1500)]),
    ("tertiary", [(2000, -1500), (2000, -400), (2000, 1500)]),
    ("residential", [(-2500, 600), (-600, 600), (1200, 600), (2000, 600)]),
    ("service", [(-600, 600), (-600, 0), (-600, -400)]),
]


def write_roads_osm(path: Path) -> Path:
    """A tiny OSM XML road network (five ways) around the test area."""
    nodes, ways, nid = [], [], 1
    for k, (hw, pts) in enumerate(ROADS):
        refs = []
        for x, y in pts:
            lon, lat = off(x, y)
            nodes.append(f'  <node id="{nid}" lat="{float(lat):.7f}" lon="{float(lon):.7f}" version="1"/>')
            refs.append(nid)
            nid += 1
        nd = "".join(f'<nd ref="{r}"/>' for r in refs)
        ways.append(f'  <way id="{100 + k}" version="1">{nd}<tag k="highway" v="{hw}"/>'
                    f'<tag k="name" v="Road {k}"/></way>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
                    + "\n".join(nodes + ways) + "\n</osm>\n", encoding="utf-8")
    return path


def drone_plan() -> dict:
    sorties = []
    for k, (sid, tgt, dy0) in enumerate([("S01", "E1", 0.0), ("S02", "E3", -200.0)]):
        la_x, la_y = off(-900, -600)
        xs = np.array([-900, -200, -200, -200, -200, -900]) + 400 * k
        ys = np.array([-600, dy0 - 300, dy0 + 300, dy0 + 300, dy0 - 300, -600])
        alt = [0, 40, 40, 80, 80, 0]
        act = ["takeoff", "transit", "sample", "sample", "sample", "land"]
        lon, lat = off(xs, ys)
        wps = [{"seq": i, "lon": float(lon[i]), "lat": float(lat[i]), "alt_agl_m": alt[i],
                "alt_amsl_m": alt[i] + 12.0, "speed_m_s": 3.0, "action": act[i], "hold_s": 0,
                "target_id": tgt if act[i] == "sample" else None, "pass_id": (i - 1) if act[i] == "sample" else None}
               for i in range(len(xs))]
        sorties.append({"sortie_id": sid, "aircraft": "m350",
                        "launch": {"site_id": "L1", "lon": float(la_x), "lat": float(la_y), "ground_amsl_m": 12.0},
                        "waypoints": wps, "distance_m": 2600.0, "duration_s": 1100.0, "battery_fraction": 0.62,
                        "targets": [tgt]})
    return {"schema": "ecopatrol.plan/1", "kind": "drone", "created_utc": "2025-05-06T01:00:00Z",
            "area": "test-area", "wind": {"from_deg": 270, "speed_m_s": 4, "stability": "D"},
            "sorties": sorties, "routes": []}


def van_path() -> np.ndarray:
    xs = np.r_[np.linspace(-2500, -2500, 5), np.linspace(-2500, 2000, 30), np.linspace(2000, 2000, 8)]
    ys = np.r_[np.linspace(-1500, -400, 5), np.full(30, -400.0), np.linspace(-400, 900, 8)]
    lon, lat = off(xs, ys)
    return np.column_stack([lon, lat])


def van_plan() -> dict:
    path = van_path()
    legs = [{"leg_id": "R01-1", "kind": "transit", "target_id": None, "pass_no": 0, "start_idx": 0, "end_idx": 5,
             "speed_m_s": 11.1, "street": "Yantai Rd"},
            {"leg_id": "R01-2", "kind": "monitoring", "target_id": "E1", "pass_no": 1, "start_idx": 5,
             "end_idx": 20, "speed_m_s": 8.33, "street": "Park St"},
            {"leg_id": "R01-3", "kind": "background", "target_id": None, "pass_no": 0, "start_idx": 20,
             "end_idx": 34, "speed_m_s": 8.33, "street": "Park St"},
            {"leg_id": "R01-4", "kind": "transit", "target_id": None, "pass_no": 0, "start_idx": 34,
             "end_idx": len(path) - 1, "speed_m_s": 11.1, "street": "Ring Rd"}]
    return {"schema": "ecopatrol.plan/1", "kind": "van", "created_utc": "2025-05-06T01:00:00Z", "area": "test-area",
            "wind": {"from_deg": 270, "speed_m_s": 4, "stability": "D"}, "sorties": [],
            "routes": [{"route_id": "R01", "depot": {"lon": float(path[0, 0]), "lat": float(path[0, 1])},
                        "path": path.round(7).tolist(), "path_node_ids": list(range(len(path))), "legs": legs,
                        "distance_m": 7100.0, "duration_s": 900.0, "targets_covered": ["E1"],
                        "targets_dropped": ["E5"]}]}


def make_samples(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` van samples along the monitoring street with a plume near x = 0, plus a drone pass."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    n_van = n - n // 5
    n_dr = n - n_van
    x = np.linspace(-2500, 2000, n_van)
    y = np.full(n_van, -400.0) + rng.normal(0, 3, n_van)
    tv = 40 + 400 * np.exp(-0.5 * (x / 150) ** 2) + rng.normal(0, 3, n_van)
    t0 = pd.Timestamp("2025-05-06T02:00:00Z")
    tv_t = t0 + pd.to_timedelta(np.arange(n_van), unit="s")
    # drone curtain: two passes at 40 and 80 m across x = -200
    k = np.arange(n_dr)
    pass_id = np.where(k < n_dr // 2, 1, 2)
    frac = np.where(k < n_dr // 2, k / max(1, n_dr // 2), (k - n_dr // 2) / max(1, n_dr - n_dr // 2))
    dy = -300 + 600 * frac
    alt = np.where(pass_id == 1, 40.0, 80.0)
    dtv = 40 + 300 * np.exp(-0.5 * (dy / 80) ** 2) * np.exp(-0.5 * ((alt - 50) / 25) ** 2) + rng.normal(0, 2, n_dr)
    dr_t = t0 + pd.Timedelta(hours=2) + pd.to_timedelta(k * 0.5, unit="s")
    lon_v, lat_v = off(x, y)
    lon_d, lat_d = off(np.full(n_dr, -200.0), dy)
    df = pd.DataFrame({
        "time_utc": np.r_[tv_t.to_numpy(), dr_t.to_numpy()],
        "platform_id": ["van1"] * n_van + ["m350-1"] * n_dr,
        "mission_id": ["R01"] * n_van + ["S01"] * n_dr,
        "pass_id": np.r_[np.ones(n_van, int), pass_id],
        "lon": np.r_[lon_v, lon_d], "lat": np.r_[lat_v, lat_d],
        "alt_amsl_m": np.r_[np.full(n_van, 15.0), alt + 12], "alt_agl_m": np.r_[np.full(n_van, 3.0), alt],
        "speed_m_s": np.r_[np.full(n_van, 8.3), np.full(n_dr, 3.0)],
        "tvoc_ugm3": np.r_[tv, dtv], "benzene_ppb": np.r_[tv, dtv] / 50,
        "wind_from_deg": np.nan, "wind_speed_m_s": np.nan,
        "qa_flags": [""] * n,
    })
    df["time_utc"] = pd.to_datetime(df["time_utc"], utc=True)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")


def write_hotspots_tif(path: Path, *, size: int = 20, crs: str = "EPSG:4326") -> None:
    import rasterio
    from rasterio.transform import from_bounds

    w, s = off(-2000, -1500)
    e, n = off(2000, 1500)
    yy, xx = np.mgrid[0:size, 0:size]
    z = 3.0 * np.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (2 * (size / 6) ** 2)) - 0.5
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
                       crs=crs, transform=from_bounds(w, s, e, n, size, size), nodata=np.nan) as dst:
        dst.write(z.astype("float32"), 1)
        dst.set_band_description(1, "Gi* z-score")


def make_output_folder(root: Path, *, n_samples: int = 2000, with_area_dir: bool = False) -> tuple[Path, FakeArea]:
    """A demo-like output folder; returns ``(folder, area)``."""
    import geopandas as gpd
    from shapely.geometry import Polygon

    folder = root / "out"
    (folder / "plans" / "drone").mkdir(parents=True)
    (folder / "plans" / "van").mkdir(parents=True)
    (folder / "samples").mkdir()
    (folder / "evidence").mkdir()
    area = make_area(folder / "area")
    area.roads_path = write_roads_osm(root / "roads.osm")
    (folder / "plans" / "drone" / "plan.json").write_text(json.dumps(drone_plan()))
    (folder / "plans" / "van" / "plan.json").write_text(json.dumps(van_plan()))
    make_samples(n_samples).to_parquet(folder / "samples" / "samples.parquet")
    pd.DataFrame({"file": ["van/R01_voc.csv", "van/R01_voc.csv", "drone/S01_voc.csv"], "row": [17, 18, 5],
                  "reason": ["status not OK", "status not OK", "no position within 2 s"]}).to_csv(
        folder / "samples" / "quarantine.csv", index=False)
    ex, ey = off([0, 30, -200], [-400, -400, 0])
    gpd.GeoDataFrame({
        "event_id": ["EV1", "EV2", "EV3"], "species": ["tvoc_ugm3"] * 3, "platform_id": ["van1", "van1", "m350-1"],
        "mission_id": ["R01", "R01", "S01"], "pass_id": [1, 1, 1],
        "start_utc": ["2025-05-06T02:20:00Z", "2025-05-06T02:21:00Z", "2025-05-06T04:00:10Z"],
        "end_utc": ["2025-05-06T02:20:40Z", "2025-05-06T02:21:20Z", "2025-05-06T04:00:50Z"],
        "duration_s": [40.0, 20.0, 40.0], "peak": [440.0, 300.0, 340.0], "peak_enhancement": [400.0, 260.0, 300.0],
        "area": [8000.0, 3000.0, 5000.0], "n_samples": [40, 20, 80], "confirmed": [True, False, True],
        "n_passes": [2, 1, 2], "wind_from_deg": [270.0] * 3, "wind_speed_m_s": [4.0] * 3,
    }, geometry=gpd.points_from_xy(ex, ey), crs="EPSG:4326").to_file(folder / "evidence" / "events.gpkg")
    write_hotspots_tif(folder / "evidence" / "hotspots.tif")
    px, py = off([-300, 300, 300, -300], [-700, -700, -100, -100])
    qx, qy = off([-150, 150, 150, -150], [-550, -550, -250, -250])
    gpd.GeoDataFrame({"hotspot_id": [1, 2], "confidence": [95, 99], "z_max": [2.2, 3.1]},
                     geometry=[Polygon(zip(px, py)), Polygon(zip(qx, qy))], crs="EPSG:4326").to_file(
        folder / "evidence" / "hotspots.gpkg")
    pd.DataFrame({"evidence_id": ["EV1", "EV1", "EV3"], "enterprise_id": ["E1", "E3", "E1"],
                  "source_id": ["E1-S1", None, "E1-S1"], "likelihood": [0.82, 0.12, 0.9],
                  "rate_g_s": [1.4, np.nan, 1.2], "rate_sd_g_s": [0.5, np.nan, 0.4],
                  "distance_m": [420.0, 900.0, 250.0], "expected_ugm3": [380.0, 40.0, 300.0],
                  "observed_ugm3": [400.0, 400.0, 300.0],
                  "explanation": ["upwind within 10° of the plume axis", "off-axis", "curtain flux"]}).to_csv(
        folder / "evidence" / "attribution.csv", index=False)
    pd.DataFrame({"sortie_id": ["S01"], "target_id": ["E1"], "species": ["tvoc_ugm3"], "flux_g_s": [1.3],
                  "flux_sd_g_s": [0.4]}).to_csv(folder / "evidence" / "flux.csv", index=False)
    pd.DataFrame({"rank": [1, 2, 3], "enterprise_id": ["E1", "E5", "E3"],
                  "name": ["青岛印刷 Packaging A", "Textile E", "Chem C"], "score": [0.91, 0.55, 0.31],
                  "reasons": ["2 confirmed plume events attributed (likelihood 0.82); est. 1.4 g/s; <b>priority</b> "
                              "industry", "3 violations in 3 years; not inspected since 2022",
                              "weak attribution (0.12)"],
                  "industry": ["packaging printing", "textile dyeing", "chemicals"],
                  "positive_list": [False, False, False]}).to_csv(folder / "targets.csv", index=False)
    if with_area_dir:
        d = folder / "area"
        d.mkdir()
        (d / "area.toml").write_text('name = "test-area"\nsynthetic = true\n[defaults]\nwind_from_deg = 270\n'
                                     'wind_speed_m_s = 4.0\nstability = "D"\n')
        e = area.enterprises.copy()
        e["lon"], e["lat"] = e.geometry.x, e.geometry.y
        pd.DataFrame(e.drop(columns="geometry")).to_csv(d / "registry.csv", index=False)
        area.nofly.to_file(d / "nofly.geojson", driver="GeoJSON")
        area.launch_sites.to_file(d / "launch_sites.geojson", driver="GeoJSON")
        area.depot.to_file(d / "depot.geojson", driver="GeoJSON")
        write_roads_osm(d / "roads.osm")
    return folder, area


_LAYER_RE = re.compile(r"/\* ep-layer: (?P<name>.+?) \*/\n(?P<data>.*)\n", re.MULTILINE)


def layer_data(html: str) -> dict[str, dict]:
    """``{layer name: FeatureCollection}`` embedded in a rendered map page."""
    return {m["name"]: json.loads(m["data"].replace("<\\/", "</")) for m in _LAYER_RE.finditer(html)}


def write_alarms_csv(folder: Path, *, n_e1: int = 3) -> Path:
    """An ``alarms.csv`` as ``ecopatrol monitor alarms`` writes it: ``n_e1`` alarms of E1 (the top
    target), one of E3 and one of a data logger no monitors file names (no enterprise)."""
    kinds = ["exceedance", "treatment_stopped", "flatline", "data_gap"]
    rows = []
    for i in range(n_e1):
        rows.append({"alarm_id": f"A{i + 1:04d}", "enterprise_id": "E1", "enterprise_known": True,
                     "mn": "MN-E1-STACK", "monitor_kind": "stack", "outlet_id": "DA001",
                     "kind": kinds[i % len(kinds)],
                     "start_utc": f"2025-05-06T0{1 + i % 8}:00:00Z", "end_utc": f"2025-05-06T0{2 + i % 8}:30:00Z",
                     "duration_min": 90.0, "pollutant_code": "a24088", "value": 85.0 + i, "limit_value": 50.0,
                     "unit": "mg/m3", "values": f"NMHC hourly avg {85 + i} mg/m3 > 50", "rule": f"rule-{i}: avg > limit",
                     "standard": "GB 37822-2019", "clause": "", "limit_verified": True,
                     "strength": round(0.6 - 0.01 * i, 3), "details": ""})
    rows.append({**rows[0], "alarm_id": "A0900", "enterprise_id": "E3", "kind": "night_production",
                 "values": "night 40 kW vs day 5 kW", "rule": "night/day > 3", "strength": 0.3})
    rows.append({**rows[0], "alarm_id": "A0901", "enterprise_id": "", "enterprise_known": False,
                 "mn": "MN-UNKNOWN", "kind": "flatline", "rule": "constant 6 h", "strength": 0.4})
    path = folder / "alarms.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return path
