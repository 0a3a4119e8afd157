"""initial schema: the warehouse contract

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 17:32:48.879625
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('customers',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'customer_id')
    )
    op.create_table('dealerships',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('dms_vendor', sa.String(length=40), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id')
    )
    op.create_table('deals',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('deal_id', sa.String(length=128), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=True),
    sa.Column('vin', sa.String(length=17), nullable=True),
    sa.Column('deal_type', sa.String(length=40), nullable=True),
    sa.Column('sale_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('sold_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lead_id', sa.String(length=128), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'deal_id')
    )
    op.create_table('leads',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('lead_id', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('vehicle_year', sa.Integer(), nullable=True),
    sa.Column('vehicle_make', sa.String(length=60), nullable=True),
    sa.Column('vehicle_model', sa.String(length=80), nullable=True),
    sa.Column('vehicle_vin', sa.String(length=17), nullable=True),
    sa.Column('comments', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'lead_id')
    )
    op.create_table('quarantine',
    sa.Column('entity', sa.String(length=128), nullable=False),
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('entity', 'dealership_id', 'source_id')
    )
    op.create_table('raw_appointments',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('partition_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'source_id')
    )
    with op.batch_alter_table('raw_appointments', schema=None) as batch_op:
        batch_op.create_index('ix_raw_appointments_partition', ['dealership_id', 'partition_day'], unique=False)

    op.create_table('raw_customers',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('partition_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'source_id')
    )
    with op.batch_alter_table('raw_customers', schema=None) as batch_op:
        batch_op.create_index('ix_raw_customers_partition', ['dealership_id', 'partition_day'], unique=False)

    op.create_table('raw_deals',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('partition_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'source_id')
    )
    with op.batch_alter_table('raw_deals', schema=None) as batch_op:
        batch_op.create_index('ix_raw_deals_partition', ['dealership_id', 'partition_day'], unique=False)

    op.create_table('raw_leads',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('partition_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'source_id')
    )
    with op.batch_alter_table('raw_leads', schema=None) as batch_op:
        batch_op.create_index('ix_raw_leads_partition', ['dealership_id', 'partition_day'], unique=False)

    op.create_table('raw_repair_order_lines',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('partition_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'source_id')
    )
    with op.batch_alter_table('raw_repair_order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_raw_repair_order_lines_partition', ['dealership_id', 'partition_day'], unique=False)

    op.create_table('raw_repair_orders',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('partition_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'source_id')
    )
    with op.batch_alter_table('raw_repair_orders', schema=None) as batch_op:
        batch_op.create_index('ix_raw_repair_orders_partition', ['dealership_id', 'partition_day'], unique=False)

    op.create_table('raw_vehicles',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('partition_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'source_id')
    )
    with op.batch_alter_table('raw_vehicles', schema=None) as batch_op:
        batch_op.create_index('ix_raw_vehicles_partition', ['dealership_id', 'partition_day'], unique=False)

    op.create_table('repair_order_lines',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('ro_number', sa.String(length=128), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('op_code', sa.String(length=20), nullable=True),
    sa.Column('complaint', sa.Text(), nullable=True),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('correction', sa.Text(), nullable=True),
    sa.Column('labor_hours', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'ro_number', 'line_number')
    )
    op.create_table('repair_orders',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('ro_number', sa.String(length=128), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=True),
    sa.Column('vin', sa.String(length=17), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('total_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'ro_number')
    )
    op.create_table('vehicles',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('vin', sa.String(length=128), nullable=False),
    sa.Column('vin_valid', sa.Boolean(), nullable=False),
    sa.Column('vin_model_year', sa.Integer(), nullable=True),
    sa.Column('model_year', sa.Integer(), nullable=True),
    sa.Column('make', sa.String(length=60), nullable=True),
    sa.Column('model', sa.String(length=80), nullable=True),
    sa.Column('trim', sa.String(length=80), nullable=True),
    sa.Column('mileage', sa.Integer(), nullable=True),
    sa.Column('stock_number', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=True),
    sa.Column('list_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'vin')
    )



def downgrade() -> None:

    op.drop_table('vehicles')
    op.drop_table('repair_orders')
    op.drop_table('repair_order_lines')
    with op.batch_alter_table('raw_vehicles', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_vehicles_partition')

    op.drop_table('raw_vehicles')
    with op.batch_alter_table('raw_repair_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_repair_orders_partition')

    op.drop_table('raw_repair_orders')
    with op.batch_alter_table('raw_repair_order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_repair_order_lines_partition')

    op.drop_table('raw_repair_order_lines')
    with op.batch_alter_table('raw_leads', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_leads_partition')

    op.drop_table('raw_leads')
    with op.batch_alter_table('raw_deals', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_deals_partition')

    op.drop_table('raw_deals')
    with op.batch_alter_table('raw_customers', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_customers_partition')

    op.drop_table('raw_customers')
    with op.batch_alter_table('raw_appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_appointments_partition')

    op.drop_table('raw_appointments')
    op.drop_table('quarantine')
    op.drop_table('leads')
    op.drop_table('deals')
    op.drop_table('dealerships')
    op.drop_table('customers')

