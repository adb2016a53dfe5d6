"""The receiver's writer process: decoding, rows, commits and the answers' bytes, off the event loop's GIL.

The server process keeps the asyncio front end (reads, framing, the bounded queue, group batches,
writing the answers). Each batch goes to **one writer process** over a local socket pair as a
pickle of its chunks' frames; the process

- decodes and prepares the rows of a batch in one thread (``decode_lines``,
  :meth:`PacketStore.prepare`) and encodes the answers the packets ask for, while
- its main thread commits the batches prepared before (one transaction for whatever is ready,
  :meth:`PacketStore.write_batch`), so one batch's decoding overlaps the previous one's fsync, and
- sends back, **after the commit returned**, the ids of the committed batches, what they stored
  and the answers' bytes per chunk. The server writes an answer only when that message arrived:
  durable before answered, as with the thread writer.

A failed commit (the database down, locked or full) is retried in the process with the same
back-off as the thread writer, the batch unanswered meanwhile; each failure is reported to the
server (``write_errors``). When the process dies, the server sees the socket close: it answers
nothing more, closes every connection (the loggers keep their unanswered packets and send them
again) and stops with :class:`WriterDiedError` (``monitor serve`` exits non-zero).

The wire format, both ways: 4-byte big-endian length, then a pickle. Only this package's two ends
speak it, over a socket pair made by the server.

Profiling: with ``ECOPATROL_WRITER_PROFILE=DIR`` in its environment the process runs each of its two
threads under :mod:`cProfile` with a **CPU** clock (``time.thread_time``: a thread waiting for its
socket, the GIL or an fsync is not counted) and writes ``DIR/writer-<pid>-<thread>.prof`` when it ends,
with ``DIR/writer-<pid>-threads.json``: each thread's CPU seconds (``thread_time``, without the profiler
when ``ECOPATROL_WRITER_PROFILE_CPROFILE=0``) and the batches and commits.
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
import threading
import time

from ecopatrol.core.errors import EcopatrolError

log = logging.getLogger(__name__)

_HDR = struct.Struct("!I")


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

    from .receiver import prepare_chunks, write_items
    from .store import PacketStore

    try:
        engine = open_database(url, migrate=False)
    except Exception as exc:
        sock.sendall(_dump(("failed", f"{type(exc).__name__}: {exc}")))
        return
    store = PacketStore(engine, keep_connection=True)  # one connection for the process's life
    # this process holds only batches in flight: the modules loaded so far are never garbage, and a
    # batch's rows (thousands of lists) would otherwise start a young-generation collection every 700
    # allocations, scanning them again and again (as ingest_file pauses the collector for its batches)
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    sock.sendall(_dump(("ready", os.getpid())))
    jobs: queue.Queue = queue.Queue(maxsize=4)  # prepared batches waiting for their commit
    send_lock = threading.Lock()

    def prepare() -> None:
        try:
            while True:
                msg = _recv(sock)
                if msg is None:
                    break
                batch_id, chunks = msg
                items, answers = prepare_chunks(store, chunks, answer=answer)
                jobs.put((batch_id, items, answers))
        except Exception:  # pragma: no cover - a bug: the server sees the process end
            log.exception("the writer's decoding thread failed")
            os._exit(3)
        finally:
            jobs.put(None)

    prof = _Profile()
    threading.Thread(target=prof.run, args=("decode", prepare), name="hj212-decode", daemon=True).start()
    counts = {"batches": 0, "commits": 0, "items": 0}

    def commit_loop() -> None:
        done = False
        while not done:
            job = jobs.get()
            if job is None:
                break
            group, n = [job], len(job[1])
            while n < max_batch_packets:  # whatever else is prepared joins this transaction
                try:
                    j = jobs.get_nowait()
                except queue.Empty:
                    break
                if j is None:
                    done = True
                    break
                group.append(j)
                n += len(j[1])
            items = [it for j in group for it in j[1]]
            delay = 0.2
            while True:
                try:
                    res = write_items(store, items)
                    break
                except Exception as exc:  # keep the batch, unanswered, and try again
                    text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    log.error("database write of %d frames failed (%s); retrying in %.1f s, nothing is answered "
                              "until it is stored", len(items), text, delay)
                    with send_lock:
                        sock.sendall(_dump(("write_error", len(items), text)))
                    time.sleep(delay)
                    delay = min(delay * 2, 10.0)
            summary = {"packets": res.packets, "packets_new": res.packets_new, "duplicates": res.packets_duplicate,
                       "records": res.records, "rejected": dict(res.rejected_by_reason), "seconds": res.seconds,
                       "items": len(items), "caches": cache_sizes(store)}
            counts["batches"] += len(group)
            counts["commits"] += 1
            counts["items"] += len(items)
            with send_lock:  # committed: now the server may answer
                sock.sendall(_dump(("committed", [j[0] for j in group], summary, [j[2] for j in group])))

    try:
        prof.run("commit", commit_loop)
    finally:
        store.close()
        engine.dispose()
        sock.close()
        prof.write(counts)


class _Profile:
    """``ECOPATROL_WRITER_PROFILE=DIR``: each thread's CPU (``thread_time``) and, unless
    ``ECOPATROL_WRITER_PROFILE_CPROFILE=0``, its cProfile on the same CPU clock (see the module docstring)."""

    def __init__(self) -> None:
        self.dir = os.environ.get("ECOPATROL_WRITER_PROFILE", "")
        self.cprofile = os.environ.get("ECOPATROL_WRITER_PROFILE_CPROFILE", "1") != "0"
        self.cpu: dict[str, float] = {}

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
        for _ in range(50):  # the decoding thread ends when the socket closes
            if "decode" in self.cpu:
                break
            time.sleep(0.02)
        with open(os.path.join(self.dir, f"writer-{os.getpid()}-threads.json"), "w") as f:
            json.dump({"thread_cpu_s": self.cpu, "process_cpu_s": time.process_time(), **counts}, f)


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
