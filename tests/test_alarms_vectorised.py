"""The vectorised alarm rules give exactly the alarms (and the completeness table) of the per-group
loops they replaced (``processing/monitor/_alarm_rules_loop.py``), on the two real hours and on
simulated traffic with emitters, meters and defects."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from ecopatrol.processing.monitor._alarm_rules_loop import loop_rules
from ecopatrol.processing.monitor.alarms import compute_alarms


def _both(records, *args, **kw):
    new = compute_alarms(records, *args, **kw)
    with loop_rules():
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
