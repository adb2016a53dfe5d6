"""Text helpers of the report and the map: reasons, coordinates, local times, enterprise names.

Coordinates are WGS-84 ``(lon, lat)``; times are tz-aware UTC inside and shown in the area's
time zone (``[defaults] timezone`` of ``area.toml``, else Asia/Shanghai).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._style import TIMEZONE_DISPLAY

if TYPE_CHECKING:
    from ecopatrol.core.area import AreaLike

_OPEN = "([{（【"
_CLOSE = ")]}）】"


def split_reasons(text) -> list[str]:
    """The reasons of a target as written, split only at top-level ``"; "``.

    A ``;`` inside parentheses or brackets (``"E0028 (confirmed, 16 passes; likelihood 0.90)"``)
    belongs to its clause and is never a split point; unbalanced brackets leave the text whole.
    Empty parts are dropped; ``None``/NaN gives ``[]``.
    """
    if text is None or (isinstance(text, float) and text != text):
        return []
    s = str(text).strip()
    if not s or s in ("nan", "None"):
        return []
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(s):
        c = s[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth < 0:          # unbalanced: do not guess
                return [s]
        elif c == ";" and depth == 0 and (i + 1 == len(s) or s[i + 1] == " "):
            parts.append(s[start:i])
            start = i + 1
        i += 1
    if depth != 0:
        return [s]
    parts.append(s[start:])
    return [p.strip() for p in parts if p.strip()]


def fmt_lonlat(lon, lat, *, digits: int = 5) -> str:
    """``(120.45123, 36.39012)`` → ``"120.45123 E, 36.39012 N"`` (W/S for negative values)."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        return "—"
    if not (x == x and y == y):
        return "—"
    return f"{abs(x):.{digits}f} {'E' if x >= 0 else 'W'}, {abs(y):.{digits}f} {'N' if y >= 0 else 'S'}"


def area_timezone(area: AreaLike | None) -> str:
    """The area's display time zone: ``[defaults] timezone`` (or top-level ``timezone``), else Beijing."""
    cfg = (area.config if area is not None else None) or {}
    d = cfg.get("defaults") if isinstance(cfg.get("defaults"), dict) else {}
    tz = d.get("timezone") or cfg.get("timezone")
    if tz:
        try:
            pd.Timestamp("2020-01-01", tz=str(tz))
            return str(tz)
        except Exception:  # an unknown zone name: fall back rather than fail the report
            pass
    return TIMEZONE_DISPLAY


def local_time(ts, tz: str = TIMEZONE_DISPLAY, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``ts`` (UTC when naive) in ``tz`` as text, ``—`` when missing or unreadable."""
    try:
        t = pd.Timestamp(ts)
    except (TypeError, ValueError):
        return "—"
    if pd.isna(t):
        return "—"
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    return t.tz_convert(tz).strftime(fmt)


def enterprise_names(art) -> dict[str, str]:
    """``{enterprise_id: name}`` from the registry, completed by ``targets.csv``."""
    out: dict[str, str] = {}
    t = getattr(art, "targets", None)
    if t is not None and "name" in t:
        out.update({str(i): str(n) for i, n in zip(t["enterprise_id"], t["name"]) if pd.notna(n)})
    e = getattr(art, "enterprises", None)
    if e is not None and len(e) and "name" in e and "enterprise_id" in e:
        out.update({str(i): str(n) for i, n in zip(e["enterprise_id"], e["name"]) if pd.notna(n)})
    return out


def with_names(ids, names: dict[str, str]) -> str:
    """``"ID name, ID name"`` for a list of enterprise ids (the id alone when its name is unknown)."""
    out = []
    for i in ids or []:
        n = names.get(str(i))
        out.append(f"{i} {n}" if n else str(i))
    return ", ".join(out)
