"""Ingest logged HJ 212 packet files (one packet a line, ``.gz`` too) through the receiver's storage path.

:func:`ingest_file` streams the file line by line (memory does not grow with its length), decodes
each line with the codec (:func:`~ecopatrol.processing.hj212.decode`) and stores batches with
:meth:`PacketStore.write_batch` — the same transaction the receiver commits. Every line is
stored as a packet or as a rejected frame with its reason (blank lines are counted, not stored).

Idempotent: the file is known by its sha256 in ``hj212_files``, whose ``lines_done`` is committed
with every batch. A file already ingested is skipped; one whose ingest was interrupted resumes
after its last committed line, so no line is stored twice or lost. A packet also found in another
file (or received live) is stored once, its ``copies`` counted (see :mod:`.store`).
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ecopatrol.core.errors import FormatError, InputFileNotFoundError
from ..hj212 import REASON_FRAMING, decode_lines
from ..hj212.frame import MAX_FRAME_BYTES
from .store import PacketStore, Received

log = logging.getLogger(__name__)

#: Lines longer than this are not HJ 212 frames (the largest is 10 017 bytes): rejected unread.
MAX_LINE_BYTES = 64 * 1024
assert MAX_LINE_BYTES > MAX_FRAME_BYTES


@dataclass
class IngestResult:
    """What :func:`ingest_file` did with one file."""

    path: str
    sha256: str
    lines: int = 0                # packet lines read by this run (blank lines apart)
    blank_lines: int = 0
    accepted: int = 0
    packets_new: int = 0
    packets_duplicate: int = 0
    records: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    skipped: str = ""             # why nothing was read (already ingested)
    resumed_after_line: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection while a file is read: the batches' rows are many small containers
    without cycles, which the collector would scan again and again (a third of the time). Reference
    counting still frees each batch, and the young generations are collected after each one."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _lines(path: Path):
    """``(line_number, bytes without the line end)``; a line over :data:`MAX_LINE_BYTES` comes back as ``None``."""
    with _open(path) as fh:
        n = 0
        try:
            while True:
                line = fh.readline(MAX_LINE_BYTES)
                if not line:
                    return
                n += 1
                if not line.endswith(b"\n") and len(line) == MAX_LINE_BYTES:
                    while True:  # skip the rest of an over-long line
                        more = fh.readline(MAX_LINE_BYTES)
                        if not more or more.endswith(b"\n"):
                            break
                    yield n, None, line[:200]
                    continue
                yield n, line.rstrip(b"\r\n"), None
        except (OSError, EOFError) as e:
            raise FormatError(f"`{path.name}` line {n + 1}: {e} (a broken gzip file? copy it again)") from e


def _file_row(store: PacketStore, path: Path, sha: str) -> tuple[int, int, datetime | None]:
    """``(id, lines_done, finished_utc)`` of the file in ``hj212_files``, added when new."""
    from sqlalchemy import select

    from ecopatrol.core.db import schema as S

    f = S.hj212_files
    with store.engine.begin() as conn:
        row = conn.execute(select(f.c.id, f.c.lines_done, f.c.finished_utc).where(f.c.sha256 == sha)).first()
        if row is not None:
            return row.id, row.lines_done, row.finished_utc
        fid = conn.execute(f.insert().returning(f.c.id), {
            "sha256": sha, "name": path.name, "size_bytes": path.stat().st_size,
            "started_utc": datetime.now(UTC), "finished_utc": None, "lines_done": 0}).scalar_one()
        return fid, 0, None


def ingest_file(store: PacketStore, path: str | Path, *, batch_packets: int = 2000,
                progress: Callable[[int], None] | None = None) -> IngestResult:
    """Store every line of a logged packet file (see the module docstring); batches of ``batch_packets``.

    ``progress(lines_done)`` is called after each committed batch.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileNotFoundError(f"`{p}`: no such HJ 212 packet file")
    t0 = time.perf_counter()
    sha = _sha256(p)
    res = IngestResult(path=str(p), sha256=sha)
    fid, done, finished = _file_row(store, p, sha)
    if finished is not None:
        res.skipped = f"already ingested (sha256 {sha[:12]}…, finished {finished:%Y-%m-%d %H:%M:%S} UTC)"
        log.info("%s: %s", p.name, res.skipped)
        return res
    res.resumed_after_line = done
    reasons: Counter = Counter()
    batch: list[Received] = []
    now = datetime.now(UTC)
    last_line = done

    def flush(*, final: bool) -> None:
        r = store.write_batch(batch, file_id=fid, lines_done=last_line,
                              finished_utc=datetime.now(UTC) if final else None)
        res.accepted += r.packets
        res.packets_new += r.packets_new
        res.packets_duplicate += r.packets_duplicate
        res.records += r.records
        res.rejected += r.rejected
        reasons.update(r.rejected_by_reason)
        batch.clear()
        gc.collect(1)  # the young generations only: cheap, and whatever cycles the batch left are freed
        if progress is not None:
            progress(last_line)

    name = p.name
    pending: list[tuple[int, bytes]] = []  # (line number, bytes) of the lines not decoded yet

    def decode_pending() -> None:
        for (n, _), d in zip(pending, decode_lines([ln for _, ln in pending])):
            batch.append(prepare(Received(d.raw, now, name, d.packet, d.reason, d.detail, n)))
        pending.clear()

    prepare = store.prepare
    with _gc_paused():
        for n, line, head in _lines(p):
            if n <= done:
                continue
            last_line = n
            if line is None:
                decode_pending()  # keep the batch in line order
                batch.append(Received(head, now, name, reason=REASON_FRAMING, line=n,
                                      detail=f"line longer than {MAX_LINE_BYTES} bytes: not an HJ 212 frame"))
            elif not line.strip():
                res.blank_lines += 1
                continue
            else:
                pending.append((n, line))
            res.lines += 1
            if len(batch) + len(pending) >= batch_packets:
                decode_pending()
                flush(final=False)
        decode_pending()
        flush(final=True)
    res.rejected_by_reason = dict(reasons)
    res.seconds = time.perf_counter() - t0
    log.info("%s: %d packets (%d new, %d already stored), %d records, %d rejected (%s) in %.1f s%s", name,
             res.accepted, res.packets_new, res.packets_duplicate, res.records, res.rejected,
             ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none", res.seconds,
             f"; resumed after line {done}" if done else "")
    return res
