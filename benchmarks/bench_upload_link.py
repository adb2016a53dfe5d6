"""Benchmark: mission upload over a lossy link, per loss rate and per vehicle-side peer.

A seeded loopback UDP proxy (``tests/link_proxy_support.py``) between ecopatrol and each peer
drops each packet with the given probability (both ways), duplicates 5 %, reorders 5 % and delays
0–20 ms. Peers: an ArduPilot-style pymavlink vehicle (stores items as they arrive, MISSION_REQUEST)
and MAVSDK 4.1's ``MissionRawServer`` (MISSION_REQUEST_INT). The mission: 16 items (a two-target
hover sortie). Settings: 0.3 s timeout, 4 retries, 3 attempts, 30 s deadline.

Baseline in the same run: the same uploader with ``attempts=1`` (one pass of the protocol, no
restart of the transfer), at the same loss rates and seeds; times are also given as a ratio to
the clean link (0 % loss). Success = the read-back equals what was sent.

    .venv/bin/python benchmarks/bench_upload_link.py [--trials 6] [--loss 0,0.1,0.2,0.4,0.6]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from datetime import datetime, UTC
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from link_proxy_support import LinkProxy, free_udp_port, start_mavsdk_vehicle, start_vehicle  # noqa: E402

from ecopatrol.core.errors import UploadError  # noqa: E402
from ecopatrol.core.weather import Wind  # noqa: E402
from ecopatrol.missions.drone import plan_drone, write_drone_plan  # noqa: E402
from drone_support import toy_area  # noqa: E402
from ecopatrol.missions.drone.upload import upload_mission  # noqa: E402


def mission(folder: Path) -> Path:
    area = toy_area(n_enterprises=3, seed=3)
    plan = plan_drone(area, ["E002", "E003"], Wind(270, 4), pattern="hover",
                      created_utc=datetime(2026, 5, 1, 2, 0, tzinfo=UTC))
    write_drone_plan(plan, area, folder)
    return folder / "S01.plan"


FAILURES: list[str] = []


def trial(path: Path, peer: str, loss: float, seed: int, attempts: int) -> tuple[bool, float]:
    g = free_udp_port()
    px = LinkProxy(g, loss=loss, dup=0.05, delay_s=(0.0, 0.02), reorder=0.05, seed=seed)
    px.start()
    v = m = None
    if peer == "mavsdk":
        m, _, _ = start_mavsdk_vehicle(px.port)
    else:
        v = start_vehicle(px.port, storage="in_place")
    time.sleep(0.3)  # both ends up; the heartbeat wait is not what is measured
    t0 = time.monotonic()
    try:
        ok = upload_mission(path, f"udp:127.0.0.1:{g}", timeout_s=0.3, retries=4, attempts=attempts,
                            deadline_s=30.0).verified
    except UploadError as exc:
        ok = False
        FAILURES.append(f"{peer} {loss:.0%} seed {seed} attempts {attempts}: {str(exc)[:300]}")
    dt = time.monotonic() - t0
    px.close()
    if v is not None:
        v.close()
    if m is not None:
        m.destroy()
    return ok, dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--loss", default="0,0.1,0.2,0.4,0.6")
    ap.add_argument("--peers", default="ardupilot,mavsdk")
    a = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    losses = [float(x) for x in a.loss.split(",")]
    peers = a.peers.split(",")
    if "mavsdk" in peers:
        try:
            import mavsdk  # noqa: F401
        except ImportError:
            peers.remove("mavsdk")
            print("mavsdk not installed: MAVSDK peer skipped", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        path = mission(Path(tmp))
        t_start = time.monotonic()
        print(f"{'peer':10} {'loss':>5} {'ok (3 attempts)':>16} {'median s':>9} {'max s':>6} {'× clean':>8} "
              f"{'ok (1 attempt)':>15} {'median s':>9}")
        for peer in peers:
            clean = None
            for loss in losses:
                full = [trial(path, peer, loss, seed, 3) for seed in range(a.trials)]
                one = [trial(path, peer, loss, seed, 1) for seed in range(a.trials)]
                ok_t = [t for ok, t in full if ok] or [float("nan")]
                med = statistics.median(ok_t)
                if loss == 0.0:
                    clean = med
                ratio = med / clean if clean else float("nan")
                one_t = [t for ok, t in one if ok] or [float("nan")]
                print(f"{peer:10} {loss:5.0%} {sum(ok for ok, _ in full):>10}/{a.trials:<5} {med:9.2f} "
                      f"{max(t for _, t in full):6.1f} {ratio:8.1f} {sum(ok for ok, _ in one):>9}/{a.trials:<5} "
                      f"{statistics.median(one_t):9.2f}", flush=True)
        print(f"total {time.monotonic() - t_start:.0f} s; median and max over the trials (max includes failures, "
              "bounded by the 30 s deadline)")
        print("failures below 40 % loss:")
        for f in FAILURES:
            if not any(f" {x}% " in f for x in ("40", "60")):
                print("  " + f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
