"""An operating area: a folder of registry, roads, airspace, launch sites, depot and DEM.

``load_area("jimo")`` gives the bundled synthetic example (generated on first use into a
cache folder); any other argument is an area folder as described in CONTRACTS.md.

An area may lie anywhere: its ``country`` (``area.toml``, or inferred from where the registry
lies) chooses the rules it is checked and planned under (:mod:`ecopatrol.core.rules`), and
``area.rules`` carries them to the planners.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from . import settings
from .errors import InputError, InputFileNotFoundError, Report
from .io import atomic_path
from .osm import roads_bounds
from .rules import AreaRules, infer_country, normalise_country, rules_for

log = logging.getLogger(__name__)

EXAMPLES = ("jimo",)
FAR_WARNING_M = 60_000.0  # launch sites and depots farther from the area's data are warned about
ROAD_FILES = ("roads.osm", "roads.osm.bz2", "roads.osm.pbf")
NOFLY_KINDS = ("no-fly", "restricted")


def cache_dir() -> Path:
    """Folder for generated examples and caches (``$ECOPATROL_CACHE`` or ``~/.cache/ecopatrol``)."""
    root = os.environ.get("ECOPATROL_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ecopatrol"
    p = Path(root)
    p.mkdir(parents=True, exist_ok=True)
    return p


def example_path(name: str = "jimo") -> Path:
    """Path of the generated example area, generating it atomically if needed."""
    from .example import EXAMPLE_VERSION, generate_jimo

    if name not in EXAMPLES:
        raise InputError.keyed("area.unknown_example", name=repr(name), names=", ".join(EXAMPLES))
    target = cache_dir() / f"{name}-v{EXAMPLE_VERSION}"
    if (target / "area.toml").exists():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir()))
    try:
        generate_jimo(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("generated example area %s at %s", name, target)
    return target


@runtime_checkable
class AreaLike(Protocol):
    """What the planners, the simulator and processing read of an area: the type they accept.

    :class:`Area` (what :func:`load_area` returns) is one; a test's in-memory area is another.
    Geometries are WGS-84 (EPSG:4326); ``metric_crs`` is the local metric CRS the work is done in;
    ``config`` is the ``area.toml`` dict (its ``defaults`` give the default wind). The optional
    parts (``path``, ``nofly``, ``launch_sites``, ``depot``, ``roads_path``, ``dem_path``,
    ``rules``, ``elevation_m``) are read with a default where an in-memory area may lack them.
    """

    name: str
    enterprises: object
    sources: object
    config: dict

    @property
    def metric_crs(self): ...


@dataclass
class Area:
    """A loaded operating area. Geometries are WGS-84 (EPSG:4326)."""

    name: str
    path: Path
    enterprises: object
    sources: object
    nofly: object
    launch_sites: object
    depot: object
    roads_path: Path | None
    dem_path: Path | None
    config: dict = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    rules: AreaRules | None = None

    @cached_property
    def metric_crs(self):
        """UTM zone of the area's data: its enterprises, else ``center``, launch sites and depot, or
        the roads' extent; an area with none of them is refused (never placed anywhere by default)."""
        from .crs import local_metric_crs

        e = self.enterprises
        if len(e):
            return local_metric_crs(e.geometry.x.to_numpy(), e.geometry.y.to_numpy())
        ref = _reference_point(self.config, self.roads_path, self.launch_sites, self.depot, scan_roads=True)
        if ref is None:
            raise InputError(f"area {self.name!r} has no enterprises, `center`, launch sites, depot or roads to "
                             "place it: add them, or set `center = [lon, lat]` in area.toml")
        return local_metric_crs(ref[0], ref[1])

    @cached_property
    def _dem(self):
        if self.dem_path is None:
            return None
        import rasterio

        with rasterio.open(self.dem_path) as src:
            data = src.read(1, masked=True).astype("float64").filled(np.nan)
            return data, src.transform, src.crs

    def elevation_m(self, lon, lat):
        """Ground height (m AMSL) at WGS-84 ``(lon, lat)``, bilinear; NaN outside the DEM."""
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        if self._dem is None:
            return np.full(lon.shape, np.nan)
        data, transform, crs = self._dem
        x, y = lon, lat
        if crs is not None and crs.to_epsg() not in (4326, 4490):
            from .crs import lonlat_to_xy

            x, y = lonlat_to_xy(lon, lat, crs)
        col, row = ~transform @ (x, y)
        col = np.asarray(col) - 0.5
        row = np.asarray(row) - 0.5
        h, w = data.shape
        c0 = np.floor(col).astype(int)
        r0 = np.floor(row).astype(int)
        fc = col - c0
        fr = row - r0
        inside = (c0 >= 0) & (r0 >= 0) & (c0 + 1 < w) & (r0 + 1 < h)
        c0c = np.clip(c0, 0, w - 2)
        r0c = np.clip(r0, 0, h - 2)
        z = (data[r0c, c0c] * (1 - fc) * (1 - fr) + data[r0c, c0c + 1] * fc * (1 - fr)
             + data[r0c + 1, c0c] * (1 - fc) * fr + data[r0c + 1, c0c + 1] * fc * fr)
        return np.where(inside, z, np.nan)

    def enterprise(self, enterprise_id: str):
        e = self.enterprises
        m = e["enterprise_id"] == str(enterprise_id)
        if not m.any():
            raise InputError(f"enterprise {enterprise_id!r} is not in area {self.name!r}: check the id "
                             "(`ecopatrol registry check` lists them)")
        return e[m].iloc[0]

    def sources_of(self, enterprise_id: str):
        return self.sources[self.sources["enterprise_id"] == str(enterprise_id)]

    def check_targets(self, ids: list[str]) -> list[str]:
        """Return ``ids`` if all are known; otherwise raise naming every unknown one."""
        known = set(self.enterprises["enterprise_id"])
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(f"{len(unknown)} target(s) not in area {self.name!r}: {', '.join(unknown[:10])}"
                             + (" …" if len(unknown) > 10 else "") + ": check the ids against the registry")
        return ids

    @property
    def defaults(self) -> dict:
        return dict(self.config.get("defaults", {}))

    def default_wind(self):
        """The area's default wind from ``area.toml`` (``[defaults]``), or :mod:`.settings`' (315°/4 m/s)."""
        from .weather import Wind

        d = self.defaults
        return Wind(float(d.get("wind_from_deg", settings.DEFAULT_WIND_FROM_DEG)),
                    float(d.get("wind_speed_m_s", settings.DEFAULT_WIND_SPEED_M_S)), d.get("stability"))

    def summary(self) -> dict:
        from .rules import rules_of

        rules = rules_of(self)
        return {
            "name": self.name, "path": str(self.path), "synthetic": bool(self.config.get("synthetic", False)),
            "country": rules.country_label, "rules": rules.describe(), "height_cap_m": rules.height_cap_m,
            "enterprises": int(len(self.enterprises)), "sources": int(len(self.sources)),
            "positive_list": int(self.enterprises["positive_list"].sum()),
            "nofly_zones": int(len(self.nofly)), "launch_sites": int(len(self.launch_sites)),
            "depots": int(len(self.depot)), "roads": self.roads_path.name if self.roads_path else None,
            "dem": self.dem_path.name if self.dem_path else None,
            "errors": len(self.report.errors), "warnings": len(self.report.warnings),
        }


def _read_points(path: Path, id_col: str, report: Report, what: str):
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        report.error(f"cannot be read as GeoJSON: {exc}", file=path)
        return gpd.GeoDataFrame({id_col: [], "name": []}, geometry=[], crs="EPSG:4326")
    if gdf.crs is not None and gdf.crs.to_epsg() not in (4326, 4490):
        gdf = gdf.to_crs("EPSG:4326")
    gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    for i, g in enumerate(gdf.geometry, start=1):
        if g is None or g.is_empty or g.geom_type != "Point":
            report.error(f"feature {i} is not a point: each {what} is one point", file=path, row=i)
    if id_col not in gdf:
        gdf[id_col] = [f"{what[:1].upper()}{i + 1}" for i in range(len(gdf))]
    if "name" not in gdf:
        gdf["name"] = gdf[id_col]
    gdf[id_col] = gdf[id_col].astype(str)
    return gdf


def _reference_point(config, roads, launch, depot, *, scan_roads=False, others=None):
    """Where the area is, from its data other than the registry: ``center``, the roads' extent,
    the median of launch sites and depot (or of ``others``, ``(lon, lat)`` arrays); None if none."""
    c = config.get("center")
    if c is not None:
        try:
            return float(c[0]), float(c[1])
        except (TypeError, ValueError, IndexError):
            pass
    b = roads_bounds(roads, scan=scan_roads)
    if b is not None:
        return (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0
    if others is not None and len(others[0]):
        return float(np.median(others[0])), float(np.median(others[1]))
    xs = [g.geometry.x.to_numpy() for g in (launch, depot) if g is not None and len(g)]
    if xs:
        ys = [g.geometry.y.to_numpy() for g in (launch, depot) if g is not None and len(g)]
        x, y = np.concatenate(xs), np.concatenate(ys)
        ok = np.isfinite(x) & np.isfinite(y) & (np.abs(y) <= 90) & (np.abs(x) <= 180)
        if ok.any():
            return float(np.median(x[ok])), float(np.median(y[ok]))
    return None


def load_area(path_or_name: str | Path, *, strict: bool = False, raise_on_error: bool = True) -> Area:
    """Load and validate an area folder (or the bundled example named ``jimo``).

    Every problem of every part is collected in ``area.report``; with ``raise_on_error``
    (default) a :class:`~ecopatrol.core.errors.ValidationError` lists them all.
    """
    if isinstance(path_or_name, str) and path_or_name in EXAMPLES and not Path(path_or_name).is_dir():
        path = example_path(path_or_name)
    else:
        path = Path(path_or_name)
    if not path.is_dir():
        raise InputFileNotFoundError.keyed("area.not_folder", path=path)
    report = Report()
    toml_path = path / "area.toml"
    config, country = _read_config(toml_path, report)
    name = str(config.get("name", path.name))
    # launch sites, depot and roads first: outside China they tell where the area is
    pts_report = Report()
    launch, depot = _read_launch_and_depot(path, pts_report)
    roads = next((path / f for f in ROAD_FILES if (path / f).exists()), None)
    reference = _reference_point(config, roads, launch, depot)
    reg = _load_area_registry(path, config, reference, country)
    rules = _area_rules(config, reg, report, toml_path)
    enterprises, sources = reg.enterprises, reg.sources
    nofly = _read_nofly(path / "nofly.geojson", report)
    report.extend(pts_report)
    _check_points(config, roads, enterprises, nofly, rules, report,
                  ((launch, path / "launch_sites.geojson"), (depot, path / "depot.geojson")))
    if roads is None:
        report.warning("no roads.osm / roads.osm.bz2 / roads.osm.pbf: van routes cannot be planned", file=path / "roads.osm")
    dem = _dem_of(path, config, report, toml_path)
    if (path / "monitors.csv").is_file():  # online monitors (issue 17): checked with the registry
        from .limits import limits_for_area
        from .monitors import load_monitors

        lim = limits_for_area(path, raise_on_error=False)
        report.extend(lim.report)
        report.extend(load_monitors(path / "monitors.csv", enterprises=enterprises, sources=sources,
                                    limit_sets=lim.sets(), raise_on_error=False).report)

    area = Area(name=name, path=path, enterprises=enterprises, sources=sources, nofly=nofly,
                launch_sites=launch, depot=depot, roads_path=roads, dem_path=dem, config=config, report=report,
                rules=rules)
    if dem is not None and len(enterprises):
        try:
            z = area.elevation_m(enterprises.geometry.x.to_numpy(), enterprises.geometry.y.to_numpy())
            n_out = int(np.isnan(z).sum())
            if n_out:
                report.warning(f"does not cover {n_out} of {len(z)} enterprises: heights there are unknown", file=dem)
        except Exception as exc:
            report.error(f"cannot be read as a GeoTIFF: {exc}", file=dem)
    log.info("area %s (%s): %d enterprises, %d sources, %d zones, %d errors, %d warnings", name,
             rules.describe(), len(enterprises), len(sources), len(nofly), len(report.errors),
             len(report.warnings))
    if raise_on_error:
        report.raise_if_errors(f"area `{name}`", strict=strict)
    return area


def _read_config(toml_path: Path, report: Report) -> tuple[dict, str | object]:
    """``area.toml`` as a dict (``{}`` when absent or unreadable, said in ``report``) and the
    country it names (``"auto"``: inferred from the registry)."""
    config: dict = {}
    if toml_path.exists():
        try:
            config = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            report.error(f"is not valid TOML: {exc}", file=toml_path)
    else:
        report.warning("is missing: using defaults (name from the folder, wind 315/4 D)", file=toml_path)
    country = "auto"  # inferred from the registry
    if "country" in config:
        try:
            country = normalise_country(config["country"])
        except InputError as exc:
            report.error(str(exc), file=toml_path, field="country")
    return config, country


def _read_launch_and_depot(path: Path, report: Report):
    """``launch_sites.geojson`` and ``depot.geojson`` (empty frames, with a warning, when absent)."""
    import geopandas as gpd

    ls_path = path / "launch_sites.geojson"
    if ls_path.exists():
        launch = _read_points(ls_path, "site_id", report, "launch site")
    else:
        report.warning("is missing: drone plans will need a launch site", file=ls_path)
        launch = gpd.GeoDataFrame({"site_id": [], "name": []}, geometry=[], crs="EPSG:4326")
    dp = path / "depot.geojson"
    if dp.exists():
        depot = _read_points(dp, "depot_id", report, "depot")
    else:
        report.warning("is missing: van routes will need --depot", file=dp)
        depot = gpd.GeoDataFrame({"depot_id": [], "name": []}, geometry=[], crs="EPSG:4326")
    return launch, depot


def _load_area_registry(path: Path, config: dict, reference, country):
    """The area's registry (``registry.gpkg``, else ``registry.csv`` with ``sources.csv``), checked
    against the area's reference point; refused when there is none."""
    from .registry import load_registry

    kw = {"area_center": reference, "country": country,
          "country_without_points": infer_country([reference[0]], [reference[1]]) if reference else "CN"}
    reg_crs = config.get("defaults", {}).get("registry_crs", "wgs84")
    if (path / "registry.gpkg").exists():
        return load_registry(path / "registry.gpkg", crs=reg_crs, raise_on_error=False, **kw)
    if (path / "registry.csv").exists():
        src = path / "sources.csv"
        return load_registry(path / "registry.csv", sources=src if src.exists() else None, crs=reg_crs,
                             raise_on_error=False, **kw)
    raise InputFileNotFoundError.keyed("area.no_registry", path=path)


def _area_rules(config: dict, reg, report: Report, toml_path: Path):
    """The rules of the registry's country with the ``[limits]`` of ``area.toml``; the registry's and
    the rules' problems are added to ``report``."""
    limits = config.get("limits") or {}
    if not isinstance(limits, dict):
        report.error("`limits` must be a table: write `[limits]` then `height_cap_m = 120`", file=toml_path,
                     field="limits")
        limits = {}
    rules_report = Report()
    rules = rules_for(reg.rules.country, height_cap_m=limits.get("height_cap_m"),
                      inferred=reg.rules.country_inferred, report=rules_report, file=toml_path)
    report.extend(reg.report)
    report.extend(rules_report)
    return rules


def _read_nofly(nofly_path: Path, report: Report):
    """``nofly.geojson`` in EPSG:4326 with ``zone_id``, ``name``, ``kind``, ``ceiling_m``; every zone
    that is not a valid polygon or of a known kind is reported."""
    import geopandas as gpd

    if not nofly_path.exists():
        report.warning("is missing: no no-fly zones will be respected", file=nofly_path)
        return gpd.GeoDataFrame({"zone_id": [], "name": [], "kind": [], "ceiling_m": []}, geometry=[], crs="EPSG:4326")
    try:
        nofly = gpd.read_file(nofly_path)
        if nofly.crs is not None and nofly.crs.to_epsg() not in (4326, 4490):
            nofly = nofly.to_crs("EPSG:4326")
        nofly = nofly.set_crs("EPSG:4326", allow_override=True)
    except Exception as exc:
        report.error(f"cannot be read as GeoJSON: {exc}", file=nofly_path)
        nofly = gpd.GeoDataFrame({"zone_id": [], "name": [], "kind": [], "ceiling_m": []}, geometry=[], crs="EPSG:4326")
    for col, default in (("zone_id", None), ("name", ""), ("kind", "no-fly"), ("ceiling_m", np.nan)):
        if col not in nofly:
            nofly[col] = [f"Z{i + 1}" for i in range(len(nofly))] if col == "zone_id" else default
    nofly["ceiling_m"] = nofly["ceiling_m"].astype(float)
    for i, (g, kind) in enumerate(zip(nofly.geometry, nofly["kind"]), start=1):
        if g is None or g.geom_type not in ("Polygon", "MultiPolygon"):
            report.error("is not a polygon: zones are polygons", file=nofly_path, row=i, field="geometry")
        elif not g.is_valid:
            report.error("polygon is invalid (self-intersecting?): fix it in QGIS (Vector ▸ Geometry ▸ Fix)",
                         file=nofly_path, row=i, field="geometry")
        if kind not in NOFLY_KINDS:
            report.error(f"kind {kind!r}: use 'no-fly' or 'restricted'", file=nofly_path, row=i, field="kind")
    return nofly


def _check_points(config: dict, roads, enterprises, nofly, rules, report: Report, frames) -> None:
    """Launch sites and depots (``frames``: ``(frame, file)`` pairs): in the country (or valid
    WGS-84), not far from the area, not inside a zone that allows no flight."""
    from .crs import in_china
    from .registry import _check_far

    ent_xy = (enterprises.geometry.x.to_numpy(), enterprises.geometry.y.to_numpy()) if len(enterprises) else None
    if ent_xy is not None:
        ok = np.isfinite(ent_xy[0]) & np.isfinite(ent_xy[1])
        ent_xy = (ent_xy[0][ok], ent_xy[1][ok])
    pts_ref = _reference_point(config, roads, None, None, others=ent_xy)
    for gdf, p in frames:
        if not len(gdf):
            continue
        gx, gy = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
        if rules.country_check:
            bad = ~in_china(gx, gy)
            for i in np.flatnonzero(bad):
                report.error("point lies outside China: check coordinate order (lon, lat)", file=p, row=int(i) + 1)
        else:
            bad = ~((np.abs(gy) <= 90) & (np.abs(gx) <= 180))
            for i in np.flatnonzero(bad):
                report.error(f"point ({gx[i]:g}, {gy[i]:g}) is not a WGS-84 (lon, lat) position: check the "
                             "coordinate order", file=p, row=int(i) + 1)
        _check_far(gx, gy, p, report, np.arange(len(gdf)) + 1, rules, pts_ref, FAR_WARNING_M)
        if len(nofly):
            closed = nofly[nofly["ceiling_m"].isna() | (nofly["ceiling_m"] <= 0)]  # no flight at all
            inside = gdf.geometry.apply(lambda g, z=closed: bool(z.intersects(g).any()))
            for i in np.flatnonzero(inside.to_numpy()):
                report.error("point lies inside a no-fly zone", file=p, row=int(i) + 1)


def _dem_of(path: Path, config: dict, report: Report, toml_path: Path) -> Path | None:
    """The DEM: the file ``area.toml`` names (``dem = "…"``, relative to the folder), else ``dem.tif``;
    ``None`` (reported) when there is none."""
    dem = path / "dem.tif"
    if config.get("dem") is not None:  # area.toml may name the DEM: `dem = "srtm_qingdao.tif"`
        named = Path(str(config["dem"])).expanduser()
        dem = named if named.is_absolute() else path / named
        if not dem.is_file():
            report.error(f"`dem = {str(config['dem'])!r}` names no file ({dem}): fix the path (relative to the area "
                         "folder) or remove the key to use dem.tif", file=toml_path, field="dem")
            return None
    elif not dem.exists():
        report.warning("is missing: heights above ground cannot be computed (drone plans need a DEM, or "
                       "--flat-ground)", file=dem)
        return None
    return dem


def export_area(path_or_name: str | Path, out_dir: str | Path) -> Path:
    """Copy an area (or generate the example) into ``out_dir`` as an area folder."""
    src = example_path(str(path_or_name)) if str(path_or_name) in EXAMPLES else Path(path_or_name)
    if not src.is_dir():
        raise InputFileNotFoundError(f"area `{src}` is not a folder")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (out / "area.toml").exists():
        raise InputError(f"`{out}` exists and is not an area folder: choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    # area.toml first: a folder interrupted half way (killed) is then still recognised as an area
    # folder, and exporting again completes it
    for f in sorted(src.iterdir(), key=lambda f: (f.name != "area.toml", f.name)):
        if f.is_file() and not f.name.endswith(".tmp"):
            with atomic_path(out / f.name) as tmp:
                shutil.copyfile(f, tmp)
    log.info("exported area %s to %s", src.name, out)
    return out
