"""The ``ecopatrol`` command: thin commands over library functions.

Heavy modules are imported inside the commands so ``ecopatrol --help`` stays instant.
Every :class:`~ecopatrol.core.errors.EcopatrolError` (and the builtin errors a bad
input raises) reaches the user as one message without a traceback: exit status 1;
usage errors exit 2. Results go to stdout, logs and progress to stderr. With ``--json`` a
command prints exactly one JSON document on stdout (:mod:`ecopatrol._json`), and a failure
prints ``{"error": MESSAGE, "exit_code": N}`` there instead of the result.

Every command accepts ``--lang zh|en`` (or ``ECOPATROL_LANG``; default: the language of the
area the command names, :mod:`ecopatrol._i18n`): the lines it prints and its error messages
are then in that language (keys of the catalogue, :mod:`ecopatrol.core.i18n`); field names in
files and JSON keys stay English.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from ._i18n import lang, msg
from ecopatrol.core.i18n import Msg
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
    lang: Annotated[str | None, typer.Option("--lang", help="zh | en: the language of the messages (accepted by "
                                             "every command, also as ECOPATROL_LANG; default: the area's, zh for an "
                                             "area in China, else en). File fields stay English.")] = None,
) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[_RichOnFirstUse()], force=True)
    logging.getLogger("ecopatrol").setLevel(level)


class _RichOnFirstUse(logging.Handler):
    """Log lines through rich's handler on stderr, built (and rich imported) at the first line logged:
    a command that logs nothing, such as ``ledger stats --json``, starts without importing rich."""

    def __init__(self) -> None:
        super().__init__()
        self._rich: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._rich is None:
            from rich.console import Console
            from rich.logging import RichHandler

            self._rich = RichHandler(console=Console(stderr=True), show_path=False, show_time=False, markup=False)
            self._rich.setFormatter(self.formatter)
        self._rich.emit(record)


def echo_report(report, *, strict: bool = False) -> None:
    """Print every problem of a validation report, errors first (in the run's language)."""
    from ._i18n import lang

    for p in report.errors:
        typer.secho(f"  {p.render(lang())}", fg="red", err=False)
    for p in report.warnings:
        typer.secho(f"  {p.render(lang())}", fg="yellow" if not strict else "red")


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
    from ecopatrol.core.crs import convert

    if infile is not None:
        from ecopatrol.core.convert_csv import convert_csv

        if outfile is None:
            raise typer.BadParameter(msg("opt.in_needs_out"))
        n = convert_csv(infile, outfile, src=src, dst=dst, lon_col=lon_col, lat_col=lat_col)
        typer.echo(msg("cli.converted", n=n, src=src, dst=dst, out=outfile))
        return
    if lon is None or lat is None:
        raise typer.BadParameter(msg("opt.point_or_csv"))
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
    from ecopatrol.core.registry import check_registry

    reg = check_registry(file, sources=sources, crs=crs, strict=strict)
    summary = reg.summary()
    if as_json:
        echo_json({**summary, "ok": reg.report.ok(strict=strict), "problems": reg.report.problems})
    else:
        typer.echo(msg("cli.registry", file=file.name, enterprises=summary["enterprises"], sources=summary["sources"],
                       positive=summary["positive_list"]))
        typer.echo(msg("cli.by_industry", items=", ".join(f"{k} {v}" for k, v in summary["by_industry"].items())))
        typer.echo(msg("cli.by_airspace", items=", ".join(f"{k} {v}" for k, v in summary["by_airspace"].items())))
        typer.echo(msg("cli.counts", errors=summary["errors"], warnings=summary["warnings"]))
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
    from ecopatrol.core.area import load_area

    a = load_area(area, raise_on_error=False)
    s = a.summary()
    if as_json:
        echo_json({**s, "ok": a.report.ok(strict=strict), "problems": a.report.problems})
        if not a.report.ok(strict=strict):
            raise typer.Exit(1)
        return
    typer.echo(msg("cli.area", name=s["name"], synthetic=msg("cli.synthetic") if s["synthetic"] else "",
                   enterprises=s["enterprises"], positive=s["positive_list"], sources=s["sources"],
                   zones=s["nofly_zones"], sites=s["launch_sites"], depots=s["depots"], roads=s["roads"],
                   dem=s["dem"], rules=s["rules"]))
    typer.echo(msg("cli.counts", errors=s["errors"], warnings=s["warnings"]))
    echo_report(a.report, strict=strict)
    if not a.report.ok(strict=strict):
        raise typer.Exit(1)


@area_app.command("export")
def area_export(
    area: Annotated[str, typer.Argument(help="`jimo` or an area folder.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write.")],
) -> None:
    """Write an area (the bundled example) as an area folder you can edit."""
    from ecopatrol.core.area import export_area

    p = export_area(area, out)
    typer.echo(msg("cli.area_written", area=area, path=p))


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
    typer.echo(_describe_demo(result))


def _describe_demo(result) -> str:
    """:meth:`ecopatrol.pipeline.DemoResult.describe` in the run's language (the stages' notes too)."""
    lines = [msg("cli.demo_outputs", out=result.out.resolve())]
    for stage, secs, what in result.stages:
        lines.append(f"  {stage:<9} {secs:6.1f} s  {what.render(lang()) if isinstance(what, Msg) else what}")
    total = msg("cli.demo_total")
    pad = " " * max(0, 9 - sum(2 if ord(c) > 0x2E80 else 1 for c in total))  # a CJK character is two columns
    lines.append(f"  {total}{pad} {sum(s for _, s, _ in result.stages):6.1f} s")
    lines += [msg("cli.open", path=(result.out / n).resolve()) for n in ("map.html", "report.html", "targets.csv")
              if (result.out / n).exists()]
    return "\n".join(lines)


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

    The language of the run is chosen first (``--lang``, ``ECOPATROL_LANG``, the area's;
    :func:`ecopatrol._i18n.choose`). With ``--json`` among the arguments a failure is also
    reported as one JSON document on stdout, ``{"error": MESSAGE, "exit_code": N}``; the line on
    stderr stays.
    """
    from . import _i18n

    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    args, explicit, lang_error = _i18n.choose(args)

    def fail(message: str, code: int) -> int:
        if as_json:
            echo_json(error_document(message, code))
        return code

    if lang_error is not None:  # a bad --lang / ECOPATROL_LANG is a usage error
        return fail(_show_error(lang_error), 2)
    if explicit is not None and _i18n.declares_lang(typer.main.get_command(app), args):
        args = [*args, "--lang", explicit]  # demo, map, report: their outputs in that language too
    try:
        return _run(args, fail)
    finally:
        _i18n.set_lang("en")  # a later run in this process (tests, notebooks) starts afresh


def _run(args: list[str], fail) -> int:
    from ecopatrol.core.errors import EcopatrolError

    try:
        rv = app(args=args, standalone_mode=False)
    except EcopatrolError as exc:
        return fail(_show_error(exc), 1)
    except Exception as exc:
        code = _click_exit(exc)
        if code is not None:
            # typer.Exit: the command printed its own result (a --json one included)
            return fail(_click_message(exc), code) if code and type(exc).__name__ != "Exit" else code
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError, ValueError, OSError)):
            return fail(_show_error(exc), 1)
        fail(msg("err.internal", kind=type(exc).__name__, detail=exc), 1)  # the traceback follows on stderr
        raise
    except KeyboardInterrupt:
        typer.echo(msg("err.interrupted"), err=True)
        return fail(msg("err.interrupted"), 130)
    return rv if isinstance(rv, int) else 0


def _show_error(exc: BaseException) -> str:
    """Print the one line of an expected error on stderr, in the run's language; returns its text.

    Errors with a catalogue key are shown in that language; the builtin file errors by their
    file name; any other keeps its English text behind a prefix that says so in both languages.
    """
    from ._i18n import lang
    from ecopatrol.core.errors import render
    from ecopatrol.core.i18n import Msg

    text, translated = render(exc, lang())
    if not translated and getattr(exc, "msg", None) is None and getattr(exc, "filename", None):
        key = {FileNotFoundError: "file.no_such", PermissionError: "file.permission",
               IsADirectoryError: "file.is_folder"}.get(type(exc))
        if key is not None:
            text, translated = Msg(key, file=exc.filename).render(lang()), True
    typer.secho(msg("err.prefix" if translated else "err.prefix_untranslated") + text, fg="red", err=True)
    return text


def _click_exit(exc: BaseException) -> int | None:
    """Exit code for click's own exceptions (typer vendors click, so match by name)."""
    name = type(exc).__name__
    if name == "Exit":
        return int(getattr(exc, "exit_code", 0) or 0)
    if name == "Abort":
        typer.echo(msg("err.aborted"), err=True)
        return 1
    if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # UsageError, BadParameter, ClickException
        exc.show()
        return int(exc.exit_code)
    return None


def _click_message(exc: BaseException) -> str:
    """The one-line message of a click exception (Abort has none)."""
    if type(exc).__name__ == "Abort":
        return msg("err.aborted")
    fmt = getattr(exc, "format_message", None)
    return fmt() if callable(fmt) else str(exc)


def entry() -> None:  # pragma: no cover - console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
