"""A tiny Django project for the email notifier's tests (mail goes to ``mail.outbox``)."""

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("email")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sites",
    "eztaskmanager",
]
SITE_ID = 1
ROOT_URLCONF = "tests.urls"
DEFAULT_FROM_EMAIL = "taskmanager@example.com"
EZTASKMANAGER = {
    "BACKEND": "immediate",
    "BASE_URL": "https://tm.example.com/",
    "NOTIFIERS": {
        "ops-mail": {
            "BACKEND": "email",
            "LEVEL": "errors",
            "OPTIONS": {"recipients": ["ops@example.com", "Dev Team <dev@example.com>"]},
        },
    },
    "REPORT_LOG_TAIL_LINES": 3,
}
