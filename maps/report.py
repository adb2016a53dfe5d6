"""The daily report: one self-contained, printable HTML page of an output folder.

Sections: summary; what was flown and driven (plans, with enterprise names beside the target
ids, and what the samples show was covered); samples kept and quarantined; plume events;
hotspots (nested 90/95/99 % polygons merged: one row per outer polygon, with the best level and
its location); the top ``top`` inspection targets with their reasons as written, and their
online-monitoring alarms (``alarms.csv``, :mod:`ecopatrol.maps._alarms`); the time series
of the pass with the top target's strongest event and the curtain cross-section from curtain
samples only (figures from clean data); then one printed page per top target for the inspectors
(:mod:`ecopatrol.maps.sheets`). Figures are embedded as base64 PNG and sketches as SVG, so the
file can be mailed or printed to PDF from the browser (A4; each sheet starts a new page).
Every user-facing string comes from :mod:`ecopatrol.maps.i18n`; every artefact is optional —
a missing one is reported as "not available", never an error.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.crs import haversine_m

from ._artefacts import Artefacts, load_artefacts, species_label
from ._style import atomic_write_text, esc, fmt_num
from ._text import area_timezone, enterprise_names, fmt_lonlat, local_time, split_reasons, with_names
from .choose import UNUSABLE_FLAGS, merge_hotspots, usable_mask
from .i18n import FONT_STACK, Tr, resolve_lang

log = logging.getLogger(__name__)

#: Targets listed in the report (and given a sheet) unless ``top`` says otherwise.
TOP_DEFAULT = 20
EVENTS_LISTED = 25

_CSS = """
body {font:13px/1.45 @FONT@; color:#222; max-width:1100px; margin:0 auto; padding:16px 24px;}
h1 {font-size:22px; margin:0 0 2px;} h2 {font-size:17px; border-bottom:2px solid #08306b; padding-bottom:2px;
  margin-top:26px;} h3 {font-size:14px; margin:14px 0 4px;}
.sub {color:#555; margin:0 0 10px;}
.synthetic {display:inline-block; background:#fff3cd; border:1px solid #e0c060; padding:1px 6px; border-radius:3px;}
.cards {display:flex; flex-wrap:wrap; gap:10px; margin:10px 0;}
.card {border:1px solid #ccd; border-radius:6px; padding:8px 12px; min-width:130px; background:#f7f9fc;}
.card .v {font-size:20px; font-weight:bold; color:#08306b;} .card .k {font-size:11px; color:#555;}
table {border-collapse:collapse; width:100%; margin:6px 0 10px; font-size:12px;}
th, td {border:1px solid #d0d4dc; padding:3px 6px; text-align:left; vertical-align:top;}
th {background:#eef1f6;} td.n {text-align:right; font-variant-numeric:tabular-nums;}
tr:nth-child(even) td {background:#fafbfd;}
ul.reasons {margin:0; padding-left:16px;}
table.targets td:nth-child(2) {white-space:nowrap; font-size:11px;}
table.targets td:nth-child(3) {min-width:10em;} table.targets td:nth-child(4) {min-width:4em;}
table.targets td:last-child {font-size:11px;}
figure {margin:10px 0; text-align:center;} figure img {max-width:100%; border:1px solid #ddd;}
figcaption {font-size:11px; color:#555;}
.na {color:#888; font-style:italic;}
section.sheet {border-top:3px double #08306b; margin-top:30px; padding-top:4px;}
section.sheet h2 {border:none; margin-top:6px;}
section.sheet ul {margin:2px 0 6px; padding-left:18px;}
.sheet-top {display:flex; gap:14px; align-items:flex-start;}
.sheet-top table.facts {flex:1; width:auto;} .sheet-top table.facts th {width:9em; white-space:nowrap;}
figure.sketch {margin:0; flex:none; width:260px;}
table.small {font-size:11px; margin:4px 0;}
table.alarms td:nth-child(3) {white-space:nowrap;} h3.alarm-firm {font-size:13px;}
footer {margin-top:30px; font-size:11px; color:#777; border-top:1px solid #ddd; padding-top:6px;}
@page {size:A4; margin:14mm 12mm;}
@media print {
  body {max-width:none; padding:0; font-size:11px;}
  h2 {page-break-after:avoid; break-after:avoid;}
  table, figure, .cards {page-break-inside:avoid; break-inside:avoid;}
  tr {page-break-inside:avoid; break-inside:avoid;}
  section.sheet {page-break-before:always; break-before:page; border:none; margin:0;}
  a {color:inherit; text-decoration:none;}
}
""".replace("@FONT@", FONT_STACK)


def _table(df: pd.DataFrame | None, tr: Tr, *, numeric: tuple[str, ...] = (), html_cols: tuple[str, ...] = (),
           cls: str = "") -> str:
    if df is None or df.empty:
        return f'<p class="na">{esc(tr("none"))}</p>'
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec):
            if c in html_cols:
                cells.append(f"<td>{v}</td>")
            elif c in numeric:
                cells.append(f'<td class="n">{fmt_num(v)}</td>')
            else:
                cells.append(f"<td>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    c = f" class='{cls}'" if cls else ""
    return f"<table{c}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _card(value, label: str) -> str:
    return f'<div class="card"><div class="v">{esc(value)}</div><div class="k">{esc(label)}</div></div>'


def _img(fig, caption: str) -> str:
    from .static import figure_to_png_base64

    data = figure_to_png_base64(fig)
    return (f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def mission_summary(samples: pd.DataFrame, *, block: int = 10) -> pd.DataFrame:
    """Per ``(platform_id, mission_id)``: samples, start (UTC), duration and distance covered.

    Distance is the sum of great-circle steps between the means of consecutive blocks of
    ``block`` samples (time order), so GPS jitter between close samples does not inflate it —
    vectorised over all samples at once.
    """
    keys = [c for c in ("platform_id", "mission_id") if c in samples]
    if not keys:
        return pd.DataFrame()
    s = samples.sort_values([*keys, "time_utc"] if "time_utc" in samples else keys)
    code = s.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
    starts = np.r_[0, np.flatnonzero(code[1:] != code[:-1]) + 1]
    pos = np.arange(len(code)) - np.repeat(starts, np.diff(np.r_[starts, len(code)]))
    blk = pd.DataFrame({"code": code, "b": pos // block, "lon": s["lon"].to_numpy(float),
                        "lat": s["lat"].to_numpy(float)}).groupby(["code", "b"], sort=True).mean().reset_index()
    bc, lon, lat = blk["code"].to_numpy(), blk["lon"].to_numpy(), blk["lat"].to_numpy()
    step = np.r_[0.0, haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:])]
    step[np.r_[True, bc[1:] != bc[:-1]]] = 0.0
    step = np.where(np.isfinite(step), step, 0.0)
    d = pd.DataFrame({"code": bc, "step": step})
    out = s[keys].assign(_code=code).drop_duplicates("_code").set_index("_code")
    out["samples"] = np.bincount(code)
    out["distance_km"] = d.groupby("code")["step"].sum() / 1000.0
    if "time_utc" in s:
        t = s.assign(_code=code).groupby("_code")["time_utc"]
        out["start_utc"] = t.min()
        out["duration_min"] = (t.max() - t.min()).dt.total_seconds() / 60.0
    if "pass_id" in s:
        out["passes"] = s.assign(_code=code).groupby("_code")["pass_id"].nunique()
    return out.reset_index(drop=True)


def _range(vals) -> str:
    v = np.asarray([x for x in vals if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    return "—" if v.size == 0 else f"{v.min():.0f}–{v.max():.0f}"


def ledger_section(stats: dict | None, tr: Tr) -> str:
    """The supervision ledger's page (issue 18) from ``processing.ledger.stats.ledger_stats``'s dict."""
    if not stats:
        return ""

    def L(en: str, zh: str) -> str:  # noqa: N802 - the ledger page's own two languages
        return zh if tr.lang == "zh" else en

    o, n, na = stats["off_site_checks"], stats["on_site_checks"], stats["not_assessable"]
    share = "—" if stats["off_site_share"] is None else f"{stats['off_site_share']:.1%}"
    cards = [_card(o["total"], L("off-site checks", "非现场检查")), _card(n["total"], L("on-site checks", "现场检查")),
             _card(share, L("off-site share", "非现场检查占比")),
             _card(f"{stats['firms_covered']}", L("firms covered at least once", "至少覆盖一次的企业")),
             _card(f"{stats['positive_list_covered']} / {stats['positive_list_enterprises']}",
                   L("positive-list firms covered", "正面清单企业覆盖")),
             _card(na["total"], L("targets not assessable", "无法判定的目标")),
             _card(len(stats["firms_over_cap"]), L(f"firm-years over the cap of {stats['cap_per_year']}",
                                                   f"超过每年{stats['cap_per_year']}次上限")),
             _card(stats["alarm_visits"], L("alarm-triggered visits (exempt)", "异常数据触发检查（不计入上限）"))]
    split = pd.DataFrame([{L("checks", "检查"): L("off-site", "非现场"), L("positive list", "正面清单"): o["positive_list"],
                           L("others", "其他"): o["other"], L("total", "合计"): o["total"]},
                          {L("checks", "检查"): L("on-site", "现场"), L("positive list", "正面清单"): n["positive_list"],
                           L("others", "其他"): n["other"], L("total", "合计"): n["total"]}])
    hit = pd.DataFrame([{L("trigger", "触发方式"): k, L("visits", "检查次数"): v["visits"],
                         L("violations", "违法"): v["violations"],
                         L("hit rate", "命中率"): "—" if v["hit_rate"] is None else f"{v['hit_rate']:.0%}"}
                        for k, v in stats["on_site_by_trigger"].items()])
    over = pd.DataFrame(stats["firms_over_cap"])
    return (f'<h2 id="ledger">{esc(L("Supervision ledger", "监管台账"))}</h2>'
            f'<p class="sub">{esc(stats["from"][:10])} – {esc(stats["to"][:10])}: '
            f'{esc(L("off-site share = off-site checks ÷ all checks", "非现场检查占比 = 非现场检查 ÷ 全部检查"))}</p>'
            f'<div class="cards">{"".join(cards)}</div>' + _table(split, tr, numeric=tuple(split.columns[1:]))
            + f"<h3>{esc(L('On-site visits by trigger', '现场检查（按触发方式）'))}</h3>" + _table(hit, tr)
            + f"<h3>{esc(L('Over the annual cap', '超过年度上限'))}</h3>" + _table(over, tr))


class _Report:
    def __init__(self, art: Artefacts, *, lang: str, top: int, ledger: dict | None = None):
        self.ledger = ledger
        self.art = art
        self.t = Tr(lang)
        self.tz = area_timezone(art.area)
        self.top = max(0, int(top))
        self.species = (art.species() or [None])[0]
        self.names = enterprise_names(art)
        t = art.targets
        self.top_targets = None if t is None else t.head(self.top)
        self.top_id = None if t is None or not len(t) else str(t["enterprise_id"].iloc[0])
        self.merged = merge_hotspots(art.hotspots)

    def _na(self, what_key: str) -> str:
        return f'<p class="na">{esc(self.t("na", what=self.t(what_key)))}</p>'

    def header(self) -> str:
        a, t = self.art, self.t
        name, synthetic = a.area_name, a.synthetic
        day = None
        if a.samples is not None and "time_utc" in a.samples and len(a.samples):
            day = local_time(a.samples["time_utc"].min(), self.tz, "%Y-%m-%d")
        elif a.drone_plan or a.van_plan:
            day = local_time((a.drone_plan or a.van_plan).get("created_utc"), self.tz, "%Y-%m-%d")
        note = a.area_note(t.lang)
        return (f"<h1>{esc(t('report.title', name=name))}</h1>"
                f'<p class="sub">{esc(t("report.field_day", day=day or "—", tz=t.tz_label(self.tz)))} · '
                f"{esc(t.wind(a.wind(), short=False))} · {esc(t('report.generated', time=local_time(datetime.now(UTC), self.tz)))}"
                f" <code>{esc(a.folder)}</code>"
                f"{' · <span class=synthetic>' + esc(t('report.synthetic')) + '</span>' if synthetic else ''}</p>"
                f"{'<p class=sub>' + esc(note) + '</p>' if note else ''}")

    def summary(self) -> str:
        a, t = self.art, self.t
        sorties = (a.drone_plan or {}).get("sorties", [])
        routes = (a.van_plan or {}).get("routes", [])
        cards = [
            _card(len(sorties), t("card.sorties")),
            _card(f"{sum(s.get('distance_m', 0) for s in sorties) / 1000:.1f} km", t("card.flight_km")),
            _card(len(routes), t("card.routes")),
            _card(f"{sum(r.get('distance_m', 0) for r in routes) / 1000:.1f} km", t("card.drive_km")),
            _card(f"{0 if a.samples is None else len(a.samples):,}", t("card.samples")),
            _card(f"{0 if a.quarantine is None else len(a.quarantine):,}", t("card.quarantined")),
            _card(0 if a.events is None else len(a.events), t("card.events")),
            _card(0 if self.merged is None else len(self.merged), t("card.hotspots")),
            _card(0 if a.targets is None else len(a.targets), t("card.targets")),
        ]
        return f'<h2 id="summary">{esc(t("sec.summary"))}</h2><div class="cards">{"".join(cards)}</div>'

    def flown_driven(self) -> str:
        a, t, names = self.art, self.t, self.names
        out = [f'<h2 id="flown">{esc(t("sec.flown"))}</h2><h3>{esc(t("h3.drone_plan"))}</h3>']
        if a.drone_plan:
            rows = [{t("col.sortie"): s.get("sortie_id"), t("col.aircraft"): s.get("aircraft"),
                     t("col.launch"): (s.get("launch") or {}).get("site_id"),
                     t("col.waypoints"): len(s.get("waypoints", [])),
                     t("col.heights"): _range([w.get("alt_agl_m") for w in s.get("waypoints", [])]),
                     t("col.distance_km"): s.get("distance_m", 0) / 1000,
                     t("col.duration_min"): s.get("duration_s", 0) / 60,
                     t("col.battery_pct"): 100 * float(s.get("battery_fraction", 0) or 0),
                     t("col.targets"): with_names(s.get("targets", []), names)}
                    for s in a.drone_plan.get("sorties", [])]
            out.append(_table(pd.DataFrame(rows), t, numeric=(t("col.waypoints"), t("col.distance_km"),
                                                              t("col.duration_min"), t("col.battery_pct"))))
        else:
            out.append(self._na("na.drone_plan"))
        out.append(f"<h3>{esc(t('h3.van_plan'))}</h3>")
        if a.van_plan:
            rows = []
            for r in a.van_plan.get("routes", []):
                legs = pd.DataFrame(r.get("legs", []))
                kinds = legs["kind"].value_counts().to_dict() if "kind" in legs else {}
                dropped = [d.get("target_id", d) if isinstance(d, dict) else d for d in r.get("targets_dropped", [])]
                rows.append({t("col.route"): r.get("route_id"), t("col.distance_km"): r.get("distance_m", 0) / 1000,
                             t("col.duration_min"): r.get("duration_s", 0) / 60,
                             t("col.monitoring_legs"): kinds.get("monitoring", 0),
                             t("col.background_legs"): kinds.get("background", 0),
                             t("col.targets_covered"): with_names(r.get("targets_covered", []), names),
                             t("col.targets_dropped"): with_names(dropped, names)})
            out.append(_table(pd.DataFrame(rows), t, numeric=(t("col.distance_km"), t("col.duration_min"),
                                                              t("col.monitoring_legs"), t("col.background_legs"))))
        else:
            out.append(self._na("na.van_plan"))
        out.append(f"<h3>{esc(t('h3.covered'))}</h3>")
        if a.samples is not None and len(a.samples):
            ms = mission_summary(a.samples)
            cols = {"platform_id": t("col.platform"), "mission_id": t("col.mission"), "samples": t("col.samples"),
                    "distance_km": t("col.distance_km"), "start_utc": t("col.start_local", tz=t.tz_label(self.tz)),
                    "duration_min": t("col.duration_min"), "passes": t("col.passes")}
            if "start_utc" in ms:
                ms["start_utc"] = ms["start_utc"].map(lambda v: local_time(v, self.tz))
            ms = ms[[c for c in cols if c in ms]].rename(columns=cols)
            out.append(_table(ms, t, numeric=(t("col.samples"), t("col.distance_km"), t("col.duration_min"),
                                              t("col.passes"))))
        else:
            out.append(self._na("na.samples"))
        return "".join(out)

    def samples_section(self) -> str:
        a, t = self.art, self.t
        out = [f'<h2 id="samples">{esc(t("sec.samples"))}</h2>']
        if a.samples is not None and len(a.samples):
            s = a.samples
            flags = s["qa_flags"].fillna("").astype(str) if "qa_flags" in s else pd.Series("", index=s.index)
            ok = usable_mask(s)
            flagged = int((flags != "").sum())
            out.append(f"<p>{esc(t('samples.kept', n=f'{len(s):,}', f=f'{flagged:,}', u=f'{int((~ok).sum()):,}', flags=', '.join(UNUSABLE_FLAGS)))}</p>")
            if flagged:
                fl = flags[flags != ""].str.split("|").explode().value_counts()
                out.append(_table(pd.DataFrame({t("col.qa_flag"): fl.index, t("col.samples"): fl.to_numpy(),
                                                t("col.usable"): [t.yes_no(f not in UNUSABLE_FLAGS) for f in fl.index]}),
                                  t, numeric=(t("col.samples"),)))
            stats = []
            for c in a.species():
                v = s[c].to_numpy(float)
                name, unit = species_label(c)
                fin = v[np.isfinite(v)]
                good = v[ok & np.isfinite(v)]
                stats.append({t("col.species"): f"{name} ({unit})", t("col.valid"): fin.size,
                              t("col.median"): np.median(good) if good.size else np.nan,
                              t("col.p95"): np.percentile(good, 95) if good.size else np.nan,
                              t("col.max_usable"): good.max() if good.size else np.nan})
            out.append(_table(pd.DataFrame(stats), t, numeric=(t("col.valid"), t("col.median"), t("col.p95"),
                                                               t("col.max_usable"))))
        else:
            out.append(self._na("na.samples"))
        q = a.quarantine
        if q is not None and len(q):
            out.append(f"<h3>{esc(t('h3.quarantine', n=f'{len(q):,}'))}</h3>")
            if "reason" in q:
                grp = [c for c in ("file", "reason") if c in q]
                g = q.groupby(grp, dropna=False).size().reset_index(name="rows").sort_values("rows", ascending=False)
                g = g.rename(columns={"file": t("col.file"), "reason": t("col.reason"), "rows": t("col.rows")})
                out.append(_table(g.head(30), t, numeric=(t("col.rows"),)))
        elif q is not None:
            out.append(f"<p>{esc(t('samples.no_quarantine'))}</p>")
        return "".join(out)

    def events_section(self) -> str:
        ev, t = self.art.events, self.t
        out = [f'<h2 id="events">{esc(t("sec.events"))}</h2>']
        if ev is None:
            return out[0] + self._na("na.events")
        if not len(ev):
            return out[0] + f"<p>{esc(t('events.none'))}</p>"
        conf = ev["confirmed"].astype(bool).sum() if "confirmed" in ev else 0
        out.append(f"<p>{esc(t('events.summary', n=len(ev), c=conf))}</p>")
        cols = {"event_id": t("col.event"), "species": t("col.species"), "platform_id": t("col.platform"),
                "mission_id": t("col.mission"), "pass_id": t("col.pass"),
                "start_utc": t("col.start_local", tz=t.tz_label(self.tz)), "duration_s": t("col.duration_s"),
                "peak": t("col.peak"), "peak_enhancement": t("col.peak_enhancement"), "n_samples": t("col.samples"),
                "confirmed": t("col.confirmed"), "n_passes": t("col.passes")}
        d = pd.DataFrame(ev[[c for c in cols if c in ev]])
        if "peak_enhancement" in d:
            d = d.sort_values("peak_enhancement", ascending=False)
        if "start_utc" in d:
            d["start_utc"] = d["start_utc"].map(lambda v: local_time(v, self.tz))
        if "confirmed" in d:
            d["confirmed"] = d["confirmed"].map(lambda v: t.yes_no(str(v).lower() in ("true", "1")))
        d = d.rename(columns=cols)
        out.append(_table(d.head(EVENTS_LISTED), t, numeric=tuple(cols[c] for c in (
            "pass_id", "duration_s", "peak", "peak_enhancement", "n_samples", "n_passes"))))
        if len(ev) > EVENTS_LISTED:
            out.append(f"<p class='na'>{esc(t('events.more', k=len(ev) - EVENTS_LISTED))}</p>")
        return "".join(out)

    def hotspots_section(self) -> str:
        from .static import hotspot_figure

        a, t = self.art, self.t
        out = [f'<h2 id="hotspots">{esc(t("sec.hotspots"))}</h2>']
        if a.hotspots_tif is None and a.hotspots is None:
            return out[0] + self._na("na.hotspots")
        fig = hotspot_figure(raster_path=a.hotspots_tif, hotspots=self.merged, enterprises=a.enterprises,
                             targets=a.targets, events=a.events, title=t("hotspots.fig_title"), lang=t.lang,
                             top=self.top)
        out.append(_img(fig, t("hotspots.caption")))
        m = self.merged
        if m is not None and len(m):
            out.append(f"<p>{esc(t('hotspots.merged', n=len(a.hotspots), m=len(m)))}</p>")
            d = pd.DataFrame({t("col.hotspot"): m["hotspot_id"], t("col.best_level"): m["confidence"],
                              t("col.levels"): m["levels"], t("col.area_ha"): m["area_ha"],
                              t("col.samples"): m["n_samples"], t("col.max_value"): m["max_value"],
                              t("col.location"): [fmt_lonlat(x, y) for x, y in zip(m["lon"], m["lat"])]})
            out.append(_table(d, t, numeric=(t("col.best_level"), t("col.area_ha"), t("col.samples"),
                                             t("col.max_value"))))
        return "".join(out)

    def targets_section(self) -> str:
        tg, t = self.art.targets, self.t
        out = [f'<h2 id="targets">{esc(t("sec.targets"))}</h2>']
        if tg is None:
            return out[0] + self._na("na.targets")
        top = self.top_targets
        out.append(f"<p>{esc(t('targets.top', n=len(top), total=len(tg)))}</p>")
        out.append(_visit_cut(tg, t))
        cols = {"rank": t("col.rank"), "enterprise_id": t("col.id"), "name": t("col.name"),
                "industry": t("col.industry"), "positive_list": t("col.positive_list"), "score": t("col.score"),
                "emit_probability": t("col.emit_probability"), "rate_g_s": t("col.est_rate")}
        d = pd.DataFrame(top[[c for c in cols if c in top]]).copy()
        if "industry" in d:
            d["industry"] = d["industry"].map(t.industry)
        if "positive_list" in d:
            d["positive_list"] = d["positive_list"].map(lambda v: t.yes_no(str(v).strip().lower() in ("true", "1", "是")))
        if "rank" in d:
            star = _visited(top)
            d["rank"] = [f"<a href='#sheet-{int(r)}'>{int(r)}</a>" + (" ★" if v else "") for r, v in zip(d["rank"], star)]
        d = d.rename(columns=cols)
        reasons = top["reasons"] if "reasons" in top else pd.Series("", index=top.index)
        d[t("col.reasons")] = [
            "<ul class='reasons'>" + "".join(f"<li>{esc(p)}</li>" for p in split_reasons(r)) + "</ul>"
            if split_reasons(r) else "—" for r in reasons]
        out.append(_table(d, t, numeric=(t("col.score"), t("col.emit_probability"), t("col.est_rate")),
                          html_cols=(t("col.reasons"), t("col.rank")), cls="targets"))
        return "".join(out)

    def alarms_section(self) -> str:
        """Online-monitoring alarms per firm for the top targets (issue 17; none without alarms.csv)."""
        from ._alarms import report_section

        return report_section(self.art, self.top_targets, self.t, self.tz, names=self.names)

    def figures_section(self) -> str:
        from .static import curtain_figure, pass_timeseries_figure, pick_curtain, pick_pass

        a, t = self.art, self.t
        out = [f'<h2 id="figures">{esc(t("sec.figures"))}</h2>']
        if a.samples is None or self.species is None:
            return out[0] + self._na("na.samples")
        p = pick_pass(a.samples, self.species, events=a.events, attribution=a.attribution, target_id=self.top_id)
        if p is not None:
            fig = pass_timeseries_figure(a.samples, mission_id=p.mission_id, pass_id=p.pass_id, species=self.species,
                                         events=a.events, lang=t.lang, tz=self.tz)
            key = {"target_event": "figures.pass_target", "event": "figures.pass_event"}.get(p.why, "figures.pass_peak")
            cap = t(key, m=p.mission_id, p=p.pass_id, ev=p.event_id)
            sel = (a.samples["mission_id"].astype(str) == p.mission_id)
            if "pass_id" in a.samples:
                sel &= a.samples["pass_id"] == p.pass_id
            n_out = int((~usable_mask(a.samples.loc[sel])).sum())
            if n_out:
                cap += " " + t("figures.flagged_out", k=n_out)
            out.append(_img(fig, cap))
        sorties = {str(s.get("sortie_id")): s for s in (a.drone_plan or {}).get("sorties", [])}
        cur = pick_curtain(a.samples, self.species, plan=a.drone_plan, flux=a.flux, target_id=self.top_id)
        if cur is not None:
            fig = curtain_figure(a.samples, mission_id=cur, species=self.species, sortie=sorties.get(cur),
                                 target_id=self.top_id, lang=t.lang)
            got = fig._ep_curtain
            if got is not None:
                cs, plane = got
                lv = len(plane.levels_m) or len(np.unique(np.round(cs["alt_agl_m"].to_numpy(float) / 5.0)))
                src = t("figures.curtain_plan") if plane.source == "plan" else t("figures.curtain_samples")
                out.append(_img(fig, t("figures.curtain", m=cur, src=src, n=f"{len(cs):,}", lv=lv)))
        if cur is None:
            out.append(f'<p class="na">{esc(t("figures.no_curtain"))}</p>')
        return "".join(out)

    def sheets(self) -> str:
        from .sheets import build_sheets

        if self.top_targets is None or self.top_targets.empty:
            return ""
        parts = build_sheets(self.art, self.top_targets, lang=self.t.lang, tz=self.tz)
        return f'<h2 id="sheets" class="sheets-title">{esc(self.t("sec.sheets"))}</h2>' + "".join(parts)

    def render(self) -> str:
        t = self.t
        parts = [self.header(), self.summary(), self.targets_section(), self.alarms_section(), self.flown_driven(),
                 self.samples_section(),
                 self.events_section(), self.hotspots_section(), self.figures_section(),
                 ledger_section(self.ledger, t), self.sheets()]
        name = self.art.area_name
        return (f"<!DOCTYPE html><html lang='{t.html_lang}'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{esc(t('report.title', name=name))}</title><style>{_CSS}</style></head><body>{''.join(parts)}"
                f"<footer>{esc(t('report.footer', tz=t.tz_label(self.tz)))}</footer></body></html>")


def build_report(folder: str | Path, *, out: str | Path, area=None, lang: str | None = None,
                 top: int = TOP_DEFAULT, ledger_stats: dict | None = None) -> Path:
    """Write the daily HTML report of an output folder to ``out`` and return its path.

    ``top`` targets are listed and get an inspection sheet each (default 20); ``lang`` is
    ``"zh"`` or ``"en"`` (default: the area's, see :func:`ecopatrol.maps.i18n.resolve_lang`);
    ``ledger_stats`` (``processing.ledger.stats.ledger_stats``) adds the supervision ledger's page.
    """
    art = load_artefacts(folder, area=area)
    lang = resolve_lang(lang, art.area)
    html = _Report(art, lang=lang, top=top, ledger=ledger_stats).render()
    out = atomic_write_text(out, html)
    log.info("report: %s, top %d, %s, %.1f MB, from %s -> %s", ", ".join(art.found), top, lang,
             out.stat().st_size / 1e6, folder, out)
    return out


def _visited(targets: pd.DataFrame) -> list[bool]:
    """Per row: marked to visit (``targets --visits K`` wrote a ``visit`` column), else False."""
    if "visit" not in targets.columns:
        return [False] * len(targets)
    return [str(v).strip().lower() in ("true", "1") for v in targets["visit"]]


def _visit_cut(targets: pd.DataFrame, t) -> str:
    """The visit budget's sentence (K, expected emitters Σp, P(at least one) = 1 − Π(1 − p)), or ""."""
    v = _visited(targets)
    if not any(v) or "emit_probability" not in targets.columns:
        return ""
    from ecopatrol.processing.calibration import visit_budget

    col = "visit_probability" if "visit_probability" in targets.columns else "emit_probability"
    b = visit_budget(pd.to_numeric(targets.loc[v, col], errors="coerce").to_numpy(float), int(sum(v)))
    key = "targets.visits_calibrated" if col == "visit_probability" else "targets.visits"
    exp, p1 = f"{b['expected_emitters']:.2f}", f"{b['p_at_least_one']:.0%}"
    return f"<p><b>{esc(t(key, k=b['visits'], exp=exp, p1=p1))}</b></p>"

