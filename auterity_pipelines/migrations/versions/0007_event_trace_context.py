"""events inbox: the trace context each event arrived in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events_inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('traceparent', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('events_inbox', schema=None) as batch_op:
        batch_op.drop_column('traceparent')
