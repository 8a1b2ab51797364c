"""Backends for the admin's tests: an unreachable engine, and an in-memory scheduler."""

from eztaskmanager.services import run_management_command
from eztaskmanager.services.queues import TaskQueueService


class UnreachableBackend(TaskQueueService):
    """Every request fails the way a queue client fails without its server."""

    supports_stop = True
    supports_schedule = True

    def enqueue(self, task, job_id):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    def schedule(self, task):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    def unschedule(self, task):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    def stop_execution(self, report):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


class SchedulingBackend(TaskQueueService):
    """An in-memory engine that keeps scheduled jobs in a dict, to count them."""

    supports_schedule = True
    jobs: dict[str, object] = {}

    def enqueue(self, task, job_id):
        run_management_command(task.pk, job_id)

    def schedule(self, task):
        self.jobs[task.scheduled_job_id] = task.scheduling

    def unschedule(self, task):
        self.jobs.pop(task.scheduled_job_id, None)


class QueueingBackend(TaskQueueService):
    """An engine whose worker has not taken the job yet: runs stay queued; stops are slow."""

    supports_stop = True

    def enqueue(self, task, job_id):
        pass
