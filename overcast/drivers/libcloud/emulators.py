"""Adapters for emulators' differences from the real provider, applied only when a cloud says
``emulator = "..."``. Without it the driver sends and reads exactly what the provider documents.

``emulator = "moto"`` (moto's EC2, as ``moto_server`` serves it). Each difference, and what the
adapter does about it (``docs/decisions/0043-libcloud-driver.md`` lists them with their tests):

1. **XML namespace.** AWS answers in ``http://ec2.amazonaws.com/doc/2016-11-15/`` (with the
   trailing slash, the namespace libcloud's EC2 driver reads); moto writes it without the slash,
   and older templates in ``.../2013-10-15/``, so libcloud finds no element at all (empty lists,
   nodes that are lists). The adapter rewrites the root's EC2 namespace to libcloud's before the
   body is parsed. Requests are untouched (signatures, SigV4, are computed as for AWS).
2. **Error bodies.** AWS's ``<Response><Errors><Error>`` carries no namespace (libcloud's error
   parser reads it without one); moto puts its EC2 namespace on it, so libcloud reads no code and
   ``InvalidInstanceID.NotFound`` would be an anonymous 400. The adapter drops the namespace from
   error bodies.
3. **Client tokens.** AWS's ``RunInstances`` returns the first instance again for a
   ``ClientToken`` it has seen; moto ignores the token and makes another, and it has no
   ``client-token`` filter. The driver tags every instance with its token at launch (AWS and moto
   alike) and, on moto only, looks the token up by that tag (one ``DescribeInstances``) before it
   runs an instance, so a retried build finds its instance on moto too.
"""

from __future__ import annotations

import re
from typing import Any

#: any EC2 namespace declaration
_EC2_NAMESPACE = re.compile(rb'xmlns="http://ec2\.amazonaws\.com/doc/[^"]*"')


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return str(body or "").encode()


def moto_ec2_driver(base: type) -> type:
    """A subclass of libcloud's EC2 driver class reading moto's answers (difference 1)."""
    from libcloud.compute.drivers.ec2 import NAMESPACE, EC2Connection, EC2Response

    wanted = f'xmlns="{NAMESPACE}"'.encode()

    class MotoEC2Response(EC2Response):
        def parse_body(self) -> Any:
            self.body = _EC2_NAMESPACE.sub(wanted, _bytes(self.body), count=1).decode()
            return super().parse_body()

        def parse_error(self) -> Any:
            self.body = _EC2_NAMESPACE.sub(b"", _bytes(self.body), count=1).decode()
            return super().parse_error()

    class MotoEC2Connection(EC2Connection):
        responseCls = MotoEC2Response

    return type(f"Moto{base.__name__}", (base,), {"connectionCls": MotoEC2Connection, "emulator": "moto"})


def is_emulator(driver: Any, name: str) -> bool:
    return getattr(driver, "emulator", None) == name
