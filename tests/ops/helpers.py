"""Handlers shared by the in-process tests and the worker subprocess of the kill -9 test."""

from __future__ import annotations

import os
import time
from pathlib import Path

from overcast.ops.engine import HandlerContext, Job, done


def fake_backend_create(job: Job, ctx: HandlerContext):  # noqa: ANN201
    """A create against a "backend" that is a file of idempotency keys, one a line.

    Like a driver's build(idempotency_key=...): if the key is already there it finds the
    resource instead of making a second one. With ``block_first`` the first attempt signals
    ``ready`` and then hangs (the test kills its process).
    """
    backend = Path(job.params["backend"])
    if job.params.get("runs"):  # one line per handler call, to prove nothing ran twice
        with open(job.params["runs"], "a") as fh:
            fh.write(f"{job.id} {os.getpid()}\n")
        time.sleep(job.params.get("sleep", 0))
    existing = backend.read_text().split() if backend.exists() else []
    found = job.idempotency_key in existing
    if not found:
        with backend.open("a") as fh:
            fh.write(job.idempotency_key + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    if job.params.get("block_first") and job.attempts == 1:
        Path(job.params["ready"]).write_text(str(os.getpid()))
        while True:
            time.sleep(1)
    return done({"found_existing": found, "attempts": job.attempts, "pid": os.getpid()})


def setup(runtime) -> None:  # noqa: ANN001 - an OpsRuntime
    """``overcast worker --handlers tests.ops.helpers:setup``"""
    runtime.registry.register("test.create", fake_backend_create, event="compute__do_build_and_run_instance")
