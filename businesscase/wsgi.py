"""WSGI entry point (gunicorn businesscase.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "businesscase.settings")
application = get_wsgi_application()
