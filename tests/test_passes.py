"""Pass segmentation (processing.qc.segment_passes, PASS_RULE): hysteresis, dwell, fragments,
drone transects, and the real Picarro van surveys (skipped without ../shared/data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecopatrol.processing import qc
from ecopatrol.processing.qc import PASS_RULE

from conftest import SHARED_DATA

PICARRO = sorted((SHARED_DATA / "mobile").glob("*.dat")) if SHARED_DATA is not None else []
needs_data = pytest.mark.skipif(SHARED_DATA is None, reason="../shared/data (real third-party files) is absent")


def ar1(n: int, tau_s: float, sd_m: float, rng) -> np.ndarray:
    """Correlated GPS error (1 Hz): an AR(1) of standard deviation ``sd_m`` and time ``tau_s``."""
    phi = np.exp(-1.0 / tau_s)
    e = np.empty(n)
    e[0] = rng.normal() * sd_m
    for i in range(1, n):
        e[i] = phi * e[i - 1] + rng.normal() * sd_m * np.sqrt(1 - phi * phi)
    return e


def passes(t, x, y, z=None):
    """Pass ids from positions (velocities by finite differences, as a track gives them)."""
    return qc.segment_passes(t, np.gradient(x, t), np.gradient(y, t), x_m=x, y_m=y, z_m=z)


def jitter(n, rng, sd_m=2.0):
    return ar1(n, 20.0, sd_m, rng) + rng.normal(0, 0.5, n), ar1(n, 20.0, sd_m, rng) + rng.normal(0, 0.5, n)


@pytest.mark.parametrize("seed", range(5))
def test_gps_jitter_while_parked_is_one_stationary_pass(seed):
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 600.0)
    x, y = jitter(len(t), rng)
    x[300:303] += 25.0  # a multipath jump of 25 m for 3 s
    p = passes(t, x, y)
    assert set(p) == {1}
    # the old rule (speed crossing 0.5 m/s) made dozens of passes of this
    vx, vy = np.gradient(x, t), np.gradient(y, t)
    assert len(np.unique(np.cumsum(np.r_[False, np.diff(np.hypot(vx, vy) >= 0.5)]))) > 20


def test_a_receiver_repeating_positions_while_crawling_is_one_pass():
    """A slow GPS (new fix every 2 s, 2 Hz samples) makes the instantaneous speed flip between 0 and
    twice the true speed; the net speed does not."""
    t = np.arange(0.0, 300.0, 0.5)
    x = np.floor(t / 2.0) * 2.0 * 2.0  # 2 m/s, positions held for 2 s
    p = passes(t, x, np.zeros_like(x))
    assert set(p) == {1}


@pytest.mark.parametrize(("stop_s", "n_passes"), [(25.0, 1), (45.0, 1), (90.0, 3), (300.0, 3)])
def test_a_stop_is_a_stop_only_after_the_dwell(stop_s, n_passes):
    """Stop-and-go at a red light (shorter than the dwell) stays one pass, with the GPS jittering
    while stopped; a longer stop is a stationary pass between two moving ones."""
    rng = np.random.default_rng(3)
    stop = int(stop_s)
    xs = np.r_[np.arange(60) * 8.0, np.full(stop, 480.0), 480.0 + np.arange(1, 61) * 8.0]
    t = np.arange(float(len(xs)))
    jx, jy = jitter(len(t), rng, sd_m=1.5)
    p = passes(t, xs + jx, jy)
    assert len(np.unique(p)) == n_passes
    if n_passes == 3:  # the stationary pass is the stop
        mid = p == 2
        assert abs(mid.sum() - stop) <= PASS_RULE.speed_window_s


def test_speed_hovering_between_the_thresholds_starts_no_pass():
    """A crawl at 0.5–1.5 m/s (between the two thresholds) after moving stays moving: hysteresis."""
    rng = np.random.default_rng(4)
    v = np.r_[np.full(60, 6.0), 1.0 + 0.45 * np.sin(np.arange(240) / 7.0), np.full(60, 6.0)]
    v = v + rng.normal(0, 0.05, len(v))
    t = np.arange(float(len(v)))
    x = np.cumsum(v)
    assert set(passes(t, x, np.zeros_like(x))) == {1}


def test_a_u_turn_cuts_a_pass_and_a_short_reverse_is_merged():
    """A U-turn ends a pass; a three-point turn's 6 s reverse (a fragment under the minimum
    duration and extent) is merged into its neighbour instead of becoming a pass."""
    t = np.arange(0.0, 120.0)
    x = np.r_[np.arange(60) * 8.0, 472.0 - np.arange(60) * 8.0]  # east, U-turn, west
    assert len(np.unique(passes(t, x, np.zeros_like(x)))) == 2
    east = np.arange(60) * 8.0
    rev = east[-1] - np.arange(1, 7) * 2.5  # reverse west for 6 s
    on = rev[-1] + np.arange(1, 61) * 8.0  # and drive on east
    x = np.r_[east, rev, on]
    t = np.arange(float(len(x)))
    p = passes(t, x, np.zeros_like(x))
    dur = pd.Series(t).groupby(p).agg(np.ptp)
    ext = pd.Series(x).groupby(p).agg(np.ptp)
    assert ((dur >= PASS_RULE.min_pass_s) | (ext >= PASS_RULE.min_pass_m)).all()
    assert len(np.unique(p)) <= 2


def test_a_fragment_after_a_gap_stays_and_gaps_always_cut():
    t = np.r_[np.arange(0.0, 100.0), np.arange(130.0, 136.0)]  # 6 s after a 30 s gap
    x = t * 8.0
    p = passes(t, x, np.zeros_like(x))
    assert list(np.unique(p)) == [1, 2] and (p[t >= 130] == 2).all()


def test_input_order_does_not_matter_and_input_is_not_modified():
    rng = np.random.default_rng(5)
    t = np.arange(0.0, 200.0)
    x = np.r_[np.arange(100) * 8.0, 792.0 - np.arange(100) * 8.0]
    y = rng.normal(0, 1, len(t))
    before = x.copy()
    p = passes(t, x, y)
    order = rng.permutation(len(t))
    q = qc.segment_passes(t[order], np.gradient(x, t)[order], np.gradient(y, t)[order], x_m=x[order], y_m=y[order])
    assert (q == p[order]).all() and (x == before).all()
    assert len(qc.segment_passes(np.zeros(0), np.zeros(0), np.zeros(0))) == 0


def curtain_track(width_m=210.0, levels=(15.0, 29.5, 44.0, 58.5, 73.0, 87.5, 102.0, 116.5), hz=4.0, seed=0):
    """A drone curtain: transects back and forth at 3 m/s, climbing 2 m/s at the ends (GNSS 0.3 m)."""
    rng = np.random.default_rng(seed)
    xs, zs = [], []
    for k, z in enumerate(levels):
        s = np.arange(0.0, width_m, 3.0 / hz)
        s = s if k % 2 == 0 else width_m - s
        xs.append(s)
        zs.append(np.full(len(s), z))
        if k + 1 < len(levels):
            climb = np.arange(z, levels[k + 1], 2.0 / hz)
            xs.append(np.full(len(climb), s[-1]))
            zs.append(climb)
    x, z = np.concatenate(xs), np.concatenate(zs)
    t = np.arange(len(x)) / hz
    return t, x + rng.normal(0, 0.3, len(x)), rng.normal(0, 0.3, len(x)), z + rng.normal(0, 0.1, len(x))


@pytest.mark.parametrize(("width_m", "with_heights"), [(210.0, True), (210.0, False), (60.0, True), (60.0, False)])
def test_drone_transects_stay_separate_passes(width_m, with_heights):
    """Each level of a curtain is its own pass: the turn at the end of a transect cuts it (and the
    level change, with heights), the climb between two levels is no stop; down to the narrowest
    curtain the planner draws (60 m, 20 s)."""
    levels = (15.0, 29.5, 44.0, 58.5, 73.0, 87.5, 102.0, 116.5)
    t, x, y, z = curtain_track(width_m, levels)
    p = passes(t, x, y, z if with_heights else None)
    assert len(np.unique(p)) == len(levels)
    # the samples flown at each level (not the climbs) lie in one pass, a different one per level
    d = np.abs(z[:, None] - np.array(levels)[None, :])
    on = d.min(axis=1) < 0.5
    by_level = pd.Series(p[on]).groupby(d.argmin(axis=1)[on])
    assert (by_level.agg(lambda v: v.value_counts().iloc[0] / len(v)) >= 0.95).all()
    assert by_level.agg(lambda v: v.value_counts().index[0]).is_unique


def test_a_descending_transit_is_its_own_pass_with_heights():
    """A drone descending 58 m over 670 m on its way to the curtain (a 105° turn into the first
    transect, under the turn threshold): cut from the transect by the level change."""
    hz = 4.0
    tr = np.arange(0.0, 670.0, 3.0 / hz)
    z_tr = 73.0 - 58.0 * tr / 670.0
    tx = -tr * np.cos(np.radians(15))
    ty = -tr * np.sin(np.radians(15))
    s = np.arange(0.0, 210.0, 3.0 / hz)
    x = np.r_[tx, tx[-1] + s * np.cos(np.radians(120))]
    y = np.r_[ty, ty[-1] + s * np.sin(np.radians(120))]
    z = np.r_[z_tr, np.full(len(s), 15.0)]
    t = np.arange(len(x)) / hz
    assert len(np.unique(passes(t, x, y, z))) == 2
    assert len(np.unique(passes(t, x, y))) == 1  # a van's rule: no heights, one pass


def test_a_simulated_curtain_sortie_segments_into_its_transects(jimo, tmp_path):
    """The planner's curtain flown by the simulator and georeferenced: every planned transect
    (a `sample` level of the plan) is one pass of its own."""
    from ecopatrol.core.crs import lonlat_to_xy
    from ecopatrol.missions.drone import plan_drone, write_drone_plan
    from ecopatrol.missions.simulate import simulate
    from ecopatrol.pipeline import initial_targets
    from ecopatrol.processing.georef import georeference, pair_field_files

    wind = jimo.default_wind()
    drone_targets, _ = initial_targets(jimo)
    plan = plan_drone(jimo, drone_targets[:1], wind, pattern="curtain", aircraft="m350", seed=0)
    write_drone_plan(plan, jimo, tmp_path / "plans" / "drone")
    simulate(jimo, tmp_path / "plans", tmp_path / "field", seed=0, wind=wind, n_emitters=1)
    (tracks, sensor), = [pr for pr in pair_field_files(tmp_path / "field", recursive=True)
                         if pr[1].parent.name == "drone"]
    s = georeference(list(tracks), [sensor], dem=jimo.elevation_m, platform_id="drone-1").samples
    crs = jimo.metric_crs
    sx, sy = lonlat_to_xy(s["lon"].to_numpy(), s["lat"].to_numpy(), crs)
    wps = [w for w in plan.to_dict()["sorties"][0]["waypoints"] if w["action"] == "sample"]
    modal = []
    for pid in sorted({w["pass_id"] for w in wps}):
        lv = [w for w in wps if w["pass_id"] == pid]
        wx, wy = lonlat_to_xy(np.array([w["lon"] for w in lv]), np.array([w["lat"] for w in lv]), crs)
        a, b = np.array([wx[0], wy[0]]), np.array([wx[-1], wy[-1]])
        u = (b - a) / np.linalg.norm(b - a)
        along = (sx - a[0]) * u[0] + (sy - a[1]) * u[1]
        off = np.abs(-(sx - a[0]) * u[1] + (sy - a[1]) * u[0])
        mid = (along > 0.2 * np.linalg.norm(b - a)) & (along < 0.8 * np.linalg.norm(b - a)) & (off < 10.0)
        on = mid & (np.abs(s["alt_agl_m"].to_numpy() - lv[0]["alt_agl_m"]) < 3.0)
        assert on.sum() >= 20, pid
        counts = s.loc[on, "pass_id"].value_counts()
        assert counts.iloc[0] >= 0.9 * on.sum(), (pid, counts.to_dict())
        modal.append(int(counts.index[0]))
    assert len(set(modal)) == len(modal)  # one pass per transect, none shared


# --- the real Picarro van surveys -----------------------------------------------------------

def _pass_table(samples: pd.DataFrame) -> pd.DataFrame:
    from ecopatrol.processing._evidence_util import metric_xy

    x, y, _ = metric_xy(samples)
    t = (pd.to_datetime(samples["time_utc"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    gap = np.r_[True, np.diff(t) > PASS_RULE.max_gap_s]
    d = pd.DataFrame({"p": samples["pass_id"].to_numpy(), "t": t, "x": x, "y": y, "gap": gap})
    g = d.groupby("p").agg(n=("t", "size"), t0=("t", "min"), t1=("t", "max"), x0=("x", "min"), x1=("x", "max"),
                           y0=("y", "min"), y1=("y", "max"), starts_at_gap=("gap", "first"))
    g["ends_at_gap"] = np.r_[g["starts_at_gap"].to_numpy()[1:], True]
    g["dur"] = g["t1"] - g["t0"]
    g["ext"] = np.hypot(g["x1"] - g["x0"], g["y1"] - g["y0"])
    return g


@pytest.fixture(scope="module")
def real_surveys():
    from ecopatrol.processing.georef import georeference

    return {p.stem: georeference([], [p]).samples for p in PICARRO}


@needs_data
def test_real_surveys_have_no_inner_pass_under_the_minimum(real_surveys):
    for name, s in real_surveys.items():
        g = _pass_table(s)
        short = (g["dur"] < PASS_RULE.min_pass_s) & (g["ext"] < PASS_RULE.min_pass_m)
        inner = ~(g["starts_at_gap"] | g["ends_at_gap"])
        assert not (short & inner).any(), (name, g[short & inner])
        assert g["n"].median() >= 15, name  # the old rule: a median of 1 or 2 samples on five surveys
        assert len(g) <= 10, name


@needs_data
def test_the_parked_start_of_150004z_is_one_pass(real_surveys):
    """cfads_20170317-150004Z: 1079 rows were 207 passes; parked for its first ~75 s (CAR_SPEED
    below 0.5 m/s), then a drive and a crawl through stop-and-go traffic."""
    s = real_surveys.get("cfads_20170317-150004Z")
    if s is None:
        pytest.skip("cfads_20170317-150004Z.dat is absent")
    t = (pd.to_datetime(s["time_utc"], utc=True) - pd.to_datetime(s["time_utc"], utc=True).min()).dt.total_seconds()
    assert s.loc[(t < 70).to_numpy(), "pass_id"].nunique() == 1
    assert s["pass_id"].nunique() <= 6
