"""The batch decoder (``decode_lines``) against the per-packet reference (``decode``): equal results.

On the real two hours, the 13 published packets, and corrupted and edge cases built to hit each
check of the reference (length, CRC, header order and fields, Flag, PNUM/PNO, QN and DataTime,
CP syntax, non-ASCII bytes); a property test feeds it random data segments. Equality is
field by field (``DecodeResult`` and ``Packet`` are dataclasses) plus the packets' times.
"""

from __future__ import annotations

import csv
import gzip
import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecopatrol.processing.hj212 import (StreamFramer, crc16_hj212, crc_many, data_segment, decode, decode_lines,
                                        encode_frame, make_packet, records_frame)
from ecopatrol.processing.hj212.packet import parse_stamp
from ecopatrol.processing.monitor.store import record_rows

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def assert_same(lines) -> None:
    ref = [decode(x) for x in lines]
    got = decode_lines(lines)
    assert got == ref
    for a, b in zip(got, ref):
        if b.ok:
            assert a.packet.data_time == b.packet.data_time
            assert a.packet.fields == b.packet.fields
            assert record_rows(a.packet) == record_rows(b.packet)


def real_lines(shared_data) -> list[bytes]:
    out = []
    for f in sorted((shared_data / "hj212").glob("*.h212.gz")):
        out += [ln for ln in gzip.decompress(f.read_bytes()).split(b"\n") if ln.strip()]
    return out


def test_real_hours_decode_the_same(shared_data):
    lines = real_lines(shared_data)
    assert len(lines) == 17_322
    assert_same(lines)
    got = decode_lines(lines)
    assert sum(d.ok for d in got) == 17_314  # 8 622 + 8 692, as test_hj212 counts them
    assert sorted(d.reason for d in got if not d.ok) == ["framing"] * 3 + ["length_mismatch"] * 5


def test_real_hours_take_the_fast_path(shared_data, monkeypatch):
    from ecopatrol.processing.hj212 import _batch

    calls = []
    monkeypatch.setattr(_batch, "decode", lambda x: calls.append(x) or decode(x))
    decode_lines(real_lines(shared_data))
    assert len(calls) == 8  # only the rejected lines go to the reference


def test_real_hours_framed_from_a_stream_decode_the_same(shared_data):
    lines = real_lines(shared_data)[:3000]
    frames = StreamFramer().feed(b"".join(ln.rstrip(b"\r\n") + b"\r\n" for ln in lines))
    assert_same(frames)


def test_published_packets_decode_the_same(shared_data):
    with open(shared_data / "hj212" / "published_packets.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 13
    assert_same([r["packet"].encode("utf-8") for r in rows])


def test_crc_many_equals_the_table_crc():
    rng = random.Random(3)
    datas = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400))) for _ in range(300)] + [b""]
    assert crc_many(datas).tolist() == [crc16_hj212(d) for d in datas]  # the per-position loop
    assert crc_many(datas[:3] + [b"x" * 900]).tolist() == [crc16_hj212(d) for d in datas[:3] + [b"x" * 900]]
    assert crc_many([]).dtype == np.uint16


def test_crc_many_by_linearity_equals_the_table_crc():
    """The small-batch path (every byte by its position from the end) on random bytes, empty and long
    segments, and tables grown past their first size."""
    import random

    rnd = random.Random(17)
    for _ in range(200):
        datas = [bytes(rnd.randrange(256) for _ in range(rnd.choice([0, 1, 2, 7, 64, 333, 1500])))
                 for _ in range(rnd.randrange(1, 12))]
        assert crc_many(datas).tolist() == [crc16_hj212(d) for d in datas]
    datas = [b"", b"\xff" * 9999, b"QN=1;CP=&&&&"]
    assert crc_many(datas).tolist() == [crc16_hj212(d) for d in datas]


BASE = "QN=20240122170000123;ST=32;CN=2011;PW=123456;MN=MN01;Flag=5;CP=&&DataTime=20240122170000;" \
       "a21026-Rtd=12.3,a21026-Flag=N;a34013-Rtd=0.5&&"

EDGE_SEGMENTS = [
    BASE,
    BASE.replace("Flag=5;", ""),                                         # no Flag: 2005
    BASE.replace("QN=20240122170000123;", ""),                           # no QN
    BASE.replace("PW=123456;", ""),                                      # no PW: the reference path
    BASE.replace("PW=123456", "PW="),                                    # empty PW
    BASE.replace("Flag=5;", "Flag=7;PNUM=2;PNO=1;"),                     # split, valid
    BASE.replace("Flag=5;", "Flag=7;PNUM=2;PNO=3;"),                     # PNO > PNUM
    BASE.replace("Flag=5;", "Flag=7;PNUM=0;PNO=0;"),                     # PNUM 0
    BASE.replace("Flag=5;", "Flag=7;"),                                  # D without PNUM/PNO
    BASE.replace("Flag=5;", "Flag=5;PNUM=2;"),                           # PNUM alone
    BASE.replace("Flag=5;", "Flag=13;"),                                 # bits 2-7 = 3: unknown version
    BASE.replace("Flag=5;", "Flag=256;"),                                # out of range
    BASE.replace("Flag=5;", "Flag=0005;"),                               # leading zeros: reference path
    BASE.replace("Flag=5;", "Flag=x;"),
    BASE.replace("QN=20240122170000123", "QN=20241322170000123"),        # month 13
    BASE.replace("QN=20240122170000123", "QN=20240122170000"),           # 14 digits
    BASE.replace("QN=20240122170000123", "QN=2024012217000012"),
    BASE.replace("DataTime=20240122170000", "DataTime=20240230170000"),  # 30 February
    BASE.replace("DataTime=20240122170000", "DataTime=20240122170000123"),
    BASE.replace("DataTime=20240122170000", "DataTime=00010101000000"),  # before year 1 in UTC
    BASE.replace("DataTime=20240122170000", "DataTime="),
    BASE.replace("DataTime=20240122170000;", ""),                        # no DataTime
    BASE.replace("DataTime=20240122170000;", "DataTime=20240122170000,DataTime=x;"),  # first wins
    BASE.replace("a34013-Rtd=0.5", "a34013-Rtd=0.5;DataTime=20991332000000"),  # a later DataTime is ignored
    BASE.replace("ST=32;CN=2011;", "CN=2011;ST=32;"),                    # another header order
    BASE.replace("MN=MN01;", "MN=MN01;XX=1;"),                           # a field the standards do not define
    BASE.replace("MN=MN01;", "MN=MN01;MN=MN02;"),                        # twice
    BASE.replace("MN=MN01", "MN="),                                      # empty MN
    BASE.replace("ST=32", "ST="),
    BASE.replace("CN=2011", "CN=201"),
    BASE.replace("CN=2011", "CN=20a1"),
    BASE.replace("CP=&&", "CP=&"),
    BASE[:-2],                                                           # CP without its closing &&
    BASE.replace(";CP=&&", "CP=&&"),                                     # header not ended by ';'
    BASE.split("CP=")[0] + "CP=&&&&",                                    # empty CP
    BASE.replace("a34013-Rtd=0.5", ""),                                  # a trailing empty group
    BASE.replace(";a34013", ";;a34013"),                                 # an empty group inside
    BASE.replace(",a21026-Flag=N", ",,a21026-Flag=N"),                   # an empty item
    BASE.replace(",a21026-Flag=N", ",a21026-FlagN"),                     # an item without '='
    BASE.replace(",a21026-Flag=N", ",=N"),                               # an empty key
    BASE.replace("a34013-Rtd=0.5", "a34013-Rtd=0.5=6"),                  # '=' in a value
    BASE.replace("a34013-Rtd=0.5", "-Rtd=1,a-=2,x-y-z=3"),               # odd keys
    BASE.replace("a34013-Rtd=0.5", "a34013-Info=设备正常"),                # non-ASCII (UTF-8)
    BASE.replace("a34013-Rtd=0.5", "a34013-Rtd=0.5&&x"),                 # && inside the CP
    BASE.replace("a34013-Rtd=0.5", "a34013-Flag=D,a34013-EFlag=E1"),     # flags without a value
    "ST=32;CN=2011;PW=1;MN=X;CP=&&CP=&&a-Rtd=1&&",
    "CP=&&a-Rtd=1&&",
    "",
]


def test_edge_and_corrupt_cases_decode_the_same():
    frames = [encode_frame(s) for s in EDGE_SEGMENTS]
    frames.append(encode_frame(BASE.replace("设备", "")).replace(b"\r\n", b""))  # no line end
    frames.append(encode_frame(BASE).replace(b"\r\n", b"\n"))
    frames.append(encode_frame(BASE).replace(b"\r\n", b"\r"))
    frames.append(encode_frame(BASE.replace("a34013-Rtd=0.5", "a34013-Info=")).replace(b"Info=", "Info=正".encode("gbk")))
    good = encode_frame(BASE)
    frames.append(good[:-6] + good[-6:-2].lower() + b"\r\n")  # lower-case CRC
    frames.append(good[:-6] + b"ZZZZ\r\n")                      # CRC not hex
    frames.append(good[:-6] + b"%04X\r\n" % (crc16_hj212(good[6:-6]) ^ 1))  # wrong CRC
    frames.append(good[:2] + b"9999" + good[6:])                # the length lies
    frames.append(good[:2] + b"01a1" + good[6:])                # the length is not digits
    frames.append(b"#" + good[1:])
    frames.append(good[:40])                                    # truncated
    frames += [b"##", b"##0000", b"##00000000", b"garbage", b"\r\n", good + good]
    assert_same(frames)
    assert_same(StreamFramer().feed(b"".join(frames)))


def test_corrupted_real_bytes_decode_the_same(shared_data):
    rng = random.Random(17)
    lines = real_lines(shared_data)[:400]
    bad = []
    for ln in lines:
        b = bytearray(ln)
        i = rng.randrange(len(b))
        op = rng.randrange(3)
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            del b[i]
        else:
            b.insert(i, rng.randrange(256))
        bad.append(bytes(b))
    assert_same(bad)


def test_strings_and_bytearrays_go_to_the_reference():
    assert_same([encode_frame(BASE).decode(), bytearray(encode_frame(BASE))])


_CP_CHARS = st.sampled_from(list("ab01-=;,&Rtd") + ["Flag", "DataTime=", "20240122170000", "a21026-", "-Rtd="])
_HEAD_PARTS = st.sampled_from(["QN=20240122170000123;", "ST=32;", "CN=2011;", "PW=1;", "MN=M;", "Flag=5;",
                               "Flag=4;", "Flag=7;", "PNUM=2;", "PNO=1;", "X=1;", ";", "Flag=300;", "QN=1;"])


@PROPERTY
@given(head=st.lists(_HEAD_PARTS, max_size=9), cp=st.lists(_CP_CHARS, max_size=30), standard=st.booleans())
def test_random_data_segments_decode_the_same(head, cp, standard):
    h = "QN=20240122170000123;ST=32;CN=2011;PW=1;MN=M;Flag=5;" if standard else "".join(head)
    assert_same([encode_frame(h + "CP=&&" + "".join(cp) + "&&")])


def test_record_rows_equal_records_frame_on_flag_edge_cases():
    p = decode(encode_frame(BASE.replace("a34013-Rtd=0.5", "a34013-Flag=D,a34013-EFlag=E1;b-Rtd=x,b-Flag=F,"
                                         "b-Flag=N,c-Avg=inf;d-Rtd=1_0,d-EFlag=Z"))).packet
    frame = records_frame([p])
    rows = record_rows(p)
    assert [r[0] for r in rows] == frame["pollutant_code"].tolist()
    assert [r[2] for r in rows] == frame["suffix"].tolist()
    assert [r[4] for r in rows] == frame["value_text"].tolist()
    assert [r[5] for r in rows] == frame["flag"].tolist()
    assert [r[6] for r in rows] == frame["eflag"].tolist()
    assert [r[3] for r in rows if r[2] == "Avg"] == [None]       # inf is not a value
    assert [r[3] for r in rows if r[0] == "d" and r[2] == "Rtd"] == [None]  # 1_0 is not a number


def test_parse_stamp_refuses_instants_before_year_1():
    import pytest

    with pytest.raises(ValueError):
        parse_stamp("00010101000000")
    assert parse_stamp("00010101090000").utc.year == 1


def test_make_packet_frames_decode_the_same():
    pk = make_packet(st="31", cn="2061", mn="M1", qn="20240122170000123", data_time="20240122160000",
                     values={"a21026": {"Avg": 1.5, "Max": 2, "Flag": "N"}, "a00000": {"Cou": 10}})
    assert_same([encode_frame(data_segment(pk)), encode_frame(data_segment(pk)).rstrip(b"\r\n")])


def test_deferred_framer_gives_what_the_checking_framer_gives(shared_data):
    lines = real_lines(shared_data)[:500]
    stream = b"".join(ln.rstrip(b"\r\n") + b"\r\n" + (b"junk" if i % 50 == 7 else b"") for i, ln in enumerate(lines))
    stream += lines[3][:-9]  # a frame cut by the end of the stream
    stream = stream.replace(lines[10].rstrip(b"\r\n") + b"\r\n", lines[10][:30])  # one cut by the next frame
    checking, deferring = StreamFramer(), StreamFramer(defer_checks=True)
    ref, got = [], []
    for i in range(0, len(stream), 1000):
        ref += checking.feed(stream[i:i + 1000])
        got += deferring.feed(stream[i:i + 1000])
    ref += checking.flush()
    got += deferring.flush()
    assert any(isinstance(g, bytes) for g in got)
    assert decode_lines(got) == [decode(r) for r in ref]


def test_encode_many_equals_encode():
    from ecopatrol.processing.hj212 import encode, encode_many, make_reply

    pks = [decode(encode_frame(s)).packet for s in EDGE_SEGMENTS[:6]]
    reps = [make_reply(p, "9014") for p in pks] + [make_reply(pks[0], "9011", QnRtn=2)]
    assert encode_many(pks + reps) == [encode(p) for p in pks + reps]
    assert encode_many([]) == []
