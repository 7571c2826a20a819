"""An upstream ``overcast serve`` (local driver) and a front ``overcast serve`` whose region
``lab`` is that upstream through the ``openstack`` driver: the passthrough's test rig, shared by
``tests/live/test_passthrough.py``, the conformance runs and ``benchmarks/passthrough.py``.

The upstream gets a service account (user ``overcast-svc``, member of project ``overcast``), made
through the upstream's own Keystone with openstacksdk as its admin. The front's config names it
with the keys of issue 10, the password by reference (``env:LAB_PASSWORD``)::

    with Passthrough(tmp_path) as rig:
        rig.front           # LiveServer: RegionOne (local) + lab (openstack -> upstream)
        rig.upstream        # LiveServer: the upstream cloud
        rig.service_options # the openstack driver's options (for the conformance kits)
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Mapping

from overcast.testing.live import LiveServer, sdk_connect

SERVICE_USER = "overcast-svc"
SERVICE_PROJECT = "overcast"


def front_config(auth_url: str, region: str = "lab", upstream_region: str = "RegionOne",
                 extra: str = "") -> str:
    """The front's overcast.toml: the local root region and ``region`` passed through upstream."""
    return (f'[clouds.RegionOne]\ndriver = "local"\n\n'
            f'[clouds.{region}]\ndriver = "openstack"\nauth_url = "{auth_url}"\nusername = "{SERVICE_USER}"\n'
            f'password = "env:LAB_PASSWORD"\nproject_name = "{SERVICE_PROJECT}"\n'
            f'user_domain_name = "Default"\nproject_domain_name = "Default"\nregion_name = "{upstream_region}"\n'
            f'timeout = 10\n{extra}')


def make_service_account(upstream: LiveServer, password: str) -> dict[str, str]:
    """The upstream project and member user the front uses; returns their ids."""
    conn = sdk_connect(upstream.clouds_yaml, "overcast-admin")
    try:
        identity = conn.identity
        project = identity.find_project(SERVICE_PROJECT, domain_id="default") or identity.create_project(
            name=SERVICE_PROJECT, domain_id="default")
        user = identity.find_user(SERVICE_USER, domain_id="default") or identity.create_user(
            name=SERVICE_USER, password=password, domain_id="default", default_project_id=project.id)
        role = identity.find_role("member")
        identity.assign_project_role_to_user(project, user, role)
        # the one upstream project holds every Overcast project's resources (decision 0041)
        conn.set_compute_quotas(project.id, instances=1000, cores=4000, ram=4096000, key_pairs=1000)
        conn.set_volume_quotas(project.id, volumes=1000, gigabytes=10000, snapshots=1000)
        conn.set_network_quotas(project.id, network=1000, subnet=1000, port=5000, router=100, floatingip=500,
                                security_group=1000, security_group_rule=10000)
        return {"project_id": project.id, "user_id": user.id}
    finally:
        conn.close()


class Passthrough:
    """Start the upstream, make the service account, start the front; stop both at exit."""

    def __init__(self, root: Path, *, front_extra: str = "", upstream_env: Mapping[str, str] | None = None,
                 front_env: Mapping[str, str] | None = None, start_front: bool = True) -> None:
        self.root = Path(root)
        self.password = "Svc-" + secrets.token_urlsafe(18)
        self.upstream = LiveServer(self.root / "upstream", env=dict(upstream_env or {}))
        self.front_extra = front_extra
        self.front_env = dict(front_env or {})
        self.start_front = start_front
        self.front: LiveServer | None = None
        self.account: dict[str, str] = {}

    @property
    def service_options(self) -> dict[str, Any]:
        return {"auth_url": self.upstream.auth_url + "/v3", "username": SERVICE_USER, "password": self.password,
                "project_name": SERVICE_PROJECT, "user_domain_name": "Default", "project_domain_name": "Default",
                "region_name": "RegionOne", "timeout": 10}

    def upstream_conn(self, cloud: str = "overcast-admin") -> Any:
        return sdk_connect(self.upstream.clouds_yaml, cloud)

    def service_conn(self) -> Any:
        """openstacksdk straight to the upstream, as the service account."""
        import openstack.config
        import openstack.connection

        config = openstack.config.OpenStackConfig(load_yaml_config=False, load_envvars=False)
        region = config.get_one(auth=self.service_options_auth(), auth_type="password", region_name="RegionOne",
                                identity_api_version="3")
        return openstack.connection.Connection(config=region)

    def active_image(self) -> Any:
        """The first active image the upstream offers the service account (openstacksdk's Image)."""
        conn = self.service_conn()
        try:
            return next(i for i in conn.image.images() if i.status == "active")
        finally:
            conn.close()

    def service_options_auth(self) -> dict[str, str]:
        o = self.service_options
        return {k: o[k] for k in ("auth_url", "username", "password", "project_name", "user_domain_name",
                                  "project_domain_name")}

    def start(self) -> "Passthrough":
        self.upstream.start()
        try:
            self.account = make_service_account(self.upstream, self.password)
            if self.start_front:
                self.start_front_server()
        except BaseException:
            self.stop()
            raise
        return self

    def start_front_server(self) -> LiveServer:
        config = self.root / "front.toml"
        config.write_text(front_config(self.upstream.auth_url + "/v3", extra=self.front_extra))
        self.front = LiveServer(self.root / "front", config=config,
                                env={"LAB_PASSWORD": self.password, **self.front_env})
        self.front.start()
        return self.front

    def stop(self) -> None:
        if self.front is not None:
            self.front.stop()
        self.upstream.stop()

    def __enter__(self) -> "Passthrough":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
