"""What a backend still lets Overcast make: its own quotas, read before a create is accepted.

A backend that enforces quotas of its own (an upstream OpenStack's Nova, Cinder and Neutron
quotas for the service account's project, a provider's account limits) refuses a create that
Overcast's own per-project quotas let through. Without a look first, the create is answered 202
and the refusal only surfaces later as a resource in ERROR. A driver that can tell its headroom
says so with ``reports_headroom = True`` and answers :meth:`headroom` with a :class:`Headroom`;
the core reads it (with the cloud's timeout and breaker, briefly cached) when it accepts a create
in that region and answers the service's own quota fault when the new resources do not fit
(docs/decisions/0046-backend-quota-headroom.md). Drivers that declare nothing cost nothing.

Resource names are the service's quota names: compute ``instances``, ``cores``, ``ram`` (MiB),
``server_groups`` (a backend that keeps Overcast's server groups as its own);
volume ``volumes``, ``gigabytes``, ``snapshots``; network ``network``, ``subnet``, ``port``, ``router``,
``floatingip``, ``security_group``, ``security_group_rule``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

#: a limit the backend does not enforce
UNLIMITED = -1


@dataclass(frozen=True)
class Headroom:
    """Per resource: the backend's limit (``UNLIMITED``: none) and what it counts as used now."""

    limits: Mapping[str, int] = field(default_factory=dict)
    used: Mapping[str, int] = field(default_factory=dict)

    def over(self, deltas: Mapping[str, int]) -> list[str]:
        """The resources (of ``deltas``) that ``deltas`` more would take past the backend's limit."""
        names = []
        for name, delta in deltas.items():
            limit = self.limits.get(name, UNLIMITED)
            if delta > 0 and limit is not None and limit >= 0 and self.used.get(name, 0) + delta > limit:
                names.append(name)
        return names

    def plus(self, deltas: Mapping[str, int]) -> "Headroom":
        """The same headroom with ``deltas`` more counted as used (what was accepted since the read)."""
        used = dict(self.used)
        for name, delta in deltas.items():
            used[name] = used.get(name, 0) + delta
        return Headroom(limits=dict(self.limits), used=used)
