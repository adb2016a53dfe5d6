"""The simulated world: wind, background, hidden true emitters and their plumes.

Private plumbing of :mod:`ecopatrol.missions.simulate`. Positions are metres in the
area's metric CRS (``x`` east, ``y`` north); times are seconds since the simulation
epoch (``start_utc``); concentrations µg/m³ (TVOC) and ppb (benzene, toluene, xylene,
converted at 25 °C, 101.325 kPa: the Chinese ambient reference state since 2018).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from ecopatrol.core.crs import lonlat_to_xy
from ecopatrol.core.dispersion import effective_height_m, gaussian_plume, unit_concentration_matrix
from ecopatrol.core.profiles import PROFILE_REL_SD, SPECIES, species_profile, ugm3_to_ppb
from ecopatrol.core.weather import Wind

# Direction standard deviation (deg) of the slow wind meander by stability class.
_DIR_SD_DEG = {"A": 25.0, "B": 20.0, "C": 15.0, "D": 10.0, "E": 7.0, "F": 5.0}
# Log-space standard deviation of the multiplicative puff factor (turbulent intermittency).
_PUFF_SD_LN = {"A": 0.9, "B": 0.8, "C": 0.7, "D": 0.6, "E": 0.5, "F": 0.45}
_MIXING_HEIGHT_M = {"A": 1600.0, "B": 1200.0, "C": 1000.0, "D": 800.0, "E": 400.0, "F": 200.0}
WIND_DIR_TAU_S = 600.0
WIND_SPEED_TAU_S = 300.0
WIND_SPEED_REL_SD = 0.15
PUFF_TAU_S = 8.0
BACKGROUND_TAU_S = 1800.0
# Final plume rise is asked for at a finite distance: core.dispersion's x = inf gives NaN
# for sources without buoyancy (0 · inf), which would silence cold stacks.
FINAL_RISE_X_M = 1.0e5


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per named stream, so the order of draws never matters."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(stream.encode("utf-8"))])


def ar1(n: int, dt_s: float, tau_s: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary unit-variance AR(1) (discretised Ornstein–Uhlenbeck) series of length ``n``."""
    if n <= 0:
        return np.zeros(0)
    e = rng.standard_normal(n)
    a = math.exp(-dt_s / tau_s)
    if n == 1:
        return e
    rest, _ = lfilter([math.sqrt(1.0 - a * a)], [1.0, -a], e[1:], zi=[a * e[0]])
    return np.concatenate([e[:1], rest])


@dataclass
class World:
    """Everything the instruments can sense. Times are seconds since ``start_utc``."""

    start_utc: datetime
    metric_crs: object
    mean_wind: Wind
    stability: str
    mixing_height_m: float
    t_grid_s: np.ndarray
    wind_from_deg: np.ndarray
    wind_speed_m_s: np.ndarray
    background: dict[str, np.ndarray]
    emitters: pd.DataFrame = field(default_factory=pd.DataFrame)
    # None: the Gaussian plume of core.dispersion; else an independent plume model with
    # ``unit_plumes(t, x_down, y_cross, z, speed)`` and ``wind_profile(z)`` (missions.worlds)
    plumes: object | None = None

    def wind_at(self, t_s) -> tuple[np.ndarray, np.ndarray]:
        """Wind direction (from, deg) and 10 m speed (m/s) at times ``t_s``."""
        t = np.asarray(t_s, float)
        unwrapped = np.degrees(np.unwrap(np.radians(self.wind_from_deg)))
        d = np.interp(t, self.t_grid_s, unwrapped) % 360.0
        return d, np.interp(t, self.t_grid_s, self.wind_speed_m_s)

    def background_at(self, t_s) -> dict[str, np.ndarray]:
        """Background TVOC (µg/m³) and species (ppb) at times ``t_s``."""
        t = np.asarray(t_s, float)
        return {k: np.interp(t, self.t_grid_s, v) for k, v in self.background.items()}

    def plume_tvoc_ugm3(self, t_s, x_m, y_m, z_agl_m) -> np.ndarray:
        """Mean-plume TVOC (µg/m³) from each emitter at receptors: shape (n, k).

        The plume follows the slowly varying wind of the moment (meander); the
        concentration is the Gaussian plume of :mod:`ecopatrol.core.dispersion` with the
        Briggs rise computed for the wind of the moment.
        """
        t = np.asarray(t_s, float)
        n, em = t.size, self.emitters
        if n == 0 or em.empty:
            return np.zeros((n, len(em)))
        wd, ws = self.wind_at(t)
        theta = np.radians(wd)[:, None]
        dx, dy = -np.sin(theta), -np.cos(theta)  # downwind unit vector (east, north)
        ex = np.asarray(x_m, float)[:, None] - em["x_m"].to_numpy()[None, :]
        ey = np.asarray(y_m, float)[:, None] - em["y_m"].to_numpy()[None, :]
        xd = ex * dx + ey * dy
        yc = -ex * dy + ey * dx
        if self.plumes is not None:
            z = np.maximum(np.asarray(z_agl_m, float), 0.0)
            return self.plumes.unit_plumes(t, xd, yc, z, ws) * em["rate_g_s"].to_numpy()[None, :]
        h_eff, u_s = effective_height_m(
            em["height_m"].to_numpy()[None, :], ws[:, None], self.stability,
            exit_velocity_m_s=em["exit_velocity_m_s"].to_numpy()[None, :],
            diameter_m=em["diameter_m"].to_numpy()[None, :],
            exit_temp_k=em["exit_temp_k"].to_numpy()[None, :], x_m=FINAL_RISE_X_M,
        )
        z = np.maximum(np.asarray(z_agl_m, float), 0.0)[:, None]
        return np.asarray(gaussian_plume(em["rate_g_s"].to_numpy()[None, :], u_s, xd, yc, z, h_eff,
                                         self.stability, mixing_height_m=self.mixing_height_m))

    def concentrations(self, t_s, x_m, y_m, z_agl_m, rng: np.random.Generator, *,
                       dt_s: float = 1.0) -> dict[str, np.ndarray]:
        """Instantaneous concentrations along a contiguous series of receptors.

        ``t_s`` is assumed evenly spaced by ``dt_s`` (one instrument's sample times):
        each emitter's plume is multiplied by a lognormal puff factor with a correlation
        time of a few seconds (turbulent intermittency; mean 1). Returns ``tvoc_ugm3``,
        ``benzene_ppb``, ``toluene_ppb``, ``xylene_ppb``, ``plume_tvoc_ugm3`` and
        ``mean_plume_by_emitter_ugm3`` (n, k): each emitter's mean plume (no puffs) under the
        wind of the moment, the ground truth of what a sample could see of it.
        """
        t = np.asarray(t_s, float)
        plume = self.plume_tvoc_ugm3(t, x_m, y_m, z_agl_m)
        mean_plume = plume
        k = plume.shape[1]
        sd = _PUFF_SD_LN[self.stability]
        z = np.stack([ar1(t.size, dt_s, PUFF_TAU_S, rng) for _ in range(k)], axis=1) if k else plume
        puffs = np.exp(sd * z - 0.5 * sd * sd) if k else plume
        plume = plume * puffs
        bg = self.background_at(t)
        out = {"plume_tvoc_ugm3": plume.sum(axis=1), "tvoc_ugm3": bg["tvoc_ugm3"] + plume.sum(axis=1),
               "mean_plume_by_emitter_ugm3": mean_plume}
        for sp in SPECIES:
            frac = self.emitters[f"frac_{sp}"].to_numpy() if k else np.zeros(0)
            out[f"{sp}_ppb"] = bg[f"{sp}_ppb"] + ugm3_to_ppb(plume @ frac, sp)
        return out


def measured_wind(world: World, t_s, z_agl_m, rng: np.random.Generator, *, dir_sd_deg: float,
                  speed_rel_sd: float, tau_s: float) -> tuple[np.ndarray, np.ndarray]:
    """What a wind sensor reports at times ``t_s`` (evenly spaced) and heights ``z_agl_m``.

    The world's wind of the moment, its speed taken to the sensor height (power law), plus
    correlated errors (AR(1), correlation time ``tau_s``): direction ± ``dir_sd_deg``, speed
    × (1 ± ``speed_rel_sd``). Returns (direction the wind blows from, deg; speed, m/s).
    """
    from ecopatrol.core.weather import wind_at_height

    t = np.asarray(t_s, float)
    d, u = world.wind_at(t)
    dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    if world.plumes is not None:  # the independent world's own profile: log-linear speed, veer
        factor, veer = world.plumes.wind_profile(np.maximum(np.asarray(z_agl_m, float), 0.0))
        u, d = u * factor, (d + veer) % 360.0
    else:
        u = wind_at_height(u, np.maximum(np.asarray(z_agl_m, float), 0.0), world.stability)
    d = (d + dir_sd_deg * ar1(t.size, dt, tau_s, rng)) % 360.0
    u = np.maximum(u * (1.0 + speed_rel_sd * ar1(t.size, dt, tau_s, rng)), 0.0)
    return d, u


def wind_series(mean: Wind, stability: str, t_grid_s: np.ndarray, seed: int):
    """Slowly varying wind direction and speed around ``mean`` on ``t_grid_s`` (1 s steps)."""
    n = t_grid_s.size
    dt = float(t_grid_s[1] - t_grid_s[0]) if n > 1 else 1.0
    d = (mean.from_deg + _DIR_SD_DEG[stability] * ar1(n, dt, WIND_DIR_TAU_S, rng_for(seed, "wind-dir"))) % 360
    s = mean.speed_m_s * (1.0 + WIND_SPEED_REL_SD * ar1(n, dt, WIND_SPEED_TAU_S, rng_for(seed, "wind-speed")))
    return d, np.maximum(s, 0.5)


def background_series(t_grid_s: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Regional background with a slow drift: TVOC µg/m³ and BTX ppb."""
    rng = rng_for(seed, "background")
    n = t_grid_s.size
    dt = float(t_grid_s[1] - t_grid_s[0]) if n > 1 else 1.0
    base_tvoc = rng.uniform(60.0, 110.0)
    common = ar1(n, dt, BACKGROUND_TAU_S, rng)
    out = {"tvoc_ugm3": base_tvoc * (1.0 + 0.12 * common)}
    for sp, base in zip(SPECIES, (0.35, 1.2, 0.6)):
        own = ar1(n, dt, BACKGROUND_TAU_S, rng)
        out[f"{sp}_ppb"] = base * rng.uniform(0.8, 1.2) * np.exp(0.10 * common + 0.08 * own)
    return out


SEEN_UGM3_PER_G_S = 10.0  # an emitter is placed where 1 g/s gives at least this on a planned track


def choose_emitters(
    area,
    tracks: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    targets: list[str],
    *,
    mean_wind: Wind,
    stability: str,
    mixing_height_m: float,
    n_emitters: int,
    seed: int,
    near_m: float = 3000.0,
) -> pd.DataFrame:
    """Pick the hidden true emitters among the area's sources, where the plans can see them.

    ``tracks`` are ``(x_m, y_m, z_agl_m)`` receptor arrays (metric CRS) of the planned
    platforms. Candidates are the sources of the plan targets, then of every enterprise
    within ``near_m`` of a track. Each candidate is scored by the largest mean-wind
    concentration per 1 g/s it gives on any track (±8° of meander); it is "seen" when that
    reaches ``SEEN_UGM3_PER_G_S`` (a plume a survey can detect at a typical rate). The
    best-seen target source is always chosen (so at least one emitter lies where a plan passes
    downwind), the rest are drawn among the seen candidates, with at least one on the positive
    list when any is; only when too few are seen do sources whose plumes merely graze a track
    (or lie within ``near_m`` of one) fill the count.
    """
    rng = rng_for(seed, "emitters")
    src = area.sources
    ent = area.enterprises
    if n_emitters <= 0 or src is None or len(src) == 0:
        return _empty_emitters()
    s = _candidate_sources(area, src, ent)
    score, dist = _track_scores(s, tracks, mean_wind=mean_wind, stability=stability,
                                mixing_height_m=mixing_height_m, near_m=near_m)
    s["score"] = score
    s["distance_m"] = dist
    is_target = s["enterprise_id"].isin(set(map(str, targets))).to_numpy()
    chosen = _pick(s, score, dist, is_target, n_emitters=n_emitters, near_m=near_m, rng=rng)
    em = s.iloc[chosen].reset_index(drop=True)
    return _with_rates(em, rng, seed)


def _candidate_sources(area, src, ent) -> pd.DataFrame:
    """The area's sources in its metric CRS with their stack parameters and their enterprise's
    positive-list flag, industry and name."""
    src = src.to_crs(area.metric_crs) if src.crs is not None else src
    sx = src.geometry.x.to_numpy()
    sy = src.geometry.y.to_numpy()
    if src.crs is None:
        sx, sy = lonlat_to_xy(sx, sy, area.metric_crs)
    info = ent.drop(columns="geometry").drop_duplicates("enterprise_id").set_index("enterprise_id")
    s = pd.DataFrame({
        "source_id": src["source_id"].astype(str).to_numpy(),
        "enterprise_id": src["enterprise_id"].astype(str).to_numpy(),
        "x_m": sx, "y_m": sy,
        "height_m": pd.to_numeric(src["height_m"], errors="coerce").fillna(10.0).to_numpy(),
        "diameter_m": _col(src, "diameter_m"), "exit_velocity_m_s": _col(src, "exit_velocity_m_s"),
        "exit_temp_k": _col(src, "exit_temp_k", 293.15),
    })
    s["positive_list"] = s["enterprise_id"].map(info["positive_list"]).fillna(False).astype(bool).to_numpy()
    s["industry"] = s["enterprise_id"].map(info["industry"]).fillna("").astype(str).to_numpy()
    s["name"] = s["enterprise_id"].map(info["name"]).fillna("").astype(str).to_numpy() if "name" in info else ""

    return s


def _track_scores(s: pd.DataFrame, tracks, *, mean_wind: Wind, stability: str, mixing_height_m: float,
                  near_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Each source's largest mean-wind concentration per 1 g/s on any track point (±8° of meander;
    sources within ``near_m`` of a track only) and its distance to the nearest track point."""
    tx = np.concatenate([t[0] for t in tracks]) if tracks else np.zeros(0)
    ty = np.concatenate([t[1] for t in tracks]) if tracks else np.zeros(0)
    tz = np.concatenate([t[2] for t in tracks]) if tracks else np.zeros(0)
    if tx.size == 0:
        score = np.zeros(len(s))
        dist = np.zeros(len(s))
    else:
        dist = np.sqrt((s["x_m"].to_numpy()[:, None] - tx[None, :]) ** 2
                       + (s["y_m"].to_numpy()[:, None] - ty[None, :]) ** 2).min(axis=1)
        h_eff, u_s = effective_height_m(s["height_m"].to_numpy(), mean_wind.speed_m_s, stability,
                                        exit_velocity_m_s=s["exit_velocity_m_s"].to_numpy(),
                                        diameter_m=s["diameter_m"].to_numpy(),
                                        exit_temp_k=s["exit_temp_k"].to_numpy(), x_m=FINAL_RISE_X_M)
        score = np.zeros(len(s))
        near = np.flatnonzero(dist <= near_m)
        for off in (-8.0, 0.0, 8.0):  # a little meander so a near-miss still counts
            if near.size:
                m = unit_concentration_matrix(tx, ty, tz, s["x_m"].to_numpy()[near], s["y_m"].to_numpy()[near],
                                              np.asarray(h_eff)[near], np.asarray(u_s)[near],
                                              (mean_wind.from_deg + off) % 360, stability,
                                              mixing_height_m=mixing_height_m)
                score[near] = np.maximum(score[near], m.max(axis=0))
    return score, dist


def _pick(s: pd.DataFrame, score, dist, is_target, *, n_emitters: int, near_m: float, rng) -> list[int]:
    """The rows of the emitters: the best-seen target first, one on the positive list when any can
    be, then drawn among the seen (else grazed, else near) candidates; one per enterprise."""
    # "seen": at 1 g/s its mean-wind plume reaches SEEN_UGM3_PER_G_S on some planned track (a
    # plume a survey can detect); a source whose plume only grazes a track comes after them all
    seen = score >= SEEN_UGM3_PER_G_S
    grazed = score > 0
    chosen: list[int] = []

    def take(mask: np.ndarray, *, best: bool) -> None:
        used = set(s["enterprise_id"].iloc[chosen])
        idx = np.flatnonzero(mask & ~s["enterprise_id"].isin(used).to_numpy())
        if idx.size == 0 or len(chosen) >= n_emitters:
            return
        if best:
            chosen.append(int(idx[np.argmax(score[idx])]))
        else:
            w = np.sqrt(score[idx]) + 1e-12
            chosen.append(int(rng.choice(idx, p=w / w.sum())))

    take(is_target & seen, best=True)
    if not chosen:
        take(seen, best=True)
    if not chosen:
        take(grazed, best=True)
    if s["positive_list"].to_numpy()[chosen].sum() == 0:
        take(s["positive_list"].to_numpy() & seen, best=False)
    if s["positive_list"].to_numpy()[chosen].sum() == 0:
        take(s["positive_list"].to_numpy() & grazed, best=False)
    if s["positive_list"].to_numpy()[chosen].sum() == 0:
        take(s["positive_list"].to_numpy() & (dist <= near_m), best=False)
    while len(chosen) < n_emitters:
        before = len(chosen)
        take(seen & is_target, best=False)
        if len(chosen) == before:
            take(seen, best=False)
        if len(chosen) == before:
            take(grazed, best=False)
        if len(chosen) == before:
            take(dist <= near_m, best=False)
        if len(chosen) == before:
            break
    return chosen


def _with_rates(em: pd.DataFrame, rng, seed: int) -> pd.DataFrame:
    """The emitters with their rates (lognormal around 1 g/s; the best-seen one clearly visible) and
    their BTX mass fractions (around their industry's profile)."""
    # Rates: lognormal around 1 g/s; the best-seen emitter is made clearly visible.
    rates = np.clip(np.exp(rng.normal(0.0, 0.6, len(em))), 0.2, 5.0)
    if len(em) and em["score"].iloc[0] > 0:
        rates[0] = float(np.clip(max(rates[0], 250.0 / em["score"].iloc[0]), 0.2, 20.0))
    em["rate_g_s"] = np.round(rates, 3)
    # each facility's BTX fractions scatter around its industry's typical profile
    fr = np.array([species_profile(i) for i in em["industry"]]).reshape(-1, 3)
    fr = fr * np.exp(rng_for(seed, "profiles").normal(0.0, PROFILE_REL_SD, fr.shape))
    for j, sp in enumerate(SPECIES):
        em[f"frac_{sp}"] = fr[:, j]
    return em


def _col(df, name: str, default: float = 0.0) -> np.ndarray:
    if name not in df:
        return np.full(len(df), default)
    return pd.to_numeric(df[name], errors="coerce").fillna(default).to_numpy(float)


def _empty_emitters() -> pd.DataFrame:
    cols = ["source_id", "enterprise_id", "x_m", "y_m", "height_m", "diameter_m", "exit_velocity_m_s",
            "exit_temp_k", "positive_list", "industry", "name", "score", "distance_m", "rate_g_s",
            "frac_benzene", "frac_toluene", "frac_xylene"]
    return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})


def default_mixing_height_m(stability: str) -> float:
    return _MIXING_HEIGHT_M[stability]


def traffic_spikes(t_s: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Short exhaust spikes a van meets in traffic (Poisson, ~one every 3 min, 5–20 s long)."""
    t = np.asarray(t_s, float)
    out = {"tvoc_ugm3": np.zeros(t.size)}
    for sp in SPECIES:
        out[f"{sp}_ppb"] = np.zeros(t.size)
    if t.size < 2:
        return out
    span = float(t[-1] - t[0])
    n = int(rng.poisson(span / 180.0))
    starts = rng.uniform(t[0], t[-1], n)
    durs = rng.uniform(5.0, 20.0, n)
    amps = rng.uniform(20.0, 120.0, n)
    if n == 0:
        return out
    # sum of smooth bumps, vectorised over (samples, events)
    phase = (t[:, None] - starts[None, :]) / durs[None, :]
    bump = np.where((phase > 0) & (phase < 1), np.sin(np.pi * np.clip(phase, 0, 1)) ** 2, 0.0)
    tv = bump @ amps
    out["tvoc_ugm3"] = tv
    for sp, frac in zip(SPECIES, (0.03, 0.08, 0.05)):
        out[f"{sp}_ppb"] = ugm3_to_ppb(tv * frac, sp)
    return out
