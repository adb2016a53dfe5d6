"""Attribution on a known Gaussian-plume world: upwind candidates, likelihood ranking, NNLS rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plume_world import CRS_M, make_area, van_samples

from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import Wind
from ecopatrol.processing import attribution, plume

EMITTERS = {"E04-S1": 2.0, "E06-S1": 1.0}
WIND = Wind(270, 4, "D")


@pytest.fixture(scope="module")
def world():
    area = make_area()
    s = van_samples(area, EMITTERS, passes=2, seed=7)
    ann = plume.annotate(s)
    events, event_of = plume.detect_events(ann)
    att, rates = attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=WIND)
    return area, ann, events, att, rates


def test_nnls_recovers_the_hidden_rates(world):
    *_, rates = world
    r = rates.set_index("source_id")["rate_g_s"]
    assert r["E04-S1"] == pytest.approx(2.0, rel=0.15)
    assert r["E06-S1"] == pytest.approx(1.0, rel=0.2)
    others = r.drop(["E04-S1", "E06-S1"])
    assert others.sum() < 0.25 * 3.0  # what is left for the innocent is small
    sd = rates.set_index("source_id")["rate_sd_g_s"]
    assert 0 < sd["E04-S1"] < 2.0


def test_every_event_is_attributed_to_a_true_emitter_first(world):
    _, _, events, att, _ = world
    assert len(events) >= 4
    ev = att[att["evidence_kind"] == "event"]
    firsts = ev[ev["rank"] == 1]
    assert set(firsts["evidence_id"]) == set(events["event_id"])
    assert firsts["enterprise_id"].isin(["E04", "E06"]).all()
    # on the far road E04's plume is seen through E07 and E01, collinear along the wind: the group
    # (the first and those it is collinear with) holds most of the weight, the first the largest part
    for r in firsts.itertuples(index=False):
        group = {r.enterprise_id, *str(r.collinear_with or "").split()}
        rows = ev[ev["evidence_id"] == r.evidence_id]
        assert rows.loc[rows["enterprise_id"].isin(group), "likelihood"].sum() > 0.6
        assert r.likelihood > 0.2
    # likelihoods are posterior weights: they never sum above 1 per event
    assert (ev.groupby("evidence_id")["likelihood"].sum() <= 1 + 1e-9).all()


def test_upwind_only(world):
    """Every candidate lies upwind of the evidence: positive downwind distance."""
    _, _, _, att, _ = world
    ev = att[att["evidence_kind"] == "event"]
    assert (ev["distance_m"] > 0).all()


def test_explanation_is_checkable(world):
    _, _, _, att, _ = world
    row = att[(att["evidence_kind"] == "event") & (att["rank"] == 1)].iloc[0]
    text = row["explanation"]
    for piece in ("wind from 270°", "m upwind", "predicts", "observed", row["source_id"], "samples"):
        assert piece in text
    assert row["expected_ugm3"] == pytest.approx(row["observed_ugm3"], rel=0.35)
    assert set(attribution.ATTRIBUTION_COLUMNS) == set(att.columns)


def test_nnls_rows_summarise_all_samples(world):
    _, _, _, att, rates = world
    n = att[att["evidence_id"] == "all-samples"]
    assert set(n["source_id"]) == set(rates.loc[rates["rate_g_s"] > 0, "source_id"])


def test_wind_direction_matters():
    """With the wind reversed the emitters are downwind of the road: no candidate reaches the events."""
    area = make_area()
    ann = plume.annotate(van_samples(area, EMITTERS, passes=1, seed=1, measured_wind=False))
    events, event_of = plume.detect_events(ann)
    att, rates = attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=Wind(90, 4, "D"))
    assert (att["evidence_kind"] == "event").sum() == 0
    assert rates["rate_g_s"].sum() == 0


def test_missing_wind_is_an_input_error():
    area = make_area()
    area.config = {}
    ann = plume.annotate(van_samples(area, EMITTERS, passes=1, measured_wind=False))
    events, event_of = plume.detect_events(ann)
    with pytest.raises(InputError, match="--wind"):
        attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=None)


def test_unannotated_samples_are_refused():
    area = make_area()
    with pytest.raises(InputError, match="annotate"):
        attribution.attribute(van_samples(area, EMITTERS, passes=1), None, area, crs=CRS_M)


def test_enterprises_without_stacks_get_site_sources():
    area = make_area()
    area.sources = area.sources.iloc[:4]
    c = attribution.candidate_sources(area, crs=CRS_M)
    assert len(c) == 9
    site = c[c["source_id"].str.endswith("-site")]
    assert len(site) == 5 and (site["height_m"] == attribution.DEFAULT_SITE_SOURCE_HEIGHT_M).all()


def test_deterministic(world):
    area, ann, events, att, _ = world
    _, event_of = plume.detect_events(ann)
    att2, _ = attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=WIND)
    assert att2.equals(att)


def test_an_isolated_spike_does_not_earn_a_source_a_rate():
    """A 3-sample traffic spike on one pass: without the minimum support some plume edge takes it
    (a spurious rate); with it (≥ 5 samples at ≥ 2 noise sd, seen, on ≥ 2 passes) that source gets 0."""
    area = make_area()
    s = van_samples(area, EMITTERS, passes=2, seed=7)
    ann = plume.annotate(s)
    op0 = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    a = op0.matrix(np.arange(len(ann)))
    innocent = ~op0.sources["source_id"].isin(list(EMITTERS)).to_numpy()
    # where an innocent source's plume edge reaches but no emitter's does, on the first pass
    lure = np.where(ann["pass_id"].to_numpy() == ann["pass_id"].iloc[0],
                    a[:, innocent].max(1) / (a[:, ~innocent].sum(1) + 1e-3), -1.0)
    i = int(np.argmax(lure))
    ann.loc[ann.index[i:i + 3], "tvoc_ugm3"] += 150.0
    ann = plume.annotate(ann[s.columns])
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    enh, noise = ann["tvoc_ugm3_enh"].to_numpy(float), ann["tvoc_ugm3_noise"].to_numpy(float)
    loose = attribution.estimate_rates(op, enh, noise, min_support=0).set_index("source_id")["rate_g_s"]
    strict = attribution.estimate_rates(op, enh, noise).set_index("source_id")["rate_g_s"]
    spurious = loose.drop(["E04-S1", "E06-S1"])
    assert spurious.max() > 0.3, "the spike should tempt the unconstrained fit"
    assert strict.drop(["E04-S1", "E06-S1"]).max() < 0.5 * spurious.max()
    assert strict["E04-S1"] == pytest.approx(2.0, rel=0.2)


# --- single-source likelihood: collinear candidates share, off-axis candidates do not ----------

COLLINEAR = ("E01", "E04", "E07")  # in one line along the wind from 270°, 300 m apart


@pytest.fixture(scope="module")
def collinear_world():
    """One emitter, E04, seen from a single road 1100 m downwind: E01 (300 m upwind of it) and
    E07 (300 m downwind), on the same line, make plumes of nearly the same shape there, so the
    all-samples NNLS gives all of it to E04 and E01 gets 0, while the data cannot really tell
    them apart."""
    area = make_area()
    s = van_samples(area, {"E04-S1": 2.0}, road_x_m=(1400.0,), passes=2, seed=3)
    ann = plume.annotate(s)
    events, event_of = plume.detect_events(ann)
    att, rates = attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=WIND)
    return area, ann, events, att, rates


def test_collinear_candidates_share_the_likelihood_that_nnls_gives_to_one(collinear_world):
    *_, att, rates = collinear_world
    r = rates.set_index("enterprise_id")["rate_g_s"]
    assert r["E01"] < 0.05 * r["E04"]  # NNLS: one of the pair takes (almost) everything
    ev = att[att["evidence_kind"] == "event"]
    assert len(ev["evidence_id"].unique()) >= 2
    for _, rows in ev.groupby("evidence_id"):
        w = rows.groupby("enterprise_id")["likelihood"].sum()
        assert w.get("E01", 0.0) > 0.15 and w.get("E04", 0.0) > 0.15  # both substantial
        unrelated = w.drop(list(COLLINEAR), errors="ignore")
        assert unrelated.max() < min(w["E01"], w["E04"])  # both above every unrelated firm
        e04 = rows[rows["enterprise_id"] == "E04"].iloc[0]
        assert "E01" in e04["collinear_with"].split()
        assert "collinear along the wind" in e04["explanation"]
        assert e04["group_rate_g_s"] == pytest.approx(2.0, rel=0.25)  # the pair's total is determined
        assert e04["expected_ugm3"] == pytest.approx(e04["observed_ugm3"], rel=0.35)


def test_collinear_pair_both_rank_above_unrelated_firms(collinear_world, monkeypatch):
    """The per-item route on its own (``ITEM_WEIGHT`` = 1, no sparse attribution): the events'
    shared likelihood puts the whole collinear line first."""
    from types import SimpleNamespace

    import ecopatrol.processing.targeting as targeting
    from ecopatrol.processing.targeting import rank_targets

    monkeypatch.setattr(targeting, "ITEM_WEIGHT", 1.0)

    area, _, events, att, _ = collinear_world
    ev = SimpleNamespace(attribution=att, events=events, hotspots=pd.DataFrame(), flux=pd.DataFrame(),
                         summary={"end_utc": "2026-05-12T03:00:00Z"})
    t = rank_targets(ev, area)
    assert set(t["enterprise_id"].head(3)) == set(COLLINEAR)
    e01 = t.set_index("enterprise_id").loc["E01"]
    assert e01["evidence_score"] > 0.3 and "collinear along the wind" in e01["reasons"]


def test_a_candidate_beside_the_plume_gets_no_weight(collinear_world):
    """E03 and E05 stand 300 m crosswind of the emitter at the same distance: wrong side of the
    plume, ~0 weight (their plumes cannot put the peak where it was seen)."""
    *_, att, _ = collinear_world
    ev = att[att["evidence_kind"] == "event"]
    for _, rows in ev.groupby("evidence_id"):
        w = rows.groupby("enterprise_id")["likelihood"].sum()
        assert w.get("E03", 0.0) < 0.01 and w.get("E05", 0.0) < 0.01


def test_single_source_likelihood_directly():
    """On a clean plume of E04 alone: E04 and its collinear neighbours carry the weight, sources
    beside the plume ~0, the single-source rate recovers the true rate."""
    area = make_area()
    ann = plume.annotate(van_samples(area, {"E04-S1": 2.0}, road_x_m=(1400.0,), passes=1, seed=5))
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    enh, noise = ann["tvoc_ugm3_enh"].to_numpy(float), ann["tvoc_ugm3_noise"].to_numpy(float)
    rows = np.flatnonzero(ann["tvoc_ugm3_exceed"].to_numpy(bool))
    rows = np.arange(max(rows.min() - 60, 0), min(rows.max() + 60, len(ann)))
    out = attribution.single_source_likelihood(op, rows, enh, noise)
    ent = op.sources["enterprise_id"].to_numpy()
    out["enterprise_id"] = ent[out["col"].to_numpy(int)]
    w = out.set_index("enterprise_id")["weight"]
    assert w.sum() + out.attrs["null_weight"] + out.attrs["unknown_weight"] == pytest.approx(1.0)
    assert w["E04"] == w.max()
    assert w.get("E03", 0.0) < 0.01 and w.get("E05", 0.0) < 0.01
    assert out.set_index("enterprise_id").loc["E04", "rate_g_s"] == pytest.approx(2.0, rel=0.2)
    assert out.attrs["null_weight"] < 1e-3


# --- sparse attribution ("signals"): which sources emit, with what probability -----------------

def test_sum_of_single_effects_finds_two_columns_and_leaves_the_rest_empty():
    """A textbook case: y = 2 x₃ + 1 x₇ + noise among 20 independent columns; two signals sit on
    columns 3 and 7 with probability ~1 and rates near the truth, the other slots stay empty."""
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(400, 20)))
    y = 2.0 * X[:, 3] + 1.0 * X[:, 7] + rng.normal(0, 1.0, 400)
    lp = np.full(20, -np.log(20))
    alpha, mean, null = attribution.sum_of_single_effects(X, y, lp, n_effects=5, sigma2=1.0)
    pip = 1 - np.prod(1 - alpha, axis=0)
    assert pip[3] > 0.99 and pip[7] > 0.99
    assert np.delete(pip, [3, 7]).max() < 0.2
    assert (null > 0.5).sum() == 3  # three of the five slots unused
    for j, rate in ((3, 2.0), (7, 1.0)):
        l_ = int(np.argmax(alpha[:, j]))
        assert mean[l_, j] == pytest.approx(rate, rel=0.15)


def test_sum_of_single_effects_shares_identical_columns_and_finds_nothing_in_noise():
    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(size=300))
    X = np.c_[x, x, np.abs(rng.normal(size=(300, 3)))]  # columns 0 and 1 are the same plume
    lp = np.full(5, -np.log(5))
    alpha, _, _ = attribution.sum_of_single_effects(X, 1.5 * x + rng.normal(0, 1, 300), lp, n_effects=3, sigma2=1.0)
    pip = 1 - np.prod(1 - alpha, axis=0)
    assert pip[0] == pytest.approx(pip[1], abs=1e-6) and pip[0] > 0.4  # shared, not given to one at random
    assert alpha[:, :2].sum() == pytest.approx(1.0, abs=0.02)  # …and together they hold one signal
    # only noise: every slot is most probably empty
    _, _, null = attribution.sum_of_single_effects(X, rng.normal(0, 1, 300), lp, n_effects=3, sigma2=1.0)
    assert (null > 0.5).all()


def test_sum_of_single_effects_with_row_weights_equals_the_whitened_problem():
    """``weighted = Ω ∘ X`` with Ω the same for every column is the whitened regression."""
    rng = np.random.default_rng(4)
    X = np.abs(rng.normal(size=(200, 8)))
    y = 1.5 * X[:, 2] + rng.normal(0, 1.0, 200) * np.linspace(0.5, 3.0, 200)
    w = 1.0 / np.linspace(0.5, 3.0, 200)
    lp = np.full(8, -np.log(8))
    a1, m1, n1 = attribution.sum_of_single_effects(X * w[:, None], y * w, lp, n_effects=3, sigma2=2.0)
    a2, m2, n2 = attribution.sum_of_single_effects(X, y, lp, n_effects=3, sigma2=2.0, weighted=X * (w**2)[:, None])
    np.testing.assert_allclose(a1, a2, atol=1e-9)
    np.testing.assert_allclose(m1, m2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(n1, n2, atol=1e-9)


def test_one_near_field_sample_does_not_veto_the_source_of_the_plume(monkeypatch):
    """A pass through an emitter's plume (1 g/s) where, a few metres from the stack, the model
    says 3000 µg/m³ and the analyser saw the plume's usual ~80; a neighbour's plume overlaps
    the far half. Weighing that sample by what was seen alone lets it veto the emitter and the
    neighbour takes the signal; weighing it by the larger of seen and said (a model is wrong in
    proportion to what it says) gives the signal back to the emitter."""
    from scipy import sparse

    rng = np.random.default_rng(3)
    t = np.arange(60)
    emitter = 80 * np.exp(-0.5 * ((t - 30) / 6.0) ** 2)
    neighbour = 60 * np.exp(-0.5 * ((t - 40) / 8.0) ** 2)
    y = emitter + rng.normal(0, 2.0, t.size)
    emitter[30] = 3000.0  # the model's near-field spike
    co = sparse.coo_matrix(np.c_[emitter, neighbour])

    def pip():
        X, XW, yy = attribution._weighted_block(co, np.ones(2), y, np.full(t.size, 2.0), 0.2)
        a, _, _ = attribution.sum_of_single_effects(X, yy, np.full(2, -np.log(2)), n_effects=1, sigma2=10.0,
                                                    weighted=XW)
        return a[0]

    p = pip()
    assert p[0] > 0.6 and p[0] > 2 * p[1]
    monkeypatch.setattr(attribution, "SIGNAL_MODEL_RATE_G_S", 0.0)  # weigh by what was seen only
    p_seen = pip()
    assert p_seen[1] > 10 * p_seen[0]


def test_an_enterprises_stacks_sharing_one_signal_add_up():
    """Three stacks of firm A share signal 0 (0.5, 0.35, 0.15): A is certain, though no single stack
    is; firm B's one stack is signal 1 at 0.6, firm C's at 0.3."""
    alpha = np.array([[0.5, 0.35, 0.15, 0.0, 0.0],
                      [0.0, 0.0, 0.0, 0.6, 0.3]])
    sig = attribution.Signals(alpha, np.ones_like(alpha), np.array([0.0, 0.1]))
    firm = sig.group_pip(np.array(["A", "A", "A", "B", "C"]))
    assert firm[:3] == pytest.approx([1.0, 1.0, 1.0])
    assert sig.pip[:3].max() < 0.6 and 1 - np.prod(1 - sig.pip[:3]) < 0.75  # stacks taken apart undercount
    assert firm[3] == pytest.approx(0.6) and firm[4] == pytest.approx(0.3)
    two = attribution.Signals(np.array([[0.5], [0.5]]), np.ones((2, 1)), np.zeros(2))
    assert two.group_pip(np.array(["A"]))[0] == pytest.approx(0.75)  # across signals: 1 − Π (1 − ·)


def test_signals_name_the_emitters_of_the_plume_world(world):
    """Van passes over the two-emitter world: E04 and E06 each carry a signal; the innocent firms
    (not collinear with them) get a small probability."""
    area, ann, _, att, rates = world
    pip = rates.groupby("enterprise_id")["pip"].apply(lambda p: 1 - np.prod(1 - p))
    assert pip["E04"] > 0.9 and pip["E06"] > 0.9
    assert pip.drop(["E04", "E06", *COLLINEAR], errors="ignore").max() < 0.3
    firm = rates.groupby("enterprise_id")["enterprise_pip"].max()
    assert (firm >= rates.groupby("enterprise_id")["pip"].max() - 1e-12).all()
    assert firm["E04"] > 0.9 and firm["E06"] > 0.9
    sig = att[att["evidence_kind"] == "signal"]
    assert {"E04", "E06"} <= set(sig.loc[sig["rank"] == 1, "enterprise_id"])
    row = sig[(sig["enterprise_id"] == "E04") & (sig["rank"] == 1)].iloc[0]
    assert row["evidence_rate_g_s"] == pytest.approx(2.0, rel=0.35)
    for piece in ("signal S", "probability", "g/s if so", "observed", row["source_id"]):
        assert piece in row["explanation"]
    assert (sig.groupby("evidence_id")["likelihood"].sum() <= 1 + 1e-9).all()


def test_signals_on_a_collinear_line_favour_the_emitter_and_ignore_the_firms_beside_it(collinear_world):
    """E01 – E04 – E07 on one line along the wind, seen from one road. In this world the plume
    model is exact, so the plume's width tells the distance: the signal goes to E04; its
    neighbours on the line keep more probability than the firms 300 m beside the plume, which
    get ~0, and the rate is recovered."""
    *_, att, rates = collinear_world
    pip = rates.groupby("enterprise_id")["pip"].apply(lambda p: 1 - np.prod(1 - p))
    assert pip["E04"] > 0.9
    beside = max(pip.get("E03", 0.0), pip.get("E05", 0.0))
    assert beside < 0.01
    assert min(pip["E01"], pip["E07"]) > 2 * beside
    sig = att[(att["evidence_kind"] == "signal") & (att["enterprise_id"] == "E04")].iloc[0]
    assert sig["evidence_rate_g_s"] == pytest.approx(2.0, rel=0.3)


def test_species_ratios_tell_apart_two_firms_with_the_same_plume():
    """A printing works (toluene-rich profile) stands on the very spot of E04 (a machinery firm):
    their plumes are identical, so TVOC alone splits the signal between them; the BTX ratios
    measured with it — E04's profile — give it to E04."""
    from ecopatrol.core.profiles import SPECIES, species_profile, ugm3_to_ppb
    from plume_world import plume_conc

    area = make_area()
    twin_e = area.enterprises[area.enterprises["enterprise_id"] == "E04"].assign(
        enterprise_id="E90", name="Twin printer", industry="packaging printing")
    twin_s = area.sources[area.sources["enterprise_id"] == "E04"].assign(enterprise_id="E90", source_id="E90-S1")
    area.enterprises = pd.concat([area.enterprises, twin_e], ignore_index=True)
    area.sources = pd.concat([area.sources, twin_s], ignore_index=True)
    s = van_samples(area, {"E04-S1": 2.0}, road_x_m=(1400.0,), passes=2, seed=11)
    from ecopatrol.core.crs import lonlat_to_xy

    x, y = lonlat_to_xy(s["lon"].to_numpy(), s["lat"].to_numpy(), CRS_M)
    pl = plume_conc(area, {"E04-S1": 2.0}, x, y, np.full(len(x), 2.5), wind_from_deg=270.0, wind_speed_m_s=4.0)
    rng = np.random.default_rng(2)
    frac = species_profile("machinery")
    for sp, f, bg in zip(SPECIES, frac, (0.4, 1.2, 0.6), strict=True):
        s[f"{sp}_ppb"] = bg + ugm3_to_ppb(pl * f, sp) + rng.normal(0, 0.02, len(s))

    def pip_of(samples):
        ann = plume.annotate(samples)
        ann = plume.annotate_btx(ann)
        events, event_of = plume.detect_events(ann)
        _, rates = attribution.attribute(ann, events, area, crs=CRS_M, event_of=event_of, wind=WIND)
        return rates.groupby("enterprise_id")["pip"].apply(lambda p: 1 - np.prod(1 - p))

    tvoc_only = pip_of(s.drop(columns=[f"{sp}_ppb" for sp in SPECIES]))
    assert tvoc_only["E04"] == pytest.approx(tvoc_only["E90"], abs=0.05)  # identical plumes: shared
    with_btx = pip_of(s)
    assert with_btx["E04"] > 0.9 and with_btx["E90"] < 0.1


# --- confusable candidates (issue 16): a signal's evidence between look-alikes bounded by the model error ---


def _confusable_case():
    """Two candidates 0 (the emitter) and 1 (its neighbour) whose plumes on one pass are nearly the
    same shape (cosine ≈ 0.97), and a far firm 2. The emitter's plume arrives wider than its model
    says (the particle world near a building), so the data, strong as it is, fit the neighbour's
    nominal plume better: the sum of single effects gives the neighbour the signal and drops the
    emitter."""
    from scipy import sparse

    t = np.arange(200.0)
    emitter = 40 * np.exp(-0.5 * ((t - 100) / 10.0) ** 2)
    neighbour = 40 * np.exp(-0.5 * ((t - 103) / 13.0) ** 2)
    far = 40 * np.exp(-0.5 * ((t - 170) / 8.0) ** 2)
    rng = np.random.default_rng(5)
    y = 2.0 * 40 * np.exp(-0.5 * ((t - 101) / 14.0) ** 2) + rng.normal(0, 1.0, t.size)  # 2 g/s, wider
    X = sparse.csc_matrix(np.c_[emitter, neighbour, far])
    lp = np.full(3, -np.log(3))
    a, m, null = attribution.sum_of_single_effects(X, y, lp, n_effects=1, sigma2=1.0)
    gram = (X.T @ X).tocsr()
    cos01 = gram[0, 1] / np.sqrt(gram[0, 0] * gram[1, 1])
    return X, y, lp, a, m, null, gram, cos01


def test_sum_of_single_effects_drops_the_emitter_whose_plume_is_misfit():
    *_, a, _, _, _, cos01 = _confusable_case()
    assert cos01 > 1 - 0.5 * 0.5**2  # within one model-error sd (0.5) of each other
    assert a[0, 1] > 0.99 and a[0, 0] < 1e-3  # the fit alone: the neighbour takes it all


def test_confusable_candidates_share_the_signal_the_fit_gives_to_one():
    """``spread_confusable``: over one shared pass, the emitter and the neighbour differ by at most
    (1 − cos) / 0.5² nats, so the emitter is no longer dropped (both well above the far firm,
    which keeps its ~0), and the signal's presence is unchanged."""
    from ecopatrol.processing.sparse_regression import spread_confusable

    X, y, lp, a, m, null, gram, cos01 = _confusable_case()
    one_view = lambda t: np.ones(3)  # noqa: E731 - every candidate seen on the same single pass
    s = spread_confusable(a, null, lp, gram, one_view, rel_sd=0.5)
    assert s[0].sum() == pytest.approx(a[0].sum(), rel=1e-9)  # presence kept, only shared anew
    assert s[0, 0] > 0.3 and s[0, 1] > 0.3
    assert s[0, 0] / s[0, 1] == pytest.approx(np.exp(-(1 - cos01) / 0.25), rel=1e-6)  # the bound, exactly
    assert s[0, 2] == pytest.approx(a[0, 2], abs=1e-12)  # not a look-alike: untouched
    # several independent views of the two plumes tell them apart further (the bound grows per view)
    s10 = spread_confusable(a, null, lp, gram, lambda t: np.full(3, 10.0), rel_sd=0.5)
    assert s10[0, 0] < s[0, 0]
    # no model error, nothing bounded
    np.testing.assert_allclose(spread_confusable(a, null, lp, gram, one_view, rel_sd=0.0), a)


def test_the_model_error_of_the_fit_itself_bounds_only_a_misfit_plume():
    """``_confusable_rel_sd``: the relative misfit the signal's own fit shows (at most 0.5). A plume
    the model fits within its noise keeps the data's discrimination (rel sd ≈ 0); the misfit wider
    plume of the constructed case is near the cap."""
    from scipy import sparse

    X, y, lp, a, m, null, gram, _ = _confusable_case()
    rel = attribution._confusable_rel_sd(X, X, y, a, m, 0.5)  # whitened: Ω = 1
    assert rel[0] > 0.1
    rng = np.random.default_rng(6)
    exact = 2.0 * X[:, [0]].toarray().ravel() + rng.normal(0, 1.0, X.shape[0])
    a2, m2, n2 = attribution.sum_of_single_effects(X, exact, lp, n_effects=1, sigma2=1.0)
    assert a2[0, 0] > 0.9
    rel2 = attribution._confusable_rel_sd(X, X, exact, a2, m2, 0.5)
    assert rel2[0] < 0.05
    s = attribution.spread_confusable(a2, n2, lp, sparse.csr_matrix(gram), lambda t: np.ones(3), rel_sd=rel2)
    assert s[0, 0] > 0.9  # the emitter the model fits keeps its signal


def test_confusable_spreading_is_off_by_default_and_keeps_the_emitter_when_on(world, monkeypatch):
    """``SIGNAL_CONFUSABLE`` (evaluated, not adopted): off, the signals are as before; on, the two
    emitters of the plume world still carry their signals."""
    area, ann, _, _, rates = world
    assert attribution.SIGNAL_CONFUSABLE is False
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    enh, noise = ann["tvoc_ugm3_enh"].to_numpy(float), ann["tvoc_ugm3_noise"].to_numpy(float)
    design = attribution._design(op, enh, noise, None, 10**9, 0)
    off = attribution.emission_signals(op, enh, noise, design=design)
    monkeypatch.setattr(attribution, "SIGNAL_CONFUSABLE", True)
    on = attribution.emission_signals(op, enh, noise, design=design)
    firm = op.sources["enterprise_id"].astype(str).to_numpy()
    p_on = pd.Series(on.group_pip(firm), index=firm).groupby(level=0).max()
    assert p_on["E04"] > 0.9 and p_on["E06"] > 0.9
    np.testing.assert_allclose(on.null, off.null, atol=1e-12)  # presence unchanged, only shared


# --- signals marginalised over the stability class ± 1 (issue 16, fourth pass; an option, off) ---


def _wider_plume_case():
    """One emitter, E04, whose plume arrives one class wider (C) than the analysis's class (D); E01
    stands 300 m upwind of it on the same line. Returns the operator, enhancement, noise, design, firms."""
    area = make_area()
    s = van_samples(area, {"E04-S1": 2.0}, passes=2, seed=7, stability="C")
    ann = plume.annotate(s)
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    enh, noise = ann["tvoc_ugm3_enh"].to_numpy(float), ann["tvoc_ugm3_noise"].to_numpy(float)
    design = attribution._design(op, enh, noise, None, 10**9, 0)
    return op, enh, noise, design, op.sources["enterprise_id"].astype(str).to_numpy()


def _firm_pip(sig, firm) -> pd.Series:
    return pd.Series(sig.group_pip(firm), index=firm).groupby(level=0).max()


def test_a_plume_wider_than_its_class_keeps_its_signal_with_the_stability_marginal(monkeypatch):
    """``SIGNAL_STABILITY_MARGINAL``: at the analysis's one σ curve the wider plume of E04 fits the
    upwind neighbour E01's nominal plume better, and E01 takes the signal; with the class ± 1
    marginalised (the per-event likelihood's prior ¼, ½, ¼) E04 is first again."""
    op, enh, noise, design, firm = _wider_plume_case()
    off = _firm_pip(attribution.emission_signals(op, enh, noise, design=design), firm)
    assert off["E04"] < 0.2 and off["E01"] > 0.9  # the fragile case: the signal goes to the neighbour
    monkeypatch.setattr(attribution, "SIGNAL_STABILITY_MARGINAL", True)
    sig = attribution.emission_signals(op, enh, noise, design=design)
    on = _firm_pip(sig, firm)
    assert on["E04"] > 0.5 and on.idxmax() == "E04"
    assert sig.alpha.shape == (attribution.SIGNAL_EFFECTS, len(op.sources))  # summed back over the classes
    assert (sig.alpha.sum(1) <= 1 + 1e-9).all()
    # the all-samples fit from sufficient statistics runs the same iterations on the same columns
    from ecopatrol.processing import attribution_reduce as ar

    red = ar.reduced_design(op, enh, noise)
    on_red = _firm_pip(ar.emission_signals_reduced(op, enh, noise, red), firm)
    assert on_red["E04"] == pytest.approx(on["E04"], abs=0.05)


def test_the_stability_marginal_is_off_by_default_and_changes_nothing_then(world):
    """Off (the default), the signals' columns, prior and probabilities are the design's as they were."""
    from scipy import sparse

    assert attribution.SIGNAL_STABILITY_MARGINAL is False
    assert attribution.SIGNAL_STABILITY_AVERAGE_DESIGN is False
    area, ann, *_ = world
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    enh, noise = ann["tvoc_ugm3_enh"].to_numpy(float), ann["tvoc_ugm3_noise"].to_numpy(float)
    rows, A = attribution._design(op, enh, noise, None, 10**9, 0)
    cols = np.flatnonzero(attribution._touched(A) >= attribution.MIN_TOUCHED)
    A_fit, fit_cols, species_fit, log_prior = attribution._signal_columns(op, rows, sparse.csc_matrix(A), cols,
                                                                         noise, None)
    assert fit_cols is cols and species_fit is None and A_fit.shape == A.shape
    np.testing.assert_allclose(np.exp(log_prior).sum(), 1.0)
    a = np.random.default_rng(0).random((3, len(cols)))
    assert attribution._signal_collapse(a, a, len(cols))[0] is a
    # the per-event likelihood's stability prior is the one factored out
    shifts, lp = attribution.stability_log_prior()
    assert shifts == attribution.STABILITY_SHIFTS
    np.testing.assert_allclose(np.exp(lp), attribution.STABILITY_PRIOR)


# --- a signal's rate free from pass to pass (issue 16, fifth pass; an option, off) ---


def test_grouped_effects_reduce_to_the_constant_rate_as_the_spread_vanishes():
    """``sum_of_single_effects(groups=…, group_rel_sd=τ)``: as τ → 0 the closed-form integral over each
    group's rate gives the constant-rate fit's probabilities (the level's grid, not an exact formula)."""
    from scipy import sparse

    rng = np.random.default_rng(1)
    n, p = 300, 40
    X = np.zeros((n, p))
    for j in range(p):
        c = rng.integers(0, n - 20)
        X[c:c + 15, j] = rng.uniform(0.5, 2, 15)
    b = np.zeros(p)
    b[3], b[17] = 2.0, 1.0
    y = X @ b + rng.normal(0, 1, n)
    Xs, lp, groups = sparse.csc_matrix(X), np.full(p, -np.log(p)), np.arange(n) // 30
    const = attribution.sum_of_single_effects(Xs, y, lp, sigma2=1.0)
    tiny = attribution.sum_of_single_effects(Xs, y, lp, sigma2=1.0, groups=groups, group_rel_sd=1e-3)
    np.testing.assert_allclose(tiny.alpha, const.alpha, atol=1e-3)
    np.testing.assert_allclose(tiny.null, const.null, atol=1e-3)
    used = const.alpha > 0.05
    np.testing.assert_allclose(tiny.mean[used], const.mean[used], rtol=0.02)
    free = attribution.sum_of_single_effects(Xs, y, lp, sigma2=1.0, groups=groups, group_rel_sd=1.0)
    assert free.pip[3] > 0.95 and free.pip[17] > 0.9  # the true columns keep their effects
    assert np.delete(free.pip, [3, 17]).max() < 0.2
    with pytest.raises(ValueError, match="sparsity"):
        attribution.sum_of_single_effects(Xs, y, lp, weighted=sparse.csc_matrix(np.eye(n, p)), groups=groups,
                                          group_rel_sd=1.0)


def _batch_case():
    """E04 emits 2 g/s on the first two passes of the van and a tenth of it on the last two (a batch
    process); E01 stands 300 m upwind on the same line. Returns the operator, enhancement, noise,
    design and the firm of each source."""
    area = make_area()
    s = van_samples(area, {"E04-S1": 2.0}, passes=2, seed=7)
    s0 = van_samples(area, {}, passes=2, seed=7)  # the same noise, no plume
    late = s["pass_id"].isin([3, 4]).to_numpy()
    s["tvoc_ugm3"] = s0["tvoc_ugm3"] + (s["tvoc_ugm3"] - s0["tvoc_ugm3"]) * np.where(late, 0.1, 1.0)
    ann = plume.annotate(s)
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    enh, noise = ann["tvoc_ugm3_enh"].to_numpy(float), ann["tvoc_ugm3_noise"].to_numpy(float)
    design = attribution._design(op, enh, noise, None, 10**9, 0)
    return op, enh, noise, design, op.sources["enterprise_id"].astype(str).to_numpy()


def test_a_batch_emitter_keeps_its_signal_with_the_rate_free_per_pass(monkeypatch):
    """``SIGNAL_PASS_RATE_SD``: one rate for the survey cannot fit a firm that emitted on two passes and
    hardly on the next two, and the upwind neighbour, whose plume reaches the samples differently, takes
    the signal; with each pass's rate free around the firm's level (τ = 1) the emitter is first again.
    The all-samples fit (``attribution_reduce``) gives the same probabilities."""
    from ecopatrol.processing import attribution_reduce as ar

    assert attribution.SIGNAL_PASS_RATE_SD == 0.0  # off by default
    op, enh, noise, design, firm = _batch_case()
    off = _firm_pip(attribution.emission_signals(op, enh, noise, design=design), firm)
    assert off.idxmax() == "E01" and off["E04"] < 0.5  # the fragile case
    monkeypatch.setattr(attribution, "SIGNAL_PASS_RATE_SD", 1.0)
    on = _firm_pip(attribution.emission_signals(op, enh, noise, design=design), firm)
    assert on.idxmax() == "E04" and on["E04"] > 0.7 and on["E01"] < 0.2
    red = _firm_pip(ar.emission_signals_reduced(op, enh, noise, ar.reduced_design(op, enh, noise)), firm)
    assert red["E04"] == pytest.approx(on["E04"], abs=0.02) and red["E01"] == pytest.approx(on["E01"], abs=0.02)


def test_the_rate_free_per_pass_keeps_the_emitters_of_the_plume_world(world, monkeypatch):
    """With the option on, the exact plume world's two emitters keep their signals and the firm with no
    emission stays low: freedom of amplitude does not hand the plumes to the neighbours."""
    area, ann, *_ = world
    monkeypatch.setattr(attribution, "SIGNAL_PASS_RATE_SD", 1.0)
    op = attribution.build_operator(ann, area, crs=CRS_M, wind=WIND)
    enh, noise = ann["tvoc_ugm3_enh"].to_numpy(float), ann["tvoc_ugm3_noise"].to_numpy(float)
    sig = attribution.emission_signals(op, enh, noise, design=attribution._design(op, enh, noise, None, 10**9, 0))
    p = _firm_pip(sig, op.sources["enterprise_id"].astype(str).to_numpy())
    assert p["E04"] > 0.85 and p["E06"] > 0.85
    assert p.drop(["E04", "E06"]).max() < 0.2
