"""fleet: credential profiles shared by routers and groups

Revision ID: fleet_0004
Revises: fleet_0003
Create Date: 2026-12-01 02:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "fleet_0004"
down_revision = "fleet_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credential_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("encrypted_password", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name", name="uq_credential_profiles_user_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_credential_profiles_user_id", "credential_profiles", ["user_id"], unique=False)
    op.create_table(
        "router_credentials",
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["profile_id"], ["credential_profiles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("router_id"),
    )
    op.create_index("ix_router_credentials_profile_id", "router_credentials", ["profile_id"], unique=False)
    op.create_table(
        "group_credentials",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["router_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["profile_id"], ["credential_profiles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id"),
    )
    op.create_index("ix_group_credentials_profile_id", "group_credentials", ["profile_id"], unique=False)


def downgrade():
    op.drop_index("ix_group_credentials_profile_id", table_name="group_credentials")
    op.drop_table("group_credentials")
    op.drop_index("ix_router_credentials_profile_id", table_name="router_credentials")
    op.drop_table("router_credentials")
    op.drop_index("ix_credential_profiles_user_id", table_name="credential_profiles")
    op.drop_table("credential_profiles")
