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

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import nnls
from scipy.special import log_ndtr, logsumexp

from ecopatrol.core.artefacts.samples import derived
from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.dispersion import SigmaScheme, effective_height_m, plume_frame
from ecopatrol.core.errors import InputError
from ecopatrol.core.profiles import SPECIES, ppb_to_ugm3, species_profile
from ecopatrol.core.weather import STABILITY_CLASSES, Wind, stability_class

from . import model_error
from ._evidence_util import lonlat_of, metric_xy, pass_codes, receptor_agl_m, wind_codes, wind_per_pass

log = logging.getLogger(__name__)

DEFAULT_SITE_SOURCE_HEIGHT_M = 10.0  # enterprises without a registered stack: fugitive/roof vent
#: the plume model takes, for each sample, the wind measured over this long centred on it (within
#: its record, across passes: :func:`._evidence_util.wind_codes`): about the time a plume takes
#: to reach a road 100–300 m downwind and a met station's 1-min mean. Not the pass: a pass lasts
#: from seconds to a quarter of an hour, and the wind of a plume crossing is the wind of that
#: minute, not the mean over the drive; nor a block of the pass, whose edges put a sample's wind
#: up to a whole block away from its moment
WIND_WINDOW_S = 60.0
RISE_DISTANCE_M = 2000.0  # Briggs rise evaluated here (≈ final rise, finite for cold jets)
DIRECTION_OFFSETS_DEG = np.array([-10.0, -5.0, 0.0, 5.0, 10.0])
DIRECTION_SD_DEG = 7.0
STABILITY_SHIFTS = (-1, 0, 1)  # the single-source likelihood is marginalised over the class ± 1 …
STABILITY_PRIOR = (0.25, 0.5, 0.25)  # … (a time-of-day class is uncertain, and so is σ(x) within a class)
SUPPORT_SD = 2.0  # minimum support: a sample supports a source where it predicts ≥ this many noise sd
SUPPORT_SHARE = 0.3  # … and at least this share of the samples it reaches must see it
PEAK_COVER = 0.5  # a plume covers an evidence item's peak where it is ≥ this share of its maximum there
OVERLAP_COS = 0.7  # plumes this similar on an evidence item's samples compete for it
UNKNOWN_SOURCE_PENALTY = 5.0  # nats: Occam cost of an unregistered source's position and rate
N_EFF_MAX = 10.0  # independent samples per evidence item (plume-model residuals are correlated along a track)
PLAUSIBLE_RATIO = 0.2  # candidates within this posterior ratio of the best are "ambiguous with" it
COLLINEAR_DEG = 20.0  # … and "collinear along the wind" when one lies within this angle upwind of the other
MAX_ROWS = 20000  # samples a fit uses: every exceedance, the rest subsampled (seeded) up to this
REDUCED_FIT = True  # all-samples fits over every sample (attribution_reduce); False: the MAX_ROWS subsample
MIN_TOUCHED = 3  # a candidate source must reach at least this many of them
SIGNAL_EFFECTS = 6  # at most this many distinct emitting sources ("signals") in one survey's samples
SIGNAL_KAPPA = 10.0  # residual variance × κ: plume-model residuals are correlated along a track
SIGNAL_RATE_SD_G_S = 3.0  # half-normal prior on a signal's rate (enterprise VOC emissions: 0.1–10 g/s)
SIGNAL_NULL_PRIOR = 0.5  # prior probability that a signal slot is unused
SIGNAL_OBS_REL_SD = 0.5  # relative model error of the plume on each sample (sd² = noise² + (0.5 × max(seen, said))²):
#: a Gaussian plume is within a factor of two of paired field observations about half the time, so 0.2
#: made every misfit of a true plume (wider, lower, turned) look like a second source (issue 16)
SIGNAL_CREDIBLE = 0.95  # a signal's credible set: the most probable sources holding this much of it
SIGNAL_SPECIES_REL_SD = 0.25  # species rows: relative sd (model error, a facility's scatter around its profile)
SIGNAL_MODEL_RATE_G_S = 0.1  # "said": what a source emitting this much (the least worth finding) puts on a sample
ATTRIBUTION_COLUMNS = [
    "evidence_id", "evidence_kind", "enterprise_id", "source_id", "likelihood", "rank", "confidence",
    "rate_g_s", "rate_sd_g_s", "evidence_rate_g_s", "log_bayes_factor", "nnls_share", "fit_likelihood",
    "ambiguous_with", "collinear_with", "group_rate_g_s", "group_rate_sd_g_s", "distance_m", "crosswind_m",
    "expected_ugm3", "nnls_expected_ugm3", "observed_ugm3", "n_samples", "wind_from_deg", "wind_speed_m_s",
    "explanation",
]


def candidate_sources(area, *, crs) -> pd.DataFrame:
    """Registered sources (stacks) plus one site source for every enterprise without a stack.

    Columns: ``source_id``, ``enterprise_id``, ``name``, ``lon``, ``lat``, ``x_m``, ``y_m``,
    ``height_m``, ``diameter_m``, ``exit_velocity_m_s``, ``exit_temp_k``.
    """
    ent = area.enterprises
    if ent is None or len(ent) == 0:
        raise InputError("attribution: the area registry has no enterprises")
    src = area.sources if getattr(area, "sources", None) is not None else None
    cols = ["source_id", "enterprise_id", "height_m", "diameter_m", "exit_velocity_m_s", "exit_temp_k"]
    if src is not None and len(src):
        s = pd.DataFrame({c: (src[c] if c in src.columns else np.nan) for c in cols})
        s["lon"], s["lat"] = lonlat_of(src)
    else:
        s = pd.DataFrame(columns=[*cols, "lon", "lat"])
    missing = ent[~ent["enterprise_id"].isin(s["enterprise_id"])]
    if len(missing):
        lon, lat = lonlat_of(missing)
        site = pd.DataFrame({"source_id": missing["enterprise_id"].astype(str) + "-site",
                             "enterprise_id": missing["enterprise_id"].to_numpy(),
                             "height_m": DEFAULT_SITE_SOURCE_HEIGHT_M, "diameter_m": np.nan,
                             "exit_velocity_m_s": np.nan, "exit_temp_k": np.nan, "lon": lon, "lat": lat})
        s = pd.concat([s, site], ignore_index=True) if len(s) else site
    s["height_m"] = pd.to_numeric(s["height_m"], errors="coerce").fillna(DEFAULT_SITE_SOURCE_HEIGHT_M)
    names = ent.set_index("enterprise_id")["name"] if "name" in ent.columns else pd.Series(dtype=str)
    s["name"] = s["enterprise_id"].map(names).fillna("")
    s["x_m"], s["y_m"] = lonlat_to_xy(s["lon"].to_numpy(float), s["lat"].to_numpy(float), crs)
    return s.sort_values("source_id").reset_index(drop=True)


@dataclass
class _Pass:
    from_deg: float
    speed_m_s: float
    stability: str
    measured: bool


@dataclass
class PlumeOperator:
    """The plume model for one set of samples: per-pass wind and stability, candidate sources."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    codes: np.ndarray
    passes: list[_Pass]
    sources: pd.DataFrame
    scheme: SigmaScheme = "briggs_rural"
    mixing_height_m: float | None = None
    max_distance_m: float = 5000.0
    #: each sample's pass (``codes`` group the samples that share a wind, :data:`WIND_WINDOW_S`)
    pass_codes: np.ndarray | None = None
    _heights: dict = field(default_factory=dict)

    def _src_heights(self, p: _Pass):
        key = (round(p.speed_m_s, 3), p.stability)
        if key not in self._heights:
            s = self.sources
            self._heights[key] = effective_height_m(
                s["height_m"].to_numpy(float), p.speed_m_s, p.stability,
                exit_velocity_m_s=s["exit_velocity_m_s"].to_numpy(float),
                diameter_m=s["diameter_m"].to_numpy(float), exit_temp_k=s["exit_temp_k"].to_numpy(float),
                x_m=RISE_DISTANCE_M)
        return self._heights[key]

    def matrix(self, rows: np.ndarray, cols: np.ndarray | None = None, *, offset_deg: float = 0.0,
               stability_shift: int = 0) -> np.ndarray:
        """Unit-concentration matrix (µg/m³ per g/s), shape (len(rows), len(cols)), pass by pass;
        ``offset_deg`` turns the wind, ``stability_shift`` moves each pass's class (−1: one class
        more unstable, clipped to A–F)."""
        cols = np.arange(len(self.sources)) if cols is None else cols
        out = np.zeros((len(rows), len(cols)))
        sx = self.sources["x_m"].to_numpy(float)[cols]
        sy = self.sources["y_m"].to_numpy(float)[cols]
        hs = self.sources["height_m"].to_numpy(float)
        rc = self.codes[rows]
        for code in np.unique(rc):
            m = np.flatnonzero(rc == code)
            r = rows[m]
            p = self.passes[code]
            if stability_shift:
                i = STABILITY_CLASSES.index(p.stability) + stability_shift
                p = _Pass(p.from_deg, p.speed_m_s, STABILITY_CLASSES[min(max(i, 0), 5)], p.measured)
            h, u = self._src_heights(p)
            # the mean plume over what the model cannot know (direction, σ, building wake): model_error
            a = model_error.unit_matrix(self.x[r], self.y[r], self.z[r], sx, sy, hs[cols], h[cols], u[cols],
                                        p.from_deg + offset_deg, p.stability, scheme=self.scheme,
                                        mixing_height_m=self.mixing_height_m)
            xd, _ = plume_frame(self.x[r], self.y[r], sx, sy, p.from_deg + offset_deg)
            a[xd > self.max_distance_m] = 0.0
            out[m] = a
        return out


def build_operator(samples: pd.DataFrame, area, *, crs, wind: Wind | None, scheme: SigmaScheme = "briggs_rural",
                   max_distance_m: float = 5000.0, sources: pd.DataFrame | None = None) -> PlumeOperator:
    """Plume operator for ``samples`` (any order) and the area's candidate sources."""
    x, y, _ = metric_xy(samples, crs)
    passes_of = pass_codes(samples)
    codes, smoothed = wind_codes(samples, WIND_WINDOW_S)
    pw = wind_per_pass(smoothed, codes, wind)
    if pw["from_deg"].isna().any():
        raise InputError("attribution: no wind for some passes: the samples carry no `wind_from_deg`/"
                         "`wind_speed_m_s` and no wind was given: pass `--wind FROM/SPEED[/CLASS]`")
    lon, lat = lonlat_of(samples)
    times = pd.to_datetime(samples["time_utc"], utc=True) if "time_utc" in samples.columns else None
    passes = []
    for code, row in pw.iterrows():
        stab = wind.stability if wind is not None and wind.stability else None
        if stab is None:
            cfg = (getattr(area, "config", None) or {}).get("defaults", {})
            when = times[codes == code].iloc[len(times[codes == code]) // 2].to_pydatetime() \
                if times is not None else None
            stab = stability_class(row["speed_m_s"], when=when, lon=float(np.nanmedian(lon)),
                                   lat=float(np.nanmedian(lat))) if when is not None else cfg.get("stability", "D")
        passes.append(_Pass(float(row["from_deg"]), float(row["speed_m_s"]), str(stab), bool(row["measured"])))
    src = candidate_sources(area, crs=crs) if sources is None else sources
    return PlumeOperator(x, y, receptor_agl_m(samples), codes, passes, src, scheme=scheme,
                         mixing_height_m=wind.mixing_height_m if wind is not None else None,
                         max_distance_m=max_distance_m, pass_codes=passes_of)


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
    k = len(op.sources)
    out = pd.DataFrame({"source_id": op.sources["source_id"], "enterprise_id": op.sources["enterprise_id"],
                        "rate_g_s": np.zeros(k), "rate_sd_g_s": np.full(k, np.nan),
                        "n_samples_touched": np.zeros(k, int)})
    cov_all = np.zeros((k, k))
    if len(rows) == 0:
        return out, cov_all
    touched = _touched(A)
    out["n_samples_touched"] = touched.astype(int)
    cols = np.flatnonzero(touched >= MIN_TOUCHED)
    if len(cols) == 0:
        return out, cov_all
    e_rows = np.nan_to_num(enh[rows])
    # per-sample sd: instrument noise plus a model error growing with the enhancement, so a few
    # near-field peaks (where a Gaussian plume is least reliable) do not dictate every rate
    w = 1.0 / np.sqrt(noise[rows] ** 2 + (obs_rel_sd * np.clip(e_rows, 0, None)) ** 2)
    Ad = A[:, cols].toarray() * w[:, None]
    b = e_rows * w
    codes_rows = (op.pass_codes if op.pass_codes is not None else op.codes)[rows]  # passes, not wind blocks
    # Gaussian prior N(0, prior_rate_sd²) on each rate (MAP = NNLS on augmented rows): sources the
    # samples barely constrain stay near zero instead of taking absurd rates
    def solve(keep: np.ndarray) -> np.ndarray:
        k_c = int(keep.sum())
        Aug = np.vstack([Ad[:, keep], np.eye(k_c) / prior_rate_sd_g_s])
        qk, _ = nnls(Aug, np.r_[b, np.zeros(k_c)], maxiter=50 * k_c + 50)
        q = np.zeros(len(cols))
        q[keep] = qk
        return q

    keep = np.ones(len(cols), bool)
    q = solve(keep)
    # minimum support: a positive rate must be seen, i.e. predict ≥ SUPPORT_SD noise sd where at
    # least half of it is observed, on ≥ ``min_support`` samples over ≥ 2 passes and on a fair share
    # of the samples it reaches; otherwise it only explains an isolated spike (traffic) with a
    # plume edge, and is refitted at 0
    n_weak = 0
    for _ in range(3 if min_support > 0 else 0):
        pk = Ad * q[None, :]  # weighted rows: prediction in noise-sd units
        reach = pk >= SUPPORT_SD  # predicted above the noise
        contrib = reach & (b[:, None] >= 0.5 * pk)  # … and seen there
        n_sup = contrib.sum(0)
        n_reach = reach.sum(0)
        n_pass = np.array([len(np.unique(codes_rows[contrib[:, j]])) if n_sup[j] else 0 for j in range(len(cols))])
        weak = keep & (q > 0) & ((n_sup < min_support) | (n_pass < 2) | (n_sup < SUPPORT_SHARE * n_reach))
        if not weak.any():
            break
        n_weak += int(weak.sum())
        keep &= ~weak
        q = solve(keep)
    active = q > 0
    resid = b - Ad @ q
    dof = max(len(rows) - int(active.sum()), 1)
    s2 = max(float(resid @ resid) / dof, 1e-12)
    sd = np.full(len(cols), np.nan)
    col_norm = np.sqrt((Ad**2).sum(0))
    sd[~active] = math.sqrt(s2) / np.maximum(col_norm[~active], 1e-300)
    cov_act = np.zeros((int(active.sum()), int(active.sum())))
    if active.any():
        Aa = Ad[:, active]
        cov_act = np.linalg.pinv(Aa.T @ Aa / s2 + np.eye(int(active.sum())) / prior_rate_sd_g_s**2)
        sd[active] = np.sqrt(np.clip(np.diag(cov_act), 0, None))
    sd = np.sqrt(sd**2 + (model_rel_sd * q) ** 2)
    sd[~keep] = np.nan  # unsupported: no estimate
    cov_all[np.ix_(cols[active], cols[active])] = cov_act
    out.loc[cols, "rate_g_s"] = q
    out.loc[cols, "rate_sd_g_s"] = sd
    log.info("NNLS: %d samples × %d candidate sources, %d with a positive rate (total %.3g g/s), "
             "%d without minimum support set to 0", len(rows), len(cols), int(active.sum()), float(q.sum()), n_weak)
    return out, cov_all


def sum_of_single_effects(X: np.ndarray, y: np.ndarray, log_prior: np.ndarray, *, n_effects: int = SIGNAL_EFFECTS,
                          sigma2: float = SIGNAL_KAPPA, prior_rate_sd: float = SIGNAL_RATE_SD_G_S,
                          null_prior: float = SIGNAL_NULL_PRIOR, max_iter: int = 50,
                          tol: float = 1e-4, weighted=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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

    Returns ``alpha`` (L, p): posterior probability that effect l is column j; ``mean`` (L, p):
    posterior mean rate of effect l if it is column j; ``null`` (L,): probability that effect l
    is unused.
    """
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
    return alpha, mean, null


def _norm_logpdf(t: np.ndarray) -> np.ndarray:
    return -0.5 * t * t - 0.5 * math.log(2 * math.pi)


@dataclass
class Signals:
    """Emitting sources found by :func:`emission_signals`: one row of ``alpha`` per signal."""

    alpha: np.ndarray  # (L, k): probability that signal l is candidate source j
    rate_g_s: np.ndarray  # (L, k): posterior mean rate of signal l if it is source j
    null: np.ndarray  # (L,): probability that signal l is not there at all
    n_samples: int = 0

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
    X = sparse.vstack([b[0] for b in blocks]).tocsc()
    XW = sparse.vstack([b[1] for b in blocks]).tocsc()
    y = np.concatenate([b[2] for b in blocks])
    n_species = len(blocks) - 1
    ent = op.sources["enterprise_id"].astype(str).to_numpy()[cols]
    _, inv, counts = np.unique(ent, return_inverse=True, return_counts=True)
    log_prior = -math.log(len(counts)) - np.log(counts[inv].astype(float))
    a, m, null = sum_of_single_effects(X, y, log_prior, n_effects=n_effects, sigma2=kappa, weighted=XW)
    alpha = np.zeros((n_effects, k))
    mean = np.zeros((n_effects, k))
    alpha[:, cols] = a
    mean[:, cols] = m
    signals = Signals(alpha, mean, null, len(rows))
    log.info("signals: %d samples (+ %d species) × %d candidate sources, %d signals present (P ≥ 0.5), "
             "top source P = %.2f", len(rows), n_species, len(cols), int((null < 0.5).sum()),
             float(signals.pip.max()) if k else 0.0)
    return signals


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


def _nnls_rss(a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, float]:
    if a.shape[1] == 0:
        return np.zeros(0), float(e @ e)
    q, rn = nnls(a, e, maxiter=50 * a.shape[1] + 50)
    return q, float(rn * rn)


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
    mats = [op.matrix(rows, offset_deg=float(off)) for off in DIRECTION_OFFSETS_DEG]
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
        q_full[i], rss_full[i] = _nnls_rss(a, e)
        for j in range(k):
            if q_full[i, j] == 0:  # not used by the full fit: dropping it changes nothing
                rss_drop[i, j] = rss_full[i]
            else:
                _, rss_drop[i, j] = _nnls_rss(np.delete(a, j, axis=1), e)
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
    lp_dir = -0.5 * (DIRECTION_OFFSETS_DEG / DIRECTION_SD_DEG) ** 2
    lp_dir -= logsumexp(lp_dir)
    lp_stab = np.log(STABILITY_PRIOR)
    grid = [(float(off), int(sh)) for sh in STABILITY_SHIFTS for off in DIRECTION_OFFSETS_DEG]
    logp = np.array([lp_dir[list(DIRECTION_OFFSETS_DEG).index(off)] + lp_stab[list(STABILITY_SHIFTS).index(sh)]
                     for off, sh in grid])
    # which sources reach these samples at the measured class; the other classes only for those
    base = {(off, 0): op.matrix(rows, offset_deg=off) for off, sh in grid if sh == 0}
    strength = np.max([m.max(0) for m in base.values()], axis=0)
    cols = np.flatnonzero(strength > 0)
    mats = [base[(off, sh)][:, cols] if sh == 0 else op.matrix(rows, cols, offset_deg=off, stability_shift=sh)
            for off, sh in grid]
    offsets = np.array([off for off, _ in grid])
    empty = pd.DataFrame({"col": [], "weight": [], "log_bf": [], "rate_g_s": [], "offset_deg": [],
                          "expected_peak": []})
    empty.attrs["null_weight"] = 1.0
    if len(cols) == 0:
        return empty
    i0 = grid.index((0.0, 0))
    a0 = mats[i0]
    q = np.zeros(len(cols)) if q_all is None else np.asarray(q_all, float)[cols]
    contrib = a0 * q[None, :]
    peak = int(np.argmax(e))
    # every source whose plume covers the peak competes for it; other plumes crossing these samples
    # keep their NNLS share unless they overlap k's (then they compete with k as well)
    covers = a0[peak] / np.maximum(a0.max(0), 1e-300) >= PEAK_COVER  # at the measured wind
    aw = a0 * np.sqrt(w)[:, None]
    nrm = np.sqrt((aw * aw).sum(0))
    cos = (aw.T @ aw) / np.maximum(np.outer(nrm, nrm), 1e-300)
    overlap = (cos >= overlap_cos) | np.eye(len(cols), dtype=bool)
    subtract = ~covers[:, None] & ~overlap  # (j, k): j's NNLS contribution is kept under hypothesis k
    resid = e[:, None] - contrib @ subtract.astype(float)  # (n, k)
    ll = np.empty((len(mats), len(cols)))
    rate = np.empty_like(ll)
    for i, a in enumerate(mats):
        num = (a * resid * w[:, None]).sum(0)
        den = (a * a * w[:, None]).sum(0)
        rate[i] = np.clip(num / (den + 1.0 / prior_rate_sd_g_s**2), 0.0, None)
        chi2 = (w[:, None] * (resid - a * rate[i][None, :]) ** 2).sum(0)
        ll[i] = -0.5 * temper * chi2 - 0.5 * (rate[i] / prior_rate_sd_g_s) ** 2
    r0 = e - contrib[:, ~covers].sum(1)  # no registered source explains the peak
    ll_null = -0.5 * temper * float((w * r0 * r0).sum())
    log_bf = logsumexp(logp[:, None] + ll, axis=0) - ll_null
    best = np.argmax(logp[:, None] + ll, axis=0)
    ent = op.sources["enterprise_id"].to_numpy()[cols]
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


def _seen_text(ev) -> str:
    """"confirmed: 3 independent sightings on 4 passes", "not confirmed (2 passes)", "single pass"."""
    n_passes = int(getattr(ev, "n_passes", 1) or 1)
    if ev.confirmed:
        n = getattr(ev, "n_independent", None)
        return f"confirmed: {int(n) if n is not None and n == n else 2} independent sightings on {n_passes} passes"
    return f"not confirmed ({n_passes} passes, not independent)" if n_passes > 1 else "single pass"


def _confidence(lik: float, confirmed: bool, n: int) -> str:
    if lik >= 0.7 and (confirmed or n >= 5):
        return "high"
    if lik >= 0.4:
        return "medium"
    return "low"


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
    enh_col, noise_col, exc_col = derived(species, "enh"), derived(species, "noise"), derived(species, "exceed")
    if enh_col not in samples.columns:
        raise InputError(f"attribution: samples are not annotated for `{species}`: run plume.annotate first")
    if crs is None:
        _, _, crs = metric_xy(samples)
    op = build_operator(samples, area, crs=crs, wind=wind, scheme=scheme, max_distance_m=max_distance_m)
    enh = samples[enh_col].to_numpy(float)
    noise = samples[noise_col].to_numpy(float)
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
    q_all = rates["rate_g_s"].to_numpy()
    rows_out: list[dict] = []
    t = pd.to_datetime(samples["time_utc"], utc=True).to_numpy() if "time_utc" in samples.columns else None
    lon, lat = lonlat_of(samples)

    def _explain_rows(eid: str, kind: str, rows: np.ndarray, confirmed: bool, header: str) -> None:
        if len(rows) == 0:
            return
        peak_local = int(np.nanargmax(enh[rows]))
        pk = rows[peak_local]
        sigma = float(np.sqrt(np.nanmedian(noise[rows]) ** 2 + (model_rel_sd * max(enh[pk], 0)) ** 2))
        single = single_source_likelihood(op, rows, enh, noise, q_all=q_all, model_rel_sd=model_rel_sd)
        if len(single) == 0:
            return
        local = rank_candidates(op, rows, enh, max(sigma, 1e-9))
        a_rows = op.matrix(rows)
        contrib = (a_rows * q_all[None, :]).sum(0)
        observed = float(np.clip(np.nan_to_num(enh[rows]), 0, None).sum())
        share = contrib / max(observed, float(contrib.sum()), 1e-12)
        ranked = single.rename(columns={"weight": "likelihood", "rate_g_s": "single_rate_g_s"})
        ranked["nnls_share"] = share[ranked["col"].to_numpy(int)]
        ranked = ranked.merge(local[["col", "likelihood"]].rename(columns={"likelihood": "fit_likelihood"}),
                              on="col", how="left")
        ranked["fit_likelihood"] = ranked["fit_likelihood"].fillna(0.0)
        null_w = single.attrs.get("null_weight", 0.0)
        unk_w = single.attrs.get("unknown_weight", 0.0)
        # the plausible set: candidates whose single-source likelihood is within PLAUSIBLE_RATIO of the best
        wmax = float(ranked["likelihood"].max())
        plaus = ranked.loc[ranked["likelihood"] >= PLAUSIBLE_RATIO * wmax, "col"].to_numpy(int) \
            if wmax > 0 else np.zeros(0, int)
        # the plausible group's total NNLS rate is determined even when its split is not
        g_rate = float(q_all[plaus].sum()) if len(plaus) else 0.0
        g_sd = float(math.sqrt(max(float(cov_all[np.ix_(plaus, plaus)].sum()), 0.0) + (model_rel_sd * g_rate) ** 2)) \
            if len(plaus) else float("nan")
        # the `top` most likely, plus any candidate the all-samples fit credits with ≥ 10 % of the enhancement
        ranked = ranked[(np.arange(len(ranked)) < top) | (ranked["nnls_share"] >= 0.1)].reset_index(drop=True)
        unexplained = max(0.0, 1.0 - float(share.sum()))
        p = op.passes[op.codes[pk]]
        wtxt = f"wind from {p.from_deg:.0f}° at {p.speed_m_s:.1f} m/s ({'measured' if p.measured else 'assumed'}), " \
               f"class {p.stability}"
        a_pk = a_rows[peak_local]
        names = op.sources["name"].to_numpy()
        ent_all = op.sources["enterprise_id"].to_numpy()
        sx_all = op.sources["x_m"].to_numpy(float)
        sy_all = op.sources["y_m"].to_numpy(float)
        t_dir = math.radians(p.from_deg)
        down = np.array([-math.sin(t_dir), -math.cos(t_dir)])
        for r_i, cand in enumerate(ranked.itertuples(index=False), start=1):
            c = int(cand.col)
            src = op.sources.iloc[c]
            xd, yd = plume_frame(op.x[[pk]], op.y[[pk]], [src["x_m"]], [src["y_m"]], p.from_deg)
            expected_nnls = float(a_pk[c] * q_all[c])
            others = [int(o) for o in plaus if int(o) != c and ent_all[int(o)] != src["enterprise_id"]] \
                if c in plaus else []
            amb_ids = list(dict.fromkeys(ent_all[o] for o in others))
            collinear = []
            for o in others:
                d = np.array([sx_all[o] - sx_all[c], sy_all[o] - sy_all[c]])
                along = abs(float(d @ down))
                if along > 0 and abs(float(d @ np.array([-down[1], down[0]]))) <= math.tan(
                        math.radians(COLLINEAR_DEG)) * along:
                    collinear.append(ent_all[o])
            collinear = list(dict.fromkeys(collinear))
            if amb_ids:
                amb_txt = (f"; ambiguous with {', '.join(amb_ids)}"
                           + (f" ({', '.join(collinear)} collinear along the wind)" if collinear else
                              " (their plumes overlap on these samples)")
                           + f": together they have {g_rate:.3g} ± {g_sd:.2g} g/s in the all-samples NNLS, which "
                           "cannot split it between them")
            else:
                amb_txt = ""
            rows_out.append({
                "evidence_id": eid, "evidence_kind": kind, "enterprise_id": src["enterprise_id"],
                "source_id": src["source_id"], "likelihood": float(cand.likelihood), "rank": r_i,
                "confidence": _confidence(float(cand.likelihood), confirmed, len(rows)),
                "rate_g_s": float(q_all[c]), "rate_sd_g_s": float(rates["rate_sd_g_s"].iloc[c]),
                "evidence_rate_g_s": float(cand.single_rate_g_s), "log_bayes_factor": float(cand.log_bf),
                "nnls_share": float(cand.nnls_share), "fit_likelihood": float(cand.fit_likelihood),
                "ambiguous_with": " ".join(amb_ids), "collinear_with": " ".join(collinear),
                "group_rate_g_s": g_rate if amb_ids else np.nan, "group_rate_sd_g_s": g_sd if amb_ids else np.nan,
                "distance_m": float(xd[0, 0]),
                "crosswind_m": float(yd[0, 0]), "expected_ugm3": float(cand.expected_peak),
                "nnls_expected_ugm3": expected_nnls, "observed_ugm3": float(enh[pk]),
                "n_samples": len(rows), "wind_from_deg": p.from_deg, "wind_speed_m_s": p.speed_m_s,
                "explanation": (
                    f"{header}; peak enhancement {enh[pk]:.1f} at ({lon[pk]:.5f}, {lat[pk]:.5f}); {wtxt}; "
                    f"source {src['source_id']} of {src['enterprise_id']} {names[c]} is {xd[0, 0]:.0f} m upwind "
                    f"and {abs(yd[0, 0]):.0f} m {'left' if yd[0, 0] > 0 else 'right'} of the plume axis; "
                    f"alone, at {cand.single_rate_g_s:.3g} g/s (wind offset {cand.offset_deg:+.0f}°), it predicts "
                    f"{cand.expected_peak:.1f} at the peak (observed {enh[pk]:.1f}): likelihood "
                    f"{cand.likelihood:.2f} among the {len(single)} candidates reaching these samples "
                    f"(log Bayes factor {cand.log_bf:.1f} against no source; {null_w:.2f} left for no source and "
                    f"{unk_w:.2f} for an unregistered one){amb_txt}; with the all-samples NNLS rate {q_all[c]:.3g} ± "
                    f"{rates['rate_sd_g_s'].iloc[c]:.2g} g/s it predicts {expected_nnls:.1f} at the peak and "
                    f"{100 * cand.nnls_share:.0f} % of the enhancement on these samples "
                    f"({100 * unexplained:.0f} % unexplained by registered sources)"),
            })

    if event_of is not None and len(events):
        codes = op.pass_codes if op.pass_codes is not None else op.codes
        ev_rows = pd.Series(np.arange(len(samples))).groupby(np.asarray(event_of)).apply(np.asarray)
        for ev in events.itertuples(index=False):
            core_rows = ev_rows.get(ev.event_id)
            if core_rows is None:
                continue
            # the event plus its neighbourhood on the same pass (to see where the plume is not)
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
            _explain_rows(ev.event_id, "event", rows, bool(ev.confirmed), header)
    if hotspots is not None and len(hotspots):
        import shapely

        pts = shapely.points(op.x, op.y)
        tree = shapely.STRtree(pts)
        for h in hotspots.itertuples(index=False):
            rows = np.sort(tree.query(shapely.buffer(h.geometry, 50.0), predicate="intersects"))
            header = f"hotspot {h.hotspot_id} ({h.confidence} % Gi*, {len(rows)} samples within 50 m)"
            _explain_rows(h.hotspot_id, "hotspot", rows, h.confidence >= 95, header)
    _signal_rows(rows_out, op, signals, design, enh, rates, lon, lat)
    pos = rates[rates["rate_g_s"] > 0]
    for r in pos.itertuples(index=False):
        rows_out.append({
            "evidence_id": "all-samples", "evidence_kind": "nnls", "enterprise_id": r.enterprise_id,
            "source_id": r.source_id, "likelihood": np.nan, "rank": np.nan,
            "confidence": "high" if r.rate_g_s > 3 * r.rate_sd_g_s else "medium" if r.rate_g_s > 2 * r.rate_sd_g_s
            else "low",
            "rate_g_s": r.rate_g_s, "rate_sd_g_s": r.rate_sd_g_s, "evidence_rate_g_s": np.nan,
            "fit_likelihood": np.nan, "log_bayes_factor": np.nan, "nnls_share": np.nan, "ambiguous_with": "",
            "collinear_with": "", "group_rate_g_s": np.nan, "group_rate_sd_g_s": np.nan,
            "nnls_expected_ugm3": np.nan,
            "distance_m": np.nan, "crosswind_m": np.nan, "expected_ugm3": np.nan, "observed_ugm3": np.nan,
            "n_samples": int(r.n_samples_touched), "wind_from_deg": np.nan, "wind_speed_m_s": np.nan,
            "explanation": (f"NNLS over all samples: {r.rate_g_s:.3g} ± {r.rate_sd_g_s:.2g} g/s "
                            f"(z = {r.rate_g_s / r.rate_sd_g_s:.1f}); the plume of {r.source_id} reaches "
                            f"{int(r.n_samples_touched)} of the samples used"),
        })
    att = pd.DataFrame(rows_out, columns=ATTRIBUTION_COLUMNS)
    log.info("attribution: %d events, %d hotspots, %d signals → %d rows, %d sources with a positive NNLS rate",
             len(events), 0 if hotspots is None else len(hotspots), int((signals.null < 0.5).sum()), len(att),
             len(pos))
    return att, rates


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


def _signal_rows(rows_out: list[dict], op: PlumeOperator, signals: Signals, design, enh: np.ndarray,
                 rates: pd.DataFrame, lon: np.ndarray, lat: np.ndarray) -> None:
    """Attribution rows of the signals present (P ≥ 0.5): the sources of each credible set."""
    rows, A = design
    names = op.sources["name"].to_numpy()
    ent_all = op.sources["enterprise_id"].to_numpy()
    n_cand = int((signals.alpha.sum(0) > 0).sum())
    present = np.flatnonzero(signals.null < 0.5)
    order = present[np.argsort(-(1 - signals.null[present]) * signals.alpha[present].max(1), kind="stable")]
    for s_i, l_ in enumerate(order, start=1):
        a = signals.alpha[l_]
        p_here = 1.0 - float(signals.null[l_])
        ranked = np.argsort(-a, kind="stable")
        cum = np.cumsum(a[ranked])
        n_set = int(np.searchsorted(cum, SIGNAL_CREDIBLE * p_here) + 1)
        cset = ranked[: max(1, min(n_set, 10))]
        set_firms = list(dict.fromkeys(ent_all[cset]))
        mean_rate = float((a * signals.rate_g_s[l_]).sum() / max(p_here, 1e-12))
        sid = f"S{s_i}"
        for r_i, c in enumerate(cset, start=1):
            col = A[:, c].toarray().ravel() * signals.rate_g_s[l_, c]
            # the sample that shows it best: where the plume is both predicted and seen
            pk_local = int(np.argmax(np.minimum(col, np.nan_to_num(enh[rows]))))
            pk = int(rows[pk_local])
            p = op.passes[op.codes[pk]]
            src = op.sources.iloc[c]
            xd, yd = plume_frame(op.x[[pk]], op.y[[pk]], [src["x_m"]], [src["y_m"]], p.from_deg)
            others = [f for f in set_firms if f != src["enterprise_id"]]
            conf = "high" if a[c] >= 0.7 and p_here >= 0.9 else "medium" if a[c] >= 0.3 else "low"
            rows_out.append({
                "evidence_id": sid, "evidence_kind": "signal", "enterprise_id": src["enterprise_id"],
                "source_id": src["source_id"], "likelihood": float(a[c]), "rank": r_i, "confidence": conf,
                "rate_g_s": float(rates["rate_g_s"].iloc[c]), "rate_sd_g_s": float(rates["rate_sd_g_s"].iloc[c]),
                "evidence_rate_g_s": float(signals.rate_g_s[l_, c]), "log_bayes_factor": np.nan,
                "nnls_share": np.nan, "fit_likelihood": np.nan, "ambiguous_with": " ".join(others),
                "collinear_with": "", "group_rate_g_s": mean_rate if others else np.nan, "group_rate_sd_g_s": np.nan,
                "distance_m": float(xd[0, 0]), "crosswind_m": float(yd[0, 0]), "expected_ugm3": float(col[pk_local]),
                "nnls_expected_ugm3": float(A[pk_local, c] * rates["rate_g_s"].iloc[c]),
                "observed_ugm3": float(enh[pk]), "n_samples": int(signals.n_samples),
                "wind_from_deg": p.from_deg, "wind_speed_m_s": p.speed_m_s,
                "explanation": (
                    f"signal {sid}: one emitting source behind part of the enhancement over all {signals.n_samples} "
                    f"samples (probability {p_here:.2f} that it is there; sparse attribution over {n_cand} candidate "
                    f"sources, prior uniform over enterprises); it is {src['source_id']} of {src['enterprise_id']} "
                    f"{names[c]} with probability {a[c]:.2f}, at {signals.rate_g_s[l_, c]:.3g} g/s if so; its plume "
                    f"shows best at ({lon[pk]:.5f}, {lat[pk]:.5f}), {xd[0, 0]:.0f} m downwind and "
                    f"{abs(yd[0, 0]):.0f} m {'left' if yd[0, 0] > 0 else 'right'} of its axis (wind from "
                    f"{p.from_deg:.0f}° at {p.speed_m_s:.1f} m/s, class {p.stability}), predicting {col[pk_local]:.1f} "
                    f"where {enh[pk]:.1f} was observed"
                    + (f"; the signal's 95 % credible set also holds {', '.join(others)}: their plumes look alike on "
                       f"these samples, and the signal's rate is {mean_rate:.3g} g/s whichever it is" if others else "")),
            })
