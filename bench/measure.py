"""CPU-time sampling: the same work repeated, medians compared within one run.

Absolute times on a shared 2-core machine are noise, so every budgeted time is a ratio
of two medians taken in the same run, with the two sides interleaved so that drift in
the machine's load hits both alike. Time is the process's CPU time
(``time.process_time``): the emulator runs in another process (see ``emulator.py``),
so this process's CPU is Saleor's work on the request, plus Django's test client
building the request and reading the answer, which is the same for both sides.
PostgreSQL's own CPU is not in it.
"""

from __future__ import annotations

import functools
import gc
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction


class CpuClock:
    """Adds up the process's CPU time over the spans it runs in, also per named part.

    ``of_which`` holds figures measured inside those spans (see :class:`Attribution`).
    ``timer`` is ``time.thread_time`` where the process also runs servers whose work is
    not the subject's (the App's bench: the Saleor stand-in and the emulator, in threads).
    """

    def __init__(self, timer: Callable[[], float] = time.process_time) -> None:
        self.parts: dict[str, float] = defaultdict(float)
        self.of_which: dict[str, float] = {}
        self._timer = timer

    @property
    def seconds(self) -> float:
        return sum(self.parts.values())

    @contextmanager
    def running(self, part: str = "total") -> Iterator[None]:
        started = self._timer()
        try:
            yield
        finally:
            self.parts[part] += self._timer() - started

    def add(self, seconds: float, part: str = "total") -> None:
        """Count CPU time measured elsewhere (another thread, another process) to ``part``."""
        self.parts[part] += seconds


class Attribution:
    """The CPU time spent inside chosen functions, less the time inside others called from them."""

    def __init__(self, monkeypatch) -> None:
        self.seconds = 0.0
        self._monkeypatch = monkeypatch

    def count(self, owner, name: str, *, sign: int = 1) -> None:
        """Count (``sign=-1``: discount) the time inside ``owner.name`` from now to the test's end."""
        original = getattr(owner, name)

        @functools.wraps(original)
        def counted(*args, **kwargs):
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += sign * (time.process_time() - started)

        self._monkeypatch.setattr(owner, name, counted)


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run a block in a savepoint that is rolled back, so every repetition starts alike."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


#: One repetition: does its own set-up and returns the clock of the part measured.
Sample = Callable[[], CpuClock]


@dataclass
class Comparison:
    baseline: list[CpuClock] = field(default_factory=list)
    subject: list[CpuClock] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return median(self.subject) / median(self.baseline)

    def detail(self, subject: str, baseline: str) -> str:
        """E.g. ``Optty 401.2 ms (paymentCreate 37.0 ms + ...; of which plugin code 45.0 ms) vs dummy ...``."""
        return (
            f"{subject} {_describe(self.subject)} vs {baseline} {_describe(self.baseline)}, "
            f"CPU medians of {len(self.subject)}"
        )


def median(clocks: list[CpuClock], part: str | None = None) -> float:
    """The median total, or of one part, or of one ``of_which`` figure."""
    return statistics.median(
        clock.seconds if part is None else clock.parts.get(part, clock.of_which.get(part)) for clock in clocks
    )


def _describe(clocks: list[CpuClock]) -> str:
    text = _format_time(median(clocks))
    parts = [f"{name} {_format_time(median(clocks, name))}" for name in clocks[0].parts]
    notes = [f"of which {name} {_format_time(median(clocks, name))}" for name in clocks[0].of_which]
    if len(parts) > 1 or notes:
        text += " (" + "; ".join(filter(None, [" + ".join(parts) if len(parts) > 1 else "", *notes])) + ")"
    return text


def _format_time(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def sample_interleaved(samples: dict[str, Sample], *, repeats: int, warmup: int = 3) -> dict[str, list[CpuClock]]:
    """The clocks of each named sample, the samples taken in turn, each round starting with the next."""
    for _ in range(warmup):
        for sample in samples.values():
            sample()
    names = list(samples)
    clocks: dict[str, list[CpuClock]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()  # garbage left by the set-up would otherwise be collected inside the span
            clocks[name].append(samples[name]())
    return clocks


def compare(baseline: Sample, subject: Sample, *, repeats: int, warmup: int = 3) -> Comparison:
    """Median CPU of ``subject`` against ``baseline``, alternating which goes first."""
    clocks = sample_interleaved({"baseline": baseline, "subject": subject}, repeats=repeats, warmup=warmup)
    return Comparison(clocks["baseline"], clocks["subject"])
