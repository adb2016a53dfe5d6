"""Archive benchmark: the Dask path against the in-memory path, and 1 → 2 workers.

Generates once (and reuses) a synthetic archive of 50 million van samples under
``/tmp/ecopatrol-bench/archive-50m`` (397 days × 5 vans × 8 h at 1 Hz, ~2.2 GB of GeoParquet),
then runs each configuration in a fresh child process while the parent samples the resident
memory (RSS) of the child's whole process tree (client, scheduler, nannies, workers) every
0.1 s:

- baseline: ``process_in_memory`` on the first ``--compare`` samples (default 10 M: the
  largest size both paths run here — see the report for 20 M);
- ``process_archive`` on a local cluster of 2 workers on the same subset;
- ``process_archive`` with 1 worker on the same subset (scaling);
- ``process_archive`` with 2 workers on all 50 M samples.

Throughput is samples per wall-clock second of the whole call (cluster start-up and writing
the outputs included). Ratios are printed against the in-memory baseline of the same run.

    .venv/bin/python benchmarks/bench_archive.py [--compare 10000000] [--skip-full]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path("/tmp/ecopatrol-bench")
FULL = ROOT / "archive-50m"
DAYS, VANS = 397, 5


def _ensure_full() -> dict:
    from ecopatrol.processing.archive_synth import synth_archive

    manifest = FULL / "archive.json"
    if manifest.exists():
        return json.loads(manifest.read_text())
    print(f"generating {DAYS} days × {VANS} vans under {FULL} (once) …", flush=True)
    t = time.perf_counter()
    m = synth_archive(FULL, days=DAYS, vans=VANS, seed=0)
    print(f"  {m['n_samples']:,} samples in {time.perf_counter() - t:.0f} s", flush=True)
    return m


def _subset(n_samples: int, per_partition: int) -> Path:
    """An archive of the first partitions (symlinked) holding about ``n_samples``."""
    k = max(1, round(n_samples / per_partition))
    out = ROOT / f"archive-{k}p"
    if out.exists():
        return out
    parts = sorted(FULL.glob("date=*/platform=*"))[:k]
    for p in parts:
        d = out / p.parent.name
        d.mkdir(parents=True, exist_ok=True)
        (d / p.name).symlink_to(p, target_is_directory=True)
    return out


def _child(mode: str, archive: str, workers: int, out: str) -> None:
    """Run one configuration and print its summary as JSON (in a fresh process)."""
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    from ecopatrol.processing.distributed import process_archive, process_in_memory

    t = time.perf_counter()
    if mode == "memory":
        r = process_in_memory(archive, out)
    else:
        r = process_archive(archive, out, workers=workers)
    s = dict(r.summary)
    s["wall_s"] = time.perf_counter() - t
    print("RESULT " + json.dumps(s, default=str), flush=True)


def _measure(mode: str, archive: Path, workers: int) -> dict:
    import psutil

    out = ROOT / f"out-{mode}-{workers}-{archive.name}"
    cmd = [sys.executable, __file__, "--child", mode, str(archive), str(workers), str(out)]
    t = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_tree = peak_client = 0
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            rss = []
            for p in procs:
                try:
                    rss.append(p.memory_info().rss)
                except psutil.Error:
                    rss.append(0)
            peak_tree = max(peak_tree, sum(rss))
            peak_client = max(peak_client, rss[0])
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - t
    stdout, stderr = proc.communicate()
    line = [ln for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"{mode} ({workers} workers) on {archive.name} failed:\n{stderr[-3000:]}")
    s = json.loads(line[-1][len("RESULT "):])
    return {"mode": mode, "workers": workers, "archive": archive.name, "n_samples": s["n_samples"],
            "wall_s": s["wall_s"], "process_s": wall, "samples_per_s": s["n_samples"] / s["wall_s"],
            "peak_tree_gib": peak_tree / 2**30, "peak_client_gib": peak_client / 2**30,
            "n_cells": s["n_cells"], "n_tasks": s.get("n_tasks")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--compare", type=int, default=10_000_000, help="samples of the in-memory comparison")
    ap.add_argument("--skip-full", action="store_true", help="skip the 50 M distributed run")
    a = ap.parse_args()
    m = _ensure_full()
    per_part = m["n_samples"] / m["partitions"]
    sub = _subset(a.compare, per_part)
    rows = [_measure("memory", sub, 0), _measure("distributed", sub, 2), _measure("distributed", sub, 1)]
    if not a.skip_full:
        rows.append(_measure("distributed", FULL, 2))
    base = rows[0]
    print(f"\narchive benchmark ({m['n_samples']:,} samples generated; baseline: in-memory on "
          f"{base['n_samples']:,})")
    print(f"{'path':<12}{'workers':>8}{'samples':>14}{'wall s':>9}{'samples/s':>12}{'peak GiB':>10}"
          f"{'client GiB':>11}{'× speed':>9}{'× memory':>10}")
    for r in rows:
        print(f"{r['mode']:<12}{r['workers']:>8}{r['n_samples']:>14,}{r['wall_s']:>9.1f}{r['samples_per_s']:>12,.0f}"
              f"{r['peak_tree_gib']:>10.2f}{r['peak_client_gib']:>11.2f}"
              f"{r['samples_per_s'] / base['samples_per_s']:>9.2f}{r['peak_tree_gib'] / base['peak_tree_gib']:>10.2f}")
    d1 = next(r for r in rows if r["mode"] == "distributed" and r["workers"] == 1)
    d2 = next(r for r in rows if r["mode"] == "distributed" and r["workers"] == 2 and r["archive"] == sub.name)
    print(f"scaling 1 → 2 workers on {d1['n_samples']:,} samples: ×{d2['samples_per_s'] / d1['samples_per_s']:.2f} "
          f"throughput (2 cores)")
    (ROOT / "bench_archive.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main()
