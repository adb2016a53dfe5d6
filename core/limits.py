"""Emission limits for the online-monitoring alarms: a data file, never numbers in code.

The file (CSV, UTF-8) has one row per limit set × pollutant:

=================  ====================================================================================
``limit_set``      the id a monitor names in ``monitors.csv`` (column ``limits``), e.g. ``GB41616-2022``
``standard``       the standard's number and title
``clause``         the table or clause the value is in
``pollutant_code`` HJ 212-2017 code (``a24088`` NMHC…); 2005 codes are mapped when read
``pollutant_name`` for people
``limit_value``    the value; **empty** when it is not known (the row documents the clause only)
``unit``           ``mg/m3`` …
``averaging``      ``hour`` (hourly average; the only averaging the alarms use today)
``basis``          ``measured`` (实测) or ``converted`` (折算, to the reference O2: the ``Zs`` values)
``applies_to``     ``stack`` or ``plant_boundary`` (in-plant fugitive monitor)
``verified``       ``yes`` only when the value was checked against the official text; else ``no``
``source``         where the value was checked, or why it was not
=================  ====================================================================================

The file shipped with ecopatrol (:data:`SHIPPED_LIMITS`) lists the clauses of GB 41616-2022,
GB 37822-2019, GB 16297-1996, DB37/2801.4-2017 and GB 13271-2014 **without values**: none of their
texts could be found in an authoritative source while this was written, and a limit quoted from
memory is not something to enforce by. An area's own ``limits.csv`` (same columns) adds or
replaces limit sets — the values of the firms' discharge permits (排污许可证) or of the standards
as published. :func:`load_limits` reads both, validates every row (file, row, field, fix) and
keeps the rows with a value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputFileNotFoundError, Report

log = logging.getLogger(__name__)

SHIPPED_LIMITS = Path(__file__).parent / "data" / "emission_limits.csv"
#: The area's own limits, beside its registry.
AREA_LIMITS_FILE = "limits.csv"
LIMIT_COLUMNS = ("limit_set", "standard", "clause", "pollutant_code", "pollutant_name", "limit_value", "unit",
                 "averaging", "basis", "applies_to", "verified", "source")
REQUIRED = ("limit_set", "standard", "pollutant_code", "unit", "verified")
AVERAGINGS = ("hour",)
BASES = ("measured", "converted")
APPLIES = ("stack", "plant_boundary")

# 2005 codes of the pollutants the limits name (HJ 212-2017 appendix B's "原编码"); the codec has
# the full table, but core imports nothing of the project
_CODE_2005 = {"01": "a34013", "02": "a21026", "03": "a21002", "04": "a21005", "25": "a24087", "17": "a25003",
              "18": "a25005", "B02": "a00000", "S01": "a19001"}


@dataclass
class Limits:
    """Limit rows with a value (``table``), every row as read (``all_rows``), and the report."""

    table: pd.DataFrame
    all_rows: pd.DataFrame
    report: Report = field(default_factory=Report)
    files: list[str] = field(default_factory=list)

    def sets(self) -> set[str]:
        """Every limit set named in the files (with or without values)."""
        return set(self.all_rows["limit_set"])

    def for_set(self, limit_set: str) -> pd.DataFrame:
        return self.table[self.table["limit_set"] == limit_set]


def _read(path: Path, report: Report) -> pd.DataFrame:
    name = path.name
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # a broken file is one clear problem
        report.error(f"cannot be read as CSV: {exc}", file=name)
        return pd.DataFrame(columns=list(LIMIT_COLUMNS))
    df.columns = [str(c).strip().lower() for c in df.columns]
    for col in REQUIRED:
        if col not in df.columns:
            report.error(f"required column `{col}` is missing (columns: {', '.join(LIMIT_COLUMNS)})", file=name,
                         field=col)
    if any(p.file == name and p.row is None for p in report.errors):
        return pd.DataFrame(columns=list(LIMIT_COLUMNS))
    for col in LIMIT_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    df = df[list(LIMIT_COLUMNS)].apply(lambda s: s.str.strip())
    rows = range(2, len(df) + 2)
    value = pd.to_numeric(df["limit_value"], errors="coerce")
    for i, row in zip(range(len(df)), rows):
        r = df.iloc[i]
        for col in ("limit_set", "standard", "pollutant_code", "unit"):
            if not r[col]:
                report.error("is empty: every limit names its set, standard, pollutant code and unit", file=name,
                             row=row, field=col)
        if r["limit_value"] and not (pd.notna(value.iat[i]) and value.iat[i] > 0):
            report.error(f"{r['limit_value']!r} is not a positive number: give the limit in `unit`, or leave it "
                         "empty when it is not known", file=name, row=row, field="limit_value")
        if r["verified"].lower() not in ("yes", "no"):
            report.error(f"{r['verified']!r}: write `yes` only when the value was checked against the official "
                         "text, else `no`", file=name, row=row, field="verified")
        elif r["verified"].lower() == "yes" and not r["source"]:
            report.error("a verified limit names where it was checked (`source`)", file=name, row=row,
                         field="source")
        for col, allowed, default in (("averaging", AVERAGINGS, "hour"), ("basis", BASES, "measured"),
                                      ("applies_to", APPLIES, "stack")):
            v = r[col] or default
            if v not in allowed:
                report.error(f"{v!r}: use {', '.join(allowed)}", file=name, row=row, field=col)
    df["limit_value"] = value
    df["verified"] = df["verified"].str.lower() == "yes"
    df["averaging"] = df["averaging"].replace("", "hour")
    df["basis"] = df["basis"].replace("", "measured")
    df["applies_to"] = df["applies_to"].replace("", "stack")
    df["pollutant_code"] = df["pollutant_code"].map(lambda c: _CODE_2005.get(c, c))
    df["_file"] = name
    df["_row"] = list(rows)
    dup = df.duplicated(["limit_set", "pollutant_code", "averaging"], keep="first")
    for i in dup[dup].index:
        report.error(f"limit set {df.at[i, 'limit_set']!r} gives {df.at[i, 'pollutant_code']} twice: keep one row",
                     file=name, row=int(df.at[i, "_row"]), field="pollutant_code")
    return df


def load_limits(area_limits: str | Path | None = None, *, shipped: str | Path | None = SHIPPED_LIMITS,
                strict: bool = False, raise_on_error: bool = True) -> Limits:
    """The shipped limits file, then ``area_limits`` (an area's ``limits.csv``) whose limit sets replace
    the shipped sets of the same id. Rows without a value are kept in ``all_rows`` only."""
    report = Report()
    frames, files = [], []
    for p in (shipped, area_limits):
        if p is None:
            continue
        p = Path(p)
        if not p.is_file():
            raise InputFileNotFoundError(f"`{p}`: no such limits file")
        frames.append(_read(p, report))
        files.append(str(p))
    if len(frames) == 2 and len(frames[1]):
        frames[0] = frames[0][~frames[0]["limit_set"].isin(set(frames[1]["limit_set"]))]
    all_rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(LIMIT_COLUMNS))
    if raise_on_error:
        report.raise_if_errors("emission limits", strict=strict)
    table = all_rows[all_rows["limit_value"].notna()].reset_index(drop=True) if len(all_rows) else all_rows
    log.info("limits: %d limit sets, %d values (%d verified against the official text)",
             all_rows["limit_set"].nunique() if len(all_rows) else 0, len(table),
             int(table["verified"].sum()) if len(table) else 0)
    return Limits(table, all_rows, report, files)


def limits_for_area(area, *, raise_on_error: bool = True) -> Limits:
    """The shipped limits plus the area folder's ``limits.csv`` when it has one (``area``: an
    :class:`~ecopatrol.core.area.Area` or its folder; ``None``: the shipped file alone)."""
    if area is None:
        return load_limits(None, raise_on_error=raise_on_error)
    folder = Path(area) if isinstance(area, str | Path) else Path(area.path)
    p = folder / AREA_LIMITS_FILE
    return load_limits(p if p.is_file() else None, raise_on_error=raise_on_error)
