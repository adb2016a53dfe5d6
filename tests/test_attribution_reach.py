"""Sources within reach (attribution_reach): the plume matrix evaluated only for the sources that can
reach a block of samples is bit-for-bit the matrix over every source, at every wind offset and
stability shift, and attribution gives the very same table; the cut does leave sources out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from attribution_support import WIND, two_emitter_case
from plume_world import CRS_M

from ecopatrol.core.weather import Wind
from ecopatrol.processing import attribution, attribution_reach, plume, plume_operator


def _with_far_sources(src: pd.DataFrame) -> pd.DataFrame:
    """The toy registry's sources plus copies of them 1.5–7 km away in every direction (upwind,
    downwind, crosswind, beyond reach): candidates the cut must either keep exactly or leave out."""
    out = [src]
    for i, (dx, dy) in enumerate([(-1500, 0), (-4000, 900), (-7000, 0), (3000, 0), (0, 2500), (0, -5000),
                                  (-2500, -2500), (-900, 3000)]):
        c = src.copy()
        c["x_m"] = c["x_m"] + dx
        c["y_m"] = c["y_m"] + dy
        c["source_id"] = c["source_id"] + f"-far{i}"
        out.append(c)
    return pd.concat(out, ignore_index=True)


@pytest.fixture(scope="module")
def case():
    area, _, ann = two_emitter_case()
    src = _with_far_sources(attribution.candidate_sources(area, crs=CRS_M))
    return area, ann, src


def _matrix(op, rows, cut: bool, **kw):
    old = attribution_reach.REACH_CUT
    attribution_reach.REACH_CUT = cut
    try:
        op._memo.clear()
        return op.matrix(rows, **kw)
    finally:
        attribution_reach.REACH_CUT = old


@pytest.mark.parametrize("stability", ["A", "D", "F"])
def test_the_cut_matrix_is_bit_for_bit_the_full_one(case, stability):
    area, ann, src = case
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=Wind(250.0, 3.0, stability), sources=src)
    rng = np.random.default_rng(0)
    for rows in (np.arange(len(ann)), np.sort(rng.choice(len(ann), 300, replace=False)), np.arange(40, 90)):
        for off, shift in ((0.0, 0), (-10.0, 0), (5.0, 1), (10.0, -1)):
            full = _matrix(op, rows, False, offset_deg=off, stability_shift=shift)
            cut = _matrix(op, rows, True, offset_deg=off, stability_shift=shift)
            np.testing.assert_array_equal(cut, full)
            cols = np.arange(0, len(src), 3)
            np.testing.assert_array_equal(_matrix(op, rows, True, cols=cols, offset_deg=off),
                                          _matrix(op, rows, False, cols=cols, offset_deg=off))
    # the cut does leave sources out: upwind-only, beyond max_distance_m, far off the axis
    p = op.passes[op.codes[45]]
    r = np.arange(40, 90)
    keep = attribution_reach.within_reach(op.x[r], op.y[r], src["x_m"].to_numpy(), src["y_m"].to_numpy(),
                                          p.from_deg, p.stability, scheme=op.scheme, max_distance_m=op.max_distance_m)
    assert 0 < keep.sum() < 0.8 * len(src)
    full = _matrix(op, r, False)
    assert (full[:, ~keep] == 0).all()  # what it leaves out is exactly zero


def test_attribution_is_the_same_with_and_without_the_cut(case, monkeypatch):
    area, ann, src = case
    # attribute builds its operator in plume_operator, which looks candidate_sources up there
    monkeypatch.setattr(plume_operator, "candidate_sources", lambda *_a, **_k: src.copy())
    events, event_of = plume.detect_events(ann)
    assert len(events) >= 1
    out = {}
    for cut in (False, True):
        monkeypatch.setattr(attribution_reach, "REACH_CUT", cut)
        out[cut] = attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=WIND)
    pd.testing.assert_frame_equal(out[True][0], out[False][0])  # likelihoods, rates, explanations
    pd.testing.assert_frame_equal(out[True][1], out[False][1])
    assert set(out[True][1]["source_id"]) == set(src["source_id"])  # the far sources were candidates
    ev = out[True][0]
    assert (ev["evidence_kind"] == "event").any() and ev["likelihood"].max() > 0.5


def test_the_memo_returns_copies(case):
    area, ann, src = case
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND, sources=src)
    rows = np.arange(30, 80)
    a = op.matrix(rows)
    a[:] = -1.0  # a caller writing into its matrix does not change the next caller's
    b = op.matrix(rows)
    assert (b >= 0).all() and len(op._memo) == 1
