"""The result and input types shared by the delay estimators: :class:`DelayEstimate` and :class:`TrackArrays`.

Private plumbing of :mod:`ecopatrol.processing.align` and
:mod:`ecopatrol.processing.align_crossings` (here so that neither imports the other's
module for them); import them from :mod:`ecopatrol.processing.align`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class DelayEstimate:
    """A total delay estimate: ``delay_s`` (clock offset + inlet lag) with a confidence in [0, 1]."""

    delay_s: float
    confidence: float
    method: str
    n_pairs: int = 0
    peak_score: float = float("nan")
    curve: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    sd_s: float = float("nan")  # standard error of ``delay_s`` when the method gives one

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.delay_s))


@dataclass
class TrackArrays:
    """A track as sorted numpy arrays: ``t_s`` Unix seconds, metric ``x``/``y``, ``lon``/``lat`` (EPSG:4326)."""

    t_s: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    alt_m: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        order = np.argsort(self.t_s, kind="stable")
        if not np.all(order == np.arange(len(order))):
            for k in ("t_s", "x", "y", "lon", "lat", "alt_m"):
                setattr(self, k, np.asarray(getattr(self, k))[order])
            self.extra = {k: np.asarray(v)[order] for k, v in self.extra.items()}
        # Duplicate times would make zero-length segments: keep the first of each.
        keep = np.r_[True, np.diff(self.t_s) > 0]
        if not keep.all():
            for k in ("t_s", "x", "y", "lon", "lat", "alt_m"):
                setattr(self, k, np.asarray(getattr(self, k))[keep])
            self.extra = {k: np.asarray(v)[keep] for k, v in self.extra.items()}

    def __len__(self) -> int:
        return len(self.t_s)
