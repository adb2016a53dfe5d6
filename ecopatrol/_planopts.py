"""Options shared by ``plan drone`` and ``plan van``: the day's targets, ``--when``, ``LON,LAT``.

Parsing only; the planners do the work (:func:`ecopatrol.missions.drone.plan_drone`,
:func:`ecopatrol.missions.van.plan_van`).
"""

from __future__ import annotations

from datetime import datetime

from ecopatrol.core import settings

DEFAULT_TIMEZONE = settings.DEFAULT_TIMEZONE


def day_targets(targets: str | None, targets_file, top: int | None, *, default_top: int):
    """``(ids, ranks, top)``: the targets in priority order, their ranks, and how many to plan.

    From a targets file the default budget is ``default_top`` targets; from ``--targets`` all of
    them unless ``--top`` says otherwise.
    """
    from ecopatrol.core.errors import InputError
    from ecopatrol.core.registry import parse_target_ids, read_targets_ranked

    if (targets is None) == (targets_file is None):
        raise InputError.keyed("opt.targets_one")
    if top is not None and top < 1:
        raise InputError.keyed("opt.top", top=top)
    if targets_file is not None:
        ids, ranks = read_targets_ranked(targets_file)
        return ids, ranks, top if top is not None else default_top
    ids = parse_target_ids(targets)
    return ids, list(range(1, len(ids) + 1)), top


def parse_when(text: str | None, area) -> datetime | None:
    """``YYYY-MM-DD HH:MM`` in the area's time zone (``[defaults] timezone``, default Asia/Shanghai)."""
    if text is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ecopatrol.core.errors import InputError

    tz_name = str((getattr(area, "config", {}) or {}).get("defaults", {}).get("timezone") or DEFAULT_TIMEZONE)
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError.keyed("area.timezone", tz=repr(tz_name)) from None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(str(text).strip(), fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise InputError.keyed("opt.when", text=repr(text), tz=tz_name)


def parse_lonlat(text: str, option: str) -> tuple[float, float]:
    """``LON,LAT`` in WGS-84 degrees."""
    import math

    from ecopatrol.core.errors import InputError

    parts = [p.strip() for p in str(text).split(",")]
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise InputError.keyed("opt.lonlat", option=option, text=repr(text)) from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError.keyed("opt.lonlat_range", option=option, text=repr(text), lon=lon, lat=lat)
    return lon, lat


def wind_for(wind_text: str | None, area, when):
    """The wind of ``--wind``, else the area's default; with ``--when`` and no class in ``--wind``
    the class is left to be derived from the sun's elevation then."""
    from ecopatrol.core.weather import Wind, parse_wind

    if wind_text is not None:
        return parse_wind(wind_text)
    w = area.default_wind()
    if when is not None:
        return Wind(w.from_deg, w.speed_m_s, None, w.mixing_height_m)
    return w


def budget_line(n_planned: int, n_given: int, n_deferred: int, n_dropped: int) -> str:
    """``planned 10 of 860 targets; 850 left for another day`` (and the dropped, when any)."""
    from ecopatrol._i18n import msg

    line = msg("cli.budget", planned=n_planned, given=n_given)
    if n_deferred:
        line += msg("cli.budget_deferred", n=n_deferred)
    if n_dropped:
        line += msg("cli.budget_dropped", n=n_dropped)
    return line


#: The planners' reasons for leaving a target out, as they write them (English, in plan.json), and the
#: catalogue key that says the same in the run's language: ``(key, pattern with the key's fields)``.
#: A reason that matches none is shown as written.
_REASONS = [
    ("plan.deferred_top", r"beyond today's budget of (?P<n>\d+) target\(s\): rank (?P<rank>\d+)"),
    ("plan.deferred_flight", r"beyond today's flight-time budget of (?P<hours>[\d.]+) h \(battery swaps included\): "
                             r"rank (?P<rank>\d+)"),
    ("plan.deferred_shift", r"beyond today's (?P<hours>[\d.]+) h shift: rank (?P<rank>\d+)"),
    ("plan.deferred_shift_full", r"beyond today's (?P<hours>[\d.]+) h shift \(the route is full\): rank (?P<rank>\d+)"),
    ("plan.dropped_no_road", r"no drivable road \(connected to the depot\) crosses its predicted plume "
                             r"(?P<near>\d+)–(?P<far>\d+) m downwind with wind from (?P<deg>[\d.]+)°"),
    ("plan.dropped_range", r"its pattern reaches (?P<dist>\d+) m from the nearest launch site, beyond the "
                           r"(?P<range>\d+) m range from the pilot"),
    ("plan.dropped_battery", r"its (?P<pattern>\w+) alone needs (?P<need>\d+%) of a battery, more than the usable "
                             r"(?P<usable>\d+%): reduce repeats or use a larger aircraft"),
]


def reason_text(reason: str) -> str:
    """A planner's reason (``beyond today's 6 h shift: rank 12``…) in the run's language; as written when unknown."""
    import re

    from ecopatrol._i18n import msg

    for key, pattern in _REASONS:
        m = re.fullmatch(pattern, reason)
        if m:
            return msg(key, **m.groupdict())
    return reason


def warning_text(text: str) -> str:
    """A planner's warning (a target dropped, an approval needed) in the run's language; as written when unknown."""
    import re

    from ecopatrol._i18n import msg

    m = re.fullmatch(r"target (?P<target>\S+) dropped: (?P<reason>.+)", text)
    if m:
        return msg("plan.warn_dropped", target=m["target"], reason=reason_text(m["reason"]))
    m = re.fullmatch(r"enterprise (?P<id>\S+) \((?P<name>.+)\) is in (?P<airspace>[\w-]+) airspace: an approval is "
                     r"needed before flying", text)
    if m:
        return msg("plan.warn_approval", **m.groupdict())
    return text
