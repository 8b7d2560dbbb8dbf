"""Which Saleor and which channel a request works for, and the clients that talk to them.

One App serves every Saleor that installed it; each of their channels has its own Optty
credentials. Clients are shared per process (connection pools, and Optty's token in
Django's cache, so that workers sharing a cache share one token).
"""

from __future__ import annotations

import hashlib
import threading

from django.core.cache import cache

from ..optty import HttpPolicy, OpttyClient
from .models import Attempt, ChannelConfiguration, Installation, unique_or_none
from .saleor.client import SaleorClient


def configuration(installation: Installation, channel_slug: str) -> ChannelConfiguration | None:
    return unique_or_none(ChannelConfiguration, installation=installation, channel_slug=channel_slug)


def attempt_configuration(attempt: Attempt) -> ChannelConfiguration | None:
    """The configuration the attempt's channel has now (credentials may have been rotated)."""
    return configuration(attempt.installation, attempt.channel_slug)


#: Saleor waits 18 s for a sync webhook's answer. A token and then one call to Optty,
#: every attempt timing out, must finish inside it: 2 × (1 + 3) s each, 16 s in all.
#: (Optty answers in well under a second; a write is sent once, so it waits at most 5 s.)
WEBHOOK_POLICY = HttpPolicy(connect_timeout=1.0, read_timeout=3.0, retries=1)


def optty_client(config: ChannelConfiguration) -> OpttyClient:
    return config.optty.client(token_store=cache, policy=WEBHOOK_POLICY)


def saleor_client(installation: Installation) -> SaleorClient:
    key = (installation.saleor_api_url, hashlib.sha256(installation.token.encode()).hexdigest())
    with _saleor_clients_lock:
        client = _saleor_clients.get(key)
        if client is None:
            client = _saleor_clients[key] = SaleorClient.for_installation(installation)
        return client


# One client per Saleor and token for the life of the process; a reinstall brings a new token.
_saleor_clients: dict[tuple[str, str], SaleorClient] = {}
_saleor_clients_lock = threading.Lock()
