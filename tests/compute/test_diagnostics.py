"""``GET /servers/{id}/diagnostics``: libvirt's flat form before 2.48, Nova's standard form from it."""

from __future__ import annotations

from tempest.lib.api_schema.response.compute.v2_48 import servers as v248

from tests.compute.conftest import check


def test_standard_diagnostics_from_2_48(nova, admin_nova):
    sid = nova.create("diag", config_drive=True).json["server"]["id"]
    resp = admin_nova.req("GET", f"/servers/{sid}/diagnostics", "2.48")
    check(resp, "show_server_diagnostics", module=v248)
    diag = resp.json
    assert (diag["state"], diag["driver"], diag["hypervisor"], diag["config_drive"]) == (
        "running", "libvirt", "qemu", True)
    assert diag["memory_details"] == {"maximum": 512, "used": 512}  # m1.tiny's 512 MiB
    assert (diag["num_cpus"], diag["num_disks"], diag["num_nics"]) == (1, 1, 1)
    [port] = nova.cloud.request("GET", f"/network/v2.0/ports?device_id={sid}", nova.token).json["ports"]
    assert diag["nic_details"][0]["mac_address"] == port["mac_address"]
    assert diag["cpu_details"][0]["id"] == 0
    assert nova.action(sid, {"os-stop": None}).status_code == 202
    nova.wait(sid, "SHUTOFF")
    stopped = admin_nova.req("GET", f"/servers/{sid}/diagnostics", "2.90")
    check(stopped, "show_server_diagnostics", module=v248)
    assert stopped.json["state"] == "shutdown" and stopped.json["memory_details"]["used"] == 0


def test_libvirt_diagnostics_before_2_48(nova, admin_nova):
    sid = nova.create("diag").json["server"]["id"]
    diag = admin_nova.req("GET", f"/servers/{sid}/diagnostics", "2.47").json
    [port] = nova.cloud.request("GET", f"/network/v2.0/ports?device_id={sid}", nova.token).json["ports"]
    tap = f"tap{port['id'][:11]}"
    assert diag["memory"] == diag["memory-actual"] == 512 * 1024  # KiB
    assert {"cpu0_time", "vda_read", "vda_read_req", "vda_write", "vda_write_req", "vda_errors",
            f"{tap}_rx", f"{tap}_tx", f"{tap}_rx_packets", f"{tap}_tx_drop"} <= set(diag)
    assert "state" not in diag and "driver" not in diag
