from django.apps import AppConfig


class ProbeConfig(AppConfig):
    """A command that records when its first line runs, for tests and the dispatch benchmark."""

    name = "integration_tests.rq.probe"
    label = "rq_probe"
