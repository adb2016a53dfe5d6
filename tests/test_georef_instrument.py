"""Offset and lag separated with the crew's instrument record (puff test), on the field simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecopatrol.core.crs import haversine_m
from ecopatrol.missions.simulate import simulate
from ecopatrol.processing.georef import georeference
from ecopatrol.processing.readers.instrument import find_instrument_file, load_instrument

from sim_support import drone_plan, make_area, van_plan, write_plans


@pytest.fixture(scope="module", params=[1, 2, 3])
def field(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"puff{request.param}")
    plans = write_plans(root / "plans", drone=drone_plan(), van=van_plan())
    res = simulate(make_area(), plans, root / "field", seed=request.param)
    return res, root / "field"


def _track_for(root, inst):
    stem = inst["file"][: -len("_voc.csv")]
    return root / (stem + (".tlog" if inst["platform"] == "drone" else ".gpx"))


def test_puff_test_measures_lag_and_clock_within_0_3_s(field):
    res, root = field
    for pt in res.truth["puff_tests"]:
        inst = next(i for i in res.truth["instruments"] if i["platform"] == pt["platform"])
        rec = load_instrument(root / inst["instrument_file"])
        assert rec.lag_s == pytest.approx(pt["lag_s"], abs=0.3)
        assert rec.clock_offset_s == pytest.approx(pt["clock_offset_s"], abs=0.3)
        assert rec.response_s == pytest.approx(pt["response_tau_s"])
        assert find_instrument_file(root / inst["file"]) == root / inst["instrument_file"]


def test_lag_and_clock_offset_within_1_s_and_positions_within_5_m(field):
    res, root = field
    tp_all = pd.read_parquet(root / "truth_positions.parquet")
    for inst in res.truth["instruments"]:
        out = georeference([_track_for(root, inst)], [root / inst["file"]], platform_id="x", mission_id="x")
        p = out.provenance[-1]
        assert p["lag_s"] == pytest.approx(inst["lag_s"], abs=1.0), inst["file"]
        assert p["clock_offset_s"] == pytest.approx(inst["clock_offset_s"], abs=1.0), inst["file"]
        assert "puff test" in p["lag_method"] and p["instrument_file"].endswith("_instrument.toml")
        # positions: match each sample to the true row by its instrument stamp
        s = out.samples
        tp = tp_all[(tp_all["file"] == inst["file"]) & tp_all["written"]]
        sec = lambda t: (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()  # noqa: E731
        k_s = np.round(sec(s["time_utc"]) + p["total_delay_s"])
        k_t = np.round(sec(tp["time_utc"]) + inst["clock_offset_s"] + inst["lag_s"])
        m = pd.DataFrame({"k": k_s, "lon": s["lon"].to_numpy(), "lat": s["lat"].to_numpy()}).merge(
            pd.DataFrame({"k": k_t, "lon_t": tp["lon"].to_numpy(), "lat_t": tp["lat"].to_numpy()}), on="k")
        assert len(m) > 0.9 * len(s)
        err = haversine_m(m["lon"], m["lat"], m["lon_t"], m["lat_t"])
        assert np.sqrt(np.mean(err**2)) < 5.0, inst["file"]


def test_without_the_record_the_delay_is_applied_only_when_trusted(field):
    """Without the puff test only the total delay is estimable: it is applied (with the split
    reported as not separable) when the estimate is trusted, and otherwise georef refuses and
    says what to declare — it never places samples with an untrusted delay."""
    from ecopatrol.core.errors import DelayError
    from ecopatrol.processing.align import MIN_DELAY_CONFIDENCE

    res, root = field
    inst = res.truth["instruments"][0]
    try:
        out = georeference([_track_for(root, inst)], [root / inst["file"]], instrument=None)
    except DelayError as exc:
        msg = str(exc)
        assert Path(inst["file"]).name in msg and "--clock-offset" in msg and "--lag" in msg and "puff test" in msg
        return
    p = out.provenance[-1]
    assert p["delay_applied"] == "estimated"
    assert p["total_delay_confidence"] >= MIN_DELAY_CONFIDENCE
    assert p["total_delay_s"] == pytest.approx(inst["clock_offset_s"] + inst["lag_s"], abs=1.5)
    assert p["lag_confidence"] == 0.0 and "not separable" in p["clock_offset_method"]
    assert p["instrument_file"] is None


def test_a_puff_record_without_marker_is_refused_by_name(tmp_path):
    from ecopatrol.core.errors import InputError

    t = pd.date_range("2026-05-12 09:00:00", periods=100, freq="100ms").strftime("%Y-%m-%d %H:%M:%S.%f").str[:-5]
    pd.DataFrame({"Time": t, "TVOC(ug/m3)": 80.0, "Status": "OK"}).to_csv(tmp_path / "puff.csv", index=False)
    (tmp_path / "a_instrument.toml").write_text('[puff_test]\nfile = "puff.csv"\n')
    with pytest.raises(InputError, match="puff.csv.*MARK"):
        load_instrument(tmp_path / "a_instrument.toml")
