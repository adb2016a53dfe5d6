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

Alternative estimator: :func:`estimate_delay_crossings` (``method="crossings"``, in
:mod:`ecopatrol.processing.align_crossings`) matches
plume crossings of opposite-direction passes close in time and gives a standard error
from the spread of the per-pair delays; its confidence is scaled by the contrast of its
score curve because a wrong matching makes the spread meaningless. On the simulator's
curtains (weak crossings, ±10° meander) neither estimator reaches 1 s per sortie: most
sorties hold too few crossings of one plume.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._align_types import DelayEstimate, TrackArrays
from .align_crossings import estimate_delay_crossings, plume_crossings

__all__ = [
    "MIN_COHERENCE_PAIRS", "MIN_DELAY_CONFIDENCE", "REASON_AFTER", "REASON_BEFORE", "REASON_GAP", "ClockSolution",
    "DelayEstimate", "Interpolated", "TrackArrays", "combined_signal", "enhancement", "estimate_delay",
    "estimate_delay_coherence", "estimate_delay_crossings", "interpolate_track", "plume_crossings", "solve_clock",
]

log = logging.getLogger(__name__)

#: Pairs of co-located samples from different passes that a coherence estimate needs for full
#: confidence (fewer scale it down proportionally).
MIN_COHERENCE_PAIRS = 30

REASON_BEFORE = "sample time before the track starts"
REASON_AFTER = "sample time after the track ends"
REASON_GAP = "GPS gap longer than max_gap_s around the sample time"


# ---------------------------------------------------------------------------- interpolation


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
