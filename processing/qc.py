"""QA flags on georeferenced samples and pass segmentation (vectorised).

Flags (``qa_flags`` column, ``|``-joined, empty when clean):

``gps_quality``  the fixes around the sample were not 3-D (``gps_fix < 3``) or HDOP > ``max_hdop``
``speed_spike``  the track segment implies a speed above ``max_speed_m_s`` (a GPS jump)
``saturated``    the value sits at the instrument's ceiling (declared full scale, or the
                 column maximum repeated ``saturation_run`` times or more in a row)
``negative``     a concentration below zero (analysers report negative noise near zero)
``stationary``   the platform moved slower than ``stationary_speed_m_s``
``instrument_status``  the analyser's Status column says something other than OK

Passes (:func:`segment_passes`, the constants and their reasons in :data:`PASS_RULE`): a pass
ends at a time gap, at a stop (net speed below a low threshold for a minimum dwell; moving again
only above a high one), at a turn of more than 120° and, for aircraft, at a change of level;
fragments shorter than a minimum duration and extent are merged into a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FLAG_NAMES = ("gps_quality", "speed_spike", "saturated", "negative", "stationary", "instrument_status")
OK_STATUS = {"", "ok", "normal", "0", "nan", "none", "good", "正常"}


def join_flags(flags: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Vectorised ``'|'.join`` of the names whose boolean arrays are true, per row."""
    out = pd.Series([""] * n, dtype=object)
    for name, mask in flags.items():
        m = np.asarray(mask, dtype=bool)
        if not m.any():
            continue
        add = np.where(out.to_numpy() == "", name, out.to_numpy() + "|" + name)
        out = pd.Series(np.where(m, add, out.to_numpy()), dtype=object)
    return out.to_numpy()


def saturation_mask(values: np.ndarray, *, full_scale: float | None = None, run: int = 5) -> np.ndarray:
    """True at values ≥ ``full_scale`` or in runs (≥ ``run``) of the column's maximum value."""
    v = np.asarray(values, dtype=float)
    if not np.isfinite(v).any():
        return np.zeros(len(v), dtype=bool)
    if full_scale is not None:
        return v >= full_scale
    at_max = v == np.nanmax(v)
    if at_max.sum() < run:
        return np.zeros(len(v), dtype=bool)
    # run lengths of consecutive True
    grp = np.cumsum(~at_max)
    counts = pd.Series(at_max).groupby(grp).transform("sum").to_numpy()
    return at_max & (counts >= run)


def qa_flags(
    frame: pd.DataFrame,
    species: list[str],
    *,
    gps_fix: np.ndarray | None = None,
    hdop: np.ndarray | None = None,
    segment_speed_m_s: np.ndarray | None = None,
    max_hdop: float = 5.0,
    max_speed_m_s: float = 40.0,
    stationary_speed_m_s: float = 0.5,
    full_scale: dict[str, float] | None = None,
) -> np.ndarray:
    """The ``qa_flags`` strings for ``frame`` (samples) as a numpy object array."""
    n = len(frame)
    flags: dict[str, np.ndarray] = {}
    if gps_fix is not None or hdop is not None:
        bad = np.zeros(n, dtype=bool)
        if gps_fix is not None:
            bad |= np.nan_to_num(np.asarray(gps_fix, float), nan=3.0) < 3
        if hdop is not None:
            bad |= np.nan_to_num(np.asarray(hdop, float), nan=0.0) > max_hdop
        flags["gps_quality"] = bad
    speed = frame["speed_m_s"].to_numpy(float) if "speed_m_s" in frame else np.full(n, np.nan)
    seg = np.asarray(segment_speed_m_s, float) if segment_speed_m_s is not None else speed
    flags["speed_spike"] = np.nan_to_num(seg, nan=0.0) > max_speed_m_s
    sat = np.zeros(n, dtype=bool)
    neg = np.zeros(n, dtype=bool)
    for c in species:
        v = frame[c].to_numpy(float)
        sat |= saturation_mask(v, full_scale=(full_scale or {}).get(c))
        neg |= np.nan_to_num(v, nan=0.0) < 0
    flags["saturated"] = sat
    flags["negative"] = neg
    flags["stationary"] = np.nan_to_num(speed, nan=np.inf) < stationary_speed_m_s
    if "status" in frame:
        st = frame["status"].astype(str).str.strip().str.lower()
        flags["instrument_status"] = ~st.isin(OK_STATUS).to_numpy()
    return join_flags(flags, n)


@dataclass(frozen=True)
class PassRule:
    """How a track is cut into passes (:func:`segment_passes`): the constants, each with why.

    Speeds are *net* speeds: the displacement over ``speed_window_s`` divided by its duration.
    GPS jitter of a parked platform (metres, correlated over tens of seconds, or positions that
    repeat and then jump as a slow receiver updates) barely moves it over 10 s, where the
    instantaneous speed of the same track spikes to metres or hundreds of metres per second.
    """

    #: a gap in the record longer than this always ends a pass (the analyser or the GPS stopped)
    max_gap_s: float = 5.0
    #: window of the net speed: GPS jitter of 1–3 m moves a parked van < 0.3 m/s over 10 s, a
    #: van crawling at 1 m/s moves 10 m
    speed_window_s: float = 10.0
    #: below this net speed the platform may be stopped ...
    stopped_speed_m_s: float = 0.5
    #: ... and above this it is moving again; in between the state is unchanged (hysteresis), so
    #: a speed hovering around one threshold cannot start and end passes
    moving_speed_m_s: float = 1.5
    #: a stop is a stop only after this long below ``stopped_speed_m_s``: a red light (10–45 s in
    #: the simulator, rarely over a minute in town) or a drone climbing between two transects is
    #: part of its pass; a parked van or a hovering drone is one stationary pass
    stop_dwell_s: float = 60.0
    #: a heading change of more than this over ``turn_window_s`` ends a pass: a U-turn of the van,
    #: the end of a drone transect; a 90° turn at a crossing does not. The cut is at the turn's
    #: apex (the point of the window farthest along the old heading)
    turn_deg: float = 120.0
    turn_window_s: float = 5.0
    #: with heights (an aircraft's flight log; never a van's GNSS height, which drifts by metres):
    #: a climb or descent at ≥ ``level_rate_m_s`` that changes the height by ≥ ``level_change_m``
    #: ends a pass, so each level of a curtain is its own pass and so is a descending transit
    #: to it (the planner's levels are 10–15 m apart; a drone holding height wobbles < 1 m)
    level_rate_m_s: float = 0.2
    level_change_m: float = 5.0
    #: the vertical rate is taken over this window (a flight log's height is good to decimetres),
    #: and a level is reached within this tolerance
    level_window_s: float = 4.0
    level_tolerance_m: float = 1.0
    #: a moving pass both shorter than this ...
    min_pass_s: float = 15.0
    #: ... and smaller than this (the diagonal of its extent) is a fragment — a GPS jump while
    #: parked, the middle of a U-turn, a climb between two transects — and is merged into a
    #: neighbour in its record: a stationary one first (a jump while parked belongs to the
    #: parking), else the one before it. The narrowest curtain the planner draws
    #: (2 × (2.5 σy + 20 m) ≥ 60 m, 20 s at 3 m/s) stays a pass of its own.
    min_pass_m: float = 50.0

    def describe(self) -> str:
        return (f"a pass ends at a gap > {self.max_gap_s:g} s, at a stop (net speed over {self.speed_window_s:g} s "
                f"below {self.stopped_speed_m_s:g} m/s for ≥ {self.stop_dwell_s:g} s, moving again above "
                f"{self.moving_speed_m_s:g} m/s), at a turn of > {self.turn_deg:g}° over {self.turn_window_s:g} s and, "
                f"for aircraft, at a change of height of ≥ {self.level_change_m:g} m; moving passes under "
                f"{self.min_pass_s:g} s and {self.min_pass_m:g} m are merged into a neighbour")


PASS_RULE = PassRule()


def _records(t: np.ndarray, gap_s: float) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``(gap, record id, (first, last) index of each sample's record)`` of time-sorted ``t``."""
    gap = np.r_[False, np.diff(t) > gap_s]
    rec_id = np.cumsum(gap)
    first = np.flatnonzero(np.r_[True, gap[1:]])
    last = np.r_[first[1:] - 1, len(t) - 1]
    return gap, rec_id, (first[rec_id], last[rec_id])


def _window(t: np.ndarray, rec, lo_s: np.ndarray, hi_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first sample at or after ``lo_s`` and the last at or before ``hi_s``,
    both inside each sample's record."""
    lo = np.searchsorted(t, lo_s, side="left")
    hi = np.searchsorted(t, hi_s, side="right") - 1
    return np.clip(lo, rec[0], rec[1]), np.clip(hi, rec[0], rec[1])


def _net_rate(t: np.ndarray, rec, v: list[np.ndarray], window_s: float, fallback: np.ndarray) -> np.ndarray:
    """Net rate of change of the vector ``v`` over a centred window (``fallback`` where it is empty)."""
    lo, hi = _window(t, rec, t - 0.5 * window_s, t + 0.5 * window_s)
    span = t[hi] - t[lo]
    d = np.sqrt(sum((c[hi] - c[lo]) ** 2 for c in v))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span > 0, d / span, fallback)


def _runs(values: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Run number of each element: a new run where the value changes or ``breaks`` is true."""
    return np.cumsum(np.r_[False, values[1:] != values[:-1]] | breaks)


def _run_span(values: np.ndarray, run: np.ndarray) -> np.ndarray:
    """Per element: max − min of ``values`` over its run."""
    g = pd.Series(values).groupby(run)
    return (g.transform("max") - g.transform("min")).to_numpy()


def _moving(t, rec, starts, net: np.ndarray, rule: PassRule) -> np.ndarray:
    """Moving (True) or stopped, with hysteresis and the stop dwell."""
    state = np.where(net >= rule.moving_speed_m_s, 1, np.where(net < rule.stopped_speed_m_s, -1, 0))
    state = np.where(starts & (state == 0), 1, state)  # a record starting between the thresholds: moving
    moving = pd.Series(np.where(state == 0, np.nan, state)).ffill().to_numpy() > 0
    # a stopped stretch shorter than the dwell is part of the pass around it
    return moving | (_run_span(t, _runs(moving, starts)) < rule.stop_dwell_s)


def _level_edges(t, rec, starts, z: np.ndarray, rule: PassRule) -> np.ndarray:
    """True where a climb or descent of ≥ ``level_change_m`` leaves a height (its first sample
    off the old level) and where it arrives at the new one (its first sample on it)."""
    lo, hi = _window(t, rec, t - 0.5 * rule.level_window_s, t + 0.5 * rule.level_window_s)
    span = t[hi] - t[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        vz = np.where(span > 0, (z[hi] - z[lo]) / span, 0.0)
    kind = np.where(vz >= rule.level_rate_m_s, 1, np.where(vz <= -rule.level_rate_m_s, -1, 0))
    run = _runs(kind, starts)
    big = (kind != 0) & (_run_span(z, run) >= rule.level_change_m)
    # the window smears a climb by half its width each side: cut where the height leaves the
    # run's first level and where it reaches its last
    g = pd.Series(z).groupby(run)
    near_first = np.abs(z - g.transform("first").to_numpy()) < rule.level_tolerance_m
    near_last = np.abs(z - g.transform("last").to_numpy()) < rule.level_tolerance_m
    idx = pd.Series(np.arange(len(z)))
    leave = idx[big & near_first].groupby(run[big & near_first]).max() + 1
    arrive = idx[big & near_last].groupby(run[big & near_last]).min()
    edge = np.zeros(len(z), bool)
    edge[np.clip(leave.to_numpy(), 0, len(z) - 1)] = True
    edge[arrive.to_numpy()] = True
    return edge & ~starts


def _turns(t, rec, x, y, moving, provisional: np.ndarray, rule: PassRule) -> np.ndarray:
    """True at the first sample of each turn of > ``turn_deg``: the heading of the last
    ``turn_window_s`` against the last heading known ``turn_window_s`` earlier in the same
    (provisional) pass — a turn across a stop or a level change is already a boundary."""
    n = len(t)
    j, _ = _window(t, rec, t - rule.turn_window_s, t)
    hx, hy = x - x[j], y - y[j]
    h_len = np.hypot(hx, hy)
    h_ok = (t - t[j] >= 0.5 * rule.turn_window_s) & (h_len >= rule.moving_speed_m_s * (t - t[j]))
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = pd.Series(np.where(h_ok, hx / h_len, np.nan)).groupby(provisional).ffill().to_numpy()
        uy = pd.Series(np.where(h_ok, hy / h_len, np.nan)).groupby(provisional).ffill().to_numpy()
    k = np.clip(np.searchsorted(t, t - rule.turn_window_s, side="right") - 1, 0, n - 1)
    same = provisional[k] == provisional
    with np.errstate(invalid="ignore"):
        turned = h_ok & moving & same & (ux * ux[k] + uy * uy[k] < np.cos(np.radians(rule.turn_deg)))
    found = np.flatnonzero(turned & ~np.r_[False, turned[:-1]])
    # the turn is seen once the new heading is established; cut where it turned: the point of
    # the last turn_window_s farthest along the old heading (the apex of a U-turn, the end of a
    # transect)
    out = np.zeros(n, bool)
    for i in found:  # turns, not samples: a few per pass
        w = np.arange(k[i], i + 1)
        apex = w[int(np.argmax(x[w] * ux[k[i]] + y[w] * uy[k[i]]))]
        out[min(apex + 1, i)] = True
    return out & (provisional == provisional[np.maximum(np.arange(n) - 1, 0)])


def _merge_fragments(t, x, y, moving, gap, new: np.ndarray, rule: PassRule) -> np.ndarray:
    """``new`` (pass starts) without the starts of fragments, and with stationary passes that
    touch made one (see :attr:`PassRule.min_pass_m`)."""
    n = len(t)
    new = new.copy()
    for _ in range(10):  # a merge can leave a fragment next to another: a few rounds settle it
        pid = np.cumsum(new)
        m = int(pid[-1]) + 1
        b = np.flatnonzero(new)  # the first sample of passes 1 … m − 1
        p_first, p_last = np.r_[0, b], np.r_[b - 1, n - 1]
        dur = t[p_last] - t[p_first]
        gx, gy = pd.Series(x).groupby(pid), pd.Series(y).groupby(pid)
        extent = np.hypot((gx.max() - gx.min()).to_numpy(), (gy.max() - gy.min()).to_numpy())
        still = np.bincount(pid, weights=(~moving).astype(float), minlength=m) > 0.5 * np.bincount(pid, minlength=m)
        gap_before = np.r_[True, gap[b]]  # the pass starts at a gap (or at the first sample)
        gap_after = np.r_[gap[b], True]
        short = ~still & (dur < rule.min_pass_s) & (extent < rule.min_pass_m) & ~(gap_before & gap_after)
        both_still = np.r_[False, still[1:] & still[:-1]] & ~gap_before
        if not short.any() and not both_still.any():
            break
        prev_still, next_still = np.r_[False, still[:-1]], np.r_[still[1:], False]
        to_next = short & ~gap_after & (gap_before | (next_still & ~prev_still))
        to_prev = short & ~to_next & ~gap_before
        drop = np.zeros(n, bool)
        drop[p_first[to_prev | both_still]] = True
        drop[p_last[to_next] + 1] = True
        drop[0] = False
        new &= ~drop
    return new


def segment_passes(
    t_s: np.ndarray,
    vx_m_s: np.ndarray,
    vy_m_s: np.ndarray,
    *,
    x_m: np.ndarray | None = None,
    y_m: np.ndarray | None = None,
    z_m: np.ndarray | None = None,
    max_gap_s: float | None = None,
    rule: PassRule = PASS_RULE,
) -> np.ndarray:
    """Pass numbers (1, 2, …) for the samples of one record (see :class:`PassRule`).

    Positions ``x_m, y_m`` (metres in a local metric CRS) give the net speeds and headings;
    without them they are integrated from the velocities ``vx_m_s, vy_m_s``. Heights ``z_m``
    (an aircraft's) add the level changes. ``max_gap_s`` overrides ``rule.max_gap_s``. Samples
    need not be sorted (they are segmented in time order).

    1. **moving or stopped**, with hysteresis: stopped once the net speed falls below
       ``stopped_speed_m_s``, moving again once it exceeds ``moving_speed_m_s``; a stopped
       stretch shorter than ``stop_dwell_s`` is part of the moving pass around it (a red light),
       a longer one is one stationary pass however the GPS jitters;
    2. a new pass starts after a time gap, where moving and stopped alternate, where an aircraft
       starts and ends a climb or descent of ≥ ``level_change_m``, and where the heading of the
       last ``turn_window_s`` has turned by more than ``turn_deg`` from the last heading known
       ``turn_window_s`` earlier in the same pass (a U-turn, the end of a transect);
    3. moving passes shorter than ``min_pass_s`` and ``min_pass_m`` are merged into a neighbour
       in the same record (a stationary one first), and stationary passes that then touch are one.
    """
    t = np.asarray(t_s, float)
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype="int64")
    if (np.diff(t) < 0).any():
        order = np.argsort(t, kind="stable")

        def pick(a):
            return None if a is None else np.asarray(a, float)[order]

        out = np.empty(n, dtype="int64")
        out[order] = segment_passes(t[order], pick(vx_m_s), pick(vy_m_s), x_m=pick(x_m), y_m=pick(y_m),
                                    z_m=pick(z_m), max_gap_s=max_gap_s, rule=rule)
        return out
    vx = np.nan_to_num(np.asarray(vx_m_s, float))
    vy = np.nan_to_num(np.asarray(vy_m_s, float))
    if x_m is None or y_m is None:  # positions from the velocities (trapezoid)
        dt = np.diff(t)
        x = np.r_[0.0, np.cumsum(0.5 * (vx[1:] + vx[:-1]) * dt)]
        y = np.r_[0.0, np.cumsum(0.5 * (vy[1:] + vy[:-1]) * dt)]
    else:
        x, y = (pd.Series(np.asarray(v, float)).ffill().bfill().fillna(0.0).to_numpy() for v in (x_m, y_m))
    gap, _, rec = _records(t, rule.max_gap_s if max_gap_s is None else float(max_gap_s))
    starts = np.zeros(n, bool)
    starts[np.unique(rec[0])] = True

    moving = _moving(t, rec, starts, _net_rate(t, rec, [x, y], rule.speed_window_s, np.hypot(vx, vy)), rule)
    new = gap | np.r_[False, moving[1:] != moving[:-1]]
    if z_m is not None and np.isfinite(np.asarray(z_m, float)).any():
        z = pd.Series(np.asarray(z_m, float)).interpolate(limit_direction="both").to_numpy()
        new |= _level_edges(t, rec, starts, z, rule)
    new[0] = False
    new |= _turns(t, rec, x, y, moving, np.cumsum(new), rule)
    new[0] = False
    return (np.cumsum(_merge_fragments(t, x, y, moving, gap, new, rule)) + 1).astype("int64")
