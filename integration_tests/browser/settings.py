"""Django project of the browser tests: the admin, the log viewer, runs in child processes.

Runs start as child processes (``backend.SubprocessBackend``), or on a real RQ or Celery
worker (the ``rq_worker`` and ``celery_worker`` fixtures): those worker processes get the
Redis URL and queue from the environment.
"""

import os

from testsupport.settings import ADMIN_APPS, ADMIN_SITE, BASE, databases

globals().update(BASE)
globals().update(ADMIN_SITE)

DATABASES = databases("browser")
INSTALLED_APPS = [
    *ADMIN_APPS,
    "django_rq",
    "integration_tests.browser.logapp",
]
ROOT_URLCONF = "integration_tests.browser.urls"
EZTASKMANAGER = {
    "BACKEND": "integration_tests.browser.backend.SubprocessBackend",
    "REPORT_LOG_TAIL_LINES": 10,
    # Enough runs for a task's history chart to tell a story.
    "REPORTS_KEPT": 10,
}
# The RQ worker of test_rq_run.py runs the backend's worker class, as its docs say.
RQ = {"WORKER_CLASS": "eztaskmanager_rq.worker.Worker"}
RQ_QUEUE = os.environ.get("EZTASKMANAGER_RQ_QUEUE", "eztm-browser")
RQ_QUEUES = {
    RQ_QUEUE: {"URL": os.environ.get("EZTASKMANAGER_RQ_REDIS_URL", "redis://127.0.0.1:6379/0")}
}
if "EZTASKMANAGER_RQ_REDIS_URL" in os.environ:  # the RQ worker of the rq_worker fixture
    EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": RQ_QUEUE}}
if "EZTASKMANAGER_CELERY_BROKER_URL" in os.environ:  # the worker of the celery_worker fixture
    INSTALLED_APPS.append("eztaskmanager_celery")
    CELERY_BROKER_URL = os.environ["EZTASKMANAGER_CELERY_BROKER_URL"]
    EZTASKMANAGER = {
        "BACKEND": "celery",
        "OPTIONS": {"app": "integration_tests.browser.celeryapp:app"},
    }
