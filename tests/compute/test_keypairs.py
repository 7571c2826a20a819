"""Key pairs: generate (private key once), import, fingerprints, per user, paging, quota."""

from __future__ import annotations

from schemas import Api, check, seeded  # noqa: F401

from overcast.core.compute import keypairs as rules


def test_generate_show_list_delete(demo):
    created = check(demo("POST", "/os-keypairs", json={"keypair": {"name": "k1"}}), "v2_1.keypairs", "create_keypair")
    kp = created["keypair"]
    assert kp["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert kp["public_key"].startswith("ssh-rsa ")
    assert kp["fingerprint"] == rules.ssh_fingerprint(kp["public_key"])
    shown = check(demo("GET", "/os-keypairs/k1"), "v2_1.keypairs", "get_keypair")["keypair"]
    assert "private_key" not in shown and shown["public_key"] == kp["public_key"]
    listed = check(demo("GET", "/os-keypairs"), "v2_1.keypairs", "list_keypairs")
    assert [k["keypair"]["name"] for k in listed["keypairs"]] == ["k1"]
    assert demo("POST", "/os-keypairs", json={"keypair": {"name": "k1"}}).status_code == 409
    check(demo("DELETE", "/os-keypairs/k1"), "v2_1.keypairs", "delete_keypair")
    assert demo("GET", "/os-keypairs/k1").status_code == 404


def test_import_and_validation(demo):
    _, public = rules.generate("ssh", "u")
    resp = check(demo("POST", "/os-keypairs", json={"keypair": {"name": "imp", "public_key": public}}),
                 "v2_1.keypairs", "create_keypair")
    assert "private_key" not in resp["keypair"]
    assert len(resp["keypair"]["fingerprint"].split(":")) == 16
    bad = demo("POST", "/os-keypairs", json={"keypair": {"name": "bad", "public_key": "garbage"}})
    assert bad.status_code == 400 and "Keypair data is invalid" in bad.json["badRequest"]["message"]
    assert demo("POST", "/os-keypairs", json={"keypair": {"name": "bad/name"}}).status_code == 400
    assert demo("POST", "/os-keypairs", json={"keypair": {"name": ""}}).status_code == 400
    assert demo("POST", "/os-keypairs", json={"keypair": {"name": "t", "type": "ssh"}}).status_code == 400


def test_types_2_2_and_x509(demo):
    created = check(demo("POST", "/os-keypairs", "2.2", json={"keypair": {"name": "x", "type": "x509"}}),
                    "v2_2.keypairs", "create_keypair")
    assert created["keypair"]["type"] == "x509"
    assert created["keypair"]["public_key"].startswith("-----BEGIN CERTIFICATE-----")
    check(demo("GET", "/os-keypairs", "2.2"), "v2_2.keypairs", "list_keypairs")
    check(demo("GET", "/os-keypairs/x", "2.2"), "v2_2.keypairs", "get_keypair")
    check(demo("DELETE", "/os-keypairs/x", "2.2"), "v2_2.keypairs", "delete_keypair")


def test_per_user_and_admin_user_id(demo, admin, seeded):
    demo("POST", "/os-keypairs", json={"keypair": {"name": "mine"}})
    assert admin("GET", "/os-keypairs/mine").status_code == 404
    demo_user = demo("GET", "/os-keypairs/mine").json["keypair"]["user_id"]
    assert admin("GET", f"/os-keypairs/mine?user_id={demo_user}", "2.10").status_code == 200
    assert admin("POST", "/os-keypairs", "2.10", json={"keypair": {"name": "for-demo",
                                                                   "user_id": demo_user}}).status_code == 201
    assert len(demo("GET", "/os-keypairs").json["keypairs"]) == 2
    assert demo("GET", "/os-keypairs", "2.10", params={"user_id": "someone"}).status_code == 403


def test_paging_2_35(demo):
    for name in ("a", "b", "c"):
        demo("POST", "/os-keypairs", json={"keypair": {"name": name}})
    page = demo("GET", "/os-keypairs", "2.35", params={"limit": "2"}).json
    assert [k["keypair"]["name"] for k in page["keypairs"]] == ["a", "b"]
    assert "marker=b" in page["keypairs_links"][0]["href"]
    rest = demo("GET", "/os-keypairs", "2.35", params={"marker": "b"}).json
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["c"]


def test_quota(demo, seeded):
    from overcast.core.compute import quotas
    from sqlalchemy import select

    from overcast.store.models import Project
    with seeded.app.compute.store.session() as session:
        project_id = session.scalar(select(Project.id).where(Project.name == "demo"))
        quotas.update(session, project_id, {"key_pairs": 1}, region="RegionOne")
    assert demo("POST", "/os-keypairs", json={"keypair": {"name": "one"}}).status_code == 200
    over = demo("POST", "/os-keypairs", json={"keypair": {"name": "two"}})
    assert over.status_code == 403 and over.json["forbidden"]["message"] == "Quota exceeded, too many key pairs."


def test_an_imported_key_comes_back_byte_for_byte(demo):
    """Nova stores the public key as given: Terraform compares it with the file it read, newline included."""
    _, public = rules.generate("ssh", "u")
    for name, text in (("nl", public + "\n"), ("crlf", public + " me@host\r\n"), ("spaces", "  " + public + "  ")):
        created = check(demo("POST", "/os-keypairs", json={"keypair": {"name": name, "public_key": text}}),
                        "v2_1.keypairs", "create_keypair")["keypair"]
        assert created["public_key"] == text
        assert created["fingerprint"] == rules.ssh_fingerprint(public)
        assert demo("GET", f"/os-keypairs/{name}").json["keypair"]["public_key"] == text
        listed = {k["keypair"]["name"]: k["keypair"]["public_key"] for k in demo("GET", "/os-keypairs").json["keypairs"]}
        assert listed[name] == text
