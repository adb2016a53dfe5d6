"""The report states the visit cut of `targets --visits K` (expected emitters, P(at least one))."""

import pandas as pd

from ecopatrol.maps.i18n import Tr
from ecopatrol.maps.report import _visit_cut, _visited


def _targets(visit):
    return pd.DataFrame({"rank": [1, 2, 3], "enterprise_id": ["a", "b", "c"],
                         "emit_probability": [0.5, 0.5, 0.9], "visit": visit})


def test_visit_cut_sentence_in_both_languages():
    tg = _targets([True, True, False])
    en = _visit_cut(tg, Tr("en"))
    assert "first 2 firms" in en and "1.00 emitters" in en and "75%" in en  # 1 − 0.5 × 0.5
    zh = _visit_cut(tg, Tr("zh"))
    assert "前 2 家" in zh and "75%" in zh


def test_no_visit_column_or_no_visit_says_nothing():
    assert _visit_cut(_targets([False, False, False]), Tr("en")) == ""
    assert _visit_cut(_targets([False] * 3).drop(columns="visit"), Tr("en")) == ""
    assert _visited(pd.DataFrame({"visit": ["True", "False", "1"]})) == [True, False, True]


def test_visit_cut_uses_the_recalibrated_probabilities_when_targets_wrote_them():
    tg = _targets([True, True, False])
    tg["visit_probability"] = [0.1, 0.2, 0.3]  # as `targets --visits` writes it for one evidence folder
    en = _visit_cut(tg, Tr("en"))
    assert "0.30 emitters" in en and "28%" in en and "recalibrated" in en  # 1 − 0.9 × 0.8
    assert "校准" in _visit_cut(tg, Tr("zh"))
