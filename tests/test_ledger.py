"""The supervision ledger (issue 18): recorded runs, on-site outcomes, statistics, learning, many writers.

Database tests run on SQLite (a file in tmp_path) and, when ``ECOPATROL_TEST_PG_URL`` names a
PostgreSQL database, on PostgreSQL too (its public schema is emptied first), as tests/test_monitor.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta

import pandas as pd
import pytest
from ledger_support import NOW, db_url_for, fake_assessment, firms, truth_covered


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    return db_url_for(request.param, tmp_path)


@pytest.fixture
def engine(db_url):
    from ecopatrol.core.db import open_database

    e = open_database(db_url)
    yield e
    e.dispose()


def _count(engine, table) -> int:
    from sqlalchemy import func, select

    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


# ---------------------------------------------------------------- the demo, against the simulator's truth
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from ecopatrol.pipeline import run_demo

    out = tmp_path_factory.mktemp("ledger-demo")
    db = f"sqlite:///{out / 'ledger.db'}"
    res = run_demo(out / "run", seed=0, maps=False, db=db)
    return out / "run", db, res


def test_demo_records_the_checks_its_plans_covered(demo, capsys):
    from ecopatrol.cli import main
    from ecopatrol.processing.ledger.coverage import planned_targets

    run, db, res = demo
    assert any(s[0] == "ledger" for s in res.stages)
    assert main(["ledger", "stats", "--db", db, "--from", "2026-01-01", "--to", "2027-01-01", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    truth = truth_covered(run)
    recorded = {f["enterprise_id"] for f in s["per_firm"] if f["off_site"] > 0}
    assert s["off_site_checks"]["total"] == len(recorded) == s["firms_covered"] > 10
    assert s["on_site_checks"]["total"] == 0 and s["off_site_share"] == 1.0 and s["runs"] == 1
    # every off-site check the ledger claims, the truth confirms (the measured wind is averaged per
    # pass: the record is conservative), and it misses few of the truly covered firms
    assert len(recorded - truth) <= 0.1 * len(recorded), sorted(recorded - truth)
    assert len(recorded & truth) >= 0.7 * len(truth), sorted(truth - recorded)
    # the true emitters large enough to be seen, truly covered, are recorded suspicious
    emitters = json.loads((run / "field" / "truth.json").read_text())["emitters"]
    from ecopatrol.processing.ledger.store import read_checks

    from ecopatrol.core.db import open_database

    e = open_database(db, migrate=False)
    ch = read_checks(e)
    e.dispose()
    result = dict(zip(ch["enterprise_id"], ch["result"], strict=True))
    big = [m["enterprise_id"] for m in emitters if m["rate_g_s"] >= 0.5 and m["enterprise_id"] in truth]
    assert big and all(result.get(b) == "suspicious" for b in big), {b: result.get(b) for b in big}
    # targets the samples did not reach are "not assessable", with the reason
    na = ch[ch["result"] == "not assessable"]
    assert set(na["enterprise_id"]) <= set(planned_targets(run))
    assert s["not_assessable"]["total"] == len(na) and all("needed" in r or "no usable" in r for r in na["reason"])
    # evidence references carry sha256
    refs = json.loads(ch["evidence"].iloc[0])
    assert {"samples/samples.parquet", "evidence/evidence.json"} <= {r["file"] for r in refs}
    assert all(len(r["sha256"]) == 64 for r in refs)


def test_recording_the_demo_again_adds_nothing(demo, capsys):
    from ecopatrol.cli import main

    run, db, _ = demo
    assert main(["ledger", "record", str(run), "--db", db, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["new"] is False and doc["checks_new"] == 0


def test_targeting_learns_from_outcomes(demo, tmp_path):
    """A clean visit after a suspicious survey halves that firm's evidence; a violation raises its prior."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.learning import adjustment_from_db, proposals
    from ecopatrol.processing.ledger.store import read_checks, read_enterprises, record_inspections
    from ecopatrol.processing.targeting import rank_targets

    run, db, _ = demo
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    import shutil

    shutil.copy(db.removeprefix("sqlite:///"), tmp_path / "copy.db")
    e = open_database(url)
    ch = read_checks(e)
    susp = sorted(ch.loc[ch["result"] == "suspicious", "enterprise_id"])
    assert len(susp) >= 2
    fa, viol = susp[0], susp[1]
    day = ch["time_utc"].max() + timedelta(days=3)
    res = record_inspections(e, [{"enterprise_id": fa, "date": f"{day:%Y-%m-%d}", "result": "clean"},
                                 {"enterprise_id": viol, "date": f"{day:%Y-%m-%d}", "result": "violation"}])
    assert res.accepted == 2 and {c["trigger"] for c in res.checks} == {"survey evidence"}
    area = load_area(run / "area")
    before = rank_targets(run / "evidence", area).set_index("enterprise_id")
    adj = adjustment_from_db(e)
    after = rank_targets(run / "evidence", area, ledger=adj).set_index("enterprise_id")
    assert after.at[fa, "evidence_score"] == pytest.approx(before.at[fa, "evidence_score"] * 0.5, abs=1e-3)
    assert "clean on-site follow-up" in after.at[fa, "reasons"]
    assert after.at[viol, "violations_3y"] == before.at[viol, "violations_3y"] + 1
    assert after.at[viol, "risk_score"] > before.at[viol, "risk_score"] and "prior raised" in after.at[viol, "reasons"]
    untouched = [x for x in before.index if x not in (fa, viol)]
    assert (after.loc[untouched, "evidence_score"] == before.loc[untouched, "evidence_score"]).all()
    # the positive list: a listed firm with a violation is proposed for removal (never removed)
    ent = read_enterprises(e)
    listed = ent.loc[ent["positive_list"], "enterprise_id"].iloc[0]
    record_inspections(e, [{"enterprise_id": listed, "date": f"{day:%Y-%m-%d}", "result": "violation",
                            "note": "activated carbon saturated"}])
    props = proposals(read_enterprises(e), read_checks(e), day + timedelta(days=1))
    rm = [p for p in props if p["proposal"] == "remove"]
    assert [p["enterprise_id"] for p in rm] == [listed] and "activated carbon saturated" in rm[0]["reasons"][0]
    assert bool(read_enterprises(e).set_index("enterprise_id").at[listed, "positive_list"]) is True
    e.dispose()


# ---------------------------------------------------------------- recording: idempotent, all or nothing
def test_record_is_idempotent_and_all_or_nothing(engine, monkeypatch):
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.ledger import store

    ent = firms(20)
    a = fake_assessment("a" * 64, ent, list(ent["enterprise_id"][:12]), when=NOW)
    r1 = store.record_run(engine, a)
    assert r1.new and r1.checks_new == 12
    r2 = store.record_run(engine, a)
    assert not r2.new and r2.checks_new == 0 and r2.run_id == r1.run_id
    assert _count(engine, S.ledger_checks) == 12 and _count(engine, S.ledger_runs) == 1

    # a crash in the middle of a run's rows leaves no trace of that run
    real = store._check_rows

    def crashing(*args, **kw):
        for i, row in enumerate(real(*args, **kw)):
            if i == 5:
                raise RuntimeError("power cut")
            yield row

    monkeypatch.setattr(store, "_check_rows", crashing)
    b = fake_assessment("b" * 64, ent, list(ent["enterprise_id"]), when=NOW + timedelta(days=1))
    with pytest.raises(RuntimeError, match="power cut"):
        store.record_run(engine, b)
    assert _count(engine, S.ledger_checks) == 12 and _count(engine, S.ledger_runs) == 1
    monkeypatch.setattr(store, "_check_rows", real)
    assert store.record_run(engine, b).checks_new == 20


def test_inspections_refuse_bad_rows_and_keep_good_ones(engine, tmp_path):
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.ledger import store

    ent = firms(10)
    store.record_run(engine, fake_assessment("c" * 64, ent, ["F001", "F002"], when=NOW, results=["suspicious"]))
    csv = tmp_path / "visits.csv"
    csv.write_text("enterprise_id,date,result,trigger,note\n"
                   "F001,2026-06-10,clean,,filters replaced\n"
                   "NOPE,2026-06-10,clean,,\n"
                   "F002,2999-01-01,clean,,\n"
                   "F003,2026-06-10,perhaps,,\n"
                   "F004,2026-06-11,violation,complaint,\n"
                   "F005,2026-06-12,clean,weekly,\n", encoding="utf-8")
    res = store.import_inspections_csv(engine, csv)
    assert res.accepted == 2
    refused = {b["row"]: b for b in res.refused}
    assert set(refused) == {3, 4, 5, 7}
    assert "unknown firm" in refused[3]["reason"] and "visits.csv` row 3" in refused[3]["reason"]
    assert "future" in refused[4]["reason"] and refused[4]["field"] == "date"
    assert "unknown result" in refused[5]["reason"] and "unknown trigger" in refused[7]["reason"]
    trig = {c["enterprise_id"]: c["trigger"] for c in res.checks}
    assert trig == {"F001": "survey evidence", "F004": "complaint"}  # F001 follows a suspicious survey
    again = store.import_inspections_csv(engine, csv)
    assert again.accepted == 0 and again.duplicates == 2
    assert _count(engine, S.ledger_checks) == 4


def test_an_import_that_fails_midway_writes_nothing(engine, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.ledger import store

    store.record_run(engine, fake_assessment("d" * 64, firms(5), ["F001"], when=NOW))
    rows = [{"enterprise_id": "F002", "date": "2026-06-02", "result": "clean"},
            {"enterprise_id": "F003", "date": "2026-06-02", "result": "clean", "trigger": "alarm"}]
    real = store._validate

    def bad(*a, **k):  # the second row breaks a database constraint after the first is written
        good, refused = real(*a, **k)
        good[1]["method"] = "telepathy"
        return good, refused

    monkeypatch.setattr(store, "_validate", bad)
    with pytest.raises(IntegrityError):
        store.record_inspections(engine, rows)
    assert _count(engine, S.ledger_checks) == 1


# ---------------------------------------------------------------- many writers
def test_concurrent_writers_lose_nothing(db_url):
    """Four analysts at once: two record the same run, two others import visits; all stored, once."""
    from ecopatrol.core.db import open_database
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.ledger import store

    e = open_database(db_url)
    ent = firms(40)
    store.register_area(e, type("A", (), {"enterprises": ent, "name": "test"})())
    runs = [fake_assessment(f"{i:064x}", ent, list(ent["enterprise_id"]), when=NOW + timedelta(days=i))
            for i in range(4)]
    errors = []

    def work(i):
        try:
            for a in (runs[i % 2], runs[2 + i % 2]):  # analysts 0 and 2 record the same runs, as do 1 and 3
                store.record_run(e, a, recorded_by=f"analyst{i}")
            store.record_inspections(e, [{"enterprise_id": f"F{j:03d}", "date": f"2026-05-{1 + i:02d}",
                                          "result": "clean"} for j in range(i, 40, 4)], recorded_by=f"analyst{i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _count(e, S.ledger_runs) == 4
    assert _count(e, S.ledger_checks) == 4 * 40 + 40
    e.dispose()


def test_concurrent_processes_lose_nothing(db_url, tmp_path):
    """Three processes import visits into the same ledger at once (the CLI, as analysts would)."""
    from ecopatrol.core.db import open_database
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.ledger import store

    e = open_database(db_url)
    store.register_area(e, type("A", (), {"enterprises": firms(60), "name": "test"})())
    procs = []
    for p in range(3):
        f = tmp_path / f"visits{p}.csv"
        f.write_text("enterprise_id,date,result\n" + "".join(
            f"F{j:03d},2026-04-{1 + p:02d},clean\n" for j in range(p, 60, 3)), encoding="utf-8")
        procs.append(subprocess.Popen([sys.executable, "-m", "ecopatrol", "ledger", "import", str(f), "--db", db_url],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    assert _count(e, S.ledger_checks) == 60
    e.dispose()


# ---------------------------------------------------------------- statistics
def test_stats_count_share_cap_and_hit_rates(engine):
    from ecopatrol.processing.ledger import store
    from ecopatrol.processing.ledger.stats import describe, ledger_stats

    ent = firms(8)  # F000 and F004 are not on the positive list
    store.record_run(engine, fake_assessment("e" * 64, ent, ["F000", "F001", "F002", "F003"], when=NOW,
                                             results=["clean", "suspicious", "clean", "not assessable"]))
    store.record_run(engine, fake_assessment("f" * 64, ent, ["F001", "F004"], when=NOW + timedelta(days=2)))
    visits = [("F001", "2026-06-05", "violation", None), ("F001", "2026-06-20", "clean", "routine"),
              ("F001", "2026-07-01", "clean", "random"), ("F001", "2026-07-02", "violation", "alarm"),
              ("F002", "2026-06-21", "clean", "routine")]
    store.record_inspections(engine, [{"enterprise_id": a, "date": b, "result": c, "trigger": d}
                                      for a, b, c, d in visits], today=NOW.date() + timedelta(days=60))
    s = ledger_stats(engine, "2026-01-01", "2027-01-01", cap_per_year=2)
    assert s["off_site_checks"] == {"positive_list": 3, "other": 2, "total": 5}  # F003's pass saw nothing
    assert s["not_assessable"]["total"] == 1
    assert s["on_site_checks"]["total"] == 5 and s["all_checks"] == 10 and s["off_site_share"] == 0.5
    assert s["firms_covered"] == 4 and s["positive_list_covered"] == 2
    assert s["firms_over_cap"] == [{"enterprise_id": "F001", "year": 2026, "visits": 3, "alarm_visits": 1}]
    assert s["alarm_visits"] == 1
    hit = s["on_site_by_trigger"]
    assert hit["survey evidence"] == {"visits": 1, "violations": 1, "hit_rate": 1.0}  # follows F001's suspicious pass
    assert hit["routine plan"]["visits"] == 2 and hit["routine plan"]["hit_rate"] == 0.0
    per = {f["enterprise_id"]: f for f in s["per_firm"]}
    assert per["F001"]["on_site"] == 4 and per["F001"]["on_site_alarm"] == 1 and per["F001"]["over_cap"]
    assert per["F007"]["days_since_last_check"] is None and s["days_since_last_check"]["never_checked"] == 4
    assert per["F004"]["days_since_last_check"] == pytest.approx((pd.Timestamp("2027-01-01", tz="UTC")
                                                                  - pd.Timestamp(NOW) - pd.Timedelta(days=2,
                                                                  minutes=1)).total_seconds() / 86400, abs=0.1)
    # a window holds only its checks
    june = ledger_stats(engine, "2026-06-01", "2026-06-10")
    assert june["on_site_checks"]["total"] == 1 and june["off_site_checks"]["total"] == 5
    assert "77.6" not in describe(s) and "50.0%" in describe(s)


def test_inclusion_proposal_after_a_long_clean_record(engine):
    from ecopatrol.processing.ledger import learning, store

    ent = firms(4)  # F000 is not listed
    for i in range(5):
        store.record_run(engine, fake_assessment(f"{i + 10:064x}", ent, ["F000", "F001"],
                                                 when=NOW - timedelta(days=30 * i)))
    props = learning.proposals(store.read_enterprises(engine), store.read_checks(engine), NOW + timedelta(days=1))
    assert [(p["enterprise_id"], p["proposal"]) for p in props] == [("F000", "include")]
    assert "5 checks" in props[0]["reasons"][0]


def test_export_csv_and_geopackage(engine, tmp_path):
    import geopandas as gpd

    from ecopatrol.processing.ledger import store

    store.record_run(engine, fake_assessment("9" * 64, firms(6), ["F001", "F002", "F003"], when=NOW))
    store.export_checks(engine, tmp_path / "ledger.csv")
    store.export_checks(engine, tmp_path / "ledger.gpkg")
    csv = pd.read_csv(tmp_path / "ledger.csv", encoding="utf-8-sig")
    g = gpd.read_file(tmp_path / "ledger.gpkg")
    assert len(csv) == len(g) == 3 and g.crs.to_epsg() == 4326 and list(csv["enterprise_id"]) == list(g["enterprise_id"])
    with pytest.raises(ValueError, match="csv or .gpkg"):
        store.export_checks(engine, tmp_path / "ledger.xlsx")


def test_cli_inspect_export_registry(tmp_path, capsys):
    from ecopatrol.cli import main

    db = f"sqlite:///{tmp_path / 'l.db'}"
    assert main(["ledger", "register", "jimo", "--db", db]) == 0
    from ecopatrol.core.area import load_area

    eid = str(load_area("jimo").enterprises["enterprise_id"].iloc[0])
    assert main(["ledger", "inspect", "--db", db, "--enterprise", eid, "--date", "2026-03-01",
                 "--result", "violation", "--note", "VOCs unabated"]) == 0
    assert main(["ledger", "inspect", "--db", db, "--enterprise", eid, "--date", "2026-13-01",
                 "--result", "clean"]) == 1
    assert main(["ledger", "export-registry", "jimo", "--out", str(tmp_path / "reg.csv"), "--db", db]) == 0
    reg = pd.read_csv(tmp_path / "reg.csv", dtype=str, encoding="utf-8-sig").set_index("enterprise_id")
    orig = load_area("jimo").enterprises.set_index("enterprise_id")
    assert reg.at[eid, "last_inspected"] == "2026-03-01"
    assert int(reg.at[eid, "violations_3y"]) == int(orig.at[eid, "violations_3y"]) + 1
    out = capsys.readouterr().out
    assert "1 firms updated" in out
    # the firm's history: its visit, with the note; an unknown firm is refused without a traceback
    assert main(["ledger", "history", "--db", db, "--enterprise", eid, "--json"]) == 0
    h = json.loads(capsys.readouterr().out)
    assert h["n"] == 1 and h["checks"][0]["result"] == "violation confirmed"
    assert h["checks"][0]["time_utc"].startswith("2026-03-01") and h["checks"][0]["note"] == "VOCs unabated"
    assert main(["ledger", "history", "--db", db, "--enterprise", "NOPE"]) == 1
    assert "not a firm of this ledger" in capsys.readouterr().err


def test_report_has_a_ledger_page(demo, tmp_path):
    from ecopatrol.maps import build_report
    from ecopatrol.pipeline import ledger_year_stats

    run, db, _ = demo
    s = ledger_year_stats(db, run)
    assert s["off_site_checks"]["total"] > 10 and "per_firm" not in s
    html = build_report(run, out=tmp_path / "r.html", lang="en", ledger_stats=s).read_text()
    assert '<h2 id="ledger">Supervision ledger</h2>' in html and "off-site share" in html
    assert f'<div class="v">{s["off_site_checks"]["total"]}</div><div class="k">off-site checks' in html
    zh = build_report(run, out=tmp_path / "z.html", lang="zh", ledger_stats=s).read_text()
    assert "监管台账" in zh and "非现场检查占比" in zh
