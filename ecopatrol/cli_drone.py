"""``ecopatrol plan drone`` and ``ecopatrol upload`` (registered by ``cli.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._i18n import msg
from ecopatrol._json import echo_json


def plan_drone_cmd(
    area: Annotated[str, typer.Option("--area", help="Area folder, or `jimo` for the bundled synthetic example.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for plan.json, S01.plan/.waypoints/.kmz/.kml/.geojson, summary.")],
    targets: Annotated[str | None, typer.Option("--targets", help="Enterprise ids ID[,ID…], highest priority first.")] = None,
    targets_file: Annotated[Path | None, typer.Option("--targets-file", help="targets.csv (column enterprise_id, ordered by rank).")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Plan at most this many targets, highest-ranked first "
                                            "(default 10 with --targets-file, all with --targets); the rest are "
                                            "listed as left for another day.")] = None,
    flight_hours: Annotated[float | None, typer.Option("--flight-hours", help="The day's flying budget (h), battery "
                                                       "swaps included; sorties beyond it are left for another day.")] = None,
    launch: Annotated[str | None, typer.Option("--launch", help="LON,LAT (WGS-84) of an ad-hoc launch point instead "
                                               "of the area's launch sites.")] = None,
    when: Annotated[str | None, typer.Option("--when", help="Local flight time \"YYYY-MM-DD HH:MM\" (the area's time "
                                             "zone, default Asia/Shanghai): sets the stability class from the sun's "
                                             "elevation and the wind.")] = None,
    flat_ground: Annotated[bool, typer.Option("--flat-ground", help="Without a DEM: accept heights above the launch "
                                              "point instead of above ground (said loudly in the plan).")] = False,
    wind: Annotated[str | None, typer.Option("--wind", help="FROM_DEG/SPEED_M_S or FROM_DEG/SPEED_M_S/STABILITY, e.g. 270/4; default: the area's.")] = None,
    pattern: Annotated[str, typer.Option("--pattern", help="curtain, orbit, profile, survey or hover.")] = "curtain",
    aircraft: Annotated[str, typer.Option("--aircraft", help="m350, m300, m30, m30t, m3e, m3t, m3m or mavlink "
                                          "(generic ArduCopter/PX4).")] = "m350",
    reserve: Annotated[float, typer.Option("--reserve", help="Battery fraction kept at landing.")] = 0.3,
    alt_max: Annotated[float | None, typer.Option("--alt-max", help="Height cap above ground (m); default: the area's (120 m in China).")] = None,
    max_range: Annotated[float, typer.Option("--max-range", help="Maximum distance from the pilot (m); 500 for strict VLOS.")] = 2000.0,
    repeats: Annotated[int, typer.Option("--repeats", help="Curtain repeats.")] = 1,
    distance: Annotated[float | None, typer.Option("--distance", help="Curtain distance downwind of the stacks (m); default from stack height and stability.")] = None,
    payload_kg: Annotated[float | None, typer.Option("--payload-kg", help="Payload mass (kg); default: the aircraft profile's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan summary (summary.json) and the files written as JSON.")] = False,
) -> None:
    """Plan drone sorties around the targets, validate them and write every export."""
    from ecopatrol._planopts import budget_line, day_targets, parse_lonlat, parse_when, reason_text, warning_text, wind_for
    from ecopatrol.core.area import load_area
    from ecopatrol.core.errors import InputError
    from ecopatrol.missions.drone import plan_drone, write_drone_plan

    ids, ranks, top_n = day_targets(targets, targets_file, top, default_top=10)
    a = load_area(area)
    t_when = parse_when(when, a)
    w = wind_for(wind, a, t_when)
    opts: dict = {}
    if pattern == "curtain":
        opts["repeats"] = repeats
        if distance is not None:
            opts["distance_m"] = distance
    elif repeats != 1 or distance is not None:
        raise InputError.keyed("opt.curtain_only")
    plan = plan_drone(a, ids, w, pattern=pattern, aircraft=aircraft, reserve=reserve, alt_max_agl_m=alt_max,
                      max_range_m=max_range, payload_kg=payload_kg, pattern_options=opts, max_targets=top_n,
                      ranks=ranks, flight_hours=flight_hours, when=t_when, flat_ground=flat_ground,
                      launch=parse_lonlat(launch, "--launch") if launch else None)
    files = write_drone_plan(plan, a, out)
    if as_json:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        echo_json({**summary, "out": out, "files": files})
        return
    n_planned = len({t for s in plan.sorties for t in s.targets})
    if plan.flat_ground:
        typer.secho(msg("cli.flat_ground"), fg="red", bold=True)
    typer.echo(msg("cli.drone_plan", sorties=len(plan.sorties), km=f"{plan.distance_m / 1000:.1f}",
                   minutes=f"{plan.duration_s / 60:.0f}", hours=f"{plan.day_s / 3600:.1f}", stability=plan.stability,
                   out=out))
    typer.echo("  " + budget_line(n_planned, len(ids), len(plan.targets_deferred), len(plan.targets_dropped)))
    for s in plan.sorties:
        typer.echo(msg("cli.sortie", sortie=s.sortie_id, site=s.launch["site_id"], km=f"{s.distance_m / 1000:.2f}",
                       minutes=f"{s.duration_s / 60:.1f}", battery=f"{s.battery_fraction:.0%}",
                       targets=", ".join(s.targets)))
    for text in plan.warnings:
        typer.secho(msg("cli.warning", text=warning_text(text)), fg="yellow")
    for d in plan.targets_deferred[:5]:
        typer.echo(msg("cli.deferred", target=d["target_id"], reason=reason_text(d["reason"])))
    if len(plan.targets_deferred) > 5:
        typer.echo(msg("cli.deferred_more", n=len(plan.targets_deferred) - 5))
    typer.echo(msg("cli.drone_files", n=len(files), flat=msg("cli.flat_assumed") if plan.flat_ground else ""))


def upload_cmd(
    plan_file: Annotated[Path, typer.Argument(help="S01.plan / .waypoints, or plan.json / the plan folder with --sortie.")],
    connect: Annotated[str, typer.Option("--connect", help="tcp:HOST:PORT, udp:HOST:PORT (listen), udpout:HOST:PORT or a serial device.")],
    sortie: Annotated[int | None, typer.Option("--sortie", help="Sortie number N (S0N) when given a plan folder or plan.json.")] = None,
    timeout_s: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each vehicle reply.")] = 1.5,
    retries: Annotated[int, typer.Option("--retries", help="Retries after a timeout before giving up.")] = 5,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the read-back (not recommended).")] = False,
    baud: Annotated[int, typer.Option("--baud", help="Serial baud rate.")] = 57600,
    dronekit: Annotated[bool, typer.Option("--dronekit", help="Upload through dronekit (optional; MISSION_REQUEST only).")] = False,
    attempts: Annotated[int, typer.Option("--attempts", help="Whole uploads to try before giving up (a lossy link).")] = 3,
    deadline: Annotated[float | None, typer.Option("--deadline", help="Give up after this many seconds in all.")] = 120.0,
    area: Annotated[str | None, typer.Option("--area", help="Area folder (or `jimo`): re-check the mission against its "
                                             "zones, DEM and limits before sending anything.")] = None,
) -> None:
    """Upload a mission to a vehicle over MAVLink and verify it by reading it back."""
    a = None
    if area is not None:
        from ecopatrol.core.area import load_area

        a = load_area(area)
    if dronekit:
        from ecopatrol.missions.drone.upload import load_mission, preflight_mission, upload_with_dronekit

        path, items = load_mission(plan_file, sortie=sortie)
        preflight_mission(path, items, area=a).raise_if_errors(
            f"`{path.name}` was refused before upload (nothing was sent to the vehicle)")

        res = upload_with_dronekit(plan_file, connect, sortie=sortie, timeout_s=max(timeout_s * retries, 10.0))
    else:
        from ecopatrol.missions.drone.upload import upload_mission

        res = upload_mission(plan_file, connect, sortie=sortie, timeout_s=timeout_s, retries=retries,
                             verify=not no_verify, baud=baud, area=a,
                             attempts=attempts, deadline_s=deadline)
    typer.echo(msg("cli.uploaded", n=res.n_items, file=Path(res.source).name, system=res.target_system,
                   component=res.target_component, secs=f"{res.duration_s:.1f}",
                   retries=msg("cli.upload_retries", retries=res.retries, attempts=res.attempts) if res.retries else "",
                   verified=msg("cli.verified" if res.verified else "cli.not_verified")))
