"""What an import remembers: the item each imported row became, by a key the row gives."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from grau.db.model import Base, Bookkeeping, utcnow


class ImportKey(Bookkeeping, Base):
    """An item an import made, under the key its source row gives it (a Strong workout's
    start and name, a set's place in it; a grau export's item id): importing the same
    rows again finds the item instead of making another. A key whose item the user has
    since deleted counts as unused: importing its row again brings the item back."""

    __tablename__ = "import_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
