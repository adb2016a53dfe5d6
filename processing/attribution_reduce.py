"""Attribution over every sample at any size: the fits reduced to sufficient statistics.

The all-samples fits of :mod:`.attribution` (the NNLS rates of :func:`~.attribution.estimate_rates_cov`
and the sum-of-single-effects signals of :func:`~.attribution.emission_signals`) are linear in
the samples: everything they compute from the n × k unit-plume matrix is a k × k Gram matrix, a
k-vector and a few sums over samples. This module builds those from **every usable sample**
(no subsampling, no row cap) without ever forming a dense n × k matrix:

1. **sparse unit matrix, per pass and candidate** (:func:`reduced_design`): for each block of
   samples of one pass, only the candidate sources whose plume can reach them are evaluated —
   downwind of the source, within ``op.max_distance_m``, and inside a ±``CONE_DEG`` cone around
   the pass's wind (beyond it a Gaussian plume is below ``exp(-(tan 60°/0.22)²/2)`` ≈ 1e-13 of
   its axis value even in class A) — and entries a source emitting ``DROP_RATE_G_S`` would put
   below ``DROP_NOISE_SD`` × the sample's noise are dropped. Samples no candidate reaches keep
   a row of zeros: they stay in the problem (they count in the residual variance, the degrees
   of freedom and every sample count) at no cost.
2. **NNLS from the Gram matrix** (:func:`estimate_rates_reduced`): with row weights w_i,
   ``‖W(Aq − e)‖² = qᵀGq − 2qᵀh + Σ w²e²`` with ``G = AᵀW²A`` and ``h = AᵀW²e``; the ridge-augmented
   NNLS is solved on ``(G + I/σ²) = VSVᵀ`` as ``nnls(S^½Vᵀ, S^-½Vᵀh)`` — the same objective up to
   a constant, hence the same minimiser (unique: the ridge makes it strictly convex). The
   residual variance is ``Σw²e² − 2qᵀh + qᵀGq`` over all samples; the minimum-support test
   counts samples from the sparse columns of the sources with a positive rate.
3. **signals from sufficient statistics** (:func:`emission_signals_reduced`): the iterations of
   :func:`~.attribution.sum_of_single_effects` use the samples only through ``(Ω∘X)ᵀr`` with
   ``r = y − Xb``, i.e. through ``c = (Ω∘X)ᵀy`` and the (non-symmetric) ``M = (Ω∘X)ᵀX``; calling it
   with ``X := M`` (k × k), ``y := c`` and ``weighted := I`` runs the very same iterations.

What is exact and what is not: steps 2–3 are algebraically identical to the full fits over all
samples (they differ by floating-point rounding only). The approximation is step 1's dropped
entries: plume values outside the cone (< 1e-13 of the axis value) and below
``DROP_NOISE_SD`` noise sd at ``DROP_RATE_G_S`` (a rate ten times the largest plausible
enterprise emission) — each changes a residual by less than 1e-3 sd at 100 g/s.
``tests/test_attribution_reduce.py`` checks the probabilities and rates against the full fit.
``n_samples_touched`` (and the ``MIN_TOUCHED`` test) counts the kept entries: the samples a
source would put ≥ ``DROP_NOISE_SD`` noise sd on at ``DROP_RATE_G_S``, no longer every
numerically non-zero plume edge.
Nothing is bounded by size: the only limit is the memory of the sparse matrix (its entries are
logged and reported in ``evidence.json`` ``attribution_fit``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ecopatrol.core.dispersion import plume_frame

from . import attribution as at

log = logging.getLogger(__name__)

CONE_DEG = 60.0  # candidate sources per block: within this angle of the pass's downwind direction …
CONE_MARGIN_M = 50.0  # … widened by this much (near-field samples, position error)
DROP_RATE_G_S = 100.0  # an entry is dropped where a source emitting this much …
DROP_NOISE_SD = 1e-3  # … would put less than this many noise sd on the sample
BLOCK_ROWS = 600  # samples evaluated at once (memory: BLOCK_ROWS × candidates of the block)


@dataclass
class Reduced:
    """The all-samples design: every usable sample, the sparse unit matrix and what was dropped."""

    rows: np.ndarray  # indices of the usable samples (finite enhancement and noise): all of them
    A: sparse.csc_matrix  # (len(rows), k) unit concentration (µg/m³ per g/s), sparse
    n_evaluated: int  # sample × source pairs evaluated by the plume model
    n_dropped: int  # … of which dropped as negligible (DROP_* above)

    @property
    def design(self) -> tuple[np.ndarray, sparse.csc_matrix]:
        return self.rows, self.A

    def summary(self) -> dict:
        n, k = self.A.shape
        return {"method": "reduced", "n_samples": int(n), "n_candidates": int(k), "row_cap": None,
                "nnz": int(self.A.nnz), "pairs_evaluated": int(self.n_evaluated),
                "entries_dropped_negligible": int(self.n_dropped),
                "drop_rule": f"< {DROP_NOISE_SD:g} noise sd at {DROP_RATE_G_S:g} g/s, or outside ±{CONE_DEG:g}° "
                             f"(+{CONE_MARGIN_M:g} m) of the pass's downwind direction"}


def reduced_design(op: at.PlumeOperator, enh: np.ndarray, noise: np.ndarray) -> Reduced:
    """Every usable sample and its sparse unit matrix, built pass by pass for the sources that reach it."""
    n = len(enh)
    ok = np.isfinite(enh) & np.isfinite(noise)
    rows = np.flatnonzero(ok).astype(int)
    k = len(op.sources)
    sx = op.sources["x_m"].to_numpy(float)
    sy = op.sources["y_m"].to_numpy(float)
    tan_c = math.tan(math.radians(CONE_DEG))
    r_i, c_i, v_i = [], [], []
    n_eval = n_drop = 0
    pos = np.full(n, -1)
    pos[rows] = np.arange(len(rows))
    codes = op.codes[rows]
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for grp in np.split(order, bounds):
        if len(grp) == 0:
            continue
        p = op.passes[int(codes[grp[0]])]
        for s in range(0, len(grp), BLOCK_ROWS):
            r = rows[grp[s:s + BLOCK_ROWS]]
            cx, cy = float(op.x[r].mean()), float(op.y[r].mean())
            rad = float(np.sqrt(((op.x[r] - cx) ** 2 + (op.y[r] - cy) ** 2).max()))
            # a source farther than max_distance from every sample of the block cannot reach it
            pre = np.flatnonzero(np.hypot(sx - cx, sy - cy) <= op.max_distance_m + rad + CONE_MARGIN_M)
            xd, yd = plume_frame(op.x[r], op.y[r], sx[pre], sy[pre], p.from_deg)
            near = (xd > -CONE_MARGIN_M) & (xd <= op.max_distance_m) & \
                (np.abs(yd) <= CONE_MARGIN_M + tan_c * np.clip(xd, 0, None))
            sel = near.any(0)
            cols = pre[sel]
            if len(cols) == 0:
                continue
            a = op.block_from_frame(r, cols, xd[:, sel], yd[:, sel])  # = op.matrix(r, cols), frame reused
            del xd, yd, near
            n_eval += a.size
            keep = a * DROP_RATE_G_S >= DROP_NOISE_SD * noise[r][:, None]
            keep &= a > 0
            n_drop += int(((a > 0) & ~keep).sum())
            ii, jj = np.nonzero(keep)
            r_i.append(pos[r[ii]])
            c_i.append(cols[jj])
            v_i.append(a[ii, jj])
    if r_i:
        A = sparse.csc_matrix((np.concatenate(v_i), (np.concatenate(r_i), np.concatenate(c_i))), shape=(len(rows), k))
    else:
        A = sparse.csc_matrix((len(rows), k))
    red = Reduced(rows, A, n_eval, n_drop)
    log.info("attribution design: all %d usable samples (of %d; no row cap) × %d candidate sources, %d of %d "
             "evaluated pairs kept (%d negligible dropped: %s)", len(rows), n, k, A.nnz, n_eval, n_drop,
             red.summary()["drop_rule"])
    return red


def estimate_rates_reduced(op: at.PlumeOperator, enh: np.ndarray, noise: np.ndarray, red: Reduced, *,
                           model_rel_sd: float = 0.3, obs_rel_sd: float = 0.0, prior_rate_sd_g_s: float = 5.0,
                           min_support: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`~.attribution.estimate_rates_cov` over ``red`` (all samples) by its Gram matrix.

    Same model, prior, minimum-support refits and standard deviations; see the module docstring
    for why the minimiser is the same.
    """
    rows, A = red.design
    out, cov_all, cols = at._rates_start(op, rows, A)
    if len(cols) == 0:
        return out, cov_all
    e_rows = np.nan_to_num(enh[rows])
    w = 1.0 / np.sqrt(noise[rows] ** 2 + (obs_rel_sd * np.clip(e_rows, 0, None)) ** 2)
    Aw = sparse.diags(w) @ A[:, cols]  # weighted rows, sparse (len(rows), len(cols))
    Aw = Aw.tocsc()
    b = e_rows * w
    G = (Aw.T @ Aw).toarray()
    h = np.asarray(Aw.T @ b).ravel()
    bb = float(b @ b)
    codes_rows = op.view_codes[rows]  # passes, not wind blocks

    Gr = G + np.eye(len(cols)) / prior_rate_sd_g_s**2  # the N(0, prior_rate_sd²) prior on each rate

    def solve(keep: np.ndarray, q0: np.ndarray | None = None) -> np.ndarray:
        kk = np.flatnonzero(keep)
        q = np.zeros(len(cols))
        q[kk] = nnls_gram(Gr[np.ix_(kk, kk)], h[kk], active=None if q0 is None else q0[kk] > 0)
        return q

    keep = np.ones(len(cols), bool)
    q = solve(keep)
    n_weak = 0
    for _ in range(3 if min_support > 0 else 0):
        weak = np.zeros(len(cols), bool)
        for j in np.flatnonzero(keep & (q > 0)):
            lo, hi = Aw.indptr[j], Aw.indptr[j + 1]
            ri = Aw.indices[lo:hi]
            pk = Aw.data[lo:hi] * q[j]
            reach = pk >= at.SUPPORT_SD
            contrib = reach & (b[ri] >= 0.5 * pk)
            n_sup = int(contrib.sum())
            n_pass = len(np.unique(codes_rows[ri[contrib]])) if n_sup else 0
            weak[j] = (n_sup < min_support) or (n_pass < 2) or (n_sup < at.SUPPORT_SHARE * int(reach.sum()))
        if not weak.any():
            break
        n_weak += int(weak.sum())
        keep &= ~weak
        q = solve(keep, q)
    active = q > 0
    rss = max(bb - 2.0 * float(q @ h) + float(q @ G @ q), 0.0)
    dof = max(len(rows) - int(active.sum()), 1)
    s2 = max(rss / dof, 1e-12)
    sd = np.full(len(cols), np.nan)
    col_norm = np.sqrt(np.clip(np.diag(G), 0, None))
    sd[~active] = math.sqrt(s2) / np.maximum(col_norm[~active], 1e-300)
    cov_act = np.zeros((int(active.sum()), int(active.sum())))
    if active.any():
        cov_act = np.linalg.pinv(G[np.ix_(active, active)] / s2 + np.eye(int(active.sum())) / prior_rate_sd_g_s**2)
        sd[active] = np.sqrt(np.clip(np.diag(cov_act), 0, None))
    at._rates_finish(out, cov_all, cols, q, keep, sd, cov_act, model_rel_sd)
    log.info("NNLS (all samples, Gram): %d samples × %d candidate sources, %d with a positive rate (total %.3g g/s), "
             "%d without minimum support set to 0", len(rows), len(cols), int(active.sum()), float(q.sum()), n_weak)
    return out, cov_all


def emission_signals_reduced(op: at.PlumeOperator, enh: np.ndarray, noise: np.ndarray, red: Reduced, *,
                             n_effects: int = at.SIGNAL_EFFECTS, kappa: float = at.SIGNAL_KAPPA,
                             obs_rel_sd: float = at.SIGNAL_OBS_REL_SD, species=None,
                             species_rel_sd: float | None = None) -> at.Signals:
    """:func:`~.attribution.emission_signals` over ``red`` (all samples) from sufficient statistics."""
    k = len(op.sources)
    rows, A = red.design
    empty = at.Signals(np.zeros((0, k)), np.zeros((0, k)), np.zeros(0), len(rows))
    if len(rows) == 0 or A.nnz == 0:
        return empty
    cols = np.flatnonzero(at._touched(A) >= at.MIN_TOUCHED)
    if len(cols) == 0:
        return empty
    A_fit, fit_cols, species_fit, log_prior = at._signal_columns(op, rows, A, cols, noise, species)
    (X, XW, y), *species_blocks = at._signal_blocks(A_fit, rows, fit_cols, enh, noise, obs_rel_sd, species_fit,
                                                    species_rel_sd)
    blocks = [(X, XW, y), *species_blocks]
    n_species = len(species_blocks)
    groups = at._pass_groups(op, rows, len(blocks))
    M = None  # (Ω∘X)ᵀX over the blocks: the sufficient statistics' matrix (and the confusable step's Gram)
    if groups is None or at.SIGNAL_CONFUSABLE:
        M = (XW.T @ X).tocsr()
        for Xs, XWs, _ in species_blocks:
            M = M + (XWs.T @ Xs).tocsr()
    if groups is None:
        # (Ω∘X)ᵀ(y − Xb) = c − M b: the same iterations with X := M, y := c, weighted := I
        c = np.asarray(XW.T @ y).ravel()
        for _, XWs, ys in species_blocks:
            c = c + np.asarray(XWs.T @ ys).ravel()
        a, m, null = at.sum_of_single_effects(M.tocsc(), c, log_prior, n_effects=n_effects, sigma2=kappa,
                                              weighted=sparse.identity(len(fit_cols), format="csc"))
    else:  # the rate free per pass needs each sample's pass, not only the sums: the full fit's iterations
        a, m, null = at.sum_of_single_effects(
            sparse.vstack([b[0] for b in blocks]).tocsc(), np.concatenate([b[2] for b in blocks]), log_prior,
            n_effects=n_effects, sigma2=kappa, weighted=sparse.vstack([b[1] for b in blocks]).tocsc(),
            groups=groups, group_rel_sd=at.SIGNAL_PASS_RATE_SD)
    if at.SIGNAL_CONFUSABLE:  # confusable candidates share a signal (the same step as the full fit's)
        a = at.spread_confusable(a, null, log_prior, M, at._shared_views(X, op, rows),
                                 rel_sd=at._confusable_rel_sd(X, XW, y, a, m, obs_rel_sd))
    a, m = at._signal_collapse(a, m, len(cols))
    alpha = np.zeros((n_effects, k))
    mean = np.zeros((n_effects, k))
    alpha[:, cols] = a
    mean[:, cols] = m
    signals = at.Signals(alpha, mean, null, len(rows))
    log.info("signals (all samples, sufficient statistics): %d samples (+ %d species) × %d candidate sources, "
             "%d signals present (P ≥ 0.5), top source P = %.2f", len(rows), n_species, len(cols),
             int((null < at.SIGNAL_PRESENT).sum()), float(signals.pip.max()) if k else 0.0)
    return signals


def nnls_gram(G: np.ndarray, h: np.ndarray, *, active: np.ndarray | None = None,
              max_iter: int | None = None) -> np.ndarray:
    """argmin_{q ≥ 0} qᵀGq − 2hᵀq for a positive definite ``G``: Lawson–Hanson on the normal equations.

    The same active-set algorithm as ``scipy.optimize.nnls`` on ``(A, b)`` with ``G = AᵀA``,
    ``h = Aᵀb``; each step solves only the (small) system of the active sources. ``active``
    (bool) warm-starts it from a previous active set (the minimiser is unique either way).
    """
    n = len(h)
    q = np.zeros(n)
    P = np.zeros(n, bool) if active is None else np.asarray(active, bool).copy()
    tol = 1e-12 * max(float(np.abs(h).max()) if n else 0.0, 1e-300)
    max_iter = 3 * n + 50 if max_iter is None else max_iter
    it = 0

    def inner() -> None:
        nonlocal q, P, it
        while P.any() and it < max_iter:
            it += 1
            z = np.zeros(n)
            idx = np.flatnonzero(P)
            z[idx] = np.linalg.solve(G[np.ix_(idx, idx)], h[idx])
            if (z[idx] > 0).all():
                q = z
                return
            neg = idx[z[idx] <= 0]
            alpha = float(np.min(q[neg] / np.maximum(q[neg] - z[neg], 1e-300)))
            q = q + alpha * (z - q)
            P &= q > 1e-14 * max(float(q.max()), 1e-300)
            q[~P] = 0.0

    inner()
    while it < max_iter:
        idx = np.flatnonzero(P)
        w = h - G[:, idx] @ q[idx]
        w[P] = -np.inf
        j = int(np.argmax(w))
        if not np.isfinite(w[j]) or w[j] <= tol:
            break
        P[j] = True
        inner()
    return q


def reduced_fit(op: at.PlumeOperator, enh: np.ndarray, noise: np.ndarray, *, species=None):
    """``(design, rates, cov_all, signals, summary)`` of the all-samples fits over every usable sample."""
    red = reduced_design(op, enh, noise)
    rates, cov_all = estimate_rates_reduced(op, enh, noise, red)
    signals = emission_signals_reduced(op, enh, noise, red, species=species)
    return red.design, rates, cov_all, signals, red.summary()
