"""Clocks, inlet lag and track interpolation.

Conventions (CONTRACTS.md): ``clock_offset_s`` = instrument clock − true UTC; ``lag_s`` =
inlet delay, a sample stamped ``t`` (true UTC) was drawn at the inlet at ``t − lag_s``. A
sample stamped ``T`` by the instrument's clock was therefore drawn at
``T − clock_offset_s − lag_s``: the concentration/position relation only sees the **total
delay** ``D = clock_offset_s + lag_s``.

What is estimable from a track and one analyser, and how
--------------------------------------------------------
``D`` is estimated by *spatial coherence*: place every sample at ``track(T − D)`` for each
candidate ``D`` and correlate the concentration enhancements of samples that land within a
few metres of each other on **different passes** (more than ``min_separation_s`` apart),
each pair weighted by the difference of the two velocity vectors. A wrong delay shifts a
sample by ``v · (D − D_true)`` along its direction of travel, so crossings of the same
plume in different directions or at different speeds only coincide at the true delay;
pairs travelling alike carry no information and get no weight. The curve over ``D`` is
searched on a coarse grid and refined; the confidence combines the peak correlation and
its contrast to the best value away from the peak.

Limits, stated plainly: the estimate is the *effective* delay, which includes the
analyser's response (a first-order response of time constant τ moves every plume's
centroid ≈ τ later; declare it and it is subtracted), and it assumes the concentration
field stays put between passes. Plume meander of ±σ metres along the path between passes
limits the precision to about ``σ / (2 v √n)`` for ``n`` crossings at speed ``v``; the
confidence falls when the passes disagree, and is the number to read before trusting it.

``D`` alone cannot be split into clock offset and lag by concentration data (both shift
the samples identically). The split needs one declared value: a lag measured with a puff
test (``lag=``) or a clock compared with GPS time (``clock_offset=``); a file that carries
its own GPS (Picarro ``.dat``) shares one clock with its positions, so its offset is 0.
When neither is known the split is reported with zero confidence, and the positions are
still right because they depend on ``D`` only.

The two paths of :func:`ecopatrol.processing.georef.georeference`:

- **with the crew's instrument record** (``<name>_instrument.toml``, see
  :mod:`ecopatrol.processing.readers.instrument`): the lag is measured by the puff test
  (first rise − release marker, both on the analyser clock) and the clock offset by the
  marker against the GPS time of the release; the data's own estimate of ``D`` stays in
  the provenance as a cross-check. When the record has a lag but no release time, the
  offset is estimated ``D`` − lag.
- **without it** (both ``auto``): ``D`` is estimated and reported; the split is marked not
  separable (confidence 0).

Alternative estimator: :func:`estimate_delay_crossings` (``method="crossings"``) matches
plume crossings of opposite-direction passes close in time and gives a standard error
from the spread of the per-pair delays; its confidence is scaled by the contrast of its
score curve because a wrong matching makes the spread meaningless. On the simulator's
curtains (weak crossings, ±10° meander) neither estimator reaches 1 s per sortie: most
sorties hold too few crossings of one plume.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import erf

log = logging.getLogger(__name__)

#: Pairs of co-located samples from different passes that a coherence estimate needs for full
#: confidence (fewer scale it down proportionally).
MIN_COHERENCE_PAIRS = 30

REASON_BEFORE = "sample time before the track starts"
REASON_AFTER = "sample time after the track ends"
REASON_GAP = "GPS gap longer than max_gap_s around the sample time"


@dataclass
class DelayEstimate:
    """A total delay estimate: ``delay_s`` (clock offset + inlet lag) with a confidence in [0, 1]."""

    delay_s: float
    confidence: float
    method: str
    n_pairs: int = 0
    peak_score: float = float("nan")
    curve: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    sd_s: float = float("nan")  # standard error of ``delay_s`` when the method gives one

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.delay_s))


# ---------------------------------------------------------------------------- interpolation


@dataclass
class TrackArrays:
    """A track as sorted numpy arrays: ``t_s`` Unix seconds, metric ``x``/``y``, ``lon``/``lat`` (EPSG:4326)."""

    t_s: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    alt_m: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        order = np.argsort(self.t_s, kind="stable")
        if not np.all(order == np.arange(len(order))):
            for k in ("t_s", "x", "y", "lon", "lat", "alt_m"):
                setattr(self, k, np.asarray(getattr(self, k))[order])
            self.extra = {k: np.asarray(v)[order] for k, v in self.extra.items()}
        # Duplicate times would make zero-length segments: keep the first of each.
        keep = np.r_[True, np.diff(self.t_s) > 0]
        if not keep.all():
            for k in ("t_s", "x", "y", "lon", "lat", "alt_m"):
                setattr(self, k, np.asarray(getattr(self, k))[keep])
            self.extra = {k: np.asarray(v)[keep] for k, v in self.extra.items()}

    def __len__(self) -> int:
        return len(self.t_s)


_REASONS = np.array(["", REASON_BEFORE, REASON_AFTER, REASON_GAP], dtype=object)


@dataclass
class Interpolated:
    """Positions at query times; ``reason`` is '' where ``ok`` and the quarantine reason elsewhere."""

    ok: np.ndarray
    code: np.ndarray  # 0 ok, 1 before the track, 2 after it, 3 in a gap
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    alt_m: np.ndarray
    speed_m_s: np.ndarray
    vx_m_s: np.ndarray
    vy_m_s: np.ndarray
    i0: np.ndarray  # index of the track point before each query (for per-fix attributes)
    frac: np.ndarray

    @property
    def reason(self) -> np.ndarray:
        return _REASONS[self.code]


def interpolate_track(track: TrackArrays, t_s: np.ndarray, *, max_gap_s: float = 5.0) -> Interpolated:
    """Linear interpolation of ``track`` at times ``t_s`` (Unix s), never across a gap > ``max_gap_s``.

    ``x``/``y`` are interpolated in the track's metric CRS and ``lon``/``lat`` with the same
    time weights: over a segment of a few hundred metres at most, the inverse projection is
    affine to well under a millimetre, so this equals projecting the metric position back
    without a per-sample pyproj call. Speed and velocity are the segment's. Per-segment
    slopes are computed once on the track, so each sample costs one search and one gather
    per output column.
    """
    t = np.asarray(t_s, dtype=float)
    tt = track.t_s
    n = len(tt)
    j = np.searchsorted(tt, t, side="right")
    if n:
        j[(j == n) & (t == tt[-1])] = n - 1  # an exact hit on the last fix is inside the track
    code = np.zeros(len(t), dtype=np.uint8)
    i0 = j - 1
    np.clip(i0, 0, max(n - 2, 0), out=i0)
    dt_seg = np.diff(tt) if n > 1 else np.ones(1)
    gap_seg = dt_seg > max_gap_s
    code[gap_seg[i0]] = 3
    code[j >= n] = 2
    code[j == 0] = 1
    ok = code == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(dt_seg > 0, 1.0 / dt_seg, 0.0)
    f = (t - tt[i0]) * inv[i0]
    np.clip(f, 0.0, 1.0, out=f)

    def lerp(a):
        a = np.asarray(a, dtype=float)
        if n < 2:
            return np.full(len(t), a[0] if n else np.nan)
        return a[i0] + f * np.diff(a)[i0]

    if n > 1:
        vx_seg = np.diff(track.x) * inv
        vy_seg = np.diff(track.y) * inv
        vx, vy = vx_seg[i0], vy_seg[i0]
        sp = np.hypot(vx_seg, vy_seg)[i0]
    else:
        vx = vy = sp = np.zeros(len(t))
    return Interpolated(ok, code, lerp(track.x), lerp(track.y), lerp(track.lon), lerp(track.lat),
                        lerp(track.alt_m), sp, vx, vy, i0, f)


# ---------------------------------------------------------------------------- delay estimation


def enhancement(t_s: np.ndarray, conc: np.ndarray, *, window_s: float = 120.0, quantile: float = 0.1) -> np.ndarray:
    """Concentration above a running low quantile (background), despiked and robustly scaled."""
    s = pd.Series(np.asarray(conc, float), index=pd.to_datetime(np.asarray(t_s) * 1e9))
    s = s[~s.index.duplicated()] if s.index.has_duplicates else s
    # Single-sample glitches (saturation spikes, dropouts to zero) are not plumes: a
    # 3-sample running median removes them and keeps crossings that last several samples.
    s = s.rolling(3, center=True, min_periods=1).median()
    bg = s.rolling(f"{int(window_s)}s", center=True, min_periods=1).quantile(quantile)
    e = (s - bg).to_numpy()
    e = np.asarray(e, dtype=float)
    if len(e) != len(conc):  # duplicates removed: map back
        e = pd.Series(e, index=s.index).reindex(pd.to_datetime(np.asarray(t_s) * 1e9)).to_numpy()
    mad = np.nanmedian(np.abs(e - np.nanmedian(e))) if np.isfinite(e).any() else np.nan
    scale = mad if np.isfinite(mad) and mad > 0 else (np.nanstd(e) or 1.0)
    z = e / scale
    hi = np.nanpercentile(z, 99.5) if np.isfinite(z).any() else np.inf
    return np.minimum(z, hi)


def combined_signal(t_s: np.ndarray, frame: pd.DataFrame, species: list[str]) -> np.ndarray:
    """Sum of the scaled enhancements of every species (NaN-safe): one signal for the delay search."""
    acc = np.zeros(len(t_s))
    any_ok = np.zeros(len(t_s), dtype=bool)
    for c in species:
        v = frame[c].to_numpy(float)
        if np.isfinite(v).sum() < 10 or np.nanstd(v) == 0:
            continue
        z = enhancement(t_s, v)
        acc += np.nan_to_num(z)
        any_ok |= np.isfinite(z)
    return np.where(any_ok, acc, np.nan)


def _coherence(track: TrackArrays, vx_tr, vy_tr, t_s, sig, D, radius_m, min_sep_s, min_speed_m_s,
               meander_time_s=np.inf):
    from scipy.spatial import cKDTree

    q = t_s - D
    inside = (q >= track.t_s[0]) & (q <= track.t_s[-1]) & np.isfinite(sig)
    idx = np.flatnonzero(inside)
    if len(idx) < 10:
        return np.nan, 0
    qi = q[idx]
    xi = np.interp(qi, track.t_s, track.x)
    yi = np.interp(qi, track.t_s, track.y)
    vxi = np.interp(qi, track.t_s, vx_tr)
    vyi = np.interp(qi, track.t_s, vy_tr)
    moving = np.hypot(vxi, vyi) > min_speed_m_s
    idx, xi, yi, vxi, vyi = idx[moving], xi[moving], yi[moving], vxi[moving], vyi[moving]
    if len(idx) < 10:
        return np.nan, 0
    pairs = cKDTree(np.c_[xi, yi]).query_pairs(radius_m, output_type="ndarray")
    if len(pairs) == 0:
        return np.nan, 0
    a, b = pairs[:, 0], pairs[:, 1]
    sep = np.abs(t_s[idx[a]] - t_s[idx[b]]) > min_sep_s
    a, b = a[sep], b[sep]
    # the lever (velocity difference) times the time proximity: the plume meanders, so
    # passes minutes apart see it elsewhere and must not outvote adjacent ones
    dt_ab = np.abs(t_s[idx[a]] - t_s[idx[b]])
    w = np.hypot(vxi[a] - vxi[b], vyi[a] - vyi[b]) / (1.0 + dt_ab / meander_time_s)
    if len(a) < 10 or w.sum() <= 0:
        return np.nan, len(a)
    sa, sb = sig[idx[a]], sig[idx[b]]
    u = np.r_[sa, sb]
    v = np.r_[sb, sa]
    ww = np.r_[w, w]
    m = np.sum(ww * u) / ww.sum()
    var = np.sum(ww * (u - m) ** 2)
    if var <= 0:
        return np.nan, len(a)
    r = float(np.sum(ww * (u - m) * (v - m)) / var)
    # Few or unevenly weighted pairs give noisy correlations: score the 1-sigma lower bound of
    # the Fisher-z interval with the Kish effective number of pairs, so that sparse spurious
    # alignments cannot beat a well-supported one.
    n_eff = w.sum() ** 2 / np.sum(w**2)
    z = np.arctanh(np.clip(r, -0.999, 0.999)) - 1.0 / np.sqrt(max(n_eff - 3.0, 1.0))
    return float(np.tanh(z)), len(a)


def estimate_delay(
    track: TrackArrays,
    t_s: np.ndarray,
    signal: np.ndarray,
    *,
    search_s: tuple[float, float] = (-120.0, 120.0),
    method: str = "coherence",
) -> DelayEstimate:
    """Estimate the total delay ``D`` (s) so the sample stamped ``t`` was drawn at ``track(t − D)``.

    ``method``: ``"crossings"`` (:func:`estimate_delay_crossings`), ``"coherence"``
    (:func:`estimate_delay_coherence`) or ``"auto"``: crossings, and the coherence curve
    when the crossings cannot tell (fewer than three matched pairs).
    """
    if method not in ("auto", "crossings", "coherence"):
        raise ValueError(f"method must be 'auto', 'crossings' or 'coherence', got {method!r}")
    if method in ("auto", "crossings"):
        est = estimate_delay_crossings(track, t_s, signal, search_s=search_s)
        if method == "crossings" or (est.ok and est.confidence > 0):
            return est
    return estimate_delay_coherence(track, t_s, signal, search_s=search_s)


def estimate_delay_coherence(
    track: TrackArrays,
    t_s: np.ndarray,
    signal: np.ndarray,
    *,
    search_s: tuple[float, float] = (-120.0, 120.0),
    step_s: float = 0.5,
    radius_m: float | None = None,
    min_separation_s: float = 30.0,
    min_speed_m_s: float = 1.5,
    max_samples: int = 20_000,
    meander_time_s: float = np.inf,
) -> DelayEstimate:
    """Estimate the total delay ``D`` (s) so the sample stamped ``t`` was drawn at ``track(t − D)``.

    ``t_s`` are the sensor's times on its own clock (Unix s), ``signal`` its concentration
    enhancement (e.g. :func:`combined_signal`). See the module docstring for the method.
    Returns ``delay_s = NaN`` and confidence 0 when the data cannot tell (no repeated
    passes, no concentration structure).
    """
    t_s = np.asarray(t_s, float)
    sig = np.asarray(signal, float)
    if len(t_s) > max_samples:
        k = int(np.ceil(len(t_s) / max_samples))
        t_s, sig = t_s[::k], sig[::k]
    if len(track) < 3 or np.isfinite(sig).sum() < 20:
        return DelayEstimate(np.nan, 0.0, "not estimable: too few samples")
    vx_tr = np.gradient(track.x, track.t_s)
    vy_tr = np.gradient(track.y, track.t_s)
    if radius_m is None:
        sp = np.hypot(vx_tr, vy_tr)
        moving_speed = np.nanmedian(sp[sp > min_speed_m_s]) if (sp > min_speed_m_s).any() else 0.0
        dt_med = float(np.nanmedian(np.diff(t_s))) if len(t_s) > 1 else 1.0
        radius_m = float(np.clip(0.75 * moving_speed * dt_med, 3.0, 15.0))
    grid = np.arange(search_s[0], search_s[1] + step_s / 2, step_s)

    def curve_at(ds):
        out = [_coherence(track, vx_tr, vy_tr, t_s, sig, d, radius_m, min_separation_s, min_speed_m_s,
                          meander_time_s) for d in ds]
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])

    score, npairs = curve_at(grid)
    if not np.isfinite(score).any():
        return DelayEstimate(np.nan, 0.0, "not estimable: no repeated passes within "
                             f"{radius_m:.0f} m", int(np.nanmax(npairs) if len(npairs) else 0))
    best = int(np.nanargmax(score))
    fine = np.round(np.arange(grid[best] - 3 * step_s, grid[best] + 3 * step_s + 1e-9, 0.1), 3)
    fscore, fpairs = curve_at(fine)
    # The fine curve is noisy at the 0.1 s scale: smooth it over ±0.2 s before taking the peak.
    fscore = pd.Series(fscore).rolling(5, center=True, min_periods=1).mean().to_numpy()
    curve = pd.concat([pd.Series(score, index=grid), pd.Series(fscore, index=fine)]).sort_index()
    curve = curve[~curve.index.duplicated()]
    fb = int(np.nanargmax(fscore)) if np.isfinite(fscore).any() else None
    d_best = float(grid[best])
    if fb is not None:  # centroid of the plateau within 0.05 of the smoothed peak
        top = fscore >= np.nanmax(fscore) - 0.05
        d_best = float(np.average(fine[top], weights=fscore[top] - np.nanmax(fscore) + 0.06))
    peak = float(np.nanmax(fscore)) if fb is not None else float(score[best])
    away = np.abs(grid - d_best) > max(2.0, 4 * step_s)
    second = float(np.nanmax(score[away])) if np.isfinite(score[away]).any() else 0.0
    contrast = 1.0 - max(second, 0.0) / peak if peak > 0 else 0.0
    n_pairs = int(fpairs[fb]) if fb is not None else int(npairs[best])
    # Delays where no pair could be scored are rivals we know nothing about, and a peak
    # carried by a handful of pairs is a coincidence as often as not (on a real Picarro
    # survey, 10 pairs gave a confident 12 s for a ~4 s inlet): both shrink the confidence.
    scored = float(np.isfinite(score).mean())
    support = min(1.0, n_pairs / MIN_COHERENCE_PAIRS)
    conf = float(np.clip(max(peak, 0.0) * contrast * 2.0 * scored * support, 0.0, 1.0))
    log.debug("delay %.1f s (peak %.2f, second %.2f, %d pairs, r=%.1f m)", d_best, peak, second, n_pairs, radius_m)
    return DelayEstimate(round(d_best, 2), round(conf, 3), f"spatial coherence of repeated passes (r={radius_m:.1f} m)",
                         n_pairs, round(peak, 3), curve)


# ---------------------------------------------------------------------------- plume crossings


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


@dataclass
class ClockSolution:
    """Clock offset and lag of one sensor file, each with a confidence in [0, 1] and how it was found.

    ``applied`` says where the total delay used for the positions came from: ``"declared"``
    (given, a mapping, an instrument record), ``"estimated"`` (from the data, at a confidence
    of at least :data:`MIN_DELAY_CONFIDENCE`) or ``"instrument default"`` (the estimate was
    not trusted and the analyser's documented lag was used instead). ``refused`` is the
    reason when nothing trustworthy was available: the caller must not georeference then.
    """

    clock_offset_s: float
    lag_s: float
    clock_offset_confidence: float
    lag_confidence: float
    clock_offset_method: str
    lag_method: str
    delay: DelayEstimate | None = None
    applied: str = "declared"
    refused: str | None = None

    @property
    def total_delay_s(self) -> float:
        return self.clock_offset_s + self.lag_s


#: An estimated delay is applied only at or above this confidence. For the crossings method
#: the confidence is the probability of being within 1 s of the truth (shrunk for thin
#: support); for the coherence method it is the peak correlation × its contrast to the best
#: rival delay, × 2 — a peak of 0.5 with no rival, or a strong peak with a rival half as
#: high. Below it, the instrument's documented lag is used where there is one, and otherwise
#: the user is asked to declare the delay (``--lag``, ``--clock-offset`` or a puff test).
MIN_DELAY_CONFIDENCE = 0.5


def solve_clock(
    *,
    lag: float | str,
    clock_offset: float | str,
    same_clock: bool,
    estimate=None,
    default_lag_s: float | None = None,
    default_lag_source: str = "instrument default",
    min_confidence: float = MIN_DELAY_CONFIDENCE,
) -> ClockSolution:
    """Split the total delay into clock offset and lag from what is declared and what is estimated.

    ``estimate`` is a callable returning a :class:`DelayEstimate`, called only when needed.
    An estimate below ``min_confidence`` is never applied: with a same-clock file (or a
    declared clock offset) the lag falls back to ``default_lag_s`` when the instrument has a
    documented one (``applied="instrument default"``); otherwise the solution is
    ``refused`` with the reason, and the caller asks for ``--lag`` / ``--clock-offset`` or a
    puff test.
    """
    lag_auto = isinstance(lag, str)
    off_auto = isinstance(clock_offset, str)
    if same_clock and off_auto:
        clock_offset, off_auto = 0.0, False
        off_method = "0: the positions come from the same file and clock"
    else:
        off_method = "declared"
    if not lag_auto and not off_auto:
        return ClockSolution(float(clock_offset), float(lag), 1.0, 1.0, off_method, "declared")
    est: DelayEstimate = estimate()
    trusted = est.ok and est.confidence >= min_confidence
    if not trusted:
        why = (est.method if not est.ok else
               f"estimate {est.delay_s:+.1f} s at confidence {est.confidence:.2f} < {min_confidence:g} ({est.method})")
        if lag_auto and not off_auto and default_lag_s is not None:
            return ClockSolution(float(clock_offset), float(default_lag_s), 1.0,
                                 0.0, off_method, f"{default_lag_source} {default_lag_s:g} s, not estimated: {why}",
                                 est, applied="instrument default")
        missing = ("the inlet lag" if lag_auto and not off_auto else
                   "the clock offset" if off_auto and not lag_auto else "the total delay (clock offset + inlet lag)")
        return ClockSolution(float("nan"), float("nan"), 0.0, 0.0, "not estimated", "not estimated", est,
                             applied="none", refused=f"{missing} could not be estimated from the data: {why}")
    if lag_auto and not off_auto:
        return ClockSolution(float(clock_offset), est.delay_s - float(clock_offset), 1.0, est.confidence,
                             off_method, "estimated: total delay − clock offset; " + est.method, est, applied="estimated")
    if off_auto and not lag_auto:
        return ClockSolution(est.delay_s - float(lag), float(lag), est.confidence, 1.0,
                             "estimated: total delay − declared lag; " + est.method, "declared", est, applied="estimated")
    prior = float(default_lag_s) if default_lag_s is not None else 0.0
    return ClockSolution(
        est.delay_s - prior, prior, 0.0, 0.0,
        "total delay − assumed lag: offset and lag are not separable without one declared value",
        f"assumed {prior:g} s (declare --lag or --clock-offset to split the total delay)", est, applied="estimated")
