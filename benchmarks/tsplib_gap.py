"""Gap to the proven optimum of our TSP core on TSPLIB instances, beside OR-Tools' guided local search.

Usage::

    python benchmarks/tsplib_gap.py ../shared/data/tsplib/*.tsp [--seconds S] [--no-ortools]

Prints one JSON line per instance::

    {"instance": "eil51", "n": 51, "length": 426, "optimum": 426, "gap_pct": 0.0, "seconds": 0.52,
     "solver": "ecopatrol", "ortools_length": 439, "ortools_gap_pct": 3.05, "ortools_seconds": 2.0,
     "ratio_vs_ortools": 0.970}

Distances use TSPLIB's EUC_2D rounding (nint of the Euclidean distance). Optima are read from
the ``solutions`` file beside the instances (``name : length`` lines). The baseline is OR-Tools'
routing solver (PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH) with the same time budget, measured in
the same run.

What is measured: :func:`ecopatrol.missions.van.tsp.solve_tsp`, the fast-tsp (LKH-style) core
polished by our Or-opt — the TSP core of the project, time-bounded and not bit-reproducible.
The van planner's routes use a different, deterministic solver
(:mod:`ecopatrol.missions.van.gtsp`, iteration-bounded); ``--gtsp`` adds its figures on the
same instance (as a GTSP of singleton clusters, ``--gtsp-iterations`` iterations), so both
are visible side by side.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from ecopatrol.missions.van.gtsp import solve_gtsp
from ecopatrol.missions.van.tsp import solve_tsp, tour_length


def read_tsplib(path: Path) -> tuple[str, np.ndarray]:
    """Name and node coordinates of a TSPLIB EUC_2D instance."""
    name = path.stem
    coords = []
    in_nodes = False
    for line in path.read_text().splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("NAME"):
            name = s.split(":", 1)[1].strip()
        elif s.startswith("EDGE_WEIGHT_TYPE") and "EUC_2D" not in s:
            raise SystemExit(f"{path}: only EUC_2D instances are supported ({s})")
        elif s.startswith("NODE_COORD_SECTION"):
            in_nodes = True
        elif s == "EOF":
            break
        elif in_nodes:
            parts = s.split()
            coords.append((float(parts[1]), float(parts[2])))
    return name, np.asarray(coords)


def euc_2d(coords: np.ndarray) -> np.ndarray:
    """TSPLIB EUC_2D distances: nint(sqrt(dx² + dy²))."""
    diff = coords[:, None, :] - coords[None, :, :]
    return np.floor(np.sqrt((diff**2).sum(-1)) + 0.5).astype(np.int64)


def read_optima(folder: Path) -> dict[str, int]:
    f = folder / "solutions"
    out: dict[str, int] = {}
    if f.exists():
        for line in f.read_text().splitlines():
            m = re.match(r"\s*(\S+)\s*:\s*(\d+)", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def ortools_gls(d: np.ndarray, seconds: float) -> tuple[list[int], float]:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = d.shape[0]
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    dl = d.tolist()

    def cost(i, j):
        return dl[manager.IndexToNode(i)][manager.IndexToNode(j)]

    cb = routing.RegisterTransitCallback(cost)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    sol = routing.SolveWithParameters(params)
    idx = routing.Start(0)
    tour = []
    while not routing.IsEnd(idx):
        tour.append(manager.IndexToNode(idx))
        idx = sol.Value(routing.NextVar(idx))
    return tour, tour_length(d, tour)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--seconds", type=float, default=None,
                    help="time budget per instance (default: 2 s up to 200 nodes, 10 s above)")
    ap.add_argument("--no-ortools", action="store_true", help="skip the OR-Tools baseline")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gtsp", action="store_true",
                    help="also run the van planner's deterministic solver (slow above ~300 nodes)")
    ap.add_argument("--gtsp-iterations", type=int, default=200)
    args = ap.parse_args(argv)
    for path in args.files:
        name, coords = read_tsplib(path)
        n = len(coords)
        d = euc_2d(coords)
        budget = args.seconds if args.seconds is not None else (2.0 if n <= 200 else 10.0)
        optimum = read_optima(path.parent).get(name)
        t0 = time.perf_counter()
        tour, length = solve_tsp(d, seconds=budget, seed=args.seed)
        el = time.perf_counter() - t0
        assert sorted(tour) == list(range(n)), "solver returned an invalid tour"
        row = {"instance": name, "n": n, "length": int(round(length)), "optimum": optimum,
               "gap_pct": None if optimum is None else round(100 * (length - optimum) / optimum, 3),
               "seconds": round(el, 2), "solver": "ecopatrol.missions.van.tsp.solve_tsp (fast-tsp + Or-opt)"}
        if args.gtsp:
            t0 = time.perf_counter()
            res = solve_gtsp(d, [[k] for k in range(1, n)], depot=0, iterations=args.gtsp_iterations,
                             seed=args.seed)
            gel = time.perf_counter() - t0
            row.update({"gtsp_length": int(round(res.cost)),
                        "gtsp_gap_pct": None if optimum is None else round(100 * (res.cost - optimum) / optimum, 3),
                        "gtsp_seconds": round(gel, 2), "gtsp_iterations": args.gtsp_iterations})
        if not args.no_ortools:
            t0 = time.perf_counter()
            _, olen = ortools_gls(d, budget)
            oel = time.perf_counter() - t0
            row.update({"ortools_length": int(round(olen)),
                        "ortools_gap_pct": None if optimum is None else round(100 * (olen - optimum) / optimum, 3),
                        "ortools_seconds": round(oel, 2),
                        "ratio_vs_ortools": round(length / olen, 4)})
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
