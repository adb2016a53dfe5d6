"""Van route planning on the bundled Jimo example: wall time and route quality.

Usage::

    python benchmarks/bench_van_plan.py [--targets 30] [--seconds 3] [--wind 315/4]

Plans a route through ``--targets`` park enterprises spread evenly over the registry (every
k-th park member, deterministic) with our generalised-TSP optimiser and, as the named baseline measured in the same
run, with the greedy "nearest next leg" strategy on the same candidate legs. Prints one JSON
line per strategy and a final line of ratios (optimised / greedy). The issue's target: a
30-target route plans in under 10 s on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from ecopatrol.core.area import load_area
    from ecopatrol.core.weather import parse_wind
    from ecopatrol.missions.van import load_road_network, plan_van

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--wind", default="315/4")
    ap.add_argument("--shift-h", type=float, default=6.0)
    args = ap.parse_args(argv)

    area = load_area("jimo")
    wind = parse_wind(args.wind)
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
    rows = {}
    for strategy in ("optimised", "greedy"):
        t0 = time.perf_counter()
        plan = plan_van(area, ids, wind, seconds=args.seconds, shift_h=args.shift_h, strategy=strategy)
        el = time.perf_counter() - t0
        rows[strategy] = {"strategy": strategy, "targets": len(ids), "covered": len(plan.targets_covered),
                          "dropped": len(plan.dropped), "distance_km": round(plan.distance_m / 1000, 2),
                          "duration_h": round(plan.duration_s / 3600, 3), "plan_s": round(el, 2)}
        print(json.dumps(rows[strategy]), flush=True)
    o, b = rows["optimised"], rows["greedy"]
    print(json.dumps({"ratio": "optimised/greedy", "duration": round(o["duration_h"] / b["duration_h"], 3),
                      "distance": round(o["distance_km"] / b["distance_km"], 3),
                      "under_10_s": o["plan_s"] < 10.0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
