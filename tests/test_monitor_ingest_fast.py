"""The fast file ingest stores exactly what the per-packet reference path stores.

Reference path: each line decoded alone by ``decode``, ``PacketStore.write_batch`` of batches,
cyclic GC on — what ``ingest_file`` did before the batch decoder. Both into new SQLite files from
the same real hour; every table compared row by row (ids and reception times apart), then
``monitor stats`` and ``monitor alarms`` on both must give the same results.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pandas as pd

from ecopatrol.core.db import open_database

from ecopatrol.processing.hj212 import decode
from ecopatrol.processing.monitor.alarms import monitor_alarms
from ecopatrol.processing.monitor.ingest import ingest_file
from ecopatrol.processing.monitor.stats import database_stats
from ecopatrol.processing.monitor.store import PacketStore, Received

HOUR = "hebei_2016-08-24_05.h212.gz"  # the hour with the framing rejections too


def _reference_ingest(store: PacketStore, path, batch: int = 2000) -> None:
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    now = datetime.now(UTC)
    items = []
    for n, line in enumerate(lines, start=1):
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        d = decode(line)
        items.append(Received(d.raw, now, path.name, d.packet, d.reason, d.detail, n))
    for i in range(0, len(items), batch):
        store.write_batch(items[i:i + batch])


def _table(engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(sql, conn)


def test_fast_ingest_stores_what_the_reference_stores(shared_data, tmp_path):
    path = shared_data / "hj212" / HOUR
    fast = open_database(f"sqlite:///{tmp_path}/fast.db")
    ref = open_database(f"sqlite:///{tmp_path}/ref.db")
    ingest_file(PacketStore(fast), path, batch_packets=1500)
    _reference_ingest(PacketStore(ref), path)
    packets = ("SELECT copies, peer, line, mn, st, cn, qn, version, flag, ack_requested, pnum, pno, data_time_utc, "
               "n_records, raw, digest FROM hj212_packets ORDER BY digest")
    records = ("SELECT p.digest, r.mn, r.cn, r.data_time_utc, r.pollutant_code, r.pollutant_code_2017, r.suffix, "
               "r.value, r.value_text, r.flag, r.eflag FROM hj212_records r JOIN hj212_packets p ON p.id = r.packet_id "
               "ORDER BY p.digest, r.id")
    rejected = "SELECT peer, line, reason, detail, mn, raw FROM hj212_rejected ORDER BY line"
    stations = "SELECT mn, st, packets, last_peer FROM stations ORDER BY mn"
    for sql in (packets, records, rejected, stations):
        a, b = _table(fast, sql), _table(ref, sql)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b)
    assert _table(fast, "SELECT count(*) n FROM hj212_records").n[0] == 86_911  # 89 095 items, duplicate frames stored once
    skip = {"database": None, "files": None, "files_incomplete": None, "last_received_utc": None,
            "first_received_utc": None}
    assert database_stats(fast) | skip == database_stats(ref) | skip
    with fast.connect() as conn:  # the foreign keys are back on after the batches
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    ra, rb = monitor_alarms(fast), monitor_alarms(ref)
    assert len(ra.alarms) > 0
    pd.testing.assert_frame_equal(ra.alarms, rb.alarms)
    pd.testing.assert_frame_equal(ra.completeness, rb.completeness)
    pd.testing.assert_frame_equal(ra.unknown_mns, rb.unknown_mns)

