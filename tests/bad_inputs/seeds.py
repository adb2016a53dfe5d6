"""Small valid files of every format the readers accept, written from scratch (no real data copied).

Used as the good starting point of the bad-input corpus (``make_corpus.py``) and of the
fuzzers (``tests/test_fuzz_readers.py``), which break them in every way they can.
Positions are near Jimo (lon 120.45, lat 36.38), times on 2026-05-12 from 01:00 UTC.
"""

from __future__ import annotations

import struct

T0_UNIX = 1_778_547_600.0  # 2026-05-12T01:00:00Z
LON0, LAT0 = 120.45, 36.38
N = 12  # records per seed file: small, so fuzzing stays fast


# ------------------------------------------------------------------ ArduPilot DataFlash .bin
def _df_msg(msg_type: int, payload: bytes) -> bytes:
    return b"\xa3\x95" + bytes([msg_type]) + payload


def _df_fmt(msg_type: int, name: str, fmt: str, cols: str) -> bytes:
    length = 3 + struct.calcsize("<" + "".join(_DF_STRUCT[c] for c in fmt))
    return _df_msg(0x80, struct.pack("<BB4s16s64s", msg_type, length, name.encode(), fmt.encode(), cols.encode()))


_DF_STRUCT = {"B": "B", "H": "H", "I": "I", "Q": "Q", "L": "i", "f": "f", "e": "i", "c": "h", "n": "4s",
              "N": "16s", "Z": "64s"}


def dataflash_bin(n: int = N) -> bytes:
    """An ArduPilot DataFlash log: FMT records, then ``n`` new-style GPS records (GWk/GMS)."""
    out = bytearray(_df_fmt(0x80, "FMT", "BBnNZ", "Type,Length,Name,Format,Columns"))
    fmt = "QBIHBcLLeff"
    out += _df_fmt(130, "GPS", fmt, "TimeUS,Status,GMS,GWk,NSats,HDop,Lat,Lng,Alt,Spd,GCrs")
    s = struct.Struct("<QBIHBhiiiff")
    week, gms0 = 2418, 176_418_000  # GPS week/ms of 2026-05-12T01:00:00Z (+18 s leap)
    for i in range(n):
        out += _df_msg(130, s.pack(10_000_000 + i * 200_000, 3, gms0 + i * 200, week, 14, 90,
                                   int((LAT0 + i * 1e-5) * 1e7), int(LON0 * 1e7), 5_000, 4.0, 90.0))
    return bytes(out)


# ------------------------------------------------------------------ MAVLink .tlog
def tlog(n: int = N) -> bytes:
    """A MAVLink v2 telemetry log: GLOBAL_POSITION_INT every record, SYSTEM_TIME and GPS_RAW_INT every 4th."""
    from pymavlink.dialects.v20 import common as mavlink

    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    out = bytearray()
    for i in range(n):
        boot = 120_000 + i * 250
        host_us = int((T0_UNIX + i * 0.25 + 0.4) * 1e6)
        msgs = [mav.global_position_int_encode(boot, int((LAT0 + i * 1e-5) * 1e7), int(LON0 * 1e7),
                                               50_000, 30_000, 500, 0, 0, 0)]
        if i % 4 == 0:
            msgs.append(mav.system_time_encode(int((T0_UNIX + i * 0.25) * 1e6), boot))
            msgs.append(mav.gps_raw_int_encode(int((T0_UNIX + i * 0.25) * 1e6), 3, int(LAT0 * 1e7),
                                               int(LON0 * 1e7), 50_000, 90, 120, 500, 0, 12))
        for m in msgs:
            out += struct.pack(">Q", host_us) + m.pack(mav)
    return bytes(out)


# ------------------------------------------------------------------ PX4 ULog .ulg
def _ulog_msg(kind: bytes, payload: bytes) -> bytes:
    return struct.pack("<HB", len(payload), kind[0]) + payload


def ulog(n: int = N) -> bytes:
    """A PX4 ULog (v1) with one ``vehicle_gps_position`` topic of ``n`` samples."""
    out = bytearray(b"ULog\x01\x12\x35" + bytes([1]) + struct.pack("<Q", 0))
    out += _ulog_msg(b"B", bytes(8) + bytes(8) + bytes(24))  # flag bits: nothing incompatible
    fields = ("uint64_t timestamp;uint64_t time_utc_usec;int32_t lat;int32_t lon;int32_t alt;"
              "float vel_m_s;float hdop;uint8_t fix_type;uint8_t satellites_used;")
    out += _ulog_msg(b"F", f"vehicle_gps_position:{fields}".encode())
    out += _ulog_msg(b"A", struct.pack("<BH", 0, 1) + b"vehicle_gps_position")
    s = struct.Struct("<QQiiiffBB")
    for i in range(n):
        out += _ulog_msg(b"D", struct.pack("<H", 1) + s.pack(
            5_000_000 + i * 200_000, int((T0_UNIX + i * 0.2) * 1e6), int((LAT0 + i * 1e-5) * 1e7),
            int(LON0 * 1e7), 50_000, 4.0, 0.8, 3, 14))
    return bytes(out)


# ------------------------------------------------------------------ text formats
def _iso(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gpx(n: int = N) -> bytes:
    pts = "".join(f'<trkpt lat="{LAT0 + i * 1e-4:.6f}" lon="{LON0:.6f}"><ele>12.0</ele>'
                  f"<time>{_iso(T0_UNIX + i)}</time></trkpt>" for i in range(n))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="ecopatrol-tests" '
            f'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>van</name><trkseg>{pts}</trkseg></trk></gpx>\n'
            ).encode()


def nmea_sentence(body: str) -> str:
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"${body}*{cs:02X}"


def nmea(n: int = N) -> bytes:
    lines = []
    for i in range(n):
        hms = f"0100{i:02d}.00"
        lat_dm = f"{36 * 100 + (LAT0 - 36) * 60 + i * 0.006:.4f}"
        lon_dm = f"{120 * 100 + (LON0 - 120) * 60:.4f}"
        lines.append(nmea_sentence(f"GPRMC,{hms},A,{lat_dm},N,{lon_dm},E,16.2,90.0,120526,,,A"))
        lines.append(nmea_sentence(f"GPGGA,{hms},{lat_dm},N,{lon_dm},E,1,10,0.9,12.0,M,5.0,M,,"))
    return ("\r\n".join(lines) + "\r\n").encode()


def dji_csv(n: int = N) -> bytes:
    head = ("time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff(feet),"
            "altitude_above_seaLevel(feet),speed(mph),satellites,gpslevel")
    rows = [f"{i * 100},{_iso(T0_UNIX + i * 0.1).replace('T', ' ').rstrip('Z')},{LAT0 + i * 1e-5:.6f},{LON0:.6f},"
            f"100.0,150.0,22.4,14,5" for i in range(n)]
    return ("\n".join([head, *rows]) + "\n").encode()


def analyser_csv(n: int = N) -> bytes:
    """The analyser export of CONTRACTS.md: local (Asia/Shanghai) times."""
    rows = [f"2026-05-12 09:00:{i:02d},{100 + i}.5,{1 + i / 10:.1f},5.0,2.0,OK" for i in range(n)]
    return ("\n".join(["Time,TVOC(ug/m3),Benzene(ppb),Toluene(ppb),Xylene(ppb),Status", *rows]) + "\n").encode()


PICARRO_HEADER = ("DATE TIME FRAC_DAYS_SINCE_JAN1 EPOCH_TIME ALARM_STATUS CH4 CO2 H2O "
                  "GPS_ABS_LAT GPS_ABS_LONG GPS_FIT WIND_N WIND_E CAR_SPEED")


def picarro_dat(n: int = N) -> bytes:
    rows = [f"2026-05-12 01:00:{i:02d}.000 131.0417 {T0_UNIX + i:.3f} 0 {1.95 + i / 100:.4f} 420.1 1.2 "
            f"{LAT0 + i * 1e-5:.6f} {LON0:.6f} 1 -1.0 -2.0 8.3" for i in range(n)]
    return ("\n".join([PICARRO_HEADER, *rows]) + "\n").encode()


MAPPING = {
    "time": {"column": "Timestamp", "format": "unix", "timezone": "UTC"},
    "position": {"lon": "Lon", "lat": "Lat"},
    "columns": [{"source": "NO2", "name": "no2", "unit": "ug/m3", "to": "ppb"}],
}


def mapped_csv(n: int = N) -> bytes:
    rows = [f"{T0_UNIX + i:.1f},{LON0:.6f},{LAT0 + i * 1e-5:.6f},{40 + i}" for i in range(n)]
    return ("\n".join(["Timestamp,Lon,Lat,NO2", *rows]) + "\n").encode()


# name → (extension, bytes factory, reader format name)
SEEDS = {
    "dataflash": (".bin", dataflash_bin),
    "tlog": (".tlog", tlog),
    "ulog": (".ulg", ulog),
    "gpx": (".gpx", gpx),
    "nmea": (".nmea", nmea),
    "dji-airdata-csv": (".csv", dji_csv),
    "analyser-csv": (".csv", analyser_csv),
    "picarro-dat": (".dat", picarro_dat),
    "mapped-csv": (".csv", mapped_csv),
}
