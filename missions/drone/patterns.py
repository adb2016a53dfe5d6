"""Wind-aware sampling patterns around one enterprise, in a local metric CRS.

Every pattern returns a :class:`Block`: an ordered run of waypoints ``(x_m, y_m, alt_agl_m)``
with the commanded ground speed of the leg arriving at each point, a hold time, an action
(``sample``, ``hover``, ``background``) and a pass number. Blocks know nothing of launch
sites, batteries or airspace; :mod:`.sorties` chains them and :mod:`.airspace` routes the
gaps. Wind is meteorological (``from_deg``); the downwind axis is ``wind.to_unit``.

Patterns
--------
``curtain``  a vertical flux plane across the plume, downwind of the sources, flown as stacked
             crosswind transects (boustrophedon, bottom up), plus an upwind background leg.
``orbit``    closed loops around the site at a stand-off, one per height.
``profile``  a vertical spiral at a point in the plume (or upwind, for background).
``survey``   a lawn-mower over a polygon (the site disc by default), angle chosen for the
             fewest turns.
``hover``    hold points downwind of each stack, at the predicted plume height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import shapely
from shapely.geometry import Point, Polygon

from ecopatrol.core import settings
from ecopatrol.core.dispersion import effective_height_m, ground_max_distance_m, sigmas
from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import Wind

PatternName = Literal["curtain", "orbit", "profile", "survey", "hover"]
PATTERNS: tuple[str, ...] = ("curtain", "orbit", "profile", "survey", "hover")
MIN_SAMPLE_AGL_M = 10.0
DEFAULT_STACK_HEIGHT_M = settings.UNKNOWN_STACK_HEIGHT_DRONE_M


@dataclass(frozen=True)
class TargetSite:
    """One enterprise in metric coordinates: the site point, its radius and its stacks."""

    target_id: str
    name: str
    x_m: float
    y_m: float
    site_radius_m: float
    airspace: str = "free"
    src_x_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    src_y_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    src_height_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    src_exit_velocity_m_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    src_diameter_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    src_exit_temp_k: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def stacks(self):
        """Stack positions and heights; the site point at 15 m when no stack is registered."""
        if len(self.src_x_m):
            return (self.src_x_m, self.src_y_m, self.src_height_m, self.src_exit_velocity_m_s,
                    self.src_diameter_m, self.src_exit_temp_k)
        one = np.ones(1)
        return (one * self.x_m, one * self.y_m, one * DEFAULT_STACK_HEIGHT_M, one * np.nan,
                one * np.nan, one * np.nan)


@dataclass
class Block:
    """Waypoints of one pattern over one target (metric CRS, heights AGL)."""

    target_id: str
    pattern: str
    x_m: np.ndarray
    y_m: np.ndarray
    alt_agl_m: np.ndarray
    speed_m_s: np.ndarray
    hold_s: np.ndarray
    action: np.ndarray
    pass_id: np.ndarray
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.x_m)

    @property
    def entry(self) -> tuple[float, float, float]:
        return float(self.x_m[0]), float(self.y_m[0]), float(self.alt_agl_m[0])

    @property
    def exit(self) -> tuple[float, float, float]:
        return float(self.x_m[-1]), float(self.y_m[-1]), float(self.alt_agl_m[-1])

    def take(self, mask) -> "Block":
        m = np.asarray(mask)
        return Block(self.target_id, self.pattern, self.x_m[m], self.y_m[m], self.alt_agl_m[m],
                     self.speed_m_s[m], self.hold_s[m], self.action[m], self.pass_id[m], dict(self.info))


def _block(target_id, pattern, pts, speed, action, pass_id, hold=None, info=None) -> Block:
    pts = np.asarray(pts, float).reshape(-1, 3)
    n = len(pts)
    return Block(
        target_id, pattern, pts[:, 0].copy(), pts[:, 1].copy(), pts[:, 2].copy(),
        np.broadcast_to(np.asarray(speed, float), (n,)).copy(),
        np.zeros(n) if hold is None else np.broadcast_to(np.asarray(hold, float), (n,)).copy(),
        np.broadcast_to(np.asarray(action, dtype=object), (n,)).copy(),
        np.broadcast_to(np.asarray(pass_id, int), (n,)).copy(),
        info or {},
    )


def wind_axes(wind: Wind) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (east, north): downwind, and crosswind (90° left of downwind)."""
    d = np.asarray(wind.to_unit, float)
    return d, np.array([-d[1], d[0]])


def _densify(a: np.ndarray, b: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points from a to b inclusive, at most ``spacing_m`` apart (rows are x, y, z)."""
    n = max(1, int(math.ceil(np.hypot(*(b[:2] - a[:2])) / spacing_m)))
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    return a[None, :] + t * (b - a)[None, :]


def plume_geometry(site: TargetSite, wind: Wind, stability: str, x_m) -> dict:
    """Predicted plume at downwind distance ``x_m`` from the stacks: centre height, σy, σz."""
    sx, sy_, sh, sv, sd, st = site.stacks()
    # transitional rise at the distance of interest (finite x also avoids 0·inf for cold stacks)
    h_eff, _ = effective_height_m(sh, max(wind.speed_m_s, 0.5), stability, exit_velocity_m_s=sv,
                                  diameter_m=sd, exit_temp_k=st, x_m=float(x_m))
    h_eff = np.where(np.isfinite(h_eff), h_eff, sh)
    sig_y, sig_z = sigmas(np.asarray([x_m], float), stability)
    return {"h_eff_m": float(np.max(h_eff)), "h_eff_min_m": float(np.min(h_eff)),
            "sigma_y_m": float(sig_y[0]), "sigma_z_m": float(sig_z[0])}


def curtain_distance_m(site: TargetSite, wind: Wind, stability: str, *, alt_max_agl_m: float = 120.0) -> float:
    """Downwind distance of the curtain from the stacks (m).

    Half the distance of the ground-level maximum (where the plume is well formed but not yet
    diluted into the background), at least 50 m past the site boundary, at most 800 m, and
    pulled closer if the predicted plume top (H + 2.5 σz) would rise above the height cap.
    """
    geo = plume_geometry(site, wind, stability, 100.0)
    x = 0.5 * ground_max_distance_m(geo["h_eff_m"], stability)
    lo = site.site_radius_m + 50.0
    x = float(np.clip(x, lo, 800.0))
    xs = np.linspace(lo, x, 24)
    _, sz = sigmas(xs, stability)
    fits = geo["h_eff_m"] + 2.5 * sz <= alt_max_agl_m - 5.0
    if not fits[-1]:
        x = float(xs[fits][-1]) if fits.any() else lo
    return x


def plan_curtain(
    site: TargetSite,
    wind: Wind,
    *,
    stability: str,
    distance_m: float | None = None,
    alt_min_agl_m: float = 15.0,
    alt_max_agl_m: float = 120.0,
    level_spacing_m: float = 10.0,
    max_levels: int = 8,
    speed_m_s: float = 3.0,
    repeats: int = 1,
    background: bool = True,
    width_margin_m: float = 20.0,
    point_spacing_m: float = 100.0,
) -> Block:
    """A vertical curtain downwind of ``site`` (see module docstring).

    Width: the stacks' crosswind spread ± (2.5 σy + ``width_margin_m``). Heights: from
    ``alt_min_agl_m`` (≥ 10 m) to the plume top H + 2.5 σz (+10 m), capped at ``alt_max_agl_m``.
    """
    if alt_min_agl_m < MIN_SAMPLE_AGL_M:
        raise InputError(f"curtain `alt_min_agl_m` {alt_min_agl_m} m: must be at least {MIN_SAMPLE_AGL_M:g} m")
    if repeats < 1:
        raise InputError(f"curtain `repeats` {repeats}: must be 1 or more")
    d, c = wind_axes(wind)
    sx, sy, *_ = site.stacks()
    x = curtain_distance_m(site, wind, stability, alt_max_agl_m=alt_max_agl_m) if distance_m is None else float(distance_m)
    geo = plume_geometry(site, wind, stability, x)
    along = sx * d[0] + sy * d[1]
    across = sx * c[0] + sy * c[1]
    half = 2.5 * geo["sigma_y_m"] + width_margin_m
    y_lo, y_hi = float(across.min() - half), float(across.max() + half)
    x_plane = float(along.max() + x)
    top = min(geo["h_eff_m"] + 2.5 * geo["sigma_z_m"] + 10.0, alt_max_agl_m - 2.0)
    top = max(top, alt_min_agl_m)
    n_levels = int(np.clip(math.floor((top - alt_min_agl_m) / level_spacing_m) + 1, 2, max_levels))
    if top - alt_min_agl_m < 1.0:
        n_levels = 1
    levels = np.linspace(alt_min_agl_m, top, n_levels)

    def pt(a, b, z):
        return np.array([a * d[0] + b * c[0], a * d[1] + b * c[1], z])

    rows, actions, passes = [], [], []
    pass_no = 0
    if background:
        x_bg = float(along.min() - site.site_radius_m - 100.0)
        z_bg = float(levels[len(levels) // 2])
        y_mid, q = 0.5 * (y_lo + y_hi), 0.25 * (y_hi - y_lo)
        seg = _densify(pt(x_bg, y_mid - q, z_bg), pt(x_bg, y_mid + q, z_bg), point_spacing_m)
        pass_no += 1
        rows.append(seg)
        actions += ["background"] * len(seg)
        passes += [pass_no] * len(seg)
    for rep in range(repeats):
        for k, z in enumerate(levels):
            left_to_right = (k + rep * n_levels) % 2 == 0
            a, b = (y_lo, y_hi) if left_to_right else (y_hi, y_lo)
            seg = _densify(pt(x_plane, a, z), pt(x_plane, b, z), point_spacing_m)
            pass_no += 1
            rows.append(seg)
            actions += ["sample"] * len(seg)
            passes += [pass_no] * len(seg)
    info = {"distance_m": x, "width_m": y_hi - y_lo, "alt_min_agl_m": float(levels[0]),
            "alt_top_agl_m": float(levels[-1]), "levels": int(n_levels), "repeats": repeats, **geo}
    return _block(site.target_id, "curtain", np.vstack(rows), speed_m_s, np.array(actions, object),
                  np.array(passes), info=info)


def plan_orbit(
    site: TargetSite,
    wind: Wind,
    *,
    stability: str,
    standoff_m: float = 50.0,
    heights_agl_m: tuple[float, ...] = (30.0, 60.0),
    speed_m_s: float = 3.0,
    point_spacing_m: float = 40.0,
    alt_max_agl_m: float = 120.0,
) -> Block:
    """Closed loops around the site disc at ``site_radius_m + standoff_m``, starting downwind."""
    d, _ = wind_axes(wind)
    r = site.site_radius_m + standoff_m
    n = max(8, int(math.ceil(2 * math.pi * r / point_spacing_m)))
    start = math.atan2(d[1], d[0])
    ang = start + np.linspace(0.0, 2 * math.pi, n + 1)  # closed: last point = first
    rows, passes = [], []
    for k, z in enumerate(heights_agl_m):
        z = float(np.clip(z, MIN_SAMPLE_AGL_M, alt_max_agl_m))
        a = ang if k % 2 == 0 else ang[::-1]
        rows.append(np.column_stack([site.x_m + r * np.cos(a), site.y_m + r * np.sin(a), np.full(len(a), z)]))
        passes += [k + 1] * len(a)
    return _block(site.target_id, "orbit", np.vstack(rows), speed_m_s, "sample", np.array(passes),
                  info={"radius_m": r, "heights_agl_m": list(heights_agl_m)})


def plan_profile(
    site: TargetSite,
    wind: Wind,
    *,
    stability: str,
    where: Literal["plume", "background"] = "plume",
    distance_m: float | None = None,
    alt_min_agl_m: float = MIN_SAMPLE_AGL_M,
    alt_max_agl_m: float = 120.0,
    step_m: float = 10.0,
    radius_m: float = 15.0,
    speed_m_s: float = 2.0,
) -> Block:
    """A climbing spiral (4 points a turn, one turn per ``step_m``) in the plume or upwind."""
    d, _ = wind_axes(wind)
    sx, sy, *_ = site.stacks()
    if where == "plume":
        x = curtain_distance_m(site, wind, stability, alt_max_agl_m=alt_max_agl_m) if distance_m is None else distance_m
        cx, cy = float(np.mean(sx) + d[0] * x), float(np.mean(sy) + d[1] * x)
        action = "sample"
    elif where == "background":
        x = site.site_radius_m + 100.0 if distance_m is None else distance_m
        cx, cy = float(np.mean(sx) - d[0] * x), float(np.mean(sy) - d[1] * x)
        action = "background"
    else:
        raise InputError(f"profile `where` {where!r}: use plume or background")
    top = alt_max_agl_m - 2.0
    z = np.arange(alt_min_agl_m, top + 1e-9, step_m / 4.0)
    a = np.arange(len(z)) * (math.pi / 2)
    pts = np.column_stack([cx + radius_m * np.cos(a), cy + radius_m * np.sin(a), z])
    return _block(site.target_id, "profile", pts, speed_m_s, action, 1,
                  info={"where": where, "centre_xy_m": [cx, cy], "alt_top_agl_m": float(z[-1])})


def survey_lines(poly: Polygon, *, spacing_m: float, angle_deg: float | None = None,
                 turnaround_m: float = 10.0, entry: str = "auto") -> tuple[np.ndarray, float]:
    """Lawn-mower line endpoints ``(n_lines*2, 2)`` over ``poly`` and the angle used (deg).

    Automatic angle: the one (1° steps) with the fewest lines, i.e. lines parallel to the
    polygon's minimum-width direction. ``entry`` picks the first corner: ``auto`` (nearest
    the west-south), or one of ``sw``, ``se``, ``nw``, ``ne``.
    """
    hull = np.asarray(poly.exterior.coords)[:-1]
    if angle_deg is None:
        th = np.radians(np.arange(180.0))
        # extent perpendicular to the lines for each angle
        nx, ny = -np.sin(th), np.cos(th)
        proj = hull[:, 0:1] * nx[None, :] + hull[:, 1:2] * ny[None, :]
        widths = proj.max(axis=0) - proj.min(axis=0)
        angle_deg = float(np.degrees(th[int(np.argmin(widths))]))
    t = math.radians(angle_deg)
    u = np.array([math.cos(t), math.sin(t)])
    nrm = np.array([-u[1], u[0]])
    off = hull @ nrm
    lo, hi = off.min(), off.max()
    n = max(1, int(math.ceil((hi - lo) / spacing_m)))
    offs = lo + (np.arange(n) + 0.5) * (hi - lo) / n
    along = hull @ u
    big = along.max() - along.min() + 10 * spacing_m
    c0 = along.min() - 5 * spacing_m
    starts = offs[:, None] * nrm[None, :] + c0 * u[None, :]
    lines = shapely.linestrings(np.stack([starts, starts + big * u[None, :]], axis=1))
    clipped = shapely.intersection(lines, poly)
    segs = []
    for g in clipped:
        if g.is_empty:
            continue
        coords = shapely.get_coordinates(g)
        s = coords @ u
        segs.append((coords[np.argmin(s)] - turnaround_m * u, coords[np.argmax(s)] + turnaround_m * u))
    if not segs:
        raise InputError("survey polygon is smaller than one line spacing: reduce `spacing_m`")
    pts = []
    for k, (a, b) in enumerate(segs):
        pts += [a, b] if k % 2 == 0 else [b, a]
    pts = np.asarray(pts)
    corners = {"sw": (-1, -1), "se": (1, -1), "nw": (-1, 1), "ne": (1, 1)}
    want = corners.get("sw" if entry == "auto" else entry)
    if want is None:
        raise InputError(f"survey `entry` {entry!r}: use auto, sw, se, nw or ne")
    flipped = pts.reshape(-1, 2, 2)[:, ::-1].reshape(-1, 2)
    candidates = [pts, pts[::-1], flipped, flipped[::-1]]
    best = max(candidates, key=lambda p: want[0] * p[0][0] + want[1] * p[0][1])
    return best, angle_deg


def plan_survey(
    site: TargetSite,
    wind: Wind,
    *,
    stability: str,
    polygon: Polygon | None = None,
    spacing_m: float = 40.0,
    angle_deg: float | None = None,
    turnaround_m: float = 10.0,
    entry: str = "auto",
    alt_agl_m: float = 40.0,
    speed_m_s: float = 5.0,
    alt_max_agl_m: float = 120.0,
) -> Block:
    """A lawn-mower over ``polygon`` (metric; default: the site disc grown by 50 m downwind)."""
    if polygon is None:
        d, _ = wind_axes(wind)
        r = site.site_radius_m + 50.0
        disc = Point(site.x_m, site.y_m).buffer(r, quad_segs=8)
        shifted = Point(site.x_m + d[0] * r, site.y_m + d[1] * r).buffer(r, quad_segs=8)
        polygon = shapely.convex_hull(shapely.union(disc, shifted))
    pts, ang = survey_lines(polygon, spacing_m=spacing_m, angle_deg=angle_deg, turnaround_m=turnaround_m, entry=entry)
    z = float(np.clip(alt_agl_m, MIN_SAMPLE_AGL_M, alt_max_agl_m))
    passes = np.repeat(np.arange(1, len(pts) // 2 + 1), 2)
    return _block(site.target_id, "survey", np.column_stack([pts, np.full(len(pts), z)]), speed_m_s, "sample",
                  passes, info={"angle_deg": ang, "lines": len(pts) // 2, "spacing_m": spacing_m})


def plan_hover(
    site: TargetSite,
    wind: Wind,
    *,
    stability: str,
    distance_m: float | None = None,
    hold_s: float = 60.0,
    alt_max_agl_m: float = 120.0,
    speed_m_s: float = 5.0,
) -> Block:
    """Hold points downwind of each stack at the predicted plume centre height."""
    d, _ = wind_axes(wind)
    sx, sy, *_ = site.stacks()
    x = (site.site_radius_m + 30.0) if distance_m is None else float(distance_m)
    geo = plume_geometry(site, wind, stability, x)
    z = float(np.clip(geo["h_eff_m"], MIN_SAMPLE_AGL_M, alt_max_agl_m - 2.0))
    # one point per stack, ordered across the wind
    c = np.array([-d[1], d[0]])
    order = np.argsort(sx * c[0] + sy * c[1])
    pts = np.column_stack([sx[order] + d[0] * x, sy[order] + d[1] * x, np.full(len(sx), z)])
    return _block(site.target_id, "hover", pts, speed_m_s, "hover", np.arange(1, len(pts) + 1), hold=hold_s,
                  info={"distance_m": x, "hold_s": hold_s, **geo})


PATTERN_FUNCS = {"curtain": plan_curtain, "orbit": plan_orbit, "profile": plan_profile,
                 "survey": plan_survey, "hover": plan_hover}


def make_block(pattern: str, site: TargetSite, wind: Wind, *, stability: str, alt_max_agl_m: float,
               options: dict | None = None) -> Block:
    """Dispatch to the pattern function ``pattern`` with ``options`` (keyword arguments)."""
    if pattern not in PATTERN_FUNCS:
        raise InputError(f"pattern {pattern!r}: use one of {', '.join(PATTERNS)}")
    return PATTERN_FUNCS[pattern](site, wind, stability=stability, alt_max_agl_m=alt_max_agl_m, **(options or {}))
