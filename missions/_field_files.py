"""The simulator's instrument files: the analyser exports and puff tests, the drone's telemetry
log and AirData CSV, the van's GPX and NMEA, each in its real format. Private plumbing of
:mod:`ecopatrol.missions.simulate`."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.crs import xy_to_lonlat

from . import _instruments as ins
from . import _world as wd
from . import _writers as wr
from ._platforms import VAN_ANTENNA_AGL_M, VAN_INLET_AGL_M, _heading_deg, _Platform, _platform_state

ANALYSER_TZ = wr.LOCAL_TZ


def _iso(unix_s: float) -> str:
    return datetime.fromtimestamp(round(unix_s, 3), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _analyser_spec(seed: int, kind: str, t_s: float) -> ins.AnalyserSpec:
    """The analyser of a platform kind, its clock drifted (20 ppm) to time ``t_s``."""
    spec = ins.draw_analyser_spec(wd.rng_for(seed, f"analyser-{kind}"))
    drift_s = round(ins.CLOCK_DRIFT_PPM * 1e-6 * t_s, 1)
    return dataclasses.replace(spec, clock_offset_s=round(spec.clock_offset_s + drift_s, 1))


PUFF_BEFORE_S = 300.0  # the puff test is done on the ground this long before the first mission


def _write_puff_tests(world: wd.World, platforms: list[_Platform], out_dir: Path, epoch_unix_s: float,
                      seed: int) -> tuple[list[Path], list[dict]]:
    """One puff test per analyser (platform kind) and, beside every analyser file, the crew's record."""
    files, tests = [], []
    for kind in dict.fromkeys(p.kind for p in platforms):
        mine = [p for p in platforms if p.kind == kind]
        t_rel = min(p.profile.t_start_s for p in mine) - PUFF_BEFORE_S
        spec = _analyser_spec(seed, kind, t_rel)
        bg = float(world.background_at(np.array([t_rel]))["tvoc_ugm3"][0])
        stamps, tvoc, status, release_gps = ins.puff_test(spec, t_rel, epoch_unix_s, bg,
                                                          wd.rng_for(seed, f"puff-test-{kind}"))
        puff = out_dir / kind / "puff_test.csv"
        wr.write_puff_csv(puff, stamps, tvoc, status)
        files.append(puff)
        release_utc = _iso(release_gps)
        for p in mine:
            tom = out_dir / kind / f"{p.mission_id}_instrument.toml"
            wr.write_instrument_toml(tom, serial=f"SIM-{kind.upper()}-VOC", timezone=ANALYSER_TZ,
                                     response_s=spec.response_tau_s, puff_file=puff.name, release_utc=release_utc,
                                     marker=ins.PUFF_MARKER,
                                     note=f"{kind} VOC analyser, mission {p.mission_id} (ecopatrol simulator)")
            files.append(tom)
        tests.append({"file": f"{kind}/{puff.name}", "platform": kind, "release_true_utc": _iso(epoch_unix_s + t_rel),
                      "release_gps_utc": release_utc, "lag_s": spec.lag_s, "clock_offset_s": spec.clock_offset_s,
                      "response_tau_s": spec.response_tau_s})
    return files, tests


def _write_analyser(area, world: wd.World, p: _Platform, path: Path, epoch_unix_s: float, seed: int, *, rel: str):
    # one analyser per platform kind, whatever the sortie or route: its clock drifts slowly
    # (20 ppm, about 0.07 s an hour) from one file to the next; its inlet lag stays put
    spec = _analyser_spec(seed, p.kind, p.profile.t_start_s)
    rng = wd.rng_for(seed, f"analyser-{p.kind}-{p.mission_id}")
    t_on = p.profile.t_start_s - rng.uniform(60.0, 120.0)
    t_off = p.profile.t_end_s + rng.uniform(30.0, 90.0)
    stamps, true_stamp, draw = ins.analyser_times(spec, t_on, t_off, epoch_unix_s)
    st = _platform_state(area, p, draw)
    conc = world.concentrations(draw, st["x_m"].to_numpy(), st["y_m"].to_numpy(), st["alt_agl_m"].to_numpy(),
                                wd.rng_for(seed, f"puffs-{p.kind}-{p.mission_id}"))
    if p.kind == "van":
        spikes = wd.traffic_spikes(draw, wd.rng_for(seed, f"traffic-{p.mission_id}"))
        for k, v in spikes.items():
            conc[k] = conc[k] + v
    readings = ins.analyser_readings(spec, conc, rng)
    wdir_s, wspd_s = world.wind_at(draw)
    keep = ~readings["lost"].to_numpy()
    wind_cols = None
    if p.kind == "van":
        # the van's roof anemometer (motion-corrected by its logger) is recorded by the analyser PC
        # beside the concentrations, on the analyser clock but without the inlet lag
        t_wind = draw + spec.lag_s
        wfrom, wspd = wd.measured_wind(world, t_wind, np.full(draw.size, VAN_INLET_AGL_M + 0.5),
                                       wd.rng_for(seed, f"van-anemometer-{p.mission_id}"),
                                       dir_sd_deg=8.0, speed_rel_sd=0.12, tau_s=3.0)
        wind_cols = {"Wind_From(deg)": np.round(wfrom, 0)[keep], "Wind_Speed(m/s)": np.round(wspd, 1)[keep]}
    wr.write_analyser_csv(path, stamps[keep], readings[keep], extra=wind_cols)
    row = np.full(len(stamps), -1, np.int64)
    row[keep] = np.arange(int(keep.sum()))
    tf = pd.DataFrame({
        "file": rel, "row": row, "written": keep,
        "stamp_local": pd.to_datetime(stamps, unit="s", utc=True).tz_convert(ANALYSER_TZ)
        .strftime("%Y-%m-%d %H:%M:%S"),
        "time_utc": pd.to_datetime(np.round((epoch_unix_s + draw) * 1e3), unit="ms", utc=True),
        "stamp_true_utc": pd.to_datetime(np.round((epoch_unix_s + true_stamp) * 1e3), unit="ms", utc=True),
        "platform_id": p.kind, "mission_id": p.mission_id,
        "lon": st["lon"].to_numpy(), "lat": st["lat"].to_numpy(), "alt_amsl_m": st["alt_amsl_m"].to_numpy(),
        "alt_agl_m": st["alt_agl_m"].to_numpy(), "speed_m_s": st["speed_m_s"].to_numpy(),
        "true_tvoc_ugm3": conc["tvoc_ugm3"], "true_plume_tvoc_ugm3": conc["plume_tvoc_ugm3"],
        "true_benzene_ppb": conc["benzene_ppb"], "true_toluene_ppb": conc["toluene_ppb"],
        "true_xylene_ppb": conc["xylene_ppb"],
        "true_wind_from_deg": np.round(wdir_s, 3), "true_wind_speed_m_s": np.round(wspd_s, 3),
    })
    mp = conc["mean_plume_by_emitter_ugm3"][keep]
    if mp.shape[1]:
        tf.attrs["max_mean_plume_ugm3"] = mp.max(axis=0)
        tf.attrs["n_mean_plume_ge_5ugm3"] = (mp >= 5.0).sum(axis=0)
    inst = {"file": rel, "clock_offset_s": spec.clock_offset_s, "lag_s": spec.lag_s,
            "total_delay_s": round(spec.clock_offset_s + spec.lag_s, 3),
            "timezone": ANALYSER_TZ, "response_tau_s": spec.response_tau_s, "platform": p.kind,
            "mission_id": p.mission_id, "rows": int(keep.sum()), "rows_lost": int((~keep).sum())}
    return inst, tf, int(keep.sum())


def _write_drone_nav(area, p: _Platform, sub: Path, epoch_unix_s: float, seed: int,
                     world: wd.World | None = None) -> list[Path]:
    rng = wd.rng_for(seed, f"drone-nav-{p.mission_id}")
    t0, t1 = p.profile.t_start_s, p.profile.t_end_s
    home_x, home_y = p.profile.p0[0, 0], p.profile.p0[0, 1]
    dur = max(t1 - t0, 1.0)

    def common(t: np.ndarray) -> pd.DataFrame:
        st = _platform_state(area, p, t)
        airborne = (t >= t0) & (t <= t1)
        frac = np.clip((t - t0) / dur, 0, 1)
        pct = 100.0 - 100.0 * p.battery_fraction * frac
        st["heading_deg"] = _heading_deg(st)
        st["airborne"] = airborne
        st["battery_pct"] = pct
        st["voltage_v"] = 21.6 + 3.6 * pct / 100.0 - np.where(airborne, 0.4, 0.0)
        st["current_a"] = np.where(airborne, 28.0 + 6.0 * np.clip(st["vel_u_m_s"], 0, None), 1.2)
        st["battery_temp_c"] = 24.0 + 14.0 * frac
        st["height_above_takeoff_m"] = st["alt_amsl_m"] - p.home_amsl_m
        st["dist_home_m"] = np.hypot(st["x_m"] - home_x, st["y_m"] - home_y)
        return st

    # MAVLink telemetry log, 4 Hz, from 60 s before take-off to 30 s after landing
    t = np.arange(t0 - 60.0, t1 + 30.0, 0.25)
    st = common(t)
    ekf = ins.gps_error_m(t, sd_m=0.3, tau_s=20.0, rng=rng)
    gps = ins.gps_error_m(t, sd_m=1.0, tau_s=30.0, rng=rng)
    lon_e, lat_e = _offset_lonlat(area, st, ekf)
    lon_g, lat_g = _offset_lonlat(area, st, gps)
    boot_s = t[0] - rng.uniform(120.0, 400.0)
    latency_us = np.round(rng.uniform(20_000, 120_000, t.size)).astype(np.int64)
    true_us = np.round((epoch_unix_s + t) * 1e6).astype(np.int64)
    tl = pd.DataFrame({
        "rx_unix_us": true_us + latency_us, "true_unix_us": true_us,
        "boot_ms": np.round((t - boot_s) * 1000).astype(np.int64),
        "lon": lon_e, "lat": lat_e, "alt_amsl_m": st["alt_amsl_m"] + 0.2 * ekf[:, 0],
        "rel_alt_m": st["height_above_takeoff_m"] + 0.2 * ekf[:, 0],
        "vel_e_m_s": st["vel_e_m_s"], "vel_n_m_s": st["vel_n_m_s"], "vel_u_m_s": st["vel_u_m_s"],
        "heading_deg": st["heading_deg"], "gps_lon": lon_g, "gps_lat": lat_g,
        "gps_alt_amsl_m": st["alt_amsl_m"] + 2.0 * gps[:, 1], "satellites": rng.integers(14, 19, t.size),
        "hdop": np.round(rng.uniform(0.6, 0.9, t.size), 2), "voltage_v": st["voltage_v"],
        "current_a": st["current_a"], "battery_pct": st["battery_pct"],
        "armed": (t >= t0 - 30.0) & (t <= t1 + 20.0),
    })
    if world is not None:
        # the autopilot's wind estimate (ArduPilot WIND message): the wind at the drone's height,
        # from the EKF, so smoothed and a little biased, and only meaningful in flight
        wfrom, wspd = wd.measured_wind(world, t, st["alt_agl_m"].to_numpy(), wd.rng_for(seed, f"drone-wind-{p.mission_id}"),
                                       dir_sd_deg=5.0, speed_rel_sd=0.08, tau_s=20.0)
        airborne = st["alt_agl_m"].to_numpy() > 5.0
        tl["wind_from_deg"] = np.where(airborne, wfrom, np.nan)  # no estimate sent on the ground
        tl["wind_speed_m_s"] = np.where(airborne, wspd, np.nan)
    tlog = sub / f"{p.mission_id}.tlog"
    wr.write_tlog(tlog, tl)
    # DJI AirData CSV, 5 Hz, from motor start to motor stop
    t = np.arange(t0 - 20.0, t1 + 10.0, 0.2)
    st = common(t)
    err = ins.gps_error_m(t, sd_m=0.8, tau_s=30.0, rng=rng)
    st["lon"], st["lat"] = _offset_lonlat(area, st, err)
    st["time_unix_s"] = epoch_unix_s + t
    st["satellites"] = rng.integers(15, 21, t.size)
    air = sub / f"{p.mission_id}_airdata.csv"
    wr.write_airdata_csv(air, st)
    return [tlog, air]


def _offset_lonlat(area, st: pd.DataFrame, err_en_m: np.ndarray):
    lo, la = xy_to_lonlat(st["x_m"].to_numpy() + err_en_m[:, 0], st["y_m"].to_numpy() + err_en_m[:, 1],
                          area.metric_crs)
    return np.asarray(lo, float), np.asarray(la, float)


def _write_van_nav(area, p: _Platform, sub: Path, epoch_unix_s: float, seed: int) -> list[Path]:
    rng = wd.rng_for(seed, f"van-gps-{p.mission_id}")
    t0, t1 = p.profile.t_start_s, p.profile.t_end_s
    # fixes on whole UTC seconds from 2 min before departure to 1 min after arrival
    u0 = math.ceil(epoch_unix_s + t0 - 120.0)
    u1 = math.floor(epoch_unix_s + t1 + 60.0)
    unix = np.arange(u0, u1 + 1, 1.0)
    t = unix - epoch_unix_s
    st = _platform_state(area, p, t)
    err = ins.gps_error_m(t, sd_m=1.5, tau_s=20.0, rng=rng)
    lon, lat = _offset_lonlat(area, st, err)
    n = t.size
    logged = np.ones(n, bool)
    valid = np.ones(n, bool)
    segment = np.zeros(n, np.int64)
    moving = np.flatnonzero((t > t0 + 0.2 * (t1 - t0)) & (t < t0 + 0.8 * (t1 - t0)))
    if moving.size > 200:
        # one gap with nothing logged (receiver reset), one with void fixes (under a bridge)
        a = int(rng.integers(moving[0], moving[0] + (moving.size // 2) - 60))
        b = int(rng.integers(moving[0] + moving.size // 2, moving[-1] - 60))
        la_, lb_ = int(rng.integers(20, 46)), int(rng.integers(15, 41))
        logged[a:a + la_] = False
        valid[a:a + la_] = False
        valid[b:b + lb_] = False
        segment[a + la_:] += 1
        segment[b + lb_:] += 1
    course = _heading_deg(st)
    fixes = pd.DataFrame({
        "time_unix_s": unix, "lon": lon, "lat": lat,
        "alt_amsl_m": st["ground_amsl_m"] + VAN_ANTENNA_AGL_M + 2.5 * err[:, 0] / 1.5,
        "satellites": rng.integers(7, 13, n), "hdop": np.round(rng.uniform(0.8, 1.8, n), 1),
        "speed_m_s": np.abs(st["speed_m_s"] + 0.1 * rng.standard_normal(n)), "course_deg": course,
        "valid": valid, "logged": logged, "segment": segment,
    })
    gpx = sub / f"{p.mission_id}.gpx"
    nmea = sub / f"{p.mission_id}.nmea"
    wr.write_gpx(gpx, fixes, name=p.mission_id)
    wr.write_nmea(nmea, fixes)
    return [gpx, nmea]
