"""WSGI entry point: ``gunicorn saleor_optty.app.wsgi`` (``saleor-optty-app serve`` runs it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_optty.app.settings")
application = get_wsgi_application()
