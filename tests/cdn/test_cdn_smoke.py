from cdn_helpers import service_body


def test_create_get_list_delete(poppy, mock_driver, unique, fresh_project):
    mine = fresh_project()
    service_id = mine.create(service_body(unique(), unique.domain()))
    service = mine.get(service_id)
    assert service["status"] == "deployed", service
    status, listing, _ = mine("GET", "/services")
    assert status == 200 and [s["id"] for s in listing["services"]] == [service_id]
    status, _, _ = mine("DELETE", f"/services/{service_id}")
    assert status == 202
    mine.settle(service_id)
    status, _, _ = mine("GET", f"/services/{service_id}")
    assert status == 404
    assert mock_driver.find(None, service_id) is None
