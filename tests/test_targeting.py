"""Evidence folder end to end and the ranked targets (incl. the bundled Jimo area)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from plume_world import CRS_M, curtain_samples, make_area, van_samples

from ecopatrol.core.errors import InputError, InputFileNotFoundError
from ecopatrol.core.weather import Wind
from ecopatrol.processing.evidence import EVIDENCE_FILES, build_evidence
from ecopatrol.processing.targeting import TARGET_COLUMNS, rank_targets, write_targets

EMITTERS = {"E04-S1": 2.0, "E06-S1": 1.0}
# E00 and E02 are on the positive list; E02 and E05 have past violations
POSITIVE = ("E00", "E02", "E04")


def world_samples(area, seed=0):
    van = van_samples(area, EMITTERS, passes=2, seed=seed)
    drone = curtain_samples(area, EMITTERS, centre_xy_m=(700.0, 0.0), half_width_m=200, seed=seed)
    return gpd.GeoDataFrame(pd.concat([van, drone], ignore_index=True), geometry="geometry", crs="EPSG:4326")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    area = make_area(positive=POSITIVE, violations=[0, 0, 3, 0, 0, 2, 0, 0, 0])
    out = tmp_path_factory.mktemp("evidence")
    samples = world_samples(area)
    before = samples.copy()
    res = build_evidence(samples, area, out_dir=out, wind=Wind(270, 4, "D"))
    pd.testing.assert_frame_equal(samples, before)  # the input is not modified
    return area, res


def test_evidence_folder_has_every_file_in_its_schema(built):
    _, res = built
    assert set(EVIDENCE_FILES) == {p.name for p in res.out_dir.iterdir()}
    ev = pyogrio.read_dataframe(res.out_dir / "events.gpkg")
    assert {"event_id", "species", "platform_id", "mission_id", "pass_id", "start_utc", "end_utc", "duration_s",
            "peak", "peak_enhancement", "area", "n_samples", "confirmed", "n_passes", "wind_from_deg",
            "wind_speed_m_s"} <= set(ev.columns)
    assert ev.crs.to_epsg() == 4326 and len(ev) == res.summary["n_events"] > 0
    hot = pyogrio.read_dataframe(res.out_dir / "hotspots.gpkg")
    assert set(hot["confidence"]) <= {90, 95, 99} and len(hot) > 0
    att = pd.read_csv(res.out_dir / "attribution.csv")
    assert {"evidence_id", "enterprise_id", "source_id", "likelihood", "rate_g_s", "rate_sd_g_s", "distance_m",
            "expected_ugm3", "observed_ugm3", "explanation"} <= set(att.columns)
    fl = pd.read_csv(res.out_dir / "flux.csv")
    assert {"sortie_id", "target_id", "species", "flux_g_s", "flux_sd_g_s"} <= set(fl.columns)
    assert fl["flux_g_s"].iloc[0] == pytest.approx(2.0, rel=0.2)
    with rasterio.open(res.out_dir / "hotspots.tif") as ds:
        assert ds.crs == rasterio.crs.CRS.from_user_input(CRS_M) and ds.nodata is not None
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    seg = pyogrio.read_dataframe(res.out_dir / "segments.gpkg")
    assert len(seg) > 50 and (seg["n_passes"] >= 1).all() and "hot_confidence" in seg.columns
    summary = json.loads((res.out_dir / "evidence.json").read_text())
    assert summary["schema"] == "ecopatrol.evidence/1" and summary["n_drone_samples"] > 0


def test_true_emitters_rank_first_and_every_row_says_why(built):
    area, res = built
    t = rank_targets(res.out_dir, area)
    assert list(t.columns) == TARGET_COLUMNS
    assert set(t["enterprise_id"].head(2)) == {"E04", "E06"}
    assert t["rank"].tolist() == list(range(1, len(t) + 1))
    assert t["score"].is_monotonic_decreasing
    assert t["reasons"].str.len().gt(10).all()
    top = t.iloc[0]
    assert "plume events" in top["reasons"] and "registry" in top["reasons"]
    # the same ranking from the in-memory result
    t2 = rank_targets(res, area)
    assert t2["enterprise_id"].tolist() == t["enterprise_id"].tolist()


def test_positive_list_lowers_priority_only_without_evidence(built):
    area, res = built
    t = rank_targets(res.out_dir, area).set_index("enterprise_id")
    # E04 is a positive-list emitter: its evidence keeps it at the top
    assert t.loc["E04", "rank"] <= 2 and "evidence counts in full" in t.loc["E04", "reasons"]
    # E02 (positive list, machinery, 3 violations, no evidence) has the higher registry risk but ranks
    # below E08 (not listed, machinery, no violations, no evidence)
    assert t.loc["E02", "evidence_score"] < 0.05 and t.loc["E08", "evidence_score"] < 0.05
    assert t.loc["E02", "risk_score"] > t.loc["E08", "risk_score"]
    assert t.loc["E02", "rank"] > t.loc["E08", "rank"]
    assert "priority lowered" in t.loc["E02", "reasons"]


def test_targets_csv_round_trips_to_the_planners(built, tmp_path):
    from ecopatrol.core.registry import read_targets_file

    area, res = built
    t = rank_targets(res.out_dir, area, top=5)
    p = write_targets(t, tmp_path / "targets.csv")
    assert len(t) == 5
    assert read_targets_file(p) == t["enterprise_id"].tolist()
    back = pd.read_csv(p, encoding="utf-8-sig")
    assert list(back.columns[:5]) == ["rank", "enterprise_id", "name", "score", "reasons"]


def test_deterministic(built, tmp_path):
    area, res = built
    again = build_evidence(world_samples(area), area, out_dir=tmp_path, wind=Wind(270, 4, "D"))
    pd.testing.assert_frame_equal(again.attribution, res.attribution)
    pd.testing.assert_frame_equal(again.flux, res.flux)


def test_missing_evidence_folder_and_empty_samples(tmp_path):
    area = make_area()
    with pytest.raises(InputFileNotFoundError, match="not found"):
        rank_targets(tmp_path / "nope", area)
    with pytest.raises(InputError, match="no samples"):
        build_evidence(van_samples(area, EMITTERS, passes=1).iloc[:0], area, out_dir=tmp_path)


def test_write_targets_checks_columns(tmp_path):
    with pytest.raises(InputError, match="reasons"):
        write_targets(pd.DataFrame({"rank": [1], "enterprise_id": ["x"], "name": ["n"], "score": [1.0]}),
                      tmp_path / "t.csv")


def test_cli_functions_through_typer(built, tmp_path, monkeypatch):
    typer = pytest.importorskip("typer")
    from typer.testing import CliRunner

    from ecopatrol import cli_evidence

    area, res = built
    monkeypatch.setattr("ecopatrol.core.area.load_area", lambda _: area)
    app = typer.Typer()
    app.command("targets")(cli_evidence.targets_cmd)
    app.command("noop")(lambda: None)
    out = tmp_path / "targets.csv"
    r = CliRunner().invoke(app, ["targets", str(res.out_dir), "--area", "x", "--out", str(out), "--top", "3"])
    assert r.exit_code == 0, r.output
    assert "3 targets" in r.output and len(pd.read_csv(out)) == 3
    # hotspots SAMPLES_DIR → evidence folder
    app.command("hotspots")(cli_evidence.hotspots_cmd)
    sdir = tmp_path / "samples"
    sdir.mkdir()
    van_samples(area, EMITTERS, passes=1).to_parquet(sdir / "samples.parquet")
    r = CliRunner().invoke(app, ["hotspots", str(sdir), "--area", "x", "--out", str(tmp_path / "ev"),
                                 "--wind", "270/4/D"])
    assert r.exit_code == 0, r.output
    assert "events" in r.output and (tmp_path / "ev" / "attribution.csv").exists()


# --- the bundled Jimo example ---------------------------------------------------------------

# (the `jimo` fixture is the session-wide one of conftest.py)


def test_jimo_hidden_emitter_ranks_in_the_top_three(jimo, tmp_path):
    from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat
    from ecopatrol.core.dispersion import effective_height_m, unit_concentration_matrix

    crs = jimo.metric_crs
    src = jimo.sources[jimo.sources["enterprise_id"].isin(
        jimo.enterprises.loc[~jimo.enterprises["positive_list"], "enterprise_id"])].iloc[[10]]
    sx, sy = lonlat_to_xy(src.geometry.x.to_numpy(), src.geometry.y.to_numpy(), crs)
    h, u = effective_height_m(src["height_m"].to_numpy(float), 4.0, "D",
                              exit_velocity_m_s=src["exit_velocity_m_s"].to_numpy(float),
                              diameter_m=src["diameter_m"].to_numpy(float),
                              exit_temp_k=src["exit_temp_k"].to_numpy(float), x_m=2000.0)
    rng = np.random.default_rng(0)
    frames = []
    for p, dist in enumerate((700.0, 1200.0, 700.0)):
        yy = np.arange(-1200.0, 1200.0, 8.0)
        x = np.full(len(yy), sx[0] + dist)  # wind from the west: downwind is east
        y = sy[0] + yy
        c = 15 + (unit_concentration_matrix(x, y, np.full(len(x), 2.5), sx, sy, h, u, 270.0, "D") @ [1.5])
        c = c + rng.normal(0, 0.8, len(c))
        lon, lat = xy_to_lonlat(x, y, crs)
        frames.append(pd.DataFrame({
            "time_utc": pd.Timestamp("2026-05-12T02:00:00Z") + pd.to_timedelta(p * 1000 + np.arange(len(x)), "s"),
            "platform_id": "van1", "platform_kind": "van", "mission_id": "R01", "pass_id": p + 1, "lon": lon, "lat": lat, "alt_agl_m": 2.5,
            "tvoc_ugm3": c, "wind_from_deg": 270.0, "wind_speed_m_s": 4.0}))
    df = pd.concat(frames, ignore_index=True)
    samples = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    res = build_evidence(samples, jimo, out_dir=tmp_path, wind=Wind(270, 4, "D"))
    t = rank_targets(res, jimo)
    assert len(t) == len(jimo.enterprises)
    truth = src["enterprise_id"].iloc[0]
    assert truth in t["enterprise_id"].head(3).tolist(), t.head(5)[["enterprise_id", "score", "reasons"]]


def test_event_shares_count_only_as_far_as_the_sources_rate_is_significant(monkeypatch):
    """Two firms explain the same share of a single-pass event; one has a well-determined
    all-samples rate (z = 5), the other a large rate that the samples barely constrain (z ≈ 1.1,
    a plume edge explaining a spike): the second gets a fraction of the evidence, not the same.
    (The per-item route on its own: ``ITEM_WEIGHT`` = 1.)"""
    from types import SimpleNamespace

    import ecopatrol.processing.targeting as targeting

    monkeypatch.setattr(targeting, "ITEM_WEIGHT", 1.0)

    area = make_area()
    att = pd.DataFrame({
        "evidence_id": ["E0001", "E0001", "all-samples", "all-samples"],
        "evidence_kind": ["event", "event", "nnls", "nnls"],
        "enterprise_id": ["E01", "E03", "E01", "E03"], "source_id": ["E01-S1", "E03-S1", "E01-S1", "E03-S1"],
        "likelihood": [0.6, 0.6, np.nan, np.nan], "rate_g_s": [5.0, 0.5, 5.0, 0.5],
        "rate_sd_g_s": [4.5, 0.1, 4.5, 0.1]})
    events = pd.DataFrame({"event_id": ["E0001"], "confirmed": [False], "n_passes": [1]})
    ev = SimpleNamespace(attribution=att, events=events, hotspots=pd.DataFrame(), flux=pd.DataFrame(),
                         summary={"end_utc": "2026-05-12T03:00:00Z"})
    t = rank_targets(ev, area).set_index("enterprise_id")
    assert t.loc["E03", "evidence_score"] > 0.4
    assert t.loc["E01", "evidence_score"] < 0.25
    assert t.loc["E03", "rank"] < t.loc["E01", "rank"]


def test_pooled_evidence_across_events_separates_collinear_candidates(monkeypatch):
    """E01 and E03 are collinear along the wind on pass 1 (event E0001: the likelihood is shared,
    E03 even slightly ahead); pass 2 sees them from another angle (event E0002) and only E01's
    plume fits. Pooled over both events E01 takes E0001 as well; E03 keeps (almost) nothing.
    (The per-item route on its own: ``ITEM_WEIGHT`` = 1.)"""
    from types import SimpleNamespace

    import ecopatrol.processing.targeting as targeting

    monkeypatch.setattr(targeting, "ITEM_WEIGHT", 1.0)

    from ecopatrol.processing.targeting import pooled_log_bf

    area = make_area()
    att = pd.DataFrame({
        "evidence_id": ["E0001", "E0001", "E0002", "E0002", "all-samples"],
        "evidence_kind": ["event", "event", "event", "event", "nnls"],
        "enterprise_id": ["E01", "E03", "E01", "E03", "E01"],
        "source_id": ["E01-S1", "E03-S1", "E01-S1", "E03-S1", "E01-S1"],
        "likelihood": [0.44, 0.46, 0.9, 0.02, np.nan], "log_bayes_factor": [10.0, 10.2, 12.0, 0.5, np.nan],
        "ambiguous_with": ["E03", "E01", "", "", ""], "collinear_with": ["E03", "E01", "", "", ""],
        "group_rate_g_s": [2.0, 2.0, np.nan, np.nan, np.nan], "group_rate_sd_g_s": [0.4, 0.4, np.nan, np.nan, np.nan],
        "rate_g_s": [2.0, 0.0, 2.0, 0.0, 2.0], "rate_sd_g_s": [0.4, np.nan, 0.4, np.nan, 0.4]})
    pooled = pooled_log_bf(att[att["evidence_kind"] == "event"])
    assert pooled.loc["E0002", "E01"] == pytest.approx(12.0) and pooled.loc["E0002", "E03"] == pytest.approx(0.5)
    assert pooled.attrs["plausible"].loc["E0001"].all() and not pooled.attrs["plausible"].loc["E0002", "E03"]
    events = pd.DataFrame({"event_id": ["E0001", "E0002"], "confirmed": [True, True], "n_passes": [2, 2]})
    ev = SimpleNamespace(attribution=att, events=events, hotspots=pd.DataFrame(), flux=pd.DataFrame(),
                         summary={"end_utc": "2026-05-12T03:00:00Z"})
    t = rank_targets(ev, area).set_index("enterprise_id")
    assert t.loc["E01", "evidence_score"] > 0.8
    # without pooling E03 would get ~0.46 from E0001 (its share of the group's well-determined rate)
    assert t.loc["E03", "evidence_score"] < 0.05
    assert t.loc["E03", "n_events"] == 0
    # one event alone cannot split the pair: both keep their shared likelihood
    t1 = rank_targets(SimpleNamespace(attribution=att[att["evidence_id"] != "E0002"], events=events,
                                      hotspots=pd.DataFrame(), flux=pd.DataFrame(), summary=ev.summary),
                      area).set_index("enterprise_id")
    assert t1.loc["E03", "evidence_score"] > 0.3


def test_emission_probability_leads_and_items_only_break_ties():
    """rates.csv's ``pip`` (sparse attribution) is the evidence: a firm with P = 0.8 outranks a
    high-risk firm without evidence and a firm with only an event; two firms of equal probability
    are ordered by their events; the reasons quote the probability and the signal."""
    from types import SimpleNamespace

    area = make_area()
    att = pd.DataFrame({
        "evidence_id": ["S1", "S1", "E0001", "E0001"], "evidence_kind": ["signal", "signal", "event", "event"],
        "enterprise_id": ["E02", "E05", "E05", "E06"], "source_id": ["E02-S1", "E05-S1", "E05-S1", "E06-S1"],
        "likelihood": [0.45, 0.45, 0.9, 0.9], "evidence_rate_g_s": [1.2, 1.1, np.nan, np.nan],
        "ambiguous_with": ["E05", "E02", "", ""], "rate_g_s": [0.0, 1.0, 1.0, 0.3], "rate_sd_g_s": [np.nan, 0.2, 0.2, 0.3]})
    rates = pd.DataFrame({"source_id": ["E02-S1", "E05-S1", "E06-S1", "E07-S1"],
                          "enterprise_id": ["E02", "E05", "E06", "E07"], "rate_g_s": [0.0, 1.0, 0.3, 0.0],
                          "pip": [0.45, 0.45, 0.02, 0.8]})
    events = pd.DataFrame({"event_id": ["E0001"], "confirmed": [True], "n_passes": [2]})
    ev = SimpleNamespace(attribution=att, events=events, hotspots=pd.DataFrame(), flux=pd.DataFrame(), rates=rates,
                         summary={"end_utc": "2026-05-12T03:00:00Z"})
    t = rank_targets(ev, area).set_index("enterprise_id")
    assert t.loc["E07", "rank"] == 1 and t.loc["E07", "emit_probability"] == pytest.approx(0.8)
    assert t.loc["E05", "rank"] == 2 and t.loc["E02", "rank"] == 3  # equal probability: E05's event breaks the tie
    assert t.loc["E06", "rank"] > 3  # an event without the probability behind it counts little
    assert "emits with probability 0.45" in t.loc["E02", "reasons"] and "credible set with E05" in t.loc["E02", "reasons"]
    others = t.drop(["E02", "E05", "E06", "E07"])
    assert (others["evidence_score"] < 0.05).all()
