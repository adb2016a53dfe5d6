"""Benchmark: simulated months of a brigade on the bundled Jimo area — does learning from on-site outcomes help?

Each month (``--seeds``, one world each; :class:`missions.month.MonthWorld`): day 1's hidden emitters
(``--emitters``, the simulator's draw where day 1's plans can see them) with duty cycles (the share of
days each emits), **new emitters arriving** (Poisson ``--arrivals`` a week from week 2, drawn by the
registry prior's sector weights over all firms with a stack), and **rectification** (a firm found
emitting on site stops). ``--weeks`` weeks, one survey day a week (Tuesday), each a whole ``ecopatrol
demo`` day (:func:`ecopatrol.pipeline.run_demo`, maps and tomorrow's plans off) with its own wind
and seed, its off-site checks recorded in the arm's SQLite ledger. Day 1 is planned from registry
risk; later days' targets come from the current multi-day ranking
(:func:`ecopatrol.processing.season.rank_season`) the way ``plan drone|van --targets-file --top N``
take a targets file (:func:`ecopatrol.pipeline.day_targets_from_ranking`, :func:`~ecopatrol.pipeline.plan_day_drone`):
the whole ranking without the firms visited recently and (feedback arm) those answered by a confirmed
violation with no evidence since; the drone flies the best-ranked 3 it can reach from a launch site,
however far down, and only when none can be flown the registry-prior targets not answered (counted and
logged as a fallback); the van covers the best-ranked 10 it can. Each day's online-monitoring alarms
(the run's ``alarms.csv``) count in the multi-day ranking, taken together over the month (an alarm
counts once, stronger on a survey day that saw the firm's plume: ``processing.season``)
(``--no-day-alarms``: without them, as the month was ranked before). On Saturday the brigade visits the ``--visits``
best-ranked firms not visited in the last ``--revisit-days`` days; the outcome comes from the
truth (a live emitter → violation confirmed, and it is fixed; else clean) and goes into the ledger.

``--world-mode stationary`` (:meth:`missions.month.MonthWorld.stationary`): instead, ``--emitters``
(default 8) emitters drawn by the registry prior's sector weights (not where day 1's plans see
them), each one fixed on site replaced the next Monday by one drawn the same way, so the same
number is live at every survey day and visit; ``--arrivals`` is unused. The default ``seen`` is
the world described above (the earlier tables).

Two arms, same seeds, same worlds, same survey-day seeds and winds (ablation):

- **feedback**: the ranking reads the ledger (``targets EV1 EV2 … --db``: confirmed violations
  raise the prior and answer the days before the visit, clean follow-ups of suspicions lower the
  firm's survey evidence);
- **no feedback**: the same ranking without the ledger (the visits still happen, the world still
  changes, the planners still skip recently visited firms — only the outcomes are not read).

A survey day whose plans and live emitters are the same in both arms is simulated once and
recorded in both ledgers (the arms only diverge once their visits differ).

Reported per week: hit rate of the visits (violations confirmed ÷ visits), mean and spread over the
months, week 1 against the last week, for both arms; emitters live at the visit; the ledger's
statistics of one month. ``--json`` prints everything as one document.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_month.py --seeds 0 1 2 3 4 [--weeks 4] [--visits 3]
[--arrivals 1.5] [--out DIR] [--json]`` (≈ 2–4 min a survey day on the shared 2-core machine).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

MONTH_START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # a Monday
SURVEY_WEEKDAY, VISIT_WEEKDAY = 1, 5  # Tuesday, Saturday
DRONE_TOP, VAN_TOP = 3, 10  # the day's budgets in targets (`plan drone --top 3`, `plan van --top 10`)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Arm:
    """One arm of one month: its ledger, its copy of the world, what it has seen and visited."""

    name: str
    feedback: bool
    db: str
    world: object = None
    runs: list[Path] = field(default_factory=list)
    visited: dict[str, date] = field(default_factory=dict)  # firm → last visit day
    ranked: object = None
    ledger: object = None  # the feedback arm's LedgerAdjustment at its last ranking
    weeks: list[dict] = field(default_factory=list)

    def recent(self, day: date, revisit_days: int) -> set[str]:
        return {e for e, d in self.visited.items() if (day - d).days < revisit_days}


class Month:
    """Survey days simulated once per (day, plans, live emitters), shared by the arms; coverage cached."""

    def __init__(self, seed: int, root: Path, area, n_emitters: int):
        self.seed, self.root, self.area, self.n_emitters = seed, root, area, n_emitters
        rng = np.random.default_rng(seed)
        from ecopatrol.core.weather import Wind

        self.winds = [Wind(float(rng.uniform(0, 360)), float(rng.uniform(2.0, 6.0))) for _ in range(60)]
        self.cache: dict[tuple, Path] = {}
        self.assessed: dict[Path, object] = {}
        self.simulated = 0

    def day(self, w: int, plan, live) -> Path:
        from ecopatrol.pipeline import run_demo

        when = MONTH_START + timedelta(days=7 * w + SURVEY_WEEKDAY)
        key = (w, None if plan is None else plan.key(),
               None if live is None else tuple(sorted((e["source_id"], e["p_emit"]) for e in live)))
        if key in self.cache:
            return self.cache[key]
        run = self.root / f"seed{self.seed}" / f"week{w + 1}_{hashlib.sha1(repr(key).encode()).hexdigest()[:8]}"
        if (run / "targets.csv").exists():  # simulated by an earlier, interrupted run of this benchmark
            self.cache[key] = run
            return run
        t0 = time.perf_counter()
        kw = {"n_emitters": self.n_emitters} if live is None else {"emitters": live, "plan_targets": plan}
        run_demo(run, seed=self.seed * 100 + w, wind=self.winds[w], maps=False, start_utc=when, next_plans=False, **kw)
        self.simulated += 1
        truth = json.loads((run / "field" / "truth.json").read_text())
        log(f"  seed {self.seed} week {w + 1} {when.date()}: emitting {sorted({e['enterprise_id'] for e in truth['emitters']})} "
            f"({time.perf_counter() - t0:.0f} s)")
        self.cache[key] = run
        return run

    def assessment(self, run: Path):
        from ecopatrol.processing.ledger.coverage import assess_run

        if run not in self.assessed:
            self.assessed[run] = assess_run(run, self.area)
        return self.assessed[run]


def rank(arm: Arm, month: Month, when: datetime, day_alarms: bool = True):
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.learning import adjustment_from_db
    from ecopatrol.processing.season import rank_season

    cov = [{c["enterprise_id"]: c["result"] != "not assessable" for c in month.assessment(r).checks} for r in arm.runs]
    ledger = None
    if arm.feedback:
        engine = open_database(arm.db, migrate=False)
        try:
            ledger = adjustment_from_db(engine, ref=when)
        finally:
            engine.dispose()
    arm.ledger = ledger
    # each day's online-monitoring alarms (RUN/alarms.csv), taken together over the month
    alarms = [r / "alarms.csv" if day_alarms and (r / "alarms.csv").is_file() else None for r in arm.runs]
    return rank_season([r / "evidence" for r in arm.runs], month.area, coverage=cov, ledger=ledger, alarms=alarms)


def plan_for(arm: Arm, month: Month, day: date, revisit_days: int):
    """The survey day's targets as the CLI planners take a targets file (``plan drone|van --targets-file
    --top N``): the whole ranking without the firms visited recently and (feedback arm: it reads the
    ledger) the firms answered by a confirmed violation with no evidence since; the drone flies the
    best-ranked it can reach, else the registry-prior targets not answered (a logged reason)."""
    from ecopatrol.pipeline import day_targets_from_ranking

    ids = arm.ranked["enterprise_id"].astype(str).tolist()
    answered = () if arm.ledger is None else [e for e, u in zip(ids, arm.ledger.answered_until(ids), strict=True) if u]
    return day_targets_from_ranking(month.area, arm.ranked, skip=arm.recent(day, revisit_days), answered=answered,
                                    drone_top=DRONE_TOP, van_top=VAN_TOP)


def drone_flown(run: Path) -> tuple[list[str], str | None]:
    """The drone's targets flown on a survey day, and the fallback reason when it flew the registry prior."""
    from ecopatrol.core.artefacts.plan import read_plan, sortie_targets
    from ecopatrol.pipeline import DRONE_FALLBACK_NOTE

    plan = read_plan(run / "plans" / "drone" / "plan.json", kind="drone")
    flown = list(dict.fromkeys(t for ts in sortie_targets(plan).values() for t in ts))
    note = next((x for x in plan.get("warnings") or [] if str(x).startswith(DRONE_FALLBACK_NOTE)), None)
    return flown, note


def survey_and_visit(arm: Arm, month: Month, w: int, a) -> None:
    """Week ``w`` of one arm: arrivals, the survey day, the ranking, Saturday's visits and outcomes."""
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.store import record_inspections, record_run

    week_start = (MONTH_START + timedelta(days=7 * w)).date()
    survey = week_start + timedelta(days=SURVEY_WEEKDAY)
    visit = week_start + timedelta(days=VISIT_WEEKDAY)
    stationary = a.world_mode == "stationary"
    if w > 0:
        if stationary:  # each firm fixed so far replaced by a prior-drawn emitter from Monday
            arm.world.replenish(month.area, week_start)
        else:
            arm.world.add_arrivals(month.area, week_start, per_week=a.arrivals)
    plan = None if w == 0 else plan_for(arm, month, survey, a.revisit_days)
    run = month.day(w, plan, arm.world.live(survey) if w > 0 or stationary else None)
    if arm.world is None:  # the seen world: day 1 draws the world where its plans can see it
        from ecopatrol.missions.month import MonthWorld

        arm.world = MonthWorld.from_truth(json.loads((run / "field" / "truth.json").read_text()), seed=month.seed,
                                          start=survey)
    arm.runs.append(run)
    flown, fallback = drone_flown(run)
    flew_fixed = sorted(set(flown) & set(arm.world.fixed))  # firms fixed on an earlier visit
    if fallback:
        log(f"  seed {month.seed} week {w + 1} {arm.name}: drone fallback — {fallback}")
    engine = open_database(arm.db)
    try:
        record_run(engine, month.assessment(run))
    finally:
        engine.dispose()
    when = datetime.combine(visit, datetime.min.time(), tzinfo=UTC)
    arm.ranked = rank(arm, month, when, a.day_alarms)
    emitting = arm.world.emitting_firms(visit)
    skip = arm.recent(visit, a.revisit_days)
    order = [e for e in arm.ranked["enterprise_id"].astype(str) if e not in skip]
    ids = order[: a.visits]
    # why a live emitter was or was not visited: did this survey day see it, where did it rank
    checks = {c["enterprise_id"]: c["result"] for c in month.assessment(run).checks}
    truth = json.loads((run / "field" / "truth.json").read_text())
    emitted = {str(e["enterprise_id"]) for e in truth.get("emitters") or []}
    live_diag = [{"enterprise_id": e, "emitted_on_survey_day": e in emitted, "check": checks.get(e),
                  "rank_among_visitable": order.index(e) + 1 if e in order else None, "visited": e in ids}
                 for e in sorted(emitting)]
    rows = [{"enterprise_id": e, "date": visit.isoformat(), "result": "violation" if e in emitting else "clean",
             "note": "simulated month: outcome from the truth"} for e in ids]
    engine = open_database(arm.db, migrate=False)
    try:
        res = record_inspections(engine, rows, recorded_by="bench_month", today=visit)
    finally:
        engine.dispose()
    assert not res.refused, res.refused
    hits = [e for e in ids if e in emitting]
    for e in ids:
        arm.visited[e] = visit
    for e in hits:
        arm.world.fix(e, visit)
    revisits = sum(e in {x for wk in arm.weeks for x in wk["visits"]} for e in ids)
    fixed_before = {e for e, d in arm.world.fixed.items() if d < visit}
    visits_fixed = sum(e in fixed_before for e in ids)
    arm.weeks.append({"week": w + 1, "visits": ids, "hits": len(hits), "hit_rate": len(hits) / max(len(ids), 1),
                      "revisits": revisits, "visits_to_fixed": visits_fixed, "live": live_diag, "emitters_live": len(emitting), "drone_targets": flown,
                      "drone_fallback": fallback, "drone_flew_fixed": flew_fixed})
    if arm.feedback:  # next week's plans from the ranking that has read today's outcomes
        arm.ranked = rank(arm, month, when + timedelta(hours=12), a.day_alarms)
    log(f"  seed {month.seed} week {w + 1} {arm.name}: visits {ids} → {len(hits)} hit(s), "
        f"{len(emitting)} emitters live, {revisits} revisit(s)")


def run_month(seed: int, a, root: Path, area) -> dict:
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.stats import ledger_stats

    month = Month(seed, root, area, a.emitters)
    arms = [Arm("feedback", True, f"sqlite:///{root / f'seed{seed}_feedback.db'}"),
            Arm("no feedback", False, f"sqlite:///{root / f'seed{seed}_nofeedback.db'}")]
    if a.world_mode == "stationary":  # both arms start from the same prior-drawn world
        from ecopatrol.missions.month import MonthWorld

        world = MonthWorld.stationary(area, seed=seed, n=a.emitters, start=MONTH_START.date())
        for arm in arms:
            arm.world = world.copy()
    for arm in arms:  # a fresh ledger (the survey days of an interrupted run are kept, not its ledgers)
        Path(arm.db.removeprefix("sqlite:///")).unlink(missing_ok=True)
    for w in range(a.weeks):
        for arm in arms:  # week 1 is the same day for both: each arm draws the same world from its truth
            survey_and_visit(arm, month, w, a)
    engine = open_database(arms[0].db, migrate=False)
    try:
        st = ledger_stats(engine, MONTH_START, MONTH_START + timedelta(days=7 * a.weeks), per_firm=False)
    finally:
        engine.dispose()
    world = arms[0].world
    return {"seed": seed, "world_mode": a.world_mode, "n_emitters": a.emitters, "survey_days_simulated": month.simulated,
            "emitters": [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in e.items()
                          if k != "species_mass_fraction"} for e in world.emitters.values()],
            "arms": {arm.name: arm.weeks for arm in arms},
            "ledger_feedback_arm": {k: st[k] for k in ("off_site_checks", "on_site_checks", "off_site_share",
                                                       "firms_covered", "on_site_hit_rate", "runs")}}


def summary(months: list[dict], weeks: int) -> dict:
    out = {}
    for name in ("feedback", "no feedback"):
        rates = np.array([[m["arms"][name][w]["hit_rate"] for w in range(weeks)] for m in months])
        hits = np.array([[m["arms"][name][w]["hits"] for w in range(weeks)] for m in months])
        out[name] = {"hit_rate_mean": rates.mean(axis=0).round(3).tolist(), "hit_rate_sd": rates.std(axis=0, ddof=1).round(3).tolist()
                     if len(months) > 1 else [0.0] * weeks, "hits_total": int(hits.sum()),
                     "visits_total": int(sum(len(m["arms"][name][w]["visits"]) for m in months for w in range(weeks))),
                     "last_minus_first": (rates[:, -1] - rates[:, 0]).round(3).tolist(),
                     "visits_to_fixed": [int(sum(m["arms"][name][w].get("visits_to_fixed", 0) for m in months))
                                         for w in range(weeks)],
                     "drone_fallbacks": sum(bool(m["arms"][name][w].get("drone_fallback")) for m in months
                                            for w in range(weeks)),
                     "drone_days_flying_fixed_firms": sum(bool(m["arms"][name][w].get("drone_flew_fixed")) for m in months
                                                          for w in range(weeks))}
    live = np.array([[m["arms"]["feedback"][w]["emitters_live"] for w in range(weeks)] for m in months])
    out["emitters_live_mean"] = live.mean(axis=0).round(2).tolist()
    fb = np.array([[m["arms"]["feedback"][w]["hits"] for w in range(weeks)] for m in months]).sum(axis=1)
    nf = np.array([[m["arms"]["no feedback"][w]["hits"] for w in range(weeks)] for m in months]).sum(axis=1)
    out["hits_per_month"] = {"feedback": fb.tolist(), "no feedback": nf.tolist(),
                             "months_better": int((fb > nf).sum()), "months_worse": int((fb < nf).sum())}
    # the arms' difference against the seed-to-seed spread: per month, feedback − no feedback
    d_hits = fb - nf
    d_trend = np.array(out["feedback"]["last_minus_first"]) - np.array(out["no feedback"]["last_minus_first"])
    def sd(x) -> float:
        return float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")

    out["arm_difference"] = {
        "hits_per_month": {"mean": round(float(d_hits.mean()), 3), "sd": round(sd(d_hits), 3),
                           "se": round(sd(d_hits) / np.sqrt(len(d_hits)), 3)},
        "last_minus_first": {"mean": round(float(d_trend.mean()), 3), "sd": round(sd(d_trend), 3),
                             "se": round(sd(d_trend) / np.sqrt(len(d_trend)), 3)},
        "seed_sd_of_hits_per_month": {"feedback": round(sd(fb), 3), "no feedback": round(sd(nf), 3)}}
    # why: live emitters at the visits, how many the survey day saw (a suspicious check), how many visited
    for name in ("feedback", "no feedback"):
        rows = [x for m in months for w in range(weeks) for x in m["arms"][name][w].get("live", [])]
        out[name]["live_at_visits"] = {
            "emitter_visits": len(rows), "emitted_on_survey_day": sum(x["emitted_on_survey_day"] for x in rows),
            "covered_by_survey": sum(x["check"] not in (None, "not assessable") for x in rows),
            "suspicious_on_survey": sum(x["check"] == "suspicious" for x in rows),
            "visited": sum(bool(x.get("visited")) for x in rows)}
    return out


def print_table(months: list[dict], s: dict, a) -> None:
    print(f"simulated months ({a.world_mode} world): seeds {[m['seed'] for m in months]}, {a.weeks} weeks, 1 survey day "
          f"and {a.visits} visits a week, {a.emitters} emitters"
          + (" (each fixed one replaced)" if a.world_mode == "stationary" else f", arrivals {a.arrivals}/week")
          + f", revisit after {a.revisit_days} days")
    print("| week | emitters live (mean) | hit rate, feedback: mean ± sd | no feedback: mean ± sd | "
          "visits to firms already fixed, feedback / no feedback |")
    print("|---|---|---|---|---|")
    fb, nf = s["feedback"], s["no feedback"]
    for w in range(a.weeks):
        print(f"| {w + 1} | {s['emitters_live_mean'][w]} | {fb['hit_rate_mean'][w]:.0%} ± {fb['hit_rate_sd'][w]:.0%} | "
              f"{nf['hit_rate_mean'][w]:.0%} ± {nf['hit_rate_sd'][w]:.0%} | "
              f"{fb['visits_to_fixed'][w]} / {nf['visits_to_fixed'][w]} |")
    for name in ("feedback", "no feedback"):
        print(f"{name}: {s[name]['hits_total']} hits in {s[name]['visits_total']} visits; last week − week 1 per "
              f"month: {s[name]['last_minus_first']}; drone fallbacks {s[name]['drone_fallbacks']}, survey days "
              f"the drone flew a firm already fixed {s[name]['drone_days_flying_fixed_firms']}")
    h = s["hits_per_month"]
    print(f"hits per month, feedback {h['feedback']} vs no feedback {h['no feedback']}: "
          f"feedback better in {h['months_better']}, worse in {h['months_worse']} of {len(months)}")
    print("feedback − no feedback per month:", json.dumps(s["arm_difference"]))
    for name in ("feedback", "no feedback"):
        print(f"{name}: live emitters at the visits:", json.dumps(s[name]["live_at_visits"]))
    print("ledger (feedback arm, first month):", json.dumps(months[0]["ledger_feedback_arm"], ensure_ascii=False))


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="one month per seed (default 0–4)")
    ap.add_argument("--weeks", type=int, default=4, help="weeks in the month, one survey day each (default 4)")
    ap.add_argument("--visits", type=int, default=3, help="on-site visits each Saturday (default 3)")
    ap.add_argument("--world-mode", choices=("seen", "stationary"), default="seen",
                    help="seen: day 1's emitters drawn where day 1's plans see them, Poisson --arrivals from week 2 "
                         "(the earlier table); stationary: --emitters drawn by the registry prior, each fixed one "
                         "replaced by a prior-drawn one the next Monday (--arrivals unused)")
    ap.add_argument("--emitters", type=int, help="hidden emitters on day 1 (default 4 seen, 8 stationary)")
    ap.add_argument("--from-jsonl", type=Path, nargs="+", help="summarise months.jsonl files of earlier runs "
                    "(same options) instead of running")
    ap.add_argument("--arrivals", type=float, default=1.5, help="new emitters a week, Poisson mean (default 1.5)")
    ap.add_argument("--revisit-days", type=int, default=14, help="a visited firm is not visited again within this")
    ap.add_argument("--no-day-alarms", dest="day_alarms", action="store_false",
                    help="rank the month without each day's online-monitoring alarms (as before the multi-day "
                         "ranking took them: the day's targets.csv had them, the month's ranking did not)")
    ap.add_argument("--out", type=Path, help="keep the run folders, ledgers and months.jsonl here")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    a = ap.parse_args(argv)
    if a.emitters is None:
        a.emitters = 8 if a.world_mode == "stationary" else 4
    if a.weeks < 1 or a.visits < 1 or a.arrivals < 0:
        ap.error("--weeks and --visits ≥ 1, --arrivals ≥ 0")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    from ecopatrol.core.area import load_area

    if a.from_jsonl:
        months = [json.loads(x) for p in a.from_jsonl for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
        months = [m for m in months if m.get("world_mode", "seen") == a.world_mode]
        s = summary(months, a.weeks)
        if a.json:
            print(json.dumps({"seeds": [m["seed"] for m in months], "summary": s}, ensure_ascii=False, indent=1))
        else:
            print_table(months, s, a)
        return 0
    tmp = tempfile.TemporaryDirectory(prefix="bench_month_") if a.out is None else None
    root = Path(tmp.name) if tmp else a.out
    root.mkdir(parents=True, exist_ok=True)
    area = load_area("jimo")
    t0 = time.perf_counter()
    months = []
    for seed in a.seeds:
        log(f"month seed {seed}")
        months.append(run_month(seed, a, root, area))
        with (root / "months.jsonl").open("a", encoding="utf-8") as f:  # each month kept as it ends
            f.write(json.dumps(months[-1], ensure_ascii=False, default=str) + "\n")
    s = summary(months, a.weeks)
    out = {"seeds": a.seeds, "world_mode": a.world_mode, "emitters": a.emitters, "weeks": a.weeks, "day_alarms": a.day_alarms, "visits": a.visits, "arrivals_per_week": a.arrivals,
           "revisit_days": a.revisit_days, "seconds": round(time.perf_counter() - t0, 1), "summary": s, "months": months}
    if a.json:
        print(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    else:
        print_table(months, s, a)
        print(f"{out['seconds']:.0f} s, {sum(m['survey_days_simulated'] for m in months)} survey days simulated")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
