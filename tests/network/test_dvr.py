"""The ``dvr`` extension's ``distributed`` attribute of routers: the admin's to set and to see
(docs/decisions/0064-network-agents-and-trunks.md); recorded, not applied."""

from __future__ import annotations


def test_distributed_is_the_admins(net, admin_token, demo_token):
    status, body = net("POST", "/routers", admin_token, {"router": {"name": "dvr", "distributed": True}})
    assert status == 201 and body["router"]["distributed"] is True
    dvr = body["router"]
    assert net("POST", "/routers", admin_token, {"router": {"name": "cvr", "distributed": False}})[1][
        "router"]["distributed"] is False
    status, body = net("POST", "/routers", demo_token, {"router": {"name": "mine", "distributed": True}})
    assert status == 403 and body["NeutronError"]["type"] == "PolicyNotAuthorized"
    mine = net.make(demo_token, "routers", "router", name="mine")
    assert "distributed" not in mine
    assert "distributed" not in net("GET", f"/routers/{mine['id']}", demo_token)[1]["router"]
    assert net("GET", f"/routers/{mine['id']}", admin_token)[1]["router"]["distributed"] is False
    # an active router is not upgraded; a disabled one is
    status, body = net("PUT", f"/routers/{mine['id']}", admin_token, {"router": {"distributed": True}})
    assert status == 400 and "admin_state_up" in body["NeutronError"]["message"]
    status, body = net("PUT", f"/routers/{mine['id']}", admin_token, {"router": {"admin_state_up": False,
                                                                                 "distributed": True}})
    assert status == 200 and body["router"]["distributed"] is True
    assert net("PUT", f"/routers/{mine['id']}", demo_token, {"router": {"distributed": False}})[0] == 403
    assert [r["distributed"] for r in net("GET", f"/routers?id={dvr['id']}", admin_token)[1]["routers"]] == [True]
    assert net("GET", "/extensions/dvr", demo_token)[0] == 200
