"""The least a durable record of a job's start and end costs, for the dispatch benchmarks.

A bare job wrapped in :func:`recorded` writes one row as it starts and again as it ends,
each an ORM ``update()`` committed on its own: what any job runner that keeps its runs'
state in the database pays at the least, before it decides anything. Its throughput is
the floor beside which the task manager's own start and end are read.
"""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def recorded(task_id: int) -> Iterator[None]:
    """Mark the task ``task_id`` started, run the body, mark it idle: two committed UPDATEs."""
    # Imported here: a worker imports its job modules before Django is set up.
    from eztaskmanager.models import Task

    Task.objects.filter(pk=task_id).update(status=Task.STATUS_STARTED)
    yield
    Task.objects.filter(pk=task_id).update(status=Task.STATUS_IDLE)
