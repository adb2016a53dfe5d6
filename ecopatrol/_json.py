"""One JSON encoder for every ``--json`` output of the ``ecopatrol`` command.

Results hold numpy and pandas scalars (``int64``, ``float64``, ``bool_``, ``Timestamp``),
NaN, paths and dataclasses; :func:`to_jsonable` turns them into plain JSON values (NaN,
±inf, ``NaT`` and ``NA`` → ``null``, paths → strings, times → ISO 8601) and :func:`dumps`
writes one strict JSON document. numpy and pandas are not imported here: an object can
only be one of theirs if its module is already loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import sys
from collections.abc import Mapping
from pathlib import PurePath


def to_jsonable(obj):
    """``obj`` as nested dicts, lists, strings, finite floats, ints, bools and ``None``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {_key(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.metadata.get("json", True)}
    special = _numpy_pandas(obj)
    if special is not _NOT:
        return special
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):  # after pandas: NaT subclasses datetime
        return obj.isoformat()
    if isinstance(obj, dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    geo = getattr(obj, "__geo_interface__", None)  # shapely geometries
    if geo is not None:
        return to_jsonable(geo)
    return str(obj)


def dumps(obj, *, indent: int | None = 2) -> str:
    """One strict JSON document (no NaN), non-ASCII text kept as is."""
    return json.dumps(to_jsonable(obj), ensure_ascii=False, indent=indent, allow_nan=False)


_NOT = object()


def _key(k) -> str:
    v = to_jsonable(k)
    return v if isinstance(v, str) else json.dumps(v)


def _numpy_pandas(obj):
    pd = sys.modules.get("pandas")
    if pd is not None:
        if obj is pd.NaT or obj is pd.NA:
            return None
        if isinstance(obj, pd.Timestamp):
            return obj.isoformat()
        if isinstance(obj, pd.Timedelta):
            return obj.total_seconds()
        if isinstance(obj, pd.DataFrame):
            return to_jsonable(obj.to_dict(orient="records"))
        if isinstance(obj, (pd.Series, pd.Index)):
            return to_jsonable(obj.tolist())
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(obj, np.datetime64):
            return None if np.isnat(obj) else str(np.datetime_as_string(obj))
        if isinstance(obj, np.timedelta64):
            return None if np.isnat(obj) else obj / np.timedelta64(1, "s")
        if isinstance(obj, (np.generic, np.ndarray)):
            return to_jsonable(obj.tolist())
    return _NOT


def echo_json(obj) -> None:
    """Print ``obj`` as the one JSON document of a ``--json`` command (stdout)."""
    import typer

    typer.echo(dumps(obj))


def error_document(message: str, exit_code: int) -> dict:
    """What a ``--json`` command prints on stdout when it fails."""
    return {"error": str(message), "exit_code": int(exit_code)}
