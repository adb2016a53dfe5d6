"""``ecopatrol hotspots``, ``ecopatrol attribute`` and ``ecopatrol targets``.

Plain typer-annotated functions; the CLI module registers them. Heavy imports happen inside
the bodies so ``ecopatrol --help`` stays instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _wind(text: str | None):
    if text is None:
        return None
    from ecopatrol.core.weather import parse_wind

    return parse_wind(text)


def _plan(path: Path | None) -> dict | None:
    if path is None:
        return None
    from ecopatrol.core.errors import FormatError, InputFileNotFoundError

    if not path.exists():
        raise InputFileNotFoundError(f"`{path}` not found: give the drone plan.json written by `ecopatrol plan drone`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"`{path.name}`: not JSON ({exc.msg} at line {exc.lineno})") from None


def _build(samples_dir: Path, area: str, out: Path, wind: str | None, species: str, cell_m: float,
           plan: Path | None, seed: int):
    from ecopatrol.core.area import load_area
    from ecopatrol.processing.evidence import build_evidence
    from ecopatrol.processing.samples import read_samples

    return build_evidence(read_samples(samples_dir), load_area(area), out_dir=out, wind=_wind(wind),
                          species=species, cell_m=cell_m, plan=_plan(plan), seed=seed)


SamplesArg = Annotated[Path, typer.Argument(help="Folder with samples.parquet (from `ecopatrol georef`), or the file.")]
AreaOpt = Annotated[str, typer.Option("--area", "-a", help="Area folder, or 'jimo' for the bundled example.")]
WindOpt = Annotated[str | None, typer.Option(
    "--wind", help="FROM_DEG/SPEED_M_S[/CLASS] for passes without measured wind (default: the area's).")]
SpeciesOpt = Annotated[str, typer.Option("--species", help="Species column to analyse.")]
CellOpt = Annotated[float, typer.Option("--cell", help="Grid cell size for aggregation (m).")]
PlanOpt = Annotated[Path | None, typer.Option("--plan", help="Drone plan.json: names the curtain targets.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (subsampling).")]


def hotspots_cmd(
    samples_dir: SamplesArg,
    area: AreaOpt = "jimo",
    out: Annotated[Path, typer.Option("--out", "-o", help="Evidence folder to write.")] = Path("evidence"),
    wind: WindOpt = None,
    species: SpeciesOpt = "tvoc_ugm3",
    cell_m: CellOpt = 50.0,
    plan: PlanOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Events, road segments, grid cells, hotspot raster and polygons (and attribution, flux) → DIR."""
    r = _build(samples_dir, area, out, wind, species, cell_m, plan, seed)
    s = r.summary
    typer.echo(f"{s['n_samples']} samples → {s['n_events']} events ({s['n_confirmed_events']} confirmed), "
               f"{s['n_segments']} segments, {s['n_cells']} cells, {s['n_hotspots']} hotspot polygons, "
               f"{s['n_curtains']} curtains → {r.out_dir}")


def attribute_cmd(
    samples_dir: SamplesArg,
    area: AreaOpt = "jimo",
    out: Annotated[Path, typer.Option("--out", "-o", help="Evidence folder to write.")] = Path("evidence"),
    wind: WindOpt = None,
    species: SpeciesOpt = "tvoc_ugm3",
    cell_m: CellOpt = 50.0,
    plan: PlanOpt = None,
    seed: SeedOpt = 0,
    show: Annotated[int, typer.Option("--show", help="Print the N most likely attributions.")] = 10,
) -> None:
    """Attribute events and hotspots to upwind sources and estimate their rates (writes the evidence folder)."""
    r = _build(samples_dir, area, out, wind, species, cell_m, plan, seed)
    att = r.attribution
    sig = att[att["evidence_kind"] == "signal"].head(show)
    for row in sig.itertuples(index=False):
        typer.echo(f"{row.evidence_id}  {row.enterprise_id}  probability {row.likelihood:.2f}  "
                   f"{row.evidence_rate_g_s:.3g} g/s if it is this source")
    ev = att[~att["evidence_kind"].isin(["nnls", "signal"])].sort_values("likelihood", ascending=False).head(show)
    for row in ev.itertuples(index=False):
        typer.echo(f"{row.evidence_id}  {row.enterprise_id}  likelihood {row.likelihood:.2f}  "
                   f"rate {row.rate_g_s:.3g} ± {row.rate_sd_g_s:.2g} g/s")
    typer.echo(f"{len(att)} attribution rows, {r.summary['n_sources_with_rate']} sources with a positive rate "
               f"→ {r.out_dir / 'attribution.csv'}")


def targets_cmd(
    evidence_dir: Annotated[Path, typer.Argument(help="Evidence folder written by `ecopatrol hotspots`.")],
    area: AreaOpt = "jimo",
    out: Annotated[Path, typer.Option("--out", "-o", help="targets.csv to write.")] = Path("targets.csv"),
    top: Annotated[int | None, typer.Option("--top", help="Keep only the first N targets.")] = None,
) -> None:
    """Rank enterprises for inspection from the evidence and the registry; write targets.csv."""
    from ecopatrol.core.area import load_area
    from ecopatrol.processing.targeting import rank_targets, write_targets

    df = rank_targets(evidence_dir, load_area(area), top=top)
    write_targets(df, out)
    for row in df.head(5).itertuples(index=False):
        typer.echo(f"{row.rank:>3}  {row.enterprise_id}  {row.name}  {row.score:.2f}  {row.reasons[:100]}")
    typer.echo(f"{len(df)} targets → {out}")
