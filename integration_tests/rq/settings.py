"""Settings of the RQ end-to-end tests, shared by the test process and the worker processes.

The Redis URL and queue name come from the environment, which the test fixtures set for
the ``rqworker`` and ``rqscheduler`` processes they start (and override in the test
process, whose settings load before the Redis server starts).
"""

import os

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("integration_rq")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_rq",
    "eztaskmanager",
    "eztaskmanager_rq",
    "integration_tests.rq.probe",
]
RQ_QUEUE = os.environ.get("EZTASKMANAGER_RQ_QUEUE", "eztm-integration")
RQ_QUEUES = {
    RQ_QUEUE: {"URL": os.environ.get("EZTASKMANAGER_RQ_REDIS_URL", "redis://127.0.0.1:6379/0")}
}
EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": RQ_QUEUE}}
