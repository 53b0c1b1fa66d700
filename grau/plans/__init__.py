"""Training plans: days, and the exercises planned on each."""
