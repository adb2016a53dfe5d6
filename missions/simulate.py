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

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ecopatrol.core import settings
from ecopatrol.core.artefacts.plan import PLAN_SCHEMA, plan_targets, read_plan, validate_plan
from ecopatrol.core.crs import lonlat_to_xy, xy_to_lonlat
from ecopatrol.core.errors import InputError, InputFileNotFoundError, Report
from ecopatrol.core.weather import Wind, stability_class

from . import _instruments as ins
from . import _world as wd
from . import _writers as wr

log = logging.getLogger(__name__)

DEFAULT_START_UTC = datetime(2026, 5, 12, 1, 0, tzinfo=UTC)
ANALYSER_TZ = wr.LOCAL_TZ
VAN_INLET_AGL_M = settings.GROUND_INLET_AGL_M
VAN_ANTENNA_AGL_M = 2.5
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


def _file_id(value) -> str:
    """A mission id that names raw files (``S01.tlog``): refused if it could leave the output folder."""
    from .drone._safe import safe_stem

    return safe_stem(value, what="mission id")


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


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


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
# Platforms
# ---------------------------------------------------------------------------

@dataclass
class _Platform:
    kind: str  # "drone" | "van"
    mission_id: str
    profile: ins.Profile
    home_amsl_m: float
    inlet_agl_m: float | None  # fixed inlet height (van); None = the drone's own height
    battery_fraction: float = 0.6


def _ground_m(area, lon, lat, fallback: float) -> np.ndarray:
    lon = np.asarray(lon, float)
    try:
        g = np.asarray(area.elevation_m(lon, lat), float)
    except Exception:  # noqa: BLE001 - a missing or unreadable DEM means flat ground
        g = np.full(lon.shape, np.nan)
    return np.where(np.isfinite(g), g, fallback)


def _drone_platform(area, sortie: dict, t_start_s: float) -> _Platform:
    crs = area.metric_crs
    wps = sortie["waypoints"]
    launch = sortie.get("launch") or {}
    lon = np.array([float(w["lon"]) for w in wps])
    lat = np.array([float(w["lat"]) for w in wps])
    agl = np.array([float(w["alt_agl_m"]) for w in wps])
    amsl = np.array([float(w["alt_amsl_m"]) if _finite(w.get("alt_amsl_m")) else np.nan for w in wps])
    l_lon = float(launch["lon"]) if _finite(launch.get("lon")) else lon[0]
    l_lat = float(launch["lat"]) if _finite(launch.get("lat")) else lat[0]
    if _finite(launch.get("ground_amsl_m")):
        home = float(launch["ground_amsl_m"])
    else:
        home = float(_ground_m(area, [l_lon], [l_lat], 0.0)[0])
    ground = np.where(np.isfinite(amsl), amsl - agl, _ground_m(area, lon, lat, home))
    amsl = np.where(np.isfinite(amsl), amsl, ground + agl)
    x, y = lonlat_to_xy(np.concatenate([[l_lon], lon]), np.concatenate([[l_lat], lat]), crs)
    z = np.concatenate([[home], amsl])
    speed = np.array([float(w.get("speed_m_s") or 0) for w in wps])
    hold = np.concatenate([[0.0], [float(w.get("hold_s") or 0) for w in wps]])
    if agl[-1] > 0.5:  # land where the last waypoint is
        x, y = np.append(x, x[-1]), np.append(y, y[-1])
        z = np.append(z, ground[-1])
        speed = np.append(speed, DRONE_DESCENT_DEFAULT)
        hold = np.append(hold, 0.0)
    P = np.column_stack([x, y, z])
    seg = np.diff(P, axis=0)
    horiz = np.hypot(seg[:, 0], seg[:, 1])
    dz = seg[:, 2]
    d3 = np.sqrt(horiz**2 + dz**2)
    v = np.where(speed > 0, speed, 5.0)
    rate = np.where(dz > 0, ins.DRONE_CLIMB_M_S, ins.DRONE_DESCENT_M_S)
    with np.errstate(divide="ignore", invalid="ignore"):
        vmax_vert = np.where(np.abs(dz) > 1e-3, rate * d3 / np.abs(dz), np.inf)
    prof = ins.build_profile(P, np.minimum(v, vmax_vert), hold, t_start_s=t_start_s,
                             accel_m_s2=ins.DRONE_ACCEL_M_S2, corner="drone")
    bf = sortie.get("battery_fraction")
    return _Platform("drone", _file_id(sortie.get("sortie_id", "S01")), prof, home, None,
                     float(bf) if _finite(bf) and float(bf) > 0 else 0.6)


DRONE_DESCENT_DEFAULT = 2.0


def _van_platform(area, route: dict, t_start_s: float, seed: int) -> _Platform:
    crs = area.metric_crs
    path = np.asarray(route["path"], float)[:, :2]
    x, y = lonlat_to_xy(path[:, 0], path[:, 1], crs)
    fallback = float(np.nanmedian(_ground_m(area, path[:, 0], path[:, 1], np.nan))) \
        if np.isfinite(_ground_m(area, path[:, 0], path[:, 1], np.nan)).any() else 0.0
    ground = _ground_m(area, path[:, 0], path[:, 1], fallback)
    P = np.column_stack([x, y, ground + VAN_ANTENNA_AGL_M])
    n = len(P)
    seg_speed = np.full(n - 1, ins.VAN_TRANSIT_SPEED_M_S)
    for leg in route.get("legs") or []:
        a, b = int(leg["start_idx"]), int(leg["end_idx"])
        if b > a and _finite(leg.get("speed_m_s")) and float(leg["speed_m_s"]) > 0:
            seg_speed[a:b] = float(leg["speed_m_s"])
    rng = wd.rng_for(seed, f"van-lights-{route.get('route_id')}")
    holds = ins.traffic_light_holds(P, rng)
    prof = ins.build_profile(P, seg_speed, holds, t_start_s=t_start_s, accel_m_s2=ins.VAN_ACCEL_M_S2,
                             corner="van")
    return _Platform("van", _file_id(route.get("route_id", "R01")), prof, float(ground[0]), VAN_INLET_AGL_M)


def _platform_state(area, plat: _Platform, t_s: np.ndarray) -> pd.DataFrame:
    """True state of a platform at times ``t_s``: metric and WGS-84 positions, heights, velocity."""
    pos, vel = plat.profile.state(t_s)
    lon, lat = xy_to_lonlat(pos[:, 0], pos[:, 1], area.metric_crs)
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if plat.kind == "van":
        ground = pos[:, 2] - VAN_ANTENNA_AGL_M
        inlet_agl = np.full(len(t_s), VAN_INLET_AGL_M)
        alt_amsl = ground + VAN_INLET_AGL_M
    else:
        ground = _ground_m(area, lon, lat, plat.home_amsl_m)
        alt_amsl = pos[:, 2]
        inlet_agl = np.maximum(alt_amsl - ground, 0.0)
    return pd.DataFrame({
        "x_m": pos[:, 0], "y_m": pos[:, 1], "lon": lon, "lat": lat, "alt_amsl_m": alt_amsl,
        "alt_agl_m": inlet_agl, "ground_amsl_m": ground, "vel_e_m_s": vel[:, 0], "vel_n_m_s": vel[:, 1],
        "vel_u_m_s": vel[:, 2], "speed_m_s": np.hypot(vel[:, 0], vel[:, 1]),
    })


def _heading_deg(df: pd.DataFrame) -> np.ndarray:
    h = pd.Series(np.where(df["speed_m_s"].to_numpy() > 0.3,
                           np.degrees(np.arctan2(df["vel_e_m_s"], df["vel_n_m_s"])) % 360.0, np.nan))
    return h.ffill().bfill().fillna(0.0).to_numpy()


# ---------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------

def _resolve_wind(area, plans: list[dict], wind: Wind | None, start_utc: datetime) -> tuple[Wind, str, float]:
    cfg = dict(getattr(area, "config", {}) or {})
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
    area,
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
    area,
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
    area,
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

    # platforms on a timeline: the van sets off first, the drone sorties follow one another
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

    # the world
    t_lo = min(p.profile.t_start_s for p in platforms) - 600.0
    t_hi = max(p.profile.t_end_s for p in platforms) + 600.0
    grid = np.arange(math.floor(t_lo), math.ceil(t_hi) + 1.0, 1.0)
    wdir, wspd = wd.wind_series(mean_wind, stab, grid, seed)
    world_kind = world
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
            area, tracks, plan_targets(drone_plan) + plan_targets(van_plan), mean_wind=mean_wind,
            stability=stab, mixing_height_m=mix, n_emitters=n_emitters, seed=seed)
    if world_kind == "lagrangian":
        from .worlds.lagrangian import LagrangianPlumes

        world.plumes = LagrangianPlumes(world.emitters, u10_m_s=mean_wind.speed_m_s, stability=stab,
                                        mixing_height_m=mix, seed=seed, t0_s=float(grid[0]), t1_s=float(grid[-1]))

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

    puff_files, puff_tests = _write_puff_tests(world, platforms, out_dir, epoch_unix_s, seed)
    files += puff_files
    for inst in instruments:
        inst["instrument_file"] = f"{inst['platform']}/{inst['mission_id']}_instrument.toml"

    em = world.emitters
    # what the samples truly saw of each emitter: its mean plume (no puffs) at the written
    # samples under the time-varying wind, maximum and count ≥ 5 µg/m³ over all platforms
    seen_max = np.zeros(len(em))
    seen_n = np.zeros(len(em), int)
    for tf in truth_frames:
        mx, nn = tf.attrs.pop("max_mean_plume_ugm3", None), tf.attrs.pop("n_mean_plume_ge_5ugm3", None)
        if mx is not None and mx.size:
            seen_max, seen_n = np.maximum(seen_max, mx), seen_n + nn
    truth = {
        "schema": "ecopatrol.truth/1",
        "seed": int(seed),
        "start_utc": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "area": getattr(area, "name", None),
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
            "stability": stab, "mixing_height_m": mix,
            "direction_sd_deg": wd._DIR_SD_DEG[stab], "direction_tau_s": wd.WIND_DIR_TAU_S,
            "speed_rel_sd": wd.WIND_SPEED_REL_SD, "speed_tau_s": wd.WIND_SPEED_TAU_S,
            "observed_mean_from_deg": round(float(_circmean_deg(wdir)), 3),
            "observed_mean_speed_m_s": round(float(wspd.mean()), 3),
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
    if dormant is not None:
        for d, p in zip(truth["emitters"], em["p_emit"], strict=True):
            d.update(p_emit=float(p), emitting_today=True)
        truth["dormant_emitters"] = dormant

    from .monitor_sim import simulate_monitors  # issue 17: the monitored firms' data loggers (HJ 212)

    files += simulate_monitors(area, em, out_dir, start_utc=start_utc, seed=seed, truth=truth)

    if world.plumes is not None:  # the gaussian world's truth.json stays byte-identical
        truth["world"] = {**world.plumes.describe(), "emission_window_s": [float(grid[0]), float(grid[-1])]}
        for j, e in enumerate(truth["emitters"]):
            e.update(world.plumes.emitter_facts(j))
    wr.write_json(out_dir / "truth.json", truth)
    wr.write_parquet(out_dir / "truth_positions.parquet", pd.concat(truth_frames, ignore_index=True))
    files += [out_dir / "truth.json", out_dir / "truth_positions.parquet"]
    log.info("simulated %d platform(s), %d emitter(s) (%s), wind %s: %d files in %s",
             len(platforms), len(em), ", ".join(f"{e}={r:g} g/s" for e, r in zip(em["source_id"], em["rate_g_s"])),
             mean_wind, len(files), out_dir)
    return SimulationResult(out_dir, files, truth, em, rows)


def _em_lonlat(em: pd.DataFrame, crs):
    if em.empty:
        return np.zeros(0), np.zeros(0)
    lo, la = xy_to_lonlat(em["x_m"].to_numpy(), em["y_m"].to_numpy(), crs)
    return np.round(np.atleast_1d(lo), 7), np.round(np.atleast_1d(la), 7)


def _circmean_deg(d: np.ndarray) -> float:
    r = np.radians(d)
    return math.degrees(math.atan2(np.sin(r).mean(), np.cos(r).mean())) % 360.0


def _iso(unix_s: float) -> str:
    return datetime.fromtimestamp(round(unix_s, 3), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


# ---------------------------------------------------------------------------
# Instruments and their files
# ---------------------------------------------------------------------------

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
