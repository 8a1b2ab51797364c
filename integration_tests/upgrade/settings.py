"""The upgraded project: the settings 0.5.3 ran with, plus what the upgrading guide adds.

``oldsite.settings`` (in ``project/``) is imported as it is, so the test proves that
nothing else has to change: two apps in ``INSTALLED_APPS`` and the RQ worker classes. The
flat ``EZTASKMANAGER_*`` settings stay; no ``EZTASKMANAGER_QUEUE_SERVICE_TYPE`` is set, so
the backend is RQ, as in 0.5.3. The database is the one the suite's fixture lets 0.5.3
create (``UPGRADE_DB``); the Redis URL is set by the fixture too.
"""

import os
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent / "project"
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))


def _database() -> str:
    """``UPGRADE_DB`` for this run: a SQLite file or a PostgreSQL database, named per run."""
    name = os.environ.get("EZTASKMANAGER_TEST_DB_NAME", "test_eztm_upgrade")
    if os.environ.get("EZTASKMANAGER_TEST_DB", "sqlite") == "postgres":
        return f"postgres:{name}"
    import tempfile

    return f"sqlite:{Path(tempfile.gettempdir()) / f'{name}.sqlite3'}"


os.environ.setdefault("UPGRADE_DB", _database())

from oldsite.settings import *  # noqa: E402, F403 - the project's settings under 0.5.3

# What the upgrading guide adds (docs/how-to/upgrading.md).
INSTALLED_APPS = [*INSTALLED_APPS, "eztaskmanager_rq", "eztaskmanager_admin"]  # noqa: F405
RQ = {
    "WORKER_CLASS": "eztaskmanager_rq.worker.Worker",
    "SCHEDULER_CLASS": "eztaskmanager_rq.scheduler.Scheduler",
}
