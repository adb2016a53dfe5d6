"""The supervision ledger: enterprises, recorded runs, checks off-site and on-site (issue 18).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen here, not imported from schema.py: a migration must not change when the schema does.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS = ("off-site", "on-site")
METHODS = ("van pass", "drone curtain", "online monitoring review", "electricity review", "video", "other", "on-site")
TRIGGERS = ("routine plan", "random draw", "alarm", "survey evidence", "complaint")
RESULTS = ("clean", "suspicious", "violation confirmed", "not assessable")


def Utc():  # noqa: N802 - reads like a type
    return sa.DateTime(timezone=True)


def _in(col, values):
    return f"{col} IN (" + ", ".join("'" + v + "'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "ledger_enterprises",
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("name", sa.String()),
        sa.Column("industry", sa.String()),
        sa.Column("positive_list", sa.Boolean(), nullable=False),
        sa.Column("lon", sa.Float()),
        sa.Column("lat", sa.Float()),
        sa.Column("registry_last_inspected", Utc(), comment="as the registry had it (None: never or unknown)"),
        sa.Column("registry_violations_3y", sa.Integer(), nullable=False, comment="as the registry had it"),
        sa.Column("area", sa.String()),
        sa.Column("updated_utc", Utc(), nullable=False),
        sa.PrimaryKeyConstraint("enterprise_id", name="pk_ledger_enterprises"),
    )
    op.create_table(
        "ledger_runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_key", sa.String(64), nullable=False, comment="sha256 over the samples and evidence files"),
        sa.Column("run_dir", sa.String(), nullable=False),
        sa.Column("area", sa.String()),
        sa.Column("survey_start_utc", Utc()),
        sa.Column("survey_end_utc", Utc()),
        sa.Column("recorded_utc", Utc(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("detection_rate_g_s", sa.Float(), nullable=False,
                  comment="the rate a covered firm's plume must reveal"),
        sa.Column("n_checks", sa.Integer(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False, comment="JSON: [{file, sha256}] the run was recorded from"),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_runs"),
        sa.UniqueConstraint("run_key", name="uq_ledger_runs_run_key"),
    )
    op.create_table(
        "ledger_checks",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("check_key", sa.String(), nullable=False),
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("time_utc", Utc(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, comment="why this result (or why not assessable)"),
        sa.Column("evidence", sa.Text(), nullable=False, comment="JSON: [{file, sha256}]"),
        sa.Column("alarm_ids", sa.Text(), comment="space-separated alarm ids (online monitoring)"),
        sa.Column("run_id", Id),
        sa.Column("rate_g_s", sa.Float(), comment="estimated emission when the evidence gives one"),
        sa.Column("emit_probability", sa.Float()),
        sa.Column("n_samples_covering", sa.Integer(),
                  comment="clean samples the plume at the detection rate reached"),
        sa.Column("note", sa.Text()),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_utc", Utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_checks"),
        sa.UniqueConstraint("check_key", name="uq_ledger_checks_check_key"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["ledger_enterprises.enterprise_id"],
                                name="fk_ledger_checks_enterprise_id_ledger_enterprises"),
        sa.ForeignKeyConstraint(["run_id"], ["ledger_runs.id"], ondelete="CASCADE",
                                name="fk_ledger_checks_run_id_ledger_runs"),
        sa.CheckConstraint(_in("kind", KINDS), name="ck_ledger_checks_kind"),
        sa.CheckConstraint(_in("method", METHODS), name="ck_ledger_checks_method"),
        sa.CheckConstraint(_in("trigger", TRIGGERS), name="ck_ledger_checks_trigger"),
        sa.CheckConstraint(_in("result", RESULTS), name="ck_ledger_checks_result"),
    )
    op.create_index("ix_ledger_checks_enterprise_time", "ledger_checks", ["enterprise_id", "time_utc"])
    op.create_index("ix_ledger_checks_time", "ledger_checks", ["time_utc"])
    op.create_index("ix_ledger_checks_run_id", "ledger_checks", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_checks_run_id", table_name="ledger_checks")
    op.drop_index("ix_ledger_checks_time", table_name="ledger_checks")
    op.drop_index("ix_ledger_checks_enterprise_time", table_name="ledger_checks")
    op.drop_table("ledger_checks")
    op.drop_table("ledger_runs")
    op.drop_table("ledger_enterprises")
