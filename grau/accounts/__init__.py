"""Accounts: registration and profiles, password hashing, login sessions and their tokens."""
