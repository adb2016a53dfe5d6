"""Atomic file output and file hashing, shared by every writer.

Outputs are written to a temporary file in the destination folder and moved into place
with ``os.replace`` (atomic on POSIX and Windows), so a crash never leaves a half-written
plan, sample file or map behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix, for writers that pick a driver from
    it); on success move it onto ``path``, on any error remove it and re-raise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL refuse to overwrite an existing empty file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: str | Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` atomically; returns ``path``."""
    path = Path(path)
    raw = data.encode(encoding) if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
    return path


def sha256_file(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_bytes), b""):
            h.update(chunk)
    return h.hexdigest()


# the names atomic_path gives its temporary files: ``.{stem}.{8 random}.tmp{suffix}``, and what
# SQLite/GDAL put beside one (``-journal``, ``-wal``, ``-shm``, ``.aux.xml``)
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[^/\\]*)?(-journal|-wal|-shm|\.aux\.xml)?$")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`atomic_path` (or a side file of one)."""
    return bool(_TEMP_NAME.match(name))


def remove_stale_temps(folder: str | Path, *, recursive: bool = True, target: str | Path | None = None) -> list[Path]:
    """Remove the temporary files :func:`atomic_path` leaves behind when its process is killed
    (SIGKILL, power loss: no ``except`` runs). Commands call it on their output folder before
    writing (or with ``target``, for the temporaries of that one output file only), so a rerun
    after a crash leaves only complete outputs. Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    pattern = f".{Path(target).stem}.*" if target is not None else ".*"
    for p in folder.rglob(pattern) if recursive else folder.glob(pattern):
        if p.is_file() and is_temp_name(p.name):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed
