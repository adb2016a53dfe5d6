"""Deterministic generalised TSP: one unit per cluster, in an optimised order, from a depot and back.

This is the ordering core of the van planner (:func:`ecopatrol.missions.van.tour.plan_van`).
Its costs may be asymmetric (one-way streets; a leg is driven in one direction), and any one
unit of a cluster satisfies it (a target's candidate legs). The search is an iterated local
search whose every random choice comes from ``numpy.random.default_rng(seed)`` and whose
length is a number of iterations, never a time budget, so the same problem and seed always
give the same tour, on any machine load.

Local search (to a local optimum, each neighbourhood scanned in full and vectorised):

* **segment exchange** (Or-3opt): swap two adjacent segments of any lengths; no segment is
  reversed, so it is exact for asymmetric costs (covers Or-opt both ways);
* **asymmetric 2-opt**: reverse a segment, its inner arcs re-costed in the reverse direction
  from prefix sums;
* **reinsertion with unit switching**: move one cluster elsewhere, choosing its best unit there;
* **unit selection**: with the order fixed, the best unit of every cluster is an exact shortest
  path through a layered graph (dynamic programming).

Perturbation, one of five kicks chosen at random: ruin and recreate (remove a few clusters — a
random set, a run of consecutive ones, or mutually close ones — and reinsert each where, and
with the unit, it costs least); shuffle a run of clusters with random units; or reverse a long
stretch of the tour and choose all units anew (a leg is driven one way, so the reverse order
wants other legs: the kick that matters most on van tours). Then descend again. A worse tour
is kept as the current one with a small, seeded probability; the best one is returned.

Effort: one iteration scans the neighbourhoods a few times, O(m²·k) plus the segment exchange
(all O(m³) moves up to ``EXCHANGE_TRIPLES``, a windowed subset plus every Or-opt move above);
about 3 ms per iteration for a 60-cluster van tour on the reference machine.

The TSPLIB benchmark (``benchmarks/tsplib_gap.py``) measures :func:`~.tsp.solve_tsp`, the
fast-tsp-based core; its ``--gtsp`` flag adds this module's figures beside it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from ecopatrol.core.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_ITERATIONS = 200
EXCHANGE_TRIPLES = 200_000  # segment exchange scans every move while there are at most this many
OR_OPT_MAX = 3  # beyond that: moves within a window, and moves of segments of at most this many clusters
_EPS = 1e-7
ACCEPT_WORSE_P = 0.02  # chance of continuing from a worse tour (the best one is kept apart)


@dataclass(frozen=True)
class GtspTour:
    """A GTSP tour: ``clusters[i]`` is visited ``i``-th with unit ``units[i]``; depot first and last."""

    clusters: list[int]
    units: list[int]
    cost: float
    iterations: int
    timed_out: bool = False  # the search stopped at its time limit: the best tour found until then


# ---------------------------------------------------------------------------
# neighbourhoods. ``s`` is the depot-framed sequence (s[0] = s[m + 1] = depot, s[1..m] the
# units); ``a[t]`` the cost of arc s[t] -> s[t + 1]. Each returns (delta, move) of the best
# move; delta >= -_EPS means no move improves.
# ---------------------------------------------------------------------------

_TRIPLES: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _increasing_triples(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (i, j, k), 0 <= i < j < k < n, scanned by the segment exchange, as index arrays (cached).

    All of them while they number at most ``EXCHANGE_TRIPLES``; on longer tours those whose two
    segments span at most w positions (w as large as that budget allows), plus every move of a
    segment of at most ``OR_OPT_MAX`` clusters anywhere (Or-opt, both directions)."""
    if n not in _TRIPLES:
        r = np.arange(n)
        if n * (n - 1) * (n - 2) // 6 <= EXCHANGE_TRIPLES:
            i, j, k = np.meshgrid(r, r, r, indexing="ij")
            ok = (i < j) & (j < k)
            i, j, k = i[ok], j[ok], k[ok]
        else:
            w = 3
            while n * (w + 1) * w // 2 <= EXCHANGE_TRIPLES:
                w += 1
            d = np.arange(1, w + 1)
            i, dj, dk = np.meshgrid(r, d, d, indexing="ij")
            ok = (dj < dk) & (i + dk < n)
            parts = [(i[ok], (i + dj)[ok], (i + dk)[ok])]
            x, y = np.meshgrid(r, r, indexing="ij")
            for short in range(1, OR_OPT_MAX + 1):
                ok = x + short < y  # first segment x .. x+short-1 moved behind y - 1
                parts.append((x[ok], x[ok] + short, y[ok]))
                ok = (x < y) & (y + short < n)  # second segment y .. y+short-1 moved before x
                parts.append((x[ok], y[ok], y[ok] + short))
            key = np.unique(np.concatenate([(a * n + b) * n + c for a, b, c in parts]))
            i, j, k = key // (n * n), key // n % n, key % n
        _TRIPLES[n] = (i, j, k)
        if len(_TRIPLES) > 64:  # sizes seen by one planner are few; keep the cache small anyway
            _TRIPLES.pop(next(iter(_TRIPLES)))
    return _TRIPLES[n]


def _best_exchange(c: np.ndarray, s: np.ndarray, a: np.ndarray) -> tuple[float, tuple[int, int, int]]:
    """Swap segments s[i:j] and s[j:k], 1 <= i < j < k <= m + 1 (no reversal: exact when asymmetric;
    on long tours a subset, see :func:`_increasing_triples`).

    Arcs (i-1, i), (j-1, j), (k-1, k) are replaced by (i-1, j), (k-1, i), (j-1, k)."""
    m = len(s) - 2
    pos = np.arange(1, m + 2)
    x = c[np.ix_(s[pos - 1], s[pos])]  # x[p, q] = c[s[p-1], s[q]]
    t1 = x - a[pos - 1][:, None]  # c[s[i-1], s[j]] - a[i-1]   (also c[s[j-1], s[k]] - a[j-1])
    t2 = x.T - a[pos - 1][None, :]  # t2[i, k] = c[s[k-1], s[i]] - a[k-1]
    ii, jj, kk = _increasing_triples(m + 1)
    delta = t1[ii, jj] + t2[ii, kk] + t1[jj, kk]
    b = int(np.argmin(delta))
    return float(delta[b]), (int(ii[b]) + 1, int(jj[b]) + 1, int(kk[b]) + 1)


def _best_reversal(c: np.ndarray, s: np.ndarray, a: np.ndarray) -> tuple[float, tuple[int, int]]:
    """Reverse s[i..j], 1 <= i < j <= m; the reversed inner arcs are re-costed (asymmetric 2-opt)."""
    m = len(s) - 2
    if m < 2:
        return 0.0, (0, 0)
    b = c[s[1:], s[:-1]]  # b[t] = c[s[t+1], s[t]]
    d = np.concatenate([[0.0], np.cumsum(b - a)])  # d[j] - d[i] = reversed - forward cost of s[i..j]
    pos = np.arange(1, m + 1)
    delta = (c[np.ix_(s[pos - 1], s[pos])] + c[np.ix_(s[pos], s[pos + 1])]
             - a[pos - 1][:, None] - a[pos][None, :] + d[pos][None, :] - d[pos][:, None])
    delta[np.tril_indices(m)] = np.inf
    i, j = np.unravel_index(int(np.argmin(delta)), delta.shape)
    return float(delta[i, j]), (int(i) + 1, int(j) + 1)


def _best_reinsertion(c, s, a, members, valid) -> tuple[float, tuple[int, int, int]]:
    """Move the cluster at position p (with any of its units) into arc q (s[q] -> s[q+1]), q not in {p-1, p}.

    ``members``/``valid`` are the padded units of the clusters at positions 1..m."""
    m = len(s) - 2
    gain = a[:-1] + a[1:] - c[s[:-2], s[2:]]  # removing position p = 1..m
    u = members  # (m, K)
    to_u = c[s[:-1, None, None], u[None]]  # (m+1, m, K): c[s[q], u]
    from_u = c[u[None], s[1:, None, None]]  # (m+1, m, K): c[u, s[q+1]]
    delta = to_u + from_u - a[:, None, None] - gain[None, :, None]
    delta = np.where(valid[None, :, :], delta, np.inf)
    q = np.arange(m + 1)[:, None]
    p = np.arange(1, m + 1)[None, :]
    delta[(q == p - 1) | (q == p)] = np.inf
    qq, pp, kk = np.unravel_index(int(np.argmin(delta)), delta.shape)
    return float(delta[qq, pp, kk]), (int(pp) + 1, int(kk), int(qq))


def _best_units(c: np.ndarray, depot: int, members: np.ndarray, valid: np.ndarray) -> tuple[float, np.ndarray]:
    """Exact best unit of every cluster for a fixed cluster order (shortest path through the layers)."""
    m = members.shape[0]
    big = np.where(valid, 0.0, np.inf)
    cost = c[depot, members[0]] + big[0]
    back = np.zeros(members.shape, dtype=np.int64)
    steps = c[members[:-1, :, None], members[1:, None, :]]  # (m-1, K, K)
    for t in range(1, m):
        tot = cost[:, None] + steps[t - 1]
        back[t] = np.argmin(tot, axis=0)
        cost = tot[back[t], np.arange(tot.shape[1])] + big[t]
    cost = cost + c[members[-1], depot]
    k = int(np.argmin(cost))
    total = float(cost[k])
    pick = np.empty(m, dtype=np.int64)
    for t in range(m - 1, -1, -1):
        pick[t] = k
        k = int(back[t, k])
    return total, members[np.arange(m), pick]


# ---------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------

class _Search:
    def __init__(self, cost: np.ndarray, clusters: list[list[int]], depot: int):
        self.c = cost
        self.depot = depot
        k = max(len(cl) for cl in clusters)
        self.members = np.array([list(cl) + [cl[0]] * (k - len(cl)) for cl in clusters], dtype=np.int64)
        self.valid = np.array([[True] * len(cl) + [False] * (k - len(cl)) for cl in clusters])
        self.timed_out = False

    def frame(self, units: np.ndarray) -> np.ndarray:
        return np.concatenate([[self.depot], units, [self.depot]]).astype(np.int64)

    def length(self, units: np.ndarray) -> float:
        s = self.frame(units)
        return float(self.c[s[:-1], s[1:]].sum())

    def insert(self, order: list[int], units: list[int], cluster: int) -> None:
        """Insert ``cluster`` where (and with the unit) it adds least cost; in place."""
        c = self.c
        s = self.frame(np.asarray(units, dtype=np.int64))
        u = self.members[cluster][self.valid[cluster]]
        add = c[s[:-1]][:, u] + c[u][:, s[1:]].T - c[s[:-1], s[1:]][:, None]  # (m+1, K)
        q, k = np.unravel_index(int(np.argmin(add)), add.shape)
        order.insert(int(q), cluster)
        units.insert(int(q), int(u[k]))

    def descend(self, order: np.ndarray, units: np.ndarray,
                deadline: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
        """Local search to a local optimum of all four neighbourhoods (or until ``deadline``,
        a ``time.perf_counter()`` value: then the tour reached so far, valid but not a local optimum)."""
        c = self.c
        while True:
            if deadline is not None and time.perf_counter() > deadline:
                self.timed_out = True
                return order, units, self.length(units)
            moved = False
            s = self.frame(units)
            a = c[s[:-1], s[1:]]
            if len(units) >= 2:
                delta, (i, j, k) = _best_exchange(c, s, a)
                if delta < -_EPS:
                    perm = np.r_[0:i - 1, j - 1:k - 1, i - 1:j - 1, k - 1:len(units)]
                    order, units = order[perm], units[perm]
                    moved = True
                    s = self.frame(units)
                    a = c[s[:-1], s[1:]]
                delta, (i, j) = _best_reversal(c, s, a)
                if delta < -_EPS:
                    perm = np.arange(len(units))
                    perm[i - 1:j] = perm[i - 1:j][::-1]
                    order, units = order[perm], units[perm]
                    moved = True
                    s = self.frame(units)
                    a = c[s[:-1], s[1:]]
                m_, v_ = self.members[order], self.valid[order]
                delta, (p, kk, q) = _best_reinsertion(c, s, a, m_, v_)
                if delta < -_EPS:
                    new_unit = int(m_[p - 1, kk])
                    cl = int(order[p - 1])
                    o, u = list(order), list(units)
                    del o[p - 1], u[p - 1]
                    at = q if q < p else q - 1
                    o.insert(at, cl)
                    u.insert(at, new_unit)
                    order, units = np.asarray(o, np.int64), np.asarray(u, np.int64)
                    moved = True
            if not moved:
                total, best = _best_units(c, self.depot, self.members[order], self.valid[order])
                if total < self.length(units) - _EPS:
                    units = best
                    continue
                return order, units, self.length(units)

    def perturb(self, order: np.ndarray, units: np.ndarray, rng: np.random.Generator):
        """Ruin and recreate: remove a few clusters (random, consecutive, or mutually close) and
        reinsert them cheapest-first; or, one time in four, shuffle a run of consecutive clusters
        with random units (a kick the cheapest insertion would not make)."""
        m = len(order)
        r = int(rng.integers(2, min(m, max(4, min(10, m // 3))) + 1))
        mode = int(rng.integers(5))
        if mode == 4:
            # reverse a long stretch (or all) of the tour and choose its units anew: legs are driven
            # one way, so the reverse order usually wants other legs, which no single move finds
            i = int(rng.integers(0, m - 1))
            j = int(rng.integers(i + 2, m + 1))
            o = order.copy()
            o[i:j] = o[i:j][::-1]
            _, u = _best_units(self.c, self.depot, self.members[o], self.valid[o])
            return o, u
        if mode == 3:
            start = int(rng.integers(0, m - r + 1))
            o, u = order.copy(), units.copy()
            perm = start + rng.permutation(r)
            o[start:start + r] = order[perm]
            pick = (rng.random(r) * self.valid[o[start:start + r]].sum(axis=1)).astype(np.int64)
            u[start:start + r] = self.members[o[start:start + r], pick]
            return o, u
        if mode == 0:
            out = rng.choice(m, size=r, replace=False)
        elif mode == 1:
            start = int(rng.integers(0, m - r + 1))
            out = np.arange(start, start + r)
        else:
            su = units[int(rng.integers(m))]
            close = self.c[su, units] + self.c[units, su]
            out = np.argsort(close, kind="stable")[:r]
        keep = np.ones(m, bool)
        keep[out] = False
        o, u = list(order[keep]), list(units[keep])
        for k in rng.permutation(order[out]):
            self.insert(o, u, int(k))
        return np.asarray(o, np.int64), np.asarray(u, np.int64)


def solve_gtsp(cost, clusters: list[list[int]], *, depot: int = 0, iterations: int = DEFAULT_ITERATIONS,
               seed: int = 0, start: list[int] | None = None, time_limit_s: float | None = None) -> GtspTour:
    """A short closed tour from ``depot`` through one unit of every cluster, and back.

    Parameters
    ----------
    cost : (n, n) array of non-negative finite costs between units; ``cost[a, b]`` is the cost
        of going on to unit ``b`` after unit ``a`` (asymmetric allowed; ``cost[a, a]`` is used
        when one unit serves two clusters in a row).
    clusters : unit indices of each cluster; any one of them satisfies the cluster. A unit may
        belong to several clusters (e.g. two passes on the same leg); ``depot`` belongs to none.
    iterations : number of ruin-and-recreate iterations after the first descent (the effort;
        there is no time limit, so the result never depends on machine load).
    seed : seeds every random choice; same inputs and seed, same tour.
    start : an optional starting cluster order (e.g. the previous solution of a smaller or
        larger problem); clusters missing from it are inserted, unknown ones ignored.
    time_limit_s : a safety net, not the effort: when the search is still running after this
        many seconds it stops and returns the best tour found so far (``timed_out`` is then
        True, and the result depends on the machine's speed). None: no limit.

    Returns
    -------
    GtspTour with the visiting order of the clusters and the unit chosen for each.
    """
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise InputError(f"GTSP cost matrix must be square, got shape {c.shape}")
    if not np.isfinite(c).all() or (c < 0).any():
        raise InputError("GTSP cost matrix must be finite and non-negative")
    if iterations < 0:
        raise InputError(f"`iterations` {iterations!r}: give a whole number >= 0")
    if not clusters:
        return GtspTour([], [], 0.0, 0)
    if any(len(cl) == 0 for cl in clusters):
        raise InputError("GTSP: every cluster needs at least one unit")
    srch = _Search(c, clusters, depot)
    deadline = None if time_limit_s is None else time.perf_counter() + max(float(time_limit_s), 0.0)
    rng = np.random.default_rng(seed)
    o: list[int] = []
    u: list[int] = []
    first = [k for k in (start or []) if 0 <= k < len(clusters)]
    first = list(dict.fromkeys(first))
    rest = [k for k in range(len(clusters)) if k not in set(first)]
    for k in first:  # keep the given order, best units chosen by the descent
        o.append(k)
        u.append(int(srch.members[k, 0]))
    for k in rest:
        srch.insert(o, u, k)
    order, units, cur = srch.descend(np.asarray(o, np.int64), np.asarray(u, np.int64), deadline)
    best = (order, units, cur)
    m = len(order)
    done = 0
    for _ in range(iterations if m >= 2 else 0):
        if deadline is not None and time.perf_counter() > deadline:
            srch.timed_out = True
        if srch.timed_out:
            break
        done += 1
        o2, u2 = srch.perturb(order, units, rng)
        o2, u2, val = srch.descend(o2, u2, deadline)
        if val < cur - _EPS or rng.random() < ACCEPT_WORSE_P:
            order, units, cur = o2, u2, val
        if val < best[2] - _EPS:
            best = (o2, u2, val)
        elif cur > best[2] * 1.03:
            order, units, cur = best
    order, units, val = best
    if srch.timed_out:
        log.debug("GTSP %d clusters: stopped at the %g s time limit after %d of %d iterations, cost %.6g",
                  m, time_limit_s, done, iterations, val)
    else:
        log.debug("GTSP %d clusters: cost %.6g after %d iterations (seed %d)", m, val, iterations, seed)
    return GtspTour([int(k) for k in order], [int(x) for x in units], float(val), int(done), srch.timed_out)
