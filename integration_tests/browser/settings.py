"""Django project of the browser tests: the admin, the log viewer, runs in child processes.

Runs start as child processes (``backend.SubprocessBackend``), or on a real RQ worker in
``test_rq_run.py``: that worker process gets the Redis URL and queue from the environment.
"""

import os

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("browser")
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "eztaskmanager",
    "eztaskmanager_admin",
    "django_rq",
    "integration_tests.browser.logapp",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
ROOT_URLCONF = "integration_tests.browser.urls"
EZTASKMANAGER = {
    "BACKEND": "integration_tests.browser.backend.SubprocessBackend",
    "REPORT_LOG_TAIL_LINES": 10,
}
RQ_QUEUE = os.environ.get("EZTASKMANAGER_RQ_QUEUE", "eztm-browser")
RQ_QUEUES = {
    RQ_QUEUE: {"URL": os.environ.get("EZTASKMANAGER_RQ_REDIS_URL", "redis://127.0.0.1:6379/0")}
}
if "EZTASKMANAGER_RQ_REDIS_URL" in os.environ:  # the RQ worker of test_rq_run.py
    EZTASKMANAGER = {"BACKEND": "rq", "OPTIONS": {"queue": RQ_QUEUE}}
