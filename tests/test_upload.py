"""MAVLink mission upload against real peers on loopback.

* MAVSDK's vehicle-side ``MissionRawServer`` (MAVSDK 4.1 native binding, in-process), over TCP
  and UDP — it asks with MISSION_REQUEST_INT and answers the read-back;
* an ArduPilot-style peer written here with pymavlink that asks with MISSION_REQUEST (float);
* a peer that rejects with MISSION_ACK(MAV_MISSION_NO_SPACE), and one that goes silent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, UTC

import pytest

from ecopatrol.core.errors import UploadError
from ecopatrol.core.weather import Wind
from ecopatrol.missions.drone import plan_drone, write_drone_plan
from drone_support import toy_area
from ecopatrol.missions.drone.upload import load_mission, upload_mission

pymavlink = pytest.importorskip("pymavlink")
from pymavlink import mavutil  # noqa: E402


def free_port(kind=socket.SOCK_STREAM) -> int:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    area = toy_area(n_enterprises=3, seed=3, nofly=[
        {"xy": [(-150, -150), (150, -150), (150, 150), (-150, 150)]},
        {"xy": [(600, 600), (800, 600), (700, 800)], "kind": "restricted", "ceiling_m": 40.0}])
    plan = plan_drone(area, ["E001", "E002", "E003"], Wind(270, 4),
                      created_utc=datetime(2026, 5, 1, 2, 0, tzinfo=UTC))
    out = tmp_path_factory.mktemp("plan")
    write_drone_plan(plan, area, out)
    return out


class Peer(threading.Thread):
    """A pymavlink vehicle: ``mode`` = 'ardupilot' (MISSION_REQUEST), 'reject', or 'silent_after'."""

    def __init__(self, port: int, mode: str = "ardupilot", silent_after: int = 2):
        super().__init__(daemon=True)
        self.port = port
        self.mode = mode
        self.silent_after = silent_after
        self.items: dict[int, object] = {}
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.requests_int_seen = 0

    def run(self):
        conn = mavutil.mavlink_connection(f"tcpin:127.0.0.1:{self.port}", source_system=1, source_component=1)
        self.ready.set()
        count = 0
        next_hb = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_hb:
                conn.mav.heartbeat_send(mavutil.mavlink.MAV_TYPE_QUADROTOR, mavutil.mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA,
                                        0, 0, 0)
                next_hb = now + 0.3
            msg = conn.recv_match(blocking=True, timeout=0.05)
            if msg is None:
                continue
            t = msg.get_type()
            if t == "MISSION_COUNT":
                count = msg.count
                self.items.clear()
                if self.mode == "reject":
                    conn.mav.mission_ack_send(255, 190, mavutil.mavlink.MAV_MISSION_NO_SPACE, 0)
                    continue
                conn.mav.mission_request_send(255, 190, 0, 0)
            elif t in ("MISSION_ITEM", "MISSION_ITEM_INT"):
                self.items[msg.seq] = msg
                if self.mode == "silent_after" and len(self.items) >= self.silent_after:
                    continue
                if msg.seq + 1 < count:
                    conn.mav.mission_request_send(255, 190, msg.seq + 1, 0)
                else:
                    conn.mav.mission_ack_send(255, 190, 0, 0)
            elif t == "MISSION_REQUEST_LIST":
                conn.mav.mission_count_send(255, 190, len(self.items), 0)
            elif t in ("MISSION_REQUEST_INT", "MISSION_REQUEST"):
                self.requests_int_seen += t == "MISSION_REQUEST_INT"
                it = self.items[msg.seq]
                lat = it.x / 1e7 if it.get_type() == "MISSION_ITEM_INT" else it.x
                lon = it.y / 1e7 if it.get_type() == "MISSION_ITEM_INT" else it.y
                # an old ArduPilot answers with MISSION_ITEM (float) whatever it was asked
                conn.mav.mission_item_send(255, 190, it.seq, it.frame, it.command, 0, it.autocontinue, it.param1,
                                           it.param2, it.param3, it.param4, lat, lon, it.z, 0)
        conn.close()


def start_peer(mode, **kw) -> Peer:
    p = Peer(free_port(), mode, **kw)
    p.start()
    p.ready.wait(5)
    return p


def test_upload_to_ardupilot_style_peer_uses_mission_request_and_verifies(plan_dir):
    peer = start_peer("ardupilot")
    try:
        res = upload_mission(plan_dir / "S01.plan", f"tcp:127.0.0.1:{peer.port}", timeout_s=1.0, retries=3)
    finally:
        peer.stop.set()
        peer.join(5)
    _, items = load_mission(plan_dir / "S01.plan")
    assert res.verified
    assert res.requests_float == len(items) and res.requests_int == 0
    assert len(peer.items) == len(items)
    # home first (ArduPilot convention), then take-off
    assert peer.items[0].command == 16 and peer.items[1].command == 22
    assert peer.items[3].x == pytest.approx(items[3].lat_deg, abs=2e-6)


def test_upload_waypoints_file_and_sortie_selection(plan_dir):
    peer = start_peer("ardupilot")
    try:
        res = upload_mission(plan_dir / "S01.waypoints", f"tcp:127.0.0.1:{peer.port}", timeout_s=1.0, retries=3)
        assert res.verified and res.n_items == len(peer.items)
        res2 = upload_mission(plan_dir / "plan.json", f"tcp:127.0.0.1:{peer.port}", sortie=1, timeout_s=1.0,
                              retries=3)
        assert res2.verified and res2.source.endswith("S01.plan")
    finally:
        peer.stop.set()
        peer.join(5)


def test_rejecting_vehicle_gives_clear_error(plan_dir):
    peer = start_peer("reject")
    try:
        with pytest.raises(UploadError, match="rejected the mission: MAV_MISSION_NO_SPACE"):
            upload_mission(plan_dir / "S01.plan", f"tcp:127.0.0.1:{peer.port}", timeout_s=1.0, retries=2)
    finally:
        peer.stop.set()
        peer.join(5)


def test_silent_vehicle_interrupts_with_retries(plan_dir):
    peer = start_peer("silent_after", silent_after=2)
    try:
        with pytest.raises(UploadError, match="interrupted.*after item 1"):
            upload_mission(plan_dir / "S01.plan", f"tcp:127.0.0.1:{peer.port}", timeout_s=0.3, retries=2)
    finally:
        peer.stop.set()
        peer.join(5)


def test_no_vehicle_times_out():
    port = free_port(socket.SOCK_DGRAM)
    with pytest.raises(UploadError, match="no heartbeat"):
        from ecopatrol.missions.drone.upload import _connect, _wait_heartbeat

        conn = _connect(f"udp:127.0.0.1:{port}", source_system=255, source_component=190, baud=57600)
        try:
            _wait_heartbeat(conn, 0.5)
        finally:
            conn.close()


# ---------------------------------------------------------------------------------------
# MAVSDK vehicle-side mission server
# ---------------------------------------------------------------------------------------

mavsdk = pytest.importorskip("mavsdk")


@pytest.fixture
def mavsdk_server():
    from mavsdk import ComponentType, Configuration, ConnectionResult, Mavsdk
    from mavsdk.plugins.mission_raw_server import MissionRawServer

    made = []

    def make(url: str):
        m = Mavsdk(Configuration.create_with_component_type(ComponentType.AUTOPILOT))
        assert m.add_any_connection(url) == ConnectionResult.SUCCESS
        srv = MissionRawServer(m.server_component())
        got = []
        srv.subscribe_incoming_mission(lambda res, plan, ud: got.append((res, plan)))
        made.append(m)
        return m, srv, got

    yield make
    for m in made:
        m.destroy()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_upload_to_mavsdk_mission_server(plan_dir, mavsdk_server, transport):
    if transport == "tcp":
        port = free_port()
        _, _, got = mavsdk_server(f"tcpin://127.0.0.1:{port}")
        url = f"tcp:127.0.0.1:{port}"
    else:
        port = free_port(socket.SOCK_DGRAM)
        url = f"udp:127.0.0.1:{port}"  # we listen; the vehicle sends to us
        _, _, got = mavsdk_server(f"udpout://127.0.0.1:{port}")
    res = upload_mission(plan_dir / "S01.plan", url, timeout_s=1.0, retries=3)
    _, items = load_mission(plan_dir / "S01.plan")
    assert res.verified and res.requests_int == len(items)
    for _ in range(50):
        if got:
            break
        time.sleep(0.05)
    assert got and got[-1][0].name == "SUCCESS"
    received = got[-1][1].mission_items
    assert [i.command for i in received] == [i.command for i in items]
    assert received[3].x == items[3].x_int


def test_every_plan_imports_with_mavsdk(plan_dir):
    """``MissionRaw.import_qgroundcontrol_mission`` (needs a System: a loopback vehicle provides one)."""
    from mavsdk import ComponentType, Configuration, Mavsdk
    from mavsdk.plugins.mission_raw import MissionRaw

    port = free_port(socket.SOCK_DGRAM)
    gcs = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
    veh = Mavsdk(Configuration.create_with_component_type(ComponentType.AUTOPILOT))
    try:
        gcs.add_any_connection(f"udpin://127.0.0.1:{port}")
        veh.add_any_connection(f"udpout://127.0.0.1:{port}")
        system = gcs.first_autopilot(5.0)
        assert system is not None
        mr = MissionRaw(system)
        plans = sorted(plan_dir.glob("S*.plan"))
        assert plans
        for p in plans:
            data = mr.import_qgroundcontrol_mission(str(p))
            doc = json.loads(p.read_text())
            n_simple = len(doc["mission"]["items"])
            # MAVSDK inserts the planned home as item 0 for ArduPilot plans
            assert len(data.mission_items) in (n_simple, n_simple + 1)
            cmds = [i.command for i in data.mission_items]
            assert 22 in cmds and cmds[-1] == 21
            assert len(data.rally_items) == len(doc["rallyPoints"]["points"])
            n_fence_vertices = sum(len(pg["polygon"]) for pg in doc["geoFence"]["polygons"])
            assert n_fence_vertices >= 4
            assert len(data.geofence_items) == n_fence_vertices
            # exclusion polygon vertices: MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION (5002)
            assert {i.command for i in data.geofence_items} == {5002}
    finally:
        gcs.destroy()
        veh.destroy()


def test_dronekit_adapter_shims_collections_and_explains_when_missing(monkeypatch):
    import builtins
    import collections

    from ecopatrol.missions.drone.upload import import_dronekit

    real_import = builtins.__import__

    def no_dronekit(name, *a, **kw):
        if name == "dronekit":
            raise ImportError("No module named 'dronekit'")
        return real_import(name, *a, **kw)

    monkeypatch.delattr(collections, "MutableMapping", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_dronekit)
    with pytest.raises(UploadError, match="dronekit is not installed.*MISSION_REQUEST_INT"):
        import_dronekit()
    import collections.abc

    assert collections.MutableMapping is collections.abc.MutableMapping  # the Python 3.10+ shim
