"""The whole loop on the bundled example, end to end (the `make demo` path)."""

import json

import pandas as pd
import pytest

from ecopatrol.cli import main


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = main(["demo", "--out", str(out)])
    assert code == 0
    return out


def test_demo_writes_the_fixed_layout(demo_out):
    for sub in ("area", "plans/drone", "plans/van", "field", "samples", "evidence"):
        assert (demo_out / sub).is_dir(), sub
    for name in ("targets.csv", "map.html", "report.html", "samples/samples.parquet", "samples/quarantine.csv",
                 "samples/provenance.json", "plans/drone/plan.json", "plans/van/plan.json", "field/truth.json"):
        assert (demo_out / name).is_file(), name
    for name in ("events.gpkg", "segments.gpkg", "hotspots.tif", "hotspots.gpkg", "attribution.csv", "flux.csv"):
        assert (demo_out / "evidence" / name).is_file(), name


def test_demo_accounts_for_every_row(demo_out):
    prov = json.loads((demo_out / "samples" / "provenance.json").read_text())
    entries = prov if isinstance(prov, list) else prov.get("inputs", prov)
    for e in entries:
        assert e["rows_kept"] + e["rows_quarantined"] == e["rows_read"], e["file"]


def test_demo_targets_close_the_loop(demo_out):
    t = pd.read_csv(demo_out / "targets.csv", dtype={"enterprise_id": str})
    assert {"rank", "enterprise_id", "name", "score", "reasons"} <= set(t.columns)
    assert t["reasons"].astype(str).str.len().min() > 0
    assert (demo_out / "plans" / "next" / "drone" / "plan.json").is_file()


def test_demo_finds_a_true_emitter(demo_out):
    truth = json.loads((demo_out / "field" / "truth.json").read_text())
    t = pd.read_csv(demo_out / "targets.csv", dtype={"enterprise_id": str})
    emitters = {e["enterprise_id"] for e in truth["emitters"]}
    assert emitters & set(t["enterprise_id"].head(10)), "no true emitter in the top 10"


def test_demo_map_is_light(demo_out):
    assert (demo_out / "map.html").stat().st_size < 20e6


def test_demo_map_and_report_show_the_alarms_per_firm(demo_out):
    """Issue 17: the demo's data loggers' alarms (alarms.csv) are on the map, one badge per firm, and
    counted in the report's alarms section."""
    from maps_support import layer_data

    from ecopatrol.maps._alarms import L_ALARMS
    from ecopatrol.processing.monitor.alarms import read_alarms

    alarms = read_alarms(demo_out / "alarms.csv")
    firms = set(alarms.loc[alarms["enterprise_id"] != "", "enterprise_id"])
    assert firms, "the demo's loggers raised no alarm of a known firm"
    feats = layer_data((demo_out / "map.html").read_text(encoding="utf-8"))[L_ALARMS]["features"]
    assert {f["properties"]["enterprise_id"] for f in feats} == firms
    assert sum(f["properties"]["n_alarms"] for f in feats) == int((alarms["enterprise_id"] != "").sum())
    report = (demo_out / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="alarms">' in report
    assert f"{len(alarms)} " in report[report.index('<h2 id="alarms">'):][:600]
