"""Map layers of the registry: enterprises by industry and the ranked inspection targets.

A mixin of the map builder (:mod:`ecopatrol.maps.interactive`). Enterprise popups carry the
registry facts, the target rank and score, the reasons as written (split only at top-level
``"; "``), the attribution rows and the curtain fluxes; the first ``top_targets`` targets get a
rank badge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._geojson import Html, feature, popup_table, pt
from ._style import esc, fmt_num, industry_colours
from ._text import split_reasons

L_ENTERPRISES = "Enterprises"
L_TARGETS = "Inspection targets"


def _is_true(v) -> bool:
    return bool(v) and str(v).strip().lower() not in ("false", "0", "nan", "none", "否", "no")


class EnterpriseLayers:
    """Enterprise and target layers, and the attribution table of popups (mixin)."""

    def _attribution_html(self, *, enterprise_id=None, evidence_id=None, limit: int = 5) -> str:
        t = self.t
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
        head = t("col.evidence") if enterprise_id is not None else t("col.enterprise")
        return (f"<h4>{esc(t('popup.attribution'))}</h4><table><tr><th>{esc(head)}</th>"
                f"<th>{esc(t('col.likelihood'))}</th><th>{esc(t('col.rate'))}</th>"
                f"<th>{esc(t('col.distance'))}</th><th>{esc(t('col.why'))}</th></tr>{''.join(rows)}</table>")

    def _reasons_html(self, reasons) -> str:
        parts = split_reasons(reasons)
        if not parts:
            return ""
        return (f"<h4>{esc(self.t('popup.reasons'))}</h4><ul class='ep-reasons'>"
                + "".join(f"<li>{esc(p)}</li>" for p in parts) + "</ul>")

    def enterprises(self) -> None:
        t = self.t
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
            pos = _is_true(r.get("positive_list", False))
            tr = tmap.get(eid)
            badge = bool(top[k])
            visit = tr is not None and str(tr.get("visit", "")).strip().lower() in ("true", "1")
            style = {"radius": 8 if badge else 5, "color": col, "weight": 3 if badge else 2,
                     "fillColor": "#ffffff" if pos else col, "fillOpacity": 0.9}
            rows = [(t("col.id"), eid), (t("col.industry"), t.industry(ind.iloc[k])), (t("col.park"), r.get("park")),
                    (t("col.positive_list"), t("yes_trusted") if pos else t("no")),
                    (t("col.airspace"), r.get("airspace")),
                    (t("col.last_inspected"), str(r.get("last_inspected", ""))[:10]),
                    (t("col.violations_3y"), r.get("violations_3y"))]
            extra = ""
            if tr is not None:
                rows = [(t("col.target_rank"), Html(f"<b>#{int(tr['rank'])}</b>" + (f" ★ {esc(t('col.visit'))}"
                                                                                    if visit else ""))),
                        (t("col.score"), fmt_num(tr.get("score"))),
                        (t("col.est_rate"), None if pd.isna(tr.get("rate_g_s", np.nan))
                         else f"{fmt_num(tr['rate_g_s'])} g/s"), *rows]
                extra += self._reasons_html(tr.get("reasons"))
            extra += self._attribution_html(enterprise_id=eid)
            if flux is not None and not flux.empty and "target_id" in flux:
                fl = flux[flux["target_id"].astype(str) == eid]
                if not fl.empty:
                    extra += f"<h4>{esc(t('popup.flux'))}</h4><table>" + "".join(
                        f"<tr><td>{esc(f.get('sortie_id'))}</td><td>{esc(f.get('species'))}</td>"
                        f"<td>{fmt_num(f.get('flux_g_s'))} ± {fmt_num(f.get('flux_sd_g_s'))} g/s</td></tr>"
                        for _, f in fl.iterrows()) + "</table>"
            name = str(r.get("name", eid))
            feats.append(feature(pt(x[k], y[k]), kind="enterprise", enterprise_id=eid, _style=style,
                                 _tooltip=(f"#{int(tr['rank'])} " if tr is not None else "") + name,
                                 _popup=popup_table(name, rows, extra)))
            if badge:
                badges.append(feature(pt(x[k], y[k]), kind="target", enterprise_id=eid, rank=int(tr["rank"]),
                                      _html=str(int(tr["rank"])), _z=1000,
                                      _class="ep-badge ep-rank" + (" ep-visit" if visit else ""),
                                      _size=[22, 22], _tooltip=f"#{int(tr['rank'])} {name}",
                                      _popup=popup_table(name, rows, extra)))
        # targets missing from the registry but carrying lon/lat in targets.csv
        if tg is not None and {"lon", "lat"} <= set(tg.columns):
            miss = tg[~tg["enterprise_id"].isin(set(ent["enterprise_id"]))].dropna(subset=["lon", "lat"])
            miss = miss[miss["rank"] <= self.top_targets]
            if len(miss):
                mx, my = self.disp.xy(miss["lon"].to_numpy(float), miss["lat"].to_numpy(float))
                for a, b, (_, tr) in zip(mx, my, miss.iterrows()):
                    nm = str(tr.get("name", tr["enterprise_id"]))
                    badges.append(feature(pt(a, b), kind="target", enterprise_id=tr["enterprise_id"],
                                          rank=int(tr["rank"]), _html=str(int(tr["rank"])),
                                          _class="ep-badge ep-rank", _z=1000, _size=[22, 22],
                                          _tooltip=f"#{int(tr['rank'])} {nm}",
                                          _popup=popup_table(nm, [
                                              (t("col.target_rank"), int(tr["rank"])),
                                              (t("col.score"), fmt_num(tr.get("score")))],
                                              self._reasons_html(tr.get("reasons")))))
        self._add(L_ENTERPRISES, feats)
        self._add(L_TARGETS, badges)
        self.counts["enterprises"] = len(feats)
        self.counts["targets"] = len(badges)
        items = "".join(f'<div><span class="dot" style="background:{c}"></span>{esc(t.industry(n))}</div>'
                        for n, c in list(colours.items())[:10])
        self.legend.append(
            f"<details><summary>{esc(t('legend.enterprises'))}</summary>{items}</details>"
            f'<div><span class="dot" style="background:#fff;border:2px solid #555"></span>'
            f"{esc(t('legend.positive_list'))}</div><div><span class=\"sw\" "
            f'style="background:#08306b;border-radius:50%"></span>{esc(t("legend.rank"))}</div>')
