"""Typed, versioned definitions of the files the stages hand each other (CONTRACTS.md).

One module per artefact, each with its schema string, its columns or keys, and its one
reader, writer and validator, used by every producer and consumer:

- :mod:`.plan` — ``plans/<kind>/plan.json`` (``ecopatrol.plan/1``);
- :mod:`.samples` — ``samples/samples.parquet`` + quarantine + provenance (``ecopatrol.samples/1``),
  with ``platform_kind`` and the derived per-species columns;
- :mod:`.evidence` — ``evidence/`` (its reader and writer; no validator yet);
- :mod:`.targets` — ``targets.csv``.

:data:`ARTEFACTS` lists them by name: ``read_<name>``, ``write_<name>`` and
``validate_<name>`` (those of its ``verbs``) are defined there and nowhere else in the package
(a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import evidence, plan, samples, targets
from .plan import PLAN_KINDS, PLAN_SCHEMA, plan_kind, plan_targets, read_plan, sortie_targets, validate_plan, write_plan
from .samples import (
    DERIVED,
    PLATFORM_KINDS,
    SAMPLE_COLUMNS,
    SPECIES_SUFFIXES,
    derived,
    is_drone,
    platform_kind_of,
    read_samples,
    validate_samples,
    write_samples,
)
from .targets import read_targets, write_targets


@dataclass(frozen=True)
class Artefact:
    """One artefact: its name (``read_<name>`` …), schema string and module."""

    name: str
    schema: str
    module: object
    verbs: tuple[str, ...] = ("read", "write", "validate")


ARTEFACTS = (
    Artefact("plan", plan.PLAN_SCHEMA, plan),
    Artefact("samples", samples.SCHEMA, samples),
    Artefact("evidence", evidence.SCHEMA, evidence, verbs=("read", "write")),
    Artefact("targets", targets.SCHEMA, targets),
)

__all__ = ["ARTEFACTS", "Artefact", "DERIVED", "PLAN_KINDS", "PLAN_SCHEMA", "PLATFORM_KINDS", "SAMPLE_COLUMNS",
           "SPECIES_SUFFIXES", "derived", "is_drone", "plan_kind", "plan_targets", "platform_kind_of", "read_plan",
           "read_samples", "read_targets", "sortie_targets", "validate_plan", "validate_samples", "write_plan", "write_samples", "write_targets"]
