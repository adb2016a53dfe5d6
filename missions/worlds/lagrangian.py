"""A Lagrangian stochastic particle world: plumes the analysis did not make.

Nothing here comes from :mod:`ecopatrol.core.dispersion` (the Gaussian plume that attribution
inverts): no Briggs or Pasquill–Gifford σ, no Briggs rise, no image sources. Instead:

- **Surface layer** (:class:`SurfaceLayer`): Monin–Obukhov similarity with an Obukhov length per
  stability class (roughness ``Z0_M``), friction velocity from the 10 m wind, a log–linear wind
  profile (Businger–Dyer ψm) that stops at the mixing height, and a wind that turns clockwise
  with height (Ekman-like veer, ``VEER_TOP_DEG`` at the mixing height, linear below).
  Turbulence after Hanna (1982): σu, σv, σw and Lagrangian time scales TL by stability (the
  convective σw of Lenschow et al. 1980), the horizontal TL from the mixing height (horizontal
  eddies are not bounded by the ground), never below ``TLV_MIN_S``.
- **Particles** (:func:`particle_field`): each particle's velocity fluctuations follow
  Ornstein–Uhlenbeck (Langevin) processes, the vertical one with Thomson's (1987) well-mixed
  drift ``½ (1 + w²/σw²) ∂σw²/∂z`` for Gaussian inhomogeneous turbulence; reflection at the ground
  and at the mixing height; the mean wind of the particle's height carries it (veer included).
  Time steps grow with the travel time (fine near the stack, coarse far away).
- **Concentrations** by box counting of plane crossings: each particle's first crossing of
  ``N_PLANES`` planes across the mean wind (10 m … 10 km, geometric) is recorded with weight
  1/u (the time it spends per metre), histogrammed on a grid that follows the plume (its own
  spread at that plane), lightly smoothed; a receptor reads the nearest cell and interpolates
  between planes. Fluxes through a rectangle are the share of crossings inside it.
- **Stacks** (:func:`release_for`, in :mod:`.lagrangian_sources` with the emission patterns): plume rise by Holland's (1953) formula (not Briggs), reached
  over a rise length; a **building wake** when the stack is lower than 2.5 × its building
  (building heights are drawn per source from its id, 6–18 m): the release is lowered, spread
  at once over part of the building, its rise damped and the turbulence enhanced for a few
  building heights downwind.
- **Emission that varies in time** (:func:`emission_patterns`): continuous, duty cycles (period
  10–60 min, on 50–90 %) or batches (2–4 batches of 20–60 min over a low base); the recorded
  rate is the mean over the day, the plume at a receptor carries the rate of the moment the air
  left the stack.

The field of each source is computed once per scenario in the frame of the mean 10 m wind;
the slowly meandering wind of the moment (from :mod:`ecopatrol.missions._world`) rotates it and
scales it by the speed ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .lagrangian_sources import (  # noqa: F401 (re-exported: lagrangian.release_for …)
    BUILDING_MAX_M,
    BUILDING_MIN_M,
    WAKE_RATIO,
    EmissionPattern,
    Release,
    building_height_m,
    emission_patterns,
    holland_rise_m,
    release_for,
)

KARMAN = 0.4
CORIOLIS_F = 8.6e-5  # 1/s, about 36° N
Z0_M = 0.1  # roughness length (the Obukhov lengths below assume 0.1–0.5 m)
Z_FLOOR_M = 1.0  # profiles are evaluated no lower than this
# Obukhov length (m) by Pasquill class for z0 ~ 0.1–0.5 m (Golder 1972, rounded)
OBUKHOV_L_M = {"A": -8.0, "B": -20.0, "C": -70.0, "D": math.inf, "E": 70.0, "F": 20.0}
VEER_TOP_DEG = {"A": 3.0, "B": 5.0, "C": 10.0, "D": 20.0, "E": 30.0, "F": 35.0}
TLV_MIN_S = 100.0
N_PARTICLES = 4000
N_PLANES = 60
PLANE_MIN_M, PLANE_MAX_M = 10.0, 10_000.0
NY, NZ = 40, 32
T_MAX_S = 8000.0


def _psi_m(zeta):
    """Businger–Dyer integrated stability function for momentum."""
    zeta = np.asarray(zeta, float)
    out = np.zeros_like(zeta)
    un = zeta < 0
    x = (1.0 - 16.0 * zeta[un]) ** 0.25
    out[un] = 2 * np.log((1 + x) / 2) + np.log((1 + x * x) / 2) - 2 * np.arctan(x) + math.pi / 2
    st = zeta > 0
    out[st] = -5.0 * np.minimum(zeta[st], 2.0)
    return out


class SurfaceLayer:
    """Mean wind and turbulence of one stability state, as functions of height (m)."""

    def __init__(self, u10_m_s: float, stability: str, mixing_height_m: float, *, z0_m: float = Z0_M,
                 obukhov_m: float | None = None):
        self.stability = str(stability).upper()
        self.u10 = max(float(u10_m_s), 0.5)
        self.h = float(mixing_height_m)
        self.z0 = float(z0_m)
        self.L = OBUKHOV_L_M[self.stability] if obukhov_m is None else float(obukhov_m)
        inv_l = 0.0 if math.isinf(self.L) else 1.0 / self.L
        self.inv_l = inv_l
        self.ustar = KARMAN * self.u10 / (math.log(10.0 / self.z0) - float(_psi_m(np.array([10.0 * inv_l]))[0]))
        self.wstar = self.ustar * (self.h * -inv_l / KARMAN) ** (1 / 3) if inv_l < 0 else 0.0
        self.veer_top = math.radians(VEER_TOP_DEG[self.stability])

    def _z(self, z):
        return np.clip(np.asarray(z, float), Z_FLOOR_M, self.h)

    def speed(self, z):
        z = np.clip(np.asarray(z, float), max(Z_FLOOR_M, 2 * self.z0), self.h)
        return np.maximum(self.ustar / KARMAN * (np.log(z / self.z0) - _psi_m(z * self.inv_l)), 0.3)

    def veer_rad(self, z):
        """Clockwise turn (rad) of the wind at height z from the 10 m wind."""
        return self.veer_top * np.clip((np.asarray(z, float) - 10.0) / (self.h - 10.0), 0.0, 1.0)

    def _decay(self, z):
        if self.inv_l < 0:
            return np.ones_like(z)
        if self.inv_l > 0:
            return np.maximum(1.0 - z / self.h, 0.05)
        return np.exp(-2.0 * CORIOLIS_F * z / self.ustar)

    def sigma_u(self, z):
        z = self._z(z)
        if self.inv_l < 0:
            return np.full_like(z, self.ustar * (12.0 + 0.5 * self.h * -self.inv_l) ** (1 / 3))
        return 2.0 * self.ustar * self._decay(z)

    def sigma_v(self, z):
        z = self._z(z)
        if self.inv_l < 0:
            return np.full_like(z, self.ustar * (12.0 + 0.5 * self.h * -self.inv_l) ** (1 / 3))
        return 1.3 * self.ustar * self._decay(z)

    def sigma_w(self, z):
        z = self._z(z)
        mech = 1.3 * self.ustar * self._decay(z)
        if self.inv_l < 0:
            zh = z / self.h
            conv = 1.8 * self.wstar ** 2 * zh ** (2 / 3) * (1 - 0.8 * zh) ** 2
            return np.sqrt(mech ** 2 * np.maximum(1 - zh, 0.05) ** 1.5 + conv)
        return mech

    def dsw2_dz(self, z):
        z = np.asarray(z, float)
        dz = 0.5
        return (self.sigma_w(z + dz) ** 2 - self.sigma_w(z - dz) ** 2) / (2 * dz) * \
            ((z > Z_FLOOR_M + dz) & (z < self.h - dz))

    def tl_w(self, z):
        z = self._z(z)
        sw = self.sigma_w(z)
        if self.inv_l < 0:
            zh = z / self.h
            return np.where(zh < 0.1, 0.59 * z / sw, 0.15 * self.h / sw * (1 - np.exp(-5 * zh)))
        if self.inv_l > 0:
            return 0.10 * self.h / sw * (z / self.h) ** 0.8
        return 0.5 * z / sw / (1 + 15 * CORIOLIS_F * z / self.ustar)

    def tl_v(self, z):
        z = self._z(z)
        sv = self.sigma_v(z)
        if self.inv_l > 0:
            t = 0.07 * self.h / sv * np.sqrt(z / self.h)
        else:
            t = 0.15 * self.h / sv
        return np.maximum(t, TLV_MIN_S)

    def tl_u(self, z):
        return self.tl_v(z)


class HomogeneousLayer:
    """Homogeneous stationary turbulence and a uniform wind: the check of Taylor's limit."""

    def __init__(self, u_m_s: float, sigma_v: float, sigma_w: float, tl_s: float, *, sigma_u: float = 0.0,
                 mixing_height_m: float = 1e9):
        self.u, self.sv, self.sw, self.su, self.tl, self.h = u_m_s, sigma_v, sigma_w, sigma_u, tl_s, mixing_height_m

    def speed(self, z):
        return np.full(np.shape(z), self.u)

    def veer_rad(self, z):
        return np.zeros(np.shape(z))

    def sigma_u(self, z):
        return np.full(np.shape(z), self.su)

    def sigma_v(self, z):
        return np.full(np.shape(z), self.sv)

    def sigma_w(self, z):
        return np.full(np.shape(z), self.sw)

    def dsw2_dz(self, z):
        return np.zeros(np.shape(z))

    def tl_u(self, z):
        return np.full(np.shape(z), self.tl)

    tl_v = tl_u
    tl_w = tl_u

    @staticmethod
    def taylor_sigma(sigma: float, tl: float, t) -> np.ndarray:
        """Taylor (1921): σ² = 2 σ_v² T_L (t − T_L (1 − e^{−t/T_L}))."""
        t = np.asarray(t, float)
        return np.sqrt(2 * sigma ** 2 * tl * (t - tl * (1 - np.exp(-t / tl))))


@dataclass
class ParticleField:
    """Plane crossings of one source's particles, in the frame of the 10 m wind (x downwind, y left)."""

    planes_m: np.ndarray
    cross_y: np.ndarray  # (n_planes, n) crosswind position at the first crossing (NaN: never)
    cross_z: np.ndarray
    cross_w: np.ndarray  # 1/u at the crossing (s/m)
    n_particles: int
    mixing_height_m: float
    grids: list = field(default_factory=list)  # per plane: (y0, dy, z_edges, conc per 1 g/s in µg/m³)

    def __post_init__(self):
        from scipy.ndimage import gaussian_filter

        self.grids = []
        for k in range(len(self.planes_m)):
            y, z, w = self.cross_y[k], self.cross_z[k], self.cross_w[k]
            ok = np.isfinite(y)
            if ok.sum() < 10:
                self.grids.append(None)
                continue
            y, z, w = y[ok], z[ok], w[ok]
            m = float(np.average(y, weights=w))
            s = float(np.sqrt(np.average((y - m) ** 2, weights=w)))
            half = max(4.0 * s, 2.0)
            sz = float(np.std(z))
            zhi = min(float(np.quantile(z, 0.998)) + 0.5 * sz + 1.0, self.mixing_height_m)
            zlo = max(float(np.quantile(z, 0.002)) - 0.5 * sz, 0.0)
            grounded = zlo < 0.15 * (zhi - zlo)  # the plume touches the ground: the grid starts there
            zlo = 0.0 if grounded else zlo
            ze = np.linspace(zlo, zhi, NZ + 1)
            ye = np.linspace(m - half, m + half, NY + 1)
            hist, _, _ = np.histogram2d(y, z, bins=[ye, ze], weights=w)
            vol = (ye[1] - ye[0]) * np.diff(ze)[None, :]
            c = hist / (self.n_particles * vol) * 1e6  # µg/m³ per g/s
            c = gaussian_filter(c, sigma=(1.0, 0.8), mode=("constant", "reflect" if grounded else "constant"))
            self.grids.append((float(ye[0]), float(ye[1] - ye[0]), ze, c))

    def _at_plane(self, k: int, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        g = self.grids[k]
        if g is None:
            return np.zeros(y.shape)
        y0, dy, ze, c = g
        iy = np.floor((y - y0) / dy).astype(np.int64)
        iz = np.searchsorted(ze, z, side="right") - 1
        ok = (iy >= 0) & (iy < c.shape[0]) & (iz >= 0) & (iz < c.shape[1])
        out = np.zeros(y.shape)
        out[ok] = c[iy[ok], iz[ok]]
        return out

    def unit_concentration(self, x, y, z) -> np.ndarray:
        """Mean concentration (µg/m³) per 1 g/s at plume-frame receptors (x downwind, y left, z agl)."""
        x, y, z = (np.asarray(a, float).ravel() for a in np.broadcast_arrays(x, y, z))
        out = np.zeros(x.shape)
        p = self.planes_m
        lx = np.log(np.clip(x, p[0], p[-1]))
        j = np.clip(np.searchsorted(np.log(p), lx) - 1, 0, len(p) - 2)
        f = (lx - np.log(p[j])) / (np.log(p[j + 1]) - np.log(p[j]))
        zz = np.maximum(z, 0.0)
        for k in np.unique(j):
            m = (j == k) & (x > 0)
            if not m.any():
                continue
            a = self._at_plane(int(k), y[m], zz[m])
            b = self._at_plane(int(k) + 1, y[m], zz[m])
            out[m] = (1 - f[m]) * a + f[m] * b
        far = x > p[-1]
        out[far] *= p[-1] / x[far]
        return out

    def flux_fraction(self, x, y0, y1, z_top) -> np.ndarray:
        """Share of the source's mass flux crossing the rectangle [y0, y1] × [0, z_top] at distance x."""
        x, y0, y1, z_top = (np.asarray(a, float).ravel() for a in np.broadcast_arrays(x, y0, y1, z_top))
        k = np.clip(np.searchsorted(self.planes_m, x), 0, len(self.planes_m) - 1)
        out = np.zeros(x.shape)
        lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
        for kk in np.unique(k):
            m = np.flatnonzero((k == kk) & (x > 0))
            if m.size == 0:
                continue
            cy, cz = self.cross_y[kk], self.cross_z[kk]
            inside = (cy[None, :] >= lo[m, None]) & (cy[None, :] <= hi[m, None]) & (cz[None, :] <= z_top[m, None])
            out[m] = inside.sum(axis=1) / self.n_particles
        return out

    def moments(self, x: float) -> tuple[float, float, float]:
        """Crosswind mean, σy and √(mean z²) of the crossings (weighted by 1/u) at the plane nearest x."""
        k = int(np.argmin(np.abs(np.log(self.planes_m) - math.log(x))))
        y, z, w = self.cross_y[k], self.cross_z[k], self.cross_w[k]
        ok = np.isfinite(y)
        y, z, w = y[ok], z[ok], w[ok]
        m = float(np.average(y, weights=w))
        return m, float(np.sqrt(np.average((y - m) ** 2, weights=w))), float(np.sqrt(np.average(z ** 2, weights=w)))


def particle_field(layer, release: Release, *, n_particles: int = N_PARTICLES, rng: np.random.Generator,
                   planes_m: np.ndarray | None = None, t_max_s: float = T_MAX_S) -> ParticleField:
    """Release ``n_particles`` from ``release`` into ``layer`` and record their plane crossings."""
    planes = np.geomspace(PLANE_MIN_M, PLANE_MAX_M, N_PLANES) if planes_m is None else np.asarray(planes_m, float)
    n = int(n_particles)
    h = float(layer.h)
    x, y, z, u, v, w = _released_particles(layer, release, n, rng)
    t = np.zeros(n)
    reached = np.zeros(n, np.int64)  # planes already crossed
    crossings = tuple(np.full((len(planes), n), np.nan) for _ in range(3))  # y, z, 1/u at each first crossing
    alive = np.ones(n, bool)
    u_rel = float(np.asarray(layer.speed(np.array([max(release.height_m, 1.0)])))[0])
    t_rise = max(release.rise_length_m, 1.0) / max(u_rel, 0.5)
    w_rise0 = release.rise_m / t_rise
    n_steps = 0
    n_lev = 1024
    tab = _profile_table(layer, h, n_lev)
    for n_steps in range(20000):  # noqa: B007
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        xi, yi, zi, ti = x[idx], y[idx], z[idx], t[idx]
        lev = np.minimum((np.sqrt(zi / h) * n_lev + 0.5).astype(np.int64), n_lev)
        (xn, yn, zn), (ui, vi, wi), ux, U, dt = _langevin_step(
            tab[:, lev], release, (xi, yi, zi, ti), (u[idx], v[idx], w[idx]), h=h, t_rise=t_rise,
            w_rise0=w_rise0, rng=rng)
        _record_crossings(planes, reached, idx, (xi, yi, zi), (xn, yn, zn), ux, U, crossings)
        x[idx], y[idx], z[idx], t[idx] = xn, yn, zn, ti + dt
        w[idx], v[idx], u[idx] = wi, vi, ui
        alive[idx] = (xn < planes[-1]) & (ti + dt < t_max_s)
    pf = ParticleField(planes, *crossings, n, h)
    pf.n_steps = n_steps
    return pf


def _released_particles(layer, release: Release, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """``(x, y, z, u, v, w)`` of ``n`` particles at the stack: spread over the release's σ, reflected
    into the mixed layer, with velocity fluctuations of the turbulence at their height."""
    h = float(layer.h)
    x = np.zeros(n)
    y = release.sigma_y0_m * rng.standard_normal(n)
    z = np.abs(release.height_m + release.sigma_z0_m * rng.standard_normal(n))
    z = np.where(z > h, 2 * h - z, z)
    u = layer.sigma_u(z) * rng.standard_normal(n)
    v = layer.sigma_v(z) * rng.standard_normal(n)
    w = layer.sigma_w(z) * rng.standard_normal(n)
    return x, y, z, u, v, w


def _profile_table(layer, h: float, n_lev: int) -> np.ndarray:
    """The layer's profiles tabulated on ``n_lev + 1`` levels uniform in √z (fine near the ground), read
    by nearest level: speed, veer, σu, σv, σw, ∂σw²/∂z, TLu, TLv, TLw (rows)."""
    z_lev = h * (np.arange(n_lev + 1) / n_lev) ** 2
    return np.stack([layer.speed(z_lev), layer.veer_rad(z_lev), layer.sigma_u(z_lev), layer.sigma_v(z_lev),
                     layer.sigma_w(z_lev), layer.dsw2_dz(z_lev), layer.tl_u(z_lev), layer.tl_v(z_lev),
                     layer.tl_w(z_lev)])


def _langevin_step(profiles: np.ndarray, release: Release, pos: tuple, vel: tuple, *, h: float, t_rise: float,
                   w_rise0: float, rng: np.random.Generator):
    """One time step of the live particles at ``pos = (x, y, z, t)`` with fluctuations ``vel = (u, v, w)``.

    ``profiles`` are the tabulated profiles at each particle's level. The fluctuations follow
    Ornstein–Uhlenbeck processes (the vertical one with Thomson's well-mixed drift), enhanced in the
    building wake; the mean wind of the height and the plume rise carry the particle; it is reflected
    at the ground and at the mixing height. Returns ``((x, y, z), (u, v, w), ux, U, dt)``: the new
    positions and fluctuations, the downwind speed, the mean wind speed and the step.
    """
    xi, yi, zi, ti = pos
    U, vr, su0, sv0, sw0, dsw2, tlu, tlv, tlw = profiles
    n = xi.size
    dt = np.maximum.reduce([0.2 * tlw, 0.02 * ti, np.full(n, 0.05)])
    dt = np.minimum.reduce([dt, 0.1 * (xi + 20.0) / U, np.full(n, 20.0)])
    wake = 1.0 + release.wake_factor * np.exp(-np.maximum(xi, 0.0) / release.wake_length_m)
    sw, sv, su = sw0 * wake, sv0 * wake, su0 * wake
    a_w, a_v, a_u = np.exp(-dt / tlw), np.exp(-dt / tlv), np.exp(-dt / tlu)
    wi = vel[2]
    drift = 0.5 * (1.0 + wi * wi / np.maximum(sw * sw, 1e-6)) * dsw2 * wake * wake
    drift = np.clip(drift * dt, -sw, sw)
    wi = a_w * wi + drift + sw * np.sqrt(1 - a_w * a_w) * rng.standard_normal(n)
    vi = a_v * vel[1] + sv * np.sqrt(1 - a_v * a_v) * rng.standard_normal(n)
    ui = a_u * vel[0] + su * np.sqrt(1 - a_u * a_u) * rng.standard_normal(n)
    ux = np.maximum(U * np.cos(vr) + ui, 0.05 * U)
    vy = -U * np.sin(vr) + vi
    w_r = w_rise0 * np.exp(-ti / t_rise) if w_rise0 > 0 else 0.0
    xn = xi + ux * dt
    yn = yi + vy * dt
    zn = zi + (wi + w_r) * dt
    neg = zn < 0
    zn = np.where(neg, -zn, zn)
    wi = np.where(neg, -wi, wi)
    top = zn > h
    zn = np.where(top, 2 * h - zn, zn)
    wi = np.where(top, -wi, wi)
    return (xn, yn, zn), (ui, vi, wi), ux, U, dt


def _record_crossings(planes: np.ndarray, reached: np.ndarray, idx: np.ndarray, old: tuple, new: tuple,
                      ux: np.ndarray, U: np.ndarray, crossings: tuple) -> None:
    """Record the planes crossed during a step (old → new positions of particles ``idx``) at their first
    crossing, by linear interpolation: y, |z| and the weight 1/u into ``crossings`` (in place); updates
    ``reached``."""
    xi, yi, zi = old
    xn, yn, zn = new
    cy, cz, cw = crossings
    k_new = np.searchsorted(planes, xn, side="right")
    k_old = reached[idx]
    cross = np.flatnonzero(k_new > k_old)
    if not cross.size:
        return
    k0 = k_old[cross]
    span = k_new[cross] - k0
    inv_u = 1.0 / np.maximum(ux[cross], 0.3 * U[cross])
    dxs = np.maximum(xn[cross] - xi[cross], 1e-9)
    pid = idx[cross]
    for s in range(int(span.max())):  # almost always one plane per step
        sel = np.flatnonzero(span > s)
        kk = k0[sel] + s
        c = cross[sel]
        fr = (planes[kk] - xi[c]) / dxs[sel]
        cy[kk, pid[sel]] = yi[c] + fr * (yn[c] - yi[c])
        cz[kk, pid[sel]] = np.abs(zi[c] + fr * (zn[c] - zi[c]))
        cw[kk, pid[sel]] = inv_u[sel]
    reached[pid] = k_new[cross]


class LagrangianPlumes:
    """The plume part of a simulated world, made of particle fields (one per emitter)."""

    def __init__(self, emitters, *, u10_m_s: float, stability: str, mixing_height_m: float, seed: int,
                 t0_s: float, t1_s: float, n_particles: int = N_PARTICLES):
        import zlib as _z

        self.layer = SurfaceLayer(u10_m_s, stability, mixing_height_m)
        self.u10 = float(u10_m_s)
        self.fields: list[ParticleField] = []
        self.releases: list[Release] = []
        self.buildings: list[float] = []
        for r in emitters.itertuples(index=False):
            hb = building_height_m(r.source_id)
            rel = release_for(self.layer, r.height_m, hb, exit_velocity_m_s=r.exit_velocity_m_s,
                              diameter_m=r.diameter_m, exit_temp_k=r.exit_temp_k)
            rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, _z.crc32(f"particles-{r.source_id}".encode())])
            self.fields.append(particle_field(self.layer, rel, n_particles=n_particles, rng=rng))
            self.releases.append(rel)
            self.buildings.append(hb)
        prng = np.random.default_rng([int(seed) & 0xFFFFFFFF, _z.crc32(b"emission-patterns")])
        self.patterns = emission_patterns(len(self.fields), t0_s, t1_s, prng)
        self.u_release = np.array([float(self.layer.speed(np.array([max(rel.height_m + rel.rise_m, 2.0)]))[0])
                                   for rel in self.releases])

    def wind_profile(self, z_agl_m) -> tuple[np.ndarray, np.ndarray]:
        """Speed relative to the 10 m wind and clockwise turn (deg) at heights ``z_agl_m``."""
        z = np.asarray(z_agl_m, float)
        return self.layer.speed(z) / self.layer.speed(np.array([10.0]))[0], np.degrees(self.layer.veer_rad(z))

    def unit_plumes(self, t_s, xd, yc, z, ws) -> np.ndarray:
        """(n, k) concentration per 1 g/s mean rate, at plume-frame receptors, with the rate of the moment."""
        n, k = np.shape(xd)
        out = np.zeros((n, k))
        for j, f in enumerate(self.fields):
            c = f.unit_concentration(xd[:, j], yc[:, j], z)
            travel = np.maximum(xd[:, j], 0.0) / self.u_release[j]
            out[:, j] = c * self.patterns[j].factor(np.asarray(t_s, float) - travel) * (self.u10 / np.maximum(ws, 0.5))
        return out

    def describe(self) -> dict:
        lay = self.layer
        return {"model": "lagrangian", "obukhov_length_m": None if math.isinf(lay.L) else lay.L,
                "friction_velocity_m_s": round(lay.ustar, 4), "convective_velocity_m_s": round(lay.wstar, 4),
                "roughness_m": lay.z0, "veer_at_mixing_height_deg": round(math.degrees(lay.veer_top), 1),
                "n_particles": int(self.fields[0].n_particles) if self.fields else N_PARTICLES}

    def emitter_facts(self, j: int) -> dict:
        rel = self.releases[j]
        return {"building_height_m": round(self.buildings[j], 2), "in_building_wake": rel.wake_factor > 0,
                "release_height_m": round(rel.height_m, 2), "rise_m": round(rel.rise_m, 2),
                "emission_pattern": self.patterns[j].to_dict()}
