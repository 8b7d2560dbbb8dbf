"""Benchmarks of the Saleor App: run ``.venv/bin/python bench/app/run.py`` (see BENCHMARKS.md)."""
