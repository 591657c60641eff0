"""jobs table; ids users see are never reused (SQLite AUTOINCREMENT on every such table)

Revision ID: jobs_0001
Revises: fleet_0005
Create Date: 2026-12-01 01:30:00

SQLite reuses the highest rowid after a delete unless a table is declared AUTOINCREMENT, so a deleted router's
or voucher batch's id came back for the next one (a crash left router users tagged with a batch id that the next
batch then reused). Declaring it needs a table rebuild on SQLite: SQLite's documented twelve-step procedure with
the stored DDL (Alembic's batch mode does the same but reflects every table first, seconds per fresh database;
env.py turns foreign-key enforcement off around migrations so dropping the old table does not cascade).
PostgreSQL sequences never reuse values: nothing to do there.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "jobs_0001"
down_revision = "fleet_0005"
branch_labels = None
depends_on = None

#: Parents before children, so each rebuilt table's foreign keys point at an already rebuilt one.
EXPOSED_TABLES = (
    "users", "api_keys", "routers", "command_runs", "audit_events", "packages", "voucher_batches", "vouchers",
    "sales", "monitored_interfaces", "alert_rules", "alerts", "monitor_events", "notification_channels",
    "notifications",
)


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("router_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_jobs_user_idempotency_key"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_kind", ["kind"], unique=False)
        batch_op.create_index("ix_jobs_router_id", ["router_id"], unique=False)
        batch_op.create_index("ix_jobs_state_lease", ["state", "lease_expires_at"], unique=False)
        batch_op.create_index("ix_jobs_user_created", ["user_id", "created_at"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        for table in EXPOSED_TABLES:
            _add_autoincrement(table)


def _add_autoincrement(table):
    bind = op.get_bind()
    ddl = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    if ddl is None or "AUTOINCREMENT" in ddl.upper():
        return
    new_ddl, columns = re.subn(r"\bid INTEGER NOT NULL,", "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", ddl, count=1)
    new_ddl, keys = re.subn(r",\s*PRIMARY KEY \(id\)", "", new_ddl, count=1)
    if not (columns and keys):
        raise RuntimeError(f"cannot add AUTOINCREMENT to {table}: unexpected table definition {ddl!r}")
    indexes = [row[0] for row in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,))]
    temporary = f"_rebuild_{table}"
    bind.exec_driver_sql(new_ddl.replace(f"CREATE TABLE {table} ", f"CREATE TABLE {temporary} ", 1))
    bind.exec_driver_sql(f"INSERT INTO {temporary} SELECT * FROM {table}")  # noqa: S608 - fixed table names
    bind.exec_driver_sql(f"DROP TABLE {table}")
    bind.exec_driver_sql(f"ALTER TABLE {temporary} RENAME TO {table}")
    for index in indexes:
        bind.exec_driver_sql(index)


def downgrade():
    # AUTOINCREMENT stays on the rebuilt tables: it is harmless to the older schema.
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_user_created")
        batch_op.drop_index("ix_jobs_state_lease")
        batch_op.drop_index("ix_jobs_router_id")
        batch_op.drop_index("ix_jobs_kind")
    op.drop_table("jobs")
