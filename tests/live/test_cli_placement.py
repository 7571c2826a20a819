"""osc-placement's ``openstack resource provider ...`` commands, unmodified, against a live
``overcast serve``: the compute host's provider, its inventory, usages, traits and aggregates, a
server's allocations, and a provider an admin makes and removes."""

from __future__ import annotations

import uuid

import pytest

from overcast.testing.live import OpenStackCLI

pytestmark = pytest.mark.live


def _compute_provider(admin_cli: OpenStackCLI) -> dict:
    providers = admin_cli("resource", "provider", "list", "--os-placement-api-version", "1.14")
    computes = [p for p in providers if p["parent_provider_uuid"] is None and p["name"].startswith("overcast")]
    assert computes, providers
    return computes[0]


def test_compute_host_provider_inventory_and_usage(admin_cli, cli, unique):
    provider = _compute_provider(admin_cli)
    hypervisors = admin_cli("hypervisor", "list", "--os-compute-api-version", "2.53")
    assert provider["uuid"] in {h["ID"] for h in hypervisors}
    shown = admin_cli("resource", "provider", "show", provider["uuid"], "--allocations")
    assert shown["name"] == provider["name"] and "allocations" in shown
    inventory = {i["resource_class"]: i for i in admin_cli("resource", "provider", "inventory", "list",
                                                           provider["uuid"])}
    assert {"VCPU", "MEMORY_MB", "DISK_GB"} <= set(inventory)
    assert inventory["VCPU"]["allocation_ratio"] == 4.0
    name = unique("placement-vm")
    server = cli("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private", "--wait",
                 name)
    try:
        allocation = admin_cli("resource", "provider", "allocation", "show", server["id"])
        assert [(a["resource_provider"], a["resources"]) for a in allocation] == [
            (provider["uuid"], {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})]
        assert allocation[0]["project_id"] == admin_cli("project", "show", "demo")["id"]
        usages = {u["resource_class"]: u["usage"] for u in admin_cli("resource", "provider", "usage", "show",
                                                                      provider["uuid"])}
        assert usages["VCPU"] >= 1 and usages["MEMORY_MB"] >= 512
        project = admin_cli("project", "show", "demo")["id"]
        totals = {u["resource_class"]: u["usage"] for u in admin_cli(
            "resource", "usage", "show", project, "--os-placement-api-version", "1.9")}
        assert totals["VCPU"] >= 1
    finally:
        cli.run("server", "delete", "--wait", server["id"])
    assert admin_cli("resource", "provider", "allocation", "show", server["id"]) == []


def test_admin_provider_with_inventory_traits_and_aggregates(admin_cli):
    name = f"pool-{uuid.uuid4().hex[:8]}"
    made = admin_cli("resource", "provider", "create", name, "--os-placement-api-version", "1.20")
    rp = made["uuid"]
    try:
        set_inventory = admin_cli("resource", "provider", "inventory", "set", rp, "--resource", "DISK_GB=1000",
                                  "--resource", "DISK_GB:allocation_ratio=2.0", "--resource", "DISK_GB:reserved=100")
        disk = next(i for i in set_inventory if i["resource_class"] == "DISK_GB")
        assert (disk["total"], disk["reserved"], disk["allocation_ratio"]) == (1000, 100, 2.0)
        admin_cli.run("trait", "create", "CUSTOM_FAST_DISK", "--os-placement-api-version", "1.6")
        traits = admin_cli("resource", "provider", "trait", "set", rp, "--trait", "CUSTOM_FAST_DISK",
                           "--trait", "STORAGE_DISK_SSD", "--os-placement-api-version", "1.6")
        assert {t["name"] for t in traits} == {"CUSTOM_FAST_DISK", "STORAGE_DISK_SSD"}
        aggregate = str(uuid.uuid4())
        aggregates = admin_cli("resource", "provider", "aggregate", "set", rp, "--aggregate", aggregate,
                               "--generation", str(admin_cli("resource", "provider", "show", rp)["generation"]),
                               "--os-placement-api-version", "1.19")
        assert [a["uuid"] for a in aggregates] == [aggregate]
        found = admin_cli("resource", "provider", "list", "--resource", "DISK_GB=1500",
                          "--os-placement-api-version", "1.4")
        assert rp in {p["uuid"] for p in found}
        candidates = admin_cli("allocation", "candidate", "list", "--resource", "DISK_GB=100",
                               "--required", "CUSTOM_FAST_DISK", "--os-placement-api-version", "1.17")
        assert {c["resource provider"] for c in candidates} == {rp}
        consumer = str(uuid.uuid4())
        admin_cli("resource", "provider", "allocation", "set", consumer, "--allocation",
                  f"rp={rp},DISK_GB=200", "--project-id", "p", "--user-id", "u",
                  "--os-placement-api-version", "1.12")
        usage = {u["resource_class"]: u["usage"] for u in admin_cli("resource", "provider", "usage", "show", rp)}
        assert usage["DISK_GB"] == 200
        refused = admin_cli.fails("resource", "provider", "delete", rp)
        assert "allocations" in refused.stderr
        admin_cli.run("resource", "provider", "allocation", "delete", consumer)
        admin_cli.run("resource", "provider", "trait", "delete", rp, "--os-placement-api-version", "1.6")
    finally:
        admin_cli.run("resource", "provider", "delete", rp, check=False)
        admin_cli.run("trait", "delete", "CUSTOM_FAST_DISK", "--os-placement-api-version", "1.6", check=False)
    assert admin_cli.fails("resource", "provider", "show", rp).stderr
