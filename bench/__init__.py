"""`make bench`: grau as production serves it against the bare-Flask ceiling (bench/README.md)."""
