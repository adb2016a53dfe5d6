"""The samples artefact as the processing stages use it: its definition is
:mod:`ecopatrol.core.artefacts.samples` (schema, columns, reader, writer, validator), re-exported
here; this module adds the choice of the species to analyse.
"""

from __future__ import annotations

import pandas as pd

from ecopatrol.core.artefacts.samples import (  # noqa: F401  (re-exported)
    COLUMN_SPEC,
    DERIVED,
    PLATFORM_KINDS,
    SAMPLE_COLUMNS,
    SCHEMA,
    SPECIES_SUFFIXES,
    TAIL_COLUMNS,
    derived,
    empty_samples,
    is_drone,
    platform_kind_of,
    read_provenance,
    read_samples,
    species_of,
    to_samples_frame,
    validate_samples,
    write_samples,
)


#: The species analysed when none is named: VOCs first (the brigade's target), then the others.
DEFAULT_SPECIES_ORDER = ("tvoc_ugm3", "ch4_ppm", "c2h6_ppm", "co2_ppm")


def choose_species(frame: pd.DataFrame, requested: str | None = None) -> str:
    """The species column to analyse: ``requested`` when given, else ``tvoc_ugm3`` when measured,
    else the first of :data:`DEFAULT_SPECIES_ORDER` (then any species column) that holds data.

    Raises :class:`~ecopatrol.core.errors.InputError` naming the columns there are when the
    requested one is absent or none holds data.
    """
    from ecopatrol.core.errors import InputError

    cols = species_of(frame)
    if requested is not None:
        if requested not in frame.columns:
            raise InputError(f"samples have no `{requested}` column: pass --species with one of "
                             f"{', '.join(cols) or '(none: the samples hold no species column)'}")
        return requested
    with_data = [c for c in cols if frame[c].notna().any()]
    for c in (*DEFAULT_SPECIES_ORDER, *with_data):
        if c in with_data:
            return c
    raise InputError("samples hold no species column with data (columns ending in "
                     f"{', '.join(SPECIES_SUFFIXES)}): nothing to analyse")
