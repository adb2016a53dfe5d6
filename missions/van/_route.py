"""The van tour's route search: the generalised-TSP problem of the candidate legs, and the loop that
orders them and leaves out the lowest-priority targets until the route fits the shift.

Private plumbing of :func:`ecopatrol.missions.van.tour.plan_van` (its module docstring says how
the search works); ``strategy`` ``greedy`` and ``fast-tsp`` are the benchmark's baselines.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .gtsp import solve_gtsp
from .legs import CandidateLeg, RoadIndex
from .tsp import solve_tsp
from .turns import Transits, unit_transits

WEAK_SIGNAL_PENALTY_S = 300.0  # cost added to a leg per unit of signal below the target's best
QUICK_DROP_MARGIN = 1.05  # a quick search's route this far over the shift drops a target without the full one
FAR_OVER_SHIFT = 1.25  # a route this far over the shift leaves out several targets at once


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
# the legs as units of one problem, and the search
# ---------------------------------------------------------------------------

@dataclass
class Units:
    """Every candidate leg once as a unit (0 = the depot), the transits between them and the problem."""

    units: list[CandidateLeg | None]
    unit_of: dict[int, int]  # id(leg) → its unit
    tr: Transits
    drive: np.ndarray  # (m+1,) drive time of each unit at monitoring speed
    prob: _Problem

    def route_time(self, seq) -> float:
        """Seconds of depot → ``seq`` units → depot: transits plus the legs' drive times."""
        full = [0] + list(seq) + [0]
        return float(sum(self.tr.time_s(a, b) for a, b in zip(full[:-1], full[1:])) + self.drive[list(seq)].sum())

    def alone_s(self, legs: list[CandidateLeg]) -> float:
        """The shortest out-leg-back trip from the depot over one of ``legs``."""
        return min(self.tr.time_s(0, self.unit_of[id(leg)]) + leg.drive_s + self.tr.time_s(self.unit_of[id(leg)], 0)
                   for leg in legs)


def build_units(idx: RoadIndex, depot_node: int, leg_lists, *, uturn_scale: float) -> Units:
    """The units of ``leg_lists`` (monitoring legs, then background legs) and their cost matrix."""
    units: list[CandidateLeg | None] = [None]
    unit_of: dict[int, int] = {}
    for lst in leg_lists:
        for leg in lst:
            unit_of[id(leg)] = len(units)
            units.append(leg)
    tr = unit_transits(idx, depot_node, [u.edges[0] for u in units[1:]], [u.edges[-1] for u in units[1:]],
                       uturn_scale=uturn_scale)
    transit = tr.cost
    drive = np.array([0.0] + [u.drive_s for u in units[1:]])
    penalty = np.array([0.0] + [WEAK_SIGNAL_PENALTY_S * (1.0 - u.rel_signal) for u in units[1:]])
    prob = _Problem(transit + (drive + penalty)[None, :], drive, penalty, transit)
    prob.cost[:, 0] = transit[:, 0]
    return Units(units, unit_of, tr, drive, prob)


def clusters_for(u: Units, active: list[str], cands: dict, bg: dict, park_of: dict, passes: int):
    """One cluster of units per (target, pass) of ``active`` and per park of theirs with background
    legs; returns ``(clusters, meta)`` with ``meta`` ``(kind, target or park, pass)`` per cluster."""
    cl, meta = [], []
    for t in active:
        for p in range(1, passes + 1):
            cl.append([u.unit_of[id(leg)] for leg in cands[t]])
            meta.append(("monitoring", t, p))
    active_parks = sorted({park_of[t] for t in active if park_of.get(t)})
    for p in active_parks:
        if p in bg:
            cl.append([u.unit_of[id(leg)] for leg in bg[p]])
            meta.append(("background", p, 1))
    return cl, meta


def search_route(u: Units, active: list[str], clusters: Callable, defer: Callable[[str], None], *, shift_s: float,
                 strategy: str, iterations: int, seed: int, seconds: float, t0: float, deadline: float | None):
    """Order the clusters of ``active`` (``clusters(active)``); while the route overruns the shift,
    leave out (``defer``) the lowest-priority targets — one at a time near the shift, more when far
    over it — and search again. ``active`` is shortened in place.

    Returns ``(units in order, meta in order, timed_out)``."""
    budget = max(float(seconds), 0.2)
    quick = min(int(iterations), max(20, int(iterations) // 5))
    seq, meta_seq = [], []
    timed_out = False
    while active:
        left = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        if left is not None and left <= 0.0 and meta_seq:
            timed_out = True
            break
        cl, meta = clusters(active)
        if strategy == "greedy":
            order, seq = _greedy(u.prob, cl)
        elif strategy == "fast-tsp":
            remaining = budget - (time.perf_counter() - t0)
            order, seq = _gtsp_fast_tsp(u.prob, cl, seconds=max(0.1, min(remaining, budget / 2)), seed=seed)
        else:
            # start from the previous order without the left-out target's legs; a quick search first:
            # a route far over the shift leaves out its last targets without the full search
            pos = {key: k for k, key in enumerate(meta)}
            start = [pos[key] for key in meta_seq if key in pos]
            res = solve_gtsp(u.prob.cost, cl, depot=0, iterations=quick, seed=seed, start=start, time_limit_s=left)
            order, seq, timed_out = res.clusters, res.units, res.timed_out
            if not timed_out and quick < iterations and u.route_time(seq) <= shift_s * QUICK_DROP_MARGIN:
                left = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
                res = solve_gtsp(u.prob.cost, cl, depot=0, iterations=int(iterations), seed=seed, start=order,
                                 time_limit_s=left)
                order, seq, timed_out = res.clusters, res.units, res.timed_out
        meta_seq = [meta[k] for k in order]
        rt = u.route_time(seq)
        if rt <= shift_s or timed_out:
            break
        n_out = 1 if rt <= shift_s * FAR_OVER_SHIFT else max(1, int(len(active) * (1.0 - shift_s / rt) / 2))
        for _ in range(min(n_out, len(active))):
            defer(active.pop())
    return seq, meta_seq, timed_out


def trim_to_shift(u: Units, seq, meta_seq, active: list[str], park_of: dict, defer: Callable[[str], None], *,
                  shift_s: float):
    """No time for another search: take the lowest-priority targets (and parks no longer needed) out
    of the best route so far until it fits the shift. ``active`` is shortened in place."""
    seq, meta_seq = list(seq), list(meta_seq)
    while len(active) > 1 and u.route_time(seq) > shift_s:
        worst = active.pop()
        defer(worst)
        keep_parks = {park_of[t] for t in active}
        kept = [(s, m) for s, m in zip(seq, meta_seq)
                if not ((m[0] == "monitoring" and m[1] == worst) or (m[0] == "background" and m[1] not in keep_parks))]
        seq, meta_seq = [s for s, _ in kept], [m for _, m in kept]
    return seq, meta_seq
