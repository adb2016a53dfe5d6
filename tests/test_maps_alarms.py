"""Online-monitoring alarms per firm on the map (a layer, a legend checkbox) and in the report
(a section for the top targets and a block on each sheet), in Chinese and English (issue 17)."""

from __future__ import annotations

import re

import pytest
from maps_support import layer_data, make_output_folder, write_alarms_csv

from ecopatrol.maps import build_map, build_report
from ecopatrol.maps._alarms import ALARMS_PER_FIRM_REPORT, L_ALARMS, by_firm, kind_label


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("alarms")
    folder, area = make_output_folder(root, n_samples=500)
    write_alarms_csv(folder, n_e1=ALARMS_PER_FIRM_REPORT + 2)
    return folder, area


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_map_has_an_alarm_badge_per_firm_with_every_alarm_in_its_popup(folder, tmp_path, lang):
    f, area = folder
    html = build_map(f, out=tmp_path / "map.html", area=area, basemap="none", lang=lang).read_text()
    layers = layer_data(html)
    feats = {ft["properties"]["enterprise_id"]: ft["properties"] for ft in layers[L_ALARMS]["features"]}
    assert set(feats) == {"E1", "E3"}          # the logger with no firm is not placed
    e1 = feats["E1"]
    assert e1["n_alarms"] == ALARMS_PER_FIRM_REPORT + 2 and e1["_html"] == str(ALARMS_PER_FIRM_REPORT + 2)
    pop = e1["_popup"]
    assert pop.count("<tr><td>") == ALARMS_PER_FIRM_REPORT + 2   # all of them (the popup scrolls)
    assert "rule-0: avg &gt; limit" in pop and "NMHC hourly avg 85 mg/m3 &gt; 50" in pop
    assert kind_label("exceedance", lang) in pop
    assert ("小时均值超标" in pop) == (lang == "zh")
    assert "MN-E1-STACK" in pop
    # local time (Beijing, UTC+8): 01:00Z is 09:00
    assert "2025-05-06 09:00 – 10:30" in pop
    # the legend's checkbox names the layer; the layer control shows it translated
    assert re.search(r'class=\\?"ep-layer-toggle\\?" data-layer=\\?"Monitoring alarms', html)
    assert ("在线监测报警" in html) == (lang == "zh")


def test_map_without_alarms_has_no_alarm_layer(tmp_path):
    f, area = make_output_folder(tmp_path, n_samples=300)
    html = build_map(f, out=tmp_path / "map.html", area=area, basemap="none", lang="en").read_text()
    assert L_ALARMS not in layer_data(html)
    assert "ep-layer-toggle\\\" data-layer" not in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_lists_alarms_per_top_target_and_on_its_sheet(folder, tmp_path, lang):
    f, area = folder
    html = build_report(f, out=tmp_path / "report.html", area=area, lang=lang).read_text()
    sec = html[html.index('<h2 id="alarms">'):]
    sec = sec[:sec.index("<h2", 5)]
    # E1 (#1) and E3 (#3) have alarms, E5 (#2) none; rank order, each linked to its sheet
    firms = re.findall(r"data-enterprise='(\w+)'", sec)
    assert firms == ["E1", "E3"]
    assert "href='#sheet-1'" in sec
    assert sec.count("<tr><td>") == ALARMS_PER_FIRM_REPORT + 1   # E1 cut at the limit, E3's one
    assert ("另有 2 条报警" in sec) if lang == "zh" else ("2 more alarms of this firm" in sec)
    assert ("1 more of data loggers" in sec) if lang == "en" else ("另有 1 条来自监测设备登记表未列出的数采仪" in sec)
    sheet1 = html[html.index("id='sheet-1'"):html.index("id='sheet-2'")]
    assert kind_label("treatment_stopped", lang) in sheet1 and "rule-1: avg &gt; limit" in sheet1
    sheet2 = html[html.index("id='sheet-2'"):html.index("id='sheet-3'")]
    assert kind_label("exceedance", lang) not in sheet2


def test_report_without_alarms_says_so(tmp_path):
    f, area = make_output_folder(tmp_path, n_samples=300)
    html = build_report(f, out=tmp_path / "report.html", area=area, lang="en").read_text()
    assert "An alarms file (alarms.csv) not available" in html


def test_by_firm_orders_strongest_first_and_leaves_out_alarms_of_no_firm(folder):
    from ecopatrol.processing.monitor.alarms import read_alarms

    g = by_firm(read_alarms(folder[0] / "alarms.csv"))
    assert set(g) == {"E1", "E3"}
    s = g["E1"]["strength"].to_list()
    assert s == sorted(s, reverse=True)
