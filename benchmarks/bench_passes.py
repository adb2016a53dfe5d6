"""Benchmark: passes and "confirmed" plumes before and after issue 14, on the simulator and real surveys.

The baseline is named and run in the same process: the segmentation before this change
(:func:`legacy_segment_passes`: a pass starts whenever the speed crosses 0.5 m/s, at a time
gap and at a turn of > 120° over 5 s) and the confirmation before it (a plume seen on ≥ 2
passes, whatever they were). After: :func:`ecopatrol.processing.qc.segment_passes`
(:data:`~ecopatrol.processing.qc.PASS_RULE`) and :func:`ecopatrol.processing.plume.detect_events`
(:data:`~ecopatrol.processing.plume.CONFIRM_RULE`: ≥ 2 independent sightings).

1. **Simulator**: a demo folder (``ecopatrol demo --out DIR``; run into a temporary folder when
   ``--demo`` is not given), its field files georeferenced both ways. Per mission: the planned
   legs (van: the route's legs; drone: the sortie's planned transects, background leg included),
   the passes, the median samples per pass, and the passes shorter than the minimum
   (:attr:`PassRule.min_pass_s` and :attr:`PassRule.min_pass_m`) not at an edge or gap. Events
   (TVOC) with the number confirmed: before (legacy passes, ≥ 2 passes), with the new passes
   but the old rule, and after (new passes, independent sightings).
2. **Real surveys**: each Picarro CFADS van survey in ``../shared/data/mobile`` georeferenced
   with the documented 4 s inlet lag; the same columns, plus an independent count of the driven
   legs from the vehicle's own speed signal (``CAR_SPEED``, not the GPS positions the
   segmentation uses): stretches moving at ≥ 1.5 m/s separated by stops below 0.5 m/s for ≥ 60 s,
   plus those stops, and the events on ``ch4_ppm``.

Run: ``.venv/bin/python benchmarks/bench_passes.py [--demo DIR] [--data ../shared/data/mobile]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def legacy_segment_passes(t_s, vx_m_s, vy_m_s, *, max_gap_s: float = 5.0, stationary_speed_m_s: float = 0.5,
                          turn_deg: float = 120.0, window_s: float = 5.0, **_ignored) -> np.ndarray:
    """The pass segmentation before issue 14 (the baseline), as it was in ``processing/qc.py``."""
    t = np.asarray(t_s, float)
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype="int64")
    vx = np.nan_to_num(np.asarray(vx_m_s, float))
    vy = np.nan_to_num(np.asarray(vy_m_s, float))
    sp = np.hypot(vx, vy)
    moving = sp >= stationary_speed_m_s
    new = np.zeros(n, dtype=bool)
    new[1:] |= np.diff(t) > max_gap_s
    new[1:] |= moving[1:] != moving[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = np.where(sp > 0, vx / sp, 0.0)
        uy = np.where(sp > 0, vy / sp, 0.0)
    idx = pd.to_datetime(t * 1e9)
    sx = pd.Series(ux, index=idx).rolling(f"{max(window_s, 0.1)}s", min_periods=1).mean().to_numpy()
    sy = pd.Series(uy, index=idx).rolling(f"{max(window_s, 0.1)}s", min_periods=1).mean().to_numpy()
    back = np.clip(np.searchsorted(t, t - window_s), 0, n - 1)
    dot = sx * sx[back] + sy * sy[back]
    norm = np.hypot(sx, sy) * np.hypot(sx[back], sy[back])
    with np.errstate(invalid="ignore", divide="ignore"):
        cosang = np.where(norm > 0.25, dot / norm, 1.0)
    turned = (cosang < np.cos(np.radians(turn_deg))) & moving
    new |= turned & ~np.r_[False, turned[:-1]]
    new[0] = False
    return (np.cumsum(new) + 1).astype("int64")


@contextmanager
def legacy_passes():
    """Georeference with the baseline segmentation (``georef`` calls ``qc.segment_passes``)."""
    from ecopatrol.processing import qc

    keep = qc.segment_passes
    qc.segment_passes = legacy_segment_passes
    try:
        yield
    finally:
        qc.segment_passes = keep


def pass_stats(samples: pd.DataFrame) -> pd.DataFrame:
    """Per mission: passes, median samples per pass, passes under the minimum (not at an edge or gap)."""
    from ecopatrol.processing.qc import PASS_RULE
    from ecopatrol.processing._evidence_util import metric_xy

    x, y, _ = metric_xy(samples)
    d = pd.DataFrame({"m": samples["mission_id"].astype(str).to_numpy(), "p": samples["pass_id"].to_numpy(),
                      "t": (pd.to_datetime(samples["time_utc"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(),
                      "x": x, "y": y}).sort_values(["m", "t"], kind="stable")
    rows = []
    for m, g in d.groupby("m", sort=True):
        t = g["t"].to_numpy()
        gap = np.r_[True, np.diff(t) > PASS_RULE.max_gap_s]
        per = g.assign(gap=gap).groupby("p", sort=True).agg(
            n=("t", "size"), t0=("t", "min"), t1=("t", "max"), x0=("x", "min"), x1=("x", "max"),
            y0=("y", "min"), y1=("y", "max"), starts_at_gap=("gap", "first"))
        per["ends_at_gap"] = np.r_[per["starts_at_gap"].to_numpy()[1:], True]
        dur = per["t1"] - per["t0"]
        ext = np.hypot(per["x1"] - per["x0"], per["y1"] - per["y0"])
        short = (dur < PASS_RULE.min_pass_s) & (ext < PASS_RULE.min_pass_m)
        inner = ~(per["starts_at_gap"] | per["ends_at_gap"])
        rows.append({"mission": m, "passes": len(per), "median_samples": float(per["n"].median()),
                     "short_inner": int((short & inner).sum())})
    return pd.DataFrame(rows)


def events_of(samples: pd.DataFrame, species: str) -> pd.DataFrame:
    """Plume events as ``build_evidence`` finds them (QA-usable samples, then annotate, then detect)."""
    from ecopatrol.processing import plume
    from ecopatrol.processing._evidence_util import usable_mask

    s = samples[usable_mask(samples)].reset_index(drop=True)
    ev, _ = plume.detect_events(plume.annotate(s, species=species), species=species)
    return ev


def both_ways(georef_call, species: str) -> dict:
    """Pass statistics and confirmed counts with the baseline and the new rules."""
    with legacy_passes():
        old = georef_call().samples
    new = georef_call().samples
    ev_old, ev_new = events_of(old, species), events_of(new, species)
    return {"old": pass_stats(old), "new": pass_stats(new), "events_old": len(ev_old), "events_new": len(ev_new),
            "conf_before": int((ev_old["n_passes"] >= 2).sum()) if len(ev_old) else 0,
            "conf_new_passes_old_rule": int((ev_new["n_passes"] >= 2).sum()) if len(ev_new) else 0,
            "conf_after": int(ev_new["confirmed"].sum()) if len(ev_new) else 0}


def planned_legs(demo: Path, samples: pd.DataFrame) -> dict[str, str]:
    """What the plans predict per mission, to compare with the passes.

    Van: the route's legs, the U-turns of its path (a heading change of > 120° at a vertex: the
    segmentation cuts there and at stops and gaps, not at every leg) and the gaps in its record.
    Drone: the sortie's sampled legs (background and curtain levels) and how many of them the
    passes recover as a pass of their own (≥ 90 % of the leg's samples, mid-leg at its height,
    in one pass, no two legs sharing it)."""
    from ecopatrol.core.crs import lonlat_to_xy
    from ecopatrol.processing._evidence_util import metric_xy

    out = {}
    x, y, crs = metric_xy(samples)
    t = (pd.to_datetime(samples["time_utc"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    mission = samples["mission_id"].astype(str).to_numpy()
    van = demo / "plans" / "van" / "plan.json"
    if van.is_file():
        for r in json.loads(van.read_text())["routes"]:
            px, py = lonlat_to_xy(*np.asarray(r["path"], float)[:, :2].T, crs)
            h = np.degrees(np.arctan2(np.diff(px), np.diff(py)))
            turns = int((np.abs((np.diff(h) + 180) % 360 - 180) > 120).sum())
            m = mission == str(r["route_id"])
            gaps = int((np.diff(np.sort(t[m])) > 5.0).sum())
            out[str(r["route_id"])] = f"{len(r.get('legs') or [])} legs, {turns} U-turns, {gaps} gaps in the record"
    drone = demo / "plans" / "drone" / "plan.json"
    if drone.is_file():
        for srt in json.loads(drone.read_text())["sorties"]:
            m = mission == str(srt["sortie_id"])
            wps = [w for w in srt["waypoints"] if w.get("pass_id") is not None]
            modal, ok = [], 0
            for pid in sorted({w["pass_id"] for w in wps}):
                lv = [w for w in wps if w["pass_id"] == pid]
                wx, wy = lonlat_to_xy(np.array([w["lon"] for w in lv]), np.array([w["lat"] for w in lv]), crs)
                a, b = np.array([wx[0], wy[0]]), np.array([wx[-1], wy[-1]])
                length = float(np.linalg.norm(b - a))
                if length < 1.0:
                    continue
                u = (b - a) / length
                along = (x - a[0]) * u[0] + (y - a[1]) * u[1]
                off = np.abs(-(x - a[0]) * u[1] + (y - a[1]) * u[0])
                on = m & (along > 0.2 * length) & (along < 0.8 * length) & (off < 10.0) & \
                    (np.abs(samples["alt_agl_m"].to_numpy(float) - lv[0]["alt_agl_m"]) < 3.0)
                if on.sum() == 0:
                    continue
                counts = samples.loc[on, "pass_id"].value_counts()
                if counts.iloc[0] >= 0.9 * on.sum():
                    modal.append(int(counts.index[0]))
                    ok += 1
            ok = ok if len(set(modal)) == len(modal) else len(set(modal))
            n_legs = len({w["pass_id"] for w in wps})
            out[str(srt["sortie_id"])] = f"{n_legs} sampled legs, {ok} of them a pass of their own"
    return out


def demo_rows(demo: Path) -> tuple[list[dict], dict]:
    from ecopatrol.core.area import load_area
    from ecopatrol.pipeline import _georeference_field
    from ecopatrol.processing.georef import georeference

    area = load_area(demo / "area")
    call = lambda: _georeference_field(demo / "field", area, georeference)  # noqa: E731
    res = both_ways(call, "tvoc_ugm3")
    with legacy_passes():
        legs_before = planned_legs(demo, call().samples)
    legs = planned_legs(demo, call().samples)
    rows = []
    for o, n in zip(res["old"].itertuples(), res["new"].itertuples(), strict=True):
        rows.append({"mission": o.mission, "planned": legs.get(o.mission), "planned_before": legs_before.get(o.mission),
                     "before": o.passes, "after": n.passes,
                     "med_before": o.median_samples, "med_after": n.median_samples,
                     "short_before": o.short_inner, "short_after": n.short_inner})
    return rows, res


def vehicle_legs(path: Path, *, stopped_m_s: float = 0.5, moving_m_s: float = 1.5, dwell_s: float = 60.0,
                 gap_s: float = 5.0) -> tuple[int, int]:
    """Moving stretches and stops of a Picarro survey from the vehicle's own speed signal alone.

    Independent of the GPS positions the segmentation uses: ``CAR_SPEED``. A stop is ≥ ``dwell_s``
    below ``stopped_m_s``; a moving stretch lies between stops and time gaps (> ``gap_s``) and
    reaches ``moving_m_s``. U-turns are not in it (counted by eye from the tracks, BENCHMARKS.md).
    Returns ``(moving stretches, stops)``."""
    raw = pd.read_csv(path, sep=r"\s+", usecols=["EPOCH_TIME", "CAR_SPEED"], low_memory=False)
    raw = raw.apply(pd.to_numeric, errors="coerce").dropna().sort_values("EPOCH_TIME")
    t, v = raw["EPOCH_TIME"].to_numpy(), raw["CAR_SPEED"].to_numpy()
    rec = np.cumsum(np.r_[True, np.diff(t) > gap_s])
    low = v < stopped_m_s
    run = np.cumsum(np.r_[True, (low[1:] != low[:-1]) | (rec[1:] != rec[:-1])])
    r = pd.DataFrame({"run": run, "t": t, "low": low}).groupby("run").agg(t0=("t", "min"), t1=("t", "max"),
                                                                            low=("low", "first"))
    stop_run = (r["low"] & (r["t1"] - r["t0"] >= dwell_s)).to_numpy()
    stop = stop_run[run - 1]
    leg = np.cumsum(np.r_[True, (stop[1:] != stop[:-1]) | (rec[1:] != rec[:-1])])
    vmax = pd.Series(np.where(stop, 0.0, v)).groupby(leg).max()
    return int((vmax >= moving_m_s).sum()), int(stop_run.sum())


def real_rows(data: Path) -> list[dict]:
    from ecopatrol.processing.georef import georeference

    rows = []
    for f in sorted(data.glob("*.dat")):
        res = both_ways(lambda f=f: georeference([], [f], lag=4.0), "ch4_ppm")
        o, n = res["old"].iloc[0], res["new"].iloc[0]
        moving, stops = vehicle_legs(f)
        rows.append({"survey": f.stem, "car_moving": moving, "car_stops": stops, "before": int(o.passes),
                     "after": int(n.passes), "med_before": o.median_samples, "med_after": n.median_samples,
                     "short_before": int(o.short_inner), "short_after": int(n.short_inner), **{
                         k: res[k] for k in ("events_old", "events_new", "conf_before", "conf_new_passes_old_rule",
                                             "conf_after")}})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", type=Path, default=None, help="an `ecopatrol demo` output folder (default: run one)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mobile")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        demo = args.demo
        if demo is None:
            from ecopatrol.pipeline import run_demo

            demo = Path(tmp) / "demo"
            run_demo(demo, maps=False)
        rows, res = demo_rows(demo)
    print(f"Simulator demo ({demo}):\n")
    print("| mission | plan (after) | plan (before) | passes before | after | median samples / pass before | after | "
          "passes under the minimum (inner) before | after |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mission']} | {r['planned']} | {r['planned_before']} | {r['before']} | {r['after']} | "
              f"{r['med_before']:g} | {r['med_after']:g} | {r['short_before']} | {r['short_after']} |")
    print(f"\nTVOC events: {res['events_old']} before, {res['events_new']} after; confirmed: "
          f"{res['conf_before']} before, {res['conf_new_passes_old_rule']} with the new passes and the old rule, "
          f"{res['conf_after']} after")
    if args.data.is_dir():
        print("\nReal Picarro surveys (CH4, 4 s lag):\n")
        print("| survey | CAR_SPEED: moving stretches / stops ≥ 60 s | passes before | after | median samples / "
              "pass before | after | under the minimum (inner) before | after | events before / after | "
              "confirmed before | new passes, old rule | after |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in real_rows(args.data):
            print(f"| {r['survey']} | {r['car_moving']} / {r['car_stops']} | {r['before']} | {r['after']} | "
                  f"{r['med_before']:g} | {r['med_after']:g} | {r['short_before']} | {r['short_after']} | "
                  f"{r['events_old']} / {r['events_new']} | {r['conf_before']} | {r['conf_new_passes_old_rule']} | "
                  f"{r['conf_after']} |")
    else:
        print(f"{args.data} not found: real surveys skipped")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
