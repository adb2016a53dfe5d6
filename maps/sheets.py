"""One printable page per top target for the inspectors who go there.

Each sheet (a ``<section class="sheet">``, starting a new page when printed) says who the
enterprise is (name, id, industry, address when the registry has one, park, positive-list
status), what was seen (the sparse-attribution signal, the attributed plume events with their
peaks and units, the curtain flux, hotspots, the NNLS estimate), when (local time of the area),
how sure (the emission probability and what it rests on), the last inspection and the
violations, the reasons as written, the firm's online-monitoring alarms (``alarms.csv``), and a
small location sketch (:mod:`ecopatrol.maps.sketch`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ._artefacts import species_label
from ._style import esc, fmt_num
from ._text import fmt_lonlat, local_time, split_reasons
from .i18n import Tr

log = logging.getLogger(__name__)

#: Events listed per sheet (the strongest first).
EVENTS_PER_SHEET = 5


def _is_true(v) -> bool:
    return bool(v) and str(v).strip().lower() not in ("false", "0", "nan", "none", "否", "no")


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


class SheetBuilder:
    """Builds the sheets of one report (artefacts indexed once, then one sheet per target)."""

    def __init__(self, art, tr: Tr, tz: str, *, sketch: bool = True):
        self.art, self.t, self.tz, self.sketch = art, tr, tz, sketch
        ent = art.enterprises
        self.registry = {} if ent is None or not len(ent) else {
            str(r["enterprise_id"]): r for _, r in ent.iterrows()}
        at = art.attribution
        self.attr = {} if at is None or at.empty else {
            str(k): g for k, g in at.groupby(at["enterprise_id"].astype(str), sort=False)}
        ev = art.events
        self.events = None
        if ev is not None and len(ev):
            e = pd.DataFrame(ev.drop(columns="geometry"))
            if "lon" not in e or "lat" not in e:
                e["lon"], e["lat"] = ev.geometry.x.to_numpy(), ev.geometry.y.to_numpy()
            self.events = e.set_index(e["event_id"].astype(str))
        s = art.samples
        self.field_day = (pd.Timestamp(s["time_utc"].max()) if s is not None and "time_utc" in s and len(s)
                          else pd.Timestamp.now(tz="UTC"))
        from ._alarms import by_firm

        self.alarms = by_firm(getattr(art, "alarms", None))
        self.roads = None
        if sketch and art.area is not None:
            from .roads import find_roads, road_lines

            p = find_roads(art.area)
            try:
                self.roads = road_lines(p) if p is not None else None
            except Exception as exc:  # a sketch without roads is still a sketch
                log.warning("roads not drawn on the sheets: %s", exc)

    # -- pieces -------------------------------------------------------------------------------
    def _rows(self, eid: str, trow) -> list[tuple[str, str]]:
        t = self.t
        r = self.registry.get(eid)

        def get(k):
            v = r.get(k) if r is not None else None
            return trow.get(k) if v is None else v

        address = next((get(k) for k in ("address", "地址", "addr") if get(k) is not None and pd.notna(get(k))), None)
        pos = _is_true(get("positive_list"))
        lon, lat = (r.geometry.x, r.geometry.y) if r is not None and r.geometry is not None else \
            (trow.get("lon"), trow.get("lat"))
        rows = [(t("col.name"), esc(get("name") or trow.get("name"))), (t("col.id"), f"<code>{esc(eid)}</code>"),
                (t("col.industry"), esc(t.industry(get("industry"))))]
        if address:
            rows.append((t("sheet.address"), esc(address)))
        if get("park") is not None and pd.notna(get("park")):
            rows.append((t("col.park"), esc(get("park"))))
        rows += [(t("col.location"), esc(fmt_lonlat(lon, lat))),
                 (t("col.positive_list"), esc(t("sheet.positive_yes") if pos else t("sheet.positive_no")))]
        return rows

    def _seen(self, eid: str, trow) -> tuple[list[str], dict]:
        t = self.t
        out, facts = [], {"events": None, "flux": None, "signal": False, "hotspots": 0}
        a = self.attr.get(eid)
        kind = a["evidence_kind"].astype(str) if a is not None and "evidence_kind" in a else None
        if a is not None and kind is not None:
            for _, s in a[kind == "signal"].iterrows():
                facts["signal"] = True
                out.append(esc(t("sheet.signal", sig=s.get("evidence_id"), p=f"{_num(s.get('likelihood')):.2f}",
                                 rate=fmt_num(s.get("evidence_rate_g_s", s.get("rate_g_s"))))))
        if a is not None and self.events is not None:
            ids = a.loc[kind == "event", "evidence_id"].astype(str) if kind is not None else a["evidence_id"].astype(str)
            ev = self.events.loc[self.events.index.intersection(ids)].copy()
            if len(ev):
                lk = a.assign(_id=a["evidence_id"].astype(str)).drop_duplicates("_id").set_index("_id")["likelihood"]
                ev["likelihood"] = lk.reindex(ev.index).to_numpy()
                ev = ev.sort_values(["likelihood", "peak_enhancement"], ascending=False)  # most attributable first
                conf = ev["confirmed"].astype(str).str.lower().isin(("true", "1")) if "confirmed" in ev else \
                    pd.Series(False, index=ev.index)
                facts["events"] = (len(ev), int(conf.sum()), ev)
                out.append(esc(t("sheet.events", n=len(ev), c=int(conf.sum()))) + self._events_table(ev))
        fl = self.art.flux
        if fl is not None and len(fl) and "target_id" in fl:
            for _, f in fl[fl["target_id"].astype(str) == eid].iterrows():
                facts["flux"] = f
                name, _unit = species_label(str(f.get("species", "tvoc_ugm3")))
                detail = [name]
                if np.isfinite(_num(f.get("n_levels"))):
                    detail.append(t("sheet.flux_levels", n=fmt_num(f.get("n_levels"))))
                if np.isfinite(_num(f.get("distance_to_target_m"))):
                    detail.append(t("sheet.flux_distance", d=fmt_num(f.get("distance_to_target_m"))))
                out.append(esc(t("sheet.flux", s=f.get("sortie_id"), f=fmt_num(f.get("flux_g_s")),
                                 sd=fmt_num(f.get("flux_sd_g_s")), detail=t("sep").join(detail))))
        if a is not None and kind is not None and (kind == "hotspot").any():
            hs = a.loc[kind == "hotspot"].sort_values("likelihood", ascending=False)["evidence_id"].astype(str)
            facts["hotspots"] = len(hs)
            out.append(esc(t("sheet.hotspots", ids=", ".join(list(dict.fromkeys(hs))[:6]))))
        if pd.notna(trow.get("rate_g_s", np.nan)) and _num(trow.get("rate_g_s")) > 0:
            out.append(esc(t("sheet.nnls", r=fmt_num(trow.get("rate_g_s")), sd=fmt_num(trow.get("rate_sd_g_s")))))
        if not out:
            out.append(esc(t("sheet.nothing_seen")))
        return out, facts

    def _events_table(self, ev: pd.DataFrame) -> str:
        t = self.t
        head = [t("col.event"), t("col.time", tz=t.tz_label(self.tz)), t("col.platform_mission_pass"),
                t("col.peak"), t("col.peak_enhancement"), t("col.likelihood"), t("col.confirmed")]
        rows = []
        for eid, e in ev.head(EVENTS_PER_SHEET).iterrows():
            _name, unit = species_label(str(e.get("species", "tvoc_ugm3")))
            passes = f" ({fmt_num(e.get('n_passes'))}×)" if pd.notna(e.get("n_passes", np.nan)) else ""
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in (
                esc(eid), esc(local_time(e.get("start_utc"), self.tz, "%m-%d %H:%M:%S")),
                esc(f"{e.get('platform_id', '—')} / {e.get('mission_id', '—')} / {e.get('pass_id', '—')}"),
                f"{fmt_num(e.get('peak'))} {esc(unit)}", f"+{fmt_num(e.get('peak_enhancement'))} {esc(unit)}",
                f"{_num(e.get('likelihood')):.2f}" if np.isfinite(_num(e.get("likelihood"))) else "—",
                esc(t.yes_no(_is_true(e.get("confirmed"))) + passes))) + "</tr>")
        return ("<table class='small'><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head)
                + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")

    def _when(self, facts) -> list[str]:
        t, tz = self.t, self.tz
        out = []
        if facts["events"] is not None:
            ev = facts["events"][2]
            start = pd.to_datetime(ev["start_utc"], utc=True, errors="coerce")
            end = pd.to_datetime(ev.get("end_utc", ev["start_utc"]), utc=True, errors="coerce")
            out.append(t("sheet.when_events", first=local_time(start.min(), tz), last=local_time(end.max(), tz)[-5:],
                         tz=t.tz_label(tz)))
        f = facts["flux"]
        s = self.art.samples
        if f is not None and s is not None and "time_utc" in s:
            ts = s.loc[s["mission_id"].astype(str) == str(f.get("sortie_id")), "time_utc"]
            if len(ts):
                out.append(t("sheet.when_sortie", s=f.get("sortie_id"), first=local_time(ts.min(), tz),
                             last=local_time(ts.max(), tz)[-5:], tz=t.tz_label(tz)))
        return out or [t("sheet.when_none")]

    def _sure(self, trow, facts) -> list[str]:
        t = self.t
        p = _num(trow.get("emit_probability"))
        what = []
        if facts["signal"]:
            what.append(t("sheet.rest_signal"))
        if facts["events"] is not None:
            what.append(t("sheet.rest_events", n=facts["events"][0], c=facts["events"][1]))
        if facts["flux"] is not None:
            what.append(t("sheet.rest_flux"))
        if facts["hotspots"]:
            what.append(t("sheet.rest_hotspots", n=facts["hotspots"]))
        head = t("sheet.probability", p=f"{p:.2f}") if np.isfinite(p) else t("col.score") + f" {fmt_num(trow.get('score'))}"
        return [head, t("sheet.rests_on", what=t("sep").join(what) if what else t("sheet.rest_registry"))]

    def _history(self, eid: str, trow) -> list[str]:
        t = self.t
        r = self.registry.get(eid)
        last = r.get("last_inspected") if r is not None else trow.get("last_inspected")
        days = trow.get("days_since_inspection", np.nan)
        out = []
        if last is not None and pd.notna(last):
            d = pd.Timestamp(last)
            if pd.isna(days):   # counted to the field day, as the ranking does
                ref = self.field_day.tz_convert(None) if self.field_day.tzinfo else self.field_day
                days = (ref.normalize() - (d.tz_convert(None) if d.tzinfo else d).normalize()).days
            out.append(t("sheet.last_inspected", d=d.strftime("%Y-%m-%d"), days=f"{int(_num(days)):d}"))
        else:
            out.append(t("sheet.never_inspected"))
        v = r.get("violations_3y") if r is not None else trow.get("violations_3y")
        if v is not None and pd.notna(v):
            out.append(t("sheet.violations", n=int(_num(v))))
        return out

    def _sketch(self, eid: str, trow, facts) -> str:
        if not self.sketch:
            return ""
        r = self.registry.get(eid)
        lon, lat = (r.geometry.x, r.geometry.y) if r is not None and r.geometry is not None else \
            (_num(trow.get("lon")), _num(trow.get("lat")))
        if not (np.isfinite(lon) and np.isfinite(lat)):
            return ""
        from .sketch import site_sketch

        van = []
        for route in (self.art.van_plan or {}).get("routes", []):
            path = np.asarray(route.get("path") or [], dtype=float).reshape(-1, 2)
            for leg in route.get("legs", []):
                if str(leg.get("target_id")) == eid and leg.get("kind") == "monitoring":
                    van.append(path[int(leg.get("start_idx", 0)):int(leg.get("end_idx", 0)) + 1])
        cur = []
        for s in (self.art.drone_plan or {}).get("sorties", []):
            w = [p for p in s.get("waypoints", []) if p.get("action") == "sample" and str(p.get("target_id")) == eid]
            if w:
                cur.append(np.array([[p["lon"], p["lat"]] for p in w], dtype=float))
        ev = facts["events"][2] if facts["events"] is not None else None
        half_m = 500.0
        if ev is not None and len(ev):   # wide enough for its most attributable events
            near = ev.head(EVENTS_PER_SHEET)
            d = np.hypot((near["lon"].to_numpy(float) - lon) * 111_320.0 * np.cos(np.radians(lat)),
                         (near["lat"].to_numpy(float) - lat) * 111_320.0)
            if np.isfinite(d).any():
                half_m = float(np.clip(1.15 * np.nanmax(d), 400.0, 2000.0))
        t = self.t
        svg = site_sketch(lon, lat, roads=self.roads, events=ev, wind=self.art.wind(), van_legs=van, curtain=cur,
                          half_m=half_m, label=str(trow.get("name", eid)))
        return f"<figure class='sketch'>{svg}<figcaption>{esc(t('sheet.sketch', km=fmt_num(2 * half_m / 1000)))}" \
               "</figcaption></figure>"

    def _alarms(self, eid: str) -> str:
        from ._alarms import sheet_block

        return sheet_block(self.alarms, eid, self.t, self.tz)

    # -- one sheet ------------------------------------------------------------------------------
    def sheet(self, trow) -> str:
        t = self.t
        eid = str(trow["enterprise_id"])
        seen, facts = self._seen(eid, trow)
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in self._rows(eid, trow))
        reasons = split_reasons(trow.get("reasons"))

        def block(title: str, items: list[str], raw: bool = False) -> str:
            lis = "".join(f"<li>{i if raw else esc(i)}</li>" for i in items)
            return f"<h3>{esc(title)}</h3><ul>{lis}</ul>"

        return (f"<section class='sheet' id='sheet-{int(trow['rank'])}'>"
                f"<h2>{esc(t('sheet.title', rank=int(trow['rank']), name=trow.get('name', eid)))}</h2>"
                f"<div class='sheet-top'><table class='facts'>{rows}</table>{self._sketch(eid, trow, facts)}</div>"
                + block(t("sheet.seen"), seen, raw=True) + self._alarms(eid)
                + block(t("sheet.when"), self._when(facts))
                + block(t("sheet.sure"), self._sure(trow, facts)) + block(t("sheet.history"), self._history(eid, trow))
                + (block(t("sheet.reasons"), reasons) if reasons else "") + "</section>")


def build_sheets(art, targets: pd.DataFrame, *, lang: str, tz: str, sketch: bool = True) -> list[str]:
    """The HTML of one sheet per row of ``targets`` (already cut to the top N), in rank order."""
    if targets is None or targets.empty:
        return []
    b = SheetBuilder(art, Tr(lang), tz, sketch=sketch)
    return [b.sheet(r) for _, r in targets.iterrows()]
