"""The typed artefacts (``ecopatrol.core.artefacts``): one definition, one reader and one writer
each, CONTRACTS.md equal to the code, and the platform kind a field of the samples, never
guessed from a platform's name."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecopatrol.core import artefacts
from ecopatrol.core.artefacts import plan as plan_art
from ecopatrol.core.artefacts import samples as samples_art
from ecopatrol.core.errors import FormatError, InputError
from ecopatrol.processing import aggregate
from ecopatrol.processing._evidence_util import DEFAULT_INLET_AGL_M, receptor_agl_m

from sim_support import drone_plan, make_area, simulate_field, van_plan

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("core", "processing", "missions", "maps", "ecopatrol")
CONTRACTS = REPO / "CONTRACTS.md"


def _package_files():
    for d in PACKAGE_DIRS:
        yield from sorted((REPO / d).rglob("*.py"))


def _frame(platform_id, kind, agl, n=20):
    t0 = pd.Timestamp("2026-05-12T01:00:00Z")
    d = {"time_utc": t0 + pd.to_timedelta(np.arange(n), unit="s"), "platform_id": platform_id,
         "mission_id": "M1", "pass_id": 1, "lon": 120.45 + np.arange(n) * 1e-5, "lat": 36.39,
         "alt_amsl_m": agl + 12.0, "alt_agl_m": float(agl), "speed_m_s": 4.0, "tvoc_ugm3": 50.0}
    if kind is not None:
        d["platform_kind"] = kind
    return pd.DataFrame(d)


# ---------------------------------------------------------------- platform kind, not platform name

def test_m350_named_without_drone_at_80_m_is_a_drone():
    s = samples_art.to_samples_frame(_frame("M350-01", "drone", 80.0))
    assert (s["platform_kind"] == "drone").all()
    assert aggregate.is_drone(s).all()
    # the plume model's receptor is the flight height, not the van's roof inlet (the bug: 3 m)
    np.testing.assert_allclose(receptor_agl_m(s), 80.0)


def test_van_named_dronevan_is_a_van():
    s = samples_art.to_samples_frame(_frame("dronevan", "van", 2.4))
    assert not aggregate.is_drone(s).any()
    np.testing.assert_allclose(receptor_agl_m(s), DEFAULT_INLET_AGL_M)


def test_fixed_station_is_a_ground_platform_and_unknown_kinds_are_refused():
    s = samples_art.to_samples_frame(_frame("station-7", "fixed", 6.0))
    np.testing.assert_allclose(receptor_agl_m(s), DEFAULT_INLET_AGL_M)
    with pytest.raises(InputError, match="drone, van, fixed"):
        samples_art.validate_samples(s.assign(platform_kind="balloon"))
    with pytest.raises(InputError, match="--platform-kind"):
        samples_art.check_platform_kind("helicopter")


def test_old_samples_without_platform_kind_follow_the_height_rule_never_the_id(tmp_path, caplog):
    old = pd.concat([_frame("drone-1", None, 2.0).assign(mission_id="low"),
                     _frame("M350-01", None, 80.0).assign(mission_id="high")], ignore_index=True)
    gdf = samples_art.to_samples_frame(old.assign(platform_kind="drone")).drop(columns="platform_kind")
    p = tmp_path / "samples.parquet"
    gdf.to_parquet(p, index=False)  # a file written before platform_kind existed
    with caplog.at_level(logging.WARNING):
        samples_art._warned.clear()
        back = samples_art.read_samples(p)
    assert "platform_kind" in caplog.text and "re-run `ecopatrol georef`" in caplog.text
    kinds = dict(zip(back["mission_id"], back["platform_kind"], strict=False))
    assert kinds == {"low": "van", "high": "drone"}
    table = samples_art.read_samples(p, table=True)
    assert list(table.groupby("mission_id")["platform_kind"].first().sort_index()) == ["drone", "van"]


@pytest.fixture(scope="module")
def field(tmp_path_factory):
    return simulate_field(tmp_path_factory.mktemp("kind"), seed=3)


def _georef(field, track, sensor, **kw):
    from ecopatrol.processing.georef import georeference

    res, root = field
    inst = next(i for i in res.truth["instruments"] if i["file"] == sensor)
    return georeference([root / track], [root / sensor], lag=inst["lag_s"], clock_offset=inst["clock_offset_s"],
                        dem=make_area().elevation_m, mission_id="m", **kw)


def test_georef_sets_the_kind_from_the_flight_log_whatever_the_platform_is_called(field):
    out = _georef(field, "drone/S01.tlog", "drone/S01_voc.csv", platform_id="M350-01")
    s = out.samples
    assert set(s["platform_kind"]) == {"drone"} and set(s["platform_id"]) == {"M350-01"}
    sensor = next(p for p in out.provenance if p["role"] == "sensor")
    assert sensor["platform_kind"] == "drone" and "tlog" in sensor["platform_kind_method"]
    z = s["alt_agl_m"].to_numpy(float)
    high = z > 30
    assert high.sum() > 100
    np.testing.assert_allclose(receptor_agl_m(s)[high], z[high])


def test_georef_van_called_dronevan_is_a_van(field):
    s = _georef(field, "van/R01.gpx", "van/R01_voc.csv", platform_id="dronevan").samples
    assert set(s["platform_kind"]) == {"van"}
    np.testing.assert_allclose(receptor_agl_m(s), DEFAULT_INLET_AGL_M)


def test_declared_platform_kind_wins_and_a_mapped_csv_track_must_declare_one(field, tmp_path):
    s = _georef(field, "van/R01.gpx", "van/R01_voc.csv", platform_kind="fixed").samples
    assert set(s["platform_kind"]) == {"fixed"}
    res, root = field
    trk = pd.read_csv(root / "drone/S01_airdata.csv")
    lon = next(c for c in trk.columns if c.lower().startswith("longitude"))
    lat = next(c for c in trk.columns if c.lower().startswith("latitude"))
    t = next(c for c in trk.columns if c.lower().startswith("datetime"))
    csv = tmp_path / "logger.csv"  # a logger CSV with its own positions: its format says nothing of the platform
    trk[[t, lon, lat]].rename(columns={t: "when", lon: "x", lat: "y"}).assign(tvoc=50.0).to_csv(csv, index=False)
    mapping = {"time": {"column": "when", "format": "iso", "timezone": "UTC"},
               "position": {"lon": "x", "lat": "y"}, "columns": [{"source": "tvoc", "name": "tvoc", "unit": "ug/m3"}]}
    from ecopatrol.processing.georef import georeference

    kw = {"lag": 0.0, "clock_offset": 0.0, "instrument": None}
    with pytest.raises(InputError, match="--platform-kind"):
        georeference([], [csv], mapping=mapping, **kw)
    ok = georeference([], [csv], mapping=mapping, platform_kind="drone", **kw)
    assert set(ok.samples["platform_kind"]) == {"drone"} and len(ok.samples) > 100
    declared = {**mapping, "position": {**mapping["position"], "platform_kind": "van"}}
    ok = georeference([], [csv], mapping=declared, **kw)
    assert set(ok.samples["platform_kind"]) == {"van"}


def test_no_module_guesses_the_platform_from_its_name():
    guess = re.compile(r"""startswith\(\s*["']drone""")
    offenders = [str(p.relative_to(REPO)) for p in _package_files() if guess.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


# ---------------------------------------------------------------- one reader and one writer each

def test_one_reader_writer_and_validator_per_artefact_by_name():
    defined: dict[str, list[str]] = {}
    for p in _package_files():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                defined.setdefault(node.name.lstrip("_"), []).append(str(p.relative_to(REPO)))
    for a in artefacts.ARTEFACTS:
        home = f"core/artefacts/{a.name}.py"
        for verb in a.verbs:
            name = f"{verb}_{a.name}"
            assert callable(getattr(a.module, name)), name
            assert defined.get(name) == [home], (name, defined.get(name))
        for verb in ("load", "parse"):
            assert f"{verb}_{a.name}" not in defined or a.name == "plan", (verb, a.name, defined)
    # the simulator's load_plan is read_plan + its own checks, nothing of its own reading
    sim = (REPO / "missions/simulate.py").read_text(encoding="utf-8")
    assert "read_plan(" in sim and "json.loads" not in sim


def test_plan_schema_string_is_spelled_once():
    lit = re.compile(r"""["']ecopatrol\.plan/1["']""")
    where = [str(p.relative_to(REPO)) for p in _package_files() if lit.search(p.read_text(encoding="utf-8"))]
    assert where == ["core/artefacts/plan.py"]


def test_derived_columns_are_named_by_one_function():
    fstr = re.compile(r"""f["']\{[^}]+\}_(enh|noise|exceed|bg)["']""")
    where = [str(p.relative_to(REPO)) for p in _package_files()
             if fstr.search(p.read_text(encoding="utf-8")) and "core/artefacts" not in str(p)]
    assert where == []
    assert artefacts.derived("tvoc_ugm3", "enh") == "tvoc_ugm3_enh"
    with pytest.raises(ValueError):
        artefacts.derived("tvoc_ugm3", "max")


def test_plan_reader_writer_validator_roundtrip(tmp_path):
    d = drone_plan()
    p = plan_art.write_plan(d, tmp_path / "drone" / "plan.json")
    assert plan_art.read_plan(tmp_path / "drone") == d
    assert plan_art.validate_plan(d, kind="drone").ok()
    assert plan_art.plan_targets(d) == ["E1"] and plan_art.sortie_targets(d) == {"S01": ["E1"]}
    assert plan_art.plan_kind(van_plan()) == "van"
    bad = plan_art.validate_plan({**d, "schema": "x/2", "kind": "van"}, kind="drone")
    assert {pr.field for pr in bad.errors} == {"schema", "kind"}
    p.write_text('{"schema": "other/1"}', encoding="utf-8")
    with pytest.raises(FormatError, match="ecopatrol.plan/1"):
        plan_art.read_plan(p)
    with pytest.raises(ValueError):
        plan_art.write_plan({"kind": "drone"}, tmp_path / "x.json")


# ---------------------------------------------------------------- CONTRACTS.md equals the code

def _section(title: str) -> str:
    text = CONTRACTS.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}.*?(?=^## |\Z)", text, re.M | re.S)
    assert m, title
    return m.group(0)


def _table(section: str, first_header: str) -> list[list[str]]:
    lines = section.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header} |"))
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip().strip("`") for c in re.split(r"(?<!\\)\|", ln.strip().strip("|"))])
    return rows


def test_contracts_samples_columns_equal_the_code():
    sec = _section("Samples")
    rows = _table(sec, "column")
    want = [*samples_art.COLUMN_SPEC.items(), ("(species)", None), *samples_art.TAIL_SPEC.items()]
    assert [r[0] for r in rows] == [w[0] for w in want]
    for r, (name, spec) in zip(rows, want, strict=True):
        if spec is not None:
            assert r[1] == spec[0] and r[2] == (spec[1] or "—"), name
    derived_rows = _table(sec, "derived column")
    assert [r[0] for r in derived_rows] == [f"{{species}}_{k}" for k in samples_art.DERIVED]
    assert [r[1] for r in derived_rows] == [v[0] for v in samples_art.DERIVED.values()]
    assert f"`{samples_art.SCHEMA}`" in sec
    assert all(f"`{s}`" in sec for s in samples_art.SPECIES_SUFFIXES)
    assert "`" + "` \\| `".join(samples_art.PLATFORM_KINDS) + "`" in sec
    assert "`platform_kind`, `platform_kind_method`" in sec  # provenance


def test_contracts_plan_schema_and_kinds_equal_the_code():
    sec = _section("Plan")
    assert f"schema `{plan_art.PLAN_SCHEMA}`" in sec.splitlines()[0]
    assert f'"schema": "{plan_art.PLAN_SCHEMA}"' in sec
    assert f'"kind": "{"|".join(plan_art.PLAN_KINDS)}"' in sec


def test_contracts_targets_columns_equal_the_code():
    from ecopatrol.core.artefacts import targets as targets_art

    sec = _section("Targets")
    first = sec.splitlines()[1]
    assert first.startswith("`" + ",".join(targets_art.REQUIRED_COLUMNS) + "`")
    listed = re.findall(r"`([a-z_0-9]+)`", first.split("(+", 1)[1].split(")", 1)[0])
    assert tuple(listed) == targets_art.OPTIONAL_COLUMNS


def test_targets_reader_orders_by_rank_and_numbers_rows_without_one(tmp_path):
    from ecopatrol.core.artefacts.targets import read_targets, write_targets

    df = pd.DataFrame({"rank": [2, 1], "enterprise_id": ["0012", "E7"], "name": ["乙", "甲"], "score": [0.5, 0.9],
                       "reasons": ["b", "a"]})
    p = write_targets(df, tmp_path / "targets.csv")
    assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    back = read_targets(p)
    assert list(back["enterprise_id"]) == ["E7", "0012"] and list(back["rank"]) == [1, 2]
    assert back.attrs["rank_from"] == "file"
    (tmp_path / "ids.csv").write_text("enterprise_id\nE9\nE3\n", encoding="utf-8")
    ids = read_targets(tmp_path / "ids.csv")
    assert list(ids["rank"]) == [1, 2] and ids.attrs["rank_from"] == "row order"
    with pytest.raises(InputError, match="rank, enterprise_id"):
        write_targets(df.drop(columns=["rank", "enterprise_id"]), tmp_path / "bad.csv")
    (tmp_path / "no_id.csv").write_text("name\nx\n", encoding="utf-8")
    with pytest.raises(FormatError, match="enterprise_id"):
        read_targets(tmp_path / "no_id.csv")


def test_evidence_reader_types_ids_and_confirmed_once(tmp_path):
    from ecopatrol.core.artefacts.evidence import read_evidence

    (tmp_path / "attribution.csv").write_text("evidence_id,enterprise_id\nEV1,0042\n", encoding="utf-8")
    (tmp_path / "evidence.json").write_text('{"n_signals": 1}', encoding="utf-8")
    t = read_evidence(tmp_path)
    assert t["attribution"]["enterprise_id"].tolist() == ["0042"] and t["summary"] == {"n_signals": 1}
    assert t["events"] is None and t["rates"] is None
    with pytest.raises(FileNotFoundError, match="evidence folder"):
        read_evidence(tmp_path / "nope")
