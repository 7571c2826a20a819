"""The conformance suite as a ready-made test module, for drivers registered by entry point::

    pytest --pyargs overcast.testing.conformance_suite --overcast-driver=NAME [--overcast-driver-option K=V ...]
"""

from overcast.testing.conformance import ComputeDriverConformance


class TestComputeDriver(ComputeDriverConformance):
    """Runs against the driver named by ``--overcast-driver`` (skipped without it)."""
