"""Wall and CPU seconds of the season's per-partition task, partition after partition in one process.

``evidence_partition`` (``build_evidence`` + the ledger's coverage test) of the given partitions of
an archive (default: the 30-day 4-van archive ``bench_season.py`` synthesises), in this process,
one after the other; prints one ``RESULT`` line: ``[partition index, wall s, CPU s]`` each and the
load average. Run it with two interpreters (two checkouts' venvs) one after the other to compare
their code on the same partitions — CPU time moves far less than wall time on a shared machine:

    flock /work/bench.lock sh -c 'for r in 1 2; do /work/main/.venv/bin/python benchmarks/bench_partition_cpu.py \\
        /tmp/pc-main 0,1,2,3,4,5,6,7; .venv/bin/python benchmarks/bench_partition_cpu.py /tmp/pc-this 0,1,2,3,4,5,6,7; done'
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

ARCHIVE = "/tmp/ecopatrol-bench/season-30x4-p0.5"


def main() -> int:
    from ecopatrol.core.area import load_area
    from ecopatrol.processing.archive_evidence import _partitions, evidence_partition

    out, idx = sys.argv[1], [int(i) for i in sys.argv[2].split(",")]
    archive = sys.argv[3] if len(sys.argv) > 3 else ARCHIVE
    parts = _partitions(archive)
    area = load_area("jimo")
    shutil.rmtree(out, ignore_errors=True)
    res = []
    for i in idx:
        t, c = time.perf_counter(), time.process_time()
        evidence_partition(parts[i], area, out)
        res.append((i, round(time.perf_counter() - t, 2), round(time.process_time() - c, 2)))
    print("RESULT", json.dumps({"parts": res, "load": os.getloadavg()[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
