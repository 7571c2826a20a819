"""The conformance kit against the built-in drivers: both must pass all of it."""

from __future__ import annotations

import pytest

from overcast.drivers import load_driver
from overcast.testing.conformance import ComputeDriverConformance


class TestNoopConformance(ComputeDriverConformance):
    @pytest.fixture
    def compute_driver(self, tmp_path):
        bundle = load_driver("noop", {}, tmp_path)
        yield bundle.compute
        bundle.close()


class TestLocalConformance(ComputeDriverConformance):
    @pytest.fixture
    def compute_driver(self, tmp_path):
        bundle = load_driver("local", {}, tmp_path)
        yield bundle.compute
        bundle.close()


class TestLocalWithBuildDelayConformance(ComputeDriverConformance):
    """The asynchronous path: builds stay BUILDING for a moment, so every wait really polls."""

    @pytest.fixture
    def compute_driver(self, tmp_path):
        bundle = load_driver("local", {"build_delay": 0.2, "hosts": 3, "zones": ["nova", "az2"]}, tmp_path)
        yield bundle.compute
        bundle.close()
