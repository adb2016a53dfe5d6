"""Plan drone sorties for many enterprises: patterns, launch sites, batteries, order.

:func:`plan_drone` is the entry point. The steps:

1. one pattern block per target (``patterns``), waypoints inside a zone dropped;
2. each target assigned to the nearest launch site from which every point of its block
   lies within ``max_range_m`` of the pilot; unreachable targets are dropped with a reason;
3. per launch site, the targets are ordered and split into sorties by a capacitated
   vehicle-routing model (OR-Tools): cost = flight time plus a battery swap per sortie,
   capacity = usable battery energy (1 − reserve); the time and energy of each arc come
   from the wind-aware model of :mod:`.aircraft`;
4. each sortie is assembled (take-off, transits routed around zones, blocks, return, land),
   costed exactly, and split again if the routed detours pushed it over its battery.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.plan import PLAN_SCHEMA
from ecopatrol.core.crs import xy_to_lonlat
from ecopatrol.core.errors import InputError, PlanningError, SafetyError
from ecopatrol.core.rules import rules_of
from ecopatrol.core.weather import Wind, wind_at_height

from ._sortie_route import (  # noqa: F401 (TRANSIT_POINT_SPACING_M re-exported)
    TRANSIT_POINT_SPACING_M,
    _assemble,
    _cost,
    _Ctx,
    _fit,
    _order_and_split,
    _sortie_cost,
)
from .aircraft import Aircraft, get_aircraft
from .airspace import Airspace
from .patterns import PATTERNS, Block, TargetSite, make_block
from .sites import ADHOC_MAX_FROM_AREA_M, ADHOC_SITE_ID, _col, _launch_sites, target_sites  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from ecopatrol.core.area import AreaLike

log = logging.getLogger(__name__)

SCHEMA = PLAN_SCHEMA
FLAT_GROUND_NOTE = ("heights are above the launch point, not above ground: no DEM (planned with --flat-ground; "
                    "hills and valleys between the launch point and the targets are not accounted for)")
DEFAULT_MAX_RANGE_M = 2000.0
DEFAULT_TRANSIT_ALT_AGL_M = 60.0
WAYPOINT_COLUMNS = ["seq", "lon", "lat", "alt_agl_m", "alt_amsl_m", "speed_m_s", "action", "hold_s",
                    "target_id", "pass_id"]


@dataclass
class Sortie:
    """One battery's flight. ``waypoints`` has :data:`WAYPOINT_COLUMNS` plus ``x_m``, ``y_m``,
    ``ground_amsl_m`` (metric CRS of the plan; ``lon``/``lat`` EPSG:4326)."""

    sortie_id: str
    aircraft: str
    launch: dict
    waypoints: pd.DataFrame
    targets: list[str]
    distance_m: float
    duration_s: float
    battery_fraction: float
    energy_wh: float
    patterns: list[str] = field(default_factory=list)
    ground_from_dem: bool = True  # False: some ground heights were not in the DEM (flat ground assumed)

    @property
    def max_alt_agl_m(self) -> float:
        return float(self.waypoints["alt_agl_m"].max())

    @property
    def max_alt_amsl_m(self) -> float:
        return float(self.waypoints["alt_amsl_m"].max())

    @property
    def farthest_from_pilot_m(self) -> float:
        w = self.waypoints
        return float(np.hypot(w["x_m"] - self.launch["x_m"], w["y_m"] - self.launch["y_m"]).max())

    def to_dict(self) -> dict:
        w = self.waypoints[WAYPOINT_COLUMNS]
        wps = []
        for r in w.itertuples(index=False):
            wps.append({
                "seq": int(r.seq), "lon": round(float(r.lon), 8), "lat": round(float(r.lat), 8),
                "alt_agl_m": round(float(r.alt_agl_m), 2), "alt_amsl_m": round(float(r.alt_amsl_m), 2),
                "speed_m_s": round(float(r.speed_m_s), 2), "action": str(r.action),
                "hold_s": round(float(r.hold_s), 1),
                "target_id": None if r.target_id is None or pd.isna(r.target_id) else str(r.target_id),
                "pass_id": None if pd.isna(r.pass_id) or int(r.pass_id) < 0 else int(r.pass_id),
            })
        launch = {k: v for k, v in self.launch.items() if k not in ("x_m", "y_m")}
        return {
            "sortie_id": self.sortie_id, "aircraft": self.aircraft, "launch": launch, "waypoints": wps,
            "distance_m": round(self.distance_m, 1), "duration_s": round(self.duration_s, 1),
            "battery_fraction": round(self.battery_fraction, 4), "targets": list(self.targets),
            "energy_wh": round(self.energy_wh, 2), "patterns": list(self.patterns),
            "max_alt_agl_m": round(self.max_alt_agl_m, 2),
            "farthest_from_pilot_m": round(self.farthest_from_pilot_m, 1),
        }


@dataclass
class DronePlan:
    """A drone plan (schema ``ecopatrol.plan/1``, kind ``drone``)."""

    area_name: str
    wind: Wind
    stability: str
    aircraft: Aircraft
    pattern: str
    reserve: float
    alt_max_agl_m: float
    max_range_m: float
    margin_m: float
    created_utc: datetime
    sorties: list[Sortie]
    warnings: list[str]
    targets_dropped: list[dict]
    metric_crs: object = None
    targets_deferred: list[dict] = field(default_factory=list)
    flat_ground: bool = False
    flight_hours: float | None = None
    swap_s: float = 300.0
    when: datetime | None = None

    @property
    def distance_m(self) -> float:
        return float(sum(s.distance_m for s in self.sorties))

    @property
    def duration_s(self) -> float:
        return float(sum(s.duration_s for s in self.sorties))

    @property
    def day_s(self) -> float:
        """Flying time plus a battery swap between consecutive sorties (s): what ``flight_hours`` bounds."""
        return self.duration_s + self.swap_s * max(len(self.sorties) - 1, 0)

    def to_dict(self) -> dict:
        d = {
            "schema": SCHEMA, "kind": "drone",
            "created_utc": self.created_utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "area": self.area_name,
            "wind": {"from_deg": self.wind.from_deg, "speed_m_s": self.wind.speed_m_s, "stability": self.stability},
            "aircraft": {"key": self.aircraft.key, "name": self.aircraft.name, "payload_kg": self.aircraft.payload_kg},
            "pattern": self.pattern,
            "limits": {"alt_max_agl_m": self.alt_max_agl_m, "max_range_m": self.max_range_m,
                       "reserve": self.reserve, "zone_margin_m": self.margin_m, "flat_ground": self.flat_ground,
                       "flight_hours": self.flight_hours, "battery_swap_s": self.swap_s},
            "heights": FLAT_GROUND_NOTE if self.flat_ground else "true heights above the ground of the area's DEM",
            "sorties": [s.to_dict() for s in self.sorties],
            "day_s": round(self.day_s, 1),
            "targets_dropped": list(self.targets_dropped),
            "targets_deferred": list(self.targets_deferred),
            "warnings": list(self.warnings),
        }
        if self.when is not None:
            d["planned_for"] = {"local": self.when.isoformat(timespec="minutes"),
                                "utc": self.when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        return d


# ---------------------------------------------------------------------------------------
# assembly
# ---------------------------------------------------------------------------------------

def plan_drone(
    area: AreaLike,
    target_ids: list[str],
    wind: Wind,
    *,
    pattern: str = "curtain",
    aircraft: str | Aircraft = "m350",
    reserve: float = 0.3,
    alt_max_agl_m: float | None = None,
    max_range_m: float = DEFAULT_MAX_RANGE_M,
    seed: int = 0,
    transit_alt_agl_m: float = DEFAULT_TRANSIT_ALT_AGL_M,
    margin_m: float = 30.0,
    payload_kg: float | None = None,
    pattern_options: dict | None = None,
    swap_s: float = 300.0,
    time_limit_s: float = 3.0,
    created_utc: datetime | None = None,
    when: datetime | None = None,
    max_targets: int | None = None,
    ranks: list[int] | None = None,
    flight_hours: float | None = None,
    launch: tuple[float, float] | None = None,
    flat_ground: bool = False,
) -> DronePlan:
    """Plan sorties sampling ``target_ids`` of ``area`` in ``wind``.

    Parameters
    ----------
    area : Area
        The operating area (``ecopatrol.core.area.load_area``); geometries EPSG:4326.
    target_ids : list of str
        Enterprise ids, in priority order.
    wind : Wind
        Wind (``from_deg``, 10 m ``speed_m_s``, optional stability; derived when absent).
    pattern : {"curtain", "orbit", "profile", "survey", "hover"}
    aircraft : {"m350", "m300", "m30", "m30t", "m3e", "m3t", "m3m", "mavlink"} or Aircraft
    reserve : float
        Battery fraction kept in reserve at landing (default 0.3).
    alt_max_agl_m : float, optional
        Height cap (true height above ground). Default: the area's (``area.rules.height_cap_m``:
        120 m in China, the national limit or ``[limits] height_cap_m`` elsewhere, see
        :mod:`ecopatrol.core.rules`); a higher cap is planned with a warning (approval needed).
    max_range_m : float
        Maximum horizontal distance from the pilot at the launch site (line of sight). The
        default 2000 m suits an extended line of sight with observers; CAAC's visual line of
        sight is 500 m — set it so for strict VLOS.
    seed : int
        Accepted for a stable signature; the solver used (greedy descent) is deterministic.
    pattern_options : dict
        Keyword options of the pattern function (e.g. ``{"repeats": 2, "distance_m": 200}``).
    swap_s : float
        Ground time to change batteries between sorties, charged per sortie when ordering and
        counted in ``flight_hours``.
    when : datetime, optional
        Planned flight time (tz-aware); with a wind without stability class, the class is
        derived from the wind speed and the sun's elevation then (Turner), else from the
        wind speed for a daytime with slight insolation.
    max_targets : int, optional
        The day's budget in targets: the ``max_targets`` highest-priority targets that can be
        flown are planned; every later one is deferred (``targets_deferred``: "beyond today's
        budget: rank K"). Targets that cannot be flown at all are dropped with their reason and
        the next ones take their place.
    ranks : list of int, optional
        The rank of each target (as in ``targets.csv``), for the reasons; default 1, 2, …
    flight_hours : float, optional
        The day's budget in time: flying time plus a battery swap (``swap_s``) between sorties.
        Sorties are numbered in priority order (S01 holds the highest-ranked target); the first
        sortie that would overrun the budget and every later one are deferred.
    launch : (lon, lat), optional
        An ad-hoc launch point (WGS-84) instead of the area's launch sites, checked like them.
    flat_ground : bool
        Without a DEM (or where it does not reach) heights cannot be known above ground and the
        plan is refused, unless ``flat_ground``: heights are then above the launch point, and
        the plan says so.
    """
    del seed  # deterministic solver
    alt_max_agl_m, rules = _check_options(area, target_ids, pattern, reserve, alt_max_agl_m, max_range_m,
                                          max_targets, flight_hours, when)
    ac = get_aircraft(aircraft)
    if payload_kg is not None:
        ac = ac.with_payload(payload_kg)
    warnings: list[str] = []
    if alt_max_agl_m > rules.height_cap_m + 1e-9:
        warnings.append(f"height cap {alt_max_agl_m:g} m is above the area's {rules.height_cap_m:g} m limit "
                        f"({rules.height_cap_source}): fly only with an airspace approval covering it")
    stability = _stability_checked(area, wind, when, ac, alt_max_agl_m)
    if transit_alt_agl_m > alt_max_agl_m:
        transit_alt_agl_m = alt_max_agl_m - 5.0
    rank_of = _ranked_targets(area, target_ids, ranks)
    target_ids = list(rank_of)
    crs = area.metric_crs
    airspace = Airspace.from_frame(area.nofly, crs, margin_m=margin_m, alt_max_agl_m=alt_max_agl_m)
    launches = _grounded_launches(area, crs, airspace, warnings, launch, flat_ground)
    ctx = _Ctx(ac, wind, stability, airspace, transit_alt_agl_m, (1.0 - reserve) * ac.battery_j)
    budget_s = None if flight_hours is None else flight_hours * 3600.0
    # 1-2. in priority order: a pattern block per target, its launch site, and whether one battery can fly it
    chosen, dropped, deferred = _choose_blocks(
        ctx, area, target_ids, rank_of, launches, warnings, pattern=pattern, alt_max_agl_m=alt_max_agl_m,
        pattern_options=pattern_options, max_range_m=max_range_m, reserve=reserve, max_targets=max_targets,
        budget_s=budget_s, flight_hours=flight_hours)
    # 3-4. per launch site: order, split, assemble; then the day's flight-time budget
    sorties = _build_sorties(ctx, area, crs, launches, chosen, pattern, rank_of, swap_s=swap_s,
                             time_limit_s=time_limit_s)
    if budget_s is not None:
        sorties = _within_budget(sorties, rank_of, deferred, budget_s=budget_s, swap_s=swap_s,
                                 flight_hours=flight_hours)
    if not sorties:
        reasons = "; ".join(f"{d['target_id']}: {d['reason']}" for d in dropped + deferred) or "no targets"
        raise PlanningError(f"no sortie could be planned — {reasons}")
    for d in dropped:
        warnings.append(f"target {d['target_id']} dropped: {d['reason']}")
    for k, s in enumerate(sorties, 1):
        s.sortie_id = f"S{k:02d}"
    if flat_ground and not all(s.ground_from_dem for s in sorties):
        warnings.insert(0, FLAT_GROUND_NOTE)
    deferred.sort(key=lambda d: d["rank"])
    plan = DronePlan(area.name, wind, stability, ac, pattern, reserve, alt_max_agl_m, max_range_m, margin_m,
                     created_utc or datetime.now(UTC), sorties, warnings, dropped, crs, deferred,
                     flat_ground and not all(s.ground_from_dem for s in sorties), flight_hours, swap_s, when)
    n_planned = len({t for s in sorties for t in s.targets})
    log.info("planned %d sorties for %d of %d targets (%d left for another day, %d dropped), %.1f km, %.0f min "
             "in the air, %.1f h with battery swaps", len(sorties), n_planned, len(target_ids), len(deferred),
             len(dropped), plan.distance_m / 1000, plan.duration_s / 60, plan.day_s / 3600)
    return plan


def _check_options(area, target_ids, pattern, reserve, alt_max_agl_m, max_range_m, max_targets, flight_hours,
                   when):
    """Refuse options out of range, naming each; returns the height cap (default: the area's) and the rules."""
    if pattern not in PATTERNS:
        raise InputError(f"pattern {pattern!r}: use one of {', '.join(PATTERNS)}")
    if not 0.0 <= reserve < 0.9:
        raise InputError(f"reserve {reserve}: give the battery fraction to keep, between 0 and 0.9 (e.g. 0.3)")
    rules = rules_of(area)
    if alt_max_agl_m is None:
        alt_max_agl_m = rules.height_cap_m
    if not 20.0 <= alt_max_agl_m <= 500.0:
        raise InputError(f"alt_max_agl_m {alt_max_agl_m}: give a height cap between 20 and 500 m "
                         f"(default: the area's {rules.height_cap_m:g} m)")
    if not target_ids:
        raise InputError("no targets: give enterprise ids with --targets or a --targets-file")
    if max_range_m <= 0:
        raise InputError(f"max_range_m {max_range_m}: must be positive")
    if max_targets is not None and not (isinstance(max_targets, (int, np.integer)) and max_targets >= 1):
        raise InputError(f"max_targets {max_targets!r}: give the number of targets to plan today (at least 1)")
    if flight_hours is not None and not (math.isfinite(flight_hours) and 0 < flight_hours <= 24):
        raise InputError(f"flight_hours {flight_hours!r}: give the day's flying budget in hours (0–24)")
    if when is not None and (not isinstance(when, datetime) or when.tzinfo is None):
        raise InputError(f"when {when!r}: give a timezone-aware datetime")
    return alt_max_agl_m, rules


def _stability_checked(area, wind: Wind, when, ac: Aircraft, alt_max_agl_m: float) -> str:
    """The stability class at the enterprises' median position; refuses a wind at the cap above the aircraft's limit."""
    e = area.enterprises
    c = e.geometry.representative_point() if len(e) else None
    lon0 = float(c.x.median()) if c is not None else 120.45
    lat0 = float(c.y.median()) if c is not None else 36.39
    stability = wind.resolved_stability(when, lon0, lat0)
    w_top = float(wind_at_height(wind.speed_m_s, alt_max_agl_m, stability))
    if w_top > ac.max_wind_m_s:
        raise SafetyError(f"wind {wind.speed_m_s:g} m/s at 10 m is about {w_top:.1f} m/s at {alt_max_agl_m:g} m, "
                          f"above the {ac.max_wind_m_s:g} m/s limit of the {ac.name}: do not fly")
    return stability


def _ranked_targets(area, target_ids, ranks) -> dict[str, int]:
    """Target id → rank, each id once in the order given; refuses ids not in the area's registry."""
    given = [str(t).strip() for t in target_ids]
    if ranks is not None and len(ranks) != len(given):
        raise InputError(f"ranks has {len(ranks)} entries for {len(given)} targets: give one rank per target")
    rank_of: dict[str, int] = {}
    for k, t in enumerate(given):
        rank_of.setdefault(t, int(ranks[k]) if ranks is not None else k + 1)
    known = set(area.enterprises["enterprise_id"].astype(str))
    unknown = [t for t in rank_of if t not in known]
    if unknown:
        raise InputError(f"{len(unknown)} target(s) not in area {area.name!r}: {', '.join(unknown[:10])}"
                         + (" …" if len(unknown) > 10 else "") + " — check the ids against the registry")
    return rank_of


def _grounded_launches(area, crs, airspace: Airspace, warnings: list[str], launch, flat_ground: bool) -> pd.DataFrame:
    """The launch sites with their ground height; without one (no DEM) refused unless ``flat_ground`` (then 0)."""
    launches = _launch_sites(area, crs, airspace, warnings, launch)
    no_ground = ~np.isfinite(launches["ground_amsl_m"].to_numpy(float))
    if no_ground.any():
        where = ", ".join(launches.loc[no_ground, "site_id"].astype(str))
        if not flat_ground:
            dem = getattr(area, "dem_path", None)
            raise SafetyError(
                (f"area {area.name!r} has no DEM" if dem is None else f"the DEM `{Path(dem).name}` does not cover "
                 f"launch site(s) {where}") + ": heights above ground cannot be known, so the height cap and the "
                "minimum height cannot be checked — add a DEM GeoTIFF (dem.tif, heights in metres AMSL) to the area, "
                "or plan with --flat-ground to accept heights above the launch point")
        launches.loc[no_ground, "ground_amsl_m"] = 0.0
    return launches


def _choose_blocks(ctx: _Ctx, area, target_ids, rank_of, launches, warnings, *, pattern, alt_max_agl_m,
                   pattern_options, max_range_m, reserve, max_targets, budget_s, flight_hours):
    """In priority order, a pattern block per target, its launch site and whether one battery can fly
    it, until the day's budget of targets (or a lower bound of its flying time) is reached.

    Returns ``(chosen, dropped, deferred)``: ``(block, launch index, (block s, block J))`` per target
    flown, and the targets dropped (cannot be flown) and deferred (beyond the budget) with reasons."""
    ac, airspace, wind, stability = ctx.aircraft, ctx.airspace, ctx.wind, ctx.stability
    crs = area.metric_crs
    dropped: list[dict] = []
    deferred: list[dict] = []
    lxy = launches[["x_m", "y_m"]].to_numpy()
    chosen: list[tuple[Block, int, tuple[float, float]]] = []
    least_s = 0.0  # the blocks' own flying time: a lower bound of the day's flying
    sites: dict[str, TargetSite] = {}
    chunk = max(10, (max_targets or 0) + 5)
    stop: tuple[int, str] | None = None
    for k, tid in enumerate(target_ids):
        if max_targets is not None and len(chosen) >= max_targets:
            stop = (k, f"beyond today's budget of {max_targets} target(s)")
            break
        if tid not in sites:
            batch = target_ids[k:k + chunk]
            sites.update({st.target_id: st for st in target_sites(area, batch, crs)})
        st = sites[tid]
        b = make_block(pattern, st, wind, stability=stability, alt_max_agl_m=alt_max_agl_m, options=pattern_options)
        bad = airspace.points_blocked(b.x_m, b.y_m, b.alt_agl_m)
        if bad.all():
            dropped.append({"target_id": tid, "rank": rank_of[tid],
                            "reason": "every point of its pattern lies in a no-fly zone"})
            continue
        if bad.any():
            warnings.append(f"{tid}: {int(bad.sum())} of {len(b)} pattern points fall in no-fly or "
                            "restricted zones and were left out")
            b = b.take(~bad)
        d = np.hypot(b.x_m[:, None] - lxy[None, :, 0], b.y_m[:, None] - lxy[None, :, 1]).max(axis=0)
        ok = np.nonzero(d <= max_range_m)[0]
        if not len(ok):
            dropped.append({"target_id": tid, "rank": rank_of[tid],
                            "reason": f"its pattern reaches {d.min():.0f} m from the nearest launch site, "
                                      f"beyond the {max_range_m:.0f} m range from the pilot"})
            continue
        li = int(ok[np.argmin(d[ok])])
        cost, _ = _sortie_cost(ctx, _assemble(ctx, launches.iloc[li], [b]))
        if cost.total_energy_j > ctx.usable_j:
            dropped.append({"target_id": tid, "rank": rank_of[tid],
                            "reason": f"its {pattern} alone needs {cost.total_energy_j / ac.battery_j:.0%} of a "
                                      f"battery, more than the usable {1 - reserve:.0%}: reduce repeats or "
                                      "use a larger aircraft"})
            continue
        bc = _cost(ctx, b.x_m, b.y_m, b.alt_agl_m, b.speed_m_s, b.hold_s)
        block_s = bc.total_time_s + float(b.hold_s[0])
        if budget_s is not None and chosen and least_s + block_s > budget_s:
            stop = (k, f"beyond today's flight-time budget of {flight_hours:g} h (battery swaps included)")
            break
        least_s += block_s
        chosen.append((b, li, (block_s, bc.total_energy_j)))
        if st.airspace in ("controlled", "needs-approval"):
            warnings.append(f"enterprise {tid} ({st.name}) is in {st.airspace} airspace: "
                            "an approval is needed before flying")
    if stop is not None:
        k, why = stop
        deferred += [{"target_id": t, "rank": rank_of[t], "reason": f"{why}: rank {rank_of[t]}"}
                     for t in target_ids[k:]]
    return chosen, dropped, deferred


def _build_sorties(ctx: _Ctx, area, crs, launches, chosen, pattern: str, rank_of, *, swap_s: float,
                   time_limit_s: float) -> list[Sortie]:
    """Per launch site: order the chosen blocks, split them into batteries and assemble the sorties;
    the sortie holding the highest-ranked target first."""
    sorties: list[Sortie] = []
    for li in sorted({li for _, li, _ in chosen}):
        launch_row = launches.iloc[li]
        group = [(b, cst) for b, lj, cst in chosen if lj == li]
        routes = _order_and_split(ctx, launch_row, [b for b, _ in group], [cst for _, cst in group], swap_s=swap_s,
                                  time_limit_s=time_limit_s)
        for r in routes:
            for piece in _fit(ctx, launch_row, [group[j][0] for j in r]):
                sorties.append(_make_sortie(ctx, area, crs, launch_row, piece, pattern))
    sorties.sort(key=lambda s: min(rank_of[t] for t in s.targets))
    return sorties


def _within_budget(sorties: list[Sortie], rank_of, deferred: list[dict], *, budget_s: float, swap_s: float,
                   flight_hours: float) -> list[Sortie]:
    """The sorties (in priority order) that fit the day's flight time with battery swaps; the targets
    of the rest are added to ``deferred``. Refuses when not even the first fits."""
    day = 0.0
    for n, s in enumerate(sorties):
        day += s.duration_s + (swap_s if n else 0.0)
        if day > budget_s + 1e-6:
            why = f"beyond today's flight-time budget of {flight_hours:g} h (battery swaps included)"
            late = [t for s2 in sorties[n:] for t in s2.targets]
            deferred += [{"target_id": t, "rank": rank_of[t], "reason": f"{why}: rank {rank_of[t]}"} for t in late]
            if n == 0:
                raise PlanningError(f"the first sortie alone needs {s.duration_s / 3600:.2f} h, more than the "
                                    f"{flight_hours:g} h flight-time budget: allow more hours")
            return sorties[:n]
    return sorties


def _make_sortie(ctx: _Ctx, area, crs, launch, group: list[Block], pattern: str) -> Sortie:
    arr = _assemble(ctx, launch, group)
    c, dist = _sortie_cost(ctx, arr)
    lon, lat = xy_to_lonlat(arr["x"].astype(float), arr["y"].astype(float), crs)
    ground = np.asarray(area.elevation_m(lon, lat), float)
    g0 = float(launch["ground_amsl_m"])
    from_dem = bool(np.isfinite(ground).all())
    ground = np.where(np.isfinite(ground), ground, g0)
    z = arr["z"].astype(float)
    wp = pd.DataFrame({
        "seq": np.arange(len(z)), "lon": lon, "lat": lat, "alt_agl_m": z, "alt_amsl_m": ground + z,
        "speed_m_s": arr["v"].astype(float), "action": arr["action"].astype(str), "hold_s": arr["hold"].astype(float),
        "target_id": arr["target"], "pass_id": arr["pass_id"].astype(float),
        "x_m": arr["x"].astype(float), "y_m": arr["y"].astype(float), "ground_amsl_m": ground,
    })
    launch_d = {"site_id": str(launch["site_id"]), "name": str(launch["name"]), "lon": round(float(launch["lon"]), 8),
                "lat": round(float(launch["lat"]), 8), "ground_amsl_m": round(g0, 2),
                "x_m": float(launch["x_m"]), "y_m": float(launch["y_m"])}
    return Sortie("S00", ctx.aircraft.key, launch_d, wp, [b.target_id for b in group], dist, c.total_time_s,
                  c.total_energy_j / ctx.aircraft.battery_j, c.total_energy_j / 3600.0,
                  sorted({b.pattern for b in group}), from_dem)
