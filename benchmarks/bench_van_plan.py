"""Van route planning on the bundled Jimo example: wall time, route quality and determinism.

Usage::

    python benchmarks/bench_van_plan.py [--targets 30] [--iterations N] [--seconds 3] [--wind 315/4]
                                        [--repeats 3]

Plans a route through ``--targets`` park enterprises spread evenly over the registry (every
k-th park member, deterministic) with

* ``optimised`` — the planner's default: our deterministic, iteration-bounded generalised-TSP
  search (:mod:`ecopatrol.missions.van.gtsp`), run ``--repeats`` times to show the plans are
  identical;
* ``fast-tsp`` — the named baseline, the former optimiser (fast-tsp ordering alternated with
  exact leg selection, ``--seconds`` time budget), run ``--repeats`` times in the same run:
  its plans vary because fast-tsp's RNG cannot be seeded;
* ``greedy`` — nearest next leg on the same candidate legs.

Prints one JSON line per run and a final line of ratios: optimised over the mean (and the
best) fast-tsp route, and over greedy; ``route_s`` is the tour's duration in seconds, the
quantity the optimisers minimise (besides a small weak-signal penalty). The issue's target: a
30-target route plans in under 10 s on this machine. ``u_turns`` counts turns on the spot along the
route; ``--uturns`` adds the same route planned with free U-turns (node routing, as before issue 14).

``--targets-file targets.csv`` (e.g. the 860 rows ``ecopatrol demo`` writes) measures a day's route
instead: the ``--top`` highest-ranked targets, as ``plan van --targets-file`` does by default, against
the baseline of planning the whole list (bounded by the shift and ``--time-limit``)::

    python benchmarks/bench_van_plan.py --targets-file /tmp/d14/targets.csv [--top 20] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time


def _digest(plan) -> str:
    d = plan.to_dict()
    d["created_utc"] = ""
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    from ecopatrol.core.area import load_area
    from ecopatrol.core.weather import parse_wind
    from ecopatrol.missions.van import load_road_network, plan_van
    from ecopatrol.missions.van.gtsp import DEFAULT_ITERATIONS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=int, default=30)
    ap.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    ap.add_argument("--seconds", type=float, default=3.0, help="time budget of the fast-tsp baseline")
    ap.add_argument("--wind", default="315/4")
    ap.add_argument("--shift-h", type=float, default=6.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--uturns", action="store_true", help="also plan with free U-turns (node routing)")
    ap.add_argument("--targets-file", help="a ranked targets.csv: plan a day's worth (--top) vs the whole list")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args(argv)

    area = load_area("jimo")
    wind = parse_wind(args.wind)
    if args.targets_file:
        return _day_route(area, wind, args)
    t0 = time.perf_counter()
    g = load_road_network(area.roads_path, cache_dir=False)
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_road_network(area.roads_path)
    load_road_network(area.roads_path)
    cached_s = time.perf_counter() - t0
    ents = area.enterprises
    in_park = ents[ents["park"].astype(str).str.len() > 0]
    step = max(1, len(in_park) // args.targets)  # spread over every park, deterministic
    ids = in_park["enterprise_id"].astype(str).iloc[::step].head(args.targets).tolist()
    print(json.dumps({"what": "road network", "nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
                      "parse_s": round(parse_s, 3), "cached_load_s": round(cached_s, 3)}))
    plan_van(area, ids[-2:], wind, shift_h=args.shift_h, iterations=5)  # warm caches (imports, CRS)
    runs: dict[str, list[dict]] = {"optimised": [], "fast-tsp": [], "greedy": []}
    for strategy, repeats in (("optimised", args.repeats), ("fast-tsp", args.repeats), ("greedy", 1)):
        for _ in range(repeats):
            t0 = time.perf_counter()
            plan = plan_van(area, ids, wind, iterations=args.iterations, seconds=args.seconds,
                            shift_h=args.shift_h, strategy=strategy)
            el = time.perf_counter() - t0
            row = {"strategy": strategy, "targets": len(ids), "covered": len(plan.targets_covered),
                   "dropped": len(plan.dropped), "distance_km": round(plan.distance_m / 1000, 3),
                   "route_s": round(plan.duration_s, 1), "plan_s": round(el, 2), "u_turns": plan.u_turns,
                   "plan_sha": _digest(plan)}
            runs[strategy].append(row)
            print(json.dumps(row), flush=True)
    if args.uturns:
        t0 = time.perf_counter()
        free = plan_van(area, ids, wind, iterations=args.iterations, shift_h=args.shift_h, uturn_penalty=0.0)
        print(json.dumps({"strategy": "optimised, U-turns free", "covered": len(free.targets_covered),
                          "distance_km": round(free.distance_m / 1000, 3), "route_s": round(free.duration_s, 1),
                          "plan_s": round(time.perf_counter() - t0, 2), "u_turns": free.u_turns}), flush=True)
    o = runs["optimised"][0]
    f_mean = statistics.mean(r["route_s"] for r in runs["fast-tsp"])
    f_best = min(r["route_s"] for r in runs["fast-tsp"])
    gr = runs["greedy"][0]
    print(json.dumps({
        "ratio": "optimised / baseline (route duration)",
        "vs_fast_tsp_mean": round(o["route_s"] / f_mean, 4), "vs_fast_tsp_best": round(o["route_s"] / f_best, 4),
        "vs_greedy": round(o["route_s"] / gr["route_s"], 4),
        "optimised_plan_s": max(r["plan_s"] for r in runs["optimised"]),
        "fast_tsp_plan_s": max(r["plan_s"] for r in runs["fast-tsp"]),
        "optimised_identical": len({r["plan_sha"] for r in runs["optimised"]}) == 1,
        "fast_tsp_distinct_plans": len({r["plan_sha"] for r in runs["fast-tsp"]}),
        "fast_tsp_spread_pct": round(100 * (max(r["route_s"] for r in runs["fast-tsp"]) - f_best) / f_best, 2),
        "under_10_s": max(r["plan_s"] for r in runs["optimised"]) < 10.0}))
    return 0


def _day_route(area, wind, args) -> int:
    """A day's route from a ranked list vs planning the whole list (wall time, targets, hours, memory)."""
    import resource

    from ecopatrol.core.registry import read_targets_ranked
    from ecopatrol.missions.van import load_road_network, plan_van

    ids, ranks = read_targets_ranked(args.targets_file)
    g = load_road_network(area.roads_path)
    plan_van(area, ids[:2], wind, network=g, iterations=5)  # warm caches
    rows = []
    for label, kw in ((f"top {args.top}", {"max_targets": args.top}), ("whole list (baseline)", {})):
        t0 = time.perf_counter()
        plan = plan_van(area, ids, wind, network=g, ranks=ranks, shift_h=args.shift_h, iterations=args.iterations,
                        time_limit_s=args.time_limit, **kw)
        el = time.perf_counter() - t0
        row = {"run": label, "targets": len(ids), "covered": len(plan.targets_covered),
               "deferred": len(plan.deferred), "dropped": len(plan.dropped), "route_h": round(plan.duration_s / 3600, 2),
               "distance_km": round(plan.distance_m / 1000, 1), "u_turns": plan.u_turns, "plan_s": round(el, 2),
               "time_limit_hit": any("time limit" in w for w in plan.warnings),
               "peak_rss_mb_so_far": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"ratio": "top / whole list", "plan_s": round(rows[0]["plan_s"] / rows[1]["plan_s"], 3),
                      "covered": round(rows[0]["covered"] / rows[1]["covered"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
