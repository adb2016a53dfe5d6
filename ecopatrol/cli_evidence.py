"""``ecopatrol hotspots``, ``ecopatrol attribute`` and ``ecopatrol targets``.

Plain typer-annotated functions; the CLI module registers them. Heavy imports happen inside
the bodies so ``ecopatrol --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._i18n import msg
from ecopatrol._json import echo_json


def _wind(text: str | None):
    if text is None:
        return None
    from ecopatrol.core.weather import parse_wind

    return parse_wind(text)


def _plan(path: Path | None, samples_dir: Path) -> tuple[dict | None, str | None]:
    """The drone plan that names the curtain targets: ``--plan``, else ``plans/drone/plan.json``
    beside the samples (their folder or one above it); says on stderr which was used.
    ``build_evidence`` ignores, with a note, one whose sorties are none of the samples' missions."""
    from ecopatrol.core.artefacts.plan import read_plan
    from ecopatrol.processing.curtain_credit import find_drone_plan

    how = "--plan"
    if path is None:
        path, how = find_drone_plan(samples_dir), msg("cli.plan_found")
        if path is None:
            return None, None
    typer.echo(msg("cli.plan_used", path=path, how=how), err=True)
    return read_plan(path, kind="drone"), str(path)




def _samples_file(samples_dir: Path) -> Path:
    return samples_dir / "samples.parquet" if samples_dir.is_dir() else samples_dir


def _build(samples_dir: Path, area: str | None, out: Path, wind: str | None, species: str | None, cell_m: float,
           plan: Path | None, seed: int):
    """The evidence folder; without ``area`` from the samples alone (nothing falls back to an example)."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.io import remove_stale_temps
    from ecopatrol.processing.evidence import build_evidence
    from ecopatrol.processing.samples import choose_species, read_samples

    remove_stale_temps(out, recursive=False)  # left by a killed run: rewritten below
    samples = read_samples(samples_dir)
    chosen = choose_species(samples, species)
    if species is None and chosen != "tvoc_ugm3":
        typer.echo(msg("cli.note_species", species=chosen), err=True)
    species = chosen
    plan_d, plan_name = _plan(plan, samples_dir)
    r = build_evidence(samples, None if area is None else load_area(area), out_dir=out,
                       wind=_wind(wind), species=species, cell_m=cell_m, plan=plan_d, plan_name=plan_name, seed=seed,
                       samples_name=str(_samples_file(samples_dir)))
    used = r.summary.get("drone_plan") or {}
    if plan_name is not None and not used.get("used"):
        typer.echo(msg("cli.note_plan_ignored", plan=plan_name, why=used.get("why")), err=True)
    if area is None:  # each skipped step is logged by build_evidence; this says what to do about it
        skipped = r.summary.get("skipped") or []
        typer.echo(msg("cli.note_no_area", crs=r.summary["metric_crs"], n=len(skipped), fix=msg("fix.needs_area")),
                   err=True)
    return r


def _recorded_area(evidence_dir: Path):
    """The area recorded in ``evidence.json`` when it names a loadable folder, else a refusal with the fix."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.errors import InputError
    from ecopatrol.core.i18n import Msg

    ej = evidence_dir / "evidence.json"
    summary = _evidence_summary(evidence_dir)
    path = summary.get("area_path")
    if path and Path(path).is_dir():
        typer.echo(msg("cli.area_recorded", path=path, file=ej), err=True)
        return load_area(path)
    if path:
        why = Msg("area.recorded_gone", file=ej, path=path)
    elif summary.get("area"):
        why = Msg("area.recorded_no_folder", file=ej, area=summary["area"])
    elif ej.is_file():
        why = Msg("area.recorded_none", file=ej)
    else:
        why = Msg("area.recorded_missing", file=ej)
    raise InputError.keyed("area.targets_need", why=why, fix=Msg("fix.needs_area"))


def _evidence_summary(evidence_dir: Path) -> dict:
    from ecopatrol.core.artefacts.evidence import read_summary
    from ecopatrol.core.errors import FormatError, InputFileNotFoundError

    if not evidence_dir.is_dir():
        raise InputFileNotFoundError.keyed("evidence.missing", folder=evidence_dir)
    try:
        return read_summary(evidence_dir) or {}
    except FormatError:
        return {}


def _area_for_targets(evidence_dir: Path, area: str | None):
    """--area (checked against where the evidence was taken), else the area the evidence recorded."""
    if area is None:
        return _recorded_area(evidence_dir)
    from ecopatrol.core.area import load_area
    from ecopatrol.processing.evidence import check_position_near_area

    a = load_area(area)
    summary = _evidence_summary(evidence_dir)
    b = summary.get("bounds_lonlat")
    if isinstance(b, list) and len(b) == 4 and all(isinstance(v, int | float) for v in b):
        check_position_near_area((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, a, what=f"`{evidence_dir}`",
                                 position="the centre of the surveyed samples",
                                 fix="pass the area the evidence was taken in (--area FOLDER)")
    if "area" in summary and summary["area"] is None:
        typer.echo(msg("cli.note_built_without_area", folder=evidence_dir), err=True)
    return a


def _check_near(evidence_dir: Path, a) -> None:
    from ecopatrol.processing.evidence import check_position_near_area

    b = _evidence_summary(evidence_dir).get("bounds_lonlat")
    if isinstance(b, list) and len(b) == 4 and all(isinstance(v, int | float) for v in b):
        check_position_near_area((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, a, what=f"`{evidence_dir}`",
                                 position="the centre of the surveyed samples",
                                 fix="combine only survey days of the same area")


SamplesArg = Annotated[Path, typer.Argument(help="Folder with samples.parquet (from `ecopatrol georef`), or the file.")]
AreaOpt = Annotated[str | None, typer.Option(
    "--area", "-a", help="Area folder, or 'jimo' for the bundled example. Without it the evidence is built from "
                         "the samples alone: no attribution to enterprises, no rates.")]
WindOpt = Annotated[str | None, typer.Option(
    "--wind", help="FROM_DEG/SPEED_M_S[/CLASS] for passes without measured wind (default: the area's).")]
SpeciesOpt = Annotated[str | None, typer.Option(
    "--species", help="Species column to analyse (default: tvoc_ugm3 when measured, else ch4_ppm, …).")]
CellOpt = Annotated[float, typer.Option("--cell", help="Grid cell size for aggregation (m).")]
PlanOpt = Annotated[Path | None, typer.Option(
    "--plan", help="Drone plan.json: names the curtain targets (default: plans/drone/plan.json beside the samples, "
                   "e.g. SAMPLES/../plans/drone/plan.json, when its sorties are the samples' missions).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (subsampling).")]


def hotspots_cmd(
    samples_dir: SamplesArg,
    area: AreaOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Evidence folder to write.")] = Path("evidence"),
    wind: WindOpt = None,
    species: SpeciesOpt = None,
    cell_m: CellOpt = 50.0,
    plan: PlanOpt = None,
    seed: SeedOpt = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the evidence summary and the files written as JSON.")] = False,
) -> None:
    """Events, road segments, grid cells, hotspot raster and polygons (and attribution, flux) → DIR.

    Without --area: from the samples alone, in their own UTM zone; attribution and rates are
    skipped (empty attribution.csv / rates.csv, listed in evidence.json `skipped`).
    """
    r = _build(samples_dir, area, out, wind, species, cell_m, plan, seed)
    s = r.summary
    if as_json:
        echo_json({**s, "out_dir": r.out_dir, "files": r.files})
        return
    typer.echo(msg("cli.hotspots", samples=s["n_samples"], events=s["n_events"], confirmed=s["n_confirmed_events"],
                   segments=s["n_segments"], cells=s["n_cells"], hotspots=s["n_hotspots"], curtains=s["n_curtains"],
                   out=r.out_dir))


def attribute_cmd(
    samples_dir: SamplesArg,
    area: AreaOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Evidence folder to write.")] = Path("evidence"),
    wind: WindOpt = None,
    species: SpeciesOpt = None,
    cell_m: CellOpt = 50.0,
    plan: PlanOpt = None,
    seed: SeedOpt = 0,
    show: Annotated[int, typer.Option("--show", help="Print the N most likely attributions.")] = 10,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the evidence summary and the --show most likely attributions as JSON.")] = False,
) -> None:
    """Attribute events and hotspots to upwind sources and estimate their rates (writes the evidence folder).

    Needs --area: attributing to the registry's sources is all this command adds to `hotspots`,
    so without a registry it refuses with the fix rather than write an evidence folder with no
    attribution (`ecopatrol hotspots` builds that, from the samples alone).
    """
    if area is None:
        from ecopatrol.core.errors import InputError
        from ecopatrol.core.i18n import Msg

        raise InputError.keyed("area.attribution_needs", fix=Msg("fix.needs_area"), samples=samples_dir)
    r = _build(samples_dir, area, out, wind, species, cell_m, plan, seed)
    att = r.attribution
    sig = att[att["evidence_kind"] == "signal"].head(show)
    ev = att[~att["evidence_kind"].isin(["nnls", "signal"])].sort_values("likelihood", ascending=False).head(show)
    if as_json:
        cols = ["evidence_id", "evidence_kind", "enterprise_id", "source_id", "likelihood", "rate_g_s", "rate_sd_g_s",
                "evidence_rate_g_s", "explanation"]
        echo_json({**r.summary, "out_dir": r.out_dir, "attribution_csv": r.out_dir / "attribution.csv",
                   "n_attribution_rows": len(att), "signals": sig[[c for c in cols if c in sig]],
                   "evidence": ev[[c for c in cols if c in ev]]})
        return
    for row in sig.itertuples(index=False):
        typer.echo(msg("cli.signal", id=row.evidence_id, firm=row.enterprise_id, p=f"{row.likelihood:.2f}",
                       rate=f"{row.evidence_rate_g_s:.3g}"))
    for row in ev.itertuples(index=False):
        typer.echo(msg("cli.evidence_row", id=row.evidence_id, firm=row.enterprise_id, p=f"{row.likelihood:.2f}",
                       rate=f"{row.rate_g_s:.3g}", sd=f"{row.rate_sd_g_s:.2g}"))
    typer.echo(msg("cli.attribution", n=len(att), k=r.summary["n_sources_with_rate"], path=r.out_dir / "attribution.csv"))


def _targets_of_folders(evidence_dirs: list[Path], area: str | None, *, out: Path, top, db, alarms):
    """Targets of one evidence folder, or the season targets of several (history.csv beside ``out``)."""
    from ecopatrol.processing.targeting import rank_targets

    ledger = None
    if db is not None:
        from ecopatrol.core.db import open_database
        from ecopatrol.processing.ledger.learning import adjustment_from_db

        engine = open_database(db, migrate=False)
        try:
            ledger = adjustment_from_db(engine)
        finally:
            engine.dispose()
    the_area = _area_for_targets(evidence_dirs[0], area)
    if len(evidence_dirs) == 1:
        return rank_targets(evidence_dirs[0], the_area, top=top, ledger=ledger, alarms=alarms)
    from ecopatrol.processing._evidence_util import write_csv
    from ecopatrol.processing.season import season_targets

    for d in evidence_dirs[1:]:  # every day taken where this registry is
        _check_near(d, the_area)
    res = season_targets(evidence_dirs, the_area, top=top, ledger=ledger, alarms=alarms)
    write_csv(res.history, out.with_name("history.csv"))
    return res.targets


def targets_cmd(
    evidence_dirs: Annotated[list[Path], typer.Argument(
        help="Evidence folder(s) written by `ecopatrol hotspots`; several folders (one per survey day) are "
             "combined: a firm seen emitting on some days is kept, clean covered days count against it. "
             "Or one archive (date=YYYY-MM-DD/platform=NAME partitions): the evidence of every partition "
             "is built on Dask first.")],
    area: Annotated[str | None, typer.Option(
        "--area", "-a", help="Area folder, or 'jimo' for the bundled example (default: the area recorded in "
                             "the evidence folder's evidence.json).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="targets.csv to write.")] = Path("targets.csv"),
    top: Annotated[int | None, typer.Option("--top", help="Keep only the first N targets.")] = None,
    alarms: Annotated[Path | None, typer.Option(
        "--alarms", help="alarms.csv from `ecopatrol monitor alarms`: online-monitoring alarms as an independent "
                         "evidence line, cited in the reasons (with several folders: once over the season, "
                         "stronger on a survey day that also found the firm's plume).")] = None,
    visits: Annotated[int | None, typer.Option(
        "--visits", min=0, help="Inspection budget K: mark the first K firms to visit (column `visit`) and report "
                                "the expected number of emitters among them and P(at least one).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the number of targets, the path and the first 10 rows as JSON.")] = False,
    db: Annotated[str | None, typer.Option(
        "--db", help="Supervision ledger (database URL): fold in on-site outcomes and the ledger's "
                     "last inspections and violations; over an archive, each partition's off-site checks "
                     "are recorded in it too.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Archive only: address of a running Dask scheduler (default: a local cluster).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Archive only: workers of the local cluster.")] = 2,
    work: Annotated[Path | None, typer.Option(
        "--work", help="Archive only: folder of the per-partition run folders, history.csv and season.json "
                       "(default: season/ beside --out).")] = None,
) -> None:
    """Rank enterprises for inspection from the evidence and the registry; write targets.csv.

    The registry is --area, else the area the evidence was built with (evidence.json
    `area_path`); evidence built from the samples alone with no --area is refused with the fix.
    """
    from ecopatrol.core.io import remove_stale_temps
    from ecopatrol.processing.targeting import write_targets

    remove_stale_temps(out.parent, recursive=False, target=out)  # left by a killed run
    from .cli_archive import is_archive, season_targets_of_archive

    if len(evidence_dirs) == 1 and is_archive(evidence_dirs[0]):  # a season archive (processing.archive_evidence)
        df = season_targets_of_archive(evidence_dirs[0], area=area, out=out, work=work, scheduler=scheduler,
                                       workers=workers, db=db, top=top, alarms=alarms)
    else:
        df = _targets_of_folders(evidence_dirs, area, out=out, top=top, db=db, alarms=alarms)
    budget = None
    if visits is not None:
        from ecopatrol.processing.calibration import VISIT_CALIBRATION, mark_visits

        # one day's emit_probability is recalibrated (processing.calibration.VISIT_CALIBRATION); a season's
        # probability has another meaning and no calibration of its own yet: taken as it is
        one_day = len(evidence_dirs) == 1 and not is_archive(evidence_dirs[0])
        df, budget = mark_visits(df, visits, VISIT_CALIBRATION if one_day else None)
    write_targets(df, out)
    if as_json:
        echo_json({"n_targets": len(df), "path": out, "top": df.head(10),
                   **({"visits": budget} if budget is not None else {})})
        return
    for row in df.head(5).itertuples(index=False):
        typer.echo(f"{row.rank:>3}  {row.enterprise_id}  {row.name}  {row.score:.2f}  {row.reasons[:100]}")
    if budget is not None:
        if "calibration" in budget:
            typer.echo(msg("cli.visits_calibrated", visits=budget["visits"], ids=", ".join(budget["enterprise_ids"]),
                           expected=f"{budget['expected_emitters']:.2f}", p=f"{budget['p_at_least_one']:.2f}",
                           expected_model=f"{budget['expected_emitters_model']:.2f}",
                           p_model=f"{budget['p_at_least_one_model']:.2f}"))
        else:
            typer.echo(msg("cli.visits", visits=budget["visits"], ids=", ".join(budget["enterprise_ids"]),
                           expected=f"{budget['expected_emitters']:.2f}", p=f"{budget['p_at_least_one']:.2f}"))
    typer.echo(msg("cli.targets", n=len(df), out=out))
