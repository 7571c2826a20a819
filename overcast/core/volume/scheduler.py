"""Cinder's filter scheduler, for one region: which pool of the backend may hold a volume.

A pool passes when it has room for the volume (Cinder's capacity filter; ``"infinite"`` and
``"unknown"`` capacities always do) and when every extra spec of the volume type that speaks of
capabilities matches what the pool reports (Cinder's capabilities filter): unscoped keys and
``capabilities:`` keys are compared, keys of any other scope (``qos:``, ``RESKEY:``, ...) are
someone else's business. A requirement is a plain string (equal), or an operator and operand:
``<is> True``, ``<in> sub``, ``<or> a <or> b``, numeric ``==`` ``!=`` ``>=`` ``<=`` ``=`` (at
least), and string ``s==`` ``s!=`` ``s<`` ``s<=`` ``s>`` ``s>=``.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Iterable, Mapping

from overcast.drivers.errors import BuildFailed
from overcast.drivers.volume import Pool


class NoValidBackend(BuildFailed):
    """No pool passes the filters (Cinder's NoValidBackend): the volume goes to ``error``."""


def _number(compare: Callable[[float, float], bool]) -> Callable[[Any, str], bool]:
    def check(value: Any, wanted: str) -> bool:
        try:
            return compare(float(value), float(wanted))
        except (TypeError, ValueError):
            return False
    return check


def _string(compare: Callable[[str, str], bool]) -> Callable[[Any, str], bool]:
    return lambda value, wanted: compare(str(value), wanted)


def _is(value: Any, wanted: str) -> bool:
    return str(value).strip().lower() == wanted.strip().lower()


#: operator -> check(reported value, operand)
OPERATORS: dict[str, Callable[[Any, str], bool]] = {
    "=": _number(operator.ge), "==": _number(operator.eq), "!=": _number(operator.ne),
    ">=": _number(operator.ge), "<=": _number(operator.le),
    "s==": _string(operator.eq), "s!=": _string(operator.ne), "s<": _string(operator.lt),
    "s<=": _string(operator.le), "s>": _string(operator.gt), "s>=": _string(operator.ge),
    "<in>": lambda value, wanted: wanted in str(value), "<is>": _is,
}


def matches(value: Any, requirement: str) -> bool:
    """Does a reported capability ``value`` satisfy one extra spec ``requirement``?"""
    words = str(requirement).split()
    if words and words[0] == "<or>":
        return value is not None and str(value) in words[1::2]
    check = OPERATORS.get(words[0]) if words else None
    if check is None:
        return value is not None and str(value) == str(requirement)
    return value is not None and len(words) > 1 and check(value, " ".join(words[1:]))


def _reported(capabilities: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    """(whether the key is about capabilities, the value the pool reports for it or None)."""
    scope = key.split(":")
    if len(scope) > 1:
        if scope[0] != "capabilities":
            return False, None
        scope = scope[1:]
    value: Any = capabilities
    for part in scope:
        value = value.get(part) if isinstance(value, Mapping) else None
    return True, value


def passes(pool: Pool, extra_specs: Mapping[str, Any], size_gb: int) -> bool:
    """Whether ``pool`` may hold a ``size_gb`` volume of a type with ``extra_specs``."""
    free = pool.free_capacity_gb
    if isinstance(free, (int, float)) and size_gb > free * (100 - pool.reserved_percentage) / 100:
        return False
    capabilities = pool.capabilities()
    for key, requirement in extra_specs.items():
        relevant, value = _reported(capabilities, key)
        if relevant and not matches(value, str(requirement)):
            return False
    return True


def choose(pools: Iterable[Pool], extra_specs: Mapping[str, Any], size_gb: int) -> Pool:
    """The pool a new volume goes to: of those that pass, the one with the most free space.

    :raises NoValidBackend: none passes (Cinder's message).
    """
    fitting = [p for p in pools if passes(p, extra_specs, size_gb)]
    if not fitting:
        raise NoValidBackend("No valid backend was found. No weighed backends available")
    return max(fitting, key=lambda p: p.free_capacity_gb if isinstance(p.free_capacity_gb, (int, float))
               else float("inf"))
