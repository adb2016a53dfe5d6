"""The ordering core: travelling-salesman tours on a distance matrix.

Symmetric matrices are solved with fast-tsp (MIT; an LKH-style Or-opt / Lin–Kernighan
local search on uint16 distances), asymmetric ones through the Jonker–Volgenant
transformation to a symmetric problem of twice the size. Every tour is then polished by
our own Or-opt (segment moves of 1–3 nodes, no reversal, so valid for asymmetric costs)
evaluated on the original, unrounded matrix.

Measured on TSPLIB by ``benchmarks/tsplib_gap.py``: this module (fast-tsp + Or-opt) is what
that benchmark scores. It is *not* bit-for-bit deterministic — fast-tsp's internal RNG cannot
be seeded and its search is bounded by time — so the van planner does not use it for its
routes: :func:`~ecopatrol.missions.van.tour.plan_van` orders its legs with the seeded,
iteration-bounded search of :mod:`ecopatrol.missions.van.gtsp` (this module stays as the
planner's ``strategy="fast-tsp"`` baseline).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ecopatrol.core.errors import InputError

log = logging.getLogger(__name__)

UINT16_MAX = 65535
_ATSP_COST_MAX = 20000  # scaled arc costs of an asymmetric problem
_ATSP_BIG_M = 20000  # Jonker–Volgenant offset on non-tie edges
_ATSP_FORBIDDEN = UINT16_MAX


def tour_length(dist_matrix, tour) -> float:
    """Length of the closed tour ``tour`` (returns to its first node) under ``dist_matrix``."""
    d = np.asarray(dist_matrix, dtype=float)
    t = np.asarray(tour, dtype=int)
    if t.size < 2:
        return 0.0
    return float(d[t, np.roll(t, -1)].sum())


def _validate(dist_matrix) -> np.ndarray:
    d = np.asarray(dist_matrix, dtype=float)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise InputError(f"distance matrix must be square, got shape {d.shape}")
    if not np.isfinite(d).all():
        raise InputError("distance matrix has non-finite entries: replace unreachable pairs by a large finite cost")
    if (d < 0).any():
        raise InputError("distance matrix has negative entries: distances must be >= 0")
    return d


def _scaled_uint16(d: np.ndarray, cap: int) -> np.ndarray:
    """Round ``d`` to integers no larger than ``cap`` (exactly when ``d`` already is such integers)."""
    m = float(d.max()) if d.size else 0.0
    if m <= cap and np.array_equal(d, np.rint(d)):
        return d.astype(np.int64)
    scale = cap / m if m > 0 else 1.0
    return np.rint(d * scale).astype(np.int64)


def _rotate(tour: list[int], start: int = 0) -> list[int]:
    i = tour.index(start)
    return tour[i:] + tour[:i]


def _canonical(tour: list[int], symmetric: bool) -> list[int]:
    """Rotate to start at node 0; for symmetric tours pick the direction with the smaller second node."""
    t = _rotate(list(tour), 0)
    if symmetric and len(t) > 2 and t[-1] < t[1]:
        t = [t[0]] + t[:0:-1]
    return t


def or_opt(d: np.ndarray, tour: list[int], *, max_seg: int = 3, deadline: float | None = None) -> list[int]:
    """Improve a closed tour by moving segments of 1..``max_seg`` nodes elsewhere (orientation kept).

    Node ``tour[0]`` stays first (it is the depot for routes). Vectorised over insertion points.
    """
    t = list(tour)
    n = len(t)
    if n < 4:
        return t
    improved = True
    while improved:
        improved = False
        for seg_len in range(1, max_seg + 1):
            i = 1
            while i + seg_len <= n:
                if deadline is not None and time.perf_counter() > deadline:
                    return t
                arr = np.asarray(t)
                a, s0, s1 = arr[i - 1], arr[i], arr[i + seg_len - 1]
                b = arr[(i + seg_len) % n]
                remove_gain = d[a, s0] + d[s1, b] - d[a, b]
                rest = np.concatenate([arr[:i], arr[i + seg_len:]])
                p = rest
                q = np.roll(rest, -1)
                ins_cost = d[p, s0] + d[s1, q] - d[p, q]
                delta = ins_cost - remove_gain
                # inserting back where it was is no move
                delta[i - 1] = np.inf
                k = int(np.argmin(delta))
                if delta[k] < -1e-9:
                    seg = t[i:i + seg_len]
                    rest_l = t[:i] + t[i + seg_len:]
                    t = rest_l[:k + 1] + seg + rest_l[k + 1:]
                    improved = True
                else:
                    i += 1
    return t


def _nearest_neighbour(d: np.ndarray) -> list[int]:
    n = d.shape[0]
    seen = np.zeros(n, bool)
    t = [0]
    seen[0] = True
    for _ in range(n - 1):
        row = np.where(seen, np.inf, d[t[-1]])
        j = int(np.argmin(row))
        t.append(j)
        seen[j] = True
    return t


def _solve_symmetric(d: np.ndarray, seconds: float, order: np.ndarray) -> list[int] | None:
    import fast_tsp

    di = _scaled_uint16(d[np.ix_(order, order)], UINT16_MAX)
    tour = fast_tsp.find_tour(di, duration_seconds=max(seconds, 0.01), stop_when_converged=True)
    return [int(order[k]) for k in tour]


def _solve_asymmetric(d: np.ndarray, seconds: float, order: np.ndarray) -> list[int] | None:
    """Jonker–Volgenant: node i keeps a ghost n+i tied to it at cost 0; arc i→j becomes edge ghost(i)–j."""
    import fast_tsp

    n = d.shape[0]
    c = _scaled_uint16(d[np.ix_(order, order)], _ATSP_COST_MAX)
    big = np.full((2 * n, 2 * n), _ATSP_FORBIDDEN, dtype=np.int64)
    arcs = c + _ATSP_BIG_M
    big[n:, :n] = arcs  # ghost(i) -> j  means i -> j
    big[:n, n:] = arcs.T
    idx = np.arange(n)
    big[idx, n + idx] = 0  # ties, set after the blocks whose diagonals they are
    big[n + idx, idx] = 0
    np.fill_diagonal(big, 0)
    tour2 = fast_tsp.find_tour(big, duration_seconds=max(seconds, 0.01), stop_when_converged=True)
    # read it in the direction where each real node is followed by its own ghost
    for seq in (tour2, tour2[::-1]):
        k = seq.index(0)
        seq = seq[k:] + seq[:k]
        if len(seq) > 1 and seq[1] == n:
            reals = seq[0::2]
            ghosts = seq[1::2]
            if all(g == r + n for r, g in zip(reals, ghosts)):
                return [int(order[r]) for r in reals]
    return None


def solve_tsp(dist_matrix, *, seconds: float = 1.0, seed: int = 0) -> tuple[list[int], float]:
    """An optimised closed tour through every node of ``dist_matrix``.

    Parameters
    ----------
    dist_matrix : (n, n) array-like of non-negative finite costs; ``d[i, j]`` is the cost of
        going from ``i`` to ``j``. Asymmetric matrices are allowed.
    seconds : time budget for the search (the search may stop earlier once converged).
    seed : relabels the nodes before the search, so different seeds explore differently. The
        result is still not reproducible run to run (fast-tsp's own RNG is unseeded); for a
        deterministic tour use :func:`ecopatrol.missions.van.gtsp.solve_gtsp` (singleton clusters).

    Returns
    -------
    (tour, length) : the tour starts at node 0 and returns there implicitly; ``length`` is
        measured on the original matrix.
    """
    d = _validate(dist_matrix)
    n = d.shape[0]
    if n == 0:
        return [], 0.0
    if n <= 3:
        t = list(range(n))
        if n == 3 and tour_length(d, [0, 2, 1]) < tour_length(d, t):
            t = [0, 2, 1]
        return t, tour_length(d, t)
    t0 = time.perf_counter()
    symmetric = bool(np.allclose(d, d.T, rtol=0, atol=1e-9))
    rng = np.random.default_rng(seed)
    order = np.arange(n) if seed == 0 else np.concatenate([[0], 1 + rng.permutation(n - 1)])
    budget = max(float(seconds), 0.02)
    tour = (_solve_symmetric if symmetric else _solve_asymmetric)(d, 0.9 * budget, order)
    if tour is None:
        log.warning("asymmetric transformation lost a tie; falling back to nearest neighbour + Or-opt")
        tour = _nearest_neighbour(d)
    tour = _rotate(tour, 0)
    tour = or_opt(d, tour, deadline=t0 + 1.5 * budget)
    tour = _canonical(tour, symmetric)
    length = tour_length(d, tour)
    log.debug("TSP %d nodes (%s): length %.6g in %.2f s", n, "sym" if symmetric else "asym",
              length, time.perf_counter() - t0)
    return tour, length
