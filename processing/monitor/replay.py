"""Simulated data loggers: replay HJ 212 frames over TCP as a field device would (tests and benchmarks).

:func:`replay_logger` sends frames to a receiver the hard way — each frame split at random
boundaries into several writes, garbage between frames now and then, the connection cut in the
middle of a frame if asked — and reads the answers as they come, like a logger that asks for
them (Flag bit A): at most ``window`` frames wait for their answer (1 is the stop-and-wait of
real devices). :func:`with_answer_request` sets bit A and a unique QN on a frame.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ..hj212 import Packet, StreamFramer, codes, decode, encode
from ..hj212.packet import format_stamp
from ._lean_loggers import LoggerCounts, stop_and_wait_loggers  # noqa: F401 - the benchmark's load, here with the rest

#: Bytes of the garbage written between frames: no ``#``, so it never starts a frame.
_GARBAGE = bytes(b for b in range(256) if b != ord("#"))


def with_answer_request(frame: bytes, qn_time: datetime) -> bytes:
    """``frame`` (with or without CRLF) re-encoded with Flag bit A set and QN = ``qn_time`` (local time, ms).

    Answers (CN 9011–9014) are never answered, so they are refused here.
    """
    pk = decode(frame.rstrip(b"\r\n")).packet
    if pk is None:
        raise ValueError(f"not a valid frame: {frame[:40]!r}")
    if pk.cn in codes.REPLY_CNS:
        raise ValueError(f"CN {pk.cn} is an answer: it never gets one")
    return encode(replace(pk, qn=format_stamp(qn_time, ms=True), flag=(pk.flag or 0) | 1))


def unique_qn_times(n: int, start: datetime | None = None) -> list[datetime]:
    """``n`` distinct QN times, 1 ms apart (QN has millisecond resolution)."""
    t0 = start or datetime(2024, 1, 1, tzinfo=UTC)
    return [t0 + timedelta(milliseconds=i) for i in range(n)]


@dataclass
class LoggerRun:
    """What one simulated logger sent and got back."""

    frames_sent: list[bytes] = field(default_factory=list)   # complete frames (with CRLF), in order
    asked: int = 0                                           # of them with Flag bit A
    answers: list[Packet] = field(default_factory=list)
    answered: int = 0
    garbage_runs: int = 0
    cut: bool = False                                        # closed in the middle of a frame
    bytes_sent: int = 0
    timed_out: bool = False


async def replay_logger(host: str, port: int, frames: list[bytes], *, rng: random.Random | None = None,
                        max_pieces: int = 4, garbage_probability: float = 0.0, cut_at: int | None = None,
                        window: int = 1_000_000, answer_timeout_s: float = 30.0, decode_answers: bool = True,
                        on_answer: Callable[[Packet], Awaitable[None] | None] | None = None) -> LoggerRun:
    """Send ``frames`` (each with its CRLF) on one connection; see the module docstring.

    ``cut_at``: write only the first half of frame number ``cut_at`` and close the connection.
    ``on_answer(packet)`` (plain or async) is called for each answer as it arrives. After the
    last frame the logger waits (at most ``answer_timeout_s``) for the answers of every frame
    that asked, then closes. ``decode_answers=False`` only counts the answers (valid frames), for
    load tests where the client must cost little: ``answers`` then stays empty and ``answered``
    counts.
    """
    rng = rng or random.Random(0)
    reader, writer = await asyncio.open_connection(host, port)
    s = _Session(reader, writer, rng, asyncio.Semaphore(window), answer_timeout_s, decode_answers, on_answer)
    answers_task = asyncio.create_task(s.read_answers())
    try:
        for i, frame in enumerate(frames):
            if garbage_probability and rng.random() < garbage_probability:
                s.send_garbage()
            if cut_at is not None and i == cut_at:
                await s.wait_for_answers()  # what was sent whole is answered; then the line drops
                await s.send_half(frame)
                break
            await s.send_frame(frame, max_pieces)
        if not s.run.cut:
            await s.wait_for_answers()
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        try:
            await asyncio.wait_for(answers_task, 5)
        except (TimeoutError, OSError):
            answers_task.cancel()
    return s.run


class _Session:
    """One logger connection of :func:`replay_logger`: what it sent, the answers, the send window."""

    def __init__(self, reader, writer, rng: random.Random, credit: asyncio.Semaphore, answer_timeout_s: float,
                 decode_answers: bool, on_answer) -> None:
        self.reader, self.writer, self.rng, self.credit = reader, writer, rng, credit
        self.answer_timeout_s, self.decode_answers, self.on_answer = answer_timeout_s, decode_answers, on_answer
        self.run = LoggerRun()
        self.loop = asyncio.get_running_loop()
        self.progress = asyncio.Event()  # set at every answer

    async def read_answers(self) -> None:
        """Read the server's answers until it closes: count (and decode) each, and free a window slot."""
        framer = StreamFramer()
        run = self.run
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            for fr in framer.feed(data):
                if not self.decode_answers:
                    if not fr.ok:
                        continue
                else:
                    d = decode(fr)
                    if d.packet is None:
                        continue
                    run.answers.append(d.packet)
                    if self.on_answer is not None:
                        r = self.on_answer(d.packet)
                        if asyncio.iscoroutine(r):
                            await r
                run.answered += 1
                self.credit.release()
                self.progress.set()

    async def wait_for_answers(self) -> None:
        """Until every frame that asked is answered (or ``answer_timeout_s``)."""
        deadline = self.loop.time() + self.answer_timeout_s
        while self.run.answered < self.run.asked:
            self.progress.clear()
            try:
                await asyncio.wait_for(self.progress.wait(), max(0.0, deadline - self.loop.time()))
            except TimeoutError:
                self.run.timed_out = True
                return

    def send_garbage(self) -> None:
        """Write a run of 1–40 line-noise bytes between frames."""
        rng = self.rng
        junk = bytes(rng.choice(_GARBAGE) for _ in range(rng.randint(1, 40)))
        self.writer.write(junk)
        self.run.garbage_runs += 1
        self.run.bytes_sent += len(junk)

    async def send_half(self, frame: bytes) -> None:
        """Write the first half of ``frame`` and mark the run cut (the line drops after it)."""
        half = frame[:max(1, len(frame) // 2)]
        self.writer.write(half)
        self.run.bytes_sent += len(half)
        await self.writer.drain()
        self.run.cut = True

    async def send_frame(self, frame: bytes, max_pieces: int) -> None:
        """Write ``frame`` in 1 … ``max_pieces`` pieces, first waiting for a window slot if it asks for an answer."""
        rng, run = self.rng, self.run
        if _asks(frame):
            try:
                await asyncio.wait_for(self.credit.acquire(), self.answer_timeout_s)
            except TimeoutError:  # an answer did not come: go on, as a logger would after its timeout
                run.timed_out = True
            run.asked += 1
        pieces = rng.randint(1, max_pieces)
        cuts = sorted(rng.sample(range(1, len(frame)), min(pieces - 1, len(frame) - 1)))
        start = 0
        for c in [*cuts, len(frame)]:
            self.writer.write(frame[start:c])
            start = c
            await self.writer.drain()
            if c != len(frame) and rng.random() < 0.5:
                await asyncio.sleep(0)  # let the piece go out on its own
        run.frames_sent.append(frame)
        run.bytes_sent += len(frame)


_FLAG = re.compile(rb"[#;]\d{0,4}Flag=(\d{1,3});")


def _asks(frame: bytes) -> bool:
    """The header's Flag has bit A (the frame asks for an answer)."""
    end = frame.find(b"CP=&&")
    m = _FLAG.search(frame, 0, end if end >= 0 else len(frame))
    return m is not None and int(m.group(1)) & 1 == 1
