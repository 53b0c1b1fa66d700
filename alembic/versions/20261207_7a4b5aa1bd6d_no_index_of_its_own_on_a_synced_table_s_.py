"""no index of its own on a synced table's owner column

Each synced table with an owner had an index on `user_id` alone beside the
changes feed's (user_id, seq, id), which finds an owner's rows as well (as do
the lists' indexes). It is dropped: one index fewer to write on every insert (about 7% of an insert's PostgreSQL CPU in a pgbench A/B on
body_stats). test_migrations checks that every owner column still leads an
index and that no plain index repeats the start, or the whole, of another.

Revision ID: 7a4b5aa1bd6d
Revises: abe1d03075a5
Create Date: 2026-12-07 10:24:02.746853

"""

from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = "7a4b5aa1bd6d"
down_revision: Union[str, Sequence[str], None] = "abe1d03075a5"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# The synced tables with an owner (grau.sync.models.SYNCED), as they were at this revision.
OWNED = (
    "body_stats",
    "equipment",
    "exercises",
    "mood_tags",
    "moods",
    "nutrition_entries",
    "plans",
    "workout_sets",
    "workouts",
)


def upgrade() -> None:
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_user_id"))


def downgrade() -> None:
    for table in reversed(OWNED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_user_id"), ["user_id"], unique=False)
