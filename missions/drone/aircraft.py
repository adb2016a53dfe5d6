"""Aircraft profiles and the time / energy model of a multirotor flying a waypoint path.

The model is deliberately simple and explicit so an operator can check it:

* Power is normalised to the *best-endurance* power ``P_be = usable battery energy / rated
  endurance``, the manufacturer's "max flight time" (no payload, no wind, forward flight).
* Payload raises the power needed to hover as ``((m + p) / m) ** 1.5`` (momentum theory).
* Forward flight: ``P(v_air) / P_be = 1 + k_v ((v_air − v_be) / v_max)²`` — hovering costs a
  few per cent more than cruising at the best-endurance speed, flying fast costs much more.
  Multirotor autopilots hold *ground* speed, so the air speed of a leg comes from the wind
  vector at flight height (power-law profile from the 10 m wind).
* Climb adds the potential energy ``(m + p) g Δh / η_climb``; descent flies at 85 % power.
* A turn of angle θ at a waypoint costs a stop-and-go of ``2 v / a · θ / π`` seconds at
  hover power; holds (``hold_s``) are hovered in the wind.

Energies are returned in joules; the battery fraction of a sortie is ``E / E_battery``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ecopatrol.core.errors import InputError
from ecopatrol.core.weather import wind_at_height

G_M_S2 = 9.80665
TURN_ACCEL_M_S2 = 2.0
CLIMB_EFFICIENCY = 0.5
DESCENT_POWER_RATIO = 0.85
K_AIRSPEED = 0.5


@dataclass(frozen=True)
class Aircraft:
    """A multirotor profile. Masses in kg, speeds in m/s, energies in Wh, times in s."""

    key: str
    name: str
    rated_endurance_s: float
    battery_wh: float
    mass_kg: float
    max_payload_kg: float
    payload_kg: float
    max_speed_m_s: float
    cruise_speed_m_s: float
    best_endurance_speed_m_s: float
    climb_speed_m_s: float
    descent_speed_m_s: float
    max_wind_m_s: float
    dji_drone_enum: int | None = None
    dji_drone_sub_enum: int = 0
    dji_payload_enum: int | None = None
    mav_type: int = 2  # MAV_TYPE_QUADROTOR

    @property
    def battery_j(self) -> float:
        return self.battery_wh * 3600.0

    @property
    def p_be_w(self) -> float:
        """Best-endurance power without payload (W)."""
        return self.battery_j / self.rated_endurance_s

    @property
    def payload_factor(self) -> float:
        return ((self.mass_kg + self.payload_kg) / self.mass_kg) ** 1.5

    def with_payload(self, payload_kg: float) -> "Aircraft":
        if not 0 <= payload_kg <= self.max_payload_kg:
            raise InputError(
                f"payload {payload_kg} kg for {self.name}: must be between 0 and the maximum "
                f"{self.max_payload_kg} kg"
            )
        return replace(self, payload_kg=float(payload_kg))

    def power_w(self, airspeed_m_s):
        """Electrical power (W) in level flight at ``airspeed_m_s`` (vectorised)."""
        v = np.asarray(airspeed_m_s, float)
        shape = 1.0 + K_AIRSPEED * ((v - self.best_endurance_speed_m_s) / self.max_speed_m_s) ** 2
        return self.p_be_w * self.payload_factor * shape

    @property
    def hover_power_w(self) -> float:
        return float(self.power_w(0.0))

    def endurance_s(self, *, wind_speed_m_s: float = 0.0) -> float:
        """Hover endurance (s) with the current payload in a steady wind."""
        return self.battery_j / float(self.power_w(wind_speed_m_s))


# Published figures: DJI "max flight time" (no payload, no wind), TB65 2×263.2 Wh, TB60
# 2×274 Wh, TB30 2×131.6 Wh, Mavic 3 Enterprise series 77 Wh. Payload defaults: a VOC sampler on
# the Matrices (≈1 kg), a light PSDK sniffer on the small aircraft.
#
# DJI WPML ``droneInfo`` / ``payloadInfo`` (what DJI Pilot 2 reads from the .kmz; a wrong value makes
# it show the mission for another aircraft, or refuse it). ``droneEnumValue`` / ``droneSubEnumValue``
# are the aircraft's type / sub_type in DJI's Cloud API product-support table ("Enumeration Values
# of Aircraft, RC and Dock"; the WPML common-element page points there, and requires the sub type for
# type 67, the M30 series); ``payloadEnumValue`` is the main camera's type from the camera table of the
# same page:
#
#   aircraft               type  sub   payload (main camera)
#   Matrice 350 RTK          89    0   65534 (a PSDK payload: the VOC sampler; an H20 is 42, H20T 43)
#   Matrice 300 RTK          60    0   65534 (likewise)
#   Matrice 30               67    0   52   (M30 camera)
#   Matrice 30T              67    1   53   (M30T camera)
#   Mavic 3 Enterprise (3E)  77    0   66   (M3E camera)
#   Mavic 3 Thermal (3T)     77    1   67   (M3T camera)
#   Mavic 3 Multispectral    77    2   68   (M3M camera)
#
# The Mavic 3T row is checked against a real DJI Pilot 2 export (tests/test_drone_exports.py reads
# ../shared/data/wpml/dji_mavic3t_waypoint_sample.kmz: 77 / 1 / 67).
_M30 = dict(rated_endurance_s=41 * 60, battery_wh=263.2, max_payload_kg=0.299, payload_kg=0.25, max_speed_m_s=23.0,
            cruise_speed_m_s=10.0, best_endurance_speed_m_s=9.0, climb_speed_m_s=6.0, descent_speed_m_s=5.0,
            max_wind_m_s=15.0)
_M3 = dict(rated_endurance_s=45 * 60, battery_wh=77.0, max_payload_kg=0.135, payload_kg=0.1, max_speed_m_s=21.0,
           cruise_speed_m_s=10.0, best_endurance_speed_m_s=8.0, climb_speed_m_s=6.0, descent_speed_m_s=6.0,
           max_wind_m_s=12.0)
AIRCRAFT: dict[str, Aircraft] = {
    a.key: a
    for a in (
        Aircraft("m350", "DJI Matrice 350 RTK", 55 * 60, 526.4, 6.47, 2.73, 1.0, 23.0, 10.0, 10.0,
                 6.0, 5.0, 12.0, dji_drone_enum=89, dji_drone_sub_enum=0, dji_payload_enum=65534),
        Aircraft("m300", "DJI Matrice 300 RTK", 55 * 60, 548.0, 6.3, 2.7, 1.0, 23.0, 10.0, 10.0,
                 6.0, 5.0, 12.0, dji_drone_enum=60, dji_drone_sub_enum=0, dji_payload_enum=65534),
        Aircraft("m30", "DJI Matrice 30", mass_kg=3.77, **_M30, dji_drone_enum=67, dji_drone_sub_enum=0,
                 dji_payload_enum=52),
        Aircraft("m30t", "DJI Matrice 30T", mass_kg=3.77, **_M30, dji_drone_enum=67, dji_drone_sub_enum=1,
                 dji_payload_enum=53),
        Aircraft("m3e", "DJI Mavic 3 Enterprise", mass_kg=0.915, **_M3, dji_drone_enum=77, dji_drone_sub_enum=0,
                 dji_payload_enum=66),
        Aircraft("m3t", "DJI Mavic 3 Thermal", mass_kg=0.920, **_M3, dji_drone_enum=77, dji_drone_sub_enum=1,
                 dji_payload_enum=67),
        Aircraft("m3m", "DJI Mavic 3 Multispectral", mass_kg=0.951, **_M3, dji_drone_enum=77,
                 dji_drone_sub_enum=2, dji_payload_enum=68),
        Aircraft("mavlink", "Generic MAVLink multirotor (ArduCopter/PX4)", 30 * 60, 355.0, 4.5, 2.0,
                 1.0, 15.0, 8.0, 7.0, 3.0, 2.0, 10.0),
    )
}
_ALIASES = {"m350rtk": "m350", "matrice350": "m350", "m300rtk": "m300", "matrice300": "m300",
            "matrice30": "m30", "matrice30t": "m30t", "mavic3e": "m3e", "mavic3t": "m3t", "mavic3m": "m3m",
            "generic": "mavlink", "arducopter": "mavlink", "px4": "mavlink"}


def get_aircraft(name: "str | Aircraft") -> Aircraft:
    """The profile for ``name`` (``m350``, ``m300``, ``m30``, ``m30t``, ``m3e``, ``m3t``, ``m3m``, ``mavlink``)."""
    if isinstance(name, Aircraft):
        return name
    key = str(name).strip().lower().replace("-", "").replace(" ", "").replace("_", "")
    key = _ALIASES.get(key, key)
    if key not in AIRCRAFT:
        raise InputError(f"aircraft {name!r}: use one of {', '.join(AIRCRAFT)}")
    return AIRCRAFT[key]


@dataclass(frozen=True)
class PathCost:
    """Per-leg time (s) and energy (J) of a path; leg i joins waypoint i to i+1."""

    time_s: np.ndarray
    energy_j: np.ndarray
    max_airspeed_m_s: float

    @property
    def total_time_s(self) -> float:
        return float(self.time_s.sum())

    @property
    def total_energy_j(self) -> float:
        return float(self.energy_j.sum())


def _legs_in_wind(x, y, z, wind_from_deg: float, wind_speed_m_s: float, stability: str):
    """Per leg between consecutive waypoints: horizontal length, unit direction ``(ux, uy)``
    (0 for a vertical leg), the wind vector (toward) ``(wx, wy)`` and its speed at the leg's
    mean height."""
    dx, dy = np.diff(x), np.diff(y)
    horiz = np.hypot(dx, dy)
    t = math.radians(wind_from_deg)
    w_speed = wind_at_height(wind_speed_m_s, np.maximum(0.5 * (z[1:] + z[:-1]), 2.0), stability)
    wx, wy = -math.sin(t) * w_speed, -math.cos(t) * w_speed
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = np.where(horiz > 0, dx / horiz, 0.0)
        uy = np.where(horiz > 0, dy / horiz, 0.0)
    return horiz, ux, uy, wx, wy, w_speed


def cap_ground_speeds(aircraft: "Aircraft", x_m, y_m, alt_agl_m, speed_m_s, *, wind_from_deg: float,
                      wind_speed_m_s: float, stability: str = "D", margin_m_s: float = 0.5) -> np.ndarray:
    """Commanded ground speeds (``speed_m_s[i]``: the leg arriving at waypoint i, as in
    :func:`path_cost`) lowered on every leg where flying them in this wind would need more airspeed
    than the aircraft's maximum less ``margin_m_s``: into a headwind the airspeed is the ground
    speed plus the wind. The largest ground speed ``v`` along unit direction ``u`` with
    ``|v·u − w| ≤ vmax`` is ``u·w + sqrt((u·w)² − |w|² + vmax²)``."""
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    z = np.asarray(alt_agl_m, float)
    out = np.array(speed_m_s, float, copy=True)
    if len(x) < 2:
        return out
    horiz, ux, uy, wx, wy, w_speed = _legs_in_wind(x, y, z, wind_from_deg, wind_speed_m_s, stability)
    vmax = aircraft.max_speed_m_s - margin_m_s
    uw = ux * wx + uy * wy
    disc = uw ** 2 - w_speed ** 2 + vmax ** 2
    lim = np.maximum(uw + np.sqrt(np.maximum(disc, 0.0)), 0.5)
    out[1:] = np.where(horiz > 0, np.minimum(out[1:], lim), out[1:])
    return out


def path_cost(
    aircraft: Aircraft,
    x_m,
    y_m,
    alt_agl_m,
    speed_m_s,
    hold_s,
    *,
    wind_from_deg: float,
    wind_speed_m_s: float,
    stability: str = "D",
) -> PathCost:
    """Time and energy of flying waypoints ``(x_m, y_m, alt_agl_m)`` in order (metric CRS).

    ``speed_m_s[i]`` is the commanded ground speed of the leg that *arrives* at waypoint i;
    ``hold_s[i]`` the hover time at waypoint i (counted on the leg that arrives there).
    """
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    z = np.asarray(alt_agl_m, float)
    v_cmd = np.asarray(speed_m_s, float)
    hold = np.asarray(hold_s, float)
    n = len(x)
    if n < 2:
        return PathCost(np.zeros(0), np.zeros(0), 0.0)
    dz = np.diff(z)
    horiz, ux, uy, wx, wy, w_speed = _legs_in_wind(x, y, z, wind_from_deg, wind_speed_m_s, stability)
    v_g = np.maximum(v_cmd[1:], 0.5)
    air = np.hypot(ux * v_g - wx, uy * v_g - wy)
    air = np.where(horiz > 0, air, w_speed)
    t_horiz = horiz / v_g
    climb = np.maximum(dz, 0.0)
    desc = np.maximum(-dz, 0.0)
    t_climb = climb / aircraft.climb_speed_m_s
    t_desc = desc / aircraft.descent_speed_m_s
    # vertical and horizontal motion are flown one after the other (conservative)
    p_air = aircraft.power_w(air)
    p_hover_wind = aircraft.power_w(w_speed)
    m = aircraft.mass_kg + aircraft.payload_kg
    e = (p_air * t_horiz + p_hover_wind * t_climb + m * G_M_S2 * climb / CLIMB_EFFICIENCY
         + DESCENT_POWER_RATIO * p_hover_wind * t_desc)
    # turns at interior waypoints
    heading = np.arctan2(uy, ux)  # the direction of (dx, dy); 0 for a vertical leg, as before
    turn = np.zeros(n - 1)
    if n > 2:
        dh = np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)
        moving = (horiz[:-1] > 0) & (horiz[1:] > 0)
        turn[:-1] = np.where(moving, 2 * v_g[:-1] / TURN_ACCEL_M_S2 * dh / np.pi, 0.0)
    t_hold = hold[1:]
    e = e + p_hover_wind * (turn + t_hold)
    time = t_horiz + t_climb + t_desc + turn + t_hold
    return PathCost(time, e, float(np.max(air[horiz > 0], initial=0.0)))


def leg_matrix(
    aircraft: Aircraft,
    a_xyz: np.ndarray,
    b_xyz: np.ndarray,
    *,
    speed_m_s: float,
    wind_from_deg: float,
    wind_speed_m_s: float,
    stability: str = "D",
) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) and energy (J) of straight legs from every row of ``a_xyz`` to every row of
    ``b_xyz`` (shape (n, m)), with the same model as :func:`path_cost` (no turns, no holds)."""
    a = np.asarray(a_xyz, float)[:, None, :]
    b = np.asarray(b_xyz, float)[None, :, :]
    dx, dy, dz = (b - a)[..., 0], (b - a)[..., 1], (b - a)[..., 2]
    horiz = np.hypot(dx, dy)
    z_mid = np.maximum(0.5 * (a[..., 2] + b[..., 2]), 2.0)
    w_speed = wind_at_height(wind_speed_m_s, z_mid, stability)
    t = math.radians(wind_from_deg)
    wx, wy = -math.sin(t) * w_speed, -math.cos(t) * w_speed
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = np.where(horiz > 0, dx / horiz, 0.0)
        uy = np.where(horiz > 0, dy / horiz, 0.0)
    air = np.hypot(ux * speed_m_s - wx, uy * speed_m_s - wy)
    t_h = horiz / speed_m_s
    climb = np.maximum(dz, 0.0)
    desc = np.maximum(-dz, 0.0)
    t_c = climb / aircraft.climb_speed_m_s
    t_d = desc / aircraft.descent_speed_m_s
    p_w = aircraft.power_w(w_speed)
    m = aircraft.mass_kg + aircraft.payload_kg
    e = aircraft.power_w(air) * t_h + p_w * t_c + m * G_M_S2 * climb / CLIMB_EFFICIENCY + DESCENT_POWER_RATIO * p_w * t_d
    return t_h + t_c + t_d, e
