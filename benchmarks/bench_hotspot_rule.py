"""Benchmark: hotspot polygons only where there is signal (issue 13), on real and simulated surveys.

Gi* alone (what ``build_evidence`` drew before this change, the named baseline, run here in the
same process: :func:`~ecopatrol.processing.hotspots.hotspot_polygons` without ``signal``) against
Gi* plus the noise rule (:data:`~ecopatrol.processing.hotspots.HOTSPOT_RULE`, what
``build_evidence`` draws now).

1. **Real surveys**: each of the eight Picarro CFADS van surveys in ``../shared/data/mobile``
   georeferenced with the documented 4 s inlet lag, then the evidence chain without an area,
   for ``ch4_ppm``; plus two plume-free stretches of them (after the last plume of
   ``cfads_20170315-155022Z``, and ``cfads_20170325-135913Z`` between its plumes). Per row:
   CH4 range, background and noise, events, segments significant by Gi*, above the threshold,
   both, polygons (all levels) with Gi* alone and with the rule, and how many of the rule's
   90 % polygons lie within 100 m of an event peak.
2. **Simulated surveys** (``tests/plume_world.street_survey``: ten streets driven twice, 275
   segments): pure white noise, correlated noise (20 s and 60 s), and a plume of 3 σ and 5 σ
   per sample at one crossing. Per case: the share of surveys given at least one polygon by
   Gi* alone, by Gi* + a 3 σ rule, and by Gi* + the rule.

Run: ``.venv/bin/python benchmarks/bench_hotspot_rule.py [--data ../shared/data/mobile] [--seeds 20]``
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
FLAT_WINDOWS = (("cfads_20170315-155022Z", "16:17", "16:28"), ("cfads_20170325-135913Z", "14:05", "14:28"))


def evaluate(samples, species: str, out: Path, rules=()) -> dict:
    """The evidence chain on ``samples`` and the polygon counts with Gi* alone, ``rules`` and the rule."""
    from ecopatrol.processing import hotspots as hs
    from ecopatrol.processing.evidence import build_evidence

    r = build_evidence(samples, None, out_dir=out, species=species)
    seg_rule = r.summary["hotspot_rule"]["segments"]
    enh = f"{species}_enh"
    segs = r.segments.to_crs(r.grid.crs) if len(r.segments) else r.segments
    has_gi = len(segs) and "hot_confidence" in segs.columns
    before = len(hs.hotspot_polygons(segs, segs, value=enh, buffer_m=15.0)) if has_gi else 0
    variants = {}
    for name, rule in rules:
        if not has_gi:
            variants[name] = 0
            continue
        sig = hs.signal_mask(segs, value=enh, noise=seg_rule["noise"], background=seg_rule["background"], rule=rule)
        variants[name] = len(hs.hotspot_polygons(segs, segs, value=enh, buffer_m=15.0, signal=sig["hot_signal"],
                                                 min_samples=rule.min_samples))
    hot = r.hotspots.to_crs(r.grid.crs)
    outer = hot[hot["confidence"] == 90] if len(hot) else hot
    near = 0
    if len(outer) and len(r.events):
        peaks = shapely.points(*np.asarray(r.events.to_crs(r.grid.crs).geometry.get_coordinates()).T)
        near = int(sum(shapely.distance(g, peaks).min() <= 100.0 for g in outer.geometry))
    return {"result": r, "rule": seg_rule, "before": before, "after": len(hot), "after_90": len(outer),
            "near_event": near, "outer": outer, **variants}


def real_rows(data: Path) -> list[dict]:
    from ecopatrol.processing.georef import georeference

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(f.stem, f, None, None) for f in sorted(data.glob("*.dat"))]
        runs += [(f"{n} {a}–{b} UTC (no plume)", data / f"{n}.dat", a, b) for n, a, b in FLAT_WINDOWS
                 if (data / f"{n}.dat").exists()]
        for label, path, a, b in runs:
            s = georeference([], [path], lag=4.0).samples
            if a is not None:
                t = pd.to_datetime(s["time_utc"], utc=True)
                day = t.min().strftime("%Y-%m-%d")
                keep = (t >= pd.Timestamp(f"{day} {a}Z")) & (t < pd.Timestamp(f"{day} {b}Z"))
                s = s[keep.to_numpy()].reset_index(drop=True)
            e = evaluate(s, "ch4_ppm", Path(tmp) / "ev")
            rr = e["rule"]
            rows.append({"survey": label, "rows": len(s), "ch4_min": float(s["ch4_ppm"].min()),
                         "ch4_max": float(s["ch4_ppm"].max()), "background": rr["background"], "noise": rr["noise"],
                         "threshold": rr["threshold_one_pass"], "events": e["result"].summary["n_events"],
                         "segments": rr["n_features"], "gi": rr["n_gi_significant"], "above": rr["n_above_threshold"],
                         "both": rr["n_gi_significant_and_above"], "before": e["before"], "after": e["after"],
                         "after_90": e["after_90"], "near_event": e["near_event"]})
    return rows


def simulated_rows(seeds: int) -> list[dict]:
    import geopandas as gpd

    sys.path.insert(0, str(ROOT / "tests"))
    from plume_world import CRS_M, X0, Y0, street_survey

    from ecopatrol.processing.hotspots import HOTSPOT_RULE, HotspotRule

    three = HotspotRule(k_noise=3.0)
    cases = [("white noise", {"noise": "white"}), ("correlated noise, 20 s", {"noise": "correlated", "tau_s": 20.0}),
             ("correlated noise, 60 s", {"noise": "correlated", "tau_s": 60.0}),
             ("correlated 20 s + plume of 3 σ", {"noise": "correlated", "plume": ((400.0, 500.0), 18.0, 40.0)}),
             ("correlated 20 s + plume of 5 σ", {"noise": "correlated", "plume": ((400.0, 500.0), 30.0, 40.0)})]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in cases:
            got = {"gi": 0, "three": 0, "rule": 0, "near": 0}
            for seed in range(seeds):
                e = evaluate(street_survey(seed, **kw), "tvoc_ugm3", Path(tmp) / "ev", rules=[("three", three)])
                got["gi"] += e["before"] > 0
                got["three"] += e["three"] > 0
                got["rule"] += e["after"] > 0
                if "plume" in kw and len(e["outer"]):  # every 90 % polygon within 100 m of the plume's centre
                    (px, py), _, _ = kw["plume"]
                    centre = gpd.GeoSeries(shapely.points([X0 + px], [Y0 + py]), crs=CRS_M).to_crs(e["outer"].crs)
                    got["near"] += bool((e["outer"].distance(centre.iloc[0]) <= 100.0).all())
            rows.append({"case": name, "seeds": seeds, **got, "k": HOTSPOT_RULE.k_noise})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mobile")
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if args.data.is_dir():
        print("| survey | rows | CH4 ppm | background / noise ppm | threshold (1 pass) ppm | events | segments | "
              "Gi* significant | above threshold | both | polygons, Gi* alone | polygons, Gi* + rule | "
              "rule's 90 % polygons within 100 m of an event |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in real_rows(args.data):
            print(f"| {r['survey']} | {r['rows']} | {r['ch4_min']:.3f}–{r['ch4_max']:.3f} | "
                  f"{r['background']:.3f} / {r['noise']:.4f} | {r['threshold']:.3f} | {r['events']} | {r['segments']} | "
                  f"{r['gi']} | {r['above']} | {r['both']} | {r['before']} | {r['after']} | "
                  f"{r['near_event']} / {r['after_90']} |")
    else:
        print(f"{args.data} not found: real surveys skipped")
    print()
    print("| simulated survey | surveys | with polygons: Gi* alone | Gi* + 3 σ | Gi* + rule (5 σ) | "
          "rule's polygons all at the plume |")
    print("|---|---|---|---|---|---|")
    for r in simulated_rows(args.seeds):
        at = f"{r['near']} / {r['rule']}" if "plume" in r["case"] else "–"
        print(f"| {r['case']} | {r['seeds']} | {r['gi']} | {r['three']} | {r['rule']} | {at} |")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
