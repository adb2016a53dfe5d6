"""Wind, atmospheric stability and wind profiles.

Wind directions are meteorological: ``wind_from_deg`` is where the wind blows *from*,
clockwise from true north (270 = a westerly, blowing toward the east). Speeds are at
10 m unless a name says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, UTC
from typing import Literal

import numpy as np

from .errors import InputError

StabilityClass = Literal["A", "B", "C", "D", "E", "F"]
STABILITY_CLASSES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")

# Power-law wind-profile exponents (US EPA ISC3), rural and urban.
_PROFILE_EXP_RURAL = {"A": 0.07, "B": 0.07, "C": 0.10, "D": 0.15, "E": 0.35, "F": 0.55}
_PROFILE_EXP_URBAN = {"A": 0.15, "B": 0.15, "C": 0.20, "D": 0.25, "E": 0.30, "F": 0.30}


@dataclass(frozen=True)
class Wind:
    """A wind: direction it blows from (degrees, clockwise from north) and 10 m speed."""

    from_deg: float
    speed_m_s: float
    stability: str | None = None
    mixing_height_m: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.from_deg):
            raise InputError(f"wind direction {self.from_deg!r} is not a number")
        if not (math.isfinite(self.speed_m_s) and 0 <= self.speed_m_s <= 60):
            raise InputError(f"wind speed {self.speed_m_s!r} m/s must be between 0 and 60")
        object.__setattr__(self, "from_deg", float(self.from_deg) % 360.0)
        if self.stability is not None:
            s = str(self.stability).upper()
            if s not in STABILITY_CLASSES:
                raise InputError(f"stability class {self.stability!r}: use one of A, B, C, D, E, F")
            object.__setattr__(self, "stability", s)

    @property
    def to_unit(self) -> tuple[float, float]:
        """Unit vector (east, north) of the direction the air moves toward (downwind)."""
        t = math.radians(self.from_deg)
        return (-math.sin(t), -math.cos(t))

    @property
    def u_east_m_s(self) -> float:
        return self.to_unit[0] * self.speed_m_s

    @property
    def v_north_m_s(self) -> float:
        return self.to_unit[1] * self.speed_m_s

    def with_stability(self, stability: str) -> "Wind":
        return Wind(self.from_deg, self.speed_m_s, stability, self.mixing_height_m)

    def resolved_stability(self, when: datetime | None = None, lon: float = 120.45, lat: float = 36.39) -> str:
        """The given stability class, or one derived from speed and (optionally) time of day."""
        if self.stability:
            return self.stability
        return stability_class(self.speed_m_s, when=when, lon=lon, lat=lat)

    def __str__(self) -> str:
        s = f"{self.from_deg:g}/{self.speed_m_s:g}"
        return s + (f"/{self.stability}" if self.stability else "")


def parse_wind(text: str) -> Wind:
    """Parse ``FROM_DEG/SPEED_M_S[/CLASS]``, e.g. ``270/4`` or ``45/3.5/D``."""
    parts = str(text).strip().split("/")
    if len(parts) not in (2, 3):
        raise InputError.keyed("opt.wind_format", text=repr(text))
    try:
        d = float(parts[0])
        s = float(parts[1])
    except ValueError:
        raise InputError.keyed("opt.wind", text=repr(text)) from None
    return Wind(d, s, parts[2] if len(parts) == 3 else None)


def wind_from_components(u_east_m_s, v_north_m_s):
    """Meteorological direction (from, degrees) and speed from (east, north) components."""
    u = np.asarray(u_east_m_s, dtype=float)
    v = np.asarray(v_north_m_s, dtype=float)
    speed = np.hypot(u, v)
    from_deg = (np.degrees(np.arctan2(-u, -v)) + 360.0) % 360.0
    return from_deg, speed


def solar_elevation_deg(when: datetime, lon: float, lat: float) -> float:
    """Approximate solar elevation (degrees) at a UTC time and WGS-84 place (NOAA formulae)."""
    if when.tzinfo is None:
        raise InputError("solar_elevation_deg needs a timezone-aware time")
    t = when.astimezone(UTC)
    doy = t.timetuple().tm_yday
    hour = t.hour + t.minute / 60 + t.second / 3600
    g = 2 * math.pi / 365 * (doy - 1 + (hour - 12) / 24)
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
            + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    eqt = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                    - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    tst = hour * 60 + eqt + 4 * lon
    ha = math.radians(tst / 4 - 180)
    la = math.radians(lat)
    cz = math.sin(la) * math.sin(decl) + math.cos(la) * math.cos(decl) * math.cos(ha)
    return math.degrees(math.asin(max(-1.0, min(1.0, cz))))


def stability_class(
    wind_speed_m_s: float,
    *,
    when: datetime | None = None,
    lon: float = 120.45,
    lat: float = 36.39,
    cloud_octas: int = 4,
) -> str:
    """Pasquill–Gifford stability class from 10 m wind speed and time of day (Turner's table).

    Without ``when`` the neutral-leaning daytime "slight insolation" column is used.
    Intermediate classes of the table (A–B, B–C, C–D) resolve to the more stable one,
    which predicts narrower plumes: the conservative choice for planning crossings.
    """
    u = float(wind_speed_m_s)
    if when is None:
        column = "slight"
    else:
        elev = solar_elevation_deg(when, lon, lat)
        if elev > 60:
            column = "strong"
        elif elev > 35:
            column = "moderate"
        elif elev > 15:
            column = "slight"
        elif elev > 0:
            column = "slight" if u >= 3 else "night_cloudy"
        else:
            column = "night_cloudy" if cloud_octas >= 4 else "night_clear"
    table = {
        "strong": ["A", "B", "B", "C", "C"],
        "moderate": ["B", "B", "C", "D", "D"],
        "slight": ["B", "C", "C", "D", "D"],
        "night_cloudy": ["F", "E", "D", "D", "D"],
        "night_clear": ["F", "F", "E", "D", "D"],
    }
    idx = 0 if u < 2 else 1 if u < 3 else 2 if u < 5 else 3 if u < 6 else 4
    return table[column][idx]


def wind_at_height(speed_10m_m_s, height_m, stability: str, *, urban: bool = False):
    """Power-law extrapolation of the 10 m wind speed to ``height_m`` (ISC3 exponents)."""
    p = (_PROFILE_EXP_URBAN if urban else _PROFILE_EXP_RURAL)[stability]
    h = np.maximum(np.asarray(height_m, dtype=float), 10.0)
    return np.asarray(speed_10m_m_s, dtype=float) * (h / 10.0) ** p
