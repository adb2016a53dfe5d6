"""Background, events and aggregation on small inline sample frames."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from plume_world import CRS_M, X0, Y0

from ecopatrol.core.crs import xy_to_lonlat
from ecopatrol.core.errors import InputError
from ecopatrol.processing import aggregate, plume


def track(x_m, y_m, conc, *, pass_id=1, platform="van1", t0="2026-05-12T02:00:00Z", dt_s=1.0, mission="R01"):
    """Samples along metric positions (relative to the test origin), one per ``dt_s``."""
    x_m = np.asarray(x_m, float)
    lon, lat = xy_to_lonlat(X0 + x_m, Y0 + np.asarray(y_m, float), CRS_M)
    df = pd.DataFrame({
        "time_utc": pd.Timestamp(t0) + pd.to_timedelta(np.arange(len(x_m)) * dt_s, unit="s"),
        "platform_id": platform, "mission_id": mission, "pass_id": pass_id, "lon": lon, "lat": lat,
        "alt_agl_m": 2.5, "tvoc_ugm3": np.asarray(conc, float), "wind_from_deg": 270.0, "wind_speed_m_s": 4.0,
    })
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def bump(y, centre, width, height):
    return height * np.exp(-0.5 * ((y - centre) / width) ** 2)


@pytest.fixture
def one_pass():
    rng = np.random.default_rng(1)
    y = np.arange(-2000, 2000, 8.0)
    c = 30 + bump(y, 400, 60, 25) + rng.normal(0, 0.8, len(y))
    return track(np.full(len(y), 1000.0), y, c)


def test_background_recovers_flat_level_and_noise(one_pass):
    ann = plume.annotate(one_pass)
    assert np.median(ann["tvoc_ugm3_bg"]) == pytest.approx(30.0, abs=0.3)
    assert np.median(ann["tvoc_ugm3_enh"][~ann["tvoc_ugm3_exceed"]]) == pytest.approx(0.0, abs=0.2)
    assert ann["tvoc_ugm3_noise"].iloc[0] == pytest.approx(0.8, rel=0.25)
    assert ann["tvoc_ugm3_exceed"].sum() > 5


def test_annotate_does_not_modify_input(one_pass):
    before = one_pass.copy()
    plume.annotate(one_pass)
    pd.testing.assert_frame_equal(one_pass, before)


def test_one_bump_is_one_event_at_the_right_place(one_pass):
    ev, event_of = plume.detect_events(plume.annotate(one_pass))
    assert len(ev) == 1
    e = ev.iloc[0]
    assert e["peak_enhancement"] == pytest.approx(25.0, abs=3.0)
    # peak position: y = +400 m from the origin
    _, yy = (np.asarray(v) for v in __import__("ecopatrol.core.crs", fromlist=["x"]).lonlat_to_xy(e["lon"], e["lat"], CRS_M))
    assert float(yy) - Y0 == pytest.approx(400.0, abs=20.0)
    # the integrated enhancement of a Gaussian bump is height·width·√(2π) (minus the clipped tails)
    assert e["area"] == pytest.approx(25 * 60 * np.sqrt(2 * np.pi), rel=0.25)
    assert e["duration_s"] > 0 and e["n_samples"] == (event_of == e["event_id"]).sum()
    assert not e["confirmed"] and e["n_passes"] == 1
    assert e["wind_from_deg"] == pytest.approx(270.0)
    assert set(plume.EVENT_COLUMNS) <= set(ev.columns) and ev.crs.to_epsg() == 4326


def test_pure_noise_gives_no_event():
    rng = np.random.default_rng(3)
    y = np.arange(0, 24000, 8.0)
    ev, _ = plume.detect_events(plume.annotate(track(np.zeros(len(y)), y, 30 + rng.normal(0, 1, len(y)))))
    assert len(ev) == 0


def test_time_gap_splits_events_and_min_samples_drops_spikes():
    y = np.arange(0, 3000, 8.0)
    c = 30 + bump(y, 800, 40, 20) + bump(y, 2000, 40, 20)
    c[300] += 50  # a one-sample spike
    ev, _ = plume.detect_events(plume.annotate(track(np.zeros(len(y)), y, c)), min_samples=2)
    assert len(ev) == 2
    ev1, _ = plume.detect_events(plume.annotate(track(np.zeros(len(y)), y, c)), min_samples=1)
    assert len(ev1) == 3


def test_plume_seen_on_two_passes_is_confirmed_and_a_lone_one_is_not():
    y = np.arange(-1500, 1500, 8.0)
    a = track(np.zeros(len(y)), y, 30 + bump(y, 0, 50, 20) + bump(y, -1000, 50, 20), pass_id=1)
    b = track(np.zeros(len(y)), y[::-1], 30 + bump(y[::-1], 30, 50, 15), pass_id=2, t0="2026-05-12T02:30:00Z")
    ev, _ = plume.detect_events(plume.annotate(pd.concat([a, b], ignore_index=True)))
    assert len(ev) == 3
    near = ev[ev["lat"] > ev["lat"].min() + 1e-3]
    assert near["confirmed"].all() and (near["n_passes"] == 2).all() and near["plume_id"].nunique() == 1
    assert not ev.loc[ev["lat"].idxmin(), "confirmed"]


def test_annotate_requires_species_column(one_pass):
    with pytest.raises(InputError, match="benzene_ppb"):
        plume.annotate(one_pass, species="benzene_ppb")


# --- aggregation -------------------------------------------------------------------------

def test_grid_cells_take_median_of_pass_means():
    # pass 1: 100 samples of 10 in one cell; passes 2 and 3: 1 sample of 50 and 60 there
    a = track(np.full(100, 5.0), np.full(100, 5.0), np.full(100, 10.0), pass_id=1)
    b = track([5.0], [5.0], [50.0], pass_id=2)
    c = track([5.0], [5.0], [60.0], pass_id=3)
    cells = aggregate.grid_cells(pd.concat([a, b, c], ignore_index=True), cell_m=50)
    assert len(cells) == 1
    row = cells.iloc[0]
    assert row["tvoc_ugm3"] == pytest.approx(50.0)  # median of (10, 50, 60), not the sample mean
    assert row["n_passes"] == 3 and row["n_samples"] == 102
    assert cells.crs == CRS_M or cells.crs.to_epsg() == 32651
    assert cells.geometry.iloc[0].area == pytest.approx(2500.0)


def test_road_segments_from_tracks_are_30_m_and_merge_passes():
    y = np.arange(0, 900, 5.0)
    a = track(np.zeros(len(y)), y, np.full(len(y), 20.0), pass_id=1)
    b = track(np.full(len(y), 3.0), y[::-1], np.full(len(y), 40.0), pass_id=2)  # same road, 3 m over
    seg = aggregate.road_segments(pd.concat([a, b], ignore_index=True), segment_m=30)
    assert len(seg) == pytest.approx(30, abs=1)
    assert seg.length.median() == pytest.approx(30.0, rel=0.05)
    assert (seg["n_passes"] == 2).mean() > 0.9
    assert seg["tvoc_ugm3"].median() == pytest.approx(30.0)


def test_road_segments_follow_given_roads():
    from shapely.geometry import LineString

    roads = gpd.GeoDataFrame({"name": ["Binhai Rd"]}, geometry=[LineString([(X0, Y0), (X0, Y0 + 600)])], crs=CRS_M)
    y = np.arange(0, 600, 5.0)
    s = track(np.full(len(y), 4.0), y, np.full(len(y), 20.0))
    seg = aggregate.road_segments(s, roads=roads, segment_m=30)
    assert len(seg) == 20 and set(seg["road"]) == {"Binhai Rd"}


def test_road_segments_skip_single_sample_passes():
    y = np.arange(0, 300, 5.0)
    a = track(np.zeros(len(y)), y, np.full(len(y), 20.0), pass_id=1)
    lone = track([0.0], [100.0], [25.0], pass_id=2)
    seg = aggregate.road_segments(pd.concat([a, lone], ignore_index=True), segment_m=30)
    assert len(seg) == 10 and seg["n_samples"].sum() == len(y) + 1


def test_background_is_per_record_not_per_pass_so_short_passes_keep_their_plume():
    # a van stops and starts at lights: the georeferencer cuts its record into many short
    # passes; a pass that lies inside a plume must keep its enhancement
    rng = np.random.default_rng(3)
    y = np.arange(-1500, 1500, 8.0)
    c = 50 + bump(y, 0, 40, 60) + rng.normal(0, 1.0, len(y))
    df = track(np.zeros(len(y)), y, c)
    df["pass_id"] = np.arange(len(y)) // 3 + 1  # 3-sample passes
    ann = plume.annotate(df)
    peak = np.argmin(np.abs(y))
    assert ann["tvoc_ugm3_enh"].iloc[peak] == pytest.approx(60, abs=6)
    assert ann["tvoc_ugm3_noise"].iloc[peak] == pytest.approx(1.0, rel=0.4)
    assert ann["tvoc_ugm3_exceed"].iloc[peak]


def test_usable_mask_drops_glitches_but_keeps_stationary_samples():
    from ecopatrol.processing._evidence_util import usable_mask

    df = pd.DataFrame({"qa_flags": ["", "stationary", "saturated", "stationary|instrument_status", "negative",
                                    None]})
    assert usable_mask(df).tolist() == [True, True, False, False, False, True]


def test_receptor_height_of_a_van_is_its_inlet_not_the_noisy_gnss_height():
    from ecopatrol.processing._evidence_util import DEFAULT_INLET_AGL_M, receptor_agl_m

    df = pd.DataFrame({"platform_id": ["van-1", "van-1", "drone-1", "drone-1"],
                       "alt_agl_m": [-1.2, 0.3, 60.0, np.nan]})
    assert receptor_agl_m(df).tolist() == [DEFAULT_INLET_AGL_M, DEFAULT_INLET_AGL_M, 60.0, DEFAULT_INLET_AGL_M]
