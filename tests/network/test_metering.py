"""Metering labels and rules over the wire (api-ref "Metering labels and rules"; Neutron's faults
and its policy: the admin's alone, reading too): shapes, admin-only writes and reads between two
projects, direction and remote_ip_prefix validation naming the field, ``excluded``, overlaps,
filters, and rules gone with their label."""

from __future__ import annotations

LABEL_KEYS = {"id", "name", "description", "shared", "tenant_id", "project_id"}
RULE_KEYS = {"id", "metering_label_id", "direction", "remote_ip_prefix", "source_ip_prefix", "destination_ip_prefix",
             "excluded"}
LABELS, RULES = "/metering/metering-labels", "/metering/metering-label-rules"


def _fault(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def _project(net, token: str) -> str:  # noqa: ANN001
    return net.make(token, "networks", "network", name="probe")["project_id"]


def test_labels_are_the_admins(net, admin_token, demo_token):
    demo = _project(net, demo_token)
    status, body = net("POST", LABELS, demo_token, {"metering_label": {"name": "mine"}})
    assert status == 403 and _fault(body)[0] == "PolicyNotAuthorized"
    status, body = net("POST", LABELS, admin_token, {"metering_label": {
        "name": "web", "description": "label created by a test", "project_id": demo}})
    assert status == 201, body
    made = body["metering_label"]
    assert set(made) == LABEL_KEYS
    assert (made["name"], made["description"], made["shared"], made["project_id"], made["tenant_id"]) == (
        "web", "label created by a test", False, demo, demo)
    shared = net.make(admin_token, "metering/metering-labels", "metering_label", name="all", shared=True)
    assert shared["shared"] is True
    # the admin reads and filters them (an id that is no label lists none, as Tempest asks)
    status, body = net("GET", f"{LABELS}/{made['id']}", admin_token)
    assert status == 200 and body["metering_label"] == made
    assert [x["id"] for x in net("GET", f"{LABELS}?id={made['id']}", admin_token)[1]["metering_labels"]] == [
        made["id"]]
    assert net("GET", f"{LABELS}?id=33", admin_token)[1]["metering_labels"] == []
    assert {x["id"] for x in net("GET", f"{LABELS}?shared=true", admin_token)[1]["metering_labels"]} == {
        shared["id"]}
    # the owning project's member sees none of them, not even its own or a shared one
    status, body = net("GET", LABELS, demo_token)
    assert status == 200 and body["metering_labels"] == []
    for label in (made, shared):
        status, body = net("GET", f"{LABELS}/{label['id']}", demo_token)
        assert status == 404 and _fault(body) == ("MeteringLabelNotFound",
                                                  f"Metering label {label['id']} does not exist")
        assert net("DELETE", f"{LABELS}/{label['id']}", demo_token)[0] == 404
    # no update, as Neutron
    assert net("PUT", f"{LABELS}/{made['id']}", admin_token, {"metering_label": {"name": "x"}})[0] == 405
    # unknown and read-only attributes refused
    status, body = net("POST", LABELS, admin_token, {"metering_label": {"name": "x", "colour": "red"}})
    assert status == 400 and "colour" in _fault(body)[1]
    assert net("DELETE", f"{LABELS}/{made['id']}", admin_token)[0] == 204
    assert net("GET", f"{LABELS}/{made['id']}", admin_token)[0] == 404
    assert net("DELETE", f"{LABELS}/{made['id']}", admin_token)[0] == 404


def test_rules_validation_overlap_and_isolation(net, admin_token, demo_token):
    demo = _project(net, demo_token)
    label = net.make(admin_token, "metering/metering-labels", "metering_label", name="l", project_id=demo)
    status, body = net("POST", RULES, demo_token, {"metering_label_rule": {
        "metering_label_id": label["id"], "remote_ip_prefix": "10.0.0.0/24"}})
    assert status == 404 and _fault(body)[0] == "MeteringLabelNotFound"  # the member cannot see the label
    status, body = net("POST", RULES, admin_token, {"metering_label_rule": {
        "metering_label_id": label["id"], "remote_ip_prefix": "10.0.0.0/24"}})
    assert status == 201, body
    rule = body["metering_label_rule"]
    assert set(rule) == RULE_KEYS
    assert (rule["metering_label_id"], rule["direction"], rule["remote_ip_prefix"], rule["excluded"]) == (
        label["id"], "ingress", "10.0.0.0/24", False)
    assert (rule["source_ip_prefix"], rule["destination_ip_prefix"]) == (None, None)
    six = net.make(admin_token, "metering/metering-label-rules", "metering_label_rule", metering_label_id=label["id"],
                   remote_ip_prefix="fd02::/64", direction="egress", excluded=True)
    assert (six["direction"], six["excluded"]) == ("egress", True)
    # the field is named in every refusal, and nothing is made
    for attrs, field in (({"direction": "up"}, "direction"), ({"remote_ip_prefix": "10.0.0.300/24"},
                                                             "remote_ip_prefix"),
                         ({"remote_ip_prefix": "10.0.1.1/24"}, "remote_ip_prefix"),
                         ({"remote_ip_prefix": None}, "remote_ip_prefix"), ({"excluded": "maybe"}, "excluded")):
        status, body = net("POST", RULES, admin_token, {"metering_label_rule": {
            "metering_label_id": label["id"], "remote_ip_prefix": "10.9.0.0/24", **attrs}})
        assert status == 400 and field in _fault(body)[1], (attrs, body)
    status, body = net("POST", RULES, admin_token, {"metering_label_rule": {"metering_label_id": label["id"]}})
    assert status == 400 and _fault(body) == ("Invalid", "You must define at least one of the following parameters "
                                              "'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.")
    # an overlap within one label, direction and exclusion is a 409; elsewhere it is fine
    status, body = net("POST", RULES, admin_token, {"metering_label_rule": {
        "metering_label_id": label["id"], "remote_ip_prefix": "10.0.0.128/25"}})
    assert status == 409 and _fault(body) == ("MeteringLabelRuleOverlaps", "Metering label rule with "
                                              "remote_ip_prefix 10.0.0.128/25 overlaps another.")
    egress = net.make(admin_token, "metering/metering-label-rules", "metering_label_rule",
                      metering_label_id=label["id"], remote_ip_prefix="10.0.0.128/25", direction="egress")
    status, body = net("POST", RULES, admin_token, {"metering_label_rule": {
        "metering_label_id": "no-such-label", "remote_ip_prefix": "10.0.0.0/24"}})
    assert status == 404 and _fault(body) == ("MeteringLabelNotFound", "Metering label no-such-label does not exist")
    # reads: the admin's, filtered; the member sees none
    status, body = net("GET", f"{RULES}/{rule['id']}", admin_token)
    assert status == 200 and body["metering_label_rule"] == rule
    listed = net("GET", f"{RULES}?metering_label_id={label['id']}&direction=egress", admin_token)[1]
    assert {r["id"] for r in listed["metering_label_rules"]} == {six["id"], egress["id"]}
    assert net("GET", f"{RULES}?id=33", admin_token)[1]["metering_label_rules"] == []
    assert net("GET", RULES, demo_token)[1]["metering_label_rules"] == []
    status, body = net("GET", f"{RULES}/{rule['id']}", demo_token)
    assert status == 404 and _fault(body)[0] == "MeteringLabelRuleNotFound"
    assert net("DELETE", f"{RULES}/{rule['id']}", demo_token)[0] == 404
    assert net("DELETE", f"{RULES}/{rule['id']}", admin_token)[0] == 204
    status, body = net("GET", f"{RULES}/{rule['id']}", admin_token)
    assert status == 404 and _fault(body) == ("MeteringLabelRuleNotFound",
                                              f"Metering label rule {rule['id']} does not exist")
    # a label's rules go with it
    assert net("DELETE", f"{LABELS}/{label['id']}", admin_token)[0] == 204
    assert net("GET", f"{RULES}/{six['id']}", admin_token)[0] == 404
    assert net("GET", RULES, admin_token)[1]["metering_label_rules"] == []


def test_source_and_destination_prefixes(net, admin_token):
    """``metering_source_and_destination_fields``: a rule by source and/or destination prefix
    (an address or a prefix, kept as given), never with the deprecated ``remote_ip_prefix``; each
    field named when it is wrong; shown, fetched and filtered as Neutron does."""
    label = net.make(admin_token, "metering/metering-labels", "metering_label", name="sd")
    both = net.make(admin_token, "metering/metering-label-rules", "metering_label_rule", metering_label_id=label["id"],
                    source_ip_prefix="10.0.0.0/24", destination_ip_prefix="192.168.1.7/16")
    assert set(both) == RULE_KEYS
    assert (both["remote_ip_prefix"], both["source_ip_prefix"], both["destination_ip_prefix"], both["direction"]) == (
        None, "10.0.0.0/24", "192.168.1.7/16", "ingress")
    source = net.make(admin_token, "metering/metering-label-rules", "metering_label_rule",
                      metering_label_id=label["id"], source_ip_prefix="fd00::1", direction="egress")
    assert (source["source_ip_prefix"], source["destination_ip_prefix"]) == ("fd00::1", None)
    # Neutron checks overlaps of remote prefixes only: the same source prefix twice is taken
    again = net.make(admin_token, "metering/metering-label-rules", "metering_label_rule",
                     metering_label_id=label["id"], source_ip_prefix="10.0.0.0/24")
    assert net("GET", f"{RULES}/{both['id']}", admin_token)[1]["metering_label_rule"] == both
    listed = net("GET", f"{RULES}?source_ip_prefix=10.0.0.0/24", admin_token)[1]["metering_label_rules"]
    assert {r["id"] for r in listed} == {both["id"], again["id"]}
    listed = net("GET", f"{RULES}?destination_ip_prefix=192.168.1.7/16&fields=id&fields=destination_ip_prefix",
                 admin_token)[1]["metering_label_rules"]
    assert listed == [{"id": both["id"], "destination_ip_prefix": "192.168.1.7/16"}]
    for attrs, fault in (
            ({"remote_ip_prefix": "10.1.0.0/24", "source_ip_prefix": "10.2.0.0/24"},
             "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'."),
            ({"remote_ip_prefix": "10.1.0.0/24", "destination_ip_prefix": "10.2.0.0/24"},
             "Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'."),
            ({"source_ip_prefix": None, "destination_ip_prefix": None}, "You must define at least one"),
            ({"source_ip_prefix": "10.0.0.300/24"}, "source_ip_prefix: 10.0.0.300/24 is invalid ["),
            ({"destination_ip_prefix": "nowhere"}, "destination_ip_prefix: nowhere is invalid [")):
        status, body = net("POST", RULES, admin_token, {"metering_label_rule": {"metering_label_id": label["id"],
                                                                                **attrs}})
        assert status == 400 and _fault(body)[0] == "Invalid" and _fault(body)[1].startswith(fault), (attrs, body)
    status, body = net("POST", RULES, admin_token, {"metering_label_rule": {"metering_label_id": label["id"],
                                                                            "source_ip_prefix": 10}})
    assert status == 400 and "source_ip_prefix" in _fault(body)[1]
    assert {r["id"] for r in net("GET", f"{RULES}?metering_label_id={label['id']}", admin_token)[1][
        "metering_label_rules"]} == {both["id"], source["id"], again["id"]}, "a refused rule is not made"


def test_metering_is_listed(net, demo_token):
    status, body = net("GET", "/extensions/metering", demo_token)
    assert status == 200 and body["extension"]["alias"] == "metering"
    status, body = net("GET", "/extensions/metering_source_and_destination_fields", demo_token)
    assert status == 200 and body["extension"]["alias"] == "metering_source_and_destination_fields"
