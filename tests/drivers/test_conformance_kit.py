"""The conformance kit itself: it must catch the mistakes it exists for (run in a sub-session)."""

from __future__ import annotations

import collections
import re
import textwrap
import uuid
from pathlib import Path

import pytest

from overcast.testing.conformance import ComputeDriverConformance

#: the suite's size; a driver declaring every capability skips only the NotSupported test
TESTS = len([name for name in dir(ComputeDriverConformance) if name.startswith("test_")])

HEADER = textwrap.dedent("""
    import pytest
    from overcast.drivers.compute import Capability
    from overcast.drivers.errors import NotFound
    from overcast.drivers.noop import NoopComputeDriver
    from overcast.testing.conformance import ComputeDriverConformance
""")


class Outcomes:
    """A pytest plugin object that tallies a sub-session's results (pytester needs a top-level conftest)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.text: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.counts[report.outcome] += 1
            if report.failed:
                self.text.append(str(report.longrepr))

    def assert_outcomes(self, **expected: int) -> None:
        assert {k: v for k, v in self.counts.items() if v} == expected, "\n".join(self.text)

    def output_matches(self, *patterns: str) -> None:
        text = "\n".join(self.text)
        for pattern in patterns:
            assert re.search(pattern, text, re.S), f"{pattern!r} not in:\n{text}"


def run_pytest(tmp_path: Path, *args: str) -> Outcomes:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    outcomes = Outcomes()
    pytest.main(["-q", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
                 *args], plugins=[outcomes])
    return outcomes


def run_kit(tmp_path: Path, driver_source: str, *args: str, suite_body: str = "pass") -> Outcomes:
    module = tmp_path / f"test_kit_{uuid.uuid4().hex[:12]}.py"
    module.write_text(HEADER + textwrap.dedent(driver_source) + textwrap.dedent("""
        class TestKit(ComputeDriverConformance):
            @pytest.fixture
            def compute_driver(self):
                return Driver()
    """) + f"    {suite_body}\n")
    return run_pytest(tmp_path, str(module), *args)


def test_a_correct_driver_passes(tmp_path):
    result = run_kit(tmp_path, "class Driver(NoopComputeDriver):\n    pass\n")
    result.assert_outcomes(passed=TESTS - 1, skipped=1)


def test_signature_drift_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(NoopComputeDriver):
            def reboot(self, ctx, server_id, hard=False):   # renamed parameter
                return super().reboot(ctx, server_id, hard)
            def console_output(self, ctx, backend_id, lines):  # dropped default, renamed
                return ""
    """, "-k", "signatures")
    result.assert_outcomes(failed=1)
    result.output_matches("signature drift", "reboot", "console_output")


def test_undeclared_capability_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(NoopComputeDriver):
            capabilities = NoopComputeDriver.capabilities - {Capability.PAUSE}
    """, "-k", "capabilities_match or unsupported")
    result.assert_outcomes(failed=2)
    result.output_matches(r"implements pause\(\) but does not declare pause")


def test_declared_but_missing_capability_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        from overcast.drivers.compute import ComputeDriver
        class Driver(NoopComputeDriver):
            pause = ComputeDriver.pause
            unpause = ComputeDriver.unpause
    """, "-k", "capabilities_match or pause")
    result.output_matches(r"declares pause but does not implement pause\(\)")
    assert result.counts["failed"] >= 1


def test_a_non_driver_error_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(NoopComputeDriver):
            def get(self, ctx, backend_id):
                if backend_id not in self._servers:
                    raise KeyError(backend_id)
                return super().get(ctx, backend_id)
    """, "-k", "get_missing")
    result.assert_outcomes(failed=1)
    result.output_matches("Driver.get raised builtins.KeyError.*DriverError")


def test_a_non_idempotent_build_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        import dataclasses, uuid
        class Driver(NoopComputeDriver):
            def build(self, ctx, request):
                return super().build(ctx, dataclasses.replace(request, idempotency_key=uuid.uuid4().hex))
    """, "-k", "idempotent")
    result.assert_outcomes(failed=1)


def test_a_build_stuck_in_building_times_out(tmp_path):
    result = run_kit(tmp_path, """
        import dataclasses
        from overcast.drivers.compute import ServerState
        class Driver(NoopComputeDriver):
            def get(self, ctx, backend_id):
                return dataclasses.replace(super().get(ctx, backend_id), state=ServerState.BUILDING)
    """, "-k", "reaches_active", suite_body="build_timeout = 0.2")
    result.assert_outcomes(failed=1)
    result.output_matches("did not reach.*active")


def test_a_driver_without_the_call_context_is_caught(tmp_path):
    """The contract before CallContext: every method without ``ctx`` is signature drift."""
    result = run_kit(tmp_path, """
        class Driver(NoopComputeDriver):
            def get(self, backend_id):
                return super().get(None, backend_id)
    """, "-k", "signatures")
    result.assert_outcomes(failed=1)
    result.output_matches("signature drift", "get")


def test_a_find_that_lists_every_server_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(NoopComputeDriver):
            def find(self, ctx, idempotency_key):
                return next((s for s in self.list(ctx) if s.idempotency_key == idempotency_key), None)
    """, "-k", "one_lookup")
    result.assert_outcomes(failed=1)
    result.output_matches("listed every server")


def test_a_snapshot_that_returns_bytes_is_caught(tmp_path):
    result = run_kit(tmp_path, """
        class Driver(NoopComputeDriver):
            def snapshot(self, ctx, backend_id, image_name):
                self.get(ctx, backend_id)
                return b"qcow2..."
    """, "-k", "test_snapshot_returns_a_reference_to_a_backend_image")
    result.assert_outcomes(failed=1)
    result.output_matches("not an ImageRef")


def test_the_ready_made_suite_runs_a_named_driver(tmp_path):
    result = run_pytest(tmp_path, "--pyargs", "overcast.testing.conformance_suite",
                                          "--overcast-driver=local", "--overcast-driver-option", "hosts=2",
                                          "--overcast-driver-option", 'zones=["nova","az2"]')
    result.assert_outcomes(passed=TESTS - 1, skipped=1)


def test_the_ready_made_suite_skips_without_a_driver(tmp_path):
    result = run_pytest(tmp_path, "--pyargs", "overcast.testing.conformance_suite")
    result.assert_outcomes(skipped=TESTS - 1, passed=1)  # the interface check needs no driver
