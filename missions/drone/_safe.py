"""Defences of the drone side against untrusted names and files.

* :func:`safe_stem` refuses an identifier (sortie id, mission id, route id) that would make
  a file name leave its output folder (``../../x``, ``/etc/x``, ``C:\\x``) or be hidden or
  odd on a ground-station tablet. Ids the planners make (``S01``, ``R01``) always pass.
* :func:`safe_child` joins a name to an output folder and checks the result stays inside.
* :func:`read_kmz` reads a KMZ (DJI WPML mission, Google Earth KMZ) without extracting it to
  disk: member names are checked for path traversal, and the declared sizes and
  compression ratios are checked *before* anything is decompressed (zip bombs); the
  decompression itself is capped too, in case the declared sizes lie.
* :func:`parse_xml` parses KML/WPML with :mod:`defusedxml`: no DTD, no entity expansion,
  no external references.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from ecopatrol.core.errors import FormatError, InputError

_SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

MAX_KMZ_BYTES = 50 * 1024**2  # total uncompressed size of a mission KMZ (DJI's are a few kB)
MAX_KMZ_MEMBER_BYTES = 20 * 1024**2
MAX_KMZ_MEMBERS = 200
MAX_COMPRESSION_RATIO = 200.0  # XML compresses ~10-30×; a bomb compresses ~1000×


def safe_stem(value, *, what: str = "id", file: str | None = None) -> str:
    """``value`` as a file-name stem, or :class:`InputError` when it could escape the output folder.

    Allowed: letters, digits, ``_``, ``-`` and ``.`` (not first), at most 64 characters, no ``..``.
    """
    s = str(value)
    if not _SAFE_STEM.match(s) or ".." in s:
        where = f"`{file}`: " if file else ""
        raise InputError(f"{where}{what} {s!r} cannot be used in a file name (path separators, `..`, a leading "
                         "dot or unusual characters could write outside the output folder): use letters, digits, "
                         "`_`, `-` and `.` only, e.g. S01")
    return s


def safe_child(folder, name: str) -> Path:
    """``folder / name``, refusing a ``name`` whose resolved path is not inside ``folder``."""
    base = Path(folder).resolve()
    p = (base / name).resolve()
    if p != base and base not in p.parents:
        raise InputError(f"file name {name!r} would be written outside the output folder `{folder}`")
    return base / name


def _unsafe_member(name: str) -> bool:
    if not name or "\x00" in name:
        return True
    posix, win = PurePosixPath(name), PureWindowsPath(name)
    return (posix.is_absolute() or win.is_absolute() or bool(win.drive)
            or ".." in posix.parts or ".." in win.parts)


def read_kmz(path, *, max_total_bytes: int = MAX_KMZ_BYTES, max_member_bytes: int = MAX_KMZ_MEMBER_BYTES,
             max_members: int = MAX_KMZ_MEMBERS, max_ratio: float = MAX_COMPRESSION_RATIO) -> dict[str, bytes]:
    """The members of a KMZ as ``{name: bytes}``, read in memory after the safety checks.

    Raises :class:`FormatError` naming the file for a zip that is not a zip, a member name
    with ``..`` or an absolute path, too many members, a declared size or compression ratio
    beyond the limits, or a member that decompresses to more than it declared.
    """
    p = Path(path)
    name = p.name
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FormatError(f"`{name}`: not a readable KMZ/zip ({exc}); export the mission again") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise FormatError(f"`{name}`: {len(infos)} members in the KMZ (more than {max_members}): refused")
        bad = [i.filename for i in infos if _unsafe_member(i.filename)]
        if bad:
            raise FormatError(f"`{name}`: member name(s) {bad[:3]} point outside the archive (`..` or an absolute "
                              "path: a path-traversal attack); the file is refused")
        total = sum(i.file_size for i in infos)
        if total > max_total_bytes:
            raise FormatError(f"`{name}`: would unpack to {total / 1e6:.1f} MB (more than {max_total_bytes / 1e6:.0f} MB "
                              "a mission file may have): refused as a possible zip bomb")
        for i in infos:
            if i.file_size > max_member_bytes or (i.compress_size and i.file_size / i.compress_size > max_ratio
                                                  and i.file_size > 1024 * 1024):
                raise FormatError(f"`{name}`: member `{i.filename}` declares {i.file_size} bytes from "
                                  f"{i.compress_size} compressed: refused as a possible zip bomb")
        out: dict[str, bytes] = {}
        for i in infos:
            if i.is_dir():
                continue
            try:
                with zf.open(i) as fh:
                    data = fh.read(i.file_size + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                raise FormatError(f"`{name}`: member `{i.filename}` cannot be read ({exc})") from exc
            if len(data) > i.file_size:
                raise FormatError(f"`{name}`: member `{i.filename}` unpacks to more than it declares: refused")
            out[i.filename] = data
    return out


def parse_xml(data: bytes, *, file: str = "document.kml"):
    """Parse KML/WPML bytes with defusedxml (no DTD, entities or external references); returns the root
    (:func:`ecopatrol.core.safe_xml.parse_xml_safe`)."""
    from ecopatrol.core.safe_xml import parse_xml_safe

    return parse_xml_safe(data, file=file)


def read_wpml_mission(path) -> dict[str, object]:
    """The parsed ``wpmz/template.kml`` and ``wpmz/waylines.wpml`` of a DJI mission KMZ (roots by member name)."""
    members = read_kmz(path)
    xml = {n: parse_xml(b, file=f"{Path(path).name}:{n}") for n, b in members.items()
           if n.lower().endswith((".kml", ".wpml"))}
    if not xml:
        raise FormatError(f"`{Path(path).name}`: KMZ without a .kml or .wpml member: not a mission file")
    return xml
