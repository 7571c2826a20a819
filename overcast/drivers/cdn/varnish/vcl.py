"""Render one VCL from every service the Varnish edge serves.

Each request is routed by its Host header (port stripped, lower-cased) to its service's
subroutine, which enforces the service's restrictions (blacklist: a matching request is refused;
whitelist: a request on the rule's path that matches none is refused), picks the origin by path
(most specific path first; the first origin serves ``/*``) with the Host header the origin asked
for, and sets the TTL of the caching rule that matches. Objects carry their service id and URL in
headers, so purges are lurker-friendly bans on ``obj.http.*``; the headers are removed on delivery.
Responses say ``X-Cache: HIT`` or ``MISS``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable

from overcast.drivers.cdn.base import Origin, PathRule, ServiceSpec
from overcast.drivers.errors import InvalidRequest

#: what a path rule may hold here (it is put in a VCL regular expression)
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9/._~!$&'()*+,;=:@%-]*$")
_HOST_HEADER = "X-Overcast-Host"


def ident(service_id: str) -> str:
    return "s_" + service_id.replace("-", "")


def path_regex(url: str) -> str:
    """``/images/*`` -> ``^/images/``; ``/index.html`` -> ``^/index\\.html([?#].*)?$``; ``/*`` -> ``^/``."""
    if not _SAFE_PATH.match(url):
        raise InvalidRequest(f"Varnish cannot match the path {url!r}")
    if url.endswith("*"):
        body = url[:-1]
        return "^" + re.escape(body).replace(r"\*", ".*")
    return "^" + re.escape(url).replace(r"\*", ".*") + "([?#].*)?$"


def _specificity(url: str) -> tuple[int, int]:
    literal = url.split("*", 1)[0]
    return (0 if url.endswith("*") else 1, len(literal))


def _string(value: str) -> str:
    if "\"}" in value or "\n" in value:
        raise InvalidRequest(f"Varnish cannot hold the value {value!r}")
    return '{"' + value + '"}'


def _referrer_match(host: str) -> str:
    pattern = r"^[A-Za-z][A-Za-z0-9+.-]*://([^/:@]+\.)?" + re.escape(host) + r"(:[0-9]+)?(/|$)"
    return "req.http.referer ~ " + _string(pattern)


class Renderer:
    def __init__(self, geo_header: str | None = None):
        self.geo_header = geo_header

    def render(self, services: Iterable[ServiceSpec]) -> str:
        services = sorted(services, key=lambda s: s.service_id)
        out = ["vcl 4.1;", "import std;", "", "backend default none;", ""]
        for spec in services:
            out += self._declarations(spec)
        out += ["sub vcl_recv {",
                f'    set req.http.{_HOST_HEADER} = std.tolower(regsub(req.http.host, ":[0-9]+$", ""));',
                "    unset req.http.X-Overcast-Service;",
                "    unset req.http.X-Overcast-TTL;",
                "    unset req.http.X-Overcast-Origin-Host;"]
        keyword = "if"
        for spec in services:
            cond = " || ".join(f"req.http.{_HOST_HEADER} == {_string(h)}" for h in spec.hosts)
            out += [f"    {keyword} ({cond}) {{", f"        call {ident(spec.service_id)};", "    }"]
            keyword = "elsif"
        if services:
            out += ["    else {", '        return (synth(404, "No CDN service for this host"));', "    }"]
        else:
            out += ['    return (synth(404, "No CDN service for this host"));']
        out += ["}", ""]
        out += ["sub vcl_hash {", f"    hash_data(req.http.{_HOST_HEADER});", "    hash_data(req.url);",
                "    return (lookup);", "}", "",
                "sub vcl_backend_fetch {",
                "    if (bereq.http.X-Overcast-Origin-Host) {",
                "        set bereq.http.host = bereq.http.X-Overcast-Origin-Host;",
                "    }",
                "}", "",
                "sub vcl_backend_response {",
                "    set beresp.http.X-Overcast-Service = bereq.http.X-Overcast-Service;",
                "    set beresp.http.X-Overcast-Url = bereq.url;",
                "    if (bereq.http.X-Overcast-TTL) {",
                '        set beresp.ttl = std.duration(bereq.http.X-Overcast-TTL + "s", 0s);',
                "        set beresp.grace = 10s;",
                "    }",
                "}", "",
                "sub vcl_deliver {",
                "    unset resp.http.X-Overcast-Service;",
                "    unset resp.http.X-Overcast-Url;",
                "    if (obj.hits > 0) {",
                '        set resp.http.X-Cache = "HIT";',
                "    } else {",
                '        set resp.http.X-Cache = "MISS";',
                "    }",
                "}", ""]
        for spec in services:
            out += self._service(spec)
        return "\n".join(out) + "\n"

    # -- one service ------------------------------------------------------------------------------
    def _declarations(self, spec: ServiceSpec) -> list[str]:
        name = ident(spec.service_id)
        out: list[str] = []
        if not spec.enabled:  # its subroutine refuses every request: nothing to declare (VCC refuses unused ones)
            return out
        for i, origin in enumerate(spec.origins):
            if origin.ssl:
                raise InvalidRequest(f"origins[{i}]: Varnish cannot fetch from an https origin ({origin.origin})")
            out += [f"backend {name}_o{i} {{", f"    .host = {_string(origin.origin)};",
                    f'    .port = "{int(origin.port)}";', "    .connect_timeout = 5s;",
                    "    .first_byte_timeout = 30s;", "}"]
        for r, restriction in enumerate(spec.restrictions):
            for j, rule in enumerate(restriction.rules):
                if rule.kind == "client_ip":
                    network = ipaddress.ip_network(rule.value, strict=False)
                    out += [f"acl {name}_r{r}_{j} {{", f'    "{network.network_address}"/{network.prefixlen};', "}"]
        return out + [""]

    def _entity(self, name: str, r: int, j: int, kind: str, value: str) -> str:
        if kind == "referrer":
            return _referrer_match(value)
        if kind == "client_ip":
            return f"client.ip ~ {name}_r{r}_{j}"
        if self.geo_header is None:
            raise InvalidRequest("Geographic restrictions need a GeoIP source (the varnish provider's "
                                 "geo_header option)")
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise InvalidRequest(f"The varnish provider matches geography by ISO 3166 country code, not {value!r}")
        return f"req.http.{self.geo_header} == {_string(value)}"

    def _restrictions(self, spec: ServiceSpec) -> list[str]:
        name = ident(spec.service_id)
        out: list[str] = []
        for r, restriction in enumerate(spec.restrictions):
            message = _string(f"Forbidden by restriction {restriction.name}"[:200])
            if restriction.access == "blacklist":
                for j, rule in enumerate(restriction.rules):
                    cond = f"req.url ~ {_string(path_regex(rule.request_url))} && " \
                           f"{self._entity(name, r, j, rule.kind, rule.value)}"
                    out += [f"    if ({cond}) {{", f"        return (synth(403, {message}));", "    }"]
                continue
            groups: dict[tuple[str, str], list[str]] = {}
            for j, rule in enumerate(restriction.rules):
                groups.setdefault((rule.kind, rule.request_url), []).append(
                    self._entity(name, r, j, rule.kind, rule.value))
            for (kind, url), matches in groups.items():
                guard = f"req.url ~ {_string(path_regex(url))}"
                if kind == "referrer":  # requests without a referrer pass, as at Poppy's providers
                    guard += " && req.http.referer"
                out += [f"    if ({guard} && !({' || '.join(matches)})) {{",
                        f"        return (synth(403, {message}));", "    }"]
        return out

    @staticmethod
    def _host_header(origin: Origin) -> str | None:
        if origin.host_header_type == "origin":
            return origin.origin if origin.port in (80, 443) else f"{origin.origin}:{origin.port}"
        if origin.host_header_type == "custom" and origin.host_header_value:
            return origin.host_header_value
        return None

    def _service(self, spec: ServiceSpec) -> list[str]:
        name = ident(spec.service_id)
        out = [f"sub {name} {{", f"    set req.http.X-Overcast-Service = {_string(spec.service_id)};"]
        if not spec.enabled:
            out += ['    return (synth(403, "This CDN service is disabled"));', "}", ""]
            return out
        out += self._restrictions(spec)
        routes: list[tuple[str, int, Origin]] = []
        for i, origin in enumerate(spec.origins):
            for rule in origin.rules or (PathRule("default", "/*"),):
                routes.append((rule.request_url, i, origin))
        routes.sort(key=lambda item: _specificity(item[0]), reverse=True)
        keyword = "if"
        for url, i, origin in routes:
            header = self._host_header(origin)
            body = [f"        set req.backend_hint = {name}_o{i};"]
            if header:
                body.append(f"        set req.http.X-Overcast-Origin-Host = {_string(header)};")
            out += [f"    {keyword} (req.url ~ {_string(path_regex(url))}) {{", *body, "    }"]
            keyword = "elsif"
        ttls = [(rule.request_url, caching.ttl) for caching in spec.caching for rule in caching.rules]
        ttls.sort(key=lambda item: _specificity(item[0]), reverse=True)
        keyword = "if"
        for url, ttl in ttls:
            out += [f"    {keyword} (req.url ~ {_string(path_regex(url))}) {{",
                    f'        set req.http.X-Overcast-TTL = "{int(ttl)}";', "    }"]
            keyword = "elsif"
        out += ["}", ""]
        return out


def ban_words(service_id: str, url: str | None) -> list[str]:
    """The ``ban`` command's arguments that purge ``url`` (a path, ``/dir/*``, or None: everything)
    of one service."""
    words = ["obj.http.X-Overcast-Service", "==", service_id]
    if url is not None:
        words += ["&&", "obj.http.X-Overcast-Url", "~", path_regex(url)]
    return words
