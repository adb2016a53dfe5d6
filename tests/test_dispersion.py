"""Pins the shared Gaussian plume model (core.dispersion) on textbook and analytic cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ecopatrol.core import dispersion as d
from ecopatrol.core.errors import InputError
from hypothesis import given, settings
from hypothesis import strategies as st

# --- De Visscher (2014), Air Dispersion Modeling, Example 2.1 --------------------------------
# Q = 100 g/s, u = 7 m/s, H = 90 m, class D, Briggs rural, x = 1500 m.

def test_de_visscher_example_2_1_sigmas():
    sy, sz = d.sigmas(1500.0, "D", scheme="briggs_rural")
    assert sy == pytest.approx(111.9, abs=0.1)
    assert sz == pytest.approx(49.9, abs=0.1)


def test_de_visscher_example_2_1_concentrations():
    c0 = d.gaussian_plume(100.0, 7.0, 1500.0, 0.0, 0.0, 90.0, "D")
    c100 = d.gaussian_plume(100.0, 7.0, 1500.0, 100.0, 0.0, 90.0, "D")
    assert c0 == pytest.approx(160.3, abs=0.3)
    assert c100 == pytest.approx(107.5, abs=0.3)


# --- Pasquill–Gifford (Turner 1970 curves, ISC3 power-law fits) ------------------------------

@pytest.mark.parametrize(
    ("cls", "sy_m", "sz_m"),
    [("D", 68.1, 32.1),   # Turner workbook: class D, 1 km: σy ≈ 68 m, σz ≈ 32 m
     ("F", 33.9, 14.0),   # class F, 1 km: σy ≈ 34 m, σz ≈ 14 m
     ("B", 154.1, 109.3)],  # class B, 1 km (ISC3 fit): σy ≈ 154 m, σz ≈ 109 m
)
def test_pasquill_gifford_at_one_km(cls, sy_m, sz_m):
    sy, sz = d.sigmas(1000.0, cls, scheme="pasquill_gifford")
    assert sy == pytest.approx(sy_m, rel=0.01)
    assert sz == pytest.approx(sz_m, rel=0.01)


def test_sigmas_grow_downwind_and_with_instability():
    xs = np.geomspace(50, 10_000, 50)
    for scheme in ("briggs_rural", "briggs_urban", "pasquill_gifford"):
        prev_sz = None
        for cls in "ABCDEF":
            sy, sz = d.sigmas(xs, cls, scheme=scheme)
            assert np.all(np.diff(sy) > 0), (scheme, cls)
            assert np.all(np.diff(sz) >= 0), (scheme, cls)
            if prev_sz is not None:  # more stable → narrower at 1 km
                i = np.searchsorted(xs, 1000)
                assert sz[i] <= prev_sz[i] + 1e-9, (scheme, cls)
            prev_sz = sz


def test_upwind_is_nan_sigma_and_zero_concentration():
    sy, sz = d.sigmas(np.array([-10.0, 0.0]), "D")
    assert np.all(np.isnan(sy)) and np.all(np.isnan(sz))
    c = d.gaussian_plume(10.0, 3.0, np.array([-100.0, 0.0]), 0.0, 0.0, 20.0, "D")
    np.testing.assert_array_equal(c, [0.0, 0.0])


def test_bad_stability_class_is_an_input_error():
    with pytest.raises(InputError, match="stability"):
        d.sigmas(100.0, "G")


# --- ground reflection and mass conservation -------------------------------------------------

def test_ground_level_source_doubles_at_z0():
    """For H = 0 the reflected image coincides: C(z=0) is twice the unbounded plume."""
    q, u, x = 5.0, 4.0, 400.0
    sy, sz = d.sigmas(x, "C")
    unbounded = q / (2 * math.pi * u * sy * sz) * 1e6
    assert d.gaussian_plume(q, u, x, 0.0, 0.0, 0.0, "C") == pytest.approx(2 * unbounded, rel=1e-12)


def test_reflection_matches_image_source_sum():
    q, u, x, h, z = 2.0, 5.0, 800.0, 40.0, 10.0
    sy, sz = d.sigmas(x, "D")
    direct = math.exp(-0.5 * ((z - h) / sz) ** 2)
    image = math.exp(-0.5 * ((z + h) / sz) ** 2)
    expected = q / (2 * math.pi * u * sy * sz) * (direct + image) * 1e6
    assert d.gaussian_plume(q, u, x, 0.0, z, h, "D") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("cls", "scheme", "x_m", "h_m"),
                         [("D", "briggs_rural", 500.0, 30.0), ("B", "briggs_urban", 1200.0, 60.0),
                          ("F", "pasquill_gifford", 2000.0, 10.0), ("C", "briggs_rural", 150.0, 0.0)])
def test_mass_conservation_over_a_crosswind_plane(cls, scheme, x_m, h_m):
    """∫∫ C u dy dz over the half-space plane z ≥ 0 returns the emitted rate Q."""
    q, u = 7.5, 3.5
    sy, sz = d.sigmas(x_m, cls, scheme=scheme)
    y = np.linspace(-8 * sy, 8 * sy, 801)
    z = np.linspace(0.0, h_m + 8 * sz, 801)
    yy, zz = np.meshgrid(y, z)
    c = d.gaussian_plume(q, u, x_m, yy, zz, h_m, cls, scheme=scheme)  # µg/m³
    flux_g_s = np.trapezoid(np.trapezoid(c * u, y, axis=1), z) * 1e-6
    assert flux_g_s == pytest.approx(q, rel=2e-3)


@settings(max_examples=40, deadline=None)
@given(q=st.floats(0.01, 500), u=st.floats(0.5, 20), x=st.floats(20, 20_000),
       y=st.floats(-500, 500), h=st.floats(0, 200), cls=st.sampled_from("ABCDEF"))
def test_concentration_linear_in_rate_and_symmetric_crosswind(q, u, x, y, h, cls):
    c1 = d.gaussian_plume(q, u, x, y, 1.5, h, cls)
    assert c1 >= 0
    assert d.gaussian_plume(2 * q, u, x, y, 1.5, h, cls) == pytest.approx(2 * c1, rel=1e-9, abs=1e-300)
    assert d.gaussian_plume(q, u, x, -y, 1.5, h, cls) == pytest.approx(c1, rel=1e-9, abs=1e-300)


# --- Briggs plume rise -----------------------------------------------------------------------

def test_buoyancy_flux_textbook_value():
    # v = 10 m/s, d = 2 m, Ts = 400 K, Ta = 293.15 K: F = g v d² ΔT / (4 Ts)
    fb = d.buoyancy_flux_m4_s3(10.0, 2.0, 400.0)
    assert fb == pytest.approx(9.80665 * 10 * 4 * (400 - 293.15) / 1600, rel=1e-12)
    assert d.buoyancy_flux_m4_s3(10.0, 2.0, 280.0) == 0.0


def test_plume_rise_final_values_and_sanity():
    kw = {"exit_velocity_m_s": 10.0, "diameter_m": 2.0, "exit_temp_k": 400.0}
    fb = d.buoyancy_flux_m4_s3(10.0, 2.0, 400.0)  # ≈ 26.2 m⁴/s³ (< 55)
    final_d = d.plume_rise_m(np.inf, 5.0, stability="D", **kw)
    assert final_d == pytest.approx(21.425 * fb**0.75 / 5.0, rel=1e-9)
    # transitional rise grows with distance and never exceeds the final rise
    xs = np.array([10.0, 50.0, 200.0, 1000.0, 5000.0])
    rise = d.plume_rise_m(xs, 5.0, stability="D", **kw)
    assert np.all(np.diff(rise) >= 0) and np.all(rise <= final_d + 1e-9)
    # stronger wind bends the plume over: less rise
    assert d.plume_rise_m(np.inf, 10.0, stability="D", **kw) < final_d
    # stable air caps the rise below the neutral value here
    assert d.plume_rise_m(np.inf, 5.0, stability="F", **kw) < final_d
    # a cold jet still rises by momentum (3 d v / u)
    cold = d.plume_rise_m(1000.0, 5.0, exit_velocity_m_s=10.0, diameter_m=1.0, exit_temp_k=280.0, stability="D")
    assert cold == pytest.approx(3 * 1.0 * 10.0 / 5.0)


def test_cold_jet_final_rise_is_momentum_rise():
    cold = d.plume_rise_m(np.inf, 5.0, exit_velocity_m_s=10.0, diameter_m=1.0, exit_temp_k=280.0, stability="D")
    assert cold == pytest.approx(6.0)


def test_effective_height_without_exit_data_is_stack_height():
    h, u = d.effective_height_m(np.array([15.0, 40.0]), 4.0, "D")
    np.testing.assert_array_equal(h, [15.0, 40.0])
    assert np.all(u >= 4.0)


def test_unit_concentration_matrix_shape_and_downwind_only():
    # wind from the west (270): receptors east of the source are downwind
    rx = np.array([500.0, -500.0, 500.0])
    ry = np.array([0.0, 0.0, 300.0])
    m = d.unit_concentration_matrix(rx, ry, np.full(3, 2.0), [0.0], [0.0], [20.0], [4.0], 270.0, "D")
    assert m.shape == (3, 1)
    assert m[0, 0] > m[2, 0] > 0.0
    assert m[1, 0] == 0.0
    assert m[0, 0] == pytest.approx(d.gaussian_plume(1.0, 4.0, 500.0, 0.0, 2.0, 20.0, "D"))
