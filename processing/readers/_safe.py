"""Defences of the readers against hostile or broken field files.

Files from the field are untrusted. XML (GPX) is checked with :mod:`defusedxml` before any
other parser sees it: a DTD, an entity declaration (billion laughs, quadratic blow-up) or
an external entity (XXE: reading local files or URLs) anywhere in the file is refused,
not only in its first kilobytes. Files larger than :data:`MAX_INPUT_BYTES` are refused
before they are read into memory.

:func:`guard_reader` is the last line of defence of :func:`~ecopatrol.processing.readers.read_any`:
a reader bug on some corrupt file becomes a :class:`~ecopatrol.core.errors.FormatError`
naming the file (and the exception, so the bug can be reported) instead of a traceback.
The readers themselves are fuzzed without this net (``tests/test_fuzz_readers.py``).
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

from ecopatrol.core.errors import EcopatrolError, FormatError

log = logging.getLogger(__name__)

# Largest single field file read into memory (a day of 10 Hz analyser data is ~50 MB).
MAX_INPUT_BYTES = 2 * 1024**3


def check_size(path: Path, *, max_bytes: int = MAX_INPUT_BYTES) -> int:
    """Size of ``path`` in bytes; :class:`FormatError` when it exceeds ``max_bytes``."""
    n = Path(path).stat().st_size
    if n > max_bytes:
        raise FormatError(f"`{Path(path).name}`: {n / 1e9:.1f} GB is larger than the {max_bytes / 1e9:.1f} GB "
                          "a field file may have; split it (by day or by flight) and read the parts")
    return n


def check_xml_safe(data: bytes, path: Path, *, what: str = "XML") -> None:
    """Refuse XML with a DTD, entity declarations or external references; refuse malformed XML
    (:func:`ecopatrol.core.safe_xml.parse_xml_safe`: the check itself never expands an entity nor
    opens a file or URL)."""
    from ecopatrol.core.safe_xml import parse_xml_safe

    parse_xml_safe(data, file=Path(path).name, what=what,
                   hostile_why=": such files can expand without bound or read local files",
                   hostile_fix="; re-export the file from the device or app",
                   malformed_fix="; the file may be truncated: copy or export it again")


def guard_reader(read, path: Path, fmt: str):
    """Call ``read()``; any exception that is not an ecopatrol error becomes a FormatError naming ``path``.

    ``MemoryError`` and ``RecursionError`` are converted too (a hostile file must not take
    the process down with a traceback); ``KeyboardInterrupt``/``SystemExit`` pass.
    """
    try:
        return read()
    except EcopatrolError:
        raise
    except Exception as exc:  # noqa: BLE001 - the point: no raw traceback for a bad file
        log.debug("reader %s failed on %s", fmt, path, exc_info=True)
        raise FormatError(
            f"`{Path(path).name}`: cannot be read as {fmt} ({type(exc).__name__}: {exc}); the file is "
            "corrupt or of an unexpected variant: export it again, and report the file if it opens in "
            "the vendor's software") from exc


@contextlib.contextmanager
def quiet_stdout(path: Path):
    """Capture what third-party parsers (pymavlink, pyulog) print about corrupt records.

    The library never prints: their complaints go to the debug log, summarised in one line.
    """
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    finally:
        text = buf.getvalue()
        if text:
            lines = text.splitlines()
            log.debug("%s: the parser reported %d line(s) about corrupt data, first: %s",
                      Path(path).name, len(lines), lines[0][:200])


def num_col(raw, name: str, n: int):
    """Column ``name`` of ``raw`` as float64 (NaN where missing or not a number); all NaN if absent."""
    import numpy as np
    import pandas as pd

    if name not in raw:
        return np.full(n, np.nan)
    col = raw[name]
    if col.dtype.kind in "iufb":
        return col.to_numpy(dtype=float)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
