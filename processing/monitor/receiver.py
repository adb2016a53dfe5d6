"""The HJ 212 receiver: an asyncio TCP server for many data loggers, storing every frame before it answers.

Each connection's byte stream is cut into frames by the codec's
:class:`~ecopatrol.processing.hj212.StreamFramer` (packets split across reads, several in one read,
garbage between them) on the event loop. Everything goes through one bounded queue to **one
writer**, which decodes whole batches (:func:`~ecopatrol.processing.hj212._batch.decode_lines`, the
same results as ``decode``), builds their rows (:meth:`PacketStore.prepare`) and commits them:

- ``writer="process"`` (the default): a separate **writer process**
  (:mod:`._writer_process`) does the decoding, the rows, the commits and the answers' bytes, so the
  event loop and the writer do not share one GIL; the event loop writes a batch's answers when the
  process reports its commit. If the process dies, nothing more is answered, every connection is
  closed and :func:`serve` raises :class:`WriterDiedError`;
- ``writer="thread"``: the previous design, the same work in a thread of this process.

- **connections** are handled at the protocol level (:class:`asyncio.Protocol`): each read is framed
  and queued in ``data_received``, without a stream reader or a task per connection;
- **group commit** — the writer takes what the queue holds from all connections (the thread writer
  waiting up to ``max_batch_delay_s``, 2 ms, for more when it is nearly empty; the writer process
  needs no wait, it joins every batch ready when a commit ends; at most ``max_batch_packets``),
  commits it in one transaction on one database connection, in the writer process or thread,
  and only then writes the answers of that batch: **durable before answered**. While a batch
  commits, the next one gathers, so the batch grows with the load and one fsync serves them all;
- **answers** — a packet whose Flag asks (bit A) gets :func:`reply_for`: 9014 (data answer) for
  uploads, 9013 (notice answer) for the time-calibration notice 1013, 9011 with QnRtn=2 (refused)
  for a command sent to the platform; never an answer to an answer. Rejected frames get none
  (their MN and QN cannot be trusted): the logger sends them again;
- **backpressure** — the queue is bounded: when the database falls behind, connections stop
  being read, and TCP slows the loggers down. Per connection only the framer's buffer (bounded by
  the codec) and the unanswered batches are held: memory stays flat however long the streams;
- **nothing lost** — a connection cut mid-packet leaves its partial frame in ``hj212_rejected``
  (reason ``connection_closed``); the frames before it are stored. A failed commit is retried
  (the batch waits, unanswered; the queue fills and backpressure holds the loggers); a batch the
  database refuses for its content is written packet by packet, and a packet it still refuses
  is stored as rejected (reason ``store_error``, its bytes kept).

:func:`run_server` runs it until SIGINT/SIGTERM and logs one summary line a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from typing import Literal

from ..hj212 import Packet, StreamFramer, codes, decode_lines, encode_many, encode_segments, make_reply
from ._writer_process import WriterDiedError, WriterProcess
from .store import REASON_CLOSED, PacketStore, Received

log = logging.getLogger(__name__)

REASON_STORE = "store_error"
_START = re.compile(rb"##\d{4}")


def reply_for(packet: Packet) -> Packet | None:
    """The answer the platform owes ``packet``, or ``None`` when its Flag does not ask (bit A) or it is an answer.

    HJ 212-2017 §6.4 (the same codes in HJ/T 212-2005): uploads — data, status, alarms, the
    "get / upload" commands' uploads, heartbeats — are answered 9014 (data answer); the field
    machine's time-calibration notice 1013 is answered 9013 (notice answer); any other command
    sent to the platform is a request it does not carry out: 9011 with QnRtn=2 (request refused).
    The answers 9011–9014 themselves are never answered.
    """
    if not packet.ack_requested or packet.cn in codes.REPLY_CNS:
        return None
    if packet.cn == "1013":
        return make_reply(packet, "9013")
    name = packet.command_name or ""
    if packet.kind == "request" and not name.startswith("get / upload"):
        return make_reply(packet, "9011", QnRtn=2)
    return make_reply(packet, "9014")


_REPLY_KIND: dict[str, tuple[str, str] | None] = {}  # CN → (the answer's CN, its CP after the QN), None: no answer


def _reply_kind(cn: str) -> tuple[str, str] | None:
    try:
        return _REPLY_KIND[cn]
    except KeyError:
        pass
    if cn in codes.REPLY_CNS:
        kind = None
    elif cn == "1013":
        kind = ("9013", "")
    else:
        name, what = codes.command(cn)[:2]
        kind = ("9011", "QnRtn=2") if what == "request" and not (name or "").startswith("get / upload") else ("9014", "")
    if len(_REPLY_KIND) >= 4096:  # bounded: a stream of invented CNs cannot grow it
        _REPLY_KIND.clear()
    _REPLY_KIND[cn] = kind
    return kind


def reply_segment(packet: Packet) -> str | None:
    """``data_segment(reply_for(packet))`` (``None`` when no answer is owed) written straight as text,
    without the answer's :class:`Packet` (a test keeps the two equal on real traffic and edge cases)."""
    flag = packet.flag
    if flag is None or not flag & 1:
        return None
    kind = _reply_kind(packet.cn)
    if kind is None:
        return None
    cn, more = kind
    qn, pw, mn = packet.qn, packet.pw, packet.mn
    head = f"QN={qn};ST=91;CN={cn}" if qn is not None else f"ST=91;CN={cn}"
    if pw is not None:
        head += f";PW={pw}"
    if mn is not None:
        head += f";MN={mn}"
    if qn:
        cp = f"QN={qn},{more}" if more else f"QN={qn}"
    else:
        cp = more
    return f"{head};Flag={flag & ~3};CP=&&{cp}&&"


def _received(frames_decoded, now: datetime, peer: str, closed: str, prepare) -> list[Received]:
    """One chunk's :class:`Received`, rows prepared; ``closed``: the connection ended after these bytes, so a
    frame begun and not finished is rejected as cut (``connection_closed``)."""
    items = []
    for d in frames_decoded:
        if closed and _START.match(d.raw):
            items.append(Received(d.raw, now, peer, None, REASON_CLOSED,
                                  f"{closed} mid-packet after {len(d.raw)} bytes ({d.reason}: {d.detail})"))
        elif d.packet is None:
            items.append(Received(d.raw, now, peer, None, d.reason, d.detail))
        else:
            items.append(prepare(Received(d.raw, now, peer, d.packet)))
    return items


def prepare_chunks(store: PacketStore, chunks, *, answer: bool = True) -> tuple[list[Received], list[tuple[bytes, int]]]:
    """The writer process's half of a batch before its commit: ``chunks`` (``(peer, received_utc, closed,
    frames)`` each) decoded at once (``decode_lines``), their rows prepared, and per chunk the bytes of
    the answers its packets ask for and how many (sent only after the commit)."""
    decoded = decode_lines([f for c in chunks for f in c[3]])
    items: list[Received] = []
    replies: list[list[str]] = []
    at = 0
    for peer, now, closed, frames in chunks:
        its = _received(decoded[at:at + len(frames)], now, peer, closed, store.prepare)
        at += len(frames)
        items += its
        replies.append([r for r in map(reply_segment, (it.packet for it in its if it.packet is not None))
                        if r is not None] if answer else [])
    encoded = encode_segments([r for rs in replies for r in rs])
    answers, at = [], 0
    for rs in replies:
        answers.append((b"".join(encoded[at:at + len(rs)]), len(rs)))
        at += len(rs)
    return items, answers


def write_items(store: PacketStore, items: list[Received]):
    """One transaction for the batch. A batch the database refuses for its content (not a lost
    connection) is written packet by packet; a packet still refused is stored as rejected with the
    reason, so the rest of the batch is not held back by it. A lost or locked database raises."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    try:
        return store.write_batch(items)
    except (OperationalError, InterfaceError, DisconnectionError):
        raise
    except Exception as exc:
        return _refused(store, items, exc)


def stage_items(store: PacketStore, items: list[Received]):
    """:func:`write_items` in two steps: ``(staged, None)`` — the batch's statements executed, its transaction
    open until ``staged.commit()`` (:meth:`PacketStore.stage_batch`) — or, when the database refuses the
    batch's content, ``(None, result)``: written packet by packet as :func:`write_items` does, **already
    committed**. A lost or locked database raises (nothing staged)."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    try:
        return store.stage_batch(items), None
    except (OperationalError, InterfaceError, DisconnectionError):
        raise
    except Exception as exc:
        return None, _refused(store, items, exc)


def _refused(store: PacketStore, items: list[Received], exc: Exception):
    """After the database refused ``items`` in one transaction for their content: one by one."""
    if len(items) == 1:
        it = items[0]
        log.error("%s: the database refuses this packet (%s): stored as rejected", it.peer, exc)
        return store.write_batch([Received(it.raw, it.received_utc, it.peer, None, REASON_STORE,
                                           f"{type(exc).__name__}: {exc}"[:2000], it.line)])
    log.error("database refused a batch of %d frames (%s): writing them one by one", len(items), exc)
    total = None
    for it in items:
        r = write_items(store, [it])
        if total is None:
            total = r
        else:
            for k in ("packets", "packets_new", "packets_duplicate", "records", "rejected", "seconds"):
                setattr(total, k, getattr(total, k) + getattr(r, k))
            total.rejected_by_reason.update(r.rejected_by_reason)
    return total


@dataclass
class ReceiverStats:
    """Counters since the receiver started (:meth:`Receiver.summary` formats the changes)."""

    connections_open: int = 0
    connections_total: int = 0
    connections_refused: int = 0
    connections_idle_closed: int = 0
    bytes_in: int = 0
    packets: int = 0
    packets_new: int = 0
    duplicates: int = 0
    records: int = 0
    rejected: Counter = field(default_factory=Counter)
    answers: int = 0
    answers_undelivered: int = 0
    batches: int = 0
    largest_batch: int = 0
    commit_seconds: float = 0.0
    write_errors: int = 0

    def snapshot(self) -> dict:
        d = dict(self.__dict__)
        d["rejected"] = dict(self.rejected)
        return d


class _Conn(asyncio.Protocol):
    """One logger's connection, at the protocol level (no stream reader, no task per connection): each
    read is framed at once and its frames queued for the writer; at the end of the stream (EOF, a
    reset, :meth:`stop_reading`) a frame begun is queued as cut, and the transport closes once the
    answers of everything it sent were written."""

    __slots__ = ("rx", "peer", "transport", "framer", "outstanding", "last_rx", "closing", "ended", "lost",
                 "finished", "paused")

    def __init__(self, rx: Receiver) -> None:
        self.rx = rx
        self.peer = ""
        self.transport = None
        self.framer = StreamFramer(defer_checks=True)  # length and CRC checked by the writer, for a whole batch
        self.outstanding = 0  # chunks queued and not yet committed
        self.last_rx = time.monotonic()
        self.closing = ""     # why we close it (idle, stop)
        self.ended = False    # no more reads: the tail was queued
        self.lost = False     # the transport is gone
        self.finished = False
        self.paused = False   # reading paused: the writer's queue is full

    # -- asyncio.Protocol ------------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        rx = self.rx
        self.transport = transport
        if rx._stopping or rx.failure or len(rx._conns) >= rx.max_connections:
            rx.stats.connections_refused += 1
            self.ended = self.finished = True
            transport.close()
            return
        self.peer = _peer(transport)
        rx._conns.add(self)
        st = rx.stats
        st.connections_open += 1
        st.connections_total += 1

    def data_received(self, data: bytes) -> None:
        if self.ended:
            return
        self.last_rx = time.monotonic()
        self.rx.stats.bytes_in += len(data)
        frames = self.framer.feed(data)
        if frames:
            self.rx._submit(self, frames)

    def eof_received(self) -> bool:
        self._end("connection closed")
        return True  # keep the transport: the answers of what was sent are still to be written

    def connection_lost(self, exc) -> None:
        self.lost = True
        self._end("connection closed")
        self._maybe_finish()

    # -- the receiver's side -------------------------------------------------------------------------------
    def stop_reading(self, why: str) -> None:
        """No more reads: what was received is still processed, then the connection closes."""
        if self.closing:
            return
        self.closing = why
        if not self.transport.is_closing():
            self.transport.pause_reading()
        self._end(why)

    def _end(self, why: str) -> None:
        if self.ended:
            return
        self.ended = True
        tail = self.framer.flush()
        if tail:
            self.rx._submit(self, tail, closed=self.closing or why)
        self._maybe_finish()

    def release(self) -> None:
        """A chunk of this connection was committed (and answered) or dropped."""
        self.outstanding -= 1
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if not self.ended or self.outstanding > 0 or self.finished:
            return
        if not self.lost:
            if not self.transport.is_closing():
                self.transport.close()  # after the answers buffered: connection_lost follows
            return
        self.finished = True
        rx = self.rx
        rx._conns.discard(self)
        rx.stats.connections_open -= 1
        if rx._stopping and not rx._conns:
            rx._all_closed.set()


@dataclass(slots=True)
class _Chunk:
    """What one read of one connection gave: its frames (checked or not), decoded in the writer thread."""

    conn: _Conn
    frames: list
    received_utc: datetime
    closed: str = ""                 # the connection ended: a frame begun is cut (REASON_CLOSED)
    items: list | None = None        # the Received, once decoded (kept when a commit is retried)


_STOP = object()


def _peer(transport) -> str:
    addr = transport.get_extra_info("peername")
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = addr[0]
        return f"[{host}]:{addr[1]}" if ":" in str(host) else f"{host}:{addr[1]}"
    return str(addr)


class Receiver:
    """An HJ 212 TCP server storing into ``engine``'s database (see the module docstring).

    ``await start(host, port)`` listens (port 0: any free port) and returns the address;
    ``await stop()`` stops listening, finishes what was received, commits and answers it, and
    closes the connections. ``stats`` counts since the start. ``read_bytes`` is kept for callers of
    the stream-based version: the event loop now chooses its read size (the protocol is given what
    each read returned).
    """

    def __init__(self, engine, *, max_batch_packets: int = 2000, max_batch_delay_s: float | None = None,
                 queue_chunks: int = 1024, read_bytes: int = 65536, idle_timeout_s: float = 600.0,
                 max_connections: int = 10_000, answer: bool = True, max_unread_answer_bytes: int = 1 << 20,
                 writer: Literal["process", "thread"] = "process", max_in_flight: int = 8) -> None:
        if max_batch_packets < 1:
            raise ValueError("max_batch_packets must be at least 1")
        if writer not in ("process", "thread"):
            raise ValueError(f"writer must be 'process' or 'thread', not {writer!r}")
        if writer == "process" and engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared with a writer process: use a file, "
                             "or writer='thread'")
        self.engine = engine
        self.writer_mode = writer
        self.max_in_flight = max(1, max_in_flight)
        self.store = PacketStore(engine) if writer == "thread" else None
        self.writer_process: WriterProcess | None = None
        self.failed = asyncio.Event()
        self.failure = ""
        self.writer_caches: dict[str, int] = {}  # the writer process's bounded caches, at its last commit
        self.max_batch_packets = max_batch_packets
        # the thread writer waits a little for more when its queue runs dry (one commit per batch); the
        # writer process needs no wait: it joins every batch that is ready when a commit ends into the next
        self.max_batch_delay_s = (0.002 if writer == "thread" else 0.0) if max_batch_delay_s is None \
            else max_batch_delay_s
        self.read_bytes = read_bytes
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.answer = answer
        self.max_unread_answer_bytes = max_unread_answer_bytes
        self.stats = ReceiverStats()
        self.queue_chunks = queue_chunks
        self._queue: asyncio.Queue = asyncio.Queue()  # bounded by pausing the reads at queue_chunks
        self._paused: list[_Conn] = []
        self._conns: set[_Conn] = set()
        self._all_closed = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hj212-writer")
        self._server: asyncio.base_events.Server | None = None
        self._writer_task: asyncio.Task | None = None
        self._sweeper: asyncio.Task | None = None
        self._stopping = False
        self.address: tuple[str, int] | None = None

    # -- life cycle --------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        if self.writer_mode == "process":
            self.writer_process = WriterProcess(self.engine.url.render_as_string(hide_password=False),
                                                answer=self.answer, max_batch_packets=self.max_batch_packets,
                                                on_write_error=self._write_error, on_died=self._fail)
            await self.writer_process.start()
            self._writer_task = asyncio.create_task(self._writer_proc(), name="hj212-writer")
        else:
            self._writer_task = asyncio.create_task(self._writer(), name="hj212-writer")
        self._server = await asyncio.get_running_loop().create_server(lambda: _Conn(self), host, port,
                                                                      backlog=1024)
        sock = self._server.sockets[0].getsockname()
        self.address = (sock[0], sock[1])
        self._sweeper = asyncio.create_task(self._sweep(), name="hj212-idle")
        return self.address

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop listening, store and answer what was received, close every connection."""
        if self._stopping:
            return
        self._stopping = True
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for c in list(self._conns):
            c.stop_reading("server stopped")
        if self._conns:
            try:
                await asyncio.wait_for(self._all_closed.wait(), timeout_s)
            except TimeoutError:
                log.warning("%d connection(s) did not finish within %.0f s: what they sent and was not "
                            "answered was not stored", len(self._conns), timeout_s)
                for c in list(self._conns):
                    c.transport.abort()
        if self.failure:  # the writer process is gone: nothing left to commit or answer
            if self._writer_task is not None:
                self._writer_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._writer_task
        else:
            await self._queue.put(_STOP)
            if self._writer_task is not None:
                await self._writer_task
        if self.writer_process is not None:
            await self.writer_process.close()
        self._executor.shutdown(wait=True)

    async def __aenter__(self) -> Receiver:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- connections -------------------------------------------------------------------------------
    def _submit(self, conn: _Conn, frames, *, closed: str = "") -> None:
        """Queue one read's frames for the writer; when the queue is full, this connection stops being read
        (TCP then slows the logger) until the writer has taken some."""
        if self.failure:  # the writer is gone: nothing more is stored, nothing answered
            return
        conn.outstanding += 1
        self._queue.put_nowait(_Chunk(conn, frames, datetime.now(UTC), closed))
        if self._queue.qsize() >= self.queue_chunks and not conn.paused and not conn.ended:
            conn.paused = True
            conn.transport.pause_reading()
            self._paused.append(conn)

    def _resume_reading(self) -> None:
        """The writer took chunks: read the paused connections again."""
        if self._paused and self._queue.qsize() < self.queue_chunks:
            paused, self._paused = self._paused, []
            for c in paused:
                c.paused = False
                if not c.ended and not c.transport.is_closing():
                    c.transport.resume_reading()

    def _decode(self, chunk: _Chunk, decoded=None) -> list[Received]:
        """The chunk's frames as :class:`Received`, rows prepared (in the writer thread); ``decoded``:
        ``decode_lines`` of its frames when already done."""
        if chunk.items is not None:
            return chunk.items
        items = _received(decoded if decoded is not None else decode_lines(chunk.frames), chunk.received_utc,
                          chunk.conn.peer, chunk.closed, self.store.prepare)
        chunk.items = items
        return items

    def _decode_and_write(self, batch: list[_Chunk]):
        """Decode every chunk of the batch (one ``decode_lines``: the CRCs of all its frames at once),
        then write it in one transaction (:meth:`_write`)."""
        todo = [c for c in batch if c.items is None]
        decoded = decode_lines([f for c in todo for f in c.frames])
        at = 0
        for c in todo:
            self._decode(c, decoded[at:at + len(c.frames)])
            at += len(c.frames)
        items = [it for c in batch for it in c.items]
        return self._write(items), len(items)

    async def _sweep(self) -> None:
        """Close connections silent for longer than ``idle_timeout_s``."""
        every = max(0.05, min(self.idle_timeout_s / 4, 30.0))
        while True:
            await asyncio.sleep(every)
            cutoff = time.monotonic() - self.idle_timeout_s
            for c in list(self._conns):
                if c.last_rx < cutoff and not c.closing:
                    self.stats.connections_idle_closed += 1
                    log.info("%s: no data for %.0f s, closing", c.peer, self.idle_timeout_s)
                    c.stop_reading("idle timeout")

    # -- the writer --------------------------------------------------------------------------------
    async def _gather(self, chunk: _Chunk) -> tuple[list[_Chunk], bool]:
        """``chunk`` and what else the queue holds (waiting up to ``max_batch_delay_s`` when it runs
        dry), at most ``max_batch_packets`` frames; ``True`` when the stop mark was met."""
        loop = asyncio.get_running_loop()
        q = self._queue
        batch, n = [chunk], len(chunk.frames)
        t_first = loop.time()
        while n < self.max_batch_packets:
            try:
                c = q.get_nowait()
            except asyncio.QueueEmpty:
                wait = self.max_batch_delay_s - (loop.time() - t_first)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)  # let the other connections add theirs
                if q.empty():
                    break
                continue
            if c is _STOP:
                self._resume_reading()
                return batch, True
            batch.append(c)
            n += len(c.frames)
        self._resume_reading()
        return batch, False

    async def _writer(self) -> None:
        """The thread writer: decode, rows and commit of one batch in the writer thread, then its answers."""
        while True:
            chunk = await self._queue.get()
            if chunk is _STOP:
                return
            batch, stop = await self._gather(chunk)
            await self._commit(batch)
            if stop:
                return

    async def _writer_proc(self) -> None:
        """The process writer: each batch goes to the writer process as soon as it is gathered, up to
        ``max_in_flight`` batches unanswered (the process decodes one while it commits another); each
        batch is answered when the process reports its commit."""
        slots = asyncio.Semaphore(self.max_in_flight)
        tasks: set[asyncio.Task] = set()
        wp = self.writer_process
        while not self.failure:
            await slots.acquire()  # while all slots are taken, the queue fills: the next batch grows
            chunk = await self._queue.get()
            if chunk is _STOP or self.failure:
                break
            batch, stop = await self._gather(chunk)
            fut = wp.submit([(c.conn.peer, c.received_utc, c.closed, c.frames) for c in batch])
            t = asyncio.create_task(self._finish(batch, fut))
            tasks.add(t)
            t.add_done_callback(lambda t: (tasks.discard(t), slots.release()))
            await wp.drain()
            if stop:
                break
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _finish(self, batch: list[_Chunk], fut: asyncio.Future) -> None:
        try:
            summary, answers = await fut
        except WriterDiedError:
            return  # _fail closed the connections: nothing of this batch is answered
        st = self.stats
        if summary is not None:  # the first batch of a commit carries the commit's counts
            st.batches += 1
            st.largest_batch = max(st.largest_batch, summary["items"])
            st.commit_seconds += summary["seconds"]
            st.packets += summary["packets"]
            st.packets_new += summary["packets_new"]
            st.duplicates += summary["duplicates"]
            st.records += summary["records"]
            st.rejected.update(summary["rejected"])
            self.writer_caches = summary.get("caches", {})
        for c, (data, n) in zip(batch, answers):  # committed: now answer
            conn = c.conn
            if n:
                self._answer(conn, [data], n)
            conn.release()

    def _write_error(self, n_items: int, text: str) -> None:
        self.stats.write_errors += 1

    def _fail(self, why: str) -> None:
        """The writer process died: answer nothing more, close every connection, let :func:`serve` stop."""
        if self.failure:
            return
        self.failure = why
        log.error("%s; closing every connection (the loggers keep their unanswered packets and send them again)",
                  why)
        if self._server is not None:
            self._server.close()
        for c in list(self._conns):
            c.closing = c.closing or "writer died"
            c.ended = True
            c.outstanding = 0
            c.transport.abort()
        while True:  # what was queued is not stored: dropped
            try:
                self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
        self.failed.set()

    async def _commit(self, batch: list[_Chunk]) -> None:
        loop = asyncio.get_running_loop()
        delay = 0.2
        while True:
            try:
                res, n_items = await loop.run_in_executor(self._executor, self._decode_and_write, batch)
                break
            except Exception as exc:  # the database is down or full: keep the batch, unanswered
                self.stats.write_errors += 1
                n_items = sum(len(c.frames) for c in batch)
                log.error("database write of %d frames failed (%s: %s); retrying in %.1f s, nothing is answered "
                          "until it is stored", n_items, type(exc).__name__, str(exc).splitlines()[0], delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        st = self.stats
        st.batches += 1
        st.largest_batch = max(st.largest_batch, n_items)
        st.commit_seconds += res.seconds
        st.packets += res.packets
        st.packets_new += res.packets_new
        st.duplicates += res.packets_duplicate
        st.records += res.records
        st.rejected.update(res.rejected_by_reason)
        replies = [[r for r in map(reply_for, (it.packet for it in c.items if it.packet is not None)) if r is not None]
                   if self.answer else [] for c in batch]
        frames = encode_many([r for rs in replies for r in rs])  # the answers' CRCs together
        at = 0
        for c, rs in zip(batch, replies):  # committed: now answer
            conn = c.conn
            if rs:
                self._answer(conn, frames[at:at + len(rs)])
                at += len(rs)
            conn.release()

    def _write(self, items: list[Received]):
        """One transaction for the batch (in the writer thread): :func:`write_items`."""
        return write_items(self.store, items)

    def _answer(self, conn: _Conn, answers: list[bytes], n: int | None = None) -> None:
        n = len(answers) if n is None else n
        transport = conn.transport
        if transport.is_closing():
            self.stats.answers_undelivered += n
            return
        transport.write(b"".join(answers) if len(answers) != 1 else answers[0])
        self.stats.answers += n
        if transport.get_write_buffer_size() > self.max_unread_answer_bytes:
            log.warning("%s does not read its answers (%d bytes waiting): closing", conn.peer,
                        transport.get_write_buffer_size())
            conn.stop_reading("unread answers")

    # -- reporting ---------------------------------------------------------------------------------
    def summary(self, since: dict | None = None, seconds: float | None = None) -> str:
        """One line: connections, packets, records, rejected, answers — changes since ``since`` (a
        :meth:`ReceiverStats.snapshot`) when given, and the totals."""
        s = self.stats.snapshot()
        b = since or {k: (0 if not isinstance(v, dict) else {}) for k, v in s.items()}
        rej = Counter(s["rejected"])
        rej.subtract(b["rejected"])
        rej_text = ", ".join(f"{k} {v}" for k, v in sorted(rej.items()) if v) or "none"
        span = f"{seconds:.0f} s: " if seconds is not None else ""
        rate = f" ({(s['packets'] - b['packets']) / seconds:.0f}/s)" if seconds else ""
        return (f"{span}{s['connections_open']} connection(s) open ({s['connections_total'] - b['connections_total']} "
                f"new), {s['packets'] - b['packets']} packets{rate} ({s['duplicates'] - b['duplicates']} duplicates), "
                f"{s['records'] - b['records']} records, {sum(rej.values())} rejected ({rej_text}), "
                f"{s['answers'] - b['answers']} answers, {s['batches'] - b['batches']} commits; "
                f"total {s['packets']} packets, {sum(s['rejected'].values())} rejected")


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::]:PORT`` for IPv6, ``:PORT`` for every interface) → ``(host, port)``."""
    host, sep, port = listen.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {listen!r}: give HOST:PORT, e.g. 0.0.0.0:9212 or 127.0.0.1:9212")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


async def serve(engine, host: str, port: int, *, stop: asyncio.Event | None = None, summary_every_s: float = 60.0,
                **receiver_kw) -> ReceiverStats:
    """Run a :class:`Receiver` until ``stop`` is set, logging :meth:`Receiver.summary` every ``summary_every_s``."""
    stop = stop or asyncio.Event()
    rx = Receiver(engine, **receiver_kw)
    h, p = await rx.start(host, port)
    wp = rx.writer_process
    log.info("HJ 212 receiver listening on %s:%d (%s)", h, p,
             f"writer process {wp.pid}" if wp is not None else "writer thread")
    last, t_last = rx.stats.snapshot(), time.monotonic()
    ended = asyncio.create_task(_first(stop, rx.failed))
    try:
        while not ended.done():
            try:
                await asyncio.wait_for(asyncio.shield(ended), summary_every_s)
            except TimeoutError:
                now = time.monotonic()
                log.info("%s", rx.summary(last, now - t_last))
                last, t_last = rx.stats.snapshot(), now
    finally:
        ended.cancel()
        if not rx.failure:
            log.info("stopping: storing and answering what was received")
        await rx.stop()
        log.info("stopped: %s", rx.summary())
    if rx.failure:
        raise WriterDiedError(f"{rx.failure}; the receiver stopped")
    return rx.stats


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


def event_loop_runner(loop: Literal["auto", "uvloop", "asyncio"] = "auto"):
    """``(run, name)``: ``asyncio.run`` on uvloop's event loop when ``loop`` is ``uvloop``, or ``auto`` and
    uvloop (the ``fast`` extra, >= 0.19) is installed; else on asyncio's own."""
    if loop not in ("auto", "uvloop", "asyncio"):
        raise ValueError(f"loop must be auto, uvloop or asyncio, not {loop!r}")
    if loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                from ecopatrol.core.errors import MissingDependencyError

                raise MissingDependencyError("--loop uvloop: uvloop is not installed "
                                             "(pip install 'ecopatrol[fast]')") from None
        else:
            def run(main):
                with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                    return runner.run(main)

            return run, "uvloop"
    return asyncio.run, "asyncio"


def run_server(engine, listen: str, *, summary_every_s: float = 60.0, loop: str = "auto",
               **receiver_kw) -> ReceiverStats:
    """:func:`serve` on ``listen`` (``HOST:PORT``) until SIGINT or SIGTERM, on :func:`event_loop_runner`'s loop.
    Raises :class:`WriterDiedError` when the writer process died (nothing after its last commit answered)."""
    host, port = parse_listen(listen)
    run, name = event_loop_runner(loop)
    log.info("event loop: %s", name)

    async def main() -> ReceiverStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
                pass
        return await serve(engine, host, port, stop=stop, summary_every_s=summary_every_s, **receiver_kw)

    return run(main())
