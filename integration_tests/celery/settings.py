"""Settings of the Celery integration tests: real Redis/RabbitMQ, worker and beat processes.

The broker is chosen by the tests: they start the worker and the beat with
``EZTM_CELERY_BROKER_URL`` set, and point the test process's app at the same broker.
"""

import os

from testsupport import clock
from testsupport.settings import BASE, databases

globals().update(BASE)
# In every process of these tests a schedule's minute lasts 2 s: the real rules, 30 times faster.
clock.install(speed=30)

DATABASES = databases("integration_celery")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Worker, beat and tests write at once: take the write lock when a transaction
    # starts, rather than fail upgrading a read lock ("database is locked").
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "eztaskmanager",
    "eztaskmanager_celery",
    "integration_tests.celery.probe",
]
QUEUE = "eztaskmanager-integration"
EZTASKMANAGER = {
    "BACKEND": "celery",
    "OPTIONS": {
        "app": "integration_tests.celery.proj:app",
        "queue": QUEUE,
        "connect_timeout": 2,
    },
    "REPORTS_KEPT": 100,
}
CELERY_BROKER_URL = os.environ.get("EZTM_CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
CELERY_RESULT_BACKEND = os.environ.get("EZTM_CELERY_RESULT_BACKEND") or None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "eztaskmanager_celery.beat:TaskScheduler"
if "EZTASKMANAGER_TEST_DB_REUSE_MAX" in os.environ:  # a worker that keeps its connection
    # Celery's Django fixup closes every connection before and after every task unless
    # told how many tasks may reuse one: CONN_MAX_AGE alone changes nothing in a worker.
    CELERY_DB_REUSE_MAX = int(os.environ["EZTASKMANAGER_TEST_DB_REUSE_MAX"])
