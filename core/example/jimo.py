"""Deterministic generator of the synthetic Jimo (Qingdao) example area.

Everything here is SYNTHETIC: invented enterprises, parks, roads and terrain placed in
Jimo district (about 36.39 N, 120.45 E) so that the whole ecopatrol loop can run on a
fresh install. Nothing describes a real firm. The generator writes a complete area
folder (see CONTRACTS.md); a fraction of the registry rows are stored in GCJ-02 and a
few in BD-09, as a Chinese web-map export would be, so loading exercises conversion.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from ..crs import convert
from ..io import atomic_path, atomic_write
from ..registry import USCC_CHARS, uscc_check_char

EXAMPLE_VERSION = "2"  # 2: monitors.csv and limits.csv (online monitoring)
SEED = 20240615
CENTER_LON, CENTER_LAT = 120.45, 36.39
# Extent of the road lattice (WGS-84 degrees)
LON_MIN, LON_MAX = 120.33, 120.57
LAT_MIN, LAT_MAX = 36.30, 36.48
STEP_M = 100.0  # lattice step of the road network
ARTERIAL_EVERY = 20  # an arterial every 2 km
PARK_STREET_EVERY = 3  # park streets every 300 m

M_PER_DEG_LAT = 110_946.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(CENTER_LAT))

INDUSTRIES = [
    # name, weight, stack height range (m), pollutants, site radius (m)
    ("packaging printing", 0.22, (10, 30), "VOCs;toluene;ethyl acetate;xylene", 60),
    ("textile dyeing", 0.17, (15, 45), "VOCs;benzene;toluene", 90),
    ("surface coating", 0.14, (12, 35), "VOCs;xylene;toluene;benzene", 70),
    ("chemicals", 0.12, (20, 60), "VOCs;benzene;toluene;xylene", 110),
    ("rubber and plastics", 0.12, (10, 30), "VOCs;toluene", 60),
    ("furniture", 0.10, (8, 25), "VOCs;xylene;toluene", 60),
    ("metal products", 0.08, (10, 30), "VOCs;xylene", 70),
    ("food processing", 0.05, (8, 20), "VOCs", 50),
]
INDUSTRY_CN = {
    "packaging printing": "包装印刷", "textile dyeing": "印染", "surface coating": "涂装",
    "chemicals": "化工", "rubber and plastics": "橡塑制品", "furniture": "家具",
    "metal products": "金属制品", "food processing": "食品",
}
NAME_WORDS = list("鑫泰华盛恒通瑞丰德润宏远嘉禾金海蓝天东方永安博源新辰安康立信荣昌汇聚明达凯越福星")

# (park name, lower-left lattice index (i, j), size in lattice steps (ni, nj), industry bias)
PARKS = [
    ("Lancun Packaging Printing Park (synthetic)", (40, 140), (18, 12), "packaging printing"),
    ("Jimo Textile Dyeing Park (synthetic)", (100, 100), (21, 15), "textile dyeing"),
    ("Daxin Coating Park (synthetic)", (160, 40), (15, 12), "surface coating"),
    ("Qingdao North Chemical Park (synthetic)", (180, 130), (18, 15), "chemicals"),
    ("Huanxiu Industrial Park (synthetic)", (60, 40), (18, 12), None),
    ("Longshan Furniture Park (synthetic)", (130, 160), (15, 9), "furniture"),
    ("Tongji Rubber and Plastics Park (synthetic)", (20, 80), (12, 12), "rubber and plastics"),
]
ARTERIAL_NAMES_EW = ["Beijing Road", "Yantai Road", "Lanao Road", "Heshan Road", "Tianshan Road",
                     "Wenhua Road", "Huaqing Road", "Binhai Road", "Longquan Road", "Lingshan Road"]
ARTERIAL_NAMES_NS = ["Jimo Avenue", "Chengyang Road", "Taishan Road", "Huanxiu Road", "Guanzhuang Road",
                     "Tongji Road", "Xinyi Road", "Daxin Road", "Jinkou Road", "Aoshan Road", "Wentao Road",
                     "Kaiyuan Road", "Mashan Road"]


def _lonlat(i, j):
    return LON_MIN + i * STEP_M / M_PER_DEG_LON, LAT_MIN + j * STEP_M / M_PER_DEG_LAT


def _uscc(rng) -> str:
    body = "91370282" + "".join(rng.choice(list(USCC_CHARS[:10] + "MA"), size=9))
    return body + uscc_check_char(body)


def _roads_osm(ni: int, nj: int, rng) -> str:
    """OSM XML of arterials (every 2 km) and park street grids on a 100 m lattice."""
    nodes: dict[tuple[int, int], int] = {}

    def nid(i, j):
        if (i, j) not in nodes:
            nodes[(i, j)] = len(nodes) + 1
        return nodes[(i, j)]

    ways = []  # (tags, [node ids])
    for k, j in enumerate(range(0, nj + 1, ARTERIAL_EVERY)):
        name = ARTERIAL_NAMES_EW[k % len(ARTERIAL_NAMES_EW)]
        hw = "primary" if k % 3 == 1 else "secondary"
        ways.append(({"highway": hw, "name": name, "maxspeed": "60" if hw == "primary" else "50"},
                     [nid(i, j) for i in range(ni + 1)]))
    for k, i in enumerate(range(0, ni + 1, ARTERIAL_EVERY)):
        name = ARTERIAL_NAMES_NS[k % len(ARTERIAL_NAMES_NS)]
        hw = "primary" if k % 3 == 0 else "secondary"
        ways.append(({"highway": hw, "name": name, "maxspeed": "60" if hw == "primary" else "50"},
                     [nid(i, j) for j in range(nj + 1)]))
    for _p, (pname, (i0, j0), (pi, pj), _) in enumerate(PARKS):
        short = pname.split(" (")[0].split()[0]
        # each park connects to the nearest arterials by extending its streets to them
        ia = (i0 // ARTERIAL_EVERY) * ARTERIAL_EVERY
        ib = min(((i0 + pi) // ARTERIAL_EVERY + 1) * ARTERIAL_EVERY, ni)
        ja = (j0 // ARTERIAL_EVERY) * ARTERIAL_EVERY
        jb = min(((j0 + pj) // ARTERIAL_EVERY + 1) * ARTERIAL_EVERY, nj)
        for s, j in enumerate(range(j0, j0 + pj + 1, PARK_STREET_EVERY)):
            tags = {"highway": "tertiary" if s % 2 == 0 else "unclassified",
                    "name": f"{short} Park Road {s + 1}", "maxspeed": "40"}
            seq = [nid(i, j) for i in range(ia, ib + 1)]
            if s % 4 == 3:  # a few one-way streets, as in real parks
                tags["oneway"] = "yes"
                if s % 8 == 7:
                    seq = seq[::-1]
            ways.append((tags, seq))
        for s, i in enumerate(range(i0, i0 + pi + 1, PARK_STREET_EVERY)):
            tags = {"highway": "residential" if s % 2 else "tertiary",
                    "name": f"{short} Park Street {s + 1}", "maxspeed": "40"}
            ways.append((tags, [nid(i, j) for j in range(ja, jb + 1)]))
    # a diagonal connector (not everything is a grid)
    diag = [nid(i, i * nj // ni) for i in range(ni + 1)]
    # keep only lattice nodes that exist on the diagonal path
    ways.append(({"highway": "trunk", "name": "Binhai Expressway Link", "maxspeed": "80"}, diag))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<osm version="0.6" generator="ecopatrol synthetic Jimo example">',
             f'  <bounds minlat="{LAT_MIN:.7f}" minlon="{LON_MIN:.7f}" maxlat="{LAT_MAX:.7f}" maxlon="{LON_MAX:.7f}"/>']
    for (i, j), n in sorted(nodes.items(), key=lambda kv: kv[1]):
        lon, lat = _lonlat(i, j)
        lines.append(f'  <node id="{n}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for w, (tags, seq) in enumerate(ways, start=1):
        lines.append(f'  <way id="{w}" version="1">')
        lines.extend(f'    <nd ref="{n}"/>' for n in seq)
        lines.extend(f'    <tag k="{k}" v="{escape(v, {chr(34): "&quot;"})}"/>' for k, v in tags.items())
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def _circle(lon, lat, radius_m, n=48):
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    xs = lon + radius_m * np.cos(a) / M_PER_DEG_LON
    ys = lat + radius_m * np.sin(a) / M_PER_DEG_LAT
    ring = [[round(float(x), 7), round(float(y), 7)] for x, y in zip(xs, ys)]
    return ring + [ring[0]]


def _geojson(features) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1)


def _point_feature(lon, lat, props):
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}}


def generate_jimo(out_dir: str | Path) -> Path:
    """Write the synthetic Jimo area folder to ``out_dir`` and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    ni = int(round((LON_MAX - LON_MIN) * M_PER_DEG_LON / STEP_M))
    nj = int(round((LAT_MAX - LAT_MIN) * M_PER_DEG_LAT / STEP_M))
    nofly = _zones()
    # one random stream, drawn in this order: enterprises, sources, roads, DEM
    df, n_parks = _enterprises(rng, ni, nj, nofly)
    sdf = _sources(rng, df)
    _write_registry(out, df, sdf)
    _write_monitors(out, df, sdf)
    _write_places(out, rng, ni, nj, nofly)
    _write_dem(out / "dem.tif", rng)
    _write_area_toml(out, len(df), n_parks, len(sdf))
    return out


def _zones() -> list[tuple]:
    """The synthetic airspace: ``(zone_id, name, kind, ceiling_m, ring)`` of each zone."""
    airfield = _lonlat(30, 15)
    fuel = _lonlat(205, 100)
    power = _lonlat(85, 165)
    school = _lonlat(120, 60)
    return [
        ("Z1", "Airfield keep-out (synthetic)", "no-fly", None, _circle(*airfield, 3000)),
        ("Z2", "Fuel depot (synthetic)", "restricted", None, _circle(*fuel, 500)),
        ("Z3", "Power plant (synthetic)", "restricted", 30.0, _circle(*power, 600)),
        ("Z4", "Detention centre (synthetic)", "restricted", None, _circle(*school, 300)),
    ]


def _enterprises(rng, ni: int, nj: int, nofly: list[tuple]) -> tuple[pd.DataFrame, int]:
    """The enterprises (in the parks' plots, then scattered outside the zones): positions, ids,
    names, registry fields and storage CRS; returns ``(frame, number in parks)``.

    The steps draw from ``rng`` in this order; changing it changes the generated area.
    """
    from shapely.geometry import Polygon

    zone_polys = [(kind, Polygon(ring)) for _, _, kind, _, ring in nofly]
    rows, n_parks = _enterprise_positions(rng, ni, nj, zone_polys)
    df = pd.DataFrame(rows)
    _add_ids_and_names(rng, df)
    _add_registry_fields(rng, df)
    df["airspace"] = _airspace_from_zones(df, zone_polys)
    df["site_radius_m"] = [dict((x[0], x[4]) for x in INDUSTRIES)[ind] for ind in df["industry"]]
    _add_storage_crs(rng, df)
    return df, n_parks


def _enterprise_positions(rng, ni: int, nj: int, zone_polys: list[tuple]) -> tuple[list[dict], int]:
    """Rows of ``lon``/``lat``/``industry``/``park``: the parks' plots first, then scattered outside
    the zones up to 860; returns ``(rows, number in parks)``."""
    from shapely.geometry import Point

    names_ind = [x[0] for x in INDUSTRIES]
    weights = np.array([x[1] for x in INDUSTRIES])
    weights = weights / weights.sum()
    rows = []

    def add(lon, lat, ind, park):
        rows.append({"lon": lon, "lat": lat, "industry": ind, "park": park})

    for pname, (i0, j0), (pi, pj), bias in PARKS:
        # plots between park streets: two rows of plots along each street, ~70 m apart
        for i in np.arange(i0 + 0.5, i0 + pi, 1.0):
            for j in np.arange(j0 + 0.75, j0 + pj, 1.5):
                if rng.random() < 0.62:
                    p = weights.copy()
                    if bias:
                        p[names_ind.index(bias)] += 1.2
                        p = p / p.sum()
                    ind = names_ind[int(rng.choice(len(names_ind), p=p))]
                    lon, lat = _lonlat(i + rng.uniform(-0.15, 0.15), j + rng.uniform(-0.2, 0.2))
                    add(lon, lat, ind, pname)
    n_parks = len(rows)
    target_total = 860
    while len(rows) < target_total:
        i, j = rng.uniform(5, ni - 5), rng.uniform(5, nj - 5)
        lon, lat = _lonlat(i, j)
        if any(poly.buffer(0.003).contains(Point(lon, lat)) for _, poly in zone_polys):
            continue
        add(lon, lat, names_ind[int(rng.choice(len(names_ind), p=weights))], "")
    return rows[:target_total], n_parks


def _add_ids_and_names(rng, df: pd.DataFrame) -> None:
    """Unique USCC ids, then unique Chinese company names of each row's industry (in place)."""
    n = len(df)
    df["enterprise_id"] = [_uscc(rng) for _ in range(n)]
    while df["enterprise_id"].duplicated().any():  # pragma: no cover - astronomically rare
        d = df["enterprise_id"].duplicated()
        df.loc[d, "enterprise_id"] = [_uscc(rng) for _ in range(int(d.sum()))]
    used_names: set[str] = set()

    def make_name(ind):
        for _ in range(100):
            w = "".join(rng.choice(NAME_WORDS, size=2))
            nm = f"青岛{w}{INDUSTRY_CN[ind]}有限公司"
            if nm not in used_names:
                used_names.add(nm)
                return nm
        nm = f"青岛{len(used_names)}{INDUSTRY_CN[ind]}有限公司"
        used_names.add(nm)
        return nm

    df["name"] = [make_name(ind) for ind in df["industry"]]


def _add_registry_fields(rng, df: pd.DataFrame) -> None:
    """``violations_3y``, ``positive_list`` (是/否) and ``last_inspected`` (5 % empty), in place."""
    n = len(df)
    # 664 on the positive list, fewer among chemicals/coating with past violations
    viol = rng.poisson(np.where(df["industry"].isin(["chemicals", "surface coating", "textile dyeing"]), 0.9, 0.4))
    df["violations_3y"] = viol
    score = rng.random(n) + 0.6 * (viol > 0) + 0.3 * df["industry"].isin(["chemicals"]).to_numpy()
    order = np.argsort(score, kind="stable")
    positive = np.zeros(n, dtype=bool)
    positive[order[:664]] = True
    df["positive_list"] = np.where(positive, "是", "否")
    days = rng.integers(20, 900, size=n)
    base = pd.Timestamp("2026-10-01")
    df["last_inspected"] = [(base - pd.Timedelta(days=int(d))).strftime("%Y-%m-%d") for d in days]
    df.loc[rng.random(n) < 0.05, "last_inspected"] = ""


def _airspace_from_zones(df: pd.DataFrame, zone_polys: list[tuple]) -> list[str]:
    """Each enterprise's airspace class: ``controlled`` near a no-fly zone, ``needs-approval`` near
    another zone, else ``free``."""
    from shapely.geometry import Point

    airspace = []
    for p in (Point(x, y) for x, y in zip(df["lon"], df["lat"])):
        a = "free"
        for kind, poly in zone_polys:
            if poly.buffer(0.02 if kind == "no-fly" else 0.008).contains(p):
                a = "controlled" if kind == "no-fly" else "needs-approval"
                break
        airspace.append(a)
    return airspace


def _add_storage_crs(rng, df: pd.DataFrame) -> None:
    """The CRS each row is stored in and its stored ``lon_stored``/``lat_stored`` (in place): most
    WGS-84/CGCS2000, ~30 % GCJ-02 (a web-map export), a few BD-09."""
    n = len(df)
    r = rng.random(n)
    crs = np.where(r < 0.30, "gcj02", np.where(r < 0.35, "bd09", np.where(r < 0.55, "cgcs2000", "wgs84")))
    df["crs"] = crs
    slon, slat = df["lon"].to_numpy().copy(), df["lat"].to_numpy().copy()
    for name in ("gcj02", "bd09"):
        m = crs == name
        slon[m], slat[m] = convert(slon[m], slat[m], "wgs84", name)
    df["lon_stored"], df["lat_stored"] = slon, slat


def _sources(rng, df: pd.DataFrame) -> pd.DataFrame:
    """One to three stacks per enterprise, within its site, with the industry's heights and pollutants."""
    srows = []
    ind_info = {x[0]: x for x in INDUSTRIES}
    for _k, e in df.iterrows():
        _, _, (hlo, hhi), pol, rad = ind_info[e["industry"]]
        n_src = int(rng.choice([1, 1, 2, 2, 3]))
        for s in range(n_src):
            ang = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(0.1, 0.6) * rad
            lon = e["lon"] + dist * np.cos(ang) / M_PER_DEG_LON
            lat = e["lat"] + dist * np.sin(ang) / M_PER_DEG_LAT
            hot = e["industry"] in ("chemicals", "textile dyeing")
            srows.append({
                "source_id": f"{e['enterprise_id']}-S{s + 1}",
                "enterprise_id": e["enterprise_id"],
                "lon": round(float(lon), 7), "lat": round(float(lat), 7), "crs": "wgs84",
                "height_m": round(float(rng.uniform(hlo, hhi)), 1),
                "diameter_m": round(float(rng.uniform(0.3, 1.6)), 2),
                "exit_velocity_m_s": round(float(rng.uniform(4, 14)), 1),
                "exit_temp_k": round(float(rng.uniform(330, 420) if hot else rng.uniform(290, 320)), 1),
                "pollutants": pol,
            })
    sdf = pd.DataFrame(srows)
    return sdf


def _write_registry(out: Path, df: pd.DataFrame, sdf: pd.DataFrame) -> None:
    """``registry.csv`` (positions as stored, in each row's CRS) and ``sources.csv``."""
    reg = pd.DataFrame({
        "enterprise_id": df["enterprise_id"], "name": df["name"], "industry": df["industry"],
        "lon": df["lon_stored"].round(7), "lat": df["lat_stored"].round(7), "crs": df["crs"],
        "positive_list": df["positive_list"], "airspace": df["airspace"],
        "last_inspected": df["last_inspected"], "violations_3y": df["violations_3y"],
        "park": df["park"], "site_radius_m": df["site_radius_m"],
    })
    with atomic_path(out / "registry.csv") as tmp:
        reg.to_csv(tmp, index=False, encoding="utf-8")
    with atomic_path(out / "sources.csv") as tmp:
        sdf.to_csv(tmp, index=False)


def _write_places(out: Path, rng, ni: int, nj: int, nofly: list[tuple]) -> None:
    """``roads.osm``, ``nofly.geojson``, ``launch_sites.geojson`` and ``depot.geojson``."""
    atomic_write(out / "roads.osm", _roads_osm(ni, nj, rng))
    atomic_write(out / "nofly.geojson", _geojson([
        {"type": "Feature", "properties": {"zone_id": z, "name": nm, "kind": kind, "ceiling_m": ceil},
         "geometry": {"type": "Polygon", "coordinates": [ring]}} for z, nm, kind, ceil, ring in nofly]))
    launch = [("L1", "Lancun park launch pad (synthetic)", _lonlat(55, 135)),
              ("L2", "Dyeing park launch pad (synthetic)", _lonlat(118, 96)),
              ("L3", "Daxin launch pad (synthetic)", _lonlat(170, 36)),
              ("L4", "North chemical park launch pad (synthetic)", _lonlat(176, 138)),
              ("L5", "Huanxiu launch pad (synthetic)", _lonlat(72, 36)),
              ("L6", "Longshan launch pad (synthetic)", _lonlat(140, 157))]
    atomic_write(out / "launch_sites.geojson", _geojson(
        [_point_feature(lon, lat, {"site_id": s, "name": nm}) for s, nm, (lon, lat) in launch]))
    depot = _lonlat(120, 120)
    atomic_write(out / "depot.geojson", _geojson(
        [_point_feature(depot[0], depot[1], {"depot_id": "D1", "name": "Brigade van depot (synthetic)"})]))


def _write_area_toml(out: Path, n: int, n_parks: int, n_sources: int) -> None:
    """``area.toml`` (name, centre, defaults, wind climatology) and ``README.txt``."""
    clim = [(1, 340, 5.2, 0.35), (1, 20, 4.1, 0.2), (4, 160, 4.4, 0.3), (4, 200, 3.8, 0.2),
            (7, 135, 3.9, 0.4), (7, 180, 3.5, 0.25), (10, 0, 4.3, 0.3), (10, 315, 4.8, 0.25)]
    toml = [
        'name = "jimo"',
        'title = "Jimo district, Qingdao (SYNTHETIC example: invented enterprises, roads and terrain)"',
        "synthetic = true",
        f'example_version = "{EXAMPLE_VERSION}"',
        f"center = [{CENTER_LON}, {CENTER_LAT}]",
        "radius_m = 25000",
        "",
        "[defaults]",
        "wind_from_deg = 315.0",
        "wind_speed_m_s = 4.0",
        'stability = "D"',
        "site_radius_m = 60.0",
        'timezone = "Asia/Shanghai"',
        'registry_crs = "wgs84"',
        "",
    ]
    for month, d, s, f in clim:
        toml += ["[[wind_climatology]]", f"month = {month}", f"from_deg = {d}", f"speed_m_s = {s}",
                 f"frequency = {f}", ""]
    atomic_write(out / "area.toml", "\n".join(toml))
    atomic_write(out / "README.txt",
                  "SYNTHETIC example area placed in Jimo district, Qingdao, generated by ecopatrol.\n"
                  "Enterprises, names, USCCs, roads, zones and terrain are invented; do not use for enforcement.\n"
                  f"{n} enterprises ({n_parks} in parks), {n_sources} sources.\n")


MONITOR_SEED = SEED + 212  # its own stream: the registry above is the same with or without monitors
MONITOR_SHARE = 0.3  # of the packaging-printing, textile-dyeing and surface-coating firms
METER_SHARE = 0.6  # of those, the share that also has electricity meters
EXAMPLE_LIMIT_SET = "EXAMPLE-PERMIT-VOC"


def example_mn(k: int) -> str:
    """The synthetic data-logger MN number ``k`` (24 characters, as HJ 212-2017 MNs are)."""
    return f"370282SYN{k:015d}"


def _write_monitors(out: Path, df: pd.DataFrame, sdf: pd.DataFrame) -> None:
    """``monitors.csv`` for a share of the VOC firms (a stack analyser on their first outlet, and for
    some a meter box with a production and a treatment meter) and a SYNTHETIC ``limits.csv``."""
    rng = np.random.default_rng(MONITOR_SEED)
    ids = df.loc[df["industry"].isin(["packaging printing", "textile dyeing", "surface coating"]), "enterprise_id"]
    chosen = [e for e in ids if rng.random() < MONITOR_SHARE]
    rows = []
    for k, e in enumerate(chosen, start=1):
        first = sdf.loc[sdf["enterprise_id"] == e, "source_id"].iloc[0]
        rows.append({"mn": example_mn(2 * k - 1), "enterprise_id": e, "kind": "stack", "outlet_id": first,
                     "codes": "a24088;a00000;a19001", "power_suffix": "", "limits": EXAMPLE_LIMIT_SET,
                     "rated_kw": "", "note": "synthetic: NMHC analyser with flow and O2"})
        if rng.random() < METER_SHARE:
            mn = example_mn(2 * k)
            prod, treat = round(float(rng.uniform(40, 200)), 0), round(float(rng.uniform(8, 40)), 0)
            rows.append({"mn": mn, "enterprise_id": e, "kind": "production_meter", "outlet_id": "", "codes": "100001",
                         "power_suffix": "Pt", "limits": "", "rated_kw": prod, "note": "synthetic: printing line"})
            rows.append({"mn": mn, "enterprise_id": e, "kind": "treatment_meter", "outlet_id": "", "codes": "100002",
                         "power_suffix": "Pt", "limits": "", "rated_kw": treat,
                         "note": "synthetic: activated-carbon adsorption fan"})
    with atomic_path(out / "monitors.csv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, encoding="utf-8")
    limits = pd.DataFrame([{
        "limit_set": EXAMPLE_LIMIT_SET, "standard": "SYNTHETIC example permit limit (not a standard)",
        "clause": "example area only", "pollutant_code": "a24088", "pollutant_name": "NMHC 非甲烷总烃",
        "limit_value": 50, "unit": "mg/m3", "averaging": "hour", "basis": "measured", "applies_to": "stack",
        "verified": "no", "source": "synthetic value for the bundled example: not a standard's or a permit's"}])
    with atomic_path(out / "limits.csv") as tmp:
        limits.to_csv(tmp, index=False, encoding="utf-8")


def _write_dem(path: Path, rng) -> None:
    import rasterio
    from rasterio.transform import from_origin

    res = 0.0005
    west, east = LON_MIN - 0.03, LON_MAX + 0.03
    south, north = LAT_MIN - 0.03, LAT_MAX + 0.03
    w = int(round((east - west) / res))
    h = int(round((north - south) / res))
    lon = west + (np.arange(w) + 0.5) * res
    lat = north - (np.arange(h) + 0.5) * res
    X, Y = np.meshgrid(lon, lat)
    z = 25.0 + 40.0 * (Y - south) / (north - south)  # land rises gently inland to the north
    for cx, cy, amp, sx, sy in [(120.52, 36.46, 180.0, 0.03, 0.02), (120.36, 36.44, 90.0, 0.02, 0.025),
                                (120.47, 36.33, 40.0, 0.04, 0.02)]:
        z += amp * np.exp(-0.5 * (((X - cx) / sx) ** 2 + ((Y - cy) / sy) ** 2))
    z += rng.normal(0, 0.4, size=z.shape)
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(west, north, res, res), nodata=-9999.0,
                       compress="deflate", tiled=True, blockxsize=256, blockysize=256) as dst:
        dst.write(z.astype("float32"), 1)
        dst.update_tags(units="metre", vertical_datum="EGM96 (synthetic)")
