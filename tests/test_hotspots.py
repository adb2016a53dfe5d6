"""Kernel density, IDW, kriging, COG writing, Gi* with FDR and hotspot polygons."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
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
    assert gi["n_neighbours"].median() == pytest.approx(29, abs=2)  # 90 m band on a 30 m grid, self incl.


def test_gi_star_matches_esda_analytic_z():
    import esda
    from libpysal.weights import DistanceBand

    rng = np.random.default_rng(5)
    x, y, v = rng.uniform(0, 500, 200), rng.uniform(0, 500, 200), rng.gamma(2, 2, 200)
    gi = hs.getis_ord(_points(x, y, v), value="v", distance_m=80.0)
    w = DistanceBand(np.c_[x, y], threshold=80.0, binary=True, silence_warnings=True)
    ref = esda.G_Local(v, w, transform="B", permutations=0, star=True)
    np.testing.assert_allclose(gi["gi_z"], ref.Zs, rtol=1e-9)


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
