"""Checking the hash on the shopper's return from Optty.

Optty signs the return redirect with HMAC-SHA512 over ``"{status}|{reference}"``,
keyed with the merchant's payment secret. Its documentation shows the digest as
lower-case hex in one place and as URL-encoded base64 in another, so both are
accepted. A valid hash only proves the parameters came from Optty; the payment's state
is still confirmed with ``GET /orders/{reference}`` before anything changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from .status import PaymentStatus, normalise_status

_DIGEST_SIZE = hashlib.sha512().digest_size


class InvalidRedirectError(ValueError):
    """The return parameters are missing or their hash does not match."""


@dataclass(frozen=True)
class ReturnParameters:
    """The verified query parameters of a shopper's return from Optty."""

    reference: str
    status: PaymentStatus
    raw_status: str
    provider_reference: str


def expected_digest(status: str, reference: str, payment_secret: str) -> bytes:
    message = f"{status}|{reference}".encode()
    return hmac.new(payment_secret.encode(), message, hashlib.sha512).digest()


def _decode_hash(value: str) -> bytes | None:
    """Read the ``hash`` parameter as hex or (URL-encoded, URL-safe) base64."""
    text = value.strip()
    candidates = [text.replace("-", "")]  # Optty's WooCommerce plugin strips dashes from hex.
    decoded = unquote(text).replace(" ", "+")  # a '+' left unencoded becomes a space
    candidates.append(decoded)
    for candidate in candidates:
        if len(candidate) == 2 * _DIGEST_SIZE:
            try:
                return bytes.fromhex(candidate)
            except ValueError:
                pass
    padded = decoded + "=" * (-len(decoded) % 4)
    for alphabet in (None, b"-_"):
        try:
            raw = base64.b64decode(padded, altchars=alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == _DIGEST_SIZE:
            return raw
    return None


def verify_return(params: Mapping[str, str], payment_secret: str) -> ReturnParameters:
    """Verify a return redirect's parameters; raise :class:`InvalidRedirectError` if forged."""
    if not payment_secret:
        raise InvalidRedirectError("No payment secret is configured to check the return hash.")
    missing = [name for name in ("status", "reference", "hash") if not params.get(name)]
    if missing:
        raise InvalidRedirectError(f"The return is missing {', '.join(missing)}.")
    raw_status, reference = params["status"], params["reference"]
    received = _decode_hash(params["hash"])
    expected = expected_digest(raw_status, reference, payment_secret)
    # compare_digest on equal-length bytes; a malformed hash is compared against a
    # zero digest so the failure path takes the same time.
    if not hmac.compare_digest(received or bytes(_DIGEST_SIZE), expected) or received is None:
        raise InvalidRedirectError("The return hash does not match.")
    return ReturnParameters(
        reference=reference,
        status=normalise_status(raw_status),
        raw_status=raw_status,
        provider_reference=params.get("providerReference", ""),
    )
