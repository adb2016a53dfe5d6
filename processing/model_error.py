"""Plume-model error in the attribution operator: the mean plume over what the Gaussian model cannot know.

The attribution inverts a steady Gaussian plume (``core.dispersion``) whose every parameter is
uncertain in the field: the wind direction of the plume's minute at the stack's height (the
wind turns with height, and the measured 10 m wind is not the plume's), the dispersion
coefficients (near buildings and over rough ground σ departs from the Briggs curves by a
factor of two or more), and the release height (a stack lower than about 2.5 × its building —
the good-engineering-practice rule of EPA's stack-height guidance — sits in the building's wake:
its plume is pulled down and spread at once). Inverting the nominal plume makes a non-negative
fit fragile: a plume that arrives wider, lower or a few degrees off the nominal axis is
explained by a neighbour whose nominal footprint happens to fit, and the true source is zeroed.

:func:`unit_matrix` returns instead the **expected** concentration per g/s over those
uncertainties (a mixture of Gaussian plumes), which all the fits then use:

- **direction**: the lateral profile convolved with a Gaussian direction error of sd
  ``DIRECTION_SD_DEG`` (σy² + (x·tan σθ)²);
- **σ scale**: σy and σz scaled together by a log-normal factor (sd of ln ``SIGMA_LOG_SD``),
  integrated by three-point Gauss–Hermite quadrature (weights ⅙, ⅔, ⅙): heavier flanks;
- **building wake**: a stack of height h may stand in the wake of a building of unknown
  height; with probability :func:`wake_probability` (½ for stacks up to ``WAKE_FULL_M``,
  falling to 0 at ``WAKE_NONE_M``: 2.5 × the 6–20 m of one- to five-storey industrial halls)
  the release is at ``WAKE_HEIGHT_SHARE`` × h without rise and spread from the start over
  σ0 = ``WAKE_SIGMA0_SHARE`` × h.

None of these constants is fitted to simulated scenarios: they are the uncertainties as the
literature states them (direction ±5–10°, σ within a factor of two, the GEP rule). Set
``ENABLED`` False for the nominal plume (the former operator).
"""

from __future__ import annotations

import math

import numpy as np

from ecopatrol.core.dispersion import MIN_WIND_M_S, SigmaScheme, plume_frame, sigmas, unit_concentration_matrix

ENABLED = False  # evaluated on development seeds 0–6 and not adopted (BENCHMARKS.md, issue 16)
DIRECTION_SD_DEG = 7.0  # sd of the plume's direction about the measured wind's minute mean
SIGMA_LOG_SD = 0.4  # sd of ln(σ / σ_Briggs): a factor 1.5 at one sd, 2 at ~1.7 sd
WAKE_FULL_M = 15.0  # stacks up to this height: wake probability WAKE_PROB_MAX
WAKE_NONE_M = 50.0  # … falling linearly to 0 here (2.5 × a 20 m building)
WAKE_PROB_MAX = 0.5
WAKE_HEIGHT_SHARE = 0.5  # a downwashed release: at this share of the stack height, no rise …
WAKE_SIGMA0_SHARE = 0.3  # … spread at once over σ0 = this share of the stack height
_GH_NODES = np.array([-math.sqrt(3.0), 0.0, math.sqrt(3.0)])
_GH_WEIGHTS = np.array([1.0, 4.0, 1.0]) / 6.0
N_REFLECTIONS = 3


def wake_probability(stack_height_m: np.ndarray) -> np.ndarray:
    """Prior probability that a stack of this height stands in a building's wake (0 … ``WAKE_PROB_MAX``)."""
    h = np.asarray(stack_height_m, float)
    f = np.clip((WAKE_NONE_M - h) / (WAKE_NONE_M - WAKE_FULL_M), 0.0, 1.0)
    return WAKE_PROB_MAX * f


def _vertical(z: np.ndarray, h: np.ndarray, sz: np.ndarray, mixing_height_m: float | None) -> np.ndarray:
    v = np.exp(-0.5 * ((z - h) / sz) ** 2) + np.exp(-0.5 * ((z + h) / sz) ** 2)
    if mixing_height_m is not None and mixing_height_m > 0:
        L = float(mixing_height_m)
        for j in range(1, N_REFLECTIONS + 1):
            for sign in (-1, 1):
                off = sign * 2 * j * L
                v = v + np.exp(-0.5 * ((z - h + off) / sz) ** 2) + np.exp(-0.5 * ((z + h + off) / sz) ** 2)
    return v


def _plume(x, y, z, h, u, sy, sz, mixing_height_m) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        c = 1e6 / (2 * np.pi * u * sy * sz) * np.exp(-0.5 * (y / sy) ** 2) * _vertical(z, h, sz, mixing_height_m)
    return np.where((x > 0) & np.isfinite(c), c, 0.0)


def unit_matrix(rx_m, ry_m, rz_m, src_x_m, src_y_m, stack_height_m, h_eff_m, u_m_s, wind_from_deg: float,
                stability: str, *, scheme: SigmaScheme = "briggs_rural",
                mixing_height_m: float | None = None) -> np.ndarray:
    """Expected concentration (µg/m³) per 1 g/s at each receptor from each source, shape (n, k).

    Receptors ``rx_m, ry_m, rz_m`` (n,), sources ``src_*`` (k,) in the same metric CRS;
    ``stack_height_m`` the physical stack, ``h_eff_m`` with the nominal rise, ``u_m_s`` the wind
    at the stack. The mixture over direction, σ scale and building wake described in the module
    docstring; with ``ENABLED`` False the nominal Gaussian plume.
    """
    if not ENABLED:
        return unit_concentration_matrix(rx_m, ry_m, rz_m, src_x_m, src_y_m, h_eff_m, u_m_s, wind_from_deg,
                                         stability, scheme=scheme, mixing_height_m=mixing_height_m)
    x, y = plume_frame(rx_m, ry_m, src_x_m, src_y_m, wind_from_deg)
    z = np.asarray(rz_m, float)[:, None]
    u = np.maximum(np.asarray(u_m_s, float), MIN_WIND_M_S)[None, :]
    h = np.asarray(h_eff_m, float)[None, :]
    sy0, sz0 = sigmas(x, stability, scheme=scheme)
    hs = np.asarray(stack_height_m, float)
    p_wake = wake_probability(hs)[None, :]
    hw = (WAKE_HEIGHT_SHARE * hs)[None, :]
    s0 = (WAKE_SIGMA0_SHARE * hs)[None, :]
    spread = (np.clip(x, 0, None) * math.tan(math.radians(DIRECTION_SD_DEG))) ** 2
    out = np.zeros(x.shape)
    any_wake = bool((p_wake > 0).any())
    for node, wt in zip(_GH_NODES, _GH_WEIGHTS, strict=True):
        f = math.exp(SIGMA_LOG_SD * node)
        sy = np.sqrt((f * sy0) ** 2 + spread)
        sz = f * sz0
        c = _plume(x, y, z, h, u, sy, sz, mixing_height_m)
        if any_wake:
            cw = _plume(x, y, z, hw, u, np.sqrt(sy**2 + s0**2), np.sqrt(sz**2 + s0**2), mixing_height_m)
            c = (1.0 - p_wake) * c + p_wake * cw
        out += wt * c
    return out
