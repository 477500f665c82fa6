"""the request an async action sent, and the index of the actions waiting for a callback

Revision ID: d4f6a8c0e2b7
Revises: c7d2a9e4f1b3
Create Date: 2026-12-03 07:55:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd4f6a8c0e2b7'
down_revision = 'c7d2a9e4f1b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('action_executions') as batch_op:
        batch_op.add_column(sa.Column('sent_request', sa.JSON(), nullable=True))
    op.create_index('ix_action_ex_waiting', 'action_executions', ['is_sync', 'state', 'created_at', 'id'])


def downgrade():
    op.drop_index('ix_action_ex_waiting', table_name='action_executions')
    with op.batch_alter_table('action_executions') as batch_op:
        batch_op.drop_column('sent_request')
