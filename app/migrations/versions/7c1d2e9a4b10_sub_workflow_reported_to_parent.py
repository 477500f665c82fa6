"""sub-workflow executions record that their end reached the parent task

Revision ID: 7c1d2e9a4b10
Revises: 42f5deae8fef
Create Date: 2026-11-27 04:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7c1d2e9a4b10'
down_revision = '42f5deae8fef'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workflow_executions') as batch_op:
        batch_op.add_column(sa.Column('reported_to_parent', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('workflow_executions') as batch_op:
        batch_op.drop_column('reported_to_parent')
