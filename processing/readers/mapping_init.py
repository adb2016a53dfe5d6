"""Draft a TOML mapping (see :mod:`.tabular`) from a CSV's header and first rows.

``draft_mapping(path)`` detects the delimiter (``,`` ``;`` tab ``|`` or aligned whitespace),
the time column and its format (ISO 8601, Unix seconds or milliseconds, common strftime
layouts, times of day only — which get a ``date`` line), the lon/lat columns (by name, English
or Chinese 经度/纬度, checked against plausible ranges), an altitude column, and species columns
whose header carries a unit (``CO2(ppm)``, ``NO2 [ug/m3]``, ``TVOC_ppb``, ``甲烷(ppm)``). Every
other column is listed as a comment. When the header is clear the draft reads the file as it
is; what it could not decide is marked ``TODO`` (a placeholder the reader refuses with a clear
message) and what it guessed is marked ``check:``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError
from ecopatrol.core.profiles import MOLAR_MASS_G_MOL
from ._common import WIND_COLUMNS, check_file
from .tabular import (FROM_FILENAME, MIXTURES, TIME_OF_DAY, UNIT_TEXT, WHITESPACE, date_from_filename,
                      load_mapping, snake, unit_key)

HEAD_BYTES = 256 * 1024
SAMPLE_ROWS = 200
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_TEXT = {",": ",", ";": ";", "\t": "tab", "|": "|", WHITESPACE: WHITESPACE}

# Chinese species names (as loggers and HJ 212 exports write them) → sample species names
CHINESE_SPECIES = {
    "非甲烷总烃": "nmhc", "总挥发性有机物": "tvoc", "挥发性有机物": "tvoc", "二氧化碳": "co2",
    "一氧化碳": "co", "二氧化硫": "so2", "二氧化氮": "no2", "一氧化氮": "no", "氮氧化物": "nox",
    "臭氧": "o3", "硫化氢": "h2s", "氨气": "nh3", "氨": "nh3", "甲烷": "ch4", "二甲苯": "xylene",
    "甲苯": "toluene", "乙苯": "ethylbenzene", "苯乙烯": "styrene", "苯": "benzene", "甲醛": "formaldehyde",
}
_TIME_HINTS = ("time", "datetime", "timestamp", "date_time", "stamp", "epoch", "unix", "utc", "gps_time")
_TIME_TOKENS = {"time", "timestamp", "datetime", "epoch", "unix", "utc"}
_LON_TOKENS = {"lon", "lng", "long", "longitude"}
_LAT_TOKENS = {"lat", "latitude"}
_ALT_TOKENS = {"alt", "altitude", "amsl", "msl"}
_NOT_POSITION = {"wind", "ws", "wd", "speed", "err", "error", "sd", "std", "rel", "relative", "agl", "takeoff",
                 "home", "ref", "target"}
_UNIT_RE = r"ug/m3|µg/m3|μg/m3|ug/m³|µg/m³|μg/m³|ug/m\^3|µg/m\^3|μg/m\^3|ugm3|mg/m3|mg/m³|mg/m\^3|mgm3|ppbv|ppb|ppmv|ppm|ppt"
_BRACKET_UNIT = re.compile(r"^\s*(.+?)\s*[(\[（【]\s*([^()\[\]（）【】]+?)\s*[)\]）】]\s*$")
_SUFFIX_UNIT = re.compile(rf"^\s*(.+?)[\s_\-]+({_UNIT_RE})\s*$", re.IGNORECASE)
# strftime layouts tried on a time column (ISO 8601 and Unix epochs are tried first)
STRFTIME_GUESSES = (
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S.%f", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S.%f",
    "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y.%m.%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H时%M分%S秒", "%d-%m-%Y %H:%M:%S", "%m-%d-%Y %H:%M:%S",
)
_UNIX_S = (6.3e8, 4.1e9)  # 1990 .. 2100
_UNIX_MS = (6.3e11, 4.1e12)


@dataclass
class MappingDraft:
    """A drafted mapping: its TOML ``text`` (with comments), the parsed ``mapping``, what must be
    filled in (``todo``), what was guessed (``checks``) and a one-line ``summary``."""

    path: Path
    text: str
    mapping: dict
    todo: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    summary: str = ""
    native_format: str | None = None  # set when ecopatrol reads the file without a mapping

    @property
    def complete(self) -> bool:
        return not self.todo


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _head(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    full = len(head) < HEAD_BYTES
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4 or full:
            try:
                head.decode("gb18030")
                enc = "GBK/GB18030"
            except UnicodeDecodeError:
                enc = "not UTF-8"
            raise FormatError(f"`{path.name}`: byte {exc.start} is not UTF-8 (the file looks {enc}): ecopatrol reads "
                              f"CSV as UTF-8; convert it first, e.g. `iconv -f GB18030 -t UTF-8 {path.name} > "
                              f"{path.stem}_utf8{path.suffix}`") from exc
        text = head[:exc.start].decode("utf-8-sig")
    lines = text.splitlines()
    if not full and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [ln for ln in lines if ln.strip()]
    if len(lines) < 2:
        raise FormatError(f"`{path.name}`: needs a header line and at least one data row to draft a mapping")
    return lines[: SAMPLE_ROWS + 1]


def detect_delimiter(lines: list[str], name: str = "the file") -> str:
    """``,`` ``;`` tab ``|`` or ``whitespace``.

    The delimiter that splits the header into two or more fields and the most rows into as many
    (at least half of them: a few corrupt rows do not change it); aligned whitespace only when no
    delimiter character does.
    """
    rows = lines[1:51]
    best = None
    for i, d in enumerate(_DELIMITERS):
        counts = [len(r) for r in csv.reader([lines[0], *rows], delimiter=d)]
        share = float(np.mean(np.array(counts[1:]) == counts[0]))
        if counts[0] >= 2 and share >= 0.5:
            key = (share, counts[0], -i)
            best = max(best or (key, d), (key, d))
    if best:
        return best[1]
    counts = [len(ln.split()) for ln in [lines[0], *rows]]
    if counts[0] >= 2 and np.mean(np.array(counts[1:]) == counts[0]) >= 0.8:
        return WHITESPACE
    raise FormatError(f"`{name}`: cannot tell the delimiter: none of , ; tab | or whitespace splits the header "
                      "and the rows into the same number of fields; give [instrument] delimiter by hand")


def _table(lines: list[str], delimiter: str) -> pd.DataFrame:
    sep = r"\s+" if delimiter == WHITESPACE else delimiter
    raw = pd.read_csv(io.StringIO("\n".join(lines) + "\n"), sep=sep, dtype=str, keep_default_na=False,
                      engine="python", skipinitialspace=True, on_bad_lines="skip")
    raw.columns = [str(c).strip() for c in raw.columns]  # as the reader names them
    if raw.columns.has_duplicates:
        raw.columns = [c if i == list(raw.columns).index(c) else f"{c}.{i}" for i, c in enumerate(raw.columns)]
    return raw


def _cells(raw: pd.DataFrame, col: str) -> pd.Series:
    s = raw[col].astype(str).str.strip()
    return s[(s != "") & ~s.str.lower().isin(["nan", "na", "n/a", "null", "-", "--"])]


def _numbers(raw: pd.DataFrame, col: str) -> tuple[np.ndarray, float]:
    s = _cells(raw, col)
    v = pd.to_numeric(s, errors="coerce").to_numpy(float)
    return v[np.isfinite(v)], (np.isfinite(v).mean() if len(v) else 0.0)


def _plausible_time(t: pd.Series) -> bool:
    t = t.dropna()
    if t.empty:
        return False
    y = t.dt.year
    return bool(((y >= 1990) & (y < 2100)).mean() >= 0.9)


@dataclass
class _TimeGuess:
    column: str
    format: str  # "iso", "unix", "unix_ms", a strftime layout
    tier: int  # lower is better
    aware: bool = False  # the text carries its own UTC offset
    time_of_day: bool = False
    note: str = ""


def _guess_time(raw: pd.DataFrame, col: str) -> _TimeGuess | None:
    s = _cells(raw, col)
    if s.empty:
        return None
    hinted = snake(col) in _TIME_HINTS or bool(set(snake(col).split("_")) & _TIME_TOKENS) or "时间" in col
    v = pd.to_numeric(s, errors="coerce")
    if v.notna().mean() >= 0.9:
        med = float(np.nanmedian(v))
        for lo_hi, fmt in ((_UNIX_S, "unix"), (_UNIX_MS, "unix_ms")):
            if lo_hi[0] <= med <= lo_hi[1]:
                return _TimeGuess(col, fmt, 1 if hinted else 4)
        if not re.fullmatch(r"\d{14}(\.\d+)?", s.iloc[0]):
            return None
    if s.str.match(TIME_OF_DAY.pattern).mean() >= 0.9:
        fmt = "%H:%M:%S" if s.str.count(":").max() >= 2 else "%H:%M"
        return _TimeGuess(col, fmt, 2 if hinted else 3, time_of_day=True)
    with_time = s.str.contains(r"\d{1,2}[:时]\d{2}") | s.str.fullmatch(r"\d{14}(\.\d+)?")
    if with_time.mean() < 0.9:
        return None  # dates only, or not times at all
    if s.str.match(r"^\d{4}-\d{1,2}-\d{1,2}").mean() >= 0.9:
        try:
            t = pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
            aware = bool(s.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$").mean() >= 0.9)
        except (ValueError, TypeError):
            t, aware = pd.Series(pd.NaT, index=s.index), False
        if t.notna().mean() >= 0.9 and _plausible_time(t):
            return _TimeGuess(col, "iso", 0, aware=aware)
    fits = []
    for fmt in STRFTIME_GUESSES:
        t = pd.to_datetime(s, format=fmt, errors="coerce")
        share = t.notna().mean()
        if share >= 0.9 and _plausible_time(t):
            fits.append((share, fmt))
    if not fits:
        return None
    best = max(f[0] for f in fits)
    fmts = [f for share, f in fits if share == best]
    note = ""
    dm = [f for f in fmts if f.startswith(("%d/%m", "%m/%d", "%d-%m", "%m-%d"))]
    if len(dm) > 1:
        note = (f"check: every date in the first rows fits both {dm[0]!r} and {dm[1]!r} (day/month or "
                "month/day?)")
    return _TimeGuess(col, fmts[0], 0, note=note)


def _species(col: str, index: int) -> tuple[str, str] | None:
    """``'CO2(ppm)'`` → ``('co2', 'ppm')``; ``'NO2 [ug/m3]'``, ``'TVOC_ppb'``, ``'甲烷(ppm)'`` too."""
    for rx in (_BRACKET_UNIT, _SUFFIX_UNIT):
        m = rx.match(col)
        if not m:
            continue
        try:
            unit = unit_key(m.group(2))
        except Exception:
            continue
        return species_name(m.group(1), index), unit
    return None


def species_name(text: str, index: int = 0) -> str:
    """The sample species name of a header's name part (``'PM2.5'`` → ``pm2_5``, ``'二氧化氮'`` → ``no2``)."""
    t = text.strip()
    for zh in sorted(CHINESE_SPECIES, key=len, reverse=True):
        if zh in t:
            return CHINESE_SPECIES[zh]
    s = snake(t)
    return s if s != "value" or t.lower() == "value" else f"col{index + 1}"


def _tokens(col: str) -> set[str]:
    return set(snake(re.sub(r"[(\[（【].*?[)\]）】]", "", col)).split("_"))


def _position_columns(raw: pd.DataFrame, taken: set[str], checks: list[str]) -> dict:
    def candidates(tokens: set[str], zh: tuple[str, ...], limit: float) -> list[str]:
        out = []
        for c in raw.columns:
            if c in taken:
                continue
            tk = _tokens(c)
            if not ((tk & tokens) or any(z in c for z in zh)) or tk & _NOT_POSITION:
                continue
            v, share = _numbers(raw, c)
            if share >= 0.8 and len(v) and np.mean(np.abs(v) <= limit) >= 0.95:
                out.append(c)
        return sorted(out, key=lambda c: ("gps" not in _tokens(c), list(raw.columns).index(c)))

    lon = candidates(_LON_TOKENS, ("经度",), 180.0)
    lat = candidates(_LAT_TOKENS, ("纬度",), 90.0)
    if not lon or not lat:
        return {}
    pos = {"lon": lon[0], "lat": lat[0]}
    for what, found in (("longitude", lon), ("latitude", lat)):
        if len(found) > 1:
            checks.append(f"check: {what} taken from `{found[0]}`; also possible: {', '.join(found[1:])}")
    lonv, latv = _numbers(raw, pos["lon"])[0], _numbers(raw, pos["lat"])[0]
    if len(lonv) and len(latv) and np.nanmedian(np.abs(latv)) > np.nanmedian(np.abs(lonv)) and \
            np.nanmedian(np.abs(latv)) > 60:
        checks.append(f"check: `{pos['lat']}` holds larger numbers than `{pos['lon']}`: are lon and lat swapped?")
    alt = [c for c in raw.columns if c not in taken and c not in pos.values()
           and ((_tokens(c) & _ALT_TOKENS) or "海拔" in c) and not _tokens(c) & (_NOT_POSITION | {"ft", "feet"})
           and _numbers(raw, c)[1] >= 0.8]
    if alt:
        pos["alt_amsl_m"] = alt[0]
    return pos


def draft_mapping(path) -> MappingDraft:
    """Draft a mapping for the CSV ``path`` from its header and first rows (see the module docstring)."""
    from . import detect_format

    p = check_file(path)
    lines = _head(p)
    delimiter = detect_delimiter(lines, p.name)
    raw = _table(lines, delimiter)
    if raw.empty:
        raise FormatError(f"`{p.name}`: no data row could be split like the header: write the mapping by hand")
    todo: list[str] = []
    checks: list[str] = []
    native = None
    try:
        native = detect_format(p)
    except Exception:  # unknown layout: that is what a mapping is for
        pass

    guesses = [g for g in (_guess_time(raw, c) for c in raw.columns) if g]
    if not guesses:
        raise FormatError(f"`{p.name}`: no column looks like a time (ISO 8601 date-times, Unix seconds, HH:MM:SS, "
                          "common day/month layouts) in the first rows: write [time] column and format by hand")
    tg = min(guesses, key=lambda g: (g.tier, list(raw.columns).index(g.column)))
    if tg.note:
        checks.append(tg.note)
    if native == "analyser-csv" and not (tg.format == "iso" and tg.column == raw.columns[0]):
        native = None  # the analyser reader takes ISO times from the first column: this one needs a mapping
    taken = {tg.column}
    # a date column beside a time-of-day column (Date,Time) is not used: name it
    date_cols = [c for c in raw.columns if c != tg.column and _cells(raw, c).str.fullmatch(
        r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}").mean() >= 0.9]

    position = _position_columns(raw, taken, checks)
    taken |= set(position.values())
    species, unitless, passed, unused = _classify_columns(raw, taken)

    out: list[str] = [f"# ecopatrol mapping for `{p.name}`, drafted by `ecopatrol mapping init` from its header "
                      f"and first {len(raw)} rows.",
                      "# Lines marked TODO must be filled in; lines marked `check:` are guesses. The format is in",
                      "# README.md (\"Mappings: reading any CSV\"); try it with `ecopatrol inspect FILE --mapping THIS`."]
    if native:
        out.append(f"# Note: ecopatrol reads this file without a mapping (as {native}); a mapping is only needed to "
                   "read it differently.")
        checks.append(f"check: ecopatrol reads `{p.name}` without a mapping (as {native})")
    out += _time_section(p.name, tg, date_cols, todo, checks)
    out += _position_section(position, checks)
    out += _columns_section(species, unitless, todo, checks)
    out += _instrument_section(delimiter, passed, unused)
    text = "\n".join(out) + "\n"
    mapping = tomllib.loads(text)
    if not tg.time_of_day or "date" in mapping["time"] and mapping["time"]["date"] == FROM_FILENAME:
        load_mapping(dict(mapping))  # a draft ecopatrol itself refuses is a bug here, not the user's problem
    kind = "track+sensor" if position else "sensor"
    summary = (f"{p.name}: {kind}, delimiter {_DELIMITER_TEXT[delimiter]!r}, time `{tg.column}` ({tg.format}"
               f"{', time of day' if tg.time_of_day else ''}), "
               + (f"position `{position['lon']}`/`{position['lat']}`, " if position else "no position, ")
               + f"{len(species)} species, {len(unused) + len(unitless)} column(s) not read; "
               + (f"{len(todo)} TODO" if todo else "no TODO"))
    return MappingDraft(p, text, mapping, todo, checks, summary, native)


def _classify_columns(raw: pd.DataFrame, taken: set) -> tuple[list, list, list, list]:
    """The columns not ``taken`` (time, position), sorted into what the draft does with them.

    Returns ``(species, unitless, passed, unused)``: species with a unit in the header
    (``(column, name, unit)``, names made unique), species without one (``(column, name)``),
    columns read as they are (status, wind), and the rest.
    """
    species, unitless, passed, unused = [], [], [], []
    names: set[str] = set()
    for i, c in enumerate(raw.columns):
        if c in taken:
            continue
        sp = _species(c, i)
        numeric_share = _numbers(raw, c)[1]
        if sp and numeric_share >= 0.5:
            name, unit = sp
            base, k = name, 2
            while f"{name}_{unit}" in names:
                name, k = f"{base}_{k}", k + 1
            names.add(f"{name}_{unit}")
            species.append((c, name, unit))
        elif snake(c) in ("status", *WIND_COLUMNS):
            passed.append(c)
        elif numeric_share >= 0.5 and (species_name(c, i) in MOLAR_MASS_G_MOL or species_name(c, i) in MIXTURES):
            unitless.append((c, species_name(c, i)))
        else:
            unused.append(c)
    return species, unitless, passed, unused


def _time_section(name: str, tg, date_cols: list, todo: list[str], checks: list[str]) -> list[str]:
    """The ``[time]`` lines: column, format, the date of a times-of-day file, the time zone and why."""
    out = ["", "[time]", f"column = {_q(tg.column)}"]
    fmt_comment = {"iso": "ISO 8601 date and time", "unix": "Unix seconds (UTC)", "unix_ms": "Unix milliseconds (UTC)"}
    out.append(f"format = {_q(tg.format)}" + (f"  # {fmt_comment[tg.format]}" if tg.format in fmt_comment else
                                                "  # times of day only, no date" if tg.time_of_day else
                                                f"  # {tg.note}" if tg.note else ""))
    if tg.time_of_day:
        found = date_from_filename(name)
        if found:
            out.append(f"date = {_q(FROM_FILENAME)}  # check: the day of the first row ({found} in the file name)")
            checks.append(f"check: the date of the first row is taken from the file name ({found})")
        else:
            out.append('date = "TODO-YYYY-MM-DD"  # TODO: the day of the first row (or "from-filename")')
            todo.append("TODO: [time] date, the day of the first row: the file has times of day only and no date "
                        "in its name")
        if date_cols:
            out.append(f"# (column {', '.join(f'`{c}`' for c in date_cols)} looks like a date: a mapping reads one "
                       "time column, so give that date above)")
    said = set(snake(tg.column).split("_"))
    if tg.format in ("unix", "unix_ms") or tg.aware:
        out.append('timezone = "UTC"' + ("  # the times carry their own UTC offset" if tg.aware else ""))
    elif said & {"utc", "gmt"}:
        out.append('timezone = "UTC"  # the header says so')
    elif said & {"bjt", "cst", "beijing"} or "北京时间" in tg.column:
        out.append('timezone = "Asia/Shanghai"  # the header says Beijing time')
    else:
        out.append('timezone = "Asia/Shanghai"  # check: the zone of the logger\'s clock ("UTC" if it logs UTC)')
        checks.append("check: [time] timezone (Asia/Shanghai assumed for naive times)")
    return out


def _position_section(position: dict, checks: list[str]) -> list[str]:
    """The ``[position]`` lines of a file that is its own track (none without position columns)."""
    if not position:
        return []
    out = ["", "[position]                  # the file carries positions: it is its own track",
           f"lon = {_q(position['lon'])}", f"lat = {_q(position['lat'])}"]
    if "alt_amsl_m" in position:
        out.append(f"alt_amsl_m = {_q(position['alt_amsl_m'])}  # check: metres above sea level")
        checks.append(f"check: `{position['alt_amsl_m']}` is altitude in metres above sea level")
    out.append('crs = "wgs84"  # a GNSS receiver gives WGS-84; "gcj02" for AMap/Gaode/Tencent apps, "bd09" Baidu')
    return out


def _columns_section(species: list, unitless: list, todo: list[str], checks: list[str]) -> list[str]:
    """The ``[[columns]]`` entries: one per species with a unit, commented ones for species without."""
    out: list[str] = []
    for c, name, unit in species:
        out += ["", "[[columns]]", f"source = {_q(c)}", f"name = {_q(name)}", f"unit = {_q(UNIT_TEXT[unit])}"]
        other = "ppb" if unit in ("ugm3", "mgm3") else "ug/m3" if unit in ("ppb", "ppm", "ppt") else None
        if name in MOLAR_MASS_G_MOL and other:
            out.append(f"# to = {_q(other)}  # optional conversion at 25 °C, 101.325 kPa "
                       f"(M = {MOLAR_MASS_G_MOL[name]} g/mol{', as carbon' if name == 'nmhc' else ''})")
    for c, name in unitless:
        out += ["", f"# `{c}` looks like {name} but its header gives no unit: uncomment and set the unit to read it",
                "# [[columns]]", f"# source = {_q(c)}", f"# name = {_q(name)}", '# unit = "TODO"  # ug/m3, mg/m3, ppb or ppm']
        checks.append(f"check: `{c}` ({name}) has no unit in its header and is not read")
    if not species:
        todo.append("TODO: no column's header carries a concentration unit (ug/m3, mg/m3, ppb, ppm): add "
                    "[[columns]] entries by hand")
        out += ["", "# TODO: no column's header carries a unit; add one [[columns]] entry per species:",
                "# [[columns]]", '# source = "NAME IN THE HEADER"', '# name = "co2"', '# unit = "ppm"']
    return out


def _instrument_section(delimiter: str, passed: list, unused: list) -> list[str]:
    """The ``[instrument]`` lines (delimiter, commented delays) and the notes on columns read as they are or not read."""
    out = ["", "[instrument]", f"delimiter = {_q(delimiter)}",
           "# lag_s = 6.0           # inlet lag in s, if known (else estimated from the data)",
           "# clock_offset_s = 0.0  # instrument clock − UTC in s, if known",
           "# response_s = 2.0      # response time constant (T90 / 2.3) in s"]
    if passed:
        out += ["", "# Read as they are, without an entry: " + ", ".join(f"{c} (as `{snake(c)}`)" for c in passed)]
    if unused:
        out += ["", "# Columns not read (add a [[columns]] entry to read one as a species):"]
        out += textwrap.wrap(", ".join(unused), width=100, initial_indent="#   ", subsequent_indent="#   ",
                             break_on_hyphens=False, break_long_words=False)
    return out
