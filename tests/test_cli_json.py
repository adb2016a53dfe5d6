"""Every ``--json`` prints exactly one JSON document on stdout, on success and on failure.

The commands are discovered from the click app, so a command that gains ``--json`` later is
covered at once: its usage error must be a JSON document, and ``CASES`` must say how to run
it on a valid and on a bad input (the test naming it fails until it does). The valid inputs
are a small field day on the bundled `jimo` area, made by the commands themselves.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecopatrol.cli import app, main

REGISTRY_OK = ("enterprise_id,name,industry,lon,lat\n"
               "91370282MA3C0X1X0H,青岛甲包装有限公司,packaging printing,120.45,36.39\n"
               "B2,青岛乙塑料有限公司,rubber and plastics,120.46,36.40\n")
REGISTRY_BAD = "enterprise_id,name,lon,lat\nA,x,36.39,120.45\nA,,120.45,36.39\n"  # swapped, duplicate, no name


def json_commands() -> list[tuple[str, ...]]:
    """Paths (``("plan", "drone")``) of every command with a ``--json`` option."""
    import typer.main

    found = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        elif any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            found.append(path)

    walk(typer.main.get_command(app), ())
    return sorted(found)


JSON_COMMANDS = json_commands()


def run(*args) -> tuple[int, str, str]:
    """``ecopatrol ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def one_document(stdout: str):
    """The single JSON document stdout holds (json.loads refuses a second one or a log line)."""
    assert stdout.strip(), "nothing on stdout"
    try:
        return json.loads(stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"stdout is not exactly one JSON document ({exc}):\n{stdout[:2000]}")


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """A small field day on `jimo` through the CLI: {command path: (code, stdout, stderr)}, plus the folder."""
    from ecopatrol.core.area import load_area
    from ecopatrol.pipeline import initial_targets

    root = tmp_path_factory.mktemp("json-day")
    drone, van = initial_targets(load_area("jimo"), n_drone=1, n_van=2)
    (root / "ok.csv").write_text(REGISTRY_OK, encoding="utf-8")
    runs = {
        ("registry", "check"): run("registry", "check", root / "ok.csv", "--json"),
        ("area", "check"): run("area", "check", "jimo", "--json"),
        ("plan", "drone"): run("plan", "drone", "--area", "jimo", "--targets", ",".join(drone),
                               "--out", root / "plans" / "drone", "--json"),
        ("plan", "van"): run("plan", "van", "--area", "jimo", "--targets", ",".join(van), "--iterations", 20,
                             "--out", root / "plans" / "van", "--json"),
        ("simulate",): run("simulate", "--area", "jimo", "--plans", root / "plans", "--out", root / "field", "--json"),
    }
    van_dir = root / "field" / "van"
    runs[("inspect",)] = run("inspect", van_dir / "R01.gpx", "--json")
    runs[("georef",)] = run("georef", "--track", van_dir / "R01.gpx", "--sensor", van_dir / "R01_voc.csv",
                            "--out", root / "samples", "--json")
    runs[("hotspots",)] = run("hotspots", root / "samples", "--area", "jimo", "--out", root / "evidence", "--json")
    runs[("attribute",)] = run("attribute", root / "samples", "--area", "jimo", "--out", root / "evidence",
                               "--show", 3, "--json")
    runs[("targets",)] = run("targets", root / "evidence", "--area", "jimo", "--out", root / "targets.csv",
                             "--visits", 3, "--json")
    (root / "log.h212").write_bytes(b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;"
                                    b"MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n")
    db = f"sqlite:///{root / 'monitor.db'}"
    runs[("monitor", "ingest")] = run("monitor", "ingest", root / "log.h212", "--db", db, "--json")
    runs[("monitor", "stats")] = run("monitor", "stats", "--db", db, "--json")
    ldb = f"sqlite:///{root / 'ledger.db'}"
    runs[("ledger", "record")] = run("ledger", "record", root, "--area", "jimo", "--db", ldb, "--json")
    runs[("ledger", "inspect")] = run("ledger", "inspect", "--db", ldb, "--enterprise", van[0], "--date", "2026-05-20",
                                      "--result", "clean", "--json")
    (root / "visits.csv").write_text(f"enterprise_id,date,result\n{van[1]},2026-05-21,violation\n", encoding="utf-8")
    runs[("ledger", "import")] = run("ledger", "import", root / "visits.csv", "--db", ldb, "--json")
    runs[("ledger", "stats")] = run("ledger", "stats", "--db", ldb, "--from", "2026-01-01", "--to", "2027-01-01",
                                    "--json")
    runs[("ledger", "proposals")] = run("ledger", "proposals", "--db", ldb, "--json")
    runs[("ledger", "history")] = run("ledger", "history", "--db", ldb, "--enterprise", van[1], "--json")
    runs[("monitor", "alarms")] = run("monitor", "alarms", "--db", db, "--area", "jimo", "--out", root / "alarms.csv",
                                      "--json")
    return runs, root


# a bad input per command: each must fail with exit 1 and an error document
FAILING = {
    ("registry", "check"): lambda t: ["registry", "check", t / "missing.csv"],
    ("area", "check"): lambda t: ["area", "check", t / "missing-area"],
    ("plan", "drone"): lambda t: ["plan", "drone", "--area", "jimo", "--targets", "NO-SUCH-ID", "--out", t / "d"],
    ("plan", "van"): lambda t: ["plan", "van", "--area", "jimo", "--targets", "X", "--depot", "1,2,3", "--out", t / "v"],
    ("simulate",): lambda t: ["simulate", "--area", "jimo", "--plans", t / "no-plans", "--out", t / "f"],
    ("inspect",): lambda t: ["inspect", t / "missing.tlog"],
    ("georef",): lambda t: ["georef", "--track", t / "missing.gpx", "--sensor", t / "missing.csv", "--out", t / "s"],
    ("hotspots",): lambda t: ["hotspots", t / "no-samples", "--area", "jimo", "--out", t / "e"],
    ("attribute",): lambda t: ["attribute", t / "no-samples", "--area", "jimo", "--out", t / "e"],
    ("targets",): lambda t: ["targets", t / "no-evidence", "--area", "jimo", "--out", t / "t.csv"],
    ("monitor", "ingest"): lambda t: ["monitor", "ingest", t / "missing.h212", "--db", f"sqlite:///{t / 'm.db'}"],
    ("monitor", "stats"): lambda t: ["monitor", "stats", "--db", f"sqlite:///{t / 'none.db'}"],
    ("ledger", "record"): lambda t: ["ledger", "record", t / "no-run", "--db", f"sqlite:///{t / 'l.db'}"],
    ("ledger", "inspect"): lambda t: ["ledger", "inspect", "--db", f"sqlite:///{t / 'l.db'}", "--enterprise", "NOPE",
                                      "--date", "2026-01-01", "--result", "clean"],
    ("ledger", "import"): lambda t: ["ledger", "import", t / "missing.csv", "--db", f"sqlite:///{t / 'l.db'}"],
    ("ledger", "stats"): lambda t: ["ledger", "stats", "--db", f"sqlite:///{t / 'none.db'}"],
    ("ledger", "proposals"): lambda t: ["ledger", "proposals", "--db", f"sqlite:///{t / 'none.db'}"],
    ("ledger", "history"): lambda t: ["ledger", "history", "--db", f"sqlite:///{t / 'none.db'}", "--enterprise", "X"],
    ("monitor", "alarms"): lambda t: ["monitor", "alarms", "--db", f"sqlite:///{t / 'none.db'}", "--out", t / "a.csv"],
}


def test_commands_are_discovered():
    assert {("registry", "check"), ("inspect",), ("georef",), ("plan", "drone"), ("targets",)} <= set(JSON_COMMANDS)


@pytest.mark.parametrize("cmd", JSON_COMMANDS, ids=" ".join)
def test_every_json_command_has_cases(cmd):
    assert cmd in FAILING, f"`ecopatrol {' '.join(cmd)}` has --json: add a failing input to FAILING and a run to `day`"


@pytest.mark.parametrize("cmd", JSON_COMMANDS, ids=" ".join)
def test_success_prints_one_document(day, cmd):
    runs, _ = day
    assert cmd in runs, f"`ecopatrol {' '.join(cmd)}` has --json: run it in the `day` fixture"
    code, out, err = runs[cmd]
    assert code == 0, f"exit {code}\nstdout: {out[:2000]}\nstderr: {err[-2000:]}"
    doc = one_document(out)
    assert isinstance(doc, dict) and "error" not in doc
    assert "Traceback" not in err


def test_success_documents_carry_the_result(day):
    runs, root = day
    doc = {cmd: one_document(r[1]) for cmd, r in runs.items()}
    assert doc[("registry", "check")]["ok"] is True and doc[("registry", "check")]["enterprises"] == 2
    assert doc[("area", "check")]["enterprises"] == 860 and doc[("area", "check")]["errors"] == 0
    assert doc[("plan", "drone")]["batteries"] >= 1 and doc[("plan", "drone")]["checks"]["passed"] is True
    assert Path(doc[("plan", "drone")]["out"]) == root / "plans" / "drone"
    assert str(root / "plans" / "drone" / "summary.json") in doc[("plan", "drone")]["files"]
    assert doc[("plan", "van")]["distance_km"] > 0 and doc[("plan", "van")]["targets_covered"]
    assert doc[("simulate",)]["emitters"] and all(Path(f).exists() for f in doc[("simulate",)]["files"])
    g = doc[("georef",)]
    assert g["n_samples"] > 0 and Path(g["files"]["samples"]).exists()
    assert {p["role"] for p in g["provenance"]} == {"track", "sensor"}
    h = doc[("hotspots",)]
    assert h["n_samples"] > 0 and "n_events" in h and Path(h["files"]["events.gpkg"]).exists()
    a = doc[("attribute",)]
    assert len(a["signals"]) <= 3 and len(a["evidence"]) <= 3 and Path(a["attribution_csv"]).exists()
    t = doc[("targets",)]
    assert t["n_targets"] == 860 and len(t["top"]) == 10 and t["top"][0]["rank"] == 1
    assert Path(t["path"]) == root / "targets.csv"
    assert t["visits"]["visits"] == 3 and 0 <= t["visits"]["p_at_least_one"] <= 1
    assert [r["visit"] for r in t["top"][:4]] == [True, True, True, False]
    # NaN (no flux, no rate sd) is null, never the invalid JSON token NaN
    assert any(v is None for row in t["top"] for v in row.values())
    assert doc[("inspect",)]["format"] == "gpx"
    lr = doc[("ledger", "record")]
    assert lr["new"] is True and lr["checks"] == len(lr["checks_list"]) >= 1
    ls = doc[("ledger", "stats")]
    assert ls["off_site_checks"]["total"] == lr["covered"] and ls["on_site_checks"]["total"] == 2
    assert doc[("ledger", "import")]["accepted"] == 1 and doc[("ledger", "inspect")]["accepted"] == 1
    assert "proposals" in doc[("ledger", "proposals")]
    lh = doc[("ledger", "history")]  # the firm of the imported violation: its on-site check is there
    assert lh["n"] == len(lh["checks"]) >= 1
    assert any(c["kind"] == "on-site" and "violation" in str(c["result"]) for c in lh["checks"])


def test_logs_stay_off_stdout(day):
    runs, _ = day
    code, out, err = runs[("plan", "van")]
    assert "road network" in err and "road network" not in out  # an INFO line, on stderr only


@pytest.mark.parametrize("cmd", JSON_COMMANDS, ids=" ".join)
def test_failure_prints_one_error_document(tmp_path, cmd):
    if cmd not in FAILING:
        pytest.fail(f"`ecopatrol {' '.join(cmd)}` has --json: add a failing input to FAILING")
    code, out, err = run(*FAILING[cmd](tmp_path), "--json")
    assert code == 1, f"exit {code}\nstdout: {out}\nstderr: {err[-2000:]}"
    doc = one_document(out)
    assert set(doc) == {"error", "exit_code"} and doc["exit_code"] == 1 and doc["error"]
    assert "Traceback" not in err and f"error: {doc['error']}" in err  # the line for people stays on stderr


@pytest.mark.parametrize("cmd", JSON_COMMANDS, ids=" ".join)
def test_usage_error_prints_one_error_document(cmd):
    code, out, err = run(*cmd, "--json", "--no-such-option")
    assert code == 2
    doc = one_document(out)
    assert doc["exit_code"] == 2 and "--no-such-option" in doc["error"]
    assert "Usage" in err


def test_bad_parameter_in_a_command_body_is_a_usage_document(tmp_path):
    code, out, _ = run("georef", "--sensor", tmp_path / "x.csv", "--lag", "soon", "--out", tmp_path / "s", "--json")
    assert code == 2 and "--lag" in one_document(out)["error"]


def test_registry_with_problems_is_one_document_with_numpy_rows(tmp_path):
    """The problems hold numpy ints (rows from pandas): they used to crash json.dumps."""
    p = tmp_path / "r.csv"
    p.write_text(REGISTRY_BAD, encoding="utf-8")
    code, out, err = run("registry", "check", p, "--json")
    assert code == 1 and "Traceback" not in err
    doc = one_document(out)
    assert doc["ok"] is False and doc["errors"] >= 3
    rows = {(q["row"], q["field"]) for q in doc["problems"]}
    assert (2, "lat") in rows and (3, "enterprise_id") in rows and (3, "name") in rows
    assert all(isinstance(q["row"], int) for q in doc["problems"] if q["severity"] == "error")
    assert all(q["row"] is None or isinstance(q["row"], int) for q in doc["problems"])  # file-level: null


def test_area_with_problems_is_one_document(tmp_path):
    code, _, _ = run("area", "export", "jimo", "--out", tmp_path / "a")
    assert code == 0
    reg = tmp_path / "a" / "registry.csv"
    lines = reg.read_text(encoding="utf-8-sig").splitlines()
    reg.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")  # a duplicate enterprise
    code, out, _ = run("area", "check", tmp_path / "a", "--json")
    doc = one_document(out)
    assert code == 1 and doc["ok"] is False and doc["errors"] >= 1
    assert any("duplicate" in q["message"] for q in doc["problems"])


def test_encoder_handles_numpy_pandas_paths_and_nan():
    import numpy as np
    import pandas as pd

    from ecopatrol._json import dumps

    value = {
        "i": np.int64(3), "f": np.float64(0.5), "nan": float("nan"), "npnan": np.float64("nan"), "inf": np.inf,
        "b": np.bool_(True), "t": pd.Timestamp("2026-05-12T01:00:00Z"), "nat": pd.NaT, "na": pd.NA,
        "dt64": np.datetime64("2026-05-12T01:00:00"), "td": pd.Timedelta(seconds=90), "p": Path("a/b.csv"),
        "arr": np.array([1, 2]), "ser": pd.Series([1.0, np.nan]), np.int64(7): "numpy key",
        "df": pd.DataFrame({"x": [np.int64(1)], "y": [None]}), "set": {2, 1}, "tup": (1, "a"),
    }
    doc = json.loads(dumps(value))
    assert doc == {
        "i": 3, "f": 0.5, "nan": None, "npnan": None, "inf": None, "b": True, "t": "2026-05-12T01:00:00+00:00",
        "nat": None, "na": None, "dt64": "2026-05-12T01:00:00", "td": 90.0, "p": str(Path("a/b.csv")),
        "arr": [1, 2], "ser": [1.0, None], "7": "numpy key", "df": [{"x": 1, "y": None}], "set": [1, 2],
        "tup": [1, "a"],
    }


def test_real_flight_log_inspect_json(shared_data):
    code, out, err = run("inspect", shared_data / "logs" / "arducopter_log171.bin", "--json")
    assert code == 0, err
    doc = one_document(out)
    assert doc["kind"] and doc["rows_kept"] > 0 and len(doc["bounds"]) == 4


def test_console_script_logs_on_stderr_only(shared_data, tmp_path):
    """The installed command, a real analyser file: INFO lines on stderr, the result on stdout."""
    dat = shared_data / "mobile" / "cfads_20170315-162958Z.dat"
    exe = [sys.executable, "-m", "ecopatrol", "georef", "--sensor", str(dat), "--out", str(tmp_path / "s")]
    human = subprocess.run(exe, capture_output=True, text=True)
    assert human.returncode == 0, human.stderr
    assert "INFO" in human.stderr and "INFO" not in human.stdout and "samples →" in human.stdout
    machine = subprocess.run([*exe, "--json"], capture_output=True, text=True)
    assert machine.returncode == 0, machine.stderr
    assert one_document(machine.stdout)["n_samples"] > 0
