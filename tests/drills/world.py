"""The drills' world: an in-process Overcast with the four personas of the role matrix and one of
every resource the write endpoints act on, owned by the personas' project.

Personas (issue 16 §6): ``reader`` and ``member`` of project P, ``admin`` of another project Q
(the cloud administrator under Keystone's defaults with ``enforce_scope`` off) and a system
``reader``. Resources are made through the API, as their owners would, so the drills reach the
same code a client does. The operations runtime runs while the world is built (servers ACTIVE,
volumes available) and is stopped before the drills, so nothing commits behind their back.

Every response and every log line of the world is recorded (:class:`Recorder`) for the secret scan.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import string
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import falcon.testing

from overcast.app import build_operations, create_app
from overcast.bootstrap import prepare
from overcast.config import load_settings
from overcast.core.compute import build_compute
from overcast.core.identity import build_identity
from overcast.core.image import ImageCore
from overcast.logs import FORMAT, MaskingFormatter, RequestIdFilter
from overcast.testing.cdn_servers import embedded_edge_settings


PERSONAS = ("reader", "member", "other_admin", "system_reader")
#: Fernet tokens (Keystone's and ours) are url-safe base64 of a version byte 0x80 and a timestamp
FERNET_TOKEN = r"gAAAAA[A-Za-z0-9_=-]{40,}"


class Recorder(logging.Handler):
    """Keeps every formatted log line and every response of the world, for the secret scan."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(MaskingFormatter(FORMAT))  # the server's own formatter
        self.addFilter(RequestIdFilter())
        self.lines: list[str] = []
        self.responses: list[tuple[str, str, int, dict[str, str], bytes]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is still a record
            self.lines.append(repr(record.__dict__))


@dataclasses.dataclass
class Persona:
    name: str
    user_id: str
    username: str
    password: str
    project: str | None  # project name to scope to; None: system scope


class World:
    """The in-process cloud and what the drills need of it."""

    def __init__(self, data_dir: Path, state: dict[str, Any] | None = None, database_url: str | None = None):
        """A cloud on ``data_dir`` (and ``database_url``: SQLite in the directory by default);
        ``state`` is what :meth:`state` returned for a world built there before (the directory,
        and the database, are copies of that world's)."""
        self.data_dir = data_dir
        self.database_url = database_url
        self.recorder = Recorder()
        root = logging.getLogger()
        self._old_level = root.level
        root.addHandler(self.recorder)
        root.setLevel(logging.DEBUG)
        self.settings = load_settings(data_dir=data_dir, identity={"bcrypt_rounds": 4}, cdn=embedded_edge_settings(),
                                      database={"url": database_url} if database_url else {})
        self.identity = build_identity(self.settings)
        self.compute = build_compute(self.settings, self.identity)
        self.images = ImageCore(settings=self.settings, store=self.identity.store)
        accounts = prepare(self.identity, self.compute, self.images)
        self.app = create_app(self.settings, self.identity, self.compute, self.images)
        self.client = falcon.testing.TestClient(self.app)
        self.passwords = {a.username: a.password for a in accounts}
        self.tokens_issued: list[str] = []
        #: secrets the cloud handed out (EC2 and application credential secrets, OAuth consumer
        #: and token secrets): their answer carries them, no log line may
        self.issued_secrets: set[str] = set()
        self.ids: dict[str, str] = {}
        self.personas: dict[str, Persona] = {}
        self._tokens: dict[str, str] = {}
        if state:
            self.ids = dict(state["ids"])
            self.personas = {k: Persona(**v) for k, v in state["personas"].items()}
            self.passwords.update(state["passwords"])
            self.issued_secrets.update(state["issued_secrets"])
        self.admin = self.issue("admin", "admin")

    def state(self) -> dict[str, Any]:
        """What a copy of this world's data directory needs to be this world again."""
        return {"ids": dict(self.ids), "passwords": dict(self.passwords), "issued_secrets": sorted(self.issued_secrets),
                "personas": {k: dataclasses.asdict(v) for k, v in self.personas.items()}}

    # --- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        logging.getLogger().removeHandler(self.recorder)
        logging.getLogger().setLevel(self._old_level)
        self.app.cdn.close()
        self.images.close()
        self.compute.close()
        self.identity.store.dispose()

    def request(self, method: str, path: str, token: str | None = None, *, json_body: Any = None,
                body: bytes | None = None, headers: dict[str, str] | None = None,
                content_type: str = "application/json") -> falcon.testing.Result:
        headers = dict(headers or {})
        if token:
            headers["X-Auth-Token"] = token
        if json_body is not None:
            body = json.dumps(json_body).encode()
        if body is not None:
            headers.setdefault("Content-Type", content_type)
        resp = self.client.simulate_request(method, path, headers=headers, body=body)
        self.recorder.responses.append((method, path, resp.status_code, dict(resp.headers), resp.content))
        self.issued_secrets.update(_secrets_in(resp))
        subject = resp.headers.get("X-Subject-Token")
        if subject and method == "POST":
            self.tokens_issued.append(subject)
        return resp

    def ok(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        """The JSON of a request that must succeed."""
        resp = self.request(method, path, token or self.admin, **kw)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text[:500]}"
        return resp.json if resp.content else {}

    def issue(self, username: str, project: str | None = None, *, system: bool = False,
              password: str | None = None) -> str:
        scope: Any = {"system": {"all": True}} if system else (
            {"project": {"name": project, "domain": {"id": "default"}}} if project else None)
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": {"id": "default"},
            "password": password or self.passwords[username]}}}}
        if scope:
            auth["scope"] = scope
        resp = self.request("POST", "/identity/v3/auth/tokens", json_body={"auth": auth})
        assert resp.status_code == 201, resp.text
        return resp.headers["X-Subject-Token"]

    def token(self, persona: str, renew: bool = False) -> str:
        """A token of ``persona`` (cached; ``renew`` after a change revoked it, e.g. a role removed)."""
        if renew or persona not in self._tokens:
            self._tokens[persona] = self.fresh(persona)
        return self._tokens[persona]

    def fresh(self, persona: str) -> str:
        p = self.personas[persona]
        return self.issue(p.username, p.project, system=p.project is None)

    def wait(self, what: str, probe: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not probe():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {timeout}s")
            time.sleep(0.05)

    # --- secrets the scan looks for --------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """Every secret that must never reach a log line or (but where issued) a response."""
        found = {f"password of {u}": p for u, p in self.passwords.items()}
        for name in ("fernet-keys", "credential-keys"):
            for key in sorted((self.data_dir / name).glob("*")):
                if key.is_file():
                    found[f"{name}/{key.name}"] = key.read_text().strip()
        return found

    # --- building -----------------------------------------------------------------------------

    def build(self) -> "World":
        runtime = build_operations(self.compute)
        runtime.start(reconcile=False)
        try:
            self._identity()
            self._network()
            self._compute()
            self._image()
            self._volume()
            self._placement()
        finally:
            runtime.stop()
        return self

    def _identity(self) -> None:
        ids = self.ids
        ids["project"] = self.ok("POST", "/identity/v3/projects", json_body={"project": {
            "name": "drill-p", "domain_id": "default"}})["project"]["id"]
        ids["other_project"] = self.ok("POST", "/identity/v3/projects", json_body={"project": {
            "name": "drill-q", "domain_id": "default"}})["project"]["id"]
        roles = {r["name"]: r["id"] for r in self.ok("GET", "/identity/v3/roles")["roles"]}
        for persona, role, where in (("reader", "reader", "project"), ("member", "member", "project"),
                                     ("other_admin", "admin", "other_project"),
                                     ("system_reader", "reader", None)):
            password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(20))
            username = f"drill-{persona.replace('_', '-')}"
            user = self.ok("POST", "/identity/v3/users", json_body={"user": {
                "name": username, "password": password, "domain_id": "default"}})["user"]
            self.passwords[username] = password
            if where is None:
                self.ok("PUT", f"/identity/v3/system/users/{user['id']}/roles/{roles[role]}")
                project = None
            else:
                self.ok("PUT", f"/identity/v3/projects/{ids[where]}/users/{user['id']}/roles/{roles[role]}")
                project = "drill-p" if where == "project" else "drill-q"
            self.personas[persona] = Persona(persona, user["id"], username, password, project)
        ids["user"] = self.personas["member"].user_id
        ids["victim_user"] = self.ok("POST", "/identity/v3/users", json_body={"user": {
            "name": "drill-victim", "domain_id": "default"}})["user"]["id"]
        ids["victim_region"] = self.ok("POST", "/identity/v3/regions", json_body={"region": {
            "id": "drill-victim-region"}})["region"]["id"]
        ids["victim_project"] = self.ok("POST", "/identity/v3/projects", json_body={"project": {
            "name": "drill-victim", "domain_id": "default"}})["project"]["id"]
        ids["role"] = self.ok("POST", "/identity/v3/roles", json_body={"role": {"name": "drill-role"}})["role"]["id"]
        ids["implied_role"] = roles["reader"]
        ids["domain"] = self.ok("POST", "/identity/v3/domains", json_body={"domain": {
            "name": "drill-domain", "enabled": False}})["domain"]["id"]
        ids["group"] = self.ok("POST", "/identity/v3/groups", json_body={"group": {
            "name": "drill-group", "domain_id": "default"}})["group"]["id"]
        ids["region"] = self.ok("POST", "/identity/v3/regions", json_body={"region": {
            "id": "drill-region"}})["region"]["id"]
        ids["service"] = self.ok("POST", "/identity/v3/services", json_body={"service": {
            "type": "drill", "name": "drill"}})["service"]["id"]
        ids["endpoint"] = self.ok("POST", "/identity/v3/endpoints", json_body={"endpoint": {
            "service_id": ids["service"], "interface": "public", "url": "http://drill.example/",
            "region_id": "drill-region"}})["endpoint"]["id"]
        ids["policy"] = self.ok("POST", "/identity/v3/policies", json_body={"policy": {
            "type": "application/json", "blob": "{}"}})["policy"]["id"]
        ids["endpoint_group"] = self.ok("POST", "/identity/v3/OS-EP-FILTER/endpoint_groups", json_body={
            "endpoint_group": {"name": "drill-eg", "filters": {"interface": "public"}}})["endpoint_group"]["id"]
        ids["consumer"] = self.ok("POST", "/identity/v3/OS-OAUTH1/consumers", json_body={
            "consumer": {"description": "drill"}})["consumer"]["id"]
        member = self.token("member")
        ids["credential"] = self.ok("POST", "/identity/v3/credentials", member, json_body={"credential": {
            "type": "drill", "blob": "drill-blob", "user_id": ids["user"]}})["credential"]["id"]
        ids["ec2_credential"] = self.ok("POST", f"/identity/v3/users/{ids['user']}/credentials/OS-EC2", member,
                                        json_body={"tenant_id": ids["project"]})["credential"]["access"]
        app_cred = self.ok("POST", f"/identity/v3/users/{ids['user']}/application_credentials", member,
                           json_body={"application_credential": {"name": "drill-ac", "access_rules": [
                               {"service": "compute", "method": "GET", "path": "/v2.1/servers"}]}})
        ids["application_credential"] = app_cred["application_credential"]["id"]
        ids["access_rule"] = app_cred["application_credential"]["access_rules"][0]["id"]
        ids["trust"] = self.ok("POST", "/identity/v3/OS-TRUST/trusts", member, json_body={"trust": {
            "trustor_user_id": ids["user"], "trustee_user_id": self.personas["reader"].user_id,
            "project_id": ids["project"], "impersonation": False, "roles": [{"name": "member"}]}})["trust"]["id"]
        self.ok("PUT", f"/identity/v3/projects/{ids['project']}/tags/drill-tag")
        self.ok("PUT", f"/identity/v3/domains/{ids['domain']}/config", json_body={"config": {
            "identity": {"driver": "ldap"}}})

    def _network(self) -> None:
        ids, member = self.ids, self.token("member")
        net = "/network/v2.0"
        ids["network"] = self.ok("POST", f"{net}/networks", member, json_body={"network": {
            "name": "drill-net"}})["network"]["id"]
        ids["subnet"] = self.ok("POST", f"{net}/subnets", member, json_body={"subnet": {
            "network_id": ids["network"], "cidr": "10.77.0.0/24", "ip_version": 4, "name": "drill-subnet"}}
                                )["subnet"]["id"]
        ids["port"] = self.ok("POST", f"{net}/ports", member, json_body={"port": {
            "network_id": ids["network"], "name": "drill-port"}})["port"]["id"]
        public = self.ok("GET", f"{net}/networks?name=public")["networks"][0]["id"]
        ids["router"] = self.ok("POST", f"{net}/routers", member, json_body={"router": {
            "name": "drill-router", "external_gateway_info": {"network_id": public}}})["router"]["id"]
        self.ok("PUT", f"{net}/routers/{ids['router']}/add_router_interface", member,
                json_body={"subnet_id": ids["subnet"]})
        ids["floating_ip"] = self.ok("POST", f"{net}/floatingips", member, json_body={"floatingip": {
            "floating_network_id": public}})["floatingip"]["id"]
        ids["public_network"] = public
        ids["security_group"] = self.ok("POST", f"{net}/security-groups", member, json_body={
            "security_group": {"name": "drill-sg"}})["security_group"]["id"]
        ids["security_group_rule"] = self.ok("POST", f"{net}/security-group-rules", member, json_body={
            "security_group_rule": {"security_group_id": ids["security_group"], "direction": "ingress",
                                    "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}}
                                             )["security_group_rule"]["id"]
        ids["subnetpool"] = self.ok("POST", f"{net}/subnetpools", member, json_body={"subnetpool": {
            "name": "drill-pool", "prefixes": ["10.76.0.0/16"]}})["subnetpool"]["id"]
        ids["address_scope"] = self.ok("POST", f"{net}/address-scopes", member, json_body={"address_scope": {
            "name": "drill-scope", "ip_version": 4}})["address_scope"]["id"]
        ids["rbac_policy"] = self.ok("POST", f"{net}/rbac-policies", member, json_body={"rbac_policy": {
            "object_type": "network", "object_id": ids["network"], "action": "access_as_shared",
            "target_tenant": ids["other_project"]}})["rbac_policy"]["id"]
        # a QoS policy of the member's project (only admins make them) with one rule of each type
        qos = f"{net}/qos/policies"
        ids["qos_policy"] = self.ok("POST", qos, json_body={"policy": {
            "name": "drill-qos", "project_id": ids["project"]}})["policy"]["id"]
        for collection, member_name, body in (("bandwidth_limit_rules", "bandwidth_limit_rule", {"max_kbps": 1000}),
                                              ("dscp_marking_rules", "dscp_marking_rule", {"dscp_mark": 26}),
                                              ("minimum_bandwidth_rules", "minimum_bandwidth_rule", {"min_kbps": 10})):
            ids[f"qos_{member_name}"] = self.ok("POST", f"{qos}/{ids['qos_policy']}/{collection}", json_body={
                member_name: body})[member_name]["id"]
        # a metering label of the member's project (only admins make and see them) with one rule
        ids["metering_label"] = self.ok("POST", f"{net}/metering/metering-labels", json_body={"metering_label": {
            "name": "drill-metering", "project_id": ids["project"]}})["metering_label"]["id"]
        ids["metering_label_rule"] = self.ok("POST", f"{net}/metering/metering-label-rules", json_body={
            "metering_label_rule": {"metering_label_id": ids["metering_label"],
                                    "remote_ip_prefix": "10.80.0.0/24"}})["metering_label_rule"]["id"]
        # a trunk of the member's (one subport; another port free to add), the agents (only admins see them)
        # and a network without a subnet that no DHCP agent serves yet
        parent, sub, spare = (self.ok("POST", f"{net}/ports", member, json_body={"port": {
            "network_id": ids["network"], "name": f"drill-{name}"}})["port"]["id"] for name in ("parent", "sub", "spare"))
        ids["trunk"] = self.ok("POST", f"{net}/trunks", member, json_body={"trunk": {
            "port_id": parent, "name": "drill-trunk", "sub_ports": [
                {"port_id": sub, "segmentation_type": "vlan", "segmentation_id": 10}]}})["trunk"]["id"]
        ids["trunk_subport"], ids["trunk_spare_port"] = sub, spare
        agents = self.ok("GET", f"{net}/agents")["agents"]
        ids["dhcp_agent"] = next(a["id"] for a in agents if a["agent_type"] == "DHCP agent")
        ids["l3_agent"] = next(a["id"] for a in agents if a["agent_type"] == "L3 agent")
        ids["dhcp_network"] = self.ok("POST", f"{net}/networks", member, json_body={"network": {
            "name": "drill-dhcp-net"}})["network"]["id"]
        for kind, key in (("networks", "network"), ("subnets", "subnet"), ("ports", "port"),
                          ("routers", "router"), ("floatingips", "floating_ip"),
                          ("security-groups", "security_group"), ("subnetpools", "subnetpool"), ("trunks", "trunk")):
            self.ok("PUT", f"{net}/{kind}/{ids[key]}/tags/drill-tag", member)

    def _compute(self) -> None:
        ids, member = self.ids, self.token("member")
        nova = "/compute/v2.1"
        v = {"OpenStack-API-Version": "compute 2.90"}
        ids["flavor"] = self.ok("POST", f"{nova}/flavors", json_body={"flavor": {
            "name": "drill-flavor", "id": "drill-flavor", "vcpus": 1, "ram": 128, "disk": 1}})["flavor"]["id"]
        self.ok("POST", f"{nova}/flavors/{ids['flavor']}/os-extra_specs", json_body={
            "extra_specs": {"hw:cpu_policy": "shared"}})
        images = self.ok("GET", "/image/v2/images?name=cirros")["images"]
        ids["cirros"] = images[0]["id"]
        ids["keypair"] = self.ok("POST", f"{nova}/os-keypairs", member, headers=v, json_body={"keypair": {
            "name": "drill-key"}})["keypair"]["name"]
        ids["server_group"] = self.ok("POST", f"{nova}/os-server-groups", member, headers=v, json_body={
            "server_group": {"name": "drill-sg", "policy": "affinity"}})["server_group"]["id"]
        ids["aggregate"] = str(self.ok("POST", f"{nova}/os-aggregates", json_body={"aggregate": {
            "name": "drill-agg"}})["aggregate"]["id"])
        server = self.ok("POST", f"{nova}/servers", member, headers=v, json_body={"server": {
            "name": "drill-vm", "flavorRef": ids["flavor"], "imageRef": ids["cirros"],
            "networks": [{"uuid": ids["network"]}], "metadata": {"drill": "yes"}, "tags": ["drill-tag"]}})
        ids["server"] = server["server"]["id"]
        self.wait("server ACTIVE", lambda: self.ok("GET", f"{nova}/servers/{ids['server']}", member)
                  ["server"]["status"] == "ACTIVE")
        ports = self.ok("GET", f"/network/v2.0/ports?device_id={ids['server']}", member)["ports"]
        ids["server_port"] = ports[0]["id"]
        services = self.ok("GET", f"{nova}/os-services", headers=v)["services"]
        ids["compute_service"] = str(services[0]["id"])
        ids["host"] = services[0]["host"]

    def _image(self) -> None:
        ids, member = self.ids, self.token("member")
        glance = "/image/v2"
        ids["image"] = self.ok("POST", f"{glance}/images", member, json_body={
            "name": "drill-image", "disk_format": "raw", "container_format": "bare",
            "tags": ["drill-tag"]})["id"]
        self.ok("PUT", f"{glance}/images/{ids['image']}/file", member, body=b"drill" * 100,
                content_type="application/octet-stream")
        ids["image_member"] = ids["other_project"]
        self.ok("POST", f"{glance}/images/{ids['image']}/members", member,
                json_body={"member": ids["other_project"]})
        ns = "drill-ns"
        ids["namespace"] = self.ok("POST", f"{glance}/metadefs/namespaces", json_body={
            "namespace": ns, "visibility": "public", "protected": False})["namespace"]
        self.ok("POST", f"{glance}/metadefs/namespaces/{ns}/objects", json_body={"name": "drill-obj",
                                                                                  "properties": {}})
        self.ok("POST", f"{glance}/metadefs/namespaces/{ns}/properties", json_body={
            "name": "drill-prop", "title": "drill", "type": "string"})
        self.ok("POST", f"{glance}/metadefs/namespaces/{ns}/tags/drill-tag")
        self.ok("POST", f"{glance}/metadefs/namespaces/{ns}/resource_types", json_body={
            "name": "OS::Glance::Image"})

    def _volume(self) -> None:
        ids, member = self.ids, self.token("member")
        cinder = f"/volume/v3/{ids['project']}"
        admin_cinder = cinder
        v = {"OpenStack-API-Version": "volume 3.70"}
        ids["volume_type"] = self.ok("POST", f"{admin_cinder}/types", headers=v, json_body={"volume_type": {
            "name": "drill-type", "extra_specs": {"drill_key": "x"}}})["volume_type"]["id"]
        ids["encryption"] = self.ok("POST", f"{admin_cinder}/types/{ids['volume_type']}/encryption", headers=v,
                                    json_body={"encryption": {"provider": "luks", "control_location": "front-end",
                                                              "cipher": "aes-xts-plain64", "key_size": 256}}
                                    )["encryption"].get("encryption_id", "")
        ids["qos"] = self.ok("POST", f"{admin_cinder}/qos-specs", headers=v, json_body={"qos_specs": {
            "name": "drill-qos", "read_iops_sec": "100"}})["qos_specs"]["id"]
        ids["group_type"] = self.ok("POST", f"{admin_cinder}/group_types", headers=v, json_body={"group_type": {
            "name": "drill-gt", "group_specs": {"drill_key": "x"}}})["group_type"]["id"]
        default_type = self.ok("GET", f"{admin_cinder}/types/default", headers=v)["volume_type"]["id"]

        def volume(name: str) -> str:
            vid = self.ok("POST", f"{cinder}/volumes", member, headers=v, json_body={"volume": {
                "name": name, "size": 1, "metadata": {"drill": "yes"}}})["volume"]["id"]
            self.wait(f"volume {name} available", lambda: self.ok(
                "GET", f"{cinder}/volumes/{vid}", member, headers=v)["volume"]["status"] == "available")
            return vid

        ids["volume"] = volume("drill-vol")
        ids["attached_volume"] = volume("drill-attached")
        ids["backup_volume"] = volume("drill-backed-up")
        ids["backup"] = self.ok("POST", f"{cinder}/backups", member, headers=v, json_body={"backup": {
            "volume_id": ids["backup_volume"], "name": "drill-backup"}})["backup"]["id"]
        self.wait("backup available", lambda: self.ok(
            "GET", f"{cinder}/backups/{ids['backup']}", member, headers=v)["backup"]["status"] == "available")
        ids["snapshot"] = self.ok("POST", f"{cinder}/snapshots", member, headers=v, json_body={"snapshot": {
            "volume_id": ids["volume"], "name": "drill-snap", "metadata": {"drill": "yes"}}})["snapshot"]["id"]
        self.wait("snapshot available", lambda: self.ok(
            "GET", f"{cinder}/snapshots/{ids['snapshot']}", member, headers=v)["snapshot"]["status"] == "available")
        ids["group"] = self.ok("POST", f"{cinder}/groups", member, headers=v, json_body={"group": {
            "name": "drill-group", "group_type": ids["group_type"], "volume_types": [default_type]}})["group"]["id"]
        self.wait("group available", lambda: self.ok(
            "GET", f"{cinder}/groups/{ids['group']}", member, headers=v)["group"]["status"] == "available")
        ids["transfer"] = self.ok("POST", f"{cinder}/volume-transfers", member, headers=v, json_body={
            "transfer": {"volume_id": ids["attached_volume"], "name": "drill-transfer"}})["transfer"]["id"]
        ids["attachment"] = self.ok("POST", f"{cinder}/attachments", member, headers=v, json_body={"attachment": {
            "volume_uuid": ids["volume"], "instance_uuid": ids["server"]}})["attachment"]["id"]

    def _placement(self) -> None:
        """A provider of the drills' own (not a compute host's) with an inventory, a custom
        resource class and trait (both ``CUSTOM_DRILL``) and a consumer's allocation on it."""
        ids, v = self.ids, {"OpenStack-API-Version": "placement 1.39"}
        rp = self.ok("POST", "/placement/resource_providers", headers=v, json_body={"name": "drill-rp"})["uuid"]
        ids["resource_provider"] = rp
        self.ok("PUT", "/placement/resource_classes/CUSTOM_DRILL", headers=v)
        self.ok("PUT", "/placement/traits/CUSTOM_DRILL", headers=v)
        self.ok("PUT", f"/placement/resource_providers/{rp}/inventories", headers=v, json_body={
            "resource_provider_generation": 0, "inventories": {"DISK_GB": {"total": 100},
                                                               "CUSTOM_DRILL": {"total": 10}}})
        ids["placement_consumer"] = str(uuid.uuid4())
        self.ok("PUT", f"/placement/allocations/{ids['placement_consumer']}", headers=v, json_body={
            "allocations": {rp: {"resources": {"DISK_GB": 1}}}, "project_id": ids["project"],
            "user_id": ids["user"], "consumer_generation": None, "consumer_type": "DRILL"})


def _secrets_in(resp: falcon.testing.Result) -> set[str]:
    """The values of ``secret`` fields in a JSON answer, and of ``oauth_token_secret`` in a
    form-encoded one."""
    found: set[str] = set()
    if resp.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qs
        found.update(parse_qs(resp.text).get("oauth_token_secret", []))
        return found
    try:
        stack = [resp.json] if resp.content else []
    except ValueError:
        return found
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found.update(v for k, v in value.items() if k == "secret" and isinstance(v, str) and v)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def deep(levels: int, leaf: Any = "x") -> Any:
    """``levels`` objects nested in one another (iteratively: deeper than the recursion limit works)."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value
