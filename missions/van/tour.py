"""The van tour: depot → downwind monitoring legs (and upwind background legs) → depot.

Choosing one candidate leg per (target, pass) and an order is a generalised TSP with
asymmetric costs (one-way streets, and a leg is driven in one direction). The planner solves
it with :func:`~ecopatrol.missions.van.gtsp.solve_gtsp`, a seeded, iteration-bounded iterated
local search (segment exchange, asymmetric 2-opt, reinsertion with leg switching, exact leg
selection by dynamic programming; ruin-and-recreate and reversal kicks): same inputs and
seed, same route, whatever the machine load.

``strategy="fast-tsp"`` keeps the former optimiser — fast-tsp (:func:`~.tsp.solve_tsp`)
ordering the chosen legs, alternated with the exact leg selection, under a time budget — as
the benchmark's baseline. It is *not* deterministic: fast-tsp's internal RNG cannot be seeded.

Cost of visiting a leg = fastest transit (s) from the previous leg's end to its start + its
drive time at monitoring speed + a small penalty for a weaker predicted signal. When the tour
does not fit in the shift, the lowest-priority target (last in ``target_ids``) is dropped and
the tour re-optimised, until it fits; every dropped target is named with its reason.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Literal
from datetime import UTC, datetime

import numpy as np
from scipy.sparse.csgraph import dijkstra

from ecopatrol.core.crs import haversine_m
from ecopatrol.core.errors import InputError, PlanningError

from . import legs as legs_mod
from .gtsp import DEFAULT_ITERATIONS, solve_gtsp
from .legs import CandidateLeg, RoadIndex, road_index
from .tsp import solve_tsp

log = logging.getLogger(__name__)

SCHEMA = "ecopatrol.plan/1"
WEAK_SIGNAL_PENALTY_S = 300.0  # cost added to a leg per unit of signal below the target's best
MAX_DEPOT_SNAP_M = 1000.0
QUICK_DROP_MARGIN = 1.05  # a quick search's route this far over the shift drops a target without the full one


@dataclass
class Dropped:
    """A target left out of the route, and why."""

    target_id: str
    reason: str

    def to_dict(self) -> dict:
        return {"target_id": self.target_id, "reason": self.reason}


@dataclass
class RouteLeg:
    """A stretch of the route: ``path[start_idx..end_idx]`` driven for one purpose."""

    leg_id: str
    kind: str  # monitoring | transit | background
    target_id: str | None
    pass_no: int | None
    start_idx: int
    end_idx: int
    speed_m_s: float
    street: str
    distance_m: float
    duration_s: float
    park: str | None = None
    purpose: str = ""
    expected_ugm3_per_g_s: float | None = None

    def to_dict(self) -> dict:
        d = {"leg_id": self.leg_id, "kind": self.kind, "target_id": self.target_id,
             "pass_no": self.pass_no, "start_idx": self.start_idx, "end_idx": self.end_idx,
             "speed_m_s": round(self.speed_m_s, 3), "street": self.street,
             "distance_m": round(self.distance_m, 1), "duration_s": round(self.duration_s, 1),
             "purpose": self.purpose}
        if self.park is not None:
            d["park"] = self.park
        if self.expected_ugm3_per_g_s is not None:
            d["expected_ugm3_per_g_s"] = float(f"{self.expected_ugm3_per_g_s:.4g}")
        return d


@dataclass
class VanPlan:
    """A planned van route. Coordinates are WGS-84 ``(lon, lat)``."""

    area: str
    wind: object
    stability: str
    depot_lonlat: tuple[float, float]
    path_lonlat: np.ndarray  # (n, 2) lon, lat
    path_node_ids: list[int]
    path_streets: list[str]  # street of edge i → i+1 (len n − 1)
    legs: list[RouteLeg]
    distance_m: float
    duration_s: float
    shift_h: float
    passes: int
    monitor_speed_kmh: float
    targets_covered: list[str]
    dropped: list[Dropped]
    target_names: dict[str, str] = field(default_factory=dict)
    created_utc: str = ""
    route_id: str = "R01"

    @property
    def passes_per_target(self) -> dict[str, int]:
        out = {t: 0 for t in self.targets_covered}
        for leg in self.legs:
            if leg.kind == "monitoring" and leg.target_id in out:
                out[leg.target_id] += 1
        return out

    def route_dict(self) -> dict:
        return {
            "route_id": self.route_id,
            "depot": {"lon": self.depot_lonlat[0], "lat": self.depot_lonlat[1]},
            "path": [[round(float(x), 7), round(float(y), 7)] for x, y in self.path_lonlat],
            "path_node_ids": [int(n) for n in self.path_node_ids],
            "legs": [leg.to_dict() for leg in self.legs],
            "distance_m": round(self.distance_m, 1),
            "duration_s": round(self.duration_s, 1),
            "targets_covered": list(self.targets_covered),
            "targets_dropped": [d.target_id for d in self.dropped],
            "drop_reasons": {d.target_id: d.reason for d in self.dropped},
            "passes_per_target": self.passes_per_target,
            "shift_h": self.shift_h,
            "monitor_speed_kmh": self.monitor_speed_kmh,
        }

    def to_dict(self) -> dict:
        """The ``ecopatrol.plan/1`` document (kind ``van``)."""
        w = self.wind
        return {"schema": SCHEMA, "kind": "van", "created_utc": self.created_utc, "area": self.area,
                "wind": {"from_deg": w.from_deg, "speed_m_s": w.speed_m_s, "stability": self.stability},
                "routes": [self.route_dict()]}


# ---------------------------------------------------------------------------
# validation and setup
# ---------------------------------------------------------------------------

def _check_inputs(area, target_ids, shift_h, passes, monitor_speed_kmh) -> list[str]:
    if isinstance(target_ids, str):
        target_ids = [t for t in target_ids.split(",") if t.strip()]
    ids = [str(t).strip() for t in target_ids]
    problems = []
    if not ids:
        problems.append("`targets`: no target enterprise given; pass at least one enterprise_id")
    known = set(area.enterprises["enterprise_id"].astype(str))
    unknown = [t for t in ids if t not in known]
    if unknown:
        problems.append(f"`targets`: {len(unknown)} id(s) not in the registry of area "
                        f"{getattr(area, 'name', '?')!r}: {', '.join(unknown[:10])}"
                        + (" …" if len(unknown) > 10 else "") + "; check the enterprise_id column")
    if not (isinstance(passes, (int, np.integer)) and 1 <= passes <= 10):
        problems.append(f"`passes` {passes!r}: give a whole number of passes between 1 and 10")
    if not (isinstance(shift_h, (int, float)) and math.isfinite(shift_h) and 0 < shift_h <= 24):
        problems.append(f"`shift_h` {shift_h!r}: give the shift length in hours, between 0 and 24")
    if not (isinstance(monitor_speed_kmh, (int, float)) and 3 <= monitor_speed_kmh <= 120):
        problems.append(f"`monitor_speed_kmh` {monitor_speed_kmh!r}: give a speed between 3 and 120 km/h")
    if problems:
        raise InputError("van plan: " + "; ".join(problems))
    seen: set[str] = set()
    out = []
    for t in ids:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def _depot_lonlat(area, depot) -> tuple[float, float]:
    if depot is not None:
        try:
            lon, lat = (float(v) for v in depot)
        except (TypeError, ValueError):
            raise InputError(f"`depot` {depot!r}: give it as (lon, lat) in WGS-84 degrees") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InputError(f"`depot` ({lon}, {lat}) is not a WGS-84 (lon, lat) position")
        return lon, lat
    dep = getattr(area, "depot", None)
    if dep is None or len(dep) == 0:
        raise InputError(f"area {getattr(area, 'name', '?')!r} has no depot (depot.geojson): "
                         "pass depot=(lon, lat) or add the depot to the area")
    p = dep.geometry.iloc[0]
    return float(p.x), float(p.y)


def _snap_depot(idx: RoadIndex, lon: float, lat: float, max_snap_m: float) -> tuple[int, int]:
    """Nearest node of the largest strongly connected part of the network → (node index, component)."""
    labels, counts = np.unique(idx.scc, return_counts=True)
    main = labels[np.argmax(counts)]
    in_main = np.flatnonzero(idx.scc == main)
    d = haversine_m(lon, lat, idx.lon[in_main], idx.lat[in_main])
    k = int(np.argmin(d))
    if d[k] > max_snap_m:
        raise PlanningError(
            f"depot ({lon:.6f}, {lat:.6f}) is {d[k]:.0f} m from the nearest drivable road of the network "
            f"(limit {max_snap_m:.0f} m): give a depot on the road network (--depot LON,LAT) or a road "
            "file that covers the depot")
    return int(in_main[k]), int(main)


# ---------------------------------------------------------------------------
# generalised TSP
# ---------------------------------------------------------------------------

@dataclass
class _Problem:
    cost: np.ndarray  # (m+1, m+1), unit 0 = depot; cost[i, j] = transit(i→j) + leg j
    drive: np.ndarray  # (m+1,) time of each unit without penalty
    penalty: np.ndarray  # (m+1,)
    transit: np.ndarray  # (m+1, m+1) pure transit seconds


def _greedy(prob: _Problem, clusters: list[list[int]]) -> tuple[list[int], list[int]]:
    """Baseline: from the depot, always drive to the cheapest leg of any unserved cluster next.

    Returns (cluster order, unit of each visited cluster)."""
    c = prob.cost
    left = list(range(len(clusters)))
    cur, seq, order = 0, [], []
    while left:
        best = min((c[cur, u], k, u) for k in left for u in clusters[k])
        cur = best[2]
        seq.append(cur)
        order.append(best[1])
        left.remove(best[1])
    return order, seq


def _gtsp(prob: _Problem, clusters: list[list[int]], *, iterations: int, seed: int,
          start: list[int] | None = None) -> tuple[list[int], list[int]]:
    """The deterministic optimiser. Returns (cluster order, unit of each visited cluster)."""
    res = solve_gtsp(prob.cost, clusters, depot=0, iterations=iterations, seed=seed, start=start)
    return res.clusters, res.units


def _gtsp_fast_tsp(prob: _Problem, clusters: list[list[int]], *, seconds: float,
                   seed: int) -> tuple[list[int], list[int]]:
    """The former optimiser, kept as the benchmark's baseline: fast-tsp orders the chosen legs, the
    layered shortest path re-chooses them, alternately, within ``seconds``. NOT deterministic
    (fast-tsp's RNG cannot be seeded, and the budget is wall-clock time)."""
    if not clusters:
        return [], []
    t_end = time.perf_counter() + seconds
    c = prob.cost
    chosen = [cl[0] for cl in clusters]  # best signal first
    order = list(range(len(clusters)))
    best_cost = math.inf
    best_seq: list[int] = []
    best_order: list[int] = []
    for _ in range(20):
        # 1. order the chosen units
        units = [0] + [chosen[k] for k in order]
        sub = c[np.ix_(units, units)]
        remaining = max(t_end - time.perf_counter(), 0.05)
        tour, _ = solve_tsp(sub, seconds=min(1.0, remaining / 3), seed=seed)
        order = [order[i - 1] for i in tour[1:]]
        # 2. cluster optimisation along that order (layered shortest path)
        prev_cost = np.array([0.0])
        prev_units = [0]
        back = []
        for k in order:
            cand = clusters[k]
            tot = prev_cost[:, None] + c[np.ix_(prev_units, cand)]
            arg = np.argmin(tot, axis=0)
            back.append(arg)
            prev_cost = tot[arg, np.arange(len(cand))]
            prev_units = cand
        final = prev_cost + c[prev_units, 0]
        j = int(np.argmin(final))
        total = float(final[j])
        for step in range(len(order) - 1, -1, -1):
            chosen[order[step]] = clusters[order[step]][j]
            j = int(back[step][j])
        seq = [chosen[k] for k in order]
        if total < best_cost - 1e-6:
            best_cost, best_seq, best_order = total, seq, list(order)
        else:
            break
        if time.perf_counter() > t_end:
            break
    return best_order, best_seq


# ---------------------------------------------------------------------------
# the planner
# ---------------------------------------------------------------------------

def plan_van(area, target_ids: list[str], wind, *, depot=None, shift_h: float = 6.0, passes: int = 2,
             monitor_speed_kmh: float = 30.0, iterations: int = DEFAULT_ITERATIONS, seed: int = 0,
             network=None, cache_dir=None, max_depot_snap_m: float = MAX_DEPOT_SNAP_M,
             max_candidates: int = 6, strategy: Literal["optimised", "greedy", "fast-tsp"] = "optimised",
             seconds: float = 3.0, created_utc: datetime | str | None = None) -> VanPlan:
    """Plan one van route from the depot past every target's plume and back within the shift.

    Parameters
    ----------
    area : an :class:`ecopatrol.core.area.Area` (``enterprises``, ``sources``, ``depot``,
        ``roads_path``, ``metric_crs``, ``name``).
    target_ids : enterprise ids, highest priority first (the last ones are dropped first).
    wind : :class:`ecopatrol.core.weather.Wind` (stability derived from speed when not given).
    depot : ``(lon, lat)`` WGS-84; default the area's depot.
    shift_h : the whole route (transit and monitoring) must fit in this many hours.
    passes : plume crossings per target.
    monitor_speed_kmh : speed cap on monitoring and background legs (transit uses road speeds).
    iterations : effort of the optimiser (iterated-local-search iterations per solve). The
        search is bounded by this count, never by time: the same inputs and ``seed`` give the
        same route (``plan.json`` identical apart from ``created_utc``).
    seed : seeds the optimiser's random choices.
    network : a graph from :func:`load_road_network` (default: read ``area.roads_path``).
    strategy : ``optimised`` (deterministic generalised-TSP search, the default), ``greedy``
        (nearest next leg) or ``fast-tsp`` (the former fast-tsp-based optimiser under a time
        budget, NOT deterministic); the last two are the benchmark's baselines.
    seconds : time budget of the ``fast-tsp`` strategy only; ignored by ``optimised``.
    created_utc : the plan's creation time (tz-aware ``datetime`` or ``YYYY-MM-DDTHH:MM:SSZ``);
        default now. Fix it to make written plans byte-identical.

    Raises
    ------
    InputError (bad arguments, unknown targets), PlanningError (depot off the network, no
    target can be covered).
    """
    from .network import load_road_network

    t0 = time.perf_counter()
    if strategy not in ("optimised", "greedy", "fast-tsp"):
        raise InputError(f"`strategy` {strategy!r}: use 'optimised', 'greedy' or 'fast-tsp'")
    if not (isinstance(iterations, (int, np.integer)) and not isinstance(iterations, bool) and iterations >= 0):
        raise InputError(f"`iterations` {iterations!r}: give the optimiser's effort as a whole number >= 0")
    created = _created_utc(created_utc)
    ids = _check_inputs(area, target_ids, shift_h, passes, monitor_speed_kmh)
    monitor_m_s = monitor_speed_kmh / 3.6
    stability = wind.resolved_stability()
    g = network if network is not None else load_road_network(area.roads_path, cache_dir=cache_dir)
    idx = road_index(g, area.metric_crs)
    dlon, dlat = _depot_lonlat(area, depot)
    depot_node, comp = _snap_depot(idx, dlon, dlat, max_depot_snap_m)

    ent = area.enterprises.assign(enterprise_id=area.enterprises["enterprise_id"].astype(str)).set_index("enterprise_id")
    names = {t: str(ent.loc[t, "name"]) if "name" in ent else t for t in ids}
    dropped: list[Dropped] = []
    cands: dict[str, list[CandidateLeg]] = {}
    srcs: dict[str, legs_mod.PlumeSources] = {}
    for t in ids:
        srcs[t] = legs_mod.plume_sources(area, t, wind, stability, area.metric_crs)
        c = legs_mod.monitoring_legs(idx, srcs[t], t, wind, component=comp, monitor_speed_m_s=monitor_m_s,
                                     max_candidates=max_candidates)
        if c:
            cands[t] = c
        else:
            dropped.append(Dropped(t, "no drivable road (connected to the depot) crosses its predicted plume "
                                      f"{legs_mod.DOWNWIND_RANGE_M[0]:.0f}–{legs_mod.DOWNWIND_RANGE_M[1]:.0f} m "
                                      f"downwind with wind from {wind.from_deg:g}°"))

    # background legs: one per park of a target that can be covered
    park_of: dict[str, str | None] = {}
    for t in cands:
        p = ent.loc[t, "park"] if "park" in ent else None
        park_of[t] = None if p is None or (isinstance(p, float) and math.isnan(p)) or str(p) == "" else str(p)
    parks = sorted({p for p in park_of.values() if p is not None})
    bg: dict[str, list[CandidateLeg]] = {}
    if parks:
        all_ids = area.enterprises["enterprise_id"].astype(str).tolist()
        all_src = legs_mod.concat_sources([legs_mod.plume_sources(area, e, wind, stability, area.metric_crs)
                                           for e in all_ids])
        for p in parks:
            # upwind of the park's targets of the day (a park's far-flung members do not move it)
            psrc = legs_mod.concat_sources([srcs[t] for t in cands if park_of[t] == p])
            b = legs_mod.background_legs(idx, psrc, all_src, p, wind, component=comp,
                                         monitor_speed_m_s=monitor_m_s)
            if b:
                bg[p] = b
            else:
                log.warning("park %s: no road 200–1500 m upwind for a background leg", p)

    # units: 0 = depot, then every candidate leg once
    units: list[CandidateLeg | None] = [None]
    unit_of: dict[int, int] = {}
    for lst in list(cands.values()) + list(bg.values()):
        for leg in lst:
            unit_of[id(leg)] = len(units)
            units.append(leg)
    starts = np.array([depot_node] + [u.nodes[0] for u in units[1:]])
    ends = np.array([depot_node] + [u.nodes[-1] for u in units[1:]])
    tm = idx.time_matrix()
    uniq_ends, inv = np.unique(ends, return_inverse=True)
    dist_from = dijkstra(tm, directed=True, indices=uniq_ends)
    transit = dist_from[inv][:, starts]
    # transit[u, u] is the loop from a leg's end back to its start: a second pass on the same leg
    transit[0, 0] = 0.0
    if not np.isfinite(transit).all():  # cannot happen within one strongly connected component
        raise PlanningError("internal: legs outside the depot's strongly connected road network")
    drive = np.array([0.0] + [u.drive_s for u in units[1:]])
    penalty = np.array([0.0] + [WEAK_SIGNAL_PENALTY_S * (1.0 - u.rel_signal) for u in units[1:]])
    prob = _Problem(transit + (drive + penalty)[None, :], drive, penalty, transit)
    prob.cost[:, 0] = transit[:, 0]

    shift_s = shift_h * 3600.0
    # a target that cannot be driven alone (out, best leg, back) within the shift is dropped up front
    for t in list(cands):
        alone = min(transit[0, unit_of[id(leg)]] + leg.drive_s + transit[unit_of[id(leg)], 0] for leg in cands[t])
        if alone * 1.0 > shift_s:
            dropped.append(Dropped(t, f"its nearest monitoring leg alone needs {alone / 3600:.1f} h from the "
                                      f"depot and back, more than the {shift_h:g} h shift"))
            del cands[t]

    def clusters_for(active: list[str]):
        cl, meta = [], []
        for t in active:
            for p in range(1, passes + 1):
                cl.append([unit_of[id(leg)] for leg in cands[t]])
                meta.append(("monitoring", t, p))
        active_parks = sorted({park_of[t] for t in active if park_of.get(t)})
        for p in active_parks:
            if p in bg:
                cl.append([unit_of[id(leg)] for leg in bg[p]])
                meta.append(("background", p, 1))
        return cl, meta

    def route_time(seq):
        full = [0] + seq + [0]
        return float(sum(transit[a, b] for a, b in zip(full[:-1], full[1:])) + drive[seq].sum())

    active = [t for t in ids if t in cands]
    budget = max(float(seconds), 0.2)
    quick = min(int(iterations), max(20, int(iterations) // 5))
    seq, meta_seq = [], []
    while active:
        cl, meta = clusters_for(active)
        if strategy == "greedy":
            order, seq = _greedy(prob, cl)
        elif strategy == "fast-tsp":
            remaining = budget - (time.perf_counter() - t0)
            order, seq = _gtsp_fast_tsp(prob, cl, seconds=max(0.1, min(remaining, budget / 2)), seed=seed)
        else:
            # start from the previous order without the dropped target's legs; a quick search first:
            # a route far over the shift drops its next target without the full search
            pos = {key: k for k, key in enumerate(meta)}
            start = [pos[key] for key in meta_seq if key in pos]
            order, seq = _gtsp(prob, cl, iterations=quick, seed=seed, start=start)
            if quick < iterations and route_time(seq) <= shift_s * QUICK_DROP_MARGIN:
                order, seq = _gtsp(prob, cl, iterations=int(iterations), seed=seed, start=order)
        meta_seq = [meta[k] for k in order]
        if route_time(seq) <= shift_s:
            break
        worst = active.pop()  # lowest priority
        dropped.append(Dropped(worst, f"the route does not fit in the {shift_h:g} h shift; dropped as the "
                                      "lowest-priority target remaining"))
    covered = [t for t in ids if t in active]
    if not covered:
        reasons = "; ".join(f"{d.target_id}: {d.reason}" for d in dropped)
        raise PlanningError(f"van plan: no target can be covered ({reasons})")
    plan = _assemble(area, wind, stability, idx, depot_node, (dlon, dlat), units, seq, meta_seq,
                     shift_h=shift_h, passes=passes, monitor_speed_kmh=monitor_speed_kmh,
                     covered=covered, dropped=dropped, names=names, created_utc=created)
    log.info("planned van route: %d/%d targets, %d monitoring + %d background legs, %.1f km, %.2f h "
             "(shift %g h), %d dropped, in %.1f s", len(covered), len(ids),
             sum(leg.kind == "monitoring" for leg in plan.legs), sum(leg.kind == "background" for leg in plan.legs),
             plan.distance_m / 1000, plan.duration_s / 3600, shift_h, len(dropped), time.perf_counter() - t0)
    return plan


def _created_utc(value) -> str:
    """``created_utc`` as ``YYYY-MM-DDTHH:MM:SSZ``: now by default, else the given tz-aware time."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    if value is None:
        return datetime.now(UTC).strftime(fmt)
    if isinstance(value, str):
        try:
            value = datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            raise InputError(f"`created_utc` {value!r}: write it as YYYY-MM-DDTHH:MM:SSZ (UTC)") from None
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"`created_utc` {value!r}: give a timezone-aware datetime (e.g. tzinfo=UTC)")
    return value.astimezone(UTC).strftime(fmt)


def _assemble(area, wind, stability, idx: RoadIndex, depot_node: int, depot_lonlat, units, seq, meta_seq, *,
              shift_h, passes, monitor_speed_kmh, covered, dropped, names, created_utc: str) -> VanPlan:
    tm = idx.time_matrix()
    best_edge = idx.best_edge()
    monitor_m_s = monitor_speed_kmh / 3.6
    need = sorted({depot_node} | {units[u].nodes[-1] for u in seq})
    _, pred = dijkstra(tm, directed=True, indices=need, return_predecessors=True)
    row_of = {n: i for i, n in enumerate(need)}

    def sp(a: int, b: int) -> list[int]:
        if a == b:
            return [a]
        pr = pred[row_of[a]]
        out = [b]
        while out[-1] != a:
            p = int(pr[out[-1]])
            if p < 0:
                raise PlanningError("internal: no road path between two legs")
            out.append(p)
        return out[::-1]

    path = [depot_node]
    edges: list[int] = []
    legs: list[RouteLeg] = []
    n_transit = 0
    pass_count: dict[str, int] = {}

    def add(nodes: list[int], leg_edges: list[int] | None, kind: str, target, pass_no, park, purpose, signal):
        nonlocal n_transit
        assert nodes[0] == path[-1]
        if len(nodes) < 2:
            return
        start = len(path) - 1
        es = leg_edges if leg_edges is not None else [best_edge[(a, b)] for a, b in zip(nodes[:-1], nodes[1:])]
        path.extend(nodes[1:])
        edges.extend(es)
        e = np.asarray(es, int)
        dist = float(idx.length_m[e].sum())
        if kind == "transit":
            dur = float(idx.travel_s[e].sum())
            n_transit += 1
            leg_id = f"X{n_transit:02d}"
        else:
            dur = float((idx.length_m[e] / np.minimum(idx.speed_kph[e] / 3.6, monitor_m_s)).sum())
            leg_id = f"{target}-P{pass_no}" if kind == "monitoring" else f"BG-{park}"
        legs.append(RouteLeg(leg_id, kind, target, pass_no, start, len(path) - 1, dist / dur if dur > 0 else 0.0,
                             legs_mod._street(idx, es), dist, dur, park, purpose, signal))

    for u, (kind, key, _p) in zip(seq, meta_seq):
        leg = units[u]
        add(sp(path[-1], leg.nodes[0]), None, "transit", None, None, None, "transit", None)
        if kind == "monitoring":
            pass_count[key] = pass_count.get(key, 0) + 1
            purpose = (f"monitor {key} ({names.get(key, key)}) pass {pass_count[key]}: cross its plume "
                       f"{leg.downwind_m:.0f} m downwind at ≤ {monitor_speed_kmh:g} km/h")
            add(leg.nodes, leg.edges, "monitoring", key, pass_count[key], None, purpose, leg.signal_ugm3_per_g_s)
        else:
            purpose = (f"background for park {key}: upwind air {-leg.downwind_m:.0f} m upwind "
                       f"at ≤ {monitor_speed_kmh:g} km/h")
            add(leg.nodes, leg.edges, "background", None, None, key, purpose, None)
    add(sp(path[-1], depot_node), None, "transit", None, None, None, "return to depot", None)

    e = np.asarray(edges, int)
    return VanPlan(
        area=str(getattr(area, "name", "")), wind=wind, stability=stability,
        depot_lonlat=(float(depot_lonlat[0]), float(depot_lonlat[1])),
        path_lonlat=np.column_stack([idx.lon[path], idx.lat[path]]),
        path_node_ids=[int(idx.node_ids[n]) for n in path],
        path_streets=[idx.name[k] or "unnamed road" for k in e.tolist()],
        legs=legs, distance_m=float(sum(leg.distance_m for leg in legs)),
        duration_s=float(sum(leg.duration_s for leg in legs)), shift_h=float(shift_h), passes=int(passes),
        monitor_speed_kmh=float(monitor_speed_kmh), targets_covered=list(covered), dropped=list(dropped),
        target_names=dict(names), created_utc=created_utc,
    )
