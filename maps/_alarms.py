"""Online-monitoring alarms per firm, for the map (a layer) and the report (a section and the sheets).

``alarms.csv`` (written by ``ecopatrol monitor alarms``; the demo writes one) is read by
:mod:`._artefacts` into ``Artefacts.alarms``. Here each firm's alarms are listed strongest first
with their kind (in the page's language), the rule that fired, start–end in the area's local time
and the values as the rule wrote them. Alarms of data loggers that no monitors file names
(``enterprise_known`` false, no ``enterprise_id``) belong to no firm: they are counted, never placed.

The map layer is one badge per firm (the number of its alarms) at the firm's registry location,
with every alarm in its popup (popups scroll, :data:`._leaflet.POPUP_MAX_HEIGHT_PX`); the legend
carries a checkbox that shows or hides the layer (kept in step with the layer control).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._geojson import Html, feature, popup_table, pt
from ._style import esc, fmt_num
from ._text import local_time

L_ALARMS = "Monitoring alarms"
#: Alarms listed per firm in a popup (all of them up to this; the rest are counted).
ALARMS_PER_POPUP = 200
#: Alarms listed per firm in the report's table and on a sheet.
ALARMS_PER_FIRM_REPORT = 10
ALARM_COLOUR = "#d94801"

#: Messages of this module (merged into :data:`ecopatrol.maps.i18n.CATALOGUE`).
MESSAGES: dict[str, dict[str, str]] = {
    "layer.alarms": {"en": "Online-monitoring alarms", "zh": "在线监测报警"},
    "legend.alarms": {"en": "online-monitoring alarms of a firm (number = alarms; click for the list)",
                      "zh": "企业在线监测报警（数字 = 报警条数；点击查看列表）"},
    "popup.alarms": {"en": "{n} online-monitoring alarms", "zh": "在线监测报警 {n} 条"},
    "popup.alarms_more": {"en": "… and {k} more in alarms.csv", "zh": "……另有 {k} 条见 alarms.csv"},
    "tooltip.alarms": {"en": "{name}: {n} alarms ({kinds})", "zh": "{name}：报警 {n} 条（{kinds}）"},
    "col.alarm_kind": {"en": "kind", "zh": "类型"},
    "col.alarm_rule": {"en": "rule that fired", "zh": "触发规则"},
    "col.alarm_period": {"en": "start – end ({tz})", "zh": "起止时间（{tz}）"},
    "col.alarm_values": {"en": "values", "zh": "数值"},
    "col.alarm_monitor": {"en": "data logger (MN)", "zh": "数采仪（MN）"},
    "col.alarm_count": {"en": "alarms", "zh": "报警条数"},
    "sec.alarms": {"en": "Online-monitoring alarms", "zh": "在线监测报警"},
    "alarms.summary": {"en": "{n} alarms of {f} firms in alarms.csv ({u} more of data loggers no monitors file "
                             "names: no firm to show them at). Per top target, strongest first:",
                       "zh": "alarms.csv 共 {n} 条报警，涉及 {f} 家企业（另有 {u} 条来自监测设备登记表未列出的数采仪，"
                             "无法对应企业）。各重点对象的报警（按强度排序）："},
    "alarms.none_top": {"en": "None of the top {n} targets has an alarm.", "zh": "前 {n} 个检查对象均无报警。"},
    "alarms.more": {"en": "{k} more alarms of this firm in alarms.csv", "zh": "该企业另有 {k} 条报警见 alarms.csv"},
    "na.alarms": {"en": "An alarms file (alarms.csv)", "zh": "报警文件（alarms.csv）"},
    "sheet.alarms": {"en": "Online-monitoring alarms", "zh": "在线监测报警"},
}


def _kinds():
    from ecopatrol.processing.monitor.rules import ALARM_KINDS

    return ALARM_KINDS


def kind_label(kind, lang: str) -> str:
    """An alarm kind in ``lang`` (the stable English name when the kind is unknown)."""
    k = str(kind)
    names = _kinds().get(k)
    if names is None:
        return k
    return names[1] if lang == "zh" else names[0]


def by_firm(alarms: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """``{enterprise_id: its alarms}``, strongest first then earliest; alarms of no firm left out."""
    if alarms is None or alarms.empty or "enterprise_id" not in alarms:
        return {}
    eid = alarms["enterprise_id"].fillna("").astype(str).str.strip()
    a = alarms[eid != ""].assign(_eid=eid[eid != ""])
    if a.empty:
        return {}
    sort = [c for c in ("strength", "start_utc") if c in a]
    a = a.sort_values(sort, ascending=[False, True][:len(sort)], kind="stable") if sort else a
    return {str(k): g.drop(columns="_eid") for k, g in a.groupby("_eid", sort=False)}


def n_without_firm(alarms: pd.DataFrame | None) -> int:
    if alarms is None or alarms.empty:
        return 0
    if "enterprise_id" not in alarms:
        return len(alarms)
    return int((alarms["enterprise_id"].fillna("").astype(str).str.strip() == "").sum())


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) or pd.isna(v) else str(v)


def period(row, tz: str) -> str:
    """``start – end`` in local time (the end's date left out when it is the start's)."""
    s, e = row.get("start_utc"), row.get("end_utc")
    a = local_time(s, tz, "%Y-%m-%d %H:%M")
    b = local_time(e, tz, "%Y-%m-%d %H:%M")
    if a[:10] == b[:10]:
        b = b[11:]
    return f"{a} – {b}"


def values_text(row) -> str:
    """The alarm's values as the rule wrote them, else ``value`` (and the limit) with the unit."""
    v = _text(row.get("values"))
    if v:
        return v
    val, lim, unit = row.get("value"), row.get("limit_value"), _text(row.get("unit"))
    parts = []
    if _text(val):
        parts.append(f"{fmt_num(val)} {unit}".strip())
    if _text(lim):
        parts.append(f"limit {fmt_num(lim)} {unit}".strip())
    return " / ".join(parts) or "—"


def alarm_table(df: pd.DataFrame, t, tz: str, *, limit: int | None = None, monitor: bool = True,
                cls: str = "ep-alarms") -> str:
    """An HTML table of alarms: kind, rule, start–end, values (and the logger)."""
    shown = df if limit is None else df.head(limit)
    head = [t("col.alarm_kind"), t("col.alarm_rule"), t("col.alarm_period", tz=t.tz_label(tz)),
            t("col.alarm_values")] + ([t("col.alarm_monitor")] if monitor else [])
    rows = []
    for _, r in shown.iterrows():
        code = _text(r.get("pollutant_code"))
        kind = kind_label(r.get("kind"), t.lang) + (f" · {code}" if code else "")
        cells = [kind, _text(r.get("rule")) or "—", period(r, tz), values_text(r)]
        if monitor:
            cells.append(_text(r.get("mn")) or "—")
        rows.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    return (f"<table class='{cls}'><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def kinds_summary(df: pd.DataFrame, lang: str) -> str:
    vc = df["kind"].astype(str).value_counts()
    sep = "、" if lang == "zh" else ", "
    return sep.join(f"{kind_label(k, lang)} ×{n}" for k, n in vc.items())


# -- the map -------------------------------------------------------------------------------------

class AlarmLayers:
    """The map layer of alarms per firm (a mixin of the map builder)."""

    def alarms(self) -> None:
        t = self.t
        groups = by_firm(getattr(self.art, "alarms", None))
        if not groups:
            return
        where: dict[str, tuple[float, float, str]] = {}
        ent = self.art.enterprises
        if ent is not None and len(ent):
            e = ent[ent.geometry.notna()]
            for eid, g, name in zip(e["enterprise_id"].astype(str), e.geometry,
                                    e.get("name", e["enterprise_id"]).astype(str)):
                where[eid] = (g.x, g.y, name)
        tg = self.art.targets
        if tg is not None and {"lon", "lat"} <= set(tg.columns):
            for eid, lon, lat, name in zip(tg["enterprise_id"].astype(str), tg["lon"], tg["lat"],
                                           tg.get("name", tg["enterprise_id"]).astype(str)):
                if eid not in where and pd.notna(lon) and pd.notna(lat):
                    where[eid] = (float(lon), float(lat), name)
        placed = [eid for eid in groups if eid in where]
        if not placed:
            return
        x, y = self.disp.xy([where[e][0] for e in placed], [where[e][1] for e in placed], extend=False)
        feats = []
        for k, eid in enumerate(placed):
            df, name = groups[eid], where[eid][2]
            n = len(df)
            more = n - ALARMS_PER_POPUP
            extra = (f"<h4>{esc(t('popup.alarms', n=n))}</h4><div class='ep-alarm-list'>"
                     + alarm_table(df, t, self.tz, limit=ALARMS_PER_POPUP)
                     + (f"<p>{esc(t('popup.alarms_more', k=more))}</p>" if more > 0 else "") + "</div>")
            rows = [(t("col.id"), eid), (t("col.alarm_count"), Html(f"<b>{n}</b>")),
                    (t("col.alarm_kind"), kinds_summary(df, t.lang))]
            feats.append(feature(pt(x[k], y[k]), kind="alarm", enterprise_id=eid, n_alarms=n,
                                 _html=str(n), _class="ep-badge ep-alarm", _z=1100, _size=[20, 20],
                                 _tooltip=t("tooltip.alarms", name=name, n=n, kinds=kinds_summary(df, t.lang)),
                                 _popup=popup_table(name, rows, extra)))
        self._add(L_ALARMS, feats)
        self.counts["alarm_firms"] = len(feats)
        self.counts["alarms"] = int(sum(len(groups[e]) for e in placed))
        self.legend.append(
            f'<div><label><input type="checkbox" class="ep-layer-toggle" data-layer="{esc(L_ALARMS)}" checked> '
            f'<span class="sw" style="background:{ALARM_COLOUR};border-radius:50%"></span>'
            f"{esc(t('legend.alarms'))}</label></div>")


CSS = f"""
<style>
.ep-alarm {{background:{ALARM_COLOUR}; margin-left:2px !important; margin-top:-24px !important;
  font-size:10px;}}
.ep-alarm-list table.ep-alarms {{font-size:11px;}}
.ep-alarm-list table.ep-alarms td:nth-child(3) {{white-space:nowrap;}}
.ep-legend label {{cursor:pointer;}}
.ep-legend input.ep-layer-toggle {{margin:0 3px 0 0; vertical-align:middle;}}
</style>
"""


def layer_toggles():
    """A folium element wiring the legend's ``.ep-layer-toggle`` checkboxes to the named layers of
    ``window.ecopatrol.layers`` (added after the registry; kept in step with the layer control)."""
    from branca.element import MacroElement
    from folium.template import Template

    class LayerToggles(MacroElement):
        _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var e = window.ecopatrol, m = e.map;
  var boxes = function () { return document.querySelectorAll("input.ep-layer-toggle"); };
  boxes().forEach(function (b) {
    var layer = e.layers[b.getAttribute("data-layer")];
    if (!layer) { b.disabled = true; return; }
    b.checked = m.hasLayer(layer);
    L.DomEvent.on(b, "change", function () { if (b.checked) { m.addLayer(layer); } else { m.removeLayer(layer); } });
  });
  var sync = function () {
    boxes().forEach(function (b) {
      var layer = e.layers[b.getAttribute("data-layer")];
      if (layer) { b.checked = m.hasLayer(layer); }
    });
  };
  m.on("overlayadd overlayremove layeradd layerremove", sync);
})();
{% endmacro %}
""")

        def __init__(self):
            super().__init__()
            self._name = "LayerToggles"

    return LayerToggles()


# -- the report ----------------------------------------------------------------------------------

def report_section(art, top_targets: pd.DataFrame | None, t, tz: str, *, names: dict[str, str] | None = None) -> str:
    """The report's section: how many alarms, then per top target (rank order) its alarms."""
    head = f'<h2 id="alarms">{esc(t("sec.alarms"))}</h2>'
    alarms = getattr(art, "alarms", None)
    if alarms is None:
        return head + f'<p class="na">{esc(t("na", what=t("na.alarms")))}</p>'
    groups = by_firm(alarms)
    out = [head, f"<p>{esc(t('alarms.summary', n=len(alarms), f=len(groups), u=n_without_firm(alarms)))}</p>"]
    names = names or {}
    shown = 0
    for _, tr in (top_targets if top_targets is not None else pd.DataFrame()).iterrows():
        eid = str(tr["enterprise_id"])
        df = groups.get(eid)
        if df is None:
            continue
        shown += 1
        name = tr.get("name") if pd.notna(tr.get("name", np.nan)) else names.get(eid, eid)
        rank = int(tr["rank"]) if pd.notna(tr.get("rank", np.nan)) else None
        title = f"#{rank} {name} ({eid})" if rank is not None else f"{name} ({eid})"
        link = f"<a href='#sheet-{rank}'>{esc(title)}</a>" if rank is not None else esc(title)
        out.append(f"<h3 class='alarm-firm' data-enterprise='{esc(eid)}'>{link} — "
                   f"{esc(t('popup.alarms', n=len(df)))}</h3>")
        out.append(alarm_table(df, t, tz, limit=ALARMS_PER_FIRM_REPORT, cls="alarms"))
        if len(df) > ALARMS_PER_FIRM_REPORT:
            out.append(f"<p class='na'>{esc(t('alarms.more', k=len(df) - ALARMS_PER_FIRM_REPORT))}</p>")
    if not shown:
        n = 0 if top_targets is None else len(top_targets)
        out.append(f"<p>{esc(t('alarms.none_top', n=n))}</p>")
    return "".join(out)


def sheet_block(groups: dict[str, pd.DataFrame], eid: str, t, tz: str) -> str:
    """A sheet's block of the firm's alarms (``groups`` from :func:`by_firm`; '' when it has none)."""
    df = groups.get(str(eid))
    if df is None:
        return ""
    more = len(df) - ALARMS_PER_FIRM_REPORT
    return (f"<h3>{esc(t('sheet.alarms'))} ({len(df)})</h3>"
            + alarm_table(df, t, tz, limit=ALARMS_PER_FIRM_REPORT, cls="small")
            + (f"<p class='na'>{esc(t('alarms.more', k=more))}</p>" if more > 0 else ""))
