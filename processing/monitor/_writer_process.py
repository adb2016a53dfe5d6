"""The receiver's writer process: decoding, rows, commits and the answers' bytes, off the event loop's GIL.

The server process keeps the asyncio front end (reads, framing, the bounded queue, group batches,
writing the answers). Each batch goes to **one writer process** over a local socket pair as a
pickle of its chunks' frames; the process

- in its **main thread** receives the batches, decodes them (``decode_lines``), builds their rows
  (:meth:`PacketStore.prepare`), encodes the answers the packets ask for, and executes the
  statements of the next transaction — every batch decoded by the time the previous commit ended,
  in one transaction (:meth:`PacketStore.stage_batch`);
- hands that open transaction to a **committing thread**, which only commits it (the WAL write and
  the fsync, during which it holds no GIL) while the main thread decodes what arrives next — so the
  two threads hardly ever want the GIL at once (the committing thread wants it for a moment after
  each fsync: the switch interval is 0.5 ms here) — and then
- sends back, **after the commit returned**, the ids of the committed batches, what they stored
  and the answers' bytes per chunk. The server writes an answer only when that message arrived:
  durable before answered, as with the thread writer. The main thread stages nothing new until
  that commit has ended.

A failed commit (the database down, locked or full) is retried in the process with the same
back-off as the thread writer, the batch unanswered meanwhile; each failure is reported to the
server (``write_errors``). When the process dies, the server sees the socket close: it answers
nothing more, closes every connection (the loggers keep their unanswered packets and send them
again) and stops with :class:`WriterDiedError` (``monitor serve`` exits non-zero).

The wire format, both ways: 4-byte big-endian length, then a pickle. Only this package's two ends
speak it, over a socket pair made by the server.

Profiling: with ``ECOPATROL_WRITER_PROFILE=DIR`` in its environment the process runs each of its two
threads (``main``, ``commit``) under :mod:`cProfile` with a **CPU** clock (``time.thread_time``: a thread
waiting for its socket, the GIL or an fsync is not counted) and writes ``DIR/writer-<pid>-<thread>.prof``
when it ends, with ``DIR/writer-<pid>-threads.json``: each thread's CPU seconds (``thread_time``, without
the profiler when ``ECOPATROL_WRITER_PROFILE_CPROFILE=0``), the main thread's CPU in its two parts
(``prepare``: decoding, rows and answers; ``stage``: the transaction's statements) with the frames each
handled, and the batches and commits.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import pickle
import queue
import socket
import struct
import sys
import threading
import time

from ecopatrol.core.errors import EcopatrolError

log = logging.getLogger(__name__)

_HDR = struct.Struct("!I")
#: SQLite: the writer's connection copies the WAL into the database file (a checkpoint) when the WAL
#: holds this many pages, not at SQLite's default 1 000 (see :func:`_checkpoint_less_often`).
WAL_AUTOCHECKPOINT_PAGES = 10_000


class WriterDiedError(EcopatrolError, RuntimeError):
    """The receiver's writer process ended: nothing it had not reported committed was answered."""


# -- the wire ---------------------------------------------------------------------------------------
def _dump(obj) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HDR.pack(len(data)) + data


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            if got == 0:
                return None
            raise EOFError(f"the server closed the writer's socket after {got} of {n} bytes")
        got += k
    return bytes(buf)


def _recv(sock: socket.socket):
    hdr = _recv_exactly(sock, _HDR.size)
    if hdr is None:
        return None
    body = _recv_exactly(sock, _HDR.unpack(hdr)[0])
    if body is None:
        raise EOFError("the server closed the writer's socket inside a message")
    return pickle.loads(body)


# -- the process ----------------------------------------------------------------------------------
def cache_sizes(store) -> dict[str, int]:
    """Entries in the bounded caches of the decoder and the store in this process (each has its limit):
    parsed stamps and QN prefixes (8 192 each), ``code-Suffix`` keys (50 000), 2017 codes, and the store's
    memo of converted times (4 096)."""
    from ..hj212 import _batch
    from . import store as store_module

    memo = next((c.cell_contents for c in (getattr(store._time, "__closure__", None) or ())
                 if isinstance(c.cell_contents, dict)), {})
    return {"stamps": len(_batch._TIMES.stamps), "qn_prefixes": len(_batch._TIMES.qn_ok),
            "keys": len(store_module._KEYS), "codes_2017": len(store_module._C17), "times_memo": len(memo)}


def writer_main(sock: socket.socket) -> None:
    """The writer process (see the module docstring): until the server closes the socket. Its settings
    come as the first message (the database URL may hold a password: never on the command line)."""
    url, log_level, answer, max_batch_packets = _recv(sock)
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s hj212-writer[%(process)d] %(message)s")
    from ecopatrol.core.db import open_database

    from .store import PacketStore

    try:
        engine = open_database(url, migrate=False)
    except Exception as exc:
        sock.sendall(_dump(("failed", f"{type(exc).__name__}: {exc}")))
        return
    if engine.dialect.name == "sqlite":
        from sqlalchemy import event

        event.listen(engine, "connect", _checkpoint_less_often)
        engine.dispose()  # a connection pooled before the listener would not have the setting
    store = PacketStore(engine, keep_connection=True)  # one connection for the process's life
    # this process holds only batches in flight: the modules loaded so far are never garbage, and a
    # batch's rows (thousands of lists) would otherwise start a young-generation collection every 700
    # allocations, scanning them again and again (as ingest_file pauses the collector for its batches)
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    # the committing thread needs the GIL back for a moment after each fsync, while the main thread
    # decodes: it waits at most this long for it (the default 5 ms would add to every round trip)
    sys.setswitchinterval(0.0005)
    sock.sendall(_dump(("ready", os.getpid())))
    w = _Writer(sock, store, answer=answer, max_batch_packets=max_batch_packets)
    try:
        w.prof.run("main", w.run)
    finally:
        w.stop()
        store.close()
        engine.dispose()
        sock.close()
        w.prof.write(w.counts)


def _checkpoint_less_often(dbapi_conn, _record) -> None:
    """The writer's SQLite connections checkpoint at :data:`WAL_AUTOCHECKPOINT_PAGES`. The receiver's
    transactions of a hundred packets each change ~2.5 pages a packet, mostly the same leaf pages of
    the three indexes again and again; a checkpoint writes each page changed since the one before
    once, so rarer checkpoints write far fewer pages in all (offline on a growing database, 100 packets
    a commit: the commit's CPU 52–54 → 36 µs a packet). The WAL file grows to about 40 MB and stays
    that size (SQLite reuses it). Durability is unchanged: it is the WAL's fsync at every commit."""
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")


class _Inbox:
    """The server's batches as they arrive on the socket: :meth:`read` takes whatever bytes are there."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def read(self) -> list:
        """The complete messages received so far (call when the socket is readable: at least one recv
        returns at once; the rest are not waited for)."""
        flags = 0
        while True:
            try:
                data = self.sock.recv(1 << 20, flags)
            except BlockingIOError:
                break
            if not data:
                self.eof = True
                break
            self.buf += data
            flags = socket.MSG_DONTWAIT
        out, buf, at = [], self.buf, 0
        while len(buf) - at >= _HDR.size:
            n = _HDR.unpack_from(buf, at)[0]
            if len(buf) - at - _HDR.size < n:
                break
            out.append(pickle.loads(memoryview(buf)[at + _HDR.size:at + _HDR.size + n]))
            at += _HDR.size + n
        del buf[:at]
        if self.eof and buf:
            log.error("the server closed the writer's socket inside a message (%d bytes dropped)", len(buf))
            buf.clear()
        return out


class _Commit:
    """A staged transaction handed to the committing thread, and what to report once it is committed."""

    __slots__ = ("ids", "items", "answers", "staged", "error")

    def __init__(self, ids, items, answers, staged) -> None:
        self.ids, self.items, self.answers, self.staged = ids, items, answers, staged
        self.error: BaseException | None = None


class _Writer:
    """The writer process's work, in **one thread** for everything that needs the GIL — receive, decode,
    rows, answers' bytes, the statements of the next transaction — and a second thread that only
    commits (the fsync, without the GIL) and then reports. While a transaction commits, the main thread
    decodes what arrives; when the commit ends, everything decoded by then (and whatever else is in the
    socket) becomes the next transaction: the commit grows with the load, and the two threads hardly
    ever want the GIL at once (the SQL statements run in the main thread, never beside the decoding)."""

    def __init__(self, sock: socket.socket, store, *, answer: bool, max_batch_packets: int) -> None:
        self.sock, self.store, self.answer, self.max_batch_packets = sock, store, answer, max_batch_packets
        self.inbox = _Inbox(sock)
        self.send_lock = threading.Lock()
        self.ready: list = []          # prepared batches: (batch_id, items, answers per chunk)
        self.n_ready = 0
        self.inflight: _Commit | None = None
        self.counts = {"batches": 0, "commits": 0, "items": 0}
        self.prof = _Profile()
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._done_r, self._done_w = os.pipe()
        self._thread = threading.Thread(target=self.prof.run, args=("commit", self._commit_loop),
                                        name="hj212-commit", daemon=True)
        self._thread.start()

    # -- the main thread --------------------------------------------------------------------------------
    def run(self) -> None:
        import select

        while True:
            if self.inflight is None and self.ready:
                self._stage()
                continue
            if self.inbox.eof and self.inflight is None:
                return
            wait = []
            if not self.inbox.eof and self.n_ready < self.max_batch_packets:
                wait.append(self.sock)
            if self.inflight is not None:
                wait.append(self._done_r)
            readable = select.select(wait, [], [])[0]
            if self._done_r in readable:
                os.read(self._done_r, 1)
                job, self.inflight = self.inflight, None
                if job.error is not None:
                    self._retry(job)
                if not self.inbox.eof and select.select([self.sock], [], [], 0)[0]:
                    self._prepare(self.inbox.read())  # what came meanwhile joins the next transaction
            elif self.sock in readable:
                self._prepare(self.inbox.read())

    def _prepare(self, msgs: list) -> None:
        """Decode, rows and answers of the batches received, all at once (one ``decode_lines``)."""
        if not msgs:
            return
        from .receiver import prepare_chunks

        t0 = self.prof.clock()
        chunks = [c for _, cs in msgs for c in cs]
        items, answers = prepare_chunks(self.store, chunks, answer=self.answer)
        at_c = at_i = 0
        for bid, cs in msgs:
            n_items = sum(len(c[3]) for c in cs)  # one item per frame
            self.ready.append((bid, items[at_i:at_i + n_items], answers[at_c:at_c + len(cs)]))
            at_i += n_items
            at_c += len(cs)
        self.n_ready += len(items)
        self.prof.add("prepare", t0, len(items))

    def _stage(self) -> None:
        """The ready batches as one transaction: its statements here, its commit in the committing thread."""
        from .receiver import stage_items

        group, self.ready, self.n_ready = self.ready, [], 0
        items = [it for g in group for it in g[1]]
        ids, answers = [g[0] for g in group], [g[2] for g in group]
        t0 = self.prof.clock()
        try:
            staged, res = stage_items(self.store, items)
        except Exception as exc:  # the database is down, locked or full: nothing staged
            self._write_error(len(items), exc)
            staged, res = None, self._write_retrying(items)
        self.prof.add("stage", t0, len(items))
        self.counts["batches"] += len(group)
        if staged is None:  # refused content, written one by one (or after the retries): committed
            self._report(ids, res, items, answers)
            return
        self.inflight = job = _Commit(ids, items, answers, staged)
        self._todo.put(job)

    def _retry(self, job: _Commit) -> None:
        """The commit failed (rolled back: nothing of it stored): write the batch again until it is stored,
        unanswered meanwhile (the server's socket fills, and backpressure holds the loggers)."""
        self._write_error(len(job.items), job.error)
        self._report(job.ids, self._write_retrying(job.items), job.items, job.answers)

    def _write_retrying(self, items):
        """Wait, then write ``items`` in their own transaction, doubling the wait (to 10 s) after each failure."""
        from .receiver import write_items

        delay = 0.2
        while True:
            time.sleep(delay)
            try:
                return write_items(self.store, items)
            except Exception as exc:
                self._write_error(len(items), exc)
                delay = min(delay * 2, 10.0)

    def _write_error(self, n_items: int, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.error("database write of %d frames failed (%s); retrying, nothing is answered until it is stored",
                  n_items, text)
        with self.send_lock:
            self.sock.sendall(_dump(("write_error", n_items, text)))

    def stop(self) -> None:
        self._todo.put(None)
        self._thread.join(60)

    # -- both threads ---------------------------------------------------------------------------------
    def _report(self, ids, res, items, answers) -> None:
        """Committed: now the server may answer."""
        summary = {"packets": res.packets, "packets_new": res.packets_new, "duplicates": res.packets_duplicate,
                   "records": res.records, "rejected": dict(res.rejected_by_reason), "seconds": res.seconds,
                   "items": len(items), "caches": cache_sizes(self.store)}
        self.counts["commits"] += 1
        self.counts["items"] += len(items)
        msg = _dump(("committed", ids, summary, answers))
        with self.send_lock:
            self.sock.sendall(msg)

    # -- the committing thread ----------------------------------------------------------------------------
    def _commit_loop(self) -> None:
        while True:
            job = self._todo.get()
            if job is None:
                return
            try:
                res = job.staged.commit()  # the fsync: durable when it returns
            except BaseException as exc:  # rolled back; the main thread writes it again
                job.error = exc
            else:
                try:
                    self._report(job.ids, res, job.items, job.answers)
                except OSError:
                    pass  # the server is gone: the main thread sees the socket close
            os.write(self._done_w, b"x")


class _Profile:
    """``ECOPATROL_WRITER_PROFILE=DIR``: each thread's CPU (``thread_time``) and, unless
    ``ECOPATROL_WRITER_PROFILE_CPROFILE=0``, its cProfile on the same CPU clock (see the module docstring)."""

    def __init__(self) -> None:
        self.dir = os.environ.get("ECOPATROL_WRITER_PROFILE", "")
        self.cprofile = os.environ.get("ECOPATROL_WRITER_PROFILE_CPROFILE", "1") != "0"
        self.cpu: dict[str, float] = {}
        self.parts: dict[str, list] = {}  # the main thread's parts: [CPU seconds, items]
        if not self.dir:
            self.clock = _zero  # no cost when not profiling
            self.add = _ignore

    def clock(self) -> float:
        return time.thread_time()

    def add(self, part: str, t0: float, n: int) -> None:
        p = self.parts.setdefault(part, [0.0, 0])
        p[0] += time.thread_time() - t0
        p[1] += n

    def run(self, name: str, fn) -> None:
        if not self.dir:
            return fn()
        import cProfile

        p = cProfile.Profile(time.thread_time) if self.cprofile else None
        t0 = time.thread_time()
        try:
            return p.runcall(fn) if p is not None else fn()
        finally:
            self.cpu[name] = time.thread_time() - t0
            if p is not None:
                p.dump_stats(os.path.join(self.dir, f"writer-{os.getpid()}-{name}.prof"))

    def write(self, counts: dict) -> None:
        if not self.dir:
            return
        for _ in range(50):  # the committing thread ends after the main one
            if "commit" in self.cpu:
                break
            time.sleep(0.02)
        with open(os.path.join(self.dir, f"writer-{os.getpid()}-threads.json"), "w") as f:
            json.dump({"thread_cpu_s": self.cpu, "main_thread_parts": self.parts,
                       "process_cpu_s": time.process_time(), **counts}, f)


def _zero() -> float:
    return 0.0


def _ignore(part: str, t0: float, n: int) -> None:
    pass


# -- the server's end -------------------------------------------------------------------------------
class WriterProcess:
    """The server's handle on its writer process: ``await start()``, ``submit(chunks)`` → a future of
    ``(summary, answers per chunk)`` resolved after the commit, ``await close()``."""

    def __init__(self, url: str, *, answer: bool = True, max_batch_packets: int = 2000,
                 on_write_error=None, on_died=None, start_timeout_s: float = 120.0) -> None:
        self.url = url
        self.answer = answer
        self.max_batch_packets = max_batch_packets
        self.on_write_error = on_write_error
        self.on_died = on_died
        self.start_timeout_s = start_timeout_s
        self.process = None
        self.pid: int | None = None
        self.died: str = ""  # why, once it ended unexpectedly
        self._pending: dict[int, asyncio.Future] = {}
        self._next = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self._closing = False

    async def start(self) -> int:
        import subprocess
        import sys

        # a new interpreter (never a fork of a process running an event loop and threads), which
        # imports only this module, not the caller's main script
        ours, theirs = socket.socketpair()
        level = logging.getLogger("ecopatrol").getEffectiveLevel()
        self.process = subprocess.Popen([sys.executable, "-m", __name__, str(theirs.fileno())],
                                        pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._reader, self._writer = await asyncio.open_connection(sock=ours, limit=1 << 24)
        self._writer.write(_dump((self.url, level, self.answer, self.max_batch_packets)))
        try:
            msg = await asyncio.wait_for(self._read(), self.start_timeout_s)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            await self._reap()
            raise WriterDiedError(f"the receiver's writer process did not start (exit code {self.process.returncode})") \
                from exc
        if msg[0] != "ready":
            await self._reap()
            raise WriterDiedError(f"the receiver's writer process could not open the database: {msg[1]}")
        self.pid = msg[1]
        self._task = asyncio.create_task(self._read_loop(), name="hj212-writer-results")
        return self.pid

    async def _read(self):
        hdr = await self._reader.readexactly(_HDR.size)
        return pickle.loads(await self._reader.readexactly(_HDR.unpack(hdr)[0]))

    def submit(self, chunks: list) -> asyncio.Future:
        """Send one batch (``[(peer, received_utc, closed, frames)…]``); the future resolves after its commit."""
        fut = asyncio.get_running_loop().create_future()
        if self.died:
            fut.set_exception(WriterDiedError(self.died))
            return fut
        bid = self._next
        self._next += 1
        self._pending[bid] = fut
        self._writer.write(_dump((bid, chunks)))
        return fut

    async def drain(self) -> None:
        if not self.died:
            try:
                await self._writer.drain()
            except (ConnectionError, OSError):
                pass  # the read loop reports the death

    async def _read_loop(self) -> None:
        try:
            while True:
                msg = await self._read()
                if msg[0] == "committed":
                    _, ids, summary, answers = msg
                    for k, bid in enumerate(ids):
                        fut = self._pending.pop(bid)
                        if not fut.done():
                            fut.set_result((summary if k == 0 else None, answers[k]))
                elif msg[0] == "write_error" and self.on_write_error is not None:
                    self.on_write_error(msg[1], msg[2])
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        if self._closing and not self._pending:
            return
        await asyncio.to_thread(self._wait, 5)
        self.died = (f"the receiver's writer process (pid {self.pid}) ended with exit code {self.process.returncode}: "
                     f"{len(self._pending)} batch(es) not committed or not reported are not answered")
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(WriterDiedError(self.died))
        self._pending.clear()
        if self.on_died is not None:
            self.on_died(self.died)

    async def close(self, timeout_s: float = 60.0) -> None:
        """After every submitted batch was answered: end the process (it commits what it holds first)."""
        self._closing = True
        if self._writer is not None and not self._writer.is_closing():
            try:
                self._writer.write_eof()
            except (OSError, RuntimeError):
                pass
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
            except TimeoutError:
                log.warning("the writer process did not end within %.0f s: terminated", timeout_s)
        await self._reap()

    async def _reap(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self.process is not None:
            await asyncio.to_thread(self._wait, 10)
            if self.process.returncode is None:  # pragma: no cover - stuck in the database
                self.process.terminate()
                await asyncio.to_thread(self._wait, 5)

    def _wait(self, timeout_s: float) -> None:
        import subprocess

        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pass


if __name__ == "__main__":
    import sys

    writer_main(socket.socket(fileno=int(sys.argv[1])))
