""""Confirmed" plumes: seen at least twice independently (processing.plume.CONFIRM_RULE)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from plume_world import CRS_M, X0, Y0

from ecopatrol.core.crs import xy_to_lonlat
from ecopatrol.processing import plume
from ecopatrol.processing.plume import CONFIRM_RULE

T0 = pd.Timestamp("2026-05-12T02:00:00Z")


def track(x_m, y_m, conc, *, pass_id=1, t0=T0):
    """1 Hz van samples at metric positions (relative to the test origin)."""
    lon, lat = xy_to_lonlat(X0 + np.asarray(x_m, float), Y0 + np.asarray(y_m, float), CRS_M)
    df = pd.DataFrame({
        "time_utc": pd.Timestamp(t0) + pd.to_timedelta(np.arange(len(lon)), unit="s"),
        "platform_id": "van1", "mission_id": "R01", "pass_id": pass_id, "lon": lon, "lat": lat,
        "alt_agl_m": 2.5, "tvoc_ugm3": np.asarray(conc, float), "wind_from_deg": 270.0, "wind_speed_m_s": 4.0,
    })
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def bump(r, centre, width, height):
    return height * np.exp(-0.5 * ((r - centre) / width) ** 2)


def street(y0, y1, *, x=0.0, pass_id=1, t0=T0, speed_m_s=8.0, plume_at=(0.0, 0.0), height=20.0, seed=0):
    """A straight drive from ``(x, y0)`` to ``(x, y1)`` (or along x when ``x`` is None: then
    ``y0, y1`` are x positions on the line y = 0) through a plume at ``plume_at``."""
    rng = np.random.default_rng(seed)
    s = np.arange(y0, y1, np.sign(y1 - y0) * speed_m_s)
    if x is None:
        xx, yy = s, np.zeros(len(s))
    else:
        xx, yy = np.full(len(s), x), s
    r = np.hypot(xx - plume_at[0], yy - plume_at[1])
    c = 30 + bump(r, 0.0, 50.0, height) + rng.normal(0, 0.8, len(s))
    return track(xx, yy, c, pass_id=pass_id, t0=t0)


def events(*parts):
    df = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    ev, _ = plume.detect_events(plume.annotate(df))
    return ev


def test_two_fragments_of_one_traversal_are_not_confirmed():
    """One drive through one plume, cut into two passes in the middle of the crossing (as a
    spurious stop or a GPS glitch cut it before): two events a second apart, same direction."""
    a = street(-1500, 1500, seed=1)
    a["pass_id"] = np.where(np.arange(len(a)) < len(a) // 2, 1, 2)
    ev = events(a)
    assert len(ev) == 2 and ev["plume_id"].nunique() == 1 and (ev["n_passes"] == 2).all()
    assert not ev["confirmed"].any() and (ev["n_independent"] == 1).all()


def test_two_passes_five_minutes_apart_are_confirmed():
    a = street(-1500, 1500, pass_id=1, seed=2)
    b = street(-1500, 1500, pass_id=2, t0=T0 + pd.Timedelta(minutes=5) + pd.Timedelta(seconds=len(a)), seed=3)
    ev = events(a, b)
    assert len(ev) == 2 and ev["confirmed"].all() and (ev["n_independent"] == 2).all()


def test_back_the_other_way_right_after_a_u_turn_is_confirmed():
    """Opposite directions are independent even 30 s apart: another cross-section of the plume."""
    a = street(-400, 400, pass_id=1, seed=4)
    b = street(400, -400, pass_id=2, t0=T0 + pd.Timedelta(seconds=len(a) + 5), seed=5)
    ev = events(a, b)
    gap_s = (ev["start_utc"].max() - ev["end_utc"].min()).total_seconds()
    assert gap_s < CONFIRM_RULE.min_separation_s
    assert len(ev) == 2 and ev["confirmed"].all()


def test_a_crossing_street_confirms_and_the_same_direction_soon_after_does_not():
    a = street(-400, 400, pass_id=1, seed=6)  # northbound through the plume at (0, 0)
    b = street(-400, 400, x=None, pass_id=2, t0=T0 + pd.Timedelta(seconds=len(a) + 10), seed=7)  # eastbound
    ev = events(a, b)
    assert len(ev) == 2 and ev["confirmed"].all()
    # northbound again 10 s later (a loop round a small block): the same cross-section, too soon
    c = street(-400, 400, pass_id=2, t0=T0 + pd.Timedelta(seconds=len(a) + 10), seed=8)
    ev = events(a, c)
    assert len(ev) == 2 and not ev["confirmed"].any()


def test_a_parked_van_seeing_a_plume_come_back_is_one_pass_not_confirmed():
    """One stationary pass: the plume meandering back over a parked van is no second traversal."""
    t = np.arange(600)
    c = 30 + bump(t, 100, 15, 20) + bump(t, 400, 15, 20) + np.random.default_rng(9).normal(0, 0.8, len(t))
    ev = events(track(np.zeros(len(t)), np.zeros(len(t)), c, pass_id=1))
    assert len(ev) == 2 and not ev["confirmed"].any()


def test_sightings_are_counted_in_time_order():
    """Three drives the same way: the second starts right after the first (its sighting ~90 s
    after the first one), the third 6 minutes later — two independent sightings."""
    parts = [street(-400, 400, pass_id=k + 1, t0=T0 + pd.Timedelta(seconds=s), seed=10 + k)
             for k, s in enumerate((0, 105, 360))]
    ev = events(*parts).sort_values("start_utc")
    assert len(ev) == 3 and ev["plume_id"].nunique() == 1
    assert (ev["start_utc"].iloc[1] - ev["end_utc"].iloc[0]).total_seconds() < CONFIRM_RULE.min_separation_s
    assert ev["confirmed"].all() and (ev["n_independent"] == 2).all()


@pytest.mark.parametrize("field", ["min_separation_s", "min_turn_deg"])
def test_the_rule_says_its_constants(field):
    assert f"{getattr(CONFIRM_RULE, field):g}" in CONFIRM_RULE.describe()
