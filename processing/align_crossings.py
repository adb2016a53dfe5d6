"""Total delay from plume crossings matched across opposite-direction passes (``method="crossings"``).

The alternative estimator of :mod:`ecopatrol.processing.align`: each plume crossing of the
signal is reduced to its centroid time; crossings of the same plume made in different
directions coincide on the track only at the true delay. Gives a standard error from the
spread of the per-pair delays; its confidence is scaled by the contrast of its score curve.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.special import erf

from ._align_types import DelayEstimate, TrackArrays

log = logging.getLogger(__name__)


def plume_crossings(t_s: np.ndarray, signal: np.ndarray, *, hi_sd: float = 5.0, lo_sd: float = 1.5,
                    max_duration_s: float = 150.0, max_gap_s: float = 3.0) -> pd.DataFrame:
    """Plume crossings in a concentration signal: runs above ``lo_sd`` that peak above ``hi_sd``.

    The signal is scaled by its robust standard deviation (1.4826 MAD) first. Returns one row
    per crossing: ``t_s`` (enhancement-weighted centroid time, on the signal's clock),
    ``strength`` (sum of the enhancement above ``lo_sd``), ``peak_sd`` and ``duration_s``.
    Runs longer than ``max_duration_s`` (a stop in a plume, a background step) are left out.
    """
    t = np.asarray(t_s, float)
    z = np.asarray(signal, float)
    ok = np.isfinite(z) & np.isfinite(t)
    t, z = t[ok], z[ok]
    empty = pd.DataFrame({"t_s": [], "strength": [], "peak_sd": [], "duration_s": []})
    if len(z) < 10:
        return empty
    mad = 1.4826 * np.median(np.abs(z - np.median(z)))
    if not mad > 0:
        return empty
    z = (z - np.median(z)) / mad
    above = z > lo_sd
    start = above & np.r_[True, ~above[:-1] | (np.diff(t) > max_gap_s)]
    run = np.cumsum(start) * above
    n = int(run.max())
    if n == 0:
        return empty
    idx = np.flatnonzero(above)
    r = run[idx] - 1
    w = z[idx] - lo_sd
    sw = np.bincount(r, w, n)
    st = np.bincount(r, w * t[idx], n)
    peak = np.full(n, -np.inf)
    np.maximum.at(peak, r, z[idx])
    t0 = np.full(n, np.inf)
    np.minimum.at(t0, r, t[idx])
    t1 = np.full(n, -np.inf)
    np.maximum.at(t1, r, t[idx])
    keep = (peak >= hi_sd) & (t1 - t0 <= max_duration_s) & (t1 > t0)
    return pd.DataFrame({"t_s": st[keep] / sw[keep], "strength": sw[keep], "peak_sd": peak[keep],
                         "duration_s": (t1 - t0)[keep]})


def _track_state(track: TrackArrays, vx_tr, vy_tr, q):
    return (np.interp(q, track.t_s, track.x), np.interp(q, track.t_s, track.y),
            np.interp(q, track.t_s, vx_tr), np.interp(q, track.t_s, vy_tr))


def estimate_delay_crossings(
    track: TrackArrays,
    t_s: np.ndarray,
    signal: np.ndarray,
    *,
    search_s: tuple[float, float] = (-120.0, 120.0),
    step_s: float = 0.5,
    match_radius_m: float = 20.0,
    max_pair_dt_s: float = 600.0,
    meander_time_s: float = 120.0,
    min_speed_m_s: float = 1.5,
    min_pairs: int = 3,
) -> DelayEstimate:
    """Total delay from plume crossings matched across opposite-direction passes.

    Each plume crossing is reduced to its centroid time on the sensor clock. For a candidate
    delay ``D`` the crossing sits at ``track(t − D)``; two crossings of the same plume made
    in different directions (a drone curtain's stacked back-and-forth transects, a van's
    return pass) coincide only at the true ``D``. Pairs are weighted by how much their
    velocities differ (the lever) and by how close in time they are (the plume meanders
    slowly: adjacent transects see nearly the same plume position). The coarse search
    maximises a kernel score of matched pairs; each matched pair then gives its own delay
    ``D_ef = D0 + Δs / |Δv|`` (``Δs`` the along-lever separation at ``D0``), and the
    estimate is their robust weighted mean. ``sd_s`` is its standard error from the spread
    of the per-pair delays (with the effective number of independent crossings), and the
    confidence is the probability that the estimate is within 1 s of the truth, ``erf(1 /
    (√2 sd))``, shrunk when few crossings support it.
    """
    t_s = np.asarray(t_s, float)
    ev = plume_crossings(t_s, signal)
    if len(track) < 3 or len(ev) < 2:
        return DelayEstimate(np.nan, 0.0, f"not estimable: {len(ev)} plume crossing(s)")
    tau = ev["t_s"].to_numpy()
    strength = ev["strength"].to_numpy()
    vx_tr = np.gradient(track.x, track.t_s)
    vy_tr = np.gradient(track.y, track.t_s)
    ia, ib = np.triu_indices(len(tau), k=1)
    dt_pair = np.abs(tau[ia] - tau[ib])
    near = dt_pair <= max_pair_dt_s
    ia, ib, dt_pair = ia[near], ib[near], dt_pair[near]
    if len(ia) == 0:
        return DelayEstimate(np.nan, 0.0, "not estimable: no crossings close enough in time")
    grid = np.arange(search_s[0], search_s[1] + step_s / 2, step_s)
    # Crossings of one plume on adjacent passes have comparable strengths; a strong crossing
    # must not outweigh the many consistent weak ones (a chance coincidence of two strong
    # crossings at a wrong delay would otherwise win).
    similar = np.sqrt(np.minimum(strength[ia], strength[ib]) / np.maximum(strength[ia], strength[ib]))
    w_pair = similar / (1.0 + dt_pair / meander_time_s)
    score = _crossing_score(track, (vx_tr, vy_tr), tau, ia, ib, grid, w_pair, match_radius_m=match_radius_m,
                            min_speed_m_s=min_speed_m_s)
    if not (score > 0).any():
        return DelayEstimate(np.nan, 0.0, "not estimable: no crossings seen from different directions")
    # smooth the coarse curve over ±1 s before taking its maximum
    sm = pd.Series(score).rolling(5, center=True, min_periods=1).mean().to_numpy()
    d0 = float(grid[int(np.argmax(sm))])
    curve = pd.Series(sm, index=grid)
    est_d, est_sd, n_used = _refine_crossing_delay(track, (vx_tr, vy_tr), tau, ia, ib, similar, dt_pair, d0,
                                                   match_radius_m=match_radius_m, meander_time_s=meander_time_s,
                                                   min_speed_m_s=min_speed_m_s, min_pairs=min_pairs)
    if n_used < min_pairs:
        return DelayEstimate(round(d0, 2), 0.0, "plume crossings: too few matched pairs to refine "
                             f"({n_used})", n_used, float(sm.max()), curve)
    # a rival peak of the coarse score away from the estimate means the matching itself is
    # ambiguous: the spread of the matched pairs then says nothing, so the contrast scales it
    away = np.abs(grid - est_d) > 3.0
    second = float(sm[away].max()) if away.any() else 0.0
    contrast = max(0.0, 1.0 - second / float(sm.max())) if sm.max() > 0 else 0.0
    conf = float(erf(1.0 / (np.sqrt(2.0) * est_sd)) * min(1.0, n_used / 6.0) * min(1.0, 2.0 * contrast))
    log.debug("crossing delay %.2f ± %.2f s from %d pairs (%d crossings)", est_d, est_sd, n_used, len(ev))
    return DelayEstimate(round(est_d, 2), round(conf, 3),
                         f"plume crossings matched across passes ({n_used} pairs of {len(ev)} crossings)",
                         n_used, float(sm.max()), curve, sd_s=round(est_sd, 3))


def _crossing_score(track: TrackArrays, v_tr: tuple[np.ndarray, np.ndarray], tau: np.ndarray, ia: np.ndarray,
                    ib: np.ndarray, grid: np.ndarray, w_pair: np.ndarray, *, match_radius_m: float,
                    min_speed_m_s: float) -> np.ndarray:
    """The coarse kernel score of each candidate delay in ``grid``: matched pairs of crossings, weighted.

    A pair (``ia``, ``ib``) counts where both crossings lie on the moving track at ``τ − D``, by
    its weight ``w_pair``, its lever (0 same direction … 1 opposite) and a Gaussian kernel of
    their separation (``match_radius_m``).
    """
    q = tau[None, :] - grid[:, None]  # (grid, events)
    inside = (q >= track.t_s[0]) & (q <= track.t_s[-1])
    x, y, vx, vy = _track_state(track, v_tr[0], v_tr[1], q)
    moving = inside & (np.hypot(vx, vy) > min_speed_m_s)
    d2 = (x[:, ia] - x[:, ib]) ** 2 + (y[:, ia] - y[:, ib]) ** 2
    dv = np.hypot(vx[:, ia] - vx[:, ib], vy[:, ia] - vy[:, ib])
    sp = np.hypot(vx[:, ia], vy[:, ia]) + np.hypot(vx[:, ib], vy[:, ib])
    lever = np.where(sp > 0, dv / np.maximum(sp, 1e-9), 0.0)  # 0 same direction … 1 opposite
    valid = moving[:, ia] & moving[:, ib]
    return np.where(valid, w_pair[None, :] * lever * np.exp(-d2 / (2 * match_radius_m**2)), 0.0).sum(axis=1)


def _refine_crossing_delay(track: TrackArrays, v_tr: tuple[np.ndarray, np.ndarray], tau: np.ndarray,
                           ia: np.ndarray, ib: np.ndarray, similar: np.ndarray, dt_pair: np.ndarray, d0: float, *,
                           match_radius_m: float, meander_time_s: float, min_speed_m_s: float,
                           min_pairs: int) -> tuple[float, float, int]:
    """Refine the coarse delay ``d0`` from each matched pair's own delay ``D0 + Δs / |Δv|``.

    Re-linearised up to 3 times around the current estimate: a robust (Huber) weighted mean of
    the per-pair delays, its standard error from their spread and the effective number of
    independent crossings. Returns ``(delay_s, sd_s, pairs used)``; fewer than ``min_pairs``
    pairs: the estimate so far and that count.
    """
    est_d, est_sd, n_used = d0, np.inf, 0
    for _ in range(3):  # re-linearise around the current estimate
        qq = tau - est_d
        xi, yi, vxi, vyi = _track_state(track, v_tr[0], v_tr[1], qq)
        ok_e = (qq >= track.t_s[0]) & (qq <= track.t_s[-1]) & (np.hypot(vxi, vyi) > min_speed_m_s)
        dvx, dvy = vxi[ia] - vxi[ib], vyi[ia] - vyi[ib]
        dvn = np.hypot(dvx, dvy)
        spn = np.hypot(vxi[ia], vyi[ia]) + np.hypot(vxi[ib], vyi[ib])
        sep = np.hypot(xi[ia] - xi[ib], yi[ia] - yi[ib])
        use = ok_e[ia] & ok_e[ib] & (dvn > 0.5 * np.maximum(spn, 1e-9)) & (sep < 2 * match_radius_m)
        if use.sum() < min_pairs:
            break
        a, b = ia[use], ib[use]
        ux, uy = dvx[use] / dvn[use], dvy[use] / dvn[use]
        ds = (xi[a] - xi[b]) * ux + (yi[a] - yi[b]) * uy
        # P(D) ≈ P(D0) − v (D − D0): the along-lever separation closes at D0 + ds / |Δv|
        pairs_d = est_d + ds / dvn[use]
        w = dvn[use] ** 2 * similar[use] / (1.0 + dt_pair[use] / meander_time_s)
        m, hw = _huber_mean(pairs_d, w)
        n_ev = len(np.unique(np.r_[a, b]))
        n_eff = min(hw.sum() ** 2 / np.sum(hw**2), n_ev / 2.0)
        spread = np.sqrt(np.average((pairs_d - m) ** 2, weights=hw))
        est_sd = float(max(spread, 0.2) / np.sqrt(max(n_eff - 1.0, 0.5)))
        n_used = int(use.sum())
        moved = abs(m - est_d)
        est_d = float(m)
        if moved < 0.05:
            break
    return est_d, est_sd, n_used


def _huber_mean(values: np.ndarray, w: np.ndarray, *, iterations: int = 10) -> tuple[float, np.ndarray]:
    """Robust (Huber, 1.5 MAD-sd) weighted mean of ``values`` and the final weights."""
    m = np.average(values, weights=w)
    for _ in range(iterations):
        res = values - m
        s = 1.4826 * np.median(np.abs(res)) + 0.1
        hw = w * np.minimum(1.0, 1.5 * s / np.maximum(np.abs(res), 1e-9))
        m = np.average(values, weights=hw)
    return m, hw
