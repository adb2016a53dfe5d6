"""HJ 212 codec: frames, CRC, packets, replies, split packets, the streaming framer, records, files.

Real data (skipped without ../shared/data): two hours of real HJ/T 212-2005 traffic from 284
Hebei stations and 13 published packets, each decoded field by field.
"""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecopatrol.core.errors import InputFileNotFoundError
from ecopatrol.processing.hj212 import (
    LOCAL_TZ, RECORD_COLUMNS, REJECTED_COLUMNS, Packet, Reassembler, StreamFramer, check_frame, crc16_hj212,
    data_segment, decode, encode, encode_frame, make_packet, make_reply, read_hj212_file, records_frame,
    split_packet, values_wide,
)
from ecopatrol.processing.hj212 import codes

STANDARD_EXAMPLE = ("QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
                    "CP=&&RtdInterval=30&&")
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def crc_bitwise(data: bytes) -> int:
    """The standard's algorithm written out bit by bit (appendix A), as the reference."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def crc_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def frame_of(data: str) -> bytes:
    return b"##%04d%s%04X\r\n" % (len(data), data.encode(), crc_bitwise(data.encode()))


# -- CRC and frames -------------------------------------------------------------------------------
def test_crc_of_the_standards_example_is_1c80_not_modbus():
    data = STANDARD_EXAMPLE.encode()
    assert crc16_hj212(data) == 0x1C80
    assert crc_modbus(data) == 0x0759  # what a CRC-16/MODBUS implementation would (wrongly) write
    assert encode_frame(STANDARD_EXAMPLE) == b"##0101" + data + b"1C80\r\n"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=300))
def test_table_crc_equals_the_bitwise_algorithm(data):
    assert crc16_hj212(data) == crc_bitwise(data)


def test_check_frame_accepts_either_hex_case_and_no_crlf():
    f = encode_frame(STANDARD_EXAMPLE)
    for raw in (f, f[:-2], f.replace(b"1C80", b"1c80"), f[:-2] + b"\n"):
        r = check_frame(raw)
        assert r.ok and r.data == STANDARD_EXAMPLE.encode() and r.declared_length == 101
        assert r.crc_declared == r.crc_computed == 0x1C80
    assert not check_frame(f[:-2], require_crlf=True).ok
    assert check_frame(f, require_crlf=True).ok


@pytest.mark.parametrize("raw, reason, says", [
    (b"QN=1;ST=32##", "framing", "does not start with ##"),
    (b"##01a1QN=...", "framing", "4-digit length"),
    (b"##0102" + STANDARD_EXAMPLE.encode() + b"1C80", "length_mismatch", "says 102 bytes, the data segment has 101"),
    (b"##0100" + STANDARD_EXAMPLE.encode() + b"1C80", "length_mismatch", "too long"),
    (b"##0101" + STANDARD_EXAMPLE.encode() + b"1CX0", "framing", "not 4 hex digits"),
    (b"##0101" + STANDARD_EXAMPLE.encode() + b"1C81", "crc_mismatch", "gives 1C80"),
])
def test_check_frame_rejects_with_the_reason(raw, reason, says):
    r = check_frame(raw)
    assert not r.ok and r.reason == reason and says in r.detail, r.detail


def test_encode_frame_refuses_a_data_segment_longer_than_9999_bytes():
    with pytest.raises(ValueError, match="PNUM/PNO"):
        encode_frame("x" * 10000)


# -- packets: header, Flag, times, CP ---------------------------------------------------------------
def test_standard_example_decodes_field_by_field():
    p = decode(encode_frame(STANDARD_EXAMPLE)).packet
    assert (p.qn, p.st, p.cn, p.pw, p.mn, p.flag) == ("20160801085857223", "32", "1062", "100000",
                                                      "010000A8900016F000169DC0", 5)
    assert p.version == "2017" and p.ack_requested and not p.is_split
    assert p.flag_bits.version_code == 1 and p.flag_bits.ack_requested and not p.flag_bits.split
    assert p.fields == {"RtdInterval": "30"} and p.kind == "request"
    assert p.qn_time.local == datetime(2016, 8, 1, 8, 58, 57, 223000, tzinfo=LOCAL_TZ)
    assert p.qn_time.utc == datetime(2016, 8, 1, 0, 58, 57, 223000, tzinfo=UTC)
    assert p.qn_time.raw == "20160801085857223"
    assert data_segment(p) == STANDARD_EXAMPLE and encode(p) == encode_frame(STANDARD_EXAMPLE)


@pytest.mark.parametrize("flag, version, ack, split", [
    (None, "2005", False, False), (0, "2005", False, False), (1, "2005", True, False),
    (4, "2017", False, False), (5, "2017", True, False), (8, "2025", False, False), (9, "2025", True, False),
])
def test_flag_bits_give_version_and_ack(flag, version, ack, split):
    flag_s = "" if flag is None else f"Flag={flag};"
    p = decode(frame_of(f"ST=32;CN=2011;PW=123456;MN=M1;{flag_s}CP=&&&&")).packet
    assert (p.version, p.ack_requested, p.is_split) == (version, ack, split)
    assert ("no Flag" in p.version_source) == (flag is None)


@pytest.mark.parametrize("data, reason, says", [
    ("ST=32;CN=2011;PW=1;MN=M1;Flag=12;CP=&&&&", "unknown_version", "bits 2-7 = 3"),
    ("ST=32;CN=2011;PW=1;MN=M1;Flag=256;CP=&&&&", "syntax", "Flag"),
    ("ST=32;CN=2011;PW=1;MN=M1;Flag=x;CP=&&&&", "syntax", "Flag"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=1&&", "syntax", "DataTime"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime=20161324000000&&", "syntax", "DataTime"),
    ("QN=2016;ST=32;CN=2011;PW=1;MN=M1;CP=&&&&", "syntax", "QN"),
    ("QN=20160824000000;ST=32;CN=2011;PW=1;MN=M1;CP=&&&&", "syntax", "QN"),
    ("ST=32;CN=2011;PW=1;CP=&&&&", "syntax", "MN is missing"),
    ("ST=32;CN=201;PW=1;MN=M1;CP=&&&&", "syntax", "CN"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&a21026-Rtd=1", "syntax", "end with &&"),
    ("ST=32;CN=2011;PW=1;MN=M1;CP=&&a21026-Rtd&&", "syntax", "key=value"),
    ("ST=32;CN=2011;PW=1;MN=M1;", "syntax", "CP=&&"),
    ("ST=32;CN=2011;CN=2011;MN=M1;CP=&&&&", "syntax", "twice"),
    ("ST=32;CN=2011;MN=M1;Flag=6;CP=&&&&", "syntax", "PNUM/PNO are missing"),
    ("ST=32;CN=2011;MN=M1;Flag=6;PNUM=2;PNO=3;CP=&&&&", "syntax", "PNO"),
])
def test_bad_packets_are_rejected_with_reason_and_detail(data, reason, says):
    r = decode(frame_of(data))
    assert not r.ok and r.reason == reason and says in r.detail, r.detail


def test_data_time_with_or_without_milliseconds_is_local_time():
    for raw in ("20160824041709", "20160824041709000"):
        p = decode(frame_of(f"ST=32;CN=2011;PW=1;MN=M1;CP=&&DataTime={raw};011-Rtd=1&&")).packet
        assert p.data_time.raw == raw
        assert p.data_time.utc == datetime(2016, 8, 23, 20, 17, 9, tzinfo=UTC)


def test_records_keep_flags_in_their_group_and_every_item():
    data = ("ST=31;CN=2011;PW=1;MN=M1;CP=&&DataTime=20160824040340000;B02-Rtd=37.45;01-Rtd=3.56,01-Flag=N;"
            "01-ZsRtd=3.07,01-Flag=D;S01-Rtd=7.4,S01-Flag=N;a24088-Flag=F;100000-Pa_ave=0.39,100000-Flag=N;"
            "a21026-Rtd=abc,a21026-EFlag=A1&&")
    r = records_frame([decode(frame_of(data)).packet])
    assert list(r.columns) == list(RECORD_COLUMNS)
    row = {(c, s): x for c, s, x in zip(r.pollutant_code, r.suffix, r.itertuples())}
    assert row["B02", "Rtd"].pollutant_code_2017 == "a00000" and row["B02", "Rtd"].flag is None
    assert row["B02", "Rtd"].unit == "m3/s" and row["B02", "Rtd"].value == 37.45
    assert row["01", "Rtd"].flag == "N" and row["01", "ZsRtd"].flag == "D"  # each group its own flag
    assert row["01", "Rtd"].pollutant_name == "dust (smoke)" and row["01", "Rtd"].unit == "mg/m3"
    assert row["S01", "Rtd"].pollutant_code_2017 == "a19001" and row["S01", "Rtd"].unit == "%"
    assert row["a24088", "Flag"].value_text == "F" and np.isnan(row["a24088", "Flag"].value)  # a lone flag
    assert row["100000", "Pa_ave"].pollutant_code_2017 is None and row["100000", "Pa_ave"].value == 0.39
    assert np.isnan(row["a21026", "Rtd"].value) and row["a21026", "Rtd"].value_text == "abc"
    assert row["a21026", "Rtd"].eflag == "A1"
    assert (r.data_time_utc == pd.Timestamp("2016-08-23T20:03:40Z")).all()
    assert set(r.kind) == {"data"} and set(r.period) == {"rtd"} and set(r.version) == {"2005"}


def test_values_wide_has_a_column_per_suffix_and_the_flag():
    data = ("ST=31;CN=2061;PW=1;MN=M1;CP=&&DataTime=20240122170000;a24088-Cou=0.018,a24088-Min=0.665,"
            "a24088-Avg=0.933,a24088-Max=1.418,a24088-Flag=N;a00000-Avg=5.3;a00000-Avg=9;a21026-Flag=F&&")
    w = values_wide(records_frame([decode(frame_of(data)).packet])).set_index("pollutant_code")
    assert list(w.columns[-7:]) == ["packet_index", "Avg", "Min", "Max", "Cou", "flag", "eflag"]
    assert w.loc["a24088", ["Avg", "Min", "Max", "Cou"]].tolist() == [0.933, 0.665, 1.418, 0.018]
    assert w.loc["a24088", "flag"] == "N" and w.loc["a00000", "Avg"] == 5.3 and w.loc["a00000", "flag"] is None
    assert w.loc["a21026", "flag"] == "F" and np.isnan(w.loc["a21026", "Avg"])
    assert (w.period == "hour").all() and (w.data_time_utc == pd.Timestamp("2024-01-22T09:00Z")).all()


def test_cou_has_the_amount_unit_and_ambient_stations_ug_m3():
    assert codes.item_unit("a21026", "Cou") == "kg" and codes.item_unit("a00000", "Cou") == "m3"
    assert codes.item_unit("a21026", "Avg") == "mg/m3" and codes.item_unit("a21026", "Avg", "22") == "ug/m3"
    assert codes.item_unit("a21005", "Avg", "22") == "mg/m3" and codes.item_unit("a21026", "Flag") is None
    assert codes.pollutant("02").code == "a21026" and codes.pollutant("011").code == "w01018"
    assert codes.pollutant("SB1") is None and codes.pollutant("a24088").name_zh == "非甲烷总烃"


def test_2005_codes_map_to_the_2017_codes_of_the_data_readme():
    for old, new in {"01": "a34013", "02": "a21026", "03": "a21002", "B02": "a00000", "S01": "a19001",
                     "B01": "w00000", "011": "w01018", "060": "w21003"}.items():
        assert codes.CODES_2005[old] == new
    assert not set(codes.CODES_2005) & set(codes.POLLUTANTS)  # the two code sets never collide


def test_records_frame_does_not_alter_the_packets_and_handles_none():
    p = make_packet(st="31", cn="2011", mn="M", data_time="20240101000000", values={"a21026": {"Rtd": 1}})
    before = encode(p)
    records_frame([p, p])
    assert encode(p) == before
    empty = records_frame([])
    assert list(empty.columns) == list(RECORD_COLUMNS) and len(empty) == 0


# -- encode, replies, split packets ------------------------------------------------------------------
def test_make_packet_writes_a_valid_2017_frame():
    t = datetime(2024, 1, 22, 9, 0, tzinfo=UTC)
    p = make_packet(st="31", cn="2061", mn="81733553216103", qn=t, data_time=t,
                    values={"a24088": {"Avg": 0.933, "Cou": 0.018, "Flag": "N"}, "a00000": {"Avg": 5}})
    f = encode(p)
    back = decode(f, require_crlf=True).packet
    assert back == p and back.version == "2017" and back.flag == 4
    assert back.qn == "20240122170000000" and back.fields["DataTime"] == "20240122170000"
    assert data_segment(p).endswith("CP=&&DataTime=20240122170000;a24088-Avg=0.933,a24088-Cou=0.018,"
                                    "a24088-Flag=N;a00000-Avg=5&&")
    with pytest.raises(ValueError, match="version"):
        make_packet(st="31", cn="2011", mn="M", version="2019")


def test_reply_echoes_the_requests_qn():
    req = make_packet(st="32", cn="2011", mn="M1", qn="20240101120000123", ack=True)
    rep = make_reply(req, "9011", QnRtn=1)
    back = decode(encode(rep)).packet
    assert back.cn == "9011" and back.st == "91" and back.kind == "reply" and not back.ack_requested
    assert back.reply == {"qn": "20240101120000123", "QnRtn": "1", "meaning": "ready to execute"}
    assert decode(encode(make_reply(req, "9012", ExeRtn=100))).packet.reply["meaning"] == "no data"
    with pytest.raises(ValueError):
        make_reply(req, "2011")


def test_split_packets_are_reassembled_by_mn_and_qn():
    p = make_packet(st="31", cn="2061", mn="M1", qn="20240101120000123", data_time="20240101110000",
                    values={f"a2{i:04d}": {"Avg": i} for i in range(7)})
    parts = split_packet(p, 3)
    assert [(q.pnum, q.pno) for q in parts] == [(3, 1), (3, 2), (3, 3)]
    for q in parts:
        back = decode(encode(q)).packet
        assert back.is_split and back.flag_bits.split and back.fields["DataTime"] == "20240101110000"
    asm = Reassembler()
    other = make_packet(st="31", cn="2011", mn="M2", qn="20240101120000999", values={"a21026": {"Rtd": 1}})
    assert asm.add(parts[2]) is None and asm.add(parts[0]) is None
    assert asm.add(parts[0]) is None and asm.duplicates == 1  # a duplicate part
    assert asm.add(other) is other  # not split: straight through
    whole = asm.add(parts[1])
    assert whole is not None and asm.pending == 0
    assert whole.cp == p.cp and whole.pnum is None and not whole.flag_bits.split
    assert asm.drain(all_pending=True) == []


def test_reassembler_is_bounded_and_gives_incomplete_groups_back():
    asm = Reassembler(max_pending=2)
    for k in range(3):
        q = split_packet(make_packet(st="31", cn="2011", mn=f"M{k}", qn=f"2024010112000{k}000",
                                     values={"a21026": {"Rtd": 1}, "a21002": {"Rtd": 2}}), 1)[0]
        assert asm.add(q) is None
    given_up = asm.drain()
    assert [g.mn for g in given_up] == ["M0"] and given_up[0].missing == [2]
    assert sorted(g.mn for g in asm.drain(all_pending=True)) == ["M1", "M2"] and asm.pending == 0


# -- the streaming framer ----------------------------------------------------------------------------
def _frames(n: int) -> list[bytes]:
    return [encode(make_packet(st="32", cn="2011", mn=f"LD{k:012d}", data_time="20160824041709",
                               values={"011": {"Rtd": 31.5 + k, "Flag": "N"}, "060": {"Rtd": 0.72}}))
            for k in range(n)]


def test_framer_joins_reads_and_splits_several_frames_in_one_read():
    f = _frames(3)
    fr = StreamFramer()
    assert fr.feed(f[0][:10]) == [] and fr.feed(f[0][10:-1]) == []  # the CR is there, not the LF
    out = fr.feed(f[0][-1:] + f[1] + f[2])
    assert [r.ok for r in out] == [True] * 3 and [r.raw + b"\r\n" for r in out] == f
    assert fr.buffered == 0 and fr.flush() == []


def test_framer_rejects_garbage_between_frames_and_keeps_the_frames():
    f = _frames(2)
    out = StreamFramer().feed(b"\x00junk\r\n" + f[0] + b"###" + f[1] + b"m&")
    assert [(r.ok, r.reason) for r in out] == [(False, "framing"), (True, ""), (False, "framing"), (True, "")]
    assert out[0].raw == b"\x00junk\r\n" and out[2].raw == b"###"


def test_a_length_that_lies_costs_only_its_own_frame():
    f = _frames(3)
    longer = b"##0999" + f[0][6:]  # says 999 bytes: must not swallow the next frames
    shorter = b"##0010" + f[1][6:]
    fr = StreamFramer()
    out = fr.feed(longer + shorter + f[2])
    assert [(r.ok, r.reason) for r in out] == [(False, "length_mismatch"), (False, "length_mismatch"), (True, "")]
    assert "says 999 bytes" in out[0].detail


def test_a_truncated_frame_without_crlf_is_cut_at_the_next_frame():
    f = _frames(2)
    out = StreamFramer().feed(f[0][:40] + f[1])
    assert [(r.ok, r.reason) for r in out] == [(False, "length_mismatch"), (True, "")]
    out = StreamFramer().feed(f[0][:-2] + f[1])  # complete but its CRLF lost
    assert [(r.ok, r.reason) for r in out] == [(False, "framing"), (True, "")]


def test_framer_buffer_is_bounded_and_flush_returns_the_rest():
    fr = StreamFramer(max_buffer_bytes=10011)
    out = fr.feed(b"##0100" + b"x" * 20000)  # a frame that never ends
    assert len(out) == 1 and out[0].reason == "framing" and "no CRLF" in out[0].detail
    assert fr.buffered < fr.max_buffer_bytes
    fr = StreamFramer()
    assert [r.reason for r in fr.feed(b"abc" * 10000)] == ["framing"] and fr.buffered == 5
    fr = StreamFramer()
    fr.feed(_frames(1)[0][:30])
    out = fr.flush()
    assert len(out) == 1 and out[0].reason == "length_mismatch" and fr.buffered == 0
    with pytest.raises(ValueError):
        StreamFramer(max_buffer_bytes=100)


# -- properties ------------------------------------------------------------------------------------
_text = st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_", max_size=10)
_code = st.sampled_from(["a21026", "a34013", "a24088", "w01018", "01", "02", "B02", "S01", "011", "100000"])
_suffix = st.sampled_from(["Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "Flag", "EFlag", "SampleTime", "Pa"])
_stamp = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31))
_item = st.tuples(_code, _suffix, _text).map(lambda t: (f"{t[0]}-{t[1]}", t[2]))
_group = st.lists(_item, min_size=1, max_size=5).map(tuple)


@st.composite
def packets(draw) -> Packet:
    version = draw(st.sampled_from([None, 0, 1, 2]))
    split = version is not None and draw(st.booleans())
    flag = None if version is None else (version << 2) | draw(st.integers(0, 1)) | (2 if split else 0)
    pnum = draw(st.integers(1, 20)) if split else None
    lead = []
    if draw(st.booleans()):
        lead.append((("DataTime", draw(_stamp).strftime("%Y%m%d%H%M%S")),))
    return Packet(st=draw(st.sampled_from(["21", "22", "27", "31", "32", "91"])),
                  cn=draw(st.sampled_from(["2011", "2051", "2061", "2031", "9014", "8013"])),
                  mn=draw(st.text(alphabet="0123456789ABCDEFLDZG", min_size=1, max_size=24)),
                  pw=draw(st.none() | st.text(alphabet="0123456789", min_size=6, max_size=6)),
                  qn=draw(st.none() | _stamp.map(lambda t: t.strftime("%Y%m%d%H%M%S") + f"{t.microsecond // 1000:03d}")),
                  flag=flag, pnum=pnum, pno=draw(st.integers(1, pnum)) if split else None,
                  cp=tuple(lead) + tuple(draw(st.lists(_group, max_size=8))))


@PROPERTY
@given(packets())
def test_encode_decode_round_trip(p):
    f = encode(p)
    r = decode(f, require_crlf=True)
    assert r.ok, r.detail
    assert r.packet == p
    assert encode(r.packet) == f


def _hex_case_flip(frame: bytes, i: int, b: int) -> bool:
    """Changing the case of a CRC hex letter gives the same frame (both cases are valid)."""
    crc_at = len(frame) - 6
    return crc_at <= i < crc_at + 4 and chr(frame[i]).lower() == chr(b).lower()


@PROPERTY
@given(packets(), st.data())
def test_any_corrupted_inserted_or_deleted_byte_is_caught(p, data):
    f = encode(p)
    i = data.draw(st.integers(0, len(f) - 1), label="position")
    how = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="how")
    if how == "replace":
        b = data.draw(st.integers(0, 255).filter(lambda b: b != f[i] and not _hex_case_flip(f, i, b)), label="byte")
        bad = f[:i] + bytes([b]) + f[i + 1:]
    elif how == "insert":
        bad = f[:i] + bytes([data.draw(st.integers(0, 255), label="byte")]) + f[i:]
    else:
        bad = f[:i] + f[i + 1:]
    r = check_frame(bad, require_crlf=True)
    assert not r.ok and r.reason in ("framing", "length_mismatch", "crc_mismatch")
    if how == "replace" and 6 <= i < len(f) - 6:
        assert r.reason == "crc_mismatch"  # one byte of the data segment: always the CRC


@PROPERTY
@given(st.lists(packets(), min_size=1, max_size=6),
       st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"#", b"")), min_size=7, max_size=7),
       st.lists(st.integers(0, 4000), max_size=12))
def test_framer_gives_the_same_frames_whatever_the_read_boundaries(pks, garbage, cuts):
    stream = b"".join(g + encode(p) for g, p in zip(garbage, pks)) + garbage[-1]
    one = StreamFramer()
    whole = one.feed(stream) + one.flush()
    assert [r.data for r in whole if r.ok] == [data_segment(p).encode() for p in pks]
    fr = StreamFramer()
    pieces = []
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    for a, b in zip(bounds, bounds[1:]):
        pieces += fr.feed(stream[a:b])
    pieces += fr.flush()
    assert [(r.raw, r.ok, r.reason) for r in pieces] == [(r.raw, r.ok, r.reason) for r in whole]


# -- files -----------------------------------------------------------------------------------------
def test_read_hj212_file_accounts_for_every_line(tmp_path):
    good = _frames(2)
    parts = [encode(q) for q in split_packet(make_packet(
        st="31", cn="2061", mn="M9", qn="20240101120000123", data_time="20240101110000",
        values={"a21026": {"Avg": 1.5, "Flag": "N"}, "a21002": {"Avg": 2.5, "Flag": "N"}}), 1)]
    lonely = encode(split_packet(make_packet(st="31", cn="2061", mn="M8", qn="20240101120000456",
                                             values={"a21026": {"Avg": 1}, "a21002": {"Avg": 2}}), 1)[1])
    body = good[0] + b"\r\n" + b"##0010garbage\r\n" + parts[1] + parts[0] + lonely + good[1][:-12] + b"\r\n"
    path = tmp_path / "log.h212.gz"
    path.write_bytes(gzip.compress(body))
    records, rejected, stats = read_hj212_file(path)
    assert (stats.lines, stats.blank_lines, stats.accepted, stats.rejected) == (6, 1, 4, 2)
    assert stats.rejected_by_reason == {"framing": 0, "length_mismatch": 2, "crc_mismatch": 0, "syntax": 0,
                                        "unknown_version": 0}
    assert (stats.split_packets, stats.split_joined, stats.split_incomplete) == (3, 2, 1)
    assert list(rejected.columns) == list(REJECTED_COLUMNS) and list(rejected.line) == [3, 7]
    assert stats.records == len(records) == 2 + 2 + 1
    joined = records[records.mn == "M9"]
    assert list(joined.pollutant_code) == ["a21026", "a21002"] and set(joined.packet_index) == {4}  # the first part received
    assert set(joined.flag) == {"N"} and (joined.data_time_utc == pd.Timestamp("2024-01-01T03:00Z")).all()
    assert list(records[records.mn == "M8"].value) == [2.0]  # the part that came is kept
    with pytest.raises(InputFileNotFoundError):
        read_hj212_file(tmp_path / "missing.h212")


# -- real data -------------------------------------------------------------------------------------
HEBEI = {  # file: lines, accepted, stations, records, rejected by reason (the data README: lines, accepted)
    "hebei_2016-08-24_04.h212.gz": (8624, 8622, 284, 88521, {"length_mismatch": 2}),
    "hebei_2016-08-24_05.h212.gz": (8698, 8692, 284, 89095, {"framing": 3, "length_mismatch": 3}),
}


@pytest.mark.parametrize("name", sorted(HEBEI))
def test_real_hebei_traffic_counts(shared_data, name):
    lines, accepted, stations, n_records, by_reason = HEBEI[name]
    records, rejected, stats = read_hj212_file(shared_data / "hj212" / name)
    assert (stats.lines, stats.accepted, stats.stations, stats.records) == (lines, accepted, stations, n_records)
    assert {k: v for k, v in stats.rejected_by_reason.items() if v} == by_reason
    assert stats.accepted + stats.rejected == stats.lines and len(rejected) == stats.rejected
    assert stats.by_version == {"2005": accepted}  # 2005 devices: Flag absent or 0/1
    assert records.mn.nunique() <= stations
    assert rejected.reason.isin(["framing", "length_mismatch"]).all()
    data = records[records.kind == "data"]
    assert data.data_time_utc.notna().all() and set(records[records.data_time_utc.isna()].cn) == {"2072"}
    assert data.pollutant_code_2017.notna().mean() > 0.99  # the 2005 codes of this traffic are all mapped


def test_real_traffic_streamed_in_random_reads_gives_the_same_packets(shared_data):
    raw = gzip.decompress((shared_data / "hj212" / "hebei_2016-08-24_05.h212.gz").read_bytes())
    rng = np.random.default_rng(0)
    fr, out, i = StreamFramer(), [], 0
    while i < len(raw):
        n = int(rng.integers(1, 1500))
        out += fr.feed(raw[i:i + n])
        i += n
    out += fr.flush()
    accepted = [r for r in out if r.ok]
    assert len(accepted) == 8692 and all(decode(r).ok for r in accepted)
    by_line = [decode(line) for line in raw.split(b"\n") if line]
    assert [r.raw for r in accepted] == [r.raw for r in by_line if r.ok]


def test_a_real_2005_stack_packet_decodes_field_by_field(shared_data):
    line = gzip.decompress((shared_data / "hj212" / "hebei_2016-08-24_04.h212.gz").read_bytes()).split(b"\n")[2]
    p = decode(line).packet
    assert (p.st, p.cn, p.pw, p.mn, p.flag, p.qn, p.version) == ("31", "2011", "123456", "LD130133000204",
                                                                 None, None, "2005")
    r = records_frame([p]).set_index(["pollutant_code", "suffix"])
    assert r.loc[("B02", "Rtd"), "value"] == 37.45 and r.loc[("B02", "Rtd"), "flag"] is None
    assert r.loc[("02", "ZsRtd"), "value"] == 4.75 and r.loc[("02", "ZsRtd"), "pollutant_code_2017"] == "a21026"
    assert r.loc[("S08", "Rtd"), "pollutant_name"] == "flue gas pressure"
    assert p.data_time.utc == datetime(2016, 8, 23, 20, 3, 40, tzinfo=UTC)


def _published(shared_data) -> dict[int, tuple[str, str]]:
    with open(shared_data / "hj212" / "published_packets.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return {int(r["n"]): (r["where it was published"], r["packet"]) for r in rows}


def _rec(p: Packet) -> dict[tuple[str, str], tuple[float, str | None, str | None]]:
    r = records_frame([p])
    return {(c, s): (v, f, u) for c, s, v, f, u in zip(r.pollutant_code, r.suffix, r.value, r.flag, r.unit)}


def test_all_13_published_packets_pass_length_and_crc(shared_data):
    pub = _published(shared_data)
    assert len(pub) == 13
    for n, (_, packet) in pub.items():
        r = decode(packet)
        assert r.ok, (n, r.reason, r.detail)
        assert encode(r.packet).rstrip(b"\r\n").upper() == packet.encode().upper()  # re-encodes exactly


def test_published_packets_field_by_field(shared_data):
    pk = {n: decode(packet).packet for n, (_, packet) in _published(shared_data).items()}

    p = pk[1]  # the standard's own example: set the real-time interval
    assert (p.qn, p.st, p.cn, p.pw, p.mn, p.flag, p.version, p.ack_requested) == (
        "20160801085857223", "32", "1062", "100000", "010000A8900016F000169DC0", 5, "2017", True)
    assert p.fields == {"RtdInterval": "30"} and p.command_name == "set real-time data interval"

    p = pk[2]  # 2017 surface water, real-time; Flag=8 reads as version 2 (2025) although published in 2021
    assert (p.st, p.cn, p.mn, p.flag, p.version, p.code_dialect) == ("21", "2011", "ZLDSZ20210127", 8, "2025", "2017")
    r = _rec(p)
    assert r["w01001", "Rtd"] == (8.33, "N", "dimensionless") and r["w21003", "Rtd"][0] == 0.09055002
    assert r["w01014", "Rtd"] == (1425.0, "N", "uS/cm") and len(r) == 11
    assert p.data_time.utc == datetime(2021, 3, 1, 3, 11, tzinfo=UTC)

    p = pk[3]  # generator output: no QN, no Flag, vendor codes, 17-digit DataTime
    assert (p.qn, p.flag, p.version, p.mn, p.code_dialect) == (None, None, "2005", "NJGDKYYC202101q0001w0001", "vendor")
    assert _rec(p) == {("ele01", "Rtd"): (1.0, None, None), ("ele02", "Rtd"): (0.0, None, None)}
    assert p.data_time.local == datetime(2021, 3, 5, 0, 38, 17, tzinfo=LOCAL_TZ)

    p = pk[4]  # ambient air, minute data: ug/m3 for gases and particles, mg/m3 for CO
    assert (p.st, p.cn, p.period, p.mn, p.flag) == ("22", "2051", "minute", "JLYP01_AIR01_0001", 4)
    r = _rec(p)
    assert r["a34004", "Avg"] == (14.0, "N", "ug/m3") and r["a21005", "Avg"] == (0.427, "N", "mg/m3")
    assert r["a05024", "Avg"] == (63.0, "N", "ug/m3") and r["a01006", "Avg"] == (95.0, "N", "kPa")

    p = pk[5]  # the three-phase electricity meter, vendor ST=80: every item kept
    assert (p.st, p.cn, p.mn, p.flag, p.ack_requested) == ("80", "2011", "410183160889201000212505", 5, True)
    r = _rec(p)
    assert len(r) == 28 and r["100000", "Ia"] == (401.4, "N", None) and r["100000", "Ua"][0] == 231.0
    assert r["100000", "Ept"][0] == 162762.484 and r["100000", "Pa_ave"][0] == 0.3964
    assert p.data_time.raw == "20201015123000"

    p = pk[6]  # empty CP
    assert (p.cp, p.fields, p.flag, p.version) == ((), {}, 4, "2017") and records_frame([p]).empty

    p = pk[7]  # data answer 9014, ST 91
    assert (p.st, p.cn, p.kind, p.qn) == ("91", "9014", "reply", "20201015123632010") and p.cp == ()

    p = pk[8]  # 2005 water, B01 without a flag
    r = _rec(p)
    assert (p.st, p.cn, p.mn, p.version) == ("32", "2011", "LD130133000015", "2005")
    assert r["B01", "Rtd"] == (36.91, None, "L/s") and r["011", "Rtd"] == (231.0, "N", "mg/L")
    assert records_frame([p]).set_index("pollutant_code").loc["060", "pollutant_code_2017"] == "w21003"

    p = pk[9]  # the VOC stack, hourly data: NMHC Cou/Min/Avg/Max, flue-gas flow
    assert (p.st, p.cn, p.period, p.mn, p.qn) == ("31", "2061", "hour", "81733553216103", "20240123101501421")
    r = _rec(p)
    assert r["a24088", "Avg"] == (0.933, "N", "mg/m3") and r["a24088", "Max"][0] == 1.418
    assert r["a24088", "Cou"] == (0.018, "N", "kg") and r["a00000", "Cou"] == (19191.973, "N", "m3")
    assert r["a01013", "Min"] == (-0.041, "N", "kPa") and r["a05002", "Avg"][0] == 0.0
    assert p.data_time.utc == datetime(2024, 1, 22, 9, 0, tzinfo=UTC)  # 17:00 local: the hour's start
    assert p.qn_time.utc == datetime(2024, 1, 23, 2, 15, 1, 421000, tzinfo=UTC)

    p = pk[10]  # the same VOC stack, real time
    r = _rec(p)
    assert (p.cn, p.period) == ("2011", "rtd") and r["a24088", "Rtd"] == (0.804, "N", "mg/m3")
    assert r["a00000", "Rtd"] == (5.407, "N", "m3/s") and r["a01012", "Rtd"] == (6.48, "N", "degC")

    p = pk[11]  # the VOC station (ST 27), instrument stopped
    assert (p.st, p.mn) == ("27", "18AAH") and _rec(p) == {("a24088", "Rtd"): (0.0, "F", "mg/m3")}
    assert codes.DATA_FLAGS["F"].startswith("stopped")

    p = pk[12]  # a reply: QnRtn=1, Flag=9 (ack requested, version bits = 2)
    assert (p.st, p.cn, p.mn, p.flag, p.ack_requested, p.version) == ("91", "9014", "SD000001", 9, True, "2025")
    assert p.reply == {"qn": None, "QnRtn": "1", "meaning": "ready to execute"}

    p = pk[13]  # mixed 2005 and 2017 codes in one hourly packet
    assert (p.flag, p.version, p.code_dialect, p.cn) == (0, "2005", "mixed", "2061")
    r = records_frame([p]).set_index(["pollutant_code", "suffix"])
    assert r.loc[("B02", "Cou"), "pollutant_code_2017"] == "a00000" and r.loc[("B02", "Cou"), "unit"] == "m3"
    assert r.loc[("S01", "Avg"), "pollutant_code_2017"] == "a19001" and r.loc[("a24088", "Avg"), "value"] == 3.2176
    assert r.loc[("25", "Avg"), "pollutant_code_2017"] == "a24087" and r.loc[("17", "Max"), "pollutant_name"] == "toluene"
    assert r.loc[("16", "Avg"), "pollutant_code_2017"] is None  # no 2017 equivalent: kept as sent
    assert len(r) == 43


def test_times_are_local_china_time():
    p = make_packet(st="32", cn="2011", mn="M", qn=datetime(2024, 1, 1, 0, 0, 0, 5000, tzinfo=UTC))
    assert p.qn == "20240101080000005"
    assert decode(encode(p)).packet.qn_time.utc - datetime(2024, 1, 1, tzinfo=UTC) == timedelta(milliseconds=5)
