"""Bench only: the App's own settings, serving one more view (see ``urls.py``)."""

from saleor_optty.app.settings import *  # noqa: F403

ROOT_URLCONF = "bench.app.urls"
