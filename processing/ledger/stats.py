"""The brigade's statistics from the ledger: ``ecopatrol ledger stats``.

Within ``[from, to)``:

- **off-site checks**: off-site rows with a result (``not assessable`` ones are counted apart: a
  pass that could not see the firm is no check of it), **on-site checks**, each split into
  positive-list firms and others; **off-site share** = off-site ÷ (off-site + on-site) — how the
  brigade's 312 / 402 = 77.6 % is computed;
- **firms covered at least once** (an off-site check with a result), of all firms and of the
  positive list;
- per firm: **days since its last check** (as of ``to``), off-site and on-site counts, and its
  on-site visits per calendar year against the **annual cap** (``cap_per_year``, default 2), the
  alarm-triggered visits listed apart (national rules exempt checks triggered by abnormal data);
- the **hit rate** of on-site visits (violations confirmed ÷ visits) by trigger.

Two queries (the firms, the window's checks) and the counting in plain Python: no pandas or numpy to
import, so the command starts in well under a second's CPU (``benchmarks/bench_ledger.py``).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime

DEFAULT_CAP_PER_YEAR = 2


def _ts(t) -> datetime:
    """A tz-aware UTC datetime from a datetime (``pandas.Timestamp`` included), a date or an ISO string."""
    if not isinstance(t, datetime):
        t = datetime.fromisoformat(str(t))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def ledger_stats(engine, date_from, date_to, *, cap_per_year: int = DEFAULT_CAP_PER_YEAR,
                 per_firm: bool = True) -> dict:
    """The statistics of ``[date_from, date_to)`` (datetimes, ``pandas.Timestamp`` or ISO strings; naive = UTC)."""
    t0, t1 = _ts(date_from), _ts(date_to)
    if t1 <= t0:
        from ecopatrol.core.errors import InputError

        raise InputError(f"--from {t0.date()} must be before --to {t1.date()}")
    ent, ch = read_stat_rows(engine, t0, t1)
    return compute_stats(ent, ch, t0, t1, cap_per_year=cap_per_year, per_firm=per_firm)


def read_stat_rows(engine, t0: datetime, t1: datetime) -> tuple[list[tuple[str, bool]], list[tuple]]:
    """``(enterprise_id, positive_list)`` of every firm, and the window's checks as the driver's tuples
    ``(enterprise_id, time_utc, kind, method, trigger, result, run_id, positive_list)`` with the times
    made aware UTC datetimes — no pandas, so that ``ecopatrol ledger stats`` starts fast."""
    from sqlalchemy import String, select, type_coerce

    from ecopatrol.core.db.schema import ledger_checks as C
    from ecopatrol.core.db.schema import ledger_enterprises as E

    t = type_coerce(C.c.time_utc, String) if engine.dialect.name == "sqlite" else C.c.time_utc
    q = select(C.c.enterprise_id, t, C.c.kind, C.c.method, C.c.trigger, C.c.result, C.c.run_id,
               E.c.positive_list).join(E, E.c.enterprise_id == C.c.enterprise_id) \
        .where(C.c.time_utc >= t0, C.c.time_utc < t1)
    with engine.connect() as conn:
        ent = [(str(e), bool(p)) for e, p in
               conn.execute(select(E.c.enterprise_id, E.c.positive_list).order_by(E.c.enterprise_id)).cursor.fetchall()]
        rows = conn.execute(q).cursor.fetchall()  # the driver's tuples: SQLite gives naive UTC text
    ch = [(e, _ts(tm), k, m, tr, r, run, bool(p)) for e, tm, k, m, tr, r, run, p in rows]
    return ent, ch


def _split(rows: list[tuple]) -> dict:
    n_pos = sum(1 for r in rows if r[7])
    return {"positive_list": n_pos, "other": len(rows) - n_pos, "total": len(rows)}


def compute_stats(ent: list[tuple[str, bool]], ch: list[tuple], t0: datetime, t1: datetime, *,
                  cap_per_year: int = DEFAULT_CAP_PER_YEAR, per_firm: bool = True) -> dict:
    """The statistics from :func:`read_stat_rows`' firms and checks (see the module's docstring)."""
    off = [r for r in ch if r[2] == "off-site" and r[5] != "not assessable"]
    na = [r for r in ch if r[2] == "off-site" and r[5] == "not assessable"]
    on = [r for r in ch if r[2] == "on-site"]
    n_off, n_on = len(off), len(on)
    covered = {r[0] for r in off}
    pos_ids = {e for e, p in ent if p}
    by_trig: dict[str, list[tuple]] = defaultdict(list)
    for r in on:
        by_trig[r[4]].append(r)
    hit = {}
    for trig in sorted(by_trig):
        g = by_trig[trig]
        v = sum(1 for r in g if r[5] == "violation confirmed")
        hit[trig] = {"visits": len(g), "violations": v, "hit_rate": round(v / len(g), 4)}
    v_all = sum(1 for r in on if r[5] == "violation confirmed")
    # on-site visits per firm and calendar year, alarm-triggered apart
    counted = Counter((r[0], r[1].year) for r in on if r[4] != "alarm")
    alarm = Counter((r[0], r[1].year) for r in on if r[4] == "alarm")
    out = {
        "from": _iso(t0), "to": _iso(t1),
        "enterprises": len(ent), "positive_list_enterprises": len(pos_ids),
        "off_site_checks": _split(off), "on_site_checks": _split(on), "not_assessable": _split(na),
        "all_checks": n_off + n_on,
        "off_site_share": round(n_off / (n_off + n_on), 4) if n_off + n_on else None,
        "off_site_by_method": dict(sorted(Counter(r[3] for r in off).items())),
        "off_site_by_result": dict(sorted(Counter(r[5] for r in off).items())),
        "firms_covered": len(covered), "positive_list_covered": len(covered & pos_ids),
        "runs": len({r[6] for r in ch if r[6] is not None}),
        "on_site_hit_rate": round(v_all / n_on, 4) if n_on else None,
        "on_site_by_trigger": hit,
        "cap_per_year": cap_per_year,
        "firms_over_cap": [{"enterprise_id": e, "year": y, "visits": n, "alarm_visits": alarm.get((e, y), 0)}
                           for (e, y), n in sorted(counted.items()) if n > cap_per_year],
        "firms_at_cap": sum(1 for n in counted.values() if n == cap_per_year),
        "alarm_visits": sum(1 for r in on if r[4] == "alarm"),
    }
    last: dict[str, datetime] = {}
    for r in off + on:
        if r[0] not in last or r[1] > last[r[0]]:
            last[r[0]] = r[1]
    days = {e: (t1 - last[e]).total_seconds() / 86400.0 for e, _ in ent if e in last}
    d = list(days.values())
    out["days_since_last_check"] = {"never_checked": len(ent) - len(d),
                                    "median": round(float(statistics.median(d)), 1) if d else None,
                                    "max": round(max(d), 1) if d else None}
    if per_firm:
        out["per_firm"] = _per_firm(ent, off, on, counted, last, days, cap_per_year)
    out["computed_utc"] = _iso(datetime.now(UTC))
    return out


def _per_firm(ent, off, on, counted: Counter, last: dict, days: dict, cap_per_year: int) -> list[dict]:
    n_off, n_on = Counter(r[0] for r in off), Counter(r[0] for r in on)
    n_alarm = Counter(r[0] for r in on if r[4] == "alarm")
    max_year: dict[str, int] = {}
    for (e, _), n in counted.items():
        max_year[e] = max(max_year.get(e, 0), n)
    return [{"enterprise_id": e, "positive_list": p,
             "last_check_utc": last[e].strftime("%Y-%m-%dT%H:%M:%SZ") if e in last else None,
             "days_since_last_check": round(days[e], 1) if e in days else None,
             "off_site": n_off[e], "on_site": n_on[e], "on_site_alarm": n_alarm[e],
             "on_site_max_per_year": max_year.get(e, 0), "over_cap": max_year.get(e, 0) > cap_per_year}
            for e, p in ent]


def describe(s: dict, *, show_firms: int = 10) -> str:
    """The statistics for people (English and Chinese labels)."""
    o, n, na = s["off_site_checks"], s["on_site_checks"], s["not_assessable"]
    share = f"{s['off_site_share']:.1%}" if s["off_site_share"] is not None else "—"
    lines = [
        f"ledger {s['from'][:10]} – {s['to'][:10]}: {s['enterprises']} firms ({s['positive_list_enterprises']} "
        "positive list / 正面清单)",
        f"  off-site checks 非现场检查: {o['total']} (positive list {o['positive_list']}, others {o['other']}); "
        f"by method: " + (", ".join(f"{k} {v}" for k, v in s["off_site_by_method"].items()) or "none"),
        f"  on-site checks 现场检查: {n['total']} (positive list {n['positive_list']}, others {n['other']})",
        f"  off-site share 非现场检查占比: {share} = {o['total']} / {s['all_checks']}",
        f"  not assessable 无法判定: {na['total']} (targeted, not covered)",
        f"  firms covered at least once 至少覆盖一次: {s['firms_covered']} "
        f"(positive list {s['positive_list_covered']} of {s['positive_list_enterprises']})",
        f"  days since last check 距上次检查天数: median {s['days_since_last_check']['median']}, "
        f"max {s['days_since_last_check']['max']}, never checked {s['days_since_last_check']['never_checked']}",
        f"  on-site cap 现场检查上限 {s['cap_per_year']}/firm/year: {len(s['firms_over_cap'])} firm-year(s) over, "
        f"{s['firms_at_cap']} at the cap; alarm-triggered visits (exempt) 异常数据触发: {s['alarm_visits']}",
        "  on-site hit rate 现场检查命中率: " + (f"{s['on_site_hit_rate']:.0%}" if s["on_site_hit_rate"] is not None
                                          else "—") + "; by trigger: "
        + (", ".join(f"{k} {v['violations']}/{v['visits']}" for k, v in s["on_site_by_trigger"].items()) or "none"),
    ]
    for f in s["firms_over_cap"][:show_firms]:
        lines.append(f"    over cap: {f['enterprise_id']} {f['year']}: {f['visits']} visits (+{f['alarm_visits']} alarm)")
    return "\n".join(lines)
