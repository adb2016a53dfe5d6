"""``ecopatrol ledger``: the supervision ledger — off-site checks recorded from runs, on-site outcomes,
the brigade's statistics, positive-list proposals, exports.

Plain typer-annotated functions on a sub-app; the CLI module registers it. The database and the
processing modules are imported inside the bodies so ``ecopatrol --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._i18n import msg

ledger_app = typer.Typer(help="The supervision ledger: every check recorded, on-site outcomes, statistics.",
                         no_args_is_help=True, rich_markup_mode=None)

_DB_HELP = ("Database URL: sqlite:///FILE (default sqlite:///ecopatrol.db, or $ECOPATROL_DB) or "
            "postgresql://USER@HOST:PORT/DB.")
DbOption = Annotated[str | None, typer.Option("--db", help=_DB_HELP)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who records (default $ECOPATROL_USER or the login name).")]


def _date(text: str | None, what: str):
    """An aware UTC datetime from an ISO date or time (naive = UTC); no pandas (``ledger stats`` starts fast)."""
    from datetime import UTC, datetime

    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.strip())
    except (ValueError, TypeError, AttributeError):
        raise typer.BadParameter(msg("opt.not_date", option=what, value=repr(text))) from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@ledger_app.command("record")
def record_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (the demo's layout: samples/, evidence/, plans/).")],
    db: DbOption = None,
    area: Annotated[str | None, typer.Option("--area", help="Area folder or `jimo` (default: evidence.json's).")] = None,
    detection_rate: Annotated[float, typer.Option(
        "--detection-rate", help="g/s: a firm is covered when an emission this large would have been seen.")] = 0.5,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record one off-site check per firm the run covered (and 'not assessable' per target it missed)."""
    from ._json import echo_json
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.coverage import assess_run, run_files, run_key_of
    from ecopatrol.processing.ledger.store import recorded_run, record_run

    engine = open_database(db)
    try:
        old = recorded_run(engine, run_key_of(run_files(Path(run_dir))))
        if old is not None:  # the same files: nothing to assess again
            doc = {"run_key": old["run_key"], "run_id": old["id"], "new": False, "checks_new": 0,
                   "checks": old["n_checks"], "run_dir": str(run_dir)}
            if as_json:
                echo_json(doc)
            else:
                typer.echo(msg("cli.ledger_recorded_before", run=run_dir, n=old["n_checks"], by=old["recorded_by"],
                               when=f"{old['recorded_utc']:%Y-%m-%d %H:%M}Z"))
            return
        assessment = assess_run(run_dir, area, detection_rate_g_s=detection_rate)
        rr = record_run(engine, assessment, recorded_by=by)
    finally:
        engine.dispose()
    doc = rr.as_dict()
    if as_json:
        echo_json({**doc, "checks_list": [{k: c[k] for k in ("enterprise_id", "method", "result",
                                                              "n_samples_covering")} for c in assessment.checks]})
        return
    s = rr.summary
    typer.echo(msg("cli.ledger_recorded", run=run_dir, covered=s["covered"],
                   not_assessable=s["by_result"].get("not assessable", 0),
                   results=", ".join(f"{k} {v}" for k, v in s["by_result"].items()),
                   again="" if rr.new else msg("cli.ledger_nothing_added")))


@ledger_app.command("register")
def register_cmd(area: Annotated[str, typer.Argument(help="Area folder or `jimo`.")], db: DbOption = None) -> None:
    """Load an area's registry into the ledger (the firms inspections may name)."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.store import register_area

    a = load_area(area)
    engine = open_database(db)
    try:
        n = register_area(engine, a)
    finally:
        engine.dispose()
    typer.echo(msg("cli.ledger_registered", n=n, area=a.name))


def _echo_import(res, as_json: bool) -> None:
    from ._json import echo_json

    if as_json:
        echo_json(res.as_dict())
    else:
        typer.echo(msg("cli.ledger_imported", n=res.accepted, duplicates=res.duplicates, refused=len(res.refused)))
        for b in res.refused:
            typer.echo(msg("cli.ledger_refused", reason=b["reason"]))
    if res.refused:
        raise typer.Exit(1)


@ledger_app.command("inspect")
def inspect_cmd(
    enterprise: Annotated[str, typer.Option("--enterprise", help="Enterprise id (as in the registry).")],
    date: Annotated[str, typer.Option("--date", help="Date of the visit, YYYY-MM-DD.")],
    result: Annotated[str, typer.Option("--result", help="violation | clean")],
    db: DbOption = None,
    trigger: Annotated[str | None, typer.Option(
        "--trigger", help="routine | random | alarm | survey | complaint (default: survey when it follows a "
                          "suspicious off-site check within 60 days, else routine).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="What the inspectors found.")] = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record an on-site inspection's outcome."""
    from ecopatrol.core.db import open_database
    from ecopatrol.core.errors import InputError
    from ecopatrol.processing.ledger.store import record_inspections

    engine = open_database(db)
    try:
        res = record_inspections(engine, [{"enterprise_id": enterprise, "date": date, "result": result,
                                           "trigger": trigger, "note": note}], recorded_by=by)
    finally:
        engine.dispose()
    if res.refused:
        raise InputError(res.refused[0]["reason"].replace("row 1, ", ""))
    _echo_import(res, as_json)


@ledger_app.command("import")
def import_cmd(
    csv_file: Annotated[Path, typer.Argument(help="CSV: enterprise_id,date,result[,trigger,note,alarm_ids,inspector].")],
    db: DbOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a batch of on-site outcomes: bad rows refused with row and reason, good rows kept (exit 1 if any refused)."""
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.store import import_inspections_csv

    engine = open_database(db)
    try:
        res = import_inspections_csv(engine, csv_file, recorded_by=by)
    finally:
        engine.dispose()
    _echo_import(res, as_json)


@ledger_app.command("stats")
def stats_cmd(
    db: DbOption = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD; default 1 January).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Day after the last (YYYY-MM-DD; default tomorrow).")] = None,
    cap: Annotated[int, typer.Option("--cap", min=0, help="On-site visits per firm per year allowed "
                                                          "(alarm-triggered visits exempt).")] = 2,
    as_json: JsonOption = False,
) -> None:
    """Off-site and on-site checks, the off-site share, coverage, days since each firm's last check, the cap, hit rates."""
    from datetime import UTC, datetime, timedelta

    from ._json import echo_json
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.stats import describe, ledger_stats

    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    t1 = _date(date_to, "--to") if date_to else now + timedelta(days=1)
    t0 = _date(date_from, "--from") if date_from else datetime(t1.year, 1, 1, tzinfo=UTC)
    engine = open_database(db, migrate=False)
    try:
        s = ledger_stats(engine, t0, t1, cap_per_year=cap, per_firm=as_json)
    finally:
        engine.dispose()
    if as_json:
        echo_json(s)
    else:
        typer.echo(describe(s))


@ledger_app.command("proposals")
def proposals_cmd(
    db: DbOption = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Reference day (default today).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Positive-list proposals (removal after a violation, inclusion after a long clean record), with reasons."""
    from ._json import echo_json
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.learning import proposals
    from ecopatrol.processing.ledger.store import read_checks, read_enterprises

    engine = open_database(db, migrate=False)
    try:
        props = proposals(read_enterprises(engine), read_checks(engine), _date(as_of, "--as-of"))
    finally:
        engine.dispose()
    if as_json:
        echo_json({"proposals": props, "n": len(props), "note": "proposals only: the positive list is unchanged"})
        return
    for p in props:
        typer.echo(f"{p['proposal']:<8} {p['enterprise_id']}  {p['name']}: " + "; ".join(p["reasons"]))
    typer.echo(msg("cli.ledger_proposals", n=len(props)))


@ledger_app.command("history")
def history_cmd(
    enterprise: Annotated[str, typer.Option("--enterprise", help="The firm's id (unified social credit code).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One firm's checks, oldest first: off-site (method, result, reason) and on-site (trigger, outcome, note)."""
    from ._json import echo_json
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.store import firm_history

    engine = open_database(db, migrate=False)
    try:
        rows = firm_history(engine, enterprise)
    finally:
        engine.dispose()
    if as_json:
        echo_json({"enterprise_id": enterprise, "checks": rows, "n": len(rows)})
        return
    typer.echo(f"{enterprise}: {len(rows)} check(s) 检查记录")
    for r in rows:
        how = r["method"] if r["kind"] == "off-site" else f"on-site ({r['trigger']})"
        why = r["reason"] or r["note"] or ""
        typer.echo(f"  {r['time_utc']}  {how:<28} {r['result']:<20} {why}")


@ledger_app.command("export")
def export_cmd(out: Annotated[Path, typer.Argument(help="File to write: .csv or .gpkg.")], db: DbOption = None) -> None:
    """Export every check (with its firm) to CSV or GeoPackage for the provincial system."""
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.store import export_checks

    engine = open_database(db, migrate=False)
    try:
        p = export_checks(engine, out)
    finally:
        engine.dispose()
    typer.echo(msg("cli.wrote", path=p))


@ledger_app.command("export-registry")
def export_registry_cmd(
    area: Annotated[str, typer.Argument(help="Area folder or `jimo`.")],
    out: Annotated[Path, typer.Option("--out", help="registry.csv to write (give it to the planners).")],
    db: DbOption = None,
) -> None:
    """The area's registry with last_inspected and violations_3y updated from the ledger's on-site outcomes."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.db import open_database
    from ecopatrol.processing.ledger.learning import export_registry

    a = load_area(area)
    engine = open_database(db, migrate=False)
    try:
        p, n = export_registry(a, engine, out)
    finally:
        engine.dispose()
    typer.echo(msg("cli.ledger_registry_written", path=p, n=n))
