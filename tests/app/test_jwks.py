"""Saleor's webhook signatures, verified against the installing Saleor's JWKS."""

import base64
import json
import time

import jwt
import pytest

from saleor_optty.app.models import Installation
from saleor_optty.app.saleor import jwks
from saleor_optty.app.saleor.jwks import (
    JWKSError,
    SignatureError,
    fetch_jwks,
    verify_webhook_signature,
)

from .standin import stranger_key, thumbprint

# Dots, a float and non-ASCII text: the raw bytes are signed, not a re-encoding.
BODY = '{"__typename": "TransactionChargeRequested", "amount": 12.50, "note": "zoë.example"}'.encode()


def test_saleors_signature_verifies_with_the_stored_keys(saleor, installation):
    verify_webhook_signature(installation, BODY, saleor.sign(BODY))
    assert saleor.jwks_requests == 0
    # 3.20 publishes its key without "alg", 3.23 with it: both verify.
    assert ("alg" in saleor.jwks["keys"][0]) is (saleor.version != "3.20.119")


def test_steady_state_needs_no_jwks_fetch(saleor, installation):
    signatures = [(body, saleor.sign(body)) for body in (BODY + b" " * n for n in range(20))]
    for _ in range(50):  # 1,000 webhooks
        for body, signature in signatures:
            verify_webhook_signature(Installation.objects.get(pk=installation.pk), body, signature)
    assert saleor.jwks_requests == 0


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
@pytest.mark.parametrize("signature", [None, "", "garbage", "a.b.c", "..", "e30..e30"])
def test_unsigned_or_malformed_is_refused_without_asking_saleor(saleor, installation, signature):
    with pytest.raises(SignatureError):
        verify_webhook_signature(installation, BODY, signature)
    assert saleor.jwks_requests == 0


def test_a_changed_body_is_refused(saleor, installation):
    signature = saleor.sign(BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook_signature(installation, BODY.replace(b"12.50", b"1250"), signature)
    assert saleor.jwks_requests == 1  # one refetch, in case Saleor's key changed


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_compact_token_signed_by_saleor_is_not_a_webhook_signature(saleor, installation):
    # A Dashboard token is a JWS by the same key; it signs its own payload, not this body.
    token = saleor.dashboard_token()
    with pytest.raises(SignatureError, match="not a detached JWS"):
        verify_webhook_signature(installation, BODY, token)
    # Its header and signature with the payload cut out: still not over this body.
    header, _, signature = token.split(".")
    with pytest.raises(SignatureError):
        verify_webhook_signature(installation, BODY, f"{header}..{signature}")


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_signature_over_the_encoded_payload_is_refused(saleor, installation):
    # RFC 7515's default (b64 true) signs BASE64URL(body): not what Saleor sends.
    compact = jwt.api_jws.encode(BODY, saleor.key, algorithm="RS256", headers={"kid": saleor.kid})
    header, _, signature = compact.split(".")
    with pytest.raises(SignatureError, match="raw body"):
        verify_webhook_signature(installation, BODY, f"{header}..{signature}")


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_symmetric_signature_keyed_with_the_public_key_is_refused(saleor, installation):
    # The algorithm-confusion forgery: HS256 with the (public) JWK as the secret.
    public = json.dumps(saleor.jwks["keys"][0]).encode()
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS256", "b64": False, "crit": ["b64"], "kid": saleor.kid}).encode()
    ).rstrip(b"=")
    import hashlib
    import hmac

    mac = hmac.new(public, header + b"." + BODY, hashlib.sha256).digest()
    forged = f"{header.decode()}..{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(SignatureError):
        verify_webhook_signature(installation, BODY, forged)


def test_another_keys_signature_is_refused_after_one_refetch(saleor, installation):
    stranger = stranger_key()
    with pytest.raises(SignatureError, match="does not publish"):
        verify_webhook_signature(installation, BODY, saleor.sign(BODY, key=stranger))
    # The same forgery naming Saleor's own kid.
    with pytest.raises(SignatureError):
        verify_webhook_signature(installation, BODY, saleor.sign(BODY, key=stranger, kid=saleor.kid))
    assert saleor.jwks_requests == 1  # the second attempt fell inside the refetch window


def test_a_rotated_key_is_fetched_once_then_used(saleor, installation):
    old_kid = saleor.kid
    saleor.rotate_key()
    assert saleor.kid != old_kid

    verify_webhook_signature(installation, BODY, saleor.sign(BODY))
    assert saleor.jwks_requests == 1
    stored = Installation.objects.get(pk=installation.pk)
    assert stored.jwks == saleor.jwks  # every worker now reads the new key

    for _ in range(20):
        verify_webhook_signature(Installation.objects.get(pk=installation.pk), BODY, saleor.sign(BODY))
    assert saleor.jwks_requests == 1


def test_a_flood_of_forgeries_refetches_at_most_once_per_window(saleor, installation):
    stranger = stranger_key()
    for n in range(200):
        body = BODY + str(n).encode()
        forgery = saleor.sign(body, key=stranger) if n % 2 else saleor.sign(body)[:-8] + "AAAAAAAA"
        # Each request loads its installation anew, as another worker would.
        with pytest.raises(SignatureError):
            verify_webhook_signature(Installation.objects.get(pk=installation.pk), body, forgery)
    assert saleor.jwks_requests == 1
    # Saleor's real webhooks still pass meanwhile.
    verify_webhook_signature(installation, BODY, saleor.sign(BODY))


def test_the_refetch_window_is_per_installation(saleor, installation):
    other = Installation.objects.create(
        saleor_api_url=saleor.url + "/other/graphql/", app_id="A", token="t", jwks=saleor.jwks
    )
    stranger = stranger_key()
    for target in (installation, other, installation, other):
        with pytest.raises(SignatureError):
            verify_webhook_signature(target, BODY, saleor.sign(BODY, key=stranger))
    assert saleor.jwks_requests == 2


def test_an_installation_without_keys_fetches_them(saleor, installation):
    Installation.objects.filter(pk=installation.pk).update(jwks={})
    verify_webhook_signature(Installation.objects.get(pk=installation.pk), BODY, saleor.sign(BODY))
    assert saleor.jwks_requests == 1


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((302, {"Location": "http://127.0.0.1:9/.well-known/jwks.json"}, b""), "HTTP 302"),
        ((500, {}, b"{}"), "HTTP 500"),
        ((200, {}, b"<html>"), "not JSON"),
        ((200, {}, b'{"keys": []}'), "no RS256 signing key"),
        ((200, {}, b'{"keys": [{"kty": "EC", "kid": "k", "crv": "P-256", "x": "a", "y": "b"}]}'), "no RS256 signing key"),
        ((200, {}, b'{"keys": [{"kty": "RSA", "kid": "k", "alg": "RS512", "n": "AQAB", "e": "AQAB"}]}'), "no RS256 signing key"),
        ((200, {}, b'{"keys": [' + b'{"kty": "RSA"},' * 6000 + b"{}]}"), "too large"),
    ],
)
def test_a_jwks_fetch_takes_only_saleors_keys(saleor, answer, message):
    saleor.jwks_answer = answer
    with pytest.raises(JWKSError, match=message):
        fetch_jwks(saleor.api_url)


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_a_jwks_fetch_is_bounded_in_time(saleor, monkeypatch):
    monkeypatch.setattr(jwks, "FETCH_TIMEOUT", (0.5, 0.5))
    saleor.jwks_delay = 3
    started = time.monotonic()
    with pytest.raises(JWKSError, match="could not be fetched"):
        fetch_jwks(saleor.api_url)
    assert time.monotonic() - started < 2


def test_the_jwks_url_is_the_origin_of_the_api_url():
    assert jwks.jwks_url("https://shop.example.com:8443/graphql/") == "https://shop.example.com:8443/.well-known/jwks.json"


@pytest.mark.parametrize("saleor_version", ["3.23.28"])
def test_kid_is_the_rfc_7638_thumbprint(saleor):
    # The example key of RFC 7638 section 3.1 and its published thumbprint.
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    n = int.from_bytes(
        base64.urlsafe_b64decode(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
            "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91"
            "CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw=="
        ),
        "big",
    )
    key = RSAPublicNumbers(65537, n).public_key()

    class Holder:  # thumbprint() takes a private key's public half
        def public_key(self):
            return key

    assert thumbprint(Holder()) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
