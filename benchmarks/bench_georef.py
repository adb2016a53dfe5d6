"""Benchmark: align + interpolate + project a 10-million-sample day, on one core.

Ours: clock offset and lag applied to the sample times, the track (10 Hz for 24 h, 864 000
fixes) projected once to UTM, ``interpolate_track`` (searchsorted + lerp of x, y, lon, lat,
alt, gap check) for every sample; and the variant that inverse-projects every sample's
metric position with one vectorised pyproj call ("exact").

Baseline (named, measured in the same run): a plain ``pandas.merge_asof`` (nearest fix,
no interpolation, no gap handling) followed by a per-row ``Transformer.transform`` call to
get each sample's UTM position, measured on a subsample and extrapolated linearly.

Run: ``.venv/bin/python benchmarks/bench_georef.py [--samples 10000000] [--baseline-rows 50000]``
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")


def make_day(n_samples: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t0 = 1_778_544_000.0  # 2026-05-12T00:00:00Z
    t_track = t0 + np.arange(0.0, 86_400.0, 0.1)
    # A van wandering around Jimo at ~8 m/s: smooth random heading.
    heading = np.cumsum(rng.normal(0, 0.02, t_track.size))
    lon = 120.45 + np.cumsum(8 * 0.1 * np.sin(heading)) / 89_700.0
    lat = 36.38 + np.cumsum(8 * 0.1 * np.cos(heading)) / 111_000.0
    # 30 GPS gaps of 10 s.
    keep = np.ones(t_track.size, bool)
    for s in rng.integers(0, t_track.size - 200, 30):
        keep[s:s + 100] = False
    t_sens = np.sort(rng.uniform(t0 + 30, t0 + 86_370, n_samples))  # instrument clock
    return t_track[keep], lon[keep], lat[keep], t_sens


def ours(t_track, lon, lat, t_sens, offset_s, lag_s, *, exact=False):
    from ecopatrol.core.crs import local_metric_crs, lonlat_to_xy, xy_to_lonlat
    from ecopatrol.processing.align import TrackArrays, interpolate_track

    crs = local_metric_crs(lon[:1000], lat[:1000])
    x, y = lonlat_to_xy(lon, lat, crs)
    tr = TrackArrays(t_track, np.asarray(x), np.asarray(y), lon, lat, np.zeros_like(lon))
    t_air = t_sens - offset_s - lag_s
    it = interpolate_track(tr, t_air, max_gap_s=5.0)
    if exact:
        lo, la = xy_to_lonlat(it.x, it.y, crs)
        return it.ok, lo, la
    return it.ok, it.lon, it.lat


def baseline(t_track, lon, lat, t_sens, offset_s, lag_s):
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
    track = pd.DataFrame({"t": t_track, "lon": lon, "lat": lat})
    s = pd.DataFrame({"t": t_sens - offset_s - lag_s})
    m = pd.merge_asof(s, track, on="t", direction="nearest")
    xs, ys = [], []
    for lo, la in zip(m["lon"].to_numpy(), m["lat"].to_numpy(), strict=True):
        x, y = tr.transform(lo, la)
        xs.append(x)
        ys.append(y)
    return np.array(xs), np.array(ys)


def timed(fn, *a, **k):
    """Best of two timed runs (no tracing), then one run under tracemalloc for the peak."""
    best = np.inf
    for _ in range(2):
        gc.collect()
        t = time.perf_counter()
        out = fn(*a, **k)
        best = min(best, time.perf_counter() - t)
        del out
    gc.collect()
    tracemalloc.start()
    out = fn(*a, **k)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, best, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10_000_000)
    ap.add_argument("--baseline-rows", type=int, default=50_000)
    a = ap.parse_args()
    t_track, lon, lat, t_sens = make_day(a.samples)
    print(f"track fixes {t_track.size:,}; samples {t_sens.size:,}")
    ours(t_track[:1000], lon[:1000], lat[:1000], t_sens[:10], 25.0, 9.0)  # warm caches
    (ok, lo, la), dt, peak = timed(ours, t_track, lon, lat, t_sens, 25.0, 9.0)
    rate = t_sens.size / dt
    print(f"ours (lerp lon/lat):   {dt:6.2f} s  {rate / 1e6:6.2f} M samples/s  peak traced {peak / 1e6:7.0f} MB  "
          f"({ok.mean():.3%} inside track)")
    (_, lo2, la2), dt2, peak2 = timed(ours, t_track, lon, lat, t_sens, 25.0, 9.0, exact=True)
    rate2 = t_sens.size / dt2
    dev = np.nanmax(np.abs(np.r_[lo[ok] - lo2[ok], la[ok] - la2[ok]])) * 111_000
    print(f"ours (exact inverse):  {dt2:6.2f} s  {rate2 / 1e6:6.2f} M samples/s  peak traced {peak2 / 1e6:7.0f} MB  "
          f"(max |lerp − exact| = {dev * 1000:.3f} mm)")
    sub = np.sort(np.random.default_rng(1).choice(t_sens, a.baseline_rows, replace=False))
    _, dtb, peakb = timed(baseline, t_track, lon, lat, sub, 25.0, 9.0)
    rate_b = sub.size / dtb
    print(f"baseline merge_asof + per-row pyproj on {sub.size:,} rows: {dtb:6.2f} s  {rate_b / 1e3:7.1f} k samples/s"
          f"  → {t_sens.size / rate_b:7.0f} s extrapolated for {t_sens.size:,}  peak traced {peakb / 1e6:5.0f} MB")
    print(f"speed-up vs baseline: {rate / rate_b:,.0f}× (lerp), {rate2 / rate_b:,.0f}× (exact)")
    print(f"target ≥ 2 M samples/s: {'met' if rate >= 2e6 else 'NOT met'}")
    print(f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    main()
