"""Outgoing callbacks: one scheduler thread that delivers, retries and records them.

A delivery counts as received only on a 2xx answer; anything else (an error status, a
redirect, a refused connection, a timeout) is retried after ``backoff`` seconds, doubling
each time (capped at a minute), up to ``max_attempts`` attempts. Optty says only that it
retries; the schedule is the emulator's.

Delivery modes (the ``callbacks.mode`` knob):

- ``sequential``: the scheduler thread sends each delivery when it falls due. A failing
  callback is rescheduled rather than blocking the queue, so a later event can overtake
  it, as with real webhook senders.
- ``concurrent``: every attempt runs on its own thread, so duplicates and events close
  together race each other.
- ``reverse``: an order's callbacks are held until the order reaches a final status (or
  :meth:`CallbackDispatcher.release` is called), then sent newest first.

The scheduler also runs the emulator's timed jobs (the "pending first" settlement).
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from .faults import CallbackSettings
from .money import loads
from .state import iso, utcnow

MAX_BACKOFF = 60.0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is not an acknowledgement; report it as the non-2xx answer it is."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# Callbacks go straight to the receiver: an environment proxy would hide local hosts.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass
class Delivery:
    id: int
    event: str
    url: str
    order_reference: str
    status: str
    body: bytes
    settings: CallbackSettings
    copy: int
    state: str = "pending"  # held | pending | delivered | failed
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "url": self.url,
            "order_reference": self.order_reference,
            "status": self.status,
            "copy": self.copy,
            "state": self.state,
            "attempts": [dict(attempt) for attempt in self.attempts],
            "payload": loads(self.body),
        }


class CallbackDispatcher:
    def __init__(self, log: Callable[[str], None] | None = None) -> None:
        self._log = log
        self._cond = threading.Condition()
        # (due, sequence, generation, job); reset() bumps the generation to drop old jobs.
        self._queue: list[tuple[float, int, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._ids = itertools.count(1)
        self._generation = 0
        self._deliveries: list[Delivery] = []
        self._held: dict[str, list[Delivery]] = {}
        self._running = 0
        self._threads: set[threading.Thread] = set()
        self._stopped = False
        self._worker: threading.Thread | None = None

    def start(self) -> None:
        self._stopped = False
        self._worker = threading.Thread(target=self._work, name="optty-emulator-callbacks", daemon=True)
        self._worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            threads = list(self._threads)
        if self._worker is not None:
            self._worker.join(timeout)
        for thread in threads:
            thread.join(timeout)

    def reset(self) -> None:
        with self._cond:
            self._generation += 1
            self._queue.clear()
            self._held.clear()
            self._deliveries.clear()
            self._cond.notify_all()

    def send(
        self,
        event: str,
        url: str,
        order_reference: str,
        status: str,
        body: bytes,
        settings: CallbackSettings,
        final: bool,
    ) -> None:
        with self._cond:
            for copy in range(1 + settings.duplicates):
                delivery = Delivery(
                    next(self._ids), event, url, order_reference, status, body, settings, copy
                )
                self._deliveries.append(delivery)
                if settings.mode == "reverse":
                    delivery.state = "held"
                    self._held.setdefault(order_reference, []).append(delivery)
                else:
                    self._enqueue_delivery(delivery, settings.delay)
            if settings.mode == "reverse" and final:
                self._release_locked(order_reference)

    def schedule(self, delay: float, job: Callable[[], None]) -> None:
        with self._cond:
            self._push(delay, job)

    def release(self) -> int:
        """Send every held callback now, each order's newest first."""
        with self._cond:
            references = list(self._held)
            return sum(self._release_locked(reference) for reference in references)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight (held callbacks do not count)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def describe(self) -> list[dict[str, Any]]:
        with self._cond:
            return [delivery.describe() for delivery in self._deliveries]

    def counts(self) -> dict[str, int]:
        with self._cond:
            states = [delivery.state for delivery in self._deliveries]
            return {
                "total": len(states),
                "delivered": states.count("delivered"),
                "failed": states.count("failed"),
                "pending": states.count("pending"),
                "held": states.count("held"),
                "attempts": sum(len(delivery.attempts) for delivery in self._deliveries),
            }

    # Internals (the _locked and _push/_enqueue helpers expect self._cond to be held) ---

    def _release_locked(self, order_reference: str) -> int:
        held = self._held.pop(order_reference, [])
        for delivery in reversed(held):
            delivery.state = "pending"
            self._enqueue_delivery(delivery, delivery.settings.delay)
        return len(held)

    def _enqueue_delivery(self, delivery: Delivery, delay: float) -> None:
        generation = self._generation
        if delivery.settings.mode == "concurrent":
            self._push(delay, lambda: self._spawn(delivery, generation))
        else:
            self._push(delay, lambda: self._attempt(delivery, generation))

    def _push(self, delay: float, job: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (time.monotonic() + delay, next(self._sequence), self._generation, job))
        self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopped:
                        return
                    if self._queue and self._queue[0][0] <= time.monotonic():
                        _, _, generation, job = heapq.heappop(self._queue)
                        if generation == self._generation:
                            self._running += 1
                            break
                        continue
                    self._cond.wait(self._queue[0][0] - time.monotonic() if self._queue else None)
            self._run(job)

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # an emulator bug; keep the scheduler alive and say so
            traceback.print_exc(file=sys.stderr)
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def _spawn(self, delivery: Delivery, generation: int) -> None:
        with self._cond:
            if self._stopped:
                return
            self._running += 1
            thread = threading.Thread(target=self._run_spawned, args=(delivery, generation), daemon=True)
            self._threads.add(thread)
        thread.start()

    def _run_spawned(self, delivery: Delivery, generation: int) -> None:
        try:
            self._run(lambda: self._attempt(delivery, generation))
        finally:
            with self._cond:
                self._threads.discard(threading.current_thread())

    def _attempt(self, delivery: Delivery, generation: int) -> None:
        status_code, error = _post(delivery.url, delivery.body, delivery.settings.timeout)
        with self._cond:
            if generation != self._generation:
                return
            delivery.attempts.append({"at": iso(utcnow()), "status_code": status_code, "error": error})
            if status_code is not None and 200 <= status_code < 300:
                delivery.state = "delivered"
            elif len(delivery.attempts) >= delivery.settings.max_attempts:
                delivery.state = "failed"
            else:
                backoff = min(delivery.settings.backoff * 2 ** (len(delivery.attempts) - 1), MAX_BACKOFF)
                self._enqueue_delivery(delivery, backoff)
        if self._log is not None:
            # The URL may carry a secret token; log only where it went.
            outcome = status_code if status_code is not None else error
            self._log(
                f"callback {delivery.event} {delivery.status} -> {urlsplit(delivery.url).netloc}: {outcome}"
            )


def _post(url: str, body: bytes, timeout: float) -> tuple[int | None, str | None]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "OpttyEmulator/1"},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return response.status, None
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, None
    except (OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"
