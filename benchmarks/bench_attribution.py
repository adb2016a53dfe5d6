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

``--baseline-python PY`` (issue 19 item 4, second pass) instead compares the ``reduced`` mode of
another checkout — the interpreter ``PY`` of its venv, e.g. today's main — with this one, in the
same run, each configuration in a fresh child, interleaved ``--repeat`` times (medians):
``PY`` with its default BLAS threads, ``PY`` with ``OPENBLAS_NUM_THREADS=1``, this code with its
default (``attribution.BLAS_THREADS`` = 1) and this code with the library's threads
(``BLAS_THREADS = None``). It reports wall and CPU seconds, the ratios to the first, and how the
tables agree (largest relative difference of the numeric columns of ``attribution`` and ``rates``,
enterprise probabilities identical or not). ``--no-tracemalloc`` times the children without
tracemalloc (which traces every allocation and about doubles the CPU time of ``attribute``).

Each child reports the wall time of ``attribute`` and its memory: the tracemalloc peak of the
call (Python/numpy allocations) and the child's peak RSS (``getrusage``). Printed as a table with
the ratios baseline / reduced, and how the two agree on the emitters (enterprise probability of
the archive's true emitters, the 5 most probable enterprises).

    .venv/bin/python benchmarks/bench_attribution.py [--modes reduced-nocut,reduced]
    .venv/bin/python benchmarks/bench_attribution.py --baseline-python /work/main/.venv/bin/python [--repeat 3]
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


def _child(mode: str, dump: str | None = None, blas: str | None = None) -> None:
    import os
    import resource
    import tracemalloc

    from ecopatrol.processing import attribution, attribution_reach

    a, k = pickle.loads(ARGS.read_bytes())
    attribution.REDUCED_FIT = mode != "baseline"
    attribution_reach.REACH_CUT = mode == "reduced"
    if blas == "default" and hasattr(attribution, "BLAS_THREADS"):
        attribution.BLAS_THREADS = None  # the library's own thread count
    traced = os.environ.get("BENCH_ATTR_TRACEMALLOC", "1") == "1"  # --no-tracemalloc: time without its overhead
    if traced:
        tracemalloc.start()
    t, c = time.perf_counter(), time.process_time()
    att, rates = attribution.attribute(*a, **k)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    peak = tracemalloc.get_traced_memory()[1] if traced else float("nan")
    if traced:
        tracemalloc.stop()
    if dump:
        Path(dump).write_bytes(pickle.dumps((att, rates)))
    ent = rates.groupby("enterprise_id")["enterprise_pip"].max()
    out = {"mode": mode, "wall_s": wall, "cpu_s": cpu, "tracemalloc_peak_mb": peak / 1e6,
           "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "fit": rates.attrs.get("fit"), "enterprise_pip": ent.to_dict(), "n_rows": len(att)}
    print("RESULT " + json.dumps(out, default=str), flush=True)


def _run(mode: str, python: str | None = None, dump: str | None = None, blas: str | None = None,
         env: dict | None = None) -> dict:
    import os

    cmd = [python or sys.executable, __file__, "--child", mode, dump or "-", blas or "-"]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{mode} run failed:\n{p.stderr[-3000:]}")


def _agree(a: Path, b: Path) -> str:
    """How the (attribution, rates) pickled at ``a`` and ``b`` agree."""
    import numpy as np
    import pandas as pd

    (att_a, r_a), (att_b, r_b) = pickle.loads(a.read_bytes()), pickle.loads(b.read_bytes())
    worst, text_same = 0.0, True
    for x, y in ((att_a, att_b), (r_a, r_b)):
        if x.shape != y.shape:
            return f"differ in shape {x.shape} vs {y.shape}"
        for c in x.columns:
            if pd.api.types.is_numeric_dtype(x[c]) and pd.api.types.is_numeric_dtype(y[c]):
                xv, yv = x[c].to_numpy(float), y[c].to_numpy(float)
                if not np.array_equal(np.isnan(xv), np.isnan(yv)):
                    return f"differ: NaNs of {c}"
                d = np.abs(xv - yv) / np.maximum(1.0, np.abs(xv))
                worst = max(worst, float(np.nanmax(d)) if len(d) and not np.isnan(d).all() else 0.0)
            else:
                text_same &= bool((x[c].astype(str) == y[c].astype(str)).all())
    ea = r_a.groupby("enterprise_id")["enterprise_pip"].max()
    eb = r_b.groupby("enterprise_id")["enterprise_pip"].max()
    same = att_a.equals(att_b) and r_a.equals(r_b)
    return ("identical" if same else f"numbers within {worst:.1e} (relative), text columns "
            f"{'identical' if text_same else 'differ (explanations print rounded numbers)'}") + \
        f"; enterprise probabilities {'identical' if ea.equals(eb) else f'max |Δ| {float((ea - eb).abs().max()):.1e}'}"


def _compare(baseline_python: str, repeat: int) -> int:
    """``--baseline-python``: another checkout's reduced attribution against this one's, interleaved."""
    import os
    import statistics
    import tempfile

    configs = [("baseline code, its default BLAS threads", baseline_python, None, None),
               ("baseline code, OPENBLAS_NUM_THREADS=1", baseline_python, None, {"OPENBLAS_NUM_THREADS": "1"}),
               ("this code (BLAS_THREADS = 1)", None, None, None),
               ("this code, the library's BLAS threads", None, "default", None)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-attr-"))
    res: dict[int, list[dict]] = {i: [] for i in range(len(configs))}
    for rep in range(repeat):
        for i, (_, py, blas, env) in enumerate(configs):
            r = _run("reduced", py, str(tmp / f"c{i}.pkl"), blas, env)
            res[i].append(r)
            print(f"  run {rep + 1}/{repeat} {configs[i][0]}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    med = {i: (statistics.median(x["wall_s"] for x in v), statistics.median(x["cpu_s"] for x in v),
               max(x["max_rss_mb"] for x in v)) for i, v in res.items()}
    print(f"\n{'configuration (reduced fit, every sample)':<46}{'wall s':>9}{'CPU s':>8}{'max RSS MB':>12}"
          f"{'wall ratio':>12}{'CPU ratio':>11}")
    for i, (name, *_rest) in enumerate(configs):
        print(f"{name:<46}{med[i][0]:>9.1f}{med[i][1]:>8.1f}{med[i][2]:>12.0f}{med[0][0] / med[i][0]:>11.2f}×"
              f"{med[0][1] / med[i][1]:>10.2f}×")
    for i in range(1, len(configs)):
        print(f"agreement, {configs[i][0]} vs {configs[0][0]}: {_agree(tmp / 'c0.pkl', tmp / f'c{i}.pkl')}")
    print(f"agreement, {configs[2][0]} vs {configs[1][0]}: {_agree(tmp / 'c1.pkl', tmp / 'c2.pkl')}")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


NAMES = {"baseline": "baseline: subsample (MAX_ROWS)", "reduced-nocut": "reduced, every source (no cut)",
         "reduced": "reduced + sources within reach"}


def main() -> int:
    modes = ["baseline", "reduced-nocut", "reduced"]
    if "--no-tracemalloc" in sys.argv:  # tracemalloc traces every allocation: ~2× the CPU of attribute
        import os

        os.environ["BENCH_ATTR_TRACEMALLOC"] = "0"
    if "--baseline-python" in sys.argv:
        m = _prepare()
        print(f"one van day: {m['n_samples']:,} samples; baseline code: "
              f"{sys.argv[sys.argv.index('--baseline-python') + 1]}", flush=True)
        rep = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
        return _compare(sys.argv[sys.argv.index("--baseline-python") + 1], rep)
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
        _child(sys.argv[2], *[None if x == "-" else x for x in sys.argv[3:5]])
    else:
        sys.exit(main())
