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
from ecopatrol.core.dispersion import effective_height_m, plume_frame, unit_concentration_matrix

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

