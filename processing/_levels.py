"""Mergeable medians: per-sample noise and background counted in histograms that add up over partitions.

A median does not merge, a histogram does: each batch counts its values in bins 0.1 % wide
(:func:`level_histogram`, integer counts, added in any order to the same total) and the median
is read from the merged histogram (:func:`histogram_median`), within 0.05 % of the exact median.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Relative width of the bins of the noise and background histograms (:func:`level_histogram`).
LEVEL_BIN_REL = 1e-3
_LOG_STEP = math.log1p(LEVEL_BIN_REL)
_KEY_OFFSET = 1 << 20  # > |ln v| / step for every nonzero finite float64 (745 / 0.0009995 ≈ 745 000)
LEVEL_ESTIMATE = ("medians of the per-sample noise and background of the samples with a finite value, read "
                  f"from histograms with bins {100 * LEVEL_BIN_REL:g} % wide merged over all partitions")


def level_histogram(values) -> tuple[np.ndarray, np.ndarray]:
    """The finite ``values`` counted in bins of relative width :data:`LEVEL_BIN_REL`: ``(keys, counts)``.

    Key 0 holds zeros; key ``±(k + offset)`` holds ``±v`` with ``v`` in ``[(1 + r)^k, (1 + r)^(k + 1))``.
    Keys increase with the value, so histograms of disjoint samples merge exactly
    (:func:`merge_histograms`: integer counts, any order) and the median is read from the merged
    one (:func:`histogram_median`). Sparse: only the bins that hold values.
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = np.zeros(len(v), np.int64)
    nz = v != 0
    a = np.abs(v[nz])
    k[nz] = (np.floor(np.log(a) / _LOG_STEP).astype(np.int64) + _KEY_OFFSET) * np.where(v[nz] > 0, 1, -1)
    lo, hi = int(k.min()), int(k.max())
    if hi - lo <= 4 * len(k) + 65_536:  # the usual case: a narrow range of bins, counted in O(n)
        c = np.bincount(k - lo)
        keys = np.flatnonzero(c)
        return keys.astype(np.int64) + lo, c[keys].astype(np.int64)
    keys, counts = np.unique(k, return_counts=True)
    return keys.astype(np.int64), counts.astype(np.int64)


def merge_histograms(hists) -> tuple[np.ndarray, np.ndarray]:
    """The sum of :func:`level_histogram` histograms (exact: integer counts)."""
    hists = [h for h in hists if h is not None and len(h[0])]
    if not hists:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = np.concatenate([h[0] for h in hists])
    counts = np.concatenate([h[1] for h in hists])
    u, inv = np.unique(keys, return_inverse=True)
    out = np.zeros(len(u), np.int64)
    np.add.at(out, inv, counts)
    return u, out


def _bin_value(key: int) -> float:
    """The (logarithmic) centre of a :func:`level_histogram` bin."""
    if key == 0:
        return 0.0
    return math.copysign(math.exp((abs(key) - _KEY_OFFSET + 0.5) * _LOG_STEP), key)


def histogram_median(hist) -> float | None:
    """The median of the values counted in ``hist`` (``None`` when empty), as ``np.median``
    takes it (the mean of the two middle values of an even count), each value read as the
    centre of its bin: within ``LEVEL_BIN_REL / 2`` of the exact median, relatively, when the two
    middle values have one sign (noise and background do)."""
    keys, counts = hist
    n = int(np.sum(counts))
    if n == 0:
        return None
    cum = np.cumsum(counts)
    lo = int(keys[np.searchsorted(cum, (n - 1) // 2, side="right")])
    hi = int(keys[np.searchsorted(cum, n // 2, side="right")])
    return 0.5 * (_bin_value(lo) + _bin_value(hi))


def levels_of(ann: pd.DataFrame, species: str, ok: np.ndarray) -> dict:
    """Histograms of the per-sample noise and background of the rows ``ok`` of an annotated frame."""
    return {name: level_histogram(ann[f"{species}_{col}"].to_numpy(float)[ok]) if f"{species}_{col}" in ann
            else None for name, col in (("noise", "noise"), ("background", "bg"))}


def merge_levels(*items) -> dict:
    """Sum the noise and background histograms of map results (or of already merged ones)."""
    items = [it["levels"] if "buckets" in it else it for it in items if it is not None]
    return {name: merge_histograms([it[name] for it in items]) for name in ("noise", "background")}


def level_medians(levels: dict) -> dict:
    """``{"noise", "background"}``: the medians of the merged histograms (``None`` when empty)."""
    return {name: histogram_median(levels[name]) for name in ("noise", "background")}
