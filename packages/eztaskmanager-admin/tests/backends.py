"""A backend whose engine is unreachable, as RQ is when Redis is down."""

from eztaskmanager.services.queues import TaskQueueService


class UnreachableBackend(TaskQueueService):
    """Every request fails the way a queue client fails without its server."""

    supports_stop = True

    def enqueue(self, task):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    def stop_execution(self, report):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


class SchedulingBackend(TaskQueueService):
    """An in-memory engine that keeps scheduled jobs in a dict, to count them."""

    supports_schedule = True
    jobs: dict[str, object] = {}

    def enqueue(self, task):
        from eztaskmanager.services import run_management_command

        run_management_command(task.pk)

    def schedule(self, task):
        job_id = f"job-{task.pk}-{len(self.jobs)}-{task.scheduling.isoformat()}"
        self.jobs[job_id] = task.scheduling
        return job_id

    def unschedule(self, task):
        self.jobs.pop(task.scheduled_job_id, None)
