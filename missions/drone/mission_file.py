"""Mission files for the upload: the QGroundControl ``.plan`` and ``QGC WPL 110`` ``.waypoints``
read as MAVLink mission items, and the pre-flight checks of such a file before anything is sent
(against the ``plan.json`` it was exported from and the area). Used by :mod:`.upload`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ecopatrol.core.errors import FormatError, InputError, InputFileNotFoundError, Report


@dataclass(frozen=True)
class MissionItem:
    """One mission item as MISSION_ITEM_INT carries it (lat/lon in degrees here)."""

    seq: int
    frame: int
    command: int
    current: int
    autocontinue: int
    param1: float
    param2: float
    param3: float
    param4: float
    lat_deg: float
    lon_deg: float
    alt_m: float

    @property
    def x_int(self) -> int:
        return int(round(self.lat_deg * 1e7))

    @property
    def y_int(self) -> int:
        return int(round(self.lon_deg * 1e7))


# ---------------------------------------------------------------------------------------
# reading mission files
# ---------------------------------------------------------------------------------------

def _nan0(v) -> float:
    return 0.0 if v is None else float(v)


def _read_qgc(path: Path) -> dict:
    from ecopatrol.core.artefacts.plan import MAX_PLAN_BYTES
    from ecopatrol.core.io import read_json_bounded

    doc = read_json_bounded(path, what="QGroundControl .plan", max_bytes=MAX_PLAN_BYTES,
                            fix="write the plan again with `ecopatrol plan drone`",
                            edit_fix="write it again with `ecopatrol plan drone` rather than editing it by hand")
    if not isinstance(doc, dict) or not isinstance(doc.get("mission"), dict) \
            or not isinstance(doc["mission"].get("items"), list):
        raise FormatError(f"`{Path(path).name}`, field `mission.items`: missing or not a list — not a "
                          "QGroundControl .plan; export it again with `ecopatrol plan drone`")
    return doc


def items_from_qgc_plan(path: Path) -> list[MissionItem]:
    """Mission items of a QGC ``.plan``; ArduPilot plans get the home as item 0.

    The file is refused before parsing when over the size limit, and any field of the wrong type
    (a string for a frame, a missing ``params`` list, NaN) is a :class:`FormatError` naming the item."""
    name = Path(path).name
    mission = _read_qgc(path)["mission"]
    raw = mission["items"]
    items: list[MissionItem] = []
    try:
        fw = int(mission.get("firmwareType", 3))
    except (TypeError, ValueError):
        raise FormatError(f"`{name}`, field `mission.firmwareType`: {mission.get('firmwareType')!r} is not an "
                          "integer (3 ArduPilot, 12 PX4)") from None
    if fw == 3:
        h = mission.get("plannedHomePosition") or [0, 0, 0]
        try:
            items.append(MissionItem(0, 0, 16, 0, 1, 0, 0, 0, 0, float(h[0]), float(h[1]), float(h[2])))
        except (TypeError, ValueError, IndexError, KeyError):
            raise FormatError(f"`{name}`, field `mission.plannedHomePosition`: {h!r} is not [lat, lon, alt]") from None
    for k, it in enumerate(raw):
        if not isinstance(it, dict) or it.get("type") != "SimpleItem":
            kind = it.get("type") if isinstance(it, dict) else type(it).__name__
            raise FormatError(f"`{name}` item {k + 1}: type {kind!r} — only SimpleItem "
                              "missions can be uploaded; re-save it from QGroundControl as simple items")
        try:
            params = it.get("params", [])
            if not isinstance(params, list) or len(params) > 7:
                raise TypeError("params must be a list of 7 numbers (null for unset)")
            p = list(params) + [None] * 7
            frame, command = it["frame"], it["command"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (frame, command)):
                raise TypeError(f"frame {frame!r} and command {command!r} must be integers")
            items.append(MissionItem(len(items), frame, command, 0,
                                     1 if it.get("autoContinue", True) else 0, _nan0(p[0]), _nan0(p[1]),
                                     _nan0(p[2]), float("nan") if p[3] is None else float(p[3]),
                                     _nan0(p[4]), _nan0(p[5]), _nan0(p[6])))
        except (TypeError, ValueError, KeyError) as exc:
            raise FormatError(f"`{name}` item {k + 1}, field `params`/`frame`/`command`: {exc} — export the "
                              "mission again with `ecopatrol plan drone` rather than editing it by hand") from None
    if items:
        items[0] = MissionItem(**{**items[0].__dict__, "current": 1})
    return items


def items_from_wpl(path: Path) -> list[MissionItem]:
    """Mission items of a ``QGC WPL 110`` file (tab- or space-separated)."""
    from ecopatrol.core.artefacts.plan import MAX_PLAN_BYTES
    from ecopatrol.core.io import refuse_oversize

    refuse_oversize(path, MAX_PLAN_BYTES, what="mission file")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise FormatError(f"`{Path(path).name}` is not UTF-8 text: {exc}") from exc
    if not lines or not lines[0].startswith("QGC WPL"):
        raise FormatError(f"`{Path(path).name}` line 1: expected 'QGC WPL 110'")
    items = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        f = line.split()
        if len(f) != 12:
            raise FormatError(f"`{Path(path).name}` line {n}: {len(f)} fields, expected 12")
        try:
            items.append(MissionItem(int(f[0]), int(f[2]), int(f[3]), int(f[1]), int(float(f[11])), float(f[4]),
                                     float(f[5]), float(f[6]), float(f[7]), float(f[8]), float(f[9]), float(f[10])))
        except ValueError as exc:
            raise FormatError(f"`{Path(path).name}` line {n}: {exc} — export the mission again") from None
    return items


def load_mission(plan_path, *, sortie: int | str | None = None) -> tuple[Path, list[MissionItem]]:
    """Resolve ``plan_path`` (a ``.plan``, a ``.waypoints``, or a ``plan.json`` / plan folder with
    ``sortie``) and read its items."""
    p = Path(plan_path)
    if not p.exists():
        raise InputFileNotFoundError(f"`{p}` does not exist: give a .plan or .waypoints written by "
                                     "`ecopatrol plan drone`")
    if p.is_dir() or p.suffix == ".json":
        folder = p if p.is_dir() else p.parent
        if sortie is None:
            cands = sorted(folder.glob("S*.plan"))
            if len(cands) != 1:
                raise InputError(f"`{p}` holds {len(cands)} sorties: choose one with --sortie N")
            p = cands[0]
        else:
            sid = f"S{int(str(sortie).lstrip('Ss')):02d}"
            p = folder / f"{sid}.plan"
            if not p.exists():
                raise InputFileNotFoundError(f"sortie {sid}: `{p}` does not exist")
    elif sortie is not None:
        sid = f"S{int(str(sortie).lstrip('Ss')):02d}"
        if not p.stem.upper().startswith(sid):
            cand = p.with_name(f"{sid}{p.suffix}")
            if not cand.exists():
                raise InputError(f"--sortie {sortie} does not match `{p.name}` and `{cand.name}` does not exist")
            p = cand
    if p.suffix == ".waypoints" or p.suffix == ".txt":
        return p, items_from_wpl(p)
    return p, items_from_qgc_plan(p)


# ---------------------------------------------------------------------------------------
# pre-flight checks of the file, before anything is sent
# ---------------------------------------------------------------------------------------

NAV_COMMANDS = {16, 17, 18, 19, 21, 22, 82}  # waypoint, loiters, land, take-off, spline waypoint
GLOBAL_FRAMES = {0, 3, 5, 6, 10, 11}


def preflight_mission(path: Path, items: list[MissionItem], *, area=None) -> Report:
    """Every reason not to send ``items`` (read from ``path``) to a vehicle, found before connecting.

    Without an area: every positional item has finite coordinates in range (not 0, 0) and finite
    heights; no leg between positional items crosses an exclusion polygon of the ``.plan``'s own
    geofence. When the file sits beside the ``plan.json`` it was exported from: that plan's
    structure is checked (:func:`~.validate.check_plan_structure`) and every item must equal what
    the plan's sortie of the same name exports — a hand edit of either file is refused. With
    ``area`` the plan and the file are also re-checked against the area's zones, DEM, cap,
    range and battery (:func:`~.validate.validate_plan`, :func:`~.validate.validate_exports`).
    """
    rep = Report()
    f = path.name
    nav = [it for it in items if it.command in NAV_COMMANDS and it.frame in GLOBAL_FRAMES]
    for it in items:
        vals = (it.lat_deg, it.lon_deg, it.alt_m, it.param1, it.param2, it.param3)
        if not all(math.isfinite(v) for v in vals):
            rep.error(f"item {it.seq}: non-finite value (NaN or infinity) — export the mission again", file=f,
                      row=it.seq, field="params")
    for it in nav:
        if not (math.isfinite(it.lat_deg) and math.isfinite(it.lon_deg)):
            continue
        if not (-90 <= it.lat_deg <= 90 and -180 <= it.lon_deg <= 180):
            rep.error(f"item {it.seq}: position ({it.lat_deg:g}, {it.lon_deg:g}) is not a latitude/longitude",
                      file=f, row=it.seq, field="params[4:6]")
        elif it.lat_deg == 0 and it.lon_deg == 0 and it.command != 21:
            rep.error(f"item {it.seq}: position 0, 0 (a blank coordinate)", file=f, row=it.seq, field="params[4:6]")
    if path.suffix == ".plan":
        _check_own_fence(rep, path, nav)
    sib = path.parent / "plan.json"
    if sib.exists() and path.suffix in (".plan", ".waypoints"):
        _check_against_plan(rep, path, items, sib, area)
    elif area is not None and path.suffix == ".plan":
        _check_lone_plan(rep, path, area)
    elif area is not None:
        rep.warning(f"no plan.json beside `{f}`: its heights and zones are not checked against the area", file=f)
    return rep


def _check_lone_plan(rep: Report, path: Path, area) -> None:
    """A ``.plan`` without its plan.json: its items, rally points and fence against the area (the
    home from ``plannedHomePosition`` is taken as the pilot's position)."""
    import numpy as np

    from .airspace import Airspace
    from .validate import validate_exports

    doc = _read_qgc(path)
    try:
        hlat, hlon, halt = (float(v) for v in doc["mission"]["plannedHomePosition"])
    except (KeyError, TypeError, ValueError):
        rep.error("plannedHomePosition is missing or not [lat, lon, alt]", file=path.name,
                  field="plannedHomePosition")
        return
    zones = Airspace.from_frame(area.nofly, area.metric_crs, margin_m=0.0).zones
    fence = sorted({z.zone_id for z in zones if not np.isfinite(z.ceiling_m)})
    plan = {"limits": {}, "sorties": [{"sortie_id": path.stem,
                                       "launch": {"lat": hlat, "lon": hlon, "ground_amsl_m": halt}}]}
    erep = validate_exports(plan, area, {path.stem: {"qgc": doc, "fence_zones": fence}})
    rep.extend(Report([p for p in erep.problems if p.severity == "error"]))


def _check_own_fence(rep: Report, path: Path, nav: list[MissionItem]) -> None:
    import shapely

    try:
        doc = _read_qgc(path)
        polys = (doc.get("geoFence") or {}).get("polygons") or []
        fences = [shapely.Polygon([(float(b), float(a)) for a, b in p["polygon"]]) for p in polys
                  if isinstance(p, dict) and not p.get("inclusion", False)]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        rep.error(f"the geofence cannot be read ({exc})", file=path.name, field="geoFence")
        return
    pts = [(it.lon_deg, it.lat_deg) for it in nav if it.seq > 0 and math.isfinite(it.lat_deg)
           and math.isfinite(it.lon_deg)]
    for k in range(len(pts) - 1):
        leg = shapely.LineString([pts[k], pts[k + 1]]) if pts[k] != pts[k + 1] else shapely.Point(pts[k])
        for z, fence in enumerate(fences, start=1):
            if fence.is_valid and leg.intersects(fence):
                rep.error(f"leg {k}→{k + 1} of the mission enters exclusion fence {z} of the file's own geofence "
                          "(a no-fly zone)", file=path.name, row=k, field="mission.items")


def _expected_items(sortie: dict) -> list[tuple]:
    from .exports import mission_items

    launch = sortie["launch"]
    out = [(16, 0, float(launch["lat"]), float(launch["lon"]), float(launch["ground_amsl_m"]))]
    for it in mission_items(sortie):
        p = [0.0 if v is None else float(v) for v in it["params"]]
        out.append((it["command"], it["frame"], p[4], p[5], p[6]))
    return out


def _check_against_plan(rep: Report, path: Path, items, sib: Path, area) -> None:
    from ecopatrol.core.artefacts.plan import read_plan

    from .validate import check_plan_structure, validate_exports, validate_plan

    f = path.name
    try:
        doc = read_plan(sib, kind="drone", check_schema=False)
    except FormatError as exc:
        rep.error(str(exc), file=sib.name)
        return
    srep = check_plan_structure(doc, file=sib.name)
    rep.extend(srep)
    if srep.errors:
        return
    by_id = {s.get("sortie_id"): s for s in doc.get("sorties") or []}
    s = by_id.get(path.stem)
    if s is None:
        rep.error(f"`{sib.name}` has no sortie {path.stem!r} (it has {', '.join(map(str, by_id)) or 'none'}): "
                  "this mission file does not belong to that plan", file=f)
        return
    try:
        want = _expected_items(s)
    except (KeyError, TypeError, ValueError) as exc:
        rep.error(f"sortie {path.stem} cannot be exported ({exc})", file=sib.name)
        return
    got = [(it.command, it.frame, it.lat_deg, it.lon_deg, it.alt_m) for it in items]
    if got and len(got) == len(want) - 1:  # no home item (PX4 .plan)
        want = want[1:]
    if len(got) != len(want):
        rep.error(f"{len(got)} mission items, but sortie {path.stem} of {sib.name} exports {len(want)}: one of the "
                  "two was edited by hand — export the plan again with `ecopatrol plan drone`", file=f)
    else:
        for k, (a, b) in enumerate(zip(got, want)):
            if a[:2] != b[:2] or not all(abs(x - y) <= t for x, y, t in zip(a[2:], b[2:], (1e-6, 1e-6, 0.02))):
                rep.error(f"item {k} (command {a[0]}, {a[2]:.7f}, {a[3]:.7f}, {a[4]:.2f} m) differs from what sortie "
                          f"{path.stem} of {sib.name} exports (command {b[0]}, {b[2]:.7f}, {b[3]:.7f}, {b[4]:.2f} m): "
                          "one of the two was edited by hand — export the plan again with `ecopatrol plan drone`",
                          file=f, row=k, field="mission.items")
                break
    if area is not None:
        vrep = validate_plan(doc, area)
        rep.extend(Report([p for p in vrep.problems if p.severity == "error"]))
        if path.suffix == ".plan" and not vrep.errors:
            import numpy as np

            from .airspace import Airspace

            zones = Airspace.from_frame(area.nofly, area.metric_crs, margin_m=0.0).zones
            fence = sorted({z.zone_id for z in zones if not np.isfinite(z.ceiling_m)})
            erep = validate_exports(doc, area, {s["sortie_id"]: {"qgc": _read_qgc(path), "fence_zones": fence}})
            rep.extend(Report([p for p in erep.problems if p.severity == "error"]))


def _is_ardupilot_plan(path: Path) -> bool:
    try:
        return int(_read_qgc(path)["mission"].get("firmwareType", 3)) == 3
    except (OSError, ValueError, KeyError):
        return False
