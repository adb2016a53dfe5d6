"""Online monitors in the registry: which data logger (MN) belongs to which enterprise and outlet.

An area folder may hold ``monitors.csv`` beside ``registry.csv`` (UTF-8, one row per monitor):

===================  ==============================================================================
``mn``               the data logger's MN, exactly as it sends it (required)
``enterprise_id``    the enterprise in the registry (required)
``kind``             ``stack`` (a CEMS / VOC analyser on an outlet), ``plant_boundary`` (an in-plant
                     fugitive monitor), ``production_meter`` or ``treatment_meter`` (electricity
                     meters on a production line / on the pollution-control equipment) (required)
``outlet_id``        the outlet (``source_id`` of ``sources.csv``) a stack monitor measures
``codes``            stacks: the pollutant codes it reports that belong to this outlet, ``;``
                     separated (2017 or 2005 codes; empty = every code the MN sends); meters: the
                     meter's item code in the packets (``100000`` in ``100000-Pt``; empty = all)
``power_suffix``     meters: the suffix of the active power in kW (default ``Pt``)
``limits``           stacks: the limit sets (``limit_set`` of the limits file) that apply, ``;``
``rated_kw``         meters: the equipment's rated power (optional; else taken from the data)
``note``             free text
===================  ==============================================================================

One MN may appear on several rows (a logger serving two outlets, or a meter box with a production
and a treatment meter), each with its own ``codes``; the same MN and code may not belong to two rows.
:func:`load_monitors` validates every row against the registry and collects every problem (file,
row, field, and the fix), as the registry check does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputFileNotFoundError, Report

log = logging.getLogger(__name__)

MONITORS_FILE = "monitors.csv"
MONITOR_KINDS = ("stack", "plant_boundary", "production_meter", "treatment_meter")
METER_KINDS = ("production_meter", "treatment_meter")
MONITOR_COLUMNS = ("mn", "enterprise_id", "kind", "outlet_id", "codes", "power_suffix", "limits", "rated_kw",
                   "note")
REQUIRED = ("mn", "enterprise_id", "kind")
ALIASES = {"数采仪编号": "mn", "设备编号": "mn", "统一社会信用代码": "enterprise_id", "类型": "kind",
           "排放口编号": "outlet_id", "监测因子": "codes", "标准": "limits", "备注": "note"}
DEFAULT_POWER_SUFFIX = "Pt"
_CODE_2005 = {"01": "a34013", "02": "a21026", "03": "a21002", "04": "a21005", "25": "a24087", "17": "a25003",
              "18": "a25005", "B02": "a00000", "S01": "a19001", "S02": "a01011", "S03": "a01012", "S05": "a01014"}


def split_list(text) -> list[str]:
    """``a;b, c`` → ``["a", "b", "c"]`` (``;``, ``,`` or ``、`` separated; blanks dropped)."""
    s = "" if text is None else str(text)
    for sep in (",", "、", "，"):
        s = s.replace(sep, ";")
    return [t.strip() for t in s.split(";") if t.strip()]


@dataclass
class Monitors:
    """The monitors of an area (``table``: one row per monitor, the columns of :data:`MONITOR_COLUMNS`
    with ``codes`` and ``limits`` as tuples, ``rated_kw`` float, ``_row`` the file row) and the report."""

    table: pd.DataFrame
    report: Report = field(default_factory=Report)
    path: str | None = None

    @property
    def mns(self) -> set[str]:
        return set(self.table["mn"])

    def summary(self) -> dict:
        t = self.table
        return {"monitors": int(len(t)), "data_loggers": int(t["mn"].nunique()) if len(t) else 0,
                "enterprises": int(t["enterprise_id"].nunique()) if len(t) else 0,
                "by_kind": {k: int(v) for k, v in t["kind"].value_counts().items()} if len(t) else {},
                "errors": len(self.report.errors), "warnings": len(self.report.warnings)}


def empty_monitors() -> Monitors:
    t = pd.DataFrame({c: pd.Series(dtype=object) for c in MONITOR_COLUMNS})
    t["rated_kw"] = t["rated_kw"].astype(float)
    t["_row"] = pd.Series(dtype="int64")
    return Monitors(t)


def load_monitors(path: str | Path, *, enterprises=None, sources=None, limit_sets: set[str] | None = None,
                  strict: bool = False, raise_on_error: bool = True) -> Monitors:
    """Read and validate ``monitors.csv``.

    ``enterprises`` / ``sources`` (the registry's frames) check that each ``enterprise_id`` and
    ``outlet_id`` exists (an outlet of another enterprise is an error); ``limit_sets`` (the ids of
    the limits file) that each named limit set exists. With ``raise_on_error`` every error is
    raised together (:class:`~ecopatrol.core.errors.ValidationError`); else they are in ``report``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"`{path}`: no such monitors file")
    name = path.name
    report = Report()
    df = _read_table(path, report)
    if df is None or report.errors:
        if raise_on_error:
            report.raise_if_errors(f"monitors `{name}`", strict=strict)
        m = empty_monitors()
        m.report, m.path = report, str(path)
        return m
    for col in MONITOR_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    df = df[list(MONITOR_COLUMNS)].apply(lambda s: s.astype(str).str.strip())
    known_e = set(enterprises["enterprise_id"].astype(str)) if enterprises is not None else None
    outlet_of = (dict(zip(sources["source_id"].astype(str), sources["enterprise_id"].astype(str)))
                 if sources is not None and len(sources) else {})
    rows, seen = [], {}
    for i in range(len(df)):
        r, row = df.iloc[i], i + 2
        mn, eid = r["mn"], r["enterprise_id"]
        kind, codes, limits, rated = _check_row(r, name, row, report, known_e, outlet_of, sources, limit_sets)
        _check_assigned(mn, codes, seen, name, row, report)
        rows.append({"mn": mn, "enterprise_id": eid, "kind": kind, "outlet_id": r["outlet_id"], "codes": codes,
                     "power_suffix": (r["power_suffix"] or DEFAULT_POWER_SUFFIX) if kind in METER_KINDS else "",
                     "limits": limits, "rated_kw": rated, "note": r["note"], "_row": row})
    if raise_on_error:
        report.raise_if_errors(f"monitors `{name}`", strict=strict)
    table = pd.DataFrame(rows, columns=[*MONITOR_COLUMNS, "_row"]) if rows else empty_monitors().table
    log.info("monitors %s: %d monitors on %d data loggers, %d errors, %d warnings", name, len(table),
             table["mn"].nunique() if len(table) else 0, len(report.errors), len(report.warnings))
    return Monitors(table, report, str(path))


def _read_table(path: Path, report: Report) -> pd.DataFrame | None:
    """``monitors.csv`` as text columns under their canonical names; ``None`` when unreadable, and
    every missing required column reported."""
    name = path.name
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:
        report.error(f"cannot be read as CSV: {exc}: save it as UTF-8 CSV", file=name)
        return None
    df.columns = [ALIASES.get(str(c).strip(), str(c).strip().lower()) for c in df.columns]
    for col in REQUIRED:
        if col not in df.columns:
            report.error(f"required column `{col}` is missing (columns: {', '.join(MONITOR_COLUMNS)})",
                         file=name, field=col)
    return df


def _check_row(r, name: str, row: int, report: Report, known_e, outlet_of: dict, sources, limit_sets):
    """One row's fields against the registry and the limit sets; returns ``(kind, codes, limits,
    rated_kw)`` as kept (a meter's limits are ignored, with a warning)."""
    mn, eid, kind = r["mn"], r["enterprise_id"], r["kind"].lower()
    if not mn:
        report.error("is empty: give the data logger's MN as it sends it (MN= in its packets)", file=name,
                     row=row, field="mn")
    if not eid:
        report.error("is empty: give the enterprise (its enterprise_id in the registry)", file=name, row=row,
                     field="enterprise_id")
    elif known_e is not None and eid not in known_e:
        report.error(f"enterprise {eid!r} is not in the registry: fix the id or add the enterprise",
                     file=name, row=row, field="enterprise_id")
    if kind not in MONITOR_KINDS:
        report.error(f"{r['kind']!r}: use one of {', '.join(MONITOR_KINDS)}", file=name, row=row, field="kind")
    codes = tuple(_CODE_2005.get(c, c) for c in split_list(r["codes"]))
    limits = tuple(split_list(r["limits"]))
    if kind in METER_KINDS:
        if r["outlet_id"]:
            report.warning("a meter has no outlet: ignored", file=name, row=row, field="outlet_id")
        if limits:
            report.warning("emission limits apply to stacks, not to meters: ignored", file=name, row=row,
                           field="limits")
            limits = ()
    else:
        if r["power_suffix"] or r["rated_kw"]:
            report.warning("power_suffix and rated_kw are for meters: ignored", file=name, row=row,
                           field="power_suffix" if r["power_suffix"] else "rated_kw")
        if r["outlet_id"] and sources is not None:
            owner = outlet_of.get(r["outlet_id"])
            if owner is None:
                report.warning(f"outlet {r['outlet_id']!r} is not in sources.csv: the alarms name it as given",
                               file=name, row=row, field="outlet_id")
            elif eid and owner != eid:
                report.error(f"outlet {r['outlet_id']!r} belongs to enterprise {owner!r}, not {eid!r}: fix "
                             "one of them", file=name, row=row, field="outlet_id")
        if limit_sets is not None:
            for ls in limits:
                if ls not in limit_sets:
                    report.error(f"limit set {ls!r} is in no limits file: use one of "
                                 f"{', '.join(sorted(limit_sets)) or '(none)'} or add it to the area's limits.csv",
                                 file=name, row=row, field="limits")
    rated = float("nan")
    if r["rated_kw"]:
        try:
            rated = float(r["rated_kw"])
            if not rated > 0:
                raise ValueError
        except ValueError:
            report.error(f"{r['rated_kw']!r} is not a positive power in kW", file=name, row=row, field="rated_kw")
            rated = float("nan")
    return kind, codes, limits, rated


def _check_assigned(mn: str, codes: tuple, seen: dict, name: str, row: int, report: Report) -> None:
    """Each (MN, code) — or a whole MN (``*``) — belongs to one row; ``seen`` maps them to their row."""
    for c in codes or ("*",):
        key = (mn, c)
        if key in seen or (c == "*" and any(k[0] == mn for k in seen)) or (mn, "*") in seen:
            what = f"MN {mn!r}" + ("" if c == "*" else f" code {c}")
            first = seen.get(key) or seen.get((mn, "*")) or next(v for k, v in seen.items() if k[0] == mn)
            report.error(f"{what} is already assigned in row {first}: one data logger item belongs to one "
                         "monitor (give each row its own `codes`)", file=name, row=row, field="codes")
            break
        seen[key] = row


def monitors_for_area(area, *, limit_sets: set[str] | None = None, raise_on_error: bool = True) -> Monitors:
    """The area folder's ``monitors.csv`` checked against its registry, or no monitors when it has none."""
    p = Path(getattr(area, "path", "")) / MONITORS_FILE
    if not p.is_file():
        return empty_monitors()
    return load_monitors(p, enterprises=area.enterprises, sources=area.sources, limit_sets=limit_sets,
                         raise_on_error=raise_on_error)
