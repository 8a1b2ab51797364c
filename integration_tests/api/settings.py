"""Settings of the API's end-to-end tests, shared by the test process, ``manage.py runserver``
and ``manage.py rqworker``.

The Redis URL and queue come from the environment, which the fixtures set for the server
and the worker they start (both open the test database: ``EZTASKMANAGER_USE_TEST_DB``).
"""

import os

from testsupport.settings import ADMIN_APPS, ADMIN_SITE, BASE, databases

globals().update(BASE)
globals().update(ADMIN_SITE)

DATABASES = databases("integration_api")
INSTALLED_APPS = [*ADMIN_APPS, "django_rq", "eztaskmanager_rq"]
ROOT_URLCONF = "integration_tests.api.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
RQ_QUEUE = os.environ.get("EZTASKMANAGER_RQ_QUEUE", "eztm-api")
RQ_QUEUES = {
    RQ_QUEUE: {"URL": os.environ.get("EZTASKMANAGER_RQ_REDIS_URL", "redis://127.0.0.1:6379/0")}
}
RQ = {"WORKER_CLASS": "eztaskmanager_rq.worker.Worker"}
EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": RQ_QUEUE}, "REPORTS_KEPT": 100}
