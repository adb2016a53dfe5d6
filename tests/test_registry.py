import textwrap

import pandas as pd
import pytest

from ecopatrol.core import crs
from ecopatrol.core.errors import ValidationError
from ecopatrol.core.registry import (
    check_registry,
    is_valid_uscc,
    load_registry,
    read_targets_file,
    uscc_check_char,
)

HEADER = "enterprise_id,name,industry,lon,lat,crs,positive_list,airspace,last_inspected,violations_3y\n"
GOOD_ID = "91370282MA3C12345" + uscc_check_char("91370282MA3C12345")


def write(tmp_path, text, name="registry.csv"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_uscc_check_digit():
    # A published example code (Huawei Technologies Co., Ltd.).
    assert is_valid_uscc("914403001922038216")
    assert not is_valid_uscc("914403001922038217")
    assert not is_valid_uscc("91440300192203821")  # 17 characters
    assert not is_valid_uscc("9144030019220382IO")  # I and O are not in the character set


def test_good_registry_loads_and_converts_gcj02_once(tmp_path):
    glon, glat = crs.wgs84_to_gcj02(120.45, 36.39)
    p = write(tmp_path, HEADER
              + f"{GOOD_ID},青岛甲包装印刷有限公司,packaging printing,120.45,36.39,wgs84,是,free,2025-01-02,0\n"
              + f"LOCAL-2,Dyer B,textile dyeing,{glon:.9f},{glat:.9f},gcj02,no,controlled,,2\n")
    reg = load_registry(p)
    e = reg.enterprises
    assert len(e) == 2 and e.crs.to_epsg() == 4326
    assert e.geometry.x.iloc[1] == pytest.approx(120.45, abs=1e-8)
    assert e.geometry.y.iloc[1] == pytest.approx(36.39, abs=1e-8)
    assert list(e["positive_list"]) == [True, False]
    assert list(e["violations_3y"]) == [0, 2]
    assert reg.report.ok()


def test_ten_defects_reported_together_with_rows(tmp_path):
    bad_check = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")
    p = write(tmp_path, HEADER
              + f"{GOOD_ID},Good one,chemicals,120.45,36.39,wgs84,yes,free,2025-01-01,0\n"   # row 2 ok
              + "E3,Missing coords,chemicals,,36.39,wgs84,yes,free,,0\n"                       # 1 missing lon
              + "E4,Not numeric,chemicals,abc,36.39,wgs84,yes,free,,0\n"                       # 2 non-numeric
              + "E5,Swapped,chemicals,36.39,120.45,wgs84,yes,free,,0\n"                        # 3 swapped
              + "E6,Paris,chemicals,2.35,48.85,wgs84,yes,free,,0\n"                            # 4 outside China
              + f"{GOOD_ID},Duplicate,chemicals,120.46,36.38,wgs84,yes,free,,0\n"              # 5 duplicate id
              + f"{bad_check},Bad USCC,chemicals,120.46,36.38,wgs84,yes,free,,0\n"             # 6 bad USCC
              + "E9,Mars,chemicals,120.46,36.38,mars,yes,free,,0\n"                            # 7 unknown crs
              + "E10,,chemicals,120.46,36.38,wgs84,yes,free,,0\n"                              # 8 empty name
              + "E11,Maybe,chemicals,120.46,36.38,wgs84,perhaps,free,,0\n")                   # 9 bad boolean
    src = write(tmp_path, "source_id,enterprise_id,lon,lat,crs,height_m\n"
                f"S1,{GOOD_ID},120.45,36.39,wgs84,-5\n"                                          # 10 negative height
                "S2,NOPE,120.45,36.39,wgs84,20\n"                                                # 11 unknown enterprise
                f"S3,{GOOD_ID},120.45,36.39,wgs84,2500\n", name="sources.csv")                 # 12 absurd height
    reg = check_registry(p, sources=src)
    errs = reg.report.errors
    got = {(e.row, e.field) for e in errs}
    expected = {(3, "lon"), (4, "lon"), (5, "lat"), (6, "lon"), (7, "enterprise_id"), (8, "enterprise_id"),
                (9, "crs"), (10, "name"), (11, "positive_list")}
    assert expected <= got, got
    src_errs = {(e.file, e.row, e.field) for e in errs if e.file == "sources.csv"}
    assert {("sources.csv", 2, "height_m"), ("sources.csv", 3, "enterprise_id"), ("sources.csv", 4, "height_m")} <= src_errs
    assert len(errs) >= 12
    msgs = "\n".join(str(e) for e in errs)
    assert "look swapped" in msgs and "duplicate id" in msgs and "check character" in msgs
    with pytest.raises(ValidationError) as exc:
        load_registry(p, sources=src)
    assert "row 5" in str(exc.value) and "registry.csv" in str(exc.value)


def test_chinese_headers_are_recognised(tmp_path):
    p = write(tmp_path, "统一社会信用代码,企业名称,行业,经度,纬度,坐标系,是否正面清单\n"
              f"{GOOD_ID},青岛某印染有限公司,印染,120.45,36.39,WGS84,是\n")
    reg = load_registry(p)
    assert reg.enterprises["name"].iloc[0] == "青岛某印染有限公司"
    assert bool(reg.enterprises["positive_list"].iloc[0]) is True


def test_chinese_uscc_header_validates_short_ids(tmp_path):
    p = write(tmp_path, "统一社会信用代码,企业名称,经度,纬度\n12345,某公司,120.45,36.39\n")
    reg = check_registry(p)
    assert any(e.field == "enterprise_id" and "18 characters" in e.message for e in reg.report.errors)


def test_strict_turns_warnings_into_errors(tmp_path):
    p = write(tmp_path, HEADER + f"{GOOD_ID},No industry,,120.45,36.39,wgs84,no,free,,0\n")
    assert check_registry(p).report.ok()
    assert not check_registry(p, strict=True).report.ok(strict=True)
    with pytest.raises(ValidationError):
        load_registry(p, strict=True)


def test_far_outside_area_is_a_warning(tmp_path):
    p = write(tmp_path, HEADER + f"{GOOD_ID},Far,chemicals,116.40,39.90,wgs84,no,free,,0\n")
    reg = check_registry(p, area_center=(120.45, 36.39), area_radius_m=50_000)
    assert reg.report.ok() and any("km from the area centre" in w.message for w in reg.report.warnings)


def test_file_wide_default_crs(tmp_path):
    glon, glat = crs.wgs84_to_gcj02(120.45, 36.39)
    p = write(tmp_path, "enterprise_id,name,lon,lat\n" f"A1,X,{glon:.9f},{glat:.9f}\n")
    reg = load_registry(p, crs="gcj02")
    assert reg.enterprises.geometry.x.iloc[0] == pytest.approx(120.45, abs=1e-8)


def test_xlsx_and_geojson_and_gpkg(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point, box

    df = pd.DataFrame({"enterprise_id": [GOOD_ID], "name": ["X"], "lon": [120.45], "lat": [36.39]})
    df.to_excel(tmp_path / "r.xlsx", index=False)
    assert len(load_registry(tmp_path / "r.xlsx").enterprises) == 1
    gdf = gpd.GeoDataFrame({"enterprise_id": ["A", "B"], "name": ["a", "b"]},
                           geometry=[Point(120.45, 36.39), box(120.46, 36.38, 120.461, 36.381)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "r.geojson", driver="GeoJSON")
    reg = load_registry(tmp_path / "r.geojson")
    assert len(reg.enterprises) == 2 and "site" in reg.enterprises
    gdf.to_file(tmp_path / "r.gpkg", layer="enterprises", driver="GPKG")
    assert len(load_registry(tmp_path / "r.gpkg").enterprises) == 2


def test_binary_garbage_csv_is_a_clear_error(tmp_path):
    from ecopatrol.core.errors import FormatError

    p = tmp_path / "registry.csv"
    p.write_bytes(b"\x00\x01\x02garbage" * 50)
    with pytest.raises(FormatError, match="registry.csv"):
        load_registry(p)


def test_missing_required_column(tmp_path):
    p = write(tmp_path, "enterprise_id,name,lon\nA,B,120\n")
    with pytest.raises(ValidationError, match="`lat` is missing"):
        load_registry(p)


def test_read_targets_file_orders_by_rank(tmp_path):
    p = write(tmp_path, "rank,enterprise_id,name\n2,B,b\n1,A,a\n", name="targets.csv")
    assert read_targets_file(p) == ["A", "B"]


def test_input_frame_file_not_modified(tmp_path):
    text = HEADER + f"{GOOD_ID},X,chemicals,120.45,36.39,wgs84,yes,free,,0\n"
    p = write(tmp_path, text)
    load_registry(p)
    assert p.read_text(encoding="utf-8") == text


# ---------------------------------------------------------------- ids: placeholders, duplicates, USCC-shaped ids

def _uscc(body17: str) -> str:
    return body17 + uscc_check_char(body17)


PLACEHOLDERS = ["-", "0", "", "\u200b", "`", "无", "/", "N/A", "  ", "\u3000", "—", "-", "0", "无"]
SHOWN = ["'-'", "'0'", "the cell is empty", "'\\u200b'", "'`'", "'无'", "'/'", "'N/A'", "'\\u0020\\u0020'",
         "'\\u3000'", "'—'"]


def _id_registry(tmp_path, header="enterprise_id"):
    """A Chinese registry: 14 placeholder ids, 4 real duplicate groups, a 17-character USCC, one with a
    wrong check character, one with a zero-width space after a valid USCC, and clean rows."""
    a, b, c = _uscc("91370282MA3C00011"), _uscc("91370282MA3C00022"), _uscc("91370282MA3C00033")
    short = _uscc("91370282MA3C00044")[:17]
    good = _uscc("91370282MA3C00055")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    zw = _uscc("91370282MA3C00066") + "\u200b"
    ids = ([a, b, c, "JM-0007"] + PLACEHOLDERS[:7] + [a, b] + PLACEHOLDERS[7:] + [c, c, "JM-0007",
           short, wrong, zw, _uscc("91370282MA3C00077")])
    head = HEADER.replace("enterprise_id", header, 1)
    rows = [f"{eid},Firm {i},chemicals,{120.40 + i * 0.001:.3f},36.39,wgs84,no,free,,0" for i, eid in enumerate(ids)]
    p = tmp_path / "registry.csv"
    p.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    return p, ids


def test_placeholder_ids_are_one_error_each_and_never_duplicates(tmp_path):
    p, ids = _id_registry(tmp_path)
    reg = check_registry(p)
    assert reg.rules.country == "CN" and reg.rules.id_check == "uscc"
    errs, warns = reg.report.errors, reg.report.warnings
    missing = [e for e in errs if e.message.startswith("USCC missing: ")]
    dups = [e for e in errs if e.message.startswith("duplicate id")]
    usccs = [e for e in errs if "is not a valid USCC" in e.message]
    assert len(missing) == len(PLACEHOLDERS) == 14
    assert len(dups) == 4
    assert len(usccs) == 2
    assert len(errs) == 14 + 4 + 2 and len(warns) == 1
    # each placeholder row once, each shown with its invisible characters escaped
    ph_rows = sorted(e.row for e in missing)
    assert ph_rows == sorted(i + 2 for i, v in enumerate(ids) if v in PLACEHOLDERS)
    text = "\n".join(e.message for e in missing)
    for shown in SHOWN:
        assert shown in text, shown
    # duplicates: only among real ids, once per group, naming all its rows; no placeholder in them
    for e in dups:
        assert not any(s in e.message for s in SHOWN[:2] + SHOWN[3:]), e.message
        assert e.row not in ph_rows
    a_rows = [i + 2 for i, v in enumerate(ids) if v == ids[0]]
    c_rows = [i + 2 for i, v in enumerate(ids) if v == ids[2]]
    assert any(f"rows {a_rows[0]} and {a_rows[1]}" in e.message for e in dups)
    assert any(f"rows {c_rows[0]}, {c_rows[1]} and {c_rows[2]}" in e.message for e in dups)
    assert any("'JM-0007'" in e.message for e in dups)  # a local id: unique only
    # the 17-character id under an English header, and the wrong check character, say what is wrong
    short, wrong = ids[-4], ids[-3]
    assert any(f"{short!r}" in e.message and "17 characters, one missing" in e.message for e in usccs)
    good = _uscc("91370282MA3C00055")
    assert any(f"{wrong!r}" in e.message and f"expected {good[17]!r}" in e.message for e in usccs)
    # the zero-width space is removed (a warning), the id kept clean
    assert "\\u200b" in warns[0].message and warns[0].row == len(ids)
    assert ids[-2].rstrip("\u200b") in set(reg.enterprises["enterprise_id"])


def test_uscc_header_checks_every_id_as_a_uscc(tmp_path):
    p, ids = _id_registry(tmp_path, header="统一社会信用代码")
    errs = check_registry(p).report.errors
    usccs = [e for e in errs if "is not a valid USCC" in e.message]
    # the local id JM-0007 (two rows) is now a USCC too: 7 characters, 11 missing
    assert len(usccs) == 2 + 2
    assert sum("'JM-0007' is not a valid USCC: it has 7 characters, 11 missing" in e.message for e in usccs) == 2
    assert len(errs) == 14 + 4 + 4
    assert all(e.message.startswith("USCC missing") for e in errs if "placeholder" in e.message or "empty" in e.message)
    for header in ("Unified Social Credit Code", "credit_code", "USCC"):
        (tmp_path / header).mkdir()
        q = tmp_path / header / "registry.csv"
        q.write_text(HEADER.replace("enterprise_id", header, 1)
                     + "JM-1,Firm,chemicals,120.45,36.39,wgs84,no,free,,0\n", encoding="utf-8")
        e = check_registry(q).report.errors
        assert len(e) == 1 and "it has 4 characters, 14 missing" in e[0].message, (header, e)


def test_outside_china_ids_are_only_checked_for_uniqueness(tmp_path):
    p, ids = _id_registry(tmp_path)
    reg = check_registry(p, country="US")
    errs = reg.report.errors
    assert reg.rules.id_check == "unique"
    assert sum(e.message.startswith("id missing: ") for e in errs) == 14
    assert sum(e.message.startswith("duplicate id") for e in errs) == 4
    assert len(errs) == 18  # the 17-character and wrong-check ids are plain ids here
    assert not any("USCC" in e.message for e in errs)


def test_uscc_messages():
    from ecopatrol.core.registry import looks_like_uscc, placeholder_reason, uscc_problem

    assert uscc_problem("914403001922038216") is None
    assert uscc_problem("91440300192203821") == "it has 17 characters, one missing: a USCC has 18 characters"
    assert "two too many" in uscc_problem("91440300192203821600")
    assert "expected '6'" in uscc_problem("914403001922038217")
    assert "'O' at position 17" in uscc_problem("9144030019220382O6")
    assert looks_like_uscc("9144030019220382") and not looks_like_uscc("JM-0007") and not looks_like_uscc("E10")
    assert placeholder_reason("\u200b\u200b") == "placeholder '\\u200b\\u200b'"
    assert placeholder_reason("E10") is None and placeholder_reason("0001") is None


def test_a_uscc_written_loosely_is_stored_clean_with_a_warning(tmp_path):
    good = _uscc("91370282MA3C00088")
    loose = good[:8].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}) + " " + good[8:].lower()
    p = write(tmp_path, HEADER + f"{loose},Loose,chemicals,120.45,36.39,wgs84,no,free,,0\n")
    reg = check_registry(p)
    assert reg.report.ok() and list(reg.enterprises["enterprise_id"]) == [good]
    (w,) = reg.report.warnings
    assert f"read as {good!r}" in w.message and "full-width" in w.message and "upper-cased" in w.message
