"""`make bench`: grau under gunicorn against the bare-Flask ceiling (see bench/README.md)."""
