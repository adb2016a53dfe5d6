"""Sources within reach: which candidates' plumes can be non-zero on a block of samples (an exact cut).

:meth:`~ecopatrol.processing.attribution.PlumeOperator.matrix` evaluates the Gaussian plume of every
candidate source (1 569 on the bundled Jimo area) on every sample it is asked about, although on a
block of samples most of them give exactly 0. The per-event explanations call it ~16 times per
event and hotspot (wind offsets × stability shifts), which made them most of a van day's
attribution. :func:`within_reach` finds, per block of nearby samples (at most :data:`BLOCK_ROWS`
consecutive samples of one pass, a disc of radius R around their centroid), the sources whose
plume can be non-zero there, from three facts of the plume model in
:func:`~ecopatrol.core.dispersion.gaussian_plume` and ``matrix``:

- receptors upwind of a source get exactly 0 (``x ≤ 0``): out of reach when every sample of the
  disc is upwind, ``x_c + R ≤ 0``;
- ``matrix`` sets samples beyond ``max_distance_m`` downwind to 0: out when ``x_c − R > max_distance_m``;
- the lateral factor ``exp(−½ (y/σy)²)`` is exactly 0.0 in float64 once ``|y|/σy >``
  :data:`LATERAL_ZERO_SIGMAS` (``exp(−746)`` underflows; the product is then 0, or NaN → 0):
  out when ``|y_c| − R > LATERAL_ZERO_SIGMAS · σy(x_c + R)`` — σy grows with the downwind
  distance, so ``σy(x_c + R)`` bounds it over the disc.

Every excluded entry is exactly 0.0 in the uncut matrix, so the cut matrix is bit-for-bit the same
(``tests/test_attribution_reach.py``) and so are the probabilities computed from it; only the
plume evaluations of sources out of reach are saved. :data:`REACH_CUT` = False evaluates every
source (the baseline of ``benchmarks/bench_attribution.py``). :func:`memo_key` and
:func:`remember` keep the last few all-candidate matrices of an operator, which the explanations
of one event ask for several times.
"""

from __future__ import annotations

import numpy as np

from ecopatrol.core.dispersion import plume_frame, sigmas

MEMO_SIZE = 8  # all-candidate matrices kept per operator (one event's wind offsets and the measured wind)
REACH_CUT = True  # False: evaluate every candidate on every sample, no memo (the former matrix)
BLOCK_ROWS = 256  # consecutive samples of one pass cut together (a compact stretch of road)
LATERAL_ZERO_SIGMAS = 39.0  # exp(-0.5 * 39²) = exp(-760.5) == 0.0 in float64 (below the smallest subnormal)


def within_reach(rx_m: np.ndarray, ry_m: np.ndarray, src_x_m: np.ndarray, src_y_m: np.ndarray,
                 wind_from_deg: float, stability: str, *, scheme: str, max_distance_m: float) -> np.ndarray:
    """Mask over the sources (metric CRS, metres): True where the plume may be non-zero on some of
    the receptors ``(rx_m, ry_m)`` (module docstring); False only where it is exactly 0 on all."""
    sx, sy = np.asarray(src_x_m, float), np.asarray(src_y_m, float)
    rx, ry = np.asarray(rx_m, float), np.asarray(ry_m, float)
    ok = np.isfinite(rx) & np.isfinite(ry)
    if not ok.any() or not REACH_CUT:
        return np.ones(len(sx), bool)
    if not ok.all():  # non-finite positions give non-finite plumes (0 in gaussian_plume): no cut from them
        rx, ry = rx[ok], ry[ok]
    cx, cy = float(rx.mean()), float(ry.mean())
    radius = float(np.sqrt(((rx - cx) ** 2 + (ry - cy) ** 2).max())) + 1e-6
    xc, yc = plume_frame(np.array([cx]), np.array([cy]), sx, sy, wind_from_deg)
    xc, yc = xc[0], yc[0]
    x_hi = np.minimum(xc + radius, max_distance_m + radius)
    reach = (xc + radius > 0) & (xc - radius <= max_distance_m)
    if reach.any():
        sig_y, _ = sigmas(np.where(reach, x_hi, 1.0), stability, scheme=scheme)
        lateral = np.abs(yc) - radius <= LATERAL_ZERO_SIGMAS * np.nan_to_num(np.asarray(sig_y, float), nan=np.inf)
        reach &= lateral
    return reach


def blocks(m: np.ndarray) -> list[np.ndarray]:
    """``m`` (positions of one pass's samples, in time order) in consecutive blocks of :data:`BLOCK_ROWS`."""
    return [m[i:i + BLOCK_ROWS] for i in range(0, len(m), BLOCK_ROWS)]


def memo_key(rows: np.ndarray, cols, offset_deg: float, stability_shift: int):
    """The memo key of an all-candidate ``matrix`` call (``cols`` None), else None (not memoised).

    ``single_source_likelihood``, ``rank_candidates`` and the explanation of one event each ask
    for the matrix of the same samples at the same wind offsets: computed once, copied after."""
    if cols is not None or not REACH_CUT:  # REACH_CUT False: the former matrix, no memo either
        return None
    r = np.ascontiguousarray(rows, dtype=np.int64)
    return (len(r), hash(r.tobytes()), round(float(offset_deg), 9), int(stability_shift))


def remember(memo: dict, key, value: np.ndarray, *, copy: bool = True) -> None:
    """Keep ``value`` (read-only; a copy of it unless ``copy`` is False, when the caller hands it over)
    under ``key``, dropping the oldest entries beyond :data:`MEMO_SIZE`."""
    kept = value.copy() if copy else value
    kept.setflags(write=False)
    memo[key] = kept
    while len(memo) > MEMO_SIZE:
        memo.pop(next(iter(memo)))
