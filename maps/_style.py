"""Shared symbology of the interactive map, the static figures and the report."""

from __future__ import annotations

import html
from pathlib import Path

from ecopatrol.core import settings
from ecopatrol.core.io import atomic_write

import numpy as np

#: Fill colours of hotspot polygons by Gi* confidence (percent).
CONFIDENCE_COLOURS = {99: "#b10026", 95: "#e31a1c", 90: "#fd8d3c"}
#: Van leg styles by kind: the van is teal (the drone purple), monitoring legs bold.
LEG_STYLES = {
    "monitoring": {"color": "#00796b", "weight": 6, "opacity": 0.95},
    "background": {"color": "#4db6ac", "weight": 5, "opacity": 0.9, "dashArray": "12 5"},
    "transit": {"color": "#5f8f8b", "weight": 3, "opacity": 0.75, "dashArray": "6 6"},
}
#: Drone sorties: shades of purple, one per sortie (the van is teal).
DRONE_COLOURS = ("#6a1b9a", "#9c27b0", "#4a148c", "#ba68c8", "#7b1fa2")
ZONE_STYLES = {
    "no-fly": {"color": "#a50f15", "weight": 2, "fillColor": "#de2d26", "fillOpacity": 0.25},
    "restricted": {"color": "#d94801", "weight": 2, "fillColor": "#fd8d3c", "fillOpacity": 0.15,
                   "dashArray": "5 5"},
}
# no purple and no teal here: those are the drone's and the van's colours
_QUALITATIVE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#8c564b", "#e377c2", "#bcbd22", "#d62728",
                "#7f7f7f", "#637939", "#e6ab02")
#: Number of colour classes for concentrations.
N_CONC_CLASSES = 7
TIMEZONE_DISPLAY = settings.DEFAULT_TIMEZONE


def drone_colours(n: int) -> list[str]:
    """``n`` purple shades for drone sorties, repeating."""
    return [DRONE_COLOURS[i % len(DRONE_COLOURS)] for i in range(n)]


def palette(n: int) -> list[str]:
    """``n`` distinct colours, repeating after ten."""
    return [_QUALITATIVE[i % len(_QUALITATIVE)] for i in range(n)]


def industry_colours(industries) -> dict[str, str]:
    """Stable colour per industry: the most frequent get the first colours, ties by name."""
    vals = [str(v) for v in industries if v is not None and str(v) != "nan"]
    uniq, counts = np.unique(np.asarray(vals, dtype=object), return_counts=True) if vals else ([], [])
    order = sorted(zip(uniq, counts), key=lambda t: (-t[1], t[0]))
    cols = palette(len(order))
    return {name: cols[i] for i, (name, _) in enumerate(order)}


def conc_colours(n: int = N_CONC_CLASSES) -> list[str]:
    """Sequential colours (low → high) of the concentration classes."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["turbo"]
    return [to_hex(cmap(x)) for x in np.linspace(0.12, 0.95, n)]


def conc_edges(values, n: int = N_CONC_CLASSES) -> np.ndarray:
    """``n + 1`` class edges from the 2nd to the 99.5th percentile of the finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.linspace(0.0, 1.0, n + 1)
    lo, hi = np.nanpercentile(v, [2.0, 99.5])
    if not hi > lo:
        hi = lo + max(abs(lo) * 0.1, 1e-6)
    return np.linspace(lo, hi, n + 1)


def conc_class(values, edges) -> np.ndarray:
    """Class index 0 … n-1 of each value (values beyond the edges fall in the end classes)."""
    n = len(edges) - 1
    return np.clip(np.searchsorted(edges, np.asarray(values, dtype=float), side="right") - 1, 0, n - 1)


def fmt_num(x, digits: int = 3) -> str:
    """Compact number for labels (``—`` for missing)."""
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    if not np.isfinite(xf):
        return "—"
    return f"{xf:.{digits}g}" if abs(xf) < 10 ** digits else f"{xf:,.0f}"


def esc(x) -> str:
    """HTML-escaped text of ``x`` (``—`` for missing)."""
    if x is None:
        return "—"
    try:
        if isinstance(x, float) and not np.isfinite(x):
            return "—"
    except TypeError:
        pass
    s = str(x)
    return "—" if s in ("nan", "NaT", "None") else html.escape(s)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :mod:`ecopatrol.core.io`)."""
    return atomic_write(path, text)
