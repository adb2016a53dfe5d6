"""Writing the ledger: recorded runs, on-site outcomes (one at a time or a CSV batch), exports.

Every write is one transaction (SQLite: ``BEGIN IMMEDIATE``, the write lock taken at once, so two
writers queue instead of failing on a lock upgrade; PostgreSQL: ``ON CONFLICT`` on the unique keys,
so two analysts recording the same run or the same visit at once store it once). A crash or an
error mid-way rolls the whole run back: nothing half-written.
"""

from __future__ import annotations

import csv
import getpass
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from ecopatrol.core.errors import InputError, InputFileNotFoundError, where

log = logging.getLogger(__name__)

#: An on-site visit within this many days after a suspicious off-site check of the firm follows up
#: that survey (its trigger defaults to ``survey evidence``; a clean outcome then weighs against it).
FOLLOW_UP_DAYS = 60
RESULT_WORDS = {"violation": "violation confirmed", "violation confirmed": "violation confirmed",
                "clean": "clean", "违法": "violation confirmed", "合格": "clean", "无问题": "clean"}
TRIGGER_WORDS = {"routine": "routine plan", "routine plan": "routine plan", "random": "random draw",
                 "random draw": "random draw", "alarm": "alarm", "survey": "survey evidence",
                 "survey evidence": "survey evidence", "complaint": "complaint"}


def recorded_by_default() -> str:
    return os.environ.get("ECOPATROL_USER") or _user()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container)
        return "unknown"


def _insert(engine_or_conn, table):
    if engine_or_conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _begin(engine):
    """A connection in one write transaction (``with _begin(engine) as conn:``)."""
    conn = engine.connect()
    if engine.dialect.name == "sqlite":
        conn = conn.execution_options(sqlite_immediate=True)
    return _Tx(conn)


class _Tx:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.tx = self.conn.begin()
        return self.conn

    def __exit__(self, exc_type, *_):
        try:
            if exc_type is None:
                self.tx.commit()
            else:
                self.tx.rollback()
        finally:
            self.conn.close()


def upsert_enterprises(conn, enterprises: pd.DataFrame, area: str | None) -> int:
    """The registry's firms into ``ledger_enterprises`` (sorted by id: concurrent writers lock in one order).

    Name, industry, positive list and position follow the latest registry; the registry's
    ``violations_3y`` and ``last_inspected`` are kept as first registered — the ledger adds its
    own outcomes to that baseline, so a registry exported from the ledger and loaded again does
    not count the ledger's violations twice.
    """
    from ecopatrol.core.db.schema import ledger_enterprises as T
    from ecopatrol.processing._evidence_util import lonlat_of

    if enterprises is None or not len(enterprises):
        return 0
    e = enterprises
    lon, lat = lonlat_of(e)
    last = pd.to_datetime(e["last_inspected"], utc=True, errors="coerce") if "last_inspected" in e.columns \
        else pd.Series(pd.NaT, index=e.index)
    viol = pd.to_numeric(e["violations_3y"], errors="coerce").fillna(0).astype(int) if "violations_3y" in e.columns \
        else pd.Series(0, index=e.index)
    now = datetime.now(UTC)
    rows = []
    for i in range(len(e)):
        li = last.iloc[i]
        rows.append({"enterprise_id": str(e["enterprise_id"].iloc[i]),
                     "name": str(e["name"].iloc[i]) if "name" in e.columns else None,
                     "industry": str(e["industry"].iloc[i]) if "industry" in e.columns else None,
                     "positive_list": bool(e["positive_list"].iloc[i]) if "positive_list" in e.columns else False,
                     "lon": float(lon[i]), "lat": float(lat[i]),
                     "registry_last_inspected": None if pd.isna(li) else li.to_pydatetime(),
                     "registry_violations_3y": int(viol.iloc[i]), "area": area, "updated_utc": now})
    rows.sort(key=lambda r: r["enterprise_id"])
    st = _insert(conn, T)
    st = st.on_conflict_do_update(index_elements=["enterprise_id"], set_={
        "name": st.excluded.name, "industry": st.excluded.industry, "positive_list": st.excluded.positive_list,
        "lon": st.excluded.lon, "lat": st.excluded.lat, "area": st.excluded.area, "updated_utc": st.excluded.updated_utc})
    conn.execute(st, rows)
    return len(rows)


def register_area(engine, area) -> int:
    """Load an area's registry into the ledger (firms an inspection may name)."""
    with _begin(engine) as conn:
        return upsert_enterprises(conn, area.enterprises, area.name)


@dataclass
class RecordResult:
    run_key: str
    run_id: int | None
    new: bool
    checks_new: int
    checks: int
    summary: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"run_key": self.run_key, "run_id": self.run_id, "new": self.new, "checks_new": self.checks_new,
                "checks": self.checks, **{k: v for k, v in self.summary.items() if k not in ("run_key", "checks")}}


def _check_rows(assessment, run_id: int, by: str, now: datetime):
    """The rows of a run's checks (a generator: tests break it mid-way to show nothing is half-written)."""
    for c in assessment.checks:
        yield {"check_key": f"offsite:{assessment.run_key}:{c['enterprise_id']}", "run_id": run_id,
               "recorded_by": by, "recorded_utc": now, "alarm_ids": None, "note": None, **c}


def recorded_run(engine, run_key: str) -> dict | None:
    """The ledger's row of a run already recorded (``None`` when it is not)."""
    from sqlalchemy import select

    from ecopatrol.core.db.schema import ledger_runs as R

    with engine.connect() as conn:
        row = conn.execute(select(R).where(R.c.run_key == run_key)).mappings().first()
    return dict(row) if row else None


def record_run(engine, assessment, *, recorded_by: str | None = None) -> RecordResult:
    """Store a run's off-site checks (:func:`~.coverage.assess_run`) in one transaction.

    Idempotent: a run already recorded (same ``run_key``) adds nothing, also when two analysts
    record it at the same moment."""
    from sqlalchemy import select

    from ecopatrol.core.db.schema import ledger_checks as C
    from ecopatrol.core.db.schema import ledger_runs as R

    by = recorded_by or recorded_by_default()
    now = datetime.now(UTC)

    def ts(t):
        return None if t is None else pd.Timestamp(t).tz_convert("UTC").to_pydatetime()

    with _begin(engine) as conn:
        upsert_enterprises(conn, assessment.enterprises, assessment.area)
        st = _insert(conn, R).values(
            run_key=assessment.run_key, run_dir=str(Path(assessment.run_dir).resolve()), area=assessment.area,
            survey_start_utc=ts(assessment.survey_start_utc), survey_end_utc=ts(assessment.survey_end_utc),
            recorded_utc=now, recorded_by=by, detection_rate_g_s=assessment.detection_rate_g_s,
            n_checks=len(assessment.checks), files=json.dumps(assessment.files, ensure_ascii=False),
        ).on_conflict_do_nothing(index_elements=["run_key"]).returning(R.c.id)
        run_id = conn.execute(st).scalar()
        if run_id is None:  # recorded before
            old = conn.execute(select(R.c.id, R.c.n_checks).where(R.c.run_key == assessment.run_key)).one()
            return RecordResult(assessment.run_key, int(old.id), False, 0, int(old.n_checks), assessment.summary())
        batch = []
        ins = _insert(conn, C).on_conflict_do_nothing(index_elements=["check_key"])
        for row in _check_rows(assessment, run_id, by, now):
            batch.append(row)
            if len(batch) >= 500:
                conn.execute(ins, batch)
                batch = []
        if batch:
            conn.execute(ins, batch)
    log.info("ledger: run %s… recorded, %d checks", assessment.run_key[:12], len(assessment.checks))
    return RecordResult(assessment.run_key, int(run_id), True, len(assessment.checks), len(assessment.checks),
                        assessment.summary())


# ---------------------------------------------------------------- on-site outcomes
@dataclass
class ImportResult:
    accepted: int = 0
    duplicates: int = 0
    refused: list[dict] = field(default_factory=list)  # {row, field, value, reason}
    checks: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "refused": self.refused,
                "checks": [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in c.items()
                            if k in ("enterprise_id", "time_utc", "trigger", "result", "note", "check_key")}
                           for c in self.checks]}


def _parse_date(text: str) -> datetime:
    t = str(text).strip()
    try:
        d = date.fromisoformat(t[:10])
    except ValueError:
        raise ValueError(f"{t!r} is not a date: use YYYY-MM-DD") from None
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _validate(rows: list[dict], known: set[str], suspicious: dict[str, list[datetime]], *, today: date,
              file: str | None, first_row: int) -> tuple[list[dict], list[dict]]:
    good, bad = [], []
    for i, r in enumerate(rows):
        rowno = first_row + i
        eid = str(r.get("enterprise_id") or "").strip()

        def refuse(fld, value, reason, rowno=rowno):
            bad.append({"row": rowno, "field": fld, "value": value,
                        "reason": f"{where(file, rowno, fld)}{reason}"})

        if not eid:
            refuse("enterprise_id", eid, "no enterprise id")
            continue
        if eid not in known:
            refuse("enterprise_id", eid, f"unknown firm {eid!r}: not in the ledger's registry (record a run of its "
                                         "area first, or `ecopatrol ledger register AREA`)")
            continue
        try:
            when = _parse_date(r.get("date") or "")
        except ValueError as exc:
            refuse("date", r.get("date"), str(exc))
            continue
        if when.date() > today:
            refuse("date", r.get("date"), f"{when.date()} is in the future")
            continue
        res_word = str(r.get("result") or "").strip().lower()
        if res_word not in RESULT_WORDS:
            refuse("result", r.get("result"), f"unknown result {r.get('result')!r}: violation or clean")
            continue
        trig_word = str(r.get("trigger") or "").strip().lower()
        if trig_word and trig_word not in TRIGGER_WORDS:
            refuse("trigger", r.get("trigger"), f"unknown trigger {r.get('trigger')!r}: routine, random, alarm, "
                                               "survey or complaint")
            continue
        if trig_word:
            trigger = TRIGGER_WORDS[trig_word]
        else:  # a visit soon after a suspicious survey follows it up
            before = [t for t in suspicious.get(eid, []) if timedelta(0) <= when - t.replace(
                hour=0, minute=0, second=0, microsecond=0) <= timedelta(days=FOLLOW_UP_DAYS)]
            trigger = "survey evidence" if before else "routine plan"
        note = (str(r.get("note") or "").strip() or None)
        alarms = (str(r.get("alarm_ids") or "").strip() or None)
        good.append({"check_key": f"onsite:{eid}:{when.date().isoformat()}:{trigger}", "enterprise_id": eid,
                     "time_utc": when, "kind": "on-site", "method": "on-site", "trigger": trigger,
                     "result": RESULT_WORDS[res_word], "note": note, "alarm_ids": alarms,
                     "reason": f"on-site inspection: {RESULT_WORDS[res_word]}" + (f" ({note})" if note else ""),
                     "evidence": json.dumps([{"file": file}] if file else [], ensure_ascii=False),
                     "run_id": None, "rate_g_s": None, "emit_probability": None, "n_samples_covering": None,
                     "inspector": str(r.get("inspector") or "").strip() or None})
    return good, bad


def record_inspections(engine, rows: list[dict], *, recorded_by: str | None = None, file: str | None = None,
                       first_row: int = 1, today: date | None = None) -> ImportResult:
    """Store on-site outcomes (dicts with ``enterprise_id``, ``date``, ``result`` and optional ``trigger``,
    ``note``, ``alarm_ids``, ``inspector``). Bad rows are refused with their row and reason; the good ones
    are stored together in one transaction (a visit already stored is counted as a duplicate)."""
    from sqlalchemy import select

    from ecopatrol.core.db.schema import ledger_checks as C
    from ecopatrol.core.db.schema import ledger_enterprises as E

    by = recorded_by or recorded_by_default()
    # a day's slack by default: a local date (UTC+8) runs ahead of UTC
    today = today or datetime.now(UTC).date() + timedelta(days=1)
    out = ImportResult()
    with _begin(engine) as conn:
        known = set(conn.execute(select(E.c.enterprise_id)).scalars())
        susp: dict[str, list[datetime]] = {}
        for eid, t in conn.execute(select(C.c.enterprise_id, C.c.time_utc).where(
                C.c.kind == "off-site", C.c.result == "suspicious")):
            susp.setdefault(eid, []).append(t)
        good, out.refused = _validate(rows, known, susp, today=today, file=file, first_row=first_row)
        now = datetime.now(UTC)
        ins = _insert(conn, C).on_conflict_do_nothing(index_elements=["check_key"]).returning(C.c.id)
        for g in good:
            inspector = g.pop("inspector")
            g.update(recorded_by=inspector or by, recorded_utc=now)
            n = int(conn.execute(ins, g).first() is not None)
            out.accepted += n
            out.duplicates += 1 - n
        out.checks = good
    for b in out.refused:
        log.warning("refused: %s", b["reason"])
    return out


def import_inspections_csv(engine, path: str | Path, **kw) -> ImportResult:
    """:func:`record_inspections` from a CSV (``enterprise_id,date,result[,trigger,note,alarm_ids,inspector]``,
    UTF-8 with or without BOM); rows are numbered as in the file (the header is row 1)."""
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"`{path}` not found: a CSV of on-site outcomes "
                                     "(enterprise_id,date,result[,trigger,note])")
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("enterprise_id", "date", "result") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"`{path.name}`: missing column(s) {', '.join(missing)}; the header must name "
                             "enterprise_id,date,result (trigger, note, alarm_ids, inspector optional)")
        rows = list(reader)
    return record_inspections(engine, rows, file=path.name, first_row=2, **kw)


# ---------------------------------------------------------------- reading and exporting
def read_checks(engine, *, date_from: datetime | None = None, date_to: datetime | None = None) -> pd.DataFrame:
    """Every check (with its firm's positive list, name and position), oldest first."""
    from sqlalchemy import select

    from ecopatrol.core.db.schema import ledger_checks as C
    from ecopatrol.core.db.schema import ledger_enterprises as E

    q = select(C.c.id, C.c.enterprise_id, C.c.time_utc, C.c.kind, C.c.method, C.c.trigger, C.c.result,
               C.c.reason, C.c.evidence, C.c.alarm_ids, C.c.run_id, C.c.rate_g_s, C.c.emit_probability,
               C.c.n_samples_covering, C.c.note, C.c.recorded_by, C.c.recorded_utc,
               E.c.name, E.c.positive_list, E.c.lon, E.c.lat).join(E, E.c.enterprise_id == C.c.enterprise_id)
    if date_from is not None:
        q = q.where(C.c.time_utc >= date_from)
    if date_to is not None:
        q = q.where(C.c.time_utc < date_to)
    q = q.order_by(C.c.time_utc, C.c.id)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(q)]
    df = pd.DataFrame.from_records(rows, columns=["id", "enterprise_id", "time_utc", "kind", "method", "trigger", "result",
                                     "reason", "evidence", "alarm_ids", "run_id", "rate_g_s", "emit_probability",
                                     "n_samples_covering", "note", "recorded_by", "recorded_utc", "name",
                                     "positive_list", "lon", "lat"])
    df["time_utc"] = pd.to_datetime(df["time_utc"], utc=True)
    return df


STAT_COLUMNS = ["enterprise_id", "time_utc", "kind", "method", "trigger", "result", "run_id", "positive_list"]


def read_check_facts(engine, *, date_from: datetime | None = None, date_to: datetime | None = None) -> pd.DataFrame:
    """The columns statistics need (:data:`STAT_COLUMNS`), fast: no text, times parsed in one go by pandas."""
    from sqlalchemy import String, select, type_coerce

    from ecopatrol.core.db.schema import ledger_checks as C
    from ecopatrol.core.db.schema import ledger_enterprises as E

    t = type_coerce(C.c.time_utc, String) if engine.dialect.name == "sqlite" else C.c.time_utc
    q = select(C.c.enterprise_id, t, C.c.kind, C.c.method, C.c.trigger, C.c.result, C.c.run_id,
               E.c.positive_list).join(E, E.c.enterprise_id == C.c.enterprise_id)
    if date_from is not None:
        q = q.where(C.c.time_utc >= date_from)
    if date_to is not None:
        q = q.where(C.c.time_utc < date_to)
    with engine.connect() as conn:
        rows = conn.execute(q).cursor.fetchall()  # the driver's tuples: the types are fixed below, in one go
    df = pd.DataFrame.from_records(rows, columns=STAT_COLUMNS)
    df["time_utc"] = pd.to_datetime(df["time_utc"], utc=True, format="ISO8601")
    df["positive_list"] = df["positive_list"].astype(bool)
    return df


def read_enterprises(engine) -> pd.DataFrame:
    from sqlalchemy import select

    from ecopatrol.core.db.schema import ledger_enterprises as E

    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(E).order_by(E.c.enterprise_id))]
    df = pd.DataFrame.from_records(rows, columns=[c.name for c in E.columns])
    df["registry_last_inspected"] = pd.to_datetime(df["registry_last_inspected"], utc=True)
    return df


HISTORY_COLUMNS = ["time_utc", "kind", "method", "trigger", "result", "reason", "note", "recorded_by", "run_id"]


def firm_history(engine, enterprise_id: str) -> list[dict]:
    """Every check of one firm, oldest first (:data:`HISTORY_COLUMNS`; times as ISO UTC text).
    Raises :class:`InputError` for a firm the ledger does not know."""
    from sqlalchemy import select

    from ecopatrol.core.db.schema import ledger_enterprises as E

    with engine.connect() as conn:
        known = conn.execute(select(E.c.enterprise_id).where(E.c.enterprise_id == str(enterprise_id))).first()
    if known is None:
        raise InputError(f"--enterprise {enterprise_id}: not a firm of this ledger (register its area or record a run first)")
    ch = read_checks(engine)
    ch = ch[ch["enterprise_id"] == str(enterprise_id)]
    out = []
    for r in ch[HISTORY_COLUMNS].itertuples(index=False):
        d = {k: (None if pd.isna(v) else v) for k, v in zip(HISTORY_COLUMNS, r, strict=True)}
        d["time_utc"] = r.time_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        d["run_id"] = None if d["run_id"] is None else int(d["run_id"])
        out.append(d)
    return out


def export_checks(engine, out: str | Path) -> Path:
    """The ledger's checks to ``.csv`` (UTF-8 with BOM) or ``.gpkg`` (points at the firms, EPSG:4326)."""
    from ecopatrol.core.io import atomic_path

    out = Path(out)
    df = read_checks(engine)
    df["time_utc"] = df["time_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df["recorded_utc"] = pd.to_datetime(df["recorded_utc"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    suffix = out.suffix.lower()
    if suffix == ".csv":
        with atomic_path(out) as tmp:
            df.to_csv(tmp, index=False, encoding="utf-8-sig")
    elif suffix == ".gpkg":
        import geopandas as gpd

        g = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df["lon"], df["lat"]),
                             crs="EPSG:4326")
        with atomic_path(out) as tmp:
            g.to_file(tmp, layer="ledger_checks", driver="GPKG")
    else:
        raise InputError(f"`{out}`: export to .csv or .gpkg")
    log.info("wrote %s: %d checks", out, len(df))
    return out
