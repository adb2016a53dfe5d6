"""Leaflet building blocks of the map page: GeoJSON layers, controls, panes, the page's CSS.

Each vector layer is one ``L.geoJSON`` whose features carry their own style (``_style``),
popup (``_popup``) and tooltip (``_tooltip``); popups have a maximum height and scroll. The
legend is a collapsible control (a small toggle button; collapsed by default on small
screens). Everything here is plain Leaflet 1.9 — no plugin, nothing fetched.
"""

from __future__ import annotations

import json

from .i18n import FONT_STACK

#: Popups never grow taller than this (px); longer content scrolls.
POPUP_MAX_HEIGHT_PX = 320
#: Below this viewport width (px) the legend starts collapsed.
SMALL_SCREEN_PX = 700
#: The pane of the offline roads: under the tile pane (200), so tiles, when they load, cover it.
ROADS_PANE = "ep-roads"
ROADS_PANE_Z = 150

#: The Jinja template of the script of one ``L.geoJSON`` layer (:class:`GeoJsonLayer` in :func:`elements`).
GEOJSON_LAYER_JS = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(
/* ep-layer: {{ this.layer_name }} */
{{ this.data }}
, {
  {% if this.pane %}pane: {{ this.pane|tojson }}, interactive: false,{% endif %}
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
    if (p._popup) { layer.bindPopup(p._popup, {maxWidth: 420, maxHeight: {{ this.popup_max_height }},
                                               autoPanPadding: [12, 12]}); }
    if (p._tooltip) { layer.bindTooltip(p._tooltip, {sticky: true}); }
  }
}).addTo({{ this._parent.get_name() }});
{% endmacro %}
"""
#: The Jinja template of the script that creates a pane at a fixed z-index.
PANE_JS = """
{% macro script(this, kwargs) %}
(function (m) {
  var p = m.getPane({{ this.pane|tojson }}) || m.createPane({{ this.pane|tojson }});
  p.style.zIndex = {{ this.z }};
  p.style.pointerEvents = "none";
})({{ this._parent.get_name() }});
{% endmacro %}
"""
#: The Jinja template of the script of a Leaflet control holding fixed HTML, optionally collapsible.
CONTROL_JS = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
{{ this.get_name() }}.onAdd = function () {
  var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
  div.innerHTML = {{ this.html }};
  {% if this.toggle %}
  var btn = L.DomUtil.create("button", "ep-toggle", div);
  btn.type = "button";
  btn.setAttribute("aria-expanded", "true");
  btn.title = {{ this.toggle_title|tojson }};
  btn.innerHTML = {{ this.toggle_label|tojson }};
  div.insertBefore(btn, div.firstChild);
  var setOpen = function (open) {
    L.DomUtil[open ? "removeClass" : "addClass"](div, "ep-collapsed");
    btn.setAttribute("aria-expanded", open ? "true" : "false");
  };
  L.DomEvent.on(btn, "click", function (e) {
    L.DomEvent.stop(e); setOpen(L.DomUtil.hasClass(div, "ep-collapsed"));
  });
  if (window.matchMedia && window.matchMedia("(max-width: {{ this.small_px }}px)").matches) { setOpen(false); }
  {% endif %}
  L.DomEvent.disableClickPropagation(div);
  L.DomEvent.disableScrollPropagation(div);
  return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
"""
#: The Jinja template of the script that exposes the map, its layers and bounds as ``window.ecopatrol``.
REGISTRY_JS = """
{% macro script(this, kwargs) %}
window.ecopatrol = {
  map: {{ this._parent.get_name() }},
  layers: { {% for name, el in this.layers %}{{ name|tojson }}: {{ el.get_name() }}{% if not loop.last %}, {% endif %}{% endfor %} },
  bounds: {{ this.bounds|tojson }},
  basemap: {{ this.basemap|tojson }},
  lang: {{ this.lang|tojson }}
};
{% endmacro %}
"""


def elements():
    """Define the folium element classes lazily (folium is imported only when a map is built)."""
    from branca.element import MacroElement
    from folium.template import Template

    class GeoJsonLayer(MacroElement):
        """An ``L.geoJSON`` whose features carry ``_style``/``_popup``/``_tooltip``/``_html``."""

        _template = Template(GEOJSON_LAYER_JS)

        def __init__(self, layer_name: str, features: list[dict], *, pane: str | None = None):
            super().__init__()
            self._name = "GeoJsonLayer"
            self.layer_name = layer_name
            self.pane = pane
            self.popup_max_height = POPUP_MAX_HEIGHT_PX
            fc = {"type": "FeatureCollection", "features": features}
            self.data = js_json(fc)
            self.n_features = len(features)

    class Pane(MacroElement):
        """A map pane at a fixed z-index (the roads' pane sits under the tiles)."""

        _template = Template(PANE_JS)

        def __init__(self, pane: str, z: int):
            super().__init__()
            self._name = "Pane"
            self.pane = pane
            self.z = int(z)

    class Control(MacroElement):
        """A Leaflet control holding fixed HTML (legend, wind, title); optionally collapsible."""

        _template = Template(CONTROL_JS)

        def __init__(self, html: str, *, position: str, css_class: str, toggle: tuple[str, str] | None = None):
            super().__init__()
            self._name = "Control"
            self.html = js_json(html)
            self.position = position
            self.css_class = css_class
            self.toggle = toggle is not None
            self.toggle_label, self.toggle_title = toggle or ("", "")
            self.small_px = SMALL_SCREEN_PX

    class Registry(MacroElement):
        """Expose the map, its named layers and the data bounds as ``window.ecopatrol``."""

        _template = Template(REGISTRY_JS)

        def __init__(self, layers, bounds, basemap, lang):
            super().__init__()
            self._name = "Registry"
            self.layers = layers
            self.bounds = bounds
            self.basemap = basemap
            self.lang = lang

    return GeoJsonLayer, Pane, Control, Registry


def js_json(obj) -> str:
    """JSON safe to embed in a ``<script>`` (no ``</`` sequences, compact)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace(
        "</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


CSS = """
<style>
.leaflet-container {background:#f4f3ef; font-family:@FONT@;}
.ep-badge {display:flex;align-items:center;justify-content:center;border-radius:50%;
  font:bold 11px/1 @FONT@;color:#fff;border:2px solid #fff;box-shadow:0 0 3px rgba(0,0,0,.6);}
.ep-rank {background:#08306b;}
.ep-visit {background:#b30000;border-color:#ffd700;}
.ep-site {background:#238b45;border-radius:3px;}
.ep-depot {background:#00695c;border-radius:3px;}
.ep-panel {background:rgba(255,255,255,.93);padding:5px 8px;border-radius:5px;
  box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.35 @FONT@;color:#222;max-width:280px;}
.ep-panel h4 {margin:2px 0 4px;font-size:12px;}
.ep-panel .sw {display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;
  border:1px solid rgba(0,0,0,.3);}
.ep-panel .ln {display:inline-block;width:22px;height:0;margin-right:5px;vertical-align:middle;}
.ep-panel .dot {display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px;
  vertical-align:middle;}
.ep-panel .bar {height:10px;width:200px;border:1px solid rgba(0,0,0,.3);}
.ep-panel .ticks {display:flex;justify-content:space-between;width:202px;font-size:10px;}
.ep-panel details summary {cursor:pointer;font-weight:bold;}
.ep-legend {max-height:45vh;overflow-y:auto;font-size:11px;}
.ep-legend .ep-body > div {margin:1px 0;}
.ep-legend .ep-toggle {float:right;margin:0 0 2px 6px;font:bold 11px/1.2 @FONT@;cursor:pointer;
  border:1px solid #999;border-radius:3px;background:#fff;padding:2px 6px;}
.ep-legend.ep-collapsed {max-height:none;overflow:visible;padding:3px;}
.ep-legend.ep-collapsed .ep-body, .ep-legend.ep-collapsed .ep-title {display:none;}
.ep-legend.ep-collapsed .ep-toggle {float:none;margin:0;}
.ep-popup {font-family:@FONT@;}
.ep-popup table {border-collapse:collapse;font-size:12px;}
.ep-popup td, .ep-popup th {padding:1px 5px;border-bottom:1px solid #eee;text-align:left;
  vertical-align:top;}
.ep-popup h4 {margin:0 0 4px;}
.ep-reasons {margin:3px 0;padding-left:16px;}
.leaflet-popup-content {margin:10px 12px;}
.leaflet-control-layers {font:12px/1.4 @FONT@;}
.leaflet-control-layers label {margin:0;}
@media (max-width: @SMALL@px) {
  .leaflet-control-layers-expanded {max-height:40vh;overflow-y:auto;}
  .ep-panel {max-width:200px;font-size:11px;}
}
</style>
""".replace("@FONT@", FONT_STACK.replace('"', "'")).replace("@SMALL@", str(SMALL_SCREEN_PX))
