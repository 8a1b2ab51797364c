"""The benchmark's Celery app, made as Celery's "First steps with Django" shows."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.memory_probe.settings")

app = Celery("eztm_bench_memory")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
