"""A prefork pool process turns its spare connections on as it starts, and closes its
spare as it leaves (the spare itself: the core's tests/test_spare_connections.py; on a real
worker: integration_tests/celery/test_redis_connections.py)."""

from __future__ import annotations

from eztaskmanager.services.spare_connections import spare_connection
from eztaskmanager_celery import spare


def test_the_pool_process_signal_turns_spares_on(monkeypatch):
    monkeypatch.setattr(spare_connection, "enabled", False)
    spare.on_worker_process_init()
    assert spare_connection.enabled


def test_a_pool_process_closes_its_spare_as_it_leaves(monkeypatch):
    closed = []
    monkeypatch.setattr(spare_connection, "close", lambda: closed.append(True))
    spare.on_worker_process_shutdown()
    assert closed == [True]


def test_the_signals_are_connected():
    from celery import signals

    from eztaskmanager_celery.signals import connect

    connect()
    assert spare.on_worker_process_init in [r() for _, r in signals.worker_process_init.receivers]
    assert spare.on_worker_process_shutdown in [
        r() for _, r in signals.worker_process_shutdown.receivers
    ]
