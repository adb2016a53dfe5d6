"""HJ 212 records packed into their packet's row; ``hj212_records`` becomes a view (issue 17, file ingest).

Revision ID: 0003
Revises: 0002

Up: ``hj212_packets.items`` is added (JSON text on SQLite, ``jsonb`` on PostgreSQL) and filled from
the records table — every record of a packet, in the table's order, as
``[code, code_2017, suffix, value, value_text, flag, eflag]`` (the value written by Python's
``repr``, which reads back as the same double) — then the table is dropped and the view
``hj212_records`` created with its columns (``id`` = ``packet_id`` × 65 536 + the item's index:
unique, and in the table's order). Down: the table again, filled from the items, and the column
dropped.
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen here, not imported from schema.py: a migration must not change when the schema does.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: Packet ids per step of the copy (memory stays bounded however large the database).
_STEP = 20_000
_RECORD_COLUMNS = ("pollutant_code", "pollutant_code_2017", "suffix", "value", "value_text", "flag", "eflag")

#: The view body per dialect: the columns of the 0001 table, expanded from the packets' items.
EXPAND = {
    "sqlite": (
        "SELECT p.id * 65536 + j.key AS id, p.id AS packet_id, p.mn AS mn, p.cn AS cn, "
        "p.data_time_utc AS data_time_utc, j.value ->> 0 AS pollutant_code, j.value ->> 1 AS pollutant_code_2017, "
        "j.value ->> 2 AS suffix, CAST(j.value ->> 3 AS REAL) AS value, j.value ->> 4 AS value_text, "
        "j.value ->> 5 AS flag, j.value ->> 6 AS eflag "
        "FROM hj212_packets AS p, json_each(p.items) AS j"),
    "postgresql": (
        "SELECT p.id * 65536 + (j.n - 1) AS id, p.id AS packet_id, p.mn AS mn, p.cn AS cn, "
        "p.data_time_utc AS data_time_utc, j.e ->> 0 AS pollutant_code, j.e ->> 1 AS pollutant_code_2017, "
        "j.e ->> 2 AS suffix, (j.e ->> 3)::double precision AS value, j.e ->> 4 AS value_text, "
        "j.e ->> 5 AS flag, j.e ->> 6 AS eflag "
        "FROM hj212_packets AS p CROSS JOIN LATERAL jsonb_array_elements(p.items) WITH ORDINALITY AS j(e, n)"),
}


def _dialect() -> str:
    name = op.get_bind().dialect.name
    if name not in EXPAND:  # pragma: no cover - ecopatrol runs on these two only
        raise NotImplementedError(f"migration 0003 knows SQLite and PostgreSQL, not {name}")
    return name


def upgrade() -> None:
    d = _dialect()
    op.add_column("hj212_packets", sa.Column(
        "items", sa.Text().with_variant(JSONB(), "postgresql"), nullable=False,
        server_default=sa.text("'[]'"),
        comment="the records packed: JSON [[code, code_2017, suffix, value, value_text, flag, eflag], ...]"))
    conn = op.get_bind()
    cast = "::jsonb" if d == "postgresql" else ""
    update = sa.text(f"UPDATE hj212_packets SET items = CAST(:items AS TEXT){cast} WHERE id = :pid")
    select = sa.text(f"SELECT packet_id, {', '.join(_RECORD_COLUMNS)} FROM hj212_records "
                     "WHERE packet_id > :lo AND packet_id <= :hi ORDER BY packet_id, id")
    top = conn.execute(sa.text("SELECT max(packet_id) FROM hj212_records")).scalar()
    lo = 0
    while top is not None and lo < top:
        hi = lo + _STEP
        per: dict[int, list] = {}
        for pid, *rec in conn.execute(select, {"lo": lo, "hi": hi}):
            per.setdefault(pid, []).append(rec)
        if per:
            conn.execute(update, [{"pid": pid, "items": json.dumps(recs, ensure_ascii=False, separators=(",", ":"))}
                                  for pid, recs in per.items()])
        lo = hi
    op.drop_index("ix_hj212_records_packet_id", table_name="hj212_records")
    op.drop_table("hj212_records")
    op.execute(f"CREATE VIEW hj212_records AS {EXPAND[d]}")


def downgrade() -> None:
    d = _dialect()
    op.execute("DROP VIEW hj212_records")
    op.create_table(
        "hj212_records",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("packet_id", Id, nullable=False),
        sa.Column("mn", sa.String(), nullable=False),
        sa.Column("cn", sa.String(), nullable=False),
        sa.Column("data_time_utc", sa.DateTime(timezone=True)),
        sa.Column("pollutant_code", sa.String(), nullable=False, comment="as sent"),
        sa.Column("pollutant_code_2017", sa.String(),
                  comment="HJ 212-2017 code (2005 codes mapped; None if unknown)"),
        sa.Column("suffix", sa.String(), nullable=False, comment="Rtd, Avg, Min, Max, Cou, ZsRtd…"),
        sa.Column("value", sa.Float(), comment="NaN/None when not numeric"),
        sa.Column("value_text", sa.String(), comment="as sent"),
        sa.Column("flag", sa.String(), comment="data flag N F M S D C T B (P in 2005)"),
        sa.Column("eflag", sa.String(), comment="equipment flag"),
        sa.PrimaryKeyConstraint("id", name="pk_hj212_records"),
        sa.ForeignKeyConstraint(["packet_id"], ["hj212_packets.id"], ondelete="CASCADE",
                                name="fk_hj212_records_packet_id_hj212_packets"),
    )
    cols = "packet_id, mn, cn, data_time_utc, " + ", ".join(_RECORD_COLUMNS)
    op.execute(f"INSERT INTO hj212_records ({cols}) SELECT {cols} FROM ({EXPAND[d]}) AS x ORDER BY id")
    op.create_index("ix_hj212_records_packet_id", "hj212_records", ["packet_id"])
    if d == "sqlite":  # natively (3.35+): a batch copy of the table would cascade into the records
        op.execute("ALTER TABLE hj212_packets DROP COLUMN items")
    else:
        op.drop_column("hj212_packets", "items")
