"""Benchmarks that print numbers; run them with ``python -m bench.<name>``."""
