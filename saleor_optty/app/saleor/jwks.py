"""Saleor's signing keys, and the webhook signatures made with them.

Saleor signs with one RSA key (``RSA_PRIVATE_KEY``) and publishes it at
``<origin of its API URL>/.well-known/jwks.json``, with ``kid`` = the key's RFC 7638
thumbprint (``saleor/core/jwt_manager.py``); 3.20 leaves out ``alg``, 3.23 says
``RS256``. Every webhook of a manifest-installed App carries a detached, unencoded JWS
(RFC 7797) of the raw body in ``Saleor-Signature``: protected header ``{"alg": "RS256",
"b64": false, "crit": ["b64"], "kid": ...}``, serialised ``<header>..<signature>``.
The Dashboard's token is a JWT signed by the same key (:mod:`.dashboard`).

The JWKS is kept on the :class:`~saleor_optty.app.models.Installation` row, so every
worker shares what one fetched; the parsed keys are memoised per process, keyed by the
JWKS itself. An unknown ``kid`` or a signature that does not verify makes the App fetch
the JWKS again once and retry (Saleor replaced its key), at most once per
:data:`REFETCH_INTERVAL_SECONDS` per installation across the workers sharing Django's
cache, so that a flood of forged requests cannot turn the App against Saleor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jwt
import requests
from django.core.cache import cache
from django.utils import timezone

from ...__version__ import __version__
from ..models import Installation

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
JWKS_PATH = "/.well-known/jwks.json"
#: (connect, read) seconds for one JWKS fetch; redirects are not followed.
FETCH_TIMEOUT = (2.0, 5.0)
#: A JWKS is one key of a few hundred bytes; anything much bigger is not Saleor's.
MAX_JWKS_BYTES = 64 * 1024
#: At most one refetch per installation this often, whatever arrives.
REFETCH_INTERVAL_SECONDS = 60

T = TypeVar("T")


class SignatureError(Exception):
    """A webhook whose signature does not prove that the installing Saleor sent this body:
    unsigned, malformed, signed by another key, or not matching the body."""


class JWKSError(Exception):
    """Saleor's JWKS could not be fetched or holds no usable key. The message names the
    URL and what went wrong; it holds no secret."""


class UnknownKeyError(jwt.InvalidTokenError):
    """The token names a key (``kid``) that Saleor's JWKS does not hold."""


def jwks_url(saleor_api_url: str) -> str:
    """Where the Saleor behind ``saleor_api_url`` publishes its keys: the site root."""
    parts = urlsplit(saleor_api_url)
    return f"{parts.scheme}://{parts.netloc}{JWKS_PATH}"


def fetch_jwks(saleor_api_url: str) -> dict[str, Any]:
    """Saleor's JWKS, fetched now; raises :class:`JWKSError`."""
    url = jwks_url(saleor_api_url)
    try:
        with requests.get(
            url,
            timeout=FETCH_TIMEOUT,
            allow_redirects=False,
            stream=True,
            headers={"Accept": "application/json", "User-Agent": f"saleor-optty-app/{__version__}"},
        ) as response:
            if response.status_code != 200:
                raise JWKSError(f"Saleor answered HTTP {response.status_code} for its signing keys at {url}.")
            content = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise JWKSError(f"Saleor's signing keys at {url} could not be fetched ({type(error).__name__}).") from None
    if len(content) > MAX_JWKS_BYTES:
        raise JWKSError(f"The document at {url} is too large to be Saleor's signing keys.")
    try:
        jwks = json.loads(content)
    except ValueError:
        raise JWKSError(f"The document at {url} is not JSON.") from None
    if not isinstance(jwks, dict) or not _parse_keys(_canonical(jwks)):
        raise JWKSError(f"The document at {url} holds no RS256 signing key.")
    return jwks


def verify_webhook_signature(installation: Installation, body: bytes, signature: str | None) -> None:
    """Checks that ``signature`` (the ``Saleor-Signature`` header) is the installing
    Saleor's detached JWS of exactly ``body``; raises :class:`SignatureError`."""
    if not signature:
        raise SignatureError("The webhook is not signed (no Saleor-Signature header).")
    segments = signature.split(".")
    if len(segments) != 3 or segments[1]:
        # A compact JWT (a Dashboard token, say) carries its own payload: whatever it
        # signs, it is not this body. PyJWT < 2.10 would verify that payload instead.
        raise SignatureError("Saleor-Signature is not a detached JWS.")
    try:
        header = jwt.get_unverified_header(signature)
    except jwt.PyJWTError:
        raise SignatureError("Saleor-Signature is malformed.") from None
    crit = header.get("crit")
    if header.get("b64") is not False or not isinstance(crit, list) or "b64" not in crit:
        raise SignatureError("Saleor-Signature does not sign the raw body (RFC 7797 b64=false).")
    kid = _key_id(header)
    if kid is None:
        raise SignatureError("Saleor-Signature is not an RS256 signature naming its key.")

    def verify(key: jwt.PyJWK) -> None:
        jwt.api_jws.decode_complete(signature, key.key, algorithms=[ALGORITHM], detached_payload=body)

    try:
        with_saleor_key(installation, kid, verify)
    except UnknownKeyError:
        raise SignatureError("Saleor-Signature names a key the installing Saleor does not publish.") from None
    except jwt.PyJWTError:
        raise SignatureError("Saleor-Signature does not match the body.") from None


def with_saleor_key(installation: Installation, kid: str, verify: Callable[[jwt.PyJWK], T]) -> T:
    """``verify(key)`` with Saleor's key ``kid``; PyJWT's errors pass through.

    When the key is unknown or its signature check fails, the JWKS is fetched again
    (if the rate limit allows) and ``verify`` runs once more with the new key.
    """
    key = _parse_keys(_canonical(installation.jwks)).get(kid)
    if key is not None:
        try:
            return verify(key)
        except jwt.InvalidSignatureError:
            if not refresh_jwks(installation):
                raise
    elif not refresh_jwks(installation):
        raise UnknownKeyError(f"No key {kid!r} in Saleor's JWKS.")
    key = _parse_keys(_canonical(installation.jwks)).get(kid)
    if key is None:
        raise UnknownKeyError(f"No key {kid!r} in Saleor's JWKS.")
    return verify(key)


def refresh_jwks(installation: Installation) -> bool:
    """Fetch the installation's JWKS again and store it, unless one was fetched within
    :data:`REFETCH_INTERVAL_SECONDS` (by any worker); True when a fresh JWKS was stored."""
    if not cache.add(_refetch_key(installation), True, REFETCH_INTERVAL_SECONDS):
        logger.info("Saleor's JWKS for %s was fetched lately; not again yet", installation.saleor_api_url)
        return False
    try:
        jwks = fetch_jwks(installation.saleor_api_url)
    except JWKSError as error:
        logger.warning("Could not refresh Saleor's JWKS: %s", error)
        return False
    now = timezone.now()
    Installation.objects.filter(pk=installation.pk).update(jwks=jwks, jwks_fetched_at=now)
    installation.jwks, installation.jwks_fetched_at = jwks, now
    logger.info("Refreshed Saleor's JWKS for %s", installation.saleor_api_url)
    return True


def token_key_id(token: str) -> str | None:
    """The ``kid`` of an RS256 token's header, or None when it is not one."""
    try:
        return _key_id(jwt.get_unverified_header(token))
    except jwt.PyJWTError:
        return None


# ------------------------------------------------------------------------ internals


def _key_id(header: Mapping[str, Any]) -> str | None:
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        return None
    return kid


def _refetch_key(installation: Installation) -> str:
    return f"optty-app:jwks-refetch:{installation.pk}"


def _canonical(jwks: Any) -> str:
    return json.dumps(jwks, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=64)
def _parse_keys(jwks_text: str) -> dict[str, jwt.PyJWK]:
    """Saleor's RS256 signing keys by ``kid``; keys of any other kind are left out."""
    try:
        entries = json.loads(jwks_text).get("keys")
    except (ValueError, AttributeError):
        return {}
    keys = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
            continue
        if entry.get("alg", ALGORITHM) != ALGORITHM or not isinstance(entry.get("kid"), str):
            continue
        try:
            # 3.20 publishes no "alg": the key is RS256 all the same.
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=ALGORITHM)
        except jwt.PyJWTError:
            logger.warning("Skipped an unreadable key in Saleor's JWKS")
    return keys
