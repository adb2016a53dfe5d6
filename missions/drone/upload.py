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

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from ecopatrol.core.errors import InputError, UploadError

from .mission_file import (  # noqa: F401 (re-exported: the upload's public names)
    GLOBAL_FRAMES,
    NAV_COMMANDS,
    MissionItem,
    _is_ardupilot_plan,
    items_from_qgc_plan,
    items_from_wpl,
    load_mission,
    preflight_mission,
)

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
            raise UploadError.keyed("dep.pyserial", device=dev) from None
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
        ok, problems = _transfer(conn, ts, tc, items, res, attempts=attempts, verify=verify, timeout_s=timeout_s,
                                 retries=retries, deadline=deadline, ardupilot_home=ardupilot_home)
        if not ok:
            raise _interrupted(path, items, res, time.monotonic() - t0, problems)
    finally:
        conn.close()
    res.duration_s = time.monotonic() - t0
    log.info("uploaded %d items of %s to system %d/%d in %.1f s (%d attempt(s), %d retries, %s requests)%s",
             res.n_items, path.name, res.target_system, res.target_component, res.duration_s, res.attempts,
             res.retries, "INT" if res.requests_int >= res.requests_float else "float",
             ", verified" if res.verified else "")
    return res


def _transfer(conn, ts, tc, items: list[MissionItem], res: UploadResult, *, attempts: int, verify: bool,
              timeout_s: float, retries: int, deadline: float, ardupilot_home: bool) -> tuple[bool, list[str]]:
    """Upload ``items`` (and read them back when ``verify``) in up to ``attempts`` attempts before
    ``deadline``; returns ``(done, problems of the failed attempts)``. A read-back that differs from
    an acknowledged upload raises :class:`UploadError`."""
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
    return ok, problems


def _interrupted(path: Path, items: list[MissionItem], res: UploadResult, elapsed: float,
                 problems: list[str]) -> UploadError:
    """The error of an upload every attempt of which failed: what happened and what the vehicle may hold."""
    return UploadError(
        f"upload interrupted: {len(items)} items of `{path.name}` could not be put on the vehicle in "
        f"{res.attempts} attempt(s), {elapsed:.1f} s — " + "; ".join(problems[-3:]) + ". The link is losing "
        "too much: move closer or fix the antenna/radio and upload again. What the vehicle holds now "
        "depends on its autopilot: PX4 keeps its previous mission until it accepts a complete upload; "
        "ArduPilot stores items as they arrive, so it may hold part of this mission over its previous "
        "one; a MAVSDK-based vehicle keeps the items that arrived — do not fly before an upload "
        "verifies")


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
        raise UploadError.keyed("dep.dronekit") from exc
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
