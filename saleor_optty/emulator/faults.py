"""Fault knobs: how the emulator misbehaves on purpose.

Four groups, all set through :meth:`FaultPlan.configure` (the body of
``POST /_emulator/faults``) or the emulator's convenience methods:

- per endpoint: a steady added ``latency``, and a queue of one-off *shots* that the next
  requests use up in order (``fail``, ``drop``, ``hang``);
- ``callbacks``: duplicates, delay, delivery mode, "pending first", retry schedule;
- ``output``: status casing, amounts as strings, hash encoding, list-shaped messages,
  an unreadable /options entry;
- ``behaviour``: the answers Optty's docs leave open (references echoed in the order
  details, what a repeated reference gets).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal
from typing import Any

ENDPOINTS = (
    "token",
    "options",
    "create_order",
    "get_order",
    "details",
    "capture",
    "void",
    "refund",
    "customer_session",
    "hosted",
)
ALL_ENDPOINTS = "*"

ACTIONS = ("fail", "drop", "hang")
WHEN = ("before", "after")
CALLBACK_MODES = ("sequential", "concurrent", "reverse")
STATUS_CASES = ("documented", "upper", "lower", "mixed")
HASH_ENCODINGS = ("hex", "base64")
DUPLICATE_MODES = ("replay", "reject", "process")

# Keys whose values are Optty statuses; the status_case knob rewrites only these.
STATUS_KEYS = frozenset({"status", "paymentStatus", "refundStatus", "captureStatus"})


@dataclass(frozen=True)
class Shot:
    """One planned misbehaviour, used up by the next request to its endpoint.

    ``fail`` answers ``status`` (with ``Retry-After`` if set); ``drop`` closes the
    connection without an answer. ``when="after"`` does either only after the request
    has been processed, so the state change happens but the client never learns of it.
    ``hang`` waits ``seconds`` and then processes and answers normally, late.
    """

    action: str
    when: str = "before"
    status: int = 503
    retry_after: int | None = None
    seconds: float = 0.0

    def strikes(self, stage: str) -> bool:
        """Whether this shot cuts the request short at ``stage`` ("before" or "after")."""
        return self.action != "hang" and self.when == stage


@dataclass
class CallbackSettings:
    duplicates: int = 0  # extra copies of every callback
    delay: float = 0.0  # seconds before the first attempt
    mode: str = "sequential"  # see callbacks.py
    pending_first: float = 0.0  # approvals go PENDING, then SUCCESSFUL this many seconds later
    backoff: float = 1.0  # first retry delay; doubles per attempt
    max_attempts: int = 8
    timeout: float = 5.0  # per attempt


@dataclass
class OutputSettings:
    status_case: str = "documented"  # as Optty documents: upper case, paymentStatus "pending"
    amounts_as_strings: bool = False
    hash_encoding: str = "hex"
    message_as_list: bool = False  # class-validator's ["msg"] with "error": "Bad Request"
    corrupt_option: bool = False  # the first /options entry gets an unreadable minAmount


@dataclass
class BehaviourSettings:
    """Where Optty's docs are silent, the emulator answers as these say."""

    # Also list refundReference and captureReference in the order details, and the voids
    # as orderVoids; Optty documents none of them there.
    echo_references: bool = False
    # A capture, void, refund or order reference sent again: "replay" answers an identical
    # retry with the first answer (anything else reusing it is 400 "... must be unique"),
    # "reject" is 400 even for an identical retry, "process" does it again as new.
    duplicate_references: str = "replay"


_CHOICES = {
    "mode": CALLBACK_MODES,
    "status_case": STATUS_CASES,
    "hash_encoding": HASH_ENCODINGS,
    "duplicate_references": DUPLICATE_MODES,
}


class FaultPlan:
    def __init__(
        self,
        latency: float = 0.0,
        callbacks: CallbackSettings | None = None,
        behaviour: dict[str, Any] | None = None,
    ) -> None:
        self._base_latency = latency
        self._callback_defaults = callbacks or CallbackSettings()
        self._behaviour_defaults = _updated(BehaviourSettings(), behaviour or {}, "behaviour")
        self.latency: dict[str, float]
        self.shots: dict[str, deque[Shot]]
        self.callbacks: CallbackSettings
        self.output: OutputSettings
        self.behaviour: BehaviourSettings
        self.clear()

    def clear(self) -> None:
        """Back to the settings the emulator was started with."""
        self.latency = {}
        self.shots = {endpoint: deque() for endpoint in ENDPOINTS}
        self.callbacks = replace(self._callback_defaults)
        self.output = OutputSettings()
        self.behaviour = replace(self._behaviour_defaults)

    def configure(self, spec: Any) -> None:
        """Apply a fault spec; it is checked completely before anything changes.

        ``{"clear": true, "latency": {"options": 0.3, "*": 0.1},
        "next": {"create_order": [{"action": "fail", "status": 503, "when": "after", "count": 2}]},
        "callbacks": {"duplicates": 1}, "output": {"status_case": "lower"},
        "behaviour": {"duplicate_references": "reject"}}``
        """
        if not isinstance(spec, dict):
            raise ValueError("a fault spec is a JSON object")
        _only(spec, {"clear", "latency", "next", "callbacks", "output", "behaviour"}, "fault spec")
        clear = spec.get("clear", False)
        if not isinstance(clear, bool):
            raise ValueError("clear must be true or false")
        latency = _latency(spec.get("latency", {}))
        shots = {
            endpoint: _shots(endpoint, plan)
            for endpoint, plan in _endpoint_map(spec.get("next", {}), "next").items()
        }
        callbacks = _updated(
            self._callback_defaults if clear else self.callbacks, spec.get("callbacks", {}), "callbacks"
        )
        output = _updated(OutputSettings() if clear else self.output, spec.get("output", {}), "output")
        behaviour = _updated(
            self._behaviour_defaults if clear else self.behaviour, spec.get("behaviour", {}), "behaviour"
        )

        if clear:
            self.clear()
        self.latency.update(latency)
        for endpoint, queued in shots.items():
            self.shots[endpoint].extend(queued)
        self.callbacks = callbacks
        self.output = output
        self.behaviour = behaviour

    def take(self, endpoint: str) -> tuple[float, Shot | None]:
        """The latency for this request and the shot it uses up, if any."""
        latency = self._base_latency + self.latency.get(ALL_ENDPOINTS, 0.0) + self.latency.get(endpoint, 0.0)
        queue = self.shots[endpoint]
        return latency, queue.popleft() if queue else None

    def describe(self) -> dict[str, Any]:
        return {
            "base_latency": self._base_latency,
            "latency": dict(self.latency),
            "next": {
                endpoint: [asdict(shot) for shot in queue] for endpoint, queue in self.shots.items() if queue
            },
            "callbacks": asdict(self.callbacks),
            "output": asdict(self.output),
            "behaviour": asdict(self.behaviour),
        }


def cased(status: str, case: str) -> str:
    if case == "upper":
        return status.upper()
    if case == "lower":
        return status.lower()
    if case == "mixed":
        return status.capitalize()
    return status


def present(value: Any, output: OutputSettings) -> Any:
    """A copy of a response or callback body with statuses in the configured case."""
    if output.status_case == "documented":
        return value
    if isinstance(value, dict):
        return {
            key: (
                cased(item, output.status_case)
                if key in STATUS_KEYS and isinstance(item, str)
                else present(item, output)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [present(item, output) for item in value]
    return value


def _only(data: dict[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(
            f"unknown {what} keys: {', '.join(sorted(unknown))}; expected {', '.join(sorted(allowed))}"
        )


def _endpoint_map(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what} maps endpoint names to settings")
    _only(data, set(ENDPOINTS) | ({ALL_ENDPOINTS} if what == "latency" else set()), what)
    return data


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"{what} must be a number of seconds")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} must be a finite, non-negative number of seconds")
    return seconds


def _latency(data: Any) -> dict[str, float]:
    return {
        endpoint: _seconds(value, f"latency.{endpoint}")
        for endpoint, value in _endpoint_map(data, "latency").items()
    }


def _shots(endpoint: str, plan: Any) -> list[Shot]:
    if isinstance(plan, dict):
        plan = [plan]
    if not isinstance(plan, list):
        raise ValueError(f"next.{endpoint} is a shot or a list of shots")
    shots: list[Shot] = []
    for entry in plan:
        if not isinstance(entry, dict):
            raise ValueError(f"next.{endpoint}: each shot is an object")
        _only(entry, {"action", "when", "status", "retry_after", "seconds", "count"}, f"next.{endpoint}")
        action, when = entry.get("action"), entry.get("when", "before")
        if action not in ACTIONS:
            raise ValueError(f"next.{endpoint}.action must be one of {', '.join(ACTIONS)}")
        if when not in WHEN:
            raise ValueError(f"next.{endpoint}.when must be one of {', '.join(WHEN)}")
        status, count, retry_after = entry.get("status", 503), entry.get("count", 1), entry.get("retry_after")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"next.{endpoint}.status must be an HTTP error status (400-599)")
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"next.{endpoint}.count must be a positive integer")
        if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
            raise ValueError(f"next.{endpoint}.retry_after must be whole seconds")
        seconds = _seconds(entry.get("seconds", 0), f"next.{endpoint}.seconds")
        if action == "hang" and seconds <= 0:
            raise ValueError(f"next.{endpoint}: a hang needs seconds > 0")
        shots.extend([Shot(action, when, status, retry_after, seconds)] * count)
    return shots


def _updated(settings: Any, changes: Any, what: str) -> Any:
    """A copy of a settings dataclass with ``changes`` applied after type checks."""
    if not isinstance(changes, dict):
        raise ValueError(f"{what} is an object")
    types = {f.name: type(getattr(settings, f.name)) for f in fields(settings)}
    _only(changes, set(types), what)
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        expected = types[key]
        if expected is float:
            clean[key] = _seconds(value, f"{what}.{key}")
        elif expected is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{what}.{key} must be a non-negative integer")
            clean[key] = value
        elif expected is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{what}.{key} must be true or false")
            clean[key] = value
        else:
            if value not in _CHOICES[key]:
                raise ValueError(f"{what}.{key} must be one of {', '.join(_CHOICES[key])}")
            clean[key] = value
    if clean.get("max_attempts") == 0:
        raise ValueError(f"{what}.max_attempts must be at least 1")
    return replace(settings, **clean)
