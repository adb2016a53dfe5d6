"""HJ 212 packets: decode a data segment into a :class:`Packet`, encode one back, reassemble splits.

A data segment is ``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;PNUM=…;PNO=…;CP=&&…&&`` (HJ 212-2017 §6.3;
HJ/T 212-2005 has the same fields, QN and Flag optional). ``CP`` holds ``;``-separated groups of
``,``-separated items; an item is ``code-Suffix=value`` (``a21026-Rtd=12.3``, ``a21026-Flag=N``)
or a plain field (``DataTime=20240122170000``, ``QnRtn=1``).

``Flag`` is a bit field: bit 0 ``A`` (the sender asks for an answer), bit 1 ``D`` (split packet:
``PNUM``/``PNO`` follow), bits 2–7 the version of the standard (0 HJ/T 212-2005, 1 HJ 212-2017,
2 HJ 212-2025). A packet without ``Flag`` is read as 2005, which made it optional.

Times (``QN``, ``DataTime``) are local time of the standard's clock, Asia/Shanghai (UTC+8):
each is kept as sent and as a UTC instant (:class:`Stamp`). ``QN`` is ``yyyyMMddHHmmsszzz``;
``DataTime`` ``yyyyMMddHHmmss`` (many 2005 devices append ``zzz``; both are read). Minute, hour
and day records (CN 2051, 2061, 2031) are stamped with the start of their interval.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np

from . import codes
from .frame import (REASON_SYNTAX, REASON_VERSION, FrameResult, check_frame, encode_frame)

#: The standard's clock: local time in China.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_HEADER_ORDER = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_FLAG_A, _FLAG_D = 0b01, 0b10


@dataclass(frozen=True)
class Stamp:
    """A time as sent (``raw``, local Asia/Shanghai) and as an instant: ``local`` and ``utc`` (tz-aware)."""

    raw: str
    local: datetime
    utc: datetime


def parse_stamp(raw: str) -> Stamp:
    """``yyyyMMddHHmmss`` or ``yyyyMMddHHmmsszzz`` (local time) → :class:`Stamp`; ``ValueError`` if not."""
    if not raw.isdigit() or len(raw) not in (14, 17):
        raise ValueError(f"{raw!r} is not yyyyMMddHHmmss[zzz]")
    ms = int(raw[14:17]) if len(raw) == 17 else 0
    local = datetime(int(raw[0:4]), int(raw[4:6]), int(raw[6:8]), int(raw[8:10]), int(raw[10:12]),
                     int(raw[12:14]), ms * 1000, tzinfo=LOCAL_TZ)
    try:
        utc = local.astimezone(UTC)
    except OverflowError:  # year 1, 1 January before 08:00 local is before year 1 in UTC
        raise ValueError(f"{raw!r} is before the first representable instant") from None
    return Stamp(raw, local, utc)


def format_stamp(t: datetime, *, ms: bool = False) -> str:
    """A datetime as HJ 212 local time (aware → converted to Asia/Shanghai; naive = already local)."""
    if t.tzinfo is not None:
        t = t.astimezone(LOCAL_TZ)
    s = t.strftime("%Y%m%d%H%M%S")
    return s + f"{t.microsecond // 1000:03d}" if ms else s


@dataclass(frozen=True)
class FlagBits:
    """The ``Flag`` field decoded: ``ack_requested`` (bit 0, A), ``split`` (bit 1, D), ``version_code`` (bits 2–7)."""

    value: int
    ack_requested: bool
    split: bool
    version_code: int

    @classmethod
    def of(cls, value: int) -> FlagBits:
        return cls(value, bool(value & _FLAG_A), bool(value & _FLAG_D), value >> 2)


CpGroups = tuple[tuple[tuple[str, str], ...], ...]


@dataclass(frozen=True)
class Packet:
    """One decoded HJ 212 packet, as it is on the wire (``encode`` writes it back).

    ``cp`` keeps every CP item as sent, grouped as sent: a tuple of groups, each a tuple of
    ``(key, value)`` strings. ``header_extra`` holds header fields the standards do not define.
    Derived views (version, flags, times, kind) are properties.
    """

    st: str
    cn: str
    mn: str
    pw: str | None = None
    qn: str | None = None
    flag: int | None = None
    pnum: int | None = None
    pno: int | None = None
    cp: CpGroups = ()
    header_extra: tuple[tuple[str, str], ...] = ()

    # -- the Flag field ---------------------------------------------------------------------------
    @property
    def flag_bits(self) -> FlagBits | None:
        return None if self.flag is None else FlagBits.of(self.flag)

    @property
    def version(self) -> str | None:
        """``"2005"``, ``"2017"`` or ``"2025"`` (Flag bits 2–7; 2005 without Flag); ``None`` if unknown."""
        if self.flag is None:
            return codes.DEFAULT_VERSION
        return codes.VERSIONS.get(self.flag >> 2)

    @property
    def version_source(self) -> str:
        """How :attr:`version` was found."""
        if self.flag is None:
            return "no Flag field: HJ/T 212-2005, which made it optional"
        return f"Flag={self.flag}: bits 2-7 = {self.flag >> 2}"

    @property
    def ack_requested(self) -> bool:
        return bool(self.flag is not None and self.flag & _FLAG_A)

    @property
    def is_split(self) -> bool:
        """Part of a split packet (``PNUM``/``PNO`` present)."""
        return self.pnum is not None

    # -- command ----------------------------------------------------------------------------------
    @property
    def command_name(self) -> str | None:
        return codes.command(self.cn)[0]

    @property
    def kind(self) -> str:
        """data, status, alarm, reply, heartbeat, request or other (from CN, :data:`codes.COMMANDS`)."""
        return codes.command(self.cn)[1]

    @property
    def period(self) -> str | None:
        """rtd, minute, hour or day for data packets (CN 2011, 2051, 2061, 2031)."""
        return codes.command(self.cn)[2]

    # -- CP ---------------------------------------------------------------------------------------
    @cached_property
    def fields(self) -> dict[str, str]:
        """CP items without a code (``DataTime``, ``QN``, ``QnRtn``, ``ExeRtn``, ``RtdInterval``…); first wins."""
        out: dict[str, str] = {}
        for group in self.cp:
            for key, value in group:
                if not _is_item(key):
                    out.setdefault(key, value)
        return out

    def items(self) -> Iterator[tuple[int, str, str, str]]:
        """Every ``code-Suffix=value`` item: ``(group_index, code, suffix, value)``."""
        for gi, group in enumerate(self.cp):
            for key, value in group:
                cs = _split_key(key)
                if cs is not None:
                    yield gi, cs[0], cs[1], value

    @property
    def codes_seen(self) -> tuple[str, ...]:
        """Distinct item codes in order of appearance."""
        return tuple(dict.fromkeys(c for _, c, _, _ in self.items()))

    @property
    def code_dialect(self) -> str:
        """Which code table the items use: 2017, 2005, mixed (both, as some devices send), vendor or none."""
        kinds = set()
        for c in self.codes_seen:
            if c in codes.POLLUTANTS:
                kinds.add("2017")
            elif c in codes.CODES_2005:
                kinds.add("2005")
            else:
                kinds.add("vendor")
        known = kinds - {"vendor"}
        if len(known) == 2:
            return "mixed"
        if known:
            return known.pop()
        return "vendor" if kinds else "none"

    # -- times ------------------------------------------------------------------------------------
    @cached_property
    def qn_time(self) -> Stamp | None:
        """``QN`` (request number = send time, ms) as sent and in UTC."""
        return None if self.qn is None else parse_stamp(self.qn)

    @cached_property
    def data_time(self) -> Stamp | None:
        """``DataTime`` of the CP (the start of the interval for minute/hour/day data)."""
        raw = self.fields.get("DataTime")
        return None if raw is None else parse_stamp(raw)

    # -- replies ----------------------------------------------------------------------------------
    @property
    def reply(self) -> dict[str, str | None] | None:
        """For 9011/9012/9013/9014: the QN answered and the return code with its meaning."""
        if self.cn not in codes.REPLY_CNS:
            return None
        f = self.fields
        out: dict[str, str | None] = {"qn": f.get("QN")}
        if "QnRtn" in f:
            out |= {"QnRtn": f["QnRtn"], "meaning": codes.QN_RTN.get(f["QnRtn"])}
        if "ExeRtn" in f:
            out |= {"ExeRtn": f["ExeRtn"], "meaning": codes.EXE_RTN.get(f["ExeRtn"])}
        return out


def _is_item(key: str) -> bool:
    """``code-Suffix`` (a dash, not first or last) rather than a plain field such as ``DataTime``."""
    return "-" in key and key[0] != "-" and key[-1] != "-"


def _split_key(key: str) -> tuple[str, str] | None:
    """``(code, suffix)`` split at the last dash, or ``None`` for a plain field."""
    if not _is_item(key):
        return None
    code, _, suffix = key.rpartition("-")
    return code, suffix


@dataclass(frozen=True)
class DecodeResult:
    """A packet decoded (``packet``), or rejected with ``reason`` (see :data:`frame.REASONS`) and ``detail``."""

    raw: bytes
    packet: Packet | None
    reason: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.packet is not None


class PacketError(ValueError):
    """A data segment that is not a valid HJ 212 packet; ``reason`` is syntax or unknown_version."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _syntax(detail: str) -> PacketError:
    return PacketError(REASON_SYNTAX, detail)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gbk", errors="replace")  # Chinese device info fields are often GBK


def _int_field(name: str, value: str, lo: int, hi: int) -> int:
    if not value.isdigit() or not lo <= int(value) <= hi:
        raise _syntax(f"{name}={value!r} is not an integer in {lo}..{hi}")
    return int(value)


def decode_data_segment(data: bytes | str) -> Packet:
    """Parse a data segment (already length- and CRC-checked) into a :class:`Packet`.

    Raises :class:`PacketError` (``reason`` syntax or unknown_version) naming what is wrong.
    """
    text = _text(data) if isinstance(data, bytes) else data
    i = text.find("CP=&&")
    if i < 0:
        raise _syntax("no CP=&& in the data segment")
    head, cp_text = text[:i], text[i + 5:]
    if head and not head.endswith(";"):
        raise _syntax(f"header does not end with ';' before CP: {head[-20:]!r}")
    if not cp_text.endswith("&&"):
        raise _syntax(f"CP does not end with &&: {cp_text[-20:]!r}")
    cp_text = cp_text[:-2]
    header: dict[str, str] = {}
    for part in head.split(";"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise _syntax(f"header field {part!r} is not key=value")
        if key in header:
            raise _syntax(f"header field {key} given twice")
        header[key] = value
    for key in ("ST", "CN", "MN"):
        if not header.get(key):
            raise _syntax(f"header field {key} is missing or empty")
    cn = header["CN"]
    if len(cn) != 4 or not cn.isdigit():
        raise _syntax(f"CN={cn!r} is not a 4-digit command code")
    flag = pnum = pno = None
    if "Flag" in header:
        flag = _int_field("Flag", header["Flag"], 0, 255)
        if codes.VERSIONS.get(flag >> 2) is None:
            raise PacketError(REASON_VERSION, f"Flag={flag}: bits 2-7 = {flag >> 2} name no known version "
                              f"(0 = 2005, 1 = 2017, 2 = 2025)")
    if "PNUM" in header or "PNO" in header:
        if "PNUM" not in header or "PNO" not in header:
            raise _syntax("PNUM and PNO must come together")
        pnum = _int_field("PNUM", header["PNUM"], 1, 9999)
        pno = _int_field("PNO", header["PNO"], 1, pnum)
    elif flag is not None and flag & _FLAG_D:
        raise _syntax(f"Flag={flag} marks a split packet (D) but PNUM/PNO are missing")
    qn = header.get("QN")
    if qn is not None:
        try:
            parse_stamp(qn)
        except ValueError as e:
            raise _syntax(f"QN: {e}") from None
        if len(qn) != 17:
            raise _syntax(f"QN={qn!r} is not yyyyMMddHHmmsszzz")
    groups = []
    fields: dict[str, str] = {}
    for gtext in cp_text.split(";"):
        if not gtext:
            continue
        group = []
        for item in gtext.split(","):
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise _syntax(f"CP item {item[:40]!r} is not key=value")
            group.append((key, value))
            if ("-" not in key or key[0] == "-" or key[-1] == "-") and key not in fields:  # _is_item, inlined
                fields[key] = value
        groups.append(tuple(group))
    extra = tuple((k, v) for k, v in header.items() if k not in _HEADER_ORDER)
    pkt = Packet(st=header["ST"], cn=cn, mn=header["MN"], pw=header.get("PW"), qn=qn, flag=flag,
                 pnum=pnum, pno=pno, cp=tuple(groups), header_extra=extra)
    pkt.__dict__["fields"] = fields  # fill the cached property: the same dict it would compute
    if "DataTime" in fields:
        try:
            pkt.data_time  # noqa: B018 - validate (and cache) the time now
        except ValueError as e:
            raise _syntax(f"DataTime: {e}") from None
    return pkt


def decode(raw: bytes | str | FrameResult, *, require_crlf: bool = False) -> DecodeResult:
    """Check a frame (length, CRC; see :func:`check_frame`) and decode its packet.

    Every input is decoded or rejected: the result has the :class:`Packet`, or the reason
    (:data:`frame.REASONS`) and a detail naming what is wrong.
    """
    fr = raw if isinstance(raw, FrameResult) else check_frame(raw, require_crlf=require_crlf)
    if not fr.ok:
        return DecodeResult(fr.raw, None, fr.reason, fr.detail)
    try:
        return DecodeResult(fr.raw, decode_data_segment(fr.data))
    except PacketError as e:
        return DecodeResult(fr.raw, None, e.reason, e.detail)


# -- writing ---------------------------------------------------------------------------------------
def data_segment(packet: Packet) -> str:
    """The data segment of ``packet``: header fields in the standard's order, then ``CP=&&…&&``."""
    head = {"QN": packet.qn, "ST": packet.st, "CN": packet.cn, "PW": packet.pw, "MN": packet.mn,
            "Flag": packet.flag, "PNUM": packet.pnum, "PNO": packet.pno}
    parts = [f"{k}={v}" for k, v in head.items() if v is not None]
    parts += [f"{k}={v}" for k, v in packet.header_extra]
    cp = ";".join(",".join(f"{k}={v}" for k, v in g) for g in packet.cp)
    return ";".join(parts) + ";CP=&&" + cp + "&&"


def encode(packet: Packet, *, crlf: bool = True) -> bytes:
    """A valid frame for ``packet`` (length, CRC, CRLF): what :func:`decode` reads back."""
    return encode_frame(data_segment(packet), crlf=crlf)


def format_value(v: object) -> str:
    """A CP value as text: numbers in plain decimal (no exponent), anything else as ``str``."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        if not np.isfinite(v):
            raise ValueError(f"HJ 212 values are finite numbers, not {v!r}")
        return np.format_float_positional(float(v), trim="-")
    return str(v)


def make_packet(*, st: str, cn: str, mn: str, pw: str = "123456", version: str = "2017",
                qn: datetime | str | None = None, ack: bool = False, data_time: datetime | str | None = None,
                values: Mapping[str, Mapping[str, object]] | None = None,
                fields: Mapping[str, object] | None = None) -> Packet:
    """Build a packet (for the simulator and tests): one CP group per pollutant.

    ``values`` maps a code to its suffixes, e.g. ``{"a21026": {"Rtd": 12.3, "Flag": "N"}}``;
    ``fields`` adds plain CP items after ``DataTime``. Times: aware datetimes are converted to
    Asia/Shanghai, naive ones are taken as local time. ``version`` sets Flag bits 2–7 (and
    ``ack`` bit 0); ``version="2005"`` with ``ack=False`` still writes ``Flag=0``.
    """
    vcode = {v: k for k, v in codes.VERSIONS.items()}.get(version)
    if vcode is None:
        raise ValueError(f"version {version!r}: one of {', '.join(codes.VERSIONS.values())}")
    if isinstance(qn, datetime):
        qn = format_stamp(qn, ms=True)
    first: list[tuple[str, str]] = []
    if data_time is not None:
        first.append(("DataTime", data_time if isinstance(data_time, str) else format_stamp(data_time)))
    first += [(k, format_value(v)) for k, v in (fields or {}).items()]
    groups = [tuple(first)] if first else []
    for code, sfx in (values or {}).items():
        groups.append(tuple((f"{code}-{s}", format_value(v)) for s, v in sfx.items()))
    return Packet(st=st, cn=cn, mn=mn, pw=pw, qn=qn, flag=(vcode << 2) | (_FLAG_A if ack else 0),
                  cp=tuple(g for g in groups if g))


def make_reply(request: Packet, cn: str = "9014", **fields: object) -> Packet:
    """A reply (9011 request answer, 9012 execution result, 9013 notice, 9014 data answer) to ``request``.

    The reply echoes the request's QN in its CP (``QN=…``), as the standards require, with
    ``fields`` such as ``QnRtn=1`` or ``ExeRtn=1``; its header ST is 91 (system interaction).
    """
    if cn not in codes.REPLY_CNS:
        raise ValueError(f"CN {cn}: replies are {', '.join(sorted(codes.REPLY_CNS))}")
    cp = [("QN", request.qn)] if request.qn else []
    cp += [(k, format_value(v)) for k, v in fields.items()]
    flag = None if request.flag is None else (request.flag & ~(_FLAG_A | _FLAG_D))
    return Packet(st="91", cn=cn, mn=request.mn, pw=request.pw, qn=request.qn, flag=flag,
                  cp=(tuple(cp),) if cp else ())


def split_packet(packet: Packet, groups_per_part: int) -> list[Packet]:
    """Split ``packet`` into parts of at most ``groups_per_part`` item groups (PNUM/PNO, Flag D).

    Groups without items (``DataTime``…) are repeated in every part, so each part stands alone.
    """
    if groups_per_part < 1:
        raise ValueError("groups_per_part must be at least 1")
    lead = tuple(g for g in packet.cp if not any(_is_item(k) for k, _ in g))
    body = [g for g in packet.cp if g not in lead]
    chunks = [body[i:i + groups_per_part] for i in range(0, len(body), groups_per_part)] or [[]]
    flag = (packet.flag or 0) | _FLAG_D
    return [replace(packet, flag=flag, pnum=len(chunks), pno=i + 1, cp=lead + tuple(c))
            for i, c in enumerate(chunks)]


# -- reassembly ------------------------------------------------------------------------------------
@dataclass
class SplitGroup:
    """The parts received so far of one split packet, keyed by ``(mn, qn)``."""

    mn: str
    qn: str | None
    pnum: int
    parts: dict[int, Packet] = field(default_factory=dict)
    duplicates: int = 0

    @property
    def missing(self) -> list[int]:
        return [i for i in range(1, self.pnum + 1) if i not in self.parts]

    @property
    def complete(self) -> bool:
        return not self.missing

    def merged(self) -> Packet:
        """One packet with every part's CP in PNO order (repeated item-less groups once); no PNUM/PNO, no D."""
        first = self.parts[min(self.parts)]
        groups: list[tuple[tuple[str, str], ...]] = []
        seen_lead = set()
        for i in sorted(self.parts):
            for g in self.parts[i].cp:
                if not any(_is_item(k) for k, _ in g):
                    if g in seen_lead:
                        continue
                    seen_lead.add(g)
                groups.append(g)
        flag = None if first.flag is None else first.flag & ~_FLAG_D
        return replace(first, flag=flag, pnum=None, pno=None, cp=tuple(groups))


class Reassembler:
    """Join split packets (PNUM > 1) into one, keyed by ``(MN, QN)``.

    ``add(packet)`` returns the packet itself when it is not split, the merged packet when its
    last part arrives, else ``None``. At most ``max_pending`` groups wait; beyond that the oldest
    is given up. Given-up groups (and, with ``all_pending=True``, every waiting one) come back
    from :meth:`drain`, and :attr:`duplicates` counts parts received twice, so no part is lost
    silently.
    """

    def __init__(self, *, max_pending: int = 1024) -> None:
        self.max_pending = max_pending
        self._pending: OrderedDict[tuple[str, str | None], SplitGroup] = OrderedDict()
        self._given_up: list[SplitGroup] = []
        self.duplicates = 0  # parts received again (same MN, QN, PNO): the first is kept

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, packet: Packet) -> Packet | None:
        if not packet.is_split or packet.pnum == 1:
            return replace(packet, pnum=None, pno=None, flag=None if packet.flag is None
                           else packet.flag & ~_FLAG_D) if packet.is_split else packet
        key = (packet.mn, packet.qn)
        group = self._pending.get(key)
        if group is None or group.pnum != packet.pnum:
            if group is not None:  # same key, different PNUM: a new transmission
                self._given_up.append(self._pending.pop(key))
            group = self._pending[key] = SplitGroup(packet.mn, packet.qn, packet.pnum)
            while len(self._pending) > self.max_pending:
                self._given_up.append(self._pending.popitem(last=False)[1])
        if packet.pno in group.parts:
            group.duplicates += 1
            self.duplicates += 1
        else:
            group.parts[packet.pno] = packet
        if group.complete:
            del self._pending[key]
            return group.merged()
        return None

    def drain(self, *, all_pending: bool = False) -> list[SplitGroup]:
        """Groups given up (and every waiting group when ``all_pending``), removed from the reassembler."""
        out, self._given_up = self._given_up, []
        if all_pending:
            out += list(self._pending.values())
            self._pending.clear()
        return out
