"""Source profiles: industry keyword matching (English and Chinese) and ppb ⇄ µg/m³."""

from __future__ import annotations

import pytest

from ecopatrol.core.profiles import SPECIES, ppb_to_ugm3, species_profile, ugm3_to_ppb


@pytest.mark.parametrize(("industry", "richest"), [
    ("packaging printing", "toluene"), ("包装印刷", "toluene"), ("surface coating", "xylene"),
    ("家具", "xylene"), ("chemicals", "toluene"), ("化工", "toluene")])
def test_industry_keywords_pick_their_profile(industry, richest):
    prof = dict(zip(SPECIES, species_profile(industry), strict=True))
    assert max(prof, key=prof.get) == richest
    assert 0 < sum(prof.values()) < 1  # a share of the TVOC rate


def test_chemical_plants_carry_more_benzene_than_printers_and_unknown_industries_get_the_default():
    assert species_profile("chemicals")[0] > 5 * species_profile("packaging printing")[0]
    assert species_profile(None) == species_profile("machinery") == species_profile("")


def test_ppb_and_ugm3_round_trip_at_25_c():
    assert ppb_to_ugm3(1.0, "benzene") == pytest.approx(78.11 / 24.465)
    for sp in SPECIES:
        assert ugm3_to_ppb(ppb_to_ugm3(3.7, sp), sp) == pytest.approx(3.7)
