"""The Django app, settings and probe command of ``benchmarks/worker_memory.py``.

Kept apart from the integration tests' projects: its workers load these settings, whose
database, Redis and queues ``worker_memory.py`` chooses for each run through the environment.
"""
