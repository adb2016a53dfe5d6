"""The shared attribution case: two hidden emitters on the toy area, three van passes, a steady wind.

A helper module, not a test module: ``tests/test_attribution_speed.py``,
``tests/test_attribution_reduce.py`` and ``tests/test_attribution_reach.py`` build their module
fixtures from :func:`two_emitter_case` (the same seed gives the same samples), so the case each
checks is written once.
"""

from __future__ import annotations

import pandas as pd
from plume_world import FakeArea, make_area, van_samples

from ecopatrol.core.weather import Wind
from ecopatrol.processing import plume

WIND = Wind(270.0, 4.0, "D")
#: Hidden emitters and their rates (g/s).
EMITTERS = {"E04-S1": 2.0, "E06-S1": 1.0}


def two_emitter_case(*, passes: int = 3, seed: int = 11) -> tuple[FakeArea, pd.DataFrame, pd.DataFrame]:
    """``(area, samples, annotated samples)``: :data:`EMITTERS` seen by ``passes`` van passes."""
    area = make_area()
    s = van_samples(area, EMITTERS, passes=passes, seed=seed)
    return area, s, plume.annotate(s)
