"""The sources of the Lagrangian world: stack releases (Holland rise, building wake) and emission patterns.

Used by :mod:`ecopatrol.missions.worlds.lagrangian` (and re-exported there): a stack becomes a
:class:`Release` (where and how its particles leave it), its building height is fixed per
source id, and its rate varies in time by an :class:`EmissionPattern` normalised to mean 1.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .lagrangian import SurfaceLayer

WAKE_RATIO = 2.5  # stacks lower than this × their building are in its wake
BUILDING_MIN_M, BUILDING_MAX_M = 6.0, 18.0


@dataclass
class Release:
    """Where and how the particles leave a stack."""

    height_m: float
    sigma_y0_m: float = 0.0
    sigma_z0_m: float = 0.0
    rise_m: float = 0.0
    rise_length_m: float = 50.0
    wake_factor: float = 0.0  # extra turbulence fraction right behind the building
    wake_length_m: float = 1.0


def building_height_m(source_id: str) -> float:
    """The height of the building a stack stands on or beside, fixed per source id (6–18 m)."""
    r = zlib.crc32(("building:" + str(source_id)).encode("utf-8")) / 0xFFFFFFFF
    return BUILDING_MIN_M + (BUILDING_MAX_M - BUILDING_MIN_M) * r


def holland_rise_m(exit_velocity_m_s, diameter_m, exit_temp_k, u_m_s, *, stability: str,
                   ambient_temp_k: float = 293.15, pressure_hpa: float = 1013.25) -> float:
    """Holland (1953): Δh = v d / u · (1.5 + 2.68e-3 p (Ts − Ta)/Ts · d), × 1.15 unstable, × 0.85 stable."""
    v, d, ts = float(exit_velocity_m_s or 0.0), float(diameter_m or 0.0), float(exit_temp_k or ambient_temp_k)
    if not (math.isfinite(v) and math.isfinite(d) and math.isfinite(ts)) or v <= 0 or d <= 0:
        return 0.0
    dh = v * d / max(float(u_m_s), 0.5) * (1.5 + 2.68e-3 * pressure_hpa * max(ts - ambient_temp_k, 0.0) / ts * d)
    return dh * {"A": 1.15, "B": 1.15, "C": 1.05, "D": 1.0, "E": 0.85, "F": 0.85}[stability]


def release_for(layer: SurfaceLayer, height_m: float, building_m: float, *, exit_velocity_m_s=0.0,
                diameter_m=0.0, exit_temp_k=293.15) -> Release:
    """The release of a stack: Holland rise and, below 2.5 × its building, the building wake."""
    hs = max(float(height_m), 1.0)
    u_s = float(layer.speed(np.array([hs]))[0])
    rise = holland_rise_m(exit_velocity_m_s, diameter_m, exit_temp_k, u_s, stability=layer.stability)
    deficit = float(np.clip((WAKE_RATIO * building_m - hs) / (1.5 * building_m), 0.0, 1.0))
    if deficit <= 0:
        return Release(hs, rise_m=rise, rise_length_m=30.0 + 8.0 * rise)
    return Release(height_m=hs * (1.0 - 0.5 * deficit), sigma_y0_m=0.5 * deficit * building_m,
                   sigma_z0_m=0.4 * deficit * building_m, rise_m=rise * (1.0 - 0.7 * deficit),
                   rise_length_m=30.0 + 8.0 * rise, wake_factor=1.5 * deficit, wake_length_m=5.0 * building_m)


@dataclass
class EmissionPattern:
    kind: str  # continuous | duty | batch
    t0_s: float
    t1_s: float
    params: dict

    def factor(self, t_s) -> np.ndarray:
        """Emission rate at times t_s relative to the mean over [t0, t1]."""
        t = np.asarray(t_s, float)
        if self.kind == "duty":
            p = self.params
            on = ((t - p["phase_s"]) % p["period_s"]) < p["on_fraction"] * p["period_s"]
            raw = np.where(on, 1.0, p["off_level"])
        elif self.kind == "batch":
            p = self.params
            on = np.zeros(t.shape, bool)
            for a, b in p["batches_s"]:
                on |= (t >= a) & (t < b)
            raw = np.where(on, 1.0, p["off_level"])
        else:
            return np.ones(t.shape)
        return raw / self.params["mean_raw"]

    def to_dict(self) -> dict:
        return {"kind": self.kind, **{k: (np.round(v, 1).tolist() if isinstance(v, (list, np.ndarray)) else
                                          round(float(v), 4)) for k, v in self.params.items()}}


def emission_patterns(n: int, t0_s: float, t1_s: float, rng: np.random.Generator) -> list[EmissionPattern]:
    """Continuous (40 %), duty cycles (40 %) or batches (20 %), normalised to mean 1 over [t0, t1]."""
    out = []
    grid = np.arange(t0_s, t1_s, 5.0)
    for _ in range(n):
        r = rng.uniform()
        if r < 0.4:
            out.append(EmissionPattern("continuous", t0_s, t1_s, {}))
            continue
        if r < 0.8:
            params = {"period_s": rng.uniform(600.0, 3600.0), "on_fraction": rng.uniform(0.5, 0.9),
                      "off_level": rng.uniform(0.0, 0.2)}
            params["phase_s"] = rng.uniform(0.0, params["period_s"])
            pat = EmissionPattern("duty", t0_s, t1_s, params)
        else:
            nb = int(rng.integers(2, 5))
            starts = np.sort(rng.uniform(t0_s, t1_s, nb))
            batches = [[float(a), float(a + rng.uniform(1200.0, 3600.0))] for a in starts]
            pat = EmissionPattern("batch", t0_s, t1_s, {"batches_s": batches, "off_level": rng.uniform(0.05, 0.25)})
        pat.params["mean_raw"] = 1.0
        pat.params["mean_raw"] = float(np.mean(pat.factor(grid))) or 1.0
        out.append(pat)
    return out
