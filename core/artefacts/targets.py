"""The targets artefact (``targets.csv``): its columns and its one reader, writer and validator,
and the target ids the planners take from it (:func:`read_targets_ranked`, :func:`resolve_target_ids`).

``rank,enterprise_id,name,score,reasons`` then the optional columns of
:data:`OPTIONAL_COLUMNS` (CONTRACTS.md, "Targets"). Written UTF-8 with a BOM so spreadsheet
programs show Chinese names; read in ``rank`` order (row order when ``rank`` is missing or not
numeric), with ``enterprise_id`` as text.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError, InputFileNotFoundError
from ..i18n import Msg
from ..io import atomic_path

log = logging.getLogger(__name__)

SCHEMA = "ecopatrol.targets/1"
REQUIRED_COLUMNS = ("rank", "enterprise_id", "name", "score", "reasons")
OPTIONAL_COLUMNS = ("industry", "positive_list", "evidence_score", "risk_score", "rate_g_s", "rate_sd_g_s",
                    "n_events", "n_confirmed_events", "best_hotspot_confidence", "flux_g_s", "emit_probability",
                    "violations_3y", "days_since_inspection", "lon", "lat")
TARGET_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)


def validate_targets(df: pd.DataFrame, *, what: str = "targets") -> None:
    """Raise :class:`InputError` naming the required columns a targets frame lacks."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {', '.join(missing)}")


def write_targets(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``targets.csv`` atomically (UTF-8 with BOM so spreadsheet programs show Chinese names)."""
    validate_targets(df)
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, encoding="utf-8-sig")
    log.info("wrote %s: %d targets", path.name, len(df))
    return path


def read_targets(path: str | Path) -> pd.DataFrame:
    """``targets.csv`` as a frame in rank order, ``enterprise_id`` as text.

    Only ``enterprise_id`` is required (a hand-made list of ids is a targets file): ``rank`` is
    numbered 1, 2, … in row order when it is missing or not numeric (``df.attrs["rank_from"]``
    says which: ``"file"`` or ``"row order"``).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError.keyed("file.missing", file=path, fix=Msg("fix.targets_file"))
    try:
        df = pd.read_csv(path, dtype={"enterprise_id": str})
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except Exception as exc:
        raise FormatError.keyed("file.not_csv", file=path.name, detail=exc) from exc
    if "enterprise_id" not in df.columns:
        raise FormatError.keyed("col.missing", file=path.name, column="enterprise_id", columns=", ".join(df.columns),
                                expected="`rank,enterprise_id,name,score,reasons`")
    ranks = pd.to_numeric(df["rank"], errors="coerce") if "rank" in df.columns else None
    if ranks is not None and ranks.notna().all():
        order = np.argsort(ranks.to_numpy(float), kind="stable")
        df = df.iloc[order].copy()
        df["rank"] = ranks.iloc[order].astype(int).to_numpy()
        rank_from = "file"
    else:
        df = df.drop(columns=["rank"], errors="ignore")
        df.insert(0, "rank", np.arange(1, len(df) + 1))
        rank_from = "row order"
    df = df.reset_index(drop=True)
    df.attrs["rank_from"] = rank_from  # where ``rank`` comes from: the file's column or the row order
    return df


def read_targets_file(path: str | Path) -> list[str]:
    """Enterprise ids from a ``targets.csv`` (column ``enterprise_id``; ordered by ``rank`` if present)."""
    return read_targets_ranked(path)[0]


def read_targets_ranked(path: str | Path) -> tuple[list[str], list[int]]:
    """``(ids, ranks)`` from a ``targets.csv`` (or an ``alarms.csv``: strongest alarm first), in rank
    order: the ``rank`` column when it is numeric, else the row order (1, 2, …); each id once."""
    path = Path(path)
    df = read_targets(path)
    numeric = df.attrs.get("rank_from") == "file"
    # blank ids are skipped (an alarms.csv row of a logger no monitors file names has none) and an
    # enterprise listed twice (several alarms) keeps its first, highest-priority row
    seen: set[str] = set()
    keep = []
    for v in df["enterprise_id"]:
        e = str(v).strip()
        keep.append(bool(e) and e != "nan" and e not in seen)
        seen.add(e)
    ids = [str(v).strip() for v, k in zip(df["enterprise_id"], keep) if k]
    if not ids:
        raise InputError.keyed("targets.none", file=path.name)
    if not numeric:
        return ids, list(range(1, len(ids) + 1))
    return ids, [int(r) for r, k in zip(df["rank"], keep) if k]


def resolve_target_ids(targets: str | None, targets_file: str | Path | None) -> list[str]:
    """Target ids from exactly one of ``ID[,ID…]`` or a ``targets.csv`` (the planners' CLI options)."""
    if (targets is None) == (targets_file is None):
        raise InputError.keyed("opt.targets_one")
    return parse_target_ids(targets) if targets is not None else read_targets_file(targets_file)


def parse_target_ids(text: str) -> list[str]:
    """Split ``ID[,ID…]`` into a list, dropping blanks."""
    ids = [t.strip() for t in str(text).split(",") if t.strip()]
    if not ids:
        raise InputError.keyed("opt.targets_empty")
    return ids
