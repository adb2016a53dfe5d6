"""Where drone sorties start and what they fly to: an area's target sites and launch sites.

:func:`target_sites` turns enterprise ids into :class:`~.patterns.TargetSite` (centre, radius,
sources) in the plan's metric CRS; :func:`_launch_sites` gives the launch sites usable today (or
one checked ad-hoc point), with their ground height. Used by :mod:`.sorties`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely

from ecopatrol.core import settings
from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.errors import InputError, PlanningError

from .airspace import Airspace
from .patterns import TargetSite

ADHOC_SITE_ID = "ADHOC"


def _col(df, name, default):
    return df[name].to_numpy() if name in df.columns else np.full(len(df), default)


def target_sites(area, target_ids: list[str], crs) -> list[TargetSite]:
    """:class:`TargetSite` for each id, in the metric ``crs`` (raises naming unknown ids)."""
    e = area.enterprises
    known = pd.Index(e["enterprise_id"].astype(str))
    unknown = [t for t in target_ids if t not in known]
    if unknown:
        raise InputError(f"{len(unknown)} target(s) not in area {area.name!r}: {', '.join(unknown[:10])}"
                         + (" …" if len(unknown) > 10 else "") + " — check the ids against the registry")
    default_r = float((area.config or {}).get("defaults", {}).get("site_radius_m", settings.DEFAULT_SITE_RADIUS_M))
    sel = e.set_index(e["enterprise_id"].astype(str)).loc[list(target_ids)]
    pts = sel.geometry.representative_point()  # a site may be a polygon
    ex, ey = lonlat_to_xy(pts.x.to_numpy(), pts.y.to_numpy(), crs)
    radius = pd.to_numeric(pd.Series(_col(sel, "site_radius_m", np.nan)), errors="coerce").fillna(default_r).to_numpy()
    src = area.sources
    src = src[src["enterprise_id"].astype(str).isin(target_ids)] if src is not None and len(src) else None
    groups = {}
    if src is not None and len(src):
        sp = src.geometry.representative_point()
        sx, sy = lonlat_to_xy(sp.x.to_numpy(), sp.y.to_numpy(), crs)
        arr = pd.DataFrame({
            "eid": src["enterprise_id"].astype(str).to_numpy(), "x": sx, "y": sy,
            "h": pd.to_numeric(pd.Series(_col(src, "height_m", np.nan)), errors="coerce").fillna(settings.UNKNOWN_STACK_HEIGHT_DRONE_M).to_numpy(),
            "v": pd.to_numeric(pd.Series(_col(src, "exit_velocity_m_s", np.nan)), errors="coerce").to_numpy(),
            "d": pd.to_numeric(pd.Series(_col(src, "diameter_m", np.nan)), errors="coerce").to_numpy(),
            "t": pd.to_numeric(pd.Series(_col(src, "exit_temp_k", np.nan)), errors="coerce").to_numpy(),
        })
        groups = {k: g for k, g in arr.groupby("eid", sort=False)}
    sites = []
    names = _col(sel, "name", "")
    airspace = _col(sel, "airspace", "free")
    for i, eid in enumerate(target_ids):
        g = groups.get(eid)
        kw = {}
        if g is not None:
            kw = dict(src_x_m=g["x"].to_numpy(), src_y_m=g["y"].to_numpy(), src_height_m=g["h"].to_numpy(),
                      src_exit_velocity_m_s=g["v"].to_numpy(), src_diameter_m=g["d"].to_numpy(),
                      src_exit_temp_k=g["t"].to_numpy())
        sites.append(TargetSite(eid, str(names[i]), float(ex[i]), float(ey[i]), float(radius[i]),
                                str(airspace[i] or "free"), **kw))
    return sites


ADHOC_MAX_FROM_AREA_M = 60_000.0  # an ad-hoc launch point farther from the area's enterprises is refused


def _launch_sites(area, crs, airspace: Airspace, warnings: list[str], launch=None) -> pd.DataFrame:
    """The launch sites usable today (metric and WGS-84), with their ground height (NaN without a DEM).

    ``launch`` ``(lon, lat)`` (WGS-84) replaces the area's sites by one ad-hoc point, checked like
    them: it must lie outside every zone that allows no flight, and near the area."""
    if launch is not None:
        lon0, lat0 = (float(v) for v in launch)
        if not (math.isfinite(lon0) and math.isfinite(lat0) and -180 <= lon0 <= 180 and -90 <= lat0 <= 90):
            raise InputError(f"launch point ({lon0}, {lat0}) is not a WGS-84 (lon, lat) position")
        e = area.enterprises
        if len(e):
            from ecopatrol.core.crs import haversine_m

            c = e.geometry.representative_point()
            d = float(np.min(haversine_m(lon0, lat0, c.x.to_numpy(), c.y.to_numpy())))
            if d > ADHOC_MAX_FROM_AREA_M:
                raise InputError(f"launch point ({lon0:.6f}, {lat0:.6f}) is {d / 1000:.0f} km from the nearest "
                                 f"enterprise of area {area.name!r}: check it is LON,LAT in WGS-84")
        x, y = lonlat_to_xy(np.array([lon0]), np.array([lat0]), crs)
        df = pd.DataFrame({"site_id": [ADHOC_SITE_ID], "name": ["ad-hoc launch point"], "lon": [lon0],
                           "lat": [lat0], "x_m": x, "y_m": y})
        for z in airspace.zones:
            if z.blocks(0.0) and shapely.contains_xy(z.geometry, float(x[0]), float(y[0])):
                raise PlanningError(f"launch point ({lon0:.6f}, {lat0:.6f}) lies inside {z.kind} zone "
                                    f"{z.zone_id} {z.name}".rstrip() + ": choose a launch point outside it")
    else:
        ls = area.launch_sites
        if ls is None or not len(ls):
            raise PlanningError(f"area {area.name!r} has no launch sites: add launch_sites.geojson to the area "
                                "folder, or give an ad-hoc launch point (--launch LON,LAT)")
        lon = ls.geometry.x.to_numpy()
        lat = ls.geometry.y.to_numpy()
        x, y = lonlat_to_xy(lon, lat, crs)
        df = pd.DataFrame({"site_id": _col(ls, "site_id", "").astype(str), "name": _col(ls, "name", "").astype(str),
                           "lon": lon, "lat": lat, "x_m": x, "y_m": y})
        bad = airspace.points_blocked(x, y, 0.0, margin=False)
        for sid in df.loc[bad, "site_id"]:
            warnings.append(f"launch site {sid} lies inside a no-fly or restricted zone and is not used")
        df = df[~bad].reset_index(drop=True)
        if not len(df):
            raise PlanningError("every launch site lies inside a no-fly or restricted zone: add a launch site outside "
                                "them, or give an ad-hoc launch point (--launch LON,LAT)")
    df["ground_amsl_m"] = np.asarray(area.elevation_m(df["lon"].to_numpy(), df["lat"].to_numpy()), float)
    return df
