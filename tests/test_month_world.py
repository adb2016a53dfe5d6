"""The simulated month's world (missions.month): new emitters arrive by the registry prior's sector
weights, reproducibly; emitters start on their day and stop when fixed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ecopatrol.core.area import load_area
from ecopatrol.missions.month import DUTY_CYCLES, MonthWorld
from ecopatrol.processing.targeting import _industry_weight

D0 = date(2026, 6, 2)


@pytest.fixture(scope="module")
def area():
    return load_area("jimo")


def truth(area, n=3):
    src = area.sources.head(n)
    return {"emitters": [{"source_id": s, "enterprise_id": e, "rate_g_s": 1.0}
                         for s, e in zip(src["source_id"].astype(str), src["enterprise_id"].astype(str), strict=True)]}


def test_first_day_world_duty_cycles_start_and_fix(area):
    w = MonthWorld.from_truth(truth(area), seed=1, start=D0)
    assert [e["p_emit"] for e in w.emitters.values()] == list(DUTY_CYCLES[:3])
    assert w.live(D0 - timedelta(days=1)) == []  # not started yet
    firms = w.emitting_firms(D0)
    assert len(w.live(D0)) == 3
    gone = sorted(firms)[0]
    w.fix(gone, D0)
    assert gone not in w.emitting_firms(D0 + timedelta(days=1))
    assert all(e["enterprise_id"] != gone for e in w.live(D0 + timedelta(days=1)))


def test_arrivals_are_reproducible_start_within_the_week_and_are_new_firms(area):
    a, b = MonthWorld.from_truth(truth(area), seed=7, start=D0), MonthWorld.from_truth(truth(area), seed=7, start=D0)
    week = D0 + timedelta(days=6)
    na = a.add_arrivals(area, week, per_week=3.0)
    nb = b.copy().add_arrivals(area, week, per_week=3.0)
    assert na == nb  # the same seed and week draw the same firms: the ablation's arms share the world
    firms = [e["enterprise_id"] for e in a.emitters.values()]
    assert len(firms) == len(set(firms))  # a new emitter is a firm not emitting already
    for e in na:
        assert week <= e["start"] < week + timedelta(days=7) and e["p_emit"] in DUTY_CYCLES
        assert e["source_id"] in set(area.sources["source_id"].astype(str))
        assert e not in a.live(week - timedelta(days=1))


def test_arrivals_follow_the_sector_prior_and_reach_beyond_the_positive_list(area):
    picked = []
    for seed in range(150):  # many small worlds: the draws are close to independent
        picked += [e["enterprise_id"] for e in MonthWorld(seed=seed).add_arrivals(area, D0, per_week=4.0)]
    assert len(picked) > 500
    ent = area.enterprises.drop_duplicates("enterprise_id").set_index("enterprise_id")
    wt = {f: _industry_weight(ent.at[f, "industry"]) for f in set(area.sources["enterprise_id"].astype(str))}
    uniform = sum(v == 1.0 for v in wt.values()) / len(wt)  # priority-industry share of firms with a stack
    weighted = sum(v for v in wt.values() if v == 1.0) / sum(wt.values())  # … of the prior's weight
    share = sum(wt[f] == 1.0 for f in picked) / len(picked)
    assert weighted - uniform > 0.05
    assert share > (uniform + weighted) / 2  # drawn by the sector weights, not uniformly over firms
    assert share == pytest.approx(weighted, abs=0.06)
    assert any(not bool(ent.at[f, "positive_list"]) for f in picked)
