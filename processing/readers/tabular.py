r"""Analyser CSV exports and any CSV described by a small mapping file (TOML).

The analyser CSV (CONTRACTS.md) has a header such as
``Time,TVOC(ug/m3),Benzene(ppb),Toluene(ppb),Xylene(ppb),Status``; times are the
instrument's local time (Asia/Shanghai unless told) on its own clock. Headers of the form
``Name(unit)`` become ``name_<unit>`` columns (``tvoc_ugm3``, ``benzene_ppb``).

A mapping file describes any other CSV (README.md, "Mappings: reading any CSV", has worked
examples; ``ecopatrol mapping init FILE`` drafts one from a file's header)::

    [time]
    column = "Timestamp"
    format = "%d/%m/%Y %H:%M:%S"     # strftime format, "iso", "unix" or "unix_ms"
    timezone = "Asia/Shanghai"       # zone of naive times; "UTC" when already UTC
    date = "2026-05-12"              # only for times of day (format "%H:%M:%S"): the day of
                                     # the first row, or "from-filename"; midnight rolls over

    [position]                      # optional: the CSV is also a track
    lon = "Lon"
    lat = "Lat"
    alt_amsl_m = "Alt"              # optional
    crs = "wgs84"                   # or "gcj02" / "bd09": converted to WGS-84 once, here
    platform_kind = "van"           # what carried the inlet: drone, van or fixed (georef
                                    # cannot tell it from a CSV's format)

    [[columns]]
    source = "NO2"                  # header in the CSV
    name = "no2"                    # species name in the samples
    unit = "ug/m3"                  # unit in the file: ug/m3, mg/m3, ppb, ppm
    to = "ppb"                      # optional conversion (25 °C, 101.325 kPa)
    molar_mass_g_mol = 46.0055      # optional: needed for a mass ↔ volume conversion of a
                                    # species not in core.profiles.MOLAR_MASS_G_MOL

    [instrument]                    # optional declared values
    lag_s = 6.0                     # inlet lag, s
    clock_offset_s = 0.0            # instrument clock − UTC, s
    response_s = 2.0                # first-order response time constant (T90 / 2.3), s
    delimiter = ","                 # or ";", "\t", "|", "whitespace" (aligned columns)

Times of day without a date (``HH:MM:SS``, fractions allowed) need ``[time] date``: the date
of the first row, or ``"from-filename"`` (the first YYYYMMDD, YYYY-MM-DD or YYYY_MM_DD in the
file name). A time more than 12 h earlier than the one before is the next day (midnight).

µg/m³ ↔ ppb conversions use the molar volume at 25 °C and 101.325 kPa (24.465 L/mol, the
reference state for ambient air in China since 2018): ``ppb = µg/m³ × 24.465 / M``, with M the
molar mass in g/mol; ``mg/m³ = 1000 µg/m³`` and ``ppm = 1000 ppb``. ``nmhc`` is taken as carbon
(M = 12.011, as HJ 604 and HJ 38 report it); mixtures such as TVOC have no molar mass and are
converted only when the mapping gives one (a PID's calibration-gas equivalent).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.crs import normalise_crs_name, to_wgs84_per_row
from ecopatrol.core.profiles import MOLAR_MASS_G_MOL, MOLAR_VOLUME_25C_L_MOL
from ecopatrol.core.errors import FormatError, InputError
from .._time import DEFAULT_LOCAL_TZ, localize, parse_times
from ._common import WIND_COLUMNS, ReadResult, finalize, first_reason, read_csv_accounted, split_bad

_UNIT_ALIASES = {
    "ug/m3": "ugm3", "µg/m3": "ugm3", "μg/m3": "ugm3", "µg/m³": "ugm3", "μg/m³": "ugm3", "ug/m³": "ugm3",
    "ug/m^3": "ugm3", "µg/m^3": "ugm3", "μg/m^3": "ugm3",
    "ugm3": "ugm3", "mg/m3": "mgm3", "mg/m³": "mgm3", "mg/m^3": "mgm3", "mgm3": "mgm3", "ppb": "ppb", "ppbv": "ppb",
    "ppm": "ppm", "ppmv": "ppm", "ppt": "ppt",
}
UNIT_TEXT = {"ugm3": "ug/m3", "mgm3": "mg/m3", "ppb": "ppb", "ppm": "ppm", "ppt": "ppt"}
# Species measured as a sum of many compounds: no molar mass, no mass ↔ volume conversion.
MIXTURES = ("tvoc", "voc", "vocs", "nmvoc", "tnmoc")
_TO_UGM3 = {"ugm3": 1.0, "mgm3": 1000.0}
_TO_PPB = {"ppt": 1e-3, "ppb": 1.0, "ppm": 1000.0}
ANALYSER_TIME_COLUMNS = ("time", "datetime", "timestamp", "date_time", "时间")
_HEADER_UNIT = re.compile(r"^\s*([^()（）]+?)\s*[（(]\s*([^()（）]+?)\s*[)）]\s*$")


def unit_key(unit: str) -> str:
    k = _UNIT_ALIASES.get(str(unit).strip().lower().replace(" ", ""))
    if k is None:
        raise InputError(f"unknown concentration unit {unit!r}: use ug/m3, mg/m3, ppb or ppm")
    return k


def needs_molar_mass(src: str, dst: str | None) -> bool:
    """Whether converting ``src`` to ``dst`` crosses mass (µg/m³, mg/m³) and volume (ppb, ppm) units."""
    if not dst:
        return False
    a, b = unit_key(src), unit_key(dst)
    return (a in _TO_UGM3) != (b in _TO_UGM3)


def molar_mass_problem(species: str) -> str:
    """Why ``species`` cannot be converted between µg/m³ and ppb, and how to fix it."""
    if species.lower() in MIXTURES:
        return (f"`{species}` is a mixture of compounds with no single molar mass: keep the file's unit (remove "
                "`to`), or, if the instrument reports it as an equivalent of its calibration gas (a PID's "
                "isobutylene, 56.106 g/mol), give that gas's `molar_mass_g_mol = …` in the [[columns]] entry")
    known = ", ".join(sorted(MOLAR_MASS_G_MOL))
    return (f"the molar mass of `{species}` is unknown (known: {known}): give `molar_mass_g_mol = …` in its "
            "[[columns]] entry, or keep the file's unit (remove `to`)")


def convert_units(values, species: str, src: str, dst: str, *, molar_mass: float | None = None):
    """Convert concentrations between ug/m3, mg/m3, ppb, ppm, ppt.

    Mass ↔ volume at 25 °C and 101.325 kPa: ``ppb = µg/m³ × 24.465 / M``; ``M`` is ``molar_mass``
    (g/mol) when given, else ``MOLAR_MASS_G_MOL[species]`` (``nmhc`` as carbon, 12.011).
    """
    src, dst = unit_key(src), unit_key(dst)
    v = np.asarray(values, dtype=float)
    if src in _TO_UGM3 and dst in _TO_UGM3:
        return v * _TO_UGM3[src] / _TO_UGM3[dst]
    if src in _TO_PPB and dst in _TO_PPB:
        return v * _TO_PPB[src] / _TO_PPB[dst]
    m = molar_mass if molar_mass is not None else MOLAR_MASS_G_MOL.get(species.lower())
    if m is None:
        raise InputError(f"cannot convert `{species}` from {UNIT_TEXT[src]} to {UNIT_TEXT[dst]}: "
                         f"{molar_mass_problem(species)}")
    if src in _TO_UGM3:  # mass → volume
        ppb = v * _TO_UGM3[src] * MOLAR_VOLUME_25C_L_MOL / m
        return ppb / _TO_PPB[dst]
    ugm3 = v * _TO_PPB[src] * m / MOLAR_VOLUME_25C_L_MOL
    return ugm3 / _TO_UGM3[dst]


def snake(name: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name.strip()).strip("_").lower()
    return s or "value"


def header_species(col: str) -> tuple[str, str] | None:
    """``'TVOC(ug/m3)'`` → ``('tvoc', 'ugm3')``; None when the header carries no known unit."""
    m = _HEADER_UNIT.match(col)
    if not m:
        return None
    try:
        return snake(m.group(1)), unit_key(m.group(2))
    except InputError:
        return None


def looks_like_analyser(header: list[str]) -> bool:
    h = [c.strip() for c in header]
    return bool(h) and h[0].lower() in ANALYSER_TIME_COLUMNS and any(header_species(c) for c in h[1:])


_KEYS = {
    "time": ("column", "format", "timezone", "date"),
    "position": ("lon", "lat", "alt_amsl_m", "crs", "platform_kind"),
    "columns": ("source", "name", "unit", "to", "molar_mass_g_mol"),
    "instrument": ("lag_s", "clock_offset_s", "response_s", "delimiter"),
}
FROM_FILENAME = "from-filename"
WHITESPACE = "whitespace"


def _check_keys(src: str, section: str, table, where: str) -> None:
    if not isinstance(table, dict):
        raise InputError(f"`{src}`: {where} must be a table of `key = value` lines")
    unknown = [k for k in table if k not in _KEYS[section]]
    if unknown:
        raise InputError(f"`{src}`: unknown key(s) {unknown} in {where}: the keys are "
                         f"{', '.join(_KEYS[section])} (README.md, \"Mappings: reading any CSV\")")


def _mapping_date(src: str, value) -> str | None:
    """``[time] date`` as ``YYYY-MM-DD`` or ``from-filename`` (a TOML date ``2026-05-12`` works too)."""
    if value is None:
        return None
    text = value.isoformat() if hasattr(value, "isoformat") else str(value).strip()
    if text.lower() == FROM_FILENAME:
        return FROM_FILENAME
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) or pd.isna(pd.to_datetime(text, format="%Y-%m-%d",
                                                                               errors="coerce")):
        raise InputError(f"`{src}`: [time] date = {value!r} is not a date: give the day the file starts as "
                         f"date = \"YYYY-MM-DD\", or date = \"{FROM_FILENAME}\" to take it from the file name")
    return text


def load_mapping(mapping) -> dict:
    """A mapping dict, or the path of a TOML mapping file, validated (every problem names its key)."""
    if mapping is None:
        return {}
    if isinstance(mapping, dict):
        m = mapping
        src = "mapping"
    else:
        p = Path(mapping)
        try:
            m = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(f"mapping file `{p}` does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"`{p.name}`: not valid TOML ({exc})") from exc
        src = p.name
    unknown = [k for k in m if k not in _KEYS]
    if unknown:
        raise InputError(f"`{src}`: unknown section(s) {unknown}: the sections are [time], [position], "
                         "[[columns]] and [instrument]")
    if "time" not in m or not isinstance(m["time"], dict) or "column" not in m["time"]:
        raise InputError(f"`{src}`: [time] with `column` is required (and `format`, `timezone`)")
    _check_keys(src, "time", m["time"], "[time]")
    m["time"] = {**m["time"], "date": _mapping_date(src, m["time"].get("date"))}
    if m["time"]["date"] is None:
        del m["time"]["date"]
    if "position" in m:
        _check_keys(src, "position", m["position"], "[position]")
        if not {"lon", "lat"} <= set(m["position"]):
            raise InputError(f"`{src}`: [position] needs both `lon` and `lat` (the CSV's column names)")
    if "instrument" in m:
        _check_keys(src, "instrument", m["instrument"], "[instrument]")
    if not isinstance(m.get("columns", []), list):
        raise InputError(f"`{src}`: columns must be [[columns]] entries (one per species)")
    for i, c in enumerate(m.get("columns", [])):
        _check_keys(src, "columns", c, f"[[columns]] entry {i + 1}")
        if "source" not in c or "unit" not in c:
            raise InputError(f"`{src}`: [[columns]] entry {i + 1} needs `source` and `unit`")
        try:
            unit_key(c["unit"])
            if c.get("to"):
                unit_key(c["to"])
        except InputError as exc:
            raise InputError(f"`{src}`: [[columns]] entry {i + 1} (`{c['source']}`): {exc}") from exc
        mm = c.get("molar_mass_g_mol")
        if mm is not None and (isinstance(mm, bool) or not isinstance(mm, int | float) or not 0 < mm < 10_000):
            raise InputError(f"`{src}`: [[columns]] entry {i + 1} (`{c['source']}`): molar_mass_g_mol = {mm!r} "
                             "must be a positive number of g/mol, such as 44.009")
    return m


def _read_csv(path: Path, delimiter: str | None = None) -> pd.DataFrame:
    """The CSV as text cells; rows with more fields than the header are kept and marked in
    ``raw.attrs["extra_fields"]`` (quarantined by :func:`_build`, never skipped silently)."""
    sep = r"\s+" if delimiter and delimiter.strip().lower() in (WHITESPACE, r"\s+") else delimiter
    raw, extra = read_csv_accounted(path, sep=sep or None)
    if raw.empty:
        raise FormatError(f"`{path.name}`: CSV has a header but no data rows")
    raw.attrs["extra_fields"] = extra
    raw.attrs["n_header"] = len(raw.columns)
    return raw


def _numeric(raw: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """Values and a mask of cells that are non-empty but not numbers."""
    s = raw[col].astype(str).str.strip()
    v = pd.to_numeric(s, errors="coerce")
    bad = v.isna() & (s != "") & ~s.str.lower().isin(["nan", "na", "n/a", "null", "-", "--"])
    return v.to_numpy(float), bad.to_numpy()


def read_analyser_csv(path: Path, *, tz: str | None = None) -> ReadResult:
    """Read an analyser export (``Time,TVOC(ug/m3),…,Status``) in local time ``tz`` (Asia/Shanghai)."""
    raw = _read_csv(path)
    tcol = raw.columns[0]
    species = {c: header_species(c) for c in raw.columns[1:]}
    species = {c: v for c, v in species.items() if v}
    return _build(path, raw, time_col=tcol, fmt=None, tz=tz or DEFAULT_LOCAL_TZ,
                  cols=[(c, name, unit, None, None) for c, (name, unit) in species.items()],
                  position=None, fmt_name="analyser-csv",
                  extra={c: snake(c) for c in raw.columns[1:] if c not in species})


def read_mapped_csv(path: Path, mapping, *, tz: str | None = None) -> ReadResult:
    """Read any CSV through a mapping (dict or TOML path): time column, format, zone, units."""
    m = load_mapping(mapping)
    inst = m.get("instrument", {})
    raw = _read_csv(path, inst.get("delimiter"))
    tm = m["time"]
    position = {k: v for k, v in m["position"].items() if k != "platform_kind"} if "position" in m else None
    missing = [c for c in [tm["column"], *[c["source"] for c in m.get("columns", [])],
                           *[v for k, v in (position or {}).items() if k != "crs"]]
               if c not in raw.columns]
    if missing:
        raise FormatError(f"`{path.name}`: columns {missing} named in the mapping are not in the CSV header "
                          f"{list(raw.columns)}: fix the mapping's `source`/`column` names")
    cols = [(c["source"], snake(c.get("name", c["source"])), unit_key(c["unit"]),
             unit_key(c["to"]) if c.get("to") else None, c.get("molar_mass_g_mol")) for c in m.get("columns", [])]
    fmt = tm.get("format")
    fmt = None if fmt in (None, "iso", "ISO8601") else fmt
    used = {tm["column"], *[c[0] for c in cols], *(position or {}).values()}
    res = _build(path, raw, time_col=tm["column"], fmt=fmt, tz=tz or tm.get("timezone", "UTC"), cols=cols,
                 position=position, fmt_name="mapped-csv", date=tm.get("date"), mapped=True,
                 extra={c: snake(c) for c in raw.columns if c not in used})
    res.meta.update({k: inst[k] for k in ("lag_s", "clock_offset_s", "response_s") if k in inst})
    if "platform_kind" in m.get("position", {}):
        res.meta["platform_kind"] = m["position"]["platform_kind"]
    return res


# ------------------------------------------------------------------ times of day without a date
TIME_OF_DAY = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*$")
_TOD_FORMATS = ("%H:%M:%S", "%H:%M:%S.%f", "%H:%M", "%H:%M:%S,%f")
# strftime directives that carry (part of) a date; a format with none of them is a time of day
_DATE_DIRECTIVES = set("YyGmdjbBhcxDFe")
_FILENAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})([-_]?)(\d{2})\2(\d{2})(?!\d)")
ROLLOVER_S = 12 * 3600.0  # a time this much earlier than the one before is the next day


def has_date_directive(fmt: str) -> bool:
    return bool(set(re.findall(r"%[-#_^0]?([A-Za-z])", fmt.replace("%%", ""))) & _DATE_DIRECTIVES)


def is_time_of_day(text: pd.Series, fmt: str | None) -> bool:
    """Whether a time column holds times of day only: a strftime ``fmt`` without a date, or (ISO / no
    format) most non-empty cells shaped ``HH:MM[:SS[.f]]``."""
    if fmt in ("unix", "unix_s", "epoch", "unix_ms", "epoch_ms"):
        return False
    if fmt is not None:
        return not has_date_directive(fmt)
    s = text.astype(str).str.strip()
    s = s[s != ""]
    return len(s) > 0 and s.str.match(TIME_OF_DAY.pattern).mean() > 0.5


def date_from_filename(name: str) -> str | None:
    """The first valid YYYYMMDD, YYYY-MM-DD or YYYY_MM_DD in a file name, as ``YYYY-MM-DD``."""
    for m in _FILENAME_DATE.finditer(name):
        text = f"{m.group(1)}-{m.group(3)}-{m.group(4)}"
        if not pd.isna(pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")):
            return text
    return None


def seconds_of_day(text: pd.Series, fmt: str | None) -> np.ndarray:
    """Seconds since midnight of each cell (NaN where unparseable or not a valid time of day)."""
    s = text.astype(str)
    if fmt is None or fmt in _TOD_FORMATS:
        p = s.str.extract(TIME_OF_DAY)
        h, mi, sec = (pd.to_numeric(p[i], errors="coerce").to_numpy(float) for i in range(3))
        sec = np.where(p[2].isna().to_numpy(), 0.0, sec)
        frac = pd.to_numeric("0." + p[3].fillna("0"), errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            ok = (h < 24) & (mi < 60) & (sec < 60)
        return np.where(ok, h * 3600 + mi * 60 + sec + frac, np.nan)
    dt = pd.to_datetime(s.str.strip(), format=fmt, errors="coerce")
    return (dt - dt.dt.normalize()).dt.total_seconds().to_numpy(float)


def times_of_day_to_utc(sec: np.ndarray, date: str, tz: str | None) -> pd.Series:
    """Seconds of day in file order on ``date`` (the day of the first row) → UTC, across midnights.

    A time more than :data:`ROLLOVER_S` earlier than the previous valid one starts the next day,
    unless the very next time jumps forward as far again (one corrupt row, not a midnight: that row
    stays on its day and is quarantined as going backwards).
    """
    sec = np.asarray(sec, float)
    ok = np.flatnonzero(np.isfinite(sec))
    day = np.zeros(len(sec))
    if len(ok) > 1:
        step = np.diff(sec[ok])
        roll = step < -ROLLOVER_S
        roll[:-1] &= ~(step[1:] > ROLLOVER_S)
        day[ok[1:]] = np.cumsum(roll)
    base = pd.Timestamp(date).value
    ns = base + np.round((day * 86400.0 + np.where(np.isfinite(sec), sec, 0.0)) * 1e9).astype("int64")
    naive = ns.astype("datetime64[ns]")
    naive[~np.isfinite(sec)] = np.datetime64("NaT")
    return localize(pd.Series(naive), tz)


def _parse_time_column(path: Path, raw: pd.DataFrame, time_col: str, fmt: str | None, tz: str | None,
                       date: str | None, mapped: bool) -> tuple[pd.Series, str]:
    """UTC times of ``raw[time_col]`` and the format a bad cell's reason names."""
    text = raw[time_col]
    if not is_time_of_day(text, fmt):
        if date is not None:
            raise InputError(f"`{path.name}`: the mapping gives [time] date = \"{date}\" but the time column "
                             f"`{time_col}` already holds dates (format {fmt or 'iso'}): remove `date`, which "
                             "is only for times of day")
        return parse_times(text, fmt=fmt, tz=tz), fmt or "YYYY-MM-DD HH:MM:SS"
    cells = text.astype(str).str.strip()
    example = next((c for c in cells if c), "")
    if date is None:
        fix = ("add `date = \"YYYY-MM-DD\"` (the day of the first row) or `date = \"from-filename\"` under "
               "[time] in the mapping")
        if not mapped:
            fix = (f"read it through a mapping with [time] column = \"{time_col}\", format = \"%H:%M:%S\" and "
                   f"`date = \"YYYY-MM-DD\"` or `date = \"from-filename\"` (`ecopatrol mapping init {path.name}` "
                   "drafts one) and pass it with --mapping")
        raise FormatError(f"`{path.name}`: the time column `{time_col}` holds times of day only (such as "
                          f"{example!r}), no date: {fix}")
    if date == FROM_FILENAME:
        date = date_from_filename(path.name)
        if date is None:
            raise FormatError(f"`{path.name}`: the mapping says [time] date = \"{FROM_FILENAME}\" but the file "
                              "name has no date (YYYYMMDD, YYYY-MM-DD or YYYY_MM_DD): rename the file or give "
                              "date = \"YYYY-MM-DD\"")
    return times_of_day_to_utc(seconds_of_day(text, fmt), date, tz), f"a time of day {fmt or 'HH:MM:SS'}"


def _build(path, raw, *, time_col, fmt, tz, cols, position, fmt_name, extra, date=None,
           mapped=False) -> ReadResult:
    n = len(raw)
    t, expected = _parse_time_column(Path(path), raw, time_col, fmt, tz, date, mapped)
    frame = pd.DataFrame({"time_utc": t.to_numpy()})
    extra_fields = raw.attrs.get("extra_fields", np.zeros(n, dtype="int64"))
    conds = [(extra_fields > 0, f"wrong number of fields (more than the {raw.attrs.get('n_header', len(raw.columns))} "
                                "of the header): a corrupt or merged line"),
             (t.isna().to_numpy(), f"field `{time_col}`: unparseable time (expected {expected})")]
    all_nan = np.ones(n, dtype=bool)
    for src, name, unit, to, molar_mass in cols:
        v, bad = _numeric(raw, src)
        conds.append((bad, f"field `{src}`: not a number"))
        if to and to != unit:
            if needs_molar_mass(unit, to) and molar_mass is None and name.lower() not in MOLAR_MASS_G_MOL:
                raise InputError(f"`{Path(path).name}`, column `{src}`: cannot convert species `{name}` from "
                                 f"{UNIT_TEXT[unit]} to {UNIT_TEXT[to]}: {molar_mass_problem(name)}")
            v = convert_units(v, name, unit, to, molar_mass=molar_mass)
            unit = to
        frame[f"{name}_{unit}"] = v
        all_nan &= ~np.isfinite(v)
    if cols:
        conds.append((all_nan, "no concentration value in the row"))
    kind = "sensor"
    if position:
        lon, b1 = _numeric(raw, position["lon"])
        lat, b2 = _numeric(raw, position["lat"])
        crs = normalise_crs_name(position.get("crs", "wgs84"))
        lon, lat = to_wgs84_per_row(lon, lat, np.full(n, crs, dtype=object))
        frame["lon"], frame["lat"] = lon, lat
        conds.append((b1 | b2, "field `lon`/`lat`: not a number"))
        if "alt_amsl_m" in position:
            frame["alt_amsl_m"] = _numeric(raw, position["alt_amsl_m"])[0]
        frame["gps_fix"] = np.where(np.isfinite(lon) & np.isfinite(lat), 3.0, 0.0)
        kind = "track+sensor"
    for src, name in extra.items():
        if name == "status":
            frame["status"] = raw[src].astype(str).str.strip().to_numpy()
        elif name in WIND_COLUMNS:  # an anemometer logged beside the analyser: `Wind_From(deg)`, `Wind_Speed(m/s)`
            frame[name] = _numeric(raw, src)[0]
    reason = first_reason(*conds, n=n)
    kept, q = split_bad(frame, reason, path, raw, np.arange(1, n + 1))
    return ReadResult(path, fmt_name, kind, finalize(kept), q, n,
                      {"time_source": f"instrument clock, local zone {tz}", "timezone": tz})
