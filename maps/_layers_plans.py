"""Map layers of the plans: van routes (teal legs), drone sorties (purple), launch sites and depots.

A mixin of the map builder (:mod:`ecopatrol.maps.interactive`): it uses the builder's
``art``, ``disp`` (display datum), ``t`` (translator), ``_add`` and ``legend``. Targets are
shown with their enterprise names beside their ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._geojson import arrowheads, feature, line, popup_table, pt
from ._style import LEG_STYLES, drone_colours, esc, fmt_num
from ._text import enterprise_names, with_names

L_VAN = "Van routes"
L_DRONE = "Drone sorties"
L_SITES = "Launch sites & depot"


class PlanLayers:
    """Van, drone and site layers (mixin)."""

    def _names(self) -> dict[str, str]:
        if not hasattr(self, "_names_cache"):
            self._names_cache = enterprise_names(self.art)
        return self._names_cache

    def van(self) -> None:
        t = self.t
        plan = self.art.van_plan
        if not plan:
            return
        names = self._names()
        feats, arrows = [], []
        for route in plan.get("routes", []):
            path = np.asarray(route.get("path") or [], dtype=float).reshape(-1, 2)
            if len(path) < 2:
                continue
            x, y = self.disp.xy(path[:, 0], path[:, 1])
            rid = route.get("route_id", "")
            dropped = [d.get("target_id", d) if isinstance(d, dict) else d for d in route.get("targets_dropped", [])]
            feats.append(feature(line(x, y), kind="route", _style=dict(LEG_STYLES["transit"], weight=2),
                                 _popup=popup_table(t("popup.van_route", id=rid), [
                                     (t("col.distance"), f"{fmt_num(route.get('distance_m', 0) / 1000)} km"),
                                     (t("col.duration"), f"{fmt_num(route.get('duration_s', 0) / 60)} min"),
                                     (t("col.targets_covered"), with_names(route.get("targets_covered", []), names)
                                      or "—"),
                                     (t("col.targets_dropped"), with_names(dropped, names) or "—"),
                                 ])))
            for leg in route.get("legs", []):
                a, b = int(leg.get("start_idx", 0)), int(leg.get("end_idx", 0))
                if b <= a or a < 0 or b >= len(path):
                    continue
                kind = str(leg.get("kind", "transit"))
                style = LEG_STYLES.get(kind, LEG_STYLES["transit"])
                sp = leg.get("speed_m_s")
                kind_txt = t(f"leg.{kind}") if kind in LEG_STYLES else kind
                tgt = leg.get("target_id")
                feats.append(feature(
                    line(x[a:b + 1], y[a:b + 1]), kind="leg", leg_kind=kind, _style=style,
                    _tooltip=t("tooltip.leg", route=rid, kind=kind_txt, id=leg.get("leg_id", ""))
                    + (f" → {with_names([tgt], names)}" if tgt else ""),
                    _popup=popup_table(t("popup.leg", kind=kind_txt, id=leg.get("leg_id", "")), [
                        (t("col.route"), rid), (t("col.target"), with_names([tgt], names) if tgt else None),
                        (t("col.pass"), leg.get("pass_no")), (t("col.street"), leg.get("street")),
                        (t("col.speed"), None if sp is None else f"{fmt_num(float(sp) * 3.6)} km/h")])))
                if kind != "transit":
                    for tri in arrowheads(x[a:b + 1], y[a:b + 1], size_m=30, min_seg_m=80):
                        arrows.append(feature(tri, kind="arrow", _style={
                            "color": style["color"], "weight": 1, "fillColor": style["color"], "fillOpacity": 1}))
            dep = route.get("depot") or {}
            if dep.get("lon") is not None:
                dx, dy = self.disp.xy([dep["lon"]], [dep["lat"]])
                self._add(L_SITES, [feature(pt(dx[0], dy[0]), kind="depot", _html="D", _class="ep-badge ep-depot",
                                            _tooltip=t("tooltip.depot_of", route=rid))])
        self._add(L_VAN, feats + arrows)

        def swatch(k):
            st = LEG_STYLES[k]
            return (f'<div><span class="ln" style="border-top:{st["weight"] - 1}px '
                    f'{"dashed" if "dashArray" in st else "solid"} {st["color"]}"></span>'
                    f'{esc(t("legend.van_leg", kind=t("leg." + k)))}</div>')

        self.legend.append("".join(swatch(k) for k in ("monitoring", "background", "transit")))

    def drone(self) -> None:
        t = self.t
        plan = self.art.drone_plan
        if not plan:
            return
        names = self._names()
        sorties = plan.get("sorties", [])
        cols = drone_colours(len(sorties))
        feats, wps, arrows, sites = [], [], [], []
        for col, s in zip(cols, sorties):
            w = pd.DataFrame(s.get("waypoints") or [])
            if w.empty or not {"lon", "lat"} <= set(w.columns):
                continue
            sid = s.get("sortie_id", "")
            x, y = self.disp.xy(w["lon"].to_numpy(float), w["lat"].to_numpy(float))
            alt = w.get("alt_agl_m", pd.Series(np.nan, index=w.index)).to_numpy(float)
            feats.append(feature(line(x, y), kind="sortie", _style={"color": col, "weight": 3, "opacity": 0.95},
                                 _tooltip=t("tooltip.sortie", id=sid),
                                 _popup=popup_table(t("popup.sortie", id=sid), [
                                     (t("col.aircraft"), s.get("aircraft")),
                                     (t("col.launch"), (s.get("launch") or {}).get("site_id")),
                                     (t("col.waypoints"), len(w)),
                                     (t("col.heights"), f"{fmt_num(np.nanmin(alt))}–{fmt_num(np.nanmax(alt))} m AGL"),
                                     (t("col.distance"), f"{fmt_num(s.get('distance_m', 0) / 1000)} km"),
                                     (t("col.duration"), f"{fmt_num(s.get('duration_s', 0) / 60)} min"),
                                     (t("col.battery"), f"{fmt_num(100 * float(s.get('battery_fraction', 0)))} %"),
                                     (t("col.targets"), with_names(s.get("targets", []), names) or "—")])))
            for tri in arrowheads(x, y, size_m=22, min_seg_m=40):
                arrows.append(feature(tri, kind="arrow", _style={"color": col, "weight": 1, "fillColor": col,
                                                                 "fillOpacity": 1}))
            action = w.get("action", pd.Series("", index=w.index)).astype(str).to_numpy()
            seq = w.get("seq", pd.Series(np.arange(len(w)), index=w.index)).to_numpy()
            pas = w.get("pass_id", pd.Series(np.nan, index=w.index)).to_numpy(dtype=float)
            spd = w.get("speed_m_s", pd.Series(np.nan, index=w.index)).to_numpy(dtype=float)
            for k in range(len(w)):
                act = action[k]
                tip = (f"{sid} WP {seq[k]} · {fmt_num(alt[k])} m AGL · {t('wp.' + act) if act in _ACTIONS else act}"
                       + (f" · {t('col.pass')} {int(pas[k])}" if np.isfinite(pas[k]) else "")
                       + (f" · {fmt_num(spd[k])} m/s" if np.isfinite(spd[k]) else ""))
                wps.append(feature(pt(x[k], y[k]), kind="waypoint", _tooltip=tip, _style={
                    "radius": 4 if act in ("sample", "hover", "background") else 2.5, "color": col, "weight": 1,
                    "fillColor": "#fff" if act in ("transit", "") else col, "fillOpacity": 1}))
            la = s.get("launch") or {}
            if la.get("lon") is not None:
                lx, ly = self.disp.xy([la["lon"]], [la["lat"]])
                sites.append(feature(pt(lx[0], ly[0]), kind="launch", _html="H", _class="ep-badge ep-site",
                                     _tooltip=t("tooltip.launch_of", site=la.get("site_id", ""), sortie=sid)))
        self._add(L_DRONE, feats + arrows + wps)
        self._add(L_SITES, sites)
        self.counts["sorties"] = len(feats)
        self.legend.append(f'<div><span class="ln" style="border-top:3px solid {cols[0] if cols else "#6a1b9a"}">'
                           f'</span>{esc(t("legend.drone"))}</div>')

    def sites(self) -> None:
        t = self.t
        ls, dp = self.art.launch_sites, self.art.depot
        feats = []
        for gdf, kind, badge, cls in ((ls, "launch", "H", "ep-site"), (dp, "depot", "D", "ep-depot")):
            if gdf is None or len(gdf) == 0:
                continue
            gdf = gdf[gdf.geometry.notna()]
            x, y = self.disp.xy(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), extend=False)
            ids = gdf.get(f"{'site' if kind == 'launch' else 'depot'}_id", pd.Series("", index=gdf.index))
            nm = gdf.get("name", pd.Series("", index=gdf.index))
            feats += [feature(pt(a, b), kind=kind, _html=badge, _class=f"ep-badge {cls}",
                              _tooltip=f"{t('site.' + kind)} {i} {n}".strip()) for a, b, i, n in zip(x, y, ids, nm)]
        self._add(L_SITES, feats)
        if L_SITES in self.layers:
            self.legend.append(f'<div><span class="sw" style="background:#238b45"></span>H {esc(t("site.launch"))} '
                               f'<span class="sw" style="background:#00695c"></span>D {esc(t("site.depot"))}</div>')


_ACTIONS = ("takeoff", "transit", "sample", "hover", "background", "land")
