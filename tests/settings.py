"""Django settings for the unit suite: the App's own settings, plus the plugin's Django
app (its models need no Saleor), in one test project.

DATABASE_URL=postgres://user@host:port/name selects PostgreSQL (as CI does);
without it the suite runs on SQLite.
"""

import os

os.environ.setdefault("OPTTY_APP_SECRET_KEY", "saleor-optty-tests")
os.environ.setdefault("OPTTY_APP_URL", "http://testserver")

from saleor_optty.app.settings import *  # noqa: E402,F403
from saleor_optty.app.settings import INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "saleor_optty.plugin"]
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if not os.environ.get("DATABASE_URL"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# Every thread that serves a request (the live server's, the interleaving actors') closes
# its connection when done, so a long suite never runs out of PostgreSQL connections.
DATABASES["default"]["CONN_MAX_AGE"] = 0
