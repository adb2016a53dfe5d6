"""A synthetic, realistic archive of van samples for trying the archive processing at scale.

:func:`synth_archive` drives ``vans`` monitoring vans for ``days`` days over the road network
of an area (default: the bundled, synthetic Jimo example), samples a VOC analyser at ``hz``
and writes the samples (CONTRACTS.md samples schema) as GeoParquet partitioned hive-style::

    ARCHIVE/date=2025-03-01/platform=van01/part-0.parquet
    ARCHIVE/archive.json            (schema, parameters, counts, the true emitters)

Each van-day is one mission (``van01-2025-03-01``) from 08:30 local time for ``hours`` hours
with a lunch break: the van drives the road graph (read from the area's OSM file by
core.osm), heading for a randomly chosen enterprise and picking a new one when it gets
there, stopping at junctions now and then. Concentrations are a day-to-day varying
background with a slow drift and analyser noise, plus Gaussian plumes
(:mod:`ecopatrol.core.dispersion`) of a few true emitters under the day's wind (drawn from
the area's wind climatology, veering hour by hour). Pass numbers come from
:func:`ecopatrol.processing.qc.segment_passes`. Everything is drawn from
``numpy.random.default_rng([seed, day, van])``: the same arguments give the same archive,
and van-days can be generated in any order.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core import settings
from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat
from ecopatrol.core.io import atomic_path, atomic_write
from ecopatrol.core.errors import FormatError, InputError, InputFileNotFoundError
from ecopatrol.core.profiles import ugm3_to_ppb

log = logging.getLogger(__name__)

ARCHIVE_SCHEMA = "ecopatrol.archive/1"
SPECIES = ("tvoc_ugm3", "benzene_ppb")
INLET_AGL_M = 2.5
START_LOCAL_H = 8.5
LUNCH_LOCAL_H = (12.0, 13.0)
MONITOR_SPEED_M_S = 8.33


# ---------------------------------------------------------------------------- roads


def osm_road_lines(path) -> tuple[list[np.ndarray], list[str]]:
    """Polylines of the ``highway`` ways of an OSM file: ``([(k, 2) lon/lat arrays], [names])``.

    Read by :func:`ecopatrol.core.osm.read_osm_ways` (XML or PBF; entities refused). Ways that
    reference missing nodes are cut at the gap. Raises :class:`FormatError` if the file has no roads.
    """
    from ecopatrol.core.osm import read_osm_ways

    p = Path(path)
    if not p.exists():
        raise InputFileNotFoundError(f"roads file `{p}` does not exist: give an OSM XML file")
    lines: list[np.ndarray] = []
    names: list[str] = []
    for _, tags, nodes in read_osm_ways(p, lambda t: "highway" in t, fix="give an OSM extract with roads"):
        run: list[tuple[float, float]] = []
        for nd in [*nodes, None]:
            if nd is not None:
                run.append((nd[1], nd[2]))
                continue
            if len(run) >= 2:
                lines.append(np.asarray(run, float))
                names.append(tags.get("name", ""))
            run = []
    if not lines:
        raise FormatError(f"`{p.name}`: no `highway` ways: give an OSM extract with roads")
    return lines, names


def road_lines_gdf(path):
    """The roads of an OSM XML file as a GeoDataFrame of LineStrings (EPSG:4326, column ``name``)."""
    import geopandas as gpd
    import shapely

    lines, names = osm_road_lines(path)
    return gpd.GeoDataFrame({"name": names}, geometry=[shapely.LineString(c) for c in lines], crs="EPSG:4326")


@dataclass
class _Graph:
    """Road graph in a metric CRS: node coordinates and CSR adjacency."""

    x: np.ndarray
    y: np.ndarray
    indptr: np.ndarray
    nbr: np.ndarray


def _road_graph(path, crs) -> _Graph:
    lines, _ = osm_road_lines(path)
    pts = np.concatenate(lines)
    # nodes shared by ways are the same coordinates: key them on rounded lon/lat
    key = np.round(pts * 1e7).astype(np.int64)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    lon, lat = uniq[:, 0] / 1e7, uniq[:, 1] / 1e7
    x, y = lonlat_to_xy(lon, lat, crs)
    starts = np.r_[0, np.cumsum([len(seg) for seg in lines])]
    a = np.concatenate([inv[s:e - 1] for s, e in zip(starts[:-1], starts[1:], strict=True)])
    b = np.concatenate([inv[s + 1:e] for s, e in zip(starts[:-1], starts[1:], strict=True)])
    keep = a != b
    src = np.r_[a[keep], b[keep]]
    dst = np.r_[b[keep], a[keep]]
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    pair = np.unique(np.c_[src, dst], axis=0)
    indptr = np.searchsorted(pair[:, 0], np.arange(len(uniq) + 1))
    return _Graph(np.asarray(x, float), np.asarray(y, float), indptr, pair[:, 1].copy())


# ---------------------------------------------------------------------------- one van-day


def _drive(g: _Graph, start: int, goals_xy: np.ndarray, duration_s: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """A drive on the graph: (node sequence, time at each node in s from the start).

    Heads for a random goal (greedy on the graph with some randomness), stops at some
    junctions. Loops over road edges (a few thousand per day), never over samples.
    """
    seq = [start]
    times = [0.0]
    t = 0.0
    prev = -1
    node = start
    goal = goals_xy[rng.integers(len(goals_xy))]
    while t < duration_s:
        nb = g.nbr[g.indptr[node]:g.indptr[node + 1]]
        if len(nb) == 0:
            break
        if len(nb) > 1 and prev >= 0:
            nb = nb[nb != prev]
        d_goal = np.hypot(g.x[nb] - goal[0], g.y[nb] - goal[1])
        nxt = int(nb[np.argmin(d_goal)]) if rng.random() < 0.75 else int(nb[rng.integers(len(nb))])
        seg = float(np.hypot(g.x[nxt] - g.x[node], g.y[nxt] - g.y[node]))
        speed = MONITOR_SPEED_M_S * rng.uniform(0.8, 1.3)
        if len(nb) >= 2 and rng.random() < 0.08:  # a red light or a crew stop: stand still
            t += rng.uniform(15.0, 60.0)
            seq.append(node)
            times.append(t)
        t += seg / speed
        seq.append(nxt)
        times.append(t)
        prev, node = node, nxt
        if np.hypot(g.x[node] - goal[0], g.y[node] - goal[1]) < 300.0:
            goal = goals_xy[rng.integers(len(goals_xy))]
    return np.asarray(seq), np.asarray(times)


def _van_day(ctx: dict, day: int, van: int) -> pd.DataFrame:
    """Samples of one van on one day (a plain DataFrame in the samples' column names)."""
    from ecopatrol.core.dispersion import effective_height_m, unit_concentration_matrix
    from .qc import segment_passes

    seed, hz, hours = ctx["seed"], ctx["hz"], ctx["hours"]
    rng = np.random.default_rng([seed, day, van])
    g: _Graph = ctx["graph"]
    date = ctx["start"] + pd.Timedelta(days=day)
    t_start = (date + pd.Timedelta(hours=START_LOCAL_H) + pd.Timedelta(minutes=float(rng.uniform(-20, 20))))
    t_start = t_start.tz_localize("Asia/Shanghai").tz_convert("UTC").floor("s")
    duration_s = hours * 3600.0
    nodes, tn = _drive(g, int(ctx["depot_node"]), ctx["goals_xy"], duration_s, rng)
    n = int(duration_s * hz)
    ts = np.arange(n) / hz
    x = np.interp(ts, tn, g.x[nodes])
    y = np.interp(ts, tn, g.y[nodes])
    # the lunch break: the analyser is off for an hour
    t0_local_h = (t_start.tz_convert("Asia/Shanghai") - t_start.tz_convert("Asia/Shanghai").normalize()) \
        / pd.Timedelta(hours=1)
    local_h = t0_local_h + ts / 3600.0
    on = ~((local_h >= LUNCH_LOCAL_H[0]) & (local_h < LUNCH_LOCAL_H[1]))
    ts, x, y, local_h = ts[on], x[on], y[on], local_h[on]
    x = x + rng.normal(0.0, 1.5, len(x))  # GPS jitter
    y = y + rng.normal(0.0, 1.5, len(y))
    vx = np.gradient(x, ts) if len(ts) > 1 else np.zeros(len(ts))
    vy = np.gradient(y, ts) if len(ts) > 1 else np.zeros(len(ts))
    speed = np.hypot(vx, vy)
    speed = np.where(speed < 0.3, 0.0, speed)

    # wind of the day (the area's climatology), veering hour by hour
    wind_from0, wind_speed, stability = ctx["winds"][day]
    hour = np.floor(local_h).astype(int)
    tvoc = np.zeros(len(ts))
    wind_from = np.full(len(ts), np.nan)
    src = ctx["emitters"]
    for h in np.unique(hour):
        m = hour == h
        w_from = float((wind_from0 + rng.normal(0.0, 8.0)) % 360.0)
        wind_from[m] = w_from
        h_eff, u_s = effective_height_m(src["height_m"], wind_speed, stability,
                                        exit_velocity_m_s=src["exit_velocity_m_s"], diameter_m=src["diameter_m"],
                                        exit_temp_k=src["exit_temp_k"])
        unit = unit_concentration_matrix(x[m], y[m], np.full(m.sum(), INLET_AGL_M), src["x"], src["y"],
                                         h_eff, u_s, w_from, stability)
        tvoc[m] = unit @ (src["rate_g_s"] * ctx["emits"][day])
    # background: level of the day, slow drift (AR(1) over a few minutes), analyser noise
    level = ctx["bg_levels"][day] * rng.uniform(0.9, 1.1)
    drift = pd.Series(rng.normal(0.0, 1.0, len(ts))).ewm(span=max(int(300 * hz), 2)).mean().to_numpy()
    bg = level * (1.0 + 0.6 * drift)
    plume = tvoc * (1.0 + rng.normal(0.0, 0.1, len(ts)))
    tvoc_ugm3 = np.round(np.maximum(bg + plume + rng.normal(0.0, 0.03 * level, len(ts)), 0.0), 2)
    benzene = np.round(np.maximum(ugm3_to_ppb(0.02 * bg + 0.05 * plume, "benzene")
                                  + rng.normal(0.0, 0.05, len(ts)), 0.0), 3)
    lon, lat = xy_to_lonlat(x, y, ctx["crs"])
    ground = ctx["elevation"](lon, lat)
    pass_id = segment_passes(ts, vx, vy)
    platform = f"van{van + 1:02d}"
    frame = pd.DataFrame({
        "time_utc": t_start + pd.to_timedelta(ts, unit="s"),
        "platform_id": platform, "platform_kind": "van",
        "mission_id": f"{platform}-{date:%Y-%m-%d}",
        "pass_id": pass_id,
        "lon": np.round(lon, 7), "lat": np.round(lat, 7),
        "alt_amsl_m": np.round(ground + INLET_AGL_M, 2), "alt_agl_m": INLET_AGL_M,
        "speed_m_s": np.round(speed, 2),
        "tvoc_ugm3": tvoc_ugm3, "benzene_ppb": benzene,
        # the wind the plumes were drawn with, as a van's anemometer (corrected for the van's motion) gives
        # it; without it (wind_in_samples=False) attribution assumes the area's default wind all day
        "wind_from_deg": np.round(wind_from, 1) if ctx["wind_in_samples"] else np.nan,
        "wind_speed_m_s": round(float(wind_speed), 2) if ctx["wind_in_samples"] else np.nan,
        "qa_flags": np.where(speed == 0.0, "stationary", ""),
    })
    return frame


# ---------------------------------------------------------------------------- the archive


def _context(area, *, days: int, seed: int, hz: float, hours: float, start: str, n_emitters: int,
             p_emit=1.0) -> dict:
    from ecopatrol.core.area import load_area

    a = load_area(area) if not hasattr(area, "enterprises") else area
    if a.roads_path is None:
        raise InputError(f"area `{a.name}` has no roads file: the vans need a road network")
    crs = a.metric_crs
    graph = _road_graph(a.roads_path, crs)
    rng = np.random.default_rng([seed, 7919])
    ent = a.enterprises
    ex, ey = lonlat_to_xy(ent.geometry.x.to_numpy(), ent.geometry.y.to_numpy(), crs)
    goals = np.c_[ex, ey]
    # depot: the area's first depot, else the centre; start at the nearest road node
    if a.depot is not None and len(a.depot):
        dx, dy = lonlat_to_xy(a.depot.geometry.x.iloc[0], a.depot.geometry.y.iloc[0], crs)
    else:
        dx, dy = float(np.mean(ex)), float(np.mean(ey))
    depot_node = int(np.argmin(np.hypot(graph.x - dx, graph.y - dy)))
    # true emitters: sources of priority industries first, seeded choice
    srcs = a.sources.merge(ent[["enterprise_id", "industry"]], on="enterprise_id", how="left")
    prio = srcs["industry"].astype(str).str.contains("print|dye|dyeing|textile", case=False, regex=True)
    pool = srcs[prio] if prio.sum() >= n_emitters else srcs
    pick = pool.iloc[np.sort(rng.choice(len(pool), size=min(n_emitters, len(pool)), replace=False))]
    sx, sy = lonlat_to_xy(pick.geometry.x.to_numpy(), pick.geometry.y.to_numpy(), crs)
    rates = np.round(rng.uniform(2.0, 15.0, len(pick)), 2)

    def col(name, default):
        return pick[name].to_numpy(float) if name in pick else np.full(len(pick), default)

    emitters = {"x": np.asarray(sx), "y": np.asarray(sy), "rate_g_s": rates,
                "height_m": np.nan_to_num(col("height_m", 15.0), nan=15.0),
                "exit_velocity_m_s": col("exit_velocity_m_s", np.nan), "diameter_m": col("diameter_m", np.nan),
                "exit_temp_k": col("exit_temp_k", np.nan),
                "enterprise_id": pick["enterprise_id"].astype(str).tolist(),
                "source_id": pick["source_id"].astype(str).tolist()}
    start_ts = pd.Timestamp(start)
    clim = pd.DataFrame(a.config.get("wind_climatology") or [])
    dflt = a.config.get("defaults", {})
    winds, bg_levels = [], []
    for d in range(days):  # each day from its own stream: day d is the same whatever `days` is
        rng = np.random.default_rng([seed, d, 7919])
        month = (start_ts + pd.Timedelta(days=d)).month
        if len(clim):
            near = clim.loc[(clim["month"] - month).abs().mod(12).isin([0, 1, 2])]
            near = near if len(near) else clim
            p = near["frequency"].to_numpy(float)
            row = near.iloc[int(rng.choice(len(near), p=p / p.sum()))]
            w_from, w_speed = float(row["from_deg"]), float(row["speed_m_s"])
        else:
            w_from, w_speed = (float(dflt.get("wind_from_deg", settings.DEFAULT_WIND_FROM_DEG)),
                              float(dflt.get("wind_speed_m_s", settings.DEFAULT_WIND_SPEED_M_S)))
        winds.append(((w_from + rng.normal(0, 20)) % 360.0, max(1.5, w_speed * rng.uniform(0.6, 1.4)),
                      str(rng.choice(["C", "D", "D", "D", "E"]))))
        bg_levels.append(float(rng.lognormal(np.log(60.0), 0.25)))
    # which emitters emit on which day: p_emit per emitter (intermittent firms), from a stream of its
    # own so that p_emit=1 leaves every other draw (and the archive) as before
    p = np.broadcast_to(np.asarray(p_emit, float), (len(pick),))
    emits = [(np.random.default_rng([seed, d, 104729]).random(len(pick)) < p).astype(float) for d in range(days)]
    return {"seed": seed, "hz": hz, "hours": hours, "graph": graph, "crs": crs, "start": start_ts, "emits": emits,
            "depot_node": depot_node, "goals_xy": goals, "emitters": emitters, "winds": winds,
            "bg_levels": bg_levels, "elevation": a.elevation_m, "area": a.name}


def _write_parquet_atomic(gdf, path: Path) -> None:
    with atomic_path(path) as tmp:
        gdf.to_parquet(tmp, index=False, schema_version="1.0.0")


def partition_path(root, date: str, platform: str) -> Path:
    """``root/date=YYYY-MM-DD/platform=NAME/part-0.parquet``."""
    return Path(root) / f"date={date}" / f"platform={platform}" / "part-0.parquet"


def synth_archive(
    out_dir,
    *,
    days: int,
    vans: int,
    hz: float = 1.0,
    seed: int = 0,
    area="jimo",
    hours: float = 8.0,
    start: str = "2025-03-01",
    n_emitters: int = 4,
    p_emit=1.0,
    wind_in_samples: bool = True,
    progress=None,
) -> dict:
    """Write a synthetic archive of ``days`` × ``vans`` van-days of samples to ``out_dir``.

    ``hz`` samples per second, ``hours`` per van-day (the analyser is off over lunch).
    Returns the manifest written to ``archive.json`` (``n_samples``, ``partitions``, the true
    ``emitters`` with ``rate_g_s``…). ``progress(done, total)`` is called after each van-day.
    ``wind_in_samples`` writes the wind the plumes were drawn with (veering hour by hour) as the
    samples' measured ``wind_from_deg``/``wind_speed_m_s``; False leaves them empty, as before.
    ``p_emit`` (one probability, or one per emitter) is the chance that an emitter emits on a
    given day (intermittent firms; the manifest lists each emitter's ``days_emitting``).
    Files are written atomically; an existing archive folder is added to / overwritten.
    """
    from .samples import to_samples_frame

    if days < 1 or vans < 1:
        raise InputError(f"`days` and `vans` must be at least 1, got days={days}, vans={vans}")
    if not 0 < hz <= 50:
        raise InputError(f"`hz` must be in (0, 50], got {hz}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = _context(area, days=days, seed=seed, hz=hz, hours=hours, start=start, n_emitters=n_emitters, p_emit=p_emit)
    ctx["wind_in_samples"] = bool(wind_in_samples)
    total = 0
    done = 0
    for d in range(days):
        for v in range(vans):
            f = _van_day(ctx, d, v)
            date = f"{ctx['start'] + pd.Timedelta(days=d):%Y-%m-%d}"
            _write_parquet_atomic(to_samples_frame(f, species=list(SPECIES)),
                                  partition_path(out, date, f"van{v + 1:02d}"))
            total += len(f)
            done += 1
            if progress is not None:
                progress(done, days * vans)
    em = ctx["emitters"]
    manifest = {
        "schema": ARCHIVE_SCHEMA, "kind": "samples", "synthetic": True, "area": ctx["area"],
        "days": days, "vans": vans, "hz": hz, "hours": hours, "seed": seed, "start": start,
        "partitioning": "date=YYYY-MM-DD/platform=NAME", "species": list(SPECIES),
        "n_samples": int(total), "partitions": days * vans, "wind_in_samples": bool(wind_in_samples),
        "emitters": [{"enterprise_id": e, "source_id": s, "rate_g_s": float(r),
                      "days_emitting": [f"{ctx['start'] + pd.Timedelta(days=d):%Y-%m-%d}" for d in range(days)
                                        if ctx["emits"][d][i] > 0]}
                     for i, (e, s, r) in enumerate(zip(em["enterprise_id"], em["source_id"], em["rate_g_s"],
                                                       strict=True))],
        "winds": [{"day": i, "from_deg": round(w[0], 1), "speed_m_s": round(w[1], 2), "stability": w[2]}
                  for i, w in enumerate(ctx["winds"])],
    }
    atomic_write(out / "archive.json", json.dumps(manifest, indent=1))
    log.info("synthetic archive: %d days × %d vans at %g Hz → %d samples in %s", days, vans, hz, total, out)
    return manifest
