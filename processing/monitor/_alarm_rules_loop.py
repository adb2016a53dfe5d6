"""The per-group loop versions of the alarm rules, kept as the reference of the vectorised ones.

:mod:`.alarm_rules` computes flatlines, the flag frame, gaps and completeness, and zero flow with
whole-frame pandas/numpy operations, and :mod:`.alarms` builds the observations without a Python
object per time; these are the loops over every station × code they replaced and the old
observation frame (as of the commit before them), unchanged. ``tests/test_alarms_vectorised.py`` checks that
both give the same alarms on the real hours and on simulated traffic, and
``benchmarks/bench_alarms.py`` times both in one run. :func:`loop_rules` swaps them in.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from ..hj212 import codes
from .alarm_rules import (OBS_COLUMNS, Context, _codes_flagged, _fmt, finest, hourly_averages, local_hours, make_alarm, production_share,
                          runs, step_of, tv, utc)
from .alarms import DATA_CNS


@contextlib.contextmanager
def loop_rules():
    """Within the block, :func:`~.alarms.compute_alarms` runs the loop versions of the rules."""
    from . import alarm_rules, alarms

    names = ("observations", "rule_exceedance", "rule_flatline", "rule_flags", "rule_missing", "rule_zero_flow")
    saved = alarm_rules._flag_frame, {n: getattr(alarms, n) for n in names}
    alarm_rules._flag_frame = _flag_frame
    for n in names:
        setattr(alarms, n, globals()[n])
    try:
        yield
    finally:
        alarm_rules._flag_frame = saved[0]
        for n, f in saved[1].items():
            setattr(alarms, n, f)


def rule_flatline(ctx: Context) -> list[dict]:
    """Runs of valid readings that do not move (each within tolerance of the one before) for at least
    ``flatline_min_readings`` readings and ``flatline_min_minutes``."""
    r = ctx.rules
    o = ctx.obs
    sel = (((o["period"] == "rtd") & (o["suffix"] == "Rtd")) | (o["period"].isin(["minute", "hour"])
                                                                 & (o["suffix"] == "Avg")))
    d = finest(o[sel & o["valid"] & o["value"].notna() & ~o["code"].isin(r.flatline_exclude_codes)])
    out = []
    min_dur = np.timedelta64(int(r.flatline_min_minutes * 60), "s")
    for (mn, cn, code), g in d.groupby(["mn", "cn", "code"], sort=True):
        if len(g) < r.flatline_min_readings:
            continue
        g = g.sort_values("time")
        v = g["value"].to_numpy(float)
        t = tv(g["time"])
        tol = np.maximum(r.flatline_abs_tol, r.flatline_rel_tol * np.abs(v[:-1]))
        step = step_of(t)
        max_gap = max(step * 3, np.timedelta64(int(r.gap_min_minutes * 60), "s"))
        # chains of readings each within tolerance of the one before (and not after a gap)
        same = np.zeros(len(v), dtype=bool)
        same[1:] = (np.abs(np.diff(v)) <= tol) & (np.diff(t) <= max_gap)
        chain = np.cumsum(~same)
        bounds = np.flatnonzero(np.diff(np.concatenate([[-1], chain, [chain[-1] + 1]])))
        for a, b in zip(bounds[:-1], bounds[1:] - 1):
            n = b - a + 1
            seg = v[a:b + 1]
            if n < r.flatline_min_readings or (t[b] - t[a] + step) < min_dur:
                continue
            if np.all(seg <= r.flatline_ignore_at_or_below):
                continue
            mon = int(g["mon"].iat[a])
            out.append(make_alarm(
                "flatline", r, mn=mn, start=t[a], end=utc(t[b]) + pd.Timedelta(step), monitor=ctx.monitor(mon),
                code=code, value=float(np.median(seg)), values=f"{n} readings {seg.min():.6g}–{seg.max():.6g}",
                rule=(f"≥ {r.flatline_min_readings} readings and ≥ {r.flatline_min_minutes:g} min each within "
                      f"max({r.flatline_abs_tol:g}, {r.flatline_rel_tol:g} × value) of the one before"),
                details=f"CN {cn}; a live analyser's readings move: stuck, simulated or replayed data?"))
    return out


def _flag_frame(ctx: Context) -> pd.DataFrame:
    """Per station × command × time: the set of flags its items carry, and its monitor."""
    o = ctx.obs[ctx.obs["period"].isin(["rtd", "minute", "hour"])]
    if o.empty:
        return pd.DataFrame(columns=["mn", "cn", "time", "flags", "codes", "mon"])
    f = o.assign(flag=o["flag"].fillna("N"))
    g = f.groupby(["mn", "cn", "time"], sort=True).agg(flags=("flag", lambda s: "".join(sorted(set(s)))),
                                                        mon=("mon", "max"))
    return g.reset_index()


def rule_missing(ctx: Context) -> tuple[list[dict], pd.DataFrame]:
    """Gaps longer than ``gap_min_minutes`` between a logger's data (and from the window's ends),
    registered monitors that sent nothing, and completeness per local day: the share of the day's
    hours inside the window with at least one valid value (hours the source reports stopped, F,
    with nothing valid, are left out). Returns the alarms and the completeness
    table (``mn, day_local, hours_expected, hours_valid, completeness``)."""
    r = ctx.rules
    o = ctx.obs[ctx.obs["period"].isin(["rtd", "minute", "hour"])]
    out = []
    start, end = ctx.start, ctx.end
    gap = pd.Timedelta(minutes=r.gap_min_minutes)
    hours_all = pd.date_range(start.floor("h"), end.ceil("h"), freq="h", inclusive="left")
    day_of = hours_all.tz_convert(r.timezone).date
    expected = pd.Series(1, index=hours_all).groupby(day_of).size()
    comp_rows = []
    for mn, g in o.groupby("mn", sort=True):
        t = np.unique(tv(g["time"]))
        mon = int(g["mon"].max())
        m = ctx.monitor(mon)
        edges = np.concatenate([[tv([start])[0]], t, [tv([end])[0]]]).astype("datetime64[ns]")
        d = np.diff(edges)
        for i in np.flatnonzero(d > gap.to_timedelta64()):
            t0, t1 = utc(edges[i]), utc(edges[i + 1])
            out.append(make_alarm("data_gap", r, mn=mn, start=t0, end=t1, monitor=m,
                                  values=f"no data for {(t1 - t0).total_seconds() / 60:.0f} min",
                                  rule=f"no data from the logger for > {r.gap_min_minutes:g} min",
                                  details="from the start of the window" if i == 0 else
                                  ("to the end of the window" if i == len(d) - 1 else "")))
        valid_hours = pd.DatetimeIndex(g.loc[g["valid"], "time"]).floor("h").unique()
        valid_hours = valid_hours[(valid_hours >= hours_all[0]) & (valid_hours <= hours_all[-1])] \
            if len(hours_all) else valid_hours
        got = pd.Series(1, index=valid_hours).groupby(valid_hours.tz_convert(r.timezone).date).size()
        # hours the source reports itself stopped (F) and nothing valid are not missing (HJ 75 leaves
        # a source's stopped time out of its capture rate)
        f_hours = pd.DatetimeIndex(g.loc[g["flag"] == "F", "time"]).floor("h").unique().difference(valid_hours)
        f_hours = f_hours[(f_hours >= hours_all[0]) & (f_hours <= hours_all[-1])] if len(hours_all) else f_hours
        stopped = pd.Series(1, index=f_hours).groupby(f_hours.tz_convert(r.timezone).date).size()
        for day, n_all in expected.items():
            n = int(got.get(day, 0))
            n_exp = int(n_all) - int(stopped.get(day, 0))
            if n_exp <= 0:
                comp_rows.append((mn, str(day), 0, n, 1.0, (m or {}).get("enterprise_id", "")))
                continue
            c = n / n_exp
            comp_rows.append((mn, str(day), int(n_exp), n, round(c, 4), (m or {}).get("enterprise_id", "")))
            if c < r.min_completeness:
                d0 = pd.Timestamp(day).tz_localize(r.timezone).tz_convert("UTC")
                out.append(make_alarm("incomplete_day", r, mn=mn, start=max(d0, start),
                                      end=min(d0 + pd.Timedelta(days=1), end), monitor=m, value=round(c, 4),
                                      limit=r.min_completeness, values=f"{n} of {n_exp} hours with valid data",
                                      rule=f"valid hours / hours in the window < {r.min_completeness:g} per local day",
                                      details=f"local day {day}"))
    seen = set(o["mn"].unique())
    for _i, m in ctx.monitors.iterrows():
        if m["mn"] in seen:
            continue
        seen.add(m["mn"])
        out.append(make_alarm("no_data", r, mn=m["mn"], start=start, end=end, monitor=m.to_dict(),
                              values="no packet in the window", rule="a monitor of the monitors file sent nothing",
                              details=f"monitors.csv row {m['_row']}"))
        for day, n_exp in expected.items():
            comp_rows.append((m["mn"], str(day), int(n_exp), 0, 0.0, m["enterprise_id"]))
    comp = pd.DataFrame(comp_rows, columns=["mn", "day_local", "hours_expected", "hours_valid", "completeness",
                                            "enterprise_id"])
    return out, comp


def rule_zero_flow(ctx: Context) -> list[dict]:
    """Zero flue-gas flow or ambient O2 (≈ 21 %) at a stack while production runs (its enterprise's
    production meter), at least ``zero_flow_min_minutes``. Without a production meter the alarm is
    raised at half strength when the logger flags those values N (normal operation: a stopped
    source should send F) — the data contradict themselves either way."""
    r = ctx.rules
    o = ctx.obs
    sel = ((o["period"] == "rtd") & (o["suffix"] == "Rtd")) | (o["period"].isin(["minute", "hour"])
                                                               & (o["suffix"] == "Avg"))
    d = finest(o[sel & o["value"].notna() & (o["code"].isin(r.flow_codes) | o["code"].isin(r.o2_codes))])
    bad_row = (d["code"].isin(r.flow_codes) & (d["value"] <= r.zero_flow_max)) | \
        (d["code"].isin(r.o2_codes) & (d["value"] >= r.ambient_o2_min_pct))
    d = d[d["mn"].isin(set(d.loc[bad_row, "mn"]))]  # only loggers that ever show it
    out = []
    for (mn, cn), g in d.groupby(["mn", "cn"], sort=True):
        w = g.pivot_table(index="time", columns="code", values="value", aggfunc="first").sort_index()
        valid = g.pivot_table(index="time", columns="code", values="valid", aggfunc="first").reindex(w.index)
        flow = w[[c for c in r.flow_codes if c in w.columns]]
        o2 = w[[c for c in r.o2_codes if c in w.columns]]
        bad = pd.Series(False, index=w.index)
        if flow.shape[1]:
            bad |= (flow <= r.zero_flow_max).any(axis=1)
        if o2.shape[1]:
            bad |= (o2 >= r.ambient_o2_min_pct).any(axis=1)
        t = tv(w.index)
        step = step_of(t)
        mon = int(g["mon"].max())
        m = ctx.monitor(mon)
        eid = (m or {}).get("enterprise_id", "")
        for a, b in runs(bad.to_numpy(), t, max_gap=max(step * 3, np.timedelta64(int(r.gap_min_minutes * 60), "s"))):
            t0, t1 = utc(t[a]), utc(t[b]) + pd.Timedelta(step)
            if (t1 - t0).total_seconds() / 60 < r.zero_flow_min_minutes:
                continue
            seg = w.iloc[a:b + 1]
            share = production_share(ctx, eid, t0, t1)
            if share is not None and share < 0.5:
                continue  # production stopped: zero flow is what it should be
            if share is None:
                vseg = valid.iloc[a:b + 1].fillna(False).astype(bool)
                if not vseg.to_numpy().any():
                    continue
                how, strength = ("no production meter: the logger flags these values N (normal operation)",
                                 r.strength_of("zero_flow_in_production") * 0.5)
            else:
                how, strength = f"production meter says production runs ({share:.0%} of the time)", None
            parts = []
            if flow.shape[1]:
                parts.append(f"flow {seg[flow.columns].min().min():.4g}–{seg[flow.columns].max().max():.4g}")
            if o2.shape[1]:
                parts.append(f"O2 {seg[o2.columns].min().min():.4g}–{seg[o2.columns].max().max():.4g} %")
            out.append(make_alarm(
                "zero_flow_in_production", r, mn=mn, start=t0, end=t1, monitor=m, strength=strength,
                code=",".join([*flow.columns, *o2.columns]), values="; ".join(parts),
                rule=(f"flow ≤ {r.zero_flow_max:g} or O2 ≥ {r.ambient_o2_min_pct:g} % for ≥ "
                      f"{r.zero_flow_min_minutes:g} min while production runs"), details=f"CN {cn}; {how}"))
    return out


def rule_flags(ctx: Context) -> list[dict]:
    """Maintenance / calibration (M, C) while production runs, at least ``maintenance_min_minutes``;
    fault / communication or power fault (D, B, P) at least ``fault_min_minutes``, and stopped (F)
    that long while production runs (meter, else the assumed production hours)."""
    r = ctx.rules
    ff = _flag_frame(ctx)
    flagged = ctx.obs[ctx.obs["flag"].notna() & (ctx.obs["flag"] != "N")]
    rows_of = dict(tuple(flagged.groupby(["mn", "cn"], sort=False)))
    out = []
    for (mn, cn), g in ff.groupby(["mn", "cn"], sort=True):
        if not any(f != "N" for f in g["flags"]):
            continue
        rows = rows_of.get((mn, cn), flagged.iloc[:0])
        t = tv(g["time"])
        step = step_of(t)
        gap = max(step * 3, np.timedelta64(int(r.gap_min_minutes * 60), "s"))
        flags = g["flags"].to_numpy(str)
        mon = int(g["mon"].max())
        m = ctx.monitor(mon)
        eid = (m or {}).get("enterprise_id", "")
        mc = np.array([("M" in f) or ("C" in f) for f in flags])
        for a, b in runs(mc, t, max_gap=gap):
            t0, t1 = utc(t[a]), utc(t[b]) + pd.Timedelta(step)
            minutes = (t1 - t0).total_seconds() / 60
            if minutes < r.maintenance_min_minutes:
                continue
            share = production_share(ctx, eid, t0, t1)
            if share is None:
                h = local_hours(pd.DatetimeIndex(t[a:b + 1]), r.timezone)
                lo, hi = r.production_hours_local
                share = float(np.mean((h >= lo) & (h < hi)))
                how = f"production hours assumed {lo:02d}:00–{hi:02d}:00 local (no production meter)"
            else:
                how = "production meter says production runs"
            if share < 0.5:
                continue
            letters = "".join(sorted({c for f in flags[a:b + 1] for c in f if c in "MC"}))
            out.append(make_alarm(
                "maintenance_in_production", r, mn=mn, start=t0, end=t1, monitor=m,
                values=f"flags {letters} on {_codes_flagged(rows, t0, t1, ('M', 'C'))}",
                rule=f"M/C flags ≥ {r.maintenance_min_minutes:g} min in production hours",
                details=f"CN {cn}; {how} for {share:.0%} of the time"))
        for letter in r.fault_flags:
            has = np.array([letter in f for f in flags])
            for a, b in runs(has, t, max_gap=gap):
                t0, t1 = utc(t[a]), utc(t[b]) + pd.Timedelta(step)
                if (t1 - t0).total_seconds() / 60 < r.fault_min_minutes:
                    continue
                share = production_share(ctx, eid, t0, t1)
                if letter == "F":  # "stopped": what a stopped source should send; suspicious only in production
                    prod = share
                    if prod is None:
                        h = local_hours(pd.DatetimeIndex(t[a:b + 1]), r.timezone)
                        prod = float(np.mean((h >= r.production_hours_local[0]) & (h < r.production_hours_local[1])))
                    if prod < 0.5:
                        continue
                strength = r.strength_of("long_fault_flag") * (2.0 if (share or 0) >= 0.5 else 1.0)
                out.append(make_alarm(
                    "long_fault_flag", r, mn=mn, start=t0, end=t1, monitor=m, strength=min(strength, 0.9),
                    values=f"flag {letter} on {_codes_flagged(rows, t0, t1, (letter,))}",
                    rule=f"flag {letter} ≥ {r.fault_min_minutes:g} min",
                    details=f"CN {cn}" + ("; production meter says production runs" if (share or 0) >= 0.5 else "")))
    return out


def observations(records: pd.DataFrame) -> pd.DataFrame:
    """The rules' observation frame (:data:`~.alarm_rules.OBS_COLUMNS`) from stored records
    (``mn, cn, data_time_utc, pollutant_code, pollutant_code_2017, suffix, value, flag``): the code is
    the 2017 code when there is one, else as sent; ``period`` from the command."""
    r = records[records["cn"].isin(DATA_CNS) & records["data_time_utc"].notna()]
    period = r["cn"].map(lambda c: codes.COMMANDS.get(c, ("", "", None))[2])
    code = r["pollutant_code_2017"].where(r["pollutant_code_2017"].notna() & (r["pollutant_code_2017"] != ""),
                                          r["pollutant_code"])
    t = pd.to_datetime(r["data_time_utc"], utc=True)
    out = pd.DataFrame({"mn": r["mn"].astype(str).to_numpy(), "cn": r["cn"].astype(str).to_numpy(),
                        "period": period.to_numpy(), "time": t.to_numpy(), "code": code.astype(str).to_numpy(),
                        "suffix": r["suffix"].astype(str).to_numpy(),
                        "value": pd.to_numeric(r["value"], errors="coerce").astype(float).to_numpy(),
                        "flag": r["flag"].where(r["flag"].notna(), None).to_numpy()})
    out["time"] = pd.to_datetime(out["time"], utc=True)
    return out[list(OBS_COLUMNS)]


def rule_exceedance(ctx: Context) -> list[dict]:
    """Hourly averages above a limit of the monitor's limit sets (``limits`` in monitors.csv; for
    loggers no monitors file names, ``rules.limits_for_unknown``); consecutive hours are one alarm."""
    r, lim = ctx.rules, ctx.limits
    if lim is None or lim.empty:
        return []
    hours = hourly_averages(ctx.obs, r)
    if hours.empty:
        return []
    out = []
    sets_of = {i: tuple(m["limits"]) for i, m in ctx.monitors.iterrows()}
    bases = set(zip(hours["mn"], hours["code"], hours["basis"]))
    for (mn, code, basis, mon), g in hours.groupby(["mn", "code", "basis", "mon"], sort=True):
        sets = sets_of.get(int(mon), ()) if mon >= 0 else r.limits_for_unknown
        if not sets:
            continue
        rows = lim[lim["limit_set"].isin(sets) & (lim["pollutant_code"] == code) & (lim["averaging"] == "hour")]
        # the limit's basis (measured / converted to reference O2) picks the values; the other basis
        # is used, and said, only when the logger sends no values of the right one
        for lr in rows.itertuples(index=False):
            if lr.basis != basis and (mn, code, lr.basis) in bases:
                continue
            note = "" if lr.basis == basis else f" (the limit is on {lr.basis} values; the logger sends {basis} only)"
            t = tv(g["hour"])
            over = g["avg"].to_numpy(float) > float(lr.limit_value)
            for a, b in runs(over, t, max_gap=np.timedelta64(3600, "s")):
                v = g["avg"].to_numpy(float)[a:b + 1]
                ratio = float(v.max() / lr.limit_value)
                strength = min(0.95, r.strength_of("exceedance") * (1 + 0.5 * min(ratio - 1, 1.0)))
                verified = bool(lr.verified)
                out.append(make_alarm(
                    "exceedance", r, mn=mn, start=t[a], end=utc(t[b]) + pd.Timedelta(hours=1),
                    monitor=ctx.monitor(mon), code=code, value=float(v.max()), limit=float(lr.limit_value),
                    unit=lr.unit, values="hourly averages " + _fmt(v, lr.unit), standard=lr.standard,
                    clause=lr.clause, verified=verified, strength=strength,
                    rule=(f"hourly average of {code} > {lr.limit_value:g} {lr.unit} ({lr.limit_set}, {lr.clause}; "
                          f"limit {'checked against the official text' if verified else 'NOT verified'})"),
                    details=f"{b - a + 1} hour(s), peak {ratio:.2f} × the limit, from {g['period'].iat[a]} data"
                            + note))
    return out
