"""Field simulator: fly and drive the plans through a Gaussian-plume world.

``simulate(area, plans_dir, out_dir)`` reads ``plans_dir/drone/plan.json`` and/or
``plans_dir/van/plan.json`` (schema ``ecopatrol.plan/1``), hides a few true emitters
among the area's sources where the plans can see them, moves the drone along each
sortie and the van along each route with realistic dynamics, and writes what the
instruments would have recorded, in their real formats (CONTRACTS.md, "Raw field data"):

- ``drone/<sortie>.tlog`` (MAVLink 1 telemetry log), ``drone/<sortie>_airdata.csv``
  (DJI AirData-style CSV, feet/mph/°F), ``drone/<sortie>_voc.csv`` (analyser);
- ``van/<route>.gpx`` (GPX 1.1), ``van/<route>.nmea`` (GGA + RMC), ``van/<route>_voc.csv``;
- ``<kind>/puff_test.csv`` (the analyser's 10 Hz record of the day's puff test: a 0.5 s
  release of test gas at the inlet, one row marked ``MARK`` by the operator's key press)
  and ``<kind>/<mission>_instrument.toml`` beside every analyser file: what a crew writes
  down — serial, time zone, response time (datasheet), the puff-test file and the GPS
  time of the release. Neither holds the lag or the clock offset: both are measured from
  the puff test by ``ecopatrol.processing.readers.instrument``;
- ``truth.json`` (emitters, wind, instrument clock offsets and lags, puff tests) and
  ``truth_positions.parquet``: for every analyser row, the true time and ``(lon, lat)``
  (EPSG:4326) at which its air entered the inlet, and the true inlet concentrations.

Analysers stamp rows in local time (Asia/Shanghai) on their own clock, offset from UTC
by tens of seconds, and see the air ``lag_s`` (4–20 s) late; they are noisy, smooth with
a first-order response, drop rows, and glitch now and then. The same inputs and seed
give byte-identical files; no wall-clock time is used.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ecopatrol.core import settings
from ecopatrol.core.artefacts.plan import PLAN_SCHEMA, plan_targets, read_plan, validate_plan
from ecopatrol.core.crs import xy_to_lonlat
from ecopatrol.core.directions import circular_mean_deg
from ecopatrol.core.errors import InputError, InputFileNotFoundError, Report
from ecopatrol.core.weather import Wind, stability_class

from . import _world as wd
from . import _writers as wr
from ._field_files import (
    ANALYSER_TZ,  # noqa: F401 (re-exported)
    _iso,
    _write_analyser,
    _write_drone_nav,
    _write_puff_tests,
    _write_van_nav,
)
from ._platforms import (
    VAN_ANTENNA_AGL_M,  # noqa: F401 (re-exported)
    VAN_INLET_AGL_M,  # noqa: F401 (re-exported)
    _drone_platform,
    _finite,
    _ground_m,
    _Platform,
    _platform_state,
    _van_platform,
)

if TYPE_CHECKING:
    from ecopatrol.core.area import AreaLike

log = logging.getLogger(__name__)

DEFAULT_START_UTC = datetime(2026, 5, 12, 1, 0, tzinfo=UTC)
SORTIE_GAP_S = 900.0  # battery swap between sorties
ROUTE_GAP_S = 1200.0
DRONE_FIRST_START_S = 900.0
VAN_FIRST_START_S = 600.0


@dataclass
class SimulationResult:
    """What :func:`simulate` wrote. ``truth`` is the content of ``truth.json``."""

    out_dir: Path
    files: list[Path]
    truth: dict
    emitters: pd.DataFrame
    rows_written: dict[str, int] = field(default_factory=dict)

    @property
    def truth_path(self) -> Path:
        return self.out_dir / "truth.json"


# ---------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------

def load_plan(path: str | Path, *, kind: Literal["drone", "van"]) -> dict:
    """Read and check a ``plan.json`` (``ecopatrol.plan/1``); every problem is reported at once."""
    path = Path(path)
    plan = read_plan(path, kind=kind)
    _check_plan(plan, kind=kind, file=path.name).raise_if_errors(f"plan `{path}`")
    return plan


def _check_ids(plan: dict, kind: str, file: str, rep: Report) -> None:
    """Sortie/route ids name the raw files written: refuse ids that would leave the output folder."""
    from .drone._safe import safe_stem

    key, items = ("sortie_id", plan.get("sorties")) if kind == "drone" else ("route_id", plan.get("routes"))
    for s in items or []:
        if isinstance(s, dict) and key in s:
            try:
                safe_stem(s[key], what=f"`{key}`")
            except InputError as exc:
                rep.error(str(exc), file=file, field=key)


def _check_plan(plan: dict, *, kind: str, file: str = "plan.json") -> Report:
    """Check the parts of a plan the simulator uses: the plan artefact's structure, and ids that
    can name raw files."""
    rep = validate_plan(plan, kind=kind, file=file)
    if isinstance(plan, dict):
        _check_ids(plan, kind, file, rep)
    return rep


def plan_from_track(
    lonlat: Sequence[Sequence[float]],
    *,
    kind: Literal["drone", "van"],
    mission_id: str | None = None,
    speed_m_s: float | None = None,
    alt_agl_m: float = 60.0,
    ground_amsl_m: float = 0.0,
    targets: Sequence[str] = (),
) -> dict:
    """A minimal ``ecopatrol.plan/1`` dict for a simple ``(lon, lat)`` (EPSG:4326) track.

    A drone track becomes one sortie (launch at the first point, climb to ``alt_agl_m``,
    sample along the track, land at the last point); a van track one route made of a
    single monitoring leg.
    """
    pts = [(float(p[0]), float(p[1])) for p in lonlat]
    if len(pts) < 2:
        raise InputError("a track needs at least two (lon, lat) points")
    if kind == "drone":
        v = 5.0 if speed_m_s is None else float(speed_m_s)
        wps = [{"seq": 0, "lon": pts[0][0], "lat": pts[0][1], "alt_agl_m": alt_agl_m,
                "alt_amsl_m": ground_amsl_m + alt_agl_m, "speed_m_s": 3.0, "action": "takeoff", "hold_s": 0}]
        for i, (lo, la) in enumerate(pts):
            wps.append({"seq": i + 1, "lon": lo, "lat": la, "alt_agl_m": alt_agl_m,
                        "alt_amsl_m": ground_amsl_m + alt_agl_m, "speed_m_s": v, "action": "sample",
                        "hold_s": 0, "target_id": None, "pass_id": 1})
        wps.append({"seq": len(wps), "lon": pts[-1][0], "lat": pts[-1][1], "alt_agl_m": 0.0,
                    "alt_amsl_m": ground_amsl_m, "speed_m_s": 2.0, "action": "land", "hold_s": 0})
        return {"schema": PLAN_SCHEMA, "kind": "drone", "sorties": [{
            "sortie_id": mission_id or "T01", "aircraft": "generic",
            "launch": {"site_id": "track", "lon": pts[0][0], "lat": pts[0][1], "ground_amsl_m": ground_amsl_m},
            "waypoints": wps, "targets": list(targets)}]}
    v = 8.33 if speed_m_s is None else float(speed_m_s)
    return {"schema": PLAN_SCHEMA, "kind": "van", "routes": [{
        "route_id": mission_id or "T01", "depot": {"lon": pts[0][0], "lat": pts[0][1]},
        "path": [list(p) for p in pts], "path_node_ids": list(range(len(pts))),
        "legs": [{"leg_id": "L1", "kind": "monitoring", "target_id": None, "pass_no": 1, "start_idx": 0,
                  "end_idx": len(pts) - 1, "speed_m_s": v, "street": ""}],
        "targets_covered": list(targets), "targets_dropped": []}]}


# ---------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------

def _resolve_wind(area, plans: list[dict], wind: Wind | None, start_utc: datetime) -> tuple[Wind, str, float]:
    cfg = dict(area.config or {})
    defaults = cfg.get("defaults", cfg) if isinstance(cfg.get("defaults", cfg), dict) else {}
    plan_wind = next((p.get("wind") for p in plans if isinstance(p.get("wind"), dict)), None)
    if wind is None:
        if plan_wind and _finite(plan_wind.get("from_deg")) and _finite(plan_wind.get("speed_m_s")):
            wind = Wind(float(plan_wind["from_deg"]), float(plan_wind["speed_m_s"]), plan_wind.get("stability"))
        else:
            wind = Wind(float(defaults.get("wind_from_deg", settings.SIMULATOR_WIND_FROM_DEG)),
                        float(defaults.get("wind_speed_m_s", settings.DEFAULT_WIND_SPEED_M_S)),
                        defaults.get("stability"))
    stab = wind.stability or (plan_wind or {}).get("stability") or defaults.get("stability")
    if not stab:
        c = area.enterprises.geometry.union_all().centroid if len(area.enterprises) else None
        stab = stability_class(wind.speed_m_s, when=start_utc, lon=c.x if c else 120.45, lat=c.y if c else 36.39)
    stab = str(stab).upper()
    mix = wind.mixing_height_m or wd.default_mixing_height_m(stab)
    return Wind(wind.from_deg, wind.speed_m_s, stab, mix), stab, float(mix)


def simulate(
    area: AreaLike,
    plans_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    wind: Wind | None = None,
    n_emitters: int = 3,
    start_utc: datetime | None = None,
    emitters=None,
    activity: float | None = None,
    world: str = "gaussian",
) -> SimulationResult:
    """Fly the drone plan and drive the van plan of ``plans_dir`` through a simulated world.

    Reads ``plans_dir/drone/plan.json`` and/or ``plans_dir/van/plan.json`` (either may be
    absent, not both) and writes the raw field files and ``truth.json`` to ``out_dir``
    (layout in the module docstring). ``wind`` overrides the plan's wind (else the area's
    default); ``start_utc`` defaults to 01:00Z on a date derived from ``seed``.
    ``emitters`` (a truth.json, source/enterprise ids or dicts) keeps the same hidden emitters
    across runs, each emitting on the day with probability ``activity`` (``missions.persistent``).
    ``world`` is
    ``gaussian`` (the plumes of ``core.dispersion``, the model attribution inverts) or
    ``lagrangian`` (:mod:`ecopatrol.missions.worlds.lagrangian`: particles in a surface layer,
    building wakes, veer, emission that varies in time; shares no dispersion code with the analysis).
    """
    plans_dir = Path(plans_dir)
    drone_p, van_p = plans_dir / "drone" / "plan.json", plans_dir / "van" / "plan.json"
    if not drone_p.is_file() and not van_p.is_file():
        raise InputFileNotFoundError(
            f"`{plans_dir}`: neither `drone/plan.json` nor `van/plan.json` found; "
            "write plans with `ecopatrol plan drone|van --out DIR` and pass that DIR")
    drone = load_plan(drone_p, kind="drone") if drone_p.is_file() else None
    van = load_plan(van_p, kind="van") if van_p.is_file() else None
    return simulate_plans(area, out_dir, drone_plan=drone, van_plan=van, seed=seed, wind=wind,
                          n_emitters=n_emitters, start_utc=start_utc, emitters=emitters, activity=activity, world=world)


def simulate_track(
    area: AreaLike,
    lonlat: Sequence[Sequence[float]],
    out_dir: str | Path,
    *,
    kind: Literal["drone", "van"] = "van",
    mission_id: str | None = None,
    speed_m_s: float | None = None,
    alt_agl_m: float = 60.0,
    targets: Sequence[str] = (),
    seed: int = 0,
    wind: Wind | None = None,
    n_emitters: int = 3,
    start_utc: datetime | None = None,
    world: str = "gaussian",
) -> SimulationResult:
    """Simulate one platform along a simple ``(lon, lat)`` (EPSG:4326) track, without plans."""
    if kind == "drone":
        g0 = float(_ground_m(area, [lonlat[0][0]], [lonlat[0][1]], 0.0)[0])
        plan = plan_from_track(lonlat, kind="drone", mission_id=mission_id, speed_m_s=speed_m_s,
                               alt_agl_m=alt_agl_m, ground_amsl_m=g0, targets=targets)
        return simulate_plans(area, out_dir, drone_plan=plan, seed=seed, wind=wind, n_emitters=n_emitters,
                              start_utc=start_utc, world=world)
    plan = plan_from_track(lonlat, kind="van", mission_id=mission_id, speed_m_s=speed_m_s, targets=targets)
    return simulate_plans(area, out_dir, van_plan=plan, seed=seed, wind=wind, n_emitters=n_emitters,
                          start_utc=start_utc, world=world)


def simulate_plans(
    area: AreaLike,
    out_dir: str | Path,
    *,
    drone_plan: dict | None = None,
    van_plan: dict | None = None,
    seed: int = 0,
    wind: Wind | None = None,
    n_emitters: int = 3,
    start_utc: datetime | None = None,
    emitters=None,
    activity: float | None = None,
    world: str = "gaussian",
) -> SimulationResult:
    """:func:`simulate` on plan dicts already in memory."""
    from .worlds import WORLDS

    if world not in WORLDS:
        raise InputError(f"world {world!r}: use one of {', '.join(WORLDS)}")
    out_dir = Path(out_dir)
    if start_utc is None:
        start_utc = DEFAULT_START_UTC + timedelta(days=int(seed) % 28)
    if start_utc.tzinfo is None:
        raise InputError("start_utc must be timezone-aware (UTC)")
    start_utc = start_utc.astimezone(UTC)
    epoch_unix_s = start_utc.timestamp()
    for kind, p in (("drone", drone_plan), ("van", van_plan)):
        if p is not None:
            _check_plan(p, kind=kind).raise_if_errors(f"{kind} plan")
    plans = [p for p in (drone_plan, van_plan) if p]
    mean_wind, stab, mix = _resolve_wind(area, plans, wind, start_utc)
    platforms = _timeline(area, drone_plan, van_plan, seed)
    w, dormant = _make_world(area, platforms, start_utc, mean_wind, stab, mix, seed=seed, world_kind=world,
                             emitters=emitters, activity=activity, n_emitters=n_emitters,
                             targets=plan_targets(drone_plan) + plan_targets(van_plan))
    files, rows, instruments, truth_frames = _write_platform_files(area, w, platforms, out_dir, epoch_unix_s, seed)
    puff_files, puff_tests = _write_puff_tests(w, platforms, out_dir, epoch_unix_s, seed)
    files += puff_files
    for inst in instruments:
        inst["instrument_file"] = f"{inst['platform']}/{inst['mission_id']}_instrument.toml"

    em = w.emitters
    truth = _truth(area, w, platforms, truth_frames, instruments, puff_tests, seed=seed, start_utc=start_utc,
                   epoch_unix_s=epoch_unix_s)
    if dormant is not None:
        for d, p in zip(truth["emitters"], em["p_emit"], strict=True):
            d.update(p_emit=float(p), emitting_today=True)
        truth["dormant_emitters"] = dormant

    from .monitor_sim import simulate_monitors  # issue 17: the monitored firms' data loggers (HJ 212)

    files += simulate_monitors(area, em, out_dir, start_utc=start_utc, seed=seed, truth=truth)

    if w.plumes is not None:  # the gaussian world's truth.json stays byte-identical
        truth["world"] = {**w.plumes.describe(), "emission_window_s": [float(w.t_grid_s[0]), float(w.t_grid_s[-1])]}
        for j, e in enumerate(truth["emitters"]):
            e.update(w.plumes.emitter_facts(j))
    wr.write_json(out_dir / "truth.json", truth)
    wr.write_parquet(out_dir / "truth_positions.parquet", pd.concat(truth_frames, ignore_index=True))
    files += [out_dir / "truth.json", out_dir / "truth_positions.parquet"]
    log.info("simulated %d platform(s), %d emitter(s) (%s), wind %s: %d files in %s",
             len(platforms), len(em), ", ".join(f"{e}={r:g} g/s" for e, r in zip(em["source_id"], em["rate_g_s"])),
             mean_wind, len(files), out_dir)
    return SimulationResult(out_dir, files, truth, em, rows)


def _timeline(area, drone_plan: dict | None, van_plan: dict | None, seed: int) -> list[_Platform]:
    """The platforms on a timeline: the van sets off first, the drone sorties follow one another."""
    platforms: list[_Platform] = []
    t = DRONE_FIRST_START_S
    for s in (drone_plan or {}).get("sorties") or []:
        p = _drone_platform(area, s, t)
        platforms.append(p)
        t = p.profile.t_end_s + SORTIE_GAP_S
    t = VAN_FIRST_START_S
    for r in (van_plan or {}).get("routes") or []:
        p = _van_platform(area, r, t, seed)
        platforms.append(p)
        t = p.profile.t_end_s + ROUTE_GAP_S
    if not platforms:
        raise InputError("the plans hold no sortie and no route: nothing to simulate")
    return platforms


def _make_world(area, platforms: list[_Platform], start_utc: datetime, mean_wind: Wind, stab: str, mix: float, *,
                seed: int, world_kind: str, emitters, activity, n_emitters: int, targets: list[str]):
    """The simulated world over the platforms' time span (±10 min): its wind and background series and
    its emitters — chosen near the tracks, or a persistent world's active ones; with the lagrangian
    world its particle plumes. Returns ``(world, dormant emitters or None)``."""
    t_lo = min(p.profile.t_start_s for p in platforms) - 600.0
    t_hi = max(p.profile.t_end_s for p in platforms) + 600.0
    grid = np.arange(math.floor(t_lo), math.ceil(t_hi) + 1.0, 1.0)
    wdir, wspd = wd.wind_series(mean_wind, stab, grid, seed)
    world = wd.World(start_utc, area.metric_crs, mean_wind, stab, mix, grid, wdir, wspd,
                     wd.background_series(grid, seed))
    tracks = []
    for p in platforms:
        st = _platform_state(area, p, np.arange(p.profile.t_start_s, p.profile.t_end_s, 2.0))
        tracks.append((st["x_m"].to_numpy(), st["y_m"].to_numpy(), st["alt_agl_m"].to_numpy()))
    dormant = None
    if emitters is not None:  # a persistent world: the same emitters every day, active by chance
        from .persistent import persistent_emitters

        world.emitters, dormant = persistent_emitters(area, emitters, seed=seed, activity=activity)
    else:
        world.emitters = wd.choose_emitters(
            area, tracks, targets, mean_wind=mean_wind,
            stability=stab, mixing_height_m=mix, n_emitters=n_emitters, seed=seed)
    if world_kind == "lagrangian":
        from .worlds.lagrangian import LagrangianPlumes

        world.plumes = LagrangianPlumes(world.emitters, u10_m_s=mean_wind.speed_m_s, stability=stab,
                                        mixing_height_m=mix, seed=seed, t0_s=float(grid[0]), t1_s=float(grid[-1]))
    return world, dormant


def _write_platform_files(area, world: wd.World, platforms: list[_Platform], out_dir: Path, epoch_unix_s: float,
                          seed: int):
    """Each platform's navigation files and analyser export; returns ``(files, rows per analyser file,
    instruments, true-position frames)``."""
    files: list[Path] = []
    rows: dict[str, int] = {}
    instruments: list[dict] = []
    truth_frames: list[pd.DataFrame] = []
    for p in platforms:
        sub = out_dir / p.kind
        if p.kind == "drone":
            files += _write_drone_nav(area, p, sub, epoch_unix_s, seed, world)
        else:
            files += _write_van_nav(area, p, sub, epoch_unix_s, seed)
        inst, tf, n = _write_analyser(area, world, p, sub / f"{p.mission_id}_voc.csv", epoch_unix_s, seed,
                                      rel=f"{p.kind}/{p.mission_id}_voc.csv")
        files.append(sub / f"{p.mission_id}_voc.csv")
        rows[inst["file"]] = n
        instruments.append(inst)
        truth_frames.append(tf)
    return files, rows, instruments, truth_frames


def _truth(area, world: wd.World, platforms: list[_Platform], truth_frames, instruments, puff_tests, *, seed: int,
           start_utc: datetime, epoch_unix_s: float) -> dict:
    """``truth.json``: the emitters (with what the samples truly saw of each), the wind, the
    background, the instruments, the puff tests and the platforms' times."""
    em, stab, mean_wind = world.emitters, world.stability, world.mean_wind
    # what the samples truly saw of each emitter: its mean plume (no puffs) at the written
    # samples under the time-varying wind, maximum and count ≥ 5 µg/m³ over all platforms
    seen_max = np.zeros(len(em))
    seen_n = np.zeros(len(em), int)
    for tf in truth_frames:
        mx, nn = tf.attrs.pop("max_mean_plume_ugm3", None), tf.attrs.pop("n_mean_plume_ge_5ugm3", None)
        if mx is not None and mx.size:
            seen_max, seen_n = np.maximum(seen_max, mx), seen_n + nn
    return {
        "schema": "ecopatrol.truth/1",
        "seed": int(seed),
        "start_utc": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "area": area.name,
        "emitters": [
            {"enterprise_id": r.enterprise_id, "source_id": r.source_id, "rate_g_s": float(r.rate_g_s),
             "rate_of": "TVOC",
             "positive_list": bool(r.positive_list), "industry": r.industry,
             "lon": float(lo), "lat": float(la), "height_m": float(r.height_m),
             "species_mass_fraction": {sp: float(getattr(r, f"frac_{sp}")) for sp in wd.SPECIES},
             "max_unit_conc_on_tracks_ugm3_per_g_s": round(float(r.score), 6),
             "max_true_plume_on_samples_ugm3": round(float(mx), 3), "n_samples_true_plume_ge_5ugm3": int(nn),
             "diameter_m": float(r.diameter_m), "exit_velocity_m_s": float(r.exit_velocity_m_s),
             "exit_temp_k": float(r.exit_temp_k)}
            for r, lo, la, mx, nn in zip(em.itertuples(), *_em_lonlat(em, area.metric_crs), seen_max, seen_n)
        ],
        "wind": {
            "from_deg": round(mean_wind.from_deg, 3), "speed_m_s": round(mean_wind.speed_m_s, 3),
            "stability": stab, "mixing_height_m": world.mixing_height_m,
            "direction_sd_deg": wd._DIR_SD_DEG[stab], "direction_tau_s": wd.WIND_DIR_TAU_S,
            "speed_rel_sd": wd.WIND_SPEED_REL_SD, "speed_tau_s": wd.WIND_SPEED_TAU_S,
            "observed_mean_from_deg": round(circular_mean_deg(world.wind_from_deg), 3),
            "observed_mean_speed_m_s": round(float(world.wind_speed_m_s.mean()), 3),
        },
        "background": {k: round(float(np.mean(v)), 3) for k, v in world.background.items()},
        "instruments": instruments,
        "puff_tests": puff_tests,
        "platforms": [
            {"kind": p.kind, "mission_id": p.mission_id,
             "start_utc": _iso(epoch_unix_s + p.profile.t_start_s),
             "end_utc": _iso(epoch_unix_s + p.profile.t_end_s),
             "distance_m": round(p.profile.distance_m, 1), "duration_s": round(p.profile.duration_s, 1)}
            for p in platforms
        ],
    }


def _em_lonlat(em: pd.DataFrame, crs):
    if em.empty:
        return np.zeros(0), np.zeros(0)
    lo, la = xy_to_lonlat(em["x_m"].to_numpy(), em["y_m"].to_numpy(), crs)
    return np.round(np.atleast_1d(lo), 7), np.round(np.atleast_1d(la), 7)
