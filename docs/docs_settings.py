"""Django settings used only to import the packages while the documentation is built."""

SECRET_KEY = "docs-only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "eztaskmanager",
    "eztaskmanager_admin",
    "django_rq",
    "eztaskmanager_rq",
    "eztaskmanager_celery",
]
EZTASKMANAGER = {"BACKEND": "immediate"}
RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/0"}}
