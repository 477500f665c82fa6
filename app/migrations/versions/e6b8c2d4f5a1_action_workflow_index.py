"""action executions found by their workflow execution (deleting an execution tree)

Revision ID: e6b8c2d4f5a1
Revises: d4f6a8c0e2b7
Create Date: 2026-12-03 14:40:00

"""
from alembic import op


revision = 'e6b8c2d4f5a1'
down_revision = 'd4f6a8c0e2b7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_action_ex_workflow', 'action_executions', ['workflow_execution_id'])


def downgrade():
    op.drop_index('ix_action_ex_workflow', table_name='action_executions')
