"""The api-user access token: fetched once, shared, renewed before it expires.

Optty's tokens live 24 hours. Each is kept until 10 minutes before it expires, in a
pluggable store so that Saleor's workers can share one token through Django's cache.
Within a process a lock makes sure only one thread asks Optty for a new token, and
between the processes sharing a store a claim in the store does (see TokenCache.get).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

#: How long before expiry a token is replaced, as Optty's own WooCommerce plugin does.
REFRESH_MARGIN_SECONDS = 600
#: A process fetching a token claims the fetch in the shared store for at most this long
#: (one that dies while fetching keeps the others waiting no longer).
FETCH_CLAIM_SECONDS = 10
#: How long another process waits for the token being fetched before it fetches its own:
#: a token request takes well under a second, and a webhook cannot wait long (Saleor
#: gives it 18 s in all).
SHARED_FETCH_WAIT_SECONDS = 1.0
_SHARED_FETCH_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)  # a bearer credential: never in a traceback or a log line
    expires_in: int

    @property
    def usable_seconds(self) -> int:
        """How long the token may be handed out; short-lived tokens keep half their life."""
        if self.expires_in > 2 * REFRESH_MARGIN_SECONDS:
            return self.expires_in - REFRESH_MARGIN_SECONDS
        return max(self.expires_in // 2, 0)


class TokenStore(Protocol):
    """Where tokens are kept; Django's cache fits this interface as it is."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, timeout: int) -> None: ...

    def delete(self, key: str) -> None: ...

    def add(self, key: str, value: str, timeout: int) -> bool:
        """Set ``key`` only if it has no value; True when it did (atomic for every process
        sharing the store, as Django's cache makes it)."""
        ...


class MemoryTokenStore:
    """A process-local store, the default outside Django."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] <= self._clock():
                return None
            return entry[0]

    def set(self, key: str, value: str, timeout: int) -> None:
        with self._lock:
            self._entries[key] = (value, self._clock() + timeout)

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def add(self, key: str, value: str, timeout: int) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[1] > self._clock():
                return False
            self._entries[key] = (value, self._clock() + timeout)
            return True


class TokenCache:
    """Hands out a valid token, fetching a new one at most once per expiry window."""

    def __init__(
        self,
        fetch: Callable[[], AccessToken],
        store: TokenStore,
        *,
        identity: str,
    ):
        self._fetch = fetch
        self._store = store
        # The key names the credentials without containing them.
        self._key = "optty:token:" + hashlib.sha256(identity.encode()).hexdigest()[:32]
        self._claim_key = self._key + ":fetching"
        self._lock = threading.Lock()

    def get(self) -> str:
        token = self._store.get(self._key)
        if token:
            return token
        with self._lock:
            token = self._store.get(self._key)  # another thread may have fetched it meanwhile
            if token:
                return token
            # Processes sharing the store (an App's workers, Saleor's) fetch one token
            # between them: the first to claim the fetch makes it, the others wait for it.
            claimed = self._store.add(self._claim_key, "fetching", FETCH_CLAIM_SECONDS)
            if not claimed:
                token = self._token_fetched_elsewhere()
                if token:
                    return token
            try:
                fresh = self._fetch()
                if fresh.usable_seconds > 0:
                    self._store.set(self._key, fresh.value, fresh.usable_seconds)
            finally:
                if claimed:
                    self._store.delete(self._claim_key)
            return fresh.value

    def _token_fetched_elsewhere(self) -> str | None:
        """The token another process is fetching, once it is stored; None when that takes
        longer than SHARED_FETCH_WAIT_SECONDS (the caller then fetches its own)."""
        deadline = time.monotonic() + SHARED_FETCH_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(_SHARED_FETCH_POLL_SECONDS)
            token = self._store.get(self._key)
            if token:
                return token
        return None

    def discard(self, rejected: str) -> None:
        """Forget ``rejected`` after Optty refused it, unless another thread already renewed it."""
        with self._lock:
            if self._store.get(self._key) == rejected:
                self._store.delete(self._key)
