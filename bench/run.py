"""Runs the benchmarks and judges each figure against its budget (see BENCHMARKS.md).

Run it with the Python of a Saleor environment that has the plugin installed::

    python bench/run.py [pytest options, e.g. --bench-repeats 25 -k checkout]

It runs pytest on ``bench/`` with Saleor's test settings and the reused test database,
prints every figure beside its budget, and last ``bench: N/M within budget``; the exit
code is 1 when a budget is missed or a benchmark failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
# `python bench/run.py` puts bench/ first on the path; the benchmarks import `bench`
# and `tests` as packages of the repository instead.
sys.path[0] = str(REPOSITORY)

from bench.figures import FIGURES  # noqa: E402
from bench.recording import run_and_report  # noqa: E402

PYTEST_ARGS = [
    # The App's figures run in the project's own environment, without Saleor: bench/app/run.py.
    f"--ignore={REPOSITORY / 'bench' / 'app'}",
    "--ds=saleor.tests.settings",
    "--reuse-db",
    "-W", "ignore::DeprecationWarning",
]  # fmt: skip


def main(argv: list[str]) -> int:
    return run_and_report(REPOSITORY / "bench", [*PYTEST_ARGS, *argv], FIGURES)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
