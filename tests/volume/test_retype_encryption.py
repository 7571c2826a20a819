"""os-retype (in place, when the volume's pool satisfies the new type) and volume type encryption."""

from __future__ import annotations

import uuid

from cinder_helpers import check

ENCRYPTION = {"provider": "LuksEncryptor", "key_size": 256, "cipher": "aes-xts-plain64",
              "control_location": "front-end"}


def _type(admin_cinder, name: str, **specs: str) -> dict:
    resp = admin_cinder.req("POST", "/types", json={"volume_type": {"name": name, "extra_specs": specs}})
    return resp.json["volume_type"]


def test_retype_in_place(cinder, admin_cinder):
    _type(admin_cinder, "one")
    two = _type(admin_cinder, "two", vendor_name="Open Source")
    vol = cinder.create(volume_type="one")
    before = admin_cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]
    check(cinder.action(vol["id"], {"os-retype": {"new_type": two["id"], "migration_policy": "never"}}),
          "retype_volume")
    after = cinder.wait(vol["id"], "available")
    assert after["volume_type"] == "two"
    shown = admin_cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]
    assert shown["os-vol-host-attr:host"] == before["os-vol-host-attr:host"]
    assert shown["migration_status"] is None and shown["os-vol-mig-status-attr:migstat"] is None
    usage = admin_cinder.req("GET", f"/os-quota-sets/{cinder.project_id}?usage=true").json["quota_set"]
    assert (usage["volumes_two"]["in_use"], usage["volumes_one"]["in_use"]) == (1, 0)


def test_retype_refusals(cinder, admin_cinder):
    vol = cinder.create()
    for args, text in (({"new_type": "lvmdriver-1"}, "New volume_type same as original"),
                       ({"new_type": "nosuch"}, "Invalid volume_type passed: nosuch."),
                       ({"new_type": "__DEFAULT__", "migration_policy": "sometimes"}, "migration_policy"),
                       ({}, "new_type")):
        resp = cinder.action(vol["id"], {"os-retype": args})
        assert resp.status_code == 400 and text in resp.json["badRequest"]["message"], resp.json
    admin_cinder.action(vol["id"], {"os-reset_status": {"status": "error"}})
    resp = cinder.action(vol["id"], {"os-retype": {"new_type": "__DEFAULT__"}})
    assert resp.status_code == 400 and "must be available or in-use" in resp.json["badRequest"]["message"]
    admin_cinder.action(vol["id"], {"os-reset_status": {"status": "available"}})
    narrow = _type(admin_cinder, "narrow")
    admin_cinder.req("PUT", f"/os-quota-sets/{cinder.project_id}", json={"quota_set": {"volumes_narrow": 0}})
    assert cinder.action(vol["id"], {"os-retype": {"new_type": narrow["name"]}}).status_code == 413


def test_retype_to_a_type_the_pool_does_not_satisfy_changes_nothing(cinder, admin_cinder):
    fc = _type(admin_cinder, "fc", storage_protocol="FC")
    vol = cinder.create()
    assert cinder.action(vol["id"], {"os-retype": {"new_type": fc["id"], "migration_policy": "on-demand"}}
                         ).status_code == 202
    cinder.wait(vol["id"], "available")
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["volume_type"] == "lvmdriver-1"


def test_encryption_types(cinder, admin_cinder):
    vtype = _type(admin_cinder, "secret")
    base = f"/types/{vtype['id']}/encryption"
    assert admin_cinder.req("GET", base).json == {}
    assert cinder.req("POST", base, json={"encryption": ENCRYPTION}).status_code == 403
    assert admin_cinder.req("POST", "/types/00000000-0000-0000-0000-000000000000/encryption",
                            json={"encryption": ENCRYPTION}).status_code == 404
    created = check(admin_cinder.req("POST", base, json={"encryption": ENCRYPTION}), "create_encryption_type",
                    "encryption_types")["encryption"]
    assert {k: created[k] for k in ENCRYPTION} == ENCRYPTION
    assert admin_cinder.req("POST", base, json={"encryption": ENCRYPTION}).status_code == 400  # exists
    shown = check(admin_cinder.req("GET", base), "show_encryption_type", "encryption_types")
    assert shown["encryption_id"] == created["encryption_id"] and shown["deleted"] is False
    item = f"{base}/{created['encryption_id']}"
    update = {"key_size": 128, "provider": "SomeProvider", "control_location": "back-end"}
    check(admin_cinder.req("PUT", item, json={"encryption": update}), "update_encryption_type", "encryption_types")
    assert check(admin_cinder.req("GET", f"{base}/provider"), "show_encryption_specs_item",
                 "encryption_types") == {"provider": "SomeProvider"}
    assert admin_cinder.req("GET", f"{base}/nosuchfield").status_code == 404
    # a type in use keeps its encryption, and a retype may not change encryption
    vol = cinder.create(volume_type="secret")
    assert admin_cinder.req("PUT", item, json={"encryption": {"key_size": 512}}).status_code == 400
    assert admin_cinder.req("DELETE", item).status_code == 400
    resp = cinder.action(vol["id"], {"os-retype": {"new_type": "lvmdriver-1"}})
    assert resp.json["badRequest"]["message"] == ("Invalid input received: Retype cannot change encryption "
                                                  "requirements.")
    cinder.req("DELETE", f"/volumes/{vol['id']}")
    cinder.wait(vol["id"], "deleted")
    check(admin_cinder.req("DELETE", item), "delete_encryption_type", "encryption_types")
    assert admin_cinder.req("GET", base).json == {}


def test_a_volume_of_an_encrypted_type_is_encrypted(cinder, admin_cinder):
    """Cinder's ``encrypted``: true for a volume of a type with an encryption spec, in the create
    answer, show, the detail list and the admin's view; false for the others and at any microversion."""
    vtype = _type(admin_cinder, "sealed")
    check(admin_cinder.req("POST", f"/types/{vtype['id']}/encryption", json={"encryption": ENCRYPTION}),
          "create_encryption_type", "encryption_types")
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "sealed"}})
    assert resp.status_code == 202 and resp.json["volume"]["encrypted"] is True
    sealed = cinder.wait(resp.json["volume"]["id"], "available")
    plain = cinder.create()
    assert (sealed["encrypted"], plain["encrypted"]) == (True, False)
    for version, schemas in (("3.0", None), ("3.65", "v3_65")):
        shown = check(cinder.req("GET", f"/volumes/{sealed['id']}", version), "show_volume", "volumes", schemas)
        assert shown["volume"]["encrypted"] is True
        listed = check(cinder.req("GET", "/volumes/detail", version), "list_volumes_with_detail", "volumes",
                       schemas)
        assert {v["id"]: v["encrypted"] for v in listed["volumes"]} == {sealed["id"]: True, plain["id"]: False}
    admin = admin_cinder.req("GET", f"/volumes/{sealed['id']}").json["volume"]
    assert admin["encrypted"] is True


def test_a_volume_of_a_multiattach_type_is_multiattach(cinder, admin_cinder):
    """Cinder's rule: a type with ``multiattach="<is> True"`` makes multiattach volumes (reservable
    again while in-use); any other value of the spec does not."""
    _type(admin_cinder, "shared", multiattach="<is> True")
    _type(admin_cinder, "notquite", multiattach="True")
    shared = check(cinder.req("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "shared"}}),
                   "create_volume")["volume"]
    assert shared["multiattach"] is True
    assert cinder.wait(shared["id"], "available")["multiattach"] is True
    assert cinder.create(volume_type="notquite")["multiattach"] is False
    assert cinder.create()["multiattach"] is False
    for _ in range(2):  # in use by one server, it may be reserved for another
        resp = cinder.req("POST", "/attachments", "3.44", json={"attachment": {
            "volume_uuid": shared["id"], "instance_uuid": str(uuid.uuid4())}})
        assert resp.status_code == 200, resp.text
        done = cinder.req("POST", f"/attachments/{resp.json['attachment']['id']}/action", "3.44",
                          json={"os-complete": {}})
        assert done.status_code == 204, done.text
        assert cinder.req("GET", f"/volumes/{shared['id']}").json["volume"]["status"] == "in-use"
    plain = cinder.create()
    body = {"attachment": {"volume_uuid": plain["id"], "instance_uuid": str(uuid.uuid4())}}
    attachment = cinder.req("POST", "/attachments", "3.44", json=body).json["attachment"]
    cinder.req("POST", f"/attachments/{attachment['id']}/action", "3.44", json={"os-complete": {}})
    body["attachment"]["instance_uuid"] = str(uuid.uuid4())
    assert cinder.req("POST", "/attachments", "3.44", json=body).status_code == 400


def test_retype_to_and_from_a_multiattach_type(cinder, admin_cinder):
    """A retype gives the volume its new type's multiattach (Tempest's VolumeRetypeMultiattachTest)."""
    _type(admin_cinder, "many", multiattach="<is> True")
    vol = cinder.create()
    for new_type, expected in (("many", True), ("lvmdriver-1", False)):
        check(cinder.action(vol["id"], {"os-retype": {"new_type": new_type, "migration_policy": "never"}}),
              "retype_volume")
        shown = cinder.wait(vol["id"], "available")
        assert (shown["volume_type"], shown["multiattach"]) == (new_type, expected)


def test_multiattach_changes_only_on_an_available_volume(cinder, admin_cinder):
    """Cinder refuses a retype that changes multiattach while the volume is attached (400, the volume
    keeps its type), and a retype to a type both multiattach and encrypted."""
    _type(admin_cinder, "many2", multiattach="<is> True")
    vol = cinder.create()
    attachment = cinder.req("POST", "/attachments", "3.44", json={"attachment": {
        "volume_uuid": vol["id"], "instance_uuid": str(uuid.uuid4())}}).json["attachment"]
    cinder.req("POST", f"/attachments/{attachment['id']}/action", "3.44", json={"os-complete": {}})
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "in-use"
    resp = cinder.action(vol["id"], {"os-retype": {"new_type": "many2", "migration_policy": "never"}})
    assert resp.status_code == 400, resp.text
    assert "retypes affecting multiattach are only allowed on available volumes" in resp.json["badRequest"]["message"]
    shown = cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]
    assert (shown["status"], shown["volume_type"], shown["multiattach"]) == ("in-use", "lvmdriver-1", False)
    # a type both multiattach and encrypted is no retype target
    for name, specs in (("sealed2", {}), ("sealed-many", {"multiattach": "<is> True"})):
        vtype = _type(admin_cinder, name, **specs)
        admin_cinder.req("POST", f"/types/{vtype['id']}/encryption", json={"encryption": ENCRYPTION})
    sealed = cinder.create(volume_type="sealed2")
    resp = cinder.action(sealed["id"], {"os-retype": {"new_type": "sealed-many"}})
    assert resp.status_code == 400, resp.text
    assert resp.json["badRequest"]["message"] == ("Invalid input received: Retype requested both encryption and "
                                                  "multi-attach, which is not supported.")
    assert cinder.req("GET", f"/volumes/{sealed['id']}").json["volume"]["volume_type"] == "sealed2"
