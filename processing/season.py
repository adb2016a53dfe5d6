"""Targets over several survey days: firms that emit on some days and not on others.

A firm's emissions vary from day to day (batch lines, night shifts, abatement switched on for a
visit). Multiplying the days' "emits today" probabilities would require a firm to emit on every
day; averaging them would let clean days wash out a firm seen emitting once. Instead, for each
evidence folder (one survey day) :func:`ecopatrol.processing.targeting.rank_targets` gives each
firm ``e_d``, the day's evidence that it emitted **that day**, and:

- the **season probability** ``emit_probability`` is the probability that the firm is an
  **emitter over the season — it emits on some of the surveyed days** (a fraction θ of them, not
  known) — under a per-firm latent model (:func:`season_model`): prior :data:`SEASON_PRIOR`
  that a firm is an emitter, θ uniform on (0, 1). Each day gives a likelihood ratio for "it
  emitted that day": the day's probability ``p_d`` (:func:`day_probability`: the sparse
  attribution's ``emit_probability``, or the evidence without the per-item tie-breakers where
  curtains or alarms add to it) against the prior the day's attribution gave the firm
  (:func:`day_prior`, from the number of firms its samples reached), ``LR_d = odds(min(p_d,
  DAY_MAX)) / odds(prior_d)``, capped at :data:`DAY_MAX` because the errors all of a day's
  samples share (that day's wind and stability, the plume model) do not shrink with more samples
  of that day: **no single day gives certainty**, however strong (two vans on one date are one
  day). A covered clean day (below) gives ``LR = MISS_PROB`` (:data:`MISS_PROB`: a covered firm
  that emitted that day still shows nothing); an uncovered or unknown day gives 1. Given θ a day
  contributes ``θ · LR_d + 1 − θ``. One firm's days share errors too (the same stack, the same
  neighbours, the same plume-model bias every day): its days of evidence count as equicorrelated
  with :data:`DAY_CORRELATION` r — their log likelihood × ``1 / (1 + (k − 1) r)``, so k days
  weigh as ``k / (1 + (k − 1) r)`` independent ones, at most ``1 / r`` — and its clean covered
  days the same way, separately (a composite-likelihood magnitude adjustment). The Bayes factor
  ``∫ Π_d (θ LR_d + 1 − θ)^w dθ`` (``season_log10_bf``, its log10) and the prior give the
  probability. So **repeated sightings count** and **clean covered days count against**: a firm
  seen on 1 of n days keeps about its day's probability (≤ DAY_MAX) where the other days did not
  cover it and loses some with each covered clean day (less and less: it may emit on few days),
  two strong days give ≈ 0.8–0.99, four ≈ 0.999. A firm without an unanswered day of evidence
  (``p_d`` ≥ :data:`~.targeting.EVIDENCE_MIN`) has ``emit_probability`` 0 (no survey evidence,
  as in the single-day targets: its registry risk ranks it);
- a **clean covered day** counts against a firm only where that day's samples covered it (the
  supervision ledger's test, :func:`ecopatrol.processing.ledger.coverage.assess_run`: its
  plume at :data:`~ecopatrol.processing.ledger.coverage.DETECTION_RATE_G_S` would have been seen
  on enough clean samples) and where that day gave it no evidence (< EVIDENCE_MIN): it counts in
  the season model (above), and it lowers the registry-risk part of the score (the prior that the
  firm emits unseen) by :data:`CLEAN_DAY_FACTOR` per day — the chance that an intermittent emitter
  (emitting on a day with probability 1 − ``CLEAN_DAY_FACTOR`` = 0.5) stays clean that day. A day
  whose folder does not lie in a run folder (``samples/`` beside ``evidence/``) has unknown
  coverage and never counts against anyone;
- with the ledger, a firm's days up to its last on-site visit that confirmed a violation are
  **answered** (it was found and ordered to rectify): their evidence leaves the season model (LR 1),
  and the reasons say so; later days count as usual;
- ``score`` = 0.95 × evidence + 0.05 × (1 − evidence) × risk (× 0.3 on the positive list) ×
  ``CLEAN_DAY_FACTOR`` ^ clean covered days, with evidence = ``emit_probability`` × the ledger's
  outcome factor: the registry risk weighs only the part the survey evidence leaves open, so it
  orders firms of similar evidence and those the survey did not resolve, and cannot lift a firm
  above one whose evidence is clearly stronger (before, a firm seen on one day at 1.00 tied with
  one seen on twelve, and the registry risk ordered them); firms are ranked by the unrounded
  score, then ``season_log10_bf``; risk and the ledger notes as in :func:`rank_targets` at the last day.

With ``alarms`` (an ``alarms.csv`` of ``ecopatrol monitor alarms``) the online-monitoring alarms
are one more evidence line, independent of every day's samples, as for one folder
(:mod:`ecopatrol.processing.monitor.evidence`): ``evidence = 1 − (1 − season evidence)(1 −
p_alarms)``, so an alarm counts once over the season, not once per day. An alarm during the hours of
a survey day (± ``COINCIDENCE_MARGIN_H``) whose samples also found that firm's plume is stronger, and
the reason names the day; with the ledger, alarms up to a firm's answered day leave with that day's
evidence. ``emit_probability`` stays the samples' season evidence.

The reasons say on which days (the survey dates of each folder's ``evidence.json``) the firm was
seen emitting, on which it was covered and clean, its alarms, and the strongest day's own reasons.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.evidence import read_summary
from ecopatrol.core.errors import FormatError, InputError

from .targeting import EVIDENCE_MIN, ITEM_WEIGHT, TARGET_COLUMNS, priority_score, rank_targets

log = logging.getLogger(__name__)

CLEAN_DAY_FACTOR = 0.5
EMIT_DAY_MIN = 0.5  # a day's evidence at or above this is "seen emitting" in the reasons and n_days_emitting
SEASON_COLUMNS = ["n_days", "n_days_emitting", "n_days_clean_covered", "days_emitting", "days_clean_covered",
                  "season_log10_bf"]

# The season model (season_model). Stated assumptions, not fitted to simulator seeds:
#: prior probability that a registered firm emits (on some days) over a season: about 1 in 100
#: (the simulated worlds hide 2–4 emitters among the 860 Jimo firms, 0.2–0.5 %; a brigade's
#: candidates are the VOC users, where non-compliance is more common — a round, wider figure)
SEASON_PRIOR = 0.01
#: the most one survey day can say that a firm emitted: of the firms a single survey gave ≥ 0.95,
#: 67–78 % emitted (reliability tables of BENCHMARKS.md, development seeds and the gaussian world);
#: errors shared by all of a day's samples (its wind, its stability, the plume model) leave the rest
DAY_MAX = 0.75
#: the chance that a covered firm that emitted that day still shows no evidence (the coverage test
#: assumes 0.5 g/s and a steady plume; emission varies hour to hour, a pass may miss the hour)
MISS_PROB = 0.5
#: correlation of one firm's days (the same stack, neighbours and plume-model bias every day):
#: k days count as k / (1 + (k − 1) r) independent ones, at most 1 / r = 5
DAY_CORRELATION = 0.2
_THETA = (np.arange(64) + 0.5) / 64  # the fraction of days an emitter emits: uniform prior, midpoint grid


def _odds(p):
    p = np.clip(np.asarray(p, float), 1e-12, 1 - 1e-12)
    return p / (1 - p)


def season_model(p: np.ndarray, covered: np.ndarray, answered: np.ndarray | None = None, *,
                 day_prior: np.ndarray | float | None = None, clean: np.ndarray | None = None,
                 prior: float = SEASON_PRIOR, day_max: float = DAY_MAX, miss_prob: float = MISS_PROB,
                 correlation: float = DAY_CORRELATION) -> dict[str, np.ndarray]:
    """The season model's arithmetic over (firms, days) arrays.

    ``p``: the day's probability that the firm emitted that day (a posterior under ``day_prior``:
    one value, one per day or per firm and day; default ``prior / 2``, the season model's own
    "emits on a given day"); ``covered``: that day's samples covered the firm; ``clean``: the day
    counts as covered and clean (default ``covered`` and ``p`` < EVIDENCE_MIN); ``answered``: the
    day's evidence is answered by a confirmed violation (the day counts for nothing).

    Returns per firm ``probability`` — P(the firm emits on some of the days | the days), 0
    without an unanswered day of ``p`` ≥ EVIDENCE_MIN —, ``log10_bf`` (log10 Bayes factor of
    "an emitter" against "not one"), ``n_evidence`` / ``n_clean`` (days of evidence, clean
    covered days that count) and ``n_independent`` (the days of evidence as independent days).
    """
    p = np.clip(np.nan_to_num(np.asarray(p, float)), 0.0, 1.0)
    covered = np.asarray(covered, bool)
    answered = np.zeros(p.shape, bool) if answered is None else np.asarray(answered, bool)
    clean = covered & (p < EVIDENCE_MIN) if clean is None else np.asarray(clean, bool)
    pi = np.broadcast_to(prior * 0.5 if day_prior is None else np.asarray(day_prior, float), p.shape)
    seen = (p >= EVIDENCE_MIN) & ~answered
    clean = clean & ~seen & ~answered
    lr = np.where(seen, _odds(np.minimum(p, day_max)) / _odds(pi), 1.0)
    k = seen.sum(axis=1)
    m = clean.sum(axis=1)
    w_seen = 1.0 / (1.0 + np.maximum(k - 1, 0) * correlation)
    w_clean = 1.0 / (1.0 + np.maximum(m - 1, 0) * correlation)
    th = _THETA[None, None, :]
    log_seen = np.log(th * lr[:, :, None] + 1.0 - th).sum(axis=1)  # (firms, θ): Σ_d log(θ LR_d + 1 − θ)
    log_clean = m[:, None] * np.log(_THETA * miss_prob + 1.0 - _THETA)[None, :]
    ll = w_seen[:, None] * log_seen + w_clean[:, None] * log_clean
    top = ll.max(axis=1, keepdims=True)
    log_bf = top[:, 0] + np.log(np.exp(ll - top).mean(axis=1))  # ∫ … dθ over the uniform θ
    log_odds = math.log(prior / (1 - prior)) + log_bf
    prob = np.where(k > 0, 1.0 / (1.0 + np.exp(-log_odds)), 0.0)
    return {"probability": prob, "log10_bf": log_bf / math.log(10.0), "n_evidence": k, "n_clean": m,
            "n_independent": k * w_seen}


def day_prior(evidence_dir) -> float | None:
    """The prior the day's sparse attribution gave each firm of emitting: its ``SIGNAL_EFFECTS``
    signals are each present with probability 1 − ``SIGNAL_NULL_PRIOR`` and pick one of the N
    enterprises whose sources reach ≥ ``MIN_TOUCHED`` samples uniformly, so
    ``1 − (1 − (1 − null) / N)^L``; None when ``rates.csv`` does not say (no ``n_samples_touched``)."""
    from .attribution import SIGNAL_EFFECTS, SIGNAL_NULL_PRIOR
    from .attribution_rates import MIN_TOUCHED

    f = Path(evidence_dir) / "rates.csv"
    try:
        r = pd.read_csv(f, usecols=["enterprise_id", "n_samples_touched"], dtype={"enterprise_id": str})
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None
    n = int((pd.to_numeric(r["n_samples_touched"], errors="coerce").fillna(0).groupby(r["enterprise_id"]).max()
             >= MIN_TOUCHED).sum())
    return None if n == 0 else float(1.0 - (1.0 - (1.0 - SIGNAL_NULL_PRIOR) / n) ** SIGNAL_EFFECTS)


def day_probability(targets: pd.DataFrame) -> pd.Series:
    """A day's probability that each firm emitted that day, from its single-day targets: the
    evidence without the per-item tie-breakers (at most three lines of weight ``ITEM_WEIGHT``:
    events, hotspots, the NNLS rate — the same samples again), and at least the sparse
    attribution's ``emit_probability``: the attribution, credited curtains and alarms."""
    ev = pd.to_numeric(targets["evidence_score"], errors="coerce").fillna(0.0)
    em = pd.to_numeric(targets["emit_probability"], errors="coerce").fillna(0.0)
    return np.maximum(em, (1.0 - (1.0 - ev) / (1.0 - ITEM_WEIGHT) ** 3).clip(lower=0.0)).clip(upper=1.0)


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
                coverage: list[dict[str, bool] | None] | None = None, alarms=None) -> pd.DataFrame:
    """Rank the area's enterprises from several evidence folders (one per survey day, or several
    per day: one per platform); the targets of :func:`season_targets`."""
    return season_targets(evidence_dirs, area, top=top, reference_date=reference_date, ledger=ledger,
                          coverage=coverage, alarms=alarms).targets


def _union(x: np.ndarray, cols: list[list[int]]) -> np.ndarray:
    return np.column_stack([1.0 - np.prod(1.0 - np.clip(x[:, c], 0.0, 1.0), axis=1) for c in cols])


def _by_day(days: list[str], e: np.ndarray, covered: np.ndarray, known: list[bool]):
    """Folders of the same survey day (several platforms) combined into one column per day: the day's
    evidence is that of at least one folder, ``1 − Π (1 − e)``; covered where any folder covered the
    firm; coverage known where any folder's is. Returns (unique days, e, covered, known, folders of each)."""
    udays = sorted(set(days))
    cols = [[i for i, d in enumerate(days) if d == u] for u in udays]
    cov_d = np.column_stack([covered[:, c].any(axis=1) for c in cols])
    return udays, _union(e, cols), cov_d, [any(known[i] for i in c) for c in cols], cols


def season_targets(evidence_dirs, area, *, top: int | None = None, reference_date=None, ledger=None,
                   coverage: list[dict[str, bool] | None] | None = None, alarms=None) -> SeasonResult:
    """Season targets and per-firm histories from several evidence folders.

    ``coverage`` (one mapping per folder, or None for unknown) replaces the ledger coverage test
    (tests, or a caller that already assessed the runs, as :mod:`.archive_evidence` does).
    ``alarms`` (an alarms.csv or its frame, or a list of them — one per survey day, None for a day
    without — taken together) adds the online-monitoring alarms (module docstring).
    ``emit_probability`` of the targets is the season model's probability (:func:`season_model`) from the
    survey samples: that the firm emits on some of the surveyed days.
    """
    dirs = [Path(d) for d in evidence_dirs]
    if not dirs:
        raise InputError("targets: give at least one evidence folder")
    if coverage is not None and len(coverage) != len(dirs):
        raise InputError(f"targets: {len(coverage)} coverage maps for {len(dirs)} evidence folders")
    fdays = [survey_day(d) for d in dirs]
    order = np.argsort(fdays, kind="stable")
    dirs, fdays = [dirs[i] for i in order], [fdays[i] for i in order]
    cov = [coverage[i] for i in order] if coverage is not None else [day_coverage(d, area) for d in dirs]
    per_dir = [rank_targets(d, area, reference_date=reference_date).set_index("enterprise_id") for d in dirs]
    last = rank_targets(dirs[-1], area, reference_date=reference_date, ledger=ledger).set_index("enterprise_id")
    eid = last.index.astype(str)
    e_f = np.column_stack([pd.to_numeric(df["evidence_score"].reindex(eid), errors="coerce").fillna(0.0).to_numpy()
                           for df in per_dir])  # (firms, folders)
    cov_f = np.column_stack([np.array([bool(c.get(x, False)) if c is not None else False for x in eid])
                             for c in cov])
    p_f = np.column_stack([day_probability(df).reindex(eid).fillna(0.0).to_numpy(float) for df in per_dir])
    pri = [day_prior(d) for d in dirs]
    pi_f = np.array([SEASON_PRIOR / 2 if x is None else x for x in pri])[None, :].repeat(len(eid), axis=0)
    days, e, covered, known, cols = _by_day(fdays, e_f, cov_f, [c is not None for c in cov])
    p_d, pi_d = _union(p_f, cols), _union(pi_f, cols)  # a day of two vans: either saw it; either's prior
    factor = np.ones(len(eid))
    answered = np.zeros_like(covered)
    if ledger is not None:  # days up to a confirmed violation are answered
        until = ledger.answered_until(eid)
        answered = np.array([[u is not None and day <= u for day in days] for u in until], bool).reshape(e.shape)
    model = season_model(p_d, covered, answered, day_prior=pi_d, clean=covered & (e < EVIDENCE_MIN), prior=SEASON_PRIOR,
                         day_max=DAY_MAX, miss_prob=MISS_PROB, correlation=DAY_CORRELATION)
    season = model["probability"]
    if ledger is not None:  # the on-site outcomes' factor on survey evidence (clean follow-ups of suspicions)
        f, _, _ = ledger.apply(eid, np.ones(len(eid)), np.zeros(len(eid)), pd.Series(pd.NaT, index=range(len(eid))),
                               extra_false_alarms=_unrecorded_false_alarms(ledger, eid, days, e))
        factor = np.asarray(f, float)
    alarm_ev, n_answered = ({}, {}) if alarms is None else _season_alarms(
        alarms, dirs, fdays, per_dir, eid, ledger.answered_until(eid) if ledger is not None else None)
    p_alarms = np.array([alarm_ev[x].p_alarms if x in alarm_ev else 0.0 for x in eid])
    survey_evidence = season * factor
    evidence = (1.0 - (1.0 - season) * (1.0 - p_alarms)) * factor
    clean = covered & (e < EVIDENCE_MIN)
    n_clean = clean.sum(axis=1)
    emitting = e >= EMIT_DAY_MIN
    pos = last["positive_list"].astype(bool).to_numpy()
    risk = last["risk_score"].to_numpy(float)
    # the registry risk weighs only what the evidence leaves open (1 − evidence)
    score = priority_score(evidence, risk, pos, risk_factor=CLEAN_DAY_FACTOR ** n_clean * (1.0 - evidence))

    out = last.reset_index()
    out["_score"], out["_bf"] = score, model["log10_bf"]
    out["score"] = np.round(score, 4)
    out["evidence_score"] = np.round(evidence, 4)
    out["emit_probability"] = np.round(season, 4)
    out["reasons"] = _reasons(eid, days, fdays, e, e_f, emitting, clean, covered, known, season, survey_evidence,
                              per_dir, last, answered, model, alarm_ev, n_answered)
    if ledger is not None and getattr(ledger, "notes", None):  # the outcome factor's note (this ranking's apply)
        out["reasons"] = [r if not any("follow-up" in n for n in ledger.notes.get(x, ())) or "follow-up" in r
                          else "; ".join([r] + [n for n in ledger.notes[x] if "follow-up" in n])
                          for x, r in zip(eid, out["reasons"], strict=True)]
    out["n_days"] = len(days)
    out["n_days_emitting"] = emitting.sum(axis=1)
    out["n_days_clean_covered"] = n_clean
    out["days_emitting"] = [" ".join(days[d] for d in range(len(days)) if emitting[i, d]) for i in range(len(eid))]
    out["days_clean_covered"] = [" ".join(days[d] for d in range(len(days)) if clean[i, d]) for i in range(len(eid))]
    out["season_log10_bf"] = np.round(model["log10_bf"], 2)
    out = out.sort_values(["_score", "_bf", "enterprise_id"], ascending=[False, False, True],
                          kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    if top is not None:
        out = out.head(top)
    log.info("season targets: %d days (%s) from %d folders, %d firms seen emitting on some day, %d clean on a "
             "covered day", len(days), ", ".join(days), len(dirs), int(emitting.any(axis=1).sum()),
             int((n_clean > 0).sum()))
    return SeasonResult(out[TARGET_COLUMNS + SEASON_COLUMNS], _history(eid, days, e, covered, known, cols))


def _unrecorded_false_alarms(ledger, eid, days, e) -> np.ndarray:
    """Per firm: its clean on-site visits that followed no suspicious check of the ledger but did follow,
    within FOLLOW_UP_DAYS, a survey day whose evidence for it this ranking counts (≥ EVIDENCE_MIN)."""
    from .ledger.store import FOLLOW_UP_DAYS

    if not hasattr(ledger, "clean_visits_unmatched"):
        return np.zeros(len(eid))
    day_t = [pd.Timestamp(d, tz="UTC") for d in days]
    window = pd.Timedelta(days=FOLLOW_UP_DAYS)
    out = np.zeros(len(eid))
    for i, visits in enumerate(ledger.clean_visits_unmatched(eid)):
        ev_days = [t for t, x in zip(day_t, e[i], strict=True) if x >= EVIDENCE_MIN] if visits else []
        for v in visits:
            v = pd.Timestamp(v)
            v = v.tz_localize("UTC") if v.tzinfo is None else v.tz_convert("UTC")
            out[i] += any(pd.Timedelta(0) <= v - t <= window for t in ev_days)
    return out


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


def _season_alarms(alarms, dirs, fdays, per_dir, eid, until):
    """Each firm's alarms as one evidence line over the season (:func:`~.monitor.evidence.alarm_evidence`
    with every folder's survey hours and plumes), without the alarms up to its answered day (``until``:
    per firm of ``eid``, ``YYYY-MM-DD`` or None). Returns (enterprise → AlarmEvidence, enterprise →
    alarms answered)."""
    from .monitor.evidence import TIMEZONE, Survey, alarm_evidence, as_alarms, plume_strength

    df = as_alarms(alarms)
    n_answered: dict[str, int] = {}
    if until is not None and len(df):
        u = dict(zip(eid, until))
        day = df["start_utc"].dt.tz_convert(TIMEZONE).dt.strftime("%Y-%m-%d")
        lim = df["enterprise_id"].map(u)
        gone = lim.notna() & (day <= lim.fillna(""))
        n_answered = {k: int(v) for k, v in df.loc[gone, "enterprise_id"].value_counts().items()}
        df = df[~gone]
    surveys = []
    for d, fday, targets in zip(dirs, fdays, per_dir):
        s = read_summary(d) or {}
        if s.get("start_utc") and s.get("end_utc"):
            surveys.append(Survey(s["start_utc"], s["end_utc"], plume_strength(targets), fday))
    return alarm_evidence(df, surveys=surveys), n_answered


def _reasons(eid, days, fdays, e, e_f, emitting, clean, covered, known, season, evidence, per_dir, last,
             answered, model, alarm_ev=None, n_answered=None) -> list[str]:
    """The reasons of each firm: the days seen emitting, weak, clean; the season model's probability; its
    alarms; the strongest folder's own reasons (``evidence``: the samples' season evidence)."""
    alarm_ev, n_answered = alarm_ev or {}, n_answered or {}
    reasons = []
    for i, x in enumerate(eid):
        r = []
        em_days = [f"{days[d]} ({e[i, d]:.2f})" for d in range(len(days)) if emitting[i, d]]
        weak = [f"{days[d]} ({e[i, d]:.2f})" for d in range(len(days)) if EVIDENCE_MIN <= e[i, d] < EMIT_DAY_MIN]
        if em_days:
            kind = "on every day" if len(em_days) == len(days) else f"on {len(em_days)} of {len(days)} days"
            r.append(f"seen emitting {kind}: {', '.join(em_days)}" + (" (intermittent)" if len(em_days) < len(days) else ""))
        if weak:
            r.append(f"weak evidence on {', '.join(weak)}")
        if season[i] > 0:
            r.append(f"emits on some of the days with probability {season[i]:.2f} (evidence on "
                     f"{int(model['n_evidence'][i])} day(s), as {model['n_independent'][i]:.1f} independent; "
                     f"{int(model['n_clean'][i])} covered clean; weight of evidence log10 BF "
                     f"{model['log10_bf'][i]:.1f})")
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
        if x in alarm_ev and alarm_ev[x].p_alarms > 0:
            r.append(alarm_ev[x].reason)
        if n_answered.get(x):
            r.append(f"{n_answered[x]} alarm(s) up to the violation confirmed on site answered by it")
        if evidence[i] >= EVIDENCE_MIN:
            best = int(np.argmax(e_f[i]))
            r.append(f"{fdays[best]}: " + str(per_dir[best]["reasons"].get(x, "")))
        else:
            r.append(str(last["reasons"].get(x, "")))
        reasons.append("; ".join(r))
    return reasons


__all__ = ["rank_season", "season_targets", "season_model", "SeasonResult", "survey_day", "day_coverage",
           "day_prior", "day_probability", "CLEAN_DAY_FACTOR", "HISTORY_COLUMNS", "SEASON_PRIOR", "DAY_MAX", "MISS_PROB", "DAY_CORRELATION"]
