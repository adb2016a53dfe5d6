"""``ecopatrol plan drone`` and ``ecopatrol upload`` through the CLI runner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ecopatrol import cli
from ecopatrol.core.area import load_area


def _jimo_ids(n):
    return list(load_area("jimo").enterprises["enterprise_id"].iloc[:n])


def test_plan_drone_writes_files(tmp_path):
    ids = _jimo_ids(3)
    targets = tmp_path / "targets.csv"
    targets.write_text("rank,enterprise_id\n" + "\n".join(f"{k + 1},{i}" for k, i in enumerate(ids)) + "\n")
    out = tmp_path / "drone"
    r = CliRunner().invoke(cli.app, ["plan", "drone", "--area", "jimo", "--targets-file", str(targets),
                                     "--wind", "270/4/D", "--aircraft", "m300", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "pre-flight checks passed" in r.output
    plan = json.loads((out / "plan.json").read_text())
    assert plan["wind"] == {"from_deg": 270.0, "speed_m_s": 4.0, "stability": "D"}
    assert plan["aircraft"]["key"] == "m300" and (out / "S01.plan").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    ids = _jimo_ids(1)
    rc = cli.main(["plan", "drone", "--area", "jimo", "--targets", ids[0], "--targets-file", str(tmp_path / "t.csv"),
                   "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "exactly one of --targets" in err
    rc = cli.main(["plan", "drone", "--area", "jimo", "--targets", ids[0], "--wind", "270/30", "--out",
                   str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert rc == 1 and "do not fly" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
    rc = cli.main(["upload", str(tmp_path / "missing.plan"), "--connect", "udp:127.0.0.1:1"])
    assert rc == 1 and "does not exist" in capsys.readouterr().err
