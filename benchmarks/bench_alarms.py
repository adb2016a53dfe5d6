"""Benchmark: ``monitor alarms`` with the vectorised rules against the per-group loops they replaced.

Baselines (named, same run): ``processing/monitor/_alarm_rules_loop.py`` — the loop versions of
the observation frame, exceedance, flatline, flags, missing-data/completeness and zero-flow rules
as they were before vectorising (swapped in with ``loop_rules()``) — and
``processing/monitor/_power_rules_loop.py``, the per-meter loops of the electricity rules
(``loop_power_rules()``). All run on the same records:

1. the two real hours (``../shared/data/hj212/``) ingested into a temporary SQLite file and read
   back as ``ecopatrol monitor alarms`` reads them (no monitors file: every alarm per logger);
2. the simulated data loggers and meters of the example area (``missions.monitor_sim`` with four
   monitored emitters, seed 5), decoded from their packet file, with the area's monitors and limits;
3. electricity-heavy: a fleet of ``--firms`` metered firms (``tests/power_support.py``: a meter box
   per firm, real-time power every minute for 36 h, each firm with one of the behaviours the
   electricity rules look for), with their monitors and no limits.

Reported per data set: records, alarms, seconds of ``compute_alarms`` (best of ``--repeat``, the
variants interleaved) with
the rules of ``loop_rules()`` as loops (``loops_s``, as the first table of BENCHMARKS.md measured),
with every rule as loops (``all_loops_s``) and all vectorised, the ratios, and whether the alarms (and
the completeness table) are identical; on the data with meters also the electricity rules alone
(``power_series`` + ``production_state`` + ``rule_power`` on the same rule context).

Run: ``.venv/bin/python benchmarks/bench_alarms.py [--repeat 2] [--firms 140] [--data real,simulated,electricity]``
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ecopatrol.processing.monitor import _power_rules_loop, alarms, power_rules
from ecopatrol.processing.monitor._alarm_rules_loop import loop_rules
from ecopatrol.processing.monitor._power_rules_loop import loop_power_rules
from ecopatrol.processing.monitor.alarms import compute_alarms

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hj212"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the meter fleet is a test helper


def _same(a, b) -> bool:
    try:
        pd.testing.assert_frame_equal(a.alarms, b.alarms)
        pd.testing.assert_frame_equal(a.completeness, b.completeness)
        return True
    except AssertionError:
        return False


def _context(records, args, kw):
    """The rule context ``compute_alarms`` builds (caught at its first rule)."""
    seen = {}
    real = alarms.rule_exceedance
    alarms.rule_exceedance = lambda ctx: seen.setdefault("ctx", ctx) and real(ctx)
    try:
        compute_alarms(records, *args, **kw)
    finally:
        alarms.rule_exceedance = real
    return seen["ctx"]


def _run(records, args, kw, variant: str):
    """One timed ``compute_alarms`` with the variant's rules: ``loops`` (those of ``loop_rules()``), ``all_loops``
    (and the electricity rules' loops) or ``vectorised``."""
    with contextlib.ExitStack() as stack:
        if variant in ("loops", "all_loops"):
            stack.enter_context(loop_rules())
        if variant == "all_loops":
            stack.enter_context(loop_power_rules())
        t = time.perf_counter()
        res = compute_alarms(records, *args, **kw)
        return time.perf_counter() - t, res


def _power_alone(ctx, mod) -> tuple[float, list]:
    t = time.perf_counter()
    grid = mod.power_series(ctx)
    ctx.production = mod.production_state(ctx, grid)
    out = mod.rule_power(ctx, grid)
    return time.perf_counter() - t, out


def compare(name: str, records: pd.DataFrame, args, kw, repeat: int) -> dict:
    """The variants interleaved ``repeat`` times (the load of a shared machine drifts), best of each."""
    best: dict[str, float] = {}
    res: dict[str, object] = {}
    ctx = _context(records, args, kw)
    metered = bool(ctx.monitors["kind"].isin(["production_meter", "treatment_meter"]).any())
    power: dict[str, list] = {}
    for _ in range(repeat):
        for v in ("loops", "all_loops", "vectorised"):
            t, res[v] = _run(records, args, kw, v)
            best[v] = min(best.get(v, float("inf")), t)
        if metered:
            for v, mod in (("power_loops", _power_rules_loop), ("power_vectorised", power_rules)):
                t, power[v] = _power_alone(ctx, mod)
                best[v] = min(best.get(v, float("inf")), t)
    new = res["vectorised"]
    row = {"data": name, "records": len(records), "alarms": len(new.alarms), "loops_s": round(best["loops"], 2),
           "all_loops_s": round(best["all_loops"], 2), "vectorised_s": round(best["vectorised"], 2),
           "speed-up": round(best["loops"] / best["vectorised"], 1),
           "all speed-up": round(best["all_loops"] / best["vectorised"], 1),
           "identical": _same(res["loops"], new) and _same(res["all_loops"], new)}
    if metered:
        row.update({"power_loops_s": round(best["power_loops"], 2), "power_vectorised_s": round(best["power_vectorised"], 2),
                    "power speed-up": round(best["power_loops"] / best["power_vectorised"], 1)})
        row["identical"] = row["identical"] and pd.DataFrame(power["power_loops"]).equals(
            pd.DataFrame(power["power_vectorised"]))
    return row


def real_hours(tmp: Path) -> pd.DataFrame:
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.monitor.alarms import read_records
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.store import PacketStore

    engine = open_database(f"sqlite:///{tmp / 'real.db'}")
    try:
        for f in sorted(SHARED.glob("*.h212.gz")):
            ingest_file(PacketStore(engine), f)
        return read_records(engine)
    finally:
        engine.dispose()


def simulated(tmp: Path):
    from ecopatrol.core.area import load_area
    from ecopatrol.core.limits import limits_for_area
    from ecopatrol.core.monitors import monitors_for_area
    from ecopatrol.missions.monitor_sim import simulate_monitors
    from ecopatrol.processing.hj212 import read_hj212_file

    area = load_area("jimo")
    lim = limits_for_area(area)
    mons = monitors_for_area(area, limit_sets=lim.sets())
    t = mons.table
    metered = set(t.loc[t["kind"] == "treatment_meter", "enterprise_id"])
    stacks = t[t["kind"] == "stack"]["enterprise_id"]
    chosen = [e for e in stacks if e in metered][:2] + [e for e in stacks if e not in metered][:2]
    emitters = pd.DataFrame({"enterprise_id": chosen, "rate_g_s": [2.0, 3.0, 2.5, 1.5][:len(chosen)]})
    (path,) = simulate_monitors(area, emitters, tmp, start_utc=datetime(2026, 5, 12, 1, 0, tzinfo=UTC), seed=5,
                                truth={})
    return read_hj212_file(path)[0], mons, lim.table


def meter_heavy(tmp: Path, firms: int):
    from power_support import meter_fleet

    return meter_fleet(firms, tmp, hours=36.0, step_s=60, seed=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="runs of each variant; the best is reported")
    ap.add_argument("--firms", type=int, default=140, help="metered firms of the electricity-heavy case")
    ap.add_argument("--data", default="real,simulated,electricity",
                    help="comma-separated data sets to run: real, simulated, electricity")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from ecopatrol.core.limits import limits_for_area

    rows = []
    want = set(args.data.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        if "real" in want and SHARED.is_dir():
            rows.append(compare("real 2 h (SQLite)", real_hours(Path(tmp)), (None, limits_for_area(None).table), {},
                                args.repeat))
        elif "real" in want:
            print(f"{SHARED} absent: real hours skipped")
        if "simulated" in want:
            rec, mons, lim = simulated(Path(tmp))
            rows.append(compare("simulated loggers + meters", rec, (mons, lim), {}, args.repeat))
        if "electricity" in want:
            rec, mons = meter_heavy(Path(tmp), args.firms)
            rows.append(compare(f"electricity-heavy: {args.firms} metered firms, 36 h", rec, (mons, None), {},
                                args.repeat))
    pd.set_option("display.width", 250)
    print(pd.DataFrame(rows).to_string(index=False))
    if not all(r["identical"] for r in rows):
        raise SystemExit("the vectorised rules differ from the loops")


if __name__ == "__main__":
    main()
