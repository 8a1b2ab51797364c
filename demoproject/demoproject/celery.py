"""The demo project's Celery app, used when ``EZTASKMANAGER_DEMO_BACKEND=celery``.

Start its processes from the ``demoproject/`` folder::

    celery -A demoproject worker -l info
    celery -A demoproject beat -l info

``autodiscover_tasks()`` finds ``eztaskmanager_celery/tasks.py``, the task that runs a
task's management command; the beat scheduler class is set in ``settings.py``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demoproject.settings")

app = Celery("demoproject")
# Every CELERY_* Django setting configures the app (CELERY_BROKER_URL -> broker_url ...).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
