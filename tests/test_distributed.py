"""Archives on Dask: the distributed aggregates equal the in-memory ones, by client and by
scheduler address; hotspot polygons follow the same rule as build_evidence (none on a flat
archive); raw archives are georeferenced; bad archives end in clear errors."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from ecopatrol.core.area import load_area  # noqa: E402
from ecopatrol.core.errors import FormatError, InputFileNotFoundError, ValidationError  # noqa: E402
from ecopatrol.processing.archive_synth import partition_path, synth_archive  # noqa: E402
from ecopatrol.processing.distributed import (  # noqa: E402
    LEVEL_BIN_REL,
    histogram_median,
    level_histogram,
    merge_histograms,
    process_archive,
    process_in_memory,
    scan_layout,
)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None,
                                  scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as cl:
        yield cl


@pytest.fixture(scope="module")
def roads():
    return load_area("jimo").roads_path


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    manifest = synth_archive(root, days=2, vans=2, hours=0.75, seed=3)
    return root, manifest


@pytest.fixture(scope="module")
def in_memory(archive, roads):
    return process_in_memory(archive[0], roads=roads)


def _plain(gdf) -> pd.DataFrame:
    return pd.DataFrame(gdf.drop(columns="geometry"))


def test_distributed_equals_in_memory(archive, roads, client, in_memory, tmp_path):
    # small tasks and few buckets: several batches meet in every bucket and kernel sum
    d = process_archive(archive[0], tmp_path, scheduler=client, roads=roads, rows_per_task=3000, n_buckets=3)
    m = in_memory
    assert d.summary["n_tasks"] == 4
    assert d.n_samples == m.n_samples == archive[1]["n_samples"]
    assert len(m.cells) > 100 and len(m.segments) > 100
    pd.testing.assert_frame_equal(_plain(d.cells), _plain(m.cells))
    assert d.cells.geometry.geom_equals(m.cells.geometry).all()
    pd.testing.assert_frame_equal(_plain(d.segments), _plain(m.segments))
    assert d.segments.geometry.geom_equals(m.segments.geometry).all()
    np.testing.assert_array_equal(d.cells["gi_z"].to_numpy(), m.cells["gi_z"].to_numpy())
    np.testing.assert_array_equal(d.segments["gi_z"].to_numpy(), m.segments["gi_z"].to_numpy())
    assert (m.cells["hot_confidence"] > 0).any()  # the plumes show up: the comparison is not of zeros
    assert d.grid == m.grid
    np.testing.assert_array_equal(np.isnan(d.surface), np.isnan(m.surface))
    np.testing.assert_allclose(d.surface, m.surface, rtol=1e-9, atol=1e-9)  # µg/m³
    np.testing.assert_allclose(d.density, m.density, rtol=1e-9, atol=1e-15)
    assert len(d.hotspots) == len(m.hotspots) > 0
    # the hotspot rule: the same noise, background, thresholds, signal and polygons on both paths
    for layer in (d.cells, d.segments):
        assert {"hot_threshold", "hot_signal"} <= set(layer.columns)
    assert d.summary["hotspot_rule"] == m.summary["hotspot_rule"]
    assert d.summary["hotspot_rule"]["cells"]["noise"] > 0
    pd.testing.assert_frame_equal(_plain(d.hotspots), _plain(m.hotspots))
    assert d.hotspots.geometry.geom_equals(m.hotspots.geometry).all()


def test_the_plume_archive_gets_polygons_at_its_plume(archive, in_memory):
    from ecopatrol.processing import hotspots

    m = in_memory
    rule = m.summary["hotspot_rule"]
    assert rule["rule"] == hotspots.HOTSPOT_RULE.describe()
    assert m.summary["n_hotspots"] == len(m.hotspots) > 0 and rule["why"].endswith(f"{len(m.hotspots)} polygons")
    for name, feats in (("segments", m.segments), ("cells", m.cells)):
        r = rule[name]
        assert r["n_polygons"] == int((m.hotspots["source_layer"] == name).sum()) > 0
        assert 0 < r["n_gi_significant_and_above"] < r["n_gi_significant"]  # the rule removed some
        hot = feats[feats["hot_signal"] & (feats["hot_confidence"] > 0)]
        assert (hot["tvoc_ugm3_enh"] > hot["hot_threshold"]).all()
    assert (m.hotspots["n_samples"] >= hotspots.HOTSPOT_RULE.min_samples).all()
    # the strongest polygon lies at a true emitter's plume
    src = load_area("jimo").sources.set_index("source_id")
    emitters = src.loc[[e["source_id"] for e in archive[1]["emitters"]]].to_crs(m.grid.crs).geometry
    top = m.hotspots.loc[m.hotspots["max_value"].idxmax()]
    assert emitters.distance(top.geometry).min() < 300.0


def _flat_archive(root, *, seed: int, days: int = 2, vans: int = 2) -> None:
    """Vans driving 8 parallel 1 km streets three times a day, with no source at all: TVOC =
    50 µg/m³ + the correlated noise of an analyser (AR(1), 4 µg/m³, 30 s correlation time)."""
    from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat
    from ecopatrol.processing.samples import to_samples_frame

    rng = np.random.default_rng(seed)
    crs = "EPSG:32651"
    ox, oy = lonlat_to_xy(120.45, 36.38, crs)
    along = np.arange(0.0, 1000.0, 8.0)  # 8 m/s at 1 Hz
    runs = [(loop, k) for loop in range(3) for k in range(8)]
    x = np.concatenate([along if k % 2 == 0 else along[::-1] for _, k in runs])
    y = np.concatenate([np.full(len(along), 120.0 * k) for _, k in runs])
    pass_id = np.repeat(np.arange(1, len(runs) + 1), len(along))
    lon, lat = xy_to_lonlat(ox + x, oy + y, crs)
    phi = np.exp(-1.0 / 30.0)
    for d in range(days):
        for v in range(vans):
            w = rng.normal(0.0, 1.0, len(x))
            e = np.empty(len(x))
            e[0] = w[0]
            for i in range(1, len(x)):
                e[i] = phi * e[i - 1] + np.sqrt(1.0 - phi * phi) * w[i]
            date, van = f"2025-03-{d + 1:02d}", f"van{v + 1:02d}"
            t = pd.Timestamp(f"{date}T01:00:00Z") + pd.to_timedelta(np.arange(len(x)) + 3600 * v, unit="s")
            f = pd.DataFrame({"time_utc": t, "platform_id": van, "mission_id": f"{van}-{date}", "pass_id": pass_id,
                              "lon": lon, "lat": lat, "speed_m_s": 8.0, "tvoc_ugm3": np.round(50.0 + 4.0 * e, 2)})
            out = partition_path(root, date, van)
            out.parent.mkdir(parents=True, exist_ok=True)
            to_samples_frame(f, species=["tvoc_ugm3"]).to_parquet(out, index=False)


def test_a_flat_archive_gets_no_hotspot_polygon(client, tmp_path):
    import json

    from ecopatrol.processing import hotspots

    _flat_archive(tmp_path / "flat", seed=1)
    d = process_archive(tmp_path / "flat", tmp_path / "out", scheduler=client, rows_per_task=3000, n_buckets=3)
    m = process_in_memory(tmp_path / "flat")
    assert d.summary["n_tasks"] == 4 and d.n_partitions == 4
    rule = d.summary["hotspot_rule"]
    cells = rule["cells"]
    # Gi* alone calls some cells of pure noise significant, and would draw polygons there
    assert cells["n_gi_significant"] >= 5
    assert len(hotspots.hotspot_polygons(d.cells, d.cells, value="tvoc_ugm3_enh")) > 0
    # with the rule: none is above the noise, no polygon, and archive.json says why
    assert cells["n_above_threshold"] == cells["n_gi_significant_and_above"] == cells["n_polygons"] == 0
    assert d.summary["n_hotspots"] == 0 == len(d.hotspots) and rule["why"].startswith("no hotspot")
    assert 3.0 < cells["noise"] < 5.0 and 45.0 < cells["background"] < 55.0  # the analyser's 4 µg/m³ at 50
    assert cells["threshold_one_pass"] == pytest.approx(max(5 * cells["noise"], 0.1 * cells["background"]))
    assert json.loads((tmp_path / "out" / "archive.json").read_text())["hotspot_rule"] == rule
    # identical on both paths
    assert m.summary["hotspot_rule"] == rule and len(m.hotspots) == 0
    pd.testing.assert_frame_equal(_plain(d.cells), _plain(m.cells))


def test_noise_and_background_histograms_merge_exactly():
    rng = np.random.default_rng(5)
    v = np.r_[rng.lognormal(np.log(50.0), 0.3, 20_001), -rng.lognormal(0.0, 1.0, 300), np.zeros(40), np.nan, np.inf]
    whole = level_histogram(v)
    parts = merge_histograms([level_histogram(p) for p in np.array_split(rng.permutation(v), 7)])
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(whole[1].sum()) == np.isfinite(v).sum()
    fin = v[np.isfinite(v)]
    for sample in (fin, fin[:-1], -fin, fin[fin <= 0], np.array([3.0, 3.0])):  # odd, even, negative, zeros
        exact = float(np.median(sample))
        assert histogram_median(level_histogram(sample)) == pytest.approx(exact, rel=LEVEL_BIN_REL / 2, abs=1e-300)
    assert histogram_median(level_histogram([np.nan])) is None


def test_scheduler_address_and_outputs(archive, cluster, in_memory, tmp_path):
    import geopandas as gpd
    import rasterio

    seen = []
    d = process_archive(archive[0], tmp_path, scheduler=cluster.scheduler_address,
                        progress=lambda stage, done, total: seen.append((stage, done, total)))
    pd.testing.assert_frame_equal(_plain(d.cells), _plain(in_memory.cells))
    assert d.segments is None  # no roads given
    assert {"scan", "bounds", "aggregate", "merge"} <= {s for s, _, _ in seen}
    assert all(done <= total for _, done, total in seen)
    assert set(d.files) >= {"cells.gpkg", "hotspots.tif", "hotspots.gpkg", "archive.json"}
    cells = gpd.read_file(tmp_path / "cells.gpkg")
    assert len(cells) == len(in_memory.cells) and cells.crs.to_epsg() == 4326
    with rasterio.open(tmp_path / "hotspots.tif") as ds:
        assert ds.crs.to_epsg() == d.grid.crs.to_epsg()
        assert (ds.width, ds.height) == (d.grid.nx, d.grid.ny)
        assert ds.transform == d.grid.transform


def test_synth_is_deterministic_and_in_the_samples_schema(archive, tmp_path):
    from ecopatrol.processing.samples import read_samples

    root, manifest = archive
    synth_archive(tmp_path, days=1, vans=1, hours=0.75, seed=3)
    p = partition_path(root, "2025-03-01", "van01")
    pd.testing.assert_frame_equal(pd.read_parquet(p), pd.read_parquet(partition_path(tmp_path, "2025-03-01", "van01")))
    s = read_samples(p)  # validates the schema
    assert len(s) == int(0.75 * 3600)
    assert s["time_utc"].is_monotonic_increasing and s["time_utc"].dt.date.nunique() == 1
    assert set(s["mission_id"]) == {"van01-2025-03-01"}
    # one continuous drive: its red-light stops (15–60 s) are shorter than the stop dwell and it
    # never turns back, so it is one pass or a few (qc.PASS_RULE), numbered from 1 in time order
    assert s["pass_id"].min() == 1 and s["pass_id"].is_monotonic_increasing
    assert s["lon"].between(120.3, 120.6).all() and s["lat"].between(36.28, 36.5).all()
    assert len(manifest["emitters"]) == 4 and manifest["partitions"] == 4
    other = synth_archive(tmp_path / "b", days=1, vans=1, hours=0.75, seed=4)
    assert other["emitters"] != manifest["emitters"]


def test_bad_archives_end_in_clear_errors(tmp_path, client, archive):
    with pytest.raises(InputFileNotFoundError, match="does not exist"):
        scan_layout(tmp_path / "nope")
    bad = tmp_path / "bad"
    (bad / "2025-03-01").mkdir(parents=True)
    (bad / "date=2025-03-02" / "platform=van01").mkdir(parents=True)
    (bad / "date=2025-03-03" / "platform=van01").mkdir(parents=True)
    (bad / "date=2025-03-03" / "platform=van01" / "part-0.parquet").write_bytes(b"\x00garbage")
    with pytest.raises(ValidationError) as ei:
        process_archive(bad, tmp_path / "out", scheduler=client)
    msg = str(ei.value)
    assert "3 problem(s)" in msg and "`2025-03-01`" in msg and "empty partition" in msg
    assert "date=2025-03-03/platform=van01/part-0.parquet" in msg and "not a readable Parquet" in msg
    with pytest.raises(FormatError, match="no `ch4_ppm` column"):
        process_archive(archive[0], tmp_path / "out2", scheduler=client, species="ch4_ppm")
    assert not (tmp_path / "out2" / "cells.gpkg").exists()


def _raw_partition(pdir, *, t0: str, seed: int) -> None:
    """A van driving a 600 m street back and forth through one plume: GPX + analyser CSV (local time)."""
    from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat

    rng = np.random.default_rng(seed)
    pdir.mkdir(parents=True)
    crs = "EPSG:32651"
    ox, oy = lonlat_to_xy(120.45, 36.38, crs)
    t = np.arange(0.0, 600.0)
    s = 600.0 - np.abs((8.0 * t) % 1200.0 - 600.0)  # back and forth
    x, y = ox + s, oy + 0.0 * s
    lon, lat = xy_to_lonlat(x, y, crs)
    start = pd.Timestamp(t0)
    times = (start + pd.to_timedelta(t, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ")
    pts = "".join(f'<trkpt lat="{la:.7f}" lon="{lo:.7f}"><ele>10</ele><time>{tt}</time></trkpt>'
                  for lo, la, tt in zip(lon, lat, times, strict=True))
    (pdir / "R01.gpx").write_text('<?xml version="1.0"?><gpx version="1.1" creator="t" '
                                  f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{pts}</trkseg></trk></gpx>')
    c = 50.0 + 200.0 * np.exp(-((s - 300.0) ** 2) / (2 * 20.0**2)) + rng.normal(0, 1.0, len(t))
    local = (start + pd.to_timedelta(t, unit="s")).tz_convert("Asia/Shanghai").strftime("%Y-%m-%d %H:%M:%S")
    pd.DataFrame({"Time": local, "TVOC(ug/m3)": np.round(c, 2), "Benzene(ppb)": np.round(c / 50, 3),
                  "Status": "OK"}).to_csv(pdir / "R01_voc.csv", index=False)


def test_raw_archive_is_georeferenced_then_aggregated(tmp_path, client):
    raw = tmp_path / "raw"
    _raw_partition(raw / "date=2026-05-12" / "platform=van01", t0="2026-05-12T01:00:00Z", seed=1)
    _raw_partition(raw / "date=2026-05-13" / "platform=van01", t0="2026-05-13T02:00:00Z", seed=2)
    opts = {"lag": 0.0, "clock_offset": 0.0, "instrument": None}
    d = process_archive(raw, tmp_path / "out", scheduler=client, georef_kwargs=opts)
    m = process_in_memory(raw, georef_kwargs=opts)
    assert scan_layout(tmp_path / "out" / "samples").kind == "samples"
    assert d.n_samples == m.n_samples == 1200
    pd.testing.assert_frame_equal(_plain(d.cells), _plain(m.cells))
    peak = d.cells.loc[d.cells["tvoc_ugm3"].idxmax()]
    assert peak["n_passes"] >= 4  # the plume cell is crossed on every pass of both days


def test_cli_synth_and_process_archive(tmp_path, cluster):
    from typer.testing import CliRunner

    from ecopatrol.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["archive", "synth", "--days", "1", "--vans", "1", "--hours", "0.5",
                            "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert "1800 samples in 1 partitions" in r.output
    r = runner.invoke(app, ["process-archive", str(tmp_path / "a"), "--out", str(tmp_path / "o"),
                            "--scheduler", cluster.scheduler_address])
    assert r.exit_code == 0, r.output
    assert "1800 samples in 1 partitions" in r.output and (tmp_path / "o" / "cells.gpkg").exists()
