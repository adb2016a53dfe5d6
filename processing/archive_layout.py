"""Archive layout: the ``date=YYYY-MM-DD/platform=NAME`` partitions of a survey archive and their samples.

An **archive** is a folder partitioned hive-style by UTC date and platform::

    ARCHIVE/date=2025-03-01/platform=van01/part-0.parquet     (samples, GeoParquet; CONTRACTS.md)
    ARCHIVE/date=2025-03-01/platform=van01/R01.gpx + R01_voc.csv   (or raw track + sensor pairs)

Used by the archive aggregates (:mod:`.distributed`) and the season evidence (:mod:`.archive_evidence`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ecopatrol.core.errors import FormatError, InputError, InputFileNotFoundError, Report

READ_COLUMNS = ("time_utc", "platform_id", "mission_id", "pass_id", "lon", "lat")
_PART_RE = re.compile(r"^(?P<key>date|platform)=(?P<value>.+)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Partition:
    """One ``date=…/platform=…`` folder: its samples files or its raw track + sensor pairs."""

    date: str
    platform: str
    path: Path
    files: tuple[Path, ...] = ()
    pairs: tuple[tuple[tuple[Path, ...], Path], ...] = ()  # raw: ((tracks…), sensor)

    @property
    def key(self) -> str:
        return f"date={self.date}/platform={self.platform}"


@dataclass
class ArchiveLayout:
    """The partitions of an archive and its kind: ``"samples"`` (GeoParquet) or ``"raw"``."""

    root: Path
    kind: str
    partitions: list[Partition]


def scan_layout(archive_dir) -> ArchiveLayout:
    """Find the ``date=YYYY-MM-DD/platform=NAME`` partitions of an archive.

    Every problem (bad folder names, empty partitions, a mix of raw and samples partitions,
    unreadable or schema-less Parquet files) is collected and raised together as one
    :class:`~ecopatrol.core.errors.ValidationError`.
    """
    import pyarrow.parquet as pq

    root = Path(archive_dir)
    if not root.exists():
        raise InputFileNotFoundError(f"archive `{root}` does not exist: give a folder partitioned as "
                                     "date=YYYY-MM-DD/platform=NAME (try `ecopatrol archive synth`)")
    if not root.is_dir():
        raise InputError(f"archive `{root}` is a file: give the archive folder")
    report = Report()
    parts: list[Partition] = []

    def bad(path: Path, message: str) -> None:
        rel = path.relative_to(root) if path != root else path
        report.error(f"`{rel}`: {message}")

    for ddir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        m = _PART_RE.match(ddir.name)
        if not m or m["key"] != "date" or not _DATE_RE.match(m["value"]):
            bad(ddir, "not a `date=YYYY-MM-DD` partition folder: rename it or move it out")
            continue
        for pdir in sorted(p for p in ddir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            mp = _PART_RE.match(pdir.name)
            if not mp or mp["key"] != "platform":
                bad(pdir, "not a `platform=NAME` partition folder: rename it or move it out")
                continue
            files = tuple(sorted(pdir.glob("*.parquet")))
            pairs = _raw_pairs(pdir)
            if not files and not pairs:
                bad(pdir, "empty partition: no .parquet samples and no track + sensor pair "
                    "(e.g. R01.gpx + R01_voc.csv)")
                continue
            parts.append(Partition(m["value"], mp["value"], pdir, files, () if files else pairs))
    if not parts and not report.errors:
        bad(root, "no `date=YYYY-MM-DD/platform=NAME` partitions found (see `ecopatrol archive synth`)")
    kinds = {"samples" if p.files else "raw" for p in parts}
    if len(kinds) > 1:
        bad(root, "mixes samples (.parquet) and raw (track + sensor) partitions: georeference the raw "
                  "ones into a separate archive first")
    for p in parts:
        for f in p.files:
            try:
                names = set(pq.read_schema(f).names)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
                bad(f, f"not a readable Parquet file ({type(exc).__name__}: {exc})")
                continue
            missing = [c for c in READ_COLUMNS if c not in names]
            if missing:
                bad(f, f"missing samples column(s) {missing}: write it with "
                    "ecopatrol.processing.samples (CONTRACTS.md)")
    report.raise_if_errors(f"archive `{root}`")
    return ArchiveLayout(root, kinds.pop(), parts)


def _raw_pairs(pdir: Path) -> tuple[tuple[tuple[Path, ...], Path], ...]:
    """(tracks, sensor) pairs of a raw partition (:func:`~ecopatrol.processing.georef.pair_field_files`)."""
    from .georef import pair_field_files

    return tuple(pair_field_files(pdir))


def read_partition(part: Partition, species: str, columns: tuple[str, ...] = READ_COLUMNS) -> pd.DataFrame:
    """The samples of one partition (only the columns the aggregates need), time-ordered as stored."""
    cols = [*columns, species]
    frames = []
    for f in part.files:
        try:
            frames.append(pd.read_parquet(f, columns=cols))
        except Exception as exc:
            if isinstance(exc, KeyError) or "not in schema" in str(exc) or "No match for" in str(exc):
                raise FormatError(f"`{f}`: no `{species}` column: choose a species the archive holds "
                                  "(--species)") from None
            raise FormatError(f"`{f}`: cannot read the samples ({type(exc).__name__}: {exc})") from exc
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

