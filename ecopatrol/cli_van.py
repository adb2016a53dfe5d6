"""``ecopatrol plan van``: a downwind monitoring route for the VOC van (registered by ``cli.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._i18n import msg
from ecopatrol._json import echo_json


def plan_van_cmd(
    area: Annotated[str, typer.Option("--area", help="Area folder, or `jimo` for the bundled synthetic example.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write plan.json, GPX/KML/GeoJSON, turns and summary.")],
    targets: Annotated[str | None, typer.Option("--targets", help="Enterprise ids, comma-separated (ID,ID,…), highest priority first.")] = None,
    targets_file: Annotated[Path | None, typer.Option("--targets-file", help="targets.csv (column enterprise_id, ordered by rank).")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Plan at most this many targets, highest-ranked first "
                                            "(default 20 with --targets-file, all with --targets); the rest are "
                                            "listed as left for another day.")] = None,
    wind: Annotated[str | None, typer.Option("--wind", help="FROM_DEG/SPEED_M_S or FROM_DEG/SPEED_M_S/CLASS, e.g. 270/4 or 270/4/D; default: the area's.")] = None,
    depot: Annotated[str | None, typer.Option("--depot", help="LON,LAT of the depot (WGS-84); default: the area's depot.")] = None,
    shift_h: Annotated[float, typer.Option("--shift-h", help="Shift length (h): the route returns to the depot within it; "
                                           "targets that do not fit are left for another day.")] = 6.0,
    when: Annotated[str | None, typer.Option("--when", help="Local start time \"YYYY-MM-DD HH:MM\" (the area's time zone, "
                                             "default Asia/Shanghai): sets the stability class from the sun's "
                                             "elevation and the wind.")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds the route search may take; past them "
                                              "the best route so far is kept, with a warning.")] = 60.0,
    passes: Annotated[int, typer.Option("--passes", help="Plume crossings per target.")] = 2,
    monitor_speed_kmh: Annotated[float, typer.Option("--monitor-speed-kmh", help="Speed cap on monitoring legs (km/h).")] = 30.0,
    iterations: Annotated[int, typer.Option("--iterations", help="Optimiser effort (search iterations; "
                                            "deterministic for a given --seed).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the route search: same seed, same route.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the route summary (summary.json) and the files written as JSON.")] = False,
) -> None:
    """Plan a van route downwind of the targets and back to the depot within the shift."""
    from ecopatrol._planopts import budget_line, day_targets, parse_lonlat, parse_when, reason_text, warning_text, wind_for
    from ecopatrol.core.area import load_area
    from ecopatrol.missions.van import plan_van, write_van_plan

    ids, ranks, top_n = day_targets(targets, targets_file, top, default_top=20)
    a = load_area(area)
    t_when = parse_when(when, a)
    w = wind_for(wind, a, t_when)
    plan = plan_van(a, ids, w, depot=parse_lonlat(depot, "--depot") if depot else None, shift_h=shift_h,
                    passes=passes, monitor_speed_kmh=monitor_speed_kmh, iterations=iterations, seed=seed,
                    max_targets=top_n, ranks=ranks, time_limit_s=time_limit, when=t_when)
    files = write_van_plan(plan, out)
    if as_json:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        echo_json({**summary, "out": out, "files": files})
        return
    typer.echo(msg("cli.van_route", km=f"{plan.distance_m / 1000:.1f}", hours=f"{plan.duration_s / 3600:.2f}",
                   covered=len(plan.targets_covered), stability=plan.stability, uturns=plan.u_turns, out=out))
    typer.echo("  " + budget_line(len(plan.targets_covered), len(ids), len(plan.deferred), len(plan.dropped)))
    for d in plan.dropped:
        typer.echo(msg("cli.dropped", target=d.target_id, reason=reason_text(d.reason)))
    for d in plan.deferred[:5]:
        typer.echo(msg("cli.deferred", target=d.target_id, reason=reason_text(d.reason)))
    if len(plan.deferred) > 5:
        typer.echo(msg("cli.deferred_more", n=len(plan.deferred) - 5))
    for text in plan.warnings:
        typer.secho(msg("cli.warning", text=warning_text(text)), fg="yellow")
    typer.echo("  " + ", ".join(f.name for f in files))
