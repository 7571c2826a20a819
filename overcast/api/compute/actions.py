"""POST /servers/{id}/action: one body key names the action (Nova's server actions)."""

from __future__ import annotations

from typing import Any, Callable

import falcon

from overcast.api import faults
from overcast.api.compute import floating_ips as floating_ip_api
from overcast.api.compute import remote_consoles
from overcast.api.compute import server_schemas as schemas
from overcast.api.compute.common import at_least, caller, enforce, served, version
from overcast.api.compute.server_views import ServerViews
from overcast.api.compute.servers import (ServerResource, check_personality, disk_config, host_states, target,
                                          vt)
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core.compute import ComputeCore
from overcast.core.compute import actions as core_actions
from overcast.core.compute import floating_ips as core_floating_ips
from overcast.core.compute import networking
from overcast.core.compute import servers as core_servers
from overcast.core.volume import build_volume
from overcast.core.volume import reimage as volume_reimage
from overcast.ops.calls import call_backend
from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError

#: body key -> (policy, schema for simple begin() actions, core key)
SIMPLE: dict[str, tuple[str, str]] = {
    "os-start": ("os_compute_api:servers:start", "start"),
    "os-stop": ("os_compute_api:servers:stop", "stop"),
    "pause": ("os_compute_api:os-pause-server:pause", "pause"),
    "unpause": ("os_compute_api:os-pause-server:unpause", "unpause"),
    "suspend": ("os_compute_api:os-suspend-server:suspend", "suspend"),
    "resume": ("os_compute_api:os-suspend-server:resume", "resume"),
    "confirmResize": ("os_compute_api:servers:confirm_resize", "confirmResize"),
    "revertResize": ("os_compute_api:servers:revert_resize", "revertResize"),
    "unrescue": ("os_compute_api:os-unrescue", "unrescue"),
}

#: from this microversion a rebuild of a volume-backed server reimages its root volume
REIMAGE_VOLUME = "2.93"
#: from this microversion a volume-backed server may be rescued (Nova's stable device rescue)
STABLE_RESCUE = "2.87"


class ServerAction(ServerResource):
    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        body = read_json(req)
        if not isinstance(body, dict) or len(body) != 1:
            raise faults.BadRequest("There is no such action: the body must name exactly one action.")
        name = next(iter(body))
        handler: Callable[..., Any] | None = getattr(self, "_" + name.replace("-", "_"), None)
        if name in SIMPLE:
            handler = self._simple
        if handler is None:
            raise faults.BadRequest(f"There is no such action: {name}")
        ctx = caller(req)
        with self.core.store.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region, for_update=True)
            result = handler(req, resp, session, server, name, body)
        if callable(result):  # a backend read: made once the transaction is over, never inside it
            result = result()
        if result is not None:
            resp.media = result
        if resp.status in (falcon.HTTP_200, "200 OK", 200) and result is None:
            resp.status = falcon.HTTP_202

    # the consoles Nova serves as actions up to 2.5 (api/compute/remote_consoles.py)
    _os_getVNCConsole = _os_getSPICEConsole = _os_getRDPConsole = _os_getSerialConsole = (  # noqa: N815
        remote_consoles.legacy_action)

    def _kw(self, req: falcon.Request, server: Any) -> dict[str, Any]:
        return {"capabilities": self.capabilities(server), "request_id": req.context.request_id}

    def _shelve(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        validate(body, schemas.no_body(name)) if body[name] is not None else None
        enforce(req, "os_compute_api:os-shelve:shelve", target(server))
        core_actions.shelve(session, caller(req), server, **self._kw(req, server))

    def _unshelve(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        """Nova's unshelve: into a zone from 2.77, onto a host (admin) or unpinned (a null zone) from 2.91."""
        asked = validate(body, schemas.unshelve(vt(req)))[name] or {}
        if not at_least(req, "2.77"):  # before 2.77 Nova reads no body
            asked = {}
        enforce(req, "os_compute_api:os-shelve:unshelve", target(server))
        if asked.get("host"):
            enforce(req, "os_compute_api:os-shelve:unshelve_to_host", target(server))
        zone = asked["availability_zone"] if "availability_zone" in asked else core_actions.ZONE_KEPT
        core_actions.unshelve(session, caller(req), server, zone=zone, host=asked.get("host"),
                              **self._kw(req, server))

    def _simple(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        validate(body, schemas.no_body(name)) if body[name] is not None else None
        policy, key = SIMPLE[name]
        enforce(req, policy, target(server))
        core_actions.begin(session, caller(req), server, key, **self._kw(req, server))
        if name == "confirmResize":  # the one simple action Nova answers 204
            resp.status = falcon.HTTP_204

    def _reboot(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        body = validate(body, schemas.REBOOT)
        enforce(req, "os_compute_api:servers:reboot", target(server))
        core_actions.reboot(session, caller(req), server, body["reboot"]["type"].upper() == "HARD",
                            **self._kw(req, server))

    def _resize(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        body = validate(body, schemas.RESIZE)
        enforce(req, "os_compute_api:servers:resize", target(server))
        core_actions.resize(session, caller(req), server, str(body["resize"]["flavorRef"]),
                            driver=self.core.compute_driver(server.cloud), disk_config=disk_config(body["resize"]),
                            **self._kw(req, server))

    def _rebuild(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        body = validate(body, schemas.rebuild(vt(req)))
        enforce(req, "os_compute_api:servers:rebuild", target(server))
        ctx = caller(req)
        check_personality(session, ctx, server.project_id, body["rebuild"].get("personality"))
        reimage: bool | None = at_least(req, REIMAGE_VOLUME)
        if reimage and core_actions.volume_backed(session, server) and not volume_reimage.supported(
                build_volume(self.core), server.cloud):
            reimage = None  # the region's volume driver cannot reimage
        password = core_actions.rebuild(session, ctx, server, body["rebuild"],
                                        driver=self.core.compute_driver(server.cloud), reimage_volume=reimage,
                                        disk_config=disk_config(body["rebuild"]), **self._kw(req, server))
        session.flush()
        view = self.views.basic(server, version(req), ctx, host_states(session, req, ctx))
        if at_least(req, "2.54"):
            view["key_name"] = server.key_name
        if at_least(req, "2.57"):
            view["user_data"] = server.user_data
            view.pop("OS-EXT-SRV-ATTR:user_data", None)
        view["adminPass"] = password
        resp.status = falcon.HTTP_202
        return {"server": view}

    def _createImage(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        body = validate(body, schemas.CREATE_IMAGE)
        enforce(req, "os_compute_api:servers:create_image", target(server))
        spec = body["createImage"]
        image = core_actions.create_image(session, caller(req), server, spec["name"], spec.get("metadata") or {},
                                          **self._kw(req, server))
        return self._image_made(req, resp, image.id)

    def _createBackup(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        spec = validate(body, schemas.CREATE_BACKUP)["createBackup"]
        enforce(req, "os_compute_api:os-create-backup", target(server))
        image = core_actions.create_backup(session, caller(req), server, spec["name"], spec["backup_type"],
                                           int(spec["rotation"]), spec.get("metadata") or {}, **self._kw(req, server))
        return self._image_made(req, resp, image.id)

    def _image_made(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> dict[str, Any] | None:
        """Nova's answer to a snapshot or backup: the image id in the body from 2.45, a Location before."""
        resp.status = falcon.HTTP_202
        if at_least(req, "2.45"):
            return {"image_id": image_id}
        resp.set_header("Location", f"{self.core.settings.public_url}/image/v2/images/{image_id}")
        return None

    def _changePassword(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        body = validate(body, schemas.CHANGE_PASSWORD)
        enforce(req, "os_compute_api:os-admin-password", target(server))
        core_actions.begin(session, caller(req), server, "changePassword",
                           params={"admin_password": body["changePassword"]["adminPass"]}, **self._kw(req, server))

    def _rescue(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        body = validate(body, schemas.RESCUE)
        enforce(req, "os_compute_api:os-rescue", target(server))
        asked = body["rescue"] or {}
        password = asked.get("adminPass") or core_servers.generate_password()
        core_actions.rescue(session, caller(req), server, admin_password=password,
                            rescue_image=asked.get("rescue_image_ref"),
                            allow_volume_backed=at_least(req, STABLE_RESCUE), **self._kw(req, server))
        resp.status = falcon.HTTP_200
        return {"adminPass": password}

    def _os_getConsoleOutput(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        body = validate(body, schemas.CONSOLE_OUTPUT)
        enforce(req, "os_compute_api:os-console-output", target(server))
        raw = (body["os-getConsoleOutput"] or {}).get("length")
        length = None if raw is None or int(raw) == -1 else int(raw)
        if length is not None and length < -1:
            raise faults.BadRequest("Invalid input for field/attribute length.")
        core_actions.console_output(server, caller(req), self.capabilities(server))
        resp.status = falcon.HTTP_200
        driver, cloud = self.core.compute_driver(server.cloud), server.cloud
        backend_id, sid = server.backend_id, server.id
        call = CallContext(project_id=server.project_id, user_id=caller(req).user_id,
                           request_id=req.context.request_id)

        def read() -> dict[str, str]:
            try:
                text = call_backend(self.core.backends, cloud, "compute",
                                    lambda: driver.console_output(call, backend_id, length))
            except DriverError as exc:
                raise faults.Conflict(f"Unable to get console output for instance {sid}: {exc}") from None
            if length is not None:  # Nova's compute manager tails by "\n": a final newline ends in a "" line
                text = "\n".join(text.split("\n")[-length:]) if length > 0 else ""
            return {"output": text}
        return read

    def _lock(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        body = validate(body, schemas.lock(vt(req)))
        enforce(req, "os_compute_api:os-lock-server:lock", target(server))
        reason = (body["lock"] or {}).get("locked_reason") if at_least(req, "2.73") else None
        core_actions.lock(server, caller(req), reason)

    def _unlock(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        validate(body, schemas.no_body("unlock"))
        enforce(req, "os_compute_api:os-lock-server:unlock", target(server))
        core_actions.unlock(server, caller(req))

    def _addSecurityGroup(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        body = validate(body, schemas.SECURITY_GROUP[name])
        enforce(req, "os_compute_api:os-security-groups:add", target(server))
        core_servers.check_lock(server, caller(req))
        networking.add_security_group(self.core.network.at(req.context.region), session, caller(req), server, body[name]["name"])

    def _removeSecurityGroup(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        body = validate(body, schemas.SECURITY_GROUP[name])
        enforce(req, "os_compute_api:os-security-groups:remove", target(server))
        core_servers.check_lock(server, caller(req))
        networking.remove_security_group(self.core.network.at(req.context.region), session, caller(req), server, body[name]["name"])

    def _addFloatingIp(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        served(req, last="2.43")
        ref = validate(body, floating_ip_api.ADD_FLOATING_IP)[name]
        enforce(req, "os_compute_api:os-floating-ips:add", target(server))
        core_floating_ips.add_to_server(self.core.network.at(req.context.region), session, caller(req), server, ref["address"],
                                        ref.get("fixed_address"))

    def _removeFloatingIp(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        served(req, last="2.43")
        ref = validate(body, floating_ip_api.REMOVE_FLOATING_IP)[name]
        enforce(req, "os_compute_api:os-floating-ips:remove", target(server))
        core_floating_ips.remove_from_server(self.core.network.at(req.context.region), session, caller(req), server, ref["address"])

    def _injectNetworkInfo(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        validate(body, schemas.no_body(name))
        enforce(req, "os_compute_api:os-admin-actions:inject_network_info", target(server))
        core_actions.inject_network_info(session, caller(req), server)

    def _os_resetState(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        body = validate(body, schemas.RESET_STATE)
        enforce(req, "os_compute_api:os-admin-actions:reset_state", target(server))
        core_actions.reset_state(server, body["os-resetState"]["state"])

    def _migrate(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        spec = validate(body, schemas.migrate(vt(req)))[name] or {}
        enforce(req, "os_compute_api:os-migrate-server:migrate", target(server))
        core_actions.migrate(session, caller(req), server, spec.get("host"), **self._kw(req, server))

    def _evacuate(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        spec = validate(body, schemas.evacuate(vt(req)))[name]
        enforce(req, "os_compute_api:os-evacuate", target(server))
        core_actions.evacuate(session, server, spec.get("host"))

    def _restore(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202
        validate(body, schemas.no_body(name))
        enforce(req, "os_compute_api:os-deferred-delete:restore", target(server))
        core_actions.restore(server, caller(req))

    def _forceDelete(self, req, resp, session, server, name, body):  # noqa: ANN001, ANN202, N802
        enforce(req, "os_compute_api:os-deferred-delete:force", target(server))
        core_servers.delete(session, caller(req), server, request_id=req.context.request_id, force=True)


def bind(registry: Registry, core: ComputeCore, views: ServerViews) -> None:
    registry.bind("compute", "v2_server_action", ServerAction(core, views))
