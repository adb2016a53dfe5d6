"""Inline factory for the electricity rules: a fleet of meter boxes, each firm with its behaviour.

A helper module, not a test module: ``tests/test_alarms_vectorised.py`` and
``benchmarks/bench_alarms.py`` import it. :func:`meter_fleet` writes a ``monitors.csv`` for
``n_firms`` synthetic firms (read back with :func:`~ecopatrol.core.monitors.load_monitors`) and
returns the stored records their meters send (the columns of ``monitor.alarms.read_records``):
real-time active power (CN 2011, ``CODE-Pt``, kW) every ``step_s`` seconds with a little jitter,
plus an energy total (``CODE-Ep``) the rules must ignore. The firms cycle through
:data:`BEHAVIOURS`, one for every electricity rule and its edge cases (a treatment that flickers
around a threshold, runs cut by gaps, two production lines, a meter without its partner, no rated
power, a meter box whose row names no codes). The same ``seed`` gives the same fleet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

#: What a firm's treatment (and production) does, cycled over the fleet.
BEHAVIOURS = ("normal", "stopped", "idle", "derated", "late_start", "anticorrelated", "night", "flicker",
              "normal_two_lines", "stopped_no_rating", "treatment_only", "production_only", "gappy", "all_codes")
START_UTC = datetime(2026, 5, 11, 16, 0, tzinfo=UTC)  # 00:00 local (UTC+8)


def _local_h(t: np.ndarray) -> np.ndarray:
    return ((t - np.datetime64("2026-05-11T16:00")) / np.timedelta64(1, "h")) % 24.0


def _production(behaviour: str, h: np.ndarray, rng) -> np.ndarray:
    """Production load as a share of rated power at local hours ``h``."""
    if behaviour == "night":
        on = (h >= 22) | (h < 6)
        return np.where(on, 0.8, 0.05) + 0.03 * rng.standard_normal(len(h))
    if behaviour == "anticorrelated":  # runs round the clock with a load that swings over the day
        return 0.65 + 0.3 * np.sin(2 * np.pi * h / 24) + 0.02 * rng.standard_normal(len(h))
    on = (h >= 8) & (h < 18)
    return np.where(on, 0.75, 0.02) + 0.04 * rng.standard_normal(len(h))


def _treatment(behaviour: str, h: np.ndarray, prod: np.ndarray, rng) -> np.ndarray:
    """Treatment load as a share of rated power."""
    on = (h >= 7.8) & (h < 18.2)  # a compliant fan starts before production and stops after it
    noise = 0.03 * rng.standard_normal(len(h))
    if behaviour in ("stopped", "stopped_no_rating"):
        return np.where(on, 0.01, 0.02) + 0.002 * rng.standard_normal(len(h))
    if behaviour == "idle":
        return np.where(on, 0.15, 0.02) + noise / 3
    if behaviour == "derated":
        return np.where(on, 0.5, 0.02) + noise
    if behaviour == "late_start":
        return np.where((h >= 8.75) & (h < 18.2), 0.85, 0.02) + noise
    if behaviour == "anticorrelated":
        return 1.45 - prod + noise
    if behaviour == "night":
        return np.where((h >= 21.8) | (h < 6.2), 0.85, 0.02) + noise
    if behaviour == "flicker":  # around the idle and derated thresholds, 20 min each
        phase = np.floor(h * 3) % 3
        return np.where(on, np.choose(phase.astype(int), [0.9, 0.25, 0.6]), 0.02) + noise
    return np.where(on, 0.85, 0.02) + noise


def meter_fleet(n_firms: int, folder: str | Path, *, hours: float = 36.0, step_s: int = 60, seed: int = 0):
    """``(records, monitors)`` of ``n_firms`` metered firms over ``hours`` from :data:`START_UTC`."""
    from ecopatrol.core.monitors import load_monitors

    rng = np.random.default_rng([seed, 37822])
    n = int(hours * 3600 // step_s)
    base = np.datetime64(START_UTC.replace(tzinfo=None)) + np.arange(n) * np.timedelta64(step_s, "s")
    rows, frames = [], []
    for k in range(n_firms):
        b = BEHAVIOURS[k % len(BEHAVIOURS)]
        e, mn = f"FIRM{k:05d}", f"3702820000PWR{k:08d}"
        jitter = rng.integers(0, 20, n).astype("timedelta64[s]")
        t = base + jitter + np.timedelta64(int(rng.integers(0, step_s)), "s")
        keep = np.ones(n, dtype=bool)
        if b == "gappy" or rng.random() < 0.2:  # a logger silent for a while (or several times)
            for _ in range(1 + 2 * (b == "gappy")):
                g0 = int(rng.integers(0, n - 1))
                keep[g0:g0 + int(rng.integers(5, 120))] = False
        t, h = t[keep], _local_h(t[keep])
        prod = _production(b, h, rng)
        treat = _treatment(b, h, prod, rng)
        rated_p, rated_t = float(rng.integers(40, 200)), float(rng.integers(10, 40))
        no_rating = b in ("stopped_no_rating", "gappy") or rng.random() < 0.3
        meters = []
        if b != "treatment_only":
            meters.append(("production_meter", "100001", prod * rated_p))
            if b == "normal_two_lines":
                meters.append(("production_meter", "100003", _production("normal", h, rng) * rated_p * 0.5))
        if b != "production_only":
            meters.append(("treatment_meter", "100002", treat * rated_t))
        for kind, code, p in meters:
            rated = "" if no_rating else (rated_p if kind == "production_meter" else rated_t)
            codes = "" if b == "all_codes" and kind == "treatment_meter" else code
            if b == "all_codes" and kind == "treatment_meter":  # one meter box row, its items on two codes
                mn_t = mn + "T"
                rows.append([mn_t, e, kind, codes, "Pt", rated])
                half = np.maximum(p, 0.0) / 2
                for c in ("200001", "200002"):
                    frames.append(_records(mn_t, c, t, half + 0.01 * rng.standard_normal(len(t))))
                continue
            rows.append([mn, e, kind, codes, "Pt", rated])
            v = np.maximum(p, 0.0)
            v[rng.random(len(v)) < 0.002] = np.nan  # a value that does not parse
            frames.append(_records(mn, code, t, v))
            frames.append(_records(mn, code, t, np.cumsum(np.nan_to_num(v)) / 60, suffix="Ep"))
    path = Path(folder) / "monitors.csv"
    pd.DataFrame(rows, columns=["mn", "enterprise_id", "kind", "codes", "power_suffix", "rated_kw"]).to_csv(
        path, index=False)
    rec = pd.concat(frames, ignore_index=True)
    return rec, load_monitors(path)


def _records(mn: str, code: str, t: np.ndarray, v: np.ndarray, suffix: str = "Pt") -> pd.DataFrame:
    again = np.flatnonzero(np.arange(len(t)) % 89 == 7)  # a packet sent twice, its value a little different
    t = np.r_[t, t[again]]
    v = np.r_[v, v[again] * 1.01]
    n = len(t)
    return pd.DataFrame({"mn": mn, "cn": "2011", "data_time_utc": pd.DatetimeIndex(t).tz_localize("UTC"),
                         "pollutant_code": code, "pollutant_code_2017": None, "suffix": suffix,
                         "value": np.round(v, 3), "flag": np.where(np.arange(n) % 97 == 5, "M", "N")})


__all__ = ["BEHAVIOURS", "START_UTC", "meter_fleet"]
