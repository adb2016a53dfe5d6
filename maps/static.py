"""Static matplotlib figures for reports: hotspot map, pass time series, curtain cross-section.

Each function returns a :class:`matplotlib.figure.Figure` built with the object-oriented API
(no pyplot state, safe in threads and without a display). Coordinates are WGS-84
``(lon, lat)``; maps are drawn with an aspect of 1/cos(lat) so metres look square. Times are
displayed in the area's time zone (Asia/Shanghai by default). Figures show clean data only:
samples with an unusable QA flag are left out (:mod:`ecopatrol.maps.choose`), and the curtain
cross-section uses the curtain samples alone. Labels come from :mod:`ecopatrol.maps.i18n`.
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
from .choose import PassChoice, clean, curtain_samples, pick_curtain, pick_pass
from .i18n import MPL_FONTS, Tr

log = logging.getLogger(__name__)

__all__ = ["PassChoice", "curtain_figure", "figure_to_png_base64", "hotspot_figure", "pass_timeseries_figure",
           "pick_curtain", "pick_pass"]


_FONTS_CHECKED = False


def _register_cjk_fonts() -> None:
    """Make system CJK fonts installed after matplotlib built its font cache known to it (once)."""
    global _FONTS_CHECKED
    if _FONTS_CHECKED:
        return
    _FONTS_CHECKED = True
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    if any(n in known for n in MPL_FONTS[1:]):
        return
    for path in font_manager.findSystemFonts():
        name = Path(path).name.lower()
        if ("cjk" in name or "wqy" in name) and "serif" not in name and "bold" not in name:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError) as exc:
                log.debug("font %s not usable: %s", path, exc)


def _fonts():
    """rcParams giving matplotlib a Chinese fallback font (Noto Sans CJK SC when installed)."""
    import logging as _logging

    import matplotlib

    _logging.getLogger("matplotlib.font_manager").setLevel(_logging.ERROR)
    _register_cjk_fonts()
    # per-glyph fallback runs over the families listed in font.family (not the generic's list)
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    families = [f for f in MPL_FONTS if f in known] or ["sans-serif"]
    return matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False})


def _figure(w_in: float, h_in: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w_in, h_in), dpi=110, layout="constrained")


def figure_to_png_base64(fig, *, dpi: int = 110) -> str:
    """PNG bytes of ``fig`` as base64 text (for ``<img src="data:image/png;base64,…">``)."""
    import warnings

    buf = io.BytesIO()
    with _fonts(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def hotspot_figure(*, raster_path: Path | None = None, hotspots=None, enterprises=None, targets=None,
                   events=None, title: str = "Hotspots", lang: str = "en", top: int = 20):
    """Map of the hotspot raster, Gi* polygons by confidence, enterprises and ranked targets.

    ``hotspots``/``enterprises``/``events`` are GeoDataFrames in EPSG:4326 (any may be None);
    ``targets`` a DataFrame with ``rank``, ``enterprise_id`` (and optionally ``lon``/``lat``);
    the first ``top`` targets are labelled with their rank.
    """
    tr = Tr(lang)
    with _fonts():
        return _hotspot_figure(raster_path, hotspots, enterprises, targets, events, title, tr, top)


def _hotspot_figure(raster_path, hotspots, enterprises, targets, events, title, tr, top):
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
                   label=tr("fig.events", n=len(events)))
    if enterprises is not None and len(enterprises):
        ind = enterprises.get("industry", pd.Series("unknown", index=enterprises.index)).fillna("unknown").astype(str)
        cols = industry_colours(ind)
        ax.scatter(enterprises.geometry.x, enterprises.geometry.y, s=12, c=[cols[i] for i in ind],
                   edgecolors="k", linewidths=0.3, zorder=3, label=tr("fig.enterprises"))
        lat_ref = lat_ref if lat_ref is not None else float(enterprises.geometry.y.mean())
    if targets is not None and len(targets):
        pos_t = targets
        if enterprises is not None and len(enterprises) and not {"lon", "lat"} <= set(targets.columns):
            e = pd.DataFrame({"enterprise_id": enterprises["enterprise_id"].astype(str),
                              "lon": enterprises.geometry.x, "lat": enterprises.geometry.y})
            pos_t = targets.merge(e, on="enterprise_id", how="inner")
        pos_t = pos_t.dropna(subset=[c for c in ("lon", "lat") if c in pos_t]) \
            if {"lon", "lat"} <= set(pos_t.columns) else pos_t.iloc[0:0]
        pos_t = pos_t[pos_t["rank"] <= top]
        for _, r in pos_t.iterrows():
            ax.annotate(str(int(r["rank"])), (r["lon"], r["lat"]), xytext=(4, 4), textcoords="offset points",
                        fontsize=8, fontweight="bold", color="#08306b",
                        bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "#08306b", "lw": 0.8})
    lead = pos_t[pos_t["rank"] <= 3] if targets is not None and len(targets) else None
    _zoom_to_evidence(ax, hotspots, events, lead)
    if lat_ref is not None:
        ax.set_aspect(1.0 / np.cos(np.radians(lat_ref)))
    ax.set_xlabel(tr("fig.lon"))
    ax.set_ylabel(tr("fig.lat"))
    ax.set_title(title)
    ax.ticklabel_format(useOffset=False)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8, framealpha=0.85)
    return fig


def _local_naive(ts, tz: str):
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    return t.tz_convert(tz).tz_localize(None)


def _zoom_to_evidence(ax, hotspots, events, targets, *, pad: float = 0.15, min_half_deg: float = 0.006) -> None:
    """Limit the map to the evidence (hotspots, events, labelled targets), not the whole registry."""
    xs, ys = [], []
    for g in (hotspots, events):
        if g is not None and len(g):
            b = g.total_bounds
            xs += [b[0], b[2]]
            ys += [b[1], b[3]]
    if targets is not None and len(targets) and {"lon", "lat"} <= set(targets.columns):
        xs += list(targets["lon"].astype(float))
        ys += list(targets["lat"].astype(float))
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return
    x0, x1, y0, y1 = xs[ok].min(), xs[ok].max(), ys[ok].min(), ys[ok].max()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    coslat = np.cos(np.radians(cy))
    half = max((x1 - x0) / 2 * coslat, (y1 - y0) / 2) * (1 + pad)   # a square in metres fills the figure
    hy = max(half, min_half_deg)
    hx = hy / coslat
    ax.set_xlim(cx - hx, cx + hx)
    ax.set_ylim(cy - hy, cy + hy)


def pass_timeseries_figure(samples: pd.DataFrame, *, mission_id: str, pass_id: int, species: str,
                           events=None, lang: str = "en", tz: str = TIMEZONE_DISPLAY):
    """A pass's ``species`` time series (local time ``tz``) with its plume events shaded.

    Only clean samples are drawn: rows with an unusable QA flag are left out.
    """
    with _fonts():
        return _pass_timeseries(samples, mission_id, pass_id, species, events, Tr(lang), tz)


def _pass_timeseries(samples, mission_id, pass_id, species, events, tr, tz):
    sel = samples["mission_id"].astype(str) == str(mission_id)
    if "pass_id" in samples:
        sel &= samples["pass_id"] == pass_id
    s = clean(samples.loc[sel]).sort_values("time_utc")
    name, unit = species_label(species)
    fig = _figure(8.0, 3.2)
    ax = fig.add_subplot()
    t = pd.to_datetime(s["time_utc"], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
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
            a, b = _local_naive(e["start_utc"], tz), _local_naive(e["end_utc"], tz)
            ax.axvspan(a, b, color="#e31a1c", alpha=0.25, lw=0, label=tr("fig.plume_event") if n_ev == 0 else None)
            ax.annotate(str(e.get("event_id", "")), (a, 1.0), xycoords=("data", "axes fraction"),
                        fontsize=7, va="bottom", color="#a50f15")
            n_ev += 1
    ax.set_xlabel(tr("fig.time", tz=tr.tz_label(tz)))
    ax.set_ylabel(f"{name} ({unit})")
    ax.set_title(tr("fig.pass_title", m=mission_id, p=pass_id, name=name, n=f"{len(s):,}", k=n_ev))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.autofmt_xdate()
    return fig


def curtain_figure(samples: pd.DataFrame, *, mission_id: str, species: str, sortie: dict | None = None,
                   target_id=None, grid_n: int = 120, lang: str = "en"):
    """Cross-section of a curtain sortie from its curtain samples only.

    The curtain samples are those inside the curtain plane (:func:`ecopatrol.maps.choose.
    curtain_samples`: the plane of the planned ``sortie``'s ``sample`` waypoints, else the plane
    the samples show at three or more heights); transit, background and climb-out samples are
    left out, and so are flagged ones. Horizontal axis: distance (m) along the plane, in a local
    metric CRS; vertical: height AGL (m). The plume is linearly interpolated between samples
    (``scipy.interpolate.griddata``) and drawn as filled contours, with the samples on top.
    The figure's ``_ep_curtain`` attribute holds ``(curtain samples, plane)`` (or None).
    """
    with _fonts():
        got = curtain_samples(samples, mission_id, sortie=sortie, target_id=target_id, species=species)
        fig = _curtain(got, mission_id, species, grid_n, Tr(lang))
    fig._ep_curtain = got
    return fig


def _curtain(got, mission_id, species, grid_n, tr):
    from scipy.interpolate import griddata

    name, unit = species_label(species)
    fig = _figure(8.0, 3.8)
    ax = fig.add_subplot()
    if got is None or len(got[0]) < 4:
        ax.text(0.5, 0.5, tr("fig.too_few"), ha="center", transform=ax.transAxes)
        return fig
    s, _plane = got
    d = s["along_m"].to_numpy(float)
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
        ax.scatter(bd, bz, s=2, c="k", alpha=0.35, label=tr("fig.bin_means"))
    else:
        sc = ax.scatter(d, z, s=8, c=v, cmap="turbo", label=tr("fig.samples"))
        fig.colorbar(sc, ax=ax, label=f"{name} ({unit})")
    ax.set_xlabel(tr("fig.along"))
    ax.set_ylabel(tr("fig.height"))
    ax.set_title(tr("fig.curtain_title", m=mission_id, name=name, n=f"{len(s):,}"))
    return fig
