"""automations: deliveries, opt-outs, customers' contact preferences

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 23:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_opt_in', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('sms_opt_in', sa.Boolean(), nullable=True))
    op.create_table('automation_deliveries',
    sa.Column('delivery_key', sa.String(length=64), nullable=False),
    sa.Column('automation', sa.String(length=120), nullable=False),
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('window', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=120), nullable=True),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('retryable', sa.Boolean(), nullable=False),
    sa.Column('provider_message_id', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('partition_key', sa.String(length=200), nullable=False),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('delivery_key')
    )
    with op.batch_alter_table('automation_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_automation_deliveries_due', ['decision', 'send_after'], unique=False)
        batch_op.create_index('ix_automation_deliveries_rooftop', ['dealership_id', 'created_at'], unique=False)
    op.create_table('contact_opt_outs',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'channel', 'address')
    )


def downgrade() -> None:
    op.drop_table('contact_opt_outs')
    with op.batch_alter_table('automation_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_automation_deliveries_rooftop')
        batch_op.drop_index('ix_automation_deliveries_due')
    op.drop_table('automation_deliveries')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('sms_opt_in')
        batch_op.drop_column('email_opt_in')
