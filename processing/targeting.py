"""Ranked inspection targets: evidence from the survey combined with registry risk.

For every registered enterprise:

- **evidence** (0–1) is led by the **probability that the firm emits**, from the sparse
  attribution over all samples (``rates.csv`` column ``enterprise_pip``, :meth:`ecopatrol.processing.
  attribution.Signals.group_pip`: 1 − Π over the signals of (1 − Σ over its sources of
  P(signal is that source))). It is
  combined as independent, ``1 − Π(1 − sᵢ)``, with drone curtains credited to the firm
  (``flux.csv`` ``target_id``: the plan's target, or a candidate whose predicted plume crosses
  the flown span, :mod:`.curtain_credit`; uncredited curtains count for nobody) (0.6 ×
  significance of the flux, ``clip((z − 1)/2, 0, 1)``, × how well its plume explains the
  curtain, ``target_match``: the mass balance is a second, model-free estimator) and,
  × ``ITEM_WEIGHT`` = 0.05, with the per-item indications — plume events (× 1.0 when confirmed
  by ≥ 2 independent sightings, :data:`.plume.CONFIRM_RULE`, × 0.6 otherwise; the best reinforced by half the second), hotspots (× 1.0 /
  0.8 / 0.6 at 99 / 95 / 90 %) and the NNLS rate's significance. Those come from the same
  samples as the emission probability, so counting them in full would count the same
  evidence twice; they order firms of equal probability and they are what the reasons cite.
  An event or hotspot counts for a firm by the larger of its plume-model likelihood
  (single-source fit, shared within a collinear group, pooled across events seen from other
  angles) × the significance of the NNLS rate behind it — the firm's own or its ambiguous
  group's — and its share of the enhancement under the all-samples fit × its own significance;
- **risk** (0–1) = 0.4 × industry (packaging printing and textile dyeing 1.0, other VOC-using
  industries 0.7, others 0.3) + 0.35 × past violations (3 or more → 1) + 0.25 × time since the
  last inspection (two years or never → 1);
- **score** = 0.95 × evidence + 0.05 × risk, the risk term × 0.3 for positive-list firms:
  measured evidence leads; registry risk orders firms of similar evidence and those the survey
  did not reach. The positive list discounts registry suspicion, never measured evidence, so
  it lowers the priority of a listed firm only where the survey found nothing against it.

Every row carries ``reasons``: the evidence and the registry facts behind its score.
``targets.csv`` (``rank,enterprise_id,name,score,reasons,…``) is what the planners read with
``--targets-file``.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts import targets as targets_artefact
from ecopatrol.core.artefacts.evidence import read_evidence
from ecopatrol.core.artefacts.targets import write_targets  # noqa: F401  (re-exported: the writer of targets.csv)
from ecopatrol.core.errors import InputError
from ecopatrol.core.sectors import PRIORITY_INDUSTRIES, VOC_INDUSTRIES  # noqa: F401 (re-exported)
from ecopatrol.core.sectors import industry_weight as _industry_weight

from ._evidence_util import PLAUSIBLE_RATIO, lonlat_of, write_csv

log = logging.getLogger(__name__)

EVIDENCE_MIN = 0.05
MIN_SHARE = 0.1  # an evidence item must explain ≥ 10 % of the enhancement to count for a source
FLUX_WEIGHT = 0.6
EVIDENCE_WEIGHT = 0.95
POSITIVE_LIST_FACTOR = 0.3
POOL_TEMPER = 1.0  # scale of the pooled log Bayes factors (1: the product of the events' likelihood ratios)
SHARE_CRED_MIN = 0.3  # event/hotspot shares of a source without a significant all-samples rate
SIGNAL_WEIGHT = 1.0  # the sparse attribution's emission probability counts as it is
ITEM_WEIGHT = 0.05  # events, hotspots and the NNLS rate: the same samples again, so only a tie-breaker
TARGET_COLUMNS = list(targets_artefact.TARGET_COLUMNS)


def registry_risk(industry_weight: np.ndarray, violations_3y: np.ndarray, days_since_inspection: np.ndarray) -> np.ndarray:
    """The registry risk (0–1) of each firm: 0.4 × industry + 0.35 × violations + 0.25 × staleness.

    Industry weight from :func:`_industry_weight`; violations in 3 years saturate at 3; an
    inspection counts as stale after two years, and never inspected (NaN days) as fully stale.
    """
    stale = np.where(np.isfinite(days_since_inspection), np.clip(days_since_inspection / 730.0, 0, 1), 1.0)
    return 0.4 * industry_weight + 0.35 * np.clip(violations_3y / 3.0, 0, 1) + 0.25 * stale


def priority_score(evidence: np.ndarray, risk: np.ndarray, positive_list: np.ndarray, *,
                   risk_factor: np.ndarray | float = 1.0) -> np.ndarray:
    """``EVIDENCE_WEIGHT`` × evidence + the rest × risk (× ``POSITIVE_LIST_FACTOR`` on the positive list, × ``risk_factor``).

    The positive list discounts registry suspicion, never measured evidence; ``risk_factor``
    lowers the risk further (a season's clean covered days).
    """
    return EVIDENCE_WEIGHT * evidence + (1 - EVIDENCE_WEIGHT) * risk * np.where(positive_list, POSITIVE_LIST_FACTOR,
                                                                               1.0) * risk_factor


def _evidence_tables(evidence) -> dict:
    """Tables of an evidence folder (or an EvidenceResult)."""
    if hasattr(evidence, "attribution"):
        return {"attribution": evidence.attribution, "events": pd.DataFrame(evidence.events),
                "hotspots": pd.DataFrame(evidence.hotspots), "flux": evidence.flux, "summary": evidence.summary,
                "rates": getattr(evidence, "rates", pd.DataFrame())}
    tables = read_evidence(evidence)
    return {k: pd.DataFrame() if v is None else v for k, v in tables.items()}


def _best_two(s: np.ndarray) -> float:
    """Strongest indication, reinforced by half the second: many weak shares stay weak."""
    s = np.sort(np.clip(s, 0, 1))[::-1]
    if len(s) == 0:
        return 0.0
    return float(1 - (1 - s[0]) * (1 - 0.5 * (s[1] if len(s) > 1 else 0.0)))


def _combine(parts: pd.Series) -> float:
    p = np.clip(parts.to_numpy(float), 0, 1)
    return float(1 - np.prod(1 - p)) if len(p) else 0.0


def pooled_log_bf(events: pd.DataFrame) -> pd.DataFrame:
    """Per (event, firm): the firm's log Bayes factor there and whether it is plausible.

    A firm counts by its best source (``log_bayes_factor``, against "no source"); ``plausible``
    marks the firms within ``PLAUSIBLE_RATIO`` of the event's most likely one (the candidates
    the event cannot tell apart). Returns a frame indexed by event id, one column per firm, of
    log Bayes factors (0 where the firm is not listed: its plume does not reach the samples, or
    fits them worse than the listed candidates), with the plausible mask in ``attrs``.
    """
    if "log_bayes_factor" not in events.columns or len(events) == 0:
        return pd.DataFrame()
    d = pd.DataFrame({"ev": events["evidence_id"].astype(str), "e": events["enterprise_id"].astype(str),
                      "lbf": pd.to_numeric(events["log_bayes_factor"], errors="coerce"),
                      "lik": pd.to_numeric(events["likelihood"], errors="coerce").fillna(0.0)})
    g = d.groupby(["ev", "e"]).agg(lbf=("lbf", "max"), lik=("lik", "sum"))
    lbf = g["lbf"].fillna(0.0).unstack(fill_value=0.0)
    lik = g["lik"].unstack(fill_value=0.0)
    plaus = lik.ge(PLAUSIBLE_RATIO * lik.max(axis=1), axis=0) & (lik > 0)
    lbf.attrs["plausible"] = plaus
    return lbf


def _pooled_likelihood(r: pd.DataFrame, pooled: pd.DataFrame) -> np.ndarray:
    """Per row: the event's likelihood of the firm's ambiguity group, redistributed within the group
    by the evidence of the *other* events that can tell the group apart.

    For a row of firm f in event e, ambiguous with the firms of G: the weight of each g ∈ G is
    its likelihood in e × exp(Σ log Bayes factor of g over every other event e′ where the
    members of G are not all plausible — the product of the likelihood ratios of the passes
    that see the group from another angle). Events that are themselves ambiguous about G
    (the same road, the same wind) add nothing: their errors are the same.
    """
    lik = np.clip(pd.to_numeric(r["likelihood"], errors="coerce").fillna(0.0).to_numpy(float), 0, 1)
    if pooled is None or pooled.empty or "ambiguous_with" not in r.columns:
        return lik
    out = lik.copy()
    eid = r["enterprise_id"].astype(str).to_numpy()
    evid = r["evidence_id"].astype(str).to_numpy()
    amb = r["ambiguous_with"].fillna("").astype(str).to_numpy()
    lbf = pooled.to_numpy(float)
    plaus = pooled.attrs["plausible"].reindex(index=pooled.index, columns=pooled.columns, fill_value=False) \
        .to_numpy(bool)
    col = {e: j for j, e in enumerate(pooled.columns)}
    row_of = {e: i for i, e in enumerate(pooled.index)}
    # per (event, firm): the firm's likelihood there (summed over its sources)
    lik_of = pd.Series(lik).groupby([evid, eid]).sum().to_dict()
    for i in np.flatnonzero([len(a) > 0 for a in amb]):
        grp = [eid[i]] + [g for g in dict.fromkeys(amb[i].split()) if g != eid[i] and (evid[i], g) in lik_of]
        if len(grp) < 2 or any(g not in col for g in grp):
            continue
        gi = [col[g] for g in grp]
        disc = ~plaus[:, gi].all(axis=1)
        if evid[i] in row_of:
            disc[row_of[evid[i]]] = False
        if not disc.any():
            continue
        lg = np.array([lik_of[(evid[i], g)] for g in grp])
        L = POOL_TEMPER * lbf[disc][:, gi].sum(axis=0)
        w = lg * np.exp(L - L.max())
        if w.sum() <= 0:
            continue
        own = lg[0]
        out[i] = min(lg.sum() * w[0] / w.sum() * (lik[i] / own if own > 0 else 0.0), 1.0)
    return out


def _per_item(rows: pd.DataFrame, cred: dict[str, float], pooled: pd.DataFrame | None = None) -> pd.DataFrame:
    """One entry per (enterprise, evidence item): its ``likelihood`` and its ``weighted`` share.

    ``weighted`` (summed over the enterprise's sources) is the larger of two routes:
    likelihood (single-source plume fit) × credibility, where the credibility is the significance
    of the enterprise's own NNLS rate or, where the attribution names it ambiguous with other
    candidates (collinear or overlapping plumes), of the group's total NNLS rate, whichever is
    higher — the joint fit cannot split a collinear group, but it can tell that the group emits;
    and the share of the enhancement the all-samples NNLS gives it (``nnls_share``) × the
    credibility of its own rate — a plume crossing the evidence beside its peak.
    """
    r = rows.copy()
    cred_lik = {e: (v if v > SHARE_CRED_MIN else 0.0) for e, v in cred.items()}
    # the likelihood route counts as far as an all-samples rate backs it: the enterprise's own or,
    # in an ambiguous group, the group's (no floor: a firm the joint fit gives nothing, alone on a
    # plume, is not credited by the likelihood route)
    own = r["enterprise_id"].map(cred_lik).fillna(0.0 if cred else 1.0).to_numpy(float)
    if "group_rate_g_s" in r.columns:
        gr = pd.to_numeric(r["group_rate_g_s"], errors="coerce").to_numpy(float)
        gs = pd.to_numeric(r["group_rate_sd_g_s"], errors="coerce").to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            gz = np.where((gr > 0) & (gs > 0), gr / gs, 0.0)
        amb = r["ambiguous_with"].fillna("").astype(str).str.len().to_numpy() > 0
        own = np.where(amb, np.maximum(own, np.clip(np.nan_to_num(gz) / 2.0, 0.0, 1.0)), own)
    r["cred"] = own
    for c in ("ambiguous_with", "collinear_with"):
        r[c] = r[c].fillna("").astype(str) if c in r.columns else ""
    own_cred = r["enterprise_id"].map(cred).fillna(SHARE_CRED_MIN if cred else 1.0).to_numpy(float)
    share = pd.to_numeric(r["nnls_share"], errors="coerce").fillna(0.0).to_numpy(float) \
        if "nnls_share" in r.columns else np.zeros(len(r))
    r["likelihood"] = _pooled_likelihood(r, pooled) if pooled is not None else r["likelihood"]
    r["weighted"] = np.maximum(np.clip(r["likelihood"].to_numpy(float), 0, 1) * own, share * own_cred)
    g = r.groupby(["enterprise_id", "evidence_id"], sort=True).agg(
        likelihood=("likelihood", "sum"), weighted=("weighted", "sum"),
        cred=("cred", "max"), ambiguous_with=("ambiguous_with", "first"),
        collinear_with=("collinear_with", "first")).reset_index()
    return g


def _signal_text(signal_id: str, rows: pd.DataFrame) -> str:
    """One signal of one firm, its stacks together: "S2 with probability 0.90 at 0.5 g/s (…)"."""
    p = float(rows["likelihood"].sum())
    rate = float((rows["likelihood"] * rows["evidence_rate_g_s"]).sum() / p) if p > 0 else float("nan")
    amb = rows["ambiguous_with"].dropna()
    amb = str(amb.iloc[0]) if len(amb) and str(amb.iloc[0]) else ""
    return (f"{signal_id} with probability {min(p, 1.0):.2f} at {rate:.2g} g/s"
            + (f" over {len(rows)} of its stacks" if len(rows) > 1 else "")
            + (f" (credible set with {amb.replace(' ', ', ')})" if amb else ""))


def _seen(confirmed, n) -> str:
    """How an event's plume was seen: "confirmed, 3 independent sightings" or "not confirmed"."""
    if confirmed:
        return f"confirmed, {int(n) if n is not None and np.isfinite(n) else 2} independent sightings"
    return "not confirmed"


def _amb(r) -> str:
    if r.collinear_with:
        return f"; ambiguous with {r.collinear_with.replace(' ', ', ')}, collinear along the wind"
    if r.ambiguous_with:
        return f"; ambiguous with {r.ambiguous_with.replace(' ', ', ')}"
    return ""


def rank_targets(evidence_dir_or_result, area, *, top: int | None = None,
                 reference_date: pd.Timestamp | None = None, ledger=None, alarms=None) -> pd.DataFrame:
    """Rank the area's enterprises for inspection from an evidence folder (or result).

    ``alarms`` (an ``alarms.csv`` of ``ecopatrol monitor alarms``, or its frame) adds the online-
    monitoring alarms as an independent evidence line (:mod:`ecopatrol.processing.monitor.evidence`).
    ``reference_date`` (for "days since the last inspection") defaults to the end of the
    survey recorded in ``evidence.json``, else today (UTC). ``ledger`` (a ``processing.ledger.learning.
    LedgerAdjustment``) folds in the on-site outcomes of the supervision ledger. Returns the ``targets.csv`` frame
    sorted by score (ties by enterprise id), ``rank`` from 1; ``top`` keeps the first rows.
    """
    ev = _evidence_tables(evidence_dir_or_result)
    ent = area.enterprises
    if ent is None or len(ent) == 0:
        raise InputError("targets: the area registry has no enterprises")
    if reference_date is None:
        end = (ev.get("summary") or {}).get("end_utc")
        reference_date = pd.Timestamp(end) if end else pd.Timestamp.now(tz="UTC").normalize()
    ref = pd.Timestamp(reference_date)
    ref = ref.tz_localize("UTC") if ref.tzinfo is None else ref.tz_convert("UTC")

    eid = ent["enterprise_id"].astype(str)
    att = ev["attribution"].copy()
    if len(att):
        att["enterprise_id"] = att["enterprise_id"].astype(str)
    reasons: dict[str, list[str]] = {e: [] for e in eid}
    parts: dict[str, list[float]] = {e: [] for e in eid}
    stats = pd.DataFrame(index=eid.to_numpy(), data={"rate_g_s": 0.0, "rate_sd_g_s": np.nan, "n_events": 0,
                                                    "n_confirmed_events": 0, "best_hotspot_confidence": 0,
                                                    "flux_g_s": np.nan, "emit_probability": 0.0})
    if len(att):
        _attribution_evidence(att, ev, parts, reasons, stats)
    _signal_evidence(ev.get("rates"), att, parts, reasons, stats)
    _flux_evidence(ev["flux"], parts, reasons, stats)
    if alarms is not None:  # online-monitoring alarms (alarms.csv): an independent line, cited in the reasons
        from .monitor.evidence import add_alarm_evidence

        add_alarm_evidence(alarms, parts, reasons, stats, ev.get("summary") or {})
    evidence = np.array([_combine(pd.Series(parts[e])) for e in eid])
    ind = ent["industry"].fillna("").astype(str) if "industry" in ent.columns else pd.Series("", index=ent.index)
    ind_w = ind.map(_industry_weight).to_numpy(float)
    viol = pd.to_numeric(ent.get("violations_3y", 0), errors="coerce").fillna(0).to_numpy(float) \
        if "violations_3y" in ent.columns else np.zeros(len(ent))
    last = pd.to_datetime(ent["last_inspected"], utc=True, errors="coerce") if "last_inspected" in ent.columns \
        else pd.Series(pd.NaT, index=ent.index)
    if ledger is not None:  # on-site outcomes: violations raise the prior, clean follow-ups lower the evidence
        evidence, viol, last = ledger.apply(eid, evidence, viol, last)
    days = np.maximum(((ref - last).dt.total_seconds() / 86400.0).to_numpy(float), 0.0)
    risk = registry_risk(ind_w, viol, days)
    pos = ent["positive_list"].fillna(False).astype(bool).to_numpy() if "positive_list" in ent.columns \
        else np.zeros(len(ent), bool)
    has_ev = evidence >= EVIDENCE_MIN
    score = priority_score(evidence, risk, pos)
    rows_reasons = _reason_texts(eid, reasons, has_ev, ind, ind_w, viol, days, pos, ledger)
    lon, lat = lonlat_of(ent)
    out = pd.DataFrame({
        "enterprise_id": eid.to_numpy(), "name": ent["name"].astype(str).to_numpy() if "name" in ent.columns else "",
        "score": np.round(score, 4), "reasons": rows_reasons, "industry": ind.to_numpy(), "positive_list": pos,
        "evidence_score": np.round(evidence, 4), "risk_score": np.round(risk, 4),
        "rate_g_s": stats["rate_g_s"].to_numpy(float), "rate_sd_g_s": stats["rate_sd_g_s"].to_numpy(float),
        "n_events": stats["n_events"].to_numpy(int), "n_confirmed_events": stats["n_confirmed_events"].to_numpy(int),
        "best_hotspot_confidence": stats["best_hotspot_confidence"].to_numpy(int),
        "flux_g_s": stats["flux_g_s"].to_numpy(float),
        "emit_probability": np.round(stats["emit_probability"].to_numpy(float), 4), "violations_3y": viol.astype(int),
        "days_since_inspection": np.where(np.isfinite(days), np.round(days), np.nan), "lon": lon, "lat": lat,
    })
    out = out.sort_values(["score", "evidence_score", "enterprise_id"], ascending=[False, False, True],
                          kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    if top is not None:
        out = out.head(top)
    log.info("targets: %d enterprises ranked, %d with evidence, top score %.2f", len(ent), int(has_ev.sum()),
             float(out["score"].iloc[0]) if len(out) else 0.0)
    return out[TARGET_COLUMNS]


def _attribution_evidence(att: pd.DataFrame, ev: dict, parts: dict, reasons: dict, stats: pd.DataFrame) -> None:
    """Add the attribution's evidence lines to ``parts``/``reasons``/``stats``: events, hotspots, NNLS rates.

    The shares of events and hotspots come from the all-samples fit: they are only as credible
    as the source's rate there (z = rate / sd; z ≥ 2 counts in full, an unsupported rate
    ``SHARE_CRED_MIN``).
    """
    kind = att.get("evidence_kind", pd.Series("event", index=att.index)).fillna("")
    # each firm's all-samples NNLS rate, its sources summed (sd in quadrature)
    nn = att[kind == "nnls"].groupby("enterprise_id").agg(
        rate=("rate_g_s", "sum"), sd=("rate_sd_g_s", lambda s: math.sqrt(float((s**2).sum()))))
    cred: dict[str, float] = {}
    if len(nn):
        zz = np.where((nn["rate"] > 0) & (nn["sd"] > 0), nn["rate"] / nn["sd"].where(nn["sd"] > 0, 1.0), 0.0)
        cred = dict(zip(nn.index.astype(str), np.clip(zz / 2.0, SHARE_CRED_MIN, 1.0), strict=True))
    e_rows = att[kind == "event"]
    pooled = pooled_log_bf(e_rows)
    if len(e_rows):
        _event_evidence(e_rows, ev["events"], cred, pooled, parts, reasons, stats)
    h_rows = att[kind == "hotspot"]
    if len(h_rows):
        _hotspot_evidence(h_rows, ev["hotspots"], cred, pooled, parts, reasons, stats)
    for e, r in nn.iterrows():
        if e not in parts or r["rate"] <= 0:
            continue
        z = r["rate"] / r["sd"] if r["sd"] > 0 else 0.0
        sig = float(np.clip((z - 1) / 2, 0, 1))
        parts[e].append(ITEM_WEIGHT * 0.6 * sig)
        stats.loc[e, "rate_g_s"] = r["rate"]
        stats.loc[e, "rate_sd_g_s"] = r["sd"]
        if sig > 0:
            reasons[e].append(f"estimated emission {r['rate']:.2g} ± {r['sd']:.1g} g/s (NNLS, z = {z:.1f})")


def _event_evidence(e_rows: pd.DataFrame, events: pd.DataFrame, cred: dict, pooled, parts: dict, reasons: dict,
                    stats: pd.DataFrame) -> None:
    """Plume events: one entry per (event, enterprise), best share over its sources; confirmed count in full."""
    conf_of = dict(zip(events["event_id"], events["confirmed"].astype(bool), strict=False)) if len(events) else {}
    # independent sightings (plume.CONFIRM_RULE); folders written before it: the passes
    n_col = "n_independent" if "n_independent" in events.columns else "n_passes"
    nsee_of = dict(zip(events["event_id"], events[n_col], strict=False)) if len(events) else {}
    g = _per_item(e_rows, cred, pooled)
    g = g[(np.maximum(g["likelihood"], g["weighted"]) >= MIN_SHARE) & g["enterprise_id"].isin(list(parts))]
    g["s"] = np.where(
        g["evidence_id"].map(conf_of).fillna(False).astype(bool), 1.0, 0.6) * np.minimum(g["weighted"], 1.0)
    for e, sub in g.groupby("enterprise_id"):
        parts[e].append(ITEM_WEIGHT * _best_two(sub["s"].to_numpy()))
        stats.loc[e, "n_events"] = len(sub)
        stats.loc[e, "n_confirmed_events"] = int(sub["evidence_id"].map(conf_of).fillna(False).sum())
    top_ev = g.sort_values("likelihood", ascending=False).groupby("enterprise_id").head(3)
    for e, sub in top_ev.groupby("enterprise_id"):
        if e in reasons:
            txt = ", ".join(
                f"{r.evidence_id} ({_seen(conf_of.get(r.evidence_id), nsee_of.get(r.evidence_id))}; "
                f"likelihood {r.likelihood:.2f}{_amb(r)})" for r in sub.itertuples(index=False))
            n = int(stats.loc[e, "n_events"])
            reasons[e].append(f"plume events: {txt}" + (f" and {n - len(sub)} more" if n > len(sub) else ""))


def _hotspot_evidence(h_rows: pd.DataFrame, hot: pd.DataFrame, cred: dict, pooled, parts: dict, reasons: dict,
                      stats: pd.DataFrame) -> None:
    """Hotspots: each firm's best two, weighted by the hotspot's Gi* level (99 %: 1, 95 %: 0.8, else 0.6)."""
    hconf_of = dict(zip(hot["hotspot_id"], hot["confidence"], strict=False)) if len(hot) else {}
    g = _per_item(h_rows, cred, pooled)
    g = g[(np.maximum(g["likelihood"], g["weighted"]) >= MIN_SHARE) & g["enterprise_id"].isin(list(parts))]
    g["level"] = g["evidence_id"].map(hconf_of).fillna(90).astype(int)
    g["s"] = g["level"].map({99: 1.0, 95: 0.8}).fillna(0.6) * np.minimum(g["weighted"], 1.0)
    for e, sub in g.sort_values("s", ascending=False).groupby("enterprise_id", sort=False):
        parts[e].append(ITEM_WEIGHT * _best_two(sub["s"].to_numpy()))
        stats.loc[e, "best_hotspot_confidence"] = int(sub["level"].max())
        txt = ", ".join(f"{r.evidence_id} at {r.level} % (likelihood {r.likelihood:.2f}{_amb(r)})"
                        for r in sub.head(3).itertuples(index=False))
        reasons[e].append(f"hotspots: {txt}" + (f" and {len(sub) - 3} more" if len(sub) > 3 else ""))


def _signal_evidence(rt: pd.DataFrame | None, att: pd.DataFrame, parts: dict, reasons: dict,
                     stats: pd.DataFrame) -> None:
    """Sparse attribution: the probability that the firm emits (any of its sources is a signal)."""
    if rt is None or not len(rt) or "pip" not in rt.columns:
        return
    firm = rt["enterprise_id"].astype(str)
    if "enterprise_pip" in rt.columns:  # a firm's stacks sharing one signal add up
        firm_pip = pd.to_numeric(rt["enterprise_pip"], errors="coerce").fillna(0.0).clip(0, 1).groupby(firm).max()
    else:  # evidence folders written before enterprise_pip: stacks taken as independent
        pip = pd.to_numeric(rt["pip"], errors="coerce").fillna(0.0).clip(0, 1)
        firm_pip = (1 - pip).groupby(firm).prod().rsub(1.0)
    sig = att[att.get("evidence_kind", pd.Series("", index=att.index)) == "signal"] if len(att) else att
    for e, p_f in firm_pip.items():
        if e not in parts or p_f <= 0:
            continue
        parts[e].append(SIGNAL_WEIGHT * float(p_f))
        stats.loc[e, "emit_probability"] = float(p_f)
        if p_f >= EVIDENCE_MIN:
            mine = sig[sig["enterprise_id"] == e] if len(sig) else sig
            txt = "; ".join(_signal_text(sid, g) for sid, g in mine.groupby("evidence_id", sort=False)) \
                if len(mine) else ""
            reasons[e].insert(0, f"emits with probability {p_f:.2f} (sparse attribution over all samples"
                              + (f": signal {txt})" if txt else ")"))


def _flux_evidence(fl: pd.DataFrame, parts: dict, reasons: dict, stats: pd.DataFrame) -> None:
    """Curtain fluxes: a curtain counts only for the firm it is credited to (flux.csv ``credit_reason``).

    That is the plan's target or a candidate whose predicted plume crosses the flown span;
    uncredited rows rank nobody.
    """
    if not len(fl) or "target_id" not in fl.columns:
        return
    credited = fl["target_id"].fillna("").astype(str).str.strip() != ""
    for r in fl[credited].itertuples(index=False):
        t = str(r.target_id).strip()
        if t not in parts or not np.isfinite(r.flux_g_s):
            continue
        z = r.flux_g_s / r.flux_sd_g_s if r.flux_sd_g_s > 0 else 0.0
        match = getattr(r, "target_match", 1.0)
        match = 1.0 if match is None or not np.isfinite(match) else float(match)
        parts[t].append(FLUX_WEIGHT * match * float(np.clip((z - 1) / 2, 0, 1)))
        stats.loc[t, "flux_g_s"] = np.nansum([stats.loc[t, "flux_g_s"], r.flux_g_s])
        reasons[t].append(f"curtain {r.sortie_id}: {r.flux_g_s:.2g} ± {r.flux_sd_g_s:.1g} g/s through the plane"
                          + (f" (plume fits it at {match:.0%} of the best candidate)" if match < 0.99 else ""))


def _reason_texts(eid: pd.Series, reasons: dict, has_ev: np.ndarray, ind: pd.Series, ind_w: np.ndarray,
                  viol: np.ndarray, days: np.ndarray, pos: np.ndarray, ledger) -> list[str]:
    """Each enterprise's ``reasons`` cell: its evidence lines, then the registry's facts, ledger and positive list."""
    out = []
    for i, e in enumerate(eid):
        r = list(reasons[e]) if has_ev[i] else ["no evidence in this survey"]
        facts = []
        if ind_w[i] == 1.0:
            facts.append(f"priority industry ({ind.iloc[i]})")
        elif ind_w[i] >= 0.7:
            facts.append(f"VOC industry ({ind.iloc[i]})")
        if viol[i] > 0:
            facts.append(f"{int(viol[i])} violation(s) in 3 years")
        facts.append(f"last inspected {int(days[i])} days ago" if np.isfinite(days[i]) else "never inspected")
        r.append("registry: " + ", ".join(facts))
        if ledger is not None:
            r.extend(ledger.notes.get(e, []))
        if pos[i]:
            r.append("positive list: priority lowered (no evidence)" if not has_ev[i]
                     else "positive list: registry risk discounted, the evidence counts in full")
        out.append("; ".join(r))
    return out


__all__ = ["rank_targets", "write_targets", "write_csv"]
