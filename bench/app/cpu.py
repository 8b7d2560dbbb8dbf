"""The CPU time other processes spend: the App's gunicorn workers, a Saleor server.

Linux keeps a CPU-time clock per process, with nanosecond resolution, that counts every
thread of it, threads that have ended included (what ``clock_getcpuclockid(pid)`` names;
the bench reads it with ``time.clock_gettime``). A server's CPU over a span is the change
of the sum of that clock over its process and every descendant (gunicorn's workers).
Nothing else of the bench runs in these processes: the Saleor stand-in and the emulator
run in the bench's own process, PostgreSQL in its own.
"""

from __future__ import annotations

import time
from pathlib import Path

PROC = Path("/proc")
#: The clock id of process ``pid``'s CPU time: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
#: in Linux's include/linux/posix-timers.h, which glibc's clock_getcpuclockid returns.
_CPUCLOCK_SCHED = 2


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descended from it, now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, ()))
    return tree


def process_cpu(pid: int) -> float:
    """Seconds process ``pid`` has spent on a CPU so far, all its threads (0 once it is gone)."""
    try:
        return time.clock_gettime(((~pid) << 3) | _CPUCLOCK_SCHED)
    except OSError:
        return 0.0


class ServerCpu:
    """CPU seconds of a server's process tree (the tree as it was when this was made)."""

    def __init__(self, pid: int):
        self.pids = process_tree(pid)

    def seconds(self) -> float:
        return sum(process_cpu(pid) for pid in self.pids)

    def per_process(self) -> dict[int, float]:
        return {pid: process_cpu(pid) for pid in self.pids}
