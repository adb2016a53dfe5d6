"""Real files nobody on this project wrote, through the whole chain: inspect → georef → evidence.

Physical facts, not regression numbers: UTC spans from an independent decoding of the file,
every row kept or quarantined, every CH4 peak placed where the van was when the air entered
the inlet (the Picarro's inlet delay is about 4 s), no delay applied below the confidence
threshold, and no hotspot polygon on a survey without a plume. Skips when ../shared/data is
absent.
"""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecopatrol.core.crs import haversine_m
from ecopatrol.processing._time import to_seconds
from ecopatrol.processing.align import MIN_DELAY_CONFIDENCE, combined_signal, plume_crossings
from ecopatrol.processing.georef import georeference, inspect_file
from ecopatrol.processing.readers import read_any

from conftest import SHARED_DATA

PICARRO = sorted((SHARED_DATA / "mobile").glob("*.dat")) if SHARED_DATA is not None else []
PICARRO_LAG_S = 4.0  # the data README: "the analyser's inlet delay is about 4 s"
GPS_EPOCH = datetime(1980, 1, 6, tzinfo=UTC)

needs_data = pytest.mark.skipif(SHARED_DATA is None, reason="../shared/data (real third-party files) is absent")


def _picarro_epochs(path: Path) -> np.ndarray:
    """EPOCH_TIME of every well-formed row, decoded here without the project's reader."""
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    header = lines[0].split()
    k = header.index("EPOCH_TIME")
    out = []
    for line in lines[1:]:
        f = line.split()
        if len(f) == len(header):
            try:
                out.append(float(f[k]))
            except ValueError:
                pass
    return np.array(out)


@needs_data
@pytest.mark.parametrize("path", PICARRO, ids=lambda p: p.name)
def test_picarro_span_is_exact_and_nothing_is_lost(path):
    info = inspect_file(path)
    ep = _picarro_epochs(path)
    start = pd.Timestamp(ep.min(), unit="s", tz="UTC")
    end = pd.Timestamp(ep.max(), unit="s", tz="UTC")
    assert abs(pd.Timestamp(info["start_utc"]) - start) < pd.Timedelta(milliseconds=1)
    assert abs(pd.Timestamp(info["end_utc"]) - end) < pd.Timedelta(milliseconds=1)
    assert info["rows_kept"] + info["rows_quarantined"] == info["rows_read"]


@needs_data
def test_dataflash_spans_match_gps_week_and_the_leap_seconds_of_the_day():
    from pymavlink import mavutil

    for name, leap_s in (("arducopter_log171.bin", 17), ("ardupilot_sitl_test.BIN", 18)):
        path = SHARED_DATA / "logs" / name
        m = mavutil.mavlink_connection(str(path))
        fixes = []
        while (msg := m.recv_match(type="GPS")) is not None:
            d = msg.to_dict()
            week, ms = (d["GWk"], d["GMS"]) if "GWk" in d else (d["Week"], d["TimeMS"])
            if d.get("Status", 0) >= 3 and week > 0:
                fixes.append(GPS_EPOCH + timedelta(weeks=week, milliseconds=ms) - timedelta(seconds=leap_s))
        info = inspect_file(path)
        assert pd.Timestamp(info["start_utc"]) == pd.Timestamp(min(fixes)), name
        assert pd.Timestamp(info["end_utc"]) == pd.Timestamp(max(fixes)), name
        assert info["rows_kept"] + info["rows_quarantined"] == info["rows_read"]


@needs_data
@pytest.mark.parametrize("path", PICARRO, ids=lambda p: p.name)
def test_picarro_delay_is_trusted_or_the_documented_default_and_peaks_land_where_the_air_was(path):
    res = georeference([], [path])
    p = res.provenance[0]
    assert p["clock_offset_s"] == 0.0  # one file, one clock
    if p["delay_applied"] == "estimated":
        assert p["total_delay_estimated_confidence"] >= MIN_DELAY_CONFIDENCE
        assert p["lag_s"] == pytest.approx(PICARRO_LAG_S, abs=1.5)
    else:
        assert p["delay_applied"] == "instrument default" and p["lag_s"] == PICARRO_LAG_S
        assert "not estimated" in p["lag_method"] and p["lag_confidence"] == 0.0
    assert p["rows_kept"] + p["rows_quarantined"] == p["rows_read"]
    assert len(res.samples) == p["rows_kept"]

    # every CH4 plume peak is placed within 30 m of the car when its air entered the inlet
    f = read_any(path).frame
    t = to_seconds(f["time_utc"])
    gps = f["lon"].notna().to_numpy()
    tt, lon, lat = t[gps], f["lon"].to_numpy()[gps], f["lat"].to_numpy()[gps]
    ch4 = f["ch4_ppm"].to_numpy()
    s_stamp = to_seconds(res.samples["time_utc"]) + p["total_delay_s"]
    for c in plume_crossings(t, combined_signal(t, f, ["ch4_ppm"])).itertuples():
        win = (t >= c.t_s - c.duration_s) & (t <= c.t_s + c.duration_s)
        stamp = t[win][np.nanargmax(ch4[win])]
        t_air = stamp - PICARRO_LAG_S
        k = int(np.clip(np.searchsorted(tt, t_air), 1, len(tt) - 1))
        if t_air < tt[0] or tt[k] - tt[k - 1] > 5.0:
            continue  # the air entered during a GPS gap: that sample is quarantined, not placed
        j = int(np.argmin(np.abs(s_stamp - stamp)))
        assert abs(s_stamp[j] - stamp) < 0.01
        d = haversine_m(res.samples["lon"].iloc[j], res.samples["lat"].iloc[j],
                        np.interp(t_air, tt, lon), np.interp(t_air, tt, lat))
        assert float(d) < 30.0, (path.name, stamp)


@needs_data
@pytest.mark.parametrize("path", PICARRO, ids=lambda p: p.name)
def test_picarro_chain_through_the_cli_hotspots_only_at_plumes(path, tmp_path, capsys):
    """inspect → georef → hotspots as a user runs them, without an area: the data's own UTM
    zone (Birmingham AL: 16N), no registry step, and no hotspot polygon away from a plume event."""
    import json

    import geopandas as gpd

    from ecopatrol.cli import main

    assert main(["inspect", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "picarro-dat"
    assert main(["georef", "--sensor", str(path), "--out", str(tmp_path / "s"), "--json"]) == 0
    geo = json.loads(capsys.readouterr().out)
    assert geo["n_samples"] + geo["n_quarantined"] == info["rows_read"]  # nothing lost
    rc = main(["hotspots", str(tmp_path / "s"), "--species", "ch4_ppm", "--out", str(tmp_path / "ev"), "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["n_samples"] > 0
    summary = json.loads((tmp_path / "ev" / "evidence.json").read_text())
    assert summary["area"] is None and summary["metric_crs"].endswith("32616")
    assert any("attribution" in s for s in summary["skipped"])
    hot = gpd.read_file(tmp_path / "ev" / "hotspots.gpkg")
    if summary["n_events"] == 0:
        assert len(hot) == 0, "a survey without a plume event has no hotspot"
    elif len(hot):
        crs = "EPSG:32616"
        peaks = gpd.read_file(tmp_path / "ev" / "events.gpkg").to_crs(crs).geometry.union_all()
        assert max(hot.to_crs(crs).geometry.distance(peaks)) <= 100.0
