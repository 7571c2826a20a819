"""Acceptance: OAuth1 delegation with the real clients: the ``openstack`` CLI (keystoneclient's OAuth1
managers) makes the consumer, the request token, its authorization and the access token, then
keystoneauth's v3 ``OAuth1`` plugin authenticates with the access token."""

from __future__ import annotations

from typing import Any

import pytest
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.extras.oauth1 import v3 as oauth1_v3

from overcast.testing.live import LiveServer, OpenStackCLI

pytestmark = [pytest.mark.live, pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")]


def test_oauth1_flow_with_the_cli_and_keystoneauth(live_server: LiveServer, admin_cli: OpenStackCLI,
                                                   ids: dict[str, str], admin_conn: Any) -> None:
    consumer = admin_cli("consumer", "create", "--description", "oauth1 acceptance")
    key, secret = consumer["id"], consumer["secret"]
    request = admin_cli("request", "token", "create", "--consumer-key", key, "--consumer-secret", secret,
                        "--project", ids["project:admin"])
    authorized = admin_cli("request", "token", "authorize", "--request-key", request["id"], "--role", "member")
    access = admin_cli("access", "token", "create", "--consumer-key", key, "--consumer-secret", secret,
                       "--request-key", request["id"], "--request-secret", request["secret"],
                       "--verifier", authorized["oauth_verifier"])

    plugin = oauth1_v3.OAuth1(live_server.identity_v3_url, consumer_key=key, consumer_secret=secret,
                              access_key=access["id"], access_secret=access["secret"])
    sess = ks_session.Session(auth=plugin)
    token = sess.get_token()
    info = plugin.get_access(sess)
    assert info.project_id == ids["project:admin"] and info.user_id == ids["user:admin"]
    assert sorted(info.role_names) == ["member", "reader"]
    assert info.oauth_access_token_id == access["id"] and info.oauth_consumer_id == key
    # the token works on another service
    servers = sess.get(f"{live_server.base_url}/compute/v2.1/servers", headers={"X-Auth-Token": token})
    assert servers.status_code == 200

    # a wrong access secret is refused
    bad = oauth1_v3.OAuth1(live_server.identity_v3_url, consumer_key=key, consumer_secret=secret,
                           access_key=access["id"], access_secret="0" * 32)
    with pytest.raises(ks_exc.Unauthorized):
        ks_session.Session(auth=bad).get_token()

    # deleting the access token revokes the tokens it gave
    path = f"{live_server.identity_v3_url}/users/{ids['user:admin']}/OS-OAUTH1/access_tokens/{access['id']}"
    assert admin_conn.session.delete(path).status_code == 204
    check = admin_conn.session.get(f"{live_server.identity_v3_url}/auth/tokens", headers={"X-Subject-Token": token},
                                   raise_exc=False)
    assert check.status_code == 404
    admin_cli.run("consumer", "delete", key)
