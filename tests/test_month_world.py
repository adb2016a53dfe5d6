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


# --- the month's survey-day targets: the CLI planners' path (issue 18, the drone's fallback) ---------------

def _ranked(ids):
    import pandas as pd

    return pd.DataFrame({"enterprise_id": ids, "rank": range(1, len(ids) + 1), "evidence_score": [0.0] * len(ids)})


def _near_far(area):
    from ecopatrol.pipeline import near_launch_sites

    ids = area.enterprises["enterprise_id"].astype(str).drop_duplicates().tolist()
    near, reach = set(near_launch_sites(area, ids, max_m=1000.0)), set(near_launch_sites(area, ids, max_m=2600.0))
    return sorted(near), [e for e in ids if e not in reach]


def test_day_targets_skip_recent_visits_and_answered_firms_unless_new_evidence(area):
    from ecopatrol.pipeline import day_targets_from_ranking

    near, _ = _near_far(area)
    ranked = _ranked(near[:6])
    ranked.loc[2, "evidence_score"] = 0.8  # answered, but seen emitting since the visit
    t = day_targets_from_ranking(area, ranked, skip=[near[0]], answered=[near[1], near[2]], drone_top=3, van_top=10)
    assert t.drone == [near[2], near[3], near[4], near[5]] and t.drone_ranks == [3, 4, 5, 6]
    assert t.van == t.drone and (t.drone_top, t.van_top) == (3, 10)
    assert not {near[0], near[1], near[2]} & set(t.drone_fallback)  # the fallback leaves out every answered firm


def test_drone_flies_further_down_the_ranking_when_the_top_is_out_of_reach(area):
    from ecopatrol.core.weather import Wind
    from ecopatrol.pipeline import day_targets_from_ranking, plan_day_drone

    near, far = _near_far(area)
    t = day_targets_from_ranking(area, _ranked(far[:12] + near[:4]), drone_top=3)
    plan, why = plan_day_drone(area, t, Wind(270.0, 4.0))
    assert why is None
    flown = [x for s in plan.sorties for x in s.targets]
    assert sorted(flown) == sorted(near[:3])  # ranks 13–15: the best-ranked it can reach, not the registry's
    assert {d["target_id"] for d in plan.targets_dropped} == set(far[:12])  # each out-of-reach one with its reason
    assert all("range from the pilot" in d["reason"] for d in plan.targets_dropped)


def test_drone_falls_back_to_registry_prior_not_answered_and_says_why(area):
    from ecopatrol.core.weather import Wind
    from ecopatrol.pipeline import DRONE_FALLBACK_NOTE, day_targets_from_ranking, initial_targets, plan_day_drone

    _, far = _near_far(area)
    first = initial_targets(area)[0]
    t = day_targets_from_ranking(area, _ranked(far[:8]), answered=[first[0]], drone_top=3)
    plan, why = plan_day_drone(area, t, Wind(270.0, 4.0))
    assert why and why.startswith(DRONE_FALLBACK_NOTE) and "range from the pilot" in why
    assert plan.warnings[0] == why  # in plan.json, for the operator
    flown = [x for s in plan.sorties for x in s.targets]
    assert len(flown) == 3 and first[0] not in flown and set(first[1:]) <= set(flown)


# --- the stationary world (bench_month --world-mode stationary, issue 18) ------------------------------

def test_stationary_world_keeps_its_live_count_over_weeks_as_firms_are_fixed(area):
    import numpy as np

    n, start = 6, date(2026, 6, 1)
    w = MonthWorld.stationary(area, seed=3, n=n, start=start)
    assert len(w.live(start)) == n and all(e["p_emit"] in DUTY_CYCLES for e in w.emitters.values())
    rng = np.random.default_rng(0)
    expected = []
    for week in range(1, 9):  # visits fix some live firms every week; each is replaced the next Monday
        monday = start + timedelta(days=7 * week)
        w.replenish(area, monday)
        live = w.emitting_firms(monday + timedelta(days=1))
        assert len(live) == n  # exactly n live at every survey day and visit, fixed firms excluded
        assert not live & set(w.fixed)
        expected.append(sum(e["p_emit"] for e in w.live(monday + timedelta(days=1))))
        for f in rng.choice(sorted(live), size=int(rng.integers(0, 4)), replace=False):
            w.fix(str(f), monday + timedelta(days=5))
    assert len(w.fixed) > n  # the population turned over more than once
    # the expected number emitting on a day stays within the duty cycles' bounds
    assert all(n * min(DUTY_CYCLES) <= x <= n * max(DUTY_CYCLES) for x in expected)


def test_stationary_replacements_do_not_depend_on_which_firms_were_fixed(area):
    start = date(2026, 6, 1)
    a = MonthWorld.stationary(area, seed=5, n=4, start=start)
    b = a.copy()
    assert a.emitters == MonthWorld.stationary(area, seed=5, n=4, start=start).emitters  # reproducible
    fa, fb = sorted(a.emitting_firms(start))[:2], sorted(a.emitting_firms(start))[2:]
    for f in fa:  # two arms: the same number of fixes, different firms (different plans and visits)
        a.fix(f, start + timedelta(days=5))
    for f in fb:
        b.fix(f, start + timedelta(days=5))
    na, nb = a.replenish(area, start + timedelta(days=7)), b.replenish(area, start + timedelta(days=7))
    assert [e["enterprise_id"] for e in na] == [e["enterprise_id"] for e in nb]  # nothing of the plans
    assert a.replenish(area, start + timedelta(days=14)) == []  # each fix replaced once


def test_stationary_world_is_drawn_by_the_sector_prior_not_where_plans_see(area):
    ent = area.enterprises.drop_duplicates("enterprise_id").set_index("enterprise_id")
    wt = {f: _industry_weight(ent.at[f, "industry"]) for f in set(area.sources["enterprise_id"].astype(str))}
    weighted = sum(v for v in wt.values() if v == 1.0) / sum(wt.values())
    picked = [e["enterprise_id"] for s in range(60)
              for e in MonthWorld.stationary(area, seed=s, n=8, start=D0).emitters.values()]
    share = sum(wt[f] == 1.0 for f in picked) / len(picked)
    assert share == pytest.approx(weighted, abs=0.07)
    # the day-1 registry targets are not favoured: their share among emitters is about their prior share
    from ecopatrol.pipeline import initial_targets

    t = initial_targets(area)
    day1 = set(t[0]) | set(t[1]) if isinstance(t, tuple) else set(t.drone) | set(t.van)
    prior_share = sum(wt.get(f, 0) for f in day1) / sum(wt.values())
    assert sum(f in day1 for f in picked) / len(picked) == pytest.approx(prior_share, abs=0.02)  # the seen world: ~all
