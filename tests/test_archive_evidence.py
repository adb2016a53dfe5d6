"""Season evidence over an archive (processing.archive_evidence): the evidence chain with the reduced
attribution fit per date/platform partition on a Dask cluster gives the same attribution, targets and
per-firm histories as the in-memory path; the runs feed the ledger; `ecopatrol targets ARCHIVE` works."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from ecopatrol.core.area import load_area  # noqa: E402
from ecopatrol.core.errors import InputError  # noqa: E402
from ecopatrol.processing.archive_evidence import season_in_memory, season_over_archive  # noqa: E402
from ecopatrol.processing.archive_synth import synth_archive  # noqa: E402
from ecopatrol.processing.season import HISTORY_COLUMNS  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                                  scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR) as c:
        yield c


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("season-archive")
    manifest = synth_archive(root, days=2, vans=2, hours=0.5, seed=3, p_emit=0.5)
    return root, manifest


@pytest.fixture(scope="module")
def in_memory(archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("season-mem")
    return out, season_in_memory(archive[0], out, load_area("jimo"))


def _att(out, key: str) -> pd.DataFrame:
    return pd.read_csv(out / "runs" / key / "evidence" / "attribution.csv", dtype={"enterprise_id": str})


def test_dask_equals_in_memory(archive, in_memory, cluster, tmp_path):
    mem_out, mem = in_memory
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    res = season_over_archive(archive[0], tmp_path, "jimo", scheduler=cluster.scheduler_address, db=db)
    pd.testing.assert_frame_equal(res.targets, mem.targets)
    pd.testing.assert_frame_equal(res.history, mem.history)
    keys = [f"date={d}/platform=van0{v}" for d in ("2025-03-01", "2025-03-02") for v in (1, 2)]
    for key in keys:  # the per-partition attribution (reduced fit over every sample) itself
        pd.testing.assert_frame_equal(_att(tmp_path, key), _att(mem_out, key))
    # one row per firm per survey day; the two vans of a day are one day
    h = res.history
    assert list(h.columns) == HISTORY_COLUMNS
    assert len(h) == h["enterprise_id"].nunique() * 2 and (h["n_folders"] == 2).all()
    assert set(h["status"]) <= {"emitting", "weak", "clean", "not covered"}  # coverage known on every day
    assert (h["status"] == "clean").any()
    t = res.targets.set_index("enterprise_id")
    assert (t["n_days"] == 2).all()
    clean = h[h["status"] == "clean"].groupby("enterprise_id").size()
    assert (t.loc[clean.index, "n_days_clean_covered"] == clean).all()
    s = json.loads((tmp_path / "season.json").read_text())
    assert s["path"] == "distributed" and s["n_partitions"] == 4 and s["n_days"] == 2
    assert s["ledger"] == {"runs_new": 4, "runs": 4}
    # the ledger holds each run's off-site checks; recording again adds nothing
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.store import read_checks

    engine = open_database(db, migrate=False)
    try:
        checks = read_checks(engine)
    finally:
        engine.dispose()
    n_covered = int((h["covered"].astype(str) == "True").sum())
    assert len(checks) >= n_covered > 0


def test_manifest_records_the_emitting_days(archive):
    m = archive[1]
    days = {d for e in m["emitters"] for d in e["days_emitting"]}
    assert days <= {"2025-03-01", "2025-03-02"}
    assert any(len(e["days_emitting"]) < 2 for e in m["emitters"])  # p_emit 0.5: intermittent emitters


def test_cli_targets_over_an_archive(archive, in_memory, cluster, tmp_path):
    from typer.testing import CliRunner

    from ecopatrol.cli import app

    out = tmp_path / "t.csv"
    r = CliRunner().invoke(app, ["targets", str(archive[0]), "--out", str(out), "--scheduler",
                                 cluster.scheduler_address, "--work", str(tmp_path / "w"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["n_targets"] == len(in_memory[1].targets)
    got = pd.read_csv(out, dtype={"enterprise_id": str})
    assert list(got["enterprise_id"]) == list(in_memory[1].targets["enterprise_id"])
    assert (tmp_path / "w" / "history.csv").exists()


def test_cli_targets_over_an_archive_with_alarms(archive, in_memory, cluster, tmp_path):
    """`targets ARCHIVE --alarms alarms.csv`: the alarms join the season targets (counted once over the
    season, the reason cites them); a missing alarms file is refused before any cluster work."""
    from typer.testing import CliRunner

    from ecopatrol.cli import app

    base = in_memory[1].targets
    firm = str(base.iloc[40]["enterprise_id"])  # a firm the surveys leave far down the list
    start = pd.Timestamp("2025-03-02T02:00Z")
    pd.DataFrame([{"alarm_id": "A1", "enterprise_id": firm, "enterprise_known": True, "mn": "MN-1",
                   "monitor_kind": "treatment_meter", "outlet_id": "", "kind": "treatment_stopped",
                   "start_utc": start.isoformat(), "end_utc": (start + pd.Timedelta(hours=2)).isoformat(),
                   "duration_min": 120.0, "pollutant_code": "", "value": 0.3, "limit_value": 2.0, "unit": "kW",
                   "values": "treatment 0.3 kW while production 40 kW", "rule": "", "standard": "", "clause": "",
                   "limit_verified": False, "strength": 0.6, "details": ""}]).to_csv(tmp_path / "alarms.csv", index=False)
    out = tmp_path / "t.csv"
    r = CliRunner().invoke(app, ["targets", str(archive[0]), "--out", str(out), "--scheduler", cluster.scheduler_address,
                                 "--work", str(tmp_path / "w"), "--alarms", str(tmp_path / "alarms.csv"), "--json"])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(out, dtype={"enterprise_id": str}).set_index("enterprise_id")
    was = base.set_index("enterprise_id")
    assert got.loc[firm, "evidence_score"] > was.loc[firm, "evidence_score"] + 0.3
    assert got.loc[firm, "rank"] < was.loc[firm, "rank"]
    assert "treatment 0.3 kW while production 40 kW" in got.loc[firm, "reasons"]
    missing = CliRunner().invoke(app, ["targets", str(archive[0]), "--out", str(out), "--alarms",
                                       str(tmp_path / "nope.csv")])
    assert missing.exit_code != 0 and "nope.csv" in str(missing.exception)  # the CLI's entry prints it, no traceback


def test_a_raw_archive_is_refused_with_the_fix(tmp_path):
    d = tmp_path / "date=2025-03-01" / "platform=van01"
    d.mkdir(parents=True)
    (d / "R01.gpx").write_text("<gpx/>")
    (d / "R01_voc.csv").write_text("time,tvoc\n")
    with pytest.raises(InputError, match="georeference it first"):
        season_in_memory(tmp_path, tmp_path / "o", load_area("jimo"))


def test_season_workers_start_with_the_season_malloc_settings(monkeypatch):
    """The season's LocalCluster spawns its worker processes with SEASON_WORKER_MALLOC (glibc reads it
    at start), even when this process already holds distributed's 65536 (a nanny writes it here when
    it starts a worker); this process's environment is put back afterwards."""
    import os

    from ecopatrol.processing._dask import SEASON_WORKER_MALLOC, client_for

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    client, cluster, owned = client_for(None, 1, True, worker_env=SEASON_WORKER_MALLOC)
    try:
        got = {k: client.submit(os.getenv, k, pure=False).result(timeout=60) for k in SEASON_WORKER_MALLOC}
    finally:
        client.close()
        cluster.close()
    assert got == SEASON_WORKER_MALLOC
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536" and "MALLOC_MMAP_THRESHOLD_" not in os.environ
