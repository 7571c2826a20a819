from cdn_helpers import service_body


def test_create_get_list_delete(poppy, mock_driver):
    service_id = poppy.create(service_body())
    service = poppy.get(service_id)
    assert service["status"] == "deployed", service
    status, listing, _ = poppy("GET", "/services")
    assert status == 200 and [s["id"] for s in listing["services"]] == [service_id]
    status, _, _ = poppy("DELETE", f"/services/{service_id}")
    assert status == 202
    poppy.settle(service_id)
    status, _, _ = poppy("GET", f"/services/{service_id}")
    assert status == 404
    assert mock_driver.list_services() == []
