"""Private plumbing shared by the evidence modules (plume, aggregate, hotspots, attribution, flux)."""

from __future__ import annotations


import numpy as np
import pandas as pd
from ecopatrol.core import settings
from ecopatrol.core.artefacts.samples import platform_kind_of
from ecopatrol.core.crs import local_metric_crs, lonlat_to_xy
from ecopatrol.core.directions import circular_mean_by_group_deg
from ecopatrol.core.errors import InputError
from ecopatrol.core.io import write_csv, write_gpkg, write_with  # noqa: F401 (re-exported)
from ecopatrol.core.weather import Wind, wind_at_height

PASS_KEYS = ("platform_id", "mission_id", "pass_id")
RECORD_KEYS = ("platform_id", "mission_id")  # one continuous analyser record
DEFAULT_INLET_AGL_M = settings.GROUND_INLET_AGL_M  # roof inlet of a monitoring van (ground vehicles: GPS heights are too noisy)
# QA flags (processing.qc) that make a concentration unusable as evidence; "stationary" is not one
UNUSABLE_FLAGS = ("saturated", "instrument_status", "negative", "gps_quality", "speed_spike")


#: candidates (sources, firms) within this likelihood ratio of the most likely one are "ambiguous with" it:
#: the attribution's plausible group and targeting's pooled events use the one value
PLAUSIBLE_RATIO = 0.2


def require_columns(df: pd.DataFrame, columns, *, what: str = "samples") -> None:
    """Raise InputError naming every missing column."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(f'`{c}`' for c in missing)}; "
            "see CONTRACTS.md (samples schema)"
        )


def lonlat_of(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(lon, lat)`` arrays (EPSG:4326) from `lon`/`lat` columns or the point geometry."""
    if "lon" in df.columns and "lat" in df.columns:
        return df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    geom = df.geometry
    if geom.crs is not None and not geom.crs.is_geographic:
        geom = geom.to_crs("EPSG:4326")
    return geom.x.to_numpy(float), geom.y.to_numpy(float)


def metric_xy(df: pd.DataFrame, crs=None):
    """Metric ``(x, y, crs)`` of a frame's points; ``crs`` defaults to the local UTM zone."""
    lon, lat = lonlat_of(df)
    if crs is None:
        crs = local_metric_crs(lon, lat)
    x, y = lonlat_to_xy(lon, lat, crs)
    return np.asarray(x, float), np.asarray(y, float), crs


def pass_codes(df: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's pass (platform, mission, pass), in first-seen order."""
    keys = [c for c in PASS_KEYS if c in df.columns]
    if not keys:
        return np.zeros(len(df), dtype=np.int64)
    return df.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()


def record_codes(df: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's continuous record (platform, mission), in first-seen order."""
    keys = [c for c in RECORD_KEYS if c in df.columns]
    if not keys:
        return np.zeros(len(df), dtype=np.int64)
    return df.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()


def is_ground_platform(df: pd.DataFrame) -> np.ndarray:
    """True for rows of ground platforms (``platform_kind`` van or fixed; never guessed from the id)."""
    return platform_kind_of(df) != "drone"


def receptor_agl_m(df: pd.DataFrame, *, ground_inlet_agl_m: float = DEFAULT_INLET_AGL_M) -> np.ndarray:
    """Inlet height above ground (m).

    Drones: ``alt_agl_m`` (DEM-referenced flight height). Ground platforms (vans): the fixed
    roof-inlet height ``ground_inlet_agl_m`` — a GNSS height minus the DEM scatters by metres
    around it and would put the inlet underground half the time.
    """
    z = df["alt_agl_m"].to_numpy(float) if "alt_agl_m" in df.columns else np.full(len(df), np.nan)
    ground = is_ground_platform(df)
    return np.where(ground | ~(np.isfinite(z) & (z >= 0)), ground_inlet_agl_m, z)


def usable_mask(df: pd.DataFrame) -> np.ndarray:
    """Rows whose ``qa_flags`` carry none of :data:`UNUSABLE_FLAGS` (all rows when no flags)."""
    if "qa_flags" not in df.columns:
        return np.ones(len(df), bool)
    flags = df["qa_flags"].fillna("").astype(str)
    bad = flags.str.contains("|".join(UNUSABLE_FLAGS), regex=True).to_numpy()
    return ~bad


def wind_codes(samples: pd.DataFrame, window_s: float) -> tuple[np.ndarray, pd.DataFrame]:
    """The wind of each sample's moment and integer codes of the samples that share it.

    The measured wind (``wind_from_deg``, ``wind_speed_m_s``) is averaged over a window of
    ``window_s`` centred on each sample, within its record (platform, mission: one sensor),
    whatever the passes (the wind does not know where a pass starts): a circular mean of the
    direction, a mean of the speed, over the samples that measured one. Samples are then
    grouped by record and that wind rounded to 1° and 0.1 m/s (far below the errors of a
    measured wind), so a plume model can be evaluated once per group. Returns ``(codes, frame)``:
    ``frame`` is ``samples``' wind columns replaced by the averaged wind (NaN where nothing was
    measured within the window), for :func:`wind_per_pass` with those codes.
    """
    n = len(samples)
    rec = record_codes(samples)
    cols = {"wind_from_deg", "wind_speed_m_s"}
    if n == 0 or not cols <= set(samples.columns) or "time_utc" not in samples.columns \
            or not np.isfinite(window_s) or window_s <= 0:
        return pass_codes(samples), samples
    t = (pd.to_datetime(samples["time_utc"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    d = samples["wind_from_deg"].to_numpy(float)
    u = samples["wind_speed_m_s"].to_numpy(float)
    ok = np.isfinite(d) & np.isfinite(u) & np.isfinite(t)
    tt = np.where(np.isfinite(t), t, 0.0)
    span = float(np.ptp(tt)) + 10.0 * window_s + 1.0
    key = rec * span + (tt - tt.min())  # one increasing axis, records far apart
    order = np.argsort(key, kind="stable")
    ks = key[order]
    r = np.radians(np.where(ok, d, 0.0))[order]
    w = ok[order].astype(float)
    csum = [np.r_[0.0, np.cumsum(v)] for v in (w * np.sin(r), w * np.cos(r), w * np.where(ok, u, 0.0)[order], w)]
    lo = np.searchsorted(ks, ks - 0.5 * window_s, side="left")
    hi = np.searchsorted(ks, ks + 0.5 * window_s, side="right")
    sn, cs, sp, cnt = (c[hi] - c[lo] for c in csum)
    has = cnt > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        d_s = np.where(has, np.degrees(np.arctan2(sn, cs)) % 360.0, np.nan)
        u_s = np.where(has, sp / cnt, np.nan)
    d_out, u_out = np.empty(n), np.empty(n)
    d_out[order], u_out[order] = d_s, u_s
    frame = samples.assign(wind_from_deg=d_out, wind_speed_m_s=u_out)
    q_d = np.where(np.isfinite(d_out), np.round(d_out) % 360.0, -1.0)
    q_u = np.where(np.isfinite(u_out), np.round(u_out, 1), -1.0)
    codes = pd.DataFrame({"r": rec, "d": q_d, "u": q_u}).groupby(["r", "d", "u"], sort=False).ngroup().to_numpy()
    return codes.astype(np.int64), frame


def wind_per_pass(samples: pd.DataFrame, codes: np.ndarray, default: Wind | None) -> pd.DataFrame:
    """Wind of each pass: the measured wind (circular mean) when present, else ``default``.

    Returns a frame indexed by pass code with `from_deg`, `speed_m_s` (at 10 m), `measured`
    (bool). A speed measured aloft (a drone's wind estimate at its flight height) is brought
    down to 10 m with the power-law profile of the default wind's class (D when unknown):
    the plume model takes the 10 m speed and lifts it to the stack height itself.
    """
    n = int(codes.max()) + 1 if len(codes) else 0
    out = pd.DataFrame({"from_deg": np.full(n, np.nan), "speed_m_s": np.full(n, np.nan),
                        "measured": np.zeros(n, bool)})
    if {"wind_from_deg", "wind_speed_m_s"} <= set(samples.columns) and n:
        d = samples["wind_from_deg"].to_numpy(float)
        s = samples["wind_speed_m_s"].to_numpy(float)
        stab = (default.stability if default is not None and default.stability else "D")
        s = s / wind_at_height(1.0, receptor_agl_m(samples), str(stab).upper())
        ok = np.isfinite(d) & np.isfinite(s)
        if ok.any():
            cnt = np.bincount(codes[ok], minlength=n)
            sp = np.bincount(codes[ok], s[ok], minlength=n)
            has = cnt > 0
            out.loc[has, "from_deg"] = circular_mean_by_group_deg(np.where(ok, d, np.nan), codes, n)[has]
            out.loc[has, "speed_m_s"] = sp[has] / cnt[has]
            out.loc[has, "measured"] = True
    if default is not None:
        miss = ~out["measured"].to_numpy()
        out.loc[miss, "from_deg"] = default.from_deg
        out.loc[miss, "speed_m_s"] = default.speed_m_s
    return out


def default_wind(area, wind: Wind | None) -> Wind | None:
    """The explicit wind, else the area's configured default wind, else None."""
    if wind is not None:
        return wind
    cfg = getattr(area, "config", None) or {}
    dflt = cfg.get("defaults", cfg) if isinstance(cfg, dict) else {}
    try:
        return Wind(float(dflt["wind_from_deg"]), float(dflt["wind_speed_m_s"]), dflt.get("stability"))
    except (KeyError, TypeError, ValueError):
        return None


#: the atomic writers live in core.io (one helper); these names stay for the processing modules
write_atomic = write_with
