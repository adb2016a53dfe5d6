"""Season benchmark (issue 19 items 2–4): a synthetic archive attributed and ranked on Dask.

Synthesises once (and reuses) ``--days`` × ``--vans`` van-days of 8 h at 1 Hz (``archive_synth``,
seed 0, the bundled Jimo area, its emitters emitting on a day with probability ``--p-emit``; 30 × 4
is ~3.5 M samples) under ``/tmp/ecopatrol-bench/season-D×V``, then, each in a fresh child process:

- ``--workers-compare N``: the first N partitions (date order) on a LocalCluster of 1 and of 2
  single-threaded worker processes (:func:`~ecopatrol.processing.archive_evidence.season_over_archive`):
  partitions per minute and samples per second, and the ratio;
- the whole archive on ``--workers`` workers: wall time (evidence of every partition + season targets),
  peak memory (the sum of the RSS of the child and its worker processes, sampled every 0.5 s) — or,
  if ``--budget-s`` runs out first, the partitions done by then and the throughput they show
  (the run is stopped, the figures say so);
- season-target accuracy of the full run: of the true emitters (``archive.json`` ``emitters`` with
  their ``days_emitting``), those whose plume the samples of an emitting day covered (the ledger's
  coverage test of that partition) — are they in the season top 10, and in the top 10 of the last
  surveyed day alone (today's single-day ranking, ``rank_targets`` on that day's folders combined)?

    nice -n 10 .venv/bin/python benchmarks/bench_season.py [--days 30] [--vans 4] [--hours 8] [--p-emit 0.5]
        [--workers-compare 8] [--budget-s 1500] [--skip-full] [--seed 0] [--malloc-baseline] [--json]
    … --rescore [--baseline-rev REV]   (a finished run's evidence, scored by the season.py of REV and of this tree)

``--malloc-baseline`` runs each measured configuration first with distributed's own worker
environment (``MALLOC_TRIM_THRESHOLD_=65536``, "trim on") and then with the season's
``SEASON_WORKER_MALLOC`` (this code), same partitions, and compares their outputs.

``--rescore`` builds no evidence: it scores the evidence folders of a finished full run twice, with
the season targets of ``--baseline-rev`` (default: main before the season model, the union
``1 − Π(1 − e_d)``) and with today's, the same coverage for both, and prints the true emitters'
season ranks before and after and both top 10s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path("/tmp/ecopatrol-bench")


class _OutOfTime(Exception):
    pass


def _archive(days: int, vans: int, p_emit: float, hours: float = 8.0, seed: int = 0) -> Path:
    from ecopatrol.processing.archive_synth import synth_archive

    root = BENCH / f"season-{days}x{vans}-p{p_emit:g}" if hours == 8.0 else \
        BENCH / f"season-{days}x{vans}x{hours:g}h-p{p_emit:g}"
    if seed:  # seed 0 keeps the folder names of the runs recorded in BENCHMARKS.md
        root = root.with_name(f"{root.name}-s{seed}")
    if not (root / "archive.json").exists():
        synth_archive(root, days=days, vans=vans, seed=seed, p_emit=p_emit, hours=hours)
    return root


def _subset(root: Path, n: int) -> Path:
    """The first ``n`` partitions of ``root`` (date order) as an archive of links."""
    sub = root.parent / f"{root.name}-first{n}"
    parts = sorted(root.glob("date=*/platform=*/part-0.parquet"))[:n]
    for p in parts:
        d = sub / p.parent.parent.name / p.parent.name
        d.mkdir(parents=True, exist_ok=True)
        if not (d / p.name).exists():
            (d / p.name).symlink_to(p)
    return sub


class _PeakRSS:
    """Peak of the summed RSS of this process and its children, sampled in a thread."""

    def __init__(self):
        import psutil

        self.proc, self.peak, self._stop = psutil.Process(), 0, False
        self.t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop:
            try:
                rss = self.proc.memory_info().rss + sum(c.memory_info().rss for c in self.proc.children(recursive=True))
            except Exception:  # noqa: BLE001 - a child ending mid-sample
                rss = 0
            self.peak = max(self.peak, rss)
            time.sleep(0.5)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self.t.join()


def _child(archive: str, out: str, workers: int, budget_s: float, malloc: str = "season") -> None:
    import logging

    from ecopatrol.processing import archive_evidence
    from ecopatrol.processing.archive_evidence import season_over_archive

    if malloc == "trim":  # the baseline: distributed's own worker environment (MALLOC_TRIM_THRESHOLD_=65536)
        archive_evidence.SEASON_WORKER_MALLOC = {}

    logging.disable(logging.WARNING)
    t0 = time.perf_counter()
    done: list[float] = []

    def progress(stage, n, total):
        if n > len(done):
            done.append(time.perf_counter() - t0)
        if budget_s and time.perf_counter() - t0 > budget_s and n < total:
            raise _OutOfTime

    n_samples = n_parts = None
    finished = True
    with _PeakRSS() as mem:
        try:
            res = season_over_archive(archive, out, "jimo", workers=workers, processes=True,
                                      progress=progress)
            s = json.loads((Path(out) / "season.json").read_text())
            n_samples, n_parts = s["n_samples"], s["n_partitions"]
            del res
        except _OutOfTime:
            finished = False
    wall = time.perf_counter() - t0
    print("RESULT " + json.dumps({"workers": workers, "wall_s": wall, "finished": finished, "done_s": done,
                                  "n_samples": n_samples, "n_partitions": n_parts, "peak_rss_mb": mem.peak / 1e6}),
          flush=True)


def _run(archive: Path, out: Path, workers: int, budget_s: float = 0.0, python: str | None = None,
         malloc: str = "season") -> dict:
    import os

    load_before = os.getloadavg()[0]
    p = subprocess.run([python or sys.executable, __file__, "--child", str(archive), str(out), str(workers),
                        str(budget_s), malloc], capture_output=True, text=True, check=False)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return {**json.loads(line[7:]), "load_before": load_before, "load_after": os.getloadavg()[0]}
    raise RuntimeError(f"season run failed:\n{p.stderr[-3000:]}")


def _samples_of(archive: Path, n: int) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(archive.glob("date=*/platform=*/*.parquet"))[:n])


def _accuracy(root: Path, out: Path) -> dict:
    """Emitters covered on an emitting day: found in the season top 10 / the last day's top 10."""
    import pandas as pd

    from ecopatrol.core.area import load_area
    from ecopatrol.processing.season import season_targets

    m = json.loads((root / "archive.json").read_text())
    t = pd.read_csv(out / "targets.csv", dtype={"enterprise_id": str}).set_index("enterprise_id")
    h = pd.read_csv(out / "history.csv", dtype={"enterprise_id": str})
    last = h["date"].max()
    last_dirs = sorted((out / "runs" / f"date={last}").glob("platform=*/evidence"))
    day = season_targets(last_dirs, load_area("jimo")).targets.set_index("enterprise_id")
    rows = []
    for e in m["emitters"]:
        eid = e["enterprise_id"]
        he = h[(h["enterprise_id"] == eid) & h["date"].isin(e["days_emitting"])]
        covered = bool((he["covered"].astype(str) == "True").any())
        rows.append({"enterprise_id": eid, "rate_g_s": e["rate_g_s"], "days_emitting": len(e["days_emitting"]),
                     "covered_emitting_days": int((he["covered"].astype(str) == "True").sum()),
                     "days_seen_emitting": int(((h["enterprise_id"] == eid) & (h["status"] == "emitting")).sum()),
                     "season_rank": int(t.loc[eid, "rank"]), "last_day_rank": int(day.loc[eid, "rank"]),
                     "emits_last_day": last in e["days_emitting"], "covered": covered})
    cov = [r for r in rows if r["covered"]]
    return {"emitters": rows, "n_emitters": len(rows), "n_covered_on_an_emitting_day": len(cov),
            "season_top10": sum(r["season_rank"] <= 10 for r in cov),
            "last_day_top10": sum(r["last_day_rank"] <= 10 for r in cov), "last_day": last}


BASELINE_REV = "7a63a87"  # main before the season model: processing/season.py's union 1 − Π(1 − e_d)


def _baseline_season(rev: str):
    """``processing/season.py`` as committed at ``rev``, imported beside today's (its relative imports
    resolve to today's targeting, so only the season combination differs)."""
    import importlib.util
    import tempfile

    repo = Path(__file__).resolve().parents[1]
    src = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:processing/season.py"], capture_output=True,
                         text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "season_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("ecopatrol.processing._season_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _rescore(root: Path, out: Path, rev: str) -> dict:
    """Score the same evidence folders of a finished run both ways: the season targets of ``rev``
    (the baseline) and of today's code, with the same coverage (the ledger's test of each run,
    computed once and kept in ``OUT/coverage.json``). Returns the true emitters' ranks both ways."""
    from ecopatrol.core.area import load_area
    from ecopatrol.processing.season import day_coverage, season_targets

    area = load_area("jimo")
    dirs = sorted(out.glob("runs/date=*/platform=*/evidence"))
    cpath = out / "coverage.json"
    if cpath.exists():
        cov = json.loads(cpath.read_text())
    else:
        cov = {str(d): day_coverage(d, area) for d in dirs}
        cpath.write_text(json.dumps(cov))
    coverage = [cov[str(d)] for d in dirs]
    old = _baseline_season(rev).season_targets(dirs, area, coverage=coverage)
    new = season_targets(dirs, area, coverage=coverage)
    m = json.loads((root / "archive.json").read_text())
    truth = {e["enterprise_id"]: e for e in m["emitters"]}
    h = new.history
    rows = []
    for eid, e in truth.items():
        he = h[h["enterprise_id"] == eid]
        emit = he["date"].isin(e["days_emitting"])
        rows.append({"enterprise_id": eid, "rate_g_s": e["rate_g_s"], "days_emitting": int(emit.sum()),
                     "covered_emitting_days": int((he["covered"].astype(str) == "True")[emit].sum()),
                     "days_seen_emitting": int((he["status"] == "emitting").sum()),
                     "days_weak": int((he["status"] == "weak").sum()),
                     "days_clean_covered": int((he["status"] == "clean").sum())})
    doc = {"n_days": int(h["date"].nunique()), "n_folders": len(dirs), "baseline": rev, "emitters": rows}
    for name, res in (("before", old), ("after", new)):
        t = res.targets.set_index("enterprise_id")
        for r in rows:
            r[f"rank_{name}"] = int(t.loc[r["enterprise_id"], "rank"])
            r[f"p_{name}"] = float(t.loc[r["enterprise_id"], "emit_probability"])
        top = res.targets.head(10)
        doc[f"top10_{name}"] = [{"rank": int(x.rank), "enterprise_id": x.enterprise_id, "true": x.enterprise_id in truth,
                                 "n_days_emitting": int(x.n_days_emitting), "emit_probability": float(x.emit_probability),
                                 "score": float(x.score)} for x in top.itertuples()]
        truth_v = res.targets["enterprise_id"].isin(list(truth)).to_numpy(float)
        doc[f"brier_{name}"] = float(((res.targets["emit_probability"].to_numpy(float) - truth_v) ** 2).mean())
        doc[f"expected_in_top10_{name}"] = float(top["emit_probability"].sum())
        doc[f"true_in_top10_{name}"] = sum(r[f"rank_{name}"] <= 10 for r in rows)
        doc[f"true_in_top3_{name}"] = sum(r[f"rank_{name}"] <= 3 for r in rows)
    doc["clean_firm_days"] = int((h["status"] == "clean").sum())
    return doc


def _print_rescore(doc: dict) -> None:
    print(f"same evidence ({doc['n_folders']} folders, {doc['n_days']} days) scored by season.py of {doc['baseline']} "
          f"(before) and of this tree (after):", flush=True)
    print("| true emitter | rate | days emitting | covered on an emitting day | days seen emitting / weak | "
          "covered clean days | rank before (p) | rank after (p) |", flush=True)
    for r in doc["emitters"]:
        print(f"| {r['enterprise_id']} | {r['rate_g_s']:.2f} g/s | {r['days_emitting']} | {r['covered_emitting_days']} | "
              f"{r['days_seen_emitting']} / {r['days_weak']} | {r['days_clean_covered']} | {r['rank_before']} "
              f"({r['p_before']:.4f}) | {r['rank_after']} ({r['p_after']:.4f}) |", flush=True)
    for k in ("before", "after"):
        print(f"{k}: true emitters in the top 3 / top 10: {doc[f'true_in_top3_{k}']} / {doc[f'true_in_top10_{k}']} of "
              f"{len(doc['emitters'])}; Σ p over the top 10 {doc[f'expected_in_top10_{k}']:.2f}; Brier score (every "
              f"firm) {doc[f'brier_{k}']:.5f}; top 10 (days seen emitting, p): " + ", ".join(
                  f"{x['rank']}:{'TRUE ' if x['true'] else ''}{x['n_days_emitting']}d {x['emit_probability']:.4f}"
                  for x in doc[f"top10_{k}"]), flush=True)


def _same_season(a: Path, b: Path) -> str:
    """How two season outputs agree: every run's ``attribution.csv`` and ``rates.csv``, and ``targets.csv``."""
    import numpy as np
    import pandas as pd

    worst, n, notes = 0.0, 0, []
    for fa in sorted(a.glob("runs/date=*/platform=*/evidence/*.csv")) + [a / "targets.csv"]:
        fb = b / fa.relative_to(a)
        x, y = pd.read_csv(fa, dtype={"enterprise_id": str}), pd.read_csv(fb, dtype={"enterprise_id": str})
        n += 1
        if x.shape != y.shape:
            notes.append(f"{fa.relative_to(a)}: shape {x.shape} vs {y.shape}")
            continue
        for c in x.columns:
            if pd.api.types.is_numeric_dtype(x[c]) and pd.api.types.is_numeric_dtype(y[c]):
                d = np.abs(x[c].to_numpy(float) - y[c].to_numpy(float)) / np.maximum(1.0, np.abs(x[c].to_numpy(float)))
                worst = max(worst, float(np.nanmax(d)) if len(d) and not np.isnan(d).all() else 0.0)
            elif not (x[c].fillna("").astype(str) == y[c].fillna("").astype(str)).all():
                notes.append(f"{fa.relative_to(a)}: column {c} differs")
    return f"{n} tables, numbers within {worst:.1e} (relative)" + (f"; {'; '.join(notes[:5])}" if notes else
                                                                  ", ids and ranks identical")


def _print_accuracy(root: Path, out: Path) -> dict:
    """:func:`_accuracy` of the season in ``out``, printed (a summary line, then one per emitter)."""
    acc = _accuracy(root, out)
    print(f"true emitters covered on an emitting day: {acc['n_covered_on_an_emitting_day']} of "
          f"{acc['n_emitters']}; in the season top 10: {acc['season_top10']}; in the last day's "
          f"({acc['last_day']}) top 10: {acc['last_day_top10']}", flush=True)
    for e in acc["emitters"]:
        print(f"  {e}", flush=True)
    return acc


def _print_versus(cmp: dict, name: str, throughput_of: str, agreement_with: str, out_other: Path,
                  out_this: Path) -> None:
    """Print this code's throughput against code ``name`` on 1 and 2 workers, then whether
    the two 2-worker outputs ``out_other`` and ``out_this`` agree."""
    for w in (1, 2):
        print(f"{w} worker(s): this code {cmp[name][w]['wall_s'] / cmp['this'][w]['wall_s']:.2f}× "
              f"{throughput_of}", flush=True)
    print(f"agreement {agreement_with}: " + _same_season(out_other, out_this), flush=True)


def _resume(root: Path, out: Path) -> None:
    """Finish a run stopped by ``--budget-s`` in this process: the partitions without evidence, the
    coverage test of the others (their evidence is reused), then the season targets and histories."""
    import time as _t

    from ecopatrol.core.area import load_area
    from ecopatrol.processing.archive_evidence import _partitions, _season, evidence_partition, run_dir_of
    from ecopatrol.processing.ledger.coverage import assess_run

    area = load_area("jimo")
    t0 = _t.perf_counter()
    results = []
    for p in _partitions(root):
        run = run_dir_of(out, p)
        if (run / "evidence" / "evidence.json").exists():
            s = json.loads((run / "evidence" / "evidence.json").read_text())
            results.append({"key": p.key, "evidence_dir": str(run / "evidence"), "n_samples": s["n_samples"],
                            "n_events": s["n_events"], "seconds": None, "assessment": assess_run(run, area)})
        else:
            results.append(evidence_partition(p, area, str(out)))
    _season(results, area, out, db=None, top=None, path="resumed in-memory", extra={
        "seconds_resume": round(_t.perf_counter() - t0, 1)})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--vans", type=int, default=4)
    ap.add_argument("--p-emit", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0, help="archive_synth seed (the world: emitters, winds, drives)")
    ap.add_argument("--hours", type=float, default=8.0, help="driving hours per van-day")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workers-compare", type=int, default=8, help="partitions for 1 vs 2 workers (0: skip)")
    ap.add_argument("--budget-s", type=float, default=0.0, help="stop the full run after this long (0: no limit)")
    ap.add_argument("--skip-full", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--baseline-python", default=None,
                    help="also run the workers comparison with this interpreter (another checkout's venv, e.g. main)")
    ap.add_argument("--malloc-baseline", action="store_true",
                    help="also run with distributed's worker malloc setting (MALLOC_TRIM_THRESHOLD_=65536, the "
                         "trim on) as the baseline, before this code's SEASON_WORKER_MALLOC, same partitions")
    ap.add_argument("--resume", action="store_true", help="finish a stopped full run in-process, then accuracy")
    ap.add_argument("--rescore", action="store_true",
                    help="score a finished run's evidence folders with the baseline season.py and today's (no evidence built)")
    ap.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of the baseline processing/season.py")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="with --rescore: a season-model constant of processing.season for the 'after' scoring "
                         "(SEASON_PRIOR, DAY_MAX, MISS_PROB, DAY_CORRELATION), for sensitivity on development seeds")
    a = ap.parse_args()
    t = time.perf_counter()
    root = _archive(a.days, a.vans, a.p_emit, a.hours, a.seed)
    m = json.loads((root / "archive.json").read_text())
    print(f"archive: {m['n_samples']:,} samples in {m['partitions']} partitions ({a.days} days × {a.vans} vans), "
          f"ready in {time.perf_counter() - t:.0f} s", flush=True)
    doc: dict = {"archive": str(root), "n_samples": m["n_samples"], "n_partitions": m["partitions"]}
    if a.rescore:
        from ecopatrol.processing import season

        for kv in a.set:
            k, v = kv.split("=", 1)
            if k not in ("SEASON_PRIOR", "DAY_MAX", "MISS_PROB", "DAY_CORRELATION"):
                ap.error(f"--set {k}: not a season-model constant")
            setattr(season, k, float(v))
            print(f"after: processing.season.{k} = {v}", flush=True)
        doc["rescore"] = r = _rescore(root, BENCH / f"season-out-{root.name}-w{a.workers}", a.baseline_rev)
        _print_rescore(r)
        if a.json:
            print(json.dumps(doc, indent=1, default=str))
        return 0
    if a.workers_compare:
        sub = _subset(root, a.workers_compare)
        n = _samples_of(sub, a.workers_compare)
        codes = [("baseline", a.baseline_python, "season", "-baseline")] if a.baseline_python else []
        codes += [("trim-on", None, "trim", "-trim")] if a.malloc_baseline else []
        codes += [("this", None, "season", "")]
        cmp: dict = {}
        for w in (1, 2):
            for name, py, malloc, suffix in codes:
                out_w = BENCH / f"season-out-first{a.workers_compare}-w{w}{suffix}"
                r = _run(sub, out_w, w, python=py, malloc=malloc)
                r["partitions_per_min"] = 60 * a.workers_compare / r["wall_s"]
                r["samples_per_s"] = n / r["wall_s"]
                r["extrapolated_archive_min"] = m["partitions"] / r["partitions_per_min"]
                cmp.setdefault(name, {})[w] = r
                print(f"{name} code: {a.workers_compare} partitions ({n:,} samples) on {w} worker(s): "
                      f"{r['wall_s']:.0f} s, {r['partitions_per_min']:.2f} partitions/min, "
                      f"{r['samples_per_s']:,.0f} samples/s, peak RSS {r['peak_rss_mb']:.0f} MB "
                      f"(→ {r['extrapolated_archive_min']:.0f} min for all {m['partitions']}; load "
                      f"{r['load_before']:.1f} → {r['load_after']:.1f})", flush=True)
        if a.malloc_baseline:
            _print_versus(cmp, "trim-on", "the throughput with the trim on", "with the trim on (2 workers)",
                          BENCH / f"season-out-first{a.workers_compare}-w2-trim",
                          BENCH / f"season-out-first{a.workers_compare}-w2")
            print("agreement 1 vs 2 workers: " + _same_season(
                BENCH / f"season-out-first{a.workers_compare}-w1",
                BENCH / f"season-out-first{a.workers_compare}-w2"), flush=True)
        for name, *_ in codes:
            print(f"{name} code, 2 vs 1 worker: throughput × {cmp[name][1]['wall_s'] / cmp[name][2]['wall_s']:.2f}",
                  flush=True)
        if a.baseline_python:
            _print_versus(cmp, "baseline", "the baseline's throughput", "with the baseline",
                          BENCH / f"season-out-first{a.workers_compare}-w2-baseline",
                          BENCH / f"season-out-first{a.workers_compare}-w2")
        doc["workers_compare"] = cmp
    if a.resume:
        out = BENCH / f"season-out-{root.name}-w{a.workers}"
        _resume(root, out)
        doc["accuracy"] = _print_accuracy(root, out)
    elif not a.skip_full:
        out = BENCH / f"season-out-{root.name}-w{a.workers}"
        if a.malloc_baseline:
            rb = _run(root, out.with_name(out.name + "-trim"), a.workers, a.budget_s, malloc="trim")
            doc["full_trim_on"] = rb
            kb = len(rb["done_s"])
            print(f"trim on (baseline), full archive on {a.workers} workers: " + (
                f"{rb['wall_s']:.0f} s ({rb['wall_s'] / 60:.1f} min)" if rb["finished"] else
                f"stopped after {rb['wall_s']:.0f} s (--budget-s), {kb} of {m['partitions']} partitions done "
                f"({kb / rb['done_s'][-1] * 60 if kb else 0:.2f} partitions/min)") +
                f", peak RSS {rb['peak_rss_mb']:.0f} MB; load {rb['load_before']:.1f} → {rb['load_after']:.1f}",
                flush=True)
        r = _run(root, out, a.workers, a.budget_s)
        doc["full"] = r
        k = len(r["done_s"])
        if r["finished"]:
            print(f"full archive on {a.workers} workers: {r['wall_s']:.0f} s ({r['wall_s'] / 60:.1f} min), "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB; load {r['load_before']:.1f} → {r['load_after']:.1f}",
                  flush=True)
            if a.malloc_baseline and doc["full_trim_on"]["finished"]:
                print("agreement with the trim on: " + _same_season(out.with_name(out.name + "-trim"), out), flush=True)
            doc["accuracy"] = _print_accuracy(root, out)
        else:
            rate = k / r["done_s"][-1] * 60 if k else 0.0
            eta = m["partitions"] / rate if rate else float("inf")
            print(f"full archive on {a.workers} workers: stopped after {r['wall_s']:.0f} s (--budget-s) with {k} of "
                  f"{m['partitions']} partitions done: {rate:.2f} partitions/min → ~{eta:.0f} min for all; "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    if a.json:
        print(json.dumps(doc, indent=1, default=str))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), *sys.argv[6:7])
    else:
        sys.exit(main())
