"""Benchmark: decoding logged HJ 212 traffic (issue 17), packets per second on one core.

For each real file in ``../shared/data/hj212`` (two hours of HJ/T 212-2005 traffic from 284
Hebei stations), in the same process and pinned to one core:

- **ecopatrol** ``read_hj212_file``: framing, length and CRC checks, packet syntax, versions,
  times in UTC, 2005 → 2017 code mapping and the tidy records frame, every line accounted for;
- **ecopatrol decode only**: ``decode`` of each line (checks and packets, no records frame);
- **baseline: plain regex split**: what a quick script does — a regex pulls ``MN``/``CN`` and the
  CP text, which is split on ``;`` ``,`` ``=`` into one dict per packet: no length, CRC or
  syntax check, no times, no code tables (corrupt packets pass silently).

Each is timed best of ``--repeat`` runs (the file is read into memory once, decompressed).

Run: ``.venv/bin/python benchmarks/bench_hj212.py [--data ../shared/data/hj212] [--repeat 5] [--json]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_MN = re.compile(rb"MN=([^;]*)")
_CN = re.compile(rb"CN=(\d+)")
_CP = re.compile(rb"CP=&&(.*)&&")


def baseline_split(lines: list[bytes]) -> list[dict]:
    """The named baseline: regex + str.split, no checks at all."""
    out = []
    for line in lines:
        mn, cn, cp = _MN.search(line), _CN.search(line), _CP.search(line)
        items = {}
        if cp:
            for group in cp.group(1).decode("latin-1").split(";"):
                for kv in group.split(","):
                    k, _, v = kv.partition("=")
                    items[k] = v
        out.append({"mn": mn and mn.group(1), "cn": cn and cn.group(1), "items": items})
    return out


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_file(path: Path, repeat: int) -> dict:
    from ecopatrol.processing.hj212 import decode, read_hj212_file

    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    lines = [ln for ln in raw.split(b"\n") if ln.strip()]
    with tempfile.TemporaryDirectory() as tmp:  # read_hj212_file from an uncompressed copy: no gunzip in the time
        plain = Path(tmp) / path.name.removesuffix(".gz")
        plain.write_bytes(raw)
        records, rejected, stats = read_hj212_file(plain)
        t_full = best_of(lambda: read_hj212_file(plain), repeat)
    t_decode = best_of(lambda: [decode(ln) for ln in lines], repeat)
    t_base = best_of(lambda: baseline_split(lines), repeat)
    n = stats.lines
    return {"file": path.name, "packets": n, "accepted": stats.accepted, "rejected": stats.rejected,
            "rejected_by_reason": {k: v for k, v in stats.rejected_by_reason.items() if v},
            "stations": stats.stations, "records": stats.records,
            "ecopatrol_s": t_full, "ecopatrol_packets_s": n / t_full, "ecopatrol_records_s": stats.records / t_full,
            "decode_only_s": t_decode, "decode_only_packets_s": n / t_decode,
            "baseline_s": t_base, "baseline_packets_s": n / t_base,
            "baseline_passes_corrupt": len(lines) - stats.accepted}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "hj212")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="one JSON line per file instead of the table")
    a = ap.parse_args(argv)
    logging.disable(logging.INFO)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    files = sorted(a.data.glob("*.h212*")) if a.data.is_dir() else []
    if not files:
        print(f"{a.data}: no *.h212 files; nothing to measure", file=sys.stderr)
        return 0
    rows = [bench_file(f, a.repeat) for f in files]
    if a.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    print("| file | packets | accepted | rejected (by reason) | stations | records | ecopatrol read_hj212_file | "
          "decode only | baseline: regex split, no checks | ours / baseline |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        why = ", ".join(f"{k} {v}" for k, v in r["rejected_by_reason"].items())
        print(f"| {r['file']} | {r['packets']} | {r['accepted']} | {r['rejected']} ({why}) | {r['stations']} | "
              f"{r['records']} | {r['ecopatrol_packets_s']:,.0f} packets/s ({r['ecopatrol_s']:.3f} s; "
              f"{r['ecopatrol_records_s']:,.0f} records/s) | {r['decode_only_packets_s']:,.0f} packets/s | "
              f"{r['baseline_packets_s']:,.0f} packets/s (passes {r['baseline_passes_corrupt']} corrupt) | "
              f"{r['ecopatrol_packets_s'] / r['baseline_packets_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
