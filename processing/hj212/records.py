"""HJ 212 packets as tables: the tidy records frame, the rejected frame, and logged packet files.

:func:`records_frame` turns packets into one row per station × time × pollutant × suffix
(:data:`RECORD_COLUMNS`): the value as a float (``value``, NaN when not numeric) and as sent
(``value_text``), and the data flag (``flag``, N F M S D C T B, P in 2005) and equipment flag
(``eflag``) of that pollutant in its CP group — so an alarm rule pivots ``suffix`` (Rtd, Avg,
Min, Max, Cou, ZsRtd…) per pollutant and time and reads the flag beside it. 2005 codes are
mapped to their 2017 code (``pollutant_code_2017``); vendor and unknown codes are kept as sent
with no name or unit. A flag with no value in its group becomes a row of suffix ``Flag``.

:func:`values_wide` pivots it to a column per suffix and the flag, per station, time and pollutant.

:func:`read_hj212_file` reads a logged packet file (one packet a line, ``.gz`` too): every line
is decoded or rejected with its reason (:data:`REJECTED_COLUMNS`), with the counts in
:class:`HJ212FileStats`.
"""

from __future__ import annotations

import gzip
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecopatrol.core.errors import FormatError, InputFileNotFoundError
from ..readers._safe import MAX_INPUT_BYTES, check_size
from . import codes
from .frame import REASONS
from .packet import Packet, Reassembler, decode

log = logging.getLogger(__name__)

RECORD_COLUMNS = ("packet_index", "mn", "st", "cn", "kind", "period", "version", "qn", "data_time_raw",
                  "data_time_utc", "pollutant_code", "pollutant_code_2017", "pollutant_name",
                  "pollutant_name_zh", "unit", "suffix", "value", "value_text", "flag", "eflag")
REJECTED_COLUMNS = ("file", "line", "reason", "detail", "mn", "raw")

_MN = re.compile(rb"MN=([^;&]*)")


def _pollutant_columns(code: str, suffix: str, st: str, cache: dict) -> tuple:
    key = (code, suffix, st)
    hit = cache.get(key)
    if hit is None:
        p = codes.pollutant(code)
        c17 = p.code if p else None
        hit = cache[key] = (c17, p.name if p else None, p.name_zh if p else None, codes.item_unit(c17, suffix, st))
    return hit


def _group_rows(i: int, group: tuple, cols: tuple[list, ...]) -> None:
    """Append one CP group's rows to the column lists ``(packet, code, suffix, value, flag, eflag)``;
    a group's flags apply to that group's values of the same code."""
    pos, code_l, suffix_l, text_l, flag_l, eflag_l = cols
    flags = eflags = None
    n0 = len(code_l)
    for key, value in group:
        if "-" not in key or key[0] == "-" or key[-1] == "-":
            continue  # a plain field (DataTime, QnRtn…): in Packet.fields
        code, _, suffix = key.rpartition("-")
        if suffix == "Flag":
            flags = flags or {}
            flags.setdefault(code, value)
        elif suffix == "EFlag":
            eflags = eflags or {}
            eflags.setdefault(code, value)
        else:
            code_l.append(code)
            suffix_l.append(suffix)
            text_l.append(value)
    n = len(code_l) - n0
    pos.extend([i] * n)
    if flags is None and eflags is None:
        flag_l.extend([None] * n)
        eflag_l.extend([None] * n)
        return
    flags, eflags = flags or {}, eflags or {}
    valued = code_l[n0:]
    flag_l.extend([flags.get(c) for c in valued])
    eflag_l.extend([eflags.get(c) for c in valued])
    valued = set(valued)
    for c in dict.fromkeys([*flags, *eflags]):
        if c not in valued:  # a flag without a value in its group: kept as a row of its own
            fl = flags.get(c)
            for lst, v in zip(cols, (i, c, "Flag" if fl is not None else "EFlag",
                                     fl if fl is not None else eflags[c], fl, eflags.get(c))):
                lst.append(v)


def _obj(values) -> pd.Series:
    return pd.Series(values, dtype=object)


def records_frame(packets: Sequence[Packet], *, packet_index: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per ``code-Suffix`` item of ``packets`` (columns :data:`RECORD_COLUMNS`).

    ``packet_index`` numbers the packets (default 0, 1, …; :func:`read_hj212_file` passes line
    numbers). ``data_time_utc`` is the packet's ``DataTime`` in UTC (NaT without one). Text
    columns are ``object`` (``None`` where absent), ``value`` float, ``data_time_utc`` UTC.
    """
    idx = np.arange(len(packets)) if packet_index is None else np.asarray(packet_index, dtype=np.int64)
    cols: tuple[list, ...] = ([], [], [], [], [], [])
    for i, p in enumerate(packets):
        for group in p.cp:
            _group_rows(i, group, cols)
    pos, code, suffix, text, flag, eflag = cols
    pos = np.asarray(pos, dtype=np.int64)
    st_of = [p.st for p in packets]
    cache: dict = {}
    info = [_pollutant_columns(c, s, st_of[k], cache) for c, s, k in zip(code, suffix, pos)]
    c17, name, name_zh, unit = (list(c) for c in zip(*info)) if info else ([] for _ in range(4))
    dts = [p.data_time for p in packets]
    per_packet = {
        "mn": [p.mn for p in packets], "st": st_of, "cn": [p.cn for p in packets],
        "kind": [p.kind for p in packets], "period": [p.period for p in packets],
        "version": [p.version for p in packets], "qn": [p.qn for p in packets],
        "data_time_raw": [d.raw if d else None for d in dts],
    }
    out = {"packet_index": pd.Series(idx.astype(np.int64)[pos])}
    out |= {k: _obj(np.asarray(v, dtype=object)[pos]) for k, v in per_packet.items()}
    out["data_time_utc"] = pd.Series(pd.DatetimeIndex([d.utc if d else pd.NaT for d in dts],
                                                      dtype="datetime64[ns, UTC]")[pos])
    out |= {"pollutant_code": _obj(code), "pollutant_code_2017": _obj(c17), "pollutant_name": _obj(name),
            "pollutant_name_zh": _obj(name_zh), "unit": _obj(unit), "suffix": _obj(suffix),
            "value": pd.to_numeric(_obj(text), errors="coerce").astype(float),
            "value_text": _obj(text), "flag": _obj(flag), "eflag": _obj(eflag)}
    return pd.DataFrame(out, columns=list(RECORD_COLUMNS))


_SUFFIX_ORDER = ("Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax", "ZsCou")
WIDE_KEYS = ("mn", "st", "cn", "period", "data_time_utc", "pollutant_code", "pollutant_code_2017", "pollutant_name")


def values_wide(records: pd.DataFrame) -> pd.DataFrame:
    """One row per station × command × time × pollutant, a column per suffix, and the flag.

    From :func:`records_frame`'s rows: :data:`WIDE_KEYS`, ``packet_index`` (of the first row), then
    ``Rtd``, ``Avg``, ``Min``, ``Max``, ``Cou``, ``ZsRtd``… (those present, float; other suffixes
    after them), ``flag`` and ``eflag`` (the first given for that pollutant in the packet). What an alarm rule reads: "hourly ``Avg`` of a21026 above the limit
    with flag N". An item sent twice in one packet keeps its first value.
    """
    keys = list(WIDE_KEYS)
    values = records[~records["suffix"].isin(["Flag", "EFlag"])]
    wide = (values.groupby(keys + ["suffix"], dropna=False, sort=False)["value"].first()
            .unstack("suffix"))
    wide = wide[[c for c in _SUFFIX_ORDER if c in wide.columns] + [c for c in wide.columns if c not in _SUFFIX_ORDER]]
    wide.columns.name = None
    flags = records.groupby(keys, dropna=False, sort=False)[["packet_index", "flag", "eflag"]].first()
    out = flags.join(wide, how="left").reset_index()
    return out[keys + ["packet_index"] + list(wide.columns) + ["flag", "eflag"]]


@dataclass
class HJ212FileStats:
    """What :func:`read_hj212_file` found: every line is a packet that was accepted or rejected.

    ``lines`` counts packet lines (blank lines apart, in ``blank_lines``); ``accepted`` +
    ``rejected`` == ``lines``. ``rejected_by_reason`` has every reason of :data:`frame.REASONS`
    (0 when none). ``stations`` counts distinct MN of accepted packets; ``records`` the rows of
    the records frame. ``split_packets`` parts of split packets were read and ``split_joined`` of
    them joined into whole packets (``split_duplicates`` parts came twice: the first is kept);
    ``split_incomplete`` groups stayed incomplete, and their parts still give their records.
    """

    path: str
    lines: int = 0
    blank_lines: int = 0
    accepted: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    stations: int = 0
    records: int = 0
    by_cn: dict[str, int] = field(default_factory=dict)
    by_version: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    split_packets: int = 0
    split_joined: int = 0
    split_incomplete: int = 0
    split_duplicates: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _read_bytes(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The file's bytes, gunzipped when it is gzip; refused beyond ``max_bytes`` (a gzip bomb too)."""
    check_size(path, max_bytes=max_bytes)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic != b"\x1f\x8b":
        return path.read_bytes()
    with gzip.open(path, "rb") as fh:
        try:
            data = fh.read(max_bytes + 1)
        except (OSError, EOFError) as e:
            raise FormatError(f"`{path.name}`: a broken gzip file ({e}); copy it again") from e
    if len(data) > max_bytes:
        raise FormatError(f"`{path.name}`: decompresses to more than {max_bytes / 1e9:.1f} GB; split the log")
    return data


def read_hj212_file(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, HJ212FileStats]:
    """Read a logged HJ 212 file (one packet a line, gzip detected from the content).

    Returns ``(records, rejected, stats)``: the records frame of the accepted packets
    (:func:`records_frame`, ``packet_index`` = 1-based line number), one rejected row per bad
    line (:data:`REJECTED_COLUMNS`: file, line, reason, detail, the MN when it can be read, the
    raw line), and :class:`HJ212FileStats`.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileNotFoundError(f"`{p}`: no such HJ 212 packet file")
    lines = _read_bytes(p).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stats = HJ212FileStats(path=str(p))
    packets: list[Packet] = []
    line_no: list[int] = []
    rejected: list[tuple] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            stats.blank_lines += 1
            continue
        res = decode(line)
        if res.ok:
            packets.append(res.packet)
            line_no.append(n)
        else:
            m = _MN.search(res.raw)
            rejected.append((p.name, n, res.reason, res.detail, m.group(1).decode("latin-1") if m else None,
                             res.raw.decode("utf-8", errors="replace")))
    stats.lines = len(lines) - stats.blank_lines
    stats.accepted, stats.rejected = len(packets), len(rejected)
    reasons = Counter(r[2] for r in rejected)
    stats.rejected_by_reason = {r: reasons.get(r, 0) for r in REASONS}
    stats.by_cn = dict(Counter(pk.cn for pk in packets).most_common())
    stats.by_version = dict(Counter(pk.version for pk in packets).most_common())
    stats.by_kind = dict(Counter(pk.kind for pk in packets).most_common())
    stats.stations = len({pk.mn for pk in packets})
    packets, line_no = _join_splits(packets, line_no, stats)
    records = records_frame(packets, packet_index=line_no)
    stats.records = len(records)
    rej = pd.DataFrame.from_records(rejected, columns=list(REJECTED_COLUMNS)) if rejected else \
        pd.DataFrame({c: pd.Series(dtype="int64" if c == "line" else object) for c in REJECTED_COLUMNS})
    log.info("%s: %d packets, %d accepted, %d rejected (%s), %d stations, %d records", p.name, stats.lines,
             stats.accepted, stats.rejected, ", ".join(f"{k} {v}" for k, v in reasons.items()) or "none",
             stats.stations, stats.records)
    return records, rej, stats


def _join_splits(packets: Iterable[Packet], line_no: Sequence[int],
                 stats: HJ212FileStats) -> tuple[list[Packet], list[int]]:
    """Join split packets (a joined packet keeps the line of its first part received); the parts of
    a group that stays incomplete are kept as they are, each with its own line."""
    out: list[Packet] = []
    lines: list[int] = []
    asm = Reassembler(max_pending=1 << 30)  # a file is finite: wait for every part until the end
    part_line: dict[tuple, int] = {}
    first_line: dict[tuple, int] = {}
    for pk, n in zip(packets, line_no):
        split = pk.is_split and pk.pnum > 1
        if split:
            stats.split_packets += 1
            part_line.setdefault((pk.mn, pk.qn, pk.pno), n)
            first_line.setdefault((pk.mn, pk.qn), n)
        whole = asm.add(pk)
        if whole is None:
            continue
        out.append(whole)
        lines.append(first_line.pop((pk.mn, pk.qn)) if split else n)
        if split:
            stats.split_joined += pk.pnum
    stats.split_duplicates = asm.duplicates
    for group in asm.drain(all_pending=True):
        stats.split_incomplete += 1
        for i in sorted(group.parts):
            out.append(group.parts[i])
            lines.append(part_line[(group.mn, group.qn, i)])
    return out, lines
