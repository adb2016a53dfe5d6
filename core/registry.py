"""The enterprise registry: loading, coordinate conversion and validation.

A registry arrives as CSV, XLSX, GeoJSON or GeoPackage, often exported from a Chinese
system with Chinese headers and GCJ-02 or BD-09 coordinates. :func:`load_registry`
recognises the usual headers, converts every coordinate to WGS-84 exactly once, and
validates every row, collecting **all** problems (errors apart from warnings) before
reporting them together.

Which checks apply depends on the area's country (:mod:`ecopatrol.core.rules`): in China,
GCJ-02/BD-09 rows are converted, points outside China are errors and ids that look like a
unified social credit code (USCC) are checked as one (GB 32100-2015); elsewhere rows must be
WGS-84 (or CGCS2000), points are checked against the rest of the area, and ids only for being
present and unique. A placeholder id (``-``, ``0``, ``无``, ``N/A``, an empty or invisible cell …)
is one error, never also a duplicate.

Row numbers in messages are spreadsheet row numbers: the header is row 1, the first
enterprise row 2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import settings
from .crs import to_wgs84_per_row
from .enterprise_ids import (  # noqa: F401 (the id helpers are re-exported: registry.uscc_check_char …)
    PLACEHOLDER_IDS,
    USCC_CHARS,
    USCC_HEADERS,
    USCC_WEIGHTS,
    _check_ids,
    _header_key,
    _id_ref,
    clean_id,
    is_valid_uscc,
    looks_like_uscc,
    placeholder_reason,
    show_text,
    uscc_check_char,
    uscc_problem,
)
from .artefacts.targets import (  # noqa: F401 (re-exported: the planners' target options)
    parse_target_ids,
    read_targets_file,
    read_targets_ranked,
    resolve_target_ids,
)
from ._registry_tables import _read_registry_tables
from ._coord_checks import FAR_ERROR_M, _check_coordinates, _check_far  # noqa: F401 (FAR_ERROR_M re-exported)
from .errors import Report
from .i18n import Msg
from .rules import AIRSPACE_CLASSES, AreaRules, infer_country, rules_for

log = logging.getLogger(__name__)

AIRSPACE_VALUES = AIRSPACE_CLASSES
DEFAULT_SITE_RADIUS_M = settings.DEFAULT_SITE_RADIUS_M
MAX_STACK_HEIGHT_M = 300.0  # taller than any industrial stack in a district registry

#: Header aliases → canonical column names (lower-cased, stripped before lookup).
ENTERPRISE_ALIASES = {
    "enterprise_id": "enterprise_id", "id": "enterprise_id", "uscc": "enterprise_id",
    "统一社会信用代码": "enterprise_id", "社会信用代码": "enterprise_id", "信用代码": "enterprise_id",
    "社会统一信用代码": "enterprise_id", "统一信用代码": "enterprise_id", "企业编号": "enterprise_id",
    "credit_code": "enterprise_id", "uscc_code": "enterprise_id", "social_credit_code": "enterprise_id",
    "unified_social_credit_code": "enterprise_id", "unified_social_credit_identifier": "enterprise_id",
    "name": "name", "企业名称": "name", "单位名称": "name", "名称": "name",
    "industry": "industry", "行业": "industry", "行业类别": "industry", "所属行业": "industry",
    "lon": "lon", "lng": "lon", "longitude": "lon", "经度": "lon", "x": "lon",
    "lat": "lat", "latitude": "lat", "纬度": "lat", "y": "lat",
    "crs": "crs", "坐标系": "crs",
    "positive_list": "positive_list", "是否正面清单": "positive_list", "正面清单": "positive_list",
    "airspace": "airspace", "空域": "airspace",
    "last_inspected": "last_inspected", "最近检查日期": "last_inspected", "上次检查时间": "last_inspected",
    "最近检查时间": "last_inspected",
    "violations_3y": "violations_3y", "近三年违法次数": "violations_3y", "违法次数": "violations_3y",
    "park": "park", "园区": "park", "所属园区": "park",
    "site_radius_m": "site_radius_m",
}
SOURCE_ALIASES = {
    "source_id": "source_id", "排放口编号": "source_id",
    "enterprise_id": "enterprise_id", "统一社会信用代码": "enterprise_id", "uscc": "enterprise_id",
    "社会信用代码": "enterprise_id", "信用代码": "enterprise_id", "credit_code": "enterprise_id",
    "lon": "lon", "lng": "lon", "longitude": "lon", "经度": "lon",
    "lat": "lat", "latitude": "lat", "纬度": "lat",
    "crs": "crs", "坐标系": "crs",
    "height_m": "height_m", "排气筒高度": "height_m",
    "diameter_m": "diameter_m", "排气筒内径": "diameter_m",
    "exit_velocity_m_s": "exit_velocity_m_s", "exit_temp_k": "exit_temp_k",
    "pollutants": "pollutants", "污染物": "pollutants",
}
ENTERPRISE_REQUIRED = ("enterprise_id", "name", "lon", "lat")
SOURCE_REQUIRED = ("source_id", "enterprise_id", "lon", "lat", "height_m")

_TRUE = {"true", "yes", "y", "1", "t", "是", "对", "√"}
_FALSE = {"false", "no", "n", "0", "f", "否", "不是", "×", ""}

# GB 32100-2015 unified social credit code
def parse_bool(value) -> bool | None:
    """Parse yes/no, true/false, 1/0, 是/否; ``None`` when it is none of them."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE and s != "":
        return False
    return None


@dataclass
class Registry:
    """Enterprises and sources in WGS-84, with the validation report."""

    enterprises: "object"  # GeoDataFrame
    sources: "object"  # GeoDataFrame
    report: Report = field(default_factory=Report)
    rules: AreaRules = field(default_factory=lambda: rules_for("CN"))

    def summary(self) -> dict:
        e = self.enterprises
        return {
            "country": self.rules.country_label,
            "rules": self.rules.describe(),
            "enterprises": int(len(e)),
            "sources": int(len(self.sources)),
            "positive_list": int(e["positive_list"].fillna(False).astype(bool).sum()) if len(e) else 0,
            "by_industry": {str(k): int(v) for k, v in e["industry"].fillna("?").value_counts().items()},
            "by_airspace": {str(k): int(v) for k, v in e["airspace"].fillna("?").value_counts().items()},
            "errors": len(self.report.errors),
            "warnings": len(self.report.warnings),
        }


def _rename_map(df: pd.DataFrame, aliases: dict) -> dict:
    rename = {}
    for col in df.columns:
        key = str(col).strip().lower()
        key = key.split("(")[0].split("（")[0].strip() if key not in aliases else key
        key = key if key in aliases else _header_key(col)
        if key in aliases and aliases[key] not in rename.values():
            rename[col] = aliases[key]
    return rename


def _canonicalise(df: pd.DataFrame, aliases: dict) -> pd.DataFrame:
    return df.rename(columns=_rename_map(df, aliases))


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.astype(str).str.strip().replace({"": None}), errors="coerce")


def _validate_enterprises(df: pd.DataFrame, file: str, report: Report, default_crs: str, rules: AreaRules,
                          area_center=None, area_radius_m: float | None = None,
                          uscc_header: bool = False):
    rowno = np.arange(len(df)) + 2
    for col in ENTERPRISE_REQUIRED:
        if col not in df.columns:
            report.error(Msg("col.required", column=col, columns=", ".join(map(str, df.columns))),
                         file=file, field=col)
    if report.errors:
        return None
    lon = _num(df["lon"]).to_numpy(float)
    lat = _num(df["lat"]).to_numpy(float)
    crs_names = _check_coordinates(df, file, report, rowno, lon, lat, default_crs, rules)
    ids = pd.Series(_check_ids(df["enterprise_id"].tolist(), file, report, rowno, rules, uscc_header),
                    index=df.index, dtype=object)
    # the column checks run (and report) in this order
    names = _enterprise_names(df, file, report, rowno)
    positive = _enterprise_positive_list(df, file, report, rowno)
    airspace = _enterprise_airspace(df, file, report, rowno, rules)
    last = _enterprise_last_inspected(df, file, report, rowno)
    viol = _enterprise_violations(df, file, report, rowno)
    industry = _enterprise_industry(df, file, report, rowno)

    ok_crs = np.array([c is not None for c in crs_names], dtype=bool)
    x, y = lon.copy(), lat.copy()
    conv = ok_crs & np.isfinite(x) & np.isfinite(y)
    x[conv], y[conv] = to_wgs84_per_row(x[conv], y[conv], np.array(crs_names, dtype=object)[conv])
    _check_far(x, y, file, report, rowno, rules, area_center, area_radius_m)
    out = pd.DataFrame({
        "enterprise_id": ids.to_numpy(),
        "name": names.to_numpy(),
        "industry": industry.replace({"nan": ""}).to_numpy(),
        "positive_list": positive,
        "airspace": airspace.to_numpy(),
        "last_inspected": pd.to_datetime(last.to_numpy()),
        "violations_3y": viol,
        "park": df["park"].astype(str).replace({"nan": ""}).to_numpy() if "park" in df else "",
        "site_radius_m": _num(df["site_radius_m"]).fillna(DEFAULT_SITE_RADIUS_M).to_numpy()
        if "site_radius_m" in df else DEFAULT_SITE_RADIUS_M,
        "source_crs": [c or "" for c in crs_names],
        "lon": x,
        "lat": y,
        "_row": rowno,
    })
    return out


def _enterprise_names(df: pd.DataFrame, file: str, report: Report, rowno: np.ndarray) -> pd.Series:
    """The stripped ``name`` column; an empty name is an error."""
    names = df["name"].astype(str).str.strip()
    for i in np.flatnonzero((names == "") | (names.str.lower() == "nan")):
        report.error(Msg("value.name_empty"), file=file, row=rowno[i], field="name")
    return names


def _enterprise_positive_list(df: pd.DataFrame, file: str, report: Report, rowno: np.ndarray) -> np.ndarray:
    """``positive_list`` as booleans (False when absent); a value that is not a yes/no is an error."""
    positive = np.zeros(len(df), dtype=bool)
    if "positive_list" in df:
        for i, v in enumerate(df["positive_list"]):
            b = parse_bool(v)
            if b is None:
                report.error(Msg("value.not_bool", value=repr(v)),
                             file=file, row=rowno[i], field="positive_list")
            else:
                positive[i] = b
    return positive


def _enterprise_airspace(df: pd.DataFrame, file: str, report: Report, rowno: np.ndarray,
                         rules: AreaRules) -> pd.Series:
    """``airspace`` lower-cased (``free`` when empty or absent); an unknown class is an error, a missing
    column a warning where the area's rules expect one."""
    airspace = pd.Series(["free"] * len(df), dtype=object)
    if "airspace" in df:
        a = df["airspace"].astype(str).str.strip().str.lower().replace({"": "free", "nan": "free"})
        for i, v in enumerate(a):
            if v not in AIRSPACE_VALUES:
                report.error(Msg("value.not_airspace", value=repr(v), values=", ".join(AIRSPACE_VALUES)),
                             file=file, row=rowno[i], field="airspace")
        airspace = a
    elif rules.airspace_expected and len(df):
        report.warning(Msg("value.no_airspace", values=", ".join(AIRSPACE_VALUES)), file=file, field="airspace")
    return airspace


def _enterprise_last_inspected(df: pd.DataFrame, file: str, report: Report, rowno: np.ndarray) -> pd.Series:
    """``last_inspected`` as datetimes (NaT when empty or absent); not a date: an error, in the future: a warning."""
    last = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if "last_inspected" in df:
        raw = df["last_inspected"].astype(str).str.strip()
        parsed = pd.to_datetime(raw.replace({"": None, "nan": None}), errors="coerce", format="mixed")
        for i in np.flatnonzero(parsed.isna().to_numpy() & ~raw.isin(["", "nan", "NaT"]).to_numpy()):
            report.error(Msg("value.not_date", value=repr(raw.iat[i])), file=file, row=rowno[i], field="last_inspected")
        now = pd.Timestamp.now()
        for i in np.flatnonzero((parsed > now).to_numpy()):
            report.warning(f"{raw.iat[i]} is in the future", file=file, row=rowno[i], field="last_inspected")
        last = parsed
    return last


def _enterprise_violations(df: pd.DataFrame, file: str, report: Report, rowno: np.ndarray) -> np.ndarray:
    """``violations_3y`` as counts (0 when empty or absent); not a non-negative whole number: an error."""
    viol = np.zeros(len(df), dtype=int)
    if "violations_3y" in df:
        raw = df["violations_3y"].astype(str).str.strip().replace({"nan": ""})
        v = _num(raw)
        for i in range(len(df)):
            if raw.iat[i] == "":
                continue
            if not np.isfinite(v.iat[i]) or v.iat[i] < 0 or v.iat[i] != int(v.iat[i]):
                report.error(Msg("value.not_count", value=repr(raw.iat[i])), file=file, row=rowno[i], field="violations_3y")
            else:
                viol[i] = int(v.iat[i])
    return viol


def _enterprise_industry(df: pd.DataFrame, file: str, report: Report, rowno: np.ndarray) -> pd.Series:
    """The stripped ``industry`` column (empty when absent); an empty industry is a warning."""
    industry = df["industry"].astype(str).str.strip() if "industry" in df else pd.Series([""] * len(df))
    for i in np.flatnonzero((industry == "").to_numpy() | (industry == "nan").to_numpy()):
        report.warning(Msg("value.industry_empty"), file=file, row=rowno[i], field="industry")
    return industry


def _validate_sources(df: pd.DataFrame, file: str, report: Report, default_crs: str, known_ids: set[str],
                      rules: AreaRules, area_center=None, area_radius_m: float | None = None):
    rowno = np.arange(len(df)) + 2
    for col in SOURCE_REQUIRED:
        if col not in df.columns:
            report.error(Msg("col.required_short", column=col), file=file, field=col)
    if any(p.file == file and p.row is None for p in report.errors):
        return None
    lon = _num(df["lon"]).to_numpy(float)
    lat = _num(df["lat"]).to_numpy(float)
    crs_names = _check_coordinates(df, file, report, rowno, lon, lat, default_crs, rules)
    sid = df["source_id"].astype(str).str.strip()
    for i in np.flatnonzero(sid.duplicated().to_numpy()):
        report.error(f"duplicate source id {sid.iat[i]!r}", file=file, row=rowno[i], field="source_id")
    eid = pd.Series([_id_ref(v, rules) for v in df["enterprise_id"].astype(str)], index=df.index, dtype=object)
    for i in np.flatnonzero(~eid.isin(known_ids).to_numpy()):
        report.error(f"enterprise {eid.iat[i]!r} is not in the registry: fix the id or add the enterprise",
                     file=file, row=rowno[i], field="enterprise_id")
    h = _num(df["height_m"]).to_numpy(float)
    for i in range(len(df)):
        if not np.isfinite(h[i]):
            report.error("must be a number of metres", file=file, row=rowno[i], field="height_m")
        elif h[i] < 0:
            report.error(f"{h[i]:g} m is negative: give the stack height above ground", file=file, row=rowno[i], field="height_m")
        elif h[i] > MAX_STACK_HEIGHT_M:
            report.error(f"{h[i]:g} m is not a plausible stack height (> {MAX_STACK_HEIGHT_M:g} m): centimetres or feet?",
                         file=file, row=rowno[i], field="height_m")
    extra = {}
    for col, lo, hi, unit in (("diameter_m", 0.05, 15, "m"), ("exit_velocity_m_s", 0, 60, "m/s"), ("exit_temp_k", 200, 1500, "K")):
        if col in df:
            v = _num(df[col]).to_numpy(float)
            for i in np.flatnonzero(np.isfinite(v) & ((v < lo) | (v > hi))):
                report.warning(f"{v[i]:g} {unit} is outside the plausible range {lo:g}–{hi:g} {unit}",
                               file=file, row=rowno[i], field=col)
            extra[col] = v
        else:
            extra[col] = np.full(len(df), np.nan)
    ok = np.array([c is not None for c in crs_names], dtype=bool) & np.isfinite(lon) & np.isfinite(lat)
    x, y = lon.copy(), lat.copy()
    x[ok], y[ok] = to_wgs84_per_row(x[ok], y[ok], np.array(crs_names, dtype=object)[ok])
    _check_far(x, y, file, report, rowno, rules, area_center, area_radius_m)
    return pd.DataFrame({
        "source_id": sid.to_numpy(), "enterprise_id": eid.to_numpy(), "height_m": h, **extra,
        "pollutants": df["pollutants"].astype(str).to_numpy() if "pollutants" in df else "",
        "lon": x, "lat": y, "_row": rowno,
    })


def load_registry(
    path: str | Path,
    *,
    sources: str | Path | None = None,
    crs: str = "wgs84",
    area_center: tuple[float, float] | None = None,
    area_radius_m: float | None = 60_000.0,
    strict: bool = False,
    raise_on_error: bool = True,
    country: str | AreaRules | None = "auto",
    country_without_points: str | None = "CN",
) -> Registry:
    """Load and validate a registry (and optionally its sources), converting to WGS-84 once.

    Parameters
    ----------
    path
        CSV, XLSX, GeoJSON or GeoPackage (layer ``enterprises``) of enterprises.
    sources
        Optional CSV/XLSX/GeoJSON of stacks; for a GeoPackage the ``sources`` layer of
        ``path`` is used when present.
    crs
        File-wide default coordinate system where a row has no ``crs``.
    area_center, area_radius_m
        ``(lon, lat)`` WGS-84 centre of the operating area; points farther are warned about (and,
        outside China, points farther than :data:`FAR_ERROR_M` are errors). Outside China the
        centre defaults to the median of the registry's points.
    country
        The rules to check under (:mod:`ecopatrol.core.rules`): an ISO 3166-1 alpha-2 code,
        ``None`` for unknown (generic rules), an :class:`AreaRules`, or ``"auto"`` (default):
        China when most points lie in China, else unknown; ``country_without_points`` when no
        row has a valid position (area loading passes what its other data say). The result's
        ``rules`` say which.
    strict
        Treat warnings as errors.
    raise_on_error
        Raise :class:`ValidationError` listing every problem; otherwise return the report.
    """
    from .crs import normalise_crs_name

    path = Path(path)
    default_crs = normalise_crs_name(crs)
    report = Report()
    edf, egeom, sdf, sgeom = _read_registry_tables(path, sources)
    edf, uscc_header = _enterprise_table(edf, egeom)
    nan = np.full(len(edf), np.nan)
    raw_lon = _num(edf["lon"]).to_numpy(float) if "lon" in edf else nan
    raw_lat = _num(edf["lat"]).to_numpy(float) if "lat" in edf else nan
    rules = _registry_rules(country, raw_lon, raw_lat, country_without_points)
    foreign_default = default_crs not in rules.coordinate_systems_allowed
    if foreign_default:
        default_crs = "wgs84"
    if area_center is None and not rules.country_check:
        area_center = _median_center(raw_lon, raw_lat)
    ent = _validate_enterprises(edf, path.name, report, default_crs, rules, area_center, area_radius_m,
                                uscc_header)
    if ent is None:
        report.raise_if_errors(f"registry `{path.name}`")
    if foreign_default:
        report.error(f"the default coordinate system is {normalise_crs_name(crs)}, which exists only in China, and "
                     f"this registry's country is {rules.country_label}: give WGS-84 coordinates", file=path.name,
                     field="crs")
    site_polys = None
    if egeom is not None and (egeom.geom_type.isin(["Polygon", "MultiPolygon"])).any():
        site_polys = egeom
    known = {i for i in ent["enterprise_id"] if placeholder_reason(i) is None}
    src = None
    src_name = Path(sources).name if sources is not None else f"{path.name}:sources"
    if sdf is not None:
        src = _validate_sources(_sources_table(sdf, sgeom), src_name, report, default_crs, known, rules,
                                area_center, area_radius_m)
    if raise_on_error:
        report.raise_if_errors(f"registry `{path.name}`", strict=strict)
    enterprises, sources_gdf = _registry_frames(ent, src, site_polys)
    reg = Registry(enterprises, sources_gdf, report, rules)
    log.info("registry %s: %d enterprises, %d sources, %d errors, %d warnings", path.name,
             len(enterprises), len(sources_gdf), len(report.errors), len(report.warnings))
    return reg


def _enterprise_table(edf: pd.DataFrame, egeom) -> tuple[pd.DataFrame, bool]:
    """The enterprises under canonical column names, with ``lon``/``lat`` from the geometry when there is
    one (WGS-84 unless a ``crs`` column says otherwise), and whether the id column's header names a USCC."""
    rename = _rename_map(edf, ENTERPRISE_ALIASES)
    uscc_header = any(_header_key(c) in USCC_HEADERS for c, v in rename.items() if v == "enterprise_id")
    edf = edf.rename(columns=rename)
    if egeom is not None:
        pts = egeom.representative_point()
        edf["lon"] = pts.x.to_numpy()
        edf["lat"] = pts.y.to_numpy()
        edf["crs"] = edf.get("crs", "wgs84")
    return edf, uscc_header


def _sources_table(sdf: pd.DataFrame, sgeom) -> pd.DataFrame:
    """The sources under canonical column names, with ``lon``/``lat`` from the geometry when there is one."""
    sdf = _canonicalise(sdf, SOURCE_ALIASES)
    if sgeom is not None:
        pts = sgeom.representative_point()
        sdf["lon"] = pts.x.to_numpy()
        sdf["lat"] = pts.y.to_numpy()
    return sdf


def _median_center(raw_lon: np.ndarray, raw_lat: np.ndarray) -> tuple[float, float] | None:
    """``(lon, lat)`` median of the rows that hold a valid position (``None`` when none does)."""
    ok = np.isfinite(raw_lon) & np.isfinite(raw_lat) & (np.abs(raw_lat) <= 90) & (np.abs(raw_lon) <= 180)
    if ok.any():
        return (float(np.median(raw_lon[ok])), float(np.median(raw_lat[ok])))
    return None


def _registry_rules(country, raw_lon, raw_lat, country_without_points) -> AreaRules:
    """The rules to check under: given, or (``"auto"``) those of the country most points lie in."""
    if isinstance(country, AreaRules):
        return country
    if country == "auto":
        return rules_for(infer_country(raw_lon, raw_lat, no_evidence=country_without_points), inferred=True)
    return rules_for(country)


def _registry_frames(ent: pd.DataFrame, src: pd.DataFrame | None, site_polys):
    """The validated enterprises and sources as GeoDataFrames of points (EPSG:4326); the sites'
    polygons, when the registry gave them, in the enterprises' ``site`` column."""
    import geopandas as gpd

    enterprises = gpd.GeoDataFrame(
        ent.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(ent["lon"], ent["lat"]), crs="EPSG:4326",
    )
    if site_polys is not None:
        enterprises["site"] = gpd.GeoSeries(site_polys.to_numpy(), crs="EPSG:4326")
    if src is None:
        src = pd.DataFrame(columns=["source_id", "enterprise_id", "height_m", "diameter_m", "exit_velocity_m_s",
                                    "exit_temp_k", "pollutants", "lon", "lat", "_row"])
    sources_gdf = gpd.GeoDataFrame(
        src.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(src["lon"], src["lat"]), crs="EPSG:4326",
    )
    return enterprises, sources_gdf


def check_registry(path, *, sources=None, crs="wgs84", strict=False, area_center=None,
                   area_radius_m=60_000.0, country="auto") -> Registry:
    """Validate without raising: the returned :class:`Registry` carries the full report.

    ``country`` (an ISO code, None, an :class:`AreaRules` or ``"auto"``) chooses the rules, as
    for :func:`load_registry`; area loading passes the area's.
    """
    return load_registry(path, sources=sources, crs=crs, strict=strict, area_center=area_center,
                         area_radius_m=area_radius_m, raise_on_error=False, country=country)
