"""HJ 212 receiver and database (issue 17 item 2): migrations, file ingest, the TCP server, the commands.

Every database test runs on SQLite (a file in tmp_path) and, when ``ECOPATROL_TEST_PG_URL`` names
a PostgreSQL database (``.ci/run`` starts one), on PostgreSQL too (its public schema is emptied
first). The real-traffic tests skip without ../shared/data.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from monitor_support import _count, _frame, ask_answer, db_url, engine, start_serve  # noqa: F401 - the fixtures

from ecopatrol.processing.hj212 import codes, decode, encode, make_packet

HOURS = ("hebei_2016-08-24_04.h212.gz", "hebei_2016-08-24_05.h212.gz")


def _real_lines(shared_data) -> list[tuple[str, list[bytes]]]:
    out = []
    for name in HOURS:
        path = shared_data / "hj212" / name
        if not path.exists():
            pytest.skip(f"{path} is not present")
        out.append((name, [ln.rstrip(b"\r\n") for ln in gzip.decompress(path.read_bytes()).split(b"\n")]))
    return out


# -- engine and migrations ---------------------------------------------------------------------------
def test_urls(monkeypatch, tmp_path):
    from ecopatrol.core.db import DEFAULT_URL, database_url, normalise_url, redact
    from ecopatrol.core.errors import InputError

    monkeypatch.delenv("ECOPATROL_DB", raising=False)
    assert database_url() == DEFAULT_URL == "sqlite:///ecopatrol.db"
    monkeypatch.setenv("ECOPATROL_DB", "sqlite:///from-env.db")
    assert normalise_url(None) == "sqlite:///from-env.db"
    assert normalise_url("monitor.db") == "sqlite:///monitor.db"
    assert normalise_url("postgres://u:pw@h:5432/d") == "postgresql+psycopg://u:pw@h:5432/d"
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert redact("postgresql://u:secret@h/d") == "postgresql://u:***@h/d"
    for bad in ("sqlite://", "sqlite:///:memory:", "mysql://h/d", "postgresql+psycopg2://h/d"):
        with pytest.raises(InputError):
            normalise_url(bad)
    from ecopatrol.core.db import make_engine

    with pytest.raises(InputError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path}/no/such/folder/x.db")


def test_sqlite_is_wal_and_synchronous_full(tmp_path):
    from ecopatrol.core.db import durability_warning, open_database

    e = open_database(f"sqlite:///{tmp_path}/x.db")
    with e.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: each commit fsyncs the WAL
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert durability_warning(e) is None
    e.dispose()
    weak = open_database(f"sqlite:///{tmp_path}/x.db", sqlite_synchronous="NORMAL")
    assert "power cut" in durability_warning(weak)
    weak.dispose()


def test_migrations_from_empty_to_head(db_url):  # noqa: F811
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    from ecopatrol.core.db import check_current, current_revision, head_revision, make_engine, upgrade
    from ecopatrol.core.db.migrate import HEAD_REVISION
    from ecopatrol.core.db.schema import metadata

    e = make_engine(db_url)
    assert current_revision(e) is None
    with pytest.raises(ConnectionError, match="not an ecopatrol database"):
        check_current(e)
    assert upgrade(e) == head_revision() == "0003"
    assert head_revision() == HEAD_REVISION  # the constant check_current reads without importing alembic
    assert upgrade(e) == "0003"  # again: nothing to do
    tables = set(inspect(e).get_table_names())
    assert {"alembic_version", "hj212_packets", "hj212_rejected", "stations", "hj212_files"} <= tables
    assert "hj212_records" in inspect(e).get_view_names()  # since 0003: the packets' items expanded
    with e.connect() as c:
        assert c.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0003"
        # schema.py and the migrations describe the same tables
        assert compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata) == []
    assert check_current(e) == "0003"
    e.dispose()


def test_stats_refuses_a_missing_database(tmp_path):
    from ecopatrol.core.db import DatabaseError, open_database

    with pytest.raises(DatabaseError, match="no such database"):
        open_database(f"sqlite:///{tmp_path}/none.db", migrate=False)
    assert not (tmp_path / "none.db").exists()


# -- records ------------------------------------------------------------------------------------------
def test_record_rows_equal_the_codec_records_frame(shared_data):
    """The store builds the codec's records without pandas: the same rows on both real hours."""
    import math

    from ecopatrol.processing.hj212 import records_frame
    from ecopatrol.processing.monitor.store import record_rows

    for _, lines in _real_lines(shared_data):
        packets = [d.packet for d in map(decode, lines) if d.ok]
        rf = records_frame(packets)
        mine = [r for p in packets for r in record_rows(p)]
        theirs = [(c, c17, s, None if v != v or math.isinf(v) else v, t, f, ef) for c, c17, s, v, t, f, ef in zip(
            rf.pollutant_code, rf.pollutant_code_2017, rf.suffix, rf.value, rf.value_text, rf.flag, rf.eflag)]
        assert mine == theirs


# -- file ingest ----------------------------------------------------------------------------------------
def test_ingest_real_hours(engine, shared_data):  # noqa: F811
    """Both real hours: the stats are the codec's counts (8 622 + 8 692 accepted, rejected by reason,
    284 stations); repeated frames are stored once with their copies; a second ingest changes nothing."""
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.hj212 import read_hj212_file
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.stats import database_stats
    from ecopatrol.processing.monitor.store import PacketStore, digest, record_rows

    store = PacketStore(engine)
    expected_reasons: Counter = Counter()
    distinct: dict[bytes, int] = {}
    mns = set()
    for name, lines in _real_lines(shared_data):
        _, rejected, st = read_hj212_file(shared_data / "hj212" / name)
        expected_reasons.update(rejected["reason"])
        res = ingest_file(store, shared_data / "hj212" / name, batch_packets=3000)
        assert (res.accepted, res.rejected) == (st.accepted, st.rejected)
        for d in map(decode, (ln for ln in lines if ln.strip())):
            if d.ok:
                distinct.setdefault(digest(d.raw), len(record_rows(d.packet)))
                mns.add(d.packet.mn)
    s = database_stats(engine)
    assert s["packets_accepted"] == 8622 + 8692
    assert s["rejected_by_reason"] == dict(expected_reasons) == {"length_mismatch": 5, "framing": 3}
    assert s["stations"] == len(mns) == 284
    assert s["packets_stored"] == len(distinct) and s["duplicates"] == 8622 + 8692 - len(distinct)
    assert s["records"] == sum(distinct.values())
    assert s["files"] == 2 and s["files_incomplete"] == 0
    again = ingest_file(store, shared_data / "hj212" / HOURS[0])
    assert again.skipped and again.lines == 0
    assert database_stats(engine) | {"database": None} == s | {"database": None}
    assert _count(engine, S.hj212_rejected, S.hj212_rejected.c.line.is_(None)) == 0  # every rejected line has its line


def test_ingest_resumes_after_an_interruption(engine, tmp_path):  # noqa: F811
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.stats import database_stats
    from ecopatrol.processing.monitor.store import PacketStore

    lines = [_frame(mn=f"MN{i % 7}", minute=i % 60, value=i) for i in range(50)]
    lines[10] = lines[10][:-9] + b"\r\n"  # truncated
    lines.insert(20, b"garbage line\r\n")
    lines.insert(30, b"\r\n")  # blank: counted, not stored
    path = tmp_path / "log.h212.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))
    store = PacketStore(engine)

    class Stop(Exception):
        pass

    def interrupt(done: int) -> None:
        raise Stop(done)

    with pytest.raises(Stop):
        ingest_file(store, path, batch_packets=15, progress=interrupt)  # one batch committed, then killed
    part = database_stats(engine)
    assert 0 < part["packets_accepted"] + part["rejected"] < 52 and part["files_incomplete"] == 1
    res = ingest_file(store, path, batch_packets=15)
    assert res.resumed_after_line == 15
    s = database_stats(engine)
    assert s["packets_accepted"] == 49 and s["rejected_by_reason"] == {"framing": 1, "length_mismatch": 1}
    assert s["files"] == 1 and s["files_incomplete"] == 0 and s["stations"] == 7


# -- answers ----------------------------------------------------------------------------------------------
def test_reply_for():
    from ecopatrol.processing.monitor.receiver import reply_for

    def pk(cn, ack=True):
        return decode(encode(make_packet(st="31", cn=cn, mn="M1", qn="20240122090000123", ack=ack,
                                         fields={"QnRtn": 1} if cn in codes.REPLY_CNS else None))).packet

    assert reply_for(pk("2061", ack=False)) is None
    r = reply_for(pk("2061"))
    assert (r.cn, r.st, r.fields["QN"], r.ack_requested) == ("9014", "91", "20240122090000123", False)
    assert reply_for(pk("2072")).cn == "9014"
    assert reply_for(pk("1013")).cn == "9013"
    r = reply_for(pk("1012"))  # a command to the platform: refused
    assert (r.cn, r.fields["QnRtn"]) == ("9011", "2")
    assert reply_for(pk("9014")) is None and reply_for(pk("9011")) is None


def test_reply_segment_equals_the_answer_packet(shared_data):
    """The writer process's answers, written as text, are the segments of :func:`reply_for`'s packets: every
    packet of both real hours asked for an answer (and as sent), and the edge cases (no QN, no PW, no Flag,
    Flag with D set, 1013, a refused command, the answers themselves, an unknown CN)."""
    from dataclasses import replace

    from ecopatrol.processing.hj212 import data_segment, decode_lines
    from ecopatrol.processing.monitor.receiver import reply_for, reply_segment

    def same(p):
        r = reply_for(p)
        assert reply_segment(p) == (None if r is None else data_segment(r)), p

    n = 0
    for _, lines in _real_lines(shared_data):
        for d in decode_lines([ln for ln in lines if ln]):
            if d.packet is not None:
                p = d.packet
                same(p)
                same(replace(p, flag=(p.flag or 4) | 1))
                n += 1
    assert n > 15_000
    base = decode(encode(make_packet(st="31", cn="2061", mn="M1", qn="20240122090000123", ack=True))).packet
    for cn in ("2011", "2061", "1013", "1012", "1011", "3020", "9011", "9012", "9013", "9014", "9999", "8888"):
        for kw in ({}, {"qn": None}, {"pw": None}, {"qn": ""}, {"flag": None}, {"flag": 7}, {"flag": 3},
                   {"flag": 5}, {"flag": 4}, {"mn": "M;x"}):
            same(replace(base, cn=cn, **kw))


# -- the server --------------------------------------------------------------------------------------------
def _logger_plan(shared_data, n_loggers: int, per_logger: int, seed: int = 17):
    """Real frames for each logger: some asking for an answer (unique QN), a few with a corrupted byte."""
    from ecopatrol.processing.monitor.replay import unique_qn_times, with_answer_request

    lines = [ln for _, ls in _real_lines(shared_data) for ln in ls if ln.strip()]
    ok = [ln + b"\r\n" for ln in lines if decode(ln).ok]
    rng = random.Random(seed)
    rng.shuffle(ok)
    ok = ok[:n_loggers * per_logger]
    qns = iter(unique_qn_times(len(ok)))
    frames, corrupt = [], 0
    for f in ok:
        cn = re.search(rb"CN=(\d{4})", f).group(1).decode()
        r = rng.random()
        if r < 0.25 and cn not in codes.REPLY_CNS:
            f = with_answer_request(f, next(qns))
        elif r > 0.995:  # one byte of the data changed: always caught by the CRC
            i = f.index(b"CP=&&") + 7
            f = f[:i] + (b"7" if f[i:i + 1] != b"7" else b"8") + f[i + 1:]
            corrupt += 1
        frames.append(f)
    return [frames[i::n_loggers] for i in range(n_loggers)], corrupt


async def _run_loggers(url: str, plans, *, cut_every: int, on_answer_check):
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.monitor.receiver import Receiver
    from ecopatrol.processing.monitor.replay import replay_logger

    engine = open_database(url)  # noqa: F811
    rx = Receiver(engine, max_batch_packets=500)
    host, port = await rx.start("127.0.0.1", 0)
    assert host == "127.0.0.1"
    late: list = []

    def checker(i):
        async def check(answer):
            ok = await asyncio.to_thread(on_answer_check, answer)
            if not ok:
                late.append((i, answer.mn, answer.qn))
        return check

    runs = await asyncio.gather(*[
        replay_logger(host, port, frames, rng=random.Random(i), garbage_probability=0.03,
                      cut_at=(len(frames) // 2 if i % cut_every == 0 else None), window=2, on_answer=checker(i),
                      answer_timeout_s=20)
        for i, frames in enumerate(plans)])
    await rx.stop()
    engine.dispose()
    return runs, rx.stats, late


@pytest.mark.slow
def test_server_many_loggers(db_url, shared_data):  # noqa: F811
    """120 loggers at once replay real frames split at random boundaries, garbage between them, some asking
    for answers, a few connections cut mid-packet: every complete frame stored exactly once, every answer
    after its row was committed, the rejected counted by reason."""
    from sqlalchemy import create_engine, select

    from ecopatrol.core.db import normalise_url, open_database
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.store import digest, record_rows

    open_database(db_url).dispose()  # migrate before the readers look
    plans, corrupt = _logger_plan(shared_data, n_loggers=120, per_logger=25)
    reader = create_engine(normalise_url(db_url))
    P = S.hj212_packets

    def committed(answer) -> bool:  # the answered packet is in the database when its answer arrives
        with reader.connect() as c:
            return c.execute(select(P.c.id).where(P.c.mn == answer.mn, P.c.qn == answer.qn)).first() is not None

    t0 = time.monotonic()
    runs, stats, late = asyncio.run(asyncio.wait_for(_run_loggers(db_url, plans, cut_every=25, on_answer_check=committed),
                                                     timeout=120))
    elapsed = time.monotonic() - t0
    assert elapsed < 90
    assert not late, f"answers before their commit: {late[:5]}"
    assert not any(r.timed_out for r in runs)

    sent = Counter(f.rstrip(b"\r\n") for r in runs for f in r.frames_sent)
    valid = Counter({raw: n for raw, n in sent.items() if decode(raw).ok})
    with reader.connect() as c:
        stored = {bytes(raw): copies for raw, copies in c.execute(select(P.c.raw, P.c.copies))}
        reasons = Counter(r for (r,) in c.execute(select(S.hj212_rejected.c.reason)))
        n_records = _count(reader, S.hj212_records)
    reader.dispose()
    assert stored == dict(valid)  # every complete frame once, its copies counted; nothing else
    cuts = sum(r.cut for r in runs)
    assert cuts == 5
    corrupt_sent = sum(n for raw, n in sent.items() if decode(raw).reason == "crc_mismatch")
    assert corrupt_sent == sum(n for raw, n in sent.items() if not decode(raw).ok)  # only CRC errors are invalid
    assert reasons == Counter({k: v for k, v in {"framing": sum(r.garbage_runs for r in runs),
                                                   "crc_mismatch": corrupt_sent,
                                                   "connection_closed": cuts}.items() if v})
    assert n_records == sum(len(record_rows(decode(raw).packet)) for raw in valid)
    asked = sum(r.asked for r in runs)
    answered = sum(len(r.answers) for r in runs)
    assert asked > 300 and answered == asked  # the cut loggers waited for theirs before the cut
    assert stats.answers == answered and stats.packets == sum(valid.values())
    assert len(digest(b"x")) == 16


def test_server_connection_cut_keeps_what_came_before(engine, db_url):  # noqa: F811
    """A connection closed mid-packet: the packets before it are stored, the partial one rejected."""
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.receiver import Receiver

    frames = [_frame(minute=i, value=i) for i in range(5)]

    async def main():
        rx = Receiver(engine)
        host, port = await rx.start("127.0.0.1", 0)
        _, w = await asyncio.open_connection(host, port)
        w.write(b"".join(frames) + frames[0][:30])
        await w.drain()
        w.close()
        await w.wait_closed()
        for _ in range(200):
            if rx.stats.rejected:
                break
            await asyncio.sleep(0.02)
        await rx.stop()
        return rx.stats

    st = asyncio.run(asyncio.wait_for(main(), 30))
    assert st.packets == 5 and dict(st.rejected) == {"connection_closed": 1}
    assert _count(engine, S.hj212_packets) == 5
    assert _count(engine, S.hj212_rejected, S.hj212_rejected.c.reason == "connection_closed") == 1


def test_answers_wait_for_the_commit(tmp_path):
    """While the database cannot take the batch, nothing is answered; once it can, all is stored, then answered."""
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.monitor.receiver import Receiver

    engine = open_database(f"sqlite:///{tmp_path}/x.db")  # noqa: F811
    blocker = open_database(f"sqlite:///{tmp_path}/x.db")
    frames = [_frame(mn="A", minute=i, ack=True, qn_ms=i) for i in range(3)]

    async def main():
        rx = Receiver(engine)
        host, port = await rx.start("127.0.0.1", 0)
        lock = blocker.connect().execution_options(sqlite_immediate=True)
        tx = lock.begin()  # another writer holds SQLite's write lock
        r, w = await asyncio.open_connection(host, port)
        w.write(b"".join(frames))
        await w.drain()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(r.read(1), 0.5)  # no answer: not committed yet
        assert rx.stats.packets == 0
        tx.rollback()
        lock.close()
        got = b""
        while got.count(b"\r\n") < 3:
            got += await asyncio.wait_for(r.read(4096), 30)
        assert rx.stats.packets == 3  # counted at commit, before the answers went out
        w.close()
        await rx.stop()
        return got

    got = asyncio.run(asyncio.wait_for(main(), 60))
    answers = [decode(x).packet for x in got.split(b"\r\n") if x]
    assert [a.cn for a in answers] == ["9014"] * 3
    assert [a.fields["QN"] for a in answers] == [decode(f.rstrip()).packet.qn for f in frames]
    engine.dispose()
    blocker.dispose()


# -- the commands -------------------------------------------------------------------------------------------
def test_cli_ingest_and_stats(tmp_path, capsys, db_url):  # noqa: F811
    import json

    from ecopatrol.cli import main

    path = tmp_path / "log.h212"
    path.write_bytes(b"".join([_frame(mn="S1", minute=1), _frame(mn="S2", minute=1), _frame(mn="S1", minute=1),
                               b"##0010notaframe\r\n"]))
    assert main(["monitor", "ingest", str(path), "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "3 packets (2 new, 1 already stored), 4 records, 1 rejected (length_mismatch 1)" in out
    assert main(["monitor", "ingest", str(path), "--db", db_url]) == 0
    assert "skipped, already ingested" in capsys.readouterr().out
    assert main(["monitor", "stats", "--db", db_url, "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["packets_accepted"], s["packets_stored"], s["records"], s["stations"]) == (3, 2, 4, 2)
    assert s["rejected_by_reason"] == {"length_mismatch": 1} and s["schema_version"] == "0003"
    assert main(["monitor", "stats", "--db", db_url]) == 0
    text = capsys.readouterr().out
    assert "packets accepted: 3 (2 stored, 1 duplicates)" in text and "stations: 2" in text


def test_cli_stats_missing_database_json(tmp_path, capsys):
    import json

    from ecopatrol.cli import main

    assert main(["monitor", "stats", "--db", f"sqlite:///{tmp_path}/none.db", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == 1 and "no such database" in doc["error"]


def test_cli_default_database_from_env(tmp_path, monkeypatch, capsys):
    from ecopatrol.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ECOPATROL_DB", raising=False)
    (tmp_path / "a.h212").write_bytes(_frame())
    assert main(["monitor", "ingest", "a.h212"]) == 0
    assert (tmp_path / "ecopatrol.db").exists()
    monkeypatch.setenv("ECOPATROL_DB", f"sqlite:///{tmp_path}/env.db")
    assert main(["monitor", "ingest", "a.h212"]) == 0
    assert (tmp_path / "env.db").exists()
    capsys.readouterr()


def test_cli_serve_until_sigterm(tmp_path):
    """``monitor serve`` on port 0: a packet asking for an answer gets 9014, SIGTERM stops it cleanly."""
    db = f"sqlite:///{tmp_path}/serve.db"
    proc, listening = start_serve(db, "--summary-every", "1")
    try:
        got = ask_answer(int(listening.group(1)), _frame(mn="CLI", ack=True, qn_ms=5))
        assert decode(got).packet.cn == "9014"
        time.sleep(1.5)  # one summary line
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "connection(s) open" in err and "stopped" in err
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.monitor.stats import database_stats

    e = open_database(db, migrate=False)
    assert database_stats(e)["packets_accepted"] == 1
    e.dispose()


def test_monitor_help_stays_light():
    code = ("import sys, ecopatrol.cli; "
            "print([m for m in ('sqlalchemy', 'alembic', 'psycopg', 'pandas', 'asyncio') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_nul_bytes_in_text_fields(engine):  # noqa: F811
    """A real packet has ST=\\x00\\x00 (valid CRC): PostgreSQL text holds no NUL, so text columns get the
    four characters \\x00 on every database, and ``raw`` keeps the bytes."""
    from sqlalchemy import select

    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.receiver import Receiver

    frame = encode(make_packet(st="\x00\x00", cn="2051", mn="NUL1", data_time="20160824040000",
                               values={"B02": {"Avg": 1.0}}))

    async def main():
        rx = Receiver(engine)
        host, port = await rx.start("127.0.0.1", 0)
        _, w = await asyncio.open_connection(host, port)
        w.write(frame)
        await w.drain()
        w.close()
        await w.wait_closed()
        await rx.stop()
        return rx.stats

    st = asyncio.run(asyncio.wait_for(main(), 30))
    assert st.packets == 1 and not st.rejected and st.write_errors == 0
    with engine.connect() as c:
        assert c.execute(select(S.stations.c.st)).scalar_one() == "\\x00\\x00"
        assert bytes(c.execute(select(S.hj212_packets.c.raw)).scalar_one()) == frame.rstrip(b"\r\n")
