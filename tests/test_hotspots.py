"""Kernel density, IDW, kriging, COG writing, Gi* with FDR and hotspot polygons (only where
there is signal: Gi* and an enhancement above the noise)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from ecopatrol.core.errors import InputError
from ecopatrol.processing import hotspots as hs

CRS = "EPSG:32651"


def direct_kde(x, y, w, grid, h):
    X, Y = grid.centres()
    d2 = (X[..., None] - x) ** 2 + (Y[..., None] - y) ** 2
    return (w * np.exp(-0.5 * d2 / h**2)).sum(-1) / (2 * np.pi * h**2)


def test_binned_kde_matches_the_pairwise_sum():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(100, 900, 300), rng.uniform(100, 900, 300)
    w = rng.uniform(0, 5, 300)
    grid = hs.Grid(0.0, 0.0, 10.0, 100, 100, CRS)
    fast = hs.kde_grid(x, y, grid=grid, bandwidth_m=40.0, weights=w)
    slow = direct_kde(x, y, w, grid, 40.0)
    np.testing.assert_allclose(fast, slow, rtol=0.02, atol=0.02 * slow.max())
    # a density: integrates to the total weight
    assert fast.sum() * 100 == pytest.approx(w.sum(), rel=1e-3)


def test_grid_orientation_is_north_up():
    grid = hs.Grid(0.0, 0.0, 10.0, 50, 40, CRS)
    d = hs.kde_grid(np.array([250.0]), np.array([350.0]), grid=grid, bandwidth_m=15.0)
    row, col = np.unravel_index(np.argmax(d), d.shape)
    X, Y = grid.centres()
    assert (X[row, col], Y[row, col]) == (pytest.approx(245.0, abs=10), pytest.approx(355.0, abs=10))
    assert rasterio.transform.xy(grid.transform, row, col) == (X[row, col], Y[row, col])


def test_kernel_concentration_of_a_constant_field_is_that_constant_and_masked_far_away():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 300, 500), rng.uniform(0, 300, 500)
    grid = hs.Grid(-500.0, -500.0, 10.0, 130, 130, CRS)
    c = hs.kernel_concentration(x, y, np.full(500, 42.0), grid=grid, bandwidth_m=30.0)
    assert np.nanmax(np.abs(c - 42.0)) < 1e-9
    assert np.isnan(c[0, 0]) and np.isfinite(c).sum() > 500


def test_idw_is_exact_at_samples_and_bounded_between():
    x = np.array([5.0, 95.0])
    y = np.array([5.0, 5.0])
    grid = hs.Grid(0.0, 0.0, 10.0, 10, 1, CRS)
    s = hs.idw_grid(x, y, np.array([10.0, 20.0]), grid=grid)
    assert s[0, 0] == pytest.approx(10.0) and s[0, -1] == pytest.approx(20.0)
    assert np.all((s >= 10.0) & (s <= 20.0)) and s[0, 4] < s[0, 5]
    far = hs.idw_grid(x, y, np.array([10.0, 20.0]), grid=grid, max_distance_m=20.0)
    assert np.isnan(far[0, 4])


def test_ordinary_kriging_reproduces_a_smooth_field():
    pytest.importorskip("pykrige")
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 1000, 200), rng.uniform(0, 1000, 200)
    f = lambda a, b: 10 + 5 * np.sin(a / 300.0) + 3 * np.cos(b / 250.0)  # noqa: E731
    grid = hs.Grid(100.0, 100.0, 50.0, 16, 16, CRS)
    est, var = hs.kriging_grid(x, y, f(x, y), grid=grid, variogram_model="gaussian")
    X, Y = grid.centres()
    assert np.sqrt(np.mean((est - f(X, Y)) ** 2)) < 0.3
    assert np.all(var >= -1e-9)


def test_write_cog_sets_crs_nodata_transform_overviews(tmp_path):
    grid = hs.Grid(500000.0, 4000000.0, 10.0, 600, 400, CRS)
    a = np.random.default_rng(3).random((400, 600))
    a[:10, :10] = np.nan
    p = hs.write_cog(tmp_path / "h.tif", {"enh": a, "dens": a * 2}, grid=grid, nodata=-9999.0)
    with rasterio.open(p) as ds:
        assert ds.crs.to_epsg() == 32651 and ds.nodata == -9999.0
        assert ds.transform == grid.transform and ds.count == 2 and ds.descriptions == ("enh", "dens")
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.overviews(1) and ds.profile["tiled"]
        b = ds.read(1)
        assert b[0, 0] == -9999.0
        np.testing.assert_allclose(b[20:, 20:], a[20:, 20:].astype("float32"))
    assert [f.name for f in tmp_path.iterdir()] == ["h.tif"]  # no temp file left behind


def test_write_cog_needs_a_crs(tmp_path):
    with pytest.raises(InputError, match="CRS"):
        hs.write_cog(tmp_path / "x.tif", np.zeros((2, 2)), grid=hs.Grid(0, 0, 1, 2, 2, None))


def test_fdr_bh_known_values():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    q = hs.fdr_bh(p)
    np.testing.assert_allclose(q[:4], [0.02, 0.04, 0.04, 0.02])
    assert np.isnan(q[4])


def _points(x, y, v):
    return gpd.GeoDataFrame({"v": v}, geometry=shapely.points(x, y), crs=CRS)


def test_gi_star_finds_a_planted_cluster_and_nothing_in_noise():
    rng = np.random.default_rng(4)
    gx, gy = np.meshgrid(np.arange(0, 1500, 30.0), np.arange(0, 1500, 30.0))
    x, y = gx.ravel(), gy.ravel()
    noise = rng.normal(0, 1, len(x))
    clean = hs.getis_ord(_points(x, y, noise), value="v", distance_m=90.0)
    assert (clean["hot_confidence"] > 0).sum() <= 2  # FDR keeps false discoveries rare
    planted = noise + 4 * (np.hypot(x - 750, y - 750) < 120)
    gi = hs.getis_ord(_points(x, y, planted), value="v", distance_m=90.0)
    inside = np.hypot(x - 750, y - 750) < 60
    assert (gi.loc[inside, "hot_confidence"] == 99).all()
    assert (gi.loc[np.hypot(x - 750, y - 750) > 400, "hot_confidence"] == 0).mean() > 0.98
    # 90 m band on a 30 m grid: 28 lattice points within 90 m of an inner point (self excluded)
    assert gi["n_neighbours"].max() == 28 and gi["n_neighbours"].min() == 10


def test_gi_star_matches_esda_analytic_z():
    import esda
    from libpysal.weights import DistanceBand

    rng = np.random.default_rng(5)
    x, y, v = rng.uniform(0, 500, 200), rng.uniform(0, 500, 200), rng.gamma(2, 2, 200)
    gi = hs.getis_ord(_points(x, y, v), value="v", distance_m=80.0)
    w = DistanceBand(np.c_[x, y], threshold=80.0, binary=True, silence_warnings=True)
    ref = esda.G_Local(v, w, transform="B", permutations=0, star=True)
    np.testing.assert_allclose(gi["gi_z"], ref.Zs, rtol=1e-9)


def _esda_gi_star(coords, v, distance_m):
    """The reference: esda G_Local(star=True) on binary band weights from the full distance matrix.

    Built from pairwise distances (not libpysal's ``DistanceBand``, which drops coincident
    features: a distance of 0 is stored as no link), so duplicates count as neighbours."""
    import esda
    from libpysal.graph import Graph
    from scipy import sparse
    from scipy.spatial.distance import cdist

    d = cdist(coords, coords)
    adj = (d <= distance_m) & ~np.eye(len(coords), dtype=bool)
    w = Graph.from_sparse(sparse.csr_matrix(adj.astype(float)))
    return esda.G_Local(v, w, transform="B", permutations=0, star=True), adj.sum(axis=1)


@pytest.mark.parametrize("kind", ["points", "lines", "cells"])
def test_gi_star_z_equals_esda_on_lines_cells_duplicates_and_isolated_features(kind):
    rng = np.random.default_rng(8)
    n = 600
    x, y = rng.uniform(0, 2000, n), rng.uniform(0, 2000, n)
    x[:20], y[:20] = x[20:40], y[20:40]  # duplicates: distance 0 is within the band
    x[-3:], y[-3:] = [5000.0, 6000.0, 7000.0], [5000.0, 6000.0, 7000.0]  # isolated: self only
    v = rng.gamma(2, 2, n) + 6 * (np.hypot(x - 1000, y - 1000) < 200)
    geom = {"points": shapely.points(x, y),
            "lines": shapely.linestrings(np.stack([np.c_[x - 10, y], np.c_[x + 10, y]], axis=1)),
            "cells": shapely.box(x - 5, y - 5, x + 5, y + 5)}[kind]
    feats = gpd.GeoDataFrame({"v": v}, geometry=geom, crs=CRS, index=np.arange(n) * 7)
    gi = hs.getis_ord(feats, value="v", distance_m=120.0)
    ref, card = _esda_gi_star(np.c_[x, y], v, 120.0)
    np.testing.assert_allclose(gi["gi_z"].to_numpy(), ref.Zs, rtol=1e-10, atol=1e-12)
    assert gi.index.equals(feats.index)
    np.testing.assert_array_equal(gi["n_neighbours"].to_numpy(), card)
    assert (gi["n_neighbours"].to_numpy()[-3:] == 0).all() and (gi["n_neighbours"].to_numpy()[:20] >= 1).all()
    assert (gi["hot_confidence"] > 0).any()


def test_gi_star_with_permutations_uses_the_same_weights():
    rng = np.random.default_rng(9)
    x, y = rng.uniform(0, 600, 150), rng.uniform(0, 600, 150)
    v = rng.gamma(2, 2, 150) + 8 * (np.hypot(x - 300, y - 300) < 80)
    analytic = hs.getis_ord(_points(x, y, v), value="v", distance_m=80.0)
    perm = hs.getis_ord(_points(x, y, v), value="v", distance_m=80.0, permutations=199, seed=3)
    np.testing.assert_array_equal(perm["n_neighbours"], analytic["n_neighbours"])
    # a different inference, the same statistic: the two z-scores rank the features alike
    ok = analytic["n_neighbours"].to_numpy() > 0  # alone in its band: no permutation, no z
    assert np.isnan(perm["gi_z"].to_numpy()[~ok]).all() and (perm["hot_confidence"][~ok] == 0).all()
    assert np.corrcoef(perm["gi_z"][ok], analytic["gi_z"][ok])[0, 1] > 0.9
    centre = np.argmin(np.hypot(x - 300, y - 300))
    assert perm["gi_z"].iloc[centre] > 2 and analytic["gi_z"].iloc[centre] > 2


def test_gi_star_refuses_geographic_coordinates():
    g = _points([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(InputError, match="metric"):
        hs.getis_ord(g, value="v", distance_m=10)


def test_hotspot_polygons_are_nested_by_confidence():
    rng = np.random.default_rng(6)
    gx, gy = np.meshgrid(np.arange(0, 1500, 30.0), np.arange(0, 1500, 30.0))
    x, y = gx.ravel(), gy.ravel()
    v = rng.normal(0, 1, len(x)) + 4 * (np.hypot(x - 750, y - 750) < 150)
    cells = gpd.GeoDataFrame({"v": v}, geometry=shapely.box(x - 15, y - 15, x + 15, y + 15), crs=CRS)
    gi = hs.getis_ord(cells, value="v", distance_m=90.0)
    polys = hs.hotspot_polygons(cells, gi, value="v")
    assert set(polys["confidence"]) == {90, 95, 99}
    p90 = polys[polys["confidence"] == 90].union_all()
    p99 = polys[polys["confidence"] == 99].union_all()
    assert p90.buffer(1.0).contains(p99) and p90.area >= p99.area
    assert p99.contains(shapely.Point(750, 750))
    assert polys["hotspot_id"].is_unique and polys.crs.to_epsg() == 32651


# --- hotspots only where there is signal (issue 13) ------------------------------------------


def test_the_rule_threshold_and_its_ties_to_event_detection():
    import inspect

    from ecopatrol.processing import plume

    rule = hs.HOTSPOT_RULE
    # the noise of the aggregate falls with the passes, never below the relative floor
    thr = rule.threshold([1, 4, 100], noise=2.0, background=20.0)
    np.testing.assert_allclose(thr, [rule.k_noise * 2.0, max(rule.k_noise * 1.0, 2.0), 2.0])
    # the relative test and the two-sample minimum are those of event detection
    assert rule.rel_background == inspect.signature(plume.annotate).parameters["rel_threshold"].default
    assert rule.min_samples == inspect.signature(plume.detect_events).parameters["min_samples"].default
    assert rule.k_noise >= inspect.signature(plume.annotate).parameters["k_sigma"].default


def test_hotspot_polygons_need_the_signal_and_two_samples():
    rng = np.random.default_rng(7)
    gx, gy = np.meshgrid(np.arange(0, 1500, 30.0), np.arange(0, 1500, 30.0))
    x, y = gx.ravel(), gy.ravel()
    r1, r2 = np.hypot(x - 400, y - 400), np.hypot(x - 1100, y - 1100)
    v = rng.normal(0, 1, len(x)) + 4 * (r1 < 150) + 4 * (r2 < 150)
    cells = gpd.GeoDataFrame({"v": v, "n_samples": 3, "n_passes": 1},
                             geometry=shapely.box(x - 15, y - 15, x + 15, y + 15), crs=CRS)
    gi = hs.getis_ord(cells, value="v", distance_m=90.0)
    assert len(hs.hotspot_polygons(cells, gi, value="v").dissolve().explode()) == 2  # Gi* alone: both clusters
    polys = hs.hotspot_polygons(cells, gi, value="v", signal=r1 < 150, min_samples=2)
    assert len(polys) and polys.union_all().distance(shapely.Point(1100, 1100)) > 300
    assert polys.union_all().contains(shapely.Point(400, 400)) and (polys["n_samples"] >= 2).all()
    lone = (r1 < 20)  # one cell of three samples: below four samples, no polygon
    assert len(hs.hotspot_polygons(cells, gi, value="v", signal=lone, min_samples=3)) == 3
    assert len(hs.hotspot_polygons(cells, gi, value="v", signal=lone, min_samples=4)) == 0
    mask = hs.signal_mask(cells, value="v", noise=1.0, background=5.0)
    assert mask.index.equals(cells.index) and set(mask.columns) == {"hot_threshold", "hot_signal"}
    assert mask["hot_signal"].sum() == (v > hs.HOTSPOT_RULE.k_noise).sum()


def _evidence(samples, out, species="tvoc_ugm3"):
    from ecopatrol.processing.evidence import build_evidence

    return build_evidence(samples, None, out_dir=out, species=species)


@pytest.mark.parametrize("noise", ["white", "correlated"])
def test_a_survey_of_pure_noise_gets_no_hotspot_polygon(noise, tmp_path):
    from plume_world import street_survey

    n_gi = 0
    for seed in range(5):
        r = _evidence(street_survey(seed, noise=noise), tmp_path / f"ev{seed}")
        rule = r.summary["hotspot_rule"]
        assert r.summary["n_hotspots"] == 0 == len(r.hotspots), (seed, rule)
        assert rule["segments"]["n_gi_significant_and_above"] == 0 and rule["why"].startswith("no hotspot")
        n_gi += rule["segments"]["n_gi_significant"]
        saved = json.loads((tmp_path / f"ev{seed}" / "evidence.json").read_text())["hotspot_rule"]
        assert saved["k_noise"] == hs.HOTSPOT_RULE.k_noise and saved["segments"]["n_polygons"] == 0
    if noise == "correlated":  # what the rule is for: Gi* alone calls correlated noise significant
        assert n_gi > 20


def test_a_plume_on_a_few_segments_gets_polygons_there(tmp_path):
    from plume_world import CRS_M, X0, Y0, street_survey

    centre = gpd.GeoSeries(shapely.points([X0 + 400.0], [Y0 + 500.0]), crs=CRS_M)
    for seed in range(3):  # a plume of 5 σ per sample at one crossing of two streets, driven twice
        r = _evidence(street_survey(seed, noise="correlated", plume=((400.0, 500.0), 30.0, 40.0)),
                      tmp_path / f"ev{seed}")
        hot = r.hotspots.to_crs(r.grid.crs)
        assert len(hot) >= 1 and r.summary["hotspot_rule"]["why"].endswith(f"{len(hot)} polygons")
        assert (hot.distance(centre.to_crs(r.grid.crs).iloc[0]) <= 100.0).all()
        seg = r.segments
        inside = seg[seg["hot_signal"] & (seg["hot_confidence"] > 0)]
        assert len(inside) and (inside["tvoc_ugm3_enh"] > inside["hot_threshold"]).all()


@pytest.fixture(scope="module")
def picarro_plumes(shared_data):
    """The real Picarro survey with several plume crossings, georeferenced with its 4 s inlet lag."""
    from ecopatrol.processing.georef import georeference

    path = shared_data / "mobile" / "cfads_20170315-155022Z.dat"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return georeference([], [path], lag=4.0).samples


def test_a_real_flat_survey_gets_no_hotspot_polygon(picarro_plumes, tmp_path):
    # the last 11 minutes of the drive, after its last plume: CH4 within 1.97-2.11 ppm, no event
    t = pd.to_datetime(picarro_plumes["time_utc"], utc=True)
    flat = picarro_plumes[(t >= pd.Timestamp("2017-03-15T16:17:00Z")).to_numpy()].reset_index(drop=True)
    assert flat["ch4_ppm"].max() - flat["ch4_ppm"].min() < 0.15
    r = _evidence(flat, tmp_path / "ev", species="ch4_ppm")
    rule = r.summary["hotspot_rule"]["segments"]
    assert r.summary["n_events"] == 0
    assert rule["n_gi_significant"] > 0  # Gi* alone would draw hotspots here (the issue)
    assert r.summary["n_hotspots"] == 0 and rule["n_gi_significant_and_above"] == 0


def test_a_real_plume_survey_gets_polygons_at_its_plumes(picarro_plumes, tmp_path):
    r = _evidence(picarro_plumes, tmp_path / "ev", species="ch4_ppm")
    assert r.summary["n_events"] >= 3 and r.summary["n_hotspots"] >= 1
    crs = r.grid.crs
    peaks = r.events.to_crs(crs).geometry.union_all()
    for g in r.hotspots.to_crs(crs).geometry:
        assert g.distance(peaks) <= 100.0  # where the plumes were crossed
