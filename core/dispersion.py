"""Gaussian plume dispersion shared by the planners, the simulator and attribution.

Coordinates are metres in a local metric CRS; concentrations are µg/m³; emission
rates g/s; wind speeds m/s. ``x`` is the downwind distance, ``y`` the crosswind offset
and ``z`` the receptor height above ground.

Dispersion coefficients: Briggs (1973) rural and urban formulae, and the
Pasquill–Gifford curves in Turner's power-law form as tabulated for US EPA ISC3.
Plume rise: Briggs (1969, 1975) final and transitional rise, buoyancy or momentum
dominated, for neutral/unstable and stable conditions.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from .errors import InputError
from .weather import STABILITY_CLASSES, wind_at_height

SigmaScheme = Literal["briggs_rural", "briggs_urban", "pasquill_gifford"]
G_M_S2 = 9.80665
MIN_WIND_M_S = 0.5  # below this a Gaussian plume is meaningless; speeds are floored

# Briggs (1973) rural: (a_y, a_z, b_z, kind_z); σy = a_y x (1 + 1e-4 x)^-0.5
_BRIGGS_RURAL_Y = {"A": 0.22, "B": 0.16, "C": 0.11, "D": 0.08, "E": 0.06, "F": 0.04}
_BRIGGS_URBAN_Y = {"A": 0.32, "B": 0.32, "C": 0.22, "D": 0.16, "E": 0.11, "F": 0.11}

# Pasquill–Gifford σy: θ = 0.017453293 (c − d ln x_km); σy = 465.11628 x_km tan θ
_PG_Y = {"A": (24.1670, 2.5334), "B": (18.3330, 1.8096), "C": (12.5000, 1.0857),
         "D": (8.3330, 0.72382), "E": (6.2500, 0.54287), "F": (4.1667, 0.36191)}
# Pasquill–Gifford σz = a x_km^b; rows are (upper x_km bound, a, b)
_PG_Z = {
    "A": [(0.10, 122.800, 0.94470), (0.15, 158.080, 1.05420), (0.20, 170.220, 1.09320),
          (0.25, 179.520, 1.12620), (0.30, 217.410, 1.26440), (0.40, 258.890, 1.40940),
          (0.50, 346.750, 1.72830), (3.11, 453.850, 2.11660), (math.inf, math.nan, math.nan)],
    "B": [(0.20, 90.673, 0.93198), (0.40, 98.483, 0.98332), (math.inf, 109.300, 1.09710)],
    "C": [(math.inf, 61.141, 0.91465)],
    "D": [(0.30, 34.459, 0.86974), (1.00, 32.093, 0.81066), (3.00, 32.093, 0.64403),
          (10.0, 33.504, 0.60486), (30.0, 36.650, 0.56589), (math.inf, 44.053, 0.51179)],
    "E": [(0.10, 24.260, 0.83660), (0.30, 23.331, 0.81956), (1.00, 21.628, 0.75660),
          (2.00, 21.628, 0.63077), (4.00, 22.534, 0.57154), (10.0, 24.703, 0.50527),
          (20.0, 26.970, 0.46713), (40.0, 35.420, 0.37615), (math.inf, 47.618, 0.29592)],
    "F": [(0.20, 15.209, 0.81558), (0.70, 14.457, 0.78407), (1.00, 13.953, 0.68465),
          (2.00, 13.953, 0.63227), (3.00, 14.823, 0.54503), (7.00, 16.187, 0.46490),
          (15.0, 17.836, 0.41507), (30.0, 22.651, 0.32681), (60.0, 27.074, 0.27436),
          (math.inf, 34.219, 0.21716)],
}
SIGMA_Z_MAX_M = 5000.0


def _check_class(stability: str) -> str:
    s = str(stability).upper()
    if s not in STABILITY_CLASSES:
        raise InputError(f"stability class {stability!r}: use one of A, B, C, D, E, F")
    return s


def sigmas(x_m, stability: str, *, scheme: SigmaScheme = "briggs_rural"):
    """Horizontal and vertical dispersion coefficients ``(σy, σz)`` in metres at ``x_m``.

    ``x_m`` ≤ 0 (upwind) gives NaN. Vectorised over ``x_m``.
    """
    s = _check_class(stability)
    x = np.asarray(x_m, dtype=float)
    xp = np.where(x > 0, x, np.nan)
    if scheme == "briggs_rural":
        sy = _BRIGGS_RURAL_Y[s] * xp / np.sqrt(1 + 1e-4 * xp)
        sz = {
            "A": lambda v: 0.20 * v,
            "B": lambda v: 0.12 * v,
            "C": lambda v: 0.08 * v / np.sqrt(1 + 2e-4 * v),
            "D": lambda v: 0.06 * v / np.sqrt(1 + 1.5e-3 * v),
            "E": lambda v: 0.03 * v / (1 + 3e-4 * v),
            "F": lambda v: 0.016 * v / (1 + 3e-4 * v),
        }[s](xp)
    elif scheme == "briggs_urban":
        sy = _BRIGGS_URBAN_Y[s] * xp / np.sqrt(1 + 4e-4 * xp)
        sz = {
            "A": lambda v: 0.24 * v * np.sqrt(1 + 1e-3 * v),
            "B": lambda v: 0.24 * v * np.sqrt(1 + 1e-3 * v),
            "C": lambda v: 0.20 * v,
            "D": lambda v: 0.14 * v / np.sqrt(1 + 3e-4 * v),
            "E": lambda v: 0.08 * v / np.sqrt(1 + 1.5e-3 * v),
            "F": lambda v: 0.08 * v / np.sqrt(1 + 1.5e-3 * v),
        }[s](xp)
    elif scheme == "pasquill_gifford":
        xkm = xp / 1000.0
        c, d = _PG_Y[s]
        theta = 0.017453293 * (c - d * np.log(xkm))
        sy = 465.11628 * xkm * np.tan(theta)
        sz = np.full_like(xkm, np.nan)
        lower = 0.0
        for upper, a, b in _PG_Z[s]:
            m = (xkm > lower) & (xkm <= upper)
            if math.isnan(a):
                sz[m] = SIGMA_Z_MAX_M
            else:
                sz[m] = a * xkm[m] ** b
            lower = upper
        sz = np.minimum(sz, SIGMA_Z_MAX_M)
    else:
        raise InputError(f"sigma scheme {scheme!r}: use briggs_rural, briggs_urban or pasquill_gifford")
    if np.ndim(x_m) == 0:
        return float(sy), float(sz)
    return sy, sz


def buoyancy_flux_m4_s3(exit_velocity_m_s, diameter_m, exit_temp_k, ambient_temp_k=293.15):
    """Briggs buoyancy flux F_b = g v d² (Ts − Ta) / (4 Ts), m⁴/s³ (zero if the gas is not warmer)."""
    v = np.asarray(exit_velocity_m_s, float)
    d = np.asarray(diameter_m, float)
    ts = np.asarray(exit_temp_k, float)
    return np.maximum(G_M_S2 * v * d * d * (ts - ambient_temp_k) / (4.0 * ts), 0.0)


def plume_rise_m(
    x_m,
    u_m_s,
    *,
    exit_velocity_m_s,
    diameter_m,
    exit_temp_k,
    stability: str,
    ambient_temp_k: float = 293.15,
):
    """Briggs plume rise (m) at downwind distance ``x_m`` (``np.inf`` for the final rise).

    Buoyancy-dominated rise follows 1.6 F^(1/3) x^(2/3) / u up to the final rise
    (21.425 F^0.75/u for F < 55, 38.71 F^0.6/u otherwise, neutral/unstable; 2.6 (F/(u s))^(1/3)
    stable, s from dθ/dz = 0.020 K/m for E and 0.035 K/m for F). Momentum rise 3 d v / u is
    used when larger (cold jets).
    """
    s = _check_class(stability)
    u = np.maximum(np.asarray(u_m_s, float), MIN_WIND_M_S)
    fb = buoyancy_flux_m4_s3(exit_velocity_m_s, diameter_m, exit_temp_k, ambient_temp_k)
    if s in ("E", "F"):
        dtheta = 0.020 if s == "E" else 0.035
        stab = G_M_S2 / ambient_temp_k * dtheta
        final = 2.6 * np.cbrt(fb / (u * stab))
    else:
        final = np.where(fb < 55.0, 21.425 * fb**0.75 / u, 38.71 * fb**0.6 / u)
    x = np.asarray(x_m, float)
    with np.errstate(invalid="ignore"):
        trans = 1.6 * np.cbrt(fb) * np.maximum(np.where(np.isinf(x), 0.0, x), 0.0) ** (2.0 / 3.0) / u
    # at x = ∞ (or beyond the transition) the rise is the final rise; a cold jet has none
    buoy = np.where(np.isinf(x), final, np.minimum(trans, final))
    momentum = 3.0 * np.asarray(diameter_m, float) * np.asarray(exit_velocity_m_s, float) / u
    rise = np.maximum(buoy, momentum)
    return float(rise) if np.ndim(rise) == 0 else rise


def gaussian_plume(
    q_g_s,
    u_m_s,
    x_m,
    y_m,
    z_m,
    h_eff_m,
    stability: str,
    *,
    scheme: SigmaScheme = "briggs_rural",
    mixing_height_m: float | None = None,
    n_reflections: int = 3,
):
    """Concentration (µg/m³) of a steady Gaussian plume with ground reflection.

    C = Q / (2π u σy σz) · exp(−y²/2σy²) · [exp(−(z−H)²/2σz²) + exp(−(z+H)²/2σz²)]
    (plus image sources at the mixing height when ``mixing_height_m`` is given). Upwind
    receptors (x ≤ 0) get 0. All arguments broadcast.
    """
    u = np.maximum(np.asarray(u_m_s, float), MIN_WIND_M_S)
    x = np.asarray(x_m, float)
    sy, sz = sigmas(x, stability, scheme=scheme)
    sy = np.asarray(sy)
    sz = np.asarray(sz)
    y = np.asarray(y_m, float)
    z = np.asarray(z_m, float)
    h = np.asarray(h_eff_m, float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        lateral = np.exp(-0.5 * (y / sy) ** 2)
        vert = np.exp(-0.5 * ((z - h) / sz) ** 2) + np.exp(-0.5 * ((z + h) / sz) ** 2)
        if mixing_height_m is not None and mixing_height_m > 0:
            L = float(mixing_height_m)
            for j in range(1, n_reflections + 1):
                for sign in (-1, 1):
                    off = sign * 2 * j * L
                    vert = vert + np.exp(-0.5 * ((z - h + off) / sz) ** 2) + np.exp(-0.5 * ((z + h + off) / sz) ** 2)
        c = np.asarray(q_g_s, float) / (2 * np.pi * u * sy * sz) * lateral * vert * 1e6
    c = np.where((x > 0) & np.isfinite(c), c, 0.0)
    return float(c) if np.ndim(c) == 0 else c


def plume_frame(rx_m, ry_m, src_x_m, src_y_m, wind_from_deg: float):
    """Downwind ``x`` and crosswind ``y`` (m) of receptors relative to sources.

    ``rx_m, ry_m`` have shape (n,), ``src_*`` shape (k,); the results are (n, k).
    """
    t = math.radians(wind_from_deg)
    dx, dy = -math.sin(t), -math.cos(t)  # downwind unit vector (east, north)
    ex = np.asarray(rx_m, float)[:, None] - np.asarray(src_x_m, float)[None, :]
    ey = np.asarray(ry_m, float)[:, None] - np.asarray(src_y_m, float)[None, :]
    x = ex * dx + ey * dy
    y = -ex * dy + ey * dx
    return x, y


def effective_height_m(height_m, u10_m_s, stability: str, *, exit_velocity_m_s=None,
                       diameter_m=None, exit_temp_k=None, x_m=np.inf, urban: bool = False):
    """Stack height plus Briggs rise (wind taken at stack height); sources without exit data get no rise."""
    hs = np.asarray(height_m, float)
    u_s = wind_at_height(u10_m_s, hs, stability, urban=urban)
    if exit_velocity_m_s is None:
        return hs, u_s
    v = np.nan_to_num(np.asarray(exit_velocity_m_s, float), nan=0.0)
    d = np.nan_to_num(np.asarray(diameter_m, float), nan=0.0)
    t = np.nan_to_num(np.asarray(exit_temp_k, float), nan=293.15)
    rise = plume_rise_m(x_m, u_s, exit_velocity_m_s=v, diameter_m=d, exit_temp_k=t, stability=stability)
    return hs + rise, u_s


def unit_concentration_matrix(
    rx_m, ry_m, rz_m, src_x_m, src_y_m, src_h_eff_m, src_u_m_s, wind_from_deg: float,
    stability: str, *, scheme: SigmaScheme = "briggs_rural", mixing_height_m: float | None = None,
):
    """Concentration (µg/m³) at each receptor per 1 g/s from each source: shape (n, k).

    The linear operator behind attribution (non-negative least squares over all samples)
    and behind the simulator's world.
    """
    x, y = plume_frame(rx_m, ry_m, src_x_m, src_y_m, wind_from_deg)
    z = np.asarray(rz_m, float)[:, None]
    return gaussian_plume(1.0, np.asarray(src_u_m_s, float)[None, :], x, y, z,
                          np.asarray(src_h_eff_m, float)[None, :], stability,
                          scheme=scheme, mixing_height_m=mixing_height_m)


def ground_max_distance_m(h_eff_m: float, stability: str, *, scheme: SigmaScheme = "briggs_rural") -> float:
    """Downwind distance (m) of the maximum ground-level centreline concentration."""
    xs = np.geomspace(20, 20000, 600)
    sy, sz = sigmas(xs, stability, scheme=scheme)
    c = np.exp(-0.5 * (h_eff_m / sz) ** 2) / (sy * sz)
    return float(xs[int(np.nanargmax(c))])
