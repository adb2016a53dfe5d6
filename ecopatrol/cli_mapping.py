"""``ecopatrol mapping init``: draft the TOML mapping that lets any CSV be read.

Plain typer-annotated functions; the CLI module registers the sub-app. Heavy imports (pandas)
happen inside the bodies so ``ecopatrol --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecopatrol._i18n import msg

mapping_app = typer.Typer(help="Write TOML mappings that let any CSV be read (--mapping).", no_args_is_help=True,
                          rich_markup_mode=None)


@mapping_app.command("init")
def init_cmd(
    file: Annotated[Path, typer.Argument(help="The CSV (or other delimited text) to describe.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Mapping file to write (default: print it).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Draft a mapping from FILE's header and first rows: delimiter, time column and format, lon/lat,
    species with units; what it could not decide is marked TODO."""
    from ecopatrol.core.errors import InputError
    from ecopatrol.core.io import atomic_write
    from ecopatrol.processing.readers.mapping_init import draft_mapping

    if out is not None and out.exists() and not force:
        raise InputError.keyed("file.mapping_exists", file=out)
    draft = draft_mapping(file)
    if out is None:
        typer.echo(draft.text, nl=False)
    else:
        atomic_write(out, draft.text)
        typer.echo(msg("cli.wrote", path=out))
    # what to look at goes to stderr, so the printed mapping can be redirected as it is
    typer.echo(draft.summary, err=True)
    for line in [*draft.todo, *draft.checks]:
        typer.echo(f"  {line}", err=True)
