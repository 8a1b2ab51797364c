"""The Celery app of the browser tests' Celery worker (the ``celery_worker`` fixture)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_tests.browser.settings")

app = Celery("eztm_browser")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
