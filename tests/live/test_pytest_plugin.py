"""The public pytest plugin, as a user's own test suite runs it (in a separate pytest process)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.live
pytest_plugins = ["pytester"]

USER_TESTS = '''
import pytest


def test_makes_a_network(overcast):
    conn = overcast.connection
    net = conn.network.create_network(name="made-by-a-user-test")
    assert conn.network.get_network(net.id).name == "made-by-a-user-test"
    assert overcast.clouds_yaml.exists()


def test_sees_it_without_reset(overcast):
    assert overcast.connection.network.find_network("made-by-a-user-test") is not None


@pytest.mark.overcast_reset
def test_starts_afresh_with_the_marker(overcast):
    assert overcast.connection.network.find_network("made-by-a-user-test") is None
    assert overcast.connection.network.find_network("private") is not None


def test_faults_and_states(overcast):
    conn = overcast.admin_connection
    overcast.save("clean")
    conn.network.create_network(name="temporary")
    overcast.load("clean")
    assert conn.network.find_network("temporary") is None
    fault = overcast.fault(kind="http", endpoint="network:networks", count=1)
    assert fault >= 1
    with pytest.raises(Exception):
        conn.network.create_network(name="refused")
    overcast.clear_faults()
'''


def test_a_users_suite_with_the_plugin(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--overcast-workers", "1", timeout=600)
    result.assert_outcomes(passed=4)


def test_reset_between_every_test_from_the_command_line(pytester):
    pytester.makepyfile(test_user='''
def test_one(overcast):
    overcast.connection.network.create_network(name="only-in-one")


def test_two(overcast):
    assert overcast.connection.network.find_network("only-in-one") is None
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--overcast-reset", "--overcast-workers", "1",
                                           timeout=600)
    result.assert_outcomes(passed=2)
