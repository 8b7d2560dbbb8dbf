"""Bench only: the App's WSGI application with ``bench.app.settings`` (its settings, one more URL)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.app.settings"
application = get_wsgi_application()
