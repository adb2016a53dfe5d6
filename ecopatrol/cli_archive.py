"""``ecopatrol archive synth``, ``ecopatrol process-archive`` and the archive mode of ``ecopatrol targets``.

Plain typer-annotated functions; the CLI module registers them. Heavy imports (dask,
geopandas) happen inside the bodies so ``ecopatrol --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._i18n import msg

archive_app = typer.Typer(help="Archives of samples partitioned by date and platform.", no_args_is_help=True,
                          rich_markup_mode=None)


def _bar(description: str):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # progress is not a result: stderr, so stdout carries only the summary line
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=False, console=Console(stderr=True))


@archive_app.command("synth")
def synth_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Archive folder to write.")],
    days: Annotated[int, typer.Option("--days", min=1, help="Number of days.")] = 7,
    vans: Annotated[int, typer.Option("--vans", min=1, help="Number of vans.")] = 2,
    hz: Annotated[float, typer.Option("--hz", help="Samples per second.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    area: Annotated[str, typer.Option("--area", "-a", help="Area folder, or 'jimo' for the bundled example.")] = "jimo",
    hours: Annotated[float, typer.Option("--hours", help="Driving hours per van-day.")] = 8.0,
    p_emit: Annotated[float, typer.Option("--p-emit", min=0.0, max=1.0, help=(
        "Chance that a true emitter emits on a given day (intermittent firms; archive.json lists the days)."))] = 1.0,
) -> None:
    """Write a synthetic van archive (GeoParquet partitioned as date=YYYY-MM-DD/platform=NAME)."""
    from ecopatrol.processing.archive_synth import synth_archive

    with _bar("synth") as bar:
        task = bar.add_task("van-days", total=days * vans)
        m = synth_archive(out, days=days, vans=vans, hz=hz, seed=seed, area=area, hours=hours, p_emit=p_emit,
                          progress=lambda done, total: bar.update(task, completed=done))
    typer.echo(msg("cli.archive_synth", samples=m["n_samples"], partitions=m["partitions"], days=days, vans=vans,
                   hz=f"{hz:g}", out=out))


def _need_dask(what: str) -> None:
    from ecopatrol.core.errors import MissingDependencyError

    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError.keyed("dep.dask", what=what, module=exc.name or "dask") from None


def is_archive(path: Path) -> bool:
    """A folder of ``date=YYYY-MM-DD`` partitions (not an evidence folder)."""
    return path.is_dir() and not (path / "evidence.json").exists() and any(path.glob("date=*"))


def season_targets_of_archive(archive: Path, *, area: str | None, out: Path, work: Path | None, scheduler, workers,
                              db: str | None, top: int | None, alarms: Path | None = None):
    """``ecopatrol targets ARCHIVE``: evidence per partition on Dask, season targets and per-firm histories."""
    import json
    import logging

    from ecopatrol.core.area import load_area
    from ecopatrol.core.errors import InputError
    from ecopatrol.processing.archive_evidence import season_over_archive

    _need_dask("targets over an archive")
    if area is None:
        mf = archive / "archive.json"
        area = json.loads(mf.read_text()).get("area") if mf.exists() else None
        if not area:
            raise InputError(f"`{archive}` records no area (archive.json): give --area FOLDER (or 'jimo')")
    load_area(area)  # a bad --area ends here, with its own message, before any cluster starts
    if alarms is not None:  # and a bad --alarms
        from ecopatrol.processing.monitor.evidence import as_alarms

        as_alarms(alarms)
    work = work if work is not None else out.parent / "season"
    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    tasks: dict[str, int] = {}
    with _bar("season") as bar:
        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"{stage} per partition", total=total)
            bar.update(tasks[stage], completed=done, total=total)

        res = season_over_archive(archive, work, str(area), scheduler=scheduler, workers=workers, db=db,
                                  top=top, progress=progress, targets_path=out, alarms=alarms)
    n_days = res.history["date"].nunique()
    typer.echo(f"{n_days} survey days, per-firm history → {work / 'history.csv'} / {n_days} 个巡查日，逐企业每日记录 → "
               f"{work / 'history.csv'}", err=True)
    return res.targets


def process_archive_cmd(
    archive: Annotated[Path, typer.Argument(help="Archive folder: date=YYYY-MM-DD/platform=NAME partitions.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("archive-evidence"),
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Workers of the local cluster.")] = 2,
    species: Annotated[str, typer.Option("--species", help="Species column to aggregate.")] = "tvoc_ugm3",
    cell_m: Annotated[float, typer.Option("--cell", help="Grid cell size (m).")] = 50.0,
    roads: Annotated[Path | None, typer.Option("--roads", help="OSM XML roads: adds 30 m road segments.")] = None,
    rows_per_task: Annotated[int, typer.Option("--rows-per-task", min=1000,
                                               help="Samples a worker holds at once.")] = 1_000_000,
) -> None:
    """Grid cells (and road segments), kernel maps and Gi* hot spots of an archive, on Dask."""
    import logging

    _need_dask("process-archive")
    from ecopatrol.processing.distributed import process_archive

    for name in ("distributed", "bokeh", "tornado"):  # the cluster's own chatter; our progress is the bar
        logging.getLogger(name).setLevel(logging.ERROR)
    tasks: dict[str, int] = {}
    with _bar("archive") as bar:
        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        r = process_archive(archive, out, scheduler=scheduler, workers=workers, species=species, cell_m=cell_m,
                            roads=roads, rows_per_task=rows_per_task, progress=progress)
    s = r.summary
    typer.echo(msg("cli.archive_processed", samples=s["n_samples"], partitions=s["n_partitions"], tasks=s["n_tasks"],
                   cells=s["n_cells"], segments=s["n_segments"], hotspots=s["n_hotspots"],
                   secs=f"{s['seconds']:.1f}", out=out))
