#!/usr/bin/env python3
"""Run Tempest's API tests for one service against a live Overcast.

``--service identity`` (the default) runs ``tempest.api.identity``; ``--service compute`` runs
``tempest.api.compute`` with Nova, Glance, Neutron and Cinder marked available. Each service has its own
allowlist beside this file: ``<service>-allowlist.txt``.

Two modes:

* allowlist (default): run exactly the tests named in the service's allowlist and fail
  unless every one of them passed. This is what ``make test`` runs (through
  ``test_tempest.py``, once per service that has an allowlist).
* ``--all``: run every test of the service's module and report how many pass; with
  ``--update-allowlist`` the allowlist is rewritten to the tests that passed.

Without ``--auth-url``/``--clouds-yaml`` the script starts its own ``overcast serve`` (SQLite,
temporary data directory). Examples::

    python tests/tempest/run.py                      # allowlisted identity tests, own server
    python tests/tempest/run.py --all --report       # the whole identity module, counts
    python tests/tempest/run.py --all --update-allowlist
    python tests/tempest/run.py --service compute --all --report
    python tests/tempest/run.py --clouds-yaml .overcast/clouds.yaml --all --report
    python tests/tempest/run.py --service compute --region second   # against a second region

``--region NAME`` points every service of tempest.conf at region NAME; the server this script
starts then has two regions of the local driver, ``RegionOne`` and NAME (:func:`regions_config`),
so Tempest runs against a region served under ``/regions/NAME`` (a given server must have it).

For compute, ``image_ref`` is the id of the seeded ``cirros`` image (looked up with the admin token
at ``<image endpoint>/v2/images?name=cirros``), ``image_ref_alt`` that of ``cirros-alt``, a copy this
script uploads unless it exists (:func:`ensure_alt_image`), and ``flavor_ref``/
``flavor_ref_alt`` are the seeded ``m1.tiny``/``m1.small`` ("1"/"2"). For image, the server this
script starts may web-download from a loopback server it also starts (:class:`ImageSource`), and
``http_qcow2_image`` points there.

The workspace (``tempest.conf``, ``.stestr.conf``, the stestr repository, logs) is written
to ``--workspace`` (default: a fresh temporary directory) and never to ``~/.tempest``:
Tempest reads its config from ``TEMPEST_CONFIG_DIR``, and stestr runs in the workspace.
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from overcast.api.compute.common import MICROVERSIONS as COMPUTE_MICROVERSIONS

HERE = Path(__file__).resolve().parent
SERVICES = ("identity", "compute", "image", "network", "volume")
DEFAULT_SERVICE = "identity"


def allowlist_path(service: str = DEFAULT_SERVICE) -> Path:
    return HERE / f"{service}-allowlist.txt"


def module_name(service: str = DEFAULT_SERVICE) -> str:
    return f"tempest.api.{service}"


def module_regex(service: str = DEFAULT_SERVICE) -> str:
    return rf"^tempest\.api\.{service}\."


# The identity names, kept for callers of the identity-only runner.
ALLOWLIST = allowlist_path("identity")
MODULE = module_name("identity")
MODULE_REGEX = module_regex("identity")

#: Features an Overcast identity service offers, as Tempest names them. Override any of these
#: (or anything else in tempest.conf) with ``--set section.option=value``.
IDENTITY_FEATURES = {
    "api_v2": "False",  # Tempest's v2 tests were removed; Overcast's v2.0 is tested by our own live tests
    "api_v2_admin": "False",
    "api_v3": "True",
    "application_credentials": "True",
    "access_rules": "True",
    "project_tags": "True",
    "security_compliance": "True",
    "trust": "True",
    "federation": "False",
    "external_idp": "False",
    "domain_specific_drivers": "False",
}

#: Keystone's [security_compliance] options: the server this script starts gets them (as
#: ``OVERCAST_IDENTITY_*``) and tempest.conf's [identity] gets the same values, so Tempest's
#: lockout and password-history tests check what the server enforces. A server given with
#: ``--clouds-yaml``/``--auth-url`` must be configured alike (or override these with ``--set``).
SECURITY_COMPLIANCE = {
    # overcast setting: (tempest [identity] option, value)
    "lockout_failure_attempts": ("user_lockout_failure_attempts", "2"),
    "lockout_duration": ("user_lockout_duration", "5"),
    "unique_last_password_count": ("user_unique_last_password_count", "2"),
    "minimum_password_age": ("user_minimum_password_age", "0"),
}


def server_environment(image_source: ImageSource | None = None) -> dict[str, str]:
    """The ``OVERCAST_*`` settings of the server this script starts; with ``image_source``, web-download
    may also fetch from that loopback server (Glance's allowed_ports are 80 and 443 by default, and
    loopback addresses are refused unless allowed by name)."""
    env = {f"OVERCAST_IDENTITY_{name.upper()}": value for name, (_, value) in SECURITY_COMPLIANCE.items()}
    # Glance's show_multiple_locations, as the image run's manage_locations says (0074); on for every
    # service's server alike (test_tempest.py gives every one an image source)
    env["OVERCAST_IMAGE_SHOW_MULTIPLE_LOCATIONS"] = "true"
    if image_source is not None:  # a loopback address: allowed by name, as an operator would
        env["OVERCAST_IMAGE_WEB_DOWNLOAD_PORTS"] = f"80,443,{image_source.port}"
        env["OVERCAST_IMAGE_WEB_DOWNLOAD_HOSTS"] = "127.0.0.1"
    return env


class ImageSource:
    """A loopback :class:`~overcast.testing.web.FileServer` (serving from construction until :meth:`stop`)
    with one small QCOW2 disk at :attr:`PATH`, for Tempest's web-download import test.

    Tempest fetches ``[image] http_qcow2_image`` (by default cirros from download.cirros-cloud.net)
    through the server's web-download; pointing it here keeps the run off the internet while the
    server still downloads over HTTP as it would from anywhere.
    """

    PATH = "/cirros.qcow2"

    def __init__(self, data: bytes):
        from overcast.testing.web import FileServer

        self._server = FileServer({self.PATH: data})
        self.port = self._server.port
        self.url = self._server.url + self.PATH

    def overrides(self) -> list[str]:
        """``--set`` options for tempest.conf."""
        return [f"image.http_qcow2_image={self.url}", f"image.http_image={self.url}"]

    def stop(self) -> None:
        self._server.stop()


#: Every other service Tempest knows about is absent.
OTHER_SERVICES = ("nova", "glance", "cinder", "neutron", "swift", "heat", "horizon", "ironic", "designate",
                  "octavia", "manila", "barbican", "sahara", "trove", "zaqar", "aodh", "gnocchi", "panko",
                  "placement", "mistral", "murano", "senlin", "watcher", "zun", "magnum", "ceilometer",
                  "cyborg", "masakari", "blazar")


# -- tempest.conf -------------------------------------------------------------------------------

@dataclasses.dataclass
class Target:
    """Where Tempest should point and with which admin account."""

    auth_url: str  # Keystone root, e.g. http://127.0.0.1:8780/identity
    admin_username: str
    admin_password: str
    admin_project_name: str = "admin"
    admin_domain_name: str = "Default"
    region: str = "RegionOne"

    @classmethod
    def from_clouds_yaml(cls, path: str | os.PathLike[str], cloud: str = "overcast-admin",
                         region: str | None = None) -> "Target":
        """The cloud's admin account; ``region`` (one of the cloud's ``regions``) instead of its default."""
        import yaml

        entry = yaml.safe_load(Path(path).read_text())["clouds"][cloud]
        auth = entry["auth"]
        return cls(auth_url=auth["auth_url"].rstrip("/"), admin_username=auth["username"],
                   admin_password=auth["password"], admin_project_name=auth.get("project_name", "admin"),
                   admin_domain_name=_domain_name(auth), region=region or entry.get("region_name", "RegionOne"))


FIRST_REGION = "RegionOne"


def regions_config(path: Path, region: str) -> Path:
    """An ``overcast.toml`` with two regions of the local driver, ``RegionOne`` and ``region``
    (just ``RegionOne`` when that is the one asked for); returns ``path``. Server actions finish
    at once (``action_delay = 0``): Tempest waits for ACTIVE, and keeps its speed."""
    names = dict.fromkeys((FIRST_REGION, region))
    path.write_text("".join(f'[clouds.{name}]\ndriver = "local"\naction_delay = 0\n\n' for name in names))
    return path


def _domain_name(auth: Mapping[str, Any]) -> str:
    """Tempest wants the admin's domain by *name*; learn it from a token (fallback 'Default')."""
    try:
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3

        keys = ("auth_url", "username", "password", "user_domain_id", "user_domain_name", "project_name",
                "project_domain_id", "project_domain_name")
        plugin = v3.Password(**{k: v for k, v in auth.items() if k in keys})
        name = plugin.get_access(ks_session.Session(auth=plugin)).user_domain_name
        return name or "Default"
    except Exception:  # noqa: BLE001 - a best-effort probe; Tempest will report a bad domain itself
        return auth.get("user_domain_name") or "Default"


def tempest_config(target: Target, workspace: Path, overrides: Iterable[str] = (), service: str = DEFAULT_SERVICE,
                   compute_refs: Mapping[str, str] | None = None) -> configparser.ConfigParser:
    """The tempest.conf for one Overcast service.

    ``identity``: Keystone only, every other service unavailable. ``compute``: the same identity
    settings plus Nova, Glance, Neutron and Cinder (``compute_refs`` from :func:`lookup_compute_refs`).
    """
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r} (have: {', '.join(SERVICES)})")
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str  # type: ignore[assignment,method-assign]
    conf["DEFAULT"] = {
        "log_dir": str(workspace / "logs"),
        "log_file": "tempest.log",
        "debug": "True",
        "use_stderr": "False",
    }
    conf["oslo_concurrency"] = {"lock_path": str(workspace / "lock")}
    conf["auth"] = {
        "use_dynamic_credentials": "True",
        "create_isolated_networks": "False",
        "tempest_roles": "member",
        "admin_username": target.admin_username,
        "admin_password": target.admin_password,
        "admin_project_name": target.admin_project_name,
        "admin_domain_name": target.admin_domain_name,
        "admin_user_domain_name": target.admin_domain_name,
        "admin_project_domain_name": target.admin_domain_name,
        "default_credentials_domain_name": target.admin_domain_name,
    }
    conf["identity"] = {
        "uri": f"{target.auth_url}/v2.0",
        "uri_v3": f"{target.auth_url}/v3",
        "auth_version": "v3",
        "region": target.region,
        "v3_endpoint_type": "public",
        "catalog_type": "identity",
        "default_domain_id": "default",
        "admin_role": "admin",
        **{option: value for option, value in SECURITY_COMPLIANCE.values()},
    }
    conf["identity-feature-enabled"] = dict(IDENTITY_FEATURES)
    conf["service_available"] = {name: "False" for name in OTHER_SERVICES}
    conf["validation"] = {"run_validation": "False"}
    conf["enforce_scope"] = {"keystone": "False"}
    if service == "compute":
        _compute_sections(conf, target, dict(compute_refs or {}))
    if service == "image":
        _image_sections(conf, target)
    if service == "network":
        _network_sections(conf, target, dict(compute_refs or {}))
        # Nova is there too (the same Overcast): the port binding tests bind to its hypervisor's host
        conf["compute"] = {"catalog_type": "compute", "region": target.region, "endpoint_type": "publicURL"}
        conf["service_available"]["nova"] = "True"
    if service == "volume":
        _volume_sections(conf, target, dict(compute_refs or {}))
    for item in overrides:
        key, _, value = item.partition("=")
        section, _, option = key.rpartition(".")
        if not section or not option or not _:
            raise SystemExit(f"--set wants section.option=value, got {item!r}")
        if section != "DEFAULT" and not conf.has_section(section):
            conf.add_section(section)
        conf[section][option] = value
    return conf


#: What the embedded local cloud can and cannot do, as Tempest's [compute-feature-enabled] names it.
COMPUTE_FEATURES = {
    "change_password": "True",
    "console_output": "True",
    "resize": "True",
    "pause": "True",
    "suspend": "True",
    "shelve": "True",
    "shelve_migrate": "False",
    "cold_migration": "False",
    "live_migration": "False",
    "live_migrate_back_and_forth": "False",
    "block_migration_for_live_migration": "False",
    "volume_backed_live_migration": "False",
    "can_migrate_between_any_hosts": "False",
    "metadata_service": "False",
    "vnc_console": "False",
    "spice_console": "False",
    "serial_console": "False",
    "rescue": "True",
    "stable_rescue": "True",
    "enable_instance_password": "True",
    "interface_attach": "True",
    "snapshot": "True",
    "personality": "True",
    "attach_encrypted_volume": "False",
    "config_drive": "True",
    "swap_volume": "False",
    "volume_multiattach": "True",
    "ide_bus": "False",
    "unified_limits": "False",
    "disk_config": "True",
    "hostname_fqdn_sanitization": "False",
    "vtpm_live_migration": "False",
}

#: The seeded flavors Tempest boots with: m1.tiny and m1.small.
FLAVOR_REF, FLAVOR_REF_ALT = "1", "2"
SEEDED_IMAGE = "cirros"


def admin_session(target: Target, timeout: float = 30.0) -> Any:
    """A keystoneauth session of ``target``'s admin (project-scoped)."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    plugin = v3.Password(auth_url=f"{target.auth_url}/v3", username=target.admin_username,
                         password=target.admin_password, user_domain_name=target.admin_domain_name,
                         project_name=target.admin_project_name, project_domain_name=target.admin_domain_name)
    return ks_session.Session(auth=plugin, timeout=timeout)


def lookup_compute_refs(target: Target, timeout: float = 30.0) -> dict[str, str]:
    """``image_ref``/``image_ref_alt`` (the seeded cirros image) and the flavor refs for ``target``.

    The image id is looked up with an admin token at ``<image endpoint>/v2/images?name=cirros``,
    the image endpoint being the catalog's ``image`` service in the target's region.

    :raises RuntimeError: no image endpoint, or no cirros image.
    """
    session = admin_session(target, timeout)
    try:
        endpoint = session.get_endpoint(service_type="image", interface="public", region_name=target.region)
    except Exception as exc:  # noqa: BLE001 - keystoneauth has many kinds; one message is enough
        raise RuntimeError(f"no image endpoint in the catalog of {target.auth_url}: {exc}") from None
    if not endpoint:
        raise RuntimeError(f"no image endpoint in the catalog of {target.auth_url}")
    resp = session.get(f"{endpoint.rstrip('/')}/v2/images", params={"name": SEEDED_IMAGE}, raise_exc=False)
    images = resp.json().get("images", []) if resp.status_code == 200 else []
    if not images:
        raise RuntimeError(f"GET {endpoint}/v2/images?name={SEEDED_IMAGE} answered {resp.status_code} "
                           f"with no image: {resp.text[:300]}")
    image_id = images[0]["id"]
    return {"image_ref": image_id, "image_ref_alt": image_id, "flavor_ref": FLAVOR_REF,
            "flavor_ref_alt": FLAVOR_REF_ALT}


#: the second image Tempest rebuilds to (``image_ref_alt``): a public copy of the seeded cirros
ALT_IMAGE = "cirros-alt"


def ensure_alt_image(target: Target, image_ref: str, timeout: float = 30.0) -> dict[str, str]:
    """``image_ref_alt``: the id of a public image named :data:`ALT_IMAGE`, uploaded (as a copy of
    ``image_ref``'s data and formats) with the admin token unless it exists, so the tests that rebuild
    to another image, or filter servers by image, run. :raises RuntimeError: it cannot be made."""
    session = admin_session(target, timeout)
    endpoint = session.get_endpoint(service_type="image", interface="public",
                                    region_name=target.region).rstrip("/")
    found = session.get(f"{endpoint}/v2/images", params={"name": ALT_IMAGE}, raise_exc=False)
    if found.status_code == 200 and found.json().get("images"):
        return {"image_ref_alt": found.json()["images"][0]["id"]}
    source = session.get(f"{endpoint}/v2/images/{image_ref}", raise_exc=False)
    data = session.get(f"{endpoint}/v2/images/{image_ref}/file", raise_exc=False)
    if source.status_code != 200 or data.status_code != 200:
        raise RuntimeError(f"image {image_ref} cannot be copied: {source.status_code}/{data.status_code}")
    made = session.post(f"{endpoint}/v2/images", raise_exc=False, json={
        "name": ALT_IMAGE, "visibility": "public", "disk_format": source.json()["disk_format"],
        "container_format": source.json()["container_format"]})
    if made.status_code != 201:
        raise RuntimeError(f"POST {endpoint}/v2/images answered {made.status_code}: {made.text[:300]}")
    image_id = made.json()["id"]
    put = session.put(f"{endpoint}/v2/images/{image_id}/file", data=data.content, raise_exc=False,
                      headers={"Content-Type": "application/octet-stream"})
    if put.status_code != 204:
        raise RuntimeError(f"PUT {endpoint}/v2/images/{image_id}/file answered {put.status_code}: {put.text[:300]}")
    return {"image_ref_alt": image_id}


def _compute_sections(conf: configparser.ConfigParser, target: Target, refs: dict[str, str]) -> None:
    conf["compute"] = {
        "image_ref": refs.get("image_ref", ""),
        "image_ref_alt": refs.get("image_ref_alt", refs.get("image_ref", "")),
        "flavor_ref": refs.get("flavor_ref", FLAVOR_REF),
        "flavor_ref_alt": refs.get("flavor_ref_alt", FLAVOR_REF_ALT),
        "catalog_type": "compute",
        "region": target.region,
        "endpoint_type": "publicURL",
        "min_microversion": "2.1",
        "max_microversion": str(COMPUTE_MICROVERSIONS.maximum),
        "build_timeout": "60",
        "build_interval": "1",
        "ready_wait": "0",
        "min_compute_nodes": "1",
        "shelved_offload_time": "0",
        # the demo project's network the seed makes, as DevStack's "private" (Tempest still boots on
        # the isolated networks it creates; this names a network known to exist for the os-networks tests)
        "fixed_network_name": "private",
    }
    conf["compute-feature-enabled"] = dict(COMPUTE_FEATURES)
    conf["image"] = {"catalog_type": "image", "region": target.region, "endpoint_type": "publicURL",
                     "build_timeout": "60", "build_interval": "1"}
    conf["image-feature-enabled"] = {"api_v2": "True", "import_image": "False", "os_glance_reserved": "False"}
    # Neutron: each test project gets its own network, subnet and router (as on DevStack);
    # servers are not reachable from the test host (no validation).
    _network_sections(conf, target, refs)
    conf["auth"]["create_isolated_networks"] = "True"
    conf["network"]["project_networks_reachable"] = "False"
    conf["volume"] = {"catalog_type": "volumev3", "region": target.region, "endpoint_type": "publicURL",
                      "build_timeout": "60", "build_interval": "1", "volume_size": "1", "min_microversion": "3.0",
                      "max_microversion": "3.71"}
    if refs.get("volume_type_multiattach"):
        conf["volume"]["volume_type_multiattach"] = refs["volume_type_multiattach"]
    conf["volume-feature-enabled"] = {"backup": "False", "multi_backend": "False", "api_v3": "True"}
    conf["service_available"]["nova"] = "True"
    conf["service_available"]["glance"] = "True"
    conf["service_available"]["cinder"] = "True"


def _image_sections(conf: configparser.ConfigParser, target: Target) -> None:
    """Glance alone: v2 with the interoperable import (glance-direct, and web-download of
    ``http_qcow2_image``: the loopback :class:`ImageSource` when this script starts the server), and
    locations shown and managed (show_multiple_locations; ``http_image`` is the same loopback file)."""
    conf["image"] = {"catalog_type": "image", "region": target.region, "endpoint_type": "publicURL",
                     "build_timeout": "60", "build_interval": "1", "image_caching_enabled": "False"}
    conf["image-feature-enabled"] = {"api_v2": "True", "api_v1": "False", "import_image": "True",
                                     "os_glance_reserved": "True", "manage_locations": "True",
                                     "do_secure_hash": "True", "http_store_enabled": "True",
                                     "image_format_enforcement": "False"}
    conf["service_available"]["glance"] = "True"


def lookup_public_network(target: Target, timeout: float = 30.0) -> dict[str, str]:
    """``public_network_id``: the external network the seed made, asked of the network endpoint.

    :raises RuntimeError: no network endpoint, or no external network.
    """
    session = admin_session(target, timeout)
    endpoint = session.get_endpoint(service_type="network", interface="public", region_name=target.region)
    resp = session.get(f"{endpoint.rstrip('/')}/v2.0/networks", params={"router:external": "True"}, raise_exc=False)
    networks = resp.json().get("networks", []) if resp.status_code == 200 else []
    if not networks:
        raise RuntimeError(f"no external network at {endpoint}: {resp.status_code} {resp.text[:300]}")
    return {"public_network_id": networks[0]["id"]}


#: the volume type DevStack makes for Tempest's multiattach tests ([volume] volume_type_multiattach)
MULTIATTACH_TYPE = "multiattach"


def ensure_multiattach_type(target: Target, timeout: float = 30.0) -> dict[str, str]:
    """DevStack's ``multiattach`` volume type (extra spec ``multiattach="<is> True"``), made with the admin
    token at the target's block storage endpoint unless it exists. :raises RuntimeError: it cannot be made."""
    session = admin_session(target, timeout)
    endpoint = session.get_endpoint(service_type="block-storage", interface="public",
                                    region_name=target.region).rstrip("/")
    found = session.get(f"{endpoint}/types/{MULTIATTACH_TYPE}", raise_exc=False)
    if found.status_code == 404:
        made = session.post(f"{endpoint}/types", raise_exc=False, json={"volume_type": {
            "name": MULTIATTACH_TYPE, "extra_specs": {"multiattach": "<is> True"}}})
        if made.status_code != 200:
            raise RuntimeError(f"POST {endpoint}/types answered {made.status_code}: {made.text[:300]}")
    elif found.status_code != 200:
        raise RuntimeError(f"GET {endpoint}/types/{MULTIATTACH_TYPE} answered {found.status_code}")
    return {"volume_type_multiattach": MULTIATTACH_TYPE}


def _network_sections(conf: configparser.ConfigParser, target: Target, refs: dict[str, str]) -> None:
    """Neutron alone, with the extensions Overcast lists at /v2.0/extensions."""
    from overcast.api.network.versions import ALIASES

    conf["network"] = {"catalog_type": "network", "region": target.region, "endpoint_type": "publicURL",
                       "public_network_id": refs.get("public_network_id", ""), "project_network_cidr": "10.100.0.0/16",
                       "project_network_mask_bits": "28", "project_network_v6_cidr": "2001:db8::/48",
                       "project_network_v6_mask_bits": "64", "shared_physical_network": "False",
                       "floating_network_name": "public"}
    conf["network-feature-enabled"] = {"api_extensions": ",".join(ALIASES), "ipv6": "True",
                                       "ipv6_subnet_attributes": "True", "floating_ips": "True",
                                       "port_security": "True", "port_admin_state_change": "True"}
    conf["service_available"]["neutron"] = "True"


def _volume_sections(conf: configparser.ConfigParser, target: Target, refs: dict[str, str]) -> None:
    """Cinder v3, microversions 3.0-3.71, backups (the local cloud's), manage/unmanage, with Glance (volumes from images) and Nova
    and Neutron as for compute (the attach, extend-attached and snapshot-in-use tests boot servers)."""
    _compute_sections(conf, target, refs)
    conf["volume"] = {"catalog_type": "volumev3", "region": target.region, "endpoint_type": "publicURL",
                      "build_timeout": "60", "build_interval": "1", "min_microversion": "3.0",
                      "max_microversion": "3.71", "volume_size": "1", "volume_type": "lvmdriver-1",
                      "storage_protocol": "iSCSI", "vendor_name": "Open Source", "backend_names": "lvmdriver-1",
                      # the local cloud names volumes and snapshots as DevStack's LVM backend (decision 0065)
                      "manage_volume_ref": "source-name,volume-%s", "manage_snapshot_ref": "source-name,_snapshot-%s"}
    if refs.get("volume_type_multiattach"):
        conf["volume"]["volume_type_multiattach"] = refs["volume_type_multiattach"]
    conf["volume-feature-enabled"] = {"backup": "True", "multi_backend": "False", "snapshot": "True",
                                      "clone": "True", "extend_attached_volume": "True", "manage_volume": "True",
                                      "manage_snapshot": "True", "api_v3": "True", "api_extensions": "all",
                                      "extend_attached_encrypted_volume": "False"}


def write_workspace(target: Target, workspace: Path, overrides: Iterable[str] = (), service: str = DEFAULT_SERVICE,
                    compute_refs: Mapping[str, str] | None = None, offline: bool = False) -> Path:
    """Write ``etc/tempest.conf`` and ``.stestr.conf`` into ``workspace``; return the conf path.

    For ``compute`` without ``compute_refs`` the image is looked up on the target
    (:func:`lookup_compute_refs`), so the server must be running; ``offline`` writes placeholder
    ids instead (enough for listing tests).
    """
    import tempest

    if service in ("compute", "volume") and compute_refs is None:
        compute_refs = {"image_ref": "00000000-0000-0000-0000-000000000000"} if offline else lookup_compute_refs(target)
        if not offline:
            compute_refs.update(lookup_public_network(target))
            compute_refs.update(ensure_multiattach_type(target))
            compute_refs.update(ensure_alt_image(target, compute_refs["image_ref"]))
    if service == "network" and compute_refs is None:
        compute_refs = {} if offline else lookup_public_network(target)
    workspace.mkdir(parents=True, exist_ok=True)
    for sub in ("etc", "logs", "lock"):
        (workspace / sub).mkdir(exist_ok=True)
    conf_path = workspace / "etc" / "tempest.conf"
    with open(conf_path, "w") as fh:
        tempest_config(target, workspace, overrides, service, compute_refs).write(fh)
    tempest_dir = Path(tempest.__file__).resolve().parent
    (workspace / ".stestr.conf").write_text(
        "[DEFAULT]\n"
        f"test_path={tempest_dir / 'test_discover'}\n"
        f"top_dir={tempest_dir.parent}\n"
        # One group per test class: Tempest classes set up shared resources in setUpClass.
        "group_regex=([^\\.]*\\.)*\n"
    )
    if not (workspace / ".stestr").exists():
        _stestr(workspace, "init", check=True, capture_output=True)
    return conf_path


# -- running --------------------------------------------------------------------------------------

def _env(workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["TEMPEST_CONFIG_DIR"] = str(workspace / "etc")
    env["TEMPEST_CONFIG"] = "tempest.conf"
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def _stestr(workspace: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "stestr", "--here", str(workspace), *args], cwd=workspace,
                          env=_env(workspace), **kwargs)


def list_tests(workspace: Path, regex: str = MODULE_REGEX) -> list[str]:
    """Every test id Tempest has under ``regex`` (ids carry their ``[id-...,attrs]`` suffix)."""
    proc = _stestr(workspace, "list", regex, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"stestr list failed:\n{proc.stdout.decode()}\n{proc.stderr.decode()}")
    return [line for line in proc.stdout.decode().splitlines() if line.startswith("tempest.")]


def base_id(test_id: str) -> str:
    """``pkg.Class.test_x[id-...,smoke]`` -> ``pkg.Class.test_x``."""
    return test_id.split("[", 1)[0]


def read_allowlist(path: Path = ALLOWLIST) -> list[str]:
    """Test ids (without ``[...]``), one a line; ``#`` starts a comment."""
    ids = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.append(base_id(line))
    return ids


def include_regexes(ids: Iterable[str]) -> list[str]:
    return [f"^{re.escape(i)}(\\[|$)" for i in ids]


def run_tests(workspace: Path, regexes: list[str], concurrency: int = 2,
              timeout: float | None = None) -> dict[str, str]:
    """Run the tests matching any of ``regexes``; return {base test id: status}.

    Statuses are subunit's: success, fail, skip, xfail, uxsuccess. Output (subunit-trace)
    goes to ``workspace/logs/stestr-run.log``.
    """
    include = workspace / "include-list.txt"
    include.write_text("\n".join(regexes) + "\n")
    with open(workspace / "logs" / "stestr-run.log", "wb") as log:
        _stestr(workspace, "run", "--concurrency", str(concurrency), "--include-list", str(include),
                stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
    return last_results(workspace)


def last_results(workspace: Path) -> dict[str, str]:
    import subunit
    import testtools

    proc = _stestr(workspace, "last", "--subunit", capture_output=True)
    results: dict[str, str] = {}

    def on_test(test: dict[str, Any]) -> None:
        status = test["status"]
        if status in ("exists", "inprogress", None):
            return
        results[base_id(test["id"])] = status

    sink = testtools.StreamToDict(on_test)
    sink.startTestRun()
    subunit.ByteStreamToStreamResult(io.BytesIO(proc.stdout), non_subunit_name="stdout").run(sink)
    sink.stopTestRun()
    return results


def failure_details(workspace: Path, limit: int = 20000) -> str:
    """The failing tests' tracebacks from the last run (subunit-trace's summary), truncated."""
    log = workspace / "logs" / "stestr-run.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return text[-limit:]


# -- reporting ------------------------------------------------------------------------------------

def summarize(all_ids: list[str], results: Mapping[str, str]) -> dict[str, Any]:
    results = dict(results)
    # A class that skipped or failed in setUpClass reports under "setUpClass (pkg.Class)"
    # and its tests never run: give them the class's status.
    for tid, status in list(results.items()):
        match = re.match(r"^setUpClass \((.+)\)$", tid)
        if match:
            for test in all_ids:
                if base_id(test).rsplit(".", 1)[0] == match.group(1):
                    results.setdefault(base_id(test), f"class {status}")
    counts = Counter(results.get(base_id(t), "not run") for t in all_ids)
    passed = sorted(base_id(t) for t in all_ids if results.get(base_id(t)) in ("success", "xfail"))
    # Class-level failures (setUpClass) appear under a non-test id; list them separately.
    fixtures = {tid: st for tid, st in results.items() if not tid.startswith("tempest.")}
    return {"total": len(all_ids), "passed": len(passed), "counts": dict(counts), "passing_ids": passed,
            "fixture_failures": sorted(k for k, v in fixtures.items() if v == "fail"), "results": results}


#: a header line naming a test that passes or fails by timing alone (left out when rewriting)
RACY = "# racy: "


def write_allowlist(ids: Iterable[str], path: Path = ALLOWLIST) -> None:
    """Rewrite ``path`` with ``ids``, keeping its ``#`` header and leaving out its racy tests."""
    header = [line for line in path.read_text().splitlines() if line.startswith("#")] if path.exists() else []
    racy = {line[len(RACY):].strip() for line in header if line.startswith(RACY)}
    path.write_text("\n".join(header + sorted(set(ids) - racy)) + "\n")


def check_allowlist(allowlist: list[str], results: Mapping[str, str]) -> list[str]:
    """Problems with an allowlist run: every listed test must have run and passed."""
    problems = []
    for tid in allowlist:
        status = results.get(tid)
        if status not in ("success", "xfail"):
            problems.append(f"{tid}: {status or 'did not run (unknown id, or its class failed to set up)'}")
    return problems


# -- command line -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", choices=SERVICES, default=DEFAULT_SERVICE,
                        help="which Tempest module to run: tempest.api.<service> (default identity)")
    parser.add_argument("--clouds-yaml", help="clouds.yaml of a running server (its overcast-admin cloud is used)")
    parser.add_argument("--cloud", default="overcast-admin")
    parser.add_argument("--auth-url", help="Keystone root of a running server, e.g. http://127.0.0.1:8780/identity")
    parser.add_argument("--admin-password", help="with --auth-url")
    parser.add_argument("--postgres", metavar="ADMIN_URL", nargs="?", const=os.environ.get(
                        "OVERCAST_TEST_POSTGRES_URL", ""),
                        help="own server on a fresh PostgreSQL database made through ADMIN_URL "
                             "(default: $OVERCAST_TEST_POSTGRES_URL)")
    parser.add_argument("--workspace", type=Path, help="default: a fresh temporary directory (kept)")
    parser.add_argument("--all", action="store_true", help="run every test of the module, not only the allowlist")
    parser.add_argument("--regex", help="run the tests matching this regex instead")
    parser.add_argument("--report", action="store_true", help="print counts and per-status lists")
    parser.add_argument("--update-allowlist", action="store_true",
                        help="rewrite the allowlist to the tests that passed (use with --all)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.OPTION=VALUE",
                        help="override a tempest.conf option")
    parser.add_argument("--list", action="store_true", help="only list the module's tests and exit")
    parser.add_argument("--region", help="point Tempest at this region (the server this script starts gets "
                                         "two local regions, RegionOne and this one)")
    args = parser.parse_args(argv)
    service = args.service
    module, regex, allowlist_file = module_name(service), module_regex(service), allowlist_path(service)
    if args.update_allowlist and not args.all:
        parser.error("--update-allowlist needs --all (the allowlist is what passes of the whole module)")

    server = None
    image_source = None
    database_url = None
    if args.postgres is not None and not args.postgres:
        parser.error("--postgres needs an admin URL or OVERCAST_TEST_POSTGRES_URL")
    if args.clouds_yaml:
        target = Target.from_clouds_yaml(args.clouds_yaml, args.cloud, args.region)
    elif args.auth_url:
        if not args.admin_password:
            parser.error("--auth-url needs --admin-password")
        target = Target(auth_url=args.auth_url.rstrip("/"), admin_username="admin",
                        admin_password=args.admin_password, region=args.region or FIRST_REGION)
    else:
        sys.path.insert(0, str(HERE.parent.parent))
        from overcast.core.image.seed import payload
        from overcast.testing.live import LiveServer, create_postgres_database

        if service == "image":
            image_source = ImageSource(payload())
            args.set = image_source.overrides() + args.set
        env = server_environment(image_source)
        if args.postgres:
            database_url = create_postgres_database(args.postgres)
            env["OVERCAST_DATABASE_URL"] = database_url
        config = regions_config(Path(tempfile.mkdtemp(prefix="overcast-regions-")) / "overcast.toml",
                                args.region or FIRST_REGION)
        server = LiveServer(data_dir=None, env=env, config=config).start()
        print(f"started {server}", file=sys.stderr)
        target = Target.from_clouds_yaml(server.clouds_yaml, region=args.region)

    try:
        workspace = args.workspace or Path(tempfile.mkdtemp(prefix="overcast-tempest-"))
        write_workspace(target, workspace.resolve(), args.set, service)
        workspace = workspace.resolve()
        print(f"workspace: {workspace}", file=sys.stderr)
        all_ids = list_tests(workspace, regex)
        if args.list:
            print("\n".join(all_ids))
            print(f"{len(all_ids)} tests under {module}", file=sys.stderr)
            return 0

        allowlist = read_allowlist(allowlist_file) if allowlist_file.exists() else []
        if args.all:
            regexes, selected = [regex], all_ids
        elif args.regex:
            regexes = [args.regex]
            selected = [t for t in all_ids if re.search(args.regex, t)]
        else:
            regexes, selected = include_regexes(allowlist), [t for t in all_ids if base_id(t) in set(allowlist)]
        if not regexes:
            print("allowlist is empty: nothing to run", file=sys.stderr)
            return 0
        began = time.monotonic()
        results = run_tests(workspace, regexes, args.concurrency)
        elapsed = time.monotonic() - began
        summary = summarize(all_ids, results)
        results = summary.pop("results")
        summary["selected"] = len(selected)
        summary["seconds"] = round(elapsed, 1)
        (workspace / "report.json").write_text(json.dumps(summary, indent=2))

        print(f"{module}: {summary['passed']} passed of {summary['total']} tests "
              f"(ran {len(selected)} selected in {elapsed:.0f}s; statuses: {summary['counts']})")
        if args.report:
            by_status: dict[str, list[str]] = {}
            for tid in selected:
                by_status.setdefault(results.get(base_id(tid), "not run"), []).append(base_id(tid))
            for status, tids in sorted(by_status.items()):
                print(f"\n## {status} ({len(tids)})")
                print("\n".join(sorted(tids)))
            if summary["fixture_failures"]:
                print(f"\n## class set-up failures ({len(summary['fixture_failures'])})")
                print("\n".join(summary["fixture_failures"]))
            print(f"\nreport: {workspace / 'report.json'}; log: {workspace / 'logs'}")
        if args.update_allowlist:
            write_allowlist(summary["passing_ids"], allowlist_file)
            added = sorted(set(summary["passing_ids"]) - set(allowlist))
            removed = sorted(set(allowlist) - set(summary["passing_ids"]))
            print(f"allowlist rewritten: {len(summary['passing_ids'])} tests in {allowlist_file} "
                  f"(+{len(added)} -{len(removed)})")
            if removed:
                print("REMOVED (these passed before: a regression?):\n  " + "\n  ".join(removed))
            return 0
        if args.all or args.regex:
            return 0
        problems = check_allowlist(allowlist, results)
        if problems:
            print("\nallowlisted tests that did not pass:\n  " + "\n  ".join(problems), file=sys.stderr)
            print(failure_details(workspace, 8000), file=sys.stderr)
            return 1
        return 0
    finally:
        if server is not None:
            server.stop()
        if image_source is not None:
            image_source.stop()
        if database_url:
            from overcast.testing.live import drop_postgres_database

            drop_postgres_database(args.postgres, database_url)


if __name__ == "__main__":
    sys.exit(main())
