"""Runs the App's benchmarks and judges each figure against its budget (see BENCHMARKS.md).

Run it with the project's own Python, which has the App and its test suite (no Saleor)::

    .venv/bin/python bench/app/run.py [pytest options, e.g. -k callbacks]
    SALEOR_LAB=/work/labs/s323 .venv/bin/python bench/app/run.py   # also the figures against a real Saleor

It needs PostgreSQL and Redis (``--bench-database-url``, ``--bench-redis-url``: a database
and a Redis database of the bench's own, emptied at the start). It prints every figure
beside its budget, and last ``bench: N/M within budget``; the exit code is 1 when a
budget is missed or a benchmark failed. Without ``SALEOR_LAB`` the figures that need a
real Saleor are MISSING.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
# `python bench/app/run.py` puts bench/app/ first on the path; the benchmarks import
# `bench` and `tests` as packages of the repository instead.
sys.path[0] = str(REPOSITORY)

from bench.app.figures import FIGURES  # noqa: E402
from bench.recording import run_and_report  # noqa: E402

HERE = REPOSITORY / "bench" / "app"
PYTEST_ARGS = [
    f"--confcutdir={HERE}",  # not bench/conftest.py, which needs Saleor
    "--ds=tests.settings",  # this process's Django: the App's models for the stand-in's helpers
]


def main(argv: list[str]) -> int:
    return run_and_report(HERE, [*PYTEST_ARGS, *argv], FIGURES)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
