"""The plan artefact (``plans/<kind>/plan.json``, schema ``ecopatrol.plan/1``): its one reader, writer and validator.

A plan is a JSON object (CONTRACTS.md, "Plan"): ``schema``, ``kind`` (:data:`PLAN_KINDS`),
``sorties`` (drone) or ``routes`` (van), and extra keys that are preserved. The planners
write it with :func:`write_plan`; the simulator, the pre-flight validator, the upload, the
evidence CLI and the maps read it with :func:`read_plan`. :func:`validate_plan` checks the
structure every consumer relies on (the drone pre-flight checks of heights, airspace and
batteries are ``ecopatrol.missions.drone.validate``'s).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import FormatError, InputFileNotFoundError, Report
from ..io import atomic_write, read_json_bounded

PLAN_SCHEMA = "ecopatrol.plan/1"
PLAN_SCHEMA_FAMILY = "ecopatrol.plan/"
#: What a plan is for; the platform kind of the samples it yields (samples' ``platform_kind``).
PLAN_KINDS = ("drone", "van")
PLAN_FILE = "plan.json"
#: The largest plan file read (a plan.json / .plan of 100 sorties is well under 1 MB).
MAX_PLAN_BYTES = 8 * 1024**2


def plan_kind(plan: dict) -> str | None:
    """The plan's ``kind``, else ``drone`` when it has ``sorties``, ``van`` when it has ``routes``."""
    k = plan.get("kind")
    if k:
        return str(k)
    return "drone" if "sorties" in plan else "van" if "routes" in plan else None


def read_plan(path: str | Path, *, kind: str | None = None, check_schema: bool = True):
    """Read a ``plan.json`` (or the ``plan.json`` inside a folder) as a dict.

    Raises :class:`InputFileNotFoundError` when absent and :class:`FormatError` when it is over
    :data:`MAX_PLAN_BYTES` (refused before reading), not JSON (NaN / Infinity literals, invalid
    UTF-8 and absurd nesting included) or not an ecopatrol plan (its ``schema`` is not
    ``ecopatrol.plan/…``). With ``check_schema=False`` the parsed JSON is returned whatever it
    holds, for a validator that reports every problem of it itself (the drone pre-flight check).
    What a plan holds is checked by :func:`validate_plan`.
    """
    p = Path(path)
    if p.is_dir():
        p = p / PLAN_FILE
    if not p.is_file():
        raise InputFileNotFoundError.keyed("plan.missing", file=p, kind=kind or "drone|van")
    again = f"`ecopatrol plan {kind or 'drone'}`"
    plan = read_json_bounded(p, what=PLAN_FILE, max_bytes=MAX_PLAN_BYTES, fix=f"write the plan again with {again}",
                             edit_fix=f"write it again with {again} rather than editing it by hand")
    if check_schema and (not isinstance(plan, dict) or not str(plan.get("schema", "")).startswith(PLAN_SCHEMA_FAMILY)):
        got = plan.get("schema") if isinstance(plan, dict) else type(plan).__name__
        raise FormatError(f"`{p}`: field `schema` must be {PLAN_SCHEMA!r} (got {got!r}); this is not an "
                          "ecopatrol plan")
    return plan


def write_plan(plan: dict, path: str | Path) -> Path:
    """Write ``plan`` (a dict with ``schema`` :data:`PLAN_SCHEMA`) atomically as ``path``; returns it."""
    if plan.get("schema") != PLAN_SCHEMA:
        raise ValueError(f"a plan to write has schema {plan.get('schema')!r}, expected {PLAN_SCHEMA!r}")
    return atomic_write(path, json.dumps(plan, indent=1, ensure_ascii=False))


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def validate_plan(plan: dict, *, kind: str, file: str = PLAN_FILE, report: Report | None = None,
                  content: bool = True) -> Report:
    """Check a ``kind`` plan: its schema and kind, then (``content``) the sorties' waypoints or the
    routes' paths and legs.

    Returns the :class:`Report` (``report`` when given, added to); every problem is listed.
    """
    rep = report if report is not None else Report()
    if not isinstance(plan, dict):
        rep.error("the plan must be a JSON object", file=file)
        return rep
    if plan.get("schema") != PLAN_SCHEMA:
        rep.error(f"`schema` is {plan.get('schema')!r}, expected {PLAN_SCHEMA!r}", file=file, field="schema")
    if plan.get("kind") not in (None, kind):
        rep.error(f"`kind` is {plan.get('kind')!r} but the file is the {kind} plan", file=file, field="kind")
    if content:
        _check_content(plan, kind, file, rep)
    return rep


def _check_content(plan: dict, kind: str, file: str, rep: Report) -> None:
    if kind == "drone":
        for i, s in enumerate(plan.get("sorties") or []):
            wps = s.get("waypoints") or []
            if not wps:
                rep.error(f"sortie {s.get('sortie_id', i)} has no waypoints", file=file, field="waypoints")
            for j, w in enumerate(wps):
                for k in ("lon", "lat", "alt_agl_m"):
                    if not _finite(w.get(k)):
                        rep.error(f"sortie {s.get('sortie_id', i)} waypoint {j}: `{k}` is {w.get(k)!r}",
                                  file=file, field=k)
            if not _finite((s.get("launch") or {}).get("lon")) and wps:
                rep.warning(f"sortie {s.get('sortie_id', i)} has no launch point: the first waypoint is used",
                            file=file, field="launch")
        if not plan.get("sorties"):
            rep.error("the drone plan has no `sorties`", file=file, field="sorties")
    else:
        for i, r in enumerate(plan.get("routes") or []):
            path = r.get("path") or []
            if len(path) < 2:
                rep.error(f"route {r.get('route_id', i)}: `path` needs at least 2 points", file=file, field="path")
            bad = [j for j, p in enumerate(path) if not (isinstance(p, (list, tuple)) and len(p) >= 2
                                                       and _finite(p[0]) and _finite(p[1]))]
            if bad:
                rep.error(f"route {r.get('route_id', i)}: path points {bad[:5]} are not [lon, lat]",
                          file=file, field="path")
            for leg in r.get("legs") or []:
                a, b = leg.get("start_idx"), leg.get("end_idx")
                if not (isinstance(a, int) and isinstance(b, int) and 0 <= a <= b < max(len(path), 1)):
                    rep.error(f"route {r.get('route_id', i)} leg {leg.get('leg_id')}: start_idx/end_idx "
                              f"{a}/{b} outside the path (0..{len(path) - 1})", file=file, field="legs")
        if not plan.get("routes"):
            rep.error("the van plan has no `routes`", file=file, field="routes")


def plan_targets(plan: dict | None) -> list[str]:
    """Every target a plan visits (sorties' ``targets`` and waypoints, routes' covered and legs), once each."""
    if not plan:
        return []
    out: list[str] = []
    for s in plan.get("sorties") or []:
        out += [str(t) for t in s.get("targets") or []]
        out += [str(w["target_id"]) for w in s.get("waypoints") or [] if w.get("target_id")]
    for r in plan.get("routes") or []:
        out += [str(t) for t in r.get("targets_covered") or []]
        out += [str(leg["target_id"]) for leg in r.get("legs") or [] if leg.get("target_id")]
    return list(dict.fromkeys(out))


def sortie_targets(plan: dict | None) -> dict[str, list[str]]:
    """Per sortie id: its ``targets`` (else the targets of its waypoints, sorted)."""
    if not plan:
        return {}
    out = {}
    for s in plan.get("sorties", []):
        t = s.get("targets") or sorted({w.get("target_id") for w in s.get("waypoints", []) if w.get("target_id")})
        out[str(s.get("sortie_id"))] = list(t)
    return out
