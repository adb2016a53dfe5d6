"""The ``ecopatrol`` command: thin commands over library functions.

Heavy modules are imported inside the commands so ``ecopatrol --help`` stays instant.
Every :class:`~ecopatrol.core.errors.EcopatrolError` (and the builtin errors a bad
input raises) reaches the user as one message without a traceback: exit status 1;
usage errors exit 2. Results go to stdout, logs and progress to stderr. With ``--json`` a
command prints exactly one JSON document on stdout (:mod:`ecopatrol._json`), and a failure
prints ``{"error": MESSAGE, "exit_code": N}`` there instead of the result.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from ._json import echo_json, error_document

app = typer.Typer(
    name="ecopatrol",
    help="Plan drone sorties and VOC van routes, georeference field data, map hotspots, rank inspection targets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
coords_app = typer.Typer(help="Convert coordinates between WGS-84, CGCS2000, GCJ-02 and BD-09.", no_args_is_help=True, rich_markup_mode=None)
registry_app = typer.Typer(help="Check an enterprise registry.", no_args_is_help=True, rich_markup_mode=None)
area_app = typer.Typer(help="Check and export operating areas.", no_args_is_help=True, rich_markup_mode=None)
plan_app = typer.Typer(help="Plan drone sorties and van routes.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(coords_app, name="coords")
app.add_typer(registry_app, name="registry")
app.add_typer(area_app, name="area")
app.add_typer(plan_app, name="plan")

log = logging.getLogger("ecopatrol")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ecopatrol {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log one line per operation (and debug detail).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    level = logging.DEBUG if verbose else logging.INFO
    handler = RichHandler(console=Console(stderr=True), show_path=False, show_time=False, markup=False)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[handler], force=True)
    logging.getLogger("ecopatrol").setLevel(level)


def echo_report(report, *, strict: bool = False) -> None:
    """Print every problem of a validation report, errors first."""
    for p in report.errors:
        typer.secho(f"  {p}", fg="red", err=False)
    for p in report.warnings:
        typer.secho(f"  {p}", fg="yellow" if not strict else "red")


# ---------------------------------------------------------------- coords
@coords_app.command("convert")
def coords_convert(
    lon: Annotated[float | None, typer.Argument(help="Longitude (decimal degrees).")] = None,
    lat: Annotated[float | None, typer.Argument(help="Latitude (decimal degrees).")] = None,
    src: Annotated[str, typer.Option("--from", help="wgs84, cgcs2000, gcj02 or bd09.")] = "wgs84",
    dst: Annotated[str, typer.Option("--to", help="wgs84, cgcs2000, gcj02 or bd09.")] = "gcj02",
    infile: Annotated[Path | None, typer.Option("--in", help="CSV to convert.")] = None,
    outfile: Annotated[Path | None, typer.Option("--out", help="CSV to write.")] = None,
    lon_col: Annotated[str, typer.Option(help="Longitude column of the CSV.")] = "lon",
    lat_col: Annotated[str, typer.Option(help="Latitude column of the CSV.")] = "lat",
) -> None:
    """Convert one point (prints `LON LAT`, 7 decimals) or a CSV's columns."""
    from .core.crs import convert

    if infile is not None:
        from .core.convert_csv import convert_csv

        if outfile is None:
            raise typer.BadParameter("--in needs --out")
        n = convert_csv(infile, outfile, src=src, dst=dst, lon_col=lon_col, lat_col=lat_col)
        typer.echo(f"converted {n} rows {src} → {dst}: {outfile}")
        return
    if lon is None or lat is None:
        raise typer.BadParameter("give LON LAT, or --in FILE --out FILE")
    x, y = convert(lon, lat, src, dst)
    typer.echo(f"{x:.7f} {y:.7f}")


# ---------------------------------------------------------------- registry
@registry_app.command("check")
def registry_check(
    file: Annotated[Path, typer.Argument(help="Registry: CSV, XLSX, GeoJSON or GeoPackage.")],
    sources: Annotated[Path | None, typer.Option(help="Sources (stacks) file.")] = None,
    crs: Annotated[str, typer.Option(help="Default CRS of rows without a `crs`.")] = "wgs84",
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary and problems as JSON.")] = False,
) -> None:
    """Validate a registry: a summary and every problem, each with its row and field."""
    from .core.registry import check_registry

    reg = check_registry(file, sources=sources, crs=crs, strict=strict)
    summary = reg.summary()
    if as_json:
        echo_json({**summary, "ok": reg.report.ok(strict=strict), "problems": reg.report.problems})
    else:
        typer.echo(f"{file.name}: {summary['enterprises']} enterprises, {summary['sources']} sources, "
                   f"{summary['positive_list']} on the positive list")
        typer.echo("  by industry: " + ", ".join(f"{k} {v}" for k, v in summary["by_industry"].items()))
        typer.echo("  by airspace: " + ", ".join(f"{k} {v}" for k, v in summary["by_airspace"].items()))
        typer.echo(f"{summary['errors']} error(s), {summary['warnings']} warning(s)")
        echo_report(reg.report, strict=strict)
    if not reg.report.ok(strict=strict):
        raise typer.Exit(1)


# ---------------------------------------------------------------- area
@area_app.command("check")
def area_check(
    area: Annotated[str, typer.Argument(help="Area folder, or `jimo` for the bundled example.")],
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary and problems as JSON.")] = False,
) -> None:
    """Load and validate an area folder; list every problem."""
    from .core.area import load_area

    a = load_area(area, raise_on_error=False)
    s = a.summary()
    if as_json:
        echo_json({**s, "ok": a.report.ok(strict=strict), "problems": a.report.problems})
        if not a.report.ok(strict=strict):
            raise typer.Exit(1)
        return
    typer.echo(f"area {s['name']}{' (synthetic)' if s['synthetic'] else ''}: {s['enterprises']} enterprises "
               f"({s['positive_list']} positive list), {s['sources']} sources, {s['nofly_zones']} zones, "
               f"{s['launch_sites']} launch sites, {s['depots']} depot(s), roads {s['roads']}, DEM {s['dem']}; "
               f"{s['rules']}")
    typer.echo(f"{s['errors']} error(s), {s['warnings']} warning(s)")
    echo_report(a.report, strict=strict)
    if not a.report.ok(strict=strict):
        raise typer.Exit(1)


@area_app.command("export")
def area_export(
    area: Annotated[str, typer.Argument(help="`jimo` or an area folder.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write.")],
) -> None:
    """Write an area (the bundled example) as an area folder you can edit."""
    from .core.area import export_area

    p = export_area(area, out)
    typer.echo(f"wrote area {area} to {p}")


# ---------------------------------------------------------------- the loop
@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("demo-out"),
    seed: Annotated[int, typer.Option(help="Seed of the simulated world.")] = 0,
    lang: Annotated[str | None, typer.Option("--lang", help="zh | en for the map and the report (default: the "
                                                            "area's; zh for the Jimo example).")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Record the day's off-site checks in the ledger at this "
                                                        "database URL (sqlite:///FILE or postgresql://…).")] = None,
) -> None:
    """Run the whole loop on the bundled Jimo example and say where the outputs are."""
    from rich.console import Console

    from .pipeline import STAGES, run_demo

    console = Console(stderr=True)
    with console.status("ecopatrol demo") as status:
        def progress(stage: str) -> None:
            i = STAGES.index(stage) + 1 if stage in STAGES else 0
            status.update(f"ecopatrol demo [{i}/{len(STAGES)}] {stage}")

        result = run_demo(out, seed=seed, progress=progress, lang=lang, db=db)
    typer.echo(result.describe())


def _register_optional() -> None:
    """Attach commands whose modules exist (each is a thin module of plain functions)."""
    import importlib.util

    def has(mod: str) -> bool:
        return importlib.util.find_spec(f"ecopatrol.{mod}") is not None

    if has("cli_drone"):
        from . import cli_drone

        plan_app.command("drone")(cli_drone.plan_drone_cmd)
        app.command("upload")(cli_drone.upload_cmd)
    if has("cli_van"):
        from . import cli_van

        plan_app.command("van")(cli_van.plan_van_cmd)
    if has("cli_simulate"):
        from . import cli_simulate

        app.command("simulate")(cli_simulate.simulate_cmd)
    if has("cli_field"):
        from . import cli_field

        app.command("georef")(cli_field.georef_cmd)
        app.command("inspect")(cli_field.inspect_cmd)
    if has("cli_evidence"):
        from . import cli_evidence

        app.command("hotspots")(cli_evidence.hotspots_cmd)
        app.command("attribute")(cli_evidence.attribute_cmd)
        app.command("targets")(cli_evidence.targets_cmd)
    if has("cli_maps"):
        from . import cli_maps

        app.command("map")(cli_maps.map_cmd)
        app.command("report")(cli_maps.report_cmd)
    if has("cli_archive"):
        from . import cli_archive

        app.add_typer(cli_archive.archive_app, name="archive")
        app.command("process-archive")(cli_archive.process_archive_cmd)
    if has("cli_mapping"):
        from . import cli_mapping

        app.add_typer(cli_mapping.mapping_app, name="mapping")
    if has("cli_monitor"):
        from . import cli_monitor

        app.add_typer(cli_monitor.monitor_app, name="monitor")
    if has("cli_ledger"):
        from . import cli_ledger

        app.add_typer(cli_ledger.ledger_app, name="ledger")


_register_optional()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning expected errors into one clear line (exit 1).

    With ``--json`` among the arguments a failure is also reported as one JSON document on
    stdout, ``{"error": MESSAGE, "exit_code": N}``; the line on stderr stays.
    """
    from .core.errors import EcopatrolError

    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args

    def fail(message: str, code: int) -> int:
        if as_json:
            echo_json(error_document(message, code))
        return code

    try:
        rv = app(args=args, standalone_mode=False)
    except EcopatrolError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        return fail(str(exc), 1)
    except Exception as exc:
        code = _click_exit(exc)
        if code is not None:
            # typer.Exit: the command printed its own result (a --json one included)
            return fail(_click_message(exc), code) if code and type(exc).__name__ != "Exit" else code
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError, ValueError, OSError)):
            typer.secho(f"error: {exc}", fg="red", err=True)
            return fail(str(exc), 1)
        fail(f"internal error: {type(exc).__name__}: {exc}", 1)  # the traceback follows on stderr
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return fail("interrupted", 130)
    return rv if isinstance(rv, int) else 0


def _click_exit(exc: BaseException) -> int | None:
    """Exit code for click's own exceptions (typer vendors click, so match by name)."""
    name = type(exc).__name__
    if name == "Exit":
        return int(getattr(exc, "exit_code", 0) or 0)
    if name == "Abort":
        typer.echo("aborted", err=True)
        return 1
    if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # UsageError, BadParameter, ClickException
        exc.show()
        return int(exc.exit_code)
    return None


def _click_message(exc: BaseException) -> str:
    """The one-line message of a click exception (Abort has none)."""
    if type(exc).__name__ == "Abort":
        return "aborted"
    fmt = getattr(exc, "format_message", None)
    return fmt() if callable(fmt) else str(exc)


def entry() -> None:  # pragma: no cover - console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
