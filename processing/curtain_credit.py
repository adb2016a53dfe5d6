"""Which firm a curtain's flux is credited to, and the drone plan that names the curtains.

A mass balance measures what crossed the plane, not who emitted it. The flux of a curtain is
credited to a firm only when that firm's plume fits the curtain (:data:`CREDIT_RULE`):

- **with a plan**: the curtain's target in the drone plan (the sortie's target; for a sortie
  that flew several curtains, the target whose sample waypoints lie on this one), provided
  its predicted plume crosses the flown span;
- **without a plan**: a registered candidate whose predicted plume under the curtain's wind
  crosses the plane within the flown span — at least ``min_capture`` of its emission crosses
  the flown window (along the plane between the outermost sampled columns, from the ground to
  the top transect; Gaussian plume of :mod:`ecopatrol.core.dispersion` with Briggs rise, as
  attribution models it) — and that fits the measured plume (centre near its axis, width
  near σy at its distance: ``min_fit``); of those, the one that fits best.

Otherwise the row stays uncredited: ``target_id`` empty and ``credit_reason`` says why;
targeting ranks nobody on it. Without a registry a plan target is credited as the plan names it
(nothing to check it against) and without either nobody is.

The plan is found by :func:`find_drone_plan` beside the samples (``plans/drone/plan.json`` in
the samples' folder or one above it) when none is given, and used only when its sorties name
the samples' drone missions (:func:`plan_mismatch`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.dispersion import effective_height_m, plume_frame, sigmas, unit_concentration_matrix

from .attribution import RISE_DISTANCE_M

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreditRule:
    """When a curtain's flux is credited to a firm (module docstring), with why."""

    #: share of a firm's predicted plume that must cross the flown window: a curtain planned for
    #: a stack spans ± (2.5 σy + 20 m) and catches ≥ 90 % of it in the planned wind, and still
    #: over half after a 15° wind shift; a neighbour whose plume passes beside the span or over
    #: its top catches a few per cent
    min_capture: float = 0.25
    #: without a plan, the measured plume must also fit the candidate (flux._target_score ≥ this:
    #: its centre within ~2 σy of the candidate's axis and its width within ~2× σy there)
    min_fit: float = 0.01
    #: grid of the predicted plume on the window (m along the plane, m in height)
    ds_m: float = 5.0
    dz_m: float = 2.5
    #: a plan target's sample waypoints must lie this close to the curtain's plane and span
    plan_match_m: float = 100.0

    def describe(self) -> str:
        return (f"credited to the plan's target, or without a plan to the best-fitting candidate, only when "
                f"≥ {100 * self.min_capture:.0f} % of its predicted plume crosses the flown span (and, without a "
                f"plan, the measured plume fits it: score ≥ {self.min_fit:g})")


CREDIT_RULE = CreditRule()


def capture_fractions(sources: pd.DataFrame, plane, s_range_m: tuple[float, float], z_top_m: float, *,
                      wind_from_deg: float, wind_speed_m_s: float, stability: str,
                      rule: CreditRule = CREDIT_RULE, max_distance_m: float = 3000.0) -> np.ndarray:
    """Share of each source's emission whose predicted plume crosses the flown window of ``plane``.

    ``sources`` has ``x_m``, ``y_m`` (the plane's metric CRS), ``height_m`` and the exit
    parameters (:func:`ecopatrol.processing.attribution.candidate_sources`); ``plane`` is a
    :class:`ecopatrol.processing.flux.Plane` with its normal downwind. The window spans
    ``s_range_m`` along the plane and the ground to ``z_top_m``. The unit plume (1 g/s, wind at
    stack height ``u``) is integrated on the window against ``u`` times the cosine between the
    wind and the plane normal: 1 for a plume wholly inside the window, 0 for one that misses it,
    and 0 for sources downwind of the window or farther than ``max_distance_m``.
    """
    k = len(sources)
    out = np.zeros(k)
    if k == 0:
        return out
    sx, sy = sources["x_m"].to_numpy(float), sources["y_m"].to_numpy(float)
    xd, _ = plume_frame([plane.x0_m], [plane.y0_m], sx, sy, wind_from_deg)
    near = np.flatnonzero((xd[0] > 0) & (xd[0] <= max_distance_m))
    if len(near) == 0:
        return out
    s0, s1 = s_range_m
    gs = np.arange(s0 + rule.ds_m / 2, s1, rule.ds_m) if s1 - s0 > rule.ds_m else np.array([(s0 + s1) / 2])
    gz = np.arange(rule.dz_m / 2, max(z_top_m, rule.dz_m), rule.dz_m)
    S, Z = np.meshgrid(gs, gz)
    rx = plane.x0_m + S.ravel() * plane.along[0]
    ry = plane.y0_m + S.ravel() * plane.along[1]
    src = sources.iloc[near]
    h, u = effective_height_m(src["height_m"].to_numpy(float), wind_speed_m_s, stability,
                              exit_velocity_m_s=pd.to_numeric(src["exit_velocity_m_s"], errors="coerce").to_numpy(float),
                              diameter_m=pd.to_numeric(src["diameter_m"], errors="coerce").to_numpy(float),
                              exit_temp_k=pd.to_numeric(src["exit_temp_k"], errors="coerce").to_numpy(float),
                              x_m=RISE_DISTANCE_M)
    u = np.broadcast_to(np.asarray(u, float), (len(near),))
    c = unit_concentration_matrix(rx, ry, Z.ravel(), sx[near], sy[near], h, u, wind_from_deg, stability)
    t = math.radians(wind_from_deg)
    cos_a = abs(-math.sin(t) * plane.normal[0] - math.cos(t) * plane.normal[1])
    cell_m2 = (gs[1] - gs[0] if len(gs) > 1 else s1 - s0) * rule.dz_m
    out[near] = np.clip(c.sum(axis=0) * u * cos_a * cell_m2 * 1e-6, 0.0, 1.0)
    return out


def plan_curtain_targets(plan: dict | None, crs) -> dict[str, list[tuple[str, np.ndarray, np.ndarray]]]:
    """Per sortie id: ``(target_id, x_m, y_m)`` of the plan's targets, with the metric positions
    of their sample waypoints (empty arrays when the plan does not say which waypoint is whose)."""
    out: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for s in (plan or {}).get("sorties", []) or []:
        wps = [w for w in s.get("waypoints", []) or [] if w.get("target_id")
               and w.get("action") in ("sample", None) and w.get("lon") is not None and w.get("lat") is not None]
        ids = list(s.get("targets") or []) or sorted({str(w["target_id"]) for w in wps})
        rows = []
        for tid in ids:
            mine = [w for w in wps if str(w["target_id"]) == str(tid)]
            if mine:
                x, y = lonlat_to_xy(np.array([w["lon"] for w in mine], float),
                                    np.array([w["lat"] for w in mine], float), crs)
                rows.append((str(tid), np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))))
            else:
                rows.append((str(tid), np.zeros(0), np.zeros(0)))
        out[str(s.get("sortie_id"))] = rows
    return out


def plan_target_of(targets: list[tuple[str, np.ndarray, np.ndarray]], plane, s_range_m: tuple[float, float], *,
                   rule: CreditRule = CREDIT_RULE) -> str | None:
    """The plan's target flown on this curtain: the sortie's only target, else the one whose
    sample waypoints lie on the curtain (within ``plan_match_m`` of its plane and span)."""
    if len(targets) == 1:
        return targets[0][0]
    best, best_d = None, math.inf
    for tid, x, y in targets:
        if len(x) == 0:
            continue
        s, d = plane.coords(x, y)
        off = np.maximum(np.maximum(s_range_m[0] - s, s - s_range_m[1]), 0.0)
        dist = float(np.median(np.hypot(d, off)))
        if dist < best_d:
            best, best_d = tid, dist
    return best if best_d <= rule.plan_match_m else None


def find_drone_plan(samples_path: str | Path, *, levels: int = 3) -> Path | None:
    """``plans/drone/plan.json`` beside the samples: in the samples' folder or up to ``levels``
    folders above it (``SAMPLES/../plans/drone/plan.json`` in the layout ``ecopatrol demo`` writes)."""
    p = Path(samples_path).resolve()
    d = p if p.is_dir() else p.parent
    for _ in range(levels + 1):
        cand = d / "plans" / "drone" / "plan.json"
        if cand.is_file():
            return cand
        if d.parent == d:
            break
        d = d.parent
    return None


def plan_mismatch(plan: dict, samples: pd.DataFrame) -> str | None:
    """Why ``plan`` cannot name the curtains of ``samples`` (``None`` when it can): it is not a
    drone plan, or none of its sortie ids is a drone mission of the samples."""
    from .aggregate import is_drone

    if not isinstance(plan, dict) or not isinstance(plan.get("sorties"), list):
        return "it is not a drone plan (no `sorties`)"
    sorties = sorted({str(s.get("sortie_id")) for s in plan["sorties"] if isinstance(s, dict)})
    drone = samples[is_drone(samples)] if len(samples) else samples
    missions = sorted(set(drone["mission_id"].astype(str))) if "mission_id" in drone.columns and len(drone) else []
    if not missions:
        return "the samples hold no drone mission"
    if not set(sorties) & set(missions):
        return (f"its sorties ({', '.join(sorties) or 'none'}) are none of the samples' drone missions "
                f"({', '.join(missions)})")
    return None


def _target_score(xd: np.ndarray, yd: np.ndarray, s_m: np.ndarray, wpos: np.ndarray, stability: str,
                  max_target_m: float) -> np.ndarray:
    """How well each upwind enterprise explains the curtain's plume: offset of the plume centre
    from its axis and the measured crosswind width against σy at its distance (ln-ratio sd 0.3)."""
    if wpos.sum() <= 0:
        return np.zeros(len(xd))
    sc = np.average(s_m, weights=wpos)
    width = math.sqrt(max(np.average((s_m - sc) ** 2, weights=wpos), 1.0))
    sy, _ = sigmas(np.where(xd > 0, xd, np.nan), stability)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.exp(-0.5 * (yd / sy) ** 2) * np.exp(-0.5 * (np.log(width / sy) / 0.3) ** 2)
    return np.where((xd > 0) & (xd <= max_target_m) & np.isfinite(score), score, 0.0)


def curtain_credit(reg, plane, s_m: np.ndarray, wpos: np.ndarray, centre: tuple[float, float],
                   z_top_m: float, plan_id: str | None, *, from_deg: float, speed: float, stability: str,
                   max_target_m: float) -> dict:
    """Which firm one curtain's flux is credited to (:data:`CREDIT_RULE`), and how well its plume fits.

    ``reg`` is ``(enterprises, x, y, candidate sources)`` or ``None`` (no registry: the plan's
    target, if any, is credited unchecked). Keys: ``target``, ``dist``, ``match``, ``best_id``,
    ``capture``, ``best_xd``, ``fit_dist`` (the σz floor's distance: the credited firm's, else
    the best candidate's) and ``reason``.
    """
    c = {"target": "", "dist": np.nan, "match": np.nan, "best_id": "", "capture": np.nan, "best_xd": np.nan,
         "fit_dist": np.nan}
    if reg is None:
        c["reason"] = "uncredited: no registry and no plan to name the firm"
        if plan_id is not None:
            c["target"], c["reason"] = plan_id, "the plan's target (no registry to check its plume against)"
        return c
    ent, ex, ey, cands = reg
    span_s = (float(s_m.min()), float(s_m.max()))
    xd, yd = plume_frame([centre[0]], [centre[1]], ex, ey, from_deg)
    score = _target_score(xd[0], yd[0], s_m, wpos, stability, max_target_m)
    best = int(np.argmax(score)) if np.max(score) > 0 else None
    c["best_id"] = str(ent["enterprise_id"].iloc[best]) if best is not None else ""
    ids = ent["enterprise_id"].astype(str).to_numpy()
    cap_src = capture_fractions(cands, plane, span_s, z_top_m, wind_from_deg=from_deg,
                                wind_speed_m_s=speed, stability=stability, max_distance_m=max_target_m)
    cap = pd.Series(cap_src).groupby(cands["enterprise_id"].astype(str).to_numpy()).max() \
        .reindex(ids).fillna(0.0).to_numpy()
    k, c["reason"] = _credited(ids, cap, score, plan_id)
    if best is not None:
        c["fit_dist"] = c["best_xd"] = float(xd[0, best])
    if k is not None:
        c["target"], c["dist"], c["capture"] = str(ids[k]), float(xd[0, k]), float(cap[k])
        c["fit_dist"] = c["dist"]
        c["match"] = float(score[k] / score[best]) if best is not None and score[best] > 0 else 0.0
    elif plan_id is not None and plan_id in set(ids):
        c["capture"] = float(cap[int(np.flatnonzero(ids == plan_id)[0])])
    return c


def _credited(ids: np.ndarray, capture: np.ndarray, score: np.ndarray, plan_id: str | None,
              rule: CreditRule = CREDIT_RULE) -> tuple[int | None, str]:
    """The index of the firm credited with a curtain's flux (or None) and why (module
    :mod:`.curtain_credit`): the plan's target when its plume crosses the flown span, else the
    candidate whose plume crosses it and best explains the measured plume."""
    if plan_id is not None:
        hit = np.flatnonzero(ids == plan_id)
        if len(hit) == 0:
            return None, f"uncredited: the plan's target {plan_id} is not in the registry"
        k = int(hit[0])
        if capture[k] >= rule.min_capture:
            return k, f"the plan's target; {100 * capture[k]:.0f} % of its predicted plume crosses the flown span"
        return None, (f"uncredited: only {100 * capture[k]:.0f} % of the plan's target {plan_id}'s predicted plume "
                      f"crosses the flown span under the curtain's wind (≥ {100 * rule.min_capture:.0f} % needed)")
    crossing = np.flatnonzero(capture >= rule.min_capture)
    if len(crossing) == 0:
        j = int(np.argmax(capture)) if len(capture) else None
        most = f" (the most: {ids[j]}, {100 * capture[j]:.0f} %)" if j is not None and capture[j] > 0 else ""
        return None, ("uncredited: no registered source's predicted plume crosses the flown span under the "
                      f"curtain's wind{most}")
    fits = crossing[score[crossing] >= rule.min_fit]
    if len(fits) == 0:
        names = ", ".join(ids[crossing[np.argsort(-capture[crossing])][:3]])
        return None, (f"uncredited: the {len(crossing)} candidate(s) whose predicted plume crosses the flown span "
                      f"({names}{', …' if len(crossing) > 3 else ''}) do not fit the plume measured on it "
                      f"(centre off their axis or width unlike σy at their distance)")
    k = int(fits[np.lexsort((-capture[fits], -score[fits]))[0]])
    return k, (f"{100 * capture[k]:.0f} % of its predicted plume crosses the flown span; of the {len(crossing)} "
               f"candidate(s) whose plume does, it fits the measured plume best")
