"""A backend whose engine is unreachable, as RQ is when Redis is down."""

from eztaskmanager.services.queues import TaskQueueService


class UnreachableBackend(TaskQueueService):
    """Every request fails the way a queue client fails without its server."""

    supports_stop = True

    def enqueue(self, task):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    def stop_execution(self, report):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
