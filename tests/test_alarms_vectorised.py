"""The vectorised alarm rules give exactly the alarms (and the completeness table) of the per-group
loops they replaced (``processing/monitor/_alarm_rules_loop.py``, and for the electricity rules
``_power_rules_loop.py``), on the two real hours, on simulated traffic with emitters, meters and
defects, and on a fleet of meter boxes whose firms raise every electricity rule (``power_support``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from ecopatrol.processing.monitor._alarm_rules_loop import loop_rules
from ecopatrol.processing.monitor._power_rules_loop import loop_power_rules
from ecopatrol.processing.monitor.alarms import compute_alarms


def _both(records, *args, **kw):
    new = compute_alarms(records, *args, **kw)
    with loop_rules(), loop_power_rules():
        old = compute_alarms(records, *args, **kw)
    return old, new


def _same(old, new):
    assert len(new.alarms) == len(old.alarms)
    pd.testing.assert_frame_equal(new.alarms, old.alarms)
    pd.testing.assert_frame_equal(new.completeness, old.completeness)
    pd.testing.assert_frame_equal(new.unknown_mns, old.unknown_mns)


def test_loop_rules_swaps_the_reference_in_and_back():
    from ecopatrol.processing.monitor import _alarm_rules_loop as ref
    from ecopatrol.processing.monitor import alarms

    before = alarms.rule_flatline
    with loop_rules():
        assert alarms.rule_flatline is ref.rule_flatline
    assert alarms.rule_flatline is before and before is not ref.rule_flatline


def test_same_alarms_on_the_real_hours(shared_data):
    from ecopatrol.core.limits import limits_for_area
    from ecopatrol.processing.hj212 import read_hj212_file

    files = sorted((shared_data / "hj212").glob("*.h212.gz"))
    if not files:
        pytest.skip("no HJ 212 hours in the shared data")
    rec = pd.concat([read_hj212_file(f)[0] for f in files], ignore_index=True)
    old, new = _both(rec, None, limits_for_area(None).table)   # the window from the data
    assert len(new.alarms) > 100 and set(new.alarms["kind"]) >= {"flatline", "data_gap", "incomplete_day"}
    _same(old, new)


def test_same_alarms_on_simulated_traffic(jimo, tmp_path):
    from ecopatrol.core.limits import limits_for_area
    from ecopatrol.core.monitors import monitors_for_area
    from ecopatrol.missions.monitor_sim import simulate_monitors
    from ecopatrol.processing.hj212 import read_hj212_file

    lim = limits_for_area(jimo)
    mons = monitors_for_area(jimo, limit_sets=lim.sets())
    t = mons.table
    metered = set(t.loc[t["kind"] == "treatment_meter", "enterprise_id"])
    stacks = t[t["kind"] == "stack"]["enterprise_id"]
    chosen = [e for e in stacks if e in metered][:2] + [e for e in stacks if e not in metered][:2]
    emitters = pd.DataFrame({"enterprise_id": chosen, "rate_g_s": [2.0, 3.0, 2.5, 1.5][:len(chosen)]})
    (path,) = simulate_monitors(jimo, emitters, tmp_path, start_utc=datetime(2026, 5, 12, 1, 0, tzinfo=UTC),
                                seed=5, truth={})
    rec = read_hj212_file(path)[0]
    old, new = _both(rec, mons, lim.table)
    kinds = set(new.alarms["kind"])
    assert {"treatment_stopped", "data_gap"} <= kinds and kinds & {"exceedance", "flatline"}
    _same(old, new)


# -- the electricity rules ---------------------------------------------------------------------------
def _both_power(records, *args, **kw):
    new = compute_alarms(records, *args, **kw)
    with loop_power_rules():
        old = compute_alarms(records, *args, **kw)
    return old, new


def test_loop_power_rules_swaps_the_reference_in_and_back():
    from ecopatrol.processing.monitor import _power_rules_loop as ref
    from ecopatrol.processing.monitor import alarms

    before = alarms.rule_power, alarms.power_series, alarms.production_state
    with loop_power_rules():
        assert (alarms.rule_power, alarms.power_series, alarms.production_state) == \
            (ref.rule_power, ref.power_series, ref.production_state)
    assert (alarms.rule_power, alarms.power_series, alarms.production_state) == before
    assert before[0] is not ref.rule_power


POWER_KINDS = {"treatment_stopped", "treatment_idle", "treatment_derated", "treatment_started_late",
               "power_negatively_correlated", "night_production"}


@pytest.mark.parametrize("step_s", [60, 300])
def test_same_electricity_alarms_on_a_fleet_of_meters(tmp_path, step_s):
    """Many meter boxes, one behaviour per firm (every electricity rule, meters without a partner,
    two production lines, no rated power, gaps, repeated packets, a row summing two codes)."""
    from power_support import BEHAVIOURS, meter_fleet

    rec, mons = meter_fleet(3 * len(BEHAVIOURS), tmp_path, step_s=step_s, seed=step_s)
    old, new = _both_power(rec, mons, None)
    assert POWER_KINDS <= set(new.alarms["kind"])
    _same(old, new)
    # each behaviour raised its own rule (and the compliant firms none of the treatment rules)
    firm = new.alarms["enterprise_id"].str[4:].astype(int) % len(BEHAVIOURS)
    by = new.alarms.groupby(firm.map(dict(enumerate(BEHAVIOURS))))["kind"].agg(set)
    assert "treatment_stopped" in by["stopped"] and "treatment_idle" in by["idle"]
    assert "treatment_derated" in by["derated"] and "treatment_started_late" in by["late_start"]
    assert "power_negatively_correlated" in by["anticorrelated"] and "night_production" in by["night"]
    assert not by.get("normal", set()) & (POWER_KINDS - {"treatment_started_late"})
    assert not (by.get("production_only", set()) | by.get("treatment_only", set())) & POWER_KINDS  # no pair


def test_same_electricity_alarms_with_other_parameters(tmp_path):
    """A grid that does not divide the day, night hours that do not wrap midnight, a rated power
    that is never given: the parameters the reference's edge cases hang on."""
    from dataclasses import replace

    from power_support import BEHAVIOURS, meter_fleet

    from ecopatrol.processing.monitor.rules import AlarmRules

    rec, mons = meter_fleet(2 * len(BEHAVIOURS), tmp_path, hours=50, seed=3)
    rules = replace(AlarmRules(), power_grid_minutes=7.0, night_hours_local=(0, 5), treatment_min_minutes=30.0,
                    correlation_min_points=20, negative_correlation_max_r=-0.3)
    old, new = _both_power(rec, mons, None, rules=rules)
    assert {"treatment_stopped", "night_production", "power_negatively_correlated"} <= set(new.alarms["kind"])
    _same(old, new)
    mons.table["rated_kw"] = float("nan")
    old, new = _both_power(rec, mons, None, rules=rules)
    _same(old, new)


def test_power_grid_is_the_resampled_series(tmp_path):
    """The vectorised grid and production state equal the reference's per-meter series."""
    from power_support import meter_fleet

    from ecopatrol.processing.monitor import _power_rules_loop as ref
    from ecopatrol.processing.monitor import alarms, power_rules

    rec, mons = meter_fleet(20, tmp_path, hours=12, seed=9)
    seen = {}
    real = alarms.rule_exceedance
    try:
        alarms.rule_exceedance = lambda ctx: seen.setdefault("ctx", ctx) and real(ctx)
        compute_alarms(rec, mons, None)
    finally:
        alarms.rule_exceedance = real
    ctx = seen["ctx"]
    old, grid = ref.power_series(ctx), power_rules.power_series(ctx)
    assert sorted(old) == [int(i) for i in grid.meters]
    for i, s in old.items():
        pd.testing.assert_series_equal(grid.series(i), s, check_freq=False, check_names=False)
    old_on, new_on = ref.production_state(ctx, old), power_rules.production_state(ctx, grid)
    assert sorted(old_on) == sorted(new_on)
    for e, s in old_on.items():
        pd.testing.assert_series_equal(new_on[e], s, check_freq=False, check_names=False)


def test_night_use_is_one_alarm_per_enterprise_night(tmp_path):
    """Night use is the production lines' (the sum of the enterprise's production meters): an
    enterprise with two treatment units gets one "night use far above day use" alarm per local
    night, not one per treatment meter, its hours those of its production meters; the loop
    reference agrees."""
    import numpy as np

    from ecopatrol.core.monitors import load_monitors

    (tmp_path / "monitors.csv").write_text(
        "mn,enterprise_id,kind,codes,power_suffix,rated_kw\n"
        "BOX1,F1,production_meter,100001,Pt,100\nBOX1,F1,production_meter,100003,Pt,50\n"
        "BOX1,F1,treatment_meter,100002,Pt,20\nBOX2,F1,treatment_meter,100004,Pt,30\n", encoding="utf-8")
    mons = load_monitors(tmp_path / "monitors.csv")
    t0 = pd.Timestamp("2026-05-11T16:00Z")  # 00:00 local (UTC+8)
    n = 48 * 60
    h = (np.arange(n) / 60) % 24
    rng = np.random.default_rng(4)
    night = np.where((h >= 22) | (h < 6), 80.0, 8.0) * (1 + 0.03 * rng.standard_normal(n))

    def power(mn, code, kw, skip=0):
        return pd.DataFrame({"mn": mn, "cn": "2011", "data_time_utc": pd.date_range(t0, periods=n, freq="min")[skip:],
                             "pollutant_code": code, "pollutant_code_2017": None, "suffix": "Pt",
                             "value": np.round(kw[skip:], 3), "flag": "N"})

    rec = pd.concat([power("BOX1", "100001", night), power("BOX1", "100003", 0.5 * night),
                     power("BOX1", "100002", 0.2 * night), power("BOX2", "100004", 0.25 * night, skip=150)],
                    ignore_index=True)
    old, new = _both_power(rec, mons, None)
    _same(old, new)
    got = new.alarms[new.alarms["kind"] == "night_production"]
    local_days = got["start_utc"].dt.tz_convert("Asia/Shanghai").dt.date
    assert len(got) == local_days.nunique() == 2 and (got["mn"] == "BOX1").all()
    assert (got["start_utc"] == [t0, t0 + pd.Timedelta(days=1)]).all()  # the production meters' hours
