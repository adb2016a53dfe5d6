"""The tables of ecopatrol's database (SQLAlchemy Core), at the schema version of the latest migration.

Changing a table means a new migration in ``migrations/versions/`` too; a test checks that
these definitions and the migrated database agree. Times are tz-aware UTC (:class:`UTCDateTime`).

HJ 212 online monitoring (issue 17):

- ``hj212_packets`` — one row per distinct accepted packet (``digest`` = BLAKE2b-128 of the frame,
  so a packet sent again — a logger retrying after a lost answer, a heartbeat that never changes,
  the same packet in two log files — is one row with ``copies`` counting the receptions);
  ``raw`` is the frame as received (without its CRLF);
- ``hj212_records`` — one row per ``code-Suffix`` item of a stored packet (the codec's tidy
  records: station × time × pollutant × suffix, with the data flag of that pollutant). Since
  schema 0003 a **view**: the items are packed in their packet's ``items`` column (a JSON array of
  ``[code, code_2017, suffix, value, value_text, flag, eflag]``, one per record, in the codec's
  order) and the view expands them (SQLite ``json_each``, PostgreSQL ``jsonb_array_elements``),
  with the same columns the table had (``id`` = ``packet_id`` × 65 536 + the item's index, so
  ordering by it keeps the table's order). One packet row instead of ~10 record rows is what
  makes file ingest fast (BENCHMARKS.md, "Packed records"). :data:`hj212_records` is declared in
  :data:`views`, not in :data:`metadata`, so alembic's table comparison leaves it alone;
  :data:`hj212_records_table` is the 0001–0002 table (the row-per-record layout, kept for the
  benchmark's baseline and the migration tests);
- ``hj212_rejected`` — every frame or run of bytes that was not an accepted packet, with its
  reason (the codec's ``framing``, ``length_mismatch``, ``crc_mismatch``, ``syntax``,
  ``unknown_version``, and the receiver's ``connection_closed``) and a detail;
- ``stations`` — one row per MN: first and last seen, packets received;
- ``hj212_files`` — logged packet files ingested (by sha256), and how far, so ``ingest`` is
  idempotent and resumes where an interrupted run stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer,
                        LargeBinary, MetaData, String, Table, Text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

#: Constraint names the same on every database (alembic needs names to alter them later).
NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}
metadata = MetaData(naming_convention=NAMING)

#: 64-bit ids on PostgreSQL; SQLite's INTEGER PRIMARY KEY (the rowid) is already 64-bit.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A tz-aware UTC instant: ``timestamptz`` on PostgreSQL, naive UTC text on SQLite; always read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime takes a datetime, not {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value}: give a tz-aware (UTC) time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: ``hj212_packets.items``: JSON text on SQLite (its json functions read text), ``jsonb`` on PostgreSQL.
PackedItems = Text().with_variant(JSONB(), "postgresql")

hj212_packets = Table(
    "hj212_packets", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_utc", UTCDateTime, nullable=False, comment="first reception (ingest time for a file)"),
    Column("last_received_utc", UTCDateTime, nullable=False),
    Column("copies", Integer, nullable=False, comment="receptions of this exact frame"),
    Column("peer", String, nullable=False, comment="HOST:PORT of the logger, or the file name"),
    Column("line", Integer, comment="line in the file (file ingest)"),
    Column("mn", String, nullable=False),
    Column("st", String, nullable=False),
    Column("cn", String, nullable=False),
    Column("qn", String),
    Column("version", String, nullable=False, comment="2005, 2017 or 2025"),
    Column("flag", Integer),
    Column("ack_requested", Boolean, nullable=False),
    Column("pnum", Integer),
    Column("pno", Integer),
    Column("data_time_utc", UTCDateTime, comment="CP DataTime: the start of the interval for minute/hour/day data"),
    Column("n_records", Integer, nullable=False),
    Column("raw", LargeBinary, nullable=False, comment="the frame as received, without its CRLF"),
    Column("digest", LargeBinary(16), nullable=False, unique=True, comment="BLAKE2b-128 of raw"),
    Column("items", PackedItems, nullable=False, server_default="[]",
           comment="the records packed: JSON [[code, code_2017, suffix, value, value_text, flag, eflag], ...]"),
    Index("ix_hj212_packets_mn_time", "mn", "data_time_utc"),
    Index("ix_hj212_packets_mn_qn", "mn", "qn"),
)

#: Views (not compared with the database's tables by alembic; created by the migrations).
views = MetaData(naming_convention=NAMING)


def _record_columns():
    return [
        Column("mn", String, nullable=False),
        Column("cn", String, nullable=False),
        Column("data_time_utc", UTCDateTime),
        Column("pollutant_code", String, nullable=False, comment="as sent"),
        Column("pollutant_code_2017", String, comment="HJ 212-2017 code (2005 codes mapped; None if unknown)"),
        Column("suffix", String, nullable=False, comment="Rtd, Avg, Min, Max, Cou, ZsRtd…"),
        Column("value", Float, comment="NaN/None when not numeric"),
        Column("value_text", String, comment="as sent"),
        Column("flag", String, comment="data flag N F M S D C T B (P in 2005)"),
        Column("eflag", String, comment="equipment flag"),
    ]


#: The records view (schema 0003 on): what the 0001–0002 table held, expanded from ``hj212_packets.items``.
hj212_records = Table(
    "hj212_records", views,
    Column("id", Id, primary_key=True),
    Column("packet_id", Id, nullable=False),
    *_record_columns(),
)

#: The row-per-record table of schemas 0001–0002 (not in :data:`metadata`: the benchmark's baseline layout).
hj212_records_table = Table(
    "hj212_records", MetaData(naming_convention=NAMING),
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("packet_id", Id, nullable=False, comment="hj212_packets.id (ON DELETE CASCADE in the database)"),
    *_record_columns(),
)

hj212_rejected = Table(
    "hj212_rejected", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_utc", UTCDateTime, nullable=False),
    Column("peer", String, nullable=False),
    Column("line", Integer),
    Column("reason", String, nullable=False),
    Column("detail", Text, nullable=False),
    Column("mn", String, comment="when it could be read"),
    Column("raw", LargeBinary, nullable=False),
    Index("ix_hj212_rejected_reason", "reason"),
)

stations = Table(
    "stations", metadata,
    Column("mn", String, primary_key=True),
    Column("st", String),
    Column("first_seen_utc", UTCDateTime, nullable=False),
    Column("last_seen_utc", UTCDateTime, nullable=False),
    Column("packets", BigInteger, nullable=False, comment="accepted packets received, copies included"),
    Column("last_peer", String),
)

hj212_files = Table(
    "hj212_files", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("name", String, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("started_utc", UTCDateTime, nullable=False),
    Column("finished_utc", UTCDateTime, comment="None while incomplete"),
    Column("lines_done", Integer, nullable=False, comment="lines stored so far: a new run resumes after them"),
)

# ---------------------------------------------------------------- the supervision ledger (0002)
#: Values the ledger accepts (the CHECK constraints and the importers use the same lists).
CHECK_KINDS = ("off-site", "on-site")
CHECK_METHODS = ("van pass", "drone curtain", "online monitoring review", "electricity review", "video", "other",
                 "on-site")
CHECK_TRIGGERS = ("routine plan", "random draw", "alarm", "survey evidence", "complaint")
CHECK_RESULTS = ("clean", "suspicious", "violation confirmed", "not assessable")


def _in(col: str, values) -> str:
    return f"{col} IN (" + ", ".join("'" + v + "'" for v in values) + ")"


ledger_enterprises = Table(
    "ledger_enterprises", metadata,
    Column("enterprise_id", String, primary_key=True),
    Column("name", String),
    Column("industry", String),
    Column("positive_list", Boolean, nullable=False),
    Column("lon", Float),
    Column("lat", Float),
    Column("registry_last_inspected", UTCDateTime, comment="as the registry had it (None: never or unknown)"),
    Column("registry_violations_3y", Integer, nullable=False, comment="as the registry had it"),
    Column("area", String),
    Column("updated_utc", UTCDateTime, nullable=False),
)

ledger_runs = Table(
    "ledger_runs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_key", String(64), nullable=False, unique=True, comment="sha256 over the samples and evidence files"),
    Column("run_dir", String, nullable=False),
    Column("area", String),
    Column("survey_start_utc", UTCDateTime),
    Column("survey_end_utc", UTCDateTime),
    Column("recorded_utc", UTCDateTime, nullable=False),
    Column("recorded_by", String, nullable=False),
    Column("detection_rate_g_s", Float, nullable=False, comment="the rate a covered firm's plume must reveal"),
    Column("n_checks", Integer, nullable=False),
    Column("files", Text, nullable=False, comment="JSON: [{file, sha256}] the run was recorded from"),
)

ledger_checks = Table(
    "ledger_checks", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("check_key", String, nullable=False, unique=True),
    Column("enterprise_id", String, ForeignKey("ledger_enterprises.enterprise_id"), nullable=False),
    Column("time_utc", UTCDateTime, nullable=False),
    Column("kind", String, nullable=False),
    Column("method", String, nullable=False),
    Column("trigger", String, nullable=False),
    Column("result", String, nullable=False),
    Column("reason", Text, nullable=False, comment="why this result (or why not assessable)"),
    Column("evidence", Text, nullable=False, comment="JSON: [{file, sha256}]"),
    Column("alarm_ids", Text, comment="space-separated alarm ids (online monitoring)"),
    Column("run_id", Id, ForeignKey("ledger_runs.id", ondelete="CASCADE")),
    Column("rate_g_s", Float, comment="estimated emission when the evidence gives one"),
    Column("emit_probability", Float),
    Column("n_samples_covering", Integer, comment="clean samples the plume at the detection rate reached"),
    Column("note", Text),
    Column("recorded_by", String, nullable=False),
    Column("recorded_utc", UTCDateTime, nullable=False),
    CheckConstraint(_in("kind", CHECK_KINDS), name="ck_ledger_checks_kind"),
    CheckConstraint(_in("method", CHECK_METHODS), name="ck_ledger_checks_method"),
    CheckConstraint(_in("trigger", CHECK_TRIGGERS), name="ck_ledger_checks_trigger"),
    CheckConstraint(_in("result", CHECK_RESULTS), name="ck_ledger_checks_result"),
    Index("ix_ledger_checks_enterprise_time", "enterprise_id", "time_utc"),
    Index("ix_ledger_checks_time", "time_utc"),
    Index("ix_ledger_checks_run_id", "run_id"),
)
