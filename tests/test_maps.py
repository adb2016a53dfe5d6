"""Structural tests of the interactive map: layers, feature counts, bounds, legend, GCJ-02, offline."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from maps_support import drone_plan, layer_data, make_output_folder, make_samples, van_plan

from ecopatrol.core.crs import wgs84_to_gcj02
from ecopatrol.core.errors import InputError, InputFileNotFoundError
from ecopatrol.maps import build_map
from ecopatrol.maps.interactive import thin_tracks
from ecopatrol.maps.offline import external_urls


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_output_folder(tmp_path_factory.mktemp("maps"), n_samples=3000)


def _registry(html: str) -> dict:
    m = re.search(r"window\.ecopatrol = \{.*?bounds: (\[\[.*?\]\]),\s*basemap: \"(\w+)\"", html, re.DOTALL)
    names = [json.loads(n) for n in re.findall(r'("[^"]+"): (?:feature_group|image_overlay)_\w+', html)]
    return {"bounds": json.loads(m.group(1)), "basemap": m.group(2), "layers": names}


def _kinds(fc: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in fc["features"]:
        k = f["properties"]["kind"]
        out[k] = out.get(k, 0) + 1
    return out


def test_all_layers_and_feature_counts(demo, tmp_path):
    folder, area = demo
    html = build_map(folder, out=tmp_path / "m.html", area=area).read_text()
    reg = _registry(html)
    assert reg["layers"] == ["Hotspot raster", "Roads", "No-fly & restricted zones", "Gi* hotspots", "Van routes",
                             "Drone sorties", "Sample tracks", "Plume events", "Enterprises",
                             "Launch sites & depot", "Inspection targets", "Wind"]
    data = layer_data(html)
    assert _kinds(data["Enterprises"]) == {"enterprise": 5}
    assert _kinds(data["Inspection targets"]) == {"target": 3}
    assert sorted(f["properties"]["rank"] for f in data["Inspection targets"]["features"]) == [1, 2, 3]
    assert _kinds(data["No-fly & restricted zones"]) == {"zone": 2}
    assert _kinds(data["Gi* hotspots"]) == {"hotspot": 2}
    assert _kinds(data["Plume events"]) == {"event": 3}
    dk = _kinds(data["Drone sorties"])
    assert dk["sortie"] == 2 and dk["waypoint"] == 12 and dk["arrow"] >= 4
    vk = _kinds(data["Van routes"])
    assert vk["route"] == 1 and vk["leg"] == 4 and vk["arrow"] >= 1
    legs = {f["properties"]["leg_kind"] for f in data["Van routes"]["features"] if f["properties"]["kind"] == "leg"}
    assert legs == {"monitoring", "background", "transit"}
    # monitoring leg drawn differently from transit
    styles = {f["properties"]["leg_kind"]: f["properties"]["_style"] for f in data["Van routes"]["features"]
              if f["properties"]["kind"] == "leg"}
    assert styles["monitoring"]["color"] != styles["transit"]["color"] and "dashArray" in styles["transit"]
    assert _kinds(data["Launch sites & depot"]) == {"launch": 3, "depot": 2}
    assert "L.imageOverlay(" in html and '"data:image/png;base64,' in html
    assert "L.control.layers(" in html


def test_enterprise_style_and_popup(demo, tmp_path):
    folder, area = demo
    data = layer_data(build_map(folder, out=tmp_path / "m.html", area=area).read_text())
    ent = {f["properties"]["enterprise_id"]: f["properties"] for f in data["Enterprises"]["features"]}
    # positive list → hollow (white fill); targets drawn larger
    assert ent["E2"]["_style"]["fillColor"] == "#ffffff"
    assert ent["E1"]["_style"]["fillColor"] != "#ffffff"
    assert ent["E1"]["_style"]["radius"] > ent["E2"]["_style"]["radius"]
    # same industry, same colour; different industries, different colours
    assert ent["E1"]["_style"]["color"] == ent["E4"]["_style"]["color"] != ent["E2"]["_style"]["color"]
    pop = ent["E1"]["_popup"]
    assert "#1" in pop and "upwind within 10° of the plume axis" in pop and "1.3 ± 0.4 g/s" in pop
    # reasons are escaped, not injected as markup
    assert "&lt;b&gt;priority&lt;/b&gt;" in pop and "<b>priority</b>" not in pop
    assert "Dye &lt;Works&gt; B" in ent["E2"]["_popup"]


def test_bounds_fit_the_operational_data_not_the_whole_registry(demo, tmp_path):
    from ecopatrol.maps.interactive import L_ENTERPRISES, L_ROADS, L_SITES, L_TARGETS, L_ZONES

    folder, area = demo
    html = build_map(folder, out=tmp_path / "m.html", area=area).read_text()
    (s, w), (n, e) = _registry(html)["bounds"]
    assert "fitBounds" in html
    coords = []
    for name, fc in layer_data(html).items():
        if name.startswith((L_ENTERPRISES, L_TARGETS, L_ZONES, L_SITES, L_ROADS)):
            continue  # context: drawn, but the view is fitted to the day's plans, samples and evidence
        for f in fc["features"]:
            coords.append(np.asarray(_flatten(f["geometry"]["coordinates"])).reshape(-1, 2))
    xy = np.vstack(coords)
    assert xy[:, 0].min() == pytest.approx(w, abs=1e-5)
    assert (xy[:, 0] >= w - 1e-5).all() and (xy[:, 0] <= e + 1e-5).all()
    assert (xy[:, 1] >= s - 1e-5).all() and (xy[:, 1] <= n + 1e-5).all()
    # the data span ~4.5 km east-west: bounds are tight, not the whole registry
    assert 0.03 < e - w < 0.1


def test_rank_badges_only_for_the_top_targets(demo, tmp_path):
    from ecopatrol.maps.interactive import L_TARGETS, TOP_TARGETS

    folder, area = demo
    html = build_map(folder, out=tmp_path / "m.html", area=area).read_text()
    badges = [fc for name, fc in layer_data(html).items() if name.startswith(L_TARGETS)]
    ranks = [f["properties"]["rank"] for fc in badges for f in fc["features"]]
    assert ranks and max(ranks) <= TOP_TARGETS


def _flatten(c):
    if isinstance(c[0], (int, float)):
        return list(c)
    return [v for sub in c for v in _flatten(sub)]


def test_legend_has_units_and_classes(demo, tmp_path):
    folder, area = demo
    html = build_map(folder, out=tmp_path / "m.html", area=area, lang="en").read_text()
    name = "Sample tracks — TVOC (µg/m³)"   # the layer control's entry
    assert name in html or json.dumps(name) in html
    legend = re.search(r'div\.innerHTML = ("<b class=\\"ep-title\\">Legend<\\/b><div class=\\"ep-body\\">.*?");', html).group(1)
    legend = json.loads(legend.replace("<\\/", "</"))
    assert "TVOC (µg/m³)" in legend and "3,000 samples" in legend
    for k in ("90 %", "95 %", "99 %", "monitoring leg", "transit leg", "no-fly zone", "positive list",
              "packaging printing", "Gi* z-score"):
        assert k in legend, k
    assert "Wind<\\/b><br>from 270° at 4.0 m/s" in html


def test_amap_shifts_every_overlay_to_gcj02(demo, tmp_path):
    folder, area = demo
    osm = layer_data(build_map(folder, out=tmp_path / "o.html", area=area, basemap="osm").read_text())
    html_amap = build_map(folder, out=tmp_path / "a.html", area=area, basemap="amap").read_text()
    amap = layer_data(html_amap)
    lon, lat = area.enterprises.geometry.x.iloc[0], area.enterprises.geometry.y.iloc[0]
    glon, glat = wgs84_to_gcj02(lon, lat)
    e_osm = next(f for f in osm["Enterprises"]["features"] if f["properties"]["enterprise_id"] == "E1")
    e_amap = next(f for f in amap["Enterprises"]["features"] if f["properties"]["enterprise_id"] == "E1")
    assert e_osm["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert e_amap["geometry"]["coordinates"] == pytest.approx([glon, glat], abs=1e-6)
    # the GCJ-02 shift here is hundreds of metres: a real difference, not rounding
    assert abs(glon - lon) * 111_320 * np.cos(np.radians(lat)) > 100
    # every layer moved (polygons, lines, points), by the same conversion
    for name in set(osm) - {"Wind"}:  # the wind arrow is placed in display space
        a = np.asarray(_flatten(osm[name]["features"][0]["geometry"]["coordinates"])).reshape(-1, 2)
        b = np.asarray(_flatten(amap[name]["features"][0]["geometry"]["coordinates"])).reshape(-1, 2)
        gx, gy = wgs84_to_gcj02(a[:, 0], a[:, 1])
        tol = 1.2e-5 if name == "Roads" else 2e-6   # roads are stored to 5 decimals (about a metre)
        np.testing.assert_allclose(b, np.column_stack([gx, gy]), atol=tol, err_msg=name)
    # raster overlay bounds shifted as well
    ob = re.search(r"L\.imageOverlay\(\s*\"data:[^\"]+\",\s*(\[\[.*?\]\])", html_amap, re.DOTALL)
    (s, w), (n, e) = json.loads(ob.group(1))
    import rasterio

    with rasterio.open(folder / "evidence" / "hotspots.tif") as src:
        b0 = src.bounds
    assert (w, s) == pytest.approx(wgs84_to_gcj02(b0.left, b0.bottom), abs=1e-6)
    assert (e, n) == pytest.approx(wgs84_to_gcj02(b0.right, b0.top), abs=1e-6)
    assert "autonavi.com" in html_amap and "openstreetmap" not in html_amap.lower().replace(
        "leaflet", "")


def test_offline_page_is_self_contained(demo, tmp_path):
    folder, area = demo
    html = build_map(folder, out=tmp_path / "off.html", area=area, offline=True, basemap="none").read_text()
    assert external_urls(html) == []
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html and "<script src" not in html
    assert 'version="1.9.3"' in html.replace("t.version=", 'version=')  # Leaflet inlined
    assert "sourceMappingURL" not in html


def test_online_page_is_self_contained_too_and_the_guard_catches_links(demo, tmp_path):
    folder, area = demo
    html = build_map(folder, out=tmp_path / "on.html", area=area).read_text()
    assert external_urls(html) == []            # Leaflet inlined without --offline: a dead CDN costs nothing
    assert "tile.openstreetmap.org" in html      # the tiles, drawn over the offline roads
    assert "cdn.jsdelivr" not in html
    assert external_urls('<script src="https://cdn.example/leaflet.js"></script>') == ["https://cdn.example/leaflet.js"]


def test_absent_artefacts_are_not_drawn(tmp_path):
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "plan.json").write_text(json.dumps(drone_plan()))
    html = build_map(tmp_path / "f", out=tmp_path / "m.html", basemap="none").read_text()
    assert _registry(html)["layers"] == ["Drone sorties", "Launch sites & depot", "Wind"]
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "plan.json").write_text(json.dumps(van_plan()))
    html = build_map(tmp_path / "g", out=tmp_path / "g.html", basemap="none").read_text()
    assert _registry(html)["layers"] == ["Van routes", "Launch sites & depot", "Wind"]


def test_area_folder_without_core_area_loader(tmp_path):
    folder, _ = make_output_folder(tmp_path, n_samples=500, with_area_dir=True)
    html = build_map(folder, out=tmp_path / "m.html").read_text()
    assert len(layer_data(html)["Enterprises"]["features"]) == 5


def test_errors_name_the_problem(tmp_path, demo):
    with pytest.raises(InputFileNotFoundError, match="no such folder"):
        build_map(tmp_path / "missing", out=tmp_path / "m.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileNotFoundError, match="no artefacts found"):
        build_map(tmp_path / "empty", out=tmp_path / "m.html")
    folder, area = demo
    with pytest.raises(InputError, match="basemap 'google'"):
        build_map(folder, out=tmp_path / "m.html", basemap="google", area=area)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "plan.json").write_text('{"schema": "other"}')
    with pytest.raises(InputError, match="ecopatrol.plan/1"):
        build_map(tmp_path / "bad", out=tmp_path / "m.html")
    assert not (tmp_path / "m.html").exists()


def test_thin_tracks_caps_points_and_keeps_peaks():
    s = make_samples(20_000)
    pts = thin_tracks(s, "tvoc_ugm3", max_points=1000)
    assert len(pts) <= 1000 + 3 * 2       # one partial chunk per track at most
    assert pts["value"].max() == pytest.approx(s["tvoc_ugm3"].max())
    assert set(pts["label"]) == {"m350-1 / S01 / 1", "m350-1 / S01 / 2", "van1 / R01 / 1"}
    # thinning does not alter its input
    s2 = s.copy()
    thin_tracks(s, "tvoc_ugm3", max_points=1000)
    assert s.equals(s2)


def test_many_samples_stay_light(tmp_path):
    folder, area = make_output_folder(tmp_path, n_samples=400_000)
    out = build_map(folder, out=tmp_path / "big.html", area=area, offline=True)
    size_mb = out.stat().st_size / 1e6
    assert size_mb < 5.0, size_mb
    fc = layer_data(out.read_text())["Sample tracks"]
    assert 0 < len(fc["features"]) < 200


def test_real_jimo_area(demo, tmp_path):
    from ecopatrol.core.area import load_area

    jimo = load_area("jimo")
    folder, _ = demo
    html = build_map(folder, out=tmp_path / "j.html", area=jimo, basemap="amap").read_text()
    data = layer_data(html)
    ent = data["Enterprises"]["features"]
    assert len(ent) == len(jimo.enterprises)
    first = jimo.enterprises.iloc[0]
    f = next(f for f in ent if f["properties"]["enterprise_id"] == str(first["enterprise_id"]))
    assert f["geometry"]["coordinates"] == pytest.approx(
        list(wgs84_to_gcj02(first.geometry.x, first.geometry.y)), abs=1e-6)
    if len(jimo.nofly):
        assert len(data["No-fly & restricted zones"]["features"]) == len(jimo.nofly)


def test_visit_cut_marks_the_visited_badges(demo, tmp_path):
    import shutil

    import pandas as pd

    folder, area = demo
    run = tmp_path / "run"
    shutil.copytree(folder, run)
    tg = pd.read_csv(run / "targets.csv", dtype={"enterprise_id": str})
    tg["visit"] = tg["rank"] <= 2  # as `ecopatrol targets … --visits 2` writes it
    tg.to_csv(run / "targets.csv", index=False)
    html = build_map(run, out=tmp_path / "m.html", area=area, lang="en").read_text()
    badges = [f for name, fc in layer_data(html).items() if name.startswith("Inspection targets")
              for f in fc["features"]]
    assert sum("to visit" in str(f["properties"].get("_popup", "")) for f in badges) == 2
    plain = build_map(folder, out=tmp_path / "p.html", area=area, lang="en").read_text()
    assert "★ to visit" not in plain
