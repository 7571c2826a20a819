"""The service status derived from the provider rows (docs/decisions/0031-cdn.md)."""

from __future__ import annotations

import itertools

import pytest

from overcast.core.cdn.services import derive_status


@pytest.mark.parametrize("rows, expected", [
    ([], "create_in_progress"),
    (["deploy_in_progress"], "create_in_progress"),
    (["deployed"], "deployed"),
    (["deployed", "deployed"], "deployed"),
    (["deployed", "deploy_in_progress"], "create_in_progress"),
    (["deployed", "update_in_progress"], "update_in_progress"),
    (["update_in_progress", "deploy_in_progress"], "update_in_progress"),
    (["deployed", "failed"], "failed"),
    (["update_in_progress", "failed"], "failed"),
    (["failed", "delete_in_progress"], "delete_in_progress"),
    (["deployed", "delete_in_progress"], "delete_in_progress"),
])
def test_status_does_not_depend_on_the_order_of_providers(rows, expected):
    for order in itertools.permutations(rows):
        assert derive_status(order) == expected
