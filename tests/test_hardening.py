"""The bad-input corpus (tests/bad_inputs/, see its README.md) through the real CLI.

Each case must end in a clear error (exit 1, ``error: …`` naming the file, no traceback)
or a documented quarantine / partial read (exit 0, every row read is kept or in
quarantine with a reason) — never a traceback and never a half-written output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ecopatrol.cli import main
from ecopatrol.core.errors import FormatError, InputError

CORPUS = Path(__file__).parent / "bad_inputs" / "files"
HANDLED: list[str] = []


def run_cli(capsys, *argv) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return rc, text


def expect_error(capsys, name_in_message: str, *argv) -> str:
    rc, text = run_cli(capsys, *argv)
    assert rc == 1, text
    assert "error:" in text and name_in_message in text, text
    HANDLED.append(name_in_message)
    return text


def no_partial_files(folder: Path) -> None:
    """No temporary or half-written file is left anywhere under ``folder``."""
    if folder.exists():
        left = [p.name for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
        assert not left, left


# ------------------------------------------------------------------ unreadable logs: clear errors
ERROR_FILES = [
    *(f"empty{e}" for e in (".bin", ".tlog", ".ulg", ".gpx", ".nmea", ".csv", ".dat")),
    "truncated_header.bin", "truncated_header.tlog", "truncated_header.ulg", "truncated.gpx",
    *(f"garbage{e}" for e in (".bin", ".tlog", ".ulg", ".gpx", ".nmea", ".csv", ".dat", ".log", ".txt")),
    "analyser_no_time.csv", "analyser_time_not_first.csv", "dji_no_latitude.csv",
    "gpx_billion_laughs.gpx", "gpx_xxe.gpx", "kmz_traversal.kmz", "kmz_bomb.kmz",
]


@pytest.mark.parametrize("name", ERROR_FILES)
def test_unreadable_file_is_a_clear_error(capsys, name):
    text = expect_error(capsys, name, "inspect", CORPUS / name)
    assert text.count("\n") <= 3  # one message, not a dump


def test_xml_attacks_are_refused_without_expansion(capsys):
    for name in ("gpx_billion_laughs.gpx", "gpx_xxe.gpx"):
        text = expect_error(capsys, name, "inspect", CORPUS / name)
        assert "DOCTYPE/ENTITY" in text and "root:" not in text  # nothing of /etc/passwd


# ------------------------------------------------------------------ partial reads and quarantines (exit 0)
@pytest.mark.parametrize(("name", "reason"), [
    ("truncated_mid.tlog", None), ("truncated_mid.bin", None),
    ("analyser_extra_fields.csv", "wrong number of fields"),
    ("dji_lat_lon_swapped.csv", "columns swapped"),
    ("nmea_dup_backwards.nmea", "time goes backwards"),
    ("track_dup_backwards.gpx", "time goes backwards"),
    ("analyser_dup_backwards.csv", "duplicate record"),
])
def test_damaged_file_is_read_with_quarantine(capsys, name, reason):
    import json

    rc = main(["inspect", "--json", str(CORPUS / name)])
    out = capsys.readouterr()
    assert rc == 0 and "Traceback" not in out.err, out.out + out.err
    info = json.loads(out.out)  # stdout is the one JSON document; the logs are on stderr
    assert info["rows_kept"] + info["rows_quarantined"] == info["rows_read"]
    if reason:
        assert any(reason in r for r in info["quarantine_reasons"]), info["quarantine_reasons"]
    else:
        assert info["rows_kept"] > 0 and info["rows_quarantined"] == 0
    HANDLED.append(name)


def test_georef_quarantines_duplicated_and_backwards_times(capsys, tmp_path):
    out = tmp_path / "samples"
    rc, text = run_cli(capsys, "georef", "--track", CORPUS / "track_dup_backwards.gpx",
                       "--sensor", CORPUS / "analyser_dup_backwards.csv", "--out", out, "--lag", "5",
                       "--clock-offset", "0", "--no-instrument")
    assert rc == 0, text
    q = pd.read_csv(out / "quarantine.csv")
    s = pd.read_parquet(out / "samples.parquet")
    sensor_rows = len((CORPUS / "analyser_dup_backwards.csv").read_text().splitlines()) - 1
    qs = q[q["file"] == "analyser_dup_backwards.csv"]
    assert len(s) + len(qs) == sensor_rows
    assert qs["reason"].str.contains("duplicate record").sum() == 2
    assert qs["reason"].str.contains("time goes backwards").sum() == 10
    qt = q[q["file"] == "track_dup_backwards.gpx"]["reason"]
    assert qt.str.contains("two places").sum() == 1 and qt.str.contains("backwards").sum() == 11  # pts[150] again + pts[100:110]
    assert s["time_utc"].is_monotonic_increasing
    no_partial_files(out)
    HANDLED.append("georef dup/backwards")


# ------------------------------------------------------------------ registry: swapped, missing, mixed, projected
@pytest.mark.parametrize(("name", "needle"), [
    ("registry_lat_lon_swapped.csv", "look swapped"),
    ("registry_missing_lat.csv", "required column `lat` is missing"),
    ("registry_mixed_crs.csv", "outside China"),
    ("registry_projected_metres.csv", "outside China"),
])
def test_bad_registry_lists_every_problem(capsys, name, needle):
    rc, text = run_cli(capsys, "registry", "check", CORPUS / name)
    assert rc == 1 and needle in text and name in text, text
    if name == "registry_mixed_crs.csv":  # both foreign rows named, the good ones not
        assert "row 4" in text and "row 5" in text and "row 2" not in text
    HANDLED.append(name)


# ------------------------------------------------------------------ area: no roads, DEM elsewhere, OSM attacks
@pytest.fixture()
def area_dir(tmp_path, capsys):
    d = tmp_path / "area"
    rc, _ = run_cli(capsys, "area", "export", "jimo", "--out", d)
    assert rc == 0
    return d


@pytest.mark.parametrize("roads", ["roads_none.osm", "roads_billion_laughs.osm", "roads_xxe.osm"])
def test_van_plan_with_bad_roads_is_a_clear_error(capsys, area_dir, tmp_path, roads):
    shutil.copy(CORPUS / roads, area_dir / "roads.osm")
    out = tmp_path / "van"
    rc, text = run_cli(capsys, "plan", "van", "--area", area_dir, "--targets", _first_target(area_dir),
                       "--out", out)
    assert rc == 1 and "roads.osm" in text, text
    assert not out.exists() or not any(out.iterdir())
    HANDLED.append(roads)


def _first_target(area_dir: Path) -> str:
    return pd.read_csv(area_dir / "registry.csv", dtype=str)["enterprise_id"].iloc[0]


def test_dem_that_does_not_cover_the_area(capsys, area_dir, tmp_path):
    shutil.copy(CORPUS / "dem_elsewhere.tif", area_dir / "dem.tif")
    rc, text = run_cli(capsys, "area", "check", area_dir)
    assert rc == 0 and "does not cover" in text  # a warning …
    rc, text = run_cli(capsys, "area", "check", area_dir, "--strict")
    assert rc == 1 and "dem.tif" in text  # … an error when strict
    # georef with that DEM: samples kept, heights above ground unknown (NaN), never invented
    out = tmp_path / "s"
    rc, text = run_cli(capsys, "georef", "--track", CORPUS / "track.gpx", "--sensor", CORPUS / "analyser.csv",
                       "--out", out, "--dem", CORPUS / "dem_elsewhere.tif", "--lag", "5", "--clock-offset", "0",
                       "--no-instrument")
    assert rc == 0, text
    s = pd.read_parquet(out / "samples.parquet")
    assert len(s) > 0 and s["alt_agl_m"].isna().all()
    HANDLED.append("dem_elsewhere.tif")


# ------------------------------------------------------------------ nothing written outside the output folder
def test_plan_with_traversal_sortie_id_is_refused(capsys, tmp_path):
    plans = tmp_path / "plans" / "drone"
    plans.mkdir(parents=True)
    shutil.copy(CORPUS / "plan_traversal_sortie.json", plans / "plan.json")
    out = tmp_path / "deep" / "field"
    rc, text = run_cli(capsys, "simulate", "--area", "jimo", "--plans", tmp_path / "plans", "--out", out)
    assert rc == 1 and "../../evil" in text, text
    assert not list(tmp_path.rglob("evil*"))
    HANDLED.append("plan_traversal_sortie.json")


def test_kmz_reader_refuses_traversal_and_bombs_before_extracting(tmp_path):
    from ecopatrol.missions.drone._safe import read_kmz, safe_child, safe_stem

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(FormatError, match=r"kmz_traversal\.kmz.*outside the archive"):
            read_kmz(CORPUS / "kmz_traversal.kmz")
        with pytest.raises(FormatError, match=r"kmz_bomb\.kmz.*zip bomb"):
            read_kmz(CORPUS / "kmz_bomb.kmz")
    finally:
        os.chdir(cwd)
    assert not list(tmp_path.rglob("*"))  # nothing extracted anywhere
    for bad in ("../../x", "/etc/x", "..", ".hidden", "a/b", "C:\\x", ""):
        with pytest.raises(InputError):
            safe_stem(bad)
    assert safe_stem("S01") == "S01"
    with pytest.raises(InputError):
        safe_child(tmp_path, "../x")
    HANDLED.extend(["kmz_traversal.kmz (library)", "kmz_bomb.kmz (library)"])


def test_own_kmz_export_reads_back(tmp_path, capsys):
    from ecopatrol.missions.drone._safe import read_wpml_mission

    out = tmp_path / "drone"
    rc, text = run_cli(capsys, "plan", "drone", "--area", "jimo", "--targets", _jimo_target(), "--out", out)
    assert rc == 0, text
    kmz = sorted(out.glob("*.kmz"))
    assert kmz
    roots = read_wpml_mission(kmz[0])
    assert {"wpmz/template.kml", "wpmz/waylines.wpml"} <= set(roots)


def _jimo_target(n: int = 1) -> str:
    from ecopatrol.core.area import load_area

    a = load_area("jimo")
    return ",".join(a.enterprises["enterprise_id"].astype(str).iloc[:n])


# ------------------------------------------------------------------ interrupted writes
def _crash_after(monkeypatch, n_ok: int):
    """Make ``os.replace`` fail after ``n_ok`` successful renames (a crash or full disk mid-write)."""
    real = os.replace
    calls = {"n": 0}

    def replace(src, dst, *a, **k):
        calls["n"] += 1
        if calls["n"] > n_ok:
            raise OSError(28, "No space left on device (simulated crash)")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)


def _crash_mid_write(monkeypatch):
    """Make pandas' CSV writer die after writing part of the file."""
    real = pd.DataFrame.to_csv

    def to_csv(self, path=None, *a, **k):
        if path is None:
            return real(self, path, *a, **k)
        real(self.head(1), path, *a, **k)
        raise OSError(5, "I/O error (simulated crash mid-write)")

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)


def test_interrupted_samples_write_leaves_no_half_file(capsys, tmp_path, monkeypatch):
    out = tmp_path / "samples"
    _crash_mid_write(monkeypatch)
    rc, text = run_cli(capsys, "georef", "--track", CORPUS / "track.gpx", "--sensor", CORPUS / "analyser.csv",
                       "--out", out, "--lag", "5", "--clock-offset", "0", "--no-instrument")
    assert rc == 1 and "simulated crash" in text
    assert not (out / "quarantine.csv").exists() and not (out / "provenance.json").exists()
    pd.read_parquet(out / "samples.parquet")  # what was written before the crash is whole
    no_partial_files(out)
    HANDLED.append("interrupted samples write")


@pytest.mark.parametrize("n_ok", [0, 3])
def test_interrupted_drone_plan_write_leaves_no_half_file(capsys, tmp_path, monkeypatch, n_ok):
    import json

    out = tmp_path / "drone"
    target = _jimo_target()
    _crash_after(monkeypatch, n_ok)
    rc, text = run_cli(capsys, "plan", "drone", "--area", "jimo", "--targets", target, "--out", out)
    assert rc == 1 and "simulated crash" in text
    files = [p for p in out.iterdir()] if out.exists() else []
    assert len(files) == n_ok
    for p in files:  # every file present is complete
        if p.suffix in (".json", ".plan", ".geojson"):
            json.loads(p.read_text())
    no_partial_files(out)
    HANDLED.append(f"interrupted drone plan write after {n_ok}")


def test_interrupted_van_plan_write_leaves_no_half_file(capsys, tmp_path, monkeypatch):
    out = tmp_path / "van"
    targets = _jimo_target(8)
    _crash_after(monkeypatch, 2)
    rc, text = run_cli(capsys, "plan", "van", "--area", "jimo", "--targets", targets, "--out", out)
    assert rc == 1 and "simulated crash" in text
    files = list(out.iterdir()) if out.exists() else []
    assert len(files) <= 2  # the road-graph cache may take one of the renames
    for p in files:
        if p.suffix == ".json":
            __import__("json").loads(p.read_text())
    no_partial_files(out)
    HANDLED.append("interrupted van plan write")


# ------------------------------------------------------------------ a few through a real process
@pytest.mark.parametrize("name", ["garbage.ulg", "gpx_xxe.gpx", "empty.tlog"])
def test_subprocess_cli_prints_one_error_line(name):
    r = subprocess.run([sys.executable, "-m", "ecopatrol", "inspect", str(CORPUS / name)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr + r.stdout
    assert name in r.stderr and r.stderr.startswith("error:")
    HANDLED.append(f"subprocess {name}")


def test_corpus_is_documented_and_small():
    readme = (CORPUS.parent / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in CORPUS.iterdir())
    assert files and all(f in readme for f in files), [f for f in files if f not in readme]
    assert sum((CORPUS / f).stat().st_size for f in files) < 300 * 1024
