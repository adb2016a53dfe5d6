"""Static matplotlib figures for reports: hotspot map, pass time series, curtain cross-section.

Each function returns a :class:`matplotlib.figure.Figure` built with the object-oriented API
(no pyplot state, safe in threads and without a display). Coordinates are WGS-84
``(lon, lat)``; maps are drawn with an aspect of 1/cos(lat) so metres look square. Times are
displayed in Asia/Shanghai (Beijing time).
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ._artefacts import species_label
from ._style import CONFIDENCE_COLOURS, TIMEZONE_DISPLAY, industry_colours

log = logging.getLogger(__name__)


def _figure(w_in: float, h_in: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w_in, h_in), dpi=110, layout="constrained")


def figure_to_png_base64(fig, *, dpi: int = 110) -> str:
    """PNG bytes of ``fig`` as base64 text (for ``<img src="data:image/png;base64,…">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def hotspot_figure(*, raster_path: Path | None = None, hotspots=None, enterprises=None, targets=None,
                   events=None, title: str = "Hotspots"):
    """Map of the hotspot raster, Gi* polygons by confidence, enterprises and ranked targets.

    ``hotspots``/``enterprises``/``events`` are GeoDataFrames in EPSG:4326 (any may be None);
    ``targets`` a DataFrame with ``rank``, ``enterprise_id`` (and optionally ``lon``/``lat``).
    """
    fig = _figure(7.0, 6.0)
    ax = fig.add_subplot()
    lat_ref = None
    if raster_path is not None:
        import rasterio
        from rasterio.warp import transform_bounds

        with rasterio.open(raster_path) as src:
            arr = src.read(1, masked=True).astype(float).filled(np.nan)
            b = src.bounds if src.crs is None or src.crs.to_epsg() == 4326 else \
                transform_bounds(src.crs, "EPSG:4326", *src.bounds)
            label = (src.descriptions[0] if src.descriptions and src.descriptions[0] else "hotspot intensity")
        pos = np.where(arr > 0, arr, np.nan)
        if np.isfinite(pos).any():
            im = ax.imshow(pos, extent=(b[0], b[2], b[1], b[3]), origin="upper", cmap="YlOrRd", alpha=0.85,
                           vmin=0, vmax=float(np.nanpercentile(pos, 99)), interpolation="nearest")
            fig.colorbar(im, ax=ax, shrink=0.7, label=label)
        lat_ref = (b[1] + b[3]) / 2
    if hotspots is not None and len(hotspots):
        conf = pd.to_numeric(hotspots.get("confidence", 90), errors="coerce").fillna(90).round().astype(int)
        for c, col in sorted(CONFIDENCE_COLOURS.items()):
            sub = hotspots[conf.to_numpy() == c]
            if len(sub):
                sub.plot(ax=ax, facecolor=col, edgecolor=col, alpha=0.45, linewidth=1.2)
                ax.plot([], [], "s", color=col, alpha=0.6, label=f"Gi* {c} %")
    if events is not None and len(events):
        ax.scatter(events.geometry.x, events.geometry.y, s=22, marker="^", color="#67000d", zorder=4,
                   label=f"plume events ({len(events)})")
    if enterprises is not None and len(enterprises):
        ind = enterprises.get("industry", pd.Series("unknown", index=enterprises.index)).fillna("unknown").astype(str)
        cols = industry_colours(ind)
        ax.scatter(enterprises.geometry.x, enterprises.geometry.y, s=12, c=[cols[i] for i in ind],
                   edgecolors="k", linewidths=0.3, zorder=3, label="enterprises")
        lat_ref = lat_ref if lat_ref is not None else float(enterprises.geometry.y.mean())
    if targets is not None and len(targets):
        pos_t = targets
        if enterprises is not None and len(enterprises) and not {"lon", "lat"} <= set(targets.columns):
            e = pd.DataFrame({"enterprise_id": enterprises["enterprise_id"].astype(str),
                              "lon": enterprises.geometry.x, "lat": enterprises.geometry.y})
            pos_t = targets.merge(e, on="enterprise_id", how="inner")
        pos_t = pos_t.dropna(subset=[c for c in ("lon", "lat") if c in pos_t]).head(20) \
            if {"lon", "lat"} <= set(pos_t.columns) else pos_t.iloc[0:0]
        for _, r in pos_t.iterrows():
            ax.annotate(str(int(r["rank"])), (r["lon"], r["lat"]), xytext=(4, 4), textcoords="offset points",
                        fontsize=8, fontweight="bold", color="#08306b",
                        bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "#08306b", "lw": 0.8})
    if lat_ref is not None:
        ax.set_aspect(1.0 / np.cos(np.radians(lat_ref)))
    ax.set_xlabel("longitude (°E, WGS-84)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(title)
    ax.ticklabel_format(useOffset=False)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8, framealpha=0.85)
    return fig


def pick_pass(samples: pd.DataFrame, species: str) -> tuple[str, int] | None:
    """``(mission_id, pass_id)`` of the pass with the highest ``species`` peak, or None."""
    if samples is None or samples.empty or species not in samples or "mission_id" not in samples:
        return None
    v = samples[species].to_numpy(float)
    if not np.isfinite(v).any():
        return None
    i = int(np.nanargmax(v))
    row = samples.iloc[i]
    return str(row["mission_id"]), int(row["pass_id"]) if "pass_id" in samples else 0


def pass_timeseries_figure(samples: pd.DataFrame, *, mission_id: str, pass_id: int, species: str,
                           events=None):
    """A pass's ``species`` time series (Beijing time) with its plume events shaded."""
    sel = samples["mission_id"].astype(str) == str(mission_id)
    if "pass_id" in samples:
        sel &= samples["pass_id"] == pass_id
    s = samples.loc[sel].sort_values("time_utc")
    name, unit = species_label(species)
    fig = _figure(8.0, 3.2)
    ax = fig.add_subplot()
    t = pd.to_datetime(s["time_utc"], utc=True).dt.tz_convert(TIMEZONE_DISPLAY).dt.tz_localize(None)
    ax.plot(t, s[species], lw=0.9, color="#253494", label=name)
    n_ev = 0
    if events is not None and len(events) and {"start_utc", "end_utc"} <= set(events.columns):
        ev = events
        if "mission_id" in ev:
            ev = ev[ev["mission_id"].astype(str) == str(mission_id)]
        if "pass_id" in ev:
            ev = ev[pd.to_numeric(ev["pass_id"], errors="coerce") == pass_id]
        if "species" in ev:
            ev = ev[ev["species"].astype(str) == species]
        for _, e in ev.iterrows():
            a = pd.Timestamp(e["start_utc"]).tz_convert(TIMEZONE_DISPLAY).tz_localize(None) \
                if pd.Timestamp(e["start_utc"]).tzinfo else pd.Timestamp(e["start_utc"])
            b = pd.Timestamp(e["end_utc"]).tz_convert(TIMEZONE_DISPLAY).tz_localize(None) \
                if pd.Timestamp(e["end_utc"]).tzinfo else pd.Timestamp(e["end_utc"])
            ax.axvspan(a, b, color="#e31a1c", alpha=0.25, lw=0, label="plume event" if n_ev == 0 else None)
            ax.annotate(str(e.get("event_id", "")), (a, 1.0), xycoords=("data", "axes fraction"),
                        fontsize=7, va="bottom", color="#a50f15")
            n_ev += 1
    ax.set_xlabel(f"time ({TIMEZONE_DISPLAY})")
    ax.set_ylabel(f"{name} ({unit})")
    ax.set_title(f"{mission_id} pass {pass_id}: {name}, {len(s):,} samples, {n_ev} event(s)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.autofmt_xdate()
    return fig


def pick_curtain(samples: pd.DataFrame, species: str) -> str | None:
    """The drone mission (several sampling heights) with the most samples, or None."""
    if samples is None or samples.empty or "alt_agl_m" not in samples or species not in samples:
        return None
    alt = samples["alt_agl_m"].to_numpy(float)
    d = samples.loc[np.isfinite(alt) & (alt > 10.0), ["mission_id", "alt_agl_m"]]
    if d.empty:
        return None
    g = d.groupby("mission_id", observed=True)["alt_agl_m"].agg(["size", lambda a: np.ptp(a)])
    g = g[g.iloc[:, 1] >= 10.0]
    return None if g.empty else str(g["size"].idxmax())


def curtain_figure(samples: pd.DataFrame, *, mission_id: str, species: str, grid_n: int = 120):
    """Cross-section of a curtain sortie: samples projected on the curtain's main axis.

    Horizontal axis: distance (m) along the principal axis of the sample positions, in a local
    metric CRS; vertical: height AGL (m). The plume is linearly interpolated between samples
    (``scipy.interpolate.griddata``) and drawn as filled contours, with the samples on top.
    """
    from scipy.interpolate import griddata

    from ecopatrol.core.crs import local_metric_crs, lonlat_to_xy

    s = samples.loc[samples["mission_id"].astype(str) == str(mission_id)]
    s = s[np.isfinite(s[species].to_numpy(float)) & np.isfinite(s["alt_agl_m"].to_numpy(float))]
    name, unit = species_label(species)
    fig = _figure(8.0, 3.8)
    ax = fig.add_subplot()
    if len(s) < 4:
        ax.text(0.5, 0.5, "too few samples for a cross-section", ha="center", transform=ax.transAxes)
        return fig
    crs = local_metric_crs(s["lon"].to_numpy(), s["lat"].to_numpy())
    x, y = (np.asarray(v) for v in lonlat_to_xy(s["lon"].to_numpy(), s["lat"].to_numpy(), crs))
    xy = np.column_stack([x - x.mean(), y - y.mean()])
    # principal axis of the horizontal positions
    _, _, vt = np.linalg.svd(xy, full_matrices=False)
    d = xy @ vt[0]
    d = d - d.min()
    z = s["alt_agl_m"].to_numpy(float)
    v = s[species].to_numpy(float)
    gd, gz = np.meshgrid(np.linspace(d.min(), d.max(), grid_n), np.linspace(z.min(), z.max(), grid_n // 2))
    # bin-average first (vectorised) so the triangulation sees at most a few thousand points
    nb_d, nb_z = 4 * grid_n, 2 * grid_n
    cnt, de, ze = np.histogram2d(d, z, bins=(nb_d, nb_z))
    tot, _, _ = np.histogram2d(d, z, bins=(de, ze), weights=v)
    ii, jj = np.nonzero(cnt)
    bd = (de[ii] + de[ii + 1]) / 2
    bz = (ze[jj] + ze[jj + 1]) / 2
    bv = tot[ii, jj] / cnt[ii, jj]
    # scale heights so the interpolation is not dominated by the longer horizontal axis
    zs = (np.ptp(d) / max(np.ptp(z), 1.0)) if np.ptp(z) > 0 else 1.0
    gv = None
    if np.ptp(z) > 0 and np.ptp(d) > 0 and bv.size >= 4:
        try:
            gv = griddata(np.column_stack([bd, bz * zs]), bv, (gd, gz * zs), method="linear")
        except Exception as exc:  # qhull fails on degenerate layouts
            log.debug("curtain interpolation failed: %s", exc)
    if gv is not None and np.isfinite(gv).any():
        cs = ax.contourf(gd, gz, gv, levels=12, cmap="turbo")
        fig.colorbar(cs, ax=ax, label=f"{name} ({unit})")
        ax.scatter(bd, bz, s=2, c="k", alpha=0.35, label="samples (bin means)")
    else:
        sc = ax.scatter(d, z, s=8, c=v, cmap="turbo")
        fig.colorbar(sc, ax=ax, label=f"{name} ({unit})")
    ax.set_xlabel("distance along the curtain (m)")
    ax.set_ylabel("height AGL (m)")
    ax.set_title(f"Curtain {mission_id}: {name} cross-section ({len(s):,} samples, interpolated)")
    return fig
