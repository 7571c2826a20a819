"""The openstack driver's fault mapping and scrubbing (decision 0041): openstacksdk's and
keystoneauth's exceptions become the driver exception model, with the upstream's words kept and
its URLs, addresses, tokens and the service account's password removed."""

from __future__ import annotations

import pytest
from keystoneauth1 import exceptions as ks
from openstack import exceptions as sdk

from overcast.drivers.errors import Conflict, InvalidRequest, NotFound, QuotaExceeded, Unavailable
from overcast.drivers.openstack.upstream import Settings, Upstream, scrub
from overcast.drivers.registry import DriverConfigError

OPTIONS = {"auth_url": "http://keystone.lab.example:5000/v3", "username": "svc", "password": "S3cret-pw",
           "project_name": "overcast"}


def upstream() -> Upstream:
    return Upstream(Settings.from_options(OPTIONS))


def http(status: int, details: str) -> sdk.HttpException:
    return sdk.HttpException(message=f"Client Error for url: http://nova.lab.example:8774/v2.1/servers, {details}",
                             details=details, http_status=status)


@pytest.mark.parametrize(("status", "details", "kind"), [
    (404, "Instance x could not be found.", NotFound),
    (409, "Cannot 'stop' instance while it is in vm_state stopped", Conflict),
    (403, "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances", QuotaExceeded),
    (413, "VolumeLimitExceeded: Maximum number of volumes allowed (10) exceeded", QuotaExceeded),
    (400, "Invalid input for field 'flavorRef'", InvalidRequest),
    (403, "Policy doesn't allow os_compute_api:servers:create to be performed.", InvalidRequest),
    (503, "Service Unavailable", Unavailable),
    (401, "The request you have made requires authentication.", Unavailable),
])
def test_http_faults_map_onto_the_driver_model(status, details, kind):
    fault = upstream().fault(http(status, details), "server create")
    assert type(fault) is kind
    assert details.split(":")[0].split("(")[0].strip() in str(fault)
    assert "lab.example" not in str(fault) and "http" not in str(fault)


def test_connection_failures_are_unavailable():
    fault = upstream().fault(ks.ConnectFailure("Unable to establish connection to http://10.0.0.1:8774/v2.1"),
                             "server list")
    assert isinstance(fault, Unavailable) and "10.0.0.1" not in str(fault)


def test_scrub_removes_urls_tokens_headers_and_the_password():
    text = scrub("GET http://keystone.lab.example:5000/v3/auth/tokens failed for 10.1.2.3:5000 "
                 "X-Auth-Token: gAAAAABnx_abcdefghijklmnopqrstuvwxyz0123 token gAAAAABnx_abcdefghijklmnopqrstuvwxyz "
                 "password S3cret-pw; address 10.0.0.5 is in use", ("S3cret-pw",))
    for leak in ("http", "lab.example", "10.1.2.3", "gAAAA", "S3cret-pw"):
        assert leak not in text, text
    assert "address 10.0.0.5 is in use" in text  # the client's own address stays


def test_options_are_checked_and_the_password_is_not_described():
    from overcast.drivers import load_driver

    bundle = load_driver("openstack", OPTIONS, "/tmp")
    assert "S3cret-pw" not in repr(bundle.info)
    with pytest.raises(DriverConfigError):
        load_driver("openstack", {**OPTIONS, "no_such_key": 1}, "/tmp")
    with pytest.raises(DriverConfigError):
        load_driver("openstack", {"username": "svc"}, "/tmp")
