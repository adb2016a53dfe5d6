"""Coordinate checks of registry and area rows: crs names, degrees, swapped lat/lon, points far from the area.

Private plumbing of :mod:`ecopatrol.core.registry` (and :mod:`ecopatrol.core.area`): each check
adds its problems to a :class:`~ecopatrol.core.errors.Report`, naming file, row and field.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .crs import _ALIASES, haversine_m, in_china
from .i18n import Msg
from .rules import AreaRules

#: Outside China (where we cannot tell the country's border) a point this far from the rest of
#: the area cannot belong to it: an error (beyond ``area_radius_m`` it is a warning).
FAR_ERROR_M = 1_000_000.0


_WEB_DATUM = {"gcj02": "GCJ-02 (AMap/Gaode, Tencent)", "bd09": "BD-09 (Baidu)"}


def _check_coordinates(df, file, report, rowno, lon, lat, default_crs, rules: AreaRules):
    """Validate lon/lat/crs columns under the area's rules; returns canonical crs names per row."""
    raw_lon = df["lon"].astype(str).str.strip() if "lon" in df else pd.Series([""] * len(df))
    raw_lat = df["lat"].astype(str).str.strip() if "lat" in df else pd.Series([""] * len(df))
    crs_col = df["crs"].astype(str).str.strip().str.lower() if "crs" in df else pd.Series([""] * len(df))
    allowed = rules.coordinate_systems_allowed
    names = []
    for i in range(len(df)):
        c = crs_col.iat[i]
        if c in ("", "nan", "none"):
            names.append(default_crs)
        elif c in _ALIASES:
            name = _ALIASES[c]
            if name not in allowed:
                report.error(f"{c!r}: {_WEB_DATUM.get(name, name)} coordinates exist only in China and this area's "
                             f"country is {rules.country_label}: give WGS-84 coordinates (`wgs84`)",
                             file=file, row=rowno[i], field="crs")
                names.append(None)
            else:
                names.append(name)
        else:
            names.append(None)
            report.error(Msg("value.unknown_crs", name=repr(c), names=", ".join(allowed)),
                         file=file, row=rowno[i], field="crs")
    for i in range(len(df)):
        if not np.isfinite(lon[i]) or not np.isfinite(lat[i]):
            for name, raw, val in (("lon", raw_lon.iat[i], lon[i]), ("lat", raw_lat.iat[i], lat[i])):
                if not np.isfinite(val):
                    what = (Msg("value.missing_degrees") if raw in ("", "nan")
                            else Msg("value.not_degrees", value=repr(raw)))
                    report.error(what, file=file, row=rowno[i], field=name)
            continue
        x, y = lon[i], lat[i]
        if rules.country_check:  # China: we can tell when a point lies outside the country
            if not in_china(x, y):
                if in_china(y, x):
                    report.error(Msg("value.swapped", lat=f"{y:g}", lon=f"{x:g}"),
                                 file=file, row=rowno[i], field="lat")
                else:
                    extra = (f", where {names[i]} coordinates do not exist" if names[i] in _WEB_DATUM else "")
                    extra += "; it is not a WGS-84 position at all (projected metres?)" if abs(y) > 90 or abs(x) > 180 else ""
                    report.error(f"point ({x:g}, {y:g}) lies outside China{extra}: check the coordinates and their order",
                                 file=file, row=rowno[i], field="lon")
        elif abs(y) > 90 or abs(x) > 180:
            if abs(x) <= 90 and abs(y) <= 180:
                report.error(Msg("value.swapped", lat=f"{y:g}", lon=f"{x:g}"),
                             file=file, row=rowno[i], field="lat")
            else:
                report.error(f"point ({x:g}, {y:g}) is not a WGS-84 position (projected metres?): give decimal degrees",
                             file=file, row=rowno[i], field="lon")
    return names


def _check_far(x, y, file, report, rowno, rules: AreaRules, center, radius_m):
    """Points far from the area: warnings beyond ``radius_m``; outside China errors beyond
    :data:`FAR_ERROR_M` (there we cannot tell the country's border), naming swapped lat/lon."""
    if center is None or not radius_m:
        return
    d = haversine_m(center[0], center[1], x, y)
    valid = np.isfinite(d) & (np.abs(y) <= 90) & (np.abs(x) <= 180)
    if rules.country_check:
        valid &= in_china(x, y)  # points outside China are errors already
    for i in np.flatnonzero(valid & (d > radius_m)):
        if not rules.country_check and d[i] > FAR_ERROR_M:
            ds = haversine_m(center[0], center[1], y[i], x[i]) if abs(x[i]) <= 90 else np.inf
            if ds <= radius_m:
                report.error(f"`lat` {y[i]:g} and `lon` {x[i]:g} look swapped: longitude goes in `lon`, latitude in "
                             "`lat`", file=file, row=rowno[i], field="lat")
            else:
                report.error(f"point ({x[i]:g}, {y[i]:g}) is {d[i] / 1000:,.0f} km from the rest of the area: it cannot "
                             "belong to it — check the coordinates and their order", file=file, row=rowno[i],
                             field="lon")
            continue
        report.warning(f"point is {d[i] / 1000:.1f} km from the area centre (limit {radius_m / 1000:.0f} km): "
                       "check the coordinates or the crs", file=file, row=rowno[i], field="lon")
