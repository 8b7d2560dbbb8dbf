"""The return-hash check, against digests computed here independently of the module."""

import base64
import hashlib
import hmac
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saleor_optty.optty import InvalidRedirectError, PaymentStatus, verify_return

SECRET = "s3cr3t-payment-key"


def sign(status: str, reference: str, secret: str = SECRET) -> bytes:
    return hmac.new(secret.encode(), f"{status}|{reference}".encode(), hashlib.sha512).digest()


def test_known_vector():
    # printf 'SUCCESSFUL|ORD-1' | openssl dgst -sha512 -hmac s3cr3t-payment-key
    expected_hex = (
        "d81f723ecd90e3076229f8eb2bf3d2be3c454f401931326df01e27860fa421f7"
        "75a7809176ef01b47a1c523db18c50bbc2406cc448d8f3d89559cf790f0fcb11"
    )
    result = verify_return(
        {"status": "SUCCESSFUL", "reference": "ORD-1", "hash": expected_hex, "providerReference": "P1"},
        SECRET,
    )
    assert result.status is PaymentStatus.SUCCESSFUL
    assert result.reference == "ORD-1"
    assert result.provider_reference == "P1"
    assert result.raw_status == "SUCCESSFUL"


@pytest.mark.parametrize(
    "encode",
    [
        lambda d: d.hex(),
        lambda d: d.hex().upper(),
        lambda d: base64.b64encode(d).decode(),
        lambda d: quote(base64.b64encode(d).decode(), safe=""),
        lambda d: base64.urlsafe_b64encode(d).decode().rstrip("="),
        lambda d: base64.b64encode(d).decode().replace("+", " "),  # '+' decoded as space
    ],
    ids=["hex", "HEX", "base64", "urlencoded-base64", "urlsafe-unpadded", "plus-as-space"],
)
def test_accepts_each_encoding_optty_documents(encode):
    digest = sign("DECLINED", "ORD-7")
    result = verify_return({"status": "DECLINED", "reference": "ORD-7", "hash": encode(digest)}, SECRET)
    assert result.status is PaymentStatus.DECLINED


@pytest.mark.parametrize(
    "params",
    [
        {"status": "SUCCESSFUL", "reference": "ORD-1", "hash": sign("DECLINED", "ORD-1").hex()},
        {"status": "SUCCESSFUL", "reference": "ORD-2", "hash": sign("SUCCESSFUL", "ORD-1").hex()},
        {"status": "SUCCESSFUL", "reference": "ORD-1", "hash": sign("SUCCESSFUL", "ORD-1", "other").hex()},
        {"status": "SUCCESSFUL", "reference": "ORD-1", "hash": sign("SUCCESSFUL", "ORD-1").hex()[:-2]},
        {"status": "SUCCESSFUL", "reference": "ORD-1", "hash": "not-a-hash"},
        {"status": "SUCCESSFUL", "reference": "ORD-1", "hash": hashlib.sha256(b"x").hexdigest()},
        {"status": "SUCCESSFUL", "reference": "ORD-1"},
        {"reference": "ORD-1", "hash": sign("SUCCESSFUL", "ORD-1").hex()},
        {"status": "SUCCESSFUL", "hash": sign("SUCCESSFUL", "").hex()},
    ],
    ids=["status-swapped", "reference-swapped", "wrong-secret", "truncated", "garbage", "sha256",
         "no-hash", "no-status", "no-reference"],
)
def test_rejects_forged_or_incomplete_returns(params):
    with pytest.raises(InvalidRedirectError):
        verify_return(params, SECRET)


def test_refuses_to_verify_without_a_secret():
    with pytest.raises(InvalidRedirectError, match="payment secret"):
        verify_return({"status": "SUCCESSFUL", "reference": "R", "hash": sign("SUCCESSFUL", "R", "").hex()}, "")


def test_lower_case_status_is_hashed_as_sent():
    digest = sign("successful", "ORD-9")
    result = verify_return({"status": "successful", "reference": "ORD-9", "hash": digest.hex()}, SECRET)
    assert result.status is PaymentStatus.SUCCESSFUL


@given(
    status=st.sampled_from(["SUCCESSFUL", "DECLINED", "CANCELLED", "ERROR", "PENDING"]),
    reference=st.text(min_size=1, max_size=60).filter(lambda s: s.strip() == s and "\x00" not in s),
    secret=st.text(min_size=1, max_size=40),
)
def test_any_genuine_hash_verifies_and_any_flip_fails(status, reference, secret):
    digest = bytearray(sign(status, reference, secret))
    assert verify_return({"status": status, "reference": reference, "hash": digest.hex()}, secret)
    digest[0] ^= 1
    with pytest.raises(InvalidRedirectError):
        verify_return({"status": status, "reference": reference, "hash": bytes(digest).hex()}, secret)
