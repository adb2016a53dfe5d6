"""The interactive hotspot map (folium / Leaflet) of an ecopatrol output folder.

Layers: the area's own roads (an offline vector base, always drawn), the hotspot raster, no-fly
and restricted zones, Gi* hotspot polygons by confidence, van routes (teal: monitoring,
background and transit legs), drone sorties (purple: direction arrows, heights, launch sites),
sample tracks coloured by concentration (thinned for display), plume events, enterprises
(industry colour, positive list hollow, target rank badges, popups with evidence and reasons),
online-monitoring alarms per firm (:mod:`ecopatrol.maps._alarms`, from ``alarms.csv``) and the wind; a layer control, a collapsible legend and bounds fitted to the data.

Every page is self-contained: Leaflet is always inlined (:mod:`ecopatrol.maps.offline`), so
the map works with no network. A tile basemap, when chosen, is drawn *over* the offline roads
(the roads' pane is below the tile pane): if the tile server is unreachable the roads remain.
Every user-facing string comes from :mod:`ecopatrol.maps.i18n` (``lang="zh"`` or ``"en"``).

Every artefact is WGS-84 ``(lon, lat)``. With ``basemap="amap"`` (AMap/Gaode tiles, GCJ-02)
every overlay — points, lines, polygons, the roads and the raster's bounds — is shifted to
GCJ-02 with :func:`ecopatrol.core.crs.wgs84_to_gcj02` exactly once, when drawn; with ``osm``
or ``none`` it stays WGS-84. The page exposes ``window.ecopatrol`` (``map``, ``layers`` by
their stable English names, ``bounds``, ``lang``) for tests and for analysts' console use.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ecopatrol.core.errors import InputError

from ._alarms import L_ALARMS, AlarmLayers
from ._artefacts import Artefacts, load_artefacts, species_label
from ._geojson import Display, arrowheads, feature, line, popup_table
from ._layers_enterprises import EnterpriseLayers
from ._layers_plans import PlanLayers
from ._overlays import MAX_RASTER_PX, MAX_TRACK_POINTS, raster_png, thin_tracks
from ._style import (
    CONFIDENCE_COLOURS,
    ZONE_STYLES,
    atomic_write_text,
    conc_class,
    conc_colours,
    conc_edges,
    esc,
    fmt_num,
)
from ._text import area_timezone, local_time
from .i18n import Tr, resolve_lang

log = logging.getLogger(__name__)

__all__ = ["BASEMAPS", "MAX_RASTER_PX", "MAX_TRACK_POINTS", "TOP_TARGETS", "build_map", "make_map", "thin_tracks"]

Basemap = Literal["osm", "amap", "none"]
BASEMAPS: tuple[str, ...] = ("osm", "amap", "none")
TOP_TARGETS = 20  # rank badges are drawn for the first N targets; every ranked firm's popup shows its rank
#: Consecutive display points further apart than this are not joined (a data gap).
TRACK_GAP_M = 250.0
AMAP_TILES = ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
              "&x={x}&y={y}&z={z}")
_M_PER_DEG = 111_320.0

# Layer names: the stable keys of window.ecopatrol.layers (shown translated in the layer control).
L_ROADS = "Roads"
L_ZONES = "No-fly & restricted zones"
L_RASTER = "Hotspot raster"
L_HOTSPOTS = "Gi* hotspots"
L_TRACKS = "Sample tracks"
L_EVENTS = "Plume events"
L_VAN = "Van routes"
L_DRONE = "Drone sorties"
L_SITES = "Launch sites & depot"
L_ENTERPRISES = "Enterprises"
L_TARGETS = "Inspection targets"
L_WIND = "Wind"
_LAYER_KEYS = {L_ROADS: "layer.roads", L_ZONES: "layer.zones", L_RASTER: "layer.raster", L_HOTSPOTS: "layer.hotspots",
               L_TRACKS: "layer.tracks", L_EVENTS: "layer.events", L_VAN: "layer.van", L_DRONE: "layer.drone",
               L_SITES: "layer.sites", L_ENTERPRISES: "layer.enterprises", L_TARGETS: "layer.targets",
               L_WIND: "layer.wind", L_ALARMS: "layer.alarms"}


class _MapBuilder(PlanLayers, EnterpriseLayers, AlarmLayers):
    def __init__(self, art: Artefacts, *, basemap: str, lang: str, top_targets: int = TOP_TARGETS):
        self.art = art
        self.basemap = basemap
        self.t = Tr(lang)
        self.tz = area_timezone(art.area)
        self.top_targets = int(top_targets)
        self.disp = Display(basemap)
        self.layers: dict[str, tuple[str, list[dict]]] = {}   # name -> (kind, features)
        self.raster: dict | None = None
        self.legend: list[str] = []
        self.counts: dict[str, int] = {}

    # -- helpers -----------------------------------------------------------
    def _add(self, name: str, features: list[dict]) -> None:
        if features:
            self.layers.setdefault(name, ("geojson", []))[1].extend(features)

    def _time(self, ts) -> str:
        return local_time(ts, self.tz, "%Y-%m-%d %H:%M:%S") + f" ({self.t.tz_label(self.tz)})"

    def _geo_features(self, gdf, style_of, popup_of=None, tooltip_of=None, kind: str = "",
                      fit: bool = True) -> list[dict]:
        """Features of a GeoDataFrame (EPSG:4326) shifted to the display datum."""
        import shapely

        if gdf is None or len(gdf) == 0:
            return []
        gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
        geoms = self.disp.geoms(gdf.geometry.to_numpy(), extend=fit)
        gj = [json.loads(s) for s in shapely.to_geojson(geoms)]
        out = []
        for g, (_, row) in zip(gj, gdf.iterrows()):
            props = {"kind": kind, "_style": style_of(row)}
            if popup_of:
                props["_popup"] = popup_of(row)
            if tooltip_of:
                props["_tooltip"] = tooltip_of(row)
            out.append(feature(g, **props))
        return out

    # -- layers ------------------------------------------------------------
    def roads(self) -> None:
        from .roads import ROAD_STYLES, find_roads, road_features

        path = find_roads(self.art.area)
        if path is None:
            return
        try:
            feats = road_features(path, lambda g: self.disp.geoms(g, extend=False))
        except Exception as exc:  # an unreadable road file must not cost the whole map
            log.warning("roads %s not drawn: %s", path, exc)
            return
        self._add(L_ROADS, feats)
        self.counts["road_lines"] = sum(f["properties"]["n_lines"] for f in feats)
        st = ROAD_STYLES["major"]
        self.legend.append(f'<div><span class="ln" style="border-top:{st["weight"]:.0f}px solid {st["color"]}"></span>'
                           f"{esc(self.t('legend.roads', file=path.name))}</div>")

    def zones(self) -> None:
        t = self.t
        nf = self.art.nofly
        if nf is None or len(nf) == 0:
            return

        def style(r):
            return ZONE_STYLES.get(str(r.get("kind", "no-fly")), ZONE_STYLES["no-fly"])

        def ceiling(r):
            c = r.get("ceiling_m")
            return t("zone.no_flight") if c is None or pd.isna(c) else t("zone.ceiling", m=fmt_num(c))

        def kind(r):
            return t("zone.restricted") if str(r.get("kind")) == "restricted" else t("zone.nofly")

        feats = self._geo_features(nf, style, popup_of=lambda r: popup_table(
            str(r.get("name", r.get("zone_id", ""))),
            [(t("col.zone"), r.get("zone_id")), (t("col.kind"), kind(r)), (t("col.ceiling"), ceiling(r))]),
            tooltip_of=lambda r: f"{kind(r)}: {r.get('name', r.get('zone_id', ''))} ({ceiling(r)})",
            kind="zone", fit=False)
        self._add(L_ZONES, feats)
        self.legend.append(
            f'<div><span class="sw" style="background:{ZONE_STYLES["no-fly"]["fillColor"]}"></span>'
            f"{esc(t('legend.nofly'))}</div>"
            f'<div><span class="sw" style="background:{ZONE_STYLES["restricted"]["fillColor"]}"></span>'
            f"{esc(t('legend.restricted'))}</div>")

    def hotspot_raster(self) -> None:
        path = self.art.hotspots_tif
        if path is None:
            return
        png, bounds, label, vmax = raster_png(path)
        if png is None:
            return
        (s, w), (n, e) = bounds
        x, y = self.disp.xy([w, e], [s, n])
        self.raster = {"png": png, "bounds": [[float(y[0]), float(x[0])], [float(y[1]), float(x[1])]],
                       "label": label}
        self.legend.append(
            f'<div><span class="sw" style="background:linear-gradient(90deg,rgba(255,255,178,.3),'
            f'#fd8d3c,#bd0026)"></span>{esc(self.t("legend.raster", label=label, vmax=fmt_num(vmax)))}</div>')

    def hotspots(self) -> None:
        t = self.t
        hs = self.art.hotspots
        if hs is None or len(hs) == 0:
            return

        def conf(r):
            try:
                return int(round(float(r.get("confidence", 90))))
            except (TypeError, ValueError):
                return 90

        def style(r):
            c = CONFIDENCE_COLOURS.get(conf(r), "#fd8d3c")
            return {"color": c, "weight": 2, "fillColor": c,
                    "fillOpacity": {99: 0.45, 95: 0.35}.get(conf(r), 0.25)}

        cols = [c for c in hs.columns if c != "geometry"]
        feats = self._geo_features(
            hs.sort_values("confidence") if "confidence" in hs else hs, style,
            popup_of=lambda r: popup_table(t("popup.hotspot", c=conf(r)),
                                           [(c, fmt_num(r[c]) if isinstance(r[c], float) else r[c]) for c in cols]),
            tooltip_of=lambda r: t("popup.hotspot", c=conf(r)), kind="hotspot")
        self._add(L_HOTSPOTS, feats)
        self.legend.append("<div>" + " ".join(
            f'<span class="sw" style="background:{c}"></span>{k} %' for k, c in
            sorted(CONFIDENCE_COLOURS.items())) + f" {esc(t('legend.gi_confidence'))}</div>")

    def tracks(self, *, max_points: int) -> None:
        s = self.art.samples
        species = self.art.species()
        if s is None or len(s) == 0 or not species:
            return
        col = species[0]
        pts = thin_tracks(s, col, max_points=max_points)
        if len(pts) < 2:
            return
        x, y = self.disp.xy(pts["lon"].to_numpy(), pts["lat"].to_numpy())
        v = pts["value"].to_numpy()
        edges = conc_edges(v)
        colours = conc_colours(len(edges) - 1)
        track = pts["track"].to_numpy()
        # segments between consecutive display points of the same track, no gaps
        same = track[1:] == track[:-1]
        coslat = math.cos(math.radians(float(np.nanmean(y))))
        dist = np.hypot(np.diff(x) * _M_PER_DEG * coslat, np.diff(y) * _M_PER_DEG)
        ok = same & (dist <= TRACK_GAP_M) & np.isfinite(v[1:]) & np.isfinite(x[1:]) & np.isfinite(x[:-1])
        i = np.flatnonzero(ok)
        cls = conc_class(np.fmax(v[i], v[i + 1]), edges)
        labels = pts["label"].to_numpy()
        name, unit = species_label(col)
        order = np.lexsort((i, cls, track[i]))
        i, cls = i[order], cls[order]
        key = track[i] * 100 + cls
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], len(i)]
        feats = []
        for a, b in zip(starts, ends):
            seg = i[a:b]
            coords = np.stack([np.column_stack([x[seg], y[seg]]), np.column_stack([x[seg + 1], y[seg + 1]])],
                              axis=1).round(6).tolist()
            c = int(cls[a])
            feats.append(feature(
                {"type": "MultiLineString", "coordinates": coords}, kind="track",
                _style={"color": colours[c], "weight": 4, "opacity": 0.9, "lineCap": "round"},
                _tooltip=f"{labels[seg[0]]}: {name} {fmt_num(edges[c])}–{fmt_num(edges[c + 1])} {unit}"))
        self._add(L_TRACKS, feats)
        self.counts["track_points"] = len(pts)
        self.counts["samples"] = len(s)
        ticks = "".join(f"<span>{fmt_num(e)}</span>" for e in edges[:: max(1, len(edges) // 4)])
        grad = ",".join(colours)
        self.legend.append(
            f"<div><b>{esc(name)} ({esc(unit)})</b>, "
            f"{esc(self.t('legend.tracks', n=f'{len(s):,}', k=f'{len(pts):,}'))}"
            f'<div class="bar" style="background:linear-gradient(90deg,{grad})"></div>'
            f'<div class="ticks">{ticks}<span>{fmt_num(edges[-1])}</span></div></div>')
        self.track_species = (col, name, unit)

    def events(self) -> None:
        t = self.t
        ev = self.art.events
        if ev is None or len(ev) == 0:
            return
        enh = pd.to_numeric(ev.get("peak_enhancement", pd.Series(np.nan, index=ev.index)), errors="coerce")
        ref = float(np.nanmax(enh)) if np.isfinite(enh).any() else 1.0

        def confirmed(r):
            return bool(r.get("confirmed", False)) and str(r.get("confirmed")).lower() not in ("false", "0")

        def style(r):
            e = float(pd.to_numeric(r.get("peak_enhancement", np.nan), errors="coerce"))
            rad = 5 + 9 * math.sqrt(max(e, 0) / ref) if np.isfinite(e) and ref > 0 else 6
            c = "#67000d" if confirmed(r) else "#f16913"
            return {"radius": round(rad, 1), "color": "#fff", "weight": 1.5, "fillColor": c, "fillOpacity": 0.9}

        def popup(r):
            rows = [(t("col.species"), r.get("species")), (t("col.platform_mission_pass"),
                    f"{r.get('platform_id', '—')} / {r.get('mission_id', '—')} / {r.get('pass_id', '—')}"),
                    (t("col.start"), self._time(r.get("start_utc"))),
                    (t("col.duration"), f"{fmt_num(r.get('duration_s'))} s"),
                    (t("col.peak"), fmt_num(r.get("peak"))), (t("col.peak_enhancement"), fmt_num(r.get("peak_enhancement"))),
                    (t("col.samples"), r.get("n_samples")), (t("col.confirmed"), t.yes_no(confirmed(r))),
                    (t("col.passes"), r.get("n_passes")),
                    (t("col.wind"), t("wind.short", deg=fmt_num(r.get("wind_from_deg")),
                                      spd=fmt_num(r.get("wind_speed_m_s"))))]
            return popup_table(t("popup.event", id=r.get("event_id", "")), rows, self._attribution_html(
                evidence_id=r.get("event_id")))

        feats = self._geo_features(ev, style, popup_of=popup,
                                   tooltip_of=lambda r: t("tooltip.event", id=r.get("event_id", ""),
                                                          species=r.get("species", ""), peak=fmt_num(r.get("peak"))),
                                   kind="event")
        self._add(L_EVENTS, feats)
        self.legend.append(f'<div><span class="dot" style="background:#67000d"></span>{esc(t("legend.event_confirmed"))} '
                           f'<span class="dot" style="background:#f16913"></span>{esc(t("legend.event_single"))}</div>')

    def wind_arrow(self) -> dict | None:
        w = self.art.wind()
        b = self.disp.bounds()
        if w is None or b is None:
            return w
        (s, wl), (n, e) = b
        # drawn in the upper-left part of the data, away from the usual centre of interest
        cy, cx = n - 0.12 * (n - s), wl + 0.15 * (e - wl)
        coslat = math.cos(math.radians(cy))
        span_m = max((e - wl) * _M_PER_DEG * coslat, (n - s) * _M_PER_DEG, 500.0)
        length_m = span_m * 0.18
        to = math.radians((w["from_deg"] + 180.0) % 360.0)
        ux, uy = math.sin(to), math.cos(to)
        x0 = cx - ux * length_m / 2 / (_M_PER_DEG * coslat)
        y0 = cy - uy * length_m / 2 / _M_PER_DEG
        x1 = cx + ux * length_m / 2 / (_M_PER_DEG * coslat)
        y1 = cy + uy * length_m / 2 / _M_PER_DEG
        tip = self.t.wind(w)
        feats = [feature(line([x0, x1], [y0, y1]), kind="wind", _tooltip=tip,
                         _style={"color": "#045a8d", "weight": 4, "opacity": 0.8})]
        feats += [feature(tri, kind="arrow", _tooltip=tip, _style={"color": "#045a8d", "weight": 1,
                                                                   "fillColor": "#045a8d", "fillOpacity": 0.9})
                  for tri in arrowheads([x0, x1], [y0, y1], size_m=length_m * 0.25, min_seg_m=0.0)]
        # arrowhead at the end rather than the middle: shift it
        for f in feats[1:]:
            ring = np.asarray(f["geometry"]["coordinates"][0])
            ring += np.array([(x1 - x0) / 2 * 0.85, (y1 - y0) / 2 * 0.85])
            f["geometry"]["coordinates"] = [ring.round(6).tolist()]
        self._add(L_WIND, feats)
        return w


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

def make_map(art: Artefacts, *, basemap: Basemap = "osm", offline: bool = True, lang: str | None = None,
             max_track_points: int = MAX_TRACK_POINTS):
    """Build the folium Map of loaded artefacts (see :func:`build_map`)."""
    from ._alarms import layer_toggles
    from ._leaflet import elements

    if basemap not in BASEMAPS:
        raise InputError(f"basemap {basemap!r}: use one of {', '.join(BASEMAPS)}")
    lang = resolve_lang(lang, art.area)
    GeoJsonLayer, Pane, Control, Registry = elements()
    b = _MapBuilder(art, basemap=basemap, lang=lang)
    wind = _build_layers(b, max_track_points=max_track_points)
    bounds = b.disp.bounds()
    if bounds is None:
        raise InputError(f"`{art.folder}`: nothing to draw — the artefacts found ({', '.join(art.found)}) "
                         "hold no geometry")
    m = _base_map(b, bounds, Pane)
    registered, n_features = _add_layers(m, b, GeoJsonLayer)
    _add_panels(m, b, wind, Control, lang=lang)
    m.fit_bounds(bounds, padding=(20, 20))
    m.add_child(Registry(registered, bounds, basemap, lang))
    m.add_child(layer_toggles())   # the legend's checkboxes (the alarms' layer)
    m._ecopatrol_summary = {"layers": [n for n, _ in registered], "features": n_features, "lang": lang,
                            "counts": dict(b.counts, **{n: len(b.layers[n][1]) for n in b.layers})}
    return m


def _build_layers(b: _MapBuilder, *, max_track_points: int) -> dict | None:
    """Run every layer builder, in drawing order; returns the wind drawn (or None)."""
    b.roads()
    b.zones()
    b.hotspot_raster()
    b.hotspots()
    b.tracks(max_points=max_track_points)
    b.events()
    b.van()
    b.drone()
    b.sites()
    b.enterprises()
    b.alarms()
    return b.wind_arrow()


def _base_map(b: _MapBuilder, bounds, Pane):
    """The folium Map centred on ``bounds``: Leaflet inlined, the roads' pane, the chosen tiles, CSS and page language."""
    import folium
    from branca.element import Element

    from ._alarms import CSS as ALARM_CSS
    from ._leaflet import CSS, ROADS_PANE, ROADS_PANE_Z
    from .offline import make_offline

    t = b.t
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = folium.Map(location=centre, zoom_start=12, tiles=None, control_scale=True, prefer_canvas=False)
    make_offline(m)   # always: Leaflet inline, the page never depends on a CDN
    m.add_child(Pane(ROADS_PANE, ROADS_PANE_Z))
    if b.basemap == "osm":
        folium.TileLayer("OpenStreetMap", name=t("basemap.osm"), control=True).add_to(m)
    elif b.basemap == "amap":
        folium.TileLayer(tiles=AMAP_TILES, attr="&copy; 高德地图 AutoNavi · " + t("basemap.amap_attr"),
                         name=t("basemap.amap"), subdomains="1234", max_zoom=18).add_to(m)
    m.get_root().header.add_child(Element(CSS), name="ecopatrol_css")
    m.get_root().header.add_child(Element(ALARM_CSS), name="ecopatrol_alarm_css")
    m.get_root().html.add_child(Element(f"<script>document.documentElement.lang = {json.dumps(t.html_lang)};"
                                        "</script>"), name="ecopatrol_lang")
    return m


def _add_layers(m, b: _MapBuilder, GeoJsonLayer) -> tuple[list, int]:
    """Add the raster and every built layer to ``m`` with a layer control; returns (registered layers, features)."""
    import folium

    from ._leaflet import ROADS_PANE

    t = b.t
    registered = []
    if b.raster is not None:
        ov = folium.raster_layers.ImageOverlay(image=b.raster["png"], bounds=b.raster["bounds"],
                                               name=t("layer.raster"), opacity=0.8, interactive=False, zindex=1)
        ov.add_to(m)
        registered.append((L_RASTER, ov))
    order = [L_ROADS, L_ZONES, L_HOTSPOTS, L_VAN, L_DRONE, L_TRACKS, L_EVENTS, L_ENTERPRISES, L_SITES, L_TARGETS,
             L_ALARMS, L_WIND]
    n_features = 0
    for name in order:
        if name not in b.layers:
            continue
        feats = b.layers[name][1]
        shown = t(_LAYER_KEYS[name])
        if name == L_TRACKS and hasattr(b, "track_species"):
            shown = f"{shown} — {b.track_species[1]} ({b.track_species[2]})"
        fg = folium.FeatureGroup(name=shown, show=True)
        fg.add_child(GeoJsonLayer(name, feats, pane=ROADS_PANE if name == L_ROADS else None))
        fg.add_to(m)
        registered.append((name, fg))
        n_features += len(feats)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return registered, n_features


def _add_panels(m, b: _MapBuilder, wind: dict | None, Control, *, lang: str) -> None:
    """The title panel (area, synthetic flag, datum, note), the wind rose and the collapsible legend."""
    t, art = b.t, b.art
    title = esc(art.area_name)
    synthetic = art.synthetic
    datum = t("datum.gcj02") if b.basemap == "amap" else "WGS-84"
    note = art.area_note(lang)
    m.add_child(Control(
        f"<b>ecopatrol</b> — {title}{' · <i>' + esc(t('map.synthetic')) + '</i>' if synthetic else ''}"
        f"<br><small>{esc(t('map.datum', datum=datum))}</small>"
        f"{'<br><small>' + esc(note) + '</small>' if note else ''}",
        position="topleft", css_class="ep-panel"))
    if wind is not None:
        rot = (wind["from_deg"] + 180.0) % 360.0
        m.add_child(Control(
            f'<div style="display:flex;align-items:center;gap:6px"><svg width="34" height="34" viewBox="-17 -17 34 34">'
            f'<g transform="rotate({rot:.1f})"><line x1="0" y1="13" x2="0" y2="-9" stroke="#045a8d" '
            f'stroke-width="3"/><polygon points="0,-15 -6,-5 6,-5" fill="#045a8d"/></g></svg>'
            f"<div><b>{esc(t('layer.wind'))}</b><br>{esc(t.wind(wind))}</div></div>",
            position="topright", css_class="ep-panel ep-wind"))
    if b.legend:
        m.add_child(Control(f"<b class=\"ep-title\">{esc(t('legend.title'))}</b><div class=\"ep-body\">" + "".join(b.legend) + "</div>",
                            position="bottomright", css_class="ep-panel ep-legend",
                            toggle=(t("legend.toggle"), t("legend.toggle_title"))))


def build_map(folder: str | Path, *, out: str | Path, offline: bool = True, basemap: Basemap = "osm",
              area=None, lang: str | None = None, max_track_points: int = MAX_TRACK_POINTS) -> Path:
    """Write the interactive map of an output folder to ``out`` (HTML) and return its path.

    ``folder`` is a demo output folder (``area/``, ``plans/…/plan.json``, ``samples/``,
    ``evidence/``, ``targets.csv``) or any folder holding some of them; an absent artefact's
    layer is not drawn. ``area`` (an ``Area``, a name such as ``"jimo"`` or a folder) overrides
    ``folder/area``. ``basemap="amap"`` shifts every overlay to GCJ-02. The page is always
    self-contained (Leaflet inlined, the area's roads as an offline base); ``offline`` is kept
    for compatibility and changes nothing. ``lang`` is ``"zh"`` or ``"en"`` (default: the
    area's, see :func:`ecopatrol.maps.i18n.resolve_lang`). Sample tracks are thinned to about
    ``max_track_points`` display points.
    """
    from .offline import external_urls

    if basemap not in BASEMAPS:
        raise InputError(f"basemap {basemap!r}: use one of {', '.join(BASEMAPS)}")
    art = load_artefacts(folder, area=area)
    m = make_map(art, basemap=basemap, lang=lang, max_track_points=max_track_points)
    html = m.get_root().render()
    ext = external_urls(html)
    if ext:
        raise InputError(f"the map would fetch {len(ext)} external resource(s), e.g. {ext[0]}; "
                         "this is a bug in ecopatrol.maps")
    out = atomic_write_text(out, html)
    summ = m._ecopatrol_summary
    log.info("map: %d layers, %d features, %.1f MB, basemap %s, %s -> %s", len(summ["layers"]), summ["features"],
             out.stat().st_size / 1e6, basemap, summ["lang"], out)
    return out
