"""``ecopatrol georef`` and ``ecopatrol inspect``: parse options, call one library function.

Plain typer-annotated functions; the CLI module registers them. Heavy imports happen
inside the bodies so ``ecopatrol --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._i18n import msg
from ecopatrol._json import echo_json


def _seconds_or_auto(value: str, name: str) -> float | str:
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError as exc:
        raise typer.BadParameter(msg("opt.seconds_or_auto", option=name, value=repr(value))) from exc


def georef_cmd(
    track: Annotated[list[Path] | None, typer.Option(
        "--track", help="GPS track or flight log (.tlog, .bin, .ulg, DJI CSV, .gpx, .nmea); repeat for several.")] = None,
    sensor: Annotated[list[Path] | None, typer.Option(
        "--sensor", help="Analyser file (analyser CSV, Picarro .dat, mapped CSV); repeat for several.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for samples.parquet, quarantine.csv, provenance.json.")] = Path("samples"),
    mapping: Annotated[Path | None, typer.Option("--mapping", help="TOML mapping for other CSV layouts.")] = None,
    lag: Annotated[str, typer.Option("--lag", help="Inlet lag: auto or SECONDS.")] = "auto",
    clock_offset: Annotated[str, typer.Option("--clock-offset", help="Analyser clock − UTC: auto or SECONDS.")] = "auto",
    response_s: Annotated[float, typer.Option(
        "--response", help="Analyser response time constant in s (datasheet T90 / 2.3); corrects the estimated lag.")] = 0.0,
    dem: Annotated[Path | None, typer.Option("--dem", help="GeoTIFF DEM (metres AMSL) for height above ground.")] = None,
    max_gap_s: Annotated[float, typer.Option("--max-gap", help="No interpolation across GPS gaps longer than this (s).")] = 5.0,
    timezone: Annotated[str | None, typer.Option("--tz", help="Zone of naive analyser times (default Asia/Shanghai).")] = None,
    platform_id: Annotated[str | None, typer.Option("--platform", help="platform_id for the samples (a name only: what it is comes from --platform-kind or the track).")] = None,
    mission_id: Annotated[str | None, typer.Option("--mission", help="mission_id for the samples.")] = None,
    platform_kind: Annotated[str | None, typer.Option(
        "--platform-kind", help="What carried the inlet: drone, van or fixed (default: from the track's format; "
        "needed for a mapped CSV track). Decides the receptor height.")] = None,
    instrument: Annotated[Path | None, typer.Option(
        "--instrument", help="Instrument record TOML with the puff test (lag, clock check); default: "
        "NAME_instrument.toml beside each sensor file.")] = None,
    no_instrument: Annotated[bool, typer.Option(
        "--no-instrument", help="Ignore instrument records: estimate the total delay from the data only.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print counts, output paths and the per-file provenance as JSON.")] = False,
) -> None:
    """Georeference analyser samples against GPS tracks; write samples, quarantine and provenance."""
    from ecopatrol.core.io import remove_stale_temps
    from ecopatrol.processing.georef import georeference
    from ecopatrol.processing.samples import write_samples

    remove_stale_temps(out, recursive=False)  # left by a killed run: rewritten below
    result = georeference(
        list(track or []), list(sensor or []), mapping=mapping,
        lag=_seconds_or_auto(lag, "--lag"), clock_offset=_seconds_or_auto(clock_offset, "--clock-offset"),
        dem=dem, platform_id=platform_id, mission_id=mission_id, platform_kind=platform_kind,
        max_gap_s=max_gap_s, tz=timezone, response_s=response_s, instrument=None if no_instrument else (instrument or "auto"),
    )
    paths = write_samples(result, out)
    if as_json:
        echo_json({"n_samples": len(result.samples), "n_quarantined": len(result.quarantine), "files": paths,
                   "provenance": result.provenance})
        return
    for p in result.provenance:
        if p.get("role") == "sensor":
            typer.echo(msg("cli.georef_file", file=p["file"], kind=p["platform_kind"], kept=p["rows_kept"],
                           quarantined=p["rows_quarantined"], offset=f"{p['clock_offset_s']:+.1f}",
                           offset_conf=f"{p['clock_offset_confidence']:.2f}", lag=f"{p['lag_s']:.1f}",
                           lag_conf=f"{p['lag_confidence']:.2f}", delay=f"{p['total_delay_s']:+.1f}",
                           applied=p["delay_applied"]))
            if p["delay_applied"] == "instrument default":
                typer.echo(msg("cli.delay_unknown", method=p["lag_method"]))
    typer.echo(msg("cli.georef", n=len(result.samples), samples=paths["samples"], q=len(result.quarantine),
                   quarantine=paths["quarantine"]))


def inspect_cmd(
    file: Annotated[Path, typer.Argument(help="Any supported log, track or analyser file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="TOML mapping for other CSV layouts.")] = None,
) -> None:
    """Tell what FILE is: format, rows read and quarantined, UTC span, bounds and fields."""
    from ecopatrol.processing.georef import inspect_file

    info = inspect_file(file, mapping=mapping)
    if as_json:
        echo_json(info)
        return
    b = info["bounds"]
    typer.echo(msg("cli.inspect_file", file=info["file"], format=info["format"], kind=info["kind"]))
    typer.echo(msg("cli.inspect_rows", read=info["rows_read"], kept=info["rows_kept"],
                   quarantined=info["rows_quarantined"]))
    for reason, n in info["quarantine_reasons"].items():
        typer.echo(f"    {n} × {reason}")
    typer.echo(msg("cli.inspect_utc", start=info["start_utc"], end=info["end_utc"], source=info["time_source"]))
    if b:
        typer.echo(msg("cli.inspect_bounds", bounds=f"{b[0]:.6f}, {b[1]:.6f} → {b[2]:.6f}, {b[3]:.6f}"))
    typer.echo(msg("cli.inspect_fields", fields=", ".join(info["fields"])))
