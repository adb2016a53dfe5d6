"""Online-monitoring alarms as an evidence line for targeting, beside the survey's.

An alarm is evidence that does not come from the survey's samples: a data logger's analyser, its
flags, or an electricity meter. So it combines with the survey's emission probability as an
**independent** line (``1 − (1 − p_survey)(1 − p_alarms)`` in
:func:`ecopatrol.processing.targeting.rank_targets`), never as a share of it — and the survey's
per-item indications, which do come from the same samples, are untouched.

Per enterprise (:func:`alarm_evidence`):

- each alarm has a ``strength`` (its kind's, :class:`~.rules.AlarmRules`; an exceedance grows with
  how far above the limit it was). Alarms of one kind are one behaviour seen several times, not
  independent witnesses: a kind counts by its strongest alarm, reinforced by half the second
  (as the survey's events do). Different kinds (an exceedance and a treatment fan off) are
  different witnesses: ``p_alarms = 1 − Π over kinds (1 − s_kind)``, at most :data:`P_MAX`;
- **coincidence**: an alarm whose hours overlap the survey's (± :data:`COINCIDENCE_MARGIN_H`) at a
  firm whose plume the survey also found (emission probability ≥ :data:`PLUME_MIN`, or a plume
  event attributed to it) is stronger than either alone: its strength ``s`` counts as
  ``1 − (1 − s)^COINCIDENCE_POWER`` — two observations of the same emission at the same time
  from two instruments that share no error. Over several survey days (:mod:`ecopatrol.processing.season`,
  :class:`Survey` per folder) an alarm coincides with any day whose hours it overlaps and whose
  samples found the firm's plume, and the reason names those days.

The reasons cite the alarms (kind, what, when in local time, the rule's limit and whether the
limit was verified) and say when they coincided with the survey.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .rules import ALARM_KINDS

COINCIDENCE_MARGIN_H = 2.0
PLUME_MIN = 0.3
COINCIDENCE_POWER = 2.0
P_MAX = 0.9
TIMEZONE = "Asia/Shanghai"
#: Kinds that only say the data are missing: evidence of poor data, not of emissions.
DATA_ONLY_KINDS = ("data_gap", "incomplete_day", "no_data")


@dataclass
class AlarmEvidence:
    """One enterprise's alarms as evidence: the probability-like weight, the alarms, the reason."""

    enterprise_id: str
    p_alarms: float
    n_alarms: int
    kinds: dict[str, float] = field(default_factory=dict)
    coincident: int = 0
    reason: str = ""
    coincident_days: list[str] = field(default_factory=list)  # survey days that coincided (several surveys)


def _best_two(s: np.ndarray) -> float:
    s = np.sort(np.clip(s, 0, 1))[::-1]
    if len(s) == 0:
        return 0.0
    return float(1 - (1 - s[0]) * (1 - 0.5 * (s[1] if len(s) > 1 else 0.0)))


def as_alarms(alarms) -> pd.DataFrame:
    """An alarms frame from a frame or an ``alarms.csv`` path, or from a list of them (one per survey
    day, None for a day without: concatenated, an alarm listed twice counted once)."""
    if isinstance(alarms, (list, tuple)):
        parts = [as_alarms(a) for a in alarms if a is not None]
        if not parts:
            return as_alarms(pd.DataFrame({"enterprise_id": pd.Series([], dtype=str),
                                           "start_utc": pd.Series([], dtype="datetime64[ns, UTC]"),
                                           "end_utc": pd.Series([], dtype="datetime64[ns, UTC]")}))
        df = pd.concat(parts, ignore_index=True)
        if "alarm_id" in df.columns and (df["alarm_id"].fillna("").astype(str) != "").all():
            return df.drop_duplicates(subset=["alarm_id"]).reset_index(drop=True)
        key = [c for c in ("alarm_id", "enterprise_id", "mn", "kind", "start_utc", "end_utc") if c in df.columns]
        return df.drop_duplicates(subset=key).reset_index(drop=True)
    if isinstance(alarms, pd.DataFrame):
        df = alarms.copy()
        for c in ("start_utc", "end_utc"):
            df[c] = pd.to_datetime(df[c], utc=True)
        df["enterprise_id"] = df["enterprise_id"].fillna("").astype(str)
        return df
    from .alarms import read_alarms

    return read_alarms(Path(alarms))


def _when(a, tz: str) -> str:
    s, e = a.start_utc.tz_convert(tz), a.end_utc.tz_convert(tz)
    return f"{s:%Y-%m-%d %H:%M}–{e:%H:%M}" if s.date() == e.date() else f"{s:%Y-%m-%d %H:%M}–{e:%Y-%m-%d %H:%M}"


def _what(a) -> str:
    k = a.kind
    if k == "exceedance":
        verified = str(a.limit_verified).lower() in ("true", "1", "yes")
        return (f"{a.pollutant_code} hourly average {a.value:.3g} {a.unit} > {a.limit_value:g} "
                f"({a.standard or 'limit'}{'' if verified else ', limit not verified'})")
    v = a["values"] if "values" in a.index else ""  # a row (Series): ``a.values`` would be the whole row
    v = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    return f"{ALARM_KINDS.get(k, (k, ''))[0]}" + (f" ({v})" if v else "")


@dataclass
class Survey:
    """One survey's hours (UTC) and how strongly it found each firm's plume (enterprise → 0–1);
    ``day`` names it in the reasons (a season's survey date; empty for a single survey)."""

    start_utc: object
    end_utc: object
    plume: dict[str, float] = field(default_factory=dict)
    day: str = ""


def plume_strength(stats: pd.DataFrame) -> dict[str, float]:
    """Enterprise → how strongly a survey found its plume: its emission probability, at least
    :data:`PLUME_MIN` when a plume event is attributed to it (``stats`` or a targets frame indexed by
    enterprise, with ``emit_probability`` and ``n_events``)."""
    if not len(stats):
        return {}
    emit = pd.to_numeric(stats.get("emit_probability", pd.Series(0.0, index=stats.index)), errors="coerce")
    events = pd.to_numeric(stats.get("n_events", pd.Series(0, index=stats.index)), errors="coerce")
    return emit.fillna(0.0).where(~(events > 0), np.maximum(emit.fillna(0.0), PLUME_MIN)).to_dict()


def alarm_evidence(alarms, *, survey_start=None, survey_end=None, plume: dict[str, float] | None = None,
                   timezone: str = TIMEZONE, surveys: list[Survey] | None = None) -> dict[str, AlarmEvidence]:
    """Per enterprise named by ``alarms`` (a frame or an alarms.csv): its :class:`AlarmEvidence`
    (see the module docstring). ``plume`` maps enterprise → how strongly the survey found its
    plume (0–1); ``survey_start`` / ``survey_end`` (UTC) the survey's hours. Several surveys (a
    season's days): ``surveys`` instead — an alarm coincides when it overlaps the hours of any survey
    that found the firm's plume, and the reason names those surveys' days."""
    df = as_alarms(alarms)
    df = df[(df["enterprise_id"] != "") & ~df["kind"].isin(DATA_ONLY_KINDS)]
    if surveys is None:
        surveys = [Survey(survey_start, survey_end, plume or {})] if survey_start is not None and \
            survey_end is not None else []
    windows = [(pd.Timestamp(s.start_utc) - pd.Timedelta(hours=COINCIDENCE_MARGIN_H),
                pd.Timestamp(s.end_utc) + pd.Timedelta(hours=COINCIDENCE_MARGIN_H), s)
               for s in surveys if s.start_utc is not None and s.end_utc is not None]
    out: dict[str, AlarmEvidence] = {}
    for e, g in df.groupby("enterprise_id", sort=True):
        st = g["strength"].to_numpy(float).copy()
        coinc = np.zeros(len(g), dtype=bool)
        days: list[str] = []
        for s0, s1, sv in windows:
            if sv.plume.get(e, 0.0) < PLUME_MIN:
                continue
            hit = ((g["end_utc"] >= s0) & (g["start_utc"] <= s1)).to_numpy()
            if hit.any() and sv.day and sv.day not in days:
                days.append(sv.day)
            coinc |= hit
        st[coinc] = 1 - (1 - st[coinc]) ** COINCIDENCE_POWER
        kinds = {k: _best_two(st[(g["kind"] == k).to_numpy()]) for k in dict.fromkeys(g["kind"])}
        p = min(P_MAX, 1 - float(np.prod([1 - v for v in kinds.values()])))
        order = np.argsort(-st, kind="stable")
        top = [g.iloc[i] for i in order[:3]]
        # one reason (no top-level ';': the map and the report split reasons there)
        txt = " | ".join(f"{_what(a)}, {_when(a, timezone)} (MN {a.mn})" for a in top)
        more = len(g) - len(top)
        hours = f"the survey hours of {', '.join(sorted(days))}" if days else "the survey's hours"
        reason = (f"online monitoring: {len(g)} alarm(s), weight {p:.2f}: {txt}" + (f" and {more} more" if more else "")
                  + (f" — {int(coinc.sum())} during {hours}, when it also found this firm's plume "
                     "(the two together are stronger than either)" if coinc.any() else ""))
        out[e] = AlarmEvidence(e, p, len(g), kinds, int(coinc.sum()), reason, sorted(days))
    return out


def add_alarm_evidence(alarms, parts: dict[str, list[float]], reasons: dict[str, list[str]], stats: pd.DataFrame,
                       summary: dict) -> dict[str, AlarmEvidence]:
    """The targeting hook: append each enterprise's alarm weight to its independent evidence parts and
    its reason, with the survey's hours from ``summary`` (``evidence.json``) and the plume strength
    from ``stats`` (emission probability; a plume event counts as at least :data:`PLUME_MIN`)."""
    ev = alarm_evidence(alarms, survey_start=summary.get("start_utc"), survey_end=summary.get("end_utc"),
                        plume=plume_strength(stats))
    for e, a in ev.items():
        if e in parts and a.p_alarms > 0:
            parts[e].append(a.p_alarms)
            reasons[e].append(a.reason)
    return ev
