"""The simulator's files through the ordinary ingest path (the files are the only interface).

Reads every file ``simulate`` writes with ``ecopatrol.processing.readers.read_any`` and
georeferences the analysers with the true clock offset and lag declared: the positions
must then match the true sampling positions of ``truth_positions.parquet``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ecopatrol.core.crs import haversine_m
from ecopatrol.missions.simulate import simulate

from sim_support import drone_plan, make_area, van_plan, write_plans

from ecopatrol.processing import readers  # noqa: E402


@pytest.fixture(scope="module")
def field(tmp_path_factory):
    root = tmp_path_factory.mktemp("simr")
    plans = write_plans(root / "plans", drone=drone_plan(), van=van_plan())
    res = simulate(make_area(), plans, root / "field", seed=11)
    return res, root / "field"


def _span(res, mission: str):
    p = next(x for x in res.truth["platforms"] if x["mission_id"] == mission)
    return pd.Timestamp(p["start_utc"]), pd.Timestamp(p["end_utc"])


@pytest.mark.parametrize("rel, fmt, mission", [
    ("drone/S01.tlog", "tlog", "S01"),
    ("drone/S01_airdata.csv", "dji-airdata-csv", "S01"),
    ("van/R01.gpx", "gpx", "R01"),
    ("van/R01.nmea", "nmea", "R01"),
])
def test_track_files_read_with_utc_times_covering_the_mission(field, rel, fmt, mission):
    res, root = field
    assert readers.detect_format(root / rel) == fmt
    r = readers.read_any(root / rel)
    t = r.frame["time_utc"]
    t0, t1 = _span(res, mission)
    assert t.min() < t0 < t1 < t.max()
    assert (t.max() - t.min()).total_seconds() < (t1 - t0).total_seconds() + 300


@pytest.mark.parametrize("rel", ["drone/S01_voc.csv", "van/R01_voc.csv"])
def test_analyser_files_read_every_row(field, rel):
    res, root = field
    inst = next(i for i in res.truth["instruments"] if i["file"] == rel)
    r = readers.read_any(root / rel)
    assert r.rows_read == inst["rows"]
    kept = len(r.frame)
    assert kept + len(r.quarantine) == inst["rows"]


@pytest.mark.parametrize("track, sensor", [("drone/S01.tlog", "drone/S01_voc.csv"),
                                           ("drone/S01_airdata.csv", "drone/S01_voc.csv"),
                                           ("van/R01.nmea", "van/R01_voc.csv"),
                                           ("van/R01.gpx", "van/R01_voc.csv")])
def test_georeferenced_positions_match_the_true_sampling_positions(field, track, sensor):
    from ecopatrol.processing.georef import georeference

    res, root = field
    inst = next(i for i in res.truth["instruments"] if i["file"] == sensor)
    out = georeference([root / track], [root / sensor], lag=inst["lag_s"], clock_offset=inst["clock_offset_s"],
                       platform_id="x", mission_id="x")
    s = out.samples
    tp = pd.read_parquet(root / "truth_positions.parquet")
    tp = tp[(tp["file"] == sensor) & tp["written"]]
    key = lambda t: (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds().round(2)  # noqa: E731
    m = pd.DataFrame({"k": key(s["time_utc"]), "lon": s["lon"], "lat": s["lat"]}).merge(
        pd.DataFrame({"k": key(tp["time_utc"]), "lon_t": tp["lon"], "lat_t": tp["lat"]}), on="k")
    assert len(m) > 0.7 * len(tp)
    err = haversine_m(m["lon"], m["lat"], m["lon_t"], m["lat_t"])
    assert np.sqrt(np.mean(err**2)) < 5.0
    json.dumps(res.truth)  # the truth stays JSON-serialisable


@pytest.mark.parametrize("track, sensor", [("drone/S01.tlog", "drone/S01_voc.csv"),
                                           ("van/R01.gpx", "van/R01_voc.csv")])
def test_georeferenced_samples_carry_the_measured_wind_blowing_from_the_true_direction(field, track, sensor):
    # the drone's autopilot wind estimate (MAVLink WIND) and the van's anemometer (analyser
    # CSV columns) reach the samples; the direction is where the wind comes FROM
    from ecopatrol.processing.georef import georeference

    res, root = field
    inst = next(i for i in res.truth["instruments"] if i["file"] == sensor)
    out = georeference([root / track], [root / sensor], lag=inst["lag_s"], clock_offset=inst["clock_offset_s"],
                       platform_id="x", mission_id="x")
    s = out.samples
    tp = pd.read_parquet(root / "truth_positions.parquet")
    tp = tp[(tp["file"] == sensor) & tp["written"]]
    key = lambda t: (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds().round(2)  # noqa: E731
    m = pd.DataFrame({"k": key(s["time_utc"]), "d": s["wind_from_deg"], "u": s["wind_speed_m_s"]}).merge(
        pd.DataFrame({"k": key(tp["time_utc"]), "d_t": tp["true_wind_from_deg"], "u_t": tp["true_wind_speed_m_s"],
                      "z": tp["alt_agl_m"]}), on="k").dropna()
    m = m[m["z"] > 10] if track.startswith("drone") else m
    assert len(m) > 100
    diff = (m["d"] - m["d_t"] + 180) % 360 - 180
    assert abs(np.median(diff)) < 5.0  # a from/to mix-up would be 180°
    assert np.sqrt(np.mean(diff**2)) < 15.0
    assert np.median(m["u"] / m["u_t"]) == pytest.approx(1.0 if track.startswith("van") else 1.2, abs=0.3)
