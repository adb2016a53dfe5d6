"""The daily report: one self-contained, printable HTML page of an output folder.

Sections: summary; what was flown and driven (plans and what the samples show was covered);
samples kept and quarantined (with reasons); plume events; hotspots (figure and table); the
ranked inspection targets with their reasons; the time series of the pass with the highest
peak and a curtain cross-section. Figures are embedded as base64 PNG, so the file can be
mailed or printed to PDF from the browser (A4, print CSS keeps tables and figures whole).
Every artefact is optional: a missing one is reported as "not available", never an error.
"""

from __future__ import annotations

import logging
from datetime import datetime, UTC
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.crs import haversine_m

from ._artefacts import Artefacts, load_artefacts, species_label
from ._style import TIMEZONE_DISPLAY, atomic_write_text, esc, fmt_num

log = logging.getLogger(__name__)

_CSS = """
body {font:13px/1.45 "Noto Sans", "Noto Sans CJK SC", "Microsoft YaHei", Arial, sans-serif; color:#222;
  max-width:1100px; margin:0 auto; padding:16px 24px;}
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
figure {margin:10px 0; text-align:center;} figure img {max-width:100%; border:1px solid #ddd;}
figcaption {font-size:11px; color:#555;}
.na {color:#888; font-style:italic;}
footer {margin-top:30px; font-size:11px; color:#777; border-top:1px solid #ddd; padding-top:6px;}
@page {size:A4; margin:14mm 12mm;}
@media print {
  body {max-width:none; padding:0; font-size:11px;}
  h2 {page-break-after:avoid; break-after:avoid;}
  table, figure, .cards {page-break-inside:avoid; break-inside:avoid;}
  tr {page-break-inside:avoid; break-inside:avoid;}
  a {color:inherit; text-decoration:none;}
}
"""


def _table(df: pd.DataFrame, *, numeric: tuple[str, ...] = (), html_cols: tuple[str, ...] = ()) -> str:
    if df is None or df.empty:
        return '<p class="na">none</p>'
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
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _card(value, label: str) -> str:
    return f'<div class="card"><div class="v">{esc(value)}</div><div class="k">{esc(label)}</div></div>'


def _na(what: str) -> str:
    return f'<p class="na">{esc(what)} not available in this folder.</p>'


def _local(ts) -> str:
    t = pd.Timestamp(ts)
    if pd.isna(t):
        return "—"
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    return t.tz_convert(TIMEZONE_DISPLAY).strftime("%Y-%m-%d %H:%M")


def _img(fig, caption: str) -> str:
    from .static import figure_to_png_base64

    data = figure_to_png_base64(fig)
    return (f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def mission_summary(samples: pd.DataFrame, *, block: int = 10) -> pd.DataFrame:
    """Per ``(platform_id, mission_id)``: samples, start/end, duration and distance covered.

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
        out["start (Beijing)"] = t.min().map(_local)
        out["duration_min"] = (t.max() - t.min()).dt.total_seconds() / 60.0
    if "pass_id" in s:
        out["passes"] = s.assign(_code=code).groupby("_code")["pass_id"].nunique()
    return out.reset_index(drop=True)


class _Report:
    def __init__(self, art: Artefacts):
        self.art = art
        self.species = (art.species() or [None])[0]

    def header(self) -> str:
        a = self.art
        name = getattr(a.area, "name", None) or a.folder.name
        synthetic = bool((getattr(a.area, "config", None) or {}).get("synthetic", False))
        day = None
        if a.samples is not None and "time_utc" in a.samples and len(a.samples):
            day = pd.Timestamp(a.samples["time_utc"].min()).tz_convert(TIMEZONE_DISPLAY).strftime("%Y-%m-%d")
        elif a.drone_plan or a.van_plan:
            day = _local((a.drone_plan or a.van_plan).get("created_utc"))[:10]
        now = datetime.now(UTC)
        w = a.wind()
        wind = (f"wind from {w['from_deg']:.0f}° at {w['speed_m_s']:.1f} m/s"
                + (f", stability {w['stability']}" if w.get("stability") else "")) if w else "wind not recorded"
        return (f"<h1>ecopatrol daily report — {esc(name)}</h1>"
                f'<p class="sub">Field day {esc(day or "—")} (Beijing time) · {esc(wind)} · generated '
                f"{esc(_local(now))} from <code>{esc(a.folder)}</code>"
                f"{' · <span class=synthetic>synthetic example data</span>' if synthetic else ''}</p>"
                f"{'<p class=sub>' + esc(a.area_note()) + '</p>' if a.area_note() else ''}")

    def summary(self) -> str:
        a = self.art
        sorties = (a.drone_plan or {}).get("sorties", [])
        routes = (a.van_plan or {}).get("routes", [])
        cards = [
            _card(len(sorties), "drone sorties planned"),
            _card(f"{sum(s.get('distance_m', 0) for s in sorties) / 1000:.1f} km", "flight distance (plan)"),
            _card(len(routes), "van routes planned"),
            _card(f"{sum(r.get('distance_m', 0) for r in routes) / 1000:.1f} km", "driving distance (plan)"),
            _card(f"{0 if a.samples is None else len(a.samples):,}", "samples kept"),
            _card(f"{0 if a.quarantine is None else len(a.quarantine):,}", "rows quarantined"),
            _card(0 if a.events is None else len(a.events), "plume events"),
            _card(0 if a.hotspots is None else len(a.hotspots), "Gi* hotspot polygons"),
            _card(0 if a.targets is None else len(a.targets), "ranked targets"),
        ]
        return f'<h2 id="summary">Summary</h2><div class="cards">{"".join(cards)}</div>'

    def flown_driven(self) -> str:
        a = self.art
        out = ['<h2 id="flown">Flown and driven</h2><h3>Drone sorties (plan)</h3>']
        if a.drone_plan:
            rows = [{"sortie": s.get("sortie_id"), "aircraft": s.get("aircraft"),
                     "launch": (s.get("launch") or {}).get("site_id"), "waypoints": len(s.get("waypoints", [])),
                     "heights_m_agl": _range([w.get("alt_agl_m") for w in s.get("waypoints", [])]),
                     "distance_km": s.get("distance_m", 0) / 1000, "duration_min": s.get("duration_s", 0) / 60,
                     "battery_%": 100 * float(s.get("battery_fraction", 0) or 0),
                     "targets": ", ".join(map(str, s.get("targets", [])))} for s in a.drone_plan.get("sorties", [])]
            out.append(_table(pd.DataFrame(rows), numeric=("waypoints", "distance_km", "duration_min", "battery_%")))
        else:
            out.append(_na("A drone plan"))
        out.append("<h3>Van routes (plan)</h3>")
        if a.van_plan:
            rows = []
            for r in a.van_plan.get("routes", []):
                legs = pd.DataFrame(r.get("legs", []))
                kinds = legs["kind"].value_counts().to_dict() if "kind" in legs else {}
                rows.append({"route": r.get("route_id"), "distance_km": r.get("distance_m", 0) / 1000,
                             "duration_min": r.get("duration_s", 0) / 60,
                             "monitoring legs": kinds.get("monitoring", 0),
                             "background legs": kinds.get("background", 0),
                             "targets covered": ", ".join(map(str, r.get("targets_covered", []))),
                             "targets dropped": ", ".join(map(str, r.get("targets_dropped", [])))})
            out.append(_table(pd.DataFrame(rows), numeric=("distance_km", "duration_min", "monitoring legs",
                                                           "background legs")))
        else:
            out.append(_na("A van plan"))
        out.append("<h3>What the samples show was covered</h3>")
        if a.samples is not None and len(a.samples):
            out.append(_table(mission_summary(a.samples), numeric=("samples", "distance_km", "duration_min",
                                                                   "passes")))
        else:
            out.append(_na("Samples"))
        return "".join(out)

    def samples_section(self) -> str:
        a = self.art
        out = ['<h2 id="samples">Samples kept and quarantined</h2>']
        if a.samples is not None and len(a.samples):
            s = a.samples
            flags = s["qa_flags"].fillna("").astype(str) if "qa_flags" in s else pd.Series("", index=s.index)
            flagged = int((flags != "").sum())
            out.append(f"<p>{len(s):,} samples kept, {flagged:,} of them carry QA flags.</p>")
            if flagged:
                fl = flags[flags != ""].str.split("|").explode().value_counts().rename_axis("qa flag")
                out.append(_table(fl.reset_index(name="samples"), numeric=("samples",)))
            stats = []
            for c in a.species():
                v = s[c].to_numpy(float)
                name, unit = species_label(c)
                fin = v[np.isfinite(v)]
                stats.append({"species": f"{name} ({unit})", "valid": fin.size,
                              "median": np.median(fin) if fin.size else np.nan,
                              "p95": np.percentile(fin, 95) if fin.size else np.nan,
                              "max": fin.max() if fin.size else np.nan})
            out.append(_table(pd.DataFrame(stats), numeric=("valid", "median", "p95", "max")))
        else:
            out.append(_na("Samples"))
        q = a.quarantine
        if q is not None and len(q):
            out.append(f"<h3>Quarantine: {len(q):,} rows</h3>")
            if "reason" in q:
                grp = [c for c in ("file", "reason") if c in q]
                t = q.groupby(grp, dropna=False).size().reset_index(name="rows").sort_values("rows", ascending=False)
                out.append(_table(t.head(30), numeric=("rows",)))
        elif q is not None:
            out.append("<p>No input rows were quarantined.</p>")
        return "".join(out)

    def events_section(self) -> str:
        ev = self.art.events
        out = ['<h2 id="events">Plume events</h2>']
        if ev is None:
            return out[0] + _na("Plume events")
        if not len(ev):
            return out[0] + "<p>No plume event was detected.</p>"
        conf = ev["confirmed"].astype(bool).sum() if "confirmed" in ev else 0
        out.append(f"<p>{len(ev)} events, {conf} confirmed on more than one pass.</p>")
        cols = [c for c in ("event_id", "species", "platform_id", "mission_id", "pass_id", "start_utc",
                            "duration_s", "peak", "peak_enhancement", "n_samples", "confirmed", "n_passes") if c in ev]
        t = pd.DataFrame(ev[cols])
        if "peak_enhancement" in t:
            t = t.sort_values("peak_enhancement", ascending=False)
        if "start_utc" in t:
            t["start_utc"] = t["start_utc"].map(_local)
            t = t.rename(columns={"start_utc": "start (Beijing)"})
        out.append(_table(t.head(25), numeric=("pass_id", "duration_s", "peak", "peak_enhancement", "n_samples",
                                               "n_passes")))
        if len(ev) > 25:
            out.append(f"<p class='na'>{len(ev) - 25} more events in evidence/events.gpkg.</p>")
        return "".join(out)

    def hotspots_section(self) -> str:
        from .static import hotspot_figure

        a = self.art
        out = ['<h2 id="hotspots">Hotspots</h2>']
        if a.hotspots_tif is None and a.hotspots is None:
            return out[0] + _na("Hotspot evidence")
        fig = hotspot_figure(raster_path=a.hotspots_tif, hotspots=a.hotspots, enterprises=a.enterprises,
                             targets=a.targets, events=a.events, title="Hotspots and ranked targets")
        out.append(_img(fig, "Hotspot raster, Gi* hotspot polygons by confidence, enterprises, plume events "
                             "(triangles) and target ranks (WGS-84)."))
        if a.hotspots is not None and len(a.hotspots):
            h = pd.DataFrame(a.hotspots.drop(columns="geometry"))
            from ecopatrol.core.crs import local_metric_crs

            c = a.hotspots.geometry.representative_point()
            metric = a.hotspots.to_crs(local_metric_crs(c.x.to_numpy(), c.y.to_numpy()))
            h["area_ha"] = metric.geometry.area.to_numpy() / 1e4
            h["lon, lat"] = [f"{x:.5f}, {y:.5f}" for x, y in zip(c.x, c.y)]
            if "confidence" in h:
                h = h.sort_values("confidence", ascending=False)
            out.append(_table(h, numeric=tuple(c for c in h.columns if pd.api.types.is_numeric_dtype(h[c]))))
        return "".join(out)

    def targets_section(self) -> str:
        t = self.art.targets
        out = ['<h2 id="targets">Ranked inspection targets</h2>']
        if t is None:
            return out[0] + _na("targets.csv")
        cols = [c for c in ("rank", "enterprise_id", "name", "industry", "positive_list", "score",
                            "evidence_score", "risk_score", "rate_g_s") if c in t]
        d = pd.DataFrame(t[cols]).copy()
        reasons = t["reasons"] if "reasons" in t else pd.Series("", index=t.index)
        d["reasons"] = [
            "<ul class='reasons'>" + "".join(f"<li>{esc(p.strip())}</li>" for p in str(r).split(";")
                                             if p.strip()) + "</ul>" if isinstance(r, str) and r.strip() else "—"
            for r in reasons]
        out.append(_table(d, numeric=("rank", "score", "evidence_score", "risk_score", "rate_g_s"),
                          html_cols=("reasons",)))
        return "".join(out)

    def figures_section(self) -> str:
        from .static import curtain_figure, pass_timeseries_figure, pick_curtain, pick_pass

        a = self.art
        out = ['<h2 id="figures">Passes and curtains</h2>']
        if a.samples is None or self.species is None:
            return out[0] + _na("Samples")
        p = pick_pass(a.samples, self.species)
        if p is not None:
            fig = pass_timeseries_figure(a.samples, mission_id=p[0], pass_id=p[1], species=self.species,
                                         events=a.events)
            out.append(_img(fig, f"Time series of {p[0]} pass {p[1]}, the pass with the highest peak; "
                                  "plume events shaded."))
        cur = pick_curtain(a.samples, self.species)
        if cur is not None:
            fig = curtain_figure(a.samples, mission_id=cur, species=self.species)
            out.append(_img(fig, f"Curtain cross-section of drone mission {cur}: samples and the "
                                 "linearly interpolated plume."))
        else:
            out.append('<p class="na">No drone curtain (samples at several heights) in this folder.</p>')
        return "".join(out)

    def render(self) -> str:
        parts = [self.header(), self.summary(), self.flown_driven(), self.samples_section(),
                 self.events_section(), self.hotspots_section(), self.targets_section(), self.figures_section()]
        return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>ecopatrol report — {esc(getattr(self.art.area, 'name', None) or self.art.folder.name)}"
                f"</title><style>{_CSS}</style></head><body>{''.join(parts)}"
                "<footer>ecopatrol — coordinates WGS-84, times Beijing (UTC+8) unless marked; "
                "print from the browser to save as PDF.</footer></body></html>")


def _range(vals) -> str:
    v = np.asarray([x for x in vals if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    return "—" if v.size == 0 else f"{v.min():.0f}–{v.max():.0f}"


def build_report(folder: str | Path, *, out: str | Path, area=None) -> Path:
    """Write the daily HTML report of an output folder to ``out`` and return its path."""
    art = load_artefacts(folder, area=area)
    html = _Report(art).render()
    out = atomic_write_text(out, html)
    log.info("report: %s, %.1f MB, from %s -> %s", ", ".join(art.found), out.stat().st_size / 1e6, folder, out)
    return out
