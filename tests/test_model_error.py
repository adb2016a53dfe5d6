"""The mean plume over model uncertainty (processing.model_error): its limits and its mass."""

import numpy as np
import pytest

from ecopatrol.core.dispersion import unit_concentration_matrix
from ecopatrol.processing import model_error as me


def _grid():
    x = np.full(401, 500.0)  # a crosswind line 500 m downwind of a source at the origin, wind from the south
    y = np.linspace(-400, 400, 401)
    return y, x  # receptor (east, north): the line runs east–west at 500 m north


def test_disabled_is_the_nominal_plume(monkeypatch):
    monkeypatch.setattr(me, "ENABLED", False)
    rx, ry = _grid()
    a = me.unit_matrix(rx, ry, np.full(401, 1.5), [0.0], [0.0], [20.0], [25.0], [4.0], 180.0, "D")
    b = unit_concentration_matrix(rx, ry, np.full(401, 1.5), [0.0], [0.0], [25.0], [4.0], 180.0, "D")
    np.testing.assert_array_equal(a, b)


def test_no_uncertainty_is_the_nominal_plume(monkeypatch):
    monkeypatch.setattr(me, "ENABLED", True)
    monkeypatch.setattr(me, "DIRECTION_SD_DEG", 0.0)
    monkeypatch.setattr(me, "SIGMA_LOG_SD", 0.0)
    monkeypatch.setattr(me, "WAKE_PROB_MAX", 0.0)
    rx, ry = _grid()
    a = me.unit_matrix(rx, ry, np.full(401, 1.5), [0.0], [0.0], [20.0], [25.0], [4.0], 180.0, "D")
    b = unit_concentration_matrix(rx, ry, np.full(401, 1.5), [0.0], [0.0], [25.0], [4.0], 180.0, "D")
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_direction_spread_widens_but_keeps_the_crosswind_integral(monkeypatch):
    monkeypatch.setattr(me, "ENABLED", True)
    monkeypatch.setattr(me, "SIGMA_LOG_SD", 0.0)
    monkeypatch.setattr(me, "WAKE_PROB_MAX", 0.0)
    rx, ry = _grid()
    z = np.full(401, 1.5)
    nominal = unit_concentration_matrix(rx, ry, z, [0.0], [0.0], [5.0], [4.0], 180.0, "D")[:, 0]
    monkeypatch.setattr(me, "DIRECTION_SD_DEG", 10.0)
    wide = me.unit_matrix(rx, ry, z, [0.0], [0.0], [5.0], [5.0], [4.0], 180.0, "D")[:, 0]
    assert wide.max() < 0.6 * nominal.max()  # σy 39 m → √(39² + 88²) m at 500 m
    assert wide.sum() == pytest.approx(nominal.sum(), rel=0.01)  # the same mass crosses the line


def test_wake_probability_falls_with_stack_height():
    p = me.wake_probability(np.array([5.0, 15.0, 32.5, 50.0, 80.0]))
    np.testing.assert_allclose(p, [me.WAKE_PROB_MAX, me.WAKE_PROB_MAX, me.WAKE_PROB_MAX / 2, 0.0, 0.0])
