"""Drone-curtain mass balance: emission rate from a vertical sampling plane downwind of a source.

The flux through a vertical plane is ``F = ∬ (C − C_bg) · u⊥(z) dA`` (g/s from µg/m³ × m/s × m²
× 1e-6). From samples alone:

1. the plane is fitted to the sortie's horizontal positions (trimmed principal axis), giving an
   along-plane coordinate ``s`` and the horizontal normal, oriented downwind;
2. the enhancement over the curtain background (median of the samples outside the plume) is
   interpolated linearly on an ``(s, z)`` grid (triangulation in range-normalised coordinates),
   filled by the nearest sample inside the sampled box, held constant from the lowest pass
   down to the ground and set to zero above the top pass;
3. the wind normal to the plane is the 10 m (or measured) speed on the power-law profile
   times the cosine between the wind and the plane normal;
4. the uncertainty (1 σ) combines in quadrature: wind speed (relative), wind direction
   (``|tan θ| σθ + σθ²/2``), background level, sample noise, the ground extrapolation (half the
   flux below the lowest pass) and the flux in the edge columns and top row (plume not closed).

Coordinates in: WGS-84 ``(lon, lat)``; work in the local metric CRS.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.directions import circular_mean_deg
from ecopatrol.core.dispersion import sigmas
from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import Wind, wind_at_height

from ._evidence_util import metric_xy, receptor_agl_m, require_columns
from .curtain_geometry import (  # noqa: F401  (re-exported)
    Plane, _curtain_groups, _n_full_transects, curtain_span_mask, fit_plane, split_curtains,
)
from .curtain_credit import CREDIT_RULE, plan_curtain_targets, plan_target_of
from .curtain_credit import _credited, _target_score  # noqa: F401  (re-exported)
from .curtain_credit import curtain_credit as _curtain_credit

log = logging.getLogger(__name__)

FLUX_COLUMNS = ["sortie_id", "target_id", "species", "flux_g_s", "flux_sd_g_s", "n_samples", "n_levels",
                "z_min_m", "z_max_m", "width_m", "distance_to_target_m", "wind_from_deg", "wind_speed_m_s",
                "wind_normal_deg", "background", "ground_fraction", "edge_fraction", "target_match",
                "best_candidate_id", "target_capture", "credit_reason", "lon", "lat", "note"]


def curtain_flux(s_m, z_m, enh, *, wind_from_deg: float, wind_speed_m_s: float, normal_deg: float,
                 stability: str = "D", ds_m: float = 5.0, dz_m: float = 2.5, profile: bool = True,
                 speed_ref_height_m: float = 10.0, noise: float = 0.0, background_sd: float = 0.0,
                 speed_rel_sd: float = 0.15, direction_sd_deg: float = 10.0,
                 puff_length_m: float = 25.0, sigma_z_min_m: float | None = None) -> dict:
    """Mass flux (g/s) of enhancement ``enh`` (µg/m³) sampled at plane coordinates ``(s, z)``.

    ``normal_deg`` is the compass bearing of the plane normal (the direction of positive flux);
    ``wind_speed_m_s`` is at ``speed_ref_height_m`` (10 m unless measured at the drone) and
    follows the power-law profile of ``stability`` when ``profile``; otherwise it is uniform.
    Returns ``flux_g_s``, ``flux_sd_g_s`` and the components of the budget.
    """
    s = np.asarray(s_m, float)
    z = np.asarray(z_m, float)
    e = np.asarray(enh, float)
    ok = np.isfinite(s) & np.isfinite(z) & np.isfinite(e)
    s, z, e = s[ok], z[ok], e[ok]
    if len(e) < 10:
        raise InputError(f"curtain: {len(e)} usable samples, need at least 10")
    s0, s1 = s.min(), s.max()
    zlo, zhi = z.min(), z.max()
    gs = np.arange(s0, s1 + ds_m / 2, ds_m)
    gz = np.arange(dz_m / 2, zhi + dz_m / 2, dz_m)
    S, Z = np.meshgrid(gs, gz)
    # triangulate in range-normalised coordinates (curtains are much wider than tall)
    ws, wz = max(s1 - s0, 1.0), max(zhi - zlo, 1.0)
    pts = np.c_[(s - s0) / ws, (z - zlo) / wz]
    qz = np.clip(Z, zlo, zhi)
    q = np.c_[((S - s0) / ws).ravel(), ((qz - zlo) / wz).ravel()]
    lin = LinearNDInterpolator(pts, e)(q)
    near = NearestNDInterpolator(pts, e)(q)
    grid = np.where(np.isfinite(lin), lin, near).reshape(S.shape)
    grid = np.where(Z > zhi + dz_m / 2, 0.0, grid)
    # wind normal to the plane
    ang = math.radians(((wind_from_deg + 180.0) - normal_deg + 180.0) % 360.0 - 180.0)
    cos_a = math.cos(ang)
    if profile:
        u = wind_at_height(wind_speed_m_s, np.maximum(gz, 1.0), stability) / \
            float(wind_at_height(1.0, speed_ref_height_m, stability))
    else:
        u = np.full(len(gz), float(wind_speed_m_s))
    un = (u * cos_a)[:, None] * np.ones_like(grid)
    dA = ds_m * dz_m
    cell = grid * un * dA * 1e-6
    flux = float(cell.sum())
    below = Z < zlo
    ground = float(cell[below].sum())
    edges = float(np.abs(cell[:, 0]).sum() + np.abs(cell[:, -1]).sum())
    sig_dir = math.radians(direction_sd_deg)
    rel_dir = abs(math.tan(ang)) * sig_dir + 0.5 * sig_dir**2
    exposure = float((un * dA * 1e-6).sum())
    prof = _profile_flux(s, z, e, cos_a=cos_a, speed=(wind_speed_m_s, speed_ref_height_m, stability, profile),
                         noise=noise, puff_length_m=puff_length_m, sigma_z_min_m=sigma_z_min_m)
    if prof is not None:
        flux, ground, prof_sd = prof["flux_g_s"], prof["below_g_s"], prof["sd_g_s"]
    else:  # no transect spans the curtain: the interpolated plane, ground held constant
        prof_sd = math.hypot(0.5 * ground, _sampling_terms(s, z, e, flux=flux, noise=noise,
                                                             puff_length_m=puff_length_m)["vertical"])
    terms = {
        "speed": speed_rel_sd * abs(flux),
        "direction": rel_dir * abs(flux),
        "background": background_sd * abs(exposure),
        "noise": noise * math.sqrt(float(((un * dA * 1e-6) ** 2).sum())),
        "edges": edges,
        "profile": prof_sd,
    }
    sd = math.sqrt(sum(v * v for v in terms.values()))
    return {"flux_g_s": flux, "flux_sd_g_s": sd, "terms": terms, "ground_fraction": ground / flux if flux else 0.0,
            "edge_fraction": edges / abs(flux) if flux else 0.0, "width_m": float(s1 - s0),
            "z_min_m": float(zlo), "z_max_m": float(zhi), "cos_normal": cos_a,
            "flux_interp_g_s": float(cell.sum()), "method": prof["method"] if prof is not None else "plane",
            "sigma_z_m": prof["sigma_z_m"] if prof is not None else float("nan")}


def _profile_flux(s, z, e, *, cos_a: float, speed: tuple, noise: float, puff_length_m: float,
                  sigma_z_min_m: float | None, snr_min: float = 3.0) -> dict | None:
    """The flux from the per-transect flux densities (see :func:`level_profile`, :func:`vertical_fit`).

    ``resolved`` (fitted σz ≥ the transect spacing and the plume on ≥ 3 transects): the trapezoid
    between transects plus the fitted profile below the lowest and above the highest;
    ``fit`` (a plume thinner than the spacing, or on fewer transects): the fitted Gaussian's
    integral; ``none`` (no transect above ``snr_min`` sd): the trapezoid, held constant to the
    ground. Returns ``flux_g_s``, ``sd_g_s``, ``below_g_s``, ``method``, ``sigma_z_m`` or None
    with fewer than two transects.
    """
    prof = level_profile(s, z, e, noise=noise, puff_length_m=puff_length_m)
    if len(prof) < 2:
        return None
    prof = prof.sort_values("z_m")
    zk = prof["z_m"].to_numpy()
    u10, ref_h, stability, use_profile = speed
    if use_profile:
        uk = wind_at_height(u10, np.maximum(zk, 1.0), stability) / float(wind_at_height(1.0, ref_h, stability))
    else:
        uk = np.full(len(zk), float(u10))
    f = prof["line"].to_numpy() * uk * cos_a * 1e-6
    f_sd = np.hypot(prof["line_sd"].to_numpy() * np.abs(uk * cos_a) * 1e-6, 0.05 * np.abs(f).max())
    spacing = float(np.median(np.diff(zk)))
    wts = np.zeros(len(zk))  # trapezoid weights over [z_1, z_K]
    wts[:-1] += 0.5 * np.diff(zk)
    wts[1:] += 0.5 * np.diff(zk)
    trap = float(wts @ f)
    trap_var = float((wts * f_sd) @ (wts * f_sd))
    snr = prof["line"].to_numpy() / np.maximum(prof["noise_sd"].to_numpy(), 1e-12)
    if snr.max() < snr_min:
        below = float(f[0] * zk[0])
        return {"flux_g_s": trap + below, "sd_g_s": math.sqrt(trap_var + (zk[0] * f_sd[0]) ** 2 + (0.5 * below) ** 2),
                "below_g_s": below, "method": "none", "sigma_z_m": float("nan")}
    smin = sigma_z_min_m if sigma_z_min_m and np.isfinite(sigma_z_min_m) else 0.3 * spacing
    scale = np.abs(uk * cos_a) * 1e-6
    f_noise = np.hypot(prof["noise_sd"].to_numpy() * scale, 0.05 * np.abs(f).max())
    rel = np.sqrt(np.maximum(prof["line_sd"].to_numpy() ** 2 - prof["noise_sd"].to_numpy() ** 2, 0.0)) \
        / np.maximum(np.abs(prof["line"].to_numpy()), 1e-12)
    fit = vertical_fit(zk, f, f_noise, rel_sd=rel, sigma_z_min_m=max(smin, 1.0))
    p, a, a_var = fit["p"], fit["a"], fit["a_var"]
    lo = _reflected_cdf(zk[0], fit["H"], fit["S"])
    out_frac = lo + 1.0 - _reflected_cdf(zk[-1], fit["H"], fit["S"])
    n_on = int((snr > snr_min).sum())
    if fit["sigma_z_m"] >= spacing and n_on >= 3:
        part = a * out_frac
        m = float((p * part).sum())
        v = float((p * (part**2 + a_var * out_frac**2)).sum() - m * m)
        below = float((p * a * lo).sum())
        return {"flux_g_s": trap + m, "sd_g_s": math.sqrt(trap_var + max(v, 0.0)), "below_g_s": below,
                "method": "resolved", "sigma_z_m": fit["sigma_z_m"]}
    return {"flux_g_s": fit["A"], "sd_g_s": fit["A_sd"], "below_g_s": float((p * a * lo).sum()),
            "method": "fit", "sigma_z_m": fit["sigma_z_m"]}


PUFF_REL_SD = 0.7  # relative sd of a plume-crossing's mean under lognormal intermittency (σ_ln ≈ 0.6)


def level_profile(s_m, z_m, e, *, level_m: float = 5.0, bin_m: float = 5.0, cover: float = 0.5,
                  noise: float = 0.0, puff_length_m: float = 25.0) -> pd.DataFrame:
    """Per-transect line integrals of the enhancement ``e`` (µg/m³·m) along the plane.

    Samples are banded by height (``level_m``); a band whose samples cover ≥ ``cover`` of the
    curtain's ``bin_m`` bins is a transect (climbs and transit legs are not). Along a transect
    the enhancement is averaged per bin, empty bins interpolated, and summed over the curtain's
    span (so every transect integrates the same width). The sd (``line_sd``) combines sample
    noise and plume intermittency (:data:`PUFF_REL_SD` over the puffs crossed). Returns one row
    per transect: ``z_m`` (mean height), ``line``, ``line_sd``, ``noise_sd`` (noise only), ``n``.
    """
    s = np.asarray(s_m, float)
    z = np.asarray(z_m, float)
    e = np.asarray(e, float)
    s0 = float(s.min())
    nb = int(math.floor((float(s.max()) - s0) / bin_m)) + 1
    b = np.minimum(np.floor((s - s0) / bin_m).astype(int), nb - 1)
    lv = np.round(z / level_m).astype(int)
    ul, inv = np.unique(lv, return_inverse=True)
    key = inv * nb + b
    cnt = np.bincount(key, minlength=len(ul) * nb).reshape(len(ul), nb)
    tot = np.bincount(key, weights=e, minlength=len(ul) * nb).reshape(len(ul), nb)
    zsum = np.bincount(inv, weights=z, minlength=len(ul))
    full = (cnt > 0).mean(axis=1) >= cover
    centres = np.arange(nb)
    rows = []
    for k in np.flatnonzero(full):  # a handful of transects
        has = cnt[k] > 0
        mean = tot[k, has] / cnt[k, has]
        filled = np.interp(centres, centres[has], mean)
        line = float(filled.sum() * bin_m)
        var_noise = (noise * bin_m) ** 2 * float((1.0 / cnt[k, has]).sum()) * nb / has.sum()
        inside = float((filled > 3 * max(noise, 1e-12)).sum() * bin_m)
        puffs = PUFF_REL_SD / math.sqrt(max(inside / puff_length_m, 1.0)) * abs(line)
        rows.append({"z_m": zsum[k] / cnt[k].sum(), "line": line, "line_sd": math.sqrt(var_noise + puffs**2),
                     "noise_sd": math.sqrt(var_noise), "n": int(cnt[k].sum())})
    return pd.DataFrame(rows, columns=["z_m", "line", "line_sd", "noise_sd", "n"])


def _reflected_gauss(z, h, sz):
    """Ground-reflected Gaussian density in height (1/m): integrates to 1 over z ≥ 0."""
    return (np.exp(-0.5 * ((z - h) / sz) ** 2) + np.exp(-0.5 * ((z + h) / sz) ** 2)) / (math.sqrt(2 * math.pi) * sz)


def _reflected_cdf(z, h, sz):
    """∫₀ᶻ of :func:`_reflected_gauss`."""
    from scipy.special import ndtr

    return (ndtr((z - h) / sz) - ndtr(-h / sz)) + (ndtr((z + h) / sz) - ndtr(h / sz))


def vertical_fit(z_m, f, f_sd, *, sigma_z_min_m: float, sigma_z_max_m: float | None = None,
                 rel_sd=0.0, n_h: int = 121, n_sigma: int = 25) -> dict:
    """Fit ``f(z) = A · g(z; h, σz)`` (ground-reflected Gaussian) to per-transect flux densities.

    ``f`` (g/s per metre of height) at transect heights ``z_m`` with additive sd ``f_sd`` and a
    relative sd ``rel_sd`` (plume intermittency) of the model's value: a transect where the
    model puts no plume cannot have seen one, whatever the intermittency. A grid over the
    centre ``h`` (ground to the top transect) and ``σz`` (log-spaced from
    ``sigma_z_min_m``, the thinnest plume the dispersion at that distance allows, to
    ``sigma_z_max_m``, default the top transect's height); ``A`` (the flux, g/s, integrated from the ground to infinity) is solved
    by weighted least squares (≥ 0) at each node, and the nodes are weighted by their
    likelihood ``exp(−χ²/2)``. A plume seen on one transect is thus still integrable, and the
    spread of ``A`` over the plausible centres between transects is its uncertainty.
    Returns ``A``, ``A_sd``, ``sigma_z_m``, ``h_m``, and the nodes (for the parts of the
    profile outside the transects).
    """
    z = np.asarray(z_m, float)
    f = np.asarray(f, float)
    var0 = np.maximum(np.asarray(f_sd, float), 1e-12) ** 2
    rel = np.broadcast_to(np.asarray(rel_sd, float), f.shape)
    w = 1.0 / (var0 + (rel * f) ** 2)
    ztop = float(z.max())
    smax = max(sigma_z_max_m or ztop, 1.01 * sigma_z_min_m)
    H, S = np.meshgrid(np.linspace(0.0, ztop, n_h), np.geomspace(sigma_z_min_m, smax, n_sigma))
    H, S = H.ravel(), S.ravel()
    g = _reflected_gauss(z[None, :], H[:, None], S[:, None])
    gg = (w * g * g).sum(1)
    a = np.clip((w * g * f).sum(1) / np.maximum(gg, 1e-300), 0.0, None)
    var = var0 + (rel * a[:, None] * g) ** 2
    chi2 = ((f - a[:, None] * g) ** 2 / var).sum(1) + np.log(var).sum(1)
    p = np.exp(-0.5 * (chi2 - chi2.min()))
    p /= p.sum()
    a_var = 1.0 / np.maximum(gg, 1e-300)
    mean = float((p * a).sum())
    var = float((p * (a * a + a_var)).sum() - mean**2)
    return {"A": mean, "A_sd": math.sqrt(max(var, 0.0)), "h_m": float((p * H).sum()),
            "sigma_z_m": float((p * S).sum()), "p": p, "a": a, "a_var": a_var, "H": H, "S": S,
            "chi2_min": float(chi2.min())}


def _sampling_terms(s: np.ndarray, z: np.ndarray, e: np.ndarray, *, flux: float, noise: float,
                    puff_length_m: float, level_m: float = 5.0) -> dict[str, float]:
    """Uncertainty (g/s) from what the transects could not resolve.

    ``puffs``: the plume is intermittent; each ``puff_length_m`` of plume crossed is one
    independent draw of relative sd ``PUFF_REL_SD``, so the flux carries
    ``PUFF_REL_SD / √N`` over the N puffs crossed (samples above 3 noise sd).
    ``vertical``: a plume met on one transect only is thinner than the level spacing, and
    the interpolation between levels can miss most of it: ``2 × (share − 0.25)`` of the
    flux, ``share`` being the largest share of the positive line integrals on one level.
    """
    ds = np.median(np.abs(np.diff(s))) if len(s) > 1 else 0.0
    ds = ds if np.isfinite(ds) and ds > 0 else 1.0
    inside = e > 3 * max(noise, 1e-12)
    n_puffs = max(inside.sum() * ds / puff_length_m, 1.0)
    lv = np.round(z / level_m).astype(int)
    _, inv = np.unique(lv, return_inverse=True)
    line = np.bincount(inv, weights=np.clip(e, 0, None)) / np.maximum(np.bincount(inv), 1)
    share = float(line.max() / line.sum()) if line.sum() > 0 else 0.0
    return {"puffs": PUFF_REL_SD / math.sqrt(n_puffs) * abs(flux),
            "vertical": 2.0 * max(share - 0.25, 0.0) * abs(flux)}


def curtain_background(c: np.ndarray, *, k_sigma: float = 3.0, iterations: int = 5) -> tuple[float, float]:
    """Background and noise (1 σ) of a curtain: median and 1.4826 × MAD of the samples outside
    the plume, the plume being what exceeds background + ``k_sigma`` × noise (iterated)."""
    c = np.asarray(c, float)
    c = c[np.isfinite(c)]
    mask = np.ones(len(c), bool)
    bg = float(np.median(c))
    noise = 0.0
    for _ in range(iterations):
        bg = float(np.median(c[mask]))
        noise = float(1.4826 * np.median(np.abs(c[mask] - bg)))
        new = c <= bg + k_sigma * max(noise, 1e-12)
        if new.sum() < 5 or np.array_equal(new, mask):
            break
        mask = new
    return bg, noise


SIGMA_Z_MIN_SHARE = 0.7  # the thinnest plume allowed on a curtain: this share of σz at the target's distance
MIN_CURTAIN_AGL_M = 2.0  # drone samples below this are on the ground, not on a curtain


def flux_table(samples: pd.DataFrame, area=None, *, species: str = "tvoc_ugm3", wind: Wind | None = None,
               crs=None, plan: dict | None = None, min_samples: int = 50, min_height_m: float = 15.0,
               max_target_m: float = 3000.0) -> pd.DataFrame:
    """Curtain fluxes of every drone sortie (samples whose ``platform_kind`` is ``drone``).

    Each sortie (``mission_id``) is split into spatially connected clusters; a cluster that is
    a vertical plane (trimmed line fit) spanning ≥ ``min_height_m`` with ≥ ``min_samples``
    samples is a curtain. Its flux is credited (``target_id``) only to a firm whose plume fits
    the curtain (:mod:`.curtain_credit`): the curtain's target in ``plan`` (a plan.json dict),
    else the registered candidate whose predicted plume crosses the plane within the flown span
    and best explains the measured plume (centre on its axis, crosswind width matching σy at its
    distance); otherwise ``target_id`` is empty. ``credit_reason`` says which and why,
    ``target_capture`` is the share of the firm's predicted plume crossing the flown span. Wind:
    measured on the curtain when the samples carry it (then at the mean sample height), else
    ``wind``, else the area default. ``target_match`` (0–1) says how well the target explains
    the plume on the curtain relative to the best registered candidate (``best_candidate_id``):
    a low match means the flux probably comes from farther upwind. Returns the ``flux.csv`` table.
    """
    require_columns(samples, [species])
    from ._evidence_util import default_wind

    d = _curtain_samples(samples, species)
    if len(d) == 0:
        return pd.DataFrame(columns=FLUX_COLUMNS)
    x, y, crs = metric_xy(d, crs)
    z = receptor_agl_m(d)
    missions = d["mission_id"].astype(str).to_numpy() if "mission_id" in d.columns else np.full(len(d), "S")
    groups = _curtain_groups(x, y, pd.factorize(missions)[0])
    w0 = default_wind(area, wind)
    plan_rows = plan_curtain_targets(plan, crs)
    ent = getattr(area, "enterprises", None)
    reg = None
    if ent is not None and len(ent):
        ex, ey = lonlat_to_xy(ent.geometry.x.to_numpy(), ent.geometry.y.to_numpy(), crs)
        from .attribution import candidate_sources

        reg = (ent, ex, ey, candidate_sources(area, crs=crs))
    curtains = []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        if len(idx) < min_samples or np.ptp(z[idx]) < min_height_m:
            continue
        wd = d["wind_from_deg"].to_numpy(float)[idx] if "wind_from_deg" in d.columns else np.full(len(idx), np.nan)
        g_from = circular_mean_deg(wd[np.isfinite(wd)]) if np.isfinite(wd).mean() > 0.5 else \
            (w0.from_deg if w0 is not None else None)
        curtains += [(g, plane, cur) for plane, cur in split_curtains(
            x[idx], y[idx], z[idx], wind_from_deg=g_from, min_samples=min_samples, min_height_m=min_height_m)]
    rows = []
    for g, plane, cur in curtains:
        idx = np.flatnonzero(groups == g)[cur]
        rows.append(_curtain_row(d, idx, x, y, z, plane, missions[idx[0]], species=species, wind=wind, w0=w0,
                                 crs=crs, plan_rows=plan_rows, reg=reg, max_target_m=max_target_m))
    out = pd.DataFrame(rows, columns=FLUX_COLUMNS)
    log.info("flux: %d drone samples → %d curtains%s, %d credited to a firm (%s)", len(d), len(out),
             "" if out.empty else f", total {out['flux_g_s'].sum():.3g} g/s",
             int((out["target_id"] != "").sum()) if len(out) else 0, CREDIT_RULE.describe())
    return out


def _curtain_samples(samples: pd.DataFrame, species: str) -> pd.DataFrame:
    """The drone samples with a value of ``species``, off the ground.

    A drone on the ground (before take-off, after landing) is no part of a curtain: its samples
    would pin the plane's bottom edge at the launch point, far from the plume.
    """
    from .aggregate import is_drone

    d = samples[is_drone(samples)]
    d = d[np.isfinite(d[species].to_numpy(float))]
    if "alt_agl_m" in d.columns:
        d = d[~(pd.to_numeric(d["alt_agl_m"], errors="coerce").to_numpy(float) < MIN_CURTAIN_AGL_M)]
    return d


def _curtain_wind(d: pd.DataFrame, idx: np.ndarray, z: np.ndarray, wind: Wind | None, w0: Wind | None):
    """``(from_deg, speed_m_s, reference height m, measured, stability)`` of one curtain.

    Measured on the curtain where most of its samples carry a wind (at their mean height), else
    the given or area default wind at 10 m; the stability from ``wind``, else the default, else D.
    """
    wd = d["wind_from_deg"].to_numpy(float)[idx] if "wind_from_deg" in d.columns else np.full(len(idx), np.nan)
    wsp = d["wind_speed_m_s"].to_numpy(float)[idx] if "wind_speed_m_s" in d.columns else np.full(len(idx), np.nan)
    measured = np.isfinite(wd).mean() > 0.5 and np.isfinite(wsp).mean() > 0.5
    if measured:
        from_deg, speed, ref_h = circular_mean_deg(wd[np.isfinite(wd)]), float(np.nanmean(wsp)), \
            float(np.nanmean(z[idx]))
    elif w0 is not None:
        from_deg, speed, ref_h = w0.from_deg, w0.speed_m_s, 10.0
    else:
        raise InputError("curtain flux needs a wind: the samples carry none and no `--wind` was given")
    stability = (wind.stability if wind is not None and wind.stability else None) or \
        (w0.stability if w0 is not None and w0.stability else "D")
    return from_deg, speed, ref_h, measured, stability


def _curtain_row(d: pd.DataFrame, idx: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, plane: Plane,
                 sortie: str, *, species: str, wind: Wind | None, w0: Wind | None, crs, plan_rows: dict, reg,
                 max_target_m: float) -> dict:
    """The ``flux.csv`` row of one curtain (samples ``idx`` of ``d`` on ``plane``): wind, credit, flux, notes."""
    from ecopatrol.core.crs import xy_to_lonlat

    from_deg, speed, ref_h, measured, stability = _curtain_wind(d, idx, z, wind, w0)
    plane = plane.oriented(from_deg)
    c = d[species].to_numpy(float)[idx]
    bg, noise = curtain_background(c)
    resid = c - bg
    s_m, _ = plane.coords(x[idx], y[idx])
    normal_deg = math.degrees(math.atan2(plane.normal[0], plane.normal[1])) % 360.0
    wpos = np.where(resid > 3 * noise, resid, 0.0)
    if wpos.sum() > 0:
        cxm, cym = float(np.average(x[idx], weights=wpos)), float(np.average(y[idx], weights=wpos))
    else:
        cxm, cym = plane.x0_m, plane.y0_m
    plan_id = plan_target_of(plan_rows.get(str(sortie), []), plane, (float(s_m.min()), float(s_m.max())))
    cr = _curtain_credit(reg, plane, s_m, wpos, (cxm, cym), float(np.nanmax(z[idx])), plan_id, from_deg=from_deg,
                         speed=speed, stability=stability, max_target_m=max_target_m)
    fit_dist = cr["fit_dist"]
    res = curtain_flux(s_m, z[idx], resid, wind_from_deg=from_deg, wind_speed_m_s=speed,
                       normal_deg=normal_deg, stability=stability, speed_ref_height_m=ref_h, noise=noise,
                       background_sd=noise / math.sqrt(max(len(idx) / 10, 1)),
                       speed_rel_sd=0.10 if measured else 0.15,
                       sigma_z_min_m=SIGMA_Z_MIN_SHARE * float(sigmas(fit_dist, stability)[1])
                       if fit_dist > 0 else None)
    clon, clat = xy_to_lonlat(plane.x0_m, plane.y0_m, crs)
    return {"sortie_id": sortie, "target_id": cr["target"], "species": species, "flux_g_s": res["flux_g_s"],
            "flux_sd_g_s": res["flux_sd_g_s"], "n_samples": len(idx),
            "n_levels": int(len(np.unique(np.round(z[idx] / 2.5)))), "z_min_m": res["z_min_m"],
            "z_max_m": res["z_max_m"], "width_m": res["width_m"], "distance_to_target_m": cr["dist"],
            "wind_from_deg": from_deg, "wind_speed_m_s": speed, "wind_normal_deg": normal_deg,
            "background": bg, "ground_fraction": res["ground_fraction"],
            "edge_fraction": res["edge_fraction"], "target_match": cr["match"], "best_candidate_id": cr["best_id"],
            "target_capture": cr["capture"], "credit_reason": cr["reason"], "lon": float(clon), "lat": float(clat),
            "note": "; ".join(_curtain_notes(res, cr))}


def _curtain_notes(res: dict, cr: dict) -> list[str]:
    """What a reader of one curtain's flux should know: an open plume, extrapolation, a grazing wind, a misfit."""
    note = []
    if res["edge_fraction"] > 0.1:
        note.append(f"plume not closed at the edges ({100 * res['edge_fraction']:.0f} % of the flux in the edge columns)")
    if res["ground_fraction"] > 0.3:
        note.append(f"{100 * res['ground_fraction']:.0f} % of the flux extrapolated below the lowest pass")
    if abs(res["cos_normal"]) < 0.5:
        note.append("wind nearly parallel to the curtain")
    target, match, best_id = cr["target"], cr["match"], cr["best_id"]
    if target and np.isfinite(match) and match < 0.5 and best_id and best_id != target:
        nearer = np.isfinite(cr["fit_dist"]) and np.isfinite(cr["dist"]) and cr["best_xd"] < cr["dist"]
        note.append(f"the plume crossing the curtain fits {best_id} better than the target "
                    f"(match {match:.2f}): the flux may come from "
                    + ("a source nearer the curtain" if nearer else "farther upwind"))
    return note
