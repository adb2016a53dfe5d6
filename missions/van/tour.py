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

Cost of visiting a leg = fastest transit (s) from the previous leg's end to its start, on the
edge graph with a cost on U-turns (:mod:`.turns`: a loop round the block beats turning on an
arterial) + its drive time at monitoring speed + a small penalty for a weaker predicted signal.

A day's work. Targets are taken in priority order: with ``max_targets`` only that many that a
road can monitor are planned; targets whose monitoring legs alone (with those of every
higher-ranked target) overrun the shift are not even routed. When the tour does not fit in the
shift, the lowest-priority targets are left out (one at a time near the shift, more when far
over it) and the tour re-optimised, until it fits. Every target left out is listed with its
reason: ``deferred`` (beyond today's budget: another day) or ``dropped`` (cannot be monitored
in this wind from this depot). ``time_limit_s`` bounds the whole search: past it the best route
found so far is kept, shortened to the shift, with a warning.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from datetime import UTC, datetime

import numpy as np

from ecopatrol.core.artefacts.plan import PLAN_SCHEMA
from ecopatrol.core.crs import haversine_m
from ecopatrol.core.errors import InputError, InputFileNotFoundError, PlanningError

from . import _route
from . import legs as legs_mod
from ._route import FAR_OVER_SHIFT, QUICK_DROP_MARGIN, WEAK_SIGNAL_PENALTY_S  # noqa: F401 (re-exported)
from .gtsp import DEFAULT_ITERATIONS
from .legs import CandidateLeg, RoadIndex, road_index
from .turns import Transits, count_node_uturns

if TYPE_CHECKING:
    from ecopatrol.core.area import AreaLike

log = logging.getLogger(__name__)

SCHEMA = PLAN_SCHEMA
MAX_DEPOT_SNAP_M = 1000.0
DEFAULT_TIME_LIMIT_S = 60.0


@dataclass
class Dropped:
    """A target left out of the route (dropped: cannot be monitored; deferred: another day), and why."""

    target_id: str
    reason: str
    rank: int | None = None

    def to_dict(self) -> dict:
        d = {"target_id": self.target_id, "reason": self.reason}
        if self.rank is not None:
            d["rank"] = int(self.rank)
        return d


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
    deferred: list[Dropped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    when: datetime | None = None

    @property
    def u_turns(self) -> int:
        """Turns on the spot (node ``a, b, a``) along the path: where the network left no loop."""
        return count_node_uturns(self.path_node_ids)

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
            "targets_deferred": [d.to_dict() for d in self.deferred],
            "passes_per_target": self.passes_per_target,
            "shift_h": self.shift_h,
            "monitor_speed_kmh": self.monitor_speed_kmh,
            "u_turns": self.u_turns,
        }

    def to_dict(self) -> dict:
        """The ``ecopatrol.plan/1`` document (kind ``van``)."""
        w = self.wind
        d = {"schema": SCHEMA, "kind": "van", "created_utc": self.created_utc, "area": self.area,
             "wind": {"from_deg": w.from_deg, "speed_m_s": w.speed_m_s, "stability": self.stability},
             "routes": [self.route_dict()]}
        if self.when is not None:
            d["planned_for"] = {"local": self.when.isoformat(timespec="minutes"),
                                "utc": self.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if self.warnings:
            d["warnings"] = list(self.warnings)
        return d


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
                        f"{area.name!r}: {', '.join(unknown[:10])}"
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
        raise InputError(f"area {area.name!r} has no depot (depot.geojson): "
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
# the planner
# ---------------------------------------------------------------------------

def plan_van(area: AreaLike, target_ids: list[str], wind, *, depot=None, shift_h: float = 6.0, passes: int = 2,
             monitor_speed_kmh: float = 30.0, iterations: int = DEFAULT_ITERATIONS, seed: int = 0,
             network=None, cache_dir=None, max_depot_snap_m: float = MAX_DEPOT_SNAP_M,
             max_candidates: int = 6, strategy: Literal["optimised", "greedy", "fast-tsp"] = "optimised",
             seconds: float = 3.0, created_utc: datetime | str | None = None, max_targets: int | None = None,
             ranks: list[int] | None = None, time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
             when: datetime | None = None, uturn_penalty: float = 1.0) -> VanPlan:
    """Plan one van route from the depot past the targets' plumes and back within the shift.

    Parameters
    ----------
    area : an :class:`ecopatrol.core.area.Area` (``enterprises``, ``sources``, ``depot``,
        ``roads_path``, ``metric_crs``, ``name``).
    target_ids : enterprise ids, highest priority first (the last ones are left out first).
    wind : :class:`ecopatrol.core.weather.Wind` (stability derived from speed and ``when``
        when not given).
    depot : ``(lon, lat)`` WGS-84; default the area's depot.
    shift_h : the whole route (transit and monitoring) must fit in this many hours.
    passes : plume crossings per target.
    monitor_speed_kmh : speed cap on monitoring and background legs (transit uses road speeds).
    iterations : effort of the optimiser (iterated-local-search iterations per solve). The
        search is bounded by this count: the same inputs and ``seed`` give the same route
        (``plan.json`` identical apart from ``created_utc``) unless the time limit stops it.
    seed : seeds the optimiser's random choices.
    network : a graph from :func:`load_road_network` (default: read ``area.roads_path``).
    strategy : ``optimised`` (deterministic generalised-TSP search, the default), ``greedy``
        (nearest next leg) or ``fast-tsp`` (the former fast-tsp-based optimiser under a time
        budget, NOT deterministic); the last two are the benchmark's baselines.
    seconds : time budget of the ``fast-tsp`` strategy only; ignored by ``optimised``.
    created_utc : the plan's creation time (tz-aware ``datetime`` or ``YYYY-MM-DDTHH:MM:SSZ``);
        default now. Fix it to make written plans byte-identical.
    max_targets : the day's budget in targets: the ``max_targets`` highest-priority targets that
        a road can monitor are planned, every later one is deferred ("beyond today's budget:
        rank K"). None: all of them (still within the shift).
    ranks : the rank of each target (as in ``targets.csv``), for the reasons; default 1, 2, …
    time_limit_s : a safety net on the whole planning time (s): when the route search is still
        running then, the best route found so far is kept (and targets are left out of it until
        it fits the shift), with a warning in ``plan.warnings``. None: no limit.
    when : planned start (tz-aware); sets the stability class from the sun's elevation then
        when ``wind`` has none.
    uturn_penalty : scale of the U-turn routing costs of :mod:`.turns` (0: U-turns are free).

    Raises
    ------
    InputError (bad arguments, unknown targets), InputFileNotFoundError (no road network),
    PlanningError (depot off the network, no target can be covered).
    """
    t0 = time.perf_counter()
    _check_options(strategy, iterations, max_targets, time_limit_s, when)
    created = _created_utc(created_utc)
    ids = _check_inputs(area, target_ids, shift_h, passes, monitor_speed_kmh)
    rank_of = _ranks(target_ids, ids, ranks)
    deadline = None if time_limit_s is None else t0 + float(time_limit_s)
    monitor_m_s = monitor_speed_kmh / 3.6
    dlon, dlat = _depot_lonlat(area, depot)
    stability = wind.resolved_stability(when, dlon, dlat)
    g = network if network is not None else _road_network(area, cache_dir)
    idx = road_index(g, area.metric_crs)
    depot_node, comp = _snap_depot(idx, dlon, dlat, max_depot_snap_m)

    ent = area.enterprises.assign(enterprise_id=area.enterprises["enterprise_id"].astype(str)).set_index("enterprise_id")
    names = {t: str(ent.loc[t, "name"]) if "name" in ent else t for t in ids}
    dropped: list[Dropped] = []
    deferred: list[Dropped] = []
    warnings: list[str] = []
    shift_s = shift_h * 3600.0
    cands, srcs = _monitoring_candidates(area, ids, rank_of, wind, stability, idx, comp, dropped, deferred,
                                         monitor_m_s=monitor_m_s, max_candidates=max_candidates, passes=passes,
                                         shift_h=shift_h, max_targets=max_targets)
    park_of, bg = _background_candidates(area, ent, cands, srcs, wind, stability, idx, comp, monitor_m_s=monitor_m_s)
    u = _route.build_units(idx, depot_node, list(cands.values()) + list(bg.values()), uturn_scale=uturn_penalty)
    # a target that cannot be driven alone (out, best leg, back) within the shift is dropped up front
    for t in list(cands):
        alone = u.alone_s(cands[t])
        if alone > shift_s:
            dropped.append(Dropped(t, f"its nearest monitoring leg alone needs {alone / 3600:.1f} h from the "
                                      f"depot and back, more than the {shift_h:g} h shift", rank_of[t]))
            del cands[t]

    def defer(t: str) -> None:
        deferred.append(Dropped(t, f"beyond today's {shift_h:g} h shift (the route is full): rank {rank_of[t]}",
                                rank_of[t]))

    active = [t for t in ids if t in cands]
    seq, meta_seq, timed_out = _route.search_route(
        u, active, lambda act: _route.clusters_for(u, act, cands, bg, park_of, passes), defer, shift_s=shift_s,
        strategy=strategy, iterations=iterations, seed=seed, seconds=seconds, t0=t0, deadline=deadline)
    if timed_out and active:
        seq, meta_seq = _route.trim_to_shift(u, seq, meta_seq, active, park_of, defer, shift_s=shift_s)
        msg = (f"the route search stopped at its {time_limit_s:g} s time limit with {len(active)} target(s): the "
               "route is the best found by then (it may differ from run to run); plan fewer targets (--top) "
               "or allow more time (--time-limit)")
        warnings.append(msg)
        log.warning(msg)
    covered = [t for t in ids if t in active]
    if not covered:
        reasons = "; ".join(f"{d.target_id}: {d.reason}" for d in dropped + deferred)
        raise PlanningError(f"van plan: no target can be covered ({reasons})")
    plan = _assemble(area, wind, stability, idx, u.tr, depot_node, (dlon, dlat), u.units, seq, meta_seq,
                     shift_h=shift_h, passes=passes, monitor_speed_kmh=monitor_speed_kmh,
                     covered=covered, dropped=dropped, names=names, created_utc=created)
    plan.deferred = sorted(deferred, key=lambda d: (d.rank is None, d.rank))
    plan.warnings = warnings
    plan.when = when
    log.info("planned van route: %d of %d targets (%d left for another day, %d dropped), %d monitoring + %d "
             "background legs, %.1f km, %.2f h (shift %g h), %d U-turn(s), in %.1f s", len(covered), len(ids),
             len(deferred), len(dropped), sum(leg.kind == "monitoring" for leg in plan.legs),
             sum(leg.kind == "background" for leg in plan.legs), plan.distance_m / 1000, plan.duration_s / 3600,
             shift_h, plan.u_turns, time.perf_counter() - t0)
    return plan


def _check_options(strategy, iterations, max_targets, time_limit_s, when) -> None:
    """Refuse the search options out of range, naming each."""
    if strategy not in ("optimised", "greedy", "fast-tsp"):
        raise InputError(f"`strategy` {strategy!r}: use 'optimised', 'greedy' or 'fast-tsp'")
    if not (isinstance(iterations, (int, np.integer)) and not isinstance(iterations, bool) and iterations >= 0):
        raise InputError(f"`iterations` {iterations!r}: give the optimiser's effort as a whole number >= 0")
    if max_targets is not None and not (isinstance(max_targets, (int, np.integer)) and max_targets >= 1):
        raise InputError(f"`max_targets` {max_targets!r}: give the number of targets to plan today (>= 1)")
    if time_limit_s is not None and not (isinstance(time_limit_s, (int, float)) and time_limit_s > 0):
        raise InputError(f"`time_limit_s` {time_limit_s!r}: give the time limit in seconds (> 0)")
    if when is not None and (not isinstance(when, datetime) or when.tzinfo is None):
        raise InputError(f"`when` {when!r}: give a timezone-aware datetime")


def _road_network(area, cache_dir):
    """The area's road network (``area.roads_path``); refused with the fix when the area has none."""
    from .network import load_road_network

    roads = getattr(area, "roads_path", None)
    if roads is None:
        raise InputFileNotFoundError(
            f"area {area.name!r} has no road network: add roads.osm (or roads.osm.bz2 / "
            f"roads.osm.pbf, an OpenStreetMap extract of the district) to the area folder "
            f"{getattr(area, 'path', '')}".rstrip())
    return load_road_network(roads, cache_dir=cache_dir)


def _monitoring_candidates(area, ids, rank_of, wind, stability, idx, comp, dropped, deferred, *, monitor_m_s,
                           max_candidates, passes, shift_h, max_targets):
    """In priority order, each target's plume sources and candidate monitoring legs, until the day's
    budget of targets or a lower bound of the route (their shortest legs) overruns the shift.

    Targets no road can monitor are added to ``dropped``, those beyond the budget to ``deferred``.
    Returns ``(candidate legs by target, plume sources by target)``."""
    shift_s = shift_h * 3600.0
    cands: dict[str, list[CandidateLeg]] = {}
    srcs: dict[str, legs_mod.PlumeSources] = {}
    least_s = 0.0  # a lower bound of the route: the shortest monitoring legs of the targets kept
    for k, t in enumerate(ids):
        if max_targets is not None and len(cands) >= max_targets:
            deferred += [Dropped(u, f"beyond today's budget of {max_targets} target(s): rank {rank_of[u]}", rank_of[u])
                         for u in ids[k:]]
            break
        srcs[t] = legs_mod.plume_sources(area, t, wind, stability, area.metric_crs)
        c = legs_mod.monitoring_legs(idx, srcs[t], t, wind, component=comp, monitor_speed_m_s=monitor_m_s,
                                     max_candidates=max_candidates)
        if not c:
            dropped.append(Dropped(t, "no drivable road (connected to the depot) crosses its predicted plume "
                                      f"{legs_mod.DOWNWIND_RANGE_M[0]:.0f}–{legs_mod.DOWNWIND_RANGE_M[1]:.0f} m "
                                      f"downwind with wind from {wind.from_deg:g}°", rank_of[t]))
            continue
        least_s += passes * min(leg.drive_s for leg in c)
        if least_s > shift_s and cands:
            # even its monitoring legs alone, with those of every higher-ranked target, overrun the shift
            deferred += [Dropped(u, f"beyond today's {shift_h:g} h shift: rank {rank_of[u]}", rank_of[u])
                         for u in ids[k:] if u not in {d.target_id for d in dropped}]
            break
        cands[t] = c
    return cands, srcs


def _background_candidates(area, ent, cands, srcs, wind, stability, idx, comp, *, monitor_m_s):
    """The park of each target that can be covered, and one list of background legs per such park
    (upwind of the park's targets of the day; a park's far-flung members do not move it)."""
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
            psrc = legs_mod.concat_sources([srcs[t] for t in cands if park_of[t] == p])
            b = legs_mod.background_legs(idx, psrc, all_src, p, wind, component=comp,
                                         monitor_speed_m_s=monitor_m_s)
            if b:
                bg[p] = b
            else:
                log.warning("park %s: no road 200–1500 m upwind for a background leg", p)
    return park_of, bg


def _ranks(given, ids: list[str], ranks) -> dict[str, int]:
    """Rank of each (deduplicated) id: from ``ranks`` (parallel to ``given``) or its position."""
    if ranks is None:
        return {t: k + 1 for k, t in enumerate(ids)}
    given = [str(t).strip() for t in (given.split(",") if isinstance(given, str) else given)]
    if len(ranks) != len(given):
        raise InputError(f"`ranks` has {len(ranks)} entries for {len(given)} targets: give one rank per target")
    out: dict[str, int] = {}
    for t, r in zip(given, ranks):
        out.setdefault(t, int(r))
    return out


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


def _assemble(area, wind, stability, idx: RoadIndex, tr: Transits, depot_node: int, depot_lonlat, units, seq,
              meta_seq, *, shift_h, passes, monitor_speed_kmh, covered, dropped, names, created_utc: str) -> VanPlan:
    monitor_m_s = monitor_speed_kmh / 3.6

    path = [depot_node]
    edges: list[int] = []
    legs: list[RouteLeg] = []
    n_transit = 0
    pass_count: dict[str, int] = {}

    def add(es: list[int], kind: str, target, pass_no, park, purpose, signal):
        nonlocal n_transit
        if not es:
            return
        assert int(idx.eu[es[0]]) == path[-1]
        start = len(path) - 1
        path.extend(int(idx.ev[e]) for e in es)
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

    prev = 0
    for u, (kind, key, _p) in zip(seq, meta_seq):
        leg = units[u]
        add(tr.edges(prev, u), "transit", None, None, None, "transit", None)
        prev = u
        if kind == "monitoring":
            pass_count[key] = pass_count.get(key, 0) + 1
            purpose = (f"monitor {key} ({names.get(key, key)}) pass {pass_count[key]}: cross its plume "
                       f"{leg.downwind_m:.0f} m downwind at ≤ {monitor_speed_kmh:g} km/h")
            add(list(leg.edges), "monitoring", key, pass_count[key], None, purpose, leg.signal_ugm3_per_g_s)
        else:
            purpose = (f"background for park {key}: upwind air {-leg.downwind_m:.0f} m upwind "
                       f"at ≤ {monitor_speed_kmh:g} km/h")
            add(list(leg.edges), "background", None, None, key, purpose, None)
    add(tr.edges(prev, 0), "transit", None, None, None, "return to depot", None)

    e = np.asarray(edges, int)
    return VanPlan(
        area=str(area.name), wind=wind, stability=stability,
        depot_lonlat=(float(depot_lonlat[0]), float(depot_lonlat[1])),
        path_lonlat=np.column_stack([idx.lon[path], idx.lat[path]]),
        path_node_ids=[int(idx.node_ids[n]) for n in path],
        path_streets=[idx.name[k] or "unnamed road" for k in e.tolist()],
        legs=legs, distance_m=float(sum(leg.distance_m for leg in legs)),
        duration_s=float(sum(leg.duration_s for leg in legs)), shift_h=float(shift_h), passes=int(passes),
        monitor_speed_kmh=float(monitor_speed_kmh), targets_covered=list(covered), dropped=list(dropped),
        target_names=dict(names), created_utc=created_utc,
    )
