"""Database layer: the declarative base, shared column types and sessions."""
