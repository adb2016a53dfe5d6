"""The defaults live in ``ecopatrol.core.settings`` and the modules use them from there."""

from __future__ import annotations

from ecopatrol.core import settings


def test_modules_take_their_defaults_from_settings():
    from ecopatrol._planopts import DEFAULT_TIMEZONE
    from ecopatrol.core.registry import DEFAULT_SITE_RADIUS_M
    from ecopatrol.maps._style import TIMEZONE_DISPLAY
    from ecopatrol.missions import simulate
    from ecopatrol.missions._writers import LOCAL_TZ
    from ecopatrol.missions.drone import patterns
    from ecopatrol.missions.van import legs
    from ecopatrol.processing._evidence_util import DEFAULT_INLET_AGL_M
    from ecopatrol.processing._time import DEFAULT_LOCAL_TZ

    assert DEFAULT_TIMEZONE == TIMEZONE_DISPLAY == LOCAL_TZ == DEFAULT_LOCAL_TZ == settings.DEFAULT_TIMEZONE
    assert DEFAULT_INLET_AGL_M == simulate.VAN_INLET_AGL_M == settings.GROUND_INLET_AGL_M
    assert legs.DEFAULT_STACK_HEIGHT_M == settings.UNKNOWN_STACK_HEIGHT_VAN_M
    assert patterns.DEFAULT_STACK_HEIGHT_M == settings.UNKNOWN_STACK_HEIGHT_DRONE_M
    assert DEFAULT_SITE_RADIUS_M == settings.DEFAULT_SITE_RADIUS_M


def test_area_without_wind_defaults_takes_the_settings_wind(tmp_path):
    from ecopatrol.core.area import Area

    a = Area.__new__(Area)
    a.config = {}
    w = a.default_wind()
    assert (w.from_deg, w.speed_m_s) == (settings.DEFAULT_WIND_FROM_DEG, settings.DEFAULT_WIND_SPEED_M_S)
