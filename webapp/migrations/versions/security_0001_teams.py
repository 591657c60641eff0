"""security: teams and roles, router assignments, server-side web sessions, richer audit events, sale's seller

Revision ID: security_0001_teams
Revises: jobs_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "security_0001_teams"
down_revision = "jobs_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="owner"))
        batch_op.add_column(sa.Column("invitation_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("invitation_expires_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key("fk_users_owner_id", "users", ["owner_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index("ix_users_owner_id", ["owner_id"], unique=False)
        batch_op.create_unique_constraint("uq_users_invitation_digest", ["invitation_digest"])
    op.create_table(
        "router_assignments",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("router_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "router_id"),
    )
    op.create_index("ix_router_assignments_router_id", "router_assignments", ["router_id"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    with op.batch_alter_table("token_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), nullable=False, server_default="api"))
        batch_op.add_column(sa.Column("refresh_jti", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("ip_address", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("actor_name", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("actor_role", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("target", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=False, server_default="ok"))
        batch_op.create_foreign_key("fk_audit_events_owner_id", "users", ["owner_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index("ix_audit_events_owner_id", ["owner_id"], unique=False)
    # Events written before teams existed belong to the team of the user who made them.
    op.execute("UPDATE audit_events SET owner_id = user_id, actor_name = "
               "(SELECT username FROM users WHERE users.id = audit_events.user_id)")
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sold_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_sales_sold_by_id", "users", ["sold_by_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index("ix_sales_sold_by_id", ["sold_by_id"], unique=False)


def downgrade():
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_sold_by_id")
        batch_op.drop_constraint("fk_sales_sold_by_id", type_="foreignkey")
        batch_op.drop_column("sold_by_id")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_owner_id")
        batch_op.drop_constraint("fk_audit_events_owner_id", type_="foreignkey")
        for column in ("outcome", "target", "actor_role", "actor_name", "owner_id"):
            batch_op.drop_column(column)
    with op.batch_alter_table("token_sessions", schema=None) as batch_op:
        for column in ("ip_address", "refresh_jti", "kind"):
            batch_op.drop_column(column)
    op.drop_table("login_failures")
    op.drop_index("ix_router_assignments_router_id", table_name="router_assignments")
    op.drop_table("router_assignments")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_invitation_digest", type_="unique")
        batch_op.drop_index("ix_users_owner_id")
        batch_op.drop_constraint("fk_users_owner_id", type_="foreignkey")
        for column in ("invitation_expires_at", "invitation_digest", "role", "owner_id"):
            batch_op.drop_column(column)
