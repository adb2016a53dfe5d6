"""What the ledger teaches the planners and targeting, and the positive-list proposals.

- **Registry facts** (:func:`registry_updates`): ``last_inspected`` = the later of the registry's
  date and the firm's last on-site visit in the ledger; ``violations_3y`` = the registry's count
  (as first registered) + the violations the ledger confirmed in the 3 years before the reference
  date. ``ecopatrol ledger export-registry`` writes them into a registry CSV; ``ecopatrol targets
  --db`` uses them directly.
- **Outcomes** (:class:`LedgerAdjustment`): a confirmed violation raises the firm's prior (through
  ``violations_3y`` in the registry risk, and said in its reasons); an on-site visit that found
  the firm clean within :data:`~.store.FOLLOW_UP_DAYS` after a suspicious off-site check is a false
  alarm of the survey evidence *for that firm*: its evidence score is multiplied by
  (1 + confirmed) / (1 + confirmed + false alarms) — a Beta(1, 1) estimate of how often the
  survey's suspicion of this firm was borne out (one clean follow-up halves it; a later confirmed
  violation restores two thirds). Over several survey days a clean visit also counts as a false
  alarm when it follows, within FOLLOW_UP_DAYS, a survey day whose own evidence for the firm the
  multi-day ranking counts (≥ EVIDENCE_MIN) but the ledger did not record as a suspicious check
  (the attribution over all samples saw the firm where the ledger's coverage test did not cover
  it): the visit answered the evidence it was sent on, whichever test recorded it. Over several survey days (:func:`~ecopatrol.processing.season.rank_season`)
  a confirmed violation also **answers** the evidence of the days up to that visit: the firm was
  found and ordered to rectify, so those days no longer count as evidence that it emits now (its
  prior stays raised); only later days' evidence does (:meth:`LedgerAdjustment.answered_until`).
- **Positive-list proposals** (:func:`proposals`): a listed firm with a violation confirmed in the
  last 3 years → propose removal; an unlisted firm with at least :data:`INCLUSION_MIN_CHECKS`
  checks with a result in the last :data:`INCLUSION_WINDOW_DAYS` days, all clean, and no violation
  in 3 years → propose inclusion. Proposals only, each with its reasons; nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .store import FOLLOW_UP_DAYS

VIOLATION_WINDOW_DAYS = 3 * 365
INCLUSION_MIN_CHECKS = 5
INCLUSION_WINDOW_DAYS = 365


def _ref(ref) -> pd.Timestamp:
    t = pd.Timestamp(ref) if ref is not None else pd.Timestamp.now(tz="UTC")
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def outcome_counts(checks: pd.DataFrame, ref=None) -> pd.DataFrame:
    """Per firm (checks up to ``ref``): ``violations_ledger_3y``, ``last_on_site``, ``last_violation`` (the
    last visit that confirmed one), ``false_alarms`` (clean follow-ups of suspicious surveys),
    ``confirmed`` (violations following them)."""
    ref = _ref(ref)
    ch = checks[checks["time_utc"] <= ref]
    on = ch[ch["kind"] == "on-site"]
    viol = on[(on["result"] == "violation confirmed")
              & (on["time_utc"] > ref - pd.Timedelta(days=VIOLATION_WINDOW_DAYS))].groupby("enterprise_id").size()
    last_on = on.groupby("enterprise_id")["time_utc"].max()
    last_viol = on[on["result"] == "violation confirmed"].groupby("enterprise_id")["time_utc"].max()
    susp = ch[(ch["kind"] == "off-site") & (ch["result"] == "suspicious")]
    fa, cf, matched = {}, {}, set()
    if len(susp) and len(on):
        s_day = susp.assign(day=susp["time_utc"].dt.floor("D"))[["enterprise_id", "day"]]
        m = on.merge(s_day, on="enterprise_id")
        gap = m["time_utc"] - m["day"]
        m = m[(gap >= pd.Timedelta(0)) & (gap <= pd.Timedelta(days=FOLLOW_UP_DAYS))]
        m = m.drop_duplicates(subset=["id"])  # a visit follows up once, however many surveys preceded it
        matched = set(m["id"])
        fa = (m["result"] == "clean").groupby(m["enterprise_id"]).sum().to_dict()
        cf = (m["result"] == "violation confirmed").groupby(m["enterprise_id"]).sum().to_dict()
    # clean visits that followed no suspicious off-site check of the ledger (the multi-day ranking
    # still checks them against its own survey evidence: season_targets)
    cl = on[(on["result"] == "clean") & ~on["id"].isin(matched)] if "id" in on.columns else on.iloc[:0]
    unmatched = cl.groupby("enterprise_id")["time_utc"].agg(lambda t: tuple(sorted(t))).to_dict()
    ids = sorted(set(viol.index) | set(last_on.index) | set(fa) | set(cf) | set(last_viol.index))
    return pd.DataFrame({"violations_ledger_3y": [int(viol.get(e, 0)) for e in ids],
                         "last_on_site": [last_on.get(e, pd.NaT) for e in ids],
                         "last_violation": [last_viol.get(e, pd.NaT) for e in ids],
                         "false_alarms": [int(fa.get(e, 0)) for e in ids],
                         "confirmed": [int(cf.get(e, 0)) for e in ids],
                         "clean_unmatched": [unmatched.get(e, ()) for e in ids]}, index=pd.Index(ids, name="enterprise_id"))


def registry_updates(enterprises: pd.DataFrame, checks: pd.DataFrame, ref=None) -> pd.DataFrame:
    """``enterprise_id, last_inspected, violations_3y`` for every firm of the ledger."""
    oc = outcome_counts(checks, ref)
    e = enterprises.set_index("enterprise_id")
    last = pd.to_datetime(e["registry_last_inspected"], utc=True)
    lon = oc["last_on_site"].reindex(e.index)
    last = pd.concat([last, pd.to_datetime(lon, utc=True)], axis=1).max(axis=1)
    viol = e["registry_violations_3y"].astype(int) + oc["violations_ledger_3y"].reindex(e.index).fillna(0).astype(int)
    return pd.DataFrame({"enterprise_id": e.index, "last_inspected": last.to_numpy(),
                         "violations_3y": viol.to_numpy()})


@dataclass
class LedgerAdjustment:
    """What :func:`ecopatrol.processing.targeting.rank_targets` takes as ``ledger=``."""

    counts: pd.DataFrame
    updates: pd.DataFrame
    notes: dict[str, list[str]] = field(default_factory=dict)

    def apply(self, eid, evidence: np.ndarray, viol: np.ndarray, last: pd.Series, extra_false_alarms=None):
        """Evidence weights, violations and last inspections of the firms ``eid`` after the ledger's outcomes;
        also fills :attr:`notes` (the reasons). ``extra_false_alarms`` (per firm): clean visits the
        caller found to follow survey evidence the ledger did not record as a suspicious check
        (:meth:`clean_visits_unmatched`; the multi-day ranking's own evidence days)."""
        ids = pd.Index(pd.Series(eid).astype(str))
        c = self.counts.reindex(ids)
        fa = c["false_alarms"].fillna(0).to_numpy(float)
        if extra_false_alarms is not None:
            fa = fa + np.asarray(extra_false_alarms, float)
        cf = c["confirmed"].fillna(0).to_numpy(float)
        factor = (1 + cf) / (1 + cf + fa)
        u = self.updates.set_index("enterprise_id").reindex(ids)
        new_viol = np.where(u["violations_3y"].notna(), u["violations_3y"].fillna(0).to_numpy(float), viol)
        new_viol = np.maximum(new_viol, viol)
        ul = pd.to_datetime(u["last_inspected"], utc=True)
        new_last = pd.concat([pd.Series(pd.to_datetime(last, utc=True).to_numpy(), index=ids), ul], axis=1).max(axis=1)
        vl = c["violations_ledger_3y"].fillna(0).to_numpy(int)
        self.notes = {}
        for i, e in enumerate(ids):
            n = []
            if vl[i]:
                n.append(f"ledger: {vl[i]} violation(s) confirmed on site in 3 years (prior raised)")
            if fa[i]:
                n.append(f"ledger: {int(fa[i])} clean on-site follow-up(s) of suspicious surveys"
                         + (f", {int(cf[i])} confirmed" if cf[i] else "") + f" (survey evidence × {factor[i]:.2f})")
            if n:
                self.notes[e] = n
        return evidence * factor, new_viol, pd.Series(new_last.to_numpy(), index=last.index if hasattr(last, "index")
                                                      else None)

    def clean_visits_unmatched(self, eid) -> list[tuple]:
        """Per firm of ``eid``: its clean on-site visits (UTC timestamps) that followed no suspicious
        off-site check of the ledger within FOLLOW_UP_DAYS."""
        if "clean_unmatched" not in self.counts.columns:
            return [() for _ in range(len(pd.Series(eid)))]
        col = self.counts["clean_unmatched"].reindex(pd.Index(pd.Series(eid).astype(str)))
        return [v if isinstance(v, tuple) else () for v in col]

    def answered_until(self, eid) -> list[str | None]:
        """Per firm of ``eid``: the day (``YYYY-MM-DD``, UTC) of its last visit that confirmed a violation,
        else None — survey days up to it are answered by that visit."""
        lv = self.counts["last_violation"] if "last_violation" in self.counts.columns else pd.Series(dtype=object)
        lv = pd.to_datetime(lv.reindex(pd.Index(pd.Series(eid).astype(str))), utc=True)
        return [None if pd.isna(t) else t.strftime("%Y-%m-%d") for t in lv]


def adjustment_from_db(engine, ref=None) -> LedgerAdjustment:
    from .store import read_checks, read_enterprises

    ch = read_checks(engine)
    ent = read_enterprises(engine)
    return LedgerAdjustment(outcome_counts(ch, ref), registry_updates(ent, ch, ref))


def proposals(enterprises: pd.DataFrame, checks: pd.DataFrame, ref=None) -> list[dict]:
    """Positive-list proposals: ``{enterprise_id, name, proposal: remove|include, reasons: [...]}``."""
    ref = _ref(ref)
    ch = checks[checks["time_utc"] <= ref]
    out = []
    viol = ch[(ch["result"] == "violation confirmed") & (ch["time_utc"] > ref - pd.Timedelta(days=VIOLATION_WINDOW_DAYS))]
    e = enterprises.set_index("enterprise_id")
    for eid, g in viol.groupby("enterprise_id"):
        if eid in e.index and bool(e.at[eid, "positive_list"]):
            reasons = [f"violation confirmed on site on {t:%Y-%m-%d}" + (f" ({n})" if isinstance(n, str) and n else "")
                       for t, n in zip(g["time_utc"], g["note"], strict=True)]
            out.append({"enterprise_id": eid, "name": e.at[eid, "name"], "proposal": "remove",
                        "reasons": reasons + ["the positive list is for firms without violations"]})
    recent = ch[(ch["time_utc"] > ref - pd.Timedelta(days=INCLUSION_WINDOW_DAYS)) & (ch["result"] != "not assessable")]
    viol_ids = set(viol["enterprise_id"])
    for eid, g in recent.groupby("enterprise_id"):
        if eid not in e.index or bool(e.at[eid, "positive_list"]) or eid in viol_ids:
            continue
        if int(e.at[eid, "registry_violations_3y"]) > 0:
            continue
        if len(g) >= INCLUSION_MIN_CHECKS and (g["result"] == "clean").all():
            by = g["method"].value_counts()
            out.append({"enterprise_id": eid, "name": e.at[eid, "name"], "proposal": "include",
                        "reasons": [f"{len(g)} checks in the last {INCLUSION_WINDOW_DAYS} days, all clean ("
                                    + ", ".join(f"{k} {v}" for k, v in by.items()) + ")",
                                    f"from {g['time_utc'].min():%Y-%m-%d} to {g['time_utc'].max():%Y-%m-%d}",
                                    "no violation in 3 years (registry and ledger)"]})
    return sorted(out, key=lambda p: (p["proposal"], p["enterprise_id"]))


def export_registry(area, engine, out, ref=None):
    """The area's registry CSV with ``last_inspected`` and ``violations_3y`` updated from the ledger."""
    from ecopatrol.core.io import atomic_path

    from .store import read_checks, read_enterprises

    up = registry_updates(read_enterprises(engine), read_checks(engine), ref).set_index("enterprise_id")
    src = area.path / "registry.csv" if area.path is not None and (area.path / "registry.csv").exists() else None
    if src is not None:
        reg = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    else:
        e = area.enterprises
        reg = pd.DataFrame(e.drop(columns="geometry")).astype(str)
        reg["lon"], reg["lat"] = e.geometry.x.astype(str), e.geometry.y.astype(str)
    ids = reg["enterprise_id"].astype(str)
    li = up["last_inspected"].reindex(ids)
    vi = up["violations_3y"].reindex(ids)
    old_li = reg["last_inspected"] if "last_inspected" in reg.columns else pd.Series("", index=reg.index)
    reg["last_inspected"] = np.where(li.notna().to_numpy(), pd.to_datetime(li, utc=True).dt.strftime("%Y-%m-%d").to_numpy(),
                                     old_li.to_numpy())
    old_v = reg["violations_3y"] if "violations_3y" in reg.columns else pd.Series("0", index=reg.index)
    reg["violations_3y"] = np.where(vi.notna().to_numpy(), vi.fillna(0).astype(int).astype(str).to_numpy(), old_v.to_numpy())
    changed = int(((reg["last_inspected"] != old_li.to_numpy()) | (reg["violations_3y"] != old_v.to_numpy())).sum())
    with atomic_path(out) as tmp:
        reg.to_csv(tmp, index=False, encoding="utf-8-sig")
    return out, changed
