"""HJ 212 online monitoring: packets, records, rejected frames, stations, ingested files (issue 17).

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen here, not imported from schema.py: a migration must not change when the schema does.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def Utc():  # noqa: N802 - reads like a type
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hj212_packets",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("received_utc", Utc(), nullable=False, comment="first reception (ingest time for a file)"),
        sa.Column("last_received_utc", Utc(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False, comment="receptions of this exact frame"),
        sa.Column("peer", sa.String(), nullable=False, comment="HOST:PORT of the logger, or the file name"),
        sa.Column("line", sa.Integer(), comment="line in the file (file ingest)"),
        sa.Column("mn", sa.String(), nullable=False),
        sa.Column("st", sa.String(), nullable=False),
        sa.Column("cn", sa.String(), nullable=False),
        sa.Column("qn", sa.String()),
        sa.Column("version", sa.String(), nullable=False, comment="2005, 2017 or 2025"),
        sa.Column("flag", sa.Integer()),
        sa.Column("ack_requested", sa.Boolean(), nullable=False),
        sa.Column("pnum", sa.Integer()),
        sa.Column("pno", sa.Integer()),
        sa.Column("data_time_utc", Utc(),
                  comment="CP DataTime: the start of the interval for minute/hour/day data"),
        sa.Column("n_records", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False, comment="the frame as received, without its CRLF"),
        sa.Column("digest", sa.LargeBinary(16), nullable=False, comment="BLAKE2b-128 of raw"),
        sa.PrimaryKeyConstraint("id", name="pk_hj212_packets"),
        sa.UniqueConstraint("digest", name="uq_hj212_packets_digest"),
    )
    op.create_index("ix_hj212_packets_mn_time", "hj212_packets", ["mn", "data_time_utc"])
    op.create_index("ix_hj212_packets_mn_qn", "hj212_packets", ["mn", "qn"])

    op.create_table(
        "hj212_records",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("packet_id", Id, nullable=False),
        sa.Column("mn", sa.String(), nullable=False),
        sa.Column("cn", sa.String(), nullable=False),
        sa.Column("data_time_utc", Utc()),
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
    op.create_index("ix_hj212_records_packet_id", "hj212_records", ["packet_id"])

    op.create_table(
        "hj212_rejected",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("received_utc", Utc(), nullable=False),
        sa.Column("peer", sa.String(), nullable=False),
        sa.Column("line", sa.Integer()),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("mn", sa.String(), comment="when it could be read"),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hj212_rejected"),
    )
    op.create_index("ix_hj212_rejected_reason", "hj212_rejected", ["reason"])

    op.create_table(
        "stations",
        sa.Column("mn", sa.String(), nullable=False),
        sa.Column("st", sa.String()),
        sa.Column("first_seen_utc", Utc(), nullable=False),
        sa.Column("last_seen_utc", Utc(), nullable=False),
        sa.Column("packets", sa.BigInteger(), nullable=False,
                  comment="accepted packets received, copies included"),
        sa.Column("last_peer", sa.String()),
        sa.PrimaryKeyConstraint("mn", name="pk_stations"),
    )

    op.create_table(
        "hj212_files",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("started_utc", Utc(), nullable=False),
        sa.Column("finished_utc", Utc(), comment="None while incomplete"),
        sa.Column("lines_done", sa.Integer(), nullable=False,
                  comment="lines stored so far: a new run resumes after them"),
        sa.PrimaryKeyConstraint("id", name="pk_hj212_files"),
        sa.UniqueConstraint("sha256", name="uq_hj212_files_sha256"),
    )


def downgrade() -> None:
    op.drop_table("hj212_files")
    op.drop_table("stations")
    op.drop_index("ix_hj212_rejected_reason", table_name="hj212_rejected")
    op.drop_table("hj212_rejected")
    op.drop_index("ix_hj212_records_packet_id", table_name="hj212_records")
    op.drop_table("hj212_records")
    op.drop_index("ix_hj212_packets_mn_qn", table_name="hj212_packets")
    op.drop_index("ix_hj212_packets_mn_time", table_name="hj212_packets")
    op.drop_table("hj212_packets")
