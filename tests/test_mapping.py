"""Mappings a user can write: the README's examples, times of day, molar masses, `mapping init`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecopatrol.cli import main
from ecopatrol.core.errors import FormatError, InputError
from ecopatrol.core.profiles import MOLAR_MASS_G_MOL
from ecopatrol.processing.readers import read_any
from ecopatrol.processing.readers.mapping_init import draft_mapping
from ecopatrol.processing.readers.tabular import convert_units, date_from_filename, read_mapped_csv

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "### Mappings: reading any CSV"


def _accounted(r) -> bool:
    return len(r.frame) + len(r.quarantine) == r.rows_read


def readme_examples() -> list[tuple[str, str, str]]:
    """(file name, CSV text, TOML text) of every example in the README's mapping section."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n### ", start + len(SECTION))
    section = text[start:end]
    out, prev_end, csv_block = [], 0, None
    for m in re.finditer(r"^```(\w*)\n(.*?)^```$", section, flags=re.S | re.M):
        lang, body = m.group(1), m.group(2)
        if lang == "csv":
            names = re.findall(r"`([\w.-]+\.(?:csv|txt|dat))`", section[prev_end:m.start()])
            csv_block = (names[-1] if names else "example.csv", body)
        elif lang == "toml":
            assert csv_block is not None, "every TOML example in the README comes after the CSV it reads"
            out.append((*csv_block, body))
            csv_block = None
        prev_end = m.end()
    return out


EXAMPLES = readme_examples()
# hand-computed from the README's comments: ppb = µg/m³ × 24.465 / M
EXPECTED = {
    "no2_logger.csv": ("track+sensor", {"no2_ppb": 38.2 * 24.465 / 46.0055, "so2_ugm3": 9.1},
                       pd.Timestamp("2026-05-12T01:00:00Z")),
    "co_20260512.csv": ("sensor", {"co_ppm": 0.7075, "co2_ppm": 431.0}, pd.Timestamp("2026-05-12T15:59:58Z")),
    "voc_station.txt": ("sensor", {"tvoc_ppb": 152.0, "nmhc_ppb": 1262.9, "h2s_ugm3": 4.318},
                        pd.Timestamp("2026-05-12T01:00:00Z")),
    "etac.csv": ("sensor", {"ethyl_acetate_ppb": 24.46, "tvoc_ugm3": 410.0}, pd.Timestamp("2026-05-12T01:00:00Z")),
}


def test_the_readme_has_the_four_examples():
    assert sorted(name for name, _, _ in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize(("name", "csv_text", "toml_text"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_readme_example_reads_its_csv(tmp_path, name, csv_text, toml_text):
    p = tmp_path / name
    p.write_text(csv_text, encoding="utf-8")
    m = tmp_path / "mapping.toml"
    m.write_text(toml_text, encoding="utf-8")
    r = read_any(p, mapping=m)
    kind, first, t0 = EXPECTED[name]
    assert r.format == "mapped-csv" and r.kind == kind and _accounted(r)
    assert r.quarantine.empty and len(r.frame) == len(csv_text.strip().splitlines()) - 1
    for col, value in first.items():
        assert r.frame[col].iloc[0] == pytest.approx(value, rel=1e-3), col
    assert r.frame["time_utc"].iloc[0] == t0
    if name.startswith("co_"):  # across midnight: the last two rows are on the next day
        assert list(r.frame["time_utc"].dt.tz_convert("Asia/Shanghai").dt.day) == [12, 12, 13, 13]
    # and `mapping init` drafts a mapping for the same file that reads it without edits
    d = draft_mapping(p)
    assert d.complete, d.todo
    again = read_mapped_csv(p, d.mapping)
    assert _accounted(again) and len(again.frame) == len(r.frame)
    assert again.frame["time_utc"].iloc[0] == t0


# ----------------------------------------------------------------------------- times of day


def _tod_csv(path: Path, times: list[str]) -> Path:
    path.write_text("Time,CO2(ppm)\n" + "".join(f"{t},{420 + i}\n" for i, t in enumerate(times)))
    return path


def _tod_mapping(**time) -> dict:
    return {"time": {"column": "Time", "format": "%H:%M:%S", "timezone": "UTC", **time},
            "columns": [{"source": "CO2(ppm)", "name": "co2", "unit": "ppm"}]}


def test_time_of_day_with_a_date(tmp_path):
    p = _tod_csv(tmp_path / "log.csv", ["09:00:00", "09:00:01.5", "9:00:03"])
    r = read_mapped_csv(p, _tod_mapping(date="2026-05-12"))
    assert _accounted(r) and r.quarantine.empty
    assert list(r.frame["time_utc"]) == [pd.Timestamp("2026-05-12T09:00:00Z"), pd.Timestamp("2026-05-12T09:00:01.5Z"),
                                         pd.Timestamp("2026-05-12T09:00:03Z")]


def test_time_of_day_date_as_a_toml_date_and_in_local_time(tmp_path):
    p = _tod_csv(tmp_path / "log.csv", ["09:00:00"])
    m = tmp_path / "m.toml"
    m.write_text('[time]\ncolumn = "Time"\nformat = "%H:%M:%S"\ndate = 2026-05-12\ntimezone = "Asia/Shanghai"\n'
                 '[[columns]]\nsource = "CO2(ppm)"\nunit = "ppm"\n')
    r = read_any(p, mapping=m)
    assert r.frame["time_utc"].iloc[0] == pd.Timestamp("2026-05-12T01:00:00Z")


@pytest.mark.parametrize("name", ["co_20260512.csv", "CO-2026-05-12-van1.csv", "van1_2026_05_12.txt",
                                  "logger7 20260512 083000.csv"])
def test_time_of_day_date_from_the_file_name(tmp_path, name):
    assert date_from_filename(name) == "2026-05-12"
    p = _tod_csv(tmp_path / name, ["08:30:00", "08:30:01"])
    r = read_mapped_csv(p, _tod_mapping(date="from-filename"))
    assert r.frame["time_utc"].iloc[0] == pd.Timestamp("2026-05-12T08:30:00Z")


def test_date_from_filename_skips_what_is_not_a_date():
    assert date_from_filename("serial_12345678_20260512.csv") == "2026-05-12"
    assert date_from_filename("run_20261399_x.csv") is None  # month 13
    assert date_from_filename("2026-05_12.csv") is None  # mixed separators


def test_time_of_day_across_midnight(tmp_path):
    times = ["23:59:58", "23:59:59", "00:00:00", "00:00:01", "00:00:00.5", "12:00:00", "23:59:00", "00:01:00"]
    p = _tod_csv(tmp_path / "log_20261231.csv", times)
    r = read_mapped_csv(p, _tod_mapping(date="from-filename"))
    assert _accounted(r)
    t = list(r.frame["time_utc"])
    assert t[:4] == [pd.Timestamp("2026-12-31T23:59:58Z"), pd.Timestamp("2026-12-31T23:59:59Z"),
                     pd.Timestamp("2027-01-01T00:00:00Z"), pd.Timestamp("2027-01-01T00:00:01Z")]
    # 0.5 s back is a clock fault (quarantined); two midnights in one file reach 2 January
    assert list(r.quarantine["row"]) == [5] and "backwards" in r.quarantine["reason"].iloc[0]
    assert t[-1] == pd.Timestamp("2027-01-02T00:01:00Z")


def test_one_corrupt_time_is_not_a_midnight(tmp_path):
    p = _tod_csv(tmp_path / "log.csv", ["15:00:00", "15:00:01", "00:00:00", "15:00:02", "15:00:03"])
    r = read_mapped_csv(p, _tod_mapping(date="2026-05-12"))
    assert list(r.quarantine["row"]) == [3]
    assert (r.frame["time_utc"].dt.day == 12).all() and len(r.frame) == 4


def test_unparseable_times_of_day_are_quarantined_with_their_field(tmp_path):
    p = _tod_csv(tmp_path / "log.csv", ["09:00:00", "25:00:00", "09:61:00", "soon", "09:00:04"])
    r = read_mapped_csv(p, _tod_mapping(date="2026-05-12"))
    assert _accounted(r) and list(r.quarantine["row"]) == [2, 3, 4]
    assert r.quarantine["reason"].str.contains("field `Time`: unparseable time").all()


def test_times_of_day_without_a_date_name_the_file_column_and_option(tmp_path):
    p = _tod_csv(tmp_path / "co_logger.csv", ["23:59:58", "23:59:59"])
    with pytest.raises(FormatError) as exc:
        read_mapped_csv(p, _tod_mapping())
    msg = str(exc.value)
    assert "`co_logger.csv`" in msg and "`Time`" in msg and "times of day only" in msg and "no date" in msg
    assert 'date = "YYYY-MM-DD"' in msg and 'date = "from-filename"' in msg and "[time]" in msg
    # an ISO-format mapping on the same file says the same, not "unparseable time" on every row
    iso = _tod_mapping()
    iso["time"].pop("format")
    with pytest.raises(FormatError, match="times of day only"):
        read_mapped_csv(p, iso)
    # and so does the analyser export, which has no mapping: it points to one
    with pytest.raises(FormatError, match=r"co_logger.csv.*times of day only.*mapping init"):
        read_any(p)


def test_date_problems_are_refused_clearly(tmp_path):
    p = _tod_csv(tmp_path / "nodate.csv", ["09:00:00"])
    with pytest.raises(FormatError, match=r"nodate.csv.*from-filename.*no date.*rename the file"):
        read_mapped_csv(p, _tod_mapping(date="from-filename"))
    with pytest.raises(InputError, match=r"date = '12/05/2026' is not a date.*YYYY-MM-DD"):
        read_mapped_csv(p, _tod_mapping(date="12/05/2026"))
    q = tmp_path / "full.csv"
    q.write_text("Time,CO2(ppm)\n2026-05-12 09:00:00,420\n")
    with pytest.raises(InputError, match=r"full.csv.*already holds dates.*remove `date`"):
        read_mapped_csv(q, {"time": {"column": "Time", "date": "2026-05-12"}})


# ----------------------------------------------------------------------------- molar masses

# (species, M): 100 µg/m³ → ppb and 10 ppb → µg/m³, computed by hand as 100 × 24.465 / M and 10 × M / 24.465
HAND = {
    "co2": (44.009, 55.5909, 17.9886), "co": (28.010, 87.3438, 11.4490), "so2": (64.066, 38.1872, 26.1868),
    "no": (30.006, 81.5337, 12.2649), "no2": (46.0055, 53.1784, 18.8046), "o3": (47.998, 50.9709, 19.6190),
    "h2s": (34.08, 71.7870, 13.9301), "nh3": (17.031, 143.6498, 6.9614), "ch4": (16.043, 152.4964, 6.5575),
    "nmhc": (12.011, 203.6883, 4.9095),
}


@pytest.mark.parametrize("species", sorted(HAND))
def test_molar_mass_and_conversions_of_the_common_gases(species):
    m, ppb_of_100_ugm3, ugm3_of_10_ppb = HAND[species]
    assert MOLAR_MASS_G_MOL[species] == m
    assert convert_units([100.0], species, "ug/m3", "ppb")[0] == pytest.approx(ppb_of_100_ugm3, rel=1e-5)
    assert convert_units([10.0], species, "ppb", "ug/m3")[0] == pytest.approx(ugm3_of_10_ppb, rel=1e-5)
    # mg/m³ = 1000 µg/m³, ppm = 1000 ppb: 0.1 mg/m³ is the same number of ppm as 100 µg/m³ is ppb / 1000
    assert convert_units([0.1], species, "mg/m3", "ppm")[0] == pytest.approx(ppb_of_100_ugm3 / 1000, rel=1e-5)
    assert convert_units([0.01], species, "ppm", "mg/m3")[0] == pytest.approx(ugm3_of_10_ppb / 1000, rel=1e-5)


def test_existing_molar_masses_are_unchanged():
    assert {k: MOLAR_MASS_G_MOL[k] for k in ("benzene", "toluene", "xylene", "no2", "so2", "co", "ch4")} == {
        "benzene": 78.11, "toluene": 92.14, "xylene": 106.17, "no2": 46.0055, "so2": 64.066, "co": 28.010,
        "ch4": 16.043}


def test_co2_in_a_mapping_converts_now(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("t,CO2\n2026-05-12 09:00:00,440.09\n")
    r = read_mapped_csv(p, {"time": {"column": "t"},
                            "columns": [{"source": "CO2", "name": "co2", "unit": "ppm", "to": "mg/m3"}]})
    assert r.frame["co2_mgm3"].iloc[0] == pytest.approx(440.09 * 44.009 / 24.465, rel=1e-9)


def test_unknown_molar_mass_names_file_column_species_and_fix(tmp_path):
    p = tmp_path / "etac.csv"
    p.write_text("t,EtAc\n2026-05-12 09:00:00,88.1\n")
    col = {"source": "EtAc", "name": "ethyl_acetate", "unit": "ug/m3", "to": "ppb"}
    with pytest.raises(InputError) as exc:
        read_mapped_csv(p, {"time": {"column": "t"}, "columns": [col]})
    msg = str(exc.value)
    assert "`etac.csv`" in msg and "column `EtAc`" in msg and "`ethyl_acetate`" in msg
    assert "molar_mass_g_mol" in msg and "[[columns]]" in msg and "remove `to`" in msg
    assert "TVOC" not in msg and "mixture" not in msg  # not blamed on mixtures any more
    r = read_mapped_csv(p, {"time": {"column": "t"}, "columns": [{**col, "molar_mass_g_mol": 88.106}]})
    assert r.frame["ethyl_acetate_ppb"].iloc[0] == pytest.approx(88.1 * 24.465 / 88.106)
    # volume ↔ volume and mass ↔ mass need no molar mass
    ok = read_mapped_csv(p, {"time": {"column": "t"}, "columns": [{**col, "to": "mg/m3"}]})
    assert ok.frame["ethyl_acetate_mgm3"].iloc[0] == pytest.approx(0.0881)


def test_tvoc_stays_unconvertible_unless_given_a_molar_mass(tmp_path):
    p = tmp_path / "pid.csv"
    p.write_text("t,TVOC\n2026-05-12 09:00:00,410\n")
    col = {"source": "TVOC", "name": "tvoc", "unit": "ug/m3", "to": "ppb"}
    with pytest.raises(InputError, match=r"pid.csv.*column `TVOC`.*`tvoc` is a mixture.*keep the file's unit"):
        read_mapped_csv(p, {"time": {"column": "t"}, "columns": [col]})
    with pytest.raises(InputError, match="mixture"):
        convert_units(np.array([1.0]), "tvoc", "ppb", "ug/m3")
    r = read_mapped_csv(p, {"time": {"column": "t"}, "columns": [{**col, "molar_mass_g_mol": 56.106}]})
    assert r.frame["tvoc_ppb"].iloc[0] == pytest.approx(410 * 24.465 / 56.106)


@pytest.mark.parametrize(("mapping", "match"), [
    ({"time": {"column": "t", "fromat": "iso"}}, r"unknown key\(s\) \['fromat'\] in \[time\]"),
    ({"time": {"column": "t"}, "columns": [{"source": "x", "unit": "ppb", "molar_mass": 44}]},
     r"\[\[columns\]\] entry 1: the keys are"),
    ({"time": {"column": "t"}, "columns": [{"source": "x", "unit": "ppb", "molar_mass_g_mol": -3}]},
     "must be a positive number"),
    ({"time": {"column": "t"}, "columns": [{"source": "x", "unit": "ppb", "to": "g/l"}]},
     r"entry 1 \(`x`\).*unknown concentration unit 'g/l'"),
    ({"time": {"column": "t"}, "position": {"lon": "x"}}, "needs both `lon` and `lat`"),
    ({"time": {"column": "t"}, "colums": []}, r"unknown section\(s\) \['colums'\]"),
])
def test_mapping_mistakes_name_the_key(tmp_path, mapping, match):
    p = tmp_path / "a.csv"
    p.write_text("t,x\n2026-05-12 09:00:00,1\n")
    with pytest.raises(InputError, match=match):
        read_mapped_csv(p, mapping)


# ----------------------------------------------------------------------------- mapping init

LAYOUTS = {
    # comma, ISO, positions, three header unit styles, a status and an unknown column, two bad rows
    "van_log.csv": ("Time,Longitude,Latitude,CO2(ppm),NO2 [ug/m3],TVOC_ppb,Status,Pump\n"
                    "2026-05-12 09:00:00,120.4551,36.3820,421.0,38.2,152,OK,1\n"
                    "2026-05-12 09:00:01,120.4552,36.3821,420.5,abc,150,OK,1\n"
                    "2026-05-12 09:00:02,120.4553,36.3822,422.1,39.9,151,OK,1,extra\n"
                    "2026-05-12 09:00:03,120.4554,36.3823,423.0,41.0,149,OK,1\n",
                    "track+sensor", {"co2_ppm", "no2_ugm3", "tvoc_ppb"}, 2, pd.Timestamp("2026-05-12T01:00:00Z")),
    # semicolons, day/month/year (unambiguous: the 13th), altitude, GCJ-free WGS-84
    "station.txt": ("stamp;lng;lat;alt;SO2(mg/m3);O3(ppb)\n"
                    "13/05/2026 10:00:00;120.1;36.2;35.0;0.012;40\n"
                    "13/05/2026 10:00:10;120.1;36.2;35.1;0.013;41\n"
                    "13/05/2026 10:00:20;120.1;36.2;35.1;0.011;\n",
                    "track+sensor", {"so2_mgm3", "o3_ppb"}, 0, pd.Timestamp("2026-05-13T02:00:00Z")),
    # tabs, Chinese headers, times of day only with the date in the file name
    "走航_20260514.tsv": ("时间\t经度\t纬度\t甲烷(ppm)\t二氧化氮(μg/m³)\t备注\n"
                         "23:59:59\t120.45\t36.38\t1.95\t30\ta\n"
                         "00:00:00\t120.45\t36.38\t1.96\t31\tb\n"
                         "00:00:01\t120.45\t36.38\t1.97\t32\tc\n",
                         "track+sensor", {"ch4_ppm", "no2_ugm3"}, 0, pd.Timestamp("2026-05-14T15:59:59Z")),
    # pipes, Unix milliseconds, no position, a unit in a suffix and one in brackets
    "pid.log": ("epoch_ms|VOC_ug/m3|H2S(ppb)|Temp\n"
                "1778547600000|410|3.1|25.1\n"
                "1778547601000|415|3.3|25.1\n"
                "1778547601000|415|3.3|25.1\n",
                "sensor", {"voc_ugm3", "h2s_ppb"}, 1, pd.Timestamp("2026-05-12T01:00:00Z")),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_mapping_init_round_trips_through_the_reader(tmp_path, name):
    text, kind, species, n_quarantined, t0 = LAYOUTS[name]
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    d = draft_mapping(p)
    assert d.complete, d.todo
    assert tomllib.loads(d.text) == d.mapping
    r = read_mapped_csv(p, d.mapping)
    assert r.kind == kind and _accounted(r) and r.rows_read == len(text.splitlines()) - 1
    assert set(r.species) == species and len(r.quarantine) == n_quarantined
    assert r.frame["time_utc"].iloc[0] == t0
    # written to a file, the same text reads through `read_any` too
    m = tmp_path / "m.toml"
    m.write_text(d.text, encoding="utf-8")
    assert len(read_any(p, mapping=m).frame) == len(r.frame)


def test_mapping_init_comments(tmp_path):
    p = tmp_path / "van_log.csv"
    p.write_text(LAYOUTS["van_log.csv"][0])
    d = draft_mapping(p)
    assert d.mapping["instrument"]["delimiter"] == ","
    assert d.mapping["position"] == {"lon": "Longitude", "lat": "Latitude", "crs": "wgs84"}
    assert "#   Pump" in d.text and "Status (as `status`)" in d.text
    assert '# to = "ug/m3"' in d.text  # the optional conversion of CO2, commented
    assert d.mapping["time"] == {"column": "Time", "format": "iso", "timezone": "Asia/Shanghai"}
    assert d.native_format == "analyser-csv"  # ISO times first: the analyser reader takes it as it is
    s = tmp_path / "s.csv"
    s.write_text("Time,NO2(ppb)\n12/05/2026 09:00:00,1\n")
    assert draft_mapping(s).native_format is None  # but not with day/month/year times
    q = tmp_path / "zh_20260514.tsv"
    q.write_text(LAYOUTS["走航_20260514.tsv"][0])
    dz = draft_mapping(q)
    assert dz.mapping["time"]["date"] == "from-filename" and dz.mapping["instrument"]["delimiter"] == "\t"
    assert [c["name"] for c in dz.mapping["columns"]] == ["ch4", "no2"]
    assert any("2026-05-14" in c for c in dz.checks)


def test_mapping_init_time_of_day_without_a_date_leaves_a_todo(tmp_path):
    p = tmp_path / "logger.csv"
    p.write_text("Date,Time,CO(ppm)\n2026-05-12,09:00:00,0.5\n2026-05-12,09:00:01,0.6\n")
    d = draft_mapping(p)
    assert not d.complete and "date" in d.todo[0]
    assert 'date = "TODO-YYYY-MM-DD"  # TODO' in d.text and "`Date` looks like a date" in d.text
    m = tmp_path / "m.toml"
    m.write_text(d.text)
    with pytest.raises(InputError, match=r"m.toml.*date = 'TODO-YYYY-MM-DD' is not a date"):
        read_any(p, mapping=m)
    m.write_text(d.text.replace("TODO-YYYY-MM-DD", "2026-05-12"))
    assert len(read_any(p, mapping=m).frame) == 2


@pytest.mark.parametrize(("cells", "fmt", "t0"), [
    (["2026/05/12 09:00:00", "2026/05/12 09:00:01"], "%Y/%m/%d %H:%M:%S", "2026-05-12T01:00:00Z"),
    (["05/13/2026 09:00:00", "05/13/2026 09:00:01"], "%m/%d/%Y %H:%M:%S", "2026-05-13T01:00:00Z"),
    (["20260512090000", "20260512090001"], "%Y%m%d%H%M%S", "2026-05-12T01:00:00Z"),
    (["2026年05月12日 09:00:00", "2026年05月12日 09:00:01"], "%Y年%m月%d日 %H:%M:%S", "2026-05-12T01:00:00Z"),
    (["1778576400", "1778576401"], "unix", "2026-05-12T09:00:00Z"),
    (["2026-05-12T09:00:00+08:00", "2026-05-12T09:00:01+08:00"], "iso", "2026-05-12T01:00:00Z"),
])
def test_mapping_init_time_formats(tmp_path, cells, fmt, t0):
    p = tmp_path / "t.csv"
    p.write_text("Time,NO2(ppb)\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    d = draft_mapping(p)
    assert d.mapping["time"]["format"] == fmt
    r = read_mapped_csv(p, d.mapping)
    assert r.quarantine.empty and r.frame["time_utc"].iloc[0] == pd.Timestamp(t0)


def test_mapping_init_refuses_what_it_cannot_draft(tmp_path):
    p = tmp_path / "no_time.csv"
    p.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(FormatError, match=r"no_time.csv.*no column looks like a time"):
        draft_mapping(p)
    g = tmp_path / "gbk.csv"
    g.write_bytes("时间,甲烷(ppm)\n2026-05-12 09:00:00,1.9\n".encode("gbk"))
    with pytest.raises(FormatError, match=r"gbk.csv.*not UTF-8.*iconv"):
        draft_mapping(g)
    one = tmp_path / "one.csv"
    one.write_text("Time\n")
    with pytest.raises(FormatError, match="one.csv"):
        draft_mapping(one)


def test_mapping_init_on_the_real_picarro_surveys(shared_data):
    from ecopatrol.processing.readers.picarro import read_picarro

    files = sorted((shared_data / "mobile").glob("*.dat"))
    if not files:
        pytest.skip("no Picarro .dat files in ../shared/data/mobile")
    for f in files[:2]:
        d = draft_mapping(f)
        assert d.native_format == "picarro-dat"  # read without a mapping; the draft says so
        assert d.mapping["instrument"]["delimiter"] == "whitespace"
        assert d.mapping["time"] == {"column": "EPOCH_TIME", "format": "unix", "timezone": "UTC"}
        assert d.mapping["position"]["lon"] == "GPS_ABS_LONG" and d.mapping["position"]["lat"] == "GPS_ABS_LAT"
        # CH4/CO2 carry no unit in the header: suggested, commented, and the draft says what to do
        assert '# source = "CH4"' in d.text and not d.complete
        mapping = {**d.mapping, "columns": [{"source": "CH4", "name": "ch4", "unit": "ppm"}]}
        r = read_mapped_csv(f, mapping)
        native = read_picarro(f)
        assert _accounted(r) and r.kind == "track+sensor"
        common = np.intersect1d(r.frame["time_utc"].to_numpy(), native.frame["time_utc"].to_numpy())
        assert len(common) >= 0.99 * len(native.frame)


# ----------------------------------------------------------------------------- the command


def test_mapping_init_command(tmp_path, capsys):
    p = tmp_path / "co_20260512.csv"
    p.write_text("Time;CO [mg/m3]\n23:59:58;0.81\n00:00:00;0.80\n")
    assert main(["mapping", "init", str(p)]) == 0
    out = capsys.readouterr()
    assert tomllib.loads(out.out)["time"]["date"] == "from-filename"
    assert "co_20260512.csv: sensor" in out.err and "check:" in out.err
    m = tmp_path / "m.toml"
    assert main(["mapping", "init", str(p), "--out", str(m)]) == 0
    assert len(read_any(p, mapping=m).frame) == 2
    m.write_text("# edited\n")
    assert main(["mapping", "init", str(p), "--out", str(m)]) == 1
    assert "exists" in capsys.readouterr().err and m.read_text() == "# edited\n"
    assert main(["mapping", "init", str(p), "--out", str(m), "--force"]) == 0
    assert m.read_text().startswith("# ecopatrol mapping")
    assert main(["mapping", "init", str(tmp_path / "missing.csv")]) == 1
