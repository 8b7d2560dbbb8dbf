"""Pausing actors at checkpoints, and running every ordering of their steps.

An *actor* (the shopper's return, a callback, the storefront's ``checkoutComplete``,
reconciliation) runs on its own thread and database connection. Wherever it reaches a
checkpoint it stops until the scheduler lets it go on. A *schedule* names, step by
step, which actor goes next; :func:`schedules` lists every distinct ordering of the
actors' steps. An actor that does not reach its next checkpoint soon after it was let
go is waiting for a row lock another paused actor holds: the scheduler moves on, and
the actor carries on by itself once the lock is free.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from django.db import connections

#: How long a released actor may take to reach its next checkpoint before it counts as blocked.
BLOCKED_AFTER = 0.4
#: The longest a whole run may take once the schedule is spent.
RUN_LIMIT = 60


class Scheduler:
    def __init__(self, *, blocked_after: float = BLOCKED_AFTER) -> None:
        self._blocked_after = blocked_after
        self._local = threading.local()
        self._go: dict[str, threading.Semaphore] = {}
        self._events: queue.Queue[tuple[str, str]] = queue.Queue()
        self.trace: list[tuple[str, str]] = []

    def checkpoint(self, name: str) -> None:
        """Called by the patched code: pause here if the calling thread is an actor."""
        actor = getattr(self._local, "actor", None)
        if actor is None:
            return
        self._events.put((actor, name))
        self._go[actor].acquire()

    def run(self, actors: dict[str, Callable[[], object]], schedule: list[str]) -> dict[str, object]:
        results: dict[str, object] = {}
        done = threading.Event()
        remaining = set(actors)
        lock = threading.Lock()

        def body(name: str, job: Callable[[], object]) -> None:
            self._local.actor = name
            try:
                self._go[name].acquire()  # every actor starts paused
                results[name] = job()
            except BaseException as error:  # noqa: BLE001 - reported to the test
                results[name] = error
            finally:
                connections.close_all()
                self._events.put((name, "done"))
                with lock:
                    remaining.discard(name)
                    if not remaining:
                        done.set()

        self._go = {name: threading.Semaphore(0) for name in actors}
        threads = [threading.Thread(target=body, args=item, daemon=True) for item in actors.items()]
        for thread in threads:
            thread.start()
        finished: set[str] = set()
        self._blocked: set[str] = set()
        for actor in schedule:
            if actor in finished or actor in self._blocked:
                continue  # a blocked actor's turn passes: it goes on when its lock is free
            self._go[actor].release()
            self._await(actor, finished)
        # The schedule is spent: let everyone run to the end.
        while not done.wait(0.05):
            self._drain(finished)
            for name in set(actors) - finished - self._blocked:
                self._go[name].release()
                self._blocked.add(name)  # until it reports again
            if len(self.trace) > 10_000:
                raise AssertionError("actors never finished")
        for thread in threads:
            thread.join(RUN_LIMIT)
        return results

    def _await(self, actor: str, finished: set[str]) -> None:
        try:
            while True:
                name, event = self._events.get(timeout=self._blocked_after)
                self._note(name, event, finished)
                if name == actor:
                    return
        except queue.Empty:
            self._blocked.add(actor)  # waiting on a lock: it reports its next checkpoint later

    def _drain(self, finished: set[str]) -> None:
        while True:
            try:
                self._note(*self._events.get_nowait(), finished)
            except queue.Empty:
                return

    def _note(self, name: str, event: str, finished: set[str]) -> None:
        self.trace.append((name, event))
        self._blocked.discard(name)
        if event == "done":
            finished.add(name)


def schedules(steps: dict[str, int]) -> Iterator[list[str]]:
    """Every distinct ordering of ``steps[actor]`` turns of each actor."""
    names = sorted(steps)

    def extend(prefix: list[str], left: dict[str, int]) -> Iterator[list[str]]:
        if not any(left.values()):
            yield list(prefix)
            return
        for name in names:
            if left[name]:
                left[name] -= 1
                prefix.append(name)
                yield from extend(prefix, left)
                prefix.pop()
                left[name] += 1

    yield from extend([], dict(steps))


def patch_checkpoints(monkeypatch, scheduler: Scheduler, points: dict[tuple[object, str], str]) -> None:
    """Wrap ``getattr(owner, attribute)`` so that it passes checkpoint ``name``.

    A name ending in ``:before`` pauses before the call, any other after it returns.
    """
    for (owner, attribute), name in points.items():
        original = getattr(owner, attribute)

        def wrapper(*args, __original=original, __name=name, **kwargs):
            if __name.endswith(":before"):
                scheduler.checkpoint(__name)
                return __original(*args, **kwargs)
            result = __original(*args, **kwargs)
            scheduler.checkpoint(__name)
            return result

        monkeypatch.setattr(owner, attribute, wrapper)
