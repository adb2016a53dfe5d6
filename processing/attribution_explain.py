"""Attribution rows and the sentence on each: what a person checks of an attribution.

Each row of ``attribution.csv`` (CONTRACTS.md; columns :data:`ATTRIBUTION_COLUMNS`) says which
samples, the wind, the distance and offset from the plume axis, the expected against the observed
peak: :func:`evidence_rows` for one evidence item (event or hotspot: the single-source likelihoods
of :mod:`.attribution_likelihood`, the plausible group and its NNLS rate), :func:`signal_rows` for
the signals present (:func:`.attribution.emission_signals`), :func:`nnls_rows` for the positive
all-samples rates (:mod:`.attribution_rates`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ecopatrol.core.dispersion import plume_frame

from ._evidence_util import PLAUSIBLE_RATIO
from .attribution_likelihood import rank_candidates, single_source_likelihood
from .plume_operator import PlumeOperator

COLLINEAR_DEG = 20.0  # … and "collinear along the wind" when one lies within this angle upwind of the other
SIGNAL_CREDIBLE = 0.95  # a signal's credible set: the most probable sources holding this much of it
ATTRIBUTION_COLUMNS = [
    "evidence_id", "evidence_kind", "enterprise_id", "source_id", "likelihood", "rank", "confidence",
    "rate_g_s", "rate_sd_g_s", "evidence_rate_g_s", "log_bayes_factor", "nnls_share", "fit_likelihood",
    "ambiguous_with", "collinear_with", "group_rate_g_s", "group_rate_sd_g_s", "distance_m", "crosswind_m",
    "expected_ugm3", "nnls_expected_ugm3", "observed_ugm3", "n_samples", "wind_from_deg", "wind_speed_m_s",
    "explanation",
]


@dataclass
class FitContext:
    """What every evidence row is explained against: the samples' enhancement and the all-samples fits.

    ``enh``/``noise`` (µg/m³) and ``lon``/``lat`` (EPSG:4326) are per sample, in the order of the
    operator's samples; ``rates`` is the per-source NNLS table and ``cov_all`` its covariance.
    """

    op: PlumeOperator
    enh: np.ndarray
    noise: np.ndarray
    rates: pd.DataFrame
    cov_all: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    model_rel_sd: float = 0.2
    top: int = 5

    @property
    def q_all(self) -> np.ndarray:
        """Each candidate source's all-samples NNLS rate (g/s)."""
        return self.rates["rate_g_s"].to_numpy()


def seen_text(ev) -> str:
    """"confirmed: 3 independent sightings on 4 passes", "not confirmed (2 passes)", "single pass"."""
    n_passes = int(getattr(ev, "n_passes", 1) or 1)
    if ev.confirmed:
        n = getattr(ev, "n_independent", None)
        return f"confirmed: {int(n) if n is not None and n == n else 2} independent sightings on {n_passes} passes"
    return f"not confirmed ({n_passes} passes, not independent)" if n_passes > 1 else "single pass"


def confidence(lik: float, confirmed: bool, n: int) -> str:
    """``high`` / ``medium`` / ``low`` of a candidate's likelihood (high needs confirmation or ≥ 5 samples)."""
    if lik >= 0.7 and (confirmed or n >= 5):
        return "high"
    if lik >= 0.4:
        return "medium"
    return "low"


def _source(op: PlumeOperator, c: int) -> dict:
    """``source_id``, ``enterprise_id``, ``x_m``, ``y_m`` of candidate ``c`` (the values of ``op.sources.iloc[c]``)."""
    return {"source_id": op.column("source_id")[c], "enterprise_id": op.column("enterprise_id")[c],
            "x_m": op.source_arrays()["x_m"][c], "y_m": op.source_arrays()["y_m"][c]}


def _rank_item(ctx: FitContext, rows: np.ndarray) -> dict | None:
    """The candidates of one evidence item, ranked, with their NNLS shares and the plausible group.

    ``None`` where no candidate reaches ``rows``. Keys: ``single`` (the single-source table),
    ``ranked`` (the `top` most likely plus any with ≥ 10 % NNLS share), ``plaus`` (columns within
    ``PLAUSIBLE_RATIO`` of the best), ``g_rate``/``g_sd`` (the plausible group's NNLS rate),
    ``unexplained``, ``peak_local``/``pk`` (the peak sample), ``a_rows`` (unit matrix on ``rows``).
    """
    op, enh, noise, q_all, model_rel_sd = ctx.op, ctx.enh, ctx.noise, ctx.q_all, ctx.model_rel_sd
    peak_local = int(np.nanargmax(enh[rows]))
    pk = rows[peak_local]
    sigma = float(np.sqrt(np.nanmedian(noise[rows]) ** 2 + (model_rel_sd * max(enh[pk], 0)) ** 2))
    single = single_source_likelihood(op, rows, enh, noise, q_all=q_all, model_rel_sd=model_rel_sd)
    if len(single) == 0:
        return None
    local = rank_candidates(op, rows, enh, max(sigma, 1e-9))
    a_rows = op.matrix(rows, copy=False)  # read only
    contrib = (a_rows * q_all[None, :]).sum(0)
    observed = float(np.clip(np.nan_to_num(enh[rows]), 0, None).sum())
    share = contrib / max(observed, float(contrib.sum()), 1e-12)
    ranked = single.rename(columns={"weight": "likelihood", "rate_g_s": "single_rate_g_s"})
    ranked["nnls_share"] = share[ranked["col"].to_numpy(int)]
    ranked = ranked.merge(local[["col", "likelihood"]].rename(columns={"likelihood": "fit_likelihood"}),
                          on="col", how="left")
    ranked["fit_likelihood"] = ranked["fit_likelihood"].fillna(0.0)
    # the plausible set: candidates whose single-source likelihood is within PLAUSIBLE_RATIO of the best
    wmax = float(ranked["likelihood"].max())
    plaus = ranked.loc[ranked["likelihood"] >= PLAUSIBLE_RATIO * wmax, "col"].to_numpy(int) \
        if wmax > 0 else np.zeros(0, int)
    # the plausible group's total NNLS rate is determined even when its split is not
    g_rate = float(q_all[plaus].sum()) if len(plaus) else 0.0
    g_sd = float(math.sqrt(max(float(ctx.cov_all[np.ix_(plaus, plaus)].sum()), 0.0) + (model_rel_sd * g_rate) ** 2)) \
        if len(plaus) else float("nan")
    # the `top` most likely, plus any candidate the all-samples fit credits with ≥ 10 % of the enhancement
    ranked = ranked[(np.arange(len(ranked)) < ctx.top) | (ranked["nnls_share"] >= 0.1)].reset_index(drop=True)
    return {"single": single, "ranked": ranked, "plaus": plaus, "g_rate": g_rate, "g_sd": g_sd,
            "unexplained": max(0.0, 1.0 - float(share.sum())), "peak_local": peak_local, "pk": pk,
            "a_rows": a_rows}


def _ambiguity(op: PlumeOperator, c: int, plaus: np.ndarray, from_deg: float) -> tuple[list, list]:
    """The other firms of candidate ``c``'s plausible group, and those of them collinear along the wind.

    Collinear: within ``COLLINEAR_DEG`` of the wind axis through ``c`` (the wind from ``from_deg``).
    """
    ent_all = op.column("enterprise_id")
    sx_all = op.source_arrays()["x_m"]
    sy_all = op.source_arrays()["y_m"]
    t_dir = math.radians(from_deg)
    down = np.array([-math.sin(t_dir), -math.cos(t_dir)])
    others = [int(o) for o in plaus if int(o) != c and ent_all[int(o)] != ent_all[c]] if c in plaus else []
    amb_ids = list(dict.fromkeys(ent_all[o] for o in others))
    collinear = []
    for o in others:
        d = np.array([sx_all[o] - sx_all[c], sy_all[o] - sy_all[c]])
        along = abs(float(d @ down))
        if along > 0 and abs(float(d @ np.array([-down[1], down[0]]))) <= math.tan(
                math.radians(COLLINEAR_DEG)) * along:
            collinear.append(ent_all[o])
    return amb_ids, list(dict.fromkeys(collinear))


def evidence_rows(ctx: FitContext, eid: str, kind: str, rows: np.ndarray, confirmed: bool,
                  header: str) -> list[dict]:
    """Attribution rows of one evidence item (``kind`` ``event`` or ``hotspot``) on the samples ``rows``.

    One row per ranked candidate (:func:`_rank_item`), each with its sentence; ``header`` opens
    the sentence (which evidence, which samples). Nothing where ``rows`` is empty or no
    candidate's plume reaches it.
    """
    if len(rows) == 0:
        return []
    item = _rank_item(ctx, rows)
    if item is None:
        return []
    op, enh, q_all, rates = ctx.op, ctx.enh, ctx.q_all, ctx.rates
    pk, plaus, g_rate, g_sd = item["pk"], item["plaus"], item["g_rate"], item["g_sd"]
    p = op.passes[op.codes[pk]]
    a_pk = item["a_rows"][item["peak_local"]]
    out = []
    for r_i, cand in enumerate(item["ranked"].itertuples(index=False), start=1):
        c = int(cand.col)
        src = _source(op, c)
        xd, yd = plume_frame(op.x[[pk]], op.y[[pk]], [src["x_m"]], [src["y_m"]], p.from_deg)
        expected_nnls = float(a_pk[c] * q_all[c])
        amb_ids, collinear = _ambiguity(op, c, plaus, p.from_deg)
        out.append({
            "evidence_id": eid, "evidence_kind": kind, "enterprise_id": src["enterprise_id"],
            "source_id": src["source_id"], "likelihood": float(cand.likelihood), "rank": r_i,
            "confidence": confidence(float(cand.likelihood), confirmed, len(rows)),
            "rate_g_s": float(q_all[c]), "rate_sd_g_s": float(rates["rate_sd_g_s"].iloc[c]),
            "evidence_rate_g_s": float(cand.single_rate_g_s), "log_bayes_factor": float(cand.log_bf),
            "nnls_share": float(cand.nnls_share), "fit_likelihood": float(cand.fit_likelihood),
            "ambiguous_with": " ".join(amb_ids), "collinear_with": " ".join(collinear),
            "group_rate_g_s": g_rate if amb_ids else np.nan, "group_rate_sd_g_s": g_sd if amb_ids else np.nan,
            "distance_m": float(xd[0, 0]),
            "crosswind_m": float(yd[0, 0]), "expected_ugm3": float(cand.expected_peak),
            "nnls_expected_ugm3": expected_nnls, "observed_ugm3": float(enh[pk]),
            "n_samples": len(rows), "wind_from_deg": p.from_deg, "wind_speed_m_s": p.speed_m_s,
            "explanation": _evidence_text(ctx, item, cand, c, float(xd[0, 0]), float(yd[0, 0]), expected_nnls,
                                          amb_ids, collinear, header),
        })
    return out


def _evidence_text(ctx: FitContext, item: dict, cand, c: int, xd: float, yd: float, expected_nnls: float,
                   amb_ids: list, collinear: list, header: str) -> str:
    """The sentence of one candidate of one evidence item (see :func:`evidence_rows`)."""
    op, enh, q_all = ctx.op, ctx.enh, ctx.q_all
    pk, single, g_rate, g_sd = item["pk"], item["single"], item["g_rate"], item["g_sd"]
    p = op.passes[op.codes[pk]]
    src = _source(op, c)
    names = op.column("name")
    null_w = single.attrs.get("null_weight", 0.0)
    unk_w = single.attrs.get("unknown_weight", 0.0)
    wtxt = f"wind from {p.from_deg:.0f}° at {p.speed_m_s:.1f} m/s ({'measured' if p.measured else 'assumed'}), " \
           f"class {p.stability}"
    if amb_ids:
        amb_txt = (f"; ambiguous with {', '.join(amb_ids)}"
                   + (f" ({', '.join(collinear)} collinear along the wind)" if collinear else
                      " (their plumes overlap on these samples)")
                   + f": together they have {g_rate:.3g} ± {g_sd:.2g} g/s in the all-samples NNLS, which "
                   "cannot split it between them")
    else:
        amb_txt = ""
    return (
        f"{header}; peak enhancement {enh[pk]:.1f} at ({ctx.lon[pk]:.5f}, {ctx.lat[pk]:.5f}); {wtxt}; "
        f"source {src['source_id']} of {src['enterprise_id']} {names[c]} is {xd:.0f} m upwind "
        f"and {abs(yd):.0f} m {'left' if yd > 0 else 'right'} of the plume axis; "
        f"alone, at {cand.single_rate_g_s:.3g} g/s (wind offset {cand.offset_deg:+.0f}°), it predicts "
        f"{cand.expected_peak:.1f} at the peak (observed {enh[pk]:.1f}): likelihood "
        f"{cand.likelihood:.2f} among the {len(single)} candidates reaching these samples "
        f"(log Bayes factor {cand.log_bf:.1f} against no source; {null_w:.2f} left for no source and "
        f"{unk_w:.2f} for an unregistered one){amb_txt}; with the all-samples NNLS rate {q_all[c]:.3g} ± "
        f"{ctx.rates['rate_sd_g_s'].iloc[c]:.2g} g/s it predicts {expected_nnls:.1f} at the peak and "
        f"{100 * cand.nnls_share:.0f} % of the enhancement on these samples "
        f"({100 * item['unexplained']:.0f} % unexplained by registered sources)")


def signal_rows(op: PlumeOperator, signals, design: tuple[np.ndarray, sparse.csc_matrix], enh: np.ndarray,
                rates: pd.DataFrame, lon: np.ndarray, lat: np.ndarray) -> list[dict]:
    """Attribution rows of the signals present (P ≥ 0.5): the sources of each credible set.

    ``signals`` is a :class:`.attribution.Signals`; ``design`` the rows and unit matrix it was
    fitted on. Signals are numbered ``S1``, ``S2`` … by how sure their best source is.
    """
    rows, A = design
    ent_all = op.sources["enterprise_id"].to_numpy()
    n_cand = int((signals.alpha.sum(0) > 0).sum())
    present = signals.present
    order = present[np.argsort(-(1 - signals.null[present]) * signals.alpha[present].max(1), kind="stable")]
    out = []
    for s_i, l_ in enumerate(order, start=1):
        a = signals.alpha[l_]
        p_here = 1.0 - float(signals.null[l_])
        ranked = np.argsort(-a, kind="stable")
        cum = np.cumsum(a[ranked])
        n_set = int(np.searchsorted(cum, SIGNAL_CREDIBLE * p_here) + 1)
        cset = ranked[: max(1, min(n_set, 10))]
        set_firms = list(dict.fromkeys(ent_all[cset]))
        mean_rate = float((a * signals.rate_g_s[l_]).sum() / max(p_here, 1e-12))
        sid = f"S{s_i}"
        for r_i, c in enumerate(cset, start=1):
            col = A[:, c].toarray().ravel() * signals.rate_g_s[l_, c]
            # the sample that shows it best: where the plume is both predicted and seen
            pk_local = int(np.argmax(np.minimum(col, np.nan_to_num(enh[rows]))))
            pk = int(rows[pk_local])
            p = op.passes[op.codes[pk]]
            src = op.sources.iloc[c]
            xd, yd = plume_frame(op.x[[pk]], op.y[[pk]], [src["x_m"]], [src["y_m"]], p.from_deg)
            others = [f for f in set_firms if f != src["enterprise_id"]]
            conf = "high" if a[c] >= 0.7 and p_here >= 0.9 else "medium" if a[c] >= 0.3 else "low"
            out.append({
                "evidence_id": sid, "evidence_kind": "signal", "enterprise_id": src["enterprise_id"],
                "source_id": src["source_id"], "likelihood": float(a[c]), "rank": r_i, "confidence": conf,
                "rate_g_s": float(rates["rate_g_s"].iloc[c]), "rate_sd_g_s": float(rates["rate_sd_g_s"].iloc[c]),
                "evidence_rate_g_s": float(signals.rate_g_s[l_, c]), "log_bayes_factor": np.nan,
                "nnls_share": np.nan, "fit_likelihood": np.nan, "ambiguous_with": " ".join(others),
                "collinear_with": "", "group_rate_g_s": mean_rate if others else np.nan, "group_rate_sd_g_s": np.nan,
                "distance_m": float(xd[0, 0]), "crosswind_m": float(yd[0, 0]), "expected_ugm3": float(col[pk_local]),
                "nnls_expected_ugm3": float(A[pk_local, c] * rates["rate_g_s"].iloc[c]),
                "observed_ugm3": float(enh[pk]), "n_samples": int(signals.n_samples),
                "wind_from_deg": p.from_deg, "wind_speed_m_s": p.speed_m_s,
                "explanation": _signal_text(op, sid, c, signals, l_, p_here, n_cand, others, mean_rate,
                                            (float(xd[0, 0]), float(yd[0, 0])), p, (lon[pk], lat[pk]),
                                            float(col[pk_local]), float(enh[pk])),
            })
    return out


def _signal_text(op: PlumeOperator, sid: str, c: int, signals, l_: int, p_here: float, n_cand: int, others: list,
                 mean_rate: float, xy_plume: tuple[float, float], p, lonlat: tuple[float, float],
                 predicted: float, observed: float) -> str:
    """The sentence of source ``c`` in signal ``sid`` (``l_``): where its plume shows best, and the set it shares."""
    src = op.sources.iloc[c]
    name = op.sources["name"].to_numpy()[c]
    a = signals.alpha[l_]
    xd, yd = xy_plume
    return (
        f"signal {sid}: one emitting source behind part of the enhancement over all {signals.n_samples} "
        f"samples (probability {p_here:.2f} that it is there; sparse attribution over {n_cand} candidate "
        f"sources, prior uniform over enterprises); it is {src['source_id']} of {src['enterprise_id']} "
        f"{name} with probability {a[c]:.2f}, at {signals.rate_g_s[l_, c]:.3g} g/s if so; its plume "
        f"shows best at ({lonlat[0]:.5f}, {lonlat[1]:.5f}), {xd:.0f} m downwind and "
        f"{abs(yd):.0f} m {'left' if yd > 0 else 'right'} of its axis (wind from "
        f"{p.from_deg:.0f}° at {p.speed_m_s:.1f} m/s, class {p.stability}), predicting {predicted:.1f} "
        f"where {observed:.1f} was observed"
        + (f"; the signal's 95 % credible set also holds {', '.join(others)}: their plumes look alike on "
           f"these samples, and the signal's rate is {mean_rate:.3g} g/s whichever it is" if others else ""))


def nnls_rows(rates: pd.DataFrame) -> list[dict]:
    """Attribution rows ``all-samples`` / ``nnls``: one per source with a positive all-samples NNLS rate."""
    pos = rates[rates["rate_g_s"] > 0]
    out = []
    for r in pos.itertuples(index=False):
        out.append({
            "evidence_id": "all-samples", "evidence_kind": "nnls", "enterprise_id": r.enterprise_id,
            "source_id": r.source_id, "likelihood": np.nan, "rank": np.nan,
            "confidence": "high" if r.rate_g_s > 3 * r.rate_sd_g_s else "medium" if r.rate_g_s > 2 * r.rate_sd_g_s
            else "low",
            "rate_g_s": r.rate_g_s, "rate_sd_g_s": r.rate_sd_g_s, "evidence_rate_g_s": np.nan,
            "fit_likelihood": np.nan, "log_bayes_factor": np.nan, "nnls_share": np.nan, "ambiguous_with": "",
            "collinear_with": "", "group_rate_g_s": np.nan, "group_rate_sd_g_s": np.nan,
            "nnls_expected_ugm3": np.nan,
            "distance_m": np.nan, "crosswind_m": np.nan, "expected_ugm3": np.nan, "observed_ugm3": np.nan,
            "n_samples": int(r.n_samples_touched), "wind_from_deg": np.nan, "wind_speed_m_s": np.nan,
            "explanation": (f"NNLS over all samples: {r.rate_g_s:.3g} ± {r.rate_sd_g_s:.2g} g/s "
                            f"(z = {r.rate_g_s / r.rate_sd_g_s:.1f}); the plume of {r.source_id} reaches "
                            f"{int(r.n_samples_touched)} of the samples used"),
        })
    return out
