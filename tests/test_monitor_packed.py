"""Records packed into their packet's row (schema 0003) give exactly what the row-per-record table gave.

A real hour is ingested into the old layout (a database migrated only to 0002, ``PacketStore(layout=
"rows")``); its records, ``monitor stats`` and ``monitor alarms`` are the reference. Then (1) that
database is migrated to the newest schema — every record through the view ``hj212_records``
equal to the table's, value by value, in the same order — and migrated back down; (2) the hour is
ingested afresh into the packed layout, with the same results. SQLite and PostgreSQL (which skips
without ``ECOPATROL_TEST_PG_URL``, saying so). ``packed_items`` is checked against ``record_rows``
on the real traffic and on edge cases (flags without values, text JSON must escape, NUL, numbers
``float`` reads that JSON does not).
"""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from ledger_support import pg_url_or_skip, reset_pg

from ecopatrol.core.db import make_engine, open_database, upgrade
from ecopatrol.processing.hj212 import decode, decode_lines, encode_frame
from ecopatrol.processing.monitor.alarms import monitor_alarms
from ecopatrol.processing.monitor.ingest import ingest_file
from ecopatrol.processing.monitor.stats import database_stats
from ecopatrol.processing.monitor.store import PacketStore, packed_items, record_rows

HOUR = "hebei_2016-08-24_05.h212.gz"  # the hour with framing rejections and duplicate frames
RECORDS = ("SELECT p.digest, r.mn, r.cn, r.data_time_utc, r.pollutant_code, r.pollutant_code_2017, r.suffix, "
           "r.value, r.value_text, r.flag, r.eflag FROM hj212_records r JOIN hj212_packets p ON p.id = r.packet_id "
           "ORDER BY p.digest, r.id")
SKIP_STATS = {"database": None, "schema_version": None, "first_received_utc": None, "last_received_utc": None}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """A function giving the URL of an empty database each time it is called."""
    if request.param == "sqlite":
        n = iter(range(100))
        return lambda: f"sqlite:///{tmp_path}/db{next(n)}.db"
    url = pg_url_or_skip()
    return lambda: (reset_pg(url), url)[1]


def _snapshot(engine) -> dict:
    with engine.connect() as conn:
        records = pd.read_sql_query(RECORDS, conn)
    records["digest"] = records["digest"].map(bytes)
    records["data_time_utc"] = pd.to_datetime(records["data_time_utc"], utc=True)
    alarms = monitor_alarms(engine)
    return {"records": records, "stats": database_stats(engine) | SKIP_STATS, "alarms": alarms.alarms,
            "completeness": alarms.completeness, "unknown": alarms.unknown_mns}


def _assert_same(a: dict, b: dict) -> None:
    pd.testing.assert_frame_equal(a["records"], b["records"], check_exact=True)
    assert a["stats"] == b["stats"]
    for k in ("alarms", "completeness", "unknown"):
        pd.testing.assert_frame_equal(a[k], b[k])


def test_packed_layout_and_migration_keep_every_record(shared_data, fresh_url):
    path = shared_data / "hj212" / HOUR
    old = make_engine(fresh_url())
    upgrade(old, "0002")  # the row-per-record layout
    ingest_file(PacketStore(old, layout="rows"), path)
    ref = _snapshot(old)
    assert len(ref["records"]) == 86_911 and ref["stats"]["records"] == 86_911
    assert len(ref["alarms"]) > 0

    assert upgrade(old) == "0003"  # the migration: the records packed, the table a view
    with old.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM hj212_packets WHERE n_records > 0 AND "
                                    + ("items = '[]'" if old.dialect.name == "sqlite" else "items = '[]'::jsonb")
                                    ).scalar() == 0
        ids = conn.exec_driver_sql("SELECT count(*), count(DISTINCT id) FROM hj212_records").one()
        assert ids[0] == ids[1] == 86_911
    _assert_same(ref, _snapshot(old))
    upgrade_down(old, "0002")
    with old.connect() as conn:
        back = pd.read_sql_query(RECORDS, conn)
    back["digest"] = back["digest"].map(bytes)
    back["data_time_utc"] = pd.to_datetime(back["data_time_utc"], utc=True)
    pd.testing.assert_frame_equal(ref["records"], back, check_exact=True)
    old.dispose()

    new = open_database(fresh_url())  # the newest schema: records packed as they are stored
    ingest_file(PacketStore(new), path)
    _assert_same(ref, _snapshot(new))
    new.dispose()


def upgrade_down(engine, revision: str) -> None:
    from alembic import command

    from ecopatrol.core.db.migrate import alembic_config

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


# -- packed_items against record_rows ----------------------------------------------------------------
def _unpacked(packet, raw) -> list[tuple]:
    text, n = packed_items(packet, raw)
    rows = [tuple(r) for r in json.loads(text)]
    assert len(rows) == n
    return [(c, c17, s, None if v is None else float(v), t, f, e) for c, c17, s, v, t, f, e in rows]


def test_packed_items_equal_record_rows_on_real_traffic(shared_data):
    lines = gzip.decompress((shared_data / "hj212" / HOUR).read_bytes()).split(b"\n")
    done = 0
    for d in decode_lines([ln for ln in lines if ln.strip()]):
        if d.ok:
            assert _unpacked(d.packet, d.raw) == record_rows(d.packet)
            done += 1
    assert done == 8_692


BASE = "QN=20240122170000123;ST=32;CN=2011;PW=1;MN=M;Flag=5;CP=&&DataTime=20240122170000;a34013-Rtd=0.5&&"


@pytest.mark.parametrize("cp", [
    "a34013-Flag=D,a34013-EFlag=E1;b-Rtd=x,b-Flag=F,b-Flag=N,c-Avg=inf;d-Rtd=1_0,d-EFlag=Z",  # flags alone
    "a-Rtd=1e5,a-Flag=N;b-Rtd=+1;c-Rtd=.5;d-Rtd=007;e-Rtd=-0;f-Rtd=1.;g-Rtd=nan;h-Rtd=-12.50;i-Rtd=",
    "a-Rtd=12345678901234567890123;b-Rtd=0.1000000000000000055511151231257827;c-Rtd=1E400;d-Rtd= 3",
    'a-Rtd=say "hi";b-Rtd=back\\slash,b-Flag=N\\;c-Rtd=tab\there;d-Rtd=2,d-Flag="',  # text JSON must escape
    "a-Rtd=温度;b-Rtd=1.5,b-Flag=N",  # non-ASCII
    "a-Rtd=1\x00;b-Rtd=2,b-Flag=\x00N",  # NUL: written as the 4 characters \\x00, as the other columns
    "x-y-Rtd=1;-Rtd=2;DataTime=20240122170000;QnRtn=1;z-Flag=N",
    # groups of several values (minute and hour data), with or without their code's Flag
    "a-Cou=1,a-Min=0.5,a-Avg=1.5,a-Max=2,a-Flag=N;b-Min=1,b-Avg=2,b-Max=3;c-Avg=1,d-Avg=2,e-Max=3",
    "a-Min=1,b-Avg=2,a-Flag=N;a-Min=1,a-Max=2,b-Flag=D;a-Avg=1,a-Max=2,a-EFlag=E,a-Flag=N",
    "a-Min=1,a-Max=2,a-Flag=N,a-Flag=D;a-Avg=1,DataTime=20240122170000,a-Flag=N;a-Flag=N,a-Avg=1,a-Max=2",
])
def test_packed_items_equal_record_rows_on_edge_cases(cp):
    d = decode(encode_frame(BASE.replace("a34013-Rtd=0.5", cp)))
    assert d.ok, d.detail
    want = record_rows(d.packet)
    if b"\x00" in d.raw:
        want = [tuple(v.replace("\x00", "\\x00") if isinstance(v, str) else v for v in r) for r in want]
    assert _unpacked(d.packet, d.raw) == want


def test_stations_upsert_widens_first_and_last_seen(fresh_url):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.store import Received

    e = open_database(fresh_url())
    store = PacketStore(e)
    t0 = datetime(2024, 1, 22, 9, 0, tzinfo=UTC)

    def item(i: int, minutes: int, st: str = "32") -> Received:
        d = decode(encode_frame(BASE.replace("ST=32", f"ST={st}").replace("0.5", str(i))))
        return Received(d.raw, t0 + timedelta(minutes=minutes), f"peer{i}", d.packet)

    store.write_batch([item(1, 20), item(2, 10, st="31")])  # in a batch: the latest packet's ST and peer
    store.write_batch([item(3, 0), item(4, 30, st="22"), item(1, 40)])  # a copy of 1, received later
    with e.connect() as c:
        row = c.execute(select(S.stations)).one()
    assert (row.mn, row.packets) == ("M", 5)
    assert (row.first_seen_utc, row.last_seen_utc) == (t0, t0 + timedelta(minutes=40))
    assert (row.st, row.last_peer) == ("32", "peer1")
    e.dispose()
