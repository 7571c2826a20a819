"""What a driver that boots Overcast's images may read (``BuildRequest.read_image``): the server's
own image, and images the server's project may use (a ``kernel_id``/``ramdisk_id`` it names),
never another project's private image (decision 0040)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from overcast.core.compute.operations import ServerHandlers
from overcast.drivers.errors import InvalidRequest
from overcast.store.compute import Server
from overcast.store.image import Image
from tests.compute.conftest import IMAGE_ID, Nova, new_uuid


def test_read_image_gives_the_projects_images_and_refuses_anothers(compute, demo_token):
    nova = Nova(compute, demo_token)
    sid = nova.create("reader", wait=None).json["server"]["id"]
    core = compute.app.compute
    handlers = ServerHandlers(core)
    mine, theirs = new_uuid(), new_uuid()
    with core.store.session() as session:
        server = session.scalars(select(Server).where(Server.id == sid)).one()
        project = server.project_id
        for iid, owner in ((mine, project), (theirs, "another-project")):
            session.add(Image(id=iid, name=iid, status="active", visibility="private", owner=owner,
                              disk_format="aki", container_format="aki", size=6))
    for iid in (IMAGE_ID, mine, theirs):
        handlers.images.data.put(iid, [iid.encode()[:6]])
    read = handlers._image_reader(server)
    assert b"".join(read(IMAGE_ID)) == IMAGE_ID.encode()[:6]       # the server's own (public) image
    assert b"".join(read(mine)) == mine.encode()[:6]              # a private image of its project
    with pytest.raises(InvalidRequest):
        read(theirs)                                              # another project's private image
    with pytest.raises(InvalidRequest):
        read(new_uuid())                                          # no such image
    with core.store.session() as session:
        session.get(Image, mine).status = "deactivated"
    with pytest.raises(InvalidRequest):
        read(mine)                                                # not active


def test_read_image_at_an_http_location(compute, demo_token, monkeypatch):  # noqa: ANN001
    """An image whose data is only at an http location (0074) is read from there, as Nova's download
    from Glance's http store would be."""
    from overcast.testing.web import FileServer

    nova = Nova(compute, demo_token)
    sid = nova.create("reader", wait=None).json["server"]["id"]
    core = compute.app.compute
    handlers = ServerHandlers(core)
    settings = handlers.images.settings
    monkeypatch.setattr(handlers.images, "settings", settings.replace(image=type(settings.image)(
        web_download_ports="*", web_download_hosts="127.0.0.1")))
    located = new_uuid()
    with FileServer({"/disk.img": b"remote disk"}) as web, core.store.session() as session:
        server = session.scalars(select(Server).where(Server.id == sid)).one()
        session.add(Image(id=located, name=located, status="active", visibility="private", owner=server.project_id,
                          disk_format="raw", container_format="bare", size=11,
                          locations=[{"url": f"{web.url}/disk.img", "metadata": {}}]))
        session.flush()
        session.commit()
        assert b"".join(handlers._image_reader(server)(located)) == b"remote disk"
