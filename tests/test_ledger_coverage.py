"""The ledger's coverage test per firm (processing.ledger.coverage): a ``clean`` result needs every
stack of the firm covered at the detection rate; a firm only some of whose stacks were covered is
recorded ``suspicious`` when the attribution found it emitting, and otherwise not at all (or
``not assessable`` when a plan targeted it)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from ecopatrol.processing.ledger.coverage import MIN_COVER_SAMPLES, SUSPICIOUS_PIP, _off_site_check

END = pd.Timestamp("2025-03-07T06:00Z")


def _ctx(pip: dict, targeted=None) -> dict:
    return {"pip_rate": (pip, {e: 1.5 for e in pip}), "flux": {}, "targeted": targeted or {}, "end": END,
            "min_samples": MIN_COVER_SAMPLES, "evidence": "[]", "how": "its plume at 0.5 g/s ≥ 3 × noise"}


def _row(e: str, least: int, best: int):
    """A firm's coverage row: usable samples its least- and best-covered stacks reach."""
    return SimpleNamespace(enterprise_id=e, n_cover=least, n_drone=0, t_mean=END.timestamp() - 3600,
                           n_cover_any=best)


def test_a_firm_seen_emitting_with_one_stack_covered_is_suspicious():
    # the 30-day archive's first-ranked emitter: its 26.6 m stack covered, its 44 m hot stack never
    c = _off_site_check(_row("F1", 0, 58), _ctx({"F1": 1.0}))
    assert c["result"] == "suspicious" and c["n_samples_covering"] == 58 and c["emit_probability"] == 1.0
    assert "covered in part" in c["reason"] and "58 usable samples" in c["reason"]
    assert c["time_utc"] == (END - pd.Timedelta(hours=1)).to_pydatetime()
    # every stack covered: suspicious as before, without the "in part"
    full = _off_site_check(_row("F1", 40, 58), _ctx({"F1": 1.0}))
    assert full["result"] == "suspicious" and "covered in part" not in full["reason"]


def test_a_firm_partly_covered_and_not_seen_is_not_clean():
    p = SUSPICIOUS_PIP / 2
    assert _off_site_check(_row("F2", 0, 58), _ctx({"F2": p})) is None  # its other stack could have emitted
    na = _off_site_check(_row("F2", 0, 58), _ctx({"F2": p}, targeted={"F2": "van pass"}))
    assert na["result"] == "not assessable" and "needed" in na["reason"]
    assert _off_site_check(_row("F2", 30, 58), _ctx({"F2": p}))["result"] == "clean"
    # no stack covered: seen or not, no check (the evidence did not come from a covered plume)
    assert _off_site_check(_row("F3", 0, 2), _ctx({"F3": 1.0})) is None
