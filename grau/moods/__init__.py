"""Moods: how the user felt, with their own tags for what was going on."""
