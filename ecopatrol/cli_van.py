"""``ecopatrol plan van``: a downwind monitoring route for the VOC van (registered by ``cli.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._json import echo_json


def _parse_depot(text: str) -> tuple[float, float]:
    from ecopatrol.core.errors import InputError

    parts = [p.strip() for p in str(text).split(",")]
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--depot {text!r}: write it as LON,LAT in WGS-84 degrees, e.g. 120.46,36.41") from None
    return lon, lat


def plan_van_cmd(
    area: Annotated[str, typer.Option("--area", help="Area folder, or `jimo` for the bundled synthetic example.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write plan.json, GPX/KML/GeoJSON, turns and summary.")],
    targets: Annotated[str | None, typer.Option("--targets", help="Enterprise ids, comma-separated (ID,ID,…), highest priority first.")] = None,
    targets_file: Annotated[Path | None, typer.Option("--targets-file", help="targets.csv (column enterprise_id, ordered by rank).")] = None,
    wind: Annotated[str | None, typer.Option("--wind", help="FROM_DEG/SPEED_M_S or FROM_DEG/SPEED_M_S/CLASS, e.g. 270/4 or 270/4/D; default: the area's.")] = None,
    depot: Annotated[str | None, typer.Option("--depot", help="LON,LAT of the depot (WGS-84); default: the area's depot.")] = None,
    shift_h: Annotated[float, typer.Option("--shift-h", help="Shift length (h): the route returns to the depot within it.")] = 6.0,
    passes: Annotated[int, typer.Option("--passes", help="Plume crossings per target.")] = 2,
    monitor_speed_kmh: Annotated[float, typer.Option("--monitor-speed-kmh", help="Speed cap on monitoring legs (km/h).")] = 30.0,
    iterations: Annotated[int, typer.Option("--iterations", help="Optimiser effort (search iterations; "
                                            "deterministic for a given --seed).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the route search: same seed, same route.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the route summary (summary.json) and the files written as JSON.")] = False,
) -> None:
    """Plan a van route downwind of the targets and back to the depot within the shift."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.registry import resolve_target_ids
    from ecopatrol.core.weather import parse_wind
    from ecopatrol.missions.van import plan_van, write_van_plan

    ids = resolve_target_ids(targets, targets_file)
    a = load_area(area)
    w = parse_wind(wind) if wind is not None else a.default_wind()
    plan = plan_van(a, ids, w, depot=_parse_depot(depot) if depot else None, shift_h=shift_h, passes=passes,
                    monitor_speed_kmh=monitor_speed_kmh, iterations=iterations, seed=seed)
    files = write_van_plan(plan, out)
    if as_json:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        echo_json({**summary, "out": out, "files": files})
        return
    typer.echo(f"van route: {plan.distance_m / 1000:.1f} km, {plan.duration_s / 3600:.2f} h, "
               f"{len(plan.targets_covered)} target(s) covered, {len(plan.dropped)} dropped → {out}")
    for d in plan.dropped:
        typer.echo(f"  dropped {d.target_id}: {d.reason}")
    typer.echo("  " + ", ".join(f.name for f in files))
