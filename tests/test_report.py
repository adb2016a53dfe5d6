"""The daily report and its static figures: sections, counts, escaping, embedded PNGs, print CSS."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest
from maps_support import drone_plan, make_output_folder, make_samples, van_plan

from ecopatrol.maps import build_report
from ecopatrol.maps.report import mission_summary
from ecopatrol.maps.static import (
    curtain_figure,
    hotspot_figure,
    pass_timeseries_figure,
    pick_curtain,
    pick_pass,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_output_folder(tmp_path_factory.mktemp("report"), n_samples=3000)


def test_report_sections_and_counts(demo, tmp_path):
    folder, area = demo
    html = build_report(folder, out=tmp_path / "r.html", area=area, lang="en").read_text()
    for h in ("Summary", "Flown and driven", "Samples kept and quarantined", "Plume events", "Hotspots",
              "Inspection targets", "Passes and curtains", "Sheets for the inspectors"):
        assert f">{h}</h2>" in html, h
    assert "3,000</div><div class=\"k\">samples kept" in html
    assert "3</div><div class=\"k\">rows quarantined" in html
    assert "status not OK" in html and "no position within 2 s" in html
    assert "3 events, 2 confirmed" in html
    assert "synthetic example data" in html
    # planned sorties and routes, with distances in km
    assert "<td>S01</td>" in html and "<td>S02</td>" in html and "<td>R01</td>" in html
    # ranked targets in rank order, reasons split into items and escaped
    ranks = re.findall(r"<tr><td><a href='#sheet-(\d)'>\d</a></td><td>(E\d)</td>", html)
    assert ranks == [("1", "E1"), ("2", "E5"), ("3", "E3")]
    assert "<li>est. 1.4 g/s</li>" in html
    assert "&lt;b&gt;priority&lt;/b&gt;" in html and "<b>priority</b>" not in html
    # figures: hotspot map, pass time series, curtain — real PNGs
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == 3
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in imgs)
    # printable: A4 page rule, tables and figures kept whole; no external resource
    assert "@page {size:A4" in html and "@media print" in html and "break-inside:avoid" in html
    assert "http://" not in html and "https://" not in html


def test_report_tolerates_missing_artefacts(tmp_path):
    (tmp_path / "f" / "plans" / "van").mkdir(parents=True)
    import json

    (tmp_path / "f" / "plans" / "van" / "plan.json").write_text(json.dumps(van_plan()))
    html = build_report(tmp_path / "f", out=tmp_path / "r.html").read_text()
    assert "A drone plan not available" in html and "Samples not available" in html
    assert "targets.csv not available" in html and "<td>R01</td>" in html


def test_mission_summary_distance_and_counts():
    s = make_samples(2000)
    ms = mission_summary(s).set_index("mission_id")
    assert ms.loc["R01", "samples"] == 1600 and ms.loc["S01", "samples"] == 400
    # the van drives 4.5 km along the street (plus a few metres of GPS jitter)
    assert ms.loc["R01", "distance_km"] == pytest.approx(4.5, rel=0.1)
    assert ms.loc["S01", "passes"] == 2


def test_static_figures(demo):
    folder, area = demo
    s = make_samples(3000)
    import geopandas as gpd

    ev = gpd.read_file(folder / "evidence" / "events.gpkg")
    fig = hotspot_figure(raster_path=folder / "evidence" / "hotspots.tif",
                         hotspots=gpd.read_file(folder / "evidence" / "hotspots.gpkg"),
                         enterprises=area.enterprises, targets=pd.read_csv(folder / "targets.csv"), events=ev)
    ax = fig.axes[0]
    assert len(ax.images) == 1 and [t.get_text() for t in ax.texts] == ["1", "2", "3"]
    assert ax.get_aspect() == pytest.approx(1 / np.cos(np.radians(36.4)), rel=1e-3)

    p = pick_pass(s, "tvoc_ugm3")
    assert (p.mission_id, p.pass_id, p.why) == ("R01", 1, "peak")
    fig = pass_timeseries_figure(s, mission_id="R01", pass_id=1, species="tvoc_ugm3", events=ev)
    ax = fig.axes[0]
    assert len(ax.lines[0].get_xdata()) == 2400
    assert len(ax.patches) == 2          # EV1 and EV2 belong to R01 pass 1; EV3 does not
    assert "µg/m³" in ax.get_ylabel() and "Beijing time" in ax.get_xlabel()

    plan = drone_plan()
    assert pick_curtain(s, "tvoc_ugm3", plan=plan) == "S01"
    assert pick_curtain(s, "tvoc_ugm3") is None      # two heights and no plan: not told from a transit
    fig = curtain_figure(s, mission_id="S01", species="tvoc_ugm3", sortie=plan["sorties"][0])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "height AGL (m)"
    lo, hi = ax.get_ylim()
    assert lo == pytest.approx(40) and hi == pytest.approx(80)
    # the 600 m curtain is measured in metres along its axis
    assert ax.get_xlim()[1] == pytest.approx(600, rel=0.05)
