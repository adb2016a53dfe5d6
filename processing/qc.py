"""QA flags on georeferenced samples and pass segmentation (vectorised).

Flags (``qa_flags`` column, ``|``-joined, empty when clean):

``gps_quality``  the fixes around the sample were not 3-D (``gps_fix < 3``) or HDOP > ``max_hdop``
``speed_spike``  the track segment implies a speed above ``max_speed_m_s`` (a GPS jump)
``saturated``    the value sits at the instrument's ceiling (declared full scale, or the
                 column maximum repeated ``saturation_run`` times or more in a row)
``negative``     a concentration below zero (analysers report negative noise near zero)
``stationary``   the platform moved slower than ``stationary_speed_m_s``
``instrument_status``  the analyser's Status column says something other than OK
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLAG_NAMES = ("gps_quality", "speed_spike", "saturated", "negative", "stationary", "instrument_status")
OK_STATUS = {"", "ok", "normal", "0", "nan", "none", "good", "正常"}


def join_flags(flags: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Vectorised ``'|'.join`` of the names whose boolean arrays are true, per row."""
    out = pd.Series([""] * n, dtype=object)
    for name, mask in flags.items():
        m = np.asarray(mask, dtype=bool)
        if not m.any():
            continue
        add = np.where(out.to_numpy() == "", name, out.to_numpy() + "|" + name)
        out = pd.Series(np.where(m, add, out.to_numpy()), dtype=object)
    return out.to_numpy()


def saturation_mask(values: np.ndarray, *, full_scale: float | None = None, run: int = 5) -> np.ndarray:
    """True at values ≥ ``full_scale`` or in runs (≥ ``run``) of the column's maximum value."""
    v = np.asarray(values, dtype=float)
    if not np.isfinite(v).any():
        return np.zeros(len(v), dtype=bool)
    if full_scale is not None:
        return v >= full_scale
    at_max = v == np.nanmax(v)
    if at_max.sum() < run:
        return np.zeros(len(v), dtype=bool)
    # run lengths of consecutive True
    grp = np.cumsum(~at_max)
    counts = pd.Series(at_max).groupby(grp).transform("sum").to_numpy()
    return at_max & (counts >= run)


def qa_flags(
    frame: pd.DataFrame,
    species: list[str],
    *,
    gps_fix: np.ndarray | None = None,
    hdop: np.ndarray | None = None,
    segment_speed_m_s: np.ndarray | None = None,
    max_hdop: float = 5.0,
    max_speed_m_s: float = 40.0,
    stationary_speed_m_s: float = 0.5,
    full_scale: dict[str, float] | None = None,
) -> np.ndarray:
    """The ``qa_flags`` strings for ``frame`` (samples) as a numpy object array."""
    n = len(frame)
    flags: dict[str, np.ndarray] = {}
    if gps_fix is not None or hdop is not None:
        bad = np.zeros(n, dtype=bool)
        if gps_fix is not None:
            bad |= np.nan_to_num(np.asarray(gps_fix, float), nan=3.0) < 3
        if hdop is not None:
            bad |= np.nan_to_num(np.asarray(hdop, float), nan=0.0) > max_hdop
        flags["gps_quality"] = bad
    speed = frame["speed_m_s"].to_numpy(float) if "speed_m_s" in frame else np.full(n, np.nan)
    seg = np.asarray(segment_speed_m_s, float) if segment_speed_m_s is not None else speed
    flags["speed_spike"] = np.nan_to_num(seg, nan=0.0) > max_speed_m_s
    sat = np.zeros(n, dtype=bool)
    neg = np.zeros(n, dtype=bool)
    for c in species:
        v = frame[c].to_numpy(float)
        sat |= saturation_mask(v, full_scale=(full_scale or {}).get(c))
        neg |= np.nan_to_num(v, nan=0.0) < 0
    flags["saturated"] = sat
    flags["negative"] = neg
    flags["stationary"] = np.nan_to_num(speed, nan=np.inf) < stationary_speed_m_s
    if "status" in frame:
        st = frame["status"].astype(str).str.strip().str.lower()
        flags["instrument_status"] = ~st.isin(OK_STATUS).to_numpy()
    return join_flags(flags, n)


def segment_passes(
    t_s: np.ndarray,
    vx_m_s: np.ndarray,
    vy_m_s: np.ndarray,
    *,
    max_gap_s: float = 5.0,
    stationary_speed_m_s: float = 0.5,
    turn_deg: float = 120.0,
    window_s: float = 5.0,
) -> np.ndarray:
    """Pass numbers (1, 2, …) for time-sorted samples.

    A new pass starts after a time gap > ``max_gap_s``, when the platform starts or stops
    (speed crosses ``stationary_speed_m_s``), and when its heading, averaged over
    ``window_s``, turns by more than ``turn_deg`` relative to ``window_s`` earlier (the
    turn at the end of a transect or a U-turn of the van).
    """
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
    # One boundary per turn: the first sample of each run of "turned", and the turn must
    # not re-trigger within window_s of the previous boundary.
    start_turn = turned & ~np.r_[False, turned[:-1]]
    new |= start_turn
    new[0] = False
    return (np.cumsum(new) + 1).astype("int64")
