"""Attribution benchmark: one synthetic van day, every sample (attribution_reduce) vs today's subsample.

Synthesises once (and reuses) one day of two vans at 1 Hz (``archive_synth``, seed 0: ~50 400
samples, the bundled Jimo area with its 1 569 candidate sources) under
``/tmp/ecopatrol-bench/attr-day``, runs the evidence chain up to the attribution step once to
capture its inputs (annotated samples, events, hotspot polygons), then runs
``attribution.attribute`` in a fresh child process per configuration:

- baseline: today's code path, ``attribution.REDUCED_FIT = False`` — the all-samples fits on
  every exceedance plus a seeded subsample, capped at ``MAX_ROWS`` = 20 000 rows, dense;
- reduced-nocut: ``REDUCED_FIT = True`` — every usable sample, sparse unit matrices per pass and
  candidate, NNLS and signals from sufficient statistics (:mod:`ecopatrol.processing.attribution_reduce`),
  with the per-event explanations evaluating every candidate (``attribution_reach.REACH_CUT = False``:
  the code before issue 19 item 4);
- reduced: the same with ``PlumeOperator.matrix`` cut to the sources within reach
  (:mod:`ecopatrol.processing.attribution_reach`, an exact cut).

``--modes a,b`` picks the configurations (default all three; the baseline takes ~20 min).

Each child reports the wall time of ``attribute`` and its memory: the tracemalloc peak of the
call (Python/numpy allocations) and the child's peak RSS (``getrusage``). Printed as a table with
the ratios baseline / reduced, and how the two agree on the emitters (enterprise probability of
the archive's true emitters, the 5 most probable enterprises).

    .venv/bin/python benchmarks/bench_attribution.py [--modes reduced-nocut,reduced]
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path("/tmp/ecopatrol-bench/attr-day")
ARGS = ROOT / "attribute_args.pkl"


class _Captured(Exception):
    pass


def _prepare() -> dict:
    import geopandas as gpd
    import pandas as pd

    from ecopatrol.core.area import load_area
    from ecopatrol.processing import attribution, evidence
    from ecopatrol.processing.archive_synth import synth_archive

    manifest = ROOT / "archive.json"
    if not manifest.exists():
        synth_archive(ROOT, days=1, vans=2, seed=0)
    m = json.loads(manifest.read_text())
    if not ARGS.exists():
        parts = sorted(ROOT.glob("date=*/platform=*/part-0.parquet"))
        s = pd.concat([gpd.read_parquet(p) for p in parts], ignore_index=True)

        def capture(*a, **k):
            ARGS.write_bytes(pickle.dumps((a, k)))
            raise _Captured

        orig = attribution.attribute
        attribution.attribute = capture
        try:
            evidence.build_evidence(s, load_area("jimo"), out_dir=ROOT / "evidence-prep")
        except _Captured:
            pass
        finally:
            attribution.attribute = orig
    return m


def _child(mode: str) -> None:
    import resource
    import tracemalloc

    from ecopatrol.processing import attribution, attribution_reach

    a, k = pickle.loads(ARGS.read_bytes())
    attribution.REDUCED_FIT = mode != "baseline"
    attribution_reach.REACH_CUT = mode == "reduced"
    tracemalloc.start()
    t = time.perf_counter()
    att, rates = attribution.attribute(*a, **k)
    wall = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ent = rates.groupby("enterprise_id")["enterprise_pip"].max()
    out = {"mode": mode, "wall_s": wall, "tracemalloc_peak_mb": peak / 1e6,
           "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "fit": rates.attrs.get("fit"), "enterprise_pip": ent.to_dict(), "n_rows": len(att)}
    print("RESULT " + json.dumps(out, default=str), flush=True)


def _run(mode: str) -> dict:
    p = subprocess.run([sys.executable, __file__, "--child", mode], capture_output=True, text=True, check=False)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{mode} run failed:\n{p.stderr[-3000:]}")


NAMES = {"baseline": "baseline: subsample (MAX_ROWS)", "reduced-nocut": "reduced, every source (no cut)",
         "reduced": "reduced + sources within reach"}


def main() -> int:
    modes = ["baseline", "reduced-nocut", "reduced"]
    if "--modes" in sys.argv:
        modes = sys.argv[sys.argv.index("--modes") + 1].split(",")
    t = time.perf_counter()
    m = _prepare()
    print(f"one van day: {m['n_samples']:,} samples ({m['vans']} vans × {m['hours']} h at {m['hz']} Hz), "
          f"inputs ready in {time.perf_counter() - t:.0f} s", flush=True)
    res = {mode: _run(mode) for mode in modes}
    print(f"\n{'configuration':<44}{'samples fitted':>15}{'time s':>9}{'tracemalloc MB':>16}{'max RSS MB':>12}")
    for mode, x in res.items():
        print(f"{NAMES[mode]:<44}{x['fit']['n_samples']:>15,}{x['wall_s']:>9.1f}{x['tracemalloc_peak_mb']:>16.0f}"
              f"{x['max_rss_mb']:>12.0f}")
    last = res[modes[-1]]
    for mode in modes[:-1]:
        b = res[mode]
        print(f"ratio {mode} / {modes[-1]}: time {b['wall_s'] / last['wall_s']:.2f}×, tracemalloc peak "
              f"{b['tracemalloc_peak_mb'] / last['tracemalloc_peak_mb']:.2f}×, max RSS "
              f"{b['max_rss_mb'] / last['max_rss_mb']:.2f}×")
        same = b["enterprise_pip"] == last["enterprise_pip"] and b["n_rows"] == last["n_rows"]
        print(f"  enterprise probabilities {mode} vs {modes[-1]}: {'identical' if same else 'differ'}")
    print(f"fit ({modes[-1]}): {json.dumps(last['fit'])}")
    print("true emitters (enterprise probability per configuration):")
    for e in m["emitters"]:
        eid = e["enterprise_id"]
        print(f"  {eid} {e['rate_g_s']:.2f} g/s: " + " → ".join(f"{res[x]['enterprise_pip'].get(eid, 0):.2f}"
                                                                  for x in modes))
    for mode, x in res.items():
        top = sorted(x["enterprise_pip"].items(), key=lambda kv: -kv[1])[:5]
        print(f"top 5 ({mode}): " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        sys.exit(main())
