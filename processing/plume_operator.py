"""The plume operator of source attribution: candidate sources and each sample's unit concentration.

:func:`candidate_sources` lists the registered stacks plus one site source for every enterprise
without one; :func:`build_operator` gives, for a set of samples, the wind and stability of each
sample's moment (the wind measured over :data:`WIND_WINDOW_S` centred on it, else the given or
area default) and :class:`PlumeOperator` the Gaussian-plume unit-concentration matrix
(µg/m³ per g/s) of every candidate source on those samples (``core.dispersion``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.dispersion import SigmaScheme, effective_height_m, gaussian_plume, plume_frame
from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import STABILITY_CLASSES, Wind, stability_class

from . import attribution_reach as reach
from . import model_error
from ._evidence_util import lonlat_of, metric_xy, pass_codes, receptor_agl_m, wind_codes, wind_per_pass

DEFAULT_SITE_SOURCE_HEIGHT_M = 10.0  # enterprises without a registered stack: fugitive/roof vent
#: the plume model takes, for each sample, the wind measured over this long centred on it (within
#: its record, across passes: :func:`._evidence_util.wind_codes`): about the time a plume takes
#: to reach a road 100–300 m downwind and a met station's 1-min mean. Not the pass: a pass lasts
#: from seconds to a quarter of an hour, and the wind of a plume crossing is the wind of that
#: minute, not the mean over the drive; nor a block of the pass, whose edges put a sample's wind
#: up to a whole block away from its moment
WIND_WINDOW_S = 60.0
RISE_DISTANCE_M = 2000.0  # Briggs rise evaluated here (≈ final rise, finite for cold jets)


def candidate_sources(area, *, crs) -> pd.DataFrame:
    """Registered sources (stacks) plus one site source for every enterprise without a stack.

    Columns: ``source_id``, ``enterprise_id``, ``name``, ``lon``, ``lat``, ``x_m``, ``y_m``,
    ``height_m``, ``diameter_m``, ``exit_velocity_m_s``, ``exit_temp_k``.
    """
    ent = area.enterprises
    if ent is None or len(ent) == 0:
        raise InputError("attribution: the area registry has no enterprises")
    src = area.sources if getattr(area, "sources", None) is not None else None
    cols = ["source_id", "enterprise_id", "height_m", "diameter_m", "exit_velocity_m_s", "exit_temp_k"]
    if src is not None and len(src):
        s = pd.DataFrame({c: (src[c] if c in src.columns else np.nan) for c in cols})
        s["lon"], s["lat"] = lonlat_of(src)
    else:
        s = pd.DataFrame(columns=[*cols, "lon", "lat"])
    missing = ent[~ent["enterprise_id"].isin(s["enterprise_id"])]
    if len(missing):
        lon, lat = lonlat_of(missing)
        site = pd.DataFrame({"source_id": missing["enterprise_id"].astype(str) + "-site",
                             "enterprise_id": missing["enterprise_id"].to_numpy(),
                             "height_m": DEFAULT_SITE_SOURCE_HEIGHT_M, "diameter_m": np.nan,
                             "exit_velocity_m_s": np.nan, "exit_temp_k": np.nan, "lon": lon, "lat": lat})
        s = pd.concat([s, site], ignore_index=True) if len(s) else site
    s["height_m"] = pd.to_numeric(s["height_m"], errors="coerce").fillna(DEFAULT_SITE_SOURCE_HEIGHT_M)
    names = ent.set_index("enterprise_id")["name"] if "name" in ent.columns else pd.Series(dtype=str)
    s["name"] = s["enterprise_id"].map(names).fillna("")
    s["x_m"], s["y_m"] = lonlat_to_xy(s["lon"].to_numpy(float), s["lat"].to_numpy(float), crs)
    return s.sort_values("source_id").reset_index(drop=True)


@dataclass
class _Pass:
    from_deg: float
    speed_m_s: float
    stability: str
    measured: bool


@dataclass
class PlumeOperator:
    """The plume model for one set of samples: per-pass wind and stability, candidate sources."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    codes: np.ndarray
    passes: list[_Pass]
    sources: pd.DataFrame
    scheme: SigmaScheme = "briggs_rural"
    mixing_height_m: float | None = None
    max_distance_m: float = 5000.0
    #: each sample's pass (``codes`` group the samples that share a wind, :data:`WIND_WINDOW_S`)
    pass_codes: np.ndarray | None = None
    _heights: dict = field(default_factory=dict)
    _memo: dict = field(default_factory=dict)  # the last few all-candidate matrices (attribution_reach.memo_key)
    _arrays: dict = field(default_factory=dict)  # the sources' columns as arrays (read once per sources frame)

    @property
    def view_codes(self) -> np.ndarray:
        """Each sample's pass (:attr:`pass_codes`), else its wind group (:attr:`codes`): one independent
        view of a plume."""
        return self.pass_codes if self.pass_codes is not None else self.codes

    def source_arrays(self) -> dict[str, np.ndarray]:
        """``x_m``, ``y_m``, ``height_m`` and the exit parameters of the sources as float arrays, read once
        (every matrix call used to read them from the frame); re-read if ``sources`` is replaced."""
        s = self.sources
        if self._arrays.get("_frame") is not s:
            self._arrays.clear()
            self._arrays.update({c: s[c].to_numpy(float) for c in
                                 ("x_m", "y_m", "height_m", "exit_velocity_m_s", "diameter_m", "exit_temp_k")})
            self._arrays["_frame"] = s
        return self._arrays

    def column(self, name: str) -> np.ndarray:
        """``sources[name].to_numpy()``, read once per sources frame (the explanations look up ids and
        names of a few candidates per evidence item, and a frame lookup each time was most of their
        Python overhead)."""
        arrays = self.source_arrays()
        key = ("column", name)
        if key not in arrays:
            arrays[key] = self.sources[name].to_numpy()
        return arrays[key]

    def _src_heights(self, p: _Pass):
        key = (round(p.speed_m_s, 3), p.stability)
        if key not in self._heights:
            s = self.source_arrays()
            self._heights[key] = effective_height_m(
                s["height_m"], p.speed_m_s, p.stability, exit_velocity_m_s=s["exit_velocity_m_s"],
                diameter_m=s["diameter_m"], exit_temp_k=s["exit_temp_k"], x_m=RISE_DISTANCE_M)
        return self._heights[key]

    def matrix(self, rows: np.ndarray, cols: np.ndarray | None = None, *, offset_deg: float = 0.0,
               stability_shift: int = 0, copy: bool = True) -> np.ndarray:
        """Unit-concentration matrix (µg/m³ per g/s), shape (len(rows), len(cols)), pass by pass;
        ``offset_deg`` turns the wind, ``stability_shift`` moves each pass's class (−1: one class
        more unstable, clipped to A–F). ``copy=False`` (the explanations, which only read it) may
        return the memo's own array, read-only, instead of a copy."""
        key = reach.memo_key(rows, cols, offset_deg, stability_shift)
        if key is not None and key in self._memo:  # the explanations ask for the same matrices several times
            return self._memo[key].copy() if copy else self._memo[key]
        out = self._matrix(rows, cols, offset_deg=offset_deg, stability_shift=stability_shift)
        if key is not None:
            reach.remember(self._memo, key, out, copy=copy)
            if not copy:
                return self._memo[key]
        return out

    def _nominal(self, r: np.ndarray, xd: np.ndarray, yd: np.ndarray, u: np.ndarray, h: np.ndarray,
                 stability: str) -> np.ndarray:
        """The nominal Gaussian plume on samples ``r`` from the plume frame ``(xd, yd)`` (n, k) of k sources
        with wind ``u`` and effective height ``h`` at the stack: the same operations, bit for bit, as
        ``core.dispersion.unit_concentration_matrix``, whose frame is computed once here and reused for
        the ``max_distance_m`` cut (and, in the all-samples design, for its cone test)."""
        return gaussian_plume(1.0, np.asarray(u, float)[None, :], xd, yd, np.asarray(self.z[r], float)[:, None],
                              np.asarray(h, float)[None, :], stability, scheme=self.scheme,
                              mixing_height_m=self.mixing_height_m)

    def block_from_frame(self, r: np.ndarray, cols: np.ndarray, xd: np.ndarray, yd: np.ndarray) -> np.ndarray:
        """``matrix(r, cols)`` for samples ``r`` of one wind group (``codes``) at its own wind and class,
        given their plume frame ``(xd, yd)`` to ``cols`` at that wind (as ``plume_frame`` computes it):
        bit for bit the same matrix, without computing the frame again. With ``model_error.ENABLED``
        it is ``matrix(r, cols)``."""
        if model_error.ENABLED or len(r) == 0 or len(cols) == 0:
            return self.matrix(r, cols)
        p = self.passes[int(self.codes[r[0]])]
        src = self.source_arrays()
        out = np.zeros((len(r), len(cols)))
        k = np.flatnonzero(reach.within_reach(self.x[r], self.y[r], src["x_m"][cols], src["y_m"][cols], p.from_deg,
                                              p.stability, scheme=self.scheme, max_distance_m=self.max_distance_m))
        if len(k) == 0:
            return out
        h, u = self._src_heights(p)
        x_k, y_k = xd[:, k], yd[:, k]
        a = self._nominal(r, x_k, y_k, u[cols[k]], h[cols[k]], p.stability)
        a[x_k > self.max_distance_m] = 0.0
        out[:, k] = a
        return out

    def _matrix(self, rows: np.ndarray, cols: np.ndarray | None, *, offset_deg: float,
                stability_shift: int) -> np.ndarray:
        cols = np.arange(len(self.sources)) if cols is None else cols
        out = np.zeros((len(rows), len(cols)))
        src = self.source_arrays()
        sx, sy, hs = src["x_m"][cols], src["y_m"][cols], src["height_m"][cols]
        rc = self.codes[rows]
        for code in np.unique(rc):
            m = np.flatnonzero(rc == code)
            p = self.passes[code]
            if stability_shift:
                i = STABILITY_CLASSES.index(p.stability) + stability_shift
                p = _Pass(p.from_deg, p.speed_m_s, STABILITY_CLASSES[min(max(i, 0), 5)], p.measured)
            h, u = self._src_heights(p)
            h, u = h[cols], u[cols]
            from_deg = p.from_deg + offset_deg
            for b in reach.blocks(m):  # only the sources whose plume can be non-zero here (an exact cut)
                r = rows[b]
                if model_error.ENABLED:  # its mixture's plumes are wider than the Gaussian reach: no cut
                    k = np.arange(len(sx))
                    # the mean plume over what the model cannot know (direction, σ, building wake): model_error
                    a = model_error.unit_matrix(self.x[r], self.y[r], self.z[r], sx[k], sy[k], hs[k], h[k], u[k],
                                                from_deg, p.stability, scheme=self.scheme,
                                                mixing_height_m=self.mixing_height_m)
                    xd, _ = plume_frame(self.x[r], self.y[r], sx[k], sy[k], from_deg)
                else:
                    k = np.flatnonzero(reach.within_reach(self.x[r], self.y[r], sx, sy, from_deg, p.stability,
                                                          scheme=self.scheme, max_distance_m=self.max_distance_m))
                    if len(k) == 0:
                        continue
                    xd, yd = plume_frame(self.x[r], self.y[r], sx[k], sy[k], from_deg)
                    a = self._nominal(r, xd, yd, u[k], h[k], p.stability)
                a[xd > self.max_distance_m] = 0.0
                out[np.ix_(b, k)] = a
        return out


def build_operator(samples: pd.DataFrame, area, *, crs, wind: Wind | None, scheme: SigmaScheme = "briggs_rural",
                   max_distance_m: float = 5000.0, sources: pd.DataFrame | None = None) -> PlumeOperator:
    """Plume operator for ``samples`` (any order) and the area's candidate sources."""
    x, y, _ = metric_xy(samples, crs)
    passes_of = pass_codes(samples)
    codes, smoothed = wind_codes(samples, WIND_WINDOW_S)
    pw = wind_per_pass(smoothed, codes, wind)
    if pw["from_deg"].isna().any():
        raise InputError("attribution: no wind for some passes: the samples carry no `wind_from_deg`/"
                         "`wind_speed_m_s` and no wind was given: pass `--wind FROM/SPEED[/CLASS]`")
    lon, lat = lonlat_of(samples)
    times = pd.to_datetime(samples["time_utc"], utc=True) if "time_utc" in samples.columns else None
    passes = []
    for code, row in pw.iterrows():
        stab = wind.stability if wind is not None and wind.stability else None
        if stab is None:
            cfg = (getattr(area, "config", None) or {}).get("defaults", {})
            # the pass's middle sample, to the microsecond (a datetime holds no nanoseconds: floored, not warned)
            when = times[codes == code].iloc[len(times[codes == code]) // 2].floor("us").to_pydatetime() \
                if times is not None else None
            stab = stability_class(row["speed_m_s"], when=when, lon=float(np.nanmedian(lon)),
                                   lat=float(np.nanmedian(lat))) if when is not None else cfg.get("stability", "D")
        passes.append(_Pass(float(row["from_deg"]), float(row["speed_m_s"]), str(stab), bool(row["measured"])))
    src = candidate_sources(area, crs=crs) if sources is None else sources
    return PlumeOperator(x, y, receptor_agl_m(samples), codes, passes, src, scheme=scheme,
                         mixing_height_m=wind.mixing_height_m if wind is not None else None,
                         max_distance_m=max_distance_m, pass_codes=passes_of)

