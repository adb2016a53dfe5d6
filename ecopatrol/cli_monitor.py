"""``ecopatrol monitor``: receive HJ 212 traffic, ingest logged packet files, count what is stored.

Plain typer-annotated functions on a sub-app; the CLI module registers it. SQLAlchemy, asyncio
and the codec are imported inside the bodies so ``ecopatrol --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._i18n import lang, msg

monitor_app = typer.Typer(help="HJ 212 online monitoring: the receiver, file ingest and the database.",
                          no_args_is_help=True, rich_markup_mode=None)

_DB_HELP = ("Database URL: sqlite:///FILE (default sqlite:///ecopatrol.db, or $ECOPATROL_DB) or "
            "postgresql://USER@HOST:PORT/DB.")
DbOption = Annotated[str | None, typer.Option("--db", help=_DB_HELP)]


@monitor_app.command("serve")
def serve_cmd(
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on, e.g. 0.0.0.0:9212.")],
    db: DbOption = None,
    idle_timeout: Annotated[float, typer.Option("--idle-timeout", min=1, help="Close a connection silent this long (s).")] = 600.0,
    batch: Annotated[int, typer.Option("--batch", min=1, help="At most this many packets per commit.")] = 2000,
    no_answer: Annotated[bool, typer.Option("--no-answer", help="Never answer, even when a packet asks (Flag bit A).")] = False,
    summary_every: Annotated[float, typer.Option("--summary-every", min=1, help="Seconds between summary lines.")] = 60.0,
    writer: Annotated[str, typer.Option("--writer", help="Decode and commit in a separate 'process' (default: the "
                                        "event loop keeps its own core) or in a 'thread' of the server.")] = "process",
    loop: Annotated[str, typer.Option("--loop", help="Event loop: 'auto' (uvloop when installed, the 'fast' extra), "
                                      "'uvloop' or 'asyncio'.")] = "auto",
) -> None:
    """Receive HJ 212 packets over TCP until Ctrl-C or SIGTERM; every packet is stored before it is answered.

    If the writer process dies, nothing more is answered, every connection is closed and the command exits
    with status 1 (run it under a supervisor that restarts it: the loggers send their unanswered packets again)."""
    import logging

    from ecopatrol.core.db import durability_warning, open_database
    from ecopatrol.processing.monitor.receiver import parse_listen, run_server

    log = logging.getLogger("ecopatrol.monitor")
    parse_listen(listen)  # a bad --listen fails before the database is touched
    if writer not in ("process", "thread"):
        raise typer.BadParameter(f"--writer {writer!r}: give process or thread")
    if loop not in ("auto", "uvloop", "asyncio"):
        raise typer.BadParameter(f"--loop {loop!r}: give auto, uvloop or asyncio")
    engine = open_database(db)
    why = durability_warning(engine)
    if why:
        log.warning("%s", why)
    try:
        run_server(engine, listen, summary_every_s=summary_every, idle_timeout_s=idle_timeout,
                   max_batch_packets=batch, answer=not no_answer, writer=writer, loop=loop)
    finally:
        engine.dispose()


@monitor_app.command("ingest")
def ingest_cmd(
    files: Annotated[list[Path], typer.Argument(help="Logged packet files, one packet a line (.gz too).")],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document: per file and in total.")] = False,
) -> None:
    """Store every line of logged packet files (a file already ingested is skipped; an interrupted one resumes)."""
    from ._json import echo_json
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.store import PacketStore

    engine = open_database(db)
    try:
        store = PacketStore(engine)
        results = [ingest_file(store, f) for f in files]
    finally:
        engine.dispose()
    if as_json:
        echo_json({"files": [r.as_dict() for r in results],
                   "packets": sum(r.accepted for r in results), "records": sum(r.records for r in results),
                   "rejected": sum(r.rejected for r in results)})
        return
    for r in results:
        name = Path(r.path).name
        if r.skipped:
            typer.echo(msg("cli.ingest_skipped", file=name, why=r.skipped))
            continue
        why = ", ".join(f"{k} {v}" for k, v in sorted(r.rejected_by_reason.items())) or msg("cli.none")
        typer.echo(msg("cli.ingest_file", file=name, packets=r.accepted, new=r.packets_new,
                       duplicates=r.packets_duplicate, records=r.records, rejected=r.rejected, why=why,
                       resumed=msg("cli.ingest_resumed", line=r.resumed_after_line) if r.resumed_after_line else ""))


@monitor_app.command("stats")
def stats_cmd(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as one JSON document.")] = False,
) -> None:
    """What the database holds: packets accepted, records, stations, rejected packets by reason."""
    from ._json import echo_json
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.monitor.stats import database_stats, describe

    engine = open_database(db, migrate=False)
    try:
        s = database_stats(engine)
    finally:
        engine.dispose()
    if as_json:
        echo_json(s)
    else:
        typer.echo(describe(s, lang=lang()))


@monitor_app.command("migrate")
def migrate_cmd(db: DbOption = None) -> None:
    """Create the tables, or bring an older database to this version's schema."""
    from ecopatrol.core.db import current_revision, open_database, redact

    engine = open_database(db)
    try:
        typer.echo(msg("cli.schema_version", db=redact(engine.url.render_as_string(hide_password=True)),
                       version=current_revision(engine)))
    finally:
        engine.dispose()


@monitor_app.command("alarms")
def alarms_cmd(
    db: DbOption = None,
    area: Annotated[str | None, typer.Option(
        "--area", "-a", help="Area folder (or 'jimo'): its monitors.csv names the enterprise of each data logger "
                             "and its limits.csv the limit values. Without it every alarm is per MN, enterprise "
                             "unknown.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Start (ISO 8601; UTC unless it gives an offset). "
                                                             "Default: the hours the data cover.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="End, exclusive (ISO 8601, UTC unless it gives an offset).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="alarms.csv to write.")] = Path("alarms.csv"),
    completeness: Annotated[Path | None, typer.Option(
        "--completeness", help="Also write the completeness per data logger and local day (CSV).")] = None,
    limits_for_unknown: Annotated[list[str] | None, typer.Option(
        "--limits-for-unknown", help="Limit set(s) to check loggers no monitors file names against (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary, the rules' parameters and the first "
                                                         "alarms as one JSON document.")] = False,
) -> None:
    """Alarms from the stored online-monitoring data: exceedances, flatlines, flags, missing data, electricity rules."""
    from ._json import echo_json
    from ecopatrol.core.area import load_area
    from ecopatrol.core.db import open_database
    from ecopatrol.core.errors import InputError
    from ecopatrol.processing.monitor.alarms import monitor_alarms, write_alarms

    def when(text, option):
        if text is None:
            return None
        import pandas as pd

        try:
            t = pd.Timestamp(text)
        except ValueError:
            raise InputError.keyed("opt.iso_time", option=option, text=repr(text)) from None
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    t0, t1 = when(start, "--from"), when(end, "--to")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise InputError.keyed("opt.to_after_from", end=end, start=start)
    a = load_area(area) if area is not None else None
    engine = open_database(db, migrate=False)
    try:
        res = monitor_alarms(engine, a, start=t0, end=t1, limits_for_unknown=tuple(limits_for_unknown or ()))
    finally:
        engine.dispose()
    write_alarms(res, out)
    if completeness is not None:
        from ecopatrol.core.io import atomic_path

        with atomic_path(completeness) as tmp:
            res.completeness.to_csv(tmp, index=False, encoding="utf-8-sig")
    s = res.summary()
    if as_json:
        echo_json({**s, "out": out, "completeness_csv": completeness, "rules": res.rules.as_dict(),
                   "unknown_mns": res.unknown_mns, "first": res.alarms.head(10)})
        return
    typer.echo(msg("cli.alarms", n=s["alarms"],
                   kinds=", ".join(f"{k} {v}" for k, v in s["by_kind"].items()) or msg("cli.none"),
                   loggers=s["loggers"], enterprises=s["enterprises_with_alarms"], out=out))
    if s["unknown_loggers"]:
        typer.echo(msg("cli.alarms_unknown_loggers", n=s["unknown_loggers"]))
    for n in s["notes"]:
        typer.echo(msg("cli.note", text=n), err=True)
