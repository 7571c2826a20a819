"""A loaded driver made to report a backend's headroom, for the headroom tests of every family."""

from __future__ import annotations

import pytest

from overcast.drivers.headroom import Headroom


class Reporting:
    """Makes a loaded driver report ``headroom`` (and counts the reads); ``fail``, when set, is raised
    by the read instead."""

    def __init__(self, driver: object, headroom: Headroom, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        self.headroom = headroom
        self.fail: Exception | None = None
        target = getattr(driver, "inner", driver)  # under the fault book's wrapper, when there is one

        def read(ctx):  # noqa: ANN001, ANN202
            self.reads += 1
            if self.fail is not None:
                raise self.fail
            return self.headroom

        monkeypatch.setattr(target, "reports_headroom", True, raising=False)
        monkeypatch.setattr(target, "headroom", read, raising=False)
