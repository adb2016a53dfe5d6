"""Online-monitoring alarms (issue 17 items 3–4): monitors.csv, limits, each rule firing and not firing,
the command on the two real hours (per MN, enterprise unknown), and alarms.csv as a targets file."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ecopatrol.core.errors import ValidationError
from ecopatrol.core.limits import load_limits
from ecopatrol.core.monitors import load_monitors
from ecopatrol.processing.monitor.alarms import compute_alarms, read_alarms, write_alarms
from ecopatrol.processing.monitor.rules import AlarmRules

T0 = pd.Timestamp("2026-05-01T00:00Z")  # 08:00 in Asia/Shanghai: production hours
E1, E2 = "91370282MA3C0X1X0H", "B2"
HEADER = "mn,enterprise_id,kind,outlet_id,codes,power_suffix,limits,rated_kw,note\n"


def monitors_file(tmp_path, rows: str, name="monitors.csv"):
    p = tmp_path / name
    p.write_text(HEADER + rows, encoding="utf-8")
    return p


def registry():
    ent = pd.DataFrame({"enterprise_id": [E1, E2]})
    src = pd.DataFrame({"source_id": [f"{E1}-S1", "B2-S1"], "enterprise_id": [E1, E2]})
    return ent, src


def limits_file(tmp_path, value="50", verified="no"):
    p = tmp_path / "limits.csv"
    p.write_text("limit_set,standard,clause,pollutant_code,pollutant_name,limit_value,unit,averaging,basis,"
                 "applies_to,verified,source\n"
                 f"PERMIT,permit 123,table 1,a24088,NMHC,{value},mg/m3,hour,measured,stack,{verified},"
                 f"{'the permit' if verified == 'yes' else 'test'}\n", encoding="utf-8")
    return p


def obs(mn, code, values, *, step_min=1.0, start=T0, cn="2011", suffix=None, flags=None):
    """An observation frame: one reading per ``step_min`` of ``code`` at logger ``mn``."""
    n = len(values)
    period = {"2011": "rtd", "2051": "minute", "2061": "hour"}[cn]
    return pd.DataFrame({
        "mn": mn, "cn": cn, "period": period,
        "time": pd.date_range(start, periods=n, freq=pd.Timedelta(minutes=step_min)),
        "code": code, "suffix": suffix or ("Rtd" if cn == "2011" else "Avg"),
        "value": np.asarray(values, dtype=float), "flag": list(flags) if flags is not None else ["N"] * n})


def noisy(level, n, seed=0, sd=0.05):
    return level * (1 + sd * np.random.default_rng(seed).standard_normal(n))


def run_cli(*args) -> tuple[int, str, str]:
    import contextlib
    import io

    from ecopatrol.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def run(frames, monitors=None, limits=None, **kw):
    data = pd.concat(frames, ignore_index=True)
    return compute_alarms(data, monitors, limits, **kw).alarms


# -- monitors and limits -----------------------------------------------------------------------------
def test_monitors_file_is_validated_with_file_row_field(tmp_path):
    ent, src = registry()
    p = monitors_file(tmp_path, f"STACK1,{E1},stack,{E1}-S1,a24088;B02,,PERMIT,,\n"
                                "M1,NOPE,production_meter,,100001,,,abc,\n"
                                f"M1,{E2},boiler,,,,,,\n"
                                f"STACK1,{E1},stack,B2-S1,a24088,,NOSUCH,,\n")
    with pytest.raises(ValidationError) as ei:
        load_monitors(p, enterprises=ent, sources=src, limit_sets={"PERMIT"})
    msg = str(ei.value)
    assert "`monitors.csv` row 3, field `enterprise_id`: enterprise 'NOPE' is not in the registry" in msg
    assert "row 3, field `rated_kw`" in msg and "row 4, field `kind`" in msg
    assert "row 5, field `outlet_id`: outlet 'B2-S1' belongs to enterprise 'B2'" in msg
    assert "row 5, field `limits`: limit set 'NOSUCH'" in msg
    assert "row 5, field `codes`: MN 'STACK1' code a24088 is already assigned in row 2" in msg


def test_monitors_map_2005_codes_and_meter_defaults(tmp_path):
    ent, src = registry()
    p = monitors_file(tmp_path, f"STACK1,{E1},stack,{E1}-S1,a24088;B02;S01,,PERMIT,,\n"
                                f"M1,{E1},production_meter,,100001,,,120,\nM1,{E1},treatment_meter,,100002,,,,\n")
    m = load_monitors(p, enterprises=ent, sources=src, limit_sets={"PERMIT"})
    assert m.table.loc[0, "codes"] == ("a24088", "a00000", "a19001")
    assert list(m.table["power_suffix"]) == ["", "Pt", "Pt"] and m.table.loc[1, "rated_kw"] == 120
    assert m.summary()["by_kind"] == {"stack": 1, "production_meter": 1, "treatment_meter": 1}


def test_shipped_limits_have_no_unverified_values_and_area_limits_add_theirs(tmp_path):
    shipped = load_limits()
    assert len(shipped.table) == 0 and {"GB41616-2022", "GB37822-2019-A1", "GB16297-1996-T2"} <= shipped.sets()
    assert not shipped.all_rows["verified"].any()
    lim = load_limits(limits_file(tmp_path))
    assert list(lim.table["limit_value"]) == [50.0] and lim.table["verified"].tolist() == [False]
    bad = tmp_path / "bad.csv"
    bad.write_text("limit_set,standard,pollutant_code,unit,verified,limit_value\nX,,a24088,mg/m3,maybe,-3\n")
    with pytest.raises(ValidationError) as ei:
        load_limits(bad, shipped=None)
    assert "row 2, field `standard`" in str(ei.value) and "row 2, field `verified`" in str(ei.value)
    assert "row 2, field `limit_value`" in str(ei.value)


def test_example_area_has_valid_monitors(jimo):
    from ecopatrol.core.limits import limits_for_area
    from ecopatrol.core.monitors import monitors_for_area

    m = monitors_for_area(jimo, limit_sets=limits_for_area(jimo).sets())
    s = m.summary()
    assert s["errors"] == 0 and 50 < s["enterprises"] < 400 and s["by_kind"]["treatment_meter"] > 10
    assert set(m.table["enterprise_id"]) <= set(jimo.enterprises["enterprise_id"])


# -- exceedance ----------------------------------------------------------------------------------------
@pytest.fixture
def stack(tmp_path):
    ent, src = registry()
    lim = load_limits(limits_file(tmp_path))
    m = load_monitors(monitors_file(tmp_path, f"STACK1,{E1},stack,{E1}-S1,a24088;a00000;a19001,,PERMIT,,\n"),
                      enterprises=ent, sources=src, limit_sets=lim.sets())
    return m, lim.table


def test_exceedance_fires_on_hourly_averages_above_the_limit(stack):
    m, lim = stack
    v = np.r_[noisy(30, 60, 1), noisy(80, 60, 2), noisy(70, 60, 3), noisy(30, 60, 4)]
    a = run([obs("STACK1", "a24088", v)], m, lim)
    ex = a[a["kind"] == "exceedance"]
    assert len(ex) == 1
    r = ex.iloc[0]
    assert r["enterprise_id"] == E1 and r["outlet_id"] == f"{E1}-S1" and r["limit_value"] == 50
    assert r["start_utc"] == T0 + pd.Timedelta(hours=1) and r["end_utc"] == T0 + pd.Timedelta(hours=3)
    assert 75 < r["value"] < 85 and not r["limit_verified"] and "NOT verified" in r["rule"]


def test_exceedance_prefers_hourly_packets_and_skips_invalid_flags(stack):
    m, lim = stack
    rt = obs("STACK1", "a24088", noisy(80, 60, 5))  # real-time says 80 …
    hourly = obs("STACK1", "a24088", [40.0], cn="2061")  # … the hourly packet says 40: it is used
    assert (run([rt, hourly], m, lim)["kind"] == "exceedance").sum() == 0
    flagged = obs("STACK1", "a24088", noisy(80, 60, 6), flags=["C"] * 60)  # calibration gas, not emissions
    assert (run([flagged], m, lim)["kind"] == "exceedance").sum() == 0


def test_unknown_loggers_are_checked_only_against_limits_given_for_them(stack):
    m, lim = stack
    other = obs("OTHER", "a24088", noisy(80, 60, 7))
    a = run([other], m, lim)
    assert (a["kind"] == "exceedance").sum() == 0
    a = run([other], m, lim, rules=AlarmRules(limits_for_unknown=("PERMIT",)))
    ex = a[a["kind"] == "exceedance"]
    assert len(ex) == 1 and ex.iloc[0]["enterprise_id"] == "" and not ex.iloc[0]["enterprise_known"]


# -- flatline ------------------------------------------------------------------------------------------
def test_flatline_fires_on_constant_values_only(stack):
    m, _ = stack
    flat = obs("STACK1", "a24088", np.full(90, 12.34))
    live = obs("STACK1", "a24088", noisy(12.34, 90, 8), start=T0 + pd.Timedelta(hours=3))
    zeros = obs("STACK1", "a19001", np.zeros(90))  # a reading at 0 is not a flatline
    short = obs("STACK1", "a00000", np.full(30, 5.0))  # 30 min: shorter than 60
    a = run([flat, live, zeros, short], m, None)
    f = a[a["kind"] == "flatline"]
    assert len(f) == 1 and f.iloc[0]["pollutant_code"] == "a24088" and f.iloc[0]["start_utc"] == T0
    assert f.iloc[0]["duration_min"] == pytest.approx(90)


# -- flags ---------------------------------------------------------------------------------------------
def test_maintenance_in_production_hours_fires_and_at_night_does_not(stack):
    m, _ = stack
    day = obs("STACK1", "a24088", noisy(20, 45, 9), flags=["M"] * 45)  # 08:00–08:45 local
    night = obs("STACK1", "a24088", noisy(20, 45, 10), flags=["C"] * 45, start=T0 + pd.Timedelta(hours=14))
    brief = obs("STACK1", "a24088", noisy(20, 10, 11), flags=["C"] * 10, start=T0 + pd.Timedelta(hours=4))
    a = run([day, night, brief], m, None)
    mc = a[a["kind"] == "maintenance_in_production"]
    assert len(mc) == 1 and mc.iloc[0]["start_utc"] == T0 and "assumed 08:00–18:00" in mc.iloc[0]["details"]


def test_long_fault_flags_fire_after_two_hours(stack):
    m, _ = stack
    long_d = obs("STACK1", "a24088", noisy(20, 150, 12), flags=["D"] * 150)
    short_b = obs("STACK1", "a19001", noisy(8, 150, 13), flags=["B"] * 60 + ["N"] * 90)
    a = run([long_d, short_b], m, None)
    f = a[a["kind"] == "long_fault_flag"]
    assert len(f) == 1 and "flag D on a24088" in f.iloc[0]["values"]


# -- missing data --------------------------------------------------------------------------------------
def test_gaps_completeness_and_silent_monitors(stack, tmp_path):
    m, _ = stack
    ent, src = registry()
    m2 = load_monitors(monitors_file(tmp_path, f"STACK1,{E1},stack,{E1}-S1,,,,,\nSILENT,{E2},stack,B2-S1,,,,,\n",
                                     name="m2.csv"), enterprises=ent, sources=src)
    v = obs("STACK1", "a24088", noisy(20, 600, 14))  # 10 h of minutes …
    v = v[(v["time"] < T0 + pd.Timedelta(hours=3)) | (v["time"] >= T0 + pd.Timedelta(hours=6))]  # … 3 h missing
    res = compute_alarms(v, m2, None, start=T0, end=T0 + pd.Timedelta(hours=10))
    a = res.alarms
    gap = a[a["kind"] == "data_gap"]
    assert len(gap) == 1 and gap.iloc[0]["duration_min"] == pytest.approx(181)
    inc = a[(a["kind"] == "incomplete_day") & (a["mn"] == "STACK1")]
    assert len(inc) == 1 and inc.iloc[0]["value"] == pytest.approx(0.7)
    silent = a[a["mn"] == "SILENT"]
    assert set(silent["kind"]) == {"no_data"} and silent.iloc[0]["enterprise_id"] == E2
    c = res.completeness.set_index("mn")
    assert c.loc["STACK1", "completeness"] == pytest.approx(0.7) and c.loc["SILENT", "completeness"] == 0
    full = compute_alarms(obs("STACK1", "a24088", noisy(20, 600, 15)), m, None, start=T0,
                          end=T0 + pd.Timedelta(hours=10)).alarms
    assert not full["kind"].isin(["data_gap", "incomplete_day"]).any()


# -- electricity ---------------------------------------------------------------------------------------
@pytest.fixture
def meters(tmp_path):
    ent, src = registry()
    rows = (f"STACK1,{E1},stack,{E1}-S1,a24088;a00000;a19001,,,,\n"
            f"BOX1,{E1},production_meter,,100001,,,100,\nBOX1,{E1},treatment_meter,,100002,,,20,\n")
    return load_monitors(monitors_file(tmp_path, rows), enterprises=ent, sources=src)


def power(code, kw, start=T0):
    return obs("BOX1", code, kw, start=start, suffix="Pt")


def test_treatment_stopped_idle_derated_while_production_runs(meters):
    n = 240
    prod = noisy(80, n, 16, 0.02)
    treat = noisy(18, n, 17, 0.02)
    treat[60:90] = 0.2    # stopped (1 % of rated 20 kW)
    treat[120:150] = 4.0  # idle (20 %)
    treat[180:210] = 11.0  # derated (55 %)
    a = run([power("100001", prod), power("100002", treat)], meters, None)
    got = a[a["kind"].str.startswith("treatment_")].sort_values("start_utc")
    assert list(got["kind"]) == ["treatment_stopped", "treatment_idle", "treatment_derated"]
    assert got.iloc[0]["start_utc"] == T0 + pd.Timedelta(hours=1) and got.iloc[0]["enterprise_id"] == E1
    # production stopped too: nothing
    prod[60:90] = 0.0
    treat2 = noisy(18, n, 17, 0.02)
    treat2[60:90] = 0.2
    a = run([power("100001", prod), power("100002", treat2)], meters, None)
    assert not a["kind"].str.startswith("treatment_").any()


def test_treatment_started_after_production(meters):
    prod = np.r_[np.zeros(60), noisy(80, 120, 18, 0.02)]
    late = np.r_[np.zeros(90), noisy(18, 90, 19, 0.02)]  # 30 min after production
    a = run([power("100001", prod), power("100002", late)], meters, None)
    k = a[a["kind"] == "treatment_started_late"]
    assert len(k) == 1 and k.iloc[0]["value"] == pytest.approx(30, abs=5)
    ontime = np.r_[np.zeros(55), noisy(18, 125, 20, 0.02)]  # before production
    a = run([power("100001", prod), power("100002", ontime)], meters, None)
    assert not (a["kind"] == "treatment_started_late").any()


def test_negative_correlation_and_night_use(meters):
    n = 24 * 60
    t_local = (np.arange(n) / 60 + 8) % 24  # the series starts at 08:00 local
    base = 60 + 30 * np.sin(np.arange(n) / 90)
    treat_neg = 20 - 0.2 * (base - 60) + noisy(0, n, 21, 1) * 0  # falls when production rises
    a = run([power("100001", base), power("100002", treat_neg)], meters, None)
    assert (a["kind"] == "power_negatively_correlated").sum() >= 1
    a = run([power("100001", base), power("100002", 0.3 * base)], meters, None)
    assert not (a["kind"] == "power_negatively_correlated").any()
    night = np.where((t_local >= 22) | (t_local < 6), 90.0, 10.0) + noisy(0, n, 22, 1) * 0
    a = run([power("100001", night), power("100002", 0.25 * night)], meters, None)
    assert (a["kind"] == "night_production").sum() >= 1
    a = run([power("100001", base), power("100002", 0.25 * base)], meters, None)
    assert not (a["kind"] == "night_production").any()


def test_zero_flow_or_ambient_o2_while_production_runs(meters):
    n = 120
    prod = noisy(80, n, 23, 0.02)
    frames = [power("100001", prod), power("100002", noisy(18, n, 24, 0.02)),
              obs("STACK1", "a00000", np.r_[noisy(5, 40, 25), np.zeros(40), noisy(5, 40, 26)]),
              obs("STACK1", "a19001", noisy(15, n, 27, 0.01))]
    a = run(frames, meters, None)
    z = a[a["kind"] == "zero_flow_in_production"]
    assert len(z) == 1 and "production meter says production runs" in z.iloc[0]["details"]
    prod[40:80] = 0.0  # production off: zero flow is right
    frames[0] = power("100001", prod)
    a = run(frames, meters, None)
    assert not (a["kind"] == "zero_flow_in_production").any()
    # no meter: at half strength, because the logger calls it normal
    o2 = obs("STACK1", "a19001", np.r_[noisy(15, 40, 28, 0.01), np.full(40, 20.9) + noisy(0, 40, 29, 1) * 0.01,
                                       noisy(15, 40, 30, 0.01)])
    a = run([o2], meters, None)
    z = a[a["kind"] == "zero_flow_in_production"]
    assert len(z) == 1 and z.iloc[0]["strength"] == pytest.approx(AlarmRules().strength_of("zero_flow_in_production") / 2)


def test_rules_parameters_are_in_one_place():
    r = AlarmRules()
    assert replace(r, gap_min_minutes=5).gap_min_minutes == 5
    d = r.as_dict()
    assert {"flatline_min_minutes", "treatment_idle_fraction", "night_ratio", "strength"} <= set(d)


# -- alarms.csv, the real hours and the command --------------------------------------------------------
def test_alarms_csv_round_trip_and_as_targets_file(stack, tmp_path):
    from ecopatrol.core.registry import read_targets_ranked

    m, lim = stack
    v = np.r_[noisy(80, 60, 31)]
    res = compute_alarms(pd.concat([obs("STACK1", "a24088", v), obs("OTHER", "a24088", np.full(90, 3.0))]), m, lim)
    p = write_alarms(res, tmp_path / "alarms.csv")
    back = read_alarms(p)
    assert len(back) == len(res.alarms) and back["start_utc"].dt.tz is not None
    assert set(back["enterprise_id"]) == {E1, ""}
    ids, ranks = read_targets_ranked(p)
    assert ids == [E1] and ranks == [1]  # the unknown logger has no enterprise to plan; E1 once


@pytest.mark.slow
def test_real_two_hours_alarms_per_mn(shared_data, tmp_path):
    db = f"sqlite:///{tmp_path / 'real.db'}"
    files = [shared_data / "hj212" / f for f in ("hebei_2016-08-24_04.h212.gz", "hebei_2016-08-24_05.h212.gz")]
    code, _, err = run_cli("monitor", "ingest", *files, "--db", db)
    assert code == 0, err
    code, out, err = run_cli("monitor", "alarms", "--db", db, "--from", "2016-08-23T20:00Z", "--to",
                             "2016-08-23T22:00Z", "--out", tmp_path / "alarms.csv", "--json")
    assert code == 0, err
    import json

    doc = json.loads(out)
    assert doc["unknown_loggers"] == doc["loggers"] > 250 and doc["enterprises_with_alarms"] == 0
    assert doc["alarms"] == doc["alarms_enterprise_unknown"] > 0
    assert {"flatline", "zero_flow_in_production", "long_fault_flag"} <= set(doc["by_kind"])
    assert any("enterprise unknown" in n for n in doc["notes"])
    a = read_alarms(tmp_path / "alarms.csv")
    assert (a["enterprise_id"] == "").all() and a["mn"].str.len().gt(0).all()


def test_an_alarm_sends_a_sortie_the_same_day(jimo, tmp_path):
    """alarms.csv from the example area's monitors → `plan drone --targets-file alarms.csv`."""
    import json

    from ecopatrol.core.limits import limits_for_area
    from ecopatrol.core.monitors import monitors_for_area

    lim = limits_for_area(jimo)
    mons = monitors_for_area(jimo, limit_sets=lim.sets())
    free = set(jimo.enterprises.loc[jimo.enterprises["airspace"] == "free", "enterprise_id"])
    stack = mons.table[(mons.table["kind"] == "stack") & mons.table["enterprise_id"].isin(free)].iloc[0]
    data = obs(stack["mn"], "a24088", noisy(90, 120, 40))  # two hours at 90 mg/m3 over the example limit 50
    res = compute_alarms(data, mons, lim.table, start=T0, end=T0 + pd.Timedelta(hours=2))
    ex = res.alarms[res.alarms["kind"] == "exceedance"]
    assert len(ex) == 1 and ex.iloc[0]["enterprise_id"] == stack["enterprise_id"]
    p = write_alarms(res, tmp_path / "alarms.csv")
    code, out, err = run_cli("plan", "drone", "--area", "jimo", "--targets-file", p, "--top", 1,
                             "--out", tmp_path / "plan", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["checks"]["passed"] is True
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text(encoding="utf-8"))
    assert stack["enterprise_id"] in json.dumps(plan)


def test_simulated_loggers_agree_with_the_hidden_emitters(jimo, tmp_path):
    """The simulator's HJ 212 traffic: every good line decodes, the corrupt ones are caught, and the
    alarms name the monitored emitters (exceedance or flatline; treatment off while production runs)."""
    from datetime import UTC, datetime

    from ecopatrol.core.db import open_database
    from ecopatrol.core.limits import limits_for_area
    from ecopatrol.core.monitors import monitors_for_area
    from ecopatrol.missions.monitor_sim import simulate_monitors
    from ecopatrol.processing.hj212 import read_hj212_file
    from ecopatrol.processing.monitor.alarms import monitor_alarms
    from ecopatrol.processing.monitor.ingest import ingest_file
    from ecopatrol.processing.monitor.store import PacketStore

    mons = monitors_for_area(jimo, limit_sets=limits_for_area(jimo).sets()).table
    metered = set(mons.loc[mons["kind"] == "treatment_meter", "enterprise_id"])
    stacks = mons[mons["kind"] == "stack"]
    chosen = [e for e in stacks["enterprise_id"] if e in metered][:2] + \
        [e for e in stacks["enterprise_id"] if e not in metered][:1]
    emitters = pd.DataFrame({"enterprise_id": chosen, "rate_g_s": [2.0, 3.0, 2.5]})
    truth: dict = {}
    start = datetime(2026, 5, 12, 1, 0, tzinfo=UTC)  # 09:00 local
    (path,) = simulate_monitors(jimo, emitters, tmp_path, start_utc=start, seed=3, truth=truth)
    _, rejected, stats = read_hj212_file(path)
    assert stats.lines == truth["monitors"]["packets"] and stats.rejected == truth["monitors"]["corrupt"]
    assert set(rejected["reason"]) <= {"crc_mismatch", "length_mismatch", "framing", "syntax"}
    engine = open_database(f"sqlite:///{tmp_path / 'sim.db'}")
    ingest_file(PacketStore(engine), path)
    res = monitor_alarms(engine, jimo)
    engine.dispose()
    a = res.alarms
    strong = a[~a["kind"].isin(["data_gap", "incomplete_day", "no_data", "maintenance_in_production"])]
    by_firm = strong.groupby("enterprise_id")["kind"].agg(set)
    loggers = {r["enterprise_id"]: r for r in truth["monitors"]["loggers"] if r["kind"] == "stack" and r["emitting"]}
    for e in chosen:
        expect = "flatline" if loggers[e]["analyser"] == "flatline" else "exceedance"
        assert expect in by_firm.get(e, set()), (e, by_firm.get(e))
        if e in metered:
            assert "treatment_stopped" in by_firm[e]
    innocent = set(by_firm.index) - set(chosen)
    assert not any({"exceedance", "treatment_stopped"} & by_firm[e] for e in innocent)
