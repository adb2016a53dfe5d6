"""Source attribution: which registered sources explain the measured enhancements, and at what rate.

Three complementary estimates, all under the shared Gaussian plume (``core.dispersion``) and the
wind measured around each sample's moment (a centred minute, :data:`WIND_WINDOW_S`; the samples'
``wind_from_deg``/``wind_speed_m_s``; the given or area default wind where not measured):

- **per evidence item** (event or hotspot): the upwind candidates whose plume reaches the
  samples around the evidence, ranked by ``likelihood`` — the posterior weight of "this source
  is the one behind the peak" from a single-source fit of each candidate on its own
  (:func:`single_source_likelihood`: best non-negative rate, Gaussian log-likelihood with the
  noise model, marginalised over ±10° of wind direction and ±1 stability class, against "no
  source" and "an unregistered source"). Candidates whose plumes look alike on the samples
  (collinear along the wind) share the weight — the row says "ambiguous with …" and carries the
  group's total NNLS rate, which is determined even when its split is not; a source beside the
  plume, at the wrong distance or with a plume of the wrong width gets ~0. ``nnls_share`` is the
  share of the enhancement each explains under the all-samples fit; ``fit_likelihood`` a local
  drop-one test (the samples fitted by NNLS with all candidates, then without each in turn);
- **all samples at once**: rates of every candidate source by non-negative least squares
  (``scipy.optimize.nnls``) of the enhancement on the unit-concentration matrix, with a standard
  deviation from the residual variance (active set) combined with a relative model error.

- **which sources emit** (:func:`emission_signals`): a survey meets a few emitters among
  thousands of candidate sources, so the enhancement over all samples is explained by at most
  six "signals", each one source (or none), by the sum-of-single-effects regression of Wang et
  al. (2020) with non-negative rates (:func:`sum_of_single_effects`). Each signal gives every
  candidate the probability that it is the one (rows ``evidence_kind = "signal"``, a 95 %
  credible set each); ``rates.csv`` column ``pip`` is the probability that a source is any
  signal. Where NNLS hands a plume to one of several look-alike sources at random, the
  signal spreads its probability over them; where a weak plume is split by NNLS over several
  small rates, one signal can name the source whose plume shape fits it.

Every attribution row carries a sentence a person can check: which samples, the wind, the
distance and offset from the plume axis, the expected vs the observed peak.
"""


from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ecopatrol.core.artefacts.samples import derived
from ecopatrol.core.dispersion import SigmaScheme
from ecopatrol.core.errors import InputError
from ecopatrol.core.profiles import SPECIES, ppb_to_ugm3, species_profile
from ecopatrol.core.weather import Wind

from ._evidence_util import lonlat_of, metric_xy

# the attribution's parts, re-exported: callers import them from here (one public surface)
from .attribution_explain import (  # noqa: F401
    ATTRIBUTION_COLUMNS, COLLINEAR_DEG, PLAUSIBLE_RATIO, SIGNAL_CREDIBLE, FitContext, evidence_rows, nnls_rows,
    signal_rows,
)
from .attribution_explain import confidence as _confidence  # noqa: F401
from .attribution_explain import seen_text as _seen_text
from .attribution_likelihood import (  # noqa: F401
    DIRECTION_OFFSETS_DEG, DIRECTION_SD_DEG, N_EFF_MAX, OVERLAP_COS, PEAK_COVER, STABILITY_PRIOR, STABILITY_SHIFTS,
    UNKNOWN_SOURCE_PENALTY, rank_candidates, shifted_plumes, single_source_likelihood, stability_log_prior,
)
from .attribution_rates import (  # noqa: F401
    MAX_ROWS, MIN_TOUCHED, SUPPORT_SD, SUPPORT_SHARE, _design, _rates_finish, _rates_start, _touched, estimate_rates,
    estimate_rates_cov,
)
from .plume_operator import (  # noqa: F401
    DEFAULT_SITE_SOURCE_HEIGHT_M, RISE_DISTANCE_M, WIND_WINDOW_S, PlumeOperator, _Pass, build_operator,
    candidate_sources,
)
from .sparse_regression import (
    EFFECT_PRIOR_SD, N_EFFECTS, NULL_PRIOR, RESIDUAL_VARIANCE, spread_confusable, sum_of_single_effects,
)
from .sparse_regression import _norm_logpdf  # noqa: F401
from .sparse_regression import nnls_rss as _nnls_rss  # noqa: F401

log = logging.getLogger(__name__)

REDUCED_FIT = True  # all-samples fits over every sample (attribution_reduce); False: the MAX_ROWS subsample
#: BLAS threads inside :func:`attribute` (None: the library's default). Its dense algebra is small
#: (k × k Gram solves of the NNLS active set, n × k explanations with k ≤ ~1 500): a second OpenBLAS
#: thread saves little on a free machine and, on a busy 2-core one, its spin-waiting threads made a
#: van day 4.7× slower (36.5 s against 7.8 s, BENCHMARKS.md issue 19). Dask workers run with one
#: thread already (``distributed``'s ``OPENBLAS_NUM_THREADS=1``): the CLI now computes as they do.
BLAS_THREADS: int | None = 1
SIGNAL_EFFECTS = N_EFFECTS  # at most this many distinct emitting sources ("signals") in one survey's samples
SIGNAL_KAPPA = RESIDUAL_VARIANCE  # residual variance × κ: plume-model residuals are correlated along a track
SIGNAL_RATE_SD_G_S = EFFECT_PRIOR_SD  # half-normal prior on a signal's rate (enterprise VOC emissions: 0.1–10 g/s)
SIGNAL_NULL_PRIOR = NULL_PRIOR  # prior probability that a signal slot is unused
SIGNAL_PRESENT = 0.5  # a signal is there (its rows written, counted) where 1 − P(unused) ≥ this
SIGNAL_OBS_REL_SD = 0.5  # relative model error of the plume on each sample (sd² = noise² + (0.5 × max(seen, said))²):
#: a Gaussian plume is within a factor of two of paired field observations about half the time, so 0.2
#: made every misfit of a true plume (wider, lower, turned) look like a second source (issue 16)
SIGNAL_SPECIES_REL_SD = 0.25  # species rows: relative sd (model error, a facility's scatter around its profile)
SIGNAL_MODEL_RATE_G_S = 0.1  # "said": what a source emitting this much (the least worth finding) puts on a sample
#: confusable candidates share a signal: between two sources whose plume shapes on the samples are
#: within one model-error sd (SIGNAL_OBS_REL_SD) of each other, a signal's evidence is bounded by
#: what the shape says per shared pass (sparse_regression.spread_confusable), not by the data's strength
SIGNAL_CONFUSABLE = False  # evaluated on development seeds 100–149 and not adopted (BENCHMARKS.md, issue 16)
#: … with the model error the signal's own fit shows (its weighted relative misfit over its plume,
#: at most SIGNAL_OBS_REL_SD) instead of SIGNAL_OBS_REL_SD itself
SIGNAL_CONFUSABLE_FROM_FIT = True
#: each signal's evidence marginalised over the stability class ± 1 (prior ¼, ½, ¼), as the per-event
#: likelihood's (attribution_likelihood.stability_log_prior): a signal chooses a (source, class) pair,
#: summed over the classes, so a source whose plume fits wider or narrower than its class predicts
#: is not ruled out by one σ curve (the shift moves every pass of the survey: one source, one error)
SIGNAL_STABILITY_MARGINAL = False  # an option under evaluation (BENCHMARKS.md, issue 16, fourth pass)
#: … as one plume per source averaged over those classes (the design, not the evidence, marginalised)
SIGNAL_STABILITY_AVERAGE_DESIGN = False
#: a signal's rate free from pass to pass around the source's level: q_pass ~ N(b, (τ b)²), τ this
#: (0: one rate for the whole survey). A firm's emission varies over the hours of a survey (batches,
#: duty cycles) and the plume model's amplitude is wrong by a factor that changes with distance and
#: stability (the drone's near field and the van's far field ask different rates of the same source):
#: with one rate, that misfit is explained by a second, phantom source or hands the plume to a
#: neighbour whose footprint happens to fit. τ = 1: within a factor of two half the time
#: (P(0.5 < q/b < 2) = 0.53), the same literature figure as SIGNAL_OBS_REL_SD. Under evaluation.
SIGNAL_PASS_RATE_SD = 0.0


@dataclass
class Signals:
    """Emitting sources found by :func:`emission_signals`: one row of ``alpha`` per signal."""

    alpha: np.ndarray  # (L, k): probability that signal l is candidate source j
    rate_g_s: np.ndarray  # (L, k): posterior mean rate of signal l if it is source j
    null: np.ndarray  # (L,): probability that signal l is not there at all
    n_samples: int = 0

    @property
    def present(self) -> np.ndarray:
        """Indices of the signals that are there (probability ≥ :data:`SIGNAL_PRESENT`)."""
        return np.flatnonzero(self.null < SIGNAL_PRESENT)

    @property
    def pip(self) -> np.ndarray:
        """(k,): posterior probability that source j emits (is any signal): 1 − Π_l (1 − α_lj)."""
        return 1.0 - np.prod(1.0 - self.alpha, axis=0)

    def group_pip(self, groups) -> np.ndarray:
        """Per source: the probability that any source of its group (its enterprise) emits.

        A signal is one source, so within a signal the probabilities of an enterprise's stacks
        add up (three stacks sharing one signal at 0.5, 0.35 and 0.15 make the firm certain);
        across signals they combine as 1 − Π_l (1 − Σ α_lj).
        """
        codes, uniq = pd.factorize(np.asarray(groups))
        if len(codes) == 0 or self.alpha.shape[0] == 0:
            return np.zeros(len(codes))
        per = np.stack([np.bincount(codes, weights=a, minlength=len(uniq)) for a in self.alpha])
        return (1.0 - np.prod(1.0 - np.clip(per, 0.0, 1.0), axis=0))[codes]



def emission_signals(op: PlumeOperator, enh: np.ndarray, noise: np.ndarray, *, exceed: np.ndarray | None = None,
                     max_rows: int = MAX_ROWS, n_effects: int = SIGNAL_EFFECTS, kappa: float = SIGNAL_KAPPA,
                     obs_rel_sd: float = SIGNAL_OBS_REL_SD, seed: int = 0,
                     design: tuple[np.ndarray, sparse.csc_matrix] | None = None,
                     species: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
                     species_rel_sd: float | None = None) -> Signals:
    """Which registered sources emit, with what probability: sparse attribution over all samples.

    A survey usually meets a few emitters among thousands of candidate sources. Each of up to
    ``n_effects`` "signals" is one source, chosen among the candidates that reach ≥ 3 samples
    with a prior uniform over enterprises (shared among an enterprise's stacks), or absent
    (:func:`sum_of_single_effects`). Each source weighs each sample by 1/sd² with sd² = noise² +
    (``obs_rel_sd`` × max(enhancement, what ``SIGNAL_MODEL_RATE_G_S`` from it would put there))²
    (:func:`_weighted_block`); each sample counts 1/``kappa`` (residuals of a plume model
    are correlated along a track). ``pip`` is the probability that a source is any signal:
    1 − Π_l (1 − α_lj). Sources collinear along the wind share a signal's probability.

    ``species`` adds, for each measured species (benzene, toluene, xylene), its enhancement and
    noise on every sample (µg/m³) and each candidate source's mass fraction of the TVOC rate
    (:mod:`ecopatrol.core.profiles`): the same plume × rate × fraction must explain them, with a
    relative sd of ``species_rel_sd`` (default ``SIGNAL_SPECIES_REL_SD``) for a facility's
    scatter around its industry profile. Two look-alike plumes of firms with different profiles
    (a toluene-rich printer beside a dyeing works) are told apart by the ratios.
    """
    k = len(op.sources)
    rows, A = design if design is not None else _design(op, enh, noise, exceed, max_rows, seed)
    empty = Signals(np.zeros((0, k)), np.zeros((0, k)), np.zeros(0), len(rows))
    if len(rows) == 0 or A.nnz == 0:
        return empty
    cols = np.flatnonzero(_touched(A) >= MIN_TOUCHED)
    if len(cols) == 0:
        return empty
    A_fit, fit_cols, species_fit, log_prior = _signal_columns(op, rows, A, cols, noise, species)
    blocks = _signal_blocks(A_fit, rows, fit_cols, enh, noise, obs_rel_sd, species_fit, species_rel_sd)
    X = sparse.vstack([b[0] for b in blocks]).tocsc()
    XW = sparse.vstack([b[1] for b in blocks]).tocsc()
    y = np.concatenate([b[2] for b in blocks])
    n_species = len(blocks) - 1
    a, m, null = sum_of_single_effects(X, y, log_prior, n_effects=n_effects, sigma2=kappa, weighted=XW,
                                       groups=_pass_groups(op, rows, len(blocks)), group_rel_sd=SIGNAL_PASS_RATE_SD)
    if SIGNAL_CONFUSABLE:
        a = spread_confusable(a, null, log_prior, (XW.T @ X).tocsr(), _shared_views(blocks[0][0], op, rows),
                              rel_sd=_confusable_rel_sd(*blocks[0], a, m, obs_rel_sd))
    a, m = _signal_collapse(a, m, len(cols))
    alpha = np.zeros((n_effects, k))
    mean = np.zeros((n_effects, k))
    alpha[:, cols] = a
    mean[:, cols] = m
    signals = Signals(alpha, mean, null, len(rows))
    log.info("signals: %d samples (+ %d species) × %d candidate sources, %d signals present (P ≥ 0.5), "
             "top source P = %.2f", len(rows), n_species, len(cols), int((null < SIGNAL_PRESENT).sum()),
             float(signals.pip.max()) if k else 0.0)
    return signals


def _pass_groups(op: PlumeOperator, rows: np.ndarray, n_blocks: int) -> np.ndarray | None:
    """The pass of each row of the signals' stacked blocks (each block's rows are the design's ``rows``, in
    order), for the rate free per pass (:data:`SIGNAL_PASS_RATE_SD`); None when that is off."""
    if not SIGNAL_PASS_RATE_SD > 0:
        return None
    return np.tile(np.unique(op.view_codes[rows], return_inverse=True)[1], n_blocks)


def _signal_columns(op: PlumeOperator, rows: np.ndarray, A: sparse.csc_matrix, cols: np.ndarray, noise: np.ndarray,
                    species):
    """The signals' candidate columns, their log prior, and (with :data:`SIGNAL_STABILITY_MARGINAL`) their classes.

    Returns ``(A_fit, fit_cols, species_fit, log_prior)`` for :func:`_signal_blocks` and
    :func:`sum_of_single_effects`: the prior is uniform over enterprises (shared among an
    enterprise's stacks). Without the option, ``A``, ``cols`` and ``species`` as they are. With
    it, one column per source and stability shift (:func:`stability_log_prior`, the per-event
    likelihood's; entries a source would put below the all-samples design's negligible level on a
    sample dropped, as there), side by side in the order of the shifts, each with the source's prior times the
    shift's: a signal's evidence for a source is then Σ_s p(s) BF(source, s), the class
    marginalised as in :func:`single_source_likelihood`. :func:`_signal_collapse` sums them back.
    With :data:`SIGNAL_STABILITY_AVERAGE_DESIGN`, one column per source instead: its plumes
    averaged over the shifts with their prior (a wider mean plume, no freedom added).
    """
    ent = op.sources["enterprise_id"].astype(str).to_numpy()[cols]
    _, inv, counts = np.unique(ent, return_inverse=True, return_counts=True)
    log_prior = -math.log(len(counts)) - np.log(counts[inv].astype(float))
    if not (SIGNAL_STABILITY_MARGINAL or SIGNAL_STABILITY_AVERAGE_DESIGN):
        return A, cols, species, log_prior
    from .attribution_reduce import DROP_NOISE_SD, DROP_RATE_G_S  # the all-samples design's rule (lazy: a cycle)

    shifts, lp_shift = stability_log_prior()
    parts = []
    for sh in shifts:
        if sh == 0:
            parts.append(A[:, cols])
            continue
        a = sparse.coo_matrix(shifted_plumes(op, rows, cols, sh, block=4000))
        keep = a.data * DROP_RATE_G_S >= DROP_NOISE_SD * np.nan_to_num(noise[rows], nan=np.inf)[a.row]
        parts.append(sparse.csc_matrix((a.data[keep], (a.row[keep], a.col[keep])), shape=a.shape))
    if SIGNAL_STABILITY_AVERAGE_DESIGN:  # one plume per source: Σ_s p(s) A_s
        avg = sum(float(np.exp(lp)) * part for lp, part in zip(lp_shift, parts))
        return sparse.csc_matrix(avg), np.arange(len(cols)), [(e, n, np.asarray(f, float)[cols])
                                                              for e, n, f in species or []], log_prior
    src = np.tile(cols, len(shifts))
    species_fit = [(e, n, np.asarray(f, float)[src]) for e, n, f in species or []]
    return (sparse.hstack(parts).tocsc(), np.arange(len(src)), species_fit,
            np.tile(log_prior, len(shifts)) + np.repeat(lp_shift, len(cols)))


def _signal_collapse(alpha: np.ndarray, mean: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per signal and source: the probability summed over the stability shifts of :func:`_signal_columns`, and
    the rate averaged with those probabilities (unchanged without :data:`SIGNAL_STABILITY_MARGINAL`)."""
    if alpha.shape[1] == k:
        return alpha, mean
    a3 = alpha.reshape(alpha.shape[0], -1, k)
    a = a3.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(a > 0, (a3 * mean.reshape(a3.shape)).sum(1) / a, mean.reshape(a3.shape)[:, 0])
    return a, m


def _confusable_rel_sd(X: sparse.spmatrix, XW: sparse.spmatrix, y: np.ndarray, alpha: np.ndarray,
                       mean: np.ndarray, obs_rel_sd: float) -> np.ndarray:
    """Per signal: the relative model error its fit shows, at most ``obs_rel_sd`` (without
    :data:`SIGNAL_CONFUSABLE_FROM_FIT`: ``obs_rel_sd``).

    For signal l with most probable column t, over the samples where t's contribution is at
    least one sd of the sample's error (Ω b_lt² x_t² ≥ 1): the weighted residual of the whole
    fit beyond what that error explains (its expectation, one per sample, taken off) against the
    weighted size of t's contribution, ``sqrt(max(Σ Ω (y − Xb)² − n, 0) / Σ Ω (b_lt x_t)²)``
    (Ω the signals' weights of column t). A plume the
    model fits within its noise leaves the data's discrimination as it is; one the model misfits
    (wider, lower, turned) is told apart from its look-alikes only as far as that misfit allows.
    """
    L = alpha.shape[0]
    if not SIGNAL_CONFUSABLE_FROM_FIT:
        return np.full(L, obs_rel_sd)
    X = sparse.csc_matrix(X)
    XW = sparse.csc_matrix(XW)
    fit = X @ (alpha * mean).sum(0)
    out = np.full(L, obs_rel_sd)
    for l_ in range(L):
        t = int(np.argmax(alpha[l_]))
        lo, hi = X.indptr[t], X.indptr[t + 1]
        ri, xt = X.indices[lo:hi], X.data[lo:hi]
        if len(ri) == 0:
            continue
        om = XW[ri, t].toarray().ravel() / np.maximum(xt, 1e-300)
        c2 = om * (mean[l_, t] * xt) ** 2
        sup = c2 >= 1.0  # where the signal is at least one sd of the sample's error
        size = float(c2[sup].sum())
        if size <= 0:
            continue
        excess = max(float((om[sup] * (y[ri[sup]] - fit[ri[sup]]) ** 2).sum()) - int(sup.sum()), 0.0)
        out[l_] = min(math.sqrt(excess / size), obs_rel_sd)
    return out


def _shared_views(X: sparse.spmatrix, op: PlumeOperator, rows: np.ndarray):
    """``views(t)``: per column, the passes on which its plume and column ``t``'s both reach samples (≥ 1).

    ``X`` is the signals' unit matrix (the design's ``rows`` × candidate columns); a pass
    (:attr:`PlumeOperator.pass_codes`, else the wind groups) is one independent view of a plume.
    """
    X = sparse.csc_matrix(X)
    Xr = X.tocsr()
    codes = op.view_codes[rows]

    def views(t: int) -> np.ndarray:
        rt = X.indices[X.indptr[t]:X.indptr[t + 1]]
        if len(rt) == 0:
            return np.ones(X.shape[1])
        _, pc = np.unique(codes[rt], return_inverse=True)
        onehot = sparse.csr_matrix((np.ones(len(rt)), (np.arange(len(rt)), pc)), shape=(len(rt), int(pc.max()) + 1))
        reach = (Xr[rt] != 0).astype(float)
        return np.maximum(np.asarray(((reach.T @ onehot) > 0).sum(axis=1)).ravel(), 1)

    return views


def _signal_blocks(A: sparse.csc_matrix, rows: np.ndarray, cols: np.ndarray, enh: np.ndarray, noise: np.ndarray,
                   obs_rel_sd: float, species, species_rel_sd: float | None) -> list[tuple]:
    """The ``(X, Ω ∘ X, y)`` blocks of the signals' regression: the enhancement, then each usable species.

    ``A`` is the design's unit matrix on ``rows``, restricted to the columns ``cols``; a species
    (``(enhancement, noise, mass fraction per source)``) counts where ≥ 3 of its samples are usable.
    """
    e = np.nan_to_num(enh[rows])
    species_rel_sd = SIGNAL_SPECIES_REL_SD if species_rel_sd is None else species_rel_sd
    co = sparse.coo_matrix(A[:, cols])  # sparse: plumes reach few samples
    blocks = [_weighted_block(co, np.ones(len(cols)), e, noise[rows], obs_rel_sd)]
    for enh_s, noise_s, frac_s in species or []:
        es = np.asarray(enh_s, float)[rows]
        ns = np.asarray(noise_s, float)[rows]
        ok = np.isfinite(es) & np.isfinite(ns) & (ns > 0)
        if ok.sum() < 3:
            continue
        blocks.append(_weighted_block(co, np.asarray(frac_s, float)[cols], np.where(ok, np.nan_to_num(es), 0.0),
                                      np.where(ok, ns, 1.0), species_rel_sd, keep=ok))
    return blocks


def _weighted_block(co: sparse.coo_matrix, frac: np.ndarray, e: np.ndarray, noise: np.ndarray, rel_sd: float,
                    keep: np.ndarray | None = None) -> tuple[sparse.csc_matrix, sparse.csc_matrix, np.ndarray]:
    """``(X, Ω ∘ X, y)`` of one species: X = unit plume (µg/m³ per g/s) × mass fraction, y = ``e``.

    The residual precision ``Ω_ij = 1 / (noise_i² + (rel_sd × max(e_i, q X_ij))²)`` depends on
    the source as well as the sample: a plume model is wrong in proportion to what it says as
    much as to what is seen (q = ``SIGNAL_MODEL_RATE_G_S``, the least emission worth finding).
    A few metres downwind of a stack, where the model says tens of thousands of µg/m³ per g/s
    and a slow analyser or a metre of position error shows tens, that one sample no longer
    vetoes the source whose plume explains the rest of the pass. ``keep`` masks samples out.
    """
    a = co.data * frac[co.col]
    if keep is not None:
        a = a * keep[co.row]
    larger = np.maximum(np.clip(e, 0, None)[co.row], SIGNAL_MODEL_RATE_G_S * a)  # seen or said
    omega = 1.0 / (noise[co.row] ** 2 + (rel_sd * larger) ** 2)
    X = sparse.csc_matrix((a, (co.row, co.col)), shape=co.shape)
    XW = sparse.csc_matrix((a * omega, (co.row, co.col)), shape=co.shape)
    return X, XW, e


def attribute(samples: pd.DataFrame, events: pd.DataFrame, area, *, species: str = "tvoc_ugm3",
              wind: Wind | None = None, hotspots: pd.DataFrame | None = None, crs=None,
              scheme: SigmaScheme = "briggs_rural", max_distance_m: float = 5000.0, top: int = 5,
              model_rel_sd: float = 0.2, event_of: np.ndarray | None = None,
              seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attribute events (and hotspot polygons) to upwind sources; NNLS rates for all sources.

    ``samples`` must be annotated (:func:`ecopatrol.processing.plume.annotate`); ``event_of``
    is the per-sample event id from :func:`~ecopatrol.processing.plume.detect_events`;
    ``hotspots`` (optional) are polygons in ``crs`` with ``hotspot_id`` and ``confidence``.
    Returns ``(attribution, rates)``: the attribution table of CONTRACTS.md (``evidence_id``,
    ``enterprise_id``, ``source_id``, ``likelihood``, ``rate_g_s``, ``rate_sd_g_s``,
    ``distance_m``, ``expected_ugm3``, ``observed_ugm3``, ``explanation`` + extras; the
    ``all-samples`` rows are the NNLS rates) and the per-source NNLS rates.
    """
    with blas_threads(BLAS_THREADS):
        return _attribute(samples, events, area, species=species, wind=wind, hotspots=hotspots, crs=crs,
                          scheme=scheme, max_distance_m=max_distance_m, top=top, model_rel_sd=model_rel_sd,
                          event_of=event_of, seed=seed)


def blas_threads(n: int | None):
    """A context limiting the BLAS thread pools to ``n`` threads (``threadpoolctl``); a no-op for ``None``
    or without ``threadpoolctl`` (installed with scikit-learn, which ``esda`` requires)."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency of a dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def _attribute(samples: pd.DataFrame, events: pd.DataFrame, area, *, species: str, wind: Wind | None,
               hotspots: pd.DataFrame | None, crs, scheme: SigmaScheme, max_distance_m: float, top: int,
               model_rel_sd: float, event_of: np.ndarray | None, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`attribute` within its BLAS thread limit."""
    enh_col, noise_col, exc_col = derived(species, "enh"), derived(species, "noise"), derived(species, "exceed")
    if enh_col not in samples.columns:
        raise InputError(f"attribution: samples are not annotated for `{species}`: run plume.annotate first")
    if crs is None:
        _, _, crs = metric_xy(samples)
    op = build_operator(samples, area, crs=crs, wind=wind, scheme=scheme, max_distance_m=max_distance_m)
    enh = samples[enh_col].to_numpy(float)
    noise = samples[noise_col].to_numpy(float)
    design, rates, cov_all, signals = _all_samples_fits(samples, op, area, species, enh, noise, exc_col, seed)
    lon, lat = lonlat_of(samples)
    ctx = FitContext(op, enh, noise, rates, cov_all, lon, lat, model_rel_sd=model_rel_sd, top=top)
    rows_out: list[dict] = []
    if event_of is not None and len(events):
        rows_out += _event_rows(ctx, samples, events, event_of)
    if hotspots is not None and len(hotspots):
        rows_out += _hotspot_rows(ctx, hotspots)
    rows_out += signal_rows(op, signals, design, enh, rates, lon, lat)
    rows_out += nnls_rows(rates)
    att = pd.DataFrame(rows_out, columns=ATTRIBUTION_COLUMNS)
    log.info("attribution: %d events, %d hotspots, %d signals → %d rows, %d sources with a positive NNLS rate",
             len(events), 0 if hotspots is None else len(hotspots), len(signals.present), len(att),
             int((rates["rate_g_s"] > 0).sum()))
    return att, rates


def _all_samples_fits(samples: pd.DataFrame, op: PlumeOperator, area, species: str, enh: np.ndarray,
                      noise: np.ndarray, exc_col: str, seed: int):
    """The all-samples NNLS rates and signals: ``(design, rates, cov_all, signals)``.

    With :data:`REDUCED_FIT` over every usable sample by sufficient statistics
    (:func:`.attribution_reduce.reduced_fit`); otherwise the former path (every exceedance, the
    rest subsampled to :data:`MAX_ROWS`, kept as a baseline; ``exc_col`` names the
    exceedance column it keeps). ``rates`` gains ``pip``,
    ``enterprise_pip``, ``signal_rate_g_s`` and ``attrs["fit"]`` (how it was fitted).
    """
    if REDUCED_FIT:  # every usable sample, no row cap: sufficient statistics (attribution_reduce)
        from .attribution_reduce import reduced_fit

        design, rates, cov_all, signals, fit_summary = reduced_fit(
            op, enh, noise, species=_species_rows(samples, op, area, species))
    else:  # the former path: every exceedance, the rest subsampled to MAX_ROWS (kept as a baseline)
        design = _design(op, enh, noise, samples[exc_col].to_numpy(bool), MAX_ROWS, seed)
        rates, cov_all = estimate_rates_cov(op, enh, noise, seed=seed, design=design)
        signals = emission_signals(op, enh, noise, design=design, species=_species_rows(samples, op, area, species))
        fit_summary = {"method": "subsampled", "n_samples": len(design[0]), "row_cap": MAX_ROWS}
        log.warning("attribution: the all-samples fits use %d of %d samples (subsampled to MAX_ROWS = %d)",
                    len(design[0]), len(enh), MAX_ROWS)
    rates["pip"] = signals.pip
    rates["enterprise_pip"] = signals.group_pip(op.sources["enterprise_id"].astype(str).to_numpy())
    a_sum = signals.alpha.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates["signal_rate_g_s"] = np.where(a_sum > 1e-6, (signals.alpha * signals.rate_g_s).sum(0) / a_sum, np.nan)
    rates.attrs["fit"] = fit_summary
    return design, rates, cov_all, signals


def _event_rows(ctx: FitContext, samples: pd.DataFrame, events: pd.DataFrame, event_of: np.ndarray) -> list[dict]:
    """Attribution rows of each event: its samples plus its neighbourhood on the same pass.

    The neighbourhood (the event's duration, at least 30 s, either side) shows where the plume
    is not; without ``time_utc`` the whole pass.
    """
    op = ctx.op
    t = pd.to_datetime(samples["time_utc"], utc=True).to_numpy() if "time_utc" in samples.columns else None
    codes = op.view_codes
    ev_rows = pd.Series(np.arange(len(samples))).groupby(np.asarray(event_of)).apply(np.asarray)
    out: list[dict] = []
    for ev in events.itertuples(index=False):
        core_rows = ev_rows.get(ev.event_id)
        if core_rows is None:
            continue
        code = codes[core_rows[0]]
        pad_s = max(float(ev.duration_s), 30.0)
        same = np.flatnonzero(codes == code)
        if t is not None:
            lo = t[core_rows].min() - np.timedelta64(int(pad_s * 1e3), "ms")
            hi = t[core_rows].max() + np.timedelta64(int(pad_s * 1e3), "ms")
            rows = same[(t[same] >= lo) & (t[same] <= hi)]
        else:
            rows = same
        when = f"{pd.Timestamp(ev.start_utc):%H:%M:%S}–{pd.Timestamp(ev.end_utc):%H:%M:%S} UTC"
        header = (f"event {ev.event_id} ({ev.platform_id} {ev.mission_id} pass {ev.pass_id}, {when}, "
                  f"{ev.n_samples} samples in the event, {len(rows)} around it, "
                  f"{_seen_text(ev)})")
        out += evidence_rows(ctx, ev.event_id, "event", rows, bool(ev.confirmed), header)
    return out


def _hotspot_rows(ctx: FitContext, hotspots: pd.DataFrame) -> list[dict]:
    """Attribution rows of each hotspot polygon: the samples within 50 m of it."""
    import shapely

    pts = shapely.points(ctx.op.x, ctx.op.y)
    tree = shapely.STRtree(pts)
    out: list[dict] = []
    for h in hotspots.itertuples(index=False):
        rows = np.sort(tree.query(shapely.buffer(h.geometry, 50.0), predicate="intersects"))
        header = f"hotspot {h.hotspot_id} ({h.confidence} % Gi*, {len(rows)} samples within 50 m)"
        out += evidence_rows(ctx, h.hotspot_id, "hotspot", rows, h.confidence >= 95, header)
    return out


def _species_rows(samples: pd.DataFrame, op: PlumeOperator, area, species: str) -> list:
    """(enhancement µg/m³, noise µg/m³, mass fraction per source) of each annotated BTX species.

    Only for a TVOC analysis (the profiles are fractions of the TVOC rate) and only for the
    species whose ``<species>_ppb_enh`` columns :func:`ecopatrol.processing.plume.annotate` wrote.
    """
    if species != "tvoc_ugm3":
        return []
    ent = area.enterprises
    ind = ent.set_index("enterprise_id")["industry"] if "industry" in ent.columns else pd.Series(dtype=str)
    ind = ind[~ind.index.duplicated()]
    prof = np.array([species_profile(ind.get(e, "")) for e in op.sources["enterprise_id"]]).reshape(-1, 3)
    out = []
    for j, sp in enumerate(SPECIES):
        col = f"{sp}_ppb"
        if derived(col, "enh") not in samples.columns or derived(col, "noise") not in samples.columns:
            continue
        out.append((ppb_to_ugm3(samples[derived(col, "enh")].to_numpy(float), sp),
                    ppb_to_ugm3(samples[derived(col, "noise")].to_numpy(float), sp), prof[:, j]))
    return out

