"""enrichment and AI usage

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:06:07.003575
"""

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('ai_cache',
    sa.Column('cache_key', sa.String(length=64), nullable=False),
    sa.Column('task', sa.String(length=60), nullable=False),
    sa.Column('prompt_version', sa.String(length=60), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('cache_key')
    )
    op.create_table('ai_quota_usage',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('task', sa.String(length=60), nullable=False),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('used', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('dealership_id', 'task', 'metric', 'period')
    )
    op.create_table('ai_usage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('task', sa.String(length=60), nullable=False),
    sa.Column('provider', sa.String(length=60), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('prompt_version', sa.String(length=60), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Numeric(precision=14, scale=8), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('cache_hit', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('record_key', sa.String(length=200), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ai_usage', schema=None) as batch_op:
        batch_op.create_index('ix_ai_usage_dealership_task', ['dealership_id', 'task', 'called_at'], unique=False)

    op.create_table('lead_enrichments',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('lead_id', sa.String(length=128), nullable=False),
    sa.Column('prompt_version', sa.String(length=128), nullable=False),
    sa.Column('input_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('provider', sa.String(length=60), nullable=True),
    sa.Column('model', sa.String(length=120), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('enriched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('intent', sa.String(length=20), nullable=True),
    sa.Column('vehicle_year', sa.Integer(), nullable=True),
    sa.Column('vehicle_make', sa.String(length=60), nullable=True),
    sa.Column('vehicle_model', sa.String(length=80), nullable=True),
    sa.Column('urgency', sa.Float(), nullable=True),
    sa.Column('urgency_reason', sa.Text(), nullable=True),
    sa.Column('contact_channel', sa.String(length=10), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('dealership_id', 'lead_id', 'prompt_version')
    )
    op.create_table('repair_order_enrichments',
    sa.Column('dealership_id', sa.String(length=128), nullable=False),
    sa.Column('ro_number', sa.String(length=128), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('prompt_version', sa.String(length=128), nullable=False),
    sa.Column('input_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('provider', sa.String(length=60), nullable=True),
    sa.Column('model', sa.String(length=120), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('enriched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=True),
    sa.Column('sentiment', sa.Float(), nullable=True),
    sa.Column('warranty_likely', sa.Boolean(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('dealership_id', 'ro_number', 'line_number', 'prompt_version')
    )



def downgrade() -> None:

    op.drop_table('repair_order_enrichments')
    op.drop_table('lead_enrichments')
    with op.batch_alter_table('ai_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_ai_usage_dealership_task')

    op.drop_table('ai_usage')
    op.drop_table('ai_quota_usage')
    op.drop_table('ai_cache')

