"""Benchmark: a simulated month of a brigade on the bundled Jimo area (issues 16 item 4 and 18).

One persistent world (``missions.persistent``): the hidden emitters of the first day's simulation
(``--emitters``, placed where day 1's plans can see them) stay the same all month; some emit every
day, the others only on a share of the days (``p_emit``, see ``P_EMIT``). ``--days`` survey days,
``--per-week`` of them a week (Tuesday, Thursday, …), each a whole ``ecopatrol demo`` day
(:func:`ecopatrol.pipeline.run_demo`, maps off) with its own wind and seed, recorded in one
SQLite ledger (``demo --db``). Day 1 is planned from registry risk; every later day's drone and van
targets are the top of the current multi-day ranking (the loop closes across days). At the end of
each week the brigade visits the ``--visits`` best-ranked firms not visited yet; the on-site outcome
comes from the truth (a hidden emitter → violation confirmed, and it is rectified: it stops
emitting; else clean) and goes into the ledger (``ledger inspect``).

Rankings compared, in the same run, at the end of every week (visits exclude firms already visited):

- **ecopatrol**: :func:`ecopatrol.processing.season.rank_season` over all the month's evidence
  folders so far, with the ledger (``targets EV1 EV2 … --db``);
- **baseline: the last day alone**: :func:`rank_targets` on the week's last evidence folder, no
  ledger (what a brigade has without combining days).

Reported: the hit rate of the week's visits (share of visited firms that emit) per week, week 4
against week 1; and **season-target accuracy**: intermittent emitters (``p_emit`` < 1) that were
detectable on at least one surveyed day so far (true mean plume ≥ 5 µg/m³ on ≥ 5 samples that day,
from truth.json) and not yet rectified, found in the top 10 — season ranking vs the last day alone
vs the mean of the single days. And the ledger's statistics of the month and one firm's history.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_month.py [--days 8] [--per-week 2] [--visits 3]
[--out DIR] [--json]``  (≈ 100 s a survey day on the 2-core reference machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

P_EMIT = [1.0, 0.4, 0.6, 0.4, 1.0, 0.4, 0.6, 0.4]  # the world's emitters in truth order: persistent / intermittent
MONTH_START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # a Monday
WEEKDAYS = [1, 3, 4]  # Tuesday, Thursday, Friday


def detectable(truth: dict) -> set[str]:
    return {e["enterprise_id"] for e in truth.get("emitters", [])
            if e.get("n_samples_true_plume_ge_5ugm3", 0) >= 5}


def day_plan_targets(area, ranked: pd.DataFrame, visited: set[str]) -> tuple[list[str], list[str]]:
    from ecopatrol.pipeline import NEXT_DRONE_RANGE_M, initial_targets, near_launch_sites

    ids = [e for e in ranked["enterprise_id"].astype(str) if e not in visited]
    drone = near_launch_sites(area, ids[:10], max_m=NEXT_DRONE_RANGE_M)[:3] or initial_targets(area)[0]
    return drone, ids[:10]


def top_hits(ranked: pd.DataFrame, emitters: set[str], exclude: set[str], k: int) -> tuple[list[str], int]:
    ids = [e for e in ranked["enterprise_id"].astype(str) if e not in exclude][:k]
    return ids, sum(e in emitters for e in ids)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=8, help="survey days in the month (default 8)")
    ap.add_argument("--per-week", type=int, default=2, help="survey days a week (default 2)")
    ap.add_argument("--visits", type=int, default=3, help="on-site visits at the end of each week (default 3)")
    ap.add_argument("--emitters", type=int, default=6, help="hidden emitters of the world (default 6)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the month (winds, days)")
    ap.add_argument("--out", type=Path, help="keep the month's run folders here (default: a temporary folder)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    a = ap.parse_args(argv)
    if a.per_week < 1 or a.per_week > len(WEEKDAYS) or a.days < 1:
        ap.error(f"--days ≥ 1 and 1 ≤ --per-week ≤ {len(WEEKDAYS)}")

    from ecopatrol.core.area import load_area
    from ecopatrol.core.db import open_database
    from ecopatrol.core.weather import Wind
    from ecopatrol.pipeline import run_demo
    from ecopatrol.processing.ledger.coverage import assess_run
    from ecopatrol.processing.ledger.learning import adjustment_from_db
    from ecopatrol.processing.ledger.stats import ledger_stats
    from ecopatrol.processing.ledger.store import read_checks, record_inspections
    from ecopatrol.processing.season import rank_season
    from ecopatrol.processing.targeting import rank_targets

    tmp = tempfile.TemporaryDirectory(prefix="bench_month_") if a.out is None else None
    root = Path(tmp.name) if tmp else a.out
    root.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{root / 'ledger.db'}"
    rng = np.random.default_rng(a.seed)
    area = load_area("jimo")
    t_start = time.perf_counter()

    spec: list[dict] | None = None
    world: dict[str, float] = {}  # enterprise id → p_emit
    rectified: set[str] = set()
    visited: set[str] = set()
    ev_dirs: list[Path] = []
    coverage: list[dict] = []
    detect_days: dict[str, int] = {}
    single: list[pd.DataFrame] = []
    weeks: list[dict] = []
    ranked = None
    day_log = []
    n_weeks = -(-a.days // a.per_week)
    for d in range(a.days):
        w, j = divmod(d, a.per_week)
        when = MONTH_START + timedelta(days=7 * w + WEEKDAYS[j])
        wind = Wind(float(rng.uniform(0, 360)), float(rng.uniform(2.0, 6.0)))
        run = root / f"day{d + 1:02d}"
        pt = None if ranked is None else day_plan_targets(area, ranked, visited)
        t0 = time.perf_counter()
        if spec is None:  # day 1 draws the world where its plans can see it
            run_demo(run, seed=a.seed * 100 + d, wind=wind, n_emitters=a.emitters, maps=False, db=db,
                     start_utc=when)
            truth = json.loads((run / "field" / "truth.json").read_text())
            spec = [{"source_id": e["source_id"], "enterprise_id": e["enterprise_id"], "rate_g_s": e["rate_g_s"], "p_emit": P_EMIT[i % len(P_EMIT)],
                     "species_mass_fraction": e["species_mass_fraction"]} for i, e in enumerate(truth["emitters"])]
            for s, e in zip(spec, truth["emitters"], strict=True):
                world[e["enterprise_id"]] = max(world.get(e["enterprise_id"], 0.0), s["p_emit"])
        else:
            live = [s for s in spec if s["enterprise_id"] not in rectified]
            run_demo(run, seed=a.seed * 100 + d, wind=wind, maps=False, db=db, start_utc=when,
                     emitters=live or [], plan_targets=pt)
            truth = json.loads((run / "field" / "truth.json").read_text())
        for e in detectable(truth):
            detect_days[e] = detect_days.get(e, 0) + 1
        ev_dirs.append(run / "evidence")
        coverage.append({c["enterprise_id"]: c["result"] != "not assessable" for c in assess_run(run, area).checks})
        single.append(rank_targets(run / "evidence", area))
        engine = open_database(db, migrate=False)
        try:
            ranked = rank_season(ev_dirs, area, coverage=coverage, ledger=adjustment_from_db(engine, ref=when + timedelta(hours=12)))
        finally:
            engine.dispose()
        day_log.append({"day": d + 1, "date": when.date().isoformat(), "wind": f"{wind.from_deg:.0f}°/{wind.speed_m_s:.1f} m/s",
                        "emitting": sorted(e["enterprise_id"] for e in truth["emitters"]),
                        "detectable": sorted(detectable(truth)), "seconds": round(time.perf_counter() - t0, 1)})
        print(f"day {d + 1}/{a.days} {when.date()} wind {day_log[-1]['wind']}: emitting {day_log[-1]['emitting']}, "
              f"detectable {day_log[-1]['detectable']} ({day_log[-1]['seconds']:.0f} s)", file=sys.stderr, flush=True)

        if j == a.per_week - 1 or d == a.days - 1:  # end of the week: visits, outcomes into the ledger
            emitters_now = {e for e in world if e not in rectified}
            intermittent = {e for e in emitters_now if world[e] < 1.0 and detect_days.get(e, 0) > 0}
            ids, hits = top_hits(ranked, emitters_now, visited, a.visits)
            b_ids, b_hits = top_hits(single[-1], emitters_now, visited, a.visits)
            top10 = set(ranked["enterprise_id"].astype(str).head(10))
            last10 = set(single[-1]["enterprise_id"].astype(str).head(10))
            mean_single = float(np.mean([len(intermittent & set(s["enterprise_id"].astype(str).head(10)))
                                         for s in single])) if intermittent else 0.0
            visit_day = MONTH_START + timedelta(days=7 * w + 5)
            rows = [{"enterprise_id": e, "date": visit_day.date().isoformat(),
                     "result": "violation" if e in emitters_now else "clean",
                     "note": "simulated month: outcome from the truth"} for e in ids]
            engine = open_database(db, migrate=False)
            try:
                res = record_inspections(engine, rows, recorded_by="bench_month", today=visit_day.date())
            finally:
                engine.dispose()
            assert not res.refused, res.refused
            visited |= set(ids)
            newly = {e for e in ids if e in emitters_now}
            rectified |= newly  # rectified firms stop emitting
            weeks.append({"week": w + 1, "visits": ids, "hits": hits, "hit_rate": hits / max(len(ids), 1),
                          "baseline_visits": b_ids, "baseline_hits": b_hits,
                          "baseline_hit_rate": b_hits / max(len(b_ids), 1),
                          "emitters_left_before_visits": len(emitters_now),
                          "intermittent_detectable": sorted(intermittent),
                          "intermittent_in_top10_season": len(intermittent & top10),
                          "intermittent_in_top10_last_day": len(intermittent & last10),
                          "intermittent_in_top10_single_day_mean": round(mean_single, 2)})
            print(f"week {w + 1}: visits {ids} → {hits} hit(s); last day alone would visit {b_ids} → {b_hits}",
                  file=sys.stderr, flush=True)

    engine = open_database(db, migrate=False)
    try:
        st = ledger_stats(engine, MONTH_START, MONTH_START + timedelta(days=7 * n_weeks), per_firm=False)
        ch = read_checks(engine)
    finally:
        engine.dispose()
    hist_firm = weeks[0]["visits"][0] if weeks and weeks[0]["visits"] else None
    history = ch[ch["enterprise_id"] == hist_firm].sort_values("time_utc")[["time_utc", "kind", "method", "trigger", "result"]] \
        if hist_firm else pd.DataFrame()
    ni = sum(len(w_["intermittent_detectable"]) for w_ in weeks)
    out = {"days": a.days, "per_week": a.per_week, "visits_per_week": a.visits, "weeks": weeks, "day_log": day_log,
           "world": world, "seconds": round(time.perf_counter() - t_start, 1),
           "hit_rate_week1": weeks[0]["hit_rate"], "hit_rate_last_week": weeks[-1]["hit_rate"],
           "intermittent_top10_season": (sum(w_["intermittent_in_top10_season"] for w_ in weeks), ni),
           "intermittent_top10_last_day": (sum(w_["intermittent_in_top10_last_day"] for w_ in weeks), ni),
           "ledger": {k: st[k] for k in ("off_site_checks", "on_site_checks", "off_site_share", "firms_covered",
                                          "on_site_hit_rate", "on_site_by_trigger", "runs")}}
    if a.json:
        print(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    else:
        print(f"simulated month: {a.days} survey days ({a.per_week}/week), world {world}, {out['seconds']:.0f} s")
        print("| week | visits (season + ledger) | hits | hit rate | baseline: last day alone | hits | hit rate "
              "| intermittent detectable so far | in top 10: season | last day | single-day mean |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for w_ in weeks:
            print(f"| {w_['week']} | {' '.join(w_['visits'])} | {w_['hits']} | {w_['hit_rate']:.0%} | "
                  f"{' '.join(w_['baseline_visits'])} | {w_['baseline_hits']} | {w_['baseline_hit_rate']:.0%} | "
                  f"{len(w_['intermittent_detectable'])} | {w_['intermittent_in_top10_season']} | "
                  f"{w_['intermittent_in_top10_last_day']} | {w_['intermittent_in_top10_single_day_mean']} |")
        s, n = out["intermittent_top10_season"]
        b, _ = out["intermittent_top10_last_day"]
        print(f"hit rate week {weeks[-1]['week']} {weeks[-1]['hit_rate']:.0%} vs week 1 {weeks[0]['hit_rate']:.0%}; "
              f"intermittent emitters in the top 10 (week-ends pooled): season {s}/{n}, last day alone {b}/{n}")
        print("ledger:", json.dumps(out["ledger"], ensure_ascii=False))
        if hist_firm:
            print(f"history of {hist_firm}:")
            print(history.to_string(index=False))
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
