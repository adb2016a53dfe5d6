import subprocess
import sys

import pytest

from ecopatrol.cli import main


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("ecopatrol ")


def test_help_does_not_import_heavy_modules():
    code = ("import sys, ecopatrol.cli; "
            "heavy = [m for m in ('geopandas', 'pandas', 'rasterio', 'osmnx', 'ortools', 'folium', 'pymavlink') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_coords_convert_point(capsys):
    code, out, _ = run(capsys, "coords", "convert", "--from", "wgs84", "--to", "gcj02", "121.5272106", "31.1774276")
    assert code == 0
    assert out.strip() == "121.5315419 31.1753040"


def test_coords_convert_back(capsys):
    code, out, _ = run(capsys, "coords", "convert", "--from", "gcj02", "--to", "wgs84", "121.5315419", "31.1753040")
    lon, lat = map(float, out.split())
    assert lon == pytest.approx(121.5272106, abs=2e-7) and lat == pytest.approx(31.1774276, abs=2e-7)


def test_coords_convert_csv(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("id,x,y\n1,121.5272106,31.1774276\n2,113.912316,22.543847\n")
    code, out, _ = run(capsys, "coords", "convert", "--from", "wgs84", "--to", "gcj02", "--in", str(src),
                       "--out", str(tmp_path / "out.csv"), "--lon-col", "x", "--lat-col", "y")
    assert code == 0
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows[1].startswith("1,121.5315419,31.175304")
    assert rows[2].startswith("2,113.9171765,22.5407961")


def test_unknown_crs_is_one_line_exit_1(capsys):
    code, out, err = run(capsys, "coords", "convert", "--from", "mars", "1", "2")
    assert code == 1 and "Traceback" not in err and "unknown coordinate system" in err


def test_usage_error_exit_2(capsys):
    code, _, err = run(capsys, "no-such-command")
    assert code == 2


def test_registry_check_reports_and_exits_1(tmp_path, capsys):
    p = tmp_path / "r.csv"
    p.write_text("enterprise_id,name,lon,lat\nA,x,36.39,120.45\nA,,120.45,36.39\n")
    code, out, err = run(capsys, "registry", "check", str(p))
    assert code == 1
    assert "row 2" in out and "swapped" in out and "duplicate" in out and "row 3" in out
    assert "Traceback" not in out + err


def test_registry_check_missing_file(tmp_path, capsys):
    code, _, err = run(capsys, "registry", "check", str(tmp_path / "nope.csv"))
    assert code == 1 and "does not exist" in err


def test_area_check_jimo_and_export_round_trip(tmp_path, capsys):
    code, out, _ = run(capsys, "area", "check", "jimo")
    assert code == 0 and "860 enterprises" in out and "0 error(s)" in out
    code, out, _ = run(capsys, "area", "export", "jimo", "--out", str(tmp_path / "a"))
    assert code == 0 and (tmp_path / "a" / "registry.csv").exists()
    code, out, _ = run(capsys, "area", "check", str(tmp_path / "a"), "--strict")
    assert code == 0


def test_console_script_runs_without_traceback(tmp_path):
    exe = [sys.executable, "-m", "ecopatrol", "area", "check", str(tmp_path / "missing")]
    proc = subprocess.run(exe, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "not a folder" in proc.stderr


@pytest.mark.parametrize("cmd", [[], ["plan", "drone"], ["plan", "van"], ["simulate"], ["georef"], ["inspect"],
                                 ["hotspots"], ["targets"], ["map"], ["report"], ["upload"], ["demo"],
                                 ["registry", "check"], ["area", "check"], ["coords", "convert"]])
def test_every_help_renders(capsys, cmd):
    from ecopatrol.cli import app

    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert not cmd or cmd[0] in names, f"command {cmd[0]} is not registered"
    code, out, _ = run(capsys, *cmd, "--help")
    assert code == 0 and "Usage" in out
