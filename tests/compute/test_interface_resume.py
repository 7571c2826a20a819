"""A resumed ``detach_interface`` (its worker died between the checkpoint before the backend call
and the one after it) asks the backend again unless the backend's own port list shows the port
gone: a backend that reports no ports at all (the ``openstack`` passthrough, decision 0069) cannot
say, and must not be taken as "already unplugged"."""

from __future__ import annotations

from types import SimpleNamespace

from overcast.core.compute.operations import ServerHandlers
from overcast.drivers.compute import NetworkAttachment, ServerInfo, ServerState
from overcast.drivers.context import CallContext


def _landed(networks: tuple[NetworkAttachment, ...], key: str, params: dict) -> bool | None:
    info = ServerInfo(backend_id="b", name="s", state=ServerState.ACTIVE, networks=networks)
    handlers = SimpleNamespace(driver=lambda cloud: SimpleNamespace(get=lambda call, backend_id: info))
    job = SimpleNamespace(cloud="r", params=params, checkpoint={"calling": True})
    return ServerHandlers._already_done(handlers, job, CallContext(), "b", key)  # type: ignore[arg-type]


def _nic(port_id: str) -> NetworkAttachment:
    return NetworkAttachment(port_id=port_id, network_id="n", network_name="n", mac_address="fa:16:3e:00:00:01")


def test_a_resumed_detach_is_asked_again_when_the_backend_shows_no_ports() -> None:
    assert _landed((), "detach_interface", {"port_id": "p"}) is False


def test_a_resumed_detach_is_done_when_the_backend_shows_the_port_gone() -> None:
    assert _landed((_nic("other"),), "detach_interface", {"port_id": "p"}) is True
    assert _landed((_nic("p"),), "detach_interface", {"port_id": "p"}) is False


def test_a_resumed_attach_is_done_only_when_the_port_shows() -> None:
    assert _landed((), "attach_interface", {"port": {"port_id": "p"}}) is False
    assert _landed((_nic("p"),), "attach_interface", {"port": {"port_id": "p"}}) is True
