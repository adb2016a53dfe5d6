"""The receiver's writer process: answers only after the commit, cuts and reconnects, and its death.

The receiver's default writer is a separate process (``writer="process"``) that decodes, builds the
rows, commits and encodes the answers; the event loop answers a batch only when the process reports
its commit. These tests run it (and the thread writer beside it where both must behave alike) on
SQLite and, with ``ECOPATROL_TEST_PG_URL``, on PostgreSQL (``db_url``, ``engine``: see monitor_support).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from ecopatrol.processing.hj212 import decode
from monitor_support import _count, _frame, ask_answer, db_url, engine, start_serve  # noqa: F401 - the fixtures

WRITERS = ["process", "thread"]


@pytest.mark.parametrize("writer", WRITERS)
def test_answers_only_after_the_commit(tmp_path, writer):
    """While another writer holds SQLite's lock nothing is answered; once it lets go, every packet is stored
    first and answered after, in order."""
    from ecopatrol.core.db import open_database
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.receiver import Receiver

    engine = open_database(f"sqlite:///{tmp_path}/x.db")  # noqa: F811 - not the fixture
    blocker = open_database(f"sqlite:///{tmp_path}/x.db")
    frames = [_frame(mn="A", minute=i, ack=True, qn_ms=i) for i in range(4)]

    async def main():
        rx = Receiver(engine, writer=writer)
        host, port = await rx.start("127.0.0.1", 0)
        lock = blocker.connect().execution_options(sqlite_immediate=True)
        tx = lock.begin()
        r, w = await asyncio.open_connection(host, port)
        w.write(b"".join(frames))
        await w.drain()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(r.read(1), 1.0)
        assert rx.stats.packets == 0 and _count(engine, S.hj212_packets) == 0
        tx.rollback()
        lock.close()
        got = b""
        while got.count(b"\r\n") < 4:
            got += await asyncio.wait_for(r.read(4096), 30)
        stored_at_answer = _count(engine, S.hj212_packets)
        w.close()
        await rx.stop()
        return got, stored_at_answer, rx.stats

    got, stored, st = asyncio.run(asyncio.wait_for(main(), 90))
    assert stored == 4 and st.packets == 4 and st.answers == 4
    answers = [decode(x).packet for x in got.split(b"\r\n") if x]
    assert [a.fields["QN"] for a in answers] == [decode(f.rstrip()).packet.qn for f in frames]
    engine.dispose()
    blocker.dispose()


@pytest.mark.parametrize("writer", WRITERS)
def test_cut_mid_packet_then_reconnect(engine, writer):  # noqa: F811
    """A logger cut in the middle of its third packet reconnects and sends it whole: the two before are
    stored once, the cut bytes are one ``connection_closed`` row, the resent packet is stored and answered."""
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.receiver import Receiver

    frames = [_frame(mn="CUT", minute=i, ack=True, qn_ms=i) for i in range(4)]

    async def main():
        rx = Receiver(engine, writer=writer, max_batch_packets=50)
        host, port = await rx.start("127.0.0.1", 0)
        r, w = await asyncio.open_connection(host, port)
        answers = b""
        for f in frames[:2]:
            w.write(f[:17])
            await w.drain()
            await asyncio.sleep(0.01)
            w.write(f[17:])
            await w.drain()
            while answers.count(b"\r\n") < frames.index(f) + 1:
                answers += await asyncio.wait_for(r.read(4096), 30)
        w.write(frames[2][:40])  # cut here
        await w.drain()
        w.close()
        await w.wait_closed()
        r, w = await asyncio.open_connection(host, port)
        w.write(frames[2] + frames[3])
        await w.drain()
        while answers.count(b"\r\n") < 4:
            answers += await asyncio.wait_for(r.read(4096), 30)
        w.close()
        await w.wait_closed()
        await rx.stop()
        return answers, rx.stats

    answers, st = asyncio.run(asyncio.wait_for(main(), 90))
    qns = [decode(x).packet.fields["QN"] for x in answers.split(b"\r\n") if x]
    assert qns == [decode(f.rstrip()).packet.qn for f in frames]
    assert st.packets == 4 and dict(st.rejected) == {"connection_closed": 1}
    assert _count(engine, S.hj212_packets) == 4
    assert _count(engine, S.hj212_rejected, S.hj212_rejected.c.reason == "connection_closed") == 1


def test_writer_process_death_answers_nothing_and_stops(tmp_path):
    """The writer process killed while a batch waits for the database: that batch is never answered, the
    connection is closed, new connections are refused, and :func:`serve` raises ``WriterDiedError``."""
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.monitor._writer_process import WriterDiedError
    from ecopatrol.processing.monitor.receiver import Receiver

    engine = open_database(f"sqlite:///{tmp_path}/x.db")  # noqa: F811 - not the fixture
    blocker = open_database(f"sqlite:///{tmp_path}/x.db")
    frames = [_frame(mn="D", minute=i, ack=True, qn_ms=i) for i in range(3)]

    async def main():
        rx = Receiver(engine)
        host, port = await rx.start("127.0.0.1", 0)
        lock = blocker.connect().execution_options(sqlite_immediate=True)
        tx = lock.begin()
        r, w = await asyncio.open_connection(host, port)
        w.write(b"".join(frames))
        await w.drain()
        with pytest.raises(TimeoutError):  # the batch is in the process, waiting for the lock: unanswered
            await asyncio.wait_for(r.read(1), 1.5)
        assert rx.stats.packets == 0
        os.kill(rx.writer_process.pid, signal.SIGKILL)
        got = await asyncio.wait_for(r.read(), 30)  # the server closes the connection: EOF, no answer
        await asyncio.wait_for(rx.failed.wait(), 30)
        tx.rollback()
        lock.close()
        with pytest.raises(OSError):  # no longer listening
            await asyncio.open_connection(host, port)
        await rx.stop()
        return got, rx

    got, rx = asyncio.run(asyncio.wait_for(main(), 90))
    assert got == b"" and rx.stats.answers == 0 and rx.stats.packets == 0
    assert "exit code -9" in rx.failure and "not answered" in rx.failure
    from ecopatrol.core.db import schema as S

    assert _count(engine, S.hj212_packets) == 0  # it died before its commit

    async def serve_until_death():
        from ecopatrol.processing.monitor.receiver import serve

        task = asyncio.create_task(serve(engine, "127.0.0.1", 0, summary_every_s=60))
        for _ in range(400):  # wait for the writer process to be up
            await asyncio.sleep(0.05)
            pids = _writer_pids()
            if pids:
                break
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        await asyncio.wait_for(task, 60)

    with pytest.raises(WriterDiedError, match="exit code -9"):
        asyncio.run(serve_until_death())
    engine.dispose()
    blocker.dispose()


def _writer_pids() -> list[int]:
    """This process's children running the writer module."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/cmdline", "rb") as fh:
                cmd = fh.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"_writer_process" in cmd:
            out.append(int(d))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_cli_serve_exits_non_zero_when_the_writer_dies(tmp_path):
    """``monitor serve``: the writer process killed → an error line naming it, exit status 1."""
    proc, listening = start_serve(f"sqlite:///{tmp_path}/serve.db", "--loop", "asyncio")
    try:
        assert listening.group(2), listening.group(0)  # the writer process's pid
        got = ask_answer(int(listening.group(1)), _frame(mn="CLI", ack=True, qn_ms=5))
        assert decode(got).packet.cn == "9014"
        os.kill(int(listening.group(2)), signal.SIGKILL)
        err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "writer process" in err and "exit code -9" in err
    assert "Traceback" not in err


def test_event_loop_choice(monkeypatch):
    """``auto`` takes uvloop when it is installed and asyncio's loop when not; ``uvloop`` without it is a clear error."""
    from ecopatrol.core.errors import MissingDependencyError
    from ecopatrol.processing.monitor.receiver import event_loop_runner

    async def name():
        return type(asyncio.get_running_loop()).__module__

    run, chosen = event_loop_runner("auto")
    try:
        import uvloop  # noqa: F401
    except ImportError:
        assert chosen == "asyncio"
    else:
        assert chosen == "uvloop" and run(name()).startswith("uvloop")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed
    run, chosen = event_loop_runner("auto")
    assert chosen == "asyncio" and run(name()).startswith("asyncio")
    with pytest.raises(MissingDependencyError, match="uvloop"):
        event_loop_runner("uvloop")
    with pytest.raises(ValueError):
        event_loop_runner("trio")


def _received(minute):
    """A data frame of ``minute`` as the receiver hands it to the store."""
    from datetime import UTC, datetime

    from ecopatrol.processing.monitor.store import Received

    raw = _frame(minute=minute).rstrip(b"\r\n")
    return Received(raw, datetime.now(UTC), "test:1", decode(raw).packet)


def test_kept_connection_reopened_after_an_error(engine):  # noqa: F811 - the fixture
    """``PacketStore(keep_connection=True)`` (the writer process's): one connection across batches, each
    batch committed on return (visible to another connection); after a failed batch the connection is
    dropped and the next batch opens a new one; nothing of the failed batch is stored."""

    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.store import PacketStore

    store = PacketStore(engine, keep_connection=True)

    store.write_batch([_received(0)])
    first = store._conn
    store.write_batch([_received(1)])
    assert store._conn is first and _count(engine, S.hj212_packets) == 2  # committed, seen from another connection
    bad = _received(2)
    store.prepare(bad)
    bad.rows[1][5] = None  # mn NOT NULL: the database refuses the batch
    with pytest.raises(engine.dialect.dbapi.IntegrityError):
        store.write_batch([_received(3), bad])
    assert store._conn is None and _count(engine, S.hj212_packets) == 2
    store.write_batch([_received(3)])
    assert store._conn is not None and store._conn is not first and _count(engine, S.hj212_packets) == 3
    store.close()
    assert store._conn is None


def test_staged_batch_committed_from_another_thread(engine):  # noqa: F811 - the fixture
    """``PacketStore.stage_batch``: the statements run, nothing visible to another connection until
    ``commit()`` — which the writer process calls from its committing thread — returns; ``rollback()``
    stores nothing; the counts are those ``write_batch`` gives."""
    import threading

    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.store import PacketStore

    store = PacketStore(engine, keep_connection=True)

    staged = store.stage_batch([_received(0), _received(1), _received(1)])
    assert _count(engine, S.hj212_packets) == 0  # staged, not committed
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("res", staged.commit()))
    t.start()
    t.join(60)
    res = out["res"]
    assert (res.packets, res.packets_new, res.packets_duplicate) == (3, 2, 1)
    assert _count(engine, S.hj212_packets) == 2
    with pytest.raises(RuntimeError):
        staged.commit()  # once only
    dropped = store.stage_batch([_received(2)])
    dropped.rollback()
    assert _count(engine, S.hj212_packets) == 2
    store.write_batch([_received(2)])  # the kept connection goes on after a rollback
    assert _count(engine, S.hj212_packets) == 3
    store.close()


def test_lean_loggers_against_the_receiver(tmp_path):
    """``replay.stop_and_wait_loggers`` (the benchmark's one-thread load generator): stop-and-wait on the
    writer-process receiver, every frame answered with its own QN, cut sessions sent again on a new
    connection; what the loggers sent whole is what the database holds, and each cut is one
    ``connection_closed`` row."""
    from sqlalchemy import func, select

    from ecopatrol.core.db import open_database
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.receiver import Receiver
    from ecopatrol.processing.monitor.replay import stop_and_wait_loggers

    engine = open_database(f"sqlite:///{tmp_path}/x.db")  # noqa: F811 - not the fixture
    cache: dict = {}

    def frame_at(i, k):
        if (i, k) not in cache:
            cache[(i, k)] = _frame(mn=f"L{i}", minute=k % 60, value=k, ack=True, qn_ms=k % 1000)
        return cache[(i, k)]

    async def main():
        rx = Receiver(engine)
        host, port = await rx.start("127.0.0.1", 0)
        out = await asyncio.to_thread(stop_and_wait_loggers, host, port, frame_at, 4, 0.2, session=6,
                                      cut_probability=0.5, seed=3)
        await rx.stop()
        return out

    out = asyncio.run(asyncio.wait_for(main(), 120))
    lg = out["loggers"]
    assert len(lg) == 4 and all(c.connections >= 1 for c in lg)
    assert all(c.answered == c.sent and c.wrong_answers == 0 and c.timed_out == 0 for c in lg)
    cuts = sum(c.cuts for c in lg)
    assert cuts >= 1 and sum(c.connections for c in lg) > cuts
    with engine.connect() as conn:
        stored = conn.execute(select(func.sum(S.hj212_packets.c.copies))).scalar_one()
    assert stored == sum(c.sent for c in lg)
    assert _count(engine, S.hj212_rejected, S.hj212_rejected.c.reason == "connection_closed") == cuts
    assert _count(engine, S.hj212_rejected) == cuts
    assert len(out["latency"]) >= 1
    engine.dispose()


def test_connections_paused_when_the_queue_is_full_idle_closed_and_refused(tmp_path):
    """The receiver's connections (protocol level): with the writer held by SQLite's lock, a full queue
    stops reading the connection (nothing lost: once the lock goes, every frame is stored and answered);
    a connection silent for ``idle_timeout_s`` is closed; one beyond ``max_connections`` is refused."""
    from ecopatrol.core.db import open_database
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.receiver import Receiver

    engine = open_database(f"sqlite:///{tmp_path}/x.db")  # noqa: F811 - not the fixture
    blocker = open_database(f"sqlite:///{tmp_path}/x.db")
    frames = [_frame(mn="BP", minute=i, ack=True, qn_ms=i) for i in range(8)]

    async def main():
        rx = Receiver(engine, writer="thread", queue_chunks=2, idle_timeout_s=0.5, max_connections=1)
        host, port = await rx.start("127.0.0.1", 0)
        lock = blocker.connect().execution_options(sqlite_immediate=True)
        tx = lock.begin()
        r, w = await asyncio.open_connection(host, port)
        for f in frames:  # one read each: one chunk each
            w.write(f)
            await w.drain()
            await asyncio.sleep(0.05)
        for _ in range(100):
            if rx._paused:
                break
            await asyncio.sleep(0.02)
        paused = bool(rx._paused)
        r2, w2 = await asyncio.open_connection(host, port)  # beyond max_connections
        refused = await asyncio.wait_for(r2.read(), 10)
        w2.close()
        tx.rollback()
        lock.close()
        got = b""
        while got.count(b"\r\n") < len(frames):
            got += await asyncio.wait_for(r.read(4096), 30)
        closed = await asyncio.wait_for(r.read(), 10)  # then silence: closed after idle_timeout_s
        w.close()
        await rx.stop()
        return paused, refused, got, closed, rx.stats

    paused, refused, got, closed, st = asyncio.run(asyncio.wait_for(main(), 90))
    assert paused and refused == b"" and closed == b""
    assert [decode(x).packet.fields["QN"] for x in got.split(b"\r\n") if x] == \
        [decode(f.rstrip()).packet.qn for f in frames]
    assert st.connections_refused == 1 and st.connections_idle_closed == 1 and st.connections_open == 0
    assert _count(engine, S.hj212_packets) == len(frames)
    engine.dispose()
    blocker.dispose()


def test_writer_connections_checkpoint_less_often(tmp_path):
    """The writer process's SQLite connections copy the WAL into the database at 10 000 pages, not at
    SQLite's 1 000 (fewer pages written in all; durability is the WAL's fsync at each commit)."""
    import sqlite3

    from ecopatrol.processing.monitor._writer_process import WAL_AUTOCHECKPOINT_PAGES, _checkpoint_less_often

    conn = sqlite3.connect(tmp_path / "x.db")
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    _checkpoint_less_often(conn, None)
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_AUTOCHECKPOINT_PAGES == 10_000
    conn.close()


def test_writer_commit_failure_is_retried_before_any_report(tmp_path):
    """The writer process's loop (``_Writer``, in this process over a socket pair): a commit that fails
    in the committing thread is rolled back, reported as a ``write_error``, written again, and only
    then is the batch reported committed — with its answers; nothing is stored twice."""
    import socket
    import threading
    from datetime import UTC, datetime

    from sqlalchemy.exc import OperationalError

    from ecopatrol.core.db import open_database
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor import _writer_process as W
    from ecopatrol.processing.monitor.store import PacketStore

    engine = open_database(f"sqlite:///{tmp_path}/x.db")  # noqa: F811 - not the fixture
    store = PacketStore(engine, keep_connection=True)
    real_stage = store.stage_batch
    failed = []

    class FailingCommit:
        def __init__(self, staged):
            self.staged = staged

        def commit(self):
            self.staged.rollback()
            failed.append(1)
            raise OperationalError("COMMIT", {}, OSError("disk I/O error"))

    def stage_once_failing(items, **kw):
        staged = real_stage(items, **kw)
        return FailingCommit(staged) if not failed else staged

    store.stage_batch = stage_once_failing
    ours, theirs = socket.socketpair()
    w = W._Writer(theirs, store, answer=True, max_batch_packets=2000)
    t = threading.Thread(target=w.run, daemon=True)
    t.start()
    frames = [_frame(mn="RETRY", minute=i, ack=True, qn_ms=i).rstrip(b"\r\n") for i in range(3)]
    ours.sendall(W._dump((7, [("test:1", datetime.now(UTC), "", frames)])))
    first, second = W._recv(ours), W._recv(ours)
    ours.shutdown(socket.SHUT_WR)  # the server closes: the loop ends
    t.join(30)
    w.stop()
    store.close()
    assert first[0] == "write_error" and first[1] == 3 and "disk I/O error" in first[2]
    assert second[0] == "committed" and second[1] == [7] and second[2]["packets"] == 3
    answers, n = second[3][0][0]
    assert n == 3 and answers.count(b"\r\n") == 3
    assert _count(engine, S.hj212_packets) == 3 and not t.is_alive()
    engine.dispose()
