"""Benchmark: the drone planner's hard limits over ≥ 10 000 random scenarios.

Every scenario draws an area (toy area: 3–8 enterprises spread 400–1 200 m, two launch sites,
ground sloping 0–3 %), 0–3 zones (no-fly, or restricted with a 30–60 m ceiling), a wind
(0.5–10 m/s from anywhere), 1–3 targets, an aircraft, a pattern, a reserve (0.2–0.5) and a height
cap (60–120 m). One scenario in four is *built feasible*: one target within 1 000 m of a launch
site, no zone within 300 m of the target, the launch site or the straight line between them,
an M350/M300, hover or curtain, wind ≤ 6 m/s, reserve ≤ 0.35, cap ≥ 80 m — a crew could fly
it, so the planner must plan it.

Every plan is checked twice, independently of the planner's bookkeeping:

* the independent validator (``validate_plan``) on the plan's written form, and the exports'
  validator (``validate_exports``) on the QGroundControl .plan each sortie exports (home, mission
  items, rally points, geofence);
* this script's own geometry and physics (with tests/plan_checks.py, which calls no planner
  code): no leg (sampled every 10 m) through a no-fly zone, nor through a restricted zone above
  its ceiling; the true height above the ground at every waypoint, every
  10 m along every leg and at every rally point within [10 m, cap], home outside no-fly zones, rally
  points outside no-fly zones and under restricted ceilings (take-off/landing
  excepted); on every leg the airspeed the written ground speed needs in the wind at the leg's
  highest point (the aircraft's maximum is the limit); the battery recomputed with its own
  transcription of the energy model within 1 − reserve; every waypoint within the pilot's range.

Refusals are counted by reason (wind over the aircraft's limit, no clear path around the zones,
target out of range, pattern over the battery …).

Baseline (the bar a planner must clear): a planner that refuses every scenario has 0 violations
too, so the figure that matters beside "0 violations" is the share of *feasible* scenarios
planned (100 % required; the refuse-everything planner scores 0 %).

    .venv/bin/python benchmarks/bench_safety.py [--n 10000] [--jobs 2] [--seed 0] [--out F.jsonl [--resume]]

``--out`` appends each scenario's result to a JSON-lines file as it comes; ``--resume`` runs only
the scenarios not yet in it (a long run cut short is continued, and the report covers them all).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections import Counter
from datetime import datetime, UTC
from pathlib import Path

import numpy as np

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
AIRCRAFT = ["m350", "m300", "m30", "m3e", "mavlink"]
PATTERNS = ["curtain", "orbit", "profile", "survey", "hover"]


def scenario(i: int, seed: int) -> dict:
    rng = np.random.default_rng([seed, i])
    feasible = i % 4 == 0
    spread = float(rng.uniform(400, 1200))
    n_ent = int(rng.integers(3, 9))
    sc = {"i": i, "feasible": feasible, "area_seed": int(rng.integers(0, 10**6)), "spread": spread, "n_ent": n_ent,
          "slope": float(rng.uniform(0.0, 0.03)), "from_deg": float(rng.uniform(0, 360))}
    if feasible:
        sc.update(speed=float(rng.uniform(0.5, 6.0)), aircraft=str(rng.choice(["m350", "m300"])),
                  pattern=str(rng.choice(["hover", "curtain"])), reserve=float(rng.uniform(0.2, 0.35)),
                  alt_max=float(rng.uniform(80, 120)), n_targets=1)
    else:
        sc.update(speed=float(rng.uniform(0.5, 10.0)), aircraft=str(rng.choice(AIRCRAFT)),
                  pattern=str(rng.choice(PATTERNS)), reserve=float(rng.uniform(0.2, 0.5)),
                  alt_max=float(rng.uniform(60, 120)), n_targets=int(rng.integers(1, 4)))
    sc["zones"] = [(float(rng.uniform(-1.3, 1.3) * spread), float(rng.uniform(-1.3, 1.3) * spread),
                    float(rng.uniform(40, 300)), float(rng.uniform(40, 300)), float(rng.uniform(0, 90)),
                    float(rng.choice([math.nan, math.nan, 30.0, 60.0]))) for _ in range(int(rng.integers(0, 4)))]
    sc["pick"] = [int(v) for v in rng.permutation(n_ent)]
    return sc


def build(sc):
    """(area, targets) of a scenario; a feasible one keeps only zones clear of its corridor."""
    import shapely
    from shapely.geometry import LineString, Polygon

    from ecopatrol.core.crs import lonlat_to_xy

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the toy area is a test helper
    from drone_support import toy_area

    base = toy_area(n_enterprises=sc["n_ent"], spread_m=sc["spread"], seed=sc["area_seed"])
    crs = base.metric_crs
    cx, cy = lonlat_to_xy(np.array([base.centre[0]]), np.array([base.centre[1]]), crs)
    ex, ey = lonlat_to_xy(base.enterprises.geometry.x.to_numpy(), base.enterprises.geometry.y.to_numpy(), crs)
    ex, ey = ex - cx[0], ey - cy[0]
    lx, ly = lonlat_to_xy(base.launch_sites.geometry.x.to_numpy(), base.launch_sites.geometry.y.to_numpy(), crs)
    lx, ly = lx - cx[0], ly - cy[0]
    ids = list(base.enterprises["enterprise_id"])
    if sc["feasible"]:
        # a target within 1 000 m of a launch site (move the site next to it when none is)
        t = sc["pick"][0]
        d = np.hypot(lx - ex[t], ly - ey[t])
        j = int(np.argmin(d))
        launch = [(float(a), float(b)) for a, b in zip(lx, ly)]
        if d[j] > 1000.0:
            ang = math.atan2(ly[j] - ey[t], lx[j] - ex[t])
            launch[j] = (float(ex[t] + 800 * math.cos(ang)), float(ey[t] + 800 * math.sin(ang)))
        corridor = LineString([launch[j], (ex[t], ey[t])]).buffer(300.0)
        for a, b in launch:
            corridor = corridor.union(shapely.Point(a, b).buffer(300.0))
        targets = [ids[t]]
    else:
        launch = None
        targets = [ids[k] for k in sc["pick"][: sc["n_targets"]]]
        corridor = None
    zones = []
    for k, (x, y, hx, hy, rot, ceiling) in enumerate(sc["zones"]):
        poly = shapely.affinity.rotate(Polygon([(x - hx, y - hy), (x + hx, y - hy), (x + hx, y + hy),
                                                (x - hx, y + hy)]), rot, origin=(x, y))
        if corridor is not None and poly.intersects(corridor):
            continue
        z = {"xy": list(poly.exterior.coords)[:-1], "zone_id": f"Z{k}", "name": f"zone {k}"}
        if not math.isnan(ceiling):
            z.update(kind="restricted", ceiling_m=ceiling)
        zones.append(z)
    area = toy_area(n_enterprises=sc["n_ent"], spread_m=sc["spread"], seed=sc["area_seed"], nofly=zones,
                    launch_xy_m=launch)
    area.ground_slope = sc["slope"]
    return area, targets


def own_checks(plan, area, sc) -> list[str]:
    """This script's geometry, independent of the planner and of the validator."""
    import shapely

    from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat
    from ecopatrol.missions.drone import get_aircraft
    from ecopatrol.missions.drone.exports import _zones, rally_points

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the independent checks are a test helper
    from plan_checks import sortie_problems

    bad = []
    cap = sc["alt_max"]
    crs = area.metric_crs
    zones = area.nofly.to_crs(crs) if len(area.nofly) else area.nofly
    ac = get_aircraft(sc["aircraft"]).with_payload(plan.aircraft.payload_kg)
    d = plan.to_dict()
    launches = sorted({(s["launch"]["lat"], s["launch"]["lon"], s["launch"]["ground_amsl_m"]) for s in d["sorties"]})
    for s, sd in zip(plan.sorties, d["sorties"]):
        w = s.waypoints
        lon, lat = w["lon"].to_numpy(), w["lat"].to_numpy()
        x, y = lonlat_to_xy(lon, lat, crs)
        amsl = w["alt_amsl_m"].to_numpy()
        act = w["action"].to_numpy()
        true = amsl - area.elevation_m(lon, lat)
        inner = ~np.isin(act, ["takeoff", "land"])
        if (true > cap + 0.5).any() or (true[inner] < 10.0 - 0.5).any():
            bad.append(f"{s.sortie_id}: waypoint height {true.min():.1f}–{true.max():.1f} m outside [10, {cap:.0f}]")
        # along the legs, every 10 m (legs touching take-off and landing are vertical there)
        for k in range(1, len(x) - 2):
            n = max(2, int(math.hypot(x[k + 1] - x[k], y[k + 1] - y[k]) / 10.0) + 1)
            t = np.linspace(0, 1, n)
            px, py, pz = x[k] + t * (x[k + 1] - x[k]), y[k] + t * (y[k + 1] - y[k]), amsl[k] + t * (amsl[k + 1] - amsl[k])
            plon, plat = xy_to_lonlat(px, py, crs)
            ph = pz - area.elevation_m(plon, plat)
            if ph.max() > cap + 0.5 or ph.min() < 5.0:
                bad.append(f"{s.sortie_id} leg {k}: {ph.min():.1f}–{ph.max():.1f} m above ground along the leg")
        lines = shapely.linestrings(np.stack([np.column_stack([x[:-1], y[:-1]]), np.column_stack([x[1:], y[1:]])], 1))
        top = np.maximum(true[:-1], true[1:])  # the true heights above the DEM
        for geom, ceiling in (zip(zones.geometry, zones["ceiling_m"]) if len(zones) else []):
            hit = shapely.intersects(lines, geom)
            if math.isnan(ceiling) and hit.any():
                bad.append(f"{s.sortie_id}: a leg enters a no-fly zone")
            elif not math.isnan(ceiling) and (hit & (top > ceiling + 1e-6)).any():
                bad.append(f"{s.sortie_id}: a leg crosses a restricted zone above its {ceiling:.0f} m ceiling")
        # home (the launch site) outside every zone; rally points in height and outside no-fly zones
        hx, hy = lonlat_to_xy(np.array([sd["launch"]["lon"]]), np.array([sd["launch"]["lat"]]), crs)
        for geom, ceiling in (zip(zones.geometry, zones["ceiling_m"]) if len(zones) else []):
            if math.isnan(ceiling) and shapely.contains_xy(geom, hx[0], hy[0]):
                bad.append(f"{s.sortie_id}: home lies in a no-fly zone")
        rally, _ = rally_points(sd, launches, cap_m=cap, max_range_m=plan.max_range_m, zones=_zones(area))
        home_g = float(sd["launch"]["ground_amsl_m"])
        for rlat, rlon, rel in rally:
            h = rel + home_g - float(area.elevation_m(np.array([rlon]), np.array([rlat]))[0])
            if not 10.0 - 0.5 <= h <= cap + 0.5:
                bad.append(f"{s.sortie_id}: rally point {h:.1f} m above its ground, outside [10, {cap:.0f}]")
            rx, ry = lonlat_to_xy(np.array([rlon]), np.array([rlat]), crs)
            for geom, ceiling in (zip(zones.geometry, zones["ceiling_m"]) if len(zones) else []):
                if (math.isnan(ceiling) or h > ceiling) and shapely.contains_xy(geom, rx[0], ry[0]):
                    bad.append(f"{s.sortie_id}: rally point in a zone")
        # airspeed in the wind at each leg's height, battery, range: recomputed from the written
        # sortie with tests/plan_checks.py (its own wind profile and energy model, no planner code)
        bad += sortie_problems(sd, area, ac, reserve=sc["reserve"], max_range_m=plan.max_range_m,
                               from_deg=sc["from_deg"], wind_m_s=sc["speed"], stability=d["wind"]["stability"])
    return bad


REFUSALS = [  # (what the refusal says, a short name for the breakdown), first match wins
    ("m/s limit of the", "wind over the aircraft's limit at the height cap"),
    ("no clear path", "no clear path around the zones"),
    ("lies inside", "launch site inside a zone"),
    ("from the nearest launch site", "target beyond the pilot's range"),
    ("of a battery", "pattern alone over the usable battery"),
    ("every point of its pattern", "every point of the pattern in a no-fly zone"),
]


def refusal_kind(message: str) -> str:
    return next((name for key, name in REFUSALS if key in message), "other")


def run_one(args) -> dict:
    i, seed = args
    from ecopatrol.core.errors import PlanningError
    from ecopatrol.core.weather import Wind
    from ecopatrol.missions.drone import plan_drone, validate_plan
    from ecopatrol.missions.drone.exports import _zones, qgc_plan, rally_points
    from ecopatrol.missions.drone.validate import validate_exports

    sc = scenario(i, seed)
    area, targets = build(sc)
    head = {"i": i, "seed": seed, "feasible": sc["feasible"]}
    t0 = time.perf_counter()
    try:
        plan = plan_drone(area, targets, Wind(sc["from_deg"], sc["speed"]), pattern=sc["pattern"],
                          aircraft=sc["aircraft"], reserve=sc["reserve"], alt_max_agl_m=sc["alt_max"],
                          created_utc=T0, time_limit_s=0.5)
    except PlanningError as exc:
        return {**head, "planned": False, "why": str(exc)[:120],
                "kind": refusal_kind(str(exc)), "violations": [],
                "s": time.perf_counter() - t0}
    d = plan.to_dict()
    planned_targets = {t for s in d["sorties"] for t in s["targets"]}
    viol = [f"validator: {p}" for p in validate_plan(d, area).errors]
    fence = [z for z in _zones(area) if z["ceiling_m"] is None]
    launches = sorted({(s["launch"]["lat"], s["launch"]["lon"], s["launch"]["ground_amsl_m"]) for s in d["sorties"]})
    exports = {}
    for s in d["sorties"]:
        rally, _ = rally_points(s, launches, cap_m=sc["alt_max"], max_range_m=plan.max_range_m, zones=_zones(area))
        exports[s["sortie_id"]] = {"qgc": qgc_plan(s, d, fence, rally),
                                   "fence_zones": sorted({z["zone_id"] for z in fence})}
    viol += [f"exports validator: {p}" for p in validate_exports(d, area, exports).errors]
    viol += [f"own check: {m}" for m in own_checks(plan, area, sc)]
    return {**head, "planned": bool(d["sorties"]),
            "all_targets": planned_targets == set(targets), "violations": viol, "s": time.perf_counter() - t0}


def run_all(work, jobs: int, out_path: Path | None, res: list, t0: float) -> None:
    """Run ``work`` on ``jobs`` processes, appending each result to ``res`` (and, with ``out_path``,
    as one JSON line to that file as it comes, so a long run can be followed, cut and resumed)."""
    out = open(out_path, "a", encoding="utf-8") if out_path else None
    n0 = len(res)
    try:
        if jobs > 1:
            import multiprocessing as mp

            pool = mp.get_context("fork").Pool(jobs, initializer=logging.disable, initargs=(logging.WARNING,))
            it = pool.imap_unordered(run_one, work, chunksize=25)
        else:
            pool, it = None, map(run_one, work)
        for r in it:
            res.append(r)
            if out:
                out.write(json.dumps(r) + "\n")
                out.flush()
            if (len(res) - n0) % 500 == 0:  # running totals on stderr
                nv = sum(bool(x["violations"]) for x in res)
                nf = [x for x in res if x["feasible"]]
                print(f"  {len(res)} scenarios, {time.perf_counter() - t0:.0f} s: {nv} with violations, "
                      f"feasible planned {sum(x['planned'] for x in nf)}/{len(nf)}", file=sys.stderr, flush=True)
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        if out:
            out.close()


def report(res: list, *, jobs: int, seed: int, wall: float, n_run: int) -> int:
    """Print the figures; 1 when a plan broke a limit or a feasible scenario was refused."""
    feas = [r for r in res if r["feasible"]]
    planned = [r for r in res if r["planned"]]
    viol = [r for r in res if r["violations"]]
    n_feas_planned = sum(r["planned"] for r in feas)
    n_feas_full = sum(r["planned"] and r.get("all_targets") for r in feas)
    print(f"scenarios {len(res)} ({len(feas)} built feasible), jobs {jobs}, seed {seed}")
    print(f"planned {len(planned)} ({len(planned) / max(len(res), 1):.1%}); refused {len(res) - len(planned)}")
    print(f"violations: {sum(len(r['violations']) for r in res)}, in {len(viol)} of the {len(planned)} plans checked "
          "(validator + exports validator + own geometric checks)")
    print(f"feasible scenarios planned: {n_feas_planned}/{len(feas)} ({n_feas_planned / max(len(feas), 1):.1%}); "
          f"with their target: {n_feas_full}/{len(feas)} — baseline 'refuse everything': 0/{len(feas)} (0.0%), "
          "0 violations")
    if n_run:
        print(f"time: {wall:.0f} s wall for the {n_run} scenarios run now ({wall / n_run * 1000:.0f} ms per scenario "
              f"over {jobs} process(es); {sum(r['s'] for r in res) / max(len(res), 1) * 1000:.0f} ms of planning + "
              "checking each)")
    kinds = Counter(refusal_kind(r["why"]) for r in res if not r["planned"] and "why" in r)
    for kind, n in kinds.most_common():
        print(f"  refused: {n:5d} ({n / max(len(res) - len(planned), 1):.1%}) {kind}")
    for r in [r for r in res if "why" in r and refusal_kind(r["why"]) == "other"][:3]:
        print(f"  other refusal, scenario {r['i']}: {r['why']}")
    for r in viol[:10]:
        print(f"  scenario {r['i']}: {r['violations'][:3]}")
    for r in [r for r in feas if not r["planned"]][:10]:
        print(f"  feasible scenario {r['i']} refused: {r.get('why')}")
    return 1 if viol or n_feas_planned < len(feas) else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="append every scenario's result to this JSON-lines file as it comes")
    ap.add_argument("--resume", action="store_true",
                    help="with --out: keep the results already in the file (same seed) and run only the rest")
    a = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    res: list = []
    if a.resume and a.out and a.out.exists():
        with open(a.out, encoding="utf-8") as f:
            done = {r["i"]: r for r in map(json.loads, filter(str.strip, f)) if r.get("seed") == a.seed}
        res = [r for i, r in sorted(done.items()) if i < a.n]
        print(f"resuming: {len(res)} scenarios already in {a.out}", file=sys.stderr)
    have = {r["i"] for r in res}
    work = [(i, a.seed) for i in range(a.n) if i not in have]
    t0 = time.perf_counter()
    run_all(work, a.jobs, a.out, res, t0)
    return report(res, jobs=a.jobs, seed=a.seed, wall=time.perf_counter() - t0, n_run=len(work))


if __name__ == "__main__":
    sys.exit(main())
