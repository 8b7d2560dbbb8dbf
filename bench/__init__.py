"""Benchmarks of the plugin against a real Saleor: run ``python bench/run.py`` (see BENCHMARKS.md)."""
