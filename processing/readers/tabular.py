"""Analyser CSV exports and any CSV described by a small mapping file (TOML).

The analyser CSV (CONTRACTS.md) has a header such as
``Time,TVOC(ug/m3),Benzene(ppb),Toluene(ppb),Xylene(ppb),Status``; times are the
instrument's local time (Asia/Shanghai unless told) on its own clock. Headers of the form
``Name(unit)`` become ``name_<unit>`` columns (``tvoc_ugm3``, ``benzene_ppb``).

A mapping file describes any other CSV::

    [time]
    column = "Timestamp"
    format = "%d/%m/%Y %H:%M:%S"     # strftime format, "iso", "unix" or "unix_ms"
    timezone = "Asia/Shanghai"       # zone of naive times; "UTC" when already UTC

    [position]                      # optional: the CSV is also a track
    lon = "Lon"
    lat = "Lat"
    alt_amsl_m = "Alt"              # optional
    crs = "wgs84"                   # or "gcj02" / "bd09": converted to WGS-84 once, here

    [[columns]]
    source = "NO2"                  # header in the CSV
    name = "no2"                    # species name in the samples
    unit = "ug/m3"                  # unit in the file: ug/m3, mg/m3, ppb, ppm
    to = "ppb"                      # optional conversion (25 °C, 101.325 kPa)

    [instrument]                    # optional declared values
    lag_s = 6.0                     # inlet lag, s
    clock_offset_s = 0.0            # instrument clock − UTC, s
    response_s = 2.0                # first-order response time constant (T90 / 2.3), s
    delimiter = ","

µg/m³ ↔ ppb conversions use the molar volume at 25 °C and 101.325 kPa (24.465 L/mol, the
reference state for ambient air in China since 2018): ``ppb = µg/m³ × 24.465 / M``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from ...core.crs import normalise_crs_name, to_wgs84_per_row
from ...core.profiles import MOLAR_MASS_G_MOL, MOLAR_VOLUME_25C_L_MOL
from ...core.errors import FormatError, InputError
from .._time import DEFAULT_LOCAL_TZ, parse_times
from ._common import WIND_COLUMNS, ReadResult, finalize, first_reason, read_csv_accounted, split_bad

_UNIT_ALIASES = {
    "ug/m3": "ugm3", "µg/m3": "ugm3", "μg/m3": "ugm3", "µg/m³": "ugm3", "μg/m³": "ugm3", "ug/m³": "ugm3",
    "ugm3": "ugm3", "mg/m3": "mgm3", "mg/m³": "mgm3", "mgm3": "mgm3", "ppb": "ppb", "ppbv": "ppb",
    "ppm": "ppm", "ppmv": "ppm", "ppt": "ppt",
}
ANALYSER_TIME_COLUMNS = ("time", "datetime", "timestamp", "date_time", "时间")
_HEADER_UNIT = re.compile(r"^\s*([^()（）]+?)\s*[（(]\s*([^()（）]+?)\s*[)）]\s*$")


def unit_key(unit: str) -> str:
    k = _UNIT_ALIASES.get(str(unit).strip().lower().replace(" ", ""))
    if k is None:
        raise InputError(f"unknown concentration unit {unit!r}: use ug/m3, mg/m3, ppb or ppm")
    return k


def convert_units(values, species: str, src: str, dst: str):
    """Convert concentrations between ug/m3, mg/m3, ppb, ppm (25 °C, 101.325 kPa for mass ↔ volume)."""
    src, dst = unit_key(src), unit_key(dst)
    v = np.asarray(values, dtype=float)
    to_ugm3_mass = {"ugm3": 1.0, "mgm3": 1000.0}
    to_ppb_vol = {"ppt": 1e-3, "ppb": 1.0, "ppm": 1000.0}
    if src in to_ugm3_mass and dst in to_ugm3_mass:
        return v * to_ugm3_mass[src] / to_ugm3_mass[dst]
    if src in to_ppb_vol and dst in to_ppb_vol:
        return v * to_ppb_vol[src] / to_ppb_vol[dst]
    m = MOLAR_MASS_G_MOL.get(species.lower())
    if m is None:
        raise InputError(f"cannot convert `{species}` from {src} to {dst}: its molar mass is unknown "
                         "(mixtures such as TVOC cannot be converted); keep the unit of the file")
    if src in to_ugm3_mass:  # mass → volume
        ppb = v * to_ugm3_mass[src] * MOLAR_VOLUME_25C_L_MOL / m
        return ppb / to_ppb_vol[dst]
    ugm3 = v * to_ppb_vol[src] * m / MOLAR_VOLUME_25C_L_MOL
    return ugm3 / to_ugm3_mass[dst]


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


def load_mapping(mapping) -> dict:
    """A mapping dict, or the path of a TOML mapping file, validated."""
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
    if "time" not in m or "column" not in m["time"]:
        raise InputError(f"`{src}`: [time] with `column` is required (and `format`, `timezone`)")
    for i, c in enumerate(m.get("columns", [])):
        if "source" not in c or "unit" not in c:
            raise InputError(f"`{src}`: [[columns]] entry {i + 1} needs `source` and `unit`")
        unit_key(c["unit"])
    return m


def _read_csv(path: Path, delimiter: str | None = None) -> pd.DataFrame:
    """The CSV as text cells; rows with more fields than the header are kept and marked in
    ``raw.attrs["extra_fields"]`` (quarantined by :func:`_build`, never skipped silently)."""
    raw, extra = read_csv_accounted(path, sep=delimiter or None)
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
                  cols=[(c, name, unit, None) for c, (name, unit) in species.items()],
                  position=None, fmt_name="analyser-csv",
                  extra={c: snake(c) for c in raw.columns[1:] if c not in species})


def read_mapped_csv(path: Path, mapping, *, tz: str | None = None) -> ReadResult:
    """Read any CSV through a mapping (dict or TOML path): time column, format, zone, units."""
    m = load_mapping(mapping)
    inst = m.get("instrument", {})
    raw = _read_csv(path, inst.get("delimiter"))
    tm = m["time"]
    missing = [c for c in [tm["column"], *[c["source"] for c in m.get("columns", [])],
                           *[v for k, v in m.get("position", {}).items() if k != "crs"]]
               if c not in raw.columns]
    if missing:
        raise FormatError(f"`{path.name}`: columns {missing} named in the mapping are not in the CSV header "
                          f"{list(raw.columns)}: fix the mapping's `source`/`column` names")
    cols = [(c["source"], snake(c.get("name", c["source"])), unit_key(c["unit"]),
             unit_key(c["to"]) if c.get("to") else None) for c in m.get("columns", [])]
    fmt = tm.get("format")
    fmt = None if fmt in (None, "iso", "ISO8601") else fmt
    used = {tm["column"], *[c[0] for c in cols], *m.get("position", {}).values()}
    res = _build(path, raw, time_col=tm["column"], fmt=fmt, tz=tz or tm.get("timezone", "UTC"), cols=cols,
                 position=m.get("position"), fmt_name="mapped-csv",
                 extra={c: snake(c) for c in raw.columns if c not in used})
    res.meta.update({k: inst[k] for k in ("lag_s", "clock_offset_s", "response_s") if k in inst})
    return res


def _build(path, raw, *, time_col, fmt, tz, cols, position, fmt_name, extra) -> ReadResult:
    n = len(raw)
    t = parse_times(raw[time_col], fmt=fmt, tz=tz)
    frame = pd.DataFrame({"time_utc": t.to_numpy()})
    extra_fields = raw.attrs.get("extra_fields", np.zeros(n, dtype="int64"))
    conds = [(extra_fields > 0, f"wrong number of fields (more than the {raw.attrs.get('n_header', len(raw.columns))} "
                                "of the header): a corrupt or merged line"),
             (t.isna().to_numpy(), f"field `{time_col}`: unparseable time (expected {fmt or 'YYYY-MM-DD HH:MM:SS'})")]
    all_nan = np.ones(n, dtype=bool)
    for src, name, unit, to in cols:
        v, bad = _numeric(raw, src)
        conds.append((bad, f"field `{src}`: not a number"))
        if to and to != unit:
            v = convert_units(v, name, unit, to)
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
