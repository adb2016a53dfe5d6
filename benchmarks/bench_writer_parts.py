"""The receiver's writer-process work offline, CPU per frame: ``prepare_chunks`` (decode, rows, answers) and
``write_items`` (one committed transaction) on both real hours, every frame asking for an answer, in
batches of N one-frame chunks (as 200 stop-and-wait loggers send them), into a new SQLite file.

Compare two checkouts by running each one's interpreter on this file (it imports whichever
``ecopatrol`` that interpreter has):
``flock /work/bench.lock sh -c '/work/main/.venv/bin/python benchmarks/bench_writer_parts.py 64;
.venv/bin/python benchmarks/bench_writer_parts.py 64'``. CPU is ``time.thread_time`` (system time of
the commit's fsync included).

``bench_writer_parts.py N DATA PASSES``: the two hours PASSES times into the same file, each pass with
new QNs (new packets), one line per pass — the database grows as the receiver's does in a run
(bench_monitor stores 40 000 packets in 15 s), and the write half grows with it. The writer
process's WAL checkpoint setting is applied when the checkout has one."""

from __future__ import annotations

import gc
import gzip
import inspect
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ecopatrol.core.db import open_database
from ecopatrol.processing.monitor.receiver import prepare_chunks, write_items
from ecopatrol.processing.monitor.replay import with_answer_request
from ecopatrol.processing.monitor.store import PacketStore

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hj212"
HOURS = ("hebei_2016-08-24_04.h212.gz", "hebei_2016-08-24_05.h212.gz")


def frames(data: Path = DATA, t: datetime = datetime(2026, 12, 3, 8, 0)) -> list[bytes]:
    lines = [ln.rstrip(b"\r\n") for name in HOURS
             for ln in gzip.decompress((data / name).read_bytes()).split(b"\n") if ln.strip()]
    out = []
    for k, ln in enumerate(lines):
        try:
            out.append(with_answer_request(ln, t + timedelta(milliseconds=k)).rstrip(b"\r\n"))
        except Exception:  # an answer or a corrupt frame: as it is
            out.append(ln)
    return out


def main(argv: list[str]) -> int:
    n_batch = int(argv[0]) if argv else 64
    data = Path(argv[1]) if len(argv) > 1 and argv[1] != "-" else Path(os.environ.get("ECOPATROL_HJ212_DATA", DATA))
    passes = int(argv[2]) if len(argv) > 2 else 1
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        engine = open_database(f"sqlite:///{tmp}/x.db")
        try:
            from ecopatrol.processing.monitor._writer_process import _checkpoint_less_often
        except ImportError:  # a checkout before the setting
            _checkpoint_less_often = None
        if _checkpoint_less_often is not None:
            from sqlalchemy import event

            event.listen(engine, "connect", _checkpoint_less_often)
            engine.dispose()  # a connection pooled before the listener would not have the setting
        kw = {"keep_connection": True} if "keep_connection" in inspect.signature(PacketStore).parameters else {}
        store = PacketStore(engine, **kw)
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)  # as the writer process
        total = 0
        for p in range(passes):
            lines = frames(data, datetime(2026, 12, 3 + p, 8, 0))
            tp = tw = 0.0
            n = 0
            for i in range(0, len(lines), n_batch):
                fr = lines[i:i + n_batch]
                chunks = [(f"127.0.0.1:{k}", datetime.now(UTC), "", fr[k:k + 1]) for k in range(len(fr))]
                t0 = time.thread_time()
                items, _ = prepare_chunks(store, chunks)
                t1 = time.thread_time()
                write_items(store, items)
                t2 = time.thread_time()
                tp += t1 - t0
                tw += t2 - t1
                n += len(fr)
            total += n
            print(f"{os.path.dirname(inspect.getfile(PacketStore))}: pass {p + 1}, {n} frames ({total} in the file), "
                  f"batches of {n_batch}: prepare {1e6 * tp / n:.1f} us, write {1e6 * tw / n:.1f} us a frame "
                  f"(thread CPU); load {os.getloadavg()[0]:.1f}", flush=True)
        if kw:
            store.close()
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
