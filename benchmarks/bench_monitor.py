"""Benchmark: the HJ 212 receiver and the database (issue 17 item 2) on the real Hebei traffic.

1. **Receiver, sustained** — ``--loggers`` (200) simulated data loggers in a separate client
   process replay the real packets over loopback for ``--seconds``, every packet asking for an
   answer (Flag bit A, a QN of its own) and each logger waiting for the answer before its next
   packet (stop-and-wait, as field devices do), each frame written in 1–2 pieces. Now and then a
   logger cuts its connection in the middle of a packet, reconnects and sends that packet again
   in full. The server stores into SQLite (WAL, ``synchronous=FULL``) and answers a packet only
   after the transaction holding its rows is committed:

   - **ecopatrol** ``Receiver``: group commit (one transaction for whatever all connections
     sent while the last one committed, up to 2 000 packets), decoding, rows and commits in a
     **writer process** (``writer="process"``, the default), the event loop uvloop's when installed;
   - **baseline: the thread writer** (named, same run): the same ``Receiver`` with
     ``writer="thread"`` on asyncio's loop — what the receiver was before the writer process
     (decoding, rows and commits in a thread sharing the event loop's GIL);
   - **baseline: one packet, one commit** (named, same run): the same decoding, rows and
     ``PacketStore``, but each packet committed on its own before its answer.

   Also reported: the server's CPU per packet (its own process and the writer process), the
   client's, the load average before and after, and the disk's fsync time measured right after.

   Reported: packets/s committed and answered, commits, the answer latency (median and 99th
   percentile), the server's RSS at 10 % and at the end of the stream (flat memory), the cuts and
   reconnects survived, and the check that nothing was lost: the packets in the database (copies
   counted) equal the complete frames the loggers sent, every one was answered, and every cut
   left exactly one ``connection_closed`` row.
2. **File ingest** — ``ingest_file`` of both hours into a new SQLite file on one core (the process
   pinned to one), with where the time goes: the codec's ``decode``, building the rows, and the
   database.

``--pg URL`` runs part 1 on PostgreSQL too (the database is emptied first). Figures in
BENCHMARKS.md ("HJ 212").

``--client lean`` runs the loggers in one thread on non-blocking sockets (the same protocol; about a
third of the CPU of the default asyncio client, which shares the 2 cores with the server); another
checkout's interpreter running this file measures that checkout's receiver under the same client.

Run: ``.venv/bin/python benchmarks/bench_monitor.py [--seconds 15] [--loggers 200] [--client lean] [--quick]
[--pg URL] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "hj212"


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def fsync_ms(folder: str, n: int = 200) -> tuple[float, float]:
    """Median and 90th percentile of writing 4 KB and fsync, ``n`` times, in ``folder`` (ms)."""
    path = os.path.join(folder, "fsync.probe")
    times = []
    with open(path, "wb") as fh:
        for _ in range(n):
            fh.write(b"x" * 4096)
            fh.flush()
            t0 = time.perf_counter()
            os.fsync(fh.fileno())
            times.append(1000 * (time.perf_counter() - t0))
    os.unlink(path)
    times.sort()
    return statistics.median(times), times[int(0.9 * (n - 1))]


def real_frames(data: Path) -> list[bytes]:
    """Every accepted packet of the real files, as a frame with CRLF."""
    from ecopatrol.processing.hj212 import decode

    out = []
    for f in sorted(data.glob("*.h212*")):
        raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        for line in raw.split(b"\n"):
            line = line.rstrip(b"\r\n")
            if line.strip() and decode(line).ok:
                out.append(line + b"\r\n")
    return out


# -- the client process ------------------------------------------------------------------------------
def _client_main(host: str, port: int, n_loggers: int, seconds: float, frames_per_logger: int, cut_probability: float,
                 data: str, seed: int, start_at: float, conn, loop: str = "asyncio", fresh: bool = False,
                 client: str = "asyncio") -> None:
    """Run ``n_loggers`` stop-and-wait loggers until ``seconds`` have passed; send the counts back. With
    ``fresh``, a logger that has sent all its frames sends them again with new QNs (new packets, not
    copies): a long stream of ever new packets. ``client``: ``asyncio`` — each logger a coroutine of
    ``replay_logger`` on the ``loop`` event loop (streams); ``lean`` — all of them in one thread on
    non-blocking sockets (``stop_and_wait_loggers``): the same protocol, the frames pre-encoded, each
    answer checked to carry its frame's QN, at a fraction of the CPU."""
    from datetime import UTC, datetime, timedelta

    from ecopatrol.processing.hj212.codes import REPLY_CNS
    from ecopatrol.processing.monitor.receiver import event_loop_runner
    from ecopatrol.processing.monitor.replay import replay_logger, unique_qn_times, with_answer_request

    logging.disable(logging.WARNING)
    frames = [f for f in real_frames(Path(data)) if not any(b"CN=%s;" % c.encode() in f for c in REPLY_CNS)]
    qns = iter(unique_qn_times(n_loggers * frames_per_logger))
    own = [[with_answer_request(frames[(i + k * n_loggers) % len(frames)], next(qns)) for k in range(frames_per_logger)]
           for i in range(n_loggers)]
    lat: list[float] = []
    qn0 = datetime(2024, 1, 1, tzinfo=UTC)

    def frame_at(i: int, idx: int) -> bytes:
        c, j = divmod(idx, frames_per_logger)
        if c == 0 or not fresh:
            return own[i][j]
        return with_answer_request(own[i][j], qn0 + timedelta(
            milliseconds=(c * n_loggers + i) * frames_per_logger + j))

    async def logger(i: int, deadline: float) -> dict:
        rng = random.Random(seed * 100_000 + i)
        k, sent, answered, cuts, connects = 0, 0, 0, 0, 0
        while time.monotonic() < deadline:
            session = [frame_at(i, k + j) for j in range(100)]
            cut = rng.randrange(1, len(session)) if rng.random() < cut_probability else None
            t0 = time.monotonic()
            run = await replay_logger(host, port, session, rng=rng, max_pieces=2, cut_at=cut, window=1,
                                      decode_answers=False, answer_timeout_s=60)
            connects += 1
            sent += len(run.frames_sent)
            answered += run.answered
            if run.frames_sent:
                lat.append((time.monotonic() - t0) / max(1, len(run.frames_sent)))
            cuts += run.cut
            k += len(run.frames_sent)  # a cut frame is sent again, whole, on the next connection
        return {"sent": sent, "answered": answered, "cuts": cuts, "connections": connects}

    async def main() -> tuple[list[dict], float]:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        t0 = time.monotonic()
        res = await asyncio.gather(*[logger(i, t0 + seconds) for i in range(n_loggers)])
        return res, time.monotonic() - t0

    cpu0 = time.process_time()
    if client == "lean":
        from dataclasses import asdict

        stop_and_wait_loggers = _lean_loggers().stop_and_wait_loggers
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = time.process_time()
        out = stop_and_wait_loggers(host, port, frame_at, n_loggers, seconds, cut_probability=cut_probability,
                                    seed=seed)
        res, elapsed, lat = [asdict(c) for c in out["loggers"]], out["seconds"], out["latency"]
    else:
        res, elapsed = event_loop_runner(loop)[0](main())
    conn.send({"loggers": res, "seconds": elapsed, "latency": lat, "client_cpu_s": time.process_time() - cpu0})
    conn.close()


def _lean_loggers():
    """This checkout's ``processing/monitor/_lean_loggers.py`` (standard library only), loaded by its path: the
    same load generator whichever ecopatrol the interpreter running this script has (``/work/main``'s
    interpreter on this file measures main's receiver under this client)."""
    import importlib.util

    name = "_ecopatrol_lean_loggers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "processing" / "monitor" / "_lean_loggers.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses look their module up
        spec.loader.exec_module(mod)
    return sys.modules[name]


# -- the naive baseline server -------------------------------------------------------------------------
class NaiveServer:
    """One packet, one commit: decode, ``write_batch([packet])`` (its own transaction), then answer."""

    def __init__(self, engine) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from ecopatrol.processing.monitor.store import PacketStore

        self.store = PacketStore(engine)
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.commits = 0

    async def handle(self, reader, writer) -> None:
        from datetime import UTC, datetime

        from ecopatrol.processing.hj212 import StreamFramer, decode, encode
        from ecopatrol.processing.monitor.receiver import REASON_CLOSED, _START, reply_for
        from ecopatrol.processing.monitor.store import Received

        loop = asyncio.get_running_loop()
        framer = StreamFramer()
        peer = str(writer.get_extra_info("peername"))
        while True:
            data = await reader.read(65536)
            frames = framer.feed(data) if data else framer.flush()
            for fr in frames:
                now = datetime.now(UTC)
                if not data and _START.match(fr.raw):
                    item = Received(fr.raw, now, peer, None, REASON_CLOSED, "connection closed mid-packet")
                else:
                    d = decode(fr)
                    item = Received(d.raw, now, peer, d.packet, d.reason, d.detail)
                await loop.run_in_executor(self.executor, self.store.write_batch, [item])
                self.commits += 1
                rep = reply_for(item.packet) if item.packet is not None else None
                if rep is not None and not writer.transport.is_closing():
                    writer.write(encode(rep))
            if not data:
                break
        writer.close()


# -- one run ------------------------------------------------------------------------------------------
SERVERS = {"process": "ecopatrol Receiver (writer process)", "thread": "baseline: thread writer (the receiver before)",
           "naive": "baseline: one packet, one commit"}


def run_receiver(url: str, *, server: str = "process", loggers: int, seconds: float, cut_probability: float,
                 data: Path, frames_per_logger: int, loop: str = "auto", client_loop: str = "asyncio",
                 on_sample=None, fresh: bool = False, client: str = "asyncio") -> dict:
    """One sustained run of ``server`` (a key of :data:`SERVERS`) on ``loop`` (the server's event loop; the
    baselines always on asyncio's); ``on_sample(t_s, rss_mb, rx)`` is called every 0.5 s."""
    from sqlalchemy import func, select

    from ecopatrol.core.db import open_database
    from ecopatrol.core.db import schema as S
    from ecopatrol.processing.monitor.receiver import Receiver, event_loop_runner

    naive = server == "naive"
    run, loop_name = event_loop_runner(loop if server == "process" else "asyncio")
    engine = open_database(url)
    load0 = load_average()
    samples: list[tuple[float, float]] = []

    async def main() -> dict:
        if naive:
            srv = NaiveServer(engine)
            tcp = await asyncio.start_server(srv.handle, "127.0.0.1", 0, backlog=1024)
            port = tcp.sockets[0].getsockname()[1]
        else:
            rx = Receiver(engine, writer=server)
            _, port = await rx.start("127.0.0.1", 0)
            wpid = rx.writer_process.pid if rx.writer_process is not None else None
        parent, child = mp.Pipe()
        start_at = time.time() + 8.0  # the client builds its frames first
        proc = mp.get_context("spawn").Process(target=_client_main, args=(
            "127.0.0.1", port, loggers, seconds, frames_per_logger, cut_probability, str(data), 1, start_at, child,
            client_loop, fresh, client))
        proc.start()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        wcpu0 = proc_cpu_s(wpid) if not naive and wpid else 0.0
        while not parent.poll():
            samples.append((time.perf_counter() - t0, rss_mb()))
            if on_sample is not None:
                on_sample(samples[-1][0], samples[-1][1], None if naive else rx)
            await asyncio.sleep(0.5)
        result = parent.recv()
        cpu1 = time.process_time()
        wcpu = proc_cpu_s(wpid) - wcpu0 if not naive and wpid else 0.0
        proc.join()
        if naive:
            tcp.close()
            await tcp.wait_closed()
            srv.executor.shutdown()
            commits = srv.commits
        else:
            await rx.stop()
            commits = rx.stats.batches
            result["writer_busy_s"] = rx.stats.commit_seconds
        return result | {"commits": commits, "cpu_s": cpu1 - cpu0, "writer_cpu_s": wcpu}

    r = run(main())
    with engine.connect() as conn:
        stored = conn.execute(select(func.coalesce(func.sum(S.hj212_packets.c.copies), 0))).scalar_one()
        closed = conn.execute(select(func.count()).select_from(S.hj212_rejected)
                              .where(S.hj212_rejected.c.reason == "connection_closed")).scalar_one()
        other = conn.execute(select(func.count()).select_from(S.hj212_rejected)
                             .where(S.hj212_rejected.c.reason != "connection_closed")).scalar_one()
        records = conn.execute(select(func.count()).select_from(S.hj212_records)).scalar_one()
    engine.dispose()
    lg = r["loggers"]
    sent, answered = sum(x["sent"] for x in lg), sum(x["answered"] for x in lg)
    cuts, conns = sum(x["cuts"] for x in lg), sum(x["connections"] for x in lg)
    lat = sorted(r["latency"])
    tail = [m for t, m in samples if t >= 0.1 * r["seconds"]]
    warm = [(t, m) for t, m in samples if t >= 0.2 * r["seconds"]]  # after warm-up: a trend means growth
    slope = None
    if len(warm) >= 10:
        import numpy as np

        slope = float(np.polyfit([t for t, _ in warm], [m for _, m in warm], 1)[0]) * 60
    quarters = [min(samples, key=lambda s, q=q: abs(s[0] - q * r["seconds"]))[1] for q in (0.25, 0.5, 0.75, 1.0)] \
        if samples else []
    return {"server": SERVERS[server], "loop": loop_name, "load_before": load0, "load_after": load_average(),
            "client": client, "wrong_answers": sum(x.get("wrong_answers", 0) for x in lg),
            "timed_out": sum(x.get("timed_out", 0) for x in lg),
            "server_cpu_us_per_packet": 1e6 * (r["cpu_s"] + r["writer_cpu_s"]) / max(1, sent),
            "client_cpu_us_per_packet": 1e6 * r["client_cpu_s"] / max(1, sent), "writer_process_cpu_s": r["writer_cpu_s"],
            "database": url.split(":")[0], "loggers": loggers, "seconds": round(r["seconds"], 1),
            "packets_sent": sent, "packets_stored": int(stored), "answered": answered, "records": int(records),
            "lost": sent - int(stored), "unanswered": sent - answered,
            "packets_s": sent / r["seconds"], "commits": r["commits"], "packets_per_commit": sent / max(1, r["commits"]),
            "answer_ms_median": 1000 * statistics.median(lat) if lat else None,
            "answer_ms_p99": 1000 * lat[int(0.99 * (len(lat) - 1))] if lat else None,
            "cuts": cuts, "cut_rows": int(closed), "other_rejected": int(other), "connections": conns,
            "rss_mb_at_10pct": tail[0] if tail else None, "rss_mb_end": samples[-1][1] if samples else None,
            "rss_mb_max": max(m for _, m in samples) if samples else None,
            "rss_mb_quarters": quarters, "rss_mb_per_min_after_warmup": slope,
            "server_cpu_s": r["cpu_s"], "client_cpu_s": r["client_cpu_s"], "writer_busy_s": r.get("writer_busy_s")}


def reference_ingest(store, path: Path, batch_packets: int = 2000) -> int:
    """The named baseline of file ingest: what ``ingest_file`` did before the batch decoder — each line
    decoded alone by the reference ``decode``, rows built per packet, ``write_batch`` per batch, the
    cyclic GC on. Returns the packet lines."""
    from datetime import UTC, datetime

    from ecopatrol.processing.hj212 import decode
    from ecopatrol.processing.monitor.ingest import _lines
    from ecopatrol.processing.monitor.store import Received

    now, batch, n_lines = datetime.now(UTC), [], 0
    for n, line, _ in _lines(path):
        if not line.strip():
            continue
        d = decode(line)
        batch.append(Received(d.raw, now, path.name, d.packet, d.reason, d.detail, n))
        n_lines += 1
        if len(batch) >= batch_packets:
            store.write_batch(batch)
            batch.clear()
    store.write_batch(batch)
    return n_lines


def run_ingest(data: Path, repeat: int = 3) -> dict:
    """``ingest_file`` of every file into a new SQLite file on one core, beside the reference path
    (:func:`reference_ingest`) in the same run (alternating, best of ``repeat``), and where the time
    goes: decoding (``decode_lines``; the reference ``decode`` beside it), rows, the database."""
    import gc

    from ecopatrol.core.db import open_database
    from ecopatrol.processing.hj212 import decode, decode_lines
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.store import PacketStore, Received

    files = sorted(data.glob("*.h212*"))
    lines = []
    for f in files:
        raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        lines += [ln for ln in raw.split(b"\n") if ln.strip()]
    t_ours, t_ref, cpu_ours, cpu_ref, res = [], [], [], [], None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store = PacketStore(open_database(f"sqlite:///{tmp}/ingest.db"))
            t0, c0 = time.perf_counter(), time.process_time()
            res = [ingest_file(store, f) for f in files]
            t_ours.append(time.perf_counter() - t0)
            cpu_ours.append(time.process_time() - c0)
            store.engine.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            store = PacketStore(open_database(f"sqlite:///{tmp}/reference.db"))
            t0, c0 = time.perf_counter(), time.process_time()
            n_ref = sum(reference_ingest(store, f) for f in files)
            t_ref.append(time.perf_counter() - t0)
            cpu_ref.append(time.process_time() - c0)
            store.engine.dispose()
    n = sum(r.lines for r in res)
    assert n == n_ref == len(lines)
    t0 = time.perf_counter()
    decoded_ref = [decode(ln) for ln in lines]
    t_decode_ref = time.perf_counter() - t0
    gc.disable()
    try:
        t0 = time.perf_counter()
        decoded = [d for i in range(0, len(lines), 2000) for d in decode_lines(lines[i:i + 2000])]
        t_decode = time.perf_counter() - t0
        assert decoded == decoded_ref
        with tempfile.TemporaryDirectory() as tmp:
            store = PacketStore(open_database(f"sqlite:///{tmp}/rows.db"))
            from datetime import UTC, datetime

            now = datetime.now(UTC)
            items = [Received(d.raw, now, "f", d.packet, d.reason, d.detail) for d in decoded]
            t0 = time.perf_counter()
            for it in items:
                store.prepare(it)
            t_rows = time.perf_counter() - t0
            t0 = time.perf_counter()
            for i in range(0, len(items), 2000):
                store.write_batch(items[i:i + 2000])
            t_db = time.perf_counter() - t0
            store.engine.dispose()
    finally:
        gc.enable()
    best, best_ref = min(t_ours), min(t_ref)
    return {"files": len(files), "packets": n, "accepted": sum(r.accepted for r in res),
            "records": sum(r.records for r in res), "seconds": best, "packets_s": n / best,
            "cpu_s": min(cpu_ours), "packets_s_cpu": n / min(cpu_ours),
            "reference_seconds": best_ref, "reference_packets_s": n / best_ref,
            "reference_packets_s_cpu": n / min(cpu_ref), "speedup": best_ref / best,
            "decode_s": t_decode, "decode_reference_s": t_decode_ref, "rows_s": t_rows, "database_s": t_db,
            "decode_us": 1e6 * t_decode / n, "decode_reference_us": 1e6 * t_decode_ref / n,
            "rows_us": 1e6 * t_rows / n, "database_us": 1e6 * t_db / n}


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine

    from ecopatrol.core.db import normalise_url

    e = create_engine(normalise_url(url))
    with e.begin() as c:
        c.exec_driver_sql("DROP SCHEMA public CASCADE")
        c.exec_driver_sql("CREATE SCHEMA public")
    e.dispose()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each sustained run")
    ap.add_argument("--loggers", type=int, default=200)
    ap.add_argument("--cut-probability", type=float, default=0.1, help="chance a 100-packet session is cut mid-packet")
    ap.add_argument("--quick", action="store_true", help="8 s runs")
    ap.add_argument("--pg", help="also run the receiver on this PostgreSQL URL (its public schema is emptied)")
    ap.add_argument("--no-baseline", action="store_true", help="only the writer-process receiver")
    ap.add_argument("--no-naive", action="store_true", help="without the one-packet-one-commit baseline")
    ap.add_argument("--loop", default="auto", choices=["auto", "uvloop", "asyncio"], help="the new receiver's event loop")
    ap.add_argument("--client-loop", default="asyncio", choices=["auto", "uvloop", "asyncio"],
                    help="the loggers' event loop (the client process)")
    ap.add_argument("--client", default="asyncio", choices=["asyncio", "lean"],
                    help="the loggers' process: asyncio — a coroutine per logger on --client-loop (streams); lean — "
                         "one thread, non-blocking sockets, pre-encoded frames: the same stop-and-wait protocol, "
                         "cuts and reconnections at a fraction of the CPU (the load generator, not the server)")
    ap.add_argument("--writer-profile", metavar="DIR",
                    help="profile the writer process's CPU: cProfile on thread_time per thread into DIR "
                         "(ECOPATROL_WRITER_PROFILE; its figures are then not the unprofiled ones)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--ingest-only", action="store_true", help="only part 2 (file ingest)")
    ap.add_argument("--no-ingest", action="store_true", help="only part 1 (the receiver)")
    a = ap.parse_args(argv)
    logging.disable(logging.INFO)
    if not a.data.is_dir() or not any(a.data.glob("*.h212*")):
        print(f"{a.data}: no *.h212 files; nothing to measure", file=sys.stderr)
        return 0
    seconds = 8.0 if a.quick else a.seconds
    kw = dict(loggers=a.loggers, seconds=seconds, cut_probability=a.cut_probability, data=a.data,
              frames_per_logger=300, loop=a.loop, client_loop=a.client_loop, client=a.client)
    if a.writer_profile:
        os.makedirs(a.writer_profile, exist_ok=True)
        os.environ["ECOPATROL_WRITER_PROFILE"] = os.path.abspath(a.writer_profile)  # the writer process inherits it
    servers = ["process"] + ([] if a.no_baseline else ["thread"] + ([] if a.no_naive else ["naive"]))
    runs = []
    fsync = None
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        if not a.ingest_only:
            for srv in servers:
                runs.append(run_receiver(f"sqlite:///{tmp}/{srv}.db", server=srv, **kw))
            fsync = fsync_ms(tmp)
    if a.pg and not a.ingest_only:
        for srv in servers:
            _reset_pg(a.pg)
            runs.append(run_receiver(a.pg, server=srv, **kw))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # file ingest: one core
    ingest = run_ingest(a.data) if not a.no_ingest else None
    if a.json:
        print(json.dumps({"receiver": runs, "ingest": ingest, "fsync_ms_median_p90": fsync}))
        return 0
    print(f"Receiver: {a.loggers} stop-and-wait loggers over loopback, every packet answered after its commit, "
          f"{seconds:.0f} s each (client process on the same machine: {a.client} client"
          + (f" on {a.client_loop}" if a.client == "asyncio" else ", one thread") + ")")
    print("| server | loop | database | packets/s | packets | lost | unanswered | commits (packets each) | "
          "answer median / p99 | cuts survived (rows) | server CPU per packet (event loop + writer process) | "
          "client CPU per packet | "
          "RSS at 10 % → end (max) | load before → after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['server']} | {r['loop']} | {r['database']} | {r['packets_s']:,.0f} | {r['packets_sent']:,} | "
              f"{r['lost']} | {r['unanswered']} | {r['commits']:,} ({r['packets_per_commit']:.0f}) | "
              f"{r['answer_ms_median']:.1f} / {r['answer_ms_p99']:.1f} ms | {r['cuts']} ({r['cut_rows']}) | "
              f"{r['server_cpu_us_per_packet']:.0f} µs ({1e6 * r['server_cpu_s'] / max(1, r['packets_sent']):.0f} + "
              f"{1e6 * r['writer_process_cpu_s'] / max(1, r['packets_sent']):.0f}) | {r['client_cpu_us_per_packet']:.0f} µs | "
              f"{r['rss_mb_at_10pct']:.0f} → {r['rss_mb_end']:.0f} MB ({r['rss_mb_max']:.0f}) | "
              f"{r['load_before']} → {r['load_after']} |")
    base = {(r["server"], r["database"]): r["packets_s"] for r in runs}
    for r in runs:
        if r["server"] == SERVERS["process"]:
            for b in ("thread", "naive"):
                if (SERVERS[b], r["database"]) in base:
                    print(f"{r['database']}: writer process / {SERVERS[b]}: "
                          f"{r['packets_s'] / base[(SERVERS[b], r['database'])]:.2f}x")
    for r in runs:
        if r["wrong_answers"] or r["timed_out"]:
            print(f"{r['server']} ({r['database']}): {r['wrong_answers']} answers without their frame's QN, "
                  f"{r['timed_out']} answers not received in time")
    if fsync:
        print(f"fsync of 4 KB right after, in the runs' folder: {fsync[0]:.2f} ms median, {fsync[1]:.2f} ms p90")
    for r in runs:
        q = " / ".join(f"{m:.0f}" for m in r["rss_mb_quarters"])
        slope = r["rss_mb_per_min_after_warmup"]
        print(f"RSS of {r['server']} ({r['database']}) at 1/4, 1/2, 3/4, end: {q} MB; trend after the first 20 %: "
              + (f"{slope:+.2f} MB/min" if slope is not None else "too short"))
    i = ingest
    if i is None:
        return 0
    print(f"\nFile ingest (one core): {i['packets']:,} packets, {i['records']:,} records in {i['seconds']:.2f} s = "
          f"{i['packets_s']:,.0f} packets/s ({i['packets_s_cpu']:,.0f}/s of CPU); baseline (reference path: "
          f"decode per line, GC on) {i['reference_packets_s']:,.0f} packets/s ({i['reference_packets_s_cpu']:,.0f}/s "
          f"of CPU): {i['speedup']:.2f}x. Per packet: decode_lines {i['decode_us']:.1f} µs (decode "
          f"{i['decode_reference_us']:.1f} µs), rows {i['rows_us']:.1f} µs, database {i['database_us']:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
