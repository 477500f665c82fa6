"""partial indexes for the sweeper: completed actions not yet processed, sub-workflows not yet reported

Revision ID: f2a4c6e8b0d1
Revises: e6b8c2d4f5a1
Create Date: 2026-12-04 19:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'f2a4c6e8b0d1'
down_revision = 'e6b8c2d4f5a1'
branch_labels = None
depends_on = None

# The sweeper's queries state these conditions word for word (a partial index serves a query only
# then); tests/engine/test_sweeper_reads.py checks that each query is served by its index.
UNPROCESSED_ACTION_SQLITE = "accepted = 1 AND processed = 0 AND task_execution_id IS NOT NULL"
UNPROCESSED_ACTION_POSTGRESQL = "accepted = true AND processed = false AND task_execution_id IS NOT NULL"
UNREPORTED_CHILD_SQLITE = "reported_to_parent = 0 AND task_execution_id IS NOT NULL"
UNREPORTED_CHILD_POSTGRESQL = "reported_to_parent = false AND task_execution_id IS NOT NULL"


def upgrade():
    # On PostgreSQL the indexes are built without blocking writes (CONCURRENTLY, which cannot run
    # inside the migration's transaction): a deployment with a long history keeps running meanwhile.
    with op.get_context().autocommit_block():
        op.create_index('ix_action_ex_unprocessed', 'action_executions', ['state', 'updated_at'],
                        sqlite_where=sa.text(UNPROCESSED_ACTION_SQLITE),
                        postgresql_where=sa.text(UNPROCESSED_ACTION_POSTGRESQL), postgresql_concurrently=True)
        op.create_index('ix_wf_ex_unreported', 'workflow_executions', ['state', 'updated_at'],
                        sqlite_where=sa.text(UNREPORTED_CHILD_SQLITE),
                        postgresql_where=sa.text(UNREPORTED_CHILD_POSTGRESQL), postgresql_concurrently=True)


def downgrade():
    op.drop_index('ix_wf_ex_unreported', table_name='workflow_executions')
    op.drop_index('ix_action_ex_unprocessed', table_name='action_executions')
