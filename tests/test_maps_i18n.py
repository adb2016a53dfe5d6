"""The map's offline roads and legend toggle, and both languages of the map and the report."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest
from maps_support import ROADS, layer_data, make_output_folder

from ecopatrol.cli import main
from ecopatrol.core.errors import InputError
from ecopatrol.maps import build_map, build_report
from ecopatrol.maps.i18n import CATALOGUE, resolve_lang, t

MAPS = Path(__file__).resolve().parents[1] / "maps"


def _has(html: str, text: str) -> bool:
    """``text`` in the page, as written or as folium's ASCII-escaped JSON (the layer control's names)."""
    return text in html or json.dumps(text)[1:-1] in html


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_output_folder(tmp_path_factory.mktemp("i18n"), n_samples=2000)


# --- the roads base layer and the legend --------------------------------------------------------

def test_roads_are_an_offline_base_layer_under_the_tiles(demo, tmp_path):
    folder, area = demo
    html = build_map(folder, out=tmp_path / "m.html", area=area, basemap="osm").read_text()
    roads = layer_data(html)["Roads"]["features"]
    assert {f["properties"]["road_class"] for f in roads} == {"major", "minor", "service"}
    assert sum(f["properties"]["n_lines"] for f in roads) >= len(ROADS) - 1    # merged where they meet
    for f in roads:
        assert f["geometry"]["type"] == "MultiLineString"
        st = f["properties"]["_style"]
        assert st["interactive"] is False and st["color"].startswith("#") and st["weight"] <= 3
    # the roads' own pane sits under the tile pane: tiles cover them when they load, never the reverse
    assert 'createPane("ep-roads")' in html and "p.style.zIndex = 150" in html
    assert re.search(r'/\* ep-layer: Roads \*/\n.*\n, \{\n  pane: "ep-roads", interactive: false', html)
    assert "tile.openstreetmap.org" in html and "<script src" not in html


def test_roads_without_a_basemap_and_in_gcj02(demo, tmp_path):
    folder, area = demo
    none = layer_data(build_map(folder, out=tmp_path / "n.html", area=area, basemap="none").read_text())
    amap = layer_data(build_map(folder, out=tmp_path / "a.html", area=area, basemap="amap").read_text())
    a = none["Roads"]["features"][0]["geometry"]["coordinates"][0][0]
    b = amap["Roads"]["features"][0]["geometry"]["coordinates"][0][0]
    assert abs(b[0] - a[0]) > 1e-3          # shifted to GCJ-02 with everything else


def test_map_without_roads_file_still_draws(tmp_path):
    folder, area = make_output_folder(tmp_path, n_samples=500)
    area.roads_path = None
    html = build_map(folder, out=tmp_path / "m.html", area=area).read_text()
    assert "Roads" not in layer_data(html) and "Enterprises" in layer_data(html)


def test_legend_is_collapsible_and_popups_scroll(demo, tmp_path):
    folder, area = demo
    html = build_map(folder, out=tmp_path / "m.html", area=area, lang="en").read_text()
    assert '"ep-panel ep-legend"' in html and 'L.DomUtil.create("button", "ep-toggle", div)' in html
    assert 'window.matchMedia("(max-width: 700px)")' in html and "setOpen(false)" in html
    assert ".ep-legend.ep-collapsed .ep-body, .ep-legend.ep-collapsed .ep-title {display:none;}" in html
    assert ".ep-legend {max-height:45vh;overflow-y:auto;" in html
    assert "maxHeight: 320" in html                          # popups scroll instead of growing


def test_drone_purple_and_van_teal(demo, tmp_path):
    folder, area = demo
    data = layer_data(build_map(folder, out=tmp_path / "m.html", area=area).read_text())
    sortie = [f["properties"]["_style"]["color"] for f in data["Drone sorties"]["features"]
              if f["properties"]["kind"] == "sortie"]
    legs = {f["properties"]["leg_kind"]: f["properties"]["_style"]["color"]
            for f in data["Van routes"]["features"] if f["properties"]["kind"] == "leg"}

    def hue(c):
        import colorsys

        r, g, b = (int(c[i:i + 2], 16) / 255 for i in (1, 3, 5))
        return colorsys.rgb_to_hsv(r, g, b)[0] * 360

    assert all(270 <= hue(c) <= 310 for c in sortie)          # purples
    assert 160 <= hue(legs["monitoring"]) <= 190               # teal
    industry = {f["properties"]["_style"]["color"] for f in data["Enterprises"]["features"]}
    assert not industry & set(sortie) and legs["monitoring"] not in industry


# --- languages ----------------------------------------------------------------------------------

def test_catalogue_has_every_key_in_both_languages_with_the_same_fields():
    fields = string.Formatter()
    for key, entry in CATALOGUE.items():
        assert set(entry) == {"en", "zh"}, key
        names = [{f for _, f, _, _ in fields.parse(entry[lang]) if f} for lang in ("en", "zh")]
        assert names[0] == names[1], key
    used = set()
    for path in MAPS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) and (
                    (isinstance(node.func, ast.Name) and node.func.id in ("t", "tr"))
                    or (isinstance(node.func, ast.Attribute) and node.func.attr == "t")):
                used.add(node.args[0].value)
    missing = {k for k in used if k not in CATALOGUE and not k.endswith(".")}
    assert not missing, missing
    assert len(used) > 150


def test_default_language_comes_from_the_area():
    class A:
        def __init__(self, config=None, rules=None):
            self.config, self.rules, self.enterprises = config or {}, rules, None

    class Rules:
        def __init__(self, country):
            self.country = country

    assert resolve_lang(None, None) == "en"
    assert resolve_lang(None, A({"language": "zh-CN"})) == "zh"
    assert resolve_lang(None, A({"language": "en"}, Rules("CN"))) == "en"
    assert resolve_lang(None, A(rules=Rules("CN"))) == "zh"
    assert resolve_lang(None, A(rules=Rules("DE"))) == "en"
    assert resolve_lang(None, A({"country": "cn"})) == "zh"
    assert resolve_lang("EN", A(rules=Rules("CN"))) == "en"
    with pytest.raises(InputError, match="--lang 'fr'"):
        resolve_lang("fr", None)


def _english_titles(prefixes):
    return [CATALOGUE[k]["en"] for k in CATALOGUE if k.startswith(prefixes) and "{" not in CATALOGUE[k]["en"]]


def test_report_in_chinese_has_no_english_titles(demo, tmp_path):
    folder, area = demo
    zh = build_report(folder, out=tmp_path / "zh.html", area=area).read_text()     # the area is in China
    assert "<html lang='zh-CN'>" in zh
    for s in ("巡查日报", "概要", "检查对象", "现场检查单", "监测发现", "可信度", "包装印刷", "北京时间",
              "Noto Sans CJK SC"):
        assert s in zh, s
    for title in _english_titles(("sec.", "card.", "h3.", "sheet.seen", "sheet.when", "sheet.sure",
                                  "sheet.history", "col.")):
        assert f">{title}<" not in zh, title
    en = build_report(folder, out=tmp_path / "en.html", area=area, lang="en").read_text()
    assert "<html lang='en'>" in en and ">Summary</h2>" in en and "概要" not in en
    # reasons stay as written in both
    assert "est. 1.4 g/s" in zh and "est. 1.4 g/s" in en


def test_map_in_chinese_has_no_english_labels(demo, tmp_path):
    folder, area = demo
    zh = build_map(folder, out=tmp_path / "zh.html", area=area, basemap="none").read_text()
    for s in ("道路（离线）", "采样轨迹", "图例", "禁飞区", "走航监测路段", "无人机架次", "正面清单", "window.ecopatrol"):
        assert _has(zh, s), s
    assert 'lang: "zh"' in zh and "Noto Sans CJK SC" in zh
    for label in _english_titles(("legend.", "zone.", "site.", "basemap.osm", "popup.", "col.")):
        if " " in label:             # single words ("monitoring") are also data values of the features
            assert not _has(zh, f">{label}<") and not _has(zh, f'"{label}"'), label
    # layer keys stay stable English for scripts and tests
    assert set(layer_data(zh)) >= {"Roads", "Enterprises", "Van routes"}
    en = build_map(folder, out=tmp_path / "en.html", area=area, basemap="none", lang="en").read_text()
    assert _has(en, "Roads (offline)") and not _has(en, "道路")


def test_cli_report_top_and_lang_and_map_lang(demo, tmp_path, capsys):
    folder, _ = demo
    area_dir = folder.parent / "cli-area"
    if not area_dir.exists():
        make_output_folder(folder.parent / "cli", n_samples=500, with_area_dir=True)
        area_dir = folder.parent / "cli" / "out" / "area"
    out = tmp_path / "r.html"
    assert main(["report", str(folder), "--out", str(out), "--area", str(area_dir), "--top", "2",
                 "--lang", "en"]) == 0
    html = out.read_text()
    assert html.count("<section class='sheet'") == 2 and ">Summary</h2>" in html
    assert main(["map", str(folder), "--out", str(tmp_path / "m.html"), "--area", str(area_dir),
                 "--lang", "zh", "--offline"]) == 0
    html = (tmp_path / "m.html").read_text()
    assert _has(html, "道路（离线）") and "Roads" in layer_data(html)
    assert main(["report", str(folder), "--out", str(out), "--lang", "fr"]) != 0
    assert "--lang 'fr'" in capsys.readouterr().err
    assert t("sec.summary", "zh") == "概要"
