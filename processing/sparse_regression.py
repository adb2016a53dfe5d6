"""Sparse non-negative regression: the sum of single effects, and NNLS with a Gaussian prior.

Generic statistics, knowing nothing of plumes or sources (the attribution uses them:
:mod:`.attribution`, :mod:`.attribution_rates`, :mod:`.attribution_likelihood`):

- :func:`sum_of_single_effects` — ``y ≈ Σ_l X b_l``, each ``b_l`` with one non-zero,
  non-negative entry (Wang et al. 2020), returning a :class:`SingleEffects` result; with
  ``groups``, an effect's coefficient varies from group to group of rows around its own level
  (:func:`_grouped_effect`);
- :func:`ridge_nnls` — non-negative least squares with an N(0, sd²) prior on each coefficient
  (MAP, solved as NNLS on augmented rows);
- :func:`nnls_rss` — NNLS coefficients and residual sum of squares.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.optimize import nnls
from scipy.special import erf, log_ndtr, logsumexp

#: the model's defaults, as the attribution's signals use them (:mod:`.attribution`)
N_EFFECTS = 6  # at most this many effects
RESIDUAL_VARIANCE = 10.0  # of the whitened residuals (κ: plume-model residuals are correlated along a track)
EFFECT_PRIOR_SD = 3.0  # half-normal prior scale of an effect's coefficient
NULL_PRIOR = 0.5  # prior probability that an effect is unused
CONFUSABLE_COS_MIN: float | None = None  # spread_confusable's reach (None: 1 − rel_sd²/2, one model-error sd)


class SingleEffects(NamedTuple):
    """The fit of :func:`sum_of_single_effects`; unpacks as ``alpha, mean, null``."""

    alpha: np.ndarray  # (L, p): posterior probability that effect l is column j
    mean: np.ndarray  # (L, p): posterior mean coefficient of effect l if it is column j
    null: np.ndarray  # (L,): probability that effect l is unused

    @property
    def pip(self) -> np.ndarray:
        """(p,): posterior inclusion probability of each column, 1 − Π_l (1 − α_lj)."""
        return 1.0 - np.prod(1.0 - self.alpha, axis=0)


def sum_of_single_effects(X: np.ndarray, y: np.ndarray, log_prior: np.ndarray, *, n_effects: int = N_EFFECTS,
                          sigma2: float = RESIDUAL_VARIANCE, prior_rate_sd: float = EFFECT_PRIOR_SD,
                          null_prior: float = NULL_PRIOR, max_iter: int = 50,
                          tol: float = 1e-4, weighted=None, groups: np.ndarray | None = None,
                          group_rel_sd: float = 0.0) -> SingleEffects:
    """Sparse regression ``y ≈ Σ_l X b_l`` where each ``b_l`` has a single non-zero, non-negative entry.

    ``X`` may be dense or a ``scipy.sparse`` matrix. ``weighted`` (same shape, default ``X``)
    is ``Ω ∘ X`` for residual precisions ``Ω_ij`` that depend on the column as well as the row
    (each column's single-effect fit weighs sample i by ``Ω_ij``; ``X`` and ``y`` then stay in
    their own units); without it ``X`` and ``y`` are already whitened.

    The "sum of single effects" model (Wang, Sarkar, Carbonetto & Stephens 2020, J. R. Stat.
    Soc. B 82:1273), fitted by iterative Bayesian stepwise selection: each effect ``l`` is one
    emitting source, chosen among the columns with prior ``exp(log_prior)`` (Σ = 1) or left
    unused with prior ``null_prior``; its rate has a half-normal prior with scale
    ``prior_rate_sd`` (emission rates are not negative); the residuals are Gaussian with
    variance ``sigma2`` (``X`` and ``y`` whitened by the per-sample sd). Highly correlated
    columns (sources collinear along the wind) share an effect's probability instead of one
    taking it all at random, as non-negative least squares does.

    With ``groups`` (one integer per row) and ``group_rel_sd`` τ > 0, an effect's coefficient is
    its level ``b`` (the same half-normal prior) times a factor of its own in each group of rows,
    ``q_g ~ N(b, (τ b)²)`` independently (:func:`_grouped_effect`): what one column says on
    different groups need not agree in amplitude, only in shape within each group. ``mean``
    is then the posterior mean level. ``X`` and ``weighted`` must then have the same sparsity
    structure (``weighted`` is Ω ∘ X).

    Returns a :class:`SingleEffects`: ``alpha`` (L, p): posterior probability that effect l is column j; ``mean`` (L, p):
    posterior mean rate of effect l if it is column j; ``null`` (L,): probability that effect l
    is unused.
    """
    if groups is not None and group_rel_sd > 0:
        return _sum_of_grouped_effects(X, y, log_prior, n_effects=n_effects, sigma2=sigma2,
                                       prior_rate_sd=prior_rate_sd, null_prior=null_prior, max_iter=max_iter,
                                       tol=tol, weighted=weighted, groups=groups, group_rel_sd=group_rel_sd)
    n, p = X.shape
    W = X if weighted is None else weighted
    d = np.asarray(W.multiply(X).sum(axis=0)).ravel() if sparse.issparse(X) else np.einsum("ij,ij->j", W, X)
    ok = d > 0
    alpha = np.zeros((n_effects, p))
    mean = np.zeros((n_effects, p))
    null = np.ones(n_effects)
    bbar = np.zeros((n_effects, p))
    fit = np.zeros(n)
    log_prior = np.asarray(log_prior, float)
    lnull = math.log(null_prior)
    lsel = math.log1p(-null_prior)
    # the sampling variance of each column's rate and its posterior variance do not change
    dd = np.where(ok, d, 1.0)
    s2 = np.where(ok, sigma2 / dd, 1e300)
    v1 = 1.0 / (1.0 / s2 + 1.0 / prior_rate_sd**2)
    for _ in range(max_iter):
        old = alpha.copy()
        for l_ in range(n_effects):
            r = y - fit + X @ bbar[l_]
            xr = np.asarray(W.T @ r).ravel()
            bhat = np.where(ok, xr / dd, 0.0)
            m1 = v1 * bhat / s2
            t = m1 / np.sqrt(v1)
            # log Bayes factor of "column j, rate ~ half-normal" against "no effect"
            lbf = (0.5 * np.log(s2 / (s2 + prior_rate_sd**2)) + 0.5 * bhat**2 / s2 * prior_rate_sd**2
                   / (prior_rate_sd**2 + s2) + math.log(2.0) + log_ndtr(t))
            z = np.r_[np.where(ok, log_prior + lbf, -np.inf) + lsel, lnull]
            post = np.exp(z - logsumexp(z))
            alpha[l_] = post[:-1]
            null[l_] = post[-1]
            mean[l_] = np.where(ok, m1 + np.sqrt(v1) * np.exp(_norm_logpdf(t) - log_ndtr(t)), 0.0)
            b_new = alpha[l_] * mean[l_]
            fit += X @ (b_new - bbar[l_])
            bbar[l_] = b_new
        if np.abs(alpha - old).max() < tol:
            break
    return SingleEffects(alpha, mean, null)


#: the level's grid (log scale, around each column's constant-rate estimate): offsets and step
_LEVEL_OFFSETS = np.linspace(-5.0, 3.0, 41)
_LEVEL_STEP = float(_LEVEL_OFFSETS[1] - _LEVEL_OFFSETS[0])


class _Pairs(NamedTuple):
    """The (column, group) pairs a column reaches, and where each stored entry of ``X`` falls."""

    col: np.ndarray  # (m,) column of each pair
    of_entry: np.ndarray  # (nnz,) pair of each stored entry of X (CSC order)
    rows: np.ndarray  # (nnz,) row of each stored entry
    d: np.ndarray  # (m,) Σ Ω x² over the pair's rows
    d_col: np.ndarray  # (p,) Σ Ω x² over each column's rows (the constant rate's)
    by_col: sparse.csr_matrix  # (p, m) sums pairs into columns


def _pairs(X: sparse.csc_matrix, W: sparse.csc_matrix, groups: np.ndarray) -> _Pairs:
    """The pairs of ``X`` and ``W`` (CSC with sorted indices, as :func:`_sum_of_grouped_effects` makes them)."""
    if not (np.array_equal(X.indptr, W.indptr) and np.array_equal(X.indices, W.indices)):
        raise ValueError("grouped effects: weighted (Ω ∘ X) must have the sparsity structure of X")
    cols = np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))
    g = np.asarray(groups, np.int64)[X.indices]
    n_groups = int(g.max(initial=0)) + 1
    uniq, of_entry = np.unique(cols * n_groups + g, return_inverse=True)
    col = uniq // n_groups
    d = np.bincount(of_entry, weights=W.data * X.data, minlength=len(uniq))
    by_col = sparse.csr_matrix((np.ones(len(uniq)), (col, np.arange(len(uniq)))), shape=(X.shape[1], len(uniq)))
    return _Pairs(col, of_entry, X.indices, d, np.asarray(by_col @ d).ravel(), by_col)


def _grouped_effect(xr: np.ndarray, pr: _Pairs, sigma2: float, prior_rate_sd: float,
                    tau: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One effect's log Bayes factors, level means and per-pair rate means, the rate free per group.

    For column j and each group g it reaches (``A = Σ Ω x r / σ²``, ``B = Σ Ω x² / σ²`` over the
    group's rows), the group's own rate ``q ~ N(b, (τ b)²)`` integrates out in closed form:
    ``log ∫ exp(A q − B q²/2) N(q; b, τ²b²) dq = −½ log(1 + B τ² b²) + b (A² b + 2A/τ² − B b/τ²) /
    (2 (B b² + 1/τ²))`` (τ → 0 gives the constant rate's ``A b − B b²/2``). The level ``b`` (the
    half-normal prior) is integrated on a log grid around the column's constant-rate estimate,
    the prior's mass below the grid taken at the grid's first value. A group its plume does not
    reach says nothing (B = 0). Returns ``(lbf (p,), mean level (p,), mean rate per pair (m,))``,
    the rates clipped at 0 (emission is not negative; the Gaussian factor is an approximation).
    """
    A = xr / sigma2
    B = pr.d / sigma2
    ok = pr.d_col > 0
    d_col = np.where(ok, pr.d_col, 1.0)
    bhat = np.where(ok, np.asarray(pr.by_col @ xr).ravel() / d_col, 0.0)
    sd = np.where(ok, np.sqrt(sigma2 / d_col), 1.0)
    centre = np.maximum(bhat, sd)  # (p,)
    b = centre[:, None] * np.exp(_LEVEL_OFFSETS)[None, :]  # (p, G)
    bp = b[pr.col]  # (m, G)
    c0 = 1.0 / (tau * tau)
    Ap, Bp = A[:, None], B[:, None]
    den = Bp * bp * bp + c0
    ell = -0.5 * np.log1p(Bp * bp * bp / c0) + bp * (Ap * Ap * bp + 2.0 * Ap * c0 - c0 * Bp * bp) / (2.0 * den)
    L = np.asarray(pr.by_col @ ell)  # (p, G)
    s0 = prior_rate_sd
    log_w = (math.log(2.0) - 0.5 * math.log(2 * math.pi * s0 * s0) - b * b / (2 * s0 * s0)) + np.log(b) + math.log(_LEVEL_STEP)
    z = log_w + L
    # the prior's mass below the grid (2Φ(b₀/s) − 1), at the likelihood of the grid's first value
    tail = np.log(np.clip(erf(b[:, 0] / (s0 * math.sqrt(2.0))), 1e-300, None)) + L[:, 0]
    zz = np.concatenate([z, tail[:, None]], axis=1)
    lbf = logsumexp(zz, axis=1)
    post = np.exp(zz - lbf[:, None])
    level = (post[:, :-1] * b).sum(1) + post[:, -1] * 0.5 * b[:, 0]
    q_given_b = bp * (Ap * bp + c0) / den  # (m, G): E[q | b] for each pair
    q = (post[pr.col, :-1] * q_given_b).sum(1) + post[pr.col, -1] * 0.5 * bp[:, 0]
    lbf = np.where(ok, lbf, -np.inf)
    return lbf, np.where(ok, level, 0.0), np.where(ok[pr.col], np.maximum(q, 0.0), 0.0)


def _sum_of_grouped_effects(X, y, log_prior, *, n_effects, sigma2, prior_rate_sd, null_prior, max_iter, tol,
                            weighted, groups, group_rel_sd) -> SingleEffects:
    """:func:`sum_of_single_effects` with each effect's rate free per group of rows (:func:`_grouped_effect`)."""
    X = sparse.csc_matrix(X)
    W = X if weighted is None else sparse.csc_matrix(weighted)
    X.sort_indices()
    W.sort_indices()
    n, p = X.shape
    pr = _pairs(X, W, groups)
    ok = pr.d_col > 0
    alpha = np.zeros((n_effects, p))
    mean = np.zeros((n_effects, p))
    null = np.ones(n_effects)
    coef = np.zeros((n_effects, len(pr.col)))  # α × E[q] per pair: the effect's fitted rates
    fitted = np.zeros((n_effects, n))
    log_prior = np.asarray(log_prior, float)
    lnull = math.log(null_prior)
    lsel = math.log1p(-null_prior)
    wx = W.data
    for _ in range(max_iter):
        old = alpha.copy()
        for l_ in range(n_effects):
            r = y - fitted.sum(0) + fitted[l_]
            xr = np.bincount(pr.of_entry, weights=wx * r[pr.rows], minlength=len(pr.col))
            lbf, level, q = _grouped_effect(xr, pr, sigma2, prior_rate_sd, group_rel_sd)
            zz = np.r_[np.where(ok, log_prior + lbf, -np.inf) + lsel, lnull]
            post = np.exp(zz - logsumexp(zz))
            alpha[l_] = post[:-1]
            null[l_] = post[-1]
            mean[l_] = level
            coef[l_] = alpha[l_][pr.col] * q
            fitted[l_] = np.bincount(pr.rows, weights=X.data * coef[l_][pr.of_entry], minlength=n)
        if np.abs(alpha - old).max() < tol:
            break
    return SingleEffects(alpha, mean, null)


def _norm_logpdf(t: np.ndarray) -> np.ndarray:
    """Log density of the standard normal at ``t``."""
    return -0.5 * t * t - 0.5 * math.log(2 * math.pi)


def ridge_nnls(A: np.ndarray, b: np.ndarray, prior_sd: float) -> np.ndarray:
    """``argmin_{q ≥ 0} ‖A q − b‖² + ‖q‖² / prior_sd²``: NNLS under an N(0, ``prior_sd``²) prior on each q.

    Solved as NNLS on ``A`` augmented with ``I / prior_sd`` (rows of zeros in ``b``), so the
    columns the data barely constrain stay near zero instead of taking absurd values.
    """
    k = A.shape[1]
    q, _ = nnls(np.vstack([A, np.eye(k) / prior_sd]), np.r_[b, np.zeros(k)], maxiter=50 * k + 50)
    return q


def nnls_rss(a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, float]:
    """NNLS coefficients of ``e`` on the columns of ``a`` and the residual sum of squares."""
    if a.shape[1] == 0:
        return np.zeros(0), float(e @ e)
    q, rn = nnls(a, e, maxiter=50 * a.shape[1] + 50)
    return q, float(rn * rn)



def spread_confusable(alpha: np.ndarray, null: np.ndarray, log_prior: np.ndarray, gram, views, *,
                      rel_sd) -> np.ndarray:
    """Each effect's probabilities with the evidence between confusable columns bounded by the model error.

    :func:`sum_of_single_effects` tells two columns apart by the whole difference of their fits,
    which grows with the data's strength: with a strong signal, two columns whose (whitened,
    unit-norm) shapes ``u_j``, ``u_t`` are nearly the same still differ by many nats. When the
    columns themselves are only known to a relative error ``rel_sd`` (a model's prediction, not
    a measured regressor), the shape of the signal tells them apart by at most what one view of
    that shape says: ``‖u_j − u_t‖² / (2 rel_sd²) = (1 − cos) / rel_sd²`` nats per independent
    view, whatever the signal's strength. So, for each effect ``l`` with its most probable column
    ``t``, every column ``j`` whose shape is within one model-error sd of ``t``'s
    (``‖u_j − u_t‖ ≤ rel_sd``, i.e. ``cos ≥ 1 − rel_sd²/2``) gets the log Bayes factor
    ``max(lbf_j, lbf_t − n_jt (1 − cos_jt) / rel_sd²)``, ``n_jt`` the views the two share
    (``views(t)`` returns them per column); the effect's probability of being present
    (``1 − null_l``) is unchanged, only shared anew among its columns. Columns further apart
    keep their probabilities. ``gram`` is the (p, p) matrix ``(Ω∘X)ᵀX`` (symmetrised here);
    ``log_prior`` the columns' log prior (Σ exp = 1); ``rel_sd`` one number or one per effect.
    Returns the new ``alpha``.
    """
    alpha = np.asarray(alpha, float)
    rel = np.broadcast_to(np.asarray(rel_sd, float), (alpha.shape[0],))
    if alpha.size == 0:
        return alpha.copy()
    dg = np.asarray(gram.diagonal() if sparse.issparse(gram) else np.diag(gram), float)
    out = alpha.copy()
    lp = np.asarray(log_prior, float)
    for l_ in range(alpha.shape[0]):
        present = 1.0 - float(null[l_])
        rel_sd = float(rel[l_])
        if present <= 1e-12 or not rel_sd > 0:
            continue
        cos_min = 1.0 - 0.5 * rel_sd**2 if CONFUSABLE_COS_MIN is None else CONFUSABLE_COS_MIN
        t = int(np.argmax(alpha[l_]))
        if alpha[l_, t] <= 0 or dg[t] <= 0:
            continue
        row = gram[t].toarray().ravel() if sparse.issparse(gram) else np.asarray(gram[t], float)
        col = gram[:, t].toarray().ravel() if sparse.issparse(gram) else np.asarray(gram[:, t], float)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where(dg > 0, 0.5 * (row + col) / np.sqrt(dg * dg[t]), 0.0)
        near = np.flatnonzero((cos >= cos_min) & (np.arange(len(cos)) != t))
        if len(near) == 0:
            continue
        with np.errstate(divide="ignore"):
            lbf = np.log(alpha[l_] / present) - lp  # up to a constant shared by the effect's columns
        bound = lbf[t] - np.asarray(views(t), float)[near] * np.clip(1.0 - cos[near], 0.0, None) / rel_sd**2
        new = lbf.copy()
        new[near] = np.maximum(lbf[near], bound)
        z = lp + new
        z = np.where(np.isfinite(z), z, -np.inf)
        out[l_] = present * np.exp(z - logsumexp(z))
    return out
