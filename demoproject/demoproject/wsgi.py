"""WSGI entry point (``gunicorn demoproject.wsgi`` in the Docker image)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demoproject.settings")

application = get_wsgi_application()
