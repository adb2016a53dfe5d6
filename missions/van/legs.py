"""Downwind monitoring legs and upwind background legs on a road graph.

For a target enterprise and a wind, every stack's plume is modelled with the shared Gaussian
plume (``ecopatrol.core.dispersion``: Briggs rise, Briggs rural σ). The plume axis runs downwind
from the stacks' centroid; a road edge whose ends lie on opposite sides of the axis, between
100 and 2000 m downwind, *crosses* the plume there. Each crossing is scored by the predicted
ground-level concentration per 1 g/s of emission at the crossing point (µg/m³ per g/s, at the
analyser inlet height); the best crossings are grown along their street (same name first, then
the straightest continuation, one-way streets respected) until the road is 2.5 σy off the axis
on both sides, so the analyser sees clean air, the plume, and clean air again.

Coordinates: graph nodes are WGS-84 ``(lon, lat)``; all geometry here is done in the area's
metric CRS.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from ecopatrol.core import settings
from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.dispersion import effective_height_m, gaussian_plume, plume_frame, sigmas

log = logging.getLogger(__name__)

INLET_HEIGHT_M = 2.5  # analyser inlet on the van roof
DOWNWIND_RANGE_M = (100.0, 2000.0)
UPWIND_RANGE_M = (200.0, 1500.0)
MIN_REL_SIGNAL = 0.10  # a crossing must see ≥ 10 % of the target's peak ground concentration
MAX_TURN_DEG = 60.0
DEFAULT_STACK_HEIGHT_M = settings.UNKNOWN_STACK_HEIGHT_VAN_M  # enterprises without registered stacks: a low, fugitive source
# Distance at which the Briggs rise is evaluated: far enough that the transitional rise has reached
# the final rise for any real stack (x = inf gives 0·inf = NaN for stacks without buoyancy).
FINAL_RISE_X_M = 1.0e6


@dataclass
class RoadIndex:
    """Array view of a road graph in a metric CRS (built once per plan)."""

    node_ids: np.ndarray  # OSM node ids, position = node index
    lon: np.ndarray
    lat: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    eu: np.ndarray  # edge tail index
    ev: np.ndarray  # edge head index
    length_m: np.ndarray
    travel_s: np.ndarray
    speed_kph: np.ndarray
    name: np.ndarray  # object array of street names ('' when unnamed)
    heading_rad: np.ndarray
    out_edges: list[list[int]]
    in_edges: list[list[int]]
    scc: np.ndarray  # strongly-connected component label per node
    crs: object
    pos: dict = field(default_factory=dict)
    highway: np.ndarray | None = None  # OSM highway class per edge ('' when unknown)

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    def time_matrix(self) -> csr_matrix:
        """Sparse node×node matrix of the fastest edge's travel time (s)."""
        n = self.n_nodes
        order = np.lexsort((self.travel_s, self.ev, self.eu))
        u, v, t = self.eu[order], self.ev[order], self.travel_s[order]
        first = np.ones(len(u), bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        return csr_matrix((np.maximum(t[first], 1e-3), (u[first], v[first])), shape=(n, n))

    def best_edge(self) -> dict[tuple[int, int], int]:
        """(u, v) node indices → index of the fastest edge between them."""
        out: dict[tuple[int, int], int] = {}
        for e in np.argsort(self.travel_s, kind="stable")[::-1]:
            out[(int(self.eu[e]), int(self.ev[e]))] = int(e)
        return out


def road_index(g, metric_crs) -> RoadIndex:
    """Build the :class:`RoadIndex` of an osmnx-style graph (``x`` = lon, ``y`` = lat)."""
    node_ids = np.array(list(g.nodes), dtype=np.int64)
    pos = {int(n): i for i, n in enumerate(node_ids)}
    lon = np.array([g.nodes[n]["x"] for n in node_ids], float)
    lat = np.array([g.nodes[n]["y"] for n in node_ids], float)
    x, y = lonlat_to_xy(lon, lat, metric_crs)
    x, y = np.asarray(x, float), np.asarray(y, float)
    edges = list(g.edges(data=True))
    eu = np.array([pos[int(u)] for u, _, _ in edges], dtype=np.int64)
    ev = np.array([pos[int(v)] for _, v, _ in edges], dtype=np.int64)
    length = np.array([d.get("length", 0.0) for *_, d in edges], float)
    speed = np.array([d.get("speed_kph", 30.0) for *_, d in edges], float)
    travel = np.array([d.get("travel_time", d.get("length", 0.0) / (d.get("speed_kph", 30.0) / 3.6))
                       for *_, d in edges], float)
    names = np.array([_name(d.get("name")) for *_, d in edges], dtype=object)
    highway = np.array([_name(d.get("highway")) for *_, d in edges], dtype=object)
    heading = np.arctan2(y[ev] - y[eu], x[ev] - x[eu])
    n = len(node_ids)
    out_edges: list[list[int]] = [[] for _ in range(n)]
    in_edges: list[list[int]] = [[] for _ in range(n)]
    for e, (a, b) in enumerate(zip(eu.tolist(), ev.tolist())):
        out_edges[a].append(e)
        in_edges[b].append(e)
    adj = csr_matrix((np.ones(len(eu)), (eu, ev)), shape=(n, n))
    _, labels = connected_components(adj, directed=True, connection="strong")
    return RoadIndex(node_ids, lon, lat, x, y, eu, ev, length, travel, speed, names, heading,
                     out_edges, in_edges, labels, metric_crs, pos, highway)


def _name(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (list, tuple)):
        return "; ".join(str(s) for s in v)
    return str(v)


@dataclass
class CandidateLeg:
    """A drivable stretch of road that crosses a target's plume (or a park's upwind air).

    ``nodes`` are node indices of a :class:`RoadIndex`, in driving order.
    """

    kind: str  # "monitoring" | "background"
    target_id: str | None
    park: str | None
    nodes: list[int]
    edges: list[int]
    length_m: float
    drive_s: float  # at monitoring speed
    signal_ugm3_per_g_s: float  # predicted peak at the inlet per 1 g/s (background: contamination)
    rel_signal: float  # relative to the best candidate of this target (1 = best)
    street: str
    downwind_m: float  # signed distance along the wind from the source centroid to the crossing
    half_width_m: float
    reaches_clean_air: bool  # the leg reaches ≥ half_width_m off the axis on both sides


@dataclass
class PlumeSources:
    """The stacks of one enterprise in metric coordinates, ready for the plume model."""

    x_m: np.ndarray
    y_m: np.ndarray
    h_eff_m: np.ndarray
    u_m_s: np.ndarray
    stability: str

    @property
    def centroid(self) -> tuple[float, float]:
        return float(self.x_m.mean()), float(self.y_m.mean())

    def unit_conc(self, x_m, y_m, wind_from_deg: float, z_m: float = INLET_HEIGHT_M) -> np.ndarray:
        """Predicted concentration (µg/m³) at points per 1 g/s from every stack, summed."""
        dx, dy = plume_frame(np.atleast_1d(x_m), np.atleast_1d(y_m), self.x_m, self.y_m, wind_from_deg)
        c = gaussian_plume(1.0, self.u_m_s[None, :], dx, dy, z_m, self.h_eff_m[None, :], self.stability)
        return np.atleast_2d(c).sum(axis=1)

    def peak_ground_conc(self, wind_from_deg: float, x_range_m=DOWNWIND_RANGE_M) -> float:
        """Largest centreline concentration per 1 g/s between ``x_range_m`` downwind of the centroid."""
        cx, cy = self.centroid
        t = math.radians(wind_from_deg)
        dx, dy = -math.sin(t), -math.cos(t)
        xs = np.geomspace(x_range_m[0], x_range_m[1], 200)
        return float(self.unit_conc(cx + xs * dx, cy + xs * dy, wind_from_deg).max())


def plume_sources(area, enterprise_id: str, wind, stability: str, metric_crs) -> PlumeSources:
    """The enterprise's stacks (or its site point as a 10 m fugitive source when it has none)."""
    src = area.sources[area.sources["enterprise_id"].astype(str) == str(enterprise_id)]
    if len(src):
        lon, lat = src.geometry.x.to_numpy(), src.geometry.y.to_numpy()
        h = src["height_m"].to_numpy(float) if "height_m" in src else np.full(len(src), DEFAULT_STACK_HEIGHT_M)
        h = np.where(np.isfinite(h), h, DEFAULT_STACK_HEIGHT_M)

        def col(name):
            return src[name].to_numpy(float) if name in src else None

        h_eff, u = effective_height_m(h, wind.speed_m_s, stability, exit_velocity_m_s=col("exit_velocity_m_s"),
                                      diameter_m=col("diameter_m"), exit_temp_k=col("exit_temp_k"),
                                      x_m=FINAL_RISE_X_M)
    else:
        ent = area.enterprises[area.enterprises["enterprise_id"].astype(str) == str(enterprise_id)]
        lon, lat = ent.geometry.x.to_numpy()[:1], ent.geometry.y.to_numpy()[:1]
        h_eff, u = effective_height_m(np.array([DEFAULT_STACK_HEIGHT_M]), wind.speed_m_s, stability)
    x, y = lonlat_to_xy(lon, lat, metric_crs)
    return PlumeSources(np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float)),
                        np.atleast_1d(np.asarray(h_eff, float)), np.atleast_1d(np.asarray(u, float)), stability)


def _axis_frame(idx: RoadIndex, cx: float, cy: float, wind_from_deg: float):
    x, y = plume_frame(idx.x_m, idx.y_m, np.array([cx]), np.array([cy]), wind_from_deg)
    return x[:, 0], y[:, 0]


def _turn_rad(h1: float, h2: float) -> float:
    d = (h2 - h1 + math.pi) % (2 * math.pi) - math.pi
    return abs(d)


def _grow(idx: RoadIndex, seed: int, yn: np.ndarray, half_width_m: float, max_side_m: float,
          component: int) -> tuple[list[int], list[int], bool]:
    """Extend edge ``seed`` forward and backward along its street. Returns (nodes, edges, clean both ends)."""
    visited = {int(idx.eu[seed]), int(idx.ev[seed])}
    max_turn = math.radians(MAX_TURN_DEG)

    def walk(forward: bool) -> tuple[list[int], bool]:
        edges: list[int] = []
        cur = seed
        dist = 0.0
        while True:
            node = int(idx.ev[cur] if forward else idx.eu[cur])
            if abs(yn[node]) >= half_width_m:
                return edges, True
            if dist >= max_side_m:
                return edges, False
            best, best_key = None, None
            for e in (idx.out_edges[node] if forward else idx.in_edges[node]):
                other = int(idx.ev[e] if forward else idx.eu[e])
                if other in visited or idx.scc[other] != component:
                    continue
                turn = _turn_rad(idx.heading_rad[cur], idx.heading_rad[e])
                if turn > max_turn:
                    continue
                same = idx.name[e] != "" and idx.name[e] == idx.name[cur]
                key = (not same, turn)
                if best_key is None or key < best_key:
                    best, best_key = e, key
            if best is None:
                return edges, False
            edges.append(best)
            visited.add(int(idx.ev[best] if forward else idx.eu[best]))
            dist += float(idx.length_m[best])
            cur = best

    fwd, clean_f = walk(True)
    bwd, clean_b = walk(False)
    edges = bwd[::-1] + [seed] + fwd
    nodes = [int(idx.eu[edges[0]])] + [int(idx.ev[e]) for e in edges]
    return nodes, edges, clean_f and clean_b


def _street(idx: RoadIndex, edges: list[int]) -> str:
    share: dict[str, float] = {}
    for e in edges:
        share[idx.name[e]] = share.get(idx.name[e], 0.0) + float(idx.length_m[e])
    named = {k: v for k, v in share.items() if k}
    return max(named, key=named.get) if named else "unnamed road"


def _drive_s(idx: RoadIndex, edges: list[int], monitor_speed_m_s: float) -> float:
    e = np.asarray(edges, int)
    speed = np.minimum(idx.speed_kph[e] / 3.6, monitor_speed_m_s)
    return float((idx.length_m[e] / speed).sum())


def monitoring_legs(idx: RoadIndex, src: PlumeSources, target_id: str, wind, *, component: int,
                    monitor_speed_m_s: float, max_candidates: int = 6,
                    x_range_m: tuple[float, float] = DOWNWIND_RANGE_M,
                    min_rel_signal: float = MIN_REL_SIGNAL) -> list[CandidateLeg]:
    """Candidate monitoring legs of one target, best first (empty when no road crosses the plume)."""
    cx, cy = src.centroid
    xn, yn = _axis_frame(idx, cx, cy, wind.from_deg)
    yu, yv = yn[idx.eu], yn[idx.ev]
    cross = (np.sign(yu) != np.sign(yv)) & (idx.scc[idx.eu] == component) & (idx.scc[idx.ev] == component)
    cand = np.flatnonzero(cross)
    if cand.size == 0:
        return []
    t = yu[cand] / (yu[cand] - yv[cand])
    xu, xv = xn[idx.eu[cand]], xn[idx.ev[cand]]
    xc = xu + t * (xv - xu)
    ok = (xc >= x_range_m[0]) & (xc <= x_range_m[1])
    cand, t, xc = cand[ok], t[ok], xc[ok]
    if cand.size == 0:
        return []
    px = idx.x_m[idx.eu[cand]] + t * (idx.x_m[idx.ev[cand]] - idx.x_m[idx.eu[cand]])
    py = idx.y_m[idx.eu[cand]] + t * (idx.y_m[idx.ev[cand]] - idx.y_m[idx.eu[cand]])
    score = src.unit_conc(px, py, wind.from_deg)
    peak = src.peak_ground_conc(wind.from_deg, x_range_m)
    if not (np.isfinite(peak) and peak > 0):
        log.warning("target %s: the plume model predicts no ground-level signal; no monitoring leg", target_id)
        return []
    good = score >= min_rel_signal * peak
    cand, xc, score = cand[good], xc[good], score[good]
    order = np.lexsort((cand, -score))  # best signal first, ties by edge index (deterministic)
    legs: list[CandidateLeg] = []
    used: set[int] = set()
    best = float(score[order[0]]) if order.size else 0.0
    for k in order:
        e = int(cand[k])
        if e in used:
            continue
        sy, _ = sigmas(float(xc[k]), src.stability)
        hw = float(np.clip(2.5 * sy, 80.0, 1000.0))
        nodes, edges, clean = _grow(idx, e, yn, hw, max(300.0, 2.0 * hw), component)
        used.update(edges)
        legs.append(CandidateLeg(
            "monitoring", str(target_id), None, nodes, edges, float(idx.length_m[edges].sum()),
            _drive_s(idx, edges, monitor_speed_m_s), float(score[k]), float(score[k]) / best,
            _street(idx, edges), float(xc[k]), hw, clean))
        if len(legs) >= max_candidates:
            break
    return legs


def background_legs(idx: RoadIndex, park_src: PlumeSources, all_src: PlumeSources, park: str, wind, *,
                    component: int, monitor_speed_m_s: float, max_candidates: int = 3,
                    x_range_m: tuple[float, float] = UPWIND_RANGE_M) -> list[CandidateLeg]:
    """Candidate upwind background legs of a park: roads upwind of its stacks, least contaminated first."""
    cx, cy = park_src.centroid
    xn, yn = _axis_frame(idx, cx, cy, wind.from_deg)
    mx = 0.5 * (xn[idx.eu] + xn[idx.ev])
    my = 0.5 * (yn[idx.eu] + yn[idx.ev])
    ok = ((-mx >= x_range_m[0]) & (-mx <= x_range_m[1]) & (np.abs(my) <= 800.0)
          & (idx.scc[idx.eu] == component) & (idx.scc[idx.ev] == component))
    cand = np.flatnonzero(ok)
    if cand.size == 0:
        return []
    px = 0.5 * (idx.x_m[idx.eu[cand]] + idx.x_m[idx.ev[cand]])
    py = 0.5 * (idx.y_m[idx.eu[cand]] + idx.y_m[idx.ev[cand]])
    mxc, myc = mx[cand], my[cand]
    contamination = all_src.unit_conc(px, py, wind.from_deg)
    # crosswind streets close to the park's axis and free of any plume first
    t = math.radians(wind.from_deg)
    wind_to_rad = math.atan2(-math.cos(t), -math.sin(t))
    cross = np.abs(np.sin(idx.heading_rad[cand] - wind_to_rad))
    key = contamination / (contamination.max() + 1e-12) + np.abs(myc) / 800.0 - 0.5 * cross \
        + (-mxc) / x_range_m[1] * 0.2
    order = np.lexsort((cand, key))
    legs: list[CandidateLeg] = []
    used: set[int] = set()
    for k in order:
        e = int(cand[k])
        if e in used:
            continue
        nodes, edges, clean = _grow(idx, e, yn - myc[k], 150.0, 250.0, component)
        used.update(edges)
        legs.append(CandidateLeg(
            "background", None, str(park), nodes, edges, float(idx.length_m[edges].sum()),
            _drive_s(idx, edges, monitor_speed_m_s), float(contamination[k]), 1.0,
            _street(idx, edges), float(mxc[k]), 150.0, clean))
        if len(legs) >= max_candidates:
            break
    return legs


def concat_sources(parts: list[PlumeSources]) -> PlumeSources:
    """All stacks of several enterprises as one source set (same stability)."""
    return PlumeSources(np.concatenate([p.x_m for p in parts]), np.concatenate([p.y_m for p in parts]),
                        np.concatenate([p.h_eff_m for p in parts]), np.concatenate([p.u_m_s for p in parts]),
                        parts[0].stability)
