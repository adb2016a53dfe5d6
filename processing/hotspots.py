"""Hotspot maps: kernel density, IDW, ordinary kriging, COG GeoTIFF, Getis-Ord Gi* and polygons.

All surfaces live on a :class:`Grid` in a local metric CRS (north-up, row 0 at the north edge).

- :func:`kde_grid` — weighted Gaussian kernel density by **linear binning + separable
  Gaussian filtering** (cost O(n + cells), not pairwise: 1 M samples on 1000 × 1000 cells
  in a fraction of a second);
- :func:`kernel_concentration` — kernel-weighted mean concentration (Nadaraya–Watson: KDE
  weighted by concentration / KDE of the samples), masked where samples are too sparse;
- :func:`idw_grid` — inverse-distance weighting over the k nearest samples (KD-tree);
- :func:`kriging_grid` — ordinary kriging with pykrige (optional dependency, subsampled);
- :func:`write_cog` — Cloud-Optimised GeoTIFF (tiled, DEFLATE, overviews, CRS and nodata);
- :func:`getis_ord` — Gi* with binary distance-band weights: KD-tree neighbour pairs and the
  analytical z-scores of esda ``G_Local(star=True)`` summed straight over the pairs
  (:func:`gi_star_z`; esda only for permutation inference), Benjamini–Hochberg FDR;
- :func:`signal_mask` — which features stand above the noise (:class:`HotspotRule`);
- :func:`hotspot_polygons` — dissolved hot features at 90 / 95 / 99 % confidence.

Gi* is relative: it compares each feature's neighbourhood with the mean of all features, so on a
survey with no plume at all some segments are still "significantly" above the others (a slow
wander of the background, a few ppb of CH4). A feature is therefore drawn into a hotspot
polygon only when it passes **both** tests: its Gi* is significant after Benjamini–Hochberg FDR
at the polygon's level, and its own enhancement stands above the noise of the background
(:class:`HotspotRule`, :func:`signal_mask`). The kernel raster is a map of the enhancement, not
a test: no polygon is derived from it.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree
from scipy.stats import norm

from ecopatrol.core.errors import InputError

from ._evidence_util import write_atomic

log = logging.getLogger(__name__)

CONFIDENCE_LEVELS = (90, 95, 99)


@dataclass(frozen=True)
class HotspotRule:
    """When a segment or cell is enhanced enough to belong to a hotspot polygon (besides Gi*).

    A feature's value is the median over passes of the per-pass mean enhancement
    (:mod:`.aggregate`); it must exceed ``max(k_noise × noise / √n_passes, rel_background ×
    background)``, with ``noise`` the per-sample 1 σ and ``background`` the background that
    :func:`~ecopatrol.processing.plume.annotate` estimates for the species. Why these terms:

    - ``noise / √n_passes`` is the noise of the aggregate. Passes are minutes apart and
      independent; the samples of one pass over a 30 m segment or a 50 m cell are a few seconds
      apart, inside the correlation time of a real analyser's noise (the Picarro CFADS surveys:
      autocorrelation 0.4–0.5 at 10 s), so together they are one look, not n (σ / √n_samples
      would claim a precision that correlated noise does not have);
    - ``k_noise = 5``: every feature of a survey is tested at once (hundreds to tens of
      thousands), and the robust spread that ``annotate`` measures underestimates slow,
      correlated noise (its rolling background follows part of it: by 15–25 % with a 20–60 s
      correlation time). At 5 σ one of 10 000 pure-noise aggregates passes with 0.3 %
      (Gaussian) and still with ~1 % at 4 σ; event detection can use 3 σ because it also asks
      for consecutive samples. In the simulated surveys of ``tests/test_hotspots.py`` (275
      segments, white and 5–60 s correlated noise, 2–6 passes), Gi* alone drew hotspots on
      every correlated-noise survey, 3 σ still on a quarter of them, 5 σ on none, while a
      plume of 3 σ per sample seen on two passes is kept;
    - ``rel_background = 0.10``: the relative test of event detection (``annotate(
      rel_threshold=0.1)``) and the peak criterion of the published method for car-borne
      methane surveys (CH4 above 1.1 × the moving background; von Fischer et al. 2017,
      ``JVF-CSU/MobileMethaneSurveys``). The background itself wanders by a few per cent over a
      survey (the boundary layer, distant sources): that part does not average down over passes,
      and it is what makes Gi* fire on flat surveys (CH4 within 2 ± 0.1 ppm);
    - ``min_samples = 2``: a polygon must rest on at least two samples, as an event does
      (``detect_events(min_samples=2)``): one sample is a spike, not a plume.
    """

    k_noise: float = 5.0
    rel_background: float = 0.10
    min_samples: int = 2

    def threshold(self, n_passes, *, noise: float, background: float) -> np.ndarray:
        """The enhancement a feature seen on ``n_passes`` passes must exceed (species units)."""
        n = np.maximum(np.nan_to_num(np.asarray(n_passes, float), nan=1.0), 1.0)
        return np.maximum(self.k_noise * float(noise) / np.sqrt(n), self.rel_background * abs(float(background)))

    def describe(self) -> str:
        return (f"Gi* significant after Benjamini-Hochberg FDR at the polygon's level, and enhancement (median "
                f"of per-pass means) > max({self.k_noise:g} x noise / sqrt(passes), "
                f"{self.rel_background:g} x background), with >= {self.min_samples} samples per polygon")


#: The rule :func:`~ecopatrol.processing.evidence.build_evidence` applies (see :class:`HotspotRule`).
HOTSPOT_RULE = HotspotRule()


def signal_mask(features: pd.DataFrame, *, value: str, noise: float, background: float,
                rule: HotspotRule = HOTSPOT_RULE) -> pd.DataFrame:
    """Which ``features`` stand above the noise: ``hot_threshold`` and ``hot_signal`` (bool).

    ``value`` is the features' enhancement column, ``noise`` and ``background`` the per-sample
    1 σ and the background of the samples behind them; the number of passes is read from
    ``n_passes`` (1 when absent). See :class:`HotspotRule`.
    """
    n = features["n_passes"].to_numpy(float) if "n_passes" in features.columns else np.ones(len(features))
    thr = rule.threshold(n, noise=noise, background=background)
    v = features[value].to_numpy(float)
    return pd.DataFrame({"hot_threshold": thr, "hot_signal": np.isfinite(v) & (v > thr)}, index=features.index)


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid in a metric CRS: lower-left corner ``(x0_m, y0_m)``, square cells."""

    x0_m: float
    y0_m: float
    cell_m: float
    nx: int
    ny: int
    crs: object = None

    @classmethod
    def around(cls, x, y, *, cell_m: float, pad_m: float = 0.0, crs=None, max_cells: int = 25_000_000) -> "Grid":
        """The grid covering points ``(x, y)`` plus ``pad_m``, snapped to multiples of ``cell_m``."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        if not (np.isfinite(x).any() and np.isfinite(y).any()):
            raise InputError("cannot build a grid: no finite sample coordinates")
        x0 = math.floor((np.nanmin(x) - pad_m) / cell_m) * cell_m
        y0 = math.floor((np.nanmin(y) - pad_m) / cell_m) * cell_m
        nx = int(math.ceil((np.nanmax(x) + pad_m - x0) / cell_m)) + 1
        ny = int(math.ceil((np.nanmax(y) + pad_m - y0) / cell_m)) + 1
        if nx * ny > max_cells:
            raise InputError(f"grid of {nx} × {ny} cells at {cell_m:g} m is too large: use a larger `cell_m`")
        return cls(float(x0), float(y0), float(cell_m), nx, ny, crs)

    @property
    def transform(self):
        from rasterio.transform import from_origin

        return from_origin(self.x0_m, self.y0_m + self.ny * self.cell_m, self.cell_m, self.cell_m)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates ``(X, Y)`` as (ny, nx) arrays, row 0 north."""
        xs = self.x0_m + (np.arange(self.nx) + 0.5) * self.cell_m
        ys = self.y0_m + (self.ny - np.arange(self.ny) - 0.5) * self.cell_m
        return np.meshgrid(xs, ys)


def _linear_bin(x, y, w, grid: Grid) -> np.ndarray:
    """Linear (cloud-in-cell) binning of weights onto cell centres; (ny, nx), row 0 south."""
    fx = (np.asarray(x, float) - grid.x0_m) / grid.cell_m - 0.5
    fy = (np.asarray(y, float) - grid.y0_m) / grid.cell_m - 0.5
    w = np.asarray(w, float)
    ok = np.isfinite(fx) & np.isfinite(fy) & np.isfinite(w)
    fx, fy, w = fx[ok], fy[ok], w[ok]
    i0 = np.floor(fx).astype(np.int64)
    j0 = np.floor(fy).astype(np.int64)
    ax = fx - i0
    ay = fy - j0
    out = np.zeros(grid.nx * grid.ny)
    for di, wx in ((0, 1 - ax), (1, ax)):
        for dj, wy in ((0, 1 - ay), (1, ay)):
            i = i0 + di
            j = j0 + dj
            m = (i >= 0) & (i < grid.nx) & (j >= 0) & (j < grid.ny)
            out += np.bincount(j[m] * grid.nx + i[m], (w * wx * wy)[m], minlength=grid.nx * grid.ny)
    return out.reshape(grid.ny, grid.nx)


def kde_grid(x, y, *, grid: Grid, bandwidth_m: float, weights=None) -> np.ndarray:
    """Weighted Gaussian kernel density (weight per m²) on ``grid``; (ny, nx), row 0 north.

    ``Σ_i w_i K_h(s − s_i)`` with an isotropic Gaussian kernel of standard deviation
    ``bandwidth_m``; computed by linear binning and a separable Gaussian filter truncated at
    4 σ, exact up to the binning error (≈ (cell/h)² / 24 relative).
    """
    w = np.ones(len(np.asarray(x))) if weights is None else weights
    binned = _linear_bin(x, y, w, grid)
    sigma = bandwidth_m / grid.cell_m
    dens = gaussian_filter(binned, sigma=sigma, mode="constant", truncate=4.0)
    return np.flipud(dens) / (grid.cell_m * grid.cell_m)


def kernel_concentration(x, y, values, *, grid: Grid, bandwidth_m: float,
                         min_samples: float = 1.0) -> np.ndarray:
    """Kernel-weighted mean of ``values`` (Nadaraya–Watson), NaN where the kernel-weighted
    sample count (density × 2π h²) is below ``min_samples``."""
    num, den = kernel_sums(x, y, values, grid=grid, bandwidth_m=bandwidth_m)
    return concentration_from_sums(num, den, bandwidth_m=bandwidth_m, min_samples=min_samples)


def kernel_sums(x, y, values, *, grid: Grid, bandwidth_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The two kernel sums of :func:`kernel_concentration` over the finite ``values``: (Σ K·v, Σ K).

    Linear in the samples: sums over disjoint sets of samples add up to the sums over all of them
    (the distributed path sums them per batch)."""
    v = np.asarray(values, float)
    ok = np.isfinite(v)
    x, y, v = np.asarray(x, float)[ok], np.asarray(y, float)[ok], v[ok]
    num = kde_grid(x, y, grid=grid, bandwidth_m=bandwidth_m, weights=v)
    den = kde_grid(x, y, grid=grid, bandwidth_m=bandwidth_m)
    return num, den


def concentration_from_sums(num: np.ndarray, den: np.ndarray, *, bandwidth_m: float,
                            min_samples: float = 1.0) -> np.ndarray:
    """:func:`kernel_concentration` from its :func:`kernel_sums`."""
    support = den * 2 * math.pi * bandwidth_m**2
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(support >= min_samples, out, np.nan)


def idw_grid(x, y, values, *, grid: Grid, power: float = 2.0, k: int = 12,
             max_distance_m: float | None = None) -> np.ndarray:
    """Inverse-distance-weighted surface over the ``k`` nearest samples; NaN beyond ``max_distance_m``."""
    v = np.asarray(values, float)
    ok = np.isfinite(v)
    pts = np.c_[np.asarray(x, float)[ok], np.asarray(y, float)[ok]]
    v = v[ok]
    X, Y = grid.centres()
    q = np.c_[X.ravel(), Y.ravel()]
    k = min(k, len(v))
    ub = np.inf if max_distance_m is None else max_distance_m
    dist, idx = cKDTree(pts).query(q, k=k, distance_upper_bound=ub)
    dist = dist.reshape(len(q), k)
    idx = idx.reshape(len(q), k)
    valid = np.isfinite(dist)
    vv = np.where(valid, v[np.minimum(idx, len(v) - 1)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        wgt = np.where(valid, 1.0 / np.maximum(dist, 1e-6) ** power, 0.0)
        out = (wgt * vv).sum(1) / wgt.sum(1)
    exact = valid[:, 0] & (dist[:, 0] < 1e-6)
    out[exact] = vv[exact, 0]
    return out.reshape(grid.ny, grid.nx)


def kriging_grid(x, y, values, *, grid: Grid, variogram_model: str = "spherical",
                 max_points: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary kriging (pykrige) on ``grid``: ``(estimate, variance)``, both (ny, nx) row 0 north.

    Kriging is O(n³): at most ``max_points`` samples are used (a seeded random subset).
    Needs the ``kriging`` extra (``pip install pykrige``).
    """
    try:
        from pykrige.ok import OrdinaryKriging
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError.keyed("dep.pykrige") from None
    v = np.asarray(values, float)
    ok = np.isfinite(v)
    xs, ys, v = np.asarray(x, float)[ok], np.asarray(y, float)[ok], v[ok]
    if len(v) > max_points:
        pick = np.sort(np.random.default_rng(seed).choice(len(v), max_points, replace=False))
        xs, ys, v = xs[pick], ys[pick], v[pick]
    X, Y = grid.centres()
    ok_model = OrdinaryKriging(xs, ys, v, variogram_model=variogram_model)
    z, ss = ok_model.execute("grid", X[0], Y[:, 0][::-1])
    return np.flipud(np.asarray(z)), np.flipud(np.asarray(ss))


def write_cog(path: str | Path, bands: np.ndarray | dict[str, np.ndarray], *, grid: Grid,
              nodata: float = -9999.0) -> Path:
    """Write a Cloud-Optimised GeoTIFF atomically: float32, tiled 256, DEFLATE, overviews,
    ``grid.crs`` and ``nodata`` set (NaN cells become ``nodata``). ``bands`` is one (ny, nx)
    array or a dict ``{description: array}``."""
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy as rio_copy

    if grid.crs is None:
        raise InputError("write_cog: the grid has no CRS; build it with `crs=`")
    named = bands if isinstance(bands, dict) else {"value": bands}
    arrays = [np.where(np.isfinite(a), a, nodata).astype("float32") for a in named.values()]
    for a in arrays:
        if a.shape != (grid.ny, grid.nx):
            raise InputError(f"write_cog: band shape {a.shape} does not match the grid {(grid.ny, grid.nx)}")

    def _w(tmp: Path) -> None:
        with MemoryFile() as mf:
            with mf.open(driver="GTiff", width=grid.nx, height=grid.ny, count=len(arrays), dtype="float32",
                         crs=rasterio.crs.CRS.from_user_input(grid.crs), transform=grid.transform,
                         nodata=nodata) as ds:
                for i, (name, a) in enumerate(zip(named, arrays, strict=True), start=1):
                    ds.write(a, i)
                    ds.set_band_description(i, name)
            with mf.open() as ds:
                rio_copy(ds, tmp, driver="COG", compress="DEFLATE", blocksize=256,
                         overview_resampling="average", predictor="YES")

    out = write_atomic(path, _w)
    log.info("wrote %s: %d × %d cells of %g m, %d band(s)", Path(path).name, grid.nx, grid.ny,
             grid.cell_m, len(arrays))
    return out


def fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), NaN kept as NaN."""
    p = np.asarray(p, float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    pv = p[ok]
    m = len(pv)
    if m == 0:
        return q
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    q[ok] = out
    return q


def getis_ord(features: gpd.GeoDataFrame, *, value: str, distance_m: float, permutations: int = 0,
              seed: int = 0) -> pd.DataFrame:
    """Getis-Ord Gi* of ``value`` over ``features`` (metric CRS) with binary distance-band weights.

    Neighbours are the feature centroids within ``distance_m`` (KD-tree pairs, self included by
    Gi*). ``permutations=0`` (default) gives the analytical z-scores of esda ``G_Local(star=True,
    transform="B")``, computed directly from the pairs (:func:`gi_star_z`, no weights object);
    ``permutations > 0`` hands the same weights to esda's conditional randomisation (minutes on
    100 000 features). p-values are two-sided, corrected by Benjamini–Hochberg (``gi_q``);
    ``hot_confidence`` is 99 / 95 / 90 where z > 0 and q < 0.01 / 0.05 / 0.10, else 0 (cold spots
    get ``cold_confidence``). Returns a frame aligned with ``features``: ``gi_z``, ``gi_p``,
    ``gi_q``, ``hot_confidence``, ``cold_confidence``, ``n_neighbours`` (within the band, self
    excluded).
    """
    if features.crs is not None and features.crs.is_geographic:
        raise InputError("getis_ord: project the features to a metric CRS first")
    n = len(features)
    out = pd.DataFrame({"gi_z": np.zeros(n), "gi_p": np.ones(n), "gi_q": np.ones(n),
                        "hot_confidence": np.zeros(n, int), "cold_confidence": np.zeros(n, int),
                        "n_neighbours": np.zeros(n, int)}, index=features.index)
    y = features[value].to_numpy(float)
    if n < 3 or not np.isfinite(y).all() or np.nanstd(y) == 0:
        log.info("Gi*: %d features, nothing to test (constant or too few)", n)
        return out
    pairs = band_pairs(_centroid_coords(features.geometry.values), distance_m)
    if permutations == 0:
        z = gi_star_z(y, pairs)
    else:
        z = _gi_star_permutation_z(y, pairs, permutations, seed)
    p = 2 * norm.sf(np.abs(z))
    q = fdr_bh(p)
    conf = np.select([q < 0.01, q < 0.05, q < 0.10], [99, 95, 90], 0)
    out["gi_z"], out["gi_p"], out["gi_q"] = z, p, q
    out["hot_confidence"] = np.where(z > 0, conf, 0)
    out["cold_confidence"] = np.where(z < 0, conf, 0)
    out["n_neighbours"] = (np.bincount(pairs[:, 0], minlength=n) + np.bincount(pairs[:, 1], minlength=n))
    log.info("Gi*: %d features, band %g m, %d hot (≥90 %%), %d at 99 %%", n, distance_m,
             int((out["hot_confidence"] > 0).sum()), int((out["hot_confidence"] == 99).sum()))
    return out


def _centroid_coords(geoms) -> np.ndarray:
    """(n, 2) centroid coordinates; points are read directly (no centroid construction)."""
    geoms = np.asarray(geoms)
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all():
        return shapely.get_coordinates(geoms)
    return shapely.get_coordinates(shapely.centroid(geoms))


def band_pairs(coords: np.ndarray, distance_m: float) -> np.ndarray:
    """Unordered neighbour pairs ``(i, j)``, ``i < j``, with centroids within ``distance_m``
    (KD-tree ``query_pairs``, distances ≤ the band): the binary distance-band weights, each
    pair once and no self-pair."""
    return cKDTree(coords).query_pairs(distance_m, output_type="ndarray").astype(np.intp, copy=False)


def gi_star_z(y: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Analytical Gi* z-scores with binary weights, self included (Getis & Ord 1992; the
    formulas of esda ``G_Local(star=True, transform="B")``, same z to rounding).

    For feature i with neighbourhood sum ``L_i = y_i + Σ_j∈band y_j`` and ``k_i`` = 1 + number
    of neighbours: ``G_i = L_i / Σy``, ``E = k_i / n``, ``V = k_i (n − k_i) / (n − 1) / n² ·
    s² / ȳ²`` with ``ȳ``, ``s²`` the mean and (population) variance of ``y``; z = (G − E) / √V.
    The sums are two ``bincount`` over the pairs: O(n + pairs), no weights matrix."""
    y = np.asarray(y, float)
    n = len(y)
    a, b = pairs[:, 0], pairs[:, 1]
    lag = y + np.bincount(a, weights=y[b], minlength=n) + np.bincount(b, weights=y[a], minlength=n)
    k = 1.0 + np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    y_sum = y.sum()
    mean = y_sum / n
    var = (y**2).sum() / n - mean**2
    expected = k / n
    variance = k * (n - k) / (n - 1) / n**2 * var / mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return (lag / y_sum - expected) / np.sqrt(variance)


def _gi_star_permutation_z(y: np.ndarray, pairs: np.ndarray, permutations: int, seed: int) -> np.ndarray:
    """Gi* z-scores by esda's conditional randomisation on the same binary band weights; NaN for
    a feature alone in its band (nothing to permute: esda's z there is 0/0 or ±inf)."""
    import esda
    from libpysal.graph import Graph
    from scipy import sparse

    n = len(y)
    i = np.r_[pairs[:, 0], pairs[:, 1]]
    j = np.r_[pairs[:, 1], pairs[:, 0]]
    w = Graph.from_sparse(sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(y, w, transform="B", permutations=permutations, star=True, seed=seed,
                         keep_simulations=True)
    z = np.asarray(g.z_sim, float)
    z[np.bincount(i, minlength=n) == 0] = np.nan
    return z


def hotspot_polygons(features: gpd.GeoDataFrame, gi: pd.DataFrame, *, value: str,
                     buffer_m: float = 0.0, signal=None, min_samples: int = 1) -> gpd.GeoDataFrame:
    """Dissolve hot features into polygons at 90, 95 and 99 % confidence (nested levels).

    A feature is hot at a level when its Gi* ``hot_confidence`` reaches it and, if ``signal``
    (booleans aligned with ``features``, from :func:`signal_mask`) is given, it stands above the
    noise; polygons resting on fewer than ``min_samples`` samples (column ``n_samples``, when
    present) are dropped. Without ``signal`` the statistical test alone decides.

    Each polygon: ``hotspot_id``, ``confidence``, ``n_features``, ``n_samples`` (when the features
    have it), ``max_value``, ``mean_value``, ``area_m2``, ``x_m``, ``y_m`` (representative point);
    CRS of ``features`` (metric). Lines (road segments) are buffered by ``buffer_m`` (half a segment is a good choice).
    """
    rows = []
    geoms = features.geometry.values
    if buffer_m > 0:
        geoms = shapely.buffer(geoms, buffer_m)
    vals = features[value].to_numpy(float)
    counts = features["n_samples"].to_numpy(float) if "n_samples" in features.columns else None
    hot = gi["hot_confidence"].to_numpy()
    ok = np.ones(len(features), bool) if signal is None else np.asarray(signal, bool)
    for level in CONFIDENCE_LEVELS:
        sel = (hot >= level) & ok
        if not sel.any():
            continue
        union = shapely.union_all(shapely.buffer(geoms[sel], 0.01))
        parts = shapely.get_parts(union)
        tree = shapely.STRtree(parts)
        fi, pi = tree.query(shapely.point_on_surface(geoms[sel]), predicate="intersects")
        order = np.argsort(fi)
        part_of = np.full(sel.sum(), -1)
        part_of[fi[order]] = pi[order]
        for k, part in enumerate(parts):
            m = part_of == k
            extra = {}
            if counts is not None:
                extra["n_samples"] = int(counts[sel][m].sum())
                if extra["n_samples"] < min_samples:
                    continue
            rp = shapely.point_on_surface(part)
            rows.append({"confidence": level, "n_features": int(m.sum()), **extra,
                         "max_value": float(np.nanmax(vals[sel][m])) if m.any() else np.nan,
                         "mean_value": float(np.nanmean(vals[sel][m])) if m.any() else np.nan,
                         "area_m2": float(part.area), "x_m": rp.x, "y_m": rp.y, "geometry": part})
    if not rows:
        return gpd.GeoDataFrame({"hotspot_id": [], "confidence": []}, geometry=gpd.GeoSeries([]),
                                crs=features.crs)
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=features.crs)
    out = out.sort_values(["confidence", "max_value"], ascending=[True, False]).reset_index(drop=True)
    out.insert(0, "hotspot_id", [f"H{i + 1:03d}" for i in range(len(out))])
    log.info("hotspot polygons: %s", ", ".join(f"{lv} %: {int((out['confidence'] == lv).sum())}"
                                               for lv in CONFIDENCE_LEVELS))
    return out
