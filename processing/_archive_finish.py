"""Archive results: Gi*, hotspot polygons, kernel surfaces and the output files, common to the
in-memory and the distributed archive paths (:mod:`.distributed`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.artefacts.samples import derived

from ._levels import LEVEL_ESTIMATE

ARCHIVE_RESULT_SCHEMA = "ecopatrol.archive-evidence/1"


@dataclass
class ArchiveResult:
    """Aggregates of an archive: ``cells``/``segments`` (metric CRS, with Gi* columns),
    ``hotspots`` polygons, the kernel ``surface`` and ``density`` (``grid``, row 0 north)."""

    out_dir: Path | None
    species: str
    n_samples: int
    n_partitions: int
    cells: object
    segments: object
    hotspots: object
    grid: object
    surface: np.ndarray
    density: np.ndarray
    summary: dict = field(default_factory=dict)

    @property
    def files(self) -> dict[str, Path]:
        if self.out_dir is None:
            return {}
        names = ("cells.gpkg", "segments.gpkg", "hotspots.tif", "hotspots.gpkg", "archive.json",
                 "quarantine.csv")
        return {n: self.out_dir / n for n in names if (self.out_dir / n).exists()}



def _with_gi(features, value: str, distance_m: float, seed: int):
    from . import hotspots

    if features is None or len(features) == 0:
        return features
    return features.join(hotspots.getis_ord(features, value=value, distance_m=distance_m, seed=seed))


def kernel_grid(bounds: dict, crs, raster_cell_m: float, bandwidth_m: float | None):
    """The kernel-map grid from the metric bounds, chosen as ``build_evidence`` chooses it."""
    from .hotspots import Grid

    cell = raster_cell_m
    span = max(bounds["x_max"] - bounds["x_min"], bounds["y_max"] - bounds["y_min"]) + 200
    if (span / cell) ** 2 > 16_000_000:
        cell = math.ceil(span / 4000)
    bw = bandwidth_m or 3 * cell
    grid = Grid.around([bounds["x_min"], bounds["x_max"]], [bounds["y_min"], bounds["y_max"]], cell_m=cell,
                       pad_m=3 * bw, crs=crs)
    return grid, bw


def archive_crs(lon_bounds: tuple[float, float, float, float]):
    from ecopatrol.core.crs import local_metric_crs

    lon_min, lat_min, lon_max, lat_max = lon_bounds
    return local_metric_crs((lon_min + lon_max) / 2.0, (lat_min + lat_max) / 2.0)


def finish(*, out_dir, species, cells, segments, grid, dens, bw, n_samples, n_partitions, params, level,
            gi_distance_m, seed, extra_summary, write, surface=None, num=None, den=None) -> ArchiveResult:
    """Gi*, hotspot polygons, the surfaces, and the files: common to both paths.

    ``level`` is the ``{"noise", "background"}`` of the hotspot rule (:func:`histogram_median`).
    """
    import geopandas as gpd

    from . import hotspots
    from .evidence import _rule_summary  # evidence.json's hotspot_rule, built the same way

    enh = derived(species, "enh")
    value = enh if len(cells) and enh in cells.columns else species
    cells = _with_gi(cells, value, gi_distance_m or 2.5 * params["cell_m"], seed)
    if segments is not None:
        segments = _with_gi(segments, value, gi_distance_m or 5 * params["segment_m"], seed)
    if surface is None:  # hotspots.kernel_concentration from the merged kernel sums
        surface = hotspots.concentration_from_sums(num, den, bandwidth_m=bw)
    density = np.where(np.isfinite(surface), dens, np.nan)
    # Gi* is relative: a feature also needs an enhancement above the noise (hotspots.HOTSPOT_RULE),
    # with the archive's noise and background for every segment and cell
    rule = hotspots.HOTSPOT_RULE
    has_level = value == enh and level.get("noise") is not None and level.get("background") is not None
    if not has_level:
        level = {"noise": None, "background": None}

    def with_signal(feats):
        if feats is None or not len(feats) or not has_level:
            return feats
        return feats.join(hotspots.signal_mask(feats, value=enh, noise=level["noise"],
                                               background=level["background"], rule=rule))

    cells, segments = with_signal(cells), with_signal(segments)
    polys, layers = [], {}
    for layer, feats, buf in (("segments", segments, params["segment_m"] / 2), ("cells", cells, 0.0)):
        if feats is None:
            continue
        n_polys = 0
        if len(feats) and "hot_confidence" in feats.columns and "hot_signal" in feats.columns:
            p = hotspots.hotspot_polygons(feats, feats, value=value, buffer_m=buf, signal=feats["hot_signal"],
                                          min_samples=rule.min_samples)
            n_polys = len(p)
            if len(p):
                p["source_layer"] = layer
                polys.append(p)
        layers[layer] = (feats, level, n_polys, True)
    crs = grid.crs
    hot = gpd.GeoDataFrame(pd.concat(polys, ignore_index=True), crs=crs) if polys else \
        gpd.GeoDataFrame({"hotspot_id": pd.Series(dtype=str), "confidence": pd.Series(dtype=int),
                          "source_layer": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if len(hot):
        hot = hot.sort_values(["confidence", "max_value"], ascending=[True, False]).reset_index(drop=True)
        hot["hotspot_id"] = [f"H{i + 1:03d}" for i in range(len(hot))]
    hotspot_rule = {**_rule_summary(layers, len(hot)), "level_estimate": LEVEL_ESTIMATE}
    summary = {"schema": ARCHIVE_RESULT_SCHEMA, "species": species, "n_samples": int(n_samples),
               "n_partitions": int(n_partitions), "n_cells": len(cells),
               "n_segments": 0 if segments is None else len(segments), "n_hotspots": len(hot),
               "hotspot_rule": hotspot_rule,
               "cell_m": params["cell_m"], "segment_m": params["segment_m"], "raster_cell_m": grid.cell_m,
               "bandwidth_m": bw, "min_noise": params["min_noise"],
               "metric_crs": str(getattr(crs, "to_string", lambda: crs)()), **extra_summary}
    out = Path(out_dir) if out_dir is not None else None
    if write and out is not None:
        from ._evidence_util import write_atomic, write_gpkg

        out.mkdir(parents=True, exist_ok=True)
        write_gpkg(cells, out / "cells.gpkg", layer="cells")
        if segments is not None and len(segments):
            write_gpkg(segments, out / "segments.gpkg", layer="segments")
        write_gpkg(hot, out / "hotspots.gpkg", layer="hotspots")
        hotspots.write_cog(out / "hotspots.tif", {f"{value}_kernel_mean": surface,
                                                  f"{value}_weighted_density_per_m2": density}, grid=grid)
        write_atomic(out / "archive.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=2)))
    return ArchiveResult(out, species, int(n_samples), int(n_partitions), cells, segments, hot, grid, surface,
                         density, summary)
