"""Server records -> Nova's JSON, per microversion (nova/api/openstack/compute/views/servers.py).

``detail`` is what GET /servers/{id} and /servers/detail show; ``basic`` is what PUT and rebuild
answer before 2.75 (the core attributes only). Tempest's response schemas reject extra and
missing fields, so every field is tied to the version that brought it.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Mapping

from overcast.api.compute.common import Links
from overcast.api.fragments import Fragments
from overcast.api.microversions import Version, reached
from overcast.core.compute import states
from overcast.core.compute.servers import Related, ServerRows, decoded, host_id
from overcast.core.context import AuthContext
from overcast.store.compute import Server

#: statuses for which Nova shows ``progress``
_PROGRESS = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}
#: the microversions that change what a server view shows
_THRESHOLDS = ("2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63", "2.71", "2.73", "2.75", "2.90", "2.96",
               "2.98", "2.100")


def iso(value: dt.datetime | None) -> str | None:
    """``2026-12-06T10:00:00Z`` (isoformat is C code; strftime was a tenth of a list's time)."""
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def usg(value: dt.datetime | None) -> str | None:
    """OS-SRV-USG timestamps: Nova shows them without a zone, with microseconds."""
    return value.isoformat(timespec="microseconds") if value is not None else None


def _reached(version: Version) -> frozenset[str]:
    return reached(version, _THRESHOLDS)


#: hostId per (project, host): a list repeats the same few pairs
_host_id = functools.lru_cache(maxsize=1024)(host_id)


def disk_config_shown(auto: bool | None) -> str:
    """``OS-DCF:diskConfig`` of a server: AUTO or MANUAL."""
    return "AUTO" if auto else "MANUAL"


def instance_name(server: Any) -> str:
    return f"instance-{server.seq:08x}"


@dataclass(frozen=True)
class Shape:
    """What a request's server views depend on besides the server, worked out once per request
    (a list renders every server with one): the microversion thresholds reached, whether the
    caller is an admin, the compute URL of the request's region."""

    reached: frozenset[str]
    admin: bool
    base: str
    #: host -> ``host_status`` (2.16, admins: :func:`overcast.core.compute.admin.host_statuses`)
    host_states: Mapping[str, str] | None = None

    @property
    def embedded_flavor(self) -> bool:
        """The flavor as it was at boot instead of its id and links (2.47)."""
        return "2.47" in self.reached


class ServerViews:
    def __init__(self, links: Links, fragments: Fragments | None = None):
        self.links = links
        #: rendered detail views of list rows (docs/decisions/0061-rendered-views-per-record.md)
        self.fragments = fragments if fragments is not None else Fragments()

    def shape(self, version: Version, ctx: AuthContext, host_states: Mapping[str, str] | None = None) -> Shape:
        return Shape(_reached(version), ctx.is_admin, self.links.base, host_states)

    def summary(self, server: Any, base: str | None = None) -> dict[str, Any]:
        return {"id": server.id, "name": server.name, "links": self.links.pair("servers", server.id, base)}

    @staticmethod
    def _image(server: Any, shape: "Shape") -> Any:
        if not server.image_id:  # booted from a volume
            return ""
        out = {"id": server.image_id, "links": [{"rel": "bookmark", "href": f"{shape.base}/images/{server.image_id}"}]}
        if "2.98" in shape.reached:  # the image's properties as they were at boot or the last rebuild
            out["properties"] = dict(server.image_properties or {})
        return out

    @staticmethod
    def _flavor(server: Any, shape: Shape) -> dict[str, Any]:
        if shape.embedded_flavor:
            flavor = server.flavor or {}
            out = {"vcpus": int(flavor.get("vcpus", 0)), "ram": int(flavor.get("ram", 0)),
                   "disk": int(flavor.get("disk", 0)), "ephemeral": int(flavor.get("ephemeral") or 0),
                   "swap": int(flavor.get("swap") or 0), "original_name": flavor.get("name", "")}
            out["extra_specs"] = dict(flavor.get("extra_specs") or {})
            return out
        return {"id": server.flavor_id,
                "links": [{"rel": "bookmark", "href": f"{shape.base}/flavors/{server.flavor_id}"}]}

    @staticmethod
    def _addresses(server: Any, extended: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for network, addrs in (server.addresses or {}).items():
            if extended:
                out[network] = [{"version": a["version"], "addr": a["addr"],
                                 "OS-EXT-IPS:type": a.get("OS-EXT-IPS:type", "fixed"),
                                 "OS-EXT-IPS-MAC:mac_addr": a.get("OS-EXT-IPS-MAC:mac_addr", "")} for a in addrs]
            else:
                out[network] = [{"version": a["version"], "addr": a["addr"]} for a in addrs]
        return out

    @staticmethod
    def _volumes(server: Any, reached: frozenset[str], related: Related | None) -> list[dict[str, Any]]:
        """os-extended-volumes: the server's volumes (2.3 adds delete_on_termination)."""
        if related is not None:
            pairs = related.volumes.get(server.id, ())
        else:
            pairs = [(m.volume_id, bool(m.delete_on_termination)) for m in server.volume_mappings if m.volume_id]
        if "2.3" in reached:
            return [{"id": volume_id, "delete_on_termination": delete} for volume_id, delete in pairs]
        return [{"id": volume_id} for volume_id, _ in pairs]

    def _core(self, server: Any, shape: Shape, *, extended_addresses: bool,
              related: Related | None = None) -> dict[str, Any]:
        reached = shape.reached
        status = states.status(server.vm_state, server.task_state)
        if related is not None:
            metadata = dict(related.metadata.get(server.id, ()))
        else:
            metadata = {m.key: m.value for m in server.metadata_items}
        out: dict[str, Any] = {
            "id": server.id, "name": server.name, "status": status, "tenant_id": server.project_id,
            "user_id": server.user_id, "metadata": metadata,
            "hostId": _host_id(server.project_id, server.host), "image": self._image(server, shape),
            "flavor": self._flavor(server, shape), "created": iso(server.created_at),
            "updated": iso(server.updated_at), "addresses": self._addresses(server, extended_addresses),
            "accessIPv4": server.access_ipv4 or "", "accessIPv6": server.access_ipv6 or "",
            "links": self.links.pair("servers", server.id, shape.base),
            "OS-DCF:diskConfig": disk_config_shown(server.auto_disk_config),
        }
        if status in _PROGRESS:
            out["progress"] = int(server.progress or 0)
        if status in ("ERROR", "DELETED") and server.fault:
            fault = server.fault
            out["fault"] = {k: fault[k] for k in ("code", "message", "created") if k in fault}
            if fault.get("details"):
                out["fault"]["details"] = fault["details"]
        if "2.9" in reached:
            out["locked"] = bool(server.locked)
        if "2.19" in reached:
            out["description"] = server.description
        if "2.26" in reached:
            out["tags"] = (list(related.tags.get(server.id, ())) if related is not None
                           else [t.tag for t in server.tags])
        if "2.63" in reached:
            out["trusted_image_certificates"] = None
        if "2.73" in reached:
            out["locked_reason"] = server.locked_reason
        return out

    def detail(self, server: Any, version: Version, ctx: AuthContext,
               host_states: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A server's show (its own collections are read)."""
        return self.detail_in(server, self.shape(version, ctx, host_states))

    def detail_list(self, rows: list[Any], shape: Shape, related: Related) -> list[bytes]:
        """``servers/detail``: each row of :func:`overcast.core.compute.servers.list_servers` with
        its related rows (:func:`~overcast.core.compute.servers.list_related`) rendered as JSON,
        one shape for all; kept per (shape, row, related rows): a row that changed in any column the
        view reads, or in its metadata, tags or volumes, is another key."""
        out = []
        # the shape as a key: the host states (a mapping) as sorted pairs: a host's state is in the view
        shaped = (shape.reached, shape.admin, shape.base, tuple(sorted((shape.host_states or {}).items())))
        known = rows.addresses if isinstance(rows, ServerRows) else {}  # decoded by a filter already
        for row in rows:
            key = (shaped, tuple(row), tuple(related.metadata[row.id].items()) if row.id in related.metadata else (),
                   tuple(related.tags.get(row.id, ())), tuple(related.volumes.get(row.id, ())))
            out.append(self.fragments.render(
                key, lambda row=row: self.detail_in(decoded(row, known[row.id]) if row.id in known else decoded(row),
                                                    shape, show_groups=False, related=related)))
        return out

    def detail_in(self, server: Any, shape: Shape, *, show_groups: bool = True,
                  related: Related | None = None) -> dict[str, Any]:
        """``related``: a list's related rows; without it the server's own collections are read."""
        reached = shape.reached
        out = self._core(server, shape, extended_addresses=True, related=related)
        out.update({
            "key_name": server.key_name,
            "OS-SRV-USG:launched_at": usg(server.launched_at),
            "OS-SRV-USG:terminated_at": usg(server.terminated_at),
            "OS-EXT-AZ:availability_zone": server.availability_zone or "",
            "OS-EXT-STS:task_state": server.task_state, "OS-EXT-STS:vm_state": server.vm_state,
            "OS-EXT-STS:power_state": int(server.power_state or 0),
            "os-extended-volumes:volumes_attached": self._volumes(server, reached, related),
            "config_drive": "True" if server.config_drive else "",
        })
        if server.security_groups:  # Nova leaves the key out when the server has none
            out["security_groups"] = [{"name": g.get("name")} for g in server.security_groups]
        if shape.admin:
            out["OS-EXT-SRV-ATTR:host"] = server.host
            out["OS-EXT-SRV-ATTR:instance_name"] = instance_name(server)
            out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server.host
            if "2.3" in reached:
                out.update({
                    "OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
                    "OS-EXT-SRV-ATTR:launch_index": int(server.launch_index or 0),
                    "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                    "OS-EXT-SRV-ATTR:hostname": server.hostname,
                    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                    "OS-EXT-SRV-ATTR:user_data": server.user_data,
                })
        elif "2.90" in reached:
            out["OS-EXT-SRV-ATTR:hostname"] = server.hostname
        if "2.16" in reached and shape.admin:
            out["host_status"] = (shape.host_states or {}).get(server.host, "UP") if server.host else ""
        if "2.96" in reached:  # the zone asked for at create ("az:host" names it first), else null
            out["pinned_availability_zone"] = (server.requested_zone or "").partition(":")[0] or None
        if "2.71" in reached and show_groups:
            out["server_groups"] = [server.server_group_id] if server.server_group_id else []
        if "2.100" in reached:  # the hints the create asked with ({} for none)
            out["scheduler_hints"] = dict(server.scheduler_hints or {})
        return out

    def basic(self, server: Server, version: Version, ctx: AuthContext,
              host_states: Mapping[str, str] | None = None) -> dict[str, Any]:
        """PUT and rebuild before 2.75: the core attributes (2.71 adds server_groups)."""
        shape = self.shape(version, ctx, host_states)
        if "2.75" in shape.reached:
            return self.detail_in(server, shape)
        out = self._core(server, shape, extended_addresses=False)
        if "2.71" in shape.reached:
            out["server_groups"] = [server.server_group_id] if server.server_group_id else []
        return out
