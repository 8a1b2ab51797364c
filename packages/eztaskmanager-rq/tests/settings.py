"""A tiny Django project for the RQ backend's tests.

``RQ_QUEUES`` points at a port nothing listens on: the ``rq_settings`` fixture in
conftest.py replaces it with the real Redis that the ``redis_url`` fixture provides.
"""

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("rq")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_rq",
    "eztaskmanager",
    "eztaskmanager_rq",
]
RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
EZTASKMANAGER = {"BACKEND": "rq"}
# django-rq's worker and scheduler classes: this package's (eztaskmanager_rq.W003, W004).
RQ = {
    "WORKER_CLASS": "eztaskmanager_rq.worker.Worker",
    "SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler",
}
