"""The test project's Celery app, set up the way Celery's Django guide shows."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("eztm_unit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
