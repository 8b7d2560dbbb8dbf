"""CPU-time sampling: the same work repeated, medians compared within one run.

Absolute times on a shared 2-core machine are noise, so every budgeted figure is a
ratio of two medians taken in the same run, with the two sides interleaved so that
any drift in the machine's load hits both alike.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction


class CpuClock:
    """Adds up the process's CPU time over the spans it is running in."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        started = time.process_time()
        try:
            yield
        finally:
            self.seconds += time.process_time() - started


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run a block in a savepoint that is rolled back, so every repetition starts alike."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


#: One repetition: does its own set-up and returns the CPU seconds of the part measured.
Sample = Callable[[], float]


@dataclass
class Comparison:
    baseline: list[float] = field(default_factory=list)
    subject: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.subject) / statistics.median(self.baseline)

    def detail(self, subject: str, baseline: str) -> str:
        return (
            f"{subject} {statistics.median(self.subject) * 1000:.2f} ms vs {baseline} "
            f"{statistics.median(self.baseline) * 1000:.2f} ms CPU, medians of {len(self.subject)}"
        )


def compare(baseline: Sample, subject: Sample, *, repeats: int, warmup: int = 3) -> Comparison:
    """Median CPU of ``subject`` against ``baseline``, alternating which goes first."""
    for _ in range(warmup):
        baseline()
        subject()
    result = Comparison()
    for round_ in range(repeats):
        pair = [(result.baseline, baseline), (result.subject, subject)]
        for samples, sample in pair if round_ % 2 == 0 else reversed(pair):
            gc.collect()  # a collection left over from set-up would land in the span measured
            samples.append(sample())
    return result
