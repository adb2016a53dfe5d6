"""The whole loop on the bundled example: ``ecopatrol demo``.

registry → plans (drone, van) → simulated field data → georeferenced samples →
evidence → targets → map and report. Each stage writes its contract artefact into the
fixed output layout, so a user can stop after any stage and continue by hand; the
ranked ``targets.csv`` is finally fed back to the planners (``plans/next/``), closing
the loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ecopatrol.core.i18n import Msg

if TYPE_CHECKING:  # pragma: no cover
    from ecopatrol.core.weather import Wind

log = logging.getLogger(__name__)

LAYOUT = ("area", "plans/drone", "plans/van", "field", "samples", "evidence")
STAGES = ("area", "targets0", "drone", "van", "simulate", "georef", "evidence", "targets", "ledger", "next", "map",
          "report")


@dataclass
class DemoResult:
    out: Path
    # (stage, seconds, what): ``what`` a catalogue Msg (English as str(); the CLI renders it in the run's language)
    stages: list[tuple[str, float, Msg | str]] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"ecopatrol demo: outputs in {self.out.resolve()}"]
        for stage, secs, what in self.stages:
            lines.append(f"  {stage:<9} {secs:6.1f} s  {what}")
        total = sum(s for _, s, _ in self.stages)
        lines.append(f"  {'total':<9} {total:6.1f} s")
        for name in ("map.html", "report.html", "targets.csv"):
            if (self.out / name).exists():
                lines.append(f"open {(self.out / name).resolve()}")
        return "\n".join(lines)


class _Stage:
    def __init__(self, result: DemoResult, name: str, progress: Callable[[str], None] | None):
        self.result, self.name, self.progress, self.what = result, name, progress, ""

    def __enter__(self):
        if self.progress:
            self.progress(self.name)
        self.t = time.perf_counter()
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.result.stages.append((self.name, time.perf_counter() - self.t, self.what))
            log.info("demo %s: %s", self.name, self.what)


NEXT_VAN_TARGETS = 8  # the demo's next day: the van's budget in targets (`plan van --top 8`)
NEXT_DRONE_TARGETS = 3  # … and the drone's (`plan drone --top 3`)


def near_launch_sites(area, ids: list[str], *, max_m: float) -> list[str]:
    """The ids (in their order) of enterprises within ``max_m`` of any launch site of ``area``."""
    import numpy as np

    from ecopatrol.core.crs import haversine_m

    if not len(area.launch_sites):
        return list(ids)
    e = area.enterprises.set_index("enterprise_id").loc[list(ids)]
    ls = area.launch_sites.geometry
    d = np.min([haversine_m(e.geometry.x.to_numpy(), e.geometry.y.to_numpy(), p.x, p.y) for p in ls], axis=0)
    return [i for i, dist in zip(ids, d, strict=True) if dist <= max_m]


def registry_risk(area):
    """The first day's registry risk of every firm (a Series by row of ``area.enterprises``): past
    violations, not on the positive list (+1.5), a priority VOC industry (+1)."""
    e = area.enterprises
    return (e["violations_3y"].astype(float) + (~e["positive_list"].astype(bool)) * 1.5
            + e["industry"].isin(["chemicals", "surface coating", "textile dyeing", "packaging printing"]))


def initial_targets(area, *, n_drone: int = 3, n_van: int = 10) -> tuple[list[str], list[str]]:
    """Targets for the first day, from registry risk alone (no evidence yet).

    The drone takes the riskiest firms of the park nearest the van depot that lie within
    1 km of a launch site; the van takes those plus the next riskiest firms of that park and
    of the next park. Deterministic: sorted by risk, then id.
    """

    e = area.enterprises.copy()
    e["_risk"] = registry_risk(area).to_numpy(float)
    depot = area.depot.geometry.iloc[0] if len(area.depot) else e.geometry.union_all().centroid
    parks = e[e["park"] != ""].groupby("park").geometry.agg(lambda g: g.union_all().centroid)
    dist = parks.apply(lambda c: c.distance(depot)).sort_values()
    p0 = dist.index[0]
    free = e["airspace"] == "free"
    in0 = e[(e["park"] == p0) & free].sort_values(["_risk", "enterprise_id"], ascending=[False, True])
    # the drone flies from a launch site: keep to firms within ~1 km of one (line of sight)
    near = in0[in0["enterprise_id"].isin(set(near_launch_sites(area, list(in0["enterprise_id"]), max_m=1000.0)))]
    drone = list(near["enterprise_id"].head(n_drone))
    van = drone + [i for i in in0["enterprise_id"] if i not in drone][: max(n_van // 2, n_drone) - len(drone)]
    if len(dist) > 1:
        in1 = e[e["park"] == dist.index[1]].sort_values(["_risk", "enterprise_id"], ascending=[False, True])
        van += [i for i in in1["enterprise_id"] if i not in van][: n_van - len(van)]
    return drone, van


def registry_prior_order(area) -> list[str]:
    """Every firm by registry risk (highest first, then id), the first day's drone targets first."""
    e = area.enterprises.drop_duplicates("enterprise_id").copy()
    e["_risk"] = registry_risk(area).loc[e.index].to_numpy(float)
    order = list(e.sort_values(["_risk", "enterprise_id"], ascending=[False, True])["enterprise_id"].astype(str))
    first = initial_targets(area)[0]
    return list(dict.fromkeys(first + order))


@dataclass
class DayTargets:
    """A survey day's targets as the CLI planners take them (``plan drone|van --targets-file targets.csv
    --top N``): the ranked ids (``drone``, ``van``) with their ranks and each platform's budget in
    targets (``drone_top``, ``van_top``; None: plan them all). ``drone_fallback``: the ids the drone
    flies (same budget) when none of ``drone`` can be flown — said in the plan's warnings."""

    drone: list[str]
    van: list[str]
    drone_ranks: list[int] | None = None
    van_ranks: list[int] | None = None
    drone_top: int | None = None
    van_top: int | None = None
    drone_fallback: list[str] = field(default_factory=list)

    def key(self) -> tuple:
        return (tuple(self.drone), tuple(self.drone_ranks or ()), self.drone_top, tuple(self.drone_fallback),
                tuple(self.van), tuple(self.van_ranks or ()), self.van_top)


def day_targets_from_ranking(area, ranked, *, skip=(), answered=(), drone_top: int = NEXT_DRONE_TARGETS,
                             van_top: int = 10) -> DayTargets:
    """The next survey day's targets from a ranking (a ``targets.csv`` frame, best first: ``enterprise_id``,
    ``rank``, ``evidence_score``), for :func:`plan_day_drone` and the van planner with their budgets.

    Left out: the firms in ``skip`` (visited on site recently) and the firms in ``answered`` (found
    violating on site and ordered to rectify: the ledger's :meth:`answered_until`) unless their
    evidence since that visit (the ranking's ``evidence_score``, which leaves the answered days out)
    is at least :data:`~ecopatrol.processing.targeting.EVIDENCE_MIN`. The rest keep their order and
    ranks, so the drone flies the highest-ranked firms it can reach, however far down the list. Its
    fallback, when none of them can be flown: the registry-prior order (:func:`registry_prior_order`)
    without ``skip`` and without any answered firm."""
    from ecopatrol.processing.targeting import EVIDENCE_MIN

    skip, answered = set(map(str, skip)), set(map(str, answered))
    ids = ranked["enterprise_id"].astype(str).tolist()
    ranks = ranked["rank"].astype(int).tolist() if "rank" in ranked.columns else list(range(1, len(ids) + 1))
    ev = ranked["evidence_score"].astype(float).tolist() if "evidence_score" in ranked.columns else [0.0] * len(ids)
    keep = [k for k, e in enumerate(ids) if e not in skip and (e not in answered or ev[k] >= EVIDENCE_MIN)]
    kept, kept_ranks = [ids[k] for k in keep], [ranks[k] for k in keep]
    fallback = [e for e in registry_prior_order(area) if e not in skip and e not in answered]
    return DayTargets(kept, kept, kept_ranks, kept_ranks, drone_top, van_top, fallback)


#: The prefix of the drone plan's warning when it flies its fallback targets (:func:`plan_day_drone`).
DRONE_FALLBACK_NOTE = "none of the ranked targets can be flown"


def plan_day_drone(area, t: DayTargets, wind, *, seed: int = 0):
    """The day's drone plan from ``t`` as ``plan drone --targets-file --top N`` makes it: the
    highest-ranked targets the drone can fly (its pattern within reach of a launch site, outside the
    no-fly zones, one battery each) up to ``drone_top``, the ones it cannot fly dropped with their
    reasons and the next ones taking their place. When none can be flown and ``drone_fallback`` is
    given, the fallback ids are planned instead and the plan's first warning says why
    (:data:`DRONE_FALLBACK_NOTE`). Returns ``(plan, fallback reason or None)``."""
    from ecopatrol.core.errors import PlanningError
    from ecopatrol.missions.drone import plan_drone

    def _plan(ids, ranks):
        return plan_drone(area, ids, wind, pattern="curtain", aircraft="m350", seed=seed, max_targets=t.drone_top,
                          ranks=ranks)

    if t.drone or not t.drone_fallback:
        try:
            return _plan(t.drone, t.drone_ranks), None
        except PlanningError as exc:
            if not t.drone_fallback:
                raise
            first = str(exc).split(" — ", 1)[-1].split("; ")[0]
            why = f"{len(t.drone)} ranked, e.g. {first}"
    else:
        why = "the ranking has none left to fly"
    reason = f"{DRONE_FALLBACK_NOTE} ({why}): flying the registry-prior targets not already answered instead"
    log.warning("drone: %s", reason)
    plan = _plan(t.drone_fallback, None)
    plan.warnings.insert(0, reason)
    return plan, reason


def run_demo(out: str | Path, *, seed: int = 0, progress: Callable[[str], None] | None = None,
             wind: Wind | None = None, n_emitters: int = 3, maps: bool = True,
             lang: str | None = None, db: str | None = None, emitters=None, activity: float | None = None,
             start_utc=None, plan_targets: DayTargets | tuple[list[str], list[str]] | None = None,
             world: str = "gaussian", next_plans: bool = True) -> DemoResult:
    """Run the whole loop on the bundled Jimo example into ``out`` and return what was done.

    ``wind`` (a ``core.weather.Wind``) replaces the area's default wind; ``n_emitters`` is the
    number of hidden emitters the simulator places; ``maps=False`` skips the map and report;
    ``lang`` (``"zh"`` or ``"en"``; default the area's) is the language of the map and report;
    ``db`` (a database URL) records the day's off-site checks in the supervision ledger.
    A day of a persistent world (the simulated month): ``emitters`` (a truth.json or ids) keeps the
    same hidden emitters, each emitting with probability ``activity`` that day; ``start_utc`` is the
    survey day; ``plan_targets`` (drone ids, van ids, or a :class:`DayTargets` with ranks, budgets and
    the drone's fallback) replaces the first-day targets from registry risk.
    ``world`` is the simulator's plume world (``gaussian`` or ``lagrangian``); ``next_plans=False``
    skips tomorrow's plans (``plans/next/``; the simulated month plans its days itself).
    """
    from ecopatrol.core.io import remove_stale_temps

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)  # left by a run that was killed: its outputs are rewritten below
    for sub in LAYOUT:
        (out / sub).mkdir(parents=True, exist_ok=True)
    result = DemoResult(out)
    area = _area_stage(result, out, progress)
    if wind is None:
        wind = area.default_wind()
    with _Stage(result, "targets0", progress) as st:
        day = plan_targets if plan_targets is not None else initial_targets(area)
        if not isinstance(day, DayTargets):
            day = DayTargets(list(day[0]), list(day[1]))
        st.what = Msg("demo.targets0_previous" if plan_targets is not None else "demo.targets0_first",
                      drone=day.drone_top or len(day.drone), van=day.van_top or len(day.van))
    _plan_stages(result, out, area, day, wind, seed, progress)
    from ecopatrol.missions.simulate import simulate

    with _Stage(result, "simulate", progress) as st:
        sim = simulate(area, out / "plans", out / "field", seed=seed, wind=wind, n_emitters=n_emitters,
                       start_utc=start_utc, emitters=emitters, activity=activity, world=world)
        n_files = sum(1 for p in (out / "field").rglob("*") if p.is_file())
        st.what = Msg("demo.simulate", n=n_files, emitters=len(sim.truth["emitters"]))
    _analysis_stages(result, out, area, wind, seed, progress)
    if db is not None:
        with _Stage(result, "ledger", progress) as st:
            st.what = _record_ledger(out, area, db)
    if next_plans:
        _next_stage(result, out, area, wind, seed, progress)
    if not maps:
        return result
    from ecopatrol.maps import build_map, build_report

    with _Stage(result, "map", progress) as st:
        p = build_map(out, out=out / "map.html", basemap="osm", area=area, lang=lang)
        st.what = Msg("demo.map", mb=f"{p.stat().st_size / 1e6:.1f}")
    with _Stage(result, "report", progress) as st:
        p = build_report(out, out=out / "report.html", lang=lang,
                         ledger_stats=ledger_year_stats(db, out) if db is not None else None)
        st.what = Msg("demo.report", mb=f"{p.stat().st_size / 1e6:.1f}")
    return result


def _area_stage(result: DemoResult, out: Path, progress):
    """The bundled Jimo area exported into ``out/area`` and loaded strictly."""
    from ecopatrol.core.area import export_area, load_area

    with _Stage(result, "area", progress) as st:
        export_area("jimo", out / "area")
        area = load_area(out / "area", strict=True)
        s = area.summary()
        st.what = Msg("demo.area", enterprises=s["enterprises"], positive=s["positive_list"], sources=s["sources"],
                      zones=s["nofly_zones"])
    return area


def _plan_stages(result: DemoResult, out: Path, area, day: DayTargets, wind, seed: int, progress) -> None:
    """The day's drone plan (curtains, M350) and van plan, written under ``out/plans``."""
    from ecopatrol.missions.drone import write_drone_plan
    from ecopatrol.missions.van import plan_van, write_van_plan

    with _Stage(result, "drone", progress) as st:
        dplan, _ = plan_day_drone(area, day, wind, seed=seed)
        write_drone_plan(dplan, area, out / "plans" / "drone")
        dd = dplan.to_dict()
        st.what = Msg("demo.drone", sorties=len(dd["sorties"]),
                      km=f"{sum(x['distance_m'] for x in dd['sorties']) / 1000:.1f}",
                      minutes=f"{sum(x['duration_s'] for x in dd['sorties']) / 60:.0f}")
    with _Stage(result, "van", progress) as st:
        vplan = plan_van(area, day.van, wind, seed=seed, max_targets=day.van_top, ranks=day.van_ranks)
        write_van_plan(vplan, out / "plans" / "van")
        vd = vplan.to_dict()
        r = vd["routes"][0] if vd["routes"] else {"distance_m": 0, "duration_s": 0, "targets_covered": [], "targets_dropped": []}
        st.what = Msg("demo.van", km=f"{r['distance_m'] / 1000:.1f}", hours=f"{r['duration_s'] / 3600:.1f}",
                      covered=len(r["targets_covered"]), dropped=len(r["targets_dropped"]))


def _analysis_stages(result: DemoResult, out: Path, area, wind, seed: int, progress) -> None:
    """The field files georeferenced into ``samples/``, the evidence built and the targets ranked."""
    from ecopatrol.core.artefacts.plan import read_plan
    from ecopatrol.processing.evidence import build_evidence
    from ecopatrol.processing.georef import georeference
    from ecopatrol.processing.samples import write_samples
    from ecopatrol.processing.targeting import rank_targets, write_targets

    with _Stage(result, "georef", progress) as st:
        res = _georeference_field(out / "field", area, georeference)
        write_samples(res, out / "samples")
        nq = len(res.quarantine)
        st.what = Msg("demo.georef", n=len(res.samples), q=nq)
    with _Stage(result, "evidence", progress) as st:
        # the drone plan names each curtain's target: its flux is credited to the firm it was flown for
        plan_path = out / "plans" / "drone" / "plan.json"
        ev = build_evidence(res.samples, area, out_dir=out / "evidence", wind=wind, seed=seed,
                            plan=read_plan(plan_path, kind="drone"), plan_name=str(plan_path))
        st.what = _describe_evidence(out / "evidence", ev)
    with _Stage(result, "targets", progress) as st:
        alarms = _monitor_alarms(out, area)  # issue 17: the simulated data loggers' alarms, as evidence
        targets = rank_targets(out / "evidence", area, alarms=alarms)
        write_targets(targets, out / "targets.csv")
        top = targets.head(3)
        st.what = Msg("demo.targets", n=len(targets), top=", ".join(
            f"{r.enterprise_id} ({r.score:.2f})" for r in top.itertuples()))


def _next_stage(result: DemoResult, out: Path, area, wind, seed: int, progress) -> None:
    """The next day's plans from the ranked targets, under ``out/plans/next`` (the loop closes)."""
    from ecopatrol.core.errors import PlanningError
    from ecopatrol.core.registry import read_targets_ranked
    from ecopatrol.missions.drone import plan_drone, write_drone_plan
    from ecopatrol.missions.van import plan_van, write_van_plan

    with _Stage(result, "next", progress) as st:
        # as `plan van|drone --targets-file targets.csv --top N` do: the planners take the whole
        # ranked list and their own day's budget (the highest-ranked targets they can cover first,
        # the rest deferred with their rank), not a slice of it
        ids, ranks = read_targets_ranked(out / "targets.csv")
        vnext = plan_van(area, ids, wind, seed=seed, max_targets=NEXT_VAN_TARGETS, ranks=ranks)
        write_van_plan(vnext, out / "plans" / "next" / "van")
        van_next = Msg("demo.next_van", covered=len(vnext.targets_covered), budget=NEXT_VAN_TARGETS,
                       deferred=len(vnext.deferred))
        try:
            nplan = plan_drone(area, ids, wind, pattern="curtain", aircraft="m350", seed=seed,
                               max_targets=NEXT_DRONE_TARGETS, ranks=ranks)
            write_drone_plan(nplan, area, out / "plans" / "next" / "drone")
            n_flown = len({t for s in nplan.sorties for t in s.targets})
            drone_next = Msg("demo.next_drone", n=n_flown, budget=NEXT_DRONE_TARGETS)
        except PlanningError as exc:
            drone_next = Msg("demo.next_no_drone", error=getattr(exc, "msg", None) or str(exc))
        st.what = Msg("demo.next", van=van_next, drone=drone_next)


def _record_ledger(out: Path, area, db: str) -> Msg:
    """Record the run's off-site checks in the ledger at ``db``; what was recorded."""
    from ecopatrol.core.db import open_database, redact
    from ecopatrol.processing.ledger.coverage import assess_run
    from ecopatrol.processing.ledger.store import record_run

    engine = open_database(db)
    try:
        rr = record_run(engine, assess_run(out, area))
    finally:
        engine.dispose()
    s = rr.summary
    return Msg("demo.ledger", db=redact(db), covered=s["covered"],
               results=", ".join(f"{k} {v}" for k, v in s["by_result"].items()),
               again="" if rr.new else Msg("demo.ledger_again"))


def ledger_year_stats(db: str, run_dir: Path) -> dict:
    """The ledger's statistics from 1 January of the run's survey year to the day after the survey."""
    import pandas as pd

    from ecopatrol.core.artefacts.evidence import read_summary
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.stats import ledger_stats

    end = (read_summary(Path(run_dir) / "evidence") or {}).get("end_utc")
    t1 = (pd.Timestamp(end) if end else pd.Timestamp.now(tz="UTC")).normalize() + pd.Timedelta(days=1)
    engine = open_database(db, migrate=False)
    try:
        return ledger_stats(engine, pd.Timestamp(year=t1.year, month=1, day=1, tz="UTC"), t1, per_firm=False)
    finally:
        engine.dispose()


def _monitor_alarms(out: Path, area) -> Path | None:
    """Ingest the simulated HJ 212 traffic (``field/monitor/monitors.h212``) into ``monitor.db`` and
    write ``alarms.csv``; None when the field has none."""
    packets = out / "field" / "monitor" / "monitors.h212"
    if not packets.is_file():
        return None
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.monitor.alarms import monitor_alarms, write_alarms
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.store import PacketStore

    from ecopatrol.core.io import atomic_path

    # built whole under a temporary name, then renamed: a killed demo leaves no half-filled monitor.db
    # (a rerun ingests the day again from the start)
    with atomic_path(out / "monitor.db") as tmp:
        engine = open_database(f"sqlite:///{tmp}")
        try:
            ingest_file(PacketStore(engine), packets)
            res = monitor_alarms(engine, area)
        finally:
            engine.dispose()
    return write_alarms(res, out / "alarms.csv")


def _georeference_field(field_dir: Path, area, georeference):
    """Georeference every platform's raw files (track + analyser pairs) and merge the results."""
    import pandas as pd

    from ecopatrol.processing.georef import pair_field_files

    results = []
    for tracks, sensor in pair_field_files(field_dir, recursive=True):
        platform = "drone" if sensor.parent.name == "drone" else "van"
        results.append(georeference(list(tracks), [sensor], dem=area.elevation_m, platform_id=f"{platform}-1",
                                    mission_id=sensor.name[: -len("_voc.csv")] if sensor.name.endswith("_voc.csv")
                                    else sensor.stem))
    if not results:
        from ecopatrol.core.errors import InputError

        raise InputError.keyed("field.no_pairs", folder=field_dir)
    if len(results) == 1:
        return results[0]
    import geopandas as gpd

    merged = results[0]
    merged.samples = gpd.GeoDataFrame(pd.concat([r.samples for r in results], ignore_index=True),
                                      geometry="geometry", crs="EPSG:4326")
    merged.quarantine = pd.concat([r.quarantine for r in results], ignore_index=True)
    merged.provenance = [p for r in results for p in r.provenance]
    return merged


def _describe_evidence(ev_dir: Path, ev) -> Msg | str:
    """What the evidence stage wrote (English as ``str()``)."""
    summary = getattr(ev, "summary", None)
    summary = summary() if callable(summary) else summary
    n_files = sum(1 for p in ev_dir.iterdir() if p.is_file())
    if isinstance(summary, dict):
        keys = (("n_events", "events"), ("n_confirmed_events", "confirmed"), ("n_hotspots", "hotspots"),
                ("n_segments", "road segments"), ("n_sources_with_rate", "sources with a rate"),
                ("n_curtains", "curtains"), ("n_curtains_credited", "credited to a firm"))
        if all(k in summary for k, _ in keys):
            return Msg("demo.evidence", **{k[2:]: summary[k] for k, _ in keys}, files=n_files)
        parts = [f"{summary[k]} {label}" for k, label in keys if k in summary]
        return "evidence/ — " + ", ".join(parts) + f" ({n_files} files)"
    return f"evidence/ — {n_files} files"
