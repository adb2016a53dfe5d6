"""HJ 212 codec: the online-monitoring protocol of China's pollution-source and environment monitors.

Covers HJ/T 212-2005, HJ 212-2017 and HJ 212-2025 (Flag bits 2–7 = 0, 1, 2):

- :mod:`.frame` — ``##`` + length + data + CRC + CRLF: :func:`check_frame`, :func:`encode_frame`,
  :func:`crc16_hj212` (the standard's CRC, not CRC-16/MODBUS) and :class:`StreamFramer`, which
  cuts a TCP byte stream into frames (for the receiver);
- :mod:`.packet` — :func:`decode` (frame → :class:`DecodeResult` with a :class:`Packet` or a
  rejection reason), :func:`encode`, :func:`make_packet`, :func:`make_reply`,
  :func:`split_packet` and :class:`Reassembler` (split packets keyed by MN and QN);
- :mod:`._batch` — :func:`decode_lines`: many frames at once, the same results as :func:`decode`
  (the reference) but several times faster on the common shape, with :func:`crc_many`;
- :mod:`.codes` — versions, ST, CN, data flags, replies' return codes, and the pollutant code
  tables (2017 codes with names and units, 2005 codes mapped to them);
- :mod:`.records` — :func:`records_frame` (tidy rows: station × time × pollutant × suffix),
  :func:`values_wide` (a column per suffix and the flag, for the alarm rules) and
  :func:`read_hj212_file` (a logged packet file → records, rejected, stats).

Every input is decoded or rejected with one of :data:`REASONS`: ``framing``, ``length_mismatch``,
``crc_mismatch``, ``syntax``, ``unknown_version``.
"""

from ._batch import crc_many, decode_lines, encode_many, encode_segments
from .codes import COMMANDS, DATA_FLAGS, POLLUTANTS, SYSTEM_TYPES, VERSIONS, Pollutant, pollutant
from .frame import (REASON_CRC, REASON_FRAMING, REASON_LENGTH, REASON_SYNTAX, REASON_VERSION, REASONS,
                    FrameResult, StreamFramer, check_frame, crc16_hj212, encode_frame)
from .packet import (LOCAL_TZ, DecodeResult, FlagBits, Packet, PacketError, Reassembler, SplitGroup, Stamp,
                     data_segment, decode, decode_data_segment, encode, make_packet, make_reply, parse_stamp,
                     split_packet)
from .records import (RECORD_COLUMNS, REJECTED_COLUMNS, WIDE_KEYS, HJ212FileStats, read_hj212_file, records_frame,
                      values_wide)

__all__ = [
    "COMMANDS", "DATA_FLAGS", "POLLUTANTS", "SYSTEM_TYPES", "VERSIONS", "Pollutant", "pollutant",
    "REASON_CRC", "REASON_FRAMING", "REASON_LENGTH", "REASON_SYNTAX", "REASON_VERSION", "REASONS",
    "FrameResult", "StreamFramer", "check_frame", "crc16_hj212", "encode_frame",
    "LOCAL_TZ", "DecodeResult", "FlagBits", "Packet", "PacketError", "Reassembler", "SplitGroup", "Stamp",
    "data_segment", "decode", "decode_data_segment", "encode", "make_packet", "make_reply", "parse_stamp",
    "split_packet",
    "crc_many", "decode_lines", "encode_many", "encode_segments",
    "RECORD_COLUMNS", "REJECTED_COLUMNS", "WIDE_KEYS", "HJ212FileStats", "read_hj212_file", "records_frame",
    "values_wide",
]
