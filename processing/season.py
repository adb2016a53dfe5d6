"""Targets over several survey days: firms that emit on some days and not on others.

A firm's emissions vary from day to day (batch lines, night shifts, abatement switched on for a
visit). Multiplying the days' "emits today" probabilities would require a firm to emit on every
day; averaging them would let clean days wash out a firm seen emitting once. Instead, for each
evidence folder (one survey day) :func:`ecopatrol.processing.targeting.rank_targets` gives each
firm ``e_d``, the day's evidence that it emitted **that day**, and:

- the **season evidence** is the probability that the firm emitted on **at least one** of the
  days, ``1 − Π_d (1 − e_d)`` (the days' samples are independent): a firm seen emitting on day 1
  only keeps its day-1 evidence, whatever the clean days that follow;
- a **clean covered day** counts against a firm only where that day's samples covered it (the
  supervision ledger's test, :func:`ecopatrol.processing.ledger.coverage.assess_run`: its
  plume at :data:`~ecopatrol.processing.ledger.coverage.DETECTION_RATE_G_S` would have been seen
  on enough clean samples): it lowers the registry-risk part of the score (the prior that the
  firm emits unseen) by :data:`CLEAN_DAY_FACTOR` per day — the chance that an intermittent emitter
  (emitting on a day with probability 1 − ``CLEAN_DAY_FACTOR`` = 0.5) stays clean that day. A day
  whose folder does not lie in a run folder (``samples/`` beside ``evidence/``) has unknown
  coverage and never counts against anyone;
- with the ledger, a firm's days up to its last on-site visit that confirmed a violation are
  **answered** (it was found and ordered to rectify): their evidence leaves the season evidence,
  and the reasons say so; later days count as usual;
- **online-monitoring alarms** (``alarms``: one ``alarms.csv`` per folder, as ``targets --alarms``
  takes for one day): each day's alarms join that day's evidence ``e_d`` exactly as in that day's
  own ranking, so a firm whose data logger flagged it on a survey day keeps it over the season
  (without them the multi-day ranking would drop evidence the day's ``targets.csv`` holds);
- ``score`` = 0.95 × season evidence (× the ledger's outcome factor) + 0.05 × risk (× 0.3 on
  the positive list) × ``CLEAN_DAY_FACTOR`` ^ clean covered days; risk and the ledger notes as
  in :func:`rank_targets` at the last day.

The reasons say on which days (the survey dates of each folder's ``evidence.json``) the firm was
seen emitting, on which it was covered and clean, and the strongest day's own reasons.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.evidence import read_summary
from ecopatrol.core.errors import FormatError, InputError

from .targeting import EVIDENCE_MIN, TARGET_COLUMNS, priority_score, rank_targets

log = logging.getLogger(__name__)

CLEAN_DAY_FACTOR = 0.5
EMIT_DAY_MIN = 0.5  # a day's evidence at or above this is "seen emitting" in the reasons and n_days_emitting
SEASON_COLUMNS = ["n_days", "n_days_emitting", "n_days_clean_covered", "days_emitting", "days_clean_covered"]


def survey_day(evidence_dir: Path) -> str:
    """The survey date (UTC) an evidence folder records, else its folder name."""
    try:
        s = read_summary(evidence_dir) or {}  # absent, unreadable or not an object: the folder's name
        t = s.get("start_utc") or s.get("end_utc")
        if t:
            return pd.Timestamp(t).strftime("%Y-%m-%d")
    except (FormatError, OSError, ValueError):
        pass
    return Path(evidence_dir).resolve().parent.name or Path(evidence_dir).name


def day_coverage(evidence_dir: Path, area) -> dict[str, bool] | None:
    """Enterprise id → covered by that day's samples (the ledger's definition), or None when unknown
    (the folder is not ``RUN/evidence`` with ``RUN/samples/samples.parquet``)."""
    run = Path(evidence_dir).resolve().parent
    if not (run / "samples" / "samples.parquet").exists():
        return None
    from .ledger.coverage import assess_run

    a = assess_run(run, area)
    return {c["enterprise_id"]: c["result"] != "not assessable" for c in a.checks}


@dataclass
class SeasonResult:
    """Season targets (the ``targets.csv`` frame with :data:`SEASON_COLUMNS`) and the per-firm
    history (:data:`HISTORY_COLUMNS`: one row per firm per survey day)."""

    targets: pd.DataFrame
    history: pd.DataFrame


HISTORY_COLUMNS = ["enterprise_id", "date", "status", "evidence", "covered", "n_folders"]
#: ``status`` of a firm on a day: seen emitting (evidence ≥ EMIT_DAY_MIN), weak evidence, covered and
#: clean, not covered by that day's samples, or coverage unknown (folders outside a run folder)
HISTORY_STATUS = ("emitting", "weak", "clean", "not covered", "coverage unknown")


def rank_season(evidence_dirs, area, *, top: int | None = None, reference_date=None, ledger=None,
                coverage: list[dict[str, bool] | None] | None = None, alarms: list | None = None) -> pd.DataFrame:
    """Rank the area's enterprises from several evidence folders (one per survey day, or several
    per day: one per platform); the targets of :func:`season_targets`."""
    return season_targets(evidence_dirs, area, top=top, reference_date=reference_date, ledger=ledger,
                          coverage=coverage, alarms=alarms).targets


def _by_day(days: list[str], e: np.ndarray, covered: np.ndarray, known: list[bool]):
    """Folders of the same survey day (several platforms) combined into one column per day: the day's
    evidence is that of at least one folder, ``1 − Π (1 − e)``; covered where any folder covered the
    firm; coverage known where any folder's is. Returns (unique days, e, covered, known, folders of each)."""
    udays = sorted(set(days))
    cols = [[i for i, d in enumerate(days) if d == u] for u in udays]
    e_d = np.column_stack([1.0 - np.prod(1.0 - np.clip(e[:, c], 0.0, 1.0), axis=1) for c in cols])
    cov_d = np.column_stack([covered[:, c].any(axis=1) for c in cols])
    return udays, e_d, cov_d, [any(known[i] for i in c) for c in cols], cols


def season_targets(evidence_dirs, area, *, top: int | None = None, reference_date=None, ledger=None,
                   coverage: list[dict[str, bool] | None] | None = None, alarms: list | None = None) -> SeasonResult:
    """Season targets and per-firm histories from several evidence folders.

    ``coverage`` (one mapping per folder, or None for unknown) replaces the ledger coverage test
    (tests, or a caller that already assessed the runs, as :mod:`.archive_evidence` does).
    ``alarms`` (one per folder: an ``alarms.csv`` path or frame, or None for a day without) adds each
    day's online-monitoring alarms to that day's evidence, as :func:`rank_targets` does for one folder.
    ``emit_probability`` of the targets is the season evidence.
    """
    dirs = [Path(d) for d in evidence_dirs]
    if not dirs:
        raise InputError("targets: give at least one evidence folder")
    if coverage is not None and len(coverage) != len(dirs):
        raise InputError(f"targets: {len(coverage)} coverage maps for {len(dirs)} evidence folders")
    if alarms is not None and len(alarms) != len(dirs):
        raise InputError(f"targets: {len(alarms)} alarm files for {len(dirs)} evidence folders")
    al = list(alarms) if alarms is not None else [None] * len(dirs)
    fdays = [survey_day(d) for d in dirs]
    order = np.argsort(fdays, kind="stable")
    dirs, fdays, al = [dirs[i] for i in order], [fdays[i] for i in order], [al[i] for i in order]
    cov = [coverage[i] for i in order] if coverage is not None else [day_coverage(d, area) for d in dirs]
    per_dir = [rank_targets(d, area, reference_date=reference_date, alarms=a).set_index("enterprise_id")
               for d, a in zip(dirs, al, strict=True)]
    last = rank_targets(dirs[-1], area, reference_date=reference_date, ledger=ledger,
                        alarms=al[-1]).set_index("enterprise_id")
    eid = last.index.astype(str)
    e_f = np.column_stack([pd.to_numeric(df["evidence_score"].reindex(eid), errors="coerce").fillna(0.0).to_numpy()
                           for df in per_dir])  # (firms, folders)
    cov_f = np.column_stack([np.array([bool(c.get(x, False)) if c is not None else False for x in eid])
                             for c in cov])
    days, e, covered, known, cols = _by_day(fdays, e_f, cov_f, [c is not None for c in cov])
    factor = np.ones(len(eid))
    answered = np.zeros_like(covered)
    if ledger is not None:  # days up to a confirmed violation are answered
        until = ledger.answered_until(eid)
        answered = np.array([[u is not None and day <= u for day in days] for u in until], bool).reshape(e.shape)
    season = 1.0 - np.prod(1.0 - np.clip(np.where(answered, 0.0, e), 0.0, 1.0), axis=1)
    if ledger is not None:  # the on-site outcomes' factor on survey evidence (clean follow-ups of suspicions)
        f, _, _ = ledger.apply(eid, np.ones(len(eid)), np.zeros(len(eid)), pd.Series(pd.NaT, index=range(len(eid))))
        factor = np.asarray(f, float)
    evidence = season * factor
    clean = covered & (e < EVIDENCE_MIN)
    n_clean = clean.sum(axis=1)
    emitting = e >= EMIT_DAY_MIN
    pos = last["positive_list"].astype(bool).to_numpy()
    risk = last["risk_score"].to_numpy(float)
    score = priority_score(evidence, risk, pos, risk_factor=CLEAN_DAY_FACTOR ** n_clean)

    out = last.reset_index()
    out["score"] = np.round(score, 4)
    out["evidence_score"] = np.round(evidence, 4)
    out["emit_probability"] = np.round(season, 4)
    out["reasons"] = _reasons(eid, days, fdays, e, e_f, emitting, clean, covered, known, season, evidence, per_dir, last,
                              answered)
    out["n_days"] = len(days)
    out["n_days_emitting"] = emitting.sum(axis=1)
    out["n_days_clean_covered"] = n_clean
    out["days_emitting"] = [" ".join(days[d] for d in range(len(days)) if emitting[i, d]) for i in range(len(eid))]
    out["days_clean_covered"] = [" ".join(days[d] for d in range(len(days)) if clean[i, d]) for i in range(len(eid))]
    out = out.sort_values(["score", "evidence_score", "enterprise_id"], ascending=[False, False, True],
                          kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    if top is not None:
        out = out.head(top)
    log.info("season targets: %d days (%s) from %d folders, %d firms seen emitting on some day, %d clean on a "
             "covered day", len(days), ", ".join(days), len(dirs), int(emitting.any(axis=1).sum()),
             int((n_clean > 0).sum()))
    return SeasonResult(out[TARGET_COLUMNS + SEASON_COLUMNS], _history(eid, days, e, covered, known, cols))


def _history(eid, days, e, covered, known, cols) -> pd.DataFrame:
    """One row per firm per day (:data:`HISTORY_COLUMNS`), firms in id order, days in date order."""
    n_f, n_d = e.shape
    status = np.where(e >= EMIT_DAY_MIN, "emitting", np.where(
        e >= EVIDENCE_MIN, "weak", np.where(covered, "clean", np.where(np.array(known)[None, :], "not covered",
                                                                       "coverage unknown"))))
    h = pd.DataFrame({"enterprise_id": np.repeat(np.asarray(eid), n_d), "date": np.tile(days, n_f),
                      "status": status.ravel(), "evidence": np.round(e.ravel(), 4),
                      "covered": np.where(np.tile(known, n_f), covered.ravel(), pd.NA),
                      "n_folders": np.tile([len(c) for c in cols], n_f)})
    return h.sort_values(["enterprise_id", "date"], kind="stable").reset_index(drop=True)[HISTORY_COLUMNS]


def _reasons(eid, days, fdays, e, e_f, emitting, clean, covered, known, season, evidence, per_dir, last,
             answered) -> list[str]:
    """The reasons of each firm: the days seen emitting, weak, clean; the strongest folder's own reasons."""
    reasons = []
    for i, x in enumerate(eid):
        r = []
        em_days = [f"{days[d]} ({e[i, d]:.2f})" for d in range(len(days)) if emitting[i, d]]
        weak = [f"{days[d]} ({e[i, d]:.2f})" for d in range(len(days)) if EVIDENCE_MIN <= e[i, d] < EMIT_DAY_MIN]
        if em_days:
            kind = "on every day" if len(em_days) == len(days) else f"on {len(em_days)} of {len(days)} days"
            r.append(f"seen emitting {kind}: {', '.join(em_days)}; emits on at least one day with probability "
                     f"{season[i]:.2f}" + (" (intermittent)" if len(em_days) < len(days) else ""))
        if weak:
            r.append(f"weak evidence on {', '.join(weak)}")
        cd = [days[d] for d in range(len(days)) if clean[i, d]]
        if cd:
            r.append(f"covered and clean on {len(cd)} day(s): {', '.join(cd)} (registry priority × "
                     f"{CLEAN_DAY_FACTOR ** len(cd):.2g})")
        nc = [days[d] for d in range(len(days)) if known[d] and not covered[i, d]]
        ans = [days[d] for d in range(len(days)) if answered[i, d] and e[i, d] >= EVIDENCE_MIN]
        if ans:
            r.append(f"evidence of {', '.join(ans)} answered by the violation confirmed on site (rectification ordered)")
        if nc and (em_days or weak):
            r.append(f"not covered on {', '.join(nc)}")
        if evidence[i] >= EVIDENCE_MIN:
            best = int(np.argmax(e_f[i]))
            r.append(f"{fdays[best]}: " + str(per_dir[best]["reasons"].get(x, "")))
        else:
            r.append(str(last["reasons"].get(x, "")))
        reasons.append("; ".join(r))
    return reasons


__all__ = ["rank_season", "season_targets", "SeasonResult", "survey_day", "day_coverage", "CLEAN_DAY_FACTOR",
           "HISTORY_COLUMNS"]
