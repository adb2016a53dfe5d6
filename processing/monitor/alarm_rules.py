"""Alarm rules on the stored HJ 212 values: exceedances, flatlines, flags, missing data, zero flow.

Each rule is a function ``rule(ctx) -> list[dict]`` over a :class:`Context`: the observations
(one row per station × command × time × pollutant × suffix, with the data flag and the monitor it
belongs to), the monitors, the limits, the window, the production state per enterprise (from
:mod:`.power_rules`) and :class:`~.rules.AlarmRules`. Every alarm is a dict of
:data:`ALARM_COLUMNS` made by :func:`make_alarm`: who (enterprise, or unknown for a logger no
monitors file names), which monitor, what kind, when, the values, the limit, and the rule with
the parameters that fired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .rules import AlarmRules

ALARM_COLUMNS = ("alarm_id", "enterprise_id", "enterprise_known", "mn", "monitor_kind", "outlet_id", "kind",
                 "start_utc", "end_utc", "duration_min", "pollutant_code", "value", "limit_value", "unit",
                 "values", "rule", "standard", "clause", "limit_verified", "strength", "details")
OBS_COLUMNS = ("mn", "cn", "period", "time", "code", "suffix", "value", "flag")
CONCENTRATION_SUFFIXES = {"rtd": ("Rtd", "ZsRtd"), "minute": ("Avg", "ZsAvg"), "hour": ("Avg", "ZsAvg")}
_PERIOD_RANK = {"hour": 0, "minute": 1, "rtd": 2}


@dataclass
class Context:
    """What the rules read. ``obs`` has :data:`OBS_COLUMNS` plus ``valid`` (flag valid) and ``mon``
    (the row of ``monitors`` it belongs to, −1 when no monitor names it)."""

    obs: pd.DataFrame
    monitors: pd.DataFrame
    limits: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    rules: AlarmRules
    production: dict[str, pd.Series] = field(default_factory=dict)  # enterprise → bool on the power grid
    notes: list[str] = field(default_factory=list)

    def monitor(self, i: int) -> dict | None:
        return None if i < 0 else self.monitors.iloc[int(i)].to_dict()


def make_alarm(kind: str, rules: AlarmRules, *, mn: str, start, end, monitor: dict | None, code: str = "",
               value: float = math.nan, limit: float = math.nan, unit: str = "", values: str = "", rule: str = "",
               standard: str = "", clause: str = "", verified: bool | None = None, strength: float | None = None,
               details: str = "", enterprise_id: str | None = None) -> dict:
    """One alarm row (see :data:`ALARM_COLUMNS`); ``strength`` defaults to the kind's."""
    start, end = utc(start), utc(end)
    eid = enterprise_id if enterprise_id is not None else (monitor or {}).get("enterprise_id", "")
    return {"alarm_id": "", "enterprise_id": eid or "", "enterprise_known": bool(eid), "mn": mn,
            "monitor_kind": (monitor or {}).get("kind", "unknown"), "outlet_id": (monitor or {}).get("outlet_id", ""),
            "kind": kind, "start_utc": start, "end_utc": end,
            "duration_min": round((end - start).total_seconds() / 60.0, 1), "pollutant_code": code,
            "value": value, "limit_value": limit, "unit": unit, "values": values, "rule": rule,
            "standard": standard, "clause": clause, "limit_verified": verified,
            "strength": round(rules.strength_of(kind) if strength is None else strength, 3), "details": details}


def runs(mask: np.ndarray, times: np.ndarray, *, max_gap: np.timedelta64) -> list[tuple[int, int]]:
    """``(first, last)`` index pairs of the runs of True in ``mask`` over sorted ``times``; a run also
    ends where two readings are more than ``max_gap`` apart."""
    if len(mask) == 0:
        return []
    m = np.asarray(mask, dtype=bool)
    brk = np.ones(len(m), dtype=bool)
    brk[1:] = ~m[:-1] | (np.diff(times) > max_gap)
    out = []
    starts = np.flatnonzero(m & brk)
    for s in starts:
        e = s
        while e + 1 < len(m) and m[e + 1] and not brk[e + 1]:
            e += 1
        out.append((int(s), int(e)))
    return out


def tv(times) -> np.ndarray:
    """UTC times (a tz-aware Series or index) as naive ``datetime64[ns]`` for numpy."""
    t = pd.DatetimeIndex(times)
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.to_numpy("datetime64[ns]")


def utc(t) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def step_of(times: np.ndarray) -> np.timedelta64:
    """The usual interval between readings (median of the positive differences; 1 min if unknown)."""
    d = np.diff(times)
    d = d[d > np.timedelta64(0, "s")]
    return np.median(d).astype("timedelta64[s]") if len(d) else np.timedelta64(60, "s")


def finest(d: pd.DataFrame) -> pd.DataFrame:
    """The rows of each station × code from its finest period only (real-time, else minute, else
    hourly), so one behaviour is one alarm, not one per command."""
    if d.empty:
        return d
    rank = d["period"].map(_PERIOD_RANK).fillna(-1)  # rtd 2, minute 1, hour 0
    return d[rank == rank.groupby([d["mn"], d["code"]]).transform("max")]


def _fmt(values, unit: str, n: int = 6) -> str:
    v = [f"{x:.4g}" for x in values[:n]]
    return ", ".join(v) + (f" … ({len(values)} values)" if len(values) > n else "") + (f" {unit}" if unit else "")


def local_hours(times: pd.DatetimeIndex | pd.Series, tz: str) -> np.ndarray:
    t = pd.DatetimeIndex(times)
    t = t.tz_localize("UTC") if t.tz is None else t
    return t.tz_convert(tz).hour.to_numpy()


def production_share(ctx: Context, enterprise_id: str, start, end) -> float | None:
    """Share of [start, end] the enterprise's production meter says production runs; None without one."""
    s = ctx.production.get(enterprise_id) if enterprise_id else None
    if s is None or len(s) == 0:
        return None
    w = s[(s.index >= utc(start) - pd.Timedelta(minutes=ctx.rules.power_grid_minutes)) & (s.index <= utc(end))]
    return float(w.mean()) if len(w) else None


# -- exceedance ------------------------------------------------------------------------------------
def hourly_averages(obs: pd.DataFrame, rules: AlarmRules) -> pd.DataFrame:
    """One row per station × code × basis × hour: the hourly average of the valid values, from hourly
    packets when sent, else the mean of minute averages, else of real-time values (at least
    ``min_readings_per_hour``). ``basis`` is ``converted`` for the ``Zs`` values, else ``measured``."""
    want = [(p, s) for p, ss in CONCENTRATION_SUFFIXES.items() for s in ss]
    sel = pd.Series(False, index=obs.index)
    for p, s in want:
        sel |= (obs["period"] == p) & (obs["suffix"] == s)
    d = obs[sel & obs["valid"] & obs["value"].notna()]
    if d.empty:
        return pd.DataFrame(columns=["mn", "code", "basis", "hour", "period", "avg", "n", "mon"])
    d = d.assign(basis=np.where(d["suffix"].str.startswith("Zs"), "converted", "measured"),
                 hour=d["time"].dt.floor("h"), rank=d["period"].map(_PERIOD_RANK))
    g = d.groupby(["mn", "code", "basis", "hour", "rank"], sort=False).agg(
        avg=("value", "mean"), n=("value", "size"), mon=("mon", "max")).reset_index()
    g = g[(g["rank"] == 0) | (g["n"] >= rules.min_readings_per_hour)]
    g = g.sort_values("rank").drop_duplicates(["mn", "code", "basis", "hour"], keep="first")
    g["period"] = g["rank"].map({v: k for k, v in _PERIOD_RANK.items()})
    return g.drop(columns="rank").sort_values(["mn", "code", "basis", "hour"]).reset_index(drop=True)


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
    # the hourly limit rows per code, in the limits file's order (looked up per group, not filtered)
    rows_of: dict[str, list] = {}
    for lr in lim[lim["averaging"] == "hour"].itertuples(index=False):
        rows_of.setdefault(lr.pollutant_code, []).append(lr)
    t_all, avg_all, period_all = tv(hours["hour"]), hours["avg"].to_numpy(float), hours["period"].to_numpy()
    groups = hours.groupby(["mn", "code", "basis", "mon"], sort=True).indices
    for (mn, code, basis, mon) in sorted(groups):
        sets = sets_of.get(int(mon), ()) if mon >= 0 else r.limits_for_unknown
        if not sets:
            continue
        ix = groups[(mn, code, basis, mon)]
        # the limit's basis (measured / converted to reference O2) picks the values; the other basis
        # is used, and said, only when the logger sends no values of the right one
        for lr in (x for x in rows_of.get(code, ()) if x.limit_set in sets):
            if lr.basis != basis and (mn, code, lr.basis) in bases:
                continue
            note = "" if lr.basis == basis else f" (the limit is on {lr.basis} values; the logger sends {basis} only)"
            t, avg = t_all[ix], avg_all[ix]
            over = avg > float(lr.limit_value)
            for a, b in runs(over, t, max_gap=np.timedelta64(3600, "s")):
                v = avg[a:b + 1]
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
                    details=f"{b - a + 1} hour(s), peak {ratio:.2f} × the limit, from {period_all[ix[a]]} data"
                            + note))
    return out


# -- flatline --------------------------------------------------------------------------------------
def _group_steps(key: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per row, :func:`step_of` of its group (rows sorted by group, then time; ``key`` the group code)."""
    ns = t.astype("datetime64[ns]").astype(np.int64)
    d = np.diff(ns)
    same = key[1:] == key[:-1]
    pos = same & (d > 0)
    uk, inv = np.unique(key, return_inverse=True)
    med = pd.Series(d[pos].astype(float)).groupby(inv[1:][pos]).median()
    step_s = np.full(len(uk), 60, dtype=np.int64)
    step_s[med.index.to_numpy()] = np.floor(med.to_numpy() / 1e9).astype(np.int64)   # as astype("timedelta64[s]")
    return step_s[inv]


def rule_flatline(ctx: Context) -> list[dict]:
    """Runs of valid readings that do not move (each within tolerance of the one before) for at least
    ``flatline_min_readings`` readings and ``flatline_min_minutes`` — over every station × command ×
    code at once (one sort, chains by cumulative sums, one groupby)."""
    r = ctx.rules
    o = ctx.obs
    sel = (((o["period"] == "rtd") & (o["suffix"] == "Rtd")) | (o["period"].isin(["minute", "hour"])
                                                                 & (o["suffix"] == "Avg")))
    d = finest(o[sel & o["valid"] & o["value"].notna() & ~o["code"].isin(r.flatline_exclude_codes)])
    if d.empty:
        return []
    d = d.sort_values(["mn", "cn", "code", "time"], kind="stable")
    key = d.groupby(["mn", "cn", "code"], sort=True).ngroup().to_numpy()
    v = d["value"].to_numpy(float)
    t = tv(d["time"])
    step_s = _group_steps(key, t)
    gap_s = np.maximum(step_s * 3, int(r.gap_min_minutes * 60))
    first = np.r_[True, key[1:] != key[:-1]]
    same = np.zeros(len(v), dtype=bool)
    tol = np.maximum(r.flatline_abs_tol, r.flatline_rel_tol * np.abs(v[:-1]))
    dt_s = np.diff(t).astype("timedelta64[ns]").astype(np.int64) / 1e9
    same[1:] = (np.abs(np.diff(v)) <= tol) & (dt_s <= gap_s[1:]) & ~first[1:]
    chain = np.cumsum(~same)
    c = pd.DataFrame({"chain": chain, "v": v, "i": np.arange(len(v))}).groupby("chain", sort=True).agg(
        a=("i", "first"), b=("i", "last"), n=("v", "size"), lo=("v", "min"), hi=("v", "max"), med=("v", "median"))
    a, b = c["a"].to_numpy(), c["b"].to_numpy()
    span_s = (t[b] - t[a]).astype("timedelta64[ns]").astype(np.int64) / 1e9 + step_s[a]
    keep = (c["n"].to_numpy() >= r.flatline_min_readings) & (span_s >= r.flatline_min_minutes * 60) \
        & ~(c["hi"].to_numpy() <= r.flatline_ignore_at_or_below)
    mn, cn, code, mon = (d[k].to_numpy() for k in ("mn", "cn", "code", "mon"))
    rule = (f"≥ {r.flatline_min_readings} readings and ≥ {r.flatline_min_minutes:g} min each within "
            f"max({r.flatline_abs_tol:g}, {r.flatline_rel_tol:g} × value) of the one before")
    out = []
    for k in np.flatnonzero(keep):
        i, j = int(a[k]), int(b[k])
        out.append(make_alarm(
            "flatline", r, mn=mn[i], start=t[i], end=utc(t[j]) + pd.Timedelta(seconds=int(step_s[i])),
            monitor=ctx.monitor(int(mon[i])), code=code[i], value=float(c["med"].iat[k]),
            values=f"{int(c['n'].iat[k])} readings {c['lo'].iat[k]:.6g}–{c['hi'].iat[k]:.6g}", rule=rule,
            details=f"CN {cn[i]}; a live analyser's readings move: stuck, simulated or replayed data?"))
    return out


# -- flags -----------------------------------------------------------------------------------------
def _flag_frame(ctx: Context) -> pd.DataFrame:
    """Per station × command × time: the flags its items carry (distinct, sorted, joined), and its
    monitor — one factorisation of the keys, then numpy per distinct flag (no Python per group)."""
    o = ctx.obs[ctx.obs["period"].isin(["rtd", "minute", "hour"])]
    if o.empty:
        return pd.DataFrame(columns=["mn", "cn", "time", "flags", "codes", "mon"])
    flag = o["flag"].fillna("N").to_numpy(object)
    gid = o.groupby([o["mn"], o["cn"], o["time"]], sort=True).ngroup().to_numpy()
    n = int(gid.max()) + 1
    _, first = np.unique(gid, return_index=True)
    out = o.iloc[first][["mn", "cn", "time"]].reset_index(drop=True)
    flags = np.full(n, "", dtype=object)
    for v in sorted(set(flag)):
        has = np.zeros(n, dtype=bool)
        has[gid[flag == v]] = True
        flags = np.where(has, flags + v, flags)
    mon = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(mon, gid, o["mon"].to_numpy(np.int64))
    out["flags"] = flags
    out["mon"] = mon
    return out


def _codes_flagged(rows: pd.DataFrame, t0, t1, letters: tuple[str, ...]) -> str:
    """The codes of one station × command's ``rows`` flagged with ``letters`` within [t0, t1]."""
    m = (rows["time"] >= t0) & (rows["time"] <= t1) & rows["flag"].isin(letters)
    return " ".join(sorted(rows.loc[m, "code"].unique()))


def rule_flags(ctx: Context) -> list[dict]:
    """Maintenance / calibration (M, C) while production runs, at least ``maintenance_min_minutes``;
    fault / communication or power fault (D, B, P) at least ``fault_min_minutes``, and stopped (F)
    that long while production runs (meter, else the assumed production hours)."""
    r = ctx.rules
    ff = _flag_frame(ctx)
    flagged = ctx.obs[ctx.obs["flag"].notna() & (ctx.obs["flag"] != "N")]
    rows_of = dict(tuple(flagged.groupby(["mn", "cn"], sort=False)))
    out = []
    if len(ff):   # only the station × commands with a flag other than N
        ff = ff[(ff["flags"] != "N").groupby([ff["mn"], ff["cn"]]).transform("any").to_numpy(bool)]
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


# -- missing data and completeness -----------------------------------------------------------------
def _gap_alarms(ctx: Context, mns: np.ndarray, t: np.ndarray, mon_of: dict) -> list[dict]:
    """Gaps > ``gap_min_minutes`` between each logger's sorted unique times (``mns``, ``t``) and from the
    window's ends, all loggers at once."""
    r = ctx.rules
    if len(t) == 0:
        return []
    first = np.r_[True, mns[1:] != mns[:-1]]
    last = np.r_[mns[1:] != mns[:-1], True]
    s0, e0 = tv([ctx.start])[0], tv([ctx.end])[0]
    prev = np.where(first, s0, np.r_[t[:1], t[:-1]])       # the edge before each time
    cand = []   # (row, t0, t1, details): gaps ending at a time, then the gap to the window's end
    gap = pd.Timedelta(minutes=r.gap_min_minutes).to_timedelta64()
    before = (t - prev) > gap
    after = (e0 - t) > gap
    for i in np.flatnonzero(before | (last & after)):
        if before[i]:
            cand.append((i, prev[i], t[i], "from the start of the window" if first[i] else ""))
        if last[i] and after[i]:
            cand.append((i, t[i], e0, "to the end of the window"))
    out = []
    for i, a, b, det in cand:
        t0, t1 = utc(a), utc(b)
        out.append(make_alarm("data_gap", r, mn=mns[i], start=t0, end=t1, monitor=ctx.monitor(mon_of[mns[i]]),
                              values=f"no data for {(t1 - t0).total_seconds() / 60:.0f} min",
                              rule=f"no data from the logger for > {r.gap_min_minutes:g} min", details=det))
    return out


def _hours_per_day(mns: np.ndarray, times: pd.Series, hours_all: pd.DatetimeIndex, day_of: dict,
                   exclude: set | None = None) -> tuple[dict, set]:
    """``{(mn, local day): number of distinct hours}`` of ``times`` inside ``hours_all`` (``exclude``:
    ``(mn, hour)`` pairs left out), and the set of ``(mn, hour)`` counted."""
    if not len(times) or not len(hours_all):
        return {}, set()
    h = pd.DatetimeIndex(times).floor("h")
    f = pd.DataFrame({"mn": mns, "h": h}).drop_duplicates()
    f = f[(f["h"] >= hours_all[0]) & (f["h"] <= hours_all[-1])]
    pairs = set(zip(f["mn"], f["h"]))
    if exclude:
        f = f[[p not in exclude for p in zip(f["mn"], f["h"])]]
        pairs -= exclude
    f = f.assign(day=f["h"].map(day_of))
    return f.groupby(["mn", "day"]).size().to_dict(), pairs


def rule_missing(ctx: Context) -> tuple[list[dict], pd.DataFrame]:
    """Gaps longer than ``gap_min_minutes`` between a logger's data (and from the window's ends),
    registered monitors that sent nothing, and completeness per local day: the share of the day's
    hours inside the window with at least one valid value (hours the source reports stopped, F,
    with nothing valid, are left out). Returns the alarms and the completeness
    table (``mn, day_local, hours_expected, hours_valid, completeness``). All loggers at once."""
    r = ctx.rules
    o = ctx.obs[ctx.obs["period"].isin(["rtd", "minute", "hour"])]
    start, end = ctx.start, ctx.end
    hours_all = pd.date_range(start.floor("h"), end.ceil("h"), freq="h", inclusive="left")
    day_of_arr = hours_all.tz_convert(r.timezone).date
    expected = pd.Series(1, index=hours_all).groupby(day_of_arr).size()
    day_of = dict(zip(hours_all, day_of_arr))
    mon_of = o.groupby("mn", sort=True)["mon"].max().astype(int).to_dict()
    u = pd.DataFrame({"mn": o["mn"].to_numpy(), "t": tv(o["time"])}).drop_duplicates().sort_values(
        ["mn", "t"], kind="stable")
    out = _gap_alarms(ctx, u["mn"].to_numpy(), u["t"].to_numpy(), mon_of)
    vo = o[o["valid"]]
    got, valid_pairs = _hours_per_day(vo["mn"].to_numpy(), vo["time"], hours_all, day_of)
    fo = o[o["flag"] == "F"]
    stopped, _ = _hours_per_day(fo["mn"].to_numpy(), fo["time"], hours_all, day_of, exclude=valid_pairs)
    comp_rows = []
    for mn in sorted(mon_of):
        m = ctx.monitor(mon_of[mn])
        eid = (m or {}).get("enterprise_id", "")
        for day, n_all in expected.items():
            n = int(got.get((mn, day), 0))
            n_exp = int(n_all) - int(stopped.get((mn, day), 0))
            if n_exp <= 0:
                comp_rows.append((mn, str(day), 0, n, 1.0, eid))
                continue
            c = n / n_exp
            comp_rows.append((mn, str(day), int(n_exp), n, round(c, 4), eid))
            if c < r.min_completeness:
                d0 = pd.Timestamp(day).tz_localize(r.timezone).tz_convert("UTC")
                out.append(make_alarm("incomplete_day", r, mn=mn, start=max(d0, start),
                                      end=min(d0 + pd.Timedelta(days=1), end), monitor=m, value=round(c, 4),
                                      limit=r.min_completeness, values=f"{n} of {n_exp} hours with valid data",
                                      rule=f"valid hours / hours in the window < {r.min_completeness:g} per local day",
                                      details=f"local day {day}"))
    seen = set(mon_of)
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


# -- zero flow / ambient O2 while production runs ----------------------------------------------------
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
    if d.empty:
        return out
    # one wide table of all loggers (a pivot per logger was most of this rule's time)
    by = d.groupby(["mn", "cn", "time", "code"], sort=True)
    wide, wide_valid = by["value"].first().unstack("code"), by["valid"].first().unstack("code")
    for (mn, cn), g in d.groupby(["mn", "cn"], sort=True):
        w = wide.loc[(mn, cn)].dropna(axis=1, how="all").sort_index()
        w.columns.name = "code"
        valid = wide_valid.loc[(mn, cn)][w.columns].reindex(w.index)
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
