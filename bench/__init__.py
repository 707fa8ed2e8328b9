"""Benchmarks: standalone scripts, run as `python bench/<name>.py`."""
