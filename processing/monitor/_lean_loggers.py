"""Many stop-and-wait HJ 212 loggers in one thread, for load tests (``benchmarks/bench_monitor.py --client lean``).

Standard library only, so that the benchmark can load this file by its path under any checkout's
interpreter (the server measured may be another version of ecopatrol than this load generator).
:mod:`.replay` re-exports :func:`stop_and_wait_loggers`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

_QN = re.compile(rb"QN=(\d+);")


@dataclass
class LoggerCounts:
    """What one logger of :func:`stop_and_wait_loggers` did."""

    sent: int = 0            # complete frames written (a cut frame is not one; it is sent again whole)
    answered: int = 0        # answers received, each checked to carry the QN of the frame waiting for it
    wrong_answers: int = 0   # an answer line without that QN (should never happen)
    timed_out: int = 0       # frames whose answer did not come within the timeout (the logger went on)
    cuts: int = 0            # sessions closed in the middle of a frame
    connections: int = 0


class _Lean:
    """One logger of :func:`stop_and_wait_loggers`: its socket, its session and what it waits for."""

    __slots__ = ("i", "rng", "sock", "k", "j", "n_session", "cut_at", "frame", "qn", "tail", "inbuf",
                 "t_session", "t_sent", "counts", "state")

    def __init__(self, i: int, rng: random.Random) -> None:
        self.i, self.rng = i, rng
        self.sock = None
        self.k = 0              # frames of this logger sent whole so far (the next session starts there)
        self.j = 0              # frame of the session being sent or waited for
        self.n_session = 0
        self.cut_at: int | None = None
        self.frame = b""
        self.qn = b""
        self.tail = b""         # bytes still to write (a second piece, or what a full socket left)
        self.inbuf = b""
        self.t_session = self.t_sent = 0.0
        self.counts = LoggerCounts()
        self.state = "idle"


def stop_and_wait_loggers(host: str, port: int, frame_at: Callable[[int, int], bytes], n_loggers: int,
                          seconds: float, *, session: int = 100, cut_probability: float = 0.1, max_pieces: int = 2,
                          seed: int = 1, answer_timeout_s: float = 60.0) -> dict:
    """``n_loggers`` stop-and-wait loggers in **one thread** (non-blocking sockets and :mod:`selectors`: a
    load generator that costs little CPU beside the server it loads), with the protocol of
    :func:`replay_logger` at ``window=1``: each logger opens a connection per ``session`` frames, writes
    each frame (``frame_at(i, k)``: logger ``i``'s ``k``-th, with CRLF, asking for an answer) in 1 …
    ``max_pieces`` pieces, waits for its answer — a line that must carry the frame's QN — before the
    next, and closes; with probability ``cut_probability`` a session is cut in the middle of a random
    frame (after the frames before it were answered) and the next connection sends that frame again,
    whole. A logger begins sessions until ``seconds`` have passed and finishes the one it is in.

    Returns ``{"loggers": [LoggerCounts…], "seconds": elapsed, "latency": [s per frame of each session]}``.
    """
    import selectors
    import socket
    import time

    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    deadline = t0 + seconds
    loggers = [_Lean(i, random.Random(seed * 100_000 + i)) for i in range(n_loggers)]
    latency: list[float] = []
    active = 0

    def start(lg: _Lean) -> bool:
        """A new session (a new connection), or ``False`` when the time is up."""
        nonlocal active
        if time.monotonic() >= deadline:
            return False
        lg.j = 0
        lg.n_session = session
        lg.cut_at = lg.rng.randrange(1, session) if lg.rng.random() < cut_probability else None
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's streams do
        s.connect_ex((host, port))
        lg.sock, lg.inbuf, lg.tail, lg.state = s, b"", b"", "connecting"
        lg.t_session = time.monotonic()
        lg.counts.connections += 1
        sel.register(s, selectors.EVENT_WRITE, lg)
        active += 1
        return True

    def close(lg: _Lean) -> None:
        nonlocal active
        sel.unregister(lg.sock)
        lg.sock.close()
        lg.sock = None
        lg.state = "idle"
        active -= 1

    def end_session(lg: _Lean) -> None:
        """Close; the next session starts after the frames answered (a cut or unanswered frame is sent again)."""
        if lg.j:
            latency.append((time.monotonic() - lg.t_session) / lg.j)
        lg.k += lg.j
        close(lg)
        start(lg)

    def write(lg: _Lean, data: bytes) -> None:
        """Write ``data``; what the socket does not take now waits for it to be writable."""
        try:
            n = lg.sock.send(data)
        except BlockingIOError:
            n = 0
        lg.tail = data[n:]

    def send_next(lg: _Lean) -> None:
        """The session's next frame (or the cut), then wait for its answer."""
        if lg.j >= lg.n_session:
            end_session(lg)
            return
        frame = frame_at(lg.i, lg.k + lg.j)
        if lg.cut_at is not None and lg.j == lg.cut_at:  # the line drops in the middle of this frame
            write(lg, frame[:max(1, len(frame) // 2)])
            lg.counts.cuts += 1
            end_session(lg)
            return
        m = _QN.search(frame)
        lg.frame, lg.qn = frame, (b"QN=" + m.group(1) + b";") if m else b""
        pieces = lg.rng.randint(1, max_pieces)
        cut = lg.rng.randrange(1, len(frame)) if pieces > 1 and len(frame) > 1 else len(frame)
        lg.t_sent = time.monotonic()
        lg.counts.sent += 1
        write(lg, frame[:cut])
        lg.tail += frame[cut:]
        if lg.tail and (lg.tail != frame[cut:] or lg.rng.random() < 0.5):
            lg.state = "writing"  # the second piece goes out on its own, when the socket says writable
            sel.modify(lg.sock, selectors.EVENT_WRITE | selectors.EVENT_READ, lg)
            return
        if lg.tail:
            write(lg, lg.tail)
        lg.state = "waiting"
        sel.modify(lg.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if lg.tail else 0), lg)

    def answered(lg: _Lean) -> None:
        lg.j += 1
        send_next(lg)

    def on_event(lg: _Lean, mask: int) -> None:
        s = lg.sock
        if lg.state == "connecting":
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:  # refused or reset: try again with a new connection
                close(lg)
                start(lg)
                return
            lg.state = "waiting"
            send_next(lg)
            return
        if mask & selectors.EVENT_WRITE and lg.tail:
            write(lg, lg.tail)
            if not lg.tail:
                lg.state = "waiting"
                sel.modify(s, selectors.EVENT_READ, lg)
        if mask & selectors.EVENT_READ:
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # the server closed: what was not answered is sent again on a new connection
                end_session(lg)
                return
            buf = lg.inbuf + data
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                line, buf = buf[:nl + 1], buf[nl + 1:]
                if lg.state != "waiting" and lg.state != "writing":
                    continue
                if lg.qn and lg.qn not in line:
                    lg.counts.wrong_answers += 1
                    continue
                lg.counts.answered += 1
                lg.inbuf = buf
                answered(lg)
                if lg.sock is not s:  # a new session began: the old socket's bytes are done
                    return
                buf = lg.inbuf
            lg.inbuf = buf

    for lg in loggers:
        start(lg)
    last_check = time.monotonic()
    while active:
        for key, mask in sel.select(1.0):
            on_event(key.data, mask)
        now = time.monotonic()
        if now - last_check > 1.0:  # answers that did not come: go on, as a logger does after its timeout
            last_check = now
            for lg in loggers:
                if lg.state == "waiting" and now - lg.t_sent > answer_timeout_s:
                    lg.counts.timed_out += 1
                    answered(lg)
    sel.close()
    return {"loggers": [lg.counts for lg in loggers], "seconds": time.monotonic() - t0,
            "latency": latency}
