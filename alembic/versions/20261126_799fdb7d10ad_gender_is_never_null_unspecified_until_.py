"""gender is never null: unspecified until the user says

Revision ID: 799fdb7d10ad
Revises: 6fe0bedd2626
Create Date: 2026-11-26 14:03:51.197145

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "799fdb7d10ad"
down_revision: Union[str, Sequence[str], None] = "6fe0bedd2626"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Existing accounts that never said get the value new accounts start with.
    op.execute(
        "UPDATE users SET gender = 'unspecified' "
        "WHERE gender IS NULL OR gender = 'prefer_not_to_say'"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("gender", existing_type=sa.VARCHAR(length=20), nullable=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("gender", existing_type=sa.VARCHAR(length=20), nullable=True)
    op.execute("UPDATE users SET gender = NULL WHERE gender = 'unspecified'")

