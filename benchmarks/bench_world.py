"""The independent plume world against its analytic limit and against the analysis's Gaussian plume.

1. Taylor's limit: homogeneous stationary turbulence (U 5 m/s, σv 0.5, σw 0.3 m/s, TL 20 s), an
   elevated release: particle σy, σz and the core-averaged mean concentration against the Gaussian
   with Taylor's σ at 1 and 2 km.
2. Per stability class A–F (10 m wind A 1.5, B 2.5, C 4, D 5, E 3, F 2 m/s; mixing height of the
   simulator's world): σy and σz of the particle model's plume (ground release, 1 m, z0 0.1 m)
   at 100 m / 500 m / 2 km, against ``core.dispersion`` Briggs rural (what attribution inverts) and
   Pasquill–Gifford (the gaussian world); the ground-level concentration on the plume axis per 1 g/s
   for that ground release and for a 25 m stack without rise or wake, as the ratio particle / Briggs.
3. Cost: one particle field (4 000 particles) against one Gaussian evaluation at 10 000 receptors.

Run: ``.venv/bin/python benchmarks/bench_world.py`` (about a minute).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ecopatrol.core.dispersion import gaussian_plume, sigmas
from ecopatrol.core.weather import wind_at_height
from ecopatrol.missions._world import default_mixing_height_m
from ecopatrol.missions.worlds import lagrangian as lg

SPEEDS = {"A": 1.5, "B": 2.5, "C": 4.0, "D": 5.0, "E": 3.0, "F": 2.0}
XS = (100.0, 500.0, 2000.0)


def taylor_check() -> None:
    layer = lg.HomogeneousLayer(5.0, sigma_v=0.5, sigma_w=0.3, tl_s=20.0)
    f = lg.particle_field(layer, lg.Release(400.0), n_particles=4000, rng=np.random.default_rng(7),
                          planes_m=np.geomspace(10.0, 3000.0, 40))
    print("## Taylor's limit (homogeneous turbulence, elevated release, 4 000 particles)\n")
    print("| x (m) | t/TL | σy particles / Taylor | σz particles / Taylor | mean C particles / Gaussian |")
    print("|---|---|---|---|---|")
    for x in (1000.0, 2000.0):
        k = int(np.argmin(np.abs(f.planes_m - x)))
        xk, t = f.planes_m[k], f.planes_m[k] / 5.0
        sy, sz = layer.taylor_sigma(0.5, 20.0, t), layer.taylor_sigma(0.3, 20.0, t)
        ok = np.isfinite(f.cross_y[k])
        a = np.linspace(-0.6, 0.6, 7)
        yy, zz = np.meshgrid(a * sy, a * sz)
        ref = (1e6 / (2 * math.pi * 5.0 * sy * sz) * np.exp(-0.5 * (yy / sy) ** 2 - 0.5 * (zz / sz) ** 2)).mean()
        c = f.unit_concentration(np.full(yy.size, xk), yy.ravel(), 400.0 + zz.ravel()).mean()
        print(f"| {xk:.0f} | {t / 20:.0f} | {np.std(f.cross_y[k][ok]) / sy:.3f} | {np.std(f.cross_z[k][ok]) / sz:.3f} "
              f"| {c / ref:.3f} |")


def _axis_ground(f: lg.ParticleField, x: float) -> float:
    """Ground-level (1.5 m) concentration per 1 g/s on the plume axis (the crosswind maximum) at x."""
    m, sy, _ = f.moments(x)
    ys = m + np.linspace(-1.0, 1.0, 21) * max(sy, 1.0)
    return float(f.unit_concentration(np.full(ys.size, x), ys, np.full(ys.size, 1.5)).max())


def by_class() -> None:
    print("\n## Particle world vs core.dispersion, per stability class\n")
    print("σ in m: particles / Briggs rural / Pasquill–Gifford (ground release). C: ground-level concentration on "
          "the plume axis per 1 g/s, ratio particles / Briggs rural, for the ground release and a 25 m stack "
          "(no rise, no wake).\n")
    print("| class | u10 | x (m) | σy | σz | C ground release: particles / Briggs | C 25 m stack: particles / Briggs |")
    print("|---|---|---|---|---|---|---|")
    for s, u in SPEEDS.items():
        layer = lg.SurfaceLayer(u, s, default_mixing_height_m(s))
        g = lg.particle_field(layer, lg.Release(1.0), rng=np.random.default_rng(1))
        st = lg.particle_field(layer, lg.Release(25.0), rng=np.random.default_rng(2))
        for x in XS:
            _, sy, sz = g.moments(x)
            by, bz = sigmas(x, s)
            py, pz = sigmas(x, s, scheme="pasquill_gifford")
            cg_b = gaussian_plume(1.0, u, x, 0.0, 1.5, 1.0, s)  # the analysis: wind at max(h, 10 m), power law
            u_s = float(wind_at_height(u, 25.0, s))
            cs_b = gaussian_plume(1.0, u_s, x, 0.0, 1.5, 25.0, s)
            cg, cs = _axis_ground(g, x), _axis_ground(st, x)
            rs = f"{cs / cs_b:.2f}" if cs_b > 1e-3 else f"{cs:.2g} vs {cs_b:.1g} µg/m³"
            print(f"| {s} | {u:g} | {x:.0f} | {sy:.0f} / {by:.0f} / {py:.0f} | {sz:.0f} / {bz:.0f} / {pz:.0f} "
                  f"| {cg / cg_b:.2f} | {rs} |")


def cost() -> None:
    layer = lg.SurfaceLayer(4.0, "D", 800.0)
    t = time.perf_counter()
    f = lg.particle_field(layer, lg.Release(25.0), rng=np.random.default_rng(3))
    t_field = time.perf_counter() - t
    rng = np.random.default_rng(4)
    x, y, z = rng.uniform(10, 3000, 10_000), rng.uniform(-300, 300, 10_000), rng.uniform(0, 100, 10_000)
    t = time.perf_counter()
    f.unit_concentration(x, y, z)
    t_look = time.perf_counter() - t
    t = time.perf_counter()
    gaussian_plume(1.0, 4.0, x, y, z, 25.0, "D")
    t_gauss = time.perf_counter() - t
    print(f"\n## Cost\n\none particle field (4 000 particles, {f.n_steps} steps): {t_field:.2f} s; "
          f"10 000 receptors read from it {t_look * 1e3:.1f} ms vs the Gaussian plume {t_gauss * 1e3:.1f} ms "
          f"({t_look / t_gauss:.1f}×)")


def main() -> None:
    taylor_check()
    by_class()
    cost()


if __name__ == "__main__":
    main()
