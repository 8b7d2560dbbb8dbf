"""What every bench run shares, loaded as a pytest plugin by ``bench/conftest.py`` (the
plugin's figures) and ``bench/app/conftest.py`` (the App's): the options, and ``record``,
which keeps each figure for the runner to judge; and :func:`run_and_report`, the runners'
own step (``bench/run.py``, ``bench/app/run.py``).

Each conftest provides ``figures_by_key``: the figures its benchmarks may record.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from bench.figures import Figure, report


REPOSITORY = Path(__file__).resolve().parent.parent


def run_and_report(directory: Path, pytest_args: list[str], figures: list[Figure]) -> int:
    """Run the benchmarks in ``directory`` (with ``pytest_args`` for its setting), then
    print every figure beside its budget; the exit code: 1 when a budget is missed, a
    figure is missing or a benchmark failed."""
    with tempfile.TemporaryDirectory() as results_directory:
        results = Path(results_directory) / "figures.json"
        exit_code = pytest.main([
            str(directory),
            f"--rootdir={REPOSITORY}",
            "-p", "no:cacheprovider",
            # The bench modules are bench_*.py, so that the unit and integration runs never collect them.
            "-o", "python_files=bench_*.py",
            "-q",
            *pytest_args,
            f"--bench-results={results}",
        ])  # fmt: skip
        measured = json.loads(results.read_text()) if results.exists() else {}
    print()
    all_within = report(figures, measured)
    return 0 if all_within and exit_code == 0 else 1


def pytest_addoption(parser):
    group = parser.getgroup("saleor-optty benchmarks")
    group.addoption("--bench-results", help="JSON file the measured figures are written to")
    group.addoption("--bench-repeats", type=int, default=15, help="measured repetitions per CPU comparison")
    group.addoption("--bench-checkouts", type=int, default=50, help="checkouts counted for the calls to Optty")


@pytest.fixture(scope="session")
def record(request, figures_by_key):
    """``record(key, value, detail)``: keep one figure (a key of ``figures_by_key``) for the runner."""
    path = request.config.getoption("--bench-results")
    figures = {}

    def record(key: str, value: float, detail: str = "") -> None:
        if key not in figures_by_key:
            raise KeyError(f"{key!r} is not a figure of this bench")
        figures[key] = {"value": value, "detail": detail}
        if path:  # rewritten each time, so a later failure keeps what was measured
            with open(path, "w") as results:
                json.dump(figures, results, indent=2)

    return record


@pytest.fixture
def repeats(request):
    return request.config.getoption("--bench-repeats")
