"""Request-body validation: fastjsonschema vs jsonschema (Draft 4 / Draft 7, precompiled).

    .venv/bin/python -m benchmarks.micro.validation_bench [--repeat 5]

Prints (1) the one-off cost of compiling each schema, (2) microseconds per validation of a valid
body and of an invalid one, and (3) the error each gives for typical bad inputs, with whether
the message names the offending field.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import copy
import sys
import time
import timeit
from typing import Any, Callable

import fastjsonschema
from jsonschema import Draft4Validator, Draft7Validator
from jsonschema.exceptions import best_match

from benchmarks.common import table
from benchmarks.micro.bodies import AUTH_SCHEMA, USER_CREATE_SCHEMA, auth_request, user_create_request


class Invalid(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def make_fast(schema: dict) -> Callable[[Any], Any]:
    fn = fastjsonschema.compile(schema)

    def validate(body: Any) -> Any:
        try:
            return fn(body)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise Invalid(exc.name or "data", exc.message) from None
    return validate


def make_js(cls) -> Callable[[dict], Callable[[Any], Any]]:
    def build(schema: dict) -> Callable[[Any], Any]:
        cls.check_schema(schema)
        validator = cls(schema)

        def validate(body: Any) -> Any:
            # is_valid is the fast path; errors are only collected for a bad body
            if validator.is_valid(body):
                return body
            err = best_match(validator.iter_errors(body))
            raise Invalid(err.json_path, err.message)
        return validate
    return build


def make_hybrid(schema: dict) -> Callable[[Any], Any]:
    """fastjsonschema decides; only a rejected body is re-checked by jsonschema for its message."""
    fast = fastjsonschema.compile(schema)
    slow = Draft7Validator(schema)

    def validate(body: Any) -> Any:
        try:
            return fast(body)
        except fastjsonschema.JsonSchemaValueException:
            err = best_match(slow.iter_errors(body))
            raise Invalid(err.json_path, err.message) from None
    return validate


IMPLS = {"fastjsonschema": make_fast, "jsonschema Draft4": make_js(Draft4Validator),
         "jsonschema Draft7": make_js(Draft7Validator), "hybrid (fast + Draft7 msg)": make_hybrid}


def _del(body: dict, *path: str) -> dict:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


def _set(body: dict, value: Any, *path: str) -> dict:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


AUTH = auth_request()
USER = user_create_request()
# (label, schema name, body, the field a good message names)
BAD_CASES = [
    ("auth: password missing", "auth", _del(AUTH, "auth", "identity", "password", "user", "password"), "password"),
    ("auth: methods not a list", "auth", _set(AUTH, "password", "auth", "identity", "methods"), "methods"),
    ("auth: user.name is a number", "auth", _set(AUTH, 42, "auth", "identity", "password", "user", "name"), "name"),
    ("auth: scope.project has no id/name", "auth", _set(AUTH, {"domain": {"id": "default"}}, "auth", "scope", "project"), "project"),
    ("user: name missing", "user", _del(USER, "user", "name"), "name"),
    ("user: enabled is 'yes'", "user", _set(USER, "yes", "user", "enabled"), "enabled"),
    ("user: name too long", "user", _set(USER, "x" * 300, "user", "name"), "name"),
    ("user: unknown option", "user", _set(USER, {"bogus": True}, "user", "options"), "bogus"),
]
SCHEMAS = {"auth": AUTH_SCHEMA, "user": USER_CREATE_SCHEMA}
BODIES = {"auth": AUTH, "user": USER}


def best_us(fn: Callable[[], Any], repeat: int) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat, number)) / number * 1e6


def _call(validate: Callable[[Any], Any], body: Any) -> None:
    try:
        validate(body)
    except Invalid:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    compiled: dict[tuple[str, str], Callable[[Any], Any]] = {}
    compile_rows = []
    for impl, build in IMPLS.items():
        row = [impl]
        for name, schema in SCHEMAS.items():
            started = time.perf_counter()
            compiled[impl, name] = build(copy.deepcopy(schema))
            row.append(f"{(time.perf_counter() - started) * 1000:.2f}")
        compile_rows.append(row)
    print("one-off compile (ms, first in process; jsonschema includes check_schema):")
    print(table(["validator", "auth schema", "user-create schema"], compile_rows))

    rows = []
    bad = {"auth": BAD_CASES[0][2], "user": BAD_CASES[5][2]}
    for name in SCHEMAS:
        for label, body in (("valid", BODIES[name]), ("invalid", bad[name])):
            times = {impl: best_us(lambda v=compiled[impl, name], b=body: _call(v, b), args.repeat)
                     for impl in IMPLS}
            fastest = min(times.values())
            rows.append([name, label, *(f"{t:.1f} ({t / fastest:.1f}x)" for t in times.values())])
    print("\nmicroseconds per validation (best of %d):" % args.repeat)
    print(table(["schema", "body", *IMPLS], rows))

    print("\nerror messages (does it name the field?):")
    for label, name, body, field in BAD_CASES:
        print(f"- {label}")
        for impl in IMPLS:
            try:
                compiled[impl, name](body)
                print(f"    {impl:26s} ACCEPTED (no error)")
            except Invalid as exc:
                named = "yes" if field in exc.field or field in exc.message else "NO "
                print(f"    {impl:26s} [{named}] path={exc.field!r} {exc.message[:140]!r}")
    print(f"\nfastjsonschema {fastjsonschema.VERSION}, jsonschema {importlib.metadata.version('jsonschema')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
