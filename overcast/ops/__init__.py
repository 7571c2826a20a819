"""Durable operations: records in the store, workers with leases, retries, a breaker per cloud,
and a reconciler. See docs/decisions/0007-operations-engine.md."""

from overcast.ops.breaker import Breakers, CircuitBreaker
from overcast.ops.engine import (CloudUnavailable, Done, HandlerContext, Job, OperationTimeout, OpsSettings,
                                 PollAgain, Registry, Worker, WorkerPool, cancel, claim, done, enqueue, events_for,
                                 operations_for, poll_again, purge_finished, requeue_expired, wait_for,
                                 wake_workers)
from overcast.ops.models import Operation, OperationEvent

__all__ = [
    "Breakers", "CircuitBreaker", "CloudUnavailable", "Done", "HandlerContext", "Job", "Operation",
    "OperationEvent", "OperationTimeout", "OpsSettings", "PollAgain", "Registry", "Worker", "WorkerPool", "cancel",
    "claim", "done", "enqueue", "events_for", "operations_for", "poll_again", "purge_finished", "requeue_expired", "wait_for",
    "wake_workers",
]
