"""Routing between legs on the graph of road edges, with a cost on U-turns.

A van that must cross a plume twice, or reach the start of a leg behind it, can always turn on
the spot on a node-based shortest path: drive to the end of the street, turn round, drive back.
On an arterial that is illegal at most junctions (and dangerous where it is not); in a block of
small streets a loop round the block is what a driver does. So the transits between legs are
shortest paths on the *edge* graph: a state is "has just driven edge e", a move is driving the
next edge, and a move onto the reverse of the edge just driven (a U-turn) costs extra time:
:data:`UTURN_ARTERIAL_S` on trunk, primary and secondary roads (and their links, and
motorways), :data:`UTURN_OTHER_S` elsewhere. Where the network leaves no other way (a dead end,
the only bridge) the U-turn is still taken; its cost only makes any loop that exists cheaper.

The penalty is a routing cost, not time: the route's duration counts the driving time only.

Coordinates: node and edge indices of a :class:`~ecopatrol.missions.van.legs.RoadIndex`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ecopatrol.core.errors import PlanningError

from .legs import RoadIndex

UTURN_ARTERIAL_S = 600.0
UTURN_OTHER_S = 90.0
ARTERIAL_CLASSES = frozenset({"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
                              "secondary", "secondary_link"})
_TINY_S = 1e-6  # scipy's graphs drop explicit zero weights: "free" arcs cost this


def uturn_penalty_s(idx: RoadIndex, *, scale: float = 1.0) -> np.ndarray:
    """Per edge: the routing cost of turning round onto its reverse right after driving it."""
    hw = idx.highway if idx.highway is not None else np.full(len(idx.eu), "", dtype=object)
    arterial = np.isin(hw.astype(str), list(ARTERIAL_CLASSES))
    return np.where(arterial, UTURN_ARTERIAL_S, UTURN_OTHER_S) * float(scale)


def count_uturns(idx: RoadIndex, edges) -> int:
    """U-turns in an edge sequence: an edge followed by its reverse."""
    e = np.asarray(edges, dtype=np.int64)
    if len(e) < 2:
        return 0
    a, b = e[:-1], e[1:]
    return int(((idx.eu[b] == idx.ev[a]) & (idx.ev[b] == idx.eu[a])).sum())


def count_node_uturns(node_ids) -> int:
    """U-turns in a node path (``a, b, a``): what a driver sees, whichever edges were used."""
    n = np.asarray(node_ids)
    if len(n) < 3:
        return 0
    return int((n[2:] == n[:-2]).sum())


@dataclass
class Transits:
    """Transit costs and paths between units (0 = depot, then legs), from one multi-source search.

    ``cost[i, j]``: routing cost (s, driving time plus U-turn penalties) from the end of unit i to
    the start of unit j, the turn onto j's first edge included; ``cost[i, 0]``: back to the depot.
    """

    cost: np.ndarray
    idx: RoadIndex
    _pred: np.ndarray
    _row: np.ndarray  # unit -> row of the search it starts from
    _first: np.ndarray  # unit -> its first edge (-1 for the depot)
    _sink: int

    def edges(self, i: int, j: int) -> list[int]:
        """Road edges driven from the end of unit i to the start of unit j (j = 0: the depot)."""
        if i == 0 and j == 0:
            return []
        row = self._row[i]
        target = self._sink if j == 0 else int(self._first[j])
        pr = self._pred[row]
        out = []
        cur = target
        n_edges = len(self.idx.eu)
        while True:
            p = int(pr[cur])
            if p < 0:
                break
            if p >= n_edges:  # a virtual start node
                break
            out.append(p)
            cur = p
        if int(pr[target]) < 0 and target != self._sink:
            raise PlanningError("internal: no road path between two legs")
        path = out[::-1]
        return path

    def time_s(self, i: int, j: int) -> float:
        """Driving time (s) of that transit, without penalties."""
        e = self.edges(i, j)
        return float(self.idx.travel_s[np.asarray(e, dtype=np.int64)].sum()) if e else 0.0


def _transitions(idx: RoadIndex, penalty: np.ndarray):
    """Arcs of the edge graph: (from edge, to edge, cost = travel of the next edge + U-turn penalty)."""
    n = idx.n_nodes
    eu, ev = idx.eu, idx.ev
    out_sorted = np.argsort(eu, kind="stable")
    deg = np.bincount(eu, minlength=n)
    ptr = np.concatenate([[0], np.cumsum(deg)])
    rep = deg[ev]
    src = np.repeat(np.arange(len(eu)), rep)
    offs = np.arange(len(src)) - np.repeat(np.cumsum(rep) - rep, rep)
    dst = out_sorted[ptr[ev[src]] + offs]
    uturn = ev[dst] == eu[src]
    w = np.maximum(idx.travel_s[dst], _TINY_S) + np.where(uturn, penalty[src], 0.0)
    return src, dst, w


def unit_transits(idx: RoadIndex, depot_node: int, first_edges, last_edges, *, uturn_scale: float = 1.0) -> Transits:
    """:class:`Transits` between the depot and units whose legs run ``first_edges[k]`` … ``last_edges[k]``
    (unit k + 1). ``uturn_scale`` = 0 routes as a node graph would (U-turns free)."""
    first = np.asarray(first_edges, dtype=np.int64)
    last = np.asarray(last_edges, dtype=np.int64)
    n_e = len(idx.eu)
    pen = uturn_penalty_s(idx, scale=uturn_scale)
    src, dst, w = _transitions(idx, pen)
    uniq_last, inv = np.unique(last, return_inverse=True)
    k = len(uniq_last)
    # a virtual copy of each distinct last edge (so a leg driven twice loops back to its own start)
    v_of = {int(e): n_e + i for i, e in enumerate(uniq_last)}
    sel = np.isin(src, uniq_last)
    v_src = np.array([v_of[int(e)] for e in src[sel]], dtype=np.int64)
    depot_src, sink = n_e + k, n_e + k + 1
    out_d = np.flatnonzero(idx.eu == depot_node)
    in_d = np.flatnonzero(idx.ev == depot_node)
    rows = np.concatenate([src, v_src, np.full(len(out_d), depot_src), in_d])
    cols = np.concatenate([dst, dst[sel], out_d, np.full(len(in_d), sink)])
    vals = np.concatenate([w, w[sel], np.maximum(idx.travel_s[out_d], _TINY_S), np.full(len(in_d), _TINY_S)])
    n = n_e + k + 2
    g = csr_matrix((vals, (rows, cols)), shape=(n, n))
    starts = np.concatenate([n_e + np.arange(k), [depot_src]])
    dist, pred = dijkstra(g, directed=True, indices=starts, return_predecessors=True)
    m = len(first)
    row = np.concatenate([[k], inv]).astype(np.int64)  # unit 0 (depot) starts from the depot's row
    first_all = np.concatenate([[-1], first])
    cost = np.zeros((m + 1, m + 1))
    travel_first = np.maximum(idx.travel_s[first], _TINY_S)
    cost[:, 1:] = dist[row][:, first] - travel_first[None, :]
    cost[:, 0] = dist[row, sink]
    cost[0, 0] = 0.0
    if not np.isfinite(cost).all():
        raise PlanningError("internal: legs outside the depot's strongly connected road network")
    return Transits(np.maximum(cost, 0.0), idx, pred.astype(np.int64), row, first_all, sink)
