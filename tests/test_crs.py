import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecopatrol.core import crs
from ecopatrol.core.errors import InputError

# Published WGS-84 → GCJ-02 vectors, (lat, lon) as published.
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


@pytest.mark.parametrize(("wgs", "gcj"), VECTORS)
def test_published_wgs84_to_gcj02_vectors(wgs, gcj):
    lon, lat = crs.wgs84_to_gcj02(wgs[1], wgs[0])
    assert lon == pytest.approx(gcj[1], abs=1e-6)
    assert lat == pytest.approx(gcj[0], abs=1e-6)


def test_vectorised_matches_scalar():
    lats = np.array([v[0][0] for v in VECTORS])
    lons = np.array([v[0][1] for v in VECTORS])
    x, y = crs.wgs84_to_gcj02(lons, lats)
    for i, (_, gcj) in enumerate(VECTORS):
        assert x[i] == pytest.approx(gcj[1], abs=1e-6)
        assert y[i] == pytest.approx(gcj[0], abs=1e-6)


def test_outside_china_offsets_are_zero():
    for lon, lat in [(-122.27, 37.80), (2.35, 48.85), (139.69, 35.68)]:
        assert crs.wgs84_to_gcj02(lon, lat) == (lon, lat)
        assert crs.gcj02_to_wgs84(lon, lat) == pytest.approx((lon, lat), abs=1e-12)


def test_offset_magnitude_in_qingdao_is_hundreds_of_metres():
    lon, lat = 120.45, 36.39
    g = crs.wgs84_to_gcj02(lon, lat)
    d = crs.haversine_m(lon, lat, *g)
    assert 200 < d < 700


china_lon = st.floats(min_value=73.6, max_value=134.7, allow_nan=False)
china_lat = st.floats(min_value=18.2, max_value=53.5, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip_below_one_centimetre(lon, lat):
    g = crs.wgs84_to_gcj02(lon, lat)
    back = crs.gcj02_to_wgs84(*g)
    assert crs.haversine_m(lon, lat, *back) < 0.01


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trip_below_one_centimetre(lon, lat):
    b = crs.wgs84_to_bd09(lon, lat)
    back = crs.bd09_to_wgs84(*b)
    assert crs.haversine_m(lon, lat, *back) < 0.01


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_lon_lat_order_is_preserved(lon, lat):
    # The offset is at most ~1 km: a swapped (lat, lon) would move the point by thousands of km.
    x, y = crs.convert(lon, lat, "wgs84", "gcj02")
    assert abs(x - lon) < 0.02 and abs(y - lat) < 0.02
    x, y = crs.convert(lon, lat, "gcj02", "bd09")
    assert abs(x - lon) < 0.03 and abs(y - lat) < 0.03


def test_bd09_uses_x_pi():
    assert crs.BD09_X_PI == pytest.approx(np.pi * 3000.0 / 180.0)
    # A GCJ-02 point and its BD-09 counterpart differ by ~0.0065°/0.006° (Baidu's offsets).
    x, y = crs.gcj02_to_bd09(116.404, 39.915)
    assert x - 116.404 == pytest.approx(0.0065, abs=0.0005)
    assert y - 39.915 == pytest.approx(0.006, abs=0.0006)


def test_cgcs2000_is_wgs84():
    assert crs.convert(120.45, 36.39, "cgcs2000", "wgs84") == pytest.approx((120.45, 36.39))


def test_unknown_crs_is_a_clear_error():
    with pytest.raises(InputError, match="wgs84, cgcs2000, gcj02, bd09"):
        crs.convert(120, 36, "mars", "wgs84")


def test_local_metric_crs_picks_one_utm_zone_for_qingdao():
    # Qingdao straddles zones 50 and 51 at 120°E: the data's median decides.
    c = crs.local_metric_crs(np.array([119.9, 120.2, 120.5]), np.array([36.3, 36.4, 36.5]))
    assert c.to_epsg() == 32651
    assert crs.local_metric_crs(119.8, 36.0).to_epsg() == 32650
    assert crs.local_metric_crs(120.45, 36.39, kind="gk3").to_epsg() == 4549


def test_project_and_back_round_trips(jimo):
    gdf = jimo.enterprises.head(20)
    proj = crs.project_gdf(gdf)
    assert proj.crs.is_projected
    back = crs.unproject_gdf(proj)
    np.testing.assert_allclose(back.geometry.x, gdf.geometry.x, atol=1e-9)
    assert gdf.crs.to_epsg() == 4326  # input unchanged


def test_lonlat_xy_helpers_round_trip():
    c = crs.local_metric_crs(120.45, 36.39)
    x, y = crs.lonlat_to_xy([120.45, 120.46], [36.39, 36.40], c)
    assert np.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(crs.haversine_m(120.45, 36.39, 120.46, 36.40), rel=2e-3)
    lon, lat = crs.xy_to_lonlat(x, y, c)
    np.testing.assert_allclose(lon, [120.45, 120.46], atol=1e-9)


def test_cold_stack_has_momentum_rise_only_and_a_finite_plume():
    import numpy as _np

    from ecopatrol.core.dispersion import effective_height_m, gaussian_plume, plume_rise_m

    rise = plume_rise_m(_np.inf, 5.0, exit_velocity_m_s=10.0, diameter_m=1.0, exit_temp_k=290.0, stability="D")
    assert rise == pytest.approx(3 * 1.0 * 10.0 / 5.0)
    h, u = effective_height_m([20.0], 4.0, "D", exit_velocity_m_s=[5.0], diameter_m=[1.0], exit_temp_k=[290.0])
    assert _np.isfinite(h).all()
    assert gaussian_plume(1.0, u[0], 500.0, 0.0, 0.0, h[0], "D") > 0
