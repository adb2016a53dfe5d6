"""Curtain geometry: the vertical planes a drone sortie flew, found from its sample positions.

:func:`fit_plane` fits one vertical :class:`Plane` to horizontal positions (RANSAC start, trimmed
principal axis); :func:`split_curtains` extracts every curtain of one connected cluster of a
sortie's samples (the stretch flown at several heights, ≥ 3 full transects); :func:`_curtain_groups`
makes those clusters. Metric coordinates (m) of a local CRS throughout. The flux through each
curtain is :mod:`.flux`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ecopatrol.core.errors import InputError


@dataclass(frozen=True)
class Plane:
    """A vertical plane: centre ``(x0_m, y0_m)``, along-plane unit vector, horizontal normal."""

    x0_m: float
    y0_m: float
    along: tuple[float, float]
    normal: tuple[float, float]
    rms_m: float

    def coords(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Along-plane ``s`` and off-plane ``d`` (m) of points."""
        dx = np.asarray(x, float) - self.x0_m
        dy = np.asarray(y, float) - self.y0_m
        return dx * self.along[0] + dy * self.along[1], dx * self.normal[0] + dy * self.normal[1]

    def recentred(self, s_m: float) -> Plane:
        """The same plane with its centre moved ``s_m`` along it."""
        return Plane(self.x0_m + s_m * self.along[0], self.y0_m + s_m * self.along[1], self.along, self.normal,
                     self.rms_m)

    def oriented(self, wind_from_deg: float) -> Plane:
        """The same plane with its normal pointing downwind of ``wind_from_deg``."""
        t = math.radians(wind_from_deg)
        if self.normal[0] * -math.sin(t) + self.normal[1] * -math.cos(t) >= 0:
            return self
        return Plane(self.x0_m, self.y0_m, self.along, (-self.normal[0], -self.normal[1]), self.rms_m)


def fit_plane(x, y, *, wind_from_deg: float | None = None, trim_m: float = 20.0, iterations: int = 3) -> tuple[Plane, np.ndarray]:
    """Fit a vertical plane to horizontal positions: RANSAC start, then a trimmed principal axis.

    Points farther than ``trim_m`` from the line are dropped and the line refitted.
    The normal points downwind when ``wind_from_deg`` is given. Returns ``(plane, inliers)``.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        raise InputError("curtain: fewer than 3 positioned samples, cannot fit a plane")
    # robust start (RANSAC, seeded): the line through two samples with the most inliers
    idx = np.flatnonzero(ok)
    rng = np.random.default_rng(0)
    pairs = rng.choice(idx, size=(min(300, len(idx) * 2), 2))
    dx = x[pairs[:, 1]] - x[pairs[:, 0]]
    dy = y[pairs[:, 1]] - y[pairs[:, 0]]
    length = np.hypot(dx, dy)
    good = length > 1e-6
    pairs, dx, dy, length = pairs[good], dx[good], dy[good], length[good]
    if len(pairs):
        nx_, ny_ = -dy / length, dx / length
        dist = np.abs((x[idx][None, :] - x[pairs[:, 0]][:, None]) * nx_[:, None]
                      + (y[idx][None, :] - y[pairs[:, 0]][:, None]) * ny_[:, None])
        best = int(np.argmax((dist <= trim_m).sum(1)))
        inl = np.zeros(len(x), bool)
        inl[idx[dist[best] <= trim_m]] = True
        if inl.sum() < 3:
            inl = ok.copy()
    else:
        inl = ok.copy()
    for _ in range(iterations):
        cx, cy = x[inl].mean(), y[inl].mean()
        cov = np.cov(np.c_[x[inl] - cx, y[inl] - cy].T)
        vals, vecs = np.linalg.eigh(cov)
        a = vecs[:, 1]
        nrm = np.array([-a[1], a[0]])
        d = (x - cx) * nrm[0] + (y - cy) * nrm[1]
        rms = float(np.sqrt(np.mean(d[inl] ** 2)))
        new = np.isfinite(d) & (np.abs(d) <= trim_m)
        if new.sum() < 3 or np.array_equal(new, inl):
            break
        inl = new
    if wind_from_deg is not None:
        t = math.radians(wind_from_deg)
        down = (-math.sin(t), -math.cos(t))
        if nrm[0] * down[0] + nrm[1] * down[1] < 0:
            nrm = -nrm
    if a[0] < 0 or (a[0] == 0 and a[1] < 0):
        a = -a
    plane = Plane(float(cx), float(cy), (float(a[0]), float(a[1])), (float(nrm[0]), float(nrm[1])), rms)
    return plane, inl


def _curtain_groups(x, y, codes_mission, *, link_m: float = 60.0) -> np.ndarray:
    """Group drone samples into spatially connected clusters per mission (single link)."""
    n = len(x)
    label = np.full(n, -1)
    nxt = 0
    for m in np.unique(codes_mission):
        idx = np.flatnonzero(codes_mission == m)
        pairs = cKDTree(np.c_[x[idx], y[idx]]).query_pairs(link_m, output_type="ndarray")
        adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(idx), len(idx))) \
            if len(pairs) else coo_matrix((len(idx), len(idx)))
        k, lab = connected_components(adj, directed=False)
        label[idx] = lab + nxt
        nxt += k
    return label


def curtain_span_mask(s_m: np.ndarray, z_m: np.ndarray, *, bin_m: float = 10.0, level_m: float = 5.0,
                      min_levels: int = 3) -> np.ndarray:
    """Samples within the stretch of the plane that the drone flew at ≥ ``min_levels`` heights.

    A transit or climb leg often lies in the curtain's plane (to and from the launch point) but at
    one height: interpolated over the full height it would turn a plume met on that leg into a
    wall of flux. The span is the longest run of ``bin_m`` bins along the plane holding samples on
    ≥ ``min_levels`` distinct ``level_m`` height bands (gaps of one bin bridged).
    """
    s = np.asarray(s_m, float)
    z = np.asarray(z_m, float)
    ok = np.isfinite(s) & np.isfinite(z)
    if ok.sum() == 0:
        return ok
    b = np.floor((s - np.nanmin(s[ok])) / bin_m).astype(int)
    lv = np.round(z / level_m).astype(int)
    pairs = np.unique(np.c_[b[ok], lv[ok]], axis=0)
    nb = int(b[ok].max()) + 1
    n_lev = np.bincount(pairs[:, 0], minlength=nb)
    good = n_lev >= min_levels
    # bridge single-bin gaps, then the longest run
    good[1:-1] |= good[:-2] & good[2:]
    if not good.any():
        return ok
    edges = np.diff(np.r_[0, good.astype(int), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    k = int(np.argmax(ends - starts))
    return ok & (b >= starts[k]) & (b < ends[k])


def _n_full_transects(s_m: np.ndarray, z_m: np.ndarray, *, bin_m: float = 10.0, level_m: float = 5.0,
                      cover: float = 0.6) -> int:
    """Number of ``level_m`` height bands whose samples cover ≥ ``cover`` of the span's
    ``bin_m`` bins: the transects of a curtain, not the climbs and transit legs crossing it."""
    b = np.floor((s_m - s_m.min()) / bin_m).astype(int)
    lv = np.round(z_m / level_m).astype(int)
    pairs = np.unique(np.c_[lv, b], axis=0)
    _, per_level = np.unique(pairs[:, 0], return_counts=True)
    return int((per_level >= cover * (b.max() + 1)).sum())


def split_curtains(x, y, z, *, wind_from_deg: float | None = None, min_samples: int = 50,
                   min_height_m: float = 15.0, min_width_m: float = 40.0,
                   max_curtains: int = 8) -> list[tuple[Plane, np.ndarray]]:
    """Every curtain in one connected cluster of a sortie's samples (sequential line extraction).

    One sortie often flies two or more curtains (one per target) joined by transit legs, and
    neighbouring targets' curtains may even lie on one line. Repeatedly: fit a plane to the
    samples left (:func:`fit_plane`), keep the stretch flown at several heights
    (:func:`curtain_span_mask`) as a curtain when it has ≥ ``min_samples`` samples spanning
    ≥ ``min_height_m`` vertically and ≥ ``min_width_m`` along the plane, and remove the plane's
    samples in that stretch (or all its inliers when there is no curtain on it). Each plane is
    re-centred on its curtain's span. Returns ``(plane, indices)`` pairs, indices into ``x``.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    z = np.asarray(z, float)
    left = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    out = []
    for _ in range(max_curtains + 4):
        r = np.flatnonzero(left)
        if len(r) < max(min_samples, 3) or len(out) >= max_curtains:
            break
        plane, inl = fit_plane(x[r], y[r], wind_from_deg=wind_from_deg)
        cand = r[inl]
        s_c, _ = plane.coords(x[cand], y[cand])
        span = curtain_span_mask(s_c, z[cand])
        cur = cand[span]
        if (len(cur) >= min_samples and np.ptp(z[cur]) >= min_height_m and np.ptp(s_c[span]) >= min_width_m
                and _n_full_transects(s_c[span], z[cur]) >= 3):
            lo, hi = float(s_c[span].min()), float(s_c[span].max())
            out.append((plane.recentred(0.5 * (lo + hi)), cur))
            left[cand[(s_c >= lo) & (s_c <= hi)]] = False
        else:
            left[cand] = False
    return out
