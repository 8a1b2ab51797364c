"""The demo project's package.

With the Celery backend, the Celery app is loaded whenever Django starts, as Celery's
Django guide recommends, so that the web process sends tasks through it. With RQ
(the default) Celery is not imported at all.
"""

import os

if os.environ.get("EZTASKMANAGER_DEMO_BACKEND", "rq").lower() == "celery":
    from demoproject.celery import app as celery_app

    __all__ = ["celery_app"]
