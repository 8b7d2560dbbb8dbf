"""The token cache on its own: one fetch per expiry window, even under concurrency."""

import threading
import time

from saleor_optty.optty.tokens import AccessToken, MemoryTokenStore, TokenCache


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def counting_fetch(expires_in=86400, delay=0.0):
    calls = []

    def fetch():
        time.sleep(delay)
        calls.append(1)
        return AccessToken(f"token-{len(calls)}", expires_in)

    return fetch, calls


def test_token_is_reused_until_ten_minutes_before_expiry():
    clock = Clock()
    fetch, calls = counting_fetch(expires_in=86400)
    cache = TokenCache(fetch, MemoryTokenStore(clock), identity="a")
    assert cache.get() == "token-1"
    clock.now += 86400 - 601
    assert cache.get() == "token-1"
    clock.now += 2
    assert cache.get() == "token-2"
    assert len(calls) == 2


def test_short_lived_tokens_keep_half_their_life():
    assert AccessToken("t", 1).usable_seconds == 0
    assert AccessToken("t", 900).usable_seconds == 450
    assert AccessToken("t", 86400).usable_seconds == 85800


def test_concurrent_callers_share_one_fetch():
    fetch, calls = counting_fetch(delay=0.05)
    cache = TokenCache(fetch, MemoryTokenStore(), identity="a")
    barrier = threading.Barrier(16)
    seen = []

    def worker():
        barrier.wait()
        seen.append(cache.get())

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert seen == ["token-1"] * 16


def test_caches_sharing_a_store_fetch_one_token_between_them():
    """Two workers (each its own TokenCache and lock, one shared store) asking at once
    from an empty store: one fetch, whose token both get."""
    fetch, calls = counting_fetch(delay=0.2)
    store = MemoryTokenStore()
    workers = [TokenCache(fetch, store, identity="a") for _ in range(2)]
    barrier = threading.Barrier(len(workers))
    seen = []

    def worker(cache):
        barrier.wait()
        seen.append(cache.get())

    threads = [threading.Thread(target=worker, args=(cache,)) for cache in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert seen == ["token-1", "token-1"]


def test_a_worker_waits_only_a_moment_for_a_token_another_is_fetching():
    """The worker that claimed the fetch hangs: another fetches its own after a second."""
    store = MemoryTokenStore()
    hanging, _ = counting_fetch(delay=3)
    threading.Thread(target=TokenCache(hanging, store, identity="a").get, daemon=True).start()
    time.sleep(0.2)  # it has claimed the fetch by now
    fetch, calls = counting_fetch()
    started = time.monotonic()
    assert TokenCache(fetch, store, identity="a").get() == "token-1"
    assert 0.9 < time.monotonic() - started < 2.5 and len(calls) == 1


def test_discard_only_forgets_the_rejected_token():
    fetch, calls = counting_fetch()
    store = MemoryTokenStore()
    cache = TokenCache(fetch, store, identity="a")
    first = cache.get()
    cache.discard("some-older-token")
    assert cache.get() == first
    cache.discard(first)
    assert cache.get() == "token-2"


def test_a_shared_store_serves_every_client_with_the_same_credentials():
    store = MemoryTokenStore()
    fetch_a, calls_a = counting_fetch()
    fetch_b, calls_b = counting_fetch()
    assert TokenCache(fetch_a, store, identity="same").get() == "token-1"
    assert TokenCache(fetch_b, store, identity="same").get() == "token-1"
    assert (len(calls_a), len(calls_b)) == (1, 0)
    TokenCache(fetch_b, store, identity="other").get()
    assert len(calls_b) == 1


def test_store_keys_do_not_contain_credentials():
    store = MemoryTokenStore()
    fetch, _ = counting_fetch()
    TokenCache(fetch, store, identity="https://auth|client-id|client-secret").get()
    (key,) = store._entries
    assert "client" not in key and key.startswith("optty:token:")


def test_an_access_token_never_shows_in_its_repr():
    token = AccessToken("eyJ.bearer-credential.sig", 3600)
    assert "bearer-credential" not in repr(token) and "bearer-credential" not in str(token)
