"""The per-meter loop versions of the electricity rules, kept as the reference of the vectorised ones.

:mod:`.power_rules` puts every meter on the grid, decides production, and applies every
electricity rule to every production/treatment pair with whole-array numpy operations; these are
the functions it replaced (as of commit 7a63a87), unchanged but for one fix both sides share (the
night-use rule is checked once per enterprise on its production meters, no longer once per
treatment meter): :func:`power_series` resamples each meter in a Python loop, :func:`rule_power`
walks each pair with pandas. ``tests/test_alarms_vectorised.py``
checks that both give the same alarms, ``benchmarks/bench_alarms.py`` times both in one run.
:func:`loop_power_rules` swaps them in (and :func:`~._alarm_rules_loop.loop_rules` with the other loops).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from .alarm_rules import Context, make_alarm, runs, tv, utc


@contextlib.contextmanager
def loop_power_rules():
    """Within the block, :func:`~.alarms.compute_alarms` runs the loop versions of the electricity rules."""
    from . import alarms

    names = ("power_series", "production_state", "rule_power")
    saved = {n: getattr(alarms, n) for n in names}
    for n in names:
        setattr(alarms, n, globals()[n])
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(alarms, n, f)


def power_series(ctx: Context) -> dict[int, pd.Series]:
    """Monitor row → its active power (kW) averaged on the ``power_grid_minutes`` grid (UTC index).

    A meter row's items are those of its MN with its ``codes`` (all codes when empty) and its
    ``power_suffix``; several codes on one row are summed. Grid cells without a reading stay NaN.
    """
    r = ctx.rules
    mons = ctx.monitors
    out: dict[int, pd.Series] = {}
    if mons.empty:
        return out
    meters = mons[mons["kind"].isin(["production_meter", "treatment_meter"])]
    o = ctx.obs[ctx.obs["mon"].isin(meters.index) & ctx.obs["value"].notna()]
    freq = pd.Timedelta(minutes=r.power_grid_minutes)
    by_mon = dict(tuple(o.groupby("mon", sort=False)))
    for i, m in meters.iterrows():
        d = by_mon.get(i)
        if d is None:
            continue
        d = d[d["suffix"] == m["power_suffix"]]
        if d.empty:
            continue
        per_time = d.groupby(["time", "code"])["value"].mean().groupby(level="time").sum()
        s = per_time.resample(freq).mean()
        out[int(i)] = s
    return out


def _reference(s: pd.Series, rated: float, q: float) -> float:
    if np.isfinite(rated) and rated > 0:
        return float(rated)
    v = s.dropna().to_numpy(float)
    return float(np.quantile(v, q)) if len(v) else float("nan")


def production_state(ctx: Context, series: dict[int, pd.Series]) -> dict[str, pd.Series]:
    """Enterprise → bool series on the grid: True where any of its production meters is on (power
    above ``production_on_kw`` and ``production_on_fraction`` × rated, else × its 95th percentile)."""
    r = ctx.rules
    state: dict[str, pd.Series] = {}
    for i, s in series.items():
        m = ctx.monitors.loc[i]
        if m["kind"] != "production_meter":
            continue
        ref = _reference(s, m["rated_kw"], 0.95)
        on = (s > max(r.production_on_kw, r.production_on_fraction * ref)).where(s.notna(), False).astype(bool)
        e = m["enterprise_id"]
        state[e] = on if e not in state else (state[e].reindex(on.index.union(state[e].index), fill_value=False)
                                              | on.reindex(on.index.union(state[e].index), fill_value=False))
    return state


def _pairs(ctx: Context, series: dict[int, pd.Series]):
    """``(enterprise, production series, production on, treatment monitor index, treatment series)``."""
    prod_of: dict[str, list[int]] = {}
    for i in series:
        m = ctx.monitors.loc[i]
        if m["kind"] == "production_meter":
            prod_of.setdefault(m["enterprise_id"], []).append(i)
    for i, s in series.items():
        m = ctx.monitors.loc[i]
        if m["kind"] != "treatment_meter" or m["enterprise_id"] not in prod_of:
            continue
        e = m["enterprise_id"]
        p = sum(series[j] for j in prod_of[e]) if len(prod_of[e]) > 1 else series[prod_of[e][0]]
        idx = p.index.union(s.index)
        yield e, p.reindex(idx), ctx.production[e].reindex(idx, fill_value=False), i, s.reindex(idx)


def rule_power(ctx: Context, series: dict[int, pd.Series]) -> list[dict]:
    """Every electricity rule on every enterprise with a production and a treatment meter."""
    r = ctx.rules
    out: list[dict] = []
    step = pd.Timedelta(minutes=r.power_grid_minutes)
    max_gap = (step * 3).to_timedelta64()
    for _e, p, on, ti, s in _pairs(ctx, series):
        m = ctx.monitors.loc[ti].to_dict()
        t = tv(s.index)
        ref = _reference(s[on], m["rated_kw"], 0.9)
        if not np.isfinite(ref) or ref <= 0:
            ref = _reference(s, m["rated_kw"], 0.9)
        ratio = (s / ref).to_numpy(float) if np.isfinite(ref) and ref > 0 else np.full(len(s), np.nan)
        onv = on.to_numpy(bool) & np.isfinite(ratio)
        levels = (("treatment_stopped", r.treatment_stopped_fraction, None),
                  ("treatment_idle", r.treatment_idle_fraction, r.treatment_stopped_fraction),
                  ("treatment_derated", r.treatment_derated_fraction, r.treatment_idle_fraction))
        for kind, hi, lo in levels:
            mask = onv & (ratio < hi) & ((ratio >= lo) if lo is not None else True)
            for a, b in runs(mask, t, max_gap=max_gap):
                t0, t1 = utc(t[a]), utc(t[b]) + step
                if (t1 - t0) < pd.Timedelta(minutes=r.treatment_min_minutes):
                    continue
                seg_t, seg_p = s.iloc[a:b + 1], p.iloc[a:b + 1]
                out.append(make_alarm(
                    kind, r, mn=m["mn"], start=t0, end=t1, monitor=m, value=float(seg_t.mean()),
                    limit=round(hi * ref, 3), unit="kW",
                    values=f"treatment {seg_t.mean():.3g} kW (reference {ref:.3g} kW) while production draws "
                           f"{seg_p.mean():.3g} kW",
                    rule=(f"treatment < {hi:g} × reference" + (f" and ≥ {lo:g} ×" if lo is not None else "")
                          + f" for ≥ {r.treatment_min_minutes:g} min while production runs"),
                    details="GB 37822-2019: treatment must run whenever production runs"))
        # treatment started after production
        onp = on.to_numpy(bool)
        starts = np.flatnonzero(onp & ~np.concatenate([[True], onp[:-1]]))  # off → on (not at the window start)
        for k in starts:
            if not np.isfinite(ratio[k]):
                continue
            if ratio[k - 1 if k > 0 else k] >= r.treatment_idle_fraction or ratio[k] >= r.treatment_idle_fraction:
                continue  # treatment was already running
            later = np.flatnonzero((ratio[k:] >= r.treatment_idle_fraction) & np.isfinite(ratio[k:]))
            lag = (utc(t[k + later[0]]) - utc(t[k])) if len(later) else \
                (utc(t[-1]) + step - utc(t[k]))
            if lag <= pd.Timedelta(minutes=r.treatment_start_lag_minutes):
                continue
            out.append(make_alarm(
                "treatment_started_late", r, mn=m["mn"], start=t[k], end=utc(t[k]) + lag, monitor=m,
                value=round(lag.total_seconds() / 60, 1), limit=r.treatment_start_lag_minutes, unit="min",
                values=f"production on at {utc(t[k]):%H:%M} UTC, treatment "
                       + (f"{lag.total_seconds() / 60:.0f} min later" if len(later) else "never in the window"),
                rule=f"treatment reaches {r.treatment_idle_fraction:g} × reference > "
                     f"{r.treatment_start_lag_minutes:g} min after production starts",
                details="GB 37822-2019: treatment starts before production"))
        # negative correlation, per local day
        local = s.index.tz_convert(r.timezone)
        days = pd.Series(local.date, index=s.index)
        for day, idx in days.groupby(days).groups.items():
            pp, ss = p.loc[idx], s.loc[idx]
            ok = pp.notna() & ss.notna()
            if ok.sum() >= r.correlation_min_points and pp[ok].std() > 0 and ss[ok].std() > 0:
                rr = float(np.corrcoef(pp[ok], ss[ok])[0, 1])
                if rr <= r.negative_correlation_max_r:
                    out.append(make_alarm(
                        "power_negatively_correlated", r, mn=m["mn"], start=idx.min(), end=idx.max() + step,
                        monitor=m, value=round(rr, 3), limit=r.negative_correlation_max_r,
                        values=f"Pearson r = {rr:.2f} over {int(ok.sum())} points",
                        rule=f"r(production, treatment) ≤ {r.negative_correlation_max_r:g} over a local day",
                        details=f"local day {day}: treatment draws less when production draws more"))
    # night use: the enterprise's production (all its lines), once per enterprise and local day
    n0, n1 = r.night_hours_local
    for _e, prod_rows, p in _enterprise_production(ctx, series):
        local = p.index.tz_convert(r.timezone)
        days = pd.Series(local.date, index=p.index)
        for day, idx in days.groupby(days).groups.items():
            pp = p.loc[idx]
            h = pd.DatetimeIndex(idx).tz_convert(r.timezone).hour
            night = (h >= n0) | (h < n1) if n0 > n1 else (h >= n0) & (h < n1)
            pn, pd_ = pp[night].dropna(), pp[~night].dropna()
            if len(pn) >= r.night_min_points and len(pd_) >= r.night_min_points:
                mn_, md = float(pn.mean()), float(pd_.mean())
                if mn_ > r.production_on_kw and mn_ > r.night_ratio * max(md, 1e-9):
                    prod_m = ctx.monitors.loc[prod_rows[0]]
                    out.append(make_alarm(
                        "night_production", r, mn=prod_m["mn"], start=idx.min(), end=idx.max() + step,
                        monitor=prod_m.to_dict(), value=round(mn_, 3), limit=round(r.night_ratio * md, 3), unit="kW",
                        values=f"night {mn_:.3g} kW, day {md:.3g} kW",
                        rule=f"night ({n0:02d}–{n1:02d} local) production power > {r.night_ratio:g} × day",
                        details=f"local day {day}"))
    return out


def _enterprise_production(ctx: Context, series: dict[int, pd.Series]):
    """``(enterprise, its production meter rows, their summed series)`` of every enterprise with a
    production and a treatment meter, in the order of their first production meter."""
    prod_of: dict[str, list[int]] = {}
    treated = set()
    for i in series:
        m = ctx.monitors.loc[i]
        if m["kind"] == "production_meter":
            prod_of.setdefault(m["enterprise_id"], []).append(i)
        elif m["kind"] == "treatment_meter":
            treated.add(m["enterprise_id"])
    for e, rows in prod_of.items():
        if e in treated:
            yield e, rows, sum(series[j] for j in rows) if len(rows) > 1 else series[rows[0]]


__all__ = ["loop_power_rules", "power_series", "production_state", "rule_power"]
