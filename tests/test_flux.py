"""Curtain mass balance: analytic full-plane integral and realistic curtains from samples."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from plume_world import CRS_M, X0, Y0, curtain_samples, make_area, plume_conc

from ecopatrol.core.crs import xy_to_lonlat

from ecopatrol.core.dispersion import gaussian_plume, sigmas
from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import Wind
from ecopatrol.processing import flux


@pytest.mark.parametrize(("x_m", "h_m", "cls"), [(300.0, 20.0, "D"), (800.0, 40.0, "C"), (500.0, 0.0, "E")])
def test_full_plane_integral_returns_the_emitted_rate(x_m, h_m, cls):
    """Sampling the whole analytic plane (uniform wind) and integrating returns Q."""
    q, u = 3.0, 4.0
    sy, sz = sigmas(x_m, cls)
    s = np.arange(-6 * sy, 6 * sy, sy / 8)
    z = np.arange(0.0, h_m + 6 * sz, sz / 8)
    S, Z = np.meshgrid(s, z)
    c = gaussian_plume(q, u, x_m, S, Z, h_m, cls)
    res = flux.curtain_flux(S.ravel(), Z.ravel(), c.ravel(), wind_from_deg=270.0, wind_speed_m_s=u,
                            normal_deg=90.0, profile=False, ds_m=sy / 16, dz_m=sz / 16)
    assert res["flux_g_s"] == pytest.approx(q, rel=0.02)


def test_oblique_wind_uses_the_normal_component():
    q, u = 2.0, 5.0
    sy, sz = sigmas(400.0, "D")
    S, Z = np.meshgrid(np.arange(-6 * sy, 6 * sy, 4.0), np.arange(0.0, 20 + 6 * sz, 2.0))
    c = gaussian_plume(q, u, 400.0, S, Z, 20.0, "D")
    straight = flux.curtain_flux(S.ravel(), Z.ravel(), c.ravel(), wind_from_deg=270.0, wind_speed_m_s=u,
                                 normal_deg=90.0, profile=False)
    tilted = flux.curtain_flux(S.ravel(), Z.ravel(), c.ravel(), wind_from_deg=300.0, wind_speed_m_s=u,
                               normal_deg=90.0, profile=False)
    assert tilted["flux_g_s"] == pytest.approx(straight["flux_g_s"] * math.cos(math.radians(30)), rel=1e-9)
    assert tilted["flux_sd_g_s"] > straight["flux_sd_g_s"]


@pytest.mark.parametrize("distance_m", [200.0, 400.0, 800.0])
def test_curtain_from_samples_recovers_the_rate_and_names_the_source(distance_m):
    area = make_area()
    s = curtain_samples(area, {"E04-S1": 2.0}, centre_xy_m=(300.0 + distance_m, 0.0),
                        half_width_m=0.6 * distance_m + 100, seed=int(distance_m))
    t = flux.flux_table(s, area, wind=Wind(270, 4, "D"), crs=CRS_M)
    assert len(t) == 1
    row = t.iloc[0]
    assert row["flux_g_s"] == pytest.approx(2.0, rel=0.15)
    assert 0.05 * 2.0 < row["flux_sd_g_s"] < 0.5 * 2.0
    assert abs(row["flux_g_s"] - 2.0) < 2.5 * row["flux_sd_g_s"]
    assert row["target_id"] == "E04" and row["distance_to_target_m"] == pytest.approx(distance_m, abs=5)
    assert row["background"] == pytest.approx(20.0, abs=0.2)
    assert row["wind_normal_deg"] == pytest.approx(90.0, abs=1.0)
    assert set(flux.FLUX_COLUMNS) == set(t.columns)


def test_plan_names_the_target():
    area = make_area()
    s = curtain_samples(area, {"E04-S1": 2.0}, centre_xy_m=(700.0, 0.0), half_width_m=350, sortie="S07")
    plan = {"sorties": [{"sortie_id": "S07", "targets": ["E01"], "waypoints": []}]}
    t = flux.flux_table(s, area, wind=Wind(270, 4, "D"), crs=CRS_M, plan=plan)
    assert t["target_id"].tolist() == ["E01"]
    # the plume on the curtain is E04's (300 m closer): the plan's target is flagged as a poor match
    assert t["best_candidate_id"].iloc[0] == "E04" and t["target_match"].iloc[0] < 0.5
    assert "nearer the curtain" in t["note"].iloc[0]


def test_van_samples_give_no_curtain():
    from plume_world import van_samples

    area = make_area()
    assert flux.flux_table(van_samples(area, {"E04-S1": 1.0}, passes=1), area, crs=CRS_M).empty


def test_plane_fit_ignores_a_transit_tail_and_orients_downwind():
    rng = np.random.default_rng(0)
    s = np.linspace(-200, 200, 400)
    x = 1000 + rng.normal(0, 1.0, 400)  # a north–south curtain at x = 1000
    y = s.copy()
    tail_x, tail_y = np.linspace(0, 1000, 40), np.full(40, -200.0)
    plane, inl = flux.fit_plane(np.r_[x, tail_x], np.r_[y, tail_y], wind_from_deg=270.0)
    assert plane.normal == (pytest.approx(1.0, abs=1e-3), pytest.approx(0.0, abs=1e-3))
    assert inl[:400].mean() > 0.99 and inl[400:].mean() < 0.1
    assert plane.rms_m < 2.0


def test_curtain_background_ignores_the_plume():
    rng = np.random.default_rng(1)
    c = np.r_[rng.normal(20, 0.5, 700), rng.normal(20, 0.5, 300) + rng.uniform(5, 80, 300)]
    bg, noise = flux.curtain_background(c)
    assert bg == pytest.approx(20.0, abs=0.1) and noise == pytest.approx(0.5, rel=0.2)


def test_too_few_samples_is_an_input_error():
    with pytest.raises(InputError, match="at least"):
        flux.curtain_flux([0, 1], [10, 20], [1, 2], wind_from_deg=270, wind_speed_m_s=4, normal_deg=90)


def test_samples_on_the_ground_at_the_launch_point_are_no_part_of_the_curtain():
    """The drone idles on the ground at one end of the plane before take-off: those samples
    (z ≈ 0, background-level) must not become the curtain's bottom row."""
    area = make_area()
    s = curtain_samples(area, {"E04-S1": 2.0}, centre_xy_m=(700.0, 0.0), half_width_m=340.0, seed=3)
    first = s.iloc[:1]
    ground = pd.concat([first] * 120, ignore_index=True)
    ground["alt_agl_m"] = np.linspace(-0.1, 0.1, len(ground))
    ground["tvoc_ugm3"] = 35.0 + np.random.default_rng(1).normal(0, 0.5, len(ground))  # a road nearby
    ground["time_utc"] = first["time_utc"].iloc[0] - pd.to_timedelta(np.arange(len(ground), 0, -1), unit="s")
    with_ground = gpd.GeoDataFrame(pd.concat([ground, s], ignore_index=True), geometry="geometry", crs=s.crs)
    t = flux.flux_table(with_ground, area, wind=Wind(270, 4, "D"), crs=CRS_M)
    assert len(t) == 1
    assert t.iloc[0]["z_min_m"] > 5.0
    assert t.iloc[0]["flux_g_s"] == pytest.approx(2.0, rel=0.15)


def test_a_transit_leg_in_the_plane_is_not_interpolated_into_the_curtain():
    """The drone flies out to the curtain along its own line at one height, crossing a neighbour's
    plume (E05, 300 m to the side) on the way: that leg lies in the plane but is no curtain, and
    interpolated over the full height it would add a wall of flux. Only E04's 2 g/s crosses the
    curtain proper."""
    area = make_area()
    emit = {"E04-S1": 2.0, "E05-S1": 3.0}
    s = curtain_samples(area, emit, centre_xy_m=(700.0, 0.0), half_width_m=200.0, seed=4)
    ss = np.arange(204.0, 600.0, 4.0)
    x, y = X0 + 700.0 + 0 * ss, Y0 + ss
    c = 20.0 + plume_conc(area, emit, x, y, np.full(len(ss), 30.0), wind_from_deg=270.0, wind_speed_m_s=4.0)
    lon, lat = xy_to_lonlat(x, y, CRS_M)
    leg = pd.DataFrame({"time_utc": s["time_utc"].iloc[0] - pd.to_timedelta(np.arange(len(ss), 0, -1), unit="s"),
                        "platform_id": "drone1", "platform_kind": "drone", "mission_id": "S01", "pass_id": 0, "lon": lon, "lat": lat,
                        "alt_amsl_m": 40.0, "alt_agl_m": 30.0, "speed_m_s": 4.0, "tvoc_ugm3": c,
                        "wind_from_deg": np.nan, "wind_speed_m_s": np.nan, "qa_flags": ""})
    assert c.max() > 100.0  # the leg does cross E05's plume
    both = pd.concat([s.drop(columns="geometry"), leg], ignore_index=True)
    both = gpd.GeoDataFrame(both, geometry=gpd.points_from_xy(both["lon"], both["lat"]), crs="EPSG:4326")
    t = flux.flux_table(both, area, wind=Wind(270, 4, "D"), crs=CRS_M)
    assert len(t) == 1
    assert t.iloc[0]["width_m"] < 450.0
    assert t.iloc[0]["flux_g_s"] == pytest.approx(2.0, rel=0.15)


def test_curtain_span_is_where_several_levels_were_flown():
    s = np.r_[np.tile(np.arange(0.0, 300.0, 4.0), 4), np.arange(300.0, 700.0, 4.0)]
    z = np.r_[np.repeat([10.0, 30.0, 50.0, 70.0], 75), np.full(100, 50.0)]
    m = flux.curtain_span_mask(s, z)
    assert m[:300].all() and not m[300:].any()


def test_two_curtains_flown_in_one_sortie_are_two_curtains():
    """A sortie flies one curtain per target, back to back on one crosswind line (40 m apart):
    each is its own plane stretch with its own flux, not one wide mash or only the larger."""
    area = make_area()
    emit = {"E04-S1": 2.0, "E05-S1": 1.0}
    a = curtain_samples(area, emit, centre_xy_m=(700.0, 0.0), half_width_m=130.0, seed=5)
    b = curtain_samples(area, emit, centre_xy_m=(700.0, 300.0), half_width_m=130.0, seed=6)
    b["time_utc"] = b["time_utc"] + (a["time_utc"].max() - b["time_utc"].min() + pd.Timedelta(seconds=60))
    both = gpd.GeoDataFrame(pd.concat([a, b], ignore_index=True), geometry="geometry", crs=a.crs)
    t = flux.flux_table(both, area, wind=Wind(270, 4, "D"), crs=CRS_M).sort_values("lat")
    assert len(t) == 2 and set(t["sortie_id"]) == {"S01"}
    assert t["target_id"].tolist() == ["E04", "E05"]
    assert t["flux_g_s"].tolist() == [pytest.approx(2.0, rel=0.15), pytest.approx(1.0, rel=0.15)]
    assert (t["width_m"] < 300.0).all()


def _transect_plume(q, *, h_m, sz_m, sy_m=20.0, u=4.0, levels=np.arange(15.0, 121.0, 15.0), noise=0.5, seed=2):
    """Transects every 15 m through an analytic reflected-Gaussian plume carrying ``q`` g/s (uniform wind)."""
    rng = np.random.default_rng(seed)
    S, Z = np.meshgrid(np.arange(-150.0, 150.0, 3.0), levels)
    vert = np.exp(-0.5 * ((Z - h_m) / sz_m) ** 2) + np.exp(-0.5 * ((Z + h_m) / sz_m) ** 2)
    c = q / (2 * math.pi * u * sy_m * sz_m) * 1e6 * np.exp(-0.5 * (S / sy_m) ** 2) * vert
    return S.ravel(), Z.ravel(), (c + rng.normal(0, noise, c.shape)).ravel()


@pytest.mark.parametrize(("h_m", "sz_m"), [(105.0, 4.0), (97.5, 4.0), (52.0, 5.0)])
def test_a_thin_plume_between_transects_is_integrated_by_the_vertical_fit(h_m, sz_m):
    """A plume thinner than the 15 m transect spacing, on a transect or between two: the
    interpolation between levels misses most of it; the Gaussian fit in height (σz bounded below
    by the dispersion at that distance) returns the rate within its uncertainty, and that
    uncertainty says the profile was under-sampled."""
    q = 1.0
    s, z, e = _transect_plume(q, h_m=h_m, sz_m=sz_m)
    res = flux.curtain_flux(s, z, e, wind_from_deg=270, wind_speed_m_s=4, normal_deg=90, profile=False, noise=0.5,
                            sigma_z_min_m=0.7 * sz_m)
    assert res["method"] == "fit"
    assert abs(res["flux_g_s"] - q) < 2 * res["flux_sd_g_s"]
    assert res["flux_g_s"] == pytest.approx(q, rel=0.5)
    assert res["flux_sd_g_s"] > 0.15 * q
    if h_m == 97.5:  # squarely between two transects: linear interpolation sees a fraction
        assert res["flux_interp_g_s"] < 0.6 * q < res["flux_g_s"]


def test_a_plume_partly_below_the_lowest_transect_is_extrapolated_by_the_fitted_profile():
    """A ground-level plume (h = 5 m, σz = 25 m) sampled from 15 m up: the profile fitted to the
    transects carries the part below the lowest one (about a third of the flux)."""
    q = 2.0
    s, z, e = _transect_plume(q, h_m=5.0, sz_m=25.0)
    res = flux.curtain_flux(s, z, e, wind_from_deg=270, wind_speed_m_s=4, normal_deg=90, profile=False, noise=0.5,
                            sigma_z_min_m=15.0)
    assert res["method"] == "resolved"
    assert res["flux_g_s"] == pytest.approx(q, rel=0.1)
    assert res["ground_fraction"] == pytest.approx(0.45, abs=0.1)
    assert abs(res["flux_g_s"] - q) < 2 * res["flux_sd_g_s"]


def test_vertical_fit_recovers_a_resolved_profile():
    z = np.arange(15.0, 121.0, 15.0)
    f = 3.0 * flux._reflected_gauss(z, 50.0, 20.0)
    fit = flux.vertical_fit(z, f, np.full(len(z), 1e-4), sigma_z_min_m=5.0)
    assert fit["A"] == pytest.approx(3.0, rel=0.05)  # grid of 1 m in h, 14 % in σz
    assert fit["h_m"] == pytest.approx(50.0, abs=2.0) and fit["sigma_z_m"] == pytest.approx(20.0, rel=0.1)


def test_level_profile_finds_the_transects_not_the_climbs():
    s, z, e = _transect_plume(1.0, h_m=60.0, sz_m=20.0, noise=0.0)
    climb_s, climb_z = np.full(30, 150.0), np.linspace(15.0, 120.0, 30)  # a vertical climb at the end
    prof = flux.level_profile(np.r_[s, climb_s], np.r_[z, climb_z], np.r_[e, np.zeros(30)])
    assert prof["z_m"].to_numpy() == pytest.approx(np.arange(15.0, 121.0, 15.0), abs=0.5)
    # line integral at 60 m: q/(√(2π) u σz) · 1e6 µg/m³·m
    assert prof["line"].iloc[3] == pytest.approx(1.0 / (math.sqrt(2 * math.pi) * 4.0 * 20.0) * 1e6, rel=0.02)
