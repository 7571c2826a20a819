"""Nova's deprecated /images proxy over the image records (404 from 2.36)."""

from __future__ import annotations

from schemas import Api, check, seeded  # noqa: F401

from overcast.core.image.seed import CIRROS_ID


def test_list_detail_show(demo):
    listed = check(demo("GET", "/images"), "v2_1.images", "list_images")
    assert CIRROS_ID in [i["id"] for i in listed["images"]]
    detail = check(demo("GET", "/images/detail"), "v2_1.images", "list_images_details")
    cirros = next(i for i in detail["images"] if i["id"] == CIRROS_ID)
    assert cirros["status"] == "ACTIVE" and cirros["progress"] == 100 and cirros["OS-EXT-IMG-SIZE:size"] > 0
    shown = check(demo("GET", f"/images/{CIRROS_ID}"), "v2_1.images", "get_image")
    assert shown["image"]["name"] == "cirros"
    assert demo("GET", "/images/detail?name=cirros").json["images"][0]["id"] == CIRROS_ID
    assert demo("GET", "/images/detail?name=other").json["images"] == []
    assert demo("GET", "/images/nope").status_code == 404
    for path in ("/images", "/images/detail", f"/images/{CIRROS_ID}"):
        assert demo("GET", path, "2.36").status_code == 404


def test_metadata_and_delete(demo, seeded, admin_token):
    admin = Api(seeded, admin_token)
    check(demo("GET", f"/images/{CIRROS_ID}/metadata"), "v2_1.images", "image_metadata")
    assert demo("POST", f"/images/{CIRROS_ID}/metadata", json={"metadata": {"a": "b"}}).status_code == 403
    merged = check(admin("POST", f"/images/{CIRROS_ID}/metadata", json={"metadata": {"a": "b"}}),
                   "v2_1.images", "image_metadata")["metadata"]
    assert merged["a"] == "b" and "hw_rng_model" in merged
    one = check(admin("PUT", f"/images/{CIRROS_ID}/metadata/a", json={"meta": {"a": "c"}}), "v2_1.images",
                "image_meta_item")
    assert one == {"meta": {"a": "c"}}
    assert check(demo("GET", f"/images/{CIRROS_ID}/metadata/a"), "v2_1.images", "image_meta_item") == one
    assert admin("PUT", f"/images/{CIRROS_ID}/metadata/a", json={"meta": {"x": "c"}}).status_code == 400
    assert admin("DELETE", f"/images/{CIRROS_ID}/metadata/a").status_code == 204
    assert demo("GET", f"/images/{CIRROS_ID}/metadata/a").status_code == 404
    replaced = admin("PUT", f"/images/{CIRROS_ID}/metadata", json={"metadata": {"only": "this"}})
    assert replaced.json == {"metadata": {"only": "this"}}
    assert demo("DELETE", f"/images/{CIRROS_ID}").status_code == 403
    check(admin("DELETE", f"/images/{CIRROS_ID}"), "v2_1.images", "delete")
    assert demo("GET", f"/images/{CIRROS_ID}").status_code == 404
