"""Fetching image data from a URL (``web-download`` and import tasks) without opening a way into
the operator's network (docs/decisions/0030-web-download-filtering.md).

Glance's ``[import_filtering_opts]``, with its defaults: schemes http and https, ports 80 and 443,
host allow and deny lists (an allow list, when given, wins over the deny list at each level).
Overcast adds what Glance leaves to the deny lists: an address that is not globally routable
(loopback, private, link-local, shared, multicast, reserved, unspecified) is refused unless the
allow list names the host or a network holding the address. The check runs when the request
arrives (a fast 400) and again, authoritatively, when the worker connects: on every address the
name resolves to (the connection goes to the address that was checked, so a name cannot resolve
to another one in between), and on every redirect.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Iterator

from overcast.config import ImageSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: redirects followed at most (each one is filtered like the first URL)
MAX_REDIRECTS = 5
CHUNK = 1024 * 1024


class Refused(ValueError):
    """The URL (or where it leads) does not pass the filter."""


def _items(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class _Hosts:
    names: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, value: str) -> "_Hosts":
        names, networks = set(), []
        for item in _items(value):
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                names.add(item.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def __bool__(self) -> bool:
        return bool(self.names or self.networks)

    def has_name(self, host: str) -> bool:
        if host.rstrip(".") in self.names:
            return True
        address = _address(host)
        return address is not None and self.has_address(address)

    def has_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks if network.version == address.version)


def _address(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _routable(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


class ImportFilter:
    """The filter configured by ``[image] web_download_*`` (see :class:`overcast.config.ImageSettings`)."""

    def __init__(self, settings: ImageSettings):
        self.schemes = _items(settings.web_download_schemes)
        self.disallowed_schemes = _items(settings.web_download_disallowed_schemes)
        self.hosts = _Hosts.parse(settings.web_download_hosts)
        self.disallowed_hosts = _Hosts.parse(settings.web_download_disallowed_hosts)
        ports = _items(settings.web_download_ports)
        self.any_port = "*" in ports
        self.ports = {int(p) for p in ports if p.isdigit()}
        self.disallowed_ports = {int(p) for p in _items(settings.web_download_disallowed_ports) if p.isdigit()}

    # -- the URL --------------------------------------------------------------------------------

    def check(self, uri: str) -> urllib.parse.SplitResult:
        """The parsed ``uri`` if its scheme, host and port pass. :raises Refused:"""
        parsed = urllib.parse.urlsplit(uri)
        scheme = parsed.scheme.lower()
        if not scheme or (scheme not in self.schemes if self.schemes else scheme in self.disallowed_schemes):
            raise Refused(uri)
        if scheme not in ("http", "https"):
            raise Refused(uri)  # nothing else can be fetched, whatever the lists say
        host = (parsed.hostname or "").lower()
        if not host:
            raise Refused(uri)
        if self.hosts:
            if not self.hosts.has_name(host):
                raise Refused(uri)
        elif self.disallowed_hosts.has_name(host):
            raise Refused(uri)
        try:
            port = parsed.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise Refused(uri) from None
        if self.any_port:
            pass
        elif self.ports:
            if port not in self.ports:
                raise Refused(uri)
        elif port in self.disallowed_ports:
            raise Refused(uri)
        address = _address(host)
        if address is not None:
            self._check_address(host, address, uri)
        return parsed

    def _check_address(self, host: str, address: IPAddress, uri: str) -> None:
        if self.hosts.has_address(address) or self.hosts.has_name(host):
            return  # named by the operator: allowed, private or not
        if self.disallowed_hosts.has_address(address) or not _routable(address):
            raise Refused(uri)

    def resolve(self, uri: str, host: str, port: int) -> list[tuple[int, str]]:
        """Every address ``host`` resolves to, each passing the filter. :raises Refused: any one
        does not (a name that resolves to 127.0.0.1 is loopback). :raises OSError: no such name."""
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = []
        for family, _, _, _, sockaddr in found:
            address = _address(str(sockaddr[0]))
            if address is None:
                raise Refused(uri)
            self._check_address(host, address, uri)
            addresses.append((family, str(sockaddr[0])))
        if not addresses:
            raise Refused(uri)
        return addresses

    def check_resolved(self, uri: str) -> None:
        """:meth:`check`, then every address of the host (when it resolves). :raises Refused:"""
        parsed = self.check(uri)
        try:
            self.resolve(uri, parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80))
        except OSError:
            pass  # unknown now; the worker resolves again and fails the import if it still is

    # -- fetching -------------------------------------------------------------------------------

    def open(self, uri: str, timeout: float = 60.0) -> Iterator[bytes]:
        """The data at ``uri`` in chunks, following redirects, each hop filtered and connected to
        an address that passed. :raises Refused: :raises OSError: unreachable or an HTTP error."""
        answer, conn = self._answer("GET", uri, timeout)
        try:
            while chunk := answer.read(CHUNK):
                yield chunk
        finally:
            conn.close()

    def size(self, uri: str, timeout: float = 30.0) -> int | None:
        """The ``Content-Length`` a HEAD of ``uri`` answers (redirects followed and filtered as
        :meth:`open`'s), None when it gives none. :raises Refused: :raises OSError:"""
        answer, conn = self._answer("HEAD", uri, timeout)
        try:
            length = answer.getheader("Content-Length")
            return int(length) if length is not None and length.strip().isdigit() else None
        finally:
            conn.close()

    def _answer(self, method: str, uri: str, timeout: float
                ) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
        """The 200 answer to ``method uri`` and its open connection (the caller closes it)."""
        for _ in range(MAX_REDIRECTS + 1):
            parsed = self.check(uri)
            https = parsed.scheme.lower() == "https"
            port = parsed.port or (443 if https else 80)
            addresses = self.resolve(uri, parsed.hostname or "", port)
            conn = _connection(parsed.hostname or "", port, https, addresses, timeout)
            path = urllib.parse.urlunsplit(("", "", parsed.path or "/", parsed.query, ""))
            try:
                conn.request(method, path, headers={"User-Agent": "overcast-image-import"})
                answer = conn.getresponse()
                if answer.status in (301, 302, 303, 307, 308):
                    location = answer.getheader("Location")
                    answer.read()
                    if not location:
                        raise OSError(f"{answer.status} without a Location from {uri}")
                    uri = urllib.parse.urljoin(uri, location)
                    conn.close()
                    continue
                if answer.status != 200:
                    raise OSError(f"HTTP {answer.status} from {uri}")
                return answer, conn
            except BaseException:
                conn.close()
                raise
        raise OSError(f"more than {MAX_REDIRECTS} redirects from {uri}")


def _connection(host: str, port: int, https: bool, addresses: list[tuple[int, str]],
                timeout: float) -> http.client.HTTPConnection:
    """A connection to ``host`` that connects to the first of ``addresses`` that answers."""

    def connect(conn: http.client.HTTPConnection) -> socket.socket:
        last: OSError | None = None
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect((address, port))
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        raise last or OSError(f"cannot connect to {host}")

    if https:
        class _Https(http.client.HTTPSConnection):
            def connect(self) -> None:
                context = ssl.create_default_context()
                self.sock = context.wrap_socket(connect(self), server_hostname=host)

        return _Https(host, port, timeout=timeout)

    class _Http(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = connect(self)

    return _Http(host, port, timeout=timeout)
