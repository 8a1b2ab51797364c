"""A tiny Django project for the Celery backend's tests."""

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("celery")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "eztaskmanager",
    "eztaskmanager_celery",
]
EZTASKMANAGER = {
    "BACKEND": "celery",
    "OPTIONS": {"app": "tests.celery_app:app", "queue": "eztm-unit", "connect_timeout": 1},
    "REPORTS_KEPT": 50,
}
# The tests point the app at their own Redis (the redis_url fixture) before any use.
CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
CELERY_TASK_DEFAULT_QUEUE = "eztm-unit-default"
# A plain `celery beat` of this app runs the package's scheduler (else check W003 warns).
CELERY_BEAT_SCHEDULER = "eztaskmanager_celery.beat:TaskScheduler"
