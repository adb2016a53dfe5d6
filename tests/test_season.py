"""Targets over several survey days (processing.season) and the persistent simulated world
(missions.persistent): an intermittent emitter is still found, clean covered days count against a
firm only where the samples covered it, and the same hidden emitters persist across runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from plume_world import make_area

from ecopatrol.core.errors import InputError
from ecopatrol.processing.season import (CLEAN_DAY_FACTOR, DAY_CORRELATION, DAY_MAX, SEASON_PRIOR, rank_season,
                                         season_model, survey_day)
from ecopatrol.processing.targeting import rank_targets

DATES = ["2026-05-11", "2026-05-12", "2026-05-13"]


def evidence_folder(root, date: str, pips: dict[str, float]):
    """A minimal evidence folder: evidence.json with the survey date and rates.csv's probabilities."""
    d = root / date
    d.mkdir(parents=True)
    (d / "evidence.json").write_text(json.dumps({"start_utc": f"{date}T01:00:00Z", "end_utc": f"{date}T04:00:00Z"}))
    (d / "attribution.csv").write_text("")
    ids = [f"E{i:02d}" for i in range(9)]
    pd.DataFrame({"source_id": [f"{e}-S1" for e in ids], "enterprise_id": ids, "rate_g_s": 0.0,
                  "pip": [pips.get(e, 0.0) for e in ids],
                  "enterprise_pip": [pips.get(e, 0.0) for e in ids]}).to_csv(d / "rates.csv", index=False)
    return d


@pytest.fixture()
def days(tmp_path):
    # E07 emits on the first day only; E01 and E03 (printing, same registry risk as E05) are never seen
    return [evidence_folder(tmp_path, DATES[0], {"E07": 0.9}), evidence_folder(tmp_path, DATES[1], {}),
            evidence_folder(tmp_path, DATES[2], {})]


def all_covered(ids=("E00", "E01", "E02", "E03", "E04", "E05", "E06", "E07", "E08")):
    return {e: True for e in ids}


def test_an_emitter_seen_on_one_day_only_still_ranks_first_and_the_reasons_say_when(days):
    area = make_area()
    t = rank_season(days, area, coverage=[all_covered()] * 3).set_index("enterprise_id")
    assert t.loc["E07", "rank"] == 1
    # one day never gives its own certainty (DAY_MAX: errors the day's samples share), and its two
    # covered clean days lower it; before the season model this was 0.9, "on at least one day",
    # whatever the clean days — the saturation of issue 19
    p = season_model(np.array([[0.9, 0.0, 0.0]]), np.ones((1, 3), bool))["probability"][0]
    assert t.loc["E07", "emit_probability"] == pytest.approx(p, abs=1e-4) and 0.4 < p < DAY_MAX
    r = t.loc["E07", "reasons"]
    assert "seen emitting on 1 of 3 days: 2026-05-11 (0.90)" in r and "intermittent" in r
    assert "emits on some of the days with probability" in r and "2 covered clean" in r
    assert t.loc["E07", "days_emitting"] == "2026-05-11" and t.loc["E07", "n_days_emitting"] == 1
    # still far ahead of every firm without evidence; below its one-day score (the clean days count)
    one = rank_targets(days[0], area).set_index("enterprise_id")
    assert t.loc["E07", "score"] < one.loc["E07", "score"]
    assert t.loc["E07", "score"] > 5 * t.drop(index="E07")["score"].max()
    # not covered on the other days: they say nothing, and the day's evidence stays (capped)
    u = rank_season(days, area, coverage=[None] * 3).set_index("enterprise_id")
    assert p < u.loc["E07", "emit_probability"] <= DAY_MAX + 0.01


def test_a_firm_clean_on_three_covered_days_ranks_below_one_never_covered(days):
    area = make_area()
    cov = [{"E03": True}] * 3  # only E03 was covered; E05 (same industry, same record) never
    t = rank_season(days, area, coverage=cov).set_index("enterprise_id")
    assert t.loc["E03", "rank"] > t.loc["E05", "rank"]
    assert t.loc["E03", "score"] == pytest.approx(t.loc["E05", "score"] * CLEAN_DAY_FACTOR ** 3, rel=1e-3, abs=1e-4)
    assert t.loc["E03", "n_days_clean_covered"] == 3
    assert "covered and clean on 3 day(s): 2026-05-11, 2026-05-12, 2026-05-13" in t.loc["E03", "reasons"]
    # unknown coverage (folders outside a run folder, no coverage given) never counts against a firm
    u = rank_season(days, area).set_index("enterprise_id")
    assert u.loc["E03", "score"] == pytest.approx(u.loc["E05", "score"])


def test_repeated_moderate_evidence_adds_up_over_days(tmp_path):
    area = make_area()
    ds = [evidence_folder(tmp_path, d, {"E05": 0.5, "E07": 0.8 if i == 0 else 0.0}) for i, d in enumerate(DATES)]
    t = rank_season(ds, area, coverage=[all_covered()] * 3).set_index("enterprise_id")
    # three days of 0.5 (not "at least one day", 1 − 0.5³ = 0.875, as before): three likelihood
    # ratios of odds(0.5) / odds(prior) each, counted as 3 / (1 + 2 r) independent days
    p = season_model(np.full((1, 3), 0.5), np.ones((1, 3), bool))["probability"][0]
    assert t.loc["E05", "emit_probability"] == pytest.approx(p, abs=1e-4) and p > 0.95
    assert t.loc["E05", "rank"] == 1 and t.loc["E07", "rank"] == 2
    assert "seen emitting on every day" in t.loc["E05", "reasons"]


def test_days_are_ordered_by_date_and_errors_are_clear(days, tmp_path):
    area = make_area()
    t = rank_season(list(reversed(days)), area, coverage=[None] * 3)
    assert t.set_index("enterprise_id").loc["E07", "reasons"].startswith("seen emitting on 1 of 3 days: 2026-05-11")
    assert survey_day(days[1]) == "2026-05-12"
    with pytest.raises(InputError, match="at least one evidence folder"):
        rank_season([], area)
    with pytest.raises(InputError, match="coverage maps"):
        rank_season(days, area, coverage=[None])


def test_cli_targets_combines_several_folders(days, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ecopatrol.cli import app

    area = make_area()
    monkeypatch.setattr("ecopatrol.core.area.load_area", lambda _: area)
    out = tmp_path / "t.csv"
    r = CliRunner().invoke(app, ["targets", *map(str, days), "--area", "x", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["n_targets"] == 9 and doc["top"][0]["enterprise_id"] == "E07"
    df = pd.read_csv(out, dtype={"enterprise_id": str})
    assert {"n_days", "days_emitting"} <= set(df.columns) and (df["n_days"] == 3).all()


# --- the persistent world --------------------------------------------------------------------


def test_the_same_emitters_persist_across_runs_and_emit_on_some_days(tmp_path):
    from sim_support import drone_plan, van_plan, write_plans

    from ecopatrol.missions.simulate import simulate
    from sim_support import make_area as sim_area

    plans = write_plans(tmp_path / "plans", drone=drone_plan(), van=van_plan())
    area = sim_area()
    spec = [{"source_id": "E1-S1", "rate_g_s": 2.0}, {"enterprise_id": "E3", "p_emit": 0.5}]
    seen = []
    for seed in range(6):
        res = simulate(area, plans, tmp_path / f"d{seed}", seed=seed, emitters=spec)
        t = res.truth
        active = {e["source_id"] for e in t["emitters"]}
        dormant = {e["source_id"] for e in t["dormant_emitters"]}
        assert active | dormant == {"E1-S1", "E3-S1"} and not active & dormant
        assert "E1-S1" in active  # p_emit 1 by default: every day
        assert next(e for e in t["emitters"] if e["source_id"] == "E1-S1")["rate_g_s"] == 2.0
        seen.append("E3-S1" in active)
    assert 0 < sum(seen) < 6  # the intermittent one emits on some days, not all
    # the world of the first day, from its truth.json, is the same world
    again = simulate(area, plans, tmp_path / "again", seed=3, emitters=tmp_path / "d0" / "truth.json")
    first = json.loads((tmp_path / "d3" / "truth.json").read_text())
    assert [(e["source_id"], e["rate_g_s"]) for e in again.truth["emitters"]] == \
        [(e["source_id"], e["rate_g_s"]) for e in first["emitters"]]
    with pytest.raises(InputError, match="neither a source id nor an enterprise id"):
        simulate(area, plans, tmp_path / "bad", seed=0, emitters=["NOPE"])
    assert np.isfinite(res.emitters["rate_g_s"]).all()


# --- a simulated month: intermittent emitters, per-firm histories -------------------------------


def test_a_month_of_intermittent_emitters_finds_them_and_clean_days_count(tmp_path):
    """30 survey days, two vans a day (two folders per date, combined into one day): E07 emits on
    3 days, seen by one van; E02 on 10 days, weakly (0.3 a sighting); E03 is covered and clean all
    month; E05 (same registry record as E03) is never covered."""
    from ecopatrol.processing.season import HISTORY_COLUMNS, season_targets

    area = make_area()
    rng = np.random.default_rng(5)
    dates = [f"2026-06-{d:02d}" for d in range(1, 31)]
    e07_days = set(rng.choice(30, 3, replace=False).tolist())
    e02_days = set(rng.choice(30, 10, replace=False).tolist())
    folders, cov = [], []
    for i, date in enumerate(dates):
        for van in ("van01", "van02"):
            pips = {}
            if i in e07_days and van == "van01":
                pips["E07"] = 0.9
            if i in e02_days and van == "van02":
                pips["E02"] = 0.3
            folders.append(evidence_folder(tmp_path / van, date, pips))
            cov.append({"E03": True, "E07": van == "van01", "E02": True})
    res = season_targets(folders, area, coverage=cov)
    t = res.targets.set_index("enterprise_id")
    # both found, whatever the clean days; their order is the season model's (ten weak days at 0.3
    # weigh about as much as three strong ones: log10 BF 4.3 and 4.0), no longer the union's
    assert {t.loc["E07", "rank"], t.loc["E02", "rank"]} == {1, 2}
    assert t.loc["E07", "n_days"] == 30 and t.loc["E07", "n_days_emitting"] == 3
    assert t.loc["E07", "emit_probability"] > 0.98  # three sightings: 27 clean covered days do not wash it out
    assert t.loc["E02", "emit_probability"] > 0.95  # weak sightings on 10 days add up
    assert min(t.loc["E07", "season_log10_bf"], t.loc["E02", "season_log10_bf"]) > 3
    assert t.loc["E03", "n_days_clean_covered"] == 30 and t.loc["E03", "score"] < t.loc["E05", "score"]
    h = res.history
    assert list(h.columns) == HISTORY_COLUMNS and len(h) == 9 * 30  # one row per firm per day
    assert (h["n_folders"] == 2).all()
    h7 = h[h["enterprise_id"] == "E07"].set_index("date")
    assert set(h7.index[h7["status"] == "emitting"]) == {dates[i] for i in e07_days}
    assert (h7.loc[[d for i, d in enumerate(dates) if i not in e07_days], "status"] == "clean").all()
    h5 = h[h["enterprise_id"] == "E05"]
    assert (h5["status"] == "not covered").all() and not h5["covered"].astype(bool).any()
    h2 = h[h["enterprise_id"] == "E02"].set_index("date")
    assert set(h2.index[h2["status"] == "weak"]) == {dates[i] for i in e02_days}


def _ledger(rows):
    """A LedgerAdjustment from on-site rows ``(enterprise_id, YYYY-MM-DD, result)`` (no suspicious surveys)."""
    from ecopatrol.processing.ledger.learning import LedgerAdjustment, outcome_counts

    ch = pd.DataFrame({"id": range(len(rows)), "enterprise_id": [r[0] for r in rows],
                       "time_utc": pd.to_datetime([r[1] for r in rows], utc=True), "kind": "on-site",
                       "result": [r[2] for r in rows]})
    oc = outcome_counts(ch, ref="2026-06-30")
    up = pd.DataFrame({"enterprise_id": list(oc.index), "last_inspected": list(oc["last_on_site"]),
                       "violations_3y": list(oc["violations_ledger_3y"])})
    return LedgerAdjustment(oc, up)


def test_a_confirmed_violation_answers_the_evidence_of_the_days_before_it(tmp_path):
    area = make_area()
    # E07 seen on day 1, visited after day 1 (violation confirmed, fixed); E05 seen on day 1 and day 3
    ds = [evidence_folder(tmp_path, DATES[0], {"E07": 0.9, "E05": 0.6}), evidence_folder(tmp_path, DATES[1], {}),
          evidence_folder(tmp_path, DATES[2], {"E05": 0.6})]
    plain = rank_season(ds, area, coverage=[all_covered()] * 3).set_index("enterprise_id")
    led = _ledger([("E07", "2026-05-11", "violation confirmed"), ("E05", "2026-05-11", "violation confirmed")])
    t = rank_season(ds, area, coverage=[all_covered()] * 3, ledger=led).set_index("enterprise_id")
    # two sightings at 0.6 outrank one at 0.9 (before the season model E07 was first: 0.90 > 1 − 0.4²)
    assert plain.loc["E05", "rank"] == 1 and plain.loc["E07", "rank"] == 2
    assert t.loc["E07", "evidence_score"] == 0.0  # its only evidence is answered: the visit found it
    assert "answered by the violation confirmed on site" in t.loc["E07", "reasons"]
    # day 3 came after the visit: it counts (day 1 is answered: neither evidence nor a clean day)
    p = season_model(np.array([[0.6, 0.0, 0.6]]), np.ones((1, 3), bool),
                     answered=np.array([[True, False, False]]))["probability"][0]
    assert t.loc["E05", "evidence_score"] == pytest.approx(p, abs=1e-4)
    assert t.loc["E05", "evidence_score"] < plain.loc["E05", "evidence_score"]
    assert t.loc["E05", "rank"] == 1
    # a clean visit answers nothing (it only lowers the weight of the evidence it followed up)
    clean = rank_season(ds, area, coverage=[all_covered()] * 3,
                        ledger=_ledger([("E07", "2026-05-12", "clean")])).set_index("enterprise_id")
    assert clean.loc["E07", "evidence_score"] > 0.0


def test_a_clean_visit_after_the_rankings_own_evidence_lowers_it_without_a_suspicious_ledger_check(tmp_path):
    """The simulated month (issue 18): the ranking's evidence for a firm came from the attribution over
    all samples where the ledger's coverage test recorded no suspicious check; the brigade visited it
    on that evidence and found it clean. The visit is a false alarm of that evidence (× 1/2, as a
    clean follow-up of a recorded suspicion), not ignored — before, the firm kept its full evidence
    and came back to the top once the revisit window ended (seed 0 of the month: twice clean)."""
    area = make_area()
    ds = [evidence_folder(tmp_path, DATES[0], {"E07": 0.9, "E05": 0.6}), evidence_folder(tmp_path, DATES[1], {}),
          evidence_folder(tmp_path, DATES[2], {})]
    plain = rank_season(ds, area, coverage=[all_covered()] * 3).set_index("enterprise_id")
    t = rank_season(ds, area, coverage=[all_covered()] * 3,
                    ledger=_ledger([("E07", "2026-05-12", "clean"), ("E05", DATES[0], "clean")])).set_index("enterprise_id")
    assert t.loc["E07", "evidence_score"] == pytest.approx(plain.loc["E07", "evidence_score"] / 2, abs=1e-4)
    assert "1 clean on-site follow-up(s)" in t.loc["E07", "reasons"]
    assert t.loc["E05", "evidence_score"] == pytest.approx(plain.loc["E05", "evidence_score"] / 2, abs=1e-4)  # same day
    # a clean visit before any evidence day, or long after it (> FOLLOW_UP_DAYS), follows up nothing
    early = rank_season(ds, area, coverage=[all_covered()] * 3,
                        ledger=_ledger([("E07", "2026-04-01", "clean")])).set_index("enterprise_id")
    assert early.loc["E07", "evidence_score"] == pytest.approx(plain.loc["E07", "evidence_score"])
    # a clean visit the ledger already matched to a suspicious off-site check counts once, not twice
    from ecopatrol.processing.ledger.learning import LedgerAdjustment, outcome_counts

    ch = pd.DataFrame({"id": [0, 1], "enterprise_id": ["E07", "E07"],
                       "time_utc": pd.to_datetime([DATES[0], "2026-05-12"], utc=True),
                       "kind": ["off-site", "on-site"], "result": ["suspicious", "clean"]})
    oc = outcome_counts(ch, ref="2026-06-30")
    led = LedgerAdjustment(oc, pd.DataFrame({"enterprise_id": list(oc.index), "last_inspected": list(oc["last_on_site"]),
                                             "violations_3y": list(oc["violations_ledger_3y"])}))
    once = rank_season(ds, area, coverage=[all_covered()] * 3, ledger=led).set_index("enterprise_id")
    assert once.loc["E07", "evidence_score"] == pytest.approx(t.loc["E07", "evidence_score"], abs=1e-4)


# --- online-monitoring alarms over several days ----------------------------------------------------
def _alarm(e, start, kind="exceedance", strength=0.6):
    s = pd.Timestamp(start)
    return {"alarm_id": "", "enterprise_id": e, "enterprise_known": True, "mn": f"MN-{e}", "monitor_kind": "stack",
            "outlet_id": "", "kind": kind, "start_utc": s, "end_utc": s + pd.Timedelta(hours=1), "duration_min": 60.0,
            "pollutant_code": "a24088", "value": 80.0, "limit_value": 50.0, "unit": "mg/m3",
            "values": "hourly averages 80 mg/m3", "rule": "", "standard": "permit", "clause": "",
            "limit_verified": False, "strength": strength, "details": ""}


@pytest.fixture()
def alarm_days(tmp_path):
    # E04, E05, E06 emit on the second day only; E03 is never seen
    ds = [evidence_folder(tmp_path, DATES[0], {}), evidence_folder(tmp_path, DATES[1], {"E04": 0.5, "E05": 0.5,
                                                                                       "E06": 0.5}),
          evidence_folder(tmp_path, DATES[2], {})]
    alarms = pd.DataFrame([
        _alarm("E05", "2026-05-12T02:00Z"),   # during the hours of the day the survey found its plume
        _alarm("E04", "2026-05-20T02:00Z"),   # on no survey day
        _alarm("E06", "2026-05-11T02:00Z"),   # during a survey day that did not find its plume
        _alarm("E03", "2026-05-20T02:00Z"),   # a firm no survey found
    ])
    return ds, alarms


def test_alarms_combine_with_the_season_once_and_are_stronger_on_the_day_the_firm_emitted(alarm_days):
    from ecopatrol.processing.monitor.evidence import COINCIDENCE_POWER

    area = make_area()
    ds, alarms = alarm_days
    cov = [all_covered()] * 3
    base = rank_season(ds, area, coverage=cov).set_index("enterprise_id")
    t = rank_season(ds, area, coverage=cov, alarms=alarms).set_index("enterprise_id")
    season = base.loc["E04", "emit_probability"]
    assert season > 0.1 and base.loc[["E04", "E05", "E06"], "emit_probability"].nunique() == 1
    # the samples' season evidence is untouched; the alarm is one independent line over the season
    np.testing.assert_allclose(t["emit_probability"], base.loc[t.index, "emit_probability"])
    assert t.loc["E04", "evidence_score"] == pytest.approx(1 - (1 - season) * (1 - 0.6), abs=1e-3)
    assert t.loc["E06", "evidence_score"] == pytest.approx(t.loc["E04", "evidence_score"], abs=1e-4)
    coincident = 1 - (1 - 0.6) ** COINCIDENCE_POWER
    assert t.loc["E05", "evidence_score"] == pytest.approx(1 - (1 - season) * (1 - coincident), abs=1e-3)
    assert t.loc["E05", "rank"] < t.loc["E04", "rank"] and t.loc["E05", "score"] > t.loc["E04", "score"]
    # a firm the samples never found: its alarm alone, counted once (not once per survey day)
    assert t.loc["E03", "evidence_score"] == pytest.approx(0.6, abs=1e-3)
    assert t.loc["E03", "score"] > base.loc["E03", "score"]
    # the reasons cite the alarms, when, and the day they coincided with
    r5, r4, r3 = (t.loc[e, "reasons"] for e in ("E05", "E04", "E03"))
    assert "online monitoring: 1 alarm(s)" in r5 and "during the survey hours of 2026-05-12" in r5
    assert "2026-05-12 10:00–11:00" in r5  # local time of the alarm
    assert "online monitoring: 1 alarm(s)" in r4 and "during the survey" not in r4 and "2026-05-20" in r4
    assert "during the survey" not in t.loc["E06", "reasons"]
    assert "online monitoring: 1 alarm(s)" in r3 and "seen emitting" not in r3
    # the other firms are as they were
    same = [e for e in t.index if e not in ("E03", "E04", "E05", "E06")]
    np.testing.assert_allclose(t.loc[same, "score"], base.loc[same, "score"])


def test_alarms_up_to_a_confirmed_violation_are_answered_with_its_days(tmp_path):
    area = make_area()
    ds = [evidence_folder(tmp_path, d, {}) for d in DATES]
    alarms = pd.DataFrame([_alarm("E07", "2026-05-11T02:00Z"), _alarm("E05", "2026-05-11T02:00Z"),
                           _alarm("E05", "2026-05-13T02:00Z", kind="treatment_stopped")])
    led = _ledger([("E07", "2026-05-12", "violation confirmed"), ("E05", "2026-05-12", "violation confirmed")])
    t = rank_season(ds, area, coverage=[all_covered()] * 3, ledger=led, alarms=alarms).set_index("enterprise_id")
    assert t.loc["E07", "evidence_score"] == 0.0
    assert "1 alarm(s) up to the violation confirmed on site answered by it" in t.loc["E07", "reasons"]
    assert t.loc["E05", "evidence_score"] == pytest.approx(0.6, abs=1e-3)  # the later alarm counts
    assert "treatment stopped" in t.loc["E05", "reasons"]


def test_cli_targets_several_folders_with_alarms(alarm_days, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ecopatrol.cli import app
    from ecopatrol.processing.monitor.alarms import AlarmResult, write_alarms
    from ecopatrol.processing.monitor.rules import AlarmRules

    area = make_area()
    ds, alarms = alarm_days
    monkeypatch.setattr("ecopatrol.core.area.load_area", lambda _: area)
    a_csv = write_alarms(AlarmResult(alarms, pd.DataFrame(), pd.DataFrame(), pd.Timestamp(DATES[0], tz="UTC"),
                                     pd.Timestamp(DATES[2], tz="UTC"), AlarmRules()), tmp_path / "alarms.csv")
    out = tmp_path / "t.csv"
    r = CliRunner().invoke(app, ["targets", *map(str, ds), "--area", "x", "--alarms", str(a_csv), "--out", str(out),
                                 "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    top = {row["enterprise_id"]: row for row in doc["top"]}
    assert doc["n_targets"] == 9 and doc["top"][0]["enterprise_id"] == "E05"
    assert "during the survey hours of 2026-05-12" in top["E05"]["reasons"]
    assert top["E05"]["n_days"] == 3 and top["E05"]["days_emitting"] == "2026-05-12"
    df = pd.read_csv(out, dtype={"enterprise_id": str}).set_index("enterprise_id")
    assert df.loc["E05", "evidence_score"] == pytest.approx(top["E05"]["evidence_score"])
    assert (out.parent / "history.csv").is_file()
    # the same ranking as the library's
    lib = rank_season(ds, area, alarms=a_csv).set_index("enterprise_id")
    np.testing.assert_allclose(df["score"].sort_index(), lib["score"].sort_index(), atol=1e-4)



# --- the season model's arithmetic ------------------------------------------------------------


def _p(e, covered=True):
    e = np.atleast_2d(np.asarray(e, float))
    return season_model(e, np.full(e.shape, covered))


def test_a_firm_seen_on_k_of_n_days_outranks_one_seen_on_one_and_more_days_count_more():
    n = 12
    one = _p([1.0] + [0.0] * (n - 1))  # seen once, at the day's certainty, 11 covered clean days
    bf, prob = [], []
    for k in range(1, 7):
        r = _p([0.9] * k + [0.0] * (n - k))
        bf.append(r["log10_bf"][0])
        prob.append(r["probability"][0])
    assert np.all(np.diff(bf) > 0.3) and np.all(np.diff(prob) > 0)  # every further sighting counts
    assert prob[1] > one["probability"][0] and prob[2] > 0.99 > one["probability"][0]
    # a firm seen on 1 day of 12 at 1.00 no longer ties with one seen on 6 days at 0.9 (it did: both 1.00)
    assert prob[5] - one["probability"][0] > 0.4
    # the days of one firm are not independent: k days count as k / (1 + (k − 1) r)
    r = _p([0.9] * 4)
    assert r["n_independent"][0] == pytest.approx(4 / (1 + 3 * DAY_CORRELATION))
    indep = season_model(np.full((1, 4), 0.9), np.ones((1, 4), bool), correlation=0.0)
    assert indep["log10_bf"][0] > r["log10_bf"][0]


def test_a_clean_covered_day_lowers_an_uncovered_one_does_not():
    seen = [0.8, 0.0, 0.0]
    covered = season_model(np.array([seen]), np.array([[True, True, True]]))["probability"][0]
    half = season_model(np.array([seen]), np.array([[True, True, False]]))["probability"][0]
    uncovered = season_model(np.array([seen]), np.array([[True, False, False]]))["probability"][0]
    assert covered < half < uncovered == pytest.approx(_p([0.8])["probability"][0])
    # and the lowering is bounded: the firm may emit on a small fraction of days
    many = season_model(np.array([[0.8] + [0.0] * 29]), np.ones((1, 30), bool))["probability"][0]
    assert 0.05 < many < covered
    # no evidence at all: probability 0 (no survey evidence; registry risk ranks it), however covered
    assert _p([0.0, 0.0, 0.0])["probability"][0] == 0.0 and _p([0.0, 0.0])["log10_bf"][0] < 0
    # answered days count for nothing, neither as evidence nor as clean
    ans = season_model(np.array([[0.9, 0.0]]), np.ones((1, 2), bool), answered=np.array([[True, True]]))
    assert ans["probability"][0] == 0.0 and ans["log10_bf"][0] == pytest.approx(0.0, abs=1e-9)


def test_no_single_day_gives_certainty():
    for e in (0.99, 0.999999, 1.0):
        p = _p([e])["probability"][0]
        assert p < 0.8 and p == pytest.approx(_p([DAY_MAX])["probability"][0])
    # at the season model's own day prior a capped day gives about DAY_MAX (the day's posterior, read again)
    assert _p([1.0])["probability"][0] == pytest.approx(DAY_MAX, abs=0.02)
    # a weaker day keeps about its own probability: p ≈ e under the same prior
    assert _p([0.3])["probability"][0] == pytest.approx(0.3, abs=0.03)
    # a day whose analysis gave each firm a higher prior says less
    assert season_model(np.array([[1.0]]), np.ones((1, 1), bool), day_prior=0.05)["probability"][0] < \
        _p([1.0])["probability"][0]
    assert SEASON_PRIOR < 0.05


def test_one_day_of_two_vans_at_certainty_is_still_one_day(tmp_path):
    """Two folders of the same date (two vans) share that day's wind and stability: their union is
    one day, capped, not two sightings."""
    area = make_area()
    ds = [evidence_folder(tmp_path / v, DATES[0], {"E07": 1.0}) for v in ("van01", "van02")]
    ds.append(evidence_folder(tmp_path / "van01", DATES[1], {"E05": 1.0}))
    ds.append(evidence_folder(tmp_path / "van01", DATES[2], {"E05": 1.0}))
    t = rank_season(ds, area, coverage=[None] * 4).set_index("enterprise_id")
    assert t.loc["E07", "n_days_emitting"] == 1 and t.loc["E07", "emit_probability"] < 0.8
    assert t.loc["E05", "emit_probability"] > 0.95 and t.loc["E05", "rank"] == 1 and t.loc["E07", "rank"] == 2



def test_each_days_alarms_count_in_the_season_as_in_that_days_own_ranking(days):
    """A firm flagged by its data logger on a survey day (and seen by no plume) keeps that day's alarm
    evidence over the season — the day's own ranking (`targets --alarms`) had it; the season's
    must not drop it (the simulated month visited elsewhere while its day-3 targets.csv ranked the
    alarmed firm first)."""
    area = make_area()
    s = pd.Timestamp(f"{DATES[1]}T02:00Z")
    alarm = pd.DataFrame([{"alarm_id": "A1", "enterprise_id": "E03", "enterprise_known": True, "mn": "MN-E03",
                           "monitor_kind": "treatment_meter", "outlet_id": "", "kind": "treatment_stopped",
                           "start_utc": s, "end_utc": s + pd.Timedelta(hours=1), "duration_min": 60.0,
                           "pollutant_code": "", "value": 0.4, "limit_value": 1.9, "unit": "kW", "values": "",
                           "rule": "", "standard": "", "clause": "", "limit_verified": False, "strength": 0.6,
                           "details": ""}])
    cov = [all_covered()] * 3
    day2 = rank_targets(days[1], area, alarms=alarm).set_index("enterprise_id")
    assert day2.loc["E03", "rank"] == 1
    with_alarms = rank_season(days, area, coverage=cov, alarms=[None, alarm, None]).set_index("enterprise_id")
    without = rank_season(days, area, coverage=cov).set_index("enterprise_id")
    # one alarms file per day, taken together: the alarm counts once over the season, beside the samples'
    # probability (emit_probability stays the samples' own)
    assert with_alarms.loc["E03", "evidence_score"] > 0.3 and without.loc["E03", "evidence_score"] == 0.0
    assert with_alarms.loc["E03", "emit_probability"] == 0.0
    assert with_alarms.loc["E03", "rank"] < without.loc["E03", "rank"]
    assert "online monitoring" in with_alarms.loc["E03", "reasons"]
    assert with_alarms.loc["E07", "emit_probability"] == without.loc["E07", "emit_probability"]  # the others as they were
    # the same alarm listed on two days counts once
    twice = rank_season(days, area, coverage=cov, alarms=[alarm, alarm, None]).set_index("enterprise_id")
    assert twice.loc["E03", "evidence_score"] == pytest.approx(with_alarms.loc["E03", "evidence_score"])
