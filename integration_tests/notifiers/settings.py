"""Settings of the notifier integration tests: real SMTP and HTTP servers on loopback.

Tasks run with the ``immediate`` backend, through the core runner, so each test sees
exactly what a worker would send at the end of a run. The mail port and the notifiers
are set per test, since every server listens on a free port.
"""

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("notifiers")
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "eztaskmanager",
    "eztaskmanager_admin",  # the log viewer the notifications link to
]
MIDDLEWARE = [
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
ROOT_URLCONF = "integration_tests.notifiers.urls"
# pytest-django switches EMAIL_BACKEND to locmem; the smtp fixture switches it back.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_TIMEOUT = 5
DEFAULT_FROM_EMAIL = "taskmanager@example.com"
EZTASKMANAGER = {"BACKEND": "immediate", "BASE_URL": "https://tm.example.com"}
