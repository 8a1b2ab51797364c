"""A backend for the core's own tests: it records what the base class asks of an engine.

It exists to test the base class's policies (what may start, what Stop does); the real
engines are tested end to end in ``integration_tests/``.
"""

from __future__ import annotations

from eztaskmanager.services.queues import JobInfo, JobState, TaskQueueService


class RecordingBackend(TaskQueueService):
    supports_schedule = True
    supports_stop = True

    def __init__(
        self, fail: bool = False, jobs: dict[str, JobInfo] | None = None, lost: tuple = ()
    ) -> None:
        self.calls: list[tuple] = []
        self.fail = fail
        self.jobs = jobs or {}
        self.lost = set(lost)  # handles of schedules the "engine" lost
        self.booked = 0

    def enqueue(self, task, job_id):
        if self.fail:
            raise ConnectionError("Connection refused on 127.0.0.1:1")
        self.calls.append(("enqueue", task.pk, job_id))

    def enqueue_at(self, task, job_id, when):
        if self.fail:
            raise ConnectionError("Connection refused on 127.0.0.1:1")
        self.calls.append(("enqueue_at", task.pk, job_id, when))

    def new_schedule_id(self, task):
        self.booked += 1
        return f"sched-{self.booked}"

    def schedule(self, task):
        self.calls.append(("schedule", task.scheduled_job_id))

    def unschedule(self, task):
        self.calls.append(("unschedule", task.scheduled_job_id))

    def cancel(self, job_id):
        self.calls.append(("cancel", job_id))

    def stop_execution(self, report):
        if self.fail:
            raise ConnectionError("Redis is down")
        self.calls.append(("stop", report.pk))

    def job_state(self, job_id):
        return self.jobs.get(job_id, JobInfo(JobState.UNKNOWN))

    def lost_schedules(self, tasks):
        return [task for task in tasks if task.scheduled_job_id in self.lost]
