"""Offline sync: the changes feed apps keep their local copy with (see grau.sync.models)."""
