"""``ecopatrol simulate``: fly and drive plans through a simulated world (thin command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._i18n import msg
from ecopatrol._json import echo_json


def simulate_cmd(
    area: Annotated[str, typer.Option("--area", help="Area folder, or `jimo` for the bundled example.")],
    plans: Annotated[Path, typer.Option("--plans", help="Folder holding drone/plan.json and/or van/plan.json.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the raw field files and truth.json to.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 0,
    wind: Annotated[str | None, typer.Option(
        "--wind", help="Wind FROM_DEG/SPEED_M_S or FROM_DEG/SPEED_M_S/STABILITY, e.g. 270/4/D (default: the plan's wind).")] = None,
    emitters: Annotated[int, typer.Option("--emitters", min=0, help="Number of hidden true emitters.")] = 3,
    world: Annotated[str, typer.Option(
        "--world", help="Plume world: gaussian (the analysis's own Gaussian plume) or lagrangian (particles in a "
                        "surface layer, building wakes, veer, varying emission: independent of the analysis).")] = "gaussian",
    as_json: Annotated[bool, typer.Option("--json", help="Print the files written and the hidden emitters as JSON.")] = False,
) -> None:
    """Simulate a field day: raw drone/van/analyser files in real formats, plus the ground truth."""
    from ecopatrol.core.area import load_area
    from ecopatrol.core.weather import parse_wind
    from ecopatrol.missions.simulate import simulate

    w = parse_wind(wind) if wind else None
    result = simulate(load_area(area), plans, out, seed=seed, wind=w, n_emitters=emitters, world=world)
    if as_json:
        echo_json({"out": out, "files": result.files, "rows_written": result.rows_written,
                   "emitters": result.truth["emitters"], "truth": out / "truth.json"})
        return
    em = ", ".join(f"{e['source_id']} {e['rate_g_s']:g} g/s" for e in result.truth["emitters"])
    typer.echo(msg("cli.simulated", n=len(result.files), out=out, emitters=em or msg("cli.none")))
