"""Store HJ 212 packets: one transaction per batch, bulk inserts, every input accounted for.

:class:`PacketStore` ``.write_batch(items)`` stores a batch of :class:`Received` — decoded packets
and rejected frames, from any number of connections or a file — in **one** transaction:

- accepted packets go to ``hj212_packets`` keyed by the BLAKE2b-128 digest of the frame: a frame
  already stored (the same MN, QN, CN and bytes: a logger resending after a lost answer, a
  heartbeat that never changes, an overlapping log file) is not stored again; its ``copies`` and
  ``last_received_utc`` are updated instead (``INSERT … ON CONFLICT DO NOTHING RETURNING`` then
  an ``UPDATE`` of the rest, so two writers cannot both insert it);
- their items are the rows of the codec's :func:`~ecopatrol.processing.hj212.records_frame`
  (pollutant as sent and as a 2017 code, suffix, value, the data and equipment flags of that
  pollutant in its CP group; :func:`record_rows` builds them without pandas, a test keeps the two
  equal on real traffic). Since schema 0003 they are **packed** into the packet's own row
  (``items``: a JSON array, one ``[code, code_2017, suffix, value, value_text, flag, eflag]`` per
  record, built by :func:`packed_items` straight from the packet's CP) and read through the view
  ``hj212_records``, which gives the rows the table of schemas 0001–0002 held. ``layout="rows"``
  writes that old table instead (one row per record: the benchmark's baseline, on a database
  kept at schema 0002);
- rejected frames go to ``hj212_rejected`` with the codec's reason and detail;
- ``stations`` is upserted per MN (first / last seen, packets received);
- for a file, its progress (``hj212_files.lines_done``) is committed with the batch, so an
  interrupted ingest resumes exactly after the last committed line.

All of it is bulk, never row by row: multi-row ``INSERT … VALUES`` for packets (their records
with them), and for the old layout ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) of the records. The rows are built by :meth:`PacketStore.prepare`
— the receiver calls it on the event loop as packets arrive, so the writer thread spends its
time in the database. When ``write_batch`` returns, the batch is committed (durable: see
:mod:`ecopatrol.core.db.engine`), and only then may a receiver answer the loggers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Literal

from ecopatrol.core.db import schema as S
from ..hj212 import Packet, codes

log = logging.getLogger(__name__)

#: Why the receiver rejects the bytes a connection left unfinished (beside the codec's reasons).
REASON_CLOSED = "connection_closed"
_MN = re.compile(rb"MN=([^;&]{1,64})")

PACKET_COLUMNS = ("received_utc", "last_received_utc", "copies", "peer", "line", "mn", "st", "cn", "qn", "version",
                  "flag", "ack_requested", "pnum", "pno", "data_time_utc", "n_records", "raw", "digest", "items")
#: The packet columns of the row-per-record layout (schemas 0001–0002): no ``items``.
PACKET_COLUMNS_ROWS = PACKET_COLUMNS[:-1]
Layout = Literal["packed", "rows"]
RECORD_COLUMNS = ("packet_id", "mn", "cn", "data_time_utc", "pollutant_code", "pollutant_code_2017", "suffix",
                  "value", "value_text", "flag", "eflag")
#: Packets per multi-row INSERT (SQLite allows 32 766 parameters in one statement).
_PACKETS_PER_INSERT = 500


def digest(raw: bytes) -> bytes:
    """The key of a stored frame: BLAKE2b-128 of its bytes (without CRLF)."""
    return blake2b(raw, digest_size=16).digest()


@dataclass(slots=True)
class Received:
    """One frame as received: a decoded ``packet``, or the rejected bytes with ``reason`` and ``detail``.

    ``raw`` is the frame without its CRLF (or the rejected bytes); ``peer`` the logger's
    ``HOST:PORT`` or the file name; ``line`` the file line (file ingest). ``rows`` is filled by
    :meth:`PacketStore.prepare`.
    """

    raw: bytes
    received_utc: datetime
    peer: str
    packet: Packet | None = None
    reason: str = ""
    detail: str = ""
    line: int | None = None
    rows: tuple | None = None  # (digest, packet row, record rows — None when packed into the packet row)


@dataclass
class BatchResult:
    """What one :meth:`PacketStore.write_batch` committed."""

    packets: int = 0              # accepted packets in the batch (copies included)
    packets_new: int = 0          # rows added to hj212_packets
    packets_duplicate: int = 0    # already stored (or twice in the batch): copies counted
    records: int = 0
    rejected: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    seconds: float = 0.0


# -- records ---------------------------------------------------------------------------------------
_C17: dict[str, str | None] = {}


def _code_2017(code: str) -> str | None:
    try:
        return _C17[code]
    except KeyError:
        p = codes.pollutant(code)
        c = _C17[code] = p.code if p else None
        return c


def _number(text: str) -> float | None:
    """A CP value as a finite float, else ``None`` (the text is kept beside it)."""
    try:
        v = float(text)
    except ValueError:
        return None
    return v if v - v == 0.0 and "_" not in text else None  # v - v is NaN for ±inf and NaN


#: ``code-Suffix`` key → ``(kind, code, suffix, code_2017)``; kind 0 a plain field, 1 a data flag,
#: 2 an equipment flag, 3 a value. Keys repeat from packet to packet, so each is split once.
_KEYS: dict[str, tuple] = {}
_KEYS_MAX = 50_000


def _key(key: str) -> tuple:
    if "-" not in key or key[0] == "-" or key[-1] == "-":
        k: tuple = (0, None, None, None)  # a plain field (DataTime, QnRtn…)
    else:
        code, _, suffix = key.rpartition("-")
        kind = 1 if suffix == "Flag" else 2 if suffix == "EFlag" else 3
        k = (kind, code, suffix, _code_2017(code))
    if len(_KEYS) >= _KEYS_MAX:  # a stream of ever new keys cannot grow memory
        _KEYS.clear()
    _KEYS[key] = k
    return k


def record_rows(packet: Packet) -> list[tuple]:
    """``(code, code_2017, suffix, value, value_text, flag, eflag)`` per item of ``packet``: the rows of
    :func:`~ecopatrol.processing.hj212.records_frame`, in its order. A CP group's ``code-Flag`` and
    ``code-EFlag`` apply to that group's values of the same code; a flag with no value in its
    group is a row of its own (suffix ``Flag``, or ``EFlag``)."""
    out: list[tuple] = []
    keys, number = _KEYS, _number
    for group in packet.cp:
        flags = eflags = None
        vals = []
        for key, value in group:
            k = keys.get(key) or _key(key)
            kind = k[0]
            if kind == 3:
                vals.append((k, value))
            elif kind == 1:
                if flags is None:
                    flags = {}
                flags.setdefault(k[1], value)
            elif kind == 2:
                if eflags is None:
                    eflags = {}
                eflags.setdefault(k[1], value)
        if flags is None and eflags is None:
            out += [(k[1], k[3], k[2], number(v), v, None, None) for k, v in vals]
            continue
        flags, eflags = flags or {}, eflags or {}
        fget, eget = flags.get, eflags.get
        out += [(k[1], k[3], k[2], number(v), v, fget(k[1]), eget(k[1])) for k, v in vals]
        valued = {k[1] for k, _ in vals}
        for c in dict.fromkeys([*flags, *eflags]):
            if c not in valued:
                fl = flags.get(c)
                text = fl if fl is not None else eflags[c]
                out.append((c, _code_2017(c), "Flag" if fl is not None else "EFlag", number(text), text, fl,
                            eflags.get(c)))
    return out


# -- records packed in their packet's row (schema 0003) ---------------------------------------------
#: A value text that is a JSON number as it stands and that ``float`` reads as the same finite
#: number (no exponent, at most 301 integer digits: never an overflow): written as it is, so
#: the common value costs no ``float`` and no ``repr``; any other text goes through :func:`_number`.
_NUM_TEXT = re.compile(r"-?(?:0|[1-9][0-9]{0,300})(?:\.[0-9]+)?").fullmatch
#: Bytes JSON cannot hold as they are in a string (``"``, ``\``, control characters).
_JSON_ESCAPED = bytes(range(32)) + b'"\\'
#: ``code-Suffix`` key → ``(kind, code, '["code","code_2017","Suffix",')`` (kinds as :data:`_KEYS`).
_PKEYS: dict[str, tuple] = {}
#: Value text → its JSON ``value,"value_text"`` (values repeat: 41 000 distinct among 249 000 items).
_VFRAG: dict[str, str] = {}


def _pkey(key: str) -> tuple:
    kind, code, suffix, c17 = _KEYS.get(key) or _key(key)
    k = (kind, code, "[" + json.dumps([code, c17, suffix], ensure_ascii=False, separators=(",", ":"))[1:-1] + ","
         if kind else None)
    if len(_PKEYS) >= _KEYS_MAX:  # a stream of ever new keys cannot grow memory
        _PKEYS.clear()
    _PKEYS[key] = k
    return k


def _vfrag(text: str) -> str:
    """``value,"text"`` for a text JSON holds as it is (see :func:`packed_items`)."""
    if _NUM_TEXT(text):
        f = f'{text},"{text}"'
    else:
        v = _number(text)
        f = f'{"null" if v is None else repr(v)},"{text}"'
    if len(_VFRAG) >= _KEYS_MAX:
        _VFRAG.clear()
    _VFRAG[text] = f
    return f


def packed_items(packet: Packet, raw: bytes) -> tuple[str, int]:
    """``(json, n)``: the :func:`record_rows` of ``packet`` as one JSON array (``n`` records), each record
    ``[code, code_2017, suffix, value, value_text, flag, eflag]`` — what ``hj212_packets.items``
    holds and the view ``hj212_records`` expands.

    ``raw`` is the packet's frame: when it is ASCII without a byte JSON would escape (``"``, ``\\``,
    control characters), every string of the packet is written as it is — no ``json.dumps``, no
    per-record tuples, the fragments of keys and values cached, the common CP groups (one value; a value
    and its ``Flag``; several values of one code and its ``Flag``, :func:`_values_and_flag`) written directly; otherwise (and for a NUL, written as the 4 characters
    ``\\x00`` as in the rest of the row) :func:`record_rows` through ``json.dumps``."""
    if not raw.isascii() or len(raw.translate(None, _JSON_ESCAPED)) != len(raw):
        rows = record_rows(packet)
        if b"\x00" in raw:
            rows = [[_no_nul(v) for v in r] for r in rows]
        return json.dumps(rows, ensure_ascii=False, separators=(",", ":")), len(rows)
    parts: list[str] = []
    add = parts.append
    keys, vfrags, vfrag = _PKEYS, _VFRAG, _vfrag
    for group in packet.cp:
        n = len(group)
        if n == 1:
            key, v = group[0]
            k = keys.get(key) or _pkey(key)
            if k[0] == 3:
                add(f"{k[2]}{vfrags.get(v) or vfrag(v)},null,null]")
                continue
            if k[0] == 0:
                continue
        elif n == 2:
            (key, v), (key2, fl) = group
            k = keys.get(key) or _pkey(key)
            k2 = keys.get(key2) or _pkey(key2)
            if k[0] == 3 and k2[0] == 1 and k[1] == k2[1]:  # a value and its data flag
                add(f'{k[2]}{vfrags.get(v) or vfrag(v)},"{fl}",null]')
                continue
        elif n and _values_and_flag(group, parts):  # minute / hour data: Cou, Min, Avg, Max of a code, its Flag
            continue
        _group(group, parts)
    return "[" + ",".join(parts) + "]", len(parts)


def _values_and_flag(group, parts: list[str]) -> bool:
    """The records of a CP group of values of one code followed by that code's ``Flag`` (or of values
    alone, of any codes), as :func:`_group` makes them; ``False`` (nothing added) for any other group."""
    keys, vfrags, vfrag = _PKEYS, _VFRAG, _vfrag
    key, fl = group[-1]
    k = keys.get(key) or _pkey(key)
    if k[0] == 1:
        code, vals, flag = k[1], group[:-1], f'"{fl}"'
    elif k[0] == 3:
        code, vals, flag = None, group, "null"
    else:
        return False
    out = []
    for key, v in vals:
        k = keys.get(key) or _pkey(key)
        if k[0] != 3 or (code is not None and k[1] != code):
            return False
        out.append(f"{k[2]}{vfrags.get(v) or vfrag(v)},{flag},null]")
    if not out:
        return False
    parts += out
    return True


def _group(group, parts: list[str]) -> None:
    """The records of any CP group, as :func:`record_rows` makes them (clean text only)."""
    keys, vfrags, vfrag = _PKEYS, _VFRAG, _vfrag
    flags: dict[str, str] = {}
    eflags: dict[str, str] = {}
    vals = []
    for key, value in group:
        k = keys.get(key) or _pkey(key)
        kind = k[0]
        if kind == 3:
            vals.append((k[2], value, k[1]))
        elif kind == 1:
            flags.setdefault(k[1], f'"{value}"')
        elif kind == 2:
            eflags.setdefault(k[1], f'"{value}"')
    fget, eget = flags.get, eflags.get
    parts += [f'{pre}{vfrags.get(v) or vfrag(v)},{fget(c, "null")},{eget(c, "null")}]' for pre, v, c in vals]
    if flags or eflags:
        valued = {c for _, _, c in vals}
        for c in dict.fromkeys([*flags, *eflags]):
            if c not in valued:
                fl = flags.get(c)
                text = (fl if fl is not None else eflags[c])[1:-1]
                pre = json.dumps([c, _code_2017(c), "Flag" if fl is not None else "EFlag"], ensure_ascii=False,
                                 separators=(",", ":"))[:-1]
                parts.append(f'{pre},{vfrags.get(text) or vfrag(text)},{fget(c, "null")},{eget(c, "null")}]')


class StagedBatch:
    """A batch whose statements :meth:`PacketStore.stage_batch` executed, its transaction still open."""

    __slots__ = ("result", "_tx", "_stack", "_t0", "_done")

    def __init__(self, result: BatchResult, tx, stack: contextlib.ExitStack, t0: float) -> None:
        self.result, self._tx, self._stack, self._t0, self._done = result, tx, stack, t0, False

    def commit(self) -> BatchResult:
        """Commit (durable when it returns: the fsync is in here) and give the batch's counts. After an
        error the transaction is rolled back and the store's kept connection dropped; nothing is stored."""
        if self._done:
            raise RuntimeError("this staged batch was already committed or rolled back")
        self._done = True
        try:
            self._tx.commit()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                self._tx.rollback()
            self._stack.__exit__(type(exc), exc, exc.__traceback__)  # the kept connection dropped
            raise
        self._stack.close()
        self.result.seconds = time.perf_counter() - self._t0
        return self.result

    def rollback(self) -> None:
        """Drop the batch (nothing of it is stored)."""
        if self._done:
            return
        self._done = True
        try:
            self._tx.rollback()
        finally:
            self._stack.close()


# -- the store -------------------------------------------------------------------------------------
def _later(col, value):
    from sqlalchemy import case

    return case((col < value, value), else_=col)


def _no_nul(v):
    return v.replace("\x00", "\\x00") if isinstance(v, str) else v


def _sqlite_time(t: datetime | None) -> str | None:
    """UTC as SQLAlchemy stores a DateTime in SQLite (so Core reads it back)."""
    if t is None:
        return None
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(UTC)


def _cached(convert, size: int = 4096):
    """``convert`` with a small memo: packets of a batch share their reception and data times."""
    memo: dict = {}

    def tm(t):
        try:
            return memo[t]
        except KeyError:
            if len(memo) >= size:
                memo.clear()
            v = memo[t] = convert(t)
            return v
        except TypeError:  # pragma: no cover - an unhashable time
            return convert(t)

    return tm


class PacketStore:
    """Write batches of received frames into the database of ``engine`` (one writer at a time is best:
    the receiver uses one connection in one thread; SQLite serialises writers across processes).

    ``layout="packed"`` (the default, schema 0003 on) packs each packet's records into its row;
    ``"rows"`` writes one row per record into the table of schemas 0001–0002 (a database migrated
    only to ``0002``: the benchmark's baseline)."""

    def __init__(self, engine, *, layout: Layout = "packed", keep_connection: bool = False) -> None:
        from sqlalchemy import bindparam, update

        self.engine = engine
        self.dialect = d = engine.dialect.name
        if d not in ("sqlite", "postgresql"):  # pragma: no cover - normalise_url admits only these two
            raise ValueError(f"ecopatrol stores into SQLite or PostgreSQL, not {d}")
        if layout not in ("packed", "rows"):
            raise ValueError(f"layout={layout!r}: 'packed' or 'rows'")
        self.layout = layout
        #: ``keep_connection``: one connection for every batch (the receiver's writer process: no pool
        #: check-out, check-in and reset per commit), dropped after any error and opened again by the next
        #: batch; :meth:`close` closes it. Each batch is still its own transaction, committed before return.
        self.keep_connection = keep_connection
        self._conn = None
        self._time = _cached(_sqlite_time if d == "sqlite" else _aware)
        ph = "?" if d == "sqlite" else "%s"
        cols = PACKET_COLUMNS if layout == "packed" else PACKET_COLUMNS_ROWS
        marks = [ph] * len(cols)
        if layout == "packed" and d == "postgresql":
            marks[-1] = "%s::jsonb"
        self._packet_values = "(" + ",".join(marks) + ")"
        self._packet_sql = f"INSERT INTO hj212_packets ({', '.join(cols)}) VALUES "
        self._packet_end = " ON CONFLICT (digest) DO NOTHING RETURNING id, digest"
        self._record_sql = (f"INSERT INTO hj212_records ({', '.join(RECORD_COLUMNS)}) VALUES "
                            f"({','.join([ph] * len(RECORD_COLUMNS))})")
        self._record_copy = f"COPY hj212_records ({', '.join(RECORD_COLUMNS)}) FROM STDIN"
        p = S.hj212_packets.c
        self._dup = (update(S.hj212_packets).where(p.digest == bindparam("b_digest"))
                     .values(copies=p.copies + bindparam("b_copies"),
                             last_received_utc=_later(p.last_received_utc,
                                                      bindparam("b_last", type_=S.UTCDateTime()))))
        self._st_sql = (
            f"INSERT INTO stations (mn, st, first_seen_utc, last_seen_utc, packets, last_peer) VALUES "
            f"({', '.join([ph] * 6)}) ON CONFLICT (mn) DO UPDATE SET st = excluded.st, last_peer = excluded.last_peer, "
            "first_seen_utc = CASE WHEN stations.first_seen_utc > excluded.first_seen_utc THEN excluded.first_seen_utc "
            "ELSE stations.first_seen_utc END, "
            "last_seen_utc = CASE WHEN stations.last_seen_utc < excluded.last_seen_utc THEN excluded.last_seen_utc "
            "ELSE stations.last_seen_utc END, packets = stations.packets + excluded.packets")
        self._rej = S.hj212_rejected.insert()
        f = S.hj212_files.c
        self._file = (update(S.hj212_files).where(f.id == bindparam("b_id"))
                      .values(lines_done=bindparam("b_lines"), finished_utc=bindparam("b_done", type_=S.UTCDateTime())))

    # -- rows, built before the transaction --------------------------------------------------------
    def prepare(self, item: Received) -> Received:
        """Fill ``item.rows`` (digest, the packet's row, its record rows) in this database's types; a
        rejected item needs none. Cheap to call twice."""
        pk = item.packet
        if pk is None or item.rows is not None:
            return item
        tm = self._time
        dt = pk.data_time
        dtu = tm(dt.utc) if dt is not None else None
        mn, cn, raw = pk.mn, pk.cn, bytes(item.raw)
        key = digest(raw)
        if self.layout == "packed":
            items, n = packed_items(pk, raw)  # NUL already written as \x00 in there
            row = [tm(item.received_utc), None, 1, item.peer, item.line, mn, pk.st, cn, pk.qn, pk.version, pk.flag,
                   pk.ack_requested, pk.pnum, pk.pno, dtu, n, raw, key, items]
            if b"\x00" in raw:  # PostgreSQL text holds no NUL: written as the 4 characters \x00 (raw keeps the byte)
                row[:-1] = [_no_nul(v) for v in row[:-1]]
            item.rows = (key, row, None)
            return item
        recs = [[None, mn, cn, dtu, *r] for r in record_rows(pk)]
        row = [tm(item.received_utc), None, 1, item.peer, item.line, mn, pk.st, cn, pk.qn, pk.version, pk.flag,
               pk.ack_requested, pk.pnum, pk.pno, dtu, len(recs), raw, key]
        if b"\x00" in raw:  # PostgreSQL text holds no NUL: written as the 4 characters \x00 (raw keeps the byte)
            row = [_no_nul(v) for v in row]
            recs = [[_no_nul(v) for v in r] for r in recs]
        item.rows = (key, row, recs)
        return item

    # -- one transaction -----------------------------------------------------------------------------
    def write_batch(self, items: Sequence[Received], *, file_id: int | None = None, lines_done: int | None = None,
                    finished_utc: datetime | None = None) -> BatchResult:
        """Store ``items`` in one transaction and commit (see the module docstring). With ``file_id``,
        the file's ``lines_done`` (and ``finished_utc``) are committed with them."""
        return self.stage_batch(items, file_id=file_id, lines_done=lines_done, finished_utc=finished_utc).commit()

    def stage_batch(self, items: Sequence[Received], *, file_id: int | None = None, lines_done: int | None = None,
                    finished_utc: datetime | None = None) -> StagedBatch:
        """:meth:`write_batch` in two steps: every statement of the batch's transaction executed, the
        transaction left **open** — :meth:`StagedBatch.commit` commits it (and may be called from another
        thread, the one that waits for the fsync, while this one goes on with other work), or
        :meth:`StagedBatch.rollback` drops it. Nothing is durable, and nothing may be answered, before
        ``commit()`` has returned. The store must not stage another batch until then."""
        t0 = time.perf_counter()
        res = BatchResult()
        accepted: dict[bytes, list] = {}  # digest → [item, copies, last received]
        rejected = []
        for it in items:
            if it.packet is None:
                m = _MN.search(it.raw)
                rejected.append({"received_utc": it.received_utc, "peer": it.peer, "line": it.line,
                                 "reason": it.reason, "detail": _no_nul(it.detail),
                                 "mn": _no_nul(m.group(1).decode("latin-1")) if m else None, "raw": bytes(it.raw)})
                res.rejected_by_reason[it.reason] += 1
                continue
            res.packets += 1
            if it.rows is None:
                self.prepare(it)
            key = it.rows[0]
            hit = accepted.get(key)
            if hit is None:
                accepted[key] = [it, 1, it.received_utc]
            else:
                hit[1] += 1
                hit[2] = max(hit[2], it.received_utc)
        res.rejected = len(rejected)
        stack = contextlib.ExitStack()
        try:
            conn = stack.enter_context(self._connection())
            stack.enter_context(self._bulk(conn))
            tx = conn.begin()
            try:
                if accepted:
                    ids = self._write_packets(conn, accepted)
                    dups = [{"b_digest": k, "b_copies": copies, "b_last": last}
                            for k, (_, copies, last) in accepted.items() if k not in ids]
                    if dups:
                        conn.execute(self._dup, dups)
                    res.packets_new = len(ids)
                    res.packets_duplicate = res.packets - res.packets_new
                    if self.layout == "packed":
                        res.records = sum(accepted[k][0].rows[1][15] for k in ids)  # n_records of the new
                    else:
                        res.records = self._write_records(conn, accepted, ids)
                    self._write_stations(conn, accepted.values())
                if rejected:
                    conn.execute(self._rej, rejected)
                if file_id is not None:
                    conn.execute(self._file, [{"b_id": file_id, "b_lines": lines_done, "b_done": finished_utc}])
            except BaseException:
                with contextlib.suppress(Exception):
                    tx.rollback()
                raise
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)  # the context managers never swallow an error
            raise
        return StagedBatch(res, tx, stack, t0)

    @contextlib.contextmanager
    def _connection(self):
        """A connection for one batch (SQLite: ``BEGIN IMMEDIATE``, the write lock at once): a new one from
        the pool, or with ``keep_connection`` the kept one (closed and forgotten after an error)."""
        if not self.keep_connection:
            with self.engine.connect() as conn:
                yield conn.execution_options(sqlite_immediate=True)
            return
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = self.engine.connect().execution_options(sqlite_immediate=True)
        try:
            yield conn
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the kept connection (``keep_connection``), if any."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    @contextlib.contextmanager
    def _bulk(self, conn):
        """SQLite, row-per-record layout: no foreign-key check per record row while the batch is written (about a fifth of the
        records' insert time). Every ``packet_id`` written is an id the same transaction's packet
        insert just returned, so the key holds by construction; the check is back on (and
        ``ON DELETE CASCADE`` with it) once the batch is committed. Durability is unchanged."""
        if self.dialect != "sqlite" or self.layout == "packed":  # packed: no record rows, no key to check
            yield
            return
        dbapi = conn.connection.dbapi_connection
        dbapi.execute("PRAGMA foreign_keys=OFF")  # outside a transaction (a PRAGMA inside one is ignored)
        try:
            yield
        finally:
            dbapi.execute("PRAGMA foreign_keys=ON")

    def _write_packets(self, conn, accepted: dict) -> dict[bytes, int]:
        """Insert the packets not stored yet; ``{digest: id}`` of those inserted."""
        tm = self._time
        rows = []
        for it, copies, last in accepted.values():
            row = it.rows[1]
            row[1], row[2] = tm(last), copies
            rows.append(row)
        cur = conn.connection.dbapi_connection.cursor()
        ids: dict[bytes, int] = {}
        try:
            for i in range(0, len(rows), _PACKETS_PER_INSERT):
                chunk = rows[i:i + _PACKETS_PER_INSERT]
                sql = self._packet_sql + ",".join([self._packet_values] * len(chunk)) + self._packet_end
                cur.execute(sql, [v for r in chunk for v in r])
                ids.update((bytes(d), pid) for pid, d in cur.fetchall())
        finally:
            cur.close()
        return ids

    def _write_records(self, conn, accepted: dict, ids: dict[bytes, int]) -> int:
        rows = []
        for key, (it, _, _) in accepted.items():
            pid = ids.get(key)
            if pid is None:
                continue  # stored before: its records are there
            for r in it.rows[2]:
                r[0] = pid
            rows += it.rows[2]
        if not rows:
            return 0
        dbapi = conn.connection.dbapi_connection
        if self.dialect == "postgresql":
            with dbapi.cursor() as cur, cur.copy(self._record_copy) as copy:
                for r in rows:
                    copy.write_row(r)
        else:
            cur = dbapi.cursor()
            try:
                cur.executemany(self._record_sql, rows)
            finally:
                cur.close()
        return len(rows)

    def _write_stations(self, conn, accepted) -> None:
        """Upsert one ``stations`` row per MN of the batch: first / last seen widened, packets added, ST and
        peer of the batch's latest packet. Plain SQL on the driver's cursor with the times already in
        the database's form (through SQLAlchemy's bind processing this was ~7 µs a packet)."""
        per: dict[str, list] = {}
        for it, copies, last in accepted:
            row = it.rows[1]  # MN and ST as stored (NUL-free)
            mn, st = row[5], row[6]
            s = per.get(mn)
            if s is None:
                per[mn] = [mn, st, it.received_utc, last, copies, it.peer]
            else:
                s[4] += copies
                if it.received_utc < s[2]:
                    s[2] = it.received_utc
                if last >= s[3]:
                    s[3], s[1], s[5] = last, st, it.peer
        tm = self._time
        rows = [(mn, st, tm(first), tm(last), n, peer) for mn, st, first, last, n, peer in per.values()]
        cur = conn.connection.dbapi_connection.cursor()
        try:
            cur.executemany(self._st_sql, rows)
        finally:
            cur.close()
