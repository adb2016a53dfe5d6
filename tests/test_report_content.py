"""What the report says: reasons as written, the top-N budget, one sheet per target, merged
hotspots with proper coordinates, figures from clean data and curtains from curtain samples."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from maps_support import drone_plan, make_output_folder, make_samples, off

from ecopatrol.maps import build_report
from ecopatrol.maps._text import fmt_lonlat, split_reasons
from ecopatrol.maps.choose import curtain_samples, merge_hotspots, pick_curtain, pick_pass
from ecopatrol.maps.static import curtain_figure, pass_timeseries_figure


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_output_folder(tmp_path_factory.mktemp("content"), n_samples=3000)


# --- reasons -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, parts", [
    ("a; b; c", ["a", "b", "c"]),
    ("plume events: E0028 (confirmed, 16 passes; likelihood 0.90; ambiguous with X), E0027 (confirmed); "
     "registry: 1 violation(s) in 3 years",
     ["plume events: E0028 (confirmed, 16 passes; likelihood 0.90; ambiguous with X), E0027 (confirmed)",
      "registry: 1 violation(s) in 3 years"]),
    ("signals [S1; S2] seen; est. 1.4 g/s", ["signals [S1; S2] seen", "est. 1.4 g/s"]),
    ("unbalanced (a; b", ["unbalanced (a; b"]),          # unbalanced: left whole, never guessed
    ("a;b; c", ["a;b", "c"]),                             # only "; " splits
    ("one reason", ["one reason"]),
    ("", []), (None, []), (float("nan"), []),
])
def test_reasons_split_only_at_top_level(text, parts):
    assert split_reasons(text) == parts


def test_coordinates_read_as_lon_lat_with_hemispheres():
    assert fmt_lonlat(120.451234, 36.390121) == "120.45123 E, 36.39012 N"
    assert fmt_lonlat(-73.98, -33.5) == "73.98000 W, 33.50000 S"
    assert fmt_lonlat(None, 1) == "—"


# --- the budget and the sheets ---------------------------------------------------------------------

def _many_targets(folder, n):
    t = pd.read_csv(folder / "targets.csv")
    ids = ["E1", "E5", "E3", "E2", "E4"]
    rows = [{"rank": k + 1, "enterprise_id": ids[k] if k < 5 else f"X{k:03d}", "name": f"Firm {k + 1}",
             "score": 1 - k / n, "reasons": "weak attribution (0.12); registry: priority industry",
             "industry": "chemicals", "positive_list": False, "lon": float(off(100 * k, 0)[0]),
             "lat": float(off(0, 100 * k)[1])} for k in range(n)]
    rows[0]["reasons"] = t["reasons"].iloc[0]
    pd.DataFrame(rows).to_csv(folder / "targets.csv", index=False)


def test_top_n_budget_and_one_sheet_per_target(tmp_path):
    folder, area = make_output_folder(tmp_path, n_samples=1500)
    _many_targets(folder, 35)
    html = build_report(folder, out=tmp_path / "r.html", area=area, lang="en").read_text()
    body = html.split('id="targets"', 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"<a href='#sheet-\d+'>", body)) == 20        # --top defaults to 20
    assert "The top 20 of 35 ranked targets" in html
    assert html.count("<section class='sheet'") == 20
    assert "Firm 20" in html and "Firm 21" not in html
    html = build_report(folder, out=tmp_path / "r5.html", area=area, lang="en", top=5).read_text()
    assert html.count("<section class='sheet'") == 5
    assert "break-before:page" in html                                   # each sheet a printed page
    assert [int(r) for r in re.findall(r"id='sheet-(\d+)'", html)] == [1, 2, 3, 4, 5]


def test_sheet_says_who_what_when_how_sure_and_history(demo, tmp_path):
    folder, area = demo
    html = build_report(folder, out=tmp_path / "r.html", area=area, lang="en").read_text()
    sheet = html.split("<section class='sheet' id='sheet-1'>", 1)[1].split("</section>", 1)[0]
    assert "Inspection sheet — target #1: 青岛印刷 Packaging A" in sheet
    assert "<code>E1</code>" in sheet and "packaging printing" in sheet and "not on the positive list" in sheet
    assert "120.44" in sheet and " E, 36.40000 N" in sheet
    # what was seen: its events with values and units, the curtain flux
    assert "EV1" in sheet and "440 µg/m³" in sheet and "+400 µg/m³" in sheet
    assert "curtain flux, sortie S01: 1.3 ± 0.4 g/s" in sheet
    # when (local time), how sure, the history
    assert "plume events 2025-05-06 10:20 – 12:00 (Beijing time)" in sheet
    assert "rests on: 2 plume events (2 confirmed), a curtain flux" in sheet
    assert "last inspected 2024-03-01 (431 days ago)" in sheet and "violations in the last 3 years: 2" in sheet
    assert "<svg class=\"sketch\"" in sheet and "<polygon" in sheet      # the small location sketch
    sheet2 = html.split("id='sheet-2'>", 1)[1].split("</section>", 1)[0]
    assert "No plume evidence attributed" in sheet2 and "no inspection on record" in sheet2


def test_plan_tables_show_names_beside_ids(demo, tmp_path):
    folder, area = demo
    html = build_report(folder, out=tmp_path / "r.html", area=area, lang="en").read_text()
    flown = html.split('id="flown"', 1)[1].split('id="samples"', 1)[0]
    assert "E1 青岛印刷 Packaging A" in flown          # drone sortie S01's target
    assert "E5 Textile E" in flown                     # the van's dropped target


# --- hotspots ---------------------------------------------------------------------------------------

def test_nested_hotspots_merge_into_one_row_with_the_best_level(demo, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    folder, area = demo
    hs = gpd.read_file(folder / "evidence" / "hotspots.gpkg")   # a 95 % polygon with a 99 % one inside
    far = box(*off(3000, 3000), *off(3200, 3200))
    extra = gpd.GeoDataFrame({"hotspot_id": ["H9", "H10"], "confidence": [90, 90], "z_max": [1.8, 1.7]},
                             geometry=[hs.geometry.iloc[0].buffer(0.001), far], crs="EPSG:4326")
    m = merge_hotspots(pd.concat([hs, extra], ignore_index=True))
    assert len(m) == 2
    outer = m.iloc[0]
    assert outer["hotspot_id"] == "H9" and outer["confidence"] == 99 and outer["levels"] == "90/95/99"
    assert set(outer["members"].split(", ")) == {"H9", "1", "2"}
    assert m.iloc[1]["hotspot_id"] == "H10" and m.iloc[1]["confidence"] == 90
    html = build_report(folder, out=tmp_path / "r.html", area=area, lang="en").read_text()
    sec = html.split('id="hotspots"', 1)[1].split('id="figures"', 1)[0]
    assert "2 Gi* polygons at 90/95/99 % merged into 1 hotspots" in sec
    assert re.search(r"<td>120\.\d{5} E, 36\.\d{5} N</td>", sec)
    assert not re.search(r"\b120, 36\.4", html)


# --- clean data and the pass that matters --------------------------------------------------------

def _with_spike(n=3000):
    s = make_samples(n)
    s.loc[100, ["tvoc_ugm3", "qa_flags"]] = [20000.0, "instrument_status"]   # R01 pass 1, early
    drone = np.flatnonzero((s["mission_id"] == "S01") & (s["pass_id"] == 2))
    s.loc[drone[5], ["tvoc_ugm3", "qa_flags"]] = [25000.0, "saturated|stationary"]
    return s


def test_a_flagged_spike_is_never_chosen_nor_drawn():
    s = _with_spike()
    p = pick_pass(s, "tvoc_ugm3")
    assert (p.mission_id, p.pass_id) == ("R01", 1)     # the clean 440 µg/m³ plume, not S01's 25 000 spike
    fig = pass_timeseries_figure(s, mission_id="R01", pass_id=1, species="tvoc_ugm3")
    y = np.asarray(fig.axes[0].lines[0].get_ydata(), float)
    assert y.max() < 1000 and len(y) == (s["mission_id"] == "R01").sum() - 1
    fig = curtain_figure(s, mission_id="S01", species="tvoc_ugm3", sortie=drone_plan()["sorties"][0])
    assert fig._ep_curtain[0]["tvoc_ugm3"].max() < 1000


def test_the_pass_of_the_top_targets_strongest_event(demo):
    import geopandas as gpd

    folder, _ = demo
    s = _with_spike()
    ev = gpd.read_file(folder / "evidence" / "events.gpkg")
    at = pd.read_csv(folder / "evidence" / "attribution.csv")
    # E1's events are EV1 (R01 pass 1, +400) and EV3 (S01 pass 1, +300): the stronger one wins
    p = pick_pass(s, "tvoc_ugm3", events=ev, attribution=at, target_id="E1")
    assert (p.mission_id, p.pass_id, p.event_id, p.why) == ("R01", 1, "EV1", "target_event")
    at2 = at[at["evidence_id"] != "EV1"]
    p = pick_pass(s, "tvoc_ugm3", events=ev, attribution=at2, target_id="E1")
    assert (p.mission_id, p.pass_id, p.event_id) == ("S01", 1, "EV3")
    # no attribution: the strongest confirmed event, still never a flagged sample
    p = pick_pass(s, "tvoc_ugm3", events=ev, attribution=None, target_id=None)
    assert (p.event_id, p.why) == ("EV1", "event")


# --- curtains ----------------------------------------------------------------------------------------

def _curtain_with_transit():
    """S01's curtain (x = -200 m, 40/60/80 m) plus transit, background and a climb-out outside it."""
    s = make_samples(2000)
    s = pd.DataFrame(s[s["mission_id"] != "S01"].drop(columns="geometry"))
    parts = []
    for alt in (40.0, 60.0, 80.0):                       # the curtain: y from -300 to 300 m at three heights
        dy = np.linspace(-300, 300, 120)
        parts.append(np.column_stack([np.full(120, -200.0), dy, np.full(120, alt),
                                      40 + 300 * np.exp(-0.5 * (dy / 80) ** 2)]))
    dx = np.linspace(-900, -220, 60)                     # transit from the launch site at 60 m
    parts.append(np.column_stack([dx, -600 + (dx + 900) * 0.4, np.full(60, 60.0), np.full(60, 900.0)]))
    parts.append(np.column_stack([np.full(40, -350.0), np.linspace(-300, 300, 40), np.full(40, 70.0),
                                  np.full(40, 900.0)]))   # a background pass 150 m upwind
    parts.append(np.column_stack([np.full(30, -200.0), np.linspace(320, 700, 30), np.full(30, 60.0),
                                  np.full(30, 900.0)]))   # beyond the curtain's end, on its line
    x, y, alt, v = np.vstack(parts).T
    lon, lat = off(x, y)
    d = pd.DataFrame({"time_utc": pd.Timestamp("2025-05-06T04:00:00Z") + pd.to_timedelta(np.arange(len(x)) * 0.5,
                                                                                           unit="s"),
                      "platform_id": "m350-1", "mission_id": "S01", "pass_id": 1, "lon": lon, "lat": lat,
                      "alt_agl_m": alt, "alt_amsl_m": alt + 12, "tvoc_ugm3": v, "qa_flags": ""})
    return pd.concat([s, d], ignore_index=True)


def test_the_curtain_figure_uses_only_curtain_samples():
    s = _curtain_with_transit()
    plan = drone_plan()
    sortie = plan["sorties"][0]
    for w in sortie["waypoints"]:          # fly it at three heights, as the samples do
        if w["action"] == "sample" and w["seq"] == 4:
            w["alt_agl_m"] = 60.0
    cur, plane = curtain_samples(s, "S01", sortie=sortie, target_id="E1", species="tvoc_ugm3")
    assert plane.source == "plan" and len(cur) == 360
    assert cur["tvoc_ugm3"].max() < 900                    # no transit, background or beyond-the-end sample
    assert cur["along_m"].min() >= -15 and cur["along_m"].max() <= 615
    # without a plan: the plane the samples show at three heights — the same samples
    cur2, plane2 = curtain_samples(s, "S01", species="tvoc_ugm3")
    assert plane2.source == "samples" and len(plane2.levels_m) == 3
    assert cur2["tvoc_ugm3"].max() < 900 and abs(len(cur2) - 360) <= 12
    fig = curtain_figure(s, mission_id="S01", species="tvoc_ugm3", sortie=sortie, target_id="E1")
    ax = fig.axes[0]
    assert ax.get_xlim()[1] <= 620 and ax.get_ylim() == pytest.approx((40, 80))
    assert pick_curtain(s, "tvoc_ugm3", plan=plan, target_id="E1") == "S01"


def test_no_curtain_from_a_transit_alone():
    s = make_samples(2000)
    s = s[s["mission_id"] == "R01"].copy()
    s["alt_agl_m"] = np.where(np.arange(len(s)) % 2, 60.0, 62.0)   # a drone in transit at one height
    s["mission_id"] = "S09"
    assert curtain_samples(s, "S09", species="tvoc_ugm3") is None
    assert pick_curtain(s, "tvoc_ugm3") is None
