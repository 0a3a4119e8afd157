"""quality results, partition volumes, customer and vehicle profiles

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 22:53:45.786209
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_identity_links',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('profile_id', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'customer_id')
    )
    with op.batch_alter_table('customer_identity_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_identity_links_profile_id'), ['profile_id'], unique=False)

    op.create_table('customer_profiles',
    sa.Column('profile_id', sa.String(length=40), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('rooftops', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('profile_id')
    )
    op.create_table('partition_volumes',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'table_name', 'day')
    )
    op.create_table('quality_results',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('check_name', sa.String(length=64), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('blocking', sa.Boolean(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('dealership_id', 'day', 'table_name', 'check_name')
    )
    op.create_table('vehicle_history',
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('vin', 'dealership_id', 'event', 'source_id')
    )
    op.create_table('vehicle_profiles',
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('vin_valid', sa.Boolean(), nullable=False),
    sa.Column('model_year', sa.Integer(), nullable=True),
    sa.Column('manufacturer', sa.String(length=60), nullable=True),
    sa.Column('country', sa.String(length=40), nullable=True),
    sa.Column('make', sa.String(length=60), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rooftops', sa.Integer(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('vin')
    )


def downgrade() -> None:
    op.drop_table('vehicle_profiles')
    op.drop_table('vehicle_history')
    op.drop_table('quality_results')
    op.drop_table('partition_volumes')
    op.drop_table('customer_profiles')
    with op.batch_alter_table('customer_identity_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_identity_links_profile_id'))

    op.drop_table('customer_identity_links')
