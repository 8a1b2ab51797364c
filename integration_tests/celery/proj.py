"""The test project's Celery app, written as Celery's "First steps with Django" shows."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_tests.celery.settings")

app = Celery("eztm_integration")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
