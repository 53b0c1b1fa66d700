"""Every model module, imported once so the metadata is complete (alembic, tests)."""

from grau.auth.models import AuthSession, RefreshToken
from grau.body_stats.models import BodyStat
from grau.db.model import Base
from grau.idempotency import IdempotencyKey
from grau.users.models import User

__all__ = ["AuthSession", "Base", "BodyStat", "IdempotencyKey", "RefreshToken", "User"]
