"""HJ 212 framing: ``##`` + 4-digit length + data segment + 4 hex CRC + CRLF.

The length is the number of bytes of the data segment, written as 4 decimal digits (``0101``).
The CRC is computed over the data segment only (from ``QN=``/``ST=`` to the closing ``&&``) with
the standard's own algorithm (HJ 212-2017 appendix A), which is **not** CRC-16/MODBUS::

    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ byte
        repeat 8 times: crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1

The standard's example ``QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;
Flag=5;CP=&&RtdInterval=30&&`` gives ``1C80`` (CRC-16/MODBUS would give ``0759``). The CRC is
written as 4 hex digits; devices use either case, and both are accepted.

Each step keeps only the high byte of the previous CRC, so a frame's CRC is one of just 256
values. Every single-byte error is still caught (each step is a bijection on that byte and the
last table lookup is injective), and an inserted or deleted byte breaks the length; but two or
more corrupted bytes escape the CRC with probability 1/256, and only the syntax check remains.

:func:`check_frame` checks one frame; :class:`StreamFramer` cuts a byte stream (a TCP connection)
into frames: packets split across reads, several in one read, garbage between them and a length
that lies are all handled, and every byte ends up in a frame or in a rejected :class:`FrameResult`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Rejection reasons (the ``reason`` of a rejected frame or packet).
REASON_FRAMING = "framing"            # no ``##``, no 4-digit length, no hex CRC, garbage, no CRLF
REASON_LENGTH = "length_mismatch"     # the declared length is not the data segment's (truncated…)
REASON_CRC = "crc_mismatch"           # the CRC does not match the data segment
REASON_SYNTAX = "syntax"              # the data segment is not QN=…;ST=…;…;CP=&&…&&
REASON_VERSION = "unknown_version"    # Flag bits 2–7 name no known standard
REASONS = (REASON_FRAMING, REASON_LENGTH, REASON_CRC, REASON_SYNTAX, REASON_VERSION)

HEADER = b"##"
TRAILER = b"\r\n"
#: The largest data segment the 4-digit length can declare.
MAX_DATA_BYTES = 9999
#: The largest frame: ``##`` + 4 + data + CRC + CRLF.
MAX_FRAME_BYTES = 2 + 4 + MAX_DATA_BYTES + 4 + 2

_TABLE = []
for _b in range(256):
    _c = _b
    for _ in range(8):
        _c = (_c >> 1) ^ 0xA001 if _c & 1 else _c >> 1
    _TABLE.append(_c)
_TABLE = tuple(_TABLE)


def crc16_hj212(data: bytes) -> int:
    """The HJ 212 CRC of ``data`` (the data segment), as an int in 0…0xFFFF.

    Table form of the standard's bitwise loop: after ``crc = (crc >> 8) ^ byte`` the low byte
    alone decides the eight shift/xor steps, and the high byte is zero.
    """
    crc = 0xFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc >> 8) ^ b]
    return crc


@dataclass(frozen=True)
class FrameResult:
    """One frame as found: ``data`` (the data segment) when it passed, else the reason.

    ``raw`` is the frame without its CRLF (or the rejected bytes). ``declared_length`` is the
    4-digit length when it could be read; ``crc_declared`` / ``crc_computed`` when both exist.
    """

    raw: bytes
    data: bytes | None
    reason: str = ""
    detail: str = ""
    declared_length: int | None = None
    crc_declared: int | None = None
    crc_computed: int | None = None

    @property
    def ok(self) -> bool:
        return self.data is not None


def _reject(raw: bytes, reason: str, detail: str, **kw) -> FrameResult:
    return FrameResult(raw=bytes(raw), data=None, reason=reason, detail=detail, **kw)


def _show(raw: bytes, n: int = 40) -> str:
    s = bytes(raw[:n]).decode("latin-1")
    return repr(s + ("…" if len(raw) > n else ""))


_HEX = frozenset(b"0123456789abcdefABCDEF")


def check_frame(raw: bytes | str, *, require_crlf: bool = False) -> FrameResult:
    """Check one frame: header, length and CRC (and the CRLF when ``require_crlf``).

    Returns a :class:`FrameResult` whose ``data`` is the data segment when all pass, else
    ``reason`` is :data:`REASON_FRAMING`, :data:`REASON_LENGTH` or :data:`REASON_CRC` and
    ``detail`` says what was found. A trailing CRLF is removed first; without ``require_crlf``
    a lone LF or CR (what a log file's line split leaves) is removed too, or none.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    raw = bytes(raw)
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif require_crlf:
        return _reject(raw, REASON_FRAMING, f"does not end with CRLF: {_show(raw[-12:])}")
    elif raw.endswith((b"\n", b"\r")):
        raw = raw[:-1]
    if not raw.startswith(HEADER):
        return _reject(raw, REASON_FRAMING, f"does not start with ##: {_show(raw)}")
    field = raw[2:6]
    if len(field) < 4 or not field.isdigit():
        return _reject(raw, REASON_FRAMING, f"## is not followed by a 4-digit length: {_show(raw)}")
    n = int(field)
    body = len(raw) - 10  # what is left for the data segment once ## + length + CRC are taken
    if body != n:
        what = "truncated" if body < n else "too long"
        return _reject(raw, REASON_LENGTH, f"length field says {n} bytes, the data segment has {max(body, 0)}"
                       f" ({what})", declared_length=n)
    crc_field = raw[-4:]
    if not all(c in _HEX for c in crc_field):
        return _reject(raw, REASON_FRAMING, f"CRC field {_show(crc_field)} is not 4 hex digits", declared_length=n)
    data = raw[6:-4]
    declared = int(crc_field, 16)
    computed = crc16_hj212(data)
    if declared != computed:
        return _reject(raw, REASON_CRC, f"CRC field {crc_field.decode()} but the data segment gives {computed:04X}",
                       declared_length=n, crc_declared=declared, crc_computed=computed)
    return FrameResult(raw=raw, data=data, declared_length=n, crc_declared=declared, crc_computed=computed)


def encode_frame(data: bytes | str, *, crlf: bool = True) -> bytes:
    """Wrap a data segment into a frame: ``##`` + length + data + CRC (upper-case hex) + CRLF."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_DATA_BYTES:
        raise ValueError(f"HJ 212 data segment of {len(data)} bytes: at most {MAX_DATA_BYTES} fit the "
                         "4-digit length; split the packet (PNUM/PNO)")
    return b"##%04d%s%04X%s" % (len(data), data, crc16_hj212(data), TRAILER if crlf else b"")


# A frame starts at ``##`` + 4 digits. It ends at its CRLF, or where the next frame starts when
# the CRLF is missing: a data segment holds neither, so both are safe places to cut.
_START = re.compile(rb"##\d{4}")
_END = re.compile(rb"\r\n|##\d{4}")
_PARTIAL = 5  # bytes at the end of the buffer that may be the beginning of "##dddd"


class StreamFramer:
    """Cut a byte stream into HJ 212 frames: ``feed(bytes) -> list[FrameResult]``.

    A frame starts at ``##`` + 4 digits and ends at the first CRLF (or, when the CRLF is
    missing, where the next frame starts); only then are its length and CRC checked, so a
    length that lies (longer or shorter than the data) costs that frame alone, never the frames
    after it. Bytes between frames are returned as one rejected ``framing`` result per run. The
    results do not depend on how the stream was cut into reads. The buffer is bounded: bytes
    that reach ``max_buffer_bytes`` without a start or an end are rejected, so a peer that never
    sends a frame or a CRLF cannot grow memory. :meth:`flush` returns what is left when the
    connection closes.

    With ``defer_checks``, a frame ended by its CRLF comes back as its bytes (CRLF included), not
    checked: :func:`~.packet.decode` or :func:`~._batch.decode_lines` (which checks the CRCs of
    many frames at once) gives what ``check_frame(…, require_crlf=True)`` would. Everything else
    (rejected bytes, a frame cut by the next one, :meth:`flush`) is a :class:`FrameResult` as without.
    """

    def __init__(self, *, max_buffer_bytes: int = 16384, defer_checks: bool = False) -> None:
        if max_buffer_bytes < MAX_FRAME_BYTES:
            raise ValueError(f"max_buffer_bytes must be at least {MAX_FRAME_BYTES} (the largest frame)")
        self.max_buffer_bytes = max_buffer_bytes
        self.defer_checks = defer_checks
        self._buf = bytearray()
        self._scanned = 0  # where the search for the current start (or end) resumes
        self._in_frame = False  # the buffer starts with a frame's "##dddd"
        self.bytes_in = 0

    @property
    def buffered(self) -> int:
        """Bytes waiting for the start or the end of their frame."""
        return len(self._buf)

    def _resume_at(self) -> None:
        self._scanned = max(2 if self._in_frame else 0, len(self._buf) - _PARTIAL)

    def feed(self, data: bytes) -> list[FrameResult | bytes]:
        """Add ``data`` and return every frame (accepted or rejected) that is now complete."""
        self.bytes_in += len(data)
        buf = self._buf
        buf += data
        out: list[FrameResult] = []
        while buf:
            if not self._in_frame:
                m = _START.search(buf, self._scanned)
                if m is None:
                    if len(buf) >= self.max_buffer_bytes:  # keep what may begin a start
                        cut = len(buf) - _PARTIAL
                        out.append(_reject(buf[:cut], REASON_FRAMING, f"{cut} bytes without a frame"))
                        del buf[:cut]
                    self._resume_at()
                    break
                if m.start() > 0:
                    out.append(_reject(buf[:m.start()], REASON_FRAMING,
                                       f"{m.start()} bytes between frames: {_show(buf[:m.start()])}"))
                    del buf[:m.start()]
                self._in_frame, self._scanned = True, 2
            m = _END.search(buf, self._scanned)
            if m is None:
                if len(buf) >= self.max_buffer_bytes:
                    out.append(_reject(buf, REASON_FRAMING, f"no CRLF within {len(buf)} bytes"))
                    buf.clear()
                    self._in_frame = False
                self._resume_at()
                break
            self._in_frame, self._scanned = False, 0
            if m.group() == TRAILER:
                if self.defer_checks:  # the bytes, CRLF included: decode_lines checks them as check_frame would
                    out.append(bytes(buf[:m.end()]))
                else:
                    out.append(check_frame(bytes(buf[:m.end()]), require_crlf=True))
                del buf[:m.end()]
            else:  # the next frame starts before this one ended: truncated
                res = check_frame(bytes(buf[:m.start()]))
                if res.ok:  # right length and CRC but no CRLF: still not a frame
                    res = _reject(res.raw, REASON_FRAMING, "no CRLF before the next frame",
                                  declared_length=res.declared_length)
                out.append(res)
                del buf[:m.start()]
        return out

    def flush(self) -> list[FrameResult]:
        """The bytes left when the stream ends (a truncated frame or garbage), rejected."""
        if not self._buf:
            return []
        raw = bytes(self._buf)
        in_frame = self._in_frame or _START.match(raw) is not None
        self._buf.clear()
        self._scanned, self._in_frame = 0, False
        if in_frame:
            res = check_frame(raw)
            if res.ok:
                return [_reject(raw, REASON_FRAMING, "stream ended before the CRLF", declared_length=res.declared_length)]
            return [res]
        return [_reject(raw, REASON_FRAMING, f"{len(raw)} bytes without a frame at the end of the stream")]
