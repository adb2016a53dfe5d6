"""Benchmark: the receiver's memory over a long stream (issue 17, "memory flat with the length of the stream").

One sustained run of ``bench_monitor``'s receiver (writer process, 200 stop-and-wait loggers, cuts
and reconnects) for ``--seconds`` (600), the loggers sending **ever new packets** (each pass over
their frames with new QNs, so the store keeps inserting rather than counting copies). Every 0.5 s
it samples the RSS of the server process and of its writer process, and the sizes of the writer's
bounded caches (parsed stamps, QN prefixes, ``code-Suffix`` keys, 2017 codes, the store's times
memo) as reported with each commit. It prints the RSS at each tenth, the caches at the end, and
the linear trend (MB/min) of each process's RSS after a warm-up (the first 10 % of the run), over
the first and the second half of what follows: flat memory shows as a second-half trend near 0.

Run: ``flock /work/bench.lock .venv/bin/python benchmarks/bench_receiver_memory.py [--seconds 600] [--json]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_monitor as B  # noqa: E402


def proc_rss_mb(pid: int | None) -> float:
    if not pid:
        return float("nan")
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def trend_mb_per_min(points: list[tuple[float, float]]) -> float | None:
    import numpy as np

    pts = [(t, m) for t, m in points if m == m]
    if len(pts) < 10:
        return None
    return float(np.polyfit([t for t, _ in pts], [m for _, m in pts], 1)[0]) * 60


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--loggers", type=int, default=200)
    ap.add_argument("--warmup", type=float, default=0.1, help="share of the run left out of the trends")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    logging.disable(logging.INFO)
    import numpy as np

    # the samples are kept in arrays allocated before the run, and the caches' sizes as their last and
    # largest values only, so that the benchmark's own bookkeeping does not grow the server's RSS
    cap = int(2 * a.seconds) + 2000
    arr = np.full((cap, 4), np.nan)
    count = [0]
    caches_end: dict[str, int] = {}
    caches_max: dict[str, int] = {}

    def on_sample(t_s: float, rss_mb: float, rx) -> None:
        wp = rx.writer_process if rx is not None else None
        if count[0] < cap:
            arr[count[0]] = (t_s, rss_mb, proc_rss_mb(wp.pid if wp else None), rx.stats.packets if rx else 0)
            count[0] += 1
        if rx is not None:
            for k, v in rx.writer_caches.items():
                caches_end[k] = v
                if v > caches_max.get(k, -1):
                    caches_max[k] = v

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        r = B.run_receiver(f"sqlite:///{tmp}/memory.db", server="process", loggers=a.loggers, seconds=a.seconds,
                           cut_probability=0.1, data=B.DATA, frames_per_logger=300, on_sample=on_sample, fresh=True)
    samples = [{"t_s": float(t), "server_mb": float(m), "writer_mb": float(w), "packets": int(p)}
               for t, m, w, p in arr[:count[0]]]
    end = samples[-1]["t_s"]
    t_warm = a.warmup * end
    mid = (t_warm + end) / 2
    out = {"run": r, "samples": len(samples), "trends_mb_per_min": {}}
    for key in ("server_mb", "writer_mb"):
        first = [(s["t_s"], s[key]) for s in samples if t_warm <= s["t_s"] < mid]
        second = [(s["t_s"], s[key]) for s in samples if s["t_s"] >= mid]
        out["trends_mb_per_min"][key] = {"first_half": trend_mb_per_min(first), "second_half": trend_mb_per_min(second)}
    tenths = [min(samples, key=lambda s, q=q: abs(s["t_s"] - q * end)) for q in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7,
                                                                             0.8, 0.9, 1.0)]
    out["tenths"] = [{k: s[k] for k in ("t_s", "server_mb", "writer_mb", "packets")} for s in tenths]
    out["caches_end"] = caches_end
    out["caches_max"] = caches_max
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"{r['packets_sent']:,} packets in {r['seconds']:.0f} s ({r['packets_s']:,.0f}/s), {r['records']:,} records, "
          f"lost {r['lost']}, unanswered {r['unanswered']}, cuts {r['cuts']} ({r['cut_rows']} rows), "
          f"load {r['load_before']} → {r['load_after']}")
    print("| at | packets | server RSS | writer RSS |")
    print("|---|---|---|---|")
    for s in out["tenths"]:
        print(f"| {s['t_s']:.0f} s | {s['packets']:,} | {s['server_mb']:.1f} MB | {s['writer_mb']:.1f} MB |")
    for key, tr in out["trends_mb_per_min"].items():
        f, s2 = tr["first_half"], tr["second_half"]
        def fmt(x):
            return "too short" if x is None else f"{x:+.2f} MB/min"

        print(f"{key}: trend after {a.warmup:.0%} warm-up, first half {fmt(f)}, second half {fmt(s2)}")
    print("writer caches at the end:", out["caches_end"], "max:", out["caches_max"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
