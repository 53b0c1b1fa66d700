"""Authentication: password hashing, access and refresh tokens, the current user."""
