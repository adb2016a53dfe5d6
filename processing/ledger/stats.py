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

Two queries (the firms, the window's checks); the counting is done in pandas.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

DEFAULT_CAP_PER_YEAR = 2


def _ts(t) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def ledger_stats(engine, date_from, date_to, *, cap_per_year: int = DEFAULT_CAP_PER_YEAR,
                 per_firm: bool = True) -> dict:
    from .store import read_check_facts, read_enterprises

    t0, t1 = _ts(date_from), _ts(date_to)
    if t1 <= t0:
        from ecopatrol.core.errors import InputError

        raise InputError(f"--from {t0.date()} must be before --to {t1.date()}")
    ent = read_enterprises(engine)
    ch = read_check_facts(engine, date_from=t0.to_pydatetime(), date_to=t1.to_pydatetime())
    return compute_stats(ent, ch, t0, t1, cap_per_year=cap_per_year, per_firm=per_firm)


def compute_stats(ent: pd.DataFrame, ch: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp, *,
                  cap_per_year: int = DEFAULT_CAP_PER_YEAR, per_firm: bool = True) -> dict:
    pos = ch["positive_list"].fillna(False).astype(bool)
    off = (ch["kind"] == "off-site") & (ch["result"] != "not assessable")
    na = (ch["kind"] == "off-site") & (ch["result"] == "not assessable")
    on = ch["kind"] == "on-site"
    n_off, n_on = int(off.sum()), int(on.sum())

    def split(m):
        return {"positive_list": int((m & pos).sum()), "other": int((m & ~pos).sum()), "total": int(m.sum())}

    covered = set(ch.loc[off, "enterprise_id"])
    pos_ids = set(ent.loc[ent["positive_list"].astype(bool), "enterprise_id"])
    hit = {}
    for trig, g in ch[on].groupby("trigger"):
        v = int((g["result"] == "violation confirmed").sum())
        hit[trig] = {"visits": len(g), "violations": v, "hit_rate": round(v / len(g), 4) if len(g) else None}
    v_all = int((ch.loc[on, "result"] == "violation confirmed").sum())
    # on-site visits per firm and calendar year, alarm-triggered apart
    onr = ch[on]
    yr = onr["time_utc"].dt.year
    counted = onr[onr["trigger"] != "alarm"].groupby([onr["enterprise_id"], yr]).size()
    alarm = onr[onr["trigger"] == "alarm"].groupby([onr["enterprise_id"], yr]).size()
    over = counted[counted > cap_per_year]
    at_cap = counted[counted == cap_per_year]
    out = {
        "from": t0.isoformat().replace("+00:00", "Z"), "to": t1.isoformat().replace("+00:00", "Z"),
        "enterprises": len(ent), "positive_list_enterprises": len(pos_ids),
        "off_site_checks": split(off), "on_site_checks": split(on), "not_assessable": split(na),
        "all_checks": n_off + n_on,
        "off_site_share": round(n_off / (n_off + n_on), 4) if n_off + n_on else None,
        "off_site_by_method": {k: int(v) for k, v in ch.loc[off, "method"].value_counts().sort_index().items()},
        "off_site_by_result": {k: int(v) for k, v in ch.loc[off, "result"].value_counts().sort_index().items()},
        "firms_covered": len(covered), "positive_list_covered": len(covered & pos_ids),
        "runs": int(ch.loc[ch["run_id"].notna(), "run_id"].nunique()),
        "on_site_hit_rate": round(v_all / n_on, 4) if n_on else None,
        "on_site_by_trigger": hit,
        "cap_per_year": cap_per_year,
        "firms_over_cap": [{"enterprise_id": e, "year": int(y), "visits": int(n),
                            "alarm_visits": int(alarm.get((e, y), 0))} for (e, y), n in over.items()],
        "firms_at_cap": int(len(at_cap)),
        "alarm_visits": int((onr["trigger"] == "alarm").sum()),
    }
    last = ch[off | on].groupby("enterprise_id")["time_utc"].max()
    days = ((t1 - last).dt.total_seconds() / 86400.0).reindex(ent["enterprise_id"])
    d = days.to_numpy(float)
    out["days_since_last_check"] = {
        "never_checked": int(np.isnan(d).sum()),
        "median": round(float(np.nanmedian(d)), 1) if np.isfinite(d).any() else None,
        "max": round(float(np.nanmax(d)), 1) if np.isfinite(d).any() else None}
    if per_firm:
        idx = pd.Index(ent["enterprise_id"])
        n_off_f = ch[off].groupby("enterprise_id").size().reindex(idx, fill_value=0).to_numpy()
        n_on_f = onr.groupby("enterprise_id").size().reindex(idx, fill_value=0).to_numpy()
        n_alarm_f = onr[onr["trigger"] == "alarm"].groupby("enterprise_id").size().reindex(idx, fill_value=0).to_numpy()
        max_year = (counted.groupby(level=0).max() if len(counted) else pd.Series(dtype=int)) \
            .reindex(idx, fill_value=0).to_numpy()
        last_s = last.reindex(idx).dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy()
        pl = ent["positive_list"].astype(bool).to_numpy()
        dr = np.round(d, 1)
        out["per_firm"] = [
            {"enterprise_id": e, "positive_list": bool(pl[i]),
             "last_check_utc": None if isinstance(last_s[i], float) or last_s[i] is None else last_s[i],
             "days_since_last_check": None if np.isnan(dr[i]) else float(dr[i]),
             "off_site": int(n_off_f[i]), "on_site": int(n_on_f[i]), "on_site_alarm": int(n_alarm_f[i]),
             "on_site_max_per_year": int(max_year[i]), "over_cap": bool(max_year[i] > cap_per_year)}
            for i, e in enumerate(idx)]
    out["computed_utc"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return out


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
