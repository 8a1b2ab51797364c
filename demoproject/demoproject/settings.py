"""Settings of the demo project: an ordinary Django project that uses django-eztaskmanager.

Read it as an example of integrating eztaskmanager into an existing project: the parts
that concern it are marked ``eztaskmanager:``. Values come from environment variables,
so the same file serves the quick start (``hatch run demo:start``: SQLite and a local
Redis) and ``docker-compose.yml`` (PostgreSQL and Redis containers).

Environment variables:

- ``EZTASKMANAGER_DEMO_BACKEND``: ``rq`` (default) or ``celery``.
- ``REDIS_URL``: the Redis both backends use (default ``redis://127.0.0.1:6379/0``).
- ``POSTGRES_HOST`` (with ``POSTGRES_PORT``, ``POSTGRES_DB``, ``POSTGRES_USER``,
  ``POSTGRES_PASSWORD``): use PostgreSQL instead of SQLite.
- ``EZTASKMANAGER_DEMO_DATA_DIR``: where the SQLite database lives (default ``.demo/``).
- ``DJANGO_DEBUG`` (``1`` for Django's debug pages; off unless set: ``hatch run
  demo:start`` sets it, for its server on 127.0.0.1 only), ``DJANGO_SECRET_KEY``,
  ``DJANGO_ALLOWED_HOSTS``.
- ``DJANGO_TIME_ZONE``: the site's time zone (default: this machine's, else UTC), the
  one every page shows times in; the browser's should be the same, or the admin's
  forms say "You are N hours ahead of server time".
"""

import contextlib
import os
import zoneinfo
from pathlib import Path


def machine_time_zone() -> str:
    """This machine's IANA time zone (``TZ``, ``/etc/localtime``, ``/etc/timezone``), else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(os.readlink("/etc/localtime").partition("zoneinfo/")[2])
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for name in candidates:
        if name:
            try:
                zoneinfo.ZoneInfo(name)
            except (ValueError, zoneinfo.ZoneInfoNotFoundError):
                continue
            return name
    return "UTC"


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("EZTASKMANAGER_DEMO_DATA_DIR", BASE_DIR / ".demo"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-never-use-in-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

# eztaskmanager: which queue engine runs the tasks ("rq" or "celery").
DEMO_BACKEND = os.environ.get("EZTASKMANAGER_DEMO_BACKEND", "rq").lower()
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # eztaskmanager: the core (models, runner, collectcommands) and the admin UI.
    "eztaskmanager",
    "eztaskmanager_admin",
    # The project's own app, whose management commands become tasks.
    "library",
]

if DEMO_BACKEND == "rq":
    # eztaskmanager: django-rq provides `manage.py rqworker` and `manage.py rqscheduler`.
    INSTALLED_APPS += ["django_rq", "eztaskmanager_rq"]
elif DEMO_BACKEND == "celery":
    INSTALLED_APPS += ["eztaskmanager_celery"]
else:
    raise ValueError(f"EZTASKMANAGER_DEMO_BACKEND must be rq or celery, not {DEMO_BACKEND!r}")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if not DEBUG:
    # The Docker image installs whitenoise to serve the admin's static files from gunicorn.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "demoproject.urls"
WSGI_APPLICATION = "demoproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if os.environ.get("POSTGRES_HOST"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ["POSTGRES_HOST"],
            "PORT": os.environ.get("POSTGRES_PORT", "5432"),
            "NAME": os.environ.get("POSTGRES_DB", "eztaskmanager"),
            "USER": os.environ.get("POSTGRES_USER", "postgres"),
            "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # The web server and the workers write at the same time: wait for the lock
            # rather than failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
# One clock: the forms, lists, messages and logs all use this zone.
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE") or machine_time_zone()
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static"
# The files runs attach to their reports (artifacts) go to the default storage: here.
MEDIA_ROOT = DATA_DIR / "media"

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# eztaskmanager: every setting in one dict. Only BACKEND is needed; the others show
# their default values.
EZTASKMANAGER = {
    # The queue engine: a registered name ("rq", "celery", "immediate") or the dotted
    # path of a TaskQueueService subclass.
    "BACKEND": DEMO_BACKEND,
    # Keyword arguments of the backend's constructor. RQ: the default queue, one of
    # RQ_QUEUES below (a task may name another of them on the same Redis). Celery: no
    # queue given, tasks go to Celery's default queue ("celery"), the one `celery worker`
    # listens on unless told otherwise with -Q; "queues" lists the others a task may name.
    "OPTIONS": {"queue": "default"} if DEMO_BACKEND == "rq" else {"queues": ["heavy"]},
    # Who hears about finished runs: {alias: {"BACKEND", "LEVEL", "OPTIONS"}}. "email"
    # goes through EMAIL_BACKEND above (the console here). LEVEL is the least severe
    # result that notifies: "failed", "errors", "warnings" or "ok".
    "NOTIFIERS": {
        # "ops-mail": {
        #     "BACKEND": "email",
        #     "LEVEL": "failed",
        #     "OPTIONS": {"from_email": "tasks@example.com", "recipients": ["ops@example.com"]},
        # },
    },
    # Reports kept per task; older ones are deleted with their log lines.
    "REPORTS_KEPT": 5,
    # Log lines shown under each report in the admin and in notifications.
    "REPORT_LOG_TAIL_LINES": 10,
    # Artifacts: the alias in STORAGES that keeps them, and the largest file (bytes).
    "ARTIFACTS_STORAGE": "default",
    "ARTIFACTS_MAX_SIZE": 100 * 1024 * 1024,
    # What `manage.py eztaskmanager_prune` (cron) removes: finished reports older than
    # these days, and DEBUG lines of finished reports older than those (None: never).
    "REPORTS_MAX_AGE_DAYS": None,
    "DEBUG_LINES_MAX_AGE_DAYS": None,
    # Absolute address of the site, for links in notifications (else the Sites framework).
    "BASE_URL": os.environ.get("EZTASKMANAGER_DEMO_BASE_URL", "http://127.0.0.1:8000"),
}

# eztaskmanager + RQ: django-rq's queues. The backend's "queue" option names one of them;
# a task whose queue is "heavy" runs on the workers started with `rqworker heavy`.
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600},
    "heavy": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600},
}
# eztaskmanager + RQ: `manage.py rqworker` and `manage.py rqscheduler` run these classes.
# They record their heartbeat (the admin's "Workers and schedulers" page), end the runs
# of a worker that died, and book again the schedules Redis lost.
RQ = {
    "WORKER_CLASS": "eztaskmanager_rq.worker.Worker",
    "SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler",
}

# eztaskmanager + Celery: the broker, and the beat scheduler that reads the schedule from
# the Task table (so `celery -A demoproject beat` needs no -S option).
CELERY_BROKER_URL = REDIS_URL
CELERY_BEAT_SCHEDULER = "eztaskmanager_celery.beat:TaskScheduler"
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "eztaskmanager": {"level": "INFO"},
        # rqscheduler prints its lines itself: not a second time through the root logger.
        "rq_scheduler": {"propagate": False},
    },
}
