"""Electricity-monitoring rules (用电监控): production and treatment meters of one enterprise.

The rules Chinese electricity-monitoring platforms describe in words, with the numbers of
:class:`~.rules.AlarmRules`: treatment stopped, idling or derated while production runs;
treatment started after production; production and treatment power negatively correlated; night
use far above day use. Treatment must run whenever production runs (GB 37822-2019's synchronous-
operation requirement for VOC collection and treatment systems).

:func:`power_series` puts every meter's active power (its ``power_suffix`` item, kW) on a regular
grid (a :class:`PowerGrid`: one long array of all meters); :func:`production_state` says when each
enterprise's production runs (any of its production meters on), which the stack rules read too;
:func:`rule_power` lays every production/treatment pair on one long array (:class:`_Pairs`) and
finds every rule's runs, starts and local days for all pairs at once; night use, a property of the
production lines, is checked once per enterprise on its production meters alone (not once per
treatment meter). Only the alarms themselves — and the few candidate days whose correlation or
night/day means lie near their threshold, computed exactly as the reference does — are handled
one by one. ``_power_rules_loop`` keeps the per-meter
loop versions these replaced; ``tests/test_alarms_vectorised.py`` checks both give the same alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecopatrol.core.monitors import METER_KINDS

from .alarm_rules import Context, make_alarm, utc
from .rules import AlarmRules

_DAY_NS = 86_400 * 10**9


@dataclass
class PowerGrid:
    """Every meter's power on the ``power_grid_minutes`` grid: rows sorted by meter then time, each
    meter's rows one contiguous block from its first to its last grid cell (NaN where no reading).

    ``mon``: monitor row per grid row; ``t_ns``: grid time (UTC, ns since the epoch); ``kw``: the
    mean active power in the cell; ``meters``: the monitor rows with data, in monitor order, and
    ``lo``/``hi`` the slice of each; ``unit``: the time unit of the observations (the index of
    :meth:`series` has it, as the resampled observations do).
    """

    mon: np.ndarray
    t_ns: np.ndarray
    kw: np.ndarray
    meters: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    step_ns: int
    unit: str = "ns"

    def __len__(self) -> int:
        return len(self.meters)

    def index(self, t_ns: np.ndarray) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(t_ns.astype("datetime64[ns]")).tz_localize("UTC").as_unit(self.unit)

    def series(self, i: int) -> pd.Series:
        """Meter row ``i``'s power as a Series on its grid (UTC index)."""
        k = int(np.searchsorted(self.meters, i))
        if k >= len(self.meters) or self.meters[k] != i:
            raise KeyError(i)
        sl = slice(self.lo[k], self.hi[k])
        return pd.Series(self.kw[sl], index=self.index(self.t_ns[sl]), name="value")


def _empty_grid(step_ns: int, unit: str = "ns") -> PowerGrid:
    z = np.zeros(0, dtype=np.int64)
    return PowerGrid(z, z, np.zeros(0), z, z, z, step_ns, unit)


def power_series(ctx: Context) -> PowerGrid:
    """Every meter row's active power (kW) averaged on the ``power_grid_minutes`` grid.

    A meter row's items are those of its MN with its ``codes`` (all codes when empty) and its
    ``power_suffix``; several codes on one row are summed (per reading time, the mean per code).
    The grid of each meter starts at midnight UTC of its first reading's day, as pandas' resampling
    does. Grid cells without a reading stay NaN.
    """
    step_ns = int(pd.Timedelta(minutes=ctx.rules.power_grid_minutes).value)
    mons = ctx.monitors
    unit = getattr(ctx.obs["time"].dtype, "unit", "ns") if len(ctx.obs) else "ns"
    if mons.empty or ctx.obs.empty:
        return _empty_grid(step_ns, unit)
    is_meter = mons["kind"].isin(METER_KINDS).to_numpy()
    suffix_of = mons["power_suffix"].to_numpy(object)
    mon = ctx.obs["mon"].to_numpy(np.int64)
    sel = mon >= 0
    sel[sel] = is_meter[mon[sel]]
    sel &= ctx.obs["value"].notna().to_numpy()
    sel[sel] = ctx.obs["suffix"].to_numpy(object)[sel] == suffix_of[mon[sel]]
    if not sel.any():
        return _empty_grid(step_ns, unit)
    t = pd.DatetimeIndex(ctx.obs["time"]).as_unit("ns").asi8[sel]
    m = mon[sel]
    v = ctx.obs["value"].to_numpy(float)[sel]
    code, _ = pd.factorize(ctx.obs["code"].to_numpy(object)[sel], sort=True)
    order = np.lexsort((code, t, m))  # stable: repeated readings keep their order
    m, t, code, v = m[order], t[order], code[order], v[order]
    # the mean per (meter, time, code), then their sum per (meter, time); pandas only where a group has
    # more than one value (repeated readings, several codes), so the sums are pandas' own
    v = _group_reduce(v, np.r_[True, (m[1:] != m[:-1]) | (t[1:] != t[:-1]) | (code[1:] != code[:-1])], "mean")
    m, t = m[v[1]], t[v[1]]
    v = _group_reduce(v[0], np.r_[True, (m[1:] != m[:-1]) | (t[1:] != t[:-1])], "sum")
    m, tt, per_time = m[v[1]], t[v[1]], v[0]
    first = np.r_[True, m[1:] != m[:-1]]
    origin = np.repeat((tt[first] // _DAY_NS) * _DAY_NS, np.diff(np.r_[np.flatnonzero(first), len(m)]))
    cell = origin + ((tt - origin) // step_ns) * step_ns
    new_cell = np.r_[True, (m[1:] != m[:-1]) | (cell[1:] != cell[:-1])]
    g = pd.Series(per_time).groupby(np.cumsum(new_cell), sort=False).mean().to_numpy(float)
    gm, gc = m[new_cell], cell[new_cell]
    head = np.r_[True, gm[1:] != gm[:-1]]
    starts = np.flatnonzero(head)
    ends = np.r_[starts[1:], len(gm)] - 1
    meters, c0, c1 = gm[starts], gc[starts], gc[ends]
    n = (c1 - c0) // step_ns + 1
    hi = np.cumsum(n)
    lo = hi - n
    rows_mon = np.repeat(meters, n)
    t_ns = np.repeat(c0, n) + (np.arange(int(hi[-1])) - np.repeat(lo, n)) * step_ns
    kw = np.full(int(hi[-1]), np.nan)
    cells_of = np.diff(np.r_[starts, len(gm)])  # cells with a reading, per meter
    kw[np.repeat(lo, cells_of) + (gc - np.repeat(c0, cells_of)) // step_ns] = g
    return PowerGrid(rows_mon, t_ns, kw, meters, lo, hi, step_ns, unit)


def _group_reduce(v: np.ndarray, head: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Per group of consecutive rows (``head`` marks each group's first row): the group's ``how``
    (pandas' groupby mean or sum) and the group's first row; single-row groups keep their value."""
    starts = np.flatnonzero(head)
    size = np.diff(np.r_[starts, len(v)])
    out = v[starts] + 0.0  # as pandas: its sums start at 0.0 (so −0.0 becomes 0.0)
    multi = size > 1
    if multi.any():
        label = np.cumsum(head) - 1
        in_multi = multi[label]
        out[multi] = getattr(pd.Series(v[in_multi]).groupby(label[in_multi], sort=False), how)().to_numpy(float)
    return out, starts


def _quantile(v: np.ndarray, q: float) -> float:
    v = v[~np.isnan(v)]
    return float(np.quantile(v, q)) if len(v) else float("nan")


def _reference(v: np.ndarray, rated: float, q: float) -> float:
    if np.isfinite(rated) and rated > 0:
        return float(rated)
    return _quantile(v, q)


def _meter_on(ctx: Context, grid: PowerGrid) -> np.ndarray:
    """Per grid row: the production meter is on (power above ``production_on_kw`` and
    ``production_on_fraction`` × rated, else × its 95th percentile); False for treatment meters."""
    r = ctx.rules
    kind = ctx.monitors["kind"].to_numpy(object)
    rated = ctx.monitors["rated_kw"].to_numpy(float)
    thr = np.full(len(grid.meters), np.inf)
    for k, i in enumerate(grid.meters):  # one scalar per meter: its reference (a quantile when not rated)
        if kind[i] == "production_meter":
            ref = _reference(grid.kw[grid.lo[k]:grid.hi[k]], rated[i], 0.95)
            thr[k] = max(r.production_on_kw, r.production_on_fraction * ref)
    return grid.kw > np.repeat(thr, grid.hi - grid.lo)


def production_state(ctx: Context, grid: PowerGrid) -> dict[str, pd.Series]:
    """Enterprise → bool series on the grid: True where any of its production meters is on (power
    above ``production_on_kw`` and ``production_on_fraction`` × rated, else × its 95th percentile).
    An enterprise's index is the union of its production meters' grids."""
    if not len(grid):
        return {}
    is_prod = ctx.monitors["kind"].to_numpy(object)[grid.mon] == "production_meter"
    if not is_prod.any():
        return {}
    on = _meter_on(ctx, grid)[is_prod]
    ent = ctx.monitors["enterprise_id"].to_numpy(object)[grid.mon[is_prod]]
    codes, uniq = pd.factorize(ent, sort=False)
    d = pd.Series(on).groupby([codes, grid.t_ns[is_prod]], sort=True).max()
    ec = d.index.get_level_values(0).to_numpy(np.int64)
    et = d.index.get_level_values(1).to_numpy(np.int64)
    val = d.to_numpy(bool)
    cut = np.flatnonzero(np.r_[True, ec[1:] != ec[:-1], True])
    return {str(uniq[ec[a]]): pd.Series(val[a:b], index=grid.index(et[a:b]), name="value")
            for a, b in zip(cut[:-1], cut[1:])}


@dataclass
class _Pairs:
    """Every (treatment meter, its enterprise's production meters) pair on one long array: rows
    sorted by pair then time, the time grid of a pair the union of its meters' grids. Built with
    ``with_treatment=False``: one "pair" per enterprise with a treatment meter, its production meters
    alone (``s`` all NaN, ``treat`` its first treatment meter), for the rules of production alone."""

    pair: np.ndarray     # pair number per row
    t_ns: np.ndarray
    p: np.ndarray        # production power (the sum of the enterprise's production meters; NaN if one lacks)
    s: np.ndarray        # treatment power
    on: np.ndarray       # production runs
    treat: np.ndarray    # the treatment monitor row of each pair
    prod: list           # the production monitor rows of each pair, in monitor order
    lo: np.ndarray
    hi: np.ndarray


def _pairs(ctx: Context, grid: PowerGrid, *, with_treatment: bool = True) -> _Pairs | None:
    mons = ctx.monitors
    kind = mons["kind"].to_numpy(object)
    ent = mons["enterprise_id"].to_numpy(object)
    prod_of: dict[str, list[int]] = {}
    for i in grid.meters:
        if kind[i] == "production_meter":
            prod_of.setdefault(ent[i], []).append(int(i))
    treat = [int(i) for i in grid.meters if kind[i] == "treatment_meter" and ent[i] in prod_of]
    if not with_treatment:  # one per enterprise, in the order of its first production meter
        first: dict[str, int] = {}
        for i in treat:
            first.setdefault(ent[i], i)
        treat = [first[e] for e in prod_of if e in first]
    if not treat:
        return None
    on_rows = _meter_on(ctx, grid)
    k_of = {int(i): k for k, i in enumerate(grid.meters)}
    # membership: (pair, meter block, rank: −1 treatment, else the production meter's rank)
    blocks, pairs, ranks = [], [], []
    for j, ti in enumerate(treat):
        for rank, pi in enumerate(prod_of[ent[ti]]):
            blocks.append(k_of[pi]), pairs.append(j), ranks.append(rank)
        if with_treatment:
            blocks.append(k_of[ti]), pairs.append(j), ranks.append(-1)
    blocks = np.asarray(blocks)
    n = grid.hi[blocks] - grid.lo[blocks]
    rows = np.repeat(grid.lo[blocks], n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    row_pair = np.repeat(np.asarray(pairs), n)
    row_rank = np.repeat(np.asarray(ranks), n)
    row_t = grid.t_ns[rows]
    order = np.lexsort((row_t, row_pair))
    kp, kt = row_pair[order], row_t[order]
    new = np.r_[True, (kp[1:] != kp[:-1]) | (kt[1:] != kt[:-1])]
    inv = np.empty(len(order), dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    u_pair, u_t = kp[new], kt[new]
    m = len(u_pair)
    s = np.full(m, np.nan)
    tr = row_rank < 0
    s[inv[tr]] = grid.kw[rows[tr]]
    on = np.zeros(m, dtype=bool)
    np.logical_or.at(on, inv[~tr], on_rows[rows[~tr]])
    n_prod = np.asarray([len(prod_of[ent[ti]]) for ti in treat])[u_pair]
    p = None
    for rank in range(int(n_prod.max())):
        col = np.full(m, np.nan)
        sel = row_rank == rank
        col[inv[sel]] = grid.kw[rows[sel]]
        # as a sum of aligned series: NaN where one of the meters lacks the cell
        p = col if p is None else np.where(n_prod > rank, p + col, p)
    cut = np.flatnonzero(np.r_[True, u_pair[1:] != u_pair[:-1], True])
    return _Pairs(u_pair, u_t, p, s, on, np.asarray(treat), [prod_of[ent[ti]] for ti in treat], cut[:-1], cut[1:])


def _ends(mask: np.ndarray, brk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last rows of the runs of True in ``mask``; a run also ends before a row where
    ``brk`` is True (a pair's first row, a gap)."""
    start = mask & (brk | ~np.r_[False, mask[:-1]])
    nxt_cont = np.r_[mask[1:] & ~brk[1:], False]
    return np.flatnonzero(start), np.flatnonzero(mask & ~nxt_cont)


def _mean(v: np.ndarray) -> float:
    """As ``Series.mean()`` (NaN skipped)."""
    return float(pd.Series(v, copy=False).mean())


def rule_power(ctx: Context, grid: PowerGrid) -> list[dict]:
    """Every electricity rule on every enterprise with a production and a treatment meter."""
    r = ctx.rules
    pr = _pairs(ctx, grid)
    if pr is None:
        return []
    step = pd.Timedelta(minutes=r.power_grid_minutes)
    step_ns = int(step.value)
    mons = ctx.monitors
    rated = mons["rated_kw"].to_numpy(float)
    first = np.zeros(len(pr.pair), dtype=bool)
    first[pr.lo] = True
    # the treatment's reference per pair: rated, else its 90th percentile while production runs, else overall
    ref = np.full(len(pr.treat), np.nan)
    for j, ti in enumerate(pr.treat):
        sl = slice(pr.lo[j], pr.hi[j])
        x = _reference(pr.s[sl][pr.on[sl]], rated[ti], 0.9)
        if not np.isfinite(x) or x <= 0:
            x = _reference(pr.s[sl], rated[ti], 0.9)
        ref[j] = x
    ok_ref = np.isfinite(ref) & (ref > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(ok_ref[pr.pair], pr.s / np.where(ok_ref, ref, 1.0)[pr.pair], np.nan)
    onv = pr.on & np.isfinite(ratio)
    t64 = pr.t_ns.astype("datetime64[ns]")
    gap = first | np.r_[True, np.diff(pr.t_ns) > 3 * step_ns]
    found: list[tuple[tuple, dict]] = []
    monitor_of: dict[int, dict] = {}

    def monitor(i: int) -> dict:
        if i not in monitor_of:
            monitor_of[i] = mons.iloc[i].to_dict()
        return monitor_of[i]

    # treatment stopped / idling / derated while production runs
    min_ns = int(pd.Timedelta(minutes=r.treatment_min_minutes).value)
    levels = (("treatment_stopped", r.treatment_stopped_fraction, None),
              ("treatment_idle", r.treatment_idle_fraction, r.treatment_stopped_fraction),
              ("treatment_derated", r.treatment_derated_fraction, r.treatment_idle_fraction))
    for li, (kind, hi, lo) in enumerate(levels):
        with np.errstate(invalid="ignore"):
            mask = onv & (ratio < hi) & ((ratio >= lo) if lo is not None else True)
        a_, b_ = _ends(mask, gap)
        long_ = pr.t_ns[b_] + step_ns - pr.t_ns[a_] >= min_ns
        for a, b in zip(a_[long_], b_[long_]):
            j = int(pr.pair[a])
            m, rf = monitor(int(pr.treat[j])), float(ref[j])
            st, sp = _mean(pr.s[a:b + 1]), _mean(pr.p[a:b + 1])
            found.append(((j, 0, li, int(a)), make_alarm(
                kind, r, mn=m["mn"], start=utc(t64[a]), end=utc(t64[b]) + step, monitor=m, value=st,
                limit=round(hi * rf, 3), unit="kW",
                values=f"treatment {st:.3g} kW (reference {rf:.3g} kW) while production draws {sp:.3g} kW",
                rule=(f"treatment < {hi:g} × reference" + (f" and ≥ {lo:g} ×" if lo is not None else "")
                      + f" for ≥ {r.treatment_min_minutes:g} min while production runs"),
                details="GB 37822-2019: treatment must run whenever production runs")))

    # treatment started after production: production off → on (not at a pair's first row)
    idle = r.treatment_idle_fraction
    with np.errstate(invalid="ignore"):
        running = ratio >= idle  # False where NaN
    prev = np.r_[True, pr.on[:-1]]
    ks = np.flatnonzero(pr.on & ~prev & ~first & np.isfinite(ratio) & ~running & ~np.r_[False, running[:-1]])
    run_rows = np.flatnonzero(running)
    nxt = np.searchsorted(run_rows, ks)
    lag_max = pd.Timedelta(minutes=r.treatment_start_lag_minutes)
    for k, q in zip(ks, nxt):
        j = int(pr.pair[k])
        end_row = pr.hi[j] - 1
        reached = q < len(run_rows) and run_rows[q] <= end_row
        lag = (utc(t64[run_rows[q]]) - utc(t64[k])) if reached else (utc(t64[end_row]) + step - utc(t64[k]))
        if lag <= lag_max:
            continue
        m = monitor(int(pr.treat[j]))
        found.append(((j, 1, 0, int(k)), make_alarm(
            "treatment_started_late", r, mn=m["mn"], start=t64[k], end=utc(t64[k]) + lag, monitor=m,
            value=round(lag.total_seconds() / 60, 1), limit=r.treatment_start_lag_minutes, unit="min",
            values=f"production on at {utc(t64[k]):%H:%M} UTC, treatment "
                   + (f"{lag.total_seconds() / 60:.0f} min later" if reached else "never in the window"),
            rule=f"treatment reaches {idle:g} × reference > {r.treatment_start_lag_minutes:g} min after production "
                 "starts",
            details="GB 37822-2019: treatment starts before production")))

    found += _daily(ctx, pr, monitor)
    found += _nights(ctx, _pairs(ctx, grid, with_treatment=False), len(pr.treat), monitor)
    found.sort(key=lambda x: x[0])
    return [a for _, a in found]


def _seg_sum(x: np.ndarray, cut: np.ndarray) -> np.ndarray:
    return np.add.reduceat(x, cut[:-1]) if len(x) else np.zeros(0)


def _local_days(ctx: Context, pr: _Pairs):
    """Each row's local time, its local hour, and the cuts of the (pair, local day) segments."""
    idx_utc = pd.DatetimeIndex(pr.t_ns.astype("datetime64[ns]")).tz_localize("UTC")
    local = idx_utc.tz_convert(ctx.rules.timezone)
    day = local.normalize().tz_localize(None).asi8
    cut = np.flatnonzero(np.r_[True, (pr.pair[1:] != pr.pair[:-1]) | (day[1:] != day[:-1]), True])
    return local, local.hour.to_numpy(), cut


def _stamp(ctx: Context, pr: _Pairs, i: int) -> pd.Timestamp:
    return pd.Timestamp(int(pr.t_ns[i]), tz="UTC").as_unit(getattr(ctx.obs["time"].dtype, "unit", "ns"))


def _daily(ctx: Context, pr: _Pairs, monitor) -> list[tuple[tuple, dict]]:
    """Negative correlation per pair and local day. Each day's statistics are found for all days at
    once; the days near the threshold (and only they) are decided exactly as the reference computes
    them (pandas' std, ``np.corrcoef``)."""
    r = ctx.rules
    step = pd.Timedelta(minutes=r.power_grid_minutes)
    local, _, cut = _local_days(ctx, pr)
    seg = np.repeat(np.arange(len(cut) - 1), np.diff(cut))
    out: list[tuple[tuple, dict]] = []

    # -- correlation: candidates from one pass of centred sums, decided exactly
    ok = ~np.isnan(pr.p) & ~np.isnan(pr.s)
    n_ok = _seg_sum(ok.astype(np.int64), cut)
    x, y = np.where(ok, pr.p, 0.0), np.where(ok, pr.s, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = _seg_sum(x, cut) / n_ok, _seg_sum(y, cut) / n_ok
        dx, dy = np.where(ok, pr.p - mx[seg], 0.0), np.where(ok, pr.s - my[seg], 0.0)
        sxx, syy, sxy = _seg_sum(dx * dx, cut), _seg_sum(dy * dy, cut), _seg_sum(dx * dy, cut)
        r_approx = sxy / np.sqrt(sxx * syy)
        tiny = (sxx <= 1e-9 * _seg_sum(x * x, cut)) | (syy <= 1e-9 * _seg_sum(y * y, cut))
    cand = (n_ok >= r.correlation_min_points) & (~np.isfinite(r_approx) | tiny
                                                 | (r_approx <= r.negative_correlation_max_r + 1e-6))
    for g in np.flatnonzero(cand):
        a, b = cut[g], cut[g + 1]
        pp, ss = pd.Series(pr.p[a:b]), pd.Series(pr.s[a:b])
        okk = pp.notna() & ss.notna()
        if okk.sum() >= r.correlation_min_points and pp[okk].std() > 0 and ss[okk].std() > 0:
            rr = float(np.corrcoef(pp[okk], ss[okk])[0, 1])
            if rr <= r.negative_correlation_max_r:
                j, last = int(pr.pair[a]), int(b) - 1
                m = monitor(int(pr.treat[j]))
                out.append(((j, 2, int(g), 0), make_alarm(
                    "power_negatively_correlated", r, mn=m["mn"], start=_stamp(ctx, pr, int(a)),
                    end=_stamp(ctx, pr, last) + step, monitor=m, value=round(rr, 3),
                    limit=r.negative_correlation_max_r, values=f"Pearson r = {rr:.2f} over {int(okk.sum())} points",
                    rule=f"r(production, treatment) ≤ {r.negative_correlation_max_r:g} over a local day",
                    details=f"local day {local[a].date()}: treatment draws less when production draws more")))
    return out


def _nights(ctx: Context, pe: _Pairs | None, first_key: int, monitor) -> list[tuple[tuple, dict]]:
    """Night use far above day use, once per enterprise and local day, on its production meters
    alone (``pe``: :func:`_pairs` without treatment); sort keys from ``first_key`` on (after the
    pairs' alarms). Candidates from the night and day means of every day at once, decided exactly
    as the reference computes them (pandas' mean)."""
    if pe is None:
        return []
    r = ctx.rules
    step = pd.Timedelta(minutes=r.power_grid_minutes)
    local, hour, cut = _local_days(ctx, pe)
    n0, n1 = r.night_hours_local
    night = (hour >= n0) | (hour < n1) if n0 > n1 else (hour >= n0) & (hour < n1)
    hp = ~np.isnan(pe.p)
    nn, nd = _seg_sum((hp & night).astype(np.int64), cut), _seg_sum((hp & ~night).astype(np.int64), cut)
    pz = np.where(hp, pe.p, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mn_a = _seg_sum(np.where(night, pz, 0.0), cut) / nn
        md_a = _seg_sum(np.where(night, 0.0, pz), cut) / nd
    slack = 1e-9 * (np.abs(mn_a) + 1.0)
    cand_n = ((nn >= r.night_min_points) & (nd >= r.night_min_points) & (mn_a + slack > r.production_on_kw)
              & (mn_a + slack > r.night_ratio * np.maximum(md_a, 1e-9) * (1 - 1e-9)))
    out: list[tuple[tuple, dict]] = []
    for g in np.flatnonzero(cand_n):
        a, b = cut[g], cut[g + 1]
        pp = pd.Series(pe.p[a:b])
        nt = night[a:b]
        pn, pd_ = pp[nt].dropna(), pp[~nt].dropna()
        if len(pn) >= r.night_min_points and len(pd_) >= r.night_min_points:
            mn_, md = float(pn.mean()), float(pd_.mean())
            if mn_ > r.production_on_kw and mn_ > r.night_ratio * max(md, 1e-9):
                j = int(pe.pair[a])
                pm = monitor(int(pe.prod[j][0]))
                out.append(((first_key + j, 2, int(g), 1), make_alarm(
                    "night_production", r, mn=pm["mn"], start=_stamp(ctx, pe, int(a)),
                    end=_stamp(ctx, pe, int(b) - 1) + step, monitor=pm, value=round(mn_, 3),
                    limit=round(r.night_ratio * md, 3), unit="kW", values=f"night {mn_:.3g} kW, day {md:.3g} kW",
                    rule=f"night ({n0:02d}–{n1:02d} local) production power > {r.night_ratio:g} × day",
                    details=f"local day {local[a].date()}")))
    return out


__all__ = ["AlarmRules", "PowerGrid", "power_series", "production_state", "rule_power"]
