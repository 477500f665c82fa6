"""finished executions found by state and last change (expiration policy)

Revision ID: c7d2a9e4f1b3
Revises: b3e8f1a2c4d5
Create Date: 2026-12-02 18:50:00

"""
from alembic import op


revision = 'c7d2a9e4f1b3'
down_revision = 'b3e8f1a2c4d5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_wf_ex_state_updated', 'workflow_executions', ['state', 'updated_at'])


def downgrade():
    op.drop_index('ix_wf_ex_state_updated', table_name='workflow_executions')
