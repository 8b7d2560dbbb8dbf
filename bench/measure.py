"""CPU-time sampling: the same work repeated, means compared within one run.

Absolute times on a shared 2-core machine are noise, so every budgeted time is a ratio
of two means taken in the same run, with the two sides interleaved so that drift in
the machine's load hits both alike. Time is the process's CPU time
(``time.process_time``): the emulator runs in another process (see ``emulator.py``),
so this process's CPU is Saleor's work on the request, plus Django's test client
building the request and reading the answer, which is the same for both sides.
PostgreSQL's own CPU is not in it.

Each round of samples is taken at another Python call depth (see :func:`at_call_depth`):
on CPython 3.12, which Saleor runs on, the same work costs up to 40% more when the calls
it makes keep crossing the edge of a 16 KiB chunk of the interpreter's frame stack
(each crossing maps and unmaps a chunk: CPython issue gh-142183, fixed from 3.13 on, not
in 3.12). Where that edge falls depends on how deep the process already is when a request
is handled, which differs between a test client, gunicorn and uvicorn, and between two
gateways' code paths; taking every round at another depth, the same depths for every
side, measures each side over all placements of the edge instead of the one a fixed
depth happens to give. Hence means, not medians: every depth counts once, as every
placement of the edge is as likely as the next, where a median would pick the cost of
one placement (the edge makes each side's samples fall into two groups, with and
without the crossings).
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
from typing import TypeVar

from django.db import transaction

T = TypeVar("T")


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
        return mean(self.subject) / mean(self.baseline)

    def detail(self, subject: str, baseline: str) -> str:
        """E.g. ``Optty 401.2 ms (paymentCreate 37.0 ms + ...; of which plugin code 45.0 ms) vs dummy ...``."""
        return (
            f"{subject} {_describe(self.subject)} vs {baseline} {_describe(self.baseline)}, "
            f"CPU means of {len(self.subject)}"
        )


def mean(clocks: list[CpuClock], part: str | None = None) -> float:
    """The mean total, or of one part, or of one ``of_which`` figure."""
    return statistics.fmean(
        clock.seconds if part is None else clock.parts.get(part, clock.of_which.get(part)) for clock in clocks
    )


def _describe(clocks: list[CpuClock]) -> str:
    text = _format_time(mean(clocks))
    parts = [f"{name} {_format_time(mean(clocks, name))}" for name in clocks[0].parts]
    notes = [f"of which {name} {_format_time(mean(clocks, name))}" for name in clocks[0].of_which]
    if len(parts) > 1 or notes:
        text += " (" + "; ".join(filter(None, [" + ".join(parts) if len(parts) > 1 else "", *notes])) + ")"
    return text


def _format_time(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


#: Calls of :func:`at_call_depth` that fill one 16 KiB frame-stack chunk on CPython 3.12
#: (measured: a loop of calls at a growing depth maps a new chunk every 136 levels).
CHUNK_OF_CALLS = 136


def at_call_depth(extra_calls: int, work: Callable[[], T]) -> T:
    """``work()``, run ``extra_calls`` Python calls deeper than the caller."""
    if extra_calls <= 0:
        return work()
    return at_call_depth(extra_calls - 1, work)


def sample_interleaved(samples: dict[str, Sample], *, repeats: int, warmup: int = 3) -> dict[str, list[CpuClock]]:
    """The clocks of each named sample, the samples taken in turn, each round starting with the next.

    Round ``r`` takes all its samples at the same extra call depth, the rounds' depths
    spread evenly over one frame-stack chunk (see the module's docstring).
    """
    for _ in range(warmup):
        for sample in samples.values():
            sample()
    names = list(samples)
    clocks: dict[str, list[CpuClock]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        depth = round_ * CHUNK_OF_CALLS // repeats
        for name in names[shift:] + names[:shift]:
            gc.collect()  # garbage left by the set-up would otherwise be collected inside the span
            clocks[name].append(at_call_depth(depth, samples[name]))
    return clocks


def compare(baseline: Sample, subject: Sample, *, repeats: int, warmup: int = 3) -> Comparison:
    """Median CPU of ``subject`` against ``baseline``, alternating which goes first."""
    clocks = sample_interleaved({"baseline": baseline, "subject": subject}, repeats=repeats, warmup=warmup)
    return Comparison(clocks["baseline"], clocks["subject"])
