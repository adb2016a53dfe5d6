"""Where the receiver's memory goes: tracemalloc snapshots at 20 s and 60 s of a 70 s bench_monitor run.

The server (this process) traces its Python allocations (tracemalloc's own overhead inflates the
RSS, so only the traced sizes mean anything); the loggers run in bench_monitor's client process.
Prints the traced total at both snapshots and the 12 lines that grew most.

Run: ``.venv/bin/python benchmarks/_memory_receiver.py`` (about 90 s; quotes no timing).
"""

import logging
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_monitor as B  # noqa: E402

logging.disable(logging.INFO)
if __name__ == "__main__":
    tracemalloc.start(4)
    orig = B.rss_mb
    t0 = [None]
    snaps = []

    def patched():
        now = time.time()
        if t0[0] is None:
            t0[0] = now
        el = now - t0[0]
        if (len(snaps) == 0 and el > 20) or (len(snaps) == 1 and el > 60):
            snaps.append((el, tracemalloc.take_snapshot(), orig()))
        return orig()

    B.rss_mb = patched
    with tempfile.TemporaryDirectory() as tmp:
        r = B.run_receiver(f"sqlite:///{tmp}/t.db", server="thread", loggers=200, seconds=70, cut_probability=0.1, data=B.DATA, frames_per_logger=300)
    print('packets', r['packets_sent'], 'lost', r['lost'])
    (e0, s0, m0), (e1, s1, m1) = snaps[:2]
    print(f"snapshots at {e0:.0f}s and {e1:.0f}s: RSS {m0:.1f} -> {m1:.1f} MB; traced {sum(s.size for s in s0.statistics('filename'))/1e6:.2f} -> {sum(s.size for s in s1.statistics('filename'))/1e6:.2f} MB")
    for st in s1.compare_to(s0, 'lineno')[:12]:
        print(st)
