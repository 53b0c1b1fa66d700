"""Users: registration and the current user's profile."""
