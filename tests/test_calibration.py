"""Calibration arithmetic (reliability, Brier) and the visit budget of `ecopatrol targets --visits`."""

import math

import numpy as np
import pandas as pd
import pytest

from ecopatrol.processing.calibration import (VISIT_CALIBRATION, apply_platt, brier_score, mark_visits, precision_at,
                                              reliability_table, visit_budget)


def test_brier_score_by_hand():
    assert brier_score([1.0, 0.0], [1, 0]) == 0.0
    assert brier_score([0.8, 0.3, 0.0], [1, 0, 1]) == pytest.approx((0.04 + 0.09 + 1.0) / 3)
    # the base-rate forecast scores base·(1 − base)
    y = np.array([1, 0, 0, 0])
    assert brier_score(np.full(4, 0.25), y) == pytest.approx(0.25 * 0.75)
    assert math.isnan(brier_score([], []))
    with pytest.raises(ValueError):
        brier_score([0.1, 0.2], [1])


def test_reliability_table_bins_and_shares():
    p = [0.0, 0.01, 0.1, 0.15, 0.5, 0.9, 0.97, 1.0]
    y = [0, 0, 1, 0, 1, 1, 1, 0]
    t = reliability_table(p, y, bins=(0.0, 0.05, 0.2, 0.6, 0.95, 1.0))
    assert t["n"].tolist() == [2, 2, 1, 1, 2]
    assert t["emitters"].tolist() == [0, 1, 1, 1, 1]
    assert t["share_emitting"].tolist() == [0.0, 0.5, 1.0, 1.0, 0.5]
    assert t["mean_predicted"].iloc[1] == pytest.approx(0.125)
    assert t["bin"].iloc[-1] == "[0.95, 1.00]"  # the last bin holds p = 1
    assert t["n"].sum() == len(p)
    empty = reliability_table([0.5], [1], bins=(0.0, 0.2, 1.0))
    assert empty["n"].tolist() == [0, 1] and math.isnan(empty["share_emitting"].iloc[0])


def test_visit_budget_expected_and_at_least_one():
    b = visit_budget([0.9, 0.5, 0.2, 0.1], 3)
    assert b["visits"] == 3
    assert b["expected_emitters"] == pytest.approx(1.6)
    assert b["p_at_least_one"] == pytest.approx(1 - 0.1 * 0.5 * 0.8)
    assert visit_budget([0.3], 5)["visits"] == 1
    assert visit_budget([0.3], 0) == {"visits": 0, "expected_emitters": 0.0, "p_at_least_one": 0.0}
    with pytest.raises(ValueError):
        visit_budget([0.3], -1)


def test_visit_budget_recalibrated_keeps_the_models_figures():
    p = [1.0, 0.99, 0.5, 0.0]
    b = visit_budget(p, 3, VISIT_CALIBRATION)
    q = apply_platt(np.array(p[:3]), *VISIT_CALIBRATION)
    assert b["expected_emitters"] == pytest.approx(q.sum())
    assert b["p_at_least_one"] == pytest.approx(1 - np.prod(1 - q))
    assert b["expected_emitters_model"] == pytest.approx(2.49) and b["p_at_least_one_model"] == pytest.approx(1.0)
    assert b["calibration"] == {"method": "platt", "a": VISIT_CALIBRATION[0], "b": VISIT_CALIBRATION[1]}
    # the dev-fitted calibration lowers certainty: 1.0 → about 0.9, 0.99 → about 0.4, order kept
    assert 0.85 < q[0] < 0.95 and 0.3 < q[1] < 0.5 and q[0] > q[1] > q[2]
    assert visit_budget([], 3, VISIT_CALIBRATION)["expected_emitters"] == 0.0


def test_mark_visits_with_calibration_writes_visit_probability_in_row_order():
    df = pd.DataFrame({"rank": [2, 1, 3], "enterprise_id": ["E2", "E1", "E3"], "emit_probability": [0.5, 1.0, np.nan]})
    out, s = mark_visits(df, 2, VISIT_CALIBRATION)
    vp = out.set_index("enterprise_id")["visit_probability"]
    assert vp["E1"] == pytest.approx(apply_platt(np.array([1.0]), *VISIT_CALIBRATION)[0], abs=1e-4)
    assert vp["E2"] == pytest.approx(apply_platt(np.array([0.5]), *VISIT_CALIBRATION)[0], abs=1e-4)
    assert vp["E3"] == pytest.approx(apply_platt(np.array([0.0]), *VISIT_CALIBRATION)[0], abs=1e-4)
    assert s["expected_emitters"] == pytest.approx(vp["E1"] + vp["E2"], abs=1e-3)
    assert s["expected_emitters_model"] == pytest.approx(1.5)


def test_precision_at_budget():
    assert precision_at(["a", "b", "c", "d", "e", "f"], {"a", "e", "z"}, 5) == pytest.approx(0.4)
    assert math.isnan(precision_at([], {"a"}, 5))


def test_mark_visits_marks_the_first_k_by_rank():
    df = pd.DataFrame({"rank": [2, 1, 3], "enterprise_id": ["E2", "E1", "E3"], "emit_probability": [0.5, 0.9, np.nan]})
    out, s = mark_visits(df, 2)
    assert out.set_index("enterprise_id")["visit"].to_dict() == {"E1": True, "E2": True, "E3": False}
    assert s["enterprise_ids"] == ["E1", "E2"]
    assert s["expected_emitters"] == pytest.approx(1.4) and s["p_at_least_one"] == pytest.approx(0.95)
    assert mark_visits(df, 10)[0]["visit"].all()


def test_targets_cli_marks_visits(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import ecopatrol.cli_evidence as ce
    import ecopatrol.processing.targeting as tg
    from ecopatrol.cli import app

    ranked = pd.DataFrame({"rank": [1, 2, 3], "enterprise_id": ["E1", "E2", "E3"], "name": ["a", "b", "c"],
                           "score": [0.9, 0.5, 0.1], "reasons": ["x", "y", "z"], "emit_probability": [0.8, 0.5, 0.0]})
    monkeypatch.setattr(tg, "rank_targets", lambda *a, **k: ranked.copy())
    monkeypatch.setattr(ce, "_area_for_targets", lambda *a, **k: None)
    out = tmp_path / "targets.csv"
    r = CliRunner().invoke(app, ["targets", str(tmp_path), "--out", str(out), "--visits", "2"])
    assert r.exit_code == 0, r.output
    # one evidence folder: the budget's figures from the recalibrated probabilities, the model's beside them
    assert "expected emitters among them 0.14, P(at least one emits) 0.14" in r.output
    assert "the model's own figures 1.30 and 0.90" in r.output
    t = pd.read_csv(out, encoding="utf-8-sig")
    assert t["visit"].tolist() == [True, True, False]
    assert t["visit_probability"].tolist() == pytest.approx([0.0967, 0.0465, 0.0003], abs=2e-4)
    r = CliRunner().invoke(app, ["targets", str(tmp_path), "--out", str(out), "--visits", "-1"])
    assert r.exit_code != 0


def test_platt_recalibration_repairs_an_overconfident_forecast():
    from ecopatrol.processing.calibration import apply_platt, fit_platt

    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.02, 0.6, 4000)
    y = rng.uniform(size=true_p.size) < true_p
    # an overconfident forecaster: logit stretched ×2.5
    lt = np.log(true_p / (1 - true_p))
    forecast = 1 / (1 + np.exp(-2.5 * lt))
    a, b = fit_platt(forecast, y)
    assert a == pytest.approx(0.4, abs=0.08)
    fixed = apply_platt(forecast, a, b)
    assert brier_score(fixed, y) < brier_score(forecast, y)
    assert np.allclose(apply_platt([0.2, 0.7], 1.0, 0.0), [0.2, 0.7], atol=1e-9)
