"""Platforms and instruments of the simulator: motion, GPS errors and analysers.

Private plumbing of :mod:`ecopatrol.missions.simulate`. Positions are metres in the
area's metric CRS (``x`` east, ``y`` north, ``z`` metres AMSL); times are seconds since
the simulation epoch.

Motion is a sequence of straight segments flown with a trapezoidal speed profile:
acceleration-limited, slowing for turns (corner speed falls with the turn angle),
stopping for holds. Speed limits are propagated forward and backward over the
vertices, so every segment is feasible; positions at any time are then evaluated
analytically and vectorised over times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from ._world import ar1

DRONE_ACCEL_M_S2 = 2.0
DRONE_CLIMB_M_S = 3.0
DRONE_DESCENT_M_S = 2.0
VAN_ACCEL_M_S2 = 1.2
VAN_TRANSIT_SPEED_M_S = 11.0
VAN_MIN_TURN_SPEED_M_S = 3.0
CLOCK_DRIFT_PPM = 20.0


@dataclass
class Profile:
    """A piecewise trapezoidal motion along 3-D segments starting at ``t_start_s``."""

    t_start_s: float
    seg_t0_s: np.ndarray
    seg_dur_s: np.ndarray
    seg_len_m: np.ndarray
    p0: np.ndarray  # (m, 3)
    unit: np.ndarray  # (m, 3)
    va: np.ndarray
    vp: np.ndarray
    accel: np.ndarray
    t1: np.ndarray
    t2: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    p_end: np.ndarray  # (3,)

    @property
    def duration_s(self) -> float:
        return float(self.seg_t0_s[-1] + self.seg_dur_s[-1]) if self.seg_t0_s.size else 0.0

    @property
    def t_end_s(self) -> float:
        return self.t_start_s + self.duration_s

    @property
    def distance_m(self) -> float:
        return float(self.seg_len_m.sum())

    def state(self, t_s) -> tuple[np.ndarray, np.ndarray]:
        """Position ``(n, 3)`` and velocity ``(n, 3)`` (m, m/s) at absolute times ``t_s``.

        Before the start the platform waits at the first vertex, after the end at the last.
        """
        t = np.asarray(t_s, float) - self.t_start_s
        total = self.duration_s
        if self.seg_t0_s.size == 0:
            pos = np.broadcast_to(self.p_end, (t.size, 3)).copy()
            return pos, np.zeros((t.size, 3))
        tc = np.clip(t, 0.0, total)
        i = np.clip(np.searchsorted(self.seg_t0_s, tc, side="right") - 1, 0, self.seg_t0_s.size - 1)
        tau = np.clip(tc - self.seg_t0_s[i], 0.0, self.seg_dur_s[i])
        va, vp, a = self.va[i], self.vp[i], self.accel[i]
        t1, t2, d1, d2 = self.t1[i], self.t2[i], self.d1[i], self.d2[i]
        t3 = tau - t1 - t2
        s = np.where(tau < t1, va * tau + 0.5 * a * tau**2,
                     np.where(tau < t1 + t2, d1 + vp * (tau - t1), d1 + d2 + vp * t3 - 0.5 * a * t3**2))
        v = np.where(tau < t1, va + a * tau, np.where(tau < t1 + t2, vp, vp - a * t3))
        s = np.clip(s, 0.0, self.seg_len_m[i])
        v = np.clip(v, 0.0, None)
        outside = (t < 0) | (t > total)
        v = np.where(outside, 0.0, v)
        pos = self.p0[i] + self.unit[i] * s[:, None]
        return pos, self.unit[i] * v[:, None]


def build_profile(
    vertices: np.ndarray,
    seg_speed_m_s: np.ndarray,
    hold_s: np.ndarray,
    *,
    t_start_s: float,
    accel_m_s2: float,
    corner: str,
    stop_at: np.ndarray | None = None,
) -> Profile:
    """Motion through ``vertices`` (N, 3) with ``seg_speed_m_s`` (N-1) cruise speeds.

    ``hold_s`` (N) is the time spent stopped at each vertex; ``stop_at`` (N, bool) forces a
    stop without a hold. ``corner`` is ``"drone"`` (corner speed × ((1 + cos θ)/2)²) or
    ``"van"`` (× (1 + cos θ)/2, at least 3 m/s below 150°). Consecutive duplicate vertices
    are merged (their holds added).
    """
    P = np.asarray(vertices, float)
    v_seg = np.asarray(seg_speed_m_s, float)
    holds = np.asarray(hold_s, float).copy()
    stops = np.zeros(len(P), bool) if stop_at is None else np.asarray(stop_at, bool).copy()
    if len(P) == 0:
        raise ValueError("a profile needs at least one vertex")
    P, v_seg, holds, stops = _merge_duplicates(P, v_seg, holds, stops)
    n = len(P)
    if n == 1:
        return Profile(t_start_s, np.array([0.0]), np.array([holds[0]]), np.array([0.0]),
                       P[:1], np.zeros((1, 3)), *(np.zeros(1) for _ in range(7)), p_end=P[0])
    seg = np.diff(P, axis=0)
    length = np.linalg.norm(seg, axis=1)
    unit = seg / length[:, None]
    v_seg = np.maximum(np.nan_to_num(v_seg, nan=5.0), 0.3)
    a = float(accel_m_s2)
    v = _vertex_speeds(unit, length, v_seg, holds, stops, corner=corner, accel_m_s2=a)
    # each move a trapezoid: accelerate from va to vp, cruise, brake to vb
    va, vb = v[:-1], v[1:]
    two_a_d = 2 * a * length
    vm = np.maximum(v_seg, np.maximum(va, vb))
    vp = np.minimum(vm, np.sqrt((two_a_d + va**2 + vb**2) / 2))
    t1 = (vp - va) / a
    d1 = (vp**2 - va**2) / (2 * a)
    t3 = (vp - vb) / a
    d3 = (vp**2 - vb**2) / (2 * a)
    d2 = np.maximum(length - d1 - d3, 0.0)
    t2 = d2 / vp
    return _interleave(float(t_start_s), P, unit, length, holds, t1 + t2 + t3, a, va, vp, t1, t2, d1, d2)


def _merge_duplicates(P, v_seg, holds, stops):
    """Consecutive duplicate vertices merged, the holds (and stops) of the dropped ones folded into
    the vertex they repeat."""
    d = np.linalg.norm(np.diff(P, axis=0), axis=1)
    keep = np.concatenate([[True], d > 1e-6])
    if keep.all():
        return P, v_seg, holds, stops
    group = np.cumsum(keep) - 1
    holds = np.bincount(group, weights=holds)
    stops = np.bincount(group, weights=stops.astype(float)) > 0
    return P[keep], v_seg[keep[1:]], holds, stops


def _vertex_speeds(unit, length, v_seg, holds, stops, *, corner: str, accel_m_s2: float) -> np.ndarray:
    """The speed through each vertex: the corner limit of its turn (0 at holds, stops and the ends),
    then what accelerating and braking at ``accel_m_s2`` allow (forward and backward passes over
    the vertices: plan geometry, not sample data)."""
    n = len(length) + 1
    vlim = np.zeros(n)
    cos_t = np.clip(np.einsum("ij,ij->i", unit[:-1], unit[1:]), -1, 1)
    base = np.minimum(v_seg[:-1], v_seg[1:])
    if corner == "drone":
        inner = base * ((1 + cos_t) / 2) ** 2
    else:
        inner = base * (1 + cos_t) / 2
        inner = np.where(cos_t > -0.866, np.maximum(inner, np.minimum(VAN_MIN_TURN_SPEED_M_S, base)), inner)
    vlim[1:-1] = inner
    vlim[(holds > 0) | stops] = 0.0
    vlim[0] = vlim[-1] = 0.0
    v = vlim.copy()
    two_a_d = 2 * accel_m_s2 * length
    for k in range(1, n):
        v[k] = min(v[k], np.sqrt(v[k - 1] ** 2 + two_a_d[k - 1]))
    for k in range(n - 2, -1, -1):
        v[k] = min(v[k], np.sqrt(v[k + 1] ** 2 + two_a_d[k]))
    return v


def _interleave(t_start_s: float, P, unit, length, holds, move_dur, a: float, va, vp, t1, t2, d1, d2) -> Profile:
    """The profile's pieces in time order: the hold at vertex i, then the move i → i+1; the final hold
    at the last vertex. Holds of no duration are left out."""
    n = len(P)
    m = 2 * n - 1
    dur = np.zeros(m)
    dur[0::2] = holds
    dur[1::2] = move_dur
    seg_len = np.zeros(m)
    seg_len[1::2] = length
    p0 = np.zeros((m, 3))
    p0[0::2] = P
    p0[1::2] = P[:-1]
    un = np.zeros((m, 3))
    un[1::2] = unit

    def inter(x):
        out = np.zeros(m)
        out[1::2] = x
        return out

    acc = np.zeros(m)
    acc[1::2] = a
    keep_seg = dur > 0
    keep_seg[1::2] = True
    dur, seg_len, p0, un = dur[keep_seg], seg_len[keep_seg], p0[keep_seg], un[keep_seg]
    arrs = [inter(x)[keep_seg] for x in (va, vp)] + [acc[keep_seg]] + [inter(x)[keep_seg] for x in (t1, t2, d1, d2)]
    t0 = np.concatenate([[0.0], np.cumsum(dur)[:-1]])
    return Profile(t_start_s, t0, dur, seg_len, p0, un, *arrs, p_end=P[-1])


def corner_turn_deg(vertices_xy: np.ndarray) -> np.ndarray:
    """Turn angle (deg) at each vertex of a polyline (0 at the ends)."""
    P = np.asarray(vertices_xy, float)[:, :2]
    out = np.zeros(len(P))
    if len(P) < 3:
        return out
    seg = np.diff(P, axis=0)
    h = np.degrees(np.arctan2(seg[:, 0], seg[:, 1]))
    out[1:-1] = np.abs((np.diff(h) + 180) % 360 - 180)
    return out


def traffic_light_holds(vertices_xy: np.ndarray, rng: np.random.Generator, *,
                        spacing_m: float = 500.0, p_red: float = 0.3) -> np.ndarray:
    """Stops at lights: about one candidate crossing every ``spacing_m``, red with ``p_red``."""
    P = np.asarray(vertices_xy, float)[:, :2]
    holds = np.zeros(len(P))
    if len(P) < 3:
        return holds
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(P, axis=0), axis=1))])
    bucket = np.floor(cum / spacing_m).astype(int)
    cand = np.flatnonzero(np.diff(bucket) > 0) + 1
    cand = cand[(cand > 0) & (cand < len(P) - 1)]
    red = cand[rng.random(cand.size) < p_red]
    holds[red] = np.round(rng.uniform(10.0, 45.0, red.size), 1)
    return holds


def gps_error_m(t_s: np.ndarray, *, sd_m: float, tau_s: float, rng: np.random.Generator) -> np.ndarray:
    """Correlated horizontal GPS error (east, north) in metres at evenly spaced times: (n, 2)."""
    t = np.asarray(t_s, float)
    dt = float(t[1] - t[0]) if t.size > 1 else 1.0
    return sd_m * np.stack([ar1(t.size, dt, tau_s, rng), ar1(t.size, dt, tau_s, rng)], axis=1)


@dataclass(frozen=True)
class AnalyserSpec:
    """A VOC analyser: its clock error, inlet delay and response."""

    clock_offset_s: float  # instrument clock − true UTC
    lag_s: float  # sample stamped t was drawn at t − lag_s
    response_tau_s: float = 2.0
    tvoc_noise_ugm3: float = 4.0
    ppb_noise: float = 0.08
    rel_noise: float = 0.03
    full_scale_ugm3: float = 20000.0


def draw_analyser_spec(rng: np.random.Generator) -> AnalyserSpec:
    """Clock offset of tens of seconds (either sign), inlet lag 4–20 s."""
    off = float(np.round(rng.choice([-1.0, 1.0]) * rng.uniform(10.0, 75.0), 1))
    lag = float(np.round(rng.uniform(4.0, 20.0), 1))
    return AnalyserSpec(clock_offset_s=off, lag_s=lag, response_tau_s=float(np.round(rng.uniform(1.0, 3.0), 1)))


def analyser_times(spec: AnalyserSpec, t_on_s: float, t_off_s: float, epoch_unix_s: float):
    """Instrument stamps (whole seconds of its own clock) while switched on.

    Returns ``(stamp_unix_s, true_stamp_s, draw_s)``: the instrument clock reading as Unix
    seconds, the true time of each stamp and the true time the air was drawn at the inlet
    (both seconds since the simulation epoch).
    """
    first = np.ceil(epoch_unix_s + t_on_s + spec.clock_offset_s)
    last = np.floor(epoch_unix_s + t_off_s + spec.clock_offset_s)
    stamps = np.arange(first, last + 1.0, 1.0)
    true_stamp = stamps - spec.clock_offset_s - epoch_unix_s
    return stamps, true_stamp, true_stamp - spec.lag_s


def analyser_readings(spec: AnalyserSpec, conc: dict[str, np.ndarray], rng: np.random.Generator) -> pd.DataFrame:
    """What the analyser reports from the true inlet concentrations (1 Hz, contiguous).

    First-order response, noise, an occasional saturation and negative glitch, rows with a
    fault status and no values, and rows lost altogether (column ``lost``).
    """
    n = conc["tvoc_ugm3"].size
    alpha = 1.0 - np.exp(-1.0 / spec.response_tau_s)
    out = {}
    for key in ("tvoc_ugm3", "benzene_ppb", "toluene_ppb", "xylene_ppb"):
        x = conc[key]
        if n:
            y, _ = lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1.0 - alpha) * x[0]])
        else:
            y = x
        floor = spec.tvoc_noise_ugm3 if key == "tvoc_ugm3" else spec.ppb_noise
        out[key] = y + rng.standard_normal(n) * np.hypot(floor, spec.rel_noise * y)
    df = pd.DataFrame(out)
    status = np.full(n, "OK", dtype=object)
    if n > 50:
        # saturation: a spike past full scale is clipped and flagged
        sat = rng.integers(10, n - 10, size=int(rng.integers(1, 3)))
        df.loc[sat, "tvoc_ugm3"] = spec.full_scale_ugm3
        status[sat] = "SAT"
        # a negative glitch (the analyser does not notice)
        neg = int(rng.integers(10, n - 10))
        df.loc[neg, "tvoc_ugm3"] = -abs(rng.normal(40.0, 10.0))
        # fault rows: stamped, no values
        flt = rng.integers(10, n - 10, size=int(rng.integers(1, 4)))
        df.loc[flt, list(out)] = np.nan
        status[flt] = "FLT"
    df = df.clip(upper=spec.full_scale_ugm3)
    df["status"] = status
    lost = np.zeros(n, bool)
    if n > 100:
        # a few serial-buffer dropouts: runs of 1–8 rows never written
        for s0, ln in zip(rng.integers(20, n - 20, size=int(rng.integers(2, 5))), rng.integers(1, 9, size=4)):
            lost[s0:s0 + ln] = True
    df["lost"] = lost
    return df


PUFF_RATE_HZ = 10.0
PUFF_MARKER = "MARK"


def puff_test(spec: AnalyserSpec, t_release_s: float, epoch_unix_s: float, background_ugm3: float,
              rng: np.random.Generator):
    """A puff (release) test: 0.5 s of test gas at the inlet at ``t_release_s`` (true time).

    The analyser records at 10 Hz on its own clock; the operator presses the event key as
    the gas is released (reaction error ~0.1 s), which stamps one row ``MARK``; the release
    time is also noted on a GPS clock to 0.1 s. Returns ``(stamp_unix_s, tvoc_ugm3, status,
    release_gps_unix_s)``.
    """
    dt = 1.0 / PUFF_RATE_HZ
    off = spec.clock_offset_s
    first = np.ceil((epoch_unix_s + t_release_s - 20.0 + off) * PUFF_RATE_HZ) / PUFF_RATE_HZ
    stamps = first + np.arange(int(60.0 * PUFF_RATE_HZ)) * dt
    true_t = stamps - off - epoch_unix_s
    draw = true_t - spec.lag_s
    inlet = np.where((draw >= t_release_s) & (draw < t_release_s + 0.5), 8000.0, 0.0)
    alpha = 1.0 - np.exp(-dt / spec.response_tau_s)
    y, _ = lfilter([alpha], [1.0, alpha - 1.0], inlet, zi=[0.0])
    tvoc = background_ugm3 + y + rng.standard_normal(stamps.size) * np.hypot(spec.tvoc_noise_ugm3, spec.rel_noise * y)
    status = np.full(stamps.size, "OK", dtype=object)
    press_true = t_release_s + rng.normal(0.0, 0.1)
    k = int(np.searchsorted(true_t, press_true))  # the first row stamped after the key press
    if 0 <= k < stamps.size:
        status[k] = PUFF_MARKER
    release_gps = np.round((epoch_unix_s + t_release_s + rng.normal(0.0, 0.1)) * 10) / 10
    return stamps, tvoc, status, float(release_gps)
