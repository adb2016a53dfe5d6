"""`ecopatrol map` and `ecopatrol report`: parse options, call one library function.

Plain typer-annotated functions; the CLI module registers them. Heavy imports (folium,
matplotlib, geopandas) happen inside the bodies so `ecopatrol --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._i18n import msg

AreaOpt = Annotated[str | None, typer.Option(
    "--area", "-a", help="Area folder, or 'jimo' for the bundled example (default: FOLDER/area/, else the area "
                         "recorded in the evidence; none: no enterprise layer).")]
LangOpt = Annotated[str | None, typer.Option(
    "--lang", help="zh | en: the language people read (default: the area's `language`, else zh for an area in "
                   "China, else en). File fields stay English.")]


def map_cmd(
    folder: Annotated[Path, typer.Argument(help="Output folder holding area/, plans/, samples/, evidence/, targets.csv.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("map.html"),
    offline: Annotated[bool, typer.Option("--offline", help="Kept for compatibility: every map is now self-contained "
                                                            "(Leaflet inlined, the area's roads as an offline base).")] = False,
    basemap: Annotated[str, typer.Option("--basemap", help="osm | amap (GCJ-02; overlays shifted) | none. Tiles are "
                                                           "drawn over the offline roads.")] = "osm",
    area: AreaOpt = None,
    lang: LangOpt = None,
) -> None:
    """Write the interactive hotspot map of FOLDER.

    The enterprises come from --area, else FOLDER/area/, else the area recorded in the evidence
    (evidence.json); with none of them the map has no enterprise layer and says so.
    """
    from ecopatrol.maps import build_map

    path = build_map(folder, out=out, offline=offline, basemap=basemap, area=area, lang=lang)
    typer.echo(msg("cli.map_written", path=path, mb=f"{path.stat().st_size / 1e6:.1f}"))


def report_cmd(
    folder: Annotated[Path, typer.Argument(help="Output folder holding area/, plans/, samples/, evidence/, targets.csv.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    area: AreaOpt = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Targets listed, each with a one-page inspection "
                                                          "sheet.")] = 20,
    lang: LangOpt = None,
    db: Annotated[str | None, typer.Option("--db", help="Add the supervision ledger's page (this year to the "
                                                        "day after the survey) from this database URL.")] = None,
) -> None:
    """Write the daily HTML report of FOLDER (printable to PDF from the browser).

    The area is found as for `ecopatrol map`; with none the report says so.
    """
    from ecopatrol.maps import build_report

    stats = None
    if db is not None:
        from ecopatrol.pipeline import ledger_year_stats

        stats = ledger_year_stats(db, folder)
    path = build_report(folder, out=out, area=area, lang=lang, top=top, ledger_stats=stats)
    typer.echo(msg("cli.report_written", path=path, mb=f"{path.stat().st_size / 1e6:.1f}"))
