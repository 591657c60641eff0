"""frozen voucher terms: batches and vouchers carry the price, currency, duration, speeds and data cap they were
issued with; packages store minutes (the contract's whole hours are derived), a data cap and a validity window

Existing batches and vouchers are backfilled from their package as it is now (the best record there is of what
was printed) and the owner's currency (KES when the owner never chose one).

Columns are added in place (no table rebuild): on SQLite with foreign keys enforced, rebuilding ``vouchers`` or
``voucher_batches`` would fire their children's ON DELETE actions and null every sale's voucher.

Revision ID: money_0001_frozen_terms
Revises: dash_0001
Create Date: 2026-12-01 01:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "money_0001_frozen_terms"
down_revision = "dash_0001"
branch_labels = None
depends_on = None

_TERMS = ("package_name", "price", "currency", "duration_minutes", "download_speed_mbps", "upload_speed_mbps",
          "data_limit_mb")


def _terms_columns() -> list[sa.Column]:
    # NOT NULL columns get a server default only so ALTER TABLE ADD COLUMN accepts them; the backfill below
    # overwrites it and PostgreSQL drops it again (the models set every value themselves).
    return [
        sa.Column("package_name", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False, server_default="0"),
        sa.Column("currency", sa.String(length=3), nullable=False, server_default="KES"),
        sa.Column("duration_minutes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("download_speed_mbps", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("upload_speed_mbps", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("data_limit_mb", sa.Integer(), nullable=True),
    ]


def _drop_server_defaults(table: str, names: list[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite cannot alter a column in place; a leftover default is never used (models set values)
    for name in names:
        op.alter_column(table, name, server_default=None)


def upgrade():
    op.add_column("packages", sa.Column("duration_minutes", sa.Integer(), nullable=False, server_default="60"))
    op.add_column("packages", sa.Column("data_limit_mb", sa.Integer(), nullable=True))
    op.add_column("packages", sa.Column("validity_days", sa.Integer(), nullable=True))
    op.execute("UPDATE packages SET duration_minutes = duration_hours * 60")
    op.drop_column("packages", "duration_hours")
    _drop_server_defaults("packages", ["duration_minutes"])

    for column in _terms_columns():
        op.add_column("voucher_batches", column)
    op.add_column("voucher_batches", sa.Column("shared_users", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("voucher_batches", sa.Column("validity_days", sa.Integer(), nullable=True))
    currency = ("COALESCE((SELECT hs.currency FROM hotspot_settings hs JOIN routers r ON r.user_id = hs.user_id "
                "WHERE r.id = voucher_batches.router_id), 'KES')")
    package = "(SELECT p.{0} FROM packages p WHERE p.id = voucher_batches.package_id)"
    # The statements are built from this file's own column names, never from input.
    op.execute(
        "UPDATE voucher_batches SET "  # noqa: S608
        + ", ".join(f"{name} = {package.format(name)}" for name in ("price", "duration_minutes",
                                                                    "download_speed_mbps", "upload_speed_mbps",
                                                                    "data_limit_mb", "shared_users",
                                                                    "validity_days"))
        + f", package_name = {package.format('name')}, currency = {currency}"
    )
    _drop_server_defaults("voucher_batches", [c for c in _TERMS if c != "data_limit_mb"] + ["shared_users"])

    for column in _terms_columns():
        op.add_column("vouchers", column)
    op.add_column("vouchers", sa.Column("use_before", sa.DateTime(), nullable=True))
    batch = "(SELECT b.{0} FROM voucher_batches b WHERE b.id = vouchers.batch_id)"
    op.execute("UPDATE vouchers SET "  # noqa: S608
               + ", ".join(f"{name} = {batch.format(name)}" for name in _TERMS))
    _drop_server_defaults("vouchers", [c for c in _TERMS if c != "data_limit_mb"])


def downgrade():
    op.drop_column("vouchers", "use_before")
    for name in reversed(_TERMS):
        op.drop_column("vouchers", name)
    op.drop_column("voucher_batches", "validity_days")
    op.drop_column("voucher_batches", "shared_users")
    for name in reversed(_TERMS):
        op.drop_column("voucher_batches", name)
    op.add_column("packages", sa.Column("duration_hours", sa.Integer(), nullable=False, server_default="1"))
    # Whole hours, at least one (the old schema knew no shorter package).
    op.execute("UPDATE packages SET duration_hours = CASE WHEN duration_minutes < 60 THEN 1 "
               "ELSE duration_minutes / 60 END")
    _drop_server_defaults("packages", ["duration_hours"])
    op.drop_column("packages", "validity_days")
    op.drop_column("packages", "data_limit_mb")
    op.drop_column("packages", "duration_minutes")
