"""Directions in degrees: the one circular mean (wind directions, headings), whole or per group.

A direction's mean is the direction of the summed unit vectors, ``atan2(Σ w sin θ, Σ w cos θ)``
in [0, 360); NaN where no finite value is there. Used by processing (wind of a pass, of an
event, of a curtain) and by missions (the simulated wind's observed mean).
"""

from __future__ import annotations

import math

import numpy as np


def circular_mean_deg(deg: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean direction (degrees, [0, 360)) of the finite values of ``deg``, weighted; NaN if none."""
    d = np.asarray(deg, float)
    w = np.ones_like(d) if weights is None else np.asarray(weights, float)
    ok = np.isfinite(d) & np.isfinite(w)
    if not ok.any():
        return math.nan
    r = np.radians(d[ok])
    return float(np.degrees(np.arctan2((w[ok] * np.sin(r)).sum(), (w[ok] * np.cos(r)).sum())) % 360.0)


def circular_mean_by_group_deg(deg: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean direction (degrees) of the finite values of each group ``0 … n_groups − 1``; NaN for an empty group."""
    d = np.asarray(deg, float)
    ok = np.isfinite(d)
    r = np.radians(d[ok])
    s = np.bincount(groups[ok], np.sin(r), minlength=n_groups)
    c = np.bincount(groups[ok], np.cos(r), minlength=n_groups)
    cnt = np.bincount(groups[ok], minlength=n_groups)
    with np.errstate(invalid="ignore"):
        return np.where(cnt > 0, np.degrees(np.arctan2(s, c)) % 360.0, np.nan)
