"""Instrument and GPS readers, chosen by the file's content (the extension is only a hint).

``read_any(path)`` returns a :class:`ReadResult` whose ``frame`` has ``time_utc``
(tz-aware UTC) and standard columns: tracks ``lon``, ``lat`` (EPSG:4326), ``alt_amsl_m``,
``speed_m_s``, ``gps_fix`` (MAVLink numbering), ``n_sats``, ``hdop``; sensors species
columns with the unit in the name (``tvoc_ugm3``, ``benzene_ppb``, ``ch4_ppm``) and, when
measured, ``wind_from_deg``/``wind_speed_m_s``. Every record read is either in ``frame``
or in ``quarantine`` with a reason.
"""

from __future__ import annotations

import logging

from ecopatrol.core.errors import FormatError
from ._common import ReadResult, check_file, species_columns
from ._safe import check_size, guard_reader

__all__ = ["ReadResult", "read_any", "detect_format", "species_columns", "FORMATS"]

log = logging.getLogger(__name__)

FORMATS = ("dataflash", "dataflash-text", "tlog", "ulog", "dji-airdata-csv", "gpx", "nmea",
           "picarro-dat", "analyser-csv", "mapped-csv")
_EXT_HINT = {".bin": "dataflash", ".log": "dataflash-text", ".tlog": "tlog", ".ulg": "ulog",
             ".gpx": "gpx", ".nmea": "nmea", ".dat": "picarro-dat", ".csv": "csv", ".txt": None}
_ULOG_MAGIC = b"ULog\x01\x12\x35"
_DF_MAGIC = b"\xa3\x95"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        s = head.decode("utf-8")
    except UnicodeDecodeError:
        s = head.decode("utf-8", errors="ignore")
        if len(s) < 0.9 * len(head) - 4:  # a cut multi-byte character at the end is fine
            return False
    bad = sum(1 for ch in s if ord(ch) < 32 and ch not in "\r\n\t")
    return bad <= 0.01 * max(len(s), 1)


def detect_format(path, *, mapping=None) -> str:
    """Name of the format of ``path`` decided from its content (see :data:`FORMATS`)."""
    from .dji import looks_like_dji
    from .mavlink import is_tlog
    from .picarro import looks_like_picarro
    from .tabular import looks_like_analyser

    p = check_file(path)
    with open(p, "rb") as fh:
        head = fh.read(8192)
    if head.startswith(_ULOG_MAGIC):
        return "ulog"
    if head.startswith(_DF_MAGIC):
        return "dataflash"
    if is_tlog(head):
        return "tlog"
    if not _is_text(head):
        raise FormatError(
            f"`{p.name}`: unrecognised binary content (not a DataFlash .bin, MAVLink .tlog or PX4 .ulg); "
            "the file may be corrupt or of an unsupported format")
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise FormatError(f"`{p.name}`: contains only blank lines")
    first = lines[0]
    if "<gpx" in text[:2000] or (first.startswith("<?xml") and "gpx" in text[:2000].lower()):
        return "gpx"
    if first.startswith("<"):
        raise FormatError(f"`{p.name}`: XML that is not GPX; export the track as GPX 1.1")
    if first.startswith(("$GP", "$GN", "$GL", "$GA", "$BD", "$GB")):
        return "nmea"
    if first.startswith(("FMT,", "FMT ,")):
        return "dataflash-text"
    if looks_like_picarro(first):
        return "picarro-dat"
    header = [c.strip() for c in first.split(",")]
    if mapping is not None:
        return "mapped-csv"
    if looks_like_dji(header):
        return "dji-airdata-csv"
    if looks_like_analyser(header):
        return "analyser-csv"
    raise FormatError(
        f"`{p.name}`: text file of unknown layout (first line {first[:80]!r}); for a CSV, describe its "
        "time column and units in a mapping file and pass it with --mapping")


def read_any(path, *, mapping=None, tz: str | None = None) -> ReadResult:
    """Read any supported file; ``mapping`` (dict or TOML path) for custom CSVs, ``tz`` for naive times.

    Raises :class:`~ecopatrol.core.errors.FormatError` naming the file when it is empty,
    truncated beyond use, binary garbage or not what it claims to be.
    """
    p = check_file(path)
    fmt = detect_format(p, mapping=mapping)
    hint = _EXT_HINT.get(p.suffix.lower())
    if hint and hint != fmt and not (hint == "csv" and fmt.endswith("csv")):
        log.warning("%s: extension says %s but the content is %s; reading it as %s", p.name, hint, fmt, fmt)
    check_size(p)
    res = guard_reader(lambda: _dispatch(p, fmt, mapping=mapping, tz=tz), p, fmt)
    if res.rows_read == 0 or (res.frame.empty and res.quarantine.empty):
        raise FormatError(f"`{p.name}`: {fmt} file with no data records")
    log.info("read %s: %s, %d rows, %d kept, %d quarantined", p.name, fmt, res.rows_read,
             len(res.frame), len(res.quarantine))
    return res


def _dispatch(p, fmt: str, *, mapping=None, tz: str | None = None) -> ReadResult:
    """Call the reader of ``fmt`` on ``p``."""
    if fmt == "dataflash":
        from .mavlink import read_dataflash
        res = read_dataflash(p)
    elif fmt == "dataflash-text":
        from .mavlink import read_dataflash
        res = read_dataflash(p, text=True)
    elif fmt == "tlog":
        from .mavlink import read_tlog
        res = read_tlog(p)
    elif fmt == "ulog":
        from .ulog import read_ulog
        res = read_ulog(p)
    elif fmt == "gpx":
        from .gnss_text import read_gpx
        res = read_gpx(p)
    elif fmt == "nmea":
        from .gnss_text import read_nmea
        res = read_nmea(p)
    elif fmt == "picarro-dat":
        from .picarro import read_picarro
        res = read_picarro(p)
    elif fmt == "dji-airdata-csv":
        from .dji import read_dji_csv
        res = read_dji_csv(p)
    elif fmt == "analyser-csv":
        from .tabular import read_analyser_csv
        res = read_analyser_csv(p, tz=tz)
    else:
        from .tabular import read_mapped_csv
        res = read_mapped_csv(p, mapping, tz=tz)
    return res
