"""Interpolation, gaps, delay estimation, clock/lag split, QA flags and passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecopatrol.processing import qc
from ecopatrol.processing._time import leap_seconds_at, localize, parse_times
from ecopatrol.processing.align import (
    REASON_AFTER,
    REASON_BEFORE,
    REASON_GAP,
    DelayEstimate,
    TrackArrays,
    estimate_delay,
    interpolate_track,
    solve_clock,
)


def _line_track(t, speed=5.0):
    x = speed * (t - t[0])
    return TrackArrays(t.astype(float), x, np.zeros_like(x), 120.0 + x * 1e-5, np.full_like(x, 36.0),
                       np.full_like(x, 10.0))


def test_interpolation_is_linear_and_refuses_gaps_and_ends():
    t = np.array([0.0, 1.0, 2.0, 10.0, 11.0])
    tr = _line_track(t)
    q = np.array([-0.5, 0.5, 1.5, 5.0, 10.5, 11.0, 11.5])
    it = interpolate_track(tr, q, max_gap_s=5.0)
    assert it.ok.tolist() == [False, True, True, False, True, True, False]
    assert it.reason.tolist() == [REASON_BEFORE, "", "", REASON_GAP, "", "", REASON_AFTER]
    assert it.x[1] == pytest.approx(2.5) and it.x[4] == pytest.approx(5.0 * 10.5)
    assert it.speed_m_s[1] == pytest.approx(5.0)
    assert it.lon[1] == pytest.approx(120.0 + 2.5e-5)


def test_interpolation_does_not_modify_inputs():
    t = np.array([3.0, 1.0, 2.0])
    before = t.copy()
    tr = TrackArrays(t, t * 2, t * 3, t, t, t)
    q = np.array([1.5])
    interpolate_track(tr, q)
    assert np.array_equal(t, before) and np.array_equal(q, [1.5])
    assert tr.t_s.tolist() == [1.0, 2.0, 3.0]  # the track's own copy is sorted


@settings(max_examples=60, deadline=None)
@given(
    dts=st.lists(st.floats(0.05, 12.0), min_size=2, max_size=40),
    queries=st.lists(st.floats(-5.0, 300.0), min_size=1, max_size=60),
    max_gap=st.floats(0.5, 10.0),
)
def test_interpolation_never_crosses_a_gap_and_accounts_every_query(dts, queries, max_gap):
    t = np.cumsum([0.0, *dts])
    tr = _line_track(t)
    q = np.array(queries)
    it = interpolate_track(tr, q, max_gap_s=max_gap)
    assert len(it.ok) == len(q) and ((it.reason == "") == it.ok).all()
    j = np.searchsorted(t, q[it.ok], side="right")
    j = np.clip(j, 1, len(t) - 1)
    assert (t[j] - t[j - 1] <= max_gap + 1e-9).all()
    assert (q[it.ok] >= t[0]).all() and (q[it.ok] <= t[-1]).all()
    # Positions between the bracketing fixes.
    assert (it.x[it.ok] >= tr.x[j - 1] - 1e-9).all() and (it.x[it.ok] <= tr.x[j] + 1e-9).all()


def _shuttle(delay_s, *, seed=0, n_laps=6):
    """A platform shuttling along x ∈ [0, 300] m at alternating speeds past a plume at x = 150 m."""
    rng = np.random.default_rng(seed)
    legs, t, x = [], 0.0, 0.0
    for k in range(n_laps):
        v = [4.0, 9.0, 6.0][k % 3] * (1 if k % 2 == 0 else -1)
        dur = 300.0 / abs(v)
        tt = np.arange(0, dur, 0.2)
        legs.append((t + tt, x + v * tt))
        t += dur
        x += v * dur
    tt = np.concatenate([a for a, _ in legs])
    xx = np.concatenate([b for _, b in legs])
    y = np.zeros_like(xx)
    tr = TrackArrays(tt + 1e9, xx, y, xx, y, y)
    t_draw = np.arange(tt[0] + 1, tt[-1] - 1, 1.0) + 1e9
    xd = np.interp(t_draw, tr.t_s, xx)
    c = 2.0 + 50.0 * np.exp(-((xd - 150.0) ** 2) / (2 * 8.0**2)) + rng.normal(0, 0.3, len(t_draw))
    return tr, t_draw + delay_s, c


@pytest.mark.parametrize("delay", [-42.0, 4.0, 17.5])
def test_estimate_delay_recovers_known_delay(delay):
    tr, t_stamp, c = _shuttle(delay)
    est = estimate_delay(tr, t_stamp, c - np.median(c), search_s=(-60, 60))
    assert est.delay_s == pytest.approx(delay, abs=0.5)
    assert est.confidence > 0.3


def test_estimate_delay_is_honest_when_there_is_no_structure():
    tr, t_stamp, _ = _shuttle(5.0)
    noise = np.random.default_rng(1).normal(0, 1, len(t_stamp))
    est = estimate_delay(tr, t_stamp, noise, search_s=(-30, 30))
    assert (not est.ok) or est.confidence < 0.3
    # and what follows: such an estimate is never applied — refused with the reason, or the
    # analyser's documented lag is used and says it was not estimated
    s = solve_clock(lag="auto", clock_offset="auto", same_clock=True, estimate=lambda: est)
    assert s.applied == "none" and "could not be estimated from the data" in s.refused
    assert np.isnan(s.lag_s) and s.lag_confidence == 0.0
    s = solve_clock(lag="auto", clock_offset="auto", same_clock=True, estimate=lambda: est,
                    default_lag_s=4.0, default_lag_source="Picarro default")
    assert (s.lag_s, s.applied, s.refused) == (4.0, "instrument default", None) and "not estimated" in s.lag_method


def test_solve_clock_split_rules():
    est = DelayEstimate(20.0, 0.8, "test")
    calls = []

    def estimate():
        calls.append(1)
        return est

    s = solve_clock(lag=8.0, clock_offset="auto", same_clock=False, estimate=estimate)
    assert (s.clock_offset_s, s.lag_s, s.clock_offset_confidence, s.lag_confidence) == (12.0, 8.0, 0.8, 1.0)
    s = solve_clock(lag="auto", clock_offset=5.0, same_clock=False, estimate=estimate)
    assert (s.clock_offset_s, s.lag_s, s.lag_confidence) == (5.0, 15.0, 0.8)
    s = solve_clock(lag="auto", clock_offset="auto", same_clock=True, estimate=estimate)
    assert (s.clock_offset_s, s.lag_s) == (0.0, 20.0)
    s = solve_clock(lag="auto", clock_offset="auto", same_clock=False, estimate=estimate)
    assert s.total_delay_s == 20.0 and s.lag_confidence == 0.0 and s.clock_offset_confidence == 0.0
    n = len(calls)
    s = solve_clock(lag=1.0, clock_offset=2.0, same_clock=False, estimate=estimate)
    assert len(calls) == n and s.total_delay_s == 3.0  # nothing to estimate


def test_solve_clock_never_applies_an_untrusted_estimate():
    weak = DelayEstimate(50.2, 0.10, "test")
    none = DelayEstimate(float("nan"), 0.0, "not estimable: no repeated passes")
    for est in (weak, none):
        # one clock and a documented instrument lag: the lag falls back to it, and says so
        s = solve_clock(lag="auto", clock_offset="auto", same_clock=True, estimate=lambda e=est: e,
                        default_lag_s=4.0, default_lag_source="Picarro default")
        assert (s.clock_offset_s, s.lag_s, s.applied, s.refused) == (0.0, 4.0, "instrument default", None)
        assert s.lag_confidence == 0.0 and "Picarro default 4 s, not estimated" in s.lag_method
        # one clock, no documented lag: refused with the reason
        s = solve_clock(lag="auto", clock_offset="auto", same_clock=True, estimate=lambda e=est: e)
        assert s.applied == "none" and "inlet lag could not be estimated" in s.refused
        # two clocks: the offset has no default, whatever the lag
        for lag in ("auto", 4.0):
            s = solve_clock(lag=lag, clock_offset="auto", same_clock=False, estimate=lambda e=est: e,
                            default_lag_s=4.0)
            assert s.refused and s.applied == "none"
    s = solve_clock(lag="auto", clock_offset="auto", same_clock=True, estimate=lambda: weak, min_confidence=0.05)
    assert (s.lag_s, s.applied) == (50.2, "estimated")  # the threshold is the caller's to set


def test_leap_seconds_and_local_time():
    assert leap_seconds_at(["2012-06-30T23:59:59Z", "2012-07-01", "2015-11-21", "2024-01-01"]).tolist() == [
        15, 16, 17, 18]
    s = localize(pd.Series(pd.to_datetime(["2026-05-12 09:00:00"])), "Asia/Shanghai")
    assert s.iloc[0] == pd.Timestamp("2026-05-12T01:00:00Z")
    p = parse_times(pd.Series(["1747011600", "x"]), fmt="unix")
    assert p.iloc[0] == pd.Timestamp("2025-05-12T01:00:00Z") and pd.isna(p.iloc[1])


def test_qa_flags():
    f = pd.DataFrame({"speed_m_s": [5.0, 0.1, 60.0, 5.0, 5.0, 5.0, 5.0, 5.0],
                      "tvoc_ugm3": [10.0, -1.0, 10.0, 999.0, 999.0, 999.0, 999.0, 999.0],
                      "status": ["OK", "OK", "OK", "OK", "OK", "OK", "OK", "FAULT"]})
    flags = qc.qa_flags(f, ["tvoc_ugm3"], gps_fix=np.array([3, 3, 3, 2, 3, 3, 3, 3]),
                        hdop=np.array([1, 1, 1, 1, 9, 1, 1, 1.0]))
    assert flags[0] == ""
    assert flags[1] == "negative|stationary"
    assert flags[2] == "speed_spike"
    assert "gps_quality" in flags[3] and "saturated" in flags[3]
    assert "gps_quality" in flags[4]
    assert flags[7] == "saturated|instrument_status"


def test_passes_split_at_gaps_stops_and_reversals():
    t = np.arange(0.0, 200.0, 1.0)
    vx = np.where(t < 30, 5.0, -5.0)  # reversal at 30 s
    vx[50:60] = 0.0  # a 10 s stop (a red light): shorter than the dwell, part of the pass
    vx[80:150] = 0.0  # a 70 s stop: a stationary pass
    vy = np.zeros_like(t)
    t2 = t.copy()
    t2[185:] += 20.0  # gap
    p = qc.segment_passes(t2, vx, vy, max_gap_s=5.0)
    assert p[0] == 1 and p[29] == 1 and p[35] == 2 and p[55] == 2 and p[75] == 2
    assert p[100] == 3 and p[160] == 4 and p[190] == 5
    assert (np.diff(p) >= 0).all()
