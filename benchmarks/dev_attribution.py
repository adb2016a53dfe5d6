"""Development loop for the attribution: simulate scenarios once, re-run evidence + targets on them.

``prepare``: ``run_demo`` (no maps) of each seed and world into ``CACHE/WORLD/SEED`` (kept);
``screen``: the all-samples fits only (seconds per scenario once its design is cached), firms
ranked by their emission probability and registry risk — what BENCHMARKS.md's development
tables of issue 16 report; ``score``: for every cached scenario (run or only prepared: its alarms then computed from its
field's data loggers once, as ``run_demo`` does, into ``alarms.csv``), ``build_evidence`` + ``rank_targets`` again on its
``samples/`` with the current analysis code, scored against ``field/truth.json`` as
``bench_accuracy.py --simulator`` scores (top 3 / top 10, NNLS rate 0 of sampled emitters).
For development seeds only (0–99): the held-out seeds are run once, by ``bench_accuracy.py``.

    .venv/bin/python benchmarks/dev_attribution.py prepare --cache /tmp/dev --world lagrangian --seeds 0-9
    .venv/bin/python benchmarks/dev_attribution.py screen --cache /tmp/dev --jobs 2 --set attribution.SIGNAL_OBS_REL_SD=0.2
    .venv/bin/python benchmarks/dev_attribution.py score --cache /tmp/dev
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def simulate_only(out: Path, seed: int, world: str) -> None:
    """``run_demo``'s stages up to the samples (area, first-day plans, simulate, georef): no analysis."""
    from bench_accuracy import simulator_scenario

    from ecopatrol.core.area import export_area, load_area
    from ecopatrol.missions.drone import plan_drone, write_drone_plan
    from ecopatrol.missions.simulate import simulate
    from ecopatrol.missions.van import plan_van, write_van_plan
    from ecopatrol.pipeline import _georeference_field, initial_targets
    from ecopatrol.processing.georef import georeference
    from ecopatrol.processing.samples import write_samples

    wind, n_em = simulator_scenario(seed)
    out.mkdir(parents=True, exist_ok=True)
    export_area("jimo", out / "area")
    area = load_area(out / "area", strict=True)
    drone_targets, van_targets = initial_targets(area)
    write_drone_plan(plan_drone(area, drone_targets, wind, pattern="curtain", aircraft="m350", seed=seed), area,
                     out / "plans" / "drone")
    write_van_plan(plan_van(area, van_targets, wind, seed=seed), out / "plans" / "van")
    simulate(area, out / "plans", out / "field", seed=seed, wind=wind, n_emitters=n_em, world=world)
    write_samples(_georeference_field(out / "field", area, georeference), out / "samples")
    (out / "SIMULATED").write_text("ok\n")


def prepare(cache: Path, world: str, seeds: list[int]) -> None:
    for seed in seeds:
        out = cache / world / str(seed)
        if (out / "SIMULATED").exists() or (out / "targets.csv").exists():
            continue
        t = time.perf_counter()
        try:
            simulate_only(out, seed, world)
        except Exception as exc:  # noqa: BLE001 - a scenario the planner refuses: skipped, said so
            print(f"{world} seed {seed}: skipped ({str(exc)[:100]})", flush=True)
            continue
        print(f"{world} seed {seed}: simulated in {time.perf_counter() - t:.0f} s", flush=True)


def score_one(d: Path) -> dict:
    import geopandas as gpd

    from bench_accuracy import SAMPLED_MIN_N, SAMPLED_UGM3, simulator_scenario

    from ecopatrol.core.area import load_area
    from ecopatrol.processing.evidence import build_evidence
    from ecopatrol.processing.targeting import rank_targets

    seed = int(d.name)
    wind, _ = simulator_scenario(seed)
    area = load_area(d / "area")
    samples = gpd.read_parquet(d / "samples" / "samples.parquet")
    plan_path = d / "plans" / "drone" / "plan.json"
    with tempfile.TemporaryDirectory() as tmp:
        build_evidence(samples, area, out_dir=Path(tmp), wind=wind, seed=seed,
                       plan=json.loads(plan_path.read_text(encoding="utf-8")), plan_name=str(plan_path))
        alarms = d / "alarms.csv"
        if not alarms.exists() and (d / "SIMULATED").exists():  # prepared only: the demo's monitor stage
            from ecopatrol.pipeline import _monitor_alarms

            alarms = _monitor_alarms(d, area) or alarms
        targets = rank_targets(Path(tmp), area, alarms=alarms if alarms.exists() else None)
        rates = pd.read_csv(Path(tmp) / "rates.csv", dtype={"enterprise_id": str})
    tj = json.loads((d / "field" / "truth.json").read_text())
    truth = pd.DataFrame(tj["emitters"])
    true_rate = truth.groupby("enterprise_id")["rate_g_s"].sum()
    sampled = set(truth.loc[(truth["max_true_plume_on_samples_ugm3"] >= SAMPLED_UGM3)
                            & (truth["n_samples_true_plume_ge_5ugm3"] >= SAMPLED_MIN_N), "enterprise_id"])
    ids = targets["enterprise_id"].astype(str).tolist()
    est = rates.groupby("enterprise_id")["rate_g_s"].sum()
    ranks = {e: ids.index(e) + 1 for e in true_rate.index}
    emit = set(true_rate.index)
    p = targets["emit_probability"].astype(float).fillna(0.0).to_numpy()
    y = targets["enterprise_id"].isin(emit).to_numpy()
    return {"seed": seed, "world": d.parent.name, "n": len(emit), "ranks": ranks,
            "top3": sum(r <= 3 for r in ranks.values()), "top10": sum(r <= 10 for r in ranks.values()),
            "rate0": sum(est.get(e, 0.0) == 0 for e in sampled), "n_sampled": len(sampled),
            "err": [abs(est.get(e, 0.0) - r) / r for e, r in true_rate.items()],
            "p5": float(y[:5].mean()), "brier": float(((p - y) ** 2).sum()), "n_firms": len(p),
            "false10": [(i + 1, round(float(p[i]), 2)) for i in range(10) if not y[i]],
            "probs": [round(float(p[ids.index(e)]), 2) for e in true_rate.index]}


def apply_settings(settings: list[str]) -> None:
    """``processing_module.NAME=value`` (a Python literal): set an analysis constant, for A/B runs."""
    import ast
    import importlib

    for item in settings or []:
        name, _, value = item.partition("=")
        mod, _, attr = name.rpartition(".")
        m = importlib.import_module(f"ecopatrol.processing.{mod}")
        if not hasattr(m, attr):
            raise SystemExit(f"dev_attribution: {name} does not exist")
        setattr(m, attr, ast.literal_eval(value))


def score(cache: Path, worlds: list[str], jobs: int, seeds: list[int] | None, settings: list[str]) -> None:
    dirs = [d for w in worlds for d in sorted((cache / w).glob("*"), key=lambda p: int(p.name))
            if ((d / "targets.csv").exists() or (d / "SIMULATED").exists()) and (seeds is None or int(d.name) in seeds)]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, initializer=apply_settings, initargs=(settings,)) as ex:
            res = list(ex.map(score_one, dirs))
    else:
        apply_settings(settings)
        res = [score_one(d) for d in dirs]
    df = pd.DataFrame(res)
    for r in res:
        print(f"{r['world']:<10} seed {r['seed']:3d}: ranks {r['ranks']} p {r['probs']} rate0 {r['rate0']}/"
              f"{r['n_sampled']} false top10 {r['false10']}")
    for w, g in df.groupby("world"):
        n = g["n"].sum()
        err = np.concatenate([np.asarray(e, float) for e in g["err"]])
        print(f"{w}: {len(g)} scenarios, {n} emitters: top 3 {g['top3'].sum() / n:.1%}, top 10 "
              f"{g['top10'].sum() / n:.1%}; sampled with NNLS rate 0 {g['rate0'].sum()}/{g['n_sampled'].sum()}; "
              f"NNLS err median {np.median(err):.0%}; precision@5 {g['p5'].mean():.1%}; "
              f"Brier {g['brier'].sum() / g['n_firms'].sum():.5f}")


def _risk_term(area) -> np.ndarray:
    """The ranking's registry term per enterprise (0.05 × risk, × 0.3 on the positive list), as rank_targets."""
    from ecopatrol.processing.targeting import _industry_weight

    ent = area.enterprises
    last = pd.to_datetime(ent["last_inspected"], utc=True, errors="coerce")
    days = np.maximum(((pd.Timestamp("2026-05-13", tz="UTC") - last).dt.total_seconds() / 86400.0).to_numpy(float), 0)
    stale = np.where(np.isfinite(days), np.clip(days / 730.0, 0, 1), 1.0)
    viol = pd.to_numeric(ent["violations_3y"], errors="coerce").fillna(0).to_numpy(float)
    risk = (0.4 * ent["industry"].fillna("").map(_industry_weight).to_numpy(float)
            + 0.35 * np.clip(viol / 3, 0, 1) + 0.25 * stale)
    return 0.05 * risk * np.where(ent["positive_list"].fillna(False).astype(bool).to_numpy(), 0.3, 1.0)


def screen_one(args: tuple[str, list[str]]) -> dict:
    """The all-samples fits only (NNLS, signals) on one cached scenario; firms ranked by 0.95 × P(emits) + risk.

    The operator's design is cached per scenario (``screen_design.pkl``; delete it after changing
    the operator). The per-event rows of the ranking (weight 0.05) are left out.
    """
    import pickle

    from ecopatrol.core.area import load_area
    from ecopatrol.core.artefacts.samples import derived, read_samples
    from ecopatrol.processing import attribution as at
    from ecopatrol.processing import attribution_reduce as ar
    from ecopatrol.processing import plume
    from ecopatrol.processing._evidence_util import default_wind, usable_mask

    from bench_accuracy import simulator_scenario

    d, settings = Path(args[0]), args[1]
    apply_settings(settings)
    area = load_area(d / "area")
    cache = d / "screen_design.pkl"
    if cache.exists():
        op, enh, noise, red, species = pickle.loads(cache.read_bytes())
    else:
        s = read_samples(d / "samples")
        s = s[usable_mask(s)].reset_index(drop=True)
        ann = plume.annotate_btx(plume.annotate(s, species="tvoc_ugm3"))
        op = at.build_operator(ann, area, crs=area.metric_crs, wind=default_wind(area, simulator_scenario(int(d.name))[0]))
        enh, noise = (ann[derived("tvoc_ugm3", c)].to_numpy(float) for c in ("enh", "noise"))
        red = ar.reduced_design(op, enh, noise)
        species = at._species_rows(ann, op, area, "tvoc_ugm3")
        cache.write_bytes(pickle.dumps((op, enh, noise, red, species)))
    rates, _ = ar.estimate_rates_reduced(op, enh, noise, red)
    sig = ar.emission_signals_reduced(op, enh, noise, red, species=species)
    firm = op.sources["enterprise_id"].astype(str).to_numpy()
    pip = pd.Series(sig.group_pip(firm), index=firm).groupby(level=0).max()
    ids = area.enterprises["enterprise_id"].astype(str).to_numpy()
    p = pd.Series(ids).map(pip).fillna(0.0).to_numpy()
    order = np.lexsort((ids, -(0.95 * p + _risk_term(area))))
    ids, p = ids[order], p[order]
    em = [e["enterprise_id"] for e in json.loads((d / "field" / "truth.json").read_text())["emitters"]]
    ranks = [int(np.flatnonzero(ids == e)[0]) + 1 for e in em]
    y = np.isin(ids, em)
    nn = rates.groupby("enterprise_id")["rate_g_s"].sum()
    return {"world": d.parent.name, "seed": int(d.name), "n": len(em), "ranks": ranks,
            "top3": sum(r <= 3 for r in ranks), "top10": sum(r <= 10 for r in ranks),
            "rate0": sum(nn.get(e, 0.0) == 0 for e in em), "false_p50": int(((p >= 0.5) & ~y).sum()),
            "p5": float(y[:5].mean()), "sq": float(((p - y) ** 2).sum()), "n_firms": len(p),
            "probs": [round(float(pip.get(e, 0.0)), 2) for e in em]}


def screen(cache: Path, jobs: int, seeds: list[int] | None, settings: list[str]) -> None:
    """:func:`screen_one` over the seeds simulated in every world of ``cache``, then the scores per world."""
    from concurrent.futures import ProcessPoolExecutor

    worlds = sorted(p.name for p in cache.iterdir() if p.is_dir())
    have = [{p.name for p in (cache / w).iterdir() if (p / "field" / "truth.json").exists()
             and (p / "samples").exists()} for w in worlds]
    common = sorted((set.intersection(*have) if have else set()), key=int)
    common = [sd for sd in common if seeds is None or int(sd) in seeds]
    with ProcessPoolExecutor(jobs) as ex:
        res = list(ex.map(screen_one, [(str(cache / w / sd), settings) for w in worlds for sd in common]))
    for r in res:
        print(f"  {r['world']:<10} seed {r['seed']:3d}: ranks {r['ranks']} p {r['probs']} NNLS rate 0 {r['rate0']} "
              f"false firms p ≥ 0.5 {r['false_p50']}")
    df = pd.DataFrame(res)
    for w, g in df.groupby("world"):
        n = g["n"].sum()
        print(f"{' '.join(settings) or 'as committed'} | {w}: {len(g)} scenarios, {n} emitters: top 3 "
              f"{g['top3'].sum() / n:.1%}, top 10 {g['top10'].sum() / n:.1%}; NNLS rate 0 {g['rate0'].sum()}; "
              f"false firms p ≥ 0.5 {g['false_p50'].sum()}; precision@5 {g['p5'].mean():.1%}; "
              f"Brier {g['sq'].sum() / g['n_firms'].sum():.5f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["prepare", "score", "screen"])
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--world", nargs="+", default=["gaussian", "lagrangian"])
    ap.add_argument("--seeds", type=_seeds, default=None, help="LO-HI (development seeds, < 100)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--set", nargs="*", default=[], metavar="MODULE.NAME=VALUE",
                    help="score: set analysis constants first (e.g. model_error.ENABLED=False)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.what == "prepare":
        for w in args.world:
            prepare(args.cache, w, args.seeds or list(range(10)))
    elif args.what == "screen":
        screen(args.cache, max(args.jobs, 1), args.seeds, args.set)
    else:
        score(args.cache, args.world, args.jobs, args.seeds, args.set)


if __name__ == "__main__":
    main()
