"""Settings of the worker-memory benchmark, for its own process and the workers it starts.

``EZTM_BENCH_ENGINE`` (``rq`` or ``celery``) picks the backend; ``EZTM_BENCH_REDIS_URL``
and ``EZTM_BENCH_QUEUES`` (comma-separated: the queues of the runs and of the bare jobs)
come from the benchmark. The database is testsupport's (``EZTASKMANAGER_TEST_DB``...).
"""

import os

from testsupport.settings import BASE, databases

globals().update(BASE)

ENGINE = os.environ.get("EZTM_BENCH_ENGINE", "rq")
REDIS_URL = os.environ.get("EZTM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUES = os.environ.get("EZTM_BENCH_QUEUES", "eztm-bench-memory").split(",")

DATABASES = databases("bench_memory")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "eztaskmanager",
    *(["django_rq", "eztaskmanager_rq"] if ENGINE == "rq" else ["eztaskmanager_celery"]),
    "benchmarks.memory_probe",
]
if ENGINE == "rq":
    RQ_QUEUES = {name: {"URL": REDIS_URL} for name in QUEUES}
    OPTIONS = {"queue": QUEUES[0]}
else:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
    OPTIONS = {"app": "benchmarks.memory_probe.celery_app:app", "queue": QUEUES[0]}
# Each kind of worker measured gets a backend of its own on its queue (drive.py).
EZTASKMANAGER = {"BACKEND": ENGINE, "OPTIONS": OPTIONS, "REPORTS_KEPT": 10}
