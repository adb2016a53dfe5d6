"""Simulator kinematics and instrument models (private plumbing of ecopatrol.missions.simulate)."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecopatrol.missions import _instruments as ins
from ecopatrol.missions import _world as wd
from ecopatrol.missions._writers import nmea_checksums


def _square(side_m=200.0):
    return np.array([[0, 0, 0], [side_m, 0, 0], [side_m, side_m, 0], [0, side_m, 0], [0, 0, 0]], float)


def test_profile_goes_through_every_vertex_and_stops_at_the_end():
    P = _square()
    prof = ins.build_profile(P, np.full(4, 5.0), np.zeros(5), t_start_s=100.0, accel_m_s2=2.0, corner="drone")
    assert prof.distance_m == pytest.approx(800.0)
    t = np.linspace(90.0, prof.t_end_s + 10, 20001)
    pos, vel = prof.state(t)
    for v in P:
        assert np.min(np.linalg.norm(pos - v, axis=1)) < 0.05
    np.testing.assert_allclose(pos[0], P[0])
    np.testing.assert_allclose(pos[-1], P[-1], atol=1e-9)
    assert np.all(np.linalg.norm(vel[t < 100.0], axis=1) == 0)
    # 90° corners of a drone are flown at a quarter of the cruise speed or less
    corner_t = t[np.argmin(np.linalg.norm(pos - P[1], axis=1))]
    assert np.linalg.norm(prof.state([corner_t])[1]) <= 5.0 * 0.25 + 0.05


def test_holds_stop_the_platform_for_the_hold_time():
    P = np.array([[0, 0, 0], [100, 0, 0], [200, 0, 0]], float)
    no_hold = ins.build_profile(P, np.full(2, 4.0), np.zeros(3), t_start_s=0, accel_m_s2=1.0, corner="van")
    held = ins.build_profile(P, np.full(2, 4.0), np.array([0, 30.0, 0]), t_start_s=0, accel_m_s2=1.0, corner="van")
    # a hold costs its 30 s plus stopping and restarting: 8 s over 16 m instead of 4 s at 4 m/s
    assert held.duration_s - no_hold.duration_s == pytest.approx(30.0 + 4.0, abs=0.01)
    t = np.arange(0, held.t_end_s, 0.1)
    pos, vel = held.state(t)
    stopped = (np.abs(pos[:, 0] - 100.0) < 1e-6) & (np.linalg.norm(vel, axis=1) == 0)
    assert stopped.sum() * 0.1 == pytest.approx(30.0, abs=0.2)


@settings(max_examples=40, deadline=None)
@given(
    pts=st.lists(st.tuples(st.floats(-500, 500), st.floats(-500, 500), st.floats(0, 100)), min_size=2, max_size=8),
    speed=st.floats(1.0, 15.0),
    accel=st.floats(0.5, 3.0),
)
def test_profile_respects_speed_and_acceleration_limits(pts, speed, accel):
    P = np.array(pts, float)
    prof = ins.build_profile(P, np.full(len(P) - 1, speed), np.zeros(len(P)), t_start_s=0.0,
                             accel_m_s2=accel, corner="drone")
    dt = 0.05
    t = np.arange(0.0, prof.t_end_s + 1.0, dt)
    pos, vel = prof.state(t)
    v = np.linalg.norm(vel, axis=1)
    assert np.all(v <= speed + 1e-6)
    assert np.all(np.abs(np.diff(v)) <= accel * dt + 1e-6)
    # positions are continuous and the path length matches the polyline
    step = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    assert np.all(step <= speed * dt + 1e-6)
    poly = np.linalg.norm(np.diff(P, axis=0), axis=1).sum()
    assert prof.distance_m == pytest.approx(poly, rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(pos[-1], P[-1], atol=1e-6)


def test_nmea_checksums_match_a_plain_xor():
    bodies = np.array(["GPGGA,010203.00,3623.40000,N,12027.00000,E,1,09,0.9,20.0,M,7.0,M,,", "GPRMC,", "A"])
    expected = [reduce(lambda a, c: a ^ ord(c), b, 0) for b in bodies]
    assert nmea_checksums(bodies).tolist() == expected
    # a sentence from a real receiver manual: $GPGGA,...*47
    real = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    assert nmea_checksums(np.array([real]))[0] == 0x47


def test_ar1_is_stationary_with_unit_variance_and_deterministic():
    a = wd.ar1(200_000, 1.0, 10.0, wd.rng_for(1, "x"))
    b = wd.ar1(200_000, 1.0, 10.0, wd.rng_for(1, "x"))
    np.testing.assert_array_equal(a, b)
    assert a.std() == pytest.approx(1.0, abs=0.03)
    lag1 = np.corrcoef(a[:-1], a[1:])[0, 1]
    assert lag1 == pytest.approx(np.exp(-0.1), abs=0.01)


def test_analyser_times_carry_offset_and_lag():
    spec = ins.AnalyserSpec(clock_offset_s=-37.4, lag_s=9.3)
    stamps, true_stamp, draw = ins.analyser_times(spec, 0.0, 600.0, 1_700_000_000.0)
    assert np.all(stamps == np.round(stamps)) and np.all(np.diff(stamps) == 1.0)
    np.testing.assert_allclose(stamps - 1_700_000_000.0 - true_stamp, -37.4, atol=1e-6)
    np.testing.assert_allclose(true_stamp - draw, 9.3, atol=1e-9)


def test_puffs_keep_the_mean_plume():
    rng = wd.rng_for(0, "p")
    sd = 0.6
    z = wd.ar1(100_000, 1.0, wd.PUFF_TAU_S, rng)
    assert np.exp(sd * z - 0.5 * sd * sd).mean() == pytest.approx(1.0, abs=0.03)


def test_species_conversion_at_25c():
    # 1 ppb benzene = 78.11 / 24.465 µg/m³ at 25 °C
    assert wd.ugm3_to_ppb(78.11 / 24.465, "benzene") == pytest.approx(1.0)
