"""A project's settings as django-eztaskmanager 0.5.3 documents them (its README).

Read by both sides of the upgrade test: 0.5.3 runs with them as they are, and the
upgraded project (``integration_tests.upgrade.settings``) imports them and adds only
what the upgrading guide says. The database and the Redis server come from the
environment the test sets: ``UPGRADE_DB`` (``sqlite:<path>`` or ``postgres:<name>``) and
``UPGRADE_REDIS_URL``.
"""

import os

SECRET_KEY = "upgrade-test-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "Europe/Rome"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "eztaskmanager",
    "shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "oldsite.urls"
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

_engine, _, _name = os.environ.get("UPGRADE_DB", "sqlite:/tmp/eztm-upgrade.sqlite3").partition(":")
if _engine == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "NAME": _name,
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _name}}

RQ_QUEUES = {"default": {"URL": os.environ.get("UPGRADE_REDIS_URL", "redis://127.0.0.1:6379/0")}}

# eztaskmanager, as 0.5.3's README shows them.
EZTASKMANAGER_NOTIFICATION_HANDLERS = {
    "email-errors": {
        "class": "eztaskmanager.services.notifications.EmailNotificationHandler",
        "level": "failure",
        "from_email": "admin@example.com",
        "recipients": ["admin@example.com"],
    },
}
EZTASKMANAGER_N_LINES_IN_REPORT_LOG = 5
