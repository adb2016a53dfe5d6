"""Run every benchmark script with the command BENCHMARKS.md gives for it (``make bench``).

Each script measures ecopatrol beside its named baseline in one run and prints its table;
this runner only runs them in turn and stops at the first that fails. ``--quick`` runs the
ones that take under about a minute on the 2-core reference machine; ``--only NAME`` one
script. The long ones (accuracy over 50 scenarios, archives of tens of millions of samples)
take 10–30 minutes each.

Run: ``.venv/bin/python benchmarks/run_all.py [--quick] [--only bench_hotspots]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"

#: (script, arguments, quick?) — the commands of BENCHMARKS.md.
BENCHMARKS: list[tuple[str, list[str], bool]] = [
    ("bench_real_delays.py", [], True),
    ("bench_hotspot_rule.py", [], True),
    ("bench_passes.py", [], True),
    ("bench_drone_plan.py", ["--n", "50", "--repeat", "3"], True),
    ("tsplib_gap.py", sorted(str(p) for p in (SHARED / "tsplib").glob("*.tsp")), False),
    ("bench_van_plan.py", ["--targets", "30"], True),
    ("bench_georef.py", [], True),
    ("bench_hotspots.py", [], True),
    ("bench_hj212.py", [], True),
    ("bench_world.py", [], True),
    ("bench_monitor.py", [], True),
    ("bench_ingest_layout.py", [], True),
    ("bench_receiver_memory.py", ["--seconds", "600"], False),
    ("bench_writer_parts.py", ["64"], True),
    ("bench_alarms.py", [], True),
    ("bench_ledger.py", [], True),
    ("bench_month.py", ["--weeks", "4", "--visits", "3", "--seeds", "0"], False),
    ("bench_upload_link.py", ["--trials", "6"], False),
    ("bench_safety.py", ["--n", "10000", "--jobs", "2"], False),
    ("bench_maps.py", ["2000000"], False),
    ("bench_archive.py", ["--compare", "20000000"], False),
    ("bench_attribution.py", [], False),
    ("bench_season.py", ["--days", "30", "--vans", "2", "--hours", "2", "--workers-compare", "0"], False),
    ("bench_accuracy.py", ["--simulator", "-n", "50", "--start", "100"], False),
]

#: scripts here that are not benchmarks: the attribution's development loop (``bench_accuracy`` imports it)
#: the receiver's tracemalloc diagnosis (run by hand, quotes no timing) and the per-partition CPU of a season
#: archive that bench_season built (run by hand on its output folder)
TOOLS = ["dev_attribution.py", "_memory_receiver.py", "bench_partition_cpu.py"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the benchmarks that take under about a minute")
    ap.add_argument("--only", help="run only this script (name with or without .py)")
    a = ap.parse_args(argv)
    todo = [(s, args) for s, args, quick in BENCHMARKS
            if (not a.quick or quick) and (a.only is None or s.removesuffix(".py") == a.only.removesuffix(".py"))]
    if not todo:
        print(f"error: no benchmark named {a.only!r}; known: {', '.join(s for s, _, _ in BENCHMARKS)}",
              file=sys.stderr)
        return 1
    for script, args in todo:
        path = HERE / script
        if not path.exists():
            print(f"error: {path} is missing", file=sys.stderr)
            return 1
        print(f"\n## {script} {' '.join(args)}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(path), *args])
        print(f"({script}: exit {rc}, {time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        if rc != 0:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
