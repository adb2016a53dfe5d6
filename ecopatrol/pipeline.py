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

if TYPE_CHECKING:  # pragma: no cover
    from .core.weather import Wind

log = logging.getLogger(__name__)

LAYOUT = ("area", "plans/drone", "plans/van", "field", "samples", "evidence")
STAGES = ("area", "targets0", "drone", "van", "simulate", "georef", "evidence", "targets", "next", "map", "report")


@dataclass
class DemoResult:
    out: Path
    stages: list[tuple[str, float, str]] = field(default_factory=list)  # (stage, seconds, what)

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


NEXT_DRONE_RANGE_M = 1500.0  # tomorrow's curtains: targets this close to a launch site (pattern + margin < 2 km)


def near_launch_sites(area, ids: list[str], *, max_m: float) -> list[str]:
    """The ids (in their order) of enterprises within ``max_m`` of any launch site of ``area``."""
    import numpy as np

    from .core.crs import haversine_m

    if not len(area.launch_sites):
        return list(ids)
    e = area.enterprises.set_index("enterprise_id").loc[list(ids)]
    ls = area.launch_sites.geometry
    d = np.min([haversine_m(e.geometry.x.to_numpy(), e.geometry.y.to_numpy(), p.x, p.y) for p in ls], axis=0)
    return [i for i, dist in zip(ids, d, strict=True) if dist <= max_m]


def initial_targets(area, *, n_drone: int = 3, n_van: int = 10) -> tuple[list[str], list[str]]:
    """Targets for the first day, from registry risk alone (no evidence yet).

    The drone takes the riskiest firms of the park nearest the van depot that lie within
    1 km of a launch site; the van takes those plus the next riskiest firms of that park and
    of the next park. Deterministic: sorted by risk, then id.
    """

    e = area.enterprises.copy()
    risk = (e["violations_3y"].to_numpy() * 1.0 + (~e["positive_list"].to_numpy()) * 1.5
            + e["industry"].isin(["chemicals", "surface coating", "textile dyeing", "packaging printing"]).to_numpy())
    e["_risk"] = risk
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


def run_demo(out: str | Path, *, seed: int = 0, progress: Callable[[str], None] | None = None,
             wind: Wind | None = None, n_emitters: int = 3, maps: bool = True,
             lang: str | None = None) -> DemoResult:
    """Run the whole loop on the bundled Jimo example into ``out`` and return what was done.

    ``wind`` (a ``core.weather.Wind``) replaces the area's default wind; ``n_emitters`` is the
    number of hidden emitters the simulator places; ``maps=False`` skips the map and report;
    ``lang`` (``"zh"`` or ``"en"``; default the area's) is the language of the map and report.
    """
    from .core.area import export_area, load_area

    from .core.io import remove_stale_temps

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)  # left by a run that was killed: its outputs are rewritten below
    for sub in LAYOUT:
        (out / sub).mkdir(parents=True, exist_ok=True)
    result = DemoResult(out)

    with _Stage(result, "area", progress) as st:
        export_area("jimo", out / "area")
        area = load_area(out / "area", strict=True)
        s = area.summary()
        st.what = (f"area/ — {s['enterprises']} enterprises ({s['positive_list']} positive list), "
                   f"{s['sources']} sources, {s['nofly_zones']} zones; checks passed")
    if wind is None:
        wind = area.default_wind()

    with _Stage(result, "targets0", progress) as st:
        drone_targets, van_targets = initial_targets(area)
        st.what = f"first-day targets from registry risk: {len(drone_targets)} for the drone, {len(van_targets)} for the van"

    from .missions.drone import plan_drone, write_drone_plan
    from .missions.van import plan_van, write_van_plan

    with _Stage(result, "drone", progress) as st:
        dplan = plan_drone(area, drone_targets, wind, pattern="curtain", aircraft="m350", seed=seed)
        write_drone_plan(dplan, area, out / "plans" / "drone")
        dd = dplan.to_dict()
        st.what = (f"plans/drone/ — {len(dd['sorties'])} sortie(s), "
                   f"{sum(x['distance_m'] for x in dd['sorties']) / 1000:.1f} km, "
                   f"{sum(x['duration_s'] for x in dd['sorties']) / 60:.0f} min")
    with _Stage(result, "van", progress) as st:
        vplan = plan_van(area, van_targets, wind, seed=seed)
        write_van_plan(vplan, out / "plans" / "van")
        vd = vplan.to_dict()
        r = vd["routes"][0] if vd["routes"] else {"distance_m": 0, "duration_s": 0, "targets_covered": [], "targets_dropped": []}
        st.what = (f"plans/van/ — {r['distance_m'] / 1000:.1f} km, {r['duration_s'] / 3600:.1f} h, "
                   f"{len(r['targets_covered'])} targets covered, {len(r['targets_dropped'])} dropped")

    from .missions.simulate import simulate

    with _Stage(result, "simulate", progress) as st:
        sim = simulate(area, out / "plans", out / "field", seed=seed, wind=wind, n_emitters=n_emitters)
        n_files = sum(1 for p in (out / "field").rglob("*") if p.is_file())
        st.what = f"field/ — {n_files} raw files in real formats, {len(sim.truth['emitters'])} hidden emitters (truth.json)"

    from .processing.georef import georeference
    from .processing.samples import write_samples

    with _Stage(result, "georef", progress) as st:
        res = _georeference_field(out / "field", area, georeference)
        write_samples(res, out / "samples")
        nq = len(res.quarantine)
        st.what = f"samples/ — {len(res.samples)} samples kept, {nq} rows quarantined"

    from .processing.evidence import build_evidence
    from .processing.targeting import rank_targets, write_targets

    with _Stage(result, "evidence", progress) as st:
        ev = build_evidence(res.samples, area, out_dir=out / "evidence", wind=wind, seed=seed)
        st.what = "evidence/ — " + _describe_evidence(out / "evidence", ev)
    with _Stage(result, "targets", progress) as st:
        targets = rank_targets(out / "evidence", area)
        write_targets(targets, out / "targets.csv")
        top = targets.head(3)
        st.what = f"targets.csv — {len(targets)} ranked; top: " + ", ".join(
            f"{r.enterprise_id} ({r.score:.2f})" for r in top.itertuples())

    with _Stage(result, "next", progress) as st:
        from .core.errors import PlanningError
        from .core.registry import read_targets_file

        ids = read_targets_file(out / "targets.csv")
        vnext = plan_van(area, ids[:8], wind, seed=seed)
        write_van_plan(vnext, out / "plans" / "next" / "van")
        flyable = near_launch_sites(area, ids[:10], max_m=NEXT_DRONE_RANGE_M)[:3]
        what = [f"plans/next/van/ — a route over the top {min(len(ids), 8)} targets"]
        try:
            if not flyable:
                raise PlanningError(f"none of the top 10 targets lies within {NEXT_DRONE_RANGE_M:.0f} m of a launch site")
            nplan = plan_drone(area, flyable, wind, pattern="curtain", aircraft="m350", seed=seed)
            write_drone_plan(nplan, area, out / "plans" / "next" / "drone")
            what.append(f"plans/next/drone/ — curtains over {len(flyable)} of the top 10 within reach of a launch site")
        except PlanningError as exc:
            what.append(f"no drone sortie for tomorrow: {exc}")
        st.what = "; ".join(what) + " (the loop closes)"

    if not maps:
        return result
    from .maps import build_map, build_report

    with _Stage(result, "map", progress) as st:
        p = build_map(out, out=out / "map.html", basemap="osm", area=area, lang=lang)
        st.what = f"map.html — {p.stat().st_size / 1e6:.1f} MB, works offline (roads drawn from area/roads.osm)"
    with _Stage(result, "report", progress) as st:
        p = build_report(out, out=out / "report.html", lang=lang)
        st.what = f"report.html — {p.stat().st_size / 1e6:.1f} MB"
    return result


def _georeference_field(field_dir: Path, area, georeference):
    """Georeference every platform's raw files (track + analyser pairs) and merge the results."""
    import pandas as pd

    from .processing.georef import pair_field_files

    results = []
    for tracks, sensor in pair_field_files(field_dir, recursive=True):
        platform = "drone" if sensor.parent.name == "drone" else "van"
        results.append(georeference(list(tracks), [sensor], dem=area.elevation_m, platform_id=f"{platform}-1",
                                    mission_id=sensor.name[: -len("_voc.csv")] if sensor.name.endswith("_voc.csv")
                                    else sensor.stem))
    if not results:
        from .core.errors import InputError

        raise InputError(f"`{field_dir}` holds no track + analyser pairs (`<name>.tlog|.gpx` + `<name>_voc.csv`)")
    if len(results) == 1:
        return results[0]
    import geopandas as gpd

    merged = results[0]
    merged.samples = gpd.GeoDataFrame(pd.concat([r.samples for r in results], ignore_index=True),
                                      geometry="geometry", crs="EPSG:4326")
    merged.quarantine = pd.concat([r.quarantine for r in results], ignore_index=True)
    merged.provenance = [p for r in results for p in r.provenance]
    return merged


def _describe_evidence(ev_dir: Path, ev) -> str:
    summary = getattr(ev, "summary", None)
    summary = summary() if callable(summary) else summary
    n_files = sum(1 for p in ev_dir.iterdir() if p.is_file())
    if isinstance(summary, dict):
        keys = (("n_events", "events"), ("n_confirmed_events", "confirmed"), ("n_hotspots", "hotspots"),
                ("n_segments", "road segments"), ("n_sources_with_rate", "sources with a rate"),
                ("n_curtains", "curtains"))
        parts = [f"{summary[k]} {label}" for k, label in keys if k in summary]
        return ", ".join(parts) + f" ({n_files} files)"
    return f"{n_files} files"
