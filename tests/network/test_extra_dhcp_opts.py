"""Extra DHCP options on ports (``extra_dhcp_opt``): set on create, changed, added and removed
(a null value) on update as Neutron does, kept per (name, IP version), bad input refused."""

from __future__ import annotations

from netwait import settle


def _options(port: dict) -> list[tuple[str, str, int]]:
    return sorted((o["opt_name"], o["opt_value"], o["ip_version"]) for o in port["extra_dhcp_opts"])


def test_create_update_remove(cloud, net, demo_token):
    network = net.make(demo_token, "networks", "network", name="dhcp-opts")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.66.0.0/24")
    plain = net.make(demo_token, "ports", "port", network_id=network["id"])
    assert plain["extra_dhcp_opts"] == []
    port = net.make(demo_token, "ports", "port", network_id=network["id"], extra_dhcp_opts=[
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "tftp-server", "opt_value": "10.66.0.5", "ip_version": 4},
        {"opt_name": "tftp-server", "opt_value": "fd66::5", "ip_version": "6"},
        {"opt_name": "ignored", "opt_value": None}])
    assert _options(port) == [("bootfile-name", "pxelinux.0", 4), ("tftp-server", "10.66.0.5", 4),
                              ("tftp-server", "fd66::5", 6)]
    status, body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"extra_dhcp_opts": [
        {"opt_name": "bootfile-name", "opt_value": "ipxe.efi"},
        {"opt_name": "tftp-server", "opt_value": None, "ip_version": 6},
        {"opt_name": "server-ip-address", "opt_value": "10.66.0.6"}]}})
    assert status == 200, body
    assert _options(body["port"]) == [("bootfile-name", "ipxe.efi", 4), ("server-ip-address", "10.66.0.6", 4),
                                      ("tftp-server", "10.66.0.5", 4)]
    settle(cloud)  # the backend's realisation keeps the options (Overcast's own part of the record)
    assert _options(net("GET", f"/ports/{port['id']}", demo_token)[1]["port"]) == _options(body["port"])
    # an empty value removes an option, except for those Neutron keeps blank
    status, body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"extra_dhcp_opts": [
        {"opt_name": "bootfile-name", "opt_value": ""}, {"opt_name": "router", "opt_value": ""}]}})
    assert _options(body["port"]) == [("router", "", 4), ("server-ip-address", "10.66.0.6", 4),
                                      ("tftp-server", "10.66.0.5", 4)]
    # a port update that does not name them leaves them alone
    body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"name": "renamed"}})[1]
    assert len(body["port"]["extra_dhcp_opts"]) == 3


def test_bad_options_are_refused(net, demo_token):
    network = net.make(demo_token, "networks", "network", name="dhcp-bad")
    for options in ([{"opt_value": "x"}], [{"opt_name": "", "opt_value": "x"}],
                    [{"opt_name": "a", "opt_value": "x", "ip_version": 5}],
                    [{"opt_name": "a", "opt_value": "x", "colour": "red"}], "nope"):
        status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"],
                                                                  "extra_dhcp_opts": options}})
        assert status == 400, (options, body)
        assert "extra_dhcp_opts" in body["NeutronError"]["message"], body
    assert net("GET", f"/ports?network_id={network['id']}", demo_token)[1]["ports"] == []


def test_listed_as_extension(net, demo_token):
    aliases = {e["alias"] for e in net("GET", "/extensions", demo_token)[1]["extensions"]}
    assert "extra_dhcp_opt" in aliases
