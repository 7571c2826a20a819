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


class FileBackend:
    """A "driver" whose resources are lines of a file: ``create(key)`` is idempotent by key (like a
    driver's build with an idempotency key), ``tag(id)`` changes a resource. Guard it with
    :func:`overcast.ops.calls.guard_driver` so crash points count its calls."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def lines(self) -> list[list[str]]:
        return [line.split() for line in self.path.read_text().splitlines()] if self.path.exists() else []

    def create(self, key: str) -> str:
        for line in self.lines():
            if line[1] == key:
                return line[0]
        backend_id = f"b-{len(self.lines()) + 1}"
        with self.path.open("a") as fh:
            fh.write(f"{backend_id} {key}\n")
            fh.flush()
            os.fsync(fh.fileno())
        return backend_id

    def tag(self, backend_id: str) -> None:
        lines = [line if line[0] != backend_id or "tagged" in line else line + ["tagged"] for line in self.lines()]
        self.path.write_text("".join(" ".join(line) + "\n" for line in lines))


def two_step(job: Job, ctx: HandlerContext):  # noqa: ANN201
    """create (idempotent), checkpoint, tag, done: a crash after either driver call must resume to
    one tagged resource whose id is the one recorded."""
    from overcast.ops.calls import Backends, guard_driver

    backend = guard_driver(FileBackend(job.params["backend"]), Backends(), job.cloud, "compute")
    backend_id = job.checkpoint.get("backend_id") or backend.create(job.idempotency_key)
    ctx.save_checkpoint({"backend_id": backend_id})
    backend.tag(backend_id)
    return done({"backend_id": backend_id, "attempts": job.attempts})


def setup_two_step(runtime) -> None:  # noqa: ANN001 - an OpsRuntime
    """``overcast worker --handlers tests.ops.helpers:setup_two_step``"""
    runtime.registry.register("test.twostep", two_step)
