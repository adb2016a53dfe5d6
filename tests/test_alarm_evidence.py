"""Online-monitoring alarms as targeting evidence (issue 17 item 5): independent of the survey,
repeated alarms of one kind not counted as independent, coincidence with the survey's plume stronger
than either, the reasons cite them, and `targets --alarms`."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from plume_world import make_area

from ecopatrol.processing.monitor.evidence import COINCIDENCE_POWER, alarm_evidence
from ecopatrol.processing.targeting import rank_targets

SURVEY = ("2026-05-12T01:00:00Z", "2026-05-12T03:00:00Z")


def alarm(e, kind, start, hours=1.0, strength=0.6, **kw):
    s = pd.Timestamp(start)
    row = {"alarm_id": "", "enterprise_id": e, "enterprise_known": bool(e), "mn": f"MN-{e or 'X'}",
           "monitor_kind": "stack", "outlet_id": "", "kind": kind, "start_utc": s,
           "end_utc": s + pd.Timedelta(hours=hours), "duration_min": 60 * hours, "pollutant_code": "a24088",
           "value": 80.0, "limit_value": 50.0, "unit": "mg/m3", "values": "hourly averages 80 mg/m3", "rule": "",
           "standard": "permit", "clause": "", "limit_verified": False, "strength": strength, "details": ""}
    row.update(kw)
    return row


def frame(*rows):
    return pd.DataFrame(list(rows))


def survey(rates=None, events=None):
    """An evidence result with the sparse-attribution probabilities ``rates`` {firm: pip}."""
    rates = rates or {}
    r = pd.DataFrame({"source_id": [f"{e}-S1" for e in rates], "enterprise_id": list(rates),
                      "rate_g_s": [1.0] * len(rates), "pip": list(rates.values())})
    return SimpleNamespace(attribution=pd.DataFrame(), events=pd.DataFrame(events or {}), hotspots=pd.DataFrame(),
                           flux=pd.DataFrame(), rates=r, summary={"start_utc": SURVEY[0], "end_utc": SURVEY[1]})


def test_kinds_combine_as_independent_and_repeats_do_not():
    one = alarm_evidence(frame(alarm("E1", "exceedance", "2026-05-11T01:00Z")))["E1"].p_alarms
    repeated = alarm_evidence(frame(*[alarm("E1", "exceedance", f"2026-05-1{d}T01:00Z") for d in range(1, 6)]))
    two_kinds = alarm_evidence(frame(alarm("E1", "exceedance", "2026-05-11T01:00Z"),
                                     alarm("E1", "treatment_stopped", "2026-05-11T01:00Z")))
    assert one == pytest.approx(0.6)
    assert repeated["E1"].p_alarms == pytest.approx(1 - 0.4 * 0.7)
    assert one < repeated["E1"].p_alarms < two_kinds["E1"].p_alarms
    assert two_kinds["E1"].p_alarms == pytest.approx(1 - 0.4 * 0.4)


def test_unknown_enterprises_and_data_only_alarms_are_not_evidence():
    ev = alarm_evidence(frame(alarm("", "exceedance", "2026-05-11T01:00Z"),
                              alarm("E2", "data_gap", "2026-05-11T01:00Z", strength=0.1)))
    assert ev == {}


def test_coincidence_with_the_survey_plume_is_stronger():
    a = frame(alarm("E1", "exceedance", "2026-05-12T02:00Z"))
    plain = alarm_evidence(a, survey_start=SURVEY[0], survey_end=SURVEY[1], plume={})["E1"]
    meets = alarm_evidence(a, survey_start=SURVEY[0], survey_end=SURVEY[1], plume={"E1": 0.7})["E1"]
    other_day = alarm_evidence(frame(alarm("E1", "exceedance", "2026-05-01T02:00Z")), survey_start=SURVEY[0],
                               survey_end=SURVEY[1], plume={"E1": 0.7})["E1"]
    assert plain.coincident == 0 and other_day.coincident == 0 and meets.coincident == 1
    assert meets.p_alarms == pytest.approx(1 - 0.4 ** COINCIDENCE_POWER)
    assert meets.p_alarms > plain.p_alarms == other_day.p_alarms
    assert "during the survey's hours" in meets.reason and "during" not in plain.reason


def test_targets_combine_alarms_with_the_survey_independently(tmp_path):
    area = make_area()
    ev = survey({"E02": 0.5, "E04": 0.5})
    alarms = frame(alarm("E02", "exceedance", "2026-05-12T02:00Z"),   # during the survey, plume found
                   alarm("E03", "exceedance", "2026-05-12T02:00Z"),   # no plume found: the alarm alone
                   alarm("", "flatline", "2026-05-12T02:00Z", strength=0.4))  # unknown logger: nobody
    base = rank_targets(ev, area).set_index("enterprise_id")
    t = rank_targets(ev, area, alarms=alarms).set_index("enterprise_id")
    assert t.loc["E02", "rank"] == 1 and t.loc["E02", "score"] > base.loc["E02", "score"]
    # survey 0.5 and alarm 0.6 → stronger than either; coinciding → stronger than independent
    assert t.loc["E02", "evidence_score"] > 1 - 0.5 * 0.4
    assert t.loc["E03", "evidence_score"] == pytest.approx(0.6, abs=1e-3) and t.loc["E04", "evidence_score"] < 0.6
    assert "online monitoring: 1 alarm(s)" in t.loc["E02", "reasons"] and "limit not verified" in t.loc["E02", "reasons"]
    assert "online monitoring" not in t.loc["E04", "reasons"]
    # the other firms are as they were
    same = [e for e in t.index if e not in ("E02", "E03")]
    np.testing.assert_allclose(t.loc[same, "score"], base.loc[same, "score"])
    # from the file too
    from ecopatrol.processing.monitor.alarms import AlarmResult, write_alarms
    from ecopatrol.processing.monitor.rules import AlarmRules

    res = AlarmResult(alarms, pd.DataFrame(), pd.DataFrame(), pd.Timestamp(SURVEY[0]), pd.Timestamp(SURVEY[1]),
                      AlarmRules())
    p = write_alarms(res, tmp_path / "alarms.csv")
    t2 = rank_targets(ev, area, alarms=p).set_index("enterprise_id")
    np.testing.assert_allclose(t2["score"].sort_index(), t["score"].sort_index())


def test_reason_quotes_the_alarms_values_not_the_whole_row():
    ev = alarm_evidence(frame(alarm("E1", "treatment_stopped", "2026-05-11T01:00Z",
                                    values="treatment 0.4 kW while production 55 kW")))
    r = ev["E1"].reason
    assert "(treatment 0.4 kW while production 55 kW)" in r
    assert "MN-E1" in r and "[" not in r  # no numpy row dump


def test_alarms_of_several_days_count_a_repeated_alarm_once():
    from ecopatrol.processing.monitor.evidence import as_alarms

    a = alarm("E03", "exceedance", "2026-05-12T01:30:00Z")
    b = alarm("E04", "exceedance", "2026-05-12T01:30:00Z")
    # no alarm ids: the same enterprise, monitor, kind and hours are one alarm
    assert len(as_alarms([frame(a, b), None, frame(a)])) == 2
    # every alarm with an id: the id decides (two rows with one id are one alarm)
    ids = [frame({**a, "alarm_id": "A1"}, {**b, "alarm_id": "A2"}), frame({**b, "alarm_id": "A2", "value": 81.0})]
    assert sorted(as_alarms(ids)["alarm_id"]) == ["A1", "A2"]
    assert len(as_alarms([None])) == 0
