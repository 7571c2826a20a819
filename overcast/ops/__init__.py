"""Durable operations: records in the store, workers with leases, retries, breakers per cloud and
driver family, per-cloud limits, and a reconciler. See docs/decisions/0007-operations-engine.md."""

from overcast.ops.breaker import Breakers, CircuitBreaker
from overcast.ops.calls import Backends, BackendUnavailable, RateLimited, call_backend, guard_cloud, guard_driver
from overcast.ops.engine import (CloudUnavailable, Done, HandlerContext, Job, OperationTimeout, OpsSettings,
                                 PollAgain, Registry, Worker, WorkerPool, cancel, claim, done, enqueue, events_for,
                                 operations_for, poll_again, purge_finished, requeue_expired, wait_for,
                                 wake_workers)
from overcast.ops.models import Operation, OperationEvent

__all__ = [
    "Backends", "BackendUnavailable", "Breakers", "CircuitBreaker", "CloudUnavailable", "Done", "HandlerContext",
    "Job", "Operation", "OperationEvent", "OperationTimeout", "OpsSettings", "PollAgain", "RateLimited", "Registry",
    "Worker", "WorkerPool", "call_backend", "cancel", "claim", "done", "enqueue", "events_for", "guard_cloud",
    "guard_driver", "operations_for", "poll_again", "purge_finished", "requeue_expired", "wait_for", "wake_workers",
]
