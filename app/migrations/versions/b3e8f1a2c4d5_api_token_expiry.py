"""API tokens may expire

Revision ID: b3e8f1a2c4d5
Revises: 7c1d2e9a4b10
Create Date: 2026-12-02 17:55:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b3e8f1a2c4d5'
down_revision = '7c1d2e9a4b10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens') as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_tokens') as batch_op:
        batch_op.drop_column('expires_at')
