"""Benchmark: ``ecopatrol ledger stats`` over a simulated year of a 660-firm brigade (issue 18).

The year: 660 firms (500 on the positive list), a van or drone day every working day covering
~45 firms (≈ 11 000 off-site checks, 8 % not assessable), ≈ 600 on-site visits (routine plan,
random draw, survey evidence, complaint, and alarm-triggered ones, some firms visited more than
the cap), written into a new SQLite file (and PostgreSQL with ``--pg URL``) with the ledger's own
tables and indexes.

- **ecopatrol** :func:`ecopatrol.processing.ledger.stats.ledger_stats` (what ``ledger stats`` runs):
  two queries (firms, the window's checks) and the counting in plain Python, per-firm table included;
- **baseline: a naive per-firm query loop** (named, same run, same database): for each firm, one
  query each for its off-site count, on-site count, last check and its on-site visits by trigger
  and year — the way a report script written against the tables would go.

Both must give the same numbers (checked). Reported: seconds (best of ``--repeat``) and the
ratio; also the command ``ecopatrol ledger stats --json`` in a new process (Python start and imports
included): wall and CPU seconds (best of ``--repeat``), against a named baseline in the same run —
**the same command in a process that first imports what the command used to import** (pandas,
numpy and alembic's migration context: before the ledger's statistics were counted without pandas
and the schema check stopped importing alembic; rich's console and log handler: before the CLI's
log handler imported rich at the first line logged rather than at start). Figures in BENCHMARKS.md ("Supervision ledger").

Run: ``.venv/bin/python benchmarks/bench_ledger.py [--firms 660] [--repeat 3] [--pg URL] [--json]``

``--pg URL`` drops and recreates the database's ``public`` schema: it refuses a schema holding
anything it did not write itself (its comment marks a schema this benchmark made) unless
``--i-know-this-drops-data`` is given. Point it at a scratch database, never a brigade's ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np


def simulate_year(engine, n_firms: int, seed: int = 0) -> dict:
    from ecopatrol.core.db import schema as S

    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    ids = [f"91370282BENCH{i:05d}" for i in range(n_firms)]
    pos = rng.random(n_firms) < 500 / 660
    ent = [{"enterprise_id": e, "name": f"firm {i}", "industry": "packaging printing", "positive_list": bool(p),
            "lon": 120.3 + rng.random() * 0.3, "lat": 36.3 + rng.random() * 0.2, "registry_last_inspected": None,
            "registry_violations_3y": int(rng.integers(0, 3)), "area": "bench", "updated_utc": now}
           for i, (e, p) in enumerate(zip(ids, pos, strict=True))]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    runs, checks = [], []
    k = 0
    for d in range(365):
        day = start + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        rid = len(runs) + 1
        covered = rng.choice(n_firms, size=45, replace=False)
        runs.append({"id": rid, "run_key": f"{rid:064x}", "run_dir": f"/runs/{d}", "area": "bench",
                     "survey_start_utc": day, "survey_end_utc": day + timedelta(hours=3), "recorded_utc": day,
                     "recorded_by": "bench", "detection_rate_g_s": 0.5, "n_checks": len(covered), "files": "[]"})
        for j in covered:
            r = rng.random()
            res = "not assessable" if r < 0.08 else "suspicious" if r < 0.12 else "clean"
            checks.append({"check_key": f"offsite:{rid}:{ids[j]}", "enterprise_id": ids[j],
                           "time_utc": day + timedelta(minutes=int(rng.integers(0, 180))), "kind": "off-site",
                           "method": "drone curtain" if rng.random() < 0.3 else "van pass", "trigger": "routine plan",
                           "result": res, "reason": "bench", "evidence": "[]", "run_id": rid, "n_samples_covering": 10,
                           "recorded_by": "bench", "recorded_utc": day})
            k += 1
    trig = ["routine plan", "random draw", "survey evidence", "complaint", "alarm"]
    for v in range(600):
        j = int(rng.integers(0, n_firms // 3))  # a third of the firms get all the visits: some over the cap
        t = trig[int(rng.integers(0, len(trig)))]
        day = start + timedelta(days=int(rng.integers(0, 365)))
        checks.append({"check_key": f"onsite:{ids[j]}:{day:%Y-%m-%d}:{t}:{v}", "enterprise_id": ids[j], "time_utc": day,
                       "kind": "on-site", "method": "on-site", "trigger": t,
                       "result": "violation confirmed" if rng.random() < 0.3 else "clean", "reason": "bench",
                       "evidence": "[]", "run_id": None, "n_samples_covering": None, "recorded_by": "bench",
                       "recorded_utc": day})
    with engine.begin() as c:
        c.execute(S.ledger_enterprises.insert(), ent)
        c.execute(S.ledger_runs.insert(), runs)
        for i in range(0, len(checks), 5000):
            c.execute(S.ledger_checks.insert(), checks[i:i + 5000])
    return {"firms": n_firms, "runs": len(runs), "checks": len(checks), "off_site": k, "on_site": len(checks) - k}


def naive_stats(engine, t0, t1, cap: int = 2) -> dict:
    """The baseline: one query per firm and question."""
    from sqlalchemy import func, select

    from ecopatrol.core.db import schema as S

    C, E = S.ledger_checks, S.ledger_enterprises
    win = (C.c.time_utc >= t0) & (C.c.time_utc < t1)
    out = {"off": 0, "on": 0, "covered": 0, "over_cap": 0, "last": {}}
    with engine.connect() as c:
        for (e,) in c.execute(select(E.c.enterprise_id)).all():
            mine = win & (C.c.enterprise_id == e)
            off = c.execute(select(func.count()).where(mine, C.c.kind == "off-site",
                                                       C.c.result != "not assessable")).scalar()
            on = c.execute(select(func.count()).where(mine, C.c.kind == "on-site")).scalar()
            last = c.execute(select(func.max(C.c.time_utc)).where(mine, C.c.result != "not assessable")).scalar()
            by = c.execute(select(C.c.trigger, C.c.result, C.c.time_utc).where(mine, C.c.kind == "on-site")).all()
            years: dict[int, int] = {}
            for trig, _res, t in by:
                if trig != "alarm":
                    years[t.year] = years.get(t.year, 0) + 1
            out["off"] += off
            out["on"] += on
            out["covered"] += off > 0
            out["over_cap"] += sum(n > cap for n in years.values())
            out["last"][e] = last
    return out


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, res = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t)
    return best, res


OLD_IMPORTS = "import pandas, numpy, alembic.runtime.migration, rich.console, rich.logging; "


def run_cli(url: str, repeat: int, preload: str = "") -> tuple[float, float]:
    """Best wall and CPU seconds (user + system, the child's) of ``ecopatrol ledger stats --json`` in a new process."""
    args = ["ledger", "stats", "--db", url, "--from", "2025-01-01", "--to", "2026-01-01", "--json"]
    code = preload + f"import sys; from ecopatrol.cli import main; sys.exit(main({args!r}))"
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        cli = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        wall = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert cli.returncode == 0, cli.stderr[-2000:]
        json.loads(cli.stdout)  # one valid JSON document
        best_wall = min(best_wall, wall)
        best_cpu = min(best_cpu, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    return best_wall, best_cpu


def bench(url: str, n_firms: int, repeat: int) -> dict:
    import pandas as pd

    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.stats import ledger_stats

    engine = open_database(url)
    year = simulate_year(engine, n_firms)
    t0, t1 = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC")
    t_fast, s = best_of(lambda: ledger_stats(engine, t0, t1), repeat)
    t_naive, n = best_of(lambda: naive_stats(engine, t0.to_pydatetime(), t1.to_pydatetime()), repeat)
    engine.dispose()
    assert s["off_site_checks"]["total"] == n["off"] and s["on_site_checks"]["total"] == n["on"], (s, n)
    assert s["firms_covered"] == n["covered"] and len(s["firms_over_cap"]) == n["over_cap"], (s, n)
    run_cli(url, 1)  # warm the file cache
    cli_wall, cli_cpu = run_cli(url, repeat)
    old_wall, old_cpu = run_cli(url, repeat, OLD_IMPORTS)
    return {"database": url.split(":")[0], **year, "ledger_stats_s": round(t_fast, 4),
            "naive_per_firm_loop_s": round(t_naive, 4), "speedup": round(t_naive / t_fast, 1),
            "cli_wall_s": round(cli_wall, 3), "cli_cpu_s": round(cli_cpu, 3),
            "baseline_old_imports_wall_s": round(old_wall, 3), "baseline_old_imports_cpu_s": round(old_cpu, 3),
            "load_average_1min": round(os.getloadavg()[0], 1), "off_site_share": s["off_site_share"],
            "firms_over_cap": len(s["firms_over_cap"])}


#: The comment on a ``public`` schema this benchmark created: it may empty that one again.
SCRATCH_MARK = "ecopatrol bench_ledger scratch schema (emptied by every run)"
DROP_FLAG = "--i-know-this-drops-data"


def pg_refusal(url: str) -> str | None:
    """Why ``--pg url`` must not be emptied (a message naming the flag), or None: its ``public``
    schema is empty, or is marked as this benchmark's own (:data:`SCRATCH_MARK`)."""
    from sqlalchemy import create_engine

    from ecopatrol.core.db import normalise_url

    e = create_engine(normalise_url(url))
    shown_url = e.url.render_as_string(hide_password=True)
    try:
        with e.connect() as c:
            mark = c.exec_driver_sql("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                                     "WHERE nspname = 'public'").scalar()
            names = [r[0] for r in c.exec_driver_sql(
                "SELECT relname FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace WHERE nspname = 'public' "
                "AND relkind IN ('r', 'p', 'v', 'm', 'f', 'S') UNION ALL SELECT proname FROM pg_proc "
                "JOIN pg_namespace n ON n.oid = pronamespace WHERE nspname = 'public' ORDER BY 1")]
    finally:
        e.dispose()
    if not names or mark == SCRATCH_MARK:
        return None
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (f"--pg: the `public` schema of {shown_url} holds {len(names)} tables or other objects ({shown}) that "
            f"this benchmark did not create; it would DROP them all. Give it an empty scratch database, "
            f"or add {DROP_FLAG} if that data may go.")


def empty_pg(url: str) -> None:
    """Drop and recreate ``public`` (everything in it goes), marked as this benchmark's scratch schema."""
    from sqlalchemy import create_engine

    from ecopatrol.core.db import normalise_url

    e = create_engine(normalise_url(url))
    try:
        with e.begin() as c:
            c.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            c.exec_driver_sql("CREATE SCHEMA public")
            c.exec_driver_sql(f"COMMENT ON SCHEMA public IS '{SCRATCH_MARK}'")
    finally:
        e.dispose()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=660)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", help="also on this PostgreSQL database: its public schema is DROPPED first "
                    f"(refused when it holds data this benchmark did not write, unless {DROP_FLAG})")
    ap.add_argument(DROP_FLAG, dest="drop_ok", action="store_true",
                    help="let --pg drop a public schema that holds other data")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.pg and not a.drop_ok and (why := pg_refusal(a.pg)) is not None:
        print(why, file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(bench(f"sqlite:///{Path(tmp) / 'ledger.db'}", a.firms, a.repeat))
    if a.pg:
        empty_pg(a.pg)
        results.append(bench(a.pg, a.firms, a.repeat))
    if a.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        print(f"{r['database']}: a year of {r['firms']} firms — {r['runs']} survey days, {r['off_site']} off-site and "
              f"{r['on_site']} on-site checks")
        print(f"  ledger stats (ecopatrol)         {r['ledger_stats_s'] * 1000:8.1f} ms")
        print(f"  naive per-firm query loop        {r['naive_per_firm_loop_s'] * 1000:8.1f} ms   "
              f"({r['speedup']}× slower)")
        print(f"  `ecopatrol ledger stats --json`  {r['cli_wall_s'] * 1000:8.1f} ms wall, {r['cli_cpu_s'] * 1000:.0f} ms "
              "CPU, new process (Python start and imports included)")
        print(f"  baseline: + the old imports      {r['baseline_old_imports_wall_s'] * 1000:8.1f} ms wall, "
              f"{r['baseline_old_imports_cpu_s'] * 1000:.0f} ms CPU (pandas, numpy, alembic); "
              f"{r['baseline_old_imports_wall_s'] / r['cli_wall_s']:.1f}× wall, "
              f"{r['baseline_old_imports_cpu_s'] / r['cli_cpu_s']:.1f}× CPU; load average {r['load_average_1min']}")
        print(f"  off-site share {r['off_site_share']:.1%}, {r['firms_over_cap']} firm-years over the cap of 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
