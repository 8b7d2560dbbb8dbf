"""Secrets at rest: Saleor's App token and Optty's credentials, encrypted with a key
derived from the App's secret key.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a key derived with
HKDF from ``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` (old keys, after a rotation) still
decrypt, and a value is re-encrypted under the current key the next time it is saved.
A wrong key fails loudly rather than handing Optty or Saleor a garbled secret.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

_INFO = b"saleor-optty-app: secrets at rest"


class SecretKeyError(Exception):
    """A stored secret that none of the App's keys can decrypt."""


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def _current() -> MultiFernet:
    return _fernet((settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretKeyError(
            "A stored secret cannot be decrypted with OPTTY_APP_SECRET_KEY: the key changed. "
            "Set the old key in OPTTY_APP_SECRET_KEY_FALLBACKS, or enter the credentials again."
        ) from None


class EncryptedTextField(models.TextField):
    """A text column that holds its value encrypted; Python code sees the plaintext.

    Empty stays empty (an unset secret is not a secret). Not searchable, by design.
    """

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
