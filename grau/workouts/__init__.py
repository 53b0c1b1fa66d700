"""Workouts and the sets performed in them."""
