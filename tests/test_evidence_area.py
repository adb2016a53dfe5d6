"""No silent example: evidence without an area, samples far from the given area, targets' area.

``hotspots``/``attribute``/``targets``/``map``/``report`` never fall back to the bundled ``jimo``:
without ``--area`` the evidence is built from the samples alone (their own UTM zone, no
attribution, empty attribution.csv / rates.csv with headers, the skipped steps in evidence.json);
with an area, samples far from it are refused with the distance.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from plume_world import curtain_samples, make_area, van_samples

from ecopatrol.cli import main
from ecopatrol.core.area import load_area
from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import Wind
from ecopatrol.processing.attribution import ATTRIBUTION_COLUMNS
from ecopatrol.processing.evidence import (
    MAX_AREA_DISTANCE_KM,
    RATES_COLUMNS,
    area_distance_km,
    build_evidence,
    check_samples_near_area,
)
from ecopatrol.processing.samples import write_samples

EMITTERS = {"E04-S1": 2.0}
PICARRO = "cfads_20170315-155022Z.dat"


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _header(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[0].split(",")


def _errors(err: str) -> list[str]:
    """The error lines of stderr (the log lines of the run share it)."""
    return [ln for ln in err.splitlines() if ln.startswith("error:")]


def _rows(path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) - 1


def _world(area) -> gpd.GeoDataFrame:
    """Van passes and a drone curtain of the tiny plume world (in Jimo), with measured wind."""
    van = van_samples(area, EMITTERS, passes=2)
    drone = curtain_samples(area, EMITTERS, centre_xy_m=(700.0, 0.0), half_width_m=200)
    return gpd.GeoDataFrame(pd.concat([van, drone], ignore_index=True), geometry="geometry", crs="EPSG:4326")


def _write(samples: gpd.GeoDataFrame, folder):
    s = samples.copy()
    for col, val in (("alt_amsl_m", np.nan), ("speed_m_s", np.nan), ("qa_flags", "")):
        if col not in s.columns:
            s[col] = val
    write_samples(SimpleNamespace(samples=s, quarantine=None, provenance=[]), folder)
    return folder


@pytest.fixture(scope="module")
def us_samples(shared_data, tmp_path_factory):
    """Real US Picarro mobile data (Alabama), georeferenced from its own GPS columns."""
    from ecopatrol.processing.georef import georeference

    path = shared_data / "mobile" / PICARRO
    if not path.exists():
        pytest.skip(f"{path} is not available")
    res = georeference([], [path], lag=4.0)
    folder = tmp_path_factory.mktemp("us_samples")
    write_samples(res, folder)
    return folder


@pytest.fixture(scope="module")
def us_evidence(us_samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("us_run") / "evidence"
    code = main(["hotspots", str(us_samples), "--species", "ch4_ppm", "--out", str(out)])
    assert code == 0
    return out


# --- without --area: from the samples alone -----------------------------------------------------

def test_hotspots_without_area_on_us_data_uses_its_utm_zone_and_skips_attribution(us_samples, tmp_path, capsys):
    out = tmp_path / "evidence"
    code, stdout, err = run(capsys, "hotspots", us_samples, "--species", "ch4_ppm", "--out", out)
    assert code == 0, err
    assert "no --area" in err and "EPSG:32616" in err  # said on stderr, not only in the file
    s = json.loads((out / "evidence.json").read_text())
    assert s["metric_crs"] == "EPSG:32616"  # UTM 16N, the data's own zone (not Qingdao's 51N)
    assert s["area"] is None and s["area_path"] is None
    assert any(note.startswith("attribution:") for note in s["skipped"]), s["skipped"]
    assert any(note.startswith("rates:") for note in s["skipped"]), s["skipped"]
    assert s["n_attributions"] == 0 and s["n_events"] > 0
    assert _header(out / "attribution.csv") == ATTRIBUTION_COLUMNS and _rows(out / "attribution.csv") == 0
    assert _header(out / "rates.csv") == list(RATES_COLUMNS) and _rows(out / "rates.csv") == 0
    with rasterio.open(out / "hotspots.tif") as src:
        assert src.crs.to_epsg() == 32616


def test_attribute_without_area_refuses_with_the_fix(tmp_path, capsys):
    area = make_area()
    samples = _write(_world(area), tmp_path / "samples")
    code, _, err = run(capsys, "attribute", samples, "--out", tmp_path / "evidence")
    assert code == 1 and "Traceback" not in err
    assert len(_errors(err)) == 1
    assert "attribution needs the registry: pass --area FOLDER (or --area jimo for the bundled example)" in err
    assert not (tmp_path / "evidence").exists()


def test_targets_without_area_and_no_recorded_area_refuses_in_one_line(tmp_path, capsys):
    area = make_area()
    ev = tmp_path / "evidence"
    build_evidence(_world(area), None, out_dir=ev)
    code, _, err = run(capsys, "targets", ev, "--out", tmp_path / "targets.csv")
    assert code == 1 and "Traceback" not in err
    assert len(_errors(err)) == 1, err
    assert "records no area" in err and "pass --area FOLDER (or --area jimo for the bundled example)" in err
    assert not (tmp_path / "targets.csv").exists()


def test_targets_without_area_on_us_evidence_refuses(us_evidence, tmp_path, capsys):
    code, _, err = run(capsys, "targets", us_evidence, "--out", tmp_path / "targets.csv")
    assert code == 1 and "pass --area FOLDER" in err and len(_errors(err)) == 1


def test_evidence_without_area_keeps_the_curtain_flux(tmp_path):
    """Curtain flux needs no registry: computed (target unnamed) with the given wind."""
    area = make_area()
    res = build_evidence(_world(area), None, out_dir=tmp_path, wind=Wind(270, 4, "D"))
    assert res.summary["metric_crs"] == "EPSG:32651"  # Jimo's own zone, from the samples
    assert res.summary["n_curtains"] >= 1 and np.isfinite(res.flux["flux_g_s"]).all()
    assert len(res.attribution) == 0 and list(res.attribution.columns) == ATTRIBUTION_COLUMNS
    assert any(n.startswith("flux targets:") for n in res.summary["skipped"])
    again = pd.read_csv(tmp_path / "flux.csv")
    assert len(again) == res.summary["n_curtains"]


# --- with an area: far samples refused ------------------------------------------------------------

def test_us_samples_with_area_jimo_are_refused_with_the_distance(us_samples, tmp_path, capsys):
    out = tmp_path / "evidence"
    code, _, err = run(capsys, "hotspots", us_samples, "--species", "ch4_ppm", "--area", "jimo", "--out", out)
    assert code == 1 and "Traceback" not in err
    (line,) = _errors(err)
    assert "samples.parquet" in line and "area `jimo`" in line and "omit --area" in line
    km = float(re.search(r"is ([\d,]+) km from area", line).group(1).replace(",", ""))
    assert 11_000 < km < 13_000  # Alabama → Qingdao
    assert not out.exists()


def test_distance_to_the_area_and_the_threshold():
    area = make_area()
    e = area.enterprises.geometry
    assert area_distance_km(float(e.x.mean()), float(e.y.mean()), area) == 0.0
    near = _world(area)
    assert check_samples_near_area(near, area) < 5.0
    far = near.assign(lat=near["lat"] + 1.0)  # ~111 km north
    with pytest.raises(InputError, match=r"`my.parquet`.* 1\d\d km from area `test`.*at most 50 km"):
        check_samples_near_area(far, area, samples_name="my.parquet")
    assert MAX_AREA_DISTANCE_KM == 50.0


# --- with an area: the usual path, and the area recorded for targets -------------------------------

def test_area_given_attributes_and_records_the_area_for_targets(tmp_path, capsys):
    from ecopatrol.core.area import export_area

    area_dir = export_area("jimo", tmp_path / "my-area")
    samples = _write(_world(make_area()), tmp_path / "samples")  # the plume world lies in Jimo
    ev = tmp_path / "evidence"
    code, _, err = run(capsys, "hotspots", samples, "--area", area_dir, "--out", ev, "--wind", "270/4/D")
    assert code == 0, err
    s = json.loads((ev / "evidence.json").read_text())
    assert s["area"] == "jimo" and s["area_path"] == str(area_dir.resolve())
    assert s["skipped"] == [] and s["metric_crs"] == "EPSG:32651" and s["area_distance_km"] == 0.0
    assert _rows(ev / "attribution.csv") > 0
    code, out, err = run(capsys, "targets", ev, "--out", tmp_path / "targets.csv")
    assert code == 0, err
    assert "recorded in" in err
    assert len(pd.read_csv(tmp_path / "targets.csv")) == 860


def test_library_default_is_no_area(tmp_path):
    """build_evidence(samples) alone: no registry, nothing borrowed from the example; curtains
    without a measured wind and no wind given get no flux, and that is said too."""
    res = build_evidence(_world(make_area()), out_dir=tmp_path)
    assert res.summary["area"] is None and res.summary["n_attributions"] == 0
    assert any(n.startswith("flux: curtain flux needs a wind") for n in res.summary["skipped"])
    assert _header(tmp_path / "flux.csv")[:2] == ["sortie_id", "target_id"]


# --- map and report: no example area either ---------------------------------------------------------

def test_map_and_report_without_area_draw_no_enterprises_and_say_so(us_evidence, tmp_path, capsys):
    from maps_support import layer_data

    folder = us_evidence.parent  # holds evidence/ only: no area/, none recorded
    code, _, err = run(capsys, "map", folder, "--out", tmp_path / "map.html", "--offline", "--basemap", "none")
    assert code == 0, err
    html = (tmp_path / "map.html").read_text()
    assert "Enterprises" not in layer_data(html) and "Gi* hotspots" in layer_data(html)
    assert "No area (registry) given: enterprises are not shown" in html
    assert "skipped: attribution, rates" in html
    code, _, err = run(capsys, "report", folder, "--out", tmp_path / "report.html")
    assert code == 0, err
    assert "No area (registry) given" in (tmp_path / "report.html").read_text()


def test_map_takes_the_recorded_area_or_area_option(tmp_path, capsys):
    from maps_support import layer_data

    from ecopatrol.core.area import export_area

    area_dir = export_area("jimo", tmp_path / "my-area")
    run_dir = tmp_path / "run"
    build_evidence(_world(make_area()), load_area(area_dir), out_dir=run_dir / "evidence", wind=Wind(270, 4, "D"))
    code, _, err = run(capsys, "map", run_dir, "--out", tmp_path / "m1.html", "--basemap", "none")
    assert code == 0, err
    assert "Enterprises" in layer_data((tmp_path / "m1.html").read_text())  # from evidence.json area_path
    bare = tmp_path / "bare"
    build_evidence(_world(make_area()), None, out_dir=bare / "evidence", wind=Wind(270, 4, "D"))
    code, _, err = run(capsys, "map", bare, "--out", tmp_path / "m2.html", "--basemap", "none", "--area", area_dir)
    assert code == 0, err
    html = (tmp_path / "m2.html").read_text()
    assert "Enterprises" in layer_data(html) and "No area (registry) given" not in html


def test_species_default_is_the_measured_one():
    from ecopatrol.core.errors import InputError
    from ecopatrol.processing.samples import choose_species

    both = pd.DataFrame({"tvoc_ugm3": [1.0], "ch4_ppm": [2.0]})
    assert choose_species(both) == "tvoc_ugm3"
    assert choose_species(pd.DataFrame({"co2_ppm": [400.0], "ch4_ppm": [2.0]})) == "ch4_ppm"
    assert choose_species(pd.DataFrame({"no2_ppb": [3.0]})) == "no2_ppb"
    assert choose_species(pd.DataFrame({"tvoc_ugm3": [np.nan], "ch4_ppm": [2.0]})) == "ch4_ppm"
    with pytest.raises(InputError, match="no `benzene_ppb` column.*ch4_ppm"):
        choose_species(pd.DataFrame({"ch4_ppm": [2.0]}), "benzene_ppb")
    with pytest.raises(InputError, match="no species column with data"):
        choose_species(pd.DataFrame({"lon": [1.0]}))
