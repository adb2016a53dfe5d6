"""Upload a mission to a vehicle over MAVLink (pymavlink), with read-back verification.

The MAVLink mission protocol (https://mavlink.io/en/services/mission.html), upload side:

    GCS → MISSION_COUNT(n)                       (resent on timeout until the vehicle asks)
    vehicle → MISSION_REQUEST_INT(seq) | MISSION_REQUEST(seq)   (either; old ArduPilot uses the latter)
    GCS → MISSION_ITEM_INT(seq) | MISSION_ITEM(seq)             (answered in the same flavour)
    … until vehicle → MISSION_ACK(type)          (MAV_MISSION_ACCEPTED, or the reason it refused)

then the read-back: MISSION_REQUEST_LIST → MISSION_COUNT → MISSION_REQUEST_INT(seq) for each item
→ MISSION_ITEM_INT(seq) (or MISSION_ITEM) → MISSION_ACK, and every item is compared with what was
sent. A refusal, silence after the retries, or a mismatch raises :class:`UploadError`.

Connection strings are pymavlink's: ``tcp:HOST:PORT`` (connect to a vehicle or SITL listening on
TCP), ``udp:HOST:PORT`` (listen on that UDP port for a vehicle that sends to it — SITL and most
telemetry radios bridged to UDP), ``udpout:HOST:PORT`` (send to a vehicle listening on UDP), or a
serial device (``/dev/ttyUSB0`` with ``baud``).

For an ArduPilot-style plan (QGC ``firmwareType`` 3) the home position is item 0, as QGroundControl
and Mission Planner upload it; ArduPilot overwrites it with its own home, so its position is not
compared on read-back.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from ecopatrol.core.errors import FormatError, InputError, InputFileNotFoundError, Report, UploadError

log = logging.getLogger(__name__)

MAV_MISSION_TYPE_MISSION = 0
MAV_TYPE_GCS = 6
MAV_AUTOPILOT_INVALID = 8
MISSION_RESULTS = {
    0: "ACCEPTED", 1: "ERROR (generic)", 2: "UNSUPPORTED_FRAME", 3: "UNSUPPORTED command", 4: "NO_SPACE",
    5: "INVALID", 6: "INVALID_PARAM1", 7: "INVALID_PARAM2", 8: "INVALID_PARAM3", 9: "INVALID_PARAM4",
    10: "INVALID_PARAM5_X", 11: "INVALID_PARAM6_Y", 12: "INVALID_PARAM7", 13: "INVALID_SEQUENCE",
    14: "DENIED", 15: "OPERATION_CANCELLED",
}


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


@dataclass
class UploadResult:
    """What happened: items sent, the vehicle addressed, retries needed, and the read-back."""

    n_items: int
    target_system: int
    target_component: int
    requests_int: int = 0
    requests_float: int = 0
    retries: int = 0
    attempts: int = 0
    verified: bool = False
    duration_s: float = 0.0
    source: str = ""
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# reading mission files
# ---------------------------------------------------------------------------------------

def _nan0(v) -> float:
    return 0.0 if v is None else float(v)


def _read_qgc(path: Path) -> dict:
    from .validate import read_plan_file

    doc = read_plan_file(path, what="QGroundControl .plan")
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
    from .validate import MAX_PLAN_BYTES

    size = Path(path).stat().st_size
    if size > MAX_PLAN_BYTES:
        raise FormatError(f"`{Path(path).name}`: {size / 1e6:.1f} MB, more than the {MAX_PLAN_BYTES / 1e6:.0f} MB a "
                          "mission file may have: refused before reading it")
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
    from .validate import check_plan_structure, read_plan_file, validate_exports, validate_plan

    f = path.name
    try:
        doc = read_plan_file(sib)
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


# ---------------------------------------------------------------------------------------
# protocol
# ---------------------------------------------------------------------------------------

_NETWORK_PREFIXES = ("tcp:", "tcpin:", "udp:", "udpin:", "udpout:", "udpbcast:", "uds:", "unix:", "ws:", "wss:",
                     "wsserver:", "mcast:")
_SERIAL_HELP = ("check that the telemetry radio or autopilot is plugged in and powered, that {dev} is its device "
                "(Linux: ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/; macOS: /dev/cu.usbserial-*; Windows: COM3 "
                "…), that no other program holds it (QGroundControl, Mission Planner, MAVProxy), that you may open "
                "it (Linux: add yourself to the dialout group, then log in again) and the baud rate (--baud, "
                "{baud} now; SiK radios 57600, USB 115200)")


def is_serial_device(connect: str) -> bool:
    """Whether a connection string names a serial device (``/dev/ttyUSB0``, ``COM3``) rather than a
    network link (``tcp:``, ``udp:``, ``udpout:`` …)."""
    c = str(connect).strip()
    return not c.lower().startswith(_NETWORK_PREFIXES) and ":" not in c  # pymavlink reads HOST:PORT as UDP


def _connect(connect: str, *, source_system: int, source_component: int, baud: int):
    from pathlib import Path as _Path

    from pymavlink import mavutil

    serial_link = is_serial_device(connect)
    if serial_link:
        dev = str(connect).strip().split(",")[0]
        if _Path(dev).is_file():
            raise UploadError(f"`{dev}` is a file, not a serial device or network link: give the vehicle's "
                              "connection (tcp:HOST:PORT, udp:HOST:PORT, udpout:HOST:PORT or a serial device such "
                              "as /dev/ttyUSB0)")
        try:
            import serial  # noqa: F401  (pyserial: pymavlink needs it for serial links)
        except ImportError:
            raise UploadError(f"cannot open serial device {dev}: pyserial is not installed — "
                              "`pip install 'pyserial>=3.5'` (a dependency of ecopatrol: reinstalling ecopatrol "
                              "installs it)") from None
    try:
        return mavutil.mavlink_connection(connect, source_system=source_system, source_component=source_component,
                                          baud=baud, autoreconnect=False, dialect="common")
    except Exception as exc:  # socket and serial errors come in many classes
        if serial_link:
            raise UploadError(f"cannot open serial device {dev} at {baud} baud ({exc}): "
                              + _SERIAL_HELP.format(dev=dev, baud=baud)) from exc
        raise UploadError(f"cannot open MAVLink connection {connect!r}: {exc} — check the address "
                          "(tcp:HOST:PORT, udp:HOST:PORT, udpout:HOST:PORT or a serial device)") from exc


def _wait_heartbeat(conn, timeout_s: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        msg = conn.recv_match(type="HEARTBEAT", blocking=True, timeout=min(0.5, max(deadline - time.monotonic(), 0.01)))
        if msg is None:
            continue
        if msg.type == MAV_TYPE_GCS:
            continue
        return msg.get_srcSystem(), msg.get_srcComponent()
    raise UploadError(f"no heartbeat from a vehicle within {timeout_s:g} s: is it powered and is the "
                      "connection address right?")


def _send_item(conn, ts, tc, it: MissionItem, use_int: bool) -> None:
    if use_int:
        conn.mav.mission_item_int_send(ts, tc, it.seq, it.frame, it.command, it.current, it.autocontinue,
                                       it.param1, it.param2, it.param3, it.param4, it.x_int, it.y_int, it.alt_m,
                                       MAV_MISSION_TYPE_MISSION)
    else:
        conn.mav.mission_item_send(ts, tc, it.seq, it.frame, it.command, it.current, it.autocontinue,
                                   it.param1, it.param2, it.param3, it.param4, it.lat_deg, it.lon_deg, it.alt_m,
                                   MAV_MISSION_TYPE_MISSION)


def _ack_error(msg) -> str:
    t = int(msg.type)
    return f"MAV_MISSION_{MISSION_RESULTS.get(t, str(t))} ({t})"


class _LinkLost(UploadError):
    """The vehicle went silent (or gave up on its side): worth another attempt on a lossy link."""


class _AckLost(Exception):
    """Every item was sent but no MISSION_ACK came: the read-back decides."""


MAV_MISSION_INVALID_SEQUENCE = 13
MAV_MISSION_OPERATION_CANCELLED = 15
MAV_MISSION_DENIED = 14
# acknowledgements a read-back can meet that are not a refusal of it: a late or duplicated copy from
# the upload (ACCEPTED, INVALID_SEQUENCE, OPERATION_CANCELLED), or "busy receiving" (DENIED, ArduPilot)
_STALE_ACKS = (0, MAV_MISSION_INVALID_SEQUENCE, MAV_MISSION_DENIED, MAV_MISSION_OPERATION_CANCELLED)


def _recv(conn, types, timeout_s: float, deadline: float, ts: int, tc: int):
    """The next message of ``types`` from the vehicle (ts, tc), or None after ``timeout_s`` / at the deadline."""
    end = min(time.monotonic() + timeout_s, deadline)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        msg = conn.recv_match(type=types, blocking=True, timeout=left)
        if msg is None:
            return None
        if (msg.get_srcSystem(), msg.get_srcComponent()) != (ts, tc):
            continue
        if getattr(msg, "mission_type", 0) != MAV_MISSION_TYPE_MISSION:
            continue
        return msg


def _upload(conn, ts, tc, items: list[MissionItem], res: UploadResult, *, timeout_s: float, retries: int,
            deadline: float = math.inf) -> None:
    """One pass of the upload protocol. Raises :class:`UploadError` on a refusal, :class:`_LinkLost`
    when the vehicle goes silent (or cancels), :class:`_AckLost` when every item went out but the
    acknowledgement never came back."""
    n = len(items)
    conn.mav.mission_count_send(ts, tc, n, MAV_MISSION_TYPE_MISSION)
    last_sent: tuple[int, bool] | None = None
    tries = 0
    requested: set[int] = set()
    sent: set[int] = set()
    types = ["MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"]
    while True:
        msg = _recv(conn, types, timeout_s, deadline, ts, tc)
        if msg is None:
            tries += 1
            res.retries += 1
            if tries > retries or time.monotonic() >= deadline:
                if len(sent) == n:
                    raise _AckLost()
                where = (f"after item {max(requested)} of {n}" if requested else "before asking for any item")
                raise _LinkLost(f"the vehicle went silent {where} ({tries - 1} retries of {timeout_s:g} s)")
            if last_sent is None:
                conn.mav.mission_count_send(ts, tc, n, MAV_MISSION_TYPE_MISSION)
            else:
                # the item may be lost, or the vehicle's request for the next one (and its answer, and
                # the request after…): send the last requested item and the next ``tries`` ones, in
                # order. A vehicle takes an item only when it is the one it expects (ArduPilot answers
                # any other with INVALID_SEQUENCE), so the extra ones are harmless; repeating only the
                # old item would keep resetting the vehicle's own re-request timer (MAVSDK's is 0.5 s)
                # so that it never asks again
                k, use_int = last_sent
                for j in range(k, min(n, k + tries + 1)):
                    _send_item(conn, ts, tc, items[j], use_int)
                    sent.add(j)
            continue
        kind = msg.get_type()
        if kind == "MISSION_ACK":
            t = int(msg.type)
            if t == MAV_MISSION_INVALID_SEQUENCE:
                continue  # a duplicated or reordered item reached the vehicle: it keeps asking for the one it wants
            if t == MAV_MISSION_OPERATION_CANCELLED:
                raise _LinkLost(f"the vehicle cancelled the transfer (its own time-out) after {len(requested)} of "
                                f"{n} items")
            if t != 0:
                raise UploadError(f"the vehicle rejected the mission: {_ack_error(msg)}"
                                  + (f" after item {max(requested)} of {n}" if requested else "")
                                  + " — check its mission capacity, frames and commands")
            if len(sent) < n:
                # a late copy of an earlier transfer's acknowledgement, or a vehicle that stopped asking: the
                # read-back decides whether the mission is there
                log.debug("MISSION_ACK(ACCEPTED) after %d of %d items", len(requested), n)
                raise _AckLost()
            return
        seq = int(msg.seq)
        if not 0 <= seq < n:
            raise UploadError(f"the vehicle asked for item {seq}, but the mission has {n} items (0..{n - 1})")
        use_int = kind == "MISSION_REQUEST_INT"
        if use_int:
            res.requests_int += 1
        else:
            res.requests_float += 1
        _send_item(conn, ts, tc, items[seq], use_int)
        requested.add(seq)
        sent.add(seq)
        last_sent = (seq, use_int)
        tries = 0


def _download(conn, ts, tc, *, timeout_s: float, retries: int, deadline: float = math.inf) -> list:
    """The vehicle's mission, read item by item; on a lossy link each request is repeated and a
    transfer the vehicle abandoned is started again, until ``retries`` or the deadline."""
    prefer_int = True
    confirmed = False
    asked_float = False
    why = "no reply"
    for _restart in range(retries + 1):
        count_msg = None
        for _attempt in range(retries + 1):
            conn.mav.mission_request_list_send(ts, tc, MAV_MISSION_TYPE_MISSION)
            m = _recv(conn, ["MISSION_COUNT", "MISSION_ACK"], timeout_s, deadline, ts, tc)
            if m is not None and m.get_type() == "MISSION_COUNT":
                count_msg = m
                break
            if m is not None and int(m.type) not in _STALE_ACKS:
                raise UploadError(f"read-back refused: {_ack_error(m)}")
            if time.monotonic() >= deadline:
                break
        if count_msg is None:
            raise _LinkLost(f"read-back failed: no MISSION_COUNT within {retries + 1} × {timeout_s:g} s")
        count = int(count_msg.count)
        got = []
        for seq in range(count):
            item = None
            for attempt in range(retries + 1):
                use_int = prefer_int if confirmed else (attempt % 2 == 0) == prefer_int
                if use_int:
                    conn.mav.mission_request_int_send(ts, tc, seq, MAV_MISSION_TYPE_MISSION)
                else:
                    conn.mav.mission_request_send(ts, tc, seq, MAV_MISSION_TYPE_MISSION)
                    asked_float = True
                end = min(time.monotonic() + timeout_s, deadline)
                while item is None and time.monotonic() < end:
                    it = _recv(conn, ["MISSION_ITEM_INT", "MISSION_ITEM", "MISSION_ACK"], end - time.monotonic(),
                               deadline, ts, tc)
                    if it is None:
                        break
                    if it.get_type() == "MISSION_ACK":
                        if int(it.type) in _STALE_ACKS:
                            continue
                        if int(it.type) == 3 and not use_int:  # MAVSDK: MISSION_REQUEST (float) is unsupported
                            prefer_int, confirmed = True, True
                            break
                        if int(it.type) == 3 and asked_float:
                            continue  # a late or duplicated answer to an earlier float request, not to this one
                        raise UploadError(f"read-back refused at item {seq}: {_ack_error(it)}")
                    if int(it.seq) == seq:
                        item = it
                if item is not None:
                    if not confirmed:
                        prefer_int, confirmed = use_int, True
                    break
                if time.monotonic() >= deadline:
                    break
            if item is None:
                why = f"item {seq} of {count} never arrived"
                break
            got.append(item)
        else:
            conn.mav.mission_ack_send(ts, tc, 0, MAV_MISSION_TYPE_MISSION)
            return got
        if time.monotonic() >= deadline:
            break
    raise _LinkLost(f"read-back failed: {why}")


def read_mission(connect: str, *, timeout_s: float = 1.0, retries: int = 5, heartbeat_timeout_s: float = 10.0,
                 baud: int = 57600, source_system: int = 255, source_component: int = 190) -> list[MissionItem]:
    """The mission a vehicle holds now (downloaded), as :class:`MissionItem` (current flag 0)."""
    conn = _connect(connect, source_system=source_system, source_component=source_component, baud=baud)
    try:
        ts, tc = _wait_heartbeat(conn, heartbeat_timeout_s)
        got = _download(conn, ts, tc, timeout_s=timeout_s, retries=retries)
    finally:
        conn.close()
    out = []
    for b in got:
        lat, lon = (b.x / 1e7, b.y / 1e7) if b.get_type() == "MISSION_ITEM_INT" else (b.x, b.y)
        out.append(MissionItem(int(b.seq), int(b.frame), int(b.command), 0, int(b.autocontinue), float(b.param1),
                               float(b.param2), float(b.param3), float(b.param4), float(lat), float(lon), float(b.z)))
    return out


def _compare(sent: list[MissionItem], got: list, *, ardupilot_home: bool) -> list[str]:
    diffs = []
    if len(got) != len(sent):
        return [f"the vehicle holds {len(got)} items, {len(sent)} were sent"]
    for a, b in zip(sent, got):
        if b.get_type() == "MISSION_ITEM_INT":
            lat, lon, tol = b.x / 1e7, b.y / 1e7, 1.5e-7
        else:
            lat, lon, tol = b.x, b.y, 2e-5  # float32 on the wire
        if (int(b.command), int(b.frame)) != (a.command, a.frame):
            diffs.append(f"item {a.seq}: command/frame {b.command}/{b.frame}, sent {a.command}/{a.frame}")
            continue
        if a.seq == 0 and ardupilot_home:
            continue
        for name, x, y, t in (("lat", lat, a.lat_deg, tol), ("lon", lon, a.lon_deg, tol), ("alt", b.z, a.alt_m, 0.01),
                              ("param1", b.param1, a.param1, 1e-3), ("param2", b.param2, a.param2, 1e-3)):
            if not (abs(float(x) - float(y)) <= t or (math.isnan(float(x)) and math.isnan(float(y)))):
                diffs.append(f"item {a.seq}: {name} {float(x):.7f} on the vehicle, sent {float(y):.7f}")
    return diffs


def upload_mission(
    plan_path,
    connect: str,
    *,
    sortie: int | str | None = None,
    timeout_s: float = 1.5,
    retries: int = 5,
    heartbeat_timeout_s: float = 10.0,
    verify: bool = True,
    baud: int = 57600,
    source_system: int = 255,
    source_component: int = 190,
    area=None,
    attempts: int = 3,
    deadline_s: float | None = None,
) -> UploadResult:
    """Upload a ``.plan`` / ``.waypoints`` (or sortie ``sortie`` of a plan folder) to a vehicle.

    The file is checked first (:func:`preflight_mission`; with ``area`` against the area's zones and
    DEM too): a :class:`~ecopatrol.core.errors.ValidationError` listing every problem is raised
    before any connection is opened.

    Over a lossy link every request is answered again, every silence of ``timeout_s`` repeated up to
    ``retries`` times, and a transfer that still fails is started again (``attempts``), all within
    ``deadline_s`` (unbounded when None). Success means the read-back equals what was sent: a lost
    final MISSION_ACK is then harmless. Raises :class:`~ecopatrol.core.errors.UploadError` on a
    refusal (``MISSION_ACK`` with an error), when every attempt failed or the deadline passed, or
    on a read-back mismatch after the vehicle accepted.
    """
    path, items = load_mission(plan_path, sortie=sortie)
    if not items:
        raise InputError(f"`{path.name}` has no mission items")
    pre = preflight_mission(path, items, area=area)
    for w in pre.warnings:
        log.warning("%s", w)
    pre.raise_if_errors(f"`{path.name}` was refused before upload (nothing was sent to the vehicle)")
    ardupilot_home = path.suffix == ".waypoints" or _is_ardupilot_plan(path)
    t0 = time.monotonic()
    deadline = t0 + (deadline_s if deadline_s is not None else math.inf)
    conn = _connect(connect, source_system=source_system, source_component=source_component, baud=baud)
    try:
        ts, tc = _wait_heartbeat(conn, min(heartbeat_timeout_s, max(deadline - time.monotonic(), 0.01)))
        res = UploadResult(len(items), ts, tc, source=str(path))
        problems: list[str] = []
        ok = False
        for attempt in range(1, attempts + 1):
            res.attempts = attempt
            acked = True
            try:
                _upload(conn, ts, tc, items, res, timeout_s=timeout_s, retries=retries, deadline=deadline)
            except _AckLost:
                acked = False
                if not verify:
                    problems.append(f"attempt {attempt}: no acknowledgement after the last item")
                    continue
            except _LinkLost as exc:
                problems.append(f"attempt {attempt}: {exc}")
                if time.monotonic() >= deadline:
                    break
                continue
            if not verify:
                ok = True
                break
            try:
                got = _download(conn, ts, tc, timeout_s=timeout_s, retries=retries, deadline=deadline)
            except _LinkLost as exc:
                problems.append(f"attempt {attempt}: {'acknowledged, but ' if acked else ''}{exc}")
                if time.monotonic() >= deadline:
                    break
                continue
            diffs = _compare(items, got, ardupilot_home=ardupilot_home)
            if diffs and acked:
                shown = "\n".join(f"  - {d}" for d in diffs[:20])
                raise UploadError(f"read-back does not match what was sent ({len(diffs)} difference(s)):\n{shown}\n"
                                  "upload again and do not fly this mission until it verifies")
            if diffs:
                problems.append(f"attempt {attempt}: no acknowledgement and the read-back differs ({diffs[0]})")
                continue
            if not acked:
                res.notes.append(f"attempt {attempt}: the acknowledgement was lost; the read-back shows the mission")
            res.verified = ok = True
            break
        if not ok:
            elapsed = time.monotonic() - t0
            raise UploadError(
                f"upload interrupted: {len(items)} items of `{path.name}` could not be put on the vehicle in "
                f"{res.attempts} attempt(s), {elapsed:.1f} s — " + "; ".join(problems[-3:]) + ". The link is losing "
                "too much: move closer or fix the antenna/radio and upload again. What the vehicle holds now "
                "depends on its autopilot: PX4 keeps its previous mission until it accepts a complete upload; "
                "ArduPilot stores items as they arrive, so it may hold part of this mission over its previous "
                "one; a MAVSDK-based vehicle keeps the items that arrived — do not fly before an upload "
                "verifies")
    finally:
        conn.close()
    res.duration_s = time.monotonic() - t0
    log.info("uploaded %d items of %s to system %d/%d in %.1f s (%d attempt(s), %d retries, %s requests)%s",
             res.n_items, path.name, res.target_system, res.target_component, res.duration_s, res.attempts,
             res.retries, "INT" if res.requests_int >= res.requests_float else "float",
             ", verified" if res.verified else "")
    return res


def _is_ardupilot_plan(path: Path) -> bool:
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["mission"].get("firmwareType", 3)) == 3
    except (OSError, ValueError, KeyError):
        return False


# ---------------------------------------------------------------------------------------
# optional dronekit adapter
# ---------------------------------------------------------------------------------------

def import_dronekit():
    """Import dronekit on Python ≥ 3.10, with the ``collections.MutableMapping`` shim it needs.

    dronekit 2.9.2 (the last release) imports ``collections.MutableMapping``, removed in
    Python 3.10; and its ``CommandSequence.upload`` answers only MISSION_REQUEST, never
    MISSION_REQUEST_INT, so vehicles that ask with the INT variant (PX4, MAVSDK, recent
    ArduPilot) stall. Prefer :func:`upload_mission`.
    """
    import collections
    import collections.abc

    for name in ("MutableMapping", "Mapping", "Sequence", "Iterable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    try:
        import dronekit
    except ImportError as exc:
        raise UploadError("--dronekit: dronekit is not installed: pip install 'ecopatrol[dronekit]', or "
                          "leave out --dronekit to use the built-in uploader, which also answers "
                          "MISSION_REQUEST_INT") from exc
    return dronekit


def upload_with_dronekit(plan_path, connect: str, *, sortie=None, timeout_s: float = 30.0) -> UploadResult:
    """Upload through dronekit (optional adapter; see :func:`import_dronekit` for its limits)."""
    dronekit = import_dronekit()
    path, items = load_mission(plan_path, sortie=sortie)
    t0 = time.monotonic()
    try:
        vehicle = dronekit.connect(connect, wait_ready=True, timeout=timeout_s)
    except Exception as exc:
        raise UploadError(f"dronekit could not connect to {connect!r}: {exc}") from exc
    try:
        cmds = vehicle.commands
        cmds.clear()
        body = items[1:] if items and items[0].seq == 0 and items[0].command == 16 and items[0].frame == 0 else items
        for it in body:
            cmds.add(dronekit.Command(0, 0, 0, it.frame, it.command, 0, it.autocontinue, it.param1, it.param2,
                                      it.param3, 0.0 if math.isnan(it.param4) else it.param4, it.lat_deg,
                                      it.lon_deg, it.alt_m))
        cmds.upload(timeout=timeout_s)
        cmds.download()
        cmds.wait_ready()
        if cmds.count != len(body):
            raise UploadError(f"dronekit read-back: vehicle holds {cmds.count} items, {len(body)} were sent")
        res = UploadResult(len(body), vehicle._master.target_system, vehicle._master.target_component,
                           verified=True, source=str(path))
    finally:
        vehicle.close()
    res.duration_s = time.monotonic() - t0
    return res
