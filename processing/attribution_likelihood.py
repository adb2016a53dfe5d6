"""Per-evidence likelihoods of source attribution: which upwind candidate is behind one peak.

:func:`single_source_likelihood` fits each candidate on its own to the samples around an
evidence item (event or hotspot) and turns the fits into posterior weights, marginalised over the
wind direction (±10°) and the stability class (±1), against "no source" and "an unregistered
source"; :func:`rank_candidates` is the local drop-one test (all candidates by NNLS, then without
each in turn). Both use the plume operator of :mod:`.plume_operator`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import logsumexp

from .plume_operator import PlumeOperator
from .sparse_regression import nnls_rss

DIRECTION_OFFSETS_DEG = np.array([-10.0, -5.0, 0.0, 5.0, 10.0])
DIRECTION_SD_DEG = 7.0
STABILITY_SHIFTS = (-1, 0, 1)  # the single-source likelihood is marginalised over the class ± 1 …
STABILITY_PRIOR = (0.25, 0.5, 0.25)  # … (a time-of-day class is uncertain, and so is σ(x) within a class)
PEAK_COVER = 0.5  # a plume covers an evidence item's peak where it is ≥ this share of its maximum there
OVERLAP_COS = 0.7  # plumes this similar on an evidence item's samples compete for it
UNKNOWN_SOURCE_PENALTY = 5.0  # nats: Occam cost of an unregistered source's position and rate
N_EFF_MAX = 10.0  # independent samples per evidence item (plume-model residuals are correlated along a track)


def rank_candidates(op: PlumeOperator, rows: np.ndarray, enh: np.ndarray, sigma: float,
                    *, max_candidates: int = 25) -> pd.DataFrame:
    """Rank the upwind candidates of one evidence item by a drop-one likelihood test.

    The samples ``rows`` are fitted by NNLS with every candidate whose plume reaches them
    (the full model) and again without each candidate k. With the residual sums of squares
    marginalised over wind-direction offsets δ ∈ ±10° (Gaussian prior, sd 7°),
    ``L(M) = Σ_δ p(δ) exp(−RSS_M(δ) / 2σ²)``, the likelihood that k contributes is the
    posterior of "k needed" against "k not needed" with a BIC-like penalty of ½ ln n:
    ``sigmoid(ln L(full) − ln L(−k) − ½ ln n)``. Overlapping plumes can each be likely.
    Returns ``col``, ``likelihood``, ``rate_g_s`` (in the full fit at the best δ),
    ``offset_deg`` (best δ), ``explained`` (share of the enhancement the full fit explains).
    """
    e = np.nan_to_num(enh[rows])
    n = len(rows)
    logp = -0.5 * (DIRECTION_OFFSETS_DEG / DIRECTION_SD_DEG) ** 2
    logp -= logsumexp(logp)
    mats = [op.matrix(rows, offset_deg=float(off), copy=False) for off in DIRECTION_OFFSETS_DEG]
    strength = np.max([m.max(0) for m in mats], axis=0)
    cols = np.flatnonzero(strength > 0)
    if len(cols) == 0:
        return pd.DataFrame({"col": [], "likelihood": [], "rate_g_s": [], "offset_deg": [], "explained": []})
    cols = cols[np.argsort(-strength[cols], kind="stable")[:max_candidates]]
    k = len(cols)
    rss_full = np.empty(len(mats))
    rss_drop = np.empty((len(mats), k))
    q_full = np.zeros((len(mats), k))
    for i, m in enumerate(mats):
        a = m[:, cols]
        q_full[i], rss_full[i] = nnls_rss(a, e)
        for j in range(k):
            if q_full[i, j] == 0:  # not used by the full fit: dropping it changes nothing
                rss_drop[i, j] = rss_full[i]
            else:
                _, rss_drop[i, j] = nnls_rss(np.delete(a, j, axis=1), e)
    s2 = 2 * sigma**2
    ll_full = logsumexp(logp - rss_full / s2)
    ll_drop = logsumexp(logp[:, None] - rss_drop / s2, axis=0)
    z = ll_full - ll_drop - 0.5 * math.log(max(n, 2))
    lik = 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))
    best = int(np.argmin(rss_full))
    pred = mats[best][:, cols] @ q_full[best]
    pos = np.clip(e, 0, None).sum()
    explained = float(np.clip(pred.sum() / pos, 0, 10)) if pos > 0 else 0.0
    out = pd.DataFrame({"col": cols, "likelihood": lik, "rate_g_s": q_full[best],
                        "offset_deg": DIRECTION_OFFSETS_DEG[best], "explained": explained})
    return out.sort_values(["likelihood", "rate_g_s", "col"], ascending=[False, False, True]).reset_index(drop=True)


def single_source_likelihood(op: PlumeOperator, rows: np.ndarray, enh: np.ndarray, noise: np.ndarray, *,
                             q_all: np.ndarray | None = None, model_rel_sd: float = 0.2,
                             prior_rate_sd_g_s: float = 5.0, n_eff_max: float = N_EFF_MAX,
                             overlap_cos: float = OVERLAP_COS) -> pd.DataFrame:
    """Each upwind candidate on its own: how well does its plume alone explain the samples ``rows``?

    The hypothesis "k is the source of this peak": the enhancement on ``rows``, minus the
    all-samples NNLS contributions (``q_all``) of the sources whose plumes neither cover the
    peak sample (≥ ``PEAK_COVER`` of their maximum on these samples) nor overlap k's (weighted
    cosine ≥ ``overlap_cos`` at the measured wind) — they explain other plumes crossing the
    same track — is fitted by k alone. So the candidates of one plume compete for
    it on equal terms, whatever share the joint NNLS happened to give each. For every wind
    offset δ ∈ ±10° (Gaussian prior, sd 7°) the best non-negative rate for k (weighted least
    squares, sd² = noise² + (``model_rel_sd`` × enhancement)², a N(0, ``prior_rate_sd_g_s``²)
    prior on the rate) and every stability class shift of ±1 (prior ¼, ½, ¼: the plume width, which
    tells distances apart, is only as certain as the class) gives a Gaussian log-likelihood; plume-model residuals are correlated
    along a track, so it counts at most ``n_eff_max`` independent samples (scaled by
    min(1, n_eff_max / n)). Marginalised over δ, these become posterior weights with a prior
    uniform over enterprises (three stacks are not three times as suspect) plus one share each
    for "no source explains the peak" and "an unregistered source does" (a fit to the noise,
    χ² = n, at an Occam cost of ``UNKNOWN_SOURCE_PENALTY`` nats): a candidate that fits better
    than the others but badly in absolute terms does not take the weight. Sources on the wrong side, at the wrong distance or with
    a plume of the wrong width explain little and get ~0 weight; candidates whose plumes look
    the same on these samples (collinear along the wind) share the weight.

    Returns ``col``, ``weight`` (posterior; Σ ≤ 1), ``log_bf`` (against "no source"),
    ``rate_g_s`` (k's rate at the best δ), ``offset_deg``, ``expected_peak`` (its prediction at
    the peak sample); ``attrs["null_weight"]``, ``attrs["unknown_weight"]``.
    """
    e = np.nan_to_num(enh[rows])
    fallback = float(np.nanmedian(noise)) if np.isfinite(noise).any() else 1.0
    nz = np.nan_to_num(noise[rows], nan=fallback)
    w = 1.0 / np.maximum(nz**2 + (model_rel_sd * np.clip(e, 0, None)) ** 2, 1e-12)
    temper = min(1.0, n_eff_max / max(len(rows), 1))
    grid, logp, cols, mats = _plume_grid(op, rows)
    offsets = np.array([off for off, _ in grid])
    empty = pd.DataFrame({"col": [], "weight": [], "log_bf": [], "rate_g_s": [], "offset_deg": [],
                          "expected_peak": []})
    empty.attrs["null_weight"] = 1.0
    if len(cols) == 0:
        return empty
    a0 = mats[grid.index((0.0, 0))]
    q = np.zeros(len(cols)) if q_all is None else np.asarray(q_all, float)[cols]
    contrib = a0 * q[None, :]
    peak = int(np.argmax(e))
    resid, covers = _residual_per_hypothesis(a0, contrib, e, w, peak, overlap_cos)
    ll, rate = _fit_alone(mats, resid, w, temper, prior_rate_sd_g_s)
    r0 = e - contrib[:, ~covers].sum(1)  # no registered source explains the peak
    ll_null = -0.5 * temper * float((w * r0 * r0).sum())
    log_bf = logsumexp(logp[:, None] + ll, axis=0) - ll_null
    best = np.argmax(logp[:, None] + ll, axis=0)
    ent = op.column("enterprise_id")[cols]
    _, inv, counts = np.unique(ent, return_inverse=True, return_counts=True)
    # two more hypotheses, each with the prior of one firm: no registered source explains the peak
    # (log BF 0), and an unregistered (or mislocated) source that fits the samples to the noise
    # (χ² = n) at an Occam cost for its unknown position and rate
    ll_unknown = -0.5 * temper * len(rows) - UNKNOWN_SOURCE_PENALTY
    z = np.r_[log_bf - np.log(counts[inv].astype(float)), 0.0, ll_unknown - ll_null]
    post = np.exp(z - logsumexp(z))
    r_best = rate[best, np.arange(len(cols))]
    exp_peak = np.array([mats[b][peak, j] for j, b in enumerate(best)]) * r_best
    out = pd.DataFrame({"col": cols, "weight": post[:-2], "log_bf": log_bf, "rate_g_s": r_best,
                        "offset_deg": offsets[best], "expected_peak": exp_peak})
    out = out.sort_values(["weight", "log_bf", "col"], ascending=[False, False, True]).reset_index(drop=True)
    out.attrs["null_weight"] = float(post[-2])
    out.attrs["unknown_weight"] = float(post[-1])
    return out


def _plume_grid(op: PlumeOperator, rows: np.ndarray) -> tuple[list, np.ndarray, np.ndarray, list]:
    """The hypotheses' grid of wind offsets × stability shifts, its log prior, and the plumes on it.

    Returns ``grid`` (``(offset_deg, shift)`` pairs), ``logp`` (the Gaussian direction prior
    times the stability prior, normalised over the offsets), ``cols`` (the sources whose plume
    reaches ``rows`` at the measured class and some offset) and ``mats`` (each grid point's unit
    matrix on ``rows`` × ``cols``; the shifted classes computed for those sources only).
    """
    lp_dir = -0.5 * (DIRECTION_OFFSETS_DEG / DIRECTION_SD_DEG) ** 2
    lp_dir -= logsumexp(lp_dir)
    shifts, lp_stab = stability_log_prior()
    grid = [(float(off), int(sh)) for sh in shifts for off in DIRECTION_OFFSETS_DEG]
    logp = np.array([lp_dir[list(DIRECTION_OFFSETS_DEG).index(off)] + lp_stab[shifts.index(sh)]
                     for off, sh in grid])
    # which sources reach these samples at the measured class; the other classes only for those
    base = {(off, 0): op.matrix(rows, offset_deg=off, copy=False) for off, sh in grid if sh == 0}
    strength = np.max([m.max(0) for m in base.values()], axis=0)
    cols = np.flatnonzero(strength > 0)
    mats = [base[(off, sh)][:, cols] if sh == 0 else shifted_plumes(op, rows, cols, sh, offset_deg=off)
            for off, sh in grid]
    return grid, logp, cols, mats


def stability_log_prior() -> tuple[tuple[int, ...], np.ndarray]:
    """The stability-class shifts a plume is marginalised over and their log prior (Σ exp = 1).

    The per-event likelihood (:func:`single_source_likelihood`) and, as an option, the signals
    (:data:`.attribution.SIGNAL_STABILITY_MARGINAL`) use the same ones.
    """
    return tuple(int(s) for s in STABILITY_SHIFTS), np.log(np.asarray(STABILITY_PRIOR, float))


def shifted_plumes(op: PlumeOperator, rows: np.ndarray, cols: np.ndarray, shift: int, *, offset_deg: float = 0.0,
                   block: int | None = None):
    """The unit plumes of sources ``cols`` on samples ``rows`` with every pass's class moved by ``shift``.

    Dense (``op.matrix``) without ``block``; with ``block``, computed that many rows at a time
    and returned as a sparse CSC matrix (the signals' all-samples design).
    """
    if block is None:
        return op.matrix(rows, cols, offset_deg=offset_deg, stability_shift=shift)
    parts = [sparse.csr_matrix(op.matrix(rows[s:s + block], cols, offset_deg=offset_deg, stability_shift=shift,
                                         copy=False)) for s in range(0, len(rows), block)]
    if not parts:
        return sparse.csc_matrix((0, len(cols)))
    return sparse.vstack(parts).tocsc()


def _residual_per_hypothesis(a0: np.ndarray, contrib: np.ndarray, e: np.ndarray, w: np.ndarray, peak: int,
                             overlap_cos: float) -> tuple[np.ndarray, np.ndarray]:
    """(n, k): what is left for candidate k alone to explain, and which candidates cover the peak.

    Every source whose plume covers the peak (≥ ``PEAK_COVER`` of its maximum, at the measured
    wind) competes for it; other plumes crossing these samples keep their all-samples NNLS
    contribution (``contrib``) unless they overlap k's (weighted cosine ≥ ``overlap_cos``: then
    they compete with k as well).
    """
    covers = a0[peak] / np.maximum(a0.max(0), 1e-300) >= PEAK_COVER
    # only a plume that contributes (a positive all-samples rate, non-zero here) and does not cover the
    # peak can be kept: the cosines of those rows alone (a few dozen of the k × k; the other rows of
    # `subtract` multiply columns of `contrib` that are 0 or are all False)
    keep = np.flatnonzero(~covers & contrib.any(0))
    aw = a0 * np.sqrt(w)[:, None]
    nrm = np.sqrt((aw * aw).sum(0))
    cos = (aw[:, keep].T @ aw) / np.maximum(np.outer(nrm[keep], nrm), 1e-300)
    overlap = cos >= overlap_cos
    overlap[np.arange(len(keep)), keep] = True  # a plume always overlaps itself
    subtract = ~overlap  # (j in keep, k): j's NNLS contribution is kept under hypothesis k
    return e[:, None] - contrib[:, keep] @ subtract.astype(float), covers


def _fit_alone(mats: list, resid: np.ndarray, w: np.ndarray, temper: float,
               prior_rate_sd_g_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's best non-negative rate on its residual, and its tempered log-likelihood, per grid point.

    Weighted least squares with weights ``w`` and an N(0, ``prior_rate_sd_g_s``²) prior on the
    rate; the χ² counts ``temper`` of each sample (correlated residuals). Returns ``(ll, rate)``,
    both (grid points, candidates).
    """
    ll = np.empty((len(mats), resid.shape[1]))
    rate = np.empty_like(ll)
    for i, a in enumerate(mats):
        num = (a * resid * w[:, None]).sum(0)
        den = (a * a * w[:, None]).sum(0)
        rate[i] = np.clip(num / (den + 1.0 / prior_rate_sd_g_s**2), 0.0, None)
        chi2 = (w[:, None] * (resid - a * rate[i][None, :]) ** 2).sum(0)
        ll[i] = -0.5 * temper * chi2 - 0.5 * (rate[i] / prior_rate_sd_g_s) ** 2
    return ll, rate
