"""The App's Django settings, all from the environment (see README, "The Saleor App").

OPTTY_APP_URL                 the App's public URL (https:// in production); Saleor and
                              Optty reach it there. ``serve`` defaults it to http://HOST:PORT.
OPTTY_APP_SECRET_KEY          encrypts stored credentials and keys the callback URLs.
                              Unset, a key is generated once into OPTTY_APP_DATA_DIR.
OPTTY_APP_SECRET_KEY_FALLBACKS  old keys, comma-separated, still accepted after a rotation.
OPTTY_APP_ALLOWED_SALEOR_URLS Saleor API URLs allowed to install the App, comma-separated;
                              empty allows any.
DATABASE_URL                  e.g. postgres://user:pass@host:5432/name; unset, a SQLite
                              file in OPTTY_APP_DATA_DIR.
REDIS_URL or CACHE_URL        a shared cache (Optty tokens, Saleor's JWKS, provider lists)
                              for several workers; unset, each process caches alone.
CELERY_BROKER_URL             for the reconciliation beat task (see saleor_optty.app.celery).
OPTTY_APP_RECONCILE_SECONDS   how often that task runs (default 300).
OPTTY_APP_DATA_DIR            where the SQLite file and generated key live (default: the
                              working directory).
OPTTY_APP_ADMIN               "1" mounts Django's admin at /admin/ (read-only Optty records).
OPTTY_APP_DEBUG               "1" for Django's debug pages; never in production.
OPTTY_APP_LOG_LEVEL           INFO by default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _flag(name: str) -> bool:
    return _env(name).lower() in ("1", "true", "yes", "on")


def _list(name: str) -> list[str]:
    return [item.strip() for item in _env(name).split(",") if item.strip()]


DATA_DIR = Path(_env("OPTTY_APP_DATA_DIR") or os.getcwd())


def _secret_key() -> str:
    key = _env("OPTTY_APP_SECRET_KEY")
    if key:
        return key
    # Trying the App needs nothing set: a key is made once and kept beside the database.
    path = DATA_DIR / ".saleor-optty-app-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: a second process starting at the same
        # moment either links first or reads the key the first one linked.
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
SECRET_KEY_FALLBACKS = _list("OPTTY_APP_SECRET_KEY_FALLBACKS")
DEBUG = _flag("OPTTY_APP_DEBUG")

APP_URL = (_env("OPTTY_APP_URL") or "http://127.0.0.1:8000").rstrip("/")
ALLOWED_SALEOR_URLS = _list("OPTTY_APP_ALLOWED_SALEOR_URLS")
ALLOWED_HOSTS = [urlsplit(APP_URL).hostname or "localhost", *_list("OPTTY_APP_ALLOWED_HOSTS")]
if urlsplit(APP_URL).scheme == "https":
    # Behind a TLS-terminating proxy, which must set X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "saleor_optty.app",
]
ADMIN_ENABLED = _flag("OPTTY_APP_ADMIN")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "saleor_optty.app.urls"
WSGI_APPLICATION = "saleor_optty.app.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        _env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'saleor-optty-app.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for it rather than fail with "database is locked". A
    # transaction takes the write lock when it begins (IMMEDIATE): one that read first and
    # then wrote could not wait for another writer (SQLite refuses that upgrade at once).
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
    DATABASES["default"]["CONN_MAX_AGE"] = 0

_cache_url = _env("REDIS_URL") or _env("CACHE_URL")
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
elif _cache_url:
    raise ValueError("CACHE_URL must be a redis:// or rediss:// URL.")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
# Bodies Saleor and Optty send are small; a bigger one is refused before it is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

CELERY_BROKER_URL = _env("CELERY_BROKER_URL")
RECONCILE_EVERY_SECONDS = int(_env("OPTTY_APP_RECONCILE_SECONDS") or 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _env("OPTTY_APP_LOG_LEVEL") or "INFO"},
}
