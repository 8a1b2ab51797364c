"""Settings of the RQ end-to-end tests, shared by the test process and the worker processes.

The Redis URL, queue name and notification file come from the environment, which the
test fixtures set for the ``rqworker`` and ``rqscheduler`` processes they start (and
override in the test process, whose settings load before the Redis server starts).
"""

import os
import tempfile

from testsupport import clock
from testsupport.settings import BASE, databases

globals().update(BASE)
# In every process of these tests a schedule's minute lasts 2 s: the real rules, 30 times faster.
clock.install(speed=30)

DATABASES = databases("integration_rq")
# Artifacts go to the default storage: a folder of this test run, the same for the workers
# (test_rq_artifacts.py downloads what a worker attached).
MEDIA_ROOT = os.path.join(
    tempfile.gettempdir(),
    os.environ.get("EZTASKMANAGER_TEST_DB_NAME", "test_eztm_integration_rq") + "-media",
)
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_rq",
    "eztaskmanager",
    "eztaskmanager_rq",
    "integration_tests.rq.probe",
]
RQ_QUEUE = os.environ.get("EZTASKMANAGER_RQ_QUEUE", "eztm-integration")
# A second queue on the same Redis, for the tasks that name it (test_rq_queues.py).
RQ_HEAVY_QUEUE = f"{RQ_QUEUE}-heavy"
RQ_URL = os.environ.get("EZTASKMANAGER_RQ_REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {RQ_QUEUE: {"URL": RQ_URL}, RQ_HEAVY_QUEUE: {"URL": RQ_URL}}
# The worker and scheduler classes that tell the task manager what RQ knows first.
RQ = {
    "WORKER_CLASS": "eztaskmanager_rq.worker.Worker",
    "SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler",
}
NOTIFY_FILE = os.environ.get("EZTASKMANAGER_RQ_NOTIFY_FILE", os.devnull)
EZTASKMANAGER = {
    "BACKEND": "rq",
    # Every run kept, so that the tests can count them.
    "REPORTS_KEPT": 1000,
    # Shortened for the process of the test that freezes a whole worker.
    "HEARTBEAT_TIMEOUT": int(os.environ.get("EZTASKMANAGER_RQ_HEARTBEAT_TIMEOUT", "60")),
    "OPTIONS": {"queue": RQ_QUEUE},
    "NOTIFIERS": {
        "file": {
            "BACKEND": "integration_tests.rq.probe.notifier.FileNotifier",
            "LEVEL": "stopped",
            "OPTIONS": {"path": NOTIFY_FILE},
        }
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        name: {"handlers": ["console"], "level": "INFO"}
        for name in ("eztaskmanager", "eztaskmanager_rq")
    },
}
