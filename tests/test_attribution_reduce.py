"""The all-samples fits over every sample (attribution_reduce) equal the full fits of attribution.

The "full fit" is today's estimate_rates_cov / emission_signals with no row cap (max_rows larger
than the samples): every sample as a row of a dense matrix. The reduced fit builds sparse unit
matrices pass by pass and solves from Gram matrices; algebraically the same, up to the dropped
negligible entries, so probabilities and rates must agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from attribution_support import WIND, two_emitter_case
from plume_world import CRS_M
from scipy import sparse

from ecopatrol.processing import attribution, attribution_reduce, plume


@pytest.fixture(scope="module")
def fits():
    area, _, ann = two_emitter_case()
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    enh = ann["tvoc_ugm3_enh"].to_numpy(float)
    noise = ann["tvoc_ugm3_noise"].to_numpy(float)
    n = len(enh)
    full_design = attribution._design(op, enh, noise, ann["tvoc_ugm3_exceed"].to_numpy(bool), 10 * n, 0)
    full_rates, full_cov = attribution.estimate_rates_cov(op, enh, noise, design=full_design)
    full_sig = attribution.emission_signals(op, enh, noise, design=full_design)
    red = attribution_reduce.reduced_design(op, enh, noise)
    red_rates, red_cov = attribution_reduce.estimate_rates_reduced(op, enh, noise, red)
    red_sig = attribution_reduce.emission_signals_reduced(op, enh, noise, red)
    return dict(ann=ann, op=op, enh=enh, noise=noise, full_design=full_design, full_rates=full_rates,
                full_cov=full_cov, full_sig=full_sig, red=red, red_rates=red_rates, red_cov=red_cov, red_sig=red_sig)


def test_reduced_rates_equal_the_full_fit(fits):
    f, r = fits["full_rates"], fits["red_rates"]
    assert (f["rate_g_s"] > 0).sum() >= 2  # the case fits something
    np.testing.assert_allclose(r["rate_g_s"], f["rate_g_s"], rtol=1e-4, atol=1e-6)
    both = np.isfinite(f["rate_sd_g_s"]) | np.isfinite(r["rate_sd_g_s"])
    np.testing.assert_allclose(r["rate_sd_g_s"][both], f["rate_sd_g_s"][both], rtol=1e-3, atol=1e-6)
    # "touched" now counts the samples a source puts ≥ DROP_NOISE_SD noise sd on at DROP_RATE_G_S,
    # no longer every numerically non-zero plume edge (≥ 1e-9 of the matrix maximum)
    assert (r["n_samples_touched"] <= f["n_samples_touched"]).all()
    assert (r["n_samples_touched"] > 0).sum() == (f["n_samples_touched"] > 0).sum()
    np.testing.assert_allclose(fits["red_cov"], fits["full_cov"], rtol=1e-3, atol=1e-9)


def test_reduced_signal_probabilities_equal_the_full_fit(fits):
    f, r = fits["full_sig"], fits["red_sig"]
    assert f.pip.max() > 0.9  # the case finds an emitter
    np.testing.assert_allclose(r.alpha, f.alpha, atol=1e-6)
    np.testing.assert_allclose(r.null, f.null, atol=1e-6)
    np.testing.assert_allclose(r.pip, f.pip, atol=1e-6)
    np.testing.assert_allclose(r.rate_g_s, f.rate_g_s, rtol=1e-4, atol=1e-6)
    assert r.n_samples == f.n_samples


def test_every_sample_is_counted_and_no_row_cap(fits):
    red, enh, noise = fits["red"], fits["enh"], fits["noise"]
    usable = np.isfinite(enh) & np.isfinite(noise)
    np.testing.assert_array_equal(red.rows, np.flatnonzero(usable))  # every usable sample is a row
    s = red.summary()
    assert s["row_cap"] is None and s["n_samples"] == int(usable.sum())
    # far-field samples (no plume reaches them) stay in the problem as zero rows
    no_plume = np.asarray(abs(red.A).sum(axis=1)).ravel() == 0
    assert no_plume.any() and len(red.rows) == int(usable.sum())
    # and the kept entries are the full matrix's but for the negligible ones
    full_rows, full_A = fits["full_design"]
    np.testing.assert_array_equal(full_rows, red.rows)
    diff = (full_A - red.A).tocoo()
    bound = attribution_reduce.DROP_NOISE_SD * noise[red.rows][diff.row] / attribution_reduce.DROP_RATE_G_S
    assert np.all(np.abs(diff.data) <= bound * (1 + 1e-9))


def test_attribute_uses_every_sample_and_says_so():
    area, _, ann = two_emitter_case(passes=2, seed=7)
    events, event_of = plume.detect_events(ann)
    n = len(ann)
    old_cap = attribution.MAX_ROWS
    try:
        attribution.MAX_ROWS = n // 3  # the subsampling cap no longer applies
        _, rates = attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=WIND)
    finally:
        attribution.MAX_ROWS = old_cap
    fit = rates.attrs["fit"]
    assert fit["method"] == "reduced" and fit["row_cap"] is None and fit["n_samples"] == n


def test_nnls_gram_equals_scipy_nnls():
    from scipy.optimize import nnls

    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 30))
    A[:, 5] = A[:, 4] * 0.999 + 0.001 * rng.normal(size=200)  # near-collinear pair
    b = A[:, :3] @ np.array([1.0, 2.0, 0.5]) + rng.normal(scale=0.1, size=200)
    aug = np.vstack([A, np.eye(30) / 5.0])
    q_ref, _ = nnls(aug, np.r_[b, np.zeros(30)])
    q = attribution_reduce.nnls_gram(aug.T @ aug, aug.T @ np.r_[b, np.zeros(30)])
    np.testing.assert_allclose(q, q_ref, atol=1e-8)
    assert sparse.issparse(sparse.csc_matrix(A))  # (scipy available for the module's sparse path)
