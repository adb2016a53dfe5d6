"""The speed-ups of issue 19 item 4 (second pass) change no result.

- the all-samples design reuses its cone test's plume frame (``PlumeOperator.block_from_frame``):
  bit for bit ``PlumeOperator.matrix``;
- the single-source hypotheses compute the cosines only of the plumes one of them keeps: the
  residuals equal the former k × k formula;
- the explanations read the memo's matrices without copying them (read-only), callers that do
  not say so still get copies;
- ``attribute`` runs its BLAS with one thread (``BLAS_THREADS``): the same table as with the
  library's default threads, to float rounding, the same enterprise probabilities;
- ``build_evidence(raster=False)`` (the season path) writes no ``hotspots.tif`` and the same
  events, attribution and rates as with the raster.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from attribution_support import WIND, two_emitter_case
from plume_world import CRS_M

from ecopatrol.core.dispersion import plume_frame
from ecopatrol.core.weather import Wind
from ecopatrol.processing import attribution, attribution_likelihood, plume
from ecopatrol.processing.evidence import build_evidence


@pytest.fixture(scope="module")
def case():
    return two_emitter_case()


@pytest.mark.parametrize("stability", ["A", "D", "F"])
def test_block_from_frame_is_bit_for_bit_the_matrix(case, stability):
    area, _, ann = case
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=Wind(250.0, 3.0, stability))
    sx, sy = op.sources["x_m"].to_numpy(float), op.sources["y_m"].to_numpy(float)
    for code in np.unique(op.codes):
        r = np.flatnonzero(op.codes == code)[:600]
        cols = np.arange(0, len(sx), 2)
        xd, yd = plume_frame(op.x[r], op.y[r], sx[cols], sy[cols], op.passes[int(code)].from_deg)
        np.testing.assert_array_equal(op.block_from_frame(r, cols, xd, yd), op.matrix(r, cols))


def _former_residuals(a0, contrib, e, w, peak, overlap_cos):
    """The k × k formula before the restriction (issue 19 item 4, first pass)."""
    covers = a0[peak] / np.maximum(a0.max(0), 1e-300) >= attribution_likelihood.PEAK_COVER
    aw = a0 * np.sqrt(w)[:, None]
    nrm = np.sqrt((aw * aw).sum(0))
    cos = (aw.T @ aw) / np.maximum(np.outer(nrm, nrm), 1e-300)
    overlap = (cos >= overlap_cos) | np.eye(a0.shape[1], dtype=bool)
    subtract = ~covers[:, None] & ~overlap
    return e[:, None] - contrib @ subtract.astype(float), covers


def test_residuals_per_hypothesis_equal_the_former_formula():
    rng = np.random.default_rng(3)
    n, k = 80, 60
    a0 = np.where(rng.random((n, k)) < 0.3, rng.gamma(2.0, 5.0, (n, k)), 0.0)
    a0[:, 10] = 0.0  # a candidate that does not reach these samples
    a0[:, 11] = a0[:, 12] * 1.01  # two look-alike plumes (overlap)
    q = np.where(rng.random(k) < 0.4, rng.gamma(1.0, 1.0, k), 0.0)
    q[10] = 2.0
    contrib = a0 * q[None, :]
    e = contrib.sum(1) + rng.normal(0, 1.0, n)
    w = 1.0 / (1.0 + 0.04 * np.clip(e, 0, None) ** 2)
    for peak in (int(np.argmax(e)), 0, n - 1):
        for oc in (0.3, 0.7, 0.95):
            got, cov_got = attribution_likelihood._residual_per_hypothesis(a0, contrib, e, w, peak, oc)
            want, cov_want = _former_residuals(a0, contrib, e, w, peak, oc)
            np.testing.assert_array_equal(cov_got, cov_want)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(e).max())


def test_memo_reads_without_copies_are_read_only(case):
    area, _, ann = case
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    rows = np.arange(30, 80)
    shared = op.matrix(rows, copy=False)
    assert not shared.flags.writeable
    with pytest.raises(ValueError):
        shared[0, 0] = 1.0
    mine = op.matrix(rows)  # the default still hands out a copy the caller may write into
    assert mine.flags.writeable and mine is not shared
    np.testing.assert_array_equal(mine, shared)
    mine[:] = -1.0
    assert (op.matrix(rows, copy=False) >= 0).all() and len(op._memo) == 1


def test_one_blas_thread_gives_the_same_attribution(case, monkeypatch):
    area, _, ann = case
    events, event_of = plume.detect_events(ann)
    out = {}
    for n in (None, 1):
        monkeypatch.setattr(attribution, "BLAS_THREADS", n)
        out[n] = attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=WIND)
    (a_def, r_def), (a_one, r_one) = out[None], out[1]
    pd.testing.assert_frame_equal(a_one, a_def, check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(r_one, r_def, check_exact=False, rtol=1e-9, atol=1e-12)
    assert (a_one["evidence_kind"] == "event").any()
    np.testing.assert_allclose(r_one["enterprise_pip"], r_def["enterprise_pip"], rtol=0, atol=1e-12)


def test_evidence_without_the_raster_is_the_same_evidence(case, tmp_path):
    area, s, _ = case
    with_map = build_evidence(s, area, out_dir=tmp_path / "a", wind=WIND)
    stale = tmp_path / "b" / "hotspots.tif"
    stale.parent.mkdir()
    stale.write_bytes(b"an earlier run's raster")
    without = build_evidence(s, area, out_dir=tmp_path / "b", wind=WIND, raster=False)
    assert (tmp_path / "a" / "hotspots.tif").exists() and not stale.exists()
    assert without.grid is None and "hotspots.tif" not in without.files
    pd.testing.assert_frame_equal(without.attribution, with_map.attribution)
    pd.testing.assert_frame_equal(without.rates, with_map.rates)
    pd.testing.assert_frame_equal(pd.DataFrame(without.events), pd.DataFrame(with_map.events))
    for name in ("attribution.csv", "rates.csv", "flux.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    sa = json.loads((tmp_path / "a" / "evidence.json").read_text())
    sb = json.loads((tmp_path / "b" / "evidence.json").read_text())
    assert sa["raster"] is True and sb["raster"] is False and sb["raster_cell_m"] is None
    for k in ("raster", "raster_cell_m", "bandwidth_m"):
        sa.pop(k), sb.pop(k)
    assert sa == sb


def test_interpolate_along_is_bit_for_bit_geos():
    """``aggregate.interpolate_along`` (the road pieces of a van pass) gives GEOS's points exactly."""
    import shapely

    from ecopatrol.processing.aggregate import interpolate_along

    rng = np.random.default_rng(5)
    for n_vertices in (2, 3, 50, 2000):
        xy = np.cumsum(rng.normal(0, 7.0, (n_vertices, 2)), axis=0) + 5.0e5
        if n_vertices > 3:
            xy[10] = xy[9]  # a zero-length segment (a van standing still)
            xy[11] = xy[9]
        line = shapely.linestrings(xy)
        k = max(int(np.ceil(shapely.length(line) / 30.0)), 1)
        frac = np.r_[np.arange(k + 1) / k, rng.random(20), 0.0, 1.0]
        want = shapely.get_coordinates(shapely.line_interpolate_point(np.repeat(line, len(frac)), frac,
                                                                      normalized=True))
        np.testing.assert_array_equal(interpolate_along(line, frac), want)
