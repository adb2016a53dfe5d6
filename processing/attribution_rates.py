"""All-samples emission rates of source attribution: NNLS of the enhancement on the plume operator.

:func:`estimate_rates_cov` fits every candidate source's rate (g/s) at once by non-negative least
squares (:func:`.sparse_regression.ridge_nnls`) of the enhancement on the unit-concentration
matrix of :class:`.plume_operator.PlumeOperator`, refits without the sources that lack minimum
support, and gives each rate a standard deviation (active-set posterior plus a relative model
error). :func:`_design` chooses the samples a fit uses and builds their sparse unit matrix.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from scipy import sparse

from .plume_operator import PlumeOperator
from .sparse_regression import ridge_nnls

log = logging.getLogger(__name__)

SUPPORT_SD = 2.0  # minimum support: a sample supports a source where it predicts ≥ this many noise sd
SUPPORT_SHARE = 0.3  # … and at least this share of the samples it reaches must see it
MAX_ROWS = 20000  # samples a fit uses: every exceedance, the rest subsampled (seeded) up to this
MIN_TOUCHED = 3  # a candidate source must reach at least this many of them


def _touched(A: sparse.spmatrix) -> np.ndarray:
    """How many of the design's samples each source's plume reaches (numerically non-zero)."""
    if A.nnz == 0:
        return np.zeros(A.shape[1])
    return np.asarray((A > 1e-9 * A.max()).sum(axis=0)).ravel()


def _design(op: PlumeOperator, enh: np.ndarray, noise: np.ndarray, exceed: np.ndarray | None, max_rows: int,
            seed: int) -> tuple[np.ndarray, sparse.csc_matrix]:
    """The samples a fit uses (every exceedance, the rest subsampled, seeded) and their unit matrix."""
    n = len(enh)
    ok = np.isfinite(enh) & np.isfinite(noise)
    exc = np.zeros(n, bool) if exceed is None else (np.asarray(exceed, bool) & ok)
    rest = np.flatnonzero(ok & ~exc)
    budget = max(max_rows - int(exc.sum()), 0)
    if len(rest) > budget:
        rest = np.sort(np.random.default_rng(seed).choice(rest, budget, replace=False))
    rows = np.sort(np.r_[np.flatnonzero(exc), rest]).astype(int)
    blocks = [sparse.csr_matrix(op.matrix(rows[s:s + 4000])) for s in range(0, len(rows), 4000)]
    A = sparse.vstack(blocks).tocsc() if blocks else sparse.csc_matrix((0, len(op.sources)))
    return rows, A


def _rates_start(op: PlumeOperator, rows: np.ndarray, A: sparse.spmatrix) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The empty rates table (rate 0, sd NaN, samples each source touches), its zero covariance, and the
    columns a fit may use (sources reaching ≥ ``MIN_TOUCHED`` of the design's ``rows``; none without rows)."""
    k = len(op.sources)
    out = pd.DataFrame({"source_id": op.sources["source_id"], "enterprise_id": op.sources["enterprise_id"],
                        "rate_g_s": np.zeros(k), "rate_sd_g_s": np.full(k, np.nan),
                        "n_samples_touched": np.zeros(k, int)})
    cov_all = np.zeros((k, k))
    if len(rows) == 0:
        return out, cov_all, np.zeros(0, int)
    touched = _touched(A)
    out["n_samples_touched"] = touched.astype(int)
    return out, cov_all, np.flatnonzero(touched >= MIN_TOUCHED)


def estimate_rates(op: PlumeOperator, enh: np.ndarray, noise: np.ndarray, **kwargs) -> pd.DataFrame:
    """Emission rates (g/s) of all candidate sources at once by NNLS (see :func:`estimate_rates_cov`)."""
    return estimate_rates_cov(op, enh, noise, **kwargs)[0]


def estimate_rates_cov(op: PlumeOperator, enh: np.ndarray, noise: np.ndarray, *, exceed: np.ndarray | None = None,
                       max_rows: int = MAX_ROWS, model_rel_sd: float = 0.3, obs_rel_sd: float = 0.0,
                       prior_rate_sd_g_s: float = 5.0, min_support: int = 5, seed: int = 0,
                       design: tuple[np.ndarray, sparse.csc_matrix] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Emission rates (g/s) of all candidate sources at once by NNLS over the samples.

    Rows are weighted by 1/sd with sd² = noise² + (``obs_rel_sd`` × enhancement)²; all exceeding
    samples are kept and the others subsampled (seeded) to at most ``max_rows``; sources that
    touch fewer than 3 kept samples get rate 0 and NaN sd, and so do sources without minimum
    support after the fit (fewer than ``min_support`` samples where the source predicts
    ≥ ``SUPPORT_SD`` noise sd and at least half of that is observed, or all of them on one pass,
    or fewer than ``SUPPORT_SHARE`` of the samples it reaches: an isolated spike explained by a
    plume edge), refitted without them. Each rate has a Gaussian prior
    N(0, ``prior_rate_sd_g_s``²) (a ridge, solved as NNLS on augmented rows) so sources the
    samples barely constrain cannot take absurd rates. ``rate_sd_g_s`` combines the posterior
    sd on the active set with ``model_rel_sd`` × rate (Gaussian-plume model error).
    """
    rows, A = design if design is not None else _design(op, enh, noise, exceed, max_rows, seed)
    out, cov_all, cols = _rates_start(op, rows, A)
    if len(cols) == 0:
        return out, cov_all
    e_rows = np.nan_to_num(enh[rows])
    # per-sample sd: instrument noise plus a model error growing with the enhancement, so a few
    # near-field peaks (where a Gaussian plume is least reliable) do not dictate every rate
    w = 1.0 / np.sqrt(noise[rows] ** 2 + (obs_rel_sd * np.clip(e_rows, 0, None)) ** 2)
    Ad = A[:, cols].toarray() * w[:, None]
    b = e_rows * w
    codes_rows = op.view_codes[rows]  # passes, not wind blocks
    q, keep, n_weak = _fit_supported(Ad, b, codes_rows, prior_rate_sd_g_s, min_support)
    active = q > 0
    sd, cov_act = _rate_sd(Ad, b, q, len(rows), prior_rate_sd_g_s)
    _rates_finish(out, cov_all, cols, q, keep, sd, cov_act, model_rel_sd)
    log.info("NNLS: %d samples × %d candidate sources, %d with a positive rate (total %.3g g/s), "
             "%d without minimum support set to 0", len(rows), len(cols), int(active.sum()), float(q.sum()), n_weak)
    return out, cov_all


def _rates_finish(out: pd.DataFrame, cov_all: np.ndarray, cols: np.ndarray, q: np.ndarray, keep: np.ndarray,
                  sd: np.ndarray, cov_act: np.ndarray, model_rel_sd: float) -> None:
    """Write the fitted rates into ``out`` and ``cov_all`` (in place): each sd combined with ``model_rel_sd`` × rate,
    NaN for the unsupported sources; the covariance on the active set."""
    active = q > 0
    sd = np.sqrt(sd**2 + (model_rel_sd * q) ** 2)
    sd[~keep] = np.nan  # unsupported: no estimate
    cov_all[np.ix_(cols[active], cols[active])] = cov_act
    out.loc[cols, "rate_g_s"] = q
    out.loc[cols, "rate_sd_g_s"] = sd


def _fit_supported(Ad: np.ndarray, b: np.ndarray, codes_rows: np.ndarray, prior_rate_sd_g_s: float,
                   min_support: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Ridge NNLS of the whitened ``b`` on ``Ad``, refitted (up to 3 times) without unsupported sources.

    A positive rate must be seen, i.e. predict ≥ ``SUPPORT_SD`` noise sd where at least half of
    it is observed, on ≥ ``min_support`` samples over ≥ 2 passes (``codes_rows``) and on a fair
    share (``SUPPORT_SHARE``) of the samples it reaches; otherwise it only explains an isolated
    spike (traffic) with a plume edge, and is refitted at 0. Returns the rates (one per column),
    which columns are kept, and how many were set to 0.
    """
    def solve(keep: np.ndarray) -> np.ndarray:
        q = np.zeros(Ad.shape[1])
        q[keep] = ridge_nnls(Ad[:, keep], b, prior_rate_sd_g_s)
        return q

    keep = np.ones(Ad.shape[1], bool)
    q = solve(keep)
    n_weak = 0
    for _ in range(3 if min_support > 0 else 0):
        pk = Ad * q[None, :]  # weighted rows: prediction in noise-sd units
        reach = pk >= SUPPORT_SD  # predicted above the noise
        contrib = reach & (b[:, None] >= 0.5 * pk)  # … and seen there
        n_sup = contrib.sum(0)
        n_reach = reach.sum(0)
        n_pass = np.array([len(np.unique(codes_rows[contrib[:, j]])) if n_sup[j] else 0 for j in range(Ad.shape[1])])
        weak = keep & (q > 0) & ((n_sup < min_support) | (n_pass < 2) | (n_sup < SUPPORT_SHARE * n_reach))
        if not weak.any():
            break
        n_weak += int(weak.sum())
        keep &= ~weak
        q = solve(keep)
    return q, keep, n_weak


def _rate_sd(Ad: np.ndarray, b: np.ndarray, q: np.ndarray, n_rows: int,
             prior_rate_sd_g_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior sd of each rate (and the covariance on the active set) from the residual variance.

    Active rates (q > 0): the Gaussian posterior under the N(0, ``prior_rate_sd_g_s``²) prior;
    inactive ones: the residual sd over the column norm (what one more unit of rate would cost).
    """
    active = q > 0
    resid = b - Ad @ q
    dof = max(n_rows - int(active.sum()), 1)
    s2 = max(float(resid @ resid) / dof, 1e-12)
    sd = np.full(len(q), np.nan)
    col_norm = np.sqrt((Ad**2).sum(0))
    sd[~active] = math.sqrt(s2) / np.maximum(col_norm[~active], 1e-300)
    cov_act = np.zeros((int(active.sum()), int(active.sum())))
    if active.any():
        Aa = Ad[:, active]
        cov_act = np.linalg.pinv(Aa.T @ Aa / s2 + np.eye(int(active.sum())) / prior_rate_sd_g_s**2)
        sd[active] = np.sqrt(np.clip(np.diag(cov_act), 0, None))
    return sd, cov_act
