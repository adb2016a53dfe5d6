"""A bad radio link on loopback, and a pymavlink vehicle to put behind it (test and benchmark support).

:class:`LinkProxy` sits between a ground station that listens on UDP (``udp:127.0.0.1:G``, as
ecopatrol does with SITL and most telemetry radios) and a vehicle that sends to the proxy
(``udpout:127.0.0.1:proxy.port``). Every datagram, in both directions, is independently
dropped (``loss``), duplicated (``dup``), delayed (uniform in ``delay_s``) and, with
probability ``reorder``, held back long enough for later packets to overtake it — all drawn
from one seeded :class:`random.Random`, so a run is repeatable. :meth:`LinkProxy.cut_after_items`
cuts the link (both ways) for good once that many MISSION_ITEM(_INT) packets have gone from
the ground station towards the vehicle: an upload cut half way (or just before the vehicle's
acknowledgement, when ``n`` is the mission's length).

:class:`MavlinkVehicle` is a pymavlink vehicle with two storage behaviours, both read from the
autopilots' sources:

* ``storage="in_place"`` — ArduPilot (``MissionItemProtocol``): MISSION_COUNT truncates the
  stored mission to the new count, each item replaces or appends the stored one as it arrives,
  an item out of sequence is answered with MISSION_ACK(INVALID_SEQUENCE), the current request is
  repeated after 1 s of silence and the transfer abandoned (ACK OPERATION_CANCELLED) after 8 s;
  a read request during an upload is DENIED. A cut upload leaves new items over the old ones.
* ``storage="staged"`` — PX4 (``mavlink_mission.cpp``): the upload goes to the inactive storage
  and becomes the mission only when the last item arrives; a cut upload leaves the previous
  mission.

Both ask with MISSION_REQUEST (float), as older ArduPilot does, and answer reads with MISSION_ITEM.
"""

from __future__ import annotations

import heapq
import random
import select
import socket
import threading
import time

MISSION_ITEM_IDS = {39, 73}


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def msg_id(data: bytes) -> int | None:
    """MAVLink message id of a datagram (v1 or v2 frame), None if not MAVLink."""
    if len(data) >= 10 and data[0] == 0xFD:
        return data[7] | data[8] << 8 | data[9] << 16
    if len(data) >= 6 and data[0] == 0xFE:
        return data[5]
    return None


class LinkProxy(threading.Thread):
    """Lossy, duplicating, delaying, reordering UDP relay between a listening GCS and a vehicle."""

    def __init__(self, gcs_port: int, *, loss: float = 0.0, dup: float = 0.0, delay_s: tuple[float, float] = (0.0, 0.0),
                 reorder: float = 0.0, seed: int = 0):
        super().__init__(daemon=True)
        self.gcs_addr = ("127.0.0.1", gcs_port)
        self.loss, self.dup, self.delay_s, self.reorder = loss, dup, delay_s, reorder
        self.rng = random.Random(seed)
        self.vsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.vsock.bind(("127.0.0.1", 0))
        self.port = self.vsock.getsockname()[1]
        self.gsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.gsock.bind(("127.0.0.1", 0))
        self.vehicle_addr = None
        self.stop = threading.Event()
        self.cut = threading.Event()
        self._cut_after: int | None = None
        self.items_to_vehicle = 0
        self.stats = {"in": 0, "dropped": 0, "duplicated": 0, "reordered": 0, "out": 0}
        self._heap: list = []
        self._n = 0

    def cut_after_items(self, n: int) -> None:
        """Cut the link, both ways, for good once ``n`` more mission items have passed towards the
        vehicle (the ``n``-th goes through; so does nothing after it, not even the vehicle's answer)."""
        self._cut_after = self.items_to_vehicle + n

    def restore(self) -> None:
        """Mend the link (no loss any more) so the vehicle can be read back."""
        self._cut_after = None
        self.cut.clear()
        self.loss = self.dup = self.reorder = 0.0
        self.delay_s = (0.0, 0.0)

    def _schedule(self, sock, data: bytes, addr) -> None:
        self.stats["in"] += 1
        if self.cut.is_set():
            self.stats["dropped"] += 1
            return
        if self.rng.random() < self.loss:
            self.stats["dropped"] += 1
            return
        if sock is self.vsock and msg_id(data) in MISSION_ITEM_IDS:
            self.items_to_vehicle += 1
            if self._cut_after is not None and self.items_to_vehicle >= self._cut_after:
                self.cut.set()  # this item still goes through; nothing after it, either way
        copies = 2 if self.rng.random() < self.dup else 1
        self.stats["duplicated"] += copies - 1
        lo, hi = self.delay_s
        now = time.monotonic()
        for _ in range(copies):
            d = self.rng.uniform(lo, hi)
            if self.rng.random() < self.reorder:
                d += 2 * hi + 0.01  # held back: packets sent after it arrive first
                self.stats["reordered"] += 1
            self._n += 1
            heapq.heappush(self._heap, (now + d, self._n, sock, data, addr))

    def run(self) -> None:
        while not self.stop.is_set():
            wait = 0.005
            if self._heap:
                wait = max(0.0, min(wait, self._heap[0][0] - time.monotonic()))
            r, _, _ = select.select([self.vsock, self.gsock], [], [], wait)
            for sock in r:
                try:
                    data, addr = sock.recvfrom(65535)
                except OSError:
                    continue
                if sock is self.vsock:  # from the vehicle, towards the GCS
                    self.vehicle_addr = addr
                    self._schedule(self.gsock, data, self.gcs_addr)
                elif self.vehicle_addr is not None:  # from the GCS, towards the vehicle
                    self._schedule(self.vsock, data, self.vehicle_addr)
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, _, sock, data, addr = heapq.heappop(self._heap)
                try:
                    sock.sendto(data, addr)
                    self.stats["out"] += 1
                except OSError:
                    pass
        self.vsock.close()
        self.gsock.close()

    def close(self) -> None:
        self.stop.set()
        self.join(5)


class MavlinkVehicle(threading.Thread):
    """A pymavlink vehicle on ``url`` storing uploads ``in_place`` (ArduPilot) or ``staged`` (PX4)."""

    def __init__(self, url: str, *, storage: str = "in_place", rerequest_s: float = 1.0, abandon_s: float = 8.0):
        super().__init__(daemon=True)
        assert storage in ("in_place", "staged")
        self.url, self.storage, self.rerequest_s, self.abandon_s = url, storage, rerequest_s, abandon_s
        self.mission: list = []  # the stored mission (what a read-back returns)
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.completed = 0

    def run(self) -> None:
        from pymavlink import mavutil

        ml = mavutil.mavlink
        conn = mavutil.mavlink_connection(self.url, source_system=1, source_component=1, dialect="common")
        self.ready.set()
        receiving = False
        staging: list = []
        count = request_i = 0
        gcs = (255, 190)
        last_rx = last_req = next_hb = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_hb:
                conn.mav.heartbeat_send(ml.MAV_TYPE_QUADROTOR, ml.MAV_AUTOPILOT_ARDUPILOTMEGA, 0, 0, 0)
                next_hb = now + 0.2
            if receiving:
                if now - last_rx > self.abandon_s:
                    receiving = False
                    conn.mav.mission_ack_send(*gcs, ml.MAV_MISSION_OPERATION_CANCELLED, 0)
                elif now - last_req > self.rerequest_s:
                    conn.mav.mission_request_send(*gcs, request_i, 0)
                    last_req = now
            msg = conn.recv_match(blocking=True, timeout=0.02)
            if msg is None:
                continue
            t = msg.get_type()
            if t == "MISSION_COUNT":
                gcs = (msg.get_srcSystem(), msg.get_srcComponent())
                count, request_i, receiving = int(msg.count), 0, True
                if self.storage == "in_place":
                    del self.mission[count:]  # ArduPilot: truncate to the new count
                staging = []
                last_rx = last_req = time.monotonic()
                conn.mav.mission_request_send(*gcs, 0, 0)
            elif t in ("MISSION_ITEM", "MISSION_ITEM_INT"):
                if not receiving:
                    continue  # ArduPilot: no transfer in progress, nothing answered
                if int(msg.seq) != request_i:
                    conn.mav.mission_ack_send(*gcs, ml.MAV_MISSION_INVALID_SEQUENCE, 0)
                    continue
                lat = msg.x / 1e7 if t == "MISSION_ITEM_INT" else msg.x
                lon = msg.y / 1e7 if t == "MISSION_ITEM_INT" else msg.y
                item = (int(msg.seq), int(msg.frame), int(msg.command), int(msg.autocontinue), float(msg.param1),
                        float(msg.param2), float(msg.param3), float(msg.param4), float(lat), float(lon), float(msg.z))
                if self.storage == "in_place":
                    if request_i < len(self.mission):
                        self.mission[request_i] = item
                    else:
                        self.mission.append(item)
                else:
                    staging.append(item)
                request_i += 1
                last_rx = time.monotonic()
                if request_i >= count:
                    receiving = False
                    if self.storage == "staged":
                        self.mission = staging
                    self.completed += 1
                    conn.mav.mission_ack_send(*gcs, ml.MAV_MISSION_ACCEPTED, 0)
                else:
                    conn.mav.mission_request_send(*gcs, request_i, 0)
                    last_req = time.monotonic()
            elif t == "MISSION_REQUEST_LIST":
                if receiving:
                    conn.mav.mission_ack_send(msg.get_srcSystem(), msg.get_srcComponent(), ml.MAV_MISSION_DENIED, 0)
                else:
                    conn.mav.mission_count_send(msg.get_srcSystem(), msg.get_srcComponent(), len(self.mission), 0)
            elif t in ("MISSION_REQUEST_INT", "MISSION_REQUEST"):
                src = (msg.get_srcSystem(), msg.get_srcComponent())
                if receiving:
                    conn.mav.mission_ack_send(*src, ml.MAV_MISSION_DENIED, 0)
                elif int(msg.seq) >= len(self.mission):
                    conn.mav.mission_ack_send(*src, ml.MAV_MISSION_ERROR, 0)
                else:
                    seq, frame, cmd, ac, p1, p2, p3, p4, lat, lon, z = self.mission[int(msg.seq)]
                    conn.mav.mission_item_send(*src, seq, frame, cmd, 0, ac, p1, p2, p3, p4, lat, lon, z, 0)
            elif t == "MISSION_ACK":
                pass
        conn.close()

    def close(self) -> None:
        self.stop.set()
        self.join(5)


def start_vehicle(port: int, **kw) -> MavlinkVehicle:
    """A :class:`MavlinkVehicle` sending to ``udpout:127.0.0.1:port`` (the proxy's vehicle side)."""
    v = MavlinkVehicle(f"udpout:127.0.0.1:{port}", **kw)
    v.start()
    v.ready.wait(5)
    return v


def start_mavsdk_vehicle(port: int):
    """MAVSDK's vehicle-side ``MissionRawServer`` sending to ``udpout://127.0.0.1:port``.

    Returns ``(mavsdk, server, incoming)`` where ``incoming`` collects ``(result, plan)`` of every
    upload the server completed; call ``mavsdk.destroy()`` when done."""
    from mavsdk import ComponentType, Configuration, ConnectionResult, Mavsdk
    from mavsdk.plugins.mission_raw_server import MissionRawServer

    m = Mavsdk(Configuration.create_with_component_type(ComponentType.AUTOPILOT))
    assert m.add_any_connection(f"udpout://127.0.0.1:{port}") == ConnectionResult.SUCCESS
    srv = MissionRawServer(m.server_component())
    got: list = []
    srv.subscribe_incoming_mission(lambda res, plan, ud: got.append((res, plan)))
    return m, srv, got
