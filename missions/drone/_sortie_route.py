"""A drone sortie's route and cost: the waypoints of one battery's flight (take-off, transits routed
around the zones, the pattern blocks, return, landing), its exact cost with the wind-aware
aircraft model, and the ordering and splitting of a launch site's blocks into sorties
(OR-Tools vehicle routing). Private plumbing of :func:`.sorties.plan_drone`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecopatrol.core.weather import Wind

from .aircraft import Aircraft, cap_ground_speeds, leg_matrix, path_cost
from .airspace import Airspace
from .patterns import Block

TRANSIT_POINT_SPACING_M = 400.0


@dataclass
class _Ctx:
    aircraft: Aircraft
    wind: Wind
    stability: str
    airspace: Airspace
    transit_alt_agl_m: float
    usable_j: float


def _cost(ctx: _Ctx, x, y, z, v, hold):
    return path_cost(ctx.aircraft, x, y, z, v, hold, wind_from_deg=ctx.wind.from_deg,
                     wind_speed_m_s=ctx.wind.speed_m_s, stability=ctx.stability)


def _assemble(ctx: _Ctx, launch: pd.Series, blocks: list[Block]) -> dict:
    """Waypoint arrays of one sortie (metric), with transits routed around zones."""
    ac = ctx.aircraft
    zt = ctx.transit_alt_agl_m
    lx, ly = float(launch["x_m"]), float(launch["y_m"])
    cols = {k: [] for k in ("x", "y", "z", "v", "hold", "action", "target", "pass_id")}

    def add(x, y, z, v, hold, action, target, pid):
        for k, val in zip(cols, (x, y, z, v, hold, action, target, pid)):
            cols[k].append(np.atleast_1d(np.asarray(val, dtype=object if k in ("action", "target") else float)))

    add(lx, ly, zt, ac.cruise_speed_m_s, 0.0, "takeoff", None, -1)
    for b in blocks:
        add(b.x_m[0], b.y_m[0], zt, ac.cruise_speed_m_s, 0.0, "transit", None, -1)  # above the entry
        add(b.x_m, b.y_m, b.alt_agl_m, b.speed_m_s, b.hold_s, b.action, np.full(len(b), b.target_id, object), b.pass_id)
        add(b.x_m[-1], b.y_m[-1], zt, ac.cruise_speed_m_s, 0.0, "transit", None, -1)  # climb out
    add(lx, ly, zt, ac.cruise_speed_m_s, 0.0, "transit", None, -1)
    add(lx, ly, 0.0, ac.descent_speed_m_s, 0.0, "land", None, -1)
    arr = {k: np.concatenate(v) for k, v in cols.items()}
    arr["pass_id"] = arr["pass_id"].astype(float)
    return _route_and_densify(ctx, arr)


def _route_and_densify(ctx: _Ctx, arr: dict) -> dict:
    """Insert detours around blocking zones and terrain-following points on long transits."""
    x, y, z = arr["x"].astype(float), arr["y"].astype(float), arr["z"].astype(float)
    n = len(x)
    zmax = np.maximum(z[:-1], z[1:])
    inserts: dict[int, list[tuple[float, float, float]]] = {}
    for key_alt in np.unique(zmax):
        idx = np.nonzero(zmax == key_alt)[0]
        key = ctx.airspace.blocking(float(key_alt))
        if not key:
            continue
        _, grown, *_ = ctx.airspace._geoms(key)
        hit = ctx.airspace._segments_hit(np.column_stack([x[idx], y[idx]]), np.column_stack([x[idx + 1], y[idx + 1]]), grown)
        for i in idx[hit]:
            path = ctx.airspace.route((x[i], y[i]), (x[i + 1], y[i + 1]), float(key_alt))
            if path:
                inserts[int(i)] = [(px, py, float(key_alt)) for px, py in path]
    # transit legs: densify for terrain following
    transit_next = np.isin(arr["action"][1:], ["transit"]) & np.isin(arr["action"][:-1], ["transit", "takeoff"])
    out = {k: [] for k in arr}
    for i in range(n):
        for k in arr:
            out[k].append(arr[k][i:i + 1])
        if i == n - 1:
            continue
        pts = inserts.get(i, [])
        chain = [(x[i], y[i], z[i])] + pts + [(x[i + 1], y[i + 1], z[i + 1])]
        extra = []
        for (ax, ay, az), (bx, by, bz) in zip(chain[:-1], chain[1:]):
            if transit_next[i] and az == bz:
                d = math.hypot(bx - ax, by - ay)
                k = int(d // TRANSIT_POINT_SPACING_M)
                for j in range(1, k + 1):
                    t = j / (k + 1)
                    extra.append((ax + t * (bx - ax), ay + t * (by - ay), az))
            if (bx, by, bz) != chain[-1]:
                extra.append((bx, by, bz))
        if extra:
            e = np.asarray(extra, float)
            m = len(e)
            nxt_speed = arr["v"][i + 1] if arr["action"][i + 1] != "land" else ctx.aircraft.cruise_speed_m_s
            detour_action = "transit"
            out["x"].append(e[:, 0])
            out["y"].append(e[:, 1])
            out["z"].append(e[:, 2])
            out["v"].append(np.full(m, nxt_speed, float))
            out["hold"].append(np.zeros(m))
            out["action"].append(np.full(m, detour_action, object))
            out["target"].append(np.full(m, None, object))
            out["pass_id"].append(np.full(m, -1.0))
    res = {k: np.concatenate(v) for k, v in out.items()}
    # strong wind: no leg may need more airspeed than the aircraft has (a headwind adds to the
    # ground speed); slower legs cost more time, and the battery checks below see it
    res["v"] = cap_ground_speeds(ctx.aircraft, res["x"].astype(float), res["y"].astype(float),
                                 res["z"].astype(float), res["v"].astype(float), wind_from_deg=ctx.wind.from_deg,
                                 wind_speed_m_s=ctx.wind.speed_m_s, stability=ctx.stability)
    return res


def _sortie_cost(ctx: _Ctx, arr: dict):
    # the path starts on the ground at the launch point (take-off climb)
    x = np.concatenate([arr["x"][:1], arr["x"]]).astype(float)
    y = np.concatenate([arr["y"][:1], arr["y"]]).astype(float)
    z = np.concatenate([[0.0], arr["z"]]).astype(float)
    v = np.concatenate([arr["v"][:1], arr["v"]]).astype(float)
    h = np.concatenate([[0.0], arr["hold"]]).astype(float)
    c = _cost(ctx, x, y, z, v, h)
    dist = float(np.sum(np.hypot(np.diff(x), np.diff(y))) + np.sum(np.abs(np.diff(z))))
    return c, dist


# ---------------------------------------------------------------------------------------
# ordering and splitting
# ---------------------------------------------------------------------------------------

def _order_and_split(ctx: _Ctx, launch: pd.Series, blocks: list[Block], block_cost: list[tuple[float, float]],
                     *, swap_s: float, time_limit_s: float) -> list[list[int]]:
    """Capacitated routing over the blocks of one launch site: a list of routes (block indices)."""
    k = len(blocks)
    if k == 0:
        return []
    ac = ctx.aircraft
    zt = ctx.transit_alt_agl_m
    lx, ly = float(launch["x_m"]), float(launch["y_m"])
    entries = np.array([[b.x_m[0], b.y_m[0], zt] for b in blocks])
    exits = np.array([[b.x_m[-1], b.y_m[-1], zt] for b in blocks])
    depot = np.array([[lx, ly, zt]])
    kw = dict(speed_m_s=ac.cruise_speed_m_s, wind_from_deg=ctx.wind.from_deg, wind_speed_m_s=ctx.wind.speed_m_s,
              stability=ctx.stability)
    t_ee, e_ee = leg_matrix(ac, exits, entries, **kw)
    t_de, e_de = leg_matrix(ac, depot, entries, **kw)
    t_ed, e_ed = leg_matrix(ac, exits, depot, **kw)
    # take-off climb and landing descent, plus the in-and-out of each block's transit height
    ground = np.array([[lx, ly, 0.0]])
    t_up, e_up = leg_matrix(ac, ground, depot, **kw)
    t_dn, e_dn = leg_matrix(ac, depot, ground, **kw)
    bt = np.array([c[0] for c in block_cost])
    be = np.array([c[1] for c in block_cost])
    n = k + 1
    T = np.zeros((n, n))
    E = np.zeros((n, n))
    T[1:, 1:] = t_ee + bt[None, :]
    E[1:, 1:] = e_ee + be[None, :]
    T[0, 1:] = t_up[0, 0] + t_de[0] + bt
    E[0, 1:] = e_up[0, 0] + e_de[0] + be
    T[1:, 0] = t_ed[:, 0] + t_dn[0, 0]
    E[1:, 0] = e_ed[:, 0] + e_dn[0, 0]
    np.fill_diagonal(T, 0.0)
    np.fill_diagonal(E, 0.0)
    cap = ctx.usable_j * 0.97  # keep 3 % of the usable energy for routed detours
    if k == 1:
        return [[0]]
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t_int = np.round(T * 10).astype(np.int64)
    e_int = np.round(E / 10.0).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n, k, 0)
    routing = pywrapcp.RoutingModel(manager)
    t_list = t_int.tolist()
    e_list = e_int.tolist()

    def t_cb(i, j):
        return t_list[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def e_cb(i, j):
        return e_list[manager.IndexToNode(i)][manager.IndexToNode(j)]

    ti = routing.RegisterTransitCallback(t_cb)
    ei = routing.RegisterTransitCallback(e_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(ti)
    routing.SetFixedCostOfAllVehicles(int(swap_s * 10))
    routing.AddDimension(ei, 0, int(cap / 10.0), True, "energy")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    sol = routing.SolveWithParameters(params)
    if sol is None:
        # fall back to one block per sortie, nearest first
        order = np.argsort(T[0, 1:])
        return [[int(i)] for i in order]
    routes = []
    for v in range(k):
        idx = routing.Start(v)
        r = []
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            r.append(manager.IndexToNode(idx) - 1)
            idx = sol.Value(routing.NextVar(idx))
        if r:
            routes.append(r)
    # deterministic order of sorties: by first-block id order
    return routes


# ---------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------

def _fit(ctx: _Ctx, launch, group: list[Block]) -> list[list[Block]]:
    """Split an ordered group into consecutive chunks whose routed sortie fits the battery."""
    out, cur = [], []
    for b in group:
        trial = cur + [b]
        c, _ = _sortie_cost(ctx, _assemble(ctx, launch, trial))
        if c.total_energy_j <= ctx.usable_j or not cur:
            cur = trial
        else:
            out.append(cur)
            cur = [b]
    if cur:
        out.append(cur)
    return out
