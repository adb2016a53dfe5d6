"""Accuracy of the evidence chain over simulated scenarios (seeds × winds × hidden emitters).

For each scenario, on the bundled Jimo area: one industrial park, 1–3 hidden emitters among its
enterprises (rates 0.3–5 g/s, log-uniform), a wind (any direction, 2–6 m/s, class B–E); a van
drives three crosswind lines downwind of the park twice; a drone flies a curtain 250 m downwind
of each emitter and of two decoy firms (the first-day targets of a planner), levels 10–100 m.
The world's plumes use the **Pasquill–Gifford** curves while the analysis uses **Briggs rural**
(model mismatch on purpose), and the analysis is given the measured wind with errors (direction
N(0, 5°), speed ±10 %), background drift and instrument noise. Then ``build_evidence`` →
``rank_targets`` and the scores:

- share of true emitters in the top 3 / top 10 targets;
- share of positive-list firms without emission placed in the top 10 (of all top-10 slots);
- median relative error of the NNLS attribution rate of each true emitter (enterprise total);
- median relative error of curtain fluxes on emitter curtains, against the true flux through
  the curtain (the emitted rates of the plumes that cross it).

``--simulator``: use ``ecopatrol.pipeline.run_demo`` (planner + ``ecopatrol.missions.simulate``
+ georeferencing, ground truth in ``field/truth.json``) instead of the built-in world, when
those floors are installed. Run: ``.venv/bin/python benchmarks/bench_accuracy.py [-n 50]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat
from ecopatrol.core.dispersion import effective_height_m, sigmas, unit_concentration_matrix
from ecopatrol.core.weather import Wind
from ecopatrol.processing.evidence import build_evidence
from ecopatrol.processing.targeting import rank_targets

T0 = pd.Timestamp("2026-05-12T01:30:00Z")
WORLD_SCHEME = "pasquill_gifford"


def _plumes(area, crs, src: pd.DataFrame, rates, x, y, z, wind: Wind, stability: str) -> np.ndarray:
    sx, sy = lonlat_to_xy(src.geometry.x.to_numpy(), src.geometry.y.to_numpy(), crs)
    h, u = effective_height_m(src["height_m"].to_numpy(float), wind.speed_m_s, stability,
                              exit_velocity_m_s=src["exit_velocity_m_s"].to_numpy(float),
                              diameter_m=src["diameter_m"].to_numpy(float),
                              exit_temp_k=src["exit_temp_k"].to_numpy(float), x_m=2000.0)
    a = unit_concentration_matrix(x, y, z, sx, sy, h, u, wind.from_deg, stability, scheme=WORLD_SCHEME)
    return a @ np.asarray(rates, float)


def _frame(x, y, z, c, crs, *, t0, platform, kind, mission, pass_id, dt_s, wind_meas: Wind):
    lon, lat = xy_to_lonlat(x, y, crs)
    df = pd.DataFrame({
        "time_utc": t0 + pd.to_timedelta(np.arange(len(x)) * dt_s, unit="s"), "platform_id": platform,
        "platform_kind": kind,
        "mission_id": mission, "pass_id": pass_id, "lon": lon, "lat": lat, "alt_agl_m": z, "tvoc_ugm3": c,
        "wind_from_deg": wind_meas.from_deg, "wind_speed_m_s": wind_meas.speed_m_s, "qa_flags": ""})
    return df


def scenario(area, seed: int):
    """Samples, truth and the drone plan of one synthetic scenario."""
    rng = np.random.default_rng(seed)
    crs = area.metric_crs
    ent = area.enterprises
    parks = [p for p, n in ent["park"].value_counts().items() if p and n >= 20]
    park = parks[seed % len(parks)]
    members = ent[ent["park"] == park]
    n_em = int(rng.integers(1, 4))
    emitters = members.sample(n_em, random_state=seed)
    srcs = area.sources[area.sources["enterprise_id"].isin(emitters["enterprise_id"])]
    # one emitting stack per emitter, log-uniform rates
    srcs = srcs.groupby("enterprise_id", sort=True).head(1)
    rates = np.exp(rng.uniform(math.log(0.3), math.log(5.0), len(srcs)))
    wind = Wind(float(rng.uniform(0, 360)), float(rng.uniform(2.0, 6.0)))
    stability = str(rng.choice(["B", "C", "D", "D", "E"]))
    meas = Wind((wind.from_deg + rng.normal(0, 5.0)) % 360, wind.speed_m_s * (1 + rng.normal(0, 0.1)), stability)
    down = np.array(wind.to_unit)
    cross = np.array([-down[1], down[0]])
    mx, my = lonlat_to_xy(members.geometry.x.to_numpy(), members.geometry.y.to_numpy(), crs)
    along = mx * down[0] + my * down[1]
    lat_ = mx * cross[0] + my * cross[1]
    edge = along.max()
    c_lat = 0.5 * (lat_.min() + lat_.max())
    half = 0.5 * (lat_.max() - lat_.min()) + 900.0
    bg = float(rng.uniform(15, 40))
    noise = float(rng.uniform(0.8, 2.0))
    frames = []
    t = T0
    for p in range(2):
        for k, dist in enumerate((400.0, 900.0, 1500.0)):
            s = np.arange(-half, half, 8.0)
            if (p + k) % 2:
                s = s[::-1]
            x = (edge + dist) * down[0] + (c_lat + s) * cross[0]
            y = (edge + dist) * down[1] + (c_lat + s) * cross[1]
            z = np.full(len(x), 2.5)
            drift = 2.0 * np.sin(np.arange(len(x)) / 400.0 + rng.uniform(0, 6))
            c = bg + drift + _plumes(area, crs, srcs, rates, x, y, z, wind, stability)
            c = c * (1 + rng.normal(0, 0.05, len(c))) + rng.normal(0, noise, len(c))
            frames.append(_frame(x, y, z, c, crs, t0=t, platform="van1", kind="van", mission="R01", pass_id=p * 3 + k + 1,
                                 dt_s=1.0, wind_meas=meas))
            t = t + pd.Timedelta(seconds=len(x) + 90)
    # drone curtains: each emitter + two decoys, 250 m downwind
    decoys = members[~members["enterprise_id"].isin(emitters["enterprise_id"])].sample(2, random_state=seed + 1)
    sorties = []
    curtain_truth = {}
    for j, row in enumerate(pd.concat([emitters, decoys]).itertuples(index=False)):
        ex, ey = lonlat_to_xy(row.geometry.x, row.geometry.y, crs)
        sy_, _ = sigmas(250.0, stability, scheme=WORLD_SCHEME)
        w_half = max(4 * float(sy_), 120.0)
        s = np.arange(-w_half, w_half + 1e-9, 4.0)
        sid = f"S{j + 1:02d}"
        for lev, zz in enumerate(range(10, 101, 10)):
            ss = s if lev % 2 == 0 else s[::-1]
            x = ex + 250 * down[0] + ss * cross[0]
            y = ey + 250 * down[1] + ss * cross[1]
            z = np.full(len(x), float(zz))
            c = bg + _plumes(area, crs, srcs, rates, x, y, z, wind, stability)
            c = c * (1 + rng.normal(0, 0.03, len(c))) + rng.normal(0, noise / 2, len(c))
            frames.append(_frame(x, y, z, c, crs, t0=t, platform="drone1", kind="drone", mission=sid, pass_id=lev + 1,
                                 dt_s=1.0, wind_meas=Wind(float("nan") if False else meas.from_deg, meas.speed_m_s)))
            frames[-1][["wind_from_deg", "wind_speed_m_s"]] = np.nan  # drones: no measured wind
            t = t + pd.Timedelta(seconds=len(x) + 20)
        sorties.append({"sortie_id": sid, "targets": [row.enterprise_id], "waypoints": []})
        # true flux through this curtain: emitters whose plume centre crosses it, lateral fraction
        sx, syy = lonlat_to_xy(srcs.geometry.x.to_numpy(), srcs.geometry.y.to_numpy(), crs)
        cx, cy = ex + 250 * down[0], ey + 250 * down[1]
        xd = (cx - sx) * down[0] + (cy - syy) * down[1]
        yd = (cx - sx) * cross[0] + (cy - syy) * cross[1]
        sgy, _ = sigmas(np.where(xd > 0, xd, np.nan), stability, scheme=WORLD_SCHEME)
        from scipy.stats import norm

        frac = np.where(xd > 0, norm.cdf((w_half - yd) / sgy) - norm.cdf((-w_half - yd) / sgy), 0.0)
        curtain_truth[sid] = (row.enterprise_id, float(np.nansum(frac * rates)))
    df = pd.concat(frames, ignore_index=True)
    samples = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    truth = pd.DataFrame({"enterprise_id": srcs["enterprise_id"].to_numpy(), "source_id": srcs["source_id"].to_numpy(),
                          "rate_g_s": rates})
    return samples, truth, {"sorties": sorties}, meas, curtain_truth, park


def score(targets: pd.DataFrame, ent: pd.DataFrame, truth: pd.DataFrame, rates_by_ent: pd.Series) -> dict:
    emit = set(truth["enterprise_id"])
    top3 = set(targets["enterprise_id"].head(3))
    top10 = targets.head(10)
    pos = set(ent.loc[ent["positive_list"].astype(bool), "enterprise_id"])
    true_rate = truth.groupby("enterprise_id")["rate_g_s"].sum()
    err = [abs(rates_by_ent.get(e, 0.0) - r) / r for e, r in true_rate.items()]
    return {"n_emitters": len(emit), "in_top3": len(emit & top3), "in_top10": len(emit & set(top10["enterprise_id"])),
            "pos_wrong_top10": int(sum((e in pos) and (e not in emit) for e in top10["enterprise_id"])),
            "nnls_err": err}


def run_builtin(n: int, area) -> pd.DataFrame:
    rows = []
    for seed in range(n):
        t = time.perf_counter()
        samples, truth, plan, meas, ctruth, park = scenario(area, seed)
        with tempfile.TemporaryDirectory() as tmp:
            res = build_evidence(samples, area, out_dir=tmp, wind=meas, plan=plan, seed=seed)
            targets = rank_targets(res, area)
        rates = res.rates.groupby("enterprise_id")["rate_g_s"].sum()
        sc = score(targets, area.enterprises, truth, rates)
        emit = set(truth["enterprise_id"])
        cerr = []
        for r in res.flux.itertuples(index=False):
            tgt, true_flux = ctruth.get(r.sortie_id, (None, 0.0))
            if tgt in emit and true_flux > 0:
                cerr.append(abs(r.flux_g_s - true_flux) / true_flux)
        sc.update(seed=seed, park=park, wind=str(meas), curtain_err=cerr, seconds=time.perf_counter() - t)
        rows.append(sc)
        print(f"seed {seed:3d} {park[:28]:<28} wind {meas.from_deg:5.0f}/{meas.speed_m_s:.1f}/{meas.stability} "
              f"emitters {sc['n_emitters']}: top3 {sc['in_top3']} top10 {sc['in_top10']} "
              f"pos-wrong {sc['pos_wrong_top10']} nnls err {np.round(sc['nnls_err'], 2).tolist()} "
              f"curtain err {np.round(cerr, 2).tolist()} ({sc['seconds']:.1f} s)", flush=True)
    return pd.DataFrame(rows)


SAMPLED_UGM3 = 10.0  # an emitter counts as sampled when its true mean plume on the samples reaches this
SAMPLED_MIN_N = 3  # … on at least this many samples at ≥ 5 µg/m³ (truth: under the true time-varying wind)


def true_curtain_flux(fl: pd.DataFrame, truth: dict, tpos: pd.DataFrame, area) -> pd.Series:
    """The flux (g/s) that truly crossed each curtain of ``flux.csv``.

    For every hidden emitter and every 10th true wind sample during the sortie (meander
    included), its plume's mass flux (= its rate) times the share of the plume inside the
    curtain rectangle: laterally between the crosswind offsets of the curtain's two ends
    (σy of the world's scheme at the centre's downwind distance), vertically between the ground
    and the curtain top (Gaussian about the effective height with ground reflection). Ground
    truth only: the estimator sees none of this.
    """
    from scipy.stats import norm

    from ecopatrol.core.dispersion import sigmas as _sig

    crs = area.metric_crs
    em = pd.DataFrame(truth["emitters"])
    out = {}
    if em.empty:
        return pd.Series(0.0, index=range(len(fl)))
    stab = truth["wind"]["stability"]
    lag = _lagrangian_truth(truth, em)
    ex, ey = lonlat_to_xy(em["lon"].to_numpy(float), em["lat"].to_numpy(float), crs)
    for i, r in enumerate(fl.itertuples(index=False)):  # one value per row: a sortie may fly several curtains
        w = tpos[(tpos["platform_id"] == "drone") & (tpos["mission_id"].astype(str) == str(r.sortie_id))
                 & tpos["written"]].iloc[::10]
        if w.empty or not np.isfinite(r.width_m):
            out[i] = np.nan
            continue
        cx, cy = lonlat_to_xy(np.array([r.lon]), np.array([r.lat]), crs)
        nrm = math.radians(r.wind_normal_deg)
        ax = np.array([math.cos(nrm), -math.sin(nrm)])  # plane axis ⟂ normal (east, north)
        ends = np.array([[cx[0], cy[0]]]) + np.outer([-r.width_m / 2, r.width_m / 2], ax)
        th = np.radians(w["true_wind_from_deg"].to_numpy(float))[:, None]
        dx, dy = -np.sin(th), -np.cos(th)
        h, _ = effective_height_m(em["height_m"].to_numpy(float)[None, :], w["true_wind_speed_m_s"].to_numpy()[:, None],
                                  stab, exit_velocity_m_s=em.get("exit_velocity_m_s", pd.Series(0.0, index=em.index))
                                  .to_numpy(float)[None, :], diameter_m=em.get("diameter_m", pd.Series(0.0, index=em.index))
                                  .to_numpy(float)[None, :], exit_temp_k=em.get("exit_temp_k", pd.Series(293.15, index=em.index))
                                  .to_numpy(float)[None, :], x_m=2000.0)
        xd = (cx[0] - ex)[None, :] * dx + (cy[0] - ey)[None, :] * dy
        y0 = -(ends[0, 0] - ex)[None, :] * dy + (ends[0, 1] - ey)[None, :] * dx
        y1 = -(ends[1, 0] - ex)[None, :] * dy + (ends[1, 1] - ey)[None, :] * dx
        if lag is not None:  # the particle world: the share of each emitter's particles crossing the rectangle
            t_w = (pd.to_datetime(w["time_utc"], utc=True) - pd.Timestamp(truth["start_utc"])).dt.total_seconds()
            frac = np.zeros(xd.shape)
            for j, f in enumerate(lag.fields):
                frac[:, j] = f.flux_fraction(xd[:, j], y0[:, j], y1[:, j], float(r.z_max_m)) * \
                    lag.patterns[j].factor(t_w.to_numpy() - np.maximum(xd[:, j], 0) / lag.u_release[j])
            out[i] = float((frac.mean(axis=0) * em["rate_g_s"].to_numpy(float)).sum())
            continue
        sy, sz = _sig(np.where(xd > 0, xd, np.nan), stab)
        lat_f = np.abs(norm.cdf(y1 / sy) - norm.cdf(y0 / sy))
        zt = float(r.z_max_m)
        vert = (norm.cdf((zt - h) / sz) - norm.cdf(-h / sz)) + (norm.cdf((zt + h) / sz) - norm.cdf(h / sz))
        frac = np.where(xd > 0, np.nan_to_num(lat_f * vert), 0.0)
        out[i] = float((frac.mean(axis=0) * em["rate_g_s"].to_numpy(float)).sum())
    return pd.Series(out)


def _lagrangian_truth(truth: dict, em: pd.DataFrame):
    """The particle fields of a lagrangian-world scenario, rebuilt from truth.json (same seeds, same fields)."""
    wld = truth.get("world") or {}
    if wld.get("model") != "lagrangian":
        return None
    from ecopatrol.missions.worlds.lagrangian import LagrangianPlumes

    e = em.assign(exit_velocity_m_s=em["exit_velocity_m_s"].astype(float), diameter_m=em["diameter_m"].astype(float),
                  exit_temp_k=em["exit_temp_k"].astype(float), height_m=em["height_m"].astype(float))
    t0, t1 = wld["emission_window_s"]
    return LagrangianPlumes(e, u10_m_s=truth["wind"]["speed_m_s"], stability=truth["wind"]["stability"],
                            mixing_height_m=truth["wind"]["mixing_height_m"], seed=truth["seed"], t0_s=t0, t1_s=t1)


def simulator_scenario(seed: int) -> tuple[Wind, int]:
    """Wind (any direction, 2–4.5 m/s, class B–E: flyable at 120 m) and 1–3 hidden emitters for ``seed``."""
    rng = np.random.default_rng([seed, 20260512])
    wind = Wind(float(rng.uniform(0, 360)), float(rng.uniform(2.0, 4.5)), str(rng.choice(list("BCDE"))))
    return wind, int(rng.integers(1, 4))


def analyse_cached(out: Path, seed: int, wind: Wind) -> None:
    """``run_demo``'s evidence and targets stages on a scenario simulated by ``dev_attribution.simulate_only``."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.artefacts.samples import read_samples
    from ecopatrol.pipeline import _monitor_alarms
    from ecopatrol.processing.targeting import write_targets

    area = load_area(out / "area")
    plan_path = out / "plans" / "drone" / "plan.json"
    build_evidence(read_samples(out / "samples"), area, out_dir=out / "evidence", wind=wind, seed=seed,
                   plan=json.loads(plan_path.read_text(encoding="utf-8")), plan_name=str(plan_path))
    write_targets(rank_targets(out / "evidence", area, alarms=_monitor_alarms(out, area)), out / "targets.csv")


def _simulate_seed(seed: int, world: str, cache: str | None, tmp: str) -> tuple[Path | None, str]:
    """Run (or read from ``cache``) one scenario; its folder, or None and why it was skipped."""
    from ecopatrol.core.errors import PlanningError, SafetyError
    from ecopatrol.pipeline import run_demo

    wind, n_em = simulator_scenario(seed)
    if cache is not None:  # simulated once (dev_attribution.py prepare), analysed here with the current code
        from dev_attribution import simulate_only

        out = Path(cache) / world / str(seed)
        try:
            if not (out / "SIMULATED").exists():
                simulate_only(out, seed, world)
        except (SafetyError, PlanningError) as exc:
            return None, f"seed {seed:3d} wind {wind}: skipped ({exc})"
        analyse_cached(out, seed, wind)
        return out, ""
    try:
        run_demo(tmp, seed=seed, wind=wind, n_emitters=n_em, maps=False, world=world)
    except SafetyError as exc:  # the planner refuses to fly: no survey, no scenario
        return None, f"seed {seed:3d} wind {wind}: skipped ({exc})"
    except PlanningError as exc:  # tomorrow's plan failed after targets.csv was written: score it
        if not (Path(tmp) / "targets.csv").exists():
            return None, f"seed {seed:3d} wind {wind}: skipped ({exc})"
        print(f"seed {seed:3d}: the next-day plan failed ({str(exc)[:80]}…); scoring targets.csv", flush=True)
    return Path(tmp), ""


def score_seed(seed: int, world: str = "gaussian", cache: str | None = None,
               monitors: str = "with") -> tuple[list[tuple[dict, str]], str, pd.DataFrame]:
    """One scenario of the real loop, scored: ([(scores, the per-seed line)] one per ``monitors`` variant,
    why it was skipped, the calibration rows of the first variant)."""
    from ecopatrol.core.area import load_area

    area = load_area("jimo")
    wind, _ = simulator_scenario(seed)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out, why = _simulate_seed(seed, world, cache, tmp)
        if out is None:
            return [], why, pd.DataFrame()
        tj = json.loads((out / "field" / "truth.json").read_text())
        truth = pd.DataFrame(tj["emitters"])
        tpos = pd.read_parquet(out / "field" / "truth_positions.parquet")
        variants = {}
        if monitors in ("with", "both"):
            variants["with"] = pd.read_csv(out / "targets.csv", dtype={"enterprise_id": str})
        if monitors in ("without", "both"):
            variants["without"] = rank_targets(out / "evidence", area, alarms=None)
        rates = pd.read_csv(out / "evidence" / "rates.csv", dtype={"enterprise_id": str})
        fl = pd.read_csv(out / "evidence" / "flux.csv", dtype={"target_id": str})
    monitored = {lg["enterprise_id"] for lg in (tj.get("monitors") or {}).get("loggers", []) if lg.get("emitting")}
    scored, cal = [], pd.DataFrame()
    for variant, targets in variants.items():
        sc, line, c = _score_run(seed, wind, t, variant, targets, truth, tj, tpos, rates, fl, area, monitored)
        scored.append((sc, line))
        if cal.empty:
            cal = c
    return scored, "", cal


def run_simulator(n: int, start: int = 0, world: str = "gaussian", dump: str | None = None,
                  cache: str | None = None, jobs: int = 1, monitors: str = "with") -> pd.DataFrame:
    """The real loop: ``run_demo`` (plans → simulate → georef → evidence → targets), no maps.

    ``cache``: scenarios simulated once into ``CACHE/WORLD/SEED`` (``dev_attribution.py prepare``,
    or here when missing) and analysed with the current code; ``jobs``: seeds in parallel processes.
    ``monitors``: ``with`` scores the targets as the demo ranks them (with the simulated data loggers'
    alarms), ``without`` re-ranks the same run's evidence without the alarms, ``both`` scores both
    (one row per seed and variant, column ``monitors``): the same scenarios, the same survey, the only
    difference the online-monitoring evidence line.
    """
    seeds = list(range(start, start + n))
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        ex = ProcessPoolExecutor(jobs)
        results = ex.map(score_seed, seeds, [world] * n, [cache] * n, [monitors] * n)
    else:
        ex = None
        results = (score_seed(sd, world, cache, monitors) for sd in seeds)
    rows = []
    for scored, why, cal in results:  # in seed order, each printed (and dumped) as it completes
        if not scored:
            print(why, flush=True)
            continue
        for sc, line in scored:
            print(line, flush=True)
            rows.append(sc)
        if dump:  # appended scenario by scenario, so a run cut short keeps what it measured
            cal.to_csv(dump, mode="a", header=not Path(dump).exists(), index=False)
    if ex is not None:
        ex.shutdown()
    return pd.DataFrame(rows)


def _score_run(seed, wind, t, variant, targets, truth, tj, tpos, rates, fl, area, monitored):
    """The scores of one ranking of one scenario, its log line and its calibration rows."""
    sc = score(targets, area.enterprises, truth, rates.groupby("enterprise_id")["rate_g_s"].sum())
    true_rate = truth.groupby("enterprise_id")["rate_g_s"].sum()
    sampled = set(truth.loc[(truth["max_true_plume_on_samples_ugm3"] >= SAMPLED_UGM3)
                            & (truth["n_samples_true_plume_ge_5ugm3"] >= SAMPLED_MIN_N), "enterprise_id"])
    top10 = set(targets["enterprise_id"].head(10))
    top3 = set(targets["enterprise_id"].head(3))
    sc.update(n_sampled=len(sampled), sampled_in_top10=len(sampled & top10), sampled_in_top3=len(sampled & top3),
              nnls_err_sampled=[abs(rates.groupby("enterprise_id")["rate_g_s"].sum().get(e, 0.0) - true_rate[e])
                                / true_rate[e] for e in sampled])
    # curtains scored against the flux that truly crossed them (emitter curtains: ≥ 0.1 g/s through)
    ctrue = true_curtain_flux(fl, tj, tpos, area)
    rows_fl = list(enumerate(fl.itertuples(index=False)))
    sc["curtain_err"] = [abs(r.flux_g_s - ctrue[i]) / ctrue[i] for i, r in rows_fl if ctrue.get(i, 0.0) >= 0.1]
    sc["curtain_err_emitter"] = [abs(r.flux_g_s - ctrue[i]) / ctrue[i] for i, r in rows_fl
                                 if r.target_id in true_rate.index and ctrue.get(i, 0.0) >= 0.1]
    sc["curtain_err_vs_target_rate"] = [abs(r.flux_g_s - true_rate[r.target_id]) / true_rate[r.target_id]
                                        for r in fl.itertuples(index=False) if r.target_id in true_rate.index]
    sc["curtain_detail"] = [(str(r.sortie_id), round(float(r.flux_g_s), 3), round(float(ctrue.get(i, np.nan)), 3))
                            for i, r in rows_fl]
    emit_set = set(true_rate.index)
    sc["calib"] = list(zip(targets["emit_probability"].astype(float).fillna(0.0),
                           targets["enterprise_id"].isin(emit_set)))
    sc["precision_at_5"] = sum(e in emit_set for e in targets["enterprise_id"].head(5)) / 5.0
    sc["expected_in_5"] = float(targets["emit_probability"].astype(float).fillna(0.0).head(5).sum())
    cal = pd.DataFrame({"seed": seed, "rank": targets["rank"], "enterprise_id": targets["enterprise_id"],
                        "emit_probability": [p for p, _ in sc["calib"]], "emits": [y for _, y in sc["calib"]]})
    lost = [e for e in sampled if rates.groupby("enterprise_id")["rate_g_s"].sum().get(e, 0.0) == 0.0]
    sc["sampled_rate0"] = len(lost)
    sc.update(seed=seed, wind=str(wind), seconds=time.perf_counter() - t, monitors=variant,
              n_monitored_emitters=len(monitored & emit_set),
              monitored_in_top10=len(monitored & emit_set & top10),
              monitored_in_top3=len(monitored & emit_set & top3))
    ranks = {e: int(targets.index[targets["enterprise_id"] == e][0]) + 1 for e in truth["enterprise_id"]}
    est = rates.groupby("enterprise_id")["rate_g_s"].sum()
    detail = [(ranks[e], round(float(est.get(e, 0.0)), 2), round(float(true_rate[e]), 2), e in sampled)
              for e in true_rate.index]
    top_false = [(i + 1, round(float(r), 2)) for i, (e, r) in
                 enumerate(zip(targets["enterprise_id"].head(10), targets["rate_g_s"].head(10))) if e not in true_rate]
    line = (f"seed {seed:3d} wind {wind.from_deg:5.0f}/{wind.speed_m_s:.1f}/{wind.stability} "
            f"emitters {sc['n_emitters']} (sampled {len(sampled)}): (rank, est, true, sampled) {detail} "
            f"false top10 (rank, rate) {top_false} "
            f"top10 {sc['in_top10']} pos-wrong {sc['pos_wrong_top10']} "
            f"nnls err {np.round(sc['nnls_err'], 2).tolist()} curtains (est, true) {sc['curtain_detail']} "
            f"precision@5 {sc['precision_at_5']:.1f} monitors {variant} "
            f"(monitored emitters {sc['n_monitored_emitters']}, in top 10 {sc['monitored_in_top10']}) "
            f"({sc['seconds']:.1f} s)")
    return sc, line, cal


def report(df: pd.DataFrame) -> None:
    n_em = df["n_emitters"].sum()
    nnls = np.concatenate([np.asarray(v, float) for v in df["nnls_err"]]) if len(df) else np.array([])
    cur = np.concatenate([np.asarray(v, float) for v in df["curtain_err"]]) if len(df) else np.array([])
    print(f"\n{len(df)} scenarios, {n_em} hidden emitters")
    print(f"true emitters in top 3: {df['in_top3'].sum() / n_em:.1%}; in top 10: {df['in_top10'].sum() / n_em:.1%} "
          "(goal ≥ 90 %)")
    print(f"positive-list firms without emission in the top 10: {df['pos_wrong_top10'].sum() / (10 * len(df)):.1%} "
          f"of top-10 slots; scenarios with any: {(df['pos_wrong_top10'] > 0).mean():.0%}")
    if len(nnls):
        print(f"NNLS attribution rate error: median {np.median(nnls):.0%}, P75 {np.percentile(nnls, 75):.0%} "
              f"({len(nnls)} emitters)")
    if "n_sampled" in df and df["n_sampled"].sum():
        ns = df["n_sampled"].sum()
        nse = np.concatenate([np.asarray(v, float) for v in df["nnls_err_sampled"]])
        print(f"over the {ns} emitters the plans sampled (modelled peak ≥ {SAMPLED_UGM3:g} µg/m³ on the tracks): "
              f"top 3 {df['sampled_in_top3'].sum() / ns:.1%}, top 10 {df['sampled_in_top10'].sum() / ns:.1%}; "
              f"NNLS rate error median {np.median(nse):.0%}")
    if "sampled_rate0" in df:
        print(f"sampled emitters with NNLS rate 0: {df['sampled_rate0'].sum()}")
    if "curtain_err_vs_target_rate" in df:
        cv = np.concatenate([np.asarray(v, float) for v in df["curtain_err_vs_target_rate"]])
        if len(cv):
            print(f"curtain flux error against the target's total rate (old score): median {np.median(cv):.0%} "
                  f"({len(cv)} curtains)")
    if "curtain_err_emitter" in df:
        ce = np.concatenate([np.asarray(v, float) for v in df["curtain_err_emitter"]])
        if len(ce):
            print(f"curtain flux error on emitter curtains (target is a hidden emitter), against the flux truly "
                  f"crossing: median {np.median(ce):.0%}, P75 {np.percentile(ce, 75):.0%} ({len(ce)} curtains)")
    if len(cur):
        print(f"curtain flux error: median {np.median(cur):.0%} (goal ≤ 35 %), P75 {np.percentile(cur, 75):.0%} "
              f"({len(cur)} curtains with ≥ 0.1 g/s truly crossing)")


def report_calibration(df: pd.DataFrame) -> None:
    """Reliability table, Brier score and the visit budget of 5 over all scenarios' targets."""
    from ecopatrol.processing.calibration import brier_score, reliability_table

    if "calib" not in df or not len(df):
        return
    rows = [(int(sd), float(p), bool(y)) for sd, c in zip(df["seed"], df["calib"]) for p, y in c]
    cal = pd.DataFrame(rows, columns=["seed", "emit_probability", "emits"])
    tab = reliability_table(cal["emit_probability"], cal["emits"])
    print(f"\nreliability of emit_probability over {len(cal)} (firm, scenario) pairs:")
    print(tab[["bin", "n", "emitters", "mean_predicted", "share_emitting"]].to_string(index=False,
                                                                                      float_format="%.3f"))
    base = cal["emits"].mean()
    print(f"Brier score {brier_score(cal['emit_probability'], cal['emits']):.5f} "
          f"(base-rate forecast {base * (1 - base):.5f})")
    print(f"visit budget 5: precision {df['precision_at_5'].mean():.1%} (share of the 5 visited firms that emit), "
          f"expected emitters among them {df['expected_in_5'].mean():.2f} per scenario "
          f"(true {df['precision_at_5'].mean() * 5:.2f}); top-10 recall "
          f"{df['in_top10'].sum() / df['n_emitters'].sum():.1%}")


def summarise_logs(paths: list[str], seeds: set[int] | None = None) -> None:
    """Scores from the per-seed lines of ``--simulator`` runs, over the seeds all logs share.

    Parses ``(rank, est, true, sampled)``, ``nnls err`` and ``curtains (est, true)`` of each seed
    line, so a run cut short, or one made before this option existed, can be compared seed for seed.
    """
    import ast
    import re

    logs = []
    for path in paths:
        per = {}
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            m = re.match(r"seed\s+(\d+) .*?\(rank, est, true, sampled\) (\[.*?\]) false top10", line)
            if not m:
                continue
            det = ast.literal_eval(m.group(2))
            nn = ast.literal_eval(re.search(r"nnls err (\[.*?\])", line).group(1))
            cu = ast.literal_eval(re.search(r"curtains \(est, true\) (\[.*?\])(?: precision| \()", line).group(1))
            per[int(m.group(1))] = (det, nn, cu)
        logs.append(per)
    common = set.intersection(*(set(p) for p in logs)) if logs else set()
    if seeds is not None:
        common &= seeds
    print(f"{len(common)} seeds in common ({min(common, default=0)}–{max(common, default=0)})")
    for path, per in zip(paths, logs):
        det = [d for sd in sorted(common) for d in per[sd][0]]
        ranks = np.array([d[0] for d in det])
        nn = np.concatenate([per[sd][1] for sd in sorted(common)])
        cu = [abs(e - t) / t for sd in sorted(common) for _, e, t in per[sd][2] if t >= 0.1]
        p5 = np.mean([sum(d[0] <= 5 for d in per[sd][0]) / 5 for sd in sorted(common)])
        print(f"{path}: {len(ranks)} emitters; top 3 {np.mean(ranks <= 3):.1%}, top 10 {np.mean(ranks <= 10):.1%}; "
              f"NNLS rate error median {np.median(nn):.0%}; curtain flux error median {np.median(cu):.0%} "
              f"({len(cu)} curtains ≥ 0.1 g/s); precision at 5 visits {p5:.1%}")
    if len(logs) == 2:  # the same emitters in both worlds (placed and rated alike): pair them
        pairs = [(a, b) for sd in sorted(common) for a, b in zip(logs[0][sd][0], logs[1][sd][0])]
        both = sum(a[0] <= 10 and b[0] <= 10 for a, b in pairs)
        only0 = [(a, b) for a, b in pairs if a[0] <= 10 < b[0]]
        only1 = sum(b[0] <= 10 < a[0] for a, b in pairs)
        print(f"paired emitters: in the top 10 of both {both}, only of the first {len(only0)} "
              f"(of which sampled in the second world: {sum(b[3] for _, b in only0)}), only of the second {only1}, "
              f"of neither {len(pairs) - both - len(only0) - only1}; sampled in the second world "
              f"{sum(b[3] for _, b in pairs)} of {len(pairs)}, missed though sampled "
              f"{sum(b[3] and b[0] > 10 for _, b in pairs)}; its NNLS rate 0 though sampled "
              f"{sum(b[3] and b[1] == 0 for _, b in pairs)} (first world {sum(a[3] and a[1] == 0 for a, _ in pairs)})")


def summarise_monitors(path: str) -> None:
    """The with/without-monitors comparison from the per-seed lines of a ``--monitors both`` log (so a
    run cut short still gives its figures over the seeds it finished in both variants)."""
    import ast
    import re

    per: dict[str, dict[int, tuple]] = {"with": {}, "without": {}}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = re.match(r"seed\s+(\d+) .*?\(rank, est, true, sampled\) (\[.*?\]) false top10 .*?precision@5 ([\d.]+) "
                     r"monitors (with|without) \(monitored emitters (\d+), in top 10 (\d+)\)", line)
        if m:
            per[m[4]][int(m[1])] = (ast.literal_eval(m[2]), float(m[3]), int(m[5]), int(m[6]))
    seeds = sorted(set(per["with"]) & set(per["without"]))
    print(f"{len(seeds)} scenarios in both variants (seeds {', '.join(map(str, seeds))})")
    for v in ("with", "without"):
        ranks = np.array([d[0] for sd in seeds for d in per[v][sd][0]])
        nm = sum(per[v][sd][2] for sd in seeds)
        print(f"monitors {v:7s}: {len(ranks)} emitters; top 3 {np.mean(ranks <= 3):.1%}, top 10 "
              f"{np.mean(ranks <= 10):.1%}; precision at 5 visits {np.mean([per[v][sd][1] for sd in seeds]):.1%}; "
              f"monitored emitters {nm}, in top 10 {sum(per[v][sd][3] for sd in seeds)}")
    moved = [(sd, [a[0] for a in per["without"][sd][0]], [a[0] for a in per["with"][sd][0]]) for sd in seeds
             if per["with"][sd][0] != per["without"][sd][0]]
    print(f"scenarios where an emitter's rank changed: {len(moved)}"
          + "".join(f"; seed {sd}: ranks {a} → {b}" for sd, a, b in moved))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=50, help="number of scenarios (seeds START…START+n−1)")
    ap.add_argument("--start", type=int, default=0,
                    help="first seed (--simulator): seeds 0–99 were used to choose the analysis constants, "
                         "100–149 are held out")
    ap.add_argument("--simulator", action="store_true", help="use ecopatrol.pipeline.run_demo + missions.simulate")
    ap.add_argument("--world", choices=["gaussian", "lagrangian"], default="gaussian",
                    help="--simulator: the plume world (lagrangian: particles, shares no dispersion code with the "
                         "analysis)")
    ap.add_argument("--summarise", nargs="+", metavar="LOG",
                    help="print the scores of earlier --simulator logs over the seeds they share, and stop")
    ap.add_argument("--calibration", metavar="CSV", help="print the reliability table and Brier score of a --dump "
                                                          "file, and stop")
    ap.add_argument("--cache", help="--simulator: simulate each scenario once into CACHE/WORLD/SEED and analyse it "
                                     "there (a later run re-analyses the same samples with the current code)")
    ap.add_argument("--jobs", type=int, default=1, help="--simulator: scenarios in this many processes")
    ap.add_argument("--dump", help="--simulator: write the (seed, emit_probability, emits) pairs to this CSV")
    ap.add_argument("--monitors", choices=["with", "without", "both"], default="with",
                    help="--simulator: rank with the simulated data loggers' alarms (as the demo does), without them "
                         "(--no-monitors), or both on the same runs")
    ap.add_argument("--no-monitors", dest="monitors", action="store_const", const="without",
                    help="--simulator: the same as --monitors without")
    ap.add_argument("--summarise-monitors", metavar="LOG",
                    help="print the with/without-monitors comparison of a --monitors both log, and stop")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.summarise_monitors:
        summarise_monitors(args.summarise_monitors)
        return
    if args.summarise:
        summarise_logs(args.summarise)
        return
    if args.calibration:
        cal = pd.read_csv(args.calibration)
        by = cal.groupby("seed")
        df = pd.DataFrame({"seed": list(by.groups), "calib": [list(zip(g["emit_probability"], g["emits"]))
                                                              for _, g in by],
                           "precision_at_5": [g.sort_values("rank")["emits"].head(5).mean() for _, g in by],
                           "expected_in_5": [g.sort_values("rank")["emit_probability"].head(5).sum() for _, g in by],
                           "in_top10": [g.sort_values("rank")["emits"].head(10).sum() for _, g in by],
                           "n_emitters": [g["emits"].sum() for _, g in by]})
        print(f"{len(df)} scenarios")
        report_calibration(df)
        return
    if args.simulator:
        if args.dump and Path(args.dump).exists():
            Path(args.dump).unlink()
        df = run_simulator(args.n, args.start, args.world, args.dump, cache=args.cache, jobs=args.jobs,
                           monitors=args.monitors)
        for variant, d in df.groupby("monitors", sort=False):
            print(f"\n=== monitors: {variant} ({'alarms of the simulated data loggers as evidence' if variant == 'with' else 'the same runs ranked without the alarms'}) ===")
            report(d)
            report_calibration(d)
            nm = d["n_monitored_emitters"].sum()
            if nm:
                print(f"hidden emitters with a data logger or meter: {nm}; in top 3 "
                      f"{d['monitored_in_top3'].sum() / nm:.1%}, in top 10 {d['monitored_in_top10'].sum() / nm:.1%}")
        return
    else:
        from ecopatrol.core.area import load_area

        df = run_builtin(args.n, load_area("jimo"))
    report(df)


if __name__ == "__main__":
    main()
