"""The interactive hotspot map (folium / Leaflet) of an ecopatrol output folder.

Layers: enterprises (industry colour, positive list hollow, target rank badges, popups with
evidence and reasons), drone sorties (direction arrows, heights, launch sites), van routes
(monitoring / background / transit legs), sample tracks coloured by concentration (thinned
for display), the hotspot raster, Gi* hotspot polygons by confidence, no-fly and restricted
zones, and the wind; a layer control, a legend and bounds fitted to the data.

Every artefact is WGS-84 ``(lon, lat)``. With ``basemap="amap"`` (AMap/Gaode tiles, GCJ-02)
every overlay — points, lines, polygons and the raster's bounds — is shifted to GCJ-02 with
:func:`ecopatrol.core.crs.wgs84_to_gcj02` exactly once, when drawn; with ``osm`` or ``none``
it stays WGS-84.

Each vector layer is one ``L.geoJSON`` whose features carry their own style (``_style``),
popup (``_popup``) and tooltip (``_tooltip``); the page exposes ``window.ecopatrol``
(``map``, ``layers`` by name, ``bounds``) for tests and for analysts' console use.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ecopatrol.core.crs import wgs84_to_gcj02
from ecopatrol.core.errors import InputError

from ._artefacts import Artefacts, load_artefacts, species_label
from ._style import (
    CONFIDENCE_COLOURS,
    LEG_STYLES,
    TIMEZONE_DISPLAY,
    ZONE_STYLES,
    atomic_write_text,
    conc_class,
    conc_colours,
    conc_edges,
    esc,
    fmt_num,
    industry_colours,
    palette,
)

log = logging.getLogger(__name__)

Basemap = Literal["osm", "amap", "none"]
BASEMAPS: tuple[str, ...] = ("osm", "amap", "none")
#: Display points kept of all sample tracks together (aggregated by consecutive chunks).
MAX_TRACK_POINTS = 40_000
TOP_TARGETS = 20  # rank badges are drawn for the first N targets; every ranked firm's popup shows its rank
#: Consecutive display points further apart than this are not joined (a data gap).
TRACK_GAP_M = 250.0
#: Largest side, in pixels, of the hotspot raster overlay.
MAX_RASTER_PX = 1200
AMAP_TILES = ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
              "&x={x}&y={y}&z={z}")
_M_PER_DEG = 111_320.0

# Layer names (also the keys of window.ecopatrol.layers).
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


# ---------------------------------------------------------------------------
# Leaflet elements
# ---------------------------------------------------------------------------

def _elements():
    """Define the folium element classes lazily (folium is imported only when a map is built)."""
    from branca.element import MacroElement
    from folium.template import Template

    class GeoJsonLayer(MacroElement):
        """An ``L.geoJSON`` whose features carry ``_style``/``_popup``/``_tooltip``/``_html``."""

        _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(
/* ep-layer: {{ this.layer_name }} */
{{ this.data }}
, {
  pointToLayer: function (f, ll) {
    var p = f.properties || {};
    if (p._html) {
      return L.marker(ll, {icon: L.divIcon({html: p._html, className: p._class || "ep-badge",
                                            iconSize: p._size || [22, 22]}),
                           zIndexOffset: p._z || 0, keyboard: false});
    }
    return L.circleMarker(ll, p._style || {});
  },
  style: function (f) { return (f.properties || {})._style || {}; },
  onEachFeature: function (f, layer) {
    var p = f.properties || {};
    if (p._popup) { layer.bindPopup(p._popup, {maxWidth: 420}); }
    if (p._tooltip) { layer.bindTooltip(p._tooltip, {sticky: true}); }
  }
}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

        def __init__(self, layer_name: str, features: list[dict]):
            super().__init__()
            self._name = "GeoJsonLayer"
            self.layer_name = layer_name
            fc = {"type": "FeatureCollection", "features": features}
            self.data = _js_json(fc)
            self.n_features = len(features)

    class Control(MacroElement):
        """A Leaflet control holding fixed HTML (legend, wind, title)."""

        _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
{{ this.get_name() }}.onAdd = function () {
  var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
  div.innerHTML = {{ this.html }};
  L.DomEvent.disableClickPropagation(div);
  L.DomEvent.disableScrollPropagation(div);
  return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

        def __init__(self, html: str, *, position: str, css_class: str):
            super().__init__()
            self._name = "Control"
            self.html = _js_json(html)
            self.position = position
            self.css_class = css_class

    class Registry(MacroElement):
        """Expose the map, its named layers and the data bounds as ``window.ecopatrol``."""

        _template = Template("""
{% macro script(this, kwargs) %}
window.ecopatrol = {
  map: {{ this._parent.get_name() }},
  layers: { {% for name, el in this.layers %}{{ name|tojson }}: {{ el.get_name() }}{% if not loop.last %}, {% endif %}{% endfor %} },
  bounds: {{ this.bounds|tojson }},
  basemap: {{ this.basemap|tojson }}
};
{% endmacro %}
""")

        def __init__(self, layers, bounds, basemap):
            super().__init__()
            self._name = "Registry"
            self.layers = layers
            self.bounds = bounds
            self.basemap = basemap

    return GeoJsonLayer, Control, Registry


def _js_json(obj) -> str:
    """JSON safe to embed in a ``<script>`` (no ``</`` sequences, compact)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace(
        "</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_CSS = """
<style>
.ep-badge {display:flex;align-items:center;justify-content:center;border-radius:50%;
  font:bold 11px/1 sans-serif;color:#fff;border:2px solid #fff;box-shadow:0 0 3px rgba(0,0,0,.6);}
.ep-rank {background:#08306b;}
.ep-site {background:#238b45;border-radius:3px;}
.ep-depot {background:#6a51a3;border-radius:3px;}
.ep-panel {background:rgba(255,255,255,.93);padding:6px 9px;border-radius:5px;
  box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.35 sans-serif;color:#222;max-width:300px;}
.ep-panel h4 {margin:2px 0 4px;font-size:12px;}
.ep-panel .sw {display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;
  border:1px solid rgba(0,0,0,.3);}
.ep-panel .ln {display:inline-block;width:22px;height:0;margin-right:5px;vertical-align:middle;}
.ep-panel .dot {display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px;
  vertical-align:middle;}
.ep-panel .bar {height:10px;width:220px;border:1px solid rgba(0,0,0,.3);}
.ep-panel .ticks {display:flex;justify-content:space-between;width:222px;font-size:10px;}
.ep-panel details summary {cursor:pointer;font-weight:bold;}
.ep-popup table {border-collapse:collapse;font-size:12px;}
.ep-popup td, .ep-popup th {padding:1px 5px;border-bottom:1px solid #eee;text-align:left;
  vertical-align:top;}
.ep-popup h4 {margin:0 0 4px;}
.ep-reasons {margin:3px 0;padding-left:16px;}
.leaflet-control-layers {font:12px/1.4 sans-serif;}
.leaflet-control-layers label {margin:0;}
</style>
"""


# ---------------------------------------------------------------------------
# Coordinates and geometry helpers
# ---------------------------------------------------------------------------

class _Display:
    """Convert WGS-84 ``(lon, lat)`` to the basemap's datum and collect the drawn bounds."""

    def __init__(self, basemap: str):
        self.gcj = basemap == "amap"
        self.xmin = self.ymin = math.inf
        self.xmax = self.ymax = -math.inf
        self.context: list[tuple[float, float, float, float]] = []  # drawn but not fitted (registry, zones)

    def xy(self, lon, lat, *, extend: bool = True) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(lon, dtype=float)
        y = np.asarray(lat, dtype=float)
        if self.gcj:
            x, y = (np.asarray(v) for v in wgs84_to_gcj02(x, y))
        ok = np.isfinite(x) & np.isfinite(y)
        if not extend and ok.any():
            self.context.append((float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max())))
        if extend:
            if ok.any():
                self.xmin = min(self.xmin, float(x[ok].min()))
                self.xmax = max(self.xmax, float(x[ok].max()))
                self.ymin = min(self.ymin, float(y[ok].min()))
                self.ymax = max(self.ymax, float(y[ok].max()))
        return x, y

    def geoms(self, geoms, *, extend: bool = True):
        """Shapely geometries shifted to the display datum (vectorised over coordinates)."""
        import shapely

        g = np.asarray(geoms, dtype=object)

        def f(c):
            x, y = self.xy(c[:, 0], c[:, 1], extend=extend)
            return np.column_stack([np.round(x, 6), np.round(y, 6)])

        return shapely.transform(g, f)

    def bounds(self) -> list[list[float]] | None:
        """Bounds of the operational data (plans, samples, evidence); the registry, the top
        targets and the zones only when nothing else was drawn."""
        if not math.isfinite(self.xmin):
            if not self.context:
                return None
            c = np.array(self.context)
            return [[float(c[:, 1].min()), float(c[:, 0].min())], [float(c[:, 3].max()), float(c[:, 2].max())]]
        return [[self.ymin, self.xmin], [self.ymax, self.xmax]]


def _feature(geom: dict, **props) -> dict:
    return {"type": "Feature", "geometry": geom, "properties": props}


def _pt(x, y) -> dict:
    return {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]}


def _line(xs, ys) -> dict:
    return {"type": "LineString",
            "coordinates": [[round(float(a), 6), round(float(b), 6)] for a, b in zip(xs, ys)]}


def _arrowheads(x, y, *, size_m: float = 28.0, min_seg_m: float = 40.0) -> list[dict]:
    """Arrowhead triangles at the midpoints of a polyline's segments (display ``(lon, lat)``)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 2:
        return []
    coslat = np.cos(np.radians(np.nanmean(y)))
    dx = np.diff(x) * _M_PER_DEG * coslat
    dy = np.diff(y) * _M_PER_DEG
    seg = np.hypot(dx, dy)
    keep = seg >= min_seg_m
    if not keep.any():
        return []
    ux, uy = dx[keep] / seg[keep], dy[keep] / seg[keep]
    mx = (x[:-1][keep] + x[1:][keep]) / 2
    my = (y[:-1][keep] + y[1:][keep]) / 2
    # tip ahead of the midpoint, two barbs behind it (metres → degrees)
    tip = np.column_stack([mx + ux * size_m / 2 / (_M_PER_DEG * coslat), my + uy * size_m / 2 / _M_PER_DEG])
    bx = mx - ux * size_m / 2 / (_M_PER_DEG * coslat)
    by = my - uy * size_m / 2 / _M_PER_DEG
    px, py = -uy * size_m * 0.45, ux * size_m * 0.45
    left = np.column_stack([bx + px / (_M_PER_DEG * coslat), by + py / _M_PER_DEG])
    right = np.column_stack([bx - px / (_M_PER_DEG * coslat), by - py / _M_PER_DEG])
    tris = np.stack([tip, left, right, tip], axis=1).round(6)
    return [{"type": "Polygon", "coordinates": [t.tolist()]} for t in tris]


def _popup_table(title: str, rows: list[tuple[str, object]], extra: str = "") -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v if isinstance(v, _Html) else esc(v)}</td></tr>"
                   for k, v in rows if v is not None)
    return f'<div class="ep-popup"><h4>{esc(title)}</h4><table>{body}</table>{extra}</div>'


class _Html(str):
    """A string already escaped as HTML."""


def _local_time(t) -> str:
    try:
        ts = pd.Timestamp(t)
    except (TypeError, ValueError):
        return esc(t)
    if pd.isna(ts):
        return "—"
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert(TIMEZONE_DISPLAY).strftime("%Y-%m-%d %H:%M:%S") + " (Beijing)"


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------

class _MapBuilder:
    def __init__(self, art: Artefacts, *, basemap: str, top_targets: int = TOP_TARGETS):
        self.art = art
        self.basemap = basemap
        self.top_targets = int(top_targets)
        self.disp = _Display(basemap)
        self.layers: dict[str, tuple[str, list[dict]]] = {}   # name -> (kind, features)
        self.raster: dict | None = None
        self.legend: list[str] = []
        self.counts: dict[str, int] = {}

    # -- helpers -----------------------------------------------------------
    def _add(self, name: str, features: list[dict]) -> None:
        if features:
            self.layers.setdefault(name, ("geojson", []))[1].extend(features)

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
            out.append(_feature(g, **props))
        return out

    # -- layers ------------------------------------------------------------
    def zones(self) -> None:
        nf = self.art.nofly
        if nf is None or len(nf) == 0:
            return

        def style(r):
            return ZONE_STYLES.get(str(r.get("kind", "no-fly")), ZONE_STYLES["no-fly"])

        def label(r):
            ceil = r.get("ceiling_m")
            lim = "no flight" if ceil is None or pd.isna(ceil) else f"ceiling {fmt_num(ceil)} m AGL"
            return f"{r.get('kind', 'zone')}: {r.get('name', r.get('zone_id', ''))} ({lim})"

        feats = self._geo_features(nf, style, popup_of=lambda r: _popup_table(
            str(r.get("name", r.get("zone_id", "zone"))),
            [("zone", r.get("zone_id")), ("kind", r.get("kind")),
             ("ceiling", "none allowed" if pd.isna(r.get("ceiling_m", np.nan)) else f"{r['ceiling_m']:g} m AGL")]),
            tooltip_of=label, kind="zone", fit=False)
        self._add(L_ZONES, feats)
        self.legend.append(
            f'<div><span class="sw" style="background:{ZONE_STYLES["no-fly"]["fillColor"]}"></span>no-fly zone</div>'
            f'<div><span class="sw" style="background:{ZONE_STYLES["restricted"]["fillColor"]}"></span>'
            "restricted (ceiling)</div>")

    def hotspot_raster(self) -> None:
        path = self.art.hotspots_tif
        if path is None:
            return
        png, bounds, label, vmax = _raster_png(path)
        if png is None:
            return
        (s, w), (n, e) = bounds
        x, y = self.disp.xy([w, e], [s, n])
        self.raster = {"png": png, "bounds": [[float(y[0]), float(x[0])], [float(y[1]), float(x[1])]],
                       "label": label}
        self.legend.append(
            f'<div><span class="sw" style="background:linear-gradient(90deg,rgba(255,255,178,.3),'
            f'#fd8d3c,#bd0026)"></span>hotspot raster: {esc(label)} (0 – {fmt_num(vmax)})</div>')

    def hotspots(self) -> None:
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
            popup_of=lambda r: _popup_table(f"Gi* hotspot, {conf(r)} % confidence",
                                            [(c, fmt_num(r[c]) if isinstance(r[c], float) else r[c]) for c in cols]),
            tooltip_of=lambda r: f"Gi* hotspot {conf(r)} %", kind="hotspot")
        self._add(L_HOTSPOTS, feats)
        self.legend.append("<div>" + " ".join(
            f'<span class="sw" style="background:{c}"></span>{k} %' for k, c in
            sorted(CONFIDENCE_COLOURS.items())) + " Gi* confidence</div>")

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
            feats.append(_feature(
                {"type": "MultiLineString", "coordinates": coords}, kind="track",
                _style={"color": colours[c], "weight": 4, "opacity": 0.9, "lineCap": "round"},
                _tooltip=f"{labels[seg[0]]}: {name} {fmt_num(edges[c])}–{fmt_num(edges[c + 1])} {unit}"))
        self._add(L_TRACKS, feats)
        self.counts["track_points"] = len(pts)
        self.counts["samples"] = len(s)
        ticks = "".join(f"<span>{fmt_num(e)}</span>" for e in edges[:: max(1, len(edges) // 4)])
        grad = ",".join(colours)
        self.legend.append(
            f"<div><b>{esc(name)} ({esc(unit)})</b>, max per display point — "
            f"{len(s):,} samples shown as {len(pts):,} points"
            f'<div class="bar" style="background:linear-gradient(90deg,{grad})"></div>'
            f'<div class="ticks">{ticks}<span>{fmt_num(edges[-1])}</span></div></div>')
        self.track_species = (col, name, unit)

    def events(self) -> None:
        ev = self.art.events
        if ev is None or len(ev) == 0:
            return
        enh = pd.to_numeric(ev.get("peak_enhancement", pd.Series(np.nan, index=ev.index)), errors="coerce")
        ref = float(np.nanmax(enh)) if np.isfinite(enh).any() else 1.0

        def style(r):
            e = float(pd.to_numeric(r.get("peak_enhancement", np.nan), errors="coerce"))
            rad = 5 + 9 * math.sqrt(max(e, 0) / ref) if np.isfinite(e) and ref > 0 else 6
            conf = bool(r.get("confirmed", False)) and str(r.get("confirmed")).lower() not in ("false", "0")
            c = "#67000d" if conf else "#f16913"
            return {"radius": round(rad, 1), "color": "#fff", "weight": 1.5, "fillColor": c, "fillOpacity": 0.9}

        def popup(r):
            rows = [("species", r.get("species")), ("platform / mission / pass",
                    f"{r.get('platform_id', '—')} / {r.get('mission_id', '—')} / {r.get('pass_id', '—')}"),
                    ("start", _local_time(r.get("start_utc"))), ("duration", f"{fmt_num(r.get('duration_s'))} s"),
                    ("peak", fmt_num(r.get("peak"))), ("peak enhancement", fmt_num(r.get("peak_enhancement"))),
                    ("samples", r.get("n_samples")), ("confirmed", r.get("confirmed")),
                    ("passes", r.get("n_passes")),
                    ("wind", f"from {fmt_num(r.get('wind_from_deg'))}° at {fmt_num(r.get('wind_speed_m_s'))} m/s")]
            return _popup_table(f"Plume event {r.get('event_id', '')}", rows, self._attribution_html(
                evidence_id=r.get("event_id")))

        feats = self._geo_features(ev, style, popup_of=popup,
                                   tooltip_of=lambda r: f"event {r.get('event_id', '')}: {r.get('species', '')} "
                                                        f"peak {fmt_num(r.get('peak'))}", kind="event")
        self._add(L_EVENTS, feats)
        self.legend.append('<div><span class="dot" style="background:#67000d"></span>confirmed event '
                           '<span class="dot" style="background:#f16913"></span>single-pass event</div>')

    def van(self) -> None:
        plan = self.art.van_plan
        if not plan:
            return
        feats, arrows = [], []
        for route in plan.get("routes", []):
            path = np.asarray(route.get("path") or [], dtype=float).reshape(-1, 2)
            if len(path) < 2:
                continue
            x, y = self.disp.xy(path[:, 0], path[:, 1])
            rid = route.get("route_id", "")
            feats.append(_feature(_line(x, y), kind="route", _style=dict(LEG_STYLES["transit"], weight=2),
                                  _popup=_popup_table(f"Van route {rid}", [
                                      ("distance", f"{fmt_num(route.get('distance_m', 0) / 1000)} km"),
                                      ("duration", f"{fmt_num(route.get('duration_s', 0) / 60)} min"),
                                      ("targets covered", ", ".join(map(str, route.get("targets_covered", []))) or "—"),
                                      ("targets dropped", ", ".join(map(str, route.get("targets_dropped", []))) or "—"),
                                  ])))
            for leg in route.get("legs", []):
                a, b = int(leg.get("start_idx", 0)), int(leg.get("end_idx", 0))
                if b <= a or a < 0 or b >= len(path):
                    continue
                kind = str(leg.get("kind", "transit"))
                style = LEG_STYLES.get(kind, LEG_STYLES["transit"])
                sp = leg.get("speed_m_s")
                feats.append(_feature(
                    _line(x[a:b + 1], y[a:b + 1]), kind="leg", leg_kind=kind, _style=style,
                    _tooltip=f"{rid} {kind} leg {leg.get('leg_id', '')}"
                             + (f" → {leg['target_id']}" if leg.get("target_id") else ""),
                    _popup=_popup_table(f"{kind.capitalize()} leg {leg.get('leg_id', '')}", [
                        ("route", rid), ("target", leg.get("target_id")), ("pass", leg.get("pass_no")),
                        ("street", leg.get("street")),
                        ("speed", None if sp is None else f"{fmt_num(float(sp) * 3.6)} km/h")])))
                if kind != "transit":
                    for tri in _arrowheads(x[a:b + 1], y[a:b + 1], size_m=30, min_seg_m=80):
                        arrows.append(_feature(tri, kind="arrow", _style={
                            "color": style["color"], "weight": 1, "fillColor": style["color"], "fillOpacity": 1}))
            dep = route.get("depot") or {}
            if dep.get("lon") is not None:
                dx, dy = self.disp.xy([dep["lon"]], [dep["lat"]])
                self._add(L_SITES, [_feature(_pt(dx[0], dy[0]), kind="depot", _html="D", _class="ep-badge ep-depot",
                                             _tooltip=f"Depot of route {rid}")])
        self._add(L_VAN, feats + arrows)
        self.legend.append("".join(
            f'<div><span class="ln" style="border-top:{LEG_STYLES[k]["weight"] - 1}px '
            f'{"dashed" if k == "transit" else "solid"} {LEG_STYLES[k]["color"]}"></span>van {k} leg</div>'
            for k in ("monitoring", "background", "transit")))

    def drone(self) -> None:
        plan = self.art.drone_plan
        if not plan:
            return
        sorties = plan.get("sorties", [])
        cols = palette(len(sorties))
        feats, wps, arrows, sites = [], [], [], []
        for col, s in zip(cols, sorties):
            w = pd.DataFrame(s.get("waypoints") or [])
            if w.empty or not {"lon", "lat"} <= set(w.columns):
                continue
            sid = s.get("sortie_id", "")
            x, y = self.disp.xy(w["lon"].to_numpy(float), w["lat"].to_numpy(float))
            alt = w.get("alt_agl_m", pd.Series(np.nan, index=w.index)).to_numpy(float)
            feats.append(_feature(_line(x, y), kind="sortie", _style={"color": col, "weight": 3, "opacity": 0.9},
                                  _tooltip=f"sortie {sid}",
                                  _popup=_popup_table(f"Drone sortie {sid}", [
                                      ("aircraft", s.get("aircraft")),
                                      ("launch", (s.get("launch") or {}).get("site_id")),
                                      ("waypoints", len(w)),
                                      ("heights", f"{fmt_num(np.nanmin(alt))}–{fmt_num(np.nanmax(alt))} m AGL"),
                                      ("distance", f"{fmt_num(s.get('distance_m', 0) / 1000)} km"),
                                      ("duration", f"{fmt_num(s.get('duration_s', 0) / 60)} min"),
                                      ("battery", f"{fmt_num(100 * float(s.get('battery_fraction', 0)))} %"),
                                      ("targets", ", ".join(map(str, s.get("targets", []))) or "—")])))
            for tri in _arrowheads(x, y, size_m=22, min_seg_m=40):
                arrows.append(_feature(tri, kind="arrow", _style={"color": col, "weight": 1, "fillColor": col,
                                                                  "fillOpacity": 1}))
            action = w.get("action", pd.Series("", index=w.index)).astype(str).to_numpy()
            for k in range(len(w)):
                act = action[k]
                r = w.iloc[k]
                tip = (f"{sid} WP {r.get('seq', k)} · {fmt_num(alt[k])} m AGL · {act}"
                       + (f" · pass {int(r['pass_id'])}" if "pass_id" in w and pd.notna(r.get("pass_id")) else "")
                       + (f" · {fmt_num(r['speed_m_s'])} m/s" if pd.notna(r.get("speed_m_s", np.nan)) else ""))
                wps.append(_feature(_pt(x[k], y[k]), kind="waypoint", _tooltip=tip, _style={
                    "radius": 4 if act in ("sample", "hover", "background") else 2.5, "color": col, "weight": 1,
                    "fillColor": "#fff" if act in ("transit", "") else col, "fillOpacity": 1}))
            la = s.get("launch") or {}
            if la.get("lon") is not None:
                lx, ly = self.disp.xy([la["lon"]], [la["lat"]])
                sites.append(_feature(_pt(lx[0], ly[0]), kind="launch", _html="H", _class="ep-badge ep-site",
                                      _tooltip=f"launch {la.get('site_id', '')} of sortie {sid}"))
        self._add(L_DRONE, feats + arrows + wps)
        self._add(L_SITES, sites)
        self.counts["sorties"] = len(feats)
        self.legend.append("<div>drone sortie: line with arrows (direction), dots = waypoints "
                           "(tooltip: height AGL)</div>")

    def sites(self) -> None:
        ls, dp = self.art.launch_sites, self.art.depot
        feats = []
        for gdf, kind, badge, cls in ((ls, "launch", "H", "ep-site"), (dp, "depot", "D", "ep-depot")):
            if gdf is None or len(gdf) == 0:
                continue
            gdf = gdf[gdf.geometry.notna()]
            x, y = self.disp.xy(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), extend=False)
            ids = gdf.get(f"{'site' if kind == 'launch' else 'depot'}_id", pd.Series("", index=gdf.index))
            names = gdf.get("name", pd.Series("", index=gdf.index))
            feats += [_feature(_pt(a, b), kind=kind, _html=badge, _class=f"ep-badge {cls}",
                               _tooltip=f"{kind} site {i} {n}".strip()) for a, b, i, n in zip(x, y, ids, names)]
        self._add(L_SITES, feats)
        if L_SITES in self.layers:
            self.legend.append('<div><span class="sw" style="background:#238b45"></span>H launch site '
                               '<span class="sw" style="background:#6a51a3"></span>D van depot</div>')

    def _attribution_html(self, *, enterprise_id=None, evidence_id=None, limit: int = 5) -> str:
        at = self.art.attribution
        if at is None or at.empty:
            return ""
        if not hasattr(self, "_attr_groups"):   # group once, look up per feature
            self._attr_groups = {
                key: {str(k): g for k, g in at.groupby(at[key].astype(str), sort=False)} if key in at else {}
                for key in ("enterprise_id", "evidence_id")}
        if enterprise_id is not None:
            sub = self._attr_groups["enterprise_id"].get(str(enterprise_id))
        elif evidence_id is not None:
            sub = self._attr_groups["evidence_id"].get(str(evidence_id))
        else:
            return ""
        if sub is None or sub.empty:
            return ""
        if "likelihood" in sub:
            sub = sub.sort_values("likelihood", ascending=False)
        rows = []
        for _, r in sub.head(limit).iterrows():
            rate = (f"{fmt_num(r.get('rate_g_s'))} ± {fmt_num(r.get('rate_sd_g_s'))} g/s"
                    if pd.notna(r.get("rate_g_s", np.nan)) else "—")
            who = r.get("evidence_id") if enterprise_id is not None else r.get("enterprise_id")
            rows.append(f"<tr><td>{esc(who)}</td><td>{fmt_num(r.get('likelihood'))}</td><td>{rate}</td>"
                        f"<td>{fmt_num(r.get('distance_m'))} m</td><td>{esc(r.get('explanation', ''))}</td></tr>")
        head = "evidence" if enterprise_id is not None else "enterprise"
        return (f"<h4>Attribution</h4><table><tr><th>{head}</th><th>likelihood</th><th>rate</th>"
                f"<th>distance</th><th>why</th></tr>{''.join(rows)}</table>")

    def enterprises(self) -> None:
        ent = self.art.enterprises
        if ent is None or len(ent) == 0:
            return
        ent = ent[ent.geometry.notna()].copy()
        ent["enterprise_id"] = ent["enterprise_id"].astype(str)
        ind = ent.get("industry", pd.Series("unknown", index=ent.index)).fillna("unknown").astype(str)
        colours = industry_colours(ind)
        tg = self.art.targets
        tmap = {} if tg is None else {r["enterprise_id"]: r for _, r in tg.iterrows()}
        flux = self.art.flux
        lon, lat = ent.geometry.x.to_numpy(), ent.geometry.y.to_numpy()
        x, y = self.disp.xy(lon, lat, extend=False)
        top = np.array([eid in tmap and int(tmap[eid]["rank"]) <= self.top_targets for eid in ent["enterprise_id"]],
                       dtype=bool)
        if top.any():
            self.disp.xy(lon[top], lat[top], extend=False)  # context: the view fits the day's data
        feats, badges = [], []
        for k, (_, r) in enumerate(ent.iterrows()):
            eid = r["enterprise_id"]
            col = colours.get(ind.iloc[k], "#777")
            pos = bool(r.get("positive_list", False)) and str(r.get("positive_list")).lower() not in ("false", "0")
            t = tmap.get(eid)
            badge = bool(top[k])
            style = {"radius": 8 if badge else 5, "color": col, "weight": 3 if badge else 2,
                     "fillColor": "#ffffff" if pos else col, "fillOpacity": 0.9}
            rows = [("id", eid), ("industry", ind.iloc[k]), ("park", r.get("park")),
                    ("positive list", "yes (trusted)" if pos else "no"), ("airspace", r.get("airspace")),
                    ("last inspected", str(r.get("last_inspected", ""))[:10]),
                    ("violations (3 y)", r.get("violations_3y"))]
            extra = ""
            if t is not None:
                rows = [("target rank", _Html(f"<b>#{int(t['rank'])}</b>")), ("score", fmt_num(t.get("score"))),
                        ("est. rate", None if pd.isna(t.get("rate_g_s", np.nan)) else f"{fmt_num(t['rate_g_s'])} g/s"),
                        *rows]
                reasons = [p.strip() for p in str(t.get("reasons", "") or "").split(";") if p.strip()
                           and p.strip() != "nan"]
                if reasons:
                    extra += "<h4>Reasons</h4><ul class='ep-reasons'>" + "".join(
                        f"<li>{esc(p)}</li>" for p in reasons) + "</ul>"
            extra += self._attribution_html(enterprise_id=eid)
            if flux is not None and not flux.empty and "target_id" in flux:
                fl = flux[flux["target_id"].astype(str) == eid]
                if not fl.empty:
                    extra += "<h4>Flux</h4><table>" + "".join(
                        f"<tr><td>{esc(f.get('sortie_id'))}</td><td>{esc(f.get('species'))}</td>"
                        f"<td>{fmt_num(f.get('flux_g_s'))} ± {fmt_num(f.get('flux_sd_g_s'))} g/s</td></tr>"
                        for _, f in fl.iterrows()) + "</table>"
            name = str(r.get("name", eid))
            feats.append(_feature(_pt(x[k], y[k]), kind="enterprise", enterprise_id=eid, _style=style,
                                  _tooltip=(f"#{int(t['rank'])} " if t is not None else "") + name,
                                  _popup=_popup_table(name, rows, extra)))
            if badge:
                badges.append(_feature(_pt(x[k], y[k]), kind="target", enterprise_id=eid, rank=int(t["rank"]),
                                       _html=str(int(t["rank"])), _class="ep-badge ep-rank", _z=1000,
                                       _size=[22, 22], _tooltip=f"#{int(t['rank'])} {name}",
                                       _popup=_popup_table(name, rows, extra)))
        # targets missing from the registry but carrying lon/lat in targets.csv
        if tg is not None and {"lon", "lat"} <= set(tg.columns):
            miss = tg[~tg["enterprise_id"].isin(set(ent["enterprise_id"]))].dropna(subset=["lon", "lat"])
            if len(miss):
                mx, my = self.disp.xy(miss["lon"].to_numpy(float), miss["lat"].to_numpy(float))
                for a, b, (_, t) in zip(mx, my, miss.iterrows()):
                    badges.append(_feature(_pt(a, b), kind="target", enterprise_id=t["enterprise_id"],
                                           rank=int(t["rank"]), _html=str(int(t["rank"])),
                                           _class="ep-badge ep-rank", _z=1000, _size=[22, 22],
                                           _tooltip=f"#{int(t['rank'])} {t.get('name', t['enterprise_id'])}",
                                           _popup=_popup_table(str(t.get("name", t["enterprise_id"])), [
                                               ("target rank", int(t["rank"])), ("score", fmt_num(t.get("score"))),
                                               ("reasons", t.get("reasons"))])))
        self._add(L_ENTERPRISES, feats)
        self._add(L_TARGETS, badges)
        self.counts["enterprises"] = len(feats)
        self.counts["targets"] = len(badges)
        items = "".join(f'<div><span class="dot" style="background:{c}"></span>{esc(n)}</div>'
                        for n, c in list(colours.items())[:10])
        self.legend.append(
            f"<details open><summary>Enterprises by industry</summary>{items}"
            '<div><span class="dot" style="background:#fff;border:2px solid #555"></span>hollow = positive list'
            '</div><div><span class="sw" style="background:#08306b;border-radius:50%"></span>'
            "number = inspection target rank</div></details>")

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
        tip = f"wind from {w['from_deg']:.0f}° at {w['speed_m_s']:.1f} m/s" + (
            f", stability {w['stability']}" if w.get("stability") else "")
        feats = [_feature(_line([x0, x1], [y0, y1]), kind="wind", _tooltip=tip,
                          _style={"color": "#045a8d", "weight": 4, "opacity": 0.8})]
        feats += [_feature(t, kind="arrow", _tooltip=tip, _style={"color": "#045a8d", "weight": 1,
                                                                  "fillColor": "#045a8d", "fillOpacity": 0.9})
                  for t in _arrowheads([x0, x1], [y0, y1], size_m=length_m * 0.25, min_seg_m=0.0)]
        # arrowhead at the end rather than the middle: shift it
        for f in feats[1:]:
            ring = np.asarray(f["geometry"]["coordinates"][0])
            ring += np.array([(x1 - x0) / 2 * 0.85, (y1 - y0) / 2 * 0.85])
            f["geometry"]["coordinates"] = [ring.round(6).tolist()]
        self._add(L_WIND, feats)
        return w


def thin_tracks(samples: pd.DataFrame, species: str, *, max_points: int = MAX_TRACK_POINTS) -> pd.DataFrame:
    """Aggregate sample tracks into at most about ``max_points`` display points.

    Tracks are ``(platform_id, mission_id, pass_id)`` (those present) ordered by ``time_utc``;
    each run of ``k`` consecutive samples (``k`` = ceil(n / max_points)) becomes one point at
    the mean ``(lon, lat)`` carrying the run's *maximum* ``species`` value, so peaks survive
    thinning. Returns columns ``track`` (int code), ``label``, ``lon``, ``lat``, ``value``.
    Vectorised: one sort and one groupby, no per-row Python.
    """
    keys = [c for c in ("platform_id", "mission_id", "pass_id") if c in samples.columns]
    cols = keys + ["lon", "lat", species] + (["time_utc"] if "time_utc" in samples else [])
    df = samples[cols]
    df = df[np.isfinite(df["lon"].to_numpy(float)) & np.isfinite(df["lat"].to_numpy(float))]
    if df.empty:
        return pd.DataFrame(columns=["track", "label", "lon", "lat", "value"])
    if keys:
        track = df.groupby(keys, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    else:
        track = np.zeros(len(df), dtype=int)
    t = df["time_utc"].to_numpy() if "time_utc" in df else np.arange(len(df))
    order = np.lexsort((t, track))
    track = track[order]
    k = max(1, math.ceil(len(df) / max(1, max_points)))
    start = np.r_[0, np.flatnonzero(track[1:] != track[:-1]) + 1]
    pos = np.arange(len(track)) - np.repeat(start, np.diff(np.r_[start, len(track)]))
    chunk = pos // k
    g = pd.DataFrame({"track": track, "chunk": chunk,
                      "lon": df["lon"].to_numpy(float)[order], "lat": df["lat"].to_numpy(float)[order],
                      "value": df[species].to_numpy(float)[order]})
    out = g.groupby(["track", "chunk"], sort=True).agg(lon=("lon", "mean"), lat=("lat", "mean"),
                                                      value=("value", "max")).reset_index()
    if keys:
        first = df.iloc[order[start]][keys].astype(str).agg(" / ".join, axis=1).to_numpy()
        labels = first[np.searchsorted(track[start], out["track"].to_numpy())]
    else:
        labels = np.full(len(out), "track")
    out["label"] = labels
    return out[["track", "label", "lon", "lat", "value"]]


def _raster_png(path: Path):
    """Band 1 of the hotspot raster as an RGBA PNG in EPSG:4326 plus its bounds and label.

    Values ≤ 0, NaN and nodata are transparent; positive values ramp from pale yellow to dark
    red up to their 99th percentile. Large rasters are decimated to ``MAX_RASTER_PX``.
    Returns ``(data_url, ((south, west), (north, east)), label, vmax)`` or ``(None, …)``.
    """
    import rasterio
    from affine import Affine
    from matplotlib import colormaps
    from matplotlib.image import imsave
    from rasterio.enums import Resampling
    from rasterio.warp import calculate_default_transform, reproject

    from ecopatrol.core.errors import FormatError

    try:
        src_ctx = rasterio.open(path)
    except Exception as exc:
        raise FormatError(f"`{path.name}`: not a readable GeoTIFF ({exc})") from exc
    with src_ctx as src:
        scale = max(1.0, max(src.width, src.height) / MAX_RASTER_PX)
        h, w = max(1, int(src.height / scale)), max(1, int(src.width / scale))
        arr = src.read(1, out_shape=(h, w), masked=True, resampling=Resampling.average).astype(float)
        arr = arr.filled(np.nan)
        transform = src.transform @ Affine.scale(src.width / w, src.height / h)
        label = (src.descriptions[0] if src.descriptions and src.descriptions[0] else None) \
            or src.tags(1).get("long_name") or src.tags().get("quantity") or "hotspot intensity"
        units = src.units[0] if src.units and src.units[0] else src.tags(1).get("units")
        if units:
            label = f"{label} ({units})"
        crs = src.crs
        if crs is not None and crs.to_epsg() != 4326:
            dst_t, dw, dh = calculate_default_transform(crs, "EPSG:4326", w, h,
                                                        *rasterio.transform.array_bounds(h, w, transform))
            dst = np.full((dh, dw), np.nan)
            reproject(arr, dst, src_transform=transform, src_crs=crs, dst_transform=dst_t,
                      dst_crs="EPSG:4326", src_nodata=np.nan, dst_nodata=np.nan, resampling=Resampling.bilinear)
            arr, transform, h, w = dst, dst_t, dh, dw
    west, south, east, north = rasterio.transform.array_bounds(h, w, transform)
    pos = np.where(np.isfinite(arr) & (arr > 0), arr, np.nan)
    if not np.isfinite(pos).any():
        return None, None, label, 0.0
    vmax = float(np.nanpercentile(pos, 99)) or float(np.nanmax(pos))
    norm = np.clip(pos / vmax, 0, 1)
    rgba = colormaps["YlOrRd"](np.nan_to_num(norm))
    rgba[..., 3] = np.where(np.isfinite(norm), 0.1 + 0.75 * np.nan_to_num(norm), 0.0)
    buf = io.BytesIO()
    imsave(buf, rgba, format="png")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return url, ((south, west), (north, east)), label, vmax


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

def make_map(art: Artefacts, *, basemap: Basemap = "osm", offline: bool = False,
             max_track_points: int = MAX_TRACK_POINTS):
    """Build the folium Map of loaded artefacts (see :func:`build_map`)."""
    import folium
    from branca.element import Element

    if basemap not in BASEMAPS:
        raise InputError(f"basemap {basemap!r}: use one of {', '.join(BASEMAPS)}")
    GeoJsonLayer, Control, Registry = _elements()
    b = _MapBuilder(art, basemap=basemap)
    b.zones()
    b.hotspot_raster()
    b.hotspots()
    b.tracks(max_points=max_track_points)
    b.events()
    b.van()
    b.drone()
    b.sites()
    b.enterprises()
    wind = b.wind_arrow()
    bounds = b.disp.bounds()
    if bounds is None:
        raise InputError(f"`{art.folder}`: nothing to draw — the artefacts found ({', '.join(art.found)}) "
                         "hold no geometry")
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = folium.Map(location=centre, zoom_start=12, tiles=None, control_scale=True, prefer_canvas=False)
    if offline:
        from .offline import make_offline

        make_offline(m)
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (WGS-84)", control=True).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(tiles=AMAP_TILES, attr="&copy; 高德地图 AutoNavi · overlays shifted to GCJ-02",
                         name="AMap 高德 (GCJ-02)", subdomains="1234", max_zoom=18).add_to(m)
    m.get_root().header.add_child(Element(_CSS), name="ecopatrol_css")

    registered = []
    if b.raster is not None:
        ov = folium.raster_layers.ImageOverlay(image=b.raster["png"], bounds=b.raster["bounds"],
                                               name=L_RASTER, opacity=0.8, interactive=False, zindex=1)
        ov.add_to(m)
        registered.append((L_RASTER, ov))
    order = [L_ZONES, L_HOTSPOTS, L_VAN, L_DRONE, L_TRACKS, L_EVENTS, L_ENTERPRISES, L_SITES, L_TARGETS, L_WIND]
    n_features = 0
    for name in order:
        if name not in b.layers:
            continue
        feats = b.layers[name][1]
        shown = name if name != L_TRACKS or not hasattr(b, "track_species") else \
            f"{L_TRACKS} — {b.track_species[1]} ({b.track_species[2]})"
        fg = folium.FeatureGroup(name=shown, show=True)
        fg.add_child(GeoJsonLayer(name, feats))
        fg.add_to(m)
        registered.append((name, fg))
        n_features += len(feats)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    title = esc(getattr(art.area, "name", None) or art.folder.name)
    synthetic = bool((getattr(art.area, "config", None) or {}).get("synthetic", False))
    datum = "GCJ-02 (AMap)" if basemap == "amap" else "WGS-84"
    m.add_child(Control(
        f"<b>ecopatrol</b> — {title}{' · <i>synthetic example</i>' if synthetic else ''}"
        f"<br><small>coordinates drawn in {datum}</small>"
        f"{'<br><small>' + esc(art.area_note()) + '</small>' if art.area_note() else ''}",
        position="topleft", css_class="ep-panel"))
    if wind is not None:
        rot = (wind["from_deg"] + 180.0) % 360.0
        m.add_child(Control(
            f'<div style="display:flex;align-items:center;gap:6px"><svg width="34" height="34" viewBox="-17 -17 34 34">'
            f'<g transform="rotate({rot:.1f})"><line x1="0" y1="13" x2="0" y2="-9" stroke="#045a8d" '
            f'stroke-width="3"/><polygon points="0,-15 -6,-5 6,-5" fill="#045a8d"/></g></svg>'
            f"<div><b>Wind</b><br>from {wind['from_deg']:.0f}° at {wind['speed_m_s']:.1f} m/s"
            f"{'<br>stability ' + esc(wind['stability']) if wind.get('stability') else ''}</div></div>",
            position="topright", css_class="ep-panel ep-wind"))
    if b.legend:
        m.add_child(Control("<details open><summary>Legend</summary>" + "".join(b.legend) + "</details>", position="bottomright",
                            css_class="ep-panel ep-legend"))
    m.fit_bounds(bounds, padding=(20, 20))
    m.add_child(Registry(registered, bounds, basemap))
    m._ecopatrol_summary = {"layers": [n for n, _ in registered], "features": n_features,
                            "counts": dict(b.counts, **{n: len(b.layers[n][1]) for n in b.layers})}
    return m


def build_map(folder: str | Path, *, out: str | Path, offline: bool = False, basemap: Basemap = "osm",
              area=None, max_track_points: int = MAX_TRACK_POINTS) -> Path:
    """Write the interactive map of an output folder to ``out`` (HTML) and return its path.

    ``folder`` is a demo output folder (``area/``, ``plans/…/plan.json``, ``samples/``,
    ``evidence/``, ``targets.csv``) or any folder holding some of them; an absent artefact's
    layer is not drawn. ``area`` (an ``Area``, a name such as ``"jimo"`` or a folder) overrides
    ``folder/area``. ``basemap="amap"`` shifts every overlay to GCJ-02; ``offline=True`` inlines
    Leaflet so the page needs no network (see :mod:`ecopatrol.maps.offline`). Sample tracks
    are thinned to about ``max_track_points`` display points.
    """
    if basemap not in BASEMAPS:
        raise InputError(f"basemap {basemap!r}: use one of {', '.join(BASEMAPS)}")
    art = load_artefacts(folder, area=area)
    m = make_map(art, basemap=basemap, offline=offline, max_track_points=max_track_points)
    html = m.get_root().render()
    if offline:
        from .offline import external_urls

        ext = external_urls(html)
        if ext:
            raise InputError(f"offline map would fetch {len(ext)} external resource(s), e.g. {ext[0]}; "
                             "this is a bug in ecopatrol.maps")
    out = atomic_write_text(out, html)
    summ = m._ecopatrol_summary
    log.info("map: %d layers, %d features, %.1f MB, basemap %s%s -> %s", len(summ["layers"]), summ["features"],
             out.stat().st_size / 1e6, basemap, ", offline" if offline else "", out)
    return out
