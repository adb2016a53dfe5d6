"""Atomic file output, bounded JSON input and file hashing, shared by every writer and reader.

Outputs are written to a temporary file in the destination folder and moved into place
with ``os.replace`` (atomic on POSIX and Windows), so a crash never leaves a half-written
plan, sample file or map behind. Files a person may hand-edit (plans, mission files) are read
with :func:`read_json_bounded`, which refuses an oversized file before reading it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import FormatError


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


def write_with(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` on a temporary file beside ``path``, then rename it into place
    (:func:`atomic_path`); returns ``path``. For writers that want a file name (pandas, GDAL)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        writer(tmp)
    return path


def write_gpkg(gdf, path: str | Path, *, layer: str | None = None) -> Path:
    """Write a GeoDataFrame to a GeoPackage atomically (EPSG:4326; layer default: the file's stem)."""
    layer = layer or Path(path).stem

    def _w(tmp: Path) -> None:
        g = gdf.to_crs("EPSG:4326") if gdf.crs is not None else gdf.set_crs("EPSG:4326")
        g.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")

    return write_with(path, _w)


def write_csv(df, path: str | Path) -> Path:
    """Write a DataFrame as CSV atomically (UTF-8, no index)."""
    return write_with(path, lambda tmp: df.to_csv(tmp, index=False))


def refuse_oversize(path: str | Path, max_bytes: int, *, what: str, fix: str = "") -> int:
    """The size of ``path`` in bytes; a :class:`FormatError` naming the file (and ``fix``, a
    sentence such as "write the plan again with …") when it is over ``max_bytes``."""
    p = Path(path)
    size = p.stat().st_size
    if size > max_bytes:
        raise FormatError(f"`{p.name}`: {size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.0f} MB a {what} may "
                          f"have: refused before reading it{' — ' + fix if fix else ''}")
    return size


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows (non-finite values are refused)")


def read_json_bounded(path: str | Path, *, what: str, max_bytes: int, fix: str, edit_fix: str):
    """The parsed JSON of ``path``, refusing before parsing a file over ``max_bytes`` (``fix`` says
    what to do); NaN / Infinity literals, invalid UTF-8, absurd nesting and non-JSON are refused
    with the file's name (``edit_fix`` says what to do)."""
    p = Path(path)
    try:
        refuse_oversize(p, max_bytes, what=what, fix=fix)
    except OSError as exc:
        raise FormatError(f"`{p.name}` cannot be read: {exc}") from exc
    try:
        with open(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise FormatError(f"`{p.name}`: grew beyond {max_bytes / 1e6:.0f} MB while being read: refused")
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"`{p.name}` is not a readable {what}: {exc} — {edit_fix}") from exc


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
