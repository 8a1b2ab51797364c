"""Workarounds for the Celery versions this package supports, each with the reason.

Celery 5.7's prefork pool (``AsynPool``) notices that a pool process died through the
process's sentinel file descriptor, at once; but once a revoke with terminate (Stop) has
killed a pool process, the processes that replace it are no longer noticed that way,
only by the pool's maintenance timer, every 5 s (measured: 0.02 s before a terminate,
2-3.5 s after). Until then the run of a killed process stays "running" and its
``WorkerLostError`` waits. Running that maintenance every half second from the
worker's own event loop (the thread the pool's timer runs on) brings it back under a
second.
"""

from __future__ import annotations

from typing import Any

from celery.concurrency.asynpool import AsynPool

# Seconds between two checks that the prefork pool's processes are alive.
POOL_CHECK_EVERY = 0.5


def watch_pool_processes(consumer: Any, interval: float = POOL_CHECK_EVERY) -> bool:
    """Have the worker's event loop check its pool's processes often; return whether it does.

    Only for the prefork pool run by the event loop: there the check runs on the very
    thread that the pool's own timer uses. Other pools have no processes to check.
    """
    pool = getattr(consumer, "pool", None)
    timer = getattr(consumer, "timer", None)
    if timer is None or not isinstance(getattr(pool, "_pool", None), AsynPool):
        return False
    timer.call_repeatedly(interval, pool.maintain_pool)
    return True
