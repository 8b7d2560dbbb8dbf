"""The App against real Saleor: run by hand with ``SALEOR_LAB=/work/labs/s323`` (see conftest)."""
