"""Are the emission probabilities of ``targets.csv`` calibrated, and what does a visit budget buy?

- :func:`reliability_table`: predicted probabilities in bins against the share of those firms that
  truly emit (over all scenarios), with counts;
- :func:`brier_score`: mean squared difference between probability and outcome (0 is perfect; a
  forecast of the base rate everywhere scores ``base·(1 − base)``);
- :func:`visit_budget`: the K firms to visit (the first K of the ranking), the expected number of
  emitters among them (Σ p) and the probability that at least one emits (1 − Π (1 − p), the
  firms taken as independent);
- :func:`precision_at` — how many of the K visited firms truly emit (benchmarks).

:data:`VISIT_CALIBRATION` is the recalibration ``targets --visits`` applies to a day's
``emit_probability`` before it states what the budget buys (the ranking itself is not changed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_BINS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0)


def _py(p, y) -> tuple[np.ndarray, np.ndarray]:
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    y = np.asarray(y, float)
    if p.shape != y.shape:
        raise ValueError(f"probabilities {p.shape} and outcomes {y.shape} differ in shape")
    return p, y


def brier_score(p, y) -> float:
    """Mean of (p − y)² over all firms and scenarios (NaN when empty)."""
    p, y = _py(p, y)
    return float(np.mean((p - y) ** 2)) if p.size else float("nan")


def reliability_table(p, y, bins=DEFAULT_BINS) -> pd.DataFrame:
    """One row per probability bin ``[lo, hi)`` (the last one closed): n, mean predicted, share emitting.

    ``share_emitting`` is NaN for an empty bin; ``emitters`` counts the firms of the bin that emit.
    """
    p, y = _py(p, y)
    edges = np.asarray(bins, float)
    k = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for j in range(len(edges) - 1):
        m = k == j
        n = int(m.sum())
        rows.append({"bin": f"[{edges[j]:.2f}, {edges[j + 1]:.2f}{']' if j == len(edges) - 2 else ')'}",
                     "lo": edges[j], "hi": edges[j + 1], "n": n, "emitters": int(y[m].sum()),
                     "mean_predicted": float(p[m].mean()) if n else float("nan"),
                     "share_emitting": float(y[m].mean()) if n else float("nan")})
    return pd.DataFrame(rows)


#: Platt ``(a, b)`` of :func:`apply_platt` for the visit budget of one survey day's targets. Fitted on
#: development scenarios only (seeds 0–7 of both simulated worlds: 16 scenarios, 13 760 firm × scenario
#: pairs, 28 emitters; BENCHMARKS.md "Where the mismatched world is fragile"), never on held-out ones;
#: on the held-out seeds 100–149 it lowers the Brier score in both worlds (BENCHMARKS.md "Held-out
#: accuracy in both worlds, 2026-12-03"). The attribution's probabilities are overconfident when the
#: plume model is wrong (a firm at ≥ 0.95 emits about half the time in the particle world). This maps
#: 1.0 (the model's certainty, 0.9999 after the clip) to 0.90, 0.999 to 0.71, 0.99 to 0.40, 0.9 to
#: 0.15, 0.5 to 0.05 and 0 to 0.0003: a line in logit space fitted where nearly all pairs are near 0 or
#: 1, so the middle rests on few firms. It is a statement about simulated worlds — no calibration on
#: real surveys has been measured — so the model's own figures are reported beside it.
VISIT_CALIBRATION: tuple[float, float] = (0.567, -3.02)


def visit_budget(p_ranked, k: int, calibration: tuple[float, float] | None = None) -> dict:
    """For the first ``k`` firms of a ranking with emission probabilities ``p_ranked``.

    Returns ``visits`` (the number marked, ≤ len), ``expected_emitters`` (Σ p) and
    ``p_at_least_one`` (1 − Π (1 − p)) of the probabilities recalibrated by ``calibration`` (Platt
    ``(a, b)``; None: as given), and with a calibration also ``expected_emitters_model`` and
    ``p_at_least_one_model`` from the probabilities as given, and ``calibration``.
    """
    if k < 0:
        raise ValueError("the visit budget must be ≥ 0")
    p = np.clip(np.asarray(p_ranked, float)[:k], 0.0, 1.0)
    p = np.nan_to_num(p, nan=0.0)
    out = _budget(p)
    if calibration is not None:
        model = out
        out = _budget(apply_platt(p, *calibration) if p.size else p)
        out.update(expected_emitters_model=model["expected_emitters"], p_at_least_one_model=model["p_at_least_one"],
                   calibration={"method": "platt", "a": float(calibration[0]), "b": float(calibration[1])})
    return out


def _budget(p: np.ndarray) -> dict:
    return {"visits": int(p.size), "expected_emitters": float(p.sum()),
            "p_at_least_one": float(1.0 - np.prod(1.0 - p)) if p.size else 0.0}


def precision_at(ranked_ids, emitters, k: int) -> float:
    """Share of the first ``k`` ranked firms that truly emit (NaN when k is 0)."""
    top = list(ranked_ids)[:k]
    return float(np.mean([e in set(emitters) for e in top])) if top else float("nan")


__all__ = ["DEFAULT_BINS", "VISIT_CALIBRATION", "apply_platt", "brier_score", "fit_platt", "mark_visits", "precision_at", "reliability_table", "visit_budget"]


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def fit_platt(p, y) -> tuple[float, float]:
    """Platt recalibration ``p' = σ(a · logit(p) + b)`` fitted by maximum likelihood to outcomes ``y``.

    Fit it on development scenarios only and check it on held-out ones: fitted and scored on the
    same scenarios it can only look better.
    """
    from scipy.optimize import minimize

    p, y = _py(p, y)
    x = _logit(p)

    def nll(ab):
        z = ab[0] * x + ab[1]
        return float(np.sum(np.logaddexp(0.0, z) - y * z))

    r = minimize(nll, x0=np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
    return float(r.x[0]), float(r.x[1])


def apply_platt(p, a: float, b: float) -> np.ndarray:
    """``σ(a · logit(p) + b)``; (a, b) = (1, 0) leaves p as it is (up to the 1e-4 clip)."""
    return 1.0 / (1.0 + np.exp(-(a * _logit(p) + b)))


def mark_visits(targets: pd.DataFrame, k: int, calibration: tuple[float, float] | None = None
                ) -> tuple[pd.DataFrame, dict]:
    """``targets`` with a boolean ``visit`` column (the first ``k`` by rank) and the budget summary.

    The summary (:func:`visit_budget` of the visited firms' ``emit_probability``, recalibrated by
    ``calibration``) also lists the visited ``enterprise_ids``; with a calibration the frame gets a
    ``visit_probability`` column (the recalibrated probability of every firm, what the summary
    adds up). ``k`` larger than the list marks every firm.
    """
    if k < 0:
        raise ValueError("the visit budget must be ≥ 0")
    df = targets.sort_values("rank", kind="stable") if "rank" in targets.columns else targets
    p = pd.to_numeric(df["emit_probability"], errors="coerce").fillna(0.0) if "emit_probability" in df.columns \
        else pd.Series(0.0, index=df.index)
    out = targets.copy()
    visit = pd.Series(False, index=df.index)
    visit.iloc[:k] = True
    out["visit"] = visit.reindex(out.index).to_numpy(bool)
    summary = visit_budget(p.to_numpy(float), k, calibration)
    if calibration is not None:
        q = pd.Series(np.round(apply_platt(p.clip(0, 1).to_numpy(float), *calibration), 4), index=df.index)
        out["visit_probability"] = q.reindex(out.index).to_numpy(float)
    summary["enterprise_ids"] = df["enterprise_id"].astype(str).head(k).tolist()
    return out, summary
